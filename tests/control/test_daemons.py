"""The daemons under a service manager and beside each other: the systemd
notify protocol, through a real AF_UNIX datagram socket given as
NOTIFY_SOCKET (and WATCHDOG_USEC), for edgedns-control and the socket
dataplane (READY=1 once they answer, WATCHDOG=1 all along, RELOADING=1 and
READY=1 around a reload, STOPPING=1 at SIGTERM); and the one-instance
locks: a second control on the same state directory, a second dataplane on
the same command socket, each refused with the holder's pid, the first one
and its socket untouched. Every process is ours and stopped by pid; every
wait is bounded. (The watchdog held back while the health thread is stuck
is in test_health_bird.py: it needs a BIRD to freeze.)"""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import dns.message
import dns.query
import dns.rdatatype
import pytest

from conftest import BUILD, CONTROL, DATAPLANE, wait_for
from lib import procs

COMPILE = os.path.join(BUILD, "edgedns-compile")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
with open(os.path.join(REPO, "VERSION")) as _f:
    VERSION = _f.read().strip()
WATCHDOG_USEC = 400000      # keep-alives due every 0.2 s

ZONE = """$ORIGIN notify.test.
$TTL 300
@    IN SOA ns1 hostmaster 1 3600 600 86400 300
@    IN NS  ns1
ns1  IN A   192.0.2.1
"""


class Notify:
    """A service manager's notify socket: every datagram kept with the time
    it came, as {KEY: VALUE}."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.05)
        self.msgs = []
        self.mu = threading.Lock()
        self.done = False
        self.th = threading.Thread(target=self._run, daemon=True)
        self.th.start()

    def _run(self):
        while not self.done:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                break
            kv = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
            with self.mu:
                self.msgs.append((time.monotonic(), kv))

    def close(self):
        self.done = True
        self.th.join(2)
        self.sock.close()

    def env(self):
        e = dict(os.environ)
        e["NOTIFY_SOCKET"] = self.path
        e["WATCHDOG_USEC"] = str(WATCHDOG_USEC)
        e.pop("WATCHDOG_PID", None)
        return e

    def seen(self, key, value=None, since=0.0):
        with self.mu:
            return [(t, kv) for t, kv in self.msgs
                    if t >= since and key in kv and (value is None or kv[key] == value)]

    def wait(self, key, value=None, since=0.0, timeout=10.0):
        """The first message since `since` with KEY (=value); its (time, kv)."""
        return wait_for(lambda: (self.seen(key, value, since) or [None])[0], timeout,
                        "%s=%s on the notify socket (got %r)" % (key, value, self.msgs[-5:]),
                        step=0.02)

    def keepalives(self, since, until):
        return [t for t, kv in self.seen("WATCHDOG", "1", since) if t <= until]


@pytest.fixture()
def wd():
    d = tempfile.mkdtemp(prefix="edgedns-daemons-")
    procs_started = []
    try:
        yield d, procs_started
    finally:
        for p in procs_started:
            p.stop()
        shutil.rmtree(d, ignore_errors=True)


def control_conf(d):
    path = os.path.join(d, "control.yaml")
    os.makedirs(os.path.join(d, "state"), exist_ok=True)
    os.makedirs(os.path.join(d, "snapshots"), exist_ok=True)
    with open(path, "w") as f:
        f.write("control:\n"
                "  socket: %s/control.sock\n"
                "  dataplane-socket: %s/dataplane.sock\n"
                "  snapshot-dir: %s/snapshots\n"
                "  state-dir: %s/state\n"
                "  log: stderr\n" % (d, d, d, d))
    return path


def request(sock, obj, timeout=5):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock)
        s.sendall((json.dumps(obj) + "\n").encode())
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    finally:
        s.close()
    return json.loads(buf)


def dp_cmd(sock, line, timeout=5):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock)
        s.sendall((line + "\n").encode())
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    finally:
        s.close()
    return json.loads(buf)


def start_control(d, started, name="control", env=None):
    srv = procs.Server("edgedns-control", [CONTROL, "-c", os.path.join(d, "control.yaml"),
                                           "-f"], os.path.join(d, name + ".log"), env=env)
    started.append(srv)
    return srv


def start_dataplane(d, started, name="dataplane", env=None, sock=None):
    snap = os.path.join(d, "snapshots")
    if not os.path.exists(os.path.join(snap, "notify.snap")):
        os.makedirs(snap, exist_ok=True)
        src = os.path.join(d, "notify.zone")
        with open(src, "w") as f:
            f.write(ZONE)
        p = subprocess.run([COMPILE, "-q", "-o", os.path.join(snap, "notify.snap"), src],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, p.stderr
    port = procs.free_port()
    srv = procs.Server("edgedns-dataplane",
                       [DATAPLANE, "--io", "socket", "--snapshots", snap, "--threads", "1",
                        "--listen", "127.0.0.1@%d" % port,
                        "--control", sock or os.path.join(d, "dataplane.sock")],
                       os.path.join(d, name + ".log"), env=env)
    srv.port = port
    started.append(srv)
    return srv


def soa(port):
    q = dns.message.make_query("notify.test.", dns.rdatatype.SOA)
    return dns.query.udp(q, "127.0.0.1", port=port, timeout=1)


# ---- systemd notify ---------------------------------------------------------

def test_control_notify(wd):
    d, started = wd
    control_conf(d)
    n = Notify(os.path.join(d, "notify.sock"))
    try:
        t0 = time.monotonic()
        srv = start_control(d, started, env=n.env())
        t_ready, kv = n.wait("READY", "1", since=t0)
        # ready means serving: the control socket answers at once
        r = request(os.path.join(d, "control.sock"), {"cmd": "status"})
        assert r["ok"] and r["version"] == VERSION, r
        assert "edgedns-control: notice: started:" in srv.log_text()
        assert kv.get("STATUS", "").startswith("serving 0 zone(s)"), kv
        # keep-alives every half WATCHDOG_USEC, and on
        time.sleep(1.5)
        ka = n.keepalives(t_ready, time.monotonic())
        assert len(ka) >= 5, ka
        gaps = [b - a for a, b in zip(ka, ka[1:])]
        assert max(gaps) < WATCHDOG_USEC / 1e6, gaps
        # a reload: RELOADING=1 (with the time systemd wants), then READY=1
        t1 = time.monotonic()
        srv.proc.send_signal(signal.SIGHUP)
        t_rl, kv = n.wait("RELOADING", "1", since=t1)
        assert int(kv["MONOTONIC_USEC"]) > 0, kv
        t_again, _ = n.wait("READY", "1", since=t_rl)
        assert t_again >= t_rl
        # the same for "reload" on the control socket
        t2 = time.monotonic()
        assert request(os.path.join(d, "control.sock"), {"cmd": "reload"})["ok"]
        t_rl2, _ = n.wait("RELOADING", "1", since=t2)
        n.wait("READY", "1", since=t_rl2)
        # SIGTERM: STOPPING=1, a clean exit
        t3 = time.monotonic()
        srv.proc.send_signal(signal.SIGTERM)
        n.wait("STOPPING", "1", since=t3)
        assert srv.proc.wait(10) == 0, srv.log_text()
    finally:
        n.close()


def test_control_without_notify_socket_unchanged(wd):
    """No NOTIFY_SOCKET (a start by hand): nothing is sent, nothing fails."""
    d, started = wd
    control_conf(d)
    n = Notify(os.path.join(d, "notify.sock"))
    try:
        env = dict(os.environ)
        env.pop("NOTIFY_SOCKET", None)
        env["WATCHDOG_USEC"] = str(WATCHDOG_USEC)   # alone, it means nothing
        srv = start_control(d, started, env=env)
        wait_for(lambda: "started:" in srv.log_text(), 10, "started")
        assert request(os.path.join(d, "control.sock"), {"cmd": "status"})["ok"]
        time.sleep(0.5)
        srv.stop()
        assert srv.proc.returncode == 0
        assert n.msgs == []
    finally:
        n.close()


def test_dataplane_notify_socket_mode(wd):
    d, started = wd
    n = Notify(os.path.join(d, "notify.sock"))
    try:
        t0 = time.monotonic()
        srv = start_dataplane(d, started, env=n.env())
        t_ready, kv = n.wait("READY", "1", since=t0)
        # ready: the command socket and the listen address answer at once
        r = dp_cmd(os.path.join(d, "dataplane.sock"), "ping")
        assert r["ok"] and r["pid"] == srv.pid and r["version"] == VERSION, r
        assert soa(srv.port).answer
        assert kv.get("STATUS", "").startswith("serving 1 zone(s)"), kv
        time.sleep(1.5)
        ka = n.keepalives(t_ready, time.monotonic())
        assert len(ka) >= 5, ka
        assert max(b - a for a, b in zip(ka, ka[1:])) < WATCHDOG_USEC / 1e6, ka
        t1 = time.monotonic()
        srv.proc.send_signal(signal.SIGHUP)
        t_rl, kv = n.wait("RELOADING", "1", since=t1)
        assert int(kv["MONOTONIC_USEC"]) > 0
        n.wait("READY", "1", since=t_rl)
        # control's lease is taken in socket mode, without effect
        r = dp_cmd(os.path.join(d, "dataplane.sock"), "lease 5000")
        assert r["ok"] and r["io"] == "socket" and r["enforced"] is False, r
        t2 = time.monotonic()
        srv.proc.send_signal(signal.SIGTERM)
        n.wait("STOPPING", "1", since=t2)
        assert srv.proc.wait(10) == 0, srv.log_text()
    finally:
        n.close()


# ---- one instance -----------------------------------------------------------

def test_second_control_on_the_same_state_refused(wd):
    d, started = wd
    control_conf(d)
    first = start_control(d, started)
    sock = os.path.join(d, "control.sock")
    wait_for(lambda: first.alive() and "started:" in first.log_text(), 10, "first started")
    inode = os.stat(sock).st_ino
    second = start_control(d, started, name="second")
    assert second.proc.wait(10) == 1, second.log_text()
    lock = os.path.join(d, "state", "edgedns-control.lock")
    assert ("another edgedns-control (pid %d) holds %s" % (first.pid, lock)
            in second.log_text()), second.log_text()
    # the first one's socket is the same file and still answers
    assert os.stat(sock).st_ino == inode
    assert request(sock, {"cmd": "status"})["ok"]
    assert first.alive()
    # once it has stopped, a new one starts (the lock file stays behind)
    first.stop()
    assert first.proc.returncode == 0
    assert os.path.exists(lock)
    third = start_control(d, started, name="third")
    wait_for(lambda: third.alive() and "started:" in third.log_text(), 10, "third started")
    assert request(sock, {"cmd": "status"})["ok"]


def test_second_dataplane_on_the_same_socket_refused(wd):
    d, started = wd
    sock = os.path.join(d, "dataplane.sock")
    first = start_dataplane(d, started)
    wait_for(lambda: first.alive() and os.path.exists(sock) and
             dp_cmd(sock, "ping")["ok"], 10, "first dataplane")
    inode = os.stat(sock).st_ino
    second = start_dataplane(d, started, name="second")
    assert second.proc.wait(10) == 1, second.log_text()
    assert ("another edgedns-dataplane (pid %d) holds %s.lock" % (first.pid, sock)
            in second.log_text()), second.log_text()
    assert os.stat(sock).st_ino == inode
    assert dp_cmd(sock, "ping")["pid"] == first.pid
    assert soa(first.port).answer
    # another socket, the same snapshots: fine (read only)
    other = start_dataplane(d, started, name="other", sock=os.path.join(d, "other.sock"))
    wait_for(lambda: other.alive() and os.path.exists(os.path.join(d, "other.sock")), 10,
             "a dataplane on another socket")
    first.stop()
    third = start_dataplane(d, started, name="third")
    wait_for(lambda: third.alive() and os.path.exists(sock) and
             dp_cmd(sock, "ping")["pid"] == third.pid, 10, "a new dataplane")


def test_control_creates_missing_directories(wd):
    """What --check accepts as "can be created", control creates at start."""
    d, started = wd
    control_conf(d)
    with open(os.path.join(d, "control.yaml")) as f:
        text = f.read()
    text = text.replace("%s/state" % d, "%s/new/state" % d)
    text = text.replace("%s/snapshots" % d, "%s/new/snapshots" % d)
    with open(os.path.join(d, "control.yaml"), "w") as f:
        f.write(text)
    p = subprocess.run([CONTROL, "--check", "-c", os.path.join(d, "control.yaml")],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 0, p.stderr
    assert not os.path.exists(os.path.join(d, "new"))
    srv = start_control(d, started)
    wait_for(lambda: srv.alive() and "started:" in srv.log_text(), 10, "started")
    for sub in ("state", "snapshots"):
        assert os.path.isdir(os.path.join(d, "new", sub))
    assert os.path.exists(os.path.join(d, "new", "state", "edgedns-control.lock"))
