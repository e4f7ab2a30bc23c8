"""The lab with the net_af_packet fallback forced: UDP answered by the
workers on both families (exactly once: the edge kernel must not answer
the frames it also sees on e0), TCP and ping through the kernel, clean stop."""

import socket
import time

import dns.flags
import dns.message
import dns.rcode
import pytest

import frames as fr
from lab import CLIENT4, CLIENT6, KERNEL_IF, SERVER4, SERVER6

WWW4 = {"192.0.2.80", "192.0.2.81"}


@pytest.fixture(scope="module")
def lab(make_lab):
    with make_lab(vdev="af_packet") as lb:
        yield lb


def test_port_is_af_packet(lab):
    assert lab.vdev == "af_packet"
    # the veth's carrier comes up a moment after the interface (linkwatch)
    deadline = time.monotonic() + 5
    p = lab.ports()[0]
    while not p["link"] and time.monotonic() < deadline:
        time.sleep(0.1)
        p = lab.ports()[0]
    assert p["name"] == "net_af_packet0" and p["link"] is True, p
    assert p["mac"].lower() == lab.edge_mac


@pytest.mark.parametrize("server,client", [(SERVER4, CLIENT4), (SERVER6, CLIENT6)])
def test_udp_answered_once_by_the_workers(lab, server, client):
    a0 = lab.answered()
    assert set(lab.kdig("@" + server, "+short", "www.example.com", "A").split()) == WWW4
    fam = socket.AF_INET6 if ":" in server else socket.AF_INET
    s = lab.socket(fam, socket.SOCK_DGRAM)
    try:
        s.bind((client, 0))
        s.settimeout(0.1)
        qid = 0x6a01
        s.sendto(fr.dns_query(qid, "www.example.com"), (server, 53))
        got = []
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline and not got:
            try:
                got.append(s.recv(65535))
            except socket.timeout:
                pass
        assert got, "no answer"
        # a second copy would come from the edge kernel seeing e0's frames
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            try:
                got.append(s.recv(65535))
            except socket.timeout:
                pass
        assert len(got) == 1, "%d answers to one query" % len(got)
        r = dns.message.from_wire(got[0])
        assert r.id == qid and r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA
    finally:
        s.close()
    assert lab.answered() - a0 == 2


def test_tcp_and_ping_through_the_kernel(lab):
    s0 = lab.stats()
    for server in (SERVER4, SERVER6):
        out = lab.kdig("@" + server, "+tcp", "+short", "www.example.com", "A")
        assert set(out.split()) == WWW4
        p = lab.client(["ping", "-c", "2", "-i", "0.2", "-W", "2", server], check=False)
        assert p.returncode == 0 and " 0% packet loss" in p.stdout, p.stdout + p.stderr
    s1 = lab.stats_when(lambda s: s["queries_tcp"] - s0["queries_tcp"] >= 2
                        and s["from_kernel"] > s0["from_kernel"])
    assert s1["queries_tcp"] - s0["queries_tcp"] == 2
    assert s1["to_kernel"] > s0["to_kernel"] and s1["from_kernel"] > s0["from_kernel"]


def test_sigterm_stops_cleanly(lab):
    assert lab.stop(timeout=5.0) == 0, lab.log_text()
    p = lab.edge(["ip", "link", "show", KERNEL_IF], check=False)
    deadline = time.monotonic() + 3.0
    while p.returncode == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
        p = lab.edge(["ip", "link", "show", KERNEL_IF], check=False)
    assert p.returncode != 0, "%s still there" % KERNEL_IF
