"""The .deb itself: its version, fields, files, conffiles, maintainer
scripts and lintian's verdict."""

import os
import re

from conftest import TOP, VERSION, run

BINARIES = ["edgedns-dataplane", "edgedns-control", "edgednsctl", "edgedns-compile",
            "edgedns-bird", "edgedns-setup"]
MANPAGES = ["usr/share/man/man8/%s.8.gz" % b for b in BINARIES] + \
           ["usr/share/man/man5/control.yaml.5.gz"]
UNITS = ["edgedns.target", "edgedns-setup.service", "edgedns-dataplane.service",
         "edgedns-control.service", "edgedns-withdraw.service"]
PATHS = (["usr/sbin/" + b for b in BINARIES] + MANPAGES +
         ["lib/systemd/system/" + u for u in UNITS] +
         ["lib/systemd/system/bird.service.d/edgedns.conf",
          "etc/edgedns/control.yaml", "etc/edgedns/dataplane.env",
          "usr/lib/sysusers.d/edgedns.conf", "usr/lib/tmpfiles.d/edgedns.conf",
          "usr/share/edgedns/bird-fallback.conf",
          "usr/share/edgedns/hw/profiles/dev-veth.yaml",
          "usr/share/edgedns/hw/profiles/edge-1u-2x25g.yaml",
          "usr/share/doc/edgedns/copyright", "usr/share/doc/edgedns/changelog.gz",
          "usr/share/doc/edgedns/README.Debian", "var/lib/edgedns/"])


def contents(deb):
    """{path without the leading ./: (mode string, owner)} of dpkg-deb -c."""
    p = run(["dpkg-deb", "-c", deb])
    assert p.returncode == 0, p.stderr
    out = {}
    for line in p.stdout.splitlines():
        f = line.split(None, 5)
        out[f[5].split(" -> ")[0][2:]] = (f[0], f[1])
    return out


def field(deb, name):
    return run(["dpkg-deb", "-f", deb, name]).stdout.strip()


def test_changelog_version_is_VERSION():
    p = run(["dpkg-parsechangelog", "-S", "Version", "-l", os.path.join(TOP, "debian/changelog")])
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == VERSION
    # and the Makefile's guard agrees
    p = run(["make", "-s", "-C", TOP, "deb-version-check"])
    assert p.returncode == 0, p.stderr


def test_file_name_and_fields(deb):
    assert os.path.basename(deb).startswith("edgedns_%s_" % VERSION)
    assert field(deb, "Package") == "edgedns"
    assert field(deb, "Version") == VERSION
    depends = field(deb, "Depends")
    # shlibs:Depends: the libraries the programs link
    for lib in ["libldns3", "libevent-2.1-7", "libjansson4", "libyaml-0-2", "libsodium23",
                "libnettle8", "libxxhash0", "libssl3", "libsystemd0", "librte-eal23",
                "librte-ethdev23"]:
        assert re.search(r"(^|, )%s\b" % re.escape(lib), depends), (lib, depends)
    # what no soname says: BIRD, the DPDK drivers every set-up loads, sysusers
    for dep in ["bird2", "dpdk", "librte-bus-pci23", "librte-bus-vdev23",
                "librte-mempool-ring23", "librte-net-tap23", "systemd"]:
        assert re.search(r"(^|, |\| )%s\b" % re.escape(dep), depends), (dep, depends)


def test_every_path(deb):
    have = contents(deb)
    missing = [p for p in PATHS if p not in have and p.rstrip("/") + "/" not in have]
    assert not missing, missing
    for b in BINARIES:
        mode, owner = have["usr/sbin/" + b]
        assert mode == "-rwxr-xr-x" and owner == "root/root", (b, mode, owner)
    # nothing under /run (tmpfiles.d makes it) and no stray build files
    assert not [p for p in have if p.startswith(("run/", "var/run/", "tmp/"))]


def test_conffiles(deb, tmp_path):
    p = run(["dpkg-deb", "-e", deb, str(tmp_path)])
    assert p.returncode == 0, p.stderr
    conffiles = open(tmp_path / "conffiles").read().split()
    assert "/etc/edgedns/control.yaml" in conffiles
    assert "/etc/edgedns/dataplane.env" in conffiles
    post = open(tmp_path / "postinst").read()
    # the user before the directories, both before our own steps
    users = post.index("systemd-sysusers")
    dirs = post.index("systemd-tmpfiles")
    assert users < dirs < post.index("chown root:edgedns /etc/edgedns")
    assert "cookie.secret" in post
    # installed, never enabled (only re-enabled when it was) or started by
    # the package; stopped when it is removed, control first
    lines = post.splitlines()
    for i, l in enumerate(lines):
        if "deb-systemd-helper enable" in l:
            assert "was-enabled" in "".join(lines[max(0, i - 3):i]), lines[i - 3:i + 1]
    assert "deb-systemd-invoke start" not in post and "deb-systemd-invoke restart" not in post
    assert "#DEBHELPER#" not in post
    prerm = open(tmp_path / "prerm").read()
    assert re.search(r"deb-systemd-invoke stop edgedns.target edgedns-control.service", prerm)
    assert "purge" in open(tmp_path / "postrm").read()


def test_samples_are_the_conffiles(root):
    for name in ["control.yaml", "dataplane.env"]:
        assert open(os.path.join(root, "etc/edgedns", name)).read() == \
            open(os.path.join(TOP, "samples", name)).read()


def test_lintian_no_errors(deb):
    p = run(["lintian", "--pedantic", "--info", "--tag-display-limit", "0", deb], timeout=300)
    lines = [l for l in p.stdout.splitlines() if re.match(r"^[EWIPX]: ", l)]
    print("\n".join(lines))
    errors = [l for l in lines if l.startswith("E: ")]
    assert not errors, "\n".join(errors)
    warnings = [l for l in lines if l.startswith("W: ")]
    assert not warnings, "\n".join(warnings)
