//! Terminal output helpers: colour decisions, sizes (the indexer's [`human_bytes`]). Paths are printed with the watcher's
//! [`fandex::watcher::escape_path`], the one escaping of fandex.

use std::io::{IsTerminal, Write};

use anyhow::Context;

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

fn no_color_env() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

impl ColorChoice {
    /// Whether stdout gets colour.
    pub fn for_stdout(self) -> bool {
        match self {
            Self::Always => true,
            Self::Never => false,
            Self::Auto => std::io::stdout().is_terminal() && !no_color_env(),
        }
    }
}

/// Whether log lines on stderr get colour.
pub fn stderr_color() -> bool {
    std::io::stderr().is_terminal() && !no_color_env()
}

/// Runs `print` on locked stdout and flushes it. A reader that closed the pipe early (`fandex status |
/// head -3`) is a normal end, not an error: whatever it did not read is simply not printed.
pub fn write_stdout(
    print: impl FnOnce(&mut std::io::StdoutLock<'static>) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match print(&mut out).and_then(|()| out.flush()) {
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        result => result.context("cannot write to stdout"),
    }
}

pub use fandex::indexer::engine::human_bytes;

/// A daemon state's name, as in the JSON report.
pub fn state_name(state: fandex::query::protocol::status::State) -> &'static str {
    use fandex::query::protocol::status::State;
    match state {
        State::Starting => "starting",
        State::Reconciling => "reconciling",
        State::Rebuilding => "rebuilding",
        State::Watching => "watching",
        State::Stopping => "stopping",
        State::Failed => "failed",
    }
}

#[cfg(test)]
mod tests {
    use fandex::watcher::escape_path as printable_path;
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;

    #[test]
    fn paths_stay_on_one_line_and_show_every_byte() {
        let p = Path::new(OsStr::from_bytes(b"/a\nb/c\xff\\d\x1b[31m.txt"));
        assert_eq!(printable_path(p), "/a\\nb/c\\xff\\\\d\\x1b[31m.txt");
        assert_eq!(
            printable_path(Path::new("/plain/café.txt")),
            "/plain/café.txt"
        );
    }
}
