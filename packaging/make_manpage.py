#!/usr/bin/python3
"""Writes redge(8) in roff from the binary's --help and the README's tables.

    make_manpage.py --redge build/redge --readme README.md --out redge.8

The options and every configuration key come from `redge --help` (the one
table the binary itself prints, so the page cannot drift from the code); the
keys explained and the error codes come from the README's Markdown tables
under "## Configuration" and "## Errors". The page is dated from the newest commit
(SOURCE_DATE_EPOCH when set), so two builds of one tree give the same bytes.
"""

import argparse
import datetime
import os
import re
import subprocess
import sys


def roff_escape(text):
    text = text.replace("\\", "\\e")
    text = text.replace("-", "\\-")
    # groff reads ASCII; anything else by its code point.
    text = "".join(c if ord(c) < 128 else "\\[u%04X]" % ord(c) for c in text)
    # A line may not start with a control character.
    lines = []
    for line in text.split("\n"):
        if line.startswith((".", "'")):
            line = "\\&" + line
        lines.append(line)
    return "\n".join(lines)


def inline(md):
    """Markdown inline code and emphasis to roff fonts."""
    md = roff_escape(md)
    md = re.sub(r"`([^`]*)`", r"\\fB\1\\fR", md)
    md = re.sub(r"\*\*([^*]+)\*\*", r"\\fB\1\\fR", md)
    md = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", md)
    return md


def help_sections(help_text):
    """Splits --help into (options lines, prose, keys lines)."""
    options, prose, keys = [], [], []
    part = None
    for line in help_text.splitlines():
        if line.startswith("usage:"):
            continue
        if line == "options:":
            part = "options"
            continue
        if line == "keys:":
            part = "keys"
            continue
        if part == "options" and line.startswith("  "):
            options.append(line)
        elif part == "keys":
            keys.append(line)
        elif line.strip():
            prose.append(line)
            part = "prose"
    return options, prose, keys


def readme_tables(readme, heading):
    """Each Markdown table under `heading` (up to the next '## '), with the
    ### sub-heading it sits under."""
    tables = []
    lines = readme.splitlines()
    inside = False
    sub = ""
    current = None
    for line in lines:
        if line.startswith("## "):
            inside = line[3:].strip() == heading
            continue
        if not inside:
            continue
        if line.startswith("### "):
            sub = line[4:].strip()
            continue
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if all(re.fullmatch(r":?-+:?", c) for c in cells):
                continue
            if current is None:
                current = {"title": sub, "header": cells, "rows": []}
                tables.append(current)
            else:
                current["rows"].append(cells)
        else:
            current = None
    return tables


def table_roff(table):
    out = []
    if table["title"]:
        out.append(".SS " + inline(table["title"]))
    defaults = len(table["header"]) > 1 and table["header"][1] == "default"
    for row in table["rows"]:
        cells = row + [""] * (len(table["header"]) - len(row))
        out.append(".TP")
        if defaults:  # key | default | meaning
            out.append(inline(cells[0]) + " (default " + inline(cells[1]) + ")")
        else:  # status | code | when
            out.append(inline(cells[0]) + (" " + inline(cells[1]) if len(cells) > 2 else ""))
        out.append(inline(" ".join(cells[2:] if len(cells) > 2 else cells[1:])) or "\\&")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--redge", required=True)
    ap.add_argument("--readme", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    help_text = subprocess.run([args.redge, "--help"], check=True, capture_output=True,
                               text=True).stdout
    version = subprocess.run([args.redge, "--version"], check=True, capture_output=True,
                             text=True).stdout.split()[-1]
    with open(args.readme, encoding="utf-8") as f:
        readme = f.read()
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if not epoch:
        try:
            epoch = subprocess.run(["git", "log", "-1", "--format=%ct"], check=True,
                                   capture_output=True, text=True,
                                   cwd=os.path.dirname(os.path.abspath(args.readme))).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            epoch = "0"
    date = datetime.datetime.fromtimestamp(int(epoch or 0), datetime.timezone.utc)

    options, prose, keys = help_sections(help_text)
    out = [
        '.TH REDGE 8 "%s" "redge %s" "System Administration"' % (date.strftime("%Y-%m-%d"), version),
        ".SH NAME",
        "redge \\- Redis\\-backed cache proxy, gateway and message relay in one daemon",
        ".SH SYNOPSIS",
        ".B redge",
        "[\\fB\\-\\-config\\fR \\fIFILE\\fR] [\\fB\\-\\-set\\fR \\fIPATH\\fR=\\fIVALUE\\fR]... "
        "[\\fB\\-\\-redis\\fR \\fIURL\\fR] [\\fB\\-\\-check\\-config\\fR]",
        ".SH DESCRIPTION",
        "redge is one event\\-loop daemon that puts Redis\\-backed infrastructure in front of a "
        "web stack: an app service, a read\\-through LRU cache proxy (HTTP and RESP), a reverse "
        "proxy with health checks, a message relay behind a circuit breaker, and metrics on an "
        "admin listener. Redis holds the shared state, so many redge processes act as one.",
        ".PP",
        "Under systemd (\\fIredge.service\\fR, Type=notify) it reports READY=1 once every "
        "listener listens and Redis was tried once, keeps a STATUS= line current for "
        "\\fBsystemctl status\\fR, pings the watchdog from its event loop, and says STOPPING=1 "
        "when it drains.",
        ".SH OPTIONS",
    ]
    for line in options:
        m = re.match(r"\s+(\S.*?)\s{2,}(\S.*)", line)
        if not m:
            continue
        out += [".TP", "\\fB" + roff_escape(m.group(1)) + "\\fR", roff_escape(m.group(2))]
    out += [".SH CONFIGURATION", roff_escape(" ".join(p.strip() for p in prose))]
    out += [".SH KEYS", "Every key, its type, default, meaning and environment variable:"]
    i = 0
    while i < len(keys):
        line = keys[i]
        if line.startswith("  ") and not line.startswith("      "):
            out += [".TP", "\\fB" + roff_escape(line.strip()) + "\\fR"]
        elif line.strip():
            out += [roff_escape(line.strip()), ".br"]
        i += 1
    for heading, title in (("Configuration", "SERVICE KEYS"), ("Errors", "ERRORS")):
        tables = readme_tables(readme, heading)
        if not tables:
            sys.exit("make_manpage: README.md has no table under '## %s'" % heading)
        out.append(".SH " + title)
        for t in tables:
            out += table_roff(t)
    out += [
        ".SH SIGNALS",
        ".TP", "\\fBSIGTERM\\fR, \\fBSIGINT\\fR",
        "Drain: stop accepting, let requests in flight finish (up to "
        "\\fBserver.drain_timeout_ms\\fR), close, exit 0. A second signal skips the wait.",
        ".TP", "\\fBSIGHUP\\fR",
        "Read the configuration again from the same file, environment and command line. "
        "log.level, log.access, the cache proxy's capacity, ttl_ms and max_inflight, and the "
        "relay's queue and breaker thresholds change at once; other changed keys (ports, binds) "
        "are named in one \\fBevent=config_reloaded\\fR line and keep their running values "
        "until a restart. A configuration that does not load is refused "
        "(\\fBevent=config_reload_refused\\fR) and the running one stays.",
        ".SH EXIT STATUS",
        "0 after a clean stop; 1 when a listener could not listen or a handle was left open; "
        "2 for a configuration error (\\fB\\-\\-check\\-config\\fR too).",
        ".SH FILES",
        ".TP", "\\fI/etc/redge/redge.json\\fR", "The configuration of redge.service.",
        ".TP", "\\fI/etc/redge/NAME.json\\fR", "The configuration of redge@NAME.service.",
        ".TP", "\\fI/etc/default/redge\\fR",
        "Environment (REDGE_* keys, secrets) read by systemd before redge starts.",
        ".SH SEE ALSO",
        "\\fBsystemctl\\fR(1), \\fBjournalctl\\fR(1), \\fBsystemd.service\\fR(5), "
        "\\fBredis\\-server\\fR(1), \\fI/usr/share/doc/redge/README.md\\fR",
    ]
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
