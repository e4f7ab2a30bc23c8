"""runner.py: send every query to both servers, compare, summarise.

The summary groups differences by category (the first differing aspect and
the query's rule tag) with a count and one full example (query and both
responses), so a developer can go straight to the rule that is wrong.
"""

import collections
import concurrent.futures

from . import allowed, compare, dnsio

WORKERS = 8


class Result:
    __slots__ = ("query", "ref", "our", "diffs", "rule")

    def __init__(self, query, ref, our, diffs, rule):
        self.query = query
        self.ref = ref
        self.our = our
        self.diffs = diffs
        self.rule = rule

    @property
    def category(self):
        """The first difference, with names left out: one behaviour."""
        aspect, _, sig = self.diffs[0]
        if aspect in ("id", "question", "edns", "opcode", "presence", "parse"):
            return aspect
        return "%s: %s" % (aspect, sig)


def _one(query, ref_port, our_port, zones):
    wire = query.wire()
    r = dnsio.send(wire, ref_port, query.transport)
    o = dnsio.send(wire, our_port, query.transport)
    ref, our = compare.Norm(r, query), compare.Norm(o, query)
    diffs = compare.diff(query, ref, our)
    rule = allowed.allowed_by(query, ref, our, diffs, zones) if diffs else None
    return Result(query, ref, our, diffs, rule)


def run(queries, ref_port, our_port, zones, workers=WORKERS):
    """Results for every query, in query order."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as ex:
        return list(ex.map(lambda q: _one(q, ref_port, our_port, zones), queries))


def summary(results, ref_name="knotd", our_name="edgedns", examples=1):
    """Text report: counts, then each failing category with examples, then
    the named allowed differences that were used."""
    bad = [r for r in results if r.diffs and r.rule is None]
    ok_rules = collections.Counter(r.rule.name for r in results if r.rule is not None)
    cats = collections.OrderedDict()
    for r in bad:
        cats.setdefault(r.category, []).append(r)
    lines = ["conformance: %d queries, %d identical, %d allowed differences, %d failures in %d categories"
             % (len(results), sum(1 for r in results if not r.diffs), sum(ok_rules.values()),
                len(bad), len(cats))]
    for cat, rs in sorted(cats.items(), key=lambda kv: -len(kv[1])):
        lines.append("")
        tags = collections.Counter(r.query.tag for r in rs)
        lines.append("=== %s: %d queries (%s)" % (cat, len(rs), ", ".join(
            "%s %d" % kv for kv in tags.most_common())))
        for r in rs[:examples]:
            lines.append("query: %s" % r.query.describe())
            for aspect, detail, _ in r.diffs:
                lines.append("  %s: %s" % (aspect, detail))
            lines.append("--- %s:" % ref_name)
            lines.append(_indent(r.ref.text()))
            lines.append("--- %s:" % our_name)
            lines.append(_indent(r.our.text()))
        more = sorted({r.query.qname.lower() + "/" + _t(r.query.qtype) for r in rs[examples:]})
        if more:
            lines.append("  also: " + ", ".join(more[:12]) + (" ..." if len(more) > 12 else ""))
    if ok_rules:
        lines.append("")
        lines.append("allowed differences used:")
        for name, n in ok_rules.most_common():
            lines.append("  %s: %d" % (name, n))
    return "\n".join(lines)


def _t(t):
    import dns.rdatatype
    return dns.rdatatype.to_text(t)


def _indent(text):
    return "\n".join("    " + ln for ln in text.splitlines())
