/* edgedns_compile.c: edgedns-compile, the zone compiler's command line. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compile.h"
#include "daemon.h"
#include "dname.h"
#include "error.h"

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: edgedns-compile [-o OUT.snap] [-z ORIGIN] [-q] ZONEFILE\n"
	        "  -o, --output OUT   snapshot file (default: <zone name>.snap here)\n"
	        "  -z, --origin NAME  zone name (default: the owner of the SOA)\n"
	        "  -q, --quiet        errors only, no warnings or summary\n"
	        "  -h, --help         this text\n"
	        "  -V, --version      the version\n"
	        "exit: 0 compiled, 1 zone has errors or compile failed, 2 usage\n");
}

/* "<zone name without the trailing dot>.snap", octets outside [a-z0-9-]
 * of each label percent-encoded, labels joined by '.'; the root is
 * "root.snap". */
static void default_out(const uint8_t *apex, char *buf, size_t size)
{
	size_t o = 0;
	if (apex[0] == 0) {
		snprintf(buf, size, "root.snap");
		return;
	}
	for (const uint8_t *l = apex; *l != 0 && o + 8 < size; l += 1u + *l) {
		if (l != apex)
			buf[o++] = '.';
		for (unsigned i = 1; i <= *l && o + 8 < size; i++) {
			uint8_t ch = l[i];
			if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
			    ch == '-')
				buf[o++] = (char)ch;
			else
				o += (size_t)snprintf(buf + o, size - o, "%%%02X", ch);
		}
	}
	snprintf(buf + o, size - o, ".snap");
}

int main(int argc, char **argv)
{
	const char *out = NULL;
	struct compile_opts opts = { 0 };
	int quiet = 0;
	int ch;
	static const struct option lo[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "origin", required_argument, NULL, 'z' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	while ((ch = getopt_long(argc, argv, "o:z:qhV", lo, NULL)) != -1) {
		switch (ch) {
		case 'o':
			out = optarg;
			break;
		case 'z':
			opts.origin = optarg;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			daemon_version("edgedns-compile");
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return 2;
	}
	const char *zonefile = argv[optind];

	struct compile_diag diag;
	compile_diag_init(&diag);
	diag.out = stderr;
	diag.quiet = quiet;
	diag.keep = 0;

	struct compile_result res;
	struct snapw *w = NULL;
	int rc = compile_zone_build(zonefile, &opts, &w, &res, &diag);
	char defout[2048];
	if (rc == 0 && out == NULL) {
		default_out(res.apex, defout, sizeof(defout));
		out = defout;
	}
	if (rc == 0) {
		char err[512] = "";
		rc = snapw_write(w, out, &res.snap, err, sizeof(err));
		if (rc != 0)
			fprintf(stderr, "%s: error: %s\n", out,
			        compile_writer_msg(err, out, rc));
	}
	if (w != NULL)
		snapw_free(w);
	compile_diag_free(&diag);
	if (rc != 0) {
		fprintf(stderr, "%s: %s: no snapshot written\n", zonefile,
		        ed_strerror(rc));
		return 1;
	}
	if (!quiet)
		printf("%s serial %u: %u RRs, %u nodes, %llu bytes (%.1f bytes/RR)"
		       " -> %s\n", res.origin, res.serial, res.snap.nrrs,
		       res.snap.nnodes, (unsigned long long)res.snap.file_size,
		       res.snap.bytes_per_rr, out);
	return 0;
}
