#!/bin/sh
# make bench, the control-plane part (run.sh calls it last): edgedns-control
# with the socket dataplane as a secondary of a knotd primary serving the
# 1M-name bench zone, side by side with a knotd secondary of the same
# primary: initial AXFR time, NOTIFY-to-answer time of an IXFR of 100
# changes, memory per RR (tests/bench/control_bench.py). Loopback only;
# bounded (BENCH_CTL_LIMIT seconds in all, 900; 120 s per AXFR); skipped,
# with the reason, when something it needs is missing.
# Environment: B (build dir), BENCH_CTL_ROUNDS (IXFR rounds, 3).
B=${B:-build}
W=$B/bench
LIMIT=${BENCH_CTL_LIMIT:-900}
skip() { echo "control bench: skipped: $1"; exit 0; }
[ -f "$W/bench.example.zone" ] || skip "no $W/bench.example.zone (run tests/bench/run.sh)"
for p in /usr/sbin/knotd /usr/sbin/knotc; do
	[ -x "$p" ] || skip "$p missing (apt-get install knot)"
done
for p in edgedns-control edgedns-dataplane; do
	[ -x "$B/$p" ] || skip "$B/$p not built"
done
/usr/bin/python3 -c 'import dns.query' 2>/dev/null || skip "dnspython missing"
echo "== control plane: AXFR, IXFR after NOTIFY, memory per RR; ours vs a Knot DNS secondary"
timeout -k 10 "$LIMIT" /usr/bin/python3 tests/bench/control_bench.py "$B" "$W/bench.example.zone"
rc=$?
[ $rc -eq 124 ] && echo "control bench: stopped after $LIMIT s"
exit 0
