#!/bin/sh
# make run: the appliance as a secondary in a three-namespace lab
# (tests/lab/lab.py with --primary, tests/lab/labprimary.py): NSD in the
# primary namespace serves example.com and example.net with a TSIG key;
# edgedns-control in the edge namespace transfers them over the management
# veth (203.0.113.1 -> 203.0.113.2), writes the snapshots and loads them
# into the DPDK dataplane, which starts with none and polls the client veth
# with net_af_xdp (net_af_packet when that fails), passing what is not a
# UDP query to the kernel through its net_tap interface edns0. Shows answers
# from the client namespace over UDP (written by the DPDK worker) and TCP
# (the kernel, then the dataplane's socket server), changes example.com on
# NSD and shows the new serial answered (NOTIFY), prints edgednsctl status,
# then keeps serving until Ctrl-C (or RUN_SECONDS, when set). The lab is
# torn down on exit. Needs root.
set -e
B=${B:-build}
D=$B/example
STATE=$D/lab.json
PY=/usr/bin/python3
LAB=tests/lab/lab.py
mkdir -p "$D"
export EDGEDNS_BUILD="$B"
CTL=$B/edgednsctl

cat > "$D/example.net.zone" <<'ZONE'
$ORIGIN example.net.
$TTL 300
@    IN SOA ns1 hostmaster 2024020101 3600 600 86400 300
@    IN NS  ns1
ns1  IN A   192.0.2.53
www  IN A   192.0.2.81
www  IN AAAA 2001:db8::81
ZONE

trap '$PY $LAB down --state "$STATE" || true' EXIT
trap 'exit 130' INT TERM
$PY $LAB up --state "$STATE" --owner $$ --primary \
	--zone example.com.=tests/data/example.com.zone --zone example.net.="$D/example.net.zone"
get() { $PY -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$STATE" "$1"; }
CLIENT=$(get client_ns)
EDGE=$(get edge_ns)
PRIMARY=$(get primary_ns)
CONTROL=$(get control)
SOCK=$(get control_sock)
PID=$(get pid)

show() { echo "\$ kdig $*"; ip netns exec "$CLIENT" kdig +timeout=2 +retry=1 "$@" | sed 's/^/    /'; echo; }
echo
echo "From namespace $CLIENT (192.0.2.1, 2001:db8::1):"
echo
show @192.0.2.53 +norec example.com SOA +noall +answer
show @2001:db8::53 +norec www.example.com A +noall +answer
show @192.0.2.53 +norec www.example.net AAAA +noall +answer
show @192.0.2.53 +tcp +norec example.com MX +noall +answer +additional
echo "\$ kdig @2001:db8::53 +norec nonexistent.example.com A   (status and authority)"
ip netns exec "$CLIENT" kdig +timeout=2 @2001:db8::53 +norec nonexistent.example.com A |
	grep -E 'status|IN.SOA' | sed 's/^/    /'
echo
echo "Changing example.com on NSD (serial + 1, one TXT more; nsd reloads and NOTIFYs):"
NEW=$($PY $LAB change --state "$STATE" example.com)
echo
show @192.0.2.53 +norec example.com SOA +noall +answer
show @2001:db8::53 +norec changed-$NEW.example.com TXT +noall +answer
echo "\$ edgednsctl -s $SOCK status"
$CTL -s "$SOCK" status | sed 's/^/    /'
echo
echo "\$ echo stats | socat - UNIX-CONNECT:$CONTROL"
echo stats | socat - "UNIX-CONNECT:$CONTROL" | sed 's/^/    /'
echo
echo "nsd (pid $(get nsd_pid)) serves the zones in namespace $PRIMARY on 203.0.113.1;"
echo "edgedns-control (pid $(get control_pid)) transfers them into edgedns-dataplane (pid $PID),"
echo "which serves 192.0.2.53 and 2001:db8::53 in namespace $EDGE: UDP from the DPDK"
echo "worker, TCP, ARP/ND and ping through the kernel."
echo "Query it:  ip netns exec $CLIENT kdig @192.0.2.53 example.com SOA   (add +tcp for TCP)"
echo "Zones:     $CTL -s $SOCK status   (zone-status ZONE, refresh ZONE)"
echo "Change:    $PY $LAB change --state $STATE example.net"
echo "Commands:  echo lcores | socat - UNIX-CONNECT:$CONTROL   (stats, ports, zones, ...)"
if [ -n "$RUN_SECONDS" ]; then
	sleep "$RUN_SECONDS"
else
	echo "Ctrl-C stops it."
	while kill -0 "$PID" 2>/dev/null; do sleep 1; done
	echo "the dataplane exited" >&2
	exit 1
fi
