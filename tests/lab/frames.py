"""frames.py: Ethernet/IPv4/IPv6/UDP frames built by hand (struct only),
right or deliberately wrong, for the dataplane's frame checks."""

import socket
import struct


def mac_bytes(mac):
    return bytes(int(x, 16) for x in mac.split(":"))


def csum(data):
    """RFC 1071 one's complement sum, complemented."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def eth(dst, src, ethertype, payload):
    return mac_bytes(dst) + mac_bytes(src) + struct.pack("!H", ethertype) + payload


def udp(src, dst, sport, dport, payload, v6, cksum=None, length=None):
    """A UDP header and payload. cksum None: computed over the pseudo-header
    (0 written as 0xffff); else that value as is. length None: the real one."""
    real = 8 + len(payload)
    ulen = real if length is None else length
    if cksum is None:
        fam = socket.AF_INET6 if v6 else socket.AF_INET
        s, d = socket.inet_pton(fam, src), socket.inet_pton(fam, dst)
        if v6:
            pseudo = s + d + struct.pack("!I3xB", real, 17)
        else:
            pseudo = s + d + struct.pack("!xBH", 17, real)
        hdr = struct.pack("!HHHH", sport, dport, real, 0)
        cksum = csum(pseudo + hdr + payload) or 0xffff
    return struct.pack("!HHHH", sport, dport, ulen, cksum) + payload


def ipv4(src, dst, payload, proto=17, ident=1, flags_frag=0, options=b"", ihl=None,
         total=None, hcsum=None, ttl=64):
    """An IPv4 header (and payload). ihl/total/hcsum None: the right values."""
    hl = 20 + len(options)
    ihl_v = hl // 4 if ihl is None else ihl
    tot = hl + len(payload) if total is None else total
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl_v, 0, tot, ident, flags_frag, ttl, proto, 0,
                      socket.inet_aton(src), socket.inet_aton(dst)) + options
    c = csum(hdr) if hcsum is None else hcsum
    return hdr[:10] + struct.pack("!H", c) + hdr[12:] + payload


def ipv6(src, dst, payload, nh=17, plen=None, hlim=64):
    pl = len(payload) if plen is None else plen
    return (struct.pack("!IHBB", 0x60000000, pl, nh, hlim)
            + socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst)
            + payload)


def dns_query(qid, name, qtype=1):
    """A plain DNS query: id, RD clear, one question, class IN."""
    qname = b"".join(bytes([len(lb)]) + lb.encode() for lb in name.strip(".").split(".")) + b"\0"
    return struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 0) + qname + struct.pack("!HH", qtype, 1)
