"""The appliance as a secondary, end to end in the lab (lab.py primary=):
NSD in the primary namespace serves example.com and example.net with TSIG
and NOTIFY; edgedns-control in the edge namespace transfers them over the
management veth, writes the snapshots and loads them into the DPDK
dataplane, which started with none; the client namespace gets the answers
from the worker. Then a change on NSD (NOTIFY), NSD stopped (the last good
version stays served), edgedns-control restarted (serving goes on, state
kept), NSD back with a newer version.

One lab for the module; the tests build on each other, in file order.
"""

import os
import threading
import time

import dns.message
import dns.rcode
import dns.rdatatype
import pytest

import lab as labmod
from lab import SERVER4, SERVER6

COM, NET = "example.com.", "example.net."
COM_SERIAL, NET_SERIAL = 2024010101, 2024020101
NOTIFY_SECONDS = 5.0

_NET_TEXT = """$ORIGIN example.net.
$TTL 300
@    IN SOA ns1 hostmaster %d 3600 600 86400 300
@    IN NS  ns1
ns1  IN A   192.0.2.53
www  IN A   192.0.2.81
www  IN AAAA 2001:db8::81
"""


def _zones():
    with open(os.path.join(labmod.REPO, "tests", "data", "example.com.zone")) as f:
        com = f.read()
    return {COM: com, NET: _NET_TEXT % NET_SERIAL}


@pytest.fixture(scope="module")
def lab(make_lab):
    for p in (labmod.CONTROL_BIN, labmod.CTL_BIN):
        if not os.access(p, os.X_OK):
            pytest.fail("not built: %s" % p)
    with make_lab(primary=_zones()) as lb:
        yield lb


def a_values(lab, name, server, rdtype="A"):
    r = lab.query(dns.message.make_query(name, rdtype), server)
    assert r.rcode() == dns.rcode.NOERROR, r.to_text()
    return {rd.to_text() for rrset in r.answer for rd in rrset}


def zone_status(lab, zone):
    import json
    p = lab.zonesvc.ctl("--json", "zone-status", zone)
    obj = json.loads(p.stdout)
    return obj.get("zone", obj)


def test_transferred_zones_answered_by_the_worker(lab):
    # the dataplane started with an empty directory: control wrote these
    assert {f for f in os.listdir(lab.snapdir) if f.endswith(".snap")} == \
        {"example.com.snap", "example.net.snap"}
    before = lab.answered()
    for server in (SERVER4, SERVER6):
        assert lab.served_serial(COM, server) == COM_SERIAL == lab.nsd.serial(COM)
        assert lab.served_serial(NET, server) == NET_SERIAL == lab.nsd.serial(NET)
        assert a_values(lab, "www.example.net", server) == {"192.0.2.81"}
        assert a_values(lab, "www.example.net", server, "AAAA") == {"2001:db8::81"}
    # every UDP answer above was written by the DPDK worker
    lab.stats_when(lambda st: lab.answered() >= before + 8)
    assert lab.answered() >= before + 8
    # TCP goes through the kernel to the dataplane's socket server
    r = lab.query(dns.message.make_query(COM, "SOA"), SERVER4, tcp=True)
    assert r.answer[0][0].serial == COM_SERIAL
    st = zone_status(lab, COM)
    assert st["state"] == "published" and st["serial"] == COM_SERIAL, st
    assert st["primary"] == "%s@53" % labmod.PRIMARY4, st


def test_change_on_primary_arrives_by_notify(lab):
    t0 = time.monotonic()
    new = lab.nsd.bump(COM)        # rewrite + SIGHUP: nsd reloads and NOTIFYs
    lab.wait_serial(COM, new, timeout=NOTIFY_SECONDS)
    took = time.monotonic() - t0
    assert "NOTIFY received" in lab.zonesvc.log_text(20000)
    for server in (SERVER4, SERVER6):
        r = lab.query(dns.message.make_query("changed-%d.example.com" % new, "TXT"), server)
        assert r.answer and r.answer[0][0].strings == (b"serial %d" % new,), r.to_text()
    print("\nnew serial answered %.2f s after the change on nsd" % took)


def test_primary_stopped_last_good_version_served(lab):
    serial = lab.served_serial(COM)
    lab.nsd.stop()
    p = lab.zonesvc.ctl("refresh", COM, check=False)
    assert p.returncode == 0, p.stderr
    st = labmod.labprimary.wait_until(
        lambda: (lambda s: s if s["last_error"] else None)(zone_status(lab, COM)),
        10, "a failed refresh of %s" % COM)
    assert st["serial"] == serial, st
    for server in (SERVER4, SERVER6):
        assert lab.served_serial(COM, server) == serial
        assert lab.served_serial(NET, server) == NET_SERIAL
    assert a_values(lab, "www.example.net", SERVER4) == {"192.0.2.81"}


def test_control_restart_keeps_serving(lab):
    serial = lab.served_serial(COM)
    answers, misses = [0], []
    stop = threading.Event()

    def ask():
        # bounded: until stop, at most 30 s
        end = time.monotonic() + 30
        while not stop.is_set() and time.monotonic() < end:
            got = lab.served_serial(COM)
            if got == serial:
                answers[0] += 1
            else:
                misses.append(got)
            time.sleep(0.02)

    t = threading.Thread(target=ask)
    t.start()
    try:
        old = lab.zonesvc.proc.pid
        lab.restart_control()
        assert lab.zonesvc.proc.pid != old
        time.sleep(1.0)
    finally:
        stop.set()
        t.join(35)
    assert answers[0] > 10 and not misses, (answers, misses)
    st = zone_status(lab, COM)
    assert st["serial"] == serial and st["served"], st   # from its saved state
    assert lab.served_serial(NET) == NET_SERIAL


def test_primary_back_with_newer_version(lab):
    old = lab.served_serial(NET)
    new = old + 1
    with open(lab.nsd.files[NET], "w") as f:
        f.write(_NET_TEXT % new + 'back IN TXT "nsd is back"\n')
    lab.nsd.start()                 # nsd NOTIFYs its zones when it starts
    lab.wait_serial(NET, new, timeout=NOTIFY_SECONDS)
    r = lab.query(dns.message.make_query("back.example.net", "TXT"), SERVER6)
    assert r.answer and r.answer[0][0].strings == (b"nsd is back",)

