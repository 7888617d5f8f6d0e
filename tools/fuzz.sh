#!/usr/bin/env bash
# `make fuzz`: runs every libFuzzer target built in BUILD_DIR for up to
# FUZZ_SECONDS seconds each and prints per target the time, executions,
# executions per second, coverage and corpus size.
#
#   FUZZ_SECONDS  time per target (default 60)
#   FUZZ_RUNS     also stop a target once it has run this many inputs (default:
#                 no limit). On a busy machine "10 million each, however long
#                 it takes" is FUZZ_RUNS=10000000 with a generous FUZZ_SECONDS.
#   FUZZ_JOBS     targets run at the same time (default 1; each is one process
#                 on one core)
#   FUZZ_TIMEOUT  seconds one input may run before it counts as a hang
#                 (default 25). libFuzzer measures wall time: a campaign that
#                 is paused (SIGSTOP while a benchmark runs) needs more than
#                 the pause, or every target reports a false timeout.
#   FUZZ_FORK     N > 0: each target fuzzes in N worker processes at once
#                 (libFuzzer's -fork=N), its executions summed; with
#                 FUZZ_JOBS=1 that gives one target every core. Coverage
#                 is then libFuzzer's feature count, not edges.
#   FUZZ_TARGETS  only these targets (names separated by spaces, e.g.
#                 "fuzz_json fuzz_resp_parser"); default every fuzz_* built
#
# Each target starts from its committed seed corpus, tests/fuzz/corpus/<target>/,
# copied into a working corpus BUILD_DIR/corpus/<target>/ that keeps growing
# from run to run; the committed seeds are never written to. A crash, a
# timeout (an input running FUZZ_TIMEOUT s), a leak, running out of memory or any
# undefined behaviour (UBSan halts on the first report, but for the ones
# tests/fuzz/ubsan.supp explains) is saved under BUILD_DIR/artifacts/<target>/,
# its report is printed at the end, and the run exits with status 1 after the
# other targets ran. An interrupt (SIGINT to the targets, or Ctrl-C) ends a
# long campaign early: each target reports its figures so far, and that is
# not counted as a finding.
#
# usage: tools/fuzz.sh BUILD_DIR

set -uo pipefail

build=${1:?usage: tools/fuzz.sh BUILD_DIR}
seconds=${FUZZ_SECONDS:-60}
max_jobs=${FUZZ_JOBS:-1}
timeout_s=${FUZZ_TIMEOUT:-25}
runs_limit=()
[ -n "${FUZZ_RUNS:-}" ] && runs_limit=(-runs="$FUZZ_RUNS")
fork=()
[ "${FUZZ_FORK:-0}" -gt 0 ] && fork=(-fork="$FUZZ_FORK")
root=$(cd "$(dirname "$0")/.." && pwd)
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}halt_on_error=1:print_stacktrace=1:suppressions=$root/tests/fuzz/ubsan.supp"

shopt -s nullglob
targets=()
for bin in "$build"/fuzz_*; do
  [ -f "$bin" ] && [ -x "$bin" ] || continue
  if [ -n "${FUZZ_TARGETS:-}" ] && [[ " $FUZZ_TARGETS " != *" $(basename "$bin") "* ]]; then
    continue
  fi
  targets+=("$bin")
done
if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz: no fuzz_* targets${FUZZ_TARGETS:+ named \"$FUZZ_TARGETS\"} in $build" >&2
  exit 2
fi
mkdir -p "$build/logs"

count_files() { find "$1" -maxdepth 1 -type f | wc -l; }

# libFuzzer's exit status when SIGINT stopped it (-interrupted_exitcode):
# a campaign ended by hand, not a finding.
kInterrupted=72

outcomeSuffix() {
  case $1 in
    0) ;;
    "$kInterrupted") echo ", stopped by an interrupt" ;;
    *) echo ", FAILED (exit $1)" ;;
  esac
}

# Runs one target; leaves its figures in logs/<target>.result.
run_target() {
  local bin=$1 name seeds work artifacts log seed_count=0 start_count started rc took
  name=$(basename "$bin")
  seeds="$root/tests/fuzz/corpus/$name"
  work="$build/corpus/$name"
  artifacts="$build/artifacts/$name"
  log="$build/logs/$name.log"
  mkdir -p "$work" "$artifacts"
  if [ -d "$seeds" ]; then
    seed_count=$(count_files "$seeds")
    # -n: inputs already in the working corpus stay as they are.
    cp -n "$seeds"/* "$work"/ 2>/dev/null
  fi
  start_count=$(count_files "$work")
  echo "== $name: up to $seconds s${FUZZ_RUNS:+ or $FUZZ_RUNS runs}," \
    "$seed_count committed seeds, $start_count inputs to start (log: $log)"

  started=$SECONDS
  "$bin" -max_total_time="$seconds" "${runs_limit[@]}" "${fork[@]}" -max_len=8192 -timeout="$timeout_s" \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "$work" >"$log" 2>&1
  rc=$?
  took=$((SECONDS - started))
  # In fork mode an interrupt ends the parent with its worker's status, not
  # -interrupted_exitcode: a worker's "run interrupted" and no report of
  # anything found is the same outcome.
  if [ ${#fork[@]} -gt 0 ] && [ "$rc" -ne 0 ] && grep -q 'libFuzzer: run interrupted' "$log" &&
    ! grep -qE '^==[0-9]+==ERROR|^SUMMARY: |deadly signal|runtime error:' "$log"; then
    rc=$kInterrupted
  fi

  local runs rate added cov
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  added=$(sed -n 's/^stat::new_units_added: *//p' "$log" | tail -1)
  if [ ${#fork[@]} -gt 0 ]; then
    # The parent counts every worker's executions: its last word, else its
    # last "#N: cov: ..." line.
    runs=$(sed -n 's/^INFO: fuzzed for \([0-9]*\) iterations.*/\1/p' "$log" | tail -1)
    [ -n "$runs" ] || runs=$(sed -n 's/^#\([0-9]*\): cov:.*/\1/p' "$log" | tail -1)
    [ -n "$runs" ] && [ "$took" -gt 0 ] && rate=$((runs / took))
  fi
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*')
  echo "$rc $took ${runs:-?} ${rate:-?} ${cov:-?} ${added:-0} $start_count $(count_files "$work")" \
    >"$build/logs/$name.result"
  echo "   $name: ${runs:-?} executions in $took s, ${rate:-?} exec/s," \
    "corpus $start_count -> $(count_files "$work")$(outcomeSuffix "$rc")"
}

for bin in "${targets[@]}"; do
  rm -f "$build/logs/$(basename "$bin").result"
  while [ "$(jobs -rp | wc -l)" -ge "$max_jobs" ]; do wait -n; done
  run_target "$bin" &
done
wait

failed=()
echo
printf '%-20s %8s %12s %9s %6s %8s  %s\n' target seconds executions exec/s cov corpus result
for bin in "${targets[@]}"; do
  name=$(basename "$bin")
  result="$build/logs/$name.result"
  if [ ! -f "$result" ]; then
    failed+=("$name")
    printf '%-20s did not report\n' "$name"
    continue
  fi
  read -r rc took runs rate cov added start_count end_count <"$result"
  outcome="nothing found"
  if [ "$rc" -eq "$kInterrupted" ]; then
    outcome="nothing found (stopped by an interrupt)"
  elif [ "$rc" -ne 0 ]; then
    failed+=("$name")
    outcome="FAILED (exit $rc), see $build/logs/$name.log"
  fi
  printf '%-20s %8s %12s %9s %6s %8s  %s\n' "$name" "$took" "$runs" "$rate" "$cov" \
    "$end_count" "$outcome"
done

for name in "${failed[@]}"; do
  echo
  echo "!! $name: the end of its report"
  grep -v '^#' "$build/logs/$name.log" | tail -40
  ls -1 "$build/artifacts/$name" | sed "s|^|   artifact: $build/artifacts/$name/|"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]}" >&2
  exit 1
fi
