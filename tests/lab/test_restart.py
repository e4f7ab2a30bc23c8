"""A restart of the whole lab (lab.py primary=): the last good version is
served at once.

With the zones transferred from NSD and published (one change on top, so
the last good version is not the first one), the dataplane, edgedns-control
and NSD are stopped by pid; the snapshot directory and control's state
directory stay. The dataplane starts again alone: it answers the last good
serials from its snapshot directory within a few seconds of being ready,
before control runs. Control starts again without the primary: it reports
the zones published from its saved state, and a refresh fails without
changing what is served. NSD comes back: a change arrives by NOTIFY.

One lab for the module, of its own.
"""

import json
import os
import time

import dns.message
import pytest

import lab as labmod
from lab import SERVER4, SERVER6

COM, NET = "example.com.", "example.net."
NET_SERIAL = 2024020101
ZONES = (COM, NET)
FIRST_ANSWER_SECONDS = 3.0
NOTIFY_SECONDS = 5.0

_NET_TEXT = """$ORIGIN example.net.
$TTL 300
@    IN SOA ns1 hostmaster %d 3600 600 86400 300
@    IN NS  ns1
ns1  IN A   192.0.2.53
www  IN A   192.0.2.81
"""


@pytest.fixture(scope="module")
def lab(make_lab):
    for p in (labmod.CONTROL_BIN, labmod.CTL_BIN):
        if not os.access(p, os.X_OK):
            pytest.fail("not built: %s" % p)
    with open(os.path.join(labmod.REPO, "tests", "data", "example.com.zone")) as f:
        com = f.read()
    with make_lab(primary={COM: com, NET: _NET_TEXT % NET_SERIAL}) as lb:
        yield lb


def zone_status(lab, zone):
    obj = json.loads(lab.zonesvc.ctl("--json", "zone-status", zone).stdout)
    return obj.get("zone", obj)


def txt(lab, name, server=SERVER4):
    r = lab.query(dns.message.make_query(name, "TXT"), server)
    return [rd.strings for rrset in r.answer for rd in rrset]


def test_whole_lab_restart_serves_last_good_at_once(lab):
    # the last good version: one change after the first transfer
    com = lab.nsd.bump(COM)
    lab.wait_serial(COM, com, timeout=NOTIFY_SECONDS)
    good = {COM: com, NET: NET_SERIAL}
    for z in ZONES:
        st = zone_status(lab, z)
        assert st["state"] == "published" and st["serial"] == good[z], st
    snaps = sorted(f for f in os.listdir(lab.snapdir) if f.endswith(".snap"))
    assert snaps == ["example.com.snap", "example.net.snap"]

    # the whole lab down, by pid; the directories stay
    pids = (lab.pid, lab.zonesvc.proc.pid, lab.nsd.proc.pid)
    assert lab.stop() == 0, lab.log_text(3000)
    lab.zonesvc.stop()
    lab.nsd.stop()
    assert not any(labmod.pid_alive(p) for p in pids), pids
    assert sorted(f for f in os.listdir(lab.snapdir) if f.endswith(".snap")) == snaps
    assert lab.served_serial(COM, SERVER4) is None      # nothing answers now

    # the dataplane alone: the last good serials at once
    ready = lab.start_dataplane(wait_zone=False)
    assert not lab.zonesvc.alive() and not lab.nsd.alive()
    first = None
    while first is None and time.monotonic() < ready + FIRST_ANSWER_SECONDS + 5:
        if lab.served_serial(COM, SERVER4) is not None:
            first = time.monotonic() - ready
        else:
            time.sleep(0.02)
    assert first is not None and first < FIRST_ANSWER_SECONDS, (first, lab.log_text(3000))
    for server in (SERVER4, SERVER6):
        for z in ZONES:
            assert lab.served_serial(z, server) == good[z], (z, server)
    assert txt(lab, "changed-%d.example.com" % com) == [(b"serial %d" % com,)]
    assert {z["zone"].rstrip(".") for z in lab.cmd("zones")["zones"]} == {"example.com",
                                                                          "example.net"}
    assert not lab.zonesvc.alive()      # all of that without control
    print("\nfirst answer %.3f s after the dataplane was ready" % first)

    # control again, without the primary: published from its saved state
    lab.zonesvc.start()
    for z in ZONES:
        st = zone_status(lab, z)
        assert st["state"] == "published" and st["served"] and st["serial"] == good[z], st

    # a refresh fails; what is served does not change
    before = zone_status(lab, COM)["failures"]
    p = lab.zonesvc.ctl("refresh", COM, check=False)
    assert p.returncode == 0, p.stdout + p.stderr
    st = labmod.labprimary.wait_until(
        lambda: (lambda s: s if s["failures"] > before and s["last_error"] else None)(
            zone_status(lab, COM)), 15, "a failed refresh of %s" % COM)
    assert st["serial"] == com and st["served"], st
    for server in (SERVER4, SERVER6):
        for z in ZONES:
            assert lab.served_serial(z, server) == good[z], (z, server)
    assert zone_status(lab, NET)["serial"] == NET_SERIAL

    # NSD back: a change arrives
    lab.nsd.start()
    new = lab.nsd.bump(NET)
    lab.wait_serial(NET, new, timeout=NOTIFY_SECONDS)
    assert txt(lab, "changed-%d.example.net" % new, SERVER6) == [(b"serial %d" % new,)]
    assert lab.served_serial(COM) == com
    st = zone_status(lab, NET)
    assert st["state"] == "published" and st["serial"] == new, st
