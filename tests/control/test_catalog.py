"""Catalog zones (RFC 9432, consumer) and configuration reload: knotd
serves a catalog and its members -> edgedns-control -> dataplane."""

import os
import signal

import dns.rcode
import dns.rdatatype
import primaries

from conftest import (CAT, CONF, MEMBERS, NEWZ, PRIMARY, SERIAL, catalog_text, wait_for)

M1, M2, M3 = MEMBERS


def set_catalog(env, serial, members, version=True):
    primaries.write(env.zonefiles[CAT], catalog_text(serial, members, version))
    env.knot.reload(CAT)    # knotd NOTIFYs edgedns-control
    primaries.wait_serial("127.0.0.1", env.knot.port, CAT, serial)


def refused(env, zone):
    r = env.dp_query(zone, dns.rdatatype.SOA)
    return r.rcode() == dns.rcode.REFUSED


def files_of(env, zone):
    base = zone.rstrip(".")
    return [p for p in (os.path.join(env.snap, base + ".snap"), os.path.join(env.snap, base + ".zone"),
                        os.path.join(env.state, base + ".state")) if os.path.exists(p)]


def log_has(env, text, timeout=10):
    return wait_for(lambda: text in env.ctl.log_text(200000), timeout, repr(text))


def test_catalog_members_served(catenv):
    for z in (M1, M2, CONF):
        catenv.wait_dp_serial(z, SERIAL)
    assert refused(catenv, CAT)             # the catalog itself is not served
    st = wait_for(lambda: (lambda s: s if s["state"] == "published" else None)(
        catenv.zone_status(CAT)), 10, "catalog published")
    assert st["kind"] == "catalog" and st["members"] == 2
    m = catenv.zone_status(M1)
    assert m["kind"] == "member" and m["catalog"] == CAT and m["transfers"] == 1
    assert m["primaries"][0]["address"] == "127.0.0.1@%d" % catenv.knot.port
    r = catenv.dp_query("www." + M2, dns.rdatatype.A)
    assert r.answer and r.answer[0][0].address == "192.0.2.80"
    assert os.path.exists(os.path.join(catenv.state, "cat.test.catalog"))


def test_catalog_add_member(catenv):
    set_catalog(catenv, SERIAL + 1, [("m1", M1), ("m2", M2), ("m3", M3), ("c", CONF)])
    catenv.wait_dp_serial(M3, SERIAL)
    assert catenv.zone_status(M3)["kind"] == "member"
    log_has(catenv, "zone %s: listed in catalog %s but configured as a zone: the configured "
            "zone wins" % (CONF, CAT))
    assert catenv.zone_status(CONF)["kind"] == "zone"


def test_catalog_remove_member(catenv):
    catenv.wait_dp_serial(M2, SERIAL)
    assert files_of(catenv, M2)
    set_catalog(catenv, SERIAL + 2, [("m1", M1), ("m3", M3), ("c", CONF)])
    wait_for(lambda: refused(catenv, M2), 10, "m2 REFUSED")
    wait_for(lambda: not files_of(catenv, M2), 10, "m2 files gone")
    r = catenv.request({"cmd": "zone-status", "zone": M2})
    assert r["ok"] is False and "no such zone" in r["error"]
    assert catenv.dp_serial(M1) == SERIAL and catenv.dp_serial(M3) == SERIAL


def test_catalog_member_reset(catenv):
    catenv.wait_dp_serial(M1, SERIAL)
    set_catalog(catenv, SERIAL + 3, [("m1new", M1), ("m3", M3), ("c", CONF)])
    log_has(catenv, "zone %s: member zone reset" % M1)
    catenv.wait_dp_serial(M1, SERIAL)
    st = wait_for(lambda: (lambda s: s if s["state"] == "published" else None)(
        catenv.zone_status(M1)), 10, "m1 published again")
    assert st["transfers"] == 1      # state from scratch


def test_catalog_without_version_refused(catenv):
    before = catenv.zone_status(CAT)
    set_catalog(catenv, SERIAL + 4, [("m3", M3)], version=False)
    st = wait_for(lambda: (lambda s: s if s["refused"] > before["refused"] else None)(
        catenv.zone_status(CAT)), 10, "catalog refused")
    assert "no version" in st["last_error"], st
    assert st["members"] == 3 and st["serial"] == SERIAL + 3
    assert catenv.dp_serial(M1) == SERIAL and catenv.dp_serial(M3) == SERIAL


def test_catalog_restart_serves_members_at_once(catenv):
    set_catalog(catenv, SERIAL + 5, [("m1new", M1), ("m3", M3), ("c", CONF)])
    wait_for(lambda: catenv.zone_status(CAT)["serial"] == SERIAL + 5, 10, "catalog fixed")
    catenv.ctl.stop()
    catenv.start_control()
    # at once, from the saved member list and the members' own state
    log = catenv.ctl.log_text()
    assert "zone %s: 3 members from the saved list" % CAT in log, log
    for z in (M1, M3):
        st = catenv.zone_status(z)
        assert st["kind"] == "member" and st["state"] == "published" and st["transfers"] == 1
        assert catenv.dp_serial(z) == SERIAL
    wait_for(lambda: catenv.zone_status(CAT)["serial"] == SERIAL + 5, 10, "catalog refreshed")
    assert catenv.zone_status(M1)["transfers"] == 1


def write_conf(env, extra_zone=""):
    primaries.write(env.conf, env.conf_head + env.conf_zones + extra_zone + env.conf_catalog)


def test_reload_adds_and_removes_zones(catenv):
    write_conf(catenv, "  - domain: %s\n    primary:\n" % NEWZ + PRIMARY % catenv.knot.port)
    os.kill(catenv.ctl.proc.pid, signal.SIGHUP)
    catenv.wait_dp_serial(NEWZ, SERIAL)
    assert catenv.zone_status(NEWZ)["kind"] == "zone"
    write_conf(catenv)
    p = catenv.edgednsctl("reload")
    assert p.returncode == 0 and "reloaded" in p.stdout, p.stderr
    wait_for(lambda: refused(catenv, NEWZ), 10, "new.test. REFUSED")
    wait_for(lambda: not files_of(catenv, NEWZ), 10, "new.test. files gone")
    assert catenv.dp_serial(M1) == SERIAL and catenv.dp_serial(CONF) == SERIAL


def test_reload_broken_yaml_keeps_config(catenv):
    good = open(catenv.conf).read()
    primaries.write(catenv.conf, good + "zone:\n  - domain: [oops\n")
    try:
        p = catenv.edgednsctl("reload")
        assert p.returncode == 1 and "control.yaml:" in p.stderr, (p.stdout, p.stderr)
        os.kill(catenv.ctl.proc.pid, signal.SIGHUP)
        log_has(catenv, "SIGHUP: reloading")
        wait_for(lambda: catenv.ctl.log_text(200000).count("reload failed, configuration "
                                                           "unchanged") >= 2, 10, "logged")
    finally:
        primaries.write(catenv.conf, good)
    # the running config still works: zones served, refresh works
    assert catenv.dp_serial(CONF) == SERIAL and catenv.dp_serial(M3) == SERIAL
    assert catenv.edgednsctl("refresh", CONF).returncode == 0
    wait_for(lambda: catenv.zone_status(CONF)["state"] == "published", 10, "refreshed")
    assert catenv.ctl_alive()
