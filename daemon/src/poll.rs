//! Roots on network and FUSE filesystems (NFS, SMB, sshfs, 9p, any FUSE filesystem): the kernel reports
//! only the changes made through this machine's mount, never those made by another client or below a
//! FUSE filesystem's source. Each such root is therefore also walked every `watch.poll_interval`: a
//! stat-only walk, in which only files whose size or times changed are read. The watcher says which
//! filesystems are polled (`FilesystemStatus::polled`); the root monitor asks [`Poller::due`] every
//! second and queues the walks.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// When each polled root was last walked.
#[derive(Debug, Default)]
pub(crate) struct Poller {
    last: HashMap<PathBuf, Instant>,
}

impl Poller {
    /// The roots among `polled` whose last walk is `interval` ago or more; their clocks restart now. A
    /// root seen for the first time starts its clock now (it was just walked at start or when it came
    /// back online); a root no longer polled is forgotten.
    pub(crate) fn due(
        &mut self,
        polled: &[PathBuf],
        interval: Duration,
        now: Instant,
    ) -> Vec<PathBuf> {
        self.last.retain(|root, _| polled.contains(root));
        let mut due = Vec::new();
        for root in polled {
            let last = self.last.entry(root.clone()).or_insert(now);
            if now.duration_since(*last) >= interval {
                *last = now;
                due.push(root.clone());
            }
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_are_due_once_per_interval_from_when_they_were_first_seen() {
        let mut p = Poller::default();
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let (a, b) = (PathBuf::from("/a"), PathBuf::from("/b"));
        let both = [a.clone(), b.clone()];
        assert!(p.due(std::slice::from_ref(&a), s(10), t0).is_empty());
        assert!(p.due(&both, s(10), t0 + s(5)).is_empty());
        assert_eq!(p.due(&both, s(10), t0 + s(10)), std::slice::from_ref(&a));
        assert_eq!(p.due(&both, s(10), t0 + s(15)), std::slice::from_ref(&b));
        assert!(p.due(&both, s(10), t0 + s(19)).is_empty());
        // Forgotten when no longer polled (offline), its clock starts again when it returns.
        assert!(
            p.due(std::slice::from_ref(&b), s(10), t0 + s(20))
                .is_empty()
        );
        assert!(p.due(&both, s(10), t0 + s(21)).is_empty());
        assert_eq!(p.due(&both, s(10), t0 + s(30)), std::slice::from_ref(&b));
        assert_eq!(p.due(&both, s(10), t0 + s(31)), [a]);
    }
}
