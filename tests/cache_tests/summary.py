#!/usr/bin/python3
"""Summarises a run of the HTTP cache test suite (http-cache-tests) beside the
results the package ships for the same suite version, as Markdown.

Reads, and computes everything from:
  - the run's results JSON (the CLI's output: test id -> true, or
    [kind of failure, message]);
  - the package's shipped results (results/*.json) and their index
    (results/index.mjs: name, version, type of each implementation);
  - the tests' metadata (tests/*.mjs: kind "required", "optimal" or "check",
    dependencies), both read through metadata.mjs with node, since the
    package holds them as JavaScript modules;
  - optionally the run's run.json (run_cache_tests.py): the route, whether
    the cache was on.

Per implementation: tests run, passed (result true, as the package's own
pages count), not passed; per kind, passed and not; and the failures the
package's pages show apart: setup failures (the harness could not set the
test up through the cache), dependency failures (a test this one depends on
did not pass), retries. Then the run's required tests that did not pass,
with their names and messages.

Usage: summary.py --package DIR --results FILE [--label redge] [--run-info
run.json] [--out summary.md] [--strict: exit 1 when a required test of the
run did not pass]
"""

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
KINDS = ("required", "optimal", "check")
TYPE_ORDER = {"rev-proxy": 1, "cdn": 2, "browser": 3}


def load_metadata(package_dir):
    r = subprocess.run(["node", os.path.join(HERE, "metadata.mjs"), package_dir],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        sys.exit(f"summary: cannot read the tests' metadata from {package_dir}:\n{r.stderr}")
    return json.loads(r.stdout)


def outcome(tests_by_id, results, test_id):
    """One test's outcome as the package's pages show it (determineTestResult
    in lib/display.mjs): untested, dependency (a test it depends on does not
    pass, its own dependencies counted), setup, retry, pass, fail. A "check"
    test that passes is the pages' "yes": a pass here too."""
    result = results.get(test_id)
    if result is None:
        return "untested"
    test = tests_by_id.get(test_id)
    if test is not None:
        for dep in test["depends_on"]:
            if outcome(tests_by_id, results, dep) != "pass":
                return "dependency"
    if isinstance(result, list) and result and result[0] == "Setup":
        return "retry" if len(result) > 1 and result[1] == "retry" else "setup"
    return "pass" if result is True else "fail"


def tally(tests_by_id, results):
    row = {"run": 0, "passed": 0, "unknown": 0, "setup": 0, "dependency": 0, "retry": 0}
    for kind in KINDS:
        row[kind] = [0, 0]  # passed, not passed
    for test_id, result in results.items():
        row["run"] += 1
        ok = result is True
        row["passed"] += ok
        test = tests_by_id.get(test_id)
        if test is None:
            row["unknown"] += 1
            continue
        row[test["kind"]][0 if ok else 1] += 1
        o = outcome(tests_by_id, results, test_id)
        if o in ("setup", "dependency", "retry"):
            row[o] += 1
    return row


def message_of(result):
    if isinstance(result, list) and len(result) > 1:
        return str(result[1])
    return str(result)


def md_cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--package", required=True, help="the installed http-cache-tests directory")
    p.add_argument("--results", required=True, help="the run's results JSON")
    p.add_argument("--label", default="redge")
    p.add_argument("--run-info", help="run.json from run_cache_tests.py")
    p.add_argument("--out", help="also write the Markdown here")
    p.add_argument("--strict", action="store_true")
    args = p.parse_args()

    meta = load_metadata(args.package)
    tests_by_id = {t["id"]: t for t in meta["tests"]}
    with open(args.results, encoding="utf-8") as f:
        ours = json.load(f)
    info = {}
    if args.run_info:
        with open(args.run_info, encoding="utf-8") as f:
            info = json.load(f)
    with open(os.path.join(args.package, "package.json"), encoding="utf-8") as f:
        suite_version = json.load(f)["version"]

    rows = []
    our_row = tally(tests_by_id, ours)
    our_row.update(name=f"**{args.label}**", version=info.get("redge_commit") or "this build",
                   type="rev-proxy (gateway)", order=0)
    rows.append(our_row)
    for entry in meta["index"]:
        path = os.path.join(args.package, "results", entry["file"])
        with open(path, encoding="utf-8") as f:
            shipped = json.load(f)
        row = tally(tests_by_id, shipped)
        row.update(name=entry["name"], version=entry.get("version", ""),
                   type=entry.get("type", ""), order=TYPE_ORDER.get(entry.get("type"), 4))
        rows.append(row)
    rows.sort(key=lambda r: (r["order"], -r["passed"]))

    out = []
    out.append(f"### HTTP cache test suite (http-cache-tests {suite_version}) through the gateway")
    out.append("")
    if info:
        route = json.dumps(info.get("route"))
        if info.get("cache_enabled"):
            out.append(f"redge ran with the route `{route}`: the gateway's response cache on.")
        else:
            out.append(f"**The response cache is not enabled in this build**: redge ran with the "
                       f"route `{route}`, so this run measures the plain streaming proxy "
                       f"(a baseline)."
                       + (f" redge refused the cache setting: `{info['cache_refused']}`."
                          if info.get("cache_refused") else ""))
        extra = info.get("extra_settings") or []
        if extra:
            out.append("Extra settings: " + ", ".join(f"`{s}`" for s in extra) + ".")
        out.append(f"Run {info.get('date', '')}, the suite took {info.get('suite_seconds')} s "
                   f"({info.get('total_seconds')} s with start-up and shutdown).")
        out.append("")
    out.append(f"Tests the suite has: {len(tests_by_id)}, of which "
               + ", ".join(f"{sum(1 for t in meta['tests'] if t['kind'] == k)} {k}"
                           for k in KINDS)
               + "; browsers run a different set (some tests are browser-only, others skip "
                 "browsers; a test with no kind is required, as the package's pages count it, "
                 "whatever its name says). Other rows: the results the package ships for "
                 "this version. "
                 "*passed*: result true, as the package's pages count; *required* / *optimal* "
                 "/ *check*: passed / not passed of that kind (a check that does not pass "
                 "answered \"no\": not a fault); *setup*, *deps*, *retry*: tests the pages "
                 "show as a setup failure, a failed dependency, a retried request.")
    out.append("")
    out.append("| implementation | version | type | run | passed | not passed | required | "
               "optimal | check | setup | deps | retry |")
    out.append("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        out.append("| " + " | ".join(md_cell(c) for c in [
            r["name"], r["version"], r["type"], r["run"], r["passed"], r["run"] - r["passed"],
            "%d / %d" % tuple(r["required"]), "%d / %d" % tuple(r["optimal"]),
            "%d / %d" % tuple(r["check"]), r["setup"], r["dependency"], r["retry"]]) + " |")
    if our_row["unknown"]:
        out.append("")
        out.append(f"{our_row['unknown']} of {args.label}'s results name tests the metadata "
                   f"does not have.")

    failing = [(tid, res) for tid, res in ours.items()
               if res is not True and tests_by_id.get(tid, {}).get("kind") == "required"]
    out.append("")
    out.append(f"{args.label}'s required tests that did not pass: {len(failing)} of "
               f"{sum(our_row['required'])}.")
    if failing:
        out.append("")
        out.append("| test | suite | outcome | name | message |")
        out.append("|---|---|---|---|---|")
        for tid, res in sorted(failing, key=lambda x: (tests_by_id[x[0]]["suite"], x[0])):
            t = tests_by_id[tid]
            out.append("| " + " | ".join(md_cell(c) for c in [
                f"`{tid}`", t["suite"], outcome(tests_by_id, ours, tid), t["name"],
                message_of(res)]) + " |")
    text = "\n".join(out) + "\n"
    sys.stdout.write(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
    return 1 if args.strict and failing else 0


if __name__ == "__main__":
    sys.exit(main())
