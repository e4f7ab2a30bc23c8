/* test_bird.c: the BIRD client (bird.h) and the anycast policy (anycast.h)
 * against a fake BIRD: a thread serving scripted replies on a unix socket
 * in a mkdtemp() directory. The real BIRD is in tests/bgp. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "anycast.h"
#include "bird.h"
#include "error.h"

/* ---- the fake BIRD ---------------------------------------------------------- */

enum act {
	REPLY = 0,    /* write the reply */
	CHUNKED,      /* write it one octet at a time */
	CLOSE,        /* write the reply (a part of one), then close */
	SILENT,       /* write nothing, wait for the client to go */
};

struct step {
	const char *reply;
	enum act act;
};

#define MAX_GOT 64

struct fake {
	char dir[40];
	char path[96];
	int lfd;
	pthread_t th;
	const char *greeting;     /* NULL: say nothing */
	enum act greeting_act;
	const struct step *steps;
	size_t nsteps;
	const char *repeat;       /* after the steps: the reply to any command */
	char got[MAX_GOT][256];   /* the commands received */
	size_t ngot;
};

static void put(int fd, const char *s, enum act act)
{
	size_t n = strlen(s);
	if (act == CHUNKED) {
		for (size_t i = 0; i < n; i++)
			if (send(fd, s + i, 1, MSG_NOSIGNAL) != 1)
				return;
		return;
	}
	while (n > 0) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

/* One line from fd into buf; false at EOF. */
static bool get_line(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	for (;;) {
		char ch;
		ssize_t r = recv(fd, &ch, 1, 0);
		if (r <= 0)
			return false;
		if (ch == '\n')
			break;
		if (n + 1 < cap)
			buf[n++] = ch;
	}
	buf[n] = '\0';
	return true;
}

static void wait_gone(int fd)
{
	char ch;
	while (recv(fd, &ch, 1, 0) > 0)
		;
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	int fd = accept(f->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	if (f->greeting == NULL || f->greeting_act == SILENT) {
		wait_gone(fd);
		goto out;
	}
	put(fd, f->greeting, f->greeting_act);
	if (f->greeting_act == CLOSE)
		goto out;
	for (size_t i = 0;; i++) {
		char line[256];
		if (!get_line(fd, line, sizeof(line)))
			break;
		if (f->ngot < MAX_GOT)
			snprintf(f->got[f->ngot++], sizeof(f->got[0]), "%s", line);
		if (i >= f->nsteps) {
			if (f->repeat == NULL)
				break;
			put(fd, f->repeat, REPLY);
			continue;
		}
		const struct step *s = &f->steps[i];
		if (s->act == SILENT) {
			wait_gone(fd);
			break;
		}
		put(fd, s->reply, s->act);
		if (s->act == CLOSE)
			break;
	}
out:
	close(fd);
	return NULL;
}

static void fake_start(struct fake *f, const char *greeting, enum act gact,
                       const struct step *steps, size_t nsteps)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/edgedns-bird-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/bird.ctl", f->dir);
	f->greeting = greeting;
	f->greeting_act = gact;
	f->steps = steps;
	f->nsteps = nsteps;
	f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(f->lfd >= 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->lfd, 4), 0);
	assert_int_equal(pthread_create(&f->th, NULL, fake_main, f), 0);
}

/* After the client closed (the fake waits for that in SILENT). */
static void fake_stop(struct fake *f)
{
	pthread_join(f->th, NULL);
	close(f->lfd);
	unlink(f->path);
	rmdir(f->dir);
}

#define GREETING "0001 BIRD 2.0.12 ready.\n"
#define ERRLEN 256

static bird_conn_t *connect_ok(struct fake *f, unsigned timeout_ms, size_t max_reply)
{
	struct bird_opts o = { .timeout_ms = timeout_ms, .max_reply = max_reply };
	bird_conn_t *c = bird_new(&o);
	assert_non_null(c);
	char err[ERRLEN] = "";
	int rc = bird_connect(c, f->path, err, sizeof(err));
	if (rc != 0)
		fail_msg("connect: %d %s", rc, err);
	return c;
}

/* ---- greeting and connection ---------------------------------------------- */

static void t_greeting(void **st)
{
	(void)st;
	struct fake f;
	fake_start(&f, GREETING, CHUNKED, NULL, 0);
	bird_conn_t *c = connect_ok(&f, 2000, 0);
	assert_true(bird_connected(c));
	assert_string_equal(bird_greeting(c), "BIRD 2.0.12 ready.");
	bird_close(c);
	assert_false(bird_connected(c));
	fake_stop(&f);
	bird_free(c);
}

static int try_greeting(const char *greeting, enum act act, char *err)
{
	struct fake f;
	fake_start(&f, greeting, act, NULL, 0);
	struct bird_opts o = { .timeout_ms = 300 };
	bird_conn_t *c = bird_new(&o);
	assert_non_null(c);
	err[0] = '\0';
	int rc = bird_connect(c, f.path, err, ERRLEN);
	if (rc == 0)
		assert_true(bird_connected(c));
	else
		assert_false(bird_connected(c));
	bird_free(c);
	fake_stop(&f);
	return rc;
}

static void t_bad_greetings(void **st)
{
	(void)st;
	char err[ERRLEN];
	assert_int_equal(try_greeting("0002 BIRD 2.0.12 ready.\n", REPLY, err), ED_EFORMAT);
	assert_non_null(strstr(err, "not a BIRD greeting"));
	assert_int_equal(try_greeting("SSH-2.0-OpenSSH_9.2\n", REPLY, err), ED_EFORMAT);
	assert_int_equal(try_greeting("9001 no\n", REPLY, err), ED_EFORMAT);
	assert_int_equal(try_greeting(" 0001 ready\n", REPLY, err), ED_EFORMAT);
	/* closed before a greeting, half a greeting, none at all */
	assert_int_equal(try_greeting("", CLOSE, err), ED_EIO);
	assert_string_equal(err, "bird: connection closed by BIRD");
	assert_int_equal(try_greeting("0001 BIRD", CLOSE, err), ED_EIO);
	assert_string_equal(err, "bird: connection closed by BIRD in the middle of a reply");
	assert_int_equal(try_greeting(NULL, SILENT, err), ED_ETIMEOUT);
	/* a multi-line greeting ending in 0001 is fine */
	assert_int_equal(try_greeting("0001-BIRD 2.0.12\n ready.\n0001 ready.\n", REPLY, err), 0);
}

static void t_no_socket(void **st)
{
	(void)st;
	bird_conn_t *c = bird_new(NULL);
	assert_non_null(c);
	char err[ERRLEN] = "";
	assert_int_equal(bird_connect(c, "/nonexistent/bird.ctl", err, sizeof(err)), ED_EIO);
	assert_non_null(strstr(err, "/nonexistent/bird.ctl"));
	char longpath[300];
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(bird_connect(c, longpath, err, sizeof(err)), ED_EINVAL);
	/* commands on an unconnected handle */
	struct bird_reply r;
	assert_int_equal(bird_command(c, "show status", &r, err, sizeof(err)), ED_EIO);
	bird_reply_free(&r);
	bird_free(c);
	bird_free(NULL);
}

/* ---- raw replies ------------------------------------------------------------ */

static const char PROTOS[] =
	"2002-Name       Proto      Table      State  Since         Info\n"
	"1002-device1    Device     ---        up     15:50:22.396  \n"
	" anycast_dns_4 Static     master4    down   15:50:22.396  \n"
	" bgp_router_with_a_long_name BGP        ---        start  2024-01-02 03:04:05  "
	"Active        Socket: Connection refused\n"
	" bfd1       BFD        ---        up     2024-01-02  \n"
	" bgp_r1     BGP        ---        up     15:50:24.001  Established   \n"
	"0000 \n";

static void t_command_lines(void **st)
{
	(void)st;
	const struct step steps[] = {
		{ PROTOS, CHUNKED },
		{ "+async message\n1000-BIRD 2.0.12\n1011-Router ID is 192.0.2.2\n"
		  " Last reboot on 2024-01-02 03:04:05.678\n0013 Daemon is up and running\n", REPLY },
		{ "0004\n", REPLY },   /* a final line without text */
	};
	struct fake f;
	fake_start(&f, GREETING, REPLY, steps, 3);
	bird_conn_t *c = connect_ok(&f, 2000, 0);
	char err[ERRLEN] = "";
	struct bird_reply r;
	assert_int_equal(bird_command(c, "show protocols", &r, err, sizeof(err)), 0);
	assert_int_equal(r.code, 0);
	assert_int_equal(r.n, 7);
	assert_int_equal(r.lines[0].code, 2002);
	assert_int_equal(r.lines[2].code, 1002);     /* continuation keeps the code */
	assert_string_equal(r.lines[2].text, "anycast_dns_4 Static     master4    down   15:50:22.396  ");
	assert_string_equal(r.lines[6].text, "");
	bird_reply_free(&r);
	assert_int_equal(bird_command(c, "show status", &r, err, sizeof(err)), 0);
	assert_int_equal(r.code, 13);
	assert_int_equal(r.n, 4);                    /* the '+' line skipped */
	assert_int_equal(r.lines[2].code, 1011);
	assert_string_equal(r.lines[3].text, "Daemon is up and running");
	bird_reply_free(&r);
	assert_int_equal(bird_command(c, "configure", &r, err, sizeof(err)), 0);
	assert_int_equal(r.code, 4);
	assert_string_equal(r.lines[0].text, "");
	bird_reply_free(&r);
	assert_string_equal(f.got[0], "show protocols");
	assert_string_equal(f.got[2], "configure");
	/* commands we refuse to send */
	assert_int_equal(bird_command(c, "show\nstatus", &r, err, sizeof(err)), ED_EINVAL);
	assert_int_equal(bird_command(c, "", &r, err, sizeof(err)), ED_EINVAL);
	char big[BIRD_CMD_MAX + 2];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(bird_command(c, big, &r, err, sizeof(err)), ED_EINVAL);
	assert_true(bird_connected(c));
	bird_close(c);
	fake_stop(&f);
	bird_free(c);
}

static void t_error_codes(void **st)
{
	(void)st;
	const struct step steps[] = {
		{ "9001 syntax error, unexpected CF_SYM_UNDEFINED\n", REPLY },
		{ "0002-Reading configuration from /etc/bird.conf\n"
		  "8002 /etc/bird.conf:12:3 syntax error, unexpected '}'\n", REPLY },
		{ "0015-r1: reloading\n8006-r2: reload failed\n0000 \n", REPLY },
		{ "0000 \n", REPLY },   /* still in step after the errors */
	};
	struct fake f;
	fake_start(&f, GREETING, REPLY, steps, 4);
	bird_conn_t *c = connect_ok(&f, 2000, 0);
	char err[ERRLEN] = "";
	struct bird_reply r;
	assert_int_equal(bird_command(c, "foo bar", &r, err, sizeof(err)), ED_ERCODE);
	assert_string_equal(err, "9001 syntax error, unexpected CF_SYM_UNDEFINED");
	assert_int_equal(r.code, 9001);
	bird_reply_free(&r);
	assert_int_equal(bird_command(c, "configure", &r, err, sizeof(err)), ED_ERCODE);
	assert_string_equal(err, "8002 /etc/bird.conf:12:3 syntax error, unexpected '}'");
	assert_int_equal(r.n, 2);
	bird_reply_free(&r);
	/* an error line in the middle of a reply */
	assert_int_equal(bird_command(c, "reload all", &r, err, sizeof(err)), ED_ERCODE);
	assert_string_equal(err, "8006 r2: reload failed");
	assert_int_equal(r.code, 0);
	bird_reply_free(&r);
	assert_true(bird_connected(c));
	assert_int_equal(bird_command(c, "show interfaces", &r, err, sizeof(err)), 0);
	bird_reply_free(&r);
	bird_close(c);
	fake_stop(&f);
	bird_free(c);
}

/* One command answered by reply with act: the return and err. */
static int one(const char *reply, enum act act, unsigned timeout_ms, size_t max_reply,
               char *err)
{
	const struct step steps[] = { { reply, act } };
	struct fake f;
	fake_start(&f, GREETING, REPLY, steps, 1);
	bird_conn_t *c = connect_ok(&f, timeout_ms, max_reply);
	struct bird_reply r;
	err[0] = '\0';
	int rc = bird_command(c, "show route", &r, err, ERRLEN);
	if (rc != 0 && rc != ED_ERCODE) {
		assert_int_equal(r.n, 0);
		assert_null(r.lines);
		assert_false(bird_connected(c));  /* out of step: closed */
	}
	bird_reply_free(&r);
	bird_close(c);
	fake_stop(&f);
	bird_free(c);
	return rc;
}

static void t_broken_replies(void **st)
{
	(void)st;
	char err[ERRLEN];
	/* closed in the middle of a reply, in the middle of a line */
	assert_int_equal(one("1007-Table master4:\n 203.0.113.0/24  unreachable\n", CLOSE, 2000,
	                     0, err), ED_EIO);
	assert_non_null(strstr(err, "closed by BIRD in the middle of a reply"));
	assert_int_equal(one("1007-Table mas", CLOSE, 2000, 0, err), ED_EIO);
	/* silent */
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(one(NULL, SILENT, 200, 0, err), ED_ETIMEOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(s >= 0.19 && s < 2.0);
	assert_non_null(strstr(err, "200 ms"));
	/* a reply that stops half way (no final line) */
	assert_int_equal(one("1007-Table master4:\n", REPLY, 200, 0, err), ED_ETIMEOUT);
	/* not the protocol */
	assert_int_equal(one("hello\n", REPLY, 2000, 0, err), ED_EFORMAT);
	assert_int_equal(one(" 203.0.113.0/24\n0000 \n", REPLY, 2000, 0, err), ED_EFORMAT);
	assert_int_equal(one("100x-a\n", REPLY, 2000, 0, err), ED_EFORMAT);
	assert_int_equal(one("1007*a\n", REPLY, 2000, 0, err), ED_EFORMAT);
}

static void t_oversize(void **st)
{
	(void)st;
	char err[ERRLEN];
	/* many lines: over max_reply */
	size_t n = 200;
	char *big = malloc(n * 40 + 16);
	assert_non_null(big);
	size_t len = 0;
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(big + len, "1007-203.0.113.%zu/32 unreachable\n", i % 250);
	sprintf(big + len, "0000 \n");
	assert_int_equal(one(big, REPLY, 2000, 1024, err), ED_ELIMIT);
	assert_non_null(strstr(err, "longer than 1024"));
	assert_int_equal(one(big, REPLY, 2000, 0, err), 0);
	free(big);
	/* one line over BIRD_LINE_MAX */
	big = malloc(BIRD_LINE_MAX + 64);
	assert_non_null(big);
	memcpy(big, "1007-", 5);
	memset(big + 5, 'x', BIRD_LINE_MAX + 10);
	strcpy(big + 5 + BIRD_LINE_MAX + 10, "\n0000 \n");
	assert_int_equal(one(big, REPLY, 2000, 1u << 20, err), ED_ELIMIT);
	/* just under it is fine */
	strcpy(big + BIRD_LINE_MAX - 10, "\n0000 \n");
	assert_int_equal(one(big, REPLY, 2000, 1u << 20, err), 0);
	free(big);
}

/* ---- typed commands ----------------------------------------------------------- */

static void t_show_protocols(void **st)
{
	(void)st;
	const struct step steps[] = {
		{ PROTOS, REPLY },
		{ "8003 No protocols match\n", REPLY },
		{ "2002-Name       Proto      Table      State  Since         Info\n"
		  "1002-anycast_dns_4 Static     master4    up     15:50:27.698  \n"
		  "1006-  Channel ipv4\n     State:          UP\n \n0000 \n", REPLY },
		{ "1002-x\n0000 \n", REPLY },
	};
	struct fake f;
	fake_start(&f, GREETING, REPLY, steps, 4);
	bird_conn_t *c = connect_ok(&f, 2000, 0);
	char err[ERRLEN] = "";
	struct bird_protocols ps;
	assert_int_equal(bird_show_protocols(c, NULL, &ps, err, sizeof(err)), 0);
	assert_int_equal(ps.n, 5);
	assert_string_equal(ps.v[0].name, "device1");
	assert_string_equal(ps.v[0].proto, "Device");
	assert_string_equal(ps.v[0].table, "---");
	assert_string_equal(ps.v[0].state, "up");
	assert_string_equal(ps.v[0].since, "15:50:22.396");
	assert_string_equal(ps.v[0].info, "");
	const struct bird_protocol *p = bird_protocols_find(&ps, "bgp_router_with_a_long_name");
	assert_non_null(p);
	assert_string_equal(p->state, "start");
	assert_string_equal(p->since, "2024-01-02 03:04:05");
	assert_string_equal(p->info, "Active        Socket: Connection refused");
	p = bird_protocols_find(&ps, "bfd1");
	assert_string_equal(p->since, "2024-01-02");
	assert_string_equal(p->info, "");
	p = bird_protocols_find(&ps, "bgp_r1");
	assert_string_equal(p->info, "Established");
	assert_null(bird_protocols_find(&ps, "nosuch"));
	bird_protocols_free(&ps);
	assert_int_equal(bird_show_protocols(c, "gshut_*", &ps, err, sizeof(err)), 0);
	assert_int_equal(ps.n, 0);
	assert_int_equal(bird_show_protocols(c, "anycast_dns_4", &ps, err, sizeof(err)), 0);
	assert_int_equal(ps.n, 1);        /* the 1006 details are not rows */
	assert_string_equal(ps.v[0].state, "up");
	bird_protocols_free(&ps);
	assert_int_equal(bird_show_protocols(c, NULL, &ps, err, sizeof(err)), ED_EFORMAT);
	assert_int_equal(ps.n, 0);
	assert_int_equal(bird_show_protocols(c, "a\"b", &ps, err, sizeof(err)), ED_EINVAL);
	assert_string_equal(f.got[0], "show protocols");
	assert_string_equal(f.got[1], "show protocols \"gshut_*\"");
	bird_protocols_free(&ps);
	bird_close(c);
	fake_stop(&f);
	bird_free(c);
}

/* "show protocols all" as BIRD 2.0.12 answers it: one session Established
 * and exporting, one refused by its peer, a static protocol between. */
static void t_show_bgp(void **st)
{
	(void)st;
	const struct step steps[] = {
		{ "2002-Name       Proto      Table      State  Since         Info\n"
		  "1002-bgp_r4      BGP        ---        up     13:02:30.100  Established   \n"
		  "1006-  BGP state:          Established\n"
		  "     Neighbor address: 192.0.2.1\n"
		  "     Neighbor AS:      64500\n"
		  "   Channel ipv4\n"
		  "     State:          UP\n"
		  "     Routes:         0 imported, 1 exported, 0 preferred\n"
		  " \n"
		  "1002-anycast_dns_4 Static  master4    up     13:02:30.000  \n"
		  "1006-  Channel ipv4\n"
		  "     Routes:         1 imported, 0 exported, 1 preferred\n"
		  " \n"
		  "1002-bgp_r6      BGP        ---        start  13:02:37.300  Idle          Received: Bad peer AS\n"
		  "1006-  BGP state:          Idle\n"
		  "     Neighbor address: 2001:db8::1\n"
		  "     Last error:       Received: Bad peer AS\n"
		  "   Channel ipv6\n"
		  "     State:          DOWN\n"
		  " \n"
		  "1002-bgp_off     BGP        ---        down   13:00:00.000  \n"
		  "0000 \n", REPLY },
		{ "8003 No protocols match\n", REPLY },
	};
	struct fake f;
	fake_start(&f, GREETING, REPLY, steps, 2);
	bird_conn_t *c = connect_ok(&f, 2000, 0);
	char err[ERRLEN] = "";
	struct bird_bgp_sessions bs;
	assert_int_equal(bird_show_bgp(c, &bs, err, sizeof(err)), 0);
	assert_int_equal(bs.n, 3);
	assert_string_equal(bs.v[0].name, "bgp_r4");
	assert_string_equal(bs.v[0].state, "up");
	assert_string_equal(bs.v[0].since, "13:02:30.100");
	assert_string_equal(bs.v[0].bgp_state, "Established");
	assert_string_equal(bs.v[0].neighbor, "192.0.2.1");
	assert_string_equal(bs.v[0].last_error, "");
	assert_int_equal(bs.v[0].exported, 1);
	assert_string_equal(bs.v[1].name, "bgp_r6");
	assert_string_equal(bs.v[1].bgp_state, "Idle");
	assert_string_equal(bs.v[1].neighbor, "2001:db8::1");
	assert_string_equal(bs.v[1].last_error, "Received: Bad peer AS");
	assert_int_equal(bs.v[1].exported, -1);
	assert_string_equal(bs.v[2].bgp_state, "Down");
	bird_bgp_sessions_free(&bs);
	assert_int_equal(bird_show_bgp(c, &bs, err, sizeof(err)), 0);
	assert_int_equal(bs.n, 0);
	assert_string_equal(f.got[0], "show protocols all");
	bird_close(c);
	fake_stop(&f);
	bird_free(c);
}

static void t_enable_disable(void **st)
{
	(void)st;
	const struct step steps[] = {
		{ "0011-anycast_dns_4: enabled\n0000 \n", REPLY },
		{ "0010-anycast_dns_4: already enabled\n0000 \n", REPLY },
		{ "0009-anycast_dns_4: disabled\n0000 \n", REPLY },
		{ "0008-anycast_dns_4: already disabled\n0000 \n", REPLY },
		{ "8003 No protocols match\n", REPLY },
		{ "9001 syntax error, unexpected END\n", REPLY },
		{ "0000 \n", REPLY },   /* no 0011: not what enable answers */
		{ "8003 No protocols match\n", REPLY },
	};
	struct fake f;
	fake_start(&f, GREETING, REPLY, steps, 8);
	bird_conn_t *c = connect_ok(&f, 2000, 0);
	char err[ERRLEN] = "";
	bool changed = false;
	assert_int_equal(bird_enable(c, "anycast_dns_4", &changed, err, sizeof(err)), 0);
	assert_true(changed);
	assert_int_equal(bird_enable(c, "anycast_dns_4", &changed, err, sizeof(err)), 0);
	assert_false(changed);
	assert_int_equal(bird_disable(c, "anycast_dns_4", &changed, err, sizeof(err)), 0);
	assert_true(changed);
	assert_int_equal(bird_disable(c, "anycast_dns_4", NULL, err, sizeof(err)), 0);
	assert_int_equal(bird_enable(c, "nosuch", &changed, err, sizeof(err)), ED_ENOENT);
	assert_non_null(strstr(err, "enable nosuch: 8003 No protocols match"));
	assert_int_equal(bird_enable(c, "x", NULL, err, sizeof(err)), ED_ERCODE);
	assert_non_null(strstr(err, "9001"));
	assert_int_equal(bird_enable(c, "x", NULL, err, sizeof(err)), ED_EFORMAT);
	/* "all" is BIRD's keyword for every protocol; quoted, it is a name */
	assert_int_equal(bird_disable(c, "all", NULL, err, sizeof(err)), ED_ENOENT);
	/* never sent */
	assert_int_equal(bird_enable(c, "a b", NULL, err, sizeof(err)), ED_EINVAL);
	assert_int_equal(bird_disable(c, "x;y", NULL, err, sizeof(err)), ED_EINVAL);
	assert_int_equal(bird_disable(c, "*", NULL, err, sizeof(err)), ED_EINVAL);
	assert_int_equal(bird_disable(c, "9x", NULL, err, sizeof(err)), ED_EINVAL);
	assert_int_equal(bird_disable(c, "", NULL, err, sizeof(err)), ED_EINVAL);
	assert_int_equal(f.ngot, 8);
	assert_string_equal(f.got[0], "enable \"anycast_dns_4\"");
	assert_string_equal(f.got[2], "disable \"anycast_dns_4\"");
	assert_string_equal(f.got[7], "disable \"all\"");
	bird_close(c);
	fake_stop(&f);
	bird_free(c);
}

static void t_configure(void **st)
{
	(void)st;
	const struct step steps[] = {
		{ "0002-Reading configuration from /etc/bird/bird.conf\n0003 Reconfigured\n", REPLY },
		{ "0002-Reading configuration from /tmp/b.conf\n0004 Reconfiguration in progress\n",
		  CHUNKED },
		{ "0002-Reading configuration from /etc/bird/bird.conf\n"
		  "0005 Reconfiguration already in progress, queueing new config\n", REPLY },
		{ "0002-Reading configuration from /tmp/b.conf\n"
		  "8002 /tmp/b.conf:3:1 syntax error, unexpected CF_SYM_UNDEFINED\n", REPLY },
		{ "0002-Reading configuration from /nonexist\n"
		  "8002 /nonexist: No such file or directory\n", REPLY },
		{ "0006 Reconfiguration ignored, shutting down\n", REPLY },
		{ "0002-Reading configuration from /tmp/b.conf\n0020 Configuration OK\n", REPLY },
		{ "0002-Reading configuration from /tmp/b.conf\n8002 /tmp/b.conf:1:1 x\n", REPLY },
		{ "0019 Nothing to do\n", REPLY },
		{ "0004-Reconfiguration in progress\n0000 \n", REPLY },
		{ "0003-Daemon is up and running\n"
		  "0022-Configuration unconfirmed, undo in 10 s\n0000 \n", REPLY },
		{ "0000 \n", REPLY },
	};
	struct fake f;
	fake_start(&f, GREETING, REPLY, steps, 12);
	bird_conn_t *c = connect_ok(&f, 2000, 0);
	char err[ERRLEN] = "";
	int code = -1;
	assert_int_equal(bird_configure(c, NULL, &code, err, sizeof(err)), 0);
	assert_int_equal(code, 3);
	assert_int_equal(bird_configure(c, "/tmp/b.conf", &code, err, sizeof(err)), 0);
	assert_int_equal(code, 4);
	assert_int_equal(bird_configure(c, NULL, &code, err, sizeof(err)), 0);
	assert_int_equal(code, 5);
	assert_int_equal(bird_configure(c, "/tmp/b.conf", &code, err, sizeof(err)), ED_ERCODE);
	assert_int_equal(code, 8002);
	assert_string_equal(err, "8002 /tmp/b.conf:3:1 syntax error, unexpected CF_SYM_UNDEFINED");
	assert_int_equal(bird_configure(c, "/nonexist", NULL, err, sizeof(err)), ED_ERCODE);
	assert_int_equal(bird_configure(c, NULL, &code, err, sizeof(err)), ED_EBUSY);
	assert_int_equal(bird_configure_check(c, "/tmp/b.conf", err, sizeof(err)), 0);
	assert_int_equal(bird_configure_check(c, "/tmp/b.conf", err, sizeof(err)), ED_ERCODE);
	assert_int_equal(bird_configure(c, NULL, &code, err, sizeof(err)), ED_EFORMAT);
	assert_int_equal(bird_configure_status(c, &code, err, sizeof(err)), 0);
	assert_int_equal(code, 4);
	assert_int_equal(bird_configure_status(c, &code, err, sizeof(err)), 0);
	assert_int_equal(code, 3);
	assert_int_equal(bird_configure_status(c, &code, err, sizeof(err)), ED_EFORMAT);
	assert_string_equal(f.got[9], "configure status");
	assert_int_equal(bird_configure(c, "/tmp/a\"b", &code, err, sizeof(err)), ED_EINVAL);
	assert_int_equal(bird_configure(c, "", &code, err, sizeof(err)), ED_EINVAL);
	assert_string_equal(f.got[0], "configure");
	assert_string_equal(f.got[1], "configure \"/tmp/b.conf\"");
	assert_string_equal(f.got[6], "configure check \"/tmp/b.conf\"");
	bird_close(c);
	fake_stop(&f);
	bird_free(c);
}

static void t_status(void **st)
{
	(void)st;
	const struct step steps[] = {
		{ "1000-BIRD 2.0.12\n1011-Router ID is 192.0.2.2\n Hostname is edge\n"
		  " Current server time is 2026-11-23 15:50:27.397\n"
		  " Last reboot on 2026-11-23 15:50:22.396\n"
		  " Last reconfiguration on 2026-11-23 15:50:25.001\n"
		  "0013 Daemon is up and running\n", REPLY },
		{ "1000-BIRD 2.0.12\n0014 Total: 3\n", REPLY },
	};
	struct fake f;
	fake_start(&f, GREETING, REPLY, steps, 2);
	bird_conn_t *c = connect_ok(&f, 2000, 0);
	char err[ERRLEN] = "";
	struct bird_status s;
	assert_int_equal(bird_show_status(c, &s, err, sizeof(err)), 0);
	assert_string_equal(s.version, "2.0.12");
	assert_string_equal(s.router_id, "192.0.2.2");
	assert_string_equal(s.server_time, "2026-11-23 15:50:27.397");
	assert_string_equal(s.last_reboot, "2026-11-23 15:50:22.396");
	assert_string_equal(s.last_reconfig, "2026-11-23 15:50:25.001");
	assert_int_equal(s.code, 13);
	assert_string_equal(s.message, "Daemon is up and running");
	assert_int_equal(bird_show_status(c, &s, err, sizeof(err)), ED_EFORMAT);
	bird_close(c);
	fake_stop(&f);
	bird_free(c);
}

/* A router's table: a BGP route with a long community set continued on a
 * second line, a second route of the same net, a second table. */
static const char ROUTES[] =
	"1007-Table master4:\n"
	" 203.0.113.53/32      unicast [bgp_edge 15:50:25.896 from 192.0.2.2] * (100) [AS64500i]\n"
	" \tvia 192.0.2.2 on veth0\n"
	"1008-\tType: BGP univ\n"
	"1012-\tBGP.origin: IGP\n"
	" \tBGP.as_path: 64500\n"
	" \tBGP.next_hop: 192.0.2.2\n"
	" \tBGP.local_pref: 100\n"
	" \tBGP.community: (64500,1) (64500,2) (64500,3)\n"
	" \t\t(65535,0) (64500,5)\n"
	" \tBGP.large_community: (64500, 0, 1)\n"
	"1007-                     unicast [bgp_edge2 15:50:26.000 from 192.0.2.3] (100) [AS64502i]\n"
	" \tvia 192.0.2.3 on veth0\n"
	"1008-\tType: BGP univ\n"
	"1012-\tBGP.origin: IGP\n"
	"1007-\n"
	" Table other4:\n"
	" 203.0.113.53/32      blackhole [static1 15:50:25.000] * (200)\n"
	"1008-\tType: static univ\n"
	"0000 \n";

static void t_show_route(void **st)
{
	(void)st;
	const struct step steps[] = {
		{ ROUTES, CHUNKED },
		{ "8001 Network not found\n", REPLY },
		{ "1007-Table master6:\n"
		  " 2001:db8:53::53/128  blackhole [gshut_dns_6 15:50:26.497] * (210)\n"
		  "1008-\tType: static univ\n1012-\tBGP.community: (65535,0)\n"
		  "1007-                     blackhole [anycast_dns_6 15:50:25.896] (200)\n"
		  "1008-\tType: static univ\n0000 \n", REPLY },
		{ "1007-Table master4:\n nonsense\n0000 \n", REPLY },
		{ "9001 syntax error\n", REPLY },
	};
	struct fake f;
	fake_start(&f, GREETING, REPLY, steps, 5);
	bird_conn_t *c = connect_ok(&f, 2000, 0);
	char err[ERRLEN] = "";
	struct bird_routes r;
	assert_int_equal(bird_show_route(c, "203.0.113.53", NULL, &r, err, sizeof(err)), 0);
	assert_int_equal(r.n, 3);
	assert_string_equal(r.v[0].table, "master4");
	assert_string_equal(r.v[0].net, "203.0.113.53/32");
	assert_string_equal(r.v[0].dest, "unicast");
	assert_string_equal(r.v[0].proto, "bgp_edge");
	assert_string_equal(r.v[0].gw, "192.0.2.2");
	assert_true(r.v[0].primary);
	assert_int_equal(r.v[0].ncommunities, 5);
	assert_true(bird_route_has_community(&r.v[0], BIRD_GSHUT_ASN, BIRD_GSHUT_VALUE));
	assert_true(bird_route_has_community(&r.v[0], 64500, 5));
	assert_false(bird_route_has_community(&r.v[0], 64500, 0));   /* the large one */
	assert_string_equal(r.v[1].net, "203.0.113.53/32");
	assert_string_equal(r.v[1].proto, "bgp_edge2");
	assert_false(r.v[1].primary);
	assert_int_equal(r.v[1].ncommunities, 0);
	assert_string_equal(r.v[2].table, "other4");
	assert_string_equal(r.v[2].dest, "blackhole");
	assert_string_equal(r.v[2].gw, "");
	bird_routes_free(&r);
	assert_int_equal(bird_show_route(c, "203.0.113.54/32", "bgp_edge", &r, err,
	                                 sizeof(err)), 0);
	assert_int_equal(r.n, 0);
	assert_int_equal(bird_show_route(c, "2001:DB8:53::53", NULL, &r, err, sizeof(err)), 0);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.v[0].proto, "gshut_dns_6");
	assert_true(bird_route_has_community(&r.v[0], 65535, 0));
	assert_false(bird_route_has_community(&r.v[1], 65535, 0));
	bird_routes_free(&r);
	assert_int_equal(bird_show_route(c, "203.0.113.53/32", NULL, &r, err, sizeof(err)),
	                 ED_EFORMAT);
	assert_int_equal(r.n, 0);
	assert_int_equal(bird_show_route(c, "203.0.113.53/32", NULL, &r, err, sizeof(err)),
	                 ED_ERCODE);
	/* never sent */
	assert_int_equal(bird_show_route(c, "203.0.113.53/33", NULL, &r, err, sizeof(err)),
	                 ED_EINVAL);
	assert_int_equal(bird_show_route(c, "203.0.113.53 all", NULL, &r, err, sizeof(err)),
	                 ED_EINVAL);
	assert_int_equal(bird_show_route(c, "203.0.113.53", "a b", &r, err, sizeof(err)),
	                 ED_EINVAL);
	assert_string_equal(f.got[0], "show route 203.0.113.53/32 all");
	assert_string_equal(f.got[1], "show route 203.0.113.54/32 protocol bgp_edge all");
	assert_string_equal(f.got[2], "show route 2001:db8:53::53/128 all");
	assert_int_equal(f.ngot, 5);
	bird_close(c);
	fake_stop(&f);
	bird_free(c);
}

static void t_prefix_norm(void **st)
{
	(void)st;
	char out[64];
	int fam = 0;
	assert_int_equal(bird_prefix_norm("203.0.113.53", out, sizeof(out), &fam), 0);
	assert_string_equal(out, "203.0.113.53/32");
	assert_int_equal(fam, 4);
	assert_int_equal(bird_prefix_norm("2001:0DB8:0053::0053/128", out, sizeof(out), &fam), 0);
	assert_string_equal(out, "2001:db8:53::53/128");
	assert_int_equal(fam, 6);
	assert_int_equal(bird_prefix_norm("198.51.100.0/24", out, sizeof(out), NULL), 0);
	assert_int_equal(bird_prefix_norm("0.0.0.0/0", out, sizeof(out), NULL), 0);
	assert_int_equal(bird_prefix_norm("198.51.100.1/24", out, sizeof(out), NULL), ED_EINVAL);
	assert_int_equal(bird_prefix_norm("198.51.100.0/", out, sizeof(out), NULL), ED_EINVAL);
	assert_int_equal(bird_prefix_norm("198.51.100.0/-1", out, sizeof(out), NULL), ED_EINVAL);
	assert_int_equal(bird_prefix_norm("2001:db8::/129", out, sizeof(out), NULL), ED_EINVAL);
	assert_int_equal(bird_prefix_norm("/32", out, sizeof(out), NULL), ED_EINVAL);
	assert_int_equal(bird_prefix_norm("example.com", out, sizeof(out), NULL), ED_EINVAL);
	assert_int_equal(bird_prefix_norm("203.0.113.53", out, 8, NULL), ED_EINVAL);
	assert_true(bird_name_ok("anycast_dns_4"));
	assert_true(bird_name_ok("_x"));
	assert_false(bird_name_ok("4x"));
	assert_false(bird_name_ok("a-b"));
	char longname[BIRD_NAME_MAX + 2];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_false(bird_name_ok(longname));
	longname[BIRD_NAME_MAX] = '\0';
	assert_true(bird_name_ok(longname));
}

/* ---- the anycast policy: the commands and their order -------------------- */

#define PROTO_ROWS(a4, a6, g4, g6) \
	"2002-Name       Proto      Table      State  Since         Info\n" \
	"1002-device1    Device     ---        up     15:50:22.396  \n" \
	" anycast_dns_4 Static     master4    " a4 "   15:50:22.396  \n" \
	" anycast_dns_6 Static     master6    " a6 "   15:50:22.396  \n" \
	" gshut_dns_4 Static     master4    " g4 "   15:50:22.396  \n" \
	" gshut_dns_6 Static     master6    " g6 "   15:50:22.396  \n" \
	"0000 \n"
#define ROUTE_OK "1007-Table master4:\n 203.0.113.53/32      blackhole [x 15:50:25.896] * (200)\n0000 \n"
#define ROUTE_NO "8001 Network not found\n"

static const char *const v4[] = { "203.0.113.53" };
static const char *const v6[] = { "2001:db8:53::53/128" };
static const struct birdconf_service svc = { "dns", v4, 1, v6, 1 };

static void t_anycast_order(void **st)
{
	(void)st;
	const struct step steps[] = {
		/* announce */
		{ "0011-anycast_dns_4: enabled\n0000 \n", REPLY },
		{ "0011-anycast_dns_6: enabled\n0000 \n", REPLY },
		{ ROUTE_NO, REPLY },                          /* not yet: poll again */
		{ ROUTE_OK, REPLY },
		{ ROUTE_OK, REPLY },
		{ "0008-gshut_dns_4: already disabled\n0000 \n", REPLY },
		{ "0008-gshut_dns_6: already disabled\n0000 \n", REPLY },
		/* drain */
		{ "0011-gshut_dns_4: enabled\n0000 \n", REPLY },
		{ "0011-gshut_dns_6: enabled\n0000 \n", REPLY },
		{ ROUTE_OK, REPLY },
		{ ROUTE_OK, REPLY },
		{ "0009-anycast_dns_4: disabled\n0000 \n", REPLY },
		{ "0009-anycast_dns_6: disabled\n0000 \n", REPLY },
		/* state */
		{ PROTO_ROWS("down", "down", "up  ", "up  "), REPLY },
		/* withdraw */
		{ "0008-anycast_dns_4: already disabled\n0000 \n", REPLY },
		{ "0008-anycast_dns_6: already disabled\n0000 \n", REPLY },
		{ "0009-gshut_dns_4: disabled\n0000 \n", REPLY },
		{ "0009-gshut_dns_6: disabled\n0000 \n", REPLY },
		/* states */
		{ PROTO_ROWS("down", "down", "down", "down"), REPLY },
		{ PROTO_ROWS("up  ", "up  ", "down", "down"), REPLY },
		{ PROTO_ROWS("up  ", "up  ", "up  ", "up  "), REPLY },
		{ PROTO_ROWS("up  ", "down", "down", "down"), REPLY },
		{ PROTO_ROWS("up  ", "start", "flush", "stop"), REPLY },
		/* assert: already announced, one command */
		{ PROTO_ROWS("up  ", "up  ", "down", "down"), REPLY },
		/* a failure half way */
		{ "0011-gshut_dns_4: enabled\n0000 \n", REPLY },
		{ "8003 No protocols match\n", REPLY },
	};
	const char *want[] = {
		"enable \"anycast_dns_4\"", "enable \"anycast_dns_6\"",
		"show route 203.0.113.53/32 protocol anycast_dns_4 all",
		"show route 203.0.113.53/32 protocol anycast_dns_4 all",
		"show route 2001:db8:53::53/128 protocol anycast_dns_6 all",
		"disable \"gshut_dns_4\"", "disable \"gshut_dns_6\"",
		"enable \"gshut_dns_4\"", "enable \"gshut_dns_6\"",
		"show route 203.0.113.53/32 protocol gshut_dns_4 all",
		"show route 2001:db8:53::53/128 protocol gshut_dns_6 all",
		"disable \"anycast_dns_4\"", "disable \"anycast_dns_6\"",
		"show protocols",
		"disable \"anycast_dns_4\"", "disable \"anycast_dns_6\"",
		"disable \"gshut_dns_4\"", "disable \"gshut_dns_6\"",
		"show protocols", "show protocols", "show protocols", "show protocols",
		"show protocols", "show protocols",
		"enable \"gshut_dns_4\"", "enable \"gshut_dns_6\"",
	};
	size_t nsteps = sizeof(steps) / sizeof(steps[0]);
	struct fake f;
	fake_start(&f, GREETING, REPLY, steps, nsteps);
	bird_conn_t *c = connect_ok(&f, 2000, 0);
	char err[ERRLEN] = "";
	enum anycast_state s;
	assert_int_equal(anycast_announce(c, &svc, err, sizeof(err)), 0);
	assert_int_equal(anycast_drain(c, &svc, err, sizeof(err)), 0);
	assert_int_equal(anycast_state(c, &svc, &s, err, sizeof(err)), 0);
	assert_int_equal(s, ANYCAST_DRAINING);
	assert_int_equal(anycast_withdraw(c, &svc, err, sizeof(err)), 0);
	assert_int_equal(anycast_state(c, &svc, &s, err, sizeof(err)), 0);
	assert_int_equal(s, ANYCAST_WITHDRAWN);
	assert_int_equal(anycast_state(c, &svc, &s, err, sizeof(err)), 0);
	assert_int_equal(s, ANYCAST_ANNOUNCED);
	assert_int_equal(anycast_state(c, &svc, &s, err, sizeof(err)), 0);
	assert_int_equal(s, ANYCAST_DRAINING);
	assert_int_equal(anycast_state(c, &svc, &s, err, sizeof(err)), 0);
	assert_int_equal(s, ANYCAST_MIXED);
	assert_string_equal(anycast_state_name(s), "mixed");
	/* "start" is on its way up, "flush" and "stop" on their way down */
	assert_int_equal(anycast_state(c, &svc, &s, err, sizeof(err)), 0);
	assert_int_equal(s, ANYCAST_ANNOUNCED);
	assert_int_equal(anycast_assert(c, &svc, ANYCAST_ANNOUNCED, err, sizeof(err)), 0);
	assert_int_equal(anycast_drain(c, &svc, err, sizeof(err)), ED_ENOENT);
	assert_non_null(strstr(err, "gshut_dns_6"));
	assert_int_equal(f.ngot, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < f.ngot; i++)
		assert_string_equal(f.got[i], want[i]);
	bird_close(c);
	fake_stop(&f);
	bird_free(c);
}

static unsigned withdrawn_seen;

static void count_withdrawn(void *arg, const char *name, bool changed, int rc, const char *err)
{
	(void)arg;
	(void)name;
	(void)err;
	withdrawn_seen += rc == 0 && changed;
}

/* withdraw without a service: every anycast_* then every gshut_*, from
 * one "show protocols"; a refusal does not stop the others. */
static void t_withdraw_all(void **st)
{
	(void)st;
	const struct step steps[] = {
		{ "2002-Name       Proto      Table      State  Since         Info\n"
		  "1002-device1    Device     ---        up     15:50:22.396  \n"
		  " gshut_a_4   Static     master4    down   15:50:22.396  \n"
		  " anycast_a_4 Static     master4    up     15:50:22.396  \n"
		  " bgp_r1      BGP        ---        up     15:50:22.396  Established\n"
		  " anycast_b_6 Static     master6    up     15:50:22.396  \n"
		  " gshut_b_6   Static     master6    up     15:50:22.396  \n"
		  "0000 \n", REPLY },
		{ "0009-anycast_a_4: disabled\n0000 \n", REPLY },
		{ "9001 syntax error\n", REPLY },
		{ "0008-gshut_a_4: already disabled\n0000 \n", REPLY },
		{ "0009-gshut_b_6: disabled\n0000 \n", REPLY },
		{ PROTO_ROWS("down", "down", "down", "down"), REPLY },
		{ "0008-anycast_dns_4: already disabled\n0000 \n", REPLY },
		{ "0008-anycast_dns_6: already disabled\n0000 \n", REPLY },
		{ "0008-gshut_dns_4: already disabled\n0000 \n", REPLY },
		{ "0008-gshut_dns_6: already disabled\n0000 \n", REPLY },
	};
	const char *want[] = {
		"show protocols", "disable \"anycast_a_4\"", "disable \"anycast_b_6\"",
		"disable \"gshut_a_4\"", "disable \"gshut_b_6\"",
		"show protocols", "disable \"anycast_dns_4\"", "disable \"anycast_dns_6\"",
		"disable \"gshut_dns_4\"", "disable \"gshut_dns_6\"",
	};
	struct fake f;
	fake_start(&f, GREETING, REPLY, steps, sizeof(steps) / sizeof(steps[0]));
	bird_conn_t *c = connect_ok(&f, 2000, 0);
	char err[ERRLEN] = "";
	unsigned n = 99;
	withdrawn_seen = 0;
	assert_int_equal(anycast_withdraw_all(c, count_withdrawn, NULL, &n, err, sizeof(err)),
	                 ED_ERCODE);
	assert_non_null(strstr(err, "anycast_b_6"));
	assert_int_equal(n, 2);
	assert_int_equal(withdrawn_seen, 2);
	assert_int_equal(anycast_withdraw_all(c, NULL, NULL, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	assert_int_equal(f.ngot, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < f.ngot; i++)
		assert_string_equal(f.got[i], want[i]);
	bird_close(c);
	fake_stop(&f);
	bird_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_greeting),
		cmocka_unit_test(t_bad_greetings),
		cmocka_unit_test(t_no_socket),
		cmocka_unit_test(t_command_lines),
		cmocka_unit_test(t_error_codes),
		cmocka_unit_test(t_broken_replies),
		cmocka_unit_test(t_oversize),
		cmocka_unit_test(t_show_protocols),
		cmocka_unit_test(t_enable_disable),
		cmocka_unit_test(t_configure),
		cmocka_unit_test(t_show_bgp),
		cmocka_unit_test(t_status),
		cmocka_unit_test(t_show_route),
		cmocka_unit_test(t_prefix_norm),
		cmocka_unit_test(t_anycast_order),
		cmocka_unit_test(t_withdraw_all),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
