# shellcheck shell=bash
# bench/desktop.sh, sourced by bench/run: the desktop's default indexers as anchors (issue 16), GNOME's
# Tracker/LocalSearch 3 (`tracker`: tracker-miner-fs-3 with tracker-extract-3) and KDE's Baloo (`baloo`:
# baloo_file with baloo_file_extractor), for the full index and change-to-searchable latency.
#
# Each runs headless under its own `dbus-run-session`, with private HOME, XDG_CONFIG_HOME, XDG_DATA_HOME,
# XDG_CACHE_HOME, XDG_RUNTIME_DIR and TMPDIR under WORK/idx/TOOL-NAME, configured to index exactly one
# directory. What had to be set for that here (as root, on the disk and on tmpfs):
# - tracker: configuration through GSettings with GSETTINGS_BACKEND=keyfile (no dconf daemon):
#   index-recursive-directories = [the directory], index-single-directories = [],
#   index-applications = false, initial-sleep = 0. Tracker refuses to index anything under the
#   temporary directory (g_get_tmp_dir(), /tmp by default, where WORK usually is), so TMPDIR points
#   into the private directory. Content: stock Tracker extracts the text of text/plain and
#   text/markdown files named *.txt, *.md, *.mdwn only (extract rule 15-text.rule, key
#   org.freedesktop.Tracker3.Extract text-allowlist); to index the same text as fandex and recoll, a
#   private copy of the extract rules (TRACKER_EXTRACTOR_RULES_DIR) gives the text extractor every
#   text/* type (HTML keeps its own extractor, which comes first) and text-allowlist is ['*'].
#   Tracker runs itself at SCHED_IDLE and nice 19 (not changed: bench/run runs in its own session).
# - baloo: XDG_CONFIG_HOME/baloofilerc with `folders[$e]=DIR/`, `Indexing-Enabled=true`,
#   `only basic indexing=false` (content on), `first run=false`; QT_QPA_PLATFORM=offscreen. Stock
#   Baloo reads the text of text/plain files and documents only: it indexes source code (text/x-python
#   ...) and HTML by name and type, not by content, and there is no setting for it. Its latency load is
#   therefore new .txt files only (`--new-every 1`), and fandex is measured on that load too
#   (`fandex-BACKEND-new`).
# "Done" is the indexer's own status reporting idle, with files indexed, for DESKTOP_SETTLE seconds in
# a row, polled every 0.2 s (`tracker3 status` plus the extractor's org.freedesktop.Tracker3.Miner
# GetStatus; `balooctl status`: state Idle, no file waiting for content); the time is spawn to the
# first idle poll of that final run. Memory is the largest sum of the indexer processes' RSS
# (miner and extractor) over those polls; the index size is du of the database directory.

DESKTOP_SETTLE=5
DESKTOP_TIMEOUT=1800
DESKTOP_DIRS=() # every session directory started, for cleanup
TRACKER_RULES=/usr/share/tracker3-miners/extract-rules
DESKTOP_NOTE="tracker: $(tracker3 --version 2>/dev/null | head -1), tracker-miner-fs $(dpkg-query -W -f '${Version}' tracker-miner-fs 2>/dev/null); baloo: $(balooctl --version 2>/dev/null | tail -1); each under its own dbus-run-session with private HOME/XDG dirs; tracker: keyfile GSettings, initial-sleep 0, private TMPDIR, text extractor for every text/* type and text-allowlist ['*'] (stock: *.txt/*.md only); baloo: stock baloofilerc content indexing (text/plain and documents by content, code and HTML by name only); done = idle for ${DESKTOP_SETTLE} s"

desktop_env() { # DIR -> DENV (environment of every command of that session)
  DENV=("HOME=$1/home" "XDG_CONFIG_HOME=$1/config" "XDG_DATA_HOME=$1/data" "XDG_CACHE_HOME=$1/cache"
    "XDG_RUNTIME_DIR=$1/run" "TMPDIR=$1/tmp" GSETTINGS_BACKEND=keyfile "TRACKER_EXTRACTOR_RULES_DIR=$1/rules"
    QT_QPA_PLATFORM=offscreen)
  if [ -s "$1/bus" ]; then DENV+=("DBUS_SESSION_BUS_ADDRESS=$(cat "$1/bus")"); fi
}

# desktop_setup TOOL DIR ROOT: a fresh private session directory, configured to index ROOT only.
desktop_setup() {
  local tool=$1 d=$2 root=$3 s=org.freedesktop.Tracker3.Miner.Files
  rm -rf "$d"
  mkdir -p "$d"/{home,config,data,cache,run,tmp}
  chmod 700 "$d/run"
  desktop_env "$d"
  case $tool in
    tracker)
      mkdir -p "$d/rules"
      cp "$TRACKER_RULES"/*.rule "$d/rules/"
      sed -i 's|^MimeTypes=text/plain;text/markdown$|MimeTypes=text/*|' "$d/rules/15-text.rule"
      grep -qx 'MimeTypes=text/\*' "$d/rules/15-text.rule" || die "unexpected $TRACKER_RULES/15-text.rule"
      env "${DENV[@]}" gsettings set "$s" index-recursive-directories "['$root']"
      env "${DENV[@]}" gsettings set "$s" index-single-directories "@as []"
      env "${DENV[@]}" gsettings set "$s" index-applications false
      env "${DENV[@]}" gsettings set "$s" initial-sleep 0
      env "${DENV[@]}" gsettings set org.freedesktop.Tracker3.Extract text-allowlist "['*']"
      ;;
    baloo)
      printf '[Basic Settings]\nIndexing-Enabled=true\n\n[General]\nfolders[$e]=%s/\nexclude folders[$e]=\nonly basic indexing=false\nfirst run=false\n' \
        "$root" > "$d/config/baloofilerc"
      ;;
    *) die "unknown desktop indexer '$tool'" ;;
  esac
}

# The processes of session DIR (found by its private XDG_CACHE_HOME in their environment).
desktop_pids() { grep -lzx "XDG_CACHE_HOME=$1/cache" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3 || true; }

# The indexer processes of session DIR (not the bus, not status commands).
desktop_indexer_pids() {
  local p
  for p in $(desktop_pids "$1"); do
    case $(cat "/proc/$p/comm" 2>/dev/null) in tracker-miner*|tracker-extract*|baloo_file*) echo "$p" ;; esac
  done
}

# desktop_start TOOL DIR: starts the indexer in a new session bus. Sets DS_PID (dbus-run-session) and
# DS_T0 (the spawn time); waits until the indexer owns its bus name.
desktop_start() {
  local tool=$1 d=$2 prog name t=0
  case $tool in
    tracker) prog=(/usr/libexec/tracker-miner-fs-3 --initial-sleep 0); name=org.freedesktop.Tracker3.Miner.Files ;;
    baloo) prog=(baloo_file); name=org.kde.baloo ;;
  esac
  rm -f "$d/bus"
  desktop_env "$d"
  DESKTOP_DIRS+=("$d")
  echo "+ ${DENV[*]} dbus-run-session -- ${prog[*]}" >> "$LOG"
  DS_T0=$EPOCHREALTIME
  # shellcheck disable=SC2016 # expanded by the session's shell
  env "${DENV[@]}" dbus-run-session -- sh -c 'echo "$DBUS_SESSION_BUS_ADDRESS" > "$0.new" && mv "$0.new" "$0" && exec "$@"' \
    "$d/bus" "${prog[@]}" >> "$d/log" 2>&1 &
  DS_PID=$!
  OTHER_PIDS+=("$DS_PID")
  until [ -s "$d/bus" ]; do
    kill -0 "$DS_PID" 2>/dev/null || die "$tool did not start; see $d/log"
    sleep 0.01
  done
  desktop_env "$d"
  # Status commands must not D-Bus-activate a second indexer: wait for ours to own its name.
  until env "${DENV[@]}" gdbus call --session --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
      --method org.freedesktop.DBus.NameHasOwner "$name" 2>/dev/null | grep -q true; do
    kill -0 "$DS_PID" 2>/dev/null || die "$tool exited before owning $name; see $d/log"
    sleep 0.05; t=$((t + 1))
    [ "$t" -lt 1200 ] || die "$tool did not own $name in 60 s; see $d/log"
  done
}

# desktop_status TOOL DIR -> DS_IDLE (1 when idle with files indexed), DS_DOCS (files it reports).
desktop_status() {
  local out ex
  DS_IDLE=0
  case $1 in
    tracker)
      out=$(env "${DENV[@]}" tracker3 status 2>/dev/null || true)
      DS_DOCS=$(sed -n 's/^Currently indexed: \([0-9]*\) files.*/\1/p' <<<"$out" | head -1)
      if grep -q 'indexing complete' <<<"$out" && [ "${DS_DOCS:-0}" -gt 0 ]; then
        ex=$(env "${DENV[@]}" gdbus call --session --dest org.freedesktop.Tracker3.Miner.Extract \
          --object-path /org/freedesktop/Tracker3/Miner/Extract --method org.freedesktop.Tracker3.Miner.GetStatus 2>/dev/null || true)
        case $ex in ""|*"'Idle'"*) DS_IDLE=1 ;; esac
      fi
      ;;
    baloo)
      out=$(env "${DENV[@]}" balooctl status 2>/dev/null || true)
      DS_DOCS=$(sed -n 's/^Total files indexed: \([0-9,]*\).*/\1/p' <<<"$out" | tr -d , | head -1)
      if grep -qx 'Indexer state: Idle' <<<"$out" && grep -qx 'Files waiting for content indexing: 0' <<<"$out" \
          && [ "${DS_DOCS:-0}" -gt 0 ]; then
        DS_IDLE=1
      fi
      ;;
  esac
}

# desktop_wait TOOL DIR: polls until done. Sets T_WALL (spawn to done, s), T_RSS (KiB), DS_DOCS.
desktop_wait() {
  local tool=$1 d=$2 t_idle="" now rss p
  T_RSS=0
  while :; do
    desktop_status "$tool" "$d"
    now=$EPOCHREALTIME
    rss=0
    for p in $(desktop_indexer_pids "$d"); do
      rss=$(( rss + $(awk '/^VmRSS:/{print $2}' "/proc/$p/status" 2>/dev/null || echo 0) ))
    done
    if [ "$rss" -gt "$T_RSS" ]; then T_RSS=$rss; fi
    if [ "$DS_IDLE" = 1 ]; then
      [ -n "$t_idle" ] || t_idle=$now
      if awk -v a="$t_idle" -v b="$now" -v s="$DESKTOP_SETTLE" 'BEGIN{exit !(b - a >= s)}'; then break; fi
    else
      t_idle=""
    fi
    kill -0 "$DS_PID" 2>/dev/null || die "$tool exited while indexing; see $d/log"
    if awk -v a="$DS_T0" -v b="$now" -v s="$DESKTOP_TIMEOUT" 'BEGIN{exit !(b - a >= s)}'; then
      die "$tool did not finish indexing in $DESKTOP_TIMEOUT s; see $d/log"
    fi
    sleep 0.2
  done
  T_WALL=$(awk -v a="$DS_T0" -v b="$t_idle" 'BEGIN{printf "%.4f", b-a}')
}

# desktop_stop DIR: SIGTERM to the indexer processes, SIGKILL to what is left after 10 s.
desktop_stop() {
  local d=$1 p t=0 i
  for p in $(desktop_indexer_pids "$d"); do kill -TERM "$p" 2>/dev/null || true; done
  while kill -0 "$DS_PID" 2>/dev/null && [ "$t" -lt 100 ]; do sleep 0.1; t=$((t + 1)); done
  for p in $(desktop_pids "$d"); do kill -KILL "$p" 2>/dev/null || true; done
  wait "$DS_PID" 2>/dev/null || true
  for i in "${!OTHER_PIDS[@]}"; do [ "${OTHER_PIDS[i]}" = "$DS_PID" ] && unset 'OTHER_PIDS[i]'; done
  return 0
}

desktop_cleanup() { # on exit: whatever of any session is left
  local d p
  for d in "${DESKTOP_DIRS[@]}"; do
    for p in $(desktop_pids "$d"); do kill -KILL "$p" 2>/dev/null || true; done
  done
}

desktop_db() { # TOOL DIR: the index's directory
  case $1 in tracker) echo "$2/cache/tracker3" ;; baloo) echo "$2/data/baloo" ;; esac
}

desktop_full_index() { # TOOL CORPUS -> samples under measure `index`
  local tool=$1 c=$2 d=$WORK/idx/$1-$2
  desktop_setup "$tool" "$d" "$CORP/$c"
  desktop_start "$tool" "$d"
  desktop_wait "$tool" "$d"
  sample "$c" index "$tool" wall_s "$T_WALL"
  sample "$c" index "$tool" rss_kb "$T_RSS"
  sample "$c" index "$tool" size_kb "$(du -sk "$(desktop_db "$tool" "$d")" | cut -f1)"
  sample "$c" index "$tool" docs "${DS_DOCS:-NaN}"
  desktop_stop "$d"
}

# desktop_latency CORPUS: each desktop indexer on the corpus copy at $MNT/CORPUS (mounted by
# measure_latency), indexed untimed, then the latency load at each rate, searched with its CLI.
desktop_latency() {
  local c=$1 tool d rate cmd ne
  for tool in $DESKTOP; do
    d=$WORK/idx/$tool-monitor-$c
    say "$c: $tool: indexing the corpus copy (untimed)"
    desktop_setup "$tool" "$d" "$MNT/$c"
    desktop_start "$tool" "$d"
    desktop_wait "$tool" "$d"
    case $tool in
      tracker) cmd="tracker3 search --disable-color --disable-snippets --limit {limit}"; ne=2 ;;
      baloo) cmd="baloosearch --limit {limit}"; ne=1 ;;
    esac
    fact "${tool}_monitor_$c" "$DESKTOP_NOTE; searched with '$cmd WORD', new-every $ne"
    for rate in $RATES; do
      say "$c: change-to-searchable latency, $tool, $rate changes/s for $LAT_SECONDS s (waits up to $RECOLL_TIMEOUT s)"
      env "${DENV[@]}" "$HELPER" latency --corpus "$c" --tool "$tool" --rate "$rate" --seconds "$LAT_SECONDS" \
        --new-every "$ne" --poll-ms 50 --timeout-s "$RECOLL_TIMEOUT" --new-dir "$MNT/$c/fandex-bench-new" \
        --pool-root "$MNT/$c" --search-cmd "$cmd" >> "$RESULTS" 2>> "$LOG" \
        || die "latency ($tool, $rate/s) failed; see $LOG"
    done
    desktop_stop "$d"
  done
}
