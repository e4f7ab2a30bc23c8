"""allowed.py: the named differences from knotd that the test accepts.

Each rule names one knotd behaviour, gives the reason ours differs, and
accepts only the aspects (rcode, a flag, a section) that behaviour explains,
and only after checking that our answer is itself correct under that reason
(against the zone file, not merely "different"). Any other difference in the
same response still fails.
"""

import dns.name
import dns.rdatatype

T = dns.rdatatype
DNSSEC_TYPES = (T.RRSIG, T.NSEC, T.NSEC3)


class Rule:
    def __init__(self, name, reason, check):
        self.name = name
        self.reason = reason
        # (query, ref Norm, our Norm, diffs, zones) -> set of accepted aspects
        self.check = check

    def __repr__(self):
        return "<Rule %s>" % self.name


# ---- zone file look-ups ---------------------------------------------------

def _zone_of(zones, owner):
    o = dns.name.from_text(owner)
    best = None
    for z in zones:
        if o.is_subdomain(z.name) and (best is None or len(z.name) > len(best.name)):
            best = z
    return best, o


def _node(zones, owner):
    z, o = _zone_of(zones, owner)
    if z is None:
        return None, None
    return z, z.parsed().get_node(o)


def _zone_rrset(zones, owner, rdtype, covers=0):
    """(ttl, canonical rdata set, exact rdata set) of owner/rdtype in the
    zone files, or None."""
    z, node = _node(zones, owner)
    if node is None:
        return None
    rds = node.get_rdataset(1, rdtype, covers)
    if rds is None:
        return None
    return (rds.ttl, frozenset(rd.to_digestable() for rd in rds),
            frozenset(rd.to_wire() for rd in rds))


def _cname_at(zones, owner):
    """The CNAME RRset (as _zone_rrset) that applies at owner: its own, or
    that of the wildcard at its closest encloser (RFC 4592)."""
    own = _zone_rrset(zones, owner, T.CNAME)
    if own is not None:
        return own
    z, o = _zone_of(zones, owner)
    if z is None or z.parsed().get_node(o) is not None:
        return None
    names = set(z.parsed().nodes)
    p = o.parent()
    while p != z.name and not any(n.is_subdomain(p) for n in names):
        p = p.parent()
    return _zone_rrset(zones, dns.name.from_text("*", p).to_text(), T.CNAME)


def _signed(zones, owner):
    z, _ = _zone_of(zones, owner)
    return z is not None and z.signing != "none"


# ---- rules ------------------------------------------------------------------

def _cd_copied(query, ref, our, diffs, zones):
    """RFC 4035 section 3: "a security-aware name server MUST copy the CD bit
    from a query into the corresponding response". knotd 3.2 clears it."""
    if query.cd and "CD" in our.flags and "CD" not in ref.flags:
        return {"flag-CD"}
    return set()


def _any_one_rrset(query, ref, our, diffs, zones):
    """RFC 8482 4.1: ANY may be answered with any one RRset of the name.
    knotd takes the first in its node (which can be the RRSIG set); ours
    must be one real, non-DNSSEC RRset of the name from the zone file, with
    its RRSIG exactly when DO is set and the zone is signed."""
    if query.qtype != T.ANY or ref.rcode != 0 or our.rcode != 0:
        return set()
    qn = query.qname.lower()
    ref_keys = list(ref.sections["answer"])
    if not ref_keys or any(k[0] != qn for k in ref_keys):
        return set()
    ref_types = {k[2] if k[2] != T.RRSIG else ("sig", k[3]) for k in ref_keys}
    ref_data = [t for t in ref_types if not isinstance(t, tuple)]
    if len(ref_data) > 1 or (not ref_data and not ref_keys):
        return set()
    keys = list(our.sections["answer"])
    data = [k for k in keys if k[2] != T.RRSIG]
    sigs = [k for k in keys if k[2] == T.RRSIG]
    if len(data) != 1 or data[0][0] != qn or data[0][2] in DNSSEC_TYPES + (T.CNAME, T.DNAME):
        return set()
    zr = _zone_rrset(zones, qn, data[0][2])
    if zr is None or our.sections["answer"][data[0]][:2] != zr[:2]:
        return set()
    want_sig = query.do and _signed(zones, qn)
    if want_sig:
        zs = _zone_rrset(zones, qn, T.RRSIG, data[0][2])
        if len(sigs) != 1 or sigs[0][3] != data[0][2] or zs is None or \
                our.sections["answer"][sigs[0]][1] != zs[1]:
            return set()
    elif sigs:
        return set()
    return {"answer"}


def _cname_not_followed(query, ref, our, diffs, zones):
    """knotd does not follow a CNAME when the qtype is NSEC or RRSIG
    (name_found() in knot/nameserver/internet.c) and answers from the CNAME
    node itself: NODATA when the node has no such RRset. RFC 1034 4.3.2 step
    3.a follows the CNAME for every qtype but CNAME; ours does. Accepted when
    the node (or the wildcard that matches) has a CNAME and no RRset of the
    qtype, knotd answered NOERROR with an empty answer, and our answer
    starts with that CNAME from the zone file (over UDP our longer answer
    may then be truncated where knotd's NODATA was not)."""
    if query.qtype not in (T.NSEC, T.RRSIG) or ref.rcode != 0 or ref.sections["answer"]:
        return set()
    qn = query.qname.lower()
    cn = _cname_at(zones, qn)
    if cn is None:
        return set()
    if query.qtype == T.NSEC and _zone_rrset(zones, qn, T.NSEC) is not None:
        return set()
    if query.qtype == T.RRSIG and _signed(zones, qn):
        return set()
    mine = our.sections["answer"].get((qn, 1, T.CNAME, 0))
    if mine is None or mine[:2] != cn[:2]:
        return set()
    out = {"rcode", "answer", "authority", "additional", "answer-count",
           "authority-count", "additional-count"}
    if query.transport == "udp" and our.tc and not ref.tc:
        out.add("flag-TC")  # the followed chain and its proofs need more room
    return out


def _rdata_case_from_zone(query, ref, our, diffs, zones):
    """knotd keeps domain names inside rdata in lowercase (it canonicalises
    them when it loads the zone); we send them with the zone file's case
    (RFC 4343 4.1: preserve case where possible). Accepted when the rdata
    are equal ignoring case and ours is byte for byte the zone file's."""
    out = set()
    for sec in ("answer", "authority", "additional"):
        if (sec + "-rdata-case") not in {d[0] for d in diffs}:
            continue
        a, b = ref.sections[sec], our.sections[sec]
        ok = True
        for k in set(a) & set(b):
            if a[k][2] == b[k][2]:
                continue
            zr = _zone_rrset(zones, k[0], k[2], k[3])
            if zr is None or zr[2] != b[k][2]:
                ok = False
        if ok:
            out.add(sec + "-rdata-case")
    return out


def _yxdomain_authority(query, ref, our, diffs, zones):
    """RFC 6672 2.2 asks for YXDOMAIN and the DNAME when the synthesised name
    would exceed 255 octets, and defines no denial proof for it. knotd adds
    the SOA and a proof built like an NXDOMAIN proof, which in an NSEC3
    opt-out zone picks other NSEC3 records than ours. Accepted when both
    answer YXDOMAIN with equal answers and equal SOA, and the authority
    sections differ only in NSEC/NSEC3 RRsets (and their RRSIGs) that are
    the zone file's own."""
    if ref.rcode != 6 or our.rcode != 6:
        return set()
    if ref.sections["answer"] != our.sections["answer"]:
        return set()
    a, b = ref.sections["authority"], our.sections["authority"]
    proof = (T.NSEC, T.NSEC3)
    for k in set(a) ^ set(b):
        if not (k[2] in proof or (k[2] == T.RRSIG and k[3] in proof)):
            return set()
    for k in set(a) & set(b):
        if a[k] != b[k]:
            return set()
    for k in set(b) - set(a):
        zr = _zone_rrset(zones, k[0], k[2], k[3])
        if zr is None or zr[:2] != b[k][:2]:
            return set()
    return {"authority", "authority-count"}


def _knot_nxdomain_no_soa(query, ref, our, diffs, zones):
    """RFC 2308 3: a negative answer SHOULD carry the zone's SOA in the
    authority section. knotd 3.2 leaves it out of the NXDOMAIN it gives
    when a DNAME in an NSEC3 opt-out zone leads to a name that does not
    exist and DO is clear. Accepted when both answer NXDOMAIN with equal
    answers, knotd's authority is empty, DO is clear, and ours is exactly
    the zone's SOA with the negative TTL (min of its TTL and MINIMUM)."""
    if ref.rcode != 3 or our.rcode != 3 or query.do or ref.sections["authority"]:
        return set()
    if ref.sections["answer"] != our.sections["answer"]:
        return set()
    z, _ = _zone_of(zones, query.qname.lower())
    if z is None or z.signing != "nsec3-optout":
        return set()
    b = our.sections["authority"]
    soa = _zone_rrset(zones, z.origin, T.SOA)
    key = (z.origin.lower(), 1, T.SOA, 0)
    if soa is None or list(b) != [key]:
        return set()
    minimum = z.parsed().get_rdataset(z.name, T.SOA)[0].minimum
    if b[key] != (min(soa[0], minimum), soa[1], b[key][2]) or b[key][1] != soa[1]:
        return set()
    return {"authority", "authority-count"}


ALLOWED = [
    Rule("cd-bit-copied",
         "RFC 4035 section 3: a security-aware name server MUST copy CD from the "
         "query into the response; knotd 3.2 clears it", _cd_copied),
    Rule("any-picks-another-rrset",
         "RFC 8482 4.1 lets the server choose which single RRset answers ANY; "
         "knotd takes the first in its node, an implementation order", _any_one_rrset),
    Rule("cname-not-followed-for-nsec-rrsig-qtype",
         "knotd's name_found() does not follow a CNAME for qtype NSEC or RRSIG; "
         "RFC 1034 4.3.2 follows it for every qtype but CNAME", _cname_not_followed),
    Rule("rdata-name-case",
         "knotd lowercases domain names in rdata when loading a zone; we keep the "
         "zone file's case (RFC 4343 4.1)", _rdata_case_from_zone),
    Rule("yxdomain-denial-proof",
         "RFC 6672 2.2 defines no denial proof for YXDOMAIN; knotd builds one like "
         "an NXDOMAIN proof and picks other NSEC3 records in an opt-out zone", _yxdomain_authority),
    Rule("knot-nxdomain-without-soa",
         "knotd 3.2 omits the SOA from an NXDOMAIN reached through a DNAME in an NSEC3 "
         "opt-out zone without DO; RFC 2308 3 says a negative answer carries it",
         _knot_nxdomain_no_soa),
]


# Two rules about truncated UDP answers need a second look at knotd (its
# answer over TCP), so runner.py applies them; they are named here with the
# others.
TRUNCATED_REF = Rule(
    "reference-truncated-ours-fits",
    "knotd set TC over UDP where our answer fits the limit (we compress more, e.g. "
    "a synthesised CNAME's target against the DNAME); ours is then compared in full "
    "with knotd's answer over TCP, only TC may differ", None)
TRUNCATED_RCODE = Rule(
    "truncated-rcode-as-over-tcp",
    "both set TC over UDP but the rcodes differ: knotd's says how far it got before "
    "running out of room; ours must equal the rcode of knotd's answer over TCP", None)
TRUNCATION_RULES = [TRUNCATED_REF, TRUNCATED_RCODE]


def accepted(query, ref, our, diffs, zones):
    """(remaining diffs, names of the rules used)."""
    aspects = {d[0] for d in diffs}
    used = []
    covered = set()
    for rule in ALLOWED:
        got = rule.check(query, ref, our, diffs, zones) & aspects
        if got - covered:
            used.append(rule.name)
            covered |= got
    return [d for d in diffs if d[0] not in covered], used
