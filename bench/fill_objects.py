#!/usr/bin/env python3
"""Asks a caching proxy for COUNT distinct URLs once each, so it stores them.

Usage: fill_objects.py PORT COUNT [CONNECTIONS] [DEADLINE_SECONDS]

Sends GET /fill/0 .. /fill/<COUNT-1> to 127.0.0.1:PORT over CONNECTIONS
(default 4) keep-alive connections, DEPTH (32) requests per write on each
(pipelined), and reads every response through its Content-Length body. Prints
"<ok> <failed> <seconds>" (responses with status 200, other responses or
requests never answered, wall time) and exits 0 if every request got a 200
before DEADLINE_SECONDS (default 60) passed, 1 otherwise. The gateway-cache-rss
case of bench/run.sh reads the proxy's RSS once this has returned.
"""

import socket
import sys
import threading
import time

DEPTH = 32


class Reader:
    """Buffered response reader for one connection."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed by the server")
        self.buf += chunk

    def response_status(self):
        """Reads one whole response; returns its status code."""
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end >= 0:
                break
            self._fill()
        head = bytes(self.buf[:end]).split(b"\r\n")
        status = int(head[0].split(b" ", 2)[1])
        length = 0
        for line in head[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        total = end + 4 + length
        while len(self.buf) < total:
            self._fill()
        del self.buf[:total]
        return status


def worker(port, indices, deadline, result):
    ok = 0
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        reader = Reader(sock)
        for start in range(0, len(indices), DEPTH):
            if time.monotonic() > deadline:
                break
            batch = indices[start:start + DEPTH]
            sock.sendall(b"".join(
                b"GET /fill/%d HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % i for i in batch))
            for _ in batch:
                if reader.response_status() == 200:
                    ok += 1
        sock.close()
    except (OSError, ValueError, IndexError) as e:
        print(f"fill_objects: {e}", file=sys.stderr)
    result.append(ok)


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    port, count = int(sys.argv[1]), int(sys.argv[2])
    conns = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    limit = float(sys.argv[4]) if len(sys.argv) > 4 else 60.0
    began = time.monotonic()
    deadline = began + limit
    results = []
    threads = [
        threading.Thread(target=worker,
                         args=(port, list(range(c, count, conns)), deadline, results))
        for c in range(conns)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok = sum(results)
    print(f"{ok} {count - ok} {time.monotonic() - began:.2f}")
    return 0 if ok == count else 1


if __name__ == "__main__":
    sys.exit(main())
