/* verify_zonemd.c: step 4 of the gate (verify.h): the RFC 8976 ZONEMD
 * digest, SIMPLE scheme, SHA384 and SHA512 by OpenSSL. */
#include <string.h>

#include <openssl/evp.h>

#include "error.h"
#include "verify_int.h"

#define ZONEMD_SCHEME_SIMPLE 1
#define ZONEMD_HASH_SHA384 1
#define ZONEMD_HASH_SHA512 2

static int zonemd_supported(const struct vrr *r)
{
	const uint8_t *d = r->wire + r->rdoff;
	return r->len - r->rdoff >= 6 && d[4] == ZONEMD_SCHEME_SIMPLE &&
	       (d[5] == ZONEMD_HASH_SHA384 || d[5] == ZONEMD_HASH_SHA512);
}

/* The SIMPLE digests of z for the hashes in want[1..2]: out[1] SHA384,
 * out[2] SHA512. */
static int zonemd_digest(const struct vzone *z, const int want[3],
                         uint8_t out[3][EVP_MAX_MD_SIZE])
{
	EVP_MD_CTX *ctx[3] = { NULL, NULL, NULL };
	const EVP_MD *md[3] = { NULL, EVP_sha384(), EVP_sha512() };
	int rc = 0;
	for (int h = 1; h <= 2; h++) {
		if (!want[h])
			continue;
		if ((ctx[h] = EVP_MD_CTX_new()) == NULL ||
		    EVP_DigestInit_ex(ctx[h], md[h], NULL) != 1) {
			rc = ED_ENOMEM;
			goto out;
		}
	}
	const struct vname *ap = &z->names[0];
	for (size_t i = 0; i < z->n; i++) {
		const struct vrr *r = &z->v[i];
		if (i >= ap->first && i < ap->end) {
			/* RFC 8976 3.3.1: not the apex ZONEMD RRset, nor the
			 * RRSIGs covering it. */
			if (r->type == LDNS_RR_TYPE_ZONEMD)
				continue;
			if (r->type == LDNS_RR_TYPE_RRSIG && r->len - r->rdoff >= 2 &&
			    rd16(r->wire + r->rdoff) == LDNS_RR_TYPE_ZONEMD)
				continue;
		}
		for (int h = 1; h <= 2; h++)
			if (ctx[h] != NULL &&
			    EVP_DigestUpdate(ctx[h], r->wire, r->len) != 1) {
				rc = ED_ENOMEM;
				goto out;
			}
	}
	for (int h = 1; h <= 2; h++)
		if (ctx[h] != NULL && EVP_DigestFinal_ex(ctx[h], out[h], NULL) != 1)
			rc = ED_ENOMEM;
out:
	for (int h = 1; h <= 2; h++)
		EVP_MD_CTX_free(ctx[h]);
	return rc;
}

int verify_zonemd(const struct vzone *z, const struct verify_policy *pol,
                  struct verify_report *rep)
{
	static const char *const hname[3] = { "", "SHA384", "SHA512" };
	static const unsigned hlen[3] = { 0, 48, 64 };
	const struct vname *ap = &z->names[0];
	int nsupp = 0, nany = 0, cnt[3] = { 0, 0, 0 };
	uint32_t other_serial = 0;
	for (size_t i = ap->first; i < ap->end; i++) {
		const struct vrr *r = &z->v[i];
		if (r->type != LDNS_RR_TYPE_ZONEMD)
			continue;
		nany++;
		if (!zonemd_supported(r))
			continue;
		nsupp++;
		uint32_t s = rd32(r->wire + r->rdoff);
		if (s == z->serial)
			cnt[r->wire[r->rdoff + 5]]++;
		else
			other_serial = s;
	}
	if (nsupp == 0) {
		if (pol->require_zonemd)
			return verify_refuse(rep, nany ? "no supported ZONEMD "
			                     "(SIMPLE with SHA384 or SHA512), required "
			                     "by policy" : "no ZONEMD, required by policy");
		return 0;
	}
	rep->zonemd = true;
	if (cnt[1] + cnt[2] == 0)
		return verify_refuse(rep, "ZONEMD serial %u does not match the SOA "
		                     "serial %u", other_serial, z->serial);
	int want[3] = { 0, cnt[1] == 1, cnt[2] == 1 };
	if (!want[1] && !want[2])
		return verify_refuse(rep, "ZONEMD RRset has more than one SIMPLE %s "
		                     "record", hname[cnt[1] > 1 ? 1 : 2]);
	uint8_t dig[3][EVP_MAX_MD_SIZE];
	int rc = zonemd_digest(z, want, dig);
	if (rc != 0)
		return rc;
	unsigned ok = 0;
	for (size_t i = ap->first; i < ap->end; i++) {
		const struct vrr *r = &z->v[i];
		if (r->type != LDNS_RR_TYPE_ZONEMD || !zonemd_supported(r) ||
		    rd32(r->wire + r->rdoff) != z->serial)
			continue;
		int h = r->wire[r->rdoff + 5];
		if (want[h] && r->len - r->rdoff - 6 == hlen[h] &&
		    memcmp(r->wire + r->rdoff + 6, dig[h], hlen[h]) == 0)
			ok++;
	}
	rep->zonemd_verified = ok;
	if (ok == 0)
		return verify_refuse(rep, "ZONEMD digest mismatch (%s%s%s)",
		                     want[1] ? hname[1] : "",
		                     want[1] && want[2] ? ", " : "",
		                     want[2] ? hname[2] : "");
	return 0;
}
