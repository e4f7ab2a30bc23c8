"""Hostile input against the DPDK dataplane: crafted frames, as an attacker
on the segment and a spoofer from afar would send them (README, "Answers
that never leave the box").

One lab (net_af_xdp, or net_af_packet), rate limiting at RATE answers/s
per prefix, slip 2. A sniffer on the client's veth (promiscuous) keeps
every frame the edge sends. Each class of input is a list of frames, each
with what must become of it: answered by the workers (dp-answer) or by the
kernel's server (kernel-answer), or not answered at all because the engine
says nothing (dp-silent, kernel-silent) or because the frame is dropped
(bad_source, loop_port, malformed). After each class:
  - no DNS answer went to a forbidden destination (a group or zero MAC, a
    served address or a broadcast of a served prefix, an impossible or
    IPv4-mapped address, a looping service's port), none answered a frame
    that must not be answered, none is larger than its query's limit, and
    every frame that must be answered was (so the sniffer is seen working);
  - each worker's counters add up (rx = queries + to_kernel +
    kernel_dropped + malformed + looped + bad_source + loop_port, queries
    = answered + dropped) and the class's deltas are exact;
  - the process is alive and a normal query is answered correctly over
    UDP (IPv4 from a prefix of its own, IPv6) and TCP.
Every load loop is bounded in count and time.
"""

import random
import select
import socket
import struct
import threading
import time

import dns.flags
import dns.message
import dns.rcode
import pytest

import frames as fr
from lab import CLIENT4, CLIENT6, CLIENT_IF, SERVER4, SERVER6

RATE, SLIP = 50, 2
HEALTH4 = "203.0.113.7"          # the health queries' own /24 (rate limiting)
LOOP_PORTS = (7, 11, 13, 17, 19, 37, 69, 123)
WWW4 = {"192.0.2.80", "192.0.2.81"}
PACE = 16                        # frames per 4 ms: 4000 frames/s
SNIFF_MAX = 200000               # frames the sniffer keeps, at most

CHARGEN = (b"!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefgh\r\n"
           b"\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghi\r\n")
DAYTIME = b"Mon Jan  5 12:00:00 2026\r\n"
QOTD = b"\"Never answer an anonymous letter.\" -- Yogi Berra\r\n"
TEXTS = (CHARGEN, DAYTIME, QOTD)

SILENT = {"dp-silent", "kernel-silent", "bad_source", "loop_port", "malformed"}
ANSWERED = {"dp-answer", "kernel-answer"}


def _ntop(addr):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    return socket.inet_ntop(fam, socket.inet_pton(fam, addr))


# ---- what may never be a destination ------------------------------------------

_V4_FORBIDDEN_EXACT = {SERVER4, "192.0.2.0", "192.0.2.255"}   # served, and its /24's broadcasts


def forbidden_destination(p):
    """Why an answer frame p (frames.parse) must not have been sent, or None."""
    if p["dst_mac"][0] & 1 or p["dst_mac"] == b"\0" * 6:
        return "to the group or zero MAC %s" % p["dst_mac"].hex(":")
    if p["vlan"] is not None and p["vlan"] & 0x0fff == 0x0fff:
        return "with the reserved VLAN ID 4095"
    d = p["dst"]
    if p["v6"]:
        a = socket.inet_pton(socket.AF_INET6, d)
        if d == _ntop(SERVER6) or a[0] == 0xff or a[:12] == b"\0" * 12 \
                or a[:12] == b"\0" * 10 + b"\xff\xff":
            return "to the address %s" % d
    else:
        a = socket.inet_aton(d)
        if d in _V4_FORBIDDEN_EXACT or a[0] in (0, 127) or a[0] >= 224:
            return "to the address %s" % d
    if p["dport"] == 0 or p["dport"] in LOOP_PORTS:
        return "to the looping service port %d" % p["dport"]
    return None


# ---- the sniffer and the sender --------------------------------------------------

class Sniffer:
    """Every frame arriving on the client's veth from the edge's MAC, in a
    thread of its own (promiscuous: frames to other MACs are kept too)."""

    def __init__(self, lab):
        self.edge_mac = bytes.fromhex(lab.edge_mac.replace(":", ""))
        self.s = lab.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
        try:
            self.s.setsockopt(socket.SOL_SOCKET, 33, 32 << 20)   # SO_RCVBUFFORCE
        except OSError:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 << 20)
        self.s.bind((CLIENT_IF, 0))
        self.frames = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self.stop.is_set():
            r, _, _ = select.select([self.s], [], [], 0.1)
            if not r:
                continue
            for _ in range(256):
                try:
                    data, addr = self.s.recvfrom(65535, socket.MSG_DONTWAIT)
                except BlockingIOError:
                    break
                if addr[2] == socket.PACKET_OUTGOING or data[6:12] != self.edge_mac:
                    continue
                with self.lock:
                    if len(self.frames) < SNIFF_MAX:
                        self.frames.append(data)

    def mark(self):
        with self.lock:
            return len(self.frames)

    def since(self, mark):
        with self.lock:
            return list(self.frames[mark:])

    def close(self):
        self.stop.set()
        self.t.join(5)
        self.s.close()


class Item:
    """One crafted frame and what must become of it."""

    def __init__(self, frame, expect, key=None, limit=512, what=""):
        self.frame, self.expect, self.key, self.limit, self.what = frame, expect, key, limit, what


class Hostile:
    def __init__(self, lab):
        self.lab = lab
        self.sniffer = Sniffer(lab)
        self.raw = lab.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        self.raw.bind((CLIENT_IF, 0))
        self.qid = 0x1000
        self.rng = random.Random(11)

    def close(self):
        self.raw.close()
        self.sniffer.close()

    def next_id(self):
        self.qid = (self.qid + 1) & 0xffff or 1
        return self.qid

    # -- frames
    def udp_frame(self, src, sport, payload, src_mac=None, vlan=None, dst=None):
        v6 = ":" in src
        dst = dst or (SERVER6 if v6 else SERVER4)
        mac = src_mac or self.lab.client_mac
        u = fr.udp(src, dst, sport, 53, payload, v6)
        if v6:
            return fr.eth(self.lab.edge_mac, mac, 0x86dd, fr.ipv6(src, dst, u), vlan=vlan)
        return fr.eth(self.lab.edge_mac, mac, 0x0800,
                      fr.ipv4(src, dst, u, ident=self.next_id()), vlan=vlan)

    def item(self, src, sport, payload, expect, limit=512, what="", **kw):
        key = (_ntop(src), sport, payload[:2]) if len(payload) >= 2 else None
        return Item(self.udp_frame(src, sport, payload, **kw), expect, key, limit,
                    what or "%s from [%s]:%d" % (expect, src, sport))

    def query(self, src, sport, expect, name="www.example.com", qtype=1, opcode=0, edns=None,
              options=b"", what="", **kw):
        wire = fr.dns_query(self.next_id(), name, qtype, opcode=opcode, edns=edns,
                            options=options)
        limit = 512 if edns is None else max(512, edns)
        return self.item(src, sport, wire, expect, limit=limit, what=what, **kw)

    def port(self):
        return self.rng.randrange(1024, 65536)

    # -- sending and counters
    def send(self, items, seconds=10.0):
        t0 = time.monotonic()
        for i, it in enumerate(items):
            self.raw.send(it.frame)
            if i % PACE == PACE - 1:
                time.sleep(0.004)
            assert time.monotonic() - t0 < seconds, "sending took too long"

    def workers(self):
        tot = {}
        for lc in self.lab.lcores():
            for k, v in lc.items():
                if isinstance(v, int):
                    tot[k] = tot.get(k, 0) + v
        return tot


def _adds_up(w):
    """The worker counters' two sums (None when they hold)."""
    parts = ("queries", "to_kernel", "kernel_dropped", "malformed", "looped", "bad_source",
             "loop_port")
    gone = [k for k in parts + ("rx", "answered", "dropped") if k not in w]
    if gone:
        return "the workers have no counters %s" % ", ".join(gone)
    if w["rx"] != sum(w[k] for k in parts):
        return "rx %d != %s" % (w["rx"], " + ".join("%s %d" % (k, w[k]) for k in parts))
    if w["queries"] != w["answered"] + w["dropped"]:
        return "queries %d != answered %d + dropped %d" % (w["queries"], w["answered"],
                                                            w["dropped"])
    return None


def answers_of(frames):
    """The DNS answers among frames (UDP from port 53), parsed."""
    out = []
    for f in frames:
        p = fr.parse(f)
        if p is None or p.get("proto") != 17 or p.get("sport") != 53:
            continue
        out.append(p)
    return out


def run_class(h, items, settle=0.4, timeout=8.0, rate_limited=False, check=None):
    """Send items; check the answers, then check(got) (the caller's own
    checks of {key: [answers]}), the counters and the health. Returns got."""
    lab = h.lab
    lab.assert_alive()
    mark = h.sniffer.mark()
    w0 = h.workers()
    h.send(items)
    want = {k: sum(it.expect == k for it in items)
            for k in ("bad_source", "loop_port", "malformed")}
    n_dp = sum(it.expect in ("dp-answer", "dp-silent") for it in items)
    n_kernel = sum(it.expect.startswith("kernel") for it in items)

    # the workers took every frame: counters settled and adding up
    deadline = time.monotonic() + timeout
    while True:
        w1 = h.workers()
        d = {k: w1[k] - w0.get(k, 0) for k in w1}
        done = (d["rx"] >= len(items) and d.get("queries", 0) >= n_dp
                and d["to_kernel"] >= n_kernel and _adds_up(w1) is None
                and all(d.get(k, 0) >= v for k, v in want.items()))
        if done or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    time.sleep(settle)    # answers of the kernel's server, a moment later

    # 1. what left the box (a due answer may take a moment more on a busy
    # machine: waited for, 3 s at most)
    by_key = {}
    for it in items:
        if it.key is not None:
            by_key.setdefault(it.key, []).append(it)
    due = {it.key for it in items if it.expect in ANSWERED} if not rate_limited else set()
    deadline = time.monotonic() + 3.0
    while True:
        seen = h.sniffer.since(mark)
        keys = {(p["dst"], p["dport"], p["payload"][:2]) for p in answers_of(seen)}
        if due <= keys or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    got = {}
    bad = []
    for p in answers_of(seen):
        why = forbidden_destination(p)
        if why:
            bad.append("an answer %s (from %s:%d, %d octets)" % (why, p["src"], p["sport"],
                                                                 len(p["payload"])))
        key = (p["dst"], p["dport"], p["payload"][:2])
        its = by_key.get(key)
        if its is None:
            continue
        got.setdefault(key, []).append(p)
        if all(it.expect in SILENT for it in its):
            bad.append("answered: %s (rcode %d, %d octets)" % (
                its[0].what, p["payload"][3] & 15 if len(p["payload"]) > 3 else -1,
                len(p["payload"])))
        limit = max(it.limit for it in its)
        if len(p["payload"]) > limit:
            bad.append("%d octets to a query limited to %d: %s" % (len(p["payload"]), limit,
                                                                  its[0].what))
    assert not bad, "%d violations, the first ones:\n  %s" % (len(bad), "\n  ".join(bad[:40]))
    if not rate_limited:
        missing = [it.what for it in items if it.expect in ANSWERED and it.key not in got]
        assert not missing, "not answered (%d): %s" % (len(missing), missing[:8])
    if check is not None:
        check(got)

    # 2. the counters add up, and the class's deltas are exact
    w1 = h.workers()
    assert _adds_up(w1) is None, _adds_up(w1)
    d = {k: w1[k] - w0.get(k, 0) for k in w1}
    for k, v in want.items():
        assert d[k] == v, "%s: %d, expected %d (deltas %s)" % (k, d[k], v, d)
    assert d["queries"] == n_dp, (n_dp, d)
    if not rate_limited:
        assert d["answered"] == sum(it.expect == "dp-answer" for it in items), d
        assert d["dropped"] == sum(it.expect == "dp-silent" for it in items), d
    assert d["to_kernel"] >= n_kernel, (n_kernel, d)

    # 3. alive, and a normal query answered correctly
    healthy(lab)
    return got


def healthy(lab):
    lab.assert_alive()
    r = lab.query(dns.message.make_query("www.example.com", "A"), SERVER4, source=HEALTH4)
    assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA
    assert {rd.to_text() for rr in r.answer for rd in rr} == WWW4
    r = lab.query(dns.message.make_query("www.example.com", "AAAA"), SERVER6)
    assert {rd.to_text() for rr in r.answer for rd in rr} == {"2001:db8::80"}
    r = lab.query(dns.message.make_query("mail.example.com", "A"), SERVER4, tcp=True)
    assert {rd.to_text() for rr in r.answer for rd in rr} == {"192.0.2.25"}


@pytest.fixture(scope="module")
def h(make_lab):
    args = ["--rrl-rate", str(RATE), "--rrl-slip", str(SLIP)]
    with make_lab(extra_args=args) as lab:
        lab.client(["ip", "addr", "add", HEALTH4 + "/32", "dev", CLIENT_IF])
        lab.client(["ip", "link", "set", CLIENT_IF, "promisc", "on"])
        host = Hostile(lab)
        try:
            healthy(lab)
            yield host
        finally:
            host.close()


# ---- 1. answers to our own addresses ---------------------------------------------

OWN_SOURCES = [
    (SERVER4, 53), (SERVER4, 40000), (SERVER4, 5353),
    ("192.0.2.255", 40001), ("192.0.2.0", 40002),          # the served /24's broadcasts
    (SERVER6, 53), (SERVER6, 40003),
    ("::ffff:127.0.0.1", 40004), ("::ffff:192.0.2.53", 53), ("::ffff:192.0.2.1", 40005),
    ("::192.0.2.1", 40006), ("::", 40007), ("::1", 53),
    ("127.0.0.1", 53), ("0.0.0.0", 40008), ("224.0.0.251", 5353), ("255.255.255.255", 40009),
    ("ff02::1", 40010),
]


def test_no_answer_to_our_own_or_impossible_addresses(h):
    """A query from a served address (any port, 53 too), from the network
    or broadcast address of the served /24, from an IPv4-mapped, IPv4-
    compatible, unspecified, loopback or multicast address: dropped as a
    bad source, on the workers' path and on the kernel's (an opcode query,
    an IPv4 query with options), never answered."""
    items = []
    for src, port in OWN_SOURCES:
        items.append(h.query(src, port, "bad_source"))
        items.append(h.query(src, port, "bad_source", opcode=1, what="IQUERY from %s" % src))
        items.append(h.query(src, port, "bad_source", edns=1232, name="long.example.com",
                             qtype=16, what="TXT (EDNS) from %s" % src))
    # the kernel's share: an IPv4 query with options from our own address
    u = fr.udp(SERVER4, SERVER4, 40011, 53, fr.dns_query(h.next_id(), "www.example.com"), False)
    items.append(Item(fr.eth(h.lab.edge_mac, h.lab.client_mac, 0x0800,
                             fr.ipv4(SERVER4, SERVER4, u, options=b"\x01\x01\x01\x00")),
                      "bad_source", (SERVER4, 40011, u[8:10]), what="IPv4 options from ourselves"))
    # and the clients next to them are answered
    items.append(h.query(CLIENT4, h.port(), "dp-answer"))
    items.append(h.query(CLIENT6, h.port(), "dp-answer"))
    items.append(h.query("192.0.2.254", h.port(), "dp-answer"))   # spoofed, but a host
    run_class(h, items)


# ---- 2. answers to a group MAC ------------------------------------------------------

GROUP_MACS = ["ff:ff:ff:ff:ff:ff", "01:00:5e:00:00:fb", "33:33:00:00:00:01",
              "00:00:00:00:00:00", "03:00:00:00:00:01"]


def test_no_answer_to_a_group_or_zero_mac(h):
    """A query from a group or all-zero source MAC (the answer swaps the
    MACs: it would go to the group): dropped as a bad source; one with the
    reserved VLAN ID 4095: malformed."""
    items = []
    for mac in GROUP_MACS:
        for src in (CLIENT4, CLIENT6):
            items.append(h.query(src, h.port(), "bad_source", src_mac=mac,
                                 what="from MAC %s, %s" % (mac, src)))
            items.append(h.query(src, h.port(), "bad_source", src_mac=mac, opcode=2,
                                 what="STATUS from MAC %s, %s" % (mac, src)))
    for src in (CLIENT4, CLIENT6):
        items.append(h.query(src, h.port(), "malformed", vlan=0x0fff, what="VLAN 4095"))
        items.append(h.query(src, h.port(), "malformed", vlan=0xefff, what="VLAN 4095, PCP 7"))
    items.append(h.query(CLIENT4, h.port(), "dp-answer", src_mac="02:00:00:00:00:99"))
    run_class(h, items)


# ---- 3. looping services --------------------------------------------------------------

def test_no_answer_to_looping_service_ports(h):
    """From echo, systat, daytime, qotd, chargen, time, tftp and ntp: a
    query, an opcode query and the services' own text; never answered,
    counted in loop_port. The same from ordinary ports: the query and the
    opcode query answered, the text (not a plausible query) not."""
    items = []
    for port in LOOP_PORTS:
        for src in (CLIENT4, CLIENT6):
            items.append(h.query(src, port, "loop_port"))
            items.append(h.query(src, port, "loop_port", opcode=1, what="IQUERY :%d" % port))
            items.append(h.query(src, port, "loop_port", opcode=5, what="UPDATE :%d" % port))
            for t in TEXTS:
                items.append(h.item(src, port, t, "loop_port", what="text :%d" % port))
    for src in (CLIENT4, CLIENT6):
        items.append(h.query(src, 53, "dp-answer", what="from port 53"))
        items.append(h.query(src, h.port(), "kernel-answer", opcode=1, what="IQUERY"))
        for t in TEXTS:
            items.append(h.item(src, h.port(), t, "kernel-silent", what="text, other port"))
    def notimp(got):
        # the opcode queries from ordinary ports got NOTIMP from the kernel
        for it in items:
            if it.expect == "kernel-answer":
                assert all(p["payload"][3] & 15 == dns.rcode.NOTIMP for p in got[it.key]), it.what

    run_class(h, items, check=notimp)


# ---- 4. not plausible queries, responses ------------------------------------------------

def test_no_answer_to_what_is_not_a_query(h):
    """Responses (QR), headers cut short, counts no datagram holds: no
    answer at all over UDP, on either path."""
    items = []
    for src in (CLIENT4, CLIENT6):
        resp = bytearray(fr.dns_query(h.next_id(), "www.example.com"))
        resp[2] |= 0x84
        items.append(h.item(src, h.port(), bytes(resp), "kernel-silent", what="QR=1"))
        for n in (4, 8, 11):
            hdr = fr.dns_query(h.next_id(), "www.example.com")[:n]
            items.append(h.item(src, h.port(), hdr, "dp-silent", what="%d-octet header" % n))
        silly = bytearray(fr.dns_query(h.next_id(), "www.example.com"))
        silly[6:8] = b"\x00\x10"          # 16 answers in 33 octets
        items.append(h.item(src, h.port(), bytes(silly), "dp-silent", what="ANCOUNT 16"))
        silly = bytearray(fr.dns_query(h.next_id(), "www.example.com", opcode=4))
        silly[4:6] = b"\x20\x20"
        items.append(h.item(src, h.port(), bytes(silly), "kernel-silent",
                            what="NOTIFY, QDCOUNT 8224"))
        # a plausible one of each kind still gets its error
        items.append(h.item(src, h.port(), struct.pack("!HHHHHH", h.next_id(), 0, 0, 0, 0, 0),
                            "dp-answer", what="no question: FORMERR"))
        items.append(h.query(src, h.port(), "kernel-answer", opcode=3, what="opcode 3"))
    run_class(h, items)


# ---- 5. a query for a server cookie ---------------------------------------------------

def test_cookie_only_query_is_answered_with_a_cookie(h):
    """RFC 7873 5.4: QDCOUNT 0, an OPT with a client cookie: NOERROR and a
    server cookie, from the workers."""
    cc = bytes.fromhex("a1a2a3a4a5a6a7a8")
    items = []
    for src in (CLIENT4, CLIENT6):
        wire = struct.pack("!HHHHHH", h.next_id(), 0, 0, 0, 0, 1) + fr.opt_rr(
            1232, struct.pack("!HH", 10, 8) + cc)
        items.append(h.item(src, h.port(), wire, "dp-answer", limit=1232, what="cookie only"))
    def cookie(got):
        for it in items:
            (p,) = got[it.key]
            m = dns.message.from_wire(p["payload"])
            assert m.rcode() == dns.rcode.NOERROR, dns.rcode.to_text(m.rcode())
            assert not m.question and not m.answer and not m.authority
            (ck,) = [o for o in m.options if o.otype == 10]
            data = ck.data if hasattr(ck, "data") else ck.to_wire()
            assert data[:8] == cc and len(data) == 24

    run_class(h, items, check=cookie)


# ---- 6. bursts ------------------------------------------------------------------------------

def test_burst_from_many_sources(h):
    """A burst from 120 IPv6 /56 prefixes (6 queries each, every size of
    limit, large answers among them) mixed with every kind of hostile
    frame: each good query answered once within its limit, each hostile one
    dropped and counted."""
    items = []
    limits = [None, 512, 700, 1000, 1232, 4096]
    for i in range(120):
        src = "2001:db8:%x::%x" % (0x4000 + i, i + 1)
        for j, edns in enumerate(limits):
            name, qtype = ("long.example.com", 16) if j % 2 else ("www.example.com", 28)
            items.append(h.query(src, h.port(), "dp-answer", name=name, qtype=qtype, edns=edns))
    hostile = []
    for i in range(60):
        src4 = "192.0.2.%d" % (100 + i)
        hostile.append(h.query(src4, h.port(), "bad_source", src_mac=GROUP_MACS[i % 5]))
        hostile.append(h.query(SERVER4 if i % 2 else "::ffff:192.0.2.%d" % i, h.port(),
                               "bad_source"))
        hostile.append(h.item(CLIENT4, LOOP_PORTS[i % 8], TEXTS[i % 3], "loop_port"))
        hostile.append(h.query(CLIENT6, h.port(), "malformed", vlan=0x0fff))
    h.rng.shuffle(hostile)
    mixed = []
    for i, it in enumerate(items):
        mixed.append(it)
        if i % 3 == 0 and hostile:
            mixed.append(hostile.pop())
    mixed += hostile
    def once(got):
        dup = [k for k, v in got.items() if len(v) != 1]
        assert not dup, "answered more than once: %s" % dup[:5]

    run_class(h, mixed, timeout=15.0, check=once)


# ---- 7. rate limits on both paths (last: they empty 192.0.2.0/24's buckets) ---------------

def _flood(h, make, n, limits):
    """n items from make(i), sent paced; limits(full, tc, elapsed, d) is
    asserted on the full and truncated answers, the time it took and the
    stats' rate limiting deltas, before the counters and the health."""
    items = [make(i) for i in range(n)]
    s0 = h.lab.stats()
    t0 = time.monotonic()

    def check(got):
        elapsed = time.monotonic() - t0
        s1 = h.lab.stats()
        full = sum(1 for v in got.values() for p in v if not p["payload"][2] & 0x02)
        tc = sum(1 for v in got.values() for p in v if p["payload"][2] & 0x02)
        limits(full, tc, elapsed, {k: s1[k] - s0[k] for k in ("rrl_limited", "rrl_slipped")})

    run_class(h, items, rate_limited=True, settle=1.0, check=check)


def test_kernel_path_is_rate_limited(h):
    """1000 opcode queries from one /24 go to the kernel's server: its
    NOTIMP answers are rate limited like the workers' (RATE a second, slip
    2), not 1000 of 1000."""
    time.sleep(1.2)

    def limits(full, tc, elapsed, d):
        assert full <= RATE * (elapsed + 1) + 2, (full, tc, elapsed, d)
        assert full + tc < 750, (full, tc, d)
        assert d["rrl_limited"] >= 1000 - RATE * (elapsed + 1) - 2, d
        assert tc > 0 and tc <= d["rrl_slipped"], (tc, d)

    _flood(h, lambda i: h.query(CLIENT4, h.port(), "kernel-answer", opcode=1 + i % 3), 1000,
           limits)


def test_error_answers_on_the_fast_path_are_rate_limited(h):
    """FORMERR from the workers (a query without a question) counts like
    any answer."""
    time.sleep(1.2)

    def limits(full, tc, elapsed, d):
        assert full <= RATE * (elapsed + 1) + 2, (full, tc, elapsed, d)
        assert d["rrl_limited"] >= 600 - RATE * (elapsed + 1) - 2, d
        assert tc > 0 and tc <= d["rrl_slipped"], (tc, d)

    _flood(h, lambda i: h.item(CLIENT4, h.port(), struct.pack("!HHHHHH", i + 1, 0, 0, 0, 0, 0),
                               "dp-answer", what="FORMERR"), 600, limits)
