/* test_setup.c: edgedns-setup's library (hw/machine.c, hw/match.c,
 * hw/prepare.c) on fake sysfs trees built in a temporary directory, with
 * the effects (sysfs writes, commands) played by the test: a kernel that
 * grants fewer hugepages than asked, a devbind that binds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataplane/error.h"
#include "hw/machine.h"
#include "hw/match.h"
#include "hw/prepare.h"

static char root[64];

/* ---- a fake tree ---------------------------------------------------------- */

static void mkdirs(const char *path)
{
	char p[1024];
	snprintf(p, sizeof(p), "%s", path);
	for (char *c = p + 1; *c; c++)
		if (*c == '/') {
			*c = '\0';
			mkdir(p, 0755);
			*c = '/';
		}
	mkdir(p, 0755);
}

static void put(const char *text, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(const char *text, const char *fmt, ...)
{
	char rel[512], path[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	char dir[1024];
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	mkdirs(dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%s\n", text);
	fclose(f);
}

static void link_driver(const char *addr, const char *driver)
{
	char path[1024], target[256];
	snprintf(path, sizeof(path), "%s/bus/pci/drivers/%s", root, driver);
	mkdirs(path);
	snprintf(path, sizeof(path), "%s/devices/pci0000:00/%s/driver", root, addr);
	unlink(path);
	snprintf(target, sizeof(target), "../../../bus/pci/drivers/%s", driver);
	assert_int_equal(symlink(target, path), 0);
}

/* A PCI device; iface under virtio0/net when virtio. */
static void nic(const char *addr, const char *vendor, const char *device, const char *cls,
                const char *node, const char *driver, const char *iface, int virtio)
{
	char path[1024], target[256];
	put(vendor, "devices/pci0000:00/%s/vendor", addr);
	put(device, "devices/pci0000:00/%s/device", addr);
	put(cls, "devices/pci0000:00/%s/class", addr);
	put(node, "devices/pci0000:00/%s/numa_node", addr);
	snprintf(path, sizeof(path), "%s/bus/pci/devices", root);
	mkdirs(path);
	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s", root, addr);
	snprintf(target, sizeof(target), "../../../devices/pci0000:00/%s", addr);
	assert_int_equal(symlink(target, path), 0);
	if (driver != NULL)
		link_driver(addr, driver);
	if (iface != NULL) {
		snprintf(path, sizeof(path), "%s/devices/pci0000:00/%s/%snet/%s", root, addr,
		         virtio ? "virtio0/" : "", iface);
		mkdirs(path);
	}
	snprintf(path, sizeof(path), "%s/kernel/iommu_groups/1", root);
	mkdirs(path);
	snprintf(path, sizeof(path), "%s/devices/pci0000:00/%s/iommu_group", root, addr);
	assert_int_equal(symlink("../../../kernel/iommu_groups/1", path), 0);
}

/* The 1U model: two E810 on node 0 (or node), two nodes, 1G pages. */
static void tree_1u(const char *node)
{
	put("0-31", "devices/system/cpu/online");
	put("0-1", "devices/system/node/online");
	for (int n = 0; n < 2; n++) {
		put("0", "devices/system/node/node%d/hugepages/hugepages-1048576kB/nr_hugepages", n);
		put("0", "devices/system/node/node%d/hugepages/hugepages-2048kB/nr_hugepages", n);
	}
	put("0", "kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages");
	put("0", "kernel/mm/hugepages/hugepages-2048kB/nr_hugepages");
	nic("0000:3b:00.1", "0x8086", "0x159b", "0x020000", node, "ice", "ens1f1", 0);
	nic("0000:3b:00.0", "0x8086", "0x159b", "0x020000", node, "ice", "ens1f0", 0);
	nic("0000:00:1f.6", "0x8086", "0x15bc", "0x020000", "0", "e1000e", "eno1", 0);
	nic("0000:00:17.0", "0x8086", "0xa352", "0x010601", "0", "ahci", NULL, 0); /* SATA */
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(p);
}

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/edgedns-test-setup-XXXXXX");
	assert_non_null(mkdtemp(root));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static void profile_text(struct profile *p, const char *text)
{
	char path[256], err[512];
	snprintf(path, sizeof(path), "%s/p.yaml", root);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	if (profile_load(path, p, err, sizeof(err)) != 0)
		fail_msg("%s", err);
}

static const char P1U[] = "model: m1u\n"
                          "match:\n  cpus: 16\n  nics:\n"
                          "    - {id: \"8086:159b\", count: 2, numa-node: 0}\n"
                          "driver: vfio-pci\n"
                          "hugepages: {size: 1G, count: 4, numa-node: 0}\n"
                          "eal: [-l, \"0-8\"]\n"
                          "ports: [\"${nic1}\", \"${nic2.pci}\"]\n";

/* ---- the machine --------------------------------------------------------------- */

static void t_count_list(void **state)
{
	(void)state;
	assert_int_equal(hw_count_list("0-15"), 16);
	assert_int_equal(hw_count_list("0,2-3,7"), 4);
	assert_int_equal(hw_count_list("0"), 1);
	assert_int_equal(hw_count_list(""), 0);
	assert_int_equal(hw_count_list("3-1"), -1);
	assert_int_equal(hw_count_list("0-"), -1);
	assert_int_equal(hw_count_list("a"), -1);
	assert_int_equal(hw_count_list("1,,2"), -1);
}

static void t_machine_1u(void **state)
{
	(void)state;
	tree_1u("0");
	struct hw_machine m;
	char err[512], d[256];
	assert_int_equal(hw_machine_read(root, &m, err, sizeof(err)), ED_OK);
	assert_int_equal(m.cpus, 32);
	assert_int_equal(m.nodes, 2);
	assert_true(m.numa_dirs);
	assert_int_equal(m.nhuge, 2);
	assert_int_equal(m.huge_kb[0], 2048);
	assert_int_equal(m.huge_kb[1], 1048576);
	assert_int_equal(m.nnics, 3); /* the SATA controller is no NIC */
	assert_string_equal(m.nics[0].addr, "0000:00:1f.6");
	assert_string_equal(m.nics[1].addr, "0000:3b:00.0");
	assert_int_equal(m.nics[1].vendor, 0x8086);
	assert_int_equal(m.nics[1].device, 0x159b);
	assert_string_equal(m.nics[1].driver, "ice");
	assert_string_equal(m.nics[1].iface, "ens1f0");
	hw_nic_describe(&m.nics[2], d, sizeof(d));
	assert_string_equal(d, "0000:3b:00.1 8086:159b (ice, ens1f1, node 0)");
	assert_non_null(hw_machine_nic(&m, "0000:3b:00.1"));
	assert_null(hw_machine_nic(&m, "0000:3b:00.2"));
	hw_machine_free(&m);
}

/* A device reporting no node is on node 0 of a one-node machine, unknown
 * on a machine of several; virtio-net's interface sits below virtioN. */
static void t_machine_nodes_virtio(void **state)
{
	(void)state;
	put("0-1", "devices/system/cpu/online");
	nic("0000:00:03.0", "0x1af4", "0x1041", "0x020000", "-1", "virtio-pci", "enp0s3", 1);
	nic("0000:00:04.0", "0x1af4", "0x1041", "0x020000", "-1", NULL, NULL, 0);
	struct hw_machine m;
	char err[512], d[256];
	assert_int_equal(hw_machine_read(root, &m, err, sizeof(err)), ED_OK);
	assert_int_equal(m.nodes, 1);
	assert_false(m.numa_dirs);
	assert_int_equal(m.nics[0].node, 0);
	assert_string_equal(m.nics[0].iface, "enp0s3");
	hw_nic_describe(&m.nics[1], d, sizeof(d));
	assert_string_equal(d, "0000:00:04.0 1af4:1041 (no driver, node 0)");
	hw_machine_free(&m);
	put("0-1", "devices/system/node/online");
	assert_int_equal(hw_machine_read(root, &m, err, sizeof(err)), ED_OK);
	assert_int_equal(m.nics[0].node, -1);
	hw_nic_describe(&m.nics[0], d, sizeof(d));
	assert_string_equal(d, "0000:00:03.0 1af4:1041 (virtio-pci, enp0s3, node ?)");
	hw_machine_free(&m);
	put("zero", "devices/system/cpu/online");
	assert_int_equal(hw_machine_read(root, &m, err, sizeof(err)), ED_EFORMAT);
	assert_non_null(strstr(err, "devices/system/cpu/online: not a CPU list: 'zero'"));
}

/* ---- matching --------------------------------------------------------------------- */

static void t_match(void **state)
{
	(void)state;
	tree_1u("1");
	struct hw_machine m;
	struct profile p;
	struct hw_match mt;
	char err[512];
	assert_int_equal(hw_machine_read(root, &m, err, sizeof(err)), ED_OK);
	profile_text(&p, P1U);
	hw_match_profile(&p, &m, false, &mt);
	assert_false(mt.ok);
	assert_string_equal(mt.why, "needs 2 x 8086:159b on node 0: found 0 (2 on other nodes)");
	assert_int_equal(mt.nic[0], -1);
	assert_int_equal(mt.need_nics, 2);
	assert_int_equal(mt.need_other, 2); /* cpus, the node */
	/* forced: the NICs by id, wherever they are */
	hw_match_profile(&p, &m, true, &mt);
	assert_false(mt.ok);
	assert_int_equal(mt.nic[0], 1);
	assert_int_equal(mt.nic[1], 2);
	profile_free(&p);
	/* groups take NICs in order and never the same one twice */
	profile_text(&p, "match:\n  numa-nodes: 4\n  nics:\n"
	                 "    - {id: [\"8086:159b\", \"8086:15bc\"], count: 2}\n"
	                 "    - {id: \"8086:159b\", count: 2}\n"
	                 "ports: [\"${nic3}\"]\n");
	hw_match_profile(&p, &m, false, &mt);
	assert_string_equal(mt.why, "needs 4 NUMA nodes: found 2; needs 2 x 8086:159b: found 1");
	assert_int_equal(mt.nic[0], 0);
	assert_int_equal(mt.nic[1], 1);
	assert_int_equal(mt.nic[2], 2);
	assert_int_equal(mt.nic[3], -1);
	profile_free(&p);
	/* no match section: never by itself */
	profile_text(&p, "ports: [net_tap0]\n");
	hw_match_profile(&p, &m, false, &mt);
	assert_false(mt.ok);
	assert_string_equal(mt.why, "no match section: used only when named");
	profile_free(&p);
	hw_machine_free(&m);
}

/* ---- the plan and hw.env ------------------------------------------------------------ */

static void t_plan_env(void **state)
{
	(void)state;
	tree_1u("0");
	struct hw_machine m;
	struct hw_choice c;
	struct hw_plan plan;
	char err[512], text[2048];
	assert_int_equal(hw_machine_read(root, &m, err, sizeof(err)), ED_OK);
	memset(&c, 0, sizeof(c));
	profile_text(&c.profile, P1U);
	snprintf(c.path, sizeof(c.path), "/usr/share/edgedns/hw/profiles/m1u.yaml");
	hw_match_profile(&c.profile, &m, false, &c.match);
	assert_true(c.match.ok);
	assert_int_equal(hw_plan_make(&c, &m, "matched this machine", &plan, err, sizeof(err)),
	                 ED_OK);
	assert_int_equal(plan.nports, 2);
	assert_string_equal(plan.ports[0].pci, "0000:3b:00.0");
	assert_true(plan.vfio);
	assert_int_equal(plan.nhuge, 1);
	char want[512];
	snprintf(want, sizeof(want),
	         "%s/devices/system/node/node0/hugepages/hugepages-1048576kB/nr_hugepages", root);
	assert_string_equal(plan.huge[0].path, want);
	assert_int_equal(hw_plan_env(&plan, text, sizeof(text), err, sizeof(err)), ED_OK);
	assert_string_equal(text,
	                    "# Written by edgedns-setup at boot for edgedns-dataplane.service; "
	                    "do not edit.\n"
	                    "# Hardware profile m1u: matched this machine.\n"
	                    "EDGEDNS_HW_OPTS=\"--profile /usr/share/edgedns/hw/profiles/m1u.yaml "
	                    "--port 0000:3b:00.0 --port 0000:3b:00.1 -- -a 0000:3b:00.0 "
	                    "-a 0000:3b:00.1\"\n");
	/* a word systemd would split or expand */
	snprintf(c.path, sizeof(c.path), "/opt/my profiles/m1u.yaml");
	assert_int_equal(hw_plan_make(&c, &m, "x", &plan, err, sizeof(err)), ED_OK);
	assert_int_equal(hw_plan_env(&plan, text, sizeof(text), err, sizeof(err)), ED_EINVAL);
	assert_non_null(strstr(err, "'/opt/my profiles/m1u.yaml' cannot go into EDGEDNS_HW_OPTS"));
	/* too small a buffer */
	snprintf(c.path, sizeof(c.path), "/p.yaml");
	assert_int_equal(hw_plan_make(&c, &m, "x", &plan, err, sizeof(err)), ED_OK);
	assert_int_equal(hw_plan_env(&plan, text, 64, err, sizeof(err)), ED_ELIMIT);
	profile_free(&c.profile);
	/* a hugepages node the machine does not have */
	profile_text(&c.profile, "hugepages: {size: 2M, count: 8, numa-node: 3}\nports: [x]\n");
	assert_int_equal(hw_plan_make(&c, &m, "x", &plan, err, sizeof(err)), ED_ENOENT);
	assert_string_equal(err, "hugepages: no NUMA node 3 on this machine (2 nodes)");
	profile_free(&c.profile);
	hw_machine_free(&m);
}

/* ---- carrying it out -------------------------------------------------------------------- */

/* The test's kernel and tools. */
struct fake {
	unsigned grant;       /* hugepages the kernel gives at most */
	bool bind;            /* devbind binds */
	int writes, runs;
	char calls[8][256];
	char said[16][512];
	int nsaid;
};

static int fake_write(void *arg, const char *path, const char *text)
{
	struct fake *f = arg;
	f->writes++;
	unsigned want = (unsigned)strtoul(text, NULL, 10);
	FILE *fp = fopen(path, "w");
	if (fp == NULL)
		return -1;
	fprintf(fp, "%u\n", want < f->grant ? want : f->grant);
	fclose(fp);
	return 0;
}

static int fake_run(void *arg, char *const argv[])
{
	struct fake *f = arg;
	char *s = f->calls[f->runs++ % 8];
	s[0] = '\0';
	for (int i = 0; argv[i] != NULL; i++)
		snprintf(s + strlen(s), 256 - strlen(s), "%s%s", i ? " " : "", argv[i]);
	if (f->bind && strcmp(argv[0], "devbind") == 0)
		link_driver(argv[3], argv[2]);
	return 0;
}

static void fake_say(void *arg, const char *msg)
{
	struct fake *f = arg;
	if (f->nsaid < 16)
		snprintf(f->said[f->nsaid++], 512, "%s", msg);
}

static void prepare_1u(const char *profile, struct fake *f, bool dry_run, int want_rc,
                       char *err, size_t errlen)
{
	struct hw_machine m;
	struct hw_choice c;
	struct hw_plan plan;
	assert_int_equal(hw_machine_read(root, &m, err, errlen), ED_OK);
	memset(&c, 0, sizeof(c));
	profile_text(&c.profile, profile);
	snprintf(c.path, sizeof(c.path), "/p.yaml");
	hw_match_profile(&c.profile, &m, false, &c.match);
	assert_int_equal(hw_plan_make(&c, &m, "x", &plan, err, errlen), ED_OK);
	const struct hw_ops ops = { fake_write, fake_run, fake_say, f, "modprobe", "devbind" };
	int rc = hw_prepare(&plan, &m, &ops, dry_run, err, errlen);
	if (rc != want_rc)
		fail_msg("rc %d, want %d: %s", rc, want_rc, err);
	profile_free(&c.profile);
	hw_machine_free(&m);
}

static void t_hugepages_not_granted(void **state)
{
	(void)state;
	tree_1u("0");
	struct fake f = { .grant = 2, .bind = true };
	char err[1024];
	prepare_1u(P1U, &f, false, ED_ELIMIT, err, sizeof(err));
	assert_string_equal(err, "hugepages: asked for 4 x 1G on node 0, the kernel gave 2 (not "
	                         "enough free contiguous memory: reserve them on the kernel "
	                         "command line, hugepagesz=1G hugepages=0:4)");
	assert_int_equal(f.writes, 1);
	assert_int_equal(f.runs, 0); /* nothing bound after a failure */
	/* system-wide */
	memset(&f, 0, sizeof(f));
	f.grant = 100;
	prepare_1u("hugepages: {size: 2M, count: 512}\nports: [x]\n", &f, false, ED_ELIMIT, err,
	           sizeof(err));
	assert_non_null(strstr(err, "asked for 512 x 2M in total, the kernel gave 100"));
	assert_non_null(strstr(err, "hugepagesz=2M hugepages=512)"));
}

static void t_prepare_binds(void **state)
{
	(void)state;
	tree_1u("0");
	struct fake f = { .grant = 64, .bind = true };
	char err[1024];
	prepare_1u(P1U, &f, false, ED_OK, err, sizeof(err));
	assert_int_equal(f.writes, 1);
	assert_int_equal(f.runs, 3);
	assert_string_equal(f.calls[0], "modprobe vfio-pci");
	assert_string_equal(f.calls[1], "devbind -b vfio-pci 0000:3b:00.0");
	assert_string_equal(f.calls[2], "devbind -b vfio-pci 0000:3b:00.1");
	assert_string_equal(f.said[0], "hugepages: 4 x 1G on node 0 reserved (were 0)");
	assert_string_equal(f.said[1], "0000:3b:00.0: bound to vfio-pci (was ice)");
	/* again: all done already, nothing written or run */
	memset(&f, 0, sizeof(f));
	prepare_1u(P1U, &f, false, ED_OK, err, sizeof(err));
	assert_int_equal(f.writes + f.runs, 0);
	assert_string_equal(f.said[0], "hugepages: 4 x 1G on node 0: reserved already (4)");
	assert_string_equal(f.said[1], "0000:3b:00.0: bound to vfio-pci already");
}

static void t_prepare_dry_run(void **state)
{
	(void)state;
	tree_1u("0");
	struct fake f = { .grant = 64, .bind = true };
	char err[1024];
	prepare_1u(P1U, &f, true, ED_OK, err, sizeof(err));
	assert_int_equal(f.writes + f.runs, 0);
	assert_non_null(strstr(f.said[0], "hugepages: would reserve 4 x 1G on node 0 (now 0)"));
	assert_string_equal(f.said[1], "would run: modprobe vfio-pci");
	assert_string_equal(f.said[2],
	                    "0000:3b:00.0: would run: devbind -b vfio-pci 0000:3b:00.0 (now ice)");
	/* a devbind that does not bind */
	memset(&f, 0, sizeof(f));
	f.grant = 64;
	prepare_1u(P1U, &f, false, ED_EIO, err, sizeof(err));
	assert_non_null(strstr(err, "0000:3b:00.0: still bound to ice after devbind -b vfio-pci"));
}

/* ---- choosing --------------------------------------------------------------------------- */

static void t_choose(void **state)
{
	(void)state;
	tree_1u("0");
	char dir[256], path[512], err[4096], info[1024];
	snprintf(dir, sizeof(dir), "%s/profiles", root);
	mkdirs(dir);
	snprintf(path, sizeof(path), "%s/m1u.yaml", dir);
	FILE *f = fopen(path, "w");
	fputs(P1U, f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/any-e810.yaml", dir);
	f = fopen(path, "w");
	fputs("model: any-e810\nmatch:\n  nics: [{id: \"8086:159b\", count: 2}]\n"
	      "ports: [\"${nic1}\"]\n", f);
	fclose(f);
	struct hw_machine m;
	struct hw_choice c;
	assert_int_equal(hw_machine_read(root, &m, err, sizeof(err)), ED_OK);
	/* both match: the one with more requirements wins */
	assert_int_equal(hw_choose(dir, NULL, false, &m, NULL, NULL, &c, info, sizeof(info), err,
	                           sizeof(err)),
	                 ED_OK);
	assert_string_equal(c.profile.model, "m1u");
	assert_false(c.named);
	assert_string_equal(info, "profile m1u (matches this machine; less specific matches: "
	                          "any-e810)");
	profile_free(&c.profile);
	/* by name and by file */
	assert_int_equal(hw_choose(dir, "any-e810", false, &m, NULL, NULL, &c, info, sizeof(info),
	                           err, sizeof(err)),
	                 ED_OK);
	assert_true(c.named);
	assert_string_equal(info, "profile any-e810 (named, matches this machine)");
	profile_free(&c.profile);
	assert_int_equal(hw_choose(dir, path, false, &m, NULL, NULL, &c, NULL, 0, err, sizeof(err)),
	                 ED_OK);
	assert_string_equal(c.path, path);
	profile_free(&c.profile);
	/* an empty directory */
	snprintf(path, sizeof(path), "%s/empty", root);
	mkdirs(path);
	assert_int_equal(hw_choose(path, "", false, &m, NULL, NULL, &c, NULL, 0, err, sizeof(err)),
	                 ED_ENOENT);
	assert_non_null(strstr(err, "; profiles tried: none (no *.yaml)"));
	hw_machine_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_count_list),
		cmocka_unit_test_setup_teardown(t_machine_1u, setup, teardown),
		cmocka_unit_test_setup_teardown(t_machine_nodes_virtio, setup, teardown),
		cmocka_unit_test_setup_teardown(t_match, setup, teardown),
		cmocka_unit_test_setup_teardown(t_plan_env, setup, teardown),
		cmocka_unit_test_setup_teardown(t_hugepages_not_granted, setup, teardown),
		cmocka_unit_test_setup_teardown(t_prepare_binds, setup, teardown),
		cmocka_unit_test_setup_teardown(t_prepare_dry_run, setup, teardown),
		cmocka_unit_test_setup_teardown(t_choose, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
