"""The command lines of every edgedns program: -V/--version print
"NAME (edgedns) VERSION" (the VERSION file) and exit 0, -h/--help print the
usage on stdout and exit 0, a bad option prints it on stderr and exits 2;
and edgedns-control --check on good and broken configurations. No daemon
runs here; every file is in a temporary directory."""

import os
import shutil
import stat
import subprocess
import tempfile

import pytest

from conftest import BUILD

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
with open(os.path.join(REPO, "VERSION")) as _f:
    VERSION = _f.read().strip()

PROGRAMS = ["edgedns-dataplane", "edgedns-control", "edgednsctl", "edgedns-compile",
            "edgedns-bird"]
CONTROL = os.path.join(BUILD, "edgedns-control")
SECRET = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="


def run(argv, timeout=20):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("prog", PROGRAMS)
@pytest.mark.parametrize("opt", ["-V", "--version"])
def test_version(prog, opt):
    p = run([os.path.join(BUILD, prog), opt])
    assert p.returncode == 0, p.stderr
    assert p.stdout == "%s (edgedns) %s\n" % (prog, VERSION), p.stdout
    assert p.stderr == ""


@pytest.mark.parametrize("prog", PROGRAMS)
@pytest.mark.parametrize("opt", ["-h", "--help"])
def test_help(prog, opt):
    p = run([os.path.join(BUILD, prog), opt])
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("usage: %s" % prog), p.stdout
    assert p.stderr == ""


@pytest.mark.parametrize("prog", PROGRAMS)
def test_bad_option(prog):
    p = run([os.path.join(BUILD, prog), "--no-such-option"])
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert "usage: %s" % prog in p.stderr, p.stderr
    assert p.stdout == ""


def test_version_in_help_texts():
    """Each usage names -V/--version and -h/--help."""
    for prog in PROGRAMS:
        out = run([os.path.join(BUILD, prog), "--help"]).stdout
        assert "--version" in out and "--help" in out, (prog, out)


# ---- edgedns-control --check ------------------------------------------------

@pytest.fixture()
def cdir():
    d = tempfile.mkdtemp(prefix="edgedns-check-")
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def write(path, text, mode=0o600):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def config(d, secret_file=None, snap=None, state=None, bgp=True, extra=""):
    secret_file = secret_file or write(os.path.join(d, "k.secret"), SECRET + "\n")
    snap = snap or os.path.join(d, "snapshots")
    state = state or os.path.join(d, "state")
    text = ("control:\n"
            "  socket: %s/control.sock\n"
            "  dataplane-socket: %s/dataplane.sock\n"
            "  snapshot-dir: %s\n"
            "  state-dir: %s\n"
            "  log: stderr\n"
            "key:\n"
            "  - id: k\n"
            "    algorithm: hmac-sha256\n"
            "    secret-file: %s\n"
            "zone:\n"
            "  - domain: example.com\n"
            "    primary: [192.0.2.10]\n"
            % (d, d, snap, state, secret_file))
    if bgp:
        text += ("service:\n"
                 "  - id: dns\n"
                 "    address: 203.0.113.53\n"
                 "    stop-drain-time: 1s\n"
                 "bgp:\n"
                 "  router-id: 192.0.2.2\n"
                 "  local-as: 64512\n"
                 "  neighbor:\n"
                 "    - address: 192.0.2.1\n"
                 "      as: 64500\n")
    return write(os.path.join(d, "control.yaml"), text + extra)


def check(path):
    return run([CONTROL, "--check", "-c", path])


def test_check_good_config(cdir):
    os.makedirs(os.path.join(cdir, "snapshots"))
    path = config(cdir)   # state/ does not exist yet: it can be created
    p = check(path)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "edgedns-control: %s: ok\n" % path
    assert p.stderr == ""
    # nothing was created or written
    assert not os.path.exists(os.path.join(cdir, "state"))
    assert sorted(os.listdir(cdir)) == ["control.yaml", "k.secret", "snapshots"]
    # the long form of -c too
    p = run([CONTROL, "--config", path, "--check"])
    assert p.returncode == 0 and p.stdout.endswith(": ok\n"), p.stderr


def test_check_bad_yaml(cdir):
    path = write(os.path.join(cdir, "control.yaml"), "control:\n  socket: [\n")
    p = check(path)
    assert p.returncode == 1
    assert p.stdout == ""
    assert p.stderr.startswith("edgedns-control: %s:" % path), p.stderr
    assert "YAML syntax error" in p.stderr, p.stderr
    # a key that does not exist: the line of it
    path = config(cdir, extra="bogus: 1\n")
    p = check(path)
    assert p.returncode == 1
    lines = open(path).read().splitlines()
    assert "edgedns-control: %s:%d:" % (path, lines.index("bogus: 1") + 1) in p.stderr, p.stderr


def test_check_missing_secret_file(cdir):
    missing = os.path.join(cdir, "nope.secret")
    path = config(cdir, secret_file=missing)
    p = check(path)
    assert p.returncode == 1 and p.stdout == ""
    assert "edgedns-control: %s:" % path in p.stderr
    assert "key[0].secret-file" in p.stderr and missing in p.stderr, p.stderr


def test_check_secret_readable_by_others(cdir):
    path = config(cdir, secret_file=write(os.path.join(cdir, "open.secret"), SECRET + "\n",
                                          0o644))
    p = check(path)
    assert p.returncode == 1 and "open.secret" in p.stderr, p.stderr


def test_check_directories(cdir):
    """A directory that is a file, or that cannot be created: each named."""
    blocker = write(os.path.join(cdir, "afile"), "x\n")
    path = config(cdir, snap=blocker, state=os.path.join(blocker, "state"))
    p = check(path)
    assert p.returncode == 1 and p.stdout == ""
    errs = p.stderr.splitlines()
    assert len(errs) == 2, p.stderr
    assert "control.snapshot-dir: %s: not a directory" % blocker in errs[0], p.stderr
    assert "control.state-dir: %s/state: does not exist" % blocker in errs[1], p.stderr
    if os.geteuid() != 0:       # root may write anywhere
        ro = os.path.join(cdir, "ro")
        os.makedirs(ro)
        os.chmod(ro, stat.S_IRUSR | stat.S_IXUSR)
        p = check(config(cdir, state=os.path.join(ro, "state")))
        assert p.returncode == 1 and "cannot be created" in p.stderr, p.stderr


def test_check_bird_config_does_not_render(cdir):
    """A neighbour the BIRD config generator refuses (a link-local address
    without an interface): reported with the bgp section's line."""
    os.makedirs(os.path.join(cdir, "snapshots"))
    path = config(cdir, bgp=False, extra=(
        "service:\n"
        "  - id: dns\n"
        "    address: 203.0.113.53\n"
        "bgp:\n"
        "  router-id: 192.0.2.2\n"
        "  local-as: 64512\n"
        "  neighbor:\n"
        "    - address: fe80::1\n"
        "      as: 64500\n"))
    p = check(path)
    assert p.returncode == 1 and p.stdout == "", p.stdout
    line = open(path).read().splitlines().index("  router-id: 192.0.2.2") + 1   # the section's first
    assert p.stderr.startswith("edgedns-control: %s:%d: bgp: the BIRD configuration does not "
                               "render:" % (path, line)), p.stderr
    assert "link-local" in p.stderr, p.stderr


def test_check_and_bird_config_together_is_usage(cdir):
    p = run([CONTROL, "--check", "-B", "-c", config(cdir)])
    assert p.returncode == 2 and "usage" in p.stderr
