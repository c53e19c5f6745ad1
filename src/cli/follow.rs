//! `fandex status --follow`: the daemon's state, the progress of its walks and rebuilds (rate, time
//! left), queue depths and the last changes, refreshed until Ctrl-C or until the daemon stops. On a
//! terminal the report is redrawn in place (one write per frame, each line cleared to its end, so it does
//! not flicker); elsewhere each change of the report is one line (`--json`: one JSON object per line).

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use fandex::query::client::Client;
use fandex::query::protocol::status::{
    CallerStatus, ChangeKind, RecentChange, WorkKind, WorkProgress,
};
use fandex::query::protocol::{Request, Response};
use fandex::watcher::escape_path;
use signal_hook::consts::{SIGINT, SIGTERM};

use super::common::Common;
use super::output::{human_bytes, state_name};

/// How long one status request may take before the daemon counts as not answering.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the wait between reports looks for Ctrl-C.
const TICK: Duration = Duration::from_millis(50);

/// How reports are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Redrawn in place on a terminal.
    Terminal,
    /// One line per change of the report.
    Lines,
    /// One JSON object per line, per change of the report.
    Json,
}

/// Follows the daemon `client` talks to, every `interval`, until Ctrl-C (SIGINT, SIGTERM) or until the
/// daemon stops; both end with exit code 0. A second Ctrl-C ends at once.
pub fn run(
    common: &Common,
    mut client: Client,
    interval: Duration,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [SIGINT, SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(signal, 130, stop.clone())?;
        signal_hook::flag::register(signal, stop.clone())?;
    }
    let mode = match (json, std::io::stdout().is_terminal()) {
        (true, _) => Mode::Json,
        (false, true) => Mode::Terminal,
        (false, false) => Mode::Lines,
    };
    let mut screen = Screen::new(mode);
    let result = loop {
        let status = match client.call(&Request::Status {}, Some(REQUEST_TIMEOUT)) {
            Ok(Response::Status { status }) => Some(status),
            Ok(other) => {
                break Err(anyhow::anyhow!(
                    "unexpected answer from the daemon: {other:?}"
                ));
            }
            Err(_) => None,
        };
        let Some(status) = status else {
            // The connection broke: the daemon stopped, unless a new one already listens.
            match common.connect_daemon() {
                Ok(Some(again)) => {
                    client = again;
                    continue;
                }
                _ => {
                    break screen.last_words("the daemon stopped");
                }
            }
        };
        if let Err(err) = screen.show(&status) {
            break Err(err);
        }
        if wait(interval, &stop) {
            break screen.last_words("");
        }
    };
    screen.restore();
    match result {
        Err(err) if is_broken_pipe(&err) => Ok(ExitCode::SUCCESS),
        Err(err) => Err(err),
        Ok(()) => Ok(ExitCode::SUCCESS),
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.downcast_ref::<std::io::Error>()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}

/// Sleeps `interval`, waking early on a stop request; returns whether to stop.
fn wait(interval: Duration, stop: &AtomicBool) -> bool {
    let until = Instant::now() + interval;
    while Instant::now() < until {
        if stop.load(Ordering::Relaxed) {
            return true;
        }
        std::thread::sleep(TICK.min(until.saturating_duration_since(Instant::now())));
    }
    stop.load(Ordering::Relaxed)
}

/// Where reports go, and what was shown last.
struct Screen {
    mode: Mode,
    /// Lines of the frame on screen (terminal), to move back over.
    drawn: usize,
    /// The last line or JSON object printed (lines, json), not printed again.
    last: String,
}

impl Screen {
    fn new(mode: Mode) -> Self {
        Self {
            mode,
            drawn: 0,
            last: String::new(),
        }
    }

    fn show(&mut self, status: &CallerStatus) -> anyhow::Result<()> {
        let mut out = std::io::stdout().lock();
        match self.mode {
            Mode::Terminal => {
                let lines = frame(status);
                // Back to the frame's first line, rewrite every line (clearing what is left of the old
                // one), clear below: one write, no blank screen in between.
                let mut text = String::new();
                if self.drawn == 0 {
                    text.push_str("\x1b[?25l"); // hide the cursor while following
                } else {
                    text.push_str(&format!("\r\x1b[{}A", self.drawn));
                }
                for line in &lines {
                    text.push_str(line);
                    text.push_str("\x1b[K\n");
                }
                text.push_str("\x1b[J");
                out.write_all(text.as_bytes())?;
                self.drawn = lines.len();
            }
            Mode::Lines | Mode::Json => {
                let text = if self.mode == Mode::Json {
                    serde_json::to_string(status)?
                } else {
                    line(status)
                };
                if text != self.last {
                    writeln!(out, "{text}")?;
                    self.last = text;
                }
            }
        }
        out.flush()?;
        Ok(())
    }

    /// Says why following ended (when there is something to say).
    fn last_words(&mut self, why: &str) -> anyhow::Result<()> {
        if why.is_empty() {
            return Ok(());
        }
        let mut out = std::io::stdout().lock();
        match self.mode {
            Mode::Json => writeln!(out, "{}", serde_json::json!({ "state": "stopped" }))?,
            Mode::Terminal | Mode::Lines => writeln!(out, "{why}")?,
        }
        out.flush()?;
        Ok(())
    }

    /// Gives the terminal its cursor back.
    fn restore(&mut self) {
        if self.mode == Mode::Terminal {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(b"\x1b[?25h");
            let _ = out.flush();
        }
    }
}

/// A duration for people: `42 s`, `3 min 5 s`, `2 h 10 min`.
fn human_duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

/// The work in hand in one phrase: `rebuilding: 1200 of 3000 files (40%), 310 files/s, 1.2 MB/s read,
/// about 6 s left`.
pub fn progress_phrase(p: &WorkProgress) -> String {
    let what = match p.kind {
        WorkKind::Rebuild => "rebuilding",
        WorkKind::Rescan => "rescanning",
        WorkKind::Changes => "applying changes",
    };
    let count = match p.files_total {
        Some(total) if total > 0 => format!(
            "{} of {total} files ({}%)",
            p.files_done,
            p.files_done * 100 / total
        ),
        Some(_) => format!("{} files", p.files_done),
        None => format!(
            "{} files done, {} found so far (walking)",
            p.files_done, p.files_seen
        ),
    };
    let mut phrase = format!(
        "{what}: {count}, {:.0} files/s, {}/s read",
        p.files_per_second,
        human_bytes(p.bytes_per_second as u64)
    );
    if let Some(eta) = p.eta_seconds {
        phrase.push_str(&format!(", about {} left", human_duration(eta)));
    }
    phrase
}

fn change_name(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::Changed => "changed",
        ChangeKind::Moved => "moved",
        ChangeKind::Removed => "removed",
    }
}

/// A change for a line: `12:00:01 changed /path` (the time of day in UTC, as the report gives it).
fn change_phrase(c: &RecentChange) -> String {
    let time = c.at.get(11..19).unwrap_or(&c.at);
    format!(
        "{time} {} {}",
        change_name(c.change),
        escape_path(Path::new(&c.path))
    )
}

/// The report as lines for a terminal.
fn frame(status: &CallerStatus) -> Vec<String> {
    let mut lines = Vec::new();
    let recent = match status {
        CallerStatus::Owner(s) => {
            lines.push(format!(
                "fandex daemon {} (pid {}): {} for {}",
                s.version,
                s.pid,
                state_name(s.state),
                human_duration(s.uptime_seconds as f64)
            ));
            lines.push(match &s.progress {
                Some(p) => progress_phrase(p),
                None => "nothing in progress".to_owned(),
            });
            lines.push(format!(
                "queue: {} events waiting, {} changes pending; {} documents searchable",
                s.queue.events, s.queue.pending, s.documents
            ));
            if let Some(c) = &s.last_commit {
                lines.push(format!(
                    "last commit: generation {} at {} ({} items, {} ms)",
                    c.generation, c.at, c.items, c.millis
                ));
            }
            &s.recent_changes
        }
        CallerStatus::Public(s) => {
            lines.push(format!(
                "fandex daemon {}: {} for {}",
                s.version,
                state_name(s.state),
                human_duration(s.uptime_seconds as f64)
            ));
            if let Some(r) = &s.rebuild {
                lines.push(format!("rebuilding (format {} -> {})", r.from, r.to));
            }
            &s.recent_changes
        }
    };
    if recent.is_empty() {
        lines.push("no changes since start".to_owned());
    } else {
        lines.push("last changes:".to_owned());
        lines.extend(recent.iter().map(|c| format!("  {}", change_phrase(c))));
    }
    lines
}

/// The report as one line (for pipes and logs): state, progress, queue, the newest change.
fn line(status: &CallerStatus) -> String {
    let (state, progress, queue, recent) = match status {
        CallerStatus::Owner(s) => (
            s.state,
            s.progress.as_ref().map(progress_phrase),
            Some(format!(
                "queue: {} events, {} pending",
                s.queue.events, s.queue.pending
            )),
            s.recent_changes.first(),
        ),
        CallerStatus::Public(s) => (s.state, None, None, s.recent_changes.first()),
    };
    let mut parts = vec![state_name(state).to_owned()];
    parts.extend(progress);
    parts.extend(queue);
    if let Some(c) = recent {
        parts.push(format!("last change: {}", change_phrase(c)));
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_reads_as_a_phrase() {
        let p = WorkProgress::new(WorkKind::Rebuild, 3000, 1200, Some(3000), 1_200_000, 4.0);
        assert_eq!(
            progress_phrase(&p),
            "rebuilding: 1200 of 3000 files (40%), 300 files/s, 300.0 kB/s read, about 6 s left"
        );
        let walking = WorkProgress::new(WorkKind::Rescan, 50, 20, None, 0, 1.0);
        assert_eq!(
            progress_phrase(&walking),
            "rescanning: 20 files done, 50 found so far (walking), 20 files/s, 0 B/s read"
        );
        assert_eq!(human_duration(3725.0), "1 h 2 min");
        assert_eq!(human_duration(65.4), "1 min 5 s");
    }
}
