/* prepare.h: what edgedns-setup does to the machine once the profile is
 * chosen (match.h): the plan (ports resolved, hugepages, binds), carrying
 * it out, and the dataplane's arguments in /run/edgedns/hw.env.
 *
 * Effects go through struct hw_ops, so tests record them or play the
 * kernel: sysfs writes (nr_hugepages) and commands (modprobe,
 * dpdk-devbind.py). What is read back (nr_hugepages, the driver link)
 * is read from the files. Single-threaded; no global state.
 */
#ifndef EDGEDNS_HW_PREPARE_H
#define EDGEDNS_HW_PREPARE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "dataplane/profile.h"
#include "hw/machine.h"
#include "hw/match.h"

#define HW_PORT_LEN 256

struct hw_port {
	char arg[HW_PORT_LEN];        /* the --port value, references expanded */
	char pci[HW_ADDR_LEN];        /* its PCI address; "" for a vdev */
};

struct hw_huge {
	char path[PATH_MAX];          /* the nr_hugepages file */
	unsigned size_kb, count;
	int node;                     /* PROFILE_NODE_ANY: system-wide */
};

struct hw_plan {
	char profile_path[PATH_MAX];  /* absolute */
	char model[HW_NAME_LEN];
	char how[256];                /* "matched this machine", "named", ... */
	struct hw_port ports[PROFILE_LIST_MAX];
	unsigned nports;
	bool vfio;                    /* bind the PCI ports to vfio-pci */
	struct hw_huge huge[PROFILE_HUGE_MAX];
	unsigned nhuge;
	char *eal[2 * PROFILE_LIST_MAX]; /* EAL words setup adds (pointers into
	                                    ports[]): -a ADDR for each PCI port
	                                    the profile's eal does not allow */
	unsigned neal;
};

/* Plan what c needs on m: ports expanded (${nicN} from the match),
 * hugepages files, whether to bind. 0, or a negative ED_E* code with the
 * message in err (a reference to a NIC that is not there, a hugepage size
 * or NUMA node the machine does not have). how is copied into the plan. */
int hw_plan_make(const struct hw_choice *c, const struct hw_machine *m, const char *how,
                 struct hw_plan *plan, char *err, size_t errlen);

/* The text of hw.env into out:
 *   # comment lines
 *   EDGEDNS_HW_OPTS="--profile FILE --port P ... -- EAL..."
 * ("--" always there, EAL words after it, possibly none). Every word
 * must be safe in a systemd environment file and split on spaces by
 * ExecStart's $EDGEDNS_HW_OPTS: [A-Za-z0-9._,:=/@+%-] only; else
 * ED_EINVAL with the word in err. */
int hw_plan_env(const struct hw_plan *plan, char *out, size_t outlen, char *err, size_t errlen);

struct hw_ops {
	/* Write text to the sysfs file path: 0, or -1 with errno. */
	int (*write_file)(void *arg, const char *path, const char *text);
	/* Run argv (argv[0] looked up in PATH) and wait: its exit status,
	 * 128+N when killed by signal N, or -1 (errno) when it did not run. */
	int (*run)(void *arg, char *const argv[]);
	/* A line for people: what was done, or would be (dry run). */
	void (*say)(void *arg, const char *msg);
	void *arg;
	const char *modprobe;         /* "modprobe" */
	const char *devbind;          /* "dpdk-devbind.py" */
};

/* The real effects: write(2) and fork/execvp. */
int hw_sys_write(void *arg, const char *path, const char *text);
int hw_sys_run(void *arg, char *const argv[]);

/* Carry out plan on m: reserve the hugepages (write nr_hugepages when
 * fewer are reserved, then check what the kernel gave), and bind each PCI
 * port not bound to vfio-pci yet (modprobe vfio-pci once, then devbind
 * -b vfio-pci ADDR, then check the driver link). dry_run: only say what
 * would be done. 0, or a negative ED_E* code with the message in err. */
int hw_prepare(const struct hw_plan *plan, const struct hw_machine *m, const struct hw_ops *ops,
               bool dry_run, char *err, size_t errlen);

/* Write text to path atomically (a temporary file in the same directory,
 * fsync, rename, directory fsync), mode 0644; missing directories are
 * created (0755). 0, or ED_EIO with the message in err. */
int hw_write_file_atomic(const char *path, const char *text, char *err, size_t errlen);

#endif
