/* birdconf.c: bird.conf from struct birdconf and the templates of
 * bgp/templates/ (compiled in as birdconf_tmpl_* by the Makefile). */
#include "birdconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bird.h"
#include "error.h"

/* bgp/templates/NAME.in, generated into $(B)/bgp/templates.c */
extern const char birdconf_tmpl_bird_conf[];
extern const char birdconf_tmpl_bfd_conf[];
extern const char birdconf_tmpl_service_conf[];
extern const char birdconf_tmpl_neighbor_conf[];

/* ---- a growing string ------------------------------------------------------- */

struct sbuf {
	char *p;
	size_t len, cap;
	bool nomem;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->nomem)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (p == NULL) {
			b->nomem = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3)))
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		b->nomem = true;   /* our lines are short: a bug, fail loudly */
		return;
	}
	sb_add(b, tmp, (size_t)n);
}

/* ---- the template expander --------------------------------------------------- */

struct kv {
	const char *key;
	const char *val;
};

static const char *lookup(const struct kv *kv, size_t n, const char *key, size_t klen)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(kv[i].key) == klen && memcmp(kv[i].key, key, klen) == 0)
			return kv[i].val ? kv[i].val : "";
	return NULL;
}

/* Expand tmpl into b: "@KEY@" is the value of KEY, a line beginning with
 * "@?KEY@" is kept only when KEY is not empty, one beginning with "@!KEY@"
 * only when it is, lines beginning with "##" are dropped. An unknown key
 * is a bug in a template: ED_EINVAL. */
static int expand(struct sbuf *b, const char *tmpl, const struct kv *kv, size_t n, char *err,
                  size_t errlen)
{
	const char *line = tmpl;
	while (*line) {
		const char *end = strchr(line, '\n');
		end = end ? end + 1 : line + strlen(line);
		const char *p = line;
		if (strncmp(p, "##", 2) == 0) {
			line = end;
			continue;
		}
		if (strncmp(p, "@?", 2) == 0 || strncmp(p, "@!", 2) == 0) {
			bool want = p[1] == '?';
			const char *k = p + 2, *ke = memchr(k, '@', (size_t)(end - k));
			const char *v = ke ? lookup(kv, n, k, (size_t)(ke - k)) : NULL;
			if (v == NULL) {
				ed_seterr(err, errlen, "template: bad condition in '%.*s'",
				          (int)(end - line - 1), line);
				return ED_EINVAL;
			}
			if ((v[0] != '\0') != want) {
				line = end;
				continue;
			}
			p = ke + 1;
		}
		while (p < end) {
			const char *at = memchr(p, '@', (size_t)(end - p));
			if (at == NULL) {
				sb_add(b, p, (size_t)(end - p));
				break;
			}
			sb_add(b, p, (size_t)(at - p));
			const char *ke = memchr(at + 1, '@', (size_t)(end - at - 1));
			const char *v = ke ? lookup(kv, n, at + 1, (size_t)(ke - at - 1)) : NULL;
			if (v == NULL) {
				ed_seterr(err, errlen, "template: unknown placeholder in '%.*s'",
				          (int)(end - line - 1), line);
				return ED_EINVAL;
			}
			sb_str(b, v);
			p = ke + 1;
		}
		line = end;
	}
	return 0;
}

/* ---- checks ------------------------------------------------------------------ */

static int bad(char *err, size_t errlen, const char *ctx, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int bad(char *err, size_t errlen, const char *ctx, const char *fmt, ...)
{
	char msg[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ed_seterr(err, errlen, "%s%s%s", ctx, ctx[0] ? ": " : "", msg);
	return ED_EINVAL;
}

static int addr_family(const char *s)
{
	unsigned char a[16];
	if (s == NULL)
		return 0;
	if (inet_pton(AF_INET, s, a) == 1)
		return 4;
	if (inet_pton(AF_INET6, s, a) == 1)
		return 6;
	return 0;
}

static bool iface_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 15)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.'))
			return false;
	}
	return true;
}

static bool text_ok(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\')
			return false;
	}
	return true;
}

/* Service names go into protocol names "anycast_" NAME "_4": 8 + 2 more. */
#define SVC_NAME_MAX (BIRD_NAME_MAX - 10)
#define NEIGH_NAME_MAX (BIRD_NAME_MAX - 4)

static bool short_name_ok(const char *s, size_t max)
{
	return s != NULL && strlen(s) <= max && bird_name_ok(s);
}

/* The neighbour's name, given or from its address ("2001_db8__1"), into
 * buf (NEIGH_NAME_MAX + 1). */
static void neighbor_name(const struct birdconf_neighbor *nb, char *buf)
{
	if (nb->name != NULL) {
		snprintf(buf, NEIGH_NAME_MAX + 1, "%s", nb->name);
		return;
	}
	unsigned char a[16];
	char txt[INET6_ADDRSTRLEN] = "";
	if (inet_pton(AF_INET, nb->address, a) == 1)
		inet_ntop(AF_INET, a, txt, sizeof(txt));
	else if (inet_pton(AF_INET6, nb->address, a) == 1)
		inet_ntop(AF_INET6, a, txt, sizeof(txt));
	for (char *p = txt; *p; p++)
		if (*p == '.' || *p == ':')
			*p = '_';
	snprintf(buf, NEIGH_NAME_MAX + 1, "%s", txt);
}

static int check_prefixes(const char *ctx, const char *const *v, size_t n, int family,
                          char *err, size_t errlen)
{
	if (n > 0 && v == NULL)
		return bad(err, errlen, ctx, "prefix list missing");
	for (size_t i = 0; i < n; i++) {
		char norm[64];
		int fam;
		if (v[i] == NULL || bird_prefix_norm(v[i], norm, sizeof(norm), &fam) < 0)
			return bad(err, errlen, ctx, "'%.60s' is not a prefix (or has host bits set)",
			           v[i] ? v[i] : "(null)");
		if (fam != family)
			return bad(err, errlen, ctx, "'%.60s' is not an IPv%d prefix", v[i], family);
	}
	return 0;
}

int birdconf_check(const struct birdconf *cf, char *err, size_t errlen)
{
	if (addr_family(cf->router_id) != 4)
		return bad(err, errlen, "", "router id '%.60s' is not an IPv4 address",
		           cf->router_id ? cf->router_id : "(none)");
	if (cf->local_as == 0)
		return bad(err, errlen, "", "local AS missing");
	if (cf->n_neighbors > 0 && cf->neighbors == NULL)
		return bad(err, errlen, "", "neighbor list missing");
	if (cf->n_services > 0 && cf->services == NULL)
		return bad(err, errlen, "", "service list missing");
	if (cf->bfd_interval_ms > 0 && (cf->bfd_interval_ms < 10 || cf->bfd_interval_ms > 10000))
		return bad(err, errlen, "", "bfd interval %u ms not in 10..10000",
		           cf->bfd_interval_ms);
	if (cf->bfd_multiplier > 255)
		return bad(err, errlen, "", "bfd multiplier %u not in 1..255", cf->bfd_multiplier);
	if (cf->control_socket && !text_ok(cf->control_socket, 107))
		return bad(err, errlen, "", "control socket path not printable or too long");
	if (cf->log && !text_ok(cf->log, 4000))
		return bad(err, errlen, "", "log destination not printable");

	for (size_t i = 0; i < cf->n_neighbors; i++) {
		const struct birdconf_neighbor *nb = &cf->neighbors[i];
		char ctx[100];
		snprintf(ctx, sizeof(ctx), "neighbor[%zu] '%.40s'", i,
		         nb->name ? nb->name : nb->address ? nb->address : "");
		int fam = addr_family(nb->address);
		if (fam == 0)
			return bad(err, errlen, ctx, "address '%.60s' is not an IPv4 or IPv6 address",
			           nb->address ? nb->address : "(none)");
		if (nb->name != NULL && !short_name_ok(nb->name, NEIGH_NAME_MAX))
			return bad(err, errlen, ctx, "name must be 1 to %d letters, digits or '_', "
			           "beginning with a letter", NEIGH_NAME_MAX);
		char name[NEIGH_NAME_MAX + 1], other[NEIGH_NAME_MAX + 1];
		neighbor_name(nb, name);
		for (size_t j = 0; j < i; j++) {
			neighbor_name(&cf->neighbors[j], other);
			if (strcmp(other, name) == 0)
				return bad(err, errlen, ctx, "name bgp_%s used twice", name);
		}
		if (nb->port > 65535)
			return bad(err, errlen, ctx, "port %u not in 1..65535", nb->port);
		if (nb->remote_as == 0)
			return bad(err, errlen, ctx, "remote AS missing");
		if (nb->password && !text_ok(nb->password, 80))
			return bad(err, errlen, ctx, "password: 1 to 80 printable characters, "
			           "no '\"' or '\\'");
		if (nb->source && addr_family(nb->source) != fam)
			return bad(err, errlen, ctx, "source '%.60s' is not an IPv%d address",
			           nb->source, fam);
		if (nb->interface && !iface_ok(nb->interface))
			return bad(err, errlen, ctx, "interface '%.40s' is not an interface name",
			           nb->interface);
		if (fam == 6 && strncasecmp(nb->address, "fe80:", 5) == 0 && !nb->interface)
			return bad(err, errlen, ctx, "a link-local address needs an interface");
		if (nb->multihop > 255)
			return bad(err, errlen, ctx, "multihop %u not in 1..255", nb->multihop);
		if (nb->hold_time != 0 && (nb->hold_time < 3 || nb->hold_time > 65535))
			return bad(err, errlen, ctx, "hold time %u not in 3..65535", nb->hold_time);
		if (nb->bfd > BIRDCONF_BFD_OFF)
			return bad(err, errlen, ctx, "bad bfd setting");
	}
	for (size_t i = 0; i < cf->n_services; i++) {
		const struct birdconf_service *s = &cf->services[i];
		char ctx[100];
		snprintf(ctx, sizeof(ctx), "service[%zu] '%.40s'", i, s->name ? s->name : "");
		if (!short_name_ok(s->name, SVC_NAME_MAX))
			return bad(err, errlen, ctx, "name must be 1 to %d letters, digits or '_', "
			           "beginning with a letter", SVC_NAME_MAX);
		for (size_t j = 0; j < i; j++)
			if (strcmp(cf->services[j].name, s->name) == 0)
				return bad(err, errlen, ctx, "name used twice");
		int rc = check_prefixes(ctx, s->prefixes4, s->n4, 4, err, errlen);
		if (rc == 0)
			rc = check_prefixes(ctx, s->prefixes6, s->n6, 6, err, errlen);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int birdconf_proto_name(const char *svc, const char *kind, int family, char *buf,
                        size_t buflen)
{
	if (!short_name_ok(svc, SVC_NAME_MAX) || (family != 4 && family != 6) ||
	    (strcmp(kind, "anycast") != 0 && strcmp(kind, "gshut") != 0))
		return ED_EINVAL;
	int n = snprintf(buf, buflen, "%s_%s_%d", kind, svc, family);
	return n < 0 || (size_t)n >= buflen ? ED_EINVAL : 0;
}

/* ---- rendering ----------------------------------------------------------------- */

static void route_lines(struct sbuf *b, const char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char norm[64];
		bird_prefix_norm(v[i], norm, sizeof(norm), NULL);
		sb_printf(b, "\troute %s blackhole;\n", norm);
	}
}

static int render_service(struct sbuf *out, const struct birdconf_service *s, char *err,
                          size_t errlen)
{
	struct sbuf r4 = { 0 }, r6 = { 0 };
	route_lines(&r4, s->prefixes4, s->n4);
	route_lines(&r6, s->prefixes6, s->n6);
	char pa[16], pg[16];
	snprintf(pa, sizeof(pa), "%d", BIRDCONF_PREF_ANYCAST);
	snprintf(pg, sizeof(pg), "%d", BIRDCONF_PREF_GSHUT);
	struct kv kv[] = {
		{ "NAME", s->name }, { "ROUTES4", r4.p }, { "ROUTES6", r6.p },
		{ "PREF_ANYCAST", pa }, { "PREF_GSHUT", pg },
	};
	int rc = r4.nomem || r6.nomem ? ED_ENOMEM
	         : expand(out, birdconf_tmpl_service_conf, kv, sizeof(kv) / sizeof(kv[0]), err,
	                  errlen);
	free(r4.p);
	free(r6.p);
	return rc;
}

static int render_neighbor(struct sbuf *out, const struct birdconf *cf,
                           const struct birdconf_neighbor *nb, char *err, size_t errlen)
{
	char las[16], ras[16], mh[16] = "", hold[16], ka[16], port[16] = "";
	char name[NEIGH_NAME_MAX + 1];
	neighbor_name(nb, name);
	if (nb->port && nb->port != 179)
		snprintf(port, sizeof(port), "%u", nb->port);
	snprintf(las, sizeof(las), "%u", cf->local_as);
	snprintf(ras, sizeof(ras), "%u", nb->remote_as);
	if (nb->multihop)
		snprintf(mh, sizeof(mh), "%u", nb->multihop);
	unsigned h = nb->hold_time ? nb->hold_time : BIRDCONF_DEFAULT_HOLD_TIME;
	snprintf(hold, sizeof(hold), "%u", h);
	snprintf(ka, sizeof(ka), "%u", h / 3 ? h / 3 : 1);
	struct kv kv[] = {
		{ "NAME", name }, { "ADDRESS", nb->address }, { "PORT", port }, { "REMOTE_AS", ras },
		{ "LOCAL_AS", las }, { "AF", addr_family(nb->address) == 4 ? "ipv4" : "ipv6" },
		{ "BFD", nb->bfd == BIRDCONF_BFD_OFF ? "off" : "on" },
		{ "HOLD_TIME", hold }, { "KEEPALIVE_TIME", ka },
		{ "INTERFACE", nb->interface }, { "SOURCE", nb->source }, { "MULTIHOP", mh },
		{ "PASSWORD", nb->password },
	};
	return expand(out, birdconf_tmpl_neighbor_conf, kv, sizeof(kv) / sizeof(kv[0]), err,
	              errlen);
}

int birdconf_render(const struct birdconf *cf, char **out, size_t *outlen, char *err,
                    size_t errlen)
{
	*out = NULL;
	*outlen = 0;
	int rc = birdconf_check(cf, err, errlen);
	if (rc < 0)
		return rc;

	struct sbuf bfd = { 0 }, rules = { 0 }, svcs = { 0 }, nbs = { 0 }, all = { 0 };
	bool any_bfd = false;
	for (size_t i = 0; i < cf->n_neighbors; i++)
		any_bfd |= cf->neighbors[i].bfd != BIRDCONF_BFD_OFF;
	if (any_bfd) {
		char iv[16], mult[16];
		snprintf(iv, sizeof(iv), "%u", cf->bfd_interval_ms ? cf->bfd_interval_ms
		         : BIRDCONF_DEFAULT_BFD_INTERVAL_MS);
		snprintf(mult, sizeof(mult), "%u", cf->bfd_multiplier ? cf->bfd_multiplier
		         : BIRDCONF_DEFAULT_BFD_MULTIPLIER);
		struct kv kv[] = { { "INTERVAL_MS", iv }, { "MULTIPLIER", mult } };
		rc = expand(&bfd, birdconf_tmpl_bfd_conf, kv, 2, err, errlen);
	}
	for (size_t i = 0; rc == 0 && i < cf->n_services; i++) {
		const char *nm = cf->services[i].name;
		sb_printf(&rules, "\tif proto = \"anycast_%s_4\" then accept;\n", nm);
		sb_printf(&rules, "\tif proto = \"anycast_%s_6\" then accept;\n", nm);
		sb_printf(&rules, "\tif proto = \"gshut_%s_4\" then accept;\n", nm);
		sb_printf(&rules, "\tif proto = \"gshut_%s_6\" then accept;\n", nm);
		rc = render_service(&svcs, &cf->services[i], err, errlen);
	}
	for (size_t i = 0; rc == 0 && i < cf->n_neighbors; i++)
		rc = render_neighbor(&nbs, cf, &cf->neighbors[i], err, errlen);

	char logdest[4100];
	if (cf->log == NULL || strcmp(cf->log, "syslog") == 0)
		snprintf(logdest, sizeof(logdest), "syslog name \"bird\"");
	else if (strcmp(cf->log, "stderr") == 0)
		snprintf(logdest, sizeof(logdest), "stderr");
	else
		snprintf(logdest, sizeof(logdest), "\"%s\"", cf->log);

	if (rc == 0) {
		struct kv kv[] = {
			{ "ROUTER_ID", cf->router_id }, { "LOG", logdest },
			{ "SOCKET", cf->control_socket }, { "BFD", bfd.p },
			{ "EXPORT_RULES", rules.p }, { "SERVICES", svcs.p }, { "NEIGHBORS", nbs.p },
		};
		rc = expand(&all, birdconf_tmpl_bird_conf, kv, sizeof(kv) / sizeof(kv[0]), err,
		            errlen);
	}
	if (rc == 0 && (bfd.nomem || rules.nomem || svcs.nomem || nbs.nomem || all.nomem)) {
		ed_seterr(err, errlen, "out of memory");
		rc = ED_ENOMEM;
	}
	free(bfd.p);
	free(rules.p);
	free(svcs.p);
	free(nbs.p);
	if (rc < 0) {
		free(all.p);
		return rc;
	}
	*out = all.p;
	*outlen = all.len;
	return 0;
}

int birdconf_write_file(const char *path, const char *text, size_t len, unsigned mode,
                        char *err, size_t errlen)
{
	size_t pl = strlen(path);
	char *tmp = malloc(pl + 16), *dir = strdup(path);
	if (tmp == NULL || dir == NULL) {
		free(tmp);
		free(dir);
		ed_seterr(err, errlen, "out of memory");
		return ED_ENOMEM;
	}
	snprintf(tmp, pl + 16, "%s.tmp.XXXXXX", path);
	int fd = mkstemp(tmp);
	const char *what = "create";
	if (fd < 0)
		goto fail;
	what = "write";
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, text + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail;
		off += (size_t)w;
	}
	what = "fsync";
	if (fchmod(fd, (mode_t)mode) < 0 || fsync(fd) < 0)
		goto fail;
	what = "close";
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	what = "rename";
	if (rename(tmp, path) < 0)
		goto fail;
	int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	free(tmp);
	free(dir);
	return 0;
fail:
	ed_seterr(err, errlen, "%s: %s: %s", path, what, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(tmp);
	free(dir);
	return ED_EIO;
}

int birdconf_write(const struct birdconf *cf, const char *path, char *err, size_t errlen)
{
	char *text;
	size_t len;
	int rc = birdconf_render(cf, &text, &len, err, errlen);
	if (rc < 0)
		return rc;
	rc = birdconf_write_file(path, text, len, 0644, err, errlen);
	free(text);
	return rc;
}
