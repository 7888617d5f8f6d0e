#!/usr/bin/env bash
# `make run`: a private redis-server (data under ./run/, loopback only) unless
# the operator named a Redis (--redis, redis.url, REDGE_REDIS_URL or
# REDIS_URL), then redge in the foreground with every service on its default
# port. Ctrl-C stops both.
set -euo pipefail
redge_bin=$1
shift
args=("$@")

port_free() { ! (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; }

wants_own_redis=1
for a in "${args[@]}"; do
  case "$a" in --redis|--redis=*|*redis.url=*) wants_own_redis=0 ;; esac
done
[ -n "${REDGE_REDIS_URL:-}${REDIS_URL:-}" ] && wants_own_redis=0

redis_pid=""
cleanup() {
  if [ -n "$redis_pid" ] && kill -0 "$redis_pid" 2>/dev/null; then
    kill "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT INT TERM

if [ "$wants_own_redis" = 1 ]; then
  mkdir -p run
  port=6379
  while ! port_free "$port"; do port=$((port + 1)); done
  redis-server --port "$port" --bind 127.0.0.1 --dir "$PWD/run" --appendonly yes \
    --save '' --daemonize no --logfile "$PWD/run/redis.log" &
  redis_pid=$!
  for _ in $(seq 50); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  echo "redge: private redis-server on 127.0.0.1:$port (data in ./run, log ./run/redis.log)" >&2
  args=(--redis "redis://127.0.0.1:$port/0" "${args[@]}")
fi

echo "redge: app http://127.0.0.1:3000  admin http://127.0.0.1:9090/metrics  (Ctrl-C stops)" >&2
# Not exec: the trap must still stop redis-server after redge exits.
"$redge_bin" "${args[@]}" &
redge_pid=$!
trap 'kill -TERM $redge_pid 2>/dev/null || true' INT TERM
wait "$redge_pid" || true
wait "$redge_pid" 2>/dev/null || true
