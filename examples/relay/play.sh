#!/usr/bin/env bash
# Plays the relay scenario end to end against build/fake_upstream, showing
# the three failure kinds in redge's log:
#   timeout         the upstream hangs: no answer within relay.timeout_ms
#   upstream_error  the upstream answers 500: the breaker opens
#   circuit_open    while it is open, each message whose turn comes is refused
#                   by the breaker without being sent, and held until it
#                   half-opens; the queue fills and clients get 503 queue_full
#                   with Retry-After
# then the upstream heals: a half-open probe closes the breaker, the queue
# drains, intake returns at the recovery threshold, and every message is
# delivered once.
#
# Needs `make build` and a redis-server on 127.0.0.1:6379 (REDIS_PORT=N to use
# another port). It starts its own redge and fake_upstream on fixed ports
# (3000, 9090, 9001, 9002) and refuses to run if any of them is taken, so it
# never drives another redge by mistake. redge's log goes to a file; the lines
# that tell the story are shown as they come, and if anything goes wrong the
# last lines of the whole log are shown too.
set -euo pipefail
cd "$(dirname "$0")/../.."

redis_port=${REDIS_PORT:-6379}
app=http://127.0.0.1:3000
admin=http://127.0.0.1:9090
control=http://127.0.0.1:9002
# Its own key prefix: a run never meets messages left by another run or by
# another redge on the same Redis, and its keys are removed at the end.
key_prefix="redge-play-$$:"
workdir=$(mktemp -d "${TMPDIR:-/tmp}/redge-relay-play.XXXXXX")
redge_log=$workdir/redge.log
upstream_log=$workdir/fake_upstream.log
redge_pid="" upstream_pid=""

die() {
  echo "play.sh: $*" >&2
  exit 1
}

stop_all() {
  # redge first, so it does not meet a vanished upstream on its way out.
  if [ -n "$redge_pid" ] && kill -0 "$redge_pid" 2>/dev/null; then
    kill -TERM "$redge_pid" 2>/dev/null || true
    wait "$redge_pid" 2>/dev/null || true
  fi
  if [ -n "$upstream_pid" ] && kill -0 "$upstream_pid" 2>/dev/null; then
    kill -TERM "$upstream_pid" 2>/dev/null || true
    wait "$upstream_pid" 2>/dev/null || true
  fi
  sleep 0.2  # the log filter ends with redge's stderr; let it print its last lines
}

forget_keys() {
  command -v redis-cli >/dev/null 2>&1 || return 0
  redis-cli -p "$redis_port" --scan --pattern "${key_prefix}*" 2>/dev/null |
    xargs -r redis-cli -p "$redis_port" del >/dev/null 2>&1 || true
}

on_exit() {
  local status=$?
  stop_all
  forget_keys
  local shown=0
  if [ "$status" -ne 0 ]; then
    for f in "$redge_log" "$upstream_log"; do
      [ -s "$f" ] || continue
      echo "---- the last 30 lines of $(basename "$f"), unfiltered ----" >&2
      tail -n 30 "$f" >&2
      shown=1
    done
  fi
  if [ "$shown" = 1 ]; then
    echo "---- the whole logs are kept in $workdir ----" >&2
  else
    rm -rf "$workdir"
  fi
  exit "$status"
}
trap on_exit EXIT
trap 'exit 130' INT TERM
trap 'echo "play.sh: stopped at line $LINENO: $BASH_COMMAND failed" >&2' ERR

# --- Preconditions: built, ports free, Redis up. ---------------------------
[ -x build/redge ] && [ -x build/fake_upstream ] ||
  die "build/redge or build/fake_upstream is missing: run 'make build' first."

port_taken() { # prints who holds the port, if anyone does
  local owner
  if command -v ss >/dev/null 2>&1; then
    owner=$(ss -ltnpH "sport = :$1" 2>/dev/null | head -n 1)
    [ -n "$owner" ] || return 1
    owner=$(grep -o 'users:(([^)]*))' <<<"$owner" || true)
    echo "${owner:-a process this user cannot see}"
    return 0
  fi
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null || return 1
  echo "a process (install iproute2's ss to see which)"
}
busy=""
for spec in 3000:"redge app" 9090:"redge admin" 9001:"fake_upstream" 9002:"fake_upstream control"; do
  port=${spec%%:*}
  if who=$(port_taken "$port"); then
    busy+="  port $port (for the ${spec#*:}) is taken by $who"$'\n'
  fi
done
if [ -n "$busy" ]; then
  printf 'play.sh: refusing to run over another instance:\n%s' "$busy" >&2
  die "stop it first (another 'make run' or play.sh?), or this script would drive it instead of its own."
fi

redis_pong() {
  local reply
  exec 3<>"/dev/tcp/127.0.0.1/$redis_port" || return 1
  printf 'PING\r\n' >&3
  read -r -t 2 reply <&3 || true
  exec 3<&- 3>&-
  [[ $reply == +PONG* ]]
}
redis_pong 2>/dev/null ||
  die "no Redis answers on 127.0.0.1:$redis_port: start one (redis-server --port $redis_port --daemonize yes) or set REDIS_PORT."

# --- Start fake_upstream and redge. ----------------------------------------
build/fake_upstream --port 9001 --control-port 9002 --latency-ms 20 --seed 1 2>"$upstream_log" &
upstream_pid=$!
# Listening before redge starts, or redge's start-up check would rightly
# warn that nothing listens there.
for _ in $(seq 50); do
  kill -0 "$upstream_pid" 2>/dev/null || die "fake_upstream exited at start-up (see its log below)."
  curl -sf "$control/stats" >/dev/null && break
  sleep 0.1
done
curl -sf "$control/stats" >/dev/null || die "fake_upstream did not listen within 5 s (see its log below)."
# The whole log goes to a file; the lines that tell the story are shown.
build/redge --config examples/relay/redge.json --redis "redis://127.0.0.1:$redis_port/0" \
  --set "redis.key_prefix=$key_prefix" \
  2> >(tee "$redge_log" |
    grep --line-buffered -E \
      'event=(breaker_|enqueue_|delivery_failed|dead_lettered|relay_upstream|redis_down|listen_failed)' |
    sed -u -E 's/^ts=[^ ]+ /  log: /') &
redge_pid=$!

for _ in $(seq 50); do
  kill -0 "$redge_pid" 2>/dev/null || die "redge exited at start-up (see its log below)."
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$admin/readyz")" = 200 ] && break
  sleep 0.1
done
[ "$(curl -s -o /dev/null -w '%{http_code}' "$admin/readyz")" = 200 ] ||
  die "redge did not become ready within 5 s (see its log below)."

post() { # prints the status code
  curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    -d "{\"destination\":\"sms:+15550100\",\"body\":\"$1\"}" "$app/messages"
}
control() {
  curl -sf -X POST -H 'Content-Type: application/json' -d "$1" "$control/control" >/dev/null ||
    die "fake_upstream's control port did not take $1 (is it still running?)"
}
stat() { # one integer field of GET /messages/stats
  curl -s "$app/messages/stats" | grep -o "\"$1\":[0-9]*" | head -n 1 | cut -d: -f2
}
count_log() { grep -c -- "$1" "$redge_log" || true; }
wait_for_log() { # needle, tenths of a second
  for _ in $(seq "$2"); do
    [ "$(count_log "$1")" -ge 1 ] && return 0
    sleep 0.1
  done
  return 1
}
wait_drained() { # tenths of a second
  for _ in $(seq "$1"); do
    [ "$(stat queue_depth)" = 0 ] && [ "$(stat in_flight)" = 0 ] && return 0
    sleep 0.1
  done
  return 1
}

echo "== healthy: every message is accepted and delivered"
codes=""
for i in 1 2 3; do codes+="$(post "hello $i") "; done
echo "POST /messages: ${codes% }"
[ "$codes" = "202 202 202 " ] || die "expected three 202s."
wait_drained 50 || die "the healthy messages were not delivered within 5 s."

echo "== the upstream hangs: deliveries time out (kind=timeout), then it answers again"
control '{"down":true,"down_mode":"hang"}'
codes=""
for i in 1 2; do codes+="$(post "slow $i") "; done
echo "POST /messages: ${codes% }"
wait_for_log 'kind=timeout' 30 || die "no delivery timed out within 3 s."
control '{"down":false}'
wait_drained 50 || die "the timed-out messages were not delivered on retry within 5 s."

echo "== the upstream fails: upstream_error opens the breaker; then circuit_open, the queue fills, 503"
control '{"error_ratio":1}'
codes="" accepted=0
for i in $(seq 1 14); do
  code=$(post "during outage $i")
  codes+="$code "
  [ "$code" = 202 ] && accepted=$((accepted + 1))
  sleep 0.2
done
echo "POST /messages: ${codes% }"
echo "accepted $accepted, then refused: the queue holds relay.queue_max (10) waiting messages"
curl -si -X POST -H 'Content-Type: application/json' -d '{"destination":"d","body":"one more"}' \
  "$app/messages" | grep -iE '^HTTP|^Retry-After|queue_full' | tr -d '\r'
[ "$(count_log 'kind=circuit_open')" -ge 1 ] || die "the breaker refused nothing."
held_id=$(grep 'kind=circuit_open' "$redge_log" | tail -n 1 | grep -o 'id=[^ ]*' | cut -d= -f2)
echo "a message the breaker holds: $(curl -s "$app/messages/$held_id")"
curl -s "$app/messages/stats"
echo

echo "== the upstream heals: a half-open probe closes the breaker, the queue drains, intake returns at 5"
control '{"error_ratio":0,"latency_ms":300}'
drained=0
for _ in $(seq 1 60); do
  depth=$(stat queue_depth)
  code=$(post "probe while draining")
  echo "depth=$depth POST=$code"
  if [ "$depth" = 0 ]; then
    drained=1
    break
  fi
  sleep 0.5
done
[ "$drained" = 1 ] || die "the queue did not drain within 30 s."
wait_drained 100 || die "the last messages were not delivered within 10 s."
curl -s "$app/messages/stats"
echo

echo "== what happened"
for kind in timeout upstream_error circuit_open; do
  echo "event=delivery_failed kind=$kind: $(count_log "kind=$kind ") log lines"
done
up=$(curl -s "$control/stats")
field() { grep -o "\"$1\":[0-9]*" <<<"$up" | head -n 1 | cut -d: -f2; }
sent=$(stat sent)
echo "sent $sent, failed $(stat failed); at the upstream: $(field unique_delivered) message ids" \
  "delivered, $(field duplicates) duplicates"
for kind in timeout upstream_error circuit_open; do
  [ "$(count_log "kind=$kind ")" -ge 1 ] || die "no kind=$kind line in the log."
done
[ "$(field duplicates)" = 0 ] || die "a message was delivered twice."
[ "$(field unique_delivered)" = "$sent" ] || die "the upstream and redge disagree on what was sent."
