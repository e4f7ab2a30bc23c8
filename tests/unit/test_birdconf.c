/* test_birdconf.c: the generated bird.conf (birdconf.h): the fail-closed
 * protocols, the community, BFD, no kernel protocol, the checks. BIRD's
 * own parser reads the output in tests/bgp (bird -p, golden files). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "birdconf.h"
#include "error.h"

static const char *const dns4[] = { "203.0.113.53", "198.51.100.0/24" };
static const char *const dns6[] = { "2001:db8:53::53" };
static const char *const ntp4[] = { "203.0.113.123/32" };

static struct birdconf_neighbor nbs[2];
static struct birdconf_service svcs[2];
static struct birdconf cf;

static int setup(void **st)
{
	(void)st;
	memset(nbs, 0, sizeof(nbs));
	nbs[0] = (struct birdconf_neighbor){ .name = "r1", .address = "192.0.2.1",
	                                     .remote_as = 64501, .password = "s3cret" };
	nbs[1] = (struct birdconf_neighbor){ .name = "r1v6", .address = "2001:db8::1",
	                                     .remote_as = 64501, .source = "2001:db8::2",
	                                     .hold_time = 9 };
	svcs[0] = (struct birdconf_service){ "dns", dns4, 2, dns6, 1 };
	svcs[1] = (struct birdconf_service){ "ntp", ntp4, 1, NULL, 0 };
	cf = (struct birdconf){ .router_id = "192.0.2.2", .local_as = 64500, .neighbors = nbs,
	                        .n_neighbors = 2, .services = svcs, .n_services = 2,
	                        .log = "stderr", .control_socket = "/run/bird/bird.ctl" };
	return 0;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

static char *render_ok(void)
{
	char *text = NULL, err[256] = "";
	size_t len = 0;
	int rc = birdconf_render(&cf, &text, &len, err, sizeof(err));
	if (rc != 0)
		fail_msg("render: %d %s", rc, err);
	assert_int_equal(strlen(text), len);
	return text;
}

/* The text of the protocol block named name ("protocol static x {"...). */
static char *block(const char *text, const char *head)
{
	const char *p = strstr(text, head);
	if (p == NULL)
		fail_msg("no '%s' in the config", head);
	const char *e = strstr(p, "\n}\n");
	assert_non_null(e);
	return strndup(p, (size_t)(e - p + 2));
}

static void t_render(void **st)
{
	(void)st;
	char *t = render_ok();
	assert_non_null(strstr(t, "router id 192.0.2.2;\n"));
	assert_non_null(strstr(t, "log stderr all;\n"));
	assert_non_null(strstr(t, "# Control socket: bird -s /run/bird/bird.ctl\n"));
	assert_non_null(strstr(t, "protocol device device1 {"));
	/* fail closed: every announcing protocol disabled, 4 per service */
	assert_int_equal(count(t, "protocol static "), 8);
	assert_int_equal(count(t, "\tdisabled;\n"), 8);
	const char *names[] = { "anycast_dns_4", "anycast_dns_6", "gshut_dns_4", "gshut_dns_6",
	                        "anycast_ntp_4", "anycast_ntp_6", "gshut_ntp_4", "gshut_ntp_6" };
	for (size_t i = 0; i < 8; i++) {
		char head[80], rule[96];
		snprintf(head, sizeof(head), "protocol static %s {\n\tdisabled;\n", names[i]);
		assert_non_null(strstr(t, head));
		snprintf(rule, sizeof(rule), "\tif proto = \"%s\" then accept;\n", names[i]);
		assert_non_null(strstr(t, rule));
	}
	/* the routes, normalised, in both the plain and the gshut protocol */
	char *b = block(t, "protocol static anycast_dns_4 {");
	assert_non_null(strstr(b, "\troute 203.0.113.53/32 blackhole;\n"));
	assert_non_null(strstr(b, "\troute 198.51.100.0/24 blackhole;\n"));
	assert_non_null(strstr(b, "preference 200;"));
	assert_null(strstr(b, "edgedns_gshut"));
	free(b);
	b = block(t, "protocol static gshut_dns_6 {");
	assert_non_null(strstr(b, "\troute 2001:db8:53::53/128 blackhole;\n"));
	assert_non_null(strstr(b, "preference 210; import filter edgedns_gshut;"));
	free(b);
	b = block(t, "protocol static anycast_ntp_6 {");
	assert_null(strstr(b, "route "));
	free(b);
	/* the community */
	b = block(t, "filter edgedns_gshut\n{");
	assert_non_null(strstr(b, "bgp_community.add((65535, 0));"));
	free(b);
	b = block(t, "filter edgedns_export\n{");
	assert_non_null(strstr(b, "\treject;\n}"));
	free(b);
	/* BFD: 100 ms x 3 */
	b = block(t, "protocol bfd bfd1 {");
	assert_int_equal(count(b, "min rx interval 100 ms;"), 2);
	assert_int_equal(count(b, "multiplier 3;"), 2);
	free(b);
	/* no kernel, nothing imported */
	assert_null(strstr(t, "kernel {"));
	assert_null(strstr(t, "protocol kernel"));
	assert_null(strstr(t, "import all"));
	assert_null(strstr(t, "export all"));
	/* the sessions */
	b = block(t, "protocol bgp bgp_r1 {");
	assert_non_null(strstr(b, "\tneighbor 192.0.2.1 as 64501;\n"));
	assert_non_null(strstr(b, "\tlocal as 64500;\n"));
	assert_non_null(strstr(b, "\tpassword \"s3cret\";\n"));
	assert_non_null(strstr(b, "\tbfd on;\n"));
	assert_non_null(strstr(b, "\thold time 30;\n"));
	assert_non_null(strstr(b, "\tgraceful restart off;\n"));
	assert_non_null(strstr(b, "\tipv4 {\n\t\timport none;\n\t\texport filter edgedns_export;\n"));
	assert_null(strstr(b, "source address"));
	assert_null(strstr(b, "multihop"));
	assert_null(strstr(b, "interface"));
	free(b);
	b = block(t, "protocol bgp bgp_r1v6 {");
	assert_non_null(strstr(b, "\tneighbor 2001:db8::1 as 64501;\n"));
	assert_non_null(strstr(b, "\tsource address 2001:db8::2;\n"));
	assert_non_null(strstr(b, "\thold time 9;\n\tkeepalive time 3;\n"));
	assert_non_null(strstr(b, "\tipv6 {\n"));
	assert_null(strstr(b, "password"));
	free(b);
	/* nothing of the template syntax left */
	assert_null(strstr(t, "@"));
	assert_null(strstr(t, "##"));
	free(t);
}

static void t_options(void **st)
{
	(void)st;
	nbs[0].bfd = BIRDCONF_BFD_OFF;
	nbs[1].bfd = BIRDCONF_BFD_OFF;
	nbs[1].interface = "eth0.100";
	nbs[1].multihop = 2;
	cf.log = NULL;
	cf.control_socket = NULL;
	char *t = render_ok();
	assert_null(strstr(t, "protocol bfd"));
	assert_int_equal(count(t, "\tbfd off;\n"), 2);
	assert_non_null(strstr(t, "\tinterface \"eth0.100\";\n\tsource address 2001:db8::2;\n"
	                          "\tmultihop 2;\n"));
	assert_non_null(strstr(t, "log syslog name \"bird\" all;\n"));
	assert_null(strstr(t, "Control socket"));
	free(t);
	/* BFD timers; a log file */
	nbs[0].bfd = BIRDCONF_BFD_ON;
	cf.bfd_interval_ms = 50;
	cf.bfd_multiplier = 5;
	cf.log = "/var/log/bird.log";
	t = render_ok();
	assert_int_equal(count(t, "min tx interval 50 ms;"), 2);
	assert_int_equal(count(t, "multiplier 5;"), 2);
	assert_non_null(strstr(t, "log \"/var/log/bird.log\" all;\n"));
	free(t);
	/* names from addresses, a port */
	nbs[0].name = NULL;
	nbs[0].port = 1179;
	nbs[1].name = NULL;
	nbs[1].port = 179;
	t = render_ok();
	assert_non_null(strstr(t, "protocol bgp bgp_192_0_2_1 {\n"));
	assert_non_null(strstr(t, "\tneighbor 192.0.2.1 port 1179 as 64501;\n"));
	assert_non_null(strstr(t, "protocol bgp bgp_2001_db8__1 {\n"));
	assert_non_null(strstr(t, "\tneighbor 2001:db8::1 as 64501;\n"));
	free(t);
	nbs[1].address = "192.0.2.1";
	char err[256] = "";
	assert_int_equal(birdconf_check(&cf, err, sizeof(err)), ED_EINVAL);
	assert_non_null(strstr(err, "name bgp_192_0_2_1 used twice"));
	nbs[1].address = "2001:db8::1";
	/* no neighbours, no services: still a valid, empty, closed config */
	cf.n_neighbors = 0;
	cf.n_services = 0;
	t = render_ok();
	assert_null(strstr(t, "protocol bgp"));
	assert_null(strstr(t, "protocol static"));
	assert_null(strstr(t, "protocol bfd"));
	assert_non_null(strstr(t, "filter edgedns_export\n{\n\treject;\n}"));
	free(t);
}

/* birdconf_check() refuses cf after change; err mentions what. */
#define REFUSE(change, what) do { \
		setup(NULL); \
		change; \
		char err_[256] = ""; \
		char *t_ = (char *)1; \
		size_t l_ = 1; \
		assert_int_equal(birdconf_render(&cf, &t_, &l_, err_, sizeof(err_)), ED_EINVAL); \
		assert_null(t_); \
		if (strstr(err_, what) == NULL) \
			fail_msg("'%s' does not mention '%s'", err_, what); \
	} while (0)

static void t_checks(void **st)
{
	(void)st;
	REFUSE(cf.router_id = "2001:db8::2", "router id");
	REFUSE(cf.router_id = NULL, "router id");
	REFUSE(cf.local_as = 0, "local AS");
	REFUSE(nbs[1].name = "r1", "name bgp_r1 used twice");
	REFUSE(nbs[0].name = "r-1", "neighbor[0]");
	REFUSE(nbs[0].port = 65536, "port");
	REFUSE(nbs[1].address = "192.0.2.x", "neighbor[1] 'r1v6': address '192.0.2.x'");
	REFUSE(nbs[0].remote_as = 0, "remote AS");
	REFUSE(nbs[0].password = "a\"b", "password");
	REFUSE(nbs[0].password = "a\\b", "password");
	REFUSE(nbs[0].password = "a\nb", "password");
	REFUSE(nbs[0].source = "2001:db8::2", "source");
	REFUSE(nbs[0].interface = "eth0\"; kernel", "interface");
	REFUSE(nbs[1].address = "fe80::1", "link-local");
	REFUSE(nbs[0].multihop = 256, "multihop");
	REFUSE(nbs[0].hold_time = 2, "hold time");
	REFUSE(svcs[0].name = "dns-1", "service[0]");
	REFUSE(svcs[1].name = "dns", "name used twice");
	REFUSE(svcs[0].name = "a_service_name_far_too_long_to_fit_in_a_bird_symbol_xxx", "name");
	static const char *const hostbits[] = { "198.51.100.1/24" };
	REFUSE(svcs[0].prefixes4 = hostbits, "198.51.100.1/24");
	static const char *const wrongfam[] = { "2001:db8::53" };
	REFUSE(svcs[1].prefixes4 = wrongfam, "not an IPv4 prefix");
	static const char *const v4in6[] = { "203.0.113.1" };
	REFUSE((svcs[1].prefixes6 = v4in6, svcs[1].n6 = 1), "not an IPv6 prefix");
	REFUSE(svcs[1].n6 = 1, "prefix list missing");
	REFUSE(cf.bfd_interval_ms = 5, "bfd interval");
	REFUSE(cf.log = "/tmp/\"x", "log");
	setup(NULL);
	nbs[1].address = "fe80::1";
	nbs[1].interface = "eth0";
	char err[256];
	if (birdconf_check(&cf, err, sizeof(err)) != 0)
		fail_msg("%s", err);
}

static void t_write_and_names(void **st)
{
	(void)st;
	char dir[] = "/tmp/edgedns-birdconf-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[64], err[256] = "";
	snprintf(path, sizeof(path), "%s/bird.conf", dir);
	assert_int_equal(birdconf_write(&cf, path, err, sizeof(err)), 0);
	char *want = render_ok();
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char *got = calloc(1, strlen(want) + 16);
	assert_non_null(got);
	size_t n = fread(got, 1, strlen(want) + 8, f);
	fclose(f);
	assert_int_equal(n, strlen(want));
	assert_string_equal(got, want);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0644);
	free(got);
	free(want);
	/* a refused config leaves the file alone */
	cf.local_as = 0;
	assert_int_equal(birdconf_write(&cf, path, err, sizeof(err)), ED_EINVAL);
	cf.local_as = 64500;
	unlink(path);
	/* no directory */
	char bad[96];
	snprintf(bad, sizeof(bad), "%s/nodir/bird.conf", dir);
	assert_int_equal(birdconf_write(&cf, bad, err, sizeof(err)), ED_EIO);
	assert_non_null(strstr(err, "nodir"));
	assert_int_equal(rmdir(dir), 0);   /* no temporary file left */

	char name[80];
	assert_int_equal(birdconf_proto_name("dns", "anycast", 4, name, sizeof(name)), 0);
	assert_string_equal(name, "anycast_dns_4");
	assert_int_equal(birdconf_proto_name("dns", "gshut", 6, name, sizeof(name)), 0);
	assert_string_equal(name, "gshut_dns_6");
	assert_int_equal(birdconf_proto_name("dns", "other", 6, name, sizeof(name)), ED_EINVAL);
	assert_int_equal(birdconf_proto_name("dns", "gshut", 5, name, sizeof(name)), ED_EINVAL);
	assert_int_equal(birdconf_proto_name("d-s", "gshut", 4, name, sizeof(name)), ED_EINVAL);
	assert_int_equal(birdconf_proto_name("dns", "gshut", 4, name, 8), ED_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(t_render, setup),
		cmocka_unit_test_setup(t_options, setup),
		cmocka_unit_test_setup(t_checks, setup),
		cmocka_unit_test_setup(t_write_and_names, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
