/* zonestate.c: the zone service's per-zone memory, one JSON file each. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "config.h"
#include "error.h"
#include "zonestate.h"

#define ZONESTATE_MAX 65536   /* a state file is a few hundred octets */
#define ZONESTATE_VERSION 1

static int state_path(const char *dir, const char *zone, const char *suffix, char *buf,
                      size_t size, char *err, size_t errlen)
{
	char fn[CFG_ZONE_FILENAME_MAX + 1];
	if (dir == NULL || zone == NULL || cfg_zone_filename(zone, fn, sizeof(fn)) == 0) {
		ed_seterr(err, errlen, "bad zone name '%s'", zone ? zone : "(null)");
		return ED_EINVAL;
	}
	int n = snprintf(buf, size, "%s/%s.state%s", dir, fn, suffix);
	if (n < 0 || (size_t)n >= size) {
		ed_seterr(err, errlen, "%s/%s.state: path too long", dir, fn);
		return ED_ELIMIT;
	}
	return 0;
}

/* ---- load ---------------------------------------------------------------- */

static int get_str(json_t *o, const char *key, char *out, size_t size, int required,
                   const char *path, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);
	if (v == NULL && !required) {
		out[0] = '\0';
		return 0;
	}
	if (!json_is_string(v) || json_string_length(v) >= size ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		ed_seterr(err, errlen, "%s: \"%s\" is not a string of at most %zu octets", path,
		          key, size - 1);
		return ED_EFORMAT;
	}
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

static int get_int(json_t *o, const char *key, json_int_t lo, json_int_t hi, json_int_t *out,
                   const char *path, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);
	*out = 0;
	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
		ed_seterr(err, errlen, "%s: \"%s\" is not an integer in [%lld, %lld]", path, key,
		          (long long)lo, (long long)hi);
		return ED_EFORMAT;
	}
	*out = json_integer_value(v);
	return 0;
}

static const char *const known_keys[] = {
	"version", "zone", "serial", "last_refresh", "last_transfer", "next_refresh",
	"expire_at", "primary", "last_error", "transfers", "refused", "failures", NULL
};

static int parse_state(json_t *o, const char *path, const char *zone, struct zone_state *st,
                       char *err, size_t errlen)
{
	if (!json_is_object(o)) {
		ed_seterr(err, errlen, "%s: not a JSON object", path);
		return ED_EFORMAT;
	}
	const char *key;
	json_t *val;
	json_object_foreach(o, key, val) {
		int known = 0;
		for (unsigned i = 0; known_keys[i] != NULL; i++)
			known |= strcmp(key, known_keys[i]) == 0;
		if (!known) {
			ed_seterr(err, errlen, "%s: unknown key \"%s\"", path, key);
			return ED_EFORMAT;
		}
	}
	json_int_t v;
	int rc;
	if ((rc = get_int(o, "version", 1, ZONESTATE_VERSION, &v, path, err, errlen)) != 0)
		return rc;
	if (v != ZONESTATE_VERSION) {
		ed_seterr(err, errlen, "%s: \"version\" missing", path);
		return ED_EFORMAT;
	}
	if ((rc = get_str(o, "zone", st->zone, sizeof(st->zone), 1, path, err, errlen)) != 0 ||
	    (rc = get_str(o, "primary", st->primary, sizeof(st->primary), 0, path, err,
	                  errlen)) != 0 ||
	    (rc = get_str(o, "last_error", st->last_error, sizeof(st->last_error), 0, path, err,
	                  errlen)) != 0)
		return rc;
	/* The file must be the one of this zone (cfg_zone_filename() is
	 * one-to-one, so only a file copied by hand fails here). */
	char a[CFG_ZONE_FILENAME_MAX + 1], b[CFG_ZONE_FILENAME_MAX + 1];
	if (cfg_zone_filename(st->zone, a, sizeof(a)) == 0 ||
	    cfg_zone_filename(zone, b, sizeof(b)) == 0 || strcmp(a, b) != 0) {
		ed_seterr(err, errlen, "%s: holds zone \"%s\", not %s", path, st->zone, zone);
		return ED_EFORMAT;
	}
	json_t *js = json_object_get(o, "serial");
	if (js == NULL || json_is_null(js)) {
		st->has_serial = 0;
		st->serial = 0;
	} else {
		if ((rc = get_int(o, "serial", 0, UINT32_MAX, &v, path, err, errlen)) != 0)
			return rc;
		st->has_serial = 1;
		st->serial = (uint32_t)v;
	}
	static const struct {
		const char *key;
		size_t off;
	} times[] = {
		{ "last_refresh", offsetof(struct zone_state, last_refresh) },
		{ "last_transfer", offsetof(struct zone_state, last_transfer) },
		{ "next_refresh", offsetof(struct zone_state, next_refresh) },
		{ "expire_at", offsetof(struct zone_state, expire_at) },
	}, counts[] = {
		{ "transfers", offsetof(struct zone_state, transfers) },
		{ "refused", offsetof(struct zone_state, refused) },
		{ "failures", offsetof(struct zone_state, failures) },
	};
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		if ((rc = get_int(o, times[i].key, 0, (json_int_t)INT64_MAX, &v, path, err,
		                  errlen)) != 0)
			return rc;
		*(time_t *)((char *)st + times[i].off) = (time_t)v;
	}
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		if ((rc = get_int(o, counts[i].key, 0, (json_int_t)INT64_MAX, &v, path, err,
		                  errlen)) != 0)
			return rc;
		*(uint64_t *)((char *)st + counts[i].off) = (uint64_t)v;
	}
	return 0;
}

int zonestate_load(const char *dir, const char *zone, struct zone_state *st, char *err,
                   size_t errlen)
{
	char path[PATH_MAX];
	int rc = state_path(dir, zone, "", path, sizeof(path), err, errlen);
	if (rc != 0)
		return rc;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		int e = errno;
		ed_seterr(err, errlen, "%s: %s", path, strerror(e));
		return e == ENOENT ? ED_ENOENT : ED_EIO;
	}
	char *buf = malloc(ZONESTATE_MAX + 1);
	if (buf == NULL) {
		close(fd);
		return ED_ENOMEM;
	}
	size_t len = 0;
	for (;;) {
		ssize_t k = read(fd, buf + len, ZONESTATE_MAX + 1 - len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			ed_seterr(err, errlen, "%s: %s", path, strerror(errno));
			close(fd);
			free(buf);
			return ED_EIO;
		}
		if (k == 0 || (len += (size_t)k) > ZONESTATE_MAX)
			break;
	}
	close(fd);
	if (len > ZONESTATE_MAX) {
		free(buf);
		ed_seterr(err, errlen, "%s: over %u octets", path, ZONESTATE_MAX);
		return ED_EFORMAT;
	}
	json_error_t je;
	json_t *o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	free(buf);
	if (o == NULL) {
		ed_seterr(err, errlen, "%s:%d: %s", path, je.line, je.text);
		return ED_EFORMAT;
	}
	struct zone_state tmp;
	memset(&tmp, 0, sizeof(tmp));
	rc = parse_state(o, path, zone, &tmp, err, errlen);
	json_decref(o);
	if (rc == 0)
		*st = tmp;
	return rc;
}

/* ---- save ---------------------------------------------------------------- */

static json_t *state_json(const struct zone_state *st)
{
	json_t *o = json_object();
	if (o == NULL)
		return NULL;
	int bad = 0;
	bad |= json_object_set_new(o, "version", json_integer(ZONESTATE_VERSION));
	bad |= json_object_set_new(o, "zone", json_string(st->zone));
	bad |= json_object_set_new(o, "serial",
	                           st->has_serial ? json_integer(st->serial) : json_null());
	bad |= json_object_set_new(o, "last_refresh", json_integer(st->last_refresh));
	bad |= json_object_set_new(o, "last_transfer", json_integer(st->last_transfer));
	bad |= json_object_set_new(o, "next_refresh", json_integer(st->next_refresh));
	bad |= json_object_set_new(o, "expire_at", json_integer(st->expire_at));
	bad |= json_object_set_new(o, "primary", json_string(st->primary));
	bad |= json_object_set_new(o, "last_error", json_string(st->last_error));
	bad |= json_object_set_new(o, "transfers", json_integer((json_int_t)st->transfers));
	bad |= json_object_set_new(o, "refused", json_integer((json_int_t)st->refused));
	bad |= json_object_set_new(o, "failures", json_integer((json_int_t)st->failures));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int zonestate_save(const char *dir, const struct zone_state *st, char *err, size_t errlen)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	int rc;
	if (st == NULL || memchr(st->zone, '\0', sizeof(st->zone)) == NULL ||
	    memchr(st->primary, '\0', sizeof(st->primary)) == NULL ||
	    memchr(st->last_error, '\0', sizeof(st->last_error)) == NULL) {
		ed_seterr(err, errlen, "zonestate: unterminated string");
		return ED_EINVAL;
	}
	if ((rc = state_path(dir, st->zone, "", path, sizeof(path), err, errlen)) != 0 ||
	    (rc = state_path(dir, st->zone, ".tmp", tmp, sizeof(tmp), err, errlen)) != 0)
		return rc;
	if (st->last_refresh < 0 || st->last_transfer < 0 || st->next_refresh < 0 ||
	    st->expire_at < 0 || st->transfers > INT64_MAX || st->refused > INT64_MAX ||
	    st->failures > INT64_MAX) {
		ed_seterr(err, errlen, "%s: a time or counter out of range", path);
		return ED_EINVAL;
	}
	json_t *o = state_json(st);
	/* A string that is not UTF-8 makes json_string() fail: refused too. */
	char *text = o ? json_dumps(o, JSON_INDENT(1) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	if (text == NULL) {
		ed_seterr(err, errlen, "%s: cannot encode (a string not UTF-8?)", path);
		return ED_EINVAL;
	}
	size_t len = strlen(text);
	text[len] = '\0';
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		ed_seterr(err, errlen, "%s: %s", tmp, strerror(errno));
		free(text);
		return ED_EIO;
	}
	size_t off = 0;
	rc = 0;
	while (off < len && rc == 0) {
		ssize_t k = write(fd, text + off, len - off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			ed_seterr(err, errlen, "%s: %s", tmp, k < 0 ? strerror(errno) : "short write");
			rc = ED_EIO;
		} else {
			off += (size_t)k;
		}
	}
	free(text);
	if (rc == 0 && (write(fd, "\n", 1) != 1 || fsync(fd) != 0)) {
		ed_seterr(err, errlen, "%s: %s", tmp, strerror(errno));
		rc = ED_EIO;
	}
	if (close(fd) != 0 && rc == 0) {
		ed_seterr(err, errlen, "%s: close: %s", tmp, strerror(errno));
		rc = ED_EIO;
	}
	if (rc == 0 && rename(tmp, path) != 0) {
		ed_seterr(err, errlen, "%s: rename: %s", path, strerror(errno));
		rc = ED_EIO;
	}
	if (rc != 0) {
		unlink(tmp);
		return rc;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
}

int zonestate_remove(const char *dir, const char *zone, char *err, size_t errlen)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	int rc;
	if ((rc = state_path(dir, zone, "", path, sizeof(path), err, errlen)) != 0 ||
	    (rc = state_path(dir, zone, ".tmp", tmp, sizeof(tmp), err, errlen)) != 0)
		return rc;
	(void)unlink(tmp);
	if (unlink(path) != 0) {
		int e = errno;
		ed_seterr(err, errlen, "%s: %s", path, strerror(e));
		return e == ENOENT ? ED_ENOENT : ED_EIO;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
}
