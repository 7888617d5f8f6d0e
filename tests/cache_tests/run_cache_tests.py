#!/usr/bin/python3
"""`make cache-tests`: the public HTTP cache test suite against the gateway.

The suite is the npm package http-cache-tests (pinned in node/package.json):
an origin server (server/server.mjs) that is told, per test, what to answer,
and a client (cli.mjs) that sends each test's requests to a base URL and
checks what comes back and what the origin saw. Here the base URL is redge's
gateway, with one route "/" to one pool whose one member is that origin, so
every request the client makes, the test configuration PUTs included, goes
through the gateway.

One run:
  1. installs the package with npm into <work>/node the first time (when npm
     cannot reach its registry and nothing is installed: exit 77, skipped);
  2. starts a private redis-server, the origin server (bound to 127.0.0.1 by
     loopback.cjs) and build/redge with only the gateway on, every one on
     127.0.0.1 and a port found free at run time (the origin and the gateway
     on port 0, read back from their logs);
  3. runs the CLI against the gateway, bounded in time, its JSON results
     written to <work>/results/redge.json, with <work>/results/run.json
     saying how it ran (the route, whether the cache was on, the time taken);
  4. stops everything, even on failure, and prints the Markdown summary
     (summary.py) next to the results the package ships, also written to
     <work>/results/summary.md.

The route: CACHE_TESTS_ROUTE_JSON (or --route-json) is the route object; by
default {"prefix": "/", "pool": "origin", "cache": {"enabled": true}}, and
when redge refuses the `cache` key (exit 2, "unknown key": a build without
the response cache) the route runs without it and the summary says the run
measured the plain proxy. A route given explicitly is used as it is.
CACHE_TESTS_SET (or --set) adds redge settings: one `key=value`, or a JSON
array of them. CACHE_TESTS_ID (or --id) runs one test with the suite's
request and response dump instead of the whole suite.

Exit codes: 0 the suite ran (whatever its results: they are a measurement;
with --strict, 1 when a required test failed), 1 the run itself failed
(a process did not start, the client produced no results, redge exited or
did not stop cleanly), 2 a bad setting, 77 skipped (see 1.).
"""

import argparse
import fcntl
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support", "py"))
import redge_harness  # noqa: E402
from redge_harness import npm_env, npm_registry_reachable, read_text, wait_until  # noqa: E402

SKIP_CODE = 77
PACKAGE = "http-cache-tests"
POOL = "origin"
DEFAULT_ROUTE = {"prefix": "/", "pool": POOL, "cache": {"enabled": True}}
# The whole suite takes a minute or two here (tests run 100 at a time; some
# pause 3 s between requests); this bounds a gateway that hangs requests.
CLIENT_TIMEOUT_S = 900


# What stops a run: the harness's own errors (a wait that ran out, a
# process that did not start) are of the same kind.
RunError = redge_harness.HarnessError


def log(msg):
    print(f"[cache-tests] {msg}", file=sys.stderr, flush=True)


def http_get(port, path, timeout=2.0):
    """One HTTP/1.1 GET on a fresh connection; returns (status, body)."""
    request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
               "Connection: close\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(request)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    m = re.match(rb"HTTP/1\.[01] (\d{3})", head)
    if not m:
        raise OSError("not an HTTP answer")
    return int(m.group(1)), body


# --- the npm package ---------------------------------------------------------

def pinned_version():
    with open(os.path.join(HERE, "node", "package.json"), encoding="utf-8") as f:
        return json.load(f)["dependencies"][PACKAGE]


def installed_version(node_dir):
    try:
        with open(os.path.join(node_dir, "node_modules", PACKAGE, "package.json"),
                  encoding="utf-8") as f:
            version = json.load(f)["version"]
    except (OSError, ValueError, KeyError):
        return None
    # The client cannot run without its own dependency.
    if not os.path.isdir(os.path.join(node_dir, "node_modules", "node-fetch")):
        return None
    return version


def ensure_package(node_dir):
    """Installs the pinned package into node_dir once. Returns its directory,
    or None when the registry cannot be reached and nothing is installed."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise RunError(f"{tool} is needed to run the suite (Debian: apt-get install nodejs npm)")
    os.makedirs(node_dir, exist_ok=True)
    version = pinned_version()
    env = npm_env()
    with open(os.path.join(node_dir, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if installed_version(node_dir) != version:
            shutil.copy(os.path.join(HERE, "node", "package.json"),
                        os.path.join(node_dir, "package.json"))
            log(f"installing {PACKAGE}@{version} into {node_dir}")
            try:
                r = subprocess.run(["npm", "install", "--no-package-lock", "--no-save",
                                    "--loglevel=error"], cwd=node_dir, env=env, timeout=600)
                code = r.returncode
            except subprocess.TimeoutExpired:
                code = None
            if code != 0 or installed_version(node_dir) != version:
                if not npm_registry_reachable(env):
                    return None
                raise RunError("npm install failed although the registry answers; see above")
    return os.path.join(node_dir, "node_modules", PACKAGE)


# --- the processes -------------------------------------------------------------

class Stack(redge_harness.Stack):
    """redis-server, the suite's origin server and redge, stopped in reverse;
    each in a session of its own."""

    def __init__(self, args, package_dir, run_dir):
        super().__init__(run_dir, own_sessions=True)
        self.args = args
        self.package_dir = package_dir
        self.origin_log = os.path.join(run_dir, "origin.log")

    def start_origin(self):
        # Its file handler serves the working directory: an empty one.
        root = os.path.join(self.dir, "origin-root")
        os.makedirs(root, exist_ok=True)
        env = dict(os.environ, npm_config_protocol="http", npm_config_port="0",
                   npm_config_pidfile=os.path.join(self.dir, "origin.pid"))
        proc = self.spawn("origin", ["node", "--require", os.path.join(HERE, "loopback.cjs"),
                                     os.path.join(self.package_dir, "server", "server.mjs")],
                          self.origin_log, cwd=root, env=env)
        found = {}

        def listening():
            m = re.search(r"Listening on http://([0-9.]+):(\d+)/", read_text(self.origin_log))
            if m:
                found["host"], found["port"] = m.group(1), int(m.group(2))
            if proc.poll() is not None:
                raise RunError("the origin server exited:\n" + read_text(self.origin_log))
            return bool(found)

        wait_until(listening, 15, "the origin server")
        if found["host"] != "127.0.0.1":
            raise RunError(f"the origin server listens on {found['host']}, not 127.0.0.1")
        self.origin_port = found["port"]

    def redge_argv(self, route, extra_sets):
        pools = {POOL: {"members": [{"address": f"127.0.0.1:{self.origin_port}"}],
                        # The origin has no health endpoint, and some tests
                        # have it drop the connection on purpose: neither may
                        # take the only member out of the pool.
                        "health": {"enabled": False},
                        "passive": {"consecutive_failures": 0}}}
        settings = ["app.enabled=false", "admin.enabled=false", "relay.enabled=false",
                    "cacheproxy.enabled=false", "gateway.enabled=true", "gateway.bind=127.0.0.1",
                    "gateway.port=0", "gateway.routes=" + json.dumps([route]),
                    "gateway.pools=" + json.dumps(pools)]
        return redge_harness.redge_argv(self.args.redge, self.redis_port,
                                        settings + list(extra_sets))

    def check_config(self, route, extra_sets):
        """(exit code, message) of redge --check-config with this route."""
        r = subprocess.run(self.redge_argv(route, extra_sets) + ["--check-config"],
                           env=redge_harness.redge_env(), capture_output=True, text=True,
                           timeout=30)
        return r.returncode, (r.stderr + r.stdout).strip()

    def start_gateway(self, route, extra_sets):
        """redge with the gateway alone, ready once a request goes through."""
        self.gateway_port = self.start_redge(self.redge_argv(route, extra_sets), ("gateway",),
                                             timeout=15)["gateway"]
        # Ready once a request reaches the origin through the gateway: the
        # origin answers an unknown test state with its own 404 (chunked).
        def through():
            status, body = http_get(self.gateway_port, "/state/redge-ready")
            return status == 404 and b"State not found for redge-ready" in body

        wait_until(through, 15, "a request through the gateway to reach the origin")


# --- the run -------------------------------------------------------------------

def parse_sets(text):
    text = (text or "").strip()
    if not text:
        return []
    if text.startswith("["):
        try:
            sets = json.loads(text)
        except ValueError as e:
            raise RunError(f"CACHE_TESTS_SET: not a JSON array of strings ({e})")
        if not all(isinstance(s, str) for s in sets):
            raise RunError("CACHE_TESTS_SET: not a JSON array of strings")
        return sets
    return [text]


def choose_route(stack, args, extra_sets):
    """The route to run, whether the cache is on, and why not."""
    if args.route_json:
        try:
            route = json.loads(args.route_json)
        except ValueError as e:
            raise RunError(f"CACHE_TESTS_ROUTE_JSON is not JSON: {e}")
        if not isinstance(route, dict):
            raise RunError("CACHE_TESTS_ROUTE_JSON must be one route object")
        code, message = stack.check_config(route, extra_sets)
        if code != 0:
            raise RunError(f"redge refuses the configuration (exit {code}): {message}")
        return route, bool((route.get("cache") or {}).get("enabled")), None
    route = dict(DEFAULT_ROUTE)
    code, message = stack.check_config(route, extra_sets)
    if code == 0:
        return route, True, None
    if code == 2 and re.search(r"gateway\.routes\[0\]\.cache\b.*unknown key", message):
        log(f"redge refuses the route's cache ({message}): running the plain proxy")
        route = {k: v for k, v in route.items() if k != "cache"}
        code, message2 = stack.check_config(route, extra_sets)
        if code == 0:
            return route, False, message
        message = message2
    raise RunError(f"redge refuses the configuration (exit {code}): {message}")


def run_client(package_dir, gateway_port, test_id, results_path, client_log):
    # cli.mjs reads npm's variables (`npm run cli --base=...` sets them); an
    # empty npm_config_id falls through to npm_package_config_id, and with
    # neither set the CLI looks for a test named "undefined".
    env = dict(os.environ, npm_config_base=f"http://127.0.0.1:{gateway_port}",
               npm_config_id=test_id or "", npm_package_config_id=test_id or "")
    argv = ["node", "--no-warnings", "cli.mjs"]
    log(f"running the suite's client against http://127.0.0.1:{gateway_port}"
        + (f" (test {test_id})" if test_id else ""))
    with open(results_path, "wb") as out, open(client_log, "wb") as err:
        try:
            r = subprocess.run(argv, cwd=package_dir, env=env, stdin=subprocess.DEVNULL,
                               stdout=out, stderr=err, timeout=CLIENT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise RunError(f"the suite's client did not finish within {CLIENT_TIMEOUT_S} s")
    if r.returncode != 0:
        raise RunError(f"the suite's client exited with {r.returncode}:\n" + read_text(client_log))


def git_describe():
    try:
        r = subprocess.run(["git", "-C", HERE, "describe", "--always", "--dirty"],
                           capture_output=True, text=True, timeout=10)
        return r.stdout.strip() or None
    except (OSError, subprocess.TimeoutExpired):
        return None


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--redge", required=True)
    p.add_argument("--redis-server", default="/usr/bin/redis-server")
    p.add_argument("--work", required=True, help="the package, logs and results go here")
    p.add_argument("--route-json", default=os.environ.get("CACHE_TESTS_ROUTE_JSON", ""))
    p.add_argument("--set", dest="sets", default=os.environ.get("CACHE_TESTS_SET", ""))
    p.add_argument("--id", default=os.environ.get("CACHE_TESTS_ID", ""))
    p.add_argument("--strict", action="store_true",
                   default=os.environ.get("CACHE_TESTS_STRICT", "") not in ("", "0"),
                   help="exit 1 when a required test fails")
    args = p.parse_args()
    # The servers run in sessions of their own (a Ctrl-C reaches them through
    # this script, which stops them in order); a SIGTERM (a timeout of make's
    # caller) must stop them too, through the same `finally`.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    work = os.path.abspath(args.work)
    results_dir = os.path.join(work, "results")
    os.makedirs(results_dir, exist_ok=True)
    try:
        extra_sets = parse_sets(args.sets)
    except RunError as e:
        log(f"FAILED: {e}")
        return 2

    try:
        package_dir = ensure_package(os.path.join(work, "node"))
    except RunError as e:
        log(f"FAILED: {e}")
        return 1
    if package_dir is None:
        log(f"SKIPPED: npm cannot reach its registry, and {PACKAGE} is not installed in "
            f"{os.path.join(work, 'node')}: the suite did not run")
        return SKIP_CODE

    # The logs of the last run are kept, not those of every run before it.
    for name in os.listdir(work):
        if name.startswith("run-"):
            shutil.rmtree(os.path.join(work, name), ignore_errors=True)
    run_dir = tempfile.mkdtemp(prefix="run-", dir=work)
    stack = Stack(args, package_dir, run_dir)
    results_path = os.path.join(results_dir, "redge.json" if not args.id else "one-test.txt")
    started = time.monotonic()
    status = 0
    info = {}
    try:
        stack.start_redis(args.redis_server)
        stack.start_origin()
        route, cache_enabled, refused = choose_route(stack, args, extra_sets)
        stack.start_gateway(route, extra_sets)
        log(f"redis-server on {stack.redis_port}, origin on {stack.origin_port}, "
            f"gateway on {stack.gateway_port}, route {json.dumps(route)}")
        suite_started = time.monotonic()
        run_client(package_dir, stack.gateway_port, args.id, results_path,
                   os.path.join(run_dir, "client.log"))
        suite_seconds = time.monotonic() - suite_started
        if stack.redge.poll() is not None:
            raise RunError(f"redge exited during the run (code {stack.redge.returncode}):\n"
                           + read_text(stack.redge_log)[-20000:])
        with open(os.path.join(package_dir, "package.json"), encoding="utf-8") as f:
            version = json.load(f)["version"]
        info = {"suite": PACKAGE, "suite_version": version, "route": route,
                "extra_settings": extra_sets, "cache_enabled": cache_enabled,
                "cache_refused": refused, "redge_commit": git_describe(),
                "suite_seconds": round(suite_seconds, 1),
                "date": time.strftime("%Y-%m-%d", time.gmtime())}
    except (RunError, OSError, subprocess.SubprocessError) as e:
        log(f"FAILED: {e}")
        status = 1
    finally:
        code = stack.close()
        if code not in (None, 0) and status == 0:
            log(f"FAILED: redge did not stop cleanly (exit {code}):\n"
                + read_text(stack.redge_log)[-20000:])
            status = 1
    log(f"logs: {run_dir}")
    if status != 0:
        return status

    if args.id:
        sys.stdout.write(read_text(results_path))
        return 0
    try:
        with open(results_path, encoding="utf-8") as f:
            results = json.load(f)
    except (OSError, ValueError) as e:
        log(f"FAILED: the client's output is not JSON results ({e}); "
            f"see {results_path} and {os.path.join(run_dir, 'client.log')}")
        return 1
    if not isinstance(results, dict) or not results:
        log(f"FAILED: the client produced no results; see {os.path.join(run_dir, 'client.log')}")
        return 1
    info["total_seconds"] = round(time.monotonic() - started, 1)
    run_info = os.path.join(results_dir, "run.json")
    with open(run_info, "w", encoding="utf-8") as f:
        json.dump(info, f, indent=1)
    log(f"{len(results)} results in {results_path}; the suite took {info['suite_seconds']} s")

    summary_argv = ["/usr/bin/python3", os.path.join(HERE, "summary.py"), "--package", package_dir,
                    "--results", results_path, "--run-info", run_info,
                    "--out", os.path.join(results_dir, "summary.md")]
    if args.strict:
        summary_argv.append("--strict")
    return subprocess.run(summary_argv, timeout=120).returncode


if __name__ == "__main__":
    sys.exit(main())
