"""zones.py: build the conformance zones in a work directory at test time.

rich.zone.in is instantiated under four origins: unsigned, NSEC, NSEC3 and
NSEC3 with opt-out; parent.zone.in and child.zone.in form a signed
parent/child pair served by the same server. Signing uses ldns-keygen and
ldns-signzone (ECDSA P-256, inception a day ago, expiration in 30 days, so
nothing expires during a run). Every server in a run is given the very same
signed files, so the (randomised) ECDSA signatures are identical on both.
"""

import datetime
import os
import shutil
import subprocess

import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.zone

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ZONE_SRC = os.path.join(HERE, "zones")

NSEC3_SALT = "cafe"
NSEC3_ITER = 0


class Zone:
    """One zone as served: origin (text, with trailing dot), file path, and
    how it was signed ("none", "nsec", "nsec3", "nsec3-optout")."""

    def __init__(self, origin, path, signing):
        self.origin = origin
        self.path = path
        self.signing = signing
        self._parsed = None

    @property
    def name(self):
        return dns.name.from_text(self.origin)

    def parsed(self):
        """The zone as dnspython reads it (cached)."""
        if self._parsed is None:
            self._parsed = dns.zone.from_file(self.path, origin=self.origin,
                                              relativize=False, check_origin=True)
        return self._parsed

    def __repr__(self):
        return "<Zone %s %s>" % (self.origin, self.signing)


def _run(argv, cwd):
    p = subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    if p.returncode != 0:
        raise RuntimeError("%s failed (%d):\n%s%s" % (" ".join(argv), p.returncode,
                                                      p.stdout.decode(), p.stderr.decode()))
    return p.stdout.decode()


def _keygen(origin, ksk, cwd):
    argv = ["ldns-keygen", "-a", "ECDSAP256SHA256"]
    if ksk:
        argv.append("-k")
    argv.append(origin)
    return _run(argv, cwd).strip()


def _sign(src, dst, origin, mode, cwd):
    ksk = _keygen(origin, True, cwd)
    zsk = _keygen(origin, False, cwd)
    now = datetime.datetime.now(datetime.timezone.utc)
    inception = (now - datetime.timedelta(days=1)).strftime("%Y%m%d%H%M%S")
    expiration = (now + datetime.timedelta(days=30)).strftime("%Y%m%d%H%M%S")
    argv = ["ldns-signzone", "-i", inception, "-e", expiration, "-o", origin, "-f", dst]
    if mode.startswith("nsec3"):
        argv += ["-n", "-s", NSEC3_SALT, "-t", str(NSEC3_ITER)]
        if mode == "nsec3-optout":
            argv.append("-p")
    argv += [src, ksk, zsk]
    _run(argv, cwd)
    with open(os.path.join(cwd, ksk + ".ds")) as f:
        return f.read()


def _rich(origin, outdir, mode):
    with open(os.path.join(ZONE_SRC, "rich.zone.in")) as f:
        body = f.read()
    base = origin.rstrip(".")
    src = os.path.join(outdir, base + ".zone.unsigned")
    with open(src, "w") as f:
        f.write("$ORIGIN %s\n" % origin)
        f.write(body)
    dst = os.path.join(outdir, base + ".zone")
    if mode == "none":
        shutil.copyfile(src, dst)
    elif mode == "nsec3-optout":
        _sign_optout(src, dst, origin, outdir)
    else:
        _sign(src, dst, origin, mode, outdir)
    return Zone(origin, dst, mode)


def _sign_optout(src, dst, origin, cwd):
    """NSEC3 opt-out the way a signer really does it: the insecure
    delegations (NS without DS below the apex) and their glue get no NSEC3
    record. ldns-signzone -p only sets the flag, so the zone is signed
    without those subtrees and they are appended, unsigned, afterwards."""
    z = dns.zone.from_file(src, origin=origin, relativize=False)
    apex = dns.name.from_text(origin)
    cuts = [n for n, node in z.nodes.items()
            if n != apex and node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.NS)
            and not node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.DS)]
    kept = src + ".secure"
    extra = []
    with open(kept, "w") as f:
        f.write("$ORIGIN %s\n" % origin)
        for n in sorted(z.nodes):
            text = z.nodes[n].to_text(n)
            if any(n.is_subdomain(c) for c in cuts):
                extra.append(text)
            else:
                f.write(text + "\n")
    _sign(kept, dst, origin, "nsec3-optout", cwd)
    with open(dst, "a") as f:
        f.write("; insecure delegations, not covered by NSEC3 (opt-out)\n")
        f.write("\n".join(extra) + "\n")


def build_zones(outdir):
    """Generate (and sign) every zone into outdir; returns a list of Zone."""
    os.makedirs(outdir, exist_ok=True)
    zones = [
        _rich("rich.test.", outdir, "none"),
        _rich("nsec.test.", outdir, "nsec"),
        _rich("nsec3.test.", outdir, "nsec3"),
        _rich("nsec3oo.test.", outdir, "nsec3-optout"),
    ]
    # child first: its KSK's DS goes into the parent before the parent is signed
    csrc = os.path.join(ZONE_SRC, "child.zone.in")
    cdst = os.path.join(outdir, "child.parent.test.zone")
    ds = _sign(csrc, cdst, "child.parent.test.", "nsec", outdir)
    psrc = os.path.join(outdir, "parent.test.zone.unsigned")
    with open(os.path.join(ZONE_SRC, "parent.zone.in")) as f:
        body = f.read()
    with open(psrc, "w") as f:
        f.write(body)
        f.write("; DS of the child's generated KSK\n")
        f.write(ds)
    pdst = os.path.join(outdir, "parent.test.zone")
    _sign(psrc, pdst, "parent.test.", "nsec", outdir)
    zones.append(Zone("parent.test.", pdst, "nsec"))
    zones.append(Zone("child.parent.test.", cdst, "nsec"))
    return zones
