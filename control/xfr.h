/* xfr.h: zone transfers from a primary: SOA refresh query, AXFR (RFC 5936)
 * and IXFR (RFC 1995), with TSIG (RFC 8945) on every message.
 *
 * A blocking client for the secondary zone service: one transfer per
 * thread, all state on the caller's stack or in the result. Every network
 * wait is a poll() bounded by the call's timeout; nothing else blocks. No
 * globals, no signals (sends use MSG_NOSIGNAL), no logging: failures come
 * back as a negative ED_E* code, an xfr_why reason, and a message for
 * people in err that names the primary ("192.0.2.1@53: ...").
 *
 * The bytes from the primary are untrusted: each message is walked by a
 * bounds-checked reader and parsed by ldns; the stream must hold together
 * (same ID and question in every message, SOA of one serial first and
 * last, owners at or below the apex, class IN) and stay within the limits.
 */
#ifndef EDGEDNS_XFR_H
#define EDGEDNS_XFR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <ldns/ldns.h>

/* A TSIG key. name and algorithm in presentation form ("xfr-key.",
 * "hmac-sha256." as ldns names it; "hmac-sha384.", "hmac-sha512."), the
 * secret as raw octets (decoded from base64 by the caller). Not copied. */
struct xfr_tsig {
	const char *name;
	const char *algorithm;
	const uint8_t *secret;
	size_t secret_len;
};

/* Zero fields take the XFR_DEFAULT_* values. */
struct xfr_limits {
	uint64_t max_bytes;      /* octets on the wire, framing included */
	uint64_t max_rrs;        /* RRs received (all of an IXFR's diffs) */
	uint32_t max_rr_size;    /* RDATA octets of one RR */
	unsigned timeout_ms;     /* the whole transfer, connect included */
};
#define XFR_DEFAULT_MAX_BYTES (1024ull << 20)
#define XFR_DEFAULT_MAX_RRS 20000000ull
#define XFR_DEFAULT_MAX_RR_SIZE 65535u
#define XFR_DEFAULT_TIMEOUT_MS 300000u

/* Why a call failed, finer than its ED_E* code (tests and counters branch
 * on it; people read err). */
enum xfr_why {
	XFR_WHY_NONE = 0,
	XFR_WHY_NETWORK,        /* ED_EIO: connect, send or receive failed */
	XFR_WHY_TIMEOUT,        /* ED_ETIMEOUT */
	XFR_WHY_CLOSED,         /* ED_EFORMAT: stream ended before the last SOA */
	XFR_WHY_RCODE,          /* ED_ERCODE: NOTAUTH, REFUSED, NOTIMP... */
	XFR_WHY_MALFORMED,      /* ED_EFORMAT: message not parseable, no QR,
	                           wrong opcode, first RR not the SOA... */
	XFR_WHY_ID,             /* ED_EFORMAT: message ID not the query's */
	XFR_WHY_QUESTION,       /* ED_EFORMAT: question differs from ours */
	XFR_WHY_SERIAL,         /* ED_EFORMAT: SOA of another serial mid-AXFR,
	                           or data after the last SOA */
	XFR_WHY_OUT_OF_ZONE,    /* ED_EFORMAT: owner not at or below the apex */
	XFR_WHY_CLASS,          /* ED_EFORMAT: RR class not IN */
	XFR_WHY_RR_SIZE,        /* ED_ELIMIT: max_rr_size */
	XFR_WHY_MAX_BYTES,      /* ED_ELIMIT */
	XFR_WHY_MAX_RRS,        /* ED_ELIMIT */
	XFR_WHY_TSIG_UNSIGNED,  /* ED_ETSIG: a message without TSIG */
	XFR_WHY_TSIG_BADMAC,    /* ED_ETSIG: MAC does not verify (secret) */
	XFR_WHY_TSIG_KEY,       /* ED_ETSIG: signed with another key name */
	XFR_WHY_TSIG_ALG,       /* ED_ETSIG: another algorithm, truncated MAC */
	XFR_WHY_TSIG_TIME,      /* ED_ETSIG: time signed outside the fudge */
	XFR_WHY_TSIG_MALFORMED, /* ED_ETSIG */
	XFR_WHY_PEER_BADSIG,    /* ED_ETSIG: the primary answered BADSIG */
	XFR_WHY_PEER_BADKEY,    /* ED_ETSIG: ... BADKEY (unknown key name) */
	XFR_WHY_PEER_BADTIME,   /* ED_ETSIG: ... BADTIME (clocks apart) */
	XFR_WHY_PEER_TSIG,      /* ED_ETSIG: ... another TSIG error */
	XFR_WHY_IXFR,           /* ED_EFORMAT: IXFR answer malformed */
	XFR_WHY_IXFR_APPLY,     /* ED_EZONE: diffs do not apply to our zone */
	XFR_WHY_INTERNAL,       /* ED_ENOMEM, ED_EINVAL */
};

/* Short stable name of a reason ("tsig-unsigned", "max-bytes"...). */
const char *xfr_why_name(enum xfr_why w);

/* What an SOA query found. */
struct xfr_soa_info {
	uint32_t serial;
	int aa;                 /* the answer had the AA bit */
	int tsig_verified;      /* signed and verified with the key given */
	int tcp;                /* retried over TCP after TC */
	uint8_t rcode;
	enum xfr_why why;       /* on failure */
	struct {
		int valid;      /* the answer had an EDNS EXPIRE option */
		uint32_t seconds;
	} expire;               /* RFC 7314: what is left of the zone's expiry
	                           at the primary (a secondary itself: less
	                           than SOA EXPIRE) */
	uint64_t soa_hash;      /* xfr_soa_hash() of the SOA found */
	int edns_fallback;      /* the EDNS query was answered FORMERR or
	                           BADVERS: asked again without EDNS */
};

/* Ask primary (len octets of sockaddr_in or sockaddr_in6, port set) for
 * the SOA of zone ("example.com.") over UDP, again over TCP when the
 * answer is truncated, within timeout_ms (0: 5000). The query has an OPT
 * RR with an empty EDNS EXPIRE option (RFC 7314), its value in the answer
 * goes to info->expire; a primary that answers it FORMERR or BADVERS is
 * asked once more without EDNS (info->edns_fallback). tsig NULL: unsigned;
 * else the query is signed and an answer that is unsigned or does not
 * verify is an error. *serial (may be NULL) gets the serial of the apex
 * SOA in the answer section; info (may be NULL) the rest. Returns 0,
 * ED_EIO, ED_ETIMEOUT, ED_ERCODE, ED_ETSIG, ED_EFORMAT (no SOA in the
 * answer, wrong ID or question), ED_EINVAL; err says which, primary first. */
int xfr_soa_query(const struct sockaddr *primary, socklen_t len, const char *zone,
                  const struct xfr_tsig *tsig, unsigned timeout_ms,
                  uint32_t *serial, struct xfr_soa_info *info,
                  char *err, size_t errlen);

/* A 64-bit hash of an SOA's owner and RDATA in canonical form (serial
 * included, TTL not): two SOAs of one serial that hash differently
 * come from different versions of the zone. */
uint64_t xfr_soa_hash(const ldns_rr *soa);

/* Ask primary for the RRset of qtype at the apex of zone, as
 * xfr_soa_query() asks for the SOA (same transport, EDNS and TSIG rules).
 * *rrs (caller frees with ldns_rr_list_deep_free) gets the answer's RRs of
 * that type owned by the apex: empty when the primary has none (NODATA).
 * Returns 0 or the errors of xfr_soa_query() (ED_ERCODE for an error
 * RCODE). Used to cross-check primaries (ZONEMD). */
int xfr_apex_query(const struct sockaddr *primary, socklen_t len, const char *zone,
                   uint16_t qtype, const struct xfr_tsig *tsig, unsigned timeout_ms,
                   ldns_rr_list **rrs, struct xfr_soa_info *info, char *err, size_t errlen);

enum xfr_kind {
	XFR_KIND_NONE = 0,
	XFR_KIND_AXFR,          /* whole zone (also an IXFR answered AXFR-style) */
	XFR_KIND_IXFR,          /* diffs, applied to the caller's zone */
	XFR_KIND_UPTODATE,      /* IXFR: the primary's serial is not newer */
};

/* One step of an IXFR: the RRs deleted from the version with serial
 * `from` (its SOA first) and added to make `to` (its SOA first). */
struct xfr_diff {
	uint32_t from, to;
	ldns_rr_list *del;
	ldns_rr_list *add;
};

/* What a version made by xfr_ixfr_apply_shared() shares with its base:
 * the version's list holds the base's RRs that did not change (the same
 * ldns_rr, not copies) and copies of the added ones. Both NULL: nothing
 * shared (the version owns every RR). */
struct xfr_shared {
	ldns_rr_list *fresh;    /* the version's RRs that are not the base's:
	                           owned through this list */
	ldns_rr_list *gone;     /* the base's RRs the version no longer has
	                           (deleted, replaced, the old SOA): pointers */
};

/* The version is not kept: free zone's list and its own RRs, never the
 * base's. The usual deep free when sh shares nothing. */
void xfr_shared_drop(ldns_rr_list *zone, struct xfr_shared *sh);

/* The version replaces base: free base's list and the RRs in sh->gone;
 * the version's list then owns all its RRs. The usual deep free of base
 * when sh shares nothing. */
void xfr_shared_keep(ldns_rr_list *base, struct xfr_shared *sh);

struct xfr_result {
	enum xfr_kind kind;
	int ixfr_fallback;      /* xfr_update(): IXFR tried, AXFR used */
	char fallback_reason[256];
	uint32_t serial;        /* the primary's serial */
	ldns_rr_list *zone;     /* AXFR, or IXFR applied: every RR of the new
	                           version, SOA first, no trailing SOA. NULL for
	                           UPTODATE. Owned by the result (with what
	                           it shares, from xfr_update_shared()) */
	struct xfr_shared shared;
	struct xfr_diff *diffs; /* xfr_fetch() of an IXFR: the steps */
	size_t ndiffs;
	uint64_t bytes;         /* octets received, framing included */
	uint64_t rrs;           /* RRs received */
	uint64_t messages;      /* DNS messages received */
	unsigned tsig_verified; /* messages whose TSIG verified */
	enum xfr_why why;       /* on failure */
	uint8_t rcode;          /* with XFR_WHY_RCODE */
};

/* Free what a result holds and zero it; safe on a zeroed result. */
void xfr_result_free(struct xfr_result *r);

/* One transfer over TCP. type LDNS_RR_TYPE_AXFR, or LDNS_RR_TYPE_IXFR
 * with current_serial (sent as the SOA in the authority section; the SOA
 * carries only the serial, the other fields zero, as RFC 1995 allows).
 * An IXFR answer comes back as UPTODATE, AXFR (result.zone) or IXFR
 * (result.diffs, not applied). limits NULL: the defaults. out is zeroed
 * first; on failure it keeps the counts and the reason (free it either
 * way). Returns 0, ED_EIO, ED_ETIMEOUT, ED_ERCODE, ED_ETSIG, ED_EFORMAT,
 * ED_ELIMIT, ED_ENOMEM, ED_EINVAL. */
int xfr_fetch(const struct sockaddr *primary, socklen_t len, const char *zone,
              ldns_rr_type type, uint32_t current_serial,
              const struct xfr_tsig *tsig, const struct xfr_limits *limits,
              struct xfr_result *out, char *err, size_t errlen);

/* Apply diffs (n steps, in order) to base (every RR of the zone with
 * serial diffs[0].from, SOA included; not changed). *out: the new zone,
 * SOA first, then the other RRs in canonical order (rrsort.h; TTLs are
 * not compared, an added RR replaces an equal one). Fails with
 * ED_EZONE when base has no SOA, a step's `from` is not the serial
 * reached so far, or a deleted RR is not present: the caller then falls
 * back to AXFR. Returns 0, ED_EZONE, ED_ENOMEM. */
int xfr_ixfr_apply(const ldns_rr_list *base, const struct xfr_diff *diffs, size_t n,
                   ldns_rr_list **out, char *err, size_t errlen);

/* The same as xfr_ixfr_apply() in time proportional to the diffs (plus
 * one copy of the pointer array): *out shares base's unchanged RRs, *sh
 * says which are whose (xfr_shared_drop() / xfr_shared_keep() end it).
 * base must stay unchanged, and not be freed, while *out lives unless
 * through xfr_shared_keep(). Returns as xfr_ixfr_apply(). */
int xfr_ixfr_apply_shared(const ldns_rr_list *base, const struct xfr_diff *diffs, size_t n,
                          ldns_rr_list **out, struct xfr_shared *sh, char *err,
                          size_t errlen);

/* Bring a zone up to date: IXFR from current_serial when current is not
 * NULL (else AXFR); the diffs applied to current give out->zone. Falls
 * back to AXFR when the primary answers NOTIMP or FORMERR, when the IXFR
 * answer is malformed (XFR_WHY_IXFR) or when its diffs do not apply
 * (out->ixfr_fallback set, fallback_reason says why). TSIG failures,
 * limits, timeouts and other stream errors do not fall back. UPTODATE
 * leaves out->zone NULL. A whole zone received (AXFR) is put in the order
 * of an applied IXFR (rrsort_list()). Returns as xfr_fetch(). */
int xfr_update(const struct sockaddr *primary, socklen_t len, const char *zone,
               const ldns_rr_list *current, uint32_t current_serial,
               const struct xfr_tsig *tsig, const struct xfr_limits *limits,
               struct xfr_result *out, char *err, size_t errlen);

/* xfr_update() whose applied IXFR shares current's RRs
 * (xfr_ixfr_apply_shared(); out->shared): current must outlive
 * out->zone, or be handed over with xfr_shared_keep(). */
int xfr_update_shared(const struct sockaddr *primary, socklen_t len, const char *zone,
                      const ldns_rr_list *current, uint32_t current_serial,
                      const struct xfr_tsig *tsig, const struct xfr_limits *limits,
                      struct xfr_result *out, char *err, size_t errlen);

#endif
