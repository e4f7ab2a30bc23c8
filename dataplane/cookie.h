/* cookie.h: DNS Cookies (RFC 7873), server cookies made the interoperable
 * way of RFC 9018, so every PoP of an anycast set that shares the secret
 * accepts the cookies of every other.
 *
 * Server cookie (16 octets):
 *   Version(1) = 1 | Reserved(3) = 0 | Timestamp(4, unix seconds, big
 *   endian) | Hash(8) = SipHash-2-4(secret, ClientCookie | Version |
 *   Reserved | Timestamp | Client-IP (4 or 16 octets))
 *
 * Pure functions: no I/O, no allocation, no locks; callable per packet from
 * any thread. SipHash is libsodium's crypto_shorthash_siphash24() (plain C,
 * needs no sodium_init()).
 */
#ifndef EDGEDNS_COOKIE_H
#define EDGEDNS_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EDNS_COOKIE 10              /* EDNS option code (RFC 7873) */
#define COOKIE_CLIENT_LEN 8
#define COOKIE_SERVER_LEN 16        /* what we make (RFC 9018) */
#define COOKIE_SERVER_MIN 8         /* what a query may carry (RFC 7873 4) */
#define COOKIE_SERVER_MAX 32
#define COOKIE_SECRET_LEN 16
#define COOKIE_LIFETIME 3600        /* a cookie older than this is stale */
#define COOKIE_SKEW 300             /* nor may it be this far in the future */

/* The server secret, the same on every PoP; during a rotation the previous
 * one is still accepted (RFC 9018 5). Immutable while the engine runs. */
struct eng_cookie_conf {
	uint8_t secret[COOKIE_SECRET_LEN];
	uint8_t prev[COOKIE_SECRET_LEN];
	bool has_prev;
};

/* Our server cookie for client cookie cc, client address ip (iplen 4 or
 * 16), made now with secret, into out. */
void eng_cookie_make(const uint8_t secret[COOKIE_SECRET_LEN],
                     const uint8_t cc[COOKIE_CLIENT_LEN], const uint8_t *ip,
                     size_t iplen, uint32_t now, uint8_t out[COOKIE_SERVER_LEN]);

/* Whether sc (sclen octets) is a server cookie we made for cc and ip, with
 * the current or the previous secret: version 1, the hash matches (over
 * the reserved octets as received), timestamp in [now - COOKIE_LIFETIME,
 * now + COOKIE_SKEW] (serial arithmetic, so it survives 2106). Any sclen
 * other than COOKIE_SERVER_LEN is not ours: false. Hashes compared in
 * constant time. */
bool eng_cookie_check(const struct eng_cookie_conf *cc_conf,
                      const uint8_t cc[COOKIE_CLIENT_LEN], const uint8_t *sc,
                      size_t sclen, const uint8_t *ip, size_t iplen, uint32_t now);

/* 32 hex digits into a secret. 0 or ED_EINVAL. For configuration. */
int eng_cookie_parse_secret(const char *hex, uint8_t out[COOKIE_SECRET_LEN]);

#endif
