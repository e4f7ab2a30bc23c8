"""The appliance image, booted (make image-test; imagelab.py, conftest.py).

One guest for the module; the tests build on each other, in file order,
and keep the number of boots small (four; under TCG each is slow):

1. slot A, first boot, not provisioned: nothing announced, the console
   and edgednsctl status say why; then the config arrives over ssh and
   the appliance transfers the zones from NSD, takes its DNS port with
   DPDK (net_af_xdp), peers with the router over BGP + BFD, announces,
   and kdig gets answers on the anycast addresses;
2. kill -9 of control: the route goes or is kept only within the
   dataplane lease, and is there again once systemd restarted control;
3. tampered, re-signed by a stranger, badly signed and unsigned bundles
   are refused and change nothing;
4. a signed update installs into slot B, boots (a trial) and is marked
   good once healthy; the services came up in order; announced again;
5. an update whose dataplane cannot start installs into A, fails its
   trial and the appliance goes back to B by itself, which announces.

Every wait is bounded; the times are printed (pytest -s) and noted in
the README.
"""

import json
import os
import re
import time

import pytest

import imagelab
from imagelab import ANY4, ANY6, ImageLab

CANARY = "anycast.example."
ZONES = {
    CANARY: imagelab.zone_text(CANARY, 2026120701),
    "example.net.": imagelab.zone_text("example.net.", 2026120702),
}
LEASE = 5.0          # control's dataplane lease (default, control.yaml(5))
BFD_DETECT = 2.5     # bfd-interval 500 ms x 5 (the guest's control.yaml)

# bounds, generous for TCG on a busy 2-core machine
BOOT_TIMEOUT = 900
ANNOUNCE_TIMEOUT = 420
TRIAL_TIMEOUT = 600

times = {}


def note(what, seconds):
    times[what] = seconds
    print("image test: %s: %.1f s" % (what, seconds))


@pytest.fixture(scope="module")
def vm(image, bundles):
    lab = ImageLab(image["path"], {k: v for k, v in bundles.items()}, ZONES, CANARY)
    try:
        lab.up()
        note("preparing the disk, the bundles disk and the namespace", lab.prep_seconds)
        yield lab
    finally:
        if times:
            print("image test times: " + json.dumps({k: round(v, 1) for k, v in times.items()}))
        lab.down()


def zone_serial(text):
    return int(re.search(r"SOA ns1 hostmaster (\d+)", text).group(1))


def answers(lab, server, zone, tcp=False):
    rc, out = lab.kdig(server, zone, "SOA", tcp=tcp)
    return rc == "NOERROR" and str(zone_serial(ZONES[zone])) in out


def wait_announced(lab, timeout=ANNOUNCE_TIMEOUT):
    imagelab.wait_until(lab.announced, timeout,
                        lambda: "the router learning %s/32 and %s/128 (health: %s)" % (
                            ANY4, ANY6, json.dumps(lab.health())), step=1)


def unit_times(lab, units):
    p = lab.ssh("systemctl show -p Id -p ActiveEnterTimestampMonotonic -p "
                "InactiveExitTimestampMonotonic " + " ".join(units))
    out, cur = {}, {}
    for line in p.stdout.splitlines() + [""]:
        if not line.strip():
            if cur:
                out[cur["Id"]] = cur
            cur = {}
            continue
        k, _, v = line.partition("=")
        cur[k] = int(v) if v.isdigit() else v
    return out


def test_first_boot_unprovisioned_is_safe(vm):
    lab = vm
    boot = lab.wait_boot(BOOT_TIMEOUT)
    note("qemu start to ssh (first boot, slot A)", time.monotonic() - lab.qemu_started)
    lab.boot_id = boot
    assert lab.booted_slot() == "A"
    # the console says why nothing is announced
    imagelab.wait_until(lambda: "not provisioned" in lab.serial_text(), 300,
                        lambda: "the console saying 'not provisioned':\n" + lab.serial_tail())
    line = [ln for ln in lab.serial_text().splitlines() if "not provisioned" in ln][-1]
    assert "/etc/edgedns/control.yaml" in line and "nothing is announced" in line, line
    print("console: " + line.strip())
    # and so does edgednsctl status
    p = lab.ssh("edgednsctl status", check=False)
    print("edgednsctl status: rc %d: %s" % (p.returncode, (p.stdout + p.stderr).strip()))
    assert p.returncode != 0
    assert "not provisioned" in p.stdout + p.stderr and "control.yaml" in p.stdout + p.stderr
    assert lab.ssh("systemctl is-active edgedns-control edgedns-dataplane", check=False) \
        .stdout.split() == ["inactive", "inactive"]
    # the disk is bigger than the image: the data partition grew to its end
    p = lab.ssh("df -k --output=size /data | tail -1; sfdisk --verify /dev/vda; "
                "cat /run/edgedns-image/data.status")
    size_mib = int(p.stdout.split()[0]) // 1024
    print("data partition grown at the first boot: %d MiB file system; %s" % (
        size_mib, " ".join(p.stdout.split("\n", 1)[1].split())))
    assert size_mib > 256 + imagelab.GROW_MIB * 3 // 4, p.stdout
    # the slot is confirmed all the same (the system is up), nothing announced
    env = lab.grubenv()
    assert env["A_OK"] == "1" and env["A_TRY"] == "0", env
    assert lab.withdrawn()
    protos = lab.router.protocols()
    assert "Established" not in protos.get("bgp_edge4", {}).get("info", ""), protos


def test_provisioned_serves_and_announces(vm):
    lab = vm
    t0 = time.monotonic()
    lab.ssh("cat > /etc/edgedns/control.yaml && systemctl start edgedns.target",
            input=lab.control_yaml)
    wait_announced(lab)
    note("config installed to announced", time.monotonic() - t0)
    h = lab.health()
    assert h.get("route") == "announced" and h.get("healthy"), h
    for k in ("heartbeat", "probe", "ports", "zones", "tcp"):
        assert h["checks"][k]["ok"], (k, h)
    # answers through the learnt route, from the DPDK worker (UDP) and the
    # kernel (TCP), for zones NSD in the namespace serves
    for server in (ANY4, ANY6):
        for zone in ZONES:
            assert imagelab.wait_until(lambda: answers(lab, server, zone), 30,
                                       "%s SOA from %s" % (zone, server), step=1)
    assert answers(lab, ANY4, CANARY, tcp=True)
    # the DNS port is DPDK's: net_af_xdp on the virtio NIC's interface
    hw = lab.ssh("cat /run/edgedns/hw.env").stdout
    assert "net_af_xdp0,iface=%s" % imagelab.GUEST_DNS_IF in hw and "qemu-virtio" in hw, hw
    link = lab.ssh("ip -d link show %s" % imagelab.GUEST_DNS_IF).stdout
    mode = re.search(r"\b(xdpgeneric|xdpdrv|xdpoffload|xdp)\b", link)
    assert mode, link
    print("DNS port %s: XDP program attached (%s); hw.env: %s" % (
        imagelab.GUEST_DNS_IF, mode.group(1), hw.strip().splitlines()[-1]))
    protos = lab.router.protocols()
    assert "Established" in protos["bgp_edge4"]["info"], protos
    bfd = lab.router.cli("raw", "show bfd sessions").stdout
    assert "Up" in bfd, bfd


def test_kill9_control(vm):
    """kill -9: control's lease in the dataplane keeps the route at most
    LEASE (+ BFD detection) while nothing renews it; systemd restarts
    control, which adopts BIRD's state or announces again after its
    checks."""
    lab = vm
    wait_announced(lab, 120)
    pid = lab.ssh("systemctl show -p MainPID --value edgedns-control").stdout.strip()
    assert pid and pid != "0"
    t0 = time.monotonic()
    lab.ssh("kill -9 %s" % pid)
    gone_at = back_at = control_at = None
    deadline = t0 + 240
    while time.monotonic() < deadline:
        now = time.monotonic() - t0
        have = lab.announced()
        if not have and gone_at is None:
            gone_at = now
        if control_at is None:
            p = lab.ssh("systemctl show -p MainPID -p ActiveState edgedns-control", check=False)
            st = dict(ln.split("=", 1) for ln in p.stdout.split() if "=" in ln)
            if st.get("ActiveState") == "active" and st.get("MainPID") not in (pid, "0", None):
                control_at = now
        if have and control_at is not None and (gone_at is None or now > gone_at):
            back_at = now
            break
        # the route is kept while control is dead only within the lease
        if control_at is None and gone_at is None:
            assert now < LEASE + BFD_DETECT + 8, \
                "route still announced %.1f s after kill -9, control not back" % now
        time.sleep(0.25)
    assert control_at is not None, "systemd did not restart edgedns-control"
    assert back_at is not None, "the route did not come back (health %s)" % lab.health()
    note("kill -9 control: control active again", control_at)
    if gone_at is not None:
        note("kill -9 control: route gone at the router", gone_at)
    else:
        print("image test: kill -9 control: route kept (control back within its lease)")
    note("kill -9 control: route announced again", back_at)
    n = lab.ssh("systemctl show -p NRestarts --value edgedns-control").stdout.strip()
    assert int(n) >= 1


def _state(lab):
    """What an install may change: GRUB's env, RAUC's status, slot B."""
    p = lab.ssh("grub-editenv /boot/efi/EFI/BOOT/grubenv list; echo ==; "
                "cat /data/rauc/central.raucs 2>/dev/null; echo ==; "
                "head -c 16M /dev/disk/by-partlabel/rootfs-B | sha256sum")
    return p.stdout


def test_bad_bundles_refused(vm):
    lab = vm
    lab.ssh("mkdir -p /run/bundles && (mountpoint -q /run/bundles || "
            "mount -o ro /dev/disk/by-id/virtio-bundles /run/bundles)")
    before = _state(lab)
    # the payload check is our pre-install handler's (its message is in
    # RAUC's journal); the others are RAUC's own checks
    for name, why in (("tampered.raucb", "Pre-install handler"), ("badsig.raucb", ""),
                      ("untrusted.raucb", "signature"), ("unsigned.raucb", "")):
        t0 = time.monotonic()
        p = lab.ssh("rauc install /run/bundles/%s" % name, check=False, timeout=600)
        out = (p.stdout + p.stderr).strip()
        last = [ln for ln in out.splitlines() if ln.strip()][-2:]
        print("rauc install %s: rc %d in %.1f s: %s" % (name, p.returncode,
                                                       time.monotonic() - t0, " | ".join(last)))
        assert p.returncode != 0, out
        assert why in out, out
        assert _state(lab) == before, "%s changed something" % name
    j = lab.ssh("journalctl -b --no-pager -u rauc", check=False).stdout
    assert "does not match its signed hash: refused, nothing written" in j, j[-3000:]
    assert lab.booted_slot() == "A"


def test_update_boots_other_slot_and_is_confirmed(vm):
    lab = vm
    t0 = time.monotonic()
    p = lab.ssh("rauc install /run/bundles/good.raucb", timeout=900)
    note("rauc install good.raucb", time.monotonic() - t0)
    env = lab.grubenv()
    assert env["ORDER"].split()[0] == "B" and env["B_OK"] == "1" and env["B_TRY"] == "0", env
    assert "trial" in lab.ssh("cat /data/rauc/trial.B").stdout or True
    old = lab.boot_id
    t0 = time.monotonic()
    lab.ssh("systemctl reboot", check=False, timeout=30)
    lab.boot_id = lab.wait_boot(BOOT_TIMEOUT, previous=old)
    note("reboot to ssh (slot B)", time.monotonic() - t0)
    assert lab.booted_slot() == "B"
    wait_announced(lab)
    note("reboot to announced (slot B, on trial)", time.monotonic() - t0)
    imagelab.wait_until(lambda: (lambda e: e["B_TRY"] == "0" and e["B_OK"] == "1")(lab.grubenv())
                        and lab.ssh("test ! -e /data/rauc/trial.B", check=False).returncode == 0,
                        TRIAL_TIMEOUT, lambda: "slot B marked good (%s)" %
                        lab.journal("edgedns-slot-check", 10), step=3)
    note("reboot to slot B marked good", time.monotonic() - t0)
    st = lab.rauc_status()
    slots = {k: v for s in st["slots"] for k, v in s.items()}
    assert slots["rootfs.1"]["boot_status"] == "good", st
    print("slot-check: " + [ln for ln in lab.journal("edgedns-slot-check", 20).splitlines()
                            if "edgedns:" in ln][-1])
    # the services came up in order: set-up, dataplane, BIRD, control
    u = unit_times(lab, ["edgedns-setup.service", "edgedns-dataplane.service", "bird.service",
                         "edgedns-control.service"])
    order = sorted(u, key=lambda k: u[k]["ActiveEnterTimestampMonotonic"])
    print("active in order: " + ", ".join("%s %.1f s" % (k, u[k]["ActiveEnterTimestampMonotonic"]
                                                          / 1e6) for k in order))
    assert u["edgedns-setup.service"]["ActiveEnterTimestampMonotonic"] <= \
        u["edgedns-dataplane.service"]["InactiveExitTimestampMonotonic"]
    assert u["edgedns-dataplane.service"]["ActiveEnterTimestampMonotonic"] <= \
        u["edgedns-control.service"]["InactiveExitTimestampMonotonic"]
    assert u["bird.service"]["ActiveEnterTimestampMonotonic"] <= \
        u["edgedns-control.service"]["InactiveExitTimestampMonotonic"]
    for zone in ZONES:
        assert imagelab.wait_until(lambda: answers(lab, ANY4, zone), 30, zone, step=1)


def test_broken_update_rolls_back(vm):
    lab = vm
    t0 = time.monotonic()
    lab.ssh("mkdir -p /run/bundles && (mountpoint -q /run/bundles || "
            "mount -o ro /dev/disk/by-id/virtio-bundles /run/bundles)")
    lab.ssh("rauc install /run/bundles/broken.raucb", timeout=900)
    env = lab.grubenv()
    assert env["ORDER"].split()[0] == "A" and env["A_OK"] == "1", env
    old = lab.boot_id
    lab.ssh("systemctl reboot", check=False, timeout=30)
    seen = []

    def back_on_b():
        b = lab.guest_up()
        if b is None or b == old:
            return None
        try:
            slot = lab.booted_slot()
        except Exception:  # noqa: BLE001 - the guest may be going down
            return None
        if (b, slot) not in seen:
            seen.append((b, slot))
            print("image test: boot %s on slot %s at %.0f s" % (b[:8], slot,
                                                               time.monotonic() - t0))
        return b if slot == "B" else None

    lab.boot_id = imagelab.wait_until(back_on_b, BOOT_TIMEOUT + TRIAL_TIMEOUT,
                                      lambda: "back on slot B (boots seen %s)\n%s" % (
                                          seen, lab.serial_tail()), step=3)
    note("broken update: reboot until back on slot B", time.monotonic() - t0)
    text = lab.serial_text()
    m = re.findall(r"edgedns: slot A \(version [^)]*\) failed its trial: .*", text)
    assert m, lab.serial_tail()
    print("console: " + m[-1].strip())
    assert "edgedns-dataplane" in m[-1]
    env = lab.grubenv()
    assert env["A_OK"] == "0" and env["B_OK"] == "1", env
    failed = lab.ssh("cat /data/rauc/failed.A").stdout
    assert "edgedns-dataplane" in failed, failed
    wait_announced(lab)
    note("broken update: reboot until announced again from slot B", time.monotonic() - t0)
    for zone in ZONES:
        assert imagelab.wait_until(lambda: answers(lab, ANY4, zone), 30, zone, step=1)
    st = lab.rauc_status()
    slots = {k: v for s in st["slots"] for k, v in s.items()}
    assert slots["rootfs.0"]["boot_status"] == "bad" and st["booted"] == "B", st
