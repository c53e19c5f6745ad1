#!/usr/bin/env bash
# bench/tools.sh: installs the tools bench/run measures against, from Debian, when missing (bench/run
# runs it first; it can also be run alone). The anchors: recoll (recollindex, recollq), ripgrep, fd, plocate,
# GNU time, and the desktop indexers GNOME Tracker/LocalSearch 3 (tracker-miner-fs-3 with
# tracker-extract, CLI tracker3) and KDE Baloo (baloo_file, baloo_file_extractor, balooctl,
# baloosearch), which bench/run starts headless under dbus-run-session (bench/desktop.sh).
# Without recommended packages: the indexers' own defaults, not a desktop.
set -euo pipefail

need_apt=()
command -v recollindex >/dev/null && command -v recollq >/dev/null || need_apt+=(recollcmd)
command -v rg >/dev/null || need_apt+=(ripgrep)
command -v fdfind >/dev/null || need_apt+=(fd-find)
command -v plocate >/dev/null || need_apt+=(plocate)
[ -x /usr/bin/time ] || need_apt+=(time)
command -v jq >/dev/null || need_apt+=(jq)
/usr/bin/python3 -c "import dbus" 2>/dev/null || need_apt+=(python3-dbus) # bench/provider-latency.py
# The load `bench/run --load cpu2` starts (two busy CPU workers).
command -v stress-ng >/dev/null || need_apt+=(stress-ng)
command -v dbus-run-session >/dev/null || need_apt+=(dbus-daemon)
[ -x /usr/libexec/tracker-miner-fs-3 ] && command -v tracker3 >/dev/null || need_apt+=(tracker tracker-miner-fs tracker-extract)
command -v baloo_file >/dev/null && command -v balooctl >/dev/null && command -v baloosearch >/dev/null || need_apt+=(baloo-kf5)
# Baloo's content extractors (KFileMetaData's plugins; only recommended by baloo-kf5's library, and
# without them Baloo indexes names and types only).
dpkg -s libkf5filemetadata-bin >/dev/null 2>&1 || need_apt+=(libkf5filemetadata-bin)
# Tracker writes its configuration through GSettings: the keyfile backend needs no dconf daemon, but
# GIO only offers it with the dconf module absent or GSETTINGS_BACKEND set; gsettings is in libglib2.0-bin.
command -v gsettings >/dev/null || need_apt+=(libglib2.0-bin)

if [ ${#need_apt[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "bench/tools.sh: missing ${need_apt[*]}: run as root or install them (apt-get install ${need_apt[*]})" >&2; exit 2; }
  echo "== installing ${need_apt[*]} from Debian" >&2
  if ! apt-cache policy "${need_apt[@]}" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    apt-get update -qq
  fi
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
