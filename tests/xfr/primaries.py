"""primaries.py: real primaries for the transfer tests: knotd and nsd on
127.0.0.1 and ::1 on a free port, with TSIG keys, serving generated zones.
Both are started in the foreground as our children and killed by pid
(procs.Server)."""

import base64
import os
import subprocess
import sys
import time

import dns.message
import dns.query
import dns.rdatatype

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "conformance"))
from lib import procs  # noqa: E402

KNOTD = "/usr/sbin/knotd"
KNOTC = "/usr/sbin/knotc"
NSD = "/usr/sbin/nsd"

# name, algorithm, secret
KEYS = [
    ("xfr-key.", "hmac-sha256", base64.b64encode(b"edgedns-xfr-test-secret-256-0123").decode()),
    ("k384.", "hmac-sha384", base64.b64encode(b"edgedns-xfr-test-secret-384-012345678901").decode()),
    ("k512.", "hmac-sha512", base64.b64encode(b"edgedns-xfr-test-secret-512-0123456789012345678").decode()),
]


def zone_text(origin, serial, ntxt=3000, extra=""):
    """A zone big enough to span several 64 KiB messages."""
    lines = [
        "$ORIGIN %s" % origin,
        "$TTL 3600",
        "@ SOA ns1 hostmaster %d 7200 3600 1209600 300" % serial,
        "@ NS ns1",
        "@ NS ns2.example.net.",
        "ns1 A 192.0.2.53",
        "ns1 AAAA 2001:db8::53",
        "www A 192.0.2.80",
        "www AAAA 2001:db8::80",
        "mail MX 10 mx1",
        "mx1 A 192.0.2.25",
        "sub NS ns.sub",
        "ns.sub A 192.0.2.99",
    ]
    for i in range(ntxt):
        lines.append("t%d TXT \"record %d of the transfer test zone, padding padding padding\"" % (i, i))
    return "\n".join(lines) + "\n" + extra


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def wait_serial(host, port, zone, serial, timeout=15.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            r = dns.query.udp(dns.message.make_query(zone, dns.rdatatype.SOA), host, port=port, timeout=0.5)
            if r.answer and r.answer[0][0].serial == serial:
                return
            last = r.answer[0][0].serial if r.answer else r.rcode()
        except Exception as e:  # noqa: BLE001 - not ready yet
            last = repr(e)
        time.sleep(0.1)
    raise RuntimeError("%s@%d: %s serial %s not seen (last %s)" % (host, port, zone, serial, last))


class Knot:
    """knotd: zones in TSIG (every key of KEYS) or open; IXFR from zone file
    differences (zonefile-load: difference, journal of changes)."""

    def __init__(self, workdir, zones):
        # zones: list of (origin, path, tsig_required)
        self.workdir = workdir
        os.makedirs(os.path.join(workdir, "run"), exist_ok=True)
        os.makedirs(os.path.join(workdir, "storage"), exist_ok=True)
        self.port = procs.free_port()
        self.sock = os.path.join(workdir, "run", "knot.sock")
        lines = [
            "server:",
            "    rundir: \"%s\"" % os.path.join(workdir, "run"),
            "    listen: 127.0.0.1@%d" % self.port,
            "    listen: ::1@%d" % self.port,
            "    udp-workers: 1",
            "    tcp-workers: 2",
            "    background-workers: 1",
            "database:",
            "    storage: \"%s\"" % os.path.join(workdir, "storage"),
            "control:",
            "    listen: \"%s\"" % self.sock,
            "log:",
            "  - target: stderr",
            "    any: info",
            "key:",
        ]
        for name, alg, sec in KEYS:
            lines += ["  - id: %s" % name, "    algorithm: %s" % alg, "    secret: %s" % sec]
        lines += [
            "acl:",
            "  - id: tsig",
            "    key: [%s]" % ", ".join(k[0] for k in KEYS),
            "    action: transfer",
            "  - id: open",
            "    address: [127.0.0.1, ::1]",
            "    action: transfer",
            "template:",
            "  - id: default",
            "    storage: \"%s\"" % workdir,
            "    zonefile-load: difference",
            "    zonefile-sync: -1",
            "    journal-content: changes",
            "    semantic-checks: off",
            "zone:",
        ]
        for origin, path, tsig in zones:
            lines += ["  - domain: %s" % origin, "    file: \"%s\"" % path,
                      "    acl: [%s]" % ("tsig" if tsig else "open")]
        self.conf = os.path.join(workdir, "knot.conf")
        write(self.conf, "\n".join(lines) + "\n")
        self.srv = procs.Server("knotd", [KNOTD, "-c", self.conf], os.path.join(workdir, "knotd.log"))
        try:
            for origin, _, _ in zones:
                procs.wait_answers(self.srv, "127.0.0.1", self.port, origin)
        except Exception:
            self.srv.stop()
            raise

    def reload(self, zone):
        subprocess.run([KNOTC, "-c", self.conf, "-s", self.sock, "zone-reload", zone],
                       check=True, capture_output=True, timeout=10)

    def stop(self):
        self.srv.stop()


class Nsd:
    """nsd in the foreground (-d), no database, no privilege drop; zones
    provided to 127.0.0.1 and ::1 with the first key of KEYS or unsigned."""

    def __init__(self, workdir, zones):
        os.makedirs(workdir, exist_ok=True)
        self.port = procs.free_port()
        w = workdir
        lines = [
            "server:",
            "    ip-address: 127.0.0.1@%d" % self.port,
            "    ip-address: ::1@%d" % self.port,
            "    port: %d" % self.port,
            "    server-count: 1",
            "    username: \"\"",
            "    chroot: \"\"",
            "    zonesdir: \"%s\"" % w,
            "    database: \"\"",
            "    zonelistfile: \"%s\"" % os.path.join(w, "zone.list"),
            "    xfrdfile: \"%s\"" % os.path.join(w, "xfrd.state"),
            "    xfrdir: \"%s\"" % w,
            "    pidfile: \"%s\"" % os.path.join(w, "nsd.pid"),
            "    logfile: \"%s\"" % os.path.join(w, "nsd.log"),
            "    verbosity: 1",
            "    hide-version: yes",
            "remote-control:",
            "    control-enable: no",
            "key:",
            "    name: %s" % KEYS[0][0],
            "    algorithm: %s" % KEYS[0][1],
            "    secret: \"%s\"" % KEYS[0][2],
        ]
        for origin, path, tsig in zones:
            lines += ["zone:", "    name: %s" % origin, "    zonefile: \"%s\"" % path]
            for a in ("127.0.0.1", "::1"):
                lines.append("    provide-xfr: %s %s" % (a, KEYS[0][0] if tsig else "NOKEY"))
        self.conf = os.path.join(w, "nsd.conf")
        write(self.conf, "\n".join(lines) + "\n")
        self.srv = procs.Server("nsd", [NSD, "-d", "-c", self.conf], os.path.join(w, "nsd.out"))
        try:
            for origin, _, _ in zones:
                procs.wait_answers(self.srv, "127.0.0.1", self.port, origin)
        except Exception:
            self.srv.stop()
            raise

    def stop(self):
        self.srv.stop()
