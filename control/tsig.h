/* tsig.h: TSIG (RFC 8945) on wire messages: sign a request, verify every
 * message of a response, each MAC chained to the one before.
 *
 * Our own code on OpenSSL's HMAC rather than ldns's ldns_pkt_tsig_*:
 * ldns 1.8.3 misspells hmac-sha384 ("hmac-shac384."), takes the algorithm
 * from the packet instead of the key, checks neither time nor key name,
 * hashes the received ID instead of the original ID, strips whatever RR is
 * last in the additional section, and answers every failure with the same
 * false (no way to tell a wrong key name from a wrong secret).
 *
 * HMAC-SHA256, -SHA384 and -SHA512 only, full-length MACs only (a
 * truncated MAC, RFC 8945 5.2.2.1, is refused). Every message of a
 * response must be signed: RFC 8945 5.3.1 lets a server leave up to 99
 * messages unsigned, but Knot and NSD sign each one and we refuse a stream
 * that does not. Pure functions of their arguments (no I/O, no globals):
 * any thread, one tsig_chain per transfer.
 */
#ifndef EDGEDNS_TSIG_H
#define EDGEDNS_TSIG_H

#include <stddef.h>
#include <stdint.h>

#define TSIG_MAX_MAC 64            /* HMAC-SHA512 */
#define TSIG_FUDGE 300             /* seconds, RFC 8945 10 */
#define TSIG_RR_MAX (255 + 10 + 255 + 16 + TSIG_MAX_MAC + 6) /* RR we add */

/* DNS TSIG error codes in the TSIG RR (RFC 8945 3). */
#define TSIG_E_BADSIG 16
#define TSIG_E_BADKEY 17
#define TSIG_E_BADTIME 18
#define TSIG_E_BADTRUNC 22

struct tsig_key {
	uint8_t name[255];          /* lowercase wire name */
	size_t name_len;
	uint8_t alg[255];           /* lowercase wire name of the algorithm */
	size_t alg_len;
	const char *digest;         /* OpenSSL digest name: "SHA256" ... */
	size_t mac_len;             /* full MAC size of digest */
	const uint8_t *secret;      /* not copied: must outlive the key */
	size_t secret_len;
	char name_text[256];        /* for messages */
};

/* The MAC the next message is chained to, and how many messages of the
 * response were verified. Zero it before signing a request. */
struct tsig_chain {
	uint8_t mac[TSIG_MAX_MAC];
	size_t mac_len;
	unsigned verified;
};

enum tsig_status {
	TSIG_OK = 0,
	TSIG_UNSIGNED,      /* no TSIG RR as the last additional RR */
	TSIG_MALFORMED,     /* TSIG RR not parseable, or not last */
	TSIG_WRONG_KEY,     /* signed with another key name */
	TSIG_WRONG_ALG,     /* signed with another algorithm */
	TSIG_BADMAC,        /* MAC does not verify (wrong secret, altered) */
	TSIG_TRUNCATED_MAC, /* MAC shorter than the algorithm's */
	TSIG_BADTIME,       /* time signed outside the fudge of our clock */
	TSIG_PEER_ERROR,    /* the peer's TSIG RR carries an error code */
};

/* What tsig_verify() found, for messages. */
struct tsig_info {
	uint16_t error;         /* the TSIG RR's error field */
	uint64_t time_signed;
	uint16_t fudge;
	char key[256];          /* key name in the TSIG RR, presentation */
};

/* name: key name in presentation form ("xfr-key." or "xfr-key"),
 * algorithm: "hmac-sha256." (the dot optional; case-insensitive), also
 * "hmac-sha384", "hmac-sha512". Returns 0, ED_EINVAL (bad name, unknown
 * algorithm, empty secret). */
int tsig_key_init(struct tsig_key *k, const char *name, const char *algorithm,
                  const uint8_t *secret, size_t secret_len);

/* Sign the request msg (*len octets, cap octets of room) at time now
 * (seconds since the epoch): appends the TSIG RR, bumps ARCOUNT, *len
 * grows. The MAC is kept in c for the first message of the response.
 * Returns 0, ED_ELIMIT (no room), ED_EINVAL, ED_ENOMEM. */
int tsig_sign(const struct tsig_key *k, struct tsig_chain *c, uint8_t *msg,
              size_t *len, size_t cap, uint64_t now);

/* Verify one message of a response (the first one with the request's MAC
 * and all TSIG variables, later ones with the previous MAC and the timers
 * only, RFC 8945 4.3). On TSIG_OK the chain moves on to this message's
 * MAC. info may be NULL. A message carrying a TSIG error (BADSIG, BADKEY,
 * BADTIME...) gives TSIG_PEER_ERROR with info->error set; such answers
 * are unsigned, so nothing in them is trusted. */
enum tsig_status tsig_verify(const struct tsig_key *k, struct tsig_chain *c,
                             const uint8_t *msg, size_t len, uint64_t now,
                             struct tsig_info *info);

/* Offset of the TSIG RR when it is the last additional RR of msg (the
 * message without it ends there), else 0. */
size_t tsig_find(const uint8_t *msg, size_t len);

/* "BADSIG", "BADKEY", "BADTIME", "BADTRUNC" or "error N" into buf. */
const char *tsig_error_name(uint16_t e, char *buf, size_t n);

#endif
