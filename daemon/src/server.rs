//! The Unix socket server: JSON-lines requests (search, status, sync, pause, resume), one thread per
//! connection.
//!
//! No client can lock out the others: each socket has its own capacity (the owner's private socket is
//! never filled by other users), the public socket also caps the connections of each user, and a
//! connection must send each complete request within `daemon.idle_timeout_ms` of connecting or of its
//! previous answer (a deadline, not renewed by trickling bytes). A connection over a limit gets one
//! `unavailable` error line and is closed.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use fandex_indexer::catalog::Catalog;
use fandex_query::limits::MAX_REQUEST_BYTES;
use fandex_query::protocol::{ErrorKind, Request, Response};
use fandex_query::{QueryEngine, QueryError, SearchRequest};
use tracing::{debug, info_span, warn};

use crate::access::{self, Peer};
use crate::control;
use crate::error::DaemonError;
use crate::events::Events;
use crate::lifecycle::Lifecycle;
use crate::lock::lock;
use crate::options::Settings;
use crate::queue::WorkQueue;
use crate::roots::RootWatch;
use crate::status::StatusSource;
use crate::sync::Syncer;

/// What answering requests takes: handles on the daemon's parts.
pub(crate) struct Services {
    pub(crate) searcher: QueryEngine,
    pub(crate) catalog: Catalog,
    pub(crate) settings: Arc<Settings>,
    pub(crate) status: Arc<StatusSource>,
    pub(crate) sync: Arc<Syncer>,
    pub(crate) roots: Arc<RootWatch>,
    pub(crate) life: Arc<Lifecycle>,
    pub(crate) queue: Arc<WorkQueue>,
    pub(crate) events: Events,
}

/// Connections served at once on the private socket (the index owner's); more are refused.
const MAX_PRIVATE_CONNECTIONS: usize = 64;
/// Connections served at once on the public socket, all users together.
const MAX_PUBLIC_CONNECTIONS: usize = 128;
/// Connections one user may hold at once on the public socket.
pub const MAX_CONNECTIONS_PER_USER: usize = 16;
/// Longest wait a `sync` request may ask for.
const MAX_SYNC_TIMEOUT: Duration = Duration::from_secs(24 * 3600);
/// How long the accept loop waits to hand a refused client its error line.
const REFUSAL_WRITE_TIMEOUT: Duration = Duration::from_millis(100);

/// The connections a socket serves at once, in total and per user.
struct Capacity {
    total: usize,
    per_user: Option<usize>,
    held: Mutex<Held>,
}

#[derive(Default)]
struct Held {
    total: usize,
    by_uid: HashMap<u32, usize>,
}

/// One connection's place in a [`Capacity`], given back when dropped (also if its thread panics).
struct Slot {
    capacity: Arc<Capacity>,
    uid: u32,
}

impl Capacity {
    fn new(total: usize, per_user: Option<usize>) -> Arc<Self> {
        Arc::new(Self {
            total,
            per_user,
            held: Mutex::new(Held::default()),
        })
    }

    /// A place for a connection of `uid`, or why there is none.
    fn take(self: &Arc<Self>, uid: u32) -> Result<Slot, String> {
        let mut held = lock(&self.held);
        let mine = held.by_uid.get(&uid).copied().unwrap_or(0);
        if let Some(per_user) = self.per_user
            && mine >= per_user
        {
            return Err(format!(
                "too many connections from your user (at most {per_user} at once); try again"
            ));
        }
        if held.total >= self.total {
            return Err("the daemon is busy (too many connections); try again".into());
        }
        held.total += 1;
        *held.by_uid.entry(uid).or_default() += 1;
        Ok(Slot {
            capacity: self.clone(),
            uid,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut held = lock(&self.capacity.held);
        held.total -= 1;
        if let Some(n) = held.by_uid.get_mut(&self.uid) {
            *n -= 1;
            if *n == 0 {
                held.by_uid.remove(&self.uid);
            }
        }
    }
}

/// Reads from a connection until a deadline: each read waits only for the time left, so a client
/// trickling bytes cannot keep a connection past it.
struct DeadlineReader<'a> {
    stream: &'a UnixStream,
    until: Instant,
}

impl Read for DeadlineReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self.until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        self.stream.set_read_timeout(Some(left))?;
        let mut stream = self.stream;
        stream.read(buf)
    }
}

/// A running socket server: the private socket (in the index directory unless configured elsewhere)
/// and, optionally, a public one.
pub(crate) struct Server {
    path: PathBuf,
    public: Option<PathBuf>,
    threads: Vec<JoinHandle<()>>,
    /// Second descriptors on the listening sockets: shutting them down wakes the accept loops even when
    /// the socket files are gone (the index directory was removed).
    wakers: Vec<UnixListener>,
    services: Arc<Services>,
}

/// Binds a listening socket at `path` with `mode`, replacing a stale one (a socket outside the index
/// directory, such as a user daemon's in `$XDG_RUNTIME_DIR`, may be another daemon's: one that
/// answers is left alone).
fn bind(path: &Path, mode: u32) -> Result<UnixListener, DaemonError> {
    let err = |source| DaemonError::Socket {
        path: path.display().to_string(),
        source,
    };
    if UnixStream::connect(path).is_ok() {
        return Err(err(std::io::Error::new(
            std::io::ErrorKind::AddrInUse,
            "another daemon is listening on it",
        )));
    }
    // A socket left by a crashed daemon.
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(err(e)),
        _ => {}
    }
    let listener = UnixListener::bind(path).map_err(err)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(err)?;
    Ok(listener)
}

impl Server {
    /// Binds the private socket `path` (0600; a missing directory is created 0700) and, when given,
    /// the public socket (0666, its directory created 0755), and starts accepting on both.
    pub fn start(
        services: Arc<Services>,
        path: PathBuf,
        public: Option<PathBuf>,
    ) -> Result<Self, DaemonError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)
                .map_err(|source| DaemonError::Socket {
                    path: parent.display().to_string(),
                    source,
                })?;
        }
        let mut listeners = vec![(
            bind(&path, 0o600)?,
            Capacity::new(MAX_PRIVATE_CONNECTIONS, None),
        )];
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
            listeners.push((
                bind(public, 0o666)?,
                Capacity::new(MAX_PUBLIC_CONNECTIONS, Some(MAX_CONNECTIONS_PER_USER)),
            ));
        }
        let mut threads = Vec::new();
        let mut wakers = Vec::new();
        for (listener, capacity) in listeners {
            wakers.push(listener.try_clone().map_err(|source| DaemonError::Socket {
                path: path.display().to_string(),
                source,
            })?);
            let services = services.clone();
            let thread = std::thread::Builder::new()
                .name("fandex-socket".into())
                .spawn(move || accept_loop(&listener, &services, &capacity))
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
            wakers,
            services,
        })
    }

    /// The socket path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stops accepting and removes the socket (open connections finish their current request).
    pub fn stop(self) {
        // `stopping` is set; shutting the listeners down wakes each accept loop so it sees it.
        let sockets: Vec<&PathBuf> = std::iter::once(&self.path)
            .chain(self.public.as_ref())
            .collect();
        for waker in &self.wakers {
            // A listening socket shut down fails its pending and later accepts (EINVAL).
            let _ = nix::sys::socket::shutdown(waker.as_raw_fd(), nix::sys::socket::Shutdown::Both);
        }
        for thread in self.threads {
            let _ = thread.join();
        }
        for socket in sockets {
            let _ = std::fs::remove_file(socket);
        }
        drop(self.services);
    }
}

fn accept_loop(listener: &UnixListener, services: &Arc<Services>, capacity: &Arc<Capacity>) {
    for stream in listener.incoming() {
        if services.life.is_stopping() {
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
        let uid = match access::peer_uid(&stream) {
            Ok(uid) => uid,
            Err(e) => {
                warn!("cannot identify a client: {e}");
                continue;
            }
        };
        let slot = match capacity.take(uid) {
            Ok(slot) => slot,
            Err(message) => {
                debug!(uid, "refused a connection: {message}");
                let _ = stream.set_write_timeout(Some(REFUSAL_WRITE_TIMEOUT));
                let _ = write_response(
                    &mut stream,
                    &Response::Error {
                        kind: ErrorKind::Unavailable,
                        message,
                    },
                );
                continue;
            }
        };
        let services = services.clone();
        let spawned = std::thread::Builder::new()
            .name("fandex-client".into())
            .spawn(move || {
                let _slot = slot;
                serve(stream, &services);
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

fn serve(stream: UnixStream, services: &Services) {
    let idle_timeout =
        Duration::from_millis(services.settings.config().daemon.idle_timeout_ms.max(1));
    // A client that stops reading its answers is dropped too.
    let _ = stream.set_write_timeout(Some(idle_timeout));
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
    let mut reader = BufReader::new(DeadlineReader {
        stream: &stream,
        until: Instant::now() + idle_timeout,
    });
    loop {
        // Each request must arrive whole within the idle timeout of the previous answer (or of the
        // connection); the time a request takes to handle (a long `sync`) does not count.
        reader.get_mut().until = Instant::now() + idle_timeout;
        let mut line = Vec::new();
        match (&mut reader)
            .take(MAX_REQUEST_BYTES as u64 + 1)
            .read_until(b'\n', &mut line)
        {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let response = if line.len() > MAX_REQUEST_BYTES {
            Response::Error {
                kind: ErrorKind::BadRequest,
                message: format!("request too long: more than {MAX_REQUEST_BYTES} bytes"),
            }
        } else {
            match serde_json::from_slice::<Request>(&line) {
                Ok(request) => handle(request, services, &peer),
                Err(e) => Response::Error {
                    kind: ErrorKind::BadRequest,
                    message: format!("malformed request: {e}"),
                },
            }
        };
        if write_response(&mut writer, &response).is_err() || line.len() > MAX_REQUEST_BYTES {
            return;
        }
    }
}

/// Which of `ids` (catalog file ids) `peer` may read now (a folder: list, see [`access::visible_to`]).
fn visible_to(services: &Services, peer: &Peer, ids: &[u64]) -> Vec<bool> {
    let paths: Vec<Option<(PathBuf, bool)>> = ids
        .iter()
        .map(|id| {
            services
                .catalog
                .get(*id)
                .ok()
                .flatten()
                .map(|r| (r.path().to_owned(), r.is_folder()))
        })
        .collect();
    let known: Vec<(PathBuf, bool)> = paths.iter().flatten().cloned().collect();
    let Ok(flags) = access::visible_to(peer, known) else {
        return vec![false; ids.len()];
    };
    let mut flags = flags.into_iter();
    paths
        .iter()
        .map(|p| p.is_some() && flags.next().unwrap_or(false))
        .collect()
}

fn handle(request: Request, services: &Services, peer: &Peer) -> Response {
    let _span = info_span!("request", uid = peer.uid).entered();
    match request {
        Request::Search {
            query,
            limit,
            cwd,
            snippets,
            home,
            utc_offset_s,
            sort,
            reverse,
            offset,
            names,
        } => {
            debug!(query, limit, offset, "search");
            let request = SearchRequest {
                query,
                limit,
                cwd: cwd.0,
                snippets,
                home: home.map(|h| h.0),
                utc_offset_s,
                sort,
                reverse,
                offset,
                names,
            };
            let found = if peer.needs_filtering() {
                services
                    .searcher
                    .search_visible(&request, &|ids| visible_to(services, peer, ids))
            } else {
                services.searcher.search(&request)
            };
            match found {
                Ok(results) => Response::results(&results, peer.is_owner()),
                Err(e @ QueryError::Syntax { .. }) => Response::Error {
                    kind: ErrorKind::Syntax,
                    message: e.to_string(),
                },
                Err(e @ QueryError::TooLarge { .. }) => Response::Error {
                    kind: ErrorKind::BadRequest,
                    message: e.to_string(),
                },
                Err(e) => Response::Error {
                    kind: ErrorKind::Internal,
                    message: e.to_string(),
                },
            }
        }
        Request::Status {} => Response::Status {
            status: services
                .status
                .report()
                .for_caller(peer.is_owner(), peer.uid, |paths| {
                    let n = paths.len();
                    if n == 0 {
                        return Vec::new();
                    }
                    access::readable_by(peer, paths).unwrap_or_else(|_| vec![false; n])
                }),
        },
        Request::Pause { .. } | Request::Resume {} if !peer.is_owner() => Response::Error {
            kind: ErrorKind::Denied,
            message: format!(
                "only root and the daemon's own user (uid {}) may pause or resume it",
                nix::unistd::geteuid()
            ),
        },
        Request::Pause { seconds } => Response::PauseState {
            paused: control::pause(
                &services.queue,
                &services.events,
                seconds.map(Duration::from_secs),
            ),
        },
        Request::Resume {} => Response::PauseState {
            paused: control::resume(&services.queue, &services.events),
        },
        Request::Sync { timeout_ms } => {
            match services.sync.request(
                &services.roots,
                &services.life,
                Duration::from_millis(timeout_ms).min(MAX_SYNC_TIMEOUT),
            ) {
                // The generation counts every commit, of anyone's files: only owners get it.
                Ok(generation) => Response::Synced {
                    generation: if peer.is_owner() { generation } else { 0 },
                },
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
            }
        }
    }
}

/// Creates the public socket's directory and any missing parent with mode 0755 whatever the umask (the
/// `fandex` binary runs with 0077); existing directories are left as they are.
pub(crate) fn create_public_dir(dir: &Path) -> Result<(), DaemonError> {
    use std::os::unix::fs::PermissionsExt;
    if dir.exists() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_public_dir(parent)?;
    }
    let err = |source| DaemonError::Socket {
        path: dir.display().to_string(),
        source,
    };
    match std::fs::create_dir(dir) {
        Ok(()) => {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).map_err(err)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(err(e)),
    }
}
