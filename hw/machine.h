/* machine.h: what edgedns-setup reads of the machine in sysfs: CPUs,
 * NUMA nodes, hugepage sizes and the NICs (PCI class 02) with their ids,
 * node, driver and kernel interface.
 *
 * The sysfs root is a parameter, so tests read fake trees built in a
 * temporary directory. Only these files are read (SYSFS is the root):
 *   devices/system/cpu/online            CPU list ("0-15")
 *   devices/system/node/online           NUMA nodes (absent: one node)
 *   kernel/mm/hugepages/hugepages-NkB/   the hugepage sizes offered
 *   bus/pci/devices/ADDR/{vendor,device,class,numa_node}
 *   bus/pci/devices/ADDR/driver          link to the bound driver
 *   bus/pci/devices/ADDR/net/IFACE, ADDR/virtioN/net/IFACE
 *                                        the kernel interface (virtio-net
 *                                        hangs it below the virtio device)
 * Single-threaded; no global state.
 */
#ifndef EDGEDNS_HW_MACHINE_H
#define EDGEDNS_HW_MACHINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HW_ADDR_LEN 13   /* "0000:3b:00.0" and its NUL */
#define HW_NAME_LEN 64
#define HW_SIZES_MAX 8

struct hw_nic {
	char addr[HW_ADDR_LEN];      /* canonical PCI address, lowercase */
	uint16_t vendor, device;
	uint32_t pci_class;          /* 0x020000 Ethernet */
	int node;                    /* NUMA node; -1 unknown (several nodes and
	                                the device reports none) */
	char driver[HW_NAME_LEN];    /* "" when no driver is bound */
	char iface[HW_NAME_LEN];     /* "" when no kernel interface */
};

struct hw_machine {
	char *sysfs;                 /* the root read (owned) */
	unsigned cpus;               /* online */
	unsigned nodes;              /* online NUMA nodes (>= 1) */
	bool numa_dirs;              /* devices/system/node/nodeN exist */
	unsigned huge_kb[HW_SIZES_MAX]; /* hugepage sizes offered, ascending */
	unsigned nhuge;
	struct hw_nic *nics;         /* sorted by address */
	unsigned nnics;
};

/* Read the machine under sysfs ("/sys") into *m (zeroed first). 0, or
 * a negative ED_E* code with a message naming the file in err. A device
 * whose files cannot be read is skipped, not an error. Free with
 * hw_machine_free(). */
int hw_machine_read(const char *sysfs, struct hw_machine *m, char *err, size_t errlen);

void hw_machine_free(struct hw_machine *m);

/* The NIC at canonical address addr, or NULL. */
const struct hw_nic *hw_machine_nic(const struct hw_machine *m, const char *addr);

/* Re-read the driver bound to the PCI device addr into out ("" when
 * none). 0, or ED_ENOENT when there is no such device. */
int hw_machine_driver(const struct hw_machine *m, const char *addr, char *out, size_t outlen);

/* "0000:00:03.0 1af4:1041 (virtio-pci, enp0s3, node 0)": one NIC for the
 * messages. */
void hw_nic_describe(const struct hw_nic *n, char *out, size_t outlen);

/* Count the members of a kernel CPU/node list ("0-3,8,10-11"); -1 when
 * malformed. */
int hw_count_list(const char *list);

#endif
