/* xfr_ixfr.c: IXFR diffs applied to the zone served, and the update that
 * falls back to AXFR when they do not apply. */
#include "xfr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsconst.h"
#include "error.h"
#include "rrsort.h"
#include "xfr_int.h"


/* ---- IXFR application ---- */

void xfr_shared_drop(ldns_rr_list *zone, struct xfr_shared *sh)
{
	if (sh == NULL || (sh->fresh == NULL && sh->gone == NULL)) {
		ldns_rr_list_deep_free(zone);
	} else {
		ldns_rr_list_free(zone);
		ldns_rr_list_deep_free(sh->fresh);
		ldns_rr_list_free(sh->gone);
	}
	if (sh != NULL)
		sh->fresh = sh->gone = NULL;
}

void xfr_shared_keep(ldns_rr_list *base, struct xfr_shared *sh)
{
	if (sh == NULL || (sh->fresh == NULL && sh->gone == NULL)) {
		ldns_rr_list_deep_free(base);
	} else {
		ldns_rr_list_free(base);
		ldns_rr_list_deep_free(sh->gone);
		ldns_rr_list_free(sh->fresh);
	}
	if (sh != NULL)
		sh->fresh = sh->gone = NULL;
}

/* The non-SOA RRs of l in canonical order (pointers into l), its first
 * SOA in *soa when soa is not NULL. */
static ldns_rr **sorted(const ldns_rr_list *l, size_t *n, ldns_rr **soa)
{
	size_t c = l ? ldns_rr_list_rr_count(l) : 0, k = 0;
	ldns_rr **v = malloc((c ? c : 1) * sizeof(*v));
	if (v == NULL)
		return NULL;
	for (size_t i = 0; i < c; i++) {
		ldns_rr *rr = ldns_rr_list_rr(l, i);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA) {
			if (soa && *soa == NULL)
				*soa = rr;
		} else {
			v[k++] = rr;
		}
	}
	if (!rrsort_is_sorted(v, k) && rrsort_sort(v, k) != 0) {
		free(v);
		return NULL;
	}
	*n = k;
	return v;
}

/* First index in z[0..n) not before rr (n when none). */
static size_t lower_bound(ldns_rr *const *z, size_t n, const ldns_rr *rr)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (rrsort_cmp(z[mid], rr) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The RRs this application allocated (the added ones, the SOAs) and the
 * base's RRs it dropped. */
struct own {
	ldns_rr_list *fresh, *gone;
};

/* rr leaves the version: freed when this application made it, else
 * noted as gone from the base. */
static int own_drop(struct own *o, ldns_rr *rr)
{
	size_t n = ldns_rr_list_rr_count(o->fresh);
	for (size_t i = n; i-- > 0;) {
		if (ldns_rr_list_rr(o->fresh, i) != rr)
			continue;
		ldns_rr_list_set_rr(o->fresh, ldns_rr_list_rr(o->fresh, n - 1), i);
		ldns_rr_list_set_rr_count(o->fresh, n - 1);
		ldns_rr_free(rr);
		return 0;
	}
	return ldns_rr_list_push_rr(o->gone, rr) ? 0 : ED_ENOMEM;
}

static ldns_rr *own_clone(struct own *o, const ldns_rr *rr)
{
	ldns_rr *c = ldns_rr_clone(rr);
	if (c != NULL && !ldns_rr_list_push_rr(o->fresh, c)) {
		ldns_rr_free(c);
		c = NULL;
	}
	return c;
}

/* One step: z[0..*zn) (canonical order) minus del, plus add, into a new
 * array *out. Every deleted RR must be in z. */
static int apply_step(struct own *o, ldns_rr **z, size_t zn, ldns_rr **del, size_t dn,
                      ldns_rr **add, size_t an, ldns_rr ***out, size_t *outn,
                      const struct xfr_diff *d, size_t step, char *err, size_t errlen)
{
	/* Deleted ranges: every RR of z equal to a deleted one. */
	size_t *dl = malloc((dn ? dn : 1) * 2 * sizeof(*dl));
	size_t *ap = malloc((an ? an : 1) * sizeof(*ap));
	ldns_rr **nz = malloc((zn + an + 1) * sizeof(*nz));
	int rc = ED_ENOMEM;
	if (dl == NULL || ap == NULL || nz == NULL)
		goto fail;
	for (size_t j = 0; j < dn; j++) {
		size_t lo = lower_bound(z, zn, del[j]), hi = lo;
		while (hi < zn && rrsort_cmp(z[hi], del[j]) == 0)
			hi++;
		if (lo == hi) {
			char *t = ldns_rr2str(del[j]);
			size_t tl = t ? strlen(t) : 0;
			if (tl && t[tl - 1] == '\n')
				t[tl - 1] = 0;
			ed_seterr(err, errlen, "IXFR: diff %zu (serial %u to %u) deletes %s, "
			          "which is not in the zone", step + 1, d->from, d->to, t ? t : "?");
			free(t);
			rc = ED_EZONE;
			goto fail;
		}
		dl[2 * j] = lo;
		dl[2 * j + 1] = hi;
	}
	for (size_t k = 0; k < an; k++)
		ap[k] = lower_bound(z, zn, add[k]);
	/* Merge: runs of z copied whole, deleted ranges skipped, each added
	 * RR (the first of equal ones) at its place, replacing an equal RR of
	 * z (its TTL wins). del and add are sorted, so are their positions. */
	size_t i = 0, m = 0, j = 0, k = 0;
	for (;;) {
		size_t next = zn;
		if (j < dn && dl[2 * j] < next)
			next = dl[2 * j];
		if (k < an && ap[k] < next)
			next = ap[k];
		if (next > i) {
			memcpy(nz + m, z + i, (next - i) * sizeof(*nz));
			m += next - i;
			i = next;
		}
		if (k < an && ap[k] <= i) {
			ldns_rr *c = own_clone(o, add[k]);
			if (c == NULL)
				goto fail;
			nz[m++] = c;
			if (i < zn && rrsort_cmp(z[i], add[k]) == 0 &&
			    !(j < dn && dl[2 * j] <= i && i < dl[2 * j + 1])) {
				if (own_drop(o, z[i]) != 0)
					goto fail;
				i++;
			}
			while (k + 1 < an && rrsort_cmp(add[k], add[k + 1]) == 0)
				k++;
			k++;
			continue;
		}
		if (j < dn && dl[2 * j] <= i) {
			size_t hi = i;
			/* equal deleted RRs share a range: skip them all */
			for (; j < dn && dl[2 * j] <= i; j++)
				if (dl[2 * j + 1] > hi)
					hi = dl[2 * j + 1];
			for (; i < hi; i++)
				if (own_drop(o, z[i]) != 0)
					goto fail;
			continue;
		}
		if (i >= zn && k >= an)
			break;
	}
	free(dl);
	free(ap);
	*out = nz;
	*outn = m;
	return 0;
fail:
	free(dl);
	free(ap);
	free(nz);
	return rc;
}

int xfr_ixfr_apply_shared(const ldns_rr_list *base, const struct xfr_diff *diffs, size_t n,
                          ldns_rr_list **out, struct xfr_shared *sh, char *err,
                          size_t errlen)
{
	*out = NULL;
	sh->fresh = sh->gone = NULL;
	struct own o = { ldns_rr_list_new(), ldns_rr_list_new() };
	size_t zn = 0;
	ldns_rr *soa = NULL;
	ldns_rr **z = sorted(base, &zn, &soa);   /* pointers into base */
	int rc = ED_ENOMEM;
	if (z == NULL || o.fresh == NULL || o.gone == NULL)
		goto out;
	if (soa == NULL || ldns_rr_rd_count(soa) != 7) {
		ed_seterr(err, errlen, "IXFR: the current zone has no SOA");
		rc = ED_EZONE;
		goto out;
	}
	for (size_t s = 0; s < n; s++) {
		const struct xfr_diff *d = &diffs[s];
		if (d->from != xfr_soa_serial(soa)) {
			rc = ED_EZONE;
			ed_seterr(err, errlen, "IXFR: diff %zu starts at serial %u, the zone is at %u",
			          s + 1, d->from, xfr_soa_serial(soa));
			goto out;
		}
		size_t dn = 0, an = 0, nn = 0;
		ldns_rr *newsoa = NULL;
		ldns_rr **del = sorted(d->del, &dn, NULL);
		ldns_rr **add = sorted(d->add, &an, &newsoa);
		ldns_rr **nz = NULL;
		if (del == NULL || add == NULL) {
			rc = ED_ENOMEM;
		} else if (newsoa == NULL || ldns_rr_rd_count(newsoa) != 7 ||
		           xfr_soa_serial(newsoa) != d->to) {
			rc = ED_EZONE;
			ed_seterr(err, errlen, "IXFR: diff %zu has no SOA of serial %u", s + 1, d->to);
		} else {
			rc = apply_step(&o, z, zn, del, dn, add, an, &nz, &nn, d, s, err, errlen);
		}
		free(del);
		free(add);
		if (rc != 0)
			goto out;
		free(z);
		z = nz;
		zn = nn;
		rc = ED_ENOMEM;
		ldns_rr *c = own_clone(&o, newsoa);
		if (c == NULL || own_drop(&o, soa) != 0)
			goto out;
		soa = c;
	}
	ldns_rr_list *l = ldns_rr_list_new();
	if (l == NULL || !ldns_rr_list_push_rr(l, soa)) {
		ldns_rr_list_free(l);
		goto out;
	}
	for (size_t i = 0; i < zn; i++)
		if (!ldns_rr_list_push_rr(l, z[i])) {
			ldns_rr_list_free(l);
			goto out;
		}
	*out = l;
	sh->fresh = o.fresh;
	sh->gone = o.gone;
	o.fresh = o.gone = NULL;
	rc = 0;
out:
	free(z);
	ldns_rr_list_deep_free(o.fresh);   /* nothing of base is in it */
	ldns_rr_list_free(o.gone);
	return rc;
}

static int ptr_cmp(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;
	return (x > y) - (x < y);
}

int xfr_ixfr_apply(const ldns_rr_list *base, const struct xfr_diff *diffs, size_t n,
                   ldns_rr_list **out, char *err, size_t errlen)
{
	struct xfr_shared sh;
	ldns_rr_list *l = NULL;
	int rc = xfr_ixfr_apply_shared(base, diffs, n, &l, &sh, err, errlen);
	if (rc != 0) {
		*out = NULL;
		return rc;
	}
	/* A copy of every RR it shares with base: the list owns them all. */
	size_t fn = ldns_rr_list_rr_count(sh.fresh), cnt = ldns_rr_list_rr_count(l);
	ldns_rr **f = malloc((fn ? fn : 1) * sizeof(*f));
	if (f == NULL) {
		xfr_shared_drop(l, &sh);
		*out = NULL;
		return ED_ENOMEM;
	}
	for (size_t i = 0; i < fn; i++)
		f[i] = ldns_rr_list_rr(sh.fresh, i);
	qsort(f, fn, sizeof(*f), ptr_cmp);
	size_t done = 0;
	for (; done < cnt; done++) {
		ldns_rr *rr = ldns_rr_list_rr(l, done);
		if (bsearch(&rr, f, fn, sizeof(*f), ptr_cmp) != NULL)
			continue;
		ldns_rr *c = ldns_rr_clone(rr);
		if (c == NULL)
			break;
		ldns_rr_list_set_rr(l, c, done);
	}
	if (done < cnt) {
		/* [0, done) owned by l: free those that are copies, then the rest */
		for (size_t i = 0; i < done; i++) {
			ldns_rr *rr = ldns_rr_list_rr(l, i);
			if (bsearch(&rr, f, fn, sizeof(*f), ptr_cmp) == NULL)
				ldns_rr_free(rr);
		}
		free(f);
		ldns_rr_list_free(l);
		ldns_rr_list_deep_free(sh.fresh);
		ldns_rr_list_free(sh.gone);
		*out = NULL;
		return ED_ENOMEM;
	}
	free(f);
	ldns_rr_list_free(sh.fresh);
	ldns_rr_list_free(sh.gone);
	*out = l;
	return 0;
}

/* ---- IXFR with AXFR fallback ---- */

/* A whole zone received is put in the order of a published version
 * (rrsort.h): publish_zone() then need not sort it, and the next IXFR
 * applies to it as it is. */
static int axfr_ordered(int rc, struct xfr_result *out, char *err, size_t errlen)
{
	if (rc != 0 || out->zone == NULL)
		return rc;
	if (rrsort_list(out->zone) != 0) {
		out->why = XFR_WHY_INTERNAL;
		ed_seterr(err, errlen, "out of memory ordering the zone");
		return ED_ENOMEM;
	}
	return 0;
}

static int update(const struct sockaddr *primary, socklen_t len, const char *zone,
                  const ldns_rr_list *current, uint32_t current_serial,
                  const struct xfr_tsig *tsig, const struct xfr_limits *limits,
                  struct xfr_result *out, int share, char *err, size_t errlen)
{
	if (current == NULL)
		return axfr_ordered(xfr_fetch(primary, len, zone, LDNS_RR_TYPE_AXFR, 0, tsig,
		                              limits, out, err, errlen), out, err, errlen);
	int rc = xfr_fetch(primary, len, zone, LDNS_RR_TYPE_IXFR, current_serial, tsig,
	                   limits, out, err, errlen);
	char why[256] = "";
	if (rc == 0 && out->kind == XFR_KIND_IXFR) {
		ldns_rr_list *z = NULL;
		char e2[200] = "";
		int a = share ? xfr_ixfr_apply_shared(current, out->diffs, out->ndiffs, &z,
		                                      &out->shared, e2, sizeof(e2)) :
		        xfr_ixfr_apply(current, out->diffs, out->ndiffs, &z, e2, sizeof(e2));
		if (a == 0) {
			out->zone = z;
			return 0;
		}
		if (a != ED_EZONE) {
			out->why = XFR_WHY_INTERNAL;
			ed_seterr(err, errlen, "%s", e2);
			return a;
		}
		snprintf(why, sizeof(why), "%s", e2);
	} else if (rc == 0) {
		return axfr_ordered(rc, out, err, errlen);
	} else if ((rc == ED_ERCODE && (out->rcode == RC_NOTIMP ||
	                                out->rcode == RC_FORMERR)) ||
	           out->why == XFR_WHY_IXFR) {
		snprintf(why, sizeof(why), "%s", err ? err : "IXFR refused");
	} else {
		return rc;
	}
	xfr_result_free(out);
	rc = xfr_fetch(primary, len, zone, LDNS_RR_TYPE_AXFR, 0, tsig, limits, out, err, errlen);
	out->ixfr_fallback = 1;
	snprintf(out->fallback_reason, sizeof(out->fallback_reason), "%s", why);
	return axfr_ordered(rc, out, err, errlen);
}

int xfr_update(const struct sockaddr *primary, socklen_t len, const char *zone,
               const ldns_rr_list *current, uint32_t current_serial,
               const struct xfr_tsig *tsig, const struct xfr_limits *limits,
               struct xfr_result *out, char *err, size_t errlen)
{
	return update(primary, len, zone, current, current_serial, tsig, limits, out, 0, err,
	              errlen);
}

int xfr_update_shared(const struct sockaddr *primary, socklen_t len, const char *zone,
                      const ldns_rr_list *current, uint32_t current_serial,
                      const struct xfr_tsig *tsig, const struct xfr_limits *limits,
                      struct xfr_result *out, char *err, size_t errlen)
{
	return update(primary, len, zone, current, current_serial, tsig, limits, out, 1, err,
	              errlen);
}
