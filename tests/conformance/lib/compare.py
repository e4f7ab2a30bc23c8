"""compare.py: normalise two responses and list their differences.

What is compared (for every query):
  - whether there is an answer at all, and whether it parses;
  - the ID and the question echoed byte for byte (the qname's case: 0x20);
  - rcode (with the extended bits from OPT), opcode, and the flags
    QR AA TC RD RA AD CD;
  - EDNS: OPT present, its version, the DO bit;
  - answer, authority and additional, each as a set of RRsets (owner in
    lowercase, class, type, covered type for RRSIG, TTL, the set of rdata in
    uncompressed wire form with its case kept), the OPT left out;
  - the raw record counts, so a duplicated record is seen too.
When both sides set TC over UDP, only rcode and TC are compared (what a
server puts in a truncated UDP answer is its own choice).

A difference is allowed only by a named rule in ALLOWED (see allowed.py),
each with its reason.
"""

import struct

import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype

FLAG_NAMES = [("QR", dns.flags.QR), ("AA", dns.flags.AA), ("TC", dns.flags.TC),
              ("RD", dns.flags.RD), ("RA", dns.flags.RA), ("AD", dns.flags.AD),
              ("CD", dns.flags.CD)]


class Norm:
    """A response reduced to what is compared."""

    def __init__(self, wire, query):
        self.wire = wire
        self.msg = None
        self.error = None
        if wire is None:
            return
        try:
            self.msg = dns.message.from_wire(wire)
        except (dns.exception.DNSException, ValueError, struct.error) as e:
            self.error = "%s: %s" % (type(e).__name__, e)
            return
        m = self.msg
        self.id = m.id
        self.rcode = m.rcode()
        self.opcode = m.opcode()
        self.flags = frozenset(n for n, f in FLAG_NAMES if m.flags & f)
        self.edns = None if m.edns < 0 else (m.edns, bool(m.ednsflags & dns.flags.DO))
        self.question = [(q.name.to_text(), q.rdclass, q.rdtype) for q in m.question]
        self.sections = {
            "answer": _rrsets(m.answer),
            "authority": _rrsets(m.authority),
            "additional": _rrsets(m.additional),
        }
        an, ns, ar = struct.unpack("!HHH", wire[6:12])
        self.counts = {"answer": an, "authority": ns,
                       "additional": ar - (1 if m.opt is not None else 0) - (1 if m.tsig else 0)}

    @property
    def tc(self):
        return self.msg is not None and "TC" in self.flags

    def text(self):
        if self.wire is None:
            return "(no answer)"
        if self.msg is None:
            return "(unparseable: %s) %s" % (self.error, self.wire[:64].hex())
        return self.msg.to_text()


def _rrsets(section):
    """{key: (ttl, canonical rdata set, exact rdata set)}.

    Canonical: domain names inside the rdata in lowercase (RFC 4034 6.2 for
    the types it lists; names compare case-insensitively, RFC 4343). Named
    rule "rdata-name-case-from-compression": knotd compresses rdata names
    against the question name, so with a 0x20 query the NS/CNAME/MX/...
    targets it sends carry the query's case, not the zone's. The exact form
    is compared only for queries whose name is all lowercase (diff())."""
    out = {}
    for rrset in section:
        key = (rrset.name.to_text().lower(), rrset.rdclass, rrset.rdtype, rrset.covers)
        canon = frozenset(rd.to_digestable() for rd in rrset)
        exact = frozenset(rd.to_wire() for rd in rrset)
        # the same RRset twice in one section merges into one in dnspython;
        # the record counts catch that.
        out[key] = (rrset.ttl, canon, exact)
    return out


def key_text(key):
    name, rdclass, rdtype, covers = key
    t = dns.rdatatype.to_text(rdtype)
    if rdtype == dns.rdatatype.RRSIG:
        t += "(" + dns.rdatatype.to_text(covers) + ")"
    return "%s %s %s" % (name, dns.rdataclass.to_text(rdclass), t)


def diff(query, ref, our):
    """List of (aspect, detail, signature) where our differs from ref (the reference,
    knotd). Empty list: identical for the compared aspects."""
    d = []
    if ref.wire is None or our.wire is None:
        if (ref.wire is None) != (our.wire is None):
            d.append(("presence", "reference %s, ours %s" % (
                "no answer" if ref.wire is None else "answered",
                "no answer" if our.wire is None else "answered")))
        return [(a, t, t) for a, t in d]
    if ref.msg is None or our.msg is None:
        if (ref.msg is None) != (our.msg is None):
            d.append(("parse", "reference: %s; ours: %s" % (ref.error or "ok", our.error or "ok")))
        return [(a, t, t) for a, t in d]
    qwire_id = query.qid
    if our.id != qwire_id:
        d.append(("id", "ours %d, query %d" % (our.id, qwire_id)))
    if ref.question != our.question:
        d.append(("question", "reference %s, ours %s" % (ref.question, our.question)))
    if ref.rcode != our.rcode:
        d.append(("rcode", "reference %s, ours %s" % (dns.rcode.to_text(ref.rcode),
                                                     dns.rcode.to_text(our.rcode))))
    if ref.opcode != our.opcode:
        d.append(("opcode", "reference %d, ours %d" % (ref.opcode, our.opcode)))
    if query.transport == "udp" and ref.tc and our.tc:
        return [(a, t, t) for a, t in d]
    for name, _ in FLAG_NAMES:
        if (name in ref.flags) != (name in our.flags):
            d.append(("flag-" + name, "reference %s, ours %s" % (
                name in ref.flags, name in our.flags)))
    if ref.edns != our.edns:
        d.append(("edns", "reference %s, ours %s (version, DO)" % (ref.edns, our.edns)))
    for sec in ("answer", "authority", "additional"):
        a, b = ref.sections[sec], our.sections[sec]
        missing = sorted(set(a) - set(b))
        extra = sorted(set(b) - set(a))
        changed = sorted(k for k in set(a) & set(b) if a[k][:2] != b[k][:2])
        parts, sig = [], []
        if missing:
            parts.append("missing " + ", ".join(key_text(k) for k in missing))
            sig.append("missing " + _types(missing))
        if extra:
            parts.append("extra " + ", ".join(key_text(k) for k in extra))
            sig.append("extra " + _types(extra))
        for k in changed:
            if a[k][0] != b[k][0]:
                parts.append("TTL of %s: %d vs %d" % (key_text(k), a[k][0], b[k][0]))
                sig.append("TTL of " + _types([k]))
            if a[k][1] != b[k][1]:
                parts.append("rdata of %s" % key_text(k))
                sig.append("rdata of " + _types([k]))
        if parts:
            d.append((sec, "; ".join(parts), "; ".join(sig)))
            continue
        if query.qname == query.qname.lower():
            cased = sorted(k for k in set(a) & set(b) if a[k][2] != b[k][2])
            if cased:
                d.append((sec + "-rdata-case", "case of names in the rdata of " +
                          ", ".join(key_text(k) for k in cased), _types(cased)))
                continue
        if ref.counts[sec] != our.counts[sec]:
            d.append((sec + "-count", "reference %d, ours %d records" % (
                ref.counts[sec], our.counts[sec])))
    return [x if len(x) == 3 else (x[0], x[1], x[1]) for x in d]


def _types(keys):
    """Type names of RRset keys, for grouping differences by behaviour."""
    out = []
    for _, _, rdtype, covers in keys:
        t = dns.rdatatype.to_text(rdtype)
        if rdtype == dns.rdatatype.RRSIG:
            t += "(" + dns.rdatatype.to_text(covers) + ")"
        if t not in out:
            out.append(t)
    return ",".join(out)
