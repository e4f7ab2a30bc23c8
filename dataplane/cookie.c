/* cookie.c: RFC 9018 server cookies (see cookie.h). */
#include "cookie.h"
#include "hex.h"

#include <string.h>

#include <sodium/crypto_shorthash_siphash24.h>

#include "error.h"

_Static_assert(crypto_shorthash_siphash24_KEYBYTES == COOKIE_SECRET_LEN, "secret size");
_Static_assert(crypto_shorthash_siphash24_BYTES == 8, "hash size");

/* The hash over cc | the first 8 octets of the server cookie (version,
 * reserved, timestamp) | ip. */
static void cookie_hash(const uint8_t secret[COOKIE_SECRET_LEN],
                        const uint8_t cc[COOKIE_CLIENT_LEN], const uint8_t head[8],
                        const uint8_t *ip, size_t iplen, uint8_t out[8])
{
	uint8_t in[COOKIE_CLIENT_LEN + 8 + 16];
	memcpy(in, cc, COOKIE_CLIENT_LEN);
	memcpy(in + COOKIE_CLIENT_LEN, head, 8);
	memcpy(in + COOKIE_CLIENT_LEN + 8, ip, iplen);
	crypto_shorthash_siphash24(out, in, COOKIE_CLIENT_LEN + 8 + iplen, secret);
}

void eng_cookie_make(const uint8_t secret[COOKIE_SECRET_LEN],
                     const uint8_t cc[COOKIE_CLIENT_LEN], const uint8_t *ip,
                     size_t iplen, uint32_t now, uint8_t out[COOKIE_SERVER_LEN])
{
	out[0] = 1;
	out[1] = out[2] = out[3] = 0;
	out[4] = (uint8_t)(now >> 24);
	out[5] = (uint8_t)(now >> 16);
	out[6] = (uint8_t)(now >> 8);
	out[7] = (uint8_t)now;
	cookie_hash(secret, cc, out, ip, iplen, out + 8);
}

/* Constant time: how many octets match must not show in the time taken. */
static bool same8(const uint8_t *a, const uint8_t *b)
{
	uint8_t d = 0;
	for (unsigned i = 0; i < 8; i++)
		d |= (uint8_t)(a[i] ^ b[i]);
	return d == 0;
}

bool eng_cookie_check(const struct eng_cookie_conf *conf,
                      const uint8_t cc[COOKIE_CLIENT_LEN], const uint8_t *sc,
                      size_t sclen, const uint8_t *ip, size_t iplen, uint32_t now)
{
	if (sclen != COOKIE_SERVER_LEN || sc[0] != 1 || (iplen != 4 && iplen != 16))
		return false;
	uint32_t ts = (uint32_t)sc[4] << 24 | (uint32_t)sc[5] << 16 | (uint32_t)sc[6] << 8 | sc[7];
	/* age in serial arithmetic: negative is in the future */
	int64_t age = (int32_t)(now - ts);
	if (age > COOKIE_LIFETIME || age < -COOKIE_SKEW)
		return false;
	uint8_t h[8];
	cookie_hash(conf->secret, cc, sc, ip, iplen, h);
	if (same8(h, sc + 8))
		return true;
	if (!conf->has_prev)
		return false;
	cookie_hash(conf->prev, cc, sc, ip, iplen, h);
	return same8(h, sc + 8);
}

int eng_cookie_parse_secret(const char *hex, uint8_t out[COOKIE_SECRET_LEN])
{
	if (strlen(hex) != 2 * COOKIE_SECRET_LEN)
		return ED_EINVAL;
	uint8_t s[COOKIE_SECRET_LEN];
	if (hex_decode(hex, s, sizeof(s)) != COOKIE_SECRET_LEN)
		return ED_EINVAL;
	memcpy(out, s, sizeof(s));
	return ED_OK;
}
