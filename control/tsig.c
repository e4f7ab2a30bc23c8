/* tsig.c: RFC 8945 signing and verification on wire messages (OpenSSL HMAC). */
#include "tsig.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <ldns/ldns.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "dname.h"
#include "error.h"

#define T_TSIG 250
#define C_ANY 255

static const struct {
	const char *name;
	const char *digest;
	size_t mac_len;
} algs[] = {
	{ "hmac-sha256.", "SHA256", 32 },
	{ "hmac-sha384.", "SHA384", 48 },
	{ "hmac-sha512.", "SHA512", 64 },
};

static int text2wire(const char *text, uint8_t *out, size_t *len)
{
	ldns_rdf *r = ldns_dname_new_frm_str(text);
	if (r == NULL)
		return ED_EINVAL;
	if (ldns_rdf_size(r) > 255) {
		ldns_rdf_deep_free(r);
		return ED_EINVAL;
	}
	*len = ldns_rdf_size(r);
	memcpy(out, ldns_rdf_data(r), *len);
	ldns_rdf_deep_free(r);
	for (size_t i = 0; i < *len; i++)
		out[i] = dname_lower_octet(out[i]);
	return 0;
}

int tsig_key_init(struct tsig_key *k, const char *name, const char *algorithm,
                  const uint8_t *secret, size_t secret_len)
{
	memset(k, 0, sizeof(*k));
	if (name == NULL || algorithm == NULL || secret == NULL || secret_len == 0)
		return ED_EINVAL;
	size_t al = strlen(algorithm);
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		size_t n = strlen(algs[i].name);
		if ((al == n && strcasecmp(algorithm, algs[i].name) == 0) ||
		    (al == n - 1 && strncasecmp(algorithm, algs[i].name, n - 1) == 0)) {
			k->digest = algs[i].digest;
			k->mac_len = algs[i].mac_len;
			if (text2wire(algs[i].name, k->alg, &k->alg_len) != 0)
				return ED_EINVAL;
		}
	}
	if (k->digest == NULL || text2wire(name, k->name, &k->name_len) != 0)
		return ED_EINVAL;
	k->secret = secret;
	k->secret_len = secret_len;
	snprintf(k->name_text, sizeof(k->name_text), "%s", name);
	return 0;
}

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

/* HMAC over up to four pieces; out gets k->mac_len octets. */
static int hmac(const struct tsig_key *k, const uint8_t *const *piece,
                const size_t *plen, unsigned n, uint8_t *out)
{
	int rc = ED_ENOMEM;
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	if (ctx == NULL)
		goto out;
	OSSL_PARAM params[2] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)k->digest, 0),
		OSSL_PARAM_construct_end(),
	};
	rc = ED_EINVAL;
	if (!EVP_MAC_init(ctx, k->secret, k->secret_len, params))
		goto out;
	for (unsigned i = 0; i < n; i++)
		if (plen[i] && !EVP_MAC_update(ctx, piece[i], plen[i]))
			goto out;
	size_t ol = 0;
	if (!EVP_MAC_final(ctx, out, &ol, TSIG_MAX_MAC) || ol != k->mac_len)
		goto out;
	rc = 0;
out:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return rc;
}

/* The TSIG variables after the message (RFC 8945 4.3.3): all of them, or
 * the timers only (4.3.1, later messages of a response). */
static size_t put_vars(uint8_t *v, const struct tsig_key *k, const uint8_t *time48,
                       uint16_t fudge, uint16_t error, const uint8_t *other,
                       uint16_t other_len, int timers_only)
{
	size_t n = 0;
	if (!timers_only) {
		memcpy(v + n, k->name, k->name_len);
		n += k->name_len;
		put16(v + n, C_ANY);
		memset(v + n + 2, 0, 4);
		n += 6;
		memcpy(v + n, k->alg, k->alg_len);
		n += k->alg_len;
	}
	memcpy(v + n, time48, 6);
	put16(v + n + 6, fudge);
	n += 8;
	if (!timers_only) {
		put16(v + n, error);
		put16(v + n + 2, other_len);
		n += 4;
		if (other_len)
			memcpy(v + n, other, other_len);
		n += other_len;
	}
	return n;
}

int tsig_sign(const struct tsig_key *k, struct tsig_chain *c, uint8_t *msg,
              size_t *len, size_t cap, uint64_t now)
{
	size_t l = *len;
	if (l < 12)
		return ED_EINVAL;
	size_t rr = k->name_len + 10 + k->alg_len + 16 + k->mac_len;
	if (cap < l || cap - l < rr)
		return ED_ELIMIT;
	uint8_t time48[6];
	for (int i = 0; i < 6; i++)
		time48[i] = (uint8_t)(now >> (8 * (5 - i)));
	uint8_t vars[600], pl[2];
	size_t vl = put_vars(vars, k, time48, TSIG_FUDGE, 0, NULL, 0, 0);
	put16(pl, (uint16_t)c->mac_len);
	const uint8_t *pieces[4] = { pl, c->mac, msg, vars };
	size_t plen[4] = { c->mac_len ? 2 : 0, c->mac_len, l, vl };
	uint8_t mac[TSIG_MAX_MAC];
	int rc = hmac(k, pieces, plen, 4, mac);
	if (rc != 0)
		return rc;
	uint8_t *p = msg + l;
	memcpy(p, k->name, k->name_len);
	p += k->name_len;
	put16(p, T_TSIG);
	put16(p + 2, C_ANY);
	memset(p + 4, 0, 4);
	put16(p + 8, (uint16_t)(k->alg_len + 16 + k->mac_len));
	p += 10;
	memcpy(p, k->alg, k->alg_len);
	p += k->alg_len;
	memcpy(p, time48, 6);
	put16(p + 6, TSIG_FUDGE);
	put16(p + 8, (uint16_t)k->mac_len);
	p += 10;
	memcpy(p, mac, k->mac_len);
	p += k->mac_len;
	memcpy(p, msg, 2);          /* original ID */
	put16(p + 2, 0);            /* error */
	put16(p + 4, 0);            /* other len */
	p += 6;
	put16(msg + 10, (uint16_t)(get16(msg + 10) + 1));
	*len = (size_t)(p - msg);
	memcpy(c->mac, mac, k->mac_len);
	c->mac_len = k->mac_len;
	c->verified = 0;
	return 0;
}

size_t tsig_find(const uint8_t *msg, size_t len)
{
	if (len < 12)
		return 0;
	unsigned qd = get16(msg + 4);
	unsigned rrs = get16(msg + 6) + get16(msg + 8) + get16(msg + 10);
	if (get16(msg + 10) == 0)
		return 0;
	size_t p = 12;
	for (unsigned i = 0; i < qd; i++) {
		p = dname_skip_wire(msg, len, p, 1);
		if (p == 0 || len - p < 4)
			return 0;
		p += 4;
	}
	size_t last = 0;
	for (unsigned i = 0; i < rrs; i++) {
		last = p;
		p = dname_skip_wire(msg, len, p, 1);
		if (p == 0 || len - p < 10)
			return 0;
		size_t rdl = get16(msg + p + 8);
		p += 10;
		if (len - p < rdl)
			return 0;
		p += rdl;
	}
	size_t t = dname_skip_wire(msg, len, last, 1);
	if (p != len || get16(msg + t) != T_TSIG)
		return 0;
	return last;
}

/* Decode the possibly compressed name at *p into lowercase wire form. */
static int read_name(const uint8_t *m, size_t len, size_t *p, uint8_t *out, size_t *outl)
{
	size_t pos = *p, n = 0, end = 0;
	for (unsigned hops = 0; hops < 128; hops++) {
		if (pos >= len)
			return -1;
		uint8_t l = m[pos];
		if (l >= 0xc0) {
			if (len - pos < 2)
				return -1;
			if (end == 0)
				end = pos + 2;
			pos = (size_t)((l & 0x3f) << 8 | m[pos + 1]);
			continue;
		}
		if (l > 63 || len - pos < 1u + l || n + 1u + l > 255)
			return -1;
		out[n++] = l;
		for (unsigned i = 0; i < l; i++)
			out[n++] = dname_lower_octet(m[pos + 1 + i]);
		pos += 1u + l;
		if (l == 0) {
			*p = end ? end : pos;
			*outl = n;
			return 0;
		}
	}
	return -1;
}

static void wire2text(const uint8_t *w, size_t wl, char *out, size_t n)
{
	ldns_rdf *r = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, wl, w);
	char *s = r ? ldns_rdf2str(r) : NULL;
	snprintf(out, n, "%s", s ? s : "?");
	free(s);
	ldns_rdf_deep_free(r);
}

enum tsig_status tsig_verify(const struct tsig_key *k, struct tsig_chain *c,
                             const uint8_t *msg, size_t len, uint64_t now,
                             struct tsig_info *info)
{
	struct tsig_info scratch;
	if (info == NULL)
		info = &scratch;
	memset(info, 0, sizeof(*info));
	size_t at = tsig_find(msg, len);
	if (at == 0)
		return TSIG_UNSIGNED;
	uint8_t owner[255], alg[255];
	size_t ol, al, p = at;
	if (read_name(msg, len, &p, owner, &ol) != 0 || len - p < 10)
		return TSIG_MALFORMED;
	wire2text(owner, ol, info->key, sizeof(info->key));
	if (get16(msg + p + 2) != C_ANY)
		return TSIG_MALFORMED;
	size_t rdend = p + 10 + get16(msg + p + 8);
	p += 10;
	if (read_name(msg, rdend, &p, alg, &al) != 0 || rdend - p < 10)
		return TSIG_MALFORMED;
	const uint8_t *time48 = msg + p;
	uint64_t ts = 0;
	for (int i = 0; i < 6; i++)
		ts = ts << 8 | time48[i];
	uint16_t fudge = get16(msg + p + 6), maclen = get16(msg + p + 8);
	p += 10;
	if (rdend - p < (size_t)maclen + 6)
		return TSIG_MALFORMED;
	const uint8_t *mac = msg + p;
	p += maclen;
	uint16_t origid = get16(msg + p), error = get16(msg + p + 2);
	uint16_t other_len = get16(msg + p + 4);
	p += 6;
	if (rdend - p != other_len)
		return TSIG_MALFORMED;
	const uint8_t *other = msg + p;
	info->error = error;
	info->time_signed = ts;
	info->fudge = fudge;
	if (ol != k->name_len || memcmp(owner, k->name, ol) != 0)
		return error ? TSIG_PEER_ERROR : TSIG_WRONG_KEY;
	if (error != 0)
		return TSIG_PEER_ERROR;
	if (al != k->alg_len || memcmp(alg, k->alg, al) != 0)
		return TSIG_WRONG_ALG;
	if (maclen != k->mac_len)
		return maclen < k->mac_len ? TSIG_TRUNCATED_MAC : TSIG_MALFORMED;

	/* The message as it was before signing: original ID, ARCOUNT less
	 * one, no TSIG RR. */
	uint8_t hdr[12];
	memcpy(hdr, msg, 12);
	put16(hdr, origid);
	put16(hdr + 10, (uint16_t)(get16(msg + 10) - 1));
	uint8_t vars[600], pl[2];
	int timers_only = c->verified > 0;
	size_t vl = put_vars(vars, k, time48, fudge, error, other, other_len, timers_only);
	put16(pl, (uint16_t)c->mac_len);
	uint8_t want[TSIG_MAX_MAC];
	/* Prior MAC (length and octets) and the header in one piece. */
	uint8_t prefix[2 + TSIG_MAX_MAC + 12];
	size_t pfl = 0;
	if (c->mac_len) {
		memcpy(prefix, pl, 2);
		memcpy(prefix + 2, c->mac, c->mac_len);
		pfl = 2 + c->mac_len;
	}
	memcpy(prefix + pfl, hdr, 12);
	pfl += 12;
	const uint8_t *p4[3] = { prefix, msg + 12, vars };
	size_t l4[3] = { pfl, at - 12, vl };
	if (hmac(k, p4, l4, 3, want) != 0)
		return TSIG_BADMAC;
	if (CRYPTO_memcmp(want, mac, k->mac_len) != 0)
		return TSIG_BADMAC;
	uint64_t d = now > ts ? now - ts : ts - now;
	if (d > fudge)
		return TSIG_BADTIME;
	memcpy(c->mac, mac, k->mac_len);
	c->mac_len = k->mac_len;
	c->verified++;
	return TSIG_OK;
}

const char *tsig_error_name(uint16_t e, char *buf, size_t n)
{
	switch (e) {
	case TSIG_E_BADSIG: snprintf(buf, n, "BADSIG"); break;
	case TSIG_E_BADKEY: snprintf(buf, n, "BADKEY"); break;
	case TSIG_E_BADTIME: snprintf(buf, n, "BADTIME"); break;
	case TSIG_E_BADTRUNC: snprintf(buf, n, "BADTRUNC"); break;
	default: snprintf(buf, n, "error %u", e); break;
	}
	return buf;
}
