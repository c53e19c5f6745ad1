//! Malformed and hostile input: every parser returns a document or an error, never panics.

use std::panic::{AssertUnwindSafe, catch_unwind};

use fandex_formats::Limits;

use crate::common::{extract_bytes, extract_bytes_with, fixture};

const MUTANTS_PER_FIXTURE: u64 = 200;

/// Mutants of each fixture also given to `pdftotext` (a process each: the rest test the in-process parsers,
/// which are what could panic).
const MUTANTS_THROUGH_PDFTOTEXT: u64 = 20;

/// A small deterministic generator (xorshift64*), so a failure names a reproducible seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Truncated, bit-flipped, or both.
fn mutate(original: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut bytes = original.to_vec();
    let mode = rng.below(3);
    if mode != 1 {
        let flips = 1 + rng.below(20);
        for _ in 0..flips {
            let at = rng.below(bytes.len());
            bytes[at] ^= 1 << rng.below(8);
        }
    }
    if mode != 0 {
        bytes.truncate(rng.below(bytes.len()));
    }
    bytes
}

#[test]
fn mutated_fixtures_never_panic() {
    let mut names: Vec<String> = std::fs::read_dir(fixture(""))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| !n.starts_with("make") && n != "bomb.zip")
        .collect();
    names.sort();
    let mut panics = Vec::new();
    let (mut ok, mut errors) = (0, 0);
    for (index, name) in names.iter().enumerate() {
        let original = std::fs::read(fixture(name)).unwrap();
        for mutant in 0..MUTANTS_PER_FIXTURE {
            let seed = (index as u64 + 1) * 1_000_003 + mutant;
            let bytes = mutate(&original, &mut Rng(seed));
            let limits = Limits {
                max_total_bytes: 64 << 20,
                pdftotext: if mutant < MUTANTS_THROUGH_PDFTOTEXT {
                    Limits::default().pdftotext
                } else {
                    None
                },
                ..Limits::default()
            };
            match catch_unwind(AssertUnwindSafe(|| {
                extract_bytes_with(&bytes, name, &limits)
            })) {
                Ok(Ok(_)) => ok += 1,
                Ok(Err(e)) => {
                    assert!(
                        !e.to_string().contains('\n'),
                        "{name} seed {seed}: multi-line error {e}"
                    );
                    errors += 1;
                }
                Err(_) => panics.push(format!("{name} seed {seed}")),
            }
        }
    }
    assert!(
        ok > 0 && errors > 0,
        "mutants should both pass and fail: {ok} ok, {errors} errors"
    );
    assert!(panics.is_empty(), "{} panics: {panics:?}", panics.len());
}

#[test]
fn billion_laughs_entities_are_not_expanded() {
    let mut xml = String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE d [<!ENTITY l0 \"lol\">");
    for i in 1..10 {
        let refs: String = (0..10).map(|_| format!("&l{};", i - 1)).collect();
        xml.push_str(&format!("<!ENTITY l{i} \"{refs}\">"));
    }
    xml.push_str(
        "]>\n<office:document xmlns:office=\"urn:oasis:names:tc:opendocument:xmlns:office:1.0\" ",
    );
    xml.push_str("xmlns:text=\"urn:oasis:names:tc:opendocument:xmlns:text:1.0\">");
    xml.push_str(
        "<office:body><text:p>before &l9; after</text:p></office:body></office:document>\n",
    );
    let doc = extract_bytes(xml.as_bytes(), "laughs.fodt").unwrap();
    assert_eq!(doc.text, "before  after\n");
}

#[test]
fn truncated_inputs_are_errors_not_documents_of_garbage() {
    for name in [
        "sample.docx",
        "sample.pdf",
        "sample.epub",
        "sample.xlsx",
        "archive.tar.xz",
    ] {
        let bytes = std::fs::read(fixture(name)).unwrap();
        let err = extract_bytes(&bytes[..bytes.len() / 2], name).unwrap_err();
        assert!(err.to_string().starts_with("malformed"), "{name}: {err}");
    }
}
