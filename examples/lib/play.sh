# What every examples/*/play.sh shares, sourced after `cd` to the
# repository's root: a work folder for logs, the processes started (stopped
# in reverse order at exit), the logs shown only when something failed, and
# small helpers. Not run on its own.
#
#   play_init NAME               the work folder, the traps; NAME names the folder
#   play_need TOOL...            build/redge and each TOOL present, or die
#   play_track PID               stopped at exit (SIGTERM, then waited for)
#   free_ports N                 N loopback ports free now, on one line
#   retry TENTHS CMD...          CMD until it succeeds, every 0.1 s, at most TENTHS times
#   start_redis PORT             a private redis-server (no persistence) on PORT
#   die MESSAGE                  stop with "play.sh: MESSAGE" ($play_label
#                                instead of play.sh when the script sets it)
#
# A script may define play_cleanup, run at exit before the processes stop,
# and play_after_stop, run after they stopped (to remove what they wrote).

die() {
  echo "${play_label:-play.sh}: $*" >&2
  exit 1
}

play_on_exit() {
  local status=$?
  local i
  if declare -F play_cleanup >/dev/null; then play_cleanup || true; fi
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[$i]}" 2>/dev/null || true
    wait "${pids[$i]}" 2>/dev/null || true
  done
  if declare -F play_after_stop >/dev/null; then play_after_stop || true; fi
  if [ "$status" -ne 0 ]; then
    for f in "$workdir"/*.log; do
      [ -s "$f" ] || continue
      echo "---- the last 20 lines of $(basename "$f") ----" >&2
      tail -n 20 "$f" >&2
    done
    echo "---- the whole logs are kept in $workdir ----" >&2
  else
    rm -rf "$workdir"
  fi
  exit "$status"
}

play_init() { # name
  workdir=$(mktemp -d "${TMPDIR:-/tmp}/redge-$1-play.XXXXXX")
  pids=()
  trap play_on_exit EXIT
  trap 'exit 130' INT TERM
}

play_need() { # tool...
  [ -x build/redge ] || die "build/redge is missing: run 'make build' first."
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is missing (make deps installs it)."
  done
}

play_track() { # pid
  pids+=("$1")
}

# Ports outside the kernel's ephemeral range (ip_local_port_range), which
# bind(0) and every outgoing connection draw from: a port chosen there can
# be taken as some client's source port before the server binds it, and
# with tests running side by side that happens. Each is checked free and
# held until all are chosen, so they differ.
free_ports() { # n
  python3 -c '
import random, socket, sys
lo, hi = map(int, open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
outside = [p for p in range(10000, 65536) if p < lo or p > hi]
socks = []
while len(socks) < int(sys.argv[1]):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", random.choice(outside) if outside else 0))
    except OSError:
        s.close()
        continue
    socks.append(s)
print(*[s.getsockname()[1] for s in socks])
' "$1"
}

retry() { # tenths cmd...
  local tenths=$1
  shift
  for _ in $(seq "$tenths"); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}

start_redis() { # port
  redis-server --port "$1" --bind 127.0.0.1 --save '' --appendonly no --dir "$workdir" \
    >"$workdir/redis.log" 2>&1 &
  play_track $!
  retry 50 redis-cli -p "$1" ping || die "redis-server did not answer within 5 s."
}
