#!/usr/bin/env bash
# The first thing to run: installs what is needed, builds fandex, indexes a real directory (default:
# /usr/share/doc) into a throw-away index, and runs a few searches.
#   scripts/try.sh [DIR] [QUERY...]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
cargo build --release --locked -j2
dir=${1:-/usr/share/doc}
shift || true
export FANDEX_INDEX_DIR=${FANDEX_INDEX_DIR:-$(mktemp -d)/index}
bin=target/release/fandex
echo "== indexing $dir into $FANDEX_INDEX_DIR"
"$bin" index "$dir"
echo "== indexing again (incremental: nothing to read)"
"$bin" index
if [ $# -gt 0 ]; then
  echo "== fandex search $*"
  "$bin" search "$@" || true
else
  for q in 'license' '"free software" ext:gz' 'copyright -gpl' 'name:changelog*'; do
    echo "== fandex search --limit 3 $q"
    "$bin" search --limit 3 "$q" || true
  done
fi
