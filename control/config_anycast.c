/* config_anycast.c: the service and bgp sections of the configuration
 * (config.h): what is announced, how its health is checked, and BIRD. */
#include "config_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "dname.h"

#define SERVICE_ID_MAX 24

int cfgv_duration_ms(const char *s, uint64_t *out)
{
	static const struct { const char *u; uint64_t mul; } units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { "", 1000 },
	};
	uint64_t v = 0;
	const char *p = s;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (p == s)
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(p, units[i].u) == 0) {
			if (v > UINT64_MAX / units[i].mul)
				return -1;
			*out = v * units[i].mul;
			return 0;
		}
	return -1;
}

static int ms_value(struct cfgn *p, yaml_node_t *v, const char *ctx, uint64_t min, uint64_t max,
                    uint32_t *out)
{
	char gbuf[80];
	const char *s = cfgn_text(v);
	uint64_t x;
	if (s == NULL || cfgv_duration_ms(s, &x) != 0 || x < min || x > max)
		return cfgn_err(p, v, "%s: expected a duration (Nms, Ns, Nm or Nh) from %llums to "
		                "%llums, got %s", ctx, (unsigned long long)min, (unsigned long long)max,
		                GOT(v));
	*out = (uint32_t)x;
	return 0;
}

static int num_value(struct cfgn *p, yaml_node_t *v, const char *ctx, enum cfgn_kind k,
                     uint64_t min, uint64_t max, uint32_t *out)
{
	uint64_t x;
	int rc = cfgn_num(p, v, ctx, k, min, max, &x);
	if (rc == 0)
		*out = (uint32_t)x;
	return rc;
}

static void *list_alloc(struct cfgn *p, yaml_node_t *l, const char *ctx, int one_ok,
                        const char *what, size_t size, size_t *n, int *rc)
{
	void *a = NULL;
	*n = 0;
	if ((*rc = cfgn_check_list(p, l, ctx, one_ok, what)) != 0 || (*n = cfgn_list_len(l)) == 0)
		return NULL;
	if ((a = calloc(*n, size)) == NULL) {
		*n = 0;
		*rc = cfgn_nomem(p, l);
	}
	return a;
}

static int canon_name(struct cfgn *p, yaml_node_t *v, const char *ctx, char **out)
{
	uint8_t wire[DNAME_MAXLEN];
	size_t len;
	char name[DNAME_MAXLEN * 4 + 1];
	int rc = cfgn_dname(p, v, ctx, "a domain name (such as example.com)", wire, &len);
	if (rc != 0)
		return rc;
	if ((*out = strdup(dname_to_str(wire, name, sizeof(name)))) == NULL)
		return cfgn_nomem(p, v);
	return 0;
}

static int parse_probe(struct cfgn *p, yaml_node_t *e, const char *ctx, struct cfg_probe *pr)
{
	struct cfgn_field f[] = { { .name = "name" }, { .name = "type" }, { .name = "rcode" },
	                          { .name = "expect" } };
	char sub[CFGN_CTX_MAX], gbuf[80];
	int rc;
	if ((rc = cfgn_fields(p, e, ctx, f, 4)) != 0)
		return rc;
	pr->line = cfgn_line(e);
	pr->type = LDNS_RR_TYPE_SOA;
	pr->rcode = LDNS_RCODE_NOERROR;
	if (f[0].val == NULL)
		return cfgn_err(p, e, "%s: name is required", ctx);
	cfgn_ctx(sub, "%s.name", ctx);
	if ((rc = canon_name(p, f[0].val, sub, &pr->name)) != 0)
		return rc;
	if (f[1].val != NULL) {
		cfgn_ctx(sub, "%s.type", ctx);
		const char *t = cfgn_text(f[1].val);
		ldns_rr_type ty = t != NULL ? ldns_get_rr_type_by_name(t) : 0;
		if (ty == 0 || ty == LDNS_RR_TYPE_AXFR || ty == LDNS_RR_TYPE_IXFR ||
		    ty == LDNS_RR_TYPE_ANY || ty == LDNS_RR_TYPE_OPT)
			return cfgn_err(p, f[1].val, "%s: expected an RR type (SOA, A, AAAA, TXT...), "
			                "got %s", sub, GOT(f[1].val));
		pr->type = (uint16_t)ty;
	}
	if (f[2].val != NULL) {
		cfgn_ctx(sub, "%s.rcode", ctx);
		const char *t = cfgn_text(f[2].val);
		ldns_lookup_table *lt = t != NULL ? ldns_lookup_by_name(ldns_rcodes, t) : NULL;
		if (lt == NULL || lt->id > 15)
			return cfgn_err(p, f[2].val, "%s: expected an RCODE (NOERROR, NXDOMAIN, "
			                "REFUSED...), got %s", sub, GOT(f[2].val));
		pr->rcode = (uint8_t)lt->id;
	}
	if (f[3].val != NULL) {
		cfgn_ctx(sub, "%s.expect", ctx);
		if ((rc = cfgn_str(p, f[3].val, sub, "the expected RDATA", &pr->expect)) != 0)
			return rc;
	}
	return 0;
}

static int parse_check(struct cfgn *p, yaml_node_t *e, const char *ctx, struct cfg_check *ck)
{
	struct cfgn_field f[] = { { .name = "command" }, { .name = "timeout" },
	                          { .name = "interval" } };
	char sub[CFGN_CTX_MAX];
	int rc;
	if ((rc = cfgn_fields(p, e, ctx, f, 3)) != 0)
		return rc;
	ck->line = cfgn_line(e);
	ck->timeout_ms = 1000;
	ck->interval_ms = 1000;
	if (f[0].val == NULL)
		return cfgn_err(p, e, "%s: command is required", ctx);
	cfgn_ctx(sub, "%s.command", ctx);
	if ((rc = cfgn_str(p, f[0].val, sub, "a command", &ck->command)) != 0)
		return rc;
	cfgn_ctx(sub, "%s.timeout", ctx);
	if (f[1].val != NULL && (rc = ms_value(p, f[1].val, sub, 10, 60000, &ck->timeout_ms)) != 0)
		return rc;
	cfgn_ctx(sub, "%s.interval", ctx);
	if (f[2].val != NULL && (rc = ms_value(p, f[2].val, sub, 100, 3600000, &ck->interval_ms)) != 0)
		return rc;
	return 0;
}

static int service_id_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > SERVICE_ID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

static int parse_service(struct cfgn *p, yaml_node_t *e, const char *ctx, struct cfg_service *sv)
{
	enum { F_ID, F_ADDR, F_PROBE, F_CRIT, F_CHECK, F_INTERVAL, F_PTIMEOUT, F_FALL, F_RISE,
	       F_HOLD, F_HOLDMAX, F_DRAIN, F_SIGM, F_TCP, F_PORT, F_TRAFFIC, F_STOPDRAIN, NF };
	struct cfgn_field f[NF] = {
		[F_ID] = { .name = "id" }, [F_ADDR] = { .name = "address" },
		[F_PROBE] = { .name = "probe" }, [F_CRIT] = { .name = "critical-zone" },
		[F_CHECK] = { .name = "check" }, [F_INTERVAL] = { .name = "interval" },
		[F_PTIMEOUT] = { .name = "probe-timeout" }, [F_FALL] = { .name = "fall" },
		[F_RISE] = { .name = "rise" }, [F_HOLD] = { .name = "hold-down" },
		[F_HOLDMAX] = { .name = "hold-down-max" }, [F_DRAIN] = { .name = "drain-time" },
		[F_SIGM] = { .name = "signature-margin" }, [F_TCP] = { .name = "tcp-check" },
		[F_PORT] = { .name = "port" }, [F_TRAFFIC] = { .name = "traffic-window" },
		[F_STOPDRAIN] = { .name = "stop-drain-time" },
	};
	char sub[CFGN_CTX_MAX], gbuf[80];
	size_t n;
	int rc;
	if ((rc = cfgn_fields(p, e, ctx, f, NF)) != 0)
		return rc;
	sv->line = cfgn_line(e);
	sv->interval_ms = 200;
	sv->probe_timeout_ms = 100;
	sv->fall = 2;
	sv->rise = 3;
	sv->hold_down = 30;
	sv->hold_down_max = 600;
	sv->drain_time = 10;
	sv->stop_drain_time = 2;
	sv->sig_margin = 86400;
	sv->tcp_check = 1;
	sv->port = 53;
	if (f[F_ID].val == NULL)
		return cfgn_err(p, e, "%s: id is required", ctx);
	cfgn_ctx(sub, "%s.id", ctx);
	const char *id = cfgn_text(f[F_ID].val);
	if (id == NULL || !service_id_ok(id))
		return cfgn_err(p, f[F_ID].val, "%s: expected an id of 1 to %d characters a-z, 0-9 "
		                "and _, got %s", sub, SERVICE_ID_MAX, GOT(f[F_ID].val));
	if ((sv->id = strdup(id)) == NULL)
		return cfgn_nomem(p, f[F_ID].val);
	for (unsigned i = 0; i < p->cfg->n_services; i++) {
		const struct cfg_service *o = &p->cfg->services[i];
		if (o != sv && o->id != NULL && strcmp(o->id, id) == 0)
			return cfgn_err(p, f[F_ID].val, "%s: duplicate id '%s' (first at line %u)", sub,
			                id, o->line);
	}
	if (f[F_ADDR].val == NULL)
		return cfgn_err(p, e, "%s: address is required", ctx);
	cfgn_ctx(sub, "%s.address", ctx);
	sv->addrs = list_alloc(p, f[F_ADDR].val, sub, 1, "addresses", sizeof(*sv->addrs), &n, &rc);
	if (rc == 0 && n == 0)
		return cfgn_err(p, f[F_ADDR].val, "%s: expected at least one address", sub);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		char isub[CFGN_CTX_MAX];
		yaml_node_t *a = cfgn_list_at(p, f[F_ADDR].val, i);
		cfgn_item_ctx(isub, sub, f[F_ADDR].val, i);
		sv->n_addrs++;
		if ((rc = cfgn_prefix(p, a, isub, &sv->addrs[i])) != 0)
			break;
		unsigned full = sv->addrs[i].family == AF_INET ? 32 : 128;
		if (sv->addrs[i].prefix_len != full)
			return cfgn_err(p, a, "%s: expected a host address (/%u), got %s", isub, full,
			                GOT(a));
	}
	if (rc != 0)
		return rc;
	if (f[F_PROBE].val != NULL) {
		cfgn_ctx(sub, "%s.probe", ctx);
		sv->probes = list_alloc(p, f[F_PROBE].val, sub, 0, "probes (- name: ...)",
		                        sizeof(*sv->probes), &n, &rc);
		for (size_t i = 0; rc == 0 && i < n; i++) {
			char isub[CFGN_CTX_MAX];
			cfgn_ctx(isub, "%s[%zu]", sub, i);
			sv->n_probes++;
			rc = parse_probe(p, cfgn_list_at(p, f[F_PROBE].val, i), isub, &sv->probes[i]);
		}
		if (rc != 0)
			return rc;
	}
	if (f[F_CRIT].val != NULL) {
		cfgn_ctx(sub, "%s.critical-zone", ctx);
		sv->critical = list_alloc(p, f[F_CRIT].val, sub, 1, "zone names",
		                          sizeof(*sv->critical), &n, &rc);
		for (size_t i = 0; rc == 0 && i < n; i++) {
			char isub[CFGN_CTX_MAX];
			cfgn_item_ctx(isub, sub, f[F_CRIT].val, i);
			sv->n_critical++;
			rc = canon_name(p, cfgn_list_at(p, f[F_CRIT].val, i), isub, &sv->critical[i]);
		}
		if (rc != 0)
			return rc;
	}
	if (f[F_CHECK].val != NULL) {
		cfgn_ctx(sub, "%s.check", ctx);
		sv->checks = list_alloc(p, f[F_CHECK].val, sub, 0, "checks (- command: ...)",
		                        sizeof(*sv->checks), &n, &rc);
		for (size_t i = 0; rc == 0 && i < n; i++) {
			char isub[CFGN_CTX_MAX];
			cfgn_ctx(isub, "%s[%zu]", sub, i);
			sv->n_checks++;
			rc = parse_check(p, cfgn_list_at(p, f[F_CHECK].val, i), isub, &sv->checks[i]);
		}
		if (rc != 0)
			return rc;
	}
	struct { int fi; int ms; uint64_t min, max; uint32_t *out; enum cfgn_kind k; } nums[] = {
		{ F_INTERVAL, 1, 10, 60000, &sv->interval_ms, CFGN_NUM },
		{ F_PTIMEOUT, 1, 1, 10000, &sv->probe_timeout_ms, CFGN_NUM },
		{ F_TRAFFIC, 1, 0, 3600000, &sv->traffic_window_ms, CFGN_NUM },
		{ F_FALL, 0, 1, 100, &sv->fall, CFGN_NUM },
		{ F_RISE, 0, 1, 100, &sv->rise, CFGN_NUM },
		{ F_HOLD, 0, 0, 86400, &sv->hold_down, CFGN_DURATION },
		{ F_HOLDMAX, 0, 0, 7 * 86400, &sv->hold_down_max, CFGN_DURATION },
		{ F_DRAIN, 0, 0, 3600, &sv->drain_time, CFGN_DURATION },
		{ F_STOPDRAIN, 0, 0, 3600, &sv->stop_drain_time, CFGN_DURATION },
		{ F_SIGM, 0, 0, 90 * 86400, &sv->sig_margin, CFGN_DURATION },
		{ F_PORT, 0, 1, 65535, &sv->port, CFGN_NUM },
	};
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		yaml_node_t *v = f[nums[i].fi].val;
		if (v == NULL)
			continue;
		cfgn_ctx(sub, "%s.%s", ctx, f[nums[i].fi].name);
		rc = nums[i].ms ? ms_value(p, v, sub, nums[i].min, nums[i].max, nums[i].out)
		                : num_value(p, v, sub, nums[i].k, nums[i].min, nums[i].max, nums[i].out);
		if (rc != 0)
			return rc;
	}
	if (sv->hold_down_max < sv->hold_down)
		return cfgn_err(p, f[F_HOLDMAX].val != NULL ? f[F_HOLDMAX].val : e,
		                "%s.hold-down-max: expected at least hold-down (%u s)", ctx,
		                sv->hold_down);
	if (f[F_TCP].val != NULL) {
		cfgn_ctx(sub, "%s.tcp-check", ctx);
		if ((rc = cfgn_bool(p, f[F_TCP].val, sub, &sv->tcp_check)) != 0)
			return rc;
	}
	return 0;
}

int cfg_parse_services(struct cfgn *p, yaml_node_t *l)
{
	struct cfg *c = p->cfg;
	size_t n;
	int rc = 0;
	if (l == NULL || cfgn_is_null(l))
		return 0;
	c->services = list_alloc(p, l, "service", 0, "services (- id: ...)", sizeof(*c->services),
	                         &n, &rc);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		char ctx[CFGN_CTX_MAX];
		cfgn_ctx(ctx, "service[%zu]", i);
		c->n_services++;
		rc = parse_service(p, cfgn_list_at(p, l, i), ctx, &c->services[i]);
	}
	return rc;
}

/* A BGP password: the first line of a file that only its owner reads. */
static int read_password(struct cfgn *p, yaml_node_t *v, const char *ctx, char **out)
{
	char gbuf[80], buf[257];
	const char *path = cfgn_text(v);
	if (path == NULL || path[0] != '/')
		return cfgn_err(p, v, "%s: expected an absolute path, got %s", ctx, GOT(v));
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return cfgn_err(p, v, "%s: cannot open '%s': %s", ctx, path, strerror(errno));
	struct stat st;
	ssize_t r = -1;
	const char *why = NULL;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		why = "not a regular file";
	else if ((st.st_mode & 077) != 0)
		why = "readable by group or others (chmod 600)";
	else if ((r = read(fd, buf, sizeof(buf) - 1)) < 0)
		why = "unreadable";
	close(fd);
	if (why != NULL)
		return cfgn_err(p, v, "%s: '%s': %s", ctx, path, why);
	buf[r] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (buf[0] == '\0' || strlen(buf) > 80 || strpbrk(buf, "\"\\") != NULL)
		return cfgn_err(p, v, "%s: '%s': expected one line of 1 to 80 characters without "
		                "quotes or backslashes", ctx, path);
	if ((*out = strdup(buf)) == NULL)
		return cfgn_nomem(p, v);
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

static int parse_neighbor(struct cfgn *p, yaml_node_t *e, const char *ctx, struct cfg_neighbor *nb)
{
	struct cfgn_field f[] = { { .name = "address" }, { .name = "as" },
	                          { .name = "password-file" }, { .name = "bfd" } };
	char sub[CFGN_CTX_MAX], gbuf[80];
	int rc;
	if ((rc = cfgn_fields(p, e, ctx, f, 4)) != 0)
		return rc;
	nb->line = cfgn_line(e);
	nb->bfd = 1;
	if (f[0].val == NULL || f[1].val == NULL)
		return cfgn_err(p, e, "%s: address and as are required", ctx);
	cfgn_ctx(sub, "%s.address", ctx);
	const char *a = cfgn_text(f[0].val);
	rc = a != NULL ? cfgv_addr(a, 179, &nb->addr) : CFGV_BADADDR;
	if (rc != 0)
		return cfgn_err(p, f[0].val, "%s: expected ADDR[@PORT] (an IPv4 or IPv6 address), got %s",
		                sub, GOT(f[0].val));
	cfgn_ctx(sub, "%s.as", ctx);
	if ((rc = num_value(p, f[1].val, sub, CFGN_NUM, 1, UINT32_MAX, &nb->as)) != 0)
		return rc;
	cfgn_ctx(sub, "%s.password-file", ctx);
	if (f[2].val != NULL && (rc = read_password(p, f[2].val, sub, &nb->password)) != 0)
		return rc;
	cfgn_ctx(sub, "%s.bfd", ctx);
	if (f[3].val != NULL && (rc = cfgn_bool(p, f[3].val, sub, &nb->bfd)) != 0)
		return rc;
	return 0;
}

int cfg_parse_bgp(struct cfgn *p, yaml_node_t *m)
{
	struct cfg_bgp *b = &p->cfg->bgp;
	enum { F_RID, F_AS, F_SOCK, F_CONF, F_BFDI, F_BFDM, F_NB, NF };
	struct cfgn_field f[NF] = {
		[F_RID] = { .name = "router-id" }, [F_AS] = { .name = "local-as" },
		[F_SOCK] = { .name = "socket" }, [F_CONF] = { .name = "config-file" },
		[F_BFDI] = { .name = "bfd-interval" }, [F_BFDM] = { .name = "bfd-multiplier" },
		[F_NB] = { .name = "neighbor" },
	};
	char gbuf[80];
	size_t n;
	int rc;
	if (m == NULL || cfgn_is_null(m))
		return 0;
	if ((rc = cfgn_fields(p, m, "bgp", f, NF)) != 0)
		return rc;
	b->present = 1;
	b->line = cfgn_line(m);
	b->bfd_interval_ms = 100;
	b->bfd_multiplier = 3;
	if (f[F_RID].val == NULL || f[F_AS].val == NULL)
		return cfgn_err(p, m, "bgp: router-id and local-as are required");
	const char *rid = cfgn_text(f[F_RID].val);
	if (rid == NULL || cfgv_addr(rid, 0, &b->router_id) != 0 ||
	    b->router_id.ss.ss_family != AF_INET || strchr(rid, '@') != NULL)
		return cfgn_err(p, f[F_RID].val, "bgp.router-id: expected an IPv4 address, got %s",
		                GOT(f[F_RID].val));
	if ((rc = num_value(p, f[F_AS].val, "bgp.local-as", CFGN_NUM, 1, UINT32_MAX,
	                    &b->local_as)) != 0)
		return rc;
	if (f[F_SOCK].val != NULL && (rc = cfgn_path(p, f[F_SOCK].val, "bgp.socket", 107,
	                                             &b->socket)) != 0)
		return rc;
	if (f[F_CONF].val != NULL && (rc = cfgn_path(p, f[F_CONF].val, "bgp.config-file", 0,
	                                             &b->config_file)) != 0)
		return rc;
	if (f[F_BFDI].val != NULL && (rc = ms_value(p, f[F_BFDI].val, "bgp.bfd-interval", 10, 10000,
	                                            &b->bfd_interval_ms)) != 0)
		return rc;
	if (f[F_BFDM].val != NULL && (rc = num_value(p, f[F_BFDM].val, "bgp.bfd-multiplier",
	                                             CFGN_NUM, 1, 255, &b->bfd_multiplier)) != 0)
		return rc;
	if (b->socket == NULL && (b->socket = strdup("/run/bird/bird.ctl")) == NULL)
		return cfgn_nomem(p, m);
	if (f[F_NB].val != NULL) {
		b->neighbors = list_alloc(p, f[F_NB].val, "bgp.neighbor", 0,
		                          "neighbors (- address: ...)", sizeof(*b->neighbors), &n, &rc);
		for (size_t i = 0; rc == 0 && i < n; i++) {
			char ctx[CFGN_CTX_MAX];
			cfgn_ctx(ctx, "bgp.neighbor[%zu]", i);
			b->n_neighbors++;
			rc = parse_neighbor(p, cfgn_list_at(p, f[F_NB].val, i), ctx, &b->neighbors[i]);
		}
	}
	return rc;
}

void cfg_anycast_free(struct cfg *c)
{
	for (unsigned i = 0; i < c->n_services; i++) {
		struct cfg_service *sv = &c->services[i];
		free(sv->id);
		free(sv->addrs);
		for (unsigned k = 0; k < sv->n_probes; k++) {
			free(sv->probes[k].name);
			free(sv->probes[k].expect);
		}
		free(sv->probes);
		for (unsigned k = 0; k < sv->n_critical; k++)
			free(sv->critical[k]);
		free(sv->critical);
		for (unsigned k = 0; k < sv->n_checks; k++)
			free(sv->checks[k].command);
		free(sv->checks);
	}
	free(c->services);
	free(c->bgp.socket);
	free(c->bgp.config_file);
	for (unsigned i = 0; i < c->bgp.n_neighbors; i++) {
		if (c->bgp.neighbors[i].password != NULL)
			explicit_bzero(c->bgp.neighbors[i].password, strlen(c->bgp.neighbors[i].password));
		free(c->bgp.neighbors[i].password);
	}
	free(c->bgp.neighbors);
}
