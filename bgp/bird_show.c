/* bird_show.c: the BIRD commands edgedns uses and the parsers of their
 * replies: show protocols, enable/disable, configure, show status, show
 * route. Dispatch is on reply codes; text is read only for the rows. */
#include "bird.h"
#include "bird_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

/* BIRD's reply codes (doc/reply_codes). */
enum {
	RC_OK = 0,
	RC_RECONFIGURED = 3,
	RC_RECONF_PROGRESS = 4,
	RC_RECONF_QUEUED = 5,
	RC_RECONF_SHUTDOWN = 6,
	RC_ALREADY_DISABLED = 8,
	RC_DISABLED = 9,
	RC_ALREADY_ENABLED = 10,
	RC_ENABLED = 11,
	RC_STATUS = 13,
	RC_CONFIG_OK = 20,
	RC_VERSION = 1000,
	RC_PROTO_LIST = 1002,
	RC_ROUTE_LIST = 1007,
	RC_ROUTE_DETAIL = 1008,
	RC_UPTIME = 1011,
	RC_ROUTE_ATTRS = 1012,
	RC_NOT_FOUND = 8001,
	RC_NO_PROTOCOLS = 8003,
};

/* Copy at most n octets of s (cut to fit dst). */
static void copyn(char *dst, size_t dstlen, const char *s, size_t n)
{
	if (n >= dstlen)
		n = dstlen - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

static const char *skip_sp(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* The next blank-separated token of *s into dst; false when none. */
static bool token(const char **s, char *dst, size_t dstlen)
{
	const char *p = skip_sp(*s);
	const char *e = p;
	while (*e && *e != ' ' && *e != '\t')
		e++;
	if (e == p)
		return false;
	copyn(dst, dstlen, p, (size_t)(e - p));
	*s = e;
	return true;
}

/* ---- show protocols --------------------------------------------------------- */

/* "%-10s %-10s %-10s %-6s %-12s  %s": name, proto, table, state are one
 * token each; since may hold one blank ("iso long" time format); info
 * follows after at least two blanks. */
static int parse_proto_row(const char *s, struct bird_protocol *p)
{
	memset(p, 0, sizeof(*p));
	if (!token(&s, p->name, sizeof(p->name)) || !token(&s, p->proto, sizeof(p->proto)) ||
	    !token(&s, p->table, sizeof(p->table)) || !token(&s, p->state, sizeof(p->state)))
		return ED_EFORMAT;
	s = skip_sp(s);
	const char *e = strstr(s, "  ");
	if (e == NULL)
		e = s + strlen(s);
	copyn(p->since, sizeof(p->since), s, (size_t)(e - s));
	s = skip_sp(e);
	size_t n = strlen(s);
	while (n > 0 && s[n - 1] == ' ')
		n--;
	copyn(p->info, sizeof(p->info), s, n);
	return 0;
}

int bird_show_protocols(bird_conn_t *c, const char *pattern, struct bird_protocols *out,
                        char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	char cmd[BIRD_CMD_MAX + 1];
	if (pattern != NULL && !bird_quotable(pattern)) {
		ed_seterr(err, errlen, "bird: bad protocol pattern");
		return ED_EINVAL;
	}
	if (pattern != NULL)
		snprintf(cmd, sizeof(cmd), "show protocols \"%s\"", pattern);
	else
		snprintf(cmd, sizeof(cmd), "show protocols");
	struct bird_reply r;
	int rc = bird_command(c, cmd, &r, err, errlen);
	if (rc == ED_ERCODE && r.code == RC_NO_PROTOCOLS) {
		bird_reply_free(&r);
		return 0;
	}
	if (rc < 0)
		goto out;
	size_t rows = 0;
	for (size_t i = 0; i < r.n; i++)
		rows += r.lines[i].code == RC_PROTO_LIST;
	if (rows > 0 && (out->v = calloc(rows, sizeof(*out->v))) == NULL) {
		rc = ED_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < r.n; i++) {
		if (r.lines[i].code != RC_PROTO_LIST)
			continue;
		if (parse_proto_row(r.lines[i].text, &out->v[out->n]) < 0) {
			ed_seterr(err, errlen, "bird: malformed protocol row '%.60s'", r.lines[i].text);
			rc = ED_EFORMAT;
			goto out;
		}
		out->n++;
	}
out:
	bird_reply_free(&r);
	if (rc < 0)
		bird_protocols_free(out);
	return rc;
}

void bird_protocols_free(struct bird_protocols *p)
{
	if (p == NULL)
		return;
	free(p->v);
	memset(p, 0, sizeof(*p));
}

const struct bird_protocol *bird_protocols_find(const struct bird_protocols *p, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->v[i].name, name) == 0)
			return &p->v[i];
	return NULL;
}

/* ---- BGP sessions ----------------------------------------------------------- */

enum { RC_PROTO_DETAIL = 1006 };

/* A detail line "  Key:   value" of the session being read. */
static void bgp_detail(const char *text, struct bird_bgp_session *b)
{
	const char *t = skip_sp(text);
	const char *colon = strchr(t, ':');
	if (colon == NULL)
		return;
	size_t klen = (size_t)(colon - t);
	const char *v = skip_sp(colon + 1);
	size_t vlen = strlen(v);
	while (vlen > 0 && v[vlen - 1] == ' ')
		vlen--;
	if (klen == 9 && memcmp(t, "BGP state", 9) == 0) {
		copyn(b->bgp_state, sizeof(b->bgp_state), v, vlen);
	} else if (klen == 16 && memcmp(t, "Neighbor address", 16) == 0) {
		copyn(b->neighbor, sizeof(b->neighbor), v, vlen);
	} else if (klen == 10 && memcmp(t, "Last error", 10) == 0) {
		copyn(b->last_error, sizeof(b->last_error), v, vlen);
	} else if (klen == 6 && memcmp(t, "Routes", 6) == 0) {
		/* "0 imported, 2 exported, 0 preferred" */
		const char *e = strstr(v, " exported");
		if (e == NULL)
			return;
		const char *d = e;
		while (d > v && d[-1] >= '0' && d[-1] <= '9')
			d--;
		if (d == e)
			return;
		b->exported = (b->exported < 0 ? 0 : b->exported) + strtol(d, NULL, 10);
	}
}

int bird_show_bgp(bird_conn_t *c, struct bird_bgp_sessions *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	struct bird_reply r;
	int rc = bird_command(c, "show protocols all", &r, err, errlen);
	if (rc == ED_ERCODE && r.code == RC_NO_PROTOCOLS) {
		bird_reply_free(&r);
		return 0;
	}
	if (rc < 0)
		goto out;
	size_t rows = 0;
	for (size_t i = 0; i < r.n; i++)
		rows += r.lines[i].code == RC_PROTO_LIST;
	if (rows > 0 && (out->v = calloc(rows, sizeof(*out->v))) == NULL) {
		rc = ED_ENOMEM;
		goto out;
	}
	struct bird_bgp_session *cur = NULL;
	for (size_t i = 0; i < r.n; i++) {
		if (r.lines[i].code == RC_PROTO_LIST) {
			struct bird_protocol p;
			if (parse_proto_row(r.lines[i].text, &p) < 0) {
				ed_seterr(err, errlen, "bird: malformed protocol row '%.60s'",
				          r.lines[i].text);
				rc = ED_EFORMAT;
				goto out;
			}
			cur = NULL;
			if (strcmp(p.proto, "BGP") != 0)
				continue;
			cur = &out->v[out->n++];
			memset(cur, 0, sizeof(*cur));
			cur->exported = -1;
			snprintf(cur->name, sizeof(cur->name), "%s", p.name);
			snprintf(cur->state, sizeof(cur->state), "%s", p.state);
			snprintf(cur->since, sizeof(cur->since), "%s", p.since);
			/* the info column starts with the BGP state ("Established",
			 * "Active   Socket: ..."); a disabled one shows none */
			const char *in = p.info;
			char first[24] = "";
			token(&in, first, sizeof(first));
			snprintf(cur->bgp_state, sizeof(cur->bgp_state), "%s",
			         first[0] ? first : "Down");
		} else if (r.lines[i].code == RC_PROTO_DETAIL && cur != NULL) {
			bgp_detail(r.lines[i].text, cur);
		}
	}
	rc = 0;
out:
	bird_reply_free(&r);
	if (rc < 0)
		bird_bgp_sessions_free(out);
	return rc;
}

void bird_bgp_sessions_free(struct bird_bgp_sessions *s)
{
	if (s == NULL)
		return;
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* ---- enable / disable ------------------------------------------------------- */

static int set_proto(bird_conn_t *c, const char *verb, const char *name, int done,
                     int already, bool *changed, char *err, size_t errlen)
{
	if (!bird_name_ok(name)) {
		ed_seterr(err, errlen, "bird: '%.70s' is not a protocol name", name);
		return ED_EINVAL;
	}
	/* Quoted, the name is a pattern matching that one protocol: never a
	 * keyword ("all" would be every protocol), and an unknown name is
	 * 8003 rather than a parse error. */
	char cmd[BIRD_NAME_MAX + 16];
	snprintf(cmd, sizeof(cmd), "%s \"%s\"", verb, name);
	struct bird_reply r;
	int rc = bird_command(c, cmd, &r, err, errlen);
	if (rc == ED_ERCODE && r.code == RC_NO_PROTOCOLS)
		rc = ED_ENOENT;
	if (rc == 0) {
		/* "0011-name: enabled" then "0000 " */
		int got = -1;
		for (size_t i = 0; i < r.n; i++)
			if (r.lines[i].code == done || r.lines[i].code == already)
				got = r.lines[i].code;
		if (got < 0) {
			ed_seterr(err, errlen, "bird: %s %s: unexpected reply %04d", verb, name, r.code);
			rc = ED_EFORMAT;
		} else if (changed != NULL) {
			*changed = got == done;
		}
	} else if (rc == ED_ERCODE || rc == ED_ENOENT) {
		char why[160];
		snprintf(why, sizeof(why), "%s", err ? err : "");
		ed_seterr(err, errlen, "bird: %s %s: %s", verb, name, why);
	}
	bird_reply_free(&r);
	return rc;
}

int bird_enable(bird_conn_t *c, const char *name, bool *changed, char *err, size_t errlen)
{
	return set_proto(c, "enable", name, RC_ENABLED, RC_ALREADY_ENABLED, changed, err, errlen);
}

int bird_disable(bird_conn_t *c, const char *name, bool *changed, char *err, size_t errlen)
{
	return set_proto(c, "disable", name, RC_DISABLED, RC_ALREADY_DISABLED, changed, err,
	                 errlen);
}

/* ---- configure -------------------------------------------------------------- */

static int configure_cmd(bird_conn_t *c, const char *verb, const char *path,
                         struct bird_reply *r, char *err, size_t errlen)
{
	char cmd[BIRD_CMD_MAX + 1];
	if (path != NULL && !bird_quotable(path)) {
		memset(r, 0, sizeof(*r));
		ed_seterr(err, errlen, "bird: bad configuration path");
		return ED_EINVAL;
	}
	if (path != NULL)
		snprintf(cmd, sizeof(cmd), "%s \"%s\"", verb, path);
	else
		snprintf(cmd, sizeof(cmd), "%s", verb);
	return bird_command(c, cmd, r, err, errlen);
}

int bird_configure(bird_conn_t *c, const char *path, int *code, char *err, size_t errlen)
{
	struct bird_reply r;
	int rc = configure_cmd(c, "configure", path, &r, err, errlen);
	if (code != NULL)
		*code = r.code;
	if (rc == 0) {
		switch (r.code) {
		case RC_RECONFIGURED:
		case RC_RECONF_PROGRESS:
		case RC_RECONF_QUEUED:
			break;
		case RC_RECONF_SHUTDOWN:
			ed_seterr(err, errlen, "bird: configure: BIRD is shutting down");
			rc = ED_EBUSY;
			break;
		default:
			ed_seterr(err, errlen, "bird: configure: unexpected reply %04d", r.code);
			rc = ED_EFORMAT;
		}
	}
	bird_reply_free(&r);
	return rc;
}

int bird_configure_status(bird_conn_t *c, int *code, char *err, size_t errlen)
{
	struct bird_reply r;
	int rc = bird_command(c, "configure status", &r, err, errlen);
	int got = -1;
	for (size_t i = 0; rc == 0 && i < r.n; i++)
		if (r.lines[i].code >= RC_RECONFIGURED && r.lines[i].code <= RC_RECONF_SHUTDOWN)
			got = r.lines[i].code;
	if (rc == 0 && got < 0) {
		ed_seterr(err, errlen, "bird: configure status: unexpected reply %04d", r.code);
		rc = ED_EFORMAT;
	}
	if (rc == 0)
		*code = got;
	bird_reply_free(&r);
	return rc;
}

int bird_configure_check(bird_conn_t *c, const char *path, char *err, size_t errlen)
{
	struct bird_reply r;
	int rc = configure_cmd(c, "configure check", path, &r, err, errlen);
	if (rc == 0 && r.code != RC_CONFIG_OK) {
		ed_seterr(err, errlen, "bird: configure check: unexpected reply %04d", r.code);
		rc = ED_EFORMAT;
	}
	bird_reply_free(&r);
	return rc;
}

/* ---- show status ------------------------------------------------------------ */

/* s begins with lead: copy the rest into dst. */
static bool after(const char *s, const char *lead, char *dst, size_t dstlen)
{
	size_t n = strlen(lead);
	if (strncmp(s, lead, n) != 0)
		return false;
	copyn(dst, dstlen, s + n, strlen(s + n));
	return true;
}

int bird_show_status(bird_conn_t *c, struct bird_status *st, char *err, size_t errlen)
{
	memset(st, 0, sizeof(*st));
	struct bird_reply r;
	int rc = bird_command(c, "show status", &r, err, errlen);
	if (rc == 0 && r.code != RC_STATUS) {
		ed_seterr(err, errlen, "bird: show status: unexpected reply %04d", r.code);
		rc = ED_EFORMAT;
	}
	if (rc < 0) {
		bird_reply_free(&r);
		return rc;
	}
	for (size_t i = 0; i < r.n; i++) {
		const char *t = r.lines[i].text;
		switch (r.lines[i].code) {
		case RC_VERSION:
			after(t, "BIRD ", st->version, sizeof(st->version));
			break;
		case RC_UPTIME:
			(void)(after(t, "Router ID is ", st->router_id, sizeof(st->router_id)) ||
			       after(t, "Current server time is ", st->server_time,
			             sizeof(st->server_time)) ||
			       after(t, "Last reboot on ", st->last_reboot, sizeof(st->last_reboot)) ||
			       after(t, "Last reconfiguration on ", st->last_reconfig,
			             sizeof(st->last_reconfig)));
			break;
		case RC_STATUS:
			st->code = RC_STATUS;
			copyn(st->message, sizeof(st->message), t, strlen(t));
			break;
		}
	}
	bird_reply_free(&r);
	return 0;
}

/* ---- show route ------------------------------------------------------------- */

/* "(65535,0) (64500,1)" into the route's communities. */
static void parse_communities(const char *s, struct bird_route *rt)
{
	while ((s = strchr(s, '(')) != NULL) {
		unsigned long a, v;
		char *e;
		a = strtoul(s + 1, &e, 10);
		if (*e != ',' || a > 0xffff) {
			s++;
			continue;
		}
		v = strtoul(e + 1, &e, 10);
		if (*e != ')' || v > 0xffff) {
			s++;
			continue;
		}
		if (rt->ncommunities < BIRD_ROUTE_COMMUNITIES)
			rt->communities[rt->ncommunities++] = (uint32_t)(a << 16 | v);
		else
			rt->communities_cut = true;
		s = e + 1;
	}
}

/* "203.0.113.53/32      unicast [bgp_r1 12:00:00.000 from 192.0.2.1] * (100)"
 * and, for the next routes of the same net, the same with the net blank. */
static int parse_route_row(const char *s, const char *prev_net, struct bird_route *rt)
{
	if (*s != ' ') {
		if (!token(&s, rt->net, sizeof(rt->net)))
			return ED_EFORMAT;
	} else {
		if (prev_net == NULL)
			return ED_EFORMAT;
		snprintf(rt->net, sizeof(rt->net), "%s", prev_net);
	}
	if (!token(&s, rt->dest, sizeof(rt->dest)))
		return ED_EFORMAT;
	s = skip_sp(s);
	if (*s != '[')
		return ED_EFORMAT;
	s++;
	if (!token(&s, rt->proto, sizeof(rt->proto)))
		return ED_EFORMAT;
	const char *close = strchr(s, ']');
	if (close == NULL)
		return ED_EFORMAT;
	s = close + 1;
	rt->primary = s[0] == ' ' && (s[1] == '*' || s[1] == '!');
	return 0;
}

int bird_show_route(bird_conn_t *c, const char *prefix, const char *protocol,
                    struct bird_routes *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	char net[64];
	if (bird_prefix_norm(prefix, net, sizeof(net), NULL) < 0) {
		ed_seterr(err, errlen, "bird: '%.60s' is not a prefix", prefix);
		return ED_EINVAL;
	}
	if (protocol != NULL && !bird_name_ok(protocol)) {
		ed_seterr(err, errlen, "bird: '%.70s' is not a protocol name", protocol);
		return ED_EINVAL;
	}
	char cmd[BIRD_CMD_MAX + 1];
	snprintf(cmd, sizeof(cmd), "show route %s%s%s all", net, protocol ? " protocol " : "",
	         protocol ? protocol : "");
	struct bird_reply r;
	int rc = bird_command(c, cmd, &r, err, errlen);
	if (rc == ED_ERCODE && r.code == RC_NOT_FOUND) {
		bird_reply_free(&r);
		return 0;
	}
	if (rc < 0)
		goto out;
	size_t rows = 0;
	for (size_t i = 0; i < r.n; i++)
		rows += r.lines[i].code == RC_ROUTE_LIST;
	if (rows > 0 && (out->v = calloc(rows, sizeof(*out->v))) == NULL) {
		rc = ED_ENOMEM;
		goto out;
	}
	char table[BIRD_NAME_MAX + 1] = "";
	struct bird_route *cur = NULL;
	bool in_comm = false;
	for (size_t i = 0; i < r.n && rc == 0; i++) {
		const char *t = r.lines[i].text;
		switch (r.lines[i].code) {
		case RC_ROUTE_LIST:
			in_comm = false;
			if (t[0] == '\0')
				break;                         /* between tables */
			if (strncmp(t, "Table ", 6) == 0) {
				size_t n = strcspn(t + 6, ":");
				copyn(table, sizeof(table), t + 6, n);
				cur = NULL;
				break;
			}
			if (t[0] == '\t') {                    /* next hops */
				const char *v = t + 1;
				char w[16];
				if (cur && !cur->gw[0] && token(&v, w, sizeof(w)) &&
				    strcmp(w, "via") == 0)
					token(&v, cur->gw, sizeof(cur->gw));
				break;
			}
			struct bird_route *rt = &out->v[out->n];
			if (parse_route_row(t, cur ? cur->net : NULL, rt) < 0) {
				ed_seterr(err, errlen, "bird: malformed route row '%.60s'", t);
				rc = ED_EFORMAT;
				break;
			}
			snprintf(rt->table, sizeof(rt->table), "%s", table);
			out->n++;
			cur = rt;
			break;
		case RC_ROUTE_ATTRS:
			/* "\tBGP.community: (65535,0) ...", a long set goes on
			 * in lines beginning with two tabs */
			if (strncmp(t, "\t\t", 2) == 0) {
				if (in_comm && cur)
					parse_communities(t, cur);
			} else {
				in_comm = strncmp(t, "\tBGP.community:", 15) == 0;
				if (in_comm && cur)
					parse_communities(t + 15, cur);
			}
			break;
		default:
			in_comm = false;
		}
	}
out:
	bird_reply_free(&r);
	if (rc < 0)
		bird_routes_free(out);
	return rc;
}

void bird_routes_free(struct bird_routes *r)
{
	if (r == NULL)
		return;
	free(r->v);
	memset(r, 0, sizeof(*r));
}

bool bird_route_has_community(const struct bird_route *r, uint16_t asn, uint16_t value)
{
	uint32_t want = (uint32_t)asn << 16 | value;
	for (size_t i = 0; i < r->ncommunities; i++)
		if (r->communities[i] == want)
			return true;
	return false;
}
