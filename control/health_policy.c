/* health_policy.c: the announce/drain/withdraw state machine
 * (health_policy.h). */
#include "health_policy.h"

#include <stdio.h>
#include <string.h>

void hp_init(struct hp *m)
{
	memset(m, 0, sizeof(*m));
	m->route = HP_WITHDRAWN;
	snprintf(m->reason, sizeof(m->reason), "start: withdrawn until healthy");
}

void hp_adopt(struct hp *m, const struct hp_conf *c, enum hp_route route, uint64_t now)
{
	m->route = route;
	m->healthy = route != HP_WITHDRAWN;
	m->ok_run = 0;
	m->fail_run = 0;
	if (route == HP_ANNOUNCED)
		m->announced_at = now;
	if (route == HP_DRAINING)
		m->drain_until = now + c->drain_ms;
	snprintf(m->reason, sizeof(m->reason), "found %s at start", hp_route_name(route));
}

uint64_t hp_hold_ms(const struct hp_conf *c, unsigned flaps)
{
	uint64_t h = c->hold_ms;
	for (unsigned i = 1; i < flaps && h < c->hold_max_ms; i++)
		h *= 2;
	return h < c->hold_max_ms ? h : c->hold_max_ms;
}

const char *hp_route_name(enum hp_route r)
{
	switch (r) {
	case HP_WITHDRAWN: return "withdrawn";
	case HP_ANNOUNCED: return "announced";
	case HP_DRAINING: return "draining";
	}
	return "?";
}

static int go(struct hp *m, enum hp_route r, uint64_t now, const char *fmt, const char *arg)
{
	if (m->route == r)
		return 0;
	m->route = r;
	m->transitions++;
	if (r == HP_ANNOUNCED)
		m->announced_at = now;
	snprintf(m->reason, sizeof(m->reason), fmt, arg != NULL ? arg : "");
	return 1;
}

/* The route the state asks for now. */
static int settle(struct hp *m, const struct hp_conf *c, uint64_t now)
{
	switch (m->route) {
	case HP_ANNOUNCED:
		if (!m->healthy) {
			m->flaps++;
			m->hold_until = now + hp_hold_ms(c, m->flaps);
			return go(m, HP_WITHDRAWN, now, "unhealthy: %s", m->why);
		}
		if (m->maintenance) {
			m->drain_until = now + c->drain_ms;
			return go(m, HP_DRAINING, now, "maintenance: draining (graceful shutdown)%s",
			          NULL);
		}
		/* stable long enough: forget the flaps */
		if (m->flaps && now - m->announced_at >= c->hold_max_ms)
			m->flaps = 0;
		return 0;
	case HP_DRAINING:
		if (!m->healthy)
			return go(m, HP_WITHDRAWN, now, "unhealthy while draining: %s", m->why);
		if (!m->maintenance)
			return go(m, HP_ANNOUNCED, now, "maintenance ended while draining%s", NULL);
		if (now >= m->drain_until)
			return go(m, HP_WITHDRAWN, now, "maintenance: drained, withdrawn%s", NULL);
		return 0;
	case HP_WITHDRAWN:
		if (m->healthy && !m->maintenance && now >= m->hold_until)
			return go(m, HP_ANNOUNCED, now, "healthy%s", m->flaps ? " after hold-down" : "");
		return 0;
	}
	return 0;
}

int hp_round(struct hp *m, const struct hp_conf *c, int ok, const char *why, uint64_t now)
{
	if (ok) {
		m->ok_run++;
		m->fail_run = 0;
		if (m->ok_run >= c->rise)
			m->healthy = 1;
	} else {
		m->fail_run++;
		m->ok_run = 0;
		snprintf(m->why, sizeof(m->why), "%s", why != NULL ? why : "check failed");
		if (m->fail_run >= c->fall)
			m->healthy = 0;
	}
	return settle(m, c, now);
}

int hp_tick(struct hp *m, const struct hp_conf *c, uint64_t now)
{
	return settle(m, c, now);
}

int hp_maintenance(struct hp *m, const struct hp_conf *c, int on, uint64_t now)
{
	m->maintenance = on != 0;
	return settle(m, c, now);
}
