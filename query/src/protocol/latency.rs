//! Where a change's time goes between its event and the moment it is searchable, as the daemon measures
//! it (`fandex status --json`, field `latency`; owner only: it measures work done on files).
//!
//! Each change is timed through the stages of the live path: `queued` (event received by the daemon ->
//! its batch closed), `read` (batch closed -> its files read, extracted and written to the index),
//! `commit` (the full-text commit and the catalog's), `reload` (the searchers' reader reloaded), and
//! `total` (event received -> searchable). Every stage is a [`Histogram`] over the same fixed, roughly
//! logarithmic buckets ([`BUCKET_BOUNDS_US`]), counted since the daemon started, so two reports can be
//! subtracted ([`LatencyReport::since`]) to see one period alone.

use serde::{Deserialize, Serialize};

/// The stages, in the order a change goes through them (`total` last).
pub const STAGES: [&str; 5] = ["queued", "read", "commit", "reload", "total"];

/// Upper bounds of the buckets, in microseconds (a last, open bucket holds anything slower). Each bound
/// is about 1.2 times the one before, from 50 µs to about 2 minutes: a percentile read from them is within
/// 20% of the true value.
pub const BUCKET_BOUNDS_US: [u64; 81] = bucket_bounds();

const fn bucket_bounds() -> [u64; 81] {
    let mut out = [0u64; 81];
    let mut bound = 50u64;
    let mut i = 0;
    while i < out.len() {
        out[i] = bound;
        bound = bound * 6 / 5 + 1;
        i += 1;
    }
    out
}

/// Counts of durations per bucket (one more count than bounds: the open last bucket).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Histogram {
    /// The stage (one of [`STAGES`]).
    pub stage: String,
    /// Durations counted.
    pub count: u64,
    /// The slowest, microseconds.
    pub max_us: u64,
    /// Counts per bucket of [`BUCKET_BOUNDS_US`]; trailing empty buckets are left out.
    pub buckets: Vec<u64>,
}

impl Histogram {
    /// An empty histogram of `stage`.
    pub fn new(stage: &str) -> Self {
        Self {
            stage: stage.to_owned(),
            ..Self::default()
        }
    }

    /// Counts `weight` changes that spent `micros` in this stage.
    pub fn record(&mut self, micros: u64, weight: u64) {
        if weight == 0 {
            return;
        }
        let bucket = BUCKET_BOUNDS_US.partition_point(|&bound| bound < micros);
        if self.buckets.len() <= bucket {
            self.buckets.resize(bucket + 1, 0);
        }
        self.buckets[bucket] += weight;
        self.count += weight;
        self.max_us = self.max_us.max(micros);
    }

    /// The `p`-th percentile (0-100) in milliseconds, interpolated within its bucket; `None` when empty.
    pub fn percentile_ms(&self, p: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let rank = (p / 100.0 * self.count as f64).clamp(1.0, self.count as f64);
        let mut below = 0u64;
        for (i, &n) in self.buckets.iter().enumerate() {
            if n == 0 || ((below + n) as f64) < rank {
                below += n;
                continue;
            }
            let low = if i == 0 { 0 } else { BUCKET_BOUNDS_US[i - 1] };
            let high = BUCKET_BOUNDS_US
                .get(i)
                .copied()
                .unwrap_or(self.max_us)
                .min(self.max_us.max(low));
            let within = (rank - below as f64) / n as f64;
            return Some((low as f64 + within * (high - low) as f64) / 1e3);
        }
        Some(self.max_us as f64 / 1e3)
    }

    /// What was counted after `earlier` (a report of the same stage taken before this one). The maximum
    /// is this one's (it cannot be told apart).
    pub fn since(&self, earlier: &Histogram) -> Histogram {
        let buckets = self
            .buckets
            .iter()
            .enumerate()
            .map(|(i, &n)| n.saturating_sub(earlier.buckets.get(i).copied().unwrap_or(0)))
            .collect();
        Histogram {
            stage: self.stage.clone(),
            count: self.count.saturating_sub(earlier.count),
            max_us: self.max_us,
            buckets,
        }
    }
}

/// Every stage's histogram, in the order of [`STAGES`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatencyReport {
    /// The buckets' upper bounds, microseconds ([`BUCKET_BOUNDS_US`], repeated so a reader needs no
    /// copy of this crate).
    pub bucket_bounds_us: Vec<u64>,
    /// One histogram per stage.
    pub stages: Vec<Histogram>,
}

impl Default for LatencyReport {
    fn default() -> Self {
        Self {
            bucket_bounds_us: BUCKET_BOUNDS_US.to_vec(),
            stages: STAGES.iter().map(|s| Histogram::new(s)).collect(),
        }
    }
}

impl LatencyReport {
    /// The histogram of `stage`.
    pub fn stage(&self, stage: &str) -> Option<&Histogram> {
        self.stages.iter().find(|h| h.stage == stage)
    }

    /// The histogram of `stage`, to count into (added when missing).
    pub fn stage_mut(&mut self, stage: &str) -> &mut Histogram {
        match self.stages.iter().position(|h| h.stage == stage) {
            Some(i) => &mut self.stages[i],
            None => {
                self.stages.push(Histogram::new(stage));
                self.stages.last_mut().expect("just pushed")
            }
        }
    }

    /// What was counted after `earlier`, stage by stage.
    pub fn since(&self, earlier: &LatencyReport) -> LatencyReport {
        let stages = self
            .stages
            .iter()
            .map(|h| match earlier.stage(&h.stage) {
                Some(before) => h.since(before),
                None => h.clone(),
            })
            .collect();
        LatencyReport {
            bucket_bounds_us: self.bucket_bounds_us.clone(),
            stages,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_grow_by_a_fifth_and_reach_minutes() {
        for pair in BUCKET_BOUNDS_US.windows(2) {
            assert!(pair[1] > pair[0] && pair[1] <= pair[0] * 6 / 5 + 1);
        }
        assert!(
            BUCKET_BOUNDS_US[80] >= 100_000_000,
            "{}",
            BUCKET_BOUNDS_US[80]
        );
    }

    #[test]
    fn percentiles_fall_within_a_fifth_of_the_durations() {
        let mut h = Histogram::new("total");
        // 98 changes at 10 ms, 2 at 200 ms (a batch of two).
        for _ in 0..98 {
            h.record(10_000, 1);
        }
        h.record(200_000, 2);
        let p50 = h.percentile_ms(50.0).unwrap();
        assert!((8.3..=10.0).contains(&p50), "{p50}");
        let p99 = h.percentile_ms(99.0).unwrap();
        assert!((166.0..=200.0).contains(&p99), "{p99}");
        assert_eq!(h.max_us, 200_000);
        assert_eq!(Histogram::new("x").percentile_ms(50.0), None);
    }

    #[test]
    fn a_later_report_minus_an_earlier_one_is_the_period_between() {
        let mut before = LatencyReport::default();
        before.stage_mut("commit").record(100_000, 10);
        let mut after = before.clone();
        after.stage_mut("commit").record(2_000, 5);
        let period = after.since(&before);
        let commit = period.stage("commit").unwrap();
        assert_eq!(commit.count, 5);
        assert!(
            commit.percentile_ms(99.0).unwrap() <= 2.4,
            "within a bucket of 2 ms"
        );
        assert_eq!(period.stage("queued").unwrap().count, 0);
    }

    #[test]
    fn durations_beyond_the_last_bound_land_in_the_open_bucket() {
        let mut h = Histogram::new("total");
        h.record(u64::MAX / 2, 1);
        assert_eq!(h.buckets.len(), BUCKET_BOUNDS_US.len() + 1);
        assert_eq!(h.percentile_ms(50.0), Some((u64::MAX / 2) as f64 / 1e3));
    }
}
