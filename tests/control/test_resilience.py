"""edgedns-control resilience, end to end: kill -9 during a transfer, SOA
EXPIRE passing while control runs, one zone's hung primary against another
zone's refresh, ZONEMD and RRSIG margin refusals, divergent primaries.

Its own environment: knotd (TSIG, NOTIFY) for some zones, and small
in-process primaries (MiniPrimary, below: unsigned SOA over UDP/TCP and
AXFR, optionally dripped or blackholed, stoppable) for the others. Every
process is ours and killed by pid; every loop is bounded."""

import glob
import json
import os
import select
import signal
import socket
import subprocess
import tempfile
import threading
import time

import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset
import dns.zone
import primaries
import pytest
from conftest import (PRIMARY, SERIAL, Env, control_head, knot_with_notify, start_dataplane,
                      stop_env, wait_for)
from lib import procs

KZ = "kill.res.test."   # dripped transfer, control killed -9 in the middle
EZ = "exp.res.test."    # SOA REFRESH 1 RETRY 1 EXPIRE 4
AZ = "bh.res.test."     # blackholed primary (TCP accepts, never answers)
BZ = "b.res.test."      # knotd, changes while AZ hangs
ZM = "zmd.res.test."    # knotd, ZONEMD
ZS = "sig.res.test."    # knotd, DNSSEC signed
DZ = "div.res.test."    # two primaries: a MiniPrimary, then knotd
KNOT_ZONES = (BZ, ZM, ZS, DZ)
NT = 20                 # TXT records of the small zones
KILL_NT = 3000          # TXT records of the dripped zone
TRANSFER_TIMEOUT = 8
HOLD = 15               # a blackholed connection is held at most this long


def zone_text(origin, serial, ntxt=NT, extra="", timers=None):
    text = primaries.zone_text(origin, serial, ntxt, extra)
    if timers is not None:
        text = text.replace("%d 7200 3600 1209600 300" % serial, "%d %s 300" % (serial, timers), 1)
    return text


# ---- a small primary -------------------------------------------------------

class MiniPrimary:
    """Unsigned SOA (UDP and TCP), the other RRsets at the apex, and AXFR
    (also the answer to an IXFR, AXFR-style) of its zones on 127.0.0.1@port. drip[apex]: seconds between
    the AXFR messages; blackhole: apexes whose TCP queries are read and
    never answered (held HOLD seconds at most). stop() closes the sockets
    (queries refused by the kernel), start() opens them again on the port."""

    def __init__(self):
        self.port = procs.free_port()
        self.zones = {}
        self.drip = {}
        self.blackhole = set()
        self.lock = threading.Lock()
        self.axfr_started = {}   # apex -> count
        self.axfr_msgs = {}      # apex -> messages sent in the current AXFR
        self.holding = 0
        self.threads = []
        self.quit = None
        self.start()

    def set_zone(self, apex, text):
        z = dns.zone.from_text(text, apex, relativize=False)
        soa = z.find_rrset(apex, dns.rdatatype.SOA)
        rest = [rrs for name, rds in z.iterate_rdatasets()
                for rrs in [dns.rrset.from_rdata_list(name, rds.ttl, list(rds))]
                if rds.rdtype != dns.rdatatype.SOA]
        with self.lock:
            self.zones[dns.name.from_text(apex)] = (soa, rest)

    def start(self):
        self.quit = threading.Event()
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.udp.bind(("127.0.0.1", self.port))
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", self.port))
        self.tcp.listen(16)
        self.threads = [threading.Thread(target=f, args=(self.quit, s), daemon=True)
                        for f, s in ((self._udp_loop, self.udp), (self._tcp_loop, self.tcp))]
        for t in self.threads:
            t.start()

    def stop(self):
        self.quit.set()
        for t in self.threads:
            t.join(5)
        self.udp.close()
        self.tcp.close()

    def _answer(self, q):
        """The messages answering q (a list), or None for no answer."""
        if not q.question:
            return None
        qn, qt = q.question[0].name, q.question[0].rdtype
        with self.lock:
            z = self.zones.get(qn)
        r = dns.message.make_response(q)
        r.flags |= dns.flags.AA
        if z is None:
            r.set_rcode(dns.rcode.REFUSED)
            return [r]
        soa, rest = z
        if qt == dns.rdatatype.SOA:
            r.answer.append(soa)
            return [r]
        if qt not in (dns.rdatatype.AXFR, dns.rdatatype.IXFR):
            # another type at the apex (ZONEMD for the cross-check): the
            # RRset, or NODATA with the SOA
            r.answer += [rrs for rrs in rest if rrs.name == qn and rrs.rdtype == qt]
            if not r.answer:
                r.authority.append(soa)
            return [r]
        seq = [soa] + rest + [soa]
        out = []
        for i in range(0, len(seq), 60):
            m = dns.message.make_response(q)
            m.flags |= dns.flags.AA
            m.answer = seq[i:i + 60]
            out.append(m)
        return out

    def _udp_loop(self, quit, sock):
        while not quit.is_set():
            if not select.select([sock], [], [], 0.1)[0]:
                continue
            try:
                wire, peer = sock.recvfrom(65535)
                q = dns.message.from_wire(wire)
            except Exception:  # noqa: BLE001 - junk or closed
                continue
            out = self._answer(q)
            if out and q.question[0].rdtype not in (dns.rdatatype.AXFR, dns.rdatatype.IXFR):
                sock.sendto(out[0].to_wire(), peer)

    def _tcp_loop(self, quit, sock):
        while not quit.is_set():
            if not select.select([sock], [], [], 0.1)[0]:
                continue
            try:
                c, _ = sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._conn, args=(quit, c), daemon=True).start()

    def _conn(self, quit, c):
        c.settimeout(5)
        try:
            hdr = c.recv(2, socket.MSG_WAITALL)
            if len(hdr) < 2:
                return
            q = dns.message.from_wire(c.recv(int.from_bytes(hdr, "big"), socket.MSG_WAITALL))
            apex = q.question[0].name.to_text()
            if apex in self.blackhole:
                with self.lock:
                    self.holding += 1
                try:
                    end = time.monotonic() + HOLD
                    while time.monotonic() < end and not quit.is_set():
                        if select.select([c], [], [], 0.1)[0] and not c.recv(4096):
                            break      # the client gave up
                finally:
                    with self.lock:
                        self.holding -= 1
                return
            out = self._answer(q) or []
            xfr = q.question[0].rdtype in (dns.rdatatype.AXFR, dns.rdatatype.IXFR)
            if xfr:
                with self.lock:
                    self.axfr_started[apex] = self.axfr_started.get(apex, 0) + 1
                    self.axfr_msgs[apex] = 0
            for m in out:
                w = m.to_wire(max_size=65535)
                c.sendall(len(w).to_bytes(2, "big") + w)
                if xfr:
                    with self.lock:
                        self.axfr_msgs[apex] += 1
                    d = self.drip.get(apex, 0)
                    if d:
                        time.sleep(d)
                    if quit.is_set():
                        return
        except (OSError, dns.exception.DNSException):
            pass
        finally:
            c.close()


# ---- the environment -------------------------------------------------------

@pytest.fixture(scope="module")
def renv():
    wd = tempfile.mkdtemp(prefix="edgedns-resilience-")
    e = Env(wd)
    e.mps = []
    try:
        zd = os.path.join(wd, "zones")
        os.makedirs(zd)
        for z in KNOT_ZONES:
            e.zonefiles[z] = os.path.join(zd, z + "zone")
            primaries.write(e.zonefiles[z], zone_text(z, SERIAL))
        e.mp = MiniPrimary()         # KZ, AZ
        e.mps.append(e.mp)
        e.mp.set_zone(KZ, zone_text(KZ, SERIAL, KILL_NT))
        e.mp.set_zone(AZ, zone_text(AZ, SERIAL))
        e.mp.blackhole.add(AZ)
        e.mpx = MiniPrimary()        # EZ
        e.mps.append(e.mpx)
        e.mpx.set_zone(EZ, zone_text(EZ, SERIAL, timers="1 1 4"))
        e.mpd = MiniPrimary()        # DZ, primary 0
        e.mps.append(e.mpd)
        e.mpd.set_zone(DZ, zone_text(DZ, SERIAL))
        e.notify_port = procs.free_port()
        e.knot = knot_with_notify(os.path.join(wd, "knot"),
                                  [(z, e.zonefiles[z], True) for z in KNOT_ZONES],
                                  e.notify_port)
        start_dataplane(e, wd)
        kp = e.knot.port
        head = control_head(e, wd).replace("transfer-timeout: 2s",
                                           "transfer-timeout: %ds" % TRANSFER_TIMEOUT)
        # DZ: primaries that stay behind are reported after 2 s
        head += ("  - id: lag\n    max-primary-lag: 2s\n    transfer-timeout: %ds\n"
                 "    refresh-jitter: 0%%\n" % TRANSFER_TIMEOUT)
        text = head + "zone:\n"
        mini = "      - address: 127.0.0.1@%d\n"
        for z, prims in ((KZ, mini % e.mp.port), (AZ, mini % e.mp.port),
                         (EZ, mini % e.mpx.port), (BZ, PRIMARY % kp), (ZM, PRIMARY % kp),
                         (ZS, PRIMARY % kp), (DZ, mini % e.mpd.port + PRIMARY % kp)):
            text += "  - domain: %s\n    primary:\n%s" % (z, prims)
            if z == DZ:
                text += "    policy: lag\n"
        e.conf = os.path.join(wd, "control.yaml")
        primaries.write(e.conf, text)
        e.start_control()
        for z in (KZ, EZ, BZ, ZM, ZS, DZ):
            e.wait_dp_serial(z, SERIAL)
        yield e
    finally:
        stop_env(e, wd)
        for mp in e.mps:
            mp.stop()


def knot_set(e, zone, serial, text):
    primaries.write(e.zonefiles[zone], text)
    e.knot.reload(zone)
    primaries.wait_serial("127.0.0.1", e.knot.port, zone, serial)


def status_when(e, zone, pred, timeout, what):
    return wait_for(lambda: (lambda s: s if pred(s) else None)(e.zone_status(zone)), timeout, what)


def idle(s):
    return s["next_refresh"] is not None


def no_tmp_left(e):
    left = glob.glob(os.path.join(e.snap, "*.tmp")) + glob.glob(os.path.join(e.state, "*.tmp"))
    left += glob.glob(os.path.join(e.snap, ".*tmp*")) + glob.glob(os.path.join(e.state, ".*tmp*"))
    return left


# ---- 1. kill -9 in the middle of a transfer --------------------------------

def test_kill9_during_transfer_then_restart_completes(renv):
    e = renv
    new = SERIAL + 1
    e.mp.set_zone(KZ, zone_text(KZ, new, KILL_NT, extra="killnew A 192.0.2.66\n"))
    e.mp.drip[KZ] = 0.1               # ~50 messages: about 5 s
    started = e.mp.axfr_started.get(KZ, 0)
    assert e.edgednsctl("refresh", KZ).returncode == 0
    wait_for(lambda: e.mp.axfr_started.get(KZ, 0) > started and e.mp.axfr_msgs.get(KZ, 0) >= 5,
             10, "the dripped transfer under way")
    assert e.dp_serial(KZ) == SERIAL
    pid = e.ctl.pid
    os.kill(pid, signal.SIGKILL)
    e.ctl.proc.wait(timeout=5)
    assert e.ctl.proc.returncode == -signal.SIGKILL
    e.ctl.stop()                      # closes its log
    # the dataplane keeps the last good version while control is gone
    for _ in range(10):
        assert e.dp_serial(KZ) == SERIAL
        time.sleep(0.1)
    for path in glob.glob(os.path.join(e.state, "*.state")):
        with open(path) as f:
            json.load(f)
    e.mp.drip[KZ] = 0.01
    e.start_control()    # the killed one's socket file is still there: wait for an answer
    wait_for(lambda: e.ctl_alive() and e.zone_status(KZ), 10, "control answering")
    # no refresh command: the interrupted refresh was saved as due, so the
    # restart completes it by itself (the next scheduled one is hours away)
    e.wait_dp_serial(KZ, new, timeout=20)
    r = e.dp_query("killnew." + KZ, dns.rdatatype.A)
    assert r.answer and r.answer[0][0].address == "192.0.2.66"
    st = status_when(e, KZ, lambda s: s["state"] == "published" and idle(s), 10, "published")
    assert st["serial"] == new and st["last_error"] == ""
    assert no_tmp_left(e) == []
    for path in glob.glob(os.path.join(e.state, "*.state")):
        with open(path) as f:
            j = json.load(f)
        if os.path.basename(path) == KZ + "state":
            assert j["serial"] == new, j
    assert os.path.exists(os.path.join(e.state, KZ + "state"))
    for z in (EZ, BZ, ZM, ZS, DZ):
        assert e.dp_serial(z) == SERIAL


# ---- 2. SOA EXPIRE passing while control runs ------------------------------

def _dp_query_edns(e, name, rdtype):
    q = dns.message.make_query(name, rdtype, use_edns=0)
    return dns.query.udp(q, "127.0.0.1", port=e.dp.port, timeout=1)


def _expired(r):
    ede = [(o.code, o.text) for o in r.options if isinstance(o, dns.edns.EDEOption)]
    return r.rcode() == dns.rcode.SERVFAIL and not r.answer and ede and ede[0][0] == 14


def test_expire_while_running_then_served_again(renv):
    e = renv
    e.wait_dp_serial(EZ, SERIAL)
    st = status_when(e, EZ, lambda s: s["state"] == "published", 5, "published")
    assert st["expire_at"] <= time.time() + 5, st
    e.mpx.stop()
    t0 = time.monotonic()
    try:
        wait_for(lambda: _expired(_dp_query_edns(e, EZ, dns.rdatatype.SOA)), 12,
                 "SERVFAIL with EDE 14")
        assert time.monotonic() - t0 <= 8
        r = _dp_query_edns(e, "www." + EZ, dns.rdatatype.A)
        assert _expired(r), r
        assert not r.flags & dns.flags.AA
        st = e.zone_status(EZ)
        assert st["state"] == "expired" and not st["served"], st
        assert "expired" in e.ctl.log_text(40000)
        # the other zones are served as before
        assert e.dp_serial(BZ) == SERIAL
    finally:
        e.mpx.start()
    e.edgednsctl("refresh", EZ)
    wait_for(lambda: e.dp_serial(EZ) == SERIAL, 10, "served again")
    r = _dp_query_edns(e, EZ, dns.rdatatype.SOA)
    assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA
    assert not [o for o in r.options if isinstance(o, dns.edns.EDEOption)]
    st = status_when(e, EZ, lambda s: s["state"] == "published", 5, "published again")
    assert st["served"] and st["expire_at"] > time.time()
    assert "served again" in e.ctl.log_text(40000)


# ---- 3. a hung primary of one zone does not hold another -------------------

def test_blackholed_zone_does_not_stop_other_refresh(renv):
    e = renv
    assert e.dp_serial(AZ) is None     # never transferred
    assert e.edgednsctl("refresh", AZ).returncode == 0
    wait_for(lambda: e.mp.holding >= 1, 10, "AZ's transfer hung on the blackhole")
    t0 = time.monotonic()
    new = SERIAL + 1
    knot_set(e, BZ, new, zone_text(BZ, new, extra="moved A 192.0.2.9\n"))   # knotd NOTIFYs
    assert e.edgednsctl("refresh", BZ).returncode == 0
    e.wait_dp_serial(BZ, new, timeout=TRANSFER_TIMEOUT)
    took = time.monotonic() - t0
    assert took < TRANSFER_TIMEOUT / 2, took
    assert e.mp.holding >= 1, "AZ's transfer should still hang"
    # and AZ's attempt ends by the transfer timeout, as a failure
    st = status_when(e, AZ, lambda s: s["failures"] >= 1 and idle(s), TRANSFER_TIMEOUT + 5,
                     "AZ failed")
    assert "tim" in st["last_error"], st
    assert e.dp_serial(BZ) == new


# ---- 4. ZONEMD ---------------------------------------------------------------

def zonemd_text(zone, serial, corrupt=False):
    text = zone_text(zone, serial, extra="v%d A 192.0.2.%d\n" % (serial % 100, serial % 100))
    z = dns.zone.from_text(text, zone, relativize=False)
    d = z.compute_digest(dns.zone.DigestHashAlgorithm.SHA384)
    hexd = d.digest.hex()
    if corrupt:
        hexd = hexd[:-1] + ("0" if hexd[-1] != "0" else "1")
    return text + "@ ZONEMD %d 1 1 %s\n" % (serial, hexd)


def test_zonemd_wrong_refused_right_published(renv):
    e = renv
    bad, good = SERIAL + 1, SERIAL + 2
    before = e.zone_status(ZM)["refused"]
    knot_set(e, ZM, bad, zonemd_text(ZM, bad, corrupt=True))
    assert e.edgednsctl("refresh", ZM).returncode == 0
    st = status_when(e, ZM, lambda s: s["refused"] > before and idle(s), 15, "ZONEMD refused")
    assert st["refused"] == before + 1 and st["serial"] == SERIAL
    assert "ZONEMD" in st["last_error"] and "refused" in st["last_error"], st
    assert "serial %d " % bad in st["last_error"], st
    assert e.dp_serial(ZM) == SERIAL
    knot_set(e, ZM, good, zonemd_text(ZM, good))
    assert e.edgednsctl("refresh", ZM).returncode == 0
    e.wait_dp_serial(ZM, good)
    r = e.dp_query(ZM, dns.rdatatype.ZONEMD)
    assert r.answer and r.answer[0][0].serial == good
    st = status_when(e, ZM, lambda s: s["state"] == "published" and idle(s), 5, "published")
    assert st["refused"] == before + 1 and st["last_error"] == ""


# ---- 5. RRSIG expiring within the margin ------------------------------------

def _signed(e, zone, serial, expire):
    """zone at serial signed (NSEC) by ldns-signzone, RRSIGs expiring at
    expire (a time.time() value)."""
    d = os.path.join(e.workdir, "sign")
    os.makedirs(d, exist_ok=True)
    if not getattr(e, "sig_key", None):
        p = subprocess.run(["ldns-keygen", "-a", "ECDSAP256SHA256", "-k", zone], cwd=d,
                           capture_output=True, text=True, timeout=30, check=True)
        e.sig_key = os.path.join(d, p.stdout.strip())
    src = os.path.join(d, "%s%d" % (zone, serial))
    primaries.write(src, zone_text(zone, serial))
    out = src + ".signed"
    inception = time.strftime("%Y%m%d%H%M%S", time.gmtime(time.time() - 3600))
    expiration = time.strftime("%Y%m%d%H%M%S", time.gmtime(expire))
    subprocess.run(["ldns-signzone", "-i", inception, "-e", expiration,
                    "-o", zone, "-f", out, src, e.sig_key], cwd=d, capture_output=True,
                   text=True, timeout=60, check=True)
    with open(out) as f:
        return f.read()


def test_rrsig_within_margin_refused(renv):
    e = renv
    base, short = SERIAL + 1, SERIAL + 2
    knot_set(e, ZS, base, _signed(e, ZS, base, time.time() + 30 * 86400))
    assert e.edgednsctl("refresh", ZS).returncode == 0
    e.wait_dp_serial(ZS, base)
    st = status_when(e, ZS, lambda s: s["state"] == "published" and idle(s), 5, "signed published")
    before = st["refused"]
    knot_set(e, ZS, short, _signed(e, ZS, short, time.time() + 86400))
    assert e.edgednsctl("refresh", ZS).returncode == 0
    st = status_when(e, ZS, lambda s: s["refused"] > before and idle(s), 15, "RRSIG refused")
    assert st["serial"] == base and "refused" in st["last_error"], st
    assert "RRSIG" in st["last_error"] and "margin 172800" in st["last_error"], st
    assert e.dp_serial(ZS) == base


# ---- 6. divergent primaries ---------------------------------------------------

def test_divergent_primaries_serials_in_status(renv):
    e = renv
    new = SERIAL + 1
    st = e.zone_status(DZ)
    assert st["primary"] == "127.0.0.1@%d" % e.mpd.port, st
    e.mpd.stop()                       # primary 0 down; knotd (primary 1) moves on
    try:
        knot_set(e, DZ, new, zone_text(DZ, new, extra="div A 192.0.2.7\n"))
        assert e.edgednsctl("refresh", DZ).returncode == 0
        e.wait_dp_serial(DZ, new)
    finally:
        e.mpd.start()                  # back, still at SERIAL: behind
    assert e.edgednsctl("refresh", DZ).returncode == 0
    st = status_when(e, DZ, lambda s: idle(s) and "not newer" in s["primaries"][0]["error"],
                     10, "primary 0 seen behind")
    p0, p1 = st["primaries"]
    assert p0["address"] == "127.0.0.1@%d" % e.mpd.port and p0["serial"] == SERIAL, st
    assert p1["address"] == "127.0.0.1@%d" % e.knot.port and p1["serial"] == new, st
    assert st["serial"] == new and st["primary"] == p1["address"], st
    assert e.dp_serial(DZ) == new
    assert st["divergent"] is False and p0["state"] == "behind", st
    assert p1["state"] == "in-sync", st


def test_lagging_primary_reported_then_in_sync(renv):
    """Primary 0 stays behind past max-primary-lag (2 s): lagging, logged;
    once it catches up: in-sync again."""
    e = renv
    st = e.zone_status(DZ)
    served = st["serial"]
    assert st["primaries"][0]["state"] == "behind", st
    time.sleep(2.2)
    assert e.edgednsctl("refresh", DZ).returncode == 0
    st = status_when(e, DZ, lambda s: idle(s) and s["primaries"][0]["state"] == "lagging",
                     10, "primary 0 lagging")
    assert st["divergent"] is True and st["divergences"] >= 1, st
    assert "max-primary-lag 2 s" in st["primaries"][0]["note"], st
    p = e.edgednsctl("zone-status", DZ)
    assert p.returncode == 0 and "lagging" in p.stdout and "divergent:     yes" in p.stdout, p.stdout
    assert "primary 127.0.0.1@%d lagging" % e.mpd.port in e.ctl.log_text()
    e.mpd.set_zone(DZ, zone_text(DZ, served, extra="div A 192.0.2.7\n"))
    assert e.edgednsctl("refresh", DZ).returncode == 0
    st = status_when(e, DZ, lambda s: idle(s) and s["primaries"][0]["state"] == "in-sync",
                     10, "primary 0 in sync")
    assert st["divergent"] is False and st["primaries"][1]["state"] == "in-sync", st
    assert "primary 127.0.0.1@%d in-sync again" % e.mpd.port in e.ctl.log_text()


def _zonemd_zone(zone, serial, extra):
    text = zone_text(zone, serial, extra=extra)
    z = dns.zone.from_text(text, zone, relativize=False)
    d = z.compute_digest(dns.zone.DigestHashAlgorithm.SHA384)
    return text + "@ ZONEMD %d 1 1 %s\n" % (serial, d.digest.hex()), d.digest.hex()


def test_same_serial_different_zonemd_is_divergence(renv):
    """Both primaries at one serial, each with a valid ZONEMD of different
    content: we serve primary 0's version and report primary 1 diverged,
    naming the ZONEMD; the served version is not touched."""
    e = renv
    n = e.zone_status(DZ)["serial"] + 1
    text0, d0 = _zonemd_zone(DZ, n, "div A 192.0.2.7\nonly0 A 192.0.2.10\n")
    text1, d1 = _zonemd_zone(DZ, n, "div A 192.0.2.7\nonly1 A 192.0.2.11\n")
    assert d0 != d1
    before = e.zone_status(DZ)["divergences"]
    e.mpd.set_zone(DZ, text0)
    knot_set(e, DZ, n, text1)
    assert e.edgednsctl("refresh", DZ).returncode == 0
    e.wait_dp_serial(DZ, n)
    st = status_when(e, DZ, lambda s: idle(s) and s["primaries"][1]["state"] == "diverged",
                     10, "primary 1 diverged")
    p0, p1 = st["primaries"]
    assert st["primary"] == p0["address"] and p0["state"] == "in-sync", json.dumps(st, indent=1)
    assert p0["zonemd"] == "1 1 " + d0 and p1["zonemd"] == "1 1 " + d1, st
    assert "serial %d" % n in p1["note"] and "ZONEMD digest" in p1["note"], st
    assert st["divergent"] is True and st["divergences"] == before + 1, st
    assert "primary 127.0.0.1@%d diverged" % e.knot.port in e.ctl.log_text()
    r = e.dp_query("only0." + DZ, dns.rdatatype.A)
    assert r.rcode() == dns.rcode.NOERROR and r.answer, r
    # reported once, not at every refresh
    assert e.edgednsctl("refresh", DZ).returncode == 0
    time.sleep(0.5)
    st = status_when(e, DZ, idle, 10, "idle")
    assert st["divergences"] == before + 1 and st["primaries"][1]["state"] == "diverged", st



# ---- 9. stopped between the snapshot's rename and the text's -----------------

def test_text_behind_snapshot_at_start_is_published_again(renv):
    """publish writes NAME.snap, then, after the dataplane's load, NAME.zone:
    a control stopped between the two leaves the snapshot a version ahead of
    the text. At the next start the text (a true earlier version) is the
    IXFR base, and the zone is published again so that the two agree."""
    e = renv
    old = e.zone_status(BZ)["serial"]
    text_path = os.path.join(e.snap, BZ + "zone")
    with open(text_path) as f:
        old_text = f.read()
    new = old + 1
    knot_set(e, BZ, new, zone_text(BZ, new, extra="behind A 192.0.2.10\n"))
    assert e.edgednsctl("refresh", BZ).returncode == 0
    e.wait_dp_serial(BZ, new)
    status_when(e, BZ, lambda s: s["serial"] == new and idle(s), 10, "published")
    os.kill(e.ctl.pid, signal.SIGKILL)
    e.ctl.proc.wait(timeout=5)
    e.ctl.stop()
    primaries.write(text_path, old_text)      # as if the text's rename never came
    assert e.dp_serial(BZ) == new
    e.start_control()
    wait_for(lambda: e.ctl_alive() and e.zone_status(BZ), 10, "control answering")
    status_when(e, BZ, lambda s: s["serial"] == new and s["state"] == "published" and idle(s),
                20, "published again")
    assert "snapshot has serial %d, the text %d" % (new, old) in e.ctl.log_text()
    with open(text_path) as f:
        soa = f.read().split("\n")[1].split()
    assert soa[3] == "SOA" and int(soa[6]) == new, soa
    assert e.dp_serial(BZ) == new
    r = e.dp_query("behind." + BZ, dns.rdatatype.A)
    assert r.answer and r.answer[0][0].address == "192.0.2.10"
    assert no_tmp_left(e) == []
