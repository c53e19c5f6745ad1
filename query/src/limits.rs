//! Every bound on what one search may ask for, in one place.
//!
//! Work and memory of a search grow with the query (each term is a posting list to walk, each phrase word
//! a position list), with the number of hits asked for (stored text read, snippets made) and with the
//! request's size on the wire. Without bounds one request of a few megabytes took seconds and gigabytes
//! (a 1 MB `a a a ...` query 9 s and 2.3 GB; a million-term `OR` 16.7 GB). The limits below are far above
//! anything a person types or a script sensibly sends, and low enough that the worst accepted query costs
//! what a few hundred ordinary ones do. A request beyond one is refused, before any work is done, with
//! [`QueryError::TooLarge`], which names the limit (the daemon answers it as `bad_request`).

use crate::error::QueryError;
use crate::parse::ast::{Expr, TextMatch};

/// Longest query text, in bytes (16 KiB). A typed query is a few dozen bytes; a pasted paragraph in
/// quotes or a script's list of a hundred alternatives fits with room to spare. Checked before the text is
/// even split into characters.
pub const MAX_QUERY_BYTES: usize = 16 * 1024;

/// Most search terms in one query (256): every word, every word of a phrase and every `ext:` value counts
/// one, every `path:` one. Each is a posting list walked per segment; 256 keeps the worst query's cost
/// within a few hundred single-word searches.
pub const MAX_TERMS: usize = 256;

/// Most words in one phrase (64): longer than any sentence one quotes to find a file, and a phrase's cost
/// grows with its words' position lists.
pub const MAX_PHRASE_WORDS: usize = 64;

/// Most prefix searches (`foo*`) in one query (16). Each one walks every posting list of the terms it
/// covers, which for a one-letter prefix over a large vocabulary is a sizable part of the index.
pub const MAX_PREFIXES: usize = 16;

/// How many dictionary terms a prefix may expand to in each segment: the last word of a multi-word prefix
/// (`foo-ba*`, whose expansions tantivy holds in memory while it checks the phrase) and a single-word prefix
/// (`ba*`, a walk of the term dictionary from `ba`; tantivy 0.27 stops it after this many terms too). So
/// a one-letter prefix over a large vocabulary walks at most this many posting lists per segment; the
/// terms past it (in dictionary order) are not searched.
pub const MAX_PHRASE_PREFIX_EXPANSIONS: u32 = 1000;

/// The deepest nesting of parentheses and negations accepted; deeper queries are a syntax error rather
/// than a risk of exhausting the parser's stack.
pub const MAX_NESTING: usize = 64;

/// Most hits one search may return (1,000,000, the bound the daemon used to clamp to silently). Scripts
/// and tests ask for "all of them" with a limit this large; each hit returned is a stored document read
/// and a snippet made, so what one request may do stays proportional to this and to the index's matches.
pub const MAX_LIMIT: usize = 1_000_000;

/// Longest request line the daemon reads, in bytes (256 KiB): a search of [`MAX_QUERY_BYTES`] even with
/// every character JSON-escaped (6 bytes each is 96 KiB) plus a working and a home directory of `PATH_MAX`
/// in base64 (5.5 KiB each). The daemon holds at most this much per connection before it parses.
pub const MAX_REQUEST_BYTES: usize = 256 * 1024;

/// Refuses query text longer than [`MAX_QUERY_BYTES`].
pub(crate) fn check_query_text(query: &str) -> Result<(), QueryError> {
    bounded("query too long", query.len(), MAX_QUERY_BYTES, "bytes")
}

/// Refuses a `limit` above [`MAX_LIMIT`].
pub(crate) fn check_limit(limit: usize) -> Result<(), QueryError> {
    bounded("too many hits asked for", limit, MAX_LIMIT, "hits")
}

/// Refuses an `offset` above [`MAX_LIMIT`]: the hits skipped are ordered like returned ones.
pub(crate) fn check_offset(offset: usize) -> Result<(), QueryError> {
    bounded("offset too large", offset, MAX_LIMIT, "hits")
}

/// Refuses a parsed query with more than [`MAX_TERMS`] terms, a phrase of more than
/// [`MAX_PHRASE_WORDS`] words or more than [`MAX_PREFIXES`] prefix searches.
pub(crate) fn check_expr(expr: &Expr) -> Result<(), QueryError> {
    let mut count = Counts::default();
    count.add(expr)?;
    bounded("too many search terms", count.terms, MAX_TERMS, "terms")?;
    bounded(
        "too many prefix searches",
        count.prefixes,
        MAX_PREFIXES,
        "prefixes",
    )
}

fn bounded(
    what: &'static str,
    found: usize,
    limit: usize,
    unit: &'static str,
) -> Result<(), QueryError> {
    if found > limit {
        return Err(QueryError::TooLarge {
            what,
            found,
            limit,
            unit,
        });
    }
    Ok(())
}

#[derive(Default)]
struct Counts {
    terms: usize,
    prefixes: usize,
}

impl Counts {
    fn add(&mut self, expr: &Expr) -> Result<(), QueryError> {
        match expr {
            Expr::And(children) | Expr::Or(children) => {
                for child in children {
                    self.add(child)?;
                }
            }
            Expr::Not(inner) => self.add(inner)?,
            Expr::Text(TextMatch { terms, prefix, .. }) => {
                bounded("phrase too long", terms.len(), MAX_PHRASE_WORDS, "words")?;
                self.terms += terms.len();
                self.prefixes += usize::from(*prefix);
            }
            Expr::Ext(exts) | Expr::Type(exts) => self.terms += exts.len(),
            Expr::Mime { .. } => self.terms += 1,
            Expr::Path { .. } | Expr::Size(_) | Expr::Modified(_) => self.terms += 1,
            // A fuzzy word walks the dictionary like a prefix does; so may a name pattern.
            Expr::Fuzzy { .. } | Expr::NamePattern(_) => {
                self.terms += 1;
                self.prefixes += 1;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_is_bounded() {
        assert!(check_limit(MAX_LIMIT).is_ok());
        let err = check_limit(MAX_LIMIT + 1).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "too many hits asked for: {} hits, the limit is {MAX_LIMIT}",
                MAX_LIMIT + 1
            )
        );
    }

    #[test]
    fn a_request_of_the_largest_query_fits_the_request_line() {
        // Every character of the query escaped by JSON (\u0001 is 6 bytes), plus two PATH_MAX paths.
        let query = "\u{1}".repeat(MAX_QUERY_BYTES);
        let line = serde_json::json!({
            "op": "search",
            "query": query,
            "limit": MAX_LIMIT,
            "cwd": "A".repeat(4096 * 4 / 3 + 4),
            "home": "A".repeat(4096 * 4 / 3 + 4),
            "snippets": true,
        })
        .to_string();
        assert!(line.len() < MAX_REQUEST_BYTES, "{}", line.len());
    }
}
