/* io_dpdk_int.h: the DPDK dataplane's private parts, shared by io_dpdk.c
 * (ports, queues, the worker poll loop, counters, telemetry) and
 * io_dpdk_probe.c (the "probe" and "stall" commands: the command thread's
 * side of the in-band probes and the test hook).
 * Not part of the io_dpdk.h contract; nothing here is for other modules.
 */
#ifndef EDGEDNS_IO_DPDK_INT_H
#define EDGEDNS_IO_DPDK_INT_H

#include <net/if.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "io_dpdk.h"
#include "kprobe.h"

#define QBUF_SIZE 2048          /* largest query the fast path copies */

/* Per-worker counters: the worker is the only writer; readers load each
 * field with a relaxed atomic load. Same layout as dp_counters. */
#define CNT_ADD(w, f, n) __atomic_store_n(&(w)->cnt.f, (w)->cnt.f + (n), __ATOMIC_RELAXED)

/* In-band probes (the "probe" command): each worker has a ring of query
 * frames from the command thread and a ring of results back, single
 * producer and single consumer each. PROBE_RING - 1 frames fit in each:
 * one probe command puts one frame in each worker's ring, so a ring fills
 * only when its worker has been stuck through about 30 probes. The frames
 * come from a pool of their own, so probes never take an mbuf a port needs. */
#define PROBE_RING 32
#define PROBE_TIMEOUT_MS_DEFAULT 200
#define PROBE_TIMEOUT_MS_MAX 5000
#define STALL_MS_MAX 10000

/* What the worker's path did with a probe frame (probe_tag.verdict). */
enum probe_verdict {
	PV_PENDING = 0,
	PV_ANSWER,       /* answered: the frame is the response */
	PV_KERNEL,       /* would have gone to the exception port (frame as sent) */
	PV_MALFORMED,    /* would have been dropped as malformed */
	PV_LOOPED,       /* would have been dropped as our own frame */
	PV_NO_ANSWER,    /* the engine had nothing to send */
	PV_BAD_SOURCE,   /* would have been dropped: a source never answered */
	PV_LOOP_PORT,    /* would have been dropped: a looping service's port */
};

/* Per-frame probe state, in an mbuf dynamic field. The command thread sets
 * seq and port; the worker sets verdict and tsc. */
struct probe_tag {
	uint64_t tsc;            /* when the worker put it in its result ring */
	uint64_t zone_sum;       /* the checksum (snapshot header) of the zone
	                            that encloses the query name in the zone
	                            set the worker answered from; 0: none */
	uint32_t seq;            /* the probe command it belongs to */
	uint16_t port;           /* index of the port whose path it takes */
	uint8_t verdict;         /* enum probe_verdict */
};

struct port {
	uint16_t id;             /* NIC port */
	uint16_t tap;            /* exception port, when there is one */
	bool has_tap;
	bool exc_q;              /* queue pair nq-1 (= the worker count) of the
	                            port and of its tap belong to the exception
	                            thread, which also polls every tap RX queue:
	                            the kernel's frames (BGP, BFD, ARP, ND) never
	                            wait for a worker. false: the port has no
	                            queue to spare, each worker polls its own
	                            tap queue (the old way, logged at start) */
	bool l4_offload;         /* TX UDP checksum offload */
	bool rx_cksum;           /* RX checksum offload flags are meaningful */
	uint16_t mtu;            /* largest IP packet the port sends */
	int link_up;             /* last reported: -1 unknown, 0 down, 1 up */
	char name[RTE_ETH_NAME_MAX_LEN];
	char tap_name[RTE_ETH_NAME_MAX_LEN];
	char iface[IF_NAMESIZE];  /* kernel interface under a vdev (iface=), or "" */
	struct pkt_filter filter;
};

struct worker {
	alignas(64) struct dp_counters cnt;
	struct dpdk *d;
	unsigned idx;            /* queue index on every port */
	unsigned lcore;
	unsigned rid;            /* zonedb reader id */
	struct rrl_table *rrl;   /* NULL: rate limiting off */
	struct rte_ring *probe_in;   /* probe frames: command thread -> worker */
	struct rte_ring *probe_out;  /* their results: worker -> command thread */
	uint32_t stall_ms;       /* test hook: a stall asked for, taken by the
	                            worker (which sets it back to 0) */
	struct pkt_meta meta[DPDK_BURST];
	struct eng_msg msg[DPDK_BURST];
	struct sockaddr_storage client[DPDK_BURST];
	alignas(64) uint8_t qbuf[DPDK_BURST][QBUF_SIZE];
};

struct dpdk {
	/* the exception thread's counters (its NIC queues and the tap's):
	 * written by it alone, summed into "stats" with the workers' */
	alignas(64) struct dp_counters exc_cnt;
	struct dpdk_conf conf;
	struct port port[DPDK_PORTS_MAX];
	unsigned nports;
	struct rte_mempool *pool;
	struct rte_mempool *probe_pool;
	int probe_off;           /* offset of the probe_tag mbuf field */
	uint32_t probe_seq;      /* the last probe command's number */
	struct worker *w[RTE_MAX_LCORE];
	unsigned nworkers;
	bool started;
	bool exc_running;        /* the exception thread was started */
	pthread_t exc_thread;
	/* kernel probes ("kprobe"): the command thread writes kp_next, then
	 * puts the SYN frame in kp_in (single producer and consumer); the
	 * exception thread sends it to the kernel, takes the kernel's answer
	 * off its path and stores kp_flags, kp_tsc, then kp_done (the seq) */
	struct rte_ring *kp_in;
	struct kprobe_spec kp_next;
	uint32_t kp_next_seq;
	unsigned kp_port;
	uint32_t kp_seq;         /* command thread: the last kprobe's number */
	uint32_t kp_done;        /* atomic */
	uint8_t kp_flags;        /* the kernel's answer: SYN|ACK, RST */
	uint64_t kp_tsc;
	volatile int stop;       /* read with a relaxed atomic load */
	/* control's lease ("lease" command): the TSC at which it runs out, 0
	 * when none is armed. Written by the command thread, read by each
	 * worker once per loop with a relaxed atomic load. */
	uint64_t lease_deadline;
	uint32_t lease_ms;       /* the last one asked (command thread) */
	uint64_t lease_lapses;   /* renewals that came after it ran out (atomic) */
	int lease_seen;          /* dpdk_lease_check(): 0 off, 1 armed, 2 out */
	uint64_t lease_lapses_seen;
	uint64_t tsc_hz;
	uint64_t tsc_per_ms;
	uint64_t tsc0;           /* TSC at start */
};

static inline struct probe_tag *probe_tag(const struct dpdk *d, struct rte_mbuf *m)
{
	return RTE_MBUF_DYNFIELD(m, d->probe_off, struct probe_tag *);
}

/* The "probe" command (io_dpdk.h); w[0] is "probe". On the command thread. */
char *dpdk_probe_cmd(struct dpdk *d, char *const *w, unsigned n);

/* The "kprobe" command (io_dpdk.h); w[0] is "kprobe". On the command thread. */
char *dpdk_kprobe_cmd(struct dpdk *d, char *const *w, unsigned n);

/* The "stall" command (io_dpdk.h); w[0] is "stall". On the command thread. */
char *dpdk_stall_cmd(struct dpdk *d, char *const *w, unsigned n);

#endif
