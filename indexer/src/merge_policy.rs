//! The full-text index's merge policy: bounded merges (issue 16).
//!
//! A merge reads every byte of its input segments through their memory maps, and those pages count in
//! the process's resident memory until the inputs are unmapped. tantivy's default (`LogMergePolicy`)
//! keeps merging segments of similar document counts into ever larger ones, so during a bulk index a
//! late merge read most of the index: 749 MiB of mapped segments in a 958 MiB peak at 150,000 files. Here
//! segments are grouped by their size on disk, [`MERGE_FACTOR`] of a size class are merged at once, and
//! no merge reads more than [`MAX_MERGE_BYTES`]: a segment over half of that is never merged again (its
//! deleted documents stay until its own merge would fit). With one merge thread (see `text_index`), at
//! most [`MAX_MERGE_BYTES`] of segments are mapped for merging at any time, whatever the index's size;
//! the cost is more segments in a large index (one per [`MAX_MERGE_BYTES`] / 2 to
//! [`MAX_MERGE_BYTES`] of index).

use std::path::PathBuf;

use tantivy::index::{SegmentComponent, SegmentMeta};
use tantivy::merge_policy::{MergeCandidate, MergePolicy};

/// Most bytes of segments one merge reads.
pub const MAX_MERGE_BYTES: u64 = 128 << 20;
/// Segments of one size class merged at once (fewer when they would exceed [`MAX_MERGE_BYTES`]).
pub const MERGE_FACTOR: usize = 8;
/// Segments up to this size are all in the smallest size class.
const FLOOR_BYTES: u64 = 1 << 20;
/// Each size class holds segments up to this many times larger than the one below.
const CLASS_RATIO: u64 = 4;

/// The components whose sizes make a segment's size (the delete bitset is left out: it is tiny).
const COMPONENTS: [SegmentComponent; 6] = [
    SegmentComponent::Postings,
    SegmentComponent::Positions,
    SegmentComponent::Terms,
    SegmentComponent::Store,
    SegmentComponent::FastFields,
    SegmentComponent::FieldNorms,
];

/// Merges segments of similar size on disk, never more than [`MAX_MERGE_BYTES`] at once.
#[derive(Debug, Clone)]
pub struct BoundedMerges {
    /// The index's directory: the segments' sizes are those of their files.
    dir: PathBuf,
}

impl BoundedMerges {
    /// The policy for the index in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// A segment's size on disk (a file gone meanwhile counts as empty).
    fn bytes(&self, segment: &SegmentMeta) -> u64 {
        COMPONENTS
            .iter()
            .filter_map(|c| std::fs::metadata(self.dir.join(segment.relative_path(c.clone()))).ok())
            .map(|m| m.len())
            .sum()
    }
}

impl MergePolicy for BoundedMerges {
    fn compute_merge_candidates(&self, segments: &[SegmentMeta]) -> Vec<MergeCandidate> {
        let sized: Vec<(u64, tantivy::index::SegmentId)> =
            segments.iter().map(|s| (self.bytes(s), s.id())).collect();
        plan(&sized).into_iter().map(MergeCandidate).collect()
    }
}

/// The size class of a segment of `bytes`: 0 up to [`FLOOR_BYTES`], one more for each [`CLASS_RATIO`].
fn class(bytes: u64) -> u32 {
    let mut class = 0;
    let mut limit = FLOOR_BYTES;
    while bytes > limit {
        class += 1;
        limit = limit.saturating_mul(CLASS_RATIO);
    }
    class
}

/// The merges to run among segments of the given sizes: within each size class holding at least
/// [`MERGE_FACTOR`] segments small enough to be merged, groups of up to [`MERGE_FACTOR`] segments (smallest
/// first) whose total stays within [`MAX_MERGE_BYTES`]; a group of one is no merge.
pub fn plan<T: Copy>(segments: &[(u64, T)]) -> Vec<Vec<T>> {
    let mut eligible: Vec<(u64, T)> = segments
        .iter()
        .copied()
        .filter(|&(bytes, _)| bytes <= MAX_MERGE_BYTES / 2)
        .collect();
    eligible.sort_by_key(|&(bytes, _)| bytes);
    let mut merges = Vec::new();
    let mut start = 0;
    while start < eligible.len() {
        let this = class(eligible[start].0);
        let end = start
            + eligible[start..]
                .iter()
                .take_while(|&&(bytes, _)| class(bytes) == this)
                .count();
        if end - start >= MERGE_FACTOR {
            let mut group: Vec<T> = Vec::new();
            let mut total = 0;
            for &(bytes, id) in &eligible[start..end] {
                if group.len() == MERGE_FACTOR || total + bytes > MAX_MERGE_BYTES {
                    if group.len() > 1 {
                        merges.push(std::mem::take(&mut group));
                    }
                    group.clear();
                    total = 0;
                }
                group.push(id);
                total += bytes;
            }
            if group.len() > 1 {
                merges.push(group);
            }
        }
        start = end;
    }
    merges
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    fn sizes(list: &[u64]) -> Vec<(u64, usize)> {
        list.iter()
            .copied()
            .enumerate()
            .map(|(i, b)| (b, i))
            .collect()
    }

    #[test]
    fn a_size_class_is_merged_once_it_holds_enough_segments() {
        // Seven small segments: nothing yet.
        assert!(plan(&sizes(&[MIB / 2; 7])).is_empty());
        // Eight: one merge of all of them.
        assert_eq!(plan(&sizes(&[MIB / 2; 8])), [(0..8).collect::<Vec<_>>()]);
        // Seventeen: two merges of eight, one left over.
        assert_eq!(plan(&sizes(&[MIB / 2; 17])).len(), 2);
    }

    #[test]
    fn segments_of_different_sizes_are_not_merged_together() {
        // Four small and four of 10 MiB: two classes of four, no merge.
        let mixed = [MIB, MIB, MIB, MIB, 10 * MIB, 10 * MIB, 10 * MIB, 10 * MIB];
        assert!(plan(&sizes(&mixed)).is_empty());
    }

    #[test]
    fn no_merge_reads_more_than_the_bound() {
        // Eight segments of 30 MiB (one class): merged four at a time, 120 MiB each.
        let merges = plan(&sizes(&[30 * MIB; 8]));
        assert_eq!(merges.len(), 2);
        for merge in &merges {
            assert_eq!(merge.len(), 4);
        }
        // Many segments of every size: every merge stays within the bound.
        let many: Vec<u64> = (1..=200).map(|i| i * 700 * 1024).collect();
        let many = sizes(&many);
        for merge in plan(&many) {
            let total: u64 = merge.iter().map(|&i| many[i].0).sum();
            assert!(total <= MAX_MERGE_BYTES, "{total}");
            assert!(merge.len() >= 2 && merge.len() <= MERGE_FACTOR);
        }
    }

    #[test]
    fn segments_over_half_the_bound_are_never_merged() {
        let big = [MAX_MERGE_BYTES / 2 + 1; 10];
        assert!(plan(&sizes(&big)).is_empty());
        // Ten at exactly half: merged in pairs.
        let merges = plan(&sizes(&[MAX_MERGE_BYTES / 2; 10]));
        assert_eq!(merges.len(), 5);
        assert!(merges.iter().all(|m| m.len() == 2));
    }
}
