#!/usr/bin/env python3
"""An Alertmanager-style webhook receiver, for examples/fleet/play.sh: prints
one line per notification (status, rule, summary). Usage: receiver.py PORT"""

import http.server
import json
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            p = json.loads(body)
            for a in p.get("alerts", []):
                print("webhook: %s %s: %s" % (p["status"], a["labels"].get("alertname"),
                                              a["annotations"].get("summary", "")), flush=True)
        except (ValueError, KeyError) as e:
            print("webhook: unreadable payload (%s)" % e, flush=True)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
