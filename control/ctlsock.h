/* ctlsock.h: the control socket of edgedns-control: a unix stream socket,
 * one JSON request per line, one JSON reply per line (jansson).
 *
 *   {"cmd":"status"}                 -> {"ok":true,"zones":[{...},...]}
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
 *   anything else                    -> {"ok":false,"error":"..."}
 *
 * The zone objects are svc_status()'s. Requests are capped at
 * CTLSOCK_MAX_LINE octets; a longer one closes the connection. Main
 * thread only (the event base's).
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

/* One request line to one reply (no newline; malloc()ed). The socket's
 * logic without the socket, for tests. */
char *ctlsock_exec(struct svc *svc, struct health *health, const char *line);

struct health;
/* Answer health and maintenance from h (NULL: "no health checks here"). */
void ctlsock_set_health(struct ctlsock *c, struct health *h);

#endif
