"""Fixtures for the DPDK lab tests: the zones (compiled once per session)
and a factory that brings a lab up and always tears it down.

Zones served by every lab:
  example.com.    tests/data/example.com.zone (unsigned)
  example.org.    a small zone in two versions, serial 1 and 2, whose
                  snapshots the swap test loads in turn
  signed.example. a small zone signed with ldns-signzone (NSEC), for DO

Needs root (namespaces, veth, AF_PACKET). EDGEDNS_LAB_KEEP=1 keeps the
work directories (logs, snapshots); their paths are printed.
"""

import contextlib
import datetime
import itertools
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import lab as labmod  # noqa: E402

SWAP_ZONE = "example.org."
SWAP_SERIALS = (2024060101, 2024060102)
SIGNED_ZONE = "signed.example."

_SWAP_TEXT = """$ORIGIN example.org.
$TTL 300
@       IN SOA ns1 hostmaster {serial} 3600 600 86400 300
@       IN NS  ns1
ns1     IN A   192.0.2.53
www     IN A   192.0.2.80
version IN TXT "{tag}"
{extra}
"""

_SIGNED_TEXT = """$ORIGIN signed.example.
$TTL 300
@    IN SOA ns1 hostmaster 2024070101 3600 600 86400 300
@    IN NS  ns1
ns1  IN A   192.0.2.53
www  IN A   192.0.2.80
www  IN AAAA 2001:db8::80
mail IN A   192.0.2.25
"""


def _run(argv, cwd):
    p = subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError("%s: exit %d: %s%s" % (" ".join(argv), p.returncode, p.stdout, p.stderr))
    return p.stdout.strip()


def _sign(src, dst, origin, cwd):
    ksk = _run(["ldns-keygen", "-a", "ECDSAP256SHA256", "-k", origin], cwd)
    zsk = _run(["ldns-keygen", "-a", "ECDSAP256SHA256", origin], cwd)
    now = datetime.datetime.now(datetime.timezone.utc)
    inc = (now - datetime.timedelta(days=1)).strftime("%Y%m%d%H%M%S")
    exp = (now + datetime.timedelta(days=30)).strftime("%Y%m%d%H%M%S")
    _run(["ldns-signzone", "-i", inc, "-e", exp, "-o", origin, "-f", dst, src, ksk, zsk], cwd)


class Zones:
    """Paths of the session's zone files and snapshots."""

    def __init__(self, root):
        self.root = root
        self.snapdir = os.path.join(root, "snapshots")   # what a lab starts with
        self.swap = {}                                    # serial -> snapshot path
        os.makedirs(self.snapdir)
        src = os.path.join(labmod.REPO, "tests", "data", "example.com.zone")
        labmod.compile_zone("example.com.", src, os.path.join(self.snapdir, "example.com.snap"))
        for i, serial in enumerate(SWAP_SERIALS):
            path = os.path.join(root, "example.org-%d.zone" % serial)
            with open(path, "w") as f:
                # a name only in the second version: its answer and the
                # serial must come from the same snapshot
                f.write(_SWAP_TEXT.format(serial=serial, tag="v%d" % serial,
                                          extra='only-new IN TXT "new"' if i else ""))
            self.swap[serial] = labmod.compile_zone(
                SWAP_ZONE, path, os.path.join(root, "example.org-%d.snap" % serial))
        shutil.copy(self.swap[SWAP_SERIALS[0]], os.path.join(self.snapdir, "example.org.snap"))
        keys = os.path.join(root, "keys")
        os.makedirs(keys)
        unsigned = os.path.join(keys, "signed.example.zone")
        with open(unsigned, "w") as f:
            f.write(_SIGNED_TEXT)
        signed = os.path.join(root, "signed.example.zone.signed")
        _sign(unsigned, signed, SIGNED_ZONE, keys)
        labmod.compile_zone(SIGNED_ZONE, signed, os.path.join(self.snapdir, "signed.example.snap"))


def pytest_collection_modifyitems(config, items):
    if os.geteuid() != 0:
        skip = pytest.mark.skip(reason="the DPDK lab needs root (namespaces, veth, AF_PACKET)")
        for it in items:
            it.add_marker(skip)


@pytest.fixture(scope="session")
def lab_zones():
    gone = [p for p in (labmod.COMPILE, labmod.DATAPLANE) if not os.access(p, os.X_OK)]
    if gone:
        pytest.fail("not built: %s (run make first, or set EDGEDNS_BUILD)" % ", ".join(gone))
    labmod.sweep_stale()
    root = tempfile.mkdtemp(prefix="edgedns-lab-%s%dz-" % (labmod.PREFIX, os.getpid()))
    try:
        yield Zones(root)
    finally:
        if os.environ.get("EDGEDNS_LAB_KEEP"):
            print("\nlab zones kept: %s" % root)
        else:
            shutil.rmtree(root, ignore_errors=True)


_tags = itertools.count()


@pytest.fixture(scope="session")
def make_lab(lab_zones):
    """make_lab(vdev=None, extra_args=()) is a context manager: a lab that
    is up inside the block and torn down after it, whatever happens."""

    @contextlib.contextmanager
    def make(vdev=None, extra_args=(), workers=1, primary=None):
        tag = "abcdefghijklmnopqrstuvwxyz"[next(_tags) % 26]
        # each lab its own copy of the snapshot directory: loads and swaps
        # in one lab do not leak into the next. primary ({origin: text}):
        # an empty one, filled by edgedns-control from the lab's NSD
        workdir = tempfile.mkdtemp(prefix="edgedns-lab-%s%d%s-" % (labmod.PREFIX, os.getpid(), tag))
        snapdir = os.path.join(workdir, "snapshots")
        if primary:
            os.makedirs(snapdir)
        else:
            shutil.copytree(lab_zones.snapdir, snapdir)
        extra_args = list(extra_args)
        # rate limiting (on by default, 200/s per prefix) would limit the
        # load tests' single client: off unless the test asks for it
        if "--rrl-rate" not in extra_args:
            extra_args += ["--rrl-rate", "0"]
        lab = labmod.Lab(snapdir, tag=tag, vdev=vdev, extra_args=extra_args, workdir=workdir,
                         workers=workers, primary=primary)
        try:
            lab.up()
            yield lab
        finally:
            if lab.alive() or lab.exit_code not in (None, 0):
                log = lab.log_text(3000)
            else:
                log = ""
            if lab.zonesvc is not None:
                log += "\n--- edgedns-control log:\n" + lab.zonesvc.log_text(3000)
            lab.down()
            if log and os.environ.get("EDGEDNS_LAB_VERBOSE"):
                sys.stderr.write("\n--- dataplane log (%s):\n%s\n" % (lab.prefix, log))

    return make
