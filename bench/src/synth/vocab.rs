//! The synthetic tree's vocabulary: the words of real corpora with their frequencies, and a sampler that
//! draws words with those frequencies (so the term statistics of the generated text look like real text).

use std::collections::HashMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use crate::error::{BenchError, Result};

/// Words of at most this many characters are kept (longer runs are identifiers or noise).
const MAX_WORD_CHARS: usize = 24;
/// Slots of the sampling table; a word's share of them is its share of the corpus's words (at least one).
const TABLE_SLOTS: usize = 1 << 22;

/// The vocabulary: distinct words, most frequent first, and a table to draw them by frequency.
#[derive(Debug)]
pub struct Vocabulary {
    /// Distinct words, most frequent first (ties by the word), lowercased.
    pub words: Vec<String>,
    /// How often each word occurred in the sources (same order as `words`).
    pub counts: Vec<u64>,
    table: Vec<u32>,
}

impl Vocabulary {
    /// Reads text files under `dirs` (sorted paths, files whose first 8 KiB hold a NUL skipped, at most
    /// `max_bytes` in all) and counts their words: runs of letters, lowercased, 2 to 24 characters,
    /// outside `<...>` markup. Words seen fewer than `min_count` times are dropped (typos, hashes).
    pub fn from_dirs(dirs: &[PathBuf], max_bytes: u64, min_count: u64) -> Result<Self> {
        let mut files = Vec::new();
        for d in dirs {
            list_files(d, &mut files)?;
        }
        files.sort();
        let mut counts: HashMap<String, u64> = HashMap::new();
        let mut read = 0u64;
        let mut buf = Vec::new();
        for f in files {
            if read >= max_bytes {
                break;
            }
            buf.clear();
            let Ok(file) = std::fs::File::open(&f) else {
                continue; // vanished or unreadable: not part of the vocabulary
            };
            file.take(max_bytes - read)
                .read_to_end(&mut buf)
                .map_err(|e| BenchError::io("cannot read", &f, e))?;
            if buf[..buf.len().min(8192)].contains(&0) {
                continue;
            }
            read += buf.len() as u64;
            count_words(&String::from_utf8_lossy(&buf), &mut counts);
        }
        let mut pairs: Vec<(String, u64)> = counts
            .into_iter()
            .filter(|(_, n)| *n >= min_count)
            .collect();
        if pairs.is_empty() {
            return Err(BenchError::Invalid(format!(
                "no words seen {min_count} times or more under {dirs:?}: no vocabulary"
            )));
        }
        pairs.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(Self::from_counts(pairs))
    }

    /// A vocabulary from `(word, count)` pairs, most frequent first.
    pub fn from_counts(pairs: Vec<(String, u64)>) -> Self {
        let total: u64 = pairs.iter().map(|p| p.1).sum::<u64>().max(1);
        let mut table = Vec::with_capacity(TABLE_SLOTS + pairs.len());
        for (i, (_, n)) in pairs.iter().enumerate() {
            let slots = ((*n as f64 / total as f64) * TABLE_SLOTS as f64).round() as usize;
            table.extend(std::iter::repeat_n(i as u32, slots.max(1)));
        }
        let (words, counts) = pairs.into_iter().unzip();
        Self {
            words,
            counts,
            table,
        }
    }

    /// A word drawn with the sources' frequencies, from 64 random bits.
    pub fn draw(&self, bits: u64) -> &str {
        let slot = ((u128::from(bits) * self.table.len() as u128) >> 64) as usize;
        &self.words[self.table[slot] as usize]
    }
}

fn count_words(text: &str, counts: &mut HashMap<String, u64>) {
    let mut word = String::new();
    let mut chars = 0;
    let mut in_tag = false;
    let mut flush = |word: &mut String, chars: &mut usize| {
        if (2..=MAX_WORD_CHARS).contains(chars) {
            *counts.entry(std::mem::take(word)).or_insert(0) += 1;
        }
        word.clear();
        *chars = 0;
    };
    for c in text.chars() {
        match c {
            '<' => {
                flush(&mut word, &mut chars);
                in_tag = true;
            }
            '>' => in_tag = false,
            c if !in_tag && c.is_alphabetic() => {
                word.extend(c.to_lowercase());
                chars += 1;
            }
            _ => flush(&mut word, &mut chars),
        }
    }
    flush(&mut word, &mut chars);
}

fn list_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| BenchError::io("cannot list", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| BenchError::io("cannot list", dir, e))?;
        let kind = entry
            .file_type()
            .map_err(|e| BenchError::io("cannot stat", &entry.path(), e))?;
        if kind.is_dir() {
            list_files(&entry.path(), out)?;
        } else if kind.is_file() {
            out.push(entry.path());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_words_outside_markup_and_draws_by_frequency() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("a.html"),
            "<div class=\"x\">Alpha alpha ALPHA beta</div> x gamma",
        )
        .unwrap();
        std::fs::write(dir.path().join("b.bin"), b"alpha\0alpha").unwrap();
        let v = Vocabulary::from_dirs(&[dir.path().to_path_buf()], 1 << 20, 1).unwrap();
        assert_eq!(v.words, ["alpha", "beta", "gamma"]);
        assert_eq!(v.counts, [3, 1, 1]);
        let mut seen = HashMap::new();
        for i in 0..10_000u64 {
            *seen
                .entry(v.draw(i.wrapping_mul(0x9E37_79B9_7F4A_7C15)))
                .or_insert(0) += 1;
        }
        let alpha = seen["alpha"];
        assert!(
            (5500..6500).contains(&alpha),
            "alpha drawn {alpha} of 10000"
        );
        assert!(Vocabulary::from_dirs(&[dir.path().to_path_buf()], 1 << 20, 9).is_err());
    }
}
