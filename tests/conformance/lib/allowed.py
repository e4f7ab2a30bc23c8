"""allowed.py: the named differences from knotd that the test accepts.

Each rule is narrow: it names the behaviour, gives the reason, and checks
that our answer is a correct one under that reason (not merely "different").
A difference that no rule accepts fails the test.
"""

import dns.rdatatype

T = dns.rdatatype


class Rule:
    def __init__(self, name, reason, check):
        self.name = name
        self.reason = reason
        self.check = check  # (query, ref Norm, our Norm, diffs, zones) -> bool

    def __repr__(self):
        return "<Rule %s>" % self.name


def _zone_rrset(zones, owner, rdtype):
    """(ttl, frozenset of rdata wire) of owner/rdtype in the zone files, or
    None."""
    for z in zones:
        name = z.name
        import dns.name as _n
        o = _n.from_text(owner)
        if not o.is_subdomain(name):
            continue
        node = z.parsed().get_node(o)
        if node is None:
            continue
        rds = node.get_rdataset(1, rdtype)
        if rds is not None:
            return rds.ttl, frozenset(rd.to_digestable() for rd in rds)
    return None


def _any_one_rrset(query, ref, our, diffs, zones):
    """RFC 8482 4.1: an ANY query may be answered with any one RRset of the
    name (4.2: or a synthesised HINFO). knotd returns the first RRset in its
    own storage order; we may return another. Accepted when only the answer
    section differs, both answers hold exactly one RRset type at the qname
    (plus the RRSIG covering it), and ours is that name's real RRset from
    the zone file (with its RRSIG when DO was set and the zone is signed)."""
    if query.qtype != T.ANY or any(d[0] != "answer" for d in diffs):
        return False
    if ref.rcode != 0 or our.rcode != 0:
        return False
    qn = query.qname.lower()

    def single(n):
        keys = list(n.sections["answer"])
        data = [k for k in keys if k[2] != T.RRSIG]
        sigs = [k for k in keys if k[2] == T.RRSIG]
        if len(data) != 1 or data[0][0] != qn:
            return None
        if any(s[3] != data[0][2] or s[0] != qn for s in sigs):
            return None
        return data[0], sigs
    r, o = single(ref), single(our)
    if r is None or o is None:
        return False
    okey, osigs = o
    if okey[2] in (T.CNAME, T.DNAME) or r[0][2] in (T.CNAME, T.DNAME):
        return False
    zr = _zone_rrset(zones, qn, okey[2])
    if zr is None or our.sections["answer"][okey][:2] != zr:
        return False
    # a signed answer on one side needs one on the other
    return bool(osigs) == bool(r[1])


ALLOWED = [
    Rule("any-picks-another-rrset",
         "RFC 8482 4.1 lets the server choose which single RRset answers ANY; "
         "knotd takes the first in its node, which is an implementation order",
         _any_one_rrset),
]


def allowed_by(query, ref, our, diffs, zones):
    """The first rule that accepts this difference, or None."""
    for rule in ALLOWED:
        if rule.check(query, ref, our, diffs, zones):
            return rule
    return None
