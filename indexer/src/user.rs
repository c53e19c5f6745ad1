//! Where a per-user fandex keeps its things, after the XDG base directory specification: the index in
//! `$XDG_DATA_HOME/fandex`, the configuration in `$XDG_CONFIG_HOME/fandex/config.toml`, the daemon's
//! socket in `$XDG_RUNTIME_DIR/fandex/socket`, and the default roots: the user's XDG user directories
//! (Documents, Pictures, ...) as `$XDG_CONFIG_HOME/user-dirs.dirs` names them, never `$HOME` itself.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

/// The user directories indexed when `user-dirs.dirs` is missing (those that exist, under `$HOME`).
pub const FALLBACK_USER_DIRS: &[&str] = &[
    "Desktop",
    "Documents",
    "Downloads",
    "Music",
    "Pictures",
    "Videos",
];

/// An XDG base directory: the variable when set to an absolute path, else `$HOME/<fallback>`.
pub(crate) fn xdg_dir(var: &str, fallback: &str) -> Option<PathBuf> {
    match std::env::var_os(var).map(PathBuf::from) {
        Some(dir) if dir.is_absolute() => Some(dir),
        _ => home().map(|home| home.join(fallback)),
    }
}

/// `$HOME`, when set to an absolute path.
fn home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .filter(|h| h.is_absolute())
}

/// A user's index: `$XDG_DATA_HOME/fandex` (default `~/.local/share/fandex`; `.fandex` without a home).
pub fn index_dir() -> PathBuf {
    xdg_dir("XDG_DATA_HOME", ".local/share")
        .map(|d| d.join("fandex"))
        .unwrap_or_else(|| PathBuf::from(".fandex"))
}

/// A user's configuration file: `$XDG_CONFIG_HOME/fandex/config.toml` (default
/// `~/.config/fandex/config.toml`).
pub fn config_path() -> Option<PathBuf> {
    xdg_dir("XDG_CONFIG_HOME", ".config").map(|d| d.join("fandex/config.toml"))
}

/// The socket of a user's daemon: `$XDG_RUNTIME_DIR/fandex/socket`, when the session has a runtime
/// directory (without one, the daemon listens in its index directory).
pub fn runtime_socket() -> Option<PathBuf> {
    std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|d| d.is_absolute())
        .map(|d| d.join("fandex/socket"))
}

/// The user's directories to index by default: those `$XDG_CONFIG_HOME/user-dirs.dirs` names, else
/// [`FALLBACK_USER_DIRS`] under `$HOME`; only existing directories, never `$HOME` itself (the value
/// `xdg-user-dirs` gives a directory the user switched off). Empty without a home.
pub fn user_dirs() -> Vec<PathBuf> {
    let Some(home) = home() else {
        return Vec::new();
    };
    let listed = xdg_dir("XDG_CONFIG_HOME", ".config")
        .and_then(|config| std::fs::read(config.join("user-dirs.dirs")).ok())
        .map(|text| parse_user_dirs(&text, &home));
    let candidates = listed.unwrap_or_else(|| {
        FALLBACK_USER_DIRS
            .iter()
            .map(|name| home.join(name))
            .collect()
    });
    let home_id = std::fs::metadata(&home).ok().map(|m| identity(&m));
    let mut dirs: Vec<PathBuf> = Vec::new();
    for dir in candidates {
        let Ok(meta) = std::fs::metadata(&dir) else {
            continue;
        };
        if meta.is_dir() && Some(identity(&meta)) != home_id && !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    dirs
}

/// A directory's identity, so `$HOME` is recognised however it is spelled (`$HOME/`, `$HOME/.`).
fn identity(meta: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

/// The directories a `user-dirs.dirs` file names, in its order: lines `XDG_<NAME>_DIR="$HOME/sub"` or
/// `XDG_<NAME>_DIR="/absolute"` (shell syntax: a backslash escapes the next character). Comments,
/// other variables and values that are neither are skipped. Paths are bytes: nothing is decoded.
pub fn parse_user_dirs(text: &[u8], home: &Path) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for line in text.split(|b| *b == b'\n') {
        let line = line.trim_ascii();
        let Some(eq) = line.iter().position(|b| *b == b'=') else {
            continue;
        };
        let (key, value) = (&line[..eq], &line[eq + 1..]);
        if !(key.starts_with(b"XDG_") && key.ends_with(b"_DIR") && key.len() > 8) {
            continue;
        }
        let Some(value) = value
            .strip_prefix(b"\"")
            .and_then(|v| v.strip_suffix(b"\""))
        else {
            continue;
        };
        let value = unescape(value);
        let path = if let Some(rest) = value.strip_prefix(b"$HOME") {
            match rest {
                [] => home.to_owned(),
                [b'/', sub @ ..] => home.join(Path::new(std::ffi::OsStr::from_bytes(sub))),
                _ => continue, // `$HOMEX`: another variable
            }
        } else if value.starts_with(b"/") {
            PathBuf::from(OsString::from_vec(value))
        } else {
            continue;
        };
        dirs.push(path);
    }
    dirs
}

/// Removes shell backslash escapes (`\"`, `\$`, `\\`).
fn unescape(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    let mut bytes = value.iter();
    while let Some(&b) = bytes.next() {
        if b == b'\\' {
            if let Some(&next) = bytes.next() {
                out.push(next);
            }
        } else {
            out.push(b);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_dirs_file_is_parsed() {
        let home = Path::new("/home/a");
        let text = b"# written by xdg-user-dirs-update\n\
            XDG_DESKTOP_DIR=\"$HOME/Desktop\"\n\
            XDG_DOCUMENTS_DIR=\"$HOME/My \\\"Docs\\\"\"\n\
            XDG_MUSIC_DIR=\"/srv/music\"\n\
            XDG_TEMPLATES_DIR=\"$HOME/\"\n\
            XDG_PUBLICSHARE_DIR=\"$HOME\"\n\
            XDG_VIDEOS_DIR=\"$HOMEX/v\"\n\
            XDG_PICTURES_DIR=relative\n\
            XDG_DOWNLOAD_DIR=\"Downloads\"\n\
            OTHER=\"$HOME/x\"\n\
              XDG_CAF\xc3\x89_DIR=\"$HOME/caf\xff\"  \n";
        let dirs = parse_user_dirs(text, home);
        let bytes = |b: &[u8]| PathBuf::from(OsString::from_vec(b.to_vec()));
        assert_eq!(
            dirs,
            [
                PathBuf::from("/home/a/Desktop"),
                PathBuf::from("/home/a/My \"Docs\""),
                PathBuf::from("/srv/music"),
                PathBuf::from("/home/a/"),
                PathBuf::from("/home/a"),
                bytes(b"/home/a/caf\xff"),
            ]
        );
    }

    #[test]
    fn only_existing_directories_other_than_home_are_defaults() {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join("home");
        let config = tmp.path().join("config");
        for dir in ["Documents", "Music", "Pictures", "notes"] {
            std::fs::create_dir_all(home.join(dir)).unwrap();
        }
        std::fs::write(home.join("Videos"), "a file, not a directory").unwrap();
        std::fs::create_dir_all(&config).unwrap();
        // The environment is the process's: both cases run in one test, one after the other.
        // SAFETY: no other test of this crate reads or writes HOME or the XDG variables.
        unsafe {
            std::env::set_var("HOME", &home);
            std::env::set_var("XDG_CONFIG_HOME", &config);
            std::env::remove_var("XDG_DATA_HOME");
        }
        // No user-dirs.dirs: the usual names that exist as directories.
        assert_eq!(
            user_dirs(),
            [
                home.join("Documents"),
                home.join("Music"),
                home.join("Pictures")
            ]
        );
        std::fs::write(
            config.join("user-dirs.dirs"),
            "XDG_DESKTOP_DIR=\"$HOME/\"\nXDG_DOCUMENTS_DIR=\"$HOME/notes\"\n\
             XDG_MUSIC_DIR=\"$HOME/missing\"\nXDG_VIDEOS_DIR=\"$HOME/Videos\"\n\
             XDG_PICTURES_DIR=\"$HOME/notes\"\n",
        )
        .unwrap();
        assert_eq!(user_dirs(), [home.join("notes")]);
        assert_eq!(index_dir(), home.join(".local/share/fandex"));
        assert_eq!(config_path(), Some(config.join("fandex/config.toml")));
    }
}
