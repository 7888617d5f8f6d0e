#!/usr/bin/python3
"""WebSocket through redge's gateway, with a client and a server nobody here
wrote: Debian's python3-websockets on both ends.

A private redis-server, a websockets echo server (the member), and the real
redge binary with the gateway on (one route, one pool of that member) start
on ports found free at run time. A websockets client then connects through
the gateway and checks what a browser's page would: the opening handshake
(the library checks Sec-WebSocket-Accept, so the gateway must pass the
member's 101 and its headers on untouched), text and binary messages echoed,
a 4 MiB message each way (backpressure through the tunnel), ping/pong, many
messages in flight at once, a close handshake whose code and reason arrive,
and a second connection on a fresh tunnel; then that a member that closes
first closes the client's side too. Every wait is bounded.

Exit codes: 0 every check passed, 1 a check failed.
"""

import argparse
import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

import websockets
from websockets.exceptions import ConnectionClosed

from run_compat import log

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support", "py"))
from redge_harness import free_port, resp_command, wait_until  # noqa: E402


async def echo(ws):
    """The member: echoes every message; "bye" makes it close first."""
    try:
        async for message in ws:
            if message == "bye":
                await ws.close(code=4001, reason="member leaves")
                return
            await ws.send(message)
    except ConnectionClosed:
        pass  # a close with an application code (4000) ends the loop this way


def start_stack(redge_bin, redis_bin, work, member_port):
    d = tempfile.mkdtemp(prefix="ws-", dir=work)
    redis_port = free_port()
    redis = subprocess.Popen(
        [redis_bin, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", d, "--logfile", os.path.join(d, "redis.log")],
        stdin=subprocess.DEVNULL)
    wait_until(lambda: resp_command(redis_port, "PING") == b"+PONG\r\n", 5, "redis-server")
    gw_port = free_port()
    log_path = os.path.join(d, "redge.log")
    env = {k: v for k, v in os.environ.items() if not k.startswith("REDGE_")}
    pools = ('{"ws": {"members": [{"address": "127.0.0.1:%d"}], "health": {"enabled": false}}}'
             % member_port)
    with open(log_path, "wb") as out:
        redge = subprocess.Popen(
            [redge_bin, "--redis", f"redis://127.0.0.1:{redis_port}/0",
             "--set", "app.enabled=false", "--set", "admin.enabled=false",
             "--set", "relay.enabled=false", "--set", "cacheproxy.enabled=false",
             "--set", "gateway.enabled=true", "--set", f"gateway.port={gw_port}",
             "--set", 'gateway.routes=[{"prefix": "/", "pool": "ws"}]',
             "--set", f"gateway.pools={pools}"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env)

    def listening():
        with open(log_path, encoding="utf-8", errors="replace") as f:
            return re.search(r"event=listening service=gateway .*port=%d" % gw_port, f.read())

    wait_until(listening, 10, "the gateway listening")
    return d, redis, redge, gw_port, log_path


async def check(gw_port):
    url = f"ws://127.0.0.1:{gw_port}/chat?room=1"
    async with websockets.connect(url, max_size=None, open_timeout=5) as ws:
        await ws.send("hello through the gateway")
        assert await asyncio.wait_for(ws.recv(), 5) == "hello through the gateway"
        payload = bytes(range(256)) * 64
        await ws.send(payload)
        assert await asyncio.wait_for(ws.recv(), 5) == payload
        big = os.urandom(4 << 20)
        await ws.send(big)
        assert await asyncio.wait_for(ws.recv(), 20) == big, "4 MiB echo differs"
        pong = await ws.ping(b"are you there")
        await asyncio.wait_for(pong, 5)
        for i in range(200):
            await ws.send(f"message {i}")
        for i in range(200):
            assert await asyncio.wait_for(ws.recv(), 5) == f"message {i}"
        await ws.close(code=4000, reason="client done")
        assert ws.close_code == 4000, ws.close_code
    log("echo, 4 MiB, ping, 200 in flight and the client's close: ok")

    async with websockets.connect(url, open_timeout=5) as ws:
        await ws.send("bye")
        try:
            await asyncio.wait_for(ws.recv(), 5)
            raise AssertionError("the member's close did not arrive")
        except ConnectionClosed as e:
            assert e.rcvd is not None and e.rcvd.code == 4001, e
            assert e.rcvd.reason == "member leaves", e.rcvd.reason
    log("a member that closes first closes the client's side: ok")


async def run(args):
    member_port = free_port()
    async with websockets.serve(echo, "127.0.0.1", member_port, max_size=None):
        d, redis, redge, gw_port, log_path = start_stack(args.redge, args.redis_server,
                                                          args.work, member_port)
        try:
            await check(gw_port)
            redge.send_signal(signal.SIGTERM)
            code = redge.wait(timeout=10)
            assert code == 0, f"redge exited with {code}"
        except BaseException:
            with open(log_path, encoding="utf-8", errors="replace") as f:
                sys.stderr.write(f.read()[-4000:])
            raise
        finally:
            if redge.poll() is None:
                redge.kill()
                redge.wait()
            redis.terminate()
            redis.wait()
    shutil.rmtree(d, ignore_errors=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--redge", required=True)
    p.add_argument("--redis-server", required=True)
    p.add_argument("--work", required=True)
    args = p.parse_args()
    os.makedirs(args.work, exist_ok=True)
    try:
        asyncio.run(asyncio.wait_for(run(args), 90))
    except Exception as e:  # noqa: BLE001 - any failure is the test's failure
        log(f"FAILED: {type(e).__name__}: {e}")
        return 1
    log("websocket through the gateway: every check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
