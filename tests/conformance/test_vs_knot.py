"""Differential conformance: the same generated queries to knotd and to
edgedns, the same zone files behind both, answers compared as RRsets.

A difference fails the test unless a named rule in lib/allowed.py accepts
it. The full report (every failing category with an example) goes to
build/conformance-report.txt and into the failure message.
"""

import collections

import dns.flags
import dns.message
import dns.name
import dns.rrset
import pytest

from lib import allowed, compare, queries, runner

ZONE_GROUPS = ["rich.test.", "nsec.test.", "nsec3.test.", "nsec3oo.test.",
               "parent.test.", "child.parent.test.", "-"]

# Every rule the generator is meant to hit; a tag disappearing from the
# generated set is a harness regression.
REQUIRED_TAGS = {
    "apex", "exact", "nodata", "nxdomain", "nxdomain-below", "ent", "below-ent",
    "wildcard", "wildcard-nodata", "wildcard-owner", "wildcard-cname", "cname",
    "cname-loop", "cname-long", "cname-wildcard", "cname-leave", "cname-nxdomain",
    "cname-dname", "cname-referral", "dname", "dname-yxdomain", "referral",
    "referral-glue", "referral-big", "below-cut", "ds", "ds-at-cut",
    "ds-child-apex", "child-wins", "nsec3-owner", "any", "rrsig", "additional",
    "out-of-zone", "chaos", "class",
}


def test_query_set_covers_every_rule(conf_queries):
    tags = {q.tag for q in conf_queries}
    assert REQUIRED_TAGS <= tags, "rules with no query: %s" % sorted(REQUIRED_TAGS - tags)
    assert 2000 <= len(conf_queries) <= 12000
    variants = {(q.transport, q.payload, q.do) for q in conf_queries}
    assert variants == set(queries.VARIANTS)
    assert any(q.qname != q.qname.lower() for q in conf_queries)  # 0x20 case
    assert {q.tag for q in conf_queries if q.transport == "tcp"} >= {"referral-big", "apex"}


def test_allowed_rules_are_named():
    rules = allowed.ALLOWED + allowed.TRUNCATION_RULES
    names = [rule.name for rule in rules]
    assert len(names) == len(set(names))
    for rule in rules:
        assert rule.name and len(rule.reason) > 40, rule
    for rule in allowed.ALLOWED:
        assert rule.check.__doc__, rule


@pytest.mark.parametrize("zone", ZONE_GROUPS)
def test_same_answers_as_knot(differential, zone):
    results, report = differential
    mine = [r for r in results if r.query.zone == zone]
    assert mine, "no queries for %s" % zone
    bad = [r for r in mine if r.failing]
    if bad:
        cats = collections.Counter(r.category for r in bad)
        head = "%d of %d queries for %s differ from knotd: %s" % (
            len(bad), len(mine), zone, ", ".join("%s (%d)" % kv for kv in cats.most_common()))
        pytest.fail(head + "\n\n" + _report_for(results, zone), pytrace=False)


def _report_for(results, zone):
    return runner.summary([r for r in results if r.query.zone == zone])


def test_print_summary(differential):
    """Always passes; prints the whole report (pytest -s, or -rA) ."""
    print(differential[1])


def test_comparison_sees_differences():
    """The comparison itself: each kind of change to a response is seen."""
    q = queries.Query(7, "www.rich.test.", 1, 1, "tcp", 1232, True, False, False, "exact", "rich.test.")
    base = dns.message.make_response(dns.message.from_wire(q.wire()))
    base.flags |= dns.flags.AA
    base.answer.append(dns.rrset.from_text("www.rich.test.", 3600, "IN", "A", "192.0.2.80"))
    base.authority.append(dns.rrset.from_text("rich.test.", 3600, "IN", "NS", "ns1.rich.test."))

    def norm(m):
        return compare.Norm(m.to_wire(), q)

    assert compare.diff(q, norm(base), norm(base)) == []

    def variant(edit):
        m = dns.message.from_wire(base.to_wire())
        edit(m)
        return [x[0] for x in compare.diff(q, norm(base), norm(m))]

    assert variant(lambda m: setattr(m, "flags", m.flags & ~dns.flags.AA)) == ["flag-AA"]
    assert variant(lambda m: m.set_rcode(3)) == ["rcode"]
    assert variant(lambda m: m.answer[0].update_ttl(60)) == ["answer"]
    assert variant(lambda m: m.answer.__setitem__(0, dns.rrset.from_text(
        "www.rich.test.", 3600, "IN", "A", "192.0.2.81"))) == ["answer"]
    assert variant(lambda m: m.authority.__setitem__(0, dns.rrset.from_text(
        "rich.test.", 3600, "IN", "NS", "NS1.rich.test."))) == ["authority-rdata-case"]
    assert variant(lambda m: m.additional.append(dns.rrset.from_text(
        "ns1.rich.test.", 3600, "IN", "A", "192.0.2.53"))) == ["additional"]
    assert variant(lambda m: m.use_edns(False)) == ["edns"]
    assert variant(lambda m: m.use_edns(0, dns.flags.DO, 1232)) == ["edns"]
    assert variant(lambda m: m.question.__setitem__(0, dns.rrset.RRset(
        dns.name.from_text("WWW.rich.test."), 1, 1))) == ["question"]  # 0x20 case lost
    # a record sent twice shows only in the counts
    r = norm(base)
    dup = norm(base)
    dup.counts = dict(dup.counts, answer=2)
    assert [x[0] for x in compare.diff(q, r, dup)] == ["answer-count"]
    # nothing sent
    assert [x[0] for x in compare.diff(q, r, compare.Norm(None, q))] == ["presence"]
