//! The Unix socket server: JSON-lines requests (search, status, sync), one thread per connection, with a
//! cap on connections and on request size.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use fandex_query::protocol::{ErrorKind, MAX_LINE_BYTES, Request, Response};
use fandex_query::{QueryError, SearchRequest};
use tracing::{debug, info_span, warn};

use super::access::{self, Peer};
use super::{DaemonError, Inner};

/// Connections served at once; more are answered with an error and closed.
const MAX_CONNECTIONS: usize = 64;
/// An idle connection is closed after this long.
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// Largest `limit` a search may ask for.
const MAX_LIMIT: usize = 1_000_000;

/// A running socket server: the private socket in the index directory and, optionally, a public one.
pub(crate) struct Server {
    path: PathBuf,
    public: Option<PathBuf>,
    threads: Vec<JoinHandle<()>>,
    inner: Arc<Inner>,
}

/// Binds a listening socket at `path` with `mode`, replacing a stale one.
fn bind(path: &Path, mode: u32) -> Result<UnixListener, DaemonError> {
    let err = |source| DaemonError::Socket {
        path: path.display().to_string(),
        source,
    };
    // A socket left by a crashed daemon: we hold the index lock, so nobody else is serving it.
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(err(e)),
        _ => {}
    }
    let listener = UnixListener::bind(path).map_err(err)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(err)?;
    Ok(listener)
}

impl Server {
    /// Binds the socket in the index directory (0600) and, when given, the public socket (0666, its
    /// directory created 0755), and starts accepting on both.
    pub fn start(inner: Arc<Inner>, public: Option<PathBuf>) -> Result<Self, DaemonError> {
        let path = inner.dir.socket_path();
        let mut listeners = vec![bind(&path, 0o600)?];
        if let Some(public) = &public {
            if let Some(parent) = public.parent() {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o755)
                    .create(parent)
                    .map_err(|source| DaemonError::Socket {
                        path: parent.display().to_string(),
                        source,
                    })?;
            }
            listeners.push(bind(public, 0o666)?);
        }
        let active = Arc::new(AtomicUsize::new(0));
        let mut threads = Vec::new();
        for listener in listeners {
            let inner = inner.clone();
            let active = active.clone();
            let thread = std::thread::Builder::new()
                .name("fandex-socket".into())
                .spawn(move || accept_loop(&listener, &inner, &active))
                .map_err(|source| DaemonError::Socket {
                    path: path.display().to_string(),
                    source,
                })?;
            threads.push(thread);
        }
        Ok(Self {
            path,
            public,
            threads,
            inner,
        })
    }

    /// The socket path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stops accepting and removes the socket (open connections finish their current request).
    pub fn stop(self) {
        // `stopping` is set; a connection wakes each accept loop so it sees it.
        let sockets: Vec<&PathBuf> = std::iter::once(&self.path)
            .chain(self.public.as_ref())
            .collect();
        for socket in &sockets {
            let _ = UnixStream::connect(socket);
        }
        for thread in self.threads {
            let _ = thread.join();
        }
        for socket in sockets {
            let _ = std::fs::remove_file(socket);
        }
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

fn write_response(mut stream: impl Write, response: &Response) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(response).map_err(std::io::Error::other)?;
    line.push(b'\n');
    stream.write_all(&line)
}

fn serve(stream: UnixStream, inner: &Inner) {
    let _ = stream.set_read_timeout(Some(IDLE_TIMEOUT));
    let peer = match Peer::of(&stream) {
        Ok(peer) => peer,
        Err(e) => {
            warn!("cannot identify a client: {e}");
            return;
        }
    };
    // Read and write through shared references: no second descriptor per connection (a dup can fail
    // with EMFILE exactly when the daemon is busiest).
    let mut writer = &stream;
    let mut reader = BufReader::new(&stream);
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
                Ok(request) => handle(request, inner, &peer),
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

/// Which of `ids` (catalog file ids) `peer` may read now.
fn visible_to(inner: &Inner, peer: &Peer, ids: &[u64]) -> Vec<bool> {
    let paths: Vec<Option<PathBuf>> = ids
        .iter()
        .map(|id| {
            inner
                .catalog
                .get(*id)
                .ok()
                .flatten()
                .map(|r| r.path().to_owned())
        })
        .collect();
    let known: Vec<PathBuf> = paths.iter().flatten().cloned().collect();
    let Ok(flags) = access::readable_by(peer, known) else {
        return vec![false; ids.len()];
    };
    let mut flags = flags.into_iter();
    paths
        .iter()
        .map(|p| p.is_some() && flags.next().unwrap_or(false))
        .collect()
}

fn handle(request: Request, inner: &Inner, peer: &Peer) -> Response {
    let _span = info_span!("request", uid = peer.uid).entered();
    match request {
        Request::Search {
            query,
            limit,
            cwd,
            snippets,
            home,
        } => {
            debug!(query, limit, "search");
            let request = SearchRequest {
                query,
                limit: limit.min(MAX_LIMIT),
                cwd: cwd.0,
                snippets,
                home: home.map(|h| h.0),
            };
            let found = if peer.needs_filtering() {
                inner
                    .searcher
                    .search_visible(&request, &|ids| visible_to(inner, peer, ids))
            } else {
                inner.searcher.search(&request)
            };
            match found {
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
        Request::Status {} => match serde_json::to_value(inner.status().redacted_for(peer)) {
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
