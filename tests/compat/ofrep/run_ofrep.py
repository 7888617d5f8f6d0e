#!/usr/bin/python3
"""OFREP compatibility: a stock OpenFeature client against redge's flags.

Starts a private redis-server and the real redge (admin listener only) on
ports found free at run time, creates the flags the client evaluates
through the admin API, and runs ofrep_client.js with the npm packages
pinned in package.json (@openfeature/server-sdk and
@openfeature/ofrep-provider), installed into --node-cache the first time.
When npm cannot reach its registry and nothing is cached, the case exits
with 77 (ctest: skipped) and says so; it never passes without running.

Exit codes: 0 every check passed, 1 a check failed, 77 skipped (see above).
"""

import argparse
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "support", "py"))
import redge_harness  # noqa: E402
from redge_harness import http, npm_env, npm_registry_reachable, wait_until  # noqa: E402

SKIP_CODE = 77

FLAGS = {
    "set_enabled": {"enabled": True, "description": "the /set route"},
    "dark": {"enabled": False},
    "half": {"enabled": True, "rollout": 50, "targets": ["vip"]},
    "color": {"enabled": True, "stickiness": "header:X-User",
              "variants": [{"name": "red", "value": "#f00"}, {"name": "blue", "value": "#00f"}],
              "default_variant": "red"},
}


def log(msg):
    print(f"[ofrep] {msg}", flush=True)


def ensure_packages(cache):
    """Installs the pinned packages into `cache` once; None when ready, else
    the reason they cannot be had."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise RuntimeError("node and npm are needed (the nodejs package; on plain Debian also npm)")
    os.makedirs(cache, exist_ok=True)
    with open(os.path.join(HERE, "package.json"), encoding="utf-8") as f:
        wanted = json.load(f)["dependencies"]
    env = npm_env()
    with open(os.path.join(cache, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)

        def have(name):
            try:
                with open(os.path.join(cache, "node_modules", name, "package.json"),
                          encoding="utf-8") as f:
                    return json.load(f)["version"]
            except (OSError, ValueError, KeyError):
                return None

        if all(have(n) == v for n, v in wanted.items()):
            return None
        shutil.copy(os.path.join(HERE, "package.json"), os.path.join(cache, "package.json"))
        log("installing " + ", ".join(f"{n}@{v}" for n, v in wanted.items()) + f" into {cache}")
        r = subprocess.run(["npm", "install", "--no-package-lock", "--no-save", "--loglevel=error"],
                           cwd=cache, env=env, timeout=600)
        if r.returncode == 0:
            return None
        if not npm_registry_reachable(env):
            return "npm cannot reach its registry, and the packages are not cached in " + cache
        raise RuntimeError("npm install failed although the registry answers; see above")


class Stack(redge_harness.Stack):
    """redis-server + redge (admin only), stopped in reverse order."""

    def __init__(self, redge_bin, redis_bin, work):
        super().__init__(tempfile.mkdtemp(prefix="ofrep-", dir=work), log, remove_dir=True)
        try:
            self.start_redis(redis_bin)
            settings = ["app.enabled=false", "admin.port=0", "relay.enabled=false",
                        "cacheproxy.enabled=false"]
            self.port = self.start_redge(
                redge_harness.redge_argv(redge_bin, self.redis_port, settings), ("admin",))["admin"]
            wait_until(lambda: http("GET", self.url("/readyz"))[0] == 200, 10,
                       "redge to reach Redis")
        except BaseException:
            self.close()
            raise

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--redge", required=True)
    p.add_argument("--redis-server", default="/usr/bin/redis-server")
    p.add_argument("--work", default=tempfile.gettempdir())
    p.add_argument("--node-cache", required=True)
    args = p.parse_args()
    os.makedirs(args.work, exist_ok=True)
    reason = ensure_packages(args.node_cache)
    if reason is not None:
        log(f"SKIPPED: {reason}")
        return SKIP_CODE
    stack = Stack(args.redge, args.redis_server, args.work)
    code = 1
    try:
        for name, flag in FLAGS.items():
            status, body = http("PUT", stack.url(f"/flags/{name}"), flag)
            if status != 201:
                raise RuntimeError(f"PUT /flags/{name} answered {status}: {body}")
        env = dict(os.environ, NODE_PATH=os.path.join(args.node_cache, "node_modules"))
        log("running the OpenFeature client against " + stack.url(""))
        code = subprocess.run(["node", os.path.join(HERE, "ofrep_client.js"), stack.url("")],
                              env=env, timeout=120, stdin=subprocess.DEVNULL).returncode
        if stack.redge.poll() is not None:
            log("FAILED: redge exited during the run:\n" + stack.log_text())
            code = 1
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        log(f"FAILED: {e}")
        code = 1
    finally:
        code = stack.finish(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
