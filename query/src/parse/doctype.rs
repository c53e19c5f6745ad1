//! The values of the document-type filters: `mime:` (an exact MIME type or a `family/*` prefix) and
//! `type:` (classes such as `pdf`, `document`, `image`, `folder`, from [`fandex_schema::mime::CLASSES`]).

use fandex_schema::mime::CLASSES;

use super::ast::Expr;
use crate::error::{QueryError, syntax};

/// `mime:application/pdf` or `mime:image/*`, case-insensitive. `value_position` is the 1-based character
/// position of the value, for errors.
pub(super) fn mime(value: &str, value_position: usize) -> Result<Expr, QueryError> {
    let value = value.to_ascii_lowercase();
    let (body, prefix) = match value.strip_suffix('*') {
        Some(body) => (body, true),
        None => (value.as_str(), false),
    };
    if let Some(star) = body.chars().position(|c| c == '*') {
        return Err(syntax(
            "mime: takes a type (mime:application/pdf) or a family ending in /* (mime:image/*); \
             '*' is only allowed at the end",
            value_position + star,
        ));
    }
    let Some((family, rest)) = body.split_once('/') else {
        return Err(syntax(
            "mime: takes a type with a '/', such as mime:application/pdf or mime:image/*",
            value_position,
        ));
    };
    if family.is_empty() || (rest.is_empty() && !prefix) {
        return Err(syntax(
            "mime: takes a type with a '/', such as mime:application/pdf or mime:image/*",
            value_position,
        ));
    }
    Ok(Expr::Mime {
        value: body.to_owned(),
        prefix,
    })
}

/// `type:pdf` or `type:image,video` (any of them), case-insensitive.
pub(super) fn types(value: &str, value_position: usize) -> Result<Expr, QueryError> {
    let mut classes = Vec::new();
    let mut at = value_position;
    for class in value.split(',') {
        let lower = class.to_ascii_lowercase();
        if !lower.is_empty() {
            if !CLASSES.contains(&lower.as_str()) {
                return Err(syntax(
                    format!(
                        "unknown type '{class}'; type: takes one or more of {} (type:pdf, type:image,video)",
                        CLASSES.join(", ")
                    ),
                    at,
                ));
            }
            classes.push(lower);
        }
        at += class.chars().count() + 1;
    }
    if classes.is_empty() {
        return Err(syntax(
            "empty value for 'type:': give a class such as type:pdf",
            value_position,
        ));
    }
    Ok(Expr::Type(classes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position(err: QueryError) -> usize {
        match err {
            QueryError::Syntax { position, .. } => position,
            other => panic!("expected a syntax error, got {other:?}"),
        }
    }

    #[test]
    fn mime_values() {
        assert_eq!(
            mime("Application/PDF", 6).unwrap(),
            Expr::Mime {
                value: "application/pdf".into(),
                prefix: false
            }
        );
        assert_eq!(
            mime("image/*", 6).unwrap(),
            Expr::Mime {
                value: "image/".into(),
                prefix: true
            }
        );
        assert_eq!(position(mime("pdf", 6).unwrap_err()), 6);
        assert_eq!(position(mime("im*ge/png", 6).unwrap_err()), 8);
        assert_eq!(position(mime("image/", 6).unwrap_err()), 6);
    }

    #[test]
    fn type_values() {
        assert_eq!(
            types("PDF,image", 6).unwrap(),
            Expr::Type(vec!["pdf".into(), "image".into()])
        );
        assert_eq!(position(types("pdf,bogus", 6).unwrap_err()), 10);
        assert_eq!(
            types("Folder,pdf", 6).unwrap(),
            Expr::Type(vec!["folder".into(), "pdf".into()])
        );
        assert_eq!(position(types(",", 6).unwrap_err()), 6);
    }
}
