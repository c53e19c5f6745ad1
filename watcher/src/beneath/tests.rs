use super::*;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};

/// Both resolvers: `openat2` and the component-wise walk used where it is missing.
fn both(root: &Path) -> [RootDir; 2] {
    [
        RootDir::open(root).unwrap(),
        RootDir::open_without_openat2(root).unwrap(),
    ]
}

/// Open-file flags as the kernel reports them in `/proc/self/fdinfo`.
fn fd_flags(file: &File) -> i32 {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", file.as_raw_fd()))
        .expect("read fdinfo");
    let line = info
        .lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .expect("flags line");
    i32::from_str_radix(line.trim(), 8).expect("octal flags")
}

fn assert_not_regular(r: Result<(File, Metadata), OpenError>, want: &str) {
    match r {
        Err(OpenError::NotRegular { kind }) => assert_eq!(kind, want),
        other => panic!("expected NotRegular({want}), got {other:?}"),
    }
}

fn assert_changed<T: std::fmt::Debug>(r: Result<T, OpenError>) {
    assert!(
        matches!(r, Err(OpenError::Changed)),
        "expected Changed, got {r:?}"
    );
}

#[test]
fn resource_shortages_are_transient_not_the_files_fault() {
    for code in [Errno::EMFILE, Errno::ENFILE, Errno::ENOMEM, Errno::EAGAIN] {
        assert!(
            matches!(open_errno(code), OpenError::Transient(_)),
            "errno {code}"
        );
    }
    assert!(matches!(open_errno(Errno::EIO), OpenError::Io(_)));
}

#[test]
fn normal_file_opens_readable_blocking_noatime_cloexec() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("sub/f.txt");
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(&p, b"hello").unwrap();
    for root in both(dir.path()) {
        let (mut f, meta) = root.open_regular(&p).unwrap();
        assert!(meta.is_file());
        assert_eq!(meta.len(), 5);
        let mut s = String::new();
        f.read_to_string(&mut s).unwrap();
        assert_eq!(s, "hello");
        let flags = fd_flags(&f);
        assert_eq!(flags & libc::O_ACCMODE, libc::O_RDONLY);
        assert_ne!(flags & libc::O_NOATIME, 0, "O_NOATIME expected: {flags:o}");
        assert_ne!(flags & libc::O_CLOEXEC, 0, "O_CLOEXEC expected: {flags:o}");
        assert_eq!(flags & libc::O_NONBLOCK, 0, "O_NONBLOCK cleared: {flags:o}");
        assert_eq!(FileId::of(&root.lstat(&p).unwrap()), FileId::of(&meta));
    }
}

/// The attack of issue 10: a directory of the path is a symlink to another user's directory. Neither
/// the open nor the `lstat` may reach the file behind it.
#[test]
fn symlink_as_a_directory_of_the_path_is_refused() {
    let victim = tempfile::tempdir().unwrap();
    std::fs::write(victim.path().join("secret.txt"), b"victim's text").unwrap();
    std::fs::create_dir(victim.path().join("deeper")).unwrap();
    std::fs::write(victim.path().join("deeper/more.txt"), b"more").unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("real")).unwrap();
    std::os::unix::fs::symlink(victim.path(), dir.path().join("real/d")).unwrap();
    std::os::unix::fs::symlink("../real", dir.path().join("rel")).unwrap();
    for root in both(dir.path()) {
        let through = dir.path().join("real/d/secret.txt");
        assert_changed(root.open_regular(&through));
        assert_changed(root.lstat(&through));
        assert_changed(root.open_nonblocking(&through));
        assert_changed(root.lstat(&dir.path().join("real/d/deeper/more.txt")));
        // A relative symlink that stays inside the root is refused too.
        assert_changed(root.lstat(&dir.path().join("rel/d")));
        // The symlink itself is seen, not followed.
        assert!(
            root.lstat(&dir.path().join("real/d"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }
}

/// The event's descriptor is read while it is still the file at the path; once the path names another
/// file, the path is opened instead and must be the expected file.
#[test]
fn content_is_read_through_the_event_fd_while_it_is_the_file_at_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("f.txt");
    std::fs::write(&p, b"written").unwrap();
    let set = RootSet::open(&[dir.path().to_owned()]);
    let event_fd = || Some(OwnedFd::from(File::open(&p).unwrap()));
    let written = FileId::of(&set.lstat(&p).unwrap());
    let (mut f, _) = set.open_for_content(&p, Some(written), event_fd()).unwrap();
    let mut text = String::new();
    f.read_to_string(&mut text).unwrap();
    assert_eq!(text, "written");
    // Without an expected identity any regular file at the path will do.
    assert!(set.open_for_content(&p, None, None).is_ok());

    // Replaced by another file: the old descriptor is not this path's content, and the path now names
    // another file than the one expected.
    let old_fd = event_fd();
    std::fs::rename(&p, dir.path().join("moved")).unwrap();
    std::fs::write(&p, b"other").unwrap();
    assert_changed(set.open_for_content(&p, Some(written), old_fd));
    let now = FileId::of(&set.lstat(&p).unwrap());
    let (mut f, _) = set.open_for_content(&p, Some(now), None).unwrap();
    text.clear();
    f.read_to_string(&mut text).unwrap();
    assert_eq!(text, "other");
}

/// A directory renamed away and replaced by another holding a file of the same name: the path now
/// names another file than the walk saw, which the identity check catches.
#[test]
fn swapped_directory_is_detected_by_identity() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("d");
    std::fs::create_dir(&d).unwrap();
    let p = d.join("f.txt");
    std::fs::write(&p, b"first").unwrap();
    for root in both(dir.path()) {
        let walked = FileId::of(&root.lstat(&p).unwrap());
        assert!(root.open_identified(&p, walked).is_ok());
        std::fs::rename(&d, dir.path().join("d_real")).unwrap();
        std::fs::create_dir(&d).unwrap();
        std::fs::write(&p, b"other").unwrap();
        assert_changed(root.open_identified(&p, walked));
        std::fs::remove_dir_all(&d).unwrap();
        std::fs::rename(dir.path().join("d_real"), &d).unwrap();
    }
}

#[test]
fn fifo_without_writer_is_refused_instantly() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("fifo");
    nix::unistd::mkfifo(&p, Mode::from_bits_truncate(0o600)).unwrap();
    for root in both(dir.path()) {
        let t = Instant::now();
        assert_not_regular(root.open_regular(&p), "fifo");
        // The race guard alone (no lstat pre-check) must not block either.
        let f = root
            .open_nonblocking(&p)
            .expect("O_NONBLOCK open of a fifo succeeds");
        match check_regular(&f) {
            Err(OpenError::NotRegular { kind }) => assert_eq!(kind, "fifo"),
            other => panic!("expected fifo refusal, got {other:?}"),
        }
        assert!(
            t.elapsed() < Duration::from_millis(500),
            "{:?}",
            t.elapsed()
        );
    }
}

#[test]
fn symlink_last_is_refused_even_without_precheck() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target");
    std::fs::write(&target, b"x").unwrap();
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    for root in both(dir.path()) {
        assert_not_regular(root.open_regular(&link), "symlink");
        match root.open_nonblocking(&link) {
            Err(OpenError::NotRegular { kind }) => assert_eq!(kind, "symlink"),
            other => panic!("expected ELOOP refusal, got {other:?}"),
        }
    }
}

#[test]
fn devices_directories_and_sockets_are_refused() {
    for dev in both(Path::new("/dev")) {
        assert_not_regular(dev.open_regular(Path::new("/dev/null")), "character device");
        let f = dev.open_nonblocking(Path::new("/dev/null")).unwrap();
        assert!(matches!(
            check_regular(&f),
            Err(OpenError::NotRegular {
                kind: "character device"
            })
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let sock = dir.path().join("sock");
    let _listener = UnixListener::bind(&sock).unwrap();
    for root in both(dir.path()) {
        assert_not_regular(root.open_regular(dir.path()), "directory");
        assert_not_regular(root.open_regular(&dir.path().join("sub")), "directory");
        assert_not_regular(root.open_regular(&sock), "socket");
        match root.open_nonblocking(&sock) {
            Err(OpenError::NotRegular { kind }) => assert_eq!(kind, "socket"),
            other => panic!("expected ENXIO refusal, got {other:?}"),
        }
    }
}

#[test]
fn missing_outside_and_dotdot_paths_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    for root in both(dir.path()) {
        assert!(matches!(
            root.open_regular(&dir.path().join("nope")),
            Err(OpenError::NotFound)
        ));
        assert!(matches!(
            root.open_regular(&file.join("below")),
            Err(OpenError::NotFound)
        ));
        assert!(matches!(
            root.open_regular(Path::new("/etc/passwd")),
            Err(OpenError::Outside)
        ));
        assert!(matches!(
            root.lstat(&dir.path().join("..").join(dir.path().file_name().unwrap())),
            Err(OpenError::Outside)
        ));
        assert!(root.lstat(dir.path()).unwrap().is_dir());
    }
}

#[test]
fn root_set_picks_the_root_of_a_path() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    std::fs::write(b.path().join("f"), b"b").unwrap();
    let gone = a.path().join("gone");
    let set = RootSet::open(&[a.path().to_owned(), b.path().to_owned(), gone.clone()]);
    let (mut f, _) = set.open_regular(&b.path().join("f")).unwrap();
    let mut s = String::new();
    f.read_to_string(&mut s).unwrap();
    assert_eq!(s, "b");
    assert!(matches!(
        set.lstat(Path::new("/elsewhere")),
        Err(OpenError::Outside)
    ));
    // A root that could not be opened: nothing below it exists.
    assert!(matches!(
        set.lstat(&gone.join("x")),
        Err(OpenError::NotFound)
    ));
}

#[test]
fn file_owned_by_another_uid_opens_as_root() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("theirs");
    std::fs::write(&p, b"secret").unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::chown(&p, Some(65534), Some(65534)).unwrap();
    let root = RootDir::open(dir.path()).unwrap();
    let (mut f, meta) = root.open_regular(&p).unwrap();
    assert_eq!(meta.uid(), 65534);
    let mut s = String::new();
    f.read_to_string(&mut s).unwrap();
    assert_eq!(s, "secret");
}

/// Without `CAP_FOWNER` and without owning the file, `O_NOATIME` fails with `EPERM`; the open must be
/// retried without it. Runs in a forked child that drops to an unprivileged uid.
#[test]
fn noatime_eperm_is_retried_without_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let p = dir.path().join("readable");
    std::fs::File::create(&p)
        .unwrap()
        .write_all(b"data")
        .unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::os::unix::fs::chown(&p, Some(65534), Some(65534)).unwrap();
    let unreadable = dir.path().join("unreadable");
    std::fs::write(&unreadable, b"x").unwrap();
    std::fs::set_permissions(&unreadable, std::fs::Permissions::from_mode(0o600)).unwrap();
    let roots = both(dir.path());

    // SAFETY: the child only makes system calls and small allocations (glibc keeps malloc usable after
    // fork) and always leaves with _exit, never returning into the test harness.
    match unsafe { nix::unistd::fork() }.unwrap() {
        nix::unistd::ForkResult::Child => {
            let code = (|| {
                let uid = nix::unistd::Uid::from_raw(65533);
                let gid = nix::unistd::Gid::from_raw(65533);
                nix::unistd::setgroups(&[]).map_err(|_| 10)?;
                nix::unistd::setresgid(gid, gid, gid).map_err(|_| 11)?;
                nix::unistd::setresuid(uid, uid, uid).map_err(|_| 12)?;
                for root in &roots {
                    let (mut f, _) = root.open_regular(&p).map_err(|_| 13)?;
                    if fd_flags(&f) & libc::O_NOATIME != 0 {
                        return Err(14);
                    }
                    let mut s = String::new();
                    f.read_to_string(&mut s).map_err(|_| 15)?;
                    if s != "data" {
                        return Err(16);
                    }
                    if !matches!(
                        root.open_regular(&unreadable),
                        Err(OpenError::PermissionDenied)
                    ) {
                        return Err(17);
                    }
                }
                Ok(())
            })();
            // SAFETY: _exit is async-signal-safe and ends the child without running the parent's
            // atexit handlers or destructors.
            unsafe { libc::_exit(code.err().unwrap_or(0)) }
        }
        nix::unistd::ForkResult::Parent { child } => {
            let status = nix::sys::wait::waitpid(child, None).unwrap();
            assert_eq!(
                status,
                nix::sys::wait::WaitStatus::Exited(child, 0),
                "child failed (10-12 setup, 13 open, 14 noatime kept, 15-16 read, 17 EACCES)"
            );
        }
    }
}

#[test]
fn error_messages_are_single_lines() {
    let errors = [
        OpenError::NotRegular { kind: "fifo" },
        OpenError::NotFound,
        OpenError::PermissionDenied,
        OpenError::Changed,
        OpenError::Outside,
        OpenError::Io(io::Error::from_raw_os_error(libc::EIO)),
    ];
    for e in errors {
        let s = e.to_string();
        assert!(!s.is_empty() && !s.contains('\n'), "{s:?}");
    }
    assert_eq!(
        OpenError::NotRegular { kind: "fifo" }.to_string(),
        "not a regular file: fifo"
    );
}
