"""The DPDK dataplane in the namespace lab (see lab.py): UDP answered by the
workers on IPv4 and IPv6, TCP, ARP, ND and ICMP through the net_tap
exception path, DNS rules end to end, snapshot swaps under dnsperf load,
hand-made malformed frames, counters on the command socket and through DPDK
telemetry, link state, SIGTERM.

One lab for the module (net_af_xdp, or net_af_packet when that fails or
EDGEDNS_LAB_VDEV=af_packet). The SIGTERM test stops it and so runs last.
Negative checks ("no answer") wait a short window once a counter has shown
the frame arrived; everything else polls with a deadline.
"""

import os
import re
import socket
import struct
import subprocess
import threading
import time

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import pytest

import frames as fr
import lab as labmod
from conftest import SIGNED_ZONE, SWAP_SERIALS, SWAP_ZONE
from lab import CLIENT4, CLIENT6, CLIENT_IF, KERNEL_IF, SERVER4, SERVER6

SWAP_QPS = int(os.environ.get("EDGEDNS_LAB_QPS", "20000"))
SWAP_SECONDS = 8
WWW4 = {"192.0.2.80", "192.0.2.81"}


@pytest.fixture(scope="module")
def lab(make_lab):
    with make_lab() as lb:
        yield lb


def poll(fn, timeout, what):
    """fn() until it returns something true; that value. Fails after timeout
    with the message what (or what(), evaluated then)."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = fn()
        if last:
            return last
        if time.monotonic() > deadline:
            what = what() if callable(what) else what
            raise AssertionError("%s: not within %.1fs (last: %r)" % (what, timeout, last))
        time.sleep(0.05)


def values(resp, name, rdtype, section="answer"):
    out = set()
    for rrset in getattr(resp, section):
        if rrset.name == dns.name.from_text(name) and rrset.rdtype == rdtype:
            out |= {rd.to_text() for rd in rrset}
    return out


def q(name, rdtype, **kw):
    return dns.message.make_query(name, rdtype, **kw)


# ---- answers -------------------------------------------------------------

def test_udp_answers_come_from_the_dataplane(lab):
    s0, a0 = lab.stats(), lab.answered()
    out4 = lab.kdig("@" + SERVER4, "+short", "www.example.com", "A")
    out6 = lab.kdig("@" + SERVER6, "+short", "www.example.com", "A")
    assert set(out4.split()) == WWW4
    assert set(out6.split()) == WWW4
    for server in (SERVER4, SERVER6):
        r = lab.query(q("www.example.com", "AAAA"), server)
        assert r.rcode() == dns.rcode.NOERROR
        assert r.flags & dns.flags.AA and not r.flags & dns.flags.TC
        assert values(r, "www.example.com.", dns.rdatatype.AAAA) == {"2001:db8::80"}
        assert str(r.question[0].name) == "www.example.com."
    a1 = lab.answered()
    s1 = lab.stats_when(lambda s: s["queries_udp"] - s0["queries_udp"] >= a1 - a0
                        and s["tx_frames"] - s0["tx_frames"] >= 4)
    # 4 queries, all answered by the workers, none by the kernel's server
    assert a1 - a0 >= 4
    assert s1["queries_udp"] - s0["queries_udp"] == a1 - a0
    assert s1["rx_frames"] - s0["rx_frames"] >= 4
    assert s1["tx_frames"] - s0["tx_frames"] >= 4
    assert s1["queries_tcp"] == s0["queries_tcp"]


def test_tcp_goes_through_the_kernel(lab):
    s0, a0 = lab.stats(), lab.answered()
    out4 = lab.kdig("@" + SERVER4, "+tcp", "+short", "www.example.com", "A")
    out6 = lab.kdig("@" + SERVER6, "+tcp", "+short", "www.example.com", "A")
    assert set(out4.split()) == WWW4
    assert set(out6.split()) == WWW4
    r = lab.query(q("mail.example.com", "A"), SERVER6, tcp=True)
    assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA
    assert values(r, "mail.example.com.", dns.rdatatype.A) == {"192.0.2.25"}
    s1 = lab.stats_when(lambda s: s["to_kernel"] - s0["to_kernel"] >= 9
                        and s["from_kernel"] - s0["from_kernel"] >= 6
                        and s["queries_tcp"] - s0["queries_tcp"] >= 3)
    assert s1["queries_tcp"] - s0["queries_tcp"] >= 3
    assert s1["tcp_accepted"] - s0["tcp_accepted"] >= 3
    # the segments went to the kernel and its answers came back through us
    assert s1["to_kernel"] - s0["to_kernel"] >= 9       # 3 x (SYN, query, ACK/FIN...)
    assert s1["from_kernel"] - s0["from_kernel"] >= 6
    assert lab.answered() == a0


def _neigh(lab, addr):
    p = lab.client(["ip", "-j", "neigh", "show", addr, "dev", CLIENT_IF])
    import json
    entries = json.loads(p.stdout or "[]")
    return entries[0].get("lladdr", "").lower() if entries else ""


def test_arp_nd_and_ping(lab):
    lab.client(["ip", "neigh", "flush", "dev", CLIENT_IF])
    s0 = lab.stats()
    p4 = lab.client(["ping", "-c", "2", "-i", "0.2", "-W", "2", SERVER4], check=False)
    p6 = lab.client(["ping", "-6", "-c", "2", "-i", "0.2", "-W", "2", SERVER6], check=False)
    assert p4.returncode == 0, p4.stdout + p4.stderr
    assert p6.returncode == 0, p6.stdout + p6.stderr
    assert " 0% packet loss" in p4.stdout and " 0% packet loss" in p6.stdout
    port_mac = lab.ports()[0]["mac"].lower()
    assert port_mac == lab.edge_mac
    assert _neigh(lab, SERVER4) == port_mac          # ARP answered by the edge kernel
    assert _neigh(lab, SERVER6) == port_mac          # so was neighbour discovery
    s1 = lab.stats_when(lambda s: s["to_kernel"] - s0["to_kernel"] >= 6
                        and s["from_kernel"] - s0["from_kernel"] >= 6)
    # ARP request + 2 echo (v4), NS + 2 echo (v6) at least, each way
    assert s1["to_kernel"] - s0["to_kernel"] >= 6
    assert s1["from_kernel"] - s0["from_kernel"] >= 6


# ---- DNS rules end to end ------------------------------------------------

def test_refused_nxdomain_nodata(lab):
    s0 = lab.stats()
    for server in (SERVER4, SERVER6):
        r = lab.query(q("www.nothere.test", "A"), server)
        assert r.rcode() == dns.rcode.REFUSED and not r.answer
        assert not r.flags & dns.flags.AA

        r = lab.query(q("nonexistent.example.com", "A"), server)
        assert r.rcode() == dns.rcode.NXDOMAIN and r.flags & dns.flags.AA
        assert not r.answer
        soa = [rr for rr in r.authority if rr.rdtype == dns.rdatatype.SOA]
        assert soa and soa[0][0].serial == 2024010101 and soa[0].ttl == 300

        r = lab.query(q("www.example.com", "MX"), server)   # NODATA
        assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA
        assert not r.answer
        assert [rr for rr in r.authority if rr.rdtype == dns.rdatatype.SOA]
    s1 = lab.stats_when(lambda s: s["rcodes"]["REFUSED"] - s0["rcodes"]["REFUSED"] >= 2
                        and s["rcodes"]["NXDOMAIN"] - s0["rcodes"]["NXDOMAIN"] >= 2)
    assert s1["rcodes"]["REFUSED"] - s0["rcodes"]["REFUSED"] == 2
    assert s1["rcodes"]["NXDOMAIN"] - s0["rcodes"]["NXDOMAIN"] == 2


def test_dnssec_with_do(lab):
    # The example.com zone is unsigned; signed.example is signed at setup.
    r = lab.query(q(SIGNED_ZONE, "SOA", want_dnssec=True), SERVER4)
    assert r.rcode() == dns.rcode.NOERROR
    assert r.ednsflags & dns.flags.DO
    assert values(r, SIGNED_ZONE, dns.rdatatype.RRSIG), r.to_text()
    r = lab.query(q(SIGNED_ZONE, "SOA", use_edns=0), SERVER4)
    assert not values(r, SIGNED_ZONE, dns.rdatatype.RRSIG)
    r = lab.query(q("nothere." + SIGNED_ZONE, "A", want_dnssec=True), SERVER6)
    assert r.rcode() == dns.rcode.NXDOMAIN
    types = {rr.rdtype for rr in r.authority}
    assert {dns.rdatatype.SOA, dns.rdatatype.NSEC, dns.rdatatype.RRSIG} <= types, r.to_text()
    r = lab.query(q("www." + SIGNED_ZONE, "MX", want_dnssec=True), SERVER4)  # NODATA
    assert r.rcode() == dns.rcode.NOERROR and not r.answer
    assert dns.rdatatype.NSEC in {rr.rdtype for rr in r.authority}


def test_large_answer_truncated_over_udp_then_full_over_tcp(lab):
    s0, a0 = lab.stats(), lab.answered()
    name = "long.example.com"
    for server in (SERVER4, SERVER6):
        r = lab.query(q(name, "TXT", use_edns=0, payload=512), server)
        assert r.flags & dns.flags.TC, r.to_text()
        assert not r.answer                               # whole RRsets only
        r = lab.query(q(name, "TXT", use_edns=False), server)   # no EDNS: 512
        assert r.flags & dns.flags.TC
        r = lab.query(q(name, "TXT", use_edns=0, payload=1232), server)
        assert not r.flags & dns.flags.TC and r.answer    # fits 1232
        r = lab.query(q(name, "TXT", use_edns=0, payload=512), server, tcp=True)
        assert not r.flags & dns.flags.TC
        txt = values(r, name + ".", dns.rdatatype.TXT)
        assert len(txt) == 1 and "end of the long text" in next(iter(txt))
    s1 = lab.stats_when(lambda s: s["truncated"] - s0["truncated"] >= 4
                        and s["queries_tcp"] - s0["queries_tcp"] >= 2)
    assert s1["truncated"] - s0["truncated"] == 4
    assert lab.answered() - a0 == 6
    assert s1["queries_tcp"] - s0["queries_tcp"] == 2


# ---- snapshot swaps under load ---------------------------------------------

def _swap_checker(lab, stop, res):
    """Ask the swapped zone over and over; every answer must come whole
    from one of the two snapshots."""
    old, new = SWAP_SERIALS
    i = 0
    while not stop.is_set() and i < 200000:
        i += 1
        server = SERVER4 if i % 2 else SERVER6
        kind = i % 3
        try:
            if kind == 0:
                r = lab.query(q(SWAP_ZONE, "SOA"), server, timeout=2)
                serial = r.answer[0][0].serial
                ok = r.rcode() == 0 and serial in SWAP_SERIALS
                res["serials"].add(serial)
            elif kind == 1:
                r = lab.query(q("version." + SWAP_ZONE, "TXT"), server, timeout=2)
                txt = values(r, "version." + SWAP_ZONE, dns.rdatatype.TXT)
                ok = r.rcode() == 0 and txt in ({'"v%d"' % old}, {'"v%d"' % new})
            else:
                # only in the new version: NXDOMAIN must carry the old
                # serial, an answer must be the new record
                r = lab.query(q("only-new." + SWAP_ZONE, "TXT"), server, timeout=2)
                if r.rcode() == dns.rcode.NXDOMAIN:
                    ok = r.authority and r.authority[0][0].serial == old
                else:
                    ok = r.rcode() == 0 and values(r, "only-new." + SWAP_ZONE,
                                                   dns.rdatatype.TXT) == {'"new"'}
            if ok:
                res["ok"] += 1
            else:
                res["bad"].append(r.to_text())
        except Exception as ex:  # noqa: BLE001 - a lost or unparsable answer is the failure
            res["bad"].append(repr(ex))
        if len(res["bad"]) > 20:
            break


def test_snapshot_swap_under_load_loses_nothing(lab, lab_zones):
    old, new = SWAP_SERIALS
    r = lab.cmd("load %s %s" % (SWAP_ZONE, lab_zones.swap[old]))
    assert r.get("ok") and r["serial"] == old, r
    qfile = os.path.join(lab.workdir, "dnsperf-queries.txt")
    with open(qfile, "w") as f:
        f.write("www.example.org A\nexample.org SOA\nversion.example.org TXT\n"
                "only-new.example.org TXT\nwww.example.com A\nnope.example.com AAAA\n")
    argv = ["ip", "netns", "exec", lab.client_ns, "dnsperf", "-s", SERVER4, "-d", qfile,
            "-Q", str(SWAP_QPS), "-l", str(SWAP_SECONDS), "-t", "3"]
    res = {"ok": 0, "bad": [], "serials": set()}
    stop = threading.Event()
    checker = threading.Thread(target=_swap_checker, args=(lab, stop, res), daemon=True)
    swaps, replies = 0, []
    perf = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        checker.start()
        deadline = time.monotonic() + SWAP_SECONDS + 3
        while perf.poll() is None and time.monotonic() < deadline:
            serial = SWAP_SERIALS[(swaps + 1) % 2]
            r = lab.cmd("load %s %s" % (SWAP_ZONE, lab_zones.swap[serial]), timeout=10)
            replies.append(r)
            if not (r.get("ok") and r.get("serial") == serial):
                break
            swaps += 1
            time.sleep(0.5)     # pacing of the swaps, not a wait for a result
        out, _ = perf.communicate(timeout=SWAP_SECONDS + 30)
    finally:
        stop.set()
        if perf.poll() is None:
            os.kill(perf.pid, 9)
            perf.wait(5)
        checker.join(10)
    assert all(r.get("ok") for r in replies), replies[-1]
    m = {k: int(v) for k, v in re.findall(r"Queries (sent|completed|lost):\s+(\d+)", out)}
    assert set(m) == {"sent", "completed", "lost"}, out
    assert m["sent"] >= SWAP_QPS * SWAP_SECONDS // 2, out     # the load was there
    assert m["lost"] == 0 and m["completed"] == m["sent"], out
    assert swaps >= 8, "only %d swaps" % swaps
    assert not res["bad"], res["bad"][:5]
    assert res["ok"] >= 100
    assert res["serials"] == set(SWAP_SERIALS)              # both versions were seen
    assert lab.alive()


# ---- malformed frames --------------------------------------------------------

def _q4(lab, sport, ident, payload, **ip):
    return fr.eth(lab.edge_mac, lab.client_mac, 0x0800,
                  fr.ipv4(CLIENT4, SERVER4, payload, ident=ident, **ip))


def _u4(sport, query, **kw):
    return fr.udp(CLIENT4, SERVER4, sport, 53, query, False, **kw)


def _u6(sport, query, **kw):
    return fr.udp(CLIENT6, SERVER6, sport, 53, query, True, **kw)


def _q6(lab, payload, **ip):
    return fr.eth(lab.edge_mac, lab.client_mac, 0x86dd, fr.ipv6(CLIENT6, SERVER6, payload, **ip))


def _flip_udp_cksum(u):
    return u[:6] + struct.pack("!H", struct.unpack("!H", u[6:8])[0] ^ 0x5555) + u[8:]


def _flip_ip_cksum(frame):
    return frame[:24] + struct.pack("!H", struct.unpack("!H", frame[24:26])[0] ^ 0x0101) + frame[26:]


# name -> (family, build(lab, sport, ident, query) -> frame, expected)
# expected: "answer" (the workers answer), "malformed" (counted, dropped),
# "kernel" (to the exception port, no answer), "kernel-answer" (to the
# exception port, answered by the kernel's socket server)
FRAMES = {
    "good-v4": (4, lambda lb, sp, i, d: _q4(lb, sp, i, _u4(sp, d)), "answer"),
    "good-v4-zero-udp-checksum": (4, lambda lb, sp, i, d: _q4(lb, sp, i, _u4(sp, d, cksum=0)),
                                  "answer"),
    "good-v6": (6, lambda lb, sp, i, d: _q6(lb, _u6(sp, d)), "answer"),
    "ethernet-header-only": (4, lambda lb, sp, i, d: fr.eth(lb.edge_mac, lb.client_mac, 0x0800, b""),
                             "malformed"),
    "ipv4-header-truncated": (4, lambda lb, sp, i, d: _q4(lb, sp, i, _u4(sp, d))[:14 + 19],
                              "malformed"),
    "ipv6-header-truncated": (6, lambda lb, sp, i, d: _q6(lb, _u6(sp, d))[:14 + 39], "malformed"),
    "ipv4-ihl-below-5": (4, lambda lb, sp, i, d: _q4(lb, sp, i, _u4(sp, d), ihl=4), "malformed"),
    "ipv4-bad-header-checksum": (4, lambda lb, sp, i, d: _flip_ip_cksum(_q4(lb, sp, i, _u4(sp, d))),
                                 "malformed"),
    "ipv4-total-length-beyond-frame": (
        4, lambda lb, sp, i, d: _q4(lb, sp, i, _u4(sp, d), total=20 + 8 + len(d) + 16), "malformed"),
    "ipv6-payload-length-beyond-frame": (
        6, lambda lb, sp, i, d: _q6(lb, _u6(sp, d), plen=8 + len(d) + 16), "malformed"),
    "udp-length-beyond-ip-payload-v4": (
        4, lambda lb, sp, i, d: _q4(lb, sp, i, _u4(sp, d, length=8 + len(d) + 16)), "malformed"),
    "udp-length-beyond-ip-payload-v6": (
        6, lambda lb, sp, i, d: _q6(lb, _u6(sp, d, length=8 + len(d) + 16)), "malformed"),
    "udp-bad-checksum-v4": (4, lambda lb, sp, i, d: _q4(lb, sp, i, _flip_udp_cksum(_u4(sp, d))),
                            "malformed"),
    "udp-bad-checksum-v6": (6, lambda lb, sp, i, d: _q6(lb, _flip_udp_cksum(_u6(sp, d))),
                            "malformed"),
    "udp-zero-checksum-v6": (6, lambda lb, sp, i, d: _q6(lb, _u6(sp, d, cksum=0)), "malformed"),
    "ipv4-fragment-mf": (4, lambda lb, sp, i, d: _q4(lb, sp, i, _u4(sp, d), flags_frag=0x2000),
                         "kernel"),
    "ipv4-options": (4, lambda lb, sp, i, d: _q4(lb, sp, i, _u4(sp, d), options=b"\x01\x01\x01\x00"),
                     "kernel-answer"),
}


class _Capture:
    """Frames arriving on the kernel interface in the edge namespace."""

    def __init__(self, lab):
        self.s = labmod.netns_socket(lab.edge_ns, socket.AF_PACKET, socket.SOCK_RAW,
                                     socket.htons(0x0003))
        self.s.bind((KERNEL_IF, 0))
        self.s.settimeout(0.1)

    def saw(self, ident, timeout):
        """An IPv4 frame from the client with IP id ident came in."""
        deadline = time.monotonic() + timeout
        want = socket.inet_aton(CLIENT4)
        while time.monotonic() < deadline:
            try:
                data, addr = self.s.recvfrom(65535)
            except socket.timeout:
                continue
            if (addr[2] != socket.PACKET_OUTGOING and len(data) >= 34
                    and data[12:14] == b"\x08\x00" and data[18:20] == struct.pack("!H", ident)
                    and data[26:30] == want):
                return True
        return False

    def close(self):
        self.s.close()


@pytest.mark.parametrize("case", list(FRAMES))
def test_hand_made_frames(lab, case):
    family, build, expected = FRAMES[case]
    idx = list(FRAMES).index(case)
    sport, ident, qid = 41000 + idx, 0x5100 + idx, 0x7100 + idx
    query = fr.dns_query(qid, "www.example.com")
    frame = build(lab, sport, ident, query)

    raw = lab.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    listen = lab.socket(socket.AF_INET6 if family == 6 else socket.AF_INET, socket.SOCK_DGRAM)
    cap = _Capture(lab) if expected.startswith("kernel") else None
    try:
        raw.bind((CLIENT_IF, 0))
        listen.bind((CLIENT6 if family == 6 else CLIENT4, sport))
        listen.settimeout(0.1)
        s0, a0 = lab.stats(), lab.answered()
        raw.send(frame)

        def answer(window):
            deadline = time.monotonic() + window
            while time.monotonic() < deadline:
                try:
                    data = listen.recv(65535)
                except socket.timeout:
                    continue
                if data[:2] == struct.pack("!H", qid):
                    return data
            return None

        if expected == "answer":
            data = answer(3.0)
            assert data is not None, "no answer to a well-formed frame"
            r = dns.message.from_wire(data)
            assert r.rcode() == 0 and values(r, "www.example.com.", dns.rdatatype.A) == WWW4
            assert lab.answered() - a0 == 1
            assert lab.stats()["malformed"] == s0["malformed"]
        elif expected == "malformed":
            poll(lambda: lab.stats()["malformed"] > s0["malformed"], 3.0, "malformed counted")
            assert answer(0.5) is None, "a malformed frame was answered"
            s1 = lab.stats()
            assert s1["malformed"] - s0["malformed"] == 1
            assert lab.answered() == a0
        else:
            seen = cap.saw(ident, 5.0)
            s1 = lab.stats_when(lambda s: s["to_kernel"] > s0["to_kernel"])
            assert seen, "the frame did not reach %s (counter deltas %s)" % (KERNEL_IF, {
                k: s1[k] - s0[k] for k in ("rx_frames", "to_kernel", "kernel_dropped", "malformed",
                                           "queries_udp", "looped")})
            assert s1["to_kernel"] > s0["to_kernel"]
            assert s1["malformed"] == s0["malformed"]
            data = answer(3.0 if expected == "kernel-answer" else 0.5)
            assert lab.answered() == a0, "the workers answered a frame meant for the kernel"
            if expected == "kernel-answer":
                assert data is not None, "the kernel's server did not answer"
                assert lab.stats_when(lambda s: s["from_kernel"] > s0["from_kernel"])[
                    "from_kernel"] > s0["from_kernel"]
            else:
                assert data is None, "an IPv4 fragment was answered"
    finally:
        raw.close()
        listen.close()
        if cap:
            cap.close()


# ---- counters ----------------------------------------------------------------

STATS_KEYS = {"queries_udp", "queries_tcp", "rcodes", "truncated", "dropped", "rx_frames",
              "tx_frames", "to_kernel", "from_kernel", "malformed", "looped", "tx_dropped",
              "kernel_dropped", "rrl_limited", "rrl_slipped", "loops"}


def test_counters_command_socket_and_telemetry(lab):
    lab.kdig("@" + SERVER4, "+short", "www.example.com", "A")
    s0 = lab.stats()
    assert s0["ok"] and STATS_KEYS <= set(s0), set(s0) ^ STATS_KEYS
    lc = lab.lcores()
    assert len(lc) == 1 and lc[0]["lcore"] == 1 and lc[0]["queue"] == 0
    # the worker's heartbeat moves by itself
    loops0 = lc[0]["loops"]
    poll(lambda: lab.lcores()[0]["loops"] > loops0, 5.0, "lcore loops increase")

    before, lc_before = lab.stats(), lab.lcores()[0]
    tel = lab.telemetry("/edgedns/stats")
    tel_lc = lab.telemetry("/edgedns/lcore,1")
    tel_list = lab.telemetry("/edgedns/lcore")
    after, lc_after = lab.stats(), lab.lcores()[0]
    assert tel_list == [1]
    # the same counters: telemetry read between two command-socket reads
    for tk, sk in (("rx", "rx_frames"), ("tx", "tx_frames"), ("to_kernel", "to_kernel"),
                   ("from_kernel", "from_kernel"), ("malformed", "malformed"),
                   ("truncated", "truncated"), ("loops", "loops"),
                   ("rrl_limited", "rrl_limited"), ("rrl_slipped", "rrl_slipped")):
        assert before[sk] <= tel[tk] <= after[sk], (tk, before[sk], tel[tk], after[sk])
    assert lc_before["answered"] <= tel["answered"] <= lc_after["answered"]
    assert tel["queries"] >= tel["answered"] > 0
    assert tel["noerror"] + tel["nxdomain"] + tel["refused"] <= tel["answered"]
    for k in ("rx", "tx", "answered", "to_kernel", "malformed", "loops"):
        assert lc_before[k] <= tel_lc[k] <= lc_after[k], k
    # the stats' answers are the workers' plus the kernel server's
    total = sum(after["rcodes"].values())
    assert total >= lc_after["answered"]
    assert after["queries_udp"] + after["queries_tcp"] == after["queries"]


# ---- link state ------------------------------------------------------------------

def test_link_down_and_up_is_seen(lab):
    ports = lab.ports()
    assert len(ports) == 1
    p = ports[0]
    assert p["link"] is True and p["name"].startswith("net_af_")
    assert p["mac"].lower() == lab.edge_mac and p["exception"]
    try:
        lab.client(["ip", "link", "set", CLIENT_IF, "down"])
        poll(lambda: lab.ports()[0]["link"] is False, 5.0,
             lambda: "ports shows link false after the peer went down (e0: %s; ports: %s)" % (
                 "NO-CARRIER" if "NO-CARRIER" in lab.edge(["ip", "link", "show", "e0"]).stdout
                 else "carrier", lab.ports()[0]["status"]))
        poll(lambda: re.search(r"port 0 \(net_af_\w+\): link down", lab.log_text(100000)), 3.0,
             "link down in the log")
    finally:
        lab.client(["ip", "link", "set", CLIENT_IF, "up"])
        poll(lambda: lab.udp_raw_query("example.com", SERVER4, timeout=0.5), 10.0,
             "answers again after the link came back")
    poll(lambda: lab.ports()[0]["link"] is True, 5.0, "ports shows link true again")


# ---- stop: last, it ends the module's lab ------------------------------------

def test_sigterm_stops_cleanly(lab):
    assert lab.alive()
    t0 = time.monotonic()
    code = lab.stop(timeout=5.0)
    took = time.monotonic() - t0
    assert code == 0, "exit %s after %.1fs:\n%s" % (code, took, lab.log_text())
    assert took < 5.0
    assert "stopping" in lab.log_text()
    poll(lambda: lab.edge(["ip", "link", "show", KERNEL_IF], check=False).returncode != 0, 3.0,
         "%s gone" % KERNEL_IF)
