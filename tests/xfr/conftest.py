"""Fixtures for the transfer tests: generated zones, a real knotd and nsd
as primaries (tests/xfr/primaries.py), the misbehaving primary
(badprimary.py), and xfr(), which runs build/edgedns-xfr-test and returns
its JSON. Every server is killed by pid and the work directory removed at
the end, also when a fixture fails. EDGEDNS_XFR_KEEP=1 keeps the directory.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

import dns.rdataclass
import dns.zone
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import badprimary  # noqa: E402
import primaries  # noqa: E402

BUILD = os.environ.get("EDGEDNS_BUILD", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
DRIVER = os.path.join(BUILD, "edgedns-xfr-test")

ZONE = "example.com."       # TSIG required
OPEN = "open.test."         # no TSIG
IXFR = "ixfr.test."         # changed by the IXFR tests (Knot only)
SERIAL = 2024010101


@pytest.fixture(scope="session")
def workdir():
    d = tempfile.mkdtemp(prefix="edgedns-xfr-")
    try:
        yield d
    finally:
        if os.environ.get("EDGEDNS_XFR_KEEP"):
            print("\nxfr work directory kept: %s" % d)
        else:
            shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def zones(workdir):
    zd = os.path.join(workdir, "zones")
    os.makedirs(zd)
    out = {}
    for origin, n in ((ZONE, 3000), (OPEN, 200), (IXFR, 1500)):
        p = os.path.join(zd, origin + "zone")
        primaries.write(p, primaries.zone_text(origin, SERIAL, n))
        out[origin] = p
    return out


@pytest.fixture(scope="session")
def knot(workdir, zones):
    k = primaries.Knot(os.path.join(workdir, "knot"),
                       [(ZONE, zones[ZONE], True), (OPEN, zones[OPEN], False),
                        (IXFR, zones[IXFR], True)])
    try:
        yield k
    finally:
        k.stop()


@pytest.fixture(scope="session")
def nsd(workdir, zones):
    n = primaries.Nsd(os.path.join(workdir, "nsd"),
                      [(ZONE, zones[ZONE], True), (OPEN, zones[OPEN], False)])
    try:
        yield n
    finally:
        n.stop()


@pytest.fixture(scope="session")
def bad():
    b = badprimary.BadPrimary()
    try:
        yield b
    finally:
        b.stop()


def tsig_arg(i=0, name=None, secret=None):
    k = primaries.KEYS[i]
    return "%s:%s:%s" % (name or k[0], k[1] + ".", secret or k[2])


def xfr(port, zone, *args, server="127.0.0.1", timeout=30):
    """Run the driver; returns its JSON as a dict."""
    if not os.path.exists(DRIVER):
        pytest.fail("not built: %s (run make first)" % DRIVER)
    argv = [DRIVER, "--server", server, "--port", str(port), "--zone", zone] + [str(a) for a in args]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    # 0 or 1 with one JSON line; anything on stderr (a sanitizer) fails
    assert p.returncode in (0, 1) and not p.stderr, \
        "driver failed (%d): %s\n%s" % (p.returncode, p.stdout, p.stderr)
    r = json.loads(p.stdout)
    r["argv"] = argv
    return r


def rrset_lines(path, origin):
    """The zone at path as a set of (name, ttl, type, rdata) strings."""
    z = dns.zone.from_file(path, origin, relativize=False, check_origin=False)
    out = set()
    for name, ttl, rd in z.iterate_rdatas():
        out.add("%s %d %s %s" % (name.to_text().lower(), ttl, dns.rdatatype.to_text(rd.rdtype),
                                 rd.to_text().lower()))
    return out
