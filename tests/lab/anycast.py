"""anycast.py: the lab with the anycast route (issue 5), on top of lab.py.

    host namespace          router namespace                edge namespace
    h0 198.51.100.130/25 -- r1 198.51.100.129/25
       2001:db8:c::2/64        2001:db8:c::1/64
                            c0 192.0.2.1/24 ------ veth ----- e0 (DPDK port)
                               2001:db8::1/64                  edgedns-dataplane
                            bird (the PoP router,              edns0 192.0.2.53, 2001:db8::53
                            AS 64500): BGP + BFD with the         + the anycast addresses
                            edge, routes into its kernel       edgedns-control (health checks,
                                                               BIRD through its socket)
                                                               bird (AS 64512, config
                                                               written by edgedns-control)
                                                       primary namespace: NSD (lab.py)

The anycast addresses 198.51.100.53 and 2001:db8:53::53 are served by the
dataplane (--serve) and owned by the edge kernel on edns0 (TCP). The edge's
BGP sessions run through the dataplane's exception path (edns0 -> the
exception thread, on a queue pair of its own -> e0), as in production: when the dataplane dies the edge cannot send a
withdraw and the router notices through BFD. The host reaches the anycast
addresses only through the route the router learned.

AnycastLab(snapdir, zones, canary_zone, ...).up() / .down(); helpers for the
router's table, the edge's health state, both BIRDs.
"""

import json
import os
import re
import shutil
import subprocess
import time

import lab as labmod
import labprimary
from lab import Lab, LabError, run

ANY4, ANY6 = "198.51.100.53", "2001:db8:53::53"
ROUTER_HOST4, HOST4 = "198.51.100.129", "198.51.100.130"
ROUTER_HOST6, HOST6 = "2001:db8:c::1", "2001:db8:c::2"
ROUTER_AS, EDGE_AS = 64500, 64512
HOST_IF, ROUTER_HOST_IF = "h0", "r1"
BIRD = shutil.which("bird") or "/usr/sbin/bird"
BIRDCLI = os.path.join(labmod.BUILD, "edgedns-bird")
SERVICE = "dns"


def router_conf(log, bfd=True, edge_as=EDGE_AS):
    """The PoP router: eBGP with the edge over IPv4 and IPv6, BFD 100 ms x
    3 (bfd False: a peer without BFD), everything learnt into its kernel
    (that is how it forwards), nothing exported to the edge. edge_as: the
    AS it expects of the edge (another one: "Bad peer AS", no session)."""
    return """router id %(r4)s;
log "%(log)s" all;
protocol device {}
protocol bfd {
	interface "*" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; };
}
protocol kernel kernel4 { ipv4 { import none; export all; }; }
protocol kernel kernel6 { ipv6 { import none; export all; }; }
template bgp edge {
	local as %(ras)d;
	bfd %(bfd)s;
	hold time 30;
	connect delay time 1;
	connect retry time 2;
	error wait time 1, 5;
	debug { states, routes };
}
protocol bgp bgp_edge4 from edge {
	neighbor %(e4)s as %(eas)d;
	ipv4 { import all; export none; };
}
protocol bgp bgp_edge6 from edge {
	neighbor %(e6)s as %(eas)d;
	ipv6 { import all; export none; };
}
""" % {"r4": labmod.CLIENT4, "log": log, "ras": ROUTER_AS, "e4": labmod.SERVER4,
       "e6": labmod.SERVER6, "eas": edge_as, "bfd": "on" if bfd else "off"}


class Bird:
    """A BIRD in a namespace: its own socket, pid file and log."""

    def __init__(self, ns, workdir, name, conf):
        self.ns, self.name, self.conf = ns, name, conf
        self.sock = os.path.join(workdir, name + ".ctl")
        self.log = os.path.join(workdir, name + ".log")
        self.proc = labprimary.Proc(ns, [BIRD, "-f", "-c", conf, "-s", self.sock,
                                         "-P", os.path.join(workdir, name + ".pid")],
                                    os.path.join(workdir, name + ".out"))

    def start(self, timeout=10.0):
        if os.path.exists(self.sock):
            os.unlink(self.sock)
        self.proc.start()
        labprimary.wait_until(lambda: self._alive() and os.path.exists(self.sock), timeout,
                              "%s socket %s" % (self.name, self.sock))
        return self

    def _alive(self):
        if not self.proc.alive():
            raise LabError("%s exited: %s" % (self.name, self.proc.log_text(2000)))
        return True

    def stop(self):
        return self.proc.stop()

    def kill9(self):
        self.proc.signal(9)
        self.proc.proc.wait(5)

    def cli(self, *args, check=False, timeout=15):
        p = subprocess.run([BIRDCLI, "-s", self.sock] + list(args), capture_output=True,
                           text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if check and p.returncode != 0:
            raise LabError("edgedns-bird %s: exit %d: %s%s" % (" ".join(args), p.returncode,
                                                              p.stdout, p.stderr))
        return p

    def protocols(self):
        p = self.cli("show", check=True)
        rows = {}
        for line in p.stdout.splitlines():
            f = line.split(None, 5)
            if len(f) >= 5:
                rows[f[0]] = {"state": f[3], "info": f[5] if len(f) > 5 else ""}
        return rows

    def routes(self, prefix):
        """[{proto, communities}] of exactly prefix in BIRD's table."""
        p = self.cli("route", prefix)
        out = []
        for line in p.stdout.splitlines():
            f = line.split()
            if len(f) >= 4 and f[1] == prefix:
                out.append({"proto": f[3], "communities": re.findall(r"\((\d+,\d+)\)", line)})
        return out

    def log_text(self, limit=6000):
        try:
            with open(self.log, "rb") as f:
                return f.read()[-limit:].decode("utf-8", "replace")
        except OSError:
            return ""


class AnycastLab(Lab):
    """Lab (lab.py) with the anycast route: a router namespace with BIRD in
    place of the client, a host behind it, BIRD and the health checks on the
    edge. zones: {origin: text} for NSD; canary_zone: the zone whose SOA
    serial and canary TXT ("canary.ZONE" = "ok") the in-band probes check
    and which is the service's critical zone. hold: hold-down seconds."""

    def __init__(self, snapdir, zones, canary_zone, tag="r", hold=2, hold_max=16, drain=2,
                 workers=1, workdir=None, vdev=None, owner=None, rrl_off=True,
                 exc_queue=True, router_bfd=True):
        extra = ["--serve", ANY4, "--serve", ANY6, "--test-hooks"]
        if rrl_off:
            extra += ["--rrl-rate", "0"]
        super().__init__(snapdir, tag=tag, vdev=vdev, extra_args=extra, owner=owner,
                         workdir=workdir, workers=workers, primary=zones,
                         exc_queue=exc_queue)
        self.router_bfd = router_bfd
        self.client_ns = self.prefix + "-router"
        self.host_ns = self.prefix + "-host"
        self.canary_zone = canary_zone
        self.hold, self.hold_max, self.drain = hold, hold_max, drain
        self.edge_bird = None
        self.router_bird = None

    def namespaces(self):
        return super().namespaces() + [self.host_ns]

    @property
    def birddir(self):
        return os.path.join(self.workdir, "bird")

    def _service_yaml(self):
        return "\n".join([
            "service:",
            "  - id: %s" % SERVICE,
            "    address: [%s, %s]" % (ANY4, ANY6),
            "    probe:",
            "      - name: %s" % self.canary_zone,
            "      - name: canary.%s" % self.canary_zone,
            "        type: TXT",
            "        expect: ok",
            "    critical-zone: %s" % self.canary_zone,
            "    interval: 100ms",
            "    probe-timeout: 100ms",
            "    fall: 2",
            "    rise: 3",
            "    hold-down: %ds" % self.hold,
            "    hold-down-max: %ds" % self.hold_max,
            "    drain-time: %ds" % self.drain,
            "    traffic-window: 2s",
            "bgp:",
            "  router-id: %s" % labmod.SERVER4,
            "  local-as: %d" % EDGE_AS,
            "  socket: %s" % os.path.join(self.birddir, "edge.ctl"),
            "  config-file: %s" % os.path.join(self.birddir, "edge.conf"),
            "  neighbor:",
            "    - address: %s" % labmod.CLIENT4,
            "      as: %d" % ROUTER_AS,
            "    - address: %s" % labmod.CLIENT6,
            "      as: %d" % ROUTER_AS,
        ]) + "\n"

    def _up_control(self):
        os.makedirs(self.birddir, exist_ok=True)
        self.control_extra = self._service_yaml()
        super()._up_control()

    def _serve(self, wait_zone=True):
        super()._serve(wait_zone)
        # the anycast addresses belong to the edge kernel too (TCP, and the
        # health checks' TCP query); replies to the host go via the router
        e = self.edge
        e(["ip", "addr", "add", ANY4 + "/32", "dev", labmod.KERNEL_IF])
        e(["ip", "addr", "add", ANY6 + "/128", "dev", labmod.KERNEL_IF, "nodad"])
        e(["ip", "route", "replace", "default", "via", labmod.CLIENT4, "dev",
           labmod.KERNEL_IF])
        e(["ip", "-6", "route", "replace", "default", "via", labmod.CLIENT6, "dev",
           labmod.KERNEL_IF])

    def _up(self):
        super()._up()
        self._up_host()
        # edgedns-control wrote the edge's BIRD config at its start
        conf = os.path.join(self.birddir, "edge.conf")
        labprimary.wait_until(lambda: os.path.exists(conf), 10, "edge BIRD config")
        self.edge_bird = Bird(self.edge_ns, self.birddir, "edge", conf)
        self.edge_bird.start()
        rconf = os.path.join(self.birddir, "router.conf")
        with open(rconf, "w") as f:
            f.write(router_conf(os.path.join(self.birddir, "router.log"), self.router_bfd))
        self.router_bird = Bird(self.client_ns, self.birddir, "router", rconf)
        self.router_bird.start()

    def _up_host(self):
        run(["ip", "link", "add", "name", ROUTER_HOST_IF, "netns", self.client_ns, "type",
             "veth", "peer", "name", HOST_IF, "netns", self.host_ns])
        r, h = self.client, self.host
        for k in ("net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"):
            r(["sysctl", "-q", "-w", k])
        r(["ip", "addr", "add", ROUTER_HOST4 + "/25", "dev", ROUTER_HOST_IF])
        r(["ip", "addr", "add", ROUTER_HOST6 + "/64", "dev", ROUTER_HOST_IF, "nodad"])
        r(["ethtool", "-K", ROUTER_HOST_IF, "tx", "off"])
        r(["ip", "link", "set", ROUTER_HOST_IF, "up"])
        h(["ip", "link", "set", "lo", "up"])
        h(["ip", "addr", "add", HOST4 + "/25", "dev", HOST_IF])
        h(["ip", "addr", "add", HOST6 + "/64", "dev", HOST_IF, "nodad"])
        h(["ethtool", "-K", HOST_IF, "tx", "off"])
        h(["ip", "link", "set", HOST_IF, "up"])
        h(["ip", "route", "add", "default", "via", ROUTER_HOST4])
        h(["ip", "-6", "route", "add", "default", "via", ROUTER_HOST6])

    def down(self):
        for b in (self.edge_bird, self.router_bird):
            try:
                if b is not None:
                    b.stop()
            except Exception:  # noqa: BLE001 - teardown goes on
                pass
        return super().down()

    def state(self):
        st = super().state()
        st.update({"router_ns": self.client_ns, "host_ns": self.host_ns, "any4": ANY4,
                   "any6": ANY6, "host4": HOST4, "host6": HOST6,
                   "edge_bird_sock": self.edge_bird.sock,
                   "router_bird_sock": self.router_bird.sock,
                   "edge_bird_pid": self.edge_bird.proc.pid,
                   "router_bird_pid": self.router_bird.proc.pid, "service": SERVICE})
        return st

    # -- in the namespaces
    def host(self, argv, check=True, timeout=30, input=None):
        return run(["ip", "netns", "exec", self.host_ns] + argv, check=check, timeout=timeout,
                   input=input)

    def router(self, argv, check=True, timeout=30):
        return self.client(argv, check=check, timeout=timeout)

    def router_has(self, prefix):
        """The router's kernel forwards prefix (BIRD put it there)."""
        fam = "-6" if ":" in prefix else "-4"
        p = run(["ip", fam, "-n", self.client_ns, "route", "show", "exact", prefix], check=False)
        return p.returncode == 0 and p.stdout.strip() != ""

    def health(self):
        return self.health_all()["services"][0]

    def health_all(self):
        """edgednsctl --json health: the whole reply (it exits 3 when a
        service is announced on no Established BGP session)."""
        p = self.zonesvc.ctl("--json", "health", check=False)
        if p.returncode not in (0, 3):
            raise LabError("edgednsctl --json health: exit %d: %s%s" % (
                p.returncode, p.stdout, p.stderr))
        return json.loads(p.stdout)

    def router_reconfigure(self, edge_as=EDGE_AS):
        """Rewrite the router's config (the AS it expects of the edge) and
        tell its BIRD to load it."""
        rconf = os.path.join(self.birddir, "router.conf")
        with open(rconf, "w") as f:
            f.write(router_conf(os.path.join(self.birddir, "router.log"), self.router_bfd,
                                edge_as))
        self.router_bird.cli("configure", rconf, check=True)

    def host_query(self, server, qname, qtype="SOA", tcp=False, timeout=2):
        """kdig from the host namespace: (rcode text, answer lines)."""
        args = ["kdig", "@" + server, qname, qtype, "+time=%d" % timeout, "+retry=0"]
        if tcp:
            args.append("+tcp")
        p = self.host(args, check=False, timeout=timeout + 5)
        m = re.search(r"status: (\w+)", p.stdout)
        return (m.group(1) if m else None), p.stdout

    def wait_announced(self, timeout=30):
        labprimary.wait_until(lambda: self.router_has(ANY4 + "/32") and
                              self.router_has(ANY6 + "/128"), timeout,
                              lambda: "the router learns the anycast routes (health: %s)" % (
                                  json.dumps(self.health())))

    def wait_withdrawn(self, timeout=10, step=0.005):
        """Until the router has neither route; returns the seconds it took."""
        t0 = time.monotonic()
        deadline = t0 + timeout
        while time.monotonic() < deadline:
            if not self.router_has(ANY4 + "/32") and not self.router_has(ANY6 + "/128"):
                return time.monotonic() - t0
            time.sleep(step)
        raise LabError("the router still has the anycast routes after %.0f s" % timeout)
