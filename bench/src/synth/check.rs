//! The oracle check: every planted word of a synthetic tree is searched (through the library or a
//! daemon) and the files found are compared with the files the generator planted it in.

use std::collections::BTreeSet;
use std::path::Path;

use fandex::{SearchRequest, SearchResults};

use crate::error::{BenchError, Result};

/// How the searches matched the oracle.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checked {
    /// Planted words searched.
    pub words: usize,
    /// Words whose files were exactly the planted ones.
    pub exact: usize,
    /// Files the oracle expects, over all words.
    pub expected: usize,
    /// Expected files found.
    pub found: usize,
    /// Files found that the oracle does not list.
    pub extra: usize,
    /// The first few mismatches, for the log.
    pub mismatches: Vec<String>,
}

/// Reads the oracle written by [`super::write_oracle`] and checks each planted word (lines with paths)
/// with `search`; the planted script lines (no paths) are checked by their count.
pub fn check(
    oracle: &Path,
    search: &mut dyn FnMut(&SearchRequest) -> Result<SearchResults>,
) -> Result<Checked> {
    let text =
        std::fs::read_to_string(oracle).map_err(|e| BenchError::io("cannot read", oracle, e))?;
    let mut out = Checked::default();
    for line in text.lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        let [word, count, paths @ ..] = &cols[..] else {
            return Err(BenchError::Invalid(format!(
                "{}: bad oracle line {line:?}",
                oracle.display()
            )));
        };
        let count: usize = count
            .parse()
            .map_err(|_| BenchError::Invalid(format!("bad count in oracle line {line:?}")))?;
        let query = if paths.is_empty() {
            format!("\"{word}\"")
        } else {
            (*word).to_owned()
        };
        let results = search(&SearchRequest {
            query,
            limit: count + 10,
            snippets: false,
            ..SearchRequest::default()
        })?;
        let got: BTreeSet<String> = results
            .hits
            .iter()
            .filter(|h| h.part.is_none())
            .map(|h| h.path.to_string_lossy().into_owned())
            .collect();
        out.words += 1;
        out.expected += count;
        let ok = if paths.is_empty() {
            out.found += got.len().min(count);
            out.extra += got.len().saturating_sub(count);
            got.len() == count
        } else {
            let want: BTreeSet<String> = paths.iter().map(|p| (*p).to_owned()).collect();
            out.found += want.intersection(&got).count();
            out.extra += got.difference(&want).count();
            want == got && got.len() == count
        };
        if ok {
            out.exact += 1;
        } else if out.mismatches.len() < 5 {
            out.mismatches.push(format!(
                "{word}: expected {count} files, found {}",
                got.len()
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{Spec, Vocabulary, generate, write_oracle};
    use fandex::indexer::engine::{Progress, UpdateRequest};
    use fandex::{Config, Engine, IndexDir};

    #[test]
    fn an_indexed_tree_matches_its_oracle_and_a_wrong_oracle_does_not() {
        let root = tempfile::tempdir().unwrap();
        let vocab = Vocabulary::from_counts(vec![
            ("alpha".into(), 5),
            ("beta".into(), 3),
            ("gamma".into(), 1),
        ]);
        let spec = Spec {
            files: 1001,
            seed: 3,
            planted: 12,
            threads: 2,
        };
        generate(&spec, &vocab, root.path()).unwrap();
        let oracle = root.path().with_extension("oracle");
        write_oracle(&spec, &vocab, root.path(), &oracle).unwrap();
        let index = tempfile::tempdir().unwrap();
        let dir = IndexDir::at(index.path().join("i"));
        let mut engine = Engine::open(dir.clone(), Config::default()).unwrap();
        let request = UpdateRequest {
            add_roots: vec![root.path().to_path_buf()],
            forget_roots: vec![],
        };
        engine.update(&request, &Progress::default()).unwrap();
        engine.close().unwrap();
        let searcher = fandex::open_searcher(&dir).unwrap();
        let mut search = |r: &SearchRequest| {
            searcher.search(r).map_err(|source| BenchError::Query {
                query: r.query.clone(),
                source,
            })
        };
        let c = check(&oracle, &mut search).unwrap();
        assert_eq!((c.words, c.exact, c.extra), (15, 15, 0), "{c:?}");
        assert_eq!(c.found, c.expected);
        let text = std::fs::read_to_string(&oracle).unwrap();
        std::fs::write(&oracle, text.replacen("\t1\t", "\t2\t", 1)).unwrap();
        let c = check(&oracle, &mut search).unwrap();
        assert_eq!(c.exact, 14, "{c:?}");
        std::fs::remove_file(&oracle).unwrap();
    }
}
