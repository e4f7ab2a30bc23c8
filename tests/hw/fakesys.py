"""Fake sysfs trees for edgedns-setup (hw/machine.h lists what it reads),
and fake dpdk-devbind.py / modprobe scripts that record their arguments.

The tree looks like the kernel's: devices under devices/pci0000:00/ADDR,
bus/pci/devices/ADDR a relative link to them, the driver a link to
bus/pci/drivers/NAME, virtio-net's interface below ADDR/virtioN/net."""

import os
import textwrap

SIZES_KB = {"2M": 2048, "1G": 1048576}


class FakeSys:
    def __init__(self, root, cpus="0-15", nodes="0", numa=True, huge=("2M", "1G")):
        """cpus, nodes: kernel lists ("0-15", "0-1"); numa False: a kernel
        without NUMA (no devices/system/node); huge: sizes offered."""
        self.root = root
        self.nodes = nodes
        self.numa = numa
        self.huge = huge
        self.virtio = 0
        self.iommu = 0
        self._write("devices/system/cpu/online", cpus)
        for size in huge:
            base = "kernel/mm/hugepages/hugepages-%dkB" % SIZES_KB[size]
            self._write(base + "/nr_hugepages", "0")
            self._write(base + "/free_hugepages", "0")
        os.makedirs(self.path("bus/pci/devices"), exist_ok=True)
        os.makedirs(self.path("bus/pci/drivers"), exist_ok=True)
        if numa:
            self._write("devices/system/node/online", nodes)
            for n in self._node_ids():
                for size in huge:
                    base = "devices/system/node/node%d/hugepages/hugepages-%dkB" % (
                        n, SIZES_KB[size])
                    self._write(base + "/nr_hugepages", "0")
                    self._write(base + "/free_hugepages", "0")

    def _node_ids(self):
        ids = []
        for part in self.nodes.split(","):
            a, _, b = part.partition("-")
            ids.extend(range(int(a), int(b or a) + 1))
        return ids

    def path(self, rel):
        return os.path.join(self.root, rel)

    def _write(self, rel, text):
        p = self.path(rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text + "\n")

    def nic(self, addr, ident, node=0, driver=None, iface=None, iommu=True, pci_class="0x020000"):
        """A PCI device at addr with ident "vvvv:dddd"; node -1 for none;
        driver the bound driver's name (None: none); iface its kernel
        interface (below virtioN/net for virtio-pci, else net/)."""
        dev = "devices/pci0000:00/" + addr
        vendor, device = ident.split(":")
        self._write(dev + "/vendor", "0x" + vendor)
        self._write(dev + "/device", "0x" + device)
        self._write(dev + "/class", pci_class)
        self._write(dev + "/numa_node", str(node))
        os.symlink("../../../" + dev, self.path("bus/pci/devices/" + addr))
        if driver:
            self.bind(addr, driver)
        if iface:
            if driver == "virtio-pci":
                os.makedirs(self.path("%s/virtio%d/net/%s" % (dev, self.virtio, iface)))
                self.virtio += 1
            else:
                os.makedirs(self.path("%s/net/%s" % (dev, iface)))
        if iommu:
            os.makedirs(self.path("kernel/iommu_groups/%d" % self.iommu), exist_ok=True)
            os.symlink("../../../kernel/iommu_groups/%d" % self.iommu,
                       self.path(dev + "/iommu_group"))
            self.iommu += 1

    def bind(self, addr, driver):
        os.makedirs(self.path("bus/pci/drivers/" + driver), exist_ok=True)
        link = self.path("devices/pci0000:00/%s/driver" % addr)
        if os.path.islink(link):
            os.unlink(link)
        os.symlink("../../../bus/pci/drivers/" + driver, link)

    def driver(self, addr):
        link = self.path("bus/pci/devices/%s/driver" % addr)
        return os.path.basename(os.readlink(link)) if os.path.islink(link) else None

    def huge_file(self, size, node=None):
        kb = SIZES_KB[size]
        if node is None:
            return self.path("kernel/mm/hugepages/hugepages-%dkB/nr_hugepages" % kb)
        return self.path("devices/system/node/node%d/hugepages/hugepages-%dkB/nr_hugepages"
                         % (node, kb))

    def set_huge(self, size, count, node=None):
        with open(self.huge_file(size, node), "w") as f:
            f.write("%d\n" % count)

    def get_huge(self, size, node=None):
        with open(self.huge_file(size, node)) as f:
            return int(f.read())


def fake_tools(d, log):
    """Write d/dpdk-devbind.py and d/modprobe: each appends its name and
    arguments as a line to log. devbind -b DRV ADDR re-points the device's
    driver link under $FAKE_SYSFS, as the real one does, unless
    $FAKE_DEVBIND_NOOP is set; $FAKE_DEVBIND_RC / $FAKE_MODPROBE_RC make
    them fail. Returns (devbind, modprobe)."""
    devbind = os.path.join(d, "dpdk-devbind.py")
    modprobe = os.path.join(d, "modprobe")
    with open(devbind, "w") as f:
        f.write(textwrap.dedent("""\
            #!/bin/sh
            echo "dpdk-devbind.py $*" >> "%s"
            [ -n "$FAKE_DEVBIND_RC" ] && exit "$FAKE_DEVBIND_RC"
            [ "$1" = "-b" ] || exit 2
            drv=$2; shift 2
            [ -n "$FAKE_DEVBIND_NOOP" ] && exit 0
            for a in "$@"; do
                mkdir -p "$FAKE_SYSFS/bus/pci/drivers/$drv"
                ln -sfn "../../../bus/pci/drivers/$drv" "$FAKE_SYSFS/bus/pci/devices/$a/driver"
            done
            """ % log))
    with open(modprobe, "w") as f:
        f.write(textwrap.dedent("""\
            #!/bin/sh
            echo "modprobe $*" >> "%s"
            exit "${FAKE_MODPROBE_RC:-0}"
            """ % log))
    os.chmod(devbind, 0o755)
    os.chmod(modprobe, 0o755)
    return devbind, modprobe
