#!/usr/bin/env bash
# `make fuzz`: runs every libFuzzer target built in BUILD_DIR for
# FUZZ_SECONDS seconds each, one after the other (the machine's cores are
# shared), and prints per target the executions, executions per second and
# corpus size.
#
# Each target starts from its committed seed corpus, tests/fuzz/corpus/<target>/,
# copied into a working corpus BUILD_DIR/corpus/<target>/ that keeps growing
# from run to run; the committed seeds are never written to. A crash, a
# timeout or a leak is saved under BUILD_DIR/artifacts/<target>/, its report
# printed, and the run ends with exit status 1 after the other targets ran.
#
# usage: tools/fuzz.sh BUILD_DIR            (FUZZ_SECONDS, default 60)

set -uo pipefail

build=${1:?usage: tools/fuzz.sh BUILD_DIR}
seconds=${FUZZ_SECONDS:-60}
root=$(cd "$(dirname "$0")/.." && pwd)

shopt -s nullglob
targets=("$build"/fuzz_*)
if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz: no fuzz_* targets in $build" >&2
  exit 2
fi

count_files() { find "$1" -maxdepth 1 -type f | wc -l; }

failed=()
rows=()
for bin in "${targets[@]}"; do
  [ -f "$bin" ] && [ -x "$bin" ] || continue
  name=$(basename "$bin")
  seeds="$root/tests/fuzz/corpus/$name"
  work="$build/corpus/$name"
  artifacts="$build/artifacts/$name"
  log="$build/logs/$name.log"
  mkdir -p "$work" "$artifacts" "$build/logs"
  seed_count=0
  if [ -d "$seeds" ]; then
    seed_count=$(count_files "$seeds")
    # -n: inputs already in the working corpus stay as they are.
    cp -n "$seeds"/* "$work"/ 2>/dev/null
  fi
  start_count=$(count_files "$work")
  echo "== $name: $seconds s, $seed_count committed seeds, $start_count inputs to start (log: $log)"

  # -timeout: an input that takes this long is a hang, reported like a crash.
  "$bin" -max_total_time="$seconds" -max_len=8192 -timeout=25 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$work" >"$log" 2>&1
  rc=$?

  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  added=$(sed -n 's/^stat::new_units_added: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*')
  end_count=$(count_files "$work")
  if [ $rc -ne 0 ]; then
    failed+=("$name")
    echo "!! $name FAILED (exit $rc); the end of its report:"
    grep -v '^#' "$log" | tail -40
    ls -1 "$artifacts" | sed "s|^|   artifact: $artifacts/|"
    outcome="FAILED, see $log"
  else
    outcome="nothing found"
  fi
  rows+=("$(printf '%-20s %8s %12s %9s %6s %8s  %s' "$name" "$seconds" "${runs:-?}" \
    "${rate:-?}" "${cov:-?}" "$end_count" "$outcome")")
  echo "   ${runs:-?} executions, ${rate:-?} exec/s, ${added:-0} new inputs, corpus $start_count -> $end_count"
done

echo
printf '%-20s %8s %12s %9s %6s %8s  %s\n' target seconds executions exec/s cov corpus result
printf '%s\n' "${rows[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]}" >&2
  exit 1
fi
