//! Latency of whole commands (a CLI search, `recollq`, `rg`), timed from spawn to exit.

use std::ffi::OsString;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::error::{BenchError, Result};
use crate::stats::{Summary, summarize};

/// What to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Program {
    /// A program and its arguments, run directly.
    Argv(Vec<OsString>),
    /// A command line run by `sh -c` (for pipelines).
    Shell(String),
}

impl Program {
    fn command(&self) -> Result<Command> {
        match self {
            Program::Argv(argv) => {
                let (first, rest) = argv
                    .split_first()
                    .ok_or_else(|| BenchError::Invalid("no command given".into()))?;
                let mut cmd = Command::new(first);
                cmd.args(rest);
                Ok(cmd)
            }
            Program::Shell(line) => {
                let mut cmd = Command::new("sh");
                cmd.arg("-c").arg(line);
                Ok(cmd)
            }
        }
    }

    fn describe(&self) -> String {
        match self {
            Program::Argv(argv) => argv
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(" "),
            Program::Shell(line) => format!("sh -c {line:?}"),
        }
    }
}

/// Timing of repeated runs of a command.
#[derive(Debug, Clone, PartialEq)]
pub struct Timed {
    /// Milliseconds from spawn to exit, stdout read to the end.
    pub millis: Summary,
    /// Lines the last run wrote to stdout.
    pub lines: u64,
    /// Exit code of the last run (`None` when killed by a signal).
    pub status: Option<i32>,
}

/// Runs `program` once: stdin empty, stdout read and its newlines counted, stderr discarded.
fn run_once(program: &Program) -> Result<(f64, u64, Option<i32>)> {
    let mut cmd = program.command()?;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let spawn_err = |source| BenchError::Spawn {
        command: program.describe(),
        source,
    };
    let started = Instant::now();
    let mut child = cmd.spawn().map_err(spawn_err)?;
    let mut lines = 0u64;
    if let Some(mut out) = child.stdout.take() {
        let mut buf = [0u8; 64 * 1024];
        loop {
            let n = out.read(&mut buf).map_err(spawn_err)?;
            if n == 0 {
                break;
            }
            lines += buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
        }
    }
    let status = child.wait().map_err(spawn_err)?;
    Ok((started.elapsed().as_secs_f64() * 1e3, lines, status.code()))
}

/// Runs `program` `warmup` times untimed, then `runs` times timed.
pub fn time_program(program: &Program, runs: usize, warmup: usize) -> Result<Timed> {
    if runs == 0 {
        return Err(BenchError::Invalid("--runs must be at least 1".into()));
    }
    for _ in 0..warmup {
        run_once(program)?;
    }
    let mut samples = Vec::with_capacity(runs);
    let (mut lines, mut status) = (0, None);
    for _ in 0..runs {
        let (ms, l, s) = run_once(program)?;
        samples.push(ms);
        (lines, status) = (l, s);
    }
    let millis =
        summarize(&samples).ok_or_else(|| BenchError::Invalid("no timing samples".into()))?;
    Ok(Timed {
        millis,
        lines,
        status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_lines_and_keeps_the_exit_code() {
        let t = time_program(
            &Program::Shell("printf 'a\\nb\\nc\\n'; exit 1".into()),
            3,
            1,
        )
        .unwrap();
        assert_eq!((t.lines, t.status, t.millis.n), (3, Some(1), 3));
        assert!(t.millis.min > 0.0);
    }

    #[test]
    fn argv_is_not_interpreted_by_a_shell() {
        let argv = vec![OsString::from("echo"), OsString::from("$HOME | x")];
        let t = time_program(&Program::Argv(argv), 1, 0).unwrap();
        assert_eq!((t.lines, t.status), (1, Some(0)));
    }

    #[test]
    fn sleep_is_measured() {
        let t = time_program(&Program::Shell("sleep 0.05".into()), 2, 0).unwrap();
        assert!(t.millis.min >= 50.0, "{:?}", t.millis);
    }

    #[test]
    fn errors_for_missing_program_and_zero_runs() {
        let missing = Program::Argv(vec![OsString::from("/nonexistent/prog")]);
        assert!(matches!(
            time_program(&missing, 1, 0),
            Err(BenchError::Spawn { .. })
        ));
        assert!(time_program(&Program::Shell("true".into()), 0, 0).is_err());
        assert!(time_program(&Program::Argv(vec![]), 1, 0).is_err());
    }
}
