#!/bin/sh
# make run: compile the example zone, serve it with the socket-mode
# dataplane on loopback (UDP and TCP), show a few answers, keep serving
# until Ctrl-C (or RUN_SECONDS, when set).
set -e
B=${B:-build}
PORT=${PORT:-5353}
D=$B/example
mkdir -p "$D/snapshots"
rm -f "$D/snapshots"/*.snap
$B/edgedns-compile -o "$D/snapshots/example.com.snap" -z example.com. tests/data/example.com.zone
$B/edgedns-dataplane --io socket --snapshots "$D/snapshots" \
	--listen "127.0.0.1@$PORT" --listen "::1@$PORT" --control "$D/dataplane.sock" \
	--id-server edgedns-example --nsid edgedns-example &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT INT TERM
i=0
until kdig @127.0.0.1 -p "$PORT" +short +timeout=1 +retry=0 example.com SOA >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -lt 50 ] || { echo "server did not come up" >&2; exit 1; }
	sleep 0.1
done
show() { echo "\$ kdig $*"; kdig "$@" | sed 's/^/    /'; echo; }
show @127.0.0.1 -p "$PORT" +norec example.com SOA +noall +answer
show @127.0.0.1 -p "$PORT" +norec www.example.com A +noall +answer
show @::1 -p "$PORT" +norec +tcp example.com MX +noall +answer +additional
echo "\$ kdig @127.0.0.1 -p $PORT +norec nonexistent.example.com A   (status and authority)"
kdig @127.0.0.1 -p "$PORT" +norec nonexistent.example.com A | grep -E 'status|IN.SOA' | sed 's/^/    /'
echo
echo "edgedns-dataplane (pid $pid) serves example.com on 127.0.0.1 and ::1 port $PORT, UDP and TCP."
echo "Query it:  kdig @127.0.0.1 -p $PORT example.com SOA      (add +tcp for TCP)"
echo "Commands:  echo zones | socat - UNIX-CONNECT:$D/dataplane.sock   (or: nc -U)"
if [ -n "$RUN_SECONDS" ]; then
	sleep "$RUN_SECONDS"
else
	echo "Ctrl-C stops it."
	wait $pid
fi
