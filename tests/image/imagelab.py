"""imagelab.py: the appliance's disk image booted under qemu (make image-test).

    test namespace edi<pid>-net                   qemu guest: the image (edgedns.img)
    dns0 (tap) 192.0.2.1/24, 2001:db8::1/64 ----- NIC 2, 00:04.0, enp0s4: the DNS port,
         BIRD as the PoP router (AS 64500):         net_af_xdp on its kernel interface
         BGP + BFD with 192.0.2.53 and               (hw profile qemu-virtio, edgedns-setup);
         2001:db8::53, routes into the kernel        edns0 (the dataplane's exception tap):
         kdig @198.51.100.53 via the learnt route    192.0.2.53/24, 2001:db8::53/64 and the
                                                     anycast 198.51.100.53, 2001:db8:53::53
    mgmt0 (tap) 203.0.113.1/24 ------------------- NIC 1, 00:03.0, enp0s3: management,
         NSD (the zones, TSIG, NOTIFY to             203.0.113.2/24: ssh, zone transfers,
         203.0.113.2), ssh to the guest              NOTIFY

The guest's disk is a sparse copy of the cached image with its data
partition provisioned (images/provision.sh): network, ssh key, TSIG and
cookie secrets, the dataplane's options; the control config is kept aside
(self.control_yaml) for the test to install over ssh, so the first boot is
the unprovisioned one. A second, read-only disk (serial "bundles") carries
the update bundles: the appliance's update from removable media, without
copying 140 MiB over a TCG-emulated network for each bundle.

qemu runs inside the namespace with its two taps (KVM when /dev/kvm is
usable, else TCG with -cpu max: DPDK needs SSE4.2), OVMF with a private
copy of its variables, the serial console in serial.log. Everything is
bounded; down() stops qemu, NSD and BIRD by pid and deletes the namespace
and the work directory (EDGEDNS_IMAGE_KEEP=1 keeps the latter).
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "lab"))

import anycast  # noqa: E402
import labprimary  # noqa: E402

QEMU = shutil.which("qemu-system-x86_64") or "/usr/bin/qemu-system-x86_64"
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"

PREFIX = "edi"
ROUTER4, ROUTER6 = "192.0.2.1", "2001:db8::1"
EDGE4, EDGE6 = "192.0.2.53", "2001:db8::53"
ANY4, ANY6 = "198.51.100.53", "2001:db8:53::53"
PRIMARY4, GUEST_MGMT4 = labprimary.PRIMARY4, labprimary.MGMT4   # 203.0.113.1, .2
MAC_MGMT, MAC_DNS = "52:54:00:00:53:01", "52:54:00:00:53:02"
DNS_TAP, MGMT_TAP = "dns0", "mgmt0"
GUEST_DNS_IF = "enp0s4"
ROUTER_AS, EDGE_AS = anycast.ROUTER_AS, anycast.EDGE_AS
SERVICE = "dns"
GROW_MIB = 512

_NAME_RE = re.compile(r"^%s(\d+)-net$" % PREFIX)


class ImageLabError(RuntimeError):
    pass


def run(argv, check=True, timeout=60, input=None):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout, input=input,
                       stdin=None if input is not None else subprocess.DEVNULL)
    if check and p.returncode != 0:
        raise ImageLabError("%s: exit %d: %s%s" % (" ".join(argv), p.returncode, p.stdout,
                                                  p.stderr))
    return p


def wait_until(fn, timeout, what, step=1.0):
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = fn()
        if last:
            return last
        if time.monotonic() > deadline:
            raise ImageLabError("%s: not within %.0f s (last: %r)" % (
                what() if callable(what) else what, timeout, last))
        time.sleep(step)


def kvm_usable():
    try:
        fd = os.open("/dev/kvm", os.O_RDWR)
    except OSError:
        return False
    os.close(fd)
    return True


def sweep_stale():
    """Namespaces of image labs whose owner died: the processes in them
    (their qemu, NSD, BIRD) and the namespace."""
    p = run(["ip", "netns", "list"], check=False)
    for line in p.stdout.splitlines():
        ns = line.split()[0] if line.strip() else ""
        m = _NAME_RE.match(ns)
        if not m:
            continue
        try:
            os.kill(int(m.group(1)), 0)
            continue
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        for pid in run(["ip", "netns", "pids", ns], check=False).stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        run(["ip", "netns", "del", ns], check=False)


def zone_text(origin, serial, canary="ok"):
    return """$ORIGIN %s
$TTL 300
@       IN SOA ns1 hostmaster %d 3600 600 86400 300
@       IN NS  ns1
ns1     IN A   192.0.2.53
www     IN A   192.0.2.80
canary  IN TXT "%s"
""" % (origin, serial, canary)


class ImageLab:
    """One guest booted from a copy of image, in a namespace of its own.

    image: the disk image (build/image/edgedns.img); bundles: {name:
    path} put on the read-only "bundles" disk; zones: {origin: text} for
    NSD; canary: the zone the service probes (SOA serial, TXT canary)."""

    def __init__(self, image, bundles, zones, canary, workdir=None, owner=None):
        self.image = image
        self.bundles = dict(bundles)
        self.zones = dict(zones)
        self.canary = canary
        self.owner = owner or os.getpid()
        self.ns = "%s%d-net" % (PREFIX, self.owner)
        self.workdir = workdir or tempfile.mkdtemp(prefix="edgedns-image-test-")
        self.disk = os.path.join(self.workdir, "disk.img")
        self.serial_log = os.path.join(self.workdir, "serial.log")
        self.key = os.path.join(self.workdir, "id_ed25519")
        self.accel = "kvm" if kvm_usable() else "tcg"
        self.qemu = None
        self.nsd = None
        self.router = None
        self._made_ns = False
        self.cookie = "0123456789abcdef0123456789abcdef"
        self.control_yaml = self._control_yaml()

    # ---- the guest's data partition ------------------------------------
    def _control_yaml(self):
        zones = "\n".join("  - domain: %s\n    primary:\n      - address: %s@53\n"
                          "        key: %s" % (z, PRIMARY4, labprimary.KEY_ID)
                          for z in self.zones)
        return """# edgedns image test (tests/image/imagelab.py)
control:
  notify-listen: %(mgmt)s@53
  log: syslog
key:
  - id: %(key)s
    algorithm: %(alg)s
    secret-file: /etc/edgedns/%(key)s.secret
policy:
  - id: default
    transfer-timeout: 20s
zone:
%(zones)s
service:
  - id: %(svc)s
    address: [%(any4)s, %(any6)s]
    probe:
      - name: %(canary)s
      - name: canary.%(canary)s
        type: TXT
        expect: ok
    critical-zone: %(canary)s
    # rounds and probe waits for a TCG-emulated guest
    interval: 500ms
    probe-timeout: 400ms
    fall: 3
    rise: 3
    hold-down: 2s
    hold-down-max: 8s
    drain-time: 1s
    stop-drain-time: 1s
bgp:
  router-id: %(edge4)s
  local-as: %(eas)d
  config-file: /run/edgedns/bird.conf
  bfd-interval: 500ms
  bfd-multiplier: 5
  neighbor:
    - address: %(r4)s
      as: %(ras)d
    - address: %(r6)s
      as: %(ras)d
""" % {"mgmt": GUEST_MGMT4, "key": labprimary.KEY_ID, "alg": labprimary.KEY_ALG,
       "zones": zones, "svc": SERVICE, "any4": ANY4, "any6": ANY6, "canary": self.canary,
       "edge4": EDGE4, "eas": EDGE_AS, "r4": ROUTER4, "r6": ROUTER6, "ras": ROUTER_AS}

    def _provision_dir(self):
        d = os.path.join(self.workdir, "provision")
        etc = os.path.join(d, "etc", "edgedns")
        os.makedirs(os.path.join(etc, "network"))
        os.makedirs(os.path.join(etc, "ssh"))

        def put(rel, text, mode=0o644):
            path = os.path.join(etc, rel)
            with open(path, "w") as f:
                f.write(text)
            os.chmod(path, mode)

        with open(self.key + ".pub") as f:
            put("ssh/authorized_keys", f.read(), 0o600)
        put(labprimary.KEY_ID + ".secret", labprimary.KEY_SECRET + "\n", 0o600)
        put("cookie.secret", self.cookie + "\n", 0o600)
        put("dataplane.env",
            '# edgedns image test: the anycast addresses; no rate limit; the worker\n'
            '# sleeps when idle (a TCG vCPU is slow enough)\n'
            'EDGEDNS_DATAPLANE_OPTS="--serve %s --serve %s --rrl-rate 0 '
            '--idle-sleep-us 200"\n' % (ANY4, ANY6))
        put("slot-check.env", "SLOT_CHECK_TIMEOUT=420\n")
        put("network/10-mgmt.network",
            "[Match]\nMACAddress=%s\nType=ether\n\n[Link]\nRequiredForOnline=yes\n\n"
            "[Network]\nAddress=%s/24\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n"
            % (MAC_MGMT, GUEST_MGMT4))
        # the DNS port: the dataplane's (AF_XDP); the kernel keeps no address
        put("network/20-dns-port.network",
            "[Match]\nName=%s\n\n[Link]\nRequiredForOnline=no\n\n"
            "[Network]\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n" % GUEST_DNS_IF)
        # the exception interface the dataplane makes: the kernel's side of
        # the DNS port (BGP, BFD, ARP, ND, TCP) and the anycast addresses
        put("network/30-edns0.network",
            "[Match]\nName=edns0\n\n[Link]\nRequiredForOnline=no\n\n"
            "[Network]\nLinkLocalAddressing=ipv6\nIPv6AcceptRA=no\n"
            "Address=%s/24\nAddress=%s/64\nAddress=%s/32\nAddress=%s/128\n"
            % (EDGE4, EDGE6, ANY4, ANY6))
        return d

    def _bundles_disk(self):
        d = os.path.join(self.workdir, "bundles")
        os.makedirs(d)
        size = 64 << 20
        for name, path in self.bundles.items():
            os.link(path, os.path.join(d, name)) if os.stat(path).st_dev == os.stat(d).st_dev \
                else shutil.copy(path, os.path.join(d, name))
            size += os.path.getsize(path) + (8 << 20)
        img = os.path.join(self.workdir, "bundles.img")
        run(["mkfs.ext4", "-q", "-F", "-L", "bundles", "-d", d, img, "%dk" % (size // 1024)],
            timeout=300)
        return img

    # ---- bring up -----------------------------------------------------
    def up(self):
        try:
            self._up()
        except BaseException:
            self.down()
            raise
        return self

    def _up(self):
        sweep_stale()
        t0 = time.monotonic()
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", self.key])
        run(["cp", "--sparse=always", self.image, self.disk], timeout=300)
        run(["sh", os.path.join(REPO, "images", "provision.sh"), self.disk,
             self._provision_dir()], timeout=300)
        # a disk bigger than the image: the data partition takes the rest
        # at the first boot
        with open(self.disk, "r+b") as f:
            f.truncate(os.path.getsize(self.image) + (GROW_MIB << 20))
        self.bundles_img = self._bundles_disk()
        self.vars = os.path.join(self.workdir, "OVMF_VARS.fd")
        shutil.copy(OVMF_VARS, self.vars)
        self.prep_seconds = time.monotonic() - t0

        run(["ip", "netns", "add", self.ns])
        self._made_ns = True
        n = self.in_ns
        n(["ip", "link", "set", "lo", "up"])
        for tap in (DNS_TAP, MGMT_TAP):
            n(["ip", "tuntap", "add", "dev", tap, "mode", "tap"])
        n(["ip", "addr", "add", ROUTER4 + "/24", "dev", DNS_TAP])
        n(["ip", "addr", "add", ROUTER6 + "/64", "dev", DNS_TAP, "nodad"])
        n(["ip", "addr", "add", PRIMARY4 + "/24", "dev", MGMT_TAP])
        for tap in (DNS_TAP, MGMT_TAP):
            n(["ip", "link", "set", tap, "up"])
            # full checksums from this side: the guest's DPDK port sees raw
            # frames, without the offload flags a partial checksum needs
            n(["ethtool", "-K", tap, "tx", "off"], check=False)
        n(["sysctl", "-q", "-w", "net.ipv6.conf.%s.keep_addr_on_down=1" % DNS_TAP])

        self.nsd = labprimary.Nsd(self.ns, self.workdir, self.zones, self.ns_socket)
        self._start_qemu()
        self.nsd.start(timeout=30)
        bdir = os.path.join(self.workdir, "bird")
        os.makedirs(bdir)
        rconf = os.path.join(bdir, "router.conf")
        with open(rconf, "w") as f:
            f.write(anycast.router_conf(os.path.join(bdir, "router.log")))
        self.router = anycast.Bird(self.ns, bdir, "router", rconf)
        self.router.start()

    def _start_qemu(self):
        cpu = ["-cpu", "host"] if self.accel == "kvm" else ["-cpu", "max"]
        argv = [QEMU, "-name", "edgedns-image-test", "-machine", "q35,accel=%s" % self.accel]
        argv += cpu + ["-smp", "2", "-m", "2048", "-nodefaults", "-vga", "none",
                       "-display", "none", "-monitor", "none",
                       "-serial", "file:%s" % self.serial_log,
                       "-pidfile", os.path.join(self.workdir, "qemu.pid"),
                       "-drive", "if=pflash,format=raw,readonly=on,file=%s" % OVMF_CODE,
                       "-drive", "if=pflash,format=raw,file=%s" % self.vars,
                       "-drive", "file=%s,if=none,id=disk,format=raw,cache=unsafe" % self.disk,
                       "-device", "virtio-blk-pci,drive=disk,bootindex=1,addr=0x5",
                       "-drive", "file=%s,if=none,id=bundles,format=raw,readonly=on"
                       % self.bundles_img,
                       "-device", "virtio-blk-pci,drive=bundles,serial=bundles,addr=0x6",
                       "-netdev", "tap,id=mgmt,ifname=%s,script=no,downscript=no" % MGMT_TAP,
                       "-device", "virtio-net-pci,netdev=mgmt,mac=%s,addr=0x3" % MAC_MGMT,
                       "-netdev", "tap,id=dns,ifname=%s,script=no,downscript=no" % DNS_TAP,
                       "-device", "virtio-net-pci,netdev=dns,mac=%s,addr=0x4" % MAC_DNS,
                       "-device", "virtio-rng-pci,addr=0x7"]
        self.qemu = labprimary.Proc(self.ns, argv, os.path.join(self.workdir, "qemu.log"))
        self.qemu.start()
        self.qemu_started = time.monotonic()

    # ---- tear down ----------------------------------------------------
    def down(self):
        for what in (self.router, self.nsd):
            try:
                if what is not None:
                    what.stop()
            except Exception as ex:  # noqa: BLE001 - teardown goes on
                sys.stderr.write("image lab: stop: %r\n" % ex)
        if self.qemu is not None and self.qemu.proc is not None and self.qemu.alive():
            self.qemu.stop(timeout=10)
        if self._made_ns:
            for pid in run(["ip", "netns", "pids", self.ns], check=False).stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            run(["ip", "netns", "del", self.ns], check=False)
            self._made_ns = False
        if self.workdir and os.path.isdir(self.workdir):
            if os.environ.get("EDGEDNS_IMAGE_KEEP"):
                sys.stderr.write("image lab: work directory kept: %s\n" % self.workdir)
            else:
                shutil.rmtree(self.workdir, ignore_errors=True)

    # ---- the namespace ------------------------------------------------
    def in_ns(self, argv, check=True, timeout=60, input=None):
        return run(["ip", "netns", "exec", self.ns] + list(argv), check=check, timeout=timeout,
                   input=input)

    def ns_socket(self, family, type_):
        import lab
        return lab.netns_socket(self.ns, family, type_)

    def router_has(self, prefix):
        fam = "-6" if ":" in prefix else "-4"
        p = run(["ip", fam, "-n", self.ns, "route", "show", "exact", prefix], check=False)
        return p.returncode == 0 and p.stdout.strip() != ""

    def announced(self):
        return self.router_has(ANY4 + "/32") and self.router_has(ANY6 + "/128")

    def withdrawn(self):
        return not self.router_has(ANY4 + "/32") and not self.router_has(ANY6 + "/128")

    def kdig(self, server, qname, qtype="SOA", tcp=False, timeout=3):
        """(rcode, output) of kdig from the namespace."""
        args = ["kdig", "@" + server, qname, qtype, "+time=%d" % timeout, "+retry=1"]
        if tcp:
            args.append("+tcp")
        p = self.in_ns(args, check=False, timeout=timeout * 3 + 5)
        m = re.search(r"status: (\w+)", p.stdout)
        return (m.group(1) if m else None), p.stdout

    # ---- the guest -----------------------------------------------------
    def ssh(self, cmd, check=True, timeout=120, input=None):
        argv = ["ip", "netns", "exec", self.ns, "ssh", "-i", self.key, "-o", "BatchMode=yes",
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=5",
                "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=4",
                "root@" + GUEST_MGMT4, cmd]
        return run(argv, check=check, timeout=timeout, input=input)

    def guest_up(self):
        try:
            p = self.ssh("cat /proc/sys/kernel/random/boot_id", check=False, timeout=20)
        except subprocess.TimeoutExpired:
            return None
        return p.stdout.strip() if p.returncode == 0 and p.stdout.strip() else None

    def wait_boot(self, timeout, previous=None):
        """Until ssh answers with a boot id other than previous; the id."""
        self.assert_qemu()
        return wait_until(lambda: self.assert_qemu() or
                          (lambda b: b if b and b != previous else None)(self.guest_up()),
                          timeout, lambda: "the guest answering ssh (serial console:\n%s)" %
                          self.serial_tail(), step=3)

    def assert_qemu(self):
        """qemu runs and the guest has not said it booted without its data
        partition (then ssh would never let us in: the key is there)."""
        if self.qemu is None or not self.qemu.alive():
            raise ImageLabError("qemu exited: %s\n%s" % (self.qemu.log_text(2000) if self.qemu
                                                         else "", self.serial_tail()))
        m = re.search(r"data partition: tmpfs: [^)]*\)", self.serial_text())
        if m:
            raise ImageLabError("the guest booted without its data partition (%s):\n%s" % (
                m.group(0), self.serial_tail()))
        return None

    def serial_text(self):
        try:
            with open(self.serial_log, "rb") as f:
                data = f.read()
        except OSError:
            return ""
        text = data.decode("utf-8", "replace")
        return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)

    def serial_tail(self, n=3000):
        return self.serial_text()[-n:]

    def rauc_status(self):
        p = self.ssh("rauc status --output-format=json")
        return json.loads(p.stdout)

    def grubenv(self):
        p = self.ssh("grub-editenv /boot/efi/EFI/BOOT/grubenv list")
        return dict(line.split("=", 1) for line in p.stdout.splitlines() if "=" in line)

    def booted_slot(self):
        return self.rauc_status()["booted"]

    def health(self):
        p = self.ssh("edgednsctl --json health", check=False)
        try:
            return json.loads(p.stdout)["services"][0]
        except (ValueError, KeyError, IndexError):
            return {"error": (p.stdout + p.stderr).strip()}

    def journal(self, unit, lines=40):
        return self.ssh("journalctl -b --no-pager -o short-monotonic -n %d -u %s" % (lines, unit),
                        check=False).stdout
