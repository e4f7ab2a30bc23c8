"""edgedns.py: compile the zones to snapshots and run edgedns-dataplane in
its kernel-socket mode."""

import os
import subprocess

from . import procs

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD = os.environ.get("EDGEDNS_BUILD", os.path.join(REPO, "build"))
COMPILE = os.path.join(BUILD, "edgedns-compile")
DATAPLANE = os.path.join(BUILD, "edgedns-dataplane")


def missing():
    """Names of the binaries that are not built yet."""
    return [p for p in (COMPILE, DATAPLANE) if not os.access(p, os.X_OK)]


def snap_name(zone):
    return zone.origin.rstrip(".") + ".snap"


def compile_zone(zone, snapdir):
    """edgedns-compile one zone; raises with the compiler's diagnostics when
    it fails or writes no snapshot."""
    out = os.path.join(snapdir, snap_name(zone))
    argv = [COMPILE, "-o", out, "-z", zone.origin, zone.path]
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    if p.returncode != 0 or not os.path.exists(out):
        raise RuntimeError("%s exited %d%s:\n%s" % (" ".join(argv), p.returncode,
                                                    "" if os.path.exists(out) else " (no snapshot)",
                                                    p.stdout.decode("utf-8", "replace")))
    return out


def start(workdir, zones, name="edgedns"):
    """Compile zones and start the dataplane on a free loopback port;
    returns a procs.Server with .port once it answers every zone's SOA."""
    snapdir = os.path.join(workdir, "snapshots")
    os.makedirs(snapdir, exist_ok=True)
    for z in zones:
        compile_zone(z, snapdir)
    port = procs.free_port()
    # the differential asks thousands of queries from one address: rate
    # limiting (on by default; test_socket_server tests it) is off here
    argv = [DATAPLANE, "--io", "socket", "--snapshots", snapdir,
            "--listen", "%s@%d" % (procs.LOOPBACK, port),
            "--control", os.path.join(workdir, "dataplane.sock"), "--rrl-rate", "0"]
    srv = procs.Server(name, argv, os.path.join(workdir, "dataplane.log"))
    srv.port = port
    try:
        for z in zones:
            procs.wait_answers(srv, procs.LOOPBACK, port, z.origin)
    except Exception:
        srv.stop()
        raise
    return srv
