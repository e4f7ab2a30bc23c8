/* profile.c: hardware profile files, read with libyaml. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "profile.h"

/* Error at a node: "file:line: message". Lines count from 1. */
static int fail(char *err, size_t errlen, const char *path, const yaml_node_t *n,
                const char *what)
{
	snprintf(err, errlen, "%s:%lu: %s", path, n ? (unsigned long)n->start_mark.line + 1 : 0ul,
	         what);
	return -1;
}

static int get_uint(const char *path, const yaml_node_t *v, const char *key, unsigned min,
                    unsigned max, unsigned *out, char *err, size_t errlen)
{
	char msg[256];
	if (v->type == YAML_SCALAR_NODE) {
		const char *s = (const char *)v->data.scalar.value;
		char *end;
		errno = 0;
		unsigned long x = strtoul(s, &end, 10);
		if (s[0] != '\0' && s[0] != '-' && *end == '\0' && errno == 0 && x >= min &&
		    x <= max) {
			*out = (unsigned)x;
			return 0;
		}
	}
	snprintf(msg, sizeof(msg), "%s: expected a number in [%u, %u]", key, min, max);
	return fail(err, errlen, path, v, msg);
}

/* A sequence of scalars into list (strdup'ed). */
static int get_list(yaml_document_t *doc, const char *path, const yaml_node_t *v,
                    const char *key, char **list, unsigned *n, char *err, size_t errlen)
{
	char msg[256];
	if (v->type != YAML_SEQUENCE_NODE) {
		snprintf(msg, sizeof(msg), "%s: expected a list of strings ([a, b])", key);
		return fail(err, errlen, path, v, msg);
	}
	for (yaml_node_item_t *it = v->data.sequence.items.start;
	     it < v->data.sequence.items.top; it++) {
		yaml_node_t *e = yaml_document_get_node(doc, *it);
		if (e == NULL || e->type != YAML_SCALAR_NODE) {
			snprintf(msg, sizeof(msg), "%s: every item must be a string", key);
			return fail(err, errlen, path, e ? e : v, msg);
		}
		if (*n == PROFILE_LIST_MAX) {
			snprintf(msg, sizeof(msg), "%s: at most %u items", key, PROFILE_LIST_MAX);
			return fail(err, errlen, path, e, msg);
		}
		if ((list[*n] = strdup((const char *)e->data.scalar.value)) == NULL)
			return fail(err, errlen, path, e, "out of memory");
		(*n)++;
	}
	return 0;
}

static const char *scalar(const yaml_node_t *v)
{
	return v != NULL && v->type == YAML_SCALAR_NODE ? (const char *)v->data.scalar.value : NULL;
}

/* "8086:159b": four hex digits, a colon, four hex digits. */
static int parse_id(const char *s, uint16_t *vendor, uint16_t *device)
{
	if (s == NULL || strlen(s) != 9 || s[4] != ':')
		return -1;
	for (int i = 0; i < 9; i++)
		if (i != 4 && !isxdigit((unsigned char)s[i]))
			return -1;
	*vendor = (uint16_t)strtoul(s, NULL, 16);
	*device = (uint16_t)strtoul(s + 5, NULL, 16);
	return 0;
}

/* "2M", "1G" (also 2MB, 1GB, 2048kB; any case): hugepage size in kB. */
static int parse_size_kb(const char *s, unsigned *kb)
{
	if (s == NULL)
		return -1;
	char *end;
	errno = 0;
	unsigned long x = strtoul(s, &end, 10);
	if (end == s || s[0] == '-' || errno != 0 || x == 0 || x > 16u << 20)
		return -1;
	unsigned long mult;
	if (strcasecmp(end, "k") == 0 || strcasecmp(end, "kb") == 0)
		mult = 1;
	else if (strcasecmp(end, "m") == 0 || strcasecmp(end, "mb") == 0)
		mult = 1024;
	else if (strcasecmp(end, "g") == 0 || strcasecmp(end, "gb") == 0)
		mult = 1024 * 1024;
	else
		return -1;
	if (x * mult > 16ul << 20)
		return -1;
	*kb = (unsigned)(x * mult);
	return 0;
}

static int get_node(const char *path, const yaml_node_t *v, const char *key, int *out,
                    char *err, size_t errlen)
{
	unsigned n;
	if (get_uint(path, v, key, 0, 1023, &n, err, errlen) != 0)
		return -1;
	*out = (int)n;
	return 0;
}

/* match.nics: a list of groups {id, count, numa-node}. */
static int get_nics(yaml_document_t *doc, const char *path, const yaml_node_t *v,
                    struct profile *p, char *err, size_t errlen)
{
	if (v->type != YAML_SEQUENCE_NODE)
		return fail(err, errlen, path, v,
		            "match.nics: expected a list of {id, count, numa-node}");
	for (yaml_node_item_t *it = v->data.sequence.items.start;
	     it < v->data.sequence.items.top; it++) {
		yaml_node_t *g = yaml_document_get_node(doc, *it);
		if (g == NULL || g->type != YAML_MAPPING_NODE)
			return fail(err, errlen, path, g ? g : v,
			            "match.nics: every item must be a mapping {id, count, numa-node}");
		if (p->nnics == PROFILE_NICS_MAX)
			return fail(err, errlen, path, g, "match.nics: at most 8 groups");
		struct profile_nics *n = &p->nics[p->nnics++];
		n->count = 1;
		n->numa_node = PROFILE_NODE_ANY;
		for (yaml_node_pair_t *pr = g->data.mapping.pairs.start;
		     pr < g->data.mapping.pairs.top; pr++) {
			yaml_node_t *k = yaml_document_get_node(doc, pr->key);
			yaml_node_t *e = yaml_document_get_node(doc, pr->value);
			const char *key = scalar(k);
			if (key == NULL || e == NULL)
				return fail(err, errlen, path, k, "expected a key");
			int rc = 0;
			if (strcmp(key, "id") == 0) {
				yaml_node_item_t one = pr->value, *ids = &one, *top = &one + 1;
				if (e->type == YAML_SEQUENCE_NODE) {
					ids = e->data.sequence.items.start;
					top = e->data.sequence.items.top;
				}
				for (; ids < top; ids++) {
					yaml_node_t *x = yaml_document_get_node(doc, *ids);
					if (n->nids == PROFILE_IDS_MAX)
						return fail(err, errlen, path, x,
						            "match.nics.id: at most 8 ids");
					if (parse_id(scalar(x), &n->vendor[n->nids],
					             &n->device[n->nids]) != 0)
						return fail(err, errlen, path, x ? x : e,
						            "match.nics.id: expected vendor:device, four hex "
						            "digits each (\"8086:159b\"), or a list of them");
					n->nids++;
				}
			} else if (strcmp(key, "count") == 0) {
				rc = get_uint(path, e, "match.nics.count", 1, 64, &n->count, err,
				              errlen);
			} else if (strcmp(key, "numa-node") == 0) {
				rc = get_node(path, e, "match.nics.numa-node", &n->numa_node, err,
				              errlen);
			} else {
				char msg[256];
				snprintf(msg, sizeof(msg),
				         "match.nics: unknown key '%.64s' (expected id, count, numa-node)",
				         key);
				return fail(err, errlen, path, k, msg);
			}
			if (rc != 0)
				return rc;
		}
		if (n->nids == 0)
			return fail(err, errlen, path, g, "match.nics: id: at least one vendor:device");
	}
	return 0;
}

static int get_match(yaml_document_t *doc, const char *path, const yaml_node_t *v,
                     struct profile *p, char *err, size_t errlen)
{
	if (v->type != YAML_MAPPING_NODE)
		return fail(err, errlen, path, v,
		            "match: expected a mapping (cpus, numa-nodes, nics)");
	p->has_match = true;
	for (yaml_node_pair_t *pr = v->data.mapping.pairs.start;
	     pr < v->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = yaml_document_get_node(doc, pr->key);
		yaml_node_t *e = yaml_document_get_node(doc, pr->value);
		const char *key = scalar(k);
		if (key == NULL || e == NULL)
			return fail(err, errlen, path, k, "expected a key");
		int rc;
		if (strcmp(key, "cpus") == 0) {
			rc = get_uint(path, e, "match.cpus", 1, 65536, &p->match_cpus, err, errlen);
		} else if (strcmp(key, "numa-nodes") == 0) {
			rc = get_uint(path, e, "match.numa-nodes", 1, 1024, &p->match_nodes, err,
			              errlen);
		} else if (strcmp(key, "nics") == 0) {
			rc = get_nics(doc, path, e, p, err, errlen);
		} else {
			char msg[256];
			snprintf(msg, sizeof(msg),
			         "match: unknown key '%.64s' (expected cpus, numa-nodes, nics)", key);
			return fail(err, errlen, path, k, msg);
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* hugepages: one mapping {size, count, numa-node}, or a list of them. */
static int get_one_huge(yaml_document_t *doc, const char *path, const yaml_node_t *v,
                        struct profile *p, char *err, size_t errlen)
{
	if (v == NULL || v->type != YAML_MAPPING_NODE)
		return fail(err, errlen, path, v,
		            "hugepages: expected a mapping {size, count, numa-node} or a list of them");
	if (p->nhuge == PROFILE_HUGE_MAX)
		return fail(err, errlen, path, v, "hugepages: at most 8 reservations");
	struct profile_hugepages *h = &p->huge[p->nhuge++];
	h->numa_node = PROFILE_NODE_ANY;
	bool have_count = false;
	for (yaml_node_pair_t *pr = v->data.mapping.pairs.start;
	     pr < v->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = yaml_document_get_node(doc, pr->key);
		yaml_node_t *e = yaml_document_get_node(doc, pr->value);
		const char *key = scalar(k);
		if (key == NULL || e == NULL)
			return fail(err, errlen, path, k, "expected a key");
		int rc = 0;
		if (strcmp(key, "size") == 0) {
			if (parse_size_kb(scalar(e), &h->size_kb) != 0 ||
			    (h->size_kb != 2048 && h->size_kb != 1048576))
				return fail(err, errlen, path, e, "hugepages.size: expected 2M or 1G");
		} else if (strcmp(key, "count") == 0) {
			rc = get_uint(path, e, "hugepages.count", 1, 1u << 20, &h->count, err,
			              errlen);
			have_count = true;
		} else if (strcmp(key, "numa-node") == 0) {
			rc = get_node(path, e, "hugepages.numa-node", &h->numa_node, err, errlen);
		} else {
			char msg[256];
			snprintf(msg, sizeof(msg),
			         "hugepages: unknown key '%.64s' (expected size, count, numa-node)",
			         key);
			return fail(err, errlen, path, k, msg);
		}
		if (rc != 0)
			return rc;
	}
	if (h->size_kb == 0 || !have_count)
		return fail(err, errlen, path, v, "hugepages: size and count are required");
	return 0;
}

static int get_hugepages(yaml_document_t *doc, const char *path, const yaml_node_t *v,
                         struct profile *p, char *err, size_t errlen)
{
	if (v->type != YAML_SEQUENCE_NODE)
		return get_one_huge(doc, path, v, p, err, errlen);
	for (yaml_node_item_t *it = v->data.sequence.items.start;
	     it < v->data.sequence.items.top; it++)
		if (get_one_huge(doc, path, yaml_document_get_node(doc, *it), p, err, errlen) != 0)
			return -1;
	return 0;
}

/* What profile_load checks of each reference: N within the match, no
 * kernel interface of a NIC that vfio-pci takes. */
static int check_ref(void *arg, unsigned nic, enum profile_nic_field f, char *out,
                     size_t outlen, char *err, size_t errlen)
{
	const struct profile *p = arg;
	unsigned total = profile_nic_total(p);
	if (nic > total) {
		snprintf(err, errlen, "${nic%u}: the match names %u NIC%s", nic, total,
		         total == 1 ? "" : "s");
		return -1;
	}
	if (f == PROFILE_NIC_IFACE && p->driver == PROFILE_DRIVER_VFIO) {
		snprintf(err, errlen,
		         "${nic%u.iface}: with driver vfio-pci the NIC has no kernel interface", nic);
		return -1;
	}
	if (out != NULL && outlen > 0)
		snprintf(out, outlen, "x");
	return 0;
}

static int walk(yaml_document_t *doc, const char *path, struct profile *p, char *err,
                size_t errlen)
{
	yaml_node_t *root = yaml_document_get_root_node(doc);
	if (root == NULL)
		return fail(err, errlen, path, NULL, "empty profile");
	if (root->type != YAML_MAPPING_NODE)
		return fail(err, errlen, path, root, "expected a mapping (key: value)");
	const yaml_node_t *ports_node = root;
	for (yaml_node_pair_t *pr = root->data.mapping.pairs.start;
	     pr < root->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = yaml_document_get_node(doc, pr->key);
		yaml_node_t *v = yaml_document_get_node(doc, pr->value);
		if (k == NULL || v == NULL || k->type != YAML_SCALAR_NODE)
			return fail(err, errlen, path, k, "expected a key");
		const char *key = (const char *)k->data.scalar.value;
		int rc;
		if (strcmp(key, "model") == 0) {
			if (v->type != YAML_SCALAR_NODE)
				return fail(err, errlen, path, v, "model: expected a string");
			free(p->model);
			if ((p->model = strdup((const char *)v->data.scalar.value)) == NULL)
				return fail(err, errlen, path, v, "out of memory");
			rc = 0;
		} else if (strcmp(key, "eal") == 0) {
			rc = get_list(doc, path, v, key, p->eal, &p->neal, err, errlen);
		} else if (strcmp(key, "ports") == 0) {
			rc = get_list(doc, path, v, key, p->ports, &p->nports, err, errlen);
			ports_node = v;
		} else if (strcmp(key, "mbufs") == 0) {
			rc = get_uint(path, v, key, 1024, 16u << 20, &p->mbufs, err, errlen);
		} else if (strcmp(key, "rx-desc") == 0) {
			rc = get_uint(path, v, key, 64, 32768, &p->rxd, err, errlen);
		} else if (strcmp(key, "tx-desc") == 0) {
			rc = get_uint(path, v, key, 64, 32768, &p->txd, err, errlen);
		} else if (strcmp(key, "match") == 0) {
			rc = get_match(doc, path, v, p, err, errlen);
		} else if (strcmp(key, "driver") == 0) {
			const char *d = scalar(v);
			if (d != NULL && strcmp(d, "vfio-pci") == 0)
				p->driver = PROFILE_DRIVER_VFIO;
			else if (d != NULL && strcmp(d, "none") == 0)
				p->driver = PROFILE_DRIVER_NONE;
			else
				return fail(err, errlen, path, v, "driver: expected vfio-pci or none");
			rc = 0;
		} else if (strcmp(key, "hugepages") == 0) {
			rc = get_hugepages(doc, path, v, p, err, errlen);
		} else {
			char msg[256];
			snprintf(msg, sizeof(msg),
			         "unknown key '%.64s' (expected model, eal, ports, mbufs, rx-desc, "
			         "tx-desc, match, driver, hugepages)",
			         key);
			return fail(err, errlen, path, k, msg);
		}
		if (rc != 0)
			return rc;
	}
	if (p->nports == 0)
		return fail(err, errlen, path, root, "ports: at least one port");
	for (unsigned i = 0; i < p->nports; i++) {
		char msg[512];
		if (profile_port_expand(p->ports[i], check_ref, p, NULL, 0, msg, sizeof(msg)) != 0)
			return fail(err, errlen, path, ports_node, msg);
	}
	return 0;
}

int profile_load(const char *path, struct profile *p, char *err, size_t errlen)
{
	memset(p, 0, sizeof(*p));
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	yaml_parser_t parser;
	yaml_document_t doc;
	int rc = -1;
	if (!yaml_parser_initialize(&parser)) {
		snprintf(err, errlen, "%s: out of memory", path);
		fclose(f);
		return -1;
	}
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(err, errlen, "%s:%lu: %s", path,
		         (unsigned long)parser.problem_mark.line + 1,
		         parser.problem ? parser.problem : "not YAML");
	} else {
		rc = walk(&doc, path, p, err, errlen);
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&parser);
	fclose(f);
	if (rc != 0)
		profile_free(p);
	return rc;
}

void profile_free(struct profile *p)
{
	free(p->model);
	for (unsigned i = 0; i < p->neal; i++)
		free(p->eal[i]);
	for (unsigned i = 0; i < p->nports; i++)
		free(p->ports[i]);
	memset(p, 0, sizeof(*p));
}

unsigned profile_nic_total(const struct profile *p)
{
	unsigned n = 0;
	for (unsigned i = 0; i < p->nnics; i++)
		n += p->nics[i].count;
	return n;
}

/* profile_port_expand() without a resolver: syntax only. */
static int check_syntax_only(void *arg, unsigned nic, enum profile_nic_field f, char *out,
                             size_t outlen, char *err, size_t errlen)
{
	(void)arg, (void)nic, (void)f, (void)err, (void)errlen;
	if (outlen > 0)
		snprintf(out, outlen, "x");
	return 0;
}

int profile_port_expand(const char *port, profile_nic_fn fn, void *arg, char *out,
                        size_t outlen, char *err, size_t errlen)
{
	size_t o = 0;
	const char *s = port;
	char val[256];
	while (*s != '\0') {
		const char *piece = s;
		size_t plen = 1;
		if (s[0] == '$' && s[1] == '{') {
			const char *close = strchr(s, '}');
			const char *q = s + 2;
			char msg[384];
			if (close == NULL || strncmp(q, "nic", 3) != 0 || !isdigit((unsigned char)q[3]) ||
			    q[3] == '0') {
				snprintf(err, errlen,
				         "port '%.128s': expected ${nicN}, ${nicN.pci} or ${nicN.iface} "
				         "(N from 1)",
				         port);
				return -1;
			}
			char *end;
			unsigned long n = strtoul(q + 3, &end, 10);
			enum profile_nic_field f;
			if (end == close || ((size_t)(close - end) == 4 && strncmp(end, ".pci", 4) == 0))
				f = PROFILE_NIC_PCI;
			else if ((size_t)(close - end) == 6 && strncmp(end, ".iface", 6) == 0)
				f = PROFILE_NIC_IFACE;
			else {
				snprintf(err, errlen,
				         "port '%.128s': expected ${nicN}, ${nicN.pci} or ${nicN.iface} "
				         "(N from 1)",
				         port);
				return -1;
			}
			if (n > 4096) {
				snprintf(err, errlen, "port '%.128s': no NIC %lu", port, n);
				return -1;
			}
			if (fn == NULL)
				fn = check_syntax_only;
			if (fn(arg, (unsigned)n, f, val, sizeof(val), msg, sizeof(msg)) != 0) {
				snprintf(err, errlen, "port '%.128s': %s", port, msg);
				return -1;
			}
			piece = val;
			plen = strlen(val);
			s = close + 1;
		} else {
			s++;
		}
		if (out != NULL) {
			if (o + plen >= outlen) {
				snprintf(err, errlen, "port '%.128s': too long once expanded", port);
				return -1;
			}
			memcpy(out + o, piece, plen);
		}
		o += plen;
	}
	if (out != NULL)
		out[o] = '\0';
	return 0;
}

bool profile_is_pci(const char *port, char *canon)
{
	/* BB:DD.F with an optional DDDD: in front */
	const char *s = port;
	size_t n = strcspn(s, ",");
	char dom[5] = "0000";
	if (n == 12) {
		for (int i = 0; i < 4; i++)
			if (!isxdigit((unsigned char)s[i]))
				return false;
		if (s[4] != ':')
			return false;
		memcpy(dom, s, 4);
		s += 5;
		n -= 5;
	}
	if (n != 7 || !isxdigit((unsigned char)s[0]) || !isxdigit((unsigned char)s[1]) ||
	    s[2] != ':' || !isxdigit((unsigned char)s[3]) || !isxdigit((unsigned char)s[4]) ||
	    s[5] != '.' || s[6] < '0' || s[6] > '7')
		return false;
	if (canon != NULL) {
		snprintf(canon, 13, "%.4s:%.7s", dom, s);
		for (char *c = canon; *c != '\0'; c++)
			*c = (char)tolower((unsigned char)*c);
	}
	return true;
}
