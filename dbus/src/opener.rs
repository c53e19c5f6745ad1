//! The desktop's own programs, found on `PATH`: the opener (`xdg-open PATH`, else `gio open PATH`) and a
//! clipboard writer (`wl-copy`, else `xclip -selection clipboard`, else `xsel --clipboard --input`).
//!
//! The search path is fixed when the service starts ([`Desktop::from_env`]) or given
//! ([`Desktop::with_search_path`]), so a test can stand its own programs in. Programs run detached: a
//! thread reaps each one, so the bus never waits for an application to start.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Runs the desktop's programs.
#[derive(Debug, Clone)]
pub struct Desktop {
    search_path: OsString,
}

/// Why a program could not be started.
#[derive(Debug, thiserror::Error)]
pub enum DesktopError {
    /// None of the programs is on the search path.
    #[error("none of {0} is on PATH")]
    Missing(&'static str),
    /// The program exists but could not be started.
    #[error("cannot run {program}: {source}")]
    Spawn {
        /// The program.
        program: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

const OPENERS: &[(&str, &[&str])] = &[("xdg-open", &[]), ("gio", &["open"])];
const CLIPBOARDS: &[(&str, &[&str])] = &[
    ("wl-copy", &[]),
    ("xclip", &["-selection", "clipboard"]),
    ("xsel", &["--clipboard", "--input"]),
];

impl Desktop {
    /// Programs from this process's `PATH`.
    pub fn from_env() -> Self {
        Self::with_search_path(std::env::var_os("PATH").unwrap_or_default())
    }

    /// Programs from `search_path` (a `PATH`-style list of directories).
    pub fn with_search_path(search_path: impl Into<OsString>) -> Self {
        Self {
            search_path: search_path.into(),
        }
    }

    /// Opens `path` (a file or a directory) with the desktop's default application.
    pub fn open(&self, path: &Path) -> Result<(), DesktopError> {
        let (program, args) = self.first_of(OPENERS, "xdg-open or gio")?;
        let child = Command::new(&program)
            .args(args)
            .arg(path)
            .stdin(Stdio::null())
            .spawn()
            .map_err(|source| DesktopError::Spawn { program, source })?;
        reap(child);
        Ok(())
    }

    /// Puts `text` on the clipboard.
    pub fn copy(&self, text: &[u8]) -> Result<(), DesktopError> {
        let (program, args) = self.first_of(CLIPBOARDS, "wl-copy, xclip or xsel")?;
        let mut child = Command::new(&program)
            .args(args)
            .stdin(Stdio::piped())
            .spawn()
            .map_err(|source| DesktopError::Spawn { program, source })?;
        if let Some(mut stdin) = child.stdin.take() {
            // A clipboard tool that exits early only loses the copy; it is reaped either way.
            if let Err(e) = stdin.write_all(text) {
                tracing::warn!(error = %e, "clipboard tool did not take the text");
            }
        }
        reap(child);
        Ok(())
    }

    fn first_of(
        &self,
        candidates: &[(&str, &'static [&'static str])],
        names: &'static str,
    ) -> Result<(PathBuf, &'static [&'static str]), DesktopError> {
        candidates
            .iter()
            .find_map(|&(name, args)| self.find(OsStr::new(name)).map(|p| (p, args)))
            .ok_or(DesktopError::Missing(names))
    }

    fn find(&self, name: &OsStr) -> Option<PathBuf> {
        std::env::split_paths(&self.search_path)
            .filter(|dir| dir.is_absolute())
            .map(|dir| dir.join(name))
            .find(|candidate| {
                candidate
                    .metadata()
                    .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            })
    }
}

/// Waits for `child` on a thread of its own, so it leaves no zombie and the caller does not wait.
fn reap(mut child: std::process::Child) {
    std::thread::spawn(move || {
        if let Err(e) = child.wait() {
            tracing::warn!(error = %e, "cannot reap a desktop program");
        }
    });
}
