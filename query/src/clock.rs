//! Turns the calendar points of a `modified:` filter into instants: the caller's clock and time zone.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::parse::TimePoint;

const NS_PER_SECOND: i64 = 1_000_000_000;
const SECONDS_PER_DAY: i64 = 86_400;

/// When a search runs and in which time zone its caller's calendar is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Clock {
    /// Now, in nanoseconds since the epoch.
    pub(crate) now_ns: i64,
    /// The caller's offset from UTC, in seconds east (UTC+1 is 3600).
    pub(crate) utc_offset_s: i32,
}

impl Clock {
    /// This process's clock with the given offset from UTC.
    pub(crate) fn now(utc_offset_s: i32) -> Self {
        let now_ns = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
        Self {
            now_ns,
            utc_offset_s,
        }
    }

    /// The instant `point` names, in nanoseconds since the epoch (saturating far outside of any mtime).
    pub(crate) fn resolve(&self, point: TimePoint) -> i64 {
        let offset = i64::from(self.utc_offset_s);
        let local_midnight = |day: i64| {
            day.saturating_mul(SECONDS_PER_DAY)
                .saturating_sub(offset)
                .saturating_mul(NS_PER_SECOND)
        };
        let today = (self.now_ns.div_euclid(NS_PER_SECOND) + offset).div_euclid(SECONDS_PER_DAY);
        match point {
            TimePoint::Day(day) => local_midnight(day),
            TimePoint::Today(days) => local_midnight(today + days),
            TimePoint::Week(weeks) => {
                // 1970-01-01 was a Thursday: day 0 is weekday 3 counted from Monday.
                let monday = today - (today + 3).rem_euclid(7);
                local_midnight(monday + 7 * weeks)
            }
            TimePoint::Ago(seconds) => self
                .now_ns
                .saturating_sub(seconds.saturating_mul(NS_PER_SECOND)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::days_from_civil;

    #[test]
    fn points_in_the_callers_zone() {
        // Wednesday 2026-12-02 01:30 UTC, which is Tuesday 2026-12-01 20:30 in UTC-5.
        let day = days_from_civil(2026, 12, 2);
        let now_ns = (day * SECONDS_PER_DAY + 5400) * NS_PER_SECOND;
        let utc = Clock {
            now_ns,
            utc_offset_s: 0,
        };
        assert_eq!(
            utc.resolve(TimePoint::Today(0)),
            day * SECONDS_PER_DAY * NS_PER_SECOND
        );
        // Monday 2026-11-30.
        assert_eq!(
            utc.resolve(TimePoint::Week(0)),
            (day - 2) * SECONDS_PER_DAY * NS_PER_SECOND
        );
        let west = Clock {
            now_ns,
            utc_offset_s: -5 * 3600,
        };
        let local_midnight = ((day - 1) * SECONDS_PER_DAY + 5 * 3600) * NS_PER_SECOND;
        assert_eq!(west.resolve(TimePoint::Today(0)), local_midnight);
        assert_eq!(
            west.resolve(TimePoint::Ago(60)),
            now_ns - 60 * NS_PER_SECOND
        );
    }
}
