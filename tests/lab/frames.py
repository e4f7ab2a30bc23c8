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


def eth(dst, src, ethertype, payload, vlan=None):
    """An Ethernet frame; vlan: the TCI of an 802.1Q tag (None: untagged)."""
    tag = b"" if vlan is None else struct.pack("!HH", 0x8100, vlan)
    return mac_bytes(dst) + mac_bytes(src) + tag + struct.pack("!H", ethertype) + payload


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


def dns_name(name):
    return b"".join(bytes([len(lb)]) + lb.encode() for lb in name.strip(".").split(".")
                    if lb) + b"\0"


def opt_rr(payload=1232, options=b"", version=0):
    """An OPT record (RFC 6891): root owner, payload size, options."""
    return struct.pack("!BHHBBHH", 0, 41, payload, 0, version, 0, len(options)) + options


def dns_query(qid, name, qtype=1, opcode=0, edns=None, options=b""):
    """A DNS query: id, RD clear, one question, class IN; opcode in the
    flags; edns: the OPT's payload size (None: no OPT), with options."""
    ar = 0 if edns is None else 1
    wire = (struct.pack("!HHHHHH", qid, opcode << 11, 1, 0, 0, ar) + dns_name(name)
            + struct.pack("!HH", qtype, 1))
    return wire if edns is None else wire + opt_rr(edns, options)


def parse(frame):
    """An Ethernet frame's parts, or None when it is not IP over Ethernet
    (an 802.1Q tag skipped): dict with dst_mac, src_mac (bytes), vlan (TCI
    or None), v6, src, dst (text), proto, and for UDP sport, dport and
    payload (the UDP length's worth)."""
    if len(frame) < 14:
        return None
    out = {"dst_mac": frame[:6], "src_mac": frame[6:12], "vlan": None}
    et, o = struct.unpack("!H", frame[12:14])[0], 14
    if et == 0x8100 and len(frame) >= 18:
        out["vlan"] = struct.unpack("!H", frame[14:16])[0]
        et, o = struct.unpack("!H", frame[16:18])[0], 18
    if et == 0x0800 and len(frame) >= o + 20:
        ihl = (frame[o] & 0x0f) * 4
        out.update(v6=False, src=socket.inet_ntop(socket.AF_INET, frame[o + 12:o + 16]),
                   dst=socket.inet_ntop(socket.AF_INET, frame[o + 16:o + 20]),
                   proto=frame[o + 9])
        l4 = o + ihl
    elif et == 0x86dd and len(frame) >= o + 40:
        out.update(v6=True, src=socket.inet_ntop(socket.AF_INET6, frame[o + 8:o + 24]),
                   dst=socket.inet_ntop(socket.AF_INET6, frame[o + 24:o + 40]),
                   proto=frame[o + 6])
        l4 = o + 40
    else:
        return None
    if out["proto"] == 17 and len(frame) >= l4 + 8:
        sport, dport, ulen = struct.unpack("!HHH", frame[l4:l4 + 6])
        out.update(sport=sport, dport=dport, payload=frame[l4 + 8:l4 + max(ulen, 8)])
    return out
