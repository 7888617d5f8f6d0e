#!/usr/bin/env python3
"""A bad release, for examples/fleet/play.sh: answers like an app instance,
but any request body over 50,000 bytes gets a 500 (it breaks on large
uploads). Usage: canary.py PORT"""

import http.server
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, status, text):
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.answer(200, "hello from the canary\n")

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        if length > 50000:
            self.answer(500, "the canary cannot take large uploads\n")
        else:
            self.answer(200, "stored by the canary\n")

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
