"""edgedns-control driving a real BIRD 2 (control/route_bird.c): the BIRD
config written from the bgp and service sections, the announcing protocols
switched by the health checks, maintenance (drain then withdraw), the
wanted state re-asserted after a BIRD restart and after `configure`, a
restarted control that adopts what BIRD has instead of withdrawing, the
stops (SIGTERM drains for stop-drain-time and withdraws; `edgednsctl stop
--keep-routes` leaves BIRD as it is), and the systemd watchdog held back
while the health thread is stuck on a frozen BIRD. BIRD runs on loopback
only, without neighbours: the protocols' states are what is checked here
(tests/lab checks the routes at a router). Every process is ours and
stopped by pid; every wait is bounded."""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

import primaries
import pytest
from conftest import (BUILD, PRIMARY, SERIAL, Env, control_head, knot_with_notify,
                      start_dataplane, stop_env, wait_for)
from lib import procs
from test_daemons import Notify

BIRD = shutil.which("bird") or "/usr/sbin/bird"
BIRDCLI = os.path.join(BUILD, "edgedns-bird")
HZ = "birdh.test."
PROTOS = ("anycast_dns_4", "anycast_dns_6", "gshut_dns_4", "gshut_dns_6")


class Bird:
    def __init__(self, wd, conf):
        self.wd, self.conf = wd, conf
        self.sock = os.path.join(wd, "bird.ctl")
        self.srv = None

    def start(self):
        self.srv = procs.Server("bird", [BIRD, "-f", "-c", self.conf, "-s", self.sock,
                                         "-P", os.path.join(self.wd, "bird.pid")],
                                os.path.join(self.wd, "bird.log"))
        wait_for(lambda: self.srv.alive() and os.path.exists(self.sock), 10, "bird socket")

    def stop(self):
        if self.srv is not None:
            self.srv.stop()
            self.srv = None

    def protocols(self):
        p = subprocess.run([BIRDCLI, "-s", self.sock, "show"], capture_output=True, text=True,
                           timeout=10)
        assert p.returncode == 0, p.stderr
        out = {}
        for line in p.stdout.splitlines():
            f = line.split()
            if f and f[0] in PROTOS:
                out[f[0]] = f[3]   # name proto table STATE ...
        return out

    def cli(self, *args):
        return subprocess.run([BIRDCLI, "-s", self.sock] + list(args), capture_output=True,
                              text=True, timeout=15)


def enabled(b):
    st = b.protocols()
    return {p for p in PROTOS if st.get(p) in ("up", "start")}


@pytest.fixture(scope="module")
def benv():
    if not os.access(BIRD, os.X_OK):
        pytest.fail("bird missing (apt-get install bird2; tests/deps.sh installs it)")
    wd = tempfile.mkdtemp(prefix="edgedns-hbird-")
    e = Env(wd)
    e.bird = None
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
        e.birdconf = os.path.join(wd, "bird.conf")
        e.bird = Bird(wd, e.birdconf)
        e.conf = os.path.join(wd, "control.yaml")
        primaries.write(e.conf, control_head(e, wd) + "zone:\n  - domain: %s\n    primary:\n"
                        % HZ + PRIMARY % e.knot.port + (
                            "service:\n"
                            "  - id: dns\n"
                            "    address: [192.0.2.153, 2001:db8:53::53]\n"
                            "    port: %d\n"
                            "    critical-zone: %s\n"
                            "    tcp-check: false\n"
                            "    check:\n"
                            # slower than the rounds: a restarted control must
                            # not count it as failed before its first result
                            "      - command: sleep 0.3; test -e %s\n"
                            "        timeout: 2s\n"
                            "        interval: 100ms\n"
                            "    interval: 100ms\n"
                            "    hold-down: 1s\n"
                            "    drain-time: 1s\n"
                            "bgp:\n"
                            "  router-id: 192.0.2.2\n"
                            "  local-as: 64512\n"
                            "  socket: %s\n"
                            "  config-file: %s\n" % (e.dp.port, HZ, e.flag, e.bird.sock,
                                                     e.birdconf)))
        # control writes the BIRD config; BIRD starts from it (fail closed)
        e.start_control()
        wait_for(lambda: os.path.exists(e.birdconf), 10, "bird.conf written")
        e.bird.start()
        yield e
    finally:
        if e.bird is not None:
            e.bird.stop()
        stop_env(e, wd)


def health(e):
    r = e.request({"cmd": "health"})
    assert r["ok"], r
    return r["services"][0]


def test_bird_config_generated_and_fail_closed(benv):
    e = benv
    p = subprocess.run([os.path.join(BUILD, "edgedns-control"), "-c", e.conf, "-B"],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 0, p.stderr
    with open(e.birdconf) as f:
        text = f.read()
    assert p.stdout == text
    for proto in PROTOS:
        assert "protocol static %s" % proto in text, proto
    assert "192.0.2.153/32" in text and "2001:db8:53::53/128" in text
    assert "protocol kernel" not in text
    assert subprocess.run([BIRD, "-p", "-c", e.birdconf], timeout=10).returncode == 0
    assert "BIRD config %s written" % e.birdconf in e.ctl.log_text()


def test_healthy_enables_anycast_protocols(benv):
    e = benv
    wait_for(lambda: enabled(e.bird) == {"anycast_dns_4", "anycast_dns_6"}, 15, "announced")
    s = health(e)
    assert s["route"] == "announced" and s["bird"]["applied"] == "announced", s


def test_unhealthy_disables_them(benv):
    e = benv
    wait_for(lambda: health(e)["route"] == "announced", 15, "announced")
    os.unlink(e.flag)
    try:
        t0 = time.monotonic()
        wait_for(lambda: enabled(e.bird) == set(), 5, "withdrawn in BIRD")
        print("failure to protocols disabled in BIRD: %.0f ms" % ((time.monotonic() - t0) * 1e3))
    finally:
        open(e.flag, "w").close()
    wait_for(lambda: enabled(e.bird) == {"anycast_dns_4", "anycast_dns_6"}, 10, "back")


def test_bird_restart_and_configure_reasserted(benv):
    e = benv
    wait_for(lambda: health(e)["route"] == "announced", 15, "announced")
    e.bird.stop()
    e.bird.start()
    # BIRD starts fail-closed; control puts the announcement back
    wait_for(lambda: enabled(e.bird) == {"anycast_dns_4", "anycast_dns_6"}, 5,
             "re-asserted after a BIRD restart")
    assert "BIRD has it withdrawn, wanted announced" in e.ctl.log_text() or \
        "BIRD state not readable" in e.ctl.log_text()
    p = e.bird.cli("configure")
    assert p.returncode == 0, p.stderr
    wait_for(lambda: enabled(e.bird) == {"anycast_dns_4", "anycast_dns_6"}, 5,
             "re-asserted after configure")


def test_maintenance_drains_in_bird(benv):
    e = benv
    wait_for(lambda: health(e)["route"] == "announced", 15, "announced")
    assert e.edgednsctl("maintenance", "dns", "on").returncode == 0
    wait_for(lambda: enabled(e.bird) == {"gshut_dns_4", "gshut_dns_6"}, 5, "draining in BIRD")
    wait_for(lambda: enabled(e.bird) == set(), 5, "withdrawn after the drain")
    assert e.edgednsctl("maintenance", "dns", "off").returncode == 0
    wait_for(lambda: enabled(e.bird) == {"anycast_dns_4", "anycast_dns_6"}, 5, "back")


def test_control_killed_bird_keeps_state_and_restart_adopts(benv):
    """kill -9 of control: BIRD keeps its protocols as they were (here,
    with the socket dataplane, nothing else acts; on the appliance the
    dataplane's lease cuts BGP and BFD once it runs out, tests/lab), and a
    control started again adopts them without a transition."""
    e = benv
    wait_for(lambda: health(e)["route"] == "announced", 15, "announced")
    e.ctl.proc.send_signal(signal.SIGKILL)
    e.ctl.proc.wait(5)
    time.sleep(0.5)
    assert enabled(e.bird) == {"anycast_dns_4", "anycast_dns_6"}
    e.start_control()
    log = e.ctl.log_text()
    assert "service dns: announced at start" in log, log
    assert "BIRD config %s unchanged" % e.birdconf in log, log
    # the checks run; nothing is withdrawn on the way
    for _ in range(10):
        assert enabled(e.bird) == {"anycast_dns_4", "anycast_dns_6"}
        time.sleep(0.1)
    s = health(e)
    assert s["route"] == "announced" and s["transitions"] == 0, s


def stop_keeping_routes(e):
    p = e.edgednsctl("stop", "--keep-routes")
    assert p.returncode == 0 and "routes left in BIRD" in p.stdout, (p.stdout, p.stderr)
    assert e.ctl.proc.wait(10) == 0, e.ctl.log_text()


def test_restart_with_a_changed_bird_config_keeps_the_announcement(benv):
    """A new service in the file: control, stopped for a restart that keeps
    the routes (`edgednsctl stop --keep-routes`: SIGTERM would withdraw
    them), writes the new BIRD config and has BIRD load it; the configure
    would disable the announcing protocols, so control sets what BIRD
    announced before again once the configure is done, and adopts it."""
    e = benv
    wait_for(lambda: health(e)["route"] == "announced", 15, "announced")
    with open(e.conf) as f:
        text = f.read()
    extra = ("  - id: extra\n"
             "    address: 198.51.100.154\n"
             "    tcp-check: false\n"
             "    interval: 100ms\n")
    text = text.replace("bgp:\n", extra + "bgp:\n", 1)
    with open(e.conf, "w") as f:
        f.write(text)
    stop_keeping_routes(e)
    e.start_control()
    log = e.ctl.log_text()
    assert "BIRD config %s written" % e.birdconf in log, log
    assert "service dns: announced at start" in log, log
    wait_for(lambda: "anycast_extra_4" in e.bird.cli("show").stdout, 5, "the new protocols")
    # (the new service announces too once its rise checks passed)
    assert {"anycast_dns_4", "anycast_dns_6"} <= enabled(e.bird)
    assert not {"gshut_dns_4", "gshut_dns_6"} & enabled(e.bird)
    s = health(e)
    assert s["route"] == "announced" and s["transitions"] == 0, s



ANNOUNCED = {"anycast_dns_4", "anycast_dns_6"}
DRAINING = {"gshut_dns_4", "gshut_dns_6"}


def test_stop_keep_routes_leaves_bird_and_restart_adopts(benv):
    """`edgednsctl stop --keep-routes`: control exits 0 at once, BIRD keeps
    announcing (no drain), and the next start adopts without a transition."""
    e = benv
    wait_for(lambda: health(e)["route"] == "announced" and enabled(e.bird) >= ANNOUNCED, 15,
             "announced")
    t0 = time.monotonic()
    stop_keeping_routes(e)
    assert time.monotonic() - t0 < 3
    log = e.ctl.log_text()
    assert "stop requested on the control socket, routes left in BIRD" in log, log
    assert "service dns: stopping, announced left in BIRD as it is" in log, log
    assert "draining" not in log.split("stop requested")[1], log
    for _ in range(5):
        assert enabled(e.bird) & (ANNOUNCED | DRAINING) == ANNOUNCED
        time.sleep(0.1)
    e.start_control()
    assert "service dns: announced at start" in e.ctl.log_text()
    for _ in range(10):
        assert enabled(e.bird) & (ANNOUNCED | DRAINING) == ANNOUNCED
        time.sleep(0.1)
    s = health(e)
    assert s["route"] == "announced" and s["transitions"] == 0, s


def test_sigterm_drains_then_withdraws(benv):
    """SIGTERM: the service is drained (its gshut protocols up, the plain
    ones down) for stop-drain-time (default 2 s), then withdrawn (all four
    down), logged; control exits 0. The next start begins withdrawn and
    announces after its rise rounds."""
    e = benv
    wait_for(lambda: health(e)["route"] == "announced" and
             enabled(e.bird) & (ANNOUNCED | DRAINING) == ANNOUNCED, 15, "announced")
    t0 = time.monotonic()
    e.ctl.proc.send_signal(signal.SIGTERM)
    wait_for(lambda: enabled(e.bird) & (ANNOUNCED | DRAINING) == DRAINING, 3,
             "draining in BIRD", step=0.02)
    t_drain = time.monotonic()
    wait_for(lambda: enabled(e.bird) & (ANNOUNCED | DRAINING) == set(), 6, "withdrawn in BIRD",
             step=0.02)
    t_gone = time.monotonic()
    assert e.ctl.proc.wait(10) == 0, e.ctl.log_text()
    print("SIGTERM: drained after %.0f ms, withdrawn after %.0f ms" % (
        (t_drain - t0) * 1e3, (t_gone - t0) * 1e3))
    assert t_gone - t_drain >= 1.5, (t_drain - t0, t_gone - t0)   # stop-drain-time 2 s
    log = e.ctl.log_text()
    assert "service dns: stopping: draining (GRACEFUL_SHUTDOWN, RFC 8326) for 2 s" in log, log
    assert "service dns: stopping: withdrawn in BIRD" in log, log
    e.start_control()
    assert "service dns: withdrawn at start" in e.ctl.log_text()
    wait_for(lambda: enabled(e.bird) & (ANNOUNCED | DRAINING) == ANNOUNCED, 15,
             "announced again after the restart")


def test_watchdog_held_back_while_health_thread_stuck(benv):
    """Under systemd with WatchdogSec: keep-alives every half interval while
    the health thread completes its passes; a BIRD that stops answering
    (SIGSTOP: each command waits for the BIRD client's 5 s timeout) keeps
    the thread from completing them, and the keep-alives stop (systemd
    would kill control and restart it); they resume once BIRD answers."""
    e = benv
    wait_for(lambda: health(e)["route"] == "announced", 15, "announced")
    stop_keeping_routes(e)
    n = Notify(os.path.join(e.workdir, "notify.sock"))
    usec = 1000000
    try:
        env = dict(os.environ, NOTIFY_SOCKET=n.path, WATCHDOG_USEC=str(usec))
        t0 = time.monotonic()
        e.start_control(env=env)
        t_ready, _ = n.wait("READY", "1", since=t0)
        time.sleep(2)
        ka = n.keepalives(t_ready, time.monotonic())
        assert len(ka) >= 3 and max(b - a for a, b in zip(ka, ka[1:])) < usec / 1e6, ka
        e.bird.srv.proc.send_signal(signal.SIGSTOP)
        t_frozen = time.monotonic()
        try:
            # a gap of two intervals without a keep-alive: systemd would
            # have killed control by then
            def gap():
                ka = n.keepalives(t_frozen, time.monotonic())
                last = ka[-1] if ka else t_frozen
                return time.monotonic() - last >= 2 * usec / 1e6
            wait_for(gap, 10, "keep-alives withheld", step=0.05)
            assert "health thread has not completed a pass" in e.ctl.log_text()
            st = [kv["STATUS"] for _, kv in n.seen("STATUS", since=t_frozen)]
            assert any(x.startswith("health thread stuck for") for x in st), st
        finally:
            e.bird.srv.proc.send_signal(signal.SIGCONT)
        t_cont = time.monotonic()
        wait_for(lambda: len(n.keepalives(t_cont, time.monotonic())) >= 3, 15,
                 "keep-alives again")
        assert "watchdog keep-alives resume" in e.ctl.log_text()
        t_term = time.monotonic()
        e.ctl.proc.send_signal(signal.SIGTERM)
        n.wait("STOPPING", "1", since=t_term)
        assert e.ctl.proc.wait(10) == 0
    finally:
        n.close()
    e.start_control()
    wait_for(lambda: health(e)["route"] == "announced", 15, "announced again")
