//! The extract stage: reads one file without following symlinks (through the event's descriptor when it
//! is still the file at the path) and extracts its text into a record, or says why it could not.

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use fandex_schema::mime;
use tracing::debug;

use super::document::{Reading, is_document, read_document, read_head};
use super::job::{ExtractJob, Outcome, Piece};
use super::record::record_from;
use super::summary::Progress;
use crate::catalog::{FileRecord, Status};
use crate::config::Config;
use crate::extract::{self, DocumentParser, Format, Limits};
use crate::fileio::{FileId, OpenError, RootSet};

/// How files are read, from the configuration and the engine's parser.
pub(super) fn reading_of(config: &Config, parser: Option<&Arc<dyn DocumentParser>>) -> Reading {
    Reading {
        limits: Limits {
            max_text_bytes: usize::try_from(config.index.max_text_bytes).unwrap_or(usize::MAX),
            max_read_bytes: config.index.max_read_bytes,
            max_decompressed_bytes: config.index.max_decompressed_bytes,
        },
        parser: parser.cloned(),
        max_parts: usize::try_from(config.index.max_parts_per_file).unwrap_or(usize::MAX),
    }
}

/// Timestamps come from a coarse kernel clock: a file changed within this window of being read may change
/// again without its size or timestamps changing, so its record is trusted only after another read.
const RACY_WINDOW_NS: i64 = 50_000_000;

/// Whether a record's timestamps are too close to the time the file was read to prove anything later.
fn is_racy(record: &FileRecord, read_started: i64) -> bool {
    read_started - record.mtime_ns.max(record.ctime_ns) < RACY_WINDOW_NS
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Reads and extracts one file: through the event's descriptor when it is still the file at the path,
/// otherwise opened from its root without following any symlink. A path that changed since the walk or
/// event looked at it (a directory swapped for a symlink, another file) is deferred and looked at again,
/// never read as this path's content. Complex documents (PDF, office, mail, archives, media: decided
/// from the first bytes, then the name) go to the parser; everything else is decoded as text here.
pub(super) fn run_extract(
    mut job: ExtractJob,
    roots: &RootSet,
    reading: &Reading,
    progress: &Progress,
) -> Outcome {
    let read_started = now_ns();
    let _span = tracing::debug_span!("file", path = %job.path.display()).entered();
    let event_fd = job
        .content
        .take()
        .map(fandex_watcher::ContentFd::into_owned_fd);
    let opened = roots.open_for_content(&job.path, Some(job.expected), event_fd);
    let (mut file, meta) = match opened {
        Ok(opened) => opened,
        Err(OpenError::NotFound | OpenError::NotRegular { .. } | OpenError::Outside) => {
            return Outcome::Vanished(job);
        }
        Err(OpenError::Transient(err)) => return Outcome::Deferred(job, err.to_string()),
        Err(OpenError::Changed) => {
            debug!("changed during the walk: looked at again, not read");
            return Outcome::Deferred(job, OpenError::Changed.to_string());
        }
        Err(err) => {
            // Unreadable: record the error; the file is still found by name. We have no fstat, so take
            // the no-symlink lstat for the identity; it must be the file the walk saw.
            return match roots.lstat(&job.path) {
                Ok(meta) if meta.is_file() && FileId::of(&meta) == job.expected => {
                    let volume = roots.volume_key(&job.path, &meta);
                    let mut record = record_from(&job.path, &meta, volume);
                    record.error = Some(err.to_string());
                    debug!(error = %err, "unreadable");
                    let name = job
                        .path
                        .file_name()
                        .map(|n| n.as_bytes())
                        .unwrap_or_default();
                    let pieces = vec![Piece::file(mime::of_name(name, false), String::new())];
                    Outcome::Extracted {
                        job,
                        record,
                        pieces,
                    }
                }
                _ => Outcome::Vanished(job),
            };
        }
    };
    if meta.nlink() == 0 {
        return Outcome::Vanished(job);
    }
    let mut record = record_from(&job.path, &meta, roots.volume_key(&job.path, &meta));
    record.racy = is_racy(&record, read_started);
    let name = job
        .path
        .file_name()
        .map(|n| n.as_bytes())
        .unwrap_or_default();
    let head = match read_head(&file) {
        Ok(head) => head,
        Err(err) => {
            record.error = Some(format!("read failed: {err}"));
            let pieces = vec![Piece::file(mime::of_name(name, false), String::new())];
            return Outcome::Extracted {
                job,
                record,
                pieces,
            };
        }
    };
    let kind = fandex_formats::detect(&head, name);
    if is_document(kind, &head, reading.parser.is_some()) {
        let pieces = read_document(
            &file,
            name,
            kind,
            job.old.as_ref(),
            &mut record,
            reading,
            progress,
        );
        return Outcome::Extracted {
            job,
            record,
            pieces,
        };
    }
    let piece = match extract::extract(&mut file, &job.path, &reading.limits) {
        Ok(extracted) => {
            progress
                .bytes
                .fetch_add(extracted.bytes_read, Ordering::Relaxed);
            record.hash = Some(extracted.hash);
            record.truncated = extracted.truncated;
            record.status = match extracted.format {
                Format::Binary => Status::Binary,
                _ => Status::Indexed,
            };
            let html = extracted.format == Format::Html;
            let mime = match extracted.format {
                _ if extracted.gzip => "application/gzip",
                Format::Binary if mime::of_name(name, false).starts_with("text/") => {
                    "application/octet-stream"
                }
                _ => mime::of_name(name, html),
            };
            Piece::file(mime, extracted.text)
        }
        Err(err) => {
            debug!(error = %err, "extraction failed");
            record.error = Some(err.to_string());
            Piece::file(mime::of_name(name, false), String::new())
        }
    };
    Outcome::Extracted {
        job,
        record,
        pieces: vec![piece],
    }
}
