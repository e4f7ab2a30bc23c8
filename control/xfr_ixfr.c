/* xfr_ixfr.c: IXFR diffs applied to the zone served, and the update that
 * falls back to AXFR when they do not apply. */
#include "xfr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsconst.h"
#include "error.h"
#include "xfr_int.h"


/* ---- IXFR application ---- */

static int cmp_rr(const void *a, const void *b)
{
	return ldns_rr_compare(*(ldns_rr *const *)a, *(ldns_rr *const *)b);
}

/* The non-SOA RRs of l, sorted (pointers into l). */
static ldns_rr **sorted(const ldns_rr_list *l, size_t *n, ldns_rr **soa)
{
	size_t c = l ? ldns_rr_list_rr_count(l) : 0, k = 0;
	ldns_rr **v = malloc((c ? c : 1) * sizeof(*v));
	if (v == NULL)
		return NULL;
	for (size_t i = 0; i < c; i++) {
		ldns_rr *rr = ldns_rr_list_rr(l, i);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA) {
			if (soa)
				*soa = rr;
		} else {
			v[k++] = rr;
		}
	}
	qsort(v, k, sizeof(*v), cmp_rr);
	*n = k;
	return v;
}

int xfr_ixfr_apply(const ldns_rr_list *base, const struct xfr_diff *diffs, size_t n,
                   ldns_rr_list **out, char *err, size_t errlen)
{
	*out = NULL;
	int rc = ED_ENOMEM;
	size_t zn = 0;
	ldns_rr *soa = NULL;
	ldns_rr **z = sorted(base, &zn, &soa);   /* borrowed from base, then owned */
	if (z == NULL)
		return ED_ENOMEM;
	if (soa == NULL || ldns_rr_rd_count(soa) != 7) {
		free(z);
		ed_seterr(err, errlen, "IXFR: the current zone has no SOA");
		return ED_EZONE;
	}
	/* Work on clones so base stays intact. */
	for (size_t i = 0; i < zn; i++)
		if ((z[i] = ldns_rr_clone(z[i])) == NULL) {
			while (i > 0)
				ldns_rr_free(z[--i]);
			free(z);
			return ED_ENOMEM;
		}
	soa = ldns_rr_clone(soa);
	if (soa == NULL)
		goto out;
	for (size_t s = 0; s < n; s++) {
		const struct xfr_diff *d = &diffs[s];
		if (d->from != xfr_soa_serial(soa)) {
			rc = ED_EZONE;
			ed_seterr(err, errlen, "IXFR: diff %zu starts at serial %u, the zone is at %u",
			          s + 1, d->from, xfr_soa_serial(soa));
			goto out;
		}
		size_t dn = 0, an = 0;
		ldns_rr *newsoa = NULL;
		ldns_rr **del = sorted(d->del, &dn, NULL);
		ldns_rr **add = sorted(d->add, &an, &newsoa);
		ldns_rr **nz = malloc((zn + an + 1) * sizeof(*nz));
		if (del == NULL || add == NULL || nz == NULL || newsoa == NULL ||
		    xfr_soa_serial(newsoa) != d->to) {
			rc = del && add && nz ? ED_EZONE : ED_ENOMEM;
			if (rc == ED_EZONE)
				ed_seterr(err, errlen, "IXFR: diff %zu has no SOA of serial %u", s + 1, d->to);
			free(del);
			free(add);
			free(nz);
			goto out;
		}
		/* Every deleted RR must be there; nothing changes before that. */
		for (size_t j = 0; j < dn; j++) {
			if (bsearch(&del[j], z, zn, sizeof(*z), cmp_rr) != NULL)
				continue;
			char *t = ldns_rr2str(del[j]);
			size_t tl = t ? strlen(t) : 0;
			if (tl && t[tl - 1] == '\n')
				t[tl - 1] = 0;
			ed_seterr(err, errlen, "IXFR: diff %zu (serial %u to %u) deletes %s, "
			          "which is not in the zone", s + 1, d->from, d->to, t ? t : "?");
			free(t);
			free(nz);
			free(del);
			free(add);
			rc = ED_EZONE;
			goto out;
		}
		/* z minus del, then merged with add. */
		size_t i = 0, j = 0, k = 0, m = 0;
		while (i < zn) {
			while (j < dn && ldns_rr_compare(del[j], z[i]) < 0)
				j++;
			if (j < dn && ldns_rr_compare(del[j], z[i]) == 0)
				ldns_rr_free(z[i++]);
			else
				nz[m++] = z[i++];
		}
		/* nz (m) and add (an) are sorted: merge, an added RR replacing an
		 * equal one (its TTL wins). */
		ldns_rr **mz = malloc((m + an + 1) * sizeof(*mz));
		if (mz == NULL) {
			free(z);
			z = nz;
			zn = m;
			free(del);
			free(add);
			goto out;
		}
		size_t r = 0;
		i = 0;
		k = 0;
		int bad = 0;
		while (i < m || k < an) {
			if (k == an || (i < m && ldns_rr_compare(nz[i], add[k]) < 0)) {
				mz[r++] = nz[i++];
				continue;
			}
			ldns_rr *c = ldns_rr_clone(add[k]);
			if (c == NULL)
				bad = 1;
			else
				mz[r++] = c;
			if (i < m && ldns_rr_compare(nz[i], add[k]) == 0)
				ldns_rr_free(nz[i++]);
			while (k + 1 < an && ldns_rr_compare(add[k], add[k + 1]) == 0)
				k++;
			k++;
		}
		free(nz);
		free(del);
		free(add);
		free(z);
		z = mz;
		zn = r;
		ldns_rr_free(soa);
		soa = ldns_rr_clone(newsoa);
		if (bad || soa == NULL)
			goto out;
	}
	ldns_rr_list *l = ldns_rr_list_new();
	if (l == NULL || !ldns_rr_list_push_rr(l, soa)) {
		ldns_rr_list_free(l);
		goto out;
	}
	soa = NULL;
	for (size_t i = 0; i < zn; i++)
		if (!ldns_rr_list_push_rr(l, z[i])) {
			for (; i < zn; i++)
				ldns_rr_free(z[i]);
			ldns_rr_list_deep_free(l);
			zn = 0;
			goto out;
		}
	zn = 0;
	*out = l;
	rc = 0;
out:
	for (size_t i = 0; i < zn; i++)
		ldns_rr_free(z[i]);
	free(z);
	ldns_rr_free(soa);
	return rc;
}

/* ---- IXFR with AXFR fallback ---- */

int xfr_update(const struct sockaddr *primary, socklen_t len, const char *zone,
               const ldns_rr_list *current, uint32_t current_serial,
               const struct xfr_tsig *tsig, const struct xfr_limits *limits,
               struct xfr_result *out, char *err, size_t errlen)
{
	if (current == NULL)
		return xfr_fetch(primary, len, zone, LDNS_RR_TYPE_AXFR, 0, tsig, limits,
		                 out, err, errlen);
	int rc = xfr_fetch(primary, len, zone, LDNS_RR_TYPE_IXFR, current_serial, tsig,
	                   limits, out, err, errlen);
	char why[256] = "";
	if (rc == 0 && out->kind == XFR_KIND_IXFR) {
		ldns_rr_list *z = NULL;
		char e2[200] = "";
		int a = xfr_ixfr_apply(current, out->diffs, out->ndiffs, &z, e2, sizeof(e2));
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
		return 0;
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
	return rc;
}
