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
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from run_compat import free_port, resp_command, wait_until, npm_registry_reachable  # noqa: E402

SKIP_CODE = 77
HERE = os.path.dirname(os.path.abspath(__file__))

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
    env = dict(os.environ, npm_config_update_notifier="false", npm_config_fund="false",
               npm_config_audit="false", npm_config_fetch_retries="1",
               npm_config_fetch_retry_maxtimeout="10000")
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


def http(method, url, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class Stack:
    """redis-server + redge (admin only), stopped in reverse order."""

    def __init__(self, redge_bin, redis_bin, work):
        self.dir = tempfile.mkdtemp(prefix="ofrep-", dir=work)
        self.redis = self.redge = None
        self.redis_port = free_port()
        self.redis = subprocess.Popen(
            [redis_bin, "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir,
             "--logfile", os.path.join(self.dir, "redis.log")], stdin=subprocess.DEVNULL)
        wait_until(lambda: resp_command(self.redis_port, "PING") == b"+PONG\r\n", 5,
                   "redis-server")
        self.log_path = os.path.join(self.dir, "redge.log")
        env = {k: v for k, v in os.environ.items() if not k.startswith("REDGE_")}
        with open(self.log_path, "wb") as err:
            self.redge = subprocess.Popen(
                [redge_bin, "--redis", f"redis://127.0.0.1:{self.redis_port}/0",
                 "--set", "app.enabled=false", "--set", "admin.port=0",
                 "--set", "relay.enabled=false", "--set", "cacheproxy.enabled=false"],
                stdin=subprocess.DEVNULL, stdout=err, stderr=err, env=env)
        self.port = 0

        def listening():
            m = re.search(r"event=listening service=admin .*?port=(\d+)", self.log_text())
            if m:
                self.port = int(m.group(1))
            if self.redge.poll() is not None:
                raise RuntimeError("redge exited:\n" + self.log_text())
            return self.port != 0

        wait_until(listening, 10, "redge's admin listener")
        wait_until(lambda: http("GET", self.url("/readyz"))[0] == 200, 10, "redge to reach Redis")

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def log_text(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def close(self):
        for proc in (self.redge, self.redis):
            if proc is None or proc.poll() is not None:
                continue
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        code = None if self.redge is None else self.redge.returncode
        if code not in (None, 0):
            log(f"redge exited with code {code}; its log:\n" + self.log_text()[-20000:])
        shutil.rmtree(self.dir, ignore_errors=True)
        return code


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
        if stack.close() != 0:
            log("FAILED: redge did not stop cleanly")
            code = 1
    return code


if __name__ == "__main__":
    sys.exit(main())
