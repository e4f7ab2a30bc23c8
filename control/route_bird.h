/* route_bird.h: the routes of the anycast services through BIRD 2 (bgp/):
 * the health checks' route operations (health.h) on top of bgp/anycast.h,
 * and the BIRD configuration generated from the bgp and service sections
 * (config.h) with bgp/birdconf.h.
 *
 * Control-plane only: blocking calls bounded by the BIRD client's timeout;
 * one route_bird per thread (the health thread).
 */
#ifndef EDGEDNS_ROUTE_BIRD_H
#define EDGEDNS_ROUTE_BIRD_H

#include <stddef.h>

#include "config.h"
#include "health.h"

struct route_bird;

/* For cfg's services and cfg->bgp.socket; connects on first use. NULL
 * with err when out of memory. */
struct route_bird *route_bird_new(const struct cfg *cfg, char *err, size_t errlen);
void route_bird_free(struct route_bird *rb);

/* Fill ops: apply = anycast_assert(), query = anycast_state() (a service
 * whose four protocols are half-way answers ED_EBUSY: apply it again),
 * sessions = bird_show_bgp(). */
void route_bird_ops(struct route_bird *rb, struct health_route_ops *ops);

/* The bird.conf of cfg into *out (malloc()ed). 0, ED_EINVAL, ED_ENOMEM. */
int route_bird_render(const struct cfg *cfg, char **out, size_t *outlen, char *err,
                      size_t errlen);

/* Write it to cfg->bgp.config_file when its content differs (temporary
 * file, fsync, rename); *changed says whether it did. Unchanged: no write,
 * so a restart of control never makes BIRD reconfigure (which would
 * disable every announcing protocol). 0, ED_EIO, ED_EINVAL, ED_ENOMEM. */
int route_bird_write_config(const struct cfg *cfg, int *changed, char *err, size_t errlen);

/* Ask the BIRD at cfg->bgp.socket to load cfg->bgp.config_file, keeping
 * what it announces: the services announced or draining before are set so
 * again once `configure status` says done (at most 10 s); a configure
 * alone would disable them (the file has them disabled). Before the
 * health thread starts. */
int route_bird_configure(struct route_bird *rb, char *err, size_t errlen);

#endif
