/* ctllog.h: the log of edgedns-control: syslog or stderr (cfg log), one
 * line per event, the zone name first in every line about a zone.
 * Any thread (syslog and stdio lock for themselves). */
#ifndef EDGEDNS_CTLLOG_H
#define EDGEDNS_CTLLOG_H

#include <syslog.h>

#include "config.h"

/* Where lines go from now on; ident names the program. */
void ctllog_open(enum cfg_log where, const char *ident);

/* prio: LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG. zone NULL:
 * a line about the daemon. */
void ctllog(int prio, const char *zone, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
