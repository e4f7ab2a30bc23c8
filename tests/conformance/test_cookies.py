"""DNS Cookies (RFC 7873) with RFC 9018 server cookies, on the real
edgedns-dataplane in socket mode: a client cookie gets a server cookie,
sending it back works, a tampered one gets BADCOOKIE over UDP (a normal
answer over TCP), and the anycast property: dataplanes started with the same
--cookie-secret accept each other's cookies, one with another secret does
not, and --cookie-secret-prev accepts the old secret's; the same secrets
read from files (--cookie-secret-file, --cookie-secret-prev-file: what the
appliance uses, so the secret is never on a command line), and bad files
refused with exit 1.

Every server runs on a random free loopback port, is killed by its pid and
its temporary directory removed, also when a test or the fixture fails.
dnspython 2.3 has no CookieOption: the option is dns.edns.GenericOption(10).
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from lib import edgedns, procs  # noqa: E402

COOKIE = 10
SECRET = "e5e973e5a6b2a43f48e7dc849e37bfcf"
SECRET_OTHER = "0f0e0d0c0b0a09080706050403020100"
SECRET_NEW = "445536bcd2513298075a5d379663c962"
CC = bytes.fromhex("2464c4abcf10c957")
V4 = "127.0.0.1"
V6 = "::1"

ZONE = """$ORIGIN example.
$TTL 300
@    IN SOA ns1 hostmaster 1 3600 600 86400 300
@    IN NS  ns1
ns1  IN A   192.0.2.1
www  IN A   192.0.2.2
"""


def free_port_v4v6(tries=50):
    """A port free for UDP and TCP on 127.0.0.1 and ::1 (bounded tries)."""
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


class Servers:
    """Dataplanes by name, each with its own cookie options."""

    def __init__(self, tmp, snapdir):
        self.tmp = tmp
        self.snapdir = snapdir
        self.by_name = {}

    def start(self, name, args, v6=False):
        last = None
        for _ in range(3):   # a port found free may be taken before the bind
            port = free_port_v4v6() if v6 else procs.free_port()
            argv = [edgedns.DATAPLANE, "--io", "socket", "--snapshots", self.snapdir,
                    "--listen", "%s@%d" % (V4, port), "--threads", "1"] + args
            if v6:
                argv += ["--listen", "[%s]@%d" % (V6, port)]
            srv = procs.Server(name, argv, os.path.join(self.tmp, name + ".log"))
            srv.port = port
            try:
                procs.wait_answers(srv, V4, port, "example.")
                self.by_name[name] = srv
                return srv
            except RuntimeError as e:
                last = e
                srv.stop()
        raise last

    def stop_all(self):
        for srv in self.by_name.values():
            srv.stop()

    def __getitem__(self, name):
        return self.by_name[name]


@pytest.fixture(scope="module")
def servers():
    if edgedns.missing():
        pytest.fail("not built: %s (run make first)" % ", ".join(edgedns.missing()))
    tmp = tempfile.mkdtemp(prefix="edgedns-cookies-")
    snapdir = os.path.join(tmp, "snapshots")
    os.makedirs(snapdir)
    src = os.path.join(tmp, "example.zone")
    with open(src, "w") as f:
        f.write(ZONE)
    p = subprocess.run([edgedns.COMPILE, "-o", os.path.join(snapdir, "example.snap"),
                        "-z", "example.", src], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    assert p.returncode == 0, p.stdout.decode("utf-8", "replace")
    s = Servers(tmp, snapdir)
    s.secret_file = os.path.join(tmp, "cookie.secret")
    with open(s.secret_file, "w") as f:
        f.write(SECRET + "\n")
    os.chmod(s.secret_file, 0o600)
    new_file = os.path.join(tmp, "new.secret")        # no final newline
    with open(new_file, "w") as f:
        f.write(SECRET_NEW)
    os.chmod(new_file, 0o600)
    s.open_file = os.path.join(tmp, "open.secret")    # readable by others: a warning
    with open(s.open_file, "w") as f:
        f.write(SECRET + "\r\n")
    os.chmod(s.open_file, 0o644)
    try:
        s.start("pop-file", ["--cookie-secret-file", s.secret_file])
        s.start("rotated-file", ["--cookie-secret-file", new_file,
                                 "--cookie-secret-prev-file", s.open_file])
        s.start("pop-a", ["--cookie-secret", SECRET], v6=True)
        s.start("pop-b", ["--cookie-secret", SECRET])
        s.start("other", ["--cookie-secret", SECRET_OTHER])
        s.start("rotated", ["--cookie-secret", SECRET_NEW, "--cookie-secret-prev", SECRET])
        s.start("new-only", ["--cookie-secret", SECRET_NEW])
        s.start("random", [])
        s.start("off", ["--no-cookies"])
        yield s
        for srv in s.by_name.values():
            assert srv.alive(), "%s died:\n%s" % (srv.name, srv.log_text())
    finally:
        s.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)


def ask(srv, cookie, tcp=False, host=V4, name="www.example."):
    """A query with a COOKIE option of the given bytes (None: none)."""
    opts = [] if cookie is None else [dns.edns.GenericOption(COOKIE, cookie)]
    q = dns.message.make_query(name, dns.rdatatype.A, use_edns=0, payload=1232, options=opts)
    q.flags &= ~dns.flags.RD
    fn = dns.query.tcp if tcp else dns.query.udp
    last = None
    for _ in range(3):   # a lost datagram on a busy machine is not an answer
        try:
            return fn(q, host, port=srv.port, timeout=2.0)
        except dns.exception.Timeout as e:
            last = e
    raise last


def cookie_of(r):
    found = [o for o in r.options if o.otype == COOKIE]
    assert len(found) <= 1
    return found[0].data if found else None


def learn(srv, host=V4):
    """Client cookie only: the server cookie it hands out (checked)."""
    r = ask(srv, CC, host=host)
    assert r.rcode() == dns.rcode.NOERROR
    c = cookie_of(r)
    assert c is not None and len(c) == 24, c
    assert c[:8] == CC
    return c[8:]


def assert_fresh(r):
    """The answer carries our client cookie and a new RFC 9018 server cookie."""
    c = cookie_of(r)
    assert c is not None and len(c) == 24, c
    assert c[:8] == CC
    assert c[8] == 1 and c[9:12] == b"\0\0\0", c.hex()
    ts = int.from_bytes(c[12:16], "big")
    assert abs(ts - time.time()) < 120, "timestamp %d, now %d" % (ts, time.time())
    return c[8:]


def test_first_query_gets_server_cookie(servers):
    for name in ("pop-a", "random"):
        r = ask(servers[name], CC)
        assert r.rcode() == dns.rcode.NOERROR
        assert len(r.answer) == 1
        assert_fresh(r)
    # no COOKIE asked: none given
    assert cookie_of(ask(servers["pop-a"], None)) is None


def test_cookie_sent_back_works(servers):
    srv = servers["pop-a"]
    sc = learn(srv)
    for tcp in (False, True):
        r = ask(srv, CC + sc, tcp=tcp)
        assert r.rcode() == dns.rcode.NOERROR, dns.rcode.to_text(r.rcode())
        assert len(r.answer) == 1
        assert_fresh(r)


def test_tampered_cookie_badcookie_over_udp(servers):
    srv = servers["pop-a"]
    sc = bytearray(learn(srv))
    sc[-1] ^= 0x01
    r = ask(srv, CC + bytes(sc))
    assert r.rcode() == dns.rcode.BADCOOKIE, dns.rcode.to_text(r.rcode())
    assert not r.answer
    fresh = assert_fresh(r)
    # the fresh cookie works
    assert ask(srv, CC + fresh).rcode() == dns.rcode.NOERROR
    # over TCP the tampered cookie still gets the answer
    r = ask(srv, CC + bytes(sc), tcp=True)
    assert r.rcode() == dns.rcode.NOERROR
    assert len(r.answer) == 1
    assert_fresh(r)


def test_cookie_bound_to_address(servers):
    srv = servers["pop-a"]
    sc6 = learn(srv, host=V6)
    assert ask(srv, CC + sc6, host=V6).rcode() == dns.rcode.NOERROR
    assert ask(srv, CC + sc6, host=V4).rcode() == dns.rcode.BADCOOKIE


def test_malformed_cookie_formerr(servers):
    srv = servers["pop-a"]
    for n in (7, 9, 41):
        r = ask(srv, (CC * 6)[:n])
        assert r.rcode() == dns.rcode.FORMERR, (n, dns.rcode.to_text(r.rcode()))
    # --no-cookies: the option is not looked at
    r = ask(servers["off"], CC[:7])
    assert r.rcode() == dns.rcode.NOERROR
    assert cookie_of(r) is None


def test_no_cookies(servers):
    r = ask(servers["off"], CC)
    assert r.rcode() == dns.rcode.NOERROR
    assert len(r.answer) == 1
    assert cookie_of(r) is None


def test_anycast_shared_secret(servers):
    """A cookie from one PoP is good at every PoP with the same secret."""
    sc = learn(servers["pop-a"])
    r = ask(servers["pop-b"], CC + sc)
    assert r.rcode() == dns.rcode.NOERROR and len(r.answer) == 1
    sc_b = assert_fresh(r)
    assert ask(servers["pop-a"], CC + sc_b).rcode() == dns.rcode.NOERROR
    # another secret (or a random one): not ours
    assert ask(servers["other"], CC + sc).rcode() == dns.rcode.BADCOOKIE
    assert ask(servers["random"], CC + sc).rcode() == dns.rcode.BADCOOKIE


def test_secret_rotation(servers):
    sc_old = learn(servers["pop-a"])
    r = ask(servers["rotated"], CC + sc_old)
    assert r.rcode() == dns.rcode.NOERROR and len(r.answer) == 1
    sc_new = assert_fresh(r)           # made with the new secret
    assert ask(servers["new-only"], CC + sc_old).rcode() == dns.rcode.BADCOOKIE
    assert ask(servers["new-only"], CC + sc_new).rcode() == dns.rcode.NOERROR
    assert ask(servers["pop-a"], CC + sc_new).rcode() == dns.rcode.BADCOOKIE


def kdig(srv, *args):
    p = subprocess.run(["kdig", "@%s" % V4, "-p", str(srv.port), "+timeout=2", "+retry=2",
                        "+norec"] + list(args) + ["www.example.", "A"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    return p.stdout.decode("utf-8", "replace")


def kdig_cookie(out):
    for line in out.splitlines():
        if line.startswith(";; COOKIE:"):
            return line.split()[2].lower()
    return None


def test_kdig_cookie(servers):
    out = kdig(servers["pop-a"], "+cookie")
    assert "status: NOERROR" in out, out
    c = kdig_cookie(out)
    assert c is not None and len(c) == 48, out
    # sent back to the other PoP: accepted
    out = kdig(servers["pop-b"], "+cookie=" + c, "+nobadcookie")
    assert "status: NOERROR" in out and "192.0.2.2" in out, out
    # tampered: BADCOOKIE, and kdig retries with the fresh one by itself
    bad = c[:-2] + ("00" if c[-2:] != "00" else "01")
    out = kdig(servers["pop-a"], "+cookie=" + bad, "+nobadcookie")
    assert "status: BADCOOKIE" in out, out
    out = kdig(servers["pop-a"], "+cookie=" + bad)
    assert "status: NOERROR" in out.split("status: BADCOOKIE")[-1], out
    # over TCP, no BADCOOKIE
    out = kdig(servers["pop-a"], "+tcp", "+cookie=" + bad, "+nobadcookie")
    assert "status: NOERROR" in out, out


def test_secret_from_file(servers):
    """--cookie-secret-file is the same secret as --cookie-secret: the PoPs
    accept each other's cookies; a previous secret from a file too."""
    sc = learn(servers["pop-a"])
    r = ask(servers["pop-file"], CC + sc)
    assert r.rcode() == dns.rcode.NOERROR and len(r.answer) == 1
    sc_f = assert_fresh(r)
    assert ask(servers["pop-a"], CC + sc_f).rcode() == dns.rcode.NOERROR
    assert ask(servers["other"], CC + sc_f).rcode() == dns.rcode.BADCOOKIE
    # rotated: the new secret's file (no newline), the old one's as previous
    r = ask(servers["rotated-file"], CC + sc)
    assert r.rcode() == dns.rcode.NOERROR
    sc_new = assert_fresh(r)
    assert ask(servers["new-only"], CC + sc_new).rcode() == dns.rcode.NOERROR
    assert ask(servers["pop-file"], CC + sc_new).rcode() == dns.rcode.BADCOOKIE
    log = servers["pop-file"].log_text()
    assert "DNS cookies: on, configured secret from %s" % servers.secret_file in log, log
    assert SECRET not in log
    # a file others may read: used, with a warning
    log = servers["rotated-file"].log_text()
    assert ("warning: --cookie-secret-prev-file %s is readable by others (mode 0644)"
            % servers.open_file) in log, log
    assert "warning" not in servers["pop-file"].log_text()


@pytest.mark.parametrize("content,mode,why", [
    (None, 0o600, "No such file or directory"),
    (SECRET[:-1] + "\n", 0o600, "expected 32 hex digits"),
    (SECRET + "0\n", 0o600, "expected 32 hex digits"),
    ("x" * 32 + "\n", 0o600, "expected 32 hex digits"),
    (SECRET + "\n" + SECRET + "\n", 0o600, "expected 32 hex digits"),
    ("", 0o600, "expected 32 hex digits"),
    ("dir", 0o700, "not a regular file"),
])
def test_bad_secret_file(tmp_path, content, mode, why):
    """A bad secret file is an error (exit 1) naming the file, before any
    socket is opened; never a usage message."""
    path = tmp_path / "cookie.secret"
    if content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_text(content)
    if content is not None:
        os.chmod(path, mode)
    for opt in ("--cookie-secret-file", "--cookie-secret-prev-file"):
        args = [opt, str(path)]
        if opt == "--cookie-secret-prev-file":
            args += ["--cookie-secret", SECRET]
        p = subprocess.run([edgedns.DATAPLANE, "--io", "socket", "--snapshots", str(tmp_path),
                            "--listen", "127.0.0.1@%d" % procs.free_port()] + args,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10)
        out = p.stdout.decode("utf-8", "replace")
        assert p.returncode == 1, out
        assert "%s %s: %s" % (opt, path, why) in out, out
        assert "usage" not in out and "listening" not in out, out


@pytest.mark.parametrize("args", [
    ["--cookie-secret", SECRET, "--cookie-secret-file", "/dev/null"],
    ["--cookie-secret-prev", SECRET, "--cookie-secret-prev-file", "/dev/null",
     "--cookie-secret", SECRET],
    ["--cookie-secret-prev-file", "/dev/null"],
    ["--no-cookies", "--cookie-secret-file", "/dev/null"],
])
def test_secret_options_misused(tmp_path, args):
    """A secret given twice, a previous one without a current one, or with
    --no-cookies: usage errors (exit 2)."""
    p = subprocess.run([edgedns.DATAPLANE, "--io", "socket", "--snapshots", str(tmp_path)] + args,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10)
    assert p.returncode == 2, p.stdout
