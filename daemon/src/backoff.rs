//! Rescan backoff: rescans are rate-limited per scope (1 s doubling to 60 s), so lost events never turn
//! into a recrawl storm.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fandex_indexer::coalesce::{RescanKind, Work};

use crate::activity::Totals;

/// Shortest wait before the same scope is rescanned again.
const MIN_BACKOFF: Duration = Duration::from_secs(1);
/// Longest wait between rescans of one scope during a storm.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Rate limits rescans per scope with exponential backoff.
#[derive(Default)]
pub(crate) struct RescanLimiter {
    /// Last rescan of each scope and the backoff in force for it.
    recent: HashMap<PathBuf, (Instant, Duration)>,
    /// Postponed rescans and when they are due.
    deferred: Vec<(PathBuf, RescanKind, Instant)>,
}

impl RescanLimiter {
    /// Lets through rescans whose scope is not cooling down; postpones the others.
    pub(crate) fn filter(
        &mut self,
        work: Vec<Work>,
        now: Instant,
        totals: &mut Totals,
    ) -> Vec<Work> {
        let mut out = Vec::with_capacity(work.len());
        for item in work {
            if let Work::Rescan { scope, reason } = &item {
                if let Some(&(last, backoff)) = self.recent.get(scope)
                    && now < last + backoff
                {
                    if !self.deferred.iter().any(|(s, _, _)| scope.starts_with(s)) {
                        self.deferred.push((scope.clone(), *reason, last + backoff));
                    }
                    totals.rescans_deferred += 1;
                    continue;
                }
                let backoff = match self.recent.get(scope) {
                    Some(&(last, b)) if now < last + b * 4 => (b * 2).min(MAX_BACKOFF),
                    _ => MIN_BACKOFF,
                };
                self.recent.insert(scope.clone(), (now, backoff));
                *totals
                    .rescans
                    .entry(reason.as_str().to_owned())
                    .or_default() += 1;
            }
            out.push(item);
        }
        if self.recent.len() > 10_000 {
            self.recent
                .retain(|_, (last, _)| now.duration_since(*last) < Duration::from_secs(600));
        }
        out
    }

    /// Postponed rescans that are due now.
    pub(crate) fn take_due(&mut self, now: Instant) -> Vec<Work> {
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.deferred)
            .into_iter()
            .partition(|(_, _, at)| *at <= now);
        self.deferred = later;
        due.into_iter()
            .map(|(scope, reason, _)| Work::Rescan { scope, reason })
            .collect()
    }

    /// Whether a postponed rescan blocks the sync cookie at `cookie`: any postponed rescan in the cookie's
    /// root (its parent directory) means events from before the cookie may still be missing there, so the
    /// cookie is settled only once that rescan has run.
    pub(crate) fn blocks(&self, cookie: &Path) -> bool {
        let root = cookie.parent().unwrap_or(cookie);
        self.deferred
            .iter()
            .any(|(s, _, _)| s.starts_with(root) || root.starts_with(s))
    }

    /// When the next postponed rescan is due.
    pub(crate) fn next_due(&self) -> Option<Instant> {
        self.deferred.iter().map(|(_, _, at)| *at).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rescan(p: &str) -> Work {
        Work::Rescan {
            scope: p.into(),
            reason: RescanKind::QueueOverflow,
        }
    }

    #[test]
    fn storms_back_off_exponentially() {
        let mut limiter = RescanLimiter::default();
        let mut totals = Totals::default();
        let t0 = Instant::now();
        assert_eq!(limiter.filter(vec![rescan("/r")], t0, &mut totals).len(), 1);
        // Again within the backoff: postponed, once.
        for i in 1..10 {
            let kept = limiter.filter(
                vec![rescan("/r")],
                t0 + Duration::from_millis(i * 10),
                &mut totals,
            );
            assert!(kept.is_empty());
        }
        assert_eq!(totals.rescans_deferred, 9);
        assert_eq!(limiter.deferred.len(), 1);
        assert!(limiter.take_due(t0 + Duration::from_millis(500)).is_empty());
        let due = limiter.take_due(t0 + MIN_BACKOFF);
        assert_eq!(due.len(), 1);
        // It runs, and the next backoff is longer.
        let t1 = t0 + MIN_BACKOFF;
        assert_eq!(limiter.filter(due, t1, &mut totals).len(), 1);
        assert_eq!(limiter.recent[&PathBuf::from("/r")].1, MIN_BACKOFF * 2);
        // Other scopes are independent.
        assert_eq!(limiter.filter(vec![rescan("/s")], t1, &mut totals).len(), 1);
        assert_eq!(totals.rescans["queue overflow"], 3);
    }
}
