/* verify.c: the zone version gate: structure, serial, blast radius; ZONEMD
 * is in verify_zonemd.c, DNSSEC in verify_dnssec.c. */
#include "verify.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dname.h"
#include "error.h"
#include "verify_int.h"

void verify_policy_defaults(struct verify_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->rrsig_margin = VERIFY_RRSIG_MARGIN;
	p->max_remove_pct = VERIFY_MAX_REMOVE_PCT;
}

const char *verify_result_str(enum verify_result r)
{
	switch (r) {
	case VERIFY_OK: return "ok";
	case VERIFY_UP_TO_DATE: return "up to date";
	case VERIFY_REFUSED: return "refused";
	case VERIFY_ERROR: return "error";
	}
	return "?";
}

int serial_compare(uint32_t a, uint32_t b)
{
	if (a == b)
		return 0;
	uint32_t d = b - a;     /* how far b is ahead of a, mod 2^32 */
	if (d == 0x80000000u)
		return 2;
	return d < 0x80000000u ? -1 : 1;
}

int verify_refuse(struct verify_report *rep, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rep->reason, sizeof(rep->reason), fmt, ap);
	va_end(ap);
	rep->result = VERIFY_REFUSED;
	return 1;
}

static int verify_error(struct verify_report *rep, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int verify_error(struct verify_report *rep, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rep->reason, sizeof(rep->reason), fmt, ap);
	va_end(ap);
	rep->result = VERIFY_ERROR;
	return rc;
}

const char *verify_type_str(uint16_t type, char *buf, size_t size)
{
	char *s = ldns_rr_type2str((ldns_rr_type)type);
	if (s != NULL) {
		snprintf(buf, size, "%s", s);
		free(s);
	} else {
		snprintf(buf, size, "TYPE%u", type);
	}
	return buf;
}

/* ---- one version, canonical -------------------------------------------- */

/* Canonical order without the TTL: owner, class, type, rdata (RFC 4034
 * 6.1 and 6.3; the rdata as left-justified octet strings). */
static int vrr_cmp(const struct vrr *a, const struct vrr *b)
{
	int c = dname_canon_cmp(a->wire, b->wire);
	if (c != 0)
		return c;
	uint16_t ca = rd16(a->wire + a->rdoff - 8), cb = rd16(b->wire + b->rdoff - 8);
	if (ca != cb)
		return ca < cb ? -1 : 1;
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	size_t la = a->len - a->rdoff, lb = b->len - b->rdoff;
	c = memcmp(a->wire + a->rdoff, b->wire + b->rdoff, la < lb ? la : lb);
	if (c != 0)
		return c;
	return (la > lb) - (la < lb);
}

/* The sort adds the TTL, so of duplicates differing only in TTL the lowest
 * is kept (as dnspython's zone digest does) whatever the input order. */
static int vrr_sort_cmp(const void *x, const void *y)
{
	const struct vrr *a = x, *b = y;
	int c = vrr_cmp(a, b);
	if (c != 0)
		return c;
	uint32_t ta = rd32(a->wire + a->rdoff - 6), tb = rd32(b->wire + b->rdoff - 6);
	return (ta > tb) - (ta < tb);
}

static void vrr_free(struct vrr *r)
{
	ldns_rr_free(r->rr);
	free(r->wire);
	memset(r, 0, sizeof(*r));
}

void vzone_free(struct vzone *z)
{
	if (z == NULL)
		return;
	for (size_t i = 0; i < z->n; i++)
		vrr_free(&z->v[i]);
	free(z->v);
	free(z->names);
	memset(z, 0, sizeof(*z));
}

/* Lowercase copy of a dname rdf into out[256]; 0 when it is malformed. */
static size_t rdf_lower(const ldns_rdf *f, uint8_t *out)
{
	if (f == NULL || ldns_rdf_get_type(f) != LDNS_RDF_TYPE_DNAME)
		return 0;
	size_t n = dname_check(ldns_rdf_data(f), ldns_rdf_size(f));
	if (n == 0)
		return 0;
	dname_lower(out, ldns_rdf_data(f), n);
	return n;
}

/* Canonical copy of rr into r. Returns 0, ED_ENOMEM, ED_EZONE. */
static int vrr_make(struct vrr *r, const ldns_rr *rr, ldns_buffer *buf)
{
	memset(r, 0, sizeof(*r));
	if ((r->rr = ldns_rr_clone(rr)) == NULL)
		return ED_ENOMEM;
	ldns_rr2canonical(r->rr);
	ldns_buffer_clear(buf);
	ldns_status st = ldns_rr2buffer_wire_canonical(buf, r->rr,
	                                               LDNS_SECTION_ANSWER);
	if (st != LDNS_STATUS_OK)
		return st == LDNS_STATUS_MEM_ERR ? ED_ENOMEM : ED_EZONE;
	size_t len = ldns_buffer_position(buf);
	size_t olen = dname_check(ldns_buffer_begin(buf), len);
	if (olen == 0 || len < olen + 10 ||
	    rd16(ldns_buffer_at(buf, olen + 8)) != len - olen - 10)
		return ED_EZONE;
	if ((r->wire = malloc(len)) == NULL)
		return ED_ENOMEM;
	memcpy(r->wire, ldns_buffer_begin(buf), len);
	r->len = (uint32_t)len;
	r->rdoff = (uint16_t)(olen + 10);
	r->type = rd16(r->wire + olen);
	return 0;
}

static int same_owner(const struct vrr *a, const struct vrr *b)
{
	return a->rdoff == b->rdoff && memcmp(a->wire, b->wire, a->rdoff - 10) == 0;
}

static int vzone_names(struct vzone *z, char *err, size_t errlen)
{
	size_t n = 0;
	for (size_t i = 0; i < z->n; i++)
		if (i == 0 || !same_owner(&z->v[i - 1], &z->v[i]))
			n++;
	if ((z->names = calloc(n ? n : 1, sizeof(*z->names))) == NULL)
		return ED_ENOMEM;
	const uint8_t *cut = NULL;     /* last delegation or DNAME owner */
	for (size_t i = 0; i < z->n;) {
		struct vname *nm = &z->names[z->nnames++];
		nm->first = i;
		nm->owner = z->v[i].wire;
		unsigned only_nsec3 = 1;
		while (i < z->n && same_owner(&z->v[nm->first], &z->v[i])) {
			uint16_t t = z->v[i].type;
			if (t == LDNS_RR_TYPE_NS)
				nm->flags |= VN_CUT;
			else if (t == LDNS_RR_TYPE_DS)
				nm->flags |= VN_DS;
			else if (t == LDNS_RR_TYPE_DNAME)
				nm->flags |= VN_DNAME;
			if (t != LDNS_RR_TYPE_NSEC3 && t != LDNS_RR_TYPE_RRSIG)
				only_nsec3 = 0;
			i++;
		}
		nm->end = i;
		if (only_nsec3)
			nm->flags |= VN_NSEC3;
		/* The canonical order puts a name's descendants right after it,
		 * so the first name not below the cut leaves it behind. */
		if (cut != NULL && dname_is_sub(nm->owner, cut)) {
			nm->flags = (nm->flags & ~(VN_CUT | VN_DNAME)) | VN_BELOW;
			continue;
		}
		cut = NULL;
		if (z->nnames == 1) {
			nm->flags = (nm->flags & ~VN_CUT) | VN_APEX;
		}
		if (nm->flags & (VN_CUT | VN_DNAME))
			cut = nm->owner;
	}
	/* The SOA: once, at the apex, which sorts first. */
	if (z->nnames == 0 || dname_len(z->names[0].owner) != dname_len(z->apex) ||
	    memcmp(z->names[0].owner, z->apex, dname_len(z->apex)) != 0) {
		ed_seterr(err, errlen, "no SOA at the apex");
		return ED_EZONE;
	}
	const struct vname *ap = &z->names[0];
	for (size_t k = 0; k < z->nnames; k++) {
		const struct vname *nm = &z->names[k];
		for (size_t i = nm->first; i < nm->end; i++) {
			if (z->v[i].type != LDNS_RR_TYPE_SOA)
				continue;
			char nb[1100];
			if (k != 0) {
				ed_seterr(err, errlen, "SOA at %s, below the apex",
				          dname_to_str(nm->owner, nb, sizeof(nb)));
				return ED_EZONE;
			}
			if (z->soa != NULL) {
				ed_seterr(err, errlen, "more than one SOA at %s",
				          dname_to_str(nm->owner, nb, sizeof(nb)));
				return ED_EZONE;
			}
			z->soa = z->v[i].rr;
		}
	}
	if (z->soa == NULL || ldns_rr_rd_count(z->soa) < 7 ||
	    ldns_rdf_size(ldns_rr_rdf(z->soa, 2)) != 4) {
		ed_seterr(err, errlen, "malformed SOA");
		return ED_EZONE;
	}
	z->serial = ldns_rdf2native_int32(ldns_rr_rdf(z->soa, 2));
	z->apex = ap->owner;
	return 0;
}

int vzone_build(struct vzone *z, const ldns_rr_list *l, char *err,
                size_t errlen)
{
	memset(z, 0, sizeof(*z));
	size_t cnt = ldns_rr_list_rr_count(l);
	uint8_t apex[DNAME_MAXLEN + 1], own[DNAME_MAXLEN + 1];
	char nb[1100];
	const ldns_rr *soa = NULL;
	for (size_t i = 0; i < cnt && soa == NULL; i++)
		if (ldns_rr_get_type(ldns_rr_list_rr(l, i)) == LDNS_RR_TYPE_SOA)
			soa = ldns_rr_list_rr(l, i);
	if (soa == NULL) {
		ed_seterr(err, errlen, "no SOA");
		return ED_EZONE;
	}
	if (rdf_lower(ldns_rr_owner(soa), apex) == 0) {
		ed_seterr(err, errlen, "malformed SOA owner");
		return ED_EZONE;
	}
	if ((z->v = calloc(cnt ? cnt : 1, sizeof(*z->v))) == NULL)
		return ED_ENOMEM;
	ldns_buffer *buf = ldns_buffer_new(LDNS_MAX_PACKETLEN);
	if (buf == NULL)
		return ED_ENOMEM;
	int rc = 0;
	for (size_t i = 0; i < cnt && rc == 0; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(l, i);
		if (rdf_lower(ldns_rr_owner(rr), own) == 0) {
			ed_seterr(err, errlen, "malformed owner name");
			rc = ED_EZONE;
			break;
		}
		if (!dname_is_sub(own, apex))
			continue;   /* not of this zone: the compiler reports it */
		if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN) {
			ed_seterr(err, errlen, "RR of class %u at %s",
			          (unsigned)ldns_rr_get_class(rr),
			          dname_to_str(own, nb, sizeof(nb)));
			rc = ED_EZONE;
			break;
		}
		rc = vrr_make(&z->v[z->n], rr, buf);
		z->n++;             /* freed by vzone_free() even when partial */
		if (rc == ED_EZONE)
			ed_seterr(err, errlen, "malformed RR at %s",
			          dname_to_str(own, nb, sizeof(nb)));
	}
	ldns_buffer_free(buf);
	if (rc != 0)
		return rc;
	qsort(z->v, z->n, sizeof(*z->v), vrr_sort_cmp);
	size_t j = 0;
	for (size_t i = 0; i < z->n; i++) {
		if (j > 0 && vrr_cmp(&z->v[j - 1], &z->v[i]) == 0)
			vrr_free(&z->v[i]);
		else
			z->v[j++] = z->v[i];
	}
	z->n = j;
	z->apex = apex;     /* vzone_names() points it into the RRs */
	rc = vzone_names(z, err, errlen);
	if (rc != 0)
		z->apex = NULL;
	return rc;
}

long vzone_find_name(const struct vzone *z, const uint8_t *name)
{
	size_t lo = 0, hi = z->nnames;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = dname_canon_cmp(z->names[mid].owner, name);
		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* ---- serial and blast radius ------------------------------------------ */

void verify_note(char *buf, size_t size, const char *fmt, ...)
{
	size_t o = strlen(buf);
	if (o + 3 >= size)
		return;
	if (o > 0) {
		memcpy(buf + o, "; ", 3);
		o += 2;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + o, size - o, fmt, ap);
	va_end(ap);
}

int verify_serial_step(uint32_t nserial, uint32_t oserial, const struct verify_policy *pol,
                       struct verify_report *rep, char *forced, size_t fsize)
{
	char why[160];
	switch (serial_compare(nserial, oserial)) {
	case 1:
		return 0;
	case 0:
		if (!pol->force) {
			rep->result = VERIFY_UP_TO_DATE;
			snprintf(rep->reason, sizeof(rep->reason),
			         "serial %u unchanged", nserial);
			return 1;
		}
		verify_note(forced, fsize, "serial %u unchanged", nserial);
		return 0;
	case -1:
		snprintf(why, sizeof(why), "serial %u is older than the current %u",
		         nserial, oserial);
		break;
	default:
		snprintf(why, sizeof(why), "serial %u is 2^31 from the current %u "
		         "(order undefined)", nserial, oserial);
		break;
	}
	if (!pol->force)
		return verify_refuse(rep, "%s", why);
	verify_note(forced, fsize, "%s", why);
	return 0;
}

int verify_is_data(uint16_t t)
{
	return t != LDNS_RR_TYPE_SOA && t != LDNS_RR_TYPE_RRSIG &&
	       t != LDNS_RR_TYPE_NSEC && t != LDNS_RR_TYPE_NSEC3 &&
	       t != LDNS_RR_TYPE_NSEC3PARAM && t != LDNS_RR_TYPE_ZONEMD;
}

/* The apex NS RRs of z: v[*a..*b). */
static void apex_ns(const struct vzone *z, size_t *a, size_t *b)
{
	const struct vname *ap = &z->names[0];
	*a = *b = ap->end;
	for (size_t i = ap->first; i < ap->end; i++) {
		if (z->v[i].type != LDNS_RR_TYPE_NS)
			continue;
		if (*a == ap->end)
			*a = i;
		*b = i + 1;
	}
}

static int check_blast(const struct vzone *nz, const struct vzone *oz,
                       const struct verify_policy *pol,
                       struct verify_report *rep, char *forced, size_t fsize)
{
	uint64_t old_data = 0, removed = 0, added = 0;
	size_t i = 0, j = 0;
	for (;;) {
		while (i < oz->n && !verify_is_data(oz->v[i].type))
			i++;
		while (j < nz->n && !verify_is_data(nz->v[j].type))
			j++;
		if (i == oz->n && j == nz->n)
			break;
		int c = i == oz->n ? 1 : j == nz->n ? -1 :
		        vrr_cmp(&oz->v[i], &nz->v[j]);
		if (c <= 0)
			old_data++;
		if (c < 0) {
			removed++;
			i++;
		} else if (c > 0) {
			added++;
			j++;
		} else {
			i++;
			j++;
		}
	}
	rep->rrs_removed = removed;
	rep->rrs_added = added;
	char why[400];
	/* The apex NS sets, both sorted by rdata. */
	size_t oa, ob, na, nb;
	apex_ns(oz, &oa, &ob);
	apex_ns(nz, &na, &nb);
	size_t o = (size_t)snprintf(why, sizeof(why), "apex NS set changed:");
	int changed = 0;
	char name[1100];
	while (oa < ob || na < nb) {
		int c = oa == ob ? 1 : na == nb ? -1 :
		        vrr_cmp(&oz->v[oa], &nz->v[na]);
		const struct vrr *r = c < 0 ? &oz->v[oa] : &nz->v[na];
		if (c != 0) {
			changed = 1;
			const uint8_t *t = r->wire + r->rdoff;
			if (o < sizeof(why) &&
			    dname_check(t, r->len - r->rdoff) != 0)
				o += (size_t)snprintf(why + o, sizeof(why) - o, " %s %s",
				                      c < 0 ? "-" : "+",
				                      dname_to_str(t, name, sizeof(name)));
		}
		if (c <= 0)
			oa++;
		if (c >= 0)
			na++;
	}
	return verify_blast_decide(removed, old_data, changed ? why : NULL, pol, rep, forced,
	                           fsize);
}

int verify_blast_decide(uint64_t removed, uint64_t old_data, const char *ns_change,
                        const struct verify_policy *pol, struct verify_report *rep,
                        char *forced, size_t fsize)
{
	char why[400];
	if (pol->max_remove_pct < 100 &&
	    removed * 100 > (uint64_t)pol->max_remove_pct * old_data) {
		snprintf(why, sizeof(why), "removes %llu of %llu RRs (%.1f%%, "
		         "limit %u%%)", (unsigned long long)removed,
		         (unsigned long long)old_data,
		         100.0 * (double)removed / (double)old_data,
		         pol->max_remove_pct);
		if (!pol->force)
			return verify_refuse(rep, "%s", why);
		verify_note(forced, fsize, "%s", why);
	}
	if (ns_change != NULL && !pol->allow_ns_change) {
		if (!pol->force)
			return verify_refuse(rep, "%s", ns_change);
		verify_note(forced, fsize, "%s", ns_change);
	}
	return 0;
}

/* ---- the gate ---------------------------------------------------------- */

int verify_zone(const ldns_rr_list *new_zone, const ldns_rr_list *old_zone,
                const struct verify_policy *pol, time_t now,
                struct verify_report *rep)
{
	struct verify_policy dflt;
	if (rep == NULL)
		return ED_EINVAL;
	memset(rep, 0, sizeof(*rep));
	if (new_zone == NULL)
		return verify_error(rep, ED_EINVAL, "no zone given");
	if (pol == NULL) {
		verify_policy_defaults(&dflt);
		pol = &dflt;
	}
	struct vzone nz, oz;
	char err[400], forced[400] = "", nb[1100];
	memset(&oz, 0, sizeof(oz));
	int rc = vzone_build(&nz, new_zone, err, sizeof(err));
	if (rc == ED_EZONE) {
		verify_refuse(rep, "%s", err);
		rc = 0;
		goto out;
	}
	if (rc != 0) {
		verify_error(rep, rc, "%s", ed_strerror(rc));
		goto out;
	}
	rep->new_serial = nz.serial;
	rep->rrs = nz.n;
	if (old_zone != NULL) {
		rc = vzone_build(&oz, old_zone, err, sizeof(err));
		if (rc == ED_EZONE) {
			rc = verify_error(rep, ED_EINVAL, "previous version: %s", err);
			goto out;
		}
		if (rc != 0) {
			verify_error(rep, rc, "%s", ed_strerror(rc));
			goto out;
		}
		if (dname_canon_cmp(oz.apex, nz.apex) != 0) {
			rc = verify_error(rep, ED_EINVAL, "the previous version is of "
			                  "another zone (%s)",
			                  dname_to_str(oz.apex, nb, sizeof(nb)));
			goto out;
		}
		rep->old_serial = oz.serial;
		if (verify_serial_step(nz.serial, oz.serial, pol, rep, forced, sizeof(forced)) ||
		    check_blast(&nz, &oz, pol, rep, forced, sizeof(forced)))
			goto out;
	} else {
		for (size_t i = 0; i < nz.n; i++)
			rep->rrs_added += verify_is_data(nz.v[i].type);
	}
	rc = verify_zonemd(&nz, pol, rep);
	if (rc == 0)
		rc = verify_dnssec(&nz, pol, now, rep);
	if (rc < 0) {
		verify_error(rep, rc, "%s", ed_strerror(rc));
		goto out;
	}
	if (rc == 0) {
		rep->result = VERIFY_OK;
		if (forced[0] != 0)
			snprintf(rep->reason, sizeof(rep->reason), "forced: %s", forced);
	}
	rc = 0;
out:
	vzone_free(&nz);
	vzone_free(&oz);
	return rc;
}

/* A shallow list of the SOA and the other RRs of z. */
static ldns_rr_list *zone_list(const ldns_zone *z)
{
	ldns_rr_list *l = ldns_rr_list_new();
	if (l == NULL)
		return NULL;
	if ((ldns_zone_soa(z) != NULL && !ldns_rr_list_push_rr(l, ldns_zone_soa(z))) ||
	    (ldns_zone_rrs(z) != NULL && !ldns_rr_list_push_rr_list(l, ldns_zone_rrs(z)))) {
		ldns_rr_list_free(l);
		return NULL;
	}
	return l;
}

int verify_ldns_zone(const ldns_zone *new_zone, const ldns_zone *old_zone,
                     const struct verify_policy *pol, time_t now,
                     struct verify_report *rep)
{
	if (new_zone == NULL)
		return verify_zone(NULL, NULL, pol, now, rep);
	ldns_rr_list *nl = zone_list(new_zone);
	ldns_rr_list *ol = old_zone != NULL ? zone_list(old_zone) : NULL;
	int rc;
	if (nl == NULL || (old_zone != NULL && ol == NULL)) {
		rc = ED_ENOMEM;
		if (rep != NULL) {
			memset(rep, 0, sizeof(*rep));
			verify_error(rep, rc, "%s", ed_strerror(rc));
		}
	} else {
		rc = verify_zone(nl, ol, pol, now, rep);
	}
	ldns_rr_list_free(nl);
	ldns_rr_list_free(ol);
	return rc;
}
