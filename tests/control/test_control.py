"""edgedns-control end to end: knotd primary -> control -> dataplane."""

import json
import os
import time

import dns.edns
import dns.flags
import dns.message
import dns.opcode
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsigkeyring
import primaries

from conftest import FO, GATE, NTXT, SERIAL, ZONE, wait_for

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_initial_transfer(env):
    for z in (ZONE, GATE, FO):
        env.wait_dp_serial(z, SERIAL)
    st = env.zone_status(ZONE)
    assert st["state"] == "published" and st["served"]
    assert st["serial"] == SERIAL and st["transfers"] == 1
    assert st["primary"] == "127.0.0.1@%d" % env.knot.port
    assert st["last_error"] == "" and st["next_refresh"] > time.time() + 3000
    assert st["expire_at"] >= st["last_refresh"] + 1209600
    r = env.dp_query("www." + ZONE, dns.rdatatype.A)
    assert r.answer and r.answer[0][0].address == "192.0.2.80"


def test_failover_to_second_primary(env):
    env.wait_dp_serial(FO, SERIAL)
    st = env.zone_status(FO)
    assert st["primary"] == "127.0.0.1@%d" % env.knot.port, st
    p0, p1 = st["primaries"]
    assert p0["serial"] is None and p0["error"], st
    assert p1["serial"] == SERIAL and p1["error"] == ""


def test_refresh_command_brings_change(env):
    new = SERIAL + 1
    env.set_zone(ZONE, new, extra="added A 192.0.2.77\n")
    p = env.edgednsctl("refresh", ZONE)
    assert p.returncode == 0, p.stderr
    env.wait_dp_serial(ZONE, new)
    r = env.dp_query("added." + ZONE, dns.rdatatype.A)
    assert r.answer and r.answer[0][0].address == "192.0.2.77"
    st = wait_for(lambda: (lambda s: s if s["state"] == "published" else None)(
        env.zone_status(ZONE)), 5, "published")
    assert st["serial"] == new and st["transfers"] == 2
    assert "IXFR" in env.ctl.log_text(20000)
    assert "refresh requested on the control socket" in env.ctl.log_text(20000)


def test_notify_from_knot(env):
    before = env.zone_status(ZONE)["serial"]
    new = before + 1
    env.set_zone(ZONE, new, extra="added A 192.0.2.77\nnotified A 192.0.2.78\n")  # knotd NOTIFYs
    env.wait_dp_serial(ZONE, new)
    assert "NOTIFY received" in env.ctl.log_text(40000)
    r = env.dp_query("notified." + ZONE, dns.rdatatype.A)
    assert r.answer and r.answer[0][0].address == "192.0.2.78"


def _notify(env, zone, key=None):
    q = dns.message.make_query(zone, dns.rdatatype.SOA)
    q.flags = dns.flags.AA
    q.set_opcode(dns.opcode.NOTIFY)
    if key is not None:
        name, alg, secret = key
        q.use_tsig(dns.tsigkeyring.from_text({name: secret}), keyname=name, algorithm=alg)
    return dns.query.udp(q, "127.0.0.1", port=env.notify_port, timeout=2)


def test_notify_acl_and_answers(env):
    r = _notify(env, FO, key=primaries.KEYS[0])     # signed with the primary's key
    assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA
    assert r.opcode() == dns.opcode.NOTIFY and r.question[0].name.to_text() == FO
    assert r.had_tsig                               # the answer is signed (and verified)
    r = _notify(env, FO)                            # unsigned: the implicit ACL wants the key
    assert r.rcode() == dns.rcode.REFUSED
    r = _notify(env, FO, key=primaries.KEYS[1])     # another key
    assert r.rcode() == dns.rcode.REFUSED
    r = _notify(env, "other.test.", key=primaries.KEYS[0])
    assert r.rcode() == dns.rcode.NOTAUTH


def test_refused_version_keeps_old_serial(env):
    env.wait_dp_serial(GATE, SERIAL)
    env.set_zone(GATE, SERIAL + 1, ntxt=NTXT // 5)   # 80% of the TXT gone
    assert env.edgednsctl("refresh", GATE).returncode == 0
    st = wait_for(lambda: (lambda s: s if s["refused"] >= 1 and s["state"] != "transferring"
                           else None)(env.zone_status(GATE)), 15, "refused")
    assert st["refused"] == 1 and st["serial"] == SERIAL
    assert "refused" in st["last_error"] and "removes" in st["last_error"], st
    assert ("serial %d " % (SERIAL + 1)) in st["last_error"], st
    assert env.dp_serial(GATE) == SERIAL
    # asking again does not count the same version twice
    assert env.edgednsctl("refresh", GATE).returncode == 0
    wait_for(lambda: env.zone_status(GATE)["failures"] >= 2, 10, "second attempt")
    assert env.zone_status(GATE)["refused"] == 1
    assert env.dp_serial(GATE) == SERIAL


def test_edgednsctl_output(env):
    p = env.edgednsctl("status")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    with open(os.path.join(REPO, "VERSION")) as f:
        version = f.read().strip()
    assert lines[0] == "edgedns-control (edgedns) %s" % version, p.stdout
    assert lines[1].split()[:3] == ["ZONE", "STATE", "SERIAL"]
    for z in (ZONE, GATE, FO):
        assert any(l.startswith(z) for l in lines), p.stdout
    p = env.edgednsctl("--json", "status")
    j = json.loads(p.stdout)
    assert j["ok"] and {z["name"] for z in j["zones"]} == {ZONE, GATE, FO}
    assert j["version"] == version
    p = env.edgednsctl("zone-status", FO)
    assert p.returncode == 0 and "primary[1]:" in p.stdout and "serial:        %d" % SERIAL in p.stdout
    p = env.edgednsctl("zone-status", "nope.test.")
    assert p.returncode == 1 and "no such zone" in p.stderr
    r = env.request({"cmd": "bogus"})
    assert r["ok"] is False


def test_restart_keeps_state_and_serving(env):
    before = env.zone_status(ZONE)
    serial = before["serial"]
    env.ctl.stop()
    assert env.ctl.proc.returncode == 0, env.ctl.log_text()
    assert env.dp_serial(ZONE) == serial   # served while control is down
    env.start_control()
    st = wait_for(lambda: (lambda s: s if s["state"] == "published" else None)(
        env.zone_status(ZONE)), 10, "published after restart")
    assert st["serial"] == serial
    assert st["transfers"] == before["transfers"], "re-transferred after restart"
    assert st["last_transfer"] == before["last_transfer"]
    assert abs(st["next_refresh"] - before["next_refresh"]) <= 1
    assert env.dp_serial(ZONE) == serial
    g = env.zone_status(GATE)
    assert g["refused"] == 1 and g["serial"] == SERIAL


def _expired_answer(r):
    """SERVFAIL, not authoritative, no records, EDE 14 "zone expired"."""
    assert r.rcode() == dns.rcode.SERVFAIL, r
    assert not r.flags & dns.flags.AA and not r.answer and not r.authority
    ede = [(o.code, o.text) for o in r.options if isinstance(o, dns.edns.EDEOption)]
    assert ede == [(dns.edns.EDECode.NOT_READY, "zone expired")], r


def _dp_query_edns(env, name, rdtype):
    q = dns.message.make_query(name, rdtype, use_edns=0)
    return dns.query.udp(q, "127.0.0.1", port=env.dp.port, timeout=1)


def test_expired_at_start_answers_servfail_then_refreshed(env):
    """A zone already expired at start is expired on the dataplane (kept
    loaded, answered SERVFAIL with EDE 14) while no primary answers; once
    one does, the refresh's publish serves it again."""
    serial = env.zone_status(FO)["serial"]
    env.ctl.stop()
    path = os.path.join(env.workdir, "state", "fo.test.state")
    with open(path) as f:
        st = json.load(f)
    st["expire_at"] = int(time.time()) - 10
    with open(path, "w") as f:
        json.dump(st, f)
    # the same configuration with no primary of fo.test. reachable
    conf = env.conf
    with open(conf) as f:
        text = f.read()
    i = text.index("  - domain: %s\n" % FO)
    knot = "      - address: 127.0.0.1@%d\n        key: xfr-key\n" % env.knot.port
    assert knot in text[i:]
    down = text[:i] + text[i:].replace(knot, "", 1)
    env.conf = os.path.join(env.workdir, "control-fo-down.yaml")
    with open(env.conf, "w") as f:
        f.write(down)
    try:
        env.start_control()
        wait_for(lambda: "expired on the dataplane" in env.ctl.log_text(), 15, "expired")
        log = env.ctl.log_text()
        assert "zone fo.test.: serial %d expired at" % serial in log
        assert "dropped from the dataplane" not in log
        _expired_answer(_dp_query_edns(env, FO, dns.rdatatype.SOA))
        _expired_answer(_dp_query_edns(env, "www." + FO, dns.rdatatype.A))
        r = env.dp_query("www." + FO, dns.rdatatype.A)     # no EDNS: no OPT, no EDE
        assert r.rcode() == dns.rcode.SERVFAIL and r.edns == -1
        # the other zones are served as before
        assert env.dp_serial(ZONE) is not None
        st = env.zone_status(FO)
        assert st["state"] == "expired" and not st["served"]
        wait_for(lambda: "zone fo.test.: refresh failed" in env.ctl.log_text(), 15,
                 "refresh failed")
        _expired_answer(_dp_query_edns(env, FO, dns.rdatatype.SOA))
    finally:
        env.ctl.stop()
        env.conf = conf
    # primaries back: the expired zone is republished and served again
    env.start_control()
    wait_for(lambda: "served again" in env.ctl.log_text(), 15, "republished")
    st = env.zone_status(FO)
    assert st["state"] == "published" and st["expire_at"] > time.time() + 1000000
    env.wait_dp_serial(FO, serial)
    r = _dp_query_edns(env, FO, dns.rdatatype.SOA)
    assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA
    assert not [o for o in r.options if isinstance(o, dns.edns.EDEOption)]
