"""dnsio.py: send raw DNS messages over UDP and TCP and get raw bytes back.

Raw bytes on purpose: the tests check what is on the wire (the question's
case, section counts, malformed answers), which a parsing client would hide.
Every wait is bounded by a timeout.
"""

import socket
import struct
import time

from .procs import LOOPBACK


def udp(wire, port, host=LOOPBACK, timeout=2.0, expect_id=True):
    """Send one datagram; return the first reply datagram (bytes) whose ID
    matches the query's (when the query has one and expect_id), or None
    when nothing arrives within timeout."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect((host, port))
        s.send(wire)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            s.settimeout(left)
            try:
                data = s.recv(65535)
            except socket.timeout:
                return None
            except ConnectionRefusedError:
                return None
            if not expect_id or len(wire) < 2 or data[:2] == wire[:2]:
                return data
    finally:
        s.close()


def _recv_exact(s, n, deadline):
    buf = b""
    while len(buf) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout()
        s.settimeout(left)
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed after %d of %d octets" % (len(buf), n))
        buf += chunk
    return buf


def tcp_recv_msg(s, timeout):
    """One length-prefixed message from a connected socket: bytes, or None
    on timeout or close."""
    deadline = time.monotonic() + timeout
    try:
        (n,) = struct.unpack("!H", _recv_exact(s, 2, deadline))
        return _recv_exact(s, n, deadline)
    except (socket.timeout, EOFError, ConnectionResetError, BrokenPipeError):
        return None


def tcp(wire, port, host=LOOPBACK, timeout=3.0, prefix=None):
    """Send one message on a new TCP connection (with a 2-octet length
    prefix, or the given prefix bytes); return the reply or None."""
    s = socket.create_connection((host, port), timeout=timeout)
    try:
        if prefix is None:
            prefix = struct.pack("!H", len(wire))
        s.sendall(prefix + wire)
        return tcp_recv_msg(s, timeout)
    except (ConnectionResetError, BrokenPipeError):
        return None
    finally:
        s.close()


def send(wire, port, transport, host=LOOPBACK, timeout=None, retries=2):
    """udp() or tcp(); a UDP query that gets no answer is retried (bounded),
    so a lost datagram on a busy machine is not read as a dropped query."""
    if transport == "tcp":
        return tcp(wire, port, host, timeout or 3.0)
    for _ in range(retries + 1):
        r = udp(wire, port, host, timeout or 1.5)
        if r is not None:
            return r
    return None
