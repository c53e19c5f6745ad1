//! The synthetic tree of issue 16: N text files in N/10 directories, words drawn from real corpora with
//! their frequencies, sizes and times from the distributions documented in [`shape`], made-up rare words
//! planted in known files (the oracle), and lines of CJK, Greek and Cyrillic text in every 1,000th file.
//! Deterministic: every file is a function of the seed and its number, whatever the number of threads.

pub mod check;
pub mod shape;
pub mod vocab;

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use shape::{FILES_PER_DIR, Rng, SCRIPT_LINES, stream};
pub use vocab::Vocabulary;

use crate::error::{BenchError, Result};

/// What to make.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Files to make.
    pub files: u64,
    /// The seed.
    pub seed: u64,
    /// How many planted rare words (the first 20 also go into one file's name).
    pub planted: usize,
    /// Writing threads.
    pub threads: usize,
}

/// What was made.
#[derive(Debug, Clone, PartialEq)]
pub struct Made {
    /// Files written.
    pub files: u64,
    /// Directories made (top-level folders included).
    pub dirs: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Wall time of the writing.
    pub seconds: f64,
}

/// Planted rare words: for each, the numbers of the files holding it, ascending.
pub fn plant(spec: &Spec) -> Vec<(String, Vec<u64>)> {
    (0..spec.planted)
        .map(|k| {
            let want = shape::planted_count(k).min(spec.files);
            let mut rng = Rng::new(spec.seed, stream::PLANT, k as u64);
            let mut files = Vec::new();
            while (files.len() as u64) < want {
                let f = rng.below(spec.files);
                if !files.contains(&f) {
                    files.push(f);
                }
            }
            files.sort_unstable();
            (shape::planted_word(k), files)
        })
        .collect()
}

/// The path of file `n` under the root, relative: `sTTT/WORD-D/W1-W2-N.EXT` (the planted word first in
/// the name when `named`).
pub fn file_path(spec: &Spec, vocab: &Vocabulary, n: u64, named: Option<&str>) -> PathBuf {
    let mut rng = Rng::new(spec.seed, stream::FILE, n);
    let _size = shape::size(&mut rng, n);
    let _mtime = shape::mtime(&mut rng);
    let ext = shape::extension(&mut rng);
    let first = named.unwrap_or_else(|| vocab.draw(rng.bits()));
    let name = format!("{first}-{}-{n}.{ext}", vocab.draw(rng.bits()));
    dir_path(spec, vocab, n / FILES_PER_DIR).join(name)
}

fn dir_path(spec: &Spec, vocab: &Vocabulary, d: u64) -> PathBuf {
    let mut rng = Rng::new(spec.seed, stream::DIR, d);
    let top = format!("s{:03}", d / shape::DIRS_PER_TOP);
    PathBuf::from(top).join(format!("{}-{}", vocab.draw(rng.bits()), d))
}

/// Writes the tree under `root` (which must exist and be empty) with `spec.threads` threads.
pub fn generate(spec: &Spec, vocab: &Vocabulary, root: &Path) -> Result<Made> {
    let started = Instant::now();
    let planted = plant(spec);
    let mut extra: HashMap<u64, Vec<&str>> = HashMap::new();
    for (word, files) in &planted {
        for f in files {
            extra.entry(*f).or_default().push(word);
        }
    }
    let names = named_files(&planted);
    let dirs = spec.files.div_ceil(FILES_PER_DIR);
    let threads = spec.threads.max(1) as u64;
    let totals = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let (extra, names) = (&extra, &names);
                s.spawn(move || -> Result<u64> {
                    let mut bytes = 0;
                    let mut buf = Vec::new();
                    for d in (t..dirs).step_by(threads as usize) {
                        let dir = root.join(dir_path(spec, vocab, d));
                        std::fs::create_dir_all(&dir)
                            .map_err(|e| BenchError::io("cannot create", &dir, e))?;
                        let end = ((d + 1) * FILES_PER_DIR).min(spec.files);
                        for n in d * FILES_PER_DIR..end {
                            bytes += write_file(spec, vocab, root, n, extra, names, &mut buf)?;
                        }
                    }
                    Ok(bytes)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a writer thread panicked"))
            .collect::<Result<Vec<u64>>>()
    })?;
    let tops = dirs.div_ceil(shape::DIRS_PER_TOP);
    Ok(Made {
        files: spec.files,
        dirs: dirs + tops,
        bytes: totals.iter().sum(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn write_file(
    spec: &Spec,
    vocab: &Vocabulary,
    root: &Path,
    n: u64,
    extra: &HashMap<u64, Vec<&str>>,
    names: &HashMap<u64, &str>,
    buf: &mut Vec<u8>,
) -> Result<u64> {
    let mut rng = Rng::new(spec.seed, stream::FILE, n);
    let size = shape::size(&mut rng, n);
    let mtime = shape::mtime(&mut rng);
    let path = root.join(file_path(spec, vocab, n, names.get(&n).copied()));
    buf.clear();
    let mut text = Rng::new(spec.seed, stream::TEXT, n);
    let mut planted: Vec<&str> = extra.get(&n).cloned().unwrap_or_default();
    if let Some((_, line)) = SCRIPT_LINES.iter().find(|(at, _)| n % 1000 == *at) {
        planted.push(line);
    }
    let mut on_line = 0;
    let line_len = 8 + text.below(9);
    while (buf.len() as u64) < size {
        let word = match planted.pop() {
            Some(w) if text.below(4) == 0 || buf.len() as u64 + 64 >= size => w,
            other => {
                planted.extend(other);
                vocab.draw(text.bits())
            }
        };
        buf.extend_from_slice(word.as_bytes());
        on_line += 1;
        if on_line == line_len {
            buf.push(b'\n');
            on_line = 0;
        } else {
            buf.push(b' ');
        }
    }
    for w in planted {
        buf.extend_from_slice(w.as_bytes());
        buf.push(b'\n');
    }
    let mut file =
        std::fs::File::create(&path).map_err(|e| BenchError::io("cannot create", &path, e))?;
    file.write_all(buf)
        .map_err(|e| BenchError::io("cannot write", &path, e))?;
    let when = SystemTime::UNIX_EPOCH + Duration::from_secs(mtime as u64);
    file.set_modified(when)
        .map_err(|e| BenchError::io("cannot set the time of", &path, e))?;
    Ok(buf.len() as u64)
}

/// The files whose name starts with a planted word: the first file of each of the first 20 words (unless
/// an earlier word claimed it).
fn named_files(planted: &[(String, Vec<u64>)]) -> HashMap<u64, &str> {
    let mut names = HashMap::new();
    for (word, files) in planted.iter().take(20) {
        names.entry(files[0]).or_insert(word.as_str());
    }
    names
}

/// Writes the oracle: one line per planted word, `word<TAB>count<TAB>path<TAB>path...` (absolute paths
/// under `root`), then one line per planted script line (`line<TAB>count`).
pub fn write_oracle(spec: &Spec, vocab: &Vocabulary, root: &Path, out: &Path) -> Result<()> {
    let mut text = String::new();
    let planted = plant(spec);
    let names = named_files(&planted);
    for (word, files) in &planted {
        text.push_str(&format!("{word}\t{}", files.len()));
        for f in files {
            let p = root.join(file_path(spec, vocab, *f, names.get(f).copied()));
            text.push('\t');
            text.push_str(&p.to_string_lossy());
        }
        text.push('\n');
    }
    for (at, line) in SCRIPT_LINES {
        let count = spec.files / 1000 + u64::from(spec.files % 1000 > at);
        text.push_str(&format!("{line}\t{count}\n"));
    }
    std::fs::write(out, text).map_err(|e| BenchError::io("cannot write", out, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocab() -> Vocabulary {
        Vocabulary::from_counts(
            ["report", "import", "the", "running", "connection"]
                .iter()
                .enumerate()
                .map(|(i, w)| ((*w).to_owned(), 10 - i as u64))
                .collect(),
        )
    }

    fn tree(threads: usize) -> (tempfile::TempDir, Made, String) {
        let dir = tempfile::tempdir().unwrap();
        let spec = Spec {
            files: 1203,
            seed: 16,
            planted: 30,
            threads,
        };
        let v = vocab();
        let made = generate(&spec, &v, dir.path()).unwrap();
        let oracle = dir.path().with_extension("oracle");
        write_oracle(&spec, &v, dir.path(), &oracle).unwrap();
        let text = std::fs::read_to_string(&oracle).unwrap();
        std::fs::remove_file(&oracle).unwrap();
        (dir, made, text)
    }

    fn listing(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    let rel = p.strip_prefix(root).unwrap().to_path_buf();
                    out.push((rel, std::fs::read(&p).unwrap()));
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn same_tree_whatever_the_threads_and_the_oracle_holds() {
        let (a, made, oracle) = tree(1);
        let (b, made2, oracle2) = tree(3);
        assert_eq!(
            (made.files, made.dirs, made.bytes),
            (1203, 121 + 1, made2.bytes)
        );
        let (la, lb) = (listing(a.path()), listing(b.path()));
        assert_eq!(la.len(), 1203);
        assert_eq!(la, lb);
        assert_eq!(
            oracle.replace(&*a.path().to_string_lossy(), "R"),
            oracle2.replace(&*b.path().to_string_lossy(), "R")
        );
        let tokens: Vec<std::collections::HashSet<&str>> = la
            .iter()
            .map(|(_, bytes)| {
                std::str::from_utf8(bytes)
                    .unwrap()
                    .split_whitespace()
                    .collect()
            })
            .collect();
        for line in oracle.lines() {
            let cols: Vec<&str> = line.split('\t').collect();
            let want: usize = cols[1].parse().unwrap();
            let holders: Vec<&PathBuf> = la
                .iter()
                .zip(&tokens)
                .filter(|((_, bytes), words)| {
                    words.contains(cols[0])
                        || (cols[0].contains(' ')
                            && String::from_utf8_lossy(bytes).contains(cols[0]))
                })
                .map(|((p, _), _)| p)
                .collect();
            assert_eq!(holders.len(), want, "{line}");
            for p in &cols[2..] {
                assert!(Path::new(p).is_file(), "{p}");
            }
        }
        let named = la
            .iter()
            .filter(|(p, _)| p.to_string_lossy().contains("/fx"))
            .count();
        let spec = Spec {
            files: 1203,
            seed: 16,
            planted: 30,
            threads: 1,
        };
        let want = named_files(&plant(&spec)).len();
        assert!(want >= 18, "{want}");
        assert_eq!(named, want);
    }
}
