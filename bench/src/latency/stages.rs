//! The daemon's own account of where the time went (`status --json`, field `latency`, issue 16): read
//! before and after a latency run, the difference is that run's changes alone, stage by stage.

use std::path::Path;

use fandex::query::client::Client;
use fandex::query::protocol::latency::{LatencyReport, STAGES};
use fandex::query::protocol::status::CallerStatus;

use crate::error::{BenchError, Result};

/// The daemon's per-stage histograms now (its owner's view: the harness runs as root).
pub fn daemon_stages(socket: &Path) -> Result<LatencyReport> {
    let invalid =
        |e: String| BenchError::Invalid(format!("status through {}: {e}", socket.display()));
    let mut client = Client::connect(socket)
        .map_err(|e| invalid(e.to_string()))?
        .ok_or_else(|| invalid("no daemon listens there".into()))?;
    match client.status().map_err(|e| invalid(e.to_string()))? {
        CallerStatus::Owner(report) => report
            .latency
            .ok_or_else(|| invalid("the daemon reports no latency stages".into())),
        CallerStatus::Public(_) => Err(invalid(
            "only the index's owner sees the latency stages (run as root)".into(),
        )),
    }
}

/// Samples of one run's stages (`after` minus `before`): `stage_NAME_p50_ms`, `stage_NAME_p99_ms` and
/// `stage_NAME_count` for each stage that counted something.
pub fn stage_metrics(before: &LatencyReport, after: &LatencyReport) -> Vec<(String, f64)> {
    let period = after.since(before);
    let mut out = Vec::new();
    for stage in STAGES {
        let Some(h) = period.stage(stage).filter(|h| h.count > 0) else {
            continue;
        };
        for (name, p) in [("p50", 50.0), ("p99", 99.0)] {
            if let Some(v) = h.percentile_ms(p) {
                out.push((format!("stage_{stage}_{name}_ms"), v));
            }
        }
        out.push((format!("stage_{stage}_count"), h.count as f64));
    }
    out
}
