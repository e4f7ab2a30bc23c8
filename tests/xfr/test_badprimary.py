"""The misbehaving primary (badprimary.py): each broken stream stops the
transfer with its own error class."""

import os
import time

import pytest

import badprimary
from conftest import tsig_arg, xfr


@pytest.mark.parametrize("what,code,why,extra", [
    ("midserial", "EFORMAT", "serial", []),
    ("truncated", "EFORMAT", "closed", []),
    ("idchange", "EFORMAT", "id", []),
    ("qname", "EFORMAT", "question", []),
    ("above", "EFORMAT", "out-of-zone", []),
    ("bigrr", "ELIMIT", "rr-size", ["--max-rr-size", "1024"]),
    ("refused", "ERCODE", "rcode", []),
])
def test_broken_stream(bad, what, code, why, extra):
    r = xfr(bad.port, what + ".bad.", "--axfr", *extra)
    assert (r["code"], r["why"]) == (code, why), r
    assert "127.0.0.1@%d" % bad.port in r["error"]


def test_sane_stream(bad):
    r = xfr(bad.port, "axfr.bad.", "--axfr", "--tsig", tsig_arg())
    assert r["rc"] == 0 and r["messages"] > 2 and r["tsig_verified"] == r["messages"], r
    assert r["zone_rrs"] == 304   # SOA, NS, ns, 300 h*, new


def test_rr_under_limit_passes(bad):
    r = xfr(bad.port, "bigrr.bad.", "--axfr")
    assert r["rc"] == 0, r


def test_refused_names_rcode(bad):
    r = xfr(bad.port, "refused.bad.", "--axfr")
    assert "REFUSED" in r["error"], r


def test_endless_stops_at_size_limit(bad):
    t = time.monotonic()
    r = xfr(bad.port, "endless.bad.", "--axfr", "--max-bytes", 2000000)
    assert (r["code"], r["why"]) == ("ELIMIT", "max-bytes"), r
    assert r["bytes"] <= 2000000 and time.monotonic() - t < 5


def test_endless_stops_at_rr_limit(bad):
    r = xfr(bad.port, "endless.bad.", "--axfr", "--max-rrs", 5000)
    assert (r["code"], r["why"]) == ("ELIMIT", "max-rrs"), r


def test_endless_stops_at_timeout(bad):
    t = time.monotonic()
    r = xfr(bad.port, "endless.bad.", "--axfr", "--timeout-ms", 500)
    assert (r["code"], r["why"]) == ("ETIMEOUT", "timeout"), r
    assert time.monotonic() - t < 3


@pytest.mark.parametrize("what,why", [
    ("halfsigned", "tsig-unsigned"),
    ("unsigned", "tsig-unsigned"),
    ("wrongkey", "tsig-key"),
    ("badsig", "tsig-badmac"),
])
def test_tsig_refused(bad, what, why):
    r = xfr(bad.port, what + ".bad.", "--axfr", "--tsig", tsig_arg())
    assert (r["code"], r["why"]) == ("ETSIG", why), r



def _base(workdir, apex):
    p = os.path.join(workdir, apex + "base")
    with open(p, "w") as f:
        f.write(badprimary.base_zone_text(apex, badprimary.BASE))
    return p


def test_ixfr_delete_missing_falls_back(bad, workdir):
    apex = "ixfrdel.bad."
    r = xfr(bad.port, apex, "--ixfr", badprimary.BASE, "--base", _base(workdir, apex))
    assert r["rc"] == 0 and r["kind"] == "axfr" and r["fallback"], r
    assert "nothere" in r["fallback_reason"] and r["serial"] == badprimary.NEW
    raw = xfr(bad.port, apex, "--ixfr", badprimary.BASE)
    assert raw["rc"] == 0 and raw["kind"] == "ixfr" and raw["ndiffs"] == 1, raw


def test_ixfr_notimp_falls_back(bad, workdir):
    apex = "notimp.bad."
    r = xfr(bad.port, apex, "--ixfr", badprimary.BASE, "--base", _base(workdir, apex))
    assert r["rc"] == 0 and r["kind"] == "axfr" and r["fallback"], r
    assert "NOTIMP" in r["fallback_reason"]


@pytest.mark.parametrize("what", ["formerr", "badvers"])
@pytest.mark.parametrize("signed", [False, True])
def test_soa_edns_refused_retried_without(bad, what, signed):
    """FORMERR or BADVERS to the EDNS query: asked once more without EDNS."""
    apex = "%s.s%d.bad." % (what, signed)
    extra = ["--tsig", tsig_arg()] if signed else []
    r = xfr(bad.udp_port, apex, "--soa", *extra)
    assert r["rc"] == 0 and r["serial"] == badprimary.NEW, r
    assert r["edns_fallback"] and r["expire"] is None and r["tsig_verified"] == signed, r
    seen = [s for s in bad.udp_seen if s[0] == apex]
    assert [s[1] for s in seen] == [0, -1], seen
    assert seen[0][2] == [9], seen     # the empty EXPIRE option (RFC 7314)


def test_soa_edns_expire(bad):
    r = xfr(bad.udp_port, "expire.bad.", "--soa", "--tsig", tsig_arg())
    assert r["rc"] == 0 and r["tsig_verified"] and not r["edns_fallback"], r
    assert r["expire"] == badprimary.EXPIRE_VALUE, r
    r = xfr(bad.udp_port, "plain.bad.", "--soa")
    assert r["rc"] == 0 and r["expire"] is None and not r["edns_fallback"], r


def test_bad_primary_saw_valid_signatures(bad):
    assert not [e for e in bad.errors if "BadSignature" in e or "PeerBad" in e], bad.errors
