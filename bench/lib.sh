# shellcheck shell=bash
# Shell functions bench/run.sh and bench/workers_cost.sh share (sourced).

# N distinct free loopback ports, space-separated: all are held open at once
# while chosen, so they differ from each other.
free_ports() {
  python3 - "$1" <<'EOF'
import socket, sys
held = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    held.append(s)
print(" ".join(str(s.getsockname()[1]) for s in held))
EOF
}
