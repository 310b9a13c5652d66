#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 60) each, in parallel, at low
# priority, from a working corpus seeded by make_seeds. Crashes land in
# <build>/crashes/<target>/; logs in <build>/logs/<target>.log. Exit 1 on a crash.
#   tests/fuzz/run_fuzzers.sh [build-fuzz] [seconds] [target...]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-build-fuzz}" && pwd)
secs=${2:-60}
shift $(( $# > 2 ? 2 : $# ))
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(fuzz_audio fuzz_dataset fuzz_image fuzz_model_header fuzz_plugin_info fuzz_npy fuzz_store)
[ -d "$build/seeds" ] || "$build/make_seeds" "$build/seeds" "$here/../data" >/dev/null
mkdir -p "$build/logs"
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$here/lsan.supp:print_suppressions=0}
pids=()
for t in "${targets[@]}"; do
  mkdir -p "$build/corpus/$t" "$build/crashes/$t"
  opts=(-max_total_time="$secs" -timeout=20 -rss_limit_mb=2560 -print_final_stats=1
        -artifact_prefix="$build/crashes/$t/")
  [ -f "$here/$t.dict" ] && opts+=(-dict="$here/$t.dict")
  case $t in fuzz_audio | fuzz_image) opts+=(-max_len=65536) ;; fuzz_store) opts+=(-max_len=131072) ;; esac
  nice -n 19 "$build/$t" "${opts[@]}" "$build/corpus/$t" "$build/seeds/$t" >"$build/logs/$t.log" 2>&1 &
  pids+=($!)
done
rc=0
for i in "${!pids[@]}"; do
  if ! wait "${pids[$i]}"; then echo "${targets[$i]}: FAILED (see $build/logs/${targets[$i]}.log)"; rc=1; fi
done
for t in "${targets[@]}"; do
  echo "$t: $(grep -E '^stat::number_of_executed_units' "$build/logs/$t.log" | awk '{print $2}') execs," \
       "$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$build/logs/$t.log" | tail -1)"
done
exit $rc
