#!/usr/bin/env bash
# Builds a Debian package of fandex with dpkg-deb (what `cargo deb` would make, without building
# cargo-deb first): the binary, the system unit and its tmpfiles.d entry, the man pages and shell
# completions of doc/, and the desktop integration files of dist/ (D-Bus activation, GNOME Shell and
# KRunner providers, the user unit when there is one).
#   scripts/package-deb.sh [--binary PATH] [--out DIR]
# Default binary: target/release/fandex (built with `cargo build --release --locked` when missing).
# Prints the package's path. Install it with `apt install ./fandex_VERSION_ARCH.deb`.
set -euo pipefail
cd "$(dirname "$0")/.."

binary=target/release/fandex
out=target/debian
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "package-deb: unknown argument $1 (use --binary PATH, --out DIR)" >&2; exit 2 ;;
  esac
done
if [ ! -x "$binary" ]; then
  echo "== package-deb: building the release binary" >&2
  cargo build --release --locked -j2 >&2
fi

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
arch=$(dpkg --print-architecture)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root=$stage/fandex_${version}_$arch

# put MODE SOURCE DEST: one file into the package tree.
put() { install -D -m "$1" "$2" "$root/$3"; }

put 0755 "$binary" usr/bin/fandex
# The unit names /usr/local/bin/fandex (a manual install); the package's binary is in /usr/bin.
sed 's|/usr/local/bin/fandex|/usr/bin/fandex|g' dist/systemd/fandex.service >"$stage/fandex.service"
put 0644 "$stage/fandex.service" lib/systemd/system/fandex.service
put 0644 dist/tmpfiles.d/fandex.conf usr/lib/tmpfiles.d/fandex.conf
for page in doc/man/*.1; do
  mkdir -p "$root/usr/share/man/man1"
  gzip -9nc "$page" >"$root/usr/share/man/man1/$(basename "$page").gz"
done
put 0644 doc/completions/fandex.bash usr/share/bash-completion/completions/fandex
put 0644 doc/completions/_fandex usr/share/zsh/vendor-completions/_fandex
put 0644 doc/completions/fandex.fish usr/share/fish/vendor_completions.d/fandex.fish
# Desktop integration, where present.
optional() { if [ -f "$1" ]; then put 0644 "$1" "$2"; fi; }
optional dist/org.fandex.Fandex.service usr/share/dbus-1/services/org.fandex.Fandex.service
optional dist/org.fandex.Fandex1.xml usr/share/dbus-1/interfaces/org.fandex.Fandex1.xml
optional dist/org.fandex.Fandex.search-provider.ini \
  usr/share/gnome-shell/search-providers/org.fandex.Fandex.search-provider.ini
optional dist/org.fandex.Fandex.desktop usr/share/applications/org.fandex.Fandex.desktop
optional dist/plasma-runner-fandex.desktop usr/share/krunner/dbusplugins/plasma-runner-fandex.desktop
for unit in dist/systemd/user/*; do
  [ -f "$unit" ] || continue
  sed 's|/usr/local/bin/fandex|/usr/bin/fandex|g' "$unit" >"$stage/user-unit"
  put 0644 "$stage/user-unit" "usr/lib/systemd/user/$(basename "$unit")"
done
put 0644 README.md usr/share/doc/fandex/README.md

mkdir -p "$root/DEBIAN"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<EOF
Package: fandex
Version: $version
Architecture: $arch
Maintainer: fandex developers <fandex@example.invalid>
Installed-Size: $size
Depends: libc6
Recommends: poppler-utils
Section: utils
Priority: optional
Homepage: https://example.invalid/fandex
Description: file indexer: full-text search kept current by kernel notifications
 fandex keeps a full-text index of files current with fanotify (or inotify),
 and answers searches from the command line, a daemon socket and desktop
 search providers. The system daemon (fandex.service) answers each user with
 only the files that user may read.
EOF
# The unit is not enabled: it needs roots in /etc/fandex/config.toml first.
cat >"$root/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = configure ] && [ -d /run/systemd/system ]; then
  systemd-tmpfiles --create /usr/lib/tmpfiles.d/fandex.conf || true
  systemctl daemon-reload || true
fi
echo "fandex: name the roots in /etc/fandex/config.toml, then: systemctl enable --now fandex"
EOF
cat >"$root/DEBIAN/postrm" <<'EOF'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload || true
fi
EOF
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/postrm"

mkdir -p "$out"
deb="$out/fandex_${version}_$arch.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
