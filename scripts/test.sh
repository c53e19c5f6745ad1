#!/usr/bin/env bash
# Runs the whole test suite (what CI runs): formatting, lint, tests. Tests that need fanotify or mounts
# need root; with CI=true they fail, not skip, when that is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
phase() { printf '\n== test: %s\n' "$*"; }
phase "formatting (cargo fmt --check)"
cargo fmt --all -- --check
phase "lint (cargo clippy, warnings are errors)"
cargo clippy --workspace --all-targets --locked -j2 -- -D warnings
# One test at a time: the end-to-end tests share global kernel state (queue-size sysctls, inotify limits)
# and, on 2 cores, running two daemon or watcher tests at once makes their timing-sensitive parts flaky.
phase "tests (one at a time; includes the check that doc/ completions and man pages are current)"
cargo test --workspace --locked -j2 -- --test-threads=1
