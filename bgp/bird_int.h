/* bird_int.h: the parts of the BIRD client shared by bird.c (connection,
 * replies) and bird_show.c (the table parsers). Not for other modules. */
#ifndef EDGEDNS_BIRD_INT_H
#define EDGEDNS_BIRD_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "bird.h"

/* Read one reply (the greeting or a command's) into *r until deadline
 * (CLOCK_MONOTONIC ms). The returns of bird_command(); on an error other
 * than ED_ERCODE the connection is closed. */
int bird_read_reply(bird_conn_t *c, struct bird_reply *r, int64_t deadline, char *err,
                    size_t errlen);

/* Whether s can go between BIRD's double quotes (a path, a pattern):
 * printable, no '"', no '\', not empty, not too long. */
bool bird_quotable(const char *s);

#endif
