/* verify_diff.c: the gate without a canonical copy of the zone, for the
 * zone service (verify_zone_diff() in verify.h): one pass over the new
 * version for the structure, the blast radius from the IXFR's diffs or
 * from a merge of the two versions in canonical order. A zone with DNSSEC
 * or ZONEMD takes verify_zone()'s full path. */
#include "verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dname.h"
#include "error.h"
#include "rrsort.h"
#include "verify_int.h"
#include "xfr.h"

/* The lowercase wire owner of rr into out; 0 when malformed. */
static size_t owner_lower(const ldns_rr *rr, uint8_t *out)
{
	const ldns_rdf *f = ldns_rr_owner(rr);
	if (f == NULL || ldns_rdf_get_type(f) != LDNS_RDF_TYPE_DNAME)
		return 0;
	size_t n = dname_check(ldns_rdf_data(f), ldns_rdf_size(f));
	if (n == 0)
		return 0;
	dname_lower(out, ldns_rdf_data(f), n);
	return n;
}

/* 1 when rr's owner is the lowercase name l (len octets). */
static int owner_is(const ldns_rr *rr, const uint8_t *l, size_t len)
{
	const ldns_rdf *f = ldns_rr_owner(rr);
	if (f == NULL || ldns_rdf_size(f) != len)
		return 0;
	const uint8_t *d = ldns_rdf_data(f);
	for (size_t i = 0; i < len; i++)
		if (dname_lower_octet(d[i]) != l[i])
			return 0;
	return 1;
}

/* 1 when b repeats a (same owner, type, class and canonical rdata): in a
 * version in canonical order duplicates are neighbours. */
static int repeats(const ldns_rr *a, const ldns_rr *b)
{
	if (a == NULL || ldns_rr_get_type(a) != ldns_rr_get_type(b) ||
	    ldns_rr_rd_count(a) != ldns_rr_rd_count(b))
		return 0;
	const ldns_rdf *x = ldns_rr_owner(a), *y = ldns_rr_owner(b);
	size_t n = ldns_rdf_size(x);
	if (n != ldns_rdf_size(y))
		return 0;
	const uint8_t *p = ldns_rdf_data(x), *q = ldns_rdf_data(y);
	for (size_t i = n; i-- > 0;)    /* names differ at the left, mostly */
		if (dname_lower_octet(p[i]) != dname_lower_octet(q[i]))
			return 0;
	return rrsort_cmp(a, b) == 0;
}

static const ldns_rr *first_soa(const ldns_rr_list *l)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++)
		if (ldns_rr_get_type(ldns_rr_list_rr(l, i)) == LDNS_RR_TYPE_SOA)
			return ldns_rr_list_rr(l, i);
	return NULL;
}

/* What one pass over a version finds. */
struct scan {
	const ldns_rr *soa;
	uint8_t apex[DNAME_MAXLEN];
	size_t alen;
	uint32_t serial;
	uint64_t rrs, data;     /* in zone, neighbouring repeats once */
	int dnssec, zonemd;     /* an apex DNSKEY, an apex ZONEMD */
};

/* Step 1 of verify.h over l. 0, or ED_EZONE with the reason in err. */
static int scan_zone(const ldns_rr_list *l, struct scan *s, char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	char nb[1100];
	s->soa = first_soa(l);
	if (s->soa == NULL) {
		ed_seterr(err, errlen, "no SOA");
		return ED_EZONE;
	}
	if ((s->alen = owner_lower(s->soa, s->apex)) == 0) {
		ed_seterr(err, errlen, "malformed SOA owner");
		return ED_EZONE;
	}
	if (ldns_rr_rd_count(s->soa) < 7 || ldns_rdf_size(ldns_rr_rdf(s->soa, 2)) != 4) {
		ed_seterr(err, errlen, "malformed SOA");
		return ED_EZONE;
	}
	s->serial = ldns_rdf2native_int32(ldns_rr_rdf(s->soa, 2));
	const ldns_rr *prev = NULL;
	uint8_t own[DNAME_MAXLEN];
	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(l, i);
		uint16_t t = (uint16_t)ldns_rr_get_type(rr);
		if (owner_lower(rr, own) == 0) {
			ed_seterr(err, errlen, "malformed owner name");
			return ED_EZONE;
		}
		if (!dname_is_sub(own, s->apex))
			continue;   /* not of this zone: the compiler reports it */
		if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN) {
			ed_seterr(err, errlen, "RR of class %u at %s", (unsigned)ldns_rr_get_class(rr),
			          dname_to_str(own, nb, sizeof(nb)));
			return ED_EZONE;
		}
		int at_apex = dname_len(own) == s->alen && memcmp(own, s->apex, s->alen) == 0;
		if (t == LDNS_RR_TYPE_SOA && rr != s->soa) {
			if (!at_apex) {
				ed_seterr(err, errlen, "SOA at %s, below the apex",
				          dname_to_str(own, nb, sizeof(nb)));
				return ED_EZONE;
			}
			if (rrsort_cmp(rr, s->soa) != 0) {
				ed_seterr(err, errlen, "more than one SOA at %s",
				          dname_to_str(own, nb, sizeof(nb)));
				return ED_EZONE;
			}
			continue;   /* the AXFR's closing SOA */
		}
		if (at_apex && t == LDNS_RR_TYPE_DNSKEY)
			s->dnssec = 1;
		if (at_apex && t == LDNS_RR_TYPE_ZONEMD)
			s->zonemd = 1;
		if (repeats(prev, rr))
			continue;
		prev = rr;
		s->rrs++;
		s->data += verify_is_data(t);
	}
	return 0;
}

/* Of the previous version only its SOA (its structure passed the gate
 * when it came): apex and serial. */
static int soa_only(const ldns_rr_list *l, struct scan *s, char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	s->soa = first_soa(l);
	if (s->soa == NULL || (s->alen = owner_lower(s->soa, s->apex)) == 0 ||
	    ldns_rr_rd_count(s->soa) < 7 || ldns_rdf_size(ldns_rr_rdf(s->soa, 2)) != 4) {
		ed_seterr(err, errlen, "no SOA, or a malformed one");
		return ED_EZONE;
	}
	s->serial = ldns_rdf2native_int32(ldns_rr_rdf(s->soa, 2));
	return 0;
}

/* 1 when the step deletes or adds an NS RR at the apex. */
static int touches_apex_ns(const struct xfr_diff *d, const struct scan *s)
{
	const ldns_rr_list *ls[2] = { d->del, d->add };
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; ls[k] != NULL && i < ldns_rr_list_rr_count(ls[k]); i++) {
			const ldns_rr *rr = ldns_rr_list_rr(ls[k], i);
			if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_NS && owner_is(rr, s->apex, s->alen))
				return 1;
		}
	return 0;
}

/* The non-SOA RRs of l that step 3 counts, sorted, repeats once. */
static ldns_rr **data_sorted(const ldns_rr_list *l, size_t *n)
{
	size_t c = l ? ldns_rr_list_rr_count(l) : 0, k = 0;
	ldns_rr **v = malloc((c ? c : 1) * sizeof(*v));
	if (v == NULL)
		return NULL;
	for (size_t i = 0; i < c; i++)
		if (verify_is_data((uint16_t)ldns_rr_get_type(ldns_rr_list_rr(l, i))))
			v[k++] = ldns_rr_list_rr(l, i);
	if (rrsort_sort(v, k) != 0) {
		free(v);
		return NULL;
	}
	size_t m = 0;
	for (size_t i = 0; i < k; i++)
		if (m == 0 || rrsort_cmp(v[m - 1], v[i]) != 0)
			v[m++] = v[i];
	*n = m;
	return v;
}

/* 1 when the version l (SOA first, the rest in canonical order) holds an
 * RR equal to rr. */
static int holds(const ldns_rr_list *l, const ldns_rr *rr)
{
	size_t lo = 1, hi = ldns_rr_list_rr_count(l);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = rrsort_cmp(ldns_rr_list_rr(l, mid), rr);
		if (c == 0)
			return 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* Removed and added data RRs from one IXFR step: a deleted RR the new
 * version no longer holds is removed; an added RR the old version did not
 * hold is added. Both versions SOA first, the rest in canonical order. */
static int blast_from_diff(const ldns_rr_list *ol, const ldns_rr_list *nl,
                           const struct xfr_diff *d, uint64_t *removed, uint64_t *added)
{
	size_t dn = 0, an = 0;
	ldns_rr **del = data_sorted(d->del, &dn), **add = data_sorted(d->add, &an);
	if (del == NULL || add == NULL) {
		free(del);
		free(add);
		return ED_ENOMEM;
	}
	*removed = *added = 0;
	for (size_t i = 0; i < dn; i++)
		*removed += !holds(nl, del[i]);
	for (size_t i = 0; i < an; i++)
		*added += !holds(ol, add[i]);
	free(del);
	free(add);
	return 0;
}

/* Removed and added data RRs by a merge of two versions in canonical
 * order (SOA first). */
static void blast_merge(const ldns_rr_list *ol, const ldns_rr_list *nl, uint64_t *removed,
                        uint64_t *added)
{
	size_t on = ldns_rr_list_rr_count(ol), nn = ldns_rr_list_rr_count(nl), i = 1, j = 1;
	const ldns_rr *po = NULL, *pn = NULL;
	*removed = *added = 0;
	for (;;) {
		while (i < on && (!verify_is_data((uint16_t)ldns_rr_get_type(ldns_rr_list_rr(ol, i))) ||
		                  repeats(po, ldns_rr_list_rr(ol, i))))
			i++;
		while (j < nn && (!verify_is_data((uint16_t)ldns_rr_get_type(ldns_rr_list_rr(nl, j))) ||
		                  repeats(pn, ldns_rr_list_rr(nl, j))))
			j++;
		if (i == on && j == nn)
			break;
		const ldns_rr *a = i < on ? ldns_rr_list_rr(ol, i) : NULL;
		const ldns_rr *b = j < nn ? ldns_rr_list_rr(nl, j) : NULL;
		int c = a == NULL ? 1 : b == NULL ? -1 : rrsort_cmp(a, b);
		if (c <= 0) {
			po = a;
			i++;
		}
		if (c >= 0) {
			pn = b;
			j++;
		}
		*removed += c < 0;
		*added += c > 0;
	}
}

/* The apex NS targets of l, lowercase, sorted, once each. */
struct nsset {
	uint8_t (*t)[DNAME_MAXLEN];
	size_t n;
};

static int ns_cmp(const void *x, const void *y)
{
	const uint8_t *a = x, *b = y;
	size_t la = dname_len(a), lb = dname_len(b);
	int c = memcmp(a, b, la < lb ? la : lb);
	return c != 0 ? c : (la > lb) - (la < lb);
}

static int apex_ns_set(const ldns_rr_list *l, const struct scan *s, struct nsset *ns)
{
	size_t c = ldns_rr_list_rr_count(l), k = 0;
	ns->t = NULL;
	ns->n = 0;
	for (size_t pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < c; i++) {
			const ldns_rr *rr = ldns_rr_list_rr(l, i);
			if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NS || !owner_is(rr, s->apex, s->alen) ||
			    ldns_rr_rd_count(rr) != 1)
				continue;
			const ldns_rdf *f = ldns_rr_rdf(rr, 0);
			size_t n = dname_check(ldns_rdf_data(f), ldns_rdf_size(f));
			if (n == 0 || n != ldns_rdf_size(f))
				continue;
			if (pass == 1)
				dname_lower(ns->t[k], ldns_rdf_data(f), n);
			k++;
		}
		if (pass == 0) {
			if ((ns->t = malloc((k ? k : 1) * sizeof(*ns->t))) == NULL)
				return ED_ENOMEM;
			k = 0;
		}
	}
	qsort(ns->t, k, sizeof(*ns->t), ns_cmp);
	for (size_t i = 0; i < k; i++)
		if (ns->n == 0 || ns_cmp(ns->t[ns->n - 1], ns->t[i]) != 0)
			memcpy(ns->t[ns->n++], ns->t[i], dname_len(ns->t[i]));
	return 0;
}

/* "apex NS set changed: - a + b" into why, or "" when unchanged. */
static int ns_change(const ldns_rr_list *ol, const struct scan *os, const ldns_rr_list *nl,
                     const struct scan *ns, char *why, size_t size)
{
	struct nsset o, n;
	if (apex_ns_set(ol, os, &o) != 0)
		return ED_ENOMEM;
	if (apex_ns_set(nl, ns, &n) != 0) {
		free(o.t);
		return ED_ENOMEM;
	}
	size_t w = (size_t)snprintf(why, size, "apex NS set changed:");
	int changed = 0;
	char name[1100];
	for (size_t a = 0, b = 0; a < o.n || b < n.n;) {
		int c = a == o.n ? 1 : b == n.n ? -1 : ns_cmp(o.t[a], n.t[b]);
		if (c != 0) {
			changed = 1;
			if (w < size)
				w += (size_t)snprintf(why + w, size - w, " %s %s", c < 0 ? "-" : "+",
				                      dname_to_str(c < 0 ? o.t[a] : n.t[b], name,
				                                   sizeof(name)));
		}
		a += c <= 0;
		b += c >= 0;
	}
	if (!changed)
		why[0] = '\0';
	free(o.t);
	free(n.t);
	return 0;
}

int verify_zone_diff(const ldns_rr_list *new_zone, const ldns_rr_list *old_zone,
                     const struct xfr_diff *diffs, size_t ndiffs,
                     const struct verify_policy *pol, time_t now,
                     struct verify_report *rep)
{
	struct verify_policy dflt;
	if (rep == NULL)
		return ED_EINVAL;
	memset(rep, 0, sizeof(*rep));
	if (new_zone == NULL)
		return verify_zone(new_zone, old_zone, pol, now, rep);
	if (pol == NULL) {
		verify_policy_defaults(&dflt);
		pol = &dflt;
	}
	struct scan ns, os;
	char err[400], forced[400] = "", nb[1100];
	if (scan_zone(new_zone, &ns, err, sizeof(err)) != 0) {
		verify_refuse(rep, "%s", err);
		return 0;
	}
	if (ns.dnssec || ns.zonemd || pol->require_zonemd)
		return verify_zone(new_zone, old_zone, pol, now, rep);
	rep->new_serial = ns.serial;
	rep->rrs = ns.rrs;
	if (old_zone == NULL) {
		rep->rrs_added = ns.data;
	} else {
		int diff = diffs != NULL && ndiffs == 1;
		if ((diff ? soa_only(old_zone, &os, err, sizeof(err)) :
		            scan_zone(old_zone, &os, err, sizeof(err))) != 0) {
			rep->result = VERIFY_ERROR;
			snprintf(rep->reason, sizeof(rep->reason), "previous version: %s", err);
			return ED_EINVAL;
		}
		if (os.alen != ns.alen || memcmp(os.apex, ns.apex, ns.alen) != 0) {
			rep->result = VERIFY_ERROR;
			snprintf(rep->reason, sizeof(rep->reason), "the previous version is of "
			         "another zone (%s)", dname_to_str(os.apex, nb, sizeof(nb)));
			return ED_EINVAL;
		}
		rep->old_serial = os.serial;
		if (verify_serial_step(ns.serial, os.serial, pol, rep, forced, sizeof(forced)))
			return 0;
		uint64_t removed = 0, added = 0;
		if (diff) {
			if (blast_from_diff(old_zone, new_zone, &diffs[0], &removed, &added) != 0)
				goto oom;
			/* the RRs counted in the new version, less the added, plus
			 * the removed */
			os.data = ns.data + removed - (added < ns.data ? added : ns.data);
		} else {
			/* Both in the order of a published version, or the
			 * full comparison. */
			if (ldns_rr_list_rr(old_zone, 0) != os.soa || ldns_rr_list_rr(new_zone, 0) != ns.soa ||
			    !rrsort_list_is_sorted(old_zone, 1) || !rrsort_list_is_sorted(new_zone, 1))
				return verify_zone(new_zone, old_zone, pol, now, rep);
			blast_merge(old_zone, new_zone, &removed, &added);
		}
		rep->rrs_removed = removed;
		rep->rrs_added = added;
		char why[400] = "";
		if ((!diff || touches_apex_ns(&diffs[0], &ns)) &&
		    ns_change(old_zone, &os, new_zone, &ns, why, sizeof(why)) != 0)
			goto oom;
		if (verify_blast_decide(removed, os.data, why[0] ? why : NULL, pol, rep, forced,
		                        sizeof(forced)))
			return 0;
	}
	rep->result = VERIFY_OK;
	if (forced[0] != 0)
		snprintf(rep->reason, sizeof(rep->reason), "forced: %s", forced);
	return 0;
oom:
	rep->result = VERIFY_ERROR;
	snprintf(rep->reason, sizeof(rep->reason), "%s", ed_strerror(ED_ENOMEM));
	return ED_ENOMEM;
}
