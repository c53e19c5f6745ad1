//! The daemon's sections: restart, change-to-searchable latency, watch setup, bursts, directory moves and
//! idle cost.

use std::fmt::Write as _;

use super::format::{count, fmt, fmt_or_missed, mib, table, verdict};
use super::samples::{Data, pairs};

const DAEMON_TOOLS: [&str; 2] = ["fandex-fanotify", "fandex-inotify"];

pub(super) fn restart(d: &Data, out: &mut String) {
    let rows: Vec<Vec<String>> = pairs(d, "restart", &DAEMON_TOOLS)
        .into_iter()
        .map(|(c, tool)| {
            let m = "restart";
            vec![
                c.to_owned(),
                tool.to_owned(),
                fmt(d.med(c, m, tool, "first_start_s")),
                format!(
                    "{} ({})",
                    fmt(d.med(c, m, tool, "restart_s")),
                    d.values(c, m, tool, "restart_s").len()
                ),
                fmt(d.med(c, m, tool, "reconciled_s")),
                fmt(d.med(c, m, tool, "reconcile_s")),
                count(d.med(c, m, tool, "reconcile_indexed")),
                fmt(mib(d.med(c, m, tool, "ready_rss_kb"))),
                fmt(d.med(c, m, tool, "stop_s")),
                fmt(d.med(c, m, tool, "first_reconciled_s")),
            ]
        })
        .collect();
    if rows.is_empty() {
        return;
    }
    out.push_str(
        "### 2b. Daemon start and restart

",
    );
    table(
        out,
        &[
            "corpus",
            "daemon",
            "first start, fresh index: s to ready",
            "restart after SIGTERM, unchanged corpus: s to ready (runs)",
            "s to reconciled",
            "reconcile s",
            "files re-read on restart",
            "RSS at ready MiB",
            "stop (SIGTERM to exit) s",
            "first start: s to reconciled",
        ],
        &rows,
    );
    out.push_str(
        "Ready is the daemon's systemd notification: spawn to the `READY=1` datagram on \
         `NOTIFY_SOCKET`, sent once it watches and listens on its socket (searches answer from \
         then on). It reconciles the roots after that; reconciled is spawn to the return of a \
         `fandex sync` started at ready (a sync waits for the reconcile), and reconcile s is the \
         reconcile's own time from the daemon's status. The corpus is a copy on a private tmpfs; the index is on another filesystem. \
         Medians.\n\n",
    );
}

pub(super) fn latency(d: &Data, out: &mut String) {
    let measures = d.ordered(|s| {
        s.measure
            .starts_with("latency:")
            .then_some(s.measure.as_str())
    });
    if measures.is_empty() {
        return;
    }
    let tools = [
        "fandex-fanotify",
        "fandex-inotify",
        "recoll-monitor",
        "tracker",
        "fandex-fanotify-new",
        "fandex-inotify-new",
        "baloo",
    ];
    let mut rows = Vec::new();
    let mut targets = Vec::new();
    for m in &measures {
        let rate = m.trim_start_matches("latency:");
        for (c, tool) in pairs(d, m, &tools) {
            let med = |metric: &str| d.med(c, m, tool, metric);
            rows.push(vec![
                c.to_owned(),
                rate.to_owned(),
                tool.to_owned(),
                fmt_or_missed(med("p50_ms")),
                fmt_or_missed(med("p95_ms")),
                fmt_or_missed(med("p99_ms")),
                fmt_or_missed(med("max_ms")),
                format!(
                    "{} ({} new, {} rewrites)",
                    count(med("changes")),
                    count(med("created")),
                    count(med("rewritten"))
                ),
                format!(
                    "{} / {} / {}",
                    count(med("seen")),
                    count(med("missed")),
                    count(med("superseded"))
                ),
                fmt(med("achieved_rate")),
                format!("{} ({})", fmt(med("poll_ms")), fmt(med("poll_cycle_ms"))),
            ]);
            let limit = match rate.parse::<f64>() {
                Ok(r) if r <= 100.0 => Some(300.0),
                Ok(r) if r <= 1000.0 => Some(1000.0),
                _ => None,
            };
            if let (Some(limit), true) = (limit, tool.starts_with("fandex-")) {
                let p99 = med("p99_ms");
                targets.push(format!(
                    "{c}, {rate}/s, {tool}: p99 {} ms (target < {limit} ms: {})",
                    fmt_or_missed(p99),
                    verdict(p99.map(|v| v < limit))
                ));
            }
        }
    }
    out.push_str(
        "### 3. Change-to-searchable latency under load

",
    );
    table(
        out,
        &[
            "corpus",
            "changes/s",
            "tool",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "max ms",
            "changes",
            "seen / missed / superseded",
            "achieved changes/s",
            "poll interval ms (measured cycle)",
        ],
        &rows,
    );
    out.push_str(
        "A writer changes files at a steady rate on a private tmpfs holding a copy of the corpus \
         (every other change creates a file, the others rewrite an existing text file, by default \
         one of the extensions `fandex-bench latency --pool-ext` lists, with one line added, cycling \
         through them when there are fewer than the rewrites; each change holds a unique word and \
         its group's word, groups of 100 changes for fandex and of one second for recoll). Latency: end of the write to the first search \
         answer (no sync) that lists the path under its group's word; fandex is searched through \
         its daemon socket (the `fandex::query::client` the CLI uses, no snippets), recoll with \
         `recollq -b`, tracker with `tracker3 search`, baloo with `baloosearch`, one process per \
         search (groups of one second for those three). Baloo indexes only plain text and \
         documents by content, so its load is new `.txt` files only, and `fandex-BACKEND-new` is \
         fandex under that same load. A missed change (never seen before the timeout) \
         counts as infinite; a superseded one (rewritten again before it was seen) is left out. \
         Resolution: the measured poll cycle.\n\n",
    );
    if !targets.is_empty() {
        for t in targets {
            let _ = writeln!(out, "- {t}");
        }
        out.push('\n');
    }
    latency_stages(d, &measures, out);
}

/// The daemon's own per-stage account of the same changes (its `status --json` `latency`, read before
/// and after each run).
fn latency_stages(d: &Data, measures: &[&str], out: &mut String) {
    const STAGES: [&str; 5] = ["queued", "read", "commit", "reload", "total"];
    let mut rows = Vec::new();
    for m in measures {
        let rate = m.trim_start_matches("latency:");
        for (c, tool) in pairs(d, m, &DAEMON_TOOLS) {
            if d.med(c, m, tool, "stage_total_count").is_none() {
                continue;
            }
            let mut row = vec![c.to_owned(), rate.to_owned(), tool.to_owned()];
            for stage in STAGES {
                let get = |p: &str| d.med(c, m, tool, &format!("stage_{stage}_{p}_ms"));
                row.push(format!("{} / {}", fmt(get("p50")), fmt(get("p99"))));
            }
            row.push(count(d.med(c, m, tool, "stage_total_count")));
            rows.push(row);
        }
    }
    if rows.is_empty() {
        return;
    }
    out.push_str("#### Where the time goes: the daemon's stages, p50 / p99 ms\n\n");
    table(
        out,
        &[
            "corpus",
            "changes/s",
            "daemon",
            "queued (event to batch closed)",
            "read (and written)",
            "commit",
            "reader reload",
            "total (event to searchable)",
            "changes timed",
        ],
        &rows,
    );
    out.push_str(
        "The daemon's `status --json` `latency` histograms (buckets 20% wide, interpolated), read \
         before and after the run: every event the daemon received during it (sync cookies \
         included), from its receipt by the daemon (after the watcher's close-write) to the reload of \
         the searchers' reader. The end-to-end figures above add the watcher's delivery and the \
         poller's cycle.\n\n",
    );
}

pub(super) fn watch_setup(d: &Data, out: &mut String) {
    let rows: Vec<Vec<String>> = pairs(d, "watchsetup", &DAEMON_TOOLS)
        .into_iter()
        .map(|(c, tool)| {
            let m = "watchsetup";
            vec![
                c.to_owned(),
                tool.to_owned(),
                count(d.med(c, m, "-", "dirs")),
                format!(
                    "{} ({})",
                    fmt(d.med(c, m, tool, "first_start_s")),
                    d.values(c, m, tool, "first_start_s").len()
                ),
                fmt(d.med(c, m, tool, "restart_s")),
                fmt(d.med(c, m, tool, "reconcile_s")),
                fmt(mib(d.med(c, m, tool, "ready_rss_kb"))),
            ]
        })
        .collect();
    if rows.is_empty() {
        return;
    }
    out.push_str(
        "### 4. Watch setup and reconcile on a large tree

",
    );
    table(
        out,
        &[
            "tree",
            "daemon",
            "directories",
            "start, fresh index: s to ready (runs)",
            "restart: s to ready",
            "of which reconcile s",
            "RSS at ready MiB",
        ],
        &rows,
    );
    out.push_str(
        "Empty directories on a private tmpfs; ready as in 2b (watches placed and reconcile walk \
         done). Medians.\n\n",
    );
}

pub(super) fn burst(d: &Data, out: &mut String) {
    let mut targets = Vec::new();
    let rows: Vec<Vec<String>> = pairs(d, "burst", &DAEMON_TOOLS)
        .into_iter()
        .map(|(c, tool)| {
            let m = "burst";
            let hwm = mib(d.med(c, m, tool, "hwm_kb"));
            targets.push(format!(
                "{c}, {tool}: peak RSS {} MiB (target < 150 MiB: {})",
                fmt(hwm),
                verdict(hwm.map(|v| v < 150.0))
            ));
            vec![
                c.to_owned(),
                tool.to_owned(),
                format!(
                    "{} / {}",
                    count(d.med(c, m, tool, "found")),
                    count(d.med(c, m, tool, "files"))
                ),
                fmt(d.med(c, m, tool, "create_s")),
                fmt(d.med(c, m, tool, "sync_s")),
                fmt(d.med(c, m, tool, "searchable_s")),
                format!(
                    "{} ({})",
                    count(d.med(c, m, tool, "peak_fds")),
                    count(d.med(c, m, tool, "fds_before"))
                ),
                format!(
                    "{} ({})",
                    fmt(hwm),
                    fmt(mib(d.med(c, m, tool, "hwm_before_kb")))
                ),
                fmt(mib(d.med(c, m, tool, "rss_after_kb"))),
            ]
        })
        .collect();
    if rows.is_empty() {
        return;
    }
    out.push_str(
        "### 5. A burst of new files

",
    );
    table(
        out,
        &[
            "burst",
            "daemon",
            "found / created",
            "create s",
            "sync s",
            "until all searchable s",
            "peak fds (before)",
            "peak RSS (VmHWM) MiB (before)",
            "RSS after MiB",
        ],
        &rows,
    );
    out.push_str(
        "Small files created as fast as one thread can (1,000 per new subdirectory) under a \
         running daemon on a private tmpfs, then one sync through the daemon socket (what `fandex \
         sync` sends) and a count of the files holding the burst's word. Until all searchable: \
         first create to the count's answer. fds sampled every 10 ms from /proc/PID/fd during the \
         burst; VmHWM is the daemon's peak since it started.\n\n",
    );
    for t in targets {
        let _ = writeln!(out, "- {t}");
    }
    out.push('\n');
}

pub(super) fn moves(d: &Data, out: &mut String) {
    let rows: Vec<Vec<String>> = pairs(d, "move", &DAEMON_TOOLS)
        .into_iter()
        .map(|(c, tool)| {
            let m = "move";
            vec![
                c.to_owned(),
                tool.to_owned(),
                count(d.med(c, m, tool, "files")),
                fmt_or_missed(d.med(c, m, tool, "all_new_s")),
                fmt_or_missed(d.med(c, m, tool, "none_old_s")),
                format!(
                    "{} / {}",
                    count(d.med(c, m, tool, "found_new")),
                    count(d.med(c, m, tool, "left_old"))
                ),
                fmt(d.med(c, m, tool, "poll_ms")),
            ]
        })
        .collect();
    if rows.is_empty() {
        return;
    }
    out.push_str(
        "### 6. A directory move

",
    );
    table(
        out,
        &[
            "corpus",
            "daemon",
            "files in the directory",
            "rename to all found at the new path s",
            "rename to none left at the old path s",
            "at the end: new / old",
            "poll ms",
        ],
        &rows,
    );
    out.push_str(
        "The directory is created in the root of the corpus copy, synced, then renamed within the \
         root; two counts (`WORD path:NEW`, `WORD path:OLD`) through the daemon socket every \
         poll, no sync.\n\n",
    );
}

pub(super) fn idle(d: &Data, out: &mut String) {
    let mut targets = Vec::new();
    let rows: Vec<Vec<String>> = pairs(d, "idle", &DAEMON_TOOLS)
        .into_iter()
        .map(|(c, tool)| {
            let m = "idle";
            let cpu = d.med(c, m, tool, "cpu_pct");
            let rss = mib(d.med(c, m, tool, "rss_kb"));
            targets.push(format!(
                "{c}, {tool}: idle CPU {}% (target < 0.5%: {}); idle RSS {} MiB (target < 50 MiB: {})",
                fmt(cpu),
                verdict(cpu.map(|v| v < 0.5)),
                fmt(rss),
                verdict(rss.map(|v| v < 50.0))
            ));
            vec![
                c.to_owned(),
                tool.to_owned(),
                fmt(d.med(c, m, tool, "seconds")),
                fmt(cpu),
                fmt(rss),
                fmt(mib(d.med(c, m, tool, "rss_max_kb"))),
                fmt(mib(d.med(c, m, tool, "rss_anon_kb"))),
            ]
        })
        .collect();
    if rows.is_empty() {
        return;
    }
    out.push_str(
        "### 8. Idle daemon

",
    );
    table(
        out,
        &[
            "corpus",
            "daemon",
            "seconds",
            "CPU % of one core",
            "RSS MiB (end)",
            "max RSS MiB (1 s samples)",
            "anonymous RSS MiB (end)",
        ],
        &rows,
    );
    out.push_str(
        "After indexing the corpus copy, a sync and 5 s of rest: utime + stime from \
         /proc/PID/stat over the period, VmRSS sampled every second.\n\n",
    );
    for t in targets {
        let _ = writeln!(out, "- {t}");
    }
    out.push('\n');
}
