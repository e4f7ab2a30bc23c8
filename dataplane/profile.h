/* profile.h: hardware profiles (the files in hw/profiles): what the DPDK
 * dataplane runs on for one appliance model, and what edgedns-setup
 * (hw/) needs to recognise that model and prepare it at boot.
 *
 *   model: edge-1u-2x25g          # a name, for the logs
 *   eal: [-l, "0-8", -n, "4", --socket-mem, "4096"]   # EAL arguments
 *   ports: ["0000:3b:00.0", "0000:3b:00.1"]           # PCI addresses, vdevs,
 *                                                     # or ${nicN} references
 *   mbufs: 262144                 # optional, as --mbufs
 *   rx-desc: 2048                 # optional, as --rx-desc
 *   tx-desc: 2048                 # optional, as --tx-desc
 *   match:                        # optional: how edgedns-setup recognises
 *     cpus: 16                    #   the model: at least 16 CPUs online,
 *     numa-nodes: 1               #   at least 1 NUMA node,
 *     nics:                       #   and these NICs (groups, in order)
 *       - id: "8086:159b"         #     vendor:device, or a list of them
 *         count: 2                #     at least 2 (default 1)
 *         numa-node: 0            #     on node 0 (default: any node)
 *   driver: vfio-pci              # optional: vfio-pci or none (default)
 *   hugepages:                    # optional: one reservation, or a list
 *     size: 1G                    #   2M or 1G
 *     count: 4                    #   pages (on the node, or in total)
 *     numa-node: 0                #   optional: on this node
 *
 * The dataplane reads model, eal, ports and the sizes; match, driver and
 * hugepages are for edgedns-setup, which checks them and passes the
 * dataplane --profile FILE and the ports it resolved (hw/README.md).
 *
 * NICs of the match: each group takes, in PCI address order, the first
 * `count` NICs (PCI class 02, network) with one of its ids (and on its
 * node) that an earlier group did not take; numbered from 1 over the
 * groups in order, they are nic1, nic2, ... A port may name them:
 * "${nicN}" or "${nicN.pci}" is the PCI address of NIC N, "${nicN.iface}"
 * its kernel network interface (for net_af_xdp / net_af_packet vdevs:
 * "net_af_xdp0,iface=${nic2.iface}"). Only ports are expanded, and only
 * by edgedns-setup: the dataplane run on such a profile without setup's
 * --port options fails to probe the port.
 *
 * The command line wins: its --port options replace the profile's ports,
 * its EAL arguments (after "--") come after the profile's, and its
 * --mbufs / --rx-desc / --tx-desc replace the profile's.
 */
#ifndef EDGEDNS_PROFILE_H
#define EDGEDNS_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROFILE_LIST_MAX 64
#define PROFILE_NICS_MAX 8   /* NIC groups in match.nics */
#define PROFILE_IDS_MAX 8    /* vendor:device ids per group */
#define PROFILE_HUGE_MAX 8   /* hugepages reservations */
#define PROFILE_NODE_ANY (-1)

/* match.nics[i]: NICs the model must have. */
struct profile_nics {
	uint16_t vendor[PROFILE_IDS_MAX], device[PROFILE_IDS_MAX];
	unsigned nids;
	unsigned count;               /* at least this many (>= 1) */
	int numa_node;                /* PROFILE_NODE_ANY or a node */
};

/* One hugepages reservation. */
struct profile_hugepages {
	unsigned size_kb;             /* 2048 or 1048576 */
	unsigned count;
	int numa_node;                /* PROFILE_NODE_ANY: system-wide */
};

enum profile_driver {
	PROFILE_DRIVER_NONE = 0,      /* ports keep their kernel driver (mlx5,
	                                 net_af_xdp on the kernel interface) */
	PROFILE_DRIVER_VFIO,          /* PCI ports bound to vfio-pci */
};

struct profile {
	char *model;
	char *eal[PROFILE_LIST_MAX];
	unsigned neal;
	char *ports[PROFILE_LIST_MAX];
	unsigned nports;
	unsigned mbufs, rxd, txd;     /* 0: not set */
	/* for edgedns-setup */
	bool has_match;               /* a match: section (else: only by name) */
	unsigned match_cpus;          /* 0: any */
	unsigned match_nodes;         /* 0: any */
	struct profile_nics nics[PROFILE_NICS_MAX];
	unsigned nnics;
	enum profile_driver driver;
	struct profile_hugepages huge[PROFILE_HUGE_MAX];
	unsigned nhuge;
};

/* Read the profile at path into *p (zeroed first). 0, or -1 with a
 * message naming the file and line in err. Strings are allocated and
 * freed by profile_free(). The ports' ${nicN} references are checked:
 * well formed, N within the match's NICs, no .iface with vfio-pci. */
int profile_load(const char *path, struct profile *p, char *err, size_t errlen);

void profile_free(struct profile *p);

/* The NICs a profile's match names (nic1 .. nicN): the sum of the
 * groups' counts. */
unsigned profile_nic_total(const struct profile *p);

/* What a ${nicN...} reference names. */
enum profile_nic_field {
	PROFILE_NIC_PCI,              /* ${nicN}, ${nicN.pci} */
	PROFILE_NIC_IFACE,            /* ${nicN.iface} */
};

/* Resolves reference nic (1-based) field f into out (outlen octets):
 * 0, or -1 with a message in err. */
typedef int (*profile_nic_fn)(void *arg, unsigned nic, enum profile_nic_field f, char *out,
                              size_t outlen, char *err, size_t errlen);

/* Expand the ${nicN...} references of port into out with fn(arg, ...).
 * fn NULL: only check the syntax (out may then be NULL). 0, or -1 with a
 * message in err ("port 'X': ..."). A port without references is copied. */
int profile_port_expand(const char *port, profile_nic_fn fn, void *arg, char *out,
                        size_t outlen, char *err, size_t errlen);

/* Whether port (after expansion) is a PCI address: DDDD:BB:DD.F or
 * BB:DD.F, hex, optionally followed by ",devargs". When it is and canon is
 * not NULL, the address in canonical form ("0000:3b:00.0", lowercase, no
 * devargs) is written to canon (at least 13 octets). */
bool profile_is_pci(const char *port, char *canon);

#endif
