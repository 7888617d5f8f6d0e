#!/usr/bin/env bash
# Static analysis of src/: clang-tidy with the repository's .clang-tidy, then
# cppcheck (warning, performance, portability) with the suppressions in
# deploy/cppcheck.suppress. Any finding fails it. `make analyze` runs it; the
# pipeline's analyze stage too.
#
# clang-tidy reads the unity build's compilation database (one translation
# unit per folder of src/, as the daemon is built: its headers parsed once
# per folder, about a fifth of the time file by file) from a folder
# configured for it only and never built, ANALYZE_BUILD/tidy (build-analyze);
# cppcheck, which is fast, reads the file-by-file one (ANALYZE_BUILD/files),
# restricted to src/. Both in Debug: assertions stay visible to the checks.
#
# usage: deploy/analyze.sh [--tidy-only | --cppcheck-only] [-j N]
# Exit status: 0 clean; 1 findings; 2 a tool is missing or the configure failed.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
build=${ANALYZE_BUILD:-build-analyze}
jobs=${JOBS:-2}
run_tidy=true
run_cppcheck=true
while [ $# -gt 0 ]; do
  case $1 in
    --tidy-only) run_cppcheck=false; shift ;;
    --cppcheck-only) run_tidy=false; shift ;;
    -j) jobs=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "analyze: unknown argument '$1' (--help)" >&2; exit 2 ;;
  esac
done
tidy=$(command -v run-clang-tidy || command -v run-clang-tidy-14 || true)
for tool in clang-tidy cppcheck cmake python3; do
  command -v "$tool" >/dev/null 2>&1 || { echo "analyze: $tool is missing (make analyze-deps installs it)" >&2; exit 2; }
done
[ -n "$tidy" ] || { echo "analyze: run-clang-tidy is missing (package clang-tidy)" >&2; exit 2; }

configure() { # folder unity(ON|OFF)
  if [ ! -f "$1/compile_commands.json" ] || [ CMakeLists.txt -nt "$1/compile_commands.json" ] ||
    [ -n "$(find src -newer "$1/compile_commands.json" \( -name '*.cpp' -o -name 'CMakeLists.txt' \) -newer "$1/compile_commands.json" -print -quit)" ]; then
    mkdir -p "$1"
    cmake -S . -B "$1" -DCMAKE_BUILD_TYPE=Debug -DREDGE_UNITY="$2" -DREDGE_TESTS=OFF >"$1/configure.log" 2>&1 ||
      { cat "$1/configure.log" >&2; echo "analyze: configuring $1 failed" >&2; exit 2; }
  fi
}
mkdir -p "$build"

status=0
if $run_tidy; then
  started=$SECONDS
  configure "$build/tidy" ON
  # The translation units of src/: the unity ones, and the files kept out of
  # them (the generated dashboard assets are not ours).
  mapfile -t units < <(python3 -c '
import json, sys
for e in json.load(open(sys.argv[1])):
    f = e["file"]
    if "/redge_lib.dir/Unity/" in f or f.startswith(sys.argv[2] + "/src/"):
        print(f)' "$build/tidy/compile_commands.json" "$root")
  echo "analyze: clang-tidy $(clang-tidy --version | sed -n 's/.*LLVM version \([0-9.]*\).*/\1/p') over src/ (${#units[@]} translation units), -j $jobs"
  # run-clang-tidy takes regular expressions: each unit's path, anchored.
  patterns=()
  for f in "${units[@]}"; do patterns+=("^$(sed 's/[].[^$*+?(){}|\\]/\\&/g' <<<"$f")\$"); done
  "$tidy" -p "$build/tidy" -j "$jobs" -quiet "${patterns[@]}" >"$build/clang-tidy.log" 2>&1
  tidy_status=$?
  # Findings only, without colours or the tools' progress lines.
  sed 's/\x1b\[[0-9;]*m//g' "$build/clang-tidy.log" |
    grep -E '^[^ ]+:[0-9]+:[0-9]+: (error|warning):' | sort -u >"$build/clang-tidy.findings"
  count=$(wc -l <"$build/clang-tidy.findings")
  if [ "$tidy_status" -ne 0 ] || [ "$count" -gt 0 ]; then
    sed "s|^$root/||" "$build/clang-tidy.findings"
    [ "$count" -gt 0 ] || sed 's/\x1b\[[0-9;]*m//g' "$build/clang-tidy.log" | tail -n 20
    echo "analyze: clang-tidy: $count findings ($((SECONDS - started)) s; the whole output is in $build/clang-tidy.log)"
    status=1
  else
    echo "analyze: clang-tidy: clean ($((SECONDS - started)) s)"
  fi
fi

if $run_cppcheck; then
  started=$SECONDS
  configure "$build/files" OFF
  mkdir -p "$build/files/src-only"
  python3 -c '
import json, sys
entries = [e for e in json.load(open(sys.argv[1])) if e["file"].startswith(sys.argv[2] + "/src/")]
json.dump(entries, open(sys.argv[3], "w"), indent=1)' \
    "$build/files/compile_commands.json" "$root" "$build/files/src-only/compile_commands.json"
  echo "analyze: $(cppcheck --version) over src/ (warning, performance, portability), -j $jobs"
  # System headers (libuv, hiredis, RapidJSON, the standard library) are not
  # read: cppcheck checks our code without them, and they would be its
  # slowest and noisiest part.
  cppcheck --project="$build/files/src-only/compile_commands.json" -i "$root/third_party" \
    --enable=warning,performance,portability --std=c++20 --inline-suppr \
    --suppressions-list="$root/deploy/cppcheck.suppress" --error-exitcode=1 -j "$jobs" --quiet \
    --template='{file}:{line}:{column}: {severity}: {message} [{id}]' >"$build/cppcheck.log" 2>&1
  cppcheck_status=$?
  if [ "$cppcheck_status" -ne 0 ]; then
    sed "s|^$root/||" "$build/cppcheck.log" | grep -E '^[^ ]+:[0-9]+:' || tail -n 20 "$build/cppcheck.log"
    echo "analyze: cppcheck: findings ($((SECONDS - started)) s; the whole output is in $build/cppcheck.log)"
    status=1
  else
    echo "analyze: cppcheck: clean ($((SECONDS - started)) s)"
  fi
fi
exit "$status"
