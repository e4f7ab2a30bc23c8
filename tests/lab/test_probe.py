"""In-band probes ("probe" on the command socket): a DNS query frame to the
anycast address put into every worker's probe ring, through the worker's own
classification, engine and reply code, the result checked and reported per
lcore; and the stuck-worker test hook ("stall", only with --test-hooks).

Two labs: one worker (net_af_xdp, or net_af_packet as fallback) without
--test-hooks, and two workers on a two-queue veth (net_af_packet, as
test_workers.py) with --test-hooks.
"""

import os
import re
import socket
import subprocess
import threading
import time

import dns.message
import dns.rcode
import pytest

import lab as labmod
from conftest import SWAP_SERIALS, SWAP_ZONE
from lab import CLIENT_IF, KERNEL_IF, SERVER4, SERVER6
from labprimary import wait_until

EXAMPLE_COM_SERIAL = 2024010101
WWW4 = {"192.0.2.80", "192.0.2.81"}
UNSERVED4, UNSERVED6 = "192.0.2.99", "2001:db8::99"
PROBE_SRC4, PROBE_SRC6 = "198.51.100.254", "2001:db8:ffff::fe"


@pytest.fixture(scope="module")
def lab1(make_lab):
    with make_lab() as lb:
        yield lb


@pytest.fixture(scope="module")
def lab2(make_lab):
    with make_lab(vdev="af_packet", workers=2, extra_args=["--test-hooks"]) as lb:
        yield lb


def all_ok(r, workers):
    """Every worker answered and the answer frame checked out."""
    assert r["ok"] is True and r["io"] == "dpdk", r
    assert r["workers"] == workers and len(r["lcores"]) == workers, r
    assert r["passed"] == workers, r
    for lc in r["lcores"]:
        assert lc["status"] == "ok", lc
        assert lc["latency_us"] >= 0 and lc["loops"] > 0, lc
    return r["lcores"]


def soa_ok(r, workers, serial):
    for lc in all_ok(r, workers):
        assert lc["rcode"] == "NOERROR" and lc["aa"] is True and lc["tc"] is False, lc
        assert lc["ancount"] == 1 and lc["type"] == "SOA" and lc["serial"] == serial, lc


class Capture:
    """Every frame seen on an interface of a namespace (both directions),
    collected by a thread until stop()."""

    def __init__(self, ns, ifname):
        self.s = labmod.netns_socket(ns, socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
        self.s.bind((ifname, 0))
        self.s.settimeout(0.05)
        self.frames = []
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                self.frames.append(self.s.recv(65535))
            except socket.timeout:
                continue
            except OSError:
                return

    def stop(self):
        time.sleep(0.2)       # what is still on its way
        self._stop.set()
        self._t.join(5)
        self.s.close()
        return self.frames


def _contains(frames, addr):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    b = socket.inet_pton(fam, addr)
    return [f for f in frames if b in f]


# ---- one worker ----------------------------------------------------------------

def test_probe_soa_ipv4_and_ipv6(lab1):
    for dst in (SERVER4, SERVER6):
        r = lab1.probe(dst, "example.com.", "SOA")
        soa_ok(r, 1, EXAMPLE_COM_SERIAL)
        assert r["dst"] == dst and r["qname"] == "example.com." and r["qtype"] == "SOA"
        assert r["from"] == (PROBE_SRC6 if ":" in dst else PROBE_SRC4)
        assert r["lcores"][0]["lcore"] == lab1.lcores()[0]["lcore"]
    # SOA is the default type
    soa_ok(lab1.probe(SERVER4, "example.com"), 1, EXAMPLE_COM_SERIAL)


def test_probe_sees_the_new_serial_after_a_load(lab1, lab_zones):
    old, new = SWAP_SERIALS
    try:
        for serial in (new, old, new):
            r = lab1.cmd("load %s %s" % (SWAP_ZONE, lab_zones.swap[serial]))
            assert r["ok"] and r["serial"] == serial, r
            for dst in (SERVER4, SERVER6):
                soa_ok(lab1.probe(dst, SWAP_ZONE), 1, serial)
            # the canary record of that version, through the same path
            lc = all_ok(lab1.probe(SERVER4, "version." + SWAP_ZONE, "TXT"), 1)[0]
            assert lc["type"] == "TXT" and lc["rdata"] == '"v%d"' % serial, lc
    finally:
        lab1.cmd("load %s %s" % (SWAP_ZONE, lab_zones.swap[old]))


def test_probe_first_answer_rdata(lab1):
    lc = all_ok(lab1.probe(SERVER6, "www.example.com", "A"), 1)[0]
    assert lc["type"] == "A" and lc["rdata"] in WWW4 and lc["ancount"] == 2, lc
    lc = all_ok(lab1.probe(SERVER4, "www.example.com", "AAAA"), 1)[0]
    assert lc["type"] == "AAAA" and lc["rdata"] == "2001:db8::80", lc
    lc = all_ok(lab1.probe(SERVER4, "example.com", "txt"), 1)[0]
    assert lc["type"] == "TXT" and lc["rdata"] == '"v=spf1 mx -all"', lc
    # a CNAME answer: its type, no rdata for it
    lc = all_ok(lab1.probe(SERVER4, "web.example.com", "A"), 1)[0]
    assert lc["type"] == "CNAME" and "rdata" not in lc and lc["ancount"] == 3, lc


@pytest.mark.parametrize("name,rdtype", [("nope.example.com.", "A"),
                                         ("www.example.com.", "MX"),
                                         ("example.net.", "SOA"),
                                         ("nope.example.org.", "TXT")])
def test_probe_rcode_is_the_engines(lab1, name, rdtype):
    """The same rcode, AA and answer count as a real query from the client."""
    real = lab1.query(dns.message.make_query(name, rdtype))
    lc = all_ok(lab1.probe(SERVER4, name, rdtype), 1)[0]
    assert lc["rcode"] == dns.rcode.to_text(real.rcode()), (lc, real)
    assert lc["aa"] == bool(real.flags & 0x0400), (lc, real)
    assert lc["ancount"] == sum(len(rr) for rr in real.answer), (lc, real)
    assert lc["rcode"] in ("NXDOMAIN", "NOERROR", "REFUSED")
    assert "serial" not in lc


def test_unserved_address_is_kernel_and_nothing_leaves(lab1):
    """A probe to an address the dataplane does not serve would go to the
    kernel; it is reported as such and goes nowhere: not to the tap, not on
    the wire. Neither do the answered probes."""
    tap = Capture(lab1.edge_ns, KERNEL_IF)
    wire = Capture(lab1.client_ns, CLIENT_IF)
    try:
        s0 = lab1.stats()
        for dst in (UNSERVED4, UNSERVED6):
            r = lab1.probe(dst, "example.com.")
            assert r["ok"] and r["passed"] == 0, r
            assert [lc["status"] for lc in r["lcores"]] == ["kernel"], r
            assert "rcode" not in r["lcores"][0]
        for dst in (SERVER4, SERVER6):
            soa_ok(lab1.probe(dst, "example.com."), 1, EXAMPLE_COM_SERIAL)
        s1 = lab1.stats()
        # positive controls: each capture sees traffic it should
        assert lab1.query(dns.message.make_query("www.example.com", "A")).answer
        lab1.client(["ping", "-c", "1", "-W", "2", SERVER4])
    finally:
        tap_frames, wire_frames = tap.stop(), wire.stop()
    assert s1["probes"] - s0["probes"] == 4
    assert _contains(wire_frames, labmod.CLIENT4), "the wire capture saw nothing"
    assert _contains(tap_frames, labmod.CLIENT4), "the tap capture saw nothing"
    for addr in (PROBE_SRC4, PROBE_SRC6, UNSERVED4, UNSERVED6):
        assert not _contains(tap_frames, addr), "a probe frame reached %s" % KERNEL_IF
        assert not _contains(wire_frames, addr), "a probe frame went on the wire"


def test_probes_leave_the_traffic_counters_alone_under_load(lab1):
    """dnsperf from the client while probes run: every probe passes, every
    query is answered, and the workers' answer counter moved by exactly the
    answers dnsperf got: probes count only in "probes"."""
    qps, seconds = 3000, 3
    qfile = os.path.join(lab1.workdir, "probe-load-queries.txt")
    with open(qfile, "w") as f:
        f.write("www.example.com A\nexample.com SOA\nnope.example.com AAAA\n")
    lc0, s0 = lab1.lcores()[0], lab1.stats()
    perf = subprocess.Popen(["ip", "netns", "exec", lab1.client_ns, "dnsperf", "-s", SERVER4,
                             "-d", qfile, "-Q", str(qps), "-l", str(seconds), "-t", "3"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    probes, bad = 0, []
    try:
        while perf.poll() is None:
            r = lab1.probe(SERVER4 if probes % 2 == 0 else SERVER6, "example.com.")
            probes += 1
            if r.get("passed") != 1 or r["lcores"][0].get("serial") != EXAMPLE_COM_SERIAL:
                bad.append(r)
            time.sleep(0.02)
        out, _ = perf.communicate(timeout=30)
    finally:
        if perf.poll() is None:
            os.kill(perf.pid, 9)
            perf.wait(5)
    m = {k: int(v) for k, v in re.findall(r"Queries (sent|completed|lost):\s+(\d+)", out)}
    s1 = lab1.stats()
    assert m.get("lost") == 0 and m["completed"] >= qps * seconds // 2, (out[-600:], {
        k: s1[k] - s0[k] for k in s0 if isinstance(s0[k], int)})
    assert probes >= 20 and not bad, (probes, bad[:3])
    lc1 = lab1.lcores()[0]
    s1 = lab1.stats_when(lambda s: s["probes"] - s0["probes"] == probes)
    assert s1["probes"] - s0["probes"] == probes
    assert lc1["answered"] - lc0["answered"] == m["completed"]
    for k in ("malformed", "dropped", "tx_dropped", "rrl_limited"):
        assert s1[k] == s0[k], k
    # rx counts wire frames only: the queries and whatever the client's
    # kernel sent besides (ARP, ND), never the probes
    assert m["completed"] <= lc1["rx"] - lc0["rx"] < m["completed"] + 50


def test_probe_usage_errors(lab1):
    for line in ("probe", "probe 192.0.2.53", "probe nope example.com",
                 "probe 192.0.2.53 example.com BOGUS", "probe 192.0.2.53 example.com SOA timeout=0",
                 "probe 192.0.2.53 example.com SOA timeout=9999",
                 "probe 192.0.2.53 example.com SOA port=1",
                 "probe 192.0.2.53 example.com SOA from=2001:db8::1",
                 "probe 192.0.2.53 example.com SOA color=red",
                 "probe 192.0.2.53 " + "a" * 64 + ".example.com"):
        r = lab1.cmd(line)
        assert r["ok"] is False and r["error"], (line, r)
    # a source address of one's own
    r = lab1.probe(SERVER4, "example.com.", "SOA", timeout=1000, from_="203.0.113.7")
    soa_ok(r, 1, EXAMPLE_COM_SERIAL)
    assert r["from"] == "203.0.113.7" and r["timeout_ms"] == 1000


def test_stall_needs_test_hooks(lab1):
    lc = lab1.lcores()[0]
    r = lab1.cmd("stall %d 100" % lc["lcore"])
    assert r["ok"] is False and "--test-hooks" in r["error"], r
    # and nothing stalled
    soa_ok(lab1.probe(SERVER4, "example.com."), 1, EXAMPLE_COM_SERIAL)


# ---- two workers, with --test-hooks ---------------------------------------

def test_every_worker_answers(lab2):
    ids = sorted(lc["lcore"] for lc in lab2.lcores())
    assert len(ids) == 2
    for dst in (SERVER4, SERVER6):
        r = lab2.probe(dst, "example.com.")
        soa_ok(r, 2, EXAMPLE_COM_SERIAL)
        assert sorted(lc["lcore"] for lc in r["lcores"]) == ids
    per = [lc["probes"] for lc in lab2.lcores()]
    assert all(n >= 2 for n in per), per


def test_stalled_worker_times_out_then_answers_again(lab2):
    """A worker that stops polling: its heartbeat stops, its probe times
    out, the other worker's does not; after the stall its late result is
    not taken for a later probe's, and it answers again."""
    a, b = [lc["lcore"] for lc in lab2.lcores()]
    r = lab2.cmd("stall %d 2500" % a)
    assert r == {"ok": True, "lcore": a, "ms": 2500}, r
    t0 = time.monotonic()
    r = lab2.probe(SERVER4, "example.com.", timeout=200)
    st = {lc["lcore"]: lc for lc in r["lcores"]}
    assert st[a]["status"] == "timeout" and "rcode" not in st[a], r
    assert st[b]["status"] == "ok" and st[b]["serial"] == EXAMPLE_COM_SERIAL, r
    assert r["passed"] == 1
    l1 = {lc["lcore"]: lc["loops"] for lc in lab2.lcores()}
    time.sleep(0.3)
    l2 = {lc["lcore"]: lc["loops"] for lc in lab2.lcores()}
    assert time.monotonic() - t0 < 1.4, "the stall may have ended before the heartbeat was read"
    assert l2[a] == l1[a] and l2[b] > l1[b], (l1, l2)
    # another stall while one runs: the worker does not take it (it is
    # stuck), so it is withdrawn after a second, with an error
    r = lab2.cmd("stall %d 100" % a)
    assert r["ok"] is False and "did not take" in r["error"], r
    # after the stall: both answer again, and the heartbeat moves
    wait_until(lambda: lab2.probe(SERVER4, "example.com.")["passed"] == 2, 5.0,
               "both workers pass", step=0.05)
    assert time.monotonic() - t0 >= 2.4
    l3 = {lc["lcore"]: lc["loops"] for lc in lab2.lcores()}
    assert l3[a] > l2[a]
    # the timed-out probe's frame went through the worker late: counted,
    # its result freed, and no later probe took it for its own
    for _ in range(5):
        soa_ok(lab2.probe(SERVER6, "example.com."), 2, EXAMPLE_COM_SERIAL)


def test_load_during_a_stall_waits_for_it(lab2, lab_zones):
    """A zone load publishes the new set at once, but its grace period needs
    the stalled worker's quiescent state: the load's reply comes after the
    stall, ok, and from then on both workers answer the new serial."""
    old, new = SWAP_SERIALS
    a = lab2.lcores()[0]["lcore"]
    try:
        r = lab2.cmd("stall %d 2000" % a)
        assert r["ok"], r
        t0 = time.monotonic()
        # the load runs on a writer thread: meanwhile the command socket
        # answers the health checks' commands (lcores, probe)
        box = {}
        th = threading.Thread(target=lambda: box.update(r=lab2.cmd(
            "load %s %s" % (SWAP_ZONE, lab_zones.swap[new]), timeout=15)))
        th.start()
        time.sleep(0.2)
        # stats and zones read the zone table without waiting for the
        # grace period (they would hold up the command thread)
        st = lab2.cmd("stats")
        zs = lab2.cmd("zones")
        assert st["ok"] and zs["ok"], (st, zs)
        during = lab2.lcores()
        pr = lab2.probe(SERVER4, "example.com.", timeout=100)
        answered_during = "r" not in box
        th.join(15)
        took = time.monotonic() - t0
        r = box.get("r")
        assert answered_during, "lcores and probe came after the load"
        assert len(during) == 2 and pr["passed"] == 1, (during, pr)
        assert r and r["ok"] and r["serial"] == new, r
        assert took >= 1.5, "the load did not wait for the stalled worker (%.2fs)" % took
        assert took < 5.0
        soa_ok(lab2.probe(SERVER4, SWAP_ZONE), 2, new)
        log = lab2.log_text(20000)
        assert "zone publication: a reader has not passed a quiescent state" in log, log
        assert re.search(r"zone publication: grace period over after \d+ ms", log), log
    finally:
        lab2.cmd("load %s %s" % (SWAP_ZONE, lab_zones.swap[old]), timeout=15)
    soa_ok(lab2.probe(SERVER6, SWAP_ZONE), 2, old)


def test_stall_arguments(lab2):
    a = lab2.lcores()[0]["lcore"]
    for line in ("stall", "stall %d" % a, "stall %d 0" % a, "stall %d 10001" % a,
                 "stall 0 100", "stall 99 100", "stall x 100"):
        r = lab2.cmd(line)
        assert r["ok"] is False and r["error"], (line, r)
    soa_ok(lab2.probe(SERVER4, "example.com."), 2, EXAMPLE_COM_SERIAL)
