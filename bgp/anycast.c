/* anycast.c: announce, drain and withdraw through the protocols of
 * birdconf.h; the orderings are explained in anycast.h. */
#include "anycast.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "error.h"

const char *anycast_state_name(enum anycast_state st)
{
	switch (st) {
	case ANYCAST_WITHDRAWN: return "withdrawn";
	case ANYCAST_ANNOUNCED: return "announced";
	case ANYCAST_DRAINING: return "draining";
	case ANYCAST_MIXED: return "mixed";
	}
	return "?";
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Enable (on) or disable both families of kind for svc. */
static int set_kind(bird_conn_t *c, const struct birdconf_service *svc, const char *kind,
                    bool on, char *err, size_t errlen)
{
	for (int fam = 4; fam <= 6; fam += 2) {
		char name[BIRD_NAME_MAX + 1];
		if (birdconf_proto_name(svc->name, kind, fam, name, sizeof(name)) < 0) {
			ed_seterr(err, errlen, "anycast: bad service name");
			return ED_EINVAL;
		}
		int rc = on ? bird_enable(c, name, NULL, err, errlen)
		            : bird_disable(c, name, NULL, err, errlen);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Wait until every prefix of svc has a route of kind's protocol of its
 * family in BIRD's table. */
static int settle(bird_conn_t *c, const struct birdconf_service *svc, const char *kind,
                  char *err, size_t errlen)
{
	int64_t deadline = now_ms() + ANYCAST_SETTLE_MS;
	for (int fam = 4; fam <= 6; fam += 2) {
		char name[BIRD_NAME_MAX + 1];
		birdconf_proto_name(svc->name, kind, fam, name, sizeof(name));
		const char *const *v = fam == 4 ? svc->prefixes4 : svc->prefixes6;
		size_t n = fam == 4 ? svc->n4 : svc->n6;
		for (size_t i = 0; i < n; i++) {
			for (;;) {
				struct bird_routes r;
				int rc = bird_show_route(c, v[i], name, &r, err, errlen);
				size_t got = r.n;
				bird_routes_free(&r);
				if (rc < 0)
					return rc;
				if (got > 0)
					break;
				if (now_ms() >= deadline) {
					ed_seterr(err, errlen, "anycast: %s: no route for %s from %s "
					          "within %u ms", svc->name, v[i], name,
					          ANYCAST_SETTLE_MS);
					return ED_ETIMEOUT;
				}
				poll(NULL, 0, 10);
			}
		}
	}
	return 0;
}

int anycast_announce(bird_conn_t *c, const struct birdconf_service *svc, char *err,
                     size_t errlen)
{
	int rc = set_kind(c, svc, "anycast", true, err, errlen);
	if (rc == 0)
		rc = settle(c, svc, "anycast", err, errlen);
	if (rc == 0)
		rc = set_kind(c, svc, "gshut", false, err, errlen);
	return rc;
}

int anycast_drain(bird_conn_t *c, const struct birdconf_service *svc, char *err,
                  size_t errlen)
{
	int rc = set_kind(c, svc, "gshut", true, err, errlen);
	if (rc == 0)
		rc = settle(c, svc, "gshut", err, errlen);
	if (rc == 0)
		rc = set_kind(c, svc, "anycast", false, err, errlen);
	return rc;
}

int anycast_withdraw(bird_conn_t *c, const struct birdconf_service *svc, char *err,
                     size_t errlen)
{
	int rc = set_kind(c, svc, "anycast", false, err, errlen);
	if (rc == 0)
		rc = set_kind(c, svc, "gshut", false, err, errlen);
	return rc;
}

int anycast_drain_withdraw(bird_conn_t *c, const struct birdconf_service *svc,
                           unsigned wait_ms, char *err, size_t errlen)
{
	int rc = anycast_drain(c, svc, err, errlen);
	if (rc < 0)
		return rc;
	unsigned ms = wait_ms ? wait_ms : BIRDCONF_DRAIN_MS;
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	return anycast_withdraw(c, svc, err, errlen);
}

int anycast_state(bird_conn_t *c, const struct birdconf_service *svc,
                  enum anycast_state *st, char *err, size_t errlen)
{
	struct bird_protocols ps;
	int rc = bird_show_protocols(c, NULL, &ps, err, errlen);
	if (rc < 0)
		return rc;
	bool up[2][2];   /* [anycast, gshut][4, 6] */
	const char *kinds[2] = { "anycast", "gshut" };
	for (int k = 0; k < 2 && rc == 0; k++)
		for (int f = 0; f < 2 && rc == 0; f++) {
			char name[BIRD_NAME_MAX + 1];
			if (birdconf_proto_name(svc->name, kinds[k], f ? 6 : 4, name,
			                        sizeof(name)) < 0) {
				ed_seterr(err, errlen, "anycast: bad service name");
				rc = ED_EINVAL;
				break;
			}
			const struct bird_protocol *p = bird_protocols_find(&ps, name);
			if (p == NULL) {
				ed_seterr(err, errlen, "anycast: BIRD has no protocol %s", name);
				rc = ED_ENOENT;
				break;
			}
			/* enabled: "up", or "start" on its way up; "stop" and
			 * "flush" are on their way down */
			up[k][f] = strcmp(p->state, "up") == 0 || strcmp(p->state, "start") == 0;
		}
	bird_protocols_free(&ps);
	if (rc < 0)
		return rc;
	bool a_all = up[0][0] && up[0][1], a_none = !up[0][0] && !up[0][1];
	bool g_all = up[1][0] && up[1][1], g_none = !up[1][0] && !up[1][1];
	if (a_none && g_none)
		*st = ANYCAST_WITHDRAWN;
	else if (a_all && g_none)
		*st = ANYCAST_ANNOUNCED;
	else if (g_all && (a_all || a_none))
		*st = ANYCAST_DRAINING;
	else
		*st = ANYCAST_MIXED;
	return 0;
}

int anycast_assert(bird_conn_t *c, const struct birdconf_service *svc,
                   enum anycast_state want, char *err, size_t errlen)
{
	enum anycast_state st;
	int rc = anycast_state(c, svc, &st, err, errlen);
	if (rc < 0)
		return rc;
	if (st == want && want != ANYCAST_DRAINING)
		return 0;
	switch (want) {
	case ANYCAST_ANNOUNCED: return anycast_announce(c, svc, err, errlen);
	case ANYCAST_DRAINING: return anycast_drain(c, svc, err, errlen);
	case ANYCAST_WITHDRAWN: return anycast_withdraw(c, svc, err, errlen);
	default:
		ed_seterr(err, errlen, "anycast: cannot assert state %s", anycast_state_name(want));
		return ED_EINVAL;
	}
}

int anycast_withdraw_all(bird_conn_t *c, void (*each)(void *arg, const char *name, bool changed,
                                                      int rc, const char *err),
                         void *arg, unsigned *disabled, char *err, size_t errlen)
{
	struct bird_protocols ps;
	*disabled = 0;
	int rc = bird_show_protocols(c, NULL, &ps, err, errlen);
	if (rc < 0)
		return rc;
	int first = 0;
	/* the plain announcements first, then the gshut ones: the order of
	 * anycast_withdraw(), so no prefix is announced without the
	 * community in between */
	static const char *const kinds[2] = { "anycast_", "gshut_" };
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < ps.n; i++) {
			const char *name = ps.v[i].name;
			if (strncmp(name, kinds[k], strlen(kinds[k])) != 0)
				continue;
			char e[256] = "";
			bool changed = false;
			int r = bird_disable(c, name, &changed, e, sizeof(e));
			if (r < 0 && first == 0) {
				first = r;
				ed_seterr(err, errlen, "%s", e);
			}
			if (r == 0 && changed)
				(*disabled)++;
			if (each != NULL)
				each(arg, name, changed, r, e);
			if (r < 0 && r != ED_ERCODE && r != ED_ENOENT)
				goto out;    /* the connection is gone */
		}
out:
	bird_protocols_free(&ps);
	return first;
}
