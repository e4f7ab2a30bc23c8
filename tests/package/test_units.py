"""The systemd units as packaged: systemd-analyze verify (with the
package's binaries and man pages), the settings the contract names, the
sandbox of edgedns-control (systemd-analyze security), and the permissions
of /run/edgedns that let BIRD read control's bird.conf."""

import os
import re
import shutil
import socket

import pytest

from conftest import as_ids, gid, ids, run, unit, value, values

SYSTEMD = "lib/systemd/system"
CONTROL_EXPOSURE_MAX = 2.0


@pytest.fixture(scope="module")
def units(root, tmp_path_factory):
    """Copies of the package's units whose /usr/sbin/edgedns* programs are
    the package's (in root), with Debian's bird.service beside its
    drop-in: what systemd-analyze verify checks."""
    d = tmp_path_factory.mktemp("units")
    for f in os.listdir(os.path.join(root, SYSTEMD)):
        src = os.path.join(root, SYSTEMD, f)
        if os.path.isfile(src):
            text = open(src).read().replace("/usr/sbin/edgedns", root + "/usr/sbin/edgedns")
            (d / f).write_text(text)
    (d / "bird.service.d").mkdir()
    shutil.copy(os.path.join(root, SYSTEMD, "bird.service.d/edgedns.conf"),
                d / "bird.service.d" / "edgedns.conf")
    shutil.copy("/lib/systemd/system/bird.service", d / "bird.service")
    return d


def test_verify(root, units):
    names = sorted(f for f in os.listdir(units) if f.endswith((".service", ".target")))
    assert len(names) == 6, names
    env = dict(os.environ, MANPATH=os.path.join(root, "usr/share/man"))
    p = run(["systemd-analyze", "verify"] + [str(units / n) for n in names], env=env,
            cwd=str(units))
    out = (p.stdout + p.stderr).strip()
    assert p.returncode == 0 and out == "", out


def test_bird_dropin_loaded(units):
    """verify reads the drop-in: a bad key in it is reported."""
    dropin = units / "bird.service.d" / "edgedns.conf"
    good = dropin.read_text()
    try:
        dropin.write_text(good + "NoSuchSetting=1\n")
        p = run(["systemd-analyze", "verify", str(units / "bird.service")], cwd=str(units))
        assert "NoSuchSetting" in p.stdout + p.stderr
    finally:
        dropin.write_text(good)


def test_dataplane(root):
    u = unit(os.path.join(root, SYSTEMD, "edgedns-dataplane.service"))
    assert value(u, "Service", "Type") == "notify"
    assert value(u, "Service", "WatchdogSec")
    # no dataplane without what edgedns-setup found (hw.env is removed when
    # setup fails)
    assert values(u, "Service", "EnvironmentFile") == ["/etc/edgedns/dataplane.env",
                                                      "/run/edgedns/hw.env"]
    assert "edgedns-setup.service" in value(u, "Unit", "Requires").split()
    assert value(u, "Service", "ExecStart").split() == [
        "/usr/sbin/edgedns-dataplane", "--io", "dpdk",
        "--snapshots", "/var/lib/edgedns/snapshots",
        "--control", "/run/edgedns/dataplane.sock",
        "--cookie-secret-file", "/etc/edgedns/cookie.secret",
        "$EDGEDNS_DATAPLANE_OPTS", "$EDGEDNS_HW_OPTS"]
    assert value(u, "Service", "Restart") == "on-failure"
    assert value(u, "Service", "User") is None       # root ...
    assert value(u, "Service", "Group") == "edgedns"  # ... with group edgedns
    # /run/dpdk too: ProtectSystem=strict leaves /run read-only
    assert value(u, "Service", "RuntimeDirectory").split() == ["edgedns", "dpdk"]
    assert set(value(u, "Service", "ReadWritePaths").split()) == {"/run/edgedns", "/run/dpdk"}
    assert value(u, "Service", "RuntimeDirectoryPreserve") == "yes"
    assert value(u, "Service", "UMask") == "0007"
    caps = set(value(u, "Service", "CapabilityBoundingSet").split())
    assert caps == {"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_SYS_ADMIN", "CAP_IPC_LOCK",
                    "CAP_SYS_RAWIO", "CAP_NET_BIND_SERVICE"}
    assert "edgedns-setup.service" in value(u, "Unit", "After")
    # nothing may close the devices DPDK opens (an implied DeviceAllow=)
    for k in ["PrivateDevices", "ProtectClock", "DeviceAllow", "DevicePolicy"]:
        assert value(u, "Service", k) is None, k


def test_control(root):
    u = unit(os.path.join(root, SYSTEMD, "edgedns-control.service"))
    s = lambda k: value(u, "Service", k)
    assert s("Type") == "notify" and s("WatchdogSec")
    assert (s("User"), s("Group"), s("SupplementaryGroups")) == ("edgedns", "edgedns", "bird")
    assert s("ExecStartPre") == "/usr/sbin/edgedns-control --check -c /etc/edgedns/control.yaml"
    assert s("ExecStart") == "/usr/sbin/edgedns-control -c /etc/edgedns/control.yaml"
    assert s("ExecReload") == "/bin/kill -HUP $MAINPID"
    assert (s("Restart"), s("RestartSec")) == ("always", "1s")
    assert value(u, "Unit", "OnFailure") == "edgedns-withdraw.service"
    assert value(u, "Unit", "StartLimitBurst") and value(u, "Unit", "StartLimitIntervalSec")
    assert s("StateDirectory") == "edgedns"
    assert s("CapabilityBoundingSet") == "CAP_NET_BIND_SERVICE"
    assert s("AmbientCapabilities") == "CAP_NET_BIND_SERVICE"
    for k in ["NoNewPrivileges", "ProtectHome", "PrivateTmp", "PrivateDevices",
              "MemoryDenyWriteExecute", "RestrictSUIDSGID", "LockPersonality"]:
        assert s(k) == "yes", k
    assert s("ProtectSystem") == "strict"
    assert s("ReadWritePaths") == "/run/edgedns"
    assert values(u, "Service", "SystemCallFilter")[0] == "@system-service"
    assert set(s("RestrictAddressFamilies").split()) == {"AF_UNIX", "AF_INET", "AF_INET6",
                                                         "AF_NETLINK"}
    for dep in ["edgedns-dataplane.service", "bird.service"]:
        assert dep in value(u, "Unit", "After")


def test_setup_withdraw_target_bird(root):
    u = unit(os.path.join(root, SYSTEMD, "edgedns-setup.service"))
    assert value(u, "Service", "Type") == "oneshot"
    assert value(u, "Service", "RemainAfterExit") == "yes"
    assert value(u, "Service", "ExecStart") == "/usr/sbin/edgedns-setup"
    assert "edgedns-dataplane.service" in value(u, "Unit", "Before")
    assert value(u, "Service", "Group") == "edgedns"   # keeps /run/edgedns root:edgedns

    u = unit(os.path.join(root, SYSTEMD, "edgedns-withdraw.service"))
    assert value(u, "Service", "Type") == "oneshot"
    assert value(u, "Service", "ExecStart").split() == [
        "/usr/sbin/edgedns-bird", "-s", "/run/bird/bird.ctl", "withdraw"]
    assert value(u, "Service", "SupplementaryGroups") == "bird"

    u = unit(os.path.join(root, SYSTEMD, "edgedns.target"))
    assert set(value(u, "Unit", "Wants").split()) >= {
        "edgedns-setup.service", "edgedns-dataplane.service", "edgedns-control.service",
        "bird.service"}
    assert value(u, "Install", "WantedBy") == "multi-user.target"

    u = unit(os.path.join(root, SYSTEMD, "bird.service.d/edgedns.conf"))
    start = values(u, "Service", "ExecStart")
    assert start[0] == "" and "-c /run/edgedns/bird.conf" in start[1]
    assert start[1].startswith("/usr/sbin/bird -f -u $BIRD_RUN_USER -g $BIRD_RUN_GROUP")
    pre = values(u, "Service", "ExecStartPre")
    assert pre[0] == "" and pre[-1] == "/usr/sbin/bird -p -c /run/edgedns/bird.conf"


def test_control_security(units):
    """The exposure systemd-analyze gives the control unit, and the figure
    its comment quotes."""
    p = run(["systemd-analyze", "security", "--offline=true", "--no-pager",
             str(units / "edgedns-control.service")], cwd=str(units))
    m = re.search(r"Overall exposure level for edgedns-control.service: ([0-9.]+)", p.stdout)
    assert m, p.stdout + p.stderr
    level = float(m.group(1))
    assert level <= CONTROL_EXPOSURE_MAX, p.stdout
    comment = re.search(r"overall exposure ([0-9.]+)", (units / "edgedns-control.service").read_text())
    assert comment and float(comment.group(1)) == level, (level, comment)


def test_fallback_config_is_valid_bird(root):
    p = run(["bird", "-p", "-c", os.path.join(root, "usr/share/edgedns/bird-fallback.conf")])
    assert p.returncode == 0, p.stderr
    assert "protocol bgp" not in open(os.path.join(root, "usr/share/edgedns/bird-fallback.conf")).read()


def test_runtime_directory_permissions(sysroot, tmp_path):
    """/run/edgedns as tmpfiles.d makes it: BIRD (user bird, group bird, no
    supplementary group) reads the bird.conf control (user edgedns) writes
    0640; it reads nothing that is not group-readable; control cannot
    replace root's hw.env (sticky); and the dataplane (root, group edgedns,
    without CAP_DAC_OVERRIDE) can create its socket there."""
    run_dir = os.path.join(sysroot, "run/edgedns")
    st = os.stat(run_dir)
    edgedns_uid, edgedns_gid = ids(sysroot, "edgedns")
    assert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (0o1770, 0, edgedns_gid)
    bird_uid, bird_gid = ids(sysroot, "bird")
    assert gid(sysroot, "bird") == bird_gid

    # the root daemons' files: hw.env as edgedns-setup writes it (temporary
    # name, 0644, rename), a root-only file
    tmp = os.path.join(run_dir, "hw.env.tmp")
    with open(tmp, "w") as f:
        f.write('EDGEDNS_HW_OPTS="--profile x"\n')
    os.chmod(tmp, 0o644)
    os.rename(tmp, os.path.join(run_dir, "hw.env"))
    with open(os.path.join(run_dir, "root-only"), "w") as f:
        f.write("x\n")
    os.chmod(os.path.join(run_dir, "root-only"), 0o600)

    # control writes bird.conf as birdconf_write_file() does: mkstemp
    # (0600), write, fchmod 0640, rename
    write = ("import os, tempfile\n"
             "fd, t = tempfile.mkstemp(dir=%r, prefix='bird.conf.tmp.')\n"
             "os.write(fd, b'router id 192.0.2.2;\\n'); os.fchmod(fd, 0o640); os.close(fd)\n"
             "os.rename(t, %r)\n") % (run_dir, os.path.join(run_dir, "bird.conf"))
    p = as_ids(edgedns_uid, edgedns_gid, ["/usr/bin/python3", "-c", write])
    assert p.returncode == 0, p.stderr

    # BIRD reads it, and nothing else
    p = as_ids(bird_uid, bird_gid, ["cat", os.path.join(run_dir, "bird.conf")])
    assert p.returncode == 0 and "router id" in p.stdout, p.stderr
    p = as_ids(bird_uid, bird_gid, ["cat", os.path.join(run_dir, "root-only")])
    assert p.returncode != 0
    p = as_ids(bird_uid, bird_gid, ["ls", run_dir])
    assert p.returncode != 0   # may traverse, not list

    # hw.env: control reads it, can neither change nor replace it
    hw = os.path.join(run_dir, "hw.env")
    p = as_ids(edgedns_uid, edgedns_gid, ["sh", "-c", "echo x >> " + hw])
    assert p.returncode != 0
    p = as_ids(edgedns_uid, edgedns_gid, ["/usr/bin/python3", "-c",
                                          "import os; os.rename(%r, %r)" % (
                                              os.path.join(run_dir, "bird.conf"), hw)])
    assert p.returncode != 0
    assert open(hw).read().startswith("EDGEDNS_HW_OPTS")

    # the dataplane: root with group edgedns, no capabilities, the unit's
    # UMask=0007, creates its socket; control may use it, BIRD may not
    sock = os.path.join(run_dir, "dataplane.sock")
    mk = ("import os, socket\n"
          "os.umask(0o007); s = socket.socket(socket.AF_UNIX); s.bind(%r)\n") % sock
    p = as_ids(0, edgedns_gid, ["/usr/bin/python3", "-c", mk])
    assert p.returncode == 0, p.stderr
    st = os.stat(sock)
    assert st.st_gid == edgedns_gid and st.st_mode & 0o777 == 0o770
    conn = ("import socket\n"
            "s = socket.socket(socket.AF_UNIX)\n"
            "try:\n s.connect(%r)\nexcept ConnectionRefusedError:\n pass\n") % sock
    p = as_ids(edgedns_uid, edgedns_gid, ["/usr/bin/python3", "-c", conn])
    assert p.returncode == 0, p.stderr    # permitted (refused: nobody listens)
    p = as_ids(bird_uid, bird_gid, ["/usr/bin/python3", "-c", conn])
    assert p.returncode != 0 and "PermissionError" in p.stderr

    # the state directory is control's; the dataplane reads its snapshots
    snaps = os.path.join(sysroot, "var/lib/edgedns/snapshots")
    st = os.stat(snaps)
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (edgedns_uid, edgedns_gid, 0o750)


def test_fallback_as_dropin_installs_it(root, sysroot):
    """The drop-in's ExecStartPre, run on the sysroot: the fallback is
    copied when bird.conf is missing, owned by edgedns (so control may
    replace it in the sticky directory), readable by BIRD; a bird.conf
    already there is kept."""
    u = unit(os.path.join(root, SYSTEMD, "bird.service.d/edgedns.conf"))
    cmd = [c for c in values(u, "Service", "ExecStartPre") if "bird-fallback.conf" in c]
    assert len(cmd) == 1 and cmd[0].startswith("/bin/sh -c '") and cmd[0].endswith("'")
    edgedns_uid, edgedns_gid = ids(sysroot, "edgedns")
    script = (cmd[0][len("/bin/sh -c '"):-1]
              .replace("/run/edgedns/", sysroot + "/run/edgedns/")
              .replace("/usr/share/edgedns/", root + "/usr/share/edgedns/")
              .replace("edgedns:edgedns", "%d:%d" % (edgedns_uid, edgedns_gid)))
    run_dir = os.path.join(sysroot, "run/edgedns")
    target = os.path.join(run_dir, "bird.conf")
    if os.path.exists(target):
        os.unlink(target)
    p = run(["/bin/sh", "-c", script])
    assert p.returncode == 0, p.stderr
    st = os.stat(target)
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (edgedns_uid, edgedns_gid, 0o640)
    assert "bird.conf.fallback" not in os.listdir(run_dir)
    bird_uid, bird_gid = ids(sysroot, "bird")
    p = as_ids(bird_uid, bird_gid, ["bird", "-p", "-c", target])
    assert p.returncode == 0, p.stderr
    # control's own file is never replaced
    with open(target, "w") as f:
        f.write("# control's\n")
    p = run(["/bin/sh", "-c", script])
    assert p.returncode == 0 and open(target).read() == "# control's\n"
    p = as_ids(edgedns_uid, edgedns_gid, ["/usr/bin/python3", "-c",
                                          "import os; os.unlink(%r)" % target])
    assert p.returncode == 0, p.stderr
