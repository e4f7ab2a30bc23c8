/* io_dpdk_probe.c: the command thread's side of the in-band probes (the
 * "probe" command) and of the stuck-worker test hook ("stall"). The
 * worker's side is in io_dpdk.c (path_burst with probe true, stall()). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_random.h>
#include <rte_ring.h>

#include "cmdsock.h"
#include "dnsconst.h"
#include "io_dpdk_int.h"
#include "probe.h"

#define PROBE_POLL_NS 20000       /* between looks at the result rings */
#define STALL_TAKE_MS 1000        /* a worker takes a stall within this */

static char *error_reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *error_reply(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	if (f == NULL)
		return NULL;
	fputs("{\"ok\":false,\"error\":", f);
	cmdsock_json_str(f, msg);
	fputs("}", f);
	fclose(f);
	return out;
}

/* A whole decimal number in [min, max]. */
static int parse_num(const char *s, unsigned long min, unsigned long max, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 || v < min || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* An IPv4 or IPv6 address into a (16 octets); *v6 says which. */
static int parse_addr(const char *s, uint8_t *a, bool *v6)
{
	memset(a, 0, 16);
	if (inet_pton(AF_INET, s, a) == 1) {
		*v6 = false;
		return 0;
	}
	if (inet_pton(AF_INET6, s, a) == 1) {
		*v6 = true;
		return 0;
	}
	return -1;
}

#define PROBE_USAGE "usage: probe ADDR QNAME [QTYPE] [timeout=MS] [port=N] [from=ADDR]"

/* The query all the workers get (but ID, source port, IPv4 ident), the
 * timeout and the port index from the words; NULL, or an error reply. */
static char *parse_probe(const struct dpdk *d, char *const *w, unsigned n, struct probe_spec *s,
                         unsigned *timeout_ms, unsigned *port)
{
	static const uint8_t src_mac[6] = PROBE_SRC_MAC;
	memset(s, 0, sizeof(*s));
	*timeout_ms = PROBE_TIMEOUT_MS_DEFAULT;
	*port = 0;
	if (n < 3)
		return error_reply(PROBE_USAGE);
	if (parse_addr(w[1], s->dst, &s->v6) != 0)
		return error_reply("probe: '%.64s' is not an IPv4 or IPv6 address", w[1]);
	s->qname_len = dname_from_str(w[2], s->qname);
	if (s->qname_len == 0)
		return error_reply("probe: '%.300s' is not a domain name", w[2]);
	s->qtype = T_SOA;
	unsigned i = 3;
	if (i < n && strchr(w[i], '=') == NULL) {
		if ((s->qtype = probe_qtype(w[i])) == 0)
			return error_reply("probe: unknown type '%.32s' (a mnemonic or TYPEn)", w[i]);
		i++;
	}
	bool from = false;
	for (; i < n; i++) {
		const char *v = strchr(w[i], '=');
		if (v == NULL)
			return error_reply(PROBE_USAGE);
		v++;
		if (strncmp(w[i], "timeout=", 8) == 0) {
			if (parse_num(v, 1, PROBE_TIMEOUT_MS_MAX, timeout_ms) != 0)
				return error_reply("probe: timeout=MS, 1 to %u", PROBE_TIMEOUT_MS_MAX);
		} else if (strncmp(w[i], "port=", 5) == 0) {
			if (parse_num(v, 0, d->nports - 1, port) != 0)
				return error_reply("probe: port=N, 0 to %u", d->nports - 1);
		} else if (strncmp(w[i], "from=", 5) == 0) {
			bool v6;
			if (parse_addr(v, s->src, &v6) != 0 || v6 != s->v6)
				return error_reply("probe: from= an address of the family of %.64s", w[1]);
			from = true;
		} else {
			return error_reply(PROBE_USAGE);
		}
	}
	if (!from) {
		bool v6;
		parse_addr(s->v6 ? PROBE_SRC6 : PROBE_SRC4, s->src, &v6);
	}
	memcpy(s->dst_mac, d->port[*port].filter.mac, 6);
	memcpy(s->src_mac, src_mac, 6);
	s->dport = d->port[*port].filter.dns_port;
	s->edns_size = PROBE_EDNS_SIZE;
	return NULL;
}

/* One worker's probe. */
struct slot {
	struct probe_spec spec;
	uint64_t t0;              /* TSC when enqueued */
	const char *status;       /* NULL: waiting */
	const char *reason;       /* more about status, or NULL */
	struct probe_result r;    /* status "ok" */
	long long latency_us;     /* -1: none */
	uint64_t zone_sum;        /* probe_tag.zone_sum */
};

/* The result mbuf m of slot s (its verdict and frame). */
static void take(const struct dpdk *d, struct slot *s, struct rte_mbuf *m)
{
	const struct probe_tag *t = probe_tag(d, m);
	s->latency_us = t->tsc > s->t0 ? (long long)((t->tsc - s->t0) * 1000000 / d->tsc_hz) : 0;
	s->zone_sum = t->zone_sum;
	switch (t->verdict) {
	case PV_ANSWER:
		s->reason = probe_check(&s->spec, rte_pktmbuf_mtod(m, const uint8_t *),
		                        rte_pktmbuf_data_len(m), &s->r);
		s->status = s->reason == NULL ? "ok" : "bad-reply";
		break;
	case PV_KERNEL:
		s->status = "kernel";
		break;
	case PV_MALFORMED:
		s->status = "dropped";
		s->reason = "malformed";
		break;
	case PV_LOOPED:
		s->status = "dropped";
		s->reason = "looped (our own source MAC)";
		break;
	case PV_NO_ANSWER:
		s->status = "dropped";
		s->reason = "no answer from the engine";
		break;
	case PV_BAD_SOURCE:
		s->status = "dropped";
		s->reason = "a source never answered (from=)";
		break;
	case PV_LOOP_PORT:
		s->status = "dropped";
		s->reason = "a looping service's source port";
		break;
	default:
		s->status = "bad-reply";
		s->reason = "unknown verdict";
		break;
	}
}

static const char *rcode_str(uint16_t rc, char *buf, size_t size)
{
	if (rc < 16)
		return cmdsock_rcode_name(rc);
	if (rc == 16)
		return "BADVERS";
	if (rc == 23)
		return "BADCOOKIE";
	snprintf(buf, size, "RCODE%u", rc);
	return buf;
}

static void slot_json(FILE *f, const struct dpdk *d, unsigned i, const struct slot *s)
{
	const struct worker *wk = d->w[i];
	char buf[64];
	fprintf(f, "%s{\"lcore\":%u,\"queue\":%u,\"status\":", i ? "," : "", wk->lcore, wk->idx);
	if (strcmp(s->status, "bad-reply") == 0) {
		char st[256];
		snprintf(st, sizeof(st), "bad-reply: %s", s->reason);
		cmdsock_json_str(f, st);
	} else {
		cmdsock_json_str(f, s->status);
		if (s->reason != NULL) {
			fputs(",\"reason\":", f);
			cmdsock_json_str(f, s->reason);
		}
	}
	if (strcmp(s->status, "ok") == 0) {
		const struct probe_result *r = &s->r;
		fprintf(f, ",\"rcode\":\"%s\",\"aa\":%s,\"tc\":%s,\"ancount\":%u",
		        rcode_str(r->rcode, buf, sizeof(buf)), r->aa ? "true" : "false",
		        r->tc ? "true" : "false", r->ancount);
		if (r->has_serial)
			fprintf(f, ",\"serial\":%u", r->serial);
		if (r->an_type != 0)
			fprintf(f, ",\"type\":\"%s\"", probe_type_str(r->an_type, buf, sizeof(buf)));
		if (r->rdata[0] != '\0') {
			fputs(",\"rdata\":", f);
			cmdsock_json_str(f, r->rdata);
		}
	}
	if (s->zone_sum != 0)
		fprintf(f, ",\"zone_checksum\":\"%016llx\"", (unsigned long long)s->zone_sum);
	if (s->latency_us >= 0)
		fprintf(f, ",\"latency_us\":%lld", s->latency_us);
	fprintf(f, ",\"loops\":%llu}",
	        (unsigned long long)__atomic_load_n(&wk->cnt.loops, __ATOMIC_RELAXED));
}

/* Look at worker i's result ring: its result for probe seq into s; results
 * of earlier probes (which timed out) are freed. */
static void collect(struct dpdk *d, unsigned i, uint32_t seq, struct slot *s)
{
	struct rte_mbuf *ms[PROBE_RING];
	unsigned k = rte_ring_sc_dequeue_burst(d->w[i]->probe_out, (void **)ms, PROBE_RING, NULL);
	for (unsigned j = 0; j < k; j++) {
		if (s->status == NULL && probe_tag(d, ms[j])->seq == seq)
			take(d, s, ms[j]);
		rte_pktmbuf_free(ms[j]);
	}
}

char *dpdk_probe_cmd(struct dpdk *d, char *const *w, unsigned n)
{
	struct probe_spec base;
	unsigned timeout_ms, port;
	char *err = parse_probe(d, w, n, &base, &timeout_ms, &port);
	if (err != NULL)
		return err;
	struct slot *sl = calloc(d->nworkers, sizeof(*sl));
	if (sl == NULL)
		return NULL;
	uint32_t seq = ++d->probe_seq;

	/* one query per worker, each its own ID and source port */
	for (unsigned i = 0; i < d->nworkers; i++) {
		struct slot *s = &sl[i];
		s->spec = base;
		uint64_t rnd = rte_rand();
		s->spec.id = (uint16_t)rnd;
		s->spec.sport = (uint16_t)(1024 + (rnd >> 16) % 64512);
		s->spec.ip_id = (uint16_t)(rnd >> 48);
		s->latency_us = -1;
		struct rte_mbuf *m = rte_pktmbuf_alloc(d->probe_pool);
		if (m == NULL) {
			s->status = "timeout";
			s->reason = "no probe mbuf left (held by stuck workers' rings)";
			continue;
		}
		size_t len = probe_build(&s->spec, rte_pktmbuf_mtod(m, uint8_t *),
		                         rte_pktmbuf_tailroom(m));
		m->data_len = (uint16_t)len;
		m->pkt_len = (uint32_t)len;
		*probe_tag(d, m) = (struct probe_tag){ .seq = seq, .port = (uint16_t)port };
		s->t0 = rte_rdtsc();
		if (len == 0 || rte_ring_sp_enqueue(d->w[i]->probe_in, m) != 0) {
			rte_pktmbuf_free(m);
			s->status = "timeout";
			s->reason = len == 0 ? "query does not fit a frame"
			                     : "probe ring full: the worker takes no probes";
		}
	}

	/* wait for every worker's result, or the timeout */
	uint64_t deadline = rte_rdtsc() + (uint64_t)timeout_ms * d->tsc_per_ms;
	for (;;) {
		unsigned pending = 0;
		for (unsigned i = 0; i < d->nworkers; i++) {
			if (sl[i].status == NULL)
				collect(d, i, seq, &sl[i]);
			pending += sl[i].status == NULL;
		}
		if (pending == 0)
			break;
		if (rte_rdtsc() >= deadline) {
			for (unsigned i = 0; i < d->nworkers; i++)
				if (sl[i].status == NULL)
					sl[i].status = "timeout";
			break;
		}
		struct timespec ts = { 0, PROBE_POLL_NS };
		nanosleep(&ts, NULL);
	}

	char *out = NULL;
	size_t olen = 0;
	FILE *f = open_memstream(&out, &olen);
	if (f == NULL) {
		free(sl);
		return NULL;
	}
	unsigned passed = 0;
	for (unsigned i = 0; i < d->nworkers; i++)
		passed += strcmp(sl[i].status, "ok") == 0;
	char qn[1024], tn[32], as[INET6_ADDRSTRLEN];
	dname_to_str(base.qname, qn, sizeof(qn));
	inet_ntop(base.v6 ? AF_INET6 : AF_INET, base.dst, as, sizeof(as));
	fprintf(f, "{\"ok\":true,\"io\":\"dpdk\",\"dst\":\"%s\",\"qname\":", as);
	cmdsock_json_str(f, qn);
	inet_ntop(base.v6 ? AF_INET6 : AF_INET, base.src, as, sizeof(as));
	fprintf(f, ",\"qtype\":\"%s\",\"from\":\"%s\",\"port\":%u,\"timeout_ms\":%u,"
	        "\"workers\":%u,\"passed\":%u,\"lcores\":[",
	        probe_type_str(base.qtype, tn, sizeof(tn)), as, port, timeout_ms,
	        d->nworkers, passed);
	for (unsigned i = 0; i < d->nworkers; i++)
		slot_json(f, d, i, &sl[i]);
	fputs("]}", f);
	fclose(f);
	free(sl);
	return out;
}

char *dpdk_stall_cmd(struct dpdk *d, char *const *w, unsigned n)
{
	if (!d->conf.test_hooks)
		return error_reply("stall: a test hook; the dataplane was started without --test-hooks");
	unsigned lcore, ms;
	if (n != 3 || parse_num(w[1], 0, RTE_MAX_LCORE - 1, &lcore) != 0 ||
	    parse_num(w[2], 1, STALL_MS_MAX, &ms) != 0)
		return error_reply("usage: stall LCORE MS (MS 1 to %u)", STALL_MS_MAX);
	struct worker *wk = NULL;
	for (unsigned i = 0; i < d->nworkers; i++)
		if (d->w[i]->lcore == lcore)
			wk = d->w[i];
	if (wk == NULL)
		return error_reply("stall: lcore %u is not a worker", lcore);
	uint32_t none = 0;
	if (!__atomic_compare_exchange_n(&wk->stall_ms, &none, ms, false, __ATOMIC_ACQ_REL,
	                                 __ATOMIC_ACQUIRE))
		return error_reply("stall: lcore %u has a stall pending", lcore);
	/* the reply once the worker has begun (it sets stall_ms back to 0) */
	for (unsigned t = 0; t < STALL_TAKE_MS; t++) {
		if (__atomic_load_n(&wk->stall_ms, __ATOMIC_ACQUIRE) == 0)
			goto taken;
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	uint32_t mine = ms;
	if (__atomic_compare_exchange_n(&wk->stall_ms, &mine, 0, false, __ATOMIC_ACQ_REL,
	                                __ATOMIC_ACQUIRE))
		return error_reply("stall: lcore %u did not take the stall within %u ms (stuck?)",
		                   lcore, STALL_TAKE_MS);
taken:;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	if (f == NULL)
		return NULL;
	fprintf(f, "{\"ok\":true,\"lcore\":%u,\"ms\":%u}", lcore, ms);
	fclose(f);
	return out;
}

/* ---- kernel probes --------------------------------------------------------- */

#define KPROBE_USAGE "usage: kprobe ADDR [tcp|icmp] [dport=N] [timeout=MS] [from=ADDR]"

char *dpdk_kprobe_cmd(struct dpdk *d, char *const *w, unsigned n)
{
	static const uint8_t src_mac[6] = PROBE_SRC_MAC;
	struct kprobe_spec s;
	memset(&s, 0, sizeof(s));
	if (n < 2)
		return error_reply(KPROBE_USAGE);
	if (parse_addr(w[1], s.dst, &s.v6) != 0)
		return error_reply("kprobe: '%.64s' is not an IPv4 or IPv6 address", w[1]);
	unsigned port = d->nports, timeout_ms = PROBE_TIMEOUT_MS_DEFAULT, dport = 0;
	for (unsigned i = 0; i < d->nports && port == d->nports; i++)
		if (d->port[i].exc_q)
			port = i;
	if (port == d->nports)
		return error_reply("kprobe: no port has the exception thread's queue (kernel probes "
		                   "need it)");
	dport = d->port[port].filter.dns_port;
	bool from = false;
	unsigned i = 2;
	if (i < n && (strcmp(w[i], "tcp") == 0 || strcmp(w[i], "icmp") == 0))
		s.icmp = strcmp(w[i++], "icmp") == 0;
	for (; i < n; i++) {
		const char *v = strchr(w[i], '=');
		if (v == NULL)
			return error_reply(KPROBE_USAGE);
		v++;
		if (strncmp(w[i], "timeout=", 8) == 0) {
			if (parse_num(v, 1, PROBE_TIMEOUT_MS_MAX, &timeout_ms) != 0)
				return error_reply("kprobe: timeout=MS, 1 to %u", PROBE_TIMEOUT_MS_MAX);
		} else if (strncmp(w[i], "dport=", 6) == 0) {
			if (parse_num(v, 1, 65535, &dport) != 0)
				return error_reply("kprobe: dport=N, 1 to 65535");
		} else if (strncmp(w[i], "from=", 5) == 0) {
			bool v6;
			if (parse_addr(v, s.src, &v6) != 0 || v6 != s.v6)
				return error_reply("kprobe: from= an address of the family of %.64s", w[1]);
			from = true;
		} else {
			return error_reply(KPROBE_USAGE);
		}
	}
	if (!from) {
		bool v6;
		parse_addr(s.v6 ? PROBE_SRC6 : PROBE_SRC4, s.src, &v6);
	}
	memcpy(s.dst_mac, d->port[port].filter.mac, 6);
	memcpy(s.src_mac, src_mac, 6);
	uint64_t rnd = rte_rand();
	s.sport = (uint16_t)(1024 + (rnd >> 16) % 64512);
	s.seq = (uint32_t)(rnd >> 32);
	s.dport = (uint16_t)dport;
	struct rte_mbuf *m = rte_pktmbuf_alloc(d->probe_pool);
	if (m == NULL)
		return error_reply("kprobe: no probe mbuf left");
	size_t len = s.icmp ? kprobe_build_echo(&s, rte_pktmbuf_mtod(m, uint8_t *),
	                                        rte_pktmbuf_tailroom(m))
	             : kprobe_build(&s, KPROBE_SYN, s.seq, rte_pktmbuf_mtod(m, uint8_t *),
	                            rte_pktmbuf_tailroom(m));
	m->data_len = (uint16_t)len;
	m->pkt_len = (uint32_t)len;
	uint32_t seq = ++d->kp_seq;
	d->kp_next = s;
	d->kp_next_seq = seq;
	d->kp_port = port;
	uint64_t t0 = rte_rdtsc();
	if (len == 0 || rte_ring_sp_enqueue(d->kp_in, m) != 0) {
		rte_pktmbuf_free(m);
		return error_reply("kprobe: the exception thread has not taken the last one");
	}
	const char *status = "timeout";
	long long us = -1;
	for (unsigned t = 0; t <= timeout_ms * 4; t++) {
		if (__atomic_load_n(&d->kp_done, __ATOMIC_ACQUIRE) == seq) {
			status = d->kp_flags & KPROBE_RST ? "refused" : "ok";
			us = d->kp_tsc > t0 ? (long long)((d->kp_tsc - t0) * 1000000 / d->tsc_hz) : 0;
			break;
		}
		struct timespec ts = { 0, 250000 };
		nanosleep(&ts, NULL);
	}
	char *out = NULL;
	size_t olen = 0;
	FILE *f = open_memstream(&out, &olen);
	if (f == NULL)
		return NULL;
	char from_s[INET6_ADDRSTRLEN];
	inet_ntop(s.v6 ? AF_INET6 : AF_INET, s.src, from_s, sizeof(from_s));
	fprintf(f, "{\"ok\":true,\"io\":\"dpdk\",\"dst\":");
	cmdsock_json_str(f, w[1]);
	fprintf(f, ",\"proto\":\"%s\",\"dport\":%u,\"from\":\"%s\",\"port\":%u,"
	        "\"timeout_ms\":%u,\"status\":\"%s\"", s.icmp ? "icmp" : "tcp", dport, from_s,
	        port, timeout_ms, status);
	if (us >= 0)
		fprintf(f, ",\"latency_us\":%lld", us);
	fputs("}", f);
	fclose(f);
	return out;
}
