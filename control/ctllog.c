/* ctllog.c: syslog or stderr lines for edgedns-control. */
#include "ctllog.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static enum cfg_log log_where = CFG_LOG_STDERR;
static const char *log_ident = "edgedns-control";

void ctllog_open(enum cfg_log where, const char *ident)
{
	log_where = where;
	if (ident != NULL)
		log_ident = ident;
	if (where == CFG_LOG_SYSLOG)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

static const char *prio_name(int prio)
{
	switch (prio) {
	case LOG_ERR: return "error";
	case LOG_WARNING: return "warning";
	case LOG_NOTICE: return "notice";
	case LOG_INFO: return "info";
	default: return "debug";
	}
}

void ctllog(int prio, const char *zone, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (log_where == CFG_LOG_SYSLOG) {
		if (zone != NULL)
			syslog(prio, "zone %s: %s", zone, msg);
		else
			syslog(prio, "%s", msg);
		return;
	}
	struct timespec ts;
	struct tm tm;
	char tbuf[32];
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%S", &tm);
	if (zone != NULL)
		fprintf(stderr, "%s.%03ldZ %s: %s: zone %s: %s\n", tbuf, ts.tv_nsec / 1000000,
		        log_ident, prio_name(prio), zone, msg);
	else
		fprintf(stderr, "%s.%03ldZ %s: %s: %s\n", tbuf, ts.tv_nsec / 1000000, log_ident,
		        prio_name(prio), msg);
}
