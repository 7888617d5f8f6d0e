#!/usr/bin/env bash
# What a request costs in a group of workers against one process, split so
# that a 2-core machine can say something about it. One `make bench` row of
# server CPU µs/req moves by ±15% from run to run here, and either group row
# puts two busy processes on one core (two workers squeezed onto CPU 0, or
# a worker sharing CPU 1 with wrk). This script measures the pipelined
# `GET /` case (bench/pipeline.lua) two ways:
#
#   1. CPU, system calls and context switches per request of the whole
#      process tree (perf stat, software events), in WORKERS_ROUNDS
#      alternating rounds per configuration, medians printed beside the
#      spread: one process on SERVER_CPU, WORKERS_N workers on SERVER_CPU,
#      WORKERS_N workers over WORKERS_CPUS (pinned);
#   2. instructions per request in redge itself (callgrind), one process
#      against the group. Forked workers cannot be zeroed by callgrind_control,
#      so each configuration runs twice, a long and a short load, and
#      (Ir_long − Ir_short) ÷ (requests_long − requests_short) cancels
#      start-up, warm-up and shutdown. The worker machinery's own share
#      (WorkerGroup::publish: the metrics text written once a second) is
#      printed on its own: it is paid per second, not per request, so under
#      valgrind, where a worker serves some 25 times fewer requests a
#      second, it weighs some 25 times more than at full speed.
#
# Usage: bench/workers_cost.sh [BUILD_DIR]   (default build)
#
#   WORKERS_N        workers in the group (2)
#   WORKERS_ROUNDS   alternating rounds of part 1 (5)
#   WORKERS_SECONDS  wrk seconds per round (8)
#   SERVER_CPU, WORKERS_CPUS, CLIENT_CPU   as bench/run.sh (0, 0,1, 1)
#   WORKERS_IR=0     skip part 2 (valgrind)
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
REDGE=$BUILD/redge
N=${WORKERS_N:-2}
ROUNDS=${WORKERS_ROUNDS:-5}
SECONDS_PER_ROUND=${WORKERS_SECONDS:-8}
SERVER_CPU=${SERVER_CPU:-0}
WORKERS_CPUS=${WORKERS_CPUS:-0,1}
CLIENT_CPU=${CLIENT_CPU:-1}
export PIPELINE_DEPTH=${PIPELINE_DEPTH:-16}

for tool in wrk perf redis-server python3; do
  command -v "$tool" >/dev/null || { echo "workers_cost: $tool is missing" >&2; exit 2; }
done
[ -x "$REDGE" ] || { echo "workers_cost: no redge in $BUILD (make build)" >&2; exit 2; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/redge-workers-cost.XXXXXX")
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT

# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"

read -r REDIS_PORT <<<"$(free_ports 1)"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$TMP" --logfile "$TMP/redis.log" &
PIDS+=($!)
for _ in $(seq 50); do
  redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
  sleep 0.1
done

# start LAUNCHER... WORKERS CPUS [--set k=v ...]: sets PID and PORT.
PID="" PORT=""
start() {
  local launcher=() admin
  while [ "$1" != -- ]; do launcher+=("$1"); shift; done
  shift
  local n=$1 cpus=$2
  shift 2
  read -r PORT admin <<<"$(free_ports 2)"
  taskset -c "$cpus" "${launcher[@]}" "$REDGE" --redis "redis://127.0.0.1:$REDIS_PORT/0" \
    --set "app.port=$PORT" --set "admin.port=$admin" --set server.workers="$n" \
    --set cacheproxy.enabled=false --set relay.enabled=false "$@" >"$TMP/redge.log" 2>&1 &
  PID=$!
  PIDS+=("$PID")
  local _
  for _ in $(seq 300); do
    curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/" && return 0
    sleep 0.1
  done
  echo "workers_cost: redge did not start:" >&2
  tail -n 20 "$TMP/redge.log" >&2
  exit 1
}
stop() {
  kill "$PID" 2>/dev/null || true
  wait "$PID" 2>/dev/null || true
}
load() { # load SECONDS: wrk's request count
  taskset -c "$CLIENT_CPU" wrk -t1 -c50 -d"${1}s" -s "$BENCH_DIR/pipeline.lua" \
    "http://127.0.0.1:$PORT/" | awk '/ requests in / { print $1 }'
}
tree() { echo "$PID $(pgrep -P "$PID" | tr '\n' ' ')"; }

# --- 1. perf stat per request, alternating rounds. -------------------------
declare -a LABELS=("one process on CPU $SERVER_CPU" "$N workers on CPU $SERVER_CPU"
  "$N workers over CPUs $WORKERS_CPUS")
native() { # native INDEX: one round of configuration INDEX, appended to its file
  case $1 in
    0) start -- 1 "$SERVER_CPU" ;;
    1) start -- "$N" "$SERVER_CPU" ;;
    2) start -- "$N" "$WORKERS_CPUS" --set server.pin_workers=true ;;
  esac
  sleep 1
  load 1 >/dev/null
  local pids requests
  pids=$(tree | xargs | tr ' ' ',')
  perf stat -x, -o "$TMP/perf" -e task-clock,raw_syscalls:sys_enter,context-switches \
    -p "$pids" -- sleep "$SECONDS_PER_ROUND" &
  local perf_pid=$!
  requests=$(load "$SECONDS_PER_ROUND")
  wait "$perf_pid" || true
  stop
  awk -F, -v n="$requests" '
    $3 == "task-clock" { cpu = $1 * 1000 / n }              # msec → µs
    $3 == "raw_syscalls:sys_enter" { sys = $1 / n }
    $3 == "context-switches" { cs = $1 / n }
    END { printf "%d %.3f %.4f %.4f\n", n, cpu, sys, cs }' "$TMP/perf" >>"$TMP/native-$1"
}
for round in $(seq "$ROUNDS"); do
  order="0 1 2"
  [ $((round % 2)) = 0 ] && order="2 1 0"
  for i in $order; do
    echo "workers_cost: round $round/$ROUNDS, ${LABELS[$i]}" >&2
    native "$i"
  done
done

echo
echo "### pipelined GET / ($PIPELINE_DEPTH per write, 50 connections, wrk on CPU $CLIENT_CPU): medians of $ROUNDS alternating rounds of ${SECONDS_PER_ROUND} s (min–max)"
echo
echo "| server | req/s | CPU µs/req | ÷ one process | system calls/req | context switches/req |"
echo "|---|---:|---:|---:|---:|---:|"
python3 - "$TMP" "$SECONDS_PER_ROUND" "${LABELS[@]}" <<'PY'
import statistics, sys
tmp, seconds, labels = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
rows = []
for i, label in enumerate(labels):
    runs = [list(map(float, line.split())) for line in open(f"{tmp}/native-{i}")]
    col = lambda k: [r[k] for r in runs]
    rows.append((label, col(0), col(1), col(2), col(3)))
base = statistics.median(rows[0][2])
def cell(values, fmt):
    return f"{fmt % statistics.median(values)} ({fmt % min(values)}–{fmt % max(values)})"
for label, n, cpu, sysc, cs in rows:
    print(f"| {label} | {statistics.median(n) / seconds:,.0f} | {cell(cpu, '%.2f')} | "
          f"{statistics.median(cpu) / base:.2f} | {cell(sysc, '%.3f')} | {cell(cs, '%.4f')} |")
PY

# --- 2. instructions per request under callgrind. ---------------------------
[ "${WORKERS_IR:-1}" = 0 ] && exit 0
command -v valgrind >/dev/null || { echo "workers_cost: valgrind is missing; part 2 skipped" >&2; exit 0; }
ir_once() { # ir_once WORKERS SECONDS: "requests Ir_total Ir_machinery"
  local out=$TMP/cg-$1-$2
  mkdir -p "$out"
  start valgrind --tool=callgrind "--callgrind-out-file=$out/cg.%p" -- "$1" "$SERVER_CPU,$CLIENT_CPU"
  sleep 1
  local requests
  requests=$(load "$2")
  sleep 1
  stop
  local f total=0 machinery=0 t m
  for f in "$out"/cg.*; do
    t=$(callgrind_annotate "$f" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
    m=$(callgrind_annotate --inclusive=yes "$f" 2>/dev/null |
      awk '/redge::WorkerGroup::publish\(\)/ { gsub(",", "", $1); print $1; exit }')
    total=$((total + ${t:-0}))
    machinery=$((machinery + ${m:-0}))
  done
  echo "$requests $total $machinery"
}
echo
echo "### instructions per request in redge (callgrind; long − short load)"
echo
echo "| server | Ir/request | of which the worker machinery | without it | ÷ one process |"
echo "|---|---:|---:|---:|---:|"
base=""
for n in 1 "$N"; do
  echo "workers_cost: callgrind, $n worker(s)" >&2
  read -r n1 i1 m1 <<<"$(ir_once "$n" 10)"
  read -r n2 i2 m2 <<<"$(ir_once "$n" 3)"
  read -r per mach rest <<<"$(awk -v n1="$n1" -v n2="$n2" -v i1="$i1" -v i2="$i2" -v m1="$m1" -v m2="$m2" \
    'BEGIN { d = n1 - n2; printf "%.0f %.0f %.0f", (i1 - i2) / d, (m1 - m2) / d, (i1 - i2 - m1 + m2) / d }')"
  [ -z "$base" ] && base=$rest
  label="one process"
  [ "$n" != 1 ] && label="$n workers"
  echo "| $label | $per | $mach | $rest | $(awk -v a="$rest" -v b="$base" 'BEGIN { printf "%.3f", a / b }') |"
done
