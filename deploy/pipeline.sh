#!/usr/bin/env bash
# The pipeline a push triggers, as one script any CI server can run from the
# repository's root (`make deploy`):
#
#   1 build    make build-all            the daemon, the tests, the tools compile
#   2 test     make test                 the whole ctest suite but chaos/deploy
#   3 analyze  deploy/analyze.sh         clang-tidy (.clang-tidy) + cppcheck
#   4 package  make deb                  build/redge_<v>_amd64.deb, lintian-clean;
#                                        unpacked into a scratch folder
#   5 release  deploy/local-fleet.sh     the PACKAGED binary released as a canary
#              + deploy/release.sh       onto a fleet on this machine: ramp,
#                                        watch alert rules, promote or abort
#
# Each stage prints `== stage N/5: <name>` and its duration; the first that
# fails stops the pipeline with `pipeline stopped at stage <name>: <why>` and
# the stage's own exit status: 11 build, 12 test, 13 analyze, 14 package,
# 15 release (2: bad usage).
#
# usage: deploy/pipeline.sh [--from STAGE] [--only STAGE] [--skip LIST] [--bad-canary]
#   --from STAGE    start at STAGE (the earlier ones are skipped)
#   --only STAGE    run STAGE alone (the release still needs a build)
#   --skip LIST     skip these stages (comma-separated); also $PIPELINE_SKIP
#   --bad-canary    release a canary that fails its users: the release stage
#                   must abort it, so the pipeline stops there (exit 15)
# Environment: BUILD (build), RELEASE_STEPS (5,25,50,100), RELEASE_SOAK
# (seconds per step, 5), RELEASE_ARGS (more deploy/release.sh options).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2

stages=(build test analyze package release)
skip=",${PIPELINE_SKIP:-},"
from=
only=
bad=()
stage_index() { # name -> its index, or nothing
  local i
  for i in "${!stages[@]}"; do [ "${stages[$i]}" = "$1" ] && echo "$i"; done
}
while [ $# -gt 0 ]; do
  case $1 in
    --from) from=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --skip) skip="$skip$2,"; shift 2 ;;
    --bad-canary) bad=(--bad-canary); shift ;;
    -h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "pipeline: unknown argument '$1' (--help lists them)" >&2; exit 2 ;;
  esac
done
for s in $from $only ${skip//,/ }; do
  [ -n "$(stage_index "$s")" ] || { echo "pipeline: no stage named '$s' (stages: ${stages[*]})" >&2; exit 2; }
done

build=${BUILD:-build}
work=$(mktemp -d "${TMPDIR:-/tmp}/redge-pipeline.XXXXXX")
trap 'rm -rf "$work"' EXIT
summary=()
pipeline_started=$SECONDS

# The reason a stage failed: its command's last line that says something.
why() { # log
  grep -v '^\s*$' "$1" | grep -v '^ts=' | tail -n 1 | cut -c1-300
}
# run_logged LOG CMD...: the command's output both shown and kept.
run_logged() {
  local log=$1
  shift
  "$@" 2>&1 | tee "$log"
  return "${PIPESTATUS[0]}"
}

stage_build() {
  run_logged "$work/build.log" make build-all BUILD="$build" ||
    fail "$(why "$work/build.log")"
}
stage_test() {
  run_logged "$work/test.log" make test BUILD="$build" ||
    fail "$(grep -E 'tests failed|\(Failed\)|\(Timeout\)' "$work/test.log" | head -n 3 | tr '\n' ' ')"
}
stage_analyze() {
  run_logged "$work/analyze.log" deploy/analyze.sh ||
    fail "$(grep -E '^analyze: .*(findings|missing|failed)' "$work/analyze.log" | tr '\n' ' ')"
}
stage_package() {
  run_logged "$work/package.log" make deb BUILD="$build" || fail "$(why "$work/package.log")"
  local deb
  deb=$(ls -t "$build"/redge_*_amd64.deb 2>/dev/null | head -n 1)
  [ -n "$deb" ] || fail "make deb left no $build/redge_*_amd64.deb"
  rm -rf "$build/pipeline-package"
  mkdir -p "$build/pipeline-package"
  dpkg-deb -x "$deb" "$build/pipeline-package" || fail "dpkg-deb -x $deb failed"
  "$build/pipeline-package/usr/bin/redge" --version >/dev/null ||
    fail "the packaged binary does not run: $build/pipeline-package/usr/bin/redge --version"
  echo "pipeline: $deb unpacked into $build/pipeline-package: $("$build/pipeline-package/usr/bin/redge" --version)"
}
stage_release() {
  local binary=$build/pipeline-package/usr/bin/redge
  [ -x "$binary" ] || fail "no packaged binary at $binary: run the package stage first"
  [ -x "$build/redge" ] || fail "no $build/redge to run the fleet's stable side: run the build stage first"
  # shellcheck disable=SC2086 # RELEASE_ARGS is a list of options
  run_logged "$work/release.log" deploy/local-fleet.sh --stable-binary "$build/redge" -- \
    deploy/release.sh --binary "$binary" --steps "${RELEASE_STEPS:-5,25,50,100}" \
    --soak "${RELEASE_SOAK:-5}" "${bad[@]}" ${RELEASE_ARGS:-} ||
    fail "$(grep -E '^release: (release aborted|the |rule |pool |GET )' "$work/release.log" | tail -n 1 | cut -c1-300)"
}

current=
fail() {
  local i=$(($(stage_index "$current") + 11))
  summary+=("$current FAILED $((SECONDS - stage_started))s")
  echo "pipeline stopped at stage $current: ${1:-see the output above}"
  echo "pipeline: ${summary[*]}"
  exit "$i"
}

total=${#stages[@]}
start_at=$(stage_index "${from:-build}")
for i in "${!stages[@]}"; do
  name=${stages[$i]}
  [ "$i" -ge "$start_at" ] || continue
  [ -z "$only" ] || [ "$only" = "$name" ] || continue
  if [[ $skip == *,$name,* ]]; then
    echo "== stage $((i + 1))/$total: $name (skipped)"
    summary+=("$name skipped")
    continue
  fi
  current=$name
  stage_started=$SECONDS
  echo "== stage $((i + 1))/$total: $name"
  "stage_$name"
  took=$((SECONDS - stage_started))
  echo "== stage $((i + 1))/$total: $name passed in ${took}s"
  summary+=("$name ${took}s")
done
echo "pipeline passed in $((SECONDS - pipeline_started))s: ${summary[*]}"
