//! Mains or battery: read from the kernel's power-supply descriptions (`/sys/class/power_supply/*/`,
//! or the directory `daemon.power_supply_dir` or `FANDEX_POWER_SUPPLY_DIR` names, which tests fake),
//! polled every [`POLL`] by a thread of its own that tells the queue's pause state.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::Receiver;
use fandex_indexer::config::{DEFAULT_POWER_SUPPLY_DIR, DaemonConfig, POWER_SUPPLY_DIR_ENV};
use tracing::info;

use crate::events::Events;
use crate::queue::WorkQueue;

/// How often the power supplies are read.
pub(crate) const POLL: Duration = Duration::from_secs(2);

/// The directory describing the power supplies: the environment, then the configuration, then sysfs.
pub(crate) fn supply_dir(config: &DaemonConfig) -> PathBuf {
    std::env::var_os(POWER_SUPPLY_DIR_ENV)
        .map(PathBuf::from)
        .or_else(|| config.power_supply_dir.clone())
        .unwrap_or_else(|| PathBuf::from(DEFAULT_POWER_SUPPLY_DIR))
}

fn attribute(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name))
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

/// Whether the machine runs on battery: a battery discharging and no mains supply online. A machine
/// without supplies described (a desktop, a container) runs on mains.
pub(crate) fn on_battery(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    let (mut mains, mut discharging) = (false, false);
    for entry in entries.flatten() {
        let supply = entry.path();
        match attribute(&supply, "type").as_str() {
            "Mains" => mains |= attribute(&supply, "online") == "1",
            "Battery" => discharging |= attribute(&supply, "status") == "Discharging",
            _ => {}
        }
    }
    discharging && !mains
}

/// Reads the power state every [`POLL`] until `stop` closes, telling the queue (and the listeners)
/// when it changes.
pub(crate) fn monitor(dir: &Path, queue: &Arc<WorkQueue>, events: &Events, stop: &Receiver<()>) {
    loop {
        let battery = on_battery(dir);
        let changed = queue.lock().pause.set_on_battery(battery);
        if changed {
            info!(
                on_battery = battery,
                "power: {}",
                if battery {
                    "on battery"
                } else {
                    "on mains power"
                }
            );
            queue.notify();
            events.status_changed();
        }
        if !matches!(
            stop.recv_timeout(POLL),
            Err(crossbeam_channel::RecvTimeoutError::Timeout)
        ) {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn supply(dir: &Path, name: &str, attrs: &[(&str, &str)]) {
        let d = dir.join(name);
        std::fs::create_dir_all(&d).unwrap();
        for (k, v) in attrs {
            std::fs::write(d.join(k), format!("{v}\n")).unwrap();
        }
    }

    #[test]
    fn battery_means_discharging_without_mains() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        assert!(!on_battery(&dir.join("missing")));
        assert!(!on_battery(dir));
        supply(
            dir,
            "BAT0",
            &[("type", "Battery"), ("status", "Discharging")],
        );
        assert!(on_battery(dir));
        supply(dir, "AC", &[("type", "Mains"), ("online", "0")]);
        assert!(on_battery(dir));
        supply(dir, "AC", &[("type", "Mains"), ("online", "1")]);
        assert!(!on_battery(dir));
        supply(dir, "AC", &[("type", "Mains"), ("online", "0")]);
        supply(dir, "BAT0", &[("type", "Battery"), ("status", "Charging")]);
        assert!(!on_battery(dir));
    }
}
