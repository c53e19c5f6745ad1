//! A pause of the daemon's work as the status report and the `pause`/`resume` answers carry it.

use serde::{Deserialize, Serialize};

/// Why work is paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PauseReason {
    /// `fandex pause` (or the D-Bus `Pause`): no change is applied; all are recorded and wait.
    User,
    /// The machine runs on battery (`daemon.on_battery = "pause"`): walks (the start-up walk, rescans,
    /// a rebuild) wait for mains power; single live changes are still indexed.
    Battery,
}

/// Paused work: why, until when, and what waits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PauseReport {
    /// Why.
    pub reason: PauseReason,
    /// When the pause ends by itself, in seconds since the epoch; absent: at `resume` (or when mains
    /// power returns).
    pub until_unix: Option<u64>,
    /// Changes recorded and waiting to be applied.
    pub waiting: usize,
    /// Walks (rescans of directories or roots) waiting.
    pub held_walks: usize,
}

/// What a caller who does not own the index learns of a pause: why and until when, not what waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicPause {
    /// Why.
    pub reason: PauseReason,
    /// When it ends by itself (seconds since the epoch).
    pub until_unix: Option<u64>,
}
