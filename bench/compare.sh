#!/usr/bin/env bash
# Two builds of redge, case by case, in alternating runs: did a change move
# server CPU µs per request? One run of `make bench` cannot say within a few
# per cent on a shared 2-core VM (a peer measured twice moves by more than
# that), so this runs bench/run.sh on redge alone (BENCH_PEERS=0) for each
# build in turn, COMPARE_ROUNDS times, the order swapped every round so
# drift in the machine falls on both, and prints the median of each.
#
# Usage: bench/compare.sh OLD_BUILD_DIR NEW_BUILD_DIR
#
#   COMPARE_ROUNDS  runs per build (5)
#   COMPARE_CASES   run.sh cases (hello get cache-hits cache-misses resp-hits relay-post)
#   BENCH_SECONDS   length of each wrk run (10), as in run.sh
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: bench/compare.sh OLD_BUILD_DIR NEW_BUILD_DIR" >&2
  exit 2
fi
OLD=$(cd "$1" && pwd)
NEW=$(cd "$2" && pwd)
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROUNDS=${COMPARE_ROUNDS:-5}
CASES=${COMPARE_CASES:-"hello get cache-hits cache-misses resp-hits relay-post"}
OUT=$(mktemp -d "${TMPDIR:-/tmp}/redge-compare.XXXXXX")
trap 'rm -rf "$OUT"' EXIT

for round in $(seq "$ROUNDS"); do
  order="old new"
  [ $((round % 2)) = 0 ] && order="new old"
  for which in $order; do
    build=$OLD
    [ "$which" = new ] && build=$NEW
    echo "compare: round $round/$ROUNDS, $which build" >&2
    BENCH_PEERS=0 BENCH_CASES="$CASES" BENCH_OUT="$OUT/$which-$round.md" \
      bash "$BENCH_DIR/run.sh" "$build" >"$OUT/$which-$round.log" 2>&1 ||
      { echo "compare: run.sh failed, see below" >&2; tail -n 20 "$OUT/$which-$round.log" >&2; exit 1; }
  done
done

# Each report has "### CASE — ..." headings and one "| redge | req/s | p50 |
# p99 | CPU µs/req | ..." row per case.
python3 - "$OUT" "$ROUNDS" $CASES <<'PY'
import re, statistics, sys
out, rounds, cases = sys.argv[1], int(sys.argv[2]), sys.argv[3:]

def rows(path):
    found, case = {}, None
    for line in open(path, encoding="utf-8"):
        m = re.match(r"### (\S+)", line)
        if m:
            case = m.group(1)
        elif line.startswith("| redge |") and case:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            try:
                found[case] = (float(cells[1]), float(cells[4]))
            except ValueError:
                pass
    return found

runs = {w: [rows(f"{out}/{w}-{r}.md") for r in range(1, rounds + 1)] for w in ("old", "new")}
print(f"| case | old req/s | new req/s | old CPU µs/req | new CPU µs/req | CPU change | old spread | new spread |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for case in cases:
    v = {w: [r[case] for r in runs[w] if case in r] for w in runs}
    if not v["old"] or not v["new"]:
        print(f"| {case} | — | — | — | — | no figures | | |")
        continue
    rps = {w: statistics.median(x[0] for x in v[w]) for w in v}
    cpu = {w: statistics.median(x[1] for x in v[w]) for w in v}
    spread = {w: f"{min(x[1] for x in v[w]):.2f}–{max(x[1] for x in v[w]):.2f}" for w in v}
    change = (cpu["new"] / cpu["old"] - 1) * 100
    print(f"| {case} | {rps['old']:.0f} | {rps['new']:.0f} | {cpu['old']:.2f} | {cpu['new']:.2f} "
          f"| {change:+.1f}% | {spread['old']} | {spread['new']} |")
print()
print(f"Medians of {rounds} alternating runs per build (BENCH_PEERS=0); spread is the lowest and "
      "highest CPU µs/req seen.")
PY
