/* publish.c: zone text + snapshot on disk, then the dataplane's load,
 * confirmed from its own "zones" reply. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "config.h"
#include "error.h"
#include "publish.h"
#include "rrsort.h"
#include "snapshot.h"

#define DPCTL_REPLY_MAX (16u << 20)   /* a "zones" reply of many zones */
#define DPCTL_TIMEOUT_MS 30000u

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static long long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* ---- file names ---------------------------------------------------------- */

/* dir/NAME.suffix for zone, or ED_EINVAL (bad zone name) / ED_ELIMIT. */
static int zone_path(const char *dir, const char *zone, const char *suffix, char *buf,
                     size_t size, char *err, size_t errlen)
{
	char fn[CFG_ZONE_FILENAME_MAX + 1];
	if (cfg_zone_filename(zone, fn, sizeof(fn)) == 0) {
		ed_seterr(err, errlen, "bad zone name '%s'", zone);
		return ED_EINVAL;
	}
	int n = snprintf(buf, size, "%s/%s%s", dir, fn, suffix);
	if (n < 0 || (size_t)n >= size) {
		ed_seterr(err, errlen, "%s/%s%s: path too long", dir, fn, suffix);
		return ED_ELIMIT;
	}
	return 0;
}

/* Canonical presentation form of zone (lowercase, final dot, RFC 1035
 * escapes), malloc()ed; NULL when zone is not a name. */
static char *zone_canon(const char *zone)
{
	ldns_rdf *d = NULL;
	if (zone == NULL || ldns_str2rdf_dname(&d, zone) != LDNS_STATUS_OK)
		return NULL;
	ldns_dname2canonical(d);
	char *s = ldns_rdf2str(d);
	ldns_rdf_deep_free(d);
	return s;
}

static int same_name(const char *a, const char *b)
{
	ldns_rdf *x = NULL, *y = NULL;
	int eq = ldns_str2rdf_dname(&x, a) == LDNS_STATUS_OK &&
	         ldns_str2rdf_dname(&y, b) == LDNS_STATUS_OK && ldns_dname_compare(x, y) == 0;
	ldns_rdf_deep_free(x);
	ldns_rdf_deep_free(y);
	return eq;
}

static void fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

/* ---- zone text ----------------------------------------------------------- */

/* The RRs of a version as publish orders them: v[0] the SOA (the first
 * in rrs), then every other RR in canonical order (rrsort.h); a repeated
 * SOA equal to the first is left out (an AXFR's closing SOA), other SOAs
 * stay, for the compiler to refuse. *v is malloc()ed; *n counts it, SOA
 * included. A list already in that order (publish_order(), an IXFR
 * applied) is only checked, not sorted again. */
static int zone_vector(const ldns_rr_list *rrs, ldns_rr ***vp, size_t *np)
{
	size_t n = ldns_rr_list_rr_count(rrs), k = 1;
	ldns_rr *soa = NULL;
	ldns_rr **v = malloc((n + 1) * sizeof(*v));
	if (v == NULL)
		return ED_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		ldns_rr *rr = ldns_rr_list_rr(rrs, i);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA) {
			if (soa == NULL) {
				soa = rr;
				continue;
			}
			if (ldns_rr_compare(soa, rr) == 0)
				continue;
		}
		v[k++] = rr;
	}
	if (!rrsort_is_sorted(v + 1, k - 1) && rrsort_sort(v + 1, k - 1) != 0) {
		free(v);
		return ED_ENOMEM;
	}
	if (soa != NULL) {
		v[0] = soa;
		*vp = v;
		*np = k;
	} else {
		memmove(v, v + 1, (k - 1) * sizeof(*v));
		*vp = v;
		*np = k - 1;
	}
	return 0;
}

/* The text of v[0..n) into f: "$ORIGIN zone", then one RR a line,
 * absolute names (so line i + 2 holds v[i]). Streamed: no copy of the
 * zone's text in memory. */
static int zone_text(const char *origin, ldns_rr *const *v, size_t n, FILE *f, char *err,
                     size_t errlen)
{
	int rc = 0;
	ldns_buffer *b = ldns_buffer_new(4096);
	if (b == NULL)
		return ED_ENOMEM;
	fprintf(f, "$ORIGIN %s\n", origin);
	for (size_t i = 0; i < n && rc == 0; i++) {
		ldns_buffer_clear(b);
		if (ldns_rr2buffer_str(b, v[i]) != LDNS_STATUS_OK) {
			rc = ED_ENOMEM;
			break;
		}
		const char *s = (const char *)ldns_buffer_begin(b);
		size_t sl = ldns_buffer_position(b);
		while (sl > 0 && (s[sl - 1] == '\n' || s[sl - 1] == ' '))
			sl--;
		if (memchr(s, '\n', sl) != NULL) {
			ed_seterr(err, errlen, "an RR of %s does not fit on one line", origin);
			rc = ED_EFORMAT;
		}
		fwrite(s, 1, sl, f);
		fputc('\n', f);
	}
	ldns_buffer_free(b);
	return rc;
}

int publish_order(ldns_rr_list *rrs)
{
	return rrsort_list(rrs);
}

/* ---- dataplane ------------------------------------------------------------ */

static int wait_fd(int fd, short ev, long long deadline)
{
	for (;;) {
		long long left = deadline - now_ms();
		if (left <= 0)
			return ED_ETIMEOUT;
		struct pollfd p = { .fd = fd, .events = ev };
		int k = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (k > 0)
			return 0;
		if (k < 0 && errno != EINTR)
			return ED_EIO;
	}
}

int dpctl_command(const char *sock, const char *line, unsigned timeout_ms, char **reply,
                  char *err, size_t errlen)
{
	*reply = NULL;
	if (timeout_ms == 0)
		timeout_ms = DPCTL_TIMEOUT_MS;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (sock == NULL || strlen(sock) >= sizeof(sa.sun_path)) {
		ed_seterr(err, errlen, "dataplane socket path missing or too long");
		return ED_EIO;
	}
	if (strchr(line, '\n') != NULL || strlen(line) >= 4096) {
		ed_seterr(err, errlen, "dataplane command too long or holds a newline");
		return ED_EIO;
	}
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	long long deadline = now_ms() + timeout_ms;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ed_seterr(err, errlen, "socket: %s", strerror(errno));
		return ED_EIO;
	}
	int rc = ED_EIO;
	char *buf = NULL;
	/* A unix connect completes at once or fails with EAGAIN when the
	 * backlog is full: retry until the deadline. */
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN) {
			ed_seterr(err, errlen, "dataplane %s: connect: %s", sock, strerror(errno));
			goto out;
		}
		if (now_ms() >= deadline) {
			ed_seterr(err, errlen, "dataplane %s: connect: timed out", sock);
			goto out;
		}
		poll(NULL, 0, 10);
	}
	size_t ll = strlen(line), off = 0;
	char *msg = malloc(ll + 1);
	if (msg == NULL) {
		rc = ED_ENOMEM;
		goto out;
	}
	memcpy(msg, line, ll);
	msg[ll] = '\n';
	while (off < ll + 1) {
		if (wait_fd(fd, POLLOUT, deadline) != 0) {
			free(msg);
			ed_seterr(err, errlen, "dataplane %s: '%s': send timed out", sock, line);
			goto out;
		}
		ssize_t k = send(fd, msg + off, ll + 1 - off, MSG_NOSIGNAL);
		if (k < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k < 0) {
			free(msg);
			ed_seterr(err, errlen, "dataplane %s: send: %s", sock, strerror(errno));
			goto out;
		}
		off += (size_t)k;
	}
	free(msg);
	size_t len = 0, cap = 0;
	for (;;) {
		if (wait_fd(fd, POLLIN, deadline) != 0) {
			ed_seterr(err, errlen, "dataplane %s: no reply to '%s' within %u ms", sock,
			          line, timeout_ms);
			goto out;
		}
		if (cap - len < 4096) {
			if (cap >= DPCTL_REPLY_MAX) {
				ed_seterr(err, errlen, "dataplane %s: reply over %u octets", sock,
				          DPCTL_REPLY_MAX);
				goto out;
			}
			cap = cap ? cap * 2 : 8192;
			char *q = realloc(buf, cap);
			if (q == NULL) {
				rc = ED_ENOMEM;
				goto out;
			}
			buf = q;
		}
		ssize_t k = recv(fd, buf + len, cap - len - 1, 0);
		if (k < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k <= 0) {
			ed_seterr(err, errlen, "dataplane %s: %s before the reply to '%s' ended",
			          sock, k < 0 ? strerror(errno) : "connection closed", line);
			goto out;
		}
		char *nl = memchr(buf + len, '\n', (size_t)k);
		len += (size_t)k;
		if (nl != NULL) {
			*nl = '\0';
			if (nl > buf && nl[-1] == '\r')
				nl[-1] = '\0';
			*reply = buf;
			buf = NULL;
			rc = 0;
			goto out;
		}
	}
out:
	free(buf);
	close(fd);
	return rc;
}

/* Send line, parse the JSON reply; 0 with *obj when it says "ok":true,
 * else ED_EIO with the dataplane's error in err (*obj NULL). */
static int dpctl_json(const struct publish_conf *pc, const char *line, json_t **obj, char *err,
                      size_t errlen)
{
	char *reply = NULL;
	*obj = NULL;
	int rc = dpctl_command(pc->dataplane_socket, line, pc->timeout_ms, &reply, err, errlen);
	if (rc != 0)
		return rc;
	json_error_t je;
	json_t *o = json_loads(reply, 0, &je);
	if (o == NULL || !json_is_object(o)) {
		ed_seterr(err, errlen, "dataplane: '%s': reply is not a JSON object: %.200s", line,
		          reply);
		json_decref(o);
		free(reply);
		return ED_EIO;
	}
	free(reply);
	if (!json_is_true(json_object_get(o, "ok"))) {
		const char *e = json_string_value(json_object_get(o, "error"));
		ed_seterr(err, errlen, "dataplane: '%s': %s", line, e ? e : "failed");
		json_decref(o);
		return ED_EIO;
	}
	*obj = o;
	return 0;
}

/* Load path as zone and confirm the serial from "zones". */
static int dp_load(const struct publish_conf *pc, const char *zone, const char *path,
                   uint32_t serial, char *err, size_t errlen)
{
	if (strpbrk(path, " \t\r\n") != NULL) {
		ed_seterr(err, errlen, "%s: the dataplane takes no file names with blanks", path);
		return ED_EIO;
	}
	size_t ll = strlen(zone) + strlen(path) + 8;
	char *line = malloc(ll);
	if (line == NULL)
		return ED_ENOMEM;
	snprintf(line, ll, "load %s %s", zone, path);
	json_t *o = NULL;
	int rc = dpctl_json(pc, line, &o, err, errlen);
	free(line);
	if (rc != 0)
		return rc;
	json_decref(o);
	if ((rc = dpctl_json(pc, "zones", &o, err, errlen)) != 0)
		return rc;
	json_t *zs = json_object_get(o, "zones"), *z;
	size_t i;
	rc = ED_EIO;
	ed_seterr(err, errlen, "dataplane: %s not in the zones it serves after its load", zone);
	json_array_foreach(zs, i, z) {
		const char *name = json_string_value(json_object_get(z, "zone"));
		json_t *js = json_object_get(z, "serial");
		if (name == NULL || !same_name(name, zone))
			continue;
		if (json_is_integer(js) && json_integer_value(js) == (json_int_t)serial) {
			rc = 0;
			ed_seterr(err, errlen, "%s", "");
		} else {
			ed_seterr(err, errlen, "dataplane: serves %s with serial %lld, not %u", zone,
			          json_is_integer(js) ? (long long)json_integer_value(js) : -1LL,
			          serial);
		}
		break;
	}
	json_decref(o);
	return rc;
}

/* ---- publish ------------------------------------------------------------- */

/* The first error message the compile added to d (from index from). */
static const char *first_error(const struct compile_diag *d, unsigned from)
{
	for (unsigned i = from; i < d->nmsgs; i++)
		if (d->msgs[i].sev == COMPILE_ERROR)
			return d->msgs[i].text;
	return NULL;
}

/* Write the text of v[0..n) to NAME.zone: a temporary name, fsync,
 * rename, fsync of the directory. */
static int write_text(const struct publish_conf *pc, const char *origin, ldns_rr *const *v,
                      size_t n, const char *tmp, const char *path, char *err, size_t errlen)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (f == NULL) {
		ed_seterr(err, errlen, "%s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		return ED_EIO;
	}
	setvbuf(f, NULL, _IOFBF, 1u << 20);
	int rc = zone_text(origin, v, n, f, err, errlen);
	if (rc == 0 && (fflush(f) != 0 || ferror(f) || fsync(fd) != 0)) {
		ed_seterr(err, errlen, "%s: %s", tmp, strerror(errno));
		rc = ED_EIO;
	}
	if (fclose(f) != 0 && rc == 0) {
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
	fsync_dir(pc->snapshot_dir);
	return 0;
}

int publish_zone(const struct publish_conf *pc, const char *zone, const ldns_rr_list *rrs,
                 struct publish_result *res, struct compile_diag *diag, char *err,
                 size_t errlen)
{
	struct publish_result local;
	if (res == NULL)
		res = &local;
	memset(res, 0, sizeof(*res));
	ed_seterr(err, errlen, "%s", "");
	if (pc == NULL || pc->snapshot_dir == NULL || rrs == NULL) {
		ed_seterr(err, errlen, "publish: missing argument");
		return ED_EINVAL;
	}
	char tmp[PATH_MAX];
	int rc;
	if ((rc = zone_path(pc->snapshot_dir, zone, ".snap", res->snapshot, sizeof(res->snapshot),
	                    err, errlen)) != 0 ||
	    (rc = zone_path(pc->snapshot_dir, zone, ".zone", res->zonefile, sizeof(res->zonefile),
	                    err, errlen)) != 0 ||
	    (rc = zone_path(pc->snapshot_dir, zone, ".zone.tmp", tmp, sizeof(tmp), err,
	                    errlen)) != 0)
		return rc;
	char *origin = zone_canon(zone);
	if (origin == NULL)
		return ED_ENOMEM;

	double t0 = now_s();
	ldns_rr **v = NULL;
	size_t n = 0;
	struct snapw *w = NULL;
	struct compile_result cres;
	struct compile_diag ldiag;
	compile_diag_init(&ldiag);
	ldiag.quiet = 1;
	struct compile_diag *d = diag ? diag : &ldiag;
	unsigned from = d->nmsgs;

	if ((rc = zone_vector(rrs, &v, &n)) != 0)
		goto out;
	res->rrs = n;
	/* Compiled from the RRs themselves, reported at the lines the text
	 * of this version has (line 1 is $ORIGIN). */
	const char *base = strrchr(res->zonefile, '/') + 1;
	struct compile_opts opts = { .origin = origin, .flags = COMPILE_NOINCLUDE };
	memset(&cres, 0, sizeof(cres));
	rc = compile_zone_rrs(v, n, base, 2, &opts, &w, &cres, d);
	if (rc != 0) {
		const char *m = first_error(d, from);
		ed_seterr(err, errlen, "%s: refused by the compiler: %s", origin,
		          m ? m : ed_strerror(rc));
		if (rc != ED_ENOMEM)
			rc = ED_EFORMAT;
		goto out;
	}
	res->serial = cres.serial;
	res->rrs = cres.rrs;
	char werr[512] = "";
	struct snapw_stats wst;
	memset(&wst, 0, sizeof(wst));
	rc = snapw_write(w, res->snapshot, &wst, werr, sizeof(werr));
	res->checksum = wst.checksum;
	snapw_free(w);
	w = NULL;
	if (rc != 0) {
		ed_seterr(err, errlen, "%s: %s", res->snapshot,
		          compile_writer_msg(werr, res->snapshot, rc));
		if (rc == ED_EZONE || rc == ED_ELIMIT || rc == ED_EINVAL)
			rc = ED_EFORMAT;
		else if (rc != ED_ENOMEM)
			rc = ED_EIO;
		goto out;
	}
	res->compile_s = now_s() - t0;

	if (pc->dataplane_socket != NULL) {
		double t1 = now_s();
		char abs[PATH_MAX];
		if (realpath(res->snapshot, abs) == NULL) {
			ed_seterr(err, errlen, "%s: %s", res->snapshot, strerror(errno));
			rc = ED_EIO;
		} else {
			rc = dp_load(pc, origin, abs, res->serial, err, errlen);
			if (rc == ED_ETIMEOUT)
				rc = ED_EIO;
		}
		res->load_s = now_s() - t1;
	}
	/* The text last, off the path to the answer: until it is renamed
	 * into place NAME.zone holds the previous version, and at a start
	 * publish_snapshot_serial() tells them apart (the zone service then
	 * publishes again). Written whatever the dataplane said: the files
	 * must agree, they are what the next start serves. */
	double t2 = now_s();
	char terr[512] = "";
	int trc = write_text(pc, origin, v, n, tmp, res->zonefile, terr, sizeof(terr));
	res->text_s = now_s() - t2;
	if (trc != 0 && rc == 0) {
		ed_seterr(err, errlen, "%s", terr);
		rc = trc == ED_ENOMEM ? ED_ENOMEM : ED_EIO;
	}
out:
	snapw_free(w);
	compile_diag_free(&ldiag);
	free(v);
	free(origin);
	return rc;
}

int publish_snapshot_serial(const struct publish_conf *pc, const char *zone, uint32_t *serial,
                            char *err, size_t errlen)
{
	return publish_snapshot_ident(pc, zone, serial, NULL, err, errlen);
}

int publish_snapshot_ident(const struct publish_conf *pc, const char *zone, uint32_t *serial,
                           uint64_t *checksum, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int rc = zone_path(pc->snapshot_dir, zone, ".snap", path, sizeof(path), err, errlen);
	if (rc != 0)
		return rc;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		ed_seterr(err, errlen, "%s: %s", path, strerror(e));
		return e == ENOENT ? ED_ENOENT : ED_EIO;
	}
	struct snap_header h;
	ssize_t k = pread(fd, &h, sizeof(h), 0);
	close(fd);
	if (k != (ssize_t)sizeof(h) || memcmp(h.magic, SNAP_MAGIC, 8) != 0 ||
	    h.version != SNAP_VERSION) {
		ed_seterr(err, errlen, "%s: not a snapshot of this version", path);
		return ED_EFORMAT;
	}
	*serial = h.serial;
	if (checksum != NULL)
		*checksum = h.checksum;
	return 0;
}

int publish_load_last(const struct publish_conf *pc, const char *zone, ldns_rr_list **rrs,
                      uint32_t *serial, char *err, size_t errlen)
{
	*rrs = NULL;
	char path[PATH_MAX];
	int rc = zone_path(pc->snapshot_dir, zone, ".zone", path, sizeof(path), err, errlen);
	if (rc != 0)
		return rc;
	FILE *f = fopen(path, "re");
	if (f == NULL) {
		int e = errno;
		ed_seterr(err, errlen, "%s: %s", path, strerror(e));
		return e == ENOENT ? ED_ENOENT : ED_EIO;
	}
	ldns_rdf *origin = NULL;
	if (ldns_str2rdf_dname(&origin, zone) != LDNS_STATUS_OK) {
		fclose(f);
		ed_seterr(err, errlen, "bad zone name '%s'", zone);
		return ED_EINVAL;
	}
	ldns_zone *z = NULL;
	int line = 0;
	ldns_status st = ldns_zone_new_frm_fp_l(&z, f, origin, 3600, LDNS_RR_CLASS_IN, &line);
	fclose(f);
	ldns_rdf_deep_free(origin);
	if (st != LDNS_STATUS_OK) {
		ed_seterr(err, errlen, "%s:%d: %s", path, line, ldns_get_errorstr_by_id(st));
		return ED_EFORMAT;
	}
	ldns_rr *soa = ldns_zone_soa(z);
	if (soa == NULL || ldns_rr_rd_count(soa) < 3) {
		ldns_zone_deep_free(z);
		ed_seterr(err, errlen, "%s: no SOA", path);
		return ED_EFORMAT;
	}
	*serial = ldns_rdf2native_int32(ldns_rr_rdf(soa, 2));
	ldns_rr_list *l = ldns_rr_list_new();
	ldns_rr *soac = ldns_rr_clone(soa);
	int had = ldns_zone_rrs(z) != NULL;
	ldns_rr_list *rest = had ? ldns_rr_list_clone(ldns_zone_rrs(z)) : NULL;
	ldns_zone_deep_free(z);
	if (l == NULL || soac == NULL || (had && rest == NULL) ||
	    !ldns_rr_list_push_rr(l, soac) || (rest && !ldns_rr_list_cat(l, rest))) {
		if (l == NULL || ldns_rr_list_rr_count(l) == 0)
			ldns_rr_free(soac);
		ldns_rr_list_deep_free(l);
		ldns_rr_list_deep_free(rest);
		return ED_ENOMEM;
	}
	ldns_rr_list_free(rest);     /* its RRs now belong to l */
	*rrs = l;
	return 0;
}

int publish_remove(const struct publish_conf *pc, const char *zone, char *err, size_t errlen)
{
	char snap[PATH_MAX], text[PATH_MAX], tmp[PATH_MAX];
	int rc;
	if ((rc = zone_path(pc->snapshot_dir, zone, ".snap", snap, sizeof(snap), err, errlen)) ||
	    (rc = zone_path(pc->snapshot_dir, zone, ".zone", text, sizeof(text), err, errlen)) ||
	    (rc = zone_path(pc->snapshot_dir, zone, ".zone.tmp", tmp, sizeof(tmp), err, errlen)))
		return rc;
	int found = 0;
	if (pc->dataplane_socket != NULL) {
		char *origin = zone_canon(zone);
		if (origin == NULL)
			return ED_ENOMEM;
		size_t ll = strlen(origin) + 8;
		char *line = malloc(ll);
		if (line == NULL) {
			free(origin);
			return ED_ENOMEM;
		}
		snprintf(line, ll, "drop %s", origin);
		json_t *o = NULL;
		char derr[1024] = "";
		rc = dpctl_json(pc, line, &o, derr, sizeof(derr));
		free(line);
		free(origin);
		json_decref(o);
		if (rc == 0) {
			found = 1;
		} else if (strstr(derr, "not served") == NULL) {
			ed_seterr(err, errlen, "%s", derr);
			return rc == ED_ETIMEOUT ? ED_EIO : rc;
		}
	}
	const char *paths[3] = { snap, text, tmp };
	for (int i = 0; i < 3; i++) {
		if (unlink(paths[i]) == 0) {
			found |= i < 2;
		} else if (errno != ENOENT) {
			ed_seterr(err, errlen, "%s: %s", paths[i], strerror(errno));
			return ED_EIO;
		}
	}
	fsync_dir(pc->snapshot_dir);
	if (!found) {
		ed_seterr(err, errlen, "%s: not published", zone);
		return ED_ENOENT;
	}
	ed_seterr(err, errlen, "%s", "");
	return 0;
}
