"""The kernel-socket server of edgedns-dataplane: UDP and TCP on 127.0.0.1
and ::1, RFC 7766 framing (pipelining, split messages, idle timeout,
connection limit, garbage), the command socket, and zone reloads under
query load (no query lost, every answer from one of the two snapshots).

One server for the module, on a random free port, started from snapshots
that build/edgedns-compile makes from small zones written here. The server
is always killed by its pid and the temporary directory removed, also when
a test or the fixture fails. Every loop is bounded in count and time.
"""

import errno
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time

import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("EDGEDNS_BUILD", os.path.join(REPO, "build"))
COMPILE = os.path.join(BUILD, "edgedns-compile")
DATAPLANE = os.path.join(BUILD, "edgedns-dataplane")

V4 = "127.0.0.1"
V6 = "::1"
IDLE_MS = 1000
MAX_CONNS = 8

ZONE = """$ORIGIN {zone}
$TTL 300
@    IN SOA ns1 hostmaster {serial} 3600 600 86400 300
@    IN NS  ns1
ns1  IN A   192.0.2.1
www  IN A   192.0.2.2
mail IN A   192.0.2.3
@    IN MX  10 mail
"""


def compile_zone(tmp, zone, serial, out):
    src = os.path.join(tmp, "%s-%d.zone" % (zone.rstrip("."), serial))
    with open(src, "w") as f:
        f.write(ZONE.format(zone=zone, serial=serial))
    p = subprocess.run([COMPILE, "-o", out, "-z", zone, src], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    assert p.returncode == 0 and os.path.exists(out), p.stdout.decode("utf-8", "replace")
    return out


def free_port(tries=50):
    """A port free for UDP and TCP on both 127.0.0.1 and ::1."""
    for _ in range(tries):
        socks = []
        try:
            t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(t)
            t.bind((V4, 0))
            port = t.getsockname()[1]
            for fam, addr, typ in ((socket.AF_INET, V4, socket.SOCK_DGRAM),
                                   (socket.AF_INET6, V6, socket.SOCK_STREAM),
                                   (socket.AF_INET6, V6, socket.SOCK_DGRAM)):
                s = socket.socket(fam, typ)
                socks.append(s)
                s.bind((addr, port))
            return port
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free port on 127.0.0.1 and ::1")


class Server:
    def __init__(self, tmp, extra=()):
        self.tmp = tmp
        self.extra = list(extra)
        self.snapdir = os.path.join(tmp, "snapshots")
        self.ctl = os.path.join(tmp, "dataplane.sock")
        self.log = os.path.join(tmp, "dataplane.log")
        self.pidfile = os.path.join(tmp, "dataplane.pid")
        self.proc = None
        self.port = None

    def start(self):
        # A port found free may be taken before the server binds it: a few
        # attempts, each bounded.
        for _ in range(3):
            self.port = free_port()
            argv = [DATAPLANE, "--io", "socket", "--snapshots", self.snapdir,
                    "--listen", "%s@%d" % (V4, self.port), "--listen", "[%s]@%d" % (V6, self.port),
                    "--control", self.ctl, "--threads", "2",
                    "--tcp-idle-ms", str(IDLE_MS), "--tcp-max-conns", str(MAX_CONNS),
                    "--pidfile", self.pidfile, "--nsid", "edgedns-test"] + self.extra
            with open(self.log, "ab") as logf:
                self.proc = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL, start_new_session=True)
            if self.wait_ready():
                return
            self.stop()
        raise RuntimeError("server did not start:\n" + self.log_text())

    def wait_ready(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                if cmd(self.ctl, "ping")["ok"]:
                    return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_text(self):
        try:
            with open(self.log, "rb") as f:
                return f.read()[-8000:].decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self):
        """Kill by pid (SIGTERM, then SIGKILL after a bounded wait); returns
        the exit status. Safe to call twice."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                try:
                    os.kill(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=5)
        return self.proc.returncode


def cmd(path, line, timeout=10.0):
    """One command on a fresh connection to the command socket."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
        s.sendall(line.encode() + b"\n")
        buf = b""
        while not buf.endswith(b"\n"):
            d = s.recv(65536)
            if not d:
                break
            buf += d
    finally:
        s.close()
    return json.loads(buf.decode())


class CmdConn:
    """A persistent command connection (several commands, in order)."""

    def __init__(self, path, timeout=10.0):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.f = self.s.makefile("rb")

    def __call__(self, line):
        self.s.sendall(line.encode() + b"\n")
        return json.loads(self.f.readline().decode())

    def close(self):
        self.f.close()
        self.s.close()


@pytest.fixture(scope="module")
def srv():
    if not (os.access(DATAPLANE, os.X_OK) and os.access(COMPILE, os.X_OK)):
        pytest.fail("not built: %s and %s (run make first)" % (DATAPLANE, COMPILE))
    tmp = tempfile.mkdtemp(prefix="edgedns-socket-")
    # rate limiting (on by default) would limit the load of
    # test_reload_under_load, which comes from one address: off here, on
    # in rrl_srv (the hostile input tests)
    server = Server(tmp, extra=["--rrl-rate", "0"])
    try:
        os.makedirs(server.snapdir)
        compile_zone(tmp, "example.com.", 1, os.path.join(server.snapdir, "example.com.snap"))
        compile_zone(tmp, "flip.test.", 1000, os.path.join(server.snapdir, "flip.test.snap"))
        server.flip_a = compile_zone(tmp, "flip.test.", 1001, os.path.join(tmp, "flip-a.snap"))
        server.flip_b = compile_zone(tmp, "flip.test.", 1002, os.path.join(tmp, "flip-b.snap"))
        server.other = compile_zone(tmp, "other.test.", 7, os.path.join(tmp, "other.snap"))
        server.hup_file = compile_zone(tmp, "hup.test.", 1, os.path.join(tmp, "hup-1.snap"))
        server.hup_file2 = compile_zone(tmp, "hup.test.", 2, os.path.join(tmp, "hup-2.snap"))
        with open(os.path.join(server.snapdir, "broken.snap"), "wb") as f:
            f.write(b"EDNSSNAP not really a snapshot")
        server.start()
        yield server
        assert server.alive(), "server died:\n" + server.log_text()
        # A clean stop: SIGTERM gives exit status 0 (and, in a SAN=1
        # build, no sanitizer or leak report).
        assert server.stop() == 0, server.log_text()
        assert not os.path.exists(server.ctl), "command socket left behind"
        assert not os.path.exists(server.pidfile), "pidfile left behind"
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def query(name, rdtype="SOA", **kw):
    q = dns.message.make_query(name, rdtype)
    q.flags &= ~dns.flags.RD
    return q


def soa_serial(r):
    for rrset in r.answer:
        if rrset.rdtype == dns.rdatatype.SOA:
            return rrset[0].serial
    return None


def tcp_connect(srv, host=V4, timeout=5.0):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect((host, srv.port))
    return s


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        d = s.recv(n - len(buf))
        if not d:
            raise EOFError("connection closed after %d of %d octets" % (len(buf), n))
        buf += d
    return buf


def recv_msg(s):
    (n,) = struct.unpack("!H", recv_exact(s, 2))
    return dns.message.from_wire(recv_exact(s, n))


def frame(wire):
    return struct.pack("!H", len(wire)) + wire


# ---- UDP and TCP -----------------------------------------------------------

@pytest.mark.parametrize("host", [V4, V6])
def test_udp_answers(srv, host):
    r = dns.query.udp(query("example.com.", "SOA"), host, port=srv.port, timeout=2)
    assert r.rcode() == dns.rcode.NOERROR
    assert soa_serial(r) == 1
    r = dns.query.udp(query("www.example.com.", "A"), host, port=srv.port, timeout=2)
    assert r.rcode() == dns.rcode.NOERROR
    assert r.answer[0][0].address == "192.0.2.2"
    r = dns.query.udp(query("nope.example.com.", "A"), host, port=srv.port, timeout=2)
    assert r.rcode() == dns.rcode.NXDOMAIN


@pytest.mark.parametrize("host", [V4, V6])
def test_tcp_answers(srv, host):
    r = dns.query.tcp(query("example.com.", "SOA"), host, port=srv.port, timeout=2)
    assert r.rcode() == dns.rcode.NOERROR
    assert soa_serial(r) == 1
    r = dns.query.tcp(query("www.example.com.", "A"), host, port=srv.port, timeout=2)
    assert r.answer[0][0].address == "192.0.2.2"


def test_udp_not_served_zone_refused(srv):
    r = dns.query.udp(query("example.org.", "SOA"), V4, port=srv.port, timeout=2)
    assert r.rcode() == dns.rcode.REFUSED


def test_tcp_pipelining_in_order(srv):
    names = [("example.com.", "SOA"), ("www.example.com.", "A"), ("nope.example.com.", "A"),
             ("example.com.", "NS"), ("mail.example.com.", "A"), ("example.com.", "MX")]
    qs = []
    for i, (n, t) in enumerate(names):
        q = query(n, t)
        q.id = 1000 + i
        qs.append(q)
    s = tcp_connect(srv)
    try:
        s.sendall(b"".join(frame(q.to_wire()) for q in qs))   # one write
        for q in qs:
            r = recv_msg(s)
            assert r.id == q.id
            assert r.question[0].name == q.question[0].name
            assert r.question[0].rdtype == q.question[0].rdtype
    finally:
        s.close()


def test_tcp_message_split_across_writes(srv):
    q = query("www.example.com.", "A")
    q.id = 4242
    data = frame(q.to_wire())
    s = tcp_connect(srv, V6)
    try:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # One octet of the length, then the rest in small pieces.
        for part in (data[:1], data[1:2], data[2:7], data[7:20], data[20:]):
            if part:
                s.sendall(part)
                time.sleep(0.03)
        r = recv_msg(s)
        assert r.id == 4242 and r.answer[0][0].address == "192.0.2.2"
        # Two messages where the boundary falls inside the second's length.
        q2 = query("example.com.", "SOA")
        q2.id = 4243
        both = data + frame(q2.to_wire())
        cut = len(data) + 1
        s.sendall(both[:cut])
        time.sleep(0.05)
        s.sendall(both[cut:])
        assert recv_msg(s).id == 4242
        assert recv_msg(s).id == 4243
    finally:
        s.close()


def test_tcp_backpressure_client_not_reading(srv):
    """Many pipelined queries while the client does not read: the answers
    queue up to the server's cap, then the server stops reading; once the
    client reads, every answer arrives, in order."""
    n = 6000
    qs = []
    for i in range(n):
        q = query("example.com.", "MX" if i % 2 else "NS")
        q.id = i & 0xffff
        qs.append(frame(q.to_wire()))
    data = b"".join(qs)
    s = tcp_connect(srv)
    errors = []

    def sender():
        try:
            s.sendall(data)
        except OSError as e:
            errors.append(repr(e))

    t = threading.Thread(target=sender)
    try:
        t.start()
        time.sleep(0.5)     # not reading: the server must hold back
        s.settimeout(10)
        for i in range(n):
            r = recv_msg(s)
            assert r.id == i & 0xffff
        t.join(timeout=10)
        assert not t.is_alive() and errors == []
    finally:
        s.close()
        t.join(timeout=10)


def test_tcp_idle_timeout_closes(srv):
    s = tcp_connect(srv)
    try:
        s.settimeout(IDLE_MS / 1000.0 + 4)
        t0 = time.monotonic()
        try:
            d = s.recv(1)
        except ConnectionResetError:
            d = b""
        elapsed = time.monotonic() - t0
        assert d == b""
        assert elapsed >= IDLE_MS / 1000.0 * 0.8, "closed too early: %.2fs" % elapsed
        assert elapsed <= IDLE_MS / 1000.0 + 3, "closed too late: %.2fs" % elapsed
    finally:
        s.close()
    assert cmd(srv.ctl, "stats")["tcp_timeouts"] >= 1


def test_tcp_connection_limit(srv):
    before = cmd(srv.ctl, "stats")["tcp_refused"]
    conns = []
    try:
        for i in range(MAX_CONNS):
            s = tcp_connect(srv)
            conns.append(s)
            q = query("example.com.", "SOA")
            q.id = i
            s.sendall(frame(q.to_wire()))
            assert recv_msg(s).id == i      # accepted and served
        extra = tcp_connect(srv)
        try:
            extra.settimeout(3)
            try:
                extra.sendall(frame(query("example.com.", "SOA").to_wire()))
                d = extra.recv(2)
            except (ConnectionResetError, BrokenPipeError):
                d = b""
            assert d == b"", "a connection over the limit was served"
        finally:
            extra.close()
        assert cmd(srv.ctl, "stats")["tcp_refused"] >= before + 1
    finally:
        for s in conns:
            s.close()
    # Once they are closed, new connections are served again (bounded wait).
    deadline = time.monotonic() + 5
    while True:
        try:
            r = dns.query.tcp(query("example.com.", "SOA"), V4, port=srv.port, timeout=1)
            assert r.rcode() == dns.rcode.NOERROR
            break
        except (EOFError, ConnectionError, OSError, dns.exception.Timeout):
            if time.monotonic() > deadline:
                raise


def test_tcp_64k_garbage_no_crash(srv):
    rng = random.Random(7)
    garbage = bytes(rng.getrandbits(8) for _ in range(65535))
    for host in (V4, V6):
        s = tcp_connect(srv, host)
        try:
            s.sendall(struct.pack("!H", 65535) + garbage)
            # The server may answer (FORMERR) or say nothing; it must not die.
            s.settimeout(2)
            try:
                s.recv(65537)
            except (socket.timeout, ConnectionResetError):
                pass
        finally:
            s.close()
    # Garbage with a header that looks like a query, then a good query on
    # the same connection.
    s = tcp_connect(srv)
    try:
        junk = struct.pack("!HHHHHH", 77, 0, 1, 0, 0, 0) + garbage[:60000]
        q = query("example.com.", "SOA")
        q.id = 78
        s.sendall(frame(junk) + frame(q.to_wire()))
        s.settimeout(3)
        got = []
        for _ in range(2):
            try:
                (n,) = struct.unpack("!H", recv_exact(s, 2))
                got.append(struct.unpack("!H", recv_exact(s, n)[:2])[0])
            except (socket.timeout, EOFError):
                break
        assert 78 in got
    finally:
        s.close()
    # Short messages (0 and 5 octets) must not break the stream either.
    s = tcp_connect(srv)
    try:
        q = query("example.com.", "SOA")
        q.id = 79
        s.sendall(frame(b"") + frame(b"\x01\x02\x03\x04\x05") + frame(q.to_wire()))
        deadline = time.monotonic() + 3
        while True:
            r = recv_msg(s)
            if r.id == 79:
                break
            assert time.monotonic() < deadline
    finally:
        s.close()
    assert srv.alive()
    r = dns.query.udp(query("example.com.", "SOA"), V4, port=srv.port, timeout=2)
    assert r.rcode() == dns.rcode.NOERROR


def test_udp_garbage_no_crash(srv):
    rng = random.Random(11)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for n in (0, 1, 11, 12, 13, 100, 512, 4096, 65000):
            s.sendto(bytes(rng.getrandbits(8) for _ in range(n)), (V4, srv.port))
    finally:
        s.close()
    r = dns.query.udp(query("example.com.", "SOA"), V4, port=srv.port, timeout=2)
    assert r.rcode() == dns.rcode.NOERROR and srv.alive()


# ---- command socket ----------------------------------------------------------

def test_cmd_ping(srv):
    r = cmd(srv.ctl, "ping")
    assert r["ok"] is True
    assert r["pid"] == srv.proc.pid
    assert isinstance(r["uptime"], int) and r["uptime"] >= 0
    with open(os.path.join(REPO, "VERSION")) as f:
        assert r["version"] == f.read().strip()
    with open(srv.pidfile) as f:
        assert int(f.read().strip()) == srv.proc.pid


def test_cmd_zones_at_start(srv):
    r = cmd(srv.ctl, "zones")
    assert r["ok"] is True
    zones = {z["zone"]: z for z in r["zones"]}
    assert "example.com." in zones and "flip.test." in zones
    assert zones["example.com."]["serial"] == 1
    assert zones["example.com."]["file"].endswith("/example.com.snap")
    # The broken file was reported and skipped, the others loaded.
    assert "broken.snap" in srv.log_text()
    assert "zone example.com. serial 1 loaded from" in srv.log_text()


def test_cmd_load_drop(srv):
    c = CmdConn(srv.ctl)
    try:
        r = c("load other.test %s" % srv.other)
        assert r == {"ok": True, "zone": "other.test.", "serial": 7}
        # Served as soon as the reply came.
        a = dns.query.udp(query("other.test.", "SOA"), V4, port=srv.port, timeout=2)
        assert soa_serial(a) == 7
        assert any(z["zone"] == "other.test." for z in c("zones")["zones"])
        r = c("drop Other.Test")
        assert r == {"ok": True, "zone": "other.test."}
        a = dns.query.udp(query("other.test.", "SOA"), V4, port=srv.port, timeout=2)
        assert a.rcode() == dns.rcode.REFUSED
        assert not any(z["zone"] == "other.test." for z in c("zones")["zones"])
        # Errors.
        r = c("drop other.test.")
        assert r["ok"] is False and "not served" in r["error"]
        r = c("load example.com. %s" % srv.other)        # wrong apex
        assert r["ok"] is False and "other.test." in r["error"]
        r = c("load example.com. %s" % os.path.join(srv.tmp, "missing.snap"))
        assert r["ok"] is False and "missing.snap" in r["error"]
        r = c("load example.com. %s" % os.path.join(srv.snapdir, "broken.snap"))
        assert r["ok"] is False
        r = c("frobnicate")
        assert r["ok"] is False and "error" in r
        r = c("load")
        assert r["ok"] is False
        # The zone that was there is untouched by the failures.
        a = dns.query.udp(query("example.com.", "SOA"), V4, port=srv.port, timeout=2)
        assert soa_serial(a) == 1
    finally:
        c.close()


def test_cmd_probe_and_stall_need_dpdk(srv):
    """In socket mode the kernel's sockets are the packet path: a UDP query
    to a listen address probes it. probe and stall say so."""
    for line in ("probe 127.0.0.1 example.com. SOA", "stall 1 100"):
        r = cmd(srv.ctl, line)
        assert r["ok"] is False and r["io"] == "socket", r
        assert "needs --io dpdk" in r["error"], r
    # the one-word DPDK commands are unknown here, as before
    r = cmd(srv.ctl, "lcores")
    assert r["ok"] is False and "unknown command" in r["error"], r


def _ede(r):
    return [(o.code, o.text) for o in r.options if isinstance(o, dns.edns.EDEOption)]


def _expired_answer(r, edns):
    """SERVFAIL, not authoritative, the question only; EDE 14 "zone
    expired" in the OPT when the query had EDNS, and no OPT otherwise."""
    assert r.rcode() == dns.rcode.SERVFAIL, r
    assert not r.flags & dns.flags.AA
    assert not r.answer and not r.authority and not r.additional
    assert len(r.question) == 1
    if edns:
        assert r.edns == 0 and _ede(r) == [(dns.edns.EDECode.NOT_READY, "zone expired")], r
    else:
        assert r.edns == -1 and not r.options


def test_cmd_expire_unexpire(srv):
    c = CmdConn(srv.ctl)
    try:
        assert c("load other.test %s" % srv.other)["ok"] is True
        r = c("expire Other.Test")
        assert r == {"ok": True, "zone": "other.test.", "expired": True}
        # From the reply on, every name of the zone is SERVFAIL: the fast
        # path's kind of query (A, no EDNS) and the general path's, over
        # UDP and TCP, with the EDE when the query has EDNS.
        for name, rdtype in (("other.test.", "SOA"), ("www.other.test.", "A"),
                             ("nx.other.test.", "A"), ("other.test.", "NS"),
                             ("sub.other.test.", "DS")):
            for edns in (False, True):
                q = query(name, rdtype)
                if edns:
                    q.use_edns(0, payload=1232)
                _expired_answer(dns.query.udp(q, V4, port=srv.port, timeout=2), edns)
                _expired_answer(dns.query.tcp(q, V6, port=srv.port, timeout=2), edns)
        # A sibling zone still answers.
        a = dns.query.udp(query("example.com.", "SOA"), V4, port=srv.port, timeout=2)
        assert a.rcode() == dns.rcode.NOERROR and soa_serial(a) == 1
        zones = {z["zone"]: z for z in c("zones")["zones"]}
        assert zones["other.test."]["expired"] is True and zones["other.test."]["serial"] == 7
        assert zones["example.com."]["expired"] is False
        # Again: nothing to change, ok.
        assert c("expire other.test.") == {"ok": True, "zone": "other.test.", "expired": True}
        # unexpire serves the same snapshot again at once.
        r = c("unexpire other.test")
        assert r == {"ok": True, "zone": "other.test.", "expired": False}
        a = dns.query.udp(query("other.test.", "SOA"), V4, port=srv.port, timeout=2)
        assert a.rcode() == dns.rcode.NOERROR and a.flags & dns.flags.AA and soa_serial(a) == 7
        # A load of the zone clears the mark.
        assert c("expire other.test")["expired"] is True
        r = c("load other.test %s" % srv.other)
        assert r == {"ok": True, "zone": "other.test.", "serial": 7}
        a = dns.query.udp(query("www.other.test.", "A"), V4, port=srv.port, timeout=2)
        assert a.rcode() == dns.rcode.NOERROR and a.answer
        zones = {z["zone"]: z for z in c("zones")["zones"]}
        assert zones["other.test."]["expired"] is False
        # Errors.
        r = c("expire missing.test.")
        assert r["ok"] is False and "not served" in r["error"]
        r = c("unexpire")
        assert r["ok"] is False and "usage" in r["error"]
        r = c("expire a b")
        assert r["ok"] is False and "usage" in r["error"]
        assert c("drop other.test")["ok"] is True
    finally:
        c.close()


def test_cmd_stats(srv):
    before = cmd(srv.ctl, "stats")
    for _ in range(5):
        dns.query.udp(query("example.com.", "SOA"), V4, port=srv.port, timeout=2)
    dns.query.udp(query("example.org.", "SOA"), V4, port=srv.port, timeout=2)
    dns.query.tcp(query("example.com.", "SOA"), V6, port=srv.port, timeout=2)
    after = cmd(srv.ctl, "stats")
    assert after["ok"] is True
    assert after["queries_udp"] >= before["queries_udp"] + 6
    assert after["queries_tcp"] >= before["queries_tcp"] + 1
    assert after["rcodes"]["NOERROR"] >= before["rcodes"]["NOERROR"] + 6
    assert after["rcodes"]["REFUSED"] >= before["rcodes"]["REFUSED"] + 1
    assert after["tcp_accepted"] >= before["tcp_accepted"] + 1
    assert after["queries"] == after["queries_udp"] + after["queries_tcp"]
    for k in ("dropped", "tcp_timeouts", "tcp_refused", "tcp_open", "zones"):
        assert isinstance(after[k], int)


def test_cmd_reload_and_sighup(srv):
    path = os.path.join(srv.snapdir, "hup.test.snap")
    shutil.copy(srv.hup_file, path + ".tmp")
    os.rename(path + ".tmp", path)
    r = cmd(srv.ctl, "reload")
    assert r["ok"] is True and r["loaded"] == 1 and r["failed"] == 1
    a = dns.query.udp(query("hup.test.", "SOA"), V4, port=srv.port, timeout=2)
    assert soa_serial(a) == 1
    r = cmd(srv.ctl, "reload")
    assert r["loaded"] == 0 and r["unchanged"] >= 3
    # SIGHUP re-scans the directory as well.
    shutil.copy(srv.hup_file2, path + ".tmp")
    os.rename(path + ".tmp", path)
    os.kill(srv.proc.pid, signal.SIGHUP)
    deadline = time.monotonic() + 5
    while True:
        a = dns.query.udp(query("hup.test.", "SOA"), V4, port=srv.port, timeout=2)
        if soa_serial(a) == 2:
            break
        assert time.monotonic() < deadline, "SIGHUP did not reload hup.test."
        time.sleep(0.05)


def test_cmd_protocol_edges(srv):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.connect(srv.ctl)
        # Several commands in one write, CRLF, answered in order.
        s.sendall(b"ping\r\nzones\nstats\n")
        f = s.makefile("rb")
        replies = [json.loads(f.readline()) for _ in range(3)]
        assert "pid" in replies[0] and "zones" in replies[1] and "queries" in replies[2]
        # A line over the limit is refused, and the connection still works.
        s.sendall(b"x" * 10000 + b"\nping\n")
        r = json.loads(f.readline())
        assert r["ok"] is False
        assert json.loads(f.readline())["ok"] is True
        f.close()
    finally:
        s.close()


# ---- reload under load ---------------------------------------------------------

def test_reload_under_load(srv):
    """Queries from two threads (UDP and one TCP connection) while the test
    swaps flip.test. between two snapshots: no query lost, every serial one
    of the two (or the first one, before any swap)."""
    n_udp, n_tcp = 1500, 1000
    serials = {1000, 1001, 1002}
    results = {"udp": [], "tcp": [], "errors": []}
    stop_at = time.monotonic() + 5.0

    def udp_worker():
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.settimeout(2)
        try:
            for i in range(n_udp):
                if time.monotonic() > stop_at:
                    break
                q = query("flip.test.", "SOA")
                q.id = i & 0xffff
                s.sendto(q.to_wire(), (V6, srv.port))
                try:
                    r = dns.message.from_wire(s.recv(65535))
                except socket.timeout:
                    results["errors"].append("udp %d: no answer" % i)
                    continue
                results["udp"].append((r.id == q.id, r.rcode(), soa_serial(r)))
        finally:
            s.close()

    def tcp_worker():
        try:
            s = tcp_connect(srv, V4)
        except OSError as e:
            results["errors"].append("tcp connect: %r" % e)
            return
        try:
            for i in range(n_tcp):
                if time.monotonic() > stop_at:
                    break
                q = query("flip.test.", "SOA")
                q.id = i
                s.sendall(frame(q.to_wire()))
                r = recv_msg(s)
                results["tcp"].append((r.id == q.id, r.rcode(), soa_serial(r)))
        except Exception as e:  # noqa: BLE001 - recorded and asserted below
            results["errors"].append("tcp: %r" % e)
        finally:
            s.close()

    threads = [threading.Thread(target=udp_worker), threading.Thread(target=tcp_worker)]
    for t in threads:
        t.start()
    loads = 0
    c = CmdConn(srv.ctl)
    try:
        for i in range(400):
            if not any(t.is_alive() for t in threads) or time.monotonic() > stop_at:
                break
            serial, path = (1001, srv.flip_a) if i % 2 == 0 else (1002, srv.flip_b)
            r = c("load flip.test. %s" % path)
            assert r == {"ok": True, "zone": "flip.test.", "serial": serial}, r
            loads += 1
            # "ok" means the new serial is served already.
            a = dns.query.udp(query("flip.test.", "SOA"), V4, port=srv.port, timeout=2)
            assert soa_serial(a) == serial
    finally:
        c.close()
        for t in threads:
            t.join(timeout=10)
    assert not any(t.is_alive() for t in threads)
    assert results["errors"] == []
    assert loads >= 4
    for proto in ("udp", "tcp"):
        got = results[proto]
        assert len(got) > 0
        assert all(ok for ok, _, _ in got), proto + ": answer with a wrong id"
        assert all(rc == dns.rcode.NOERROR for _, rc, _ in got), proto
        assert all(s in serials for _, _, s in got), proto + ": " + repr(
            sorted({s for _, _, s in got} - serials))
    seen = {s for _, _, s in results["udp"] + results["tcp"]}
    assert seen & {1001, 1002}, "no answer came from a reloaded snapshot"
    assert srv.alive()


# ---- hostile input: sources never answered, implausible queries, rate limits -------
#
# The policy (README, "Answers that never leave the box"): no answer to the
# source port of a service that answers anything (the loop DoS class,
# CVE-2024-2169), no answer over UDP to what is not a plausible query,
# every UDP answer rate limited (errors too), and a query without a
# question asking for a server cookie answered (RFC 7873 5.4).

LOOP_PORTS = (7, 11, 13, 17, 19, 37, 69, 123)
CHARGEN = (b"!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefgh\r\n"
           b"\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghi\r\n")
DAYTIME = b"Mon Jan  5 12:00:00 2026\r\n"
QOTD = b"\"Never answer an anonymous letter.\" -- Yogi Berra\r\n"
RRL_RATE = 20
COOKIE_SECRET = "e5e973e5a6b2a43f48e7dc849e37bfcf"


def _wire(name="www.example.com.", rdtype="A", qid=0x4242, opcode=0, edns=None, options=()):
    q = dns.message.make_query(name, rdtype, use_edns=edns, options=list(options))
    q.flags &= ~dns.flags.RD
    q.id = qid
    w = bytearray(q.to_wire())
    w[2] = (w[2] & 0x87) | (opcode << 3)
    return bytes(w)


def _udp_from(src, dst, port, payloads, window=0.4):
    """Send each payload from the bound address src (host, port) to
    (dst, port); every datagram that comes back within window."""
    fam = socket.AF_INET6 if ":" in src[0] else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(src)
        for p in payloads:
            s.sendto(p, (dst, port))
        got = []
        deadline = time.monotonic() + window
        while time.monotonic() < deadline:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                got.append(s.recv(65535))
            except socket.timeout:
                break
            except ConnectionRefusedError:
                continue
        return got
    finally:
        s.close()


def _stats_when(path, cond, timeout=3.0):
    """stats once cond(stats) holds (the worker adds its counters after the
    batch), or the last read."""
    deadline = time.monotonic() + timeout
    while True:
        st = cmd(path, "stats")
        if cond(st) or time.monotonic() > deadline:
            return st
        time.sleep(0.02)


def _still_answers(srv):
    assert srv.alive(), srv.log_text()
    for host in (V4, V6):
        r = dns.query.udp(query("www.example.com.", "A"), host, port=srv.port, timeout=2)
        assert r.rcode() == dns.rcode.NOERROR and r.answer[0][0].address == "192.0.2.2"
    r = dns.query.tcp(query("example.com.", "SOA"), V4, port=srv.port, timeout=2)
    assert soa_serial(r) == 1


def test_udp_from_looping_service_ports_not_answered(srv):
    """A query, an opcode query and the text of chargen, daytime and qotd,
    from each looping service's port: never answered (each would be
    answered again by the service, endlessly), counted in loop_port."""
    before = cmd(srv.ctl, "stats")
    sent, used = 0, []
    for port in LOOP_PORTS:
        for host in (V4, V6):
            payloads = [_wire(qid=port), _wire(qid=port + 1, opcode=1), CHARGEN, DAYTIME, QOTD]
            try:
                got = _udp_from((host, port), host, srv.port, payloads, window=0.2)
            except OSError as e:
                if e.errno == errno.EADDRINUSE:
                    continue      # a service of the host has the port
                raise
            assert got == [], "answered %s port %d: %r" % (host, port, got[:2])
            sent += len(payloads)
            used.append((host, port))
    assert len(used) >= 8, used
    after = _stats_when(srv.ctl, lambda st: st["loop_port"] - before["loop_port"] >= sent)
    assert after["loop_port"] - before["loop_port"] == sent
    # dropped before the engine: neither queries nor answers
    assert after["queries_udp"] == before["queries_udp"]
    # port 53 and the ports around the looping ones are clients
    for port in (53, 8, 1024):
        got = _udp_from((V4, port), V4, srv.port, [_wire(qid=0x5300 + port)], window=2.0)
        assert len(got) == 1 and dns.message.from_wire(got[0]).rcode() == dns.rcode.NOERROR, port
    _still_answers(srv)


def test_udp_implausible_messages_not_answered(srv):
    """What no DNS client sends (the text of a looping service, a header
    cut short, counts no datagram holds) gets nothing over UDP, even from
    an ordinary port; over TCP the error answer. A plausible query of an
    unknown opcode still gets NOTIMP."""
    hdr = _wire()[:12]
    silly = bytearray(_wire())
    silly[6:8] = b"\x01\x00"     # ANCOUNT 256 in a 33-octet message
    cases = [CHARGEN, DAYTIME, QOTD, b"hello, world", hdr[:4], hdr[:11], bytes(silly)]
    before = cmd(srv.ctl, "stats")
    for host in (V4, V6):
        got = _udp_from((host, 0), host, srv.port, cases, window=0.6)
        assert got == [], "answered over UDP: %r" % got[:3]
    after = _stats_when(srv.ctl, lambda st: st["dropped"] - before["dropped"] >= 2 * len(cases))
    assert after["dropped"] - before["dropped"] == 2 * len(cases)
    # TCP: each one answered with an error (the peer cannot be spoofed)
    for wire in cases:
        s = tcp_connect(srv)
        try:
            s.sendall(frame(wire))
            (n,) = struct.unpack("!H", recv_exact(s, 2))
            r = recv_exact(s, n)
        finally:
            s.close()
        assert r[:2] == wire[:2] and r[2] & 0x80, r
        assert r[3] & 0x0f in (dns.rcode.FORMERR, dns.rcode.NOTIMP), r
    for opcode in (1, 2, 3, 5, 6, 15):
        got = _udp_from((V4, 0), V4, srv.port, [_wire(opcode=opcode)], window=2.0)
        assert len(got) == 1 and got[0][3] & 0x0f == dns.rcode.NOTIMP, (opcode, got)
    _still_answers(srv)


def test_cookie_without_question_gets_a_cookie(srv):
    """RFC 7873 5.4: QDCOUNT 0 and an OPT with only a COOKIE: NOERROR, no
    records, our OPT with the client cookie and a server cookie."""
    cc = bytes.fromhex("0102030405060708")
    opt = struct.pack("!BHHIH", 0, 41, 1232, 0, 12) + struct.pack("!HH", 10, 8) + cc
    wire = struct.pack("!HHHHHH", 0x7e54, 0, 0, 0, 0, 1) + opt
    for tr in ("udp", "tcp"):
        if tr == "udp":
            got = _udp_from((V4, 0), V4, srv.port, [wire], window=2.0)
            assert len(got) == 1, got
            r = got[0]
        else:
            s = tcp_connect(srv)
            try:
                s.sendall(frame(wire))
                (n,) = struct.unpack("!H", recv_exact(s, 2))
                r = recv_exact(s, n)
            finally:
                s.close()
        m = dns.message.from_wire(r)
        assert m.id == 0x7e54 and m.flags & dns.flags.QR, tr
        assert m.rcode() == dns.rcode.NOERROR, "%s: %s" % (tr, dns.rcode.to_text(m.rcode()))
        assert not m.question and not m.answer and not m.authority, tr
        cookies = [o for o in m.options if o.otype == 10]
        assert len(cookies) == 1, tr
        data = cookies[0].data if hasattr(cookies[0], "data") else cookies[0].to_wire()
        assert data[:8] == cc and len(data) == 24, data.hex()


@pytest.fixture(scope="module")
def rrl_srv():
    """A server with rate limiting at RRL_RATE answers/s per prefix, slip 2,
    one UDP thread (one table), a fixed cookie secret."""
    if not (os.access(DATAPLANE, os.X_OK) and os.access(COMPILE, os.X_OK)):
        pytest.fail("not built: %s and %s (run make first)" % (DATAPLANE, COMPILE))
    tmp = tempfile.mkdtemp(prefix="edgedns-socket-rrl-")
    server = Server(tmp, extra=["--rrl-rate", str(RRL_RATE), "--rrl-slip", "2",
                                "--cookie-secret", COOKIE_SECRET, "--threads", "1"])
    try:
        os.makedirs(server.snapdir)
        compile_zone(tmp, "example.com.", 1, os.path.join(server.snapdir, "example.com.snap"))
        server.start()
        yield server
        assert server.alive(), "server died:\n" + server.log_text()
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def _flood(srv, wire_of, n, host=V4, seconds=3.0):
    """n datagrams (wire_of(i)) from one socket, paced over at most
    seconds; (full answers, truncated answers, elapsed)."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    got = {"full": 0, "tc": 0}
    t0 = time.monotonic()

    def drain():
        while True:
            try:
                r = s.recv(65535)
            except BlockingIOError:
                return
            got["tc" if r[2] & 0x02 else "full"] += 1

    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        s.setblocking(False)
        for i in range(n):
            s.sendto(wire_of(i), (host, srv.port))
            if i % 20 == 19:
                time.sleep(0.002)
                drain()
            if time.monotonic() - t0 > seconds:
                break
        elapsed = time.monotonic() - t0
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            drain()
            time.sleep(0.01)
        return got["full"], got["tc"], elapsed
    finally:
        s.close()


@pytest.mark.parametrize("kind", ["answer", "notimp", "formerr"])
def test_udp_answers_and_errors_rate_limited(rrl_srv, kind):
    """Answers, NOTIMP and FORMERR alike: RRL_RATE a second per prefix and
    a burst as deep, every second limited one slipped (TC), the rest
    dropped; the counters say so."""
    time.sleep(1.2)     # a full bucket whatever ran before
    wire_of = {
        "answer": lambda i: _wire(qid=i),
        "notimp": lambda i: _wire(qid=i, opcode=2),
        "formerr": lambda i: struct.pack("!HHHHHH", i, 0, 0, 0, 0, 0),   # no question
    }[kind]
    before = cmd(rrl_srv.ctl, "stats")
    n = 400
    full, tc, elapsed = _flood(rrl_srv, wire_of, n)
    after = _stats_when(rrl_srv.ctl,
                        lambda st: st["queries_udp"] - before["queries_udp"] >= n)
    limited = after["rrl_limited"] - before["rrl_limited"]
    slipped = after["rrl_slipped"] - before["rrl_slipped"]
    assert after["queries_udp"] - before["queries_udp"] == n
    assert full <= RRL_RATE * (elapsed + 1.2) + 2, (full, tc, elapsed)
    assert limited >= n - RRL_RATE * (elapsed + 1.2) - 2, (limited, n, elapsed)
    assert abs(slipped - limited / 2) <= 2, (slipped, limited)
    assert tc == slipped and full + tc < n, (full, tc, slipped)


def test_rate_limit_spares_tcp_and_valid_cookies(rrl_srv):
    """While 127.0.0.1 is limited, a query with a valid server cookie and
    every TCP query are answered in full."""
    time.sleep(1.2)
    cc = bytes.fromhex("1112131415161718")
    r = dns.query.udp(dns.message.make_query("www.example.com.", "A", use_edns=0,
                                             options=[dns.edns.GenericOption(10, cc)]),
                      V4, port=rrl_srv.port, timeout=2)
    ck = [o for o in r.options if o.otype == 10][0]
    ck = ck.data if hasattr(ck, "data") else ck.to_wire()
    _flood(rrl_srv, lambda i: _wire(qid=i), 200, seconds=1.0)
    got = {"cookie": 0, "tcp": 0}
    for i in range(10):
        q = dns.message.make_query("www.example.com.", "A", use_edns=0,
                                   options=[dns.edns.GenericOption(10, bytes(ck))])
        a = dns.query.udp(q, V4, port=rrl_srv.port, timeout=2)
        got["cookie"] += a.rcode() == dns.rcode.NOERROR and not a.flags & dns.flags.TC \
            and len(a.answer) == 1
        a = dns.query.tcp(query("www.example.com.", "A"), V4, port=rrl_srv.port, timeout=2)
        got["tcp"] += a.rcode() == dns.rcode.NOERROR and len(a.answer) == 1
    assert got == {"cookie": 10, "tcp": 10}
    # and a plain UDP query is limited meanwhile
    _flood(rrl_srv, lambda i: _wire(qid=i), 100, seconds=0.5)
    s = cmd(rrl_srv.ctl, "stats")
    assert s["rrl_limited"] > 0


# ---- command line ----------------------------------------------------------------

@pytest.mark.parametrize("args,message", [
    ([], b"at least one --port"),
    (["--port", "net_null0"], b"at least one --serve"),
    (["--port", "net_null0", "--serve", "192.0.2.300"], b"not an IPv4 or IPv6 address"),
    (["--port", "net_null0", "--serve", "192.0.2.53", "--rrl-ipv4-prefix", "33"],
     b"--rrl-ipv4-prefix"),
    (["--port", "net_null0", "--serve", "192.0.2.53", "--exception", "kernel"],
     b"expected tap or none"),
    (["--profile", "/nonexistent/p.yaml", "--serve", "192.0.2.53"], b"No such file"),
])
def test_io_dpdk_bad_options(args, message):
    """DPDK mode checks its options before the EAL starts: exit 2, a message."""
    p = subprocess.run([DATAPLANE, "--io", "dpdk", "--snapshots", "/tmp"] + args,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10)
    assert p.returncode == 2, p.stdout
    assert message in p.stdout, p.stdout


def test_dpdk_options_refused_in_socket_mode():
    p = subprocess.run([DATAPLANE, "--io", "socket", "--snapshots", "/tmp", "--port", "x"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10)
    assert p.returncode == 2
    assert b"for --io dpdk" in p.stdout


@pytest.mark.parametrize("args", [
    ["--snapshots", "/tmp"],                                     # no --io
    ["--io", "socket"],                                          # no --snapshots
    ["--io", "socket", "--snapshots", "/tmp", "--listen", "nowhere@x"],
    ["--io", "socket", "--snapshots", "/tmp", "--threads", "-1"],
    ["--io", "socket", "--snapshots", "/tmp", "--nsid-hex", "abc"],
    ["--io", "warp", "--snapshots", "/tmp"],
])
def test_bad_options_exit_2(args):
    p = subprocess.run([DATAPLANE] + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=10)
    assert p.returncode == 2, p.stdout


def test_io_dpdk_bad_port_is_an_error_not_a_crash(tmp_path):
    """A port that cannot be probed: a message naming it and exit 1 (this
    crashed in dpdk_free() once, freeing workers not yet made)."""
    prefix = "edgedns-badport-%d" % os.getpid()
    try:
        p = subprocess.run([DATAPLANE, "--io", "dpdk", "--snapshots", str(tmp_path),
                            "--port", "net_bogus0", "--serve", "192.0.2.53",
                            "--exception", "none", "--",
                            "-l", "0,1", "--no-huge", "--no-pci", "-m", "256",
                            "--file-prefix", prefix],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    finally:
        shutil.rmtree("/var/run/dpdk/" + prefix, ignore_errors=True)
    assert p.returncode == 1, p.stdout
    assert b"port net_bogus0: probe failed" in p.stdout


def _dpdk_run(tmp_path, args, eal, profile=None):
    prefix = "edgedns-opt-%d" % os.getpid()
    argv = [DATAPLANE, "--io", "dpdk", "--snapshots", str(tmp_path)] + args
    if profile is not None:
        pf = tmp_path / "profile.yaml"
        pf.write_text(profile % {"prefix": prefix})
        argv += ["--profile", str(pf)]
    try:
        return subprocess.run(argv + ["--"] + eal, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=60)
    finally:
        shutil.rmtree("/var/run/dpdk/" + prefix, ignore_errors=True)


def test_io_dpdk_command_line_eal_option_replaces_the_profiles(tmp_path):
    """The profile says -l 0,1; the command line's -l 0 replaces it (the
    EAL would refuse both), so the dataplane starts with no worker lcore
    and says so."""
    p = _dpdk_run(tmp_path, ["--serve", "192.0.2.53", "--exception", "none"], ["-l", "0"],
                  profile='model: t\neal: [-l, "0,1", --no-huge, --no-pci, -m, "256", '
                          '--file-prefix, "%(prefix)s"]\nports: [net_null0]\n')
    assert p.returncode == 1, p.stdout
    assert b"no worker lcore" in p.stdout, p.stdout
    assert b"is ignored" not in p.stdout


def test_io_dpdk_too_few_mbufs_is_an_error(tmp_path):
    p = _dpdk_run(tmp_path, ["--port", "net_null0", "--serve", "192.0.2.53",
                             "--exception", "none", "--mbufs", "1024"],
                  ["-l", "0,1", "--no-huge", "--no-pci", "-m", "256",
                   "--file-prefix", "edgedns-opt-%d" % os.getpid()])
    assert p.returncode == 1, p.stdout
    assert b"1024 mbufs are fewer than" in p.stdout, p.stdout


def test_io_dpdk_stray_word_before_eal_args(tmp_path):
    p = subprocess.run([DATAPLANE, "--io", "dpdk", "stray", "--snapshots", str(tmp_path),
                        "--port", "net_null0", "--serve", "192.0.2.53", "--", "-l", "0,1"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10)
    assert p.returncode == 2, p.stdout
    assert b"unexpected argument 'stray'" in p.stdout
