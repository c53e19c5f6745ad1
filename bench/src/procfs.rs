//! What `/proc/PID` says about a running daemon: open descriptors, memory, CPU time.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::error::{BenchError, Result};
use crate::rss::RssPeaks;

/// Number of open descriptors of `pid` (entries of `/proc/PID/fd`).
pub fn fd_count(pid: u32) -> Result<u64> {
    let dir = PathBuf::from(format!("/proc/{pid}/fd"));
    let entries = std::fs::read_dir(&dir).map_err(|e| BenchError::io("cannot list", &dir, e))?;
    Ok(entries.filter(|e| e.is_ok()).count() as u64)
}

/// The text of `/proc/PID/status`.
pub fn status_text(pid: u32) -> Result<String> {
    let path = PathBuf::from(format!("/proc/{pid}/status"));
    std::fs::read_to_string(&path).map_err(|e| BenchError::io("cannot read", &path, e))
}

/// One `kB` figure (`VmRSS`, `VmHWM`, ...) from a `/proc/PID/status` text.
pub fn status_kb(status: &str, key: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let (k, rest) = line.split_once(':')?;
        if k != key {
            return None;
        }
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// User plus system CPU time of `pid` in clock ticks (fields 14 and 15 of `/proc/PID/stat`).
pub fn cpu_ticks(pid: u32) -> Result<u64> {
    let path = PathBuf::from(format!("/proc/{pid}/stat"));
    let text =
        std::fs::read_to_string(&path).map_err(|e| BenchError::io("cannot read", &path, e))?;
    parse_cpu_ticks(&text)
        .ok_or_else(|| BenchError::Invalid(format!("cannot parse {}", path.display())))
}

/// utime + stime from the text of a `/proc/PID/stat` (the command name may hold spaces and parens, so
/// fields are counted after its last `)`).
pub fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let after = &stat[stat.rfind(')')? + 1..];
    // After the name: field 3 (state) is the first; utime and stime are fields 14 and 15.
    let mut fields = after.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// Peaks sampled from a process while something else happens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcPeaks {
    /// Largest count of open descriptors sampled.
    pub fds: u64,
    /// Memory peaks (`VmHWM` is the kernel's own peak RSS since the process started).
    pub rss: RssPeaks,
}

/// Samples a process's descriptors and memory on a thread until stopped.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<ProcPeaks>,
}

impl Sampler {
    /// Starts sampling `pid` every `every`.
    pub fn start(pid: u32, every: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = std::thread::spawn(move || {
            let mut peaks = ProcPeaks::default();
            loop {
                if let Ok(n) = fd_count(pid) {
                    peaks.fds = peaks.fds.max(n);
                }
                if let Ok(text) = status_text(pid) {
                    peaks.rss.update(&text);
                }
                if flag.load(Ordering::Relaxed) {
                    return peaks;
                }
                std::thread::sleep(every);
            }
        });
        Self { stop, handle }
    }

    /// Takes one last sample and returns the peaks.
    pub fn finish(self) -> Result<ProcPeaks> {
        self.stop.store(true, Ordering::Relaxed);
        self.handle
            .join()
            .map_err(|_| BenchError::Invalid("the /proc sampling thread panicked".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_skip_names_with_spaces_and_parens() {
        let stat = "123 (a b) c) S 1 2 3 4 5 6 7 8 9 10 40 2 0 0 20 0";
        assert_eq!(parse_cpu_ticks(stat), Some(42));
        assert_eq!(parse_cpu_ticks("garbage"), None);
        assert_eq!(parse_cpu_ticks("1 (x) S 1"), None);
    }

    #[test]
    fn reads_this_process() {
        let me = std::process::id();
        let files: Vec<std::fs::File> = (0..5)
            .map(|_| std::fs::File::open("/proc/self/stat").unwrap())
            .collect();
        assert!(fd_count(me).unwrap() >= 5 + 3);
        drop(files);
        let status = status_text(me).unwrap();
        assert!(status_kb(&status, "VmRSS").unwrap() > 0);
        assert_eq!(status_kb(&status, "NoSuchKey"), None);
        // Burn some CPU so the tick count moves.
        let before = cpu_ticks(me).unwrap();
        let t = std::time::Instant::now();
        let mut x = 0u64;
        while t.elapsed() < Duration::from_millis(100) {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        assert!(x != 1);
        assert!(cpu_ticks(me).unwrap() > before);
        assert!(fd_count(u32::MAX).is_err());
    }

    #[test]
    fn sampler_sees_descriptors_opened_meanwhile() {
        let me = std::process::id();
        let base = fd_count(me).unwrap();
        let s = Sampler::start(me, Duration::from_millis(2));
        let files: Vec<std::fs::File> = (0..50)
            .map(|_| std::fs::File::open("/proc/self/stat").unwrap())
            .collect();
        std::thread::sleep(Duration::from_millis(30));
        drop(files);
        let peaks = s.finish().unwrap();
        assert!(peaks.fds >= base + 50, "{peaks:?} base {base}");
        assert!(peaks.rss.hwm_kb > 0);
    }
}
