#!/usr/bin/env bash
# Plays "cache-aside done by the gateway": a small courses API
# (courses_api.py) behind two redge gateways, A and B, that share one Redis.
# Their route /courses has `cache: {enabled, shared, invalidate_parent}`:
#   1. GET /courses through A      a miss: A asks the API, stores the answer
#                                  in its memory and in Redis
#   2. GET /courses through A      a hit from A's memory; the API is not asked
#   3. GET /courses through B      a hit: B finds what A fetched in Redis
#   4. POST /courses through A     201: a new course; the write clears /courses
#                                  on every gateway (its own memory, Redis, and
#                                  B's memory through a pub/sub event)
#   5. GET /courses through B      a miss: the API is asked, the new course is in
#   6. admin purge, tag "courses", on B's admin port: gone everywhere
#   7. GET /courses through A      a miss again
# Each step is checked: the script stops with a message at the first one that
# does not show what it promises.
#
# Needs `make build`, redis-server, curl and python3. It starts everything
# itself on free ports (its own redis-server too), stops it all at the end,
# and keeps the logs in a temporary folder only when something failed.
set -euo pipefail
cd "$(dirname "$0")/../.."

. examples/lib/play.sh
play_init courses
play_need redis-server redis-cli curl python3

# Six ports free now: Redis, the API, gateway A and B, admin A and B.
read -r redis_port api_port gw_a gw_b admin_a admin_b < <(free_ports 6)

# --- Redis, the API, the two gateways. ---------------------------------------
start_redis "$redis_port"

python3 examples/courses/courses_api.py "$api_port" >/dev/null 2>"$workdir/api.log" &
play_track $!
api=http://127.0.0.1:$api_port
retry 50 curl -sf "$api/healthz" || die "the courses API did not listen within 5 s."

start_gateway() { # name config gateway_port admin_port
  build/redge --config "examples/courses/$2" --redis "redis://127.0.0.1:$redis_port/0" \
    --set "gateway.port=$3" --set "admin.port=$4" \
    --set "gateway.pools={\"api\": {\"members\": [{\"address\": \"127.0.0.1:$api_port\"}],
                          \"health\": {\"path\": \"/healthz\", \"interval_ms\": 1000}}}" \
    2>"$workdir/gateway-$1.log" &
  play_track $!
}
start_gateway a gateway-a.json "$gw_a" "$admin_a"
start_gateway b gateway-b.json "$gw_b" "$admin_b"
member_healthy() { # admin_port
  curl -s "http://127.0.0.1:$1/metrics" |
    grep -q '^redge_gateway_pool_members_healthy{pool="api"} 1$'
}
for admin in "$admin_a" "$admin_b"; do
  retry 100 curl -sf "http://127.0.0.1:$admin/readyz" ||
    die "the gateway with admin port $admin was not ready (Redis connected) within 10 s."
  retry 100 member_healthy "$admin" ||
    die "the gateway with admin port $admin did not see the API healthy within 10 s."
done
echo "Redis on :$redis_port, the courses API on :$api_port,"
echo "gateway A on :$gw_a (admin :$admin_a), gateway B on :$gw_b (admin :$admin_b)"

# --- What each step shows, and checks. ----------------------------------------
asked() { curl -s "$api/stats" | grep -o '"asked": [0-9]*' | grep -o '[0-9]*$'; }

# One request through a gateway with `curl -i`; prints the lines that tell
# the story and keeps the status, Cache-Status and body for the checks.
ask() { # method gateway_port path [curl args...]
  local method=$1 port=$2 path=$3
  shift 3
  curl -s -i -X "$method" "$@" "http://127.0.0.1:$port$path" \
    >"$workdir/answer" || die "curl $method :$port$path failed."
  tr -d '\r' <"$workdir/answer" >"$workdir/answer.txt"
  status=$(head -n 1 "$workdir/answer.txt" | cut -d' ' -f2)
  cache_status=$(grep -i '^Cache-Status:' "$workdir/answer.txt" | cut -d' ' -f2- || true)
  body=$(sed '1,/^$/d' "$workdir/answer.txt")
  grep -i -E '^(HTTP/|Cache-Status:|Age:|Location:)' "$workdir/answer.txt" | sed 's/^/   /'
  echo "   (API asked so far: $(asked))"
}

expect() { # what_it_should_be actual description
  [[ $2 =~ $1 ]] || die "step $step: expected $3 to match '$1', got '$2'."
}
expect_asked() { # n
  local now
  now=$(asked)
  [ "$now" = "$1" ] || die "step $step: expected the API to have been asked $1 times, not $now."
}

step=1
echo "== 1. GET /courses through A: a miss; A asks the API and stores the answer (memory + Redis)"
ask GET "$gw_a" /courses
expect '^200$' "$status" "the status"
expect '^redge; fwd=uri-miss; stored$' "$cache_status" "Cache-Status"
expect_asked 1
# A writes the entry to Redis once the answer is complete; step 3 needs it.
stored_in_redis() {
  curl -s "http://127.0.0.1:$admin_a/metrics" |
    grep -q '^redge_gateway_cache_shared_stores_total{route="/courses"} 1$'
}
retry 20 stored_in_redis ||
  die "step 1: gateway A did not store the entry in Redis within 2 s."

step=2
echo "== 2. GET /courses through A again: a hit from A's memory, the API is not asked"
ask GET "$gw_a" /courses
expect '^200$' "$status" "the status"
expect '^redge; hit; ttl=[0-9]+$' "$cache_status" "Cache-Status"
expect_asked 1

step=3
echo "== 3. GET /courses through B: B has never seen it, and finds what A fetched in Redis"
ask GET "$gw_b" /courses
expect '^200$' "$status" "the status"
expect '^redge; hit; ttl=[0-9]+; detail=shared$' "$cache_status" "Cache-Status"
expect_asked 1

step=4
echo "== 4. POST /courses through A: a new course; the write clears /courses on every gateway"
ask POST "$gw_a" /courses -H 'Content-Type: application/json' -d '{"title": "Cache-aside by hand"}'
expect '^201$' "$status" "the status"
expect_asked 2

step=5
echo "== 5. GET /courses through B: a miss (the POST through A cleared it here too), the new course is in"
ask GET "$gw_b" /courses
expect '^200$' "$status" "the status"
expect '^redge; fwd=uri-miss; stored$' "$cache_status" "Cache-Status"
expect 'Cache-aside by hand' "$body" "the list"
echo "   courses: $(grep -o '"title": "[^"]*"' <<<"$body" | cut -d'"' -f4 | paste -sd, - | sed 's/,/, /g')"
expect_asked 3

step=6
echo "== 6. purge every entry tagged \"courses\" (the API's Cache-Tag), on B's admin port"
echo "   curl -X POST -d '{\"tags\": [\"courses\"]}' localhost:$admin_b/cache/purge"
purge=$(curl -s -w ' %{http_code}' -X POST -H 'Content-Type: application/json' \
  -d '{"tags": ["courses"]}' "http://127.0.0.1:$admin_b/cache/purge")
echo "   ${purge##* } ${purge% *}"
expect '^200$' "${purge##* }" "the purge's status"
expect '"shared": *[1-9]' "${purge% *}" "the purge's answer"

step=7
echo "== 7. GET /courses through A: a miss, the purge on B reached Redis and every gateway"
ask GET "$gw_a" /courses
expect '^200$' "$status" "the status"
expect '^redge; fwd=uri-miss; stored$' "$cache_status" "Cache-Status"
expect_asked 4

echo "== what the gateways counted (their /metrics)"
counted() { # name admin_port
  curl -s "http://127.0.0.1:$2/metrics" |
    grep -E '^redge_gateway_cache_(hits|misses|shared_hits|shared_stores|invalidations)_total' |
    grep -v ' 0$' | sed "s/^/   $1: /"
}
counted A "$admin_a"
counted B "$admin_b"
echo "== the API's own log: every request that reached it"
sed 's/^/   /' "$workdir/api.log"
echo "every step showed what it promised: the API was asked 4 times for 6 requests"
