#!/bin/sh
# make run: serve the example zone with the DPDK dataplane in a namespace
# lab (tests/lab/lab.py: a client and an edge namespace joined by a veth
# pair; the dataplane polls the edge end with net_af_xdp, or net_af_packet
# when that fails, and passes what is not a UDP query to the kernel through
# its net_tap interface edns0). Shows answers from the client namespace over
# UDP (written by the DPDK worker) and TCP (the kernel, then the dataplane's
# socket server), the counters, then keeps serving until Ctrl-C (or
# RUN_SECONDS, when set). The lab is torn down on exit. Needs root.
set -e
B=${B:-build}
D=$B/example
STATE=$D/lab.json
PY=/usr/bin/python3
LAB=tests/lab/lab.py
mkdir -p "$D"
export EDGEDNS_BUILD="$B"

trap '$PY $LAB down --state "$STATE" || true' EXIT
trap 'exit 130' INT TERM
$PY $LAB up --state "$STATE" --owner $$ --zone example.com.=tests/data/example.com.zone
get() { $PY -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$STATE" "$1"; }
CLIENT=$(get client_ns)
EDGE=$(get edge_ns)
CONTROL=$(get control)
PID=$(get pid)

show() { echo "\$ kdig $*"; ip netns exec "$CLIENT" kdig +timeout=2 +retry=1 "$@" | sed 's/^/    /'; echo; }
echo
echo "From namespace $CLIENT (192.0.2.1, 2001:db8::1):"
echo
show @192.0.2.53 +norec example.com SOA +noall +answer
show @2001:db8::53 +norec www.example.com A +noall +answer
show @192.0.2.53 +tcp +norec example.com MX +noall +answer +additional
echo "\$ kdig @2001:db8::53 +norec nonexistent.example.com A   (status and authority)"
ip netns exec "$CLIENT" kdig +timeout=2 @2001:db8::53 +norec nonexistent.example.com A |
	grep -E 'status|IN.SOA' | sed 's/^/    /'
echo
echo "\$ echo stats | socat - UNIX-CONNECT:$CONTROL"
echo stats | socat - "UNIX-CONNECT:$CONTROL" | sed 's/^/    /'
echo
echo "edgedns-dataplane (pid $PID) serves example.com on 192.0.2.53 and 2001:db8::53 in"
echo "namespace $EDGE: UDP from the DPDK worker, TCP, ARP/ND and ping through the kernel."
echo "Query it:  ip netns exec $CLIENT kdig @192.0.2.53 example.com SOA   (add +tcp for TCP)"
echo "Commands:  echo lcores | socat - UNIX-CONNECT:$CONTROL   (stats, ports, zones, ...)"
if [ -n "$RUN_SECONDS" ]; then
	sleep "$RUN_SECONDS"
else
	echo "Ctrl-C stops it."
	while kill -0 "$PID" 2>/dev/null; do sleep 1; done
	echo "the dataplane exited" >&2
	exit 1
fi
