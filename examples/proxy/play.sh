#!/usr/bin/env bash
# Plays the "proxy through Redis" exercise: two app instances behind the
# gateway, whose pool takes its turns from a rotation kept in Redis
# (balance redis_rotation, one LMOVE per request), so `curl` through the
# gateway alternates between them; then one instance is killed with
# SIGKILL, its registration expires, and it leaves the pool and the
# rotation in Redis, while every request still gets an answer.
#
# The instances register in the service registry (discovery.service=app,
# a 2 s lease) on ports the kernel picks; the gateway follows the registry
# (examples/proxy/gateway.json: pool "app" discovers service "app").
#
# Needs `make build` and a redis-server on 127.0.0.1:6379 (REDIS_PORT=N for
# another port). The gateway listens on 8080 (GATEWAY_PORT=N for another);
# the script refuses to run if that port is taken. Everything it starts
# uses its own Redis key prefix, removed at the end, and is stopped at the
# end; logs are kept in a temporary folder only when something failed.
set -euo pipefail
cd "$(dirname "$0")/../.."

redis_port=${REDIS_PORT:-6379}
gateway_port=${GATEWAY_PORT:-8080}
gateway=http://127.0.0.1:$gateway_port
key_prefix="redge-proxy-play-$$:"
rotation_key="${key_prefix}gateway:rotation:app"
. examples/lib/play.sh
play_init proxy
# What the instances wrote under their key prefix goes once they stopped.
play_after_stop() {
  redis-cli -p "$redis_port" --scan --pattern "${key_prefix}*" 2>/dev/null |
    xargs -r redis-cli -p "$redis_port" del >/dev/null 2>&1
}

# --- Preconditions. ---------------------------------------------------------
play_need redis-cli
if (exec 3<>"/dev/tcp/127.0.0.1/$gateway_port") 2>/dev/null; then
  die "port $gateway_port is taken (another gateway?); stop it, or set GATEWAY_PORT."
fi
[ "$(redis-cli -p "$redis_port" ping 2>/dev/null)" = PONG ] ||
  die "no Redis answers on 127.0.0.1:$redis_port: start one, or set REDIS_PORT."

common=(--redis "redis://127.0.0.1:$redis_port/0" --set "redis.key_prefix=$key_prefix")

# The value of `key=` in the first log line holding `needle`, once written.
log_field() { # file needle key
  grep -m 1 -- "$2" "$1" 2>/dev/null | grep -o " $3=[^ ]*" | head -n 1 | cut -d= -f2 || true
}
wait_log_field() { # file needle key -> the value, or dies after 5 s
  local value=""
  for _ in $(seq 50); do
    value=$(log_field "$1" "$2" "$3")
    [ -n "$value" ] && break
    sleep 0.1
  done
  [ -n "$value" ] || die "no '$2' line in $(basename "$1") within 5 s."
  echo "$value"
}

# --- Two app instances, registered as service "app". -----------------------
start_app() { # name
  build/redge "${common[@]}" --set app.port=0 --set admin.enabled=false \
    --set cacheproxy.enabled=false --set relay.enabled=false \
    --set discovery.enabled=true --set discovery.service=app --set discovery.lease_ms=2000 \
    2>"$workdir/$1.log" &
  play_track $!
}
start_app app1
app1_pid=${pids[-1]}
start_app app2
app2_pid=${pids[-1]}
app1=$(wait_log_field "$workdir/app1.log" "event=discovery_started" address)
app2=$(wait_log_field "$workdir/app2.log" "event=discovery_started" address)
echo "== two app instances registered as service app: $app1 and $app2"

# --- The gateway. -----------------------------------------------------------
build/redge --config examples/proxy/gateway.json "${common[@]}" \
  --set "gateway.port=$gateway_port" --set admin.port=0 2>"$workdir/gateway.log" &
play_track $!
admin_port=$(wait_log_field "$workdir/gateway.log" "event=listening service=admin" port)
metric() { # one series of the gateway's /metrics
  curl -s "http://127.0.0.1:$admin_port/metrics" | grep -F "$1 " | awk '{print $2}' || true
}
for _ in $(seq 100); do
  [ "$(metric 'redge_gateway_pool_members_healthy{pool="app"}')" = 2 ] && break
  sleep 0.1
done
[ "$(metric 'redge_gateway_pool_members_healthy{pool="app"}')" = 2 ] ||
  die "the gateway did not route to both instances within 10 s."

ask() { # one request through the gateway, shown; sets `member` to who answered
  local head status
  head=$(curl -s -D - -o "$workdir/body" "$gateway/") || die "curl $gateway/ failed."
  status=$(head -n 1 <<<"$head" | tr -d '\r')
  member=$(grep -i '^X-Upstream-Member:' <<<"$head" | cut -d' ' -f2 | tr -d '\r')
  echo "  $status  X-Upstream-Member: $member  body: $(cat "$workdir/body")"
}

echo "== curl $gateway/ four times: the rotation in Redis alternates"
answers=()
for _ in 1 2 3 4; do
  ask
  answers+=("$member")
done
alternating=yes
for i in 1 2 3; do
  [ "${answers[$i]}" != "${answers[$((i - 1))]}" ] || alternating=no
done
echo "alternating: $alternating"
echo "the rotation, redis-cli lrange $rotation_key 0 -1:"
redis-cli -p "$redis_port" lrange "$rotation_key" 0 -1 | sed 's/^/  /'
[ "$alternating" = yes ] || die "the answers did not alternate between the two instances."

echo "== kill -9 the instance at $app2: its lease (2 s) expires, it leaves the pool"
killed_at=$(date +%s%N)
{
  kill -KILL "$app2_pid"
  wait "$app2_pid"
} 2>/dev/null || true
for _ in $(seq 100); do
  [ "$(metric 'redge_gateway_pool_members{pool="app"}')" = 1 ] && break
  sleep 0.05
done
[ "$(metric 'redge_gateway_pool_members{pool="app"}')" = 1 ] ||
  die "the killed instance did not leave the pool within 5 s."
echo "left the pool in $((($(date +%s%N) - killed_at) / 1000000)) ms"
grep -E 'event=(member_down|gateway_member_removed|instance_expired)' "$workdir/gateway.log" |
  sed -E 's/^ts=[^ ]+ /  log: /'

echo "== curl $gateway/ four times: the survivor answers every one"
survivor_only=yes
for _ in 1 2 3 4; do
  ask
  [ "$member" = "$app1" ] || survivor_only=no
done
echo "answered by the survivor only: $survivor_only"
echo "the rotation, redis-cli lrange $rotation_key 0 -1:"
redis-cli -p "$redis_port" lrange "$rotation_key" 0 -1 | sed 's/^/  /'
[ "$survivor_only" = yes ] || die "a request went elsewhere than to $app1."
[ "$(redis-cli -p "$redis_port" llen "$rotation_key")" = 1 ] ||
  die "the rotation in Redis still lists the killed instance."
