"""knot.py: run a real knotd (Knot DNS 3.2) as the reference server.

The configuration serves the zone files exactly as given: whole zone file
loaded, no journal, no signing, no zone file write-back, semantic checks off
(the conformance zone holds deliberate oddities such as a CNAME loop), no
identity/version/NSID, no modules (so no RRL and no cookies), and the same
1232-octet UDP payload the engine uses by default.
"""

import os

from . import procs

KNOTD = "/usr/sbin/knotd"


def write_conf(workdir, port, zones):
    os.makedirs(os.path.join(workdir, "storage"), exist_ok=True)
    os.makedirs(os.path.join(workdir, "run"), exist_ok=True)
    lines = [
        "server:",
        "    rundir: \"%s\"" % os.path.join(workdir, "run"),
        "    listen: %s@%d" % (procs.LOOPBACK, port),
        "    identity: \"\"",
        "    version: \"\"",
        "    udp-max-payload: 1232",
        "    udp-max-payload-ipv4: 1232",
        "    udp-max-payload-ipv6: 1232",
        "    udp-workers: 2",
        "    tcp-workers: 2",
        "    background-workers: 1",
        "    tcp-idle-timeout: 10",
        "database:",
        "    storage: \"%s\"" % os.path.join(workdir, "storage"),
        "control:",
        "    listen: \"%s\"" % os.path.join(workdir, "run", "knot.sock"),
        "log:",
        "  - target: stderr",
        "    any: info",
        "template:",
        "  - id: default",
        "    storage: \"%s\"" % workdir,
        "    zonefile-load: whole",
        "    zonefile-sync: -1",
        "    journal-content: none",
        "    semantic-checks: off",
        "    dnssec-signing: off",
        "    dnssec-validation: off",
        "zone:",
    ]
    for z in zones:
        lines.append("  - domain: %s" % z.origin)
        lines.append("    file: \"%s\"" % z.path)
    path = os.path.join(workdir, "knot.conf")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def start(workdir, zones, name="knotd"):
    """Start knotd on a free loopback port serving zones; returns a
    procs.Server with .port set, once it answers every zone's SOA."""
    os.makedirs(workdir, exist_ok=True)
    port = procs.free_port()
    conf = write_conf(workdir, port, zones)
    srv = procs.Server(name, [KNOTD, "-c", conf], os.path.join(workdir, "knotd.log"))
    srv.port = port
    try:
        for z in zones:
            procs.wait_answers(srv, procs.LOOPBACK, port, z.origin)
    except Exception:
        srv.stop()
        raise
    return srv
