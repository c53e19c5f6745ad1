//! Starting a daemon and timing it until it says it is ready, the way systemd does (`Type=notify`): a
//! datagram socket in `NOTIFY_SOCKET`, and the time from spawn to the `READY=1` message.

use std::ffi::OsString;
use std::fs::File;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::error::{BenchError, Result};

/// A daemon that announced `READY=1`; it keeps running when this value is dropped (wait for it, or it
/// becomes a zombie once it exits).
#[derive(Debug)]
pub struct Ready {
    /// The daemon.
    pub child: Child,
    /// Seconds from spawn to the `READY=1` datagram.
    pub seconds: f64,
    /// The notification socket, kept open so later messages (`STOPPING=1`) are received, not refused.
    pub notify: UnixDatagram,
}

fn describe(argv: &[OsString]) -> String {
    argv.iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether a notification datagram holds the line `READY=1`.
pub fn is_ready_message(datagram: &[u8]) -> bool {
    datagram
        .split(|b| *b == b'\n')
        .any(|line| line == b"READY=1")
}

/// Spawns `argv` with `NOTIFY_SOCKET` set to a fresh abstract socket, stdin empty, stdout and stderr
/// appended to `log`, and waits for `READY=1`. Fails (after killing the child) when it exits first or
/// when `timeout` passes.
pub fn start_until_ready(argv: &[OsString], log: &Path, timeout: Duration) -> Result<Ready> {
    let (first, rest) = argv
        .split_first()
        .ok_or_else(|| BenchError::Invalid("no command given".into()))?;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let name = format!("fandex-bench-notify-{}-{nanos}", std::process::id());
    let spawn_err = |source| BenchError::Spawn {
        command: describe(argv),
        source,
    };
    let addr = SocketAddr::from_abstract_name(name.as_bytes()).map_err(spawn_err)?;
    let socket = UnixDatagram::bind_addr(&addr).map_err(spawn_err)?;
    socket
        .set_read_timeout(Some(Duration::from_millis(20)))
        .map_err(spawn_err)?;
    let out = File::options()
        .append(true)
        .create(true)
        .open(log)
        .map_err(|e| BenchError::io("cannot open", log, e))?;
    let err = out
        .try_clone()
        .map_err(|e| BenchError::io("cannot open", log, e))?;
    let started = Instant::now();
    let mut child = Command::new(first)
        .args(rest)
        .env("NOTIFY_SOCKET", format!("@{name}"))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(spawn_err)?;
    let mut buf = [0u8; 4096];
    loop {
        match socket.recv(&mut buf) {
            Ok(n) if is_ready_message(&buf[..n]) => {
                let seconds = started.elapsed().as_secs_f64();
                return Ok(Ready {
                    child,
                    seconds,
                    notify: socket,
                });
            }
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::Interrupted
                ) => {}
            Err(e) => return Err(fail(&mut child, spawn_err(e))),
        }
        match child.try_wait() {
            Ok(Some(status)) => {
                return Err(BenchError::Invalid(format!(
                    "{} exited ({status}) before it was ready; see {}",
                    describe(argv),
                    log.display()
                )));
            }
            Ok(None) => {}
            Err(e) => return Err(fail(&mut child, spawn_err(e))),
        }
        if started.elapsed() > timeout {
            let err = BenchError::Invalid(format!(
                "{} was not ready after {} s (killed); see {}",
                describe(argv),
                timeout.as_secs_f64(),
                log.display()
            ));
            return Err(fail(&mut child, err));
        }
    }
}

/// Kills and reaps `child`, then returns `err`.
fn fail(child: &mut Child, err: BenchError) -> BenchError {
    if let Err(e) = child.kill() {
        tracing::warn!("cannot kill pid {}: {e}", child.id());
    }
    if let Err(e) = child.wait() {
        tracing::warn!("cannot reap pid {}: {e}", child.id());
    }
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Vec<OsString> {
        ["sh", "-c", script].iter().map(OsString::from).collect()
    }

    #[test]
    fn ready_lines_are_whole_lines() {
        assert!(is_ready_message(b"READY=1"));
        assert!(is_ready_message(b"STATUS=x\nREADY=1\n"));
        assert!(!is_ready_message(b"READY=10"));
        assert!(!is_ready_message(b"STATUS=READY=1"));
    }

    // Needs a program that can write to an abstract datagram socket: python3, when installed.
    fn have_python() -> bool {
        Command::new("python3")
            .arg("-c")
            .arg("pass")
            .status()
            .is_ok_and(|s| s.success())
    }

    #[test]
    fn times_until_ready_and_leaves_the_child_running() {
        if !have_python() {
            eprintln!("skipped: python3 is not installed");
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("log");
        let script = "import os,socket,time\n\
                      time.sleep(0.2)\n\
                      s=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\n\
                      a=os.environ['NOTIFY_SOCKET']\n\
                      a='\\0'+a[1:] if a.startswith('@') else a\n\
                      s.sendto(b'STATUS=starting',a)\n\
                      s.sendto(b'READY=1\\nSTATUS=up',a)\n\
                      print('hello')\n\
                      time.sleep(30)\n";
        let argv: Vec<OsString> = ["python3", "-c", script]
            .iter()
            .map(OsString::from)
            .collect();
        let mut ready = start_until_ready(&argv, &log, Duration::from_secs(20)).unwrap();
        assert!(ready.seconds >= 0.2, "{ready:?}");
        assert_eq!(ready.child.try_wait().unwrap(), None);
        ready.child.kill().unwrap();
        ready.child.wait().unwrap();
    }

    #[test]
    fn early_exit_and_timeout_are_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("log");
        let err = start_until_ready(&sh("echo oops >&2; exit 3"), &log, Duration::from_secs(10))
            .unwrap_err();
        assert!(err.to_string().contains("before it was ready"), "{err}");
        assert!(std::fs::read_to_string(&log).unwrap().contains("oops"));
        let t = Instant::now();
        let err = start_until_ready(&sh("sleep 30"), &log, Duration::from_millis(200)).unwrap_err();
        assert!(err.to_string().contains("not ready"), "{err}");
        assert!(t.elapsed() < Duration::from_secs(10));
        assert!(start_until_ready(&[], &log, Duration::from_secs(1)).is_err());
    }
}
