#!/usr/bin/env bash
# Installs what fandex needs to build and test on Debian, saying what and why: the missing system
# packages, and the Rust toolchain pinned in rust-toolchain.toml (through rustup). Safe to run again.
#
# The toolchain check is on the version, not on the presence of a `cargo`: Debian's own cargo (no
# rustup, ignores rust-toolchain.toml) is too old for this edition-2024 workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

phase() { printf '\n== setup: %s\n' "$*"; }

phase "system packages"
# build-essential, pkg-config: the C compiler and linker Rust links with; ca-certificates, curl: to
# fetch rustup; e2fsprogs, util-linux, mount, acl: the tests' loop filesystems, mounts and ACLs;
# btrfs-progs, bindfs (FUSE): the watcher's per-filesystem fallback tests.
packages=(build-essential pkg-config ca-certificates curl e2fsprogs util-linux mount acl btrfs-progs bindfs)
packages+=(dbus) # dbus-daemon: a private session bus for the fandex-dbus tests
# systemd (systemd-analyze) and man-db (`man`, which it runs for Documentation=man:): the system and user
# units' tests (verify, security); scripts/package-deb.sh needs only dpkg-deb, part of dpkg.
packages+=(systemd man-db)
# poppler-utils (pdftotext): what the extraction workers run to read PDFs (a third to a half of the
# built-in parser's memory; the fidelity reference). Without it PDFs are read by pdf_oxide, and the
# tests that check pdftotext is used fail.
packages+=(poppler-utils)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "all present: ${packages[*]}"
else
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages: ${missing[*]}; run this script as root (or install them)" >&2
    exit 1
  fi
  echo "installing: ${missing[*]}"
  # apt's progress goes to a log, shown only when it fails.
  log=$(mktemp)
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "setup: installing ${missing[*]} failed (apt's output above)" >&2
    exit 1
  fi
  rm -f "$log"
fi

phase "Rust toolchain"
want=$(sed -n 's/^channel = "\(.*\)"/\1/p' rust-toolchain.toml)
# The rustc this directory builds with (rustup's proxy reads rust-toolchain.toml here), if any.
have() { rustc --version 2>/dev/null | awk '{print $2}'; }
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
if [ "$(have)" = "$want" ]; then
  echo "rustc $want (pinned in rust-toolchain.toml) is installed"
else
  found=$(command -v rustc || true)
  echo "rust-toolchain.toml pins rustc $want; found ${found:-no rustc}${found:+ ($(have || true))}"
  if ! command -v rustup >/dev/null 2>&1; then
    echo "installing rustup, which installs and selects the pinned toolchain (into ~/.cargo, ~/.rustup)"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs \
      | sh -s -- -y -q --profile minimal --default-toolchain "$want" -c rustfmt -c clippy
    # shellcheck disable=SC1091
    . "$HOME/.cargo/env"
  else
    echo "installing rustc $want with rustup"
    rustup toolchain install "$want" --profile minimal -c rustfmt -c clippy
  fi
  if [ "$(have)" != "$want" ]; then
    echo "setup: \`rustc\` on PATH is $(command -v rustc) ($(have || true)), not rustup's $want:" \
      "put ~/.cargo/bin first in PATH (\`. ~/.cargo/env\`)" >&2
    exit 1
  fi
fi
cargo --version
echo "The first build compiles about $(grep -c '^name = ' Cargo.lock) crates (tantivy is the largest):" \
  "on a small machine (2 cores) it takes many minutes; later builds reuse target/."
