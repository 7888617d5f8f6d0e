#!/usr/bin/env bash
# `make run`: a Redis for redge, then redge in the foreground. Ctrl-C stops both.
#
# Which Redis, in this order:
#   1. the one the operator named (--redis, --set redis.url=…, a redis.url in
#      a --config file, REDGE_REDIS_URL or REDIS_URL), used as it is;
#   2. the Redis already answering PING on 127.0.0.1:6379 (the system one
#      that `apt-get install redis-server` starts), said in one line;
#   3. else a private redis-server (data and log under ./run/) on
#      127.0.0.1:6390, or the next free port: apart from every port redge
#      listens on (3000, 6380, 8081, 9090, and 8080 for what comes next).
# One line gives the exact redis-cli command for the Redis in use, so what a
# newcomer writes with redis-cli is what redge reads.
#
# The exit status is redge's: a listener that cannot bind fails `make run`.
set -uo pipefail

redge_bin=$1
shift
args=("$@")

log() { echo "redge: $*" >&2; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The effective configuration (defaults <- file <- environment <- command
# line), as redge itself resolves it; a bad key stops here with redge's own
# message and exit code.
effective=$("$redge_bin" "${args[@]}" --check-config) || exit $?

# One value of the pretty-printed JSON: section, key.
config_value() {
  awk -v section="$1" -v key="$2" '
    /^  "[a-z_]+": \{/ { current = $1; gsub(/[":]/, "", current) }
    current == section && $1 == "\"" key "\":" {
      value = $2; gsub(/[",]/, "", value); print value; exit
    }' <<<"$effective"
}

redis_url=$(config_value redis url)
default_url="redis://127.0.0.1:6379/0"

named=0
for a in "${args[@]}"; do
  case "$a" in --redis | --redis=* | *redis.url=*) named=1 ;; esac
done
[ -n "${REDGE_REDIS_URL:-}${REDIS_URL:-}" ] && named=1
[ "$redis_url" != "$default_url" ] && named=1

# The redis-cli line for a redis:// or unix:// URL.
redis_cli_for() {
  local url=$1 rest host port db
  case "$url" in
    unix://*)
      rest=${url#unix://}
      db=0
      case "$rest" in *\?db=*) db=${rest##*\?db=} ;; esac
      echo "redis-cli -s ${rest%%\?*}$([ "$db" != 0 ] && echo " -n $db")"
      ;;
    *@*) echo "redis-cli -u '$url'" ;;
    redis://*)
      rest=${url#redis://}
      db=0
      case "$rest" in */*) db=${rest#*/} ;; esac
      rest=${rest%%/*}
      host=${rest%:*}
      port=6379
      [ "$rest" != "$host" ] && port=${rest##*:}
      case "$host" in 127.0.0.1 | localhost) host="" ;; esac
      echo "redis-cli${host:+ -h $host} -p $port$([ -n "$db" ] && [ "$db" != 0 ] && echo " -n $db")"
      ;;
    *) echo "redis-cli -u '$url'" ;;
  esac
}

redis_pid=""
cleanup() {
  if [ -n "$redis_pid" ] && kill -0 "$redis_pid" 2>/dev/null; then
    kill -TERM "$redis_pid" 2>/dev/null
    wait "$redis_pid" 2>/dev/null
  fi
}
trap cleanup EXIT

# redge's listeners, and what comes next, are never given to the private Redis.
redge_ports=" 3000 6380 8080 8081 9090 $(config_value app port) $(config_value admin port) \
$(config_value cacheproxy http_port) $(config_value cacheproxy resp_port) "

if [ "$named" = 1 ]; then
  log "Redis: $redis_url, as configured"
  redis_cli=$(redis_cli_for "$redis_url")
else
  answer=$(timeout 2 redis-cli -h 127.0.0.1 -p 6379 ping 2>&1 || true)
  if [ "$answer" = PONG ]; then
    log "Redis: the one already running on 127.0.0.1:6379 (it answered PING); no private one started"
    redis_cli="redis-cli -p 6379"
  else
    [ -n "$answer" ] && port_in_use 6379 && log "127.0.0.1:6379 answers PING with '$answer': not used"
    port=6390
    while [[ "$redge_ports" == *" $port "* ]] || port_in_use "$port"; do
      port=$((port + 1))
      if [ "$port" -gt 6490 ]; then
        log "no free port in 6390-6490 for a private redis-server"
        exit 1
      fi
    done
    mkdir -p run
    # Its own session, so the terminal's Ctrl-C reaches redge alone: redge
    # drains with Redis still up, then cleanup stops Redis.
    setsid redis-server --port "$port" --bind 127.0.0.1 --dir "$PWD/run" --appendonly yes \
      --save '' --daemonize no --logfile "$PWD/run/redis.log" &
    redis_pid=$!
    for _ in $(seq 100); do
      [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ] && break
      if ! kill -0 "$redis_pid" 2>/dev/null; then
        log "the private redis-server did not start; ./run/redis.log says:"
        tail -n 5 run/redis.log >&2
        exit 1
      fi
      sleep 0.05
    done
    log "Redis: a private redis-server on 127.0.0.1:$port (data in ./run/, log ./run/redis.log)"
    args=(--redis "redis://127.0.0.1:$port/0" "${args[@]}")
    redis_cli="redis-cli -p $port"
  fi
fi
log "the Redis redge uses, from another terminal: $redis_cli"

listeners=""
if [ "$(config_value app enabled)" = true ]; then
  listeners+="app http://127.0.0.1:$(config_value app port)/  "
fi
if [ "$(config_value cacheproxy enabled)" = true ]; then
  listeners+="cache http://127.0.0.1:$(config_value cacheproxy http_port)/ and "
  listeners+="redis-cli -p $(config_value cacheproxy resp_port)  "
fi
if [ "$(config_value admin enabled)" = true ]; then
  listeners+="admin http://127.0.0.1:$(config_value admin port)/metrics  "
fi
log "${listeners}(Ctrl-C stops)"

# A taken port fails redge's start-up (exit 1); say which, and the way out.
for key in app.port admin.port cacheproxy.http_port cacheproxy.resp_port; do
  section=${key%%.*}
  [ "$(config_value "$section" enabled)" = true ] || continue
  port=$(config_value "$section" "${key#*.}")
  if port_in_use "$port"; then
    log "127.0.0.1:$port ($key) is already in use: stop what holds it, or move redge:" \
      "make run ARGS=\"--set $key=<free port>\""
  fi
done

# Not exec: cleanup must still stop the private Redis after redge exits.
"$redge_bin" "${args[@]}" &
redge_pid=$!
# Ctrl-C reaches redge from the terminal already (one signal: it drains);
# a TERM or HUP sent to this script alone is passed on.
signalled=0
trap '' INT
trap 'signalled=1; kill -TERM "$redge_pid" 2>/dev/null' TERM HUP
status=0
while :; do
  signalled=0
  wait "$redge_pid"
  rc=$?
  # A trapped signal ends `wait` early: wait again for redge's own status
  # (bash keeps it for an exited child; 127 means it was already taken).
  [ "$rc" = 127 ] || status=$rc
  [ "$signalled" = 1 ] || break
done
[ "$status" != 0 ] && log "redge exited with status $status"
exit "$status"
