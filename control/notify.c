/* notify.c: NOTIFY on UDP: check, answer, refresh. */
#include "notify.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <ldns/ldns.h>

#include "ctllog.h"
#include "error.h"
#include "tsig.h"

#define NOTIFY_MAX_MSG 4096
#define NOTIFY_BATCH 32          /* messages read per wake-up, at most */
#define OPCODE_NOTIFY 4
#define RC_FORMERR 1
#define RC_NOTIMP 4
#define RC_REFUSED 5
#define RC_NOTAUTH 9

struct notify_sock {
	int fd;
	struct event *ev;
	struct notify *n;
	struct evconnlistener *tcp;  /* NOTIFY over TCP (Knot sends it so) */
};

/* One TCP connection: one or more length-prefixed messages. */
struct notify_tcp {
	struct notify *n;
	struct sockaddr_storage peer;
};

struct notify {
	struct svc *svc;
	struct notify_sock *socks;
	unsigned nsocks;
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* End of the question (one name without compression, type, class), 0
 * when malformed. */
static size_t question_end(const uint8_t *m, size_t len)
{
	size_t p = 12;
	for (unsigned hops = 0; hops < 128; hops++) {
		if (p >= len)
			return 0;
		uint8_t l = m[p];
		if (l == 0)
			return len - (p + 1) >= 4 ? p + 5 : 0;
		if (l > 63)
			return 0;
		p += 1u + l;
	}
	return 0;
}

static int prefix_match(const struct cfg_prefix *pf, const struct sockaddr *sa)
{
	const uint8_t *a;
	if (sa->sa_family == AF_INET && pf->family == AF_INET)
		a = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6 && pf->family == AF_INET6)
		a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
	else
		return 0;
	unsigned bits = pf->prefix_len, i = 0;
	for (; bits >= 8; bits -= 8, i++)
		if (a[i] != pf->addr[i])
			return 0;
	if (bits == 0)
		return 1;
	uint8_t mask = (uint8_t)(0xff << (8 - bits));
	return (a[i] & mask) == (pf->addr[i] & mask);
}

/* 1: allowed; *signed_with: the key that verified (reply is signed). */
static int acl_allows(const struct cfg_zone *cz, const struct sockaddr *src, const uint8_t *msg,
                      size_t len, uint64_t now, struct tsig_key *kout, struct tsig_chain *cout,
                      int *signed_ok, char *why, size_t whylen)
{
	ed_seterr(why, whylen, "source not in the notify ACL");
	for (unsigned i = 0; i < cz->n_notify_acl; i++) {
		const struct cfg_acl *acl = cz->notify_acl[i];
		int in = 0;
		for (unsigned e = 0; e < acl->n_entries && !in; e++)
			in = prefix_match(&acl->entries[e], src);
		if (!in)
			continue;
		if (acl->key == NULL) {
			*signed_ok = 0;
			return 1;
		}
		struct tsig_key k;
		struct tsig_chain c;
		memset(&c, 0, sizeof(c));
		if (tsig_key_init(&k, acl->key->tsig_name, acl->key->alg_name, acl->key->secret,
		                  acl->key->secret_len) != 0)
			continue;
		enum tsig_status ts = tsig_verify(&k, &c, msg, len, now, NULL);
		if (ts == TSIG_OK) {
			*kout = k;
			*cout = c;
			*signed_ok = 1;
			return 1;
		}
		ed_seterr(why, whylen, "TSIG %s: status %d", acl->key->tsig_name, (int)ts);
	}
	return 0;
}

static size_t reply(const uint8_t *msg, size_t qend, int rcode, int aa, uint8_t *out,
                    size_t cap)
{
	if (qend > cap || qend < 12)
		return 0;
	memcpy(out, msg, qend);
	out[2] = (uint8_t)(0x80 | (msg[2] & 0x78) | (aa ? 0x04 : 0) | (msg[2] & 0x01));
	out[3] = (uint8_t)(rcode & 0x0f);
	out[4] = 0;
	out[5] = qend > 12 ? 1 : 0;
	memset(out + 6, 0, 6);
	return qend;
}

size_t notify_handle(struct notify *n, const uint8_t *msg, size_t len,
                     const struct sockaddr *src, uint64_t now, uint8_t *out, size_t cap,
                     const struct cfg_zone **zone_out)
{
	if (zone_out)
		*zone_out = NULL;
	if (len < 12 || (msg[2] & 0x80))
		return 0;   /* short, or a response: never answer */
	unsigned opcode = (msg[2] >> 3) & 0x0f;
	size_t qend = get16(msg + 4) == 1 ? question_end(msg, len) : 0;
	if (qend == 0)
		return reply(msg, 12, RC_FORMERR, 0, out, cap);
	if (opcode != OPCODE_NOTIFY)
		return reply(msg, qend, RC_NOTIMP, 0, out, cap);
	ldns_rdf *qn = ldns_dname_new_frm_data((uint16_t)(qend - 4 - 12), msg + 12);
	char *qs = qn ? ldns_rdf2str(qn) : NULL;
	ldns_rdf_deep_free(qn);
	const struct cfg_zone *cz = qs ? svc_zone_find(n->svc, qs) : NULL;
	if (cz == NULL || get16(msg + qend - 2) != 1 /* IN */) {
		free(qs);
		return reply(msg, qend, RC_NOTAUTH, 0, out, cap);
	}
	free(qs);
	struct tsig_key k;
	struct tsig_chain c;
	int signed_ok = 0;
	char why[160];
	if (!acl_allows(cz, src, msg, len, now, &k, &c, &signed_ok, why, sizeof(why))) {
		ctllog(LOG_WARNING, cz->name, "NOTIFY refused: %s", why);
		return reply(msg, qend, RC_REFUSED, 0, out, cap);
	}
	if (!svc_notify_allow(n->svc, cz, now))
		return 0;
	size_t l = reply(msg, qend, 0, 1, out, cap);
	if (l != 0 && signed_ok && tsig_sign(&k, &c, out, &l, cap, now) != 0)
		l = 0;
	if (zone_out)
		*zone_out = cz;
	return l;
}

static void on_read(evutil_socket_t fd, short ev, void *arg)
{
	struct notify_sock *ns = arg;
	uint8_t buf[NOTIFY_MAX_MSG], out[NOTIFY_MAX_MSG + TSIG_RR_MAX];
	for (unsigned i = 0; i < NOTIFY_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		ssize_t len = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&ss, &sl);
		if (len < 0)
			return;
		const struct cfg_zone *cz = NULL;
		size_t rl = notify_handle(ns->n, buf, (size_t)len, (struct sockaddr *)&ss,
		                          (uint64_t)time(NULL), out, sizeof(out), &cz);
		if (rl)
			(void)sendto(fd, out, rl, MSG_DONTWAIT, (struct sockaddr *)&ss, sl);
		if (cz != NULL) {
			ctllog(LOG_INFO, cz->name, "NOTIFY received: refresh now");
			svc_refresh_zone(ns->n->svc, cz);
		}
	}
}

static void tcp_event(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
		free(arg);
		bufferevent_free(bev);
	}
}

static void tcp_read(struct bufferevent *bev, void *arg)
{
	struct notify_tcp *t = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t msg[NOTIFY_MAX_MSG], out[2 + NOTIFY_MAX_MSG + TSIG_RR_MAX];
	for (unsigned i = 0; i < NOTIFY_BATCH; i++) {
		uint8_t lb[2];
		if (evbuffer_copyout(in, lb, 2) != 2)
			return;
		size_t len = get16(lb);
		if (len > sizeof(msg)) {
			tcp_event(bev, BEV_EVENT_ERROR, t);
			return;
		}
		if (evbuffer_get_length(in) < 2 + len)
			return;
		evbuffer_drain(in, 2);
		evbuffer_remove(in, msg, len);
		const struct cfg_zone *cz = NULL;
		size_t rl = notify_handle(t->n, msg, len, (struct sockaddr *)&t->peer,
		                          (uint64_t)time(NULL), out + 2, sizeof(out) - 2, &cz);
		if (rl) {
			out[0] = (uint8_t)(rl >> 8);
			out[1] = (uint8_t)rl;
			bufferevent_write(bev, out, rl + 2);
		}
		if (cz != NULL) {
			ctllog(LOG_INFO, cz->name, "NOTIFY received (TCP): refresh now");
			svc_refresh_zone(t->n->svc, cz);
		}
	}
}

static void tcp_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int sl,
                       void *arg)
{
	struct notify_sock *ns = arg;
	struct notify_tcp *t = calloc(1, sizeof(*t));
	struct bufferevent *bev = bufferevent_socket_new(evconnlistener_get_base(l), fd,
	                                                 BEV_OPT_CLOSE_ON_FREE);
	if (t == NULL || bev == NULL || (size_t)sl > sizeof(t->peer)) {
		free(t);
		if (bev)
			bufferevent_free(bev);
		else
			close(fd);
		return;
	}
	t->n = ns->n;
	memcpy(&t->peer, sa, (size_t)sl);
	struct timeval idle = { .tv_sec = 10 };
	bufferevent_set_timeouts(bev, &idle, &idle);
	bufferevent_setcb(bev, tcp_read, NULL, tcp_event, t);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

struct notify *notify_new(struct event_base *base, struct svc *svc, char *err, size_t errlen)
{
	const struct cfg *cfg = svc_cfg(svc);
	struct notify *n = calloc(1, sizeof(*n));
	if (n == NULL)
		goto oom;
	n->svc = svc;
	n->socks = calloc(cfg->n_notify_listen ? cfg->n_notify_listen : 1, sizeof(*n->socks));
	if (n->socks == NULL)
		goto oom;
	for (unsigned i = 0; i < cfg->n_notify_listen; i++) {
		const struct cfg_addr *a = &cfg->notify_listen[i];
		struct notify_sock *ns = &n->socks[i];
		ns->n = n;
		ns->fd = socket(a->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (ns->fd < 0) {
			ed_seterr(err, errlen, "%s: socket: %s", a->str, strerror(errno));
			goto fail;
		}
		n->nsocks++;
		int one = 1;
		if (a->ss.ss_family == AF_INET6)
			setsockopt(ns->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (bind(ns->fd, (const struct sockaddr *)&a->ss, a->sslen) != 0) {
			ed_seterr(err, errlen, "%s: bind: %s", a->str, strerror(errno));
			goto fail;
		}
		ns->ev = event_new(base, ns->fd, EV_READ | EV_PERSIST, on_read, ns);
		if (ns->ev == NULL || event_add(ns->ev, NULL) != 0)
			goto oom;
		ns->tcp = evconnlistener_new_bind(base, tcp_accept, ns,
		                                  LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
		                                  LEV_OPT_CLOSE_ON_EXEC, 16,
		                                  (const struct sockaddr *)&a->ss, (int)a->sslen);
		if (ns->tcp == NULL) {
			ed_seterr(err, errlen, "%s: TCP listen: %s", a->str, strerror(errno));
			goto fail;
		}
		ctllog(LOG_INFO, NULL, "NOTIFY listener on %s (UDP and TCP)", a->str);
	}
	return n;
oom:
	ed_seterr(err, errlen, "out of memory");
fail:
	notify_free(n);
	return NULL;
}

void notify_free(struct notify *n)
{
	if (n == NULL)
		return;
	for (unsigned i = 0; i < n->nsocks; i++) {
		if (n->socks[i].ev)
			event_free(n->socks[i].ev);
		if (n->socks[i].tcp)
			evconnlistener_free(n->socks[i].tcp);
		close(n->socks[i].fd);
	}
	free(n->socks);
	free(n);
}
