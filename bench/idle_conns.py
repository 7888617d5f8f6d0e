#!/usr/bin/env python3
"""Holds N idle keep-alive HTTP connections open to one server.

Usage: idle_conns.py PORT COUNT READY_FILE [HOLD_SECONDS]

Opens COUNT connections to 127.0.0.1:PORT one after another; on each it sends
one `GET /` request and reads the whole response, so the server has accepted,
parsed and answered on every connection (its per-connection state is fully
built). Then it writes "<opened> <failed>" to READY_FILE and keeps every
connection open, silent, until killed or HOLD_SECONDS (default 120) pass.
bench/run.sh reads the server's RSS while this holds the connections.
"""

import os
import socket
import sys
import time

REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def read_response(sock):
    """Reads one response with a Content-Length body; returns False on failure."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return False
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(4096)
        if not chunk:
            return False
        body += chunk
    return head.startswith(b"HTTP/1.1 2")


def main():
    if len(sys.argv) < 4:
        sys.stderr.write(__doc__)
        return 2
    port, count, ready_file = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    hold = float(sys.argv[4]) if len(sys.argv) > 4 else 120.0

    conns, failed = [], 0
    for _ in range(count):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(REQUEST)
            if read_response(s):
                conns.append(s)
            else:
                failed += 1
                s.close()
        except OSError:
            failed += 1
        if failed > 100:  # the server is refusing: report what we have
            break

    with open(ready_file + ".tmp", "w") as f:
        f.write("%d %d\n" % (len(conns), failed))
    # Renamed into place so the reader never sees a half-written file.
    os.replace(ready_file + ".tmp", ready_file)

    time.sleep(hold)
    return 0


if __name__ == "__main__":
    sys.exit(main())
