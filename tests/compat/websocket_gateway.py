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
import shutil
import sys
import tempfile

import websockets
from websockets.exceptions import ConnectionClosed

from run_compat import log

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support", "py"))
import redge_harness  # noqa: E402
from redge_harness import free_port  # noqa: E402


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
    """redis-server and redge with the gateway alone, its one pool the member."""
    stack = redge_harness.Stack(tempfile.mkdtemp(prefix="ws-", dir=work))
    try:
        stack.start_redis(redis_bin)
        pools = ('{"ws": {"members": [{"address": "127.0.0.1:%d"}], "health": {"enabled": false}}}'
                 % member_port)
        settings = ["app.enabled=false", "admin.enabled=false", "relay.enabled=false",
                    "cacheproxy.enabled=false", "gateway.enabled=true", "gateway.port=0",
                    'gateway.routes=[{"prefix": "/", "pool": "ws"}]', f"gateway.pools={pools}"]
        argv = redge_harness.redge_argv(redge_bin, stack.redis_port, settings)
        stack.gw_port = stack.start_redge(argv, ("gateway",))["gateway"]
    except BaseException:
        stack.close()
        raise
    return stack


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
        stack = start_stack(args.redge, args.redis_server, args.work, member_port)
        try:
            await check(stack.gw_port)
            code = stack.stop(stack.redge, timeout=10)
            assert code == 0, f"redge exited with {code}"
        except BaseException:
            sys.stderr.write(stack.log_text()[-4000:])
            raise
        finally:
            stack.close()
    shutil.rmtree(stack.dir, ignore_errors=True)


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
