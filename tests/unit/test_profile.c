/* test_profile.c: hardware profile files (dataplane/profile.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "profile.h"

static char path[64];

static const char *write_tmp(const char *text)
{
	snprintf(path, sizeof(path), "/tmp/edgedns-test-profile-%ld.yaml", (long)getpid());
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static void t_good(void **state)
{
	(void)state;
	struct profile p;
	char err[512];
	int rc = profile_load(write_tmp("model: m1\n"
	                                "eal: [-l, \"0-3\", --no-huge]\n"
	                                "ports:\n  - \"0000:3b:00.0\"\n  - net_af_xdp0,iface=e0\n"
	                                "mbufs: 65536\nrx-desc: 2048\ntx-desc: 512\n"),
	                      &p, err, sizeof(err));
	assert_int_equal(rc, 0);
	assert_string_equal(p.model, "m1");
	assert_int_equal(p.neal, 3);
	assert_string_equal(p.eal[1], "0-3");
	assert_int_equal(p.nports, 2);
	assert_string_equal(p.ports[1], "net_af_xdp0,iface=e0");
	assert_int_equal(p.mbufs, 65536);
	assert_int_equal(p.rxd, 2048);
	assert_int_equal(p.txd, 512);
	profile_free(&p);
	unlink(path);
}

/* Every error names the file and the line of the offending node. */
static void expect_error(const char *text, const char *where_what)
{
	struct profile p;
	char err[512], want[512];
	assert_int_equal(profile_load(write_tmp(text), &p, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:%s", path, where_what);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("got '%s', want a message starting '%s'", err, want);
	unlink(path);
}

static void t_errors(void **state)
{
	(void)state;
	expect_error("model: x\nports: [a]\nmbufs: 12\n", "3: mbufs: expected a number");
	expect_error("model: x\nports: [a]\nrx-desc: -5\n", "3: rx-desc: expected a number");
	expect_error("model: x\nfoo: 1\n", "2: unknown key 'foo'");
	expect_error("model: x\nports: a\n", "2: ports: expected a list");
	expect_error("model: x\nports: [a, [b]]\n", "2: ports: every item must be a string");
	expect_error("model: x\neal: [-l]\n", "1: ports: at least one port");
	expect_error("- a\n- b\n", "1: expected a mapping");
	expect_error("model: [x\n", "2: did not find expected");
	expect_error("", "0: empty profile");
	struct profile p;
	char err[512];
	assert_int_equal(profile_load("/nonexistent/p.yaml", &p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "No such file"));
}

/* The profiles shipped in hw/ load. */
static void t_shipped(void **state)
{
	(void)state;
	static const char *const files[] = { "hw/profiles/dev-veth.yaml",
	                                     "hw/profiles/edge-1u-2x25g.yaml" };
	for (size_t i = 0; i < 2; i++) {
		struct profile p;
		char err[512];
		if (profile_load(files[i], &p, err, sizeof(err)) != 0)
			fail_msg("%s", err);
		assert_true(p.nports >= 1);
		assert_true(p.neal >= 2);
		profile_free(&p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_good),
		cmocka_unit_test(t_errors),
		cmocka_unit_test(t_shipped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
