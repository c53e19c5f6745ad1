#!/usr/bin/env bash
# Installs fandex for desktop use: the binary, the systemd user unit, the D-Bus activation file, the
# GNOME Shell search provider and KRunner plugin files, the D-Bus introspection XML, the man pages and
# the shell completions, each where the desktop looks for it.
#
#   scripts/install.sh [--prefix DIR] [--destdir DIR] [--binary FILE] [--uninstall] [--list]
#
#   --prefix DIR   where it is installed and runs from (default /usr/local); the unit, the D-Bus and
#                  the .desktop files name DIR/bin/fandex
#   --destdir DIR  stage under DIR instead of / (for packaging): files go to DIR/PREFIX/...
#   --binary FILE  install this fandex binary instead of building one (`cargo build --release`)
#   --uninstall    remove what an install with the same --prefix/--destdir put there
#   --list         print the installed paths (source -> destination) and do nothing
#
# Then, as the user (no root needed):  systemctl --user enable --now fandex.service
set -euo pipefail
cd "$(dirname "$0")/.."

prefix=/usr/local
destdir=
binary=
action=install
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix=${2:?--prefix needs a directory}; shift 2 ;;
    --prefix=*) prefix=${1#*=}; shift ;;
    --destdir) destdir=${2:?--destdir needs a directory}; shift 2 ;;
    --destdir=*) destdir=${1#*=}; shift ;;
    --binary) binary=${2:?--binary needs a file}; shift 2 ;;
    --binary=*) binary=${1#*=}; shift ;;
    --uninstall) action=uninstall; shift ;;
    --list) action=list; shift ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$prefix" in
  /*) prefix=${prefix%/} ;;
  *) echo "install.sh: --prefix must be an absolute path, not $prefix" >&2; exit 2 ;;
esac
destdir=${destdir%/}

share=$prefix/share
# source (in this repository)  ->  destination (below PREFIX); one line each. "BINARY" is the binary.
files() {
  echo "BINARY $prefix/bin/fandex"
  echo "dist/systemd/user/fandex.service $prefix/lib/systemd/user/fandex.service"
  echo "dist/org.fandex.Fandex.service $share/dbus-1/services/org.fandex.Fandex.service"
  echo "dist/org.fandex.Fandex1.xml $share/dbus-1/interfaces/org.fandex.Fandex1.xml"
  echo "dist/org.fandex.Fandex.search-provider.ini $share/gnome-shell/search-providers/org.fandex.Fandex.search-provider.ini"
  echo "dist/org.fandex.Fandex.desktop $share/applications/org.fandex.Fandex.desktop"
  echo "dist/plasma-runner-fandex.desktop $share/krunner/dbusplugins/plasma-runner-fandex.desktop"
  for page in doc/man/*.1; do
    echo "$page $share/man/man1/${page##*/}"
  done
  echo "doc/completions/fandex.bash $share/bash-completion/completions/fandex"
  echo "doc/completions/_fandex $share/zsh/site-functions/_fandex"
  echo "doc/completions/fandex.fish $share/fish/vendor_completions.d/fandex.fish"
}

case "$action" in
  list)
    files
    exit 0
    ;;
  uninstall)
    files | while read -r _ dest; do
      if [ -e "$destdir$dest" ]; then
        rm -f "$destdir$dest"
        echo "removed $destdir$dest"
      fi
    done
    echo "If the service ran: systemctl --user disable --now fandex.service (each user)."
    exit 0
    ;;
esac

if [ -z "$binary" ]; then
  echo "== install: building the release binary (cargo build --release --locked --bin fandex)"
  cargo build --release --locked --bin fandex
  binary=${CARGO_TARGET_DIR:-target}/release/fandex
fi
[ -x "$binary" ] || { echo "install.sh: $binary is not an executable" >&2; exit 1; }

echo "== install: into ${destdir:-}$prefix"
files | while read -r src dest; do
  if [ "$src" = BINARY ]; then
    install -D -m 0755 "$binary" "$destdir$dest"
  else
    # The unit, the D-Bus service and the .desktop files start the installed binary.
    sed -E "s#^(Exec|ExecStart)=[^ ]*fandex( |\$)#\\1=$prefix/bin/fandex\\2#" "$src" \
      | install -D -m 0644 /dev/stdin "$destdir$dest"
  fi
  echo "  $dest"
done
cat <<EOF
Installed. Each user switches the service on with:
  systemctl --user daemon-reload && systemctl --user enable --now fandex.service
GNOME Shell lists the "Fandex" search provider after the next login; KRunner after it restarts.
EOF
