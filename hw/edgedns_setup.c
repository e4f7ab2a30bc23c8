/* edgedns_setup.c: edgedns-setup, run at boot by edgedns-setup.service
 * before the dataplane: reads the machine, chooses its hardware profile,
 * reserves hugepages, binds the DNS ports and writes the dataplane's
 * arguments (hw/README.md). A thin main over machine.h, match.h and
 * prepare.h. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataplane/error.h"
#include "hw/machine.h"
#include "hw/match.h"
#include "hw/prepare.h"

#define PROG "edgedns-setup"

struct opts {
	const char *sysfs, *profiles, *profile, *output, *devbind, *modprobe;
	bool dry_run, force;
};

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: " PROG " [options]\n"
	        "Choose this machine's hardware profile, reserve its hugepages, bind its DNS\n"
	        "ports and write the dataplane's arguments (EDGEDNS_HW_OPTS).\n"
	        "  --profile NAME|FILE  the profile to use (NAME: PROFILES/NAME.yaml); default:\n"
	        "                       $EDGEDNS_PROFILE when set, else the one profile that\n"
	        "                       matches this machine (the most specific of several)\n"
	        "  --force              prepare the named profile even when it does not match\n"
	        "  --profiles DIR       profiles directory (default /usr/share/edgedns/hw/profiles)\n"
	        "  --output FILE        where to write EDGEDNS_HW_OPTS (default /run/edgedns/hw.env;\n"
	        "                       written atomically, removed when setup fails)\n"
	        "  --dry-run            print what would be done (hugepages, binds, the output);\n"
	        "                       change nothing\n"
	        "  --sysfs DIR          sysfs root (default /sys)\n"
	        "  --devbind PATH       dpdk-devbind.py (default: dpdk-devbind.py in PATH)\n"
	        "  --modprobe PATH      modprobe (default: modprobe in PATH)\n"
	        "  -V, --version        print the version\n"
	        "  -h, --help           this text\n"
	        "exit: 0 prepared (or would be), 1 not (the message says why)\n");
}

static void say(void *arg, const char *msg)
{
	(void)arg;
	printf(PROG ": %s\n", msg);
	fflush(stdout);
}

static void warn(void *arg, const char *msg)
{
	(void)arg;
	fflush(stdout);
	fprintf(stderr, PROG ": warning: %s\n", msg);
}

static int parse(int argc, char **argv, struct opts *o)
{
	enum { O_SYSFS = 256, O_PROFILES, O_PROFILE, O_OUTPUT, O_DRY, O_FORCE, O_DEVBIND,
	       O_MODPROBE };
	static const struct option lo[] = {
		{ "sysfs", required_argument, NULL, O_SYSFS },
		{ "profiles", required_argument, NULL, O_PROFILES },
		{ "profile", required_argument, NULL, O_PROFILE },
		{ "output", required_argument, NULL, O_OUTPUT },
		{ "dry-run", no_argument, NULL, O_DRY },
		{ "force", no_argument, NULL, O_FORCE },
		{ "devbind", required_argument, NULL, O_DEVBIND },
		{ "modprobe", required_argument, NULL, O_MODPROBE },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "Vh", lo, NULL)) != -1) {
		switch (c) {
		case O_SYSFS: o->sysfs = optarg; break;
		case O_PROFILES: o->profiles = optarg; break;
		case O_PROFILE: o->profile = optarg; break;
		case O_OUTPUT: o->output = optarg; break;
		case O_DRY: o->dry_run = true; break;
		case O_FORCE: o->force = true; break;
		case O_DEVBIND: o->devbind = optarg; break;
		case O_MODPROBE: o->modprobe = optarg; break;
		case 'V':
			printf(PROG " (edgedns) %s\n", EDGEDNS_VERSION);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (o->profile == NULL)
		o->profile = getenv("EDGEDNS_PROFILE");
	if (o->force && (o->profile == NULL || o->profile[0] == '\0')) {
		fprintf(stderr, PROG ": --force needs a named profile (--profile or EDGEDNS_PROFILE)\n");
		return -1;
	}
	return 0;
}

static int run(const struct opts *o, struct hw_machine *m, struct hw_choice *c,
               struct hw_plan *plan, char *err, size_t errlen)
{
	char info[6144], text[8192];
	int rc = hw_machine_read(o->sysfs, m, err, errlen);
	if (rc != ED_OK)
		return rc;
	if ((rc = hw_choose(o->profiles, o->profile, o->force, m, warn, NULL, c, info, sizeof(info),
	                    err, errlen)) != ED_OK)
		return rc;
	say(NULL, info);
	const char *how = !c->named ? "matched this machine"
	                  : c->match.ok ? "named, matches this machine"
	                  : c->profile.has_match ? "named, forced (does not match this machine)"
	                                         : "named";
	rc = hw_plan_make(c, m, how, plan, err, errlen);
	if (rc == ED_OK)
		rc = hw_plan_env(plan, text, sizeof(text), err, errlen);
	if (rc != ED_OK)
		return rc;
	const struct hw_ops ops = {
		.write_file = hw_sys_write,
		.run = hw_sys_run,
		.say = say,
		.modprobe = o->modprobe,
		.devbind = o->devbind,
	};
	if ((rc = hw_prepare(plan, m, &ops, o->dry_run, err, errlen)) != ED_OK)
		return rc;
	if (o->dry_run) {
		printf(PROG ": would write %s:\n%s", o->output, text);
		return ED_OK;
	}
	if ((rc = hw_write_file_atomic(o->output, text, err, errlen)) != ED_OK)
		return rc;
	char line[PATH_MAX + 64];
	snprintf(line, sizeof(line), "wrote %s", o->output);
	say(NULL, line);
	return ED_OK;
}

int main(int argc, char **argv)
{
	struct opts o = {
		.sysfs = "/sys",
		.profiles = "/usr/share/edgedns/hw/profiles",
		.output = "/run/edgedns/hw.env",
		.devbind = "dpdk-devbind.py",
		.modprobe = "modprobe",
	};
	if (parse(argc, argv, &o) != 0)
		return 1;
	static struct hw_machine m;
	static struct hw_choice c;
	static struct hw_plan plan;
	char err[8192] = "";
	int rc = run(&o, &m, &c, &plan, err, sizeof(err));
	profile_free(&c.profile);
	hw_machine_free(&m);
	if (rc == ED_OK)
		return 0;
	fflush(stdout);
	fprintf(stderr, PROG ": %s\n", err[0] ? err : ed_strerror(rc));
	/* no stale arguments for the dataplane: it must not start */
	if (!o.dry_run && unlink(o.output) == 0)
		fprintf(stderr, PROG ": removed %s\n", o.output);
	return 1;
}
