"""badprimary.py: a misbehaving primary for the transfer tests.

A threaded TCP server on 127.0.0.1 (a free port). The first label of the
queried zone picks the misbehaviour ("midserial.bad." -> midserial); the
apex is the queried name. Signed queries are verified with KEYS[0] (so our
request signing is checked by dnspython) and answers signed with it,
message after message (multi-message TSIG), unless the scenario says
otherwise. Every connection is bounded in time (ENDLESS_SECONDS at most).

SOA queries over UDP go to another port (udp_port), same naming:
"formerr" answers FORMERR (no OPT) to a query with EDNS, "badvers"
BADVERS; "expire" gives an EDNS EXPIRE of EXPIRE_VALUE; any other the SOA.
"""

import socketserver
import struct
import threading
import time

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.edns
import dns.rdatatype
import dns.rrset
import dns.tsig
import dns.tsigkeyring

import primaries

ENDLESS_SECONDS = 15
BASE, NEW = 10, 11   # serials: the client's (IXFR base) and ours
EXPIRE_VALUE = 4321  # the "expire" scenario's EDNS EXPIRE

KEYRING = dns.tsigkeyring.from_text({primaries.KEYS[0][0]: (primaries.KEYS[0][1], primaries.KEYS[0][2])})


def base_zone_text(apex, serial):
    """The zone this primary serves at serial (also the client's IXFR base)."""
    lines = ["$ORIGIN %s" % apex, "$TTL 300",
             "@ SOA ns hostmaster %d 3600 600 86400 300" % serial,
             "@ NS ns", "ns A 192.0.2.1"]
    for i in range(300):
        lines.append("h%d A 192.0.2.%d" % (i, i % 250 + 1))
    if serial == NEW:
        lines.append("new A 192.0.2.100")
    return "\n".join(lines) + "\n"


def rr(apex, text):
    """One rrset from "owner ttl type rdata" with owner relative to apex."""
    owner, ttl, rtype, rdata = text.split(" ", 3)
    name = dns.name.from_text(owner, dns.name.from_text(apex))
    return dns.rrset.from_text(name, int(ttl), "IN", rtype, rdata)


def soa(apex, serial):
    return rr(apex, "@ 300 SOA ns.%s hostmaster.%s %d 3600 600 86400 300" % (apex, apex, serial))


def zone_rrs(apex, serial):
    out = [rr(apex, "@ 300 NS ns.%s" % apex), rr(apex, "ns 300 A 192.0.2.1")]
    out += [rr(apex, "h%d 300 A 192.0.2.%d" % (i, i % 250 + 1)) for i in range(300)]
    if serial == NEW:
        out.append(rr(apex, "new 300 A 192.0.2.100"))
    return out


class Sender:
    """Builds and sends the messages of one answer."""

    def __init__(self, sock, query):
        self.sock = sock
        self.q = query
        self.ctx = None
        self.n = 0

    def send(self, rrsets, sign=True, msg_id=None, qname=None, rcode=0, key=None):
        r = dns.message.make_response(self.q)
        r.flags |= dns.flags.AA
        r.set_rcode(rcode)
        if msg_id is not None:
            r.id = msg_id
        if qname is not None:
            r.question = [dns.rrset.RRset(dns.name.from_text(qname), dns.rdataclass.IN,
                                          self.q.question[0].rdtype)]
        for s in rrsets:
            r.answer.append(s)
        if key is not None:             # signed with another key
            r.use_tsig(key)
            wire = r.to_wire(multi=True, tsig_ctx=self.ctx)
            self.ctx = r.tsig_ctx
        elif sign and self.q.had_tsig:
            wire = r.to_wire(multi=True, tsig_ctx=self.ctx)
            self.ctx = r.tsig_ctx
        else:
            r.tsig = None
            r.keyring = None
            wire = r.to_wire()
        self.sock.sendall(struct.pack("!H", len(wire)) + wire)
        self.n += 1


def chunks(seq, n):
    return [seq[i:i + n] for i in range(0, len(seq), n)]


def answer(sock, q):
    apex = q.question[0].name.to_text()
    qtype = q.question[0].rdtype
    what = apex.split(".")[0]
    s = Sender(sock, q)
    body = zone_rrs(apex, NEW)
    parts = chunks(body, 100)           # several messages
    if what == "refused":
        s.send([], rcode=dns.rcode.REFUSED)
        return
    if what == "notimp" and qtype == dns.rdatatype.IXFR:
        s.send([], rcode=dns.rcode.NOTIMP)
        return
    if what == "ixfrdel" and qtype == dns.rdatatype.IXFR:
        s.send([soa(apex, NEW), soa(apex, BASE), rr(apex, "nothere 300 A 192.0.2.99"),
                soa(apex, NEW), rr(apex, "new 300 A 192.0.2.100"), soa(apex, NEW)])
        return
    if what == "endless":
        s.send([soa(apex, NEW)] + parts[0])
        deadline = time.monotonic() + ENDLESS_SECONDS
        i = 0
        while time.monotonic() < deadline:
            s.send(parts[i % len(parts)])
            i += 1
        return
    first = [soa(apex, NEW)] + parts[0]
    middle = parts[1:]
    last = [soa(apex, NEW)]
    if what == "midserial":
        middle[0] = middle[0] + [soa(apex, NEW + 1)]
    elif what == "above":
        middle[-1] = middle[-1] + [rr("other.test.", "www 300 A 192.0.2.7")]
    elif what == "bigrr":
        big = " ".join('"%s"' % ("x" * 250) for _ in range(12))
        middle[0] = middle[0] + [rr(apex, "big 300 TXT %s" % big)]
    if what in ("unsigned", "wrongkey", "badsig"):
        key = None
        if what == "wrongkey":
            key = dns.tsig.Key("other-key.", primaries.KEYS[0][2], dns.tsig.HMAC_SHA256)
        elif what == "badsig":
            key = dns.tsig.Key(primaries.KEYS[0][0], "c2VjcmV0LW5vdC10aGUtcmlnaHQtb25l",
                               dns.tsig.HMAC_SHA256)
        for p in [first] + middle + [last]:
            s.send(p, sign=what != "unsigned", key=key)
        return
    s.send(first)
    for i, p in enumerate(middle):
        kw = {}
        if what == "idchange" and i == 1:
            kw["msg_id"] = q.id ^ 0x5a5a
        if what == "halfsigned":
            kw["sign"] = False
        s.send(p, **kw)
        if what == "truncated" and i == 0:
            return
    kw = {}
    if what == "qname":
        kw["qname"] = "other." + apex
    s.send(last, **kw)


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        sock = self.request
        sock.settimeout(ENDLESS_SECONDS)
        try:
            hdr = self._read(2)
            wire = self._read(struct.unpack("!H", hdr)[0])
            q = dns.message.from_wire(wire, keyring=KEYRING)
            self.server.seen.append((q.question[0].name.to_text(), q.had_tsig))
            answer(sock, q)
        except (OSError, EOFError, dns.exception.DNSException) as e:
            self.server.errors.append(repr(e))

    def _read(self, n):
        b = b""
        while len(b) < n:
            c = self.request.recv(n - len(b))
            if not c:
                raise EOFError("closed")
            b += c
        return b


class UdpHandler(socketserver.BaseRequestHandler):
    """One SOA query over UDP (see the module's text)."""

    def handle(self):
        wire, sock = self.request
        try:
            q = dns.message.from_wire(wire, keyring=KEYRING)
            apex = q.question[0].name.to_text()
            what = apex.split(".")[0]
            opts = [o.otype for o in q.options] if q.edns >= 0 else None
            self.server.seen.append((apex, q.edns, opts))
            r = dns.message.make_response(q)
            r.flags |= dns.flags.AA
            if what == "formerr" and q.edns >= 0:
                r.use_edns(False)
                r.set_rcode(dns.rcode.FORMERR)
            elif what == "badvers" and q.edns >= 0:
                r.set_rcode(dns.rcode.BADVERS)
            else:
                r.answer.append(soa(apex, NEW))
                if what == "expire" and q.edns >= 0:
                    r.use_edns(0, payload=1232, options=[
                        dns.edns.GenericOption(dns.edns.OptionType.EXPIRE,
                                               struct.pack("!I", EXPIRE_VALUE))])
            sock.sendto(r.to_wire(), self.client_address)
        except (OSError, dns.exception.DNSException) as e:
            self.server.errors.append(repr(e))


class UdpServer(socketserver.ThreadingUDPServer):
    daemon_threads = True


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class BadPrimary:
    def __init__(self):
        self.srv = Server(("127.0.0.1", 0), Handler)
        self.srv.seen = []
        self.srv.errors = []
        self.port = self.srv.server_address[1]
        self.thread = threading.Thread(target=self.srv.serve_forever, kwargs={"poll_interval": 0.1},
                                       daemon=True)
        self.thread.start()
        self.udp = UdpServer(("127.0.0.1", 0), UdpHandler)
        self.udp.seen = []
        self.udp.errors = self.srv.errors
        self.udp_port = self.udp.server_address[1]
        self.udp_thread = threading.Thread(target=self.udp.serve_forever,
                                           kwargs={"poll_interval": 0.1}, daemon=True)
        self.udp_thread.start()

    @property
    def udp_seen(self):
        return self.udp.seen

    @property
    def errors(self):
        return self.srv.errors

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()
        self.thread.join(timeout=5)
        self.udp.shutdown()
        self.udp.server_close()
        self.udp_thread.join(timeout=5)


if __name__ == "__main__":  # by hand: python3 badprimary.py
    b = BadPrimary()
    print("listening on 127.0.0.1@%d" % b.port)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        b.stop()
