/* health.h: the health checks of the anycast services and what they do to
 * the routes (issue 5).
 *
 * One thread of its own runs, per service (config.h, struct cfg_service),
 * a round of checks every interval:
 *   heartbeat  every worker lcore's loop counter advances (dataplane
 *              `lcores`; `ping` for the socket dataplane);
 *   probe      each probe, to each service address, injected into every
 *              worker's packet path (dataplane `probe`): every lcore must
 *              answer with the rcode, and the serial control serves (SOA)
 *              or the expected RDATA;
 *   ports      every port's link is up (dataplane `ports`);
 *   zones      every critical zone is served, not expired, and its RRSIGs
 *              do not expire within signature-margin (svc_facts());
 *   tcp        TCP to each service address through the dataplane's port
 *              (dataplane `kprobe`: the kernel's SYN-ACK and echo reply to
 *              a client's address come back out through the exception
 *              path), and a
 *              query over TCP to each service address is answered;
 *   check[i]   operator commands (run in the background, own interval and
 *              timeout; the last result counts).
 * A round passes when every check passes; health_policy.h turns rounds
 * into announce, drain and withdraw, which go to BIRD through the route
 * operations. The wanted state is re-asserted whenever BIRD is found
 * otherwise (a BIRD restart or `configure` resets it to its fail-closed
 * config). Maintenance, flaps and hold-downs are saved in
 * STATE_DIR/health.json and survive a restart of control; at start the
 * routes found in BIRD are kept until the checks decide.
 *
 * Dead man: every round of the shortest interval the thread also renews a
 * lease in the dataplane ("lease MS" on its command socket): MS is the
 * control section's dataplane-lease, by default max(HEALTH_LEASE_MIN_MS,
 * 10 x the shortest interval); 0 turns it off. When control dies or its
 * thread is stuck, the lease runs out and the dataplane drops BGP and BFD
 * on its exception path, so the routers withdraw through BFD or the hold
 * timer: no route stays announced without a control checking it. A
 * restart within the lease adopts the routes without a transition.
 *
 * Stop: health_stop() with withdraw (SIGTERM, "stop") drains each
 * announced service for its stop-drain-time, withdraws every service in
 * BIRD and releases the lease ("lease 0"); without withdraw ("stop
 * --keep-routes") BIRD and the lease are left as they are.
 *
 * The thread blocks on the dataplane's socket and on BIRD's, never on the
 * zone service (svc_facts() takes a short lock).
 */
#ifndef EDGEDNS_HEALTH_H
#define EDGEDNS_HEALTH_H

#include <stddef.h>

#include <jansson.h>

#include "config.h"
#include "health_policy.h"
#include "service.h"

/* One BGP session of the edge's BIRD, as the health view shows it. */
struct health_session {
	char name[65];
	char state[24];        /* BGP state: "Established", "Active", "Idle", ... */
	char since[48];        /* as BIRD prints it */
	char neighbor[64];
	char last_error[160];
	long exported;         /* prefixes exported on it; -1: its channels are down */
};

#define HEALTH_MAX_SESSIONS 32

/* How routes change. apply: make service sv's routes `want`; query: what
 * is in place; sessions (may be NULL): the BGP sessions, at most max into
 * v, their number in *n. Each returns 0 or a negative ED_E* code with err.
 * Called on the health thread only. */
struct health_route_ops {
	int (*apply)(void *arg, const struct cfg_service *sv, enum hp_route want, char *err,
	             size_t errlen);
	int (*query)(void *arg, const struct cfg_service *sv, enum hp_route *have, char *err,
	             size_t errlen);
	int (*sessions)(void *arg, struct health_session *v, unsigned max, unsigned *n, char *err,
	                size_t errlen);
	void *arg;
};

struct health;

/* The shortest default dataplane lease (ms). */
#define HEALTH_LEASE_MIN_MS 5000u

/* For cfg's services (none: a health that does nothing). ops NULL: no
 * routing, the checks and the state are still kept and shown. The zones
 * the services name are watched in svc (before svc_start()). NULL with
 * err on failure. */
struct health *health_new(const struct cfg *cfg, struct svc *svc,
                          const struct health_route_ops *ops, char *err, size_t errlen);

/* Start the thread. 0, or ED_EIO with err. */
int health_start(struct health *h, char *err, size_t errlen);

/* Stop the thread. withdraw: then drain every announced service for its
 * stop-drain-time (the GRACEFUL_SHUTDOWN routes), withdraw every service
 * in BIRD (logged, each at its time: blocks up to the longest
 * stop-drain-time plus BIRD's replies) and, when all went, release the
 * dataplane lease; else leave BIRD and the lease as they are. The state
 * is saved. Main thread; no-op when the thread does not run. */
void health_stop(struct health *h, int withdraw);

/* Whether the thread has not finished a pass of its loop (a round, a
 * renewal, or a wait of at most a second) for more than max_ms; *age_ms
 * gets how long it has been. 0 when no thread runs (no services). Any
 * thread: the watchdog asks it before each keep-alive. */
int health_stalled(struct health *h, uint64_t max_ms, uint64_t *age_ms);

/* Stop the thread (routes stay as they are: BIRD keeps them) and free. */
void health_free(struct health *h);

/* {"services":[{...}],"bgp":{...}}: per service its route, verdict,
 * hold-down, checks, history and "reachable" (announced or draining and
 * exported on at least one Established BGP session; false: control
 * announces it but no router has it; null: not known, no BIRD or not read
 * yet; a withdrawn service is false); "bgp" (null without BIRD): per
 * session its state, since, neighbour, last error and prefixes exported,
 * "established" and "exporting" (Established with exported > 0), "error"
 * when BIRD could not be read. BIRD is read about once a second; the last
 * exporting session going is logged as a warning. Any thread. */
json_t *health_status(struct health *h);

/* Operator maintenance of service id on or off (drain, then withdraw;
 * saved). 0, or ED_ENOENT with err. Any thread. */
int health_maintenance(struct health *h, const char *id, int on, char *err, size_t errlen);

#endif
