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

/* The keys for edgedns-setup: match, driver, hugepages; ${nicN} ports. */
static void t_setup_keys(void **state)
{
	(void)state;
	struct profile p;
	char err[512];
	int rc = profile_load(write_tmp("model: m\n"
	                                "match:\n"
	                                "  cpus: 16\n"
	                                "  numa-nodes: 2\n"
	                                "  nics:\n"
	                                "    - id: \"8086:159B\"\n"
	                                "      count: 2\n"
	                                "      numa-node: 1\n"
	                                "    - id: [\"1af4:1000\", \"1af4:1041\"]\n"
	                                "driver: vfio-pci\n"
	                                "hugepages:\n"
	                                "  - {size: 1G, count: 4, numa-node: 1}\n"
	                                "  - {size: 2m, count: 512}\n"
	                                "ports: [\"${nic1}\", \"${nic2.pci},x=1\", net_tap0]\n"),
	                      &p, err, sizeof(err));
	if (rc != 0)
		fail_msg("%s", err);
	assert_true(p.has_match);
	assert_int_equal(p.match_cpus, 16);
	assert_int_equal(p.match_nodes, 2);
	assert_int_equal(p.nnics, 2);
	assert_int_equal(p.nics[0].vendor[0], 0x8086);
	assert_int_equal(p.nics[0].device[0], 0x159b);
	assert_int_equal(p.nics[0].count, 2);
	assert_int_equal(p.nics[0].numa_node, 1);
	assert_int_equal(p.nics[1].nids, 2);
	assert_int_equal(p.nics[1].device[1], 0x1041);
	assert_int_equal(p.nics[1].count, 1);
	assert_int_equal(p.nics[1].numa_node, PROFILE_NODE_ANY);
	assert_int_equal(profile_nic_total(&p), 3);
	assert_int_equal(p.driver, PROFILE_DRIVER_VFIO);
	assert_int_equal(p.nhuge, 2);
	assert_int_equal(p.huge[0].size_kb, 1048576);
	assert_int_equal(p.huge[0].count, 4);
	assert_int_equal(p.huge[0].numa_node, 1);
	assert_int_equal(p.huge[1].size_kb, 2048);
	assert_int_equal(p.huge[1].numa_node, PROFILE_NODE_ANY);
	assert_string_equal(p.ports[1], "${nic2.pci},x=1"); /* kept as written */
	profile_free(&p);
	/* one hugepages mapping, no driver: none */
	rc = profile_load(write_tmp("hugepages: {size: 2M, count: 8}\nports: [a]\n"), &p, err,
	                  sizeof(err));
	assert_int_equal(rc, 0);
	assert_int_equal(p.nhuge, 1);
	assert_false(p.has_match);
	assert_int_equal(p.driver, PROFILE_DRIVER_NONE);
	profile_free(&p);
	unlink(path);
}

static int resolve(void *arg, unsigned nic, enum profile_nic_field f, char *out, size_t outlen,
                   char *err, size_t errlen)
{
	(void)arg;
	if (nic == 9) {
		snprintf(err, errlen, "no nic9");
		return -1;
	}
	snprintf(out, outlen, "%s%u", f == PROFILE_NIC_IFACE ? "eth" : "0000:00:0", nic);
	return 0;
}

static void t_port_expand(void **state)
{
	(void)state;
	char out[64], err[256];
	assert_int_equal(profile_port_expand("net_af_xdp0,iface=${nic2.iface},queue_count=2", resolve,
	                                     NULL, out, sizeof(out), err, sizeof(err)),
	                 0);
	assert_string_equal(out, "net_af_xdp0,iface=eth2,queue_count=2");
	assert_int_equal(profile_port_expand("${nic1}", resolve, NULL, out, sizeof(out), err,
	                                     sizeof(err)),
	                 0);
	assert_string_equal(out, "0000:00:01");
	assert_int_equal(profile_port_expand("a$b{c}", resolve, NULL, out, sizeof(out), err,
	                                     sizeof(err)),
	                 0);
	assert_string_equal(out, "a$b{c}");
	assert_int_equal(profile_port_expand("${nic9}", resolve, NULL, out, sizeof(out), err,
	                                     sizeof(err)),
	                 -1);
	assert_string_equal(err, "port '${nic9}': no nic9");
	static const char *const bad[] = { "${nic0}", "${nic1", "${nic}", "${nic1.mac}", "${eth1}",
	                                   "${nic1.pcix}" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (profile_port_expand(bad[i], NULL, NULL, NULL, 0, err, sizeof(err)) != -1)
			fail_msg("%s accepted", bad[i]);
	assert_int_equal(profile_port_expand("${nic1}1234567890", resolve, NULL, out, 12, err,
	                                     sizeof(err)),
	                 -1);
	assert_non_null(strstr(err, "too long once expanded"));
	char canon[13];
	assert_true(profile_is_pci("0000:3B:00.1", canon));
	assert_string_equal(canon, "0000:3b:00.1");
	assert_true(profile_is_pci("af:00.0,rxq_cqe_comp_en=0", canon));
	assert_string_equal(canon, "0000:af:00.0");
	assert_false(profile_is_pci("net_af_xdp0,iface=eth0", NULL));
	assert_false(profile_is_pci("0000:3b:00.8", NULL));
	assert_false(profile_is_pci("0000:3b:00", NULL));
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
	expect_error("match: 3\nports: [a]\n", "1: match: expected a mapping");
	expect_error("match:\n  cpu: 3\nports: [a]\n", "2: match: unknown key 'cpu'");
	expect_error("match:\n  nics:\n    - id: 8086-159b\nports: [a]\n",
	             "3: match.nics.id: expected vendor:device");
	expect_error("match:\n  nics:\n    - count: 2\nports: [a]\n",
	             "3: match.nics: id: at least one vendor:device");
	expect_error("match:\n  nics:\n    - {id: \"8086:159b\", count: 0}\nports: [a]\n",
	             "3: match.nics.count: expected a number in [1, 64]");
	expect_error("match:\n  nics: {id: x}\nports: [a]\n", "2: match.nics: expected a list");
	expect_error("driver: igb_uio\nports: [a]\n", "1: driver: expected vfio-pci or none");
	expect_error("hugepages: {size: 4M, count: 2}\nports: [a]\n",
	             "1: hugepages.size: expected 2M or 1G");
	expect_error("hugepages: {size: 1G}\nports: [a]\n", "1: hugepages: size and count are required");
	expect_error("hugepages: [{size: 1G, count: 1, node: 0}]\nports: [a]\n",
	             "1: hugepages: unknown key 'node'");
	expect_error("match:\n  nics: [{id: \"1af4:1041\", count: 2}]\nports: [\"${nic3}\"]\n",
	             "3: port '${nic3}': ${nic3}: the match names 2 NICs");
	expect_error("ports: [\"${nic1}\"]\n", "1: port '${nic1}': ${nic1}: the match names 0 NICs");
	expect_error("match:\n  nics: [{id: \"1af4:1041\"}]\ndriver: vfio-pci\n"
	             "ports: [\"net_af_xdp0,iface=${nic1.iface}\"]\n",
	             "4: port 'net_af_xdp0,iface=${nic1.iface}': ${nic1.iface}: with driver "
	             "vfio-pci the NIC has no kernel interface");
	expect_error("ports: [\"${nic1.mac}\"]\n", "1: port '${nic1.mac}': expected ${nicN}");
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
	                                     "hw/profiles/edge-1u-2x25g.yaml",
	                                     "hw/profiles/qemu-virtio.yaml" };
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
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
		cmocka_unit_test(t_setup_keys),
		cmocka_unit_test(t_port_expand),
		cmocka_unit_test(t_errors),
		cmocka_unit_test(t_shipped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
