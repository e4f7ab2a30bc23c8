/* service_facts.c: what the health checks (health.h) may read of the zone
 * service from their own thread: per watched zone name, whether it is
 * served, expired, its serial and its earliest RRSIG expiration. Written
 * by the main thread after every change of a zone (svc_zone_save()), and
 * by a worker as it publishes (svc_facts_loading()); read under facts_mu. */
#include "service_int.h"

#include <ldns/ldns.h>

uint32_t svc_sig_min(const ldns_rr_list *rrs)
{
	uint32_t min = 0;
	for (size_t i = 0; i < ldns_rr_list_rr_count(rrs); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(rrs, i);
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_RRSIG || ldns_rr_rd_count(rr) < 6)
			continue;
		uint32_t e = ldns_rdf2native_time_t(ldns_rr_rdf(rr, 5));
		if (min == 0 || serial_compare(e, min) < 0)
			min = e;
	}
	return min;
}

int svc_watch(struct svc *s, const char *name)
{
	ldns_rdf *d = ldns_dname_new_frm_str(name);
	char *canon = NULL;
	if (d != NULL) {
		ldns_dname2canonical(d);
		canon = ldns_rdf2str(d);
		ldns_rdf_deep_free(d);
	}
	if (canon == NULL)
		return ED_EINVAL;
	pthread_mutex_lock(&s->facts_mu);
	for (unsigned i = 0; i < s->n_watch; i++)
		if (strcmp(s->watch[i].name, canon) == 0) {
			pthread_mutex_unlock(&s->facts_mu);
			free(canon);
			return 0;
		}
	struct svc_watch *w = realloc(s->watch, (s->n_watch + 1) * sizeof(*w));
	if (w == NULL) {
		pthread_mutex_unlock(&s->facts_mu);
		free(canon);
		return ED_ENOMEM;
	}
	s->watch = w;
	memset(&w[s->n_watch], 0, sizeof(*w));
	w[s->n_watch].name = canon;
	s->n_watch++;
	pthread_mutex_unlock(&s->facts_mu);
	return 0;
}

void svc_facts_update(struct svc_zone *z)
{
	struct svc *s = z->svc;
	pthread_mutex_lock(&s->facts_mu);
	for (unsigned i = 0; i < s->n_watch; i++) {
		struct svc_watch *w = &s->watch[i];
		if (strcasecmp(w->name, z->cz->name) != 0)
			continue;
		w->f.known = z->removing == 0;
		w->f.served = z->served && z->current != NULL && z->state != SVC_EXPIRED;
		w->f.expired = z->state == SVC_EXPIRED;
		w->f.has_serial = z->st.has_serial;
		w->f.serial = z->st.serial;
		w->f.checksum = z->checksum;
		w->f.sig_expire_min = z->sig_min;
		w->f.state = z->state;
		/* the version being published is served now: one serial again
		 * (a publish that failed after the load keeps both) */
		if (w->f.has_loading && z->st.has_serial && w->f.loading_serial == z->st.serial)
			w->f.has_loading = 0;
	}
	pthread_mutex_unlock(&s->facts_mu);
}

void svc_facts_loading(struct svc_zone *z, uint32_t serial)
{
	struct svc *s = z->svc;
	pthread_mutex_lock(&s->facts_mu);
	for (unsigned i = 0; i < s->n_watch; i++)
		if (strcasecmp(s->watch[i].name, z->cz->name) == 0) {
			s->watch[i].f.has_loading = 1;
			s->watch[i].f.loading_serial = serial;
		}
	pthread_mutex_unlock(&s->facts_mu);
}

void svc_facts_clear(struct svc_zone *z)
{
	struct svc *s = z->svc;
	pthread_mutex_lock(&s->facts_mu);
	for (unsigned i = 0; i < s->n_watch; i++)
		if (strcasecmp(s->watch[i].name, z->cz->name) == 0)
			memset(&s->watch[i].f, 0, sizeof(s->watch[i].f));
	pthread_mutex_unlock(&s->facts_mu);
}

int svc_facts(struct svc *s, const char *name, struct svc_facts *out)
{
	int found = 0;
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->facts_mu);
	for (unsigned i = 0; i < s->n_watch && !found; i++)
		if (strcasecmp(s->watch[i].name, name) == 0) {
			*out = s->watch[i].f;
			found = 1;
		}
	pthread_mutex_unlock(&s->facts_mu);
	return found ? 0 : ED_ENOENT;
}

void svc_watch_free(struct svc *s)
{
	for (unsigned i = 0; i < s->n_watch; i++)
		free(s->watch[i].name);
	free(s->watch);
	s->watch = NULL;
	s->n_watch = 0;
}
