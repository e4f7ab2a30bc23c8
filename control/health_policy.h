/* health_policy.h: when an anycast service is announced, drained or
 * withdrawn. A pure state machine over check verdicts and a clock (no I/O,
 * no threads), driven by health.c and tested on its own.
 *
 * Rules (defaults from struct cfg_service):
 * - Fail closed: a new machine starts withdrawn and announces only after
 *   `rise` healthy rounds in a row.
 * - Announced: `fall` unhealthy rounds in a row withdraw at once (no
 *   drain: the node answers wrongly), and start a hold-down.
 * - Hold-down: after a withdraw for failure the route stays down for at
 *   least hold, where hold = hold-down * 2^(flaps - 1), capped at
 *   hold-down-max; flaps counts such withdraws and is reset after the
 *   service stays announced for hold-down-max (damping, as route-flap
 *   damping does it, with a simple doubling).
 * - Maintenance (operator drain): announced -> draining (the prefixes are
 *   announced with GRACEFUL_SHUTDOWN, RFC 8326) for drain-time, then
 *   withdrawn; it stays withdrawn until maintenance ends. A drain also
 *   ends early in a withdraw when the checks fail.
 */
#ifndef EDGEDNS_HEALTH_POLICY_H
#define EDGEDNS_HEALTH_POLICY_H

#include <stdint.h>

/* What the routes of a service should be. */
enum hp_route {
	HP_WITHDRAWN = 0,  /* nothing announced */
	HP_ANNOUNCED,      /* announced normally */
	HP_DRAINING,       /* announced with the GRACEFUL_SHUTDOWN community */
};

struct hp_conf {
	unsigned fall, rise;
	uint64_t hold_ms, hold_max_ms, drain_ms;
};

struct hp {
	enum hp_route route;
	unsigned ok_run, fail_run;   /* healthy / unhealthy rounds in a row */
	int healthy;                 /* after rise/fall: the service's verdict */
	int maintenance;
	unsigned flaps;              /* withdraws for failure, for the hold */
	uint64_t hold_until;         /* ms; 0: none */
	uint64_t drain_until;        /* ms, while draining */
	uint64_t announced_at;       /* ms, while announced */
	uint64_t transitions;        /* route changes */
	char reason[200];            /* of the last route change */
	char why[160];               /* what failed in the last failed round */
};

/* A service as a new machine starts it: withdrawn, nothing known. */
void hp_init(struct hp *m);

/* One round of checks: ok (all passed) at now (ms, monotonic). Returns 1
 * when m->route changed (m->reason says why), else 0. why: what failed
 * when !ok (copied into the reason of a withdraw). */
int hp_round(struct hp *m, const struct hp_conf *c, int ok, const char *why, uint64_t now);

/* Time passing without a round (drain end): as hp_round() for the route. */
int hp_tick(struct hp *m, const struct hp_conf *c, uint64_t now);

/* Operator maintenance on or off; returns 1 when the route changed. */
int hp_maintenance(struct hp *m, const struct hp_conf *c, int on, uint64_t now);

/* Take over a route found in place (BIRD kept it while control was
 * down): announced or draining is taken as healthy until `fall` failed
 * rounds say otherwise; nothing is changed before a round. A drain found
 * in place runs its full drain-time again. */
void hp_adopt(struct hp *m, const struct hp_conf *c, enum hp_route route, uint64_t now);

/* The hold a withdraw for failure with flaps (>= 1) gives, ms. */
uint64_t hp_hold_ms(const struct hp_conf *c, unsigned flaps);

const char *hp_route_name(enum hp_route r);

#endif
