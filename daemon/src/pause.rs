//! Pausing: `fandex pause` (no change is applied; every change is still recorded and waits) and bulk
//! work on battery (walks wait for mains power, or run throttled; single live changes go on).
//!
//! The state lives in the queue ([`crate::queue::Queue::pause`]), under the queue's lock, so the
//! pipeline decides what to take in the same step as it reads the pause. While paused, the queue stays
//! bounded as always: past [`crate::queue::MAX_PENDING`] pending changes the intake collapses them into
//! rescans of the roots, which then wait like any walk.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fandex_indexer::coalesce::{RescanKind, Work};
use fandex_indexer::config::OnBattery;
use fandex_query::protocol::status::{PauseReason, PauseReport};

/// The longest pause `fandex pause --for` may ask for (longer: pause until resumed).
pub(crate) const MAX_PAUSE: Duration = Duration::from_secs(7 * 24 * 3600);

/// A pause the user asked for.
#[derive(Debug, Clone, Copy)]
struct UserPause {
    /// When it ends by itself (monotonic, and the wall clock for the report); `None`: at `resume`.
    until: Option<(Instant, SystemTime)>,
}

/// What is paused and why.
#[derive(Debug)]
pub(crate) struct PauseState {
    user: Option<UserPause>,
    on_battery: bool,
    policy: OnBattery,
    /// With [`OnBattery::Throttle`], the shortest time between the starts of two walks on battery.
    gap: Duration,
    /// Walks held back by the battery policy, or interrupted, until walks may run; oldest first.
    held: Vec<(PathBuf, RescanKind)>,
    /// When the last walk was let through on battery (throttling).
    last_walk: Option<Instant>,
}

/// Whether a work item is bulk work: a walk. A new directory's walk is a live change (its files were
/// just made), so it is not held back.
pub(crate) fn is_bulk(item: &Work) -> bool {
    matches!(item, Work::Rescan { reason, .. } if *reason != RescanKind::NewDirectory)
}

impl PauseState {
    /// Not paused, on mains power, with `policy` for battery (`gap` between walks when it throttles).
    pub(crate) fn new(policy: OnBattery, gap: Duration) -> Self {
        Self {
            user: None,
            on_battery: false,
            policy,
            gap,
            held: Vec::new(),
            last_walk: None,
        }
    }

    /// Pauses everything for `duration` (until [`PauseState::resume`] when `None`), replacing an
    /// earlier pause.
    pub(crate) fn pause(&mut self, duration: Option<Duration>, now: Instant) {
        let until = duration.map(|d| {
            let d = d.min(MAX_PAUSE);
            (now + d, SystemTime::now() + d)
        });
        self.user = Some(UserPause { until });
    }

    /// Ends the user's pause; whether there was one.
    pub(crate) fn resume(&mut self) -> bool {
        self.user.take().is_some()
    }

    /// Ends the user's pause if its time is up; whether it just ended.
    pub(crate) fn expire(&mut self, now: Instant) -> bool {
        match self.user {
            Some(UserPause {
                until: Some((at, _)),
            }) if at <= now => {
                self.user = None;
                true
            }
            _ => false,
        }
    }

    /// `Some(until)` while the user's pause holds all work (`until`: when it ends by itself).
    pub(crate) fn user_hold(&self) -> Option<Option<Instant>> {
        self.user.map(|p| p.until.map(|(at, _)| at))
    }

    /// Records the power state; whether it changed.
    pub(crate) fn set_on_battery(&mut self, on_battery: bool) -> bool {
        let changed = self.on_battery != on_battery;
        self.on_battery = on_battery;
        changed
    }

    /// Whether the machine was last seen on battery.
    pub(crate) fn on_battery(&self) -> bool {
        self.on_battery
    }

    /// Sets the battery policy and the throttle's gap (a reload).
    pub(crate) fn set_policy(&mut self, policy: OnBattery, gap: Duration) {
        self.policy = policy;
        self.gap = gap;
    }

    /// Whether walks wait for mains power now.
    pub(crate) fn holds_bulk(&self) -> bool {
        self.on_battery && self.policy == OnBattery::Pause
    }

    fn throttled(&self) -> bool {
        self.on_battery && self.policy == OnBattery::Throttle
    }

    fn throttle_due(&self, now: Instant) -> bool {
        self.last_walk.is_none_or(|last| now >= last + self.gap)
    }

    /// What of `work` may run now: on battery, walks are held back (all of them with `pause`; beyond
    /// one per throttle gap with `throttle`).
    pub(crate) fn filter_bulk(&mut self, work: Vec<Work>, now: Instant) -> Vec<Work> {
        if !self.holds_bulk() && !self.throttled() {
            return work;
        }
        let mut out = Vec::with_capacity(work.len());
        for item in work {
            if !is_bulk(&item) {
                out.push(item);
                continue;
            }
            if self.throttled() && self.throttle_due(now) {
                self.last_walk = Some(now);
                out.push(item);
                continue;
            }
            if let Work::Rescan { scope, reason } = item {
                self.hold(scope, reason);
            }
        }
        out
    }

    /// Holds back a walk of `scope` until walks may run (a walk held by the battery policy, or one
    /// interrupted by a pause, the battery or a stop): [`PauseState::release`] lets it go. A walk
    /// covered by one already held is not held twice.
    pub(crate) fn hold(&mut self, scope: PathBuf, reason: RescanKind) {
        if !self.held.iter().any(|(s, _)| scope.starts_with(s)) {
            self.held.retain(|(s, _)| !s.starts_with(&scope));
            self.held.push((scope, reason));
        }
    }

    /// Held walks that may run now: all of them once on mains power (or with `ignore`), one per
    /// throttle gap with `throttle`.
    pub(crate) fn release(&mut self, now: Instant) -> Vec<Work> {
        if self.held.is_empty() || self.holds_bulk() {
            return Vec::new();
        }
        let count = if self.throttled() {
            if !self.throttle_due(now) {
                return Vec::new();
            }
            self.last_walk = Some(now);
            1
        } else {
            self.held.len()
        };
        self.held
            .drain(..count)
            .map(|(scope, reason)| Work::Rescan { scope, reason })
            .collect()
    }

    /// When the next throttled walk may run, if one waits for that.
    pub(crate) fn next_release(&self) -> Option<Instant> {
        if self.held.is_empty() || !self.throttled() {
            return None;
        }
        Some(self.last_walk.map_or(Instant::now(), |l| l + self.gap))
    }

    /// The scopes of the held walks (a sync cookie in one of their roots cannot be settled yet).
    pub(crate) fn held_scopes(&self) -> Vec<PathBuf> {
        self.held.iter().map(|(s, _)| s.clone()).collect()
    }

    /// The pause in force, with `waiting` changes recorded and not yet applied.
    pub(crate) fn report(&self, waiting: usize) -> Option<PauseReport> {
        let (reason, until_unix) = match (&self.user, self.holds_bulk() || !self.held.is_empty()) {
            (Some(user), _) => (
                PauseReason::User,
                user.until.map(|(_, wall)| {
                    wall.duration_since(UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs() + u64::from(d.subsec_nanos() > 0))
                }),
            ),
            (None, true) if self.on_battery => (PauseReason::Battery, None),
            _ => return None,
        };
        Some(PauseReport {
            reason,
            until_unix,
            waiting,
            held_walks: self.held.len(),
        })
    }
}

/// Whether a held walk blocks the sync cookie at `cookie` (one in the cookie's root).
pub(crate) fn blocks(held: &[PathBuf], cookie: &Path) -> bool {
    let root = cookie.parent().unwrap_or(cookie);
    held.iter()
        .any(|s| s.starts_with(root) || root.starts_with(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GAP: Duration = Duration::from_secs(fandex_indexer::config::THROTTLE_GAP_SECS);

    fn rescan(p: &str, reason: RescanKind) -> Work {
        Work::Rescan {
            scope: p.into(),
            reason,
        }
    }

    fn refresh(p: &str) -> Work {
        Work::Refresh {
            path: p.into(),
            content: None,
            metadata_only: false,
        }
    }

    #[test]
    fn on_battery_walks_wait_and_live_changes_go_on() {
        let mut state = PauseState::new(OnBattery::Pause, GAP);
        let now = Instant::now();
        let work = vec![
            rescan("/r", RescanKind::Startup),
            refresh("/r/a"),
            rescan("/r/new", RescanKind::NewDirectory),
        ];
        // On mains: everything runs.
        assert_eq!(state.filter_bulk(work, now).len(), 3);
        assert!(state.set_on_battery(true));
        let work = vec![
            rescan("/r", RescanKind::Startup),
            refresh("/r/a"),
            rescan("/r/sub", RescanKind::QueueOverflow),
            rescan("/r/new", RescanKind::NewDirectory),
        ];
        let out = state.filter_bulk(work, now);
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(out.iter().all(|w| !is_bulk(w)));
        // The walk of /r/sub is covered by the held walk of /r.
        assert_eq!(state.held_scopes(), [PathBuf::from("/r")]);
        let report = state.report(5).unwrap();
        assert_eq!(report.reason, PauseReason::Battery);
        assert_eq!((report.waiting, report.held_walks), (5, 1));
        assert!(blocks(&state.held_scopes(), Path::new("/r/.fandex-sync-x")));
        assert!(state.release(now).is_empty());
        // Mains power: the held walk runs.
        state.set_on_battery(false);
        assert_eq!(state.release(now).len(), 1);
        assert!(state.report(0).is_none());
    }

    #[test]
    fn throttling_lets_one_walk_through_per_gap() {
        let mut state = PauseState::new(OnBattery::Throttle, GAP);
        state.set_on_battery(true);
        let now = Instant::now();
        let work = vec![
            rescan("/a", RescanKind::QueueOverflow),
            rescan("/b", RescanKind::QueueOverflow),
        ];
        assert_eq!(state.filter_bulk(work, now).len(), 1);
        assert!(state.release(now).is_empty());
        let gap = GAP;
        assert_eq!(state.next_release(), Some(now + gap));
        assert_eq!(state.release(now + gap).len(), 1);
        assert!(state.held_scopes().is_empty());
    }

    #[test]
    fn a_timed_pause_ends_by_itself() {
        let mut state = PauseState::new(OnBattery::Ignore, GAP);
        let now = Instant::now();
        state.pause(Some(Duration::from_secs(60)), now);
        assert_eq!(state.user_hold(), Some(Some(now + Duration::from_secs(60))));
        let report = state.report(3).unwrap();
        assert_eq!(report.reason, PauseReason::User);
        assert!(report.until_unix.is_some());
        assert!(!state.expire(now + Duration::from_secs(59)));
        assert!(state.expire(now + Duration::from_secs(60)));
        assert_eq!(state.user_hold(), None);
        state.pause(None, now);
        assert_eq!(state.user_hold(), Some(None));
        assert!(!state.expire(now + MAX_PAUSE * 2));
        assert!(state.resume());
        assert!(!state.resume());
    }
}
