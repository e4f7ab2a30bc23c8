"""Two worker lcores (both on core 1 of this two-core machine): a veth with
two queues, one RX/TX queue pair and one exception queue per worker. Each
worker answers what arrives on its own queue; zone loads wait for both
readers' grace periods. On net_af_packet (qpairs=2, a packet fanout): DPDK
22.11's net_af_xdp wants "combined" channels, which a veth does not have."""

import threading
import time

import dns.message
import dns.rcode
import dns.rdatatype
import pytest

from lab import SERVER4, SERVER6

WWW4 = {"192.0.2.80", "192.0.2.81"}


@pytest.fixture(scope="module")
def lab(make_lab):
    with make_lab(vdev="af_packet", workers=2) as lb:
        yield lb


def test_two_workers_share_the_queries(lab):
    lc = lab.lcores()
    assert len(lc) == 2 and {w["queue"] for w in lc} == {0, 1}
    before = [w["answered"] for w in lc]
    # Many flows (one socket each): the client kernel spreads them over
    # the veth's two queues by flow hash.
    wrong = 0
    for i in range(200):
        server = SERVER4 if i % 2 == 0 else SERVER6
        r = lab.query(dns.message.make_query("www.example.com", "A"), server=server)
        got = {rr.address for rrset in r.answer for rr in rrset}
        wrong += got != WWW4
    assert wrong == 0
    after = lab.lcores()
    per = [a["answered"] - b for a, b in zip(after, before)]
    assert sum(per) >= 200
    assert all(n > 0 for n in per), "one worker answered nothing: %s" % per
    # both heartbeats move
    l1 = [w["loops"] for w in after]
    time.sleep(0.3)
    l2 = [w["loops"] for w in lab.lcores()]
    assert all(b > a for a, b in zip(l1, l2)), (l1, l2)


def test_load_under_queries_with_two_readers(lab):
    """A zone load returns only after both workers passed a quiescent
    state; queries keep being answered meanwhile."""
    zone = [z for z in lab.cmd("zones")["zones"] if z["zone"] == "example.com."][0]
    stop = threading.Event()
    bad = []

    def ask():
        n = 0
        while not stop.is_set() and n < 2000:
            r = lab.query(dns.message.make_query("example.com", "SOA"))
            if r.rcode() != dns.rcode.NOERROR or not r.answer:
                bad.append(r.rcode())
            n += 1

    t = threading.Thread(target=ask)
    t.start()
    try:
        for _ in range(10):
            rep = lab.cmd("load %s" % zone["file"])
            assert rep["ok"], rep
    finally:
        stop.set()
        t.join(30)
    assert not bad


def test_tcp_through_either_exception_queue(lab):
    for server in (SERVER4, SERVER6):
        for _ in range(6):
            r = lab.query(dns.message.make_query("www.example.com", "A"), server=server, tcp=True)
            assert {rr.address for rrset in r.answer for rr in rrset} == WWW4
