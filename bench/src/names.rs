//! Name patterns at scale (issue 13): a synthetic set of file names, indexed in memory with fandex's
//! schema (names only, no text), then `name:` patterns timed through the library, as `locate` would be
//! asked. The names mix words, dates, numbers and extensions so that infix, glob and suffix patterns
//! each select a realistic share.

use std::path::PathBuf;
use std::time::Instant;

use fandex::indexer::schema::{self, FileDoc};
use fandex::{QueryEngine, SearchRequest};

use crate::error::BenchError;
use crate::stats::{Summary, summarize};

/// The patterns timed, with their class.
pub const PATTERNS: &[(&str, &str)] = &[
    ("name-infix", "name:*port*"),
    ("name-glob", "name:report-202?.pdf"),
    ("name-suffix", "name:*.tar.gz"),
    ("name-class", "name:[ab]*notes*"),
    ("name-short", "name:*.c"),
    ("names-mode", "port"),
];

const WORDS: &[&str] = &[
    "report", "notes", "invoice", "photo", "draft", "export", "summary", "budget", "sport",
    "backup", "letter", "scan", "main", "index", "config", "readme", "test", "plan", "data",
    "archive",
];
const EXTS: &[&str] = &[
    "pdf", "txt", "md", "c", "rs", "tar.gz", "jpg", "odt", "csv", "html", "py", "json",
];

/// The `i`th synthetic path: `/data/dNNN/dNN/<word>-<number>.<ext>` with a few variations.
pub fn synthetic_path(i: usize) -> PathBuf {
    // A cheap deterministic scramble so neighbours differ.
    let h = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 20;
    let word = WORDS[(h % WORDS.len() as u64) as usize];
    let other = WORDS[((h >> 8) % WORDS.len() as u64) as usize];
    let ext = EXTS[((h >> 16) % EXTS.len() as u64) as usize];
    let name = match h % 4 {
        0 => format!("{word}-{}.{ext}", 2000 + (h >> 24) % 30),
        1 => format!("{word}_{other}_{i}.{ext}"),
        2 => format!("{}{word}{i}.{ext}", &other[..2]),
        _ => format!("{word}.{other}.{}.{ext}", (h >> 28) % 1000),
    };
    PathBuf::from(format!(
        "/data/d{:03}/d{:02}/{name}",
        i % 997,
        (i / 997) % 100
    ))
}

/// One pattern's latencies.
pub struct Measured {
    pub class: &'static str,
    pub query: &'static str,
    pub millis: Summary,
    pub total: usize,
}

/// Indexes `count` synthetic names in memory, then searches each pattern `reps` times (20 hits, no
/// snippets). Returns the indexing time in seconds and the measurements.
pub fn measure(count: usize, reps: usize) -> Result<(f64, Vec<Measured>), BenchError> {
    let (schema, fields) = schema::build_schema();
    let index = tantivy::Index::create_in_ram(schema);
    schema::register_analyzers(&index);
    let started = Instant::now();
    let mut writer: tantivy::IndexWriter = index.writer_with_num_threads(2, 400_000_000)?;
    for i in 0..count {
        let doc = FileDoc {
            file_id: i as u64 + 1,
            path: synthetic_path(i),
            size: i as u64,
            mtime_ns: i as i64,
            text: String::new(),
        };
        writer.add_document(doc.to_document(&fields))?;
    }
    writer.commit()?;
    writer.wait_merging_threads()?;
    let indexed = started.elapsed().as_secs_f64();
    let reader = index.reader()?;
    reader.reload()?;
    let engine = QueryEngine::new(reader, fields);
    let mut out = Vec::new();
    for &(class, query) in PATTERNS {
        let request = SearchRequest {
            query: query.to_owned(),
            limit: 20,
            snippets: false,
            names: class == "names-mode",
            ..SearchRequest::default()
        };
        let mut samples = Vec::with_capacity(reps);
        let mut total = 0;
        for _ in 0..reps.max(1) {
            let t = Instant::now();
            total = engine
                .search(&request)
                .map_err(|source| BenchError::Query {
                    query: query.to_owned(),
                    source,
                })?
                .total;
            samples.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        let millis = summarize(&samples).ok_or_else(|| BenchError::Invalid("no samples".into()))?;
        out.push(Measured {
            class,
            query,
            millis,
            total,
        });
    }
    Ok((indexed, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_finds_something_and_counts_agree_with_the_names() {
        let count = 3000;
        let (_, measured) = measure(count, 1).unwrap();
        let infix = (0..count)
            .filter(|&i| {
                let p = synthetic_path(i);
                p.file_name().unwrap().to_string_lossy().contains("port")
            })
            .count();
        for m in &measured {
            assert!(m.total > 0, "{} found nothing", m.query);
        }
        assert_eq!(measured[0].total, infix);
        assert_eq!(measured[5].total, infix);
    }
}
