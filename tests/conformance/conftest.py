"""Fixtures for the conformance tests: generated and signed zones, a real
knotd as the reference, and edgedns-dataplane as the server under test.

Servers are killed by pid and the temporary directory removed at the end of
the session, also when a test or a fixture fails.

EDGEDNS_CONFORMANCE_PEER=knotd runs a second knotd in place of edgedns (to
check the harness itself: every difference is then a harness bug).
EDGEDNS_CONFORMANCE_KEEP=1 keeps the temporary directory (zones, configs,
server logs) for debugging; its path is printed.
"""

import os
import shutil
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from lib import edgedns, knot, queries, runner, zones  # noqa: E402

PEER = os.environ.get("EDGEDNS_CONFORMANCE_PEER", "edgedns")
REPORT = os.environ.get("EDGEDNS_CONFORMANCE_REPORT",
                        os.path.join(edgedns.BUILD, "conformance-report.txt"))


@pytest.fixture(scope="session")
def conf_workdir():
    d = tempfile.mkdtemp(prefix="edgedns-conformance-")
    try:
        yield d
    finally:
        if os.environ.get("EDGEDNS_CONFORMANCE_KEEP"):
            print("\nconformance work directory kept: %s" % d)
        else:
            shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def conf_zones(conf_workdir):
    return zones.build_zones(os.path.join(conf_workdir, "zones"))


@pytest.fixture(scope="session")
def knotd_server(conf_workdir, conf_zones):
    srv = knot.start(os.path.join(conf_workdir, "knotd"), conf_zones)
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="session")
def edgedns_server(conf_workdir, conf_zones):
    """The server under test: edgedns-dataplane --io socket serving every
    conformance zone (or a second knotd, see PEER)."""
    if PEER == "knotd":
        srv = knot.start(os.path.join(conf_workdir, "knotd-peer"), conf_zones, name="knotd-peer")
    else:
        gone = edgedns.missing()
        if gone:
            pytest.fail("not built: %s (run make first)" % ", ".join(gone))
        srv = edgedns.start(os.path.join(conf_workdir, "edgedns"), conf_zones)
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="session")
def conf_queries(conf_zones):
    return queries.generate(conf_zones)


@pytest.fixture(scope="session")
def differential(knotd_server, edgedns_server, conf_zones, conf_queries):
    """Every generated query sent to both servers and compared; the report
    is written to REPORT as well."""
    results = runner.run(conf_queries, knotd_server.port, edgedns_server.port, conf_zones,
                         alive=lambda: knotd_server.alive() and edgedns_server.alive())
    text = runner.summary(results, "knotd", edgedns_server.name)
    try:
        os.makedirs(os.path.dirname(REPORT), exist_ok=True)
        with open(REPORT, "w") as f:
            f.write(text + "\n")
    except OSError:
        pass
    for srv in (knotd_server, edgedns_server):
        if not srv.alive():
            pytest.fail("%s died during the run:\n%s" % (srv.name, srv.log_text()))
    return results, text
