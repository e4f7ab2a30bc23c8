/* edgedns_control.c: edgedns-control -c CONFIG [-f]: the zone service and
 * its control socket on one libevent loop, the health checks on their own
 * thread (routes through BIRD when the config has a bgp section; the BIRD
 * config is written at start when it changed, and BIRD told to load it).
 * edgedns-control -c CONFIG -B prints the BIRD config and exits. SIGTERM/SIGINT stop cleanly
 * (running transfers get a few seconds, state is saved); SIGHUP reloads
 * the configuration (svc_reload(); a broken file is logged and changes
 * nothing). */
#include <malloc.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <ldns/ldns.h>

#include "config.h"
#include "ctllog.h"
#include "ctlsock.h"
#include "health.h"
#include "notify.h"
#include "route_bird.h"
#include "service.h"

#define STOP_WAIT_MS 5000u

static void usage(FILE *f)
{
	fprintf(f, "usage: edgedns-control [-c CONFIG] [-f] [-w WORKERS] [-B]\n"
	           "  -c CONFIG   the YAML configuration (default %s)\n"
	           "  -f          foreground: log to stderr whatever the config says\n"
	           "  -w N        transfer worker threads (default %u)\n"
	           "  -B          print the BIRD configuration of CONFIG and exit\n",
	        CFG_DEFAULT_PATH, SVC_DEFAULT_WORKERS);
}

static void on_stop(evutil_socket_t sig, short ev, void *arg)
{
	ctllog(LOG_NOTICE, NULL, "signal %d: stopping", (int)sig);
	event_base_loopbreak(arg);
}

static void on_hup(evutil_socket_t sig, short ev, void *arg)
{
	char err[1024] = "";
	ctllog(LOG_NOTICE, NULL, "SIGHUP: reloading the configuration");
	if (svc_reload(arg, err, sizeof(err)) != 0)
		ctllog(LOG_ERR, NULL, "reload failed, configuration unchanged: %s", err);
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
	int fg = 0, print_bird = 0, opt;
	unsigned workers = 0;
	while ((opt = getopt(argc, argv, "c:fw:hB")) != -1) {
		switch (opt) {
		case 'B': print_bird = 1; break;
		case 'c': path = optarg; break;
		case 'f': fg = 1; break;
		case 'w': workers = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	char err[1024] = "";
	struct cfg *cfg = NULL;
	if (cfg_load(path, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "edgedns-control: %s\n", err);
		return 1;
	}
	if (print_bird) {
		char *text = NULL;
		size_t len = 0;
		if (!cfg->bgp.present) {
			fprintf(stderr, "edgedns-control: %s has no bgp section\n", path);
			return 1;
		}
		if (route_bird_render(cfg, &text, &len, err, sizeof(err)) != 0) {
			fprintf(stderr, "edgedns-control: %s\n", err);
			return 1;
		}
		fwrite(text, 1, len, stdout);
		free(text);
		cfg_free(cfg);
		return 0;
	}
	ctllog_open(fg ? CFG_LOG_STDERR : cfg->log, "edgedns-control");
	signal(SIGPIPE, SIG_IGN);
	if (evthread_use_pthreads() != 0) {
		ctllog(LOG_ERR, NULL, "libevent without pthreads");
		return 1;
	}
	struct event_base *base = event_base_new();
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
	ctlsock_set_health(cs, health);
	struct notify *nl = NULL;
	if (cfg->n_notify_listen) {
		nl = notify_new(base, svc, err, sizeof(err));
		if (nl == NULL) {
			ctllog(LOG_ERR, NULL, "notify: %s", err);
			return 1;
		}
	}
	struct event *sigterm = evsignal_new(base, SIGTERM, on_stop, base);
	struct event *sigint = evsignal_new(base, SIGINT, on_stop, base);
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
	ctllog(LOG_NOTICE, NULL, "started: %u zone(s), %u service(s), control socket %s",
	       cfg->n_zones, cfg->n_services, cfg->socket);
	event_base_dispatch(base);

	health_free(health);
	route_bird_free(rb);
	notify_free(nl);
	ctlsock_free(cs);
	unsigned abandoned = svc_free(svc, STOP_WAIT_MS);
	ctllog(LOG_NOTICE, NULL, "stopped");
	if (abandoned)
		_exit(0);   /* workers still hold cfg and the base */
	event_free(sigterm);
	event_free(sigint);
	event_free(sighup);
	event_base_free(base);
	cfg_free(cfg);
	return 0;
}
