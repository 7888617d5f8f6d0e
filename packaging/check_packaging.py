#!/usr/bin/python3
"""check_packaging: what can be checked here of what runs on a real host.

    check_packaging.py units      --build build   systemd-analyze verify on both units
    check_packaging.py cloud-init --build build   the droplet's user data
    check_packaging.py deb        --build build   make's .deb, unpacked and run

units: both unit files, with /usr/bin/redge pointed at the build's binary,
pass `systemd-analyze verify` (redge@.service as an instance, redge@check),
and their ExecStartPre/ExecReload guard accepts the packaged configuration
and refuses a broken one with a non-zero status.

cloud-init: cloud-init.yaml is YAML and a #cloud-config; `cloud-init schema`
accepts it when cloud-init is installed; the install script it writes parses
(`sh -n`); the configuration it writes is one this redge accepts
(--check-config).

deb: packaging/build_deb.sh builds the .deb (lintian included unless
LINTIAN=0); the package holds what a host needs (binary, conffile, units, man
page, copyright, changelog) and Depends on the libraries the binary links;
`dpkg -x` into a scratch root, the unpacked binary runs --check-config
against the unpacked /etc/redge/redge.json and against cloud-init's.

Each exits 0 when every check passed, 1 with the reasons otherwise, and 77
(ctest's "skipped") when a tool it needs is missing.
"""

import argparse
import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SKIP = 77
failures = []


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        failures.append(what)
    return ok


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, **kw)


def cloud_config():
    import yaml  # python3-yaml

    with open(os.path.join(HERE, "cloud-init.yaml"), encoding="utf-8") as f:
        text = f.read()
    return text, yaml.safe_load(text)


def guard_command(unit_text):
    m = re.search(r"^ExecStartPre=/bin/sh -c '(.*)'$", unit_text, re.M)
    return m.group(1) if m else None


def check_units(build):
    if shutil.which("systemd-analyze") is None:
        print("systemd-analyze is not installed: skipped")
        return SKIP
    redge = os.path.join(build, "redge")
    with tempfile.TemporaryDirectory() as tmp:
        config = os.path.join(tmp, "redge.json")
        shutil.copy(os.path.join(HERE, "redge.json"), config)
        shutil.copy(os.path.join(HERE, "redge.json"), os.path.join(tmp, "check.json"))
        for src, name in (("redge.service", "redge.service"), ("redge@.service", "redge@check.service")):
            with open(os.path.join(HERE, "systemd", src), encoding="utf-8") as f:
                text = f.read()
            check("Type=notify" in text and "WatchdogSec=10" in text, src + ": Type=notify, WatchdogSec=10")
            for key in ("DynamicUser=yes", "ProtectSystem=strict", "StateDirectory=redge",
                        "NoNewPrivileges=yes", "PrivateTmp=yes", "MemoryMax=", "LimitNOFILE=65536",
                        "Restart=on-failure", "ExecReload=/bin/kill -HUP $MAINPID"):
                check(key in text, "%s: %s" % (src, key))
            text = text.replace("/usr/bin/redge", redge).replace("/etc/redge/", tmp + "/")
            path = os.path.join(tmp, name)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            # Instances are verified under a name; %i is then "check".
            r = run(["systemd-analyze", "verify", "--man=no", path])
            check(r.returncode == 0 and not r.stderr.strip(),
                  "systemd-analyze verify %s%s" % (name, ("\n" + r.stderr) if r.stderr.strip() else ""))
            guard = guard_command(text).replace("%i", "check")
            r = run(["/bin/sh", "-c", guard])
            check(r.returncode == 0 and r.stdout == "", "%s: the start/reload guard accepts the packaged config" % src)
        with open(config, "w", encoding="utf-8") as f:
            f.write('{"log": {"level": "loud"}}')
        with open(os.path.join(HERE, "systemd", "redge.service"), encoding="utf-8") as f:
            guard = guard_command(f.read()).replace("/usr/bin/redge", redge).replace("/etc/redge/", tmp + "/")
        r = run(["/bin/sh", "-c", guard])
        check(r.returncode == 2 and "log.level" in r.stderr,
              "the guard refuses a bad config with exit 2 and names the key (%d: %s)" % (r.returncode, r.stderr.strip()))
    return 0


def check_cloud_init(build):
    try:
        text, data = cloud_config()
    except ImportError:
        print("python3-yaml is not installed: skipped")
        return SKIP
    check(text.startswith("#cloud-config\n"), "cloud-init.yaml starts with #cloud-config")
    check(isinstance(data, dict), "cloud-init.yaml is a YAML mapping")
    check("redis-server" in data.get("packages", []), "it installs redis-server")
    files = {f["path"]: f for f in data.get("write_files", [])}
    check("/etc/redge/redge.json" in files, "it writes /etc/redge/redge.json")
    check(files.get("/etc/default/redge", {}).get("permissions") == "0600",
          "the environment file with secrets is 0600")
    check(any("redge-install" in str(c) for c in data.get("runcmd", [])), "runcmd runs redge-install")
    script = files.get("/usr/local/sbin/redge-install", {}).get("content", "")
    r = run(["/bin/sh", "-n"], input=script)
    check(r.returncode == 0, "the install script parses (sh -n) " + r.stderr.strip())
    for needed in ("apt-get install", "--force-confold", "--check-config", "systemctl restart redge.service",
                   "systemctl enable --now redis-server.service"):
        check(needed in script, "the install script runs: " + needed)
    with tempfile.TemporaryDirectory() as tmp:
        config = os.path.join(tmp, "redge.json")
        with open(config, "w", encoding="utf-8") as f:
            f.write(files["/etc/redge/redge.json"]["content"])
        r = run([os.path.join(build, "redge"), "--check-config", "--config", config])
        check(r.returncode == 0, "this redge accepts the droplet's config " + r.stderr.strip())
    # The user data spawn-droplet.sh gives each new droplet, rendered with
    # sample arguments (doctl replaced by a stub that prints it).
    import yaml

    with tempfile.TemporaryDirectory() as tmp:
        stub = os.path.join(tmp, "doctl")
        with open(stub, "w", encoding="utf-8") as f:
            f.write('#!/bin/sh\nwhile [ $# -gt 0 ]; do [ "$1" = --user-data ] && printf "%s\\n" "$2"; shift; done\n')
        os.chmod(stub, 0o755)
        env = dict(os.environ, PATH=tmp + ":" + os.environ.get("PATH", ""), DROPLET_IMAGE="1",
                   DROPLET_VPC="vpc")
        r = run(["/bin/sh", os.path.join(HERE, "spawn-droplet.sh"), "web", "web-0123456789ab",
                 "redis://10.0.0.5:6379/0"], env=env)
        spawned = os.path.join(tmp, "spawned.yaml")
        with open(spawned, "w", encoding="utf-8") as f:
            f.write(r.stdout)
        ok = r.returncode == 0 and r.stdout.startswith("#cloud-config\n")
        if check(ok, "spawn-droplet.sh renders user data " + r.stderr.strip()):
            env_file = yaml.safe_load(r.stdout)["write_files"][0]["content"]
            check("REDGE_DISCOVERY_ID=web-0123456789ab" in env_file,
                  "the spawned droplet registers under the id POST /spawn waits for")
            env_lines = [l for l in env_file.splitlines() if l]
            r = run([os.path.join(build, "redge"), "--check-config"],
                    env=dict(l.split("=", 1) for l in env_lines))
            check(r.returncode == 0, "this redge accepts the spawned droplet's environment " + r.stderr.strip())
        if shutil.which("cloud-init"):
            for path in (os.path.join(HERE, "cloud-init.yaml"), spawned):
                r = run(["cloud-init", "schema", "--config-file", path])
                check(r.returncode == 0, "cloud-init schema --config-file %s: %s"
                      % (os.path.basename(path), (r.stdout + r.stderr).strip()))
        else:
            print("skip  cloud-init is not installed: schema not checked")
    return 0


def check_deb(build):
    for tool in ("dpkg-deb", "dpkg-shlibdeps"):
        if shutil.which(tool) is None:
            print(tool + " is not installed (make deb installs it): skipped")
            return SKIP
    env = dict(os.environ)
    if shutil.which("lintian") is None:
        print("skip  lintian is not installed: the package is not linted")
        env["LINTIAN"] = "0"
    r = run(["bash", os.path.join(HERE, "build_deb.sh"), build], env=env)
    print(r.stdout, end="")
    if not check(r.returncode == 0, "build_deb.sh " + r.stderr.strip()[-2000:]):
        return 0
    debs = [f for f in os.listdir(build) if re.fullmatch(r"redge_.*_amd64\.deb", f)]
    if not check(len(debs) == 1, "one build/redge_<version>_amd64.deb: %s" % debs):
        return 0
    deb = os.path.join(build, debs[0])
    listing = run(["dpkg-deb", "-c", deb]).stdout
    for path in ("./usr/bin/redge", "./etc/redge/redge.json", "./lib/systemd/system/redge.service",
                 "./lib/systemd/system/redge@.service", "./usr/share/man/man8/redge.8.gz",
                 "./usr/share/doc/redge/copyright", "./usr/share/doc/redge/changelog.Debian.gz"):
        check(re.search(r" %s$" % re.escape(path), listing, re.M) is not None, "the package holds " + path)
    fields = run(["dpkg-deb", "-f", deb, "Depends", "Version"]).stdout
    for lib in ("libuv1", "libhiredis", "libsystemd0", "libc6", "libstdc++6"):
        check(lib in fields, "Depends names " + lib)
    with tempfile.TemporaryDirectory() as root:
        r = run(["dpkg-deb", "--ctrl-tarfile", deb])
        conffiles = run(["dpkg-deb", "-I", deb, "conffiles"]).stdout
        check(conffiles.strip() == "/etc/redge/redge.json", "/etc/redge/redge.json is a conffile")
        r = run(["dpkg", "-x", deb, root])
        check(r.returncode == 0, "dpkg -x into a scratch root " + r.stderr.strip())
        redge = os.path.join(root, "usr/bin/redge")
        r = run([redge, "--check-config", "--config", os.path.join(root, "etc/redge/redge.json")])
        check(r.returncode == 0 and '"redis"' in r.stdout,
              "the unpacked redge accepts the unpacked /etc/redge/redge.json " + r.stderr.strip())
        r = run([redge, "--version"])
        check(r.returncode == 0 and r.stdout.startswith("redge "), "the unpacked redge runs --version")
        with gzip.open(os.path.join(root, "usr/share/man/man8/redge.8.gz"), "rt") as f:
            page = f.read()
        for section in (".SH OPTIONS", ".SH CONFIGURATION", ".SH KEYS", ".SH SERVICE KEYS", ".SH ERRORS", ".SH SIGNALS"):
            check(section in page, "redge(8) has " + section)
        check("redis.url" in page and "queue_full" in page, "redge(8) lists the keys and the error codes")
        if shutil.which("groff"):
            r = run(["groff", "-man", "-Tutf8", "-ww", "-z"], input=page)
            check(r.returncode == 0 and not r.stderr.strip(), "groff renders redge(8) without warnings " + r.stderr.strip()[:500])
        try:
            _, data = cloud_config()
            files = {f["path"]: f for f in data.get("write_files", [])}
            config = os.path.join(root, "etc/redge/droplet.json")
            with open(config, "w", encoding="utf-8") as f:
                f.write(files["/etc/redge/redge.json"]["content"])
            r = run([redge, "--check-config", "--config", config])
            check(r.returncode == 0, "the unpacked redge accepts cloud-init's config " + r.stderr.strip())
        except ImportError:
            print("skip  python3-yaml is not installed: cloud-init's config not tried")
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["units", "cloud-init", "deb"])
    ap.add_argument("--build", required=True)
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    rc = {"units": check_units, "cloud-init": check_cloud_init, "deb": check_deb}[args.what](build)
    if rc == SKIP:
        return SKIP
    if failures:
        print("\n%d check(s) failed:" % len(failures))
        for f in failures:
            print("  " + f)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
