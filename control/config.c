/* config.c: the edgedns-control configuration file, read with libyaml.
 *
 * The document is loaded whole, then walked section by section in a fixed
 * order (control, key, policy, acl, zone, catalog) whatever their order in
 * the file, so every reference is resolved when it is met. The first error
 * ends the load; its message names the node's line and a path of keys. */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>

#include <yaml.h>

#include "config_int.h"
#include "dname.h"
#include "error.h"

#define SUN_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

/* ---- lookups ------------------------------------------------------------ */

static const struct cfg_key *find_key(const struct cfg *c, const char *id)
{
	uint8_t w[DNAME_MAXLEN + 1], kw[DNAME_MAXLEN + 1];
	size_t n = cfgv_dname(id, w);
	for (unsigned i = 0; n != 0 && i < c->n_keys; i++)
		if (c->keys[i].id != NULL && cfgv_dname(c->keys[i].id, kw) == n && memcmp(w, kw, n) == 0)
			return &c->keys[i];
	return NULL;
}

static const struct cfg_policy *find_policy(const struct cfg *c, const char *id)
{
	for (unsigned i = 0; i < c->n_policies; i++)
		if (c->policies[i].id != NULL && strcmp(c->policies[i].id, id) == 0)
			return &c->policies[i];
	return NULL;
}

static const struct cfg_acl *find_acl(const struct cfg *c, const char *id)
{
	for (unsigned i = 0; i < c->n_acls; i++)
		if (c->acls[i].id != NULL && strcmp(c->acls[i].id, id) == 0)
			return &c->acls[i];
	return NULL;
}

/* A reference to a key by id: the key, or an error. */
static int get_key_ref(struct cfgn *p, yaml_node_t *v, const char *ctx,
                       const struct cfg_key **out)
{
	char gbuf[80];
	const char *s = cfgn_text(v);
	if (s == NULL)
		return cfgn_err(p, v, "%s: expected a key id, got %s", ctx, GOT(v));
	if ((*out = find_key(p->cfg, s)) == NULL)
		return cfgn_err(p, v, "%s: no key with id %s", ctx, GOT(v));
	return 0;
}

/* ---- control ------------------------------------------------------------ */

static int parse_control(struct cfgn *p, yaml_node_t *v)
{
	struct cfg *c = p->cfg;
	struct cfgn_field f[] = { { .name = "socket" }, { .name = "dataplane-socket" },
	                          { .name = "snapshot-dir" }, { .name = "state-dir" },
	                          { .name = "notify-listen" }, { .name = "log" },
	                          { .name = "dataplane-lease" } };
	int rc;
	char gbuf[80], ctx[CFGN_CTX_MAX];
	if (cfgn_is_null(v))
		return 0;
	if ((rc = cfgn_fields(p, v, "control", f, 7)) != 0)
		return rc;
	if (f[0].val && (rc = cfgn_path(p, f[0].val, "control.socket", SUN_PATH_MAX, &c->socket)))
		return rc;
	if (f[1].val && (rc = cfgn_path(p, f[1].val, "control.dataplane-socket", SUN_PATH_MAX,
	                                &c->dataplane_socket)))
		return rc;
	if (f[2].val && (rc = cfgn_path(p, f[2].val, "control.snapshot-dir", 0, &c->snapshot_dir)))
		return rc;
	if (f[3].val && (rc = cfgn_path(p, f[3].val, "control.state-dir", 0, &c->state_dir)))
		return rc;
	if (f[4].val) {
		yaml_node_t *l = f[4].val;
		if ((rc = cfgn_check_list(p, l, "control.notify-listen", 1, "ADDR[@PORT]")) != 0)
			return rc;
		size_t n = cfgn_list_len(l);
		if (n != 0 && (c->notify_listen = calloc(n, sizeof(*c->notify_listen))) == NULL)
			return cfgn_nomem(p, l);
		for (size_t i = 0; i < n; i++) {
			cfgn_item_ctx(ctx, "control.notify-listen", l, i);
			yaml_node_t *e = cfgn_list_at(p, l, i);
			if ((rc = cfgn_addr(p, e, ctx, &c->notify_listen[i])) != 0)
				return rc;
			c->n_notify_listen++;
		}
	}
	if (f[5].val) {
		const char *s = cfgn_text(f[5].val);
		if (s != NULL && strcmp(s, "syslog") == 0)
			c->log = CFG_LOG_SYSLOG;
		else if (s != NULL && strcmp(s, "stderr") == 0)
			c->log = CFG_LOG_STDERR;
		else
			return cfgn_err(p, f[5].val, "control.log: expected syslog or stderr, got %s",
			                GOT(f[5].val));
	}
	if (f[6].val) {
		const char *s = cfgn_text(f[6].val);
		uint64_t ms;
		if (s == NULL || cfgv_duration_ms(s, &ms) != 0 || (ms != 0 && ms < 1000) ||
		    ms > 3600000)
			return cfgn_err(p, f[6].val, "control.dataplane-lease: expected 0 (off) or a "
			                "duration (Nms, Ns, Nm or Nh) from 1s to 1h, got %s",
			                GOT(f[6].val));
		c->dataplane_lease_ms = (uint32_t)ms;
	}
	return 0;
}

/* ---- key ---------------------------------------------------------------- */

static const struct { const char *name, *ldns; enum cfg_alg alg; } algs[] = {
	{ "hmac-sha256", "hmac-sha256.", CFG_HMAC_SHA256 },
	{ "hmac-sha384", "hmac-sha384.", CFG_HMAC_SHA384 },
	{ "hmac-sha512", "hmac-sha512.", CFG_HMAC_SHA512 },
};

static int parse_key(struct cfgn *p, yaml_node_t *e, const char *ctx, struct cfg_key *k)
{
	struct cfgn_field f[] = { { .name = "id" }, { .name = "algorithm" },
	                          { .name = "secret-file" } };
	char gbuf[80], sub[CFGN_CTX_MAX], name[DNAME_MAXLEN * 4 + 1], why[600];
	uint8_t w[DNAME_MAXLEN + 1];
	size_t wlen;
	int rc;
	if ((rc = cfgn_fields(p, e, ctx, f, 3)) != 0)
		return rc;
	for (int i = 0; i < 3; i++)
		if (f[i].val == NULL)
			return cfgn_err(p, e, "%s: %s is required", ctx, f[i].name);
	k->line = cfgn_line(e);
	cfgn_ctx(sub, "%s.id", ctx);
	if ((rc = cfgn_dname(p, f[0].val, sub, "a key name (a domain name such as xfr-key)", w,
	                     &wlen)) != 0)
		return rc;
	const struct cfg_key *dup = find_key(p->cfg, cfgn_text(f[0].val));
	if (dup != NULL)
		return cfgn_err(p, f[0].val, "%s: duplicate id %s (first at line %u)", sub,
		                GOT(f[0].val), dup->line);
	if ((k->id = strdup(cfgn_text(f[0].val))) == NULL ||
	    (k->tsig_name = strdup(dname_to_str(w, name, sizeof(name)))) == NULL)
		return cfgn_nomem(p, e);

	const char *a = cfgn_text(f[1].val);
	size_t i = 0;
	while (i < 3 && (a == NULL || strcasecmp(a, algs[i].name) != 0))
		i++;
	if (i == 3)
		return cfgn_err(p, f[1].val, "%s.algorithm: expected hmac-sha256, hmac-sha384 or "
		                "hmac-sha512, got %s", ctx, GOT(f[1].val));
	k->alg = algs[i].alg;
	k->alg_name = algs[i].ldns;

	cfgn_ctx(sub, "%s.secret-file", ctx);
	if ((rc = cfgn_path(p, f[2].val, sub, 0, &k->secret_file)) != 0)
		return rc;
	if ((k->secret = malloc(CFG_SECRET_MAX)) == NULL)
		return cfgn_nomem(p, e);
	if (cfgv_read_secret(k->secret_file, k->secret, &k->secret_len, why, sizeof(why)) != 0)
		return cfgn_err(p, f[2].val, "%s: %s", sub, why);
	return 0;
}

/* ---- policy ------------------------------------------------------------- */

#define DAY 86400ull
static const struct pfield {
	const char *name;
	int is_bool;
	enum cfgn_kind kind;
	uint64_t min, max;
	size_t off, width;
} pfields[] = {
#define PF(n, b, k, lo, hi, m) { n, b, k, lo, hi, offsetof(struct cfg_policy, m), \
	                         sizeof(((struct cfg_policy *)0)->m) }
	PF("require-zonemd", 1, CFGN_NUM, 0, 1, require_zonemd),
	PF("rrsig-margin", 0, CFGN_DURATION, 0, 90 * DAY, rrsig_margin),
	PF("max-remove", 0, CFGN_PERCENT, 0, 100, max_remove),
	PF("allow-ns-change", 1, CFGN_NUM, 0, 1, allow_ns_change),
	PF("max-transfer-size", 0, CFGN_SIZE, 1ull << 10, 1ull << 40, max_transfer_size),
	PF("max-rrs", 0, CFGN_NUM, 1, UINT32_MAX, max_rrs),
	PF("max-rr-size", 0, CFGN_NUM, 1, 65535, max_rr_size),
	PF("transfer-timeout", 0, CFGN_DURATION, 1, DAY, transfer_timeout),
	PF("refresh-jitter", 0, CFGN_PERCENT, 0, 50, refresh_jitter),
	PF("notify-rate", 0, CFGN_NUM, 1, 10000, notify_rate),
	PF("max-primary-lag", 0, CFGN_DURATION, 0, 90 * DAY, max_primary_lag),
#undef PF
};
#define NPF (sizeof(pfields) / sizeof(pfields[0]))

void cfg_policy_defaults(struct cfg_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->require_zonemd = 0;
	p->rrsig_margin = 2 * DAY;
	p->max_remove = 50;
	p->allow_ns_change = 0;
	p->max_transfer_size = 512ull << 20;
	p->max_rrs = 10000000;
	p->max_rr_size = 65535;
	p->transfer_timeout = 300;
	p->refresh_jitter = 10;
	p->notify_rate = 20;
	p->max_primary_lag = 3600;
}

static int parse_policy(struct cfgn *p, yaml_node_t *e, const char *ctx, struct cfg_policy *pol)
{
	struct cfgn_field f[1 + NPF] = { { .name = "id" } };
	char sub[CFGN_CTX_MAX];
	int rc;
	for (size_t i = 0; i < NPF; i++)
		f[1 + i].name = pfields[i].name;
	if ((rc = cfgn_fields(p, e, ctx, f, 1 + NPF)) != 0)
		return rc;
	cfg_policy_defaults(pol);
	pol->line = cfgn_line(e);
	if (f[0].val == NULL)
		return cfgn_err(p, e, "%s: id is required", ctx);
	cfgn_ctx(sub, "%s.id", ctx);
	if ((rc = cfgn_str(p, f[0].val, sub, "a policy id", &pol->id)) != 0)
		return rc;
	const struct cfg_policy *dup = find_policy(p->cfg, pol->id);
	if (dup != NULL && dup != pol)
		return cfgn_err(p, f[0].val, "%s: duplicate id '%s' (first at line %u)", sub, pol->id,
		                dup->line);
	for (size_t i = 0; i < NPF; i++) {
		const struct pfield *pf = &pfields[i];
		yaml_node_t *v = f[1 + i].val;
		if (v == NULL)
			continue;
		cfgn_ctx(sub, "%s.%s", ctx, pf->name);
		uint64_t x;
		if (pf->is_bool) {
			int b;
			if ((rc = cfgn_bool(p, v, sub, &b)) != 0)
				return rc;
			x = (uint64_t)b;
		} else if ((rc = cfgn_num(p, v, sub, pf->kind, pf->min, pf->max, &x)) != 0) {
			return rc;
		}
		uint8_t *dst = (uint8_t *)pol + pf->off;
		if (pf->width == 8) {
			memcpy(dst, &x, 8);
		} else {
			uint32_t y = (uint32_t)x;
			memcpy(dst, &y, 4);
		}
	}
	return 0;
}

/* ---- acl ---------------------------------------------------------------- */

static int parse_acl(struct cfgn *p, yaml_node_t *e, const char *ctx, struct cfg_acl *a)
{
	struct cfgn_field f[] = { { .name = "id" }, { .name = "address" }, { .name = "key" } };
	char sub[CFGN_CTX_MAX], item[CFGN_CTX_MAX];
	int rc;
	if ((rc = cfgn_fields(p, e, ctx, f, 3)) != 0)
		return rc;
	a->line = cfgn_line(e);
	for (int i = 0; i < 2; i++)
		if (f[i].val == NULL)
			return cfgn_err(p, e, "%s: %s is required", ctx, f[i].name);
	cfgn_ctx(sub, "%s.id", ctx);
	if ((rc = cfgn_str(p, f[0].val, sub, "an acl id", &a->id)) != 0)
		return rc;
	const struct cfg_acl *dup = find_acl(p->cfg, a->id);
	if (dup != NULL && dup != a)
		return cfgn_err(p, f[0].val, "%s: duplicate id '%s' (first at line %u)", sub, a->id,
		                dup->line);
	cfgn_ctx(sub, "%s.address", ctx);
	yaml_node_t *l = f[1].val;
	if ((rc = cfgn_check_list(p, l, sub, 1, "addresses or prefixes")) != 0)
		return rc;
	size_t n = cfgn_list_len(l);
	if (n == 0)
		return cfgn_err(p, l, "%s: expected at least one address or prefix", sub);
	if ((a->entries = calloc(n, sizeof(*a->entries))) == NULL)
		return cfgn_nomem(p, l);
	for (size_t i = 0; i < n; i++) {
		cfgn_item_ctx(item, sub, l, i);
		if ((rc = cfgn_prefix(p, cfgn_list_at(p, l, i), item, &a->entries[i])) != 0)
			return rc;
		a->n_entries++;
	}
	cfgn_ctx(sub, "%s.key", ctx);
	if (f[2].val != NULL && (rc = get_key_ref(p, f[2].val, sub, &a->key)) != 0)
		return rc;
	return 0;
}

/* ---- zone and catalog --------------------------------------------------- */

static int parse_primaries(struct cfgn *p, yaml_node_t *l, const char *ctx, struct cfg_zone *z)
{
	char item[CFGN_CTX_MAX], sub[CFGN_CTX_MAX];
	int rc;
	if ((rc = cfgn_check_list(p, l, ctx, 1, "primaries (- address: ADDR[@PORT])")) != 0)
		return rc;
	size_t n = cfgn_list_len(l);
	if (n == 0)
		return cfgn_err(p, l, "%s: expected at least one primary", ctx);
	if ((z->primaries = calloc(n, sizeof(*z->primaries))) == NULL)
		return cfgn_nomem(p, l);
	for (size_t i = 0; i < n; i++) {
		struct cfg_primary *pr = &z->primaries[i];
		yaml_node_t *e = cfgn_list_at(p, l, i), *addr = e;
		cfgn_ctx(item, "%s[%zu]", ctx, i);
		cfgn_ctx(sub, "%s.address", item);
		if (e->type != YAML_SCALAR_NODE) {   /* else the address alone */
			struct cfgn_field f[] = { { .name = "address" }, { .name = "key" } };
			if ((rc = cfgn_fields(p, e, item, f, 2)) != 0)
				return rc;
			if ((addr = f[0].val) == NULL)
				return cfgn_err(p, e, "%s: address is required", item);
			if (f[1].val != NULL) {
				cfgn_ctx(sub, "%s.key", item);
				if ((rc = get_key_ref(p, f[1].val, sub, &pr->key)) != 0)
					return rc;
				cfgn_ctx(sub, "%s.address", item);
			}
		}
		if ((rc = cfgn_addr(p, addr, sub, &pr->addr)) != 0)
			return rc;
		for (size_t j = 0; j < i; j++)
			if (strcmp(z->primaries[j].addr.str, pr->addr.str) == 0)
				return cfgn_err(p, addr, "%s: %s is listed twice (also %s[%zu])", sub,
				                pr->addr.str, ctx, j);
		z->n_primaries++;
	}
	return 0;
}

static int parse_notify_acl(struct cfgn *p, yaml_node_t *l, const char *ctx, struct cfg_zone *z)
{
	char gbuf[80], item[CFGN_CTX_MAX];
	int rc;
	if ((rc = cfgn_check_list(p, l, ctx, 1, "acl ids")) != 0)
		return rc;
	size_t n = cfgn_list_len(l);
	if (n == 0)
		return cfgn_err(p, l, "%s: expected at least one acl id", ctx);
	if ((z->notify_acl = calloc(n, sizeof(*z->notify_acl))) == NULL)
		return cfgn_nomem(p, l);
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *e = cfgn_list_at(p, l, i);
		const char *s = cfgn_text(e);
		cfgn_item_ctx(item, ctx, l, i);
		if (s == NULL)
			return cfgn_err(p, e, "%s: expected an acl id, got %s", item, GOT(e));
		const struct cfg_acl *a = find_acl(p->cfg, s);
		if (a == NULL)
			return cfgn_err(p, e, "%s: no acl with id %s", item, GOT(e));
		for (size_t j = 0; j < i; j++)
			if (z->notify_acl[j] == a)
				return cfgn_err(p, e, "%s: acl '%s' listed twice", item, s);
		z->notify_acl[z->n_notify_acl++] = a;
	}
	return 0;
}

/* The default notify-acl: one ACL per primary, its address and its key. */
static int implicit_acls(struct cfgn *p, yaml_node_t *at, struct cfg_zone *z)
{
	unsigned n = z->n_primaries;
	if ((z->own_acl = calloc(n, sizeof(*z->own_acl))) == NULL ||
	    (z->notify_acl = calloc(n, sizeof(*z->notify_acl))) == NULL)
		return cfgn_nomem(p, at);
	for (unsigned i = 0; i < n; i++) {
		const struct cfg_primary *pr = &z->primaries[i];
		struct cfg_acl *a = &z->own_acl[z->n_own_acl++];
		size_t idlen = strlen(pr->addr.str) + sizeof("primary ");
		if ((a->id = malloc(idlen)) == NULL ||
		    (a->entries = calloc(1, sizeof(*a->entries))) == NULL)
			return cfgn_nomem(p, at);
		snprintf(a->id, idlen, "primary %s", pr->addr.str);
		struct cfg_prefix *e = &a->entries[0];
		a->n_entries = 1;
		a->key = pr->key;
		a->line = z->line;
		e->family = pr->addr.ss.ss_family;
		if (e->family == AF_INET) {
			memcpy(e->addr, &((const struct sockaddr_in *)&pr->addr.ss)->sin_addr, 4);
			e->prefix_len = 32;
		} else {
			memcpy(e->addr, &((const struct sockaddr_in6 *)&pr->addr.ss)->sin6_addr, 16);
			e->prefix_len = 128;
		}
		z->notify_acl[z->n_notify_acl++] = a;
	}
	return 0;
}

/* What a zone, a catalog and a template have in common: primary, notify-acl,
 * policy (f[0..2]). dflt: the primaries when f[0] is absent (templates). */
static int parse_source(struct cfgn *p, yaml_node_t *e, const char *ctx, struct cfgn_field *f,
                        struct cfg_zone *z, const struct cfg_zone *dflt)
{
	char gbuf[80], sub[CFGN_CTX_MAX];
	int rc;
	cfgn_ctx(sub, "%s.primary", ctx);
	if (f[0].val != NULL) {
		if ((rc = parse_primaries(p, f[0].val, sub, z)) != 0)
			return rc;
	} else if (dflt != NULL) {
		z->primaries = malloc(dflt->n_primaries * sizeof(*z->primaries));
		if (z->primaries == NULL)
			return cfgn_nomem(p, e);
		memcpy(z->primaries, dflt->primaries, dflt->n_primaries * sizeof(*z->primaries));
		z->n_primaries = dflt->n_primaries;
	} else {
		return cfgn_err(p, e, "%s: primary is required (at least one)", ctx);
	}
	cfgn_ctx(sub, "%s.notify-acl", ctx);
	if (f[1].val != NULL)
		rc = parse_notify_acl(p, f[1].val, sub, z);
	else
		rc = implicit_acls(p, e, z);
	if (rc != 0)
		return rc;
	z->policy = p->cfg->default_policy;
	if (f[2].val != NULL) {
		const char *s = cfgn_text(f[2].val);
		cfgn_ctx(sub, "%s.policy", ctx);
		if (s == NULL)
			return cfgn_err(p, f[2].val, "%s: expected a policy id, got %s", sub, GOT(f[2].val));
		if ((z->policy = find_policy(p->cfg, s)) == NULL &&
		    !(strcmp(s, "default") == 0 && (z->policy = p->cfg->default_policy) != NULL))
			return cfgn_err(p, f[2].val, "%s: no policy with id %s", sub, GOT(f[2].val));
	}
	return 0;
}

static int parse_zone(struct cfgn *p, yaml_node_t *e, const char *ctx, struct cfg_zone *z,
                      struct cfg_catalog *cat)
{
	/* f[1..3] as parse_source() wants them. */
	struct cfgn_field f[] = { { .name = "domain" }, { .name = "primary" },
	                          { .name = "notify-acl" }, { .name = "policy" },
	                          { .name = "template" } };
	char name[DNAME_MAXLEN * 4 + 1], sub[CFGN_CTX_MAX];
	int rc;
	if ((rc = cfgn_fields(p, e, ctx, f, cat != NULL ? 5 : 4)) != 0)
		return rc;
	z->line = cfgn_line(e);
	z->catalog = cat;
	if (f[0].val == NULL)
		return cfgn_err(p, e, "%s: domain is required", ctx);
	cfgn_ctx(sub, "%s.domain", ctx);
	if ((rc = cfgn_dname(p, f[0].val, sub, "a domain name (such as example.com)", z->apex,
	                     &z->apex_len)) != 0)
		return rc;
	z->line = cfgn_line(f[0].val);
	if ((z->name = strdup(dname_to_str(z->apex, name, sizeof(name)))) == NULL)
		return cfgn_nomem(p, e);
	if ((rc = parse_source(p, e, ctx, f + 1, z, NULL)) != 0)
		return rc;
	if (cat == NULL)
		return 0;
	/* The template: everything defaults to the catalog's own. */
	struct cfg_zone *m = &cat->member;
	struct cfgn_field t[3] = { { .name = "primary" }, { .name = "notify-acl" },
	                           { .name = "policy" } };
	cfgn_ctx(sub, "%s.template", ctx);
	m->line = z->line;
	if (f[4].val != NULL && !cfgn_is_null(f[4].val)) {
		if ((rc = cfgn_fields(p, f[4].val, sub, t, 3)) != 0)
			return rc;
		m->line = cfgn_line(f[4].val);
	}
	return parse_source(p, f[4].val != NULL ? f[4].val : e, sub, t, m, z);
}

/* ---- the sorted name index ---------------------------------------------- */

static int by_apex(const void *a, const void *b)
{
	const struct cfg_zone *x = *(const struct cfg_zone *const *)a;
	const struct cfg_zone *y = *(const struct cfg_zone *const *)b;
	int c = dname_canon_cmp(x->apex, y->apex);
	return c != 0 ? c : (x->line > y->line) - (x->line < y->line);
}

static void zone_ctx(const struct cfg *c, const struct cfg_zone *z, char *buf)
{
	if (z->catalog != NULL)
		cfgn_ctx(buf, "catalog[%td].domain", z->catalog - c->catalogs);
	else
		cfgn_ctx(buf, "zone[%td].domain", z - c->zones);
}

static int index_names(struct cfgn *p)
{
	struct cfg *c = p->cfg;
	unsigned n = c->n_zones + c->n_catalogs;
	char ctx[CFGN_CTX_MAX];
	if (n == 0)
		return 0;
	if ((c->by_name = calloc(n, sizeof(*c->by_name))) == NULL)
		return cfgn_nomem(p, NULL);
	for (unsigned i = 0; i < c->n_zones; i++)
		c->by_name[c->n_by_name++] = &c->zones[i];
	for (unsigned i = 0; i < c->n_catalogs; i++)
		c->by_name[c->n_by_name++] = &c->catalogs[i].zone;
	qsort(c->by_name, n, sizeof(*c->by_name), by_apex);
	/* Report the second occurrence nearest the top of the file: the
	 * message does not depend on the sort. */
	const struct cfg_zone *worst = NULL, *first = NULL;
	for (unsigned i = 1; i < n; i++) {
		const struct cfg_zone *a = c->by_name[i - 1], *b = c->by_name[i];
		if (dname_canon_cmp(a->apex, b->apex) != 0 ||
		    (i >= 2 && dname_canon_cmp(c->by_name[i - 2]->apex, a->apex) == 0))
			continue;   /* b is not the second of its name */
		if (worst == NULL || b->line < worst->line) {
			worst = b;
			first = a;
		}
	}
	if (worst == NULL)
		return 0;
	zone_ctx(c, worst, ctx);
	ed_seterr(p->err, p->errlen, "%s:%u: %s: %s is already configured at line %u", p->path,
	          worst->line, ctx, worst->name, first->line);
	return ED_EINVAL;
}

/* ---- the document ------------------------------------------------------- */

/* A section: a list of mappings (absent or empty: none). Returns its n
 * items zeroed, or NULL with *n 0 (none) or with *rc set (error). */
static void *section(struct cfgn *p, yaml_node_t *l, const char *name, const char *what,
                     size_t size, size_t *n, int *rc)
{
	void *a;
	*n = 0;
	if (l == NULL || cfgn_is_null(l))
		return NULL;
	if ((*rc = cfgn_check_list(p, l, name, 0, what)) != 0 || (*n = cfgn_list_len(l)) == 0)
		return NULL;
	if ((a = calloc(*n, size)) == NULL) {
		*n = 0;
		*rc = cfgn_nomem(p, l);
	}
	return a;
}

static int dflt_str(struct cfgn *p, char **s, const char *v)
{
	if (*s == NULL && (*s = strdup(v)) == NULL)
		return cfgn_nomem(p, NULL);
	return 0;
}

static int walk(struct cfgn *p)
{
	struct cfg *c = p->cfg;
	struct cfgn_field f[] = { { .name = "control" }, { .name = "key" },
	                          { .name = "policy" }, { .name = "acl" }, { .name = "zone" },
	                          { .name = "catalog" }, { .name = "service" }, { .name = "bgp" } };
	yaml_node_t *root = yaml_document_get_root_node(p->doc);
	char gbuf[80];
	int rc;
	if (root == NULL)
		return cfgn_err(p, NULL, "empty file: expected a mapping of control, key, policy, acl, "
		                "zone, catalog, service and bgp");
	if (root->type != YAML_MAPPING_NODE)
		return cfgn_err(p, root, "expected a mapping of control, key, policy, acl, zone, "
		                "catalog, service and bgp, got %s", GOT(root));
	if ((rc = cfgn_fields(p, root, "", f, 8)) != 0)
		return rc;
	if (f[0].val != NULL && (rc = parse_control(p, f[0].val)) != 0)
		return rc;
	/* Each count grows before its item is parsed, so cfg_free() frees
	 * what a failed parse left. */
	size_t n;
	char ctx[CFGN_CTX_MAX];
	c->keys = section(p, f[1].val, "key", "keys (- id: ...)", sizeof(*c->keys), &n, &rc);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		cfgn_ctx(ctx, "key[%zu]", i);
		c->n_keys++;
		rc = parse_key(p, cfgn_list_at(p, f[1].val, i), ctx, &c->keys[i]);
	}
	if (rc == 0)
		c->policies = section(p, f[2].val, "policy", "policies (- id: ...)",
		                      sizeof(*c->policies), &n, &rc);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		cfgn_ctx(ctx, "policy[%zu]", i);
		c->n_policies++;
		rc = parse_policy(p, cfgn_list_at(p, f[2].val, i), ctx, &c->policies[i]);
	}
	if (rc != 0)
		return rc;
	const struct cfg_policy *d = find_policy(c, "default");
	c->default_policy = d != NULL ? d : &c->builtin_policy;
	c->acls = section(p, f[3].val, "acl", "acls (- id: ...)", sizeof(*c->acls), &n, &rc);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		cfgn_ctx(ctx, "acl[%zu]", i);
		c->n_acls++;
		rc = parse_acl(p, cfgn_list_at(p, f[3].val, i), ctx, &c->acls[i]);
	}
	if (rc == 0)
		c->zones = section(p, f[4].val, "zone", "zones (- domain: ...)", sizeof(*c->zones),
		                   &n, &rc);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		cfgn_ctx(ctx, "zone[%zu]", i);
		c->n_zones++;
		rc = parse_zone(p, cfgn_list_at(p, f[4].val, i), ctx, &c->zones[i], NULL);
	}
	if (rc == 0)
		c->catalogs = section(p, f[5].val, "catalog", "catalogs (- domain: ...)",
		                      sizeof(*c->catalogs), &n, &rc);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct cfg_catalog *cat = &c->catalogs[i];
		cfgn_ctx(ctx, "catalog[%zu]", i);
		c->n_catalogs++;
		rc = parse_zone(p, cfgn_list_at(p, f[5].val, i), ctx, &cat->zone, cat);
	}
	if (rc == 0)
		rc = cfg_parse_services(p, f[6].val);
	if (rc == 0)
		rc = cfg_parse_bgp(p, f[7].val);
	if (rc != 0)
		return rc;
	if ((rc = index_names(p)) != 0)
		return rc;
	if ((rc = dflt_str(p, &c->socket, "/run/edgedns/control.sock")) != 0 ||
	    (rc = dflt_str(p, &c->dataplane_socket, "/run/edgedns/dataplane.sock")) != 0 ||
	    (rc = dflt_str(p, &c->snapshot_dir, "/var/lib/edgedns/snapshots")) != 0 ||
	    (rc = dflt_str(p, &c->state_dir, c->snapshot_dir)) != 0)
		return rc;
	return 0;
}

/* The walk over a loaded document: a new cfg into *out. */
static int load_doc(yaml_document_t *doc, const char *path, struct cfg **out, char *err,
                    size_t errlen)
{
	struct cfg *c = calloc(1, sizeof(*c));
	if (c == NULL || (c->path = strdup(path)) == NULL) {
		free(c);
		ed_seterr(err, errlen, "%s: out of memory", path);
		return ED_ENOMEM;
	}
	cfg_policy_defaults(&c->builtin_policy);
	c->builtin_policy.id = (char *)"default";   /* never freed */
	c->dataplane_lease_ms = CFG_LEASE_AUTO;
	c->default_policy = &c->builtin_policy;
	struct cfgn p = { doc, path, err, errlen, c };
	int rc = walk(&p);
	if (rc != 0)
		cfg_free(c);
	else
		*out = c;
	return rc;
}

int cfg_load(const char *path, struct cfg **out, char *err, size_t errlen)
{
	*out = NULL;
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		ed_seterr(err, errlen, "%s: %s", path, strerror(errno));
		return ED_EIO;
	}
	yaml_parser_t parser;
	yaml_document_t doc, more;
	if (!yaml_parser_initialize(&parser)) {
		fclose(f);
		ed_seterr(err, errlen, "%s: out of memory", path);
		return ED_ENOMEM;
	}
	yaml_parser_set_input_file(&parser, f);
	int rc = ED_ESYNTAX;
	if (!yaml_parser_load(&parser, &doc)) {
		ed_seterr(err, errlen, "%s:%lu: YAML syntax error: %s%s%s%s", path,
		          (unsigned long)parser.problem_mark.line + 1,
		          parser.problem != NULL ? parser.problem : "not YAML",
		          parser.context != NULL ? " (" : "",
		          parser.context != NULL ? parser.context : "",
		          parser.context != NULL ? ")" : "");
	} else {
		/* A second document would be silently ignored: refuse it. */
		if (!yaml_parser_load(&parser, &more)) {
			ed_seterr(err, errlen, "%s:%lu: YAML syntax error: %s", path,
			          (unsigned long)parser.problem_mark.line + 1,
			          parser.problem != NULL ? parser.problem : "not YAML");
		} else {
			yaml_node_t *extra = yaml_document_get_root_node(&more);
			if (extra != NULL)
				ed_seterr(err, errlen, "%s:%u: expected one YAML document, found a second",
				          path, cfgn_line(extra));
			else
				rc = load_doc(&doc, path, out, err, errlen);
			yaml_document_delete(&more);
		}
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&parser);
	fclose(f);
	return rc;
}

/* ---- lookups and free --------------------------------------------------- */

const struct cfg_zone *cfg_zone_find(const struct cfg *cfg, const char *name)
{
	uint8_t apex[DNAME_MAXLEN + 1];
	if (cfg->n_by_name == 0 || cfgv_dname(name, apex) == 0)
		return NULL;
	size_t lo = 0, hi = cfg->n_by_name;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = dname_canon_cmp(cfg->by_name[mid]->apex, apex);
		if (c == 0)
			return cfg->by_name[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct cfg_policy *cfg_zone_policy(const struct cfg *cfg, const struct cfg_zone *zone)
{
	return zone->policy != NULL ? zone->policy : cfg->default_policy;
}

static void zone_free(struct cfg_zone *z)
{
	free(z->name);
	free(z->primaries);
	free(z->notify_acl);
	for (unsigned i = 0; i < z->n_own_acl; i++) {
		free(z->own_acl[i].id);
		free(z->own_acl[i].entries);
	}
	free(z->own_acl);
}

void cfg_free(struct cfg *c)
{
	if (c == NULL)
		return;
	free(c->path);
	free(c->socket);
	free(c->dataplane_socket);
	free(c->snapshot_dir);
	free(c->state_dir);
	free(c->notify_listen);
	for (unsigned i = 0; i < c->n_keys; i++) {
		struct cfg_key *k = &c->keys[i];
		if (k->secret != NULL)
			explicit_bzero(k->secret, CFG_SECRET_MAX);
		free(k->secret);
		free(k->id);
		free(k->tsig_name);
		free(k->secret_file);
	}
	free(c->keys);
	for (unsigned i = 0; i < c->n_policies; i++)
		free(c->policies[i].id);
	free(c->policies);
	for (unsigned i = 0; i < c->n_acls; i++) {
		free(c->acls[i].id);
		free(c->acls[i].entries);
	}
	free(c->acls);
	for (unsigned i = 0; i < c->n_zones; i++)
		zone_free(&c->zones[i]);
	free(c->zones);
	for (unsigned i = 0; i < c->n_catalogs; i++) {
		zone_free(&c->catalogs[i].zone);
		zone_free(&c->catalogs[i].member);
	}
	free(c->catalogs);
	cfg_anycast_free(c);
	free(c->by_name);
	free(c);
}
