/* service_primaries.c: the cross-check of a zone's primaries. After each
 * refresh every primary is asked for its SOA and its apex ZONEMD; the main
 * thread compares what they serve with what we serve and reports a
 * divergence (one serial, different content) or a primary that stays
 * behind longer than the policy's max-primary-lag. Reported, not acted
 * on: the gate (verify.h) decides what is served. */
#include "service_int.h"

#include <stdio.h>

#define CROSS_TIMEOUT_MS 2000u

/* "SCHEME ALG HEX" of a ZONEMD RR, "" when its RDATA is too short. */
static void zonemd_text(const ldns_rr *rr, char *out, size_t n)
{
	out[0] = '\0';
	ldns_buffer *b = ldns_buffer_new(128);
	if (b == NULL)
		return;
	if (ldns_rr_rdata2buffer_wire(b, rr) == LDNS_STATUS_OK && ldns_buffer_position(b) > 6) {
		const uint8_t *d = ldns_buffer_begin(b);
		size_t len = ldns_buffer_position(b);
		int k = snprintf(out, n, "%u %u ", d[4], d[5]);
		for (size_t i = 6; k > 0 && (size_t)k + 2 < n && i < len; i++)
			k += snprintf(out + k, n - (size_t)k, "%02x", d[i]);
	}
	ldns_buffer_free(b);
}

/* The lowest of the ZONEMD texts in rrs (one RRset may hold several
 * schemes or algorithms; every side picks the same one). */
static void zonemd_pick(const ldns_rr_list *rrs, const ldns_rdf *apex, char *out, size_t n)
{
	char t[SVC_ZONEMD_MAX];
	out[0] = '\0';
	for (size_t i = 0; i < ldns_rr_list_rr_count(rrs); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(rrs, i);
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_ZONEMD ||
		    (apex != NULL && ldns_dname_compare(ldns_rr_owner(rr), apex) != 0))
			continue;
		zonemd_text(rr, t, sizeof(t));
		if (t[0] && (out[0] == '\0' || strcmp(t, out) < 0))
			snprintf(out, n, "%s", t);
	}
}

void svc_cross_check(struct job *j, const ldns_rr_list *served)
{
	const struct cfg_zone *cz = j->z->cz;
	ldns_rdf *apex = ldns_dname_new_frm_str(cz->name);
	if (served != NULL) {
		for (size_t i = 0; i < ldns_rr_list_rr_count(served); i++) {
			const ldns_rr *rr = ldns_rr_list_rr(served, i);
			if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA && apex != NULL &&
			    ldns_dname_compare(ldns_rr_owner(rr), apex) == 0) {
				j->ours_soa_hash = xfr_soa_hash(rr);
				j->ours_known = 1;
				break;
			}
		}
		zonemd_pick(served, apex, j->ours_zonemd, sizeof(j->ours_zonemd));
	}
	for (unsigned i = 0; i < cz->n_primaries; i++) {
		const struct cfg_primary *p = &cz->primaries[i];
		const struct sockaddr *sa = (const struct sockaddr *)&p->addr.ss;
		struct svc_pseen *ps = &j->prim[i];
		struct xfr_tsig tsig, *tp = NULL;
		char err[256] = "";
		if (p->key != NULL) {
			svc_tsig_of(p, &tsig);
			tp = &tsig;
		}
		if (!ps->tried) {
			struct xfr_soa_info si;
			uint32_t serial;
			if (xfr_soa_query(sa, p->addr.sslen, cz->name, tp, CROSS_TIMEOUT_MS, &serial,
			                  &si, err, sizeof(err)) == 0) {
				ps->seen = 1;
				ps->serial = serial;
				ps->soa_hash = si.soa_hash;
			} else {
				snprintf(ps->error, sizeof(ps->error), "%s", err);
			}
		}
		if (!ps->seen)
			continue;
		ldns_rr_list *zmd = NULL;
		if (xfr_apex_query(sa, p->addr.sslen, cz->name, LDNS_RR_TYPE_ZONEMD, tp,
		                   CROSS_TIMEOUT_MS, &zmd, NULL, err, sizeof(err)) == 0) {
			ps->zonemd_known = 1;
			zonemd_pick(zmd, NULL, ps->zonemd, sizeof(ps->zonemd));
		}
		ldns_rr_list_deep_free(zmd);
		/* the SOA again: a primary that moved on since its SOA was seen
		 * (before our transfer) gave the ZONEMD of another version */
		struct xfr_soa_info si;
		uint32_t now_serial;
		if (ps->zonemd_known &&
		    xfr_soa_query(sa, p->addr.sslen, cz->name, tp, CROSS_TIMEOUT_MS, &now_serial,
		                  &si, err, sizeof(err)) == 0 &&
		    (now_serial != ps->serial || si.soa_hash != ps->soa_hash)) {
			ps->serial = now_serial;
			ps->soa_hash = si.soa_hash;
			ps->zonemd_known = 0;
			ps->zonemd[0] = '\0';
		}
	}
	ldns_rdf_deep_free(apex);
}

/* Why a and b, at one serial, are not the same version; NULL when nothing
 * tells them apart. */
static const char *differs(uint64_t ha, const char *za, int za_known, uint64_t hb,
                           const char *zb, int zb_known)
{
	if (za_known && zb_known && za[0] && zb[0] && strcmp(za, zb) != 0)
		return "ZONEMD digest";
	if (za_known && zb_known && (za[0] == '\0') != (zb[0] == '\0'))
		return "ZONEMD presence";
	if (ha != 0 && hb != 0 && ha != hb)
		return "SOA";
	return NULL;
}

static const char *pstate_name(enum svc_pstate s)
{
	switch (s) {
	case PSTATE_UNKNOWN: return "unknown";
	case PSTATE_SYNC: return "in-sync";
	case PSTATE_AHEAD: return "ahead";
	case PSTATE_BEHIND: return "behind";
	case PSTATE_LAGGING: return "lagging";
	case PSTATE_DIVERGED: return "diverged";
	}
	return "?";
}

void svc_note_primaries(struct svc_zone *z, const struct job *j, time_t now)
{
	const struct cfg_zone *cz = z->cz;
	for (unsigned i = 0; i < cz->n_primaries; i++) {
		struct svc_pseen *ps = &z->prim[i];
		const struct svc_pseen *js = &j->prim[i];
		if (js->seen) {
			ps->seen = 1;
			ps->serial = js->serial;
			ps->soa_hash = js->soa_hash;
			ps->zonemd_known = js->zonemd_known;
			memcpy(ps->zonemd, js->zonemd, sizeof(ps->zonemd));
			ps->seen_at = now;
		}
		memcpy(ps->error, js->error, sizeof(ps->error));
	}
	if (j->ours_known) {
		z->ours_known = 1;
		z->ours_soa_hash = j->ours_soa_hash;
		memcpy(z->ours_zonemd, j->ours_zonemd, sizeof(z->ours_zonemd));
	}
	if (!z->st.has_serial)
		return;
	for (unsigned i = 0; i < cz->n_primaries; i++) {
		struct svc_pseen *ps = &z->prim[i];
		const struct svc_pseen *js = &j->prim[i];
		enum svc_pstate was = ps->state;
		char note[sizeof(ps->note)] = "";
		if (!js->seen) {
			/* not reached this time: keep what was known */
			continue;
		}
		int cmp = serial_compare(ps->serial, z->st.serial);
		const char *why = NULL;
		if (cmp == 0 && z->ours_known)
			why = differs(ps->soa_hash, ps->zonemd, ps->zonemd_known, z->ours_soa_hash,
			              z->ours_zonemd, 1);
		/* at another serial than ours (ahead, say): against the
		 * primaries at that serial */
		for (unsigned k = 0; !(cmp == 0 && z->ours_known) && why == NULL &&
		     k < cz->n_primaries; k++) {
			const struct svc_pseen *o = &z->prim[k];
			if (k != i && j->prim[k].seen && o->serial == ps->serial)
				if ((why = differs(ps->soa_hash, ps->zonemd, ps->zonemd_known,
				                   o->soa_hash, o->zonemd, o->zonemd_known)) != NULL)
					snprintf(note, sizeof(note), "serial %u differs from %s's (%s)",
					         ps->serial, cz->primaries[k].addr.str, why);
		}
		if (why != NULL) {
			ps->state = PSTATE_DIVERGED;
			if (note[0] == '\0')
				snprintf(note, sizeof(note), "serial %u differs from the version "
				         "served (%s)", ps->serial, why);
			ps->behind_since = 0;
		} else if (cmp < 0) {
			if (ps->behind_since == 0)
				ps->behind_since = now;
			uint32_t lag = (uint32_t)(now - ps->behind_since);
			if (lag >= z->pol->max_primary_lag) {
				ps->state = PSTATE_LAGGING;
				snprintf(note, sizeof(note), "serial %u behind the served %u for %u s "
				         "(max-primary-lag %u s)", ps->serial, z->st.serial, lag,
				         z->pol->max_primary_lag);
			} else {
				ps->state = PSTATE_BEHIND;
				snprintf(note, sizeof(note), "serial %u behind the served %u",
				         ps->serial, z->st.serial);
			}
		} else {
			ps->behind_since = 0;
			ps->state = cmp > 0 ? PSTATE_AHEAD : PSTATE_SYNC;
		}
		snprintf(ps->note, sizeof(ps->note), "%s", note);
		int bad = ps->state == PSTATE_DIVERGED || ps->state == PSTATE_LAGGING;
		int wasbad = was == PSTATE_DIVERGED || was == PSTATE_LAGGING;
		if (bad && was != ps->state) {
			z->divergences++;
			ctllog(LOG_WARNING, cz->name, "primary %s %s: %s", cz->primaries[i].addr.str,
			       pstate_name(ps->state), note);
		} else if (wasbad && !bad) {
			ctllog(LOG_NOTICE, cz->name, "primary %s %s again (serial %u)",
			       cz->primaries[i].addr.str, pstate_name(ps->state), ps->serial);
		}
	}
}

json_t *svc_primaries_json(const struct svc_zone *z)
{
	json_t *pa = json_array();
	for (unsigned i = 0; i < z->cz->n_primaries; i++) {
		const struct svc_pseen *ps = &z->prim[i];
		json_t *p = json_object();
		json_object_set_new(p, "address", json_string(z->cz->primaries[i].addr.str));
		json_object_set_new(p, "serial", ps->seen ? json_integer(ps->serial) : json_null());
		json_object_set_new(p, "zonemd", ps->seen && ps->zonemd_known && ps->zonemd[0]
		                                 ? json_string(ps->zonemd) : json_null());
		json_object_set_new(p, "state", json_string(pstate_name(ps->state)));
		json_object_set_new(p, "note", json_string(ps->note));
		json_object_set_new(p, "behind_since", ps->behind_since > 0
		                    ? json_integer((json_int_t)ps->behind_since) : json_null());
		json_object_set_new(p, "last_seen", ps->seen_at > 0
		                    ? json_integer((json_int_t)ps->seen_at) : json_null());
		json_object_set_new(p, "error", json_string(ps->error));
		json_array_append_new(pa, p);
	}
	return pa;
}

int svc_divergent(const struct svc_zone *z)
{
	for (unsigned i = 0; i < z->cz->n_primaries; i++)
		if (z->prim[i].state == PSTATE_DIVERGED || z->prim[i].state == PSTATE_LAGGING)
			return 1;
	return 0;
}
