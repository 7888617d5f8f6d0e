#!/usr/bin/env bash
# Plays a small fleet on one machine and one Redis (examples/fleet/fleet.json):
#   - a gateway whose autoscaler keeps service "app" between 2 and 4
#     instances: it spawns the first two itself (min 2);
#   - a canary release (canary.py, which breaks on uploads over 50,000
#     bytes) on pool app's canary side at 25%;
#   - an alert rule on the canary's error ratio that notifies a webhook
#     (receiver.py) and aborts the canary;
# then it plays uploads (the rule fires, the canary is aborted, the webhook
# hears it, stable answers stay good) and a burst of load (the autoscaler
# adds instances). Each step is checked: the script stops with a message at
# the first one that does not show what it promises.
#
# Needs `make build`, redis-server, curl and python3. It starts everything
# itself on free ports (its own redis-server too), stops it all at the end,
# and keeps the logs in a temporary folder only when something failed.
set -euo pipefail
cd "$(dirname "$0")/../.."

. examples/lib/play.sh
play_init fleet
play_need redis-server redis-cli curl python3
# The instances the autoscaler spawned run in their own session.
play_cleanup() {
  [ -s "$workdir/spawned.pids" ] && xargs -r kill -TERM <"$workdir/spawned.pids" 2>/dev/null
  return 0
}
redge=$(pwd)/build/redge

read -r redis_port gw_port admin_port canary_port hook_port < <(free_ports 5)
start_redis "$redis_port"
python3 examples/fleet/canary.py "$canary_port" >"$workdir/canary.log" 2>&1 &
play_track $!
python3 examples/fleet/receiver.py "$hook_port" >"$workdir/receiver.log" 2>&1 &
play_track $!

spawn=$(python3 -c '
import json, sys
print(json.dumps(["/bin/sh", "-c", "echo $$ >> " + sys.argv[1] + "; exec \"$@\"", "sh", sys.argv[2],
    "--redis", "{redis}", "--set", "app.port={port}", "--set", "admin.enabled=false",
    "--set", "relay.enabled=false", "--set", "cacheproxy.enabled=false",
    "--set", "discovery.enabled=true", "--set", "discovery.service={service}",
    "--set", "discovery.id={id}", "--set", "discovery.lease_ms=2000"]))
' "$workdir/spawned.pids" "$redge")
build/redge --config examples/fleet/fleet.json --redis "redis://127.0.0.1:$redis_port/0" \
  --set "gateway.port=$gw_port" --set "admin.port=$admin_port" \
  --set "discovery.spawn_command=$spawn" \
  --set "gateway.pools={\"app\": {\"discover\": \"app\", \"health\": {\"path\": \"/\", \"interval_ms\": 200, \"rise\": 1}, \"passive\": {\"consecutive_failures\": 0}, \"canary\": {\"members\": [{\"address\": \"127.0.0.1:$canary_port\"}]}}}" \
  --set "alerts.receivers={\"webhook\": {\"type\": \"webhook\", \"url\": \"http://127.0.0.1:$hook_port/hook\", \"repeat_interval_ms\": 0}}" \
  2>"$workdir/gateway.log" &
play_track $!
gateway_pid=$!
admin="http://127.0.0.1:$admin_port"
gateway="http://127.0.0.1:$gw_port"
metric() { # one series of the gateway's /metrics
  curl -s "$admin/metrics" | grep -F "$1 " | awk '{print $2}' || true
}
healthy() {
  kill -0 "$gateway_pid" 2>/dev/null || die "the gateway exited (see gateway.log)."
  [ "$(metric 'redge_gateway_pool_members_healthy{pool="app"}')" = "$1" ]
}

echo "== 1. the gateway starts; its autoscaler brings service app to min 2 (two spawns)"
retry 150 healthy 2 || die "step 1: two app instances did not serve within 15 s."
grep -m 1 'event=autoscale_scaled' "$workdir/gateway.log" | sed 's/^.*event=/   log: event=/'

echo "== 2. a canary release at 25%: redge flags set canary.app '{\"enabled\":true,\"rollout\":25}'"
build/redge --redis "redis://127.0.0.1:$redis_port/0" flags set canary.app \
  '{"enabled":true,"rollout":25}' >/dev/null
retry 20 [ "$(metric 'redge_gateway_canary_weight{pool="app"}')" = 25 ] 2>/dev/null || true

echo "== 3. uploads, half of them 60,000 bytes, until the canary is aborted (at most 20 s)"
head -c 60000 /dev/zero | tr '\0' x >"$workdir/large.bin"
head -c 1000 /dev/zero | tr '\0' y >"$workdir/small.bin"
stable_errors=0 canary_errors=0 sent=0
for _ in $(seq 200); do
  for f in large small; do
    out=$(curl -s -o /dev/null -D - -w '%{http_code}' --data-binary "@$workdir/$f.bin" \
      "$gateway/upload") || die "curl $gateway/upload failed."
    code=${out: -3}
    sent=$((sent + 1))
    if [ "$code" -ge 500 ]; then
      if grep -qi '^x-redge-canary: 1' <<<"$out"; then
        canary_errors=$((canary_errors + 1))
      else
        stable_errors=$((stable_errors + 1))
      fi
    fi
  done
  [ "$(metric 'redge_gateway_canary_weight{pool="app"}')" = 0 ] && break
  sleep 0.05
done
echo "   $sent uploads: $canary_errors errors from the canary, $stable_errors from stable"
[ "$(metric 'redge_gateway_canary_weight{pool="app"}')" = 0 ] ||
  die "step 3: the canary was not aborted within 20 s."
[ "$stable_errors" = 0 ] || die "step 3: stable answered $stable_errors errors."
grep -m 1 'event=alert_action' "$workdir/gateway.log" | sed 's/^.*event=/   log: event=/'
retry 50 grep -q 'webhook: firing CanaryErrorRatio' "$workdir/receiver.log" ||
  die "step 3: the webhook did not hear the alert."
sed 's/^/   /' "$workdir/receiver.log"

echo "== 4. a burst of GET / from 4 clients for 6 s (target: 40 requests/s per instance)"
python3 - "$gateway" <<'PY'
import sys, time, threading, urllib.request
url, stop = sys.argv[1] + "/", time.time() + 6
def client():
    while time.time() < stop:
        try:
            urllib.request.urlopen(url, timeout=2).read()
        except Exception:
            pass
threads = [threading.Thread(target=client) for _ in range(4)]
[t.start() for t in threads]
[t.join() for t in threads]
PY
scaled() { [ "$(metric 'redge_autoscale_actions_total{direction="out"}')" -ge 2 ]; }
retry 100 scaled || die "step 4: the autoscaler did not add an instance."
grep 'event=autoscale_decision' "$workdir/gateway.log" | grep 'action=scale_out' | tail -n 1 |
  sed 's/^.*event=/   log: event=/'
retry 100 healthy 3 || retry 1 healthy 4 || die "step 4: no third instance served within 10 s."
echo "   instances serving pool app: $(metric 'redge_gateway_pool_members_healthy{pool="app"}')"
echo "every step showed what it promised"
