/* io_dpdk.c: ports, queues, the worker poll loop, counters, telemetry. */
#include <errno.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_mempool.h>
#include <rte_prefetch.h>
#include <rte_ring.h>
#include <rte_telemetry.h>

#include "dname.h"
#include "error.h"
#include "io_dpdk_int.h"
#include "zoneset.h"

#define IDLE_POLLS 256          /* empty polls before an idle sleep */
#define MBUF_CACHE 256

/* Telemetry callbacks take no argument: the one dataplane of the process. */
static struct dpdk *tel_dp;
/* Telemetry callbacks run on DPDK's own threads: tel_dp and what it points
 * to are used and cleared under this lock. */
static pthread_mutex_t tel_lock = PTHREAD_MUTEX_INITIALIZER;

unsigned dpdk_workers(void)
{
	return rte_lcore_count() > 1 ? rte_lcore_count() - 1 : 0;
}

/* ---- the packet path ------------------------------------------------- */

static inline unsigned rx_flags(const struct port *p, const struct rte_mbuf *m)
{
	if (!p->rx_cksum)
		return 0;
	unsigned f = 0;
	uint64_t ip = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
	uint64_t l4 = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
	if (ip == RTE_MBUF_F_RX_IP_CKSUM_GOOD)
		f |= PKT_RX_IP_GOOD;
	else if (ip == RTE_MBUF_F_RX_IP_CKSUM_BAD)
		f |= PKT_RX_IP_BAD;
	if (l4 == RTE_MBUF_F_RX_L4_CKSUM_GOOD)
		f |= PKT_RX_L4_GOOD;
	else if (l4 == RTE_MBUF_F_RX_L4_CKSUM_BAD)
		f |= PKT_RX_L4_BAD;
	return f;
}

/* The client's address, for the engine (cookies) and rate limiting. */
static inline void client_addr(struct sockaddr_storage *ss, const uint8_t *fr,
                               const struct pkt_meta *m)
{
	const uint8_t *ip = fr + m->l2;
	const uint8_t *udp = ip + m->l3;
	if (m->v6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_port, udp, 2);
		memcpy(&s6->sin6_addr, ip + 8, 16);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
		s4->sin_family = AF_INET;
		memcpy(&s4->sin_port, udp, 2);
		memcpy(&s4->sin_addr, ip + 12, 4);
	}
}

/* Send n frames on (port, queue); free what the queue refuses. */
static inline unsigned tx_all(uint16_t port, uint16_t q, struct rte_mbuf **m, unsigned n)
{
	unsigned sent = n ? rte_eth_tx_burst(port, q, m, (uint16_t)n) : 0;
	for (unsigned i = sent; i < n; i++)
		rte_pktmbuf_free(m[i]);
	return sent;
}

/* A probe frame's result back to the command thread (its ring is never
 * full while the command thread drains it; if it is, the frame is freed
 * and the probe times out). */
static void probe_done(struct worker *w, struct rte_mbuf *m, enum probe_verdict v)
{
	struct probe_tag *t = probe_tag(w->d, m);
	t->verdict = (uint8_t)v;
	t->tsc = rte_rdtsc();
	if (rte_ring_sp_enqueue(w->probe_out, m) != 0)
		rte_pktmbuf_free(m);
}

/* One burst through the packet path: classify, answer the DNS queries in
 * place, pass the rest to the kernel. probe false: frames from a NIC queue,
 * answers back to it, counted in the traffic counters. probe true (a
 * constant: the compiler makes two functions): frames from the worker's
 * probe ring, which take the same classification, engine and reply code,
 * but every frame goes to the result ring with its verdict instead of the
 * port, the exception port or the bin; no rate limiting (the probe source
 * is not a client); the UDP checksum always in software (it is checked);
 * only the probes counter moves. */
/* The lease has run out (the worker's one check per loop): drop the BGP
 * and BFD frames of m[0..n) (counted in lease_dropped); returns how many
 * are left, in order. Only ever called while cut off, so the classifier
 * costs nothing the rest of the time. */
static unsigned lease_cut_cnt(struct dp_counters *c, struct rte_mbuf **m, unsigned n)
{
	unsigned k = 0;
	for (unsigned i = 0; i < n; i++) {
		if (pkt_is_routing(rte_pktmbuf_mtod(m[i], const uint8_t *), m[i]->data_len))
			rte_pktmbuf_free(m[i]);
		else
			m[k++] = m[i];
	}
	__atomic_store_n(&c->lease_dropped, c->lease_dropped + (n - k), __ATOMIC_RELAXED);
	return k;
}

static inline unsigned lease_cut(struct worker *w, struct rte_mbuf **m, unsigned n)
{
	return lease_cut_cnt(&w->cnt, m, n);
}

/* The identity of the version a probe is answered from: the checksum of
 * the snapshot that encloses the query's name in zs, 0 when none. Probe
 * frames only (a name lookup the engine also does: not for NIC frames). */
static uint64_t probe_zone_sum(const struct zoneset *zs, const uint8_t *q, size_t qlen)
{
	if (qlen <= 12)
		return 0;
	size_t l = dname_check(q + 12, qlen - 12);
	if (l == 0 || l > DNAME_MAXLEN)
		return 0;
	uint8_t lc[DNAME_MAXLEN + 8];      /* zs_find reads 8 octets past the name */
	memset(lc, 0, sizeof(lc));
	dname_lower(lc, q + 12, l);
	uint8_t off[DNAME_MAXLABELS + 1];
	uint64_t hs[DNAME_MAXLABELS + 1];
	unsigned n = dname_label_offsets(lc, off);
	dname_hash_suffixes(lc, off, n, hs);
	unsigned label;
	uint32_t flags;
	const struct snap *s = zs_find(zs, lc, off, n, hs, &label, &flags);
	return s != NULL ? s->hdr->checksum : 0;
}

static __rte_always_inline void
path_burst(struct worker *w, struct port *p, const struct zoneset *zs, struct rte_mbuf **pkts,
           unsigned n, uint32_t now, uint64_t now_ms, const bool probe, bool cut)
{
	struct dpdk *d = w->d;
	struct rte_mbuf *dns[DPDK_BURST], *kern[DPDK_BURST], *tx[DPDK_BURST];
	unsigned nd = 0, nk = 0, nt = 0, malformed = 0, looped = 0, bad_source = 0, loop_port = 0;
	const unsigned q = w->idx;
	const bool l4_offload = probe ? false : p->l4_offload;

	for (unsigned i = 0; i < n; i++) {
		if (i + 2 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 2], void *));
		struct rte_mbuf *m = pkts[i];
		if (m->nb_segs != 1) {
			kern[nk++] = m;   /* jumbo or chained: not ours to answer */
			continue;
		}
		const uint8_t *fr = rte_pktmbuf_mtod(m, const uint8_t *);
		struct pkt_meta *pm = &w->meta[nd];
		switch (pkt_classify(&p->filter, fr, m->data_len, probe ? 0 : rx_flags(p, m), pm)) {
		case PKT_DNS:
			if (pm->dns_len > QBUF_SIZE) {
				kern[nk++] = m;
				break;
			}
			dns[nd++] = m;
			break;
		case PKT_KERNEL:
			kern[nk++] = m;
			break;
		case PKT_MALFORMED:
			malformed++;
			if (probe)
				probe_done(w, m, PV_MALFORMED);
			else
				rte_pktmbuf_free(m);
			break;
		case PKT_OWN:
			looped++;
			if (probe)
				probe_done(w, m, PV_LOOPED);
			else
				rte_pktmbuf_free(m);
			break;
		case PKT_BAD_SOURCE:
			bad_source++;
			if (probe)
				probe_done(w, m, PV_BAD_SOURCE);
			else
				rte_pktmbuf_free(m);
			break;
		case PKT_LOOP_PORT:
			loop_port++;
			if (probe)
				probe_done(w, m, PV_LOOP_PORT);
			else
				rte_pktmbuf_free(m);
			break;
		}
	}

	/* The answers are written where the queries were: copy the queries
	 * out first (a few dozen octets each). */
	for (unsigned i = 0; i < nd; i++) {
		struct rte_mbuf *m = dns[i];
		uint8_t *fr = rte_pktmbuf_mtod(m, uint8_t *);
		const struct pkt_meta *pm = &w->meta[i];
		memcpy(w->qbuf[i], fr + pm->dns, pm->dns_len);
		if (probe)
			probe_tag(d, m)->zone_sum = probe_zone_sum(zs, w->qbuf[i], pm->dns_len);
		client_addr(&w->client[i], fr, pm);
		if (!probe && w->rrl != NULL)
			rrl_prefetch(w->rrl, pm->v6 ? AF_INET6 : AF_INET,
			             fr + pm->l2 + (pm->v6 ? 8 : 12));
		/* the answer fits the mbuf and the port's MTU (the engine sets
		 * TC past it): a larger frame would be dropped on the wire */
		size_t room = (size_t)m->buf_len - m->data_off - pm->dns;
		size_t mtu_room = (size_t)p->mtu - pm->l3 - 8u;
		if (room > mtu_room)
			room = mtu_room;
		w->msg[i] = (struct eng_msg){
			.q = w->qbuf[i],
			.qlen = pm->dns_len,
			.resp = fr + pm->dns,
			.cap = room < ENG_TCP_MAX ? room : ENG_TCP_MAX,
			.client = (const struct sockaddr *)&w->client[i],
			.now = now,
		};
	}
	if (nd > 0)
		eng_answer_burst(d->conf.eng, zs, w->msg, nd, ENG_UDP);

	uint64_t dropped = 0, truncated = 0, limited = 0, slipped = 0;
	for (unsigned i = 0; i < nd; i++) {
		struct rte_mbuf *m = dns[i];
		size_t rlen = w->msg[i].rlen;
		uint8_t *fr = rte_pktmbuf_mtod(m, uint8_t *);
		const struct pkt_meta *pm = &w->meta[i];
		/* a valid server cookie proves the source address: exempt */
		if (!probe && rlen != 0 && w->rrl != NULL && w->msg[i].cookie != ENG_COOKIE_VALID) {
			const uint8_t *src = fr + pm->l2 + (pm->v6 ? 8 : 12);
			enum rrl_verdict v = rrl_check(w->rrl, pm->v6 ? AF_INET6 : AF_INET, src, now_ms);
			if (v != RRL_PASS) {
				limited++;
				/* slip: a truncated answer tells a real client to
				 * retry over TCP; the others are dropped */
				if (v == RRL_SLIP && (rlen = rrl_truncate(fr + pm->dns, rlen)) != 0)
					slipped++;
				else
					rlen = 0;
			}
		}
		if (rlen == 0) {
			dropped++;
			if (probe)
				probe_done(w, m, PV_NO_ANSWER);
			else
				rte_pktmbuf_free(m);
			continue;
		}
		const uint8_t *r = fr + pm->dns;
		if (!probe)
			CNT_ADD(w, responses[r[3] & 0x0f], 1);
		truncated += (r[2] & 0x02) != 0;
		size_t flen = pkt_reply(fr, pm, rlen, l4_offload);
		m->data_len = (uint16_t)flen;
		m->pkt_len = (uint32_t)flen;
		if (l4_offload) {
			m->l2_len = pm->l2;
			m->l3_len = pm->l3;
			m->ol_flags = pm->v6 ? RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_UDP_CKSUM
			                     : RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_UDP_CKSUM;
		}
		tx[nt++] = m;
	}

	if (probe) {
		for (unsigned i = 0; i < nt; i++)
			probe_done(w, tx[i], PV_ANSWER);
		for (unsigned i = 0; i < nk; i++)
			probe_done(w, kern[i], PV_KERNEL);
		CNT_ADD(w, probes, n);
		return;
	}

	unsigned sent = tx_all(p->id, (uint16_t)q, tx, nt);

	unsigned kept = 0;
	if (unlikely(cut) && nk > 0)
		nk = lease_cut(w, kern, nk);
	if (nk > 0 && p->has_tap)
		kept = tx_all(p->tap, (uint16_t)q, kern, nk);
	else
		for (unsigned i = 0; i < nk; i++)
			rte_pktmbuf_free(kern[i]);

	CNT_ADD(w, rx_frames, n);
	CNT_ADD(w, queries_udp, nd);
	CNT_ADD(w, truncated, truncated);
	CNT_ADD(w, dropped, dropped);
	CNT_ADD(w, tx_frames, sent);
	CNT_ADD(w, tx_dropped, nt - sent);
	CNT_ADD(w, to_kernel, kept);
	CNT_ADD(w, kernel_dropped, nk - kept);
	CNT_ADD(w, malformed, malformed);
	CNT_ADD(w, looped, looped);
	CNT_ADD(w, bad_source, bad_source);
	CNT_ADD(w, loop_port, loop_port);
	CNT_ADD(w, rrl_limited, limited);
	CNT_ADD(w, rrl_slipped, slipped);
}

/* One burst from a NIC queue. cut: the lease has run out. */
static void nic_burst(struct worker *w, struct port *p, const struct zoneset *zs,
                      struct rte_mbuf **pkts, unsigned n, uint32_t now, uint64_t now_ms,
                      bool cut)
{
	path_burst(w, p, zs, pkts, n, now, now_ms, false, cut);
}

/* Probe frames from the worker's probe ring, each through the path of the
 * port its tag names (runs of the same port in one burst). */
static void probe_burst(struct worker *w, const struct zoneset *zs, struct rte_mbuf **pkts,
                        unsigned n, uint32_t now, uint64_t now_ms)
{
	struct dpdk *d = w->d;
	for (unsigned i = 0; i < n;) {
		uint16_t port = probe_tag(d, pkts[i])->port;
		unsigned j = i + 1;
		while (j < n && probe_tag(d, pkts[j])->port == port)
			j++;
		path_burst(w, &d->port[port], zs, pkts + i, j - i, now, now_ms, true, false);
		i = j;
	}
}

/* Test hook (--test-hooks, "stall" command): spin for the asked time
 * without polling, without a quiescent state and without counting loops,
 * as a stuck worker would; only a stop ends it early. */
static void stall(struct worker *w)
{
	uint32_t ms = __atomic_exchange_n(&w->stall_ms, 0, __ATOMIC_ACQ_REL);
	uint64_t end = rte_rdtsc() + (uint64_t)ms * w->d->tsc_per_ms;
	while (rte_rdtsc() < end && !__atomic_load_n(&w->d->stop, __ATOMIC_RELAXED))
		rte_pause();
}

static int worker_main(void *arg)
{
	struct worker *w = arg;
	struct dpdk *d = w->d;
	struct zonedb *db = d->conf.db;
	struct rte_mbuf *pkts[DPDK_BURST];
	unsigned idle = 0;
	const uint16_t q = (uint16_t)w->idx;

	if (zonedb_reader_register(db, w->rid) != 0)
		return -1;
	zonedb_reader_online(db, w->rid);
	while (!__atomic_load_n(&d->stop, __ATOMIC_RELAXED)) {
		if (unlikely(__atomic_load_n(&w->stall_ms, __ATOMIC_RELAXED) != 0))
			stall(w);
		const struct zoneset *zs = zonedb_current(db);
		/* Wall clock for cookies from the vDSO (no system call; the
		 * TSC's nominal rate drifts by minutes a day, more than the
		 * cookie window tolerates between PoPs); the TSC for the
		 * rate limiter's milliseconds. */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME_COARSE, &ts);
		uint32_t now = (uint32_t)ts.tv_sec;
		const uint64_t tsc = rte_rdtsc();
		uint64_t now_ms = (tsc - d->tsc0) / d->tsc_per_ms;
		/* control's lease: one load per loop, against the TSC just read */
		const uint64_t lease = __atomic_load_n(&d->lease_deadline, __ATOMIC_RELAXED);
		const bool cut = unlikely(lease != 0 && tsc >= lease);
		unsigned work = 0;
		for (unsigned i = 0; i < d->nports; i++) {
			struct port *p = &d->port[i];
			uint16_t n = rte_eth_rx_burst(p->id, q, pkts, DPDK_BURST);
			if (n > 0) {
				nic_burst(w, p, zs, pkts, n, now, now_ms, cut);
				work += n;
			}
			if (p->has_tap && !p->exc_q) {
				/* no queue of the exception thread's on this
				 * port: the kernel's frames wait for us */
				n = rte_eth_rx_burst(p->tap, q, pkts, DPDK_BURST);
				if (n > 0) {
					work += n;
					unsigned left = unlikely(cut) ? lease_cut(w, pkts, n) : n;
					unsigned sent = tx_all(p->id, q, pkts, left);
					CNT_ADD(w, from_kernel, sent);
					CNT_ADD(w, tx_frames, sent);
					CNT_ADD(w, kernel_dropped, left - sent);
				}
			}
		}
		/* in-band probes: empty nearly always (two index loads) */
		unsigned np = rte_ring_sc_dequeue_burst(w->probe_in, (void **)pkts, DPDK_BURST, NULL);
		if (unlikely(np > 0)) {
			probe_burst(w, zs, pkts, np, now, now_ms);
			work += np;
		}
		zonedb_quiescent(db, w->rid);
		CNT_ADD(w, loops, 1);
		if (work == 0 && d->conf.idle_sleep_us > 0 && ++idle >= IDLE_POLLS) {
			/* idle: give the core back for a moment (not on the
			 * packet path: nothing came in) */
			rte_delay_us_sleep(d->conf.idle_sleep_us);
		} else if (work != 0) {
			idle = 0;
		}
	}
	zonedb_reader_offline(db, w->rid);
	zonedb_reader_unregister(db, w->rid);
	return 0;
}

/* ---- the exception thread -------------------------------------------------
 * The kernel's side of every port whose NIC has a queue pair to spare
 * (exc_q): a control thread (rte_ctrl_thread_create: the main lcore's
 * cores, not a worker's) polls every tap RX queue and sends what the
 * kernel sends on the NIC queue of its own (index nworkers), and passes
 * what arrives on that NIC queue to the tap queue of its own. So the
 * withdraw control asks BIRD for, BFD, ARP and ND leave whatever the
 * workers do; a stuck worker loses only the frames RSS gives its queue.
 * Same rules as a worker: no allocation, lock, syscall (but the tap
 * driver's read and write, and the idle sleep when nothing came) or log
 * per frame; counted in exc_cnt. */

#define EXC_CNT(d, f, n) __atomic_store_n(&(d)->exc_cnt.f, (d)->exc_cnt.f + (n), __ATOMIC_RELAXED)

/* Frames from the exception thread's NIC queue: what a worker would drop
 * for its source or framing is dropped and counted the same; the rest,
 * DNS queries included (on a NIC whose RSS indirection table cannot leave
 * the queue out: the kernel's socket server answers them from the same
 * snapshots), goes to the kernel. */
static unsigned exc_nic_burst(struct dpdk *d, struct port *p, struct rte_mbuf **pkts,
                              unsigned n, bool cut)
{
	struct rte_mbuf *kern[DPDK_BURST];
	struct pkt_meta pm;
	unsigned nk = 0, malformed = 0, looped = 0, bad_source = 0, loop_port = 0;
	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		if (m->nb_segs != 1) {
			kern[nk++] = m;
			continue;
		}
		switch (pkt_classify(&p->filter, rte_pktmbuf_mtod(m, const uint8_t *), m->data_len,
		                     rx_flags(p, m), &pm)) {
		case PKT_DNS:
		case PKT_KERNEL:
			kern[nk++] = m;
			continue;
		case PKT_MALFORMED:
			malformed++;
			break;
		case PKT_OWN:
			looped++;
			break;
		case PKT_BAD_SOURCE:
			bad_source++;
			break;
		case PKT_LOOP_PORT:
			loop_port++;
			break;
		}
		rte_pktmbuf_free(m);
	}
	if (unlikely(cut) && nk > 0)
		nk = lease_cut_cnt(&d->exc_cnt, kern, nk);
	unsigned kept = tx_all(p->tap, (uint16_t)d->nworkers, kern, nk);
	EXC_CNT(d, rx_frames, n);
	EXC_CNT(d, to_kernel, kept);
	EXC_CNT(d, kernel_dropped, nk - kept);
	EXC_CNT(d, malformed, malformed);
	EXC_CNT(d, looped, looped);
	EXC_CNT(d, bad_source, bad_source);
	EXC_CNT(d, loop_port, loop_port);
	return n;
}

/* A kernel probe pending (kp): take the kernel's answer to it off the
 * frames the kernel sent, pkts[0..n): report it (kp_flags, kp_tsc,
 * kp_done), and reset the half-open connection of a SYN-ACK with an RST to
 * the kernel (the answer's mbuf, rewritten). Returns the frames left. */
static unsigned kp_take(struct dpdk *d, struct port *p, const struct kprobe_spec *kp,
                        uint32_t seq, bool *on, struct rte_mbuf **pkts, unsigned n)
{
	unsigned k = 0;
	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		uint8_t f = *on && m->nb_segs == 1
		            ? kprobe_match(kp, rte_pktmbuf_mtod(m, const uint8_t *), m->data_len) : 0;
		if (f == 0) {
			pkts[k++] = m;
			continue;
		}
		*on = false;
		d->kp_flags = f;
		if (kp->icmp) {            /* the echo reply: taken, that is all */
			__atomic_store_n(&d->kp_done, seq, __ATOMIC_RELEASE);
			rte_pktmbuf_free(m);
			continue;
		}
		d->kp_tsc = rte_rdtsc();
		__atomic_store_n(&d->kp_done, seq, __ATOMIC_RELEASE);
		size_t len = f & KPROBE_RST ? 0
		             : kprobe_build(kp, KPROBE_RST, kp->seq + 1, rte_pktmbuf_mtod(m, uint8_t *),
		                            (size_t)m->buf_len - m->data_off);
		if (len == 0) {
			rte_pktmbuf_free(m);
			continue;
		}
		m->data_len = (uint16_t)len;
		m->pkt_len = (uint32_t)len;
		m->ol_flags = 0;
		tx_all(p->tap, (uint16_t)d->nworkers, &m, 1);
	}
	return k;
}

static void *exc_main(void *arg)
{
	struct dpdk *d = arg;
	struct rte_mbuf *pkts[DPDK_BURST];
	const uint16_t eq = (uint16_t)d->nworkers;
	struct kprobe_spec kp;
	uint32_t kp_seq = 0;
	bool kp_on = false;
	unsigned kp_port = 0;
	/* never pure polling: this thread shares the main lcore's cores with
	 * the command thread */
	const unsigned sleep_us = d->conf.idle_sleep_us ? d->conf.idle_sleep_us : 20;
	unsigned idle = 0;
	while (!__atomic_load_n(&d->stop, __ATOMIC_RELAXED)) {
		const uint64_t lease = __atomic_load_n(&d->lease_deadline, __ATOMIC_RELAXED);
		const bool cut = unlikely(lease != 0 && rte_rdtsc() >= lease);
		unsigned work = 0;
		/* a kernel probe from the command thread: nearly always none */
		struct rte_mbuf *km;
		if (unlikely(rte_ring_sc_dequeue(d->kp_in, (void **)&km) == 0)) {
			kp = d->kp_next;
			kp_seq = d->kp_next_seq;
			kp_port = d->kp_port;
			kp_on = true;
			tx_all(d->port[kp_port].tap, eq, &km, 1);
			work++;
		}
		for (unsigned i = 0; i < d->nports; i++) {
			struct port *p = &d->port[i];
			if (!p->exc_q)
				continue;
			/* the kernel -> the wire: every tap queue (the kernel
			 * picks one per flow), out on our own NIC queue */
			for (uint16_t tq = 0; tq <= eq; tq++) {
				uint16_t n = rte_eth_rx_burst(p->tap, tq, pkts, DPDK_BURST);
				if (n == 0)
					continue;
				work += n;
				unsigned nn = unlikely(kp_on) && i == kp_port
				              ? kp_take(d, p, &kp, kp_seq, &kp_on, pkts, n) : n;
				unsigned left = unlikely(cut) ? lease_cut_cnt(&d->exc_cnt, pkts, nn) : nn;
				unsigned sent = tx_all(p->id, eq, pkts, left);
				EXC_CNT(d, from_kernel, sent);
				EXC_CNT(d, tx_frames, sent);
				EXC_CNT(d, kernel_dropped, left - sent);
			}
			/* the wire -> the kernel: our own NIC queue */
			uint16_t n = rte_eth_rx_burst(p->id, eq, pkts, DPDK_BURST);
			if (n > 0)
				work += exc_nic_burst(d, p, pkts, n, cut);
		}
		EXC_CNT(d, loops, 1);
		if (work == 0 && ++idle >= IDLE_POLLS)
			rte_delay_us_sleep(sleep_us);
		else if (work != 0)
			idle = 0;
	}
	return NULL;
}

/* ---- set-up ------------------------------------------------------------ */

/* Probe devargs and return its first ethdev port. */
static int probe_port(const char *devargs, uint16_t *id, char *err, size_t errlen)
{
	struct rte_dev_iterator it;
	uint16_t pid;
	/* already probed (named with -a or --vdev on the EAL command line)? */
	if (rte_eth_iterator_init(&it, devargs) == 0) {
		pid = rte_eth_iterator_next(&it);
		rte_eth_iterator_cleanup(&it);
		if (pid != RTE_MAX_ETHPORTS) {
			*id = pid;
			return 0;
		}
	}
	int rc = rte_dev_probe(devargs);
	if (rc != 0) {
		snprintf(err, errlen, "port %s: probe failed: %s", devargs, rte_strerror(-rc));
		return -1;
	}
	if (rte_eth_iterator_init(&it, devargs) == 0) {
		pid = rte_eth_iterator_next(&it);
		rte_eth_iterator_cleanup(&it);
		if (pid != RTE_MAX_ETHPORTS) {
			*id = pid;
			return 0;
		}
	}
	snprintf(err, errlen, "port %s: probed, but no ethernet port came of it", devargs);
	return -1;
}

/* Configure and start a port with nq queue pairs; RSS spreads over the
 * first nrss (the others are left out of the indirection table where the
 * port has one: the exception thread's queue). */
static int setup_port(struct dpdk *d, uint16_t id, const char *what, unsigned nq,
                      unsigned nrss, bool *l4_offload, bool *rx_cksum, char *err, size_t errlen)
{
	struct rte_eth_dev_info info;
	int rc = rte_eth_dev_info_get(id, &info);
	if (rc != 0) {
		snprintf(err, errlen, "port %s: no device info: %s", what, rte_strerror(-rc));
		return -1;
	}
	if (info.max_rx_queues < nq || info.max_tx_queues < nq) {
		snprintf(err, errlen,
		         "port %s: %u workers need %u queue pairs, the port has %u rx / %u tx"
		         " (for net_af_xdp set queue_count, for net_af_packet qpairs)",
		         what, nrss, nq, info.max_rx_queues, info.max_tx_queues);
		return -1;
	}
	struct rte_eth_conf pc;
	memset(&pc, 0, sizeof(pc));
	uint64_t rss = info.flow_type_rss_offloads &
	               (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP);
	if (nq > 1 && rss != 0) {
		pc.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		pc.rx_adv_conf.rss_conf.rss_hf = rss;
	}
	uint64_t txo = RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
	*l4_offload = (info.tx_offload_capa & txo) == txo;
	if (*l4_offload)
		pc.txmode.offloads |= txo;
	uint64_t rxo = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
	*rx_cksum = (info.rx_offload_capa & rxo) == rxo;
	if (*rx_cksum)
		pc.rxmode.offloads |= rxo;
	rc = rte_eth_dev_configure(id, (uint16_t)nq, (uint16_t)nq, &pc);
	if (rc != 0) {
		snprintf(err, errlen, "port %s: configure: %s", what, rte_strerror(-rc));
		return -1;
	}
	uint16_t rxd = (uint16_t)(d->conf.rxd ? d->conf.rxd : DPDK_RXD_DEFAULT);
	uint16_t txd = (uint16_t)(d->conf.txd ? d->conf.txd : DPDK_TXD_DEFAULT);
	rte_eth_dev_adjust_nb_rx_tx_desc(id, &rxd, &txd);
	int sock = rte_eth_dev_socket_id(id);
	for (unsigned q = 0; q < nq; q++) {
		rc = rte_eth_rx_queue_setup(id, (uint16_t)q, rxd, (unsigned)sock, NULL, d->pool);
		if (rc == 0)
			rc = rte_eth_tx_queue_setup(id, (uint16_t)q, txd, (unsigned)sock, NULL);
		if (rc != 0) {
			snprintf(err, errlen, "port %s: queue %u: %s", what, q, rte_strerror(-rc));
			return -1;
		}
	}
	rc = rte_eth_dev_start(id);
	if (rc != 0) {
		snprintf(err, errlen, "port %s: start: %s", what, rte_strerror(-rc));
		return -1;
	}
	if (nrss < nq && info.reta_size > 0 && nrss > 0 &&
	    info.reta_size <= RTE_ETH_RSS_RETA_SIZE_512) {
		/* best effort: a NIC without a table (or a vdev) spreads
		 * over every queue, and the exception thread passes its
		 * share to the kernel */
		struct rte_eth_rss_reta_entry64 reta[RTE_ETH_RSS_RETA_SIZE_512 / RTE_ETH_RETA_GROUP_SIZE];
		memset(reta, 0, sizeof(reta));
		for (unsigned i = 0; i < info.reta_size; i++) {
			reta[i / RTE_ETH_RETA_GROUP_SIZE].mask |= 1ULL << (i % RTE_ETH_RETA_GROUP_SIZE);
			reta[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE] =
				(uint16_t)(i % nrss);
		}
		(void)rte_eth_dev_rss_reta_update(id, reta, info.reta_size);
	}
	/* IPv6 neighbour discovery needs solicited-node multicast */
	rte_eth_allmulticast_enable(id);
	return 0;
}

/* Does the port have a queue pair beyond the workers' for the exception
 * thread? */
static bool spare_queue(uint16_t id, unsigned nw)
{
	struct rte_eth_dev_info info;
	return rte_eth_dev_info_get(id, &info) == 0 && info.max_rx_queues > nw &&
	       info.max_tx_queues > nw;
}

static void tel_register(void);

struct dpdk *dpdk_new(const struct dpdk_conf *conf, char *err, size_t errlen)
{
	if (conf->nports == 0 || conf->nports > DPDK_PORTS_MAX) {
		snprintf(err, errlen, "1 to %u ports", DPDK_PORTS_MAX);
		return NULL;
	}
	unsigned nw = dpdk_workers();
	if (nw == 0) {
		snprintf(err, errlen, "no worker lcore: give the EAL at least two (-l 0,1)");
		return NULL;
	}
	struct dpdk *d = calloc(1, sizeof(*d));
	if (d == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	d->conf = *conf;
	d->tsc_hz = rte_get_tsc_hz();
	d->tsc_per_ms = d->tsc_hz / 1000 ? d->tsc_hz / 1000 : 1;
	d->tsc0 = rte_rdtsc();

	unsigned rxd = conf->rxd ? conf->rxd : DPDK_RXD_DEFAULT;
	unsigned txd = conf->txd ? conf->txd : DPDK_TXD_DEFAULT;
	/* each port: a queue pair per worker and one for the exception thread */
	unsigned per_port = (nw + 1) * (rxd + txd + DPDK_BURST) * (conf->exception ? 2 : 1);
	unsigned need = conf->nports * per_port + (nw + 1) * MBUF_CACHE + 1024;
	if (conf->mbufs != 0 && conf->mbufs < need) {
		/* the rings and caches would hold the whole pool: RX starves */
		snprintf(err, errlen, "%u mbufs are fewer than the %u that %u ports x %u workers with"
		         " %u/%u descriptors need", conf->mbufs, need, conf->nports, nw, rxd, txd);
		free(d);
		return NULL;
	}
	unsigned nmbufs = conf->mbufs ? conf->mbufs : need;
	d->pool = rte_pktmbuf_pool_create("edgedns_mbufs", nmbufs, MBUF_CACHE, 0,
	                                  RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (d->pool == NULL) {
		snprintf(err, errlen, "mbuf pool of %u: %s", nmbufs, rte_strerror(rte_errno));
		free(d);
		return NULL;
	}
	/* probe frames: enough to fill both rings of every worker */
	static const struct rte_mbuf_dynfield tag_field = {
		.name = "edgedns_probe_tag",
		.size = sizeof(struct probe_tag),
		.align = alignof(struct probe_tag),
	};
	d->probe_off = rte_mbuf_dynfield_register(&tag_field);
	d->probe_pool = rte_pktmbuf_pool_create("edgedns_probes", nw * 2 * PROBE_RING + 64, 0, 0,
	                                        RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (d->probe_off < 0 || d->probe_pool == NULL) {
		snprintf(err, errlen, "probe mbufs: %s", rte_strerror(rte_errno));
		goto fail;
	}
	d->kp_in = rte_ring_create("edgedns_kprobe", 4, (int)rte_socket_id(),
	                           RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (d->kp_in == NULL) {
		snprintf(err, errlen, "kernel probe ring: %s", rte_strerror(rte_errno));
		goto fail;
	}

	for (unsigned i = 0; i < conf->nports; i++) {
		struct port *p = &d->port[i];
		p->link_up = -1;
		if (probe_port(conf->ports[i], &p->id, err, errlen) != 0)
			goto fail;
		d->nports++;
		rte_eth_dev_get_name_by_port(p->id, p->name);
		const char *ifa = strstr(conf->ports[i], "iface=");
		if (ifa != NULL) {
			ifa += 6;
			size_t l = strcspn(ifa, ",");
			if (l < sizeof(p->iface)) {
				memcpy(p->iface, ifa, l);
				p->iface[l] = '\0';
			}
		}
		p->exc_q = conf->exception && spare_queue(p->id, nw);
		unsigned nq = p->exc_q ? nw + 1 : nw;
		if (setup_port(d, p->id, conf->ports[i], nq, nw, &p->l4_offload, &p->rx_cksum,
		               err, errlen) != 0)
			goto fail;
		struct rte_ether_addr mac;
		rte_eth_macaddr_get(p->id, &mac);
		if (rte_eth_dev_get_mtu(p->id, &p->mtu) != 0 || p->mtu < 576)
			p->mtu = RTE_ETHER_MTU;
		p->filter = conf->filter;
		memcpy(p->filter.mac, mac.addr_bytes, 6);
		if (conf->exception) {
			/* The kernel interface gets the port's MAC address, so
			 * what it sends and what is sent to it need no rewriting. */
			char args[256];
			snprintf(args, sizeof(args), "net_tap_edgedns%u,iface=%s%u,mac="
			         RTE_ETHER_ADDR_PRT_FMT, i,
			         conf->kernel_iface ? conf->kernel_iface : DPDK_KERNEL_IFACE_DEFAULT,
			         i, RTE_ETHER_ADDR_BYTES(&mac));
			if (probe_port(args, &p->tap, err, errlen) != 0)
				goto fail;
			p->has_tap = true;
			rte_eth_dev_get_name_by_port(p->tap, p->tap_name);
			bool l4, rxc;
			if (setup_port(d, p->tap, args, nq, nq, &l4, &rxc, err, errlen) != 0)
				goto fail;
		}
	}

	unsigned lcore, k = 0;
	RTE_LCORE_FOREACH_WORKER(lcore) {
		struct worker *w = rte_zmalloc_socket("edgedns_worker", sizeof(*w), 64,
		                                      (int)rte_lcore_to_socket_id(lcore));
		if (w == NULL) {
			snprintf(err, errlen, "out of memory for lcore %u", lcore);
			goto fail;
		}
		w->d = d;
		w->idx = k;
		w->lcore = lcore;
		w->rid = conf->rcu_base + k;
		d->w[k++] = w;
		d->nworkers = k;    /* only what exists: dpdk_free() on failure */
		char rn[RTE_RING_NAMESIZE];
		int sock = (int)rte_lcore_to_socket_id(lcore);
		snprintf(rn, sizeof(rn), "edgedns_pin%u", lcore);
		w->probe_in = rte_ring_create(rn, PROBE_RING, sock, RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(rn, sizeof(rn), "edgedns_pout%u", lcore);
		w->probe_out = rte_ring_create(rn, PROBE_RING, sock, RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (w->probe_in == NULL || w->probe_out == NULL) {
			snprintf(err, errlen, "probe rings for lcore %u: %s", lcore,
			         rte_strerror(rte_errno));
			goto fail;
		}
		if (conf->rrl.rate > 0) {
			struct rrl_conf rc = conf->rrl;
			rc.rate = (rc.rate + nw - 1) / nw;
			if (rc.burst)
				rc.burst = (rc.burst + nw - 1) / nw;
			uint64_t seed = rte_rdtsc() ^ ((uint64_t)getpid() << 32) ^ lcore;
			if ((w->rrl = rrl_new(&rc, seed)) == NULL) {
				snprintf(err, errlen, "rate limiting table for lcore %u: out of memory",
				         lcore);
				goto fail;
			}
		}
	}
	pthread_mutex_lock(&tel_lock);
	tel_dp = d;
	pthread_mutex_unlock(&tel_lock);
	tel_register();
	return d;
fail:
	dpdk_free(d);
	return NULL;
}

int dpdk_start(struct dpdk *d, char *err, size_t errlen)
{
	for (unsigned i = 0; i < d->nworkers; i++) {
		int rc = rte_eal_remote_launch(worker_main, d->w[i], d->w[i]->lcore);
		if (rc != 0) {
			snprintf(err, errlen, "lcore %u: launch: %s", d->w[i]->lcore, strerror(-rc));
			__atomic_store_n(&d->stop, 1, __ATOMIC_RELAXED);
			rte_eal_mp_wait_lcore();
			return ED_EIO;
		}
	}
	d->started = true;
	bool exc = false;
	for (unsigned i = 0; i < d->nports; i++)
		exc |= d->port[i].exc_q;
	if (exc) {
		int rc = rte_ctrl_thread_create(&d->exc_thread, "edgedns-exc", NULL, exc_main, d);
		if (rc != 0) {
			snprintf(err, errlen, "exception thread: %s", strerror(rc));
			dpdk_stop(d);
			return ED_EIO;
		}
		d->exc_running = true;
	}
	return ED_OK;
}

bool dpdk_exception_queue(const struct dpdk *d, unsigned port)
{
	return port < d->nports && d->port[port].exc_q;
}

void dpdk_stop(struct dpdk *d)
{
	if (d == NULL || !d->started)
		return;
	__atomic_store_n(&d->stop, 1, __ATOMIC_RELAXED);
	rte_eal_mp_wait_lcore();
	if (d->exc_running) {
		pthread_join(d->exc_thread, NULL);
		d->exc_running = false;
	}
	d->started = false;
}

void dpdk_free(struct dpdk *d)
{
	if (d == NULL)
		return;
	dpdk_stop(d);
	pthread_mutex_lock(&tel_lock);
	if (tel_dp == d)
		tel_dp = NULL;
	pthread_mutex_unlock(&tel_lock);
	for (unsigned i = 0; i < d->nports; i++) {
		struct port *p = &d->port[i];
		rte_eth_dev_stop(p->id);
		rte_eth_dev_close(p->id);
		if (p->has_tap) {
			rte_eth_dev_stop(p->tap);
			rte_eth_dev_close(p->tap);
		}
	}
	for (unsigned i = 0; i < d->nworkers; i++) {
		struct worker *w = d->w[i];
		struct rte_ring *rings[2] = { w->probe_in, w->probe_out };
		for (unsigned k = 0; k < 2; k++) {
			struct rte_mbuf *m;
			while (rings[k] != NULL && rte_ring_dequeue(rings[k], (void **)&m) == 0)
				rte_pktmbuf_free(m);
			rte_ring_free(rings[k]);
		}
		rrl_free(w->rrl);
		rte_free(w);
	}
	struct rte_mbuf *km;
	while (d->kp_in != NULL && rte_ring_dequeue(d->kp_in, (void **)&km) == 0)
		rte_pktmbuf_free(km);
	rte_ring_free(d->kp_in);
	rte_mempool_free(d->probe_pool);
	rte_mempool_free(d->pool);
	free(d);
}

/* ---- counters, commands, telemetry ------------------------------------ */

void dpdk_counters_cb(void *arg, struct dp_counters *out)
{
	struct dpdk *d = arg;
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < d->nworkers; i++)
		dp_counters_add(out, &d->w[i]->cnt);
	/* the exception thread's frames, not its loops (the heartbeat is the
	 * workers') */
	struct dp_counters e;
	memset(&e, 0, sizeof(e));
	dp_counters_add(&e, &d->exc_cnt);
	e.loops = 0;
	dp_counters_add(out, &e);
}

/* The kernel's view of an interface: up and running (carrier), or not;
 * -1 when it cannot be asked. */
static int iface_running(const char *iface)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", iface);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
	close(fd);
	if (rc != 0)
		return -1;
	return (ifr.ifr_flags & (IFF_UP | IFF_RUNNING)) == (IFF_UP | IFF_RUNNING);
}

/* The link state of port p. The socket vdevs (af_xdp, af_packet) set
 * their link once at start and never again, so for a port on a kernel
 * interface the interface's carrier decides as well. */
static void link_str(const struct port *p, char *buf, size_t size, int *up)
{
	struct rte_eth_link link;
	memset(&link, 0, sizeof(link));
	if (rte_eth_link_get_nowait(p->id, &link) != 0) {
		snprintf(buf, size, "unknown");
		*up = 0;
		return;
	}
	*up = link.link_status == RTE_ETH_LINK_UP;
	if (*up && p->iface[0] != '\0' && iface_running(p->iface) == 0) {
		snprintf(buf, size, "link down (no carrier on %s)", p->iface);
		*up = 0;
		return;
	}
	if (!*up)
		snprintf(buf, size, "link down");
	else if (link.link_speed == RTE_ETH_SPEED_NUM_NONE ||
	         link.link_speed == RTE_ETH_SPEED_NUM_UNKNOWN)
		snprintf(buf, size, "link up");
	else
		snprintf(buf, size, "link up, %u Mbps, %s", link.link_speed,
		         link.link_duplex == RTE_ETH_LINK_FULL_DUPLEX ? "full-duplex" : "half-duplex");
}

void dpdk_check_links(struct dpdk *d, void (*log)(int level, const char *msg))
{
	for (unsigned i = 0; i < d->nports; i++) {
		struct port *p = &d->port[i];
		char ls[96], msg[512];
		int up;
		link_str(p, ls, sizeof(ls), &up);
		if (up != p->link_up) {
			snprintf(msg, sizeof(msg), "port %u (%s): %s", i, p->name, ls);
			log(up ? 0 : 1, msg);
			p->link_up = up;
		}
	}
}

/* ---- the lease ----------------------------------------------------------- */

static const char *lease_state_name(uint64_t deadline, uint64_t tsc)
{
	return deadline == 0 ? "off" : tsc >= deadline ? "out" : "armed";
}

/* "lease [MS]": arm (MS > 0), release (0) or show (no MS). */
static char *lease_cmd(struct dpdk *d, char *const *w, unsigned n)
{
	char *out = NULL, *end = NULL;
	unsigned long ms = 0;
	if (n > 2)
		return NULL;
	if (n == 2) {
		errno = 0;
		ms = strtoul(w[1], &end, 10);
		if (w[1][0] == '-' || *end != '\0' || errno != 0 || ms > DPDK_LEASE_MAX_MS) {
			if (asprintf(&out, "{\"ok\":false,\"error\":\"lease: MS from 0 (off) to %u\"}",
			             DPDK_LEASE_MAX_MS) < 0)
				return NULL;
			return out;
		}
	}
	uint64_t tsc = rte_rdtsc();
	uint64_t old = __atomic_load_n(&d->lease_deadline, __ATOMIC_RELAXED);
	if (n == 2) {
		if (old != 0 && tsc >= old && ms != 0)
			__atomic_fetch_add(&d->lease_lapses, 1, __ATOMIC_RELAXED);
		d->lease_ms = (uint32_t)ms;
		__atomic_store_n(&d->lease_deadline, ms ? tsc + ms * d->tsc_per_ms : 0,
		                 __ATOMIC_RELAXED);
	}
	uint64_t now = __atomic_load_n(&d->lease_deadline, __ATOMIC_RELAXED);
	long long left = now == 0 ? 0 : now > tsc ? (long long)((now - tsc) / d->tsc_per_ms)
	                 : -(long long)((tsc - now) / d->tsc_per_ms);
	if (asprintf(&out, "{\"ok\":true,\"io\":\"dpdk\",\"lease_ms\":%u,\"state\":\"%s\","
	             "\"was\":\"%s\",\"remaining_ms\":%lld}", d->lease_ms,
	             lease_state_name(now, tsc), lease_state_name(old, tsc), left) < 0)
		return NULL;
	return out;
}

void dpdk_lease_check(struct dpdk *d, void (*log)(int level, const char *msg))
{
	uint64_t dl = __atomic_load_n(&d->lease_deadline, __ATOMIC_RELAXED);
	uint64_t lapses = __atomic_load_n(&d->lease_lapses, __ATOMIC_RELAXED);
	uint64_t tsc = rte_rdtsc();
	int st = dl == 0 ? 0 : tsc >= dl ? 2 : 1;
	char msg[256];
	if (lapses != d->lease_lapses_seen && st == 1 && d->lease_seen != 2) {
		/* out and renewed again between two checks */
		snprintf(msg, sizeof(msg), "control's lease ran out and was renewed: BGP and BFD "
		         "frames were dropped meanwhile");
		log(1, msg);
	}
	d->lease_lapses_seen = lapses;
	if (st == d->lease_seen)
		return;
	if (st == 2)
		snprintf(msg, sizeof(msg), "control's lease ran out (%u ms without a renewal): "
		         "BGP (TCP 179) and BFD (UDP 3784, 4784) frames are dropped on the "
		         "exception path until control renews it", d->lease_ms);
	else if (st == 1)
		snprintf(msg, sizeof(msg), "control's lease %s: %u ms%s", d->lease_seen == 2 ?
		         "renewed" : "armed", d->lease_ms, d->lease_seen == 2 ?
		         ", BGP and BFD frames pass again" : "");
	else
		snprintf(msg, sizeof(msg), "control's lease released: BGP and BFD frames pass%s",
		         d->lease_seen == 2 ? " again" : "");
	log(st == 2 ? 1 : 0, msg);
	d->lease_seen = st;
}

char *dpdk_cmd(void *arg, char *const *w, unsigned n)
{
	struct dpdk *d = arg;
	char *out = NULL;
	size_t len = 0;
	FILE *f;
	const char *cmd = w[0];
	if (strcmp(cmd, "probe") == 0)
		return dpdk_probe_cmd(d, w, n);
	if (strcmp(cmd, "stall") == 0)
		return dpdk_stall_cmd(d, w, n);
	if (strcmp(cmd, "kprobe") == 0)
		return dpdk_kprobe_cmd(d, w, n);
	if (strcmp(cmd, "lease") == 0)
		return lease_cmd(d, w, n);
	if (n != 1)
		return NULL;
	if (strcmp(cmd, "lcores") == 0) {
		if ((f = open_memstream(&out, &len)) == NULL)
			return NULL;
		fputs("{\"ok\":true,\"lcores\":[", f);
		for (unsigned i = 0; i < d->nworkers; i++) {
			struct dp_counters c;
			memset(&c, 0, sizeof(c));
			dp_counters_add(&c, &d->w[i]->cnt);
			uint64_t ans = 0;
			for (unsigned r = 0; r < 16; r++)
				ans += c.responses[r];
			fprintf(f, "%s{\"lcore\":%u,\"queue\":%u,\"rx\":%llu,\"tx\":%llu,"
			        "\"answered\":%llu,\"to_kernel\":%llu,\"dropped\":%llu,\"tx_dropped\":%llu,"
			        "\"malformed\":%llu,\"loops\":%llu,\"probes\":%llu,\"queries\":%llu,"
			        "\"kernel_dropped\":%llu,\"looped\":%llu,\"bad_source\":%llu,"
			        "\"loop_port\":%llu,\"lease_dropped\":%llu}",
			        i ? "," : "", d->w[i]->lcore, d->w[i]->idx,
			        (unsigned long long)c.rx_frames, (unsigned long long)c.tx_frames,
			        (unsigned long long)ans, (unsigned long long)c.to_kernel,
			        (unsigned long long)c.dropped, (unsigned long long)c.tx_dropped,
			        (unsigned long long)c.malformed, (unsigned long long)c.loops,
			        (unsigned long long)c.probes, (unsigned long long)c.queries_udp,
			        (unsigned long long)c.kernel_dropped, (unsigned long long)c.looped,
			        (unsigned long long)c.bad_source, (unsigned long long)c.loop_port,
			        (unsigned long long)c.lease_dropped);
		}
		fputs("]}", f);
	} else if (strcmp(cmd, "ports") == 0) {
		if ((f = open_memstream(&out, &len)) == NULL)
			return NULL;
		fputs("{\"ok\":true,\"ports\":[", f);
		for (unsigned i = 0; i < d->nports; i++) {
			struct port *p = &d->port[i];
			char ls[96];
			int up;
			link_str(p, ls, sizeof(ls), &up);
			struct rte_ether_addr mac;
			rte_eth_macaddr_get(p->id, &mac);
			fprintf(f, "%s{\"port\":%u,\"name\":\"%s\",\"mac\":\"" RTE_ETHER_ADDR_PRT_FMT
			        "\",\"link\":%s,\"status\":\"%s\",\"exception\":\"%s\","
			        "\"exception_queue\":%d}",
			        i ? "," : "", i, p->name, RTE_ETHER_ADDR_BYTES(&mac),
			        up ? "true" : "false", ls, p->has_tap ? p->tap_name : "",
			        p->exc_q ? (int)d->nworkers : -1);
		}
		fprintf(f, "],\"exception_loops\":%llu}",
		        (unsigned long long)__atomic_load_n(&d->exc_cnt.loops, __ATOMIC_RELAXED));
	} else {
		return NULL;
	}
	fclose(f);
	return out;
}

/* One set of counters as a telemetry dictionary. */
static void tel_dict(struct rte_tel_data *t, const struct dp_counters *c)
{
	static const char *const rc[6] = { "noerror", "formerr", "servfail", "nxdomain",
	                                   "notimp", "refused" };
	uint64_t ans = 0, other = 0;
	for (unsigned r = 0; r < 16; r++) {
		ans += c->responses[r];
		if (r >= 6)
			other += c->responses[r];
	}
	rte_tel_data_start_dict(t);
	rte_tel_data_add_dict_u64(t, "rx", c->rx_frames);
	rte_tel_data_add_dict_u64(t, "tx", c->tx_frames);
	rte_tel_data_add_dict_u64(t, "queries", c->queries_udp);
	rte_tel_data_add_dict_u64(t, "answered", ans);
	for (unsigned r = 0; r < 6; r++)
		rte_tel_data_add_dict_u64(t, rc[r], c->responses[r]);
	rte_tel_data_add_dict_u64(t, "other_rcode", other);
	rte_tel_data_add_dict_u64(t, "truncated", c->truncated);
	rte_tel_data_add_dict_u64(t, "to_kernel", c->to_kernel);
	rte_tel_data_add_dict_u64(t, "from_kernel", c->from_kernel);
	rte_tel_data_add_dict_u64(t, "dropped", c->dropped);
	rte_tel_data_add_dict_u64(t, "tx_dropped", c->tx_dropped);
	rte_tel_data_add_dict_u64(t, "kernel_dropped", c->kernel_dropped);
	rte_tel_data_add_dict_u64(t, "malformed", c->malformed);
	rte_tel_data_add_dict_u64(t, "bad_source", c->bad_source);
	rte_tel_data_add_dict_u64(t, "loop_port", c->loop_port);
	rte_tel_data_add_dict_u64(t, "rrl_limited", c->rrl_limited);
	rte_tel_data_add_dict_u64(t, "rrl_slipped", c->rrl_slipped);
	rte_tel_data_add_dict_u64(t, "loops", c->loops);
	rte_tel_data_add_dict_u64(t, "probes", c->probes);
	rte_tel_data_add_dict_u64(t, "lease_dropped", c->lease_dropped);
}

static int tel_stats(const char *cmd, const char *params, struct rte_tel_data *t)
{
	(void)cmd;
	(void)params;
	pthread_mutex_lock(&tel_lock);
	struct dpdk *d = tel_dp;
	if (d == NULL) {
		pthread_mutex_unlock(&tel_lock);
		return -1;
	}
	struct dp_counters c;
	dpdk_counters_cb(d, &c);
	pthread_mutex_unlock(&tel_lock);
	tel_dict(t, &c);
	return 0;
}

static int tel_lcore_locked(const struct dpdk *d, const char *params, struct rte_tel_data *t);

static int tel_lcore(const char *cmd, const char *params, struct rte_tel_data *t)
{
	(void)cmd;
	pthread_mutex_lock(&tel_lock);
	int rc = tel_dp != NULL ? tel_lcore_locked(tel_dp, params, t) : -1;
	pthread_mutex_unlock(&tel_lock);
	return rc;
}

static int tel_lcore_locked(const struct dpdk *d, const char *params, struct rte_tel_data *t)
{
	if (params == NULL || *params == '\0') {
		/* no lcore given: the list of worker lcores */
		rte_tel_data_start_array(t, RTE_TEL_INT_VAL);
		for (unsigned i = 0; i < d->nworkers; i++)
			rte_tel_data_add_array_int(t, (int)d->w[i]->lcore);
		return 0;
	}
	char *end;
	unsigned long lc = strtoul(params, &end, 10);
	for (unsigned i = 0; i < d->nworkers && *end == '\0'; i++) {
		if (d->w[i]->lcore != lc)
			continue;
		struct dp_counters c;
		memset(&c, 0, sizeof(c));
		dp_counters_add(&c, &d->w[i]->cnt);
		tel_dict(t, &c);
		return 0;
	}
	return -1;
}

static void tel_register(void)
{
	static int done;
	if (done)
		return;
	done = 1;
	rte_telemetry_register_cmd("/edgedns/stats", tel_stats,
	                           "Dataplane counters, summed over the workers. No parameters");
	rte_telemetry_register_cmd("/edgedns/lcore", tel_lcore,
	                           "One worker's counters. Parameter: lcore id (none: the list)");
}
