/* io_dpdk.h: the DPDK poll-mode dataplane.
 *
 * Ports are NICs (PCI addresses) or virtual devices (net_af_xdp,
 * net_af_packet, net_memif, net_tap, net_pcap), each with one RX/TX queue
 * pair per worker lcore (RSS over UDP where the port has it). A worker
 * polls its queue of every port: UDP DNS queries to a served address are
 * answered in place in the mbuf they came in (engine burst, headers
 * swapped, checksums in software or by offload) and sent back on the same
 * queue; everything else goes to the port's exception port, a net_tap
 * kernel interface with the port's MAC address, and what the kernel sends
 * there leaves through the port. So the kernel owns ARP/ND, ICMP, TCP
 * (DNS over TCP, BGP) and NOTIFY, and the dataplane only the UDP answers.
 *
 * Nothing on the packet path allocates, locks, logs or calls the kernel.
 * Each worker writes only its own cache-aligned state. Every worker is a
 * zonedb reader (id rcu_base + worker index) and reports a quiescent state
 * once per poll loop.
 *
 * Call order, on the main lcore, after rte_eal_init():
 *   dpdk_new() -> dpdk_start() -> ... dpdk_stop() -> dpdk_free().
 */
#ifndef EDGEDNS_IO_DPDK_H
#define EDGEDNS_IO_DPDK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmdsock.h"
#include "engine.h"
#include "pkt.h"
#include "rrl.h"
#include "zonedb.h"

#define DPDK_PORTS_MAX 8
#define DPDK_BURST 32
/* deep rings absorb bursts: at 500k q/s over AF_XDP on a veth, 1024
 * descriptors lost 0.5% of the queries, 4096 none */
#define DPDK_RXD_DEFAULT 4096
#define DPDK_TXD_DEFAULT 4096
#define DPDK_KERNEL_IFACE_DEFAULT "edns"
#define DPDK_LEASE_MAX_MS 3600000u

struct dpdk_conf {
	const char *ports[DPDK_PORTS_MAX];  /* device arguments, as for rte_dev_probe:
	                                       "0000:03:00.0", "net_af_xdp0,iface=eth1" */
	unsigned nports;
	bool exception;            /* a net_tap exception port per port */
	const char *kernel_iface;  /* exception interface name prefix: edns0, edns1 */
	struct pkt_filter filter;  /* served addresses and DNS port (mac: per port) */
	unsigned mbufs;            /* 0: sized from ports, queues and descriptors */
	unsigned rxd, txd;         /* descriptors per queue; 0: defaults */
	unsigned idle_sleep_us;    /* sleep after idle polls (0: pure polling) */
	struct rrl_conf rrl;       /* rate 0: off. The rate is per client prefix for
	                              the whole dataplane: each of the n workers
	                              keeps its own table and allows rate / n
	                              (RSS may spread a client over every worker) */
	const struct eng_conf *eng;
	struct zonedb *db;
	unsigned rcu_base;
	bool test_hooks;           /* the "stall" command (tests only) */
};

struct dpdk;

/* Worker lcores the EAL was given (every lcore but the main one). */
unsigned dpdk_workers(void);

/* Probe the ports and their exception ports, create the mbuf pool,
 * configure and start every port and register the telemetry commands.
 * NULL on failure with a message naming the port in err. */
struct dpdk *dpdk_new(const struct dpdk_conf *conf, char *err, size_t errlen);

/* Launch a worker on every worker lcore. 0 or a negative ED_E* code. */
int dpdk_start(struct dpdk *d, char *err, size_t errlen);

/* Stop the workers: each stops polling, sends what it holds, goes offline
 * and unregisters from the zonedb; waits for all. Idempotent. */
void dpdk_stop(struct dpdk *d);

/* dpdk_stop(), then stop and close every port. NULL ignored. */
void dpdk_free(struct dpdk *d);

/* Sum of every worker's counters (dp_counters_fn signature). */
void dpdk_counters_cb(void *arg, struct dp_counters *out);

/* The command socket's extra commands (cmdsock_conf.extra), on the
 * command thread:
 *   lcores    per-worker counters and heartbeat ("loops"), "probes"
 *   ports     link state
 *   probe ADDR QNAME [QTYPE] [timeout=MS] [port=N] [from=ADDR]
 *             an in-band probe: a DNS query frame (QTYPE default SOA, RD
 *             clear, EDNS 1232) to ADDR port dns_port, as a client at from=
 *             (default PROBE_SRC4/PROBE_SRC6) would send it to port N
 *             (default 0), put into every worker's probe ring; the worker
 *             runs it through the packet path NIC frames take, and puts
 *             the result in its result ring instead of sending it. The
 *             reply (once every worker answered, or after MS, default 200,
 *             at most 5000) has per lcore: "status" "ok", "timeout",
 *             "kernel" (the frame would go to the exception port: ADDR not
 *             served), "dropped" (with "reason"), or "bad-reply: WHY" (the
 *             response frame failed probe_check()); for "ok": "rcode",
 *             "aa", "tc", "ancount", "serial" (a SOA in the answer),
 *             "type" and "rdata" of the first answer (rdata for A, AAAA,
 *             TXT), "latency_us"; "zone_checksum" (16 hex digits: the
 *             snapshot checksum of the zone that encloses QNAME in the zone
 *             set the worker answered from, the identity of the version it
 *             serves; absent when none does); and always "loops". Results of earlier
 *             probes that timed out are told apart by a sequence number in
 *             the mbuf and freed. Probe frames count only in "probes".
 *   kprobe ADDR [tcp|icmp] [dport=N] [timeout=MS] [from=ADDR]
 *             a kernel probe (kprobe.h): a TCP SYN (or an ICMP echo
 *             request: "ok" for its reply) from from= (default
 *             PROBE_SRC4/PROBE_SRC6, a client's address) to ADDR port N
 *             (default dns_port) put into the kernel through the exception
 *             thread; the kernel's answer taken off the exception path
 *             (never sent) and a SYN-ACK reset. Reply {"ok":true,...,
 *             "status":"ok" (SYN-ACK: the kernel answers clients through
 *             the port) | "refused" (RST) | "timeout" (no answer out of the
 *             port: no route back), "latency_us"}. Needs a port with the
 *             exception thread's queue (an error reply otherwise).
 *   lease [MS]  control's dead-man lease: MS > 0 arms it (or renews it)
 *             for MS milliseconds (at most DPDK_LEASE_MAX_MS), 0 releases
 *             it, none shows it. Reply {"ok":true,"io":"dpdk","lease_ms":
 *             MS,"state":"armed"|"out"|"off","was":..,"remaining_ms":N}
 *             ("was": the state before this command; remaining_ms is
 *             negative once out). Until the first lease nothing is armed.
 *             Once it has run out, every worker drops the BGP and BFD
 *             frames (pkt_is_routing()) it would pass between a port and
 *             its exception port, in both directions, and counts them in
 *             lease_dropped (stats, lcores, telemetry), until the next
 *             lease: so when control dies (and nothing restarts it), the
 *             routers lose the anycast routes through BFD or the hold
 *             timer. Each worker reads the deadline once per poll loop
 *             (a relaxed load against the TSC it read anyway); the
 *             classifier runs only while the lease is out.
 *   stall LCORE MS   (only with conf.test_hooks) the worker spins MS
 *             milliseconds (at most 10000) without polling, reporting a
 *             quiescent state or counting loops: a stuck worker. The reply
 *             comes once the worker has begun. Zone loads meanwhile wait
 *             for the stall's end (grace period).
 * Returns NULL for other commands. */
char *dpdk_cmd(void *arg, char *const *w, unsigned n);

/* Check link states; report changes through log (level 1: down).
 * Called by the main lcore about once a second. */
void dpdk_check_links(struct dpdk *d, void (*log)(int level, const char *msg));

/* Does port (an index of conf.ports) have the exception thread's queue
 * pair? true: its kernel frames go through that thread and never wait for
 * a worker; false (exception ports off, or the NIC has no queue pair
 * beyond the workers': for net_af_xdp queue_count, for net_af_packet
 * qpairs, workers + 1), each worker passes the kernel's frames of its own
 * tap queue, and a stuck worker holds them. */
bool dpdk_exception_queue(const struct dpdk *d, unsigned port);

/* Report changes of the lease's state through log (level 1: it ran out):
 * armed, out (BGP and BFD dropped), renewed, released. Called by the main
 * lcore about once a second (the workers never log). */
void dpdk_lease_check(struct dpdk *d, void (*log)(int level, const char *msg));

#endif
