#!/usr/bin/env bash
# A fleet on this machine for deploy/release.sh to release onto, started on
# free loopback ports and torn down on exit:
#   - a private redis-server (no persistence);
#   - a gateway (pool "app" from the registry, its canary side the instances
#     tagged "canary", sticky by X-User-Id) with an admin token, and alert
#     rules on each side's 5xx ratio (CanaryErrorRatio, StableErrorRatio);
#   - two stable app instances of STABLE_BINARY, registered as service app;
#   - user traffic through the gateway (deploy/traffic.py), counted per side.
#
# usage: deploy/local-fleet.sh [--stable-binary PATH] [--] [COMMAND...]
# With a COMMAND it runs it with the fleet's coordinates in the environment
# and exits with its status (not REDGE_*: redge reads those as settings):
#   DEPLOY_ADMIN_URL, DEPLOY_ADMIN_TOKEN   the gateway's admin listener
#   DEPLOY_GATEWAY_URL                    where users send requests
#   DEPLOY_REDIS_URL                      the Redis new instances register in
#   DEPLOY_PIDFILE                release.sh writes the pids of what it
#                                        starts here, so they stop with the fleet
#   DEPLOY_TRAFFIC                  the traffic counts (JSON, see traffic.py)
#   DEPLOY_FLEET_DIR                      the work folder (logs)
# Without one it prints them and waits for Ctrl-C.
# The logs are kept (and their tails shown) only when something failed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)

stable_binary=${STABLE_BINARY:-$root/build/redge}
while [ $# -gt 0 ]; do
  case $1 in
    --stable-binary) stable_binary=$2; shift 2 ;;
    --) shift; break ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "local-fleet: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done

# The work folder, the processes stopped in reverse order at exit, the
# logs' tails on a failure, ports, retry and start_redis: as the examples.
# shellcheck source=examples/lib/play.sh
. "$root/examples/lib/play.sh"
play_label=local-fleet
say() { echo "local-fleet: $*"; }
[ -x "$stable_binary" ] || die "$stable_binary is missing: run 'make build' first."
for tool in redis-server redis-cli curl python3; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is missing (make deps installs it)."
done

# What release.sh started (its canary instances) runs in its own session.
# Both run from play_on_exit.
# shellcheck disable=SC2317
play_cleanup() {
  if [ -s "$workdir/release.pids" ]; then
    xargs -r kill -TERM <"$workdir/release.pids" 2>/dev/null || true
  fi
}
# shellcheck disable=SC2317
play_after_stop() { say "stopped"; }
play_init fleet

read -r redis_port gw_port admin_port < <(free_ports 3)
start_redis "$redis_port"
redis_url="redis://127.0.0.1:$redis_port/0"

head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$workdir/admin-token"
cat >"$workdir/gateway.json" <<EOF
{
  "app": {"enabled": false},
  "cacheproxy": {"enabled": false},
  "relay": {"enabled": false},
  "admin": {"port": $admin_port, "token_file": "$workdir/admin-token"},
  "discovery": {"enabled": true, "register_self": false},
  "gateway": {
    "enabled": true,
    "port": $gw_port,
    "routes": [{"prefix": "/", "pool": "app"}],
    "pools": {
      "app": {
        "discover": "app",
        "health": {"path": "/", "interval_ms": 200, "rise": 1},
        "passive": {"consecutive_failures": 0},
        "canary": {"tag": "canary", "stickiness": "header:X-User-Id"}
      }
    }
  },
  "alerts": {
    "enabled": true,
    "interval_ms": 250,
    "defaults": {"cpu": false, "memory": false, "app_error_ratio": false, "app_p99": false},
    "rules": [
      {
        "name": "CanaryErrorRatio",
        "expr": "sum(rate(redge_gateway_side_responses_total{pool='app',side='canary',status=~'5..'}[5s])) / sum(rate(redge_gateway_side_requests_total{pool='app',side='canary'}[5s])) > 0.05",
        "for_ms": 1000,
        "labels": {"severity": "page"},
        "annotations": {"summary": "{{ \$value }} of the canary's answers are 5xx"}
      },
      {
        "name": "StableErrorRatio",
        "expr": "sum(rate(redge_gateway_side_responses_total{pool='app',side='stable',status=~'5..'}[5s])) / sum(rate(redge_gateway_side_requests_total{pool='app',side='stable'}[5s])) > 0.05",
        "for_ms": 1000,
        "labels": {"severity": "page"},
        "annotations": {"summary": "{{ \$value }} of the stable side's answers are 5xx"}
      }
    ]
  }
}
EOF
"$stable_binary" --config "$workdir/gateway.json" --redis "$redis_url" 2>"$workdir/gateway.log" &
gateway_pid=$!
play_track "$gateway_pid"

for n in 1 2; do
  "$stable_binary" --redis "$redis_url" --set app.port=0 --set admin.enabled=false \
    --set cacheproxy.enabled=false --set relay.enabled=false \
    --set discovery.enabled=true --set discovery.service=app --set "discovery.id=app-stable-$n" \
    --set discovery.lease_ms=2000 2>"$workdir/stable-$n.log" &
  play_track $!
done

admin="http://127.0.0.1:$admin_port"
stable_healthy() {
  kill -0 "$gateway_pid" 2>/dev/null || die "the gateway exited (see gateway.log)."
  curl -s "$admin/metrics" | grep -qxF 'redge_gateway_pool_members_healthy{pool="app"} 2'
}
retry 150 stable_healthy || die "the gateway did not see two healthy stable instances within 15 s."

python3 "$here/traffic.py" "http://127.0.0.1:$gw_port" "$workdir/traffic.json" 40 \
  >"$workdir/traffic.log" 2>&1 &
play_track $!
retry 50 test -s "$workdir/traffic.json" || die "the traffic generator wrote no counts within 5 s."

export DEPLOY_ADMIN_URL=$admin
DEPLOY_ADMIN_TOKEN=$(cat "$workdir/admin-token")
export DEPLOY_ADMIN_TOKEN
export DEPLOY_GATEWAY_URL="http://127.0.0.1:$gw_port"
export DEPLOY_REDIS_URL=$redis_url
export DEPLOY_PIDFILE=$workdir/release.pids
export DEPLOY_TRAFFIC=$workdir/traffic.json
export DEPLOY_FLEET_DIR=$workdir
say "redis :$redis_port, gateway :$gw_port (admin :$admin_port, token in $workdir/admin-token),"
say "two stable instances of $stable_binary in pool app, user traffic at 40 requests/s"

if [ $# -eq 0 ]; then
  env | grep -E '^DEPLOY_(ADMIN_URL|ADMIN_TOKEN|GATEWAY_URL|REDIS_URL|PIDFILE|TRAFFIC|FLEET_DIR)=' |
    sed 's/^/export /'
  say "running; Ctrl-C stops it all"
  while kill -0 "$gateway_pid" 2>/dev/null; do sleep 1; done
  die "the gateway exited (see gateway.log)."
fi
set +e
"$@"
status=$?
set -e
exit "$status"
