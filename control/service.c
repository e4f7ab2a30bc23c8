/* service.c: the zone service: per-zone timers and state on the main
 * thread, refresh jobs (SOA check, transfer, gate, publish) on workers. */
#include "service_int.h"

#include <malloc.h>

static const char *const state_names[] = {
	"loading", "refresh-due", "transferring", "published", "failed", "expired",
};

const char *svc_state_name(enum svc_state s)
{
	return (unsigned)s < sizeof(state_names) / sizeof(state_names[0]) ? state_names[s] : "?";
}

uint32_t svc_retry_delay(uint32_t retry, uint32_t refresh, unsigned failures)
{
	uint64_t d = retry ? retry : 1;
	for (unsigned i = 1; i < failures && d < refresh; i++)
		d *= 2;
	if (refresh && d > refresh)
		d = refresh;
	return d ? (uint32_t)d : 1;
}

uint32_t svc_jitter(uint32_t refresh, unsigned jitter_pct, double r)
{
	double span = (double)refresh * jitter_pct / 100.0;
	double v = (double)refresh - span + 2.0 * span * r;
	return v < 1.0 ? 1 : (uint32_t)v;
}

/* ---- worker side -------------------------------------------------------- */

static const ldns_rr *find_soa(const ldns_rr_list *l)
{
	for (size_t i = 0; l != NULL && i < ldns_rr_list_rr_count(l); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(l, i);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA && ldns_rr_rd_count(rr) == 7)
			return rr;
	}
	return NULL;
}

void svc_tsig_of(const struct cfg_primary *p, struct xfr_tsig *t)
{
	t->name = p->key->tsig_name;
	t->algorithm = p->key->alg_name;
	t->secret = p->key->secret;
	t->secret_len = p->key->secret_len;
}


static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void job_publish(struct svc *s, struct job *j, const ldns_rr_list *zone)
{
	struct publish_result pr;
	char err[400] = "";
	if (j->z->cz->catalog != NULL) {
		svc_catalog_parse_job(s, j, zone);
		return;
	}
	/* from the load on, the dataplane may answer the new serial: the
	 * health checks' probes accept it (the zone is busy: one job) */
	const ldns_rr *soa = find_soa(zone);
	if (soa != NULL)
		svc_facts_loading(j->z, ldns_rdf2native_int32(ldns_rr_rdf(soa, 2)));
	int rc = publish_zone(&s->pc, j->z->cz->name, zone, &pr, NULL, err, sizeof(err));
	if (rc != 0) {
		j->outcome = OUT_FAILED;
		snprintf(j->error, sizeof(j->error), "publish: %s", err[0] ? err : ed_strerror(rc));
		return;
	}
	j->outcome = OUT_PUBLISHED;
	j->serial = pr.serial;
	j->checksum = pr.checksum;
	j->t_compile = pr.compile_s;
	j->t_load = pr.load_s;
	j->t_text = pr.text_s;
}

static void refresh_from_primaries(struct svc *s, struct job *j)
{
	const struct cfg_zone *cz = j->z->cz;
	const struct cfg_policy *pol = j->z->pol;
	struct xfr_limits lim = {
		.max_bytes = pol->max_transfer_size, .max_rrs = pol->max_rrs,
		.max_rr_size = pol->max_rr_size, .timeout_ms = pol->transfer_timeout * 1000u,
	};
	unsigned soa_ms = lim.timeout_ms < SOA_QUERY_TIMEOUT_MS ? lim.timeout_ms : SOA_QUERY_TIMEOUT_MS;
	char errs[512] = "";
	size_t errs_len = 0;
	j->outcome = OUT_FAILED;
	for (unsigned i = 0; i < cz->n_primaries; i++) {
		const struct cfg_primary *p = &cz->primaries[i];
		const struct sockaddr *sa = (const struct sockaddr *)&p->addr.ss;
		struct xfr_tsig tsig, *tp = NULL;
		char err[400] = "";
		if (p->key != NULL) {
			svc_tsig_of(p, &tsig);
			tp = &tsig;
		}
		uint32_t serial = 0;
		struct xfr_soa_info si;
		j->prim[i].tried = 1;
		int rc = xfr_soa_query(sa, p->addr.sslen, cz->name, tp, soa_ms, &serial, &si, err,
		                       sizeof(err));
		/* the expiry this primary's answer allows (used on success) */
		j->has_expire = rc == 0 && si.expire.valid;
		j->expire = j->has_expire ? si.expire.seconds : 0;
		if (rc == 0) {
			j->prim[i].seen = 1;
			j->prim[i].serial = serial;
			j->prim[i].soa_hash = si.soa_hash;
			int cmp = j->current != NULL ? serial_compare(serial, j->cur_serial) : 1;
			if (cmp == 0) {
				snprintf(j->primary, sizeof(j->primary), "%s", p->addr.str);
				j->serial = serial;
				if (j->republish)
					job_publish(s, j, j->current);
				else
					j->outcome = OUT_UPTODATE;
				return;
			}
			if (cmp != 1) {
				snprintf(err, sizeof(err), "%s: serial %u is not newer than ours (%u)",
				         p->addr.str, serial, j->cur_serial);
				rc = ED_EZONE;
			}
		}
		struct xfr_result res;
		memset(&res, 0, sizeof(res));
		double t0 = mono_s();
		/* The new version shares the unchanged RRs of j->current
		 * (res.shared): dropped with xfr_shared_drop(), kept with
		 * xfr_shared_keep() in apply(). */
		if (rc == 0)
			rc = xfr_update_shared(sa, p->addr.sslen, cz->name, j->current, j->cur_serial,
			                       tp, &lim, &res, err, sizeof(err));
		j->t_transfer = mono_s() - t0;
		if (rc != 0) {
			xfr_result_free(&res);
			snprintf(j->prim[i].error, sizeof(j->prim[i].error), "%s", err);
			if (i + 1 < cz->n_primaries)
				ctllog(LOG_WARNING, cz->name, "%s; trying the next primary", err);
			int n = snprintf(errs + errs_len, sizeof(errs) - errs_len, "%s%s",
			                 errs_len ? "; " : "", err);
			if (n > 0 && (size_t)n < sizeof(errs) - errs_len)
				errs_len += (size_t)n;
			continue;
		}
		snprintf(j->primary, sizeof(j->primary), "%s", p->addr.str);
		j->serial = res.serial;
		if (res.kind == XFR_KIND_UPTODATE || res.zone == NULL) {
			xfr_result_free(&res);
			if (j->republish)
				job_publish(s, j, j->current);
			else
				j->outcome = OUT_UPTODATE;
			return;
		}
		j->kind_name = res.kind == XFR_KIND_IXFR ? "IXFR" : res.ixfr_fallback ? "AXFR (IXFR fallback)" : "AXFR";
		ldns_rr_list *nz = res.zone;
		struct xfr_shared sh = res.shared;
		res.zone = NULL;
		memset(&res.shared, 0, sizeof(res.shared));

		struct verify_policy vp;
		verify_policy_defaults(&vp);
		vp.require_zonemd = pol->require_zonemd != 0;
		vp.rrsig_margin = pol->rrsig_margin;
		vp.max_remove_pct = pol->max_remove;
		vp.allow_ns_change = pol->allow_ns_change != 0;
		struct verify_report rep;
		memset(&rep, 0, sizeof(rep));
		t0 = mono_s();
		/* An IXFR's blast radius comes from its diffs. */
		int ixfr = res.kind == XFR_KIND_IXFR;
		rc = verify_zone_diff(nz, j->current, ixfr ? res.diffs : NULL, ixfr ? res.ndiffs : 0,
		                      &vp, time(NULL), &rep);
		j->t_gate = mono_s() - t0;
		xfr_result_free(&res);
		if (rc != 0 || rep.result == VERIFY_ERROR) {
			snprintf(j->error, sizeof(j->error), "serial %u from %s: gate error: %.400s",
			         j->serial, p->addr.str, rep.reason[0] ? rep.reason : ed_strerror(rc));
			xfr_shared_drop(nz, &sh);
			return;
		}
		if (rep.result == VERIFY_UP_TO_DATE) {
			xfr_shared_drop(nz, &sh);
			j->outcome = OUT_UPTODATE;
			return;
		}
		if (rep.result == VERIFY_REFUSED) {
			/* The other primaries serve the same zone from the same
			 * source as a rule: the version waits for a fix at the
			 * source, not for failover. */
			snprintf(j->error, sizeof(j->error), "serial %u from %s refused: %.400s", j->serial,
			         p->addr.str, rep.reason);
			j->outcome = OUT_REFUSED;
			xfr_shared_drop(nz, &sh);
			return;
		}
		job_publish(s, j, nz);
		if (j->outcome == OUT_PUBLISHED) {
			j->newzone = nz;
			j->shared = sh;
			j->sig_min = svc_sig_min(nz);
		} else {
			xfr_shared_drop(nz, &sh);
		}
		return;
	}
	snprintf(j->error, sizeof(j->error), "%s", errs[0] ? errs : "no primary answered");
}

/* A refresh, then the cross-check of every primary (service_primaries.c)
 * against the version served after it. */
static void run_refresh(struct svc *s, struct job *j)
{
	refresh_from_primaries(s, j);
	svc_cross_check(j, j->newzone != NULL ? j->newzone : j->current);
}

/* One command about the zone to the dataplane: 0 (the reply said ok or
 * the zone is not served there: nothing to change), -1 with j->error set,
 * 1 when the dataplane does not know the command. */
static int dp_zone_command(struct svc *s, struct job *j, const char *cmd)
{
	char line[600], err[300] = "", *reply = NULL;
	snprintf(line, sizeof(line), "%s %s", cmd, j->z->cz->name);
	int rc = dpctl_command(s->pc.dataplane_socket, line, s->pc.timeout_ms, &reply, err,
	                       sizeof(err));
	int out = 0;
	if (rc != 0) {
		snprintf(j->error, sizeof(j->error), "dataplane %s: %s", cmd, err);
		out = -1;
	} else if (reply != NULL && strstr(reply, "\"ok\":true") == NULL &&
	           strstr(reply, "not served") == NULL) {
		out = strstr(reply, "unknown command") != NULL ? 1 : -1;
		snprintf(j->error, sizeof(j->error), "dataplane %s: %.400s", cmd, reply);
	}
	free(reply);
	return out;
}

/* The zone expired: the dataplane keeps its snapshot and answers SERVFAIL
 * with an Extended DNS Error for it until the next publish loads it again.
 * A dataplane without "expire" drops it instead (REFUSED). */
static void run_expire(struct svc *s, struct job *j)
{
	j->outcome = OUT_EXPIRED;
	if (s->pc.dataplane_socket == NULL)
		return;
	if (dp_zone_command(s, j, "expire") == 1) {
		j->error[0] = '\0';
		dp_zone_command(s, j, "drop");
	}
}



/* Append j to the FIFO head/tail (the job and done queues; under s->mu). */
static void job_append(struct job **head, struct job **tail, struct job *j)
{
	j->next = NULL;
	if (*tail != NULL)
		(*tail)->next = j;
	else
		*head = j;
	*tail = j;
}

static void *worker_main(void *arg)
{
	struct svc *s = arg;
	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (!s->stopping && s->qhead == NULL)
			pthread_cond_wait(&s->cv, &s->mu);
		if (s->stopping)
			break;
		struct job *j = s->qhead;
		s->qhead = j->next;
		if (s->qhead == NULL)
			s->qtail = NULL;
		s->running++;
		pthread_mutex_unlock(&s->mu);

		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (j->kind == JOB_REFRESH)
			run_refresh(s, j);
		else if (j->kind == JOB_REMOVE)
			svc_run_remove(s, j);
		else
			run_expire(s, j);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		j->secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;

		pthread_mutex_lock(&s->mu);
		job_append(&s->dhead, &s->dtail, j);
		s->running--;
		pthread_cond_broadcast(&s->idle_cv);
		if (!s->stopping)
			event_active(s->done_ev, EV_READ, 0);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* ---- main thread -------------------------------------------------------- */

void svc_zone_save(struct svc_zone *z)
{
	char err[300] = "";
	svc_facts_update(z);
	if (zonestate_save(z->svc->cfg->state_dir, &z->st, err, sizeof(err)) != 0)
		ctllog(LOG_ERR, z->cz->name, "state not saved: %s", err);
}

void svc_soa_timers(struct svc_zone *z)
{
	const ldns_rr *soa = find_soa(z->current);
	z->t_refresh = SVC_DEFAULT_REFRESH;
	z->t_retry = SVC_DEFAULT_RETRY;
	z->t_expire = SVC_DEFAULT_EXPIRE;
	if (soa == NULL)
		return;
	z->t_refresh = ldns_rdf2native_int32(ldns_rr_rdf(soa, 3));
	z->t_retry = ldns_rdf2native_int32(ldns_rr_rdf(soa, 4));
	z->t_expire = ldns_rdf2native_int32(ldns_rr_rdf(soa, 5));
	if (z->t_refresh == 0)
		z->t_refresh = 1;
	if (z->t_retry == 0)
		z->t_retry = 1;
}

void svc_arm_refresh(struct svc_zone *z, uint32_t delay)
{
	if (z->svc->applying_final)
		return;
	struct timeval tv = { .tv_sec = delay, .tv_usec = 0 };
	z->st.next_refresh = time(NULL) + delay;
	evtimer_add(z->timer, &tv);
}

static void arm_expire(struct svc_zone *z)
{
	if (z->svc->applying_final)
		return;
	evtimer_del(z->expire_ev);
	if (z->current == NULL || z->state == SVC_EXPIRED)
		return;
	time_t now = time(NULL);
	struct timeval tv = { .tv_sec = z->st.expire_at > now ? z->st.expire_at - now : 0 };
	evtimer_add(z->expire_ev, &tv);
}

void svc_enqueue(struct svc *s, struct job *j)
{
	pthread_mutex_lock(&s->mu);
	job_append(&s->qhead, &s->qtail, j);
	s->jobs_out++;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

struct job *svc_job_new(struct svc_zone *z, enum job_kind kind)
{
	struct job *j = calloc(1, sizeof(*j));
	if (j == NULL)
		return NULL;
	j->prim = calloc(z->cz->n_primaries, sizeof(*j->prim));
	if (j->prim == NULL) {
		free(j);
		return NULL;
	}
	j->kind = kind;
	j->z = z;
	j->kind_name = "";
	return j;
}

static void job_free(struct job *j)
{
	if (j == NULL)
		return;
	xfr_shared_drop(j->newzone, &j->shared);
	catz_set_free(&j->members);
	free(j->prim);
	free(j);
}

static void start_job(struct svc_zone *z, enum job_kind kind)
{
	struct job *j = svc_job_new(z, kind);
	if (j == NULL) {
		ctllog(LOG_ERR, z->cz->name, "out of memory: refresh postponed");
		svc_arm_refresh(z, z->t_retry);
		return;
	}
	if (kind == JOB_REFRESH) {
		j->current = z->current;
		j->cur_serial = z->st.serial;
		j->republish = (z->state == SVC_EXPIRED || z->republish) && z->current != NULL;
		if (z->state != SVC_EXPIRED)
			z->state = SVC_REFRESH_DUE;
		/* Saved as due now until the job's result schedules the next
		 * one: a control killed in the middle of a transfer finds it
		 * due at its restart and completes it at once. */
		z->st.next_refresh = time(NULL);
		svc_zone_save(z);
	}
	z->busy = 1;
	svc_enqueue(z->svc, j);
}


static void refresh_now(struct svc_zone *z)
{
	if (z->removing)
		return;
	if (z->busy) {
		z->again = 1;
		return;
	}
	evtimer_del(z->timer);
	start_job(z, JOB_REFRESH);
}

void svc_refresh_zone(struct svc *s, const struct cfg_zone *cz)
{
	struct svc_zone *z = svc_zone_lookup_wire(s, cz->apex, cz->apex_len);
	if (z != NULL && z->cz == cz)
		refresh_now(z);
}

int svc_refresh(struct svc *s, const char *zone)
{
	struct svc_zone *z = svc_zone_lookup(s, zone);
	if (z == NULL)
		return ED_ENOENT;
	refresh_now(z);
	return 0;
}

void svc_on_timer(evutil_socket_t fd, short ev, void *arg)
{
	struct svc_zone *z = arg;
	if (z->busy) {
		z->again = 1;
		return;
	}
	start_job(z, JOB_REFRESH);
}

void svc_on_expire(evutil_socket_t fd, short ev, void *arg)
{
	struct svc_zone *z = arg;
	time_t now = time(NULL);
	if (z->state == SVC_EXPIRED)
		return;
	if (now < z->st.expire_at) {
		arm_expire(z);
		return;
	}
	ctllog(LOG_ERR, z->cz->name, "expired: no refresh since %lld (SOA EXPIRE %u s), serial %u "
	       "answered SERVFAIL until a refresh succeeds", (long long)z->st.last_refresh,
	       z->t_expire, z->st.serial);
	z->state = SVC_EXPIRED;
	snprintf(z->st.last_error, sizeof(z->st.last_error), "expired at %lld",
	         (long long)z->st.expire_at);
	svc_zone_save(z);
	if (z->busy)
		z->expire_pending = 1;
	else
		start_job(z, JOB_EXPIRE);
}

/* RFC 7314 4: the primary's EDNS EXPIRE, when it gave one, replaces the
 * SOA EXPIRE: from a secondary of the primary it is what is left of that
 * secondary's own expiry, which ours must not outlast. Never beyond the
 * SOA EXPIRE. */
static void refreshed(struct svc_zone *z, time_t now, const struct job *j)
{
	uint32_t e = z->t_expire;
	if (j->has_expire && j->expire < e)
		e = j->expire;
	z->st.last_refresh = now;
	z->st.expire_at = now + e;
	z->st.last_error[0] = '\0';
	z->fails = 0;
	z->state = SVC_PUBLISHED;
	z->served = 1;
	svc_arm_refresh(z, svc_jitter(z->t_refresh, z->pol->refresh_jitter,
	                          (double)rand_r(&z->svc->seed) / ((double)RAND_MAX + 1.0)));
	arm_expire(z);
}

static void failed(struct svc_zone *z)
{
	z->fails++;
	if (z->state != SVC_EXPIRED)
		z->state = z->current != NULL || z->state != SVC_LOADING ? SVC_FAILED : SVC_LOADING;
	svc_arm_refresh(z, svc_retry_delay(z->t_retry, z->t_refresh, z->fails));
}


static void apply(struct svc *s, struct job *j)
{
	struct svc_zone *z = j->z;
	const char *name = z->cz->name;
	time_t now = time(NULL);
	z->busy = 0;
	s->jobs_out--;
	if (j->outcome == OUT_REMOVED) {
		svc_removed(s, j);
		return;
	}
	if (j->primary[0])
		snprintf(z->st.primary, sizeof(z->st.primary), "%s", j->primary);
	switch (j->outcome) {
	case OUT_UPTODATE:
		ctllog(LOG_INFO, name, "serial %u up to date at %s", z->st.serial, j->primary);
		refreshed(z, now, j);
		break;
	case OUT_PUBLISHED:
		if (j->newzone != NULL) {
			xfr_shared_keep(z->current, &j->shared);
			/* a zone is millions of small blocks: give the freed
			 * version's pages back rather than keep them in the heap */
			malloc_trim(0);
			z->current = j->newzone;
			z->sig_min = j->sig_min;
			j->newzone = NULL;
			z->st.transfers++;
			z->st.last_transfer = now;
			svc_soa_timers(z);
			ctllog(LOG_NOTICE, name, "serial %u published from %s (%s, %zu RRs, %.2f s)",
			       j->serial, j->primary, j->kind_name, ldns_rr_list_rr_count(z->current),
			       j->secs);
			ctllog(LOG_INFO, name, "serial %u: transfer %.3f s, gate %.3f s, compile and "
			       "write %.3f s, dataplane load %.3f s, text %.3f s", j->serial,
			       j->t_transfer, j->t_gate, j->t_compile, j->t_load, j->t_text);
		} else {
			ctllog(LOG_NOTICE, name, "serial %u served again (%s)", j->serial,
			       z->state == SVC_EXPIRED ? "was expired" : "files were apart");
		}
		z->republish = 0;
		z->st.serial = j->serial;
		z->st.has_serial = 1;
		z->checksum = j->checksum;
		refreshed(z, now, j);
		break;
	case OUT_REFUSED:
		if (!z->has_refused || z->refused_serial != j->serial) {
			z->st.refused++;
			z->has_refused = 1;
			z->refused_serial = j->serial;
		}
		ctllog(LOG_WARNING, name, "%s; serial %u stays served", j->error, z->st.serial);
		snprintf(z->st.last_error, sizeof(z->st.last_error), "%s", j->error);
		z->st.failures++;
		failed(z);
		break;
	case OUT_FAILED:
		ctllog(LOG_WARNING, name, "refresh failed: %s", j->error);
		snprintf(z->st.last_error, sizeof(z->st.last_error), "%s", j->error);
		z->st.failures++;
		failed(z);
		break;
	case OUT_EXPIRED:
		if (j->error[0])
			ctllog(LOG_ERR, name, "%s", j->error);
		else
			ctllog(LOG_NOTICE, name, "expired on the dataplane: answered SERVFAIL");
		break;
	case OUT_REMOVED:
		break;
	}
	if (j->kind == JOB_REFRESH)
		svc_note_primaries(z, j, now);
	svc_after_job(s, z, j);
	svc_zone_save(z);
	if (s->applying_final)
		return;
	if (z->remove_pending) {
		z->remove_pending = 0;
		svc_start_remove(z);
		return;
	}
	if (z->expire_pending && z->state == SVC_EXPIRED) {
		z->expire_pending = 0;
		start_job(z, JOB_EXPIRE);
		return;
	}
	z->expire_pending = 0;
	if (z->again) {
		z->again = 0;
		evtimer_del(z->timer);
		start_job(z, JOB_REFRESH);
	}
}


static void on_done(evutil_socket_t fd, short ev, void *arg)
{
	struct svc *s = arg;
	pthread_mutex_lock(&s->mu);
	struct job *j = s->dhead;
	s->dhead = s->dtail = NULL;
	pthread_mutex_unlock(&s->mu);
	while (j != NULL) {
		struct job *next = j->next;
		apply(s, j);
		job_free(j);
		j = next;
	}
	svc_retire_free(s);
}

/* A zone's state at start: saved state, last published version. */
void svc_zone_boot(struct svc_zone *z)
{
	char err[400] = "";
	const char *name = z->cz->name;
	time_t now = time(NULL);
	int rc = zonestate_load(z->svc->cfg->state_dir, name, &z->st, err, sizeof(err));
	if (rc != 0) {
		if (rc != ED_ENOENT)
			ctllog(LOG_WARNING, name, "saved state ignored: %s", err);
		memset(&z->st, 0, sizeof(z->st));
	}
	snprintf(z->st.zone, sizeof(z->st.zone), "%s", name);
	uint32_t serial = 0;
	ldns_rr_list *rrs = NULL;
	rc = publish_load_last(&z->svc->pc, name, &rrs, &serial, err, sizeof(err));
	if (rc != 0 && rc != ED_ENOENT)
		ctllog(LOG_WARNING, name, "last published version not readable: %s", err);
	z->current = rc == 0 ? rrs : NULL;
	z->sig_min = svc_sig_min(z->current);
	svc_soa_timers(z);
	if (z->current == NULL) {
		z->st.has_serial = 0;
		z->st.serial = 0;
		z->state = SVC_LOADING;
		ctllog(LOG_INFO, name, "nothing published yet: first transfer now");
		svc_arm_refresh(z, 0);
		svc_zone_save(z);
		return;
	}
	if (z->st.has_serial && z->st.serial != serial)
		ctllog(LOG_WARNING, name, "saved serial %u differs from the published %u: using %u",
		       z->st.serial, serial, serial);
	/* publish.h writes NAME.snap, then NAME.zone: a stop between the two
	 * leaves the snapshot (what the dataplane loaded) a version ahead of
	 * the text. The text is a true earlier version, kept as the IXFR
	 * base; a refresh now publishes again so the two agree. */
	uint32_t snap_serial = 0;
	uint64_t snap_sum = 0;
	rc = publish_snapshot_ident(&z->svc->pc, name, &snap_serial, &snap_sum, err, sizeof(err));
	/* the dataplane loaded that file at its start: what it must serve */
	z->checksum = rc == 0 && snap_serial == serial ? snap_sum : 0;
	if (rc != 0 || snap_serial != serial) {
		if (rc != 0)
			ctllog(LOG_WARNING, name, "snapshot not readable (%s): the text's serial %u is "
			       "published again", err, serial);
		else
			ctllog(LOG_WARNING, name, "snapshot has serial %u, the text %u (stopped between "
			       "their writes): refresh now, publishing again", snap_serial, serial);
		z->republish = 1;
		z->st.next_refresh = now;
	}
	z->st.serial = serial;
	z->st.has_serial = 1;
	if (z->st.expire_at == 0)
		z->st.expire_at = now + z->t_expire;
	if (now >= z->st.expire_at) {
		ctllog(LOG_ERR, name, "serial %u expired at %lld: answered SERVFAIL until a refresh "
		       "succeeds", serial, (long long)z->st.expire_at);
		z->state = SVC_EXPIRED;
		z->served = 1;  /* the dataplane loaded it at boot: expire it */
		start_job(z, JOB_EXPIRE);
		z->again = 1;
		svc_zone_save(z);
		return;
	}
	z->state = SVC_PUBLISHED;
	z->served = 1;
	time_t due = z->st.next_refresh;
	ctllog(LOG_INFO, name, "serving serial %u; refresh %s, expires at %lld", serial,
	       due > now ? "scheduled" : "now", (long long)z->st.expire_at);
	svc_arm_refresh(z, due > now ? (uint32_t)(due - now) : 0);
	arm_expire(z);
	svc_zone_save(z);
}


struct svc *svc_new(const struct cfg *cfg, struct event_base *base, unsigned nworkers, char *err,
                    size_t errlen)
{
	struct svc *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		ed_seterr(err, errlen, "out of memory");
		return NULL;
	}
	s->cfg = cfg;
	s->initial_cfg = cfg;
	s->base = base;
	s->nthreads = nworkers ? nworkers : SVC_DEFAULT_WORKERS;
	s->snapshot_dir = strdup(cfg->snapshot_dir);
	s->state_dir = strdup(cfg->state_dir);
	s->dataplane_socket = cfg->dataplane_socket ? strdup(cfg->dataplane_socket) : NULL;
	s->pc.snapshot_dir = s->snapshot_dir;
	s->pc.dataplane_socket = s->dataplane_socket;
	s->pc.timeout_ms = 30000;
	s->seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->facts_mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	pthread_cond_init(&s->idle_cv, NULL);
	s->threads = calloc(s->nthreads, sizeof(*s->threads));
	s->done_ev = event_new(base, -1, 0, on_done, s);
	if (s->threads == NULL || s->done_ev == NULL || s->snapshot_dir == NULL ||
	    s->state_dir == NULL || (cfg->dataplane_socket && s->dataplane_socket == NULL))
		goto oom;
	for (unsigned i = 0; i < cfg->n_zones; i++)
		if (svc_zone_add(s, &cfg->zones[i], NULL) == NULL)
			goto oom;
	for (unsigned i = 0; i < cfg->n_catalogs; i++)
		if (svc_zone_add(s, &cfg->catalogs[i].zone, NULL) == NULL)
			goto oom;
	if (svc_index_rebuild(s) != 0)
		goto oom;
	return s;
oom:
	ed_seterr(err, errlen, "out of memory");
	svc_free(s, 0);
	return NULL;
}

int svc_start(struct svc *s, char *err, size_t errlen)
{
	for (unsigned i = 0; i < s->nthreads; i++) {
		int rc = pthread_create(&s->threads[i], NULL, worker_main, s);
		if (rc != 0) {
			ed_seterr(err, errlen, "worker thread: %s", strerror(rc));
			return ED_EIO;
		}
		s->started++;
	}
	unsigned n = s->nz;   /* the configured zones and catalogs */
	svc_catalogs_boot(s);     /* members from the saved lists: served at once */
	for (unsigned i = 0; i < n; i++)
		svc_zone_boot(s->zones[i]);
	return 0;
}

unsigned svc_free(struct svc *s, unsigned wait_ms)
{
	if (s == NULL)
		return 0;
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += wait_ms / 1000;
	dl.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->mu);
	s->stopping = 1;
	pthread_cond_broadcast(&s->cv);
	struct job *q = s->qhead;
	s->qhead = s->qtail = NULL;
	while (s->running > 0) {
		if (pthread_cond_timedwait(&s->idle_cv, &s->mu, &dl) == ETIMEDOUT)
			break;
	}
	unsigned abandoned = s->running;
	pthread_mutex_unlock(&s->mu);
	while (q != NULL) {
		struct job *next = q->next;
		q->z->busy = 0;
		s->jobs_out--;
		job_free(q);
		q = next;
	}
	s->applying_final = 1;
	on_done(-1, 0, s);
	for (unsigned i = 0; i < s->nz; i++)
		if (s->zones[i]->st.zone[0] && s->zones[i]->removing != 1)
			svc_zone_save(s->zones[i]);
	if (abandoned) {
		/* Workers still use s, its zones and the cfg: leave them to
		 * the process exit. */
		ctllog(LOG_WARNING, NULL, "%u transfer(s) abandoned at stop", abandoned);
		return abandoned;
	}
	for (unsigned i = 0; i < s->started; i++)
		pthread_join(s->threads[i], NULL);
	for (unsigned i = 0; i < s->nz; i++)
		svc_zone_destroy(s->zones[i]);
	for (unsigned i = 0; i < s->n_retired; i++)
		if (s->retired[i] != s->initial_cfg)
			cfg_free(s->retired[i]);
	free(s->retired);
	if (s->cfg != s->initial_cfg)
		cfg_free((struct cfg *)s->cfg);
	free(s->ix);
	free(s->snapshot_dir);
	free(s->state_dir);
	free(s->dataplane_socket);
	if (s->done_ev)
		event_free(s->done_ev);
	pthread_mutex_destroy(&s->mu);
	pthread_mutex_destroy(&s->facts_mu);
	svc_watch_free(s);
	pthread_cond_destroy(&s->cv);
	pthread_cond_destroy(&s->idle_cv);
	free(s->zones);
	free(s->threads);
	free(s);
	return 0;
}

const struct cfg *svc_cfg(const struct svc *s)
{
	return s->cfg;
}

static json_t *time_json(time_t t)
{
	return t > 0 ? json_integer((json_int_t)t) : json_null();
}

static json_t *zone_json(const struct svc_zone *z)
{
	json_t *o = json_object();
	json_object_set_new(o, "name", json_string(z->cz->name));
	json_object_set_new(o, "state", json_string(svc_state_name(z->state)));
	json_object_set_new(o, "served", json_boolean(z->served && z->state != SVC_EXPIRED));
	json_object_set_new(o, "serial", z->st.has_serial ? json_integer(z->st.serial) : json_null());
	json_object_set_new(o, "primary", z->st.primary[0] ? json_string(z->st.primary) : json_null());
	json_object_set_new(o, "last_refresh", time_json(z->st.last_refresh));
	json_object_set_new(o, "last_transfer", time_json(z->st.last_transfer));
	json_object_set_new(o, "next_refresh",
	                    z->busy ? json_null() : time_json(z->st.next_refresh));
	json_object_set_new(o, "expire_at", z->current ? time_json(z->st.expire_at) : json_null());
	json_object_set_new(o, "last_error", json_string(z->st.last_error));
	json_object_set_new(o, "transfers", json_integer((json_int_t)z->st.transfers));
	json_object_set_new(o, "refused", json_integer((json_int_t)z->st.refused));
	json_object_set_new(o, "failures", json_integer((json_int_t)z->st.failures));
	json_object_set_new(o, "primaries", svc_primaries_json(z));
	json_object_set_new(o, "divergent", json_boolean(svc_divergent(z)));
	json_object_set_new(o, "divergences", json_integer((json_int_t)z->divergences));
	json_object_set_new(o, "kind", json_string(z->cz->catalog ? "catalog" :
	                                           z->catalog ? "member" : "zone"));
	if (z->catalog != NULL)
		json_object_set_new(o, "catalog", json_string(z->catalog->cz->name));
	if (z->cz->catalog != NULL)
		json_object_set_new(o, "members", json_integer((json_int_t)z->members.n));
	return o;
}

json_t *svc_status(struct svc *s, const char *zone)
{
	if (zone != NULL) {
		struct svc_zone *z = svc_zone_lookup(s, zone);
		return z != NULL ? zone_json(z) : NULL;
	}
	json_t *a = json_array();
	for (unsigned i = 0; i < s->nz; i++)
		if (s->zones[i]->removing != 1)
			json_array_append_new(a, zone_json(s->zones[i]));
	json_t *o = json_object();
	json_object_set_new(o, "zones", a);
	return o;
}

