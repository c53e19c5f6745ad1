//! The Unix socket server: JSON-lines requests (search, status, sync), one thread per connection, with a
//! cap on connections and on request size.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use fandex_query::protocol::{ErrorKind, MAX_LINE_BYTES, Request, Response};
use fandex_query::{QueryError, SearchRequest};
use tracing::{debug, info_span, warn};

use super::{DaemonError, Inner};

/// Connections served at once; more are answered with an error and closed.
const MAX_CONNECTIONS: usize = 64;
/// An idle connection is closed after this long.
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// Largest `limit` a search may ask for.
const MAX_LIMIT: usize = 1_000_000;

/// A running socket server.
pub(crate) struct Server {
    path: PathBuf,
    thread: Option<JoinHandle<()>>,
    inner: Arc<Inner>,
}

impl Server {
    /// Binds the socket in the index directory and starts accepting.
    pub fn start(inner: Arc<Inner>) -> Result<Self, DaemonError> {
        let path = inner.dir.socket_path();
        let err = |source| DaemonError::Socket {
            path: path.display().to_string(),
            source,
        };
        // A socket left by a crashed daemon: we hold the index lock, so nobody else is serving it.
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(err(e)),
            _ => {}
        }
        let listener = UnixListener::bind(&path).map_err(err)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(err)?;
        let active = Arc::new(AtomicUsize::new(0));
        let thread = {
            let inner = inner.clone();
            std::thread::Builder::new()
                .name("fandex-socket".into())
                .spawn(move || accept_loop(&listener, &inner, &active))
                .map_err(err)?
        };
        Ok(Self {
            path,
            thread: Some(thread),
            inner,
        })
    }

    /// The socket path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stops accepting and removes the socket (open connections finish their current request).
    pub fn stop(mut self) {
        // `stopping` is set; a connection wakes the accept loop so it sees it.
        let _ = UnixStream::connect(&self.path);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let _ = std::fs::remove_file(&self.path);
        drop(self.inner);
    }
}

fn accept_loop(listener: &UnixListener, inner: &Arc<Inner>, active: &Arc<AtomicUsize>) {
    for stream in listener.incoming() {
        if inner.stopping.load(Ordering::Relaxed) {
            break;
        }
        let mut stream = match stream {
            Ok(s) => s,
            Err(e) => {
                warn!("accept: {e}");
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        if active.fetch_add(1, Ordering::AcqRel) >= MAX_CONNECTIONS {
            active.fetch_sub(1, Ordering::AcqRel);
            let _ = write_response(
                &mut stream,
                &Response::Error {
                    kind: ErrorKind::Unavailable,
                    message: "the daemon is busy (too many connections); try again".into(),
                },
            );
            continue;
        }
        let inner = inner.clone();
        let active = active.clone();
        let spawned = std::thread::Builder::new()
            .name("fandex-client".into())
            .spawn(move || {
                serve(stream, &inner);
                active.fetch_sub(1, Ordering::AcqRel);
            });
        if let Err(e) = spawned {
            warn!("cannot start a connection thread: {e}");
        }
    }
}

fn write_response(stream: &mut UnixStream, response: &Response) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(response).map_err(std::io::Error::other)?;
    line.push(b'\n');
    stream.write_all(&line)
}

fn serve(stream: UnixStream, inner: &Inner) {
    let _ = stream.set_read_timeout(Some(IDLE_TIMEOUT));
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = Vec::new();
        match (&mut reader)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut line)
        {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let response = if line.len() > MAX_LINE_BYTES {
            Response::Error {
                kind: ErrorKind::BadRequest,
                message: "request too long".into(),
            }
        } else {
            match serde_json::from_slice::<Request>(&line) {
                Ok(request) => handle(request, inner),
                Err(e) => Response::Error {
                    kind: ErrorKind::BadRequest,
                    message: format!("malformed request: {e}"),
                },
            }
        };
        if write_response(&mut writer, &response).is_err() || line.len() > MAX_LINE_BYTES {
            return;
        }
    }
}

fn handle(request: Request, inner: &Inner) -> Response {
    let _span = info_span!("request").entered();
    match request {
        Request::Search {
            query,
            limit,
            cwd,
            snippets,
        } => {
            debug!(query, limit, "search");
            let request = SearchRequest {
                query,
                limit: limit.min(MAX_LIMIT),
                cwd: cwd.0,
                snippets,
            };
            match inner.searcher.search(&request) {
                Ok(results) => Response::results(&results),
                Err(e @ QueryError::Syntax { .. }) => Response::Error {
                    kind: ErrorKind::Syntax,
                    message: e.to_string(),
                },
                Err(e) => Response::Error {
                    kind: ErrorKind::Internal,
                    message: e.to_string(),
                },
            }
        }
        Request::Status {} => match serde_json::to_value(inner.status()) {
            Ok(status) => Response::Status { status },
            Err(e) => Response::Error {
                kind: ErrorKind::Internal,
                message: e.to_string(),
            },
        },
        Request::Sync { timeout_ms } => match inner.sync(Duration::from_millis(timeout_ms)) {
            Ok(generation) => Response::Synced { generation },
            Err(e @ DaemonError::SyncTimeout(_)) => Response::Error {
                kind: ErrorKind::Timeout,
                message: e.to_string(),
            },
            Err(e @ DaemonError::Stopping) => Response::Error {
                kind: ErrorKind::Unavailable,
                message: e.to_string(),
            },
            Err(e) => Response::Error {
                kind: ErrorKind::Internal,
                message: e.to_string(),
            },
        },
    }
}
