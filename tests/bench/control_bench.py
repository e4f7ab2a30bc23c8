#!/usr/bin/python3
"""control_bench.py BUILD ZONEFILE: the issue-4 benchmarks of the control
plane (tests/bench/run_control.sh runs it, bounded by timeout).

One knotd primary on 127.0.0.1 serves bench.example (the 1M-name zone of
run.sh) and NOTIFYs two secondaries of it: a second knotd, and our stack
(edgedns-control + edgedns-dataplane --io socket). Figures:
  1. initial AXFR: from start until each secondary answers the primary's
     serial (Knot first, then ours, one at a time so they do not share the
     CPU);
  2. IXFR of 100 changes (100 A records changed through a knotc
     transaction, serial bumped by Knot on commit): from the commit until
     each secondary answers the new serial, both polled every few ms;
     BENCH_CTL_ROUNDS rounds (3);
  3. memory: VmRSS (and VmHWM) of edgedns-control + edgedns-dataplane vs
     the Knot secondary, per RR.
Every process is ours, killed by pid; the work directory is removed
(BENCH_CTL_KEEP=1 keeps it)."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import dns.message
import dns.query
import dns.rdatatype

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "conformance"))
from lib import procs  # noqa: E402

KNOTD = "/usr/sbin/knotd"
KNOTC = "/usr/sbin/knotc"
ZONE = "bench.example."
AXFR_LIMIT = float(os.environ.get("BENCH_CTL_AXFR_TIMEOUT", "120"))
IXFR_LIMIT = float(os.environ.get("BENCH_CTL_IXFR_TIMEOUT", "60"))
ROUNDS = int(os.environ.get("BENCH_CTL_ROUNDS", "3"))
NCHANGE = 100


def serial(port, timeout=0.2):
    try:
        r = dns.query.udp(dns.message.make_query(ZONE, dns.rdatatype.SOA), "127.0.0.1",
                          port=port, timeout=timeout)
    except Exception:  # noqa: BLE001 - not up yet, or timed out
        return None
    if r.rcode() != 0 or not r.answer:
        return None
    return r.answer[0][0].serial


def wait_serials(ports, want, limit, alive, step=0.003):
    """Poll every port in turn until each answers serial want; returns
    {port: seconds since call} (None when not within limit)."""
    t0 = time.monotonic()
    got = {}
    while len(got) < len(ports) and time.monotonic() - t0 < limit:
        for p in ports:
            if p not in got and serial(p) == want:
                got[p] = time.monotonic() - t0
        alive()
        time.sleep(step)
    return {p: got.get(p) for p in ports}


def mem(pid):
    d = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                d[k] = int(v.split()[0]) * 1024
    return d


def count_rrs(path):
    n = 0
    with open(path) as f:
        for line in f:
            if line and line[0] not in "$;\n":
                n += 1
    return n


def knot_conf(wd, port, extra_remote, acl, zone_lines):
    os.makedirs(os.path.join(wd, "run"), exist_ok=True)
    os.makedirs(os.path.join(wd, "storage"), exist_ok=True)
    lines = [
        "server:",
        "    rundir: \"%s\"" % os.path.join(wd, "run"),
        "    listen: 127.0.0.1@%d" % port,
        "database:",
        "    storage: \"%s\"" % os.path.join(wd, "storage"),
        "control:",
        "    listen: \"%s\"" % os.path.join(wd, "run", "knot.sock"),
        "log:",
        "  - target: stderr",
        "    any: info",
        "remote:",
    ] + extra_remote + ["acl:"] + acl + [
        "template:",
        "  - id: default",
        "    storage: \"%s\"" % wd,
        "    zonefile-sync: -1",
        "    journal-content: changes",
        "    semantic-checks: off",
        "zone:",
    ] + zone_lines
    path = os.path.join(wd, "knot.conf")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def knotc(conf, *args):
    p = subprocess.run([KNOTC, "-c", conf, "-t", "30"] + list(args), capture_output=True,
                       text=True, timeout=40)
    if p.returncode != 0:
        raise RuntimeError("knotc %s: %s%s" % (" ".join(args), p.stdout, p.stderr))
    return p.stdout


def main():
    build, zonefile = sys.argv[1], os.path.abspath(sys.argv[2])
    control = os.path.join(build, "edgedns-control")
    dataplane = os.path.join(build, "edgedns-dataplane")
    nrr = count_rrs(zonefile)
    wd = tempfile.mkdtemp(prefix="edgedns-ctlbench-")
    servers = []

    def alive():
        for s in servers:
            if not s.alive():
                raise RuntimeError("%s exited %s:\n%s" % (s.name, s.proc.returncode, s.log_text()))

    try:
        p_port, k_port, d_port, n_port = (procs.free_port() for _ in range(4))
        # The primary: whole zone file, NOTIFY to both secondaries, changes
        # journaled (IXFR).
        pwd = os.path.join(wd, "primary")
        shutil.copy(zonefile, os.path.join(wd, "bench.example.zone"))
        pconf = knot_conf(pwd, p_port,
                          ["  - id: knot2", "    address: 127.0.0.1@%d" % k_port,
                           "  - id: edgedns", "    address: 127.0.0.1@%d" % n_port],
                          ["  - id: xfr", "    address: 127.0.0.1", "    action: transfer"],
                          ["  - domain: %s" % ZONE,
                           "    file: \"%s\"" % os.path.join(wd, "bench.example.zone"),
                           "    zonefile-load: difference",
                           "    notify: [knot2, edgedns]", "    acl: xfr"])
        t = time.monotonic()
        prim = procs.Server("knotd-primary", [KNOTD, "-c", pconf], os.path.join(pwd, "knotd.log"))
        servers.append(prim)
        s0 = None
        while s0 is None and time.monotonic() - t < AXFR_LIMIT:
            alive()
            s0 = serial(p_port, 1)
            time.sleep(0.1)
        if s0 is None:
            raise RuntimeError("primary did not load the zone")
        print("primary: knotd %s loaded bench.example (%d RRs) in %.1f s, serial %d" % (
            subprocess.run([KNOTD, "--version"], capture_output=True, text=True).stdout.split()[-1],
            nrr, time.monotonic() - t, s0))

        # The Knot secondary.
        kwd = os.path.join(wd, "knot2")
        kconf = knot_conf(kwd, k_port, ["  - id: primary", "    address: 127.0.0.1@%d" % p_port],
                          ["  - id: notify", "    address: 127.0.0.1", "    action: notify"],
                          ["  - domain: %s" % ZONE, "    master: primary", "    acl: notify"])
        t = time.monotonic()
        knot2 = procs.Server("knotd-secondary", [KNOTD, "-c", kconf], os.path.join(kwd, "knotd.log"))
        servers.append(knot2)
        ax_k = wait_serials([k_port], s0, AXFR_LIMIT, alive, 0.01)[k_port]
        t_k = ax_k

        # Ours: the socket dataplane, then edgedns-control.
        snap, state = os.path.join(wd, "snapshots"), os.path.join(wd, "state")
        os.makedirs(snap)
        os.makedirs(state)
        dpsock, sock = os.path.join(wd, "dataplane.sock"), os.path.join(wd, "control.sock")
        dp = procs.Server("edgedns-dataplane",
                          [dataplane, "--io", "socket", "--snapshots", snap, "--listen",
                           "127.0.0.1@%d" % d_port, "--control", dpsock],
                          os.path.join(wd, "dataplane.log"))
        servers.append(dp)
        t = time.monotonic()
        while not os.path.exists(dpsock) and time.monotonic() - t < 10:
            alive()
            time.sleep(0.02)
        conf = os.path.join(wd, "control.yaml")
        with open(conf, "w") as f:
            f.write("\n".join([
                "control:", "  socket: %s" % sock, "  dataplane-socket: %s" % dpsock,
                "  snapshot-dir: %s" % snap, "  state-dir: %s" % state, "  log: stderr",
                "  notify-listen: 127.0.0.1@%d" % n_port,
                "policy:", "  - id: default", "    refresh-jitter: 0%",
                "zone:", "  - domain: %s" % ZONE, "    primary:", "      - address: 127.0.0.1@%d" % p_port]) + "\n")
        t = time.monotonic()
        ctl = procs.Server("edgedns-control", [control, "-c", conf, "-f"],
                           os.path.join(wd, "control.log"))
        servers.append(ctl)
        ax_d = wait_serials([d_port], s0, AXFR_LIMIT, alive, 0.01)[d_port]

        def secs(v):
            return "%.2f s" % v if v is not None else "not within %.0f s" % AXFR_LIMIT
        print("AXFR, %d RRs, start until the serial is answered: Knot secondary %s, ours %s%s" % (
            nrr, secs(t_k), secs(ax_d),
            ", ours/Knot %.2f (target <= 1)" % (ax_d / t_k) if ax_d and t_k else ""))

        # Memory after the initial load.
        time.sleep(1)
        mk, mc, md = mem(knot2.pid), mem(ctl.pid), mem(dp.pid)
        ours_rss = mc["VmRSS"] + md["VmRSS"]

        def mib(b):
            return "%.0f MiB" % (b / 2**20)
        print("memory after AXFR: ours %s (control %s, dataplane %s; peak %s + %s), "
              "Knot secondary %s (peak %s)" % (
                  mib(ours_rss), mib(mc["VmRSS"]), mib(md["VmRSS"]), mib(mc["VmHWM"]),
                  mib(md["VmHWM"]), mib(mk["VmRSS"]), mib(mk["VmHWM"])))
        print("memory per RR (VmRSS): ours %.0f bytes, Knot %.0f bytes, ours/Knot %.2f (target <= 1)"
              % (ours_rss / nrr, mk["VmRSS"] / nrr, ours_rss / mk["VmRSS"]))
        print("memory per RR (peak, VmHWM): ours %.0f bytes, Knot %.0f bytes" % (
            (mc["VmHWM"] + md["VmHWM"]) / nrr, mk["VmHWM"] / nrr))

        # IXFR: 100 A records changed in one transaction on the primary.
        cur = s0
        res = []
        for rnd in range(ROUNDS):
            knotc(pconf, "zone-begin", ZONE)
            for i in range(NCHANGE):
                h = "h%d" % (i * 7919 % 800000)
                knotc(pconf, "zone-unset", ZONE, h, "A")
                knotc(pconf, "zone-set", ZONE, h, "3600", "A",
                      "192.0.2.%d" % ((rnd * NCHANGE + i) % 250 + 1))
            t0 = time.monotonic()
            knotc(pconf, "zone-commit", ZONE)
            t_commit = time.monotonic() - t0
            want = cur + 1
            got = wait_serials([p_port, k_port, d_port], want, IXFR_LIMIT, alive)
            tp, tk, td = got[p_port], got[k_port], got[d_port]
            res.append((tk, td))
            print("IXFR round %d, %d A records changed, serial %d: primary answers it after "
                  "%.0f ms (commit %.0f ms); Knot secondary %s, ours %s%s" % (
                      rnd + 1, NCHANGE, want, (tp or 0) * 1000, t_commit * 1000,
                      "%.0f ms" % (tk * 1000) if tk is not None else "not within %.0f s" % IXFR_LIMIT,
                      "%.0f ms" % (td * 1000) if td is not None else "not within %.0f s" % IXFR_LIMIT,
                      ", ours/Knot %.2f (target <= 0.5)" % (td / tk) if tk and td else ""))
            if tk is None or td is None:
                break
            cur = want
            time.sleep(0.5)
        ok = [r for r in res if r[0] and r[1]]
        if ok:
            ks = sorted(r[0] for r in ok)
            ds = sorted(r[1] for r in ok)
            print("IXFR of %d changes, from zone-commit returning on the primary until the serial is answered "
                  "(median of %d): Knot %.0f ms, ours %.0f ms, ours/Knot %.2f (target <= 0.5)" % (
                      NCHANGE, len(ok), ks[len(ks) // 2] * 1000, ds[len(ds) // 2] * 1000,
                      ds[len(ds) // 2] / ks[len(ks) // 2]))
        mk, mc, md = mem(knot2.pid), mem(ctl.pid), mem(dp.pid)
        print("memory after the IXFRs: ours %s (control %s, dataplane %s), Knot secondary %s; "
              "per RR ours %.0f, Knot %.0f bytes" % (
                  mib(mc["VmRSS"] + md["VmRSS"]), mib(mc["VmRSS"]), mib(md["VmRSS"]),
                  mib(mk["VmRSS"]), (mc["VmRSS"] + md["VmRSS"]) / nrr, mk["VmRSS"] / nrr))
    except Exception as e:  # noqa: BLE001 - report, keep the logs
        print("control bench: failed: %s" % e)
        for s in servers:
            print("--- %s log (tail):\n%s" % (s.name, s.log_text(2000)))
        os.environ["BENCH_CTL_KEEP"] = "1"
        return 1
    finally:
        for s in reversed(servers):
            s.stop()
        if os.environ.get("BENCH_CTL_KEEP"):
            print("control bench: work directory kept: %s" % wd)
        else:
            shutil.rmtree(wd, ignore_errors=True)
    return 0


if __name__ == "__main__":
    # timeout(1) sends TERM: unwind, so that every server is stopped.
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(124))
    sys.exit(main())
