"""edgedns-control's health checks and route state (control/health.h),
without BIRD: a knotd primary, the socket dataplane, and services whose
checks are the heartbeat (the socket dataplane answers `ping`), critical
zones, TCP to the dataplane, and an operator command. The route state is
control's own here (no BIRD configured); tests/lab checks it at a real
router. Every process is ours and stopped by pid; every wait is bounded."""

import json
import os
import shutil
import signal
import tempfile
import time

import primaries
import pytest
from conftest import (PRIMARY, SERIAL, Env, control_head, knot_with_notify, start_dataplane,
                      stop_env, wait_for)
from lib import procs

HZ = "health.test."


def service_conf(e):
    return (
        "service:\n"
        "  - id: dns\n"
        "    address: 127.0.0.1\n"
        "    port: %d\n"
        "    critical-zone: %s\n"
        "    check:\n"
        "      - command: test -e %s\n"
        "        timeout: 500ms\n"
        "        interval: 100ms\n"
        "    interval: 100ms\n"
        "    fall: 2\n"
        "    rise: 3\n"
        "    hold-down: 2s\n"
        "    hold-down-max: 8s\n"
        "    drain-time: 1s\n"
        "  - id: never\n"
        "    address: 127.0.0.2\n"
        "    critical-zone: missing.test.\n"
        "    tcp-check: false\n"
        "    interval: 100ms\n" % (e.dp.port, HZ, e.flag))


@pytest.fixture(scope="module")
def henv():
    wd = tempfile.mkdtemp(prefix="edgedns-health-")
    e = Env(wd)
    try:
        zd = os.path.join(wd, "zones")
        os.makedirs(zd)
        e.zonefiles[HZ] = os.path.join(zd, HZ + "zone")
        primaries.write(e.zonefiles[HZ], primaries.zone_text(HZ, SERIAL, 10))
        e.notify_port = procs.free_port()
        e.knot = knot_with_notify(os.path.join(wd, "knot"), [(HZ, e.zonefiles[HZ], True)],
                                  e.notify_port)
        start_dataplane(e, wd)
        e.flag = os.path.join(wd, "operator-ok")
        open(e.flag, "w").close()
        e.conf = os.path.join(wd, "control.yaml")
        primaries.write(e.conf, control_head(e, wd) + "zone:\n  - domain: %s\n    primary:\n"
                        % HZ + PRIMARY % e.knot.port + service_conf(e))
        e.start_control()
        e.wait_dp_serial(HZ, SERIAL)
        yield e
    finally:
        stop_env(e, wd)


def health(e, sid):
    r = e.request({"cmd": "health"})
    assert r["ok"], r
    return {s["id"]: s for s in r["services"]}[sid]


def health_when(e, sid, pred, timeout, what):
    return wait_for(lambda: (lambda s: s if pred(s) else None)(health(e, sid)), timeout,
                    "%s (last: %s)" % (what, json.dumps(health(e, sid))))


def test_healthy_service_announced_after_rise(henv):
    s = health_when(henv, "dns", lambda s: s["route"] == "announced", 10, "dns announced")
    assert s["healthy"] and s["reason"] == "healthy", s
    assert s["history"].endswith("+++"), s
    for k in ("heartbeat", "zones", "tcp", "operator", "ports"):
        assert s["checks"][k]["ok"], (k, s)
    assert "probe" not in s["checks"], s      # none configured
    assert s["bird"] is None                  # no BIRD configured
    assert "service dns: announced: healthy" in henv.ctl.log_text()


def test_unconfigured_critical_zone_never_announced(henv):
    s = health_when(henv, "never", lambda s: s["rounds"] >= 5, 10, "rounds")
    assert s["route"] == "withdrawn" and not s["healthy"], s
    assert s["checks"]["zones"]["why"] == "zones: missing.test. is not configured", s
    assert "+" not in s["history"], s


def test_operator_check_failure_withdraws_with_hold_down(henv):
    e = henv
    health_when(e, "dns", lambda s: s["route"] == "announced", 10, "announced")
    os.unlink(e.flag)
    try:
        t0 = time.monotonic()
        s = health_when(e, "dns", lambda s: s["route"] == "withdrawn", 5, "withdrawn")
        took = time.monotonic() - t0
        assert "unhealthy: check 'test -e %s' exited 1" % e.flag in s["reason"], s
        assert s["flaps"] == 1 and s["held_down_until"] is not None, s
        print("operator check failure to withdraw: %.0f ms" % (took * 1000))
    finally:
        open(e.flag, "w").close()
    # healthy again at once, but held down for 2 s
    s = health_when(e, "dns", lambda s: s["healthy"], 5, "healthy again")
    assert s["route"] == "withdrawn", s
    s = health_when(e, "dns", lambda s: s["route"] == "announced", 6, "announced after hold")
    assert s["reason"] == "healthy after hold-down", s


def test_flaps_grow_the_hold_down(henv):
    e = henv
    health_when(e, "dns", lambda s: s["route"] == "announced", 15, "announced")
    before = health(e, "dns")["flaps"]
    assert before >= 1
    os.unlink(e.flag)
    try:
        s = health_when(e, "dns", lambda s: s["route"] == "withdrawn", 5, "withdrawn")
    finally:
        open(e.flag, "w").close()
    assert s["flaps"] == before + 1, s
    held = s["held_down_until"] - time.time()
    # 2 s doubled per flap (capped at 8 s): longer than the first one
    assert held > 2.5, s


def test_maintenance_drains_then_withdraws_and_survives_restart(henv):
    e = henv
    health_when(e, "dns", lambda s: s["route"] == "announced", 20, "announced")
    p = e.edgednsctl("maintenance", "dns", "on")
    assert p.returncode == 0 and "maintenance on" in p.stdout, (p.stdout, p.stderr)
    s = health_when(e, "dns", lambda s: s["route"] == "draining", 3, "draining")
    assert s["maintenance"] and s["drain_until"] is not None, s
    s = health_when(e, "dns", lambda s: s["route"] == "withdrawn", 4, "drained")
    assert s["reason"] == "maintenance: drained, withdrawn", s
    # control restarted: still in maintenance, still withdrawn
    e.ctl.stop()
    e.start_control()
    s = health_when(e, "dns", lambda s: s["rounds"] >= 5, 10, "rounds after restart")
    assert s["maintenance"] and s["route"] == "withdrawn" and s["healthy"], s
    p = e.edgednsctl("health")
    assert p.returncode == 0 and "withdrawn (healthy) (maintenance)" in p.stdout, p.stdout
    p = e.edgednsctl("maintenance", "dns", "off")
    assert p.returncode == 0, p.stderr
    s = health_when(e, "dns", lambda s: s["route"] == "announced", 3, "back")
    assert not s["maintenance"], s


def test_maintenance_unknown_service_is_an_error(henv):
    p = henv.edgednsctl("maintenance", "nope", "on")
    assert p.returncode == 1 and "no such service: nope" in p.stderr, p.stderr
    p = henv.edgednsctl("maintenance", "dns", "maybe")
    assert p.returncode == 2 and "usage" in p.stderr, p.stderr


def test_dataplane_gone_withdraws(henv):
    e = henv
    health_when(e, "dns", lambda s: s["route"] == "announced", 20, "announced")
    e.dp.proc.send_signal(signal.SIGKILL)
    e.dp.proc.wait(5)
    t0 = time.monotonic()
    s = health_when(e, "dns", lambda s: s["route"] == "withdrawn", 5, "withdrawn")
    print("dataplane killed to withdraw (control's view): %.0f ms" % (
        (time.monotonic() - t0) * 1000))
    assert "dataplane" in s["reason"] or "tcp" in s["reason"], s
