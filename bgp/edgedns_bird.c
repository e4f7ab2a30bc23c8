/* edgedns_bird.c: edgedns-bird, a thin command line over the BIRD client
 * (bird.h), the anycast policy (anycast.h) and the config generator
 * (birdconf.h). Used by operators and by tests/bgp. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anycast.h"
#include "bird.h"
#include "birdconf.h"
#include "daemon.h"
#include "error.h"

#define DEFAULT_SOCKET "/run/bird/bird.ctl"

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: edgedns-bird [-s SOCKET] [-t TIMEOUT_MS] COMMAND [ARGS]\n"
	        "       edgedns-bird -h | --help | -V | --version\n"
	        "  show [PATTERN]                 protocols (name proto table state since info)\n"
	        "  enable NAME | disable NAME     a protocol\n"
	        "  configure [FILE]               reconfigure (0003/0004/0005 are success)\n"
	        "  configure-status               0003 done, 0004/0005 in progress, 0006 down\n"
	        "  check [FILE]                   configure check\n"
	        "  status                         show status\n"
	        "  route PREFIX [--protocol P] [--community ASN,VAL]\n"
	        "                                 routes of exactly PREFIX; exit 1 when none\n"
	        "                                 (with --community: none carrying it)\n"
	        "  raw COMMAND...                 any command, reply lines as NNNN text\n"
	        "  announce|drain|withdraw|state SERVICE [PREFIX...]\n"
	        "                                 the anycast policy (anycast.h)\n"
	        "  withdraw                       every service: disable every anycast_* then\n"
	        "                                 every gshut_* protocol (when control cannot)\n"
	        "  drain-withdraw SERVICE WAIT_MS [PREFIX...]\n"
	        "  gen-config [-o FILE] --router-id A --local-as N\n"
	        "             [--neighbor [NAME],ADDR,AS[,password=P][,bfd=on|off][,source=A]\n"
	        "                         [,interface=I][,multihop=N][,hold=S][,port=N]]...\n"
	        "             [--service NAME,PREFIX[,PREFIX]...]... [--bfd-interval MS]\n"
	        "             [--bfd-multiplier N] [--log syslog|stderr|FILE] [--socket PATH]\n"
	        "exit: 0 done, 1 negative answer (route), 2 error\n"
	        "default socket " DEFAULT_SOCKET "\n");
}

static int fail(const char *what, int rc, const char *err)
{
	fprintf(stderr, "edgedns-bird: %s: %s\n", what, err[0] ? err : ed_strerror(rc));
	return 2;
}

static bool parse_u32(const char *s, uint32_t *out)
{
	char *e;
	errno = 0;
	unsigned long long v = strtoull(s, &e, 10);
	if (errno || e == s || *e || v > 0xffffffffull || s[0] == '-')
		return false;
	*out = (uint32_t)v;
	return true;
}

/* ---- gen-config ----------------------------------------------------------------- */

static int parse_neighbor(char *spec, struct birdconf_neighbor *nb)
{
	memset(nb, 0, sizeof(*nb));
	char *tok;
	int i = 0;
	/* strsep: an empty first field is "no name" */
	for (; (tok = strsep(&spec, ",")) != NULL; i++) {
		uint32_t u;
		if (i == 0) {
			nb->name = tok[0] ? tok : NULL;
		} else if (i == 1) {
			nb->address = tok;
		} else if (i == 2) {
			if (!parse_u32(tok, &nb->remote_as))
				return -1;
		} else if (strncmp(tok, "password=", 9) == 0) {
			nb->password = tok + 9;
		} else if (strcmp(tok, "bfd=on") == 0) {
			nb->bfd = BIRDCONF_BFD_ON;
		} else if (strcmp(tok, "bfd=off") == 0) {
			nb->bfd = BIRDCONF_BFD_OFF;
		} else if (strncmp(tok, "source=", 7) == 0) {
			nb->source = tok + 7;
		} else if (strncmp(tok, "interface=", 10) == 0) {
			nb->interface = tok + 10;
		} else if (strncmp(tok, "multihop=", 9) == 0 && parse_u32(tok + 9, &u)) {
			nb->multihop = u;
		} else if (strncmp(tok, "port=", 5) == 0 && parse_u32(tok + 5, &u)) {
			nb->port = u;
		} else if (strncmp(tok, "hold=", 5) == 0 && parse_u32(tok + 5, &u)) {
			nb->hold_time = u;
		} else {
			return -1;
		}
	}
	return i >= 3 ? 0 : -1;
}

/* NAME,PREFIX,...: the prefixes sorted by family into v4 and v6 (each with
 * room for all). */
static int parse_service(char *spec, struct birdconf_service *s, const char **v4,
                         const char **v6)
{
	memset(s, 0, sizeof(*s));
	char *save, *tok = strtok_r(spec, ",", &save);
	if (tok == NULL)
		return -1;
	s->name = tok;
	s->prefixes4 = v4;
	s->prefixes6 = v6;
	size_t n4 = 0, n6 = 0;
	while ((tok = strtok_r(NULL, ",", &save)) != NULL) {
		if (strchr(tok, ':'))
			v6[n6++] = tok;
		else
			v4[n4++] = tok;
	}
	s->n4 = n4;
	s->n6 = n6;
	return 0;
}

static int gen_config(int argc, char **argv)
{
	struct birdconf cf = { 0 };
	struct birdconf_neighbor *nbs = calloc((size_t)argc + 1, sizeof(*nbs));
	struct birdconf_service *svcs = calloc((size_t)argc + 1, sizeof(*svcs));
	const char **pfx = calloc((size_t)argc * 2 * 64 + 1, sizeof(*pfx));
	const char *out = NULL;
	int ret = 2;
	if (nbs == NULL || svcs == NULL || pfx == NULL) {
		fprintf(stderr, "edgedns-bird: out of memory\n");
		goto done;
	}
	size_t npfx = 0;
	for (int i = 0; i < argc; i++) {
		const char *o = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (v == NULL) {
			fprintf(stderr, "edgedns-bird: gen-config: %s needs a value\n", o);
			goto done;
		}
		uint32_t u;
		i++;
		if (strcmp(o, "-o") == 0) {
			out = v;
		} else if (strcmp(o, "--router-id") == 0) {
			cf.router_id = v;
		} else if (strcmp(o, "--local-as") == 0 && parse_u32(v, &u)) {
			cf.local_as = u;
		} else if (strcmp(o, "--bfd-interval") == 0 && parse_u32(v, &u)) {
			cf.bfd_interval_ms = u;
		} else if (strcmp(o, "--bfd-multiplier") == 0 && parse_u32(v, &u)) {
			cf.bfd_multiplier = u;
		} else if (strcmp(o, "--log") == 0) {
			cf.log = v;
		} else if (strcmp(o, "--socket") == 0) {
			cf.control_socket = v;
		} else if (strcmp(o, "--neighbor") == 0) {
			if (parse_neighbor(argv[i], &nbs[cf.n_neighbors]) < 0) {
				fprintf(stderr, "edgedns-bird: bad --neighbor '%s'\n", v);
				goto done;
			}
			cf.n_neighbors++;
		} else if (strcmp(o, "--service") == 0) {
			size_t room = 1;
			for (const char *p = v; *p; p++)
				room += *p == ',';
			if (room > 64) {
				fprintf(stderr, "edgedns-bird: more than 63 prefixes in a service\n");
				goto done;
			}
			parse_service(argv[i], &svcs[cf.n_services], pfx + npfx, pfx + npfx + room);
			npfx += 2 * room;
			cf.n_services++;
		} else {
			fprintf(stderr, "edgedns-bird: gen-config: bad option %s %s\n", o, v);
			goto done;
		}
	}
	cf.neighbors = nbs;
	cf.services = svcs;
	char err[256] = "";
	int rc;
	if (out != NULL) {
		rc = birdconf_write(&cf, out, err, sizeof(err));
	} else {
		char *text;
		size_t len;
		rc = birdconf_render(&cf, &text, &len, err, sizeof(err));
		if (rc == 0) {
			fwrite(text, 1, len, stdout);
			free(text);
		}
	}
	ret = rc < 0 ? fail("gen-config", rc, err) : 0;
done:
	free(nbs);
	free(svcs);
	free(pfx);
	return ret;
}

/* ---- commands on the socket ----------------------------------------------------- */

static int cmd_route(bird_conn_t *c, int argc, char **argv)
{
	const char *prefix = NULL, *proto = NULL;
	uint32_t asn = 0, val = 0;
	bool want_comm = false;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--protocol") == 0 && i + 1 < argc) {
			proto = argv[++i];
		} else if (strcmp(argv[i], "--community") == 0 && i + 1 < argc) {
			char *comma = strchr(argv[++i], ',');
			if (comma == NULL)
				return fail("route", ED_EINVAL, "--community ASN,VALUE");
			*comma = '\0';
			if (!parse_u32(argv[i], &asn) || !parse_u32(comma + 1, &val) ||
			    asn > 0xffff || val > 0xffff)
				return fail("route", ED_EINVAL, "--community ASN,VALUE");
			want_comm = true;
		} else if (prefix == NULL) {
			prefix = argv[i];
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (prefix == NULL) {
		usage(stderr);
		return 2;
	}
	char err[256] = "";
	struct bird_routes r;
	int rc = bird_show_route(c, prefix, proto, &r, err, sizeof(err));
	if (rc < 0)
		return fail("route", rc, err);
	bool found = false;
	for (size_t i = 0; i < r.n; i++) {
		const struct bird_route *rt = &r.v[i];
		bool has = want_comm && bird_route_has_community(rt, (uint16_t)asn, (uint16_t)val);
		found |= !want_comm || has;
		printf("%s %s %s %s", rt->table, rt->net, rt->dest, rt->proto);
		if (rt->primary)
			printf(" best");
		if (rt->gw[0])
			printf(" via %s", rt->gw);
		for (size_t k = 0; k < rt->ncommunities; k++)
			printf(" (%u,%u)", rt->communities[k] >> 16, rt->communities[k] & 0xffff);
		printf("\n");
	}
	bird_routes_free(&r);
	return found ? 0 : 1;
}

static int cmd_policy(bird_conn_t *c, const char *verb, int argc, char **argv)
{
	int first = 1;
	unsigned wait_ms = 0;
	if (argc < 1)
		goto use;
	if (strcmp(verb, "drain-withdraw") == 0) {
		uint32_t u;
		if (argc < 2 || !parse_u32(argv[1], &u))
			goto use;
		wait_ms = u;
		first = 2;
	}
	const char **v4 = calloc((size_t)argc + 1, sizeof(*v4));
	const char **v6 = calloc((size_t)argc + 1, sizeof(*v6));
	if (v4 == NULL || v6 == NULL) {
		free(v4);
		free(v6);
		return fail(verb, ED_ENOMEM, "");
	}
	struct birdconf_service svc = { .name = argv[0], .prefixes4 = v4, .prefixes6 = v6 };
	for (int i = first; i < argc; i++) {
		if (strchr(argv[i], ':'))
			v6[svc.n6++] = argv[i];
		else
			v4[svc.n4++] = argv[i];
	}
	char err[256] = "";
	int rc;
	enum anycast_state st = ANYCAST_MIXED;
	if (strcmp(verb, "announce") == 0)
		rc = anycast_announce(c, &svc, err, sizeof(err));
	else if (strcmp(verb, "drain") == 0)
		rc = anycast_drain(c, &svc, err, sizeof(err));
	else if (strcmp(verb, "withdraw") == 0)
		rc = anycast_withdraw(c, &svc, err, sizeof(err));
	else if (strcmp(verb, "drain-withdraw") == 0)
		rc = anycast_drain_withdraw(c, &svc, wait_ms, err, sizeof(err));
	else
		rc = anycast_state(c, &svc, &st, err, sizeof(err));
	free(v4);
	free(v6);
	if (rc < 0)
		return fail(verb, rc, err);
	if (strcmp(verb, "state") == 0)
		printf("%s\n", anycast_state_name(st));
	return 0;
use:
	usage(stderr);
	return 2;
}

static void withdrawn_one(void *arg, const char *name, bool changed, int rc, const char *err)
{
	(void)arg;
	if (rc < 0)
		fprintf(stderr, "edgedns-bird: disable %s: %s\n", name, err[0] ? err : ed_strerror(rc));
	else
		printf("%s: %sdisabled\n", name, changed ? "" : "already ");
}

/* withdraw without a service: every anycast_* and gshut_* protocol. */
static int cmd_withdraw_all(bird_conn_t *c)
{
	char err[512] = "";
	unsigned n = 0;
	int rc = anycast_withdraw_all(c, withdrawn_one, NULL, &n, err, sizeof(err));
	if (rc < 0)
		return fail("withdraw", rc, err);
	printf("withdrawn: %u protocol%s disabled\n", n, n == 1 ? "" : "s");
	return 0;
}

static int run(bird_conn_t *c, const char *cmd, int argc, char **argv)
{
	char err[512] = "";
	int rc;
	if (strcmp(cmd, "show") == 0 && argc <= 1) {
		struct bird_protocols ps;
		rc = bird_show_protocols(c, argc ? argv[0] : NULL, &ps, err, sizeof(err));
		if (rc < 0)
			return fail(cmd, rc, err);
		for (size_t i = 0; i < ps.n; i++)
			printf("%s %s %s %s %s %s\n", ps.v[i].name, ps.v[i].proto, ps.v[i].table,
			       ps.v[i].state, ps.v[i].since, ps.v[i].info);
		bird_protocols_free(&ps);
		return 0;
	}
	if ((strcmp(cmd, "enable") == 0 || strcmp(cmd, "disable") == 0) && argc == 1) {
		bool changed = false;
		rc = cmd[0] == 'e' ? bird_enable(c, argv[0], &changed, err, sizeof(err))
		                   : bird_disable(c, argv[0], &changed, err, sizeof(err));
		if (rc < 0)
			return fail(cmd, rc, err);
		printf("%s: %s%sd\n", argv[0], changed ? "" : "already ", cmd);
		return 0;
	}
	if (strcmp(cmd, "configure") == 0 && argc <= 1) {
		int code = 0;
		rc = bird_configure(c, argc ? argv[0] : NULL, &code, err, sizeof(err));
		if (rc < 0)
			return fail(cmd, rc, err);
		printf("%04d %s\n", code, code == 3 ? "reconfigured" : code == 4 ?
		       "reconfiguration in progress" : "queued");
		return 0;
	}
	if (strcmp(cmd, "configure-status") == 0 && argc == 0) {
		int code = 0;
		rc = bird_configure_status(c, &code, err, sizeof(err));
		if (rc < 0)
			return fail(cmd, rc, err);
		printf("%04d %s\n", code, code == 3 ? "done" : code == 6 ? "shutting down" :
		       "in progress");
		return 0;
	}
	if (strcmp(cmd, "check") == 0 && argc <= 1) {
		rc = bird_configure_check(c, argc ? argv[0] : NULL, err, sizeof(err));
		if (rc < 0)
			return fail(cmd, rc, err);
		printf("configuration ok\n");
		return 0;
	}
	if (strcmp(cmd, "status") == 0 && argc == 0) {
		struct bird_status st;
		rc = bird_show_status(c, &st, err, sizeof(err));
		if (rc < 0)
			return fail(cmd, rc, err);
		printf("version %s\nrouter-id %s\nserver-time %s\nlast-reboot %s\n"
		       "last-reconfiguration %s\nstatus %s\n", st.version, st.router_id,
		       st.server_time, st.last_reboot, st.last_reconfig, st.message);
		return 0;
	}
	if (strcmp(cmd, "raw") == 0 && argc > 0) {
		char line[BIRD_CMD_MAX + 1] = "";
		size_t len = 0;
		for (int i = 0; i < argc; i++) {
			int n = snprintf(line + len, sizeof(line) - len, "%s%s", i ? " " : "", argv[i]);
			if (n < 0 || (size_t)n >= sizeof(line) - len)
				return fail(cmd, ED_EINVAL, "command too long");
			len += (size_t)n;
		}
		struct bird_reply r;
		rc = bird_command(c, line, &r, err, sizeof(err));
		for (size_t i = 0; i < r.n; i++)
			printf("%04d %s\n", r.lines[i].code, r.lines[i].text);
		bird_reply_free(&r);
		return rc < 0 ? fail(cmd, rc, err) : 0;
	}
	if (strcmp(cmd, "route") == 0)
		return cmd_route(c, argc, argv);
	if (strcmp(cmd, "withdraw") == 0 && argc == 0)
		return cmd_withdraw_all(c);
	if (strcmp(cmd, "announce") == 0 || strcmp(cmd, "drain") == 0 ||
	    strcmp(cmd, "withdraw") == 0 || strcmp(cmd, "state") == 0 ||
	    strcmp(cmd, "drain-withdraw") == 0)
		return cmd_policy(c, cmd, argc, argv);
	usage(stderr);
	return 2;
}

int main(int argc, char **argv)
{
	const char *sock = DEFAULT_SOCKET;
	struct bird_opts opts = { 0 };
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-s") == 0 && i + 1 < argc) {
			sock = argv[++i];
		} else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc) {
			uint32_t u;
			if (!parse_u32(argv[++i], &u) || u == 0) {
				usage(stderr);
				return 2;
			}
			opts.timeout_ms = u;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "-V") == 0 || strcmp(argv[i], "--version") == 0) {
			daemon_version("edgedns-bird");
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[i++];
	if (strcmp(cmd, "gen-config") == 0)
		return gen_config(argc - i, argv + i);

	bird_conn_t *c = bird_new(&opts);
	if (c == NULL)
		return fail("start", ED_ENOMEM, "");
	char err[256] = "";
	int rc = bird_connect(c, sock, err, sizeof(err));
	if (rc < 0) {
		bird_free(c);
		return fail("connect", rc, err);
	}
	int ret = run(c, cmd, argc - i, argv + i);
	bird_free(c);
	return ret;
}
