#!/usr/bin/env bash
# Runs the whole test suite (what CI runs). Tests that need fanotify or mounts need root; with CI=true
# they fail, not skip, when that is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -j2 -- -D warnings
cargo test --workspace --locked -j2
