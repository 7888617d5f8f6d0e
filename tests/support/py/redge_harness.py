"""What the Python test runners share (tests/browser, tests/compat,
tests/cache_tests): ports found free at run time, bounded waits, a private
redis-server, the real redge binary started with --set settings and its
ports read back from its `event=listening` log lines, a small HTTP helper
and a teardown that stops everything in reverse order.

A runner imports it with its folder on sys.path, found from the runner's
own path (no install step), e.g. from tests/compat/:

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                    "..", "support", "py"))
    import redge_harness

Standard library only; /usr/bin/python3 runs it.
"""

import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request


class HarnessError(RuntimeError):
    """A process did not start, or a wait ran out of time."""


def free_port():
    """A free loopback port outside the kernel's ephemeral range, which bind(0)
    and every outgoing connection draw from: there a port can become some
    client's source port before the server binds it, with tests running side
    by side."""
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        lo, hi = map(int, f.read().split())
    outside = [p for p in range(10000, 65536) if p < lo or p > hi]
    while True:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", random.choice(outside) if outside else 0))
            except OSError:
                continue
            return s.getsockname()[1]


def wait_until(condition, timeout, what):
    """Polls `condition` every 50 ms for `timeout` seconds; an OSError from it
    counts as not yet (the server is not listening)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise HarnessError(f"timed out after {timeout} s waiting for {what}")


def read_text(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def resp_command(port, *args, timeout=2.0):
    """One command on a fresh connection; returns the raw reply bytes."""
    payload = f"*{len(args)}\r\n".encode()
    for a in args:
        b = a.encode() if isinstance(a, str) else a
        payload += b"$%d\r\n%s\r\n" % (len(b), b)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(payload)
        data = b""
        while b"\r\n" not in data or (data.startswith(b"$") and not _bulk_complete(data)):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        return data


def _bulk_complete(data):
    head, _, rest = data.partition(b"\r\n")
    n = int(head[1:])
    return n < 0 or len(rest) >= n + 2


def http(method, url, body=None, timeout=5):
    """One request with an optional JSON body; (status, text), an error
    status included."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def redge_argv(redge_bin, redis_port, settings):
    argv = [redge_bin, "--redis", f"redis://127.0.0.1:{redis_port}/0"]
    for s in settings:
        argv += ["--set", s]
    return argv


def redge_env():
    # redge reads REDGE_* variables as configuration: none of the caller's.
    return {k: v for k, v in os.environ.items() if not k.startswith("REDGE_")}


def listening_ports(log_text):
    """{"admin": 8081, "cacheproxy resp": 6380, ...} from redge's
    `event=listening` lines (HTTP listeners log no protocol)."""
    ports = {}
    for line in log_text.splitlines():
        if "event=listening " not in line:
            continue
        fields = dict(re.findall(r'(\w+)=("[^"]*"|\S+)', line))
        if "service" in fields and fields.get("port", "").isdigit():
            name = fields["service"]
            if "protocol" in fields:
                name += " " + fields["protocol"]
            ports[name] = int(fields["port"])
    return ports


class Stack:
    """The processes of one run in `run_dir`, stopped in reverse order.

    own_sessions: each process runs in a session of its own and is stopped
    by process group (a Ctrl-C then reaches them only through the runner).
    log: where close() reports a redge that did not stop cleanly (with the
    end of its log), or None to leave that to the caller.
    remove_dir: close() removes run_dir (its logs) too."""

    def __init__(self, run_dir, log=None, own_sessions=False, remove_dir=False):
        self.dir = run_dir
        self.log = log
        self.own_sessions = own_sessions
        self.remove_dir = remove_dir
        self.procs = []  # (name, Popen), in start order
        self.redis = self.redge = None
        self.redis_port = None
        self.redge_log = os.path.join(run_dir, "redge.log")

    def spawn(self, name, argv, log_path, **kw):
        with open(log_path, "ab") as out:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                    start_new_session=self.own_sessions, **kw)
        self.procs.append((name, proc))
        return proc

    def start_redis(self, redis_bin, tries=5):
        """A redis-server without persistence on a free port, answering PING;
        another port when the one found free was taken meanwhile."""
        log_path = os.path.join(self.dir, "redis.log")
        for _ in range(tries):
            port = free_port()
            proc = self.spawn("redis-server",
                              [redis_bin, "--port", str(port), "--bind", "127.0.0.1",
                               "--save", "", "--appendonly", "no", "--dir", self.dir],
                              log_path)
            try:
                wait_until(lambda: resp_command(port, "PING") == b"+PONG\r\n", 5, "redis-server")
            except HarnessError:
                self.stop(proc)
                self.procs.remove(("redis-server", proc))
                continue
            self.redis, self.redis_port = proc, port
            return port
        raise HarnessError("redis-server did not start; see " + log_path)

    def start_redge(self, argv, listeners=(), timeout=10):
        """redge from `argv` (see redge_argv), logging to redge_log; waits for
        the named listeners (keys of listening_ports) and returns their ports."""
        self.redge = self.spawn("redge", argv, self.redge_log, env=redge_env())
        found = {}

        def listening():
            found.update(listening_ports(self.log_text()))
            if self.redge.poll() is not None:
                raise HarnessError(f"redge exited with code {self.redge.returncode}:\n"
                                   + self.log_text())
            return all(name in found for name in listeners)

        wait_until(listening, timeout, "redge listening" +
                   (" (" + ", ".join(listeners) + ")" if listeners else ""))
        return {name: found[name] for name in listeners}

    def log_text(self):
        return read_text(self.redge_log)

    def stop(self, proc, timeout=30):
        if proc.poll() is None:
            self._signal(proc, signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._signal(proc, signal.SIGKILL)
                proc.wait()
        return proc.returncode

    def _signal(self, proc, signum):
        try:
            if self.own_sessions:
                os.killpg(proc.pid, signum)
            else:
                proc.send_signal(signum)
        except ProcessLookupError:
            pass

    def close(self):
        """Stops everything; returns redge's exit code (0 after a clean
        SIGTERM stop; under AddressSanitizer a leak or a memory error makes
        it non-zero), or None if it was not started."""
        for _, proc in reversed(self.procs):
            self.stop(proc)
        code = None if self.redge is None else self.redge.returncode
        if code not in (None, 0) and self.log is not None:
            self.log(f"redge exited with code {code}; its log:\n" + self.log_text()[-20000:])
        if self.remove_dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        return code

    def finish(self, code):
        """close(), then the run's exit code: `code`, or 1 (said through
        `log`) when redge did not stop cleanly."""
        if self.close() != 0:
            if self.log is not None:
                self.log("FAILED: redge did not stop cleanly")
            return 1
        return code


def npm_env():
    """npm's environment for an install that fails fast when the registry
    cannot be reached, and says nothing else."""
    return dict(os.environ, npm_config_update_notifier="false", npm_config_fund="false",
                npm_config_audit="false", npm_config_fetch_retries="1",
                npm_config_fetch_retry_maxtimeout="10000")


def npm_registry_reachable(env):
    try:
        r = subprocess.run(["npm", "ping"], env=env, timeout=30, capture_output=True, text=True)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0
