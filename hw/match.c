/* match.c: profiles against the machine (match.h). */
#include "hw/match.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/error.h"

/* printf at the end of what buf (len octets) holds; cut when full. */
static void appendf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void appendf(char *buf, size_t len, const char *fmt, ...)
{
	size_t o = strlen(buf);
	if (o + 1 >= len)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + o, len - o, fmt, ap);
	va_end(ap);
}

/* Append to a message buffer, "; " between requirements. */
static void why_add(char *why, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void why_add(char *why, size_t len, const char *fmt, ...)
{
	size_t o = strlen(why);
	if (o > 0 && o + 2 < len) {
		memcpy(why + o, "; ", 3);
		o += 2;
	}
	if (o + 1 >= len)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why + o, len - o, fmt, ap);
	va_end(ap);
}

static bool has_id(const struct profile_nics *g, const struct hw_nic *n)
{
	for (unsigned i = 0; i < g->nids; i++)
		if (g->vendor[i] == n->vendor && g->device[i] == n->device)
			return true;
	return false;
}

/* "8086:159b" or "1af4:1000|1af4:1041". */
static void ids_text(const struct profile_nics *g, char *out, size_t len)
{
	out[0] = '\0';
	for (unsigned i = 0; i < g->nids; i++)
		appendf(out, len, "%s%04x:%04x", i ? "|" : "", g->vendor[i], g->device[i]);
}

void hw_match_profile(const struct profile *p, const struct hw_machine *m, bool force,
                      struct hw_match *out)
{
	memset(out, 0, sizeof(*out));
	out->nnic = profile_nic_total(p);
	for (unsigned i = 0; i < HW_MATCH_NICS_MAX; i++)
		out->nic[i] = -1;
	bool *taken = calloc(m->nnics ? m->nnics : 1, sizeof(*taken));
	if (taken == NULL) {
		snprintf(out->why, sizeof(out->why), "out of memory");
		return;
	}
	if (p->match_cpus > 0) {
		out->need_other++;
		if (m->cpus < p->match_cpus)
			why_add(out->why, sizeof(out->why), "needs %u CPUs: found %u", p->match_cpus,
			        m->cpus);
	}
	if (p->match_nodes > 0) {
		out->need_other++;
		if (m->nodes < p->match_nodes)
			why_add(out->why, sizeof(out->why), "needs %u NUMA nodes: found %u",
			        p->match_nodes, m->nodes);
	}
	unsigned nicno = 0;
	for (unsigned gi = 0; gi < p->nnics; gi++) {
		const struct profile_nics *g = &p->nics[gi];
		out->need_nics += g->count;
		if (g->numa_node != PROFILE_NODE_ANY)
			out->need_other++;
		unsigned found = 0, elsewhere = 0, taken_here = 0;
		for (unsigned i = 0; i < m->nnics; i++) {
			const struct hw_nic *n = &m->nics[i];
			if (taken[i] || !has_id(g, n))
				continue;
			bool here = g->numa_node == PROFILE_NODE_ANY || n->node == g->numa_node;
			if (here)
				found++;
			else
				elsewhere++;
			if ((here || force) && taken_here < g->count) {
				taken[i] = true;
				out->nic[nicno + taken_here++] = (int)i;
			}
		}
		if (found < g->count) {
			char ids[128];
			ids_text(g, ids, sizeof(ids));
			if (g->numa_node == PROFILE_NODE_ANY)
				why_add(out->why, sizeof(out->why), "needs %u x %s: found %u", g->count,
				        ids, found);
			else if (elsewhere > 0)
				why_add(out->why, sizeof(out->why),
				        "needs %u x %s on node %d: found %u (%u on other nodes)", g->count,
				        ids, g->numa_node, found, elsewhere);
			else
				why_add(out->why, sizeof(out->why), "needs %u x %s on node %d: found %u",
				        g->count, ids, g->numa_node, found);
		}
		nicno += g->count;
	}
	char missing[256] = "";
	unsigned nmissing = 0;
	for (unsigned i = 0; i < p->nports; i++) {
		char addr[HW_ADDR_LEN];
		if (!profile_is_pci(p->ports[i], addr))
			continue;
		out->need_other++;
		if (hw_machine_nic(m, addr) == NULL)
			appendf(missing, sizeof(missing), "%s%s", nmissing++ ? ", " : "", addr);
	}
	if (nmissing > 0)
		why_add(out->why, sizeof(out->why), "needs the port%s %s: not found",
		        nmissing > 1 ? "s" : "", missing);
	free(taken);
	out->ok = p->has_match && out->why[0] == '\0';
	if (!p->has_match)
		snprintf(out->why, sizeof(out->why), "no match section: used only when named");
}

void hw_describe_nics(const struct hw_machine *m, char *out, size_t outlen)
{
	out[0] = '\0';
	appendf(out, outlen, "NICs found:%s", m->nnics == 0 ? " none" : "");
	for (unsigned i = 0; i < m->nnics; i++) {
		char d[256];
		hw_nic_describe(&m->nics[i], d, sizeof(d));
		appendf(out, outlen, "%s %s", i ? "," : "", d);
	}
}

/* The profile file a name means. */
static void name_path(const char *dir, const char *name, char *out, size_t outlen)
{
	size_t n = strlen(name);
	if (strchr(name, '/') != NULL || (n > 5 && strcmp(name + n - 5, ".yaml") == 0))
		snprintf(out, outlen, "%s", name);
	else
		snprintf(out, outlen, "%s/%s.yaml", dir, name);
}

/* The profile's name for messages: its model, else the file's base. */
static const char *pname(const struct profile *p, const char *path)
{
	if (p->model != NULL)
		return p->model;
	const char *b = strrchr(path, '/');
	return b ? b + 1 : path;
}

static int choose_named(const char *dir, const char *name, bool force,
                        const struct hw_machine *m, hw_warn_fn warn, void *warn_arg,
                        struct hw_choice *c, char *info, size_t infolen, char *err,
                        size_t errlen)
{
	char msg[2048];
	name_path(dir, name, c->path, sizeof(c->path));
	if (profile_load(c->path, &c->profile, msg, sizeof(msg)) != 0) {
		ed_seterr(err, errlen, "profile %s: %s", name, msg);
		return ED_EFORMAT;
	}
	c->named = true;
	hw_match_profile(&c->profile, m, force, &c->match);
	const char *pn = pname(&c->profile, c->path);
	if (c->match.ok || !c->profile.has_match) {
		if (info != NULL)
			ed_seterr(info, infolen, "profile %s (named%s)", pn,
			          c->match.ok ? ", matches this machine" : ": no match section");
		return ED_OK;
	}
	char nics[2048];
	hw_describe_nics(m, nics, sizeof(nics));
	if (!force) {
		ed_seterr(err, errlen,
		          "profile %s (named) does not match this machine: %s; %s "
		          "(--force prepares it anyway)",
		          pn, c->match.why, nics);
		profile_free(&c->profile);
		return ED_ENOENT;
	}
	ed_seterr(msg, sizeof(msg), "profile %s (named, forced) does not match this machine: %s; %s",
	          pn, c->match.why, nics);
	if (warn != NULL)
		warn(warn_arg, msg);
	if (info != NULL)
		ed_seterr(info, infolen, "profile %s (named, forced: %s)", pn, c->match.why);
	return ED_OK;
}

static int is_yaml(const struct dirent *e)
{
	size_t n = strlen(e->d_name);
	return e->d_name[0] != '.' && n > 5 && strcmp(e->d_name + n - 5, ".yaml") == 0;
}

/* a before b in specificity: more NICs required, then more requirements */
static int specific_cmp(const struct hw_match *a, const struct hw_match *b)
{
	if (a->need_nics != b->need_nics)
		return a->need_nics > b->need_nics ? 1 : -1;
	if (a->need_other != b->need_other)
		return a->need_other > b->need_other ? 1 : -1;
	return 0;
}

int hw_choose(const char *dir, const char *name, bool force, const struct hw_machine *m,
              hw_warn_fn warn, void *warn_arg, struct hw_choice *c, char *info, size_t infolen,
              char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	if (info != NULL && infolen > 0)
		info[0] = '\0';
	if (name != NULL && name[0] != '\0')
		return choose_named(dir, name, force, m, warn, warn_arg, c, info, infolen, err,
		                    errlen);
	struct dirent **list;
	int n = scandir(dir, &list, is_yaml, alphasort);
	if (n < 0) {
		ed_seterr(err, errlen, "profiles %s: %m", dir);
		return ED_EIO;
	}
	char tried[4096] = "", msg[2048];
	/* the best so far in c, ties named in tie */
	bool have = false;
	char tie[1024] = "", others[1024] = "";
	struct hw_choice *cur = malloc(sizeof(*cur));
	if (cur == NULL) {
		for (int i = 0; i < n; i++)
			free(list[i]);
		free(list);
		ed_seterr(err, errlen, "out of memory");
		return ED_ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		memset(cur, 0, sizeof(*cur));
		snprintf(cur->path, sizeof(cur->path), "%s/%s", dir, list[i]->d_name);
		if (profile_load(cur->path, &cur->profile, msg, sizeof(msg)) != 0) {
			if (warn != NULL) {
				appendf(msg, sizeof(msg), "; skipped");
				warn(warn_arg, msg);
			}
			appendf(tried, sizeof(tried), "%s%s (does not load)", tried[0] ? ", " : "",
			        list[i]->d_name);
			free(list[i]);
			continue;
		}
		free(list[i]);
		hw_match_profile(&cur->profile, m, false, &cur->match);
		const char *pn = pname(&cur->profile, cur->path);
		if (!cur->match.ok) {
			appendf(tried, sizeof(tried), "%s%s (%s)", tried[0] ? ", " : "", pn,
			        cur->match.why);
			profile_free(&cur->profile);
			continue;
		}
		appendf(tried, sizeof(tried), "%s%s (matches)", tried[0] ? ", " : "", pn);
		int cmp = have ? specific_cmp(&cur->match, &c->match) : 1;
		if (cmp > 0) {
			if (have) {
				appendf(others, sizeof(others), "%s%s", others[0] ? ", " : "",
				        pname(&c->profile, c->path));
				profile_free(&c->profile);
			}
			*c = *cur;
			have = true;
			tie[0] = '\0';
		} else {
			if (cmp == 0)
				appendf(tie, sizeof(tie), ", %s", pn);
			else
				appendf(others, sizeof(others), "%s%s", others[0] ? ", " : "", pn);
			profile_free(&cur->profile);
		}
	}
	free(list);
	free(cur);
	if (!have) {
		char nics[2048];
		hw_describe_nics(m, nics, sizeof(nics));
		ed_seterr(err, errlen, "no profile matches this machine: %s; profiles tried: %s", nics,
		          tried[0] ? tried : "none (no *.yaml)");
		return ED_ENOENT;
	}
	const char *pn = pname(&c->profile, c->path);
	if (tie[0] != '\0') {
		ed_seterr(err, errlen,
		          "several profiles match this machine equally: %s%s; name one with "
		          "--profile (EDGEDNS_PROFILE= in /etc/edgedns/dataplane.env)",
		          pn, tie);
		profile_free(&c->profile);
		memset(c, 0, sizeof(*c));
		return ED_EEXIST;
	}
	if (info != NULL)
		ed_seterr(info, infolen, "profile %s (matches this machine%s%s)", pn,
		          others[0] ? "; less specific matches: " : "", others);
	return ED_OK;
}
