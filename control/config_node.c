/* config_node.c: reading the YAML nodes of the configuration: typed
 * values and mappings, each error as "file:line: context: expected ..., got
 * ..." (config_int.h). */
#include "config_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error.h"

unsigned cfgn_line(const yaml_node_t *n)
{
	return n != NULL ? (unsigned)n->start_mark.line + 1 : 1;
}

int cfgn_err(struct cfgn *p, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ed_seterr(p->err, p->errlen, "%s:%u: %s", p->path, cfgn_line(n), msg);
	return ED_EINVAL;
}

void cfgn_ctx(char *buf, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, CFGN_CTX_MAX, fmt, ap);
	va_end(ap);
}

int cfgn_nomem(struct cfgn *p, const yaml_node_t *n)
{
	cfgn_err(p, n, "out of memory");
	return ED_ENOMEM;
}

int cfgn_is_null(const yaml_node_t *n)
{
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	const char *s = (const char *)n->data.scalar.value;
	return *s == '\0' || strcmp(s, "~") == 0 || strcasecmp(s, "null") == 0;
}

const char *cfgn_text(const yaml_node_t *n)
{
	if (n->type != YAML_SCALAR_NODE || cfgn_is_null(n) ||
	    strlen((const char *)n->data.scalar.value) != n->data.scalar.length)
		return NULL;
	return (const char *)n->data.scalar.value;
}

const char *cfgn_got(const yaml_node_t *n, char *buf, size_t size)
{
	if (n->type == YAML_SEQUENCE_NODE)
		return "a list";
	if (n->type == YAML_MAPPING_NODE)
		return "a mapping";
	if (cfgn_is_null(n))
		return "nothing";
	const unsigned char *s = n->data.scalar.value;
	size_t len = n->data.scalar.length, o = 0, i = 0;
	buf[o++] = '\'';
	for (; i < len && o + 5 < size; i++)
		buf[o++] = s[i] >= 0x20 && s[i] < 0x7f ? (char)s[i] : '?';
	if (i < len) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o++] = '\'';
	buf[o] = '\0';
	return buf;
}

/* ---- mappings and lists ------------------------------------------------- */

int cfgn_fields(struct cfgn *p, yaml_node_t *map, const char *ctx, struct cfgn_field *f,
                size_t nf)
{
	char gbuf[80];
	const char *sep = *ctx != '\0' ? ": " : "";
	for (size_t i = 0; i < nf; i++)
		f[i].key = f[i].val = NULL;
	if (map->type != YAML_MAPPING_NODE)
		return cfgn_err(p, map, "%s%sexpected a mapping (key: value), got %s", ctx, sep, GOT(map));
	for (yaml_node_pair_t *pr = map->data.mapping.pairs.start;
	     pr < map->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = yaml_document_get_node(p->doc, pr->key);
		yaml_node_t *v = yaml_document_get_node(p->doc, pr->value);
		const char *name = k != NULL ? cfgn_text(k) : NULL;
		if (name == NULL || v == NULL)
			return cfgn_err(p, k != NULL ? k : map, "%s%sexpected a key (a string), got %s", ctx,
			                sep, k != NULL ? GOT(k) : "nothing");
		size_t i = 0;
		while (i < nf && strcmp(f[i].name, name) != 0)
			i++;
		if (i == nf) {
			char names[400];
			size_t o = 0;
			for (size_t j = 0; j < nf && o < sizeof(names); j++)
				o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s",
				                      j == 0 ? "" : j + 1 == nf ? " or " : ", ", f[j].name);
			return cfgn_err(p, k, "%s%sunknown key %s (expected %s)", ctx, sep, GOT(k), names);
		}
		if (f[i].key != NULL)
			return cfgn_err(p, k, "%s%sduplicate key '%s' (first at line %u)", ctx, sep, name,
			                cfgn_line(f[i].key));
		f[i].key = k;
		f[i].val = v;
	}
	return 0;
}

size_t cfgn_list_len(const yaml_node_t *v)
{
	if (v->type == YAML_SEQUENCE_NODE)
		return (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	return cfgn_is_null(v) ? 0 : 1;
}

yaml_node_t *cfgn_list_at(struct cfgn *p, yaml_node_t *v, size_t i)
{
	if (v->type == YAML_SEQUENCE_NODE)
		return yaml_document_get_node(p->doc, v->data.sequence.items.start[i]);
	return v;
}

void cfgn_item_ctx(char *buf, const char *ctx, const yaml_node_t *v, size_t i)
{
	if (v->type == YAML_SEQUENCE_NODE)
		cfgn_ctx(buf, "%s[%zu]", ctx, i);
	else
		cfgn_ctx(buf, "%s", ctx);
}

int cfgn_check_list(struct cfgn *p, yaml_node_t *v, const char *ctx, int one_ok,
                    const char *what)
{
	char gbuf[80];
	if (v->type == YAML_SEQUENCE_NODE || cfgn_is_null(v) || (one_ok && v->type == YAML_SCALAR_NODE))
		return 0;
	return cfgn_err(p, v, "%s: expected a list of %s, got %s", ctx, what, GOT(v));
}

/* ---- scalars ------------------------------------------------------------ */

int cfgn_str(struct cfgn *p, yaml_node_t *v, const char *ctx, const char *what,
             char **out)
{
	char gbuf[80];
	const char *s = cfgn_text(v);
	int ok = s != NULL && *s != '\0';
	for (const unsigned char *c = (const unsigned char *)s; ok && *c != '\0'; c++)
		ok = *c >= 0x20 && *c != 0x7f;
	if (!ok)
		return cfgn_err(p, v, "%s: expected %s, got %s", ctx, what, GOT(v));
	free(*out);
	if ((*out = strdup(s)) == NULL)
		return cfgn_nomem(p, v);
	return 0;
}

int cfgn_path(struct cfgn *p, yaml_node_t *v, const char *ctx, size_t maxlen,
              char **out)
{
	int rc = cfgn_str(p, v, ctx, "an absolute path", out);
	if (rc != 0)
		return rc;
	if ((*out)[0] != '/')
		return cfgn_err(p, v, "%s: expected an absolute path, got '%s'", ctx, *out);
	if (maxlen != 0 && strlen(*out) > maxlen)
		return cfgn_err(p, v, "%s: expected a socket path of at most %zu characters, got %zu",
		                ctx, maxlen, strlen(*out));
	return 0;
}

int cfgn_bool(struct cfgn *p, yaml_node_t *v, const char *ctx, int *out)
{
	char gbuf[80];
	const char *s = cfgn_text(v);
	if (s == NULL || cfgv_bool(s, out) != 0)
		return cfgn_err(p, v, "%s: expected true or false, got %s", ctx, GOT(v));
	return 0;
}

int cfgn_num(struct cfgn *p, yaml_node_t *v, const char *ctx, enum cfgn_kind k, uint64_t min,
             uint64_t max, uint64_t *out)
{
	char gbuf[80], lo[32], hi[32];
	const char *s = cfgn_text(v);
	int rc = -1;
	const char *form = "a number";
	switch (k) {
	case CFGN_NUM:
		rc = s != NULL ? cfgv_u64(s, out) : -1;
		snprintf(lo, sizeof(lo), "%llu", (unsigned long long)min);
		snprintf(hi, sizeof(hi), "%llu", (unsigned long long)max);
		break;
	case CFGN_DURATION:
		rc = s != NULL ? cfgv_duration(s, out) : -1;
		form = "a duration (N, Ns, Nm, Nh, Nd or Nw)";
		cfgv_fmt_duration(min, lo, sizeof(lo));
		cfgv_fmt_duration(max, hi, sizeof(hi));
		break;
	case CFGN_SIZE:
		rc = s != NULL ? cfgv_size(s, out) : -1;
		form = "a size (N, NK, NM or NG; 1024-based)";
		cfgv_fmt_size(min, lo, sizeof(lo));
		cfgv_fmt_size(max, hi, sizeof(hi));
		break;
	case CFGN_PERCENT:
		rc = s != NULL ? cfgv_percent(s, out) : -1;
		form = "a percentage";
		snprintf(lo, sizeof(lo), "%llu%%", (unsigned long long)min);
		snprintf(hi, sizeof(hi), "%llu%%", (unsigned long long)max);
		break;
	}
	if (rc != 0 || *out < min || *out > max)
		return cfgn_err(p, v, "%s: expected %s from %s to %s, got %s", ctx, form, lo, hi, GOT(v));
	return 0;
}

int cfgn_addr(struct cfgn *p, yaml_node_t *v, const char *ctx, struct cfg_addr *a)
{
	char gbuf[80];
	const char *s = cfgn_text(v);
	int rc = s != NULL ? cfgv_addr(s, 53, a) : CFGV_BADADDR;
	if (rc == CFGV_BADPORT)
		return cfgn_err(p, v, "%s: expected a port from 1 to 65535 after '@', got %s", ctx,
		                GOT(v));
	if (rc != 0)
		return cfgn_err(p, v, "%s: expected ADDR[@PORT] (an IPv4 or IPv6 address), got %s", ctx,
		                GOT(v));
	return 0;
}

int cfgn_prefix(struct cfgn *p, yaml_node_t *v, const char *ctx, struct cfg_prefix *pf)
{
	char gbuf[80], want[64];
	const char *s = cfgn_text(v);
	int rc = s != NULL ? cfgv_prefix(s, pf) : CFGV_BADADDR;
	switch (rc) {
	case 0:
		return 0;
	case CFGV_BADLEN:
		return cfgn_err(p, v, "%s: expected a prefix length from 0 to %u after '/', got %s", ctx,
		                memchr(s, ':', strlen(s)) != NULL ? 128 : 32, GOT(v));
	case CFGV_HOSTBITS:
		cfgv_prefix_str(pf, want, sizeof(want));
		return cfgn_err(p, v, "%s: %s has bits set past /%u (expected %s)", ctx, GOT(v),
		                pf->prefix_len, want);
	}
	return cfgn_err(p, v,
	                "%s: expected ADDR or ADDR/LEN (an IPv4 or IPv6 address or prefix), got %s",
	                ctx, GOT(v));
}

int cfgn_dname(struct cfgn *p, yaml_node_t *v, const char *ctx, const char *what,
               uint8_t *wire, size_t *len)
{
	char gbuf[80];
	const char *s = cfgn_text(v);
	if (s == NULL || (*len = cfgv_dname(s, wire)) == 0)
		return cfgn_err(p, v, "%s: expected %s, got %s", ctx, what, GOT(v));
	return 0;
}

