"""The edge's generated BIRD configuration, the BIRD client and the anycast
policy against a real PoP router BIRD, in network namespaces (conftest.py).
The tests share one lab; each begins with lab.ensure() (both BIRDs running,
sessions up, the service withdrawn)."""

import os
import re
import signal
import subprocess
import time

from conftest import CLI, EDGE4, EDGE6, P4, P6, wait_for

GSHUT = "65535,0"
ANNOUNCING = ("anycast_dns_4", "anycast_dns_6", "gshut_dns_4", "gshut_dns_6")


def removed_lines(text, prefix):
    """The router's trace of routes from the edge leaving its table:
    'bgp_edge4.ipv4 > removed [sole] 203.0.113.53/32 unicast'."""
    return [line for line in text.splitlines()
            if re.search(r"bgp_edge[46]\.ipv[46] > removed .*%s" % re.escape(prefix), line)]


def measure_drop(lab, what):
    """Seconds until the router has neither prefix (polled every 10 ms)."""
    t0 = time.monotonic()
    wait_for(lambda: not lab.router_has(P4) and not lab.router_has(P6), timeout=10,
             what="router drops the routes after %s" % what, step=0.01)
    return time.monotonic() - t0


def test_sessions_up(lab):
    lab.ensure()
    e = lab.edge.protocols()
    assert e["bgp_r4"]["info"] == "Established"       # with TCP MD5
    assert e["bgp_r6"]["info"] == "Established"
    assert e["bfd1"]["state"] == "up"
    assert lab.router.bfd_sessions() == {EDGE4: "Up", EDGE6: "Up"}


def test_fail_closed_at_start(lab):
    """A fresh BIRD announces nothing: the announcing protocols are down
    and the router has no route, while the sessions are up."""
    lab.ensure()
    ps = lab.edge.protocols()
    for name in ANNOUNCING:
        assert ps[name]["state"] == "down", ps
    assert lab.policy("state") == "withdrawn"
    assert not lab.router_has(P4) and not lab.router_has(P6)
    assert lab.edge.routes(P4) == []
    # nothing in the edge's kernel either (no kernel protocol)
    assert lab.nsx(lab.ns_edge, "ip", "route", "show", "203.0.113.53").stdout.strip() == ""


def test_announce(lab):
    lab.ensure()
    lab.policy("announce")
    assert lab.policy("state") == "announced"
    wait_for(lambda: lab.router_has(P4) and lab.router_has(P6), what="routes at the router")
    r4, r6 = lab.router_routes(P4), lab.router_routes(P6)
    assert len(r4) == 1 and len(r6) == 1
    assert r4[0]["best"] and r4[0]["via"] == EDGE4 and r4[0]["communities"] == []
    assert r6[0]["best"] and r6[0]["via"] == EDGE6 and r6[0]["communities"] == []
    assert r4[0]["proto"] == "bgp_edge4" and r6[0]["proto"] == "bgp_edge6"
    # the blackhole routes stay in BIRD: not in the edge's kernel
    for p in ("203.0.113.53", "2001:db8:53::53"):
        assert lab.nsx(lab.ns_edge, "ip", "route", "show", "table", "all", p
                       ).stdout.strip() == ""
    # announcing again changes nothing
    lab.policy("announce")
    assert len(lab.router_routes(P4)) == 1


def test_drain_then_withdraw(lab):
    """Drain: the router sees the prefix again, now with GRACEFUL_SHUTDOWN,
    as one route and without a gap; then the withdraw removes it."""
    lab.ensure()
    lab.policy("announce")
    wait_for(lambda: lab.router_has(P4) and lab.router_has(P6), what="announced")
    mark = lab.router.logsize()

    lab.policy("drain")
    assert lab.policy("state") == "draining"
    wait_for(lambda: lab.router_has(P4, GSHUT) and lab.router_has(P6, GSHUT),
             what="community at the router")
    for p in (P4, P6):
        rs = lab.router_routes(p)
        assert len(rs) == 1 and rs[0]["best"] and rs[0]["communities"] == [GSHUT], rs
    # the edge: the gshut route is the best one, the plain one is gone
    e4 = lab.edge.routes(P4)
    assert [r["proto"] for r in e4] == ["gshut_dns_4"] and e4[0]["communities"] == [GSHUT]

    # back to announced: the community goes, again without a gap
    lab.policy("announce")
    wait_for(lambda: lab.router_has(P4) and not lab.router_has(P4, GSHUT) and
             lab.router_has(P6) and not lab.router_has(P6, GSHUT), what="community gone")
    lab.policy("drain")
    wait_for(lambda: lab.router_has(P4, GSHUT) and lab.router_has(P6, GSHUT),
             what="community again")
    time.sleep(0.3)
    trace = lab.router.log_since(mark)
    assert removed_lines(trace, P4) == [] and removed_lines(trace, P6) == [], trace

    lab.policy("withdraw")
    assert lab.policy("state") == "withdrawn"
    wait_for(lambda: not lab.router_has(P4) and not lab.router_has(P6), what="withdrawn")
    # the check above can see a removal: the withdraw shows in the trace
    wait_for(lambda: removed_lines(lab.router.log_since(mark), P4), timeout=3,
             what="withdraw in the router's trace")


def test_wrong_order_shows_a_gap(lab):
    """The check of the test above can see a gap: disabling anycast_S_4
    before enabling gshut_S_4 withdraws the prefix for a moment, and the
    router's trace shows it. This is why anycast_drain() enables first."""
    lab.ensure()
    lab.policy("announce")
    wait_for(lambda: lab.router_has(P4), what="announced")
    mark = lab.router.logsize()
    lab.edge.cli("disable", "anycast_dns_4")
    lab.edge.cli("enable", "gshut_dns_4")
    wait_for(lambda: lab.router_has(P4, GSHUT), what="community at the router")
    wait_for(lambda: removed_lines(lab.router.log_since(mark), P4), timeout=3,
             what="the gap in the router's trace")


def test_drain_withdraw_waits(lab):
    """drain-withdraw: the community for the wait, then nothing."""
    lab.ensure()
    lab.policy("announce")
    wait_for(lambda: lab.router_has(P4), what="announced")
    p = subprocess.Popen([CLI, "-s", lab.edge.sock, "drain-withdraw", "dns", "1500",
                          P4, P6])
    try:
        t0 = time.monotonic()
        wait_for(lambda: lab.router_has(P4, GSHUT), what="community")
        assert lab.router_has(P6, GSHUT)
        assert p.wait(timeout=10) == 0
        elapsed = time.monotonic() - t0
        assert elapsed >= 1.0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    wait_for(lambda: not lab.router_has(P4) and not lab.router_has(P6), what="withdrawn")


def test_restart_while_withdrawn(lab):
    lab.ensure()
    reboot = status(lab)["last-reboot"]
    lab.restart_edge()
    assert status(lab)["last-reboot"] != reboot
    time.sleep(0.5)
    assert not lab.router_has(P4) and not lab.router_has(P6)
    assert lab.policy("state") == "withdrawn"


def test_restart_while_announced_fails_closed(lab):
    """A BIRD that restarts while announcing comes back announcing nothing
    (the file has the protocols disabled) until control asserts again."""
    lab.ensure()
    lab.policy("announce")
    wait_for(lambda: lab.router_has(P4) and lab.router_has(P6), what="announced")
    lab.restart_edge()
    assert lab.policy("state") == "withdrawn"
    time.sleep(0.5)
    assert not lab.router_has(P4) and not lab.router_has(P6)
    lab.policy("announce")
    wait_for(lambda: lab.router_has(P4) and lab.router_has(P6), what="announced again")


def status(lab):
    rc, out = lab.edge.cli("status")
    assert rc == 0, out
    return dict(line.split(" ", 1) for line in out.strip().splitlines())


def test_configure_disables_runtime_enabled(lab):
    """What BIRD 2.0.12 does on 'configure' with protocols enabled at run
    time: it compares each protocol's configured 'disabled' with its
    run-time state (nest/proto.c, proto_reconfigure), so the announcing
    protocols, disabled in the file, are disabled again even though the
    file did not change: the routes are withdrawn. Control must assert its
    state after every configure. A configure that fails (a broken file)
    changes nothing."""
    lab.ensure()
    lab.policy("announce")
    wait_for(lambda: lab.router_has(P4) and lab.router_has(P6), what="announced")
    before = status(lab)

    # a broken file: refused with BIRD's message, state unchanged
    broken = os.path.join(lab.workdir, "broken.conf")
    with open(broken, "w") as f:
        f.write("router id 192.0.2.2;\nprotocol static {\n")
    rc, out = lab.edge.cli("configure", broken, check=False)
    assert rc == 2 and "8002" in out and "broken.conf" in out, out
    rc, out = lab.edge.cli("check", broken, check=False)
    assert rc == 2 and "8002" in out, out
    assert lab.policy("state") == "announced"
    assert lab.router_has(P4)

    rc, out = lab.edge.cli("check")
    assert rc == 0, out
    rc, out = lab.edge.cli("configure")
    assert rc == 0 and out.split()[0] in ("0003", "0004"), out
    print("configure answered: %s" % out.strip())
    # once BIRD says the reconfiguration is done, the protocols are off
    wait_for(lambda: lab.edge.cli("configure-status")[1].startswith("0003"), timeout=5,
             what="reconfiguration done")
    assert lab.policy("state") == "withdrawn"
    wait_for(lambda: not lab.router_has(P4) and not lab.router_has(P6), timeout=5,
             what="withdrawn at the router after configure")
    after = status(lab)
    assert after["last-reboot"] == before["last-reboot"]
    assert after["last-reconfiguration"] != before["last-reconfiguration"]
    # control re-asserts
    lab.policy("announce")
    wait_for(lambda: lab.router_has(P4) and lab.router_has(P6), what="announced again")
    # the sessions did not flap: the BGP protocols' config did not change
    assert lab.sessions_up()


def test_kill9_edge_router_drops(lab, capsys):
    lab.ensure()
    lab.policy("announce")
    wait_for(lambda: lab.router_has(P4) and lab.router_has(P6), what="announced")
    lab.edge.send_signal(signal.SIGKILL)
    t = measure_drop(lab, "kill -9 of the edge BIRD")
    lab.edge.stop()
    with capsys.disabled():
        print("\n[bgp] kill -9 edge BIRD: router dropped the routes in %.3f s" % t)
    assert t < 5.0


def test_silent_edge_bfd_drops(lab, capsys):
    """The edge BIRD stops (SIGSTOP): its sockets stay open, so TCP says
    nothing and the BGP hold timer (30 s) is far; only BFD (100 ms x 3)
    tells the router. The closest we have to a dead dataplane that no
    longer passes the exception path's packets."""
    lab.ensure()
    lab.policy("announce")
    wait_for(lambda: lab.router_has(P4) and lab.router_has(P6), what="announced")
    mark = lab.router.logsize()
    lab.edge.send_signal(signal.SIGSTOP)
    try:
        t = measure_drop(lab, "SIGSTOP of the edge BIRD")
    finally:
        lab.edge.send_signal(signal.SIGCONT)
    with capsys.disabled():
        print("\n[bgp] edge BIRD stopped (BFD only): router dropped the routes in %.3f s" % t)
    assert t < 5.0
    # the router says why: BFD, not the hold timer or a TCP close
    log = wait_for(lambda: (lambda t: t if "bgp_edge4: BFD session down" in t and
                            "bgp_edge6: BFD session down" in t else None)(
                   lab.router.log_since(mark)), timeout=3, what="BFD session down logged")
    assert "Hold timer expired" not in log and "Connection closed" not in log, log
    lab.edge.stop()


def test_link_down_router_drops(lab, capsys):
    lab.ensure()
    lab.policy("announce")
    wait_for(lambda: lab.router_has(P4) and lab.router_has(P6), what="announced")
    lab.nsx(lab.ns_edge, "ip", "link", "set", "ve", "down")
    try:
        t = measure_drop(lab, "the edge's interface going down")
    finally:
        lab.nsx(lab.ns_edge, "ip", "link", "set", "ve", "up")
    with capsys.disabled():
        print("\n[bgp] edge interface down: router dropped the routes in %.3f s" % t)
    assert t < 5.0
    # the sessions come back by themselves, announcing nothing new: the
    # protocols stayed enabled in the running BIRD, so the routes return
    lab.wait_sessions()
    wait_for(lambda: lab.router_has(P4) and lab.router_has(P6), what="routes back")


def configure_edge(lab, extra=()):
    """The edge's config generated again (with extra gen-config options) and
    loaded by the running BIRD; until configure-status says done."""
    lab.gen_edge(extra)
    rc, out = lab.edge.cli("configure")
    assert rc == 0, out
    wait_for(lambda: lab.edge.cli("configure-status")[1].startswith("0003"), timeout=10,
             what="configure done")


def test_withdraw_every_service(lab):
    """edgedns-bird withdraw without a service (what the OnFailure unit runs
    when control cannot come back): every anycast_* and then every gshut_*
    protocol of the BIRD is disabled, whichever service and state (one
    draining, one announced here), and the router loses every prefix."""
    lab.ensure()
    p4b = "198.51.100.53/32"
    configure_edge(lab, ["--service", "other,%s" % p4b])
    try:
        lab.policy("announce")
        lab.policy("drain")
        rc, out = lab.edge.cli("announce", "other", p4b)
        assert rc == 0, out
        wait_for(lambda: lab.router_has(P4, GSHUT) and lab.router_has(P6, GSHUT) and
                 lab.router_has(p4b), what="dns draining and other announced at the router")
        p = subprocess.run([CLI, "-s", lab.edge.sock, "withdraw"], capture_output=True,
                           text=True, timeout=30)
        assert p.returncode == 0, p.stdout + p.stderr
        lines = p.stdout.splitlines()
        # the plain announcements first, then the gshut ones
        names = [line.split(":")[0] for line in lines[:-1]]
        assert names == ["anycast_dns_4", "anycast_dns_6", "anycast_other_4",
                         "anycast_other_6", "gshut_dns_4", "gshut_dns_6", "gshut_other_4",
                         "gshut_other_6"], p.stdout
        assert "anycast_other_4: disabled" in lines and "gshut_dns_4: disabled" in lines, \
            p.stdout
        assert "anycast_dns_4: already disabled" in lines, p.stdout   # drained: down
        assert lines[-1] == "withdrawn: 4 protocols disabled", p.stdout
        assert lab.policy("state") == "withdrawn"
        rc, out = lab.edge.cli("state", "other", p4b)
        assert rc == 0 and out.strip() == "withdrawn", out
        wait_for(lambda: not lab.router_has(P4) and not lab.router_has(P6) and
                 not lab.router_has(p4b), what="every prefix gone at the router")
        # again: nothing left to do, still success
        p = subprocess.run([CLI, "-s", lab.edge.sock, "withdraw"], capture_output=True,
                           text=True, timeout=30)
        assert p.returncode == 0 and p.stdout.splitlines()[-1] == \
            "withdrawn: 0 protocols disabled", p.stdout
    finally:
        configure_edge(lab)
    # without a BIRD: an error, exit 2
    p = subprocess.run([CLI, "-s", lab.edge.sock + ".none", "withdraw"], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 2 and "edgedns-bird: connect" in p.stderr, p.stderr
