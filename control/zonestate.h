/* zonestate.h: what the zone service remembers of each zone across
 * restarts, one small JSON file per zone in the state directory (written
 * to a temporary name, fsynced, renamed, directory fsynced).
 *
 * Times are unix seconds (wall clock), so that timers continue across a
 * reboot: a zone whose expire_at passed while the appliance was off is not
 * served when it comes back.
 */
#ifndef EDGEDNS_ZONESTATE_H
#define EDGEDNS_ZONESTATE_H

#include <stdint.h>
#include <time.h>

struct zone_state {
	char zone[256];          /* presentation form, canonical */
	uint32_t serial;         /* of the version served (0 with has_serial 0) */
	int has_serial;
	time_t last_refresh;     /* last successful SOA check or transfer */
	time_t last_transfer;    /* last transfer that went live */
	time_t next_refresh;     /* when the next SOA check is due */
	time_t expire_at;        /* last_refresh + SOA (or EDNS) EXPIRE */
	char primary[96];        /* "ADDR@PORT" of the primary last used */
	char last_error[512];    /* "" when the last attempt succeeded */
	uint64_t transfers;      /* versions that went live */
	uint64_t refused;        /* versions the gate refused */
	uint64_t failures;       /* refresh or transfer attempts that failed */
};

/* Read zone's state from dir (file cfg_zone_filename() + ".state") into
 * *st. ED_ENOENT when there is none yet, ED_EFORMAT (message with the file
 * name) when the file is not ours: not JSON, an unknown key, a wrong type
 * or range, another zone's name. ED_EINVAL: zone is not a domain name.
 * *st is changed only on success. */
int zonestate_load(const char *dir, const char *zone, struct zone_state *st, char *err,
                   size_t errlen);

/* Write st (st->zone names it) atomically: NAME.state.tmp, fsync,
 * rename, directory fsync; a leftover .tmp (crash) is ignored by
 * zonestate_load() and replaced by the next save. ED_EINVAL for strings
 * that are not UTF-8 or negative times. Not concurrently for one zone. */
int zonestate_save(const char *dir, const struct zone_state *st, char *err, size_t errlen);

/* Remove zone's state file. ED_ENOENT when there was none. */
int zonestate_remove(const char *dir, const char *zone, char *err, size_t errlen);

#endif
