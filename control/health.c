/* health.c: the health thread (health.h): rounds of checks per service,
 * the policy's verdicts to routes, the saved state. */
#include "health.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "ctllog.h"
#include "error.h"
#include "publish.h"

#define HEALTH_MAX_LCORES 128
#define HISTORY 32                   /* rounds kept per service */
#define DP_TIMEOUT_MS 500u           /* a dataplane command */
/* The heartbeat's "lcores": answered by the command thread from counters
 * in memory, in well under a millisecond even while a snapshot loads (its
 * own thread), so 250 ms is a frozen or wedged dataplane, not a slow one;
 * one late answer fails one round, and a withdraw takes `fall` (2) in a
 * row. With the round's other dataplane checks and TCP skipped once it
 * does not answer, a frozen dataplane is withdrawn after about 2 x 250 ms
 * (it was 2 x (500 + 500) ms). */
#define HB_TIMEOUT_MS 250u
#define REASSERT_MS 1000u            /* BIRD's state read back at most this often */
#define WHY_MAX 300

/* In the order a round runs them: the first failure names the cause (an
 * expired zone also fails the probe, with SERVFAIL). */
enum check_kind { CK_HEARTBEAT, CK_PORTS, CK_ZONES, CK_PROBE, CK_TCP, CK_OPERATOR, CK_N };
static const char *const check_names[CK_N] = { "heartbeat", "ports", "zones", "probe", "tcp",
                                                "operator" };

struct opcheck {                     /* an operator command's last run */
	pid_t pid;                   /* running: > 0 */
	uint64_t started, next;      /* ms */
	int ok;                      /* last result */
	int ran;
	char why[160];
};

struct hsvc {
	const struct cfg_service *sv;
	struct hp_conf hc;
	struct hp m;
	uint64_t next_round;         /* ms */
	uint64_t last_query;         /* ms: BIRD read back */
	struct {
		int ran, ok;
		char why[WHY_MAX];
	} ck[CK_N];
	struct opcheck *ops;         /* n_checks */
	uint32_t history;            /* bit i: round i ago passed */
	unsigned nhistory;
	uint64_t rounds, failed_rounds;
	int maint_req;               /* -1, or maintenance asked on (1)/off (0) */
	uint64_t rx, tx;             /* the ports' counters, last seen ... */
	uint64_t rx_at, tx_at;       /* ... and when they last moved (ms) */
	enum hp_route applied;       /* what BIRD was last told */
	int applied_known;
	char route_error[WHY_MAX];
	time_t last_change;          /* wall clock */
	time_t hold_until_wall;
};

struct health {
	const struct cfg *cfg;
	struct svc *svc;
	struct health_route_ops ops;
	int has_ops;
	struct hsvc *s;
	unsigned n;
	pthread_t th;
	int started;
	pthread_mutex_t mu;          /* everything below and in s[] */
	pthread_cond_t cv;
	int stop;
	int dirty;                   /* save the state */
	/* heartbeat: the last sample */
	uint64_t hb_at;
	unsigned hb_n;
	unsigned hb_lcore[HEALTH_MAX_LCORES];
	uint64_t hb_loops[HEALTH_MAX_LCORES];
	int hb_ok;
	char hb_why[WHY_MAX];
	int dp_down;                 /* this round: the dataplane did not answer */
	char dp_why[WHY_MAX];
	char state_path[4096];
	/* the dataplane lease (health.h) */
	uint32_t lease_ms;           /* 0: off */
	uint64_t lease_every;        /* ms between renewals: the shortest interval */
	uint64_t lease_next;         /* ms */
	int lease_state;             /* 0 never renewed, 1 renewed, -1 failing */
	uint64_t pass_ms;            /* the thread's last pass (ms; atomic) */
	/* the BGP sessions (ops.sessions), read every REASSERT_MS */
	uint64_t bgp_at;             /* ms: last read */
	int bgp_known;               /* the last read succeeded */
	int bgp_exporting;           /* sessions Established and exporting; -1 never read */
	char bgp_error[WHY_MAX];
	unsigned nsess;
	struct health_session sess[HEALTH_MAX_SESSIONS];
};

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ms from monotonic to wall clock seconds */
static time_t wall_of(uint64_t ms)
{
	uint64_t now = mono_ms();
	time_t t = time(NULL);
	return ms > now ? t + (time_t)((ms - now + 999) / 1000) : t - (time_t)((now - ms) / 1000);
}

/* ---- the dataplane ------------------------------------------------------- */

/* One command; the reply as JSON with "ok": true, else NULL and why. A
 * dataplane that does not answer at all sets h->dp_down (the round's
 * other dataplane checks are skipped: they would only wait too). */
static json_t *dp_t(struct health *h, const char *line, unsigned timeout_ms, char *why, size_t n)
{
	char err[300] = "", *reply = NULL;
	if (h->dp_down) {
		snprintf(why, n, "dataplane: %.250s", h->dp_why);
		return NULL;
	}
	if (dpctl_command(h->cfg->dataplane_socket, line, timeout_ms, &reply, err,
	                  sizeof(err)) != 0) {
		snprintf(why, n, "dataplane: %s", err);
		h->dp_down = 1;
		snprintf(h->dp_why, sizeof(h->dp_why), "%s", err);
		return NULL;
	}
	json_error_t je;
	json_t *o = json_loads(reply, 0, &je);
	if (o == NULL || !json_is_true(json_object_get(o, "ok"))) {
		const char *e = o ? json_string_value(json_object_get(o, "error")) : NULL;
		snprintf(why, n, "dataplane %s: %.200s", line, e ? e : reply);
		json_decref(o);
		o = NULL;
	}
	free(reply);
	return o;
}

static json_t *dp(struct health *h, const char *line, char *why, size_t n)
{
	return dp_t(h, line, DP_TIMEOUT_MS, why, n);
}

/* Every worker's loop counter moved since the last sample (shared by the
 * services: sampled at most once per 20 ms). */
static int check_heartbeat(struct health *h, char *why, size_t n)
{
	uint64_t now = mono_ms();
	if (h->hb_at != 0 && now - h->hb_at < 20) {
		snprintf(why, n, "%s", h->hb_why);
		return h->hb_ok;
	}
	char err[300];
	json_t *o = dp_t(h, "lcores", HB_TIMEOUT_MS, err, sizeof(err));
	if (o == NULL) {
		/* the socket dataplane has no lcores: alive when it answers */
		if (strstr(err, "unknown command") != NULL) {
			json_t *p = dp(h, "ping", err, sizeof(err));
			h->hb_ok = p != NULL;
			snprintf(h->hb_why, sizeof(h->hb_why), "%.250s", p ? "" : err);
			json_decref(p);
		} else {
			h->hb_ok = 0;
			snprintf(h->hb_why, sizeof(h->hb_why), "%.250s", err);
		}
		h->hb_at = now;
		h->hb_n = 0;
		snprintf(why, n, "%s", h->hb_why);
		return h->hb_ok;
	}
	json_t *a = json_object_get(o, "lcores"), *e;
	size_t i;
	int ok = 1;
	char w[WHY_MAX] = "";
	unsigned nn = 0;
	unsigned lc[HEALTH_MAX_LCORES];
	uint64_t loops[HEALTH_MAX_LCORES];
	json_array_foreach(a, i, e) {
		if (nn == HEALTH_MAX_LCORES)
			break;
		lc[nn] = (unsigned)json_integer_value(json_object_get(e, "lcore"));
		loops[nn] = (uint64_t)json_integer_value(json_object_get(e, "loops"));
		for (unsigned k = 0; k < h->hb_n; k++)
			if (h->hb_lcore[k] == lc[nn] && h->hb_loops[k] == loops[nn] && ok) {
				ok = 0;
				snprintf(w, sizeof(w), "heartbeat: lcore %u stuck (loops %llu for %llu ms)",
				         lc[nn], (unsigned long long)loops[nn],
				         (unsigned long long)(now - h->hb_at));
			}
		nn++;
	}
	if (nn == 0) {
		ok = 0;
		snprintf(w, sizeof(w), "heartbeat: no worker lcores");
	}
	json_decref(o);
	memcpy(h->hb_lcore, lc, nn * sizeof(lc[0]));
	memcpy(h->hb_loops, loops, nn * sizeof(loops[0]));
	h->hb_n = nn;
	h->hb_at = now;
	h->hb_ok = ok;
	snprintf(h->hb_why, sizeof(h->hb_why), "%s", w);
	snprintf(why, n, "%s", w);
	return ok;
}

/* Frames received and sent on the ports move within the service's
 * traffic-window (BFD and BGP alone keep them moving at a PoP). */
static int check_traffic(struct health *h, struct hsvc *s, char *why, size_t n)
{
	char err[300];
	json_t *o = dp(h, "stats", err, sizeof(err));
	if (o == NULL) {
		snprintf(why, n, "%.250s", err);
		return 0;
	}
	json_t *rxj = json_object_get(o, "rx_frames"), *txj = json_object_get(o, "tx_frames");
	uint64_t now = mono_ms();
	int ok = 1;
	if (json_is_integer(rxj) && json_is_integer(txj)) {
		uint64_t rx = (uint64_t)json_integer_value(rxj), tx = (uint64_t)json_integer_value(txj);
		if (s->rx_at == 0 || rx != s->rx)
			s->rx_at = now;
		if (s->tx_at == 0 || tx != s->tx)
			s->tx_at = now;
		s->rx = rx;
		s->tx = tx;
		const uint32_t w = s->sv->traffic_window_ms;
		if (now - s->rx_at >= w) {
			snprintf(why, n, "ports: no frame received for %llu ms (traffic-window %u ms)",
			         (unsigned long long)(now - s->rx_at), w);
			ok = 0;
		} else if (now - s->tx_at >= w) {
			snprintf(why, n, "ports: no frame sent for %llu ms (traffic-window %u ms)",
			         (unsigned long long)(now - s->tx_at), w);
			ok = 0;
		}
	}
	json_decref(o);
	return ok;
}

static int check_ports(struct health *h, char *why, size_t n)
{
	char err[300];
	json_t *o = dp(h, "ports", err, sizeof(err));
	if (o == NULL) {
		if (strstr(err, "unknown command") != NULL)
			return 1;    /* the socket dataplane: no ports of its own */
		snprintf(why, n, "%.250s", err);
		return 0;
	}
	json_t *e;
	size_t i;
	int ok = 1;
	json_array_foreach(json_object_get(o, "ports"), i, e) {
		if (!json_is_true(json_object_get(e, "link"))) {
			const char *nm = json_string_value(json_object_get(e, "name"));
			const char *st = json_string_value(json_object_get(e, "status"));
			snprintf(why, n, "ports: %s link down (%s)", nm ? nm : "?", st ? st : "");
			ok = 0;
			break;
		}
	}
	json_decref(o);
	return ok;
}

static int check_zones(struct health *h, const struct cfg_service *sv, char *why, size_t n)
{
	uint32_t now = (uint32_t)time(NULL);
	for (unsigned i = 0; i < sv->n_critical; i++) {
		struct svc_facts f;
		const char *z = sv->critical[i];
		if (svc_facts(h->svc, z, &f) != 0 || !f.known) {
			snprintf(why, n, "zones: %s is not configured", z);
			return 0;
		}
		if (f.expired) {
			snprintf(why, n, "zones: %s expired", z);
			return 0;
		}
		if (!f.served) {
			snprintf(why, n, "zones: %s not served (%s)", z, svc_state_name(f.state));
			return 0;
		}
		if (f.sig_expire_min != 0 && (int32_t)(f.sig_expire_min - now) < (int64_t)sv->sig_margin) {
			snprintf(why, n, "zones: %s has an RRSIG expiring in %d s (signature-margin %u s)",
			         z, (int32_t)(f.sig_expire_min - now), sv->sig_margin);
			return 0;
		}
	}
	return 1;
}

/* The zone a probe name is in: the longest watched (critical) zone or a
 * probe's own name for SOA. */
/* The serial control serves for a probe's name (the name is a watched
 * zone), its snapshot's checksum (0: not known), and the serial being
 * published, if any. */
static int probe_serial(struct health *h, const struct cfg_probe *p, uint32_t *serial,
                        uint64_t *sum, int *has_alt, uint32_t *alt)
{
	struct svc_facts f;
	if (svc_facts(h->svc, p->name, &f) != 0 || !f.has_serial)
		return -1;
	*serial = f.serial;
	*sum = f.checksum;
	*has_alt = f.has_loading;
	*alt = f.loading_serial;
	return 0;
}

static int check_probe_one(struct health *h, const struct cfg_service *sv,
                           const struct cfg_probe *p, const struct cfg_prefix *a, char *why,
                           size_t n)
{
	char addr[INET6_ADDRSTRLEN], line[600], err[300];
	inet_ntop(a->family, a->addr, addr, sizeof(addr));
	char tname[16];
	ldns_buffer *tb = ldns_buffer_new(16);
	if (tb == NULL) {
		snprintf(why, n, "probe: out of memory");
		return 0;
	}
	ldns_rr_type2buffer_str(tb, (ldns_rr_type)p->type);
	snprintf(tname, sizeof(tname), "%.*s", (int)ldns_buffer_position(tb),
	         (const char *)ldns_buffer_begin(tb));
	ldns_buffer_free(tb);
	snprintf(line, sizeof(line), "probe %s %s %s timeout=%u", addr, p->name, tname,
	         sv->probe_timeout_ms);
	json_t *o = dp_t(h, line, sv->probe_timeout_ms + DP_TIMEOUT_MS, err, sizeof(err));
	if (o == NULL) {
		snprintf(why, n, "probe %s %.60s %s: %.150s", addr, p->name, tname, err);
		return 0;
	}
	uint32_t want_serial = 0, alt_serial = 0;
	uint64_t want_sum = 0;
	int has_alt = 0;
	int check_serial = p->expect == NULL && p->type == LDNS_RR_TYPE_SOA &&
	                   probe_serial(h, p, &want_serial, &want_sum, &has_alt, &alt_serial) == 0;
	/* the identity of the version each worker answers from: the checksum
	 * of the snapshot control published (not while a version is being
	 * published: the dataplane may serve either) */
	char want_hex[24];
	snprintf(want_hex, sizeof(want_hex), "%016llx", (unsigned long long)want_sum);
	int check_sum = check_serial && want_sum != 0 && !has_alt;
	json_t *res = json_object_get(o, "lcores"), *e;
	size_t i;
	int ok = json_array_size(res) > 0;
	if (!ok)
		snprintf(why, n, "probe %s %s %s: no worker answered", addr, p->name, tname);
	json_array_foreach(res, i, e) {
		if (!ok)
			break;
		unsigned lcore = (unsigned)json_integer_value(json_object_get(e, "lcore"));
		const char *st = json_string_value(json_object_get(e, "status"));
		json_t *rc = json_object_get(e, "rcode");
		int rcode = json_is_integer(rc) ? (int)json_integer_value(rc) : -1;
		if (json_is_string(rc)) {
			ldns_lookup_table *lt = ldns_lookup_by_name(ldns_rcodes, json_string_value(rc));
			rcode = lt ? lt->id : -1;
		}
		if (st == NULL || strcmp(st, "ok") != 0) {
			snprintf(why, n, "probe %s %s %s: lcore %u %s", addr, p->name, tname, lcore,
			         st ? st : "no status");
			ok = 0;
		} else if (rcode != p->rcode) {
			ldns_lookup_table *got = ldns_lookup_by_id(ldns_rcodes, rcode);
			ldns_lookup_table *exp = ldns_lookup_by_id(ldns_rcodes, p->rcode);
			snprintf(why, n, "probe %s %s %s: lcore %u answered %s, expected %s", addr,
			         p->name, tname, lcore, got ? got->name : "?", exp ? exp->name : "?");
			ok = 0;
		} else if (check_serial) {
			json_t *s = json_object_get(e, "serial");
			uint32_t got = json_is_integer(s) ? (uint32_t)json_integer_value(s) : 0;
			if (!json_is_integer(s) || (got != want_serial && !(has_alt && got == alt_serial))) {
				snprintf(why, n, "probe %s %s SOA: lcore %u answered serial %lld, control "
				         "serves %u", addr, p->name, lcore,
				         json_is_integer(s) ? (long long)json_integer_value(s) : -1LL,
				         want_serial);
				ok = 0;
			} else if (check_sum) {
				const char *sum = json_string_value(json_object_get(e, "zone_checksum"));
				if (sum == NULL || strcmp(sum, want_hex) != 0) {
					snprintf(why, n, "probe %s %s SOA: lcore %u serves serial %u with "
					         "content %s, control published %s", addr, p->name, lcore,
					         got, sum ? sum : "(not reported)", want_hex);
					ok = 0;
				}
			}
		} else if (p->expect != NULL) {
			const char *rd = json_string_value(json_object_get(e, "rdata"));
			size_t rl = rd != NULL ? strlen(rd) : 0;
			/* a TXT comes quoted; the expected text may be written bare */
			int bare = rl >= 2 && rd[0] == '"' && rd[rl - 1] == '"' && p->expect[0] != '"';
			if (rd == NULL || (bare ? strlen(p->expect) != rl - 2 ||
			                          strncmp(rd + 1, p->expect, rl - 2) != 0
			                        : strcmp(rd, p->expect) != 0)) {
				snprintf(why, n, "probe %s %s %s: lcore %u answered '%.60s', expected "
				         "'%.60s'", addr, p->name, tname, lcore, rd ? rd : "", p->expect);
				ok = 0;
			}
		}
	}
	json_decref(o);
	return ok;
}

static int check_probes(struct health *h, const struct cfg_service *sv, char *why, size_t n)
{
	for (unsigned i = 0; i < sv->n_probes; i++)
		for (unsigned k = 0; k < sv->n_addrs; k++)
			if (!check_probe_one(h, sv, &sv->probes[i], &sv->addrs[k], why, n))
				return 0;
	return 1;
}

/* ---- TCP ------------------------------------------------------------------ */

static int wait_io(int fd, short ev, uint64_t deadline)
{
	for (;;) {
		uint64_t now = mono_ms();
		if (now >= deadline)
			return -1;
		struct pollfd p = { .fd = fd, .events = ev };
		int r = poll(&p, 1, (int)(deadline - now));
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

static int tcp_query(const struct cfg_prefix *a, uint16_t port, const char *qname,
                     unsigned timeout_ms, char *why, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char addr[INET6_ADDRSTRLEN];
	inet_ntop(a->family, a->addr, addr, sizeof(addr));
	memset(&ss, 0, sizeof(ss));
	if (a->family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, a->addr, 4);
		sl = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, a->addr, 16);
		sl = sizeof(*s6);
	}
	ldns_rdf *d = ldns_dname_new_frm_str(qname);
	if (d == NULL || ldns_rdf_size(d) > 255) {
		ldns_rdf_deep_free(d);
		snprintf(why, n, "tcp: bad name %s", qname);
		return 0;
	}
	uint8_t q[2 + 12 + 255 + 4];
	uint16_t id = (uint16_t)(rand() & 0xffff);
	size_t ql = 12 + ldns_rdf_size(d) + 4;
	q[0] = (uint8_t)(ql >> 8);
	q[1] = (uint8_t)ql;
	memset(q + 2, 0, 12);
	q[2] = (uint8_t)(id >> 8);
	q[3] = (uint8_t)id;
	q[7] = 1;   /* QDCOUNT */
	memcpy(q + 14, ldns_rdf_data(d), ldns_rdf_size(d));
	uint8_t *t = q + 14 + ldns_rdf_size(d);
	t[0] = 0;
	t[1] = LDNS_RR_TYPE_SOA;
	t[2] = 0;
	t[3] = 1;
	ldns_rdf_deep_free(d);
	uint64_t deadline = mono_ms() + timeout_ms;
	int ok = 0;
	int fd = socket(a->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(why, n, "tcp %s: socket: %s", addr, strerror(errno));
		return 0;
	}
	if (connect(fd, (struct sockaddr *)&ss, sl) != 0 && errno != EINPROGRESS) {
		snprintf(why, n, "tcp %s: connect: %s", addr, strerror(errno));
		goto out;
	}
	int soerr = 0;
	socklen_t el = sizeof(soerr);
	if (wait_io(fd, POLLOUT, deadline) != 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &el) != 0 || soerr != 0) {
		snprintf(why, n, "tcp %s: connect: %s", addr, soerr ? strerror(soerr) : "timed out");
		goto out;
	}
	if (send(fd, q, 2 + ql, MSG_NOSIGNAL) != (ssize_t)(2 + ql)) {
		snprintf(why, n, "tcp %s: send failed", addr);
		goto out;
	}
	uint8_t r[14];
	size_t got = 0;
	while (got < sizeof(r)) {
		if (wait_io(fd, POLLIN, deadline) != 0) {
			snprintf(why, n, "tcp %s: no answer in %u ms", addr, timeout_ms);
			goto out;
		}
		ssize_t k = recv(fd, r + got, sizeof(r) - got, 0);
		if (k <= 0) {
			if (k < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			snprintf(why, n, "tcp %s: connection closed before the answer", addr);
			goto out;
		}
		got += (size_t)k;
	}
	if (r[2] != (uint8_t)(id >> 8) || r[3] != (uint8_t)id || !(r[4] & 0x80)) {
		snprintf(why, n, "tcp %s: not an answer to the query", addr);
		goto out;
	}
	ok = 1;
out:
	close(fd);
	return ok;
}

/* TCP as a client gets it: a SYN from a client's address put into the
 * kernel through the dataplane's exception path ("kprobe"), whose SYN-ACK
 * must come back out through the port (the kernel accepts it and has a
 * route back): 1 passed, 0 failed (why), -1 the dataplane has no kernel
 * probes (socket mode, or no exception thread's queue). */
static int tcp_kprobe(struct health *h, const struct cfg_prefix *a, uint16_t port,
                      unsigned timeout_ms, int icmp, char *why, size_t n)
{
	char addr[INET6_ADDRSTRLEN], line[160], err[300] = "";
	inet_ntop(a->family, a->addr, addr, sizeof(addr));
	if (icmp)
		snprintf(line, sizeof(line), "kprobe %s icmp timeout=%u", addr, timeout_ms);
	else
		snprintf(line, sizeof(line), "kprobe %s tcp dport=%u timeout=%u", addr, port,
		         timeout_ms);
	json_t *o = dp_t(h, line, timeout_ms + DP_TIMEOUT_MS, err, sizeof(err));
	if (o == NULL) {
		if (!h->dp_down && (strstr(err, "unknown command") != NULL ||
		                    strstr(err, "kernel probes need") != NULL))
			return -1;
		snprintf(why, n, "tcp %s: %.200s", addr, err);
		return 0;
	}
	const char *st = json_string_value(json_object_get(o, "status"));
	int ok = st != NULL && strcmp(st, "ok") == 0;
	if (!ok && icmp)
		snprintf(why, n, "tcp %s: ping %s through the dataplane's port (no echo reply "
		         "from the kernel to a client within %u ms)", addr, st ? st : "no status",
		         timeout_ms);
	else if (!ok)
		snprintf(why, n, "tcp %s port %u: %s through the dataplane's port (no SYN-ACK "
		         "from the kernel to a client within %u ms: no route back?)", addr, port,
		         st ? st : "no status", timeout_ms);
	json_decref(o);
	return ok;
}

static int check_tcp(struct health *h, const struct cfg_service *sv, char *why, size_t n)
{
	const char *qname = sv->n_probes ? sv->probes[0].name
	                    : sv->n_critical ? sv->critical[0] : ".";
	int done4 = 0, done6 = 0;
	for (unsigned i = 0; i < sv->n_addrs; i++) {
		const struct cfg_prefix *a = &sv->addrs[i];
		int *done = a->family == AF_INET ? &done4 : &done6;
		if (*done)
			continue;
		*done = 1;
		unsigned t = sv->probe_timeout_ms * 5;
		t = t < 200 ? 200 : t > 1000 ? 1000 : t;
		/* the kernel answers a SYN or an echo request in well under a
		 * millisecond (an ARP or ND for the next hop at worst): twice
		 * the probe timeout, 100 ms to 1 s */
		unsigned tk = sv->probe_timeout_ms * 2;
		tk = tk < 100 ? 100 : tk > 1000 ? 1000 : tk;
		int r = tcp_kprobe(h, a, (uint16_t)sv->port, tk, 0, why, n);
		if (r == 0)
			return 0;
		/* what else the kernel answers clients: ICMP echo */
		if (r > 0 && tcp_kprobe(h, a, 0, tk, 1, why, n) == 0)
			return 0;
		/* and the kernel's DNS server answers (locally: the path is
		 * the kprobe's) */
		if (!tcp_query(a, (uint16_t)sv->port, qname, t, why, n))
			return 0;
	}
	return 1;
}

/* ---- operator checks ----------------------------------------------------- */

static void opcheck_poll(struct hsvc *s, uint64_t now)
{
	for (unsigned i = 0; i < s->sv->n_checks; i++) {
		struct opcheck *o = &s->ops[i];
		const struct cfg_check *c = &s->sv->checks[i];
		if (o->pid > 0) {
			int st;
			pid_t r = waitpid(o->pid, &st, WNOHANG);
			if (r == o->pid) {
				o->pid = 0;
				o->ran = 1;
				o->ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
				if (o->ok)
					o->why[0] = '\0';
				else if (WIFEXITED(st))
					snprintf(o->why, sizeof(o->why), "check '%.80s' exited %d", c->command,
					         WEXITSTATUS(st));
				else
					snprintf(o->why, sizeof(o->why), "check '%.80s' killed by signal %d",
					         c->command, WTERMSIG(st));
			} else if (now - o->started >= c->timeout_ms) {
				kill(-o->pid, SIGKILL);
				kill(o->pid, SIGKILL);
				waitpid(o->pid, &st, 0);
				o->pid = 0;
				o->ran = 1;
				o->ok = 0;
				snprintf(o->why, sizeof(o->why), "check '%.80s' timed out after %u ms",
				         c->command, c->timeout_ms);
			}
		}
		if (o->pid == 0 && now >= o->next) {
			o->next = now + c->interval_ms;
			pid_t pid = fork();
			if (pid == 0) {
				/* its own process group (a timeout kills what it
				 * started too), none of our descriptors, SIGPIPE as
				 * a command expects it */
				setpgid(0, 0);
				signal(SIGPIPE, SIG_DFL);
				int fd = open("/dev/null", O_RDWR);
				if (fd >= 0) {
					dup2(fd, 0);
					dup2(fd, 1);
					dup2(fd, 2);
				}
				closefrom(3);
				execl("/bin/sh", "sh", "-c", c->command, (char *)NULL);
				_exit(127);
			}
			if (pid < 0) {
				o->ran = 1;
				o->ok = 0;
				snprintf(o->why, sizeof(o->why), "check '%.80s': fork: %s", c->command,
				         strerror(errno));
			} else {
				setpgid(pid, pid);   /* whichever runs first */
				o->pid = pid;
				o->started = now;
			}
		}
	}
}

/* 1 all passed, 0 one failed, -1 one has no result yet (a restarted
 * control does not count a check that has not run as a failure). */
static int check_operator(const struct hsvc *s, char *why, size_t n)
{
	int pending = 0;
	for (unsigned i = 0; i < s->sv->n_checks; i++) {
		const struct opcheck *o = &s->ops[i];
		if (!o->ran) {
			pending = 1;
			continue;
		}
		if (!o->ok) {
			snprintf(why, n, "%s", o->why);
			return 0;
		}
	}
	return pending ? -1 : 1;
}

/* ---- state on disk ------------------------------------------------------- */

static void save_state(struct health *h)
{
	json_t *o = json_object();
	for (unsigned i = 0; i < h->n; i++) {
		const struct hsvc *s = &h->s[i];
		json_object_set_new(o, s->sv->id, json_pack("{s:b,s:i,s:I}", "maintenance",
		                                             s->m.maintenance, "flaps", s->m.flaps,
		                                             "hold_until",
		                                             (json_int_t)(s->m.hold_until
		                                                          ? wall_of(s->m.hold_until) : 0)));
	}
	char tmp[sizeof(h->state_path) + 8];
	snprintf(tmp, sizeof(tmp), "%s.tmp", h->state_path);
	if (json_dump_file(o, tmp, JSON_COMPACT) != 0 || rename(tmp, h->state_path) != 0)
		ctllog(LOG_ERR, NULL, "health state not saved to %s: %s", h->state_path,
		       strerror(errno));
	json_decref(o);
}

static void load_state(struct health *h)
{
	json_error_t je;
	json_t *o = json_load_file(h->state_path, 0, &je);
	if (o == NULL)
		return;
	time_t now = time(NULL);
	uint64_t mnow = mono_ms();
	for (unsigned i = 0; i < h->n; i++) {
		struct hsvc *s = &h->s[i];
		json_t *e = json_object_get(o, s->sv->id);
		if (!json_is_object(e))
			continue;
		s->m.maintenance = json_is_true(json_object_get(e, "maintenance"));
		s->m.flaps = (unsigned)json_integer_value(json_object_get(e, "flaps"));
		time_t hu = (time_t)json_integer_value(json_object_get(e, "hold_until"));
		if (hu > now)
			s->m.hold_until = mnow + (uint64_t)(hu - now) * 1000u;
	}
	json_decref(o);
}

/* ---- the rounds ---------------------------------------------------------- */

/* Called with h->mu held (health thread only); released during BIRD's
 * I/O so that status requests do not wait for it. */
static void apply_route(struct health *h, struct hsvc *s, const char *what)
{
	char err[300] = "";
	if (!h->has_ops) {
		s->applied = s->m.route;
		s->applied_known = 1;
		return;
	}
	enum hp_route want = s->m.route;
	pthread_mutex_unlock(&h->mu);
	int rc = h->ops.apply(h->ops.arg, s->sv, want, err, sizeof(err));
	pthread_mutex_lock(&h->mu);
	if (rc != 0) {
		snprintf(s->route_error, sizeof(s->route_error), "%s", err);
		ctllog(LOG_ERR, NULL, "service %s: %s %s through BIRD failed: %s", s->sv->id, what,
		       hp_route_name(s->m.route), err);
		s->applied_known = 0;
		return;
	}
	s->route_error[0] = '\0';
	s->applied = want;
	s->applied_known = 1;
}

static void changed(struct health *h, struct hsvc *s)
{
	s->last_change = time(NULL);
	ctllog(s->m.route == HP_ANNOUNCED ? LOG_NOTICE : LOG_WARNING, NULL,
	       "service %s: %s: %s%s", s->sv->id, hp_route_name(s->m.route), s->m.reason,
	       s->m.route == HP_WITHDRAWN && s->m.hold_until > mono_ms() ? " (held down)" : "");
	apply_route(h, s, "setting");
	h->dirty = 1;
}

/* BIRD is read back: a restart or `configure` puts it back to its
 * fail-closed config; put the wanted state back. */
static void reassert(struct health *h, struct hsvc *s, uint64_t now)
{
	if (!h->has_ops || now - s->last_query < REASSERT_MS)
		return;
	s->last_query = now;
	enum hp_route have;
	char err[300] = "";
	pthread_mutex_unlock(&h->mu);
	int rc = h->ops.query(h->ops.arg, s->sv, &have, err, sizeof(err));
	pthread_mutex_lock(&h->mu);
	if (rc == ED_EBUSY) {
		ctllog(LOG_WARNING, NULL, "service %s: %s: set again", s->sv->id, err);
		apply_route(h, s, "re-asserting");
		return;
	}
	if (rc != 0) {
		if (strcmp(err, s->route_error) != 0)
			ctllog(LOG_WARNING, NULL, "service %s: BIRD state not readable: %s", s->sv->id,
			       err);
		snprintf(s->route_error, sizeof(s->route_error), "%s", err);
		s->applied_known = 0;
		return;
	}
	if (have != s->m.route) {
		ctllog(LOG_WARNING, NULL, "service %s: BIRD has it %s, wanted %s (BIRD restarted or "
		       "reconfigured?): set again", s->sv->id, hp_route_name(have),
		       hp_route_name(s->m.route));
		apply_route(h, s, "re-asserting");
	} else if (s->route_error[0]) {
		s->route_error[0] = '\0';
		s->applied = have;
		s->applied_known = 1;
	}
}

static int sess_exporting(const struct health_session *v)
{
	return strcmp(v->state, "Established") == 0 && v->exported > 0;
}

/* Read the BGP sessions back (at most once per REASSERT_MS); log a session
 * leaving or reaching Established, and the last exporting one going while
 * a service is announced. With h->mu held (released around BIRD). */
static void bgp_poll(struct health *h, uint64_t now)
{
	if (!h->has_ops || h->ops.sessions == NULL || now - h->bgp_at < REASSERT_MS)
		return;
	h->bgp_at = now;
	struct health_session v[HEALTH_MAX_SESSIONS];
	unsigned n = 0;
	char err[WHY_MAX] = "";
	pthread_mutex_unlock(&h->mu);
	int rc = h->ops.sessions(h->ops.arg, v, HEALTH_MAX_SESSIONS, &n, err, sizeof(err));
	pthread_mutex_lock(&h->mu);
	if (rc != 0) {
		if (strcmp(err, h->bgp_error) != 0)
			ctllog(LOG_WARNING, NULL, "BGP sessions not readable from BIRD: %s", err);
		snprintf(h->bgp_error, sizeof(h->bgp_error), "%s", err[0] ? err : "BIRD error");
		h->bgp_known = 0;
		return;
	}
	h->bgp_error[0] = '\0';
	int ex = 0;
	for (unsigned i = 0; i < n; i++) {
		ex += sess_exporting(&v[i]);
		const struct health_session *old = NULL;
		for (unsigned k = 0; k < h->nsess; k++)
			if (strcmp(h->sess[k].name, v[i].name) == 0)
				old = &h->sess[k];
		int was = old != NULL && strcmp(old->state, "Established") == 0;
		int is = strcmp(v[i].state, "Established") == 0;
		if (was && !is)
			ctllog(LOG_WARNING, NULL, "BGP %s (%s): %s%s%s", v[i].name, v[i].neighbor,
			       v[i].state, v[i].last_error[0] ? ", last error: " : "", v[i].last_error);
		else if (!was && is && (old != NULL || h->bgp_exporting >= 0))
			ctllog(LOG_NOTICE, NULL, "BGP %s (%s): Established", v[i].name, v[i].neighbor);
	}
	int announced = 0;
	for (unsigned i = 0; i < h->n; i++)
		announced |= h->s[i].m.route == HP_ANNOUNCED || h->s[i].m.route == HP_DRAINING;
	if (announced && ex == 0 && (h->bgp_exporting > 0 || h->bgp_exporting < 0))
		ctllog(LOG_WARNING, NULL, "BGP: %s: no router has the anycast routes (%u "
		       "session(s), none Established with routes exported)",
		       h->bgp_exporting > 0 ? "the last session exporting the anycast routes went"
		       : "no session exports the anycast routes", n);
	else if (ex > 0 && h->bgp_exporting == 0)
		ctllog(LOG_NOTICE, NULL, "BGP: the anycast routes exported again, on %d session(s)", ex);
	memcpy(h->sess, v, n * sizeof(v[0]));
	h->nsess = n;
	h->bgp_exporting = ex;
	h->bgp_known = 1;
}

static void round_of(struct health *h, struct hsvc *s, uint64_t now)
{
	const struct cfg_service *sv = s->sv;
	char why[WHY_MAX];
	int ok = 1;
	const char *first = NULL;
	h->dp_down = 0;
	for (int k = 0; k < CK_N; k++) {
		why[0] = '\0';
		int r;
		switch (k) {
		case CK_HEARTBEAT: r = check_heartbeat(h, why, sizeof(why)); break;
		case CK_PROBE: r = sv->n_probes ? check_probes(h, sv, why, sizeof(why)) : -1; break;
		case CK_PORTS:
			r = check_ports(h, why, sizeof(why));
			if (r > 0 && sv->traffic_window_ms)
				r = check_traffic(h, s, why, sizeof(why));
			break;
		case CK_ZONES: r = sv->n_critical ? check_zones(h, sv, why, sizeof(why)) : -1; break;
		case CK_TCP:
			/* the kernel's TCP server is the dataplane process's:
			 * not asked when the dataplane does not answer (the round
			 * has failed; its timeout would only delay the next) */
			if (sv->tcp_check && h->dp_down) {
				snprintf(why, sizeof(why), "tcp: not asked (the dataplane does not answer)");
				r = 0;
			} else {
				r = sv->tcp_check ? check_tcp(h, sv, why, sizeof(why)) : -1;
			}
			break;
		default: r = sv->n_checks ? check_operator(s, why, sizeof(why)) : -1; break;
		}
		pthread_mutex_lock(&h->mu);
		s->ck[k].ran = r >= 0;
		s->ck[k].ok = r > 0;
		snprintf(s->ck[k].why, sizeof(s->ck[k].why), "%s", r == 0 ? why : "");
		pthread_mutex_unlock(&h->mu);
		if (r == 0 && ok) {
			ok = 0;
			first = s->ck[k].why;
		}
	}
	pthread_mutex_lock(&h->mu);
	s->rounds++;
	s->failed_rounds += !ok;
	s->history = s->history << 1 | (ok ? 1u : 0u);
	if (s->nhistory < HISTORY)
		s->nhistory++;
	/* the verdict's time is the round's end: a withdraw happens now, and
	 * the hold-down counts from it (from the round's start, a 2 s hold
	 * became 1 s after a round that took 1 s) */
	(void)now;
	if (hp_round(&s->m, &s->hc, ok, first, mono_ms()))
		changed(h, s);
	pthread_mutex_unlock(&h->mu);
}

/* One "lease MS" to the dataplane: 0, or -1 with why. Without h->mu. */
static int lease_send(struct health *h, uint32_t ms, char *why, size_t n)
{
	char line[32], err[300] = "", *reply = NULL;
	snprintf(line, sizeof(line), "lease %u", ms);
	/* as cheap for the dataplane as "lcores" */
	if (dpctl_command(h->cfg->dataplane_socket, line, HB_TIMEOUT_MS, &reply, err,
	                  sizeof(err)) != 0) {
		snprintf(why, n, "%s", err);
		return -1;
	}
	json_error_t je;
	json_t *o = json_loads(reply, 0, &je);
	int ok = o != NULL && json_is_true(json_object_get(o, "ok"));
	if (!ok) {
		const char *e = o ? json_string_value(json_object_get(o, "error")) : NULL;
		snprintf(why, n, "%.250s", e ? e : reply);
	}
	json_decref(o);
	free(reply);
	return ok ? 0 : -1;
}

/* Renew the dataplane lease when due (every round of the shortest
 * interval). Not while the last round found the dataplane not answering:
 * the renewal would only wait for its timeout too and delay the next
 * round (the lease outlasts many rounds; the round that finds the
 * dataplane back renews it). Called with h->mu held; released for the
 * I/O. */
static void lease_renew(struct health *h, uint64_t now)
{
	if (h->lease_ms == 0 || now < h->lease_next || h->dp_down)
		return;
	h->lease_next = now + h->lease_every;
	char why[WHY_MAX];
	pthread_mutex_unlock(&h->mu);
	int rc = lease_send(h, h->lease_ms, why, sizeof(why));
	pthread_mutex_lock(&h->mu);
	if (rc != 0 && h->lease_state >= 0) {
		ctllog(LOG_WARNING, NULL, "dataplane lease not renewed: %s (when it runs out the "
		       "dataplane drops BGP and BFD)", why);
		h->lease_state = -1;
	} else if (rc == 0 && h->lease_state <= 0) {
		ctllog(LOG_NOTICE, NULL, "dataplane lease %s: %u ms, renewed every %llu ms",
		       h->lease_state ? "renewed again" : "armed", h->lease_ms,
		       (unsigned long long)h->lease_every);
		h->lease_state = 1;
	}
}

static void *health_main(void *arg)
{
	struct health *h = arg;
	pthread_mutex_lock(&h->mu);
	while (!h->stop) {
		uint64_t now = mono_ms(), next = now + 1000;
		lease_renew(h, now);
		if (h->lease_ms && h->lease_next < next)
			next = h->lease_next;
		for (unsigned i = 0; i < h->n; i++) {
			struct hsvc *s = &h->s[i];
			if (s->sv->n_checks)
				opcheck_poll(s, now);
			if (s->maint_req >= 0) {
				int on = s->maint_req;
				s->maint_req = -1;
				if (hp_maintenance(&s->m, &s->hc, on, now))
					changed(h, s);
				h->dirty = 1;
			}
			if (now >= s->next_round) {
				s->next_round = now + s->sv->interval_ms;
				pthread_mutex_unlock(&h->mu);
				round_of(h, s, now);
				pthread_mutex_lock(&h->mu);
				now = mono_ms();
			}
			if (hp_tick(&s->m, &s->hc, now))
				changed(h, s);
			reassert(h, s, now);
			if (s->next_round < next)
				next = s->next_round;
			if (s->m.route == HP_DRAINING && s->m.drain_until < next)
				next = s->m.drain_until;
			if (s->sv->n_checks && next > now + 10)
				next = now + 10;   /* operator checks are polled */
		}
		bgp_poll(h, mono_ms());
		if (h->dirty) {
			h->dirty = 0;
			save_state(h);
		}
		now = mono_ms();
		__atomic_store_n(&h->pass_ms, now, __ATOMIC_RELAXED);
		if (next > now && !h->stop) {
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			uint64_t ns = (uint64_t)ts.tv_nsec + (next - now) * 1000000u;
			ts.tv_sec += (time_t)(ns / 1000000000u);
			ts.tv_nsec = (long)(ns % 1000000000u);
			pthread_cond_timedwait(&h->cv, &h->mu, &ts);
		}
	}
	for (unsigned i = 0; i < h->n; i++)
		for (unsigned k = 0; k < h->s[i].sv->n_checks; k++)
			if (h->s[i].ops[k].pid > 0) {
				kill(-h->s[i].ops[k].pid, SIGKILL);
				kill(h->s[i].ops[k].pid, SIGKILL);
				waitpid(h->s[i].ops[k].pid, NULL, 0);
			}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

/* ---- the API ------------------------------------------------------------- */

struct health *health_new(const struct cfg *cfg, struct svc *svc,
                          const struct health_route_ops *ops, char *err, size_t errlen)
{
	struct health *h = calloc(1, sizeof(*h));
	if (h == NULL) {
		ed_seterr(err, errlen, "out of memory");
		return NULL;
	}
	h->cfg = cfg;
	h->svc = svc;
	if (ops != NULL) {
		h->ops = *ops;
		h->has_ops = 1;
	}
	h->n = cfg->n_services;
	snprintf(h->state_path, sizeof(h->state_path), "%s/health.json", cfg->state_dir);
	uint32_t every = 0;
	for (unsigned i = 0; i < h->n; i++)
		if (every == 0 || cfg->services[i].interval_ms < every)
			every = cfg->services[i].interval_ms;
	h->lease_every = every;
	h->bgp_exporting = -1;
	if (h->n == 0)
		h->lease_ms = 0;
	else if (cfg->dataplane_lease_ms == CFG_LEASE_AUTO)
		h->lease_ms = every * 10u > HEALTH_LEASE_MIN_MS ? every * 10u : HEALTH_LEASE_MIN_MS;
	else
		h->lease_ms = cfg->dataplane_lease_ms;
	pthread_mutex_init(&h->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (h->n && (h->s = calloc(h->n, sizeof(*h->s))) == NULL)
		goto oom;
	for (unsigned i = 0; i < h->n; i++) {
		struct hsvc *s = &h->s[i];
		const struct cfg_service *sv = &cfg->services[i];
		s->sv = sv;
		s->hc = (struct hp_conf){ .fall = sv->fall, .rise = sv->rise,
		                          .hold_ms = (uint64_t)sv->hold_down * 1000u,
		                          .hold_max_ms = (uint64_t)sv->hold_down_max * 1000u,
		                          .drain_ms = (uint64_t)sv->drain_time * 1000u };
		hp_init(&s->m);
		s->maint_req = -1;
		if (sv->n_checks && (s->ops = calloc(sv->n_checks, sizeof(*s->ops))) == NULL)
			goto oom;
		for (unsigned k = 0; k < sv->n_critical; k++)
			if (svc_watch(svc, sv->critical[k]) != 0)
				goto oom;
		for (unsigned k = 0; k < sv->n_probes; k++)
			if (svc_watch(svc, sv->probes[k].name) != 0)
				goto oom;
	}
	return h;
oom:
	ed_seterr(err, errlen, "out of memory");
	health_free(h);
	return NULL;
}

int health_start(struct health *h, char *err, size_t errlen)
{
	if (h->n == 0)
		return 0;
	load_state(h);
	uint64_t now = mono_ms();
	for (unsigned i = 0; i < h->n; i++) {
		struct hsvc *s = &h->s[i];
		enum hp_route have = HP_WITHDRAWN;
		char e[300] = "";
		if (h->has_ops && h->ops.query(h->ops.arg, s->sv, &have, e, sizeof(e)) != 0) {
			ctllog(LOG_WARNING, NULL, "service %s: BIRD state not readable at start (%s): "
			       "withdrawn until BIRD answers and the checks pass", s->sv->id, e);
			have = HP_WITHDRAWN;
		}
		int maint = s->m.maintenance;
		int known = h->has_ops && e[0] == '\0';
		hp_adopt(&s->m, &s->hc, have, now);
		s->m.maintenance = maint;
		s->applied = have;
		s->applied_known = known;
		s->last_query = now;
		s->last_change = time(NULL);
		ctllog(LOG_NOTICE, NULL, "service %s: %s at start%s; checks every %u ms (fall %u, "
		       "rise %u)", s->sv->id, hp_route_name(have), maint ? ", in maintenance" : "",
		       s->sv->interval_ms, s->sv->fall, s->sv->rise);
	}
	if (h->lease_ms != 0 && h->lease_ms < 3 * h->lease_every)
		ctllog(LOG_WARNING, NULL, "dataplane-lease %u ms is less than three rounds (%llu ms): "
		       "a slow round lets it run out", h->lease_ms,
		       (unsigned long long)h->lease_every);
	else if (h->lease_ms == 0)
		ctllog(LOG_NOTICE, NULL, "dataplane lease off (dataplane-lease: 0): routes stay "
		       "announced without control");
	__atomic_store_n(&h->pass_ms, now, __ATOMIC_RELAXED);
	int rc = pthread_create(&h->th, NULL, health_main, h);
	if (rc != 0) {
		ed_seterr(err, errlen, "health thread: %s", strerror(rc));
		return ED_EIO;
	}
	h->started = 1;
	return 0;
}

/* Stop the thread, if it runs. */
static void stop_thread(struct health *h)
{
	if (!h->started)
		return;
	pthread_mutex_lock(&h->mu);
	h->stop = 1;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
	pthread_join(h->th, NULL);
	h->started = 0;
}

static void sleep_until(uint64_t at)
{
	uint64_t now = mono_ms();
	if (at <= now)
		return;
	struct timespec ts = { .tv_sec = (time_t)((at - now) / 1000),
	                       .tv_nsec = (long)((at - now) % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

void health_stop(struct health *h, int withdraw)
{
	if (h == NULL || !h->started)
		return;
	stop_thread(h);
	if (!withdraw) {
		for (unsigned i = 0; i < h->n; i++)
			ctllog(LOG_NOTICE, NULL, "service %s: stopping, %s left in BIRD as it is%s",
			       h->s[i].sv->id, hp_route_name(h->s[i].m.route),
			       h->lease_ms ? " until the dataplane lease runs out" : "");
		save_state(h);
		return;
	}
	/* Drain what is announced (RFC 8326: the routers move the traffic
	 * away first), then withdraw every service, each at its time. */
	uint64_t now = mono_ms();
	uint64_t *at = calloc(h->n, sizeof(*at));
	int all = 1;
	for (unsigned i = 0; i < h->n && h->has_ops && at != NULL; i++) {
		struct hsvc *s = &h->s[i];
		char err[300] = "";
		at[i] = now;
		if (s->m.route == HP_WITHDRAWN || s->sv->stop_drain_time == 0)
			continue;
		if (s->m.route == HP_ANNOUNCED &&
		    h->ops.apply(h->ops.arg, s->sv, HP_DRAINING, err, sizeof(err)) != 0) {
			ctllog(LOG_ERR, NULL, "service %s: stopping: drain through BIRD failed: %s",
			       s->sv->id, err);
			continue;
		}
		ctllog(LOG_NOTICE, NULL, "service %s: stopping: draining (GRACEFUL_SHUTDOWN, "
		       "RFC 8326) for %u s before the withdraw", s->sv->id, s->sv->stop_drain_time);
		s->m.route = HP_DRAINING;
		at[i] = now + (uint64_t)s->sv->stop_drain_time * 1000u;
	}
	for (unsigned done = 0; h->has_ops && at != NULL && done < h->n; done++) {
		unsigned k = 0;
		for (unsigned i = 1; i < h->n; i++)
			if (at[i] < at[k])
				k = i;
		sleep_until(at[k]);
		at[k] = UINT64_MAX;
		struct hsvc *s = &h->s[k];
		char err[300] = "";
		if (h->ops.apply(h->ops.arg, s->sv, HP_WITHDRAWN, err, sizeof(err)) != 0) {
			ctllog(LOG_ERR, NULL, "service %s: stopping: withdraw through BIRD failed: %s",
			       s->sv->id, err);
			all = 0;
			continue;
		}
		ctllog(LOG_NOTICE, NULL, "service %s: stopping: withdrawn in BIRD%s", s->sv->id,
		       s->m.route == HP_WITHDRAWN ? " (it was)" : "");
		s->m.route = HP_WITHDRAWN;
	}
	if (h->has_ops && at == NULL) {
		ctllog(LOG_ERR, NULL, "stopping: out of memory, routes left in BIRD");
		all = 0;
	}
	free(at);
	/* nothing announced is left for the dead-man to take away; a lease
	 * left armed would only cut the BGP sessions */
	char why[WHY_MAX];
	if (h->lease_ms != 0 && all && lease_send(h, 0, why, sizeof(why)) != 0)
		ctllog(LOG_WARNING, NULL, "stopping: dataplane lease not released: %s", why);
	else if (h->lease_ms != 0 && !all)
		ctllog(LOG_WARNING, NULL, "stopping: routes left in BIRD: the dataplane lease (%u ms) "
		       "drops BGP and BFD when it runs out", h->lease_ms);
	save_state(h);
}

int health_stalled(struct health *h, uint64_t max_ms, uint64_t *age_ms)
{
	*age_ms = 0;
	if (h == NULL || !h->started)
		return 0;
	uint64_t p = __atomic_load_n(&h->pass_ms, __ATOMIC_RELAXED), now = mono_ms();
	*age_ms = now > p ? now - p : 0;
	return *age_ms > max_ms;
}

void health_free(struct health *h)
{
	if (h == NULL)
		return;
	stop_thread(h);
	for (unsigned i = 0; i < h->n && h->s; i++)
		free(h->s[i].ops);
	free(h->s);
	pthread_mutex_destroy(&h->mu);
	pthread_cond_destroy(&h->cv);
	free(h);
}

json_t *health_status(struct health *h)
{
	json_t *a = json_array();
	pthread_mutex_lock(&h->mu);
	uint64_t now = mono_ms();
	for (unsigned i = 0; i < h->n; i++) {
		const struct hsvc *s = &h->s[i];
		json_t *o = json_object();
		json_object_set_new(o, "id", json_string(s->sv->id));
		json_object_set_new(o, "route", json_string(hp_route_name(s->m.route)));
		json_object_set_new(o, "healthy", json_boolean(s->m.healthy));
		json_object_set_new(o, "maintenance", json_boolean(s->m.maintenance));
		json_object_set_new(o, "reason", json_string(s->m.reason));
		json_object_set_new(o, "last_failure", json_string(s->m.why));
		json_object_set_new(o, "last_change", json_integer((json_int_t)s->last_change));
		json_object_set_new(o, "held_down_until", s->m.route == HP_WITHDRAWN &&
		                    s->m.hold_until > now ? json_integer((json_int_t)wall_of(s->m.hold_until))
		                    : json_null());
		json_object_set_new(o, "drain_until", s->m.route == HP_DRAINING
		                    ? json_integer((json_int_t)wall_of(s->m.drain_until)) : json_null());
		json_object_set_new(o, "flaps", json_integer(s->m.flaps));
		json_object_set_new(o, "transitions", json_integer((json_int_t)s->m.transitions));
		json_object_set_new(o, "rounds", json_integer((json_int_t)s->rounds));
		json_object_set_new(o, "failed_rounds", json_integer((json_int_t)s->failed_rounds));
		char hist[HISTORY + 1];
		for (unsigned k = 0; k < s->nhistory; k++)
			hist[k] = (s->history >> (s->nhistory - 1 - k)) & 1 ? '+' : '-';
		hist[s->nhistory] = '\0';
		json_object_set_new(o, "history", json_string(hist));
		json_t *ck = json_object();
		for (int k = 0; k < CK_N; k++)
			if (s->ck[k].ran)
				json_object_set_new(ck, check_names[k], json_pack("{s:b,s:s}", "ok",
				                    s->ck[k].ok, "why", s->ck[k].why));
		json_object_set_new(o, "checks", ck);
		json_object_set_new(o, "reachable", h->has_ops && h->ops.sessions != NULL &&
		                    h->bgp_known ? json_boolean((s->m.route == HP_ANNOUNCED ||
		                    s->m.route == HP_DRAINING) && h->bgp_exporting > 0) : json_null());
		json_object_set_new(o, "bird", h->has_ops
		                    ? json_pack("{s:s?,s:s}", "applied", s->applied_known
		                                ? hp_route_name(s->applied) : NULL,
		                                "error", s->route_error)
		                    : json_null());
		json_array_append_new(a, o);
	}
	json_t *bgp = json_null();
	if (h->has_ops && h->ops.sessions != NULL) {
		json_t *ss = json_array();
		int est = 0;
		for (unsigned i = 0; i < h->nsess; i++) {
			const struct health_session *v = &h->sess[i];
			est += strcmp(v->state, "Established") == 0;
			json_array_append_new(ss, json_pack("{s:s,s:s,s:s,s:s,s:s,s:I}", "name", v->name,
			                      "neighbor", v->neighbor, "state", v->state, "since",
			                      v->since, "last_error", v->last_error, "exported",
			                      (json_int_t)v->exported));
		}
		bgp = json_pack("{s:b,s:o,s:i,s:i,s:s}", "known", h->bgp_known, "sessions", ss,
		                "established", est, "exporting",
		                h->bgp_exporting < 0 ? 0 : h->bgp_exporting, "error", h->bgp_error);
	}
	pthread_mutex_unlock(&h->mu);
	json_t *r = json_object();
	json_object_set_new(r, "services", a);
	json_object_set_new(r, "bgp", bgp);
	return r;
}

int health_maintenance(struct health *h, const char *id, int on, char *err, size_t errlen)
{
	pthread_mutex_lock(&h->mu);
	for (unsigned i = 0; i < h->n; i++) {
		struct hsvc *s = &h->s[i];
		if (strcmp(s->sv->id, id) != 0)
			continue;
		ctllog(LOG_NOTICE, NULL, "service %s: maintenance %s (operator)", id, on ? "on" : "off");
		s->maint_req = on != 0;
		pthread_cond_signal(&h->cv);
		pthread_mutex_unlock(&h->mu);
		return 0;
	}
	pthread_mutex_unlock(&h->mu);
	ed_seterr(err, errlen, "no such service: %s", id);
	return ED_ENOENT;
}
