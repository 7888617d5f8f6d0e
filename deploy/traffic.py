#!/usr/bin/env python3
"""User traffic for deploy/local-fleet.sh: GET / through the gateway from
200 users (X-User-Id: user-N, so the canary's stickiness applies), about
RATE requests a second from two threads, until killed. Every half second it
writes its counts to OUT as JSON, per side (X-Redge-Canary: 1 or not):
{"sent":N,"stable":{"ok":N,"error":N},"canary":{"ok":N,"error":N},"failed":N}
where error is a 5xx answer and failed a request that got no answer.
Usage: traffic.py GATEWAY_URL OUT [RATE]"""

import http.client
import json
import os
import sys
import threading
import time
import urllib.parse

url = urllib.parse.urlsplit(sys.argv[1])
out = sys.argv[2]
rate = float(sys.argv[3]) if len(sys.argv) > 3 else 40.0
counts = {"sent": 0, "stable": {"ok": 0, "error": 0}, "canary": {"ok": 0, "error": 0}, "failed": 0}
lock = threading.Lock()


def client(first):
    conn = None
    user = first
    while True:
        started = time.monotonic()
        user = (user + 2) % 200
        try:
            if conn is None:
                conn = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
            conn.request("GET", "/", headers={"X-User-Id": "user-%d" % user})
            reply = conn.getresponse()
            reply.read()
            side = "canary" if reply.getheader("X-Redge-Canary") == "1" else "stable"
            with lock:
                counts["sent"] += 1
                counts[side]["error" if reply.status >= 500 else "ok"] += 1
        except (OSError, http.client.HTTPException):
            with lock:
                counts["sent"] += 1
                counts["failed"] += 1
            conn = None
        time.sleep(max(0.0, 2.0 / rate - (time.monotonic() - started)))


for i in range(2):
    threading.Thread(target=client, args=(i,), daemon=True).start()
while True:
    time.sleep(0.5)
    with lock:
        text = json.dumps(counts)
    with open(out + ".tmp", "w") as f:
        f.write(text + "\n")
    os.replace(out + ".tmp", out)
