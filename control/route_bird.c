/* route_bird.c: the health checks' routes through BIRD (route_bird.h). */
#include "route_bird.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "anycast.h"
#include "bird.h"
#include "birdconf.h"
#include "config_int.h"
#include "ctllog.h"
#include "error.h"

struct route_bird {
	const struct cfg *cfg;
	bird_conn_t *c;
	struct birdconf_service *svcs;   /* per cfg service, same order */
	char **strs;                     /* every string the structs point at */
	size_t nstrs;
	const char ***lists;             /* prefixes4/6 arrays */
	size_t nlists;
};

static char *keep(struct route_bird *rb, const char *s)
{
	char **n = realloc(rb->strs, (rb->nstrs + 1) * sizeof(*n));
	if (n == NULL)
		return NULL;
	rb->strs = n;
	if ((n[rb->nstrs] = strdup(s)) == NULL)
		return NULL;
	return n[rb->nstrs++];
}

static const char **list(struct route_bird *rb, size_t n)
{
	const char ***l = realloc(rb->lists, (rb->nlists + 1) * sizeof(*l));
	if (l == NULL)
		return NULL;
	rb->lists = l;
	l[rb->nlists] = calloc(n ? n : 1, sizeof(char *));
	return l[rb->nlists] != NULL ? l[rb->nlists++] : NULL;
}

/* The birdconf description of cfg's services. */
static int build_services(struct route_bird *rb)
{
	const struct cfg *cfg = rb->cfg;
	if (cfg->n_services == 0)
		return 0;
	rb->svcs = calloc(cfg->n_services, sizeof(*rb->svcs));
	if (rb->svcs == NULL)
		return ED_ENOMEM;
	for (unsigned i = 0; i < cfg->n_services; i++) {
		const struct cfg_service *sv = &cfg->services[i];
		struct birdconf_service *b = &rb->svcs[i];
		const char **p4 = list(rb, sv->n_addrs), **p6 = list(rb, sv->n_addrs);
		if ((b->name = keep(rb, sv->id)) == NULL || p4 == NULL || p6 == NULL)
			return ED_ENOMEM;
		for (unsigned k = 0; k < sv->n_addrs; k++) {
			char buf[64];
			cfgv_prefix_str(&sv->addrs[k], buf, sizeof(buf));
			const char *s = keep(rb, buf);
			if (s == NULL)
				return ED_ENOMEM;
			if (sv->addrs[k].family == AF_INET)
				p4[b->n4++] = s;
			else
				p6[b->n6++] = s;
		}
		b->prefixes4 = p4;
		b->prefixes6 = p6;
	}
	return 0;
}

struct route_bird *route_bird_new(const struct cfg *cfg, char *err, size_t errlen)
{
	struct route_bird *rb = calloc(1, sizeof(*rb));
	if (rb == NULL || (rb->c = bird_new(NULL)) == NULL) {
		free(rb);
		ed_seterr(err, errlen, "out of memory");
		return NULL;
	}
	rb->cfg = cfg;
	if (build_services(rb) != 0) {
		route_bird_free(rb);
		ed_seterr(err, errlen, "out of memory");
		return NULL;
	}
	return rb;
}

void route_bird_free(struct route_bird *rb)
{
	if (rb == NULL)
		return;
	bird_free(rb->c);
	for (size_t i = 0; i < rb->nstrs; i++)
		free(rb->strs[i]);
	free(rb->strs);
	for (size_t i = 0; i < rb->nlists; i++)
		free(rb->lists[i]);
	free(rb->lists);
	free(rb->svcs);
	free(rb);
}

static const struct birdconf_service *svc_of(struct route_bird *rb, const struct cfg_service *sv)
{
	return &rb->svcs[sv - rb->cfg->services];
}

static int ensure(struct route_bird *rb, char *err, size_t errlen)
{
	if (bird_connected(rb->c))
		return 0;
	return bird_connect(rb->c, rb->cfg->bgp.socket, err, errlen);
}

static int rb_apply(void *arg, const struct cfg_service *sv, enum hp_route want, char *err,
                    size_t errlen)
{
	struct route_bird *rb = arg;
	int rc = ensure(rb, err, errlen);
	if (rc != 0)
		return rc;
	enum anycast_state st = want == HP_ANNOUNCED ? ANYCAST_ANNOUNCED
	                        : want == HP_DRAINING ? ANYCAST_DRAINING : ANYCAST_WITHDRAWN;
	rc = anycast_assert(rb->c, svc_of(rb, sv), st, err, errlen);
	if (rc != 0 && rc != ED_ERCODE)
		bird_close(rb->c);   /* reconnect next time */
	return rc;
}

static int rb_query(void *arg, const struct cfg_service *sv, enum hp_route *have, char *err,
                    size_t errlen)
{
	struct route_bird *rb = arg;
	int rc = ensure(rb, err, errlen);
	if (rc != 0)
		return rc;
	enum anycast_state st;
	rc = anycast_state(rb->c, svc_of(rb, sv), &st, err, errlen);
	if (rc != 0) {
		if (rc != ED_ERCODE)
			bird_close(rb->c);
		return rc;
	}
	switch (st) {
	case ANYCAST_WITHDRAWN: *have = HP_WITHDRAWN; return 0;
	case ANYCAST_ANNOUNCED: *have = HP_ANNOUNCED; return 0;
	case ANYCAST_DRAINING: *have = HP_DRAINING; return 0;
	case ANYCAST_MIXED: break;
	}
	ed_seterr(err, errlen, "the protocols of service %s are half-way (mixed)", sv->id);
	return ED_EBUSY;
}

static int rb_sessions(void *arg, struct health_session *v, unsigned max, unsigned *n,
                       char *err, size_t errlen)
{
	struct route_bird *rb = arg;
	*n = 0;
	int rc = ensure(rb, err, errlen);
	if (rc != 0)
		return rc;
	struct bird_bgp_sessions bs;
	rc = bird_show_bgp(rb->c, &bs, err, errlen);
	if (rc != 0) {
		if (rc != ED_ERCODE)
			bird_close(rb->c);
		return rc;
	}
	for (size_t i = 0; i < bs.n && *n < max; i++) {
		const struct bird_bgp_session *b = &bs.v[i];
		struct health_session *h = &v[(*n)++];
		snprintf(h->name, sizeof(h->name), "%s", b->name);
		snprintf(h->state, sizeof(h->state), "%s", b->bgp_state);
		snprintf(h->since, sizeof(h->since), "%s", b->since);
		snprintf(h->neighbor, sizeof(h->neighbor), "%s", b->neighbor);
		snprintf(h->last_error, sizeof(h->last_error), "%s", b->last_error);
		h->exported = b->exported;
	}
	bird_bgp_sessions_free(&bs);
	return 0;
}

void route_bird_ops(struct route_bird *rb, struct health_route_ops *ops)
{
	ops->apply = rb_apply;
	ops->query = rb_query;
	ops->sessions = rb_sessions;
	ops->arg = rb;
}

/* ---- the configuration ------------------------------------------------- */

int route_bird_render(const struct cfg *cfg, char **out, size_t *outlen, char *err,
                      size_t errlen)
{
	const struct cfg_bgp *b = &cfg->bgp;
	struct route_bird *rb = route_bird_new(cfg, err, errlen);
	if (rb == NULL)
		return ED_ENOMEM;
	struct birdconf_neighbor *nb = calloc(b->n_neighbors ? b->n_neighbors : 1, sizeof(*nb));
	char (*addr)[INET6_ADDRSTRLEN] = calloc(b->n_neighbors ? b->n_neighbors : 1,
	                                        sizeof(*addr));
	char rid[INET_ADDRSTRLEN];
	int rc = ED_ENOMEM;
	if (nb == NULL || addr == NULL) {
		ed_seterr(err, errlen, "out of memory");
		goto out;
	}
	inet_ntop(AF_INET, &((const struct sockaddr_in *)&b->router_id.ss)->sin_addr, rid,
	          sizeof(rid));
	for (unsigned i = 0; i < b->n_neighbors; i++) {
		const struct cfg_neighbor *n = &b->neighbors[i];
		uint16_t port;
		if (n->addr.ss.ss_family == AF_INET) {
			const struct sockaddr_in *s4 = (const struct sockaddr_in *)&n->addr.ss;
			inet_ntop(AF_INET, &s4->sin_addr, addr[i], sizeof(addr[i]));
			port = ntohs(s4->sin_port);
		} else {
			const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&n->addr.ss;
			inet_ntop(AF_INET6, &s6->sin6_addr, addr[i], sizeof(addr[i]));
			port = ntohs(s6->sin6_port);
		}
		nb[i].address = addr[i];
		nb[i].remote_as = n->as;
		nb[i].password = n->password;
		nb[i].bfd = n->bfd ? BIRDCONF_BFD_ON : BIRDCONF_BFD_OFF;
		nb[i].port = port == 179 ? 0 : port;
	}
	struct birdconf bc = {
		.router_id = rid, .local_as = b->local_as, .neighbors = nb,
		.n_neighbors = b->n_neighbors, .services = rb->svcs, .n_services = cfg->n_services,
		.bfd_interval_ms = b->bfd_interval_ms, .bfd_multiplier = b->bfd_multiplier,
		.control_socket = b->socket, .log = "syslog",
	};
	rc = birdconf_render(&bc, out, outlen, err, errlen);
out:
	free(nb);
	free(addr);
	route_bird_free(rb);
	return rc;
}

int route_bird_write_config(const struct cfg *cfg, int *changed, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	*changed = 0;
	int rc = route_bird_render(cfg, &text, &len, err, errlen);
	if (rc != 0)
		return rc;
	const char *path = cfg->bgp.config_file;
	FILE *f = fopen(path, "r");
	if (f != NULL) {
		char *old = malloc(len + 2);
		size_t n = old ? fread(old, 1, len + 1, f) : 0;
		fclose(f);
		int same = old != NULL && n == len && memcmp(old, text, len) == 0;
		free(old);
		if (same) {
			free(text);
			return 0;
		}
	}
	/* it holds the BGP passwords: not for everyone (BIRD may run as its
	 * own group) */
	rc = birdconf_write_file(path, text, len, 0640, err, errlen);
	free(text);
	if (rc != 0)
		return rc;
	*changed = 1;
	return 0;
}

#define CONFIGURE_WAIT_MS 10000

int route_bird_configure(struct route_bird *rb, char *err, size_t errlen)
{
	const struct cfg *cfg = rb->cfg;
	unsigned n = cfg->n_services;
	enum anycast_state *had = calloc(n ? n : 1, sizeof(*had));
	int *known = calloc(n ? n : 1, sizeof(*known));
	int rc = had != NULL && known != NULL ? ensure(rb, err, errlen) : ED_ENOMEM;
	if (rc == ED_ENOMEM)
		ed_seterr(err, errlen, "out of memory");
	/* what BIRD announces now: a configure turns the announcing protocols
	 * back to the file's "disabled"; they are set again after it */
	for (unsigned i = 0; rc == 0 && i < n; i++) {
		char e[200];
		known[i] = anycast_state(rb->c, &rb->svcs[i], &had[i], e, sizeof(e)) == 0 &&
		           (had[i] == ANYCAST_ANNOUNCED || had[i] == ANYCAST_DRAINING);
	}
	int code = 0;
	if (rc == 0)
		rc = bird_configure(rb->c, cfg->bgp.config_file, &code, err, errlen);
	/* 0004: in progress; wait (bounded) until BIRD says it is done */
	for (unsigned waited = 0; rc == 0 && code != 3 && waited < CONFIGURE_WAIT_MS;
	     waited += 50) {
		struct timespec ts = { 0, 50 * 1000000L };
		nanosleep(&ts, NULL);
		rc = bird_configure_status(rb->c, &code, err, errlen);
	}
	for (unsigned i = 0; rc == 0 && i < n; i++)
		if (known[i])
			rc = anycast_assert(rb->c, &rb->svcs[i], had[i], err, errlen);
	if (rc != 0 && rc != ED_ERCODE)
		bird_close(rb->c);
	free(had);
	free(known);
	return rc;
}
