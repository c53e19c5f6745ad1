//! The subcommands of `fandex-bench` and their arguments (clap definitions only; `main.rs` runs them).

use std::ffi::OsString;
use std::path::PathBuf;

use clap::Subcommand;
use fandex_bench::latency;

#[derive(Debug, Subcommand)]
pub(crate) enum Sub {
    /// Read every byte of a corpus from the page cache (after one warm-up pass), on one thread
    Floor {
        /// Corpus name for the samples
        #[arg(long)]
        corpus: String,
        /// Timed passes
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// The corpus directory
        root: PathBuf,
    },
    /// tantivy alone: extract a corpus into memory (untimed), then time indexing it with fandex's schema
    Engine {
        /// Corpus name for the samples
        #[arg(long)]
        corpus: String,
        /// Timed indexings
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Write each run's index to a new subdirectory of DIR (removed afterwards) [default: in RAM]
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// The corpus directory
        root: PathBuf,
    },
    /// Print a query file with `{C}` replaced: class, fandex, recollq, rg (tab-separated)
    Queries {
        /// The query file
        file: PathBuf,
        /// The corpus directory
        root: PathBuf,
    },
    /// Query latency through the library (`open_searcher` + `QueryEngine::search`), per query, with
    /// snippets (tool `fandex-lib`, what `fandex search` asks for) and without (`fandex-lib-nosnip`);
    /// with --socket through a running daemon's client instead (`fandex-daemon-lib`, `-nosnip`)
    LibQuery {
        /// Corpus name for the samples
        #[arg(long)]
        corpus: String,
        /// Search through the daemon listening here instead of opening the index
        #[arg(long)]
        socket: Option<PathBuf>,
        /// Timed searches per query
        #[arg(long, default_value_t = 200)]
        reps: usize,
        /// Hits asked for (fandex search's default is 20)
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Relevance from the text score alone (`[rank]` name = 0, recency = 0; tools
        /// `fandex-lib-textonly`...), to compare with the default blend's cost
        #[arg(long, conflicts_with = "socket")]
        text_only: bool,
        /// The fandex index directory
        #[arg(long)]
        index_dir: PathBuf,
        /// The query file
        file: PathBuf,
        /// The corpus directory
        root: PathBuf,
    },
    /// Write the synthetic tree (issue 16): FILES text files in FILES/10 directories, words drawn with
    /// the frequencies of real corpora, planted rare words; the oracle goes to --oracle
    Synth(SynthArgs),
    /// Search every planted word of a synthetic tree's oracle and compare the files found
    Oracle {
        /// Corpus name for the samples
        #[arg(long)]
        corpus: String,
        /// Tool name for the samples
        #[arg(long)]
        tool: String,
        /// The oracle written by `synth`
        #[arg(long)]
        oracle: PathBuf,
        /// Search through the daemon listening here
        #[arg(
            long,
            conflicts_with = "index_dir",
            required_unless_present = "index_dir"
        )]
        socket: Option<PathBuf>,
        /// Search the index in this directory
        #[arg(long)]
        index_dir: Option<PathBuf>,
    },
    /// `name:` patterns over COUNT synthetic file names indexed in memory (tool `fandex-lib`, measures
    /// `names:CLASS`), and the indexing time
    Names {
        /// How many names
        #[arg(long, default_value_t = 1_000_000)]
        count: usize,
        /// Timed searches per pattern
        #[arg(long, default_value_t = 50)]
        reps: usize,
    },
    /// Time a command from spawn to exit, stdout read and its lines counted
    Cmd {
        /// Corpus name for the samples
        #[arg(long)]
        corpus: String,
        /// Measure name for the samples
        #[arg(long)]
        measure: String,
        /// Tool name for the samples
        #[arg(long)]
        tool: String,
        /// Timed runs
        #[arg(long, default_value_t = 20)]
        runs: usize,
        /// Untimed runs first
        #[arg(long, default_value_t = 2)]
        warmup: usize,
        /// Run the single ARG with `sh -c`
        #[arg(long)]
        shell: bool,
        /// The command
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Text fidelity per document against reference texts (`REL_PATH.txt` under REFS for each corpus file
    /// REL_PATH): median and worst-decile share of the reference's words the index holds, per kind
    /// (file extension); the worst documents go to `--worst FILE` with their shares
    Fidelity {
        /// Corpus name for the samples
        #[arg(long)]
        corpus: String,
        /// The fandex index directory
        #[arg(long)]
        index_dir: PathBuf,
        /// Directory of reference texts
        #[arg(long)]
        refs: PathBuf,
        /// Write every document's share, worst first, to this file
        #[arg(long)]
        worst: PathBuf,
        /// The corpus directory, as indexed
        root: PathBuf,
    },
    /// Run a command (stdio inherited) sampling its resident memory; append the peaks as samples
    /// (`rss_anon_kb`, `rss_file_kb`, and when it had child processes `worker_rss_kb` = the largest
    /// child's peak, `workers_rss_sum_kb`, `workers`) to a file; exit with the command's exit code
    WatchRss {
        /// Append the samples to this file
        #[arg(long)]
        samples: PathBuf,
        /// Corpus name for the samples
        #[arg(long)]
        corpus: String,
        /// Measure name for the samples
        #[arg(long)]
        measure: String,
        /// Tool name for the samples
        #[arg(long)]
        tool: String,
        /// Milliseconds between samples
        #[arg(long, default_value_t = 20)]
        every_ms: u64,
        /// The command
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Spawn a daemon with `NOTIFY_SOCKET` set, wait for `READY=1`, print `PID<TAB>SECONDS` (spawn to
    /// ready), then wait for the daemon to exit and exit with its status (2 when killed by a signal).
    /// Its stdout and stderr go to the log. Run it in the background and read its first line.
    DaemonStart {
        /// Append the daemon's stdout and stderr to this file
        #[arg(long)]
        log: PathBuf,
        /// Kill it and fail if it is not ready after this many seconds
        #[arg(long, default_value_t = 600.0)]
        timeout_s: f64,
        /// The daemon's command line
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Change-to-searchable latency: write changes at a steady rate and poll searches (no sync) for
    /// each one, through a fandex daemon's socket (--socket), recollq (--recoll-config) or another
    /// indexer's search command (--search-cmd)
    Latency {
        /// Corpus name for the samples
        #[arg(long)]
        corpus: String,
        /// Tool name for the samples
        #[arg(long)]
        tool: String,
        /// Changes per second
        #[arg(long)]
        rate: f64,
        /// Seconds of writing
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// Every Nth change creates a new file, the others rewrite an existing one (0: rewrites only)
        #[arg(long, default_value_t = 2)]
        new_every: u64,
        /// Changes sharing one group token (one search per group with unseen changes) [default: 100,
        /// or the rate with --recoll-config or --search-cmd]
        #[arg(long)]
        group: Option<u64>,
        /// Least milliseconds between the starts of two polling rounds
        #[arg(long, default_value_t = 10)]
        poll_ms: u64,
        /// Count changes not seen this many seconds after the last write as missed
        #[arg(long, default_value_t = 60.0)]
        timeout_s: f64,
        /// Directory for the new files (under a watched root)
        #[arg(long)]
        new_dir: PathBuf,
        /// Rewrite files found under this directory (not .gz, at most 1 MiB, not under --new-dir)
        #[arg(long)]
        pool_root: PathBuf,
        /// Only rewrite files with these extensions (comma-separated; empty: any)
        #[arg(long, default_value = latency::DEFAULT_POOL_EXTENSIONS)]
        pool_ext: String,
        /// Search through the fandex daemon listening here
        #[arg(long, required_unless_present_any = ["recoll_config", "search_cmd"])]
        socket: Option<PathBuf>,
        /// Search with `recollq -c DIR`
        #[arg(long, conflicts_with = "socket")]
        recoll_config: Option<PathBuf>,
        /// Search by running this command (split at whitespace, `{limit}` replaced) with the word
        /// appended, reading `file://` URLs or absolute paths from its output (`tracker3 search`,
        /// `baloosearch`)
        #[arg(long, conflicts_with_all = ["socket", "recoll_config"])]
        search_cmd: Option<String>,
    },
    /// Create many small files under a running daemon as fast as possible, then one sync and a count;
    /// samples the daemon's descriptors and memory meanwhile
    Burst {
        /// Corpus name for the samples
        #[arg(long)]
        corpus: String,
        /// Tool name for the samples
        #[arg(long)]
        tool: String,
        /// Files to create
        #[arg(long, default_value_t = 100_000)]
        files: u64,
        /// Files per new subdirectory
        #[arg(long, default_value_t = 1000)]
        per_dir: u64,
        /// Where to create them (under a watched root)
        #[arg(long)]
        dir: PathBuf,
        /// The daemon's pid (for /proc)
        #[arg(long)]
        pid: u32,
        /// The daemon's socket
        #[arg(long)]
        socket: PathBuf,
        /// Milliseconds between /proc samples
        #[arg(long, default_value_t = 10)]
        every_ms: u64,
        /// Seconds the sync may take
        #[arg(long, default_value_t = 600.0)]
        sync_timeout_s: f64,
    },
    /// Move a directory of many files within a watched root and poll (no sync) until every file is
    /// found at its new path and none at the old one
    Move {
        /// Corpus name for the samples
        #[arg(long)]
        corpus: String,
        /// Tool name for the samples
        #[arg(long)]
        tool: String,
        /// Files in the moved directory
        #[arg(long, default_value_t = 10_000)]
        files: u64,
        /// The watched root to create and move the directory in
        #[arg(long)]
        root: PathBuf,
        /// The daemon's socket
        #[arg(long)]
        socket: PathBuf,
        /// Least milliseconds between the starts of two counting rounds
        #[arg(long, default_value_t = 10)]
        poll_ms: u64,
        /// Give up after this many seconds
        #[arg(long, default_value_t = 120.0)]
        timeout_s: f64,
    },
    /// Render the tables of a samples file as Markdown
    Report {
        /// The samples file (results.tsv of a run)
        file: PathBuf,
    },
}

#[derive(Debug, clap::Args)]
pub(crate) struct SynthArgs {
    /// Corpus name for the samples
    #[arg(long)]
    pub(crate) corpus: String,
    /// Files to write
    #[arg(long)]
    pub(crate) files: u64,
    /// The seed
    #[arg(long, default_value_t = 16)]
    pub(crate) seed: u64,
    /// Planted rare words (word k is in 1 + k % 10 files; the first 20 also in a file name)
    #[arg(long, default_value_t = 100)]
    pub(crate) planted: usize,
    /// Writing threads [default: the CPUs]
    #[arg(long)]
    pub(crate) threads: Option<usize>,
    /// A directory of real text to take the vocabulary from (repeatable)
    #[arg(long, required = true)]
    pub(crate) vocab: Vec<PathBuf>,
    /// Read at most this many MiB of the vocabulary directories
    #[arg(long, default_value_t = 64)]
    pub(crate) vocab_mib: u64,
    /// Write the oracle (planted word, count, paths) here
    #[arg(long)]
    pub(crate) oracle: PathBuf,
    /// The empty directory to write the tree in
    pub(crate) root: PathBuf,
}
