"""Every program answers -V/--version with "NAME (edgedns) VERSION" and
-h/--help with its usage on stdout, exit 0: the ones `make` built and the
ones in the package."""

import os

import pytest

from conftest import BUILD, VERSION, run

PROGRAMS = ["edgedns-dataplane", "edgedns-control", "edgednsctl", "edgedns-compile",
            "edgedns-bird", "edgedns-setup"]


def where(root, which):
    return os.path.join(root, "usr/sbin") if which == "deb" else BUILD


@pytest.mark.parametrize("which", ["build", "deb"])
@pytest.mark.parametrize("prog", PROGRAMS)
def test_version(root, which, prog):
    path = os.path.join(where(root, which), prog)
    assert os.access(path, os.X_OK), path
    for opt in ["-V", "--version"]:
        p = run([path, opt], timeout=20)
        assert p.returncode == 0, (opt, p.stdout, p.stderr)
        assert p.stdout.strip() == "%s (edgedns) %s" % (prog, VERSION), (opt, p.stdout)


@pytest.mark.parametrize("prog", PROGRAMS)
def test_help(root, prog):
    path = os.path.join(root, "usr/sbin", prog)
    for opt in ["-h", "--help"]:
        p = run([path, opt], timeout=20)
        assert p.returncode == 0, (opt, p.stdout, p.stderr)
        assert "usage" in p.stdout.lower(), (opt, p.stdout)
