#!/usr/bin/env bash
# Installs what fandex needs to build and test on Debian: system packages (only the missing ones) and,
# when cargo is absent, the pinned Rust toolchain through rustup. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

# btrfs-progs and bindfs (FUSE): the watcher's per-filesystem fallback tests.
packages=(build-essential pkg-config ca-certificates curl e2fsprogs util-linux mount acl btrfs-progs bindfs)
packages+=(dbus) # dbus-daemon: a private session bus for the fandex-dbus tests
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages: ${missing[*]}; run this script as root (or install them)" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  toolchain=$(sed -n 's/^channel = "\(.*\)"/\1/p' rust-toolchain.toml)
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --default-toolchain "$toolchain" -c rustfmt -c clippy
  # shellcheck disable=SC1091
  . "$HOME/.cargo/env"
fi
cargo --version
