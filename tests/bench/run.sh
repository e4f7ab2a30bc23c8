#!/bin/sh
# make bench: engine throughput and instructions per query, snapshot build
# time and bytes per RR, on a generated 1M-name zone. Not a test: it prints
# figures, asserts nothing about speed.
set -e
B=${B:-build}
W=$B/bench
NAMES=${BENCH_NAMES:-1000000}
QUERIES=${BENCH_QUERIES:-1000000}
mkdir -p "$W"
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "== generating $NAMES-name zone and $QUERIES queries"
/usr/bin/python3 tests/bench/gen_zone.py "$W" "$NAMES" "$QUERIES"

if [ ! -f "$W/signed.example.zone.signed" ]; then
	(cd "$W" && rm -f Ksigned.example.* &&
	 k=$(ldns-keygen -a ECDSAP256SHA256 -k signed.example) &&
	 z=$(ldns-keygen -a ECDSAP256SHA256 signed.example) &&
	 cat "$k.key" "$z.key" >> signed.example.zone &&
	 ldns-signzone -o signed.example -e "$(date -u -d '+30 days' +%Y%m%d%H%M%S)" signed.example.zone "$k" "$z")
fi

t0=$(date +%s.%N)
$B/edgedns-compile -o "$W/bench.snap" -z bench.example. "$W/bench.example.zone"
t1=$(date +%s.%N)
echo "snapshot build: $(echo "$t1 - $t0" | bc) s for bench.example (parse with ldns, checks, write)"
$B/edgedns-compile -o "$W/signed.snap" -z signed.example. "$W/signed.example.zone.signed"

echo "== engine throughput (one core, 5 rounds): one query at a time, then bursts of 32"
$B/edgedns-bench -b 1 -r 5 "$W/queries.txt" "$W/bench.snap" "$W/signed.snap" | tail -1
$B/edgedns-bench -b 32 -r 5 "$W/queries.txt" "$W/bench.snap" "$W/signed.snap"
grep -E '^h[0-9]+\.bench\.example\. A 0$' "$W/queries.txt" > "$W/queries-a-all.txt"
echo "plain A answers only ($(wc -l < "$W/queries-a-all.txt") queries, the fast path):"
$B/edgedns-bench -b 32 -r 5 "$W/queries-a-all.txt" "$W/bench.snap" "$W/signed.snap" | tail -1

echo "== instructions per query (callgrind, first 100000 queries of the mix)"
head -n 100000 "$W/queries.txt" > "$W/queries-100k.txt"
grep -E '^h[0-9]+\.bench\.example\. A 0$' "$W/queries-100k.txt" | head -n 20000 > "$W/queries-a.txt"
for set in queries-100k queries-a; do
	valgrind --tool=callgrind --toggle-collect=run_queries --callgrind-out-file="$W/callgrind.$set" \
		$B/edgedns-bench -b 1 -r 0 "$W/$set.txt" "$W/bench.snap" "$W/signed.snap" >/dev/null 2>"$W/callgrind.log"
	ir=$(callgrind_annotate "$W/callgrind.$set" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}')
	n=$(wc -l < "$W/$set.txt")
	case $set in queries-a) what="plain A answers only";; *) what="the mix";; esac
	echo "engine: $(echo "scale=1; $ir / $n" | bc) instructions/query, $what (callgrind Ir over run_queries, one at a time)"
done

# The DPDK dataplane: memif, veth next to Knot's XDP, zone swaps under load.
B="$B" bash tests/bench/run_dpdk.sh
B="$B" sh tests/bench/run_control.sh
B="$B" sh tests/bench/run_anycast.sh
