//! Stemming a query: the stems of every single word that is neither exact (`=word`, a quoted phrase)
//! nor a prefix, computed with the stem analyzer the index records (so with the languages it was
//! built with), before the query is compiled.

use fandex_schema::analysis::tokens_of;
use tantivy::tokenizer::TextAnalyzer;

use crate::parse::ast::Expr;

/// Fills in [`TextMatch::stems`](crate::parse::ast::TextMatch::stems) throughout `expr`, excluded words
/// included (an exclusion of `running` also excludes `run`).
pub(crate) fn add_stems(expr: &mut Expr, analyzer: &mut TextAnalyzer) {
    match expr {
        Expr::And(children) | Expr::Or(children) => {
            for child in children {
                add_stems(child, analyzer);
            }
        }
        Expr::Not(inner) => add_stems(inner, analyzer),
        Expr::Text(m) if !m.exact && !m.prefix && m.terms.len() == 1 => {
            m.stems = tokens_of(analyzer, &m.terms[0]);
            m.stems.dedup();
        }
        Expr::Text(_)
        | Expr::Ext(_)
        | Expr::Path { .. }
        | Expr::Size(_)
        | Expr::Modified(_)
        | Expr::Mime { .. }
        | Expr::Type(_)
        | Expr::Fuzzy { .. }
        | Expr::NamePattern(_) => {}
    }
}
