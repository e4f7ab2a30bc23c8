"""The commented sample configuration (samples/control.yaml, the package's
/etc/edgedns/control.yaml) and the man pages: the sample loads with the
built edgedns-control as it is and with every example uncommented, every
key the loader knows is in it and in control.yaml(5), every page renders
without warnings."""

import base64
import glob
import os
import re

import pytest

from conftest import BUILD, TOP, VERSION, run

SAMPLE = os.path.join(TOP, "samples", "control.yaml")
CONTROL = os.path.join(BUILD, "edgedns-control")
# An example line: "#" then a key (or "- "), right after it or after two
# spaces or more (samples/control.yaml's header says so).
EXAMPLE = re.compile(r"^#(|  +)(- |[a-z][a-z0-9-]*:(\s|$))")


def uncommented(secrets_dir):
    """The sample with every example line in use and the files under
    /etc/edgedns/ moved to secrets_dir."""
    out = []
    for line in open(SAMPLE):
        out.append(line[1:] if EXAMPLE.match(line) else line)
    return "".join(out).replace("/etc/edgedns/", str(secrets_dir) + "/")


def loader_keys():
    """Every key name the configuration loader accepts: the .name of its
    field tables (control/config*.c)."""
    keys = set()
    for f in glob.glob(os.path.join(TOP, "control", "config*.c")):
        keys |= set(re.findall(r'\.name\s*=\s*"([a-z0-9-]+)"', open(f).read()))
        keys |= set(re.findall(r'PF\("([a-z0-9-]+)"', open(f).read()))
    assert len(keys) > 40, keys
    return keys


@pytest.fixture
def full(tmp_path):
    """The fully uncommented sample with its secret files."""
    (tmp_path / "xfr-key.secret").write_text(base64.b64encode(os.urandom(32)).decode() + "\n")
    (tmp_path / "bgp.pw").write_text("s3cret-md5\n")
    for f in ("xfr-key.secret", "bgp.pw"):
        os.chmod(tmp_path / f, 0o600)
    path = tmp_path / "control.yaml"
    path.write_text(uncommented(tmp_path))
    return path


def test_sample_checks_as_shipped():
    """What the unit's ExecStartPre runs, on the file the package installs."""
    p = run([CONTROL, "--check", "-c", SAMPLE])
    assert p.returncode == 0, p.stdout + p.stderr


def test_sample_every_example_loads(full, tmp_path):
    p = run([CONTROL, "--check", "-c", str(full)])
    assert p.returncode == 0, p.stdout + p.stderr
    # and the BIRD configuration it makes is one BIRD takes
    p = run([CONTROL, "-B", "-c", str(full)])
    assert p.returncode == 0, p.stderr
    (tmp_path / "bird.conf").write_text(p.stdout)
    p = run(["bird", "-p", "-c", str(tmp_path / "bird.conf")])
    assert p.returncode == 0, p.stderr


def test_sample_and_manual_name_every_key():
    sample = open(SAMPLE).read()
    manual = open(os.path.join(TOP, "doc", "man", "control.yaml.5")).read().replace("\\-", "-")
    missing_sample = sorted(k for k in loader_keys()
                            if not re.search(r"^#?\s*(- )?%s:" % re.escape(k), sample, re.M))
    missing_manual = sorted(k for k in loader_keys()
                            if not re.search(r"^\.(B|BR|TP)\s+%s\b" % re.escape(k), manual, re.M)
                            and not re.search(r"\.B %s$" % re.escape(k), manual, re.M))
    assert not missing_sample, missing_sample
    assert not missing_manual, missing_manual


def test_dataplane_env_sample():
    text = open(os.path.join(TOP, "samples", "dataplane.env")).read()
    lines = [l for l in text.splitlines() if l and not l.startswith("#")]
    assert len(lines) == 1 and lines[0].startswith('EDGEDNS_DATAPLANE_OPTS="--serve ')
    assert " -- " not in lines[0]


MANPAGES = ["edgedns-dataplane.8", "edgedns-control.8", "edgednsctl.8",
            "edgedns-compile.8", "edgedns-bird.8", "edgedns-setup.8", "control.yaml.5"]


@pytest.mark.parametrize("page", MANPAGES)
def test_manpage(root, page):
    section = page.rsplit(".", 1)[1]
    path = os.path.join(root, "usr/share/man/man" + section, page + ".gz")
    assert os.path.exists(path), path
    env = dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH="80")
    p = run(["man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", path], env=env)
    assert p.returncode == 0 and p.stderr.strip() == "", p.stderr
    p = run(["man", "-l", path], env=env)
    assert p.returncode == 0, p.stderr
    text = p.stdout
    assert "edgedns " + VERSION in text      # @VERSION@ replaced at install
    for sec in ["NAME", "SYNOPSIS", "DESCRIPTION", "SEE ALSO"]:
        assert re.search(r"^%s$" % sec, text, re.M), (page, sec)
