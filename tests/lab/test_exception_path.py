"""The exception path does not depend on any worker (issue 10, item 1;
anycast.py): the PoP router runs BGP without BFD (a peer without BFD, or
BFD still coming up after a flap), so only the withdraw control sends
through BIRD can take the route away. A worker lcore is stalled: control
sees its heartbeat stop and withdraws, and the router must lose the route
within 1 s, while the stall (3 s) still lasts. Before the exception thread
the withdraw waited in the stuck worker's tap queue until the stall ended.

Its own lab (the router's BFD is off), one worker, the port with the
exception thread's queue pair (exc_queue)."""

import os
import tempfile
import time

import pytest

import anycast
import lab as labmod
from anycast import ANY4, AnycastLab

ZONE = "anycast.example."
SERIAL = 2024070101
STALL_MS = 3000


def zone_text(serial):
    return """$ORIGIN anycast.example.
$TTL 300
@       IN SOA ns1 hostmaster %d 3600 600 86400 300
@       IN NS  ns1
ns1     IN A   192.0.2.53
www     IN A   192.0.2.80
canary  IN TXT "ok"
""" % serial


@pytest.fixture(scope="module")
def xlab():
    for p in (labmod.CONTROL_BIN, labmod.CTL_BIN, anycast.BIRDCLI):
        if not os.access(p, os.X_OK):
            pytest.fail("not built: %s" % p)
    if not os.access(anycast.BIRD, os.X_OK):
        pytest.fail("bird missing (tests/deps.sh installs bird2)")
    wd = tempfile.mkdtemp(prefix="edgedns-lab-%s%dx-" % (labmod.PREFIX, os.getpid()))
    snap = os.path.join(wd, "snapshots")
    os.makedirs(snap)
    lb = AnycastLab(snap, {ZONE: zone_text(SERIAL)}, ZONE, tag="x", workdir=wd,
                    router_bfd=False)
    try:
        lb.up()
        yield lb
    finally:
        if os.environ.get("EDGEDNS_LAB_VERBOSE"):
            print(lb.zonesvc.log_text(6000) if lb.zonesvc else "")
        lb.down()


def test_router_without_bfd(xlab):
    """The premise: the router announces through BGP alone (no BFD
    session at the router), and the host is answered through it."""
    lab = xlab
    lab.wait_announced(30)
    p = lab.router_bird.cli("raw", "show bfd sessions")
    assert labmod.SERVER4 not in p.stdout, p.stdout
    rc, out = lab.host_query(ANY4, ZONE)
    assert rc == "NOERROR" and str(SERIAL) in out, out


def test_stuck_worker_withdrawn_without_bfd(xlab):
    lab = xlab
    lab.wait_announced(30)
    ports = lab.cmd("ports")["ports"]
    print("ports: %s (vdev %s)" % (ports, lab.vdev))
    t0 = time.monotonic()
    r = lab.cmd("stall 1 %d" % STALL_MS, timeout=10)
    assert r.get("ok"), r
    took = lab.wait_withdrawn(timeout=STALL_MS / 1000.0 + 3)
    took = time.monotonic() - t0
    print("worker stuck, router without BFD -> route gone at the router: %.0f ms" % (
        took * 1000))
    assert took < 1.0, "withdrawn after %.0f ms (the stall lasts %d ms)" % (took * 1000,
                                                                        STALL_MS)
    h = lab.health()
    assert h["route"] == "withdrawn" and not h["checks"]["heartbeat"]["ok"], h
    # the stall ends: announced again after rise and the hold-down
    lab.wait_announced(30)
    rc, out = lab.host_query(ANY4, ZONE)
    assert rc == "NOERROR", out
