//! The fanotify FID group: the ordered log of the namespace, turned into [`NsEvent`]s with event-time paths.
//!
//! The FID group's queue is the ordered log (create, delete, rename, modify, close-write). Its directory
//! handles are resolved to paths with `open_by_handle_at` on a mount fd of that filesystem; because that gives
//! the path *now*, not at event time, each drained batch is resolved backwards: later directory renames and
//! deletions of the batch are undone on the resolved paths, so every event gets the path it had when it
//! happened. The batches go to the engine as [`Raw::Fid`].

use std::collections::HashMap;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use super::sys::{self as fsys, Handle, RawEvent};
use crate::change::rebase;
use crate::event::{NsEvent, Raw, Stats};
use crate::mounts::MountRef;
use crate::sys;

/// Most events drained from the FID group into one batch.
const MAX_BATCH: usize = 65_536;

/// How long the FID thread waits after a wake-up before draining, so related events land in one batch.
const BATCH_DELAY: Duration = Duration::from_millis(3);

/// One FID event, its records sorted out.
struct FidEvent {
    mask: u64,
    dir: Option<(Handle, Vec<u8>)>,
    old: Option<(Handle, Vec<u8>)>,
    new: Option<(Handle, Vec<u8>)>,
    obj: Option<Handle>,
}

impl FidEvent {
    fn from_raw(ev: RawEvent) -> Self {
        let mut out = FidEvent {
            mask: ev.mask,
            dir: None,
            old: None,
            new: None,
            obj: None,
        };
        for r in ev.records {
            match r.info_type {
                libc::FAN_EVENT_INFO_TYPE_DFID_NAME => {
                    out.dir = Some((r.handle, r.name.unwrap_or_default()))
                }
                libc::FAN_EVENT_INFO_TYPE_DFID => out.dir = Some((r.handle, b".".to_vec())),
                libc::FAN_EVENT_INFO_TYPE_OLD_DFID_NAME => {
                    out.old = Some((r.handle, r.name.unwrap_or_default()))
                }
                libc::FAN_EVENT_INFO_TYPE_NEW_DFID_NAME => {
                    out.new = Some((r.handle, r.name.unwrap_or_default()))
                }
                libc::FAN_EVENT_INFO_TYPE_FID => out.obj = Some(r.handle),
                _ => {}
            }
        }
        out
    }

    fn is_dir(&self) -> bool {
        self.mask & libc::FAN_ONDIR != 0
    }

    /// Whether this event changes where directories are (so cached directory paths may be stale).
    fn moves_directories(&self) -> bool {
        self.is_dir()
            && self.mask
                & (libc::FAN_RENAME
                    | libc::FAN_MOVED_FROM
                    | libc::FAN_DELETE
                    | libc::FAN_DELETE_SELF)
                != 0
    }
}

/// Maps `p` back through the inverse renames `inv` (newest first): each `(after, before)` rewrites the
/// prefix `after` into `before`.
pub(crate) fn translate(p: &Path, inv: &[(PathBuf, PathBuf)]) -> PathBuf {
    let mut p = p.to_path_buf();
    for (after, before) in inv {
        if let Some(moved) = rebase(&p, after, before) {
            p = moved;
        }
    }
    p
}

/// Resolves directory handles to current paths, with a cache invalidated whenever directories move.
pub(crate) struct Resolver {
    mounts: HashMap<[i32; 2], Arc<MountRef>>,
    cache: HashMap<Handle, PathBuf>,
}

/// The mount fds opened while resolving one batch (closed with it, so no root stays pinned); `None` for a
/// filesystem no longer at any of its roots.
type BatchMounts = HashMap<[i32; 2], std::io::Result<Option<OwnedFd>>>;

/// The outcome of resolving one directory handle now.
#[derive(Clone)]
enum Now {
    Path(PathBuf),
    /// The directory no longer exists (ESTALE, or unlinked): events in it are moot unless a later event of
    /// the batch tells where it was.
    Gone,
    /// Some other failure: the event's path is unknown, so its filesystem must be rescanned.
    Failed,
}

impl Resolver {
    pub(crate) fn new(mounts: HashMap<[i32; 2], Arc<MountRef>>) -> Self {
        Self {
            mounts,
            cache: HashMap::new(),
        }
    }

    fn now(
        &mut self,
        h: &Handle,
        batch: &mut HashMap<Handle, Now>,
        batch_mounts: &mut BatchMounts,
    ) -> Now {
        if let Some(n) = batch.get(h) {
            return n.clone();
        }
        let r = if let Some(p) = self.cache.get(h) {
            Now::Path(p.clone())
        } else {
            let mount = batch_mounts
                .entry(h.fsid)
                .or_insert_with(|| self.mounts.get(&h.fsid).map_or(Ok(None), |m| m.open()));
            match mount {
                Err(e) => {
                    tracing::warn!(error = %e, "cannot open a root to resolve a directory handle");
                    Now::Failed
                }
                // Unknown, or unmounted since: nothing of it is under the roots now.
                Ok(None) => Now::Gone,
                Ok(Some(m)) => {
                    match fsys::open_by_handle(m.as_fd(), h, libc::O_PATH | libc::O_CLOEXEC) {
                        Ok(fd) => match sys::fd_stat(fd.as_fd()) {
                            Ok((_, _, 0, _)) => Now::Gone,
                            Ok(_) => match sys::fd_path(fd.as_fd()) {
                                Ok(p) => {
                                    if self.cache.len() > 16_384 {
                                        self.cache.clear();
                                    }
                                    self.cache.insert(h.clone(), p.clone());
                                    Now::Path(p)
                                }
                                Err(_) => Now::Gone,
                            },
                            Err(_) => Now::Gone,
                        },
                        Err(e)
                            if matches!(
                                e.raw_os_error(),
                                Some(libc::ESTALE) | Some(libc::ENOENT)
                            ) =>
                        {
                            Now::Gone
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "open_by_handle_at failed on a directory handle");
                            Now::Failed
                        }
                    }
                }
            }
        };
        batch.insert(h.clone(), r.clone());
        r
    }

    /// Turns a drained batch into normalized namespace events with event-time paths.
    fn resolve(&mut self, raw: Vec<RawEvent>, own_pid: i32, stats: &Stats) -> Vec<NsEvent> {
        let mut events = Vec::with_capacity(raw.len());
        let mut overflow = false;
        for ev in raw {
            if ev.mask & libc::FAN_Q_OVERFLOW != 0 {
                overflow = true;
                continue;
            }
            if ev.pid == own_pid {
                stats.add_dropped_own(1);
                continue;
            }
            events.push(FidEvent::from_raw(ev));
        }
        if events.iter().any(FidEvent::moves_directories) {
            self.cache.clear();
        }
        let mut batch_now: HashMap<Handle, Now> = HashMap::new();
        let mut batch_mounts = BatchMounts::new();
        let mut inv: Vec<(PathBuf, PathBuf)> = Vec::new();
        let mut learned: HashMap<Handle, (PathBuf, usize)> = HashMap::new();
        let mut out: Vec<NsEvent> = Vec::with_capacity(events.len());

        // Where directory `h` was at the time of the event being processed.
        enum Dir {
            At(PathBuf),
            Gone,
            Failed,
        }
        let mut dir_at = |this: &mut Self,
                          h: &Handle,
                          inv: &[(PathBuf, PathBuf)],
                          learned: &HashMap<Handle, (PathBuf, usize)>| {
            if let Some((p, i)) = learned.get(h) {
                return Dir::At(translate(p, inv.get(*i..).unwrap_or(&[])));
            }
            match this.now(h, &mut batch_now, &mut batch_mounts) {
                Now::Path(p) => Dir::At(translate(&p, inv)),
                Now::Gone => Dir::Gone,
                Now::Failed => Dir::Failed,
            }
        };

        for ev in events.iter().rev() {
            let is_dir = ev.is_dir();
            if ev.mask & libc::FAN_RENAME != 0 {
                let (Some((oh, on)), Some((nh, nn))) = (&ev.old, &ev.new) else {
                    continue;
                };
                let from = dir_at(self, oh, &inv, &learned);
                let to = dir_at(self, nh, &inv, &learned);
                match (from, to) {
                    (Dir::At(f), Dir::At(t)) => {
                        let from = fsys::join_name(&f, on);
                        let to = fsys::join_name(&t, nn);
                        if is_dir {
                            inv.push((to.clone(), from.clone()));
                            if let Some(o) = &ev.obj {
                                learned.insert(o.clone(), (from.clone(), inv.len()));
                            }
                        }
                        out.push(NsEvent::Renamed { from, to, is_dir });
                    }
                    (Dir::Failed, _) | (_, Dir::Failed) => out.push(NsEvent::Unresolved),
                    // A side that no longer exists: the rename happened in a directory deleted since.
                    (Dir::At(f), Dir::Gone) => out.push(NsEvent::Removed {
                        path: fsys::join_name(&f, on),
                        is_dir,
                    }),
                    (Dir::Gone, Dir::At(t)) => out.push(NsEvent::CreatedMaybe {
                        path: fsys::join_name(&t, nn),
                        is_dir,
                    }),
                    (Dir::Gone, Dir::Gone) => {}
                }
                continue;
            }
            if ev.mask & (libc::FAN_MOVED_FROM | libc::FAN_MOVED_TO) != 0
                && ev.mask
                    & (libc::FAN_CREATE
                        | libc::FAN_DELETE
                        | libc::FAN_MODIFY
                        | libc::FAN_CLOSE_WRITE
                        | libc::FAN_ATTRIB)
                    == 0
            {
                // Redundant with FAN_RENAME, which carries both sides.
                continue;
            }
            let Some((dh, name)) = &ev.dir else { continue };
            let path = match dir_at(self, dh, &inv, &learned) {
                Dir::At(d) => fsys::join_name(&d, name),
                Dir::Gone => continue,
                Dir::Failed => {
                    out.push(NsEvent::Unresolved);
                    continue;
                }
            };
            let created = ev.mask & libc::FAN_CREATE != 0;
            let deleted = ev.mask & libc::FAN_DELETE != 0;
            if deleted
                && is_dir
                && let Some(o) = &ev.obj
            {
                learned.insert(o.clone(), (path.clone(), inv.len()));
            }
            let content = ev.mask & (libc::FAN_MODIFY | libc::FAN_CLOSE_WRITE) != 0 && !is_dir;
            let final_ = ev.mask & libc::FAN_CLOSE_WRITE != 0;
            // Pushed in reverse; reversed again below.
            if created && deleted {
                out.push(NsEvent::CreatedMaybe { path, is_dir });
            } else if deleted {
                out.push(NsEvent::Removed { path, is_dir });
            } else {
                if content {
                    if let Some(h) = &ev.obj {
                        out.push(NsEvent::Content {
                            path: path.clone(),
                            final_,
                            handle: h.clone(),
                        });
                    }
                } else if ev.mask & libc::FAN_ATTRIB != 0
                    && ev.mask & libc::FAN_DELETE_SELF == 0
                    && !created
                {
                    out.push(NsEvent::Attrib { path: path.clone() });
                }
                if created {
                    out.push(NsEvent::Created { path, is_dir });
                }
            }
        }
        out.reverse();
        if overflow {
            out.push(NsEvent::Overflow);
        }
        out
    }
}

/// The FID group's thread: drains the queue in batches, resolves them and sends them on, until `stop`.
pub(crate) fn run_fid(
    group: OwnedFd,
    stop: Arc<OwnedFd>,
    mut resolver: Resolver,
    tx: Sender<Raw>,
    stats: Arc<Stats>,
) {
    let own_pid = std::process::id() as i32;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        match sys::poll_readable(&[group.as_fd(), stop.as_fd()], -1) {
            Ok(ready) if ready.get(1).copied().unwrap_or(false) => return,
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = %e, "poll on the fanotify FID group failed; stopping it");
                let _ = tx.send(Raw::Fid(
                    vec![NsEvent::Failed(e.to_string())],
                    Instant::now(),
                ));
                return;
            }
        }
        std::thread::sleep(BATCH_DELAY);
        let mut raw = Vec::new();
        loop {
            match sys::read_nonblocking(group.as_fd(), &mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    let (mut evs, truncated) = fsys::parse_events(&buf[..n]);
                    if truncated {
                        tracing::warn!("malformed fanotify FID buffer");
                    }
                    raw.append(&mut evs);
                    if raw.len() >= MAX_BATCH {
                        break;
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "read on the fanotify FID group failed");
                    raw.push(RawEvent {
                        mask: libc::FAN_Q_OVERFLOW,
                        fd: -1,
                        pid: 0,
                        records: Vec::new(),
                    });
                    break;
                }
            }
        }
        if raw.is_empty() {
            continue;
        }
        let read_at = Instant::now();
        let events = resolver.resolve(raw, own_pid, &stats);
        if !events.is_empty() && tx.send(Raw::Fid(events, read_at)).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translate_undoes_renames_newest_first() {
        // Events: mv /r/a /r/b ; mv /r/b/c /r/d  (newest first in `inv`).
        let inv = vec![
            (PathBuf::from("/r/d"), PathBuf::from("/r/b/c")),
            (PathBuf::from("/r/b"), PathBuf::from("/r/a")),
        ];
        assert_eq!(
            translate(Path::new("/r/d/x"), &inv),
            PathBuf::from("/r/a/c/x")
        );
        assert_eq!(translate(Path::new("/r/b"), &inv), PathBuf::from("/r/a"));
        assert_eq!(translate(Path::new("/r/bb"), &inv), PathBuf::from("/r/bb"));
        assert_eq!(translate(Path::new("/q"), &inv), PathBuf::from("/q"));
    }
}
