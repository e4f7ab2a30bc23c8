#!/bin/sh
# make bench, the anycast part (run.sh calls it last): failure-to-withdraw
# time at the PoP router, median and max over 20 trials of each failure
# (tests/bench/anycast_bench.py, in the namespace lab of tests/lab/anycast.py).
# Needs root, bird, kdig; bounded (BENCH_ANYCAST_LIMIT seconds, 600);
# skipped, with the reason, when something it needs is missing.
B=${B:-build}
LIMIT=${BENCH_ANYCAST_LIMIT:-600}
skip() { echo "anycast bench: skipped: $1"; exit 0; }
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
command -v bird >/dev/null 2>&1 || [ -x /usr/sbin/bird ] || skip "bird missing (apt-get install bird2)"
for p in edgedns-control edgedns-dataplane edgedns-bird edgednsctl; do
	[ -x "$B/$p" ] || skip "$B/$p not built"
done
echo "== anycast: failure to withdraw, seen in the PoP router's table"
EDGEDNS_BUILD="$(cd "$B" && pwd)" timeout -k 10 "$LIMIT" /usr/bin/python3 tests/bench/anycast_bench.py
rc=$?
[ $rc -eq 124 ] && echo "anycast bench: stopped after $LIMIT s"
exit 0
