/* match.h: which hardware profile fits this machine.
 *
 * A profile fits when every requirement of its match: section holds
 * (profile.h): at least match.cpus CPUs, at least match.numa-nodes
 * nodes, each NIC group's count of NICs with its ids (on its node), and
 * every literal PCI address among its ports present. A profile without
 * match: never fits by itself; it is used only when named.
 *
 * Auto-detection loads every *.yaml of the profiles directory: exactly
 * one must fit; when several do, the most specific wins (most NICs
 * required, then most requirements), and a tie is an error naming them.
 * Single-threaded; no global state.
 */
#ifndef EDGEDNS_HW_MATCH_H
#define EDGEDNS_HW_MATCH_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "dataplane/profile.h"
#include "hw/machine.h"

#define HW_MATCH_NICS_MAX (PROFILE_NICS_MAX * 64)

/* One profile against the machine. */
struct hw_match {
	bool ok;                      /* every requirement holds */
	unsigned need_nics;           /* specificity: NICs required, */
	unsigned need_other;          /* then the other requirements */
	int nic[HW_MATCH_NICS_MAX];   /* nicN -> index in machine.nics at
	                                 [N-1]; -1 when not found */
	unsigned nnic;                /* profile_nic_total() */
	char why[1024];               /* the requirements that do not hold:
	                                 "needs 2 x 8086:159b on node 0: found 0
	                                 (2 on node 1); needs 16 CPUs: found 2" */
};

/* Match p against m into *out. force: ignore the CPU, node and NUMA
 * requirements and take the NICs found by id (out->ok is still the strict
 * verdict, out->why what does not hold). Never fails. */
void hw_match_profile(const struct profile *p, const struct hw_machine *m, bool force,
                      struct hw_match *out);

/* What edgedns-setup runs with. */
struct hw_choice {
	char path[PATH_MAX];          /* the profile file */
	struct profile profile;
	struct hw_match match;
	bool named;                   /* named by the operator, not detected */
};

/* Warnings for people (a profile that does not load, a forced profile). */
typedef void (*hw_warn_fn)(void *arg, const char *msg);

/* Choose the profile for m. name: NULL or "" to auto-detect among the
 * .yaml files of dir; a NAME (dir/NAME.yaml) or a FILE (it has a '/' or ends in
 * .yaml) to take that one, which must fit unless force. On success *c is
 * filled (free c->profile with profile_free()), and info, when not NULL,
 * gets a line saying why ("matched this machine", "named", ...). 0, or a
 * negative ED_E* code with the message for people in err:
 *   no profile matches this machine: NICs found: ...; profiles tried: ...
 * A profile that does not load is skipped with a warning when detecting,
 * an error when named. */
int hw_choose(const char *dir, const char *name, bool force, const struct hw_machine *m,
              hw_warn_fn warn, void *warn_arg, struct hw_choice *c, char *info, size_t infolen,
              char *err, size_t errlen);

/* "NICs found: A, B" (or "NICs found: none") into out. */
void hw_describe_nics(const struct hw_machine *m, char *out, size_t outlen);

#endif
