/* ctlsock.c: JSON lines on a unix socket, answered from the zone service. */
#include "ctlsock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <jansson.h>

#include "ctllog.h"
#include "daemon.h"
#include "error.h"
#include "health.h"

struct ctlconn {
	struct ctlconn *next, *prev;
	struct ctlsock *cs;
	struct bufferevent *bev;
	int stop;                    /* a stop asked on it (CTLSOCK_STOP_*):
	                                done once its reply is written */
};

struct ctlsock {
	struct evconnlistener *lis;
	struct svc *svc;
	struct health *health;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct ctlconn *conns;
	void (*on_stop)(void *arg, int keep_routes);
	void *stop_arg;
	int stopping;
};

static char *reply_error(const char *msg)
{
	json_t *o = json_pack("{s:b,s:s}", "ok", 0, "error", msg);
	char *r = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return r;
}

char *ctlsock_exec(struct svc *svc, struct health *health, const char *line, int *stop)
{
	*stop = CTLSOCK_STOP_NONE;
	json_error_t je;
	json_t *req = json_loads(line, 0, &je);
	if (req == NULL || !json_is_object(req)) {
		json_decref(req);
		return reply_error("request is not a JSON object");
	}
	const char *cmd = json_string_value(json_object_get(req, "cmd"));
	const char *zone = json_string_value(json_object_get(req, "zone"));
	json_t *rep = NULL;
	char *out = NULL;
	if (cmd == NULL) {
		out = reply_error("no \"cmd\"");
	} else if (strcmp(cmd, "status") == 0) {
		rep = svc_status(svc, NULL);
		if (rep != NULL)
			json_object_set_new(rep, "version", json_string(EDGEDNS_VERSION));
	} else if (strcmp(cmd, "reload") == 0) {
		char err[1024] = "";
		ctllog(LOG_NOTICE, NULL, "configuration reload requested on the control socket");
		daemon_notify("RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading the configuration",
		              (unsigned long long)daemon_monotonic_usec());
		if (svc_reload(svc, err, sizeof(err)) != 0) {
			ctllog(LOG_ERR, NULL, "reload failed, configuration unchanged: %s", err);
			daemon_notify("READY=1\nSTATUS=reload failed, configuration unchanged: %.200s",
			              err);
			out = reply_error(err);
		} else {
			daemon_notify("READY=1\nSTATUS=configuration reloaded");
			rep = json_object();
		}
	} else if (strcmp(cmd, "stop") == 0) {
		json_t *keep = json_object_get(req, "keep_routes");
		if (keep != NULL && !json_is_boolean(keep)) {
			out = reply_error("stop: \"keep_routes\" is true or false");
		} else {
			*stop = json_is_true(keep) ? CTLSOCK_STOP_KEEP_ROUTES : CTLSOCK_STOP;
			ctllog(LOG_NOTICE, NULL, "stop requested on the control socket%s",
			       *stop == CTLSOCK_STOP_KEEP_ROUTES ? ", routes left in BIRD" : "");
			rep = json_pack("{s:b}", "keep_routes", *stop == CTLSOCK_STOP_KEEP_ROUTES);
		}
	} else if (strcmp(cmd, "zone-status") == 0 || strcmp(cmd, "refresh") == 0) {
		json_t *z = zone ? svc_status(svc, zone) : NULL;
		if (zone == NULL) {
			out = reply_error("no \"zone\"");
		} else if (z == NULL) {
			char msg[600];
			snprintf(msg, sizeof(msg), "no such zone: %.500s", zone);
			out = reply_error(msg);
		} else if (cmd[0] == 'z') {
			rep = json_object();
			json_object_set_new(rep, "zone", z);
		} else {
			json_decref(z);
			svc_refresh(svc, zone);
			ctllog(LOG_INFO, zone, "refresh requested on the control socket");
			rep = json_object();
		}
	} else if (strcmp(cmd, "health") == 0) {
		if (health == NULL)
			out = reply_error("no health checks here");
		else
			rep = health_status(health);
	} else if (strcmp(cmd, "maintenance") == 0) {
		const char *id = json_string_value(json_object_get(req, "service"));
		json_t *on = json_object_get(req, "on");
		char err[300] = "";
		if (health == NULL)
			out = reply_error("no health checks here");
		else if (id == NULL || !json_is_boolean(on))
			out = reply_error("maintenance needs \"service\" and \"on\" (true or false)");
		else if (health_maintenance(health, id, json_is_true(on), err, sizeof(err)) != 0)
			out = reply_error(err);
		else
			rep = json_object();
	} else {
		char msg[200];
		snprintf(msg, sizeof(msg), "unknown command: %.100s", cmd);
		out = reply_error(msg);
	}
	if (rep != NULL) {
		json_object_set_new(rep, "ok", json_true());
		out = json_dumps(rep, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(rep);
	}
	json_decref(req);
	return out;
}

static void conn_free(struct ctlconn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		c->cs->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	bufferevent_free(c->bev);
	free(c);
}

/* A stop asked on c: once (the first one wins), after its reply left. */
static void do_stop(struct ctlconn *c)
{
	struct ctlsock *cs = c->cs;
	int keep = c->stop == CTLSOCK_STOP_KEEP_ROUTES;
	c->stop = CTLSOCK_STOP_NONE;
	if (cs->stopping || cs->on_stop == NULL)
		return;
	cs->stopping = 1;
	cs->on_stop(cs->stop_arg, keep);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct ctlconn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;
	size_t n;
	/* bounded: by what has arrived; nothing after a stop */
	while (c->stop == CTLSOCK_STOP_NONE &&
	       (line = evbuffer_readln(in, &n, EVBUFFER_EOL_LF)) != NULL) {
		char *r = n ? ctlsock_exec(c->cs->svc, c->cs->health, line, &c->stop) : NULL;
		free(line);
		if (r != NULL) {
			bufferevent_write(bev, r, strlen(r));
			bufferevent_write(bev, "\n", 1);
			free(r);
		} else if (n) {
			bufferevent_write(bev, "{\"ok\":false,\"error\":\"out of memory\"}\n", 37);
		}
	}
	if (c->stop == CTLSOCK_STOP_NONE && evbuffer_get_length(in) > CTLSOCK_MAX_LINE)
		conn_free(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct ctlconn *c = arg;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		/* the client went before its reply: stop all the same */
		if (c->stop != CTLSOCK_STOP_NONE)
			do_stop(c);
		conn_free(c);
	}
}

/* The output is written: a stop asked on this connection happens now. */
static void on_write(struct bufferevent *bev, void *arg)
{
	struct ctlconn *c = arg;
	if (c->stop != CTLSOCK_STOP_NONE)
		do_stop(c);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
                      void *arg)
{
	struct ctlsock *cs = arg;
	struct ctlconn *c = calloc(1, sizeof(*c));
	struct bufferevent *bev = bufferevent_socket_new(evconnlistener_get_base(l), fd,
	                                                 BEV_OPT_CLOSE_ON_FREE);
	if (c == NULL || bev == NULL) {
		free(c);
		if (bev)
			bufferevent_free(bev);
		else
			close(fd);
		return;
	}
	c->cs = cs;
	c->bev = bev;
	c->next = cs->conns;
	if (cs->conns)
		cs->conns->prev = c;
	cs->conns = c;
	bufferevent_setcb(bev, on_read, on_write, on_event, c);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

struct ctlsock *ctlsock_new(struct event_base *base, struct svc *svc, const char *path,
                            char *err, size_t errlen)
{
	struct sockaddr_un sun;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		ed_seterr(err, errlen, "%s: path too long for a unix socket", path);
		return NULL;
	}
	strcpy(sun.sun_path, path);
	struct ctlsock *cs = calloc(1, sizeof(*cs));
	if (cs == NULL) {
		ed_seterr(err, errlen, "out of memory");
		return NULL;
	}
	cs->svc = svc;
	snprintf(cs->path, sizeof(cs->path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		ed_seterr(err, errlen, "socket: %s", strerror(errno));
		free(cs);
		return NULL;
	}
	unlink(path);
	mode_t old = umask(0077);
	int rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc != 0 || listen(fd, 16) != 0) {
		ed_seterr(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		free(cs);
		return NULL;
	}
	cs->lis = evconnlistener_new(base, on_accept, cs,
	                             LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (cs->lis == NULL) {
		ed_seterr(err, errlen, "%s: listener failed", path);
		close(fd);
		unlink(path);
		free(cs);
		return NULL;
	}
	return cs;
}

void ctlsock_free(struct ctlsock *cs)
{
	if (cs == NULL)
		return;
	while (cs->conns != NULL)
		conn_free(cs->conns);
	evconnlistener_free(cs->lis);
	unlink(cs->path);
	free(cs);
}

void ctlsock_set_health(struct ctlsock *c, struct health *h)
{
	c->health = h;
}

void ctlsock_set_stop(struct ctlsock *c, void (*fn)(void *arg, int keep_routes), void *arg)
{
	c->on_stop = fn;
	c->stop_arg = arg;
}
