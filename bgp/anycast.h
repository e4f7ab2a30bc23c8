/* anycast.h: announce, drain and withdraw an anycast service through BIRD:
 * the policy on top of the BIRD client (bird.h) and the protocols of the
 * generated configuration (birdconf.h: anycast_S_4/6, gshut_S_4/6).
 *
 * Same threading and error rules as bird.h: blocking, bounded, one handle
 * per thread, 0 or a negative ED_E* code with a message in err. Each step
 * is a BIRD command; a failure leaves BIRD where the last successful step
 * put it, and anycast_state() reads where that is.
 *
 * The orderings never leave a gap on the wire:
 *   announce: enable anycast_S_*, wait until their routes are in BIRD's
 *             table, disable gshut_S_* (when it was draining the best route
 *             changes from the gshut one to the plain one: an update).
 *   drain:    enable gshut_S_*, wait until their routes are in the table
 *             (best by preference: BGP sends the prefix again with the
 *             GRACEFUL_SHUTDOWN community), disable anycast_S_* (not the
 *             best route: nothing on the wire).
 *   withdraw: disable anycast_S_*, then gshut_S_* (the withdraw).
 * A planned shutdown is drain, a pause (BIRDCONF_DRAIN_MS) so the routers
 * move traffic away, then withdraw: anycast_drain_withdraw().
 */
#ifndef EDGEDNS_ANYCAST_H
#define EDGEDNS_ANYCAST_H

#include <stddef.h>

#include "bird.h"
#include "birdconf.h"

enum anycast_state {
	ANYCAST_WITHDRAWN = 0,   /* all four protocols down */
	ANYCAST_ANNOUNCED,       /* anycast_S_4/6 up, gshut_S_4/6 down */
	ANYCAST_DRAINING,        /* gshut_S_4/6 up (anycast_S_* either way: the
	                            gshut routes win) */
	ANYCAST_MIXED,           /* anything else: a step failed half way */
};

/* "withdrawn", "announced", "draining", "mixed". */
const char *anycast_state_name(enum anycast_state st);

/* How long announce and drain wait for the routes of the protocols they
 * enabled to appear in BIRD's table (polled every 10 ms). */
#define ANYCAST_SETTLE_MS 3000u

int anycast_announce(bird_conn_t *c, const struct birdconf_service *svc, char *err,
                     size_t errlen);
int anycast_drain(bird_conn_t *c, const struct birdconf_service *svc, char *err,
                  size_t errlen);
int anycast_withdraw(bird_conn_t *c, const struct birdconf_service *svc, char *err,
                     size_t errlen);

/* anycast_drain(), sleep wait_ms (0: BIRDCONF_DRAIN_MS), anycast_withdraw().
 * Blocks the calling thread for the wait. */
int anycast_drain_withdraw(bird_conn_t *c, const struct birdconf_service *svc,
                           unsigned wait_ms, char *err, size_t errlen);

/* The state of svc's four protocols ("show protocols"): a protocol counts
 * as enabled when it is "up" or "start", as disabled when "down", "stop" or
 * "flush". */
int anycast_state(bird_conn_t *c, const struct birdconf_service *svc,
                  enum anycast_state *st, char *err, size_t errlen);

/* Withdraw every service BIRD knows, whatever generated it: disable every
 * protocol whose name begins with "anycast_", then every one beginning
 * with "gshut_" (one "show protocols", then a "disable" each; those down
 * already are disabled again, cheaply). For the last resort when control
 * cannot come back (edgedns-bird withdraw, the OnFailure unit). A refusal
 * of one protocol does not stop the others; a lost connection does.
 * each (may be NULL) hears of every protocol: its name, whether BIRD
 * changed its state, the call's code and message. *disabled counts those
 * that were enabled. 0, or the first error with its message in err. */
int anycast_withdraw_all(bird_conn_t *c, void (*each)(void *arg, const char *name, bool changed,
                                                      int rc, const char *err),
                         void *arg, unsigned *disabled, char *err, size_t errlen);

/* Bring svc to want (WITHDRAWN, ANNOUNCED or DRAINING) whatever its state:
 * after a BIRD restart or a configure (both leave every announcing
 * protocol disabled, birdconf.h), or a step that failed. Cheap when
 * already there (one "show protocols"). After a configure answered 0004,
 * call it once bird_configure_status() says 3. */
int anycast_assert(bird_conn_t *c, const struct birdconf_service *svc,
                   enum anycast_state want, char *err, size_t errlen);

#endif
