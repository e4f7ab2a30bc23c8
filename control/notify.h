/* notify.h: the NOTIFY listener (RFC 1996) of edgedns-control: UDP
 * sockets on the cfg's notify-listen addresses.
 *
 * A NOTIFY (QR 0, opcode NOTIFY, one question of class IN) for a
 * configured zone from a source its notify ACL allows (any one ACL: the
 * source address in one of its prefixes and, when the ACL has a key, the
 * message signed with that key and verified, tsig.h) is answered NOERROR
 * (AA, same ID and question; signed when the request was) and triggers a
 * refresh of the zone now (svc_refresh_zone()). A zone we do not serve
 * gets NOTAUTH, a source the ACLs refuse REFUSED, another opcode NOTIMP,
 * an unparseable query FORMERR (responses and short messages: nothing).
 * More than the zone policy's notify-rate NOTIFYs in one second are
 * dropped unanswered (the primary retries). Main thread only.
 */
#ifndef EDGEDNS_NOTIFY_H
#define EDGEDNS_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "service.h"

struct notify;

/* Bind every svc_cfg(svc)->notify_listen address. NULL with the reason
 * in err (an address that cannot be bound is an error). */
struct notify *notify_new(struct event_base *base, struct svc *svc, char *err, size_t errlen);

/* Close the sockets. NULL: no-op. */
void notify_free(struct notify *n);

/* The decision for one message (the listener's logic without sockets):
 * writes the reply into out (cap octets) and returns its length, 0 for
 * no reply. *zone_out (may be NULL) gets the zone to refresh, or NULL.
 * now: unix seconds (TSIG time, rate limit). */
size_t notify_handle(struct notify *n, const uint8_t *msg, size_t len,
                     const struct sockaddr *src, uint64_t now, uint8_t *out, size_t cap,
                     const struct cfg_zone **zone_out);

#endif
