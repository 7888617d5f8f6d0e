#!/usr/bin/python3
"""The admin dashboard in a real browser: Debian's chromium, headless,
driven over the Chrome DevTools Protocol (python3-websockets, no npm).

Starts a private redis-server and the real redge on ports found free at run
time (the relay pointed at a port nothing listens on, so its breaker can
trip), opens /dashboard, and checks that:
  - every panel fills from the event stream and the page keeps updating;
  - a flag switched off through the admin API shows as off;
  - the relay's breaker shows open once deliveries to the dead target fail;
  - markup in a flag's description shows as text: no element is made of
    it, no script runs (no dialog), and the page logs no exception and no
    Content-Security-Policy violation;
and saves a screenshot under --artifacts (build/artifacts/browser/).

Exit codes: 0 every check passed, 1 a check failed, 77 skipped (no chromium).
"""

import argparse
import asyncio
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import websockets.client

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support", "py"))
import redge_harness  # noqa: E402
from redge_harness import free_port, http, wait_until  # noqa: E402

SKIP_CODE = 77
MARKUP = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def log(msg):
    print(f"[browser] {msg}", flush=True)


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Stack(redge_harness.Stack):
    """redis-server + redge, stopped in reverse order."""

    def __init__(self, redge_bin, redis_bin, work):
        super().__init__(tempfile.mkdtemp(prefix="browser-", dir=work), log, remove_dir=True)
        try:
            self.start_redis(redis_bin)
            settings = [
                "app.port=0", "admin.port=0",
                "cacheproxy.http_port=0", "cacheproxy.resp_port=0",
                "relay.enabled=true",
                "relay.upstream_url=http://127.0.0.1:%d/message" % free_port(),
                "relay.breaker.consecutive_failures=2", "relay.breaker.min_calls=1000",
                "relay.breaker.open_ms=60000", "relay.max_attempts=50",
            ]
            ports = self.start_redge(
                redge_harness.redge_argv(redge_bin, self.redis_port, settings), ("app", "admin"))
            self.app_port, self.admin_port = ports["app"], ports["admin"]
            wait_until(lambda: http("GET", self.admin("/readyz"))[0] == 200, 10,
                       "redge to reach Redis")
        except BaseException:
            self.close()
            raise

    def admin(self, path):
        return f"http://127.0.0.1:{self.admin_port}{path}"

    def app(self, path):
        return f"http://127.0.0.1:{self.app_port}{path}"


class Browser:
    """One headless chromium with one page, spoken to over the DevTools
    protocol. Problems the page reports (exceptions, console errors such as
    CSP violations, dialogs) are collected in `problems`."""

    def __init__(self, chromium, work):
        self.profile = tempfile.mkdtemp(prefix="chromium-", dir=work)
        argv = [chromium, "--headless=new", "--disable-gpu", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions", "--disable-sync",
                "--disable-background-networking", "--disable-dev-shm-usage",
                "--remote-debugging-port=0", "--user-data-dir=" + self.profile,
                "--window-size=1400,1100", "about:blank"]
        if os.geteuid() == 0:
            argv.insert(1, "--no-sandbox")  # chromium refuses to run its sandbox as root
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(self.profile, "chromium.log"), "wb"))
        self.ws = None
        self.next_id = 0
        self.pending = {}
        self.problems = []
        self.reader = None

    async def start(self):
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        wait_until(lambda: os.path.exists(port_file) and open(port_file).read().count("\n") >= 1,
                   30, "chromium's DevTools port")
        port = int(open(port_file).read().split("\n")[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as r:
            targets = json.load(r)
        page = next(t for t in targets if t.get("type") == "page")
        self.ws = await websockets.client.connect(page["webSocketDebuggerUrl"], max_size=None)
        self.reader = asyncio.get_running_loop().create_task(self._read())
        for domain in ("Page", "Runtime", "Log"):
            await self.call(domain + ".enable")

    async def _read(self):
        async for message in self.ws:
            m = json.loads(message)
            if "id" in m:
                fut = self.pending.pop(m["id"], None)
                if fut is not None and not fut.done():
                    fut.set_result(m)
                continue
            method, params = m.get("method"), m.get("params", {})
            if method == "Runtime.exceptionThrown":
                self.problems.append("exception: " + json.dumps(params["exceptionDetails"])[:500])
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                self.problems.append("console error: " + params["entry"].get("text", ""))
            elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
                self.problems.append("console.error: " + json.dumps(params.get("args"))[:300])
            elif method == "Page.javascriptDialogOpening":
                self.problems.append("a dialog opened (script ran): " + params.get("message", ""))
                await self.ws.send(json.dumps({"id": 10**9, "method": "Page.handleJavaScriptDialog",
                                               "params": {"accept": True}}))

    async def call(self, method, **params):
        self.next_id += 1
        fut = asyncio.get_running_loop().create_future()
        self.pending[self.next_id] = fut
        await self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        reply = await asyncio.wait_for(fut, 15)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

    async def eval(self, expression):
        r = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"evaluating {expression!r}: {r['exceptionDetails']}")
        return r["result"].get("value")

    async def wait_for(self, expression, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if await self.eval(expression):
                return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"timed out waiting for {what} ({expression})")

    async def close(self):
        try:
            if self.ws is not None:
                await self.call("Browser.close")
        except Exception:  # the browser may already be gone
            pass
        if self.reader is not None:
            self.reader.cancel()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


def check(ok, what):
    if not ok:
        raise RuntimeError("check failed: " + what)
    log("ok: " + what)


async def run(stack, browser, artifacts):
    status, body = http("PUT", stack.admin("/flags/dash_flag"),
                        {"enabled": True, "rollout": 40, "description": MARKUP})
    check(status == 201, f"flag created ({status} {body})")
    status, _ = http("PUT", stack.admin("/flags/canary.web"), {"enabled": True, "rollout": 10})
    check(status == 201, "canary flag created")
    # A flag name cannot carry markup (names are [A-Za-z0-9._-]): refused.
    status, body = http("PUT", stack.admin("/flags/%3Cscript%3E"), {"enabled": True})
    check(status == 400, f"a flag named <script> is refused ({status})")
    for _ in range(5):
        http("GET", stack.app("/"))

    await browser.start()
    await browser.call("Page.navigate", url=stack.admin("/dashboard"))
    panels = ["process", "services", "cache", "relay", "flags", "canary"]
    await browser.wait_for(
        " && ".join(f"!!document.querySelector('section[data-panel=\"{p}\"][data-filled]')"
                    for p in panels), 10, "every panel to fill")
    check(True, "panels filled: " + ", ".join(panels))
    check(await browser.eval("document.getElementById('status').dataset.state") == "live",
          "the page follows the event stream")
    seq = int(await browser.eval("document.body.dataset.seq"))
    await browser.wait_for(f"Number(document.body.dataset.seq) >= {seq + 2}", 5,
                           "two more snapshots")
    check(True, "the page updates live")

    row = "document.querySelector('tr[data-flag=\"dash_flag\"]')"
    check(await browser.eval(f"{row}.dataset.enabled") == "true", "the flag shows on")
    cells = await browser.eval(f"Array.from({row}.cells).map(c => c.textContent)")
    check(MARKUP in cells, "the markup in the description shows as text")
    check(await browser.eval("document.querySelectorAll('main script, main img').length") == 0,
          "no element was made from the markup")
    check(await browser.eval(
        "document.querySelector('section[data-panel=\"canary\"]').textContent.includes('10.0%')"),
        "canary weights shown")

    status, _ = http("POST", stack.admin("/flags/dash_flag/off"))
    check(status == 200, "flag switched off through the admin API")
    await browser.wait_for(f"{row}.dataset.enabled === 'false'", 5, "the flag to show off")
    check(True, "the flag shows off")

    check(await browser.eval("document.getElementById('relay-breaker').textContent") == "closed",
          "the breaker shows closed")
    for i in range(2):
        status, _ = http("POST", stack.app("/messages"), {"destination": "d", "body": f"m{i}"})
        check(status == 202, f"message {i} accepted")
    await browser.wait_for("document.getElementById('relay-breaker').textContent === 'open'", 10,
                           "the breaker to show open")
    check(True, "the breaker shows open after deliveries to a dead target failed")

    os.makedirs(artifacts, exist_ok=True)
    shot = await browser.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
    path = os.path.join(artifacts, "dashboard.png")
    with open(path, "wb") as f:
        f.write(base64.b64decode(shot["data"]))
    check(os.path.getsize(path) > 10000, f"screenshot saved: {path}")
    check(not browser.problems, "no exception, console error, CSP violation or dialog: "
          + "; ".join(browser.problems))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--redge", required=True)
    p.add_argument("--redis-server", default="/usr/bin/redis-server")
    p.add_argument("--work", default=tempfile.gettempdir())
    p.add_argument("--artifacts", required=True)
    args = p.parse_args()
    chromium = find_chromium()
    if chromium is None:
        log("SKIPPED: no chromium (make deps installs Debian's)")
        return SKIP_CODE
    os.makedirs(args.work, exist_ok=True)
    stack = Stack(args.redge, args.redis_server, args.work)
    browser = Browser(chromium, args.work)
    code = 1
    try:
        asyncio.run(asyncio.wait_for(run(stack, browser, args.artifacts), 90))
        code = 0
    except (RuntimeError, asyncio.TimeoutError, OSError) as e:
        log(f"FAILED: {e!r}")
        if stack.redge.poll() is not None:
            log("redge exited during the run:\n" + stack.log_text())
    finally:
        asyncio.run(browser.close())
        code = stack.finish(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
