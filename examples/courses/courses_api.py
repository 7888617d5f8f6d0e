#!/usr/bin/env python3
"""A tiny courses API: the origin behind the two gateways of examples/courses.

    python3 examples/courses/courses_api.py PORT      (0: a free port)

It keeps a list of courses in memory and says, on stderr, every time it is
asked, so a demo shows when the gateways' cache answered instead of it:

    GET    /courses         the list: Cache-Control: max-age=300, an ETag,
                            Cache-Tag: courses
    GET    /courses/<id>    one course: Cache-Tag: courses, course-<id>
    POST   /courses         {"title": "..."}: 201, Location: /courses/<id>
    PUT    /courses/<id>    {"title": "..."}: 200, the course as it is now
    DELETE /courses/<id>    204

and, not counted (the demo reads them directly, not through a gateway):

    GET    /stats           {"asked": N, "reads": N, "writes": N}
    GET    /healthz         200, for the gateways' health checks

Python's standard library only. One line on stdout once it listens:
"courses_api: listening on 127.0.0.1:<port>".
"""

import hashlib
import json
import re
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ITEM = re.compile(r"^/courses/([0-9]+)$")


class Courses:
    """The courses and the counters, behind one lock (the server is threaded)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.items = {
            1: {"id": 1, "title": "Redis in practice"},
            2: {"id": 2, "title": "HTTP caching"},
            3: {"id": 3, "title": "Event loops"},
        }
        self.next_id = 4
        self.reads = 0
        self.writes = 0


COURSES = Courses()


class Handler(BaseHTTPRequestHandler):
    # Keep-alive, as the gateways' connection pools expect: every answer
    # below has a Content-Length.
    protocol_version = "HTTP/1.1"
    server_version = "courses_api"

    # -- answers --------------------------------------------------------------

    def answer(self, status, body=None, headers=()):
        data = b"" if body is None else (json.dumps(body) + "\n").encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        return status

    def error(self, status, code, message):
        return self.answer(status, {"error": code, "message": message})

    def cacheable(self, body, tags):
        """A read: cacheable for 5 minutes, with a validator and its tags."""
        etag = '"' + hashlib.sha1(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16] + '"'
        headers = [("Cache-Control", "max-age=300"), ("ETag", etag), ("Cache-Tag", tags)]
        if etag in self.headers.get("If-None-Match", ""):
            self.send_response(304)
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            return 304
        return self.answer(200, body, headers)

    def json_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            return None
        if not isinstance(body, dict) or not isinstance(body.get("title"), str) \
                or not body["title"].strip():
            return None
        return body

    # -- routes ---------------------------------------------------------------

    def do_GET(self):
        if self.path == "/stats":
            with COURSES.lock:
                stats = {"asked": COURSES.reads + COURSES.writes,
                         "reads": COURSES.reads, "writes": COURSES.writes}
            self.answer(200, stats, [("Cache-Control", "no-store")])
            return
        if self.path == "/healthz":
            self.answer(200, {"ok": True}, [("Cache-Control", "no-store")])
            return
        with COURSES.lock:
            COURSES.reads += 1
            asked = COURSES.reads + COURSES.writes
            path = self.path.split("?", 1)[0]
            if path == "/courses":
                body = sorted(COURSES.items.values(), key=lambda c: c["id"])
                status = self.cacheable(body, "courses")
            elif (m := ITEM.match(path)) and int(m.group(1)) in COURSES.items:
                cid = int(m.group(1))
                status = self.cacheable(COURSES.items[cid], f"courses, course-{cid}")
            else:
                status = self.error(404, "not_found", f"No course at {path}: GET /courses lists them.")
        self.told(asked, status)

    do_HEAD = do_GET

    def do_POST(self):
        if self.path.split("?", 1)[0] != "/courses":
            self.error(405, "method_not_allowed", "POST /courses creates a course.")
            return
        body = self.json_body()
        with COURSES.lock:
            COURSES.writes += 1
            asked = COURSES.reads + COURSES.writes
            if body is None:
                status = self.error(400, "invalid_course",
                                    'Send a JSON object with a "title", e.g. {"title": "SQL"}.')
            else:
                cid = COURSES.next_id
                COURSES.next_id += 1
                COURSES.items[cid] = {"id": cid, "title": body["title"].strip()}
                status = self.answer(201, COURSES.items[cid], [("Location", f"/courses/{cid}")])
        self.told(asked, status)

    def do_PUT(self):
        m = ITEM.match(self.path.split("?", 1)[0])
        body = self.json_body()
        with COURSES.lock:
            COURSES.writes += 1
            asked = COURSES.reads + COURSES.writes
            if not m or int(m.group(1)) not in COURSES.items:
                status = self.error(404, "not_found", f"No course at {self.path}.")
            elif body is None:
                status = self.error(400, "invalid_course",
                                    'Send a JSON object with a "title", e.g. {"title": "SQL"}.')
            else:
                cid = int(m.group(1))
                COURSES.items[cid]["title"] = body["title"].strip()
                status = self.answer(200, COURSES.items[cid])
        self.told(asked, status)

    def do_DELETE(self):
        m = ITEM.match(self.path.split("?", 1)[0])
        with COURSES.lock:
            COURSES.writes += 1
            asked = COURSES.reads + COURSES.writes
            if not m or int(m.group(1)) not in COURSES.items:
                status = self.error(404, "not_found", f"No course at {self.path}.")
            else:
                del COURSES.items[int(m.group(1))]
                status = self.answer(204)
        self.told(asked, status)

    # -- logging --------------------------------------------------------------

    def told(self, asked, status):
        sys.stderr.write(f"courses_api: asked #{asked}: {self.command} {self.path} -> {status}\n")
        sys.stderr.flush()

    def log_message(self, format, *args):  # the line above says it once
        pass


def main():
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        sys.stderr.write("usage: courses_api.py PORT   (0: a free port)\n")
        return 2
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    server.daemon_threads = True
    # SIGTERM (a script's cleanup) stops it as Ctrl-C does: exit status 0.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"courses_api: listening on 127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
