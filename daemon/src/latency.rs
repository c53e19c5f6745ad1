//! The per-stage latency of live changes (issue 16): what `status --json` reports as `latency`.
//!
//! The queue remembers when each change was received (a bounded sample: at most [`MAX_TIMED`] pending at
//! once); when its batch is committed and the reader reloaded, the change's time in each stage is counted
//! into the board's [`LatencyReport`]: `queued` (received -> batch closed), `read` (batch closed -> read,
//! extracted and written), `commit`, `reload`, and `total` (received -> searchable).

use std::time::{Duration, Instant};

use fandex_indexer::engine::BatchStages;
use fandex_query::protocol::latency::LatencyReport;

/// Most receipt times the queue holds at once; changes beyond it are not timed (memory stays bounded
/// under a flood; the counts stay a fair sample).
pub(crate) const MAX_TIMED: usize = 65_536;

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Counts one committed batch: `arrivals` are its changes' receipt times, `taken` when the batch was
/// closed, `started` when the pipeline began applying it, `stages` what the engine measured after that.
pub(crate) fn record(
    report: &mut LatencyReport,
    arrivals: &[Instant],
    taken: Instant,
    started: Instant,
    stages: &BatchStages,
) {
    let weight = arrivals.len() as u64;
    if weight == 0 {
        return;
    }
    let read = started.saturating_duration_since(taken) + stages.read;
    let after_taken = read + stages.commit + stages.reload;
    report.stage_mut("read").record(micros(read), weight);
    report
        .stage_mut("commit")
        .record(micros(stages.commit), weight);
    report
        .stage_mut("reload")
        .record(micros(stages.reload), weight);
    for &arrived in arrivals {
        let queued = taken.saturating_duration_since(arrived);
        report.stage_mut("queued").record(micros(queued), 1);
        report
            .stage_mut("total")
            .record(micros(queued + after_taken), 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_change_counts_its_own_wait_and_its_batch_s_stages() {
        let ms = Duration::from_millis;
        let t0 = Instant::now();
        let mut report = LatencyReport::default();
        let stages = BatchStages {
            read: ms(5),
            commit: ms(8),
            reload: ms(1),
        };
        // Received at t0 and t0 + 10 ms, batch closed at t0 + 20 ms, applied from t0 + 21 ms.
        record(
            &mut report,
            &[t0, t0 + ms(10)],
            t0 + ms(20),
            t0 + ms(21),
            &stages,
        );
        let stage = |s: &str| report.stage(s).unwrap().clone();
        assert_eq!(stage("queued").count, 2);
        assert_eq!(stage("commit").count, 2);
        assert_eq!(stage("read").max_us, 6_000);
        assert_eq!(stage("queued").max_us, 20_000);
        // The slowest: 20 ms queued + 6 read + 8 commit + 1 reload.
        assert_eq!(stage("total").max_us, 35_000);
        record(&mut report, &[], t0, t0, &stages);
        assert_eq!(
            report.stage("total").unwrap().count,
            2,
            "no change, nothing counted"
        );
    }
}
