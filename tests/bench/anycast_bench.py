"""make bench, the anycast part (run_anycast.sh): failure-to-withdraw time
seen at the PoP router (tests/lab/anycast.py: the router's BIRD peers with
the edge's over BGP + BFD through the dataplane's exception path; the time
is from the failure until the router's kernel no longer has the anycast
/32 and /128), median and max over TRIALS trials of each failure:

  stuck    a worker lcore stops polling for 1 s (dataplane `stall`, a test
           hook): BFD (the one worker carries it) and control's heartbeat
           check both see it; the edge's BIRD is restarted after each trial;
  killed   kill -9 of the dataplane: only BFD can tell the router (the
           edge's BIRD is restarted after each trial so that its BGP error
           back-off does not grow over the trials);
  canary   a zone version whose canary TXT is wrong reaches the dataplane:
           the BGP session stays up, control's in-band probe fails and
           control withdraws through BIRD (time from the dataplane serving
           the version).

Hold-down 1 s without growth, so trials follow each other quickly. The
router's table is polled every few ms (ip route), which bounds the
resolution. Bounded: BENCH_ANYCAST_LIMIT seconds in all (run_anycast.sh)."""

import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lab"))

import anycast  # noqa: E402
import lab as labmod  # noqa: E402

ZONE = "anycast.example."
SERIAL = 2024070101
TRIALS = int(os.environ.get("BENCH_ANYCAST_TRIALS", "20"))


def zone_text(serial, canary="ok"):
    return """$ORIGIN anycast.example.
$TTL 300
@       IN SOA ns1 hostmaster %d 3600 600 86400 300
@       IN NS  ns1
ns1     IN A   198.51.100.53
canary  IN TXT "%s"
""" % (serial, canary)


def gone_after(lab, t0, timeout=10):
    deadline = t0 + timeout
    while time.monotonic() < deadline:
        if not lab.router_has(anycast.ANY4 + "/32") and not lab.router_has(anycast.ANY6 + "/128"):
            return time.monotonic() - t0
        time.sleep(0.002)
    raise RuntimeError("the router kept the routes for %d s" % timeout)


def report(name, times):
    ms = sorted(t * 1000 for t in times)
    print("failure to withdraw at the router, %s: median %.0f ms, max %.0f ms, min %.0f ms "
          "(%d trials)" % (name, statistics.median(ms), ms[-1], ms[0], len(ms)))
    sys.stdout.flush()


def main():
    wd = tempfile.mkdtemp(prefix="edgedns-lab-%s%db-" % (labmod.PREFIX, os.getpid()))
    snap = os.path.join(wd, "snapshots")
    os.makedirs(snap)
    lab = anycast.AnycastLab(snap, {ZONE: zone_text(SERIAL)}, ZONE, tag="b", hold=1,
                             hold_max=1, workdir=wd)
    try:
        lab.up()
        lab.wait_announced(60)
        stuck = []
        for _ in range(TRIALS):
            lab.wait_announced(30)
            time.sleep(0.3)
            t0 = time.monotonic()
            lab.cmd("stall 1 1000", timeout=10)
            stuck.append(gone_after(lab, t0))
            # the one worker carried BFD too: the session went down; a fresh
            # edge BIRD reconnects at once (BIRD's error back-off would grow)
            time.sleep(1.0)
            lab.edge_bird.stop()
            lab.edge_bird.start()
        report("worker lcore stuck", stuck)
        canary = []
        serial = SERIAL
        for i in range(TRIALS):
            lab.wait_announced(30)
            serial += 1
            lab.nsd.set_zone(ZONE, zone_text(serial, "broken"), serial)
            # from the moment the dataplane serves the wrong version
            labmod.labprimary.wait_until(lambda: lab.served_serial(ZONE) == serial, 20,
                                         "serial %d served" % serial, step=0.002)
            t0 = time.monotonic()
            canary.append(gone_after(lab, t0))
            serial += 1
            lab.nsd.set_zone(ZONE, zone_text(serial), serial)
        report("wrong canary served (control withdraws)", canary)
        killed = []
        for _ in range(TRIALS):
            lab.wait_announced(60)
            time.sleep(0.3)
            t0 = time.monotonic()
            os.kill(lab.pid, 9)
            killed.append(gone_after(lab, t0))
            lab.proc.wait(5)
            lab.edge_bird.stop()
            lab.start_dataplane(wait_zone=True)
            lab.edge_bird.start()
        report("dataplane killed (BFD)", killed)
    finally:
        lab.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
