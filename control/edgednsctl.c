/* edgednsctl.c: the command line of the control socket.
 *   edgednsctl [-s SOCK] [--json] status | zone-status ZONE | refresh ZONE | reload
 *                                 | health | maintenance SERVICE on|off
 *                                 | stop [--keep-routes]
 * Sends one JSON request line, reads one reply line, prints it for people
 * (or as it came with --json). Exit 0 when the reply says ok, 1 when it
 * does not, 2 on usage or connection errors. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "daemon.h"

#define DEFAULT_SOCK "/run/edgedns/control.sock"
#define TIMEOUT_MS 10000
#define MAX_REPLY (16u << 20)

static void usage(FILE *f)
{
	fprintf(f, "usage: edgednsctl [-s SOCK] [--json] COMMAND\n"
	           "  status                      the zones (and control's version)\n"
	           "  zone-status ZONE            one zone in detail\n"
	           "  refresh ZONE                refresh a zone now\n"
	           "  reload                      re-read the configuration\n"
	           "  health                      the anycast services, their checks, routes and BGP\n"
	           "                              sessions (exit 3: a service announced is exported\n"
	           "                              on no Established session)\n"
	           "  maintenance SERVICE on|off  drain and withdraw a service, or bring it back\n"
	           "  stop [--keep-routes]        stop control: drain and withdraw the routes\n"
	           "                              (as SIGTERM), or leave them in BIRD for a\n"
	           "                              restart that adopts them\n"
	           "options:\n"
	           "  -s, --socket SOCK   control socket (default " DEFAULT_SOCK ")\n"
	           "  -j, --json          print the reply as it came\n"
	           "  -h, --help          this text\n"
	           "  -V, --version       the version\n"
	           "exit: 0 ok, 1 the reply says not ok, 2 usage or connection error\n");
}

/* One request, one reply line (malloc()ed) or NULL with a message. */
static char *roundtrip(const char *sock, const char *req)
{
	struct sockaddr_un sun;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(sock) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "edgednsctl: %s: path too long\n", sock);
		return NULL;
	}
	strcpy(sun.sun_path, sock);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		int e = errno;
		fprintf(stderr, "edgednsctl: %s: %s\n", sock, strerror(e));
		/* The appliance without a config (images/) runs no control: say so. */
		const char *conf = "/etc/edgedns/control.yaml";
		if ((e == ENOENT || e == ECONNREFUSED) && strcmp(sock, DEFAULT_SOCK) == 0)
			fprintf(stderr, access(conf, F_OK) != 0
			        ? "edgednsctl: edgedns-control is not running: %s does not exist: "
			          "not provisioned, nothing is announced\n"
			        : "edgednsctl: edgedns-control is not running (%s exists: "
			          "systemctl status edgedns-control)\n", conf);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	size_t len = strlen(req), off = 0;
	while (off < len) {
		ssize_t n = send(fd, req + off, len - off, MSG_NOSIGNAL);
		if (n <= 0) {
			fprintf(stderr, "edgednsctl: send: %s\n", strerror(errno));
			close(fd);
			return NULL;
		}
		off += (size_t)n;
	}
	size_t cap = 65536, have = 0;
	char *buf = malloc(cap);
	while (buf != NULL) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, TIMEOUT_MS) <= 0) {
			fprintf(stderr, "edgednsctl: no reply within %d ms\n", TIMEOUT_MS);
			break;
		}
		if (have + 1 >= cap) {
			if (cap >= MAX_REPLY)
				break;
			char *nb = realloc(buf, cap * 2);
			if (nb == NULL)
				break;
			buf = nb;
			cap *= 2;
		}
		ssize_t n = recv(fd, buf + have, cap - have - 1, 0);
		if (n <= 0) {
			fprintf(stderr, "edgednsctl: connection closed without a reply\n");
			break;
		}
		have += (size_t)n;
		buf[have] = '\0';
		char *nl = strchr(buf, '\n');
		if (nl != NULL) {
			*nl = '\0';
			close(fd);
			return buf;
		}
	}
	free(buf);
	close(fd);
	return NULL;
}

static void fmt_time(json_t *v, char *out, size_t n)
{
	if (!json_is_integer(v)) {
		snprintf(out, n, "-");
		return;
	}
	time_t t = (time_t)json_integer_value(v);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void fmt_serial(json_t *v, char *out, size_t n)
{
	if (json_is_integer(v))
		snprintf(out, n, "%lld", (long long)json_integer_value(v));
	else
		snprintf(out, n, "-");
}

static void print_zone_line(json_t *z)
{
	char serial[16], next[32];
	fmt_serial(json_object_get(z, "serial"), serial, sizeof(serial));
	fmt_time(json_object_get(z, "next_refresh"), next, sizeof(next));
	const char *prim = json_string_value(json_object_get(z, "primary"));
	const char *e = json_string_value(json_object_get(z, "last_error"));
	printf("%-30s %-12s %-10s %-22s %-20s %5lld %5lld  %s\n",
	       json_string_value(json_object_get(z, "name")),
	       json_string_value(json_object_get(z, "state")), serial, prim ? prim : "-", next,
	       (long long)json_integer_value(json_object_get(z, "transfers")),
	       (long long)json_integer_value(json_object_get(z, "refused")), e ? e : "");
}

static void print_zone(json_t *z)
{
	char b[32];
	const char *s;
	printf("zone:          %s\n", json_string_value(json_object_get(z, "name")));
	printf("state:         %s%s\n", json_string_value(json_object_get(z, "state")),
	       json_is_true(json_object_get(z, "served")) ? " (served)" : " (not served)");
	fmt_serial(json_object_get(z, "serial"), b, sizeof(b));
	printf("serial:        %s\n", b);
	s = json_string_value(json_object_get(z, "primary"));
	printf("primary:       %s\n", s ? s : "-");
	static const char *const times[] = { "last_refresh", "last_transfer", "next_refresh",
	                                     "expire_at" };
	for (unsigned i = 0; i < 4; i++) {
		fmt_time(json_object_get(z, times[i]), b, sizeof(b));
		printf("%-14s %s\n", times[i], b);
	}
	printf("transfers:     %lld\nrefused:       %lld\nfailures:      %lld\n",
	       (long long)json_integer_value(json_object_get(z, "transfers")),
	       (long long)json_integer_value(json_object_get(z, "refused")),
	       (long long)json_integer_value(json_object_get(z, "failures")));
	s = json_string_value(json_object_get(z, "last_error"));
	printf("last_error:    %s\n", s && s[0] ? s : "-");
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(z, "primaries"), i, p) {
		fmt_serial(json_object_get(p, "serial"), b, sizeof(b));
		s = json_string_value(json_object_get(p, "error"));
		const char *st = json_string_value(json_object_get(p, "state"));
		const char *note = json_string_value(json_object_get(p, "note"));
		printf("primary[%zu]:    %s serial %s %s%s%s%s%s\n", i,
		       json_string_value(json_object_get(p, "address")), b, st ? st : "-",
		       note && note[0] ? ": " : "", note ? note : "",
		       s && s[0] ? " error: " : "", s ? s : "");
	}
	printf("divergent:     %s (%lld seen)\n",
	       json_is_true(json_object_get(z, "divergent")) ? "yes" : "no",
	       (long long)json_integer_value(json_object_get(z, "divergences")));
}

/* A service control announces (or drains) that no Established BGP
 * session exports: the routers do not have it. */
static int unreachable(json_t *sv)
{
	const char *route = json_string_value(json_object_get(sv, "route"));
	return json_is_false(json_object_get(sv, "reachable")) && route != NULL &&
	       (strcmp(route, "announced") == 0 || strcmp(route, "draining") == 0);
}

static void print_service(json_t *sv)
{
	char b[32];
	const char *s;
	json_t *reach = json_object_get(sv, "reachable");
	printf("service:       %s\n", json_string_value(json_object_get(sv, "id")));
	printf("route:         %s%s%s%s\n", json_string_value(json_object_get(sv, "route")),
	       json_is_true(json_object_get(sv, "healthy")) ? " (healthy)" : " (unhealthy)",
	       json_is_true(json_object_get(sv, "maintenance")) ? " (maintenance)" : "",
	       unreachable(sv) ? " UNREACHABLE: exported on no Established BGP session"
	       : json_is_true(reach) ? " (exported)" : "");
	s = json_string_value(json_object_get(sv, "reason"));
	printf("reason:        %s\n", s ? s : "-");
	fmt_time(json_object_get(sv, "last_change"), b, sizeof(b));
	printf("last_change:   %s\n", b);
	fmt_time(json_object_get(sv, "held_down_until"), b, sizeof(b));
	printf("held_down:     %s (flaps %lld)\n", b,
	       (long long)json_integer_value(json_object_get(sv, "flaps")));
	s = json_string_value(json_object_get(sv, "history"));
	printf("history:       %s (oldest first, + passed)\n", s ? s : "");
	const char *k;
	json_t *c;
	json_object_foreach(json_object_get(sv, "checks"), k, c) {
		s = json_string_value(json_object_get(c, "why"));
		printf("check %-9s %s%s%s\n", k, json_is_true(json_object_get(c, "ok")) ? "ok" : "FAIL",
		       s && s[0] ? ": " : "", s ? s : "");
	}
	json_t *bird = json_object_get(sv, "bird");
	if (json_is_object(bird)) {
		s = json_string_value(json_object_get(bird, "error"));
		const char *a = json_string_value(json_object_get(bird, "applied"));
		printf("bird:          %s%s%s\n", a ? a : "unknown", s && s[0] ? ", error: " : "",
		       s ? s : "");
	}
}

int main(int argc, char **argv)
{
	const char *sock = DEFAULT_SOCK;
	int as_json = 0, keep_routes = 0, opt;
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "keep-routes", no_argument, NULL, 'K' },
		{ NULL, 0, NULL, 0 },
	};
	while ((opt = getopt_long(argc, argv, "s:jhV", longopts, NULL)) != -1) {
		switch (opt) {
		case 's': sock = optarg; break;
		case 'j': as_json = 1; break;
		case 'K': keep_routes = 1; break;
		case 'h': usage(stdout); return 0;
		case 'V': daemon_version("edgednsctl"); return 0;
		default: usage(stderr); return 2;
		}
	}
	int nargs = argc - optind;
	if (nargs < 1) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[optind];
	json_t *req;
	if (keep_routes && strcmp(cmd, "stop") != 0) {
		usage(stderr);
		return 2;
	}
	if (strcmp(cmd, "stop") == 0 && nargs == 1)
		req = json_pack("{s:s,s:b}", "cmd", cmd, "keep_routes", keep_routes);
	else if ((strcmp(cmd, "status") == 0 || strcmp(cmd, "reload") == 0 ||
	     strcmp(cmd, "health") == 0) && nargs == 1)
		req = json_pack("{s:s}", "cmd", cmd);
	else if ((strcmp(cmd, "refresh") == 0 || strcmp(cmd, "zone-status") == 0) && nargs == 2)
		req = json_pack("{s:s,s:s}", "cmd", cmd, "zone", argv[optind + 1]);
	else if (strcmp(cmd, "maintenance") == 0 && nargs == 3 &&
	         (strcmp(argv[optind + 2], "on") == 0 || strcmp(argv[optind + 2], "off") == 0))
		req = json_pack("{s:s,s:s,s:b}", "cmd", cmd, "service", argv[optind + 1], "on",
		                strcmp(argv[optind + 2], "on") == 0);
	else {
		usage(stderr);
		return 2;
	}
	char *line = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (line == NULL)
		return 2;
	size_t l = strlen(line);
	char *reqline = malloc(l + 2);
	if (reqline == NULL)
		return 2;
	memcpy(reqline, line, l);
	memcpy(reqline + l, "\n", 2);
	free(line);
	char *reply = roundtrip(sock, reqline);
	free(reqline);
	if (reply == NULL)
		return 2;
	json_error_t je;
	json_t *r = json_loads(reply, 0, &je);
	if (r == NULL) {
		fprintf(stderr, "edgednsctl: reply is not JSON: %s\n", reply);
		free(reply);
		return 2;
	}
	int ok = json_is_true(json_object_get(r, "ok"));
	if (as_json) {
		printf("%s\n", reply);
	} else if (!ok) {
		fprintf(stderr, "edgednsctl: %s\n", json_string_value(json_object_get(r, "error")));
	} else if (strcmp(cmd, "status") == 0) {
		const char *v = json_string_value(json_object_get(r, "version"));
		printf("edgedns-control (edgedns) %s\n", v ? v : "unknown");
		printf("%-30s %-12s %-10s %-22s %-20s %5s %5s  %s\n", "ZONE", "STATE", "SERIAL",
		       "PRIMARY", "NEXT REFRESH", "XFRS", "REFUSED", "LAST ERROR");
		size_t i;
		json_t *z;
		json_array_foreach(json_object_get(r, "zones"), i, z)
			print_zone_line(z);
	} else if (strcmp(cmd, "zone-status") == 0) {
		print_zone(json_object_get(r, "zone"));
	} else if (strcmp(cmd, "reload") == 0) {
		printf("configuration reloaded\n");
	} else if (strcmp(cmd, "health") == 0) {
		size_t i;
		json_t *sv, *ss;
		json_array_foreach(json_object_get(r, "services"), i, sv)
			print_service(sv);
		json_t *bgp = json_object_get(r, "bgp");
		if (json_is_object(bgp)) {
			const char *e = json_string_value(json_object_get(bgp, "error"));
			printf("bgp:           %lld established, %lld exporting%s%s\n",
			       (long long)json_integer_value(json_object_get(bgp, "established")),
			       (long long)json_integer_value(json_object_get(bgp, "exporting")),
			       e && e[0] ? ", not readable: " : "", e ? e : "");
			json_array_foreach(json_object_get(bgp, "sessions"), i, ss) {
				const char *le = json_string_value(json_object_get(ss, "last_error"));
				long long ex = (long long)json_integer_value(json_object_get(ss, "exported"));
				printf("neighbor %-16s %s %s since %s, %lld exported%s%s\n",
				       json_string_value(json_object_get(ss, "neighbor")),
				       json_string_value(json_object_get(ss, "name")),
				       json_string_value(json_object_get(ss, "state")),
				       json_string_value(json_object_get(ss, "since")), ex < 0 ? 0 : ex,
				       le && le[0] ? ", last error: " : "", le ? le : "");
			}
		}
	} else if (strcmp(cmd, "maintenance") == 0) {
		printf("service %s: maintenance %s\n", argv[optind + 1], argv[optind + 2]);
	} else if (strcmp(cmd, "stop") == 0) {
		printf("edgedns-control stopping%s\n", keep_routes ? ", routes left in BIRD"
		       : ": draining and withdrawing its routes");
	} else {
		printf("refresh of %s queued\n", argv[optind + 1]);
	}
	/* health: 3 when a service is unreachable (JSON or text alike) */
	if (ok && strcmp(cmd, "health") == 0) {
		size_t i;
		json_t *sv;
		json_array_foreach(json_object_get(r, "services"), i, sv)
			if (unreachable(sv))
				ok = 3;
	}
	json_decref(r);
	free(reply);
	return ok == 1 ? 0 : ok == 0 ? 1 : ok;
}
