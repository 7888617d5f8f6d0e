#!/usr/bin/env bash
# Plays the relay scenario against fake_upstream: healthy, then the upstream
# fails and the breaker opens, the queue fills and clients get 503 with
# Retry-After, then the upstream heals, the queue drains and enqueueing
# returns at the recovery threshold. Needs redis-server on 127.0.0.1:6379
# (or `make run` in another terminal) and a build (`make build`).
set -euo pipefail
cd "$(dirname "$0")/../.."
app=http://127.0.0.1:3000
control=http://127.0.0.1:9002

build/fake_upstream --port 9001 --control-port 9002 --latency-ms 20 --seed 1 &
upstream=$!
build/redge --config examples/relay/redge.json 2> >(grep -E 'breaker_|enqueue_|delivery_failed|dead_lettered' >&2) &
redge=$!
trap 'kill $redge $upstream 2>/dev/null; wait 2>/dev/null' EXIT
sleep 1

post() {
  curl -s -o /dev/null -w '%{http_code} ' -X POST -H 'Content-Type: application/json' \
    -d "{\"destination\":\"sms:+15550100\",\"body\":\"$1\"}" "$app/messages"
}

echo "== healthy: every message is accepted and delivered"
for i in 1 2 3; do post "hello $i"; done; echo
sleep 1
curl -s "$app/messages/stats"; echo

echo "== the upstream fails: the breaker opens, the queue fills, clients are told to back off"
curl -s -X POST -H 'Content-Type: application/json' -d '{"error_ratio":1}' "$control/control" >/dev/null
for i in $(seq 1 16); do post "during outage $i"; sleep 0.2; done; echo
curl -si -X POST -H 'Content-Type: application/json' -d '{"destination":"d","body":"one more"}' \
  "$app/messages" | grep -iE '^HTTP|Retry-After|queue_full'
curl -s "$app/messages/stats"; echo

echo "== the upstream heals: a half-open probe succeeds, the queue drains, enqueueing returns"
curl -s -X POST -H 'Content-Type: application/json' -d '{"error_ratio":0,"latency_ms":300}' \
  "$control/control" >/dev/null
for _ in $(seq 1 40); do
  depth=$(curl -s "$app/messages/stats" | sed -E 's/.*"queue_depth":([0-9]+).*/\1/')
  code=$(post "probe while draining")
  echo "depth=$depth POST=$code"
  [ "$depth" = 0 ] && break
  sleep 0.5
done
curl -s "$app/messages/stats"; echo
echo "== at the upstream, each message id was delivered once:"
curl -s "$control/stats" | head -c 300; echo
