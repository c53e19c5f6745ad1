//! The pool against a real worker: this test binary re-executes itself as the worker (environment variable
//! `FANDEX_SANDBOX_TEST_WORKER`), whose handler obeys triggers (echo, read the passed file, panic, abort,
//! SIGSEGV, spin, sleep, allocate without bound, open a path, open sockets, huge response...).
//!
//! It has its own small harness (`harness = false`) so the worker is a plain single-threaded process.
//! Run as root here; the unprivileged case runs the workers as `nobody`.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fandex_sandbox::{Enforcement, Pool, WorkerFailure};
use nix::sys::signal::Signal;
use support::{Leaks, config, proc_status, text, trigger_file, worker_pid};

fn main() {
    if std::env::var_os(support::WORKER_ENV).is_some() {
        support::run_worker();
    }
    if std::env::var_os(support::HOLDER_ENV).is_some() {
        hold_a_pool();
    }
    support::run_tests(&[
        ("echo_read_and_reuse", echo_read_and_reuse),
        ("lockdown_is_enforced_here", lockdown_is_enforced_here),
        (
            "filesystem_and_network_are_denied",
            filesystem_and_network_are_denied,
        ),
        (
            "failures_name_their_reason_and_the_pool_recovers",
            failures_name_their_reason_and_the_pool_recovers,
        ),
        ("timeouts_and_memory_limit", timeouts_and_memory_limit),
        ("cpu_limit_is_per_request", cpu_limit_is_per_request),
        ("responses_are_capped", responses_are_capped),
        (
            "freed_memory_goes_back_once_idle",
            freed_memory_goes_back_once_idle,
        ),
        ("start_failures_are_reported", start_failures_are_reported),
        (
            "concurrent_use_from_four_threads",
            concurrent_use_from_four_threads,
        ),
        (
            "no_leaked_descriptors_or_children",
            no_leaked_descriptors_or_children,
        ),
        ("workers_exit_at_end_of_file", workers_exit_at_end_of_file),
        ("workers_die_with_the_parent", workers_die_with_the_parent),
        ("unprivileged_worker", unprivileged_worker),
    ]);
}

fn echo_read_and_reuse() {
    let pool = Pool::new(config(1)).unwrap();
    assert!(
        pool.lockdown().is_none(),
        "no worker before the first request"
    );
    let file = trigger_file(b"contents of the passed file\n");
    assert_eq!(text(pool.run(&file, b"echo:hello")), "hello");
    assert_eq!(
        text(pool.run(&file, b"read")),
        "contents of the passed file\n"
    );
    let first = worker_pid(&pool);
    for _ in 0..5 {
        assert_eq!(text(pool.run(&file, b"echo:again")), "again");
    }
    assert_eq!(worker_pid(&pool), first, "one worker serves every request");
}

fn lockdown_is_enforced_here() {
    let pool = Pool::new(config(1)).unwrap();
    pool.run(trigger_file(b""), b"echo:x").unwrap();
    let lockdown = pool.lockdown().expect("a worker reported its lock-down");
    // This kernel has landlock ABI 7 and seccomp filters (../shared/notes/formats.md).
    for (what, enforcement) in [
        ("rlimits", &lockdown.rlimits),
        ("no_new_privs", &lockdown.no_new_privs),
        ("landlock filesystem", &lockdown.landlock_filesystem),
        ("landlock network", &lockdown.landlock_network),
        ("landlock scopes", &lockdown.landlock_scopes),
        ("seccomp", &lockdown.seccomp),
    ] {
        assert_eq!(*enforcement, Enforcement::Enforced, "{what}: {lockdown}");
    }
    let status = support::proc_status(worker_pid(&pool));
    assert!(status.contains("NoNewPrivs:\t1"), "{status}");
    assert!(status.contains("Seccomp:\t2"), "{status}");
}

fn filesystem_and_network_are_denied() {
    let pool = Pool::new(config(1)).unwrap();
    let file = trigger_file(b"x");
    // Root can read /etc/passwd anywhere but under landlock.
    assert!(std::fs::File::open("/etc/passwd").is_ok());
    let answer = text(pool.run(&file, b"open:/etc/passwd"));
    assert!(answer.starts_with("denied:"), "{answer}");
    let answer = text(pool.run(&file, b"open:/proc/self/status"));
    assert!(answer.starts_with("denied:"), "{answer}");

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let answer = text(pool.run(&file, format!("connect:{port}").as_bytes()));
    assert_eq!(answer, "tcp denied, udp denied, unix denied", "{answer}");

    // The passed file's mode cannot be changed through its descriptor.
    let before = file.metadata().unwrap().permissions().mode();
    let answer = text(pool.run(&file, b"chmod"));
    assert!(answer.starts_with("denied:"), "{answer}");
    assert_eq!(file.metadata().unwrap().permissions().mode(), before);
    // Nor can a new program be executed.
    let answer = text(pool.run(&file, b"exec"));
    assert!(answer.starts_with("denied:"), "{answer}");
}

fn failures_name_their_reason_and_the_pool_recovers() {
    let pool = Pool::new(config(1)).unwrap();
    let file = trigger_file(b"x");
    let first = worker_pid(&pool);

    let failure = pool.run(&file, b"panic").unwrap_err();
    assert_eq!(
        failure.to_string(),
        "extractor panicked: boom from the handler"
    );
    assert_eq!(
        worker_pid(&pool),
        first,
        "a panic is caught and the worker keeps serving"
    );

    let cases: [(&[u8], WorkerFailure, &str); 3] = [
        (
            b"abort",
            WorkerFailure::Crashed {
                signal: Signal::SIGABRT,
            },
            "extractor crashed (SIGABRT)",
        ),
        (
            b"segv",
            WorkerFailure::Crashed {
                signal: Signal::SIGSEGV,
            },
            "extractor crashed (SIGSEGV)",
        ),
        (
            b"exit",
            WorkerFailure::Exited { code: 7 },
            "extractor exited with status 7",
        ),
    ];
    let mut previous = first;
    for (trigger, expected, display) in cases {
        let failure = pool.run(&file, trigger).unwrap_err();
        assert_eq!(failure, expected);
        assert_eq!(failure.to_string(), display);
        let next = worker_pid(&pool);
        assert_ne!(next, previous, "a failed worker is replaced");
        previous = next;
    }

    // A worker writing much to stderr is drained, not blocked.
    assert_eq!(text(pool.run(&file, b"stderr:1000000")), "written");
}

/// A worker lives on after a large request: what the request freed must not stay resident once it is
/// idle (issue 12: a worker kept 219 MiB after a 1,221-page PDF).
fn freed_memory_goes_back_once_idle() {
    let pool = Pool::new(config(1)).unwrap();
    let pid = worker_pid(&pool);
    assert_eq!(text(pool.run(trigger_file(b""), b"scatter:128")), "freed");
    // Released once the worker has been idle for a second.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let kib = |field: &str| -> u64 {
        let status = proc_status(pid);
        let line = status.lines().find(|l| l.starts_with(field)).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    assert!(kib("VmHWM:") >= 128 << 10, "the blocks were resident once");
    assert!(
        kib("VmRSS:") < 48 << 10,
        "resident after the request: {} KiB",
        kib("VmRSS:")
    );
}

fn timeouts_and_memory_limit() {
    let mut settings = config(1);
    settings.timeout = Duration::from_secs(1);
    settings.limits.memory_bytes = Some(256 << 20);
    let pool = Pool::new(settings).unwrap();
    let file = trigger_file(b"x");

    let started = Instant::now();
    let failure = pool.run(&file, b"sleep").unwrap_err();
    assert_eq!(
        failure,
        WorkerFailure::TimedOut {
            after: Duration::from_secs(1)
        }
    );
    assert_eq!(failure.to_string(), "timed out after 1 s");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    let failure = pool.run(&file, b"spin").unwrap_err();
    assert_eq!(failure.to_string(), "timed out after 1 s");

    // A request's own timeout, shorter or longer than the pool's.
    let started = Instant::now();
    let failure = pool
        .run_within(&file, b"sleep", Duration::from_millis(300))
        .unwrap_err();
    assert_eq!(failure.to_string(), "timed out after 0.3 s");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // 1.5 s of work: past the pool's 1 s, within the request's 5 s.
    assert_eq!(
        text(pool.run_within(&file, b"busy:1500", Duration::from_secs(5))),
        "busy"
    );

    let failure = pool.run(&file, b"allocate").unwrap_err();
    assert_eq!(
        failure,
        WorkerFailure::MemoryLimit {
            limit_bytes: 256 << 20
        }
    );
    assert_eq!(failure.to_string(), "memory limit (256 MiB)");
    assert_eq!(text(pool.run(&file, b"echo:after")), "after");
}

fn cpu_limit_is_per_request() {
    let file = trigger_file(b"x");
    let mut settings = config(1);
    // The wall-clock timeout is far above the CPU second, so that on a loaded machine (a second of
    // CPU can take many seconds of wall time) the CPU limit, not the timeout, is what ends the spin.
    settings.timeout = Duration::from_secs(60);
    settings.limits.cpu_seconds_per_request = Some(1);
    let pool = Pool::new(settings).unwrap();
    // The CPU allowance is per request: a worker that has used some CPU still gets the full second.
    assert_eq!(text(pool.run(&file, b"busy:600")), "busy");
    assert_eq!(text(pool.run(&file, b"busy:600")), "busy");
    let started = Instant::now();
    let failure = pool.run(&file, b"spin").unwrap_err();
    assert_eq!(failure, WorkerFailure::CpuLimit { seconds: 1 });
    assert_eq!(failure.to_string(), "CPU time limit (1 s)");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(text(pool.run(&file, b"echo:after")), "after");
}

fn responses_are_capped() {
    let mut settings = config(1);
    settings.max_response_bytes = 1 << 20;
    let pool = Pool::new(settings).unwrap();
    let file = trigger_file(b"x");
    assert_eq!(
        pool.run(&file, format!("huge:{}", 1 << 20).as_bytes())
            .unwrap()
            .len(),
        1 << 20
    );
    let failure = pool
        .run(&file, format!("huge:{}", (1 << 20) + 1).as_bytes())
        .unwrap_err();
    assert_eq!(
        failure,
        WorkerFailure::ResponseTooLarge {
            limit_bytes: 1 << 20
        }
    );
    assert_eq!(
        failure.to_string(),
        "response too large (over 1048576 bytes)"
    );
    assert_eq!(text(pool.run(&file, b"echo:after")), "after");
}

fn start_failures_are_reported() {
    let file = trigger_file(b"x");
    let mut settings = config(1);
    settings.program = "/nonexistent/fandex".into();
    let failure = Pool::new(settings)
        .unwrap()
        .run(&file, b"echo:x")
        .unwrap_err();
    let shown = failure.to_string();
    assert!(
        shown.starts_with("worker could not start: /nonexistent/fandex: "),
        "{shown}"
    );

    let mut settings = config(1);
    settings.program = "/bin/sh".into();
    settings.args = vec!["-c".into(), "echo 'no such subcommand' >&2; exit 2".into()];
    let failure = Pool::new(settings)
        .unwrap()
        .run(&file, b"echo:x")
        .unwrap_err();
    assert_eq!(
        failure.to_string(),
        "worker could not start: exited with status 2: no such subcommand"
    );

    let mut settings = config(1);
    settings.program = "/bin/sleep".into();
    settings.args = vec!["60".into()];
    settings.timeout = Duration::from_millis(300);
    let failure = Pool::new(settings)
        .unwrap()
        .run(&file, b"echo:x")
        .unwrap_err();
    assert!(
        failure
            .to_string()
            .starts_with("worker could not start: no lock-down report within"),
        "{failure}"
    );
}

fn concurrent_use_from_four_threads() {
    let pool = Pool::new(config(4)).unwrap();
    let pids = std::sync::Mutex::new(std::collections::BTreeSet::new());
    std::thread::scope(|scope| {
        for thread in 0..4 {
            let (pool, pids) = (&pool, &pids);
            scope.spawn(move || {
                for round in 0..20 {
                    let file = trigger_file(format!("file {thread} {round}").as_bytes());
                    assert_eq!(
                        text(pool.run(&file, b"read")),
                        format!("file {thread} {round}")
                    );
                    if round % 5 == 0 {
                        assert!(pool.run(&file, b"panic").is_err());
                    }
                    pids.lock().unwrap().insert(worker_pid(pool));
                }
            });
        }
    });
    let pids = pids.into_inner().unwrap();
    assert!(!pids.is_empty() && pids.len() <= 4, "{pids:?}");
    // Workers started by the scoped threads outlive them (they are forked by the pool's own thread).
    assert_eq!(text(pool.run(trigger_file(b""), b"echo:still")), "still");
    assert!(pids.contains(&worker_pid(&pool)));
}

fn no_leaked_descriptors_or_children() {
    let leaks = Leaks::measure();
    {
        let mut settings = config(2);
        settings.timeout = Duration::from_millis(500);
        settings.max_response_bytes = 1000;
        let pool = Pool::new(settings).unwrap();
        let file = trigger_file(b"x");
        for trigger in [
            "echo:x",
            "panic",
            "abort",
            "segv",
            "sleep",
            "huge:5000",
            "exit",
            "echo:y",
        ] {
            let _ = pool.run(&file, trigger.as_bytes());
        }
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| pool.run(trigger_file(b"x"), b"echo:z").unwrap());
            }
        });
        assert!(Leaks::measure().children <= 2, "at most two workers alive");
    }
    assert_eq!(
        Leaks::measure(),
        leaks,
        "descriptors and children are back to where they were"
    );
}

fn workers_exit_at_end_of_file() {
    let pool = Pool::new(config(1)).unwrap();
    let pid = worker_pid(&pool);
    let started = Instant::now();
    drop(pool);
    // Dropping waits up to 500 ms for idle workers to exit at end of file before it kills them.
    assert!(
        started.elapsed() < Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );
    assert!(!support::alive(pid));
}

/// Holder mode: start a pool, print its worker's pid, wait to be killed.
fn hold_a_pool() -> ! {
    let pool = Pool::new(config(1)).unwrap();
    println!("{}", worker_pid(&pool));
    std::io::stdout().flush().unwrap();
    loop {
        std::thread::sleep(Duration::from_secs(60));
    }
}

fn workers_die_with_the_parent() {
    let mut holder = Command::new(std::env::current_exe().unwrap())
        .env(support::HOLDER_ENV, "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(holder.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let pid: i32 = line.trim().parse().unwrap();
    assert!(support::alive(pid));
    holder.kill().unwrap();
    holder.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(2);
    while support::alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!support::alive(pid), "worker {pid} outlived its parent");
}

fn unprivileged_worker() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test runs as root and starts the worker as nobody"
    );
    let mut settings = config(1);
    settings.run_as = Some(fandex_sandbox::Credentials {
        uid: 65534,
        gid: 65534,
    });
    let pool = Pool::new(settings).unwrap();
    let file = trigger_file(b"readable only through the descriptor");
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .unwrap();
    assert_eq!(
        text(pool.run(&file, b"read")),
        "readable only through the descriptor"
    );
    let status = support::proc_status(worker_pid(&pool));
    assert!(
        status.contains("Uid:\t65534\t65534\t65534\t65534"),
        "{status}"
    );
    assert!(status.contains("CapEff:\t0000000000000000"), "{status}");
    // RLIMIT_NPROC 0 is enforced for an unprivileged user: no threads, no processes.
    assert!(text(pool.run(&file, b"thread")).starts_with("denied:"));
    let lockdown = pool.lockdown().unwrap();
    assert_eq!(
        lockdown.landlock_filesystem,
        Enforcement::Enforced,
        "{lockdown}"
    );
    assert_eq!(lockdown.seccomp, Enforcement::Enforced, "{lockdown}");
    assert_eq!(
        pool.run(&file, b"abort").unwrap_err().to_string(),
        "extractor crashed (SIGABRT)"
    );
    assert_eq!(text(pool.run(&file, b"echo:ok")), "ok");
}
