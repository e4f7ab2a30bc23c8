/* ctlsock.h: the control socket of edgedns-control: a unix stream socket,
 * one JSON request per line, one JSON reply per line (jansson).
 *
 *   {"cmd":"status"}                 -> {"ok":true,"version":"0.9.0",
 *                                       "zones":[{...},...]}
 *   {"cmd":"zone-status","zone":Z}   -> {"ok":true,"zone":{...}}
 *   {"cmd":"refresh","zone":Z}       -> {"ok":true} (the refresh is queued;
 *                                       watch zone-status for its result)
 *   {"cmd":"reload"}                 -> {"ok":true} once svc_reload() applied
 *                                       the file, else {"ok":false,"error":
 *                                       "file:line: ..."}
 *   {"cmd":"health"}                 -> {"ok":true,"services":[{...}]}
 *                                       (health_status())
 *   {"cmd":"maintenance","service":S,"on":true|false}
 *                                    -> {"ok":true}: S drains and is
 *                                       withdrawn, or comes back
 *   {"cmd":"stop"}                   -> {"ok":true,"keep_routes":false}, then
 *                                       control stops as on SIGTERM: the
 *                                       routes are drained and withdrawn
 *   {"cmd":"stop","keep_routes":true}
 *                                    -> {"ok":true,"keep_routes":true}, then
 *                                       control stops leaving BIRD as it is
 *                                       (a restart adopts the routes; the
 *                                       dataplane lease still runs out if
 *                                       none comes: health.h)
 *   anything else                    -> {"ok":false,"error":"..."}
 *
 * The zone objects are svc_status()'s. Requests are capped at
 * CTLSOCK_MAX_LINE octets; a longer one closes the connection. A stop is
 * carried out once its reply is written (or the client has gone); lines
 * after it are not read. "reload" tells systemd RELOADING=1, then READY=1
 * (daemon.h). Main thread only (the event base's).
 */
#ifndef EDGEDNS_CTLSOCK_H
#define EDGEDNS_CTLSOCK_H

#include <stddef.h>

#include <event2/event.h>

#include "service.h"

struct health;

#define CTLSOCK_MAX_LINE 65536

struct ctlsock;

/* Listen on path (a stale socket file there is replaced; mode 0600).
 * NULL with the reason in err. */
struct ctlsock *ctlsock_new(struct event_base *base, struct svc *svc, const char *path,
                            char *err, size_t errlen);

/* Close the listener and every connection, unlink the path. NULL: no-op. */
void ctlsock_free(struct ctlsock *c);

/* What a request asked of the process (ctlsock_exec()'s *stop). */
enum { CTLSOCK_STOP_NONE = 0, CTLSOCK_STOP = 1, CTLSOCK_STOP_KEEP_ROUTES = 2 };

/* One request line to one reply (no newline; malloc()ed). The socket's
 * logic without the socket, for tests. *stop: CTLSOCK_STOP or
 * CTLSOCK_STOP_KEEP_ROUTES when the request was a stop (the caller does
 * it), else CTLSOCK_STOP_NONE. */
char *ctlsock_exec(struct svc *svc, struct health *health, const char *line, int *stop);

struct health;
/* Answer health and maintenance from h (NULL: "no health checks here"). */
void ctlsock_set_health(struct ctlsock *c, struct health *h);

/* What a "stop" does (without it the request is answered and nothing
 * happens): fn(arg, keep_routes) on the main thread, once. */
void ctlsock_set_stop(struct ctlsock *c, void (*fn)(void *arg, int keep_routes), void *arg);

#endif
