"""Zone publication (control/publish.h) against the real dataplane: a
version published through build/edgedns-publish-test is answered with its
serial once the call returns, a version the compiler refuses leaves the old
one answered and on disk, and a missing dataplane socket is a clean error.

One edgedns-dataplane in socket mode for the module, on a random free
port, killed by its pid; the temporary directory is removed at the end.
"""

import json
import os
import shutil
import subprocess
import tempfile

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from test_socket_server import BUILD, Server, V4, cmd

PUBLISH = os.path.join(BUILD, "edgedns-publish-test")
DATAPLANE = os.path.join(BUILD, "edgedns-dataplane")
ZONE = "pub.example."

TEXT = """$ORIGIN pub.example.
$TTL 300
@    IN SOA ns1 hostmaster {serial} 3600 600 86400 300
@    IN NS  ns1
ns1  IN A   192.0.2.1
www  IN A   {www}
{extra}
"""


@pytest.fixture(scope="module")
def pub():
    if not (os.access(DATAPLANE, os.X_OK) and os.access(PUBLISH, os.X_OK)):
        pytest.fail("not built: %s and %s (run make first)" % (DATAPLANE, PUBLISH))
    tmp = tempfile.mkdtemp(prefix="edgedns-publish-")
    server = Server(tmp)
    os.makedirs(server.snapdir)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def publish(srv, serial, www="192.0.2.2", extra="", sock=True, zone=ZONE):
    src = os.path.join(srv.tmp, "in-%d.zone" % serial)
    with open(src, "w") as f:
        f.write(TEXT.format(serial=serial, www=www, extra=extra))
    argv = [PUBLISH, "--snapdir", srv.snapdir, "--zone", zone, "--timeout-ms", "10000"]
    if sock:
        argv += ["--socket", srv.ctl if sock is True else sock]
    p = subprocess.run(argv + [src], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    out = json.loads(p.stdout.decode())
    assert (p.returncode == 0) == (out["code"] == "ok"), (p.returncode, out)
    return out


def answer(srv, name, rdtype):
    q = dns.message.make_query(name, rdtype)
    return dns.query.udp(q, V4, port=srv.port, timeout=2.0)


def served_serial(srv):
    r = answer(srv, ZONE, dns.rdatatype.SOA)
    assert r.rcode() == dns.rcode.NOERROR
    return r.answer[0][0].serial


def snapshot_bytes(srv):
    with open(os.path.join(srv.snapdir, "pub.example.snap"), "rb") as f:
        snap = f.read()
    with open(os.path.join(srv.snapdir, "pub.example.zone"), "rb") as f:
        text = f.read()
    return snap, text


def test_publish_goes_live(pub):
    out = publish(pub, 10)
    assert out["code"] == "ok", out
    assert out["serial"] == 10
    # Answered with the new serial as soon as the call returned.
    assert served_serial(pub) == 10
    assert answer(pub, "www." + ZONE, "A").answer[0][0].address == "192.0.2.2"
    out = publish(pub, 11, www="192.0.2.22")
    assert out["code"] == "ok", out
    assert served_serial(pub) == 11
    assert answer(pub, "www." + ZONE, "A").answer[0][0].address == "192.0.2.22"
    zones = cmd(pub.ctl, "zones")["zones"]
    assert [z["serial"] for z in zones if z["zone"] == ZONE] == [11]
    last = subprocess.run([PUBLISH, "--snapdir", pub.snapdir, "--zone", ZONE, "--last"],
                          stdout=subprocess.PIPE, timeout=30)
    assert json.loads(last.stdout.decode())["serial"] == 11


@pytest.mark.parametrize("extra", ["www IN CNAME ns1", "out.example.org. IN A 192.0.2.9"])
def test_refused_keeps_old(pub, extra):
    assert publish(pub, 20)["code"] == "ok"
    before = snapshot_bytes(pub)
    out = publish(pub, 21, extra=extra)
    assert out["code"] == "EFORMAT", out
    assert "refused by the compiler" in out["error"]
    assert served_serial(pub) == 20
    assert snapshot_bytes(pub) == before


def test_missing_socket(pub):
    assert publish(pub, 30)["code"] == "ok"
    out = publish(pub, 31, sock=os.path.join(pub.tmp, "no-such.sock"))
    assert out["code"] == "EIO", out
    assert "no-such.sock" in out["error"] and "connect" in out["error"]
    assert served_serial(pub) == 30
    assert pub.alive()


def test_remove(pub):
    assert publish(pub, 40)["code"] == "ok"
    p = subprocess.run([PUBLISH, "--snapdir", pub.snapdir, "--socket", pub.ctl, "--zone", ZONE,
                        "--remove"], stdout=subprocess.PIPE, timeout=30)
    assert json.loads(p.stdout.decode())["code"] == "ok"
    assert answer(pub, "www." + ZONE, "A").rcode() == dns.rcode.REFUSED
    assert not os.path.exists(os.path.join(pub.snapdir, "pub.example.snap"))
    # Again: nothing left, and "not served" from the dataplane is no error.
    p = subprocess.run([PUBLISH, "--snapdir", pub.snapdir, "--socket", pub.ctl, "--zone", ZONE,
                        "--remove"], stdout=subprocess.PIPE, timeout=30)
    assert json.loads(p.stdout.decode())["code"] == "ENOENT"
    assert publish(pub, 41)["code"] == "ok"
    assert served_serial(pub) == 41
