/* bird.c: BIRD control-socket client: connection, line reader, replies.
 * The parsers of the table commands are in bird_show.c. */
#include "bird.h"
#include "bird_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "error.h"

#define RBUF_SIZE (BIRD_LINE_MAX + 2)

struct bird_conn {
	int fd;
	unsigned timeout_ms;
	size_t max_reply;
	char greeting[128];
	size_t rpos, rlen;   /* unread octets are rbuf[rpos..rlen) */
	char rbuf[RBUF_SIZE];
};

bird_conn_t *bird_new(const struct bird_opts *opts)
{
	bird_conn_t *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->fd = -1;
	c->timeout_ms = opts && opts->timeout_ms ? opts->timeout_ms : BIRD_DEFAULT_TIMEOUT_MS;
	c->max_reply = opts && opts->max_reply ? opts->max_reply : BIRD_DEFAULT_MAX_REPLY;
	return c;
}

void bird_close(bird_conn_t *c)
{
	if (c == NULL)
		return;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->rpos = c->rlen = 0;
}

void bird_free(bird_conn_t *c)
{
	bird_close(c);
	free(c);
}

bool bird_connected(const bird_conn_t *c)
{
	return c != NULL && c->fd >= 0;
}

const char *bird_greeting(const bird_conn_t *c)
{
	return c->greeting;
}

/* ---- time ---------------------------------------------------------------- */

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events on the socket until the deadline: 0, ED_ETIMEOUT or
 * ED_EIO. */
static int wait_fd(bird_conn_t *c, short events, int64_t deadline, char *err, size_t errlen)
{
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0) {
			ed_seterr(err, errlen, "bird: no answer within %u ms", c->timeout_ms);
			return ED_ETIMEOUT;
		}
		struct pollfd p = { .fd = c->fd, .events = events };
		int n = poll(&p, 1, left > 1000000 ? 1000000 : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR) {
			ed_seterr(err, errlen, "bird: poll: %s", strerror(errno));
			return ED_EIO;
		}
	}
}

/* Fail the call and drop the connection, which is out of step now. */
static int broken(bird_conn_t *c, int rc)
{
	bird_close(c);
	return rc;
}

/* ---- connect -------------------------------------------------------------- */

int bird_connect(bird_conn_t *c, const char *path, char *err, size_t errlen)
{
	bird_close(c);
	c->greeting[0] = '\0';
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (path == NULL || path[0] == '\0' || strlen(path) >= sizeof(sa.sun_path)) {
		ed_seterr(err, errlen, "bird: socket path empty or longer than %zu octets",
		          sizeof(sa.sun_path) - 1);
		return ED_EINVAL;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int64_t deadline = now_ms() + c->timeout_ms;

	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		ed_seterr(err, errlen, "bird: socket: %s", strerror(errno));
		return ED_EIO;
	}
	/* A unix socket connects at once or says EAGAIN (the listener's
	 * backlog is full: BIRD is busy); try again until the deadline. */
	while (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EINPROGRESS) {
			int rc = wait_fd(c, POLLOUT, deadline, err, errlen);
			if (rc < 0)
				return broken(c, rc);
			int soerr = 0;
			socklen_t sl = sizeof(soerr);
			getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
			if (soerr == 0)
				break;
			errno = soerr;
		}
		if (errno == EAGAIN && now_ms() < deadline) {
			poll(NULL, 0, 10);
			continue;
		}
		ed_seterr(err, errlen, "bird: connect %s: %s", path,
		          errno == EAGAIN ? "busy (backlog full)" : strerror(errno));
		return broken(c, errno == EAGAIN ? ED_ETIMEOUT : ED_EIO);
	}

	struct bird_reply r;
	int rc = bird_read_reply(c, &r, deadline, err, errlen);
	if (rc == ED_ERCODE || (rc == 0 && r.code != 1)) {
		ed_seterr(err, errlen, "bird: %s: not a BIRD greeting: %04d %.60s", path, r.code,
		          r.n ? r.lines[r.n - 1].text : "");
		bird_reply_free(&r);
		return broken(c, ED_EFORMAT);
	}
	if (rc < 0)
		return rc;
	snprintf(c->greeting, sizeof(c->greeting), "%s", r.lines[r.n - 1].text);
	bird_reply_free(&r);
	return 0;
}

/* ---- the line reader ----------------------------------------------------- */

/* The next line (without its '\n', NUL-terminated in rbuf) into *line,
 * *len. 0, ED_EIO (closed or failed), ED_ETIMEOUT, ED_ELIMIT (longer than
 * BIRD_LINE_MAX). The line is valid until the next call. in_reply: lines
 * of this reply came already (for the message). */
static int read_line(bird_conn_t *c, char **line, size_t *len, bool in_reply, int64_t deadline,
                     char *err, size_t errlen)
{
	for (;;) {
		char *nl = memchr(c->rbuf + c->rpos, '\n', c->rlen - c->rpos);
		if (nl != NULL) {
			*line = c->rbuf + c->rpos;
			*len = (size_t)(nl - *line);
			*nl = '\0';
			c->rpos += *len + 1;
			return 0;
		}
		if (c->rpos > 0) {
			memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
			c->rlen -= c->rpos;
			c->rpos = 0;
		}
		if (c->rlen >= RBUF_SIZE - 1) {
			ed_seterr(err, errlen, "bird: reply line longer than %d octets",
			          BIRD_LINE_MAX);
			return ED_ELIMIT;
		}
		int rc = wait_fd(c, POLLIN, deadline, err, errlen);
		if (rc < 0)
			return rc;
		ssize_t n = recv(c->fd, c->rbuf + c->rlen, RBUF_SIZE - 1 - c->rlen, 0);
		if (n > 0) {
			c->rlen += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		ed_seterr(err, errlen, "bird: %s%s", n == 0 ? "connection closed by BIRD" :
		          strerror(errno), c->rlen > 0 || in_reply ? " in the middle of a reply" : "");
		return ED_EIO;
	}
}

/* ---- replies ------------------------------------------------------------- */

struct builder {
	struct bird_reply *r;
	size_t cap_lines, mem_len, mem_cap, total;
	size_t *offs;   /* text offsets into r->mem until the end */
};

static int add_line(struct builder *b, int code, const char *text, size_t len)
{
	struct bird_reply *r = b->r;
	if (r->n == b->cap_lines) {
		size_t cap = b->cap_lines ? b->cap_lines * 2 : 16;
		struct bird_line *l = realloc(r->lines, cap * sizeof(*l));
		if (l == NULL)
			return ED_ENOMEM;
		r->lines = l;
		size_t *o = realloc(b->offs, cap * sizeof(*o));
		if (o == NULL)
			return ED_ENOMEM;
		b->offs = o;
		b->cap_lines = cap;
	}
	if (b->mem_len + len + 1 > b->mem_cap) {
		size_t cap = b->mem_cap ? b->mem_cap : 1024;
		while (cap < b->mem_len + len + 1)
			cap *= 2;
		char *m = realloc(r->mem, cap);
		if (m == NULL)
			return ED_ENOMEM;
		r->mem = m;
		b->mem_cap = cap;
	}
	memcpy(r->mem + b->mem_len, text, len);
	r->mem[b->mem_len + len] = '\0';
	r->lines[r->n].code = code;
	b->offs[r->n] = b->mem_len;
	b->mem_len += len + 1;
	r->n++;
	return 0;
}

static bool digits4(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

int bird_read_reply(bird_conn_t *c, struct bird_reply *r, int64_t deadline, char *err,
                    size_t errlen)
{
	memset(r, 0, sizeof(*r));
	struct builder b = { .r = r };
	int rc, last = -1, bad = 0;
	for (;;) {
		char *line;
		size_t len;
		rc = read_line(c, &line, &len, r->n > 0, deadline, err, errlen);
		if (rc < 0)
			break;
		b.total += len + 1;
		if (b.total > c->max_reply) {
			ed_seterr(err, errlen, "bird: reply longer than %zu octets", c->max_reply);
			rc = ED_ELIMIT;
			break;
		}
		int code;
		bool final;
		const char *text;
		if (len > 0 && line[0] == '+')         /* asynchronous printout */
			continue;
		if (len > 0 && line[0] == ' ') {       /* continuation */
			if (last < 0) {
				ed_seterr(err, errlen, "bird: continuation line first in a reply");
				rc = ED_EFORMAT;
				break;
			}
			code = last;
			final = false;
			text = line + 1;
		} else if (len >= 4 && digits4(line) && (len == 4 || line[4] == ' ' || line[4] == '-')) {
			code = (line[0] - '0') * 1000 + (line[1] - '0') * 100 + (line[2] - '0') * 10 +
			       (line[3] - '0');
			final = len == 4 || line[4] == ' ';
			text = len == 4 ? line + 4 : line + 5;
		} else {
			ed_seterr(err, errlen, "bird: malformed reply line '%.40s'", line);
			rc = ED_EFORMAT;
			break;
		}
		if (code >= 8000 && bad == 0)
			bad = (int)r->n + 1;
		rc = add_line(&b, code, text, len - (size_t)(text - line));
		if (rc < 0) {
			ed_seterr(err, errlen, "bird: out of memory");
			break;
		}
		last = code;
		if (final) {
			r->code = code;
			break;
		}
	}
	if (rc < 0) {
		free(b.offs);
		bird_reply_free(r);
		return broken(c, rc);
	}
	for (size_t i = 0; i < r->n; i++)
		r->lines[i].text = r->mem + b.offs[i];
	free(b.offs);
	if (bad) {
		const struct bird_line *l = &r->lines[bad - 1];
		ed_seterr(err, errlen, "%04d %s", l->code, l->text);
		return ED_ERCODE;
	}
	return 0;
}

void bird_reply_free(struct bird_reply *r)
{
	if (r == NULL)
		return;
	free(r->lines);
	free(r->mem);
	memset(r, 0, sizeof(*r));
}

/* ---- commands ------------------------------------------------------------ */

static int send_all(bird_conn_t *c, const char *p, size_t n, int64_t deadline, char *err,
                    size_t errlen)
{
	while (n > 0) {
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			int rc = wait_fd(c, POLLOUT, deadline, err, errlen);
			if (rc < 0)
				return rc;
			continue;
		}
		ed_seterr(err, errlen, "bird: send: %s", strerror(errno));
		return ED_EIO;
	}
	return 0;
}

int bird_command(bird_conn_t *c, const char *cmd, struct bird_reply *r, char *err,
                 size_t errlen)
{
	memset(r, 0, sizeof(*r));
	size_t len = strlen(cmd);
	if (len == 0 || len > BIRD_CMD_MAX) {
		ed_seterr(err, errlen, "bird: command empty or longer than %d octets", BIRD_CMD_MAX);
		return ED_EINVAL;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)cmd[i] < 0x20 || cmd[i] == 0x7f) {
			ed_seterr(err, errlen, "bird: control character in command");
			return ED_EINVAL;
		}
	if (c->fd < 0) {
		ed_seterr(err, errlen, "bird: not connected");
		return ED_EIO;
	}
	/* Whatever is left unread belongs to nothing we asked: BIRD writes
	 * only in answer, so this is a reply we gave up on. */
	if (c->rlen > c->rpos) {
		ed_seterr(err, errlen, "bird: unexpected data before the command");
		return broken(c, ED_EFORMAT);
	}
	int64_t deadline = now_ms() + c->timeout_ms;
	char buf[BIRD_CMD_MAX + 2];
	memcpy(buf, cmd, len);
	buf[len] = '\n';
	int rc = send_all(c, buf, len + 1, deadline, err, errlen);
	if (rc < 0)
		return broken(c, rc);
	return bird_read_reply(c, r, deadline, err, errlen);
}

/* ---- names and prefixes -------------------------------------------------- */

bool bird_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > BIRD_NAME_MAX || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_'))
			return false;
	}
	return true;
}

/* Path or pattern inside BIRD's double quotes: printable, no '"' or '\'. */
bool bird_quotable(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > BIRD_CMD_MAX - 32)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch < 0x20 || ch == 0x7f || ch == '"' || ch == '\\')
			return false;
	}
	return true;
}

int bird_prefix_norm(const char *in, char *out, size_t outlen, int *family)
{
	char addr[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(in, '/');
	size_t alen = slash ? (size_t)(slash - in) : strlen(in);
	if (alen == 0 || alen >= sizeof(addr))
		return ED_EINVAL;
	memcpy(addr, in, alen);
	addr[alen] = '\0';
	unsigned char a[16];
	int fam, maxlen;
	if (inet_pton(AF_INET, addr, a) == 1) {
		fam = 4;
		maxlen = 32;
	} else if (inet_pton(AF_INET6, addr, a) == 1) {
		fam = 6;
		maxlen = 128;
	} else {
		return ED_EINVAL;
	}
	int len = maxlen;
	if (slash != NULL) {
		const char *p = slash + 1;
		if (*p == '\0' || strlen(p) > 3)
			return ED_EINVAL;
		len = 0;
		for (; *p; p++) {
			if (*p < '0' || *p > '9')
				return ED_EINVAL;
			len = len * 10 + (*p - '0');
		}
		if (len > maxlen)
			return ED_EINVAL;
	}
	for (int bit = len; bit < maxlen; bit++)
		if (a[bit / 8] & (0x80 >> (bit % 8)))
			return ED_EINVAL;
	char txt[INET6_ADDRSTRLEN];
	inet_ntop(fam == 4 ? AF_INET : AF_INET6, a, txt, sizeof(txt));
	int n = snprintf(out, outlen, "%s/%d", txt, len);
	if (n < 0 || (size_t)n >= outlen)
		return ED_EINVAL;
	if (family != NULL)
		*family = fam;
	return 0;
}
