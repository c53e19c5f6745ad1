//! Issue 14: `scripts/install.sh` puts every file where the desktop looks for it (staged with
//! `--destdir`), names the installed binary in what starts it, and `--uninstall` takes everything back;
//! the shipped systemd user unit passes `systemd-analyze --user verify` without a warning.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn install(args: &[&str]) -> Output {
    let out = Command::new(repo().join("scripts/install.sh"))
        .args(["--binary", env!("CARGO_BIN_EXE_fandex")])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "install.sh {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Every regular file below `dir`, relative to it, sorted.
fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                stack.push(path);
            } else {
                found.push(path.strip_prefix(dir).unwrap().to_owned());
            }
        }
    }
    found.sort();
    found
}

/// The value of `key=` in a desktop-entry style file.
fn value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
}

#[test]
fn the_installer_puts_every_file_where_the_desktop_looks() {
    let tmp = tempfile::tempdir().unwrap();
    let stage = tmp.path().join("stage");
    let stage_arg = stage.to_str().unwrap();
    install(&["--prefix", "/usr", "--destdir", stage_arg]);
    // Where each desktop component reads them (the XDG data dirs below the prefix, systemd's user unit
    // path, man's and the shells' completion directories).
    let mut expected: Vec<PathBuf> = [
        "usr/bin/fandex",
        "usr/lib/systemd/user/fandex.service",
        "usr/share/dbus-1/services/org.fandex.Fandex.service",
        "usr/share/dbus-1/interfaces/org.fandex.Fandex1.xml",
        "usr/share/gnome-shell/search-providers/org.fandex.Fandex.search-provider.ini",
        "usr/share/applications/org.fandex.Fandex.desktop",
        "usr/share/krunner/dbusplugins/plasma-runner-fandex.desktop",
        "usr/share/bash-completion/completions/fandex",
        "usr/share/zsh/site-functions/_fandex",
        "usr/share/fish/vendor_completions.d/fandex.fish",
    ]
    .iter()
    .map(PathBuf::from)
    .collect();
    let mut pages = 0;
    for page in std::fs::read_dir(repo().join("doc/man")).unwrap() {
        expected.push(Path::new("usr/share/man/man1").join(page.unwrap().file_name()));
        pages += 1;
    }
    assert!(pages >= 2, "man pages of fandex and its subcommands");
    expected.sort();
    assert_eq!(files_below(&stage), expected);

    let at = |p: &str| stage.join(p);
    let read = |p: &str| std::fs::read_to_string(at(p)).unwrap();
    // The binary is the one given, executable.
    let bin = at("usr/bin/fandex");
    assert_eq!(
        std::fs::read(&bin).unwrap(),
        std::fs::read(env!("CARGO_BIN_EXE_fandex")).unwrap()
    );
    assert_eq!(
        std::fs::metadata(&bin).unwrap().permissions().mode() & 0o777,
        0o755
    );
    // What starts the daemon names the installed binary (the prefix's, not the staging directory's).
    // Both start the bridge to a system daemon, or else the user's own daemon (tests/desktop.rs).
    let unit = read("usr/lib/systemd/user/fandex.service");
    assert_eq!(
        value(&unit, "ExecStart"),
        Some("/usr/bin/fandex bridge --or-daemon")
    );
    let activation = read("usr/share/dbus-1/services/org.fandex.Fandex.service");
    assert_eq!(
        value(&activation, "Exec"),
        Some("/usr/bin/fandex bridge --or-daemon")
    );
    assert_eq!(value(&activation, "SystemdService"), Some("fandex.service"));
    let desktop = read("usr/share/applications/org.fandex.Fandex.desktop");
    assert_eq!(
        value(&desktop, "Exec"),
        Some("/usr/bin/fandex daemon --user")
    );
    // The pieces name each other: the provider its .desktop file and bus name, KRunner the same name.
    let provider =
        read("usr/share/gnome-shell/search-providers/org.fandex.Fandex.search-provider.ini");
    let bus_name = value(&activation, "Name").unwrap();
    assert_eq!(value(&provider, "BusName"), Some(bus_name));
    assert!(
        at(&format!(
            "usr/share/applications/{}",
            value(&provider, "DesktopId").unwrap()
        ))
        .exists()
    );
    let runner = read("usr/share/krunner/dbusplugins/plasma-runner-fandex.desktop");
    assert_eq!(
        value(&runner, "X-Plasma-DBusRunner-Service"),
        Some(bus_name)
    );
    // Other files are copied as they are.
    for (src, dest) in [
        (
            "dist/org.fandex.Fandex1.xml",
            "usr/share/dbus-1/interfaces/org.fandex.Fandex1.xml",
        ),
        (
            "doc/completions/_fandex",
            "usr/share/zsh/site-functions/_fandex",
        ),
        (
            "doc/man/fandex-daemon.1",
            "usr/share/man/man1/fandex-daemon.1",
        ),
    ] {
        assert_eq!(
            std::fs::read(repo().join(src)).unwrap(),
            std::fs::read(at(dest)).unwrap()
        );
    }

    // Uninstalling removes every file it installed.
    let out = install(&["--prefix", "/usr", "--destdir", stage_arg, "--uninstall"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("removed"));
    assert_eq!(files_below(&stage), Vec::<PathBuf>::new());
}

#[test]
fn the_user_unit_passes_systemd_analyze_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let prefix = tmp.path().join("prefix");
    install(&["--prefix", prefix.to_str().unwrap()]);
    let unit = prefix.join("lib/systemd/user/fandex.service");
    let text = std::fs::read_to_string(&unit).unwrap();
    for setting in [
        "Type=notify",
        "Slice=background.slice",
        "Nice=19",
        "IOSchedulingClass=idle",
        "CPUWeight=idle",
        "Restart=on-failure",
        "WantedBy=default.target",
    ] {
        assert!(text.lines().any(|l| l == setting), "missing {setting}");
    }
    // A user manager's runtime directory, and the installed man page for Documentation=man:.
    let runtime = tmp.path().join("run");
    std::fs::create_dir(&runtime).unwrap();
    std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
    let verify = |unit: &Path| {
        Command::new("systemd-analyze")
            .args(["--user", "verify"])
            .arg(unit)
            .env("XDG_RUNTIME_DIR", &runtime)
            .env("MANPATH", prefix.join("share/man"))
            .output()
            .expect("systemd-analyze (Debian package systemd; scripts/setup.sh installs it)")
    };
    let out = verify(&unit);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && said.is_empty(), "{said}");
    // The check fails on a mere warning too.
    let broken = tmp.path().join("fandex.service");
    std::fs::write(&broken, text.replace("Nice=19", "Nise=19")).unwrap();
    let out = verify(&broken);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Nise"),
        "{out:?}"
    );
}
