//! Mains or battery: UPower's `OnBattery` on the system bus, followed through its `PropertiesChanged`
//! signals, or, when UPower is not there, the kernel's power-supply descriptions
//! (`/sys/class/power_supply/*/`). A directory named by `daemon.power_supply_dir` or
//! `FANDEX_POWER_SUPPLY_DIR` (which tests fake) is read instead of asking UPower. A thread of its own
//! reads the state every [`Source::poll_every`] and tells the queue's pause state.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossbeam_channel::Receiver;
use fandex_indexer::config::{DEFAULT_POWER_SUPPLY_DIR, DaemonConfig, POWER_SUPPLY_DIR_ENV};
use tracing::info;

use crate::events::Events;
use crate::queue::WorkQueue;

/// How often the power supplies are read.
pub(crate) const POLL: Duration = Duration::from_secs(2);

/// How often UPower's value is looked at: a read of what its signals last said, not a call.
pub(crate) const UPOWER_POLL: Duration = Duration::from_millis(250);

/// The longest UPower may take to answer a call.
const UPOWER_TIMEOUT: Duration = Duration::from_secs(2);

const UPOWER_NAME: &str = "org.freedesktop.UPower";
const UPOWER_PATH: &str = "/org/freedesktop/UPower";
const PROPERTIES: &str = "org.freedesktop.DBus.Properties";
const ON_BATTERY: &str = "OnBattery";

/// Where the power state comes from.
#[derive(Debug)]
pub(crate) enum Source {
    /// UPower's `OnBattery`, as its `PropertiesChanged` signals last said.
    UPower(UPower),
    /// The kernel's power-supply descriptions in this directory.
    Supplies(PathBuf),
}

impl Source {
    /// The directory the environment (unless empty) or the configuration names; else UPower if it
    /// answers on the system bus (`DBUS_SYSTEM_BUS_ADDRESS`, else the standard socket); else
    /// `/sys/class/power_supply`.
    pub(crate) fn choose(config: &DaemonConfig) -> Self {
        if let Some(dir) = std::env::var_os(POWER_SUPPLY_DIR_ENV)
            .filter(|dir| !dir.is_empty())
            .map(PathBuf::from)
            .or_else(|| config.power_supply_dir.clone())
        {
            info!(
                "power: reading the power supplies described in {}",
                dir.display()
            );
            return Self::Supplies(dir);
        }
        match UPower::follow() {
            Ok(upower) => {
                info!("power: following UPower on the system bus");
                Self::UPower(upower)
            }
            Err(e) => {
                info!(
                    reason = %e,
                    "power: UPower not available, reading {DEFAULT_POWER_SUPPLY_DIR}"
                );
                Self::Supplies(PathBuf::from(DEFAULT_POWER_SUPPLY_DIR))
            }
        }
    }

    /// Whether the machine runs on battery now (for the power supplies see [`on_battery`]).
    pub(crate) fn on_battery(&self) -> bool {
        match self {
            Self::UPower(upower) => upower.on_battery.load(Ordering::Acquire),
            Self::Supplies(dir) => on_battery(dir),
        }
    }

    /// How often [`monitor`] looks at the state.
    pub(crate) fn poll_every(&self) -> Duration {
        match self {
            Self::UPower(_) => UPOWER_POLL,
            Self::Supplies(_) => POLL,
        }
    }
}

/// UPower's `OnBattery`, kept by a task on zbus's runtime that reads its `PropertiesChanged` signals;
/// dropping this ends the task and leaves the bus.
#[derive(Debug)]
pub(crate) struct UPower {
    on_battery: Arc<AtomicBool>,
    _task: zruntime::Task<(), zruntime::Shared>,
    _connection: zbus::Connection,
}

impl UPower {
    /// Subscribes to UPower's property changes on the system bus, then asks for `OnBattery` (so no
    /// change falls in between); fails when there is no system bus or UPower does not answer.
    fn follow() -> zbus::Result<Self> {
        let (connection, stream, now) = zbus::block_on(async {
            let connection = zbus::connection::Builder::system()
                .method_timeout(UPOWER_TIMEOUT)
                .build()
                .await?;
            let rule = zbus::MatchRule::builder()
                .msg_type(zbus::message::Type::Signal)
                .sender(UPOWER_NAME)
                .path(UPOWER_PATH)
                .interface(PROPERTIES)
                .member("PropertiesChanged")
                .build()?;
            let stream = zbus::MessageStream::for_match_rule(rule, &connection, None).await?;
            let now = read_on_battery(&connection).await?;
            Ok::<_, zbus::Error>((connection, stream, now))
        })?;
        let on_battery = Arc::new(AtomicBool::new(now));
        let task = zruntime::spawn(follow_changes(
            connection.clone(),
            stream,
            on_battery.clone(),
        ));
        Ok(Self {
            on_battery,
            _task: task,
            _connection: connection,
        })
    }
}

/// UPower's `OnBattery`, asked.
async fn read_on_battery(connection: &zbus::Connection) -> zbus::Result<bool> {
    let reply = connection
        .call_method(
            Some(UPOWER_NAME),
            UPOWER_PATH,
            Some(PROPERTIES),
            "Get",
            &(UPOWER_NAME, ON_BATTERY),
        )
        .await?;
    let value: zbus::OwnedVariant = reply.body().deserialize()?;
    bool::try_from(value)
}

/// Keeps `on_battery` as UPower's signals say, until the stream ends (the connection closed).
async fn follow_changes(
    connection: zbus::Connection,
    stream: zbus::MessageStream,
    on_battery: Arc<AtomicBool>,
) {
    let mut stream = std::pin::pin!(stream);
    while let Some(message) =
        std::future::poll_fn(|cx| futures_core::Stream::poll_next(stream.as_mut(), cx)).await
    {
        let Ok(message) = message else { continue };
        type Changed = (String, HashMap<String, zbus::OwnedVariant>, Vec<String>);
        let Ok((interface, changed, invalidated)) = message.body().deserialize::<Changed>() else {
            continue;
        };
        if interface != UPOWER_NAME {
            continue;
        }
        let value = match changed.get(ON_BATTERY).map(|v| v.try_clone()) {
            Some(Ok(value)) => bool::try_from(value).ok(),
            _ if invalidated.iter().any(|name| name == ON_BATTERY) => {
                read_on_battery(&connection).await.ok()
            }
            _ => None,
        };
        if let Some(value) = value {
            on_battery.store(value, Ordering::Release);
        }
    }
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

/// Reads the power state from `source` every [`Source::poll_every`] until `stop` closes, telling the
/// queue (and the listeners) when it changes.
pub(crate) fn monitor(
    source: &Source,
    queue: &Arc<WorkQueue>,
    events: &Events,
    stop: &Receiver<()>,
) {
    loop {
        let battery = source.on_battery();
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
            stop.recv_timeout(source.poll_every()),
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
