#!/usr/bin/env python3
"""A bad release on purpose, for deploy/release.sh --bad-canary: a proxy in
front of a real redge instance that passes the gateway's health probes to it
but answers 500 to user traffic (any request carrying X-User-Id). It stands
for a release whose health check passes while its users see errors, the case
a canary with an alert rule exists to catch.
Usage: faulty_proxy.py LISTEN_PORT TARGET_PORT"""

import http.client
import http.server
import sys

TARGET_PORT = int(sys.argv[2])


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, status, body, content_type="text/plain"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.headers.get("X-User-Id"):
            self.answer(500, b"this release fails its users\n")
            return
        try:
            upstream = http.client.HTTPConnection("127.0.0.1", TARGET_PORT, timeout=5)
            upstream.request(self.command, self.path, body, dict(self.headers))
            reply = upstream.getresponse()
            data = reply.read()
            upstream.close()
            self.answer(reply.status, data, reply.getheader("Content-Type", "text/plain"))
        except OSError as e:
            self.answer(502, ("upstream: %s\n" % e).encode())

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_any

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
