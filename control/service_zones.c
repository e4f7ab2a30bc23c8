/* service_zones.c: the zone service's zone table (configured zones,
 * catalogs and their members), removal of zones, catalog versions applied,
 * and configuration reload. */
#include "service_int.h"

/* ---- the zone table: configured zones, catalogs, members ----------------- */

static uint64_t wire_hash(const uint8_t *w, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ w[i]) * 1099511628211ull;
	return h;
}

int svc_index_rebuild(struct svc *s)
{
	size_t cap = 64;
	while (cap < (size_t)s->nz * 2 + 16)
		cap *= 2;
	struct svc_zone **ix = calloc(cap, sizeof(*ix));
	if (ix == NULL)
		return ED_ENOMEM;
	for (unsigned i = 0; i < s->nz; i++) {
		const struct cfg_zone *cz = s->zones[i]->cz;
		size_t p = wire_hash(cz->apex, cz->apex_len) & (cap - 1);
		while (ix[p] != NULL)
			p = (p + 1) & (cap - 1);
		ix[p] = s->zones[i];
	}
	free(s->ix);
	s->ix = ix;
	s->ix_cap = cap;
	return 0;
}

/* The zone with this apex (lowercase wire), being removed or not. A
 * name is in the table once: catalog members never shadow zones. */
static struct svc_zone *zone_lookup_any(const struct svc *s, const uint8_t *w, size_t wl)
{
	if (s->ix == NULL)
		return NULL;
	size_t p = wire_hash(w, wl) & (s->ix_cap - 1);
	for (size_t n = 0; n < s->ix_cap && s->ix[p] != NULL; n++) {
		const struct cfg_zone *cz = s->ix[p]->cz;
		if (cz->apex_len == wl && memcmp(cz->apex, w, wl) == 0)
			return s->ix[p];
		p = (p + 1) & (s->ix_cap - 1);
	}
	return NULL;
}

struct svc_zone *svc_zone_lookup_wire(const struct svc *s, const uint8_t *w, size_t wl)
{
	struct svc_zone *z = zone_lookup_any(s, w, wl);
	return z != NULL && z->removing != 1 ? z : NULL;
}

static size_t name_wire(const char *name, uint8_t *w)
{
	ldns_rdf *d = NULL;
	if (name == NULL || ldns_str2rdf_dname(&d, name) != LDNS_STATUS_OK || d == NULL)
		return 0;
	size_t n = ldns_rdf_size(d);
	if (n > 255)
		n = 0;
	memcpy(w, ldns_rdf_data(d), n);
	ldns_rdf_deep_free(d);
	for (size_t p = 0; p < n && w[p] != 0; p += 1u + w[p])
		for (size_t i = 1; i <= w[p] && p + i < n; i++)
			if (w[p + i] >= 'A' && w[p + i] <= 'Z')
				w[p + i] = (uint8_t)(w[p + i] + 32);
	return n;
}

struct svc_zone *svc_zone_lookup(const struct svc *s, const char *name)
{
	uint8_t w[256];
	size_t wl = name_wire(name, w);
	return wl ? svc_zone_lookup_wire(s, w, wl) : NULL;
}

const struct cfg_zone *svc_zone_find(struct svc *s, const char *name)
{
	struct svc_zone *z = svc_zone_lookup(s, name);
	return z != NULL ? z->cz : NULL;
}

int svc_notify_allow(struct svc *s, const struct cfg_zone *cz, uint64_t now)
{
	struct svc_zone *z = svc_zone_lookup_wire(s, cz->apex, cz->apex_len);
	if (z == NULL)
		return 0;
	if (z->notify_second != now) {
		z->notify_second = now;
		z->notify_count = 0;
	}
	return ++z->notify_count <= z->pol->notify_rate;
}

static void own_cz_free(struct cfg_zone *cz)
{
	if (cz != NULL)
		free(cz->name);
	free(cz);
}

/* A member's settings: the catalog's template with the member's name. */
static struct cfg_zone *member_cz(const struct cfg_catalog *cat, const char *name,
                                  const uint8_t *wire, size_t wire_len)
{
	struct cfg_zone *cz = calloc(1, sizeof(*cz));
	if (cz == NULL)
		return NULL;
	*cz = cat->member;
	cz->name = strdup(name);
	if (cz->name == NULL) {
		free(cz);
		return NULL;
	}
	memcpy(cz->apex, wire, wire_len);
	cz->apex_len = wire_len;
	cz->catalog = NULL;
	cz->own_acl = NULL;
	cz->n_own_acl = 0;
	return cz;
}

/* A new zone in the table (not indexed yet: svc_index_rebuild()); own: a
 * member's cz, owned from now on (freed here on failure). */
struct svc_zone *svc_zone_add(struct svc *s, const struct cfg_zone *cz, struct cfg_zone *own)
{
	if (s->nz == s->cap) {
		unsigned nc = s->cap ? s->cap * 2 : 16;
		struct svc_zone **nzs = realloc(s->zones, nc * sizeof(*nzs));
		if (nzs == NULL) {
			own_cz_free(own);
			return NULL;
		}
		s->zones = nzs;
		s->cap = nc;
	}
	struct svc_zone *z = calloc(1, sizeof(*z));
	if (z == NULL) {
		own_cz_free(own);
		return NULL;
	}
	z->svc = s;
	z->cz = cz;
	z->own_cz = own;
	z->pol = cz->policy != NULL ? cz->policy : cfg_zone_policy(s->cfg, cz);
	z->prim = calloc(cz->n_primaries ? cz->n_primaries : 1, sizeof(*z->prim));
	z->timer = evtimer_new(s->base, svc_on_timer, z);
	z->expire_ev = evtimer_new(s->base, svc_on_expire, z);
	s->zones[s->nz++] = z;
	if (z->prim == NULL || z->timer == NULL || z->expire_ev == NULL)
		return NULL;   /* in the table: svc_free() frees it */
	return z;
}

void svc_zone_destroy(struct svc_zone *z)
{
	if (z->svc != NULL && z->cz != NULL)
		svc_facts_clear(z);
	if (z->timer)
		event_free(z->timer);
	if (z->expire_ev)
		event_free(z->expire_ev);
	ldns_rr_list_deep_free(z->current);
	catz_set_free(&z->members);
	own_cz_free(z->own_cz);
	own_cz_free(z->pending_own);
	free(z->prim);
	free(z);
}

/* Use the settings of a reload now (the zone is idle). */
static void zone_swap(struct svc_zone *z)
{
	if (z->pending_cz == NULL || z->busy)
		return;
	if (z->pending_cz->n_primaries != z->cz->n_primaries) {
		struct svc_pseen *p = calloc(z->pending_cz->n_primaries, sizeof(*p));
		if (p == NULL)
			return;   /* keep the old settings until memory allows */
		free(z->prim);
		z->prim = p;
	}
	own_cz_free(z->own_cz);
	z->cz = z->pending_cz;
	z->own_cz = z->pending_own;
	z->pending_cz = NULL;
	z->pending_own = NULL;
	z->pol = z->cz->policy != NULL ? z->cz->policy : cfg_zone_policy(z->svc->cfg, z->cz);
}

/* ---- removal: dataplane, files, state ------------------------------------ */

void svc_run_remove(struct svc *s, struct job *j)
{
	const char *name = j->z->cz->name;
	char err[400] = "";
	j->outcome = OUT_REMOVED;
	int rc = publish_remove(&s->pc, name, err, sizeof(err));
	if (rc != 0 && rc != ED_ENOENT) {
		snprintf(j->error, sizeof(j->error), "remove: %s", err);
		return;
	}
	rc = zonestate_remove(s->state_dir, name, err, sizeof(err));
	if (rc != 0 && rc != ED_ENOENT)
		snprintf(j->error, sizeof(j->error), "remove state: %s", err);
	if (j->z->cz->catalog != NULL) {
		rc = catz_remove(s->state_dir, name, err, sizeof(err));
		if (rc != 0 && rc != ED_ENOENT)
			snprintf(j->error, sizeof(j->error), "remove member list: %s", err);
	}
}

void svc_start_remove(struct svc_zone *z)
{
	struct job *j = svc_job_new(z, JOB_REMOVE);
	if (j == NULL) {
		ctllog(LOG_ERR, z->cz->name, "out of memory: removal postponed");
		z->remove_pending = 1;   /* retried after the next job of the zone */
		return;
	}
	z->busy = 1;
	svc_enqueue(z->svc, j);
}

/* mode 1: remove the zone (dataplane, files, state, then the table);
 * 2: reset it (the same, then transfer it again from scratch). */
static void zone_remove(struct svc_zone *z, int mode)
{
	if (z->removing == 1)
		return;
	z->removing = mode;
	evtimer_del(z->timer);
	evtimer_del(z->expire_ev);
	z->again = 0;
	z->expire_pending = 0;
	if (z->busy)
		z->remove_pending = 1;
	else
		svc_start_remove(z);
}

void svc_removed(struct svc *s, struct job *j)
{
	struct svc_zone *z = j->z;
	if (j->error[0])
		ctllog(LOG_ERR, z->cz->name, "%s", j->error);
	if (s->applying_final)
		return;
	if (z->removing == 2) {
		ctllog(LOG_NOTICE, z->cz->name, "member zone reset: transferred again from scratch");
		evtimer_del(z->timer);
		evtimer_del(z->expire_ev);
		ldns_rr_list_deep_free(z->current);
		z->current = NULL;
		memset(&z->st, 0, sizeof(z->st));
		snprintf(z->st.zone, sizeof(z->st.zone), "%s", z->cz->name);
		memset(z->prim, 0, z->cz->n_primaries * sizeof(*z->prim));
		z->removing = 0;
		z->remove_pending = 0;
		z->fails = 0;
		z->has_refused = 0;
		z->served = 0;
		z->state = SVC_LOADING;
		svc_soa_timers(z);
		zone_swap(z);
		svc_zone_save(z);
		svc_arm_refresh(z, 0);
		return;
	}
	ctllog(LOG_NOTICE, z->cz->name, "removed: dropped from the dataplane, files and state "
	       "deleted");
	for (unsigned i = 0; i < s->nz; i++)
		if (s->zones[i] == z) {
			s->zones[i] = s->zones[--s->nz];
			break;
		}
	svc_zone_destroy(z);
	if (svc_index_rebuild(s) != 0)
		ctllog(LOG_ERR, NULL, "out of memory: zone index not rebuilt");
}

/* ---- catalogs ------------------------------------------------------------ */

/* Worker: a transferred and verified catalog version is parsed, not
 * published (a catalog is not served). */
void svc_catalog_parse_job(struct svc *s, struct job *j, const ldns_rr_list *zone)
{
	char err[400] = "";
	const struct cfg_zone *cz = j->z->cz;
	int rc = catz_parse(zone, cz->apex, cz->apex_len, CATZ_MAX_MEMBERS, &j->members, err,
	                    sizeof(err));
	if (rc != 0) {
		snprintf(j->error, sizeof(j->error), "serial %u refused: %s", j->serial,
		         err[0] ? err : ed_strerror(rc));
		j->outcome = OUT_REFUSED;
		return;
	}
	j->has_members = 1;
	j->outcome = OUT_PUBLISHED;
}

static struct svc_zone *member_add(struct svc *s, struct svc_zone *cat,
                                   const struct catz_member *m)
{
	struct cfg_zone *cz = member_cz(cat->cz->catalog, m->name, m->wire, m->wire_len);
	struct svc_zone *z = cz != NULL ? svc_zone_add(s, cz, cz) : NULL;
	if (z == NULL) {
		ctllog(LOG_ERR, m->name, "out of memory: member of %s not added", cat->cz->name);
		return NULL;
	}
	z->catalog = cat;
	snprintf(z->cat_id, sizeof(z->cat_id), "%s", m->id);
	return z;
}

/* Can m become a member of cat? Logs why not when it is new in cat. */
static int member_allowed(struct svc *s, struct svc_zone *cat, const struct catz_member *m,
                          struct svc_zone *other)
{
	int is_new = catz_find(&cat->members, m->wire, m->wire_len) == NULL;
	if (other == NULL)
		return 1;
	if (is_new) {
		if (other == cat)
			ctllog(LOG_WARNING, cat->cz->name, "member %s is the catalog itself: ignored",
			       m->name);
		else if (other->catalog == NULL)
			ctllog(LOG_NOTICE, m->name, "listed in catalog %s but configured as a zone: the "
			       "configured zone wins", cat->cz->name);
		else if (other->catalog != cat)
			ctllog(LOG_WARNING, m->name, "listed in catalog %s but already a member of %s: "
			       "ignored", cat->cz->name, other->catalog->cz->name);
	}
	return 0;
}

/* Main thread: the members of a new catalog version become the zone
 * set of the catalog: new ones start (transfer now), gone ones are
 * removed, those whose unique id changed are reset. */
static void catalog_apply(struct svc *s, struct svc_zone *cat, struct catz_set *set,
                          uint32_t serial)
{
	unsigned added = 0, removed_n = 0, reset = 0;
	for (unsigned i = 0; i < s->nz; i++) {
		struct svc_zone *z = s->zones[i];
		if (z->catalog != cat || z->removing == 1)
			continue;
		const struct catz_member *m = catz_find(set, z->cz->apex, z->cz->apex_len);
		if (m == NULL) {
			ctllog(LOG_NOTICE, z->cz->name, "no longer in catalog %s: removing",
			       cat->cz->name);
			zone_remove(z, 1);
			removed_n++;
		} else if (strcmp(m->id, z->cat_id) != 0) {
			ctllog(LOG_NOTICE, z->cz->name, "unique id in catalog %s changed (%s -> %s): "
			       "member zone reset", cat->cz->name, z->cat_id, m->id);
			snprintf(z->cat_id, sizeof(z->cat_id), "%s", m->id);
			zone_remove(z, 2);
			reset++;
		}
	}
	unsigned first = s->nz;
	for (size_t i = 0; i < set->n; i++) {
		const struct catz_member *m = &set->m[i];
		struct svc_zone *o = zone_lookup_any(s, m->wire, m->wire_len);
		if (o != NULL && o->catalog == cat)
			continue;
		if (o == NULL && m->wire_len == cat->cz->apex_len &&
		    memcmp(m->wire, cat->cz->apex, m->wire_len) == 0)
			o = cat;
		if (!member_allowed(s, cat, m, o))
			continue;
		if (member_add(s, cat, m) != NULL)
			added++;
	}
	if (svc_index_rebuild(s) != 0)
		ctllog(LOG_ERR, NULL, "out of memory: zone index not rebuilt");
	for (unsigned i = first; i < s->nz; i++)
		svc_zone_boot(s->zones[i]);
	catz_set_free(&cat->members);
	cat->members = *set;
	set->m = NULL;
	set->n = 0;
	char err[400] = "";
	if (catz_save(s->state_dir, cat->cz->name, serial, &cat->members, err, sizeof(err)) != 0)
		ctllog(LOG_ERR, cat->cz->name, "member list not saved: %s", err);
	ctllog(LOG_NOTICE, cat->cz->name, "catalog serial %u: %zu members (%u added, %u removed, "
	       "%u reset)", serial, cat->members.n, added, removed_n, reset);
}

void svc_after_job(struct svc *s, struct svc_zone *z, struct job *j)
{
	if (!s->applying_final && j->has_members && j->outcome == OUT_PUBLISHED && z->removing != 1)
		catalog_apply(s, z, &j->members, j->serial);
	zone_swap(z);
}

/* At start: the members saved with each catalog, served at once (their
 * own saved state and published files), before the catalog refreshes. */
void svc_catalogs_boot(struct svc *s)
{
	unsigned n = s->nz;
	for (unsigned i = 0; i < n; i++) {
		struct svc_zone *cat = s->zones[i];
		if (cat->cz->catalog == NULL)
			continue;
		struct catz_set set;
		uint32_t serial = 0;
		char err[400] = "";
		int rc = catz_load(s->state_dir, cat->cz->name, &set, &serial, err, sizeof(err));
		if (rc != 0) {
			if (rc != ED_ENOENT)
				ctllog(LOG_WARNING, cat->cz->name, "saved member list ignored: %s", err);
			continue;
		}
		unsigned first = s->nz;
		for (size_t k = 0; k < set.n; k++) {
			struct svc_zone *o = zone_lookup_any(s, set.m[k].wire, set.m[k].wire_len);
			for (unsigned q = first; o == NULL && q < s->nz; q++)
				if (s->zones[q]->cz->apex_len == set.m[k].wire_len &&
				    memcmp(s->zones[q]->cz->apex, set.m[k].wire, set.m[k].wire_len) == 0)
					o = s->zones[q];
			if (o == NULL)
				member_add(s, cat, &set.m[k]);
		}
		if (svc_index_rebuild(s) != 0)
			ctllog(LOG_ERR, NULL, "out of memory: zone index not rebuilt");
		ctllog(LOG_INFO, cat->cz->name, "%zu members from the saved list (serial %u)", set.n,
		       serial);
		cat->members = set;
		for (unsigned q = first; q < s->nz; q++)
			svc_zone_boot(s->zones[q]);
	}
}

/* ---- configuration reload ------------------------------------------------- */

void svc_retire_free(struct svc *s)
{
	if (s->n_retired == 0 || s->jobs_out != 0)
		return;
	for (unsigned i = 0; i < s->nz; i++)
		if (s->zones[i]->pending_cz != NULL)
			return;
	for (unsigned i = 0; i < s->n_retired; i++)
		if (s->retired[i] != s->initial_cfg)
			cfg_free(s->retired[i]);
	s->n_retired = 0;
}

static int same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

int svc_reload(struct svc *s, char *err, size_t errlen)
{
	struct cfg *nc = NULL;
	int rc = cfg_load(s->cfg->path, &nc, err, errlen);
	if (rc != 0)
		return rc;
	const struct cfg *oc = s->cfg;
	if (!same_str(oc->snapshot_dir, nc->snapshot_dir) || !same_str(oc->state_dir, nc->state_dir) ||
	    !same_str(oc->dataplane_socket, nc->dataplane_socket)) {
		ed_seterr(err, errlen, "%s: control.snapshot-dir, state-dir and dataplane-socket "
		          "cannot change without a restart", nc->path);
		cfg_free(nc);
		return ED_EINVAL;
	}
	struct cfg **r = realloc(s->retired, (s->n_retired + 1) * sizeof(*r));
	if (r == NULL) {
		cfg_free(nc);
		ed_seterr(err, errlen, "out of memory");
		return ED_ENOMEM;
	}
	s->retired = r;
	if (!same_str(oc->socket, nc->socket) || oc->n_notify_listen != nc->n_notify_listen ||
	    oc->log != nc->log)
		ctllog(LOG_WARNING, NULL, "reload: control.socket, notify-listen and log apply at "
		       "the next restart");
	unsigned kept = 0, gone = 0, added = 0;
	/* the zones we run: kept with the new settings, or removed */
	for (unsigned i = 0; i < s->nz; i++) {
		struct svc_zone *z = s->zones[i];
		if (z->removing == 1)
			continue;
		const struct cfg_zone *ncz = NULL;
		struct cfg_zone *own = NULL;
		if (z->catalog != NULL) {
			const struct cfg_zone *cc = cfg_zone_find(nc, z->catalog->cz->name);
			const struct cfg_zone *self = cfg_zone_find(nc, z->cz->name);
			if (self != NULL && self->catalog == NULL) {
				ctllog(LOG_NOTICE, z->cz->name, "now a configured zone (the configured "
				       "zone wins over catalog %s)", z->catalog->cz->name);
				z->catalog = NULL;
				ncz = self;
			} else if (cc != NULL && cc->catalog != NULL && self == NULL) {
				own = member_cz(cc->catalog, z->cz->name, z->cz->apex, z->cz->apex_len);
				ncz = own;
				if (own == NULL)
					continue;   /* out of memory: keeps the old template */
			}
		} else {
			ncz = cfg_zone_find(nc, z->cz->name);
			if (ncz != NULL && (ncz->catalog != NULL) != (z->cz->catalog != NULL)) {
				ctllog(LOG_WARNING, z->cz->name, "reload: changed between zone and catalog: "
				       "removed now, added at the next reload");
				ncz = NULL;
			}
		}
		if (ncz == NULL) {
			ctllog(LOG_NOTICE, z->cz->name, "reload: no longer configured: removing");
			zone_remove(z, 1);
			gone++;
			continue;
		}
		own_cz_free(z->pending_own);
		z->pending_cz = ncz;
		z->pending_own = own;
		kept++;
	}
	s->retired[s->n_retired++] = (struct cfg *)oc;
	s->cfg = nc;
	for (unsigned i = 0; i < s->nz; i++)
		zone_swap(s->zones[i]);
	/* members of removed catalogs go with them */
	for (unsigned i = 0; i < s->nz; i++) {
		struct svc_zone *z = s->zones[i];
		if (z->catalog != NULL && z->catalog->removing == 1 && z->removing != 1)
			zone_remove(z, 1);
	}
	/* new zones and catalogs */
	unsigned first = s->nz;
	for (unsigned k = 0; k < nc->n_zones + nc->n_catalogs; k++) {
		const struct cfg_zone *cz = k < nc->n_zones ? &nc->zones[k]
		                                            : &nc->catalogs[k - nc->n_zones].zone;
		struct svc_zone *o = zone_lookup_any(s, cz->apex, cz->apex_len);
		if (o != NULL) {
			if (o->removing == 1 && o->cz != cz)
				ctllog(LOG_WARNING, cz->name, "reload: still being removed: added at the "
				       "next reload");
			continue;
		}
		if (svc_zone_add(s, cz, NULL) == NULL) {
			ctllog(LOG_ERR, cz->name, "reload: out of memory: not added");
			continue;
		}
		ctllog(LOG_NOTICE, cz->name, "reload: new %s", cz->catalog ? "catalog" : "zone");
		added++;
	}
	if (svc_index_rebuild(s) != 0)
		ctllog(LOG_ERR, NULL, "out of memory: zone index not rebuilt");
	for (unsigned i = first; i < s->nz; i++)
		svc_zone_boot(s->zones[i]);
	ctllog(LOG_NOTICE, NULL, "configuration %s reloaded: %u zone(s) kept, %u added, %u removed",
	       nc->path, kept, added, gone);
	svc_retire_free(s);
	return 0;
}
