//! Text fidelity of document extraction: for each document that has a reference text (made by a
//! reference extractor: `pdftotext` for PDF, `pandoc -t plain` for office and e-book files, Python's
//! `email` package for mail), the share of the reference's distinct words that a search finds in that
//! document.
//!
//! "Words" are the terms the index's own analyzer makes of the reference text (so case, accents and
//! whatever the analyzer folds count as a search would), and "found in that document" means present
//! among the terms of the stored text (joined again from its chunks when stored in chunks) and metadata of the file's documents (its parts included),
//! analyzed by the analyzer of the field they came from. That is what a search for the word restricted
//! to the file returns, without running one search per word.

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use tantivy::schema::{FieldType, Value};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{Index, TantivyDocument};

use fandex::indexer::schema::chunks::assemble;
use fandex::indexer::schema::fields_of;

use crate::error::{BenchError, Result};

/// How much of one document's reference text the index holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocFidelity {
    /// The document's path relative to the corpus root.
    pub path: String,
    /// Distinct words of the reference text.
    pub reference_words: usize,
    /// How many of them the index holds for the document.
    pub found: usize,
}

impl DocFidelity {
    /// `found / reference_words` (1 for a reference without words).
    pub fn share(&self) -> f64 {
        if self.reference_words == 0 {
            1.0
        } else {
            self.found as f64 / self.reference_words as f64
        }
    }
}

/// Measures every reference file under `refs` (`REL_PATH.txt` for the corpus file `REL_PATH`) against
/// the fandex index in `tantivy_dir` of a corpus indexed at `corpus_root` (absolute, as indexed).
/// Documents with a reference but nothing in the index count as 0 found.
pub fn measure(tantivy_dir: &Path, corpus_root: &Path, refs: &Path) -> Result<Vec<DocFidelity>> {
    let index = Index::open_in_dir(tantivy_dir)
        .map_err(|e| BenchError::Invalid(format!("cannot open {}: {e}", tantivy_dir.display())))?;
    fandex::indexer::schema::register_analyzers(&index);
    let terms = terms_per_file(&index)?;
    let content_analyzer = analyzer_of(&index, "content")?;
    let mut out = Vec::new();
    for reference in reference_files(refs)? {
        let rel = reference
            .strip_prefix(refs)
            .unwrap_or(&reference)
            .with_extension("");
        let text =
            std::fs::read(&reference).map_err(|e| BenchError::io("cannot read", &reference, e))?;
        let words = analyze(
            &mut content_analyzer.clone(),
            &String::from_utf8_lossy(&text),
        );
        let held = terms.get(corpus_root.join(&rel).as_os_str().as_bytes());
        let found = held.map_or(0, |held| words.iter().filter(|w| held.contains(*w)).count());
        out.push(DocFidelity {
            path: rel.to_string_lossy().into_owned(),
            reference_words: words.len(),
            found,
        });
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// The analyzer the index uses for `field`.
fn analyzer_of(index: &Index, field: &str) -> Result<TextAnalyzer> {
    let schema = index.schema();
    let field = schema
        .get_field(field)
        .map_err(|e| BenchError::Invalid(format!("no field {field}: {e}")))?;
    let FieldType::Str(options) = schema.get_field_entry(field).field_type() else {
        return Err(BenchError::Invalid("not a text field".into()));
    };
    let name = options
        .get_indexing_options()
        .map(|o| o.tokenizer().to_owned())
        .ok_or_else(|| BenchError::Invalid("field not indexed".into()))?;
    index
        .tokenizers()
        .get(&name)
        .ok_or_else(|| BenchError::Invalid(format!("analyzer {name} not registered")))
}

/// For each file path in the index, the terms of all its documents' text (parts included; a text stored
/// in chunks joined again first, [`chunks::assemble`]) analyzed as `content` is, and of their stored
/// metadata fields (title, author, ...) analyzed by each field's own analyzer.
fn terms_per_file(index: &Index) -> Result<HashMap<Vec<u8>, HashSet<String>>> {
    let schema = index.schema();
    let fields = fields_of(&schema)
        .ok_or_else(|| BenchError::Invalid("not a fandex index of this version".into()))?;
    let mut content_analyzer = analyzer_of(index, "content")?;
    let mut analyzers = Vec::new();
    for (field, entry) in schema.fields() {
        if let FieldType::Str(options) = entry.field_type()
            && options.is_stored()
            && let Some(indexing) = options.get_indexing_options()
            && let Some(analyzer) = index.tokenizers().get(indexing.tokenizer())
        {
            analyzers.push((field, analyzer));
        }
    }
    let reader = index
        .reader()
        .map_err(|e| BenchError::Invalid(format!("cannot read the index: {e}")))?;
    let searcher = reader.searcher();
    // Every stored document (chunk documents have no path: they are grouped by their file's id).
    let mut per_file: HashMap<u64, Vec<TantivyDocument>> = HashMap::new();
    for segment in searcher.segment_readers() {
        let store = segment
            .get_store_reader(64)
            .map_err(|e| BenchError::Invalid(format!("cannot read the store: {e}")))?;
        for doc_id in segment.doc_ids_alive() {
            let doc: TantivyDocument = store
                .get(doc_id)
                .map_err(|e| BenchError::Invalid(format!("cannot read a document: {e}")))?;
            if let Some(id) = doc.get_first(fields.file_id).and_then(|v| v.as_u64()) {
                per_file.entry(id).or_default().push(doc);
            }
        }
    }
    let mut out: HashMap<Vec<u8>, HashSet<String>> = HashMap::new();
    for docs in per_file.values() {
        for (file, _) in assemble(docs, &fields) {
            let terms = out
                .entry(file.path.as_os_str().as_bytes().to_vec())
                .or_default();
            terms.extend(analyze(&mut content_analyzer, &file.text));
        }
        for doc in docs {
            let Some(path) = doc.get_first(fields.path).and_then(|v| v.as_bytes()) else {
                continue;
            };
            let terms = out.entry(path.to_vec()).or_default();
            for (field, analyzer) in &mut analyzers {
                for value in doc.get_all(*field) {
                    if let Some(text) = value.as_str() {
                        terms.extend(analyze(analyzer, text));
                    }
                }
            }
        }
    }
    Ok(out)
}

fn analyze(analyzer: &mut TextAnalyzer, text: &str) -> HashSet<String> {
    let mut words = HashSet::new();
    let mut stream = analyzer.token_stream(text);
    while stream.advance() {
        words.insert(stream.token().text.clone());
    }
    words
}

/// Every `*.txt` file under `dir`, recursively, sorted.
fn reference_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(|e| BenchError::io("cannot list", &d, e))? {
            let path = entry
                .map_err(|e| BenchError::io("cannot list", &d, e))?
                .path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension() == Some(OsStr::new("txt")) {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Measures (see [`measure`]) and returns the samples, overall and per file extension (`KIND_docs`,
/// `KIND_median_pct`, `KIND_p10_pct`, tab-separated lines), after writing every document's share, worst
/// first, to `worst`.
pub fn report(
    corpus: &str,
    tantivy_dir: &Path,
    refs: &Path,
    worst: &Path,
    root: &Path,
) -> Result<String> {
    let docs = measure(tantivy_dir, root, refs)?;
    let mut kinds: std::collections::BTreeMap<String, Vec<DocFidelity>> = Default::default();
    for doc in &docs {
        let ext = Path::new(&doc.path)
            .extension()
            .map_or("none".to_owned(), |e| e.to_string_lossy().into_owned());
        kinds.entry(ext).or_default().push(doc.clone());
    }
    kinds.insert("all".to_owned(), docs.clone());
    let mut samples = String::new();
    for (kind, docs) in &kinds {
        let pct = |q| format!("{:.1}", 100.0 * quantile(docs, q));
        for (metric, value) in [
            ("docs", docs.len().to_string()),
            ("median_pct", pct(0.5)),
            ("p10_pct", pct(0.1)),
        ] {
            samples.push_str(&format!(
                "{corpus}\tfidelity\tfandex\t{kind}_{metric}\t{value}\n"
            ));
        }
    }
    let mut sorted = docs;
    sorted.sort_by(|a, b| a.share().total_cmp(&b.share()));
    let mut lines = String::from("pct\tfound\twords\tpath\n");
    for d in &sorted {
        let pct = 100.0 * d.share();
        lines.push_str(&format!(
            "{pct:.1}\t{}\t{}\t{}\n",
            d.found, d.reference_words, d.path
        ));
    }
    std::fs::write(worst, lines).map_err(|e| BenchError::io("cannot write", worst, e))?;
    Ok(samples)
}

/// The share at quantile `q` (0 = worst) of the documents' shares.
pub fn quantile(docs: &[DocFidelity], q: f64) -> f64 {
    let mut shares: Vec<f64> = docs.iter().map(DocFidelity::share).collect();
    shares.sort_by(f64::total_cmp);
    if shares.is_empty() {
        return 0.0;
    }
    let at = ((shares.len() - 1) as f64 * q).round() as usize;
    shares[at.min(shares.len() - 1)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(path: &str, reference_words: usize, found: usize) -> DocFidelity {
        DocFidelity {
            path: path.into(),
            reference_words,
            found,
        }
    }

    #[test]
    fn shares_and_quantiles() {
        let docs = [
            doc("a", 10, 10),
            doc("b", 10, 5),
            doc("c", 0, 0),
            doc("d", 4, 3),
        ];
        assert_eq!(docs[1].share(), 0.5);
        assert_eq!(docs[2].share(), 1.0);
        assert_eq!(quantile(&docs, 0.0), 0.5);
        assert_eq!(quantile(&docs, 1.0), 1.0);
        assert_eq!(quantile(&docs, 0.5), 1.0);
        assert_eq!(quantile(&[], 0.5), 0.0);
    }

    #[test]
    fn texts_stored_inline_and_in_chunks_are_both_read() {
        use fandex::indexer::schema::{self, DocMeta, FileDoc, chunks::INLINE_TEXT_BYTES};
        let tmp = tempfile::tempdir().unwrap();
        let (dir, refs) = (tmp.path().join("idx"), tmp.path().join("refs"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::create_dir_all(&refs).unwrap();
        let (tantivy_schema, fields) = schema::build_schema();
        let index = Index::create_in_dir(&dir, tantivy_schema).unwrap();
        schema::register_analyzers(&index);
        let mut writer = index.writer_with_num_threads(1, 20 << 20).unwrap();
        // A long text is stored in chunk documents (no path); its last words are in the last chunk.
        let long = format!(
            "{}zebra quokka",
            "filler words ".repeat(INLINE_TEXT_BYTES / 6)
        );
        for (id, name, text) in [(1, "small.txt", "Alpha beta"), (2, "big.txt", &long[..])] {
            let file = FileDoc {
                file_id: id,
                path: Path::new("/c").join(name),
                size: text.len() as u64,
                mtime_ns: 0,
                text: text.to_string(),
            };
            for d in file.to_documents_with(&fields, &DocMeta::default()) {
                writer.add_document(d).unwrap();
            }
        }
        writer.commit().unwrap();
        std::fs::write(refs.join("small.txt.txt"), "alpha BETA gamma").unwrap();
        std::fs::write(refs.join("big.txt.txt"), "filler zebra quokka").unwrap();
        let docs = measure(&dir, Path::new("/c"), &refs).unwrap();
        assert_eq!(docs, [doc("big.txt", 3, 3), doc("small.txt", 3, 2)]);
    }
}
