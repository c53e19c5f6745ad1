#!/usr/bin/env bash
# bench/idle-priority.sh: does fandex's first walk stay out of the way of a compile? (issue 14)
#
#   bench/idle-priority.sh [CORPUS]     (default: WORK/corpora/big, built by make-corpora.sh when missing)
#
# Times a CPU-bound compile (`make -j2` of generated C files, gcc -O2; no fandex code involved) alone,
# and while `fandex daemon` makes its first walk of CORPUS into a fresh index, once with
# `daemon.idle_priority = true` (the default: walk threads at SCHED_IDLE and IOPRIO_CLASS_IDLE) and once
# with `false`; and times each walk alone and under the compile (walk = daemon start until its socket
# answers, which it does once the walk is committed). Prints one TSV line per run and the load average
# before each: the machine may be shared, so repeat (RUNS) and compare medians.
#
# Environment: FANDEX (default: target/release/fandex, else target/debug/fandex), WORK (default
# /tmp/fandex-idle), RUNS (default 2), COMPILE_FILES (24) and COMPILE_FUNCS (100): the compile's size.
set -euo pipefail
cd "$(dirname "$0")/.."

WORK=${WORK:-/tmp/fandex-idle}
RUNS=${RUNS:-2}
COMPILE_FILES=${COMPILE_FILES:-24}
COMPILE_FUNCS=${COMPILE_FUNCS:-100}
target=${CARGO_TARGET_DIR:-target}
FANDEX=${FANDEX:-$( [ -x "$target/release/fandex" ] && echo "$target/release/fandex" || echo "$target/debug/fandex")}
FANDEX=$(realpath "$FANDEX")
mkdir -p "$WORK"
CORPUS=${1:-$WORK/corpora/big}
if [ ! -d "$CORPUS" ]; then
  /work/shared/bench/make-corpora.sh "$WORK/corpora" big >&2
fi
CORPUS=$(realpath "$CORPUS")

# The compile: generated C, the same every time (seeded), built from scratch each run.
src=$WORK/compile
if [ ! -f "$src/Makefile" ]; then
  mkdir -p "$src"
  python3 - "$src" "$COMPILE_FILES" "$COMPILE_FUNCS" <<'EOF'
import random, sys
out, files, funcs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
random.seed(14)
for n in range(files):
    lines = ['#include <stdint.h>']
    for f in range(funcs):
        lines.append(f'uint64_t f{n}_{f}(uint64_t x, uint64_t y) {{\n  uint64_t a = x, b = y;')
        for i in range(20):
            op = random.choice('+^*-')
            lines.append(f'  for (int i = 0; i < {random.randint(3, 9)}; i++) {{ a = (a {op} '
                         f'{random.randint(1, 1 << 30)}u) * (b | {i + 1}u); b ^= a >> {random.randint(1, 31)}; }}')
        lines.append('  return a ^ b;\n}')
    open(f'{out}/u{n}.c', 'w').write('\n'.join(lines) + '\n')
objs = ' '.join(f'u{n}.o' for n in range(files))
open(f'{out}/Makefile', 'w').write(f'all: {objs}\n%.o: %.c\n\tgcc -O2 -c $< -o $@\nclean:\n\trm -f *.o\n')
EOF
fi

now() { date +%s.%N; }
load() { cut -d' ' -f1-3 /proc/loadavg | tr ' ' '/'; }
compile() {
  make -s -C "$src" clean
  local t0; t0=$(now)
  make -s -j2 -C "$src" all
  echo "$(now) - $t0" | bc
}

daemon_pid=
stop_daemon() {
  if [ -n "$daemon_pid" ]; then
    kill "$daemon_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
    daemon_pid=
  fi
}
trap stop_daemon EXIT

# Starts the daemon on a fresh index with idle_priority = $1; sets daemon_pid, index.
start_walk() {
  index=$WORK/index
  rm -rf "$index"
  printf '[daemon]\nidle_priority = %s\n' "$1" >"$WORK/config.toml"
  "$FANDEX" --index-dir "$index" --config "$WORK/config.toml" daemon \
    --backend inotify --rename-source inotify "$CORPUS" 2>"$WORK/daemon.log" &
  daemon_pid=$!
}
# Waits until the daemon's walk is done (its socket answers); prints the seconds since $1.
wait_walk() {
  until "$FANDEX" --index-dir "$index" status --json >/dev/null 2>&1; do
    kill -0 "$daemon_pid" 2>/dev/null || { cat "$WORK/daemon.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "$(now) - $1" | bc
}

echo "# fandex $("$FANDEX" --version | cut -d' ' -f2) ($FANDEX), corpus $CORPUS ($(find "$CORPUS" -type f | wc -l) files), $(nproc) CPUs, $(date -u +%FT%TZ)"
# Warm the page cache, so every walk reads from memory.
find "$CORPUS" -type f -print0 | xargs -0 cat >/dev/null
printf 'run\tcase\tload_before\tcompile_s\twalk_s\n'
for run in $(seq "$RUNS"); do
  l=$(load); printf '%s\tcompile alone\t%s\t%s\t-\n' "$run" "$l" "$(compile)"
  for idle in true false; do
    l=$(load); start_walk "$idle"; t0=$(now)
    printf '%s\twalk alone, idle_priority=%s\t%s\t-\t%s\n' "$run" "$idle" "$l" "$(wait_walk "$t0")"
    stop_daemon
    l=$(load); start_walk "$idle"; t0=$(now)
    c=$(compile)
    printf '%s\tcompile + walk, idle_priority=%s\t%s\t%s\t%s\n' "$run" "$idle" "$l" "$c" "$(wait_walk "$t0")"
    stop_daemon
  done
done
rm -rf "$WORK/index"
