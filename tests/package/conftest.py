"""Fixtures of the package tests (`make package-test`): the .deb that
`make deb` built (EDGEDNS_DEB, default build/deb/edgedns_VERSION_ARCH.deb;
built here when missing), its files extracted with dpkg-deb -x into a
temporary root, and a small system root (copies of /etc/passwd and friends)
where the package's sysusers.d and tmpfiles.d files are applied with
--root, so nothing on the host changes."""

import os
import re
import shutil
import subprocess
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", ".."))
BUILD = os.environ.get("EDGEDNS_BUILD", os.path.join(TOP, "build"))
VERSION = open(os.path.join(TOP, "VERSION")).read().strip()


def run(cmd, **kw):
    """subprocess.run with text output captured; never raises on rc."""
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 120)
    return subprocess.run(cmd, **kw)


def arch():
    return run(["dpkg", "--print-architecture"]).stdout.strip() or "amd64"


@pytest.fixture(scope="session")
def deb():
    path = os.environ.get("EDGEDNS_DEB") or os.path.join(
        TOP, "build", "deb", "edgedns_%s_%s.deb" % (VERSION, arch()))
    if not os.path.exists(path):
        p = run(["make", "-C", TOP, "deb"], timeout=900)
        assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert os.path.exists(path), path
    return path


@pytest.fixture(scope="session")
def root(deb):
    """The package's files, as dpkg would unpack them."""
    d = tempfile.mkdtemp(prefix="edgedns-deb-")
    p = run(["dpkg-deb", "-x", deb, d])
    assert p.returncode == 0, p.stderr
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def sysroot(root):
    """A root with the host's users and groups (bird among them), then the
    package's sysusers.d and tmpfiles.d applied: the user edgedns,
    /run/edgedns with its ACL, /var/lib/edgedns. Its top directory may be
    traversed by anyone, as / is."""
    d = tempfile.mkdtemp(prefix="edgedns-sys-")
    os.chmod(d, 0o711)
    os.makedirs(os.path.join(d, "etc"))
    for f in ("passwd", "group", "shadow", "gshadow"):
        if os.path.exists("/etc/" + f):
            shutil.copy2("/etc/" + f, os.path.join(d, "etc", f))
    for sub in ("usr/lib/sysusers.d", "usr/lib/tmpfiles.d"):
        shutil.copytree(os.path.join(root, sub), os.path.join(d, sub))
    p = run(["systemd-sysusers", "--root=" + d, "edgedns.conf"])
    assert p.returncode == 0, p.stderr
    p = run(["systemd-tmpfiles", "--root=" + d, "--create", "edgedns.conf"])
    assert p.returncode == 0, p.stderr
    yield d
    shutil.rmtree(d, ignore_errors=True)


def ids(sysroot, name):
    """uid and gid of a user of the sysroot's /etc/passwd."""
    for line in open(os.path.join(sysroot, "etc", "passwd")):
        f = line.split(":")
        if f[0] == name:
            return int(f[2]), int(f[3])
    raise KeyError(name)


def gid(sysroot, name):
    for line in open(os.path.join(sysroot, "etc", "group")):
        f = line.split(":")
        if f[0] == name:
            return int(f[2])
    raise KeyError(name)


def as_ids(uid, gid_, cmd):
    """cmd run with exactly this uid and gid and no supplementary groups,
    as BIRD runs after it dropped its privileges."""
    return run(["setpriv", "--reuid=%d" % uid, "--regid=%d" % gid_, "--clear-groups",
                "--inh-caps=-all", "--bounding-set=-all"] + cmd)


def unit(path):
    """A systemd unit file as {section: [(key, value), ...]}, continuation
    lines joined, comments dropped, repeated keys kept in order."""
    secs, cur, buf = {}, None, ""
    for raw in open(path):
        line = raw.rstrip("\n")
        if buf:
            line = buf + line.lstrip()
            buf = ""
        if line.endswith("\\"):
            buf = line[:-1] + " "
            continue
        s = line.strip()
        if not s or s[0] in "#;":
            continue
        m = re.match(r"^\[(.+)\]$", s)
        if m:
            cur = secs.setdefault(m.group(1), [])
            continue
        k, _, v = s.partition("=")
        cur.append((k.strip(), v.strip()))
    return secs


def values(u, section, key):
    return [v for k, v in u.get(section, []) if k == key]


def value(u, section, key):
    """The effective value of a key: its last setting."""
    v = values(u, section, key)
    return v[-1] if v else None
