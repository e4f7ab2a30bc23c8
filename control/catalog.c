/* catalog.c: catalog zone content (RFC 9432) and the saved member list. */
#include "catalog.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "config.h"
#include "error.h"

void catz_set_free(struct catz_set *set)
{
	if (set == NULL)
		return;
	free(set->m);
	set->m = NULL;
	set->n = 0;
}

static int wire_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	if (al != bl)
		return al < bl ? -1 : 1;
	return memcmp(a, b, al);
}

static int member_cmp(const void *pa, const void *pb)
{
	const struct catz_member *a = pa, *b = pb;
	return wire_cmp(a->wire, a->wire_len, b->wire, b->wire_len);
}

static int id_cmp(const void *pa, const void *pb)
{
	const struct catz_member *a = pa, *b = pb;
	int c = strcmp(a->id, b->id);
	return c ? c : member_cmp(pa, pb);
}

const struct catz_member *catz_find(const struct catz_set *set, const uint8_t *wire,
                                    size_t wire_len)
{
	struct catz_member key;
	if (set == NULL || set->n == 0 || wire_len > sizeof(key.wire))
		return NULL;
	memcpy(key.wire, wire, wire_len);
	key.wire_len = wire_len;
	return bsearch(&key, set->m, set->n, sizeof(*set->m), member_cmp);
}

/* The lowercase wire form of a dname rdf into buf (256). 0 when not one. */
static size_t lower_wire(const ldns_rdf *d, uint8_t *buf)
{
	if (d == NULL || ldns_rdf_get_type(d) != LDNS_RDF_TYPE_DNAME)
		return 0;
	size_t n = ldns_rdf_size(d);
	if (n == 0 || n > 255)
		return 0;
	memcpy(buf, ldns_rdf_data(d), n);
	for (size_t p = 0; p < n && buf[p] != 0; p += 1u + buf[p])
		for (size_t i = 1; i <= buf[p] && p + i < n; i++)
			if (buf[p + i] >= 'A' && buf[p + i] <= 'Z')
				buf[p + i] = (uint8_t)(buf[p + i] + 32);
	return n;
}

/* Labels of owner (lowercase wire) above apex: their offsets in off[]
 * (at most 3 kept), the count, or -1 when owner is not at or below apex. */
static int rel_labels(const uint8_t *o, size_t ol, const uint8_t *apex, size_t al, size_t off[3])
{
	int n = 0;
	size_t p = 0;
	while (p < ol) {
		if (ol - p == al && memcmp(o + p, apex, al) == 0)
			return n;
		if (o[p] == 0)
			return -1;
		if (n < 3)
			off[n] = p;
		n++;
		p += 1u + o[p];
	}
	return -1;
}

static int label_is(const uint8_t *l, const char *s)
{
	size_t n = strlen(s);
	return l[0] == n && memcmp(l + 1, s, n) == 0;
}

static void label_str(const uint8_t *l, char *out)
{
	size_t o = 0;
	for (unsigned i = 1; i <= l[0]; i++) {
		uint8_t c = l[i];
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')
			out[o++] = (char)c;
		else
			o += (size_t)sprintf(out + o, "\\%03u", c);
	}
	out[o] = '\0';
}

int catz_parse(const ldns_rr_list *zone, const uint8_t *apex, size_t apex_len, size_t max,
               struct catz_set *out, char *err, size_t errlen)
{
	out->m = NULL;
	out->n = 0;
	if (max == 0)
		max = CATZ_MAX_MEMBERS;
	size_t cap = 0, n = 0, nversion = 0;
	int version_ok = 0;
	struct catz_member *m = NULL;
	int rc = 0;
	for (size_t i = 0; zone != NULL && i < ldns_rr_list_rr_count(zone); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(zone, i);
		ldns_rr_type t = ldns_rr_get_type(rr);
		if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN) {
			ed_seterr(err, errlen, "broken catalog: an RR of class %d (not IN)",
			          (int)ldns_rr_get_class(rr));
			rc = ED_EZONE;
			goto fail;
		}
		if (t != LDNS_RR_TYPE_TXT && t != LDNS_RR_TYPE_PTR)
			continue;
		uint8_t ow[256];
		size_t owl = lower_wire(ldns_rr_owner(rr), ow), off[3];
		int nl = owl ? rel_labels(ow, owl, apex, apex_len, off) : -1;
		if (t == LDNS_RR_TYPE_TXT && nl == 1 && label_is(ow + off[0], "version")) {
			const ldns_rdf *d = ldns_rr_rd_count(rr) == 1 ? ldns_rr_rdf(rr, 0) : NULL;
			nversion++;
			version_ok = d != NULL && ldns_rdf_size(d) == 2 &&
			             memcmp(ldns_rdf_data(d), "\x01" "2", 2) == 0;
			continue;
		}
		if (t != LDNS_RR_TYPE_PTR || nl != 2 || !label_is(ow + off[1], "zones"))
			continue;
		if (n == max) {
			ed_seterr(err, errlen, "catalog lists more than %zu members", max);
			rc = ED_ELIMIT;
			goto fail;
		}
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			struct catz_member *nm = realloc(m, nc * sizeof(*m));
			if (nm == NULL) {
				rc = ED_ENOMEM;
				ed_seterr(err, errlen, "out of memory");
				goto fail;
			}
			m = nm;
			cap = nc;
		}
		struct catz_member *e = &m[n];
		memset(e, 0, sizeof(*e));
		label_str(ow + off[0], e->id);
		e->wire_len = ldns_rr_rd_count(rr) == 1 ? lower_wire(ldns_rr_rdf(rr, 0), e->wire) : 0;
		char *s = NULL;
		if (e->wire_len) {
			ldns_rdf *c = ldns_dname_new_frm_data((uint16_t)e->wire_len, e->wire);
			s = c ? ldns_rdf2str(c) : NULL;
			ldns_rdf_deep_free(c);
		}
		char fn[CFG_ZONE_FILENAME_MAX + 1];
		if (s == NULL || strlen(s) >= sizeof(e->name) || cfg_zone_filename(s, fn, sizeof(fn)) == 0) {
			ed_seterr(err, errlen, "broken catalog: member %s: bad PTR target", e->id);
			free(s);
			rc = ED_EZONE;
			goto fail;
		}
		snprintf(e->name, sizeof(e->name), "%s", s);
		free(s);
		n++;
	}
	if (nversion != 1 || !version_ok) {
		if (nversion == 0)
			ed_seterr(err, errlen, "not a catalog: no version TXT record");
		else if (nversion > 1)
			ed_seterr(err, errlen, "broken catalog: %zu version TXT records", nversion);
		else
			ed_seterr(err, errlen, "catalog version is not \"2\" (only RFC 9432 version 2 "
			          "is supported)");
		rc = ED_EZONE;
		goto fail;
	}
	/* one PTR per member node (identical duplicates count once) */
	qsort(m, n, sizeof(*m), id_cmp);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (k > 0 && strcmp(m[k - 1].id, m[i].id) == 0) {
			if (member_cmp(&m[k - 1], &m[i]) == 0)
				continue;
			ed_seterr(err, errlen, "broken catalog: member node %s has more than one PTR",
			          m[i].id);
			rc = ED_EZONE;
			goto fail;
		}
		m[k++] = m[i];
	}
	n = k;
	qsort(m, n, sizeof(*m), member_cmp);
	for (size_t i = 1; i < n; i++)
		if (member_cmp(&m[i - 1], &m[i]) == 0) {
			ed_seterr(err, errlen, "broken catalog: member %s listed twice (%s and %s)",
			          m[i].name, m[i - 1].id, m[i].id);
			rc = ED_EZONE;
			goto fail;
		}
	out->m = m;
	out->n = n;
	return 0;
fail:
	free(m);
	return rc;
}

/* ---- the saved member list ---------------------------------------------- */

static int list_path(const char *dir, const char *catalog, const char *suffix, char *buf,
                     size_t size, char *err, size_t errlen)
{
	char fn[CFG_ZONE_FILENAME_MAX + 1];
	if (dir == NULL || catalog == NULL || cfg_zone_filename(catalog, fn, sizeof(fn)) == 0) {
		ed_seterr(err, errlen, "bad catalog name '%s'", catalog ? catalog : "(null)");
		return ED_EINVAL;
	}
	int n = snprintf(buf, size, "%s/%s.catalog%s", dir, fn, suffix);
	if (n < 0 || (size_t)n >= size) {
		ed_seterr(err, errlen, "%s/%s.catalog: path too long", dir, fn);
		return ED_ELIMIT;
	}
	return 0;
}

static int dump_cb(const char *buf, size_t size, void *data)
{
	int fd = *(int *)data;
	while (size > 0) {
		ssize_t w = write(fd, buf, size);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		size -= (size_t)w;
	}
	return 0;
}

int catz_save(const char *dir, const char *catalog, uint32_t serial, const struct catz_set *set,
              char *err, size_t errlen)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	int rc = list_path(dir, catalog, "", path, sizeof(path), err, errlen);
	if (rc == 0)
		rc = list_path(dir, catalog, ".tmp", tmp, sizeof(tmp), err, errlen);
	if (rc != 0)
		return rc;
	json_t *a = json_array();
	json_t *o = json_pack("{s:i,s:s,s:I,s:o}", "version", 1, "catalog", catalog, "serial",
	                      (json_int_t)serial, "members", a);
	if (o == NULL) {
		ed_seterr(err, errlen, "out of memory");
		return ED_ENOMEM;
	}
	for (size_t i = 0; i < set->n; i++)
		json_array_append_new(a, json_pack("{s:s,s:s}", "zone", set->m[i].name, "id",
		                                   set->m[i].id));
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		json_decref(o);
		ed_seterr(err, errlen, "%s: %s", tmp, strerror(errno));
		return ED_EIO;
	}
	int bad = json_dump_callback(o, dump_cb, &fd, JSON_COMPACT) != 0 || dump_cb("\n", 1, &fd) ||
	          fsync(fd) != 0;
	bad |= close(fd) != 0;
	json_decref(o);
	if (bad || rename(tmp, path) != 0) {
		ed_seterr(err, errlen, "%s: %s", bad ? tmp : path, strerror(errno));
		unlink(tmp);
		return ED_EIO;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
}

int catz_load(const char *dir, const char *catalog, struct catz_set *out, uint32_t *serial,
              char *err, size_t errlen)
{
	char path[PATH_MAX];
	out->m = NULL;
	out->n = 0;
	int rc = list_path(dir, catalog, "", path, sizeof(path), err, errlen);
	if (rc != 0)
		return rc;
	FILE *f = fopen(path, "re");
	if (f == NULL) {
		if (errno == ENOENT)
			return ED_ENOENT;
		ed_seterr(err, errlen, "%s: %s", path, strerror(errno));
		return ED_EIO;
	}
	json_error_t je;
	json_t *o = json_loadf(f, 0, &je);
	fclose(f);
	json_t *a = o ? json_object_get(o, "members") : NULL;
	json_t *s = o ? json_object_get(o, "serial") : NULL;
	const char *cn = o ? json_string_value(json_object_get(o, "catalog")) : NULL;
	if (!json_is_array(a) || !json_is_integer(s) || cn == NULL || strcmp(cn, catalog) != 0 ||
	    json_array_size(a) > CATZ_MAX_MEMBERS) {
		ed_seterr(err, errlen, "%s: not a member list of %s", path, catalog);
		json_decref(o);
		return ED_EFORMAT;
	}
	*serial = (uint32_t)json_integer_value(s);
	size_t n = json_array_size(a);
	struct catz_member *m = calloc(n ? n : 1, sizeof(*m));
	if (m == NULL) {
		json_decref(o);
		ed_seterr(err, errlen, "out of memory");
		return ED_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(a, i);
		const char *zn = json_string_value(json_object_get(e, "zone"));
		const char *id = json_string_value(json_object_get(e, "id"));
		ldns_rdf *d = zn ? ldns_dname_new_frm_str(zn) : NULL;
		char fn[CFG_ZONE_FILENAME_MAX + 1];
		m[i].wire_len = lower_wire(d, m[i].wire);
		ldns_rdf_deep_free(d);
		if (id == NULL || m[i].wire_len == 0 || strlen(zn) >= sizeof(m[i].name) ||
		    strlen(id) >= sizeof(m[i].id) || cfg_zone_filename(zn, fn, sizeof(fn)) == 0) {
			ed_seterr(err, errlen, "%s: member %zu is not valid", path, i);
			free(m);
			json_decref(o);
			return ED_EFORMAT;
		}
		snprintf(m[i].name, sizeof(m[i].name), "%s", zn);
		snprintf(m[i].id, sizeof(m[i].id), "%s", id);
	}
	json_decref(o);
	qsort(m, n, sizeof(*m), member_cmp);
	out->m = m;
	out->n = n;
	return 0;
}

int catz_remove(const char *dir, const char *catalog, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int rc = list_path(dir, catalog, "", path, sizeof(path), err, errlen);
	if (rc != 0)
		return rc;
	if (unlink(path) != 0) {
		if (errno == ENOENT)
			return ED_ENOENT;
		ed_seterr(err, errlen, "%s: %s", path, strerror(errno));
		return ED_EIO;
	}
	return 0;
}
