//! A [`Backend`] that forwards every call to a daemon's socket: the bridge that gives a user whom a
//! system daemon serves (root's, on its public socket) desktop search on their own session bus.
//!
//! The bridge runs as the user, so the daemon identifies the caller by the socket's peer credentials
//! and answers as it answers `fandex search` run by that user: only files they may read, counts and
//! scores from those alone, the public status, and `Pause`/`Resume` refused (they are for root and the
//! daemon's own user). Nothing is searched or filtered here.
//!
//! Each call takes an idle connection (or makes one), waits at most the backend's timeout for the
//! answer, and gives the connection back when the exchange ended cleanly; a daemon that stopped or
//! hangs costs a call its timeout, never a thread for ever.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use fandex_query::client::{Client, ClientError};
use fandex_query::protocol::ErrorKind;
use fandex_query::{SearchRequest, SearchResults};

use crate::backend::{Backend, BackendError};

/// Idle connections kept for the next calls.
pub const IDLE_CONNECTIONS: usize = 4;

/// How long a call (other than `Sync`, which has its own) waits for the daemon by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Forwards to the daemon on a socket.
pub struct SocketBackend {
    socket: PathBuf,
    timeout: Duration,
    idle: Mutex<Vec<Client>>,
}

impl SocketBackend {
    /// Connects to the daemon on `socket`, whose answers each call waits for at most `timeout`.
    /// `Ok(None)`: no daemon listens there.
    pub fn connect(socket: &Path, timeout: Duration) -> Result<Option<Self>, BackendError> {
        let Some(client) = Client::connect(socket).map_err(|e| backend_error(&e))? else {
            return Ok(None);
        };
        Ok(Some(Self {
            socket: socket.to_owned(),
            timeout,
            idle: Mutex::new(vec![client]),
        }))
    }

    /// The socket calls go to.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Runs `exchange` on an idle connection or a new one; keeps the connection for later unless the
    /// exchange broke it.
    fn with_client<T>(
        &self,
        exchange: impl FnOnce(&mut Client) -> Result<T, ClientError>,
    ) -> Result<T, BackendError> {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut client = match idle {
            Some(client) => client,
            None => Client::connect(&self.socket)
                .map_err(|e| backend_error(&e))?
                .ok_or_else(|| {
                    BackendError::Unavailable(format!(
                        "no daemon listens on {}",
                        self.socket.display()
                    ))
                })?,
        };
        client.set_timeout(Some(self.timeout));
        let answer = exchange(&mut client);
        // An answer, or the daemon's error, leaves the connection usable; anything else may have left
        // half an answer in it.
        if matches!(answer, Ok(_) | Err(ClientError::Remote { .. })) {
            let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            if idle.len() < IDLE_CONNECTIONS {
                idle.push(client);
            }
        }
        answer.map_err(|e| backend_error(&e))
    }
}

/// The backend error for a failed exchange with the daemon.
fn backend_error(error: &ClientError) -> BackendError {
    let message = error.to_string();
    match error {
        ClientError::Remote { kind, .. } => match kind {
            ErrorKind::Syntax | ErrorKind::BadRequest => BackendError::BadRequest(message),
            ErrorKind::Denied => BackendError::Denied(message),
            ErrorKind::Timeout => BackendError::Timeout(message),
            ErrorKind::Unavailable => BackendError::Unavailable(message),
            ErrorKind::Internal => BackendError::Internal(message),
        },
        ClientError::Io { source, .. }
            if matches!(
                source.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            BackendError::Timeout(format!("the daemon did not answer in time: {message}"))
        }
        ClientError::Io { .. } => BackendError::Unavailable(message),
        ClientError::Protocol(_) => BackendError::Internal(message),
    }
}

impl Backend for SocketBackend {
    fn search(&self, request: &SearchRequest) -> Result<SearchResults, BackendError> {
        self.with_client(|c| c.search(request))
    }

    fn status(&self) -> Result<serde_json::Value, BackendError> {
        let status = self.with_client(Client::status)?;
        serde_json::to_value(status).map_err(|e| BackendError::Internal(e.to_string()))
    }

    fn sync(&self, timeout: Duration) -> Result<u64, BackendError> {
        self.with_client(|c| c.sync(timeout))
    }

    fn pause(&self, duration: Option<Duration>) -> Result<(), BackendError> {
        self.with_client(|c| c.pause(duration)).map(drop)
    }

    fn resume(&self) -> Result<(), BackendError> {
        self.with_client(Client::resume).map(drop)
    }
}
