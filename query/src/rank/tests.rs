//! Tests of the hit order and the bounded heap.

use super::*;

fn ranked(score: Score, file_id: u64) -> Ranked {
    Ranked {
        folder: false,
        score,
        file_id,
        part: 0,
        address: DocAddress::new(0, file_id as DocId),
    }
}

#[test]
fn best_keeps_the_top_by_score_then_lowest_id() {
    let mut best = Best {
        limit: 3,
        heap: BinaryHeap::new(),
    };
    for (score, id) in [(1.0, 5), (2.0, 9), (1.0, 3), (0.5, 1), (1.0, 4), (2.0, 7)] {
        best.push(ranked(score, id));
    }
    let got: Vec<(Score, u64)> = best
        .into_sorted()
        .iter()
        .map(|r| (r.score, r.file_id))
        .collect();
    assert_eq!(got, [(2.0, 7), (2.0, 9), (1.0, 3)]);
}

#[test]
fn zero_limit_keeps_nothing() {
    let mut best = Best::default();
    best.push(ranked(1.0, 1));
    assert!(best.into_sorted().is_empty());
}

#[test]
fn equal_scores_order_parts_of_a_file_after_the_file() {
    let doc = |file_id, part, address| Ranked {
        folder: false,
        score: 1.0,
        file_id,
        part,
        address: DocAddress::new(0, address),
    };
    let mut docs = [doc(2, 0, 0), doc(1, 2, 1), doc(1, 0, 5), doc(1, 1, 3)];
    docs.sort_by(|a, b| b.cmp(a));
    let order: Vec<(u64, u64)> = docs.iter().map(|d| (d.file_id, d.part)).collect();
    assert_eq!(order, [(1, 0), (1, 1), (1, 2), (2, 0)]);
}

/// Files come before folders whatever their scores (the split is exact), each group by score.
#[test]
fn files_rank_before_folders() {
    let doc = |folder, score, file_id| Ranked {
        folder,
        score,
        file_id,
        part: 0,
        address: DocAddress::new(0, file_id as DocId),
    };
    let mut best = Best {
        limit: 4,
        heap: BinaryHeap::new(),
    };
    for d in [
        doc(true, 9.0, 1),
        doc(false, 0.5, 2),
        doc(true, 1.0, 3),
        doc(false, 2.0, 4),
    ] {
        best.push(d);
    }
    let order: Vec<u64> = best.into_sorted().iter().map(|d| d.file_id).collect();
    assert_eq!(order, [4, 2, 1, 3]);
}

/// The collectors drop a document whose score is below the worst one kept without reading it. A kept
/// folder bounds nothing: a file of any score ranks above it.
#[test]
fn only_a_file_kept_last_bounds_the_scores_of_the_rest() {
    let mut best = Best {
        limit: 2,
        heap: BinaryHeap::new(),
    };
    best.push(ranked(1.0, 1));
    assert_eq!(best.worst_score(), None, "not full yet");
    best.push(Ranked {
        folder: true,
        ..ranked(5.0, 2)
    });
    assert_eq!(best.worst_score(), None, "the worst kept is a folder");
    best.push(ranked(0.1, 3));
    assert_eq!(best.worst_score(), Some(0.1), "two files kept");
    let got: Vec<u64> = best.into_sorted().iter().map(|r| r.file_id).collect();
    assert_eq!(got, [1, 3]);
}
