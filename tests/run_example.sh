#!/bin/sh
# make run: the appliance in its PoP, in a five-namespace lab
# (tests/lab/lab.py up --primary --anycast, tests/lab/anycast.py):
#   primary  NSD serves example.com, example.net and anycast.example (TSIG,
#            NOTIFY) on the management network (203.0.113.1);
#   edge     edgedns-dataplane (DPDK, net_af_xdp on the veth to the router;
#            what is not a UDP query goes to the kernel through its net_tap
#            interface edns0), edgedns-control (transfers the zones into the
#            dataplane; health checks; BIRD through its socket) and BIRD
#            (config written by edgedns-control);
#   router   BIRD as the PoP router: BGP and BFD with the edge, through the
#            dataplane's exception path; the anycast routes it learns go
#            into its kernel;
#   host     a client behind the router: it reaches the anycast addresses
#            198.51.100.53 and 2001:db8:53::53 only through that route.
# Shows answers at the host (UDP from the DPDK worker, TCP through the
# kernel), the route at the router, edgedns-control's health view; changes
# example.com on NSD and shows the new serial through the anycast address;
# then breaks the edge (a worker lcore stuck for 3 s) and shows the router
# lose the route and get it back after the hold-down. Keeps running until
# Ctrl-C (or RUN_SECONDS, when set); the lab is torn down on exit. Root.
set -e
B=${B:-build}
D=$B/example
STATE=$D/lab.json
PY=/usr/bin/python3
LAB=tests/lab/lab.py
mkdir -p "$D"
export EDGEDNS_BUILD="$B"
CTL=$B/edgednsctl
BIRDCLI=$B/edgedns-bird

cat > "$D/example.net.zone" <<'ZONE'
$ORIGIN example.net.
$TTL 300
@    IN SOA ns1 hostmaster 2024020101 3600 600 86400 300
@    IN NS  ns1
ns1  IN A   192.0.2.53
www  IN A   192.0.2.81
www  IN AAAA 2001:db8::81
ZONE
cat > "$D/anycast.example.zone" <<'ZONE'
$ORIGIN anycast.example.
$TTL 300
@       IN SOA ns1 hostmaster 2024070101 3600 600 86400 300
@       IN NS  ns1
ns1     IN A   198.51.100.53
canary  IN TXT "ok"
ZONE

trap '$PY $LAB down --state "$STATE" || true' EXIT
trap 'exit 130' INT TERM
$PY $LAB up --state "$STATE" --owner $$ --primary --anycast anycast.example \
	--zone example.com.=tests/data/example.com.zone --zone example.net.="$D/example.net.zone" \
	--zone anycast.example.="$D/anycast.example.zone"
get() { $PY -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$STATE" "$1"; }
HOST=$(get host_ns)
ROUTER=$(get router_ns)
EDGE=$(get edge_ns)
PRIMARY=$(get primary_ns)
CONTROL=$(get control)
SOCK=$(get control_sock)
RBIRD=$(get router_bird_sock)
PID=$(get pid)

show() { echo "\$ kdig $*"; ip netns exec "$HOST" kdig +timeout=2 +retry=1 "$@" | sed 's/^/    /'; echo; }
route() {
	echo "\$ ip -n $ROUTER route show 198.51.100.53; ip -n $ROUTER -6 route show 2001:db8:53::53"
	{ ip -n "$ROUTER" route show 198.51.100.53; ip -n "$ROUTER" -6 route show 2001:db8:53::53; } |
		sed 's/^/    /'
	echo
}
echo
echo "At the router ($ROUTER), the anycast routes learnt from the edge over BGP:"
echo
route
echo "\$ edgedns-bird -s ROUTER route 198.51.100.53/32"
$BIRDCLI -s "$RBIRD" route 198.51.100.53/32 | sed 's/^/    /'
echo
echo "From the host ($HOST, 198.51.100.130, 2001:db8:c::2), through the router:"
echo
show @198.51.100.53 +norec example.com SOA +noall +answer
show @2001:db8:53::53 +norec www.example.com A +noall +answer
show @198.51.100.53 +norec www.example.net AAAA +noall +answer
show @198.51.100.53 +tcp +norec example.com MX +noall +answer +additional
echo "\$ edgednsctl -s $SOCK health"
$CTL -s "$SOCK" health | sed 's/^/    /'
echo
echo "Changing example.com on NSD (serial + 1, one TXT more; nsd reloads and NOTIFYs):"
NEW=$($PY $LAB change --state "$STATE" example.com)
echo
show @198.51.100.53 +norec example.com SOA +noall +answer
echo "\$ edgednsctl -s $SOCK status"
$CTL -s "$SOCK" status | sed 's/^/    /'
echo
echo "Breaking the edge: worker lcore 1 stuck for 3 s (echo 'stall 1 3000' | socat - UNIX-CONNECT:...)."
T0=$(date +%s%N)
echo "stall 1 3000" | socat -t 5 - "UNIX-CONNECT:$CONTROL" >/dev/null
N=0
while ip -n "$ROUTER" route show 198.51.100.53 | grep -q . && [ $N -lt 1000 ]; do
	sleep 0.005; N=$((N + 1))
done
T1=$(date +%s%N)
echo "The router lost the route $(( (T1 - T0) / 1000000 )) ms after the stall began:"
echo
route
echo "\$ edgednsctl -s $SOCK health   (withdrawn, held down; back after rise checks and the hold-down)"
$CTL -s "$SOCK" health | sed 's/^/    /'
N=0
while ! ip -n "$ROUTER" route show 198.51.100.53 | grep -q . && [ $N -lt 600 ]; do
	sleep 0.1; N=$((N + 1))
done
T2=$(date +%s%N)
echo
echo "Announced again $(( (T2 - T0) / 1000000 )) ms after the stall began:"
echo
route
echo "nsd (pid $(get nsd_pid)) serves the zones in namespace $PRIMARY on 203.0.113.1;"
echo "edgedns-control (pid $(get control_pid)) transfers them into edgedns-dataplane (pid $PID)"
echo "in namespace $EDGE, checks its health and drives BIRD (pid $(get edge_bird_pid));"
echo "the router's BIRD (pid $(get router_bird_pid)) in $ROUTER routes the anycast addresses to it."
echo "Query it:   ip netns exec $HOST kdig @198.51.100.53 example.com SOA   (+tcp for TCP)"
echo "Health:     $CTL -s $SOCK health"
echo "Drain:      $CTL -s $SOCK maintenance dns on   (then: off)"
echo "Break it:   echo 'stall 1 3000' | socat - UNIX-CONNECT:$CONTROL   (or kill -9 $PID)"
echo "Watch:      ip netns exec $ROUTER ip monitor route"
echo "            $BIRDCLI -s $RBIRD route 198.51.100.53/32"
echo "Zones:      $CTL -s $SOCK status   (zone-status ZONE, refresh ZONE)"
echo "Change:     $PY $LAB change --state $STATE example.net"
if [ -n "$RUN_SECONDS" ]; then
	sleep "$RUN_SECONDS"
else
	echo "Ctrl-C stops it."
	while kill -0 "$PID" 2>/dev/null; do sleep 1; done
	echo "the dataplane exited" >&2
	exit 1
fi
