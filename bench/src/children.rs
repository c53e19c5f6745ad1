//! The memory of a process's descendants (fandex's sandboxed extraction workers), sampled from `/proc`
//! while the process runs: the largest peak of any one of them, the largest sum, the most alive at once.

use std::collections::HashMap;

use crate::procfs::status_kb;

/// Peaks over all descendants of a process, in KiB.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DescendantPeaks {
    /// Largest `VmHWM` of any one descendant (a worker's own peak RSS).
    pub largest_hwm_kb: u64,
    /// Largest sum of `VmRSS` over the descendants alive at one sample.
    pub sum_rss_kb: u64,
    /// Most descendants alive at one sample.
    pub most: u64,
}

impl DescendantPeaks {
    /// Samples every descendant of `pid` once and folds the figures into the peaks.
    pub fn sample(&mut self, pid: u32) {
        let found = descendants(pid);
        let mut sum = 0;
        for child in &found {
            let Ok(status) = std::fs::read_to_string(format!("/proc/{child}/status")) else {
                continue;
            };
            sum += status_kb(&status, "VmRSS").unwrap_or(0);
            let hwm = status_kb(&status, "VmHWM").unwrap_or(0);
            self.largest_hwm_kb = self.largest_hwm_kb.max(hwm);
        }
        self.sum_rss_kb = self.sum_rss_kb.max(sum);
        self.most = self.most.max(found.len() as u64);
    }
}

/// Every live descendant of `pid` (children, their children, ...), from the parent field of
/// `/proc/*/stat`.
pub fn descendants(pid: u32) -> Vec<u32> {
    let mut parent_of = HashMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    for entry in entries.flatten() {
        let Some(p) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat"))
            && let Some(ppid) = parse_ppid(&stat)
        {
            parent_of.insert(p, ppid);
        }
    }
    let mut found = Vec::new();
    let mut frontier = vec![pid];
    while let Some(parent) = frontier.pop() {
        for (&child, &ppid) in &parent_of {
            if ppid == parent {
                found.push(child);
                frontier.push(child);
            }
        }
    }
    found
}

/// The parent pid (field 4) of a `/proc/PID/stat` text; fields are counted after the name's last `)`.
fn parse_ppid(stat: &str) -> Option<u32> {
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_parent_after_a_name_with_parens() {
        assert_eq!(parse_ppid("12 (a) b) S 7 12 12 0"), Some(7));
        assert_eq!(parse_ppid("garbage"), None);
    }

    #[test]
    fn finds_grandchildren_and_their_memory() {
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 5 & sleep 5 & wait"])
            .spawn()
            .unwrap();
        let me = std::process::id();
        let mut seen = Vec::new();
        for _ in 0..100 {
            seen = descendants(me);
            if seen.len() >= 3 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let mut peaks = DescendantPeaks::default();
        peaks.sample(me);
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(seen.contains(&child.id()), "{seen:?}");
        assert!(seen.len() >= 3, "sh and its two sleeps: {seen:?}");
        assert!(
            peaks.most >= 3 && peaks.sum_rss_kb > 0 && peaks.largest_hwm_kb > 0,
            "{peaks:?}"
        );
    }
}
