"""The generated bird.conf against BIRD's own parser (bird -p) and golden
files: golden/NAME.json holds the edgedns-bird gen-config arguments,
golden/NAME.conf the expected output. EDGEDNS_BGP_REGOLD=1 (make
bgp-golden) writes the .conf files from the current generator; review the
diff before committing them."""

import glob
import json
import os
import subprocess
import tempfile

import pytest

from conftest import BIRD, CLI

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = sorted(glob.glob(os.path.join(HERE, "golden", "*.json")))


def gen(args):
    p = subprocess.run([CLI, "gen-config"] + args, capture_output=True, text=True, timeout=10)
    return p.returncode, p.stdout, p.stderr


def bird_parse(text):
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
        f.write(text)
        path = f.name
    try:
        p = subprocess.run([BIRD, "-p", "-c", path], capture_output=True, text=True, timeout=10)
        return p.returncode, p.stdout + p.stderr
    finally:
        os.unlink(path)


@pytest.mark.parametrize("case", GOLDEN, ids=[os.path.basename(g)[:-5] for g in GOLDEN])
def test_golden(case):
    with open(case) as f:
        args = json.load(f)
    rc, out, err = gen(args)
    assert rc == 0, err
    rc, msg = bird_parse(out)
    assert rc == 0, "bird -p refused %s:\n%s\n%s" % (case, msg, out)
    want_path = case[:-5] + ".conf"
    if os.environ.get("EDGEDNS_BGP_REGOLD") == "1":
        with open(want_path, "w") as f:
            f.write(out)
    with open(want_path) as f:
        want = f.read()
    assert out == want, "%s differs from the generator's output (make bgp-golden " \
        "rewrites it)" % want_path


def test_refused_inputs():
    base = ["--router-id", "192.0.2.2", "--local-as", "64500"]
    bad = [
        (["--neighbor", "r1,192.0.2.300,64501"], "address"),
        (["--neighbor", "r1,192.0.2.1,64501,password=a\"b"], "password"),
        (["--service", "dns,203.0.113.53/24"], "host bits"),
        (["--service", "dns-x,203.0.113.53"], "service[0]"),
        (["--service", "s234567890123456789012345678901234567890123456789012345,203.0.113.53"],
         "name"),
    ]
    for extra, why in bad:
        rc, out, err = gen(base + extra)
        assert rc == 2 and why in err and out == "", (extra, err)
    rc, out, err = gen(["--local-as", "64500"])
    assert rc == 2 and "router id" in err


def test_bird_rejects_what_we_refuse():
    """The generator's limits are BIRD's: a symbol one longer than our
    longest service name (anycast_ + 54 + _4 = 64) is refused by bird -p."""
    rc, out, err = gen(["--router-id", "192.0.2.2", "--local-as", "64500", "--service",
                        "s23456789012345678901234567890123456789012345678901234,203.0.113.53"])
    assert rc == 0, err
    longer = out.replace("s23456789012345678901234567890123456789012345678901234",
                         "s234567890123456789012345678901234567890123456789012345")
    rc, msg = bird_parse(longer)
    assert rc != 0 and "too long" in msg.lower(), msg
