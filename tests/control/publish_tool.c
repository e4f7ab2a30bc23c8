/* publish_tool.c: edgedns-publish-test, a command-line driver of
 * control/publish.h for tests/conformance/test_publish.py: one call, the
 * outcome as one JSON line on stdout.
 *
 *   edgedns-publish-test --snapdir DIR [--socket PATH] [--timeout-ms N]
 *       --zone Z (ZONEFILE | --last | --remove)
 *
 * ZONEFILE is read with ldns (any content ldns parses; the compiler inside
 * publish_zone() does the checking) and published; --last reads back the
 * last published version (publish_load_last()); --remove is
 * publish_remove(). Exit 0 when the call returned 0, 1 when it failed, 2
 * on bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "error.h"
#include "publish.h"

static void jstr(const char *k, const char *v)
{
	printf("\"%s\":\"", k);
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	printf("\"");
}

static const char *code_name(int rc)
{
	switch (rc) {
	case 0: return "ok";
	case ED_ENOMEM: return "ENOMEM";
	case ED_EIO: return "EIO";
	case ED_EINVAL: return "EINVAL";
	case ED_EFORMAT: return "EFORMAT";
	case ED_ELIMIT: return "ELIMIT";
	case ED_ENOENT: return "ENOENT";
	}
	return "other";
}

static int usage(void)
{
	fprintf(stderr, "usage: edgedns-publish-test --snapdir DIR [--socket PATH] "
	        "[--timeout-ms N] --zone Z (ZONEFILE | --last | --remove)\n");
	return 2;
}

/* All RRs of path (SOA first), or NULL with a message in err. */
static ldns_rr_list *read_zone(const char *path, const char *zone, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, errlen, "%s: cannot open", path);
		return NULL;
	}
	ldns_rdf *origin = ldns_dname_new_frm_str(zone);
	ldns_zone *z = NULL;
	int line = 0;
	ldns_status st = ldns_zone_new_frm_fp_l(&z, f, origin, 3600, LDNS_RR_CLASS_IN, &line);
	fclose(f);
	ldns_rdf_deep_free(origin);
	if (st != LDNS_STATUS_OK) {
		snprintf(err, errlen, "%s:%d: %s", path, line, ldns_get_errorstr_by_id(st));
		return NULL;
	}
	ldns_rr_list *l = ldns_rr_list_new();
	if (ldns_zone_soa(z) != NULL)
		ldns_rr_list_push_rr(l, ldns_rr_clone(ldns_zone_soa(z)));
	for (size_t i = 0; i < ldns_rr_list_rr_count(ldns_zone_rrs(z)); i++)
		ldns_rr_list_push_rr(l, ldns_rr_clone(ldns_rr_list_rr(ldns_zone_rrs(z), i)));
	ldns_zone_deep_free(z);
	return l;
}

int main(int argc, char **argv)
{
	struct publish_conf pc = { 0 };
	const char *zone = NULL, *file = NULL;
	int last = 0, rem = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--snapdir") == 0 && i + 1 < argc)
			pc.snapshot_dir = argv[++i];
		else if (strcmp(a, "--socket") == 0 && i + 1 < argc)
			pc.dataplane_socket = argv[++i];
		else if (strcmp(a, "--timeout-ms") == 0 && i + 1 < argc)
			pc.timeout_ms = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (strcmp(a, "--zone") == 0 && i + 1 < argc)
			zone = argv[++i];
		else if (strcmp(a, "--last") == 0)
			last = 1;
		else if (strcmp(a, "--remove") == 0)
			rem = 1;
		else if (a[0] != '-' && file == NULL)
			file = a;
		else
			return usage();
	}
	if (pc.snapshot_dir == NULL || zone == NULL || (file != NULL) + last + rem != 1)
		return usage();

	char err[2048] = "";
	int rc;
	printf("{");
	if (last) {
		ldns_rr_list *rrs = NULL;
		uint32_t serial = 0;
		rc = publish_load_last(&pc, zone, &rrs, &serial, err, sizeof(err));
		if (rc == 0)
			printf("\"serial\":%u,\"rrs\":%zu,", serial, ldns_rr_list_rr_count(rrs));
		ldns_rr_list_deep_free(rrs);
	} else if (rem) {
		rc = publish_remove(&pc, zone, err, sizeof(err));
	} else {
		ldns_rr_list *rrs = read_zone(file, zone, err, sizeof(err));
		if (rrs == NULL) {
			printf("\"code\":\"EINPUT\",");
			jstr("error", err);
			printf("}\n");
			return 1;
		}
		struct publish_result res;
		rc = publish_zone(&pc, zone, rrs, &res, NULL, err, sizeof(err));
		ldns_rr_list_deep_free(rrs);
		if (rc == 0) {
			printf("\"serial\":%u,\"rrs\":%llu,\"compile_s\":%.6f,\"load_s\":%.6f,",
			       res.serial, (unsigned long long)res.rrs, res.compile_s, res.load_s);
			jstr("snapshot", res.snapshot);
			printf(",");
			jstr("zonefile", res.zonefile);
			printf(",");
		}
	}
	printf("\"code\":\"%s\",", code_name(rc));
	jstr("error", err);
	printf("}\n");
	return rc == 0 ? 0 : 1;
}
