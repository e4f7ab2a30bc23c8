"""procs.py: free loopback ports, child servers that are always killed by pid,
and a bounded wait until a server answers."""

import os
import signal
import socket
import subprocess
import time

import dns.message
import dns.query
import dns.rdatatype

LOOPBACK = "127.0.0.1"


def free_port(host=LOOPBACK, tries=50):
    """A port free for both UDP and TCP on host (bounded number of tries)."""
    for _ in range(tries):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            t.bind((host, 0))
            port = t.getsockname()[1]
            try:
                u.bind((host, port))
            except OSError:
                continue
            return port
        finally:
            t.close()
            u.close()
    raise RuntimeError("no free port found on %s after %d tries" % (host, tries))


class Server:
    """A child process with its output in a log file. stop() kills it by pid
    (SIGTERM, then SIGKILL after a bounded wait) and is safe to call twice."""

    def __init__(self, name, argv, logpath, cwd=None, env=None):
        self.name = name
        self.argv = argv
        self.logpath = logpath
        self.port = None
        self._log = open(logpath, "wb")
        self.proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=cwd, env=env,
                                     start_new_session=True)
        self.pid = self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def log_text(self, limit=8000):
        try:
            with open(self.logpath, "rb") as f:
                data = f.read()
        except OSError:
            return ""
        return data[-limit:].decode("utf-8", "replace")

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                try:
                    os.kill(self.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=5)
        if not self._log.closed:
            self._log.close()

    def __repr__(self):
        return "<%s pid=%s port=%s>" % (self.name, self.pid, self.port)


def wait_answers(server, host, port, qname, timeout=15.0):
    """Wait until server answers an SOA query for qname over UDP and TCP with
    NOERROR. Raises RuntimeError (with the server's log) when it exits or the
    time runs out."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if not server.alive():
            raise RuntimeError("%s exited with %s before answering:\n%s" % (
                server.name, server.proc.returncode, server.log_text()))
        q = dns.message.make_query(qname, dns.rdatatype.SOA)
        try:
            r1 = dns.query.udp(q, host, port=port, timeout=0.5)
            r2 = dns.query.tcp(q, host, port=port, timeout=0.5)
            if r1.rcode() == 0 and r2.rcode() == 0 and r1.answer and r2.answer:
                return
            last = "rcodes %s/%s" % (r1.rcode(), r2.rcode())
        except Exception as e:  # noqa: BLE001 - any failure means not ready yet
            last = repr(e)
        time.sleep(0.1)
    raise RuntimeError("%s did not answer SOA %s on %s@%d within %.0fs (last: %s):\n%s" % (
        server.name, qname, host, port, timeout, last, server.log_text()))
