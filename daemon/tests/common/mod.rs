//! Helpers shared by the daemon's integration tests.

use std::path::Path;

/// A fake `/sys/class/power_supply` in `dir`: a battery, discharging or not, and mains power, online
/// or not.
pub fn power(dir: &Path, on_battery: bool) {
    let status = if on_battery {
        "Discharging"
    } else {
        "Charging"
    };
    let online = if on_battery { "0" } else { "1" };
    for (name, attrs) in [
        ("BAT0", [("type", "Battery"), ("status", status)]),
        ("AC", [("type", "Mains"), ("online", online)]),
    ] {
        let d = dir.join(name);
        std::fs::create_dir_all(&d).unwrap();
        for (k, v) in attrs {
            std::fs::write(d.join(k), format!("{v}\n")).unwrap();
        }
    }
}
