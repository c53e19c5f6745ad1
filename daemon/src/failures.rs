//! The failing files `status` lists, and the files indexed with something missing that their parser
//! noted (a scanned PDF without text, an encrypted archive member, a cap reached): counted, and the most
//! recently modified few kept, over all files and per owner (a caller who does not own the index is told
//! only about their own). Memory stays bounded however many records there are: each list is trimmed as
//! records come.

use std::collections::BTreeMap;

use fandex_indexer::catalog::{FileRecord, Status};
use fandex_query::protocol::status::{CatalogStats, Failure, OwnerFailures};

/// Failing (and noted) files listed by `status` (over all files, and per owner).
pub const RECENT_FAILURES: usize = 20;

/// Why a record counts as failed, if it does: a read or parse failure with its reason. A file indexed by
/// name only because its owner's text budget was reached is not a failure (status lists budgets apart),
/// nor is a document indexed with a note ([`note_reason`]).
pub(crate) fn failure_reason(record: &FileRecord) -> Option<&str> {
    match record.status {
        Status::Failed => Some(record.error.as_deref().unwrap_or("failed")),
        Status::OverBudget | Status::Indexed => None,
        _ => record.error.as_deref(),
    }
}

/// What is missing from a document that was indexed, as its parser noted it, if anything.
pub(crate) fn note_reason(record: &FileRecord) -> Option<&str> {
    match record.status {
        Status::Indexed => record.error.as_deref(),
        _ => None,
    }
}

/// A count and the newest failures (by the file's modification time, then record id).
#[derive(Default)]
struct Newest {
    count: u64,
    items: Vec<(i64, u64, Failure)>,
}

impl Newest {
    fn push(&mut self, mtime_ns: i64, id: u64, failure: Failure) {
        self.count += 1;
        self.items.push((mtime_ns, id, failure));
        if self.items.len() >= 2 * RECENT_FAILURES {
            self.trim();
        }
    }

    fn trim(&mut self) {
        self.items
            .sort_by_key(|(mtime, id, _)| std::cmp::Reverse((*mtime, *id)));
        self.items.truncate(RECENT_FAILURES);
    }

    fn finish(mut self) -> (u64, Vec<Failure>) {
        self.trim();
        (
            self.count,
            self.items.into_iter().map(|(_, _, f)| f).collect(),
        )
    }
}

/// One list (failures, or notes) over all files and per owner.
#[derive(Default)]
struct Listing {
    all: Newest,
    by_owner: BTreeMap<u32, Newest>,
}

impl Listing {
    fn add(&mut self, id: u64, record: &FileRecord, reason: &str) {
        let failure = Failure {
            path: record.path().display().to_string(),
            error: reason.to_owned(),
        };
        if let Some(owner) = record.owner {
            self.by_owner
                .entry(owner.uid)
                .or_default()
                .push(record.mtime_ns, id, failure.clone());
        }
        self.all.push(record.mtime_ns, id, failure);
    }
}

/// The failing and the noted records of one pass over the catalog.
#[derive(Default)]
pub(crate) struct FailureTally {
    failures: Listing,
    notes: Listing,
}

impl FailureTally {
    /// Counts the record `id` if it failed, or was indexed with a note.
    pub(crate) fn add(&mut self, id: u64, record: &FileRecord) {
        if let Some(reason) = failure_reason(record) {
            self.failures.add(id, record, reason);
        } else if let Some(note) = note_reason(record) {
            self.notes.add(id, record, note);
        }
    }

    /// Fills `stats`' failures and notes: counts and newest over all files, and per owner.
    pub(crate) fn finish_into(self, stats: &mut CatalogStats) {
        (stats.failed, stats.recent_failures) = self.failures.all.finish();
        (stats.noted, stats.recent_notes) = self.notes.all.finish();
        let mut owners: BTreeMap<u32, OwnerFailures> = BTreeMap::new();
        for (uid, newest) in self.failures.by_owner {
            let entry = owners.entry(uid).or_insert_with(|| OwnerFailures {
                uid,
                ..OwnerFailures::default()
            });
            (entry.failed, entry.recent_failures) = newest.finish();
        }
        for (uid, newest) in self.notes.by_owner {
            let entry = owners.entry(uid).or_insert_with(|| OwnerFailures {
                uid,
                ..OwnerFailures::default()
            });
            (entry.noted, entry.recent_notes) = newest.finish();
        }
        stats.failures_by_owner = owners.into_values().collect();
    }
}

#[cfg(test)]
mod tests {
    use fandex_indexer::catalog::Owner;

    use super::*;

    fn record(
        path: &str,
        uid: u32,
        mtime_ns: i64,
        status: Status,
        error: Option<&str>,
    ) -> FileRecord {
        FileRecord {
            path: path.as_bytes().to_vec(),
            dev: 1,
            ino: 1,
            size: 1,
            mtime_ns,
            ctime_ns: mtime_ns,
            hash: None,
            status,
            truncated: false,
            error: error.map(str::to_owned),
            racy: false,
            owner: Some(Owner {
                uid,
                text_bytes: 0,
                dropped_bytes: 0,
            }),
            kind: fandex_indexer::catalog::Kind::File,
        }
    }

    #[test]
    fn failures_are_counted_per_owner_newest_first_and_bounded() {
        let mut tally = FailureTally::default();
        tally.add(1, &record("/r/ok.txt", 1000, 5, Status::Indexed, None));
        tally.add(
            2,
            &record(
                "/r/budget.txt",
                1000,
                6,
                Status::OverBudget,
                Some("owner's text budget reached"),
            ),
        );
        tally.add(
            3,
            &record(
                "/r/crash.pdf",
                1000,
                7,
                Status::Failed,
                Some("extractor crashed (SIGSEGV)"),
            ),
        );
        tally.add(
            4,
            &record(
                "/r/other.pdf",
                2000,
                8,
                Status::Failed,
                Some("timed out after 30 s"),
            ),
        );
        for i in 0..100 {
            tally.add(
                10 + i,
                &record(
                    &format!("/r/many{i}"),
                    3000,
                    i as i64,
                    Status::Failed,
                    Some("x"),
                ),
            );
        }
        let mut stats = CatalogStats::default();
        tally.finish_into(&mut stats);
        let (failed, recent, by_owner) =
            (stats.failed, stats.recent_failures, stats.failures_by_owner);
        assert_eq!(failed, 102);
        assert_eq!(recent.len(), RECENT_FAILURES);
        assert_eq!(recent[0].path, "/r/many99");
        let uids: Vec<(u32, u64)> = by_owner.iter().map(|o| (o.uid, o.failed)).collect();
        assert_eq!(uids, [(1000, 1), (2000, 1), (3000, 100)]);
        assert_eq!(
            by_owner[0].recent_failures,
            [Failure {
                path: "/r/crash.pdf".into(),
                error: "extractor crashed (SIGSEGV)".into()
            }]
        );
        assert_eq!(by_owner[2].recent_failures.len(), RECENT_FAILURES);
        assert_eq!(stats.noted, 0);
    }

    #[test]
    fn documents_indexed_with_a_note_are_listed_apart_per_owner() {
        let mut tally = FailureTally::default();
        let scanned = "scanned: no text layer";
        tally.add(
            1,
            &record("/r/scan.pdf", 1000, 5, Status::Indexed, Some(scanned)),
        );
        tally.add(2, &record("/r/text.pdf", 1000, 6, Status::Indexed, None));
        tally.add(
            3,
            &record(
                "/r/lock.pdf",
                2000,
                7,
                Status::Failed,
                Some("encrypted: needs a password"),
            ),
        );
        let mut stats = CatalogStats::default();
        tally.finish_into(&mut stats);
        assert_eq!((stats.failed, stats.noted), (1, 1));
        let note = Failure {
            path: "/r/scan.pdf".into(),
            error: scanned.into(),
        };
        assert_eq!(stats.recent_notes, std::slice::from_ref(&note));
        assert_eq!(stats.recent_failures[0].path, "/r/lock.pdf");
        let owners: Vec<(u32, u64, u64)> = stats
            .failures_by_owner
            .iter()
            .map(|o| (o.uid, o.failed, o.noted))
            .collect();
        assert_eq!(owners, [(1000, 0, 1), (2000, 1, 0)]);
        assert_eq!(stats.failures_by_owner[0].recent_notes, [note]);
    }
}
