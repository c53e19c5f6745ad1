//! MIME types of plain files (from their name and whether their content is HTML) and the classes that
//! `type:` searches ([`classes`], [`CLASSES`]), shared by the indexer (which stores them) and the query
//! side (which checks a `type:` value).

/// The classes a `type:` filter accepts, in the order the error message lists them.
pub const CLASSES: [&str; 12] = [
    "document",
    "pdf",
    "spreadsheet",
    "presentation",
    "text",
    "code",
    "image",
    "audio",
    "video",
    "archive",
    "email",
    "folder",
];

/// The MIME type of a directory's document (shared-mime-info's name): its only class is `folder`.
pub const DIRECTORY: &str = "inode/directory";

/// File extensions (lowercase) and their MIME types, for files that are not parsed as documents. The
/// `bool` says whether the extension is source code (`type:code`).
const BY_EXTENSION: &[(&str, &str, bool)] = &[
    ("txt", "text/plain", false),
    ("text", "text/plain", false),
    ("log", "text/plain", false),
    ("md", "text/markdown", false),
    ("markdown", "text/markdown", false),
    ("rst", "text/x-rst", false),
    ("csv", "text/csv", false),
    ("tsv", "text/tab-separated-values", false),
    ("html", "text/html", false),
    ("htm", "text/html", false),
    ("xhtml", "application/xhtml+xml", false),
    ("tex", "text/x-tex", false),
    ("rs", "text/x-rust", true),
    ("c", "text/x-c", true),
    ("h", "text/x-c", true),
    ("cc", "text/x-c++", true),
    ("cpp", "text/x-c++", true),
    ("cxx", "text/x-c++", true),
    ("hpp", "text/x-c++", true),
    ("hh", "text/x-c++", true),
    ("py", "text/x-python", true),
    ("js", "text/javascript", true),
    ("mjs", "text/javascript", true),
    ("ts", "text/x-typescript", true),
    ("tsx", "text/x-typescript", true),
    ("jsx", "text/javascript", true),
    ("go", "text/x-go", true),
    ("java", "text/x-java", true),
    ("kt", "text/x-kotlin", true),
    ("scala", "text/x-scala", true),
    ("swift", "text/x-swift", true),
    ("cs", "text/x-csharp", true),
    ("rb", "text/x-ruby", true),
    ("pl", "text/x-perl", true),
    ("pm", "text/x-perl", true),
    ("php", "text/x-php", true),
    ("lua", "text/x-lua", true),
    ("hs", "text/x-haskell", true),
    ("ml", "text/x-ocaml", true),
    ("el", "text/x-emacs-lisp", true),
    ("clj", "text/x-clojure", true),
    ("erl", "text/x-erlang", true),
    ("ex", "text/x-elixir", true),
    ("exs", "text/x-elixir", true),
    ("sh", "text/x-shellscript", true),
    ("bash", "text/x-shellscript", true),
    ("zsh", "text/x-shellscript", true),
    ("fish", "text/x-shellscript", true),
    ("sql", "text/x-sql", true),
    ("css", "text/css", true),
    ("scss", "text/x-scss", true),
    ("json", "application/json", true),
    ("toml", "text/x-toml", true),
    ("yaml", "text/yaml", true),
    ("yml", "text/yaml", true),
    ("xml", "text/xml", true),
    ("mk", "text/x-makefile", true),
    ("cmake", "text/x-cmake", true),
    ("vim", "text/x-vim", true),
    ("pdf", "application/pdf", false),
    ("png", "image/png", false),
    ("jpg", "image/jpeg", false),
    ("jpeg", "image/jpeg", false),
    ("gif", "image/gif", false),
    ("webp", "image/webp", false),
    ("tif", "image/tiff", false),
    ("tiff", "image/tiff", false),
    ("heic", "image/heic", false),
    ("svg", "image/svg+xml", false),
    ("bmp", "image/bmp", false),
    ("mp3", "audio/mpeg", false),
    ("flac", "audio/flac", false),
    ("ogg", "audio/ogg", false),
    ("oga", "audio/ogg", false),
    ("opus", "audio/opus", false),
    ("m4a", "audio/mp4", false),
    ("wav", "audio/wav", false),
    ("aiff", "audio/aiff", false),
    ("mp4", "video/mp4", false),
    ("m4v", "video/mp4", false),
    ("mkv", "video/x-matroska", false),
    ("webm", "video/webm", false),
    ("avi", "video/x-msvideo", false),
    ("mov", "video/quicktime", false),
];

/// Names without an extension that are source code.
const CODE_NAMES: &[&str] = &[
    "makefile",
    "dockerfile",
    "rakefile",
    "gemfile",
    "cmakelists.txt",
];

/// The MIME type of a file not parsed as a document, from its name: a known extension's type; else
/// `text/html` when its content is HTML (`html`), `text/plain` for other names.
pub fn of_name(name: &[u8], html: bool) -> &'static str {
    if html {
        return "text/html";
    }
    let lower = String::from_utf8_lossy(name).to_lowercase();
    if CODE_NAMES.contains(&lower.as_str()) {
        return "text/x-makefile";
    }
    match lower.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => BY_EXTENSION
            .iter()
            .find(|(e, _, _)| *e == ext)
            .map_or("text/plain", |(_, mime, _)| mime),
        _ => "text/plain",
    }
}

/// A generic type a parser reports (`audio/*`, `image/*`) made precise from the file name when its
/// extension names a type of the same family (`song.mp3` -> `audio/mpeg`); any other type unchanged.
pub fn refine<'a>(mime: &'a str, name: &[u8]) -> &'a str {
    let Some(family) = mime.strip_suffix('*') else {
        return mime;
    };
    let guess = of_name(name, false);
    if guess.starts_with(family) {
        guess
    } else {
        mime
    }
}

/// The `type:` classes of a MIME type (see [`CLASSES`]).
pub fn classes(mime: &str) -> Vec<&'static str> {
    let mut out = Vec::new();
    if mime == DIRECTORY {
        return vec!["folder"];
    }
    let office = |kind: &str| {
        mime.contains(&format!("officedocument.{kind}"))
            || mime.contains(&format!("opendocument.{}", odf_name(kind)))
    };
    if mime == "application/pdf" {
        out.extend(["document", "pdf"]);
    } else if office("wordprocessingml")
        || mime.starts_with("application/vnd.oasis.opendocument.text")
        || matches!(
            mime,
            "application/rtf" | "application/epub+zip" | "application/msword"
        )
    {
        out.push("document");
    } else if office("spreadsheetml") || mime == "text/csv" {
        out.push("spreadsheet");
    } else if office("presentationml") {
        out.push("presentation");
    }
    if let Some((family, _)) = mime.split_once('/') {
        match family {
            "image" => out.push("image"),
            "audio" => out.push("audio"),
            "video" => out.push("video"),
            "text" => out.push("text"),
            _ => {}
        }
    }
    if is_code(mime) {
        out.push("code");
    }
    if matches!(
        mime,
        "application/zip"
            | "application/x-tar"
            | "application/gzip"
            | "application/x-bzip2"
            | "application/x-xz"
            | "application/zstd"
    ) {
        out.push("archive");
    }
    if matches!(mime, "message/rfc822" | "application/mbox") {
        out.push("email");
    }
    out
}

fn odf_name(ooxml: &str) -> &'static str {
    match ooxml {
        "wordprocessingml" => "text",
        "spreadsheetml" => "spreadsheet",
        _ => "presentation",
    }
}

fn is_code(mime: &str) -> bool {
    mime == "text/x-makefile"
        || BY_EXTENSION
            .iter()
            .any(|(_, known, code)| *code && *known == mime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_give_types() {
        assert_eq!(of_name(b"main.RS", false), "text/x-rust");
        assert_eq!(of_name(b"notes", false), "text/plain");
        assert_eq!(of_name(b".bashrc", false), "text/plain");
        assert_eq!(of_name(b"page.txt", true), "text/html");
        assert_eq!(of_name(b"Makefile", false), "text/x-makefile");
        assert_eq!(refine("audio/*", b"a.mp3"), "audio/mpeg");
        assert_eq!(refine("audio/*", b"a.bin"), "audio/*");
        assert_eq!(refine("application/pdf", b"a.mp3"), "application/pdf");
    }

    #[test]
    fn types_give_classes() {
        assert_eq!(classes("application/pdf"), ["document", "pdf"]);
        assert_eq!(classes("text/x-rust"), ["text", "code"]);
        assert_eq!(classes("text/plain"), ["text"]);
        assert_eq!(classes("text/csv"), ["spreadsheet", "text"]);
        assert_eq!(
            classes("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            ["spreadsheet"]
        );
        assert_eq!(
            classes("application/vnd.oasis.opendocument.presentation"),
            ["presentation"]
        );
        assert_eq!(
            classes("application/vnd.oasis.opendocument.text"),
            ["document"]
        );
        assert_eq!(classes("audio/mpeg"), ["audio"]);
        assert_eq!(classes("message/rfc822"), ["email"]);
        assert_eq!(classes("application/x-tar"), ["archive"]);
        assert_eq!(classes(DIRECTORY), ["folder"]);
        assert!(CLASSES.contains(&"folder"));
        for class in [
            "document",
            "pdf",
            "spreadsheet",
            "presentation",
            "text",
            "code",
        ] {
            assert!(CLASSES.contains(&class));
        }
    }
}
