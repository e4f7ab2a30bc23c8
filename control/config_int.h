/* config_int.h: the private parts of the configuration loader, shared by
 * config.c (sections, references, lookups), config_node.c (cfgn_*: typed
 * values out of YAML nodes, with messages) and config_value.c (cfgv_*: the
 * value syntax on plain strings, no YAML, no messages). Not for other
 * modules. */
#ifndef EDGEDNS_CONFIG_INT_H
#define EDGEDNS_CONFIG_INT_H

#include <stddef.h>
#include <stdint.h>

#include <yaml.h>

#include "config.h"

/* ---- cfgv_*: values from strings ---------------------------------------- */

/* Each returns 0 and sets *out, or -1 (out untouched) when s is not of the
 * form, or overflows 64 bits. No sign, no blanks. */
int cfgv_u64(const char *s, uint64_t *out);       /* decimal digits */
int cfgv_duration(const char *s, uint64_t *out);  /* N, Ns, Nm, Nh, Nd, Nw:
                                                     seconds */
int cfgv_duration_ms(const char *s, uint64_t *out); /* Nms, N[s], Nm, Nh:
                                                       milliseconds */
int cfgv_size(const char *s, uint64_t *out);      /* N, NK, NM, NG (either
                                                     case, 1024-based): bytes */
int cfgv_percent(const char *s, uint64_t *out);   /* N or N% */
int cfgv_bool(const char *s, int *out);           /* true/false, yes/no,
                                                     on/off, any case */

/* "90d", "5m", "1024G": the largest unit that divides v exactly. */
void cfgv_fmt_duration(uint64_t v, char *buf, size_t size);
void cfgv_fmt_size(uint64_t v, char *buf, size_t size);

enum {
	CFGV_BADADDR = -1,   /* not an IPv4 or IPv6 address */
	CFGV_BADPORT = -2,   /* after '@': not 1..65535 */
	CFGV_BADLEN = -3,    /* after '/': not 0..32 or 0..128 */
	CFGV_HOSTBITS = -4,  /* bits set past the prefix length */
};

/* ADDR[@PORT] into *a (port dport when absent). 0 or CFGV_BADADDR,
 * CFGV_BADPORT. */
int cfgv_addr(const char *s, uint16_t dport, struct cfg_addr *a);

/* ADDR or ADDR/LEN into *p. 0 or CFGV_BADADDR, CFGV_BADLEN, CFGV_HOSTBITS
 * (then *p holds the prefix with the host bits cleared, for the message). */
int cfgv_prefix(const char *s, struct cfg_prefix *p);

/* "198.51.100.0/24". */
void cfgv_prefix_str(const struct cfg_prefix *p, char *buf, size_t size);

/* A domain name in presentation form ("." is the root, the final dot is
 * optional, \X and \DDD escapes; bytes <= 0x20 or >= 0x7f must be escaped)
 * into lowercase wire form in wire (256 octets). Returns its length, 0 when
 * invalid. */
size_t cfgv_dname(const char *s, uint8_t *wire);

/* Decode n characters of strict base64 (length a multiple of 4, '='
 * padding only at the end) into out. Returns the octet count, -1 when not
 * base64, -2 when more than cap octets. */
long cfgv_base64(const char *s, size_t n, uint8_t *out, size_t cap);

/* Read the secret file at path (the contract in config.h) into out (at
 * least CFG_SECRET_MAX octets). 0 and *len, or -1 with why (e.g. "'/x'
 * has mode 0644, expected ..."). Nothing of the secret is left in memory
 * besides out. */
int cfgv_read_secret(const char *path, uint8_t *out, size_t *len, char *why, size_t whylen);

/* ---- cfgn_*: values from YAML nodes ------------------------------------- */

#define CFGN_CTX_MAX 112     /* a message context: "zone[3].primary[0].key" */

/* The state of one load. The first error is kept in err (errlen octets) as
 * "path:line: text"; every cfgn_* returning int gives 0 or the ED_* code
 * (ED_EINVAL, ED_ENOMEM) after writing it. */
struct cfgn {
	yaml_document_t *doc;
	const char *path;
	char *err;
	size_t errlen;
	struct cfg *cfg;
};

/* Line of a node, from 1 (NULL: 1). */
unsigned cfgn_line(const yaml_node_t *n);

/* The error "path:line-of-n: fmt..."; returns ED_EINVAL. */
int cfgn_err(struct cfgn *p, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "out of memory" at n; returns ED_ENOMEM. */
int cfgn_nomem(struct cfgn *p, const yaml_node_t *n);
/* printf into a context buffer of CFGN_CTX_MAX octets (cut when longer). */
void cfgn_ctx(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A null: an empty plain scalar, "~" or "null". */
int cfgn_is_null(const yaml_node_t *n);
/* The text of a scalar; NULL for a list, a mapping, a null or text holding
 * a NUL. */
const char *cfgn_text(const yaml_node_t *n);
/* What n holds, for "got ..." in messages: "'text'" (cut, unprintable
 * octets as '?'), "a list", "a mapping" or "nothing". */
const char *cfgn_got(const yaml_node_t *n, char *buf, size_t size);
#define GOT(n) cfgn_got((n), gbuf, sizeof(gbuf))   /* with a local gbuf[80] */

/* The keys a mapping may hold; cfgn_fields() fills key and val. */
struct cfgn_field {
	const char *name;
	yaml_node_t *key, *val;
};
/* Match the keys of mapping map against f[0..nf); not a mapping, a key that
 * is no string, an unknown key or a key twice are errors. ctx "": the top
 * level. */
int cfgn_fields(struct cfgn *p, yaml_node_t *map, const char *ctx, struct cfgn_field *f,
                size_t nf);

/* Lists: check that v is a list (a sequence or a null; with one_ok also a
 * scalar, a list of one) of what; then its length and items. */
int cfgn_check_list(struct cfgn *p, yaml_node_t *v, const char *ctx, int one_ok,
                    const char *what);
size_t cfgn_list_len(const yaml_node_t *v);
yaml_node_t *cfgn_list_at(struct cfgn *p, yaml_node_t *v, size_t i);
/* The context of item i of list ctx into buf (CFGN_CTX_MAX): "ctx[i]", or
 * ctx when v is a scalar. */
void cfgn_item_ctx(char *buf, const char *ctx, const yaml_node_t *v, size_t i);

/* Typed values; what: "an acl id" for the message "ctx: expected what, got
 * ...". A string is non-empty, without control characters, and strdup()ed
 * into *out (an old *out freed). */
int cfgn_str(struct cfgn *p, yaml_node_t *v, const char *ctx, const char *what, char **out);
/* An absolute path; maxlen != 0: at most that many characters. */
int cfgn_path(struct cfgn *p, yaml_node_t *v, const char *ctx, size_t maxlen, char **out);
int cfgn_bool(struct cfgn *p, yaml_node_t *v, const char *ctx, int *out);

enum cfgn_kind { CFGN_NUM, CFGN_DURATION, CFGN_SIZE, CFGN_PERCENT };
/* A number of the kind in [min, max] (seconds, bytes, percent). */
int cfgn_num(struct cfgn *p, yaml_node_t *v, const char *ctx, enum cfgn_kind k, uint64_t min,
             uint64_t max, uint64_t *out);
/* ADDR[@PORT], port 53 by default. */
int cfgn_addr(struct cfgn *p, yaml_node_t *v, const char *ctx, struct cfg_addr *a);
/* ADDR or ADDR/LEN, no bits set past LEN. */
int cfgn_prefix(struct cfgn *p, yaml_node_t *v, const char *ctx, struct cfg_prefix *pf);
/* A domain name into lowercase wire form (256 octets) and *len. */
int cfgn_dname(struct cfgn *p, yaml_node_t *v, const char *ctx, const char *what,
               uint8_t *wire, size_t *len);

/* config_anycast.c: the service list and the bgp mapping (l, m may be
 * NULL: absent); cfg_anycast_free() frees what they filled. */
int cfg_parse_services(struct cfgn *p, yaml_node_t *l);
int cfg_parse_bgp(struct cfgn *p, yaml_node_t *m);
void cfg_anycast_free(struct cfg *c);

#endif
