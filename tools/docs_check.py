#!/usr/bin/python3
"""docs_check: every command README.md and examples/*/README.md show, run
against a private redis-server and the real redge, and its answer compared
with what the doc says it is.

    make docs-check                      (also a ctest entry: make test runs it)
    tools/docs_check.py --build build [--doc README.md] [--list] [-v]

What a doc shows, and how it is read:

  * Every line of a ```sh block is a command (a trailing backslash joins the
    next line), run with bash in the order the doc gives, one doc after the
    other. Each doc starts as if `make run` were running in another
    terminal: a fresh redis-server and redge with its defaults.
  * `# text` after a command (and indented comment lines under it) is for
    the reader. When the comment holds `→`, what follows it, up to ` — ` or
    the end, is the answer the command shows, and it is checked:
      - claims are separated by `, ` (not inside "…", […] or {…});
      - a claim that starts with a three-digit number is an HTTP status
        (of the last curl in the command); the rest of it is output;
      - `exit N` is the command's exit status (otherwise it must be 0);
      - any other claim is text the output (stdout, then stderr) contains;
        `…` stands for any text, a lone `N` for a number, and a line break
        in the output reads as one space.
    A comment without `→` is not compared, but the command must still
    succeed.
  * A `# comment` on a line of its own, at the start of the line, is a
    heading for the lines below.

The default ports in a command (and in its claims) are rewritten to the ones
the checker's processes listen on: app 3000, admin 9090, cache proxy 8081 and
6380, Redis 6379, the fake upstream 9001 and 9002, 8080 and the example port
3001. `redis-cli` without an address gets the checker's Redis and
`--no-raw` (the output a terminal shows). Commands run in a temporary folder
that holds the fixtures (cat.jpg, dog.png) and links to the repository's
folders, with `build` pointing at --build.

Commands that start something are emulated or skipped, with the reason, by
the tables EMULATED and SKIPPED below (an emulated command's comment is not
compared); `--list` prints how each command of each doc is treated.
"""

import argparse
import os
import random
import re
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zlib

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Commands that cannot run inside a test, and why.
SKIPPED = [
    (r"^make (test|test-asan|docs-check|fuzz|bench)\b",
     "runs a suite or a benchmark; this check itself runs under `make test`"),
    (r"^make (build|build-all|deps|clean|format)\b",
     "builds or installs; the checker uses the build it is given"),
    (r"^(sudo |apt-get |apt )", "installs packages"),
    (r"\b(systemctl|journalctl)\b", "needs systemd"),
    (r"^git (clone|pull|push)\b", "needs the network"),
]

# Commands the checker carries out itself, so they act on its processes.
EMULATED = {
    "make run": "starts build/redge as `make run` does (ARGS included) with the "
                "checker's Redis and ports; tools/run.sh itself is not run",
    "redis-server": "the checker's own redis-server (started again if it was stopped)",
    "redge": "a redge start: run as written, in the background, with the listener "
             "ports and Redis it does not name set to the checker's; ready when "
             "admin /readyz answers",
    "redge flags": "`redge flags …` runs as written and is compared, with the checker's "
                   "Redis unless it names one",
    "background": "a command ending in `&`: started in the background; ready when "
                  "the ports it names accept connections",
}

DEFAULT_PORTS = [3000, 3001, 6379, 6380, 8080, 8081, 9001, 9002, 9090]
COMMAND_TIMEOUT_S = 30
SCRIPT_TIMEOUT_S = 180
READY_TIMEOUT_S = 10
STATUS_MARK = re.compile(r"@@docs-check status=(\d{3})@@\n?")


# ---------------------------------------------------------------- parsing


class Command:
    def __init__(self, doc, line, text, comment):
        self.doc = doc
        self.line = line
        self.text = text  # as the doc shows it, continuations joined
        self.comment = ""
        self.claims = None  # what the doc says the command shows, or None
        self.add_comment(comment)

    def add_comment(self, more):
        self.comment = (self.comment + " " + more).strip()
        arrow = self.comment.find("→")
        if arrow >= 0:
            shown = self.comment[arrow + 1:]
            dash = shown.find(" — ")
            if dash >= 0:
                shown = shown[:dash]
            self.claims = split_claims(shown.strip())

    def where(self):
        return f"{os.path.relpath(self.doc, REPO)}:{self.line}"


def split_comment(line):
    """Code and comment of one shell line: the comment starts at a `#` that
    follows whitespace outside quotes."""
    quote = None
    i = 0
    while i < len(line):
        c = line[i]
        if quote:
            if c == "\\" and quote == '"':
                i += 1
            elif c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c == "\\":
            i += 1
        elif c == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i].rstrip(), line[i + 1:].strip()
        i += 1
    return line.rstrip(), ""


def split_claims(text):
    claims, depth, quoted, start = [], 0, False, 0
    i = 0
    while i < len(text):
        c = text[i]
        if c == '"':
            quoted = not quoted
        elif not quoted and c in "[{":
            depth += 1
        elif not quoted and c in "]}":
            depth = max(0, depth - 1)
        elif not quoted and depth == 0 and text.startswith(", ", i):
            claims.append(text[start:i].strip())
            start = i + 2
            i += 1
        i += 1
    claims.append(text[start:].strip())
    return [c for c in claims if c]


def parse_doc(path):
    commands = []
    in_block = False
    pending = None  # (first line number, code so far, comment so far) of a continued line
    last = None
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    for number, raw in enumerate(lines, 1):
        stripped = raw.strip()
        if stripped.startswith("```"):
            if in_block:
                in_block, last = False, None
            elif stripped in ("```sh", "```bash", "```shell"):
                in_block = True
            continue
        if not in_block:
            continue
        if pending is None and (not stripped or stripped.startswith("#")):
            if stripped and raw[:1] in (" ", "\t") and last is not None:
                last.add_comment(stripped[1:].strip())  # the comment of the line above, continued
            else:
                last = None  # a blank line, or a heading for the lines below
            continue
        code, comment = split_comment(raw)
        if pending is not None:
            first, code_so_far, comment_so_far = pending
            code = code_so_far + " " + code.strip()
            comment = (comment_so_far + " " + comment).strip()
        else:
            first = number
        if code.endswith("\\"):
            pending = (first, code[:-1].rstrip(), comment)
            continue
        pending = None
        last = Command(path, first, code.strip(), comment)
        commands.append(last)
    return commands


# ---------------------------------------------------------------- fixtures


def png_bytes(width=8, height=8, rgb=(224, 128, 48)):
    """A real PNG: one colour, 8x8."""
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))
    row = b"\x00" + bytes(rgb) * width
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(row * height))
            + chunk(b"IEND", b""))


def jpeg_bytes(size=2048):
    """A JPEG signature (SOI + JFIF APP0) and reproducible filler: what redge
    sniffs is the signature; the bytes come back unchanged from /meow."""
    head = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    filler, state = bytearray(), 12345
    while len(head) + len(filler) < size - 2:
        state = (state * 1103515245 + 12345) & 0xFFFFFFFF
        filler.append((state >> 16) & 0xFF)
    return head + bytes(filler) + b"\xff\xd9"


# ---------------------------------------------------------------- processes


def free_port(taken):
    """A free loopback port outside the kernel's ephemeral range, which bind(0)
    and every outgoing connection draw from: there a port can become some
    client's source port before the server binds it, with tests running side
    by side (examples/lib/play.sh chooses the same way)."""
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        lo, hi = map(int, f.read().split())
    outside = [p for p in range(10000, 65536) if p < lo or p > hi]
    while True:
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", random.choice(outside) if outside else 0))
            port = s.getsockname()[1]
        except OSError:
            continue
        finally:
            s.close()
        if port not in taken:
            taken.add(port)
            return port


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def http_status(url):
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return 0


def stop(proc, grace=5.0):
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


class Stage:
    """One doc's world: a temporary folder, a redis-server, a redge, and what
    the doc started in the background."""

    def __init__(self, build):
        self.build = os.path.abspath(build)
        self.dir = tempfile.mkdtemp(prefix="redge-docs-")
        taken = set()
        self.ports = {p: free_port(taken) for p in DEFAULT_PORTS}
        self.redis = None
        self.redge = None
        self.redge_log = os.path.join(self.dir, "redge.log")
        self.background = []
        self.functions = []  # shell functions the doc has defined so far
        bin_dir = os.path.join(self.dir, ".bin")
        os.mkdir(bin_dir)
        os.symlink(os.path.join(self.build, "redge"), os.path.join(bin_dir, "redge"))
        for name in os.listdir(REPO):
            if name.startswith(".") or name == "build":
                continue
            os.symlink(os.path.join(REPO, name), os.path.join(self.dir, name))
        os.symlink(self.build, os.path.join(self.dir, "build"))
        with open(os.path.join(self.dir, "cat.jpg"), "wb") as f:
            f.write(jpeg_bytes())
        with open(os.path.join(self.dir, "dog.png"), "wb") as f:
            f.write(png_bytes())
        with open(os.path.join(self.dir, ".curlrc"), "w") as f:
            # What a terminal shows: no progress meter; the status of each
            # request goes to stderr, marked, for the status claims.
            f.write('no-progress-meter\nwrite-out = "%{stderr}@@docs-check status=%{http_code}@@\\n"\n')
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith("REDGE_") and k not in ("REDIS_URL", "CURL_HOME")}
        self.env.update({
            "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin"),
            "CURL_HOME": self.dir,
            "HOME": self.dir,
        })

    # -- Redis

    def start_redis(self):
        if self.redis is not None and self.redis.poll() is None:
            return
        port = self.ports[6379]
        self.redis = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir, "--logfile", "redis.log"],
            cwd=self.dir, start_new_session=True, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not port_open(port):
            if self.redis.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {port}")
            time.sleep(0.02)

    # -- redge

    def redge_overrides(self, text):
        """Listener ports and Redis for a redge start, except those it names."""
        p = self.ports
        wanted = [("app.port", p[3000]), ("admin.port", p[9090]),
                  ("cacheproxy.http_port", p[8081]), ("cacheproxy.resp_port", p[6380]),
                  ("relay.upstream_url", f"http://127.0.0.1:{p[9001]}/message")]
        out = []
        for key, value in wanted:
            env_name = "REDGE_" + key.upper().replace(".", "_")
            if key + "=" not in text and env_name + "=" not in text:
                out += ["--set", f"{key}={value}"]
        if not re.search(r"--redis\b|redis\.url=|REDIS_URL=", text):
            out += ["--redis", f"redis://127.0.0.1:{p[6379]}/0"]
        return out

    def start_redge(self, shell_text):
        """Runs a command line that starts redge, in the background."""
        self.stop_redge()
        log = open(self.redge_log, "wb")
        self.redge = subprocess.Popen(["bash", "-c", shell_text], cwd=self.dir,
                                      env=self.env, start_new_session=True,
                                      stdout=log, stderr=log)
        log.close()
        admin = self.ports[9090]
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            if self.redge.poll() is not None:
                return f"redge exited with status {self.redge.returncode}:\n{self.redge_tail()}"
            if http_status(f"http://127.0.0.1:{admin}/readyz") == 200:
                return None
            if time.monotonic() > deadline:
                return f"redge was not ready (admin /readyz 200) in {READY_TIMEOUT_S} s:\n" \
                       + self.redge_tail()
            time.sleep(0.02)

    def stop_redge(self):
        stop(self.redge)
        self.redge = None

    def redge_tail(self, lines=8):
        try:
            with open(self.redge_log, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    # -- the rest

    def close(self):
        for proc in self.background:
            stop(proc, 2.0)
        self.stop_redge()
        stop(self.redis, 5.0)
        shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------- rewriting

PORT_CONTEXT = re.compile(
    r"(?:(?<=:)|(?<=-p )|(?<=port )|(?<=port=)|(?<=PORT=)|(?<=_PORT )|(?<=--port ))(\d{4,5})(?!\d)")


def map_ports(text, ports):
    return PORT_CONTEXT.sub(lambda m: str(ports.get(int(m.group(1)), m.group(1))), text)


def address_redis_tools(text, redis_port):
    """`redis-cli` / `redis-benchmark` without an address: the checker's Redis;
    redis-cli also answers as it does on a terminal (--no-raw)."""
    def fix(m):
        tool, rest = m.group(1), m.group(2)
        extra = ""
        if not re.search(r"(^|\s)(-p|-h|-u|-s)\s", rest + " "):
            extra += f" -p {redis_port}"
        if tool == "redis-cli" and "--raw" not in rest and "--no-raw" not in rest:
            extra += " --no-raw"
        return tool + extra + rest
    return re.sub(r"\b(redis-cli|redis-benchmark)\b([^|;&)]*)", fix, text)


# ---------------------------------------------------------------- checking


def claim_regex(claim):
    parts = re.split(r"(…|\.\.\.|(?<![A-Za-z0-9_])N(?![A-Za-z0-9_]))", claim)
    out = []
    for part in parts:
        if part in ("…", "..."):
            out.append(".*?")
        elif part == "N":
            out.append(r"-?\d+(?:\.\d+)?")
        else:
            out.append(re.escape(normalize(part)))
    # A claim that begins or ends with a word matches whole words there:
    # "30" is not found in "300".
    head = r"(?<![A-Za-z0-9_])" if re.match(r"\w", claim) else ""
    tail = r"(?![A-Za-z0-9_])" if re.search(r"\w$", claim) else ""
    return re.compile(head + "".join(out) + tail, re.S)


def normalize(text):
    return re.sub(r"\s+", " ", text)


def compare(claims, exit_code, statuses, output):
    """The claims the run does not bear out, each with what was seen."""
    missing = []
    want_exit = 0
    flat = normalize(output)
    for claim in claims:
        m = re.fullmatch(r"exit (\d+)", claim)
        if m:
            want_exit = int(m.group(1))
            continue
        m = re.match(r"(\d{3})(?:\s+(.*))?$", claim, re.S)
        if m and statuses:
            if statuses[-1] != m.group(1):
                missing.append(f"status {m.group(1)} (got {statuses[-1]})")
            claim = m.group(2) or ""
            if not claim:
                continue
        if not claim_regex(claim).search(flat):
            missing.append(f"output with: {claim}")
    if exit_code != want_exit:
        missing.insert(0, f"exit {want_exit} (got {exit_code})")
    return missing


def classify(cmd):
    text = cmd.text
    for pattern, reason in SKIPPED:
        if re.search(pattern, text):
            return "skip", reason
    if re.match(r"make run\b", text):
        return "make run", EMULATED["make run"]
    if re.match(r"redis-server\b", text):
        return "redis-server", EMULATED["redis-server"]
    try:
        words = shlex.split(text.rstrip("&").strip())
    except ValueError:  # not for shlex (a here-string, say): the plain words will do
        words = text.split()
    program = next((w for w in words if not re.match(r"[A-Za-z_][A-Za-z0-9_]*=", w)), "")
    if os.path.basename(program) == "redge" and "flags" in words:
        return "redge flags", EMULATED["redge flags"]
    if os.path.basename(program) == "redge" and not re.search(
            r"--check-config|--help|(^|\s)-h(\s|$)|--version", text):
        return "redge", EMULATED["redge"]
    if text.endswith("&") and not text.endswith("&&"):
        return "background", EMULATED["background"]
    return "run", ""


def run_command(stage, cmd, verbose):
    """Runs one command; returns a failure text or None."""
    kind, _ = classify(cmd)
    ports = stage.ports
    if kind == "skip":
        return None
    if kind == "redis-server":
        stage.start_redis()
        return None
    if kind == "make run":
        stage.start_redis()  # make run brings a Redis up too
        m = re.match(r'make run(?:\s+ARGS=(.*))?$', cmd.text)
        args = shlex.split(m.group(1))[0] if m and m.group(1) else ""
        args = map_ports(args, ports)
        line = " ".join(["build/redge", args] + [shlex.quote(a) for a in stage.redge_overrides(args)])
        return stage.start_redge(line)
    text = address_redis_tools(map_ports(cmd.text, ports), ports[6379])
    if kind == "redge":
        text = text.rstrip("&").strip()
        words = shlex.split(text)
        i = next(i for i, w in enumerate(words) if os.path.basename(w) == "redge")
        # Insert right after the program, before any redirection of the doc's.
        pattern = re.escape(words[i])
        overrides = " ".join(shlex.quote(a) for a in stage.redge_overrides(text))
        text = re.sub(pattern, lambda m: m.group(0) + " " + overrides, text, count=1)
        return stage.start_redge(text)
    if kind == "redge flags" and not re.search(r"--redis\b|redis\.url=|REDIS_URL=", text):
        program = next(w for w in text.split() if os.path.basename(w) == "redge")
        text = re.sub(re.escape(program),
                      lambda m: m.group(0) + f" --redis redis://127.0.0.1:{ports[6379]}/0", text,
                      count=1)
    if kind == "background":
        proc = subprocess.Popen(["bash", "-c", text.rstrip("&").strip()], cwd=stage.dir,
                                env=stage.env, start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        stage.background.append(proc)
        named = [int(p) for p in re.findall(r"(?<![\d.])(\d{4,5})(?!\d)", text)
                 if int(p) in ports.values()]
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not all(port_open(p) for p in named):
            if proc.poll() is not None:
                return f"the background command exited with status {proc.returncode}"
            if time.monotonic() > deadline:
                return f"ports {named} did not open in {READY_TIMEOUT_S} s"
            time.sleep(0.02)
        return None
    # A shell function a doc defines (`post() { ...; }`) is used by the lines
    # after it, as in the reader's shell: each later command starts with
    # every definition seen so far in that doc.
    if re.match(r"^\s*[A-Za-z_]\w*\s*\(\)\s*\{", text):
        stage.functions.append(text)
    elif stage.functions:
        text = "\n".join(stage.functions + [text])
    # A whole scenario (an example's play.sh) plays many steps; on a busy
    # machine it needs longer than one command.
    timeout = SCRIPT_TIMEOUT_S if "play.sh" in text else COMMAND_TIMEOUT_S
    proc = subprocess.Popen(["bash", "-o", "pipefail", "-c", text], cwd=stage.dir,
                            env=stage.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        # The whole group: what the command started (a redis-server, a
        # redge) must not outlive it.
        stop(proc)
        proc.communicate()
        return f"ran:      {text}\n  no answer in {timeout} s"
    stdout = out.decode("utf-8", "replace")
    stderr = err.decode("utf-8", "replace")
    statuses = STATUS_MARK.findall(stderr)
    stderr = STATUS_MARK.sub("", stderr)
    output = stdout + ("\n" + stderr if stderr else "")
    claims = [map_ports(c, ports) for c in (cmd.claims or [])]
    missing = compare(claims, proc.returncode, statuses, output)
    if verbose:
        print(f"  {cmd.where()}: {text}\n    -> exit {proc.returncode} status {statuses} "
              f"{normalize(output)[:200]!r}")
    if not missing:
        return None
    shown = output if len(output) < 1500 else output[:1500] + "\n[… cut]"
    got = f"exit {proc.returncode}" + (f", HTTP status {statuses[-1]}" if statuses else "")
    return (f"ran:      {text}\n"
            f"  expected: {', '.join(cmd.claims) if cmd.claims else 'exit 0'}\n"
            f"  missing:  " + "\n            ".join(missing) + "\n"
            f"  got:      {got}\n" + "".join(f"            | {l}\n" for l in shown.splitlines()))


# ---------------------------------------------------------------- self-test


def self_test():
    """The reading of docs and the comparison, on known answers: a checker
    that cannot fail would prove nothing."""
    assert split_comment("curl 'a#b' x  # → 200 ok") == ("curl 'a#b' x", "→ 200 ok")
    assert split_comment('echo "#x" y') == ('echo "#x" y', "")
    assert split_claims('404, {"error":"x",…}, Allow: GET, HEAD') == \
        ["404", '{"error":"x",…}', "Allow: GET", "HEAD"]
    assert Command("d", 1, "c", "words → 200 hi, there — more, words").claims == ["200 hi", "there"]
    assert Command("d", 1, "c", "no arrow, here").claims is None
    assert map_ports("curl localhost:3000/ -p 6380 --port 9001 x3000", {3000: 1, 6380: 2, 9001: 3}) \
        == "curl localhost:1/ -p 2 --port 3 x3000"
    assert address_redis_tools("redis-cli get k | redis-cli -p 7 ping", 5) == \
        "redis-cli -p 5 --no-raw get k | redis-cli --no-raw -p 7 ping"
    good = [
        (["200 hello world"], 0, ["200"], "hello world"),
        (["200", "X-Cache: HIT", "Age: N"], 0, ["200"], "HTTP/1.1 200 OK\r\nX-Cache: HIT\r\nAge: 12\r\n"),
        (['1) "a" 2) (nil)'], 0, [], '1) "a"\n2) (nil)\n'),
        (['{"bytes":N,"t":"…"}'], 0, ["201"], '{"bytes":2048,"t":"image/png"}'),
        (["exit 2", "config error: …"], 2, [], "config error: x: unknown key"),
        (["202"], 0, [], "202 202 503"),
    ]
    bad = [
        (["200 hello"], 0, ["404"], "hello"),
        (["hello there"], 0, ["200"], "hello world"),
        (["(integer) 30"], 0, [], "(integer) 300"),
        (["OK"], 1, [], "OK"),
        (["exit 2"], 0, [], ""),
    ]
    for claims, code, statuses, output in good:
        assert not compare(claims, code, statuses, output), (claims, output)
    for claims, code, statuses, output in bad:
        assert compare(claims, code, statuses, output), (claims, output)


# ---------------------------------------------------------------- main


def docs_to_check(only):
    if only:
        return [os.path.abspath(d) for d in only]
    docs = [os.path.join(REPO, "README.md")]
    examples = os.path.join(REPO, "examples")
    for name in sorted(os.listdir(examples)):
        readme = os.path.join(examples, name, "README.md")
        if os.path.isfile(readme):
            docs.append(readme)
    return docs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(REPO, "build"),
                    help="the build folder holding redge (and fake_upstream)")
    ap.add_argument("--doc", action="append", help="check only this doc (repeatable)")
    ap.add_argument("--list", action="store_true", help="print how each command is treated")
    ap.add_argument("-v", "--verbose", action="store_true")
    opts = ap.parse_args()

    self_test()
    docs = docs_to_check(opts.doc)
    if opts.list:
        for doc in docs:
            for cmd in parse_doc(doc):
                kind, reason = classify(cmd)
                label = {"run": "checked" if cmd.claims else "run"}.get(kind, kind)
                if kind not in ("run", "skip"):
                    label = "emulated"
                if kind == "skip":
                    label = "skipped"
                print(f"{cmd.where():28} {label:9} {cmd.text}"
                      + (f"\n{'':38}({reason})" if reason else ""))
        return 0

    if not os.access(os.path.join(opts.build, "redge"), os.X_OK):
        print(f"docs-check: no redge in {opts.build}: run `make build` first", file=sys.stderr)
        return 2

    failures, counts = [], {"checked": 0, "run": 0, "emulated": 0, "skipped": 0}
    skipped = []
    started = time.monotonic()
    for doc in docs:
        commands = parse_doc(doc)
        stage = Stage(opts.build)
        try:
            stage.start_redis()
            error = stage.start_redge(
                "build/redge " + " ".join(shlex.quote(a) for a in stage.redge_overrides("")))
            if error:
                failures.append(f"{os.path.relpath(doc, REPO)}: the default redge: {error}")
                continue
            for cmd in commands:
                kind, reason = classify(cmd)
                if kind == "skip":
                    counts["skipped"] += 1
                    skipped.append(f"{cmd.where()}: {cmd.text}  ({reason})")
                    continue
                counts["emulated" if kind != "run" else
                       "checked" if cmd.claims else "run"] += 1
                error = run_command(stage, cmd, opts.verbose)
                if error:
                    failures.append(f"{cmd.where()}: {cmd.text}\n  {error}")
                    print(f"FAIL {failures[-1]}", flush=True)
        finally:
            stage.close()

    for line in skipped:
        print(f"skipped {line}")
    print(f"docs-check: {len(docs)} docs, {counts['checked']} commands checked against "
          f"their answers, {counts['run']} run, {counts['emulated']} emulated, "
          f"{counts['skipped']} skipped, {len(failures)} failed "
          f"({time.monotonic() - started:.1f} s)")
    if failures:
        print(f"docs-check: FAILED — {len(failures)} command(s) do not do what the docs say "
              f"(details above)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
