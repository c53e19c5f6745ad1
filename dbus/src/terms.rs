//! Desktop search terms (what the user typed, split into words by the shell) as a fandex query.
//!
//! Each term must match, as a word prefix when it is plain letters and digits (the user is still
//! typing), else as the literal phrase of its parts: no term is ever read as query syntax, so `-x`,
//! `ext:md` or `(` typed in the shell search for those characters' words instead of failing.

/// The query for `terms`, or `None` when no term has a letter or digit (nothing to search).
pub fn query_for_terms<S: AsRef<str>>(terms: &[S]) -> Option<String> {
    let parts: Vec<String> = terms
        .iter()
        .map(AsRef::as_ref)
        .filter(|t| t.chars().any(char::is_alphanumeric))
        .map(|term| {
            if term.chars().all(char::is_alphanumeric) {
                format!("{term}*")
            } else {
                let inner: String = term.chars().filter(|&c| c != '"').collect();
                format!("\"{inner}\"")
            }
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// The terms of a KRunner query line (KRunner sends the whole line).
pub fn split_line(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_terms_are_prefixes_and_others_are_phrases() {
        assert_eq!(query_for_terms(&["rep", "2024"]).unwrap(), "rep* 2024*");
        assert_eq!(
            query_for_terms(&["ext:md", "-x", "a\"b"]).unwrap(),
            "\"ext:md\" \"-x\" \"ab\""
        );
        assert_eq!(query_for_terms(&["(", "--"]), None);
        assert_eq!(query_for_terms::<&str>(&[]), None);
        assert_eq!(split_line("  a  b "), vec!["a", "b"]);
    }

    #[test]
    fn every_built_query_parses() {
        for terms in [
            vec!["a"],
            vec!["ext:md", "x"],
            vec!["(a", "b)"],
            vec!["café"],
            vec!["*x*"],
        ] {
            let query = query_for_terms(&terms).unwrap();
            fandex_query::parse::parse(&query).unwrap_or_else(|e| panic!("{query}: {e}"));
        }
    }
}
