//! The client side of the daemon's socket.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::limits::{self, MAX_REQUEST_BYTES};
use crate::protocol::{ErrorKind, MAX_LINE_BYTES, Request, Response};
use crate::{SearchRequest, SearchResults};

/// Why a request to the daemon failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The connection failed.
    #[error("talking to the daemon at {socket}: {source}")]
    Io {
        /// The socket path.
        socket: String,
        /// The error.
        source: std::io::Error,
    },
    /// The daemon's answer made no sense.
    #[error("unexpected answer from the daemon: {0}")]
    Protocol(String),
    /// The daemon answered with an error.
    #[error("{message}")]
    Remote {
        /// What kind.
        kind: ErrorKind,
        /// The daemon's message.
        message: String,
    },
}

/// A connection to a running daemon. The daemon closes connections that stay idle (`daemon.idle_timeout_ms`);
/// the client then connects again for its next request (every request is safe to send twice).
pub struct Client {
    socket: String,
    path: PathBuf,
    reader: BufReader<UnixStream>,
    /// How long a request without a timeout of its own waits for its answer (`None`: for ever).
    timeout: Option<Duration>,
}

impl Client {
    /// Connects to the daemon listening on `socket`. Returns `Ok(None)` when no daemon listens there (no
    /// socket, or a stale one).
    pub fn connect(socket: &Path) -> Result<Option<Self>, ClientError> {
        match UnixStream::connect(socket) {
            Ok(stream) => Ok(Some(Self {
                socket: socket.display().to_string(),
                path: socket.to_owned(),
                reader: BufReader::new(stream),
                timeout: None,
            })),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
                ) =>
            {
                Ok(None)
            }
            Err(source) => Err(ClientError::Io {
                socket: socket.display().to_string(),
                source,
            }),
        }
    }

    /// Sets how long a request waits for its answer, unless it has a timeout of its own (`sync`'s):
    /// past it, the request fails with an I/O error of kind `WouldBlock` or `TimedOut`. `None` (the
    /// default): wait for ever.
    pub fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = timeout;
    }

    fn io(&self, source: std::io::Error) -> ClientError {
        ClientError::Io {
            socket: self.socket.clone(),
            source,
        }
    }

    /// Sends one request and reads one answer, waiting at most `timeout` (else the client's, see
    /// [`Client::set_timeout`]); daemon errors become [`ClientError::Remote`]. If the daemon
    /// had closed the connection (it was idle too long), connects again and sends the request once more.
    pub fn call(
        &mut self,
        request: &Request,
        timeout: Option<Duration>,
    ) -> Result<Response, ClientError> {
        let timeout = timeout.or(self.timeout);
        let mut line =
            serde_json::to_vec(request).map_err(|e| ClientError::Protocol(e.to_string()))?;
        line.push(b'\n');
        if line.len() > MAX_REQUEST_BYTES {
            // The daemon would read no further and answer this; say it without sending megabytes.
            return Err(ClientError::Remote {
                kind: ErrorKind::BadRequest,
                message: format!("request too long: more than {MAX_REQUEST_BYTES} bytes"),
            });
        }
        let answer = match self.exchange(&line, timeout)? {
            Some(answer) => answer,
            None => {
                let stream = UnixStream::connect(&self.path).map_err(|e| self.io(e))?;
                self.reader = BufReader::new(stream);
                self.exchange(&line, timeout)?.ok_or_else(|| {
                    ClientError::Protocol("the daemon closed the connection".into())
                })?
            }
        };
        let response: Response =
            serde_json::from_slice(&answer).map_err(|e| ClientError::Protocol(e.to_string()))?;
        match response {
            Response::Error { kind, message } => Err(ClientError::Remote { kind, message }),
            other => Ok(other),
        }
    }

    /// Writes `line` and reads one answer line; `None` when the connection turned out closed before
    /// any of the answer arrived.
    fn exchange(
        &mut self,
        line: &[u8],
        timeout: Option<Duration>,
    ) -> Result<Option<Vec<u8>>, ClientError> {
        let closed = |e: &std::io::Error| {
            matches!(
                e.kind(),
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
            )
        };
        let stream = self.reader.get_mut();
        stream.set_read_timeout(timeout).map_err(|e| self.io(e))?;
        let stream = self.reader.get_mut();
        match stream.write_all(line) {
            Err(e) if closed(&e) => return Ok(None),
            Err(e) => return Err(self.io(e)),
            Ok(()) => {}
        }
        let mut answer = Vec::new();
        let read = (&mut self.reader)
            .take(MAX_LINE_BYTES as u64)
            .read_until(b'\n', &mut answer);
        match read {
            Ok(0) => Ok(None),
            Err(e) if closed(&e) && answer.is_empty() => Ok(None),
            Ok(_) => Ok(Some(answer)),
            Err(e) => Err(self.io(e)),
        }
    }

    /// Runs a search in the daemon. A query or limit beyond the bounds of [`crate::limits`] is refused
    /// here, with the daemon's own answer (`bad_request`), without being sent.
    pub fn search(&mut self, request: &SearchRequest) -> Result<SearchResults, ClientError> {
        limits::check_query_text(&request.query)
            .and_then(|()| limits::check_limit(request.limit))
            .map_err(|e| ClientError::Remote {
                kind: ErrorKind::BadRequest,
                message: e.to_string(),
            })?;
        match self.call(&Request::search(request), None)? {
            Response::Results {
                total,
                hits,
                suggestion,
            } => Ok(SearchResults {
                total,
                suggestion,
                hits: hits.into_iter().map(Into::into).collect(),
            }),
            other => Err(ClientError::Protocol(format!("{other:?}"))),
        }
    }

    /// The daemon's status report.
    pub fn status(&mut self) -> Result<crate::protocol::status::CallerStatus, ClientError> {
        match self.call(&Request::Status {}, None)? {
            Response::Status { status } => Ok(status),
            other => Err(ClientError::Protocol(format!("{other:?}"))),
        }
    }

    /// Waits until every change made before this call is searchable; returns the commit generation.
    pub fn sync(&mut self, timeout: Duration) -> Result<u64, ClientError> {
        let request = Request::Sync {
            timeout_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
        };
        // The daemon enforces the timeout; allow it a moment to say so.
        match self.call(
            &request,
            Some(timeout.saturating_add(Duration::from_secs(5))),
        )? {
            Response::Synced { generation } => Ok(generation),
            other => Err(ClientError::Protocol(format!("{other:?}"))),
        }
    }

    /// Pauses applying changes (they keep being recorded) for `duration`, or until [`Client::resume`];
    /// returns the pause now in force. Only root and the daemon's own user may
    /// ([`ErrorKind::Denied`] otherwise).
    pub fn pause(
        &mut self,
        duration: Option<Duration>,
    ) -> Result<Option<crate::protocol::status::PauseReport>, ClientError> {
        let request = Request::Pause {
            seconds: duration.map(|d| d.as_secs().max(1)),
        };
        match self.call(&request, None)? {
            Response::PauseState { paused } => Ok(paused),
            other => Err(ClientError::Protocol(format!("{other:?}"))),
        }
    }

    /// Ends a pause: the changes recorded meanwhile are applied. Returns the pause still in force
    /// (bulk work on battery), if any.
    pub fn resume(&mut self) -> Result<Option<crate::protocol::status::PauseReport>, ClientError> {
        match self.call(&Request::Resume {}, None)? {
            Response::PauseState { paused } => Ok(paused),
            other => Err(ClientError::Protocol(format!("{other:?}"))),
        }
    }
}
