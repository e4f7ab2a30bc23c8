/* compile.c: zone text -> ldns -> wire RRs -> zonecheck -> snapshot writer. */
#include "compile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "dname.h"
#include "error.h"
#include "zonecheck.h"

/* ldns stores this TTL in an RR that states none (we pass it as the
 * default), so implicit TTLs can be told apart. An explicit TTL of exactly
 * this value is taken as implicit: it is over 2^31-1 and so invalid anyway
 * (RFC 2181 8). */
#define TTL_UNSET 0xfffffffeu
#define DEFAULT_TTL 3600u

/* Until the zone text or the caller names an origin, ldns is given this
 * one, so a name it had to complete with the origin carries it as suffix
 * and is reported instead of silently becoming a name under the root. */
static const uint8_t no_origin[] = "\x15\x00" "edgedns-origin-unset";
#define NO_ORIGIN_LEN sizeof(no_origin)   /* with the root label */

static int is_no_origin_name(const ldns_rdf *f)
{
	const uint8_t *d = ldns_rdf_data(f);
	size_t n = ldns_rdf_size(f);
	return n >= NO_ORIGIN_LEN && dname_check(d, n) != 0 &&
	       dname_is_sub(d, no_origin);
}

struct cctx {
	const struct compile_opts *opts;
	struct compile_diag *diag;
	struct zc *zc;
	uint64_t nread;
	unsigned syntax_errors;
	uint32_t dflt_ttl;      /* for RRs without a TTL */
	int ttl_from_dollar;    /* a $TTL was seen: it is the default */
	int depth;              /* $INCLUDE nesting */
	int fatal;              /* ED_* that stops the parse, 0: none */
};

/* ---- diagnostics ------------------------------------------------------- */

void compile_diag_init(struct compile_diag *d)
{
	memset(d, 0, sizeof(*d));
	d->keep = COMPILE_DIAG_KEEP;
}

void compile_diag_free(struct compile_diag *d)
{
	if (d == NULL)
		return;
	for (unsigned i = 0; i < d->nmsgs; i++)
		free(d->msgs[i].text);
	free(d->msgs);
	for (unsigned i = 0; i < d->nfiles; i++)
		free(d->files[i]);
	free(d->files);
	memset(d, 0, sizeof(*d));
}

/* Index of a file name in the diag's table, added when new; 0 (the first
 * entry) when out of memory so messages still carry some name. */
static uint32_t diag_file(struct compile_diag *d, const char *name)
{
	for (unsigned i = 0; i < d->nfiles; i++)
		if (strcmp(d->files[i], name) == 0)
			return i;
	char **f = realloc(d->files, (d->nfiles + 1) * sizeof(*f));
	if (f == NULL)
		return 0;
	d->files = f;
	if ((f[d->nfiles] = strdup(name)) == NULL)
		return 0;
	return d->nfiles++;
}

static void diag_emit(struct compile_diag *d, enum compile_sev sev,
                      uint32_t file, unsigned line, const char *text)
{
	const char *fname = file < d->nfiles ? d->files[file] : "?";
	const char *what = sev == COMPILE_ERROR ? "error" : "warning";
	char *s = NULL;
	int n;
	if (sev == COMPILE_ERROR)
		d->errors++;
	else
		d->warnings++;
	if (sev == COMPILE_WARNING && d->quiet)
		return;
	if (line > 0)
		n = asprintf(&s, "%s:%u: %s: %s", fname, line, what, text);
	else
		n = asprintf(&s, "%s: %s: %s", fname, what, text);
	if (n < 0)
		return;
	struct compile_msg m = { s, fname, line, sev };
	if (d->out != NULL)
		fprintf(d->out, "%s\n", s);
	if (d->cb != NULL)
		d->cb(d->cb_arg, &m);
	if (d->nmsgs < d->keep) {
		struct compile_msg *v = realloc(d->msgs, (d->nmsgs + 1) * sizeof(*v));
		if (v != NULL) {
			d->msgs = v;
			v[d->nmsgs++] = m;
			return;
		}
	}
	free(s);
}

static void diagf(struct compile_diag *d, enum compile_sev sev, uint32_t file,
                  unsigned line, const char *fmt, ...)
{
	char buf[1400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	diag_emit(d, sev, file, line, buf);
}

static void zc_report(void *arg, enum zc_severity sev, uint32_t file,
                      uint32_t line, const char *text)
{
	struct cctx *c = arg;
	diag_emit(c->diag, sev == ZC_ERROR ? COMPILE_ERROR : COMPILE_WARNING,
	          file, line, text);
}

/* ---- files ------------------------------------------------------------- */

struct text {
	const char *p;
	size_t len;
	void *map;      /* munmap() on release, or NULL */
	size_t maplen;
};

static int text_map(const char *path, struct text *t)
{
	memset(t, 0, sizeof(*t));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ED_EIO;
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return ED_EIO;
	}
	if (st.st_size > 0) {
		void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (m == MAP_FAILED) {
			close(fd);
			return ED_EIO;
		}
		t->map = m;
		t->maplen = (size_t)st.st_size;
		t->p = m;
		t->len = (size_t)st.st_size;
	} else {
		t->p = "";
	}
	close(fd);
	return 0;
}

static void text_release(struct text *t)
{
	if (t->map != NULL)
		munmap(t->map, t->maplen);
	memset(t, 0, sizeof(*t));
}

/* ---- parsing ----------------------------------------------------------- */

/* Skip blanks and comments in p[*i..end), counting newlines; returns 1 when
 * content follows (at *i), 0 when there is none. */
static int skip_blank(const char *p, size_t *i, size_t end, unsigned *nl)
{
	while (*i < end) {
		char ch = p[*i];
		if (ch == '\n') {
			(*nl)++;
		} else if (ch == ';') {
			while (*i < end && p[*i] != '\n')
				(*i)++;
			continue;
		} else if (ch != ' ' && ch != '\t' && ch != '\r') {
			return 1;
		}
		(*i)++;
	}
	return 0;
}

/* One token of a directive line: quoted or up to a blank or ';'. */
static size_t dir_token(const char *p, size_t *i, size_t end, char *out,
                        size_t size)
{
	size_t o = 0;
	while (*i < end && (p[*i] == ' ' || p[*i] == '\t'))
		(*i)++;
	if (*i < end && p[*i] == '"') {
		(*i)++;
		while (*i < end && p[*i] != '"' && p[*i] != '\n') {
			if (o + 1 < size)
				out[o++] = p[*i];
			(*i)++;
		}
		if (*i < end && p[*i] == '"')
			(*i)++;
	} else {
		while (*i < end && p[*i] != ' ' && p[*i] != '\t' && p[*i] != '\n' &&
		       p[*i] != '\r' && p[*i] != ';') {
			if (o + 1 < size)
				out[o++] = p[*i];
			(*i)++;
		}
	}
	out[o] = 0;
	return o;
}

static int parse_text(struct cctx *c, const char *p, size_t len,
                      uint32_t file, const char *dir, ldns_rdf **origin);

static void do_include(struct cctx *c, const char *p, size_t i, size_t end,
                       uint32_t file, unsigned line, const char *dir,
                       const ldns_rdf *origin)
{
	char fname[4096], oname[1100], path[8192];
	if (end - i < 8 || memcmp(p + i, "$INCLUDE", 8) != 0) {
		diagf(c->diag, COMPILE_ERROR, file, line, "cannot read $INCLUDE");
		c->syntax_errors++;
		return;
	}
	i += 8;
	if (c->opts->flags & COMPILE_NOINCLUDE) {
		diagf(c->diag, COMPILE_ERROR, file, line, "$INCLUDE not allowed here");
		c->syntax_errors++;
		return;
	}
	if (dir_token(p, &i, end, fname, sizeof(fname)) == 0) {
		diagf(c->diag, COMPILE_ERROR, file, line, "$INCLUDE without a file name");
		c->syntax_errors++;
		return;
	}
	dir_token(p, &i, end, oname, sizeof(oname));
	if (c->depth >= COMPILE_INCLUDE_DEPTH) {
		diagf(c->diag, COMPILE_ERROR, file, line,
		      "$INCLUDE %s: nested more than %d deep", fname,
		      COMPILE_INCLUDE_DEPTH);
		c->syntax_errors++;
		return;
	}
	if (fname[0] != '/' && dir != NULL && dir[0] != 0)
		snprintf(path, sizeof(path), "%s/%s", dir, fname);
	else
		snprintf(path, sizeof(path), "%s", fname);

	ldns_rdf *inc_origin = NULL;
	if (oname[0] != 0) {
		if (ldns_str2rdf_dname(&inc_origin, oname) != LDNS_STATUS_OK) {
			diagf(c->diag, COMPILE_ERROR, file, line,
			      "$INCLUDE %s: bad origin %s", fname, oname);
			c->syntax_errors++;
			return;
		}
		if (!ldns_dname_str_absolute(oname) && origin != NULL &&
		    ldns_dname_cat(inc_origin, origin) != LDNS_STATUS_OK) {
			ldns_rdf_deep_free(inc_origin);
			diagf(c->diag, COMPILE_ERROR, file, line,
			      "$INCLUDE %s: bad origin %s", fname, oname);
			c->syntax_errors++;
			return;
		}
	} else if (origin != NULL) {
		inc_origin = ldns_rdf_clone(origin);
	}

	struct text t;
	if (text_map(path, &t) != 0) {
		diagf(c->diag, COMPILE_ERROR, file, line, "$INCLUDE %s: %s", path,
		      strerror(errno));
		c->syntax_errors++;
		ldns_rdf_deep_free(inc_origin);
		return;
	}
	uint32_t f = diag_file(c->diag, path);
	char *slash = strrchr(path, '/');
	if (slash == path)
		slash[1] = 0;   /* "/x.zone": the directory is "/" */
	else if (slash != NULL)
		*slash = 0;
	c->depth++;
	parse_text(c, t.p, t.len, f, slash != NULL ? path : dir, &inc_origin);
	c->depth--;
	text_release(&t);
	ldns_rdf_deep_free(inc_origin);
}

/* Convert one parsed RR and hand it to the checker. */
static void add_rr(struct cctx *c, const ldns_rr *rr, uint32_t file, unsigned line,
                   ldns_rdf **origin)
{
	uint8_t rdata[65536];
	size_t rdlen = 0;
	const ldns_rdf *owner = ldns_rr_owner(rr);
	uint16_t type = (uint16_t)ldns_rr_get_type(rr);
	for (size_t k = 0; k < ldns_rr_rd_count(rr); k++) {
		const ldns_rdf *f = ldns_rr_rdf(rr, k);
		size_t n = ldns_rdf_size(f);
		if (rdlen + n > 65535) {
			diagf(c->diag, COMPILE_ERROR, file, line,
			      "rdata longer than 65535 octets");
			c->syntax_errors++;
			return;
		}
		memcpy(rdata + rdlen, ldns_rdf_data(f), n);
		rdlen += n;
	}
	int relative = is_no_origin_name(owner);
	for (size_t k = 0; k < ldns_rr_rd_count(rr) && !relative; k++)
		if (ldns_rdf_get_type(ldns_rr_rdf(rr, k)) == LDNS_RDF_TYPE_DNAME)
			relative = is_no_origin_name(ldns_rr_rdf(rr, k));
	if (relative) {
		diagf(c->diag, COMPILE_ERROR, file, line,
		      "relative name but no origin: add $ORIGIN or give the zone name");
		c->syntax_errors++;
		return;
	}
	uint32_t ttl = ldns_rr_ttl(rr);
	if (ttl == TTL_UNSET) {
		ttl = c->dflt_ttl;
		if (type == LDNS_RR_TYPE_RRSIG && ldns_rr_rd_count(rr) >= 4 &&
		    ldns_rdf_get_type(ldns_rr_rdf(rr, 3)) == LDNS_RDF_TYPE_INT32)
			ttl = ldns_rdf2native_int32(ldns_rr_rdf(rr, 3));
	} else if (!c->ttl_from_dollar) {
		c->dflt_ttl = ttl;
	}
	c->nread++;
	if (c->opts->max_rrs != 0 && c->nread > c->opts->max_rrs) {
		diagf(c->diag, COMPILE_ERROR, file, line,
		      "zone has more than %u RRs (max_rrs)", c->opts->max_rrs);
		c->fatal = ED_ELIMIT;
		return;
	}
	int rc = zc_add(c->zc, ldns_rdf_data(owner), type,
	                (uint16_t)ldns_rr_get_class(rr), ttl, rdata,
	                (uint16_t)rdlen, file, line);
	if (rc != 0) {
		diagf(c->diag, COMPILE_ERROR, file, line, "%s", ed_strerror(rc));
		c->fatal = rc;
		return;
	}
	/* Without an origin, relative names after the SOA are relative to its
	 * owner (as ldns's own zone reader does). */
	if (type == LDNS_RR_TYPE_SOA && (*origin == NULL ||
	    is_no_origin_name(*origin))) {
		ldns_rdf_deep_free(*origin);
		*origin = ldns_rdf_clone(owner);
	}
}

/* Parse len octets of zone text; origin is the current $ORIGIN (updated). */
static int parse_text(struct cctx *c, const char *p, size_t len,
                      uint32_t file, const char *dir, ldns_rdf **origin)
{
	if (len == 0)
		return 0;
	FILE *fp = fmemopen((void *)(uintptr_t)p, len, "r");
	if (fp == NULL) {
		c->fatal = ED_ENOMEM;
		return ED_ENOMEM;
	}
	ldns_rdf *prev = NULL;
	int line = 1;           /* ldns's count, unused */
	unsigned at_line = 1;   /* line of the octet at ftell(fp) */
	while (!feof(fp) && c->fatal == 0 &&
	       c->syntax_errors < COMPILE_MAX_SYNTAX_ERRORS) {
		long p0 = ftell(fp);
		uint32_t ttl = TTL_UNSET;
		ldns_rr *rr = NULL;
		ldns_status s = ldns_rr_new_frm_fp_l(&rr, fp, &ttl, origin, &prev,
		                                     &line);
		long p1 = ftell(fp);
		if (p0 < 0 || p1 < p0 || (size_t)p1 > len || (p1 == p0 && !feof(fp))) {
			/* ldns made no progress: never loop on it */
			diagf(c->diag, COMPILE_ERROR, file, at_line,
			      "parser stuck, giving up");
			c->syntax_errors++;
			if (rr != NULL)
				ldns_rr_free(rr);
			break;
		}
		/* ldns swallows blank lines and comments before and after an
		 * entry: the entry starts at its first content. Lines are
		 * counted here, from the octets ldns consumed. */
		size_t i = (size_t)p0;
		unsigned nl = 0;
		int content = skip_blank(p, &i, (size_t)p1, &nl);
		unsigned sl = at_line + nl;
		for (const char *q = p + i, *qe = p + p1;
		     (q = memchr(q, '\n', (size_t)(qe - q))) != NULL; q++)
			nl++;
		at_line += nl;
		switch (s) {
		case LDNS_STATUS_OK:
			add_rr(c, rr, file, sl, origin);
			ldns_rr_free(rr);
			break;
		case LDNS_STATUS_SYNTAX_TTL:
			c->dflt_ttl = ttl;
			c->ttl_from_dollar = 1;
			break;
		case LDNS_STATUS_SYNTAX_ORIGIN:
		case LDNS_STATUS_SYNTAX_EMPTY:
			break;
		case LDNS_STATUS_SYNTAX_INCLUDE:
			do_include(c, p, i, (size_t)p1, file, sl, dir, *origin);
			break;
		default:
			if (!content)
				break;   /* trailing blanks or comments */
			diagf(c->diag, COMPILE_ERROR, file, sl, "%s",
			      ldns_get_errorstr_by_id(s));
			c->syntax_errors++;
			break;
		}
	}
	if (c->syntax_errors >= COMPILE_MAX_SYNTAX_ERRORS)
		diagf(c->diag, COMPILE_ERROR, file, 0,
		      "too many syntax errors, giving up");
	ldns_rdf_deep_free(prev);
	fclose(fp);
	return 0;
}

/* ---- the compile ------------------------------------------------------- */

static void soa_serial(const struct zc_rr *r, uint32_t *serial)
{
	size_t o = dname_check(r->rdata, r->rdlen);
	if (o == 0)
		return;
	size_t m = dname_check(r->rdata + o, r->rdlen - o);
	if (m == 0 || o + m + 4 > r->rdlen)
		return;
	const uint8_t *s = r->rdata + o + m;
	*serial = (uint32_t)s[0] << 24 | (uint32_t)s[1] << 16 |
	          (uint32_t)s[2] << 8 | s[3];
}

/* What compile_zone_text() and compile_zone_rrs() share: the setup before
 * the RRs are fed, and the checks and the snapshot builder after. */
struct run {
	struct cctx c;
	struct compile_diag own_diag;
	struct compile_result own_res;
	struct compile_result *res;
	struct compile_diag *diag;
	ldns_rdf *origin;       /* the current $ORIGIN */
	uint32_t file;
	uint8_t apex[DNAME_MAXLEN];
};

static int run_begin(struct run *r, const char *name, const struct compile_opts *opts,
                     struct snapw **w, struct compile_result *res,
                     struct compile_diag *diag)
{
	static const struct compile_opts no_opts;
	if (w != NULL)
		*w = NULL;
	if (opts == NULL)
		opts = &no_opts;
	r->res = res != NULL ? res : &r->own_res;
	memset(r->res, 0, sizeof(*r->res));
	if (diag == NULL) {
		compile_diag_init(&r->own_diag);
		r->own_diag.keep = 0;
		diag = &r->own_diag;
	}
	r->diag = diag;
	r->file = diag_file(diag, name != NULL ? name : "-");
	memset(&r->c, 0, sizeof(r->c));
	r->c.opts = opts;
	r->c.diag = diag;
	r->c.dflt_ttl = opts->default_ttl ? opts->default_ttl : DEFAULT_TTL;
	r->origin = NULL;
	r->c.zc = zc_new(zc_report, &r->c,
	                 (opts->flags & COMPILE_TTL_FIRST) ? ZC_TTL_FIRST : 0);
	if (r->c.zc == NULL)
		return ED_ENOMEM;
	if (opts->origin == NULL) {
		r->origin = ldns_dname_new_frm_data(NO_ORIGIN_LEN, no_origin);
		return r->origin != NULL ? 0 : ED_ENOMEM;
	}
	if (ldns_str2rdf_dname(&r->origin, opts->origin) != LDNS_STATUS_OK ||
	    dname_check(ldns_rdf_data(r->origin), ldns_rdf_size(r->origin)) == 0) {
		diagf(diag, COMPILE_ERROR, r->file, 0, "bad zone name %s", opts->origin);
		return ED_EINVAL;
	}
	memcpy(r->apex, ldns_rdf_data(r->origin), ldns_rdf_size(r->origin));
	return 0;
}

/* The checks, then (w not NULL) the builder; rc is run_begin()'s. */
static int run_end(struct run *r, int rc, struct snapw **w)
{
	struct compile_result *res = r->res;
	struct compile_diag *diag = r->diag;
	const struct compile_opts *opts = r->c.opts;
	ldns_rdf_deep_free(r->origin);
	r->origin = NULL;
	if (rc != 0)
		goto out;
	res->rrs_read = r->c.nread;
	if (r->c.fatal != 0) {
		rc = r->c.fatal;
		goto out;
	}
	if (r->c.syntax_errors > 0) {
		rc = ED_ESYNTAX;
		goto out;
	}
	if (opts->origin == NULL) {
		const uint8_t *soa = zc_first_soa_owner(r->c.zc);
		if (soa == NULL) {
			diagf(diag, COMPILE_ERROR, r->file, 0,
			      "no SOA record: cannot tell the zone name");
			rc = ED_EZONE;
			goto out;
		}
		memcpy(r->apex, soa, dname_len(soa));
	}
	dname_lower(res->apex, r->apex, dname_len(r->apex));
	dname_to_str(res->apex, res->origin, sizeof(res->origin));

	long nerr = zc_run(r->c.zc, res->apex);
	if (nerr < 0) {
		rc = (int)nerr;
		goto out;
	}
	if (nerr > 0) {
		rc = ED_EZONE;
		goto out;
	}
	struct snapw *b = NULL;
	if (w != NULL && (b = snapw_new(res->apex)) == NULL) {
		rc = ED_ENOMEM;
		goto out;
	}
	size_t n = zc_kept(r->c.zc);
	for (size_t i = 0; i < n; i++) {
		struct zc_rr z;
		zc_get(r->c.zc, i, &z);
		if (z.type == LDNS_RR_TYPE_SOA && dname_len(z.owner) ==
		    dname_len(res->apex) && memcmp(z.owner, res->apex,
		    dname_len(res->apex)) == 0)
			soa_serial(&z, &res->serial);
		if (b == NULL)
			continue;
		rc = snapw_add_rr(b, z.owner, z.type, z.rclass, z.ttl, z.rdata,
		                  z.rdlen);
		if (rc != 0) {
			char nb[1024], tb[16];
			diagf(diag, COMPILE_ERROR, z.file, z.line,
			      "snapshot: %s %s: %s", dname_to_str(z.owner, nb, sizeof(nb)),
			      zc_type_str(z.type, tb, sizeof(tb)), ed_strerror(rc));
			snapw_free(b);
			goto out;
		}
	}
	res->rrs = n;
	if (w != NULL)
		*w = b;
out:
	zc_free(r->c.zc);
	r->c.zc = NULL;
	if (diag == &r->own_diag)
		compile_diag_free(&r->own_diag);
	return rc;
}

int compile_zone_text(const char *text, size_t len, const char *name,
                      const char *dir, const struct compile_opts *opts,
                      struct snapw **w, struct compile_result *res,
                      struct compile_diag *diag)
{
	struct run r;
	int rc = run_begin(&r, name, opts, w, res, diag);
	if (rc == 0)
		parse_text(&r.c, text, len, r.file, dir, &r.origin);
	return run_end(&r, rc, w);
}

int compile_zone_rrs(ldns_rr *const *rrs, size_t n, const char *name, unsigned line0,
                     const struct compile_opts *opts, struct snapw **w,
                     struct compile_result *res, struct compile_diag *diag)
{
	struct run r;
	int rc = run_begin(&r, name, opts, w, res, diag);
	for (size_t i = 0; rc == 0 && i < n && r.c.fatal == 0 &&
	     r.c.syntax_errors < COMPILE_MAX_SYNTAX_ERRORS; i++)
		add_rr(&r.c, rrs[i], r.file, line0 + (unsigned)i, &r.origin);
	if (rc == 0 && r.c.syntax_errors >= COMPILE_MAX_SYNTAX_ERRORS)
		diagf(r.diag, COMPILE_ERROR, r.file, 0, "too many errors, giving up");
	return run_end(&r, rc, w);
}

int compile_zone_mem(const char *text, size_t len, const char *name,
                     const struct compile_opts *opts, void **img,
                     size_t *imglen, struct compile_result *res,
                     struct compile_diag *diag)
{
	struct compile_diag own;
	struct compile_result own_res;
	struct snapw *w = NULL;
	if (img != NULL)
		*img = NULL;
	if (imglen != NULL)
		*imglen = 0;
	if (res == NULL)
		res = &own_res;
	if (diag == NULL) {
		compile_diag_init(&own);
		own.keep = 0;
	}
	struct compile_diag *d = diag != NULL ? diag : &own;
	int rc = compile_zone_text(text, len, name, NULL, opts,
	                           img != NULL ? &w : NULL, res, d);
	if (rc == 0 && w != NULL) {
		char err[512] = "";
		size_t l = 0;
		rc = snapw_build(w, img, &l, &res->snap, err, sizeof(err));
		if (rc != 0)
			diagf(d, COMPILE_ERROR, diag_file(d, name != NULL ? name : "-"),
			      0, "snapshot: %s", err[0] ? err : ed_strerror(rc));
		else if (imglen != NULL)
			*imglen = l;
	}
	if (w != NULL)
		snapw_free(w);
	if (d == &own)
		compile_diag_free(&own);
	return rc;
}

const char *compile_writer_msg(const char *err, const char *path, int rc)
{
	size_t n = strlen(path);
	if (err == NULL || err[0] == 0)
		return ed_strerror(rc);
	if (strncmp(err, path, n) == 0 && err[n] == ':')
		return err + n + 1 + (err[n + 1] == ' ');
	return err;
}

int compile_zone_build(const char *zonefile, const struct compile_opts *opts,
                       struct snapw **w, struct compile_result *res,
                       struct compile_diag *diag)
{
	struct compile_diag own;
	struct compile_result own_res;
	if (w != NULL)
		*w = NULL;
	if (res == NULL)
		res = &own_res;
	memset(res, 0, sizeof(*res));
	if (diag == NULL) {
		compile_diag_init(&own);
		own.keep = 0;
	}
	struct compile_diag *d = diag != NULL ? diag : &own;
	struct text t;
	int rc = text_map(zonefile, &t);
	if (rc != 0) {
		diagf(d, COMPILE_ERROR, diag_file(d, zonefile), 0, "%s",
		      strerror(errno));
	} else {
		char dir[4096];
		snprintf(dir, sizeof(dir), "%s", zonefile);
		char *slash = strrchr(dir, '/');
		if (slash == dir)
			slash[1] = 0;
		else if (slash != NULL)
			*slash = 0;
		rc = compile_zone_text(t.p, t.len, zonefile,
		                       slash != NULL ? dir : NULL, opts, w, res, d);
		text_release(&t);
	}
	if (d == &own)
		compile_diag_free(&own);
	return rc;
}

int compile_zone_file(const char *zonefile, const struct compile_opts *opts,
                      const char *out_path, struct compile_result *res,
                      struct compile_diag *diag)
{
	struct compile_diag own;
	struct compile_result own_res;
	struct snapw *w = NULL;
	if (res == NULL)
		res = &own_res;
	if (diag == NULL) {
		compile_diag_init(&own);
		own.keep = 0;
	}
	struct compile_diag *d = diag != NULL ? diag : &own;
	int rc = compile_zone_build(zonefile, opts, out_path != NULL ? &w : NULL,
	                            res, d);
	if (rc == 0 && w != NULL) {
		char err[512] = "";
		rc = snapw_write(w, out_path, &res->snap, err, sizeof(err));
		if (rc != 0)
			diagf(d, COMPILE_ERROR, diag_file(d, out_path), 0, "%s",
			      compile_writer_msg(err, out_path, rc));
	}
	if (w != NULL)
		snapw_free(w);
	if (d == &own)
		compile_diag_free(&own);
	return rc;
}
