#!/usr/bin/python3
"""redis-py (Debian's python3-redis) against the cache proxy's RESP port.

Usage: redis_py_client.py PROXY_PORT REDIS_PORT

Each profile connects the way an application would (defaults; a connection
name; decoded responses) and reads through the proxy: GET, MGET, a
pipeline, a transaction (redis-py's default pipeline), the reads answered
from the cached value, INFO, and a write that must fail while the
connection stays (same CLIENT ID before and after). Exits 1 at the first
failed check, printing what was expected and what came back.
"""

import sys

try:
    import redis
except ImportError:
    print("[redis-py] FAILED: python3-redis is not installed (make deps installs it)")
    sys.exit(1)

PROXY_PORT = int(sys.argv[1])
REDIS_PORT = int(sys.argv[2])
PROFILE = ""


def check(what, got, want):
    if got != want:
        print(f"[redis-py {PROFILE}] FAILED {what}: got {got!r}, want {want!r}")
        sys.exit(1)
    print(f"[redis-py {PROFILE}] ok {what}")


def expect_error(what, fn, contains):
    try:
        fn()
    except redis.exceptions.ResponseError as e:
        check(what + " is refused", contains.lower() in str(e).lower(), True)
        return
    check(what + " is refused", "no error", contains)


def run(profile, decode, **options):
    global PROFILE
    PROFILE = profile
    r = redis.Redis(host="127.0.0.1", port=PROXY_PORT, decode_responses=decode, **options)
    s = (lambda v: v) if decode else (lambda v: v.encode() if v is not None else None)
    check("PING", r.ping(), True)
    conn_id = r.client_id()
    check("GET", r.get("compat:a"), s("alpha"))
    check("GET of binary bytes", r.get("compat:bin"), s("bytes \r\n and \u00e9"))
    check("GET of a missing key", r.get("compat:none"), None)
    check("MGET", r.mget(["compat:a", "compat:none", "compat:b"]), [s("alpha"), None, s("beta")])

    pipe = r.pipeline(transaction=False)
    pipe.get("compat:a").get("compat:c").mget("compat:b", "compat:none").exists("compat:a")
    check("pipeline", pipe.execute(), [s("alpha"), s("gamma"), [s("beta"), None], 1])

    with r.pipeline() as tx:  # redis-py's default: MULTI ... EXEC
        tx.get("compat:b").get("compat:none").strlen("compat:a").ttl("compat:a")
        check("transaction", tx.execute(), [s("beta"), None, 5, -1])

    check("EXISTS", r.exists("compat:a", "compat:none", "compat:b"), 2)
    check("STRLEN", r.strlen("compat:c"), 5)
    check("TYPE", r.type("compat:list"), s("list"))
    check("GETRANGE", r.getrange("compat:a", 1, -2), s("lph"))
    check("PTTL of a missing key", r.pttl("compat:none"), -2)
    info = r.info()
    check("INFO redis_version", info.get("redis_version"), "7.0.15")
    check("INFO role", info.get("role"), "master")
    check("INFO keyspace_hits counts", info.get("keyspace_hits", 0) > 0, True)

    expect_error("SET", lambda: r.set("compat:a", "overwritten"), "unknown command 'SET'")
    check("the connection stays after a refused write", r.client_id(), conn_id)
    with r.pipeline() as tx:
        tx.get("compat:a").set("compat:a", "overwritten")
        expect_error("a transaction with a write", tx.execute, "unknown command 'SET'")
    check("the connection stays after an aborted transaction", r.client_id(), conn_id)
    check("GET after the refused writes", r.get("compat:a"), s("alpha"))
    r.close()


def main():
    print(f"[redis-py] redis-py {redis.__version__}")
    run("defaults", False)
    run("decode_responses", True)
    run("client_name", True, client_name="compat-py")
    check("CLIENT GETNAME", redis.Redis(port=PROXY_PORT, client_name="compat-py",
                                        decode_responses=True).client_getname(), "compat-py")
    direct = redis.Redis(port=REDIS_PORT, decode_responses=True)
    check("nothing was written to Redis", direct.get("compat:a"), "alpha")
    print("[redis-py] every check passed")


if __name__ == "__main__":
    main()
