//! The `fandex` command line: a thin layer over the fandex libraries.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
