/* profile.h: hardware profiles (the files in hw/profiles): what the DPDK
 * dataplane runs on for one appliance model.
 *
 *   model: edge-1u-2x25g          # a name, for the logs
 *   eal: [-l, "0-7", -n, "4", --socket-mem, "4096"]   # EAL arguments
 *   ports: ["0000:3b:00.0", "0000:3b:00.1"]           # PCI addresses or vdevs
 *   mbufs: 262144                 # optional, as --mbufs
 *   rx-desc: 2048                 # optional, as --rx-desc
 *   tx-desc: 2048                 # optional, as --tx-desc
 *
 * The command line wins: its --port options replace the profile's ports,
 * its EAL arguments (after "--") come after the profile's, and its
 * --mbufs / --rx-desc / --tx-desc replace the profile's.
 */
#ifndef EDGEDNS_PROFILE_H
#define EDGEDNS_PROFILE_H

#include <stddef.h>

#define PROFILE_LIST_MAX 64

struct profile {
	char *model;
	char *eal[PROFILE_LIST_MAX];
	unsigned neal;
	char *ports[PROFILE_LIST_MAX];
	unsigned nports;
	unsigned mbufs, rxd, txd;     /* 0: not set */
};

/* Read the profile at path into *p (zeroed first). 0, or -1 with a
 * message naming the file and line in err. Strings are allocated and
 * freed by profile_free(). */
int profile_load(const char *path, struct profile *p, char *err, size_t errlen);

void profile_free(struct profile *p);

#endif
