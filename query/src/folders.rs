//! Which queries answer folders. Directories are documents found by their name (issue 13), so a folder
//! is a result of a query that names it: a word or phrase that may be in its name (bare or `name:`), a
//! `name:` pattern or `--names`, a fuzzy word, or `type:folder` / `mime:inode/directory`. A query made
//! of filters alone (`path:`, `ext:`, `size:`, `modified:`, `type:pdf`) lists files, as before
//! directories were indexed; adding `type:folder` makes the same filters list folders.

use fandex_schema::{Fields, mime};
use tantivy::Term;
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::IndexRecordOption;

use crate::parse::ast::{Expr, Scope};

/// Whether `expr` may match a folder: one of its positive parts names folders (see the module
/// documentation). A part under a negation names nothing.
pub(crate) fn names_folders(expr: &Expr) -> bool {
    match expr {
        Expr::And(children) | Expr::Or(children) => children.iter().any(names_folders),
        Expr::Not(_) => false,
        Expr::Text(text) => matches!(text.scope, Scope::ContentOrName | Scope::Name),
        Expr::Fuzzy { scope, .. } => matches!(scope, Scope::ContentOrName | Scope::Name),
        Expr::NamePattern(_) => true,
        Expr::Type(classes) => classes.iter().any(|c| c == "folder"),
        Expr::Mime { value, prefix } => {
            value == mime::DIRECTORY || (*prefix && mime::DIRECTORY.starts_with(value.as_str()))
        }
        Expr::Ext(_) | Expr::Path { .. } | Expr::Size(_) | Expr::Modified(_) => false,
    }
}

/// `query` without the folders' documents when `expr` does not name folders; scores are unchanged.
pub(crate) fn files_unless_named(
    query: Box<dyn Query>,
    expr: &Expr,
    fields: &Fields,
) -> Box<dyn Query> {
    match folder_exclusion(expr, fields) {
        None => query,
        Some(folders) => Box::new(BooleanQuery::new(vec![
            (Occur::Must, query),
            (Occur::MustNot, folders),
        ])),
    }
}

/// What [`files_unless_named`] excludes from the matches of `expr`: the folders' documents when `expr`
/// does not name folders, else nothing.
pub(crate) fn folder_exclusion(expr: &Expr, fields: &Fields) -> Option<Box<dyn Query>> {
    if names_folders(expr) {
        return None;
    }
    let folder = Term::from_field_text(fields.kind, "folder");
    Some(Box::new(TermQuery::new(folder, IndexRecordOption::Basic)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{parse, parse_names};

    #[test]
    fn names_and_folder_types_name_folders_filters_do_not() {
        for query in [
            "projects",
            "name:proj*",
            "name:*port*",
            "recieve~",
            "type:folder",
            "path:/x type:folder",
            "mime:inode/directory",
            "mime:inode/*",
            "ext:pdf OR report",
        ] {
            assert!(names_folders(&parse(query).unwrap()), "{query}");
        }
        for query in [
            "path:/x",
            "ext:pdf",
            "size:>1k",
            "modified:today",
            "type:pdf",
            "-projects",
            "title:x",
            "mime:application/pdf",
        ] {
            assert!(!names_folders(&parse(query).unwrap()), "{query}");
        }
        assert!(names_folders(&parse_names("port").unwrap()));
    }
}
