#!/usr/bin/env bash
# `make bench`: wrk against redge and its peers in one run, one table per case.
#
# Usage: bench/run.sh BUILD_DIR        (BUILD_DIR holds redge and baseline_server)
#
# Every server under test runs alone, pinned to SERVER_CPU (default 0), and is
# started fresh for each case; wrk runs pinned to CLIENT_CPU (default 1). One
# private redis-server (free port, temporary directory, no persistence) serves
# the whole run. For every server the script reads, around one wrk run:
# requests/s and the p50/p99 latency (wrk), the CPU the server's process tree
# spent (/proc/PID/stat utime+stime+cutime+cstime) divided by the requests wrk
# completed, and the peak RSS (VmHWM). See bench/README.md for the columns.
#
# Knobs (environment):
#   BENCH_SECONDS      length of each measured wrk run (10)
#   BENCH_WARMUP       seconds of unmeasured wrk before each run (1; 0 = none)
#   BENCH_CASES        cases to run, in order (see the default below), e.g.
#                      gateway (redge's gateway vs HAProxy and nginx as reverse
#                      proxies), gateway-cache-hit (its response cache vs
#                      Varnish and nginx proxy_cache), gateway-canary (a
#                      flag-bound route and a canary pool vs neither),
#                      replica-cache-misses, replica-recent and
#                      relay-post-replicated (redis.read_from=replica and
#                      relay.durability=replicated against a replica the
#                      bench starts)
#   CACHE_OBJECT_BYTES body size of the gateway-cache cases' object (1024)
#   CACHE_MISS_ENTRIES max_entries of gateway-cache-miss's route (10000)
#   CACHE_FILL_OBJECTS objects stored by gateway-cache-rss (100000), within
#   CACHE_FILL_SECONDS (60)
#   VARNISH_ARGS       more varnishd arguments for the Varnish peer
#   BENCH_CONNECTIONS  wrk connections (50)
#   PIPELINE_DEPTH     requests per write in the pipelined cases (16)
#   IDLE_CONNS         idle connections opened by the idle-rss case (10000)
#   SERVER_CPU, CLIENT_CPU, REDIS_CPU   CPU lists for taskset (0, 1, unpinned)
#   BENCH_OUT          where the report is copied (bench/last-run.md)
#   BENCH_KEEP_TMP     set to keep the temporary directory (logs, wrk output)
#   BENCH_PEERS        0: measure redge alone, no peer (bench/compare.sh uses it)
#   WORKERS_N          server.workers of the workers-pipelined case's group rows (2)
#   WORKERS_CPUS       CPU list the spread group row runs on, one worker per CPU
#                      (pin_workers; default "0,1", which wrk's CPU 1 shares)
#   WORKERS_WRK_THREADS wrk threads in the workers-pipelined case (1)
#
# Adding a case: write `case_NAME() { ... }` (dashes in NAME become
# underscores) that starts servers with the start_* helpers, calls
# `measure LABEL PID URL [wrk args...]` for each, stops them with stop_pid, and
# calls `print_table`; then add NAME to BENCH_CASES.
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: bench/run.sh BUILD_DIR" >&2
  exit 2
fi
BUILD_DIR=$(cd "$1" && pwd)
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

BENCH_SECONDS=${BENCH_SECONDS:-10}
BENCH_WARMUP=${BENCH_WARMUP:-1}
BENCH_CASES=${BENCH_CASES:-"hello hello-pipelined workers-pipelined get idle-rss cache-hits cache-misses replica-cache-misses replica-recent resp-hits resp-hits-pipelined relay-post relay-post-replicated relay-delivery gateway gateway-idle-rss gateway-cache-hit gateway-cache-miss gateway-cache-rss gateway-canary"}
BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-50}
PIPELINE_DEPTH=${PIPELINE_DEPTH:-16}
WORKERS_N=${WORKERS_N:-2}
WORKERS_CPUS=${WORKERS_CPUS:-0,1}
WORKERS_WRK_THREADS=${WORKERS_WRK_THREADS:-1}
export PIPELINE_DEPTH # read by bench/pipeline.lua inside wrk
IDLE_CONNS=${IDLE_CONNS:-10000}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
REDIS_CPU=${REDIS_CPU:-}
BENCH_OUT=${BENCH_OUT:-$BENCH_DIR/last-run.md}
BENCH_PEERS=${BENCH_PEERS:-1}

REDGE_BIN=$BUILD_DIR/redge
BASELINE_BIN=$BUILD_DIR/baseline_server
CLK_TCK=$(getconf CLK_TCK)
MESSAGE="this message will self-destruct in 10 seconds"

for tool in wrk taskset curl python3 redis-server redis-cli ps; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (make bench-deps)" >&2; exit 1; }
done

# 10,000 idle connections need as many descriptors in the server and in the
# client. Raising the hard limit needs privilege; otherwise take the hard limit.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
NOFILE=$(ulimit -n)
MAXCONN=$((NOFILE > 20064 ? 20000 : NOFILE - 64))

TMP=$(mktemp -d "${TMPDIR:-/tmp}/redge-bench.XXXXXX")
REPORT=$TMP/report.md
: >"$REPORT"

# ---------------------------------------------------------------- processes

PIDS=() # every process this script started and has not stopped yet

log() { echo "bench: $*" >&2; }

# True while PID runs (a zombie waiting to be reaped does not count).
alive() {
  local state
  state=$(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}

# PID's children, grandchildren, ... one per line.
descendants() {
  local child
  for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
    echo "$child"
    descendants "$child"
  done
}

# SIGTERM, up to 5 s of grace, then SIGKILL; the same for any descendant left
# behind (an nginx worker whose master was killed).
stop_pid() {
  local pid=$1 p _ kids
  kids=$(descendants "$pid")
  for p in $pid $kids; do
    kill -TERM "$p" 2>/dev/null || true
  done
  for p in $pid $kids; do
    for _ in $(seq 50); do
      alive "$p" || break
      sleep 0.1
    done
    if alive "$p"; then kill -KILL "$p" 2>/dev/null || true; fi
  done
  wait "$pid" 2>/dev/null || true
  forget_pid "$pid"
}

forget_pid() {
  local p keep=()
  for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

# run_waiting OUT CMD...: runs CMD with its output in OUT and waits for it.
# In the background, because bash runs a trap only between commands: a signal
# interrupts `wait` at once, but not a foreground child.
run_waiting() {
  local out=$1 pid rc=0
  shift
  "$@" >"$out" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  wait "$pid" || rc=$?
  forget_pid "$pid"
  return "$rc"
}

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  if [ -n "${BENCH_KEEP_TMP:-}" ]; then log "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# free_ports N (bench/lib.sh)
# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"

# Waits (at most 10 s) until URL answers anything over HTTP, while PID runs.
wait_http() {
  local url=$1 pid=$2 _
  for _ in $(seq 100); do
    alive "$pid" || return 1
    curl -s -o /dev/null --max-time 1 "$url" && return 0
    sleep 0.1
  done
  return 1
}

# start_server NAME READY_URL CMD...: runs CMD pinned to SERVER_CPU, output to
# $TMP/NAME.log, and waits for READY_URL. Sets STARTED_PID; returns 1 (and
# prints the log's tail) if the server did not come up. With BENCH_PEERS=0
# only redge* and backend* names start (a backend is not a peer).
STARTED_PID=""
start_server() {
  local name=$1 ready=$2
  shift 2
  if [ "$BENCH_PEERS" = 0 ] && [ "${name%%-*}" != redge ] && [ "${name%%-*}" != backend ]; then
    STARTED_PID=""
    return 1
  fi
  # START_CPUS: another CPU list for this one server (a group of workers).
  taskset -c "${START_CPUS:-$SERVER_CPU}" "$@" >"$TMP/$name.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  if wait_http "$ready" "$pid"; then
    STARTED_PID=$pid
    return 0
  fi
  log "$name did not start; last lines of its log:"
  tail -n 15 "$TMP/$name.log" | sed 's/^/  | /' >&2
  stop_pid "$pid"
  STARTED_PID=""
  return 1
}

# Fills @NAME@ placeholders of a template: fill TEMPLATE OUT NAME=VALUE...
fill() {
  local template=$1 out=$2 kv expr=()
  shift 2
  for kv in "$@"; do expr+=(-e "s|@${kv%%=*}@|${kv#*=}|g"); done
  sed "${expr[@]}" "$template" >"$out"
}

# ------------------------------------------------------------------ servers

REDIS_PORT=""
REDIS_PID=""
start_redis() {
  REDIS_PORT=$(free_ports 1)
  local pin=()
  [ -n "$REDIS_CPU" ] && pin=(taskset -c "$REDIS_CPU")
  "${pin[@]}" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$TMP" --logfile "$TMP/redis.log" --daemonize no &
  REDIS_PID=$!
  PIDS+=("$REDIS_PID")
  local _
  for _ in $(seq 50); do
    [ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ] && return 0
    sleep 0.1
  done
  log "redis-server did not start"
  tail -n 15 "$TMP/redis.log" >&2 || true
  exit 1
}

# redge's optional --set keys: each is kept only if this build accepts it
# (a key not wired yet is dropped, and the report says so).
REDGE_OPTIONAL=(cacheproxy.enabled=false relay.enabled=false app.message_ttl_s=3600)
REDGE_EXTRA=()
REDGE_DROPPED=()
probe_redge() {
  [ -x "$REDGE_BIN" ] || return 0
  local kv
  for kv in "${REDGE_OPTIONAL[@]}" http.max_connections=20000; do
    if "$REDGE_BIN" --check-config --redis "redis://127.0.0.1:$REDIS_PORT/0" \
      --set "$kv" >/dev/null 2>&1; then
      case "$kv" in http.max_connections=*) ;; *) REDGE_EXTRA+=(--set "$kv") ;; esac
    else
      REDGE_DROPPED+=("$kv")
    fi
  done
}
redge_accepts() {
  local kv
  for kv in "${REDGE_DROPPED[@]}"; do [ "$kv" = "$1" ] && return 1; done
  return 0
}

# start_redge [--set k=v ...]: sets REDGE_PORT (app) and STARTED_PID.
REDGE_PORT=""
start_redge() {
  if [ ! -x "$REDGE_BIN" ]; then
    log "no redge binary at $REDGE_BIN"
    return 1
  fi
  local admin
  read -r REDGE_PORT admin <<<"$(free_ports 2)"
  start_server redge "http://127.0.0.1:$REDGE_PORT/" "$REDGE_BIN" \
    --redis "redis://127.0.0.1:$REDIS_PORT/0" --set "app.port=$REDGE_PORT" \
    --set "admin.port=$admin" "${REDGE_EXTRA[@]}" "$@"
}

BASELINE_PORT=""
start_baseline() { # start_baseline [NAME OBJECT_BYTES]: the object answer (see baseline_server.cpp)
  if [ ! -x "$BASELINE_BIN" ]; then
    log "no baseline_server in $BUILD_DIR; building it"
    cmake --build "$BUILD_DIR" --target baseline_server >&2 || return 1
  fi
  BASELINE_PORT=$(free_ports 1)
  start_server "${1:-baseline}" "http://127.0.0.1:$BASELINE_PORT/" "$BASELINE_BIN" \
    "$BASELINE_PORT" ${2:+"$2"}
}

NGINX_PORT=""
# start_nginx [WORKERS [pin]]: worker_processes WORKERS (1), each pinned to
# one CPU of the start CPUs when "pin" is given (worker_cpu_affinity auto).
start_nginx() {
  command -v nginx >/dev/null || { log "nginx is missing"; return 1; }
  NGINX_PORT=$(free_ports 1)
  local affinity=""
  [ "${2:-}" = pin ] && affinity="worker_cpu_affinity auto;"
  fill "$BENCH_DIR/peers/nginx.conf.in" "$TMP/nginx.conf" "TMP=$TMP" "PORT=$NGINX_PORT" \
    "USER=$(id -un)" "NOFILE=$NOFILE" "MAXCONN=$MAXCONN" "WORKERS=${1:-1}" "AFFINITY=$affinity"
  start_server nginx "http://127.0.0.1:$NGINX_PORT/" \
    nginx -p "$TMP" -c "$TMP/nginx.conf" -e "$TMP/nginx-error.log"
}

NGINX_PROXY_PORT=""
start_nginx_proxy() { # start_nginx_proxy BACKEND_PORT
  command -v nginx >/dev/null || { log "nginx is missing"; return 1; }
  NGINX_PROXY_PORT=$(free_ports 1)
  mkdir -p "$TMP/nginx-proxy-prefix"
  fill "$BENCH_DIR/peers/nginx-proxy.conf.in" "$TMP/nginx-proxy.conf" "TMP=$TMP" \
    "PORT=$NGINX_PROXY_PORT" "BACKEND_PORT=$1" "USER=$(id -un)" "NOFILE=$NOFILE" \
    "MAXCONN=$(((NOFILE - 200) / 2))" # two descriptors per proxied connection
  start_server nginx-proxy "http://127.0.0.1:$NGINX_PROXY_PORT/" \
    nginx -p "$TMP" -c "$TMP/nginx-proxy.conf" -e "$TMP/nginx-proxy-error.log"
}

WEBDIS_PORT=""
start_webdis() {
  command -v webdis >/dev/null || { log "webdis is missing"; return 1; }
  WEBDIS_PORT=$(free_ports 1)
  fill "$BENCH_DIR/peers/webdis.json.in" "$TMP/webdis.json" "TMP=$TMP" "PORT=$WEBDIS_PORT" \
    "REDIS_PORT=$REDIS_PORT"
  # webdis takes its configuration file as its only argument.
  start_server webdis "http://127.0.0.1:$WEBDIS_PORT/PING" webdis "$TMP/webdis.json"
}

HAPROXY_PORT=""
start_haproxy() { # start_haproxy BACKEND_PORT [MAXCONN]
  command -v haproxy >/dev/null || { log "haproxy is missing"; return 1; }
  HAPROXY_PORT=$(free_ports 1)
  # Two descriptors per proxied connection, unless the case says otherwise
  # (idle client connections share a few kept-alive backend ones).
  fill "$BENCH_DIR/peers/haproxy.cfg.in" "$TMP/haproxy.cfg" "TMP=$TMP" "PORT=$HAPROXY_PORT" \
    "BACKEND_PORT=$1" "MAXCONN=${2:-$(((NOFILE - 200) / 2))}"
  start_server haproxy "http://127.0.0.1:$HAPROXY_PORT/" haproxy -db -f "$TMP/haproxy.cfg"
}

NGINX_CACHE_PORT=""
start_nginx_cache() { # start_nginx_cache BACKEND_PORT
  command -v nginx >/dev/null || { log "nginx is missing"; return 1; }
  NGINX_CACHE_PORT=$(free_ports 1)
  rm -rf "$TMP/nginx-cache"
  fill "$BENCH_DIR/peers/nginx-cache.conf.in" "$TMP/nginx-cache.conf" "TMP=$TMP" \
    "PORT=$NGINX_CACHE_PORT" "BACKEND_PORT=$1" "USER=$(id -un)" "NOFILE=$NOFILE" \
    "MAXCONN=$(((NOFILE - 200) / 2))"
  start_server nginx-cache "http://127.0.0.1:$NGINX_CACHE_PORT/" \
    nginx -p "$TMP" -c "$TMP/nginx-cache.conf" -e "$TMP/nginx-cache-error.log"
}

# Varnish as a caching-proxy peer, in the foreground: its built-in VCL with
# BACKEND_PORT as the one backend (-b), 256 MiB of malloc storage, one thread
# pool (the box has 2 cores, and the server gets one of them), a working
# directory in the run's temporary directory. -j none: no privilege drop to
# the varnish users, who could not enter that directory (mode 0700).
# VARNISH_ARGS: more varnishd arguments (split on spaces), e.g. "-p
# thread_pool_min=10", to try a setting without editing this file.
VARNISH_ARGS=${VARNISH_ARGS:-}
VARNISH_PORT=""
VARNISH_DIR=""
start_varnish() { # start_varnish BACKEND_PORT
  command -v varnishd >/dev/null || { log "varnishd is missing (make bench-deps)"; return 1; }
  VARNISH_PORT=$(free_ports 1)
  VARNISH_DIR=$TMP/varnish-$VARNISH_PORT
  # Varnish compiles its VCL with cc at start-up: the ready wait covers it.
  # shellcheck disable=SC2086 # VARNISH_ARGS is a word list on purpose
  start_server varnish "http://127.0.0.1:$VARNISH_PORT/ready" varnishd -F -j none \
    -a "127.0.0.1:$VARNISH_PORT" -b "127.0.0.1:$1" -s malloc,256m -n "$VARNISH_DIR" \
    -p thread_pools=1 $VARNISH_ARGS
}

# redge with its gateway alone (app off): one route "/" to one pool whose one
# member is BACKEND_PORT, no active health checks, the route's "cache" object
# CACHE_JSON (none if empty; no spaces in it).
# start_cache_gateway NAME BACKEND_PORT CACHE_JSON: sets GW_PORT, GW_ADMIN_PORT
# and STARTED_PID.
GW_PORT=""
GW_ADMIN_PORT=""
start_cache_gateway() {
  local name=$1 backend=$2 cache=$3 route
  [ -x "$REDGE_BIN" ] || { log "no redge binary at $REDGE_BIN"; return 1; }
  read -r GW_PORT GW_ADMIN_PORT <<<"$(free_ports 2)"
  route='{"prefix":"/","pool":"app"'${cache:+',"cache":'$cache}'}'
  start_server "$name" "http://127.0.0.1:$GW_PORT/ready" "$REDGE_BIN" \
    --redis "redis://127.0.0.1:$REDIS_PORT/0" --set app.enabled=false \
    --set "admin.port=$GW_ADMIN_PORT" "${REDGE_EXTRA[@]}" --set gateway.enabled=true \
    --set "gateway.port=$GW_PORT" --set "gateway.routes=[$route]" \
    --set 'gateway.pools={"app":{"members":[{"address":"127.0.0.1:'"$backend"'"}],"health":{"enabled":false}}}'
}

# gw_metric NAME: the sum of redge's metric NAME (every label set) on the
# admin port GW_ADMIN_PORT; empty if it cannot be read.
gw_metric() {
  curl -s --max-time 2 "http://127.0.0.1:$GW_ADMIN_PORT/metrics" |
    awk -v m="$1" '$1 == m || index($1, m "{") == 1 { v += $NF; seen = 1 } END { if (seen) printf "%.0f", v }'
}

# answers_hit URL REGEX: asks for URL twice; true if the second answer's
# headers match REGEX (grep -Ei): what says "served from the cache" differs
# per server.
answers_hit() {
  curl -s -o /dev/null --max-time 2 "$1" || true
  curl -s -o /dev/null -D - --max-time 2 "$1" | tr -d '\r' | grep -Eiq "$2"
}

# ------------------------------------------------------------- measurement

# CPU clock ticks spent by PID and every live descendant (utime + stime +
# cutime + cstime: fields 14-17 of /proc/PID/stat).
tree_ticks() {
  local p q total=0 rest f
  for p in "$@" $(for q in "$@"; do descendants "$q"; done); do
    rest=$(cat "/proc/$p/stat" 2>/dev/null) || continue
    rest=${rest##*) } # drop "pid (comm) ": comm may hold spaces
    read -r -a f <<<"$rest"
    total=$((total + f[11] + f[12] + f[13] + f[14]))
  done
  echo "$total"
}

# Sum of one /proc/PID/status field (VmHWM, VmRSS; in kB) over PID's tree.
tree_kb() {
  local field=$1 pid=$2 p total=0 v
  for p in "$pid" $(descendants "$pid"); do
    v=$(awk -v f="$field:" '$1 == f { print $2 }' "/proc/$p/status" 2>/dev/null) || continue
    total=$((total + ${v:-0}))
  done
  echo "$total"
}

mib() { awk -v kb="$1" 'BEGIN { printf "%.1f", kb / 1024 }'; }

# Results, keyed "CASE/LABEL".
declare -A ROWS=() R_RPS=() R_CPU=() R_AUX=() R_P50=() R_P99=() R_RSS=() R_ERR=() R_NOTE=()
declare -A R_IDLE=() R_LOADED=() R_OPEN=()
CASE=""

add_row() { ROWS[$CASE]="${ROWS[$CASE]:-}$1 "; }

# A server that could not be measured: missing LABEL NOTE
missing() {
  add_row "$1"
  R_NOTE[$CASE/$1]=$2
  [ "$BENCH_PEERS" = 0 ] && [ "${1%%-*}" != redge ] && R_NOTE[$CASE/$1]="skipped (BENCH_PEERS=0)"
  return 0
}

# measure LABEL PID URL [wrk args...]
# Runs wrk against URL and records LABEL's row for the current case. The CPU
# of the processes in AUX_PIDS (redis-server, a proxy's backend) is measured
# over the same interval and shown in the case's extra column.
measure() {
  local label=$1 pid=$2 url=$3
  shift 3
  local key=$CASE/$label aux=${AUX_PIDS:-}
  add_row "$label"
  local wrk=(taskset -c "$CLIENT_CPU" wrk -t1 -c"$BENCH_CONNECTIONS" --latency "$@")
  log "$CASE: $label: ${BENCH_SECONDS}s of wrk on $url"
  if [ "$BENCH_WARMUP" != 0 ]; then
    run_waiting /dev/null timeout $((BENCH_WARMUP + 20)) "${wrk[@]}" -d"${BENCH_WARMUP}s" "$url" ||
      true
  fi
  local t0 a0=0 t1 a1=0 out file=$TMP/wrk-$CASE-$label.txt
  # AUX_PIDS is a list of pids: split on purpose.
  # shellcheck disable=SC2086
  t0=$(tree_ticks "$pid") && [ -n "$aux" ] && a0=$(tree_ticks $aux)
  if ! run_waiting "$file" timeout $((BENCH_SECONDS + 30)) "${wrk[@]}" -d"${BENCH_SECONDS}s" "$url"; then
    R_NOTE[$key]="wrk failed"
    log "$label: wrk failed: $(cat "$file")"
    return 0
  fi
  # shellcheck disable=SC2086
  t1=$(tree_ticks "$pid") && [ -n "$aux" ] && a1=$(tree_ticks $aux)
  out=$(cat "$file")
  if ! alive "$pid"; then
    R_NOTE[$key]="exited during the run"
    return 0
  fi

  local requests
  requests=$(awk '/ requests in / { print $1 }' <<<"$out")
  if [ -z "$requests" ] || [ "$requests" = 0 ]; then
    R_NOTE[$key]="no requests completed"
    return 0
  fi
  R_RPS[$key]=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' <<<"$out")
  # wrk sometimes prints a percentile as 0.00us (seen with pipelining; a
  # known fault of wrk's histogram): show n/a rather than a false zero.
  R_P50[$key]=$(awk '$1 == "50%" { print ($2 == "0.00us" ? "n/a" : $2) }' <<<"$out")
  R_P99[$key]=$(awk '$1 == "99%" { print ($2 == "0.00us" ? "n/a" : $2) }' <<<"$out")
  R_ERR[$key]=$(awk '/Non-2xx or 3xx responses:/ { bad += $NF }
                     /Socket errors:/ { gsub(",", ""); bad += $4 + $6 + $8 + $10 }
                     END { print bad + 0 }' <<<"$out")
  R_CPU[$key]=$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$requests" \
    'BEGIN { printf "%.2f", t / hz * 1e6 / n }')
  if [ -n "$aux" ]; then
    R_AUX[$key]=$(awk -v t=$((a1 - a0)) -v hz="$CLK_TCK" -v n="$requests" \
      'BEGIN { printf "%.2f", t / hz * 1e6 / n }')
  fi
  R_RSS[$key]=$(mib "$(tree_kb VmHWM "$pid")")
}

# ------------------------------------------------------------------ report

out() { echo "$*" | tee -a "$REPORT"; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "—"; else printf "%.2f", a / b }'; }

# print_table TITLE AUX_LABEL [NOTE...]: the current case's rows. Ratios are
# redge ÷ peer: above 1 for req/s and below 1 for CPU µs/req favour redge.
print_table() {
  local title=$1 aux_label=$2 label key
  shift 2
  local ref=$CASE/redge
  out ""
  out "### $CASE — $title"
  out ""
  out "| server | req/s | p50 | p99 | server CPU µs/req | $aux_label | peak RSS MiB | req/s redge ÷ peer | CPU µs/req redge ÷ peer | errors |"
  out "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for label in ${ROWS[$CASE]:-}; do
    key=$CASE/$label
    if [ -n "${R_NOTE[$key]:-}" ]; then
      out "| $label | ${R_NOTE[$key]} | | | | | | | | |"
      continue
    fi
    local rr="—" rc="—"
    if [ "$label" != redge ] && [ -n "${R_RPS[$ref]:-}" ]; then
      rr=$(ratio "${R_RPS[$ref]}" "${R_RPS[$key]}")
      rc=$(ratio "${R_CPU[$ref]}" "${R_CPU[$key]}")
    fi
    out "| $label | ${R_RPS[$key]} | ${R_P50[$key]} | ${R_P99[$key]} | ${R_CPU[$key]} | ${R_AUX[$key]:-—} | ${R_RSS[$key]} | $rr | $rc | ${R_ERR[$key]} |"
  done
  local note
  for note in "$@"; do
    out ""
    out "$note"
  done
}

# ------------------------------------------------------------------- cases

# The three hello servers, each alone on SERVER_CPU; extra args go to wrk.
hello_servers() {
  if start_redge; then
    AUX_PIDS=$REDIS_PID measure redge "$STARTED_PID" "http://127.0.0.1:$REDGE_PORT/" "$@"
    stop_pid "$STARTED_PID"
  else
    missing redge "redge did not start"
  fi
  if start_baseline; then
    measure baseline "$STARTED_PID" "http://127.0.0.1:$BASELINE_PORT/" "$@"
    stop_pid "$STARTED_PID"
  else
    missing baseline "did not start"
  fi
  if start_nginx; then
    measure nginx "$STARTED_PID" "http://127.0.0.1:$NGINX_PORT/" "$@"
    stop_pid "$STARTED_PID"
  else
    missing nginx "did not start"
  fi
}

case_hello() {
  hello_servers
  print_table "GET / hello, keep-alive, $BENCH_CONNECTIONS connections" "redis µs/req"
}

case_hello_pipelined() {
  hello_servers -s "$BENCH_DIR/pipeline.lua"
  print_table "GET / hello, $PIPELINE_DEPTH requests per write, $BENCH_CONNECTIONS connections" \
    "redis µs/req" \
    "With pipelining wrk records one latency per batch of $PIPELINE_DEPTH (write to last response), so p50/p99 are per batch, not per request. n/a: wrk printed 0.00us for that percentile, a known wrk fault with pipelined scripts (wg/wrk issue 236)."
}

# One redge process against a group of WORKERS_N workers (server.workers),
# pipelined GET /: the case that the server, not wrk, bounds. Three rows:
#   1 worker      on SERVER_CPU, as hello-pipelined's redge row;
#   N on 1 CPU    the group squeezed onto SERVER_CPU: the same core's work,
#                 so CPU µs/req shows what the group itself costs (master,
#                 heartbeats, metrics publishing) and req/s should not move;
#   N on CPUS     the group over WORKERS_CPUS, one worker pinned per CPU:
#                 what more cores give, on a machine that has them to spare.
# Server CPU is the whole process tree's (master and workers).
# group_row LABEL CPUS WORKERS PORT_VAR START_FN [ARGS...]: one row, the
# server started by START_FN ARGS on CPUS, its port read from PORT_VAR.
group_row() {
  local label=$1 cpus=$2 n=$3 port_var=$4 start=$5
  shift 5
  if START_CPUS=$cpus "$start" "$@"; then
    R_WORKERS[$CASE/$label]="$n on CPU $cpus"
    measure "$label" "$STARTED_PID" "http://127.0.0.1:${!port_var}/" \
      -s "$BENCH_DIR/pipeline.lua" -t"$WORKERS_WRK_THREADS"
    stop_pid "$STARTED_PID"
  else
    missing "$label" "${label%%-*} did not start"
  fi
}
workers_row() { # workers_row LABEL CPUS WORKERS [--set k=v ...]
  local label=$1 cpus=$2 n=$3
  shift 3
  group_row "$label" "$cpus" "$n" REDGE_PORT start_redge --set "server.workers=$n" "$@"
}
# The same three rows for nginx (worker_processes, worker_cpu_affinity auto):
# what a group of processes costs on this machine whoever's they are.
nginx_workers_row() { # nginx_workers_row LABEL CPUS WORKERS [pin]
  group_row "$1" "$2" "$3" NGINX_PORT start_nginx "$3" "${4:-}"
}

declare -A R_WORKERS=()
case_workers_pipelined() {
  workers_row redge-1 "$SERVER_CPU" 1
  workers_row "redge-$WORKERS_N-1cpu" "$SERVER_CPU" "$WORKERS_N"
  workers_row "redge-$WORKERS_N" "$WORKERS_CPUS" "$WORKERS_N" --set server.pin_workers=true
  nginx_workers_row nginx-1 "$SERVER_CPU" 1
  nginx_workers_row "nginx-$WORKERS_N-1cpu" "$SERVER_CPU" "$WORKERS_N"
  nginx_workers_row "nginx-$WORKERS_N" "$WORKERS_CPUS" "$WORKERS_N" pin
  local ref label key
  out ""
  out "### $CASE — GET / hello, $PIPELINE_DEPTH requests per write, $BENCH_CONNECTIONS connections, wrk -t$WORKERS_WRK_THREADS on CPU $CLIENT_CPU: one process vs a group of $WORKERS_N workers"
  out ""
  out "| server | workers | req/s | p50 | p99 | server CPU µs/req | peak RSS MiB (all processes) | req/s ÷ 1 worker | CPU µs/req ÷ 1 worker | errors |"
  out "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  for label in ${ROWS[$CASE]:-}; do
    key=$CASE/$label
    ref=$CASE/${label%%-*}-1 # each server against its own single process
    if [ -n "${R_NOTE[$key]:-}" ]; then
      out "| $label | ${R_WORKERS[$key]:-} | ${R_NOTE[$key]} | | | | | | | |"
      continue
    fi
    out "| $label | ${R_WORKERS[$key]} | ${R_RPS[$key]} | ${R_P50[$key]} | ${R_P99[$key]} | ${R_CPU[$key]} | ${R_RSS[$key]} | $(ratio "${R_RPS[$key]}" "${R_RPS[$ref]:-}") | $(ratio "${R_CPU[$key]}" "${R_CPU[$ref]:-}") | ${R_ERR[$key]} |"
  done
  out ""
  out "wrk records one latency per batch of $PIPELINE_DEPTH. Each server's ratios are to its own single process (redge-1, nginx-1). The spread row shares CPU $CLIENT_CPU with wrk whenever WORKERS_CPUS includes it (the default on two cores): there, req/s ÷ 1 worker is bounded by what the client leaves over, not by redge."
}

case_get() {
  if start_redge; then
    local port=$REDGE_PORT pid=$STARTED_PID
    curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port/set" || true
    if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/get")" = 200 ]; then
      AUX_PIDS=$REDIS_PID measure redge "$pid" "http://127.0.0.1:$port/get"
    else
      missing redge "GET /get does not answer 200 after GET /set"
    fi
    stop_pid "$pid"
  else
    missing redge "redge did not start"
  fi
  redis-cli -p "$REDIS_PORT" SET k "$MESSAGE" >/dev/null
  if start_webdis; then
    AUX_PIDS=$REDIS_PID measure webdis "$STARTED_PID" "http://127.0.0.1:$WEBDIS_PORT/GET/k.txt"
    stop_pid "$STARTED_PID"
  else
    missing webdis "did not start"
  fi
  print_table "the stored message from Redis: redge GET /get vs webdis GET /GET/k.txt" \
    "redis µs/req" \
    "redis µs/req is redis-server's own CPU over the same run, per request served."
}

# idle_server LABEL PID PORT: RSS before and while IDLE_CONNS connections idle.
idle_server() {
  local label=$1 pid=$2 port=$3 key=$CASE/$1
  add_row "$label"
  sleep 1
  R_IDLE[$key]=$(mib "$(tree_kb VmRSS "$pid")")
  log "$CASE: $label: opening $IDLE_CONNS idle connections"
  local ready=$TMP/idle-$label.ready
  rm -f "$ready"
  taskset -c "$CLIENT_CPU" python3 "$BENCH_DIR/idle_conns.py" "$port" "$IDLE_CONNS" "$ready" 300 &
  local client=$!
  PIDS+=("$client")
  local _
  for _ in $(seq 1200); do # 120 s at most
    [ -f "$ready" ] && break
    alive "$client" || break
    sleep 0.1
  done
  if [ ! -f "$ready" ]; then
    R_NOTE[$key]="the idle client failed"
    stop_pid "$client"
    return 0
  fi
  sleep 1 # let the server settle
  local loaded opened failed
  loaded=$(tree_kb VmRSS "$pid")
  read -r opened failed <"$ready"
  stop_pid "$client"
  if ! alive "$pid"; then
    R_NOTE[$key]="exited while holding the connections"
    return 0
  fi
  R_LOADED[$key]=$(mib "$loaded")
  R_OPEN[$key]="$opened"
  if [ "$failed" != 0 ]; then R_OPEN[$key]="$opened ($failed failed)"; fi
}

case_idle_rss() {
  local extra=()
  redge_accepts http.max_connections=20000 && extra=(--set http.max_connections=20000)
  if start_redge "${extra[@]}"; then
    idle_server redge "$STARTED_PID" "$REDGE_PORT"
    stop_pid "$STARTED_PID"
  else
    missing redge "redge did not start"
  fi
  if start_baseline; then
    idle_server baseline "$STARTED_PID" "$BASELINE_PORT"
    stop_pid "$STARTED_PID"
  else
    missing baseline "did not start"
  fi
  if start_nginx; then
    idle_server nginx "$STARTED_PID" "$NGINX_PORT"
    stop_pid "$STARTED_PID"
  else
    missing nginx "did not start"
  fi
  print_idle_table "one GET / answered on each"
}

# print_idle_table WHAT: the table of idle_server's rows for this case.
print_idle_table() {
  out ""
  out "### $CASE — RSS idle, then with $IDLE_CONNS idle keep-alive connections ($1)"
  out ""
  out "| server | idle RSS MiB | RSS with idle conns MiB | increase MiB | KiB per conn | conns open |"
  out "|---|---:|---:|---:|---:|---:|"
  local label key
  for label in ${ROWS[$CASE]:-}; do
    key=$CASE/$label
    if [ -n "${R_NOTE[$key]:-}" ]; then
      out "| $label | ${R_NOTE[$key]} | | | | |"
      continue
    fi
    local conns=${R_OPEN[$key]%% *}
    out "| $label | ${R_IDLE[$key]} | ${R_LOADED[$key]} | $(awk -v a="${R_LOADED[$key]}" -v b="${R_IDLE[$key]}" 'BEGIN { printf "%.1f", a - b }') | $(awk -v a="${R_LOADED[$key]}" -v b="${R_IDLE[$key]}" -v n="$conns" 'BEGIN { if (n > 0) printf "%.2f", (a - b) * 1024 / n; else print "—" }') | ${R_OPEN[$key]} |"
  done
  out ""
  out "RSS is VmRSS of the server's process tree (nginx: master + worker)."
}

# The gateway holding IDLE_CONNS idle client connections, each of which had
# one GET / forwarded to the backend, beside HAProxy doing the same.
case_gateway_idle_rss() {
  if ! start_redge; then
    missing redge "no backend started"
    print_idle_table "one GET / forwarded on each"
    return 0
  fi
  local backend_pid=$STARTED_PID backend_port=$REDGE_PORT gw_port admin args
  read -r gw_port admin <<<"$(free_ports 2)"
  args=${REDGE_GATEWAY_ARGS//@PORT@/$gw_port}
  args=${args//@BACKEND_PORT@/$backend_port}
  # shellcheck disable=SC2086 # the knob is a word list on purpose
  if start_server redge-gateway "http://127.0.0.1:$gw_port/" "$REDGE_BIN" \
    --redis "redis://127.0.0.1:$REDIS_PORT/0" --set app.enabled=false \
    --set "admin.port=$admin" --set gateway.max_connections=20000 "${REDGE_EXTRA[@]}" $args; then
    idle_server redge-gateway "$STARTED_PID" "$gw_port"
    stop_pid "$STARTED_PID"
  else
    missing redge-gateway "redge gateway did not start"
  fi
  # HAProxy reserves two descriptors per connection against its maxconn
  # (and will not start if the open-file limit cannot cover that): it is
  # given what the limit allows, and holds that many, which its row shows.
  local hmax=$(((NOFILE - 200) / 2))
  local hconns=$((IDLE_CONNS < hmax - 100 ? IDLE_CONNS : hmax - 100))
  if start_haproxy "$backend_port" "$hmax"; then
    IDLE_CONNS=$hconns idle_server haproxy "$STARTED_PID" "$HAPROXY_PORT"
    stop_pid "$STARTED_PID"
  else
    missing haproxy "did not start"
  fi
  if start_nginx_proxy "$backend_port"; then
    idle_server nginx "$STARTED_PID" "$NGINX_PROXY_PORT"
    stop_pid "$STARTED_PID"
  else
    missing nginx "did not start"
  fi
  stop_pid "$backend_pid"
  print_idle_table "one GET / forwarded on each"
}

# redge's gateway: one route to one pool of one member, no active health
# checks (HAProxy's peer config has none either). Override with
# REDGE_GATEWAY_ARGS, where @PORT@ and @BACKEND_PORT@ are filled in; it is
# split on spaces, so its JSON has none.
REDGE_GATEWAY_ARGS=${REDGE_GATEWAY_ARGS:-'--set gateway.enabled=true --set gateway.port=@PORT@ --set gateway.routes=[{"prefix":"/","pool":"app"}] --set gateway.pools={"app":{"members":[{"address":"127.0.0.1:@BACKEND_PORT@"}],"health":{"enabled":false}}}'}

GATEWAY_REUSE=""
case_gateway() {
  # The backend is a redge app (baseline_server if redge does not start),
  # pinned to the same CPU as the proxy under test.
  local backend_pid backend_port backend_name
  if start_redge; then
    backend_pid=$STARTED_PID backend_port=$REDGE_PORT backend_name="redge app"
  elif start_baseline; then
    backend_pid=$STARTED_PID backend_port=$BASELINE_PORT backend_name="baseline_server"
  else
    missing redge "no backend started"
    print_table "reverse proxy in front of one backend" "backend µs/req"
    return 0
  fi
  measure direct "$backend_pid" "http://127.0.0.1:$backend_port/"

  local gw_port args
  gw_port=$(free_ports 1)
  args=${REDGE_GATEWAY_ARGS//@PORT@/$gw_port}
  args=${args//@BACKEND_PORT@/$backend_port}
  # shellcheck disable=SC2086 # the knob is a word list on purpose
  if [ -x "$REDGE_BIN" ] && "$REDGE_BIN" --check-config $args >/dev/null 2>&1; then
    local admin
    admin=$(free_ports 1)
    # shellcheck disable=SC2086
    if start_server redge-gateway "http://127.0.0.1:$gw_port/" "$REDGE_BIN" \
      --redis "redis://127.0.0.1:$REDIS_PORT/0" --set app.enabled=false \
      --set "admin.port=$admin" "${REDGE_EXTRA[@]}" $args; then
      AUX_PIDS=$backend_pid measure redge "$STARTED_PID" "http://127.0.0.1:$gw_port/"
      # Requests to the member on a kept-alive connection, of all it got.
      GATEWAY_REUSE=$(curl -s --max-time 2 "http://127.0.0.1:$admin/metrics" | awk '
        /^redge_http_client_connection_reuse_total\{client="gateway\// {
          if ($0 ~ /connection="reused"/) r += $NF; else n += $NF }
        END { if (r + n > 0) printf "%.2f", 100 * r / (r + n) }')
      log "gateway: ${GATEWAY_REUSE:-?}% of member requests on a kept-alive connection"
      stop_pid "$STARTED_PID"
    else
      missing redge "redge gateway did not start"
    fi
  else
    missing redge "this redge refuses the gateway keys (see REDGE_GATEWAY_ARGS)"
    log "redge --check-config refused: $args"
  fi

  if start_haproxy "$backend_port"; then
    AUX_PIDS=$backend_pid measure haproxy "$STARTED_PID" "http://127.0.0.1:$HAPROXY_PORT/"
    stop_pid "$STARTED_PID"
  else
    missing haproxy "did not start"
  fi
  if start_nginx_proxy "$backend_port"; then
    AUX_PIDS=$backend_pid measure nginx "$STARTED_PID" "http://127.0.0.1:$NGINX_PROXY_PORT/"
    stop_pid "$STARTED_PID"
  else
    missing nginx "did not start"
  fi
  stop_pid "$backend_pid"
  print_table "reverse proxy in front of one $backend_name backend (GET /)" "backend µs/req" \
    "Proxy and backend share SERVER_CPU; \"direct\" is the backend alone. server CPU is the proxy's, backend µs/req the backend's. redge sent ${GATEWAY_REUSE:-?}% of its requests to the backend on a kept-alive connection."
}

# ------------------------------------------------- gateway response cache

# The object behind the caching proxies: baseline_server's object answer,
# CACHE_OBJECT_BYTES (1024) of body with Cache-Control: max-age=3600, the
# same for every path.
CACHE_OBJECT_BYTES=${CACHE_OBJECT_BYTES:-1024}
# gateway-cache-rss: the distinct objects stored, and the fill's deadline.
CACHE_FILL_OBJECTS=${CACHE_FILL_OBJECTS:-100000}
CACHE_FILL_SECONDS=${CACHE_FILL_SECONDS:-60}

# measure_cache_peer LABEL START_FN PORT_VAR BACKEND_PID BACKEND_PORT PATH
# HIT_REGEX HIT_NAME: starts a caching peer in front of BACKEND_PORT with
# START_FN (which sets the variable named PORT_VAR), measures PATH through it
# if its second answer is a hit (answers_hit HIT_REGEX), and stops it.
measure_cache_peer() {
  local label=$1 start_fn=$2 port_var=$3 backend_pid=$4 backend_port=$5 path=$6 url
  if ! "$start_fn" "$backend_port"; then
    missing "$label" "did not start"
    return 0
  fi
  url="http://127.0.0.1:${!port_var}$path"
  if answers_hit "$url" "$7"; then
    AUX_PIDS=$backend_pid measure "$label" "$STARTED_PID" "$url"
  else
    missing "$label" "its second answer was not a cache hit ($8)"
  fi
  stop_pid "$STARTED_PID"
}

# One object asked for over and over: redge's cached route, Varnish and nginx
# (proxy_cache) serving it from their caches, beside the one-core ceiling
# (baseline_server answering the same object itself). Each cache is asked
# twice before it is measured, and measured only if the second answer says
# it came from the cache; the backend's CPU per request in the extra column
# shows that the measured run stayed in the cache too.
case_gateway_cache_hit() {
  local path=/obj/hit backend_pid backend_port hits0 hits1 notes=()
  if ! start_baseline backend-object "$CACHE_OBJECT_BYTES"; then
    missing redge "the backend (baseline_server) did not start"
    print_table "one cached 1 KB object" "backend µs/req"
    return 0
  fi
  backend_pid=$STARTED_PID backend_port=$BASELINE_PORT

  if [ "$BENCH_PEERS" != 0 ]; then
    measure baseline "$backend_pid" "http://127.0.0.1:$backend_port$path"
  else
    missing baseline ""
  fi

  if start_cache_gateway redge "$backend_port" '{"enabled":true,"max_entries":1000,"max_bytes":67108864}'; then
    if answers_hit "http://127.0.0.1:$GW_PORT$path" '^Cache-Status: redge; hit'; then
      hits0=$(gw_metric redge_gateway_cache_hits_total)
      AUX_PIDS=$backend_pid measure redge "$STARTED_PID" "http://127.0.0.1:$GW_PORT$path"
      hits1=$(gw_metric redge_gateway_cache_hits_total)
      [ -n "$hits0" ] && [ -n "$hits1" ] &&
        notes+=("redge counted $((hits1 - hits0)) cache hits (redge_gateway_cache_hits_total) over the warm-up and measured runs.")
    else
      missing redge "its second answer was not a cache hit (no Cache-Status: redge; hit)"
    fi
    stop_pid "$STARTED_PID"
  else
    missing redge "redge gateway did not start"
  fi

  # A hit names two transactions in X-Varnish: this one and the one that
  # stored the object.
  measure_cache_peer varnish start_varnish VARNISH_PORT "$backend_pid" "$backend_port" "$path" \
    '^X-Varnish: [0-9]+ [0-9]+$' "X-Varnish with one id"
  measure_cache_peer nginx start_nginx_cache NGINX_CACHE_PORT "$backend_pid" "$backend_port" \
    "$path" '^X-Cache-Status: HIT' "X-Cache-Status"
  stop_pid "$backend_pid"

  # A server within 10 % of the ceiling's req/s is held back by the client
  # side, not by itself: by wrk (one thread saturates near 80k req/s on this
  # box) when the ceiling is near that, by a busy machine when it is not.
  local capped="" label cap=${R_RPS[$CASE/baseline]:-}
  if [ -n "$cap" ]; then
    for label in redge varnish nginx; do
      [ -n "${R_RPS[$CASE/$label]:-}" ] &&
        awk -v r="${R_RPS[$CASE/$label]}" -v c="$cap" 'BEGIN { exit !(r >= 0.9 * c) }' &&
        capped+="${capped:+, }$label"
    done
  fi
  if [ -n "$capped" ] && [ "$cap" -ge 60000 ]; then
    notes+=("Within 10 % of the ceiling's $cap req/s, so capped by wrk (one thread, ~80k req/s on this box), not by the server: $capped. Compare CPU µs/req there, not req/s.")
  elif [ -n "$capped" ]; then
    notes+=("Within 10 % of the ceiling's $cap req/s: $capped. The ceiling itself was held well below wrk's ~80k req/s, so the machine was busy and these req/s measure the client side; compare CPU µs/req, and re-run on a quiet machine for req/s.")
  fi
  print_table "one ${CACHE_OBJECT_BYTES}-byte object (Cache-Control: max-age=3600) served from the cache: redge gateway route with cache vs Varnish and nginx proxy_cache; baseline = the backend answering it itself (the one-core ceiling)" \
    "backend µs/req" \
    "Every server alone on SERVER_CPU, the backend beside it (idle while the caches answer: its µs/req is what still reached it). Varnish: built-in VCL, -s malloc,256m, -p thread_pools=1; nginx: proxy_cache with its defaults (a hit reads the cached file)." \
    "${notes[@]}"
}

# Every request a URL never asked before, through redge's gateway: a route
# whose answers are stored (and evicted: at most CACHE_MISS_ENTRIES entries)
# against the same route without a cache, and the backend alone ("direct").
CACHE_MISS_ENTRIES=${CACHE_MISS_ENTRIES:-10000}
case_gateway_cache_miss() {
  local script=$BENCH_DIR/unique_paths.lua backend_pid backend_port notes=()
  if ! start_baseline backend-object "$CACHE_OBJECT_BYTES"; then
    missing redge "the backend (baseline_server) did not start"
    print_table "every request a miss" "backend µs/req"
    return 0
  fi
  backend_pid=$STARTED_PID backend_port=$BASELINE_PORT
  measure direct "$backend_pid" "http://127.0.0.1:$backend_port/" -s "$script"

  if start_cache_gateway redge "$backend_port" \
    "{\"enabled\":true,\"max_entries\":$CACHE_MISS_ENTRIES,\"max_bytes\":67108864}"; then
    local m0 s0 e0 h0 m1 s1 e1 h1
    m0=$(gw_metric redge_gateway_cache_misses_total) s0=$(gw_metric redge_gateway_cache_stores_total)
    e0=$(gw_metric redge_gateway_cache_evictions_total) h0=$(gw_metric redge_gateway_cache_hits_total)
    AUX_PIDS=$backend_pid measure redge "$STARTED_PID" "http://127.0.0.1:$GW_PORT/" -s "$script"
    m1=$(gw_metric redge_gateway_cache_misses_total) s1=$(gw_metric redge_gateway_cache_stores_total)
    e1=$(gw_metric redge_gateway_cache_evictions_total) h1=$(gw_metric redge_gateway_cache_hits_total)
    if [ -n "$m0" ] && [ -n "$m1" ]; then
      notes+=("redge's cached route over the warm-up and measured runs: $((m1 - m0)) misses, $((s1 - s0)) stores, $((e1 - e0)) evictions, $((${h1:-0} - ${h0:-0})) hits; $(gw_metric redge_gateway_cache_entries) entries held at the end.")
    fi
    stop_pid "$STARTED_PID"
  else
    missing redge "redge gateway did not start"
  fi

  if start_cache_gateway redge-uncached "$backend_port" ""; then
    AUX_PIDS=$backend_pid measure redge-uncached "$STARTED_PID" "http://127.0.0.1:$GW_PORT/" -s "$script"
    stop_pid "$STARTED_PID"
  else
    missing redge-uncached "redge gateway did not start"
  fi
  stop_pid "$backend_pid"
  print_table "every request a new URL (/obj/<run>-<n>, wrk -s unique_paths.lua): redge, route with cache (each answer stored, LRU at $CACHE_MISS_ENTRIES entries) vs redge-uncached, the same route without cache; direct = the backend alone" \
    "backend µs/req" \
    "The backend answers every path with the same ${CACHE_OBJECT_BYTES}-byte object, Cache-Control: max-age=3600, so every answer may be stored. Proxy and backend share SERVER_CPU; the ratio columns compare the cached route with the others (the target: with redge-uncached)." \
    "${notes[@]}"
}

# ------------------------------------------------- canary routing

# The price of a canary pool and a route bound to a flag: redge's gateway
# with route / bound to flag bench_route (on) and pool app whose canary
# member takes 25% (flag canary.app, a random draw per request) against the
# same route unbound, the same two members both stable (round robin). Two
# baseline_server backends answer the object; both are in AUX_PIDS.
case_gateway_canary() {
  local a_pid a_port b_pid b_port members canary notes=()
  if ! start_baseline backend-stable "$CACHE_OBJECT_BYTES"; then
    missing redge "the backends (baseline_server) did not start"
    print_table "canary pool" "backend µs/req"
    return 0
  fi
  a_pid=$STARTED_PID a_port=$BASELINE_PORT
  if ! start_baseline backend-canary "$CACHE_OBJECT_BYTES"; then
    stop_pid "$a_pid"
    missing redge "the backends (baseline_server) did not start"
    print_table "canary pool" "backend µs/req"
    return 0
  fi
  b_pid=$STARTED_PID b_port=$BASELINE_PORT
  "$REDGE_BIN" --redis "redis://127.0.0.1:$REDIS_PORT/0" flags set bench_route '{"enabled":true}' >/dev/null
  "$REDGE_BIN" --redis "redis://127.0.0.1:$REDIS_PORT/0" flags set canary.app '{"enabled":true,"rollout":25}' >/dev/null

  members='[{"address":"127.0.0.1:'"$a_port"'"},{"address":"127.0.0.1:'"$b_port"'"}]'
  read -r GW_PORT GW_ADMIN_PORT <<<"$(free_ports 2)"
  if start_server redge-plain "http://127.0.0.1:$GW_PORT/ready" "$REDGE_BIN" \
    --redis "redis://127.0.0.1:$REDIS_PORT/0" --set app.enabled=false \
    --set "admin.port=$GW_ADMIN_PORT" "${REDGE_EXTRA[@]}" --set gateway.enabled=true \
    --set "gateway.port=$GW_PORT" --set 'gateway.routes=[{"prefix":"/","pool":"app"}]' \
    --set 'gateway.pools={"app":{"members":'"$members"',"health":{"enabled":false}}}'; then
    AUX_PIDS="$a_pid $b_pid" measure redge-plain "$STARTED_PID" "http://127.0.0.1:$GW_PORT/"
    stop_pid "$STARTED_PID"
  else
    missing redge-plain "redge gateway did not start"
  fi

  canary='{"members":[{"address":"127.0.0.1:'"$b_port"'"}]}'
  read -r GW_PORT GW_ADMIN_PORT <<<"$(free_ports 2)"
  if start_server redge "http://127.0.0.1:$GW_PORT/ready" "$REDGE_BIN" \
    --redis "redis://127.0.0.1:$REDIS_PORT/0" --set app.enabled=false \
    --set "admin.port=$GW_ADMIN_PORT" "${REDGE_EXTRA[@]}" --set gateway.enabled=true \
    --set "gateway.port=$GW_PORT" \
    --set 'gateway.routes=[{"prefix":"/","pool":"app","flag":"bench_route"}]' \
    --set 'gateway.pools={"app":{"members":[{"address":"127.0.0.1:'"$a_port"'"}],"health":{"enabled":false},"canary":'"$canary"'}}'; then
    AUX_PIDS="$a_pid $b_pid" measure redge "$STARTED_PID" "http://127.0.0.1:$GW_PORT/"
    local c s
    c=$(curl -s --max-time 2 "http://127.0.0.1:$GW_ADMIN_PORT/metrics" | awk '/^redge_gateway_side_requests_total\{pool="app",side="canary"\}/ { print $NF }')
    s=$(curl -s --max-time 2 "http://127.0.0.1:$GW_ADMIN_PORT/metrics" | awk '/^redge_gateway_side_requests_total\{pool="app",side="stable"\}/ { print $NF }')
    if [ -n "$c" ] && [ -n "$s" ]; then
      notes+=("redge's canary side took $c of $((c + s)) requests ($(awk -v c="$c" -v s="$s" 'BEGIN { printf "%.1f", 100 * c / (c + s) }')%, weight 25).")
    fi
    stop_pid "$STARTED_PID"
  else
    missing redge "redge gateway did not start"
  fi
  stop_pid "$a_pid"
  stop_pid "$b_pid"
  print_table "a route bound to a flag (on) and a pool with a canary member at weight 25 (random draw): redge vs redge-plain, the same route unbound and both members stable" \
    "backend µs/req" \
    "Two baseline_server backends answer a ${CACHE_OBJECT_BYTES}-byte object; proxy and backends share SERVER_CPU. server CPU is the gateway's only." \
    "${notes[@]}"
}

# fill_server LABEL PID PORT [ENTRIES_CMD]: RSS before and after
# fill_objects.py stored CACHE_FILL_OBJECTS distinct objects through PORT.
# ENTRIES_CMD prints how many objects the server holds afterwards.
declare -A R_FILLED=() R_FILL_S=() R_ENTRIES=() R_HWM=() R_CACHE_MIB=()
fill_server() {
  local label=$1 pid=$2 port=$3 entries_cmd=${4:-} key=$CASE/$1 line ok failed secs
  add_row "$label"
  sleep 1
  R_IDLE[$key]=$(mib "$(tree_kb VmRSS "$pid")")
  log "$CASE: $label: storing $CACHE_FILL_OBJECTS objects"
  run_waiting "$TMP/fill-$label.txt" timeout $((CACHE_FILL_SECONDS + 30)) taskset -c "$CLIENT_CPU" \
    python3 "$BENCH_DIR/fill_objects.py" "$port" "$CACHE_FILL_OBJECTS" 4 "$CACHE_FILL_SECONDS" || true
  line=$(grep -E '^[0-9]+ [0-9]+ [0-9.]+$' "$TMP/fill-$label.txt" | tail -n 1)
  if ! alive "$pid"; then
    R_NOTE[$key]="exited while being filled"
    return 0
  fi
  if [ -z "$line" ]; then
    R_NOTE[$key]="the fill did not finish: $(tail -n 1 "$TMP/fill-$label.txt")"
    return 0
  fi
  read -r ok failed secs <<<"$line"
  R_FILLED[$key]=$ok
  [ "$failed" != 0 ] && R_FILLED[$key]="$ok ($failed failed)"
  R_FILL_S[$key]=$secs
  R_LOADED[$key]=$(mib "$(tree_kb VmRSS "$pid")")
  R_HWM[$key]=$(mib "$(tree_kb VmHWM "$pid")")
  [ -n "$entries_cmd" ] && R_ENTRIES[$key]=$($entries_cmd)
  return 0
}

redge_cache_entries() { gw_metric redge_gateway_cache_entries; }
varnish_objects() { varnishstat -n "$VARNISH_DIR" -1 -f MAIN.n_object 2>/dev/null | awk '{ print $2 }'; }

# redge's cached route filled with CACHE_FILL_OBJECTS distinct objects (its
# store large enough for all of them), then its RSS; Varnish the same.
case_gateway_cache_rss() {
  local backend_pid backend_port
  if ! start_baseline backend-object "$CACHE_OBJECT_BYTES"; then
    missing redge "the backend (baseline_server) did not start"
  else
    backend_pid=$STARTED_PID backend_port=$BASELINE_PORT
    local max_entries=$((CACHE_FILL_OBJECTS + 1000))
    if start_cache_gateway redge "$backend_port" \
      "{\"enabled\":true,\"max_entries\":$max_entries,\"max_bytes\":268435456}"; then
      fill_server redge "$STARTED_PID" "$GW_PORT" redge_cache_entries
      local bytes
      bytes=$(gw_metric redge_gateway_cache_bytes)
      [ -n "$bytes" ] && R_CACHE_MIB[$CASE/redge]=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }')
      stop_pid "$STARTED_PID"
    else
      missing redge "redge gateway did not start"
    fi
    if start_varnish "$backend_port"; then
      fill_server varnish "$STARTED_PID" "$VARNISH_PORT" varnish_objects
      stop_pid "$STARTED_PID"
    else
      missing varnish "did not start"
    fi
    stop_pid "$backend_pid"
  fi

  out ""
  out "### $CASE — RSS with $CACHE_FILL_OBJECTS distinct ${CACHE_OBJECT_BYTES}-byte objects stored"
  out ""
  out "| server | RSS before MiB | VmRSS after MiB | VmHWM MiB | objects stored | cache's own count MiB | KiB per object (RSS increase) | fill s | errors |"
  out "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  local label key n
  for label in ${ROWS[$CASE]:-}; do
    key=$CASE/$label
    if [ -n "${R_NOTE[$key]:-}" ]; then
      out "| $label | ${R_NOTE[$key]} | | | | | | | |"
      continue
    fi
    n=${R_ENTRIES[$key]:-}
    out "| $label | ${R_IDLE[$key]} | ${R_LOADED[$key]} | ${R_HWM[$key]} | ${n:-?} | ${R_CACHE_MIB[$key]:-—} | $(awk -v a="${R_LOADED[$key]}" -v b="${R_IDLE[$key]}" -v n="${n:-0}" 'BEGIN { if (n > 0) printf "%.2f", (a - b) * 1024 / n; else print "—" }') | ${R_FILL_S[$key]} | $((CACHE_FILL_OBJECTS - ${R_FILLED[$key]%% *})) |"
  done
  out ""
  out "bench/fill_objects.py asks for /fill/0 … /fill/$((CACHE_FILL_OBJECTS - 1)) once each (4 keep-alive connections, 32 requests per write); the backend answers each with the same ${CACHE_OBJECT_BYTES}-byte body and Cache-Control: max-age=3600. redge's route: max_entries $((CACHE_FILL_OBJECTS + 1000)), max_bytes 256 MiB. objects stored: redge_gateway_cache_entries (the start-up probe's /ready is one of them) and Varnish's MAIN.n_object; cache's own count: redge_gateway_cache_bytes (keys, headers and bodies). RSS is the process tree's (Varnish: manager + child, whose 80 MiB shared-memory log is resident from the start; its malloc storage counts as it fills)."
}

# start_cacheproxy [--set k=v ...]: redge with the cache proxy on; sets
# CACHE_PORT (HTTP), CACHE_RESP_PORT and STARTED_PID.
CACHE_PORT=""
CACHE_RESP_PORT=""
start_cacheproxy() {
  read -r CACHE_PORT CACHE_RESP_PORT <<<"$(free_ports 2)"
  start_redge --set cacheproxy.enabled=true --set "cacheproxy.http_port=$CACHE_PORT" \
    --set "cacheproxy.resp_port=$CACHE_RESP_PORT" "$@"
}

case_cache_hits() {
  redis-cli -p "$REDIS_PORT" SET k "$MESSAGE" >/dev/null
  if start_cacheproxy; then
    curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$CACHE_PORT/k" || true
    AUX_PIDS=$REDIS_PID measure redge "$STARTED_PID" "http://127.0.0.1:$CACHE_PORT/k"
    stop_pid "$STARTED_PID"
  else
    missing redge "redge did not start"
  fi
  if start_baseline; then
    measure baseline "$STARTED_PID" "http://127.0.0.1:$BASELINE_PORT/"
    stop_pid "$STARTED_PID"
  else
    missing baseline "did not start"
  fi
  if start_nginx; then
    measure nginx "$STARTED_PID" "http://127.0.0.1:$NGINX_PORT/"
    stop_pid "$STARTED_PID"
  else
    missing nginx "did not start"
  fi
  print_table "cache proxy, every request a hit: redge GET /k vs baseline and nginx hello" \
    "redis µs/req"
}

case_cache_misses() {
  redis-cli -p "$REDIS_PORT" SET k "$MESSAGE" >/dev/null
  if start_cacheproxy --set cacheproxy.ttl_ms=0; then
    AUX_PIDS=$REDIS_PID measure redge "$STARTED_PID" "http://127.0.0.1:$CACHE_PORT/k"
    stop_pid "$STARTED_PID"
  else
    missing redge "redge did not start"
  fi
  if start_webdis; then
    AUX_PIDS=$REDIS_PID measure webdis "$STARTED_PID" "http://127.0.0.1:$WEBDIS_PORT/GET/k.txt"
    stop_pid "$STARTED_PID"
  else
    missing webdis "did not start"
  fi
  print_table "cache proxy, every request a miss (ttl 0): redge GET /k vs webdis GET /GET/k.txt" \
    "redis µs/req" \
    "Both read the same key from the same redis-server; redis µs/req is its CPU per request."
}

# measure_resp LABEL PID PORT PIPELINE [TEST]: redis-benchmark -t TEST (get) against PORT.
measure_resp() {
  local label=$1 pid=$2 port=$3 pipeline=$4 test=${5:-get} aux=${AUX_PIDS:-}
  local key=$CASE/$label n=$((BENCH_SECONDS * (pipeline > 1 ? 150000 : 30000)))
  add_row "$label"
  local bench=(taskset -c "$CLIENT_CPU" redis-benchmark -h 127.0.0.1 -p "$port" -t "$test"
    -c "$BENCH_CONNECTIONS" -P "$pipeline" --csv)
  log "$CASE: $label: redis-benchmark -n $n -P $pipeline on port $port"
  run_waiting /dev/null timeout 30 "${bench[@]}" -n $((n / 10)) || true
  local t0 a0=0 t1 a1=0 file=$TMP/rb-$CASE-$label.txt
  # shellcheck disable=SC2086
  t0=$(tree_ticks "$pid") && [ -n "$aux" ] && a0=$(tree_ticks $aux)
  if ! run_waiting "$file" timeout $((BENCH_SECONDS * 6 + 30)) "${bench[@]}" -n "$n"; then
    R_NOTE[$key]="redis-benchmark failed"
    return 0
  fi
  # shellcheck disable=SC2086
  t1=$(tree_ticks "$pid") && [ -n "$aux" ] && a1=$(tree_ticks $aux)
  # CSV: "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
  local line
  line=$(grep -i "^\"$test" "$file" | tail -n 1 | tr -d '"')
  if [ -z "$line" ]; then
    R_NOTE[$key]="no result from redis-benchmark"
    return 0
  fi
  R_RPS[$key]=$(cut -d, -f2 <<<"$line" | awk '{ printf "%.0f", $1 }')
  R_P50[$key]="$(cut -d, -f5 <<<"$line")ms"
  R_P99[$key]="$(cut -d, -f7 <<<"$line")ms"
  R_ERR[$key]=0
  R_CPU[$key]=$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$n" 'BEGIN { printf "%.2f", t / hz * 1e6 / n }')
  if [ -n "$aux" ]; then
    R_AUX[$key]=$(awk -v t=$((a1 - a0)) -v hz="$CLK_TCK" -v n="$n" 'BEGIN { printf "%.2f", t / hz * 1e6 / n }')
  fi
  R_RSS[$key]=$(mib "$(tree_kb VmHWM "$pid")")
}

resp_hits() {
  local pipeline=$1
  # redis-benchmark -t get reads the key "key:__rand_int__" (no -r given).
  redis-cli -p "$REDIS_PORT" SET "key:__rand_int__" "$MESSAGE" >/dev/null
  if start_cacheproxy; then
    AUX_PIDS=$REDIS_PID measure_resp redge "$STARTED_PID" "$CACHE_RESP_PORT" "$pipeline"
    stop_pid "$STARTED_PID"
  else
    missing redge "redge did not start"
  fi
  # redis-server itself, pinned to the server CPU for the comparison.
  [ "$BENCH_PEERS" = 0 ] && return 0
  local port pid
  port=$(free_ports 1)
  taskset -c "$SERVER_CPU" redis-server --port "$port" --bind 127.0.0.1 --save '' \
    --appendonly no --dir "$TMP" --logfile "$TMP/redis-peer.log" --daemonize no &
  pid=$!
  PIDS+=("$pid")
  local _
  for _ in $(seq 50); do
    [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ] && break
    sleep 0.1
  done
  redis-cli -p "$port" SET "key:__rand_int__" "$MESSAGE" >/dev/null
  measure_resp redis-server "$pid" "$port" "$pipeline"
  stop_pid "$pid"
}

case_resp_hits() {
  resp_hits 1
  print_table "RESP GET hits, redis-benchmark -t get -c $BENCH_CONNECTIONS -P 1: redge :resp_port vs redis-server" \
    "backing redis µs/req"
}

case_resp_hits_pipelined() {
  resp_hits 16
  print_table "RESP GET hits, redis-benchmark -t get -c $BENCH_CONNECTIONS -P 16: redge :resp_port vs redis-server" \
    "backing redis µs/req" \
    "Latency here is redis-benchmark's per request; CPU µs/req divides server CPU by the commands sent."
}

# The relay's enqueue path (JSON validation + the Lua script that checks the
# gate and enqueues atomically) against Redis's own LPUSH at the same
# concurrency. The worker is parked so that only enqueues are measured: the
# upstream is a socket that is listened on but never accepted or answered,
# and with one delivery at a time and a long timeout the worker waits on its
# first message for the whole run. (A closed port would not do: an open
# breaker refuses each message as its turn comes, a few Redis commands and a
# log line per message, which is the worker's cost, not the enqueue's.)
silent_listener() { # silent_listener PORT: listens, never accepts; prints its PID
  python3 -c '
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(1024)
time.sleep(3600)' "$1" >/dev/null 2>&1 &
  echo $!
}

case_relay_post() {
  local parked_port parked_pid
  parked_port=$(free_ports 1)
  parked_pid=$(silent_listener "$parked_port")
  PIDS+=("$parked_pid")
  if start_redge --set relay.enabled=true --set relay.queue_max=10000000 \
    --set relay.queue_recovery=1 --set relay.concurrency=1 --set relay.timeout_ms=3600000 \
    --set "relay.upstream_url=http://127.0.0.1:$parked_port/message"; then
    AUX_PIDS=$REDIS_PID measure redge "$STARTED_PID" "http://127.0.0.1:$REDGE_PORT/messages" \
      -s "$BENCH_DIR/post_message.lua"
    stop_pid "$STARTED_PID"
  else
    missing redge "redge did not start"
  fi
  stop_pid "$parked_pid"
  [ "$BENCH_PEERS" = 0 ] || measure_resp redis-lpush "$REDIS_PID" "$REDIS_PORT" 1 lpush
  redis-cli -p "$REDIS_PORT" DEL mylist >/dev/null
  print_table "relay enqueue: redge POST /messages (gate check + enqueue script) vs redis-benchmark -t lpush" \
    "redis µs/req" \
    "For redis-lpush the server is redis-server itself, so its CPU is in the server column."
}

# ------------------------------------------------- replica reads, durability

# A replica of the run's redis-server for one case (stop_replica at its
# end, so the cases after it measure a master that replicates to no one):
# REPLICA_PORT, REPLICA_PID.
REPLICA_PORT=""
REPLICA_PID=""
start_replica() {
  [ -n "$REPLICA_PID" ] && alive "$REPLICA_PID" && return 0
  REPLICA_PORT=$(free_ports 1)
  local pin=()
  [ -n "$REDIS_CPU" ] && pin=(taskset -c "$REDIS_CPU")
  "${pin[@]}" redis-server --port "$REPLICA_PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$TMP" --dbfilename replica.rdb --logfile "$TMP/replica.log" --daemonize no \
    --replicaof 127.0.0.1 "$REDIS_PORT" &
  REPLICA_PID=$!
  PIDS+=("$REPLICA_PID")
  local _
  for _ in $(seq 100); do
    redis-cli -p "$REPLICA_PORT" INFO replication 2>/dev/null | grep -q '^master_link_status:up' &&
      return 0
    sleep 0.1
  done
  log "the replica did not link to its master"
  tail -n 15 "$TMP/replica.log" >&2 || true
  return 1
}
stop_replica() {
  [ -n "$REPLICA_PID" ] && stop_pid "$REPLICA_PID"
  REPLICA_PID=""
}

# The cache proxy's miss path (ttl 0: every request reads Redis), reading
# the master, then the replica.
case_replica_cache_misses() {
  redis-cli -p "$REDIS_PORT" SET k "$MESSAGE" >/dev/null
  if ! start_replica; then
    missing redge "no replica"
    print_table "cache proxy misses, redis.read_from=master vs replica" "redis µs/req"
    return 0
  fi
  local label setting
  for label in redge redge-replica; do
    setting=(--set redis.read_from=master)
    [ "$label" = redge-replica ] &&
      setting=(--set redis.read_from=replica --set "redis.replica_url=redis://127.0.0.1:$REPLICA_PORT/0")
    if start_cacheproxy --set cacheproxy.ttl_ms=0 "${setting[@]}"; then
      AUX_PIDS="$REDIS_PID $REPLICA_PID" measure "$label" "$STARTED_PID" \
        "http://127.0.0.1:$CACHE_PORT/k"
      stop_pid "$STARTED_PID"
    else
      missing "$label" "redge did not start"
    fi
  done
  stop_replica
  print_table "cache proxy, every request a miss (ttl 0): redis.read_from=master (redge) vs replica (redge-replica)" \
    "redis µs/req" \
    "redis µs/req is the CPU of the master and the replica together, per request."
}

# GET /recent: each request also records its own visit (LPUSH + LTRIM on the
# master, batched per loop iteration) before the LRANGE that reads the list.
case_replica_recent() {
  if ! start_replica; then
    missing redge "no replica"
    print_table "GET /recent, redis.read_from=master vs replica" "redis µs/req"
    return 0
  fi
  local label setting
  for label in redge redge-replica; do
    setting=(--set redis.read_from=master)
    [ "$label" = redge-replica ] &&
      setting=(--set redis.read_from=replica --set "redis.replica_url=redis://127.0.0.1:$REPLICA_PORT/0")
    if start_redge "${setting[@]}"; then
      AUX_PIDS="$REDIS_PID $REPLICA_PID" measure "$label" "$STARTED_PID" \
        "http://127.0.0.1:$REDGE_PORT/recent" -H "Accept: application/json"
      stop_pid "$STARTED_PID"
    else
      missing "$label" "redge did not start"
    fi
  done
  stop_replica
  print_table "GET /recent (JSON): redis.read_from=master (redge) vs replica (redge-replica)" \
    "redis µs/req" \
    "redis µs/req is the CPU of the master and the replica together, per request."
}

# POST /messages with relay.durability=none (redge) and replicated
# (redge-replicated: WAIT 1 after the enqueues of each loop iteration, on
# the relay's own connection). Nothing is delivered (a parked upstream), so
# the case measures intake alone, as relay-post does.
case_relay_post_replicated() {
  if ! start_replica; then
    missing redge "no replica"
    print_table "relay enqueue, relay.durability=none vs replicated" "redis µs/req"
    return 0
  fi
  local parked_port parked_pid label
  parked_port=$(free_ports 1)
  parked_pid=$(silent_listener "$parked_port")
  PIDS+=("$parked_pid")
  for label in redge redge-replicated; do
    local durability=none
    [ "$label" = redge-replicated ] && durability=replicated
    if start_redge --set relay.enabled=true --set relay.queue_max=10000000 \
      --set relay.queue_recovery=1 --set relay.concurrency=1 --set relay.timeout_ms=3600000 \
      --set "relay.upstream_url=http://127.0.0.1:$parked_port/message" \
      --set "relay.durability=$durability" --set relay.replication_timeout_ms=500; then
      AUX_PIDS="$REDIS_PID $REPLICA_PID" measure "$label" "$STARTED_PID" \
        "http://127.0.0.1:$REDGE_PORT/messages" -s "$BENCH_DIR/post_message.lua"
      stop_pid "$STARTED_PID"
    else
      missing "$label" "redge did not start"
    fi
  done
  stop_pid "$parked_pid"
  stop_replica
  print_table "relay enqueue: POST /messages with relay.durability=none (redge) vs replicated (redge-replicated)" \
    "redis µs/req" \
    "redis µs/req is the CPU of the master and the replica together, per request; errors counts 503 not_replicated among them."
}

# Delivery throughput: N messages are written into the queue directly (the
# relay's key layout), then redge starts with a fast fake upstream and the
# time until all are sent gives messages/s.
DELIVERY_MESSAGES=${DELIVERY_MESSAGES:-20000}
relay_delivery() {
  local concurrency=$1 up_port ctl_port fu_pid start end n=$DELIVERY_MESSAGES
  read -r up_port ctl_port <<<"$(free_ports 2)"
  redis-cli -p "$REDIS_PORT" FLUSHALL >/dev/null
  awk -v n="$n" 'BEGIN {
    for (i = 0; i < n; i++) {
      id = sprintf("b%08d", i)
      printf "HSET redge:relay:msg:%s id %s destination d body bench status queued attempts 0 created_at %d updated_at %d\n", id, id, i, i
      printf "LPUSH redge:relay:queue %s\n", id
    }
  }' | redis-cli -p "$REDIS_PORT" --pipe >/dev/null
  if [ ! -x "$BUILD_DIR/fake_upstream" ]; then
    missing "redge-c$concurrency" "no fake_upstream binary"
    return 0
  fi
  taskset -c "$CLIENT_CPU" "$BUILD_DIR/fake_upstream" --port "$up_port" --control-port "$ctl_port" \
    --latency-ms 0 >"$TMP/fake_upstream.log" 2>&1 &
  fu_pid=$!
  PIDS+=("$fu_pid")
  sleep 0.3
  add_row "redge-c$concurrency"
  local key=$CASE/redge-c$concurrency t0
  start=$(date +%s.%N)
  if ! start_redge --set relay.enabled=true --set "relay.concurrency=$concurrency" \
    --set relay.queue_max=10000000 --set relay.queue_recovery=1 \
    --set "relay.upstream_url=http://127.0.0.1:$up_port/message"; then
    R_NOTE[$key]="redge did not start"
    stop_pid "$fu_pid"
    return 0
  fi
  t0=$(tree_ticks "$STARTED_PID")
  local sent=0 _
  for _ in $(seq 1200); do
    sent=$(redis-cli -p "$REDIS_PORT" ZCARD redge:relay:status:sent)
    [ "$sent" -ge "$n" ] && break
    sleep 0.1
  done
  end=$(date +%s.%N)
  R_RPS[$key]=$(awk -v n="$sent" -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", n / (b - a) }')
  R_P50[$key]="n/a"
  R_P99[$key]="n/a"
  R_ERR[$key]=$((n - sent))
  R_CPU[$key]=$(awk -v t=$(($(tree_ticks "$STARTED_PID") - t0)) -v hz="$CLK_TCK" -v n="$sent" \
    'BEGIN { printf "%.2f", (n > 0) ? t / hz * 1e6 / n : 0 }')
  R_RSS[$key]=$(mib "$(tree_kb VmHWM "$STARTED_PID")")
  stop_pid "$STARTED_PID"
  stop_pid "$fu_pid"
  redis-cli -p "$REDIS_PORT" FLUSHALL >/dev/null
}

case_relay_delivery() {
  relay_delivery 4
  relay_delivery 32
  print_table "relay delivery to a fast fake upstream, $DELIVERY_MESSAGES queued messages" "—" \
    "req/s here is messages delivered per second (from redge's start to the last one marked sent, start-up included); errors = messages not sent within 120 s. The fake upstream runs on the client CPU."
}

# ------------------------------------------------------------ target checks

CHECKS=()
# check LABEL VALUE OP FACTOR [REFERENCE]: VALUE OP FACTOR × REFERENCE, or
# VALUE OP FACTOR when there is no reference (an absolute limit). OP is <= or >=.
check() {
  local label=$1 value=$2 op=$3 factor=$4 ref=${5-none} verdict sym shown
  if [ -z "$value" ] || [ -z "$ref" ]; then
    CHECKS+=("- $label: n/a (not measured)")
    return 0
  fi
  if [ "$ref" = none ]; then
    shown=$factor
    ref=1
  else
    shown="$factor × $ref = $(awk -v f="$factor" -v r="$ref" 'BEGIN { printf "%.2f", f * r }')"
  fi
  verdict=$(awk -v v="$value" -v f="$factor" -v r="$ref" -v op="$op" \
    'BEGIN { lim = f * r; ok = (op == "<=") ? (v <= lim) : (v >= lim); print ok ? "PASS" : "MISS" }')
  sym="≥"
  [ "$op" = "<=" ] && sym="≤"
  CHECKS+=("- $label: $value $sym $shown → **$verdict**")
}

target_checks() {
  local c
  for c in $BENCH_CASES; do
    case $c in
      hello)
        check "hello: redge CPU µs/req ≤ 1.1× baseline" "${R_CPU[hello/redge]:-}" "<=" 1.1 "${R_CPU[hello/baseline]:-}"
        check "hello: redge req/s ≥ 1.0× nginx" "${R_RPS[hello/redge]:-}" ">=" 1.0 "${R_RPS[hello/nginx]:-}"
        ;;
      workers-pipelined)
        # The group must not make a request dearer: same core, same work.
        check "workers-pipelined: $WORKERS_N workers on one CPU, CPU µs/req ≤ 1.05× one process" "${R_CPU[workers-pipelined/redge-$WORKERS_N-1cpu]:-}" "<=" 1.05 "${R_CPU[workers-pipelined/redge-1]:-}"
        check "workers-pipelined: $WORKERS_N workers over $WORKERS_CPUS, CPU µs/req ≤ 1.05× one process" "${R_CPU[workers-pipelined/redge-$WORKERS_N]:-}" "<=" 1.05 "${R_CPU[workers-pipelined/redge-1]:-}"
        # What the same grouping costs nginx on this machine: the share of the
        # miss above that is the machine's (two processes, one core) and not redge's.
        local g ours theirs
        for g in "$WORKERS_N-1cpu" "$WORKERS_N"; do
          ours=$(ratio "${R_CPU[workers-pipelined/redge-$g]:-}" "${R_CPU[workers-pipelined/redge-1]:-}")
          theirs=$(ratio "${R_CPU[workers-pipelined/nginx-$g]:-}" "${R_CPU[workers-pipelined/nginx-1]:-}")
          check "workers-pipelined: redge-$g's CPU µs/req ÷ one process ≤ 1.05× nginx-$g's" \
            "${ours#—}" "<=" 1.05 "${theirs#—}"
        done
        ;;
      hello-pipelined)
        check "hello-pipelined: redge req/s ≥ 0.7× baseline" "${R_RPS[hello-pipelined/redge]:-}" ">=" 0.7 "${R_RPS[hello-pipelined/baseline]:-}"
        ;;
      get)
        check "get: redge req/s ≥ 1.5× webdis" "${R_RPS[get/redge]:-}" ">=" 1.5 "${R_RPS[get/webdis]:-}"
        ;;
      cache-hits)
        check "cache-hits: redge CPU µs/req ≤ 1.2× baseline" "${R_CPU[cache-hits/redge]:-}" "<=" 1.2 "${R_CPU[cache-hits/baseline]:-}"
        check "cache-hits: redge req/s ≥ 0.9× baseline" "${R_RPS[cache-hits/redge]:-}" ">=" 0.9 "${R_RPS[cache-hits/baseline]:-}"
        ;;
      cache-misses)
        check "cache-misses: redge req/s ≥ 1.5× webdis" "${R_RPS[cache-misses/redge]:-}" ">=" 1.5 "${R_RPS[cache-misses/webdis]:-}"
        ;;
      resp-hits)
        check "resp-hits: redge req/s ≥ 1.0× redis-server (-P 1)" "${R_RPS[resp-hits/redge]:-}" ">=" 1.0 "${R_RPS[resp-hits/redis-server]:-}"
        ;;
      resp-hits-pipelined)
        check "resp-hits-pipelined: redge req/s ≥ 1.0× redis-server (-P 16)" "${R_RPS[resp-hits-pipelined/redge]:-}" ">=" 1.0 "${R_RPS[resp-hits-pipelined/redis-server]:-}"
        ;;
      relay-post)
        check "relay-post: redge req/s ≥ 0.4× redis LPUSH" "${R_RPS[relay-post/redge]:-}" ">=" 0.4 "${R_RPS[relay-post/redis-lpush]:-}"
        ;;
      gateway)
        check "gateway: redge CPU µs/req ≤ 0.9× HAProxy" "${R_CPU[gateway/redge]:-}" "<=" 0.9 "${R_CPU[gateway/haproxy]:-}"
        check "gateway: redge req/s ≥ 1.1× HAProxy" "${R_RPS[gateway/redge]:-}" ">=" 1.1 "${R_RPS[gateway/haproxy]:-}"
        # A proxy reads and writes on two sockets where a server has one.
        check "gateway: redge CPU µs/req ≤ 2.0× the one-core ceiling (hello: baseline)" "${R_CPU[gateway/redge]:-}" "<=" 2.0 "${R_CPU[hello/baseline]:-}"
        check "gateway: member requests on a kept-alive connection % ≥ 99" "$GATEWAY_REUSE" ">=" 99
        ;;
      gateway-cache-hit)
        check "gateway-cache-hit: redge CPU µs/req ≤ 1.2× the one-core ceiling (baseline, same object)" "${R_CPU[gateway-cache-hit/redge]:-}" "<=" 1.2 "${R_CPU[gateway-cache-hit/baseline]:-}"
        check "gateway-cache-hit: redge req/s ≥ 2.0× Varnish" "${R_RPS[gateway-cache-hit/redge]:-}" ">=" 2.0 "${R_RPS[gateway-cache-hit/varnish]:-}"
        ;;
      gateway-cache-miss)
        check "gateway-cache-miss: redge cached-route miss CPU µs/req ≤ 1.1× uncached forward" "${R_CPU[gateway-cache-miss/redge]:-}" "<=" 1.1 "${R_CPU[gateway-cache-miss/redge-uncached]:-}"
        ;;
      gateway-canary)
        check "gateway-canary: redge CPU µs/req with a flag-bound route and a canary pool ≤ 1.03× without" "${R_CPU[gateway-canary/redge]:-}" "<=" 1.03 "${R_CPU[gateway-canary/redge-plain]:-}"
        ;;
      gateway-cache-rss)
        local stored=""
        [ "${R_FILLED[gateway-cache-rss/redge]:-}" = "$CACHE_FILL_OBJECTS" ] && stored=${R_HWM[gateway-cache-rss/redge]:-}
        check "gateway-cache-rss: redge VmHWM MiB with $CACHE_FILL_OBJECTS objects stored ≤ 150" "$stored" "<=" 150
        ;;
      gateway-idle-rss)
        local ginc=""
        [ -n "${R_LOADED[gateway-idle-rss/redge-gateway]:-}" ] &&
          ginc=$(awk -v a="${R_LOADED[gateway-idle-rss/redge-gateway]}" -v b="${R_IDLE[gateway-idle-rss/redge-gateway]}" 'BEGIN { printf "%.1f", a - b }')
        check "gateway-idle-rss: $IDLE_CONNS idle client conns add MiB ≤ 40" "$ginc" "<=" 40
        ;;
      idle-rss)
        check "idle-rss: redge idle RSS MiB ≤ 5" "${R_IDLE[idle-rss/redge]:-}" "<=" 5
        local inc=""
        [ -n "${R_LOADED[idle-rss/redge]:-}" ] &&
          inc=$(awk -v a="${R_LOADED[idle-rss/redge]}" -v b="${R_IDLE[idle-rss/redge]}" 'BEGIN { printf "%.1f", a - b }')
        check "idle-rss: $IDLE_CONNS idle conns add MiB ≤ 40" "$inc" "<=" 40
        ;;
    esac
  done
}

# --------------------------------------------------------------------- main

if [ "$NOFILE" -lt $((IDLE_CONNS + 100)) ]; then
  log "open-file limit is $NOFILE: idle-rss opens $((NOFILE - 100)) connections, not $IDLE_CONNS"
  IDLE_CONNS=$((NOFILE - 100))
fi

start_redis
probe_redge

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
out "## redge benchmark — $(date -u '+%Y-%m-%d %H:%M UTC')"
out ""
out "wrk -t1 -c$BENCH_CONNECTIONS, ${BENCH_SECONDS}s per run after ${BENCH_WARMUP}s of warm-up; server on CPU $SERVER_CPU, wrk on CPU $CLIENT_CPU, redis-server on CPU ${REDIS_CPU:-any}. Ratios are redge ÷ peer: > 1 favours redge for req/s, < 1 favours redge for CPU µs/req."
if [ ${#REDGE_DROPPED[@]} -gt 0 ]; then
  out ""
  out "redge refused these keys, so they were not passed: ${REDGE_DROPPED[*]}"
fi

for CASE in $BENCH_CASES; do
  fn=case_${CASE//-/_}
  if declare -F "$fn" >/dev/null; then
    "$fn"
  else
    log "unknown case '$CASE' (skipped)"
  fi
done

target_checks
out ""
out "### Targets"
out ""
for line in "${CHECKS[@]}"; do out "$line"; done
out ""
out "$(date -u '+%Y-%m-%d %H:%M:%S UTC') · kernel $(uname -r) · CPU $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo) · $(nproc) cores · CLK_TCK $CLK_TCK · load average before the run $LOAD_BEFORE (above ~0.5, other work shared the cores)"

cp "$REPORT" "$BENCH_OUT"
log "report written to $BENCH_OUT"
