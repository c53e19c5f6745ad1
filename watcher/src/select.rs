//! Choosing the sources per filesystem (`auto` selection) and setting the fanotify marks.

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::config::{Backend, FilesystemStatus, RenameSource, Source, WatchConfig, WatchError};
use crate::fanotify::group::{self, FsInfo};
use crate::mounts::MountRef;
use crate::sys;
use crate::volume::{Volume, remote_kind};

/// The outcome of selection: groups with their marks in place, and the per-filesystem choices.
pub(crate) struct Selection {
    pub content_group: Option<OwnedFd>,
    pub fid_group: Option<OwnedFd>,
    pub filesystems: Vec<FsInfo>,
    pub status: Vec<FilesystemStatus>,
    pub inotify_roots: Vec<PathBuf>,
    pub fd_content_roots: Vec<PathBuf>,
}

fn errno_reason(e: &std::io::Error) -> &'static str {
    match e.raw_os_error() {
        Some(libc::EXDEV) => "EXDEV: btrfs subvolume (mark the top level instead)",
        Some(libc::ENODEV) => "ENODEV: the filesystem has no file handles (FUSE)",
        Some(libc::EOPNOTSUPP) => {
            "EOPNOTSUPP: the filesystem does not support FID marks (overlayfs, /proc)"
        }
        Some(libc::EPERM) => "EPERM: not privileged (CAP_SYS_ADMIN needed)",
        Some(libc::EINVAL) => "EINVAL: the kernel lacks this fanotify feature",
        _ => "refused",
    }
}

/// Groups the roots by filesystem, creates the groups the configuration allows and marks each filesystem.
pub(crate) fn select(config: &WatchConfig) -> Result<Selection, WatchError> {
    // Roots grouped by st_dev, in the configuration's order.
    let mut by_dev: Vec<(u64, Vec<PathBuf>)> = Vec::new();
    for r in &config.roots {
        let meta =
            std::fs::metadata(r).map_err(|e| WatchError::BadRoot(r.clone(), e.to_string()))?;
        if !r.is_absolute() || !meta.is_dir() {
            return Err(WatchError::BadRoot(
                r.clone(),
                "not an absolute directory".into(),
            ));
        }
        match by_dev.iter_mut().find(|(d, _)| *d == meta.dev()) {
            Some((_, v)) => v.push(r.clone()),
            None => by_dev.push((meta.dev(), vec![r.clone()])),
        }
    }

    let privileged = sys::has_cap_sys_admin();
    let want_content = match config.backend {
        Backend::Inotify => false,
        Backend::Fanotify => true,
        Backend::Auto => privileged,
    };
    let want_fid = match config.rename_source {
        RenameSource::Inotify => false,
        RenameSource::Fanotify => true,
        // Auto follows an explicit inotify content choice; otherwise it needs privilege for FS marks.
        RenameSource::Auto => config.backend != Backend::Inotify && privileged,
    };
    let first_root = || config.roots.first().cloned().unwrap_or_default();

    let mut content_reason = String::new();
    let content_group = if want_content {
        match group::init_content_group() {
            Ok(g) => Some(g),
            Err(e) if config.backend == Backend::Fanotify => {
                return Err(WatchError::FanotifyUnavailable {
                    path: first_root(),
                    source: e,
                });
            }
            Err(e) => {
                content_reason = format!("content: inotify (fanotify_init: {})", errno_reason(&e));
                None
            }
        }
    } else {
        content_reason = match config.backend {
            Backend::Inotify => "content: inotify (configured)".into(),
            _ => "content: inotify (unprivileged: no CAP_SYS_ADMIN)".into(),
        };
        None
    };
    let mut fid_reason = String::new();
    let fid_group = if want_fid {
        match group::init_fid_group() {
            Ok(g) => Some(g),
            Err(e) if config.rename_source == RenameSource::Fanotify => {
                return Err(WatchError::FanotifyUnavailable {
                    path: first_root(),
                    source: e,
                });
            }
            Err(e) => {
                fid_reason = format!(
                    "namespace: inotify (fanotify_init FID: {})",
                    errno_reason(&e)
                );
                None
            }
        }
    } else {
        fid_reason = match (config.rename_source, config.backend) {
            (RenameSource::Inotify, _) => "namespace: inotify (configured)".into(),
            (_, Backend::Inotify) => {
                "namespace: inotify (follows the inotify content backend)".into()
            }
            _ => "namespace: inotify (unprivileged: no CAP_SYS_ADMIN)".into(),
        };
        None
    };

    let mut out = Selection {
        content_group: None,
        fid_group: None,
        filesystems: Vec::new(),
        status: Vec::new(),
        inotify_roots: Vec::new(),
        fd_content_roots: Vec::new(),
    };
    let mut fid_used = false;
    let mut content_used = false;
    for (dev, roots) in by_dev {
        let root = roots[0].clone();
        let (f_type, fsid) = sys::statfs_of(&root).map_err(|e| WatchError::Io {
            what: format!("statfs {root:?}"),
            source: e,
        })?;
        let volume = Volume::identify(dev, f_type, fsid);
        // Network and FUSE filesystems: whatever the kernel offers (below) sees only the changes made
        // through this machine's mount; the consumer walks them periodically for the rest.
        let polled = remote_kind(f_type);
        // No descriptor on the root is kept: one is opened per lookup (a held one would pin the mount).
        let mount = Arc::new(MountRef {
            fsid,
            roots: roots.clone(),
            top: crate::mounts::filesystem_top(&root).filter(|top| !roots.contains(top)),
        });
        let mut reasons = Vec::new();
        let namespace = match &fid_group {
            Some(g) => match group::mark_filesystem(g, group::FID_MASK, &root) {
                Ok(()) => {
                    reasons.push("namespace: fanotify FID filesystem mark".to_string());
                    fid_used = true;
                    Source::Fanotify
                }
                Err(e) if config.rename_source == RenameSource::Fanotify => {
                    return Err(WatchError::FanotifyUnavailable {
                        path: root,
                        source: e,
                    });
                }
                Err(e) => {
                    reasons.push(format!(
                        "namespace: inotify (FID mark: {})",
                        errno_reason(&e)
                    ));
                    Source::Inotify
                }
            },
            None => {
                reasons.push(fid_reason.clone());
                Source::Inotify
            }
        };
        let content = match &content_group {
            Some(g) => {
                // With inotify names, the fd group also takes FAN_MODIFY (truncate by path, writers that never
                // close), so that our own writes stay filterable by pid.
                let mut mask = libc::FAN_CLOSE_WRITE;
                if namespace == Source::Inotify {
                    mask |= libc::FAN_MODIFY;
                }
                match group::mark_filesystem(g, mask, &root) {
                    Ok(()) => {
                        reasons.push("content: fanotify fd group, filesystem mark".to_string());
                        content_used = true;
                        Source::Fanotify
                    }
                    Err(e) if config.backend == Backend::Fanotify => {
                        return Err(WatchError::FanotifyUnavailable {
                            path: root,
                            source: e,
                        });
                    }
                    Err(e) => {
                        reasons.push(format!("content: inotify (fd mark: {})", errno_reason(&e)));
                        Source::Inotify
                    }
                }
            }
            None => {
                reasons.push(content_reason.clone());
                Source::Inotify
            }
        };
        if let Some(kind) = polled {
            reasons.push(format!(
                "{kind}: a network or FUSE filesystem, changes made elsewhere are not notified"
            ));
        }
        let reason = reasons.join("; ");
        tracing::info!(dev, roots = ?roots, ?content, ?namespace, %reason, "watch source selected");
        if namespace == Source::Inotify {
            out.inotify_roots.extend(roots.iter().cloned());
            if content == Source::Fanotify {
                out.fd_content_roots.extend(roots.iter().cloned());
            }
        }
        out.status.push(FilesystemStatus {
            roots: roots.clone(),
            dev,
            volume: volume.identity,
            polled,
            content,
            namespace,
            reason,
        });
        out.filesystems.push(FsInfo {
            dev,
            fsid,
            mount,
            roots,
            fid: namespace == Source::Fanotify,
        });
    }
    out.content_group = if content_used { content_group } else { None };
    out.fid_group = if fid_used { fid_group } else { None };
    Ok(out)
}

/// How to open a mount fd, by fsid, for resolving handles.
pub(crate) fn mounts(filesystems: &[FsInfo]) -> HashMap<[i32; 2], Arc<MountRef>> {
    let mut m = HashMap::new();
    for f in filesystems {
        m.entry(f.fsid).or_insert_with(|| f.mount.clone());
    }
    m
}
