//! The floor: the cost of listing a corpus and reading every byte of it from the page cache.

use std::io::Read;
use std::path::Path;
use std::time::Instant;

use crate::corpus::list_files;
use crate::error::{BenchError, Result};

/// One timed pass over a corpus.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FloorRun {
    /// Files read.
    pub files: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Wall time of the listing and the reads, in seconds.
    pub seconds: f64,
}

/// Lists `root` and reads every file to the end into one reused buffer, on one thread; timed.
pub fn read_all(root: &Path) -> Result<FloorRun> {
    let started = Instant::now();
    let files = list_files(root)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    for path in &files {
        let mut file =
            std::fs::File::open(path).map_err(|e| BenchError::io("cannot open", path, e))?;
        loop {
            let n = file
                .read(&mut buf)
                .map_err(|e| BenchError::io("cannot read", path, e))?;
            if n == 0 {
                break;
            }
            bytes += n as u64;
        }
    }
    Ok(FloorRun {
        files: files.len() as u64,
        bytes,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// One untimed warm-up pass (to bring the corpus into the page cache), then `runs` timed passes.
pub fn measure(root: &Path, runs: usize) -> Result<Vec<FloorRun>> {
    read_all(root)?;
    (0..runs).map(|_| read_all(root)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_every_byte_of_every_file() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("d")).unwrap();
        std::fs::write(tmp.path().join("d/one"), vec![7u8; 3 << 20]).unwrap();
        std::fs::write(tmp.path().join("two"), b"hello").unwrap();
        std::fs::write(tmp.path().join("empty"), b"").unwrap();
        let runs = measure(tmp.path(), 2).unwrap();
        assert_eq!(runs.len(), 2);
        for run in runs {
            assert_eq!(run.files, 3);
            assert_eq!(run.bytes, (3 << 20) + 5);
            assert!(run.seconds > 0.0);
        }
    }
}
