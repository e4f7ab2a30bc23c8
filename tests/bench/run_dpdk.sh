#!/bin/bash
# make bench, the DPDK dataplane part (run.sh calls it after the engine
# figures, with the zones and queries it generated in $B/bench):
#   1. memif: edgedns-dnsgen (core 0) against the dataplane (worker on core
#      1), as fast as it can and at a fixed rate, IPv4 and IPv6; first
#      against testpmd reflecting frames, the ceiling of the setup itself.
#   2. veth: Knot DNS in XDP mode, then the dataplane on AF_XDP, on the same
#      veth between two namespaces, both loaded by kxdpgun at one rate.
#   3. swap under load: the 1M-name zone reloaded every second through the
#      command socket while dnsgen offers a fixed rate; queries lost.
# Figures go to stdout. Every part is bounded in time and skipped, with the
# reason, when something it needs is missing. Needs root (namespaces,
# XDP). Environment: B (build dir), BENCH_DPDK_SECONDS (run length, 10),
# BENCH_XDP_RATES (kxdpgun's offered rates, "400000 500000 1000000"), BENCH_SWAP_RATE
# (queries/s during the swaps, 500000), BENCH_DPDK_PARTS ("memif veth swap").
set -u
B=${B:-build}
W=$B/bench
WA=$(cd "$W" 2>/dev/null && pwd) || { echo "dpdk bench: skipped: no $W (run tests/bench/run.sh)"; exit 0; }
RUN=/run/edgedns-bench
SECS=${BENCH_DPDK_SECONDS:-10}
XDP_RATES=${BENCH_XDP_RATES:-400000 500000 1000000}
SWAP_RATE=${BENCH_SWAP_RATE:-500000}
PARTS=${BENCH_DPDK_PARTS:-memif veth swap}
NS_C=edgedns-bench-client
NS_E=edgedns-bench-edge
DP=$B/edgedns-dataplane
GEN=$B/edgedns-dnsgen
EAL="--no-huge --no-pci --log-level=lib.eal:warning --log-level=pmd.net.memif:warning"
DP_MAC=02:00:00:00:00:01
LOG=$W/dpdk-logs
PY=/usr/bin/python3

PIDS=""
stop_pid() {    # stop_pid PID: TERM, then KILL after 5 s; only our own children
	local p=$1 i
	kill -TERM "$p" 2>/dev/null || return 0
	for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	PIDS=$(echo " $PIDS " | sed "s/ $p / /")
}
cleanup() {
	local p
	for p in $PIDS; do stop_pid "$p"; done
	ip netns del $NS_C 2>/dev/null
	ip netns del $NS_E 2>/dev/null
	rm -f $RUN/memif.sock $RUN/dp.sock
}
trap cleanup EXIT
trap 'exit 1' INT TERM

skip() { echo "$1: skipped: $2"; }

# json FIELD < summary line: one field of dnsgen's JSON summary.
json() { $PY -c 'import json,sys
d=json.loads(sys.stdin.read().strip().splitlines()[-1]); v=d
for k in sys.argv[1].split("."): v=v[k]
print(v if not isinstance(v, dict) else " ".join(f"{a} {b}" for a, b in v.items()))' "$1"; }
mps() { $PY -c "print(f'{float(\"$1\")/1e6:.2f} M/s')"; }

mkdir -p $RUN $LOG
# These runs busy-poll both cores: anything else running skews them.
echo "== DPDK benches; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
# The query file of these benches: the engine bench's mix, EDNS marked.
QF=$W/queries-dpdk.txt
$PY tests/bench/mix_queries.py "$W/queries.txt" "$QF" 200000 || exit 1

# The dataplane's snapshot directory: the two zones of the engine bench.
SNAPS=$W/dp-snaps
mkdir -p "$SNAPS"
ln -sf "$WA/bench.snap" "$SNAPS/bench.snap"
ln -sf "$WA/signed.snap" "$SNAPS/signed.snap"

have_dpdk_dp() { [ -x "$DP" ] && "$DP" --help 2>&1 | grep -q -- '--port'; }
WHY_NO_DP="edgedns-dataplane has no --io dpdk yet (no --port in its usage)"

# dp_start NAME NETNS PORTSPEC: start the dataplane (worker on core 1), wait
# until its command socket answers; sets DP_PID. Returns 1 if it did not come up.
dp_start() {
	local name=$1 ns=$2 port=$3 i
	local pre=""
	[ -n "$ns" ] && pre="ip netns exec $ns"
	rm -f $RUN/dp.sock
	$pre timeout -k 5 300 "$DP" --io dpdk --snapshots "$SNAPS" --port "$port" \
		--serve 192.0.2.53 --serve 2001:db8::53 --exception none --rrl-rate 0 ${DP_EXTRA:-} \
		--control $RUN/dp.sock -- -l 0,1 $EAL -m 1024 --file-prefix edgedns-bench-dp \
		> "$LOG/dp-$name.log" 2>&1 &
	DP_PID=$!
	PIDS="$PIDS $DP_PID"
	for i in $(seq 600); do
		if ! kill -0 $DP_PID 2>/dev/null; then
			echo "  dataplane ($port) exited; last lines of $LOG/dp-$name.log:"
			tail -5 "$LOG/dp-$name.log" | sed 's/^/    /'
			return 1
		fi
		[ -S $RUN/dp.sock ] && echo ping | timeout 2 socat - UNIX-CONNECT:$RUN/dp.sock 2>/dev/null \
			| grep -q '"ok":true' && return 0
		sleep 0.1
	done
	echo "  dataplane ($port) not ready after 60 s; see $LOG/dp-$name.log"
	stop_pid $DP_PID
	return 1
}

dp_cmd() { echo "$1" | timeout 30 socat -t 30 - UNIX-CONNECT:$RUN/dp.sock 2>/dev/null; }

# gen_start NAME DST [dnsgen options]: start dnsgen on core 0 against the
# memif server, lingering after its summary (a memif server must not see
# its client go while it polls: DPDK 22.11 unmaps the rings under it).
gen_start() {
	local name=$1 dst=$2
	shift 2
	rm -f "$LOG/gen-$name.json"
	timeout -k 5 $((SECS + 120)) "$GEN" -l 0 $EAL -m 512 --file-prefix edgedns-bench-gen \
		--vdev "net_memif0,role=client,socket=$RUN/memif.sock,rsize=14" -- \
		--queries "$QF" --dst "$dst" --dst-mac $DP_MAC --linger "$@" \
		> "$LOG/gen-$name.json" 2> "$LOG/gen-$name.log" &
	GEN_PID=$!
	PIDS="$PIDS $GEN_PID"
}

# gen_wait NAME: wait (bounded) for dnsgen's summary and print it.
gen_wait() {
	local i
	for i in $(seq $(((SECS + 60) * 10))); do
		grep -q '^{' "$LOG/gen-$1.json" 2>/dev/null && break
		kill -0 $GEN_PID 2>/dev/null || break
		sleep 0.1
	done
	grep '^{' "$LOG/gen-$1.json" 2>/dev/null | tail -1
}

# memif_run LABEL NAME DST [dnsgen options]: a fresh dataplane, one dnsgen
# run, its summary and the dataplane's counters; the dataplane stops first.
memif_run() {
	local label=$1 name=$2 dst=$3
	shift 3
	dp_start "$name" "" "net_memif0,role=server,socket=$RUN/memif.sock,mac=$DP_MAC" || return 1
	gen_start "$name" "$dst" "$@"
	LAST=$(gen_wait "$name")
	report "$label" "$LAST"
	dp_counters
	stop_pid $DP_PID
	stop_pid $GEN_PID
}

# The dataplane's view of the run: frames in and out, what it dropped.
dp_counters() {
	dp_cmd stats | $PY -c 'import json,sys
d=json.load(sys.stdin)
print("  dataplane: rx %(rx_frames)d, tx %(tx_frames)d, tx_dropped %(tx_dropped)d, dropped %(dropped)d, malformed %(malformed)d" % d)' 2>/dev/null
}

# report LABEL JSON
report() {
	local j=$2
	if [ -z "$j" ]; then
		echo "$1: no result (see $LOG)"
		return
	fi
	echo "$1: answered $(mps "$(echo "$j" | json answered_per_s)") of $(mps "$(echo "$j" | json sent_per_s)") sent," \
		"loss $(echo "$j" | json loss_pct)%, TC $(echo "$j" | json tc), rcodes: $(echo "$j" | json rcodes)"
}

# ---- 1. memif ------------------------------------------------------------
part_memif() {
	echo "== dataplane over memif: dnsgen on core 0, one worker lcore on core 1, ${SECS} s runs, $(wc -l < "$QF") queries in the mix"
	[ -x "$GEN" ] || { skip memif "no $GEN"; return; }
	if command -v dpdk-testpmd >/dev/null; then
		rm -f $RUN/memif.sock
		timeout -k 5 $((SECS + 120)) dpdk-testpmd -l 0,1 $EAL -m 512 --file-prefix edgedns-bench-tp \
			--vdev "net_memif0,role=server,socket=$RUN/memif.sock,mac=$DP_MAC" -- \
			--forward-mode=5tswap --auto-start --stats-period 60 --nb-cores=1 \
			--total-num-mbufs=16384 < /dev/null > "$LOG/testpmd.log" 2>&1 &
		local tp=$! i
		PIDS="$PIDS $tp"
		# The memif socket is abstract (no file): wait for testpmd to say it forwards.
		for i in $(seq 300); do
			grep -q 'start packet forwarding' "$LOG/testpmd.log" && break
			kill -0 $tp 2>/dev/null || break
			sleep 0.1
		done
		gen_start testpmd 192.0.2.53 --duration $((SECS / 2)) --reflect
		report "setup ceiling (testpmd 5tswap reflecting, not DNS)" "$(gen_wait testpmd)"
		stop_pid $tp
		stop_pid $GEN_PID
	fi
	have_dpdk_dp || { skip "memif dataplane" "$WHY_NO_DP"; return; }
	memif_run "IPv4, as fast as dnsgen sends" memif4 192.0.2.53 --duration "$SECS" || return
	local max
	max=$(echo "$LAST" | json answered_per_s 2>/dev/null || echo 0)
	memif_run "IPv6, as fast as dnsgen sends" memif6 2001:db8::53 --duration $((SECS / 2))
	local rate=$((${max%.*} * 8 / 10))
	if [ "$rate" -gt 0 ]; then
		memif_run "IPv4, offered 80% of that ($(mps $rate))" memif4r 192.0.2.53 \
			--duration $((SECS / 2)) --rate $rate
	fi
}

# ---- 2. veth: Knot DNS XDP vs the dataplane on AF_XDP ----------------------
netns_up() {
	ip netns del $NS_C 2>/dev/null
	ip netns del $NS_E 2>/dev/null
	ip netns add $NS_C && ip netns add $NS_E &&
	ip link add ve-c netns $NS_C type veth peer name ve-e netns $NS_E &&
	ip -n $NS_C link set lo up && ip -n $NS_E link set lo up &&
	ip -n $NS_C link set ve-c up && ip -n $NS_E link set ve-e up &&
	ip -n $NS_C addr add 192.0.2.1/24 dev ve-c &&
	ip -n $NS_E addr add 192.0.2.53/24 dev ve-e || return 1
	E_MAC=$(cat /sys/class/net/ve-e/address 2>/dev/null || ip netns exec $NS_E cat /sys/class/net/ve-e/address)
	# kxdpgun takes the server's MAC from the neighbour table.
	ip -n $NS_C neigh replace 192.0.2.53 lladdr "$E_MAC" dev ve-c nud permanent
}

# kx LABEL RATE: kxdpgun from the client namespace at RATE for SECS; prints
# "replies/s sent/s answered%" or nothing.
kx() {
	timeout -k 5 $((SECS + 30)) ip netns exec $NS_C kxdpgun -t "$SECS" -Q "$2" -i "$QF" \
		-I ve-c -l 198.51.100.0/24 -F 0 192.0.2.53 > "$LOG/kxdpgun-$1.log" 2>&1
	kx_last "$1"
}

# kx_last LABEL: what kx printed for that run, again.
kx_last() {
	# the percentage from the totals, to a tenth (kxdpgun rounds to 1%)
	awk '/^total queries:/ { s = $4; gsub("[(]", "", s); qt = $3 }
	     /^total replies:/ { r = $4; gsub("[(]", "", r); rt = $3 }
	     END { if (r != "" && qt > 0) printf "%s %s %.1f\n", r, s, 100 * rt / qt }' \
		"$LOG/kxdpgun-$1.log"
}

# kx_report LABEL "replies/s sent/s answered%"
kx_report() {
	if [ -z "$2" ]; then
		echo "$1: no result (see $LOG)"
		return
	fi
	set -- "$1" $2
	echo "$1: $2 replies/s of $3 queries/s sent, $4% answered"
}

part_veth() {
	echo "== veth between two namespaces, kxdpgun (core 0) offering $XDP_RATES q/s, ${SECS} s each; servers on core 1"
	local t
	for t in knotd kxdpgun socat; do
		command -v $t >/dev/null || { skip veth "no $t (apt-get install knot knot-dnsutils socat)"; return; }
	done
	[ -d /sys/fs/bpf ] && ! mountpoint -q /sys/fs/bpf && mount -t bpf bpf /sys/fs/bpf 2>/dev/null
	netns_up || { skip veth "cannot create the namespaces and veth pair (root?)"; return; }

	local K=$W/knot
	rm -rf "$K"
	mkdir -p "$K/db"
	cat > "$K/knot.conf" <<EOF
server:
    rundir: $WA/knot
    user: root
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
xdp:
    listen: ve-e@53
    tcp: off
log:
  - target: stderr
    any: info
database:
    storage: $WA/knot/db
template:
  - id: default
    storage: $WA
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
    semantic-checks: off
zone:
  - domain: bench.example
    file: bench.example.zone
  - domain: signed.example
    file: signed.example.zone.signed
EOF
	local kr="" i r
	ip netns exec $NS_E taskset -c 1 timeout -k 5 300 knotd -c "$K/knot.conf" > "$LOG/knotd.log" 2>&1 &
	local kp=$!
	PIDS="$PIDS $kp"
	for i in $(seq 600); do
		[ "$(grep -c 'loaded, serial' "$LOG/knotd.log")" -ge 2 ] && grep -q 'initialized XDP' "$LOG/knotd.log" && break
		kill -0 $kp 2>/dev/null || break
		sleep 0.1
	done
	if grep -q 'initialized XDP' "$LOG/knotd.log" && [ "$(grep -c 'loaded, serial' "$LOG/knotd.log")" -ge 2 ]; then
		local kv v
		kv="Knot DNS $(knotd --version | awk '{print $NF}') XDP ($(grep -o 'queues [0-9]*, [a-z]* mode' "$LOG/knotd.log"))"
		for r in $XDP_RATES; do
			v=$(kx knot-$r $r | cut -d' ' -f1)
			kr="$kr ${v:-0}"
			kx_report "$kv, offered $r" "$(kx_last knot-$r)"
		done
	else
		echo "Knot DNS XDP: did not start; see $LOG/knotd.log"
	fi
	stop_pid $kp

	have_dpdk_dp || { skip "veth dataplane" "$WHY_NO_DP"; return; }
	local er="" how r v
	for how in net_af_xdp0 net_af_packet0; do
		# A fresh pair: knotd leaves its XDP program (and its settings) behind.
		netns_up || { skip "veth dataplane" "cannot create the namespaces again"; return; }
		if dp_start "veth-$how" $NS_E "$how,iface=ve-e"; then
			for r in $XDP_RATES; do
				v=$(kx edgedns-$how-$r $r | cut -d' ' -f1)
				er="$er ${v:-0}"
				kx_report "edgedns dataplane on $how, offered $r" "$(kx_last edgedns-$how-$r)"
			done
			dp_counters
			stop_pid $DP_PID
			break
		fi
		echo "  $how failed; trying the next"
	done
	if [ -n "$kr" ] && [ -n "$er" ]; then
		echo "edgedns / Knot replies per second, same kxdpgun load, same core: $($PY -c 'import sys
k, e, r = (a.split() for a in sys.argv[1:4])
print(", ".join(f"{float(b) / max(float(a), 1):.2f} at {c}" for a, b, c in zip(k, e, r)))' "$kr" "$er" "$XDP_RATES")"
	fi
}

# ---- 3. zone swaps under load ------------------------------------------------
part_swap() {
	echo "== zone swaps under load: bench.example (1.3 M RRs) reloaded every second for 10 s, $SWAP_RATE q/s offered over memif"
	[ -x "$GEN" ] || { skip swap "no $GEN"; return; }
	have_dpdk_dp || { skip swap "$WHY_NO_DP"; return; }
	command -v socat >/dev/null || { skip swap "no socat"; return; }
	local S=$W/swap
	mkdir -p "$S"
	if [ ! -f "$S/serial2.snap" ] || [ "$S/serial2.snap" -ot "$W/bench.example.zone" ]; then
		sed '3s/^@ SOA ns1 hostmaster 1 /@ SOA ns1 hostmaster 2 /' "$W/bench.example.zone" > "$S/bench2.zone"
		$B/edgedns-compile -q -o "$S/serial2.snap" -z bench.example. "$S/bench2.zone" || return
		rm -f "$S/bench2.zone"
	fi
	dp_start swap "" "net_memif0,role=server,socket=$RUN/memif.sock,mac=$DP_MAC" || return
	gen_start swap 192.0.2.53 --duration 12 --rate "$SWAP_RATE"
	sleep 1
	local n=0 fail=0 i f r t0 t1 t
	for i in $(seq ${BENCH_SWAPS:-10}); do
		t0=$(date +%s%N)
		if [ $((i % 2)) = 1 ]; then f=$WA/swap/serial2.snap; else f=$WA/bench.snap; fi
		r=$(dp_cmd "load $f")
		case $r in *'"ok":true'*) n=$((n + 1));; *) fail=$((fail + 1)); echo "  load failed: $r";; esac
		t1=$(date +%s%N)
		t=$(( (1000000000 - (t1 - t0)) / 1000000 ))
		[ $t -gt 0 ] && sleep "$(echo "scale=3; $t / 1000" | bc)"
	done
	local j
	j=$(gen_wait swap)
	if [ -z "$j" ]; then
		echo "swap: no result from dnsgen; see $LOG/gen-swap.log"
	else
		local sent ans
		sent=$(echo "$j" | json sent)
		ans=$(echo "$j" | json answered)
		echo "swaps: $n done, $fail failed; queries: $sent sent, $ans answered, $((sent - ans)) lost (target 0), dnsgen blocked on a full ring $(echo "$j" | json tx_full) times; serial now: $(dp_cmd zones | $PY -c 'import json,sys
print(*[z["serial"] for z in json.load(sys.stdin)["zones"] if z["zone"] == "bench.example."])' 2>/dev/null)"
		dp_counters
	fi
	stop_pid $DP_PID
	stop_pid $GEN_PID
}

for p in $PARTS; do
	case $p in
	memif) part_memif;;
	veth) part_veth;;
	swap) part_swap;;
	*) echo "dpdk bench: unknown part '$p'";;
	esac
done
exit 0
