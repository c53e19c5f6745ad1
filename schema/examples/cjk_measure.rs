//! Measures what CJK bigrams cost (issue 13): index size, indexing time and phrase query time on a
//! directory of CJK text, for three analyzers of the content field:
//!
//! - `words`: the analyzer before issue 13 (a CJK run is one token, so words inside it are not found);
//! - `bigrams`: fandex's (overlapping bigrams, plus the last character of each run);
//! - `bigrams+unigrams`: every character also indexed alone (Lucene's `outputUnigrams`);
//! - `bigrams+stems`: fandex's with the English stem field (`content_stem`: frequencies, no positions),
//!   for the cost of stemming.
//!
//! `cargo run -j2 --example cjk_measure -- DIR 'WORD'...` (a debug build: compare the rows, not the
//! absolute times).

use std::path::Path;
use std::time::Instant;

use fandex_schema::analysis::tokens_of;
use tantivy::collector::Count;
use tantivy::query::{PhraseQuery, Query, TermQuery};
use tantivy::schema::{IndexRecordOption, Schema, TextFieldIndexing, TextOptions};
use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, NgramTokenizer, RemoveLongFilter, SimpleTokenizer, TextAnalyzer,
};
use tantivy::{Index, IndexWriter, TantivyDocument, Term};

fn texts(dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            texts(&path, out);
        } else if let Ok(text) = std::fs::read_to_string(&path) {
            out.push(text);
        }
    }
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut docs = Vec::new();
    texts(Path::new(&args[0]), &mut docs);
    let bytes: usize = docs.iter().map(String::len).sum();
    println!("{} files, {} bytes of text", docs.len(), bytes);
    let words = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(65))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build();
    let bigrams = fandex_schema::text_analyzer();
    let unigrams = TextAnalyzer::builder(NgramTokenizer::new(1, 1, false).unwrap()).build();
    let stems = fandex_schema::analysis::stem_analyzer(&[fandex_schema::Language::English]);
    let variants = [
        ("words", words.clone()),
        ("bigrams", bigrams.clone()),
        ("bigrams+unigrams", bigrams.clone()),
        ("bigrams+stems", bigrams),
    ];
    for (label, analyzer) in variants {
        let tmp = tempfile::tempdir().unwrap();
        let mut builder = Schema::builder();
        let indexing = TextFieldIndexing::default()
            .set_tokenizer("t")
            .set_index_option(IndexRecordOption::WithFreqsAndPositions);
        let field = builder.add_text_field(
            "content",
            TextOptions::default().set_indexing_options(indexing.clone()),
        );
        let extra_indexing = match label {
            "bigrams+stems" => indexing
                .set_tokenizer("s")
                .set_index_option(IndexRecordOption::WithFreqs),
            _ => indexing.set_tokenizer("u"),
        };
        let extra = builder.add_text_field(
            "extra",
            TextOptions::default().set_indexing_options(extra_indexing),
        );
        let index = Index::create_in_dir(tmp.path(), builder.build()).unwrap();
        index.tokenizers().register("t", analyzer);
        index.tokenizers().register("u", unigrams.clone());
        index.tokenizers().register("s", stems.clone());
        let started = Instant::now();
        let mut writer: IndexWriter = index.writer_with_num_threads(1, 50_000_000).unwrap();
        for text in &docs {
            let mut doc = TantivyDocument::default();
            doc.add_text(field, text);
            if label.contains('+') {
                doc.add_text(extra, text);
            }
            writer.add_document(doc).unwrap();
        }
        writer.commit().unwrap();
        writer.wait_merging_threads().unwrap();
        let indexing = started.elapsed();
        let reader = index.reader().unwrap();
        let searcher = reader.searcher();
        let mut row = format!(
            "{label:<17} index {:>9} bytes ({:.2}x the text), indexing {:>6.0} ms",
            dir_bytes(tmp.path()),
            dir_bytes(tmp.path()) as f64 / bytes as f64,
            indexing.as_secs_f64() * 1000.0
        );
        for word in &args[1..] {
            let terms: Vec<Term> = if label == "words" {
                tokens_of(&mut words.clone(), word)
            } else {
                fandex_schema::tokenize(word)
            }
            .iter()
            .map(|t| Term::from_field_text(field, t))
            .collect();
            let query: Box<dyn Query> = if terms.len() == 1 {
                Box::new(TermQuery::new(
                    terms[0].clone(),
                    IndexRecordOption::WithFreqs,
                ))
            } else {
                Box::new(PhraseQuery::new(terms))
            };
            let started = Instant::now();
            let mut hits = 0;
            for _ in 0..100 {
                hits = searcher.search(&*query, &Count).unwrap();
            }
            let per = started.elapsed().as_secs_f64() * 1000.0 / 100.0;
            row.push_str(&format!("; {word}: {hits} files, {per:.3} ms"));
        }
        println!("{row}");
    }
}
