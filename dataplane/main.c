/* main.c: edgedns-dataplane: options, start-up, signals, shutdown.
 *
 * With --control PATH one dataplane per command socket: PATH.lock is
 * locked before the EAL or any socket starts. Under systemd (Type=notify):
 * READY=1 once the initial snapshots are loaded and the ports (or
 * sockets) and the command socket run; WATCHDOG=1 from the main lcore's
 * loop (the signal wait), never from a worker; RELOADING=1 and READY=1
 * around a SIGHUP reload; STOPPING=1 at SIGTERM. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <rte_eal.h>
#include <rte_errno.h>

#include "cmdsock.h"
#include "cookie.h"
#include "daemon.h"
#include "engine.h"
#include "error.h"
#include "hex.h"
#include "io_dpdk.h"
#include "io_socket.h"
#include "profile.h"
#include "zonedb.h"

#define PROG "edgedns-dataplane"
#define NSID_MAX 512

enum io_mode { IO_SOCKET, IO_DPDK };

struct opts {
	enum io_mode io;
	const char *snapdir;
	struct ios_addr listen[IOS_LISTEN_MAX];
	unsigned nlisten;
	const char *control;
	unsigned threads;
	unsigned tcp_idle_ms;
	unsigned tcp_max_conns;
	uint8_t nsid[NSID_MAX];
	struct eng_conf eng;
	const char *pidfile;
	/* DPDK mode */
	struct dpdk_conf dp;
	int dns_port_set;
	int eal_argc;
	char **eal_argv;        /* after "--": the EAL's own arguments */
	const char *profile_path;
	struct profile profile;
	struct eng_cookie_conf cookie;
	int cookie_secret, no_cookies;   /* a secret given (either way); --no-cookies */
	unsigned n_secret, n_prev;       /* how many ways each was given */
	const char *cookie_file, *cookie_prev_file;  /* --cookie-secret(-prev)-file */
};

static void logmsg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void logmsg(int level, const char *fmt, ...)
{
	char msg[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* One write per line, so lines of different threads do not mix. */
	fprintf(stderr, PROG ": %s%s\n", level ? "error: " : "", msg);
}

static void zonedb_log(void *arg, int level, const char *msg)
{
	(void)arg;
	logmsg(level, "%s", msg);
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: " PROG " --io socket|dpdk --snapshots DIR [options]\n"
	        "  --listen ADDR@PORT     listen address (repeatable; default\n"
	        "                         127.0.0.1@53 and ::1@53)\n"
	        "  --control PATH         command socket (unix stream)\n"
	        "  --threads N            UDP worker threads (default: one per CPU)\n"
	        "  --tcp-idle-ms N        TCP idle timeout (default %u)\n"
	        "  --tcp-max-conns N      TCP connection limit (default %u)\n"
	        "  --udp-max N            largest UDP response (default %u)\n"
	        "  --nsid STR | --nsid-hex HEX   NSID (RFC 5001)\n"
	        "  --id-server STR  --hostname-bind STR  --version-bind STR\n"
	        "  --cookie-secret HEX    DNS Cookies server secret, 32 hex digits, the\n"
	        "                         same on every PoP (default: a random one)\n"
	        "  --cookie-secret-prev HEX  previous secret, accepted while rotating\n"
	        "  --cookie-secret-file FILE, --cookie-secret-prev-file FILE\n"
	        "                         the same read from a file (32 hex digits, a final\n"
	        "                         newline allowed; mode 600: kept off the command line)\n"
	        "  --no-cookies           ignore the COOKIE option (RFC 7873)\n"
	        "  --pidfile FILE\n"
	        "  -h, --help             this text\n"
	        "  -V, --version          the version\n"
	        "DPDK mode (EAL arguments after \"--\"; every lcore but the first is a worker):\n"
	        "  --profile FILE         hardware profile (hw/profiles/NAME.yaml): EAL arguments,\n"
	        "                         ports, mbufs; the command line wins\n"
	        "  --port DEV             a port: PCI address or vdev (net_af_xdp0,iface=eth1);\n"
	        "                         repeatable\n"
	        "  --serve ADDR[/LEN]     a served IPv4 or IPv6 address and its prefix on the\n"
	        "                         link (repeatable, required)\n"
	        "  --dns-port N           UDP port answered (default 53)\n"
	        "  --exception tap|none   kernel exception port per port (default tap)\n"
	        "  --kernel-iface NAME    exception interface prefix (default %s: %s0, ...)\n"
	        "  --mbufs N  --rx-desc N  --tx-desc N\n"
	        "  --idle-sleep-us N      sleep N us after idle polls (default 0: poll)\n"
	        "  --rrl-rate N           UDP answers/s per client prefix, DPDK workers and the\n"
	        "                         kernel-socket server alike (default %u, 0: off)\n"
	        "  --rrl-slip N           every Nth limited answer sent truncated (default %u,\n"
	        "                         0: none)\n"
	        "  --rrl-ipv4-prefix N  --rrl-ipv6-prefix N   client prefixes (default 24, 56)\n"
	        "  --rrl-table-size N     buckets per worker (default 65536)\n"
	        "  --test-hooks           enable the command socket's \"stall\" (tests only)\n",
	        IOS_TCP_IDLE_MS_DEFAULT, IOS_TCP_MAX_CONNS_DEFAULT, ENG_UDP_MAX_DEFAULT,
	        DPDK_KERNEL_IFACE_DEFAULT, DPDK_KERNEL_IFACE_DEFAULT, RRL_RATE_DEFAULT,
	        RRL_SLIP_DEFAULT);
}

static int parse_uint(const char *opt, const char *s, unsigned long min,
                      unsigned long max, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (s[0] == '\0' || s[0] == '-' || *end != '\0' || errno != 0 || v < min || v > max) {
		logmsg(1, "--%s: '%s' is not a number in [%lu, %lu]", opt, s, min, max);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

/* --serve ADDR[/LEN]: an IPv4 or IPv6 address the DPDK path answers on,
 * and the length of its prefix on the link (default: the address alone). */
static int parse_served(const char *arg, struct pkt_filter *f)
{
	uint8_t a[16];
	char s[INET6_ADDRSTRLEN + 8];
	unsigned plen = 0;
	snprintf(s, sizeof(s), "%s", arg);
	char *slash = strchr(s, '/');
	if (slash != NULL) {
		*slash = '\0';
		if (parse_uint("serve", slash + 1, 1, strchr(s, ':') ? 128 : 32, &plen) != 0)
			return -1;
	}
	if (inet_pton(AF_INET, s, a) == 1) {
		if (f->n4 == PKT_ADDR_MAX)
			goto full;
		f->plen4[f->n4] = (uint8_t)plen;
		memcpy(f->v4[f->n4++], a, 4);
		return 0;
	}
	if (inet_pton(AF_INET6, s, a) == 1) {
		if (f->n6 == PKT_ADDR_MAX)
			goto full;
		f->plen6[f->n6] = (uint8_t)plen;
		memcpy(f->v6[f->n6++], a, 16);
		return 0;
	}
	logmsg(1, "--serve: '%s' is not an IPv4 or IPv6 address", arg);
	return -1;
full:
	logmsg(1, "--serve: at most %u addresses per family", PKT_ADDR_MAX);
	return -1;
}

/* The kernel-side listen addresses in DPDK mode: the served ones. */
static void served_listen(struct opts *o)
{
	const struct pkt_filter *f = &o->dp.filter;
	char buf[INET6_ADDRSTRLEN + 16], as[INET6_ADDRSTRLEN];
	for (unsigned i = 0; i < f->n4 && o->nlisten < IOS_LISTEN_MAX; i++) {
		inet_ntop(AF_INET, f->v4[i], as, sizeof(as));
		snprintf(buf, sizeof(buf), "%s@%u", as, f->dns_port);
		ios_parse_addr(buf, &o->listen[o->nlisten++]);
	}
	for (unsigned i = 0; i < f->n6 && o->nlisten < IOS_LISTEN_MAX; i++) {
		inet_ntop(AF_INET6, f->v6[i], as, sizeof(as));
		snprintf(buf, sizeof(buf), "[%s]@%u", as, f->dns_port);
		ios_parse_addr(buf, &o->listen[o->nlisten++]);
	}
}

/* EAL options that take one value and may be given once: one given on
 * the command line replaces the profile's of the same group. */
static const char *const eal_single[][4] = {
	{ "-l", "-c", "--lcores", NULL },
	{ "-m", "--socket-mem", NULL },
	{ "-n", NULL },
	{ "--file-prefix", NULL },
	{ "--huge-dir", NULL },
	{ "--proc-type", NULL },
};

/* The group of EAL word a ("-l", "--lcores=0-3"), or -1. */
static int eal_group(const char *a)
{
	for (size_t g = 0; g < sizeof(eal_single) / sizeof(eal_single[0]); g++)
		for (unsigned k = 0; eal_single[g][k] != NULL; k++) {
			size_t l = strlen(eal_single[g][k]);
			if (strncmp(a, eal_single[g][k], l) == 0 && (a[l] == '\0' || a[l] == '='))
				return (int)g;
		}
	return -1;
}

/* The profile under the command line: its ports unless --port was given;
 * its EAL arguments before the command line's, but for the options the
 * command line gives again (eal_single); its sizes unless set. */
static int apply_profile(struct opts *o)
{
	const struct profile *p = &o->profile;
	static char *argv[PROFILE_LIST_MAX + 256];
	const int max = (int)(sizeof(argv) / sizeof(argv[0])) - 1;
	if (o->dp.nports == 0) {
		if (p->nports > DPDK_PORTS_MAX) {
			logmsg(1, "--profile: %u ports, at most %u", p->nports, DPDK_PORTS_MAX);
			return -1;
		}
		for (unsigned i = 0; i < p->nports; i++)
			o->dp.ports[o->dp.nports++] = p->ports[i];
	}
	bool given[sizeof(eal_single) / sizeof(eal_single[0])] = { false };
	for (int i = 0; i < o->eal_argc; i++) {
		int g = eal_group(o->eal_argv[i]);
		if (g >= 0)
			given[g] = true;
	}
	int n = 0;
	for (unsigned i = 0; i < p->neal; i++) {
		int g = eal_group(p->eal[i]);
		if (g >= 0 && given[g]) {
			/* skip it, and its value when it is a separate word */
			if (strchr(p->eal[i], '=') == NULL && i + 1 < p->neal)
				i++;
			continue;
		}
		argv[n++] = p->eal[i];
	}
	if (n + o->eal_argc > max) {
		logmsg(1, "too many EAL arguments (profile and command line): at most %d", max);
		return -1;
	}
	for (int i = 0; i < o->eal_argc; i++)
		argv[n++] = o->eal_argv[i];
	argv[n] = NULL;
	o->eal_argv = argv;
	o->eal_argc = n;
	if (o->dp.mbufs == 0)
		o->dp.mbufs = p->mbufs;
	if (o->dp.rxd == 0)
		o->dp.rxd = p->rxd;
	if (o->dp.txd == 0)
		o->dp.txd = p->txd;
	if (p->model != NULL)
		logmsg(0, "hardware profile %s: model %s", o->profile_path, p->model);
	return 0;
}

/* ---- DNS Cookies options ---- */
enum { O_CKSECRET = 200, O_CKPREV, O_NOCK, O_CKFILE, O_CKPREVFILE };

static int cookie_opt(int c, const char *arg, struct opts *o)
{
	if (c == O_NOCK) {
		o->no_cookies = 1;
		return 0;
	}
	unsigned *given = c == O_CKSECRET || c == O_CKFILE ? &o->n_secret : &o->n_prev;
	if (++*given > 1) {
		logmsg(1, "--%s: the %s secret is given once (as HEX or as a file)",
		       c == O_CKSECRET || c == O_CKFILE ? "cookie-secret" : "cookie-secret-prev",
		       c == O_CKSECRET || c == O_CKFILE ? "current" : "previous");
		return -1;
	}
	if (c == O_CKFILE || c == O_CKPREVFILE) {
		/* read after the options (a bad file is not a usage error) */
		if (c == O_CKFILE) {
			o->cookie_file = arg;
			o->cookie_secret = 1;
		} else {
			o->cookie_prev_file = arg;
			o->cookie.has_prev = true;
		}
		return 0;
	}
	const char *name = c == O_CKSECRET ? "cookie-secret" : "cookie-secret-prev";
	if (eng_cookie_parse_secret(arg, c == O_CKSECRET ? o->cookie.secret : o->cookie.prev) != ED_OK) {
		logmsg(1, "--%s: expected 32 hex digits", name);
		return -1;
	}
	if (c == O_CKSECRET)
		o->cookie_secret = 1;
	else
		o->cookie.has_prev = true;
	return 0;
}

/* Cookies are on unless --no-cookies; without --cookie-secret the secret is
 * random (as BIND's), so this server's cookies are its own. */
static int cookie_setup(struct opts *o)
{
	if (o->no_cookies) {
		if (o->cookie_secret || o->cookie.has_prev) {
			logmsg(1, "--no-cookies: no --cookie-secret(-prev)(-file) with it");
			return -1;
		}
		logmsg(0, "DNS cookies: off");
		return 0;
	}
	if (o->cookie.has_prev && !o->cookie_secret) {
		logmsg(1, "--cookie-secret-prev(-file) needs --cookie-secret(-file)");
		return -1;
	}
	if (!o->cookie_secret &&
	    getrandom(o->cookie.secret, sizeof(o->cookie.secret), 0) != (ssize_t)sizeof(o->cookie.secret)) {
		logmsg(1, "getrandom: %s", strerror(errno));
		return -1;
	}
	o->eng.cookie = &o->cookie;
	logmsg(0, "DNS cookies: on, %s secret%s%s%s", o->cookie_secret ? "configured" : "random",
	       o->cookie_file ? " from " : "", o->cookie_file ? o->cookie_file : "",
	       o->cookie.has_prev ? " and a previous one" : "");
	return 0;
}

/* A secret file (--cookie-secret-file, --cookie-secret-prev-file): 32 hex
 * digits, a final newline allowed. One readable by group or others is
 * used, with a warning. 0, or -1 with a message. */
static int read_secret_file(const char *opt, const char *path, uint8_t out[COOKIE_SECRET_LEN])
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		logmsg(1, "--%s %s: %s", opt, path, strerror(errno));
		return -1;
	}
	char buf[80];
	struct stat st;
	ssize_t n = -1;
	const char *why = NULL;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		why = "not a regular file";
	else if ((n = read(fd, buf, sizeof(buf) - 1)) < 0)
		why = strerror(errno);
	close(fd);
	size_t len = n > 0 && (size_t)n < sizeof(buf) ? (size_t)n : 0;
	if (why == NULL) {
		buf[len] = '\0';
		if (len > 0 && buf[len - 1] == '\n')
			buf[--len] = '\0';
		if (len > 0 && buf[len - 1] == '\r')
			buf[--len] = '\0';
		if (eng_cookie_parse_secret(buf, out) != ED_OK)
			why = "expected 32 hex digits (and a newline)";
	}
	explicit_bzero(buf, sizeof(buf));
	if (why != NULL) {
		logmsg(1, "--%s %s: %s", opt, path, why);
		return -1;
	}
	if (st.st_mode & (S_IRGRP | S_IROTH))
		logmsg(0, "warning: --%s %s is readable by %s (mode %04o): chmod 600", opt, path,
		       st.st_mode & S_IROTH ? "others" : "its group", (unsigned)(st.st_mode & 07777));
	return 0;
}

static int cookie_files(struct opts *o)
{
	if (o->cookie_file != NULL &&
	    read_secret_file("cookie-secret-file", o->cookie_file, o->cookie.secret) != 0)
		return -1;
	if (o->cookie_prev_file != NULL &&
	    read_secret_file("cookie-secret-prev-file", o->cookie_prev_file, o->cookie.prev) != 0)
		return -1;
	return 0;
}
/* ---- end of DNS Cookies options ---- */

static int parse_opts(int argc, char **argv, struct opts *o)
{
	enum { O_IO = 256, O_SNAP, O_LISTEN, O_CONTROL, O_THREADS, O_IDLE, O_MAXC,
	       O_UDPMAX, O_NSID, O_NSIDHEX, O_IDSERVER, O_HOSTBIND, O_VERBIND,
	       O_PIDFILE, O_HELP, O_PORT, O_SERVE, O_DNSPORT, O_EXC, O_KIFACE, O_MBUFS,
	       O_RXD, O_TXD, O_IDLESLEEP, O_RRLRATE, O_RRLSLIP, O_RRL4, O_RRL6, O_RRLTAB, O_PROFILE,
	       O_TESTHOOKS, O_VERSION };
	static const struct option lo[] = {
		{ "io", required_argument, NULL, O_IO },
		{ "snapshots", required_argument, NULL, O_SNAP },
		{ "listen", required_argument, NULL, O_LISTEN },
		{ "control", required_argument, NULL, O_CONTROL },
		{ "threads", required_argument, NULL, O_THREADS },
		{ "tcp-idle-ms", required_argument, NULL, O_IDLE },
		{ "tcp-max-conns", required_argument, NULL, O_MAXC },
		{ "udp-max", required_argument, NULL, O_UDPMAX },
		{ "nsid", required_argument, NULL, O_NSID },
		{ "nsid-hex", required_argument, NULL, O_NSIDHEX },
		{ "id-server", required_argument, NULL, O_IDSERVER },
		{ "hostname-bind", required_argument, NULL, O_HOSTBIND },
		{ "version-bind", required_argument, NULL, O_VERBIND },
		{ "pidfile", required_argument, NULL, O_PIDFILE },
		{ "cookie-secret", required_argument, NULL, O_CKSECRET },
		{ "cookie-secret-prev", required_argument, NULL, O_CKPREV },
		{ "no-cookies", no_argument, NULL, O_NOCK },
		{ "cookie-secret-file", required_argument, NULL, O_CKFILE },
		{ "cookie-secret-prev-file", required_argument, NULL, O_CKPREVFILE },
		{ "help", no_argument, NULL, O_HELP },
		{ "version", no_argument, NULL, O_VERSION },
		{ "port", required_argument, NULL, O_PORT },
		{ "serve", required_argument, NULL, O_SERVE },
		{ "dns-port", required_argument, NULL, O_DNSPORT },
		{ "exception", required_argument, NULL, O_EXC },
		{ "kernel-iface", required_argument, NULL, O_KIFACE },
		{ "mbufs", required_argument, NULL, O_MBUFS },
		{ "rx-desc", required_argument, NULL, O_RXD },
		{ "tx-desc", required_argument, NULL, O_TXD },
		{ "idle-sleep-us", required_argument, NULL, O_IDLESLEEP },
		{ "rrl-rate", required_argument, NULL, O_RRLRATE },
		{ "profile", required_argument, NULL, O_PROFILE },
		{ "rrl-slip", required_argument, NULL, O_RRLSLIP },
		{ "rrl-ipv4-prefix", required_argument, NULL, O_RRL4 },
		{ "rrl-ipv6-prefix", required_argument, NULL, O_RRL6 },
		{ "rrl-table-size", required_argument, NULL, O_RRLTAB },
		{ "test-hooks", no_argument, NULL, O_TESTHOOKS },
		{ NULL, 0, NULL, 0 },
	};
	int io_set = 0, c;
	unsigned v;
	/* "+": stop at the first word that is not an option, so a stray word
	 * before "--" is an error and not an EAL argument */
	while ((c = getopt_long(argc, argv, "+hV", lo, NULL)) != -1) {
		switch (c) {
		case O_IO:
			if (strcmp(optarg, "socket") == 0)
				o->io = IO_SOCKET;
			else if (strcmp(optarg, "dpdk") == 0)
				o->io = IO_DPDK;
			else {
				logmsg(1, "--io: '%s': expected socket or dpdk", optarg);
				return -1;
			}
			io_set = 1;
			break;
		case O_SNAP:
			o->snapdir = optarg;
			break;
		case O_LISTEN:
			if (o->nlisten == IOS_LISTEN_MAX) {
				logmsg(1, "--listen: at most %u addresses", IOS_LISTEN_MAX);
				return -1;
			}
			if (ios_parse_addr(optarg, &o->listen[o->nlisten]) != ED_OK) {
				logmsg(1, "--listen: '%s': expected ADDR@PORT", optarg);
				return -1;
			}
			o->nlisten++;
			break;
		case O_CONTROL:
			o->control = optarg;
			break;
		case O_THREADS:
			if (parse_uint("threads", optarg, 0, 1024, &o->threads) != 0)
				return -1;
			break;
		case O_IDLE:
			if (parse_uint("tcp-idle-ms", optarg, 1, 86400000, &o->tcp_idle_ms) != 0)
				return -1;
			break;
		case O_MAXC:
			if (parse_uint("tcp-max-conns", optarg, 1, 1000000, &o->tcp_max_conns) != 0)
				return -1;
			break;
		case O_UDPMAX:
			if (parse_uint("udp-max", optarg, 512, 65535, &v) != 0)
				return -1;
			o->eng.udp_max = (uint16_t)v;
			break;
		case O_NSID: {
			size_t n = strlen(optarg);
			if (n == 0 || n > NSID_MAX) {
				logmsg(1, "--nsid: 1 to %u octets", NSID_MAX);
				return -1;
			}
			memcpy(o->nsid, optarg, n);
			o->eng.nsid = o->nsid;
			o->eng.nsid_len = (uint16_t)n;
			break;
		}
		case O_NSIDHEX: {
			size_t n = strlen(optarg);
			if (n == 0 || n % 2 != 0 || n / 2 > NSID_MAX) {
				logmsg(1, "--nsid-hex: an even number of hex digits, at most %u octets",
				       NSID_MAX);
				return -1;
			}
			if (hex_decode(optarg, o->nsid, NSID_MAX) < 0) {
				logmsg(1, "--nsid-hex: '%s': not hex", optarg);
				return -1;
			}
			o->eng.nsid = o->nsid;
			o->eng.nsid_len = (uint16_t)(n / 2);
			break;
		}
		case O_IDSERVER:
			o->eng.id_server = optarg;
			break;
		case O_HOSTBIND:
			o->eng.hostname_bind = optarg;
			break;
		case O_VERBIND:
			o->eng.version_bind = optarg;
			break;
		case O_PIDFILE:
			o->pidfile = optarg;
			break;
		case O_CKSECRET:
		case O_CKPREV:
		case O_CKFILE:
		case O_CKPREVFILE:
		case O_NOCK:
			if (cookie_opt(c, optarg, o) != 0)
				return -1;
			break;
		case O_HELP:
		case 'h':
			usage(stdout);
			exit(0);
		case O_VERSION:
		case 'V':
			daemon_version(PROG);
			exit(0);
		case O_PORT:
			if (o->dp.nports == DPDK_PORTS_MAX) {
				logmsg(1, "--port: at most %u ports", DPDK_PORTS_MAX);
				return -1;
			}
			o->dp.ports[o->dp.nports++] = optarg;
			break;
		case O_SERVE:
			if (parse_served(optarg, &o->dp.filter) != 0)
				return -1;
			break;
		case O_DNSPORT:
			if (parse_uint("dns-port", optarg, 1, 65535, &v) != 0)
				return -1;
			o->dp.filter.dns_port = (uint16_t)v;
			break;
		case O_EXC:
			if (strcmp(optarg, "tap") == 0)
				o->dp.exception = true;
			else if (strcmp(optarg, "none") == 0)
				o->dp.exception = false;
			else {
				logmsg(1, "--exception: '%s': expected tap or none", optarg);
				return -1;
			}
			break;
		case O_KIFACE:
			if (strlen(optarg) == 0 || strlen(optarg) > 12) {
				logmsg(1, "--kernel-iface: 1 to 12 characters");
				return -1;
			}
			o->dp.kernel_iface = optarg;
			break;
		case O_MBUFS:
			if (parse_uint("mbufs", optarg, 1024, 16u << 20, &o->dp.mbufs) != 0)
				return -1;
			break;
		case O_RXD:
			if (parse_uint("rx-desc", optarg, 64, 32768, &o->dp.rxd) != 0)
				return -1;
			break;
		case O_TXD:
			if (parse_uint("tx-desc", optarg, 64, 32768, &o->dp.txd) != 0)
				return -1;
			break;
		case O_PROFILE:
			o->profile_path = optarg;
			break;
		case O_RRLRATE:
			if (parse_uint("rrl-rate", optarg, 0, RRL_RATE_MAX, &o->dp.rrl.rate) != 0)
				return -1;
			break;
		case O_RRLSLIP:
			if (parse_uint("rrl-slip", optarg, 0, RRL_SLIP_MAX, &o->dp.rrl.slip) != 0)
				return -1;
			break;
		case O_RRL4:
			if (parse_uint("rrl-ipv4-prefix", optarg, 1, 32, &v) != 0)
				return -1;
			o->dp.rrl.v4_prefix = (uint8_t)v;
			break;
		case O_RRL6:
			if (parse_uint("rrl-ipv6-prefix", optarg, 1, 128, &v) != 0)
				return -1;
			o->dp.rrl.v6_prefix = (uint8_t)v;
			break;
		case O_RRLTAB:
			if (parse_uint("rrl-table-size", optarg, 64, RRL_TABLE_MAX,
			               &o->dp.rrl.table_size) != 0)
				return -1;
			break;
		case O_TESTHOOKS:
			o->dp.test_hooks = true;
			break;
		case O_IDLESLEEP:
			if (parse_uint("idle-sleep-us", optarg, 0, 1000000, &o->dp.idle_sleep_us) != 0)
				return -1;
			break;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc && (o->io != IO_DPDK || strcmp(argv[optind - 1], "--") != 0)) {
		logmsg(1, "unexpected argument '%s'", argv[optind]);
		return -1;
	}
	o->eal_argc = argc - optind;
	o->eal_argv = argv + optind;
	if (!io_set) {
		logmsg(1, "--io socket|dpdk is required");
		return -1;
	}
	if (o->snapdir == NULL) {
		logmsg(1, "--snapshots DIR is required");
		return -1;
	}
	if (o->io == IO_DPDK && o->profile_path != NULL) {
		char err[1024];
		if (profile_load(o->profile_path, &o->profile, err, sizeof(err)) != 0) {
			logmsg(1, "--profile: %s", err);
			return -1;
		}
		if (apply_profile(o) != 0)
			return -1;
	} else if (o->profile_path != NULL) {
		logmsg(1, "--profile is for --io dpdk");
		return -1;
	}
	if (o->io == IO_DPDK) {
		if (o->dp.nports == 0) {
			logmsg(1, "--io dpdk: at least one --port");
			return -1;
		}
		if (o->dp.filter.n4 + o->dp.filter.n6 == 0) {
			logmsg(1, "--io dpdk: at least one --serve address");
			return -1;
		}
		/* the kernel's server (TCP, and UDP the fast path passes on)
		 * listens on the served addresses */
		if (o->nlisten == 0)
			served_listen(o);
	} else if (o->dp.nports != 0 || o->dp.filter.n4 + o->dp.filter.n6 != 0) {
		logmsg(1, "--port and --serve are for --io dpdk");
		return -1;
	}
	if (o->nlisten == 0) {
		ios_parse_addr("127.0.0.1@53", &o->listen[0]);
		ios_parse_addr("::1@53", &o->listen[1]);
		o->nlisten = 2;
	}
	return cookie_setup(o);
}

static unsigned cpu_count(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return (unsigned)CPU_COUNT(&set);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

static int write_pidfile(const char *path)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp))
		return -1;
	FILE *f = fopen(tmp, "w");
	if (f == NULL)
		return -1;
	fprintf(f, "%ld\n", (long)getpid());
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

static void reload_dir(struct zonedb *db, const char *dir)
{
	struct zonedb_dir_result r;
	char err[1024] = "";
	if (zonedb_load_dir(db, dir, &r, err, sizeof(err)) != ED_OK)
		logmsg(1, "reload: %s", err);
	else
		logmsg(0, "reload of %s: %u loaded, %u unchanged, %u failed", dir,
		       r.loaded, r.unchanged, r.failed);
}

/* The servers of one run: the socket server (socket mode, and the kernel
 * side of DPDK mode), the DPDK dataplane. */
struct servers {
	struct ios *ios;
	struct dpdk *dp;
};

static void counters_all(void *arg, struct dp_counters *out)
{
	struct servers *sv = arg;
	struct dp_counters a;
	memset(out, 0, sizeof(*out));
	if (sv->dp != NULL)
		dpdk_counters_cb(sv->dp, out);
	if (sv->ios != NULL) {
		ios_counters(sv->ios, &a);
		dp_counters_add(out, &a);
	}
}

/* The DPDK commands in socket mode: probes go through the workers' packet
 * path, which socket mode does not have; there the kernel's sockets are the
 * path, and a UDP query to a listen address probes it. */
static char *socket_cmd(void *arg, char *const *w, unsigned n)
{
	(void)arg;
	char *out = NULL;
	if (strcmp(w[0], "lease") == 0 && n <= 2) {
		/* taken, so that control's renewals do not fail; there is no
		 * exception path here (BGP is the kernel's own business) */
		char *end = NULL;
		unsigned long ms = n == 2 ? strtoul(w[1], &end, 10) : 0;
		if (n == 2 && (w[1][0] == '-' || *end != '\0' || ms > DPDK_LEASE_MAX_MS))
			return NULL;
		if (asprintf(&out, "{\"ok\":true,\"io\":\"socket\",\"lease_ms\":%lu,"
		             "\"state\":\"off\",\"enforced\":false}", ms) < 0)
			return NULL;
		return out;
	}
	if (strcmp(w[0], "probe") != 0 && strcmp(w[0], "stall") != 0)
		return NULL;
	if (asprintf(&out, "{\"ok\":false,\"io\":\"socket\",\"error\":\"%s needs --io dpdk;"
	             " in socket mode send a UDP query to a listen address\"}", w[0]) < 0)
		return NULL;
	return out;
}

static void link_log(int level, const char *msg)
{
	logmsg(level, "%s", msg);
}

/* Run the servers until SIGTERM or SIGINT; returns the exit status. */
static int run(struct opts *o, const sigset_t *sigs)
{
	int status = 1;
	struct timespec started;
	clock_gettime(CLOCK_MONOTONIC, &started);
	char err[1024] = "";
	struct servers sv = { NULL, NULL };
	bool dpdk = o->io == IO_DPDK;
	/* In DPDK mode the kernel's server only serves what the fast path
	 * passes on (TCP above all): one UDP thread is plenty. */
	unsigned nw = dpdk ? dpdk_workers() : 0;
	if (dpdk && nw == 0) {
		logmsg(1, "no worker lcore: give the EAL at least two (-l 0,1)");
		return 1;
	}
	struct ios_conf ic = {
		.listen = o->listen,
		.nlisten = o->nlisten,
		.threads = o->threads ? o->threads : dpdk ? 1 : cpu_count(),
		.tcp_idle_ms = o->tcp_idle_ms,
		.tcp_max_conns = o->tcp_max_conns,
		.eng = &o->eng,
		.rcu_base = nw,
		.rrl = o->dp.rrl,
	};
	bool sockets = !dpdk || o->dp.exception;
	struct zonedb *db = zonedb_new(nw + (sockets ? ios_readers(&ic) : 0), zonedb_log, NULL);
	struct cmdsock *cs = NULL;
	int pidfile_written = 0;
	if (db == NULL) {
		logmsg(1, "out of memory");
		return 1;
	}
	ic.db = db;

	/* Zones first: by the time a port answers, the zones are served. */
	struct zonedb_dir_result r;
	if (zonedb_load_dir(db, o->snapdir, &r, err, sizeof(err)) != ED_OK) {
		logmsg(1, "snapshots: %s", err);
		goto out;
	}
	logmsg(0, "%u zones loaded from %s, %u failed", r.loaded, o->snapdir, r.failed);

	if (dpdk) {
		o->dp.eng = &o->eng;
		o->dp.db = db;
		o->dp.rcu_base = 0;
		if ((sv.dp = dpdk_new(&o->dp, err, sizeof(err))) == NULL) {
			logmsg(1, "%s", err);
			goto out;
		}
	}
	if (sockets) {
		if ((sv.ios = ios_new(&ic, err, sizeof(err))) == NULL) {
			logmsg(1, "%s", err);
			goto out;
		}
		if (ios_start(sv.ios, err, sizeof(err)) != ED_OK) {
			logmsg(1, "%s", err);
			goto out;
		}
		for (unsigned i = 0; i < o->nlisten; i++) {
			char as[80];
			logmsg(0, "listening on %s (udp: %u threads, tcp)",
			       ios_addr_str(&o->listen[i], as, sizeof(as)), ic.threads);
		}
	}
	if (dpdk) {
		if (dpdk_start(sv.dp, err, sizeof(err)) != ED_OK) {
			logmsg(1, "%s", err);
			goto out;
		}
		logmsg(0, "dpdk: %u ports, %u workers, exception ports %s", o->dp.nports, nw,
		       o->dp.exception ? "on" : "off");
		for (unsigned i = 0; o->dp.exception && i < o->dp.nports; i++) {
			if (dpdk_exception_queue(sv.dp, i))
				logmsg(0, "port %s: the kernel's frames on queue %u, the exception "
				       "thread's", o->dp.ports[i], nw);
			else
				logmsg(0, "warning: port %s: no queue pair beyond the %u workers': the kernel's "
				       "frames (BGP, BFD) pass through the workers, and a stuck one "
				       "holds them (give the port %u queues)", o->dp.ports[i], nw, nw + 1);
		}
		dpdk_check_links(sv.dp, link_log);
	}
	if (o->control != NULL) {
		struct cmdsock_conf cc = {
			.path = o->control,
			.db = db,
			.snapdir = o->snapdir,
			.counters = counters_all,
			.counters_arg = &sv,
			.started = started,
			.frames = dpdk,
			.extra = dpdk ? dpdk_cmd : socket_cmd,
			.extra_arg = sv.dp,
		};
		if ((cs = cmdsock_new(&cc, err, sizeof(err))) == NULL) {
			logmsg(1, "%s", err);
			goto out;
		}
		logmsg(0, "command socket %s", o->control);
	}
	if (o->pidfile != NULL) {
		if (write_pidfile(o->pidfile) != 0) {
			logmsg(1, "pidfile %s: %s", o->pidfile, strerror(errno));
			goto out;
		}
		pidfile_written = 1;
	}
	logmsg(0, "ready, pid %ld", (long)getpid());
	if (dpdk)
		daemon_notify("READY=1\nSTATUS=serving %u zone(s): %u port(s), %u worker(s)",
		              r.loaded, o->dp.nports, nw);
	else
		daemon_notify("READY=1\nSTATUS=serving %u zone(s) on %u address(es)", r.loaded,
		              o->nlisten);

	/* the main lcore's loop: signals, and about once a second the links
	 * and the lease, and (every half interval) the systemd watchdog. By
	 * the clock, not by the wait's timeout: the net_tap driver's signal
	 * interrupts the wait at every frame the kernel sends. */
	const uint64_t wd = daemon_watchdog_usec();
	uint64_t wd_next = 0, check_next = 0;
	for (;;) {
		uint64_t now = daemon_monotonic_usec();
		if (wd != 0 && now >= wd_next) {
			daemon_notify("WATCHDOG=1");
			wd_next = now + wd / 2;
		}
		if (now >= check_next) {
			if (sv.dp != NULL) {
				dpdk_check_links(sv.dp, link_log);
				dpdk_lease_check(sv.dp, link_log);
			}
			check_next = now + 1000000u;
		}
		uint64_t until = wd != 0 && wd_next < check_next ? wd_next : check_next;
		uint64_t wait = until > now ? until - now : 0;
		struct timespec ts = { (time_t)(wait / 1000000u), (long)(wait % 1000000u) * 1000L };
		int sig = sigtimedwait(sigs, NULL, &ts);
		if (sig < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			logmsg(1, "sigtimedwait: %s", strerror(errno));
			goto out;
		}
		if (sig == SIGHUP) {
			daemon_notify("RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading the snapshots",
			              (unsigned long long)daemon_monotonic_usec());
			reload_dir(db, o->snapdir);
			daemon_notify("READY=1\nSTATUS=snapshots reloaded");
			continue;
		}
		if (sig == SIGTERM || sig == SIGINT) {
			logmsg(0, "signal %d: stopping", sig);
			daemon_notify("STOPPING=1\nSTATUS=stopping");
			status = 0;
			break;
		}
	}
out:
	/* The command thread first: it may be waiting for a grace period,
	 * which needs the I/O threads to keep reporting. Then the workers
	 * stop taking frames and go offline. */
	cmdsock_free(cs);
	dpdk_stop(sv.dp);
	ios_free(sv.ios);
	dpdk_free(sv.dp);
	zonedb_free(db);
	if (pidfile_written)
		unlink(o->pidfile);
	return status;
}

int main(int argc, char **argv)
{
	static struct opts o;
	setvbuf(stderr, NULL, _IOLBF, 0);
	o.dp.filter.dns_port = 53;
	o.dp.exception = true;
	rrl_conf_defaults(&o.dp.rrl);
	if (parse_opts(argc, argv, &o) != 0)
		return 2;
	if (cookie_files(&o) != 0)
		return 1;
	/* one dataplane per command socket, before the EAL or any socket */
	int lockfd = -1;
	if (o.control != NULL) {
		char lockpath[PATH_MAX + 8], err[PATH_MAX + 128];
		snprintf(lockpath, sizeof(lockpath), "%s.lock", o.control);
		if (daemon_lock(lockpath, PROG, &lockfd, err, sizeof(err)) != 0) {
			logmsg(1, "%s", err);
			return 1;
		}
	}
	/* Signals go to the main thread only, which waits for them: every
	 * other thread inherits this mask. SIGPIPE is ignored (sends use
	 * MSG_NOSIGNAL anyway). */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	signal(SIGPIPE, SIG_IGN);
	int rc = pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	if (rc != 0) {
		logmsg(1, "pthread_sigmask: %s", strerror(rc));
		return 1;
	}
	if (o.io == IO_DPDK) {
		/* The EAL's threads inherit the signal mask set above. */
		char *eal_argv[256];
		int n = 0;
		eal_argv[n++] = argv[0];
		if (o.eal_argc > 254) {
			logmsg(1, "too many EAL arguments: at most 254");
			return 2;
		}
		for (int i = 0; i < o.eal_argc; i++)
			eal_argv[n++] = o.eal_argv[i];
		eal_argv[n] = NULL;
		if (rte_eal_init(n, eal_argv) < 0) {
			logmsg(1, "EAL: %s", rte_strerror(rte_errno));
			return 1;
		}
		int status = run(&o, &sigs);
		rte_eal_cleanup();
		return status;
	}
	return run(&o, &sigs);
}
