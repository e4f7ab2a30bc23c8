"""lab.py: a two-namespace lab for the DPDK dataplane.

    client namespace                    edge namespace
    c0  192.0.2.1/24  -------- veth -------- e0   (no addresses, IPv6 off)
        2001:db8::1/64                        |  DPDK port (net_af_xdp, or
                                              |  net_af_packet as fallback)
                                           edgedns-dataplane --io dpdk
                                              |  net_tap exception port
                                           edns0 192.0.2.53/24, 2001:db8::53/64
                                                 (the kernel: ARP, ND, ICMP, TCP)

With primary= (labprimary.py) a third namespace, primary, runs NSD with the
zones and a TSIG key on 203.0.113.1, joined to the edge namespace by a
second veth (m0 203.0.113.2, a plain kernel interface: the management
network), and edgedns-control runs in the edge namespace: it transfers the
zones from NSD (NOTIFY to 203.0.113.2@53), writes the snapshots and loads
them into the dataplane, which starts with an empty snapshot directory (or
the last good snapshots).

Every name carries a per-run prefix, edl<owner pid><tag>: the namespaces
(edl1234a-client, edl1234a-edge), the DPDK --file-prefix and the work
directory. At start a sweep removes what runs of dead owners left behind
(their namespaces, the processes in them, /var/run/dpdk/<prefix>, their
work directories); live owners' labs are never touched.

Only documentation addresses and loopback are used. Processes are killed
by pid. Lab.down() tears everything down and is safe to call twice.

As a module: Lab(snapdir, ...).up() / .down(), with helpers to query from
the client namespace (sockets made inside it with setns), the command
socket, DPDK telemetry, ip/ethtool in either namespace.

As a command (make run):
    python3 tests/lab/lab.py up --state FILE --owner PID [--primary] --zone ORIGIN=ZONEFILE ...
    python3 tests/lab/lab.py change --state FILE ORIGIN     (with --primary: a new
                                                           serial on NSD)
    python3 tests/lab/lab.py down --state FILE

Environment: EDGEDNS_BUILD (binaries, default build/), EDGEDNS_LAB_VDEV
(af_xdp or af_packet: force one; default: af_xdp, af_packet if that fails),
EDGEDNS_LAB_KEEP=1 keeps the work directory (logs, snapshots).
"""

import ctypes
import errno
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import labprimary

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.abspath(os.environ.get("EDGEDNS_BUILD", os.path.join(REPO, "build")))
COMPILE = os.path.join(BUILD, "edgedns-compile")
DATAPLANE = os.path.join(BUILD, "edgedns-dataplane")
CONTROL_BIN = os.path.join(BUILD, "edgedns-control")
CTL_BIN = os.path.join(BUILD, "edgednsctl")
TELEMETRY = "/usr/bin/dpdk-telemetry.py"
PYTHON = "/usr/bin/python3"
DPDK_RUN = "/var/run/dpdk"

PREFIX = "edl"
CLIENT4, CLIENT6 = "192.0.2.1", "2001:db8::1"
SERVER4, SERVER6 = "192.0.2.53", "2001:db8::53"
SERVER4_PLEN, SERVER6_PLEN = 24, 64   # the served addresses' prefixes on the link
OTHER4 = "198.51.100.1"      # a second client address, in another /24
CLIENT_IF, EDGE_IF, KERNEL_IF = "c0", "e0", "edns0"
PRIMARY4, MGMT4 = labprimary.PRIMARY4, labprimary.MGMT4
PRIMARY_IF, MGMT_IF = labprimary.PRIMARY_IF, labprimary.MGMT_IF

START_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0
_SERVE_PREFIX = None         # does DATAPLANE take --serve ADDR/LEN (see Lab._serve_args)

_NAME_RE = re.compile(r"^%s(\d+)([a-z0-9]*)-(client|edge|primary|router|host)$" % PREFIX)


class LabError(RuntimeError):
    pass


def run(argv, check=True, timeout=30, input=None):
    """Run a command; returns CompletedProcess (text). Raises LabError with
    its output when check and it fails."""
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout, input=input, stdin=None if input else subprocess.DEVNULL)
    if check and p.returncode != 0:
        raise LabError("%s: exit %d: %s%s" % (" ".join(argv), p.returncode, p.stdout, p.stderr))
    return p


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def netns_list():
    p = run(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in p.stdout.splitlines() if line.strip()]


def netns_pids(ns):
    p = run(["ip", "netns", "pids", ns], check=False)
    return [int(x) for x in p.stdout.split() if x.isdigit()]


def kill_pid(pid, timeout=STOP_TIMEOUT):
    """SIGTERM, then SIGKILL after timeout; for processes that are not our
    children (a stale lab's), so waiting is polling /proc."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and pid_alive(pid):
            time.sleep(0.05)
        if not pid_alive(pid):
            return


def sweep_stale(keep=None):
    """Remove what labs of dead owners left: namespaces (and the processes
    still in them, which those labs started), DPDK runtime directories and
    work directories; never those of prefix keep. Returns the names removed."""
    gone = []

    def stale(m, name):
        return m and not pid_alive(int(m.group(1))) and not (keep and name.startswith(keep))

    for ns in netns_list():
        m = _NAME_RE.match(ns)
        if not stale(m, ns):
            continue
        for pid in netns_pids(ns):
            kill_pid(pid)
        run(["ip", "netns", "del", ns], check=False)
        gone.append(ns)
    pat = re.compile(r"^%s(\d+)[a-z0-9]*$" % PREFIX)
    if os.path.isdir(DPDK_RUN):
        for d in os.listdir(DPDK_RUN):
            m = pat.match(d)
            if stale(m, d):
                shutil.rmtree(os.path.join(DPDK_RUN, d), ignore_errors=True)
                gone.append(os.path.join(DPDK_RUN, d))
    tmp = tempfile.gettempdir()
    pat = re.compile(r"^edgedns-lab-%s(\d+)[a-z0-9]*-" % PREFIX)
    for d in os.listdir(tmp):
        m = pat.match(d)
        if stale(m, d[len("edgedns-lab-"):]) and not os.environ.get("EDGEDNS_LAB_KEEP"):
            shutil.rmtree(os.path.join(tmp, d), ignore_errors=True)
    return gone


# ---- sockets inside a namespace ------------------------------------------

_libc = ctypes.CDLL(None, use_errno=True)
_CLONE_NEWNET = 0x40000000


def _setns(fd):
    if _libc.setns(fd, _CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "setns: %s" % os.strerror(e))


def in_netns(ns, fn):
    """Call fn() with this thread in network namespace ns, then come back.
    Sockets fn creates stay in ns: that is how the tests talk from the
    client namespace without a helper process."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open("/run/netns/%s" % ns, os.O_RDONLY)
        try:
            _setns(target)
            try:
                return fn()
            finally:
                _setns(own)   # if this fails the thread is lost: let it raise
        finally:
            os.close(target)
    finally:
        os.close(own)


def netns_socket(ns, family, type_, proto=0):
    return in_netns(ns, lambda: socket.socket(family, type_, proto))


# ---- zones ----------------------------------------------------------------

def compile_zone(origin, zonefile, out):
    """edgedns-compile zonefile into snapshot out; raises with the
    compiler's messages when it fails."""
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    p = run([COMPILE, "-q", "-o", out, "-z", origin, zonefile], check=False, timeout=120)
    if p.returncode != 0 or not os.path.exists(out):
        raise LabError("edgedns-compile %s (%s): exit %d:\n%s%s" % (
            zonefile, origin, p.returncode, p.stdout, p.stderr))
    return out


# ---- the lab --------------------------------------------------------------

class Lab:
    """One client namespace, one edge namespace, one dataplane.

    snapdir: the snapshot directory the dataplane serves.
    tag: distinguishes several labs of one owner (a, b, ...).
    vdev: "af_xdp", "af_packet" or None (environment, else af_xdp with
    af_packet as fallback). extra_args: more dataplane options (--rrl-rate).
    owner: the pid whose life the lab belongs to (default: this process).
    primary: {origin: zone text}: NSD serves these in a primary namespace
    and edgedns-control transfers them into the dataplane (up() returns
    once the client gets every zone's SOA over UDP); None: no primary, the
    dataplane serves what snapdir holds.
    exc_queue: the port gets one queue pair more than the workers, the
    exception thread's (the kernel's frames never wait for a worker).
    """

    def __init__(self, snapdir, tag="a", vdev=None, extra_args=(), owner=None,
                 idle_sleep_us=50, workdir=None, workers=1, primary=None, exc_queue=False):
        self.owner = owner or os.getpid()
        self.prefix = "%s%d%s" % (PREFIX, self.owner, tag)
        self.client_ns = self.prefix + "-client"
        self.edge_ns = self.prefix + "-edge"
        self.snapdir = os.path.abspath(snapdir)
        self.want_vdev = vdev or os.environ.get("EDGEDNS_LAB_VDEV") or None
        self.extra_args = list(extra_args)
        self.idle_sleep_us = idle_sleep_us
        # workers > 1: a veth with that many queues, one per worker lcore;
        # on two cores the extra workers share core 1 (--lcores N@1)
        self.workers = workers
        self.exc_queue = exc_queue
        self.queues = workers + (1 if exc_queue else 0)
        self.workdir = workdir
        self.vdev = None            # the one in use once up
        self.isolation = None       # af_packet: how the edge kernel is kept off e0
        self.proc = None
        self.pid = None
        self.exit_code = None
        self._log = None
        self._made = False
        self.edge_mac = None
        self.client_mac = None
        self.primary_zones = dict(primary) if primary else None
        self.primary_ns = self.prefix + "-primary"
        self.nsd = None             # labprimary.Nsd once up
        self.zonesvc = None         # labprimary.Control (edgedns-control) once up
        self.control_extra = ""     # more YAML for edgedns-control (anycast.py)

    def namespaces(self):
        return [self.client_ns, self.edge_ns] + ([self.primary_ns] if self.primary_zones else [])

    # -- names
    @property
    def control(self):
        return os.path.join(self.workdir, "control.sock")

    @property
    def logpath(self):
        return os.path.join(self.workdir, "dataplane.log")

    # -- bring up
    def up(self):
        try:
            self._up()
        except BaseException:
            log = self.log_text()
            self.down()
            if log:
                sys.stderr.write("lab %s: dataplane log:\n%s\n" % (self.prefix, log))
            raise
        return self

    def _up(self):
        sweep_stale(keep=self.prefix)
        if self.workdir is None:
            self.workdir = tempfile.mkdtemp(prefix="edgedns-lab-%s-" % self.prefix)
        os.makedirs(self.workdir, exist_ok=True)
        for ns in self.namespaces():
            if ns in netns_list():
                raise LabError("namespace %s exists (a live lab of the same owner?)" % ns)
        self._made = True
        for ns in self.namespaces():
            run(["ip", "netns", "add", ns])
        q = [] if self.queues == 1 else ["numtxqueues", str(self.queues),
                                         "numrxqueues", str(self.queues)]
        run(["ip", "link", "add", "name", CLIENT_IF, "netns", self.client_ns] + q
            + ["type", "veth", "peer", "name", EDGE_IF, "netns", self.edge_ns] + q)
        c, e = self.client, self.edge
        c(["ip", "link", "set", "lo", "up"])
        c(["ip", "addr", "add", CLIENT4 + "/24", "dev", CLIENT_IF])
        c(["ip", "addr", "add", CLIENT6 + "/64", "dev", CLIENT_IF, "nodad"])
        # Without this the client kernel leaves UDP/TCP checksums partial
        # over veth, and the dataplane (rightly) counts them malformed.
        c(["ethtool", "-K", CLIENT_IF, "tx", "off"])
        # the link test takes c0 down and up: keep its IPv6 address
        c(["sysctl", "-q", "-w", "net.ipv6.conf.%s.keep_addr_on_down=1" % CLIENT_IF])
        c(["ip", "link", "set", CLIENT_IF, "up"])
        e(["ip", "link", "set", "lo", "up"])
        e(["sysctl", "-q", "-w", "net.ipv6.conf.%s.disable_ipv6=1" % EDGE_IF])
        e(["ip", "link", "set", EDGE_IF, "up"])
        self.client_mac = self._mac(self.client_ns, CLIENT_IF)
        if self.primary_zones:
            self._up_primary()

        want = self.want_vdev
        if want not in (None, "af_xdp", "af_packet"):
            raise LabError("EDGEDNS_LAB_VDEV=%s: expected af_xdp or af_packet" % want)
        if want in (None, "af_xdp"):
            err = self._start("af_xdp")
            if err and want == "af_xdp":
                raise LabError(err)
            if err:
                sys.stderr.write("lab %s: net_af_xdp failed (%s); falling back to "
                                 "net_af_packet\n" % (self.prefix, err.splitlines()[-1]))
                self._forget_process()
                e(["ip", "link", "set", "dev", EDGE_IF, "xdp", "off"], check=False)
                shutil.rmtree(os.path.join(DPDK_RUN, self.prefix), ignore_errors=True)
        if self.vdev is None:
            self._isolate_edge()
            err = self._start("af_packet")
            if err:
                raise LabError(err)
        self._serve(wait_zone=not self.primary_zones)
        if self.primary_zones:
            self._up_control()

    def _up_primary(self):
        """The management veth (m0 in edge, p0 in primary) and NSD."""
        run(["ip", "link", "add", "name", MGMT_IF, "netns", self.edge_ns, "type", "veth",
             "peer", "name", PRIMARY_IF, "netns", self.primary_ns])
        p, e = self.in_primary, self.edge
        p(["ip", "link", "set", "lo", "up"])
        p(["ip", "addr", "add", PRIMARY4 + "/24", "dev", PRIMARY_IF])
        p(["ip", "link", "set", PRIMARY_IF, "up"])
        e(["ip", "addr", "add", MGMT4 + "/24", "dev", MGMT_IF])
        e(["ip", "link", "set", MGMT_IF, "up"])
        self.nsd = labprimary.Nsd(self.primary_ns, self.workdir, self.primary_zones,
                                  lambda fam, typ: netns_socket(self.edge_ns, fam, typ))
        self.nsd.start()

    def _up_control(self):
        """edgedns-control, then every zone answered over UDP with NSD's serial."""
        self.zonesvc = labprimary.Control(self.edge_ns, self.workdir, list(self.primary_zones),
                                          CONTROL_BIN, CTL_BIN, self.control, self.snapdir,
                                          extra=self.control_extra)
        self.zonesvc.start()
        for z in self.primary_zones:
            self.wait_serial(z, self.nsd.serial(z), timeout=START_TIMEOUT)

    def served_serial(self, zone, server=SERVER4):
        """The SOA serial the dataplane answers for zone over UDP from the
        client namespace, or None."""
        data = self.udp_raw_query(zone, server, timeout=0.5)
        return labprimary.parse_soa_serial(data) if data else None

    def wait_serial(self, zone, serial, timeout=10.0, servers=(SERVER4, SERVER6)):
        """Until the dataplane answers zone with serial on every server."""
        for server in servers:
            labprimary.wait_until(
                lambda: self.assert_alive() or self.served_serial(zone, server) == serial,
                timeout, lambda: "%s serial %d from %s (control log:\n%s)" % (
                    zone, serial, server, self.zonesvc.log_text(3000) if self.zonesvc else ""))

    def restart_control(self):
        self.zonesvc.restart()

    def start_dataplane(self, wait_zone=True):
        """Start the dataplane again after stop(): the same port (the vdev
        up() chose; af_packet's isolation of e0 stays), snapshot directory,
        command socket, log and DPDK --file-prefix; then the kernel
        interface's addresses and the command socket (wait_zone: a first
        UDP answer too). Returns time.monotonic() when it logged ready."""
        if self.alive():
            raise LabError("the dataplane is running (pid %d)" % self.pid)
        if self.vdev is None:
            raise LabError("the lab was never up")
        vdev = self.vdev
        if vdev == "af_xdp":
            self.edge(["ip", "link", "set", "dev", EDGE_IF, "xdp", "off"], check=False)
        self._forget_process()
        err = self._start(vdev)
        if err:
            raise LabError(err)
        ready = time.monotonic()
        self._serve(wait_zone=wait_zone)
        return ready

    def _mac(self, ns, ifname):
        p = run(["ip", "-n", ns, "-j", "link", "show", ifname])
        return json.loads(p.stdout)[0]["address"].lower()

    def _isolate_edge(self):
        """net_af_packet reads e0 before tc ingress, and the edge kernel
        would see every frame too (and answer ARP for 192.0.2.53 on e0):
        drop everything at e0's ingress. matchall/gact where the kernel has
        them (Debian's does); else sysctls that keep the kernel off e0."""
        e = self.edge
        e(["tc", "qdisc", "add", "dev", EDGE_IF, "clsact"], check=False)
        p = e(["tc", "filter", "add", "dev", EDGE_IF, "ingress", "matchall", "action", "drop"],
              check=False)
        if p.returncode == 0:
            self.isolation = "tc matchall drop"
            return
        # No cls_matchall/act_gact: no ARP replies on e0 for addresses of
        # other interfaces, and strict reverse-path filtering drops what
        # arrives on e0 from sources routed via edns0 (or not at all).
        e(["sysctl", "-q", "-w", "net.ipv4.conf.%s.arp_ignore=8" % EDGE_IF])
        e(["sysctl", "-q", "-w", "net.ipv4.conf.%s.rp_filter=1" % EDGE_IF])
        self.isolation = "sysctl arp_ignore=8 rp_filter=1 (tc matchall unavailable: %s)" % (
            (p.stderr or p.stdout).strip().splitlines()[-1:] or ["?"])[0]

    def _serve_args(self):
        """--serve for the served addresses with their prefixes on the link
        (edns0's: the network and broadcast addresses of 192.0.2.0/24 are
        never a source); a dataplane too old to take a prefix (a bisect, a
        comparison with an earlier build) gets the addresses alone."""
        global _SERVE_PREFIX
        if _SERVE_PREFIX is None:
            p = run([DATAPLANE, "--help"], check=False, timeout=10)
            _SERVE_PREFIX = "--serve ADDR[/LEN]" in p.stdout + p.stderr
        if not _SERVE_PREFIX:
            return ["--serve", SERVER4, "--serve", SERVER6]
        return ["--serve", "%s/%d" % (SERVER4, SERVER4_PLEN), "--serve",
                "%s/%d" % (SERVER6, SERVER6_PLEN)]

    def _argv(self, vdev):
        port = "net_%s0,iface=%s" % (vdev, EDGE_IF)
        lcores = ["-l", "0,1"]
        if self.queues > 1:
            port += ",%s=%d" % ("queue_count" if vdev == "af_xdp" else "qpairs", self.queues)
        if self.workers > 1:
            lcores = ["--lcores", ",".join(["0@0"] + ["%d@1" % (i + 1)
                                                      for i in range(self.workers)])]
        return (["ip", "netns", "exec", self.edge_ns, DATAPLANE, "--io", "dpdk",
                 "--snapshots", self.snapdir, "--control", self.control,
                 "--port", port] + self._serve_args() + [
                 "--kernel-iface", "edns", "--idle-sleep-us", str(self.idle_sleep_us)]
                + self.extra_args
                + ["--"] + lcores + ["--no-huge", "-m", "512", "--file-prefix", self.prefix,
                                     "--no-pci"])

    def _start(self, vdev):
        """Start the dataplane on vdev; None once it logs ready, else why not."""
        if os.path.exists(self.control):
            os.unlink(self.control)
        self._log = open(self.logpath, "ab")
        self._log.write(("=== %s\n" % " ".join(self._argv(vdev))).encode())
        self._log.flush()
        # ip netns exec execs the dataplane: the pid is the dataplane's.
        self.proc = subprocess.Popen(self._argv(vdev), stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        self.pid = self.proc.pid
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return "dataplane on net_%s exited %d: %s" % (
                    vdev, self.proc.returncode, self.log_text(2000))
            if "ready, pid %d" % self.pid in self.log_text(200000):
                self.vdev = vdev
                return None
            time.sleep(0.05)
        self.stop()
        return "dataplane on net_%s not ready within %.0fs: %s" % (
            vdev, START_TIMEOUT, self.log_text(2000))

    def _forget_process(self):
        self.stop()
        self.proc = None
        self.pid = None
        self.exit_code = None

    def _serve(self, wait_zone=True):
        """Addresses on the kernel interface, then wait for the command
        socket and (wait_zone) a first UDP answer on both families."""
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            p = self.edge(["ip", "link", "show", KERNEL_IF], check=False)
            if p.returncode == 0:
                break
            if time.monotonic() > deadline:
                raise LabError("%s did not appear in %s" % (KERNEL_IF, self.edge_ns))
            time.sleep(0.05)
        e = self.edge
        e(["ip", "link", "set", KERNEL_IF, "up"])
        e(["ip", "addr", "add", "%s/%d" % (SERVER4, SERVER4_PLEN), "dev", KERNEL_IF])
        e(["ip", "addr", "add", "%s/%d" % (SERVER6, SERVER6_PLEN), "dev", KERNEL_IF, "nodad"])
        self.edge_mac = self._mac(self.edge_ns, KERNEL_IF)
        last = None
        while time.monotonic() < deadline:
            try:
                if self.cmd("ping", timeout=2).get("ok"):
                    break
            except (OSError, ValueError) as ex:
                last = ex
            time.sleep(0.05)
        else:
            raise LabError("command socket %s: no answer to ping: %r" % (self.control, last))
        if not wait_zone:
            return
        soa = self.first_zone()
        for server in (SERVER4, SERVER6):
            while True:
                try:
                    if self.udp_raw_query(soa, server, timeout=0.5) is not None:
                        break
                except OSError as ex:
                    last = ex
                if time.monotonic() > deadline:
                    raise LabError("no UDP answer from %s within %.0fs (last: %r)" % (
                        server, START_TIMEOUT, last))
                self.assert_alive()
                time.sleep(0.1)

    def first_zone(self):
        zones = self.cmd("zones").get("zones") or []
        if not zones:
            raise LabError("the dataplane serves no zone")
        return zones[0]["zone"]

    # -- tear down
    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM the dataplane; SIGKILL after timeout. Returns its exit
        code (negative: killed by that signal). Safe to call twice."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.kill(self.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=timeout)
        if self.proc is not None:
            self.exit_code = self.proc.returncode
        if self._log is not None and not self._log.closed:
            self._log.close()
        return self.exit_code

    def down(self):
        """Stop the dataplane, kill what else runs in our namespaces (we
        started it), delete the namespaces, the DPDK runtime directory and
        the work directory. Never raises."""
        for svc in (self.zonesvc, self.nsd):
            try:
                if svc is not None:
                    svc.stop()
            except Exception as ex:  # noqa: BLE001 - teardown goes on regardless
                sys.stderr.write("lab %s: stop: %r\n" % (self.prefix, ex))
        try:
            self.stop()
        except Exception as ex:  # noqa: BLE001 - teardown goes on regardless
            sys.stderr.write("lab %s: stop: %r\n" % (self.prefix, ex))
        if self._made:
            names = netns_list()
            for ns in self.namespaces():
                if ns in names:
                    for pid in netns_pids(ns):
                        kill_pid(pid)
                    run(["ip", "netns", "del", ns], check=False)
            self._made = False
        shutil.rmtree(os.path.join(DPDK_RUN, self.prefix), ignore_errors=True)
        if self.workdir and not os.environ.get("EDGEDNS_LAB_KEEP"):
            shutil.rmtree(self.workdir, ignore_errors=True)
        elif self.workdir:
            sys.stderr.write("lab %s: work directory kept: %s\n" % (self.prefix, self.workdir))
        return self.exit_code

    # -- state
    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def assert_alive(self):
        if not self.alive():
            raise LabError("dataplane exited %s:\n%s" % (
                self.proc.returncode if self.proc else None, self.log_text()))

    def log_text(self, limit=8000):
        if self.workdir is None:
            return ""
        try:
            with open(self.logpath, "rb") as f:
                data = f.read()
        except OSError:
            return ""
        return data[-limit:].decode("utf-8", "replace")

    # -- commands in the namespaces
    def client(self, argv, check=True, timeout=30, input=None):
        return run(["ip", "netns", "exec", self.client_ns] + list(argv), check=check,
                   timeout=timeout, input=input)

    def edge(self, argv, check=True, timeout=30, input=None):
        return run(["ip", "netns", "exec", self.edge_ns] + list(argv), check=check,
                   timeout=timeout, input=input)

    def in_primary(self, argv, check=True, timeout=30, input=None):
        return run(["ip", "netns", "exec", self.primary_ns] + list(argv), check=check,
                   timeout=timeout, input=input)

    def kdig(self, *args, timeout=15):
        """kdig from the client namespace; returns its stdout."""
        return self.client(["kdig", "+timeout=2", "+retry=1"] + list(args), timeout=timeout).stdout

    def socket(self, family, type_, proto=0):
        """A socket in the client namespace."""
        return netns_socket(self.client_ns, family, type_, proto)

    # -- command socket and telemetry
    def cmd(self, line, timeout=10):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.settimeout(timeout)
            s.connect(self.control)
            s.sendall(line.encode() + b"\n")
            buf = b""
            deadline = time.monotonic() + timeout
            while not buf.endswith(b"\n") and time.monotonic() < deadline:
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
        finally:
            s.close()
        return json.loads(buf.decode())

    def stats(self):
        return self.cmd("stats")

    def stats_when(self, cond, timeout=3.0):
        """stats once cond(stats) holds, or the last read after timeout (for
        the caller's assertion). A worker adds up a burst's counters after
        sending it, so whoever saw the frames can be a moment ahead."""
        deadline = time.monotonic() + timeout
        while True:
            st = self.stats()
            if cond(st) or time.monotonic() > deadline:
                return st
            time.sleep(0.02)

    def lcores(self):
        return self.cmd("lcores")["lcores"]

    def answered(self):
        """UDP answers the DPDK workers wrote (not the kernel's server)."""
        return sum(lc["answered"] for lc in self.lcores())

    def ports(self):
        return self.cmd("ports")["ports"]

    def probe(self, dst, qname, qtype=None, **opts):
        """The in-band probe through every worker's packet path (command
        "probe"); opts: timeout=MS, port=N, from_=ADDR. The reply."""
        words = ["probe", dst, qname] + ([qtype] if qtype else [])
        words += ["%s=%s" % (k.rstrip("_"), v) for k, v in opts.items()]
        return self.cmd(" ".join(words))

    def telemetry(self, path):
        """One DPDK telemetry command through dpdk-telemetry.py; its reply
        (the value under the command's name)."""
        p = run([PYTHON, TELEMETRY, "-f", self.prefix], input=path + "\n", timeout=20)
        start = p.stdout.find("{")
        if start < 0:
            raise LabError("dpdk-telemetry.py: no JSON in %r (stderr %r)" % (p.stdout, p.stderr))
        obj, _ = json.JSONDecoder().raw_decode(p.stdout[start:])
        key = path.split(",")[0]
        return obj.get(key, obj)

    # -- DNS from the client
    def udp_raw_query(self, zone, server, timeout=1.0, port=53):
        """A minimal SOA query without dnspython (the CLI works without
        it); the response bytes or None."""
        import struct
        qname = b"".join(bytes([len(l)]) + l.encode() for l in zone.strip(".").split(".") if l)
        qid = os.getpid() & 0xffff
        wire = struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 0) + qname + b"\x00" + \
            struct.pack("!HH", 6, 1)
        fam = socket.AF_INET6 if ":" in server else socket.AF_INET
        s = self.socket(fam, socket.SOCK_DGRAM)
        try:
            s.settimeout(timeout)
            s.sendto(wire, (server, port))
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                try:
                    data = s.recv(65535)
                except socket.timeout:
                    return None
                if len(data) >= 12 and data[:2] == wire[:2]:
                    return data
            return None
        finally:
            s.close()

    def query(self, q, server=SERVER4, tcp=False, source=None, timeout=2.0, port=53):
        """Send dns.message q from the client namespace; the response."""
        import dns.query
        fam = socket.AF_INET6 if ":" in server else socket.AF_INET
        if tcp:
            s = self.socket(fam, socket.SOCK_STREAM)
            try:
                if source:
                    s.bind((source, 0))
                s.settimeout(timeout)
                s.connect((server, port))
                s.setblocking(False)
                return dns.query.tcp(q, server, timeout=timeout, port=port, sock=s)
            finally:
                s.close()
        s = self.socket(fam, socket.SOCK_DGRAM)
        try:
            if source:
                s.bind((source, 0))
            s.setblocking(False)
            return dns.query.udp(q, server, timeout=timeout, port=port, sock=s)
        finally:
            s.close()

    def state(self):
        st = {"owner": self.owner, "prefix": self.prefix, "client_ns": self.client_ns,
              "edge_ns": self.edge_ns, "pid": self.pid, "workdir": self.workdir,
              "control": self.control, "log": self.logpath, "vdev": self.vdev,
              "isolation": self.isolation, "edge_mac": self.edge_mac,
              "server4": SERVER4, "server6": SERVER6, "client4": CLIENT4, "client6": CLIENT6}
        if self.primary_zones:
            st.update({"primary_ns": self.primary_ns, "primary4": PRIMARY4, "mgmt4": MGMT4,
                       "zones": list(self.primary_zones), "nsd_pid": self.nsd.proc.pid,
                       "nsd_conf": self.nsd.conf, "control_pid": self.zonesvc.proc.pid,
                       "control_conf": self.zonesvc.conf, "control_sock": self.zonesvc.socket,
                       "control_log": self.zonesvc.proc.logpath})
        return st


# ---- command line -----------------------------------------------------------

def _cli_up(args):
    import argparse
    ap = argparse.ArgumentParser(prog="lab.py up")
    ap.add_argument("--state", required=True, help="JSON file describing the lab (for down)")
    ap.add_argument("--owner", type=int, required=True,
                    help="pid the lab belongs to (the calling shell): a lab whose owner "
                         "died is swept by the next run")
    ap.add_argument("--zone", action="append", default=[], metavar="ORIGIN=ZONEFILE")
    ap.add_argument("--vdev", choices=["af_xdp", "af_packet"])
    ap.add_argument("--primary", action="store_true",
                    help="the zones are served by NSD in a primary namespace and reach the "
                         "dataplane through edgedns-control (transfer, NOTIFY)")
    ap.add_argument("--anycast", metavar="ZONE",
                    help="with --primary: the anycast lab (anycast.py): a router namespace "
                         "with BIRD, a host behind it, BIRD and the health checks on the "
                         "edge; ZONE is the service's critical zone, with a canary TXT 'ok'")
    ap.add_argument("dataplane_args", nargs="*", help="more dataplane options (after --)")
    a = ap.parse_args(args)
    if not a.zone:
        ap.error("at least one --zone ORIGIN=ZONEFILE")
    if a.anycast and not a.primary:
        ap.error("--anycast needs --primary")
    prefix = "%s%d%s" % (PREFIX, a.owner, "a")
    workdir = tempfile.mkdtemp(prefix="edgedns-lab-%s-" % prefix)
    zones = {}
    try:
        for z in a.zone:
            origin, _, path = z.partition("=")
            origin = origin if origin.endswith(".") else origin + "."
            if a.primary:
                with open(path) as f:
                    zones[origin] = f.read()
            else:
                compile_zone(origin, path, os.path.join(workdir, "snapshots",
                                                        origin.rstrip(".") + ".snap"))
        os.makedirs(os.path.join(workdir, "snapshots"), exist_ok=True)
    except Exception:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    if a.anycast:
        import anycast
        canary = a.anycast if a.anycast.endswith(".") else a.anycast + "."
        lab = anycast.AnycastLab(os.path.join(workdir, "snapshots"), zones, canary, tag="a",
                                 owner=a.owner, vdev=a.vdev, workdir=workdir)
        lab.up()
        lab.wait_announced(60)
    else:
        lab = Lab(os.path.join(workdir, "snapshots"), owner=a.owner, vdev=a.vdev,
                  extra_args=a.dataplane_args, workdir=workdir, primary=zones or None)
        lab.up()
    # the daemons outlive this command: each is in its own session
    lab._log.close()
    with open(a.state, "w") as f:
        json.dump(lab.state(), f, indent=1)
    print("lab %s up: dataplane pid %d on net_%s%s" % (
        lab.prefix, lab.pid, lab.vdev, " (%s)" % lab.isolation if lab.isolation else ""))
    if lab.primary_zones:
        print("lab %s: nsd pid %d in %s (%s), edgedns-control pid %d in %s (%s)" % (
            lab.prefix, lab.nsd.proc.pid, lab.primary_ns, PRIMARY4, lab.zonesvc.proc.pid,
            lab.edge_ns, MGMT4))
    return 0


def _cli_change(args):
    """A new version of a zone on the lab's NSD (serial + 1, one TXT more);
    waits until the dataplane answers it (NOTIFY, else a refresh through
    edgednsctl after a few seconds); prints the new serial."""
    import argparse
    ap = argparse.ArgumentParser(prog="lab.py change")
    ap.add_argument("--state", required=True)
    ap.add_argument("--timeout", type=float, default=15.0)
    ap.add_argument("zone")
    a = ap.parse_args(args)
    with open(a.state) as f:
        st = json.load(f)
    if not st.get("primary_ns"):
        raise LabError("the lab has no primary (lab.py up --primary)")
    zone = a.zone if a.zone.endswith(".") else a.zone + "."
    nsd = labprimary.Nsd(st["primary_ns"], st["workdir"], {z: None for z in st["zones"]},
                         lambda fam, typ: netns_socket(st["edge_ns"], fam, typ))
    nsd.proc.pid = st["nsd_pid"]
    new = nsd.bump(zone)

    def served():
        return labprimary.soa_serial(lambda fam, typ: netns_socket(st["client_ns"], fam, typ),
                                     zone, SERVER4) == new

    deadline = time.monotonic() + a.timeout
    refreshed = False
    while not served():
        if time.monotonic() > deadline:
            raise LabError("%s serial %d not answered within %.0fs" % (zone, new, a.timeout))
        if not refreshed and time.monotonic() > deadline - a.timeout / 2:
            sys.stderr.write("lab: no NOTIFY effect yet: edgednsctl refresh %s\n" % zone)
            run([CTL_BIN, "-s", st["control_sock"], "refresh", zone], check=False)
            refreshed = True
        time.sleep(0.1)
    print(new)
    return 0


def _cli_down(args):
    import argparse
    ap = argparse.ArgumentParser(prog="lab.py down")
    ap.add_argument("--state", required=True)
    a = ap.parse_args(args)
    try:
        with open(a.state) as f:
            st = json.load(f)
    except (OSError, ValueError):
        sweep_stale()
        return 0
    pid = st.get("pid")
    if pid and pid_alive(pid):
        # our dataplane? (pids are reused)
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                cmdline = f.read()
        except OSError:
            cmdline = b""
        mine = b"edgedns-dataplane" in cmdline and st["prefix"].encode() in cmdline
        if mine:
            kill_pid(pid)
    names = netns_list()
    for ns in (st["client_ns"], st["edge_ns"], st.get("primary_ns"), st.get("host_ns")):
        if ns and ns in names:
            for p in netns_pids(ns):
                kill_pid(p)
            run(["ip", "netns", "del", ns], check=False)
    shutil.rmtree(os.path.join(DPDK_RUN, st["prefix"]), ignore_errors=True)
    if st.get("workdir") and not os.environ.get("EDGEDNS_LAB_KEEP"):
        shutil.rmtree(st["workdir"], ignore_errors=True)
    try:
        os.unlink(a.state)
    except OSError:
        pass
    return 0


def main(argv):
    if len(argv) < 2 or argv[1] not in ("up", "down", "change", "sweep"):
        sys.stderr.write("usage: lab.py up|down|change|sweep [options]\n")
        return 2
    if argv[1] == "up":
        return _cli_up(argv[2:])
    if argv[1] == "change":
        return _cli_change(argv[2:])
    if argv[1] == "down":
        return _cli_down(argv[2:])
    for n in sweep_stale():
        print("removed %s" % n)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
