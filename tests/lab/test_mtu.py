"""Answers never exceed the port's MTU: with --udp-max 4096 and a client
offering 4096, an RRset of over 1500 octets comes back truncated (TC, to
retry over TCP) rather than as a frame the link would drop."""

import dns.flags
import dns.message
import dns.rdatatype
import pytest

from lab import SERVER4, SERVER6


@pytest.fixture(scope="module")
def lab(make_lab):
    with make_lab(extra_args=["--udp-max", "4096"]) as lb:
        yield lb


@pytest.mark.parametrize("server", [SERVER4, SERVER6])
def test_answer_over_the_mtu_is_truncated_not_lost(lab, server):
    q = dns.message.make_query("big.example.com", "TXT", use_edns=0, payload=4096)
    r = lab.query(q, server)
    assert r.flags & dns.flags.TC and not r.answer, r.to_text()
    r = lab.query(q, server, tcp=True)
    assert not r.flags & dns.flags.TC
    assert len(r.answer[0]) == 8 and len(r.to_wire()) > 1500
    # what fits the MTU still comes whole over UDP
    q = dns.message.make_query("long.example.com", "TXT", use_edns=0, payload=4096)
    r = lab.query(q, server)
    assert not r.flags & dns.flags.TC and r.answer
