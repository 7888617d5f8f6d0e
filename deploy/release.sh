#!/usr/bin/env bash
# Releases a new redge binary onto a running fleet as a canary, through
# redge's own HTTP APIs only (curl), so any CI server can run it:
#   1. checks the gateway's admin API: the pool has a canary side
#      (GET /canary), the rules to watch exist (GET /alerts);
#   2. starts the new version's instance(s) on this machine, registered in the
#      fleet's registry as service SERVICE with tag "canary" (the gateway puts
#      them on the pool's canary side) — the registry's POST /spawn runs the
#      gateway's own spawn_command, which names the old binary and no tag, so
#      the new version is started here with discovery tags instead;
#   3. waits until the canary side has them healthy (GET /canary);
#   4. for each ramp step: sets the weight flag (PUT /flags/canary.<pool>
#      {"enabled":true,"rollout":N}), soaks, and reads GET /alerts every
#      second: a watched rule firing, the canary side unhealthy, or the
#      weight switched off by someone else aborts the release
#      (POST /canary/<pool>/abort, POST /destroy of each canary instance);
#   5. all steps clean: POST /canary/<pool>/promote, the canary members join
#      the stable side.
#
# usage: deploy/release.sh --binary PATH [options]
#   --admin URL          the gateway's admin listener ($DEPLOY_ADMIN_URL)
#   --token TOKEN        its admin token, if it has one ($DEPLOY_ADMIN_TOKEN)
#   --redis URL          the Redis of the fleet's registry, for the new
#                        instances ($DEPLOY_REDIS_URL)
#   --pool NAME          the gateway pool (app); --service NAME the registry
#                        service (the pool's name)
#   --steps LIST         ramp steps in percent (5,25,50,100)
#   --soak SECONDS       soak time per step (30)
#   --watch RULES        alert rules to watch, comma-separated (every rule
#                        GET /alerts lists)
#   --count N            canary instances to start (1)
#   --healthy-timeout S  how long the canary may take to be healthy (30)
#   --set KEY=VALUE      a setting for the new instances (repeatable)
#   --bad-canary         a release that fails on purpose: the instance is put
#                        behind deploy/faulty_proxy.py, which answers 500 to
#                        user requests (X-User-Id) and passes health probes
#   --state-dir DIR      where the instances' logs go (a new temporary folder)
# $DEPLOY_PIDFILE, when set, gets the pid of every process started.
#
# Exit status: 0 promoted; 2 bad usage; 3 the fleet's API refused or could
# not be reached before anything changed; 4 the canary did not become
# healthy (aborted); 5 a watched rule fired, the canary turned unhealthy or
# its weight was switched off (aborted); 6 an API call failed mid-release
# (aborted as far as the API allowed).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)

admin=${DEPLOY_ADMIN_URL:-}
token=${DEPLOY_ADMIN_TOKEN:-}
redis=${DEPLOY_REDIS_URL:-}
pool=app
service=
binary=
steps=5,25,50,100
soak=30
watch=
count=1
healthy_timeout=30
bad=false
state_dir=
extra_sets=()

usage() {
  sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'
}
while [ $# -gt 0 ]; do
  case $1 in
    --admin) admin=$2; shift 2 ;;
    --token) token=$2; shift 2 ;;
    --redis) redis=$2; shift 2 ;;
    --pool) pool=$2; shift 2 ;;
    --service) service=$2; shift 2 ;;
    --binary) binary=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --soak) soak=$2; shift 2 ;;
    --watch) watch=$2; shift 2 ;;
    --count) count=$2; shift 2 ;;
    --healthy-timeout) healthy_timeout=$2; shift 2 ;;
    --set) extra_sets+=(--set "$2"); shift 2 ;;
    --bad-canary) bad=true; shift ;;
    --state-dir) state_dir=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "release: unknown argument '$1' (--help lists them)" >&2; exit 2 ;;
  esac
done
service=${service:-$pool}

say() { echo "release: $*"; }
fail_usage() {
  echo "release: $*" >&2
  exit 2
}
[ -n "$admin" ] || fail_usage "no admin URL: give --admin or set DEPLOY_ADMIN_URL."
[ -n "$redis" ] || fail_usage "no Redis URL for the new instances: give --redis or set DEPLOY_REDIS_URL."
[ -n "$binary" ] && [ -x "$binary" ] || fail_usage "--binary must name an executable redge (got '$binary')."
[[ $steps =~ ^[0-9]+(,[0-9]+)*$ ]] || fail_usage "--steps takes percentages like 5,25,50,100."
[[ $soak =~ ^[0-9]+$ && $count =~ ^[1-9][0-9]*$ && $healthy_timeout =~ ^[0-9]+$ ]] ||
  fail_usage "--soak, --count and --healthy-timeout take whole numbers."
for s in ${steps//,/ }; do
  [ "$s" -ge 1 ] && [ "$s" -le 100 ] || fail_usage "ramp step $s is not between 1 and 100."
done
state_dir=${state_dir:-$(mktemp -d "${TMPDIR:-/tmp}/redge-release.XXXXXX")}
mkdir -p "$state_dir"
admin=${admin%/}

# ---------------------------------------------------------------- the API

auth=()
[ -n "$token" ] && auth=(-H "Authorization: Bearer $token")
# api METHOD PATH [BODY]: the answer's body in $body, its status in $code.
api() {
  local out
  out=$(curl -sS -m 10 -X "$1" "${auth[@]}" -H 'X-Redge-Actor: deploy/release.sh' \
    -H 'Content-Type: application/json' ${3:+--data-binary "$3"} \
    -w '\n%{http_code}' "$admin$2" 2>&1)
  code=${out##*$'\n'}
  body=${out%$'\n'*}
  [[ $code =~ ^2 ]]
}
# json EXPR: evaluates a Python expression over $body parsed as `d`.
json() {
  python3 -c 'import json, sys; d = json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$body" "$1"
}
# The canary pool's entry of GET /canary, as `p`.
canary_pool() { # expr
  json "(lambda p: $1)(next(p for p in d['pools'] if p['pool'] == '$pool'))"
}

# ---------------------------------------------------------------- abort

started_ids=()
started_addresses=()
started_pids=()
helper_pids=()
phase=preflight
finish_abort() { # status reason
  local status=$1 reason=$2 id
  trap - INT TERM
  say "aborting: $reason"
  if api POST "/canary/$pool/abort"; then
    say "POST /canary/$pool/abort -> $code, weight $(json "d['weight_before']") -> 0"
  else
    say "POST /canary/$pool/abort failed ($code): $body"
    [ "$status" -eq 5 ] && status=6
  fi
  for id in "${started_ids[@]}"; do
    if api POST /destroy "{\"id\":\"$id\"}"; then
      say "POST /destroy $id -> $code (deregistered, draining)"
    else
      say "POST /destroy $id -> $code: $body (stopping it by its pid)"
    fi
  done
  # The instances drain and exit; what is still running after 10 s is ours
  # to stop, as this script started it.
  local deadline=$((SECONDS + 10)) pid alive
  while :; do
    alive=0
    for pid in "${started_pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] || [ "$SECONDS" -ge "$deadline" ] && break
    sleep 0.2
  done
  for pid in "${started_pids[@]}" "${helper_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  say "release aborted at $phase: $reason (logs in $state_dir)"
  exit "$status"
}
trap 'finish_abort 6 "interrupted"' INT TERM

# ---------------------------------------------------------------- 1. preflight

say "new binary $binary ($("$binary" --version 2>/dev/null | head -n 1)), pool $pool, service $service, steps $steps, soak ${soak}s"
api GET /canary || { say "GET $admin/canary -> ${code:-no answer}: $body"; exit 3; }
if ! canary_pool "True" >/dev/null 2>&1; then
  say "the gateway has no canary pool named '$pool' (GET /canary: $body)"
  exit 3
fi
weight=$(canary_pool "p['weight']")
tag=$(canary_pool "p['tag']")
flag=$(canary_pool "p['flag']")
members_before=$(canary_pool "len(p['canary']['members'])")
if [ "$weight" != 0 ] || [ "$members_before" != 0 ]; then
  say "pool $pool already has a canary (weight $weight, $members_before members): finish or abort that release first"
  exit 3
fi
say "GET /canary: pool $pool, weight flag $flag at 0, canary tag '$tag', stable $(canary_pool "len(p['stable']['members'])") members"
api GET /alerts || { say "GET $admin/alerts -> ${code:-no answer}: $body (the gateway needs alerts.enabled)"; exit 3; }
all_rules=$(json "','.join(r['name'] for r in d['rules'])")
watch=${watch:-$all_rules}
[ -n "$watch" ] || { say "GET /alerts lists no rule to watch: a release needs at least one"; exit 3; }
for r in ${watch//,/ }; do
  [[ ,$all_rules, == *,$r,* ]] || { say "rule '$r' is not among the gateway's rules ($all_rules)"; exit 3; }
done
firing=$(json "','.join(r['name'] for r in d['rules'] if r['state'] == 'firing' and r['name'] in '$watch'.split(','))")
[ -z "$firing" ] || { say "rule(s) $firing fire already, before the release: not starting"; exit 3; }
say "watching rules $watch"

# ---------------------------------------------------------------- 2. start the canary

phase="start"
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
record_pid() { # pid [helper]
  if [ -n "${2:-}" ]; then helper_pids+=("$1"); else started_pids+=("$1"); fi
  [ -z "${DEPLOY_PIDFILE:-}" ] || echo "$1" >>"$DEPLOY_PIDFILE"
}
version=$("$binary" --version 2>/dev/null | awk '{print $2}')
stamp=$(date +%s)
for i in $(seq "$count"); do
  id="$service-${version:-new}-$stamp-$i"
  port=$(free_port)
  advertise="127.0.0.1:$port"
  if [ "$bad" = true ]; then
    proxy_port=$(free_port)
    advertise="127.0.0.1:$proxy_port"
    setsid python3 "$here/faulty_proxy.py" "$proxy_port" "$port" >"$state_dir/$id.proxy.log" 2>&1 </dev/null &
    record_pid $! helper
    say "--bad-canary: $id is reached through deploy/faulty_proxy.py on :$proxy_port (500 to user requests)"
  fi
  # Its own session: a promoted instance outlives this script.
  setsid "$binary" --redis "$redis" --set "app.port=$port" --set admin.enabled=false \
    --set cacheproxy.enabled=false --set relay.enabled=false \
    --set discovery.enabled=true --set "discovery.service=$service" --set "discovery.id=$id" \
    --set "discovery.advertise=$advertise" --set "discovery.tags=[\"$tag\"]" \
    --set discovery.lease_ms=3000 "${extra_sets[@]}" >"$state_dir/$id.log" 2>&1 </dev/null &
  record_pid $!
  started_ids+=("$id")
  started_addresses+=("$advertise")
  say "started $id (pid $!) on :$port, registered as $service with tag '$tag', advertised $advertise"
done

# ---------------------------------------------------------------- 3. healthy

phase="health"
addresses=$(IFS=,; echo "${started_addresses[*]}")
canary_health() { # every started address: its health word, or "absent"
  canary_pool "','.join(next((m['health'] for m in p['canary']['members'] if m['name'] == a), 'absent') for a in '$addresses'.split(','))"
}
deadline=$((SECONDS + healthy_timeout))
while :; do
  for pid in "${started_pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || finish_abort 4 "a process of the new version (pid $pid) exited; see $state_dir"
  done
  if api GET /canary; then
    health=$(canary_health)
    [[ ,$health, =~ ^(,healthy)+,$ ]] && break
  fi
  [ "$SECONDS" -lt "$deadline" ] || finish_abort 4 "the canary side was not healthy within ${healthy_timeout}s (members: ${health:-unknown})"
  sleep 0.5
done
say "GET /canary: canary side healthy ($addresses)"

# ---------------------------------------------------------------- 4. ramp

rule_states() { # "name=state" for each watched rule
  json "' '.join(r['name'] + '=' + r['state'] + ('(' + str(r['value']) + ')' if r['state'] != 'inactive' else '') for r in d['rules'] if r['name'] in '$watch'.split(','))"
}
# check_once: aborts on a firing rule, an unhealthy canary, a weight gone.
check_once() { # step
  api GET /alerts || finish_abort 6 "GET /alerts -> $code: $body"
  states=$(rule_states)
  local fired
  fired=$(json "', '.join(r['name'] + ' (value ' + str(r['value']) + ')' for r in d['rules'] if r['state'] == 'firing' and r['name'] in '$watch'.split(','))")
  [ -z "$fired" ] || finish_abort 5 "alert rule $fired is firing"
  api GET /canary || finish_abort 6 "GET /canary -> $code: $body"
  local h w
  h=$(canary_health)
  w=$(canary_pool "p['weight']")
  [[ ,$h, =~ ^(,healthy)+,$ ]] || finish_abort 5 "the canary side is not healthy any more ($h)"
  [ "$w" = "$1" ] || finish_abort 5 "the weight is $w, not $1: someone (an alert action?) changed flag $flag"
}
for step in ${steps//,/ }; do
  phase="step $step%"
  api PUT "/flags/$flag" "{\"enabled\":true,\"rollout\":$step,\"description\":\"canary weight of pool $pool, set by deploy/release.sh\"}" ||
    finish_abort 6 "PUT /flags/$flag -> $code: $body"
  say "PUT /flags/$flag rollout=$step -> $code"
  deadline=$((SECONDS + 5))
  until api GET /canary && [ "$(canary_pool "p['weight']")" = "$step" ]; do
    [ "$SECONDS" -lt "$deadline" ] || finish_abort 6 "the gateway did not follow the weight $step within 5 s"
    sleep 0.1
  done
  say "weight $step%: soaking ${soak}s, watching $watch"
  end=$((SECONDS + soak))
  while [ "$SECONDS" -lt "$end" ]; do
    check_once "$step"
    sleep 1
  done
  # A rule still pending at the end of the soak decides before the next step.
  extra=$((SECONDS + soak + 5))
  check_once "$step"
  while [[ $states == *=pending* ]]; do
    [ "$SECONDS" -lt "$extra" ] || finish_abort 5 "a rule stayed pending past the soak ($states)"
    say "pending at the end of the soak ($states): waiting for it to fire or clear"
    sleep 1
    check_once "$step"
  done
  api GET /canary
  say "weight $step% clean: $states; canary side $(canary_pool "p['canary']['requests']") requests, stable $(canary_pool "p['stable']['requests']")"
done

# ---------------------------------------------------------------- 5. promote

phase="promote"
api POST "/canary/$pool/promote" || finish_abort 6 "POST /canary/$pool/promote -> $code: $body"
say "POST /canary/$pool/promote -> $code"
deadline=$((SECONDS + 10))
promoted() {
  api GET /canary &&
    [ "$(canary_pool "str(p['weight'] == 0 and not p['canary']['members'] and all(any(m['name'] == a for m in p['stable']['members']) for a in '$addresses'.split(',')))")" = True ]
}
until promoted; do
  [ "$SECONDS" -lt "$deadline" ] || { say "the gateway did not show the promotion within 10 s: $body"; exit 6; }
  sleep 0.2
done
say "GET /canary: weight 0, canary side empty, $addresses on the stable side ($(canary_pool "len(p['stable']['members'])") members)"
say "release promoted: ${started_ids[*]}"
exit 0
