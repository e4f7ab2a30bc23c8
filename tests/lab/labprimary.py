"""labprimary.py: the lab's zone primary and zone service (lab.py, primary=).

    edge namespace                                primary namespace
    m0  203.0.113.2/24 ------- veth (management) ------- p0  203.0.113.1/24
    edgedns-control                                      nsd -d
      notify-listen 203.0.113.2@53                         zones with TSIG:
      AXFR/IXFR from 203.0.113.1@53 (TSIG)                 provide-xfr and
      writes snapshots, tells the dataplane                 NOTIFY to 203.0.113.2

m0 is an ordinary kernel interface (the appliance's management network); the
DPDK port e0 is not involved. Nsd and Control are processes of their own
session, started with `ip netns exec` (so the pid is the daemon's) and
stopped by pid. No import of lab.py: the caller passes what runs in a
namespace.
"""

import base64
import os
import signal
import socket
import struct
import subprocess
import time

NSD = "/usr/sbin/nsd"
PRIMARY_IF, MGMT_IF = "p0", "m0"
PRIMARY4, MGMT4 = "203.0.113.1", "203.0.113.2"
KEY_ID = "lab-xfr-key"
KEY_ALG = "hmac-sha256"
KEY_SECRET = base64.b64encode(b"edgedns-lab-xfr-secret-256-01234").decode()

STOP_TIMEOUT = 5.0


class PrimaryError(RuntimeError):
    pass


class Proc:
    """A daemon in a namespace, its output in logpath; stop() by pid
    (SIGTERM, SIGKILL after a bounded wait), safe to call twice."""

    def __init__(self, ns, argv, logpath):
        self.ns, self.argv, self.logpath = ns, list(argv), logpath
        self.proc = None
        self.pid = None

    def start(self):
        with open(self.logpath, "ab") as log:
            log.write(("=== %s\n" % " ".join(self.argv)).encode())
            log.flush()
            self.proc = subprocess.Popen(["ip", "netns", "exec", self.ns] + self.argv,
                                         stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        self.pid = self.proc.pid
        return self

    def alive(self):
        if self.proc is not None:
            return self.proc.poll() is None
        if self.pid is None:        # attached by pid (lab.py's command line)
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def signal(self, sig):
        if self.alive():
            os.kill(self.pid, sig)

    def stop(self, timeout=STOP_TIMEOUT):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.kill(self.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.proc.wait(timeout=timeout)
                    break
                except subprocess.TimeoutExpired:
                    continue
        return self.proc.returncode

    def log_text(self, limit=8000):
        try:
            with open(self.logpath, "rb") as f:
                data = f.read()
        except OSError:
            return ""
        return data[-limit:].decode("utf-8", "replace")


def soa_serial(sock_fn, zone, server, port=53, timeout=0.5):
    """The SOA serial server answers for zone (a socket from sock_fn, made
    in the right namespace), or None. No dnspython: the CLI needs none."""
    labels = [l for l in zone.strip(".").split(".") if l]
    qname = b"".join(bytes([len(l)]) + l.encode() for l in labels) + b"\x00"
    qid = (os.getpid() + int(time.monotonic() * 1000)) & 0xffff
    wire = struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 0) + qname + struct.pack("!HH", 6, 1)
    s = sock_fn(socket.AF_INET6 if ":" in server else socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        s.sendto(wire, (server, port))
        data = s.recv(65535)
    except OSError:
        return None
    finally:
        s.close()
    return parse_soa_serial(data, qid)


def parse_soa_serial(data, qid=None):
    """The serial of the first SOA in the answer section of a response."""
    if len(data) < 12:
        return None
    rid, flags, qd, an = struct.unpack("!HHHH", data[:8])
    if (qid is not None and rid != qid) or flags & 0xf or an == 0:
        return None

    def skip_name(i):
        while i < len(data):
            n = data[i]
            if n == 0:
                return i + 1
            if n & 0xc0 == 0xc0:
                return i + 2
            i += 1 + n
        raise ValueError("name runs off the message")

    try:
        i = 12
        for _ in range(qd):
            i = skip_name(i) + 4
        for _ in range(an):
            i = skip_name(i)
            rtype, _, _, rdlen = struct.unpack("!HHIH", data[i:i + 10])
            i += 10
            if rtype == 6:
                j = skip_name(skip_name(i))
                return struct.unpack("!I", data[j:j + 4])[0]
            i += rdlen
    except (ValueError, struct.error):
        return None
    return None


def wait_until(fn, timeout, what, step=0.1):
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = fn()
        if last:
            return last
        if time.monotonic() > deadline:
            raise PrimaryError("%s: not within %.0fs (last: %r)" % (
                what() if callable(what) else what, timeout, last))
        time.sleep(step)


class Nsd:
    """nsd in the primary namespace on PRIMARY4@53: every zone with the lab
    key, AXFR for MGMT4 and NOTIFY to MGMT4@53, both signed. zones:
    {origin: zone text}; files in workdir/nsd/<origin>zone."""

    def __init__(self, ns, workdir, zones, sock_fn):
        self.ns = ns
        self.dir = os.path.join(workdir, "nsd")
        self.zones = dict(zones)
        self.sock_fn = sock_fn      # sock_fn(family, type): a socket in the edge namespace
        os.makedirs(self.dir, exist_ok=True)
        self.files = {z: os.path.join(self.dir, z.rstrip(".") + ".zone") for z in self.zones}
        self.conf = os.path.join(self.dir, "nsd.conf")
        self.proc = Proc(ns, [NSD, "-d", "-c", self.conf], os.path.join(self.dir, "nsd.out"))

    def _write_conf(self):
        d = self.dir
        lines = [
            "server:",
            "    ip-address: %s@53" % PRIMARY4,
            "    server-count: 1",
            "    username: \"\"",
            "    chroot: \"\"",
            "    zonesdir: \"%s\"" % d,
            "    database: \"\"",
            "    zonelistfile: \"%s\"" % os.path.join(d, "zone.list"),
            "    xfrdfile: \"%s\"" % os.path.join(d, "xfrd.state"),
            "    xfrdir: \"%s\"" % d,
            "    pidfile: \"%s\"" % os.path.join(d, "nsd.pid"),
            "    logfile: \"%s\"" % os.path.join(d, "nsd.log"),
            "    verbosity: 2",
            "    hide-version: yes",
            "remote-control:",
            "    control-enable: no",
            "key:",
            "    name: %s." % KEY_ID,
            "    algorithm: %s" % KEY_ALG,
            "    secret: \"%s\"" % KEY_SECRET,
        ]
        for z in self.zones:
            lines += ["zone:", "    name: %s" % z, "    zonefile: \"%s\"" % self.files[z],
                      "    provide-xfr: %s %s." % (MGMT4, KEY_ID),
                      "    notify: %s %s." % (MGMT4, KEY_ID)]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")

    def serial(self, zone):
        return soa_serial(self.sock_fn, zone, PRIMARY4)

    def start(self, timeout=15.0):
        for z, text in self.zones.items():
            if not os.path.exists(self.files[z]):
                with open(self.files[z], "w") as f:
                    f.write(text)
        self._write_conf()
        self.proc.start()
        for z in self.zones:
            wait_until(lambda: self._check_alive() and self.serial(z), timeout,
                       lambda: "nsd serving %s (log:\n%s)" % (z, self.log_text()))
        return self

    def _check_alive(self):
        if not self.proc.alive():
            raise PrimaryError("nsd exited %s:\n%s" % (
                self.proc.proc.returncode if self.proc.proc else None, self.log_text()))
        return True

    def set_zone(self, zone, text, serial, timeout=10.0):
        """Rewrite zone's file and SIGHUP nsd (it re-reads files whose mtime
        changed, then NOTIFYs); returns once nsd answers serial."""
        with open(self.files[zone], "w") as f:
            f.write(text)
        self.zones[zone] = text
        # an mtime nsd has not seen, even within one clock tick
        t = time.time() + 1
        os.utime(self.files[zone], (t, t))
        self.proc.signal(signal.SIGHUP)
        wait_until(lambda: self._check_alive() and self.serial(zone) == serial, timeout,
                   "nsd serving %s serial %d" % (zone, serial))

    def bump(self, zone, timeout=10.0):
        """A new version of zone on the primary: serial + 1 (the first
        occurrence of the served serial in the file is replaced) and one
        TXT record more; returns the new serial."""
        old = wait_until(lambda: self.serial(zone), 5, "nsd serial of %s" % zone)
        new = (old + 1) & 0xffffffff
        with open(self.files[zone]) as f:
            text = f.read()
        if str(old) not in text:
            raise PrimaryError("%s: serial %d not found in %s" % (zone, old, self.files[zone]))
        text = text.replace(str(old), str(new), 1)
        text += '\nchanged-%d.%s 300 IN TXT "serial %d"\n' % (new, zone, new)
        self.set_zone(zone, text, new, timeout)
        return new

    def alive(self):
        return self.proc.alive()

    def stop(self):
        return self.proc.stop()

    def log_text(self, limit=8000):
        try:
            with open(os.path.join(self.dir, "nsd.log"), "rb") as f:
                log = f.read()[-limit:].decode("utf-8", "replace")
        except OSError:
            log = ""
        return self.proc.log_text(limit) + log


class Control:
    """edgedns-control in the edge namespace: a generated YAML with the
    lab's zones (primary PRIMARY4@53 with the lab key), the dataplane's
    command socket and snapshot directory, notify-listen MGMT4@53."""

    def __init__(self, ns, workdir, zones, binary, ctl_binary, dataplane_socket, snapdir,
                 extra=""):
        self.ns = ns
        self.binary, self.ctl_binary = binary, ctl_binary
        self.dir = os.path.join(workdir, "control")
        os.makedirs(os.path.join(self.dir, "state"), exist_ok=True)
        self.socket = os.path.join(self.dir, "control.sock")
        self.conf = os.path.join(self.dir, "control.yaml")
        self.secret_file = os.path.join(self.dir, KEY_ID + ".secret")
        with open(self.secret_file, "w") as f:
            f.write(KEY_SECRET + "\n")
        os.chmod(self.secret_file, 0o600)
        lines = [
            "control:",
            "  socket: %s" % self.socket,
            "  dataplane-socket: %s" % dataplane_socket,
            "  snapshot-dir: %s" % snapdir,
            "  state-dir: %s" % os.path.join(self.dir, "state"),
            "  notify-listen: %s@53" % MGMT4,
            "  log: stderr",
            "key:",
            "  - id: %s" % KEY_ID,
            "    algorithm: %s" % KEY_ALG,
            "    secret-file: %s" % self.secret_file,
            "policy:",
            "  - id: default",
            "    transfer-timeout: 10s",
            "zone:",
        ]
        for z in zones:
            lines += ["  - domain: %s" % z, "    primary:",
                      "      - address: %s@53" % PRIMARY4, "        key: %s" % KEY_ID]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n" + extra)
        self.proc = Proc(ns, [binary, "-c", self.conf, "-f"], os.path.join(self.dir, "control.log"))

    def start(self, timeout=10.0):
        if os.path.exists(self.socket):
            os.unlink(self.socket)
        self.proc.start()
        wait_until(lambda: self._check_alive() and os.path.exists(self.socket), timeout,
                   "edgedns-control socket %s" % self.socket)
        return self

    def _check_alive(self):
        if not self.proc.alive():
            raise PrimaryError("edgedns-control exited %s:\n%s" % (
                self.proc.proc.returncode, self.log_text()))
        return True

    def alive(self):
        return self.proc.alive()

    def stop(self):
        return self.proc.stop()

    def restart(self):
        self.stop()
        return self.start()

    def ctl(self, *args, check=True):
        """edgednsctl on our socket; its CompletedProcess (text)."""
        p = subprocess.run([self.ctl_binary, "-s", self.socket] + list(args), capture_output=True,
                           text=True, timeout=15, stdin=subprocess.DEVNULL)
        if check and p.returncode != 0:
            raise PrimaryError("edgednsctl %s: exit %d: %s%s" % (
                " ".join(args), p.returncode, p.stdout, p.stderr))
        return p

    def log_text(self, limit=8000):
        return self.proc.log_text(limit)
