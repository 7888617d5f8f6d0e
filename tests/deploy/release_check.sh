#!/usr/bin/env bash
# The release test (ctest "deploy-release", label deploy): run by
# tests/deploy/release_test.sh inside deploy/local-fleet.sh, it releases
# REDGE twice onto the fleet with deploy/release.sh and checks what the
# gateway's API and the users' traffic show:
#   1. a good canary: exit 0, the weight flag off, the canary side empty and
#      the new instance among the stable members (GET /canary);
#   2. a bad canary (--bad-canary): a non-zero exit naming CanaryErrorRatio,
#      the canary instance gone, the weight 0, users on the canary saw
#      errors and users on stable none.
# usage: release_check.sh REDGE
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
redge=$1
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
canary() { # a Python expression over the pool entry `p` of GET /canary
  curl -s "$DEPLOY_ADMIN_URL/canary" |
    python3 -c 'import json, sys; d = json.load(sys.stdin); p = next(p for p in d["pools"] if p["pool"] == "app"); print(eval(sys.argv[1]))' "$1"
}
traffic() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$DEPLOY_TRAFFIC" "$1"; }

echo "== 1. a good canary: ramp 25,100, soak 2 s each"
out=$("$root/deploy/release.sh" --binary "$redge" --steps 25,100 --soak 2 --healthy-timeout 20 2>&1)
status=$?
echo "$out"
[ "$status" = 0 ] || fail "the good release exited $status, not 0."
address=$(sed -n 's/.*advertised \(127\.0\.0\.1:[0-9]*\)$/\1/p' <<<"$out")
[ -n "$address" ] || fail "release.sh did not say where the canary listens."
[ "$(canary 'p["weight"]')" = 0 ] || fail "the weight is not 0 after the promotion."
[ "$(canary 'len(p["canary"]["members"])')" = 0 ] || fail "the canary side is not empty after the promotion."
[ "$(canary "any(m['name'] == '$address' and m['health'] == 'healthy' for m in p['stable']['members'])")" = True ] ||
  fail "$address is not a healthy stable member after the promotion."
[ "$(canary 'len(p["stable"]["members"])')" = 3 ] || fail "the stable side does not have 3 members."
curl -s "$DEPLOY_ADMIN_URL/flags/canary.app" | grep -q '"enabled":false' || fail "flag canary.app is not off."

echo "== 2. a bad canary: ramp 50,100, soak 8 s each; CanaryErrorRatio must fire"
stable_errors_before=$(traffic 'd["stable"]["error"] + d["failed"]')
out=$("$root/deploy/release.sh" --binary "$redge" --steps 50,100 --soak 8 --healthy-timeout 20 --bad-canary 2>&1)
status=$?
echo "$out"
[ "$status" = 5 ] || fail "the bad release exited $status, not 5 (aborted on a rule)."
grep -q 'release aborted at step 50%: alert rule CanaryErrorRatio' <<<"$out" || fail "the abort does not name the rule."
[ "$(canary 'p["weight"]')" = 0 ] || fail "the weight is not 0 after the abort."
gone() { [ "$(canary 'len(p["canary"]["members"])')" = 0 ]; }
for _ in $(seq 50); do gone && break; sleep 0.2; done
gone || fail "the canary instance is still on the canary side 10 s after the abort."
[ "$(traffic 'd["canary"]["error"]')" -gt 0 ] || fail "no user saw the canary's errors: the abort was not what stopped them."
# Counts written after the abort: the generator's total has moved on.
sent=$(traffic 'd["sent"]')
for _ in $(seq 50); do [ "$(traffic 'd["sent"]')" -gt "$sent" ] && break; sleep 0.1; done
[ "$(traffic 'd["stable"]["error"] + d["failed"]')" = "$stable_errors_before" ] ||
  fail "users on the stable side saw errors during the bad release: $(cat "$DEPLOY_TRAFFIC")"
if curl -s "$DEPLOY_ADMIN_URL/metrics" | grep -E '^redge_gateway_side_responses_total\{pool="app",side="stable",status="5'; then
  fail "the gateway counted 5xx answers on the stable side."
fi
echo "traffic: $(cat "$DEPLOY_TRAFFIC")"
echo "PASS"
