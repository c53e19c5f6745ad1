//! Finding a helper program the way a shell does.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// The program `name` as the shell would find it: a path if it holds a `/`, else the first executable
/// regular file of that name in a directory of `PATH` (`/usr/local/bin:/usr/bin:/bin` without one).
/// `None` when there is none.
pub fn find_program(name: &OsStr) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::PermissionsExt;
    let executable = |path: &Path| {
        std::fs::metadata(path)
            .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
    };
    if name.is_empty() {
        return None;
    }
    if name.as_bytes().contains(&b'/') {
        let path = PathBuf::from(name);
        return executable(&path).then_some(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(name))
        .find(|candidate| executable(candidate))
}
