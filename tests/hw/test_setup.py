"""edgedns-setup against fake sysfs trees (tests/hw/fakesys.py): which
profile it takes, the hugepages it reserves, the devbind/modprobe calls it
makes, and the hw.env it writes, byte for byte."""

import glob
import os
import shlex
import shutil
import subprocess
import textwrap

import pytest

from fakesys import FakeSys, fake_tools

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
BUILD = os.environ.get("EDGEDNS_BUILD", os.path.join(REPO, "build"))
SETUP = os.path.join(BUILD, "edgedns-setup")
DATAPLANE = os.path.join(BUILD, "edgedns-dataplane")
PROFILES = os.path.join(REPO, "hw", "profiles")
E810 = "8086:159b"
HEADER = ("# Written by edgedns-setup at boot for edgedns-dataplane.service; do not edit.\n"
          "# Hardware profile %s: %s.\n")


class Env:
    """One test's machine: a fake sysfs, fake tools, an output path."""

    def __init__(self, tmp, **kw):
        self.tmp = str(tmp)
        self.sys = FakeSys(os.path.join(self.tmp, "sys"), **kw)
        self.log = os.path.join(self.tmp, "calls.log")
        self.devbind, self.modprobe = fake_tools(self.tmp, self.log)
        self.out = os.path.join(self.tmp, "run", "edgedns", "hw.env")
        self.profiles = PROFILES

    def run(self, *args, env=None, profiles=None):
        e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "FAKE_SYSFS": self.sys.root}
        e.update(env or {})
        cmd = [SETUP, "--sysfs", self.sys.root, "--profiles", profiles or self.profiles,
               "--output", self.out, "--devbind", self.devbind, "--modprobe", self.modprobe]
        return subprocess.run(cmd + list(args), env=e, capture_output=True, text=True,
                              timeout=20)

    def calls(self):
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            return f.read().splitlines()

    def hw_env(self):
        with open(self.out) as f:
            return f.read()


def opts_of(text):
    """EDGEDNS_HW_OPTS as systemd reads the file and splits $EDGEDNS_HW_OPTS."""
    for line in text.splitlines():
        if line.startswith("EDGEDNS_HW_OPTS="):
            return shlex.split(line[len("EDGEDNS_HW_OPTS="):])[0].split()
    raise AssertionError("no EDGEDNS_HW_OPTS in " + text)


def one_u(tmp, node=0, driver="ice", count=2, **kw):
    """The 1U model: two E810 ports (or count) at 0000:3b:00.x on node,
    two NUMA nodes, 32 CPUs, 2M and 1G pages offered; a management NIC."""
    kw.setdefault("cpus", "0-31")
    kw.setdefault("nodes", "0-1")
    env = Env(tmp, **kw)
    env.sys.nic("0000:02:00.0", "8086:1521", node=0, driver="igb", iface="eno1")
    for i in range(count):
        env.sys.nic("0000:3b:00.%d" % i, E810, node=node, driver=driver,
                    iface="ens1f%d" % i if driver == "ice" else None)
    return env


def qemu(tmp, ident="1af4:1041", n=2, cpus="0-1"):
    """The boot test's VM: q35, virtio-net NICs (first: management), one
    NUMA node whose devices report none (-1), a virtio-blk disk."""
    env = Env(tmp, cpus=cpus, nodes="0", huge=("2M",))
    env.sys.nic("0000:00:02.0", "1af4:1042", node=-1, driver="virtio-pci", pci_class="0x010000")
    for i in range(n):
        env.sys.nic("0000:00:%02x.0" % (3 + i), ident, node=-1, driver="virtio-pci",
                    iface="enp0s%d" % (3 + i), iommu=False)
    return env


# ---- the binary ---------------------------------------------------------------

def test_version_and_help():
    r = subprocess.run([SETUP, "-V"], capture_output=True, text=True)
    with open(os.path.join(REPO, "VERSION")) as f:
        version = f.read().strip()
    assert r.returncode == 0 and r.stdout == "edgedns-setup (edgedns) %s\n" % version
    for opt in ("-h", "--help"):
        r = subprocess.run([SETUP, opt], capture_output=True, text=True)
        assert r.returncode == 0 and r.stdout.startswith("usage: edgedns-setup")
        for o in ("--sysfs", "--profiles", "--profile", "--output", "--dry-run", "--force"):
            assert o in r.stdout
    r = subprocess.run([SETUP, "--bogus"], capture_output=True, text=True)
    assert r.returncode == 1


# ---- the 1U model ------------------------------------------------------------------

def test_1u_reserves_binds_and_writes(tmp_path):
    env = one_u(tmp_path)
    r = env.run()
    assert r.returncode == 0, r.stderr
    assert "profile edge-1u-2x25g (matches this machine)" in r.stdout
    assert env.hw_env() == HEADER % ("edge-1u-2x25g", "matched this machine") + (
        'EDGEDNS_HW_OPTS="--profile %s/edge-1u-2x25g.yaml --port 0000:3b:00.0 '
        '--port 0000:3b:00.1 --"\n' % PROFILES)
    # the module once, then each port; the management NIC untouched
    assert env.calls() == ["modprobe vfio-pci",
                           "dpdk-devbind.py -b vfio-pci 0000:3b:00.0",
                           "dpdk-devbind.py -b vfio-pci 0000:3b:00.1"]
    assert env.sys.driver("0000:3b:00.0") == "vfio-pci"
    assert env.sys.driver("0000:02:00.0") == "igb"
    assert env.sys.get_huge("1G", node=0) == 4
    assert env.sys.get_huge("1G", node=1) == 0
    assert "4 x 1G on node 0 reserved (were 0)" in r.stdout
    assert "0000:3b:00.0: bound to vfio-pci (was ice)" in r.stdout
    assert os.stat(env.out).st_mode & 0o777 == 0o644
    # atomic: nothing but hw.env in the directory
    assert os.listdir(os.path.dirname(env.out)) == ["hw.env"]


def test_1u_already_bound_and_reserved(tmp_path):
    env = one_u(tmp_path, driver="vfio-pci")
    env.sys.set_huge("1G", 4, node=0)
    r = env.run()
    assert r.returncode == 0, r.stderr
    assert env.calls() == []  # no modprobe, no devbind
    assert "0000:3b:00.1: bound to vfio-pci already" in r.stdout
    assert "4 x 1G on node 0: reserved already (4)" in r.stdout
    assert opts_of(env.hw_env()) == ["--profile", PROFILES + "/edge-1u-2x25g.yaml",
                                     "--port", "0000:3b:00.0", "--port", "0000:3b:00.1", "--"]


def test_1u_one_bound_one_not(tmp_path):
    env = one_u(tmp_path)
    env.sys.bind("0000:3b:00.0", "vfio-pci")
    env.sys.set_huge("1G", 6, node=0)  # more than asked: left alone
    assert env.run().returncode == 0
    assert env.calls() == ["modprobe vfio-pci", "dpdk-devbind.py -b vfio-pci 0000:3b:00.1"]
    assert env.sys.get_huge("1G", node=0) == 6


def test_1u_dry_run_changes_nothing(tmp_path):
    env = one_u(tmp_path)
    r = env.run("--dry-run")
    assert r.returncode == 0, r.stderr
    assert env.calls() == []
    assert not os.path.exists(env.out)
    assert env.sys.get_huge("1G", node=0) == 0
    assert env.sys.driver("0000:3b:00.0") == "ice"
    out = r.stdout
    assert "hugepages: would reserve 4 x 1G on node 0 (now 0): write 4 to %s" % (
        env.sys.huge_file("1G", node=0)) in out
    assert "would run: %s vfio-pci" % env.modprobe in out
    assert "0000:3b:00.0: would run: %s -b vfio-pci 0000:3b:00.0 (now ice)" % env.devbind in out
    assert "would write %s:\n" % env.out in out
    assert 'EDGEDNS_HW_OPTS="--profile %s/edge-1u-2x25g.yaml' % PROFILES in out


def test_missing_nic(tmp_path):
    env = one_u(tmp_path, count=1)
    os.makedirs(os.path.dirname(env.out))
    with open(env.out, "w") as f:
        f.write('EDGEDNS_HW_OPTS="stale"\n')
    r = env.run()
    assert r.returncode == 1
    err = r.stderr
    assert err.startswith(
        "edgedns-setup: no profile matches this machine: NICs found: "
        "0000:02:00.0 8086:1521 (igb, eno1, node 0), "
        "0000:3b:00.0 8086:159b (ice, ens1f0, node 0); profiles tried: "
        "dev-veth (no match section: used only when named), "
        "edge-1u-2x25g (needs 2 x 8086:159b on node 0: found 1; "
        "needs the port 0000:3b:00.1: not found), "
        "qemu-virtio (needs 2 x 1af4:1000|1af4:1041: found 0)\n"), err
    # the stale arguments are gone: the dataplane does not start with them
    assert not os.path.exists(env.out)
    assert "removed " + env.out in err
    assert env.calls() == []


def test_wrong_numa_layout(tmp_path):
    env = one_u(tmp_path, node=1)
    r = env.run()
    assert r.returncode == 1
    assert ("edge-1u-2x25g (needs 2 x 8086:159b on node 0: found 0 (2 on other nodes))"
            in r.stderr), r.stderr
    assert "0000:3b:00.0 8086:159b (ice, ens1f0, node 1)" in r.stderr
    assert env.calls() == [] and not os.path.exists(env.out)


def test_named_profile_that_does_not_match(tmp_path):
    env = qemu(tmp_path)
    for args, e in ((["--profile", "edge-1u-2x25g"], None),
                    ([], {"EDGEDNS_PROFILE": "edge-1u-2x25g"})):
        r = env.run(*args, env=e)
        assert r.returncode == 1
        assert r.stderr.startswith(
            "edgedns-setup: profile edge-1u-2x25g (named) does not match this machine: "
            "needs 16 CPUs: found 2; needs 2 x 8086:159b on node 0: found 0; "
            "needs the ports 0000:3b:00.0, 0000:3b:00.1: not found; NICs found: "), r.stderr
        assert "(--force prepares it anyway)" in r.stderr
    assert env.calls() == []
    # an unknown name
    r = env.run("--profile", "nosuch")
    assert r.returncode == 1
    assert "profile nosuch: %s/nosuch.yaml: No such file" % PROFILES in r.stderr


def test_force_wrong_numa(tmp_path):
    """The operator knows the NICs sit on node 1 and runs the 1U profile
    anyway: a warning, then the ports bound and the pages reserved."""
    env = one_u(tmp_path, node=1)
    r = env.run("--profile", "edge-1u-2x25g", "--force")
    assert r.returncode == 0, r.stderr
    assert ("warning: profile edge-1u-2x25g (named, forced) does not match this machine: "
            "needs 2 x 8086:159b on node 0: found 0 (2 on other nodes)") in r.stderr
    assert env.calls() == ["modprobe vfio-pci",
                           "dpdk-devbind.py -b vfio-pci 0000:3b:00.0",
                           "dpdk-devbind.py -b vfio-pci 0000:3b:00.1"]
    assert env.hw_env().startswith(HEADER % (
        "edge-1u-2x25g", "named, forced (does not match this machine)"))
    # --force without a named profile is refused
    assert env.run("--force").returncode == 1


def test_named_profile_matching(tmp_path):
    env = one_u(tmp_path, driver="vfio-pci")
    env.sys.set_huge("1G", 4, node=0)
    path = os.path.join(PROFILES, "edge-1u-2x25g.yaml")
    r = env.run("--profile", path)
    assert r.returncode == 0, r.stderr
    assert env.hw_env().startswith(HEADER % ("edge-1u-2x25g", "named, matches this machine"))


def test_hugepages_size_not_offered(tmp_path):
    env = one_u(tmp_path, huge=("2M",))
    r = env.run()
    assert r.returncode == 1
    assert r.stderr.startswith(
        "edgedns-setup: hugepages: this kernel offers no 1G pages (offered: 2M)\n"), r.stderr
    assert env.calls() == []


def test_hugepages_not_written(tmp_path):
    """nr_hugepages that cannot be written (here a directory): a clear
    error and nothing bound. (Fewer pages than asked: test_setup.c plays
    the kernel.)"""
    env = one_u(tmp_path)
    p = env.sys.huge_file("1G", node=0)
    os.unlink(p)
    os.mkdir(p)
    r = env.run()
    assert r.returncode == 1
    assert "hugepages: %s: " % p in r.stderr
    assert env.calls() == []


def test_devbind_fails_or_does_nothing(tmp_path):
    env = one_u(tmp_path)
    r = env.run(env={"FAKE_DEVBIND_RC": "1"})
    assert r.returncode == 1
    assert ("edgedns-setup: %s -b vfio-pci 0000:3b:00.0: exit status 1" % env.devbind
            in r.stderr), r.stderr
    assert not os.path.exists(env.out)
    r = env.run(env={"FAKE_DEVBIND_NOOP": "1"})
    assert r.returncode == 1
    assert "0000:3b:00.0: still bound to ice after" in r.stderr
    r = env.run(env={"FAKE_MODPROBE_RC": "1"})
    assert r.returncode == 1
    assert "%s vfio-pci: exit status 1" % env.modprobe in r.stderr
    r = env.run("--devbind", os.path.join(env.tmp, "nosuch"))
    assert r.returncode == 1
    assert "nosuch -b vfio-pci 0000:3b:00.0: could not run: No such file" in r.stderr


def test_no_iommu(tmp_path):
    env = Env(tmp_path, cpus="0-15")
    for i in range(2):
        env.sys.nic("0000:3b:00.%d" % i, E810, driver="ice", iommu=False)
    r = env.run()
    assert r.returncode == 1
    assert "0000:3b:00.0: vfio-pci needs an IOMMU" in r.stderr
    assert env.calls() == ["modprobe vfio-pci"]
    # vfio's no-IOMMU mode is enough
    env.sys._write("module/vfio/parameters/enable_unsafe_noiommu_mode", "Y")
    assert env.run().returncode == 0


# ---- the virtual machine -------------------------------------------------------------

@pytest.mark.parametrize("ident", ["1af4:1041", "1af4:1000"])
def test_qemu_virtio(tmp_path, ident):
    env = qemu(tmp_path, ident=ident)
    r = env.run()
    assert r.returncode == 0, r.stderr
    assert env.hw_env() == HEADER % ("qemu-virtio", "matched this machine") + (
        'EDGEDNS_HW_OPTS="--profile %s/qemu-virtio.yaml '
        '--port net_af_xdp0,iface=enp0s4 --"\n' % PROFILES)
    assert env.calls() == []  # driver none: nothing loaded, nothing bound


def test_qemu_third_nic_and_one_nic(tmp_path):
    env = qemu(tmp_path / "three", n=3)
    assert env.run().returncode == 0
    assert "--port net_af_xdp0,iface=enp0s4 --" in env.hw_env()
    env = qemu(tmp_path / "one", n=1)
    r = env.run()
    assert r.returncode == 1
    assert ("no profile matches this machine: NICs found: "
            "0000:00:03.0 1af4:1041 (virtio-pci, enp0s3, node 0); profiles tried:") in r.stderr
    assert "qemu-virtio (needs 2 x 1af4:1000|1af4:1041: found 1)" in r.stderr
    env = qemu(tmp_path / "onecpu", cpus="0")
    r = env.run()
    assert r.returncode == 1 and "qemu-virtio (needs 2 CPUs: found 1)" in r.stderr


def test_qemu_hw_env_accepted_by_the_dataplane(tmp_path):
    """The dataplane takes the written arguments: it loads the profile
    (new keys and all) and gets as far as probing the port."""
    if not os.path.exists(DATAPLANE):
        pytest.skip("no edgedns-dataplane in " + BUILD)
    env = qemu(tmp_path)
    assert env.run().returncode == 0
    snaps = tmp_path / "snaps"
    snaps.mkdir()
    prefix = "edgedns-hwtest-%d" % os.getpid()
    cmd = [DATAPLANE, "--io", "dpdk", "--snapshots", str(snaps), "--serve", "192.0.2.53",
           "--control", str(tmp_path / "dp.sock")] + opts_of(env.hw_env()) + [
           "--file-prefix", prefix]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    for f in glob.glob("/var/run/dpdk/%s" % prefix):
        shutil.rmtree(f, ignore_errors=True)
    assert ("hardware profile %s/qemu-virtio.yaml: model qemu-virtio" % PROFILES
            in r.stderr), r.stderr
    assert r.returncode != 0  # no enp0s4 here
    assert "net_af_xdp0,iface=enp0s4" in r.stderr


# ---- choosing among profiles ------------------------------------------------------------

def write_profile(d, name, text):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name + ".yaml"), "w") as f:
        f.write(textwrap.dedent(text))


ONE_VIRTIO = """\
    model: %s
    match:
      nics:
        - id: "1af4:1041"
    eal: [--no-huge]
    ports: ["net_af_xdp0,iface=${nic1.iface}"]
    """


def test_most_specific_wins_and_ties_are_errors(tmp_path):
    env = qemu(tmp_path)
    d = os.path.join(env.tmp, "profiles")
    os.makedirs(d)
    shutil.copy(os.path.join(PROFILES, "qemu-virtio.yaml"), d)
    write_profile(d, "one-virtio", ONE_VIRTIO % "one-virtio")
    r = env.run(profiles=d)
    assert r.returncode == 0, r.stderr
    assert ("profile qemu-virtio (matches this machine; less specific matches: one-virtio)"
            in r.stdout)
    write_profile(d, "one-virtio-bis", ONE_VIRTIO % "one-virtio-bis")
    os.unlink(os.path.join(d, "qemu-virtio.yaml"))
    r = env.run(profiles=d)
    assert r.returncode == 1
    assert ("several profiles match this machine equally: one-virtio-bis, one-virtio; "
            "name one with --profile") in r.stderr, r.stderr
    r = env.run("--profile", "one-virtio-bis", profiles=d)
    assert r.returncode == 0
    assert "--port net_af_xdp0,iface=enp0s3 --" in env.hw_env()


def test_broken_profile_is_skipped(tmp_path):
    env = qemu(tmp_path)
    d = os.path.join(env.tmp, "profiles")
    os.makedirs(d)
    shutil.copy(os.path.join(PROFILES, "qemu-virtio.yaml"), d)
    write_profile(d, "broken", "model: x\nports: [a]\nmatch: {cpus: many}\n")
    r = env.run(profiles=d)
    assert r.returncode == 0, r.stderr
    assert ("warning: %s/broken.yaml:3: match.cpus: expected a number in [1, 65536]; skipped"
            % d) in r.stderr
    # named, it is an error
    r = env.run("--profile", "broken", profiles=d)
    assert r.returncode == 1 and "profile broken: %s/broken.yaml:3: match.cpus" % d in r.stderr


def test_mlx5_style_profile_allow_lists_its_ports(tmp_path):
    """driver none with PCI ports (a bifurcated NIC): nothing bound, the
    ports found by id and allow-listed for EAL after "--"; system-wide
    2M pages on a kernel without NUMA."""
    env = Env(tmp_path, cpus="0-7", numa=False)
    env.sys.nic("0000:af:00.0", "15b3:1017", node=-1, driver="mlx5_core", iface="enp175s0f0")
    env.sys.nic("0000:af:00.1", "15b3:1017", node=-1, driver="mlx5_core", iface="enp175s0f1")
    d = os.path.join(env.tmp, "profiles")
    write_profile(d, "cx5", """\
        model: cx5
        match:
          nics:
            - id: "15b3:1017"
              count: 2
              numa-node: 0
        driver: none
        hugepages: {size: 2M, count: 512}
        eal: [-l, "0-3", -a, "0000:af:00.1"]
        ports: ["${nic1}", "${nic2.pci}"]
        """)
    r = env.run(profiles=d)
    assert r.returncode == 0, r.stderr
    assert env.calls() == []
    assert env.sys.get_huge("2M") == 512
    assert "512 x 2M in total reserved (were 0)" in r.stdout
    # 0000:af:00.1 is in the profile's eal already
    assert opts_of(env.hw_env()) == ["--profile", d + "/cx5.yaml", "--port", "0000:af:00.0",
                                     "--port", "0000:af:00.1", "--", "-a", "0000:af:00.0"]


def test_iface_of_a_nic_without_one(tmp_path):
    env = qemu(tmp_path)
    env.sys.bind("0000:00:04.0", "vfio-pci")
    shutil.rmtree(env.sys.path("devices/pci0000:00/0000:00:04.0/virtio1"))
    r = env.run()
    assert r.returncode == 1
    assert ("port 'net_af_xdp0,iface=${nic2.iface}': nic2 0000:00:04.0 has no kernel "
            "interface (driver: vfio-pci)") in r.stderr, r.stderr


def test_unsafe_word_in_hw_env(tmp_path):
    env = qemu(tmp_path)
    d = os.path.join(env.tmp, "pro files")
    os.makedirs(d)
    shutil.copy(os.path.join(PROFILES, "qemu-virtio.yaml"), d)
    r = env.run(profiles=d)
    assert r.returncode == 1
    assert "cannot go into EDGEDNS_HW_OPTS" in r.stderr
    assert not os.path.exists(env.out)


def test_relative_profiles_dir_gives_an_absolute_path(tmp_path):
    env = qemu(tmp_path)
    r = subprocess.run([SETUP, "--sysfs", env.sys.root, "--profiles", "hw/profiles",
                        "--output", env.out], cwd=REPO, capture_output=True, text=True,
                       env={"PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr
    assert opts_of(env.hw_env())[1] == PROFILES + "/qemu-virtio.yaml"
