/* edgedns_control.c: edgedns-control -c CONFIG [-f]: the zone service and
 * its control socket on one libevent loop, the health checks on their own
 * thread (routes through BIRD when the config has a bgp section; the BIRD
 * config is written at start when it changed, and BIRD told to load it).
 * edgedns-control -c CONFIG -B prints the BIRD config and exits;
 * --check checks the configuration and exits.
 *
 * snapshot-dir and state-dir are created when missing. One instance per
 * state directory (STATE_DIR/edgedns-control.lock, taken before anything
 * else is written or bound). Under systemd (Type=notify):
 * READY=1 once the zones' state is loaded and the control socket and the
 * health checks run; WATCHDOG=1 every half WatchdogSec from the loop, only
 * while the health thread completes its passes (none for a whole
 * WatchdogSec: withheld, so systemd restarts control within two intervals
 * of the thread getting stuck); RELOADING=1 and READY=1
 * around a reload; STOPPING=1 at a stop.
 *
 * SIGTERM/SIGINT (or "stop" on the control socket): the routes are
 * drained for each service's stop-drain-time and withdrawn in BIRD
 * (health_stop()), running transfers get a few seconds, state is saved.
 * "stop" with keep_routes leaves BIRD as it is for a restart that adopts
 * the routes. SIGHUP reloads the configuration (svc_reload(); a broken file
 * is logged and changes nothing). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <ldns/ldns.h>

#include "config.h"
#include "ctllog.h"
#include "ctlsock.h"
#include "daemon.h"
#include "health.h"
#include "notify.h"
#include "route_bird.h"
#include "service.h"

#define PROG "edgedns-control"
#define STOP_WAIT_MS 5000u
#define LOCK_NAME "edgedns-control.lock"

static void usage(FILE *f)
{
	fprintf(f, "usage: " PROG " [-c CONFIG] [-f] [-w WORKERS]\n"
	           "       " PROG " [-c CONFIG] --check | -B\n"
	           "  -c, --config CONFIG  the YAML configuration (default %s)\n"
	           "  -f, --foreground     log to stderr whatever the config says\n"
	           "  -w, --workers N      transfer worker threads (default %u)\n"
	           "      --check          check CONFIG (secret files, directories, the BIRD\n"
	           "                       config) and exit: 0 ok, 1 not\n"
	           "  -B, --bird-config    print the BIRD configuration of CONFIG and exit\n"
	           "  -h, --help           this text\n"
	           "  -V, --version        the version\n",
	        CFG_DEFAULT_PATH, SVC_DEFAULT_WORKERS);
}

/* What stops the loop, and how. */
struct run {
	struct event_base *base;
	int keep_routes;             /* "stop" with keep_routes */
	struct health *health;
	uint64_t wd_usec;            /* watchdog interval; 0: none */
	int stalled;                 /* the keep-alives are held back */
};

static void on_stop(evutil_socket_t sig, short ev, void *arg)
{
	struct run *r = arg;
	ctllog(LOG_NOTICE, NULL, "signal %d: stopping", (int)sig);
	r->keep_routes = 0;
	event_base_loopbreak(r->base);
}

static void on_ctl_stop(void *arg, int keep_routes)
{
	struct run *r = arg;
	r->keep_routes = keep_routes;
	event_base_loopbreak(r->base);
}

static void on_hup(evutil_socket_t sig, short ev, void *arg)
{
	char err[1024] = "";
	ctllog(LOG_NOTICE, NULL, "SIGHUP: reloading the configuration");
	daemon_notify("RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading the configuration",
	              (unsigned long long)daemon_monotonic_usec());
	if (svc_reload(arg, err, sizeof(err)) != 0) {
		ctllog(LOG_ERR, NULL, "reload failed, configuration unchanged: %s", err);
		daemon_notify("READY=1\nSTATUS=reload failed, configuration unchanged: %.200s", err);
	} else {
		daemon_notify("READY=1\nSTATUS=configuration reloaded");
	}
}

/* The systemd watchdog's keep-alive, every half interval: only while the
 * health thread completes its passes, so that a stuck one (its routes no
 * longer checked, its lease no longer renewed) gets control restarted. */
static void on_watchdog(evutil_socket_t fd, short ev, void *arg)
{
	struct run *r = arg;
	uint64_t age;
	if (health_stalled(r->health, r->wd_usec / 1000u, &age)) {
		if (!r->stalled)
			ctllog(LOG_ERR, NULL, "the health thread has not completed a pass for %llu ms: "
			       "watchdog keep-alives withheld", (unsigned long long)age);
		daemon_notify("STATUS=health thread stuck for %llu ms: watchdog keep-alives withheld",
		              (unsigned long long)age);
		r->stalled = 1;
		return;
	}
	if (r->stalled) {
		ctllog(LOG_NOTICE, NULL, "the health thread runs again: watchdog keep-alives resume");
		daemon_notify("STATUS=health thread running again");
		r->stalled = 0;
	}
	daemon_notify("WATCHDOG=1");
}

/* ---- --check ------------------------------------------------------------- */

/* A directory control writes to: it exists and we may write to it, or it
 * can be created (its nearest existing parent is a directory we may write
 * to). Nothing is created. 0, or -1 with why. */
static int dir_usable(const char *path, char *why, size_t n)
{
	struct stat st;
	if (stat(path, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			snprintf(why, n, "not a directory");
			return -1;
		}
		if (access(path, W_OK | X_OK) != 0) {
			snprintf(why, n, "not writable: %s", strerror(errno));
			return -1;
		}
		return 0;
	}
	if (errno != ENOENT && errno != ENOTDIR) {
		snprintf(why, n, "%s", strerror(errno));
		return -1;
	}
	char parent[PATH_MAX];
	snprintf(parent, sizeof(parent), "%s", path);
	for (;;) {
		char *slash = strrchr(parent, '/');
		if (slash == NULL) {
			snprintf(why, n, "does not exist");
			return -1;
		}
		if (slash == parent)
			slash[1] = '\0';   /* the root */
		else
			*slash = '\0';
		if (stat(parent, &st) == 0)
			break;
		if ((errno != ENOENT && errno != ENOTDIR) || strcmp(parent, "/") == 0) {
			snprintf(why, n, "does not exist, and %.300s: %s", parent, strerror(errno));
			return -1;
		}
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(why, n, "does not exist, and %.300s is not a directory", parent);
		return -1;
	}
	if (access(parent, W_OK | X_OK) != 0) {
		snprintf(why, n, "does not exist and cannot be created in %.300s: %s", parent,
		         strerror(errno));
		return -1;
	}
	return 0;
}

/* Create dir and its missing parents (mode 0755: the dataplane, another
 * user, reads the snapshots). 0, or -1 with why. */
static int mkdir_p(const char *dir, char *why, size_t n)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s", dir);
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, 0755) != 0 && errno != EEXIST) {
			snprintf(why, n, "%.300s: %s", p, strerror(errno));
			return -1;
		}
		*s = c;
		if (c == '\0')
			return 0;
	}
}

/* --check: every problem on stderr, "FILE: ok" on stdout; 0 or 1. */
static int check_config(const char *path)
{
	char err[1024] = "";
	struct cfg *cfg = NULL;
	/* the loader reads every key's secret file (and BGP password file)
	 * and checks it; its first error comes as FILE:LINE: ... */
	if (cfg_load(path, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, PROG ": %s\n", err);
		return 1;
	}
	int bad = 0;
	const struct { const char *key, *dir; } dirs[] = {
		{ "control.snapshot-dir", cfg->snapshot_dir },
		{ "control.state-dir", cfg->state_dir },
	};
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (i > 0 && strcmp(dirs[i].dir, dirs[0].dir) == 0)
			continue;
		if (dir_usable(dirs[i].dir, err, sizeof(err)) != 0) {
			fprintf(stderr, PROG ": %s: %s: %s: %s\n", path, dirs[i].key, dirs[i].dir, err);
			bad = 1;
		}
	}
	if (cfg->bgp.present) {
		char *text = NULL;
		size_t len = 0;
		if (route_bird_render(cfg, &text, &len, err, sizeof(err)) != 0) {
			fprintf(stderr, PROG ": %s:%u: bgp: the BIRD configuration does not render: %s\n",
			        path, cfg->bgp.line, err);
			bad = 1;
		}
		free(text);
	}
	cfg_free(cfg);
	if (!bad)
		printf(PROG ": %s: ok\n", path);
	return bad;
}

int main(int argc, char **argv)
{
	/* Transfers run on worker threads; a zone version is allocated on one
	 * and freed on the main thread. Few malloc arenas keep the freed
	 * memory reusable by the next version instead of one heap per worker
	 * holding a copy of the zone. */
	mallopt(M_ARENA_MAX, 2);
	/* large temporary buffers (the sort of a whole zone, the snapshot
	 * image) are mapped and given back when freed, rather than kept in
	 * the heap by the dynamic threshold */
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
	const char *path = CFG_DEFAULT_PATH;
	int fg = 0, print_bird = 0, check = 0, opt;
	unsigned workers = 0;
	enum { O_CHECK = 256 };
	static const struct option lo[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "workers", required_argument, NULL, 'w' },
		{ "bird-config", no_argument, NULL, 'B' },
		{ "check", no_argument, NULL, O_CHECK },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	while ((opt = getopt_long(argc, argv, "c:fw:hBV", lo, NULL)) != -1) {
		switch (opt) {
		case 'B': print_bird = 1; break;
		case O_CHECK: check = 1; break;
		case 'c': path = optarg; break;
		case 'f': fg = 1; break;
		case 'w': workers = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'h': usage(stdout); return 0;
		case 'V': daemon_version(PROG); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || (check && print_bird)) {
		usage(stderr);
		return 2;
	}
	if (check)
		return check_config(path);
	char err[1024] = "";
	struct cfg *cfg = NULL;
	if (cfg_load(path, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, PROG ": %s\n", err);
		return 1;
	}
	if (print_bird) {
		char *text = NULL;
		size_t len = 0;
		if (!cfg->bgp.present) {
			fprintf(stderr, PROG ": %s has no bgp section\n", path);
			return 1;
		}
		if (route_bird_render(cfg, &text, &len, err, sizeof(err)) != 0) {
			fprintf(stderr, PROG ": %s\n", err);
			return 1;
		}
		fwrite(text, 1, len, stdout);
		free(text);
		cfg_free(cfg);
		return 0;
	}
	ctllog_open(fg ? CFG_LOG_STDERR : cfg->log, PROG);
	/* the directories --check found usable: created when missing */
	if (mkdir_p(cfg->snapshot_dir, err, sizeof(err)) != 0 ||
	    mkdir_p(cfg->state_dir, err, sizeof(err)) != 0) {
		ctllog(LOG_ERR, NULL, "%s", err);
		return 1;
	}
	/* one control per state: before the BIRD config, the state files or
	 * the control socket are touched */
	char lockpath[PATH_MAX];
	int lockfd = -1;
	snprintf(lockpath, sizeof(lockpath), "%s/" LOCK_NAME, cfg->state_dir);
	if (daemon_lock(lockpath, PROG, &lockfd, err, sizeof(err)) != 0) {
		ctllog(LOG_ERR, NULL, "%s", err);
		if (!fg && cfg->log != CFG_LOG_STDERR)
			fprintf(stderr, PROG ": %s\n", err);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	if (evthread_use_pthreads() != 0) {
		ctllog(LOG_ERR, NULL, "libevent without pthreads");
		return 1;
	}
	struct run run = { .base = event_base_new(), .wd_usec = daemon_watchdog_usec() };
	struct event_base *base = run.base;
	if (base == NULL) {
		ctllog(LOG_ERR, NULL, "event_base_new failed");
		return 1;
	}
	struct svc *svc = svc_new(cfg, base, workers, err, sizeof(err));
	if (svc == NULL) {
		ctllog(LOG_ERR, NULL, "%s", err);
		return 1;
	}
	struct ctlsock *cs = ctlsock_new(base, svc, cfg->socket, err, sizeof(err));
	if (cs == NULL) {
		ctllog(LOG_ERR, NULL, "control socket: %s", err);
		return 1;
	}
	ctlsock_set_stop(cs, on_ctl_stop, &run);
	struct route_bird *rb = NULL;
	struct health_route_ops ops;
	if (cfg->bgp.present) {
		if ((rb = route_bird_new(cfg, err, sizeof(err))) == NULL) {
			ctllog(LOG_ERR, NULL, "bgp: %s", err);
			return 1;
		}
		route_bird_ops(rb, &ops);
		int changed = 0;
		if (cfg->bgp.config_file != NULL) {
			if (route_bird_write_config(cfg, &changed, err, sizeof(err)) != 0) {
				ctllog(LOG_ERR, NULL, "BIRD config: %s", err);
				return 1;
			}
			ctllog(LOG_NOTICE, NULL, "BIRD config %s %s", cfg->bgp.config_file,
			       changed ? "written" : "unchanged");
		}
		/* a BIRD already running loads the new file, announcing what
		 * it announced before */
		if (changed && route_bird_configure(rb, err, sizeof(err)) != 0)
			ctllog(LOG_WARNING, NULL, "BIRD at %s not reconfigured (%s): it reads the "
			       "file when it starts", cfg->bgp.socket, err);
	}
	struct health *health = health_new(cfg, svc, rb != NULL ? &ops : NULL, err, sizeof(err));
	if (health == NULL) {
		ctllog(LOG_ERR, NULL, "health: %s", err);
		return 1;
	}
	run.health = health;
	ctlsock_set_health(cs, health);
	struct notify *nl = NULL;
	if (cfg->n_notify_listen) {
		nl = notify_new(base, svc, err, sizeof(err));
		if (nl == NULL) {
			ctllog(LOG_ERR, NULL, "notify: %s", err);
			return 1;
		}
	}
	struct event *sigterm = evsignal_new(base, SIGTERM, on_stop, &run);
	struct event *sigint = evsignal_new(base, SIGINT, on_stop, &run);
	struct event *sighup = evsignal_new(base, SIGHUP, on_hup, svc);
	evsignal_add(sigterm, NULL);
	evsignal_add(sigint, NULL);
	evsignal_add(sighup, NULL);
	if (svc_start(svc, err, sizeof(err)) != 0) {
		ctllog(LOG_ERR, NULL, "%s", err);
		return 1;
	}
	if (health_start(health, err, sizeof(err)) != 0) {
		ctllog(LOG_ERR, NULL, "%s", err);
		return 1;
	}
	struct event *wd = NULL;
	if (run.wd_usec != 0) {
		uint64_t half = run.wd_usec / 2;
		struct timeval tv = { .tv_sec = (time_t)(half / 1000000u),
		                      .tv_usec = (suseconds_t)(half % 1000000u) };
		wd = event_new(base, -1, EV_PERSIST, on_watchdog, &run);
		if (wd == NULL || event_add(wd, &tv) != 0) {
			ctllog(LOG_ERR, NULL, "watchdog timer failed");
			return 1;
		}
	}
	ctllog(LOG_NOTICE, NULL, "started: version %s, %u zone(s), %u service(s), control "
	       "socket %s%s", EDGEDNS_VERSION, cfg->n_zones, cfg->n_services, cfg->socket,
	       run.wd_usec ? ", systemd watchdog" : "");
	daemon_notify("READY=1\nSTATUS=serving %u zone(s), %u anycast service(s)", cfg->n_zones,
	              cfg->n_services);
	if (wd != NULL)
		daemon_notify("WATCHDOG=1");
	event_base_dispatch(base);

	daemon_notify("STOPPING=1\nSTATUS=stopping%s", run.keep_routes ? ", routes left in BIRD"
	              : ": draining and withdrawing the routes");
	if (wd != NULL)
		event_free(wd);
	health_stop(health, !run.keep_routes);
	health_free(health);
	route_bird_free(rb);
	notify_free(nl);
	ctlsock_free(cs);
	unsigned abandoned = svc_free(svc, STOP_WAIT_MS);
	ctllog(LOG_NOTICE, NULL, "stopped");
	if (abandoned)
		_exit(0);   /* workers still hold cfg and the base; the lock goes with us */
	event_free(sigterm);
	event_free(sigint);
	event_free(sighup);
	event_base_free(base);
	cfg_free(cfg);
	close(lockfd);
	return 0;
}
