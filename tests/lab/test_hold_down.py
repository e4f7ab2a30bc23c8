"""Control's timing against a frozen dataplane (issue 10, item 6;
anycast.py): the dataplane process is stopped (SIGSTOP) for 1.2 s, so its
command socket and its TCP server answer nothing. Control must decide to
withdraw within about half a second (two rounds of a 250 ms heartbeat,
TCP not asked when the dataplane does not answer: it took ~2 s, two
rounds of 500 ms + 500 ms), and the hold-down (2 s) must count from that
withdraw: the route stays withdrawn for the whole hold-down (it was
counted from the start of the failing round: 2 s became ~1 s).

The times are control's (its health view, polled every ~20 ms): the
router's side depends on BFD here, which sees the stopped exception path
too. Its own lab (hold-down 2 s, first flap)."""

import os
import signal
import tempfile
import time

import pytest

import anycast
import lab as labmod
from anycast import AnycastLab

ZONE = "anycast.example."
SERIAL = 2024070101
HOLD_S = 2
FREEZE_S = 1.2


def zone_text(serial):
    return """$ORIGIN anycast.example.
$TTL 300
@       IN SOA ns1 hostmaster %d 3600 600 86400 300
@       IN NS  ns1
ns1     IN A   192.0.2.53
canary  IN TXT "ok"
""" % serial


@pytest.fixture(scope="module")
def hlab():
    for p in (labmod.CONTROL_BIN, labmod.CTL_BIN, anycast.BIRDCLI):
        if not os.access(p, os.X_OK):
            pytest.fail("not built: %s" % p)
    if not os.access(anycast.BIRD, os.X_OK):
        pytest.fail("bird missing (tests/deps.sh installs bird2)")
    wd = tempfile.mkdtemp(prefix="edgedns-lab-%s%dh-" % (labmod.PREFIX, os.getpid()))
    snap = os.path.join(wd, "snapshots")
    os.makedirs(snap)
    lb = AnycastLab(snap, {ZONE: zone_text(SERIAL)}, ZONE, tag="h", workdir=wd, hold=HOLD_S)
    try:
        lb.up()
        yield lb
    finally:
        if os.environ.get("EDGEDNS_LAB_VERBOSE"):
            print(lb.zonesvc.log_text(6000) if lb.zonesvc else "")
        lb.down()


def test_frozen_dataplane_withdrawn_fast_and_held_down_from_the_withdraw(hlab):
    lab = hlab
    lab.wait_announced(30)
    h = lab.health()
    assert h["route"] == "announced" and h["flaps"] == 0, h
    t_stop = time.monotonic()
    os.kill(lab.pid, signal.SIGSTOP)
    t_withdrawn = t_back = None
    seen = []
    try:
        deadline = t_stop + 10
        while time.monotonic() < deadline:
            s = lab.health()
            now = time.monotonic()
            seen.append("%.3f %s %s %s" % (now - t_stop, s["route"], s["history"][-5:],
                                           s["reason"]))
            if t_withdrawn is None and s["route"] == "withdrawn":
                t_withdrawn = now
                why = s["reason"]
            if now - t_stop >= FREEZE_S:
                os.kill(lab.pid, signal.SIGCONT)
            if t_withdrawn is not None and s["route"] == "announced":
                t_back = now
                break
            time.sleep(0.02)
    finally:
        os.kill(lab.pid, signal.SIGCONT)
    assert t_withdrawn is not None, "never withdrawn: %s" % "\n".join(seen[::4])
    print("frozen dataplane -> control withdrew after %.0f ms (%s)" % (
        (t_withdrawn - t_stop) * 1000, why))
    assert "dataplane" in why, why
    # while it is still frozen (it took about 2 s)
    assert t_withdrawn - t_stop < FREEZE_S, "withdrawn after %.0f ms" % (
        (t_withdrawn - t_stop) * 1000)
    assert t_back is not None, "not announced again within 10 s"
    held = t_back - t_withdrawn
    print("held down %.0f ms (hold-down %d s)" % (held * 1000, HOLD_S))
    # the whole hold-down from the withdraw (a poll's slack), and not much
    # more: the dataplane answered again long before it ended
    assert HOLD_S - 0.1 <= held <= HOLD_S + 1.0, held
    lab.wait_announced(30)
