"""runner.py: send every query to both servers, compare, summarise.

The summary groups differences by category (the first differing aspect and
the query's rule tag) with a count and one full example (query and both
responses), so a developer can go straight to the rule that is wrong.
"""

import collections
import concurrent.futures
import time

from . import allowed, compare, dnsio

WORKERS = 8


class Result:
    """One query: both responses, every difference, the differences no rule
    accepts (failing), and the names of the rules that accepted the rest."""
    __slots__ = ("query", "ref", "our", "diffs", "failing", "rules")

    def __init__(self, query, ref, our, diffs, failing, rules):
        self.query = query
        self.ref = ref
        self.our = our
        self.diffs = diffs
        self.failing = failing
        self.rules = rules

    @property
    def category(self):
        """The first difference, with names left out: one behaviour."""
        aspect, _, sig = self.failing[0]
        if aspect in ("id", "question", "edns", "opcode", "presence", "parse"):
            return aspect
        return "%s: %s" % (aspect, sig)


TRUNCATED_REF = allowed.TRUNCATED_REF.name
TRUNCATED_RCODE = allowed.TRUNCATED_RCODE.name


def _one(query, ref_port, our_port, zones):
    wire = query.wire()
    r = dnsio.send(wire, ref_port, query.transport)
    o = dnsio.send(wire, our_port, query.transport)
    ref, our = compare.Norm(r, query), compare.Norm(o, query)
    diffs = compare.diff(query, ref, our)
    if not diffs:
        return Result(query, ref, our, diffs, [], [])
    if query.transport == "udp" and ref.tc and our.msg is not None and not our.tc \
            and len(our.wire) <= _udp_limit(query):
        # Named rule: knotd truncated where our answer fits the limit (we
        # compress more, e.g. a synthesised CNAME's target against the
        # DNAME). Our whole answer is then held against knotd's whole
        # answer, fetched over TCP; only TC may differ.
        full = compare.Norm(dnsio.send(wire, ref_port, "tcp"), query)
        d2 = [d for d in compare.diff(query, full, our) if d[0] != "flag-TC"]
        failing, rules = allowed.accepted(query, full, our, d2, zones) if d2 else ([], [])
        return Result(query, full, our, diffs, failing, [TRUNCATED_REF] + rules)
    if query.transport == "udp" and ref.tc and our.tc and [d[0] for d in diffs] == ["rcode"]:
        # Named rule: both truncated, and the rcode of a truncated answer
        # says how far the server got before it ran out of room (knotd stops
        # at the synthesised CNAME that does not fit, with NOERROR). Ours
        # must then be the rcode of knotd's whole answer, over TCP.
        full = compare.Norm(dnsio.send(wire, ref_port, "tcp"), query)
        if full.msg is not None and full.rcode == our.rcode:
            return Result(query, ref, our, diffs, [], [TRUNCATED_RCODE])
    failing, rules = allowed.accepted(query, ref, our, diffs, zones)
    return Result(query, ref, our, diffs, failing, rules)


def _udp_limit(query):
    """The size our UDP answer must fit: 512 without EDNS, else the
    requestor's payload (at least 512) capped by our 1232."""
    if query.payload is None:
        return 512
    return min(max(query.payload, 512), 1232)


def run(queries, ref_port, our_port, zones, workers=WORKERS, alive=None, budget=150.0):
    """Results for every query, in query order. alive() (when given) is
    asked before each query: once a server has died, the remaining queries
    fail at once instead of each waiting out its timeouts; queries not
    started within budget seconds fail as not run."""
    deadline = time.monotonic() + budget

    def one(q):
        if alive is not None and not alive():
            return _not_run(q, "a server died during the run")
        if time.monotonic() > deadline:
            return _not_run(q, "not run: the %.0fs time budget ran out" % budget)
        return _one(q, ref_port, our_port, zones)
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as ex:
        return list(ex.map(one, queries))


def _not_run(query, why):
    none = compare.Norm(None, query)
    d = [("presence", why, why)]
    return Result(query, none, none, d, d, [])


def summary(results, ref_name="knotd", our_name="edgedns", examples=1):
    """Text report: counts, then each failing category with examples, then
    the named allowed differences that were used."""
    bad = [r for r in results if r.failing]
    ok_rules = collections.Counter(n for r in results for n in r.rules)
    cats = collections.OrderedDict()
    for r in bad:
        cats.setdefault(r.category, []).append(r)
    lines = ["conformance: %d queries, %d identical, %d differing only as allowed, "
             "%d failing in %d categories"
             % (len(results), sum(1 for r in results if not r.diffs),
                sum(1 for r in results if r.diffs and not r.failing), len(bad), len(cats))]
    for cat, rs in sorted(cats.items(), key=lambda kv: -len(kv[1])):
        lines.append("")
        tags = collections.Counter(r.query.tag for r in rs)
        lines.append("=== %s: %d queries (%s)" % (cat, len(rs), ", ".join(
            "%s %d" % kv for kv in tags.most_common())))
        for r in rs[:examples]:
            lines.append("query: %s" % r.query.describe())
            if TRUNCATED_REF in r.rules:
                lines.append("  (knotd truncated over UDP; compared with its TCP answer)")
            for aspect, detail, _ in r.failing:
                lines.append("  %s: %s" % (aspect, detail))
            for aspect, detail, _ in r.diffs:
                if (aspect, detail, _) not in r.failing:
                    lines.append("  %s: %s  (allowed: %s)" % (aspect, detail, ", ".join(r.rules)))
            lines.append("--- %s:" % ref_name)
            lines.append(_indent(r.ref.text()))
            lines.append("--- %s:" % our_name)
            lines.append(_indent(r.our.text()))
        more = sorted({r.query.qname.lower() + "/" + _t(r.query.qtype) for r in rs[examples:]})
        if more:
            lines.append("  also: " + ", ".join(more[:12]) + (" ..." if len(more) > 12 else ""))
    if ok_rules:
        lines.append("")
        lines.append("allowed differences used (lib/allowed.py):")
        reasons = {r.name: r.reason for r in allowed.ALLOWED + allowed.TRUNCATION_RULES}
        for name, n in ok_rules.most_common():
            lines.append("  %s: %d responses (%s)" % (name, n, reasons.get(name, "?")))
    return "\n".join(lines)


def _t(t):
    import dns.rdatatype
    return dns.rdatatype.to_text(t)


def _indent(text):
    return "\n".join("    " + ln for ln in text.splitlines())
