//! The test worker's handler, a minimal test runner, and helpers to build pools and measure leaks.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use fandex_sandbox::{Pool, PoolConfig, WorkerFailure};

/// Set in the environment of the worker processes: run [`run_worker`] instead of the tests.
pub const WORKER_ENV: &str = "FANDEX_SANDBOX_TEST_WORKER";
/// Set in the environment of a child that holds a pool until it is killed.
pub const HOLDER_ENV: &str = "FANDEX_SANDBOX_TEST_HOLDER";

/// A pool of at most `workers` test workers (this binary in worker mode).
pub fn config(workers: usize) -> PoolConfig {
    let mut config = PoolConfig::new(std::env::current_exe().unwrap(), Vec::new());
    config.env.push((WORKER_ENV.into(), "1".into()));
    config.workers = workers;
    config.timeout = Duration::from_secs(5);
    config
}

/// An unlinked temporary file holding `contents`, positioned at its start.
pub fn trigger_file(contents: &[u8]) -> File {
    let dir = std::env::temp_dir();
    let path = dir.join(format!(
        "fandex-sandbox-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let mut file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    file.write_all(contents).unwrap();
    file.rewind().unwrap();
    file
}

/// The response as text (panics on a failure).
pub fn text(result: Result<Vec<u8>, WorkerFailure>) -> String {
    String::from_utf8(result.unwrap_or_else(|failure| panic!("request failed: {failure}"))).unwrap()
}

/// The pid of the worker that answers the next request.
pub fn worker_pid(pool: &Pool) -> i32 {
    text(pool.run(trigger_file(b""), b"pid")).parse().unwrap()
}

/// `/proc/PID/status` of a worker, read by the parent (the worker itself cannot open it).
pub fn proc_status(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap()
}

/// Whether process `pid` exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// Open descriptors and children (zombies included) of this process.
#[derive(Debug, PartialEq, Eq)]
pub struct Leaks {
    pub descriptors: usize,
    pub children: usize,
}

impl Leaks {
    pub fn measure() -> Leaks {
        let descriptors = std::fs::read_dir("/proc/self/fd").unwrap().count();
        let children = std::fs::read_dir("/proc/self/task")
            .unwrap()
            .map(|task| {
                let path = task.unwrap().path().join("children");
                std::fs::read_to_string(path)
                    .unwrap_or_default()
                    .split_whitespace()
                    .count()
            })
            .sum();
        Leaks {
            descriptors,
            children,
        }
    }
}

/// Runs each test whose name contains the first non-option argument; exits 1 if any failed.
pub fn run_tests(tests: &[(&str, fn())]) {
    let filter = std::env::args()
        .skip(1)
        .find(|arg| !arg.starts_with('-'))
        .unwrap_or_default();
    let mut failed = Vec::new();
    for (name, test) in tests.iter().filter(|(name, _)| name.contains(&filter)) {
        let started = Instant::now();
        let outcome = std::panic::catch_unwind(test);
        println!(
            "test {name} ... {} ({:.2?})",
            if outcome.is_ok() { "ok" } else { "FAILED" },
            started.elapsed()
        );
        if outcome.is_err() {
            failed.push(*name);
        }
    }
    if !failed.is_empty() {
        println!("failed: {}", failed.join(", "));
        std::process::exit(1);
    }
}

/// Worker mode: serve requests until the pool closes the socket.
pub fn run_worker() -> ! {
    match fandex_sandbox::worker::serve(handle) {
        Ok(()) => std::process::exit(0),
        Err(error) => {
            eprintln!("test worker: {error}");
            std::process::exit(3);
        }
    }
}

/// The test handler: the request names what to do.
fn handle(mut file: File, request: &[u8]) -> Vec<u8> {
    let request = String::from_utf8_lossy(request);
    let (trigger, argument) = request.split_once(':').unwrap_or((&request, ""));
    let outcome = |result: std::io::Result<()>| match result {
        Ok(()) => "allowed".to_string(),
        Err(error) => format!("denied: {error}"),
    };
    match trigger {
        "echo" => argument.as_bytes().to_vec(),
        "pid" => std::process::id().to_string().into_bytes(),
        "read" => {
            let mut contents = Vec::new();
            file.read_to_end(&mut contents).unwrap();
            contents
        }
        "panic" => panic!("boom from the handler\nsecond line"),
        "abort" => std::process::abort(),
        "segv" => {
            // std's stack-overflow handler catches the first SIGSEGV that is not a guard-page fault, restores
            // the default action and returns (a real fault would then recur); the second one kills.
            for _ in 0..2 {
                nix::sys::signal::raise(nix::sys::signal::Signal::SIGSEGV).unwrap();
            }
            unreachable!("SIGSEGV returned twice")
        }
        "exit" => std::process::exit(7),
        "sleep" => {
            std::thread::sleep(Duration::from_secs(60));
            b"woke".to_vec()
        }
        "spin" => loop {
            std::hint::black_box(0u64);
        },
        "busy" => {
            let until = Instant::now() + Duration::from_millis(argument.parse().unwrap());
            while Instant::now() < until {
                std::hint::black_box(0u64);
            }
            b"busy".to_vec()
        }
        "allocate" => {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(Vec::with_capacity(16 << 20));
                std::hint::black_box(&hoard);
            }
        }
        "huge" => vec![b'x'; argument.parse().unwrap()],
        "scatter" => {
            // ARGUMENT MiB in small blocks (inside the heap, not mapped apart), then one block left
            // allocated above them for good (as a parser's long-lived state would), then all freed: the
            // freed memory lies below the heap's top, where freeing alone never returns it.
            let blocks: Vec<Box<[u8; 4096]>> = (0..argument.parse::<usize>().unwrap() * 256)
                .map(|i| Box::new([i as u8; 4096]))
                .collect();
            Box::leak(Box::new([1u8; 4096]));
            drop(std::hint::black_box(blocks));
            b"freed".to_vec()
        }
        "stderr" => {
            let line = [b'e'; 999];
            for _ in 0..argument.parse::<usize>().unwrap() / 1000 {
                let mut stderr = std::io::stderr();
                stderr.write_all(&line).unwrap();
                stderr.write_all(b"\n").unwrap();
            }
            b"written".to_vec()
        }
        "open" => outcome(File::open(argument).map(drop)).into_bytes(),
        "chmod" => {
            outcome(file.set_permissions(std::fs::Permissions::from_mode(0o777))).into_bytes()
        }
        "exec" => outcome(std::process::Command::new("/bin/true").status().map(drop)).into_bytes(),
        "thread" => outcome(std::thread::Builder::new().spawn(|| ()).map(drop)).into_bytes(),
        "connect" => {
            let tcp = std::net::TcpStream::connect(("127.0.0.1", argument.parse::<u16>().unwrap()))
                .map(drop);
            let udp = std::net::UdpSocket::bind("127.0.0.1:0").map(drop);
            let unix = std::os::unix::net::UnixDatagram::unbound().map(drop);
            let word =
                |result: std::io::Result<()>| if result.is_ok() { "allowed" } else { "denied" };
            format!("tcp {}, udp {}, unix {}", word(tcp), word(udp), word(unix)).into_bytes()
        }
        other => panic!("unknown trigger {other}"),
    }
}
