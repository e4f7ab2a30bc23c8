/* xfr_client.c: edgedns-xfr-test, a command-line driver of control/xfr.h
 * for tests/xfr: one SOA query or one transfer, the outcome as one JSON
 * line on stdout, the zone (one RR a line, absolute names) to --dump.
 *
 *   edgedns-xfr-test --server ADDR --port N --zone Z
 *       [--soa | --axfr | --ixfr SERIAL [--base ZONEFILE]]
 *       [--tsig NAME:ALG:BASE64] [--max-bytes N] [--max-rrs N]
 *       [--max-rr-size N] [--timeout-ms N] [--dump FILE]
 *
 * --ixfr without --base: xfr_fetch() of an IXFR (the diffs are counted,
 * not applied); with --base: xfr_update() from that zone file. Exit 0 when
 * the call returned 0, 1 when it failed, 2 on bad usage.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "error.h"
#include "xfr.h"

static const char *code_name(int rc)
{
	switch (rc) {
	case 0: return "ok";
	case ED_ENOMEM: return "ENOMEM";
	case ED_EIO: return "EIO";
	case ED_EINVAL: return "EINVAL";
	case ED_EFORMAT: return "EFORMAT";
	case ED_ELIMIT: return "ELIMIT";
	case ED_EZONE: return "EZONE";
	case ED_ETIMEOUT: return "ETIMEOUT";
	case ED_ETSIG: return "ETSIG";
	case ED_ERCODE: return "ERCODE";
	}
	return "other";
}

static void jstr(const char *k, const char *v)
{
	printf("\"%s\": \"", k);
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

static const char *kind_name(enum xfr_kind k)
{
	switch (k) {
	case XFR_KIND_AXFR: return "axfr";
	case XFR_KIND_IXFR: return "ixfr";
	case XFR_KIND_UPTODATE: return "uptodate";
	default: return "none";
	}
}

static int usage(void)
{
	fprintf(stderr, "usage: edgedns-xfr-test --server ADDR --port N --zone Z "
	        "[--soa|--axfr|--ixfr SERIAL [--base FILE]] [--tsig NAME:ALG:B64] "
	        "[--max-bytes N] [--max-rrs N] [--max-rr-size N] [--timeout-ms N] "
	        "[--dump FILE]\n");
	return 2;
}

static ldns_rr_list *load_zone(const char *path, const char *origin)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return NULL;
	ldns_rdf *o = ldns_dname_new_frm_str(origin);
	ldns_zone *z = NULL;
	int line = 0;
	ldns_status st = ldns_zone_new_frm_fp_l(&z, f, o, 3600, LDNS_RR_CLASS_IN, &line);
	fclose(f);
	ldns_rdf_deep_free(o);
	if (st != LDNS_STATUS_OK) {
		fprintf(stderr, "%s:%d: %s\n", path, line, ldns_get_errorstr_by_id(st));
		return NULL;
	}
	ldns_rr_list *l = ldns_rr_list_new();
	ldns_rr_list_push_rr(l, ldns_rr_clone(ldns_zone_soa(z)));
	ldns_rr_list *rrs = ldns_zone_rrs(z);
	for (size_t i = 0; i < ldns_rr_list_rr_count(rrs); i++)
		ldns_rr_list_push_rr(l, ldns_rr_clone(ldns_rr_list_rr(rrs, i)));
	ldns_zone_deep_free(z);
	return l;
}

int main(int argc, char **argv)
{
	const char *server = NULL, *zone = NULL, *dump = NULL, *base = NULL, *tsigarg = NULL;
	int port = 53, mode = 'a';
	uint32_t serial = 0;
	struct xfr_limits lim = { 0 };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--soa") == 0) { mode = 's'; continue; }
		if (strcmp(a, "--axfr") == 0) { mode = 'a'; continue; }
		if (v == NULL)
			return usage();
		i++;
		if (strcmp(a, "--server") == 0) server = v;
		else if (strcmp(a, "--port") == 0) port = atoi(v);
		else if (strcmp(a, "--zone") == 0) zone = v;
		else if (strcmp(a, "--ixfr") == 0) { mode = 'i'; serial = (uint32_t)strtoul(v, NULL, 10); }
		else if (strcmp(a, "--base") == 0) base = v;
		else if (strcmp(a, "--tsig") == 0) tsigarg = v;
		else if (strcmp(a, "--dump") == 0) dump = v;
		else if (strcmp(a, "--max-bytes") == 0) lim.max_bytes = strtoull(v, NULL, 10);
		else if (strcmp(a, "--max-rrs") == 0) lim.max_rrs = strtoull(v, NULL, 10);
		else if (strcmp(a, "--max-rr-size") == 0) lim.max_rr_size = (uint32_t)strtoul(v, NULL, 10);
		else if (strcmp(a, "--timeout-ms") == 0) lim.timeout_ms = (unsigned)strtoul(v, NULL, 10);
		else return usage();
	}
	if (server == NULL || zone == NULL)
		return usage();
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	socklen_t sl;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, server, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		sl = sizeof(*s4);
	} else if (inet_pton(AF_INET6, server, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		sl = sizeof(*s6);
	} else {
		return usage();
	}
	struct xfr_tsig tsig, *tp = NULL;
	char tname[256], talg[64];
	uint8_t secret[256];
	if (tsigarg) {
		const char *c1 = strchr(tsigarg, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (c2 == NULL || (size_t)(c1 - tsigarg) >= sizeof(tname) ||
		    (size_t)(c2 - c1 - 1) >= sizeof(talg))
			return usage();
		snprintf(tname, sizeof(tname), "%.*s", (int)(c1 - tsigarg), tsigarg);
		snprintf(talg, sizeof(talg), "%.*s", (int)(c2 - c1 - 1), c1 + 1);
		ldns_rdf *b = NULL;
		if (ldns_str2rdf_b64(&b, c2 + 1) != LDNS_STATUS_OK || ldns_rdf_size(b) == 0 ||
		    ldns_rdf_size(b) > sizeof(secret)) {
			ldns_rdf_deep_free(b);
			return usage();
		}
		int n = (int)ldns_rdf_size(b);
		memcpy(secret, ldns_rdf_data(b), (size_t)n);
		ldns_rdf_deep_free(b);
		tsig = (struct xfr_tsig){ tname, talg, secret, (size_t)n };
		tp = &tsig;
	}
	char err[1024] = "";
	int rc;
	printf("{");
	if (mode == 's') {
		struct xfr_soa_info info;
		uint32_t s = 0;
		rc = xfr_soa_query((struct sockaddr *)&ss, sl, zone, tp, lim.timeout_ms, &s,
		                   &info, err, sizeof(err));
		printf("\"rc\": %d, \"code\": \"%s\", \"why\": \"%s\", \"serial\": %u, "
		       "\"aa\": %s, \"tsig_verified\": %s, \"tcp\": %s, \"rcode\": %u, ",
		       rc, code_name(rc), xfr_why_name(info.why), s, info.aa ? "true" : "false",
		       info.tsig_verified ? "true" : "false", info.tcp ? "true" : "false",
		       info.rcode);
		if (info.expire.valid)
			printf("\"expire\": %u, ", info.expire.seconds);
		else
			printf("\"expire\": null, ");
		printf("\"edns_fallback\": %s, ", info.edns_fallback ? "true" : "false");
		jstr("error", err);
		printf("}\n");
		return rc == 0 ? 0 : 1;
	}
	struct xfr_result res;
	ldns_rr_list *cur = NULL;
	if (mode == 'i' && base) {
		cur = load_zone(base, zone);
		if (cur == NULL) {
			fprintf(stderr, "cannot load %s\n", base);
			return 2;
		}
		rc = xfr_update((struct sockaddr *)&ss, sl, zone, cur, serial, tp, &lim, &res,
		                err, sizeof(err));
	} else {
		rc = xfr_fetch((struct sockaddr *)&ss, sl, zone,
		               mode == 'i' ? LDNS_RR_TYPE_IXFR : LDNS_RR_TYPE_AXFR, serial, tp,
		               &lim, &res, err, sizeof(err));
	}
	size_t nz = res.zone ? ldns_rr_list_rr_count(res.zone) : 0;
	printf("\"rc\": %d, \"code\": \"%s\", \"why\": \"%s\", \"kind\": \"%s\", "
	       "\"serial\": %u, \"zone_rrs\": %zu, \"rrs\": %llu, \"bytes\": %llu, "
	       "\"messages\": %llu, \"tsig_verified\": %u, \"ndiffs\": %zu, "
	       "\"rcode\": %u, \"fallback\": %s, ",
	       rc, code_name(rc), xfr_why_name(res.why), kind_name(res.kind), res.serial, nz,
	       (unsigned long long)res.rrs, (unsigned long long)res.bytes,
	       (unsigned long long)res.messages, res.tsig_verified, res.ndiffs, res.rcode,
	       res.ixfr_fallback ? "true" : "false");
	jstr("fallback_reason", res.fallback_reason);
	printf(", ");
	jstr("error", err);
	printf("}\n");
	if (dump && res.zone) {
		FILE *f = fopen(dump, "w");
		if (f) {
			for (size_t i = 0; i < nz; i++)
				ldns_rr_print(f, ldns_rr_list_rr(res.zone, i));
			fclose(f);
		}
	}
	xfr_result_free(&res);
	ldns_rr_list_deep_free(cur);
	return rc == 0 ? 0 : 1;
}
