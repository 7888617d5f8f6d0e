#!/usr/bin/env bash
# Plays a canary release behind the redge gateway: two stable app instances
# and one canary instance (registered with tag "canary") in pool "app",
# whose canary weight is the feature flag canary.app:
#   1. weight 25: of 200 users (X-User-Id), about a quarter get the canary
#      (X-Redge-Canary: 1 on its answers)
#   2. ramp to 50: every user who had the canary keeps it
#   3. abort (POST /canary/app/abort): nobody gets the canary
#   4. weight 25 again, then promote (POST /canary/app/promote): the canary
#      instance joins the stable side, answers no longer say canary
# Each step is checked: the script stops with a message at the first one that
# does not show what it promises.
#
# Needs `make build`, redis-server, curl and python3. It starts everything
# itself on free ports (its own redis-server too), stops it all at the end,
# and keeps the logs in a temporary folder only when something failed.
set -euo pipefail
cd "$(dirname "$0")/../.."

. examples/lib/play.sh
play_init canary
play_need redis-server redis-cli curl python3

read -r redis_port gw_port admin_port < <(free_ports 3)
start_redis "$redis_port"
redis=(--redis "redis://127.0.0.1:$redis_port/0")

start_app() { # name tags-json
  build/redge "${redis[@]}" --set app.port=0 --set admin.enabled=false \
    --set cacheproxy.enabled=false --set relay.enabled=false \
    --set discovery.enabled=true --set discovery.service=app --set discovery.lease_ms=2000 \
    --set "discovery.tags=$2" 2>"$workdir/$1.log" &
  play_track $!
}
start_app stable1 '[]'
start_app stable2 '[]'
start_app canary '["canary"]'
build/redge --config examples/canary/gateway.json "${redis[@]}" \
  --set "gateway.port=$gw_port" --set "admin.port=$admin_port" 2>"$workdir/gateway.log" &
play_track $!
admin="http://127.0.0.1:$admin_port"
gateway="http://127.0.0.1:$gw_port"

metric() { # one series of the gateway's /metrics
  curl -s "$admin/metrics" | grep -F "$1 " | awk '{print $2}' || true
}
healthy() {
  [ "$(metric 'redge_gateway_pool_members_healthy{pool="app"}')" = 2 ] &&
    [ "$(metric 'redge_gateway_pool_members_healthy{pool="app/canary"}')" = 1 ]
}
retry 100 healthy || die "the gateway did not see 2 stable and 1 canary instance within 10 s."
echo "Redis on :$redis_port, the gateway on :$gw_port (admin :$admin_port),"
echo "two stable app instances and one tagged canary, all in pool app"

flags() { # the operator's shell: redge flags ... against the same Redis
  build/redge "${redis[@]}" flags "$@" >/dev/null
}
weight_is() { [ "$(metric 'redge_gateway_canary_weight{pool="app"}')" = "$1" ]; }

# Sends one request per user; fills `canary_users` (a space-separated list).
play_users() {
  canary_users=" "
  local i head
  for i in $(seq 1 200); do
    head=$(curl -s -D - -o /dev/null -H "X-User-Id: user-$i" "$gateway/") ||
      die "curl $gateway/ failed."
    grep -qi '^x-redge-canary: 1' <<<"$head" && canary_users+="user-$i "
  done
  canary_count=$(wc -w <<<"$canary_users")
}

echo "== 1. redge flags set canary.app '{\"enabled\":true,\"rollout\":25}'"
flags set canary.app '{"enabled":true,"rollout":25}'
retry 20 weight_is 25 || die "the gateway did not follow the weight within 2 s."
play_users
echo "   $canary_count of 200 users got the canary (X-Redge-Canary: 1)"
[ "$canary_count" -ge 25 ] && [ "$canary_count" -le 75 ] ||
  die "step 1: expected about 50 of 200 on the canary, got $canary_count."
first=$canary_users

echo "== 2. ramp: redge flags set canary.app '{\"enabled\":true,\"rollout\":50}'"
flags set canary.app '{"enabled":true,"rollout":50}'
retry 20 weight_is 50 || die "the gateway did not follow the weight within 2 s."
play_users
echo "   $canary_count of 200 users got the canary"
for u in $first; do
  [[ "$canary_users" == *" $u "* ]] || die "step 2: $u had the canary at 25% and lost it at 50%."
done
echo "   every one of the users who had it at 25% still has it"

echo "== 3. abort: curl -X POST localhost:$admin_port/canary/app/abort"
echo "   $(curl -s -X POST "$admin/canary/app/abort")"
retry 20 weight_is 0 || die "the weight did not drop to 0 within 2 s."
play_users
echo "   $canary_count of 200 users got the canary"
[ "$canary_count" = 0 ] || die "step 3: the canary still served $canary_count users."
grep -m 1 'event=gateway_canary_aborted' "$workdir/gateway.log" | sed 's/^/   log: /'

echo "== 4. weight 25 again, then promote: curl -X POST localhost:$admin_port/canary/app/promote"
flags set canary.app '{"enabled":true,"rollout":25}'
retry 20 weight_is 25 || die "the gateway did not follow the weight within 2 s."
echo "   $(curl -s -X POST "$admin/canary/app/promote")"
promoted() {
  [ "$(metric 'redge_gateway_pool_members{pool="app"}')" = 3 ] &&
    [ "$(metric 'redge_gateway_pool_members{pool="app/canary"}')" = 0 ] &&
    [ "$(metric 'redge_gateway_pool_members_healthy{pool="app"}')" = 3 ]
}
retry 50 promoted || die "step 4: the canary instance did not join the stable side within 5 s."
play_users
echo "   $canary_count of 200 users got an answer marked canary; the stable side has 3 instances"
[ "$canary_count" = 0 ] || die "step 4: answers still say canary after the promotion."
grep -m 1 'event=gateway_canary_promoted' "$workdir/gateway.log" | sed 's/^/   log: /'
echo "== what the gateway counted per side (redge_gateway_side_requests_total)"
curl -s "$admin/metrics" | grep '^redge_gateway_side_requests_total' | sed 's/^/   /'
echo "every step showed what it promised"
