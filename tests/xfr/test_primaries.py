"""Transfers from real primaries: knotd and nsd (AXFR, TSIG, SOA query),
knotd alone for IXFR (nsd serves IXFR only for zones it is itself a
secondary of, from its ixfr store, so a zone file change gives it none)."""

import os

import pytest

import primaries
from conftest import IXFR, OPEN, SERIAL, ZONE, rrset_lines, tsig_arg, xfr


@pytest.fixture(params=["knot", "nsd"])
def primary(request, knot, nsd):
    return {"knot": knot, "nsd": nsd}[request.param]


@pytest.mark.parametrize("server", ["127.0.0.1", "::1"])
def test_axfr_tsig_equals_zone_file(primary, zones, workdir, server):
    dump = os.path.join(workdir, "dump-%s-%s" % (type(primary).__name__, server))
    r = xfr(primary.port, ZONE, "--axfr", "--tsig", tsig_arg(), "--dump", dump, server=server)
    assert r["rc"] == 0, r
    assert r["kind"] == "axfr" and r["serial"] == SERIAL
    assert r["messages"] > 1 and r["tsig_verified"] == r["messages"], r
    want = rrset_lines(zones[ZONE], ZONE)
    assert r["zone_rrs"] == len(want)
    assert rrset_lines(dump, ZONE) == want


def test_axfr_unsigned(primary, zones, workdir):
    dump = os.path.join(workdir, "dump-open-%s" % type(primary).__name__)
    r = xfr(primary.port, OPEN, "--axfr", "--dump", dump)
    assert r["rc"] == 0, r
    assert rrset_lines(dump, OPEN) == rrset_lines(zones[OPEN], OPEN)


@pytest.mark.parametrize("key", [1, 2])
def test_axfr_tsig_sha384_sha512_knot(knot, key):
    r = xfr(knot.port, ZONE, "--axfr", "--tsig", tsig_arg(key))
    assert r["rc"] == 0 and r["tsig_verified"] == r["messages"] > 1, r


def test_tsig_wrong_key_name(primary):
    r = xfr(primary.port, ZONE, "--axfr", "--tsig", tsig_arg(name="nosuch-key."))
    assert (r["code"], r["why"]) == ("ETSIG", "peer-badkey"), r
    assert "BADKEY" in r["error"] and "127.0.0.1@%d" % primary.port in r["error"]


def test_tsig_wrong_secret(primary):
    r = xfr(primary.port, ZONE, "--axfr", "--tsig", tsig_arg(secret="d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldA=="))
    assert (r["code"], r["why"]) == ("ETSIG", "peer-badsig"), r


def test_tsig_required_but_not_sent(primary):
    r = xfr(primary.port, ZONE, "--axfr")
    assert r["code"] == "ERCODE" and r["rcode"] in (5, 9), r   # REFUSED or NOTAUTH


def test_soa_query(primary):
    r = xfr(primary.port, ZONE, "--soa", "--tsig", tsig_arg())
    assert r["rc"] == 0 and r["serial"] == SERIAL and r["aa"] and r["tsig_verified"], r
    r = xfr(primary.port, OPEN, "--soa", server="::1")
    assert r["rc"] == 0 and r["serial"] == SERIAL and r["aa"] and not r["tsig_verified"], r


def test_soa_query_edns_expire(primary):
    """RFC 7314: the query asks for EXPIRE; Knot answers it (a primary:
    at most the SOA EXPIRE, 1209600 in these zones), NSD need not."""
    for zone, extra in ((ZONE, ["--tsig", tsig_arg()]), (OPEN, [])):
        r = xfr(primary.port, zone, "--soa", *extra)
        assert r["rc"] == 0 and not r["edns_fallback"], r
        if isinstance(primary, primaries.Knot):
            assert r["expire"] is not None and 0 < r["expire"] <= 1209600, r
        else:
            assert r["expire"] is None or r["expire"] <= 1209600, r


def test_soa_query_not_authoritative(primary):
    r = xfr(primary.port, "nosuch.zone.", "--soa")
    assert r["code"] in ("ERCODE", "EFORMAT"), r


def test_ixfr_knot(knot, zones, workdir):
    """Change the zone file, reload, IXFR from the old serial: the diffs
    applied to the old zone equal a fresh AXFR."""
    base = os.path.join(workdir, "ixfr-base.zone")
    with open(zones[IXFR]) as f:
        old = f.read()
    with open(base, "w") as f:
        f.write(old)
    r = xfr(knot.port, IXFR, "--ixfr", SERIAL, "--base", base, "--tsig", tsig_arg())
    assert r["rc"] == 0 and r["kind"] == "uptodate", r
    new = old.replace("%d 7200" % SERIAL, "%d 7200" % (SERIAL + 1))
    new = new.replace("www A 192.0.2.80\n", "www A 192.0.2.81\n")
    new = new.replace("t7 TXT", "t7new TXT").replace("t99 TXT \"record 99", "t99 TXT \"changed 99")
    new += "added A 192.0.2.123\nadded AAAA 2001:db8::123\n"
    primaries.write(zones[IXFR], new)
    knot.reload(IXFR)
    primaries.wait_serial("127.0.0.1", knot.port, IXFR, SERIAL + 1)
    ixdump, axdump = os.path.join(workdir, "ixfr.out"), os.path.join(workdir, "ixfr-axfr.out")
    r = xfr(knot.port, IXFR, "--ixfr", SERIAL, "--base", base, "--tsig", tsig_arg(), "--dump", ixdump)
    assert r["rc"] == 0 and r["kind"] == "ixfr" and not r["fallback"], r
    assert r["serial"] == SERIAL + 1 and r["tsig_verified"] == r["messages"]
    a = xfr(knot.port, IXFR, "--axfr", "--tsig", tsig_arg(), "--dump", axdump)
    assert a["rc"] == 0, a
    assert rrset_lines(ixdump, IXFR) == rrset_lines(axdump, IXFR) == rrset_lines(zones[IXFR], IXFR)
    assert r["bytes"] < a["bytes"] / 10
    # the raw diffs: one step
    d = xfr(knot.port, IXFR, "--ixfr", SERIAL, "--tsig", tsig_arg())
    assert d["rc"] == 0 and d["kind"] == "ixfr" and d["ndiffs"] == 1, d
    # A serial Knot has no diff from: it answers with the whole zone.
    f = xfr(knot.port, IXFR, "--ixfr", SERIAL - 5, "--base", base, "--tsig", tsig_arg())
    assert f["rc"] == 0 and f["kind"] == "axfr" and f["zone_rrs"] == a["zone_rrs"], f
