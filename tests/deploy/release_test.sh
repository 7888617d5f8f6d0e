#!/usr/bin/env bash
# ctest "deploy-release" (label deploy, about 40 s): deploy/local-fleet.sh
# with BUILD's redge as the stable version, and release_check.sh inside it.
# It runs no build, no test suite and no pipeline: only release.sh.
# usage: release_test.sh BUILD_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "$1" && pwd)
exec "$root/deploy/local-fleet.sh" --stable-binary "$build/redge" -- \
  "$here/release_check.sh" "$build/redge"
