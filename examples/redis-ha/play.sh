#!/usr/bin/env bash
# Redis high availability on one machine: a master, a replica and three
# redis-sentinel, and redge following the master through the sentinels.
# It writes through redge, SIGKILLs the master, and shows the sentinels
# promoting the replica and redge following it: the one failover line in
# redge's log, the metric, and writes landing on the new master. Reads that
# tolerate lag go to the replica (redis.read_from=replica) and the relay
# answers 202 only once the replica has a message
# (relay.durability=replicated). Each step
# is checked; the script exits non-zero at the first that fails.
#
# Needs `make build`, redis-server, redis-sentinel (or redis-server
# --sentinel), redis-cli, curl and python3. Everything runs on free loopback
# ports in a temporary folder, stopped at the end; the logs are kept only
# when something failed.
set -euo pipefail
cd "$(dirname "$0")/../.."

. examples/lib/play.sh
play_init redis-ha
master_pid=""

# --- Preconditions. ---------------------------------------------------------
play_need redis-server redis-cli curl python3
sentinel=(redis-sentinel)
command -v redis-sentinel >/dev/null 2>&1 || sentinel=(redis-server --sentinel)

# Seven ports free now: master, replica, three sentinels, redge's app and admin.
read -r master_port replica_port s1 s2 s3 app_port admin_port < <(free_ports 7)
cli() { redis-cli -p "$1" "${@:2}"; }

# --- Master and replica. ----------------------------------------------------
for role in master replica; do
  port_var=${role}_port
  mkdir -p "$workdir/$role"
  # No 5 s wait for more replicas before the first sync.
  args=(--port "${!port_var}" --bind 127.0.0.1 --save '' --appendonly no --dir "$workdir/$role"
    --repl-diskless-sync-delay 0)
  [ "$role" = replica ] && args+=(--replicaof 127.0.0.1 "$master_port")
  redis-server "${args[@]}" >"$workdir/$role.log" 2>&1 &
  play_track $!
  [ "$role" = master ] && master_pid=$!
  retry 50 cli "${!port_var}" ping || die "the $role did not answer within 5 s."
done
link_up() { cli "$replica_port" info replication | grep -q master_link_status:up; }
retry 50 link_up || die "the replica did not sync with the master within 5 s."

# --- Three sentinels, quorum 2, a master down after 500 ms. ------------------
for port in $s1 $s2 $s3; do
  cat >"$workdir/sentinel-$port.conf" <<CONF
port $port
bind 127.0.0.1
dir $workdir
sentinel monitor mymaster 127.0.0.1 $master_port 2
sentinel down-after-milliseconds mymaster 500
sentinel failover-timeout mymaster 2000
CONF
  "${sentinel[@]}" "$workdir/sentinel-$port.conf" >"$workdir/sentinel-$port.log" 2>&1 &
  play_track $!
done
settled() {
  local port
  for port in $s1 $s2 $s3; do
    cli "$port" sentinel ckquorum mymaster | grep -q '^OK' || return 1
    [ "$(cli "$port" sentinel sentinels mymaster | grep -c '^name$')" = 2 ] || return 1
    [ "$(cli "$port" sentinel replicas mymaster | grep -c '^name$')" = 1 ] || return 1
  done
}
retry 150 settled || die "the sentinels did not find each other and the replica within 15 s."
echo "master :$master_port, replica :$replica_port, sentinels :$s1 :$s2 :$s3"

# --- redge, told only where the sentinels are. -------------------------------
# Reads that tolerate lag (/recent, the relay's listing) go to the replica;
# POST /messages answers 202 only once the replica has the message.
build/redge --set "redis.sentinels=[\"127.0.0.1:$s1\",\"127.0.0.1:$s2\",\"127.0.0.1:$s3\"]" \
  --set redis.master_name=mymaster --set app.port="$app_port" --set admin.port="$admin_port" \
  --set cacheproxy.enabled=false --set redis.read_from=replica \
  --set relay.durability=replicated --set relay.replication_timeout_ms=500 \
  2>"$workdir/redge.log" &
play_track $!
ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' "127.0.0.1:$admin_port/readyz")" = 200 ]; }
retry 50 ready || die "redge did not become ready within 5 s."
echo "== redge asked the sentinels for the master:"
grep -o 'event=sentinel_master.*' "$workdir/redge.log" | sed 's/^/   /'
replica_ready() { grep -q "event=redis_replica_ready target=127.0.0.1:$replica_port" "$workdir/redge.log"; }
retry 50 replica_ready || die "redge did not start reading from the replica within 5 s."
echo "== and SENTINEL replicas for the replica its reads go to:"
grep -o 'event=redis_replica_ready.*' "$workdir/redge.log" | sed 's/^/   /'
posted=$(curl -s -w ' %{http_code}' -H 'Content-Type: application/json' \
  -d '{"destination":"sms:+15550100","body":"kept"}' "127.0.0.1:$app_port/messages")
[ "${posted##* }" = 202 ] || die "POST /messages did not answer 202: $posted"
message_id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1].rsplit(" ",1)[0])["id"])' "$posted")
[ "$(cli "$replica_port" exists "redge:relay:msg:$message_id")" = 1 ] ||
  die "the replica does not have the message that got 202."
echo "== POST /messages → 202 once the replica had it (relay.durability=replicated): $message_id"

write() { curl -s -o /dev/null -w '%{http_code}' "127.0.0.1:$app_port/set"; }
[ "$(write)" = 200 ] || die "GET /set did not answer 200 before the failover."
key=$(cli "$master_port" --scan --pattern 'redge:app:*' | head -n 1)
[ -n "$key" ] || die "GET /set wrote nothing on the master."
echo "== GET /set → 200, written on the master (:$master_port) as $key"

# --- The failover. -----------------------------------------------------------
echo "== SIGKILL the master"
start=$(date +%s%N)
# Out of the shell's job table first, so its death is not reported as a failure.
disown "$master_pid"
kill -KILL "$master_pid"
codes=() first_ok=""
for _ in $(seq 150); do
  code=$(write)
  codes+=("$code")
  if [ "$code" = 200 ]; then
    first_ok=$(date +%s%N)
    break
  fi
  sleep 0.05
done
[ -n "$first_ok" ] || die "redge did not serve writes again within about 10 s."
failed=$(printf '%s\n' "${codes[@]}" | grep -c 503 || true)
echo "   GET /set answered 503 (Redis unavailable, Retry-After) $failed times, then 200" \
  "$(((first_ok - start) / 1000000)) ms after the kill"
# redge follows whichever sentinel announces the switch first; the others
# learn it from that one's hello messages up to a couple of seconds later.
names_replica() { [ "$(cli "$1" sentinel get-master-addr-by-name mymaster | tail -n 1)" = "$replica_port" ]; }
for port in $s1 $s2 $s3; do
  retry 100 names_replica "$port" || die "the sentinel on :$port does not name the replica as the master."
done
# Exactly one event=redis_failover line, naming the replica. A lookup that
# a sentinel answers before it has heard of the switch still names the old
# master: redge logs that as event=sentinel_behind and stays on the replica.
follows_replica() { grep -q "event=redis_failover.* new=127.0.0.1:$replica_port" "$workdir/redge.log"; }
retry 100 follows_replica || die "redge logged no event=redis_failover naming the replica."
echo "== the sentinels promoted the replica (:$replica_port); redge's log:"
grep -oE 'event=(redis_failover|sentinel_behind).*' "$workdir/redge.log" | sed 's/^/   /'
failovers=$(grep -c 'event=redis_failover' "$workdir/redge.log")
[ "$failovers" = 1 ] || die "redge logged $failovers failovers for one."
metric=$(curl -s "127.0.0.1:$admin_port/metrics" | grep '^redge_redis_failovers_total ')
echo "   $metric"
[ "$metric" = "redge_redis_failovers_total 1" ] || die "the failover was not counted once."
[ "$(cli "$replica_port" role | head -n 1)" = master ] || die "the replica is not a master."
[ "$(cli "$replica_port" exists "$key")" = 1 ] || die "the write from before the kill is lost."
[ "$(cli "$replica_port" exists "redge:relay:msg:$message_id")" = 1 ] ||
  die "the message that got 202 is lost."
replica_gone() { grep -q 'event=redis_replica_none' "$workdir/redge.log"; }
retry 50 replica_gone || die "redge did not notice that no replica is left."
echo "== reads: the only replica is now the master, so they go to the master:"
grep -oE 'event=redis_replica_(lost|none).*' "$workdir/redge.log" | sed 's/^/   /'
echo "== the new master holds what was written before the kill, and takes writes: done"
