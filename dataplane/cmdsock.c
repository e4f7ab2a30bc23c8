/* cmdsock.c: command socket thread, command table and JSON replies. */
#include "cmdsock.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon.h"
#include "dname.h"
#include "error.h"

/* ---- JSON text ------------------------------------------------------- */

struct jbuf {
	char *p;
	size_t len, cap;
	int oom;
};

static void jb_grow(struct jbuf *b, size_t add)
{
	if (b->oom || b->len + add + 1 <= b->cap)
		return;
	size_t nc = b->cap ? b->cap : 256;
	while (nc < b->len + add + 1)
		nc *= 2;
	char *np = realloc(b->p, nc);
	if (np == NULL) {
		b->oom = 1;
		return;
	}
	b->p = np;
	b->cap = nc;
}

static void jb_raw(struct jbuf *b, const char *s, size_t n)
{
	jb_grow(b, n);
	if (b->oom)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

#define JB_LIT(b, lit) jb_raw((b), (lit), sizeof(lit) - 1)

static void jb_fmt(struct jbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void jb_fmt(struct jbuf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(tmp)) {
		jb_raw(b, tmp, (size_t)n);
		return;
	}
	jb_grow(b, (size_t)n);
	if (b->oom)
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* The JSON form of octet c inside a string, into e (8 octets): '"', '\\'
 * and control octets escaped; other octets pass as they are (names and
 * paths are not guaranteed UTF-8; the zone presentation form escapes
 * non-printable octets already). Returns its length. */
static size_t json_esc(unsigned char c, char *e)
{
	if (c == '"' || c == '\\') {
		e[0] = '\\';
		e[1] = (char)c;
		return 2;
	}
	if (c == '\n' || c == '\t' || c == '\r') {
		e[0] = '\\';
		e[1] = c == '\n' ? 'n' : c == '\t' ? 't' : 'r';
		return 2;
	}
	if (c < 0x20 || c == 0x7f)
		return (size_t)snprintf(e, 8, "\\u%04x", c);
	e[0] = (char)c;
	return 1;
}

/* A JSON string: quotes and escapes (json_esc). */
static void jb_str(struct jbuf *b, const char *s)
{
	char e[8];
	JB_LIT(b, "\"");
	for (; *s != '\0'; s++)
		jb_raw(b, e, json_esc((unsigned char)*s, e));
	JB_LIT(b, "\"");
}

void cmdsock_json_str(FILE *f, const char *s)
{
	char e[8];
	fputc('"', f);
	for (; *s != '\0'; s++)
		fwrite(e, 1, json_esc((unsigned char)*s, e), f);
	fputc('"', f);
}

static void jb_error(struct jbuf *b, const char *msg)
{
	JB_LIT(b, "{\"ok\":false,\"error\":");
	jb_str(b, msg);
	JB_LIT(b, "}");
}

/* ---- commands ---------------------------------------------------------- */

#define MAXWORDS 12

static unsigned split(char *line, char **w)
{
	unsigned n = 0;
	char *save = NULL;
	for (char *t = strtok_r(line, " \t", &save); t != NULL && n < MAXWORDS;
	     t = strtok_r(NULL, " \t", &save))
		w[n++] = t;
	return n;
}

static void cmd_ping(const struct cmdsock_conf *c, struct jbuf *b)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long long up = (long long)(now.tv_sec - c->started.tv_sec);
	jb_fmt(b, "{\"ok\":true,\"pid\":%ld,\"uptime\":%lld,\"version\":\"%s\"}",
	       (long)getpid(), up, EDGEDNS_VERSION);
}

static void cmd_load(const struct cmdsock_conf *c, struct jbuf *b, char **w,
                     unsigned n)
{
	if (n != 2 && n != 3) {
		jb_error(b, "usage: load <zone> <file>");
		return;
	}
	const char *zone = n == 3 ? w[1] : NULL;
	const char *file = n == 3 ? w[2] : w[1];
	char err[1024] = "";
	struct zonedb_info *zi = malloc(sizeof(*zi));
	if (zi == NULL) {
		jb_error(b, "out of memory");
		return;
	}
	int rc = zonedb_load(c->db, zone, file, zi, err, sizeof(err));
	if (rc != ED_OK) {
		jb_error(b, err[0] ? err : ed_strerror(rc));
	} else {
		JB_LIT(b, "{\"ok\":true,\"zone\":");
		jb_str(b, zi->apex);
		jb_fmt(b, ",\"serial\":%u}", zi->serial);
	}
	free(zi);
}

static void cmd_drop(const struct cmdsock_conf *c, struct jbuf *b, char **w,
                     unsigned n)
{
	if (n != 2) {
		jb_error(b, "usage: drop <zone>");
		return;
	}
	char err[1024] = "";
	int rc = zonedb_drop(c->db, w[1], err, sizeof(err));
	if (rc != ED_OK) {
		jb_error(b, err[0] ? err : ed_strerror(rc));
		return;
	}
	/* The name as the other replies write it: lowercase, final dot. */
	uint8_t wire[DNAME_MAXLEN];
	char name[1024];
	size_t wl = dname_from_str(w[1], wire);
	dname_lower(wire, wire, wl);
	dname_to_str(wire, name, sizeof(name));
	JB_LIT(b, "{\"ok\":true,\"zone\":");
	jb_str(b, name);
	JB_LIT(b, "}");
}

static void cmd_expire(const struct cmdsock_conf *c, struct jbuf *b, char **w,
                       unsigned n, int expired)
{
	if (n != 2) {
		jb_error(b, expired ? "usage: expire <zone>" : "usage: unexpire <zone>");
		return;
	}
	char err[1024] = "";
	struct zonedb_info *zi = malloc(sizeof(*zi));
	if (zi == NULL) {
		jb_error(b, "out of memory");
		return;
	}
	int rc = zonedb_expire(c->db, w[1], expired, zi, err, sizeof(err));
	if (rc != ED_OK) {
		jb_error(b, err[0] ? err : ed_strerror(rc));
	} else {
		JB_LIT(b, "{\"ok\":true,\"zone\":");
		jb_str(b, zi->apex);
		jb_fmt(b, ",\"expired\":%s}", zi->expired ? "true" : "false");
	}
	free(zi);
}

struct zones_ctx {
	struct jbuf *b;
	unsigned n;
};

static void zone_item(void *arg, const struct zonedb_info *zi)
{
	struct zones_ctx *z = arg;
	if (z->n++ > 0)
		JB_LIT(z->b, ",");
	JB_LIT(z->b, "{\"zone\":");
	jb_str(z->b, zi->apex);
	jb_fmt(z->b, ",\"serial\":%u,\"file\":", zi->serial);
	jb_str(z->b, zi->path);
	jb_fmt(z->b, ",\"loaded\":%lld,\"size\":%llu,\"expired\":%s}", (long long)zi->loaded,
	       (unsigned long long)zi->file_size, zi->expired ? "true" : "false");
}

static void cmd_zones(const struct cmdsock_conf *c, struct jbuf *b)
{
	struct zones_ctx z = { b, 0 };
	JB_LIT(b, "{\"ok\":true,\"zones\":[");
	zonedb_foreach(c->db, zone_item, &z);
	JB_LIT(b, "]}");
}

static const char *const rcode_names[16] = {
	"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
	"YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE", "RCODE11",
	"RCODE12", "RCODE13", "RCODE14", "RCODE15",
};

const char *cmdsock_rcode_name(unsigned rcode)
{
	return rcode_names[rcode & 15];
}

static void noop_zone(void *arg, const struct zonedb_info *zi)
{
	(void)arg;
	(void)zi;
}

void dp_counters_add(struct dp_counters *out, const struct dp_counters *c)
{
	uint64_t *o = (uint64_t *)out;
	const uint64_t *s = (const uint64_t *)c;
	for (size_t i = 0; i < sizeof(*c) / sizeof(uint64_t); i++)
		o[i] += __atomic_load_n(&s[i], __ATOMIC_RELAXED);
}

static void cmd_stats(const struct cmdsock_conf *c, struct jbuf *b)
{
	struct dp_counters k;
	memset(&k, 0, sizeof(k));
	if (c->counters != NULL)
		c->counters(c->counters_arg, &k);
	uint64_t resp = 0;
	for (unsigned i = 0; i < 16; i++)
		resp += k.responses[i];
	jb_fmt(b, "{\"ok\":true,\"queries\":%llu,\"queries_udp\":%llu,"
	       "\"queries_tcp\":%llu,\"responses\":%llu,\"rcodes\":{",
	       (unsigned long long)(k.queries_udp + k.queries_tcp),
	       (unsigned long long)k.queries_udp, (unsigned long long)k.queries_tcp,
	       (unsigned long long)resp);
	unsigned first = 1;
	for (unsigned i = 0; i < 16; i++) {
		if (k.responses[i] == 0 && i > 5)
			continue;
		jb_fmt(b, "%s\"%s\":%llu", first ? "" : ",", rcode_names[i],
		       (unsigned long long)k.responses[i]);
		first = 0;
	}
	unsigned nzones = zonedb_foreach(c->db, noop_zone, NULL);
	jb_fmt(b, "},\"truncated\":%llu,\"dropped\":%llu,\"tcp_accepted\":%llu,"
	       "\"tcp_refused\":%llu,\"tcp_timeouts\":%llu,\"tcp_open\":%llu,"
	       "\"rrl_limited\":%llu,\"rrl_slipped\":%llu,\"bad_source\":%llu,"
	       "\"loop_port\":%llu,\"zones\":%u,\"generation\":%llu}",
	       (unsigned long long)k.truncated, (unsigned long long)k.dropped,
	       (unsigned long long)k.tcp_accepted, (unsigned long long)k.tcp_refused,
	       (unsigned long long)k.tcp_timeouts, (unsigned long long)k.tcp_open,
	       (unsigned long long)k.rrl_limited, (unsigned long long)k.rrl_slipped,
	       (unsigned long long)k.bad_source, (unsigned long long)k.loop_port,
	       nzones, (unsigned long long)zonedb_generation(c->db));
	if (c->frames && !b->oom) {
		b->len--;   /* reopen the object */
		jb_fmt(b, ",\"rx_frames\":%llu,\"tx_frames\":%llu,\"to_kernel\":%llu,"
		       "\"from_kernel\":%llu,\"malformed\":%llu,\"looped\":%llu,"
		       "\"tx_dropped\":%llu,\"kernel_dropped\":%llu,"
		       "\"loops\":%llu,\"probes\":%llu,\"lease_dropped\":%llu}",
		       (unsigned long long)k.rx_frames, (unsigned long long)k.tx_frames,
		       (unsigned long long)k.to_kernel, (unsigned long long)k.from_kernel,
		       (unsigned long long)k.malformed, (unsigned long long)k.looped,
		       (unsigned long long)k.tx_dropped, (unsigned long long)k.kernel_dropped,
		       (unsigned long long)k.loops, (unsigned long long)k.probes,
		       (unsigned long long)k.lease_dropped);
	}
}

static void cmd_reload(const struct cmdsock_conf *c, struct jbuf *b)
{
	if (c->snapdir == NULL) {
		jb_error(b, "no snapshot directory configured");
		return;
	}
	struct zonedb_dir_result r;
	char err[1024] = "";
	int rc = zonedb_load_dir(c->db, c->snapdir, &r, err, sizeof(err));
	if (rc != ED_OK) {
		jb_error(b, err[0] ? err : ed_strerror(rc));
		return;
	}
	jb_fmt(b, "{\"ok\":true,\"loaded\":%u,\"unchanged\":%u,\"failed\":%u}",
	       r.loaded, r.unchanged, r.failed);
}

char *cmdsock_exec(const struct cmdsock_conf *conf, const char *line)
{
	struct jbuf b = { 0 };
	char *extra;
	char *copy = strdup(line);
	if (copy == NULL)
		return NULL;
	char *w[MAXWORDS];
	unsigned n = split(copy, w);
	if (n == 0)
		jb_error(&b, "empty command");
	else if (strcmp(w[0], "ping") == 0 && n == 1)
		cmd_ping(conf, &b);
	else if (strcmp(w[0], "load") == 0)
		cmd_load(conf, &b, w, n);
	else if (strcmp(w[0], "drop") == 0)
		cmd_drop(conf, &b, w, n);
	else if (strcmp(w[0], "expire") == 0)
		cmd_expire(conf, &b, w, n, 1);
	else if (strcmp(w[0], "unexpire") == 0)
		cmd_expire(conf, &b, w, n, 0);
	else if (strcmp(w[0], "zones") == 0 && n == 1)
		cmd_zones(conf, &b);
	else if (strcmp(w[0], "stats") == 0 && n == 1)
		cmd_stats(conf, &b);
	else if (strcmp(w[0], "reload") == 0 && n == 1)
		cmd_reload(conf, &b);
	else if (conf->extra != NULL && (extra = conf->extra(conf->extra_arg, w, n)) != NULL) {
		free(b.p);
		free(copy);
		return extra;
	} else {
		char msg[128];
		snprintf(msg, sizeof(msg), "unknown command or arguments: '%.64s'", w[0]);
		jb_error(&b, msg);
	}
	free(copy);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

/* ---- the thread ------------------------------------------------------ */

enum { K_STOP, K_LISTEN, K_CLIENT, K_WDONE };

struct client {
	int kind;               /* K_CLIENT */
	int fd;
	char in[CMD_LINE_MAX + 2];
	size_t inlen;
	int discarding;         /* a line too long: skip to its end */
	struct jbuf out;
	size_t outoff;
	int closing;            /* close once out is flushed */
	int busy;               /* a writer runs its command: off the epoll set */
	char *done_reply;       /* the writer's reply, handed back */
	struct client *done_next;
};

struct cmdsock {
	struct cmdsock_conf conf;
	char *path;
	char *snapdir;
	int lfd, efd, ep;
	int kind_stop, kind_listen;
	pthread_t th;
	int started;
	struct client *clients[CMD_CLIENTS_MAX];
	pthread_mutex_t wmu;    /* writers: commands that change the zones */
	pthread_cond_t wcv;
	unsigned writers;       /* running */
	struct client *done;    /* clients whose writer finished (under wmu) */
	int wfd;                /* eventfd: a writer finished */
	int kind_wdone;
};

/* A command that changes the zone set (a load reads and checks a whole
 * snapshot, and waits for a grace period) runs on a thread of its own, so
 * that the command thread keeps answering the health checks' stats, lcores
 * and probes meanwhile. zonedb serializes the writers. The client is taken
 * off the epoll set until its reply is handed back (in order: the lines
 * after it wait). */
struct writer {
	struct cmdsock *cs;
	struct client *c;
	char line[CMD_LINE_MAX + 1];
};

static int is_writer(const char *line)
{
	static const char *const w[] = { "load", "drop", "expire", "unexpire", "reload" };
	size_t n = strcspn(line, " \t");
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		if (strlen(w[i]) == n && strncmp(line, w[i], n) == 0)
			return 1;
	return 0;
}

static void *writer_main(void *arg)
{
	struct writer *wr = arg;
	struct cmdsock *cs = wr->cs;
	char *reply = cmdsock_exec(&cs->conf, wr->line);
	pthread_mutex_lock(&cs->wmu);
	wr->c->done_reply = reply;
	wr->c->done_next = cs->done;
	cs->done = wr->c;
	cs->writers--;
	uint64_t one = 1;
	ssize_t ignored = write(cs->wfd, &one, sizeof(one));
	(void)ignored;
	pthread_cond_broadcast(&cs->wcv);
	pthread_mutex_unlock(&cs->wmu);
	free(wr);
	return NULL;
}

/* Run line on a writer thread for c. 0 started (c is busy), -1: run it
 * here. */
static int writer_start(struct cmdsock *cs, struct client *c, const char *line)
{
	struct writer *wr = calloc(1, sizeof(*wr));
	if (wr == NULL)
		return -1;
	wr->cs = cs;
	wr->c = c;
	snprintf(wr->line, sizeof(wr->line), "%s", line);
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	pthread_t t;
	c->busy = 1;
	epoll_ctl(cs->ep, EPOLL_CTL_DEL, c->fd, NULL);
	pthread_mutex_lock(&cs->wmu);
	cs->writers++;
	pthread_mutex_unlock(&cs->wmu);
	if (pthread_create(&t, &at, writer_main, wr) != 0) {
		pthread_attr_destroy(&at);
		pthread_mutex_lock(&cs->wmu);
		cs->writers--;
		pthread_mutex_unlock(&cs->wmu);
		free(wr);
		c->busy = 0;
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		epoll_ctl(cs->ep, EPOLL_CTL_ADD, c->fd, &ev);
		return -1;
	}
	pthread_attr_destroy(&at);
	return 0;
}

static void client_close(struct cmdsock *cs, struct client *c)
{
	for (unsigned i = 0; i < CMD_CLIENTS_MAX; i++)
		if (cs->clients[i] == c)
			cs->clients[i] = NULL;
	epoll_ctl(cs->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->out.p);
	free(c);
}

static void client_reply(struct client *c, const char *json)
{
	if (json == NULL)
		json = "{\"ok\":false,\"error\":\"out of memory\"}";
	jb_raw(&c->out, json, strlen(json));
	JB_LIT(&c->out, "\n");
}

/* Write what is queued; 0 to keep the client, -1 to close it. */
static int client_flush(struct cmdsock *cs, struct client *c)
{
	if (c->out.oom)
		return -1;
	while (c->outoff < c->out.len) {
		ssize_t r = send(c->fd, c->out.p + c->outoff, c->out.len - c->outoff,
		                 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -1;
		}
		c->outoff += (size_t)r;
	}
	int pending = c->outoff < c->out.len;
	if (!pending) {
		c->outoff = c->out.len = 0;
		if (c->closing)
			return -1;
	}
	struct epoll_event ev = { .events = pending ? EPOLLOUT : EPOLLIN,
	                          .data.ptr = c };
	epoll_ctl(cs->ep, EPOLL_CTL_MOD, c->fd, &ev);
	return 0;
}

/* Before a writer takes c: send the replies already queued (they must
 * not wait for it), without blocking; what the socket does not take waits.
 * Always 0. */
static int send_queued(struct client *c)
{
	while (c->outoff < c->out.len) {
		ssize_t r = send(c->fd, c->out.p + c->outoff, c->out.len - c->outoff,
		                 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (r <= 0)
			break;
		c->outoff += (size_t)r;
	}
	if (c->outoff == c->out.len)
		c->outoff = c->out.len = 0;
	return 0;
}

/* Run the complete lines in c->in, in order; a writer command leaves c
 * busy and the lines after it for later. 0 keep, -1 close, 1 busy. */
static int client_lines(struct cmdsock *cs, struct client *c)
{
	size_t start = 0;
	int busy = 0;
	for (;;) {
		char *nl = memchr(c->in + start, '\n', c->inlen - start);
		if (nl == NULL)
			break;
		*nl = '\0';
		if (nl > c->in + start && nl[-1] == '\r')
			nl[-1] = '\0';
		const char *line = c->in + start;
		start = (size_t)(nl - c->in) + 1;
		if (c->discarding) {
			c->discarding = 0;
		} else if (line[0] != '\0' && is_writer(line) && send_queued(c) == 0 &&
		           writer_start(cs, c, line) == 0) {
			busy = 1;
			break;
		} else if (line[0] != '\0') {
			char *reply = cmdsock_exec(&cs->conf, line);
			client_reply(c, reply);
			free(reply);
		}
	}
	memmove(c->in, c->in + start, c->inlen - start);
	c->inlen -= start;
	if (!busy && c->inlen >= sizeof(c->in) - 1) {
		/* A line over the limit: refuse it and skip to its end. */
		if (!c->discarding)
			client_reply(c, "{\"ok\":false,\"error\":\"line too long\"}");
		c->discarding = 1;
		c->inlen = 0;
	}
	if (busy)
		return 1;
	return client_flush(cs, c);
}

static int client_read(struct cmdsock *cs, struct client *c)
{
	ssize_t r = recv(c->fd, c->in + c->inlen, sizeof(c->in) - 1 - c->inlen,
	                 MSG_DONTWAIT);
	if (r < 0)
		return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
	if (r == 0) {
		c->closing = 1;
		return client_flush(cs, c);
	}
	c->inlen += (size_t)r;
	return client_lines(cs, c);
}

/* The writers' replies, back to their clients; then their next lines. */
static void writers_done(struct cmdsock *cs)
{
	uint64_t v;
	ssize_t ignored = read(cs->wfd, &v, sizeof(v));
	(void)ignored;
	pthread_mutex_lock(&cs->wmu);
	struct client *c = cs->done;
	cs->done = NULL;
	pthread_mutex_unlock(&cs->wmu);
	while (c != NULL) {
		struct client *next = c->done_next;
		c->busy = 0;
		client_reply(c, c->done_reply);
		free(c->done_reply);
		c->done_reply = NULL;
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		int rc = epoll_ctl(cs->ep, EPOLL_CTL_ADD, c->fd, &ev) == 0 ? client_lines(cs, c) : -1;
		if (rc < 0)
			client_close(cs, c);
		c = next;
	}
}

static void accept_clients(struct cmdsock *cs)
{
	for (;;) {
		int fd = accept4(cs->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		unsigned slot = CMD_CLIENTS_MAX;
		for (unsigned i = 0; i < CMD_CLIENTS_MAX && slot == CMD_CLIENTS_MAX; i++)
			if (cs->clients[i] == NULL)
				slot = i;
		struct client *c = slot < CMD_CLIENTS_MAX ? calloc(1, sizeof(*c)) : NULL;
		if (c == NULL) {
			static const char busy[] = "{\"ok\":false,\"error\":\"too many clients\"}\n";
			ssize_t ignored = send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
			(void)ignored;
			close(fd);
			continue;
		}
		c->kind = K_CLIENT;
		c->fd = fd;
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		if (epoll_ctl(cs->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
			close(fd);
			free(c);
			continue;
		}
		cs->clients[slot] = c;
	}
}

static void *cmd_thread(void *arg)
{
	struct cmdsock *cs = arg;
	struct epoll_event evs[16];
	for (;;) {
		int n = epoll_wait(cs->ep, evs, 16, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < n; i++) {
			int kind = *(int *)evs[i].data.ptr;
			if (kind == K_STOP)
				return NULL;
			if (kind == K_LISTEN) {
				accept_clients(cs);
				continue;
			}
			if (kind == K_WDONE) {
				writers_done(cs);
				continue;
			}
			struct client *c = evs[i].data.ptr;
			int rc;
			if (evs[i].events & EPOLLOUT)
				rc = client_flush(cs, c);
			else
				rc = client_read(cs, c);
			if (rc < 0)
				client_close(cs, c);   /* rc 1: busy with a writer */
		}
	}
	return NULL;
}

/* 1 when a server answers at path. */
static int socket_alive(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	int alive = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
	close(fd);
	return alive;
}

struct cmdsock *cmdsock_new(const struct cmdsock_conf *conf, char *err,
                            size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (conf->path == NULL || strlen(conf->path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "control socket path missing or too long");
		return NULL;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", conf->path);
	struct cmdsock *cs = calloc(1, sizeof(*cs));
	if (cs == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	cs->conf = *conf;
	cs->lfd = cs->efd = cs->ep = cs->wfd = -1;
	cs->kind_wdone = K_WDONE;
	pthread_mutex_init(&cs->wmu, NULL);
	pthread_cond_init(&cs->wcv, NULL);
	cs->kind_stop = K_STOP;
	cs->kind_listen = K_LISTEN;
	struct stat st;
	if (lstat(conf->path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s: exists and is not a socket", conf->path);
			goto fail;
		}
		if (socket_alive(&sa)) {
			snprintf(err, errlen, "%s: another process is serving it", conf->path);
			goto fail;
		}
		unlink(conf->path);
	}
	cs->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (cs->lfd < 0 || bind(cs->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(cs->lfd, 16) != 0) {
		snprintf(err, errlen, "%s: %s", conf->path, strerror(errno));
		goto fail;
	}
	cs->path = strdup(conf->path);
	cs->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	cs->wfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	cs->ep = epoll_create1(EPOLL_CLOEXEC);
	if (cs->path == NULL || cs->efd < 0 || cs->wfd < 0 || cs->ep < 0) {
		snprintf(err, errlen, "command socket: %s", strerror(errno));
		goto fail;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &cs->kind_stop };
	struct epoll_event lev = { .events = EPOLLIN, .data.ptr = &cs->kind_listen };
	struct epoll_event wev = { .events = EPOLLIN, .data.ptr = &cs->kind_wdone };
	if (epoll_ctl(cs->ep, EPOLL_CTL_ADD, cs->efd, &ev) != 0 ||
	    epoll_ctl(cs->ep, EPOLL_CTL_ADD, cs->lfd, &lev) != 0 ||
	    epoll_ctl(cs->ep, EPOLL_CTL_ADD, cs->wfd, &wev) != 0) {
		snprintf(err, errlen, "command socket: epoll: %s", strerror(errno));
		goto fail;
	}
	int rc = pthread_create(&cs->th, NULL, cmd_thread, cs);
	if (rc != 0) {
		snprintf(err, errlen, "command socket thread: %s", strerror(rc));
		goto fail;
	}
	cs->started = 1;
	return cs;
fail:
	cmdsock_free(cs);
	return NULL;
}

void cmdsock_free(struct cmdsock *cs)
{
	if (cs == NULL)
		return;
	if (cs->started) {
		uint64_t one = 1;
		ssize_t ignored = write(cs->efd, &one, sizeof(one));
		(void)ignored;
		pthread_join(cs->th, NULL);
	}
	/* writers still running finish their command (zonedb is still
	 * there); their replies are dropped with the clients */
	pthread_mutex_lock(&cs->wmu);
	while (cs->writers > 0)
		pthread_cond_wait(&cs->wcv, &cs->wmu);
	pthread_mutex_unlock(&cs->wmu);
	pthread_mutex_destroy(&cs->wmu);
	pthread_cond_destroy(&cs->wcv);
	for (unsigned i = 0; i < CMD_CLIENTS_MAX; i++)
		if (cs->clients[i] != NULL) {
			free(cs->clients[i]->done_reply);
			client_close(cs, cs->clients[i]);
		}
	if (cs->wfd >= 0)
		close(cs->wfd);
	if (cs->lfd >= 0) {
		close(cs->lfd);
		if (cs->path != NULL)
			unlink(cs->path);
	}
	if (cs->efd >= 0)
		close(cs->efd);
	if (cs->ep >= 0)
		close(cs->ep);
	free(cs->path);
	free(cs);
}
