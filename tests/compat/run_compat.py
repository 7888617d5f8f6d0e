#!/usr/bin/python3
"""Compatibility suite driver: real Redis clients against the cache proxy's
RESP port.

One run starts a private redis-server and the real redge binary (cache proxy
only) on ports found free at run time, fills a few keys, runs one client's
checks against the proxy, and stops both. The clients:

  redis-py         Debian's python3-redis, with /usr/bin/python3
  node-redis       node-redis 6 (npm `redis`, today's default) and 5
  ioredis          ioredis 6 and 5
  redis-benchmark  its default tests that read strings, and MGET

The Node packages are installed with npm into a cache directory (pinned in
node/package.json) the first time they are needed. When npm cannot reach its
registry and nothing is cached, the Node cases exit with SKIP_CODE and say
so; any other failure fails.

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
sys.path.insert(0, os.path.join(HERE, "..", "support", "py"))
import redge_harness  # noqa: E402
from redge_harness import npm_env, npm_registry_reachable, resp_command, wait_until  # noqa: E402

SKIP_CODE = 77

# The keys every client reads; written straight to Redis, read through the proxy.
KEYS = {
    "compat:a": "alpha",
    "compat:b": "beta",
    "compat:c": "gamma",
    "compat:bin": "bytes \r\n and \u00e9",
}


def log(msg):
    print(f"[compat] {msg}", flush=True)


class Stack(redge_harness.Stack):
    """redis-server + redge (cache proxy only), stopped in reverse order."""

    def __init__(self, redge_bin, redis_bin, work):
        super().__init__(tempfile.mkdtemp(prefix="compat-", dir=work), log, remove_dir=True)
        try:
            self._start(redge_bin, redis_bin)
        except BaseException:
            self.close()
            raise

    def _start(self, redge_bin, redis_bin):
        self.start_redis(redis_bin)
        settings = ["app.enabled=false", "admin.enabled=false", "relay.enabled=false",
                    "cacheproxy.enabled=true", "cacheproxy.http_port=0", "cacheproxy.resp_port=0"]
        self.port = self.start_redge(
            redge_harness.redge_argv(redge_bin, self.redis_port, settings),
            ("cacheproxy resp",))["cacheproxy resp"]
        for key, value in KEYS.items():
            resp_command(self.redis_port, "SET", key, value)
        resp_command(self.redis_port, "RPUSH", "compat:list", "x", "y")
        # Ready once a read goes through to Redis.
        wait_until(lambda: resp_command(self.port, "GET", "compat:a") == b"$5\r\nalpha\r\n", 10,
                   "redge to reach Redis")
        log(f"redis-server on {self.redis_port}, redge RESP on {self.port}")


def run_child(argv, env=None, timeout=120):
    log("running: " + " ".join(argv))
    try:
        result = subprocess.run(argv, env=env, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        log(f"FAILED: {argv[0]} did not finish within {timeout} s")
        return 1
    return result.returncode


# --- Node packages ---------------------------------------------------------

def installed_versions(cache):
    """name -> version of what node_modules holds, for the pinned aliases."""
    out = {}
    with open(os.path.join(HERE, "node", "package.json"), encoding="utf-8") as f:
        wanted = json.load(f)["dependencies"]
    for name in wanted:
        try:
            with open(os.path.join(cache, "node_modules", name, "package.json"),
                      encoding="utf-8") as f:
                out[name] = json.load(f)["version"]
        except (OSError, ValueError, KeyError):
            out[name] = None
    return wanted, out


def ensure_node_packages(cache):
    """Installs the pinned clients into `cache` once. Returns None when ready,
    or the reason they cannot be had (npm missing, registry unreachable)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise RuntimeError("node and npm are needed for the Node.js clients "
                           "(the nodejs package; on plain Debian also npm)")
    node_major = subprocess.run(["node", "-p", "process.versions.node.split('.')[0]"],
                                capture_output=True, text=True).stdout.strip()
    if not node_major.isdigit() or int(node_major) < 20:
        raise RuntimeError(f"node {node_major} is too old: node-redis 6 and ioredis 6 need 20")
    os.makedirs(cache, exist_ok=True)
    env = npm_env()
    # Two Node cases may run at once (ctest -j): one installs, the other waits.
    with open(os.path.join(cache, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        wanted, have = installed_versions(cache)

        def pinned(spec):
            return spec.split("@")[-1]

        if all(have[n] == pinned(v) for n, v in wanted.items()):
            return None
        shutil.copy(os.path.join(HERE, "node", "package.json"),
                    os.path.join(cache, "package.json"))
        log(f"installing {', '.join(f'{n}@{pinned(v)}' for n, v in wanted.items())} into {cache}")
        r = subprocess.run(["npm", "install", "--no-package-lock", "--no-save", "--loglevel=error"],
                           cwd=cache, env=env, timeout=600)
        if r.returncode == 0:
            return None
        if not npm_registry_reachable(env):
            return "npm cannot reach its registry, and the clients are not cached in " + cache
        raise RuntimeError("npm install failed although the registry answers; see above")


# --- the clients -------------------------------------------------------------

def run_redis_py(stack, args):
    return run_child(["/usr/bin/python3", os.path.join(HERE, "redis_py_client.py"),
                      str(stack.port), str(stack.redis_port)])


def run_node(stack, args, script, packages):
    reason = ensure_node_packages(args.node_cache)
    if reason is not None:
        log(f"SKIPPED: {reason}")
        return SKIP_CODE
    env = dict(os.environ, NODE_PATH=os.path.join(args.node_cache, "node_modules"))
    status = 0
    for package in packages:
        code = run_child(["node", os.path.join(HERE, "node", script), package, str(stack.port),
                          str(stack.redis_port)], env=env)
        status = status or code
    return status


# redis-benchmark's default tests that read: PING_INLINE, PING_MBULK and GET.
# LRANGE_* read lists, which the cache proxy does not serve (it caches
# strings), and each begins with LPUSH, a write. MGET has no test of its own
# in the default set; it runs as a custom command.
BENCHMARK_RUNS = [
    (["-t", "ping_inline,ping_mbulk,get"], ["PING_INLINE", "PING_MBULK", "GET"]),
    (["-P", "16", "-t", "get"], ["GET"]),
    (["MGET", "compat:a", "compat:b", "missing", "compat:c"], ["MGET"]),
    (["-r", "1000", "GET", "compat:__rand_int__"], ["GET"]),
]


def run_benchmark(stack, args):
    binary = shutil.which("redis-benchmark") or "/usr/bin/redis-benchmark"
    for extra, tests in BENCHMARK_RUNS:
        argv = [binary, "-h", "127.0.0.1", "-p", str(stack.port), "-n", "20000", "-c", "20",
                "-q"] + extra
        log("running: " + " ".join(argv))
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        except subprocess.TimeoutExpired:
            log("FAILED: redis-benchmark did not finish within 120 s")
            return 1
        out = (r.stdout + r.stderr).replace("\r", "\n")
        lines = [ln.strip() for ln in out.split("\n") if "requests per second" in ln]
        for ln in lines:
            log(ln)
        errors = [ln for ln in out.split("\n") if "Error from server" in ln]
        missing = [t for t in tests if not any(ln.startswith(t) for ln in lines)]
        if r.returncode != 0 or errors or missing:
            log(f"FAILED: redis-benchmark exit {r.returncode}, errors {errors}, "
                f"tests without a result {missing}")
            return 1
    log("redis-benchmark: every read test ran with no error")
    return 0


CLIENTS = {
    "redis-py": run_redis_py,
    "node-redis": lambda st, a: run_node(st, a, "node_redis_client.js", ["redis", "redis5"]),
    "ioredis": lambda st, a: run_node(st, a, "ioredis_client.js", ["ioredis", "ioredis5"]),
    "redis-benchmark": run_benchmark,
}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--client", required=True, choices=sorted(CLIENTS))
    p.add_argument("--redge", required=True)
    p.add_argument("--redis-server", default="/usr/bin/redis-server")
    p.add_argument("--work", default=tempfile.gettempdir())
    p.add_argument("--node-cache",
                   default=os.environ.get("COMPAT_NODE_DIR",
                                          os.path.expanduser("~/.cache/redge-compat")))
    args = p.parse_args()
    os.makedirs(args.work, exist_ok=True)
    stack = Stack(args.redge, args.redis_server, args.work)
    code = 1
    try:
        code = CLIENTS[args.client](stack, args)
        if stack.redge.poll() is not None:
            log("FAILED: redge exited during the run:\n" + stack.log_text())
            code = 1
    except RuntimeError as e:
        log(f"FAILED: {e}")
        code = 1
    finally:
        code = stack.finish(code)
    if code == 0:
        log(f"{args.client}: passed")
    elif code != SKIP_CODE:
        log(f"{args.client}: FAILED")
    return code


if __name__ == "__main__":
    sys.exit(main())
