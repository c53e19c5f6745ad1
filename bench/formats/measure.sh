# bench/formats/measure.sh: the document-format measurements of bench/run (issue 12), sourced by it.
#
#   fidelity (corpus `formats` only): reference texts by pdftotext / pandoc -t plain / Python's email
#            (bench/formats/refs.py, made once per work dir), then `fandex-bench fidelity` on the fandex
#            index of the corpus: median and worst-decile share of each document's reference words that
#            the index holds, overall and per extension; every document's share, worst first, in
#            RESULTS_DIR/fidelity-formats.tsv; then `fandex extract` timed on every file: the slowest in
#            RESULTS_DIR/slowest-formats.tsv.
#   fuzz     (once): FUZZ_FILES hostile files (bench/formats/mutants.py: mutations of real samples plus
#            zip bombs, billion laughs, deep nesting, huge archives and mboxes) copied into the root of a
#            running daemon (fanotify, private tmpfs): whether the daemon survived, files found by name,
#            files recorded as failed, total time, daemon RSS and worker count before and after.
# Full index time and peak RSS of the indexer and of its workers come from `index` on the `formats`
# corpus (`watch-rss` samples worker_rss_kb, workers_rss_sum_kb and workers when there are workers).

FORMATS_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

measure_fidelity() {
  local c=$1 refs idx f t0 rel
  [ "$c" = formats ] || return 0
  refs=$WORK/refs/$c
  if [ ! -d "$refs" ]; then
    say "$c: reference texts (pdftotext, pandoc, python email), once"
    python3 "$FORMATS_HERE/refs.py" "$CORP/$c" "$refs.tmp" 2>> "$LOG" || die "refs.py failed; see $LOG"
    mv "$refs.tmp" "$refs"
  fi
  idx=$(fandex_idx "$c")
  [ -d "$idx" ] || fandex_full_index "$c"
  say "$c: text fidelity against the reference extractors"
  "$HELPER" fidelity --corpus "$c" --index-dir "$idx" --refs "$refs" --worst "$OUT/fidelity-$c.tsv" \
    "$CORP/$c" >> "$RESULTS" 2>> "$LOG" || die "fidelity failed; see $LOG"
  say "$c: fandex extract on every file (the slowest files)"
  : > "$WORK/tmp/extract-times.tsv"
  while IFS= read -r -d '' f; do
    t0=$EPOCHREALTIME
    "$FANDEX" extract --json "$f" > /dev/null 2>> "$WORK/tmp/extract-errors.log" || true
    rel=${f#"$CORP/$c/"}
    printf '%s\t%s\n' "$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.3f", b-a}')" "$rel" >> "$WORK/tmp/extract-times.tsv"
  done < <(find "$CORP/$c" -type f -print0 | sort -z)
  sort -rn "$WORK/tmp/extract-times.tsv" > "$OUT/slowest-$c.tsv"
  sample "$c" fidelity fandex-extract slowest_s "$(head -1 "$OUT/slowest-$c.tsv" | cut -f1)"
  sample "$c" fidelity fandex-extract median_s "$(awk -F'\t' '{a[NR]=$1} END{print a[int((NR+1)/2)]}' "$OUT/slowest-$c.tsv")"
  fact "slowest_file_$c" "$(head -1 "$OUT/slowest-$c.tsv" | cut -f2)"
}

# Counts the descendants of PID (the sandboxed extraction workers).
descendant_count() {
  local n=0 p
  for p in $(ps -o pid= --ppid "$1"); do n=$((n + 1 + $(descendant_count "$p"))); done
  echo "$n"
}

measure_fuzz() {
  local name=$1 idx samples=() t0 t1 made found failed alive
  mount_tmpfs fuzz 8192
  mkdir -p "$MNT/root" "$WORK/tmp"
  # One or two real samples of every format the corpus and the parser fixtures hold.
  while IFS= read -r -d '' f; do samples+=("$f"); done < <(
    { find "$CORP/formats/pdf" -name '*.pdf' -size -300k -print0 | sort -z | head -z -n 3
      find "$CORP/formats/book" -name 'ch01*' -print0 | sort -z
      find "$CORP/formats/mail" -name 'msg_0[0-2]*.eml' -print0 | sort -z | head -z -n 3
      find "$ROOT/formats/tests/fixtures" -type f -size -2M -print0 | sort -z; } )
  [ ${#samples[@]} -gt 0 ] || die "fuzz: no samples (build the formats corpus: --corpora formats)"
  rm -rf "$WORK/tmp/mutants"
  say "$name: making $FUZZ_FILES hostile files from ${#samples[@]} samples"
  python3 "$FORMATS_HERE/mutants.py" "${samples[@]}" --out "$WORK/tmp/mutants" --count "$FUZZ_FILES" >> "$LOG" 2>&1 \
    || die "mutants.py failed; see $LOG"
  idx=$(daemon_idx fuzz); rm -rf "$idx"
  echo "fandex bench fuzz root" > "$MNT/root/readme.txt"
  daemon_start "$idx" fanotify "$MNT/root"
  fandex_sync "$idx"
  sample "$name" fuzz fandex rss_before_kb "$(proc_kb "$D_PID" VmRSS)"
  sample "$name" fuzz fandex workers_before "$(descendant_count "$D_PID")"
  say "$name: copying them into the daemon's root, then one sync"
  t0=$EPOCHREALTIME
  cp -r "$WORK/tmp/mutants" "$MNT/root/mutants"
  fandex_sync "$idx"
  t1=$EPOCHREALTIME
  alive=0; kill -0 "$D_PID" 2>/dev/null && alive=1
  sample "$name" fuzz fandex files "$(find "$WORK/tmp/mutants" -type f | wc -l)"
  sample "$name" fuzz fandex seconds "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')"
  sample "$name" fuzz fandex daemon_alive "$alive"
  [ "$alive" = 1 ] || die "the daemon died during the fuzz run; see $LOG"
  # Every file must be found by its path (indexed, or recorded as failed and searchable by name).
  found=$("$FANDEX" search --index-dir "$idx" --json --limit 100000 "path:$MNT/root/mutants" 2>> "$LOG" |
    grep -o '"path":"[^"]*"' | sort -u | wc -l)
  sample "$name" fuzz fandex files_found "$found"
  failed=$(status_json "$idx" | jq -r ".catalog.failed // empty")
  sample "$name" fuzz fandex files_failed "${failed:-unknown}"
  sleep 10 # idle workers
  sample "$name" fuzz fandex rss_after_kb "$(proc_kb "$D_PID" VmRSS)"
  sample "$name" fuzz fandex hwm_kb "$(proc_kb "$D_PID" VmHWM)"
  sample "$name" fuzz fandex workers_after "$(descendant_count "$D_PID")"
  daemon_stop
  umount_tmpfs "$MNT"
  rm -rf "$WORK/tmp/mutants"
}
