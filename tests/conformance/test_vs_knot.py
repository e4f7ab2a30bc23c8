"""Differential conformance: the same generated queries to knotd and to
edgedns, the same zone files behind both, answers compared as RRsets.

A difference fails the test unless a named rule in lib/allowed.py accepts
it. The full report (every failing category with an example) goes to
build/conformance-report.txt and into the failure message.
"""

import collections

import pytest

from lib import allowed, queries

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
    for rule in allowed.ALLOWED:
        assert rule.name and len(rule.reason) > 20, rule


@pytest.mark.parametrize("zone", ZONE_GROUPS)
def test_same_answers_as_knot(differential, zone):
    results, report = differential
    mine = [r for r in results if r.query.zone == zone]
    assert mine, "no queries for %s" % zone
    bad = [r for r in mine if r.diffs and r.rule is None]
    if bad:
        cats = collections.Counter(r.category for r in bad)
        head = "%d of %d queries for %s differ from knotd: %s" % (
            len(bad), len(mine), zone, ", ".join("%s (%d)" % kv for kv in cats.most_common()))
        pytest.fail(head + "\n\n" + _report_for(results, zone), pytrace=False)


def _report_for(results, zone):
    from lib import runner
    return runner.summary([r for r in results if r.query.zone == zone])


def test_print_summary(differential):
    """Always passes; prints the whole report (pytest -s, or -rA) ."""
    print(differential[1])
