/* fuzz_common.h: a small rich zone built in memory for the fuzzers. */
#ifndef EDGEDNS_FUZZ_COMMON_H
#define EDGEDNS_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <ldns/ldns.h>

#include "dname.h"
#include "snapshot_writer.h"

#define FSIG(t, n) " 3600 IN RRSIG " t " 13 " n " 3600 20300101000000 20200101000000 1 f.test. AAAA"

static const char *const FUZZ_ZONE[] = {
	"f.test. 3600 IN SOA ns.f.test. h.f.test. 1 7200 3600 1209600 300",
	"f.test." FSIG("SOA", "2"),
	"f.test. 3600 IN NS ns.f.test.",
	"f.test. 3600 IN NS ns.other.example.",
	"f.test. 3600 IN MX 10 mail.f.test.",
	"f.test. 300 IN NSEC *.f.test. NS SOA MX RRSIG NSEC",
	"f.test." FSIG("NSEC", "2"),
	"*.f.test. 3600 IN A 192.0.2.9",
	"*.f.test. 300 IN NSEC a.b.f.test. A RRSIG NSEC",
	"a.b.f.test. 3600 IN CNAME c.f.test.",
	"a.b.f.test. 300 IN NSEC c.f.test. CNAME RRSIG NSEC",
	"c.f.test. 3600 IN CNAME a.b.f.test.",
	"c.f.test. 300 IN NSEC d.f.test. CNAME RRSIG NSEC",
	"d.f.test. 3600 IN DNAME f.test.",
	"d.f.test. 300 IN NSEC mail.f.test. DNAME RRSIG NSEC",
	"dn1.f.test. 3600 IN DNAME dn2.f.test.",
	"x.dn2.f.test. 3600 IN DNAME dn1.f.test.",
	"y.dn2.f.test. 3600 IN CNAME w.dn1.f.test.",
	"www2.f.test. 3600 IN CNAME mail.f.test.",
	"www3.f.test. 3600 IN CNAME txt.f.test.",
	"mail.f.test. 3600 IN A 192.0.2.2",
	"mail.f.test. 3600 IN AAAA 2001:db8::2",
	"mail.f.test." FSIG("A", "3"),
	"mail.f.test. 300 IN NSEC ns.f.test. A AAAA RRSIG NSEC",
	"ns.f.test. 3600 IN A 192.0.2.1",
	"ns.f.test. 300 IN NSEC sub.f.test. A RRSIG NSEC",
	"sub.f.test. 3600 IN NS ns.sub.f.test.",
	"sub.f.test. 3600 IN NS mail.f.test.",
	"sub.f.test. 300 IN NSEC f.test. NS RRSIG NSEC",
	"ns.sub.f.test. 3600 IN A 192.0.2.4",
	"srv.f.test. 3600 IN SRV 0 0 53 mail.f.test.",
	"txt.f.test. 3600 IN TXT \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
	"txt.f.test. 3600 IN TXT \"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"",
	NULL,
};

/* Build the fuzz zone's snapshot image; aborts on failure (harness bug). */
static void fuzz_build_zone(void **img, size_t *len)
{
	uint8_t apex[256];
	dname_from_str("f.test.", apex);
	struct snapw *w = snapw_new(apex);
	ldns_rdf *orig = ldns_dname_new_frm_str("f.test.");
	for (int i = 0; FUZZ_ZONE[i] != NULL; i++) {
		ldns_rr *rr = NULL;
		if (ldns_rr_new_frm_str(&rr, FUZZ_ZONE[i], 3600, orig, NULL) != LDNS_STATUS_OK)
			abort();
		ldns_buffer *b = ldns_buffer_new(512);
		ldns_rr_rdata2buffer_wire(b, rr);
		if (snapw_add_rr(w, ldns_rdf_data(ldns_rr_owner(rr)), ldns_rr_get_type(rr),
		                 ldns_rr_get_class(rr), ldns_rr_ttl(rr), ldns_buffer_begin(b),
		                 (uint16_t)ldns_buffer_position(b)) != 0)
			abort();
		ldns_buffer_free(b);
		ldns_rr_free(rr);
	}
	ldns_rdf_deep_free(orig);
	char err[256];
	if (snapw_build(w, img, len, NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz zone: %s\n", err);
		abort();
	}
	snapw_free(w);
}

#endif
