"""queries.py: deterministic (seeded) query generation from the served zones.

Every query carries a tag naming the rule it exercises (exact, nodata,
nxdomain, ent, wildcard, cname, dname, referral, ds, apex, any, rrsig,
nsec3-owner, out-of-zone, big, chaos), so differences can be summarised per
rule. Names and types come from the zone files themselves, never from either
server's answers.
"""

import random

import dns.flags
import dns.message
import dns.name
import dns.rdataclass
import dns.rdatatype

T = dns.rdatatype

# Types asked where absent: common, DNSSEC, meta and unknown ones.
ABSENT_POOL = [T.A, T.AAAA, T.MX, T.TXT, T.NS, T.SOA, T.CNAME, T.DS, T.RRSIG,
               T.NSEC, T.NSEC3, T.NSEC3PARAM, T.DNSKEY, T.HINFO, T.CAA, T.SRV,
               T.PTR, T.DNAME, T.ANY, T.CDS, T.SVCB, T.HTTPS, T.NULL, 65280, 999]

APEX_TYPES = [T.SOA, T.NS, T.DNSKEY, T.NSEC3PARAM, T.DS, T.ANY, T.RRSIG, T.MX,
              T.TXT, T.CAA, T.A, T.AAAA, T.CDS, T.CDNSKEY, T.NSEC, T.NSEC3]

# (transport, EDNS payload or None, DO)
VARIANTS = [
    ("udp", None, False),
    ("udp", 1232, False),
    ("udp", 1232, True),
    ("udp", 4096, True),
    ("udp", 512, True),
    ("udp", 4096, False),
    ("tcp", None, False),
    ("tcp", 1232, True),
    ("tcp", 4096, False),
]

# Owner labels (relative to a rich.zone.in origin) whose answers are large or
# otherwise sensitive to the size limit: asked in every variant.
BIG_OWNERS = {"txt40", "txt12", "many", "bigdeleg", "hugedeleg", "@", "caa"}


class Query:
    __slots__ = ("qid", "qname", "qtype", "qclass", "transport", "payload", "do",
                 "rd", "cd", "tag", "zone")

    def __init__(self, qid, qname, qtype, qclass, transport, payload, do, rd, cd, tag, zone):
        self.qid = qid
        self.qname = qname
        self.qtype = qtype
        self.qclass = qclass
        self.transport = transport
        self.payload = payload
        self.do = do
        self.rd = rd
        self.cd = cd
        self.tag = tag
        self.zone = zone

    def wire(self):
        edns = self.payload is not None
        m = dns.message.make_query(dns.name.from_text(self.qname), self.qtype, self.qclass,
                                   use_edns=0 if edns else False,
                                   payload=self.payload or 1232,
                                   want_dnssec=self.do, id=self.qid)
        m.flags = 0
        if self.rd:
            m.flags |= dns.flags.RD
        if self.cd:
            m.flags |= dns.flags.CD
        return m.to_wire()

    def describe(self):
        edns = "noedns" if self.payload is None else "edns%d%s" % (self.payload,
                                                                  "+do" if self.do else "")
        flags = ("+rd" if self.rd else "") + ("+cd" if self.cd else "")
        return "%s %s %s %s %s%s [%s, zone %s]" % (
            self.qname, dns.rdataclass.to_text(self.qclass), dns.rdatatype.to_text(self.qtype),
            self.transport, edns, flags, self.tag, self.zone)


def _mix_case(rng, text):
    return "".join(c.upper() if c.isalpha() and rng.random() < 0.5 else c.lower()
                   if c.isalpha() else c for c in text)


class Gen:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.out = []
        self.next_id = 1

    def add(self, qname, qtype, tag, zone, variants=None, qclass=dns.rdataclass.IN):
        """Queue qname/qtype in one random variant, or in each given one."""
        if variants is None:
            variants = [self.rng.choice(VARIANTS)]
        for (transport, payload, do) in variants:
            name = qname if self.rng.random() < 0.5 else _mix_case(self.rng, qname)
            rd = self.rng.random() < 0.3
            cd = self.rng.random() < 0.1
            self.out.append(Query(self.next_id & 0xffff, name, qtype, qclass, transport,
                                  payload, do, rd, cd, tag, zone))
            self.next_id += 1


def _rlabel(rng, n=6):
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(n))


def _zone_facts(zone):
    """Owners with their types, empty non-terminals, delegation points,
    NSEC3 owners, wildcard owners, DNAME owners."""
    z = zone.parsed()
    apex = zone.name
    owners = {}
    for name, node in z.nodes.items():
        types = set()
        for rds in node.rdatasets:
            types.add(rds.rdtype)
        owners[name] = types
    ents = set()
    for name in owners:
        p = name.parent() if name != apex else None
        while p is not None and p != apex and p.is_subdomain(apex):
            if p not in owners:
                ents.add(p)
            p = p.parent()
    cuts = {n for n, t in owners.items() if n != apex and T.NS in t}
    nsec3 = {n for n, t in owners.items() if T.NSEC3 in t}
    wild = {n for n in owners if n.is_wild()}
    dnames = {n for n, t in owners.items() if T.DNAME in t}
    return owners, ents, cuts, nsec3, wild, dnames


def _tag_for(name, types, apex, cuts, nsec3, wild, dnames):
    if name == apex:
        return "apex"
    if any(name.is_subdomain(c) and name != c for c in cuts):
        return "below-cut"
    if name in cuts:
        return "referral"
    if name in nsec3:
        return "nsec3-owner"
    if name in wild:
        return "wildcard-owner"
    if T.CNAME in types:
        return "cname"
    if T.DNAME in types:
        return "dname"
    return "exact"


def generate(zones, seed=4592):
    """The full query list for zones (a list of zones.Zone), deterministic
    for a given seed."""
    g = Gen(seed)
    rng = g.rng
    for zone in zones:
        zn = zone.origin
        apex = zone.name
        owners, ents, cuts, nsec3, wild, dnames = _zone_facts(zone)

        def rel(n):
            return n.relativize(apex).to_text() if n != apex else "@"

        # apex
        for t in APEX_TYPES:
            g.add(zn, t, "apex", zn, VARIANTS if t in (T.DNSKEY, T.ANY, T.SOA, T.NS) else None)
        for name in sorted(owners):
            types = owners[name]
            text = name.to_text()
            tag = _tag_for(name, types, apex, cuts, nsec3, wild, dnames)
            big = rel(name) in BIG_OWNERS or rel(name).startswith("a-rather-long")
            if tag == "nsec3-owner":
                # hashed owners: they exist only in the NSEC3 tree
                g.add(text, rng.choice([T.NSEC3, T.A, T.RRSIG, T.ANY, T.TXT]), tag, zn)
                continue
            present = sorted(t for t in types if t not in (T.RRSIG, T.NSEC, T.NSEC3)) or \
                sorted(types)
            for t in present:
                g.add(text, t, tag, zn, VARIANTS if big else None)
            absent = [t for t in ABSENT_POOL if t not in types]
            for t in rng.sample(absent, 4):
                g.add(text, t, tag if tag != "exact" else "nodata", zn)
            g.add(text, T.ANY, "any" if tag in ("exact", "cname") else tag, zn)
            g.add(text, T.RRSIG, "rrsig" if tag == "exact" else tag, zn)
            if name != apex and tag not in ("nsec3-owner",):
                g.add(text, T.DS, "ds" if name not in cuts else "ds-at-cut", zn,
                      VARIANTS if name in cuts else None)
            # a name below each owner: NXDOMAIN, a wildcard match, or a referral
            below = "%s.%s" % (_rlabel(rng), text)
            g.add(below, rng.choice([T.A, T.TXT, T.MX, T.AAAA]),
                  "below-" + tag if tag != "exact" else "nxdomain-below", zn)
        for name in sorted(ents):
            g.add(name.to_text(), rng.choice([T.A, T.TXT, T.NS]), "ent", zn)
            g.add(name.to_text(), T.DS, "ent", zn)
            g.add("%s.%s" % (_rlabel(rng), name.to_text()), T.A, "below-ent", zn)
        # nonexistent names at several depths
        for depth in range(1, 5):
            for _ in range(4):
                labels = ".".join(_rlabel(rng, rng.randint(1, 12)) for _ in range(depth))
                g.add("%s.%s" % (labels, zn), rng.choice([T.A, T.AAAA, T.MX, T.TXT, T.DS, T.ANY]),
                      "nxdomain", zn)
        if zone.origin.endswith(".test.") and "parent" not in zone.origin:
            _rich_specials(g, zn)
        else:
            _parent_child_specials(g, zn)
    _out_of_zone(g)
    return g.out


def _rich_specials(g, zn):
    """Queries that only mean something for rich.zone.in."""
    rng = g.rng
    w = "w." + zn
    target = 3 * 64 + len(dns.name.from_text(zn).to_wire())
    edge = 255 - target - 1  # label length giving a 255-octet synthesised name
    for q, t, tag in [
        # RFC 4592 2.2.1 examples
        ("host3." + w, T.MX, "wildcard"), ("host3." + w, T.A, "wildcard-nodata"),
        ("foo.bar." + w, T.TXT, "wildcard"), ("host1." + w, T.MX, "nodata"),
        ("sub.*." + w, T.MX, "nodata"), ("_telnet._tcp.host1." + w, T.SRV, "nxdomain"),
        ("host.subdel." + w, T.A, "referral"), ("ghost.*." + w, T.MX, "nxdomain"),
        ("_tcp.host2." + w, T.SRV, "ent"), ("host2." + w, T.A, "ent"),
        ("*." + w, T.MX, "wildcard-owner"), ("*." + w, T.A, "wildcard-owner"),
        ("a.b.c.d." + w, T.TXT, "wildcard"), ("a.b.c.d." + w, T.ANY, "wildcard"),
        ("x." + w, T.RRSIG, "wildcard"), ("x." + w, T.DS, "wildcard"),
        ("x." + w, T.NSEC, "wildcard"), ("x." + w, T.CNAME, "wildcard-nodata"),
        # wildcard below an empty non-terminal
        ("x.y.ent2." + zn, T.A, "wildcard"), ("x.y.ent2." + zn, T.AAAA, "wildcard"),
        ("x.y.ent2." + zn, T.MX, "wildcard-nodata"), ("a.b.y.ent2." + zn, T.A, "wildcard"),
        ("y.ent2." + zn, T.A, "ent"), ("ent2." + zn, T.A, "ent"), ("z.ent2." + zn, T.A, "nxdomain"),
        # wildcard CNAME, wildcard with children
        ("abc.wcname." + zn, T.A, "wildcard-cname"), ("a.b.wcname." + zn, T.AAAA, "wildcard-cname"),
        ("abc.wcname." + zn, T.CNAME, "wildcard-cname"), ("abc.wcname." + zn, T.TXT, "wildcard-cname"),
        ("foo.wkids." + zn, T.A, "wildcard"), ("x.kid.*.wkids." + zn, T.A, "nxdomain"),
        ("x.real.wkids." + zn, T.A, "nxdomain"), ("kid.*.wkids." + zn, T.A, "exact"),
        ("kid.foo.wkids." + zn, T.A, "wildcard"),
        # CNAME chains
        ("towild." + zn, T.TXT, "cname-wildcard"), ("towild." + zn, T.MX, "cname-wildcard"),
        ("towild2." + zn, T.A, "cname-wildcard"), ("tonx." + zn, T.A, "cname-nxdomain"),
        ("tonodata." + zn, T.A, "cname-nxdomain"), ("toent." + zn, T.A, "cname-ent"),
        ("todname." + zn, T.TXT, "cname-dname"), ("todelegation." + zn, T.A, "cname-referral"),
        ("tootherzone." + zn, T.A, "cname-otherzone"), ("long1." + zn, T.A, "cname-long"),
        ("long5." + zn, T.A, "cname-long"), ("long7." + zn, T.A, "cname-long"),
        ("loop-a." + zn, T.A, "cname-loop"), ("self." + zn, T.A, "cname-loop"),
        ("UPPER." + zn, T.A, "cname"), ("leave." + zn, T.A, "cname-leave"),
        ("mxcname." + zn, T.MX, "additional"), ("mxnoaddr." + zn, T.MX, "additional"),
        ("mixed.case." + zn, T.MX, "additional"), ("_sip._udp." + zn, T.SRV, "additional"),
        ("_ldap._tcp." + zn, T.SRV, "additional"),
        # DNAME
        ("x.dname." + zn, T.A, "dname"), ("a.b.dname." + zn, T.TXT, "dname"),
        ("www.dname2." + zn, T.A, "dname"), ("x.dname2." + zn, T.TXT, "dname"),
        ("nx.dname2." + zn, T.A, "dname-nxdomain"), ("x.dname2." + zn, T.A, "dname-nodata"),
        ("www.dnameself." + zn, T.A, "dname"), ("x.dnameself." + zn, T.A, "dname-nxdomain"),
        ("www.dnameself.dnameself." + zn, T.A, "dname"),
        ("a.big." + zn, T.TXT, "dname"), ("nx.big." + zn, T.TXT, "dname-nxdomain"),
        # big DNAMEs to three 63-octet labels under the apex: a synthesised
        # name of exactly 255 octets, and one octet more (YXDOMAIN)
        ("x" * edge + ".big." + zn, T.TXT, "dname-edge"),
        ("x" * (edge + 1) + ".big." + zn, T.TXT, "dname-yxdomain"),
        ("x" * (edge - 2) + ".y.big." + zn, T.A, "dname-edge"),
        ("x" * (edge - 1) + ".y.big." + zn, T.A, "dname-yxdomain"),
        ("x" * 63 + ".big." + zn, T.TXT, "dname-yxdomain"),
        ("dname." + zn, T.DNAME, "dname"), ("dname." + zn, T.A, "dname"),
        ("dname." + zn, T.CNAME, "dname"), ("x.dname." + zn, T.DNAME, "dname"),
        ("x.dname." + zn, T.CNAME, "dname"), ("x.dname." + zn, T.DS, "dname"),
        # delegations
        ("deleg." + zn, T.NS, "referral"), ("deleg." + zn, T.DS, "ds-at-cut"),
        ("ns1.deleg." + zn, T.A, "referral-glue"), ("ns1.deleg." + zn, T.AAAA, "referral-glue"),
        ("x.y.deleg." + zn, T.A, "referral"), ("deleg." + zn, T.SOA, "referral"),
        ("deleg." + zn, T.ANY, "referral"), ("deleg." + zn, T.DNSKEY, "referral"),
        ("secdeleg." + zn, T.DS, "ds-at-cut"), ("secdeleg." + zn, T.A, "referral"),
        ("x.secdeleg." + zn, T.DS, "referral"), ("outdeleg." + zn, T.A, "referral"),
        ("sibdeleg." + zn, T.A, "referral"), ("x.sibdeleg." + zn, T.A, "referral"),
        ("www.bigdeleg." + zn, T.A, "referral-big"), ("www.hugedeleg." + zn, T.A, "referral-big"),
        ("www.DeLeG." + zn, T.MX, "referral"),
        # NSEC3 and DNSSEC meta types at odd places
        ("www." + zn, T.NSEC3, "nodata"), ("www." + zn, T.NSEC, "nodata"),
        ("www." + zn, T.DNSKEY, "nodata"), ("www." + zn, T.NSEC3PARAM, "nodata"),
        ("unk." + zn, 65280, "exact"), ("unk." + zn, T.ANY, "any"),
        ("host." + zn, T.ANY, "any"), ("host." + zn, T.HINFO, "exact"),
    ]:
        variants = VARIANTS if tag.startswith(("referral-big", "dname-yx", "wildcard")) else \
            [rng.choice(VARIANTS), rng.choice(VARIANTS)]
        g.add(q, t, tag, zn, variants)


def _parent_child_specials(g, zn):
    if zn == "parent.test.":
        qs = [("child.parent.test.", T.DS, "ds-child-apex"), ("child.parent.test.", T.NS, "child-apex"),
              ("child.parent.test.", T.SOA, "child-apex"), ("child.parent.test.", T.A, "child-apex"),
              ("child.parent.test.", T.DNSKEY, "child-apex"), ("child.parent.test.", T.ANY, "child-apex"),
              ("ns.child.parent.test.", T.A, "child-wins"), ("ns.child.parent.test.", T.AAAA, "child-wins"),
              ("www.child.parent.test.", T.A, "child-wins"), ("nx.child.parent.test.", T.A, "child-wins"),
              ("x.any.child.parent.test.", T.A, "child-wins"), ("alias.child.parent.test.", T.A, "child-wins"),
              ("uplink.child.parent.test.", T.A, "child-wins"),
              ("x.grand.child.parent.test.", T.A, "referral"), ("grand.child.parent.test.", T.DS, "ds-at-cut"),
              ("insecure.parent.test.", T.DS, "ds-at-cut"), ("x.insecure.parent.test.", T.A, "referral"),
              ("x.wild.parent.test.", T.TXT, "wildcard"), ("x.wild.parent.test.", T.A, "wildcard-nodata"),
              ("parent.test.", T.DS, "apex")]
        for q, t, tag in qs:
            g.add(q, t, tag, zn, VARIANTS)


def _out_of_zone(g):
    for q in [".", "test.", "other.test.", "www.other.test.", "xrich.test.", "ich.test.",
              "arent.test.", "example.", "rich.test.invalid.", "www.rich.test.example.",
              "com.", "localhost.", "1.0.0.127.in-addr.arpa."]:
        for t in (T.A, T.SOA, T.NS, T.DS, T.ANY):
            g.add(q, t, "out-of-zone", "-")
    # CHAOS: identity answers are off in both servers' configuration.
    for q in ("id.server.", "hostname.bind.", "version.bind.", "version.server."):
        g.add(q, T.TXT, "chaos", "-", qclass=dns.rdataclass.CH)
    # other classes for an in-zone name
    for c in (dns.rdataclass.CH, dns.rdataclass.HS, dns.rdataclass.ANY, 42):
        g.add("www.rich.test.", T.A, "class", "-", qclass=c)
