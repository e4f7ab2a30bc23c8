/* profile.c: hardware profile files, read with libyaml. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static int walk(yaml_document_t *doc, const char *path, struct profile *p, char *err,
                size_t errlen)
{
	yaml_node_t *root = yaml_document_get_root_node(doc);
	if (root == NULL)
		return fail(err, errlen, path, NULL, "empty profile");
	if (root->type != YAML_MAPPING_NODE)
		return fail(err, errlen, path, root, "expected a mapping (key: value)");
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
		} else if (strcmp(key, "mbufs") == 0) {
			rc = get_uint(path, v, key, 1024, 16u << 20, &p->mbufs, err, errlen);
		} else if (strcmp(key, "rx-desc") == 0) {
			rc = get_uint(path, v, key, 64, 32768, &p->rxd, err, errlen);
		} else if (strcmp(key, "tx-desc") == 0) {
			rc = get_uint(path, v, key, 64, 32768, &p->txd, err, errlen);
		} else {
			char msg[256];
			snprintf(msg, sizeof(msg),
			         "unknown key '%.64s' (expected model, eal, ports, mbufs, rx-desc, tx-desc)",
			         key);
			return fail(err, errlen, path, k, msg);
		}
		if (rc != 0)
			return rc;
	}
	if (p->nports == 0)
		return fail(err, errlen, path, root, "ports: at least one port");
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
