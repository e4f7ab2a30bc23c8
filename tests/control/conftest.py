"""Fixtures for the edgedns-control tests: a real knotd primary (TSIG,
IXFR from zone file differences, tests/xfr/primaries.py), the socket
dataplane with its command socket, and edgedns-control with a generated
YAML config pointing at both. Every process is ours and killed by pid; the
work directory is removed at the end (EDGEDNS_CONTROL_KEEP=1 keeps it)."""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import dns.message
import dns.query
import dns.rdatatype
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "xfr"))
sys.path.insert(0, os.path.join(HERE, "..", "conformance"))

import primaries  # noqa: E402
from lib import procs  # noqa: E402

BUILD = os.environ.get("EDGEDNS_BUILD", os.path.join(HERE, "..", "..", "build"))
CONTROL = os.path.join(BUILD, "edgedns-control")
CTL = os.path.join(BUILD, "edgednsctl")
DATAPLANE = os.path.join(BUILD, "edgedns-dataplane")

SERIAL = 2024010101
ZONE = "svc.test."      # transfer, refresh, NOTIFY, restart
GATE = "gate.test."     # a version the gate refuses
FO = "fo.test."         # first primary down
NTXT = 200


def wait_for(pred, timeout=15.0, what="condition", step=0.1):
    """Poll pred() until truthy (bounded); returns its value."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            v = pred()
            if v:
                return v
            last = v
        except Exception as e:  # noqa: BLE001 - not yet
            last = repr(e)
        time.sleep(step)
    raise AssertionError("%s not reached within %.0fs (last: %s)" % (what, timeout, last))


class Env:
    def __init__(self, workdir):
        self.workdir = workdir
        self.zonefiles = {}
        self.knot = None
        self.dp = None
        self.ctl = None
        self.ctl_runs = 0

    # ---- the primary --------------------------------------------------
    def set_zone(self, zone, serial, ntxt=NTXT, extra=""):
        primaries.write(self.zonefiles[zone], primaries.zone_text(zone, serial, ntxt, extra))
        self.knot.reload(zone)
        primaries.wait_serial("127.0.0.1", self.knot.port, zone, serial)

    # ---- the dataplane ------------------------------------------------
    def dp_serial(self, zone):
        q = dns.message.make_query(zone, dns.rdatatype.SOA)
        r = dns.query.udp(q, "127.0.0.1", port=self.dp.port, timeout=1)
        if r.rcode() != 0 or not r.answer:
            return None
        return r.answer[0][0].serial

    def dp_query(self, name, rdtype):
        q = dns.message.make_query(name, rdtype)
        return dns.query.udp(q, "127.0.0.1", port=self.dp.port, timeout=1)

    # ---- edgedns-control ----------------------------------------------
    def start_control(self, env=None):
        """env: the environment (None: ours), e.g. with NOTIFY_SOCKET."""
        self.ctl_runs += 1
        log = os.path.join(self.workdir, "control.%d.log" % self.ctl_runs)
        self.ctl = procs.Server("edgedns-control", [CONTROL, "-c", self.conf, "-f"], log,
                                env=env)
        # the socket is bound before the zones boot; "started:" comes after
        wait_for(lambda: self.ctl_alive() and os.path.exists(self.sock)
                 and "edgedns-control: notice: started:" in self.ctl.log_text(), 10,
                 "control started")
        return self.ctl

    def ctl_alive(self):
        if not self.ctl.alive():
            raise RuntimeError("edgedns-control exited %s:\n%s" % (self.ctl.proc.returncode,
                                                                   self.ctl.log_text()))
        return True

    def request(self, obj):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            s.connect(self.sock)
            s.sendall((json.dumps(obj) + "\n").encode())
            buf = b""
            while not buf.endswith(b"\n") and len(buf) < (1 << 22):
                d = s.recv(65536)
                if not d:
                    break
                buf += d
        finally:
            s.close()
        return json.loads(buf)

    def zone_status(self, zone):
        r = self.request({"cmd": "zone-status", "zone": zone})
        assert r["ok"], r
        return r["zone"]

    def edgednsctl(self, *args):
        p = subprocess.run([CTL, "-s", self.sock] + list(args), capture_output=True, text=True,
                           timeout=15)
        return p

    def wait_dp_serial(self, zone, serial, timeout=20):
        return wait_for(lambda: self.dp_serial(zone) == serial, timeout,
                        "%s serial %d on the dataplane (control log:\n%s)" % (
                            zone, serial, self.ctl.log_text() if self.ctl else ""))


def knot_with_notify(workdir, zones, notify_port):
    """primaries.Knot whose zones also NOTIFY edgedns-control (signed with
    the first key) at 127.0.0.1@notify_port: its config is amended as it
    is written."""
    real_write = primaries.write

    def write(path, text):
        if path.endswith("knot.conf"):
            remote = ("remote:\n  - id: edgedns\n    address: 127.0.0.1@%d\n    key: %s\n"
                      % (notify_port, primaries.KEYS[0][0]))
            text = text.replace("template:\n", remote + "template:\n", 1)
            text = text.replace("    acl: [tsig]\n", "    acl: [tsig]\n    notify: edgedns\n")
        real_write(path, text)

    primaries.write = write
    try:
        return primaries.Knot(workdir, zones)
    finally:
        primaries.write = real_write


def start_dataplane(e, wd):
    """The socket dataplane, empty at first; sets e.dp, e.snap, e.state, e.dpsock."""
    e.snap = os.path.join(wd, "snapshots")
    e.state = os.path.join(wd, "state")
    os.makedirs(e.snap)
    os.makedirs(e.state)
    e.dpsock = os.path.join(wd, "dataplane.sock")
    port = procs.free_port()
    e.dp = procs.Server("edgedns-dataplane",
                        [DATAPLANE, "--io", "socket", "--snapshots", e.snap,
                         "--listen", "127.0.0.1@%d" % port, "--control", e.dpsock],
                        os.path.join(wd, "dataplane.log"))
    e.dp.port = port
    wait_for(lambda: e.dp.alive() and os.path.exists(e.dpsock), 10, "dataplane socket")


def control_head(e, wd):
    """The control, key and policy sections of an edgedns-control config."""
    name, alg, secret = primaries.KEYS[0]
    secret_file = os.path.join(wd, "xfr-key.secret")
    with open(secret_file, "w") as f:
        f.write(secret + "\n")
    os.chmod(secret_file, 0o600)
    e.sock = os.path.join(wd, "control.sock")
    lines = [
        "control:",
        "  socket: %s" % e.sock,
        "  dataplane-socket: %s" % e.dpsock,
        "  snapshot-dir: %s" % e.snap,
        "  state-dir: %s" % e.state,
        "  log: stderr",
        "  notify-listen: 127.0.0.1@%d" % e.notify_port,
        "key:",
        "  - id: xfr-key",
        "    algorithm: %s" % alg,
        "    secret-file: %s" % secret_file,
        "policy:",
        "  - id: default",
        "    transfer-timeout: 2s",
        "    refresh-jitter: 0%",
    ]
    return "\n".join(lines) + "\n"


PRIMARY = "      - address: 127.0.0.1@%d\n        key: xfr-key\n"


def stop_env(e, wd):
    for srv in (e.ctl, e.dp, e.knot):
        if srv is not None:
            srv.stop()
    if os.environ.get("EDGEDNS_CONTROL_KEEP"):
        print("\ncontrol work directory kept: %s" % wd)
    else:
        shutil.rmtree(wd, ignore_errors=True)


@pytest.fixture(scope="session")
def env():
    for p in (CONTROL, CTL, DATAPLANE):
        if not os.access(p, os.X_OK):
            pytest.fail("not built: %s (run make first)" % p)
    wd = tempfile.mkdtemp(prefix="edgedns-control-")
    e = Env(wd)
    try:
        zd = os.path.join(wd, "zones")
        os.makedirs(zd)
        for z in (ZONE, GATE, FO):
            e.zonefiles[z] = os.path.join(zd, z + "zone")
            primaries.write(e.zonefiles[z], primaries.zone_text(z, SERIAL, NTXT))
        e.closed_port = procs.free_port()
        e.notify_port = procs.free_port()
        e.knot = knot_with_notify(os.path.join(wd, "knot"),
                                  [(z, e.zonefiles[z], True) for z in (ZONE, GATE, FO)],
                                  e.notify_port)
        start_dataplane(e, wd)
        kp = e.knot.port
        text = control_head(e, wd) + "zone:\n"
        for z in (ZONE, GATE):
            text += "  - domain: %s\n    primary:\n" % z + PRIMARY % kp
        text += "  - domain: %s\n    primary:\n" % FO + PRIMARY % e.closed_port + PRIMARY % kp
        e.conf = os.path.join(wd, "control.yaml")
        primaries.write(e.conf, text)
        e.start_control()
        yield e
    finally:
        stop_env(e, wd)


# ---- catalog zones and reload (test_catalog.py) ----------------------------

CAT = "cat.test."
MEMBERS = ["mem1.test.", "mem2.test.", "mem3.test."]
CONF = "conf.test."      # configured, and later listed in the catalog too
NEWZ = "new.test."       # on the primary, added to the YAML by a reload
CAT_NTXT = 20


def catalog_text(serial, members, version=True):
    """members: list of (unique id, member name)."""
    extra = 'version TXT "2"\n' if version else ""
    extra += "".join("%s.zones PTR %s\n" % (i, m) for i, m in members)
    extra += "group.m1.zones TXT \"ignored\"\n"
    return primaries.zone_text(CAT, serial, 0, extra)


@pytest.fixture(scope="module")
def catenv():
    wd = tempfile.mkdtemp(prefix="edgedns-catalog-")
    e = Env(wd)
    try:
        zd = os.path.join(wd, "zones")
        os.makedirs(zd)
        for z in MEMBERS + [CONF, NEWZ]:
            e.zonefiles[z] = os.path.join(zd, z + "zone")
            primaries.write(e.zonefiles[z], primaries.zone_text(z, SERIAL, CAT_NTXT))
        e.zonefiles[CAT] = os.path.join(zd, CAT + "zone")
        primaries.write(e.zonefiles[CAT],
                        catalog_text(SERIAL, [("m1", MEMBERS[0]), ("m2", MEMBERS[1])]))
        e.notify_port = procs.free_port()
        e.knot = knot_with_notify(os.path.join(wd, "knot"),
                                  [(z, e.zonefiles[z], True) for z in [CAT, CONF, NEWZ] + MEMBERS],
                                  e.notify_port)
        start_dataplane(e, wd)
        kp = e.knot.port
        e.conf_zones = "zone:\n  - domain: %s\n    primary:\n" % CONF + PRIMARY % kp
        e.conf_catalog = "catalog:\n  - domain: %s\n    primary:\n" % CAT + PRIMARY % kp
        e.conf_head = control_head(e, wd)
        e.conf = os.path.join(wd, "control.yaml")
        primaries.write(e.conf, e.conf_head + e.conf_zones + e.conf_catalog)
        e.start_control()
        yield e
    finally:
        stop_env(e, wd)
