"""badwire.py: hand-built malformed and unusual DNS messages.

Each builder returns raw bytes; nothing here goes through a DNS library's
encoder, so the bytes are exactly what the test means to send.
"""

import struct

QID = 0x4242
ZONE = "rich.test."

# header flag words
F_QUERY = 0x0000
F_RD = 0x0100


def header(qid=QID, flags=F_QUERY, qd=1, an=0, ns=0, ar=0):
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


def name(text):
    """Uncompressed wire name; text without escapes, "." is the root."""
    out = b""
    for label in text.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def question(qname=ZONE, qtype=6, qclass=1):
    return name(qname) + struct.pack("!HH", qtype, qclass)


def opt(payload=1232, ext_rcode=0, version=0, do=False, options=b""):
    """An OPT RR (owner root)."""
    ttl = (ext_rcode << 24) | (version << 16) | (0x8000 if do else 0)
    return b"\x00" + struct.pack("!HHIH", 41, payload, ttl, len(options)) + options


def edns_option(code, data):
    return struct.pack("!HH", code, len(data)) + data


def query(qname=ZONE, qtype=6, flags=F_QUERY, qid=QID, edns=None):
    """A well-formed query; edns: bytes of one OPT RR, or None."""
    ar = 1 if edns is not None else 0
    return header(qid, flags, 1, 0, 0, ar) + question(qname, qtype) + (edns or b"")


def opcode_flags(opcode, rd=False):
    return (opcode << 11) | (F_RD if rd else 0)


def a_record(owner_wire=b"\xc0\x0c", addr=b"\xc0\x00\x02\x01"):
    return owner_wire + struct.pack("!HHIH", 1, 1, 3600, 4) + addr
