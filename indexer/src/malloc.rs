//! glibc malloc's tunables for the kind of work a process does, and handing free memory back: the one
//! place the indexing and searching processes talk to the allocator (the extraction workers, which run
//! none of this, give their freed memory back after each document in `fandex_sandbox`'s worker loop,
//! which depends on no fandex crate). A tunable the user set in the environment
//! (`MALLOC_MMAP_THRESHOLD_`, `MALLOC_TRIM_THRESHOLD_`, `MALLOC_ARENA_MAX`) is never changed. Elsewhere
//! than glibc, everything here does nothing.
//!
//! Measured on this project's corpora and daemon:
//!
//! - **Bulk** indexing (`fandex index`, the daemon's walks) allocates and frees many buffers of hundreds
//!   of KiB to MiB (file texts, tantivy's store blocks) from several threads. glibc's dynamic threshold
//!   soon serves them from its heaps, which then stay fragmented and resident: a fixed 256 KiB threshold
//!   maps them separately and returns them on free (peak RSS indexing `docs` 348 -> 191 MiB, `big` 384 ->
//!   263 MiB), and two arenas instead of 8 per core keep fewer fragmented heaps.
//! - **Live** changes commit small batches, and every commit gives tantivy a new segment writer that
//!   allocates the same large, zero-filled tables (a 4 MiB term hash table, 1 MiB arena pages). Mapped
//!   afresh for each commit, they fault in page by page: with the daemon's commits at 100 changes/s,
//!   nearly half of the indexing thread's time was the kernel's page faults. Served from the heap and kept
//!   there, they are reused. Two daemons on one tree under 100 changes/s, on a loaded machine
//!   (BENCHMARKS.md, "Where a commit's time goes"): with the index on tmpfs, commit p50 78 -> 22 ms; on
//!   disk, where the commit's fsyncs dominate, 162 -> 135-162 ms. The daemon gives the heap back once it
//!   is idle ([`release_free_memory`]), so an idle daemon's RSS stays what it was (peak RSS during the
//!   stream of changes was 96 MiB against 50).
//! - **Search** in a fresh process reads megabytes of stored text per hit and exits: serving those from
//!   the heap and never trimming it avoids a page fault per 4 KiB on every fresh buffer.

/// The kind of work whose allocation pattern the tunables are set for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Walks and their extraction: large buffers mapped apart and returned on free, two arenas.
    Bulk,
    /// Small commits one after the other: large buffers kept in the heap and reused (trimmed when idle).
    Live,
    /// One search in a short-lived process: everything from the heap, never trimmed.
    Search,
}

/// glibc's largest mmap threshold on 64-bit.
const LARGEST_MMAP_THRESHOLD: i32 = 32 << 20;
/// Free memory at the top of a heap that glibc keeps before trimming on its own.
const KEEP_FREE: i32 = 256 << 20;
/// glibc's default trim threshold (it trims a heap whose free top exceeds this).
const DEFAULT_TRIM_THRESHOLD: i32 = 128 << 10;
/// glibc's malloc arenas while indexing (its default is 8 per core). Each thread that meets a locked
/// arena gets one of its own, and memory freed in one arena serves no other: the walk, extraction,
/// apply and tantivy's indexing and merging threads each kept a fragmented heap resident.
const INDEXING_ARENAS: i32 = 2;

/// A tunable: what it is called in the environment, and its values per profile (`None`: left alone).
struct Tunable {
    env: &'static str,
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    param: libc::c_int,
    values: fn(Profile) -> Option<i32>,
}

const TUNABLES: &[Tunable] = &[
    Tunable {
        env: "MALLOC_MMAP_THRESHOLD_",
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        param: libc::M_MMAP_THRESHOLD,
        values: |profile| {
            Some(match profile {
                Profile::Bulk => 256 << 10,
                Profile::Live | Profile::Search => LARGEST_MMAP_THRESHOLD,
            })
        },
    },
    Tunable {
        env: "MALLOC_TRIM_THRESHOLD_",
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        param: libc::M_TRIM_THRESHOLD,
        values: |profile| {
            Some(match profile {
                Profile::Bulk => DEFAULT_TRIM_THRESHOLD,
                Profile::Live | Profile::Search => KEEP_FREE,
            })
        },
    },
    Tunable {
        env: "MALLOC_ARENA_MAX",
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        param: libc::M_ARENA_MAX,
        values: |profile| match profile {
            Profile::Bulk | Profile::Live => Some(INDEXING_ARENAS),
            Profile::Search => None,
        },
    },
];

/// The tunables `profile` sets, as (environment name, value), leaving out those the user set.
fn settings(profile: Profile, user_set: impl Fn(&str) -> bool) -> Vec<(&'static Tunable, i32)> {
    TUNABLES
        .iter()
        .filter(|tunable| !user_set(tunable.env))
        .filter_map(|tunable| Some((tunable, (tunable.values)(profile)?)))
        .collect()
}

/// Sets glibc malloc's tunables for `profile`, except those the user set in the environment. Safe to
/// call at any time from any thread: a change applies to allocations made after it.
pub fn use_profile(profile: Profile) {
    for (_tunable, _value) in settings(profile, |env| std::env::var_os(env).is_some()) {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: mallopt only changes glibc malloc's tunables under its own lock, takes plain
        // integers, and touches no memory of ours; a value it rejects is ignored (returns 0).
        unsafe {
            libc::mallopt(_tunable.param, _value);
        }
    }
}

/// Hands memory that is free in the allocator's heaps back to the system (glibc keeps it otherwise, and
/// an idle daemon would show the peak of its last batch as resident).
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks glibc's own heaps under their own locks and releases free pages; it
    // takes a plain integer and touches no memory of ours.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(profile: Profile, user_set: &[&str]) -> Vec<(&'static str, i32)> {
        settings(profile, |env| user_set.contains(&env))
            .into_iter()
            .map(|(tunable, value)| (tunable.env, value))
            .collect()
    }

    #[test]
    fn live_commits_keep_large_buffers_in_the_heap_and_bulk_maps_them_apart() {
        assert_eq!(
            named(Profile::Bulk, &[]),
            [
                ("MALLOC_MMAP_THRESHOLD_", 256 << 10),
                ("MALLOC_TRIM_THRESHOLD_", 128 << 10),
                ("MALLOC_ARENA_MAX", 2)
            ]
        );
        assert_eq!(
            named(Profile::Live, &[]),
            [
                ("MALLOC_MMAP_THRESHOLD_", 32 << 20),
                ("MALLOC_TRIM_THRESHOLD_", 256 << 20),
                ("MALLOC_ARENA_MAX", 2)
            ]
        );
        assert_eq!(
            named(Profile::Search, &[]),
            [
                ("MALLOC_MMAP_THRESHOLD_", 32 << 20),
                ("MALLOC_TRIM_THRESHOLD_", 256 << 20)
            ]
        );
    }

    #[test]
    fn a_tunable_the_user_set_is_left_alone() {
        assert_eq!(
            named(
                Profile::Live,
                &["MALLOC_MMAP_THRESHOLD_", "MALLOC_ARENA_MAX"]
            ),
            [("MALLOC_TRIM_THRESHOLD_", 256 << 20)]
        );
    }
}
