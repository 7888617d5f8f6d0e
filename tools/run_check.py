#!/usr/bin/python3
"""run_check: what `make run` (tools/run.sh) promises, against the real
redge and real redis-servers:

  * a Redis the operator names is used as it is, and the redis-cli line for
    it is printed; a TERM to run.sh stops redge, and run.sh exits 0;
  * a listener port that is taken is named, and run.sh exits with redge's
    non-zero status (so `make run` fails);
  * a bad configuration exits 2 before anything starts;
  * in a network namespace of its own (when `unshare -n` is allowed): with
    nothing on 6379 a private redis-server starts on 6390 and stops with
    redge; with a Redis answering on 6379, that one is used.

    tools/run_check.py --build build          (a ctest entry: make test runs it)
"""

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

from docs_check import free_port, port_open  # tools/ is on sys.path: this script's folder

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN_SH = os.path.join(REPO, "tools", "run.sh")
DEADLINE_S = 10


def wait_for(what, predicate, proc=None):
    deadline = time.monotonic() + DEADLINE_S
    while not predicate():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{what}: the process exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {DEADLINE_S} s")
        time.sleep(0.02)


def start_redis(port, workdir):
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", workdir],
        stdout=subprocess.DEVNULL, start_new_session=True)
    wait_for(f"redis-server on {port}", lambda: port_open(port), proc)
    return proc


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_sh(redge, args, workdir, env=None):
    return subprocess.Popen(["bash", RUN_SH, redge] + args, cwd=workdir,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=env or clean_env(), start_new_session=True)


def clean_env():
    return {k: v for k, v in os.environ.items()
            if not k.startswith("REDGE_") and k != "REDIS_URL"}


def listener_args(taken):
    ports = {key: free_port(taken) for key in
             ("app.port", "admin.port", "cacheproxy.http_port", "cacheproxy.resp_port")}
    args = []
    for key, port in ports.items():
        args += ["--set", f"{key}={port}"]
    return ports, args + ["--set", "relay.enabled=false"]


def output_of(proc, timeout=DEADLINE_S):
    out, _ = proc.communicate(timeout=timeout)
    return out.decode("utf-8", "replace")


def check(condition, what, output):
    if not condition:
        raise AssertionError(f"{what}\n--- run.sh said:\n{output}")


def named_redis(redge, workdir):
    taken = set()
    redis_port = free_port(taken)
    redis = start_redis(redis_port, workdir)
    try:
        ports, args = listener_args(taken)
        proc = run_sh(redge, ["--redis", f"redis://127.0.0.1:{redis_port}/3"] + args, workdir)
        wait_for("redge's app listener", lambda: port_open(ports["app.port"]), proc)
        proc.send_signal(signal.SIGTERM)
        out = output_of(proc)
        check(proc.returncode == 0, f"run.sh exited {proc.returncode} after TERM, not 0", out)
        check(f"redis-cli -p {redis_port} -n 3" in out, "no redis-cli line for the named Redis", out)
        check("private" not in out, "a private Redis was started beside a named one", out)
    finally:
        stop(redis)


def taken_port(redge, workdir):
    taken = set()
    redis_port = free_port(taken)
    redis = start_redis(redis_port, workdir)
    holder = socket.socket()
    try:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        held = holder.getsockname()[1]
        taken.add(held)
        _, args = listener_args(taken)
        args += ["--set", f"cacheproxy.resp_port={held}"]
        proc = run_sh(redge, ["--redis", f"redis://127.0.0.1:{redis_port}/0"] + args, workdir)
        out = output_of(proc)
        check(proc.returncode == 1, f"run.sh exited {proc.returncode} on a taken port, not 1", out)
        check(f"127.0.0.1:{held} (cacheproxy.resp_port) is already in use" in out,
              "the taken port is not named", out)
    finally:
        holder.close()
        stop(redis)


def bad_config(redge, workdir):
    proc = run_sh(redge, ["--set", "app.port=x"], workdir)
    out = output_of(proc)
    check(proc.returncode == 2, f"run.sh exited {proc.returncode} on a bad key, not 2", out)
    check("config error: app.port" in out, "redge's config error is not shown", out)


NETNS_SCRIPT = r"""
set -u
ip link set lo up
redge=$1 run_sh=$2 workdir=$3
cd "$workdir"
fail() { echo "FAIL: $*"; cat out.txt; exit 1; }
wait_port() { for _ in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done; return 1; }

# Nothing on 6379: a private redis-server on 6390, under ./run/, gone with redge.
bash "$run_sh" "$redge" --set relay.enabled=false >out.txt 2>&1 &
pid=$!
wait_port 3000 || fail "redge did not listen on 3000"
grep -q 'private redis-server on 127.0.0.1:6390' out.txt || fail "no private Redis on 6390"
grep -q 'redis-cli -p 6390$' out.txt || fail "no redis-cli line for 6390"
[ "$(redis-cli -p 6390 ping)" = PONG ] || fail "the private Redis does not answer"
kill -TERM $pid; wait $pid; rc=$?
[ $rc = 0 ] || fail "run.sh exited $rc after TERM"
sleep 0.2
(exec 3<>/dev/tcp/127.0.0.1/6390) 2>/dev/null && fail "the private Redis outlived redge"
[ -f run/redis.log ] || fail "no ./run/redis.log"

# A Redis answering on 6379: used, no private one.
redis-server --port 6379 --bind 127.0.0.1 --save '' --dir "$workdir" >/dev/null &
rpid=$!
wait_port 6379 || fail "redis-server on 6379 did not start"
bash "$run_sh" "$redge" --set relay.enabled=false >out.txt 2>&1 &
pid=$!
wait_port 3000 || fail "redge did not listen on 3000"
grep -q 'the one already running on 127.0.0.1:6379' out.txt || fail "the Redis on 6379 was not used"
grep -q 'redis-cli -p 6379$' out.txt || fail "no redis-cli line for 6379"
(exec 3<>/dev/tcp/127.0.0.1/6390) 2>/dev/null && fail "a private Redis started beside 6379"
kill -TERM $pid; wait $pid; rc=$?
kill $rpid; wait $rpid
[ $rc = 0 ] || fail "run.sh exited $rc after TERM"
echo ok
"""


def own_network(redge, workdir):
    """Returns False when this machine does not allow a network namespace."""
    if subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode != 0:
        return False
    proc = subprocess.run(["unshare", "-n", "bash", "-c", NETNS_SCRIPT, "netns", redge,
                           RUN_SH, workdir], capture_output=True, timeout=60, env=clean_env())
    out = proc.stdout.decode("utf-8", "replace") + proc.stderr.decode("utf-8", "replace")
    check(proc.returncode == 0 and out.strip().endswith("ok"), "in a network namespace", out)
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(REPO, "build"))
    opts = ap.parse_args()
    redge = os.path.join(os.path.abspath(opts.build), "redge")
    failures = 0
    for case in (named_redis, taken_port, bad_config, own_network):
        with tempfile.TemporaryDirectory(prefix="redge-run-") as workdir:
            try:
                result = case(redge, workdir)
                print(f"{'skipped (no network namespace here)' if result is False else 'ok'}"
                      f"  {case.__name__}")
            except (AssertionError, subprocess.TimeoutExpired) as e:
                failures += 1
                print(f"FAIL  {case.__name__}: {e}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
