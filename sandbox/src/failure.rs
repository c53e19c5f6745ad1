//! Why a request to a worker failed, with the one-line texts that status and logs show.

use std::time::Duration;

use nix::sys::signal::Signal;

/// Why a request did not produce a response. Every variant but [`WorkerFailure::Panicked`] means the worker
/// was replaced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkerFailure {
    /// The worker was killed by a signal (a crash, an abort, a signal from elsewhere).
    #[error("extractor crashed ({})", signal.as_str())]
    Crashed {
        /// The signal that ended it.
        signal: Signal,
    },
    /// The worker exited while a request was under way.
    #[error("extractor exited with status {code}")]
    Exited {
        /// Its exit code.
        code: i32,
    },
    /// The request took longer than the pool's timeout; the worker was killed.
    #[error("timed out after {}", seconds(*after))]
    TimedOut {
        /// The timeout that was exceeded.
        after: Duration,
    },
    /// The worker ran out of its address-space limit (`RLIMIT_AS`).
    #[error("memory limit ({} MiB)", limit_bytes >> 20)]
    MemoryLimit {
        /// The limit in bytes.
        limit_bytes: u64,
    },
    /// The worker used more CPU time on this request than its `RLIMIT_CPU` allowance.
    #[error("CPU time limit ({seconds} s)")]
    CpuLimit {
        /// The allowance in seconds.
        seconds: u64,
    },
    /// The response was longer than the pool accepts; the worker was killed.
    #[error("response too large (over {limit_bytes} bytes)")]
    ResponseTooLarge {
        /// The largest accepted response.
        limit_bytes: usize,
    },
    /// The handler panicked; the worker caught it and keeps serving.
    #[error("extractor panicked: {message}")]
    Panicked {
        /// The panic message (first line, bounded).
        message: String,
    },
    /// A worker could not be started or did not finish its lock-down handshake.
    #[error("worker could not start: {reason}")]
    Start {
        /// What went wrong.
        reason: String,
    },
    /// The worker sent something that is not a response, or the request could not be sent.
    #[error("worker protocol error: {reason}")]
    Protocol {
        /// What went wrong.
        reason: String,
    },
}

/// Whole seconds when the duration is whole, else seconds with a fraction ("30 s", "1.5 s").
fn seconds(duration: Duration) -> String {
    if duration.subsec_nanos() == 0 {
        format!("{} s", duration.as_secs())
    } else {
        format!("{} s", duration.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_texts_are_one_line_and_name_the_reason() {
        let cases = [
            (
                WorkerFailure::Crashed {
                    signal: Signal::SIGSEGV,
                },
                "extractor crashed (SIGSEGV)",
            ),
            (
                WorkerFailure::TimedOut {
                    after: Duration::from_secs(30),
                },
                "timed out after 30 s",
            ),
            (
                WorkerFailure::TimedOut {
                    after: Duration::from_millis(1500),
                },
                "timed out after 1.5 s",
            ),
            (
                WorkerFailure::MemoryLimit {
                    limit_bytes: 512 << 20,
                },
                "memory limit (512 MiB)",
            ),
            (
                WorkerFailure::Exited { code: 3 },
                "extractor exited with status 3",
            ),
        ];
        for (failure, text) in cases {
            assert_eq!(failure.to_string(), text);
        }
    }
}
