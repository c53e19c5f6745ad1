#!/usr/bin/env bash
# The first thing to run: installs what is needed, builds fandex, installs the binary, indexes a real
# directory (default: /usr/share/doc) into a named demo index, runs a few searches, and says where
# everything is and how to search again.
#   scripts/try.sh [DIR] [QUERY...]
# Environment: FANDEX_INDEX_DIR (the demo index; default ~/.cache/fandex-demo, kept for searching
# again), FANDEX_INSTALL_DIR (where the binary goes; default /usr/local/bin, where the system unit looks),
# FANDEX_TRY_BIN (use this binary instead of setting up and building: for tests).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${FANDEX_TRY_BIN:-}" ]; then
  built=$FANDEX_TRY_BIN
else
  scripts/setup.sh
  [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
  echo "== building fandex (release)"
  cargo build --release --locked -j2
  built=target/release/fandex
fi
dir=${1:-/usr/share/doc}
shift || true
export FANDEX_INDEX_DIR=${FANDEX_INDEX_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fandex-demo}
install_dir=${FANDEX_INSTALL_DIR:-/usr/local/bin}

# The binary goes where the system unit (dist/systemd/fandex.service) expects it. As root this is done
# without asking (and said); otherwise the exact command is printed.
bin=$built
install_hint=""
if [ -w "$install_dir" ] || { [ "$(id -u)" -eq 0 ] && mkdir -p "$install_dir"; }; then
  install -m 0755 "$built" "$install_dir/fandex"
  bin=$install_dir/fandex
  echo "== installed $bin (from $built)"
else
  install_hint="sudo install -m 0755 $(realpath "$built") $install_dir/fandex"
fi

if [ -e "$FANDEX_INDEX_DIR" ]; then
  echo "== the demo index $FANDEX_INDEX_DIR exists (an earlier run): updating it"
fi
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

size=$(du -sh "$FANDEX_INDEX_DIR" | cut -f1)
own_index=${XDG_DATA_HOME:-$HOME/.local/share}/fandex
[ "$(id -u)" -eq 0 ] && own_index=/var/lib/fandex
cmd=fandex
[ "$bin" = "$install_dir/fandex" ] && [ "$(command -v fandex || true)" = "$bin" ] || cmd=$bin
cat <<EOF

== where things are
binary:      $bin${install_hint:+ (not installed: $install_hint)}
demo index:  $FANDEX_INDEX_DIR ($size of $dir), kept for searching again:
               FANDEX_INDEX_DIR=$FANDEX_INDEX_DIR $cmd search 'your words'
               FANDEX_INDEX_DIR=$FANDEX_INDEX_DIR $cmd index     (bring it up to date)
             remove it with: rm -rf $FANDEX_INDEX_DIR
your own:    $cmd index ~/Documents && $cmd search 'your words'   (index in $own_index)
             $cmd daemon ~/Documents   keeps it current as files change ($cmd status --follow shows it work)
system-wide: dist/systemd/fandex.service (README: "Running the daemon"), or scripts/package-deb.sh
EOF
