//! How the shells show a file: a themed icon name from its extension (the MIME type's generic icon of
//! the freedesktop icon naming specification, which every icon theme carries) and its folder.

use std::path::Path;

use fandex_indexer::schema::PART_SEPARATOR;

/// The icon name for `path`.
pub fn icon_name(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "pdf" => "application-pdf",
        "htm" | "html" | "xhtml" => "text-html",
        "sh" | "bash" | "py" | "pl" | "rb" | "js" | "ts" | "rs" | "c" | "h" | "cpp" | "hpp"
        | "go" | "java" | "lua" => "text-x-script",
        "odt" | "doc" | "docx" | "rtf" | "epub" => "x-office-document",
        "ods" | "xls" | "xlsx" | "csv" => "x-office-spreadsheet",
        "odp" | "ppt" | "pptx" => "x-office-presentation",
        "png" | "jpg" | "jpeg" | "gif" | "svg" | "webp" | "bmp" | "tif" | "tiff" => {
            "image-x-generic"
        }
        "mp3" | "ogg" | "flac" | "wav" | "opus" | "m4a" => "audio-x-generic",
        "mp4" | "mkv" | "webm" | "avi" | "mov" => "video-x-generic",
        "zip" | "gz" | "tgz" | "xz" | "bz2" | "zst" | "tar" | "7z" => "package-x-generic",
        "eml" | "mbox" => "message-x-generic",
        _ => "text-x-generic",
    }
}

/// The icon name for the file `path`, or for its part `part` (from the innermost part's own name:
/// `docs/x.pdf` in an archive is a PDF); `folder` for a directory (MIME type `mime`, when known, is
/// `inode/directory`).
pub fn icon_of(path: &Path, part: Option<&str>, mime: Option<&str>) -> &'static str {
    match part.and_then(|part| part.rsplit(PART_SEPARATOR).next()) {
        Some(inner) => icon_name(Path::new(inner)),
        None if is_folder(mime) => "folder",
        None => icon_name(path),
    }
}

/// Whether a hit of MIME type `mime` is a directory.
pub fn is_folder(mime: Option<&str>) -> bool {
    mime == Some(fandex_indexer::schema::mime::DIRECTORY)
}

/// What the shells show as a hit's name: the file name, and for a part `NAME » PART`.
pub fn display_name(path: &Path, part: Option<&str>) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_string_lossy().into_owned());
    match part {
        Some(part) => format!("{name}{PART_SEPARATOR}{part}"),
        None => name,
    }
}

/// The folder `path` is in, for display (lossy where not UTF-8).
pub fn folder_of(path: &Path) -> String {
    path.parent()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icons_follow_the_extension_case_insensitively() {
        assert_eq!(icon_name(Path::new("/a/Report.PDF")), "application-pdf");
        assert_eq!(icon_name(Path::new("/a/notes.md")), "text-x-generic");
        assert_eq!(icon_name(Path::new("/a/run.sh")), "text-x-script");
        assert_eq!(icon_name(Path::new("/a/Makefile")), "text-x-generic");
        let zip = Path::new("/a/b.zip");
        assert_eq!(icon_of(zip, None, None), "package-x-generic");
        assert_eq!(
            icon_of(zip, Some("in.zip » docs/x.PDF"), None),
            "application-pdf"
        );
        assert_eq!(
            icon_of(Path::new("/a/b.zip"), None, Some("inode/directory")),
            "folder"
        );
        assert_eq!(display_name(zip, Some("docs/x.pdf")), "b.zip » docs/x.pdf");
        assert_eq!(display_name(zip, None), "b.zip");
    }
}
