"""Response rate limiting and DNS cookies on the DPDK path.

A lab with --rrl-rate 50 --rrl-slip 2 (and a fixed --cookie-secret). One
flood from 192.0.2.1 (paced at about 1000 queries/s, at most 4000 queries
or 4 s); while it runs, once the dataplane reports limiting, a second
client in another /24 (198.51.100.1) asks at a low rate, and 192.0.2.1
asks with a valid server cookie and without one. The tests then check what
each saw. Skipped, with the reason, while the options are not in
edgedns-dataplane --help.
"""

import socket
import struct
import threading
import time

import dns.edns
import dns.flags
import dns.message
import dns.rcode
import pytest

import frames as fr
from lab import CLIENT4, CLIENT_IF, OTHER4, SERVER4

RATE, SLIP = 50, 2
COOKIE_SECRET = "000102030405060708090a0b0c0d0e0f"
FLOOD_QPS, FLOOD_MAX, FLOOD_SECONDS = 1000, 4000, 4.0
PROBES = 8
COOKIE = 10     # EDNS option code

@pytest.fixture(scope="module")
def lab(make_lab):
    args = ["--rrl-rate", str(RATE), "--rrl-slip", str(SLIP),
            "--rrl-ipv4-prefix", "24", "--rrl-ipv6-prefix", "56"]
    args += ["--cookie-secret", COOKIE_SECRET]
    with make_lab(extra_args=args) as lb:
        lb.client(["ip", "addr", "add", OTHER4 + "/32", "dev", CLIENT_IF])
        yield lb


def _kind(data, qid=None):
    """'full' (an answer), 'slip' (TC=1, empty), or 'other'."""
    if len(data) < 12 or (qid is not None and data[:2] != struct.pack("!H", qid)):
        return "other"
    flags, ancount = struct.unpack("!H", data[2:4])[0], struct.unpack("!H", data[6:8])[0]
    if flags & 0x0200:
        return "slip"
    if flags & 0x000f == 0 and ancount > 0:
        return "full"
    return "other"


def _sock(lab, source):
    s = lab.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((source, 0))
    return s


def _ask(lab, source, wire, qid, timeout=1.0):
    """One query from source; the kind of answer, or 'none'."""
    s = _sock(lab, source)
    try:
        s.settimeout(0.05)
        s.sendto(wire, (SERVER4, 53))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                data = s.recv(65535)
            except socket.timeout:
                continue
            if data[:2] == struct.pack("!H", qid):
                return _kind(data, qid)
        return "none"
    finally:
        s.close()


def _cookie_query(qid, cookie):
    m = dns.message.make_query("www.example.com", "A", use_edns=0,
                               options=[dns.edns.GenericOption(COOKIE, cookie)])
    m.id = qid
    return m.to_wire()


def _server_cookie(lab):
    """Client cookie + the server cookie from a first answer."""
    client = bytes.fromhex("0123456789abcdef")
    s = _sock(lab, CLIENT4)
    try:
        s.settimeout(2.0)
        s.sendto(_cookie_query(0x4c01, client), (SERVER4, 53))
        r = dns.message.from_wire(s.recv(65535))
    finally:
        s.close()
    for o in r.options:
        if o.otype == COOKIE:
            data = o.data if hasattr(o, "data") else o.to_wire()
            assert data[:8] == client and 16 <= len(data) <= 40, data.hex()
            return bytes(data)
    raise AssertionError("no COOKIE option in the answer:\n%s" % r.to_text())


def _flood(lab, res, stop):
    s = _sock(lab, CLIENT4)
    s.setblocking(False)
    base = fr.dns_query(0, "www.example.com")
    t0 = time.monotonic()
    sent = 0

    def drain():
        while True:
            try:
                data = s.recv(65535)
            except BlockingIOError:
                return
            res[_kind(data)] += 1

    try:
        while sent < FLOOD_MAX and not stop.is_set():
            elapsed = time.monotonic() - t0
            if elapsed > FLOOD_SECONDS:
                break
            while sent < min(FLOOD_MAX, int(elapsed * FLOOD_QPS) + 1):
                try:
                    s.sendto(struct.pack("!H", sent & 0xffff) + base[2:], (SERVER4, 53))
                    sent += 1
                except BlockingIOError:
                    break
            drain()
            time.sleep(0.001)
        res["elapsed"] = time.monotonic() - t0
        res["end"] = time.monotonic()
        end = time.monotonic() + 1.0          # late answers
        while time.monotonic() < end:
            drain()
            time.sleep(0.01)
    finally:
        res["sent"] = sent
        s.close()


@pytest.fixture(scope="module")
def flood(lab):
    """Run the flood and the probes once; what everyone saw."""
    cookie = _server_cookie(lab)
    s0 = lab.stats()
    res = {"full": 0, "slip": 0, "other": 0, "sent": 0, "elapsed": 0.0, "end": None}
    probes = {"other_prefix": [], "cookie": [], "no_cookie": []}
    stop = threading.Event()
    t = threading.Thread(target=_flood, args=(lab, res, stop), daemon=True)
    t.start()
    try:
        deadline = time.monotonic() + FLOOD_SECONDS
        while lab.stats()["rrl_limited"] == s0["rrl_limited"] and time.monotonic() < deadline:
            time.sleep(0.05)
        limited_seen = lab.stats()["rrl_limited"] > s0["rrl_limited"]
        for i in range(PROBES if limited_seen else 0):
            qid = 0x5000 + i
            probes["other_prefix"].append(_ask(lab, OTHER4, fr.dns_query(qid, "www.example.com"), qid))
            if cookie:
                probes["cookie"].append(_ask(lab, CLIENT4, _cookie_query(qid + 0x100, cookie),
                                             qid + 0x100))
            # limited: dropped or slipped; a short wait is enough
            probes["no_cookie"].append(_ask(lab, CLIENT4, fr.dns_query(qid + 0x200, "www.example.com"),
                                            qid + 0x200, timeout=0.2))
            time.sleep(0.05)     # a low rate
        probes_done = time.monotonic()
    finally:
        t.join(FLOOD_SECONDS + 5)
        stop.set()
        t.join(5)
    s1 = lab.stats()
    # the probes mean something only while the flood was still going
    during = res["end"] is not None and probes_done < res["end"]
    out = {"res": res, "probes": probes, "limited_seen": limited_seen, "during": during,
           "d": {k: s1[k] - s0[k] for k in ("rrl_limited", "rrl_slipped", "queries_udp")}}
    print("flood: %r" % out)    # shown with a failure
    return out


def test_flood_from_one_prefix_is_limited(flood):
    res, d = flood["res"], flood["d"]
    assert res["sent"] >= 1000, res
    assert flood["limited_seen"]
    assert d["rrl_limited"] > 0 and d["rrl_slipped"] > 0, d
    # RATE full answers a second (and a burst of RATE) get through, not the flood
    assert res["full"] < res["sent"] / 4, res
    assert res["full"] <= RATE * (res["elapsed"] + 2), res
    # slip 2: every second limited answer goes out truncated, the rest dropped
    assert res["full"] + res["slip"] < res["sent"], res
    assert abs(d["rrl_slipped"] - d["rrl_limited"] / SLIP) <= 2 + d["rrl_limited"] * 0.02, d
    assert 0.9 * (d["rrl_slipped"] - PROBES) <= res["slip"] <= d["rrl_slipped"], (res, d)


def test_other_prefix_is_answered_during_the_flood(flood):
    assert flood["during"], "the probes outlasted the flood"
    got = flood["probes"]["other_prefix"]
    assert len(got) == PROBES and all(k == "full" for k in got), got


def test_same_prefix_without_cookie_is_limited(flood):
    assert flood["during"], "the probes outlasted the flood"
    got = flood["probes"]["no_cookie"]
    assert len(got) == PROBES
    assert got.count("full") <= PROBES // 2, got


def test_valid_server_cookie_is_exempt(flood):
    assert flood["during"], "the probes outlasted the flood"
    got = flood["probes"]["cookie"]
    assert len(got) == PROBES and all(k == "full" for k in got), got
