/* rrl.h: response rate limiting (RRL) against reflection and amplification.
 *
 * A token bucket per client prefix (IPv4 /24 and IPv6 /56 by default): each
 * UDP response costs one token, tokens come back at `rate` per second up to
 * `burst`. A response over the limit is dropped, or every `slip`th one is
 * sent truncated (TC, no records) so that a real client behind a spoofed
 * prefix still gets through by retrying over TCP.
 *
 * One table per lcore: no sharing, no atomics read-modify-write, no lock.
 * rrl_new()/rrl_free() allocate and run at start and stop; rrl_check(),
 * rrl_prefetch() and rrl_truncate() never allocate, lock, log or call the
 * kernel, and are called only by the lcore owning the table. rrl_stats()
 * may be called from any thread.
 *
 * Rates are per table. Queries from one client reach every lcore when RSS
 * hashes on ports too, so the effective limit of a prefix is up to
 * (lcores x rate): the caller divides the configured rate by the number of
 * answering lcores, or steers by source address.
 */
#ifndef EDGEDNS_RRL_H
#define EDGEDNS_RRL_H

#include <stddef.h>
#include <stdint.h>

#define RRL_RATE_DEFAULT 200      /* responses/s per prefix, as NSD's rrl-ratelimit */
#define RRL_SLIP_DEFAULT 2
#define RRL_V4_PREFIX_DEFAULT 24
#define RRL_V6_PREFIX_DEFAULT 56
#define RRL_TABLE_DEFAULT 65536u  /* buckets: 2 MiB */
#define RRL_RATE_MAX 1000000u     /* rate and burst: tokens are kept in 1/1000ths in 32 bits */
#define RRL_SLIP_MAX 255u
#define RRL_TABLE_MAX (1u << 24)  /* buckets: 512 MiB */

struct rrl_conf {
	uint32_t rate;        /* responses per second per prefix; 0 = RRL off */
	uint32_t burst;       /* bucket depth in responses; 0 = same as rate */
	uint32_t slip;        /* 0: drop every limited response; 1: send every one
	                         truncated; N: every Nth truncated, others dropped */
	uint8_t v4_prefix;    /* 1..32; 0 = RRL_V4_PREFIX_DEFAULT */
	uint8_t v6_prefix;    /* 1..128; 0 = RRL_V6_PREFIX_DEFAULT */
	uint32_t table_size;  /* buckets, rounded up to a power of two;
	                         0 = RRL_TABLE_DEFAULT */
};

/* Defaults: rate 200/s, burst 0 (= rate), slip 2, /24, /56, 65536 buckets. */
void rrl_conf_defaults(struct rrl_conf *c);

/* Check a configuration: 0, or ED_EINVAL with a message in err (errlen
 * octets, may be NULL) naming the field. For the config loader. */
int rrl_conf_check(const struct rrl_conf *c, char *err, size_t errlen);

struct rrl_table;

/* A table for one lcore, every bucket empty. seed: random at start (e.g.
 * getrandom()); it keys the bucket hash so that an attacker who does not
 * know it cannot aim a flood at the bucket of another prefix. Allocates
 * (at start only). NULL when the configuration fails rrl_conf_check() or
 * memory runs out. A table with rate 0 holds no buckets and passes all. */
struct rrl_table *rrl_new(const struct rrl_conf *c, uint64_t seed);

/* Free a table (NULL is fine). */
void rrl_free(struct rrl_table *t);

enum rrl_verdict {
	RRL_PASS = 0,   /* send the response */
	RRL_DROP,       /* send nothing */
	RRL_SLIP,       /* send rrl_truncate() of the response */
};

/* Account one response to addr's prefix and say what to do with it.
 * family: AF_INET (addr: 4 octets) or AF_INET6 (16 octets, network order);
 * an IPv4-mapped IPv6 address (::ffff:0:0/96) counts as its IPv4 address.
 * Any other family passes. now_ms: a monotonic millisecond clock, read once
 * per burst; a clock that goes backwards refills nothing until it passes
 * its highest value again.
 * Call it for UDP responses only (TCP clients are not spoofed).
 * Owner lcore only; no allocation, lock, syscall or log. */
enum rrl_verdict rrl_check(struct rrl_table *t, int family, const uint8_t *addr,
                           uint64_t now_ms);

/* Prefetch the bucket rrl_check() will use for addr, so that a burst's
 * cache misses overlap: prefetch the whole burst, then check each. */
void rrl_prefetch(const struct rrl_table *t, int family, const uint8_t *addr);

/* Counters since rrl_new(); limited = slipped + dropped. */
struct rrl_stats {
	uint64_t passed, limited, slipped, dropped;
};

/* Copy the table's counters. Any thread: the owner lcore stores each
 * counter with a relaxed atomic store, so no value is torn, but the four
 * are not one snapshot (limited may lag passed by a response or two). */
void rrl_stats(const struct rrl_table *t, struct rrl_stats *out);

/* Cut a response down in place to what a slipped answer carries: the
 * header with TC set and AN/NS/AR counts zeroed, the question (QDCOUNT 0
 * or 1), and the response's OPT record, if any, without its options (so
 * the client still sees EDNS, its extended rcode and DO; RFC 6891 7).
 * The flags, rcode and ID are kept. Reads only resp[0..len).
 * Returns the new length, or 0 when the response does not parse (send
 * nothing then). No allocation; any lcore. */
size_t rrl_truncate(uint8_t *resp, size_t len);

#endif
