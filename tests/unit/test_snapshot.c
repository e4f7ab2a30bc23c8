/* test_snapshot.c: the snapshot writer and reader: one test per format rule. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dname.h"
#include "error.h"
#include "snapshot.h"
#include "snapshot_writer.h"

#define T_A 1
#define T_NS 2
#define T_CNAME 5
#define T_SOA 6
#define T_MX 15
#define T_TXT 16
#define T_DNAME 39
#define T_DS 43
#define T_RRSIG 46
#define T_NSEC 47
#define T_DNSKEY 48
#define T_NSEC3 50
#define T_NSEC3PARAM 51

/* ---- helpers ---------------------------------------------------------- */

static size_t wire(const char *s, uint8_t *out)
{
	size_t n = dname_from_str(s, out);
	assert_true(n > 0);
	return n;
}

static int add_rc(struct snapw *w, const char *owner, uint16_t type, uint32_t ttl,
                  const uint8_t *rd, size_t rdlen)
{
	uint8_t o[DNAME_MAXLEN];
	wire(owner, o);
	return snapw_add_rr(w, o, type, 1, ttl, rd, (uint16_t)rdlen);
}

static void add(struct snapw *w, const char *owner, uint16_t type, uint32_t ttl,
                const uint8_t *rd, size_t rdlen)
{
	assert_int_equal(add_rc(w, owner, type, ttl, rd, rdlen), 0);
}

static void add_name(struct snapw *w, const char *owner, uint16_t type, const char *target)
{
	uint8_t rd[DNAME_MAXLEN];
	add(w, owner, type, 3600, rd, wire(target, rd));
}

static void add_a(struct snapw *w, const char *owner, uint32_t ttl, uint8_t last)
{
	uint8_t rd[4] = { 192, 0, 2, last };
	add(w, owner, T_A, ttl, rd, 4);
}

static void add_mx(struct snapw *w, const char *owner, uint16_t pref, const char *target)
{
	uint8_t rd[2 + DNAME_MAXLEN];
	rd[0] = (uint8_t)(pref >> 8);
	rd[1] = (uint8_t)pref;
	add(w, owner, T_MX, 3600, rd, 2 + wire(target, rd + 2));
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void add_soa(struct snapw *w, const char *owner, uint32_t ttl, const char *mname,
                    const char *rname, uint32_t serial, uint32_t minimum)
{
	uint8_t rd[2 * DNAME_MAXLEN + 20];
	size_t n = wire(mname, rd);
	n += wire(rname, rd + n);
	put32(rd + n, serial);
	put32(rd + n + 4, 7200);
	put32(rd + n + 8, 3600);
	put32(rd + n + 12, 1209600);
	put32(rd + n + 16, minimum);
	add(w, owner, T_SOA, ttl, rd, n + 20);
}

static void add_rrsig(struct snapw *w, const char *owner, uint16_t covered, uint8_t tag)
{
	uint8_t rd[18 + DNAME_MAXLEN + 4];
	memset(rd, 0, 18);
	rd[0] = (uint8_t)(covered >> 8);
	rd[1] = (uint8_t)covered;
	rd[2] = 8;
	rd[16] = tag;
	size_t n = 18 + wire("example.", rd + 18);
	memcpy(rd + n, "sig", 3);
	add(w, owner, T_RRSIG, 3600, rd, n + 3);
}

static void add_nsec(struct snapw *w, const char *owner, const char *next)
{
	uint8_t rd[DNAME_MAXLEN + 3];
	size_t n = wire(next, rd);
	rd[n] = 0;
	rd[n + 1] = 1;
	rd[n + 2] = 0x40;
	add(w, owner, T_NSEC, 3600, rd, n + 3);
}

static const uint8_t salt[4] = { 0xaa, 0xbb, 0xcc, 0xdd };

static void add_nsec3(struct snapw *w, const char *owner)
{
	uint8_t rd[5 + 4 + 1 + 20 + 3];
	rd[0] = 1;
	rd[1] = 0;
	rd[2] = 0;
	rd[3] = 12;
	rd[4] = 4;
	memcpy(rd + 5, salt, 4);
	rd[9] = 20;
	memset(rd + 10, 0x11, 20);
	rd[30] = 0;
	rd[31] = 1;
	rd[32] = 0x40;
	add(w, owner, T_NSEC3, 3600, rd, sizeof(rd));
}

/* A zone with apex SOA and NS. */
static struct snapw *zone_new(const char *apex)
{
	uint8_t a[DNAME_MAXLEN];
	wire(apex, a);
	struct snapw *w = snapw_new(a);
	assert_non_null(w);
	char mname[300], rname[300];
	snprintf(mname, sizeof(mname), "ns1.%s", apex);
	snprintf(rname, sizeof(rname), "hostmaster.%s", apex);
	add_soa(w, apex, 3600, mname, rname, 2024010101, 300);
	add_name(w, apex, T_NS, mname);
	return w;
}

/* Build in memory and open; the image stays in *img (free it). */
static struct snap *build_open(struct snapw *w, void **img, size_t *len)
{
	char err[256] = "";
	struct snap *s = NULL;
	int rc = snapw_build(w, img, len, NULL, err, sizeof(err));
	if (rc != 0)
		fail_msg("build: %d %s", rc, err);
	rc = snap_open_mem(*img, *len, 0, &s, err, sizeof(err));
	if (rc != 0)
		fail_msg("open: %d %s", rc, err);
	return s;
}

static const struct snap_node *lookup(const struct snap *s, const char *name)
{
	uint8_t n[DNAME_MAXLEN];
	size_t len = wire(name, n);
	dname_lower(n, n, len);
	return snap_lookup(s, n, len, dname_hash(n));
}

static uint32_t idx(const struct snap *s, const char *name)
{
	const struct snap_node *n = lookup(s, name);
	if (n == NULL)
		fail_msg("%s not found", name);
	return (uint32_t)(n - s->nodes);
}

static const struct snap_rrset *find(const struct snap *s, const char *name, uint16_t type)
{
	const struct snap_node *n = lookup(s, name);
	assert_non_null(n);
	return snap_node_find(s, n, type);
}

/* rdata of the first RR of a set, and its length. */
static const uint8_t *rdata0(const struct snap_rrset *rs, size_t *len)
{
	const uint8_t *w = snap_rrset_wire(rs);
	*len = (size_t)(w[10] << 8 | w[11]);
	return w + 12;
}

/* ---- node tree ---------------------------------------------------------- */

static void test_ent_creation(void **state)
{
	(void)state;
	struct snapw *w = zone_new("example.");
	add_a(w, "a.b.c.example.", 300, 1);
	add_a(w, "x.c.example.", 300, 2);
	void *img;
	size_t len;
	struct snap *s = build_open(w, &img, &len);
	assert_int_equal(s->hdr->ncanon, 5);
	const struct snap_node *c = lookup(s, "c.example.");
	const struct snap_node *b = lookup(s, "b.c.example.");
	assert_non_null(c);
	assert_non_null(b);
	assert_int_equal(c->flags, SNAP_N_ENT);
	assert_int_equal(c->nrrsets, 0);
	assert_int_equal(c->rrsets, 0);
	assert_int_equal(b->flags, SNAP_N_ENT);
	assert_int_equal(lookup(s, "a.b.c.example.")->flags, 0);
	assert_int_equal(lookup(s, "a.b.c.example.")->nlabels, 4);
	assert_int_equal(lookup(s, "a.b.c.example.")->namelen, 15);
	snap_close(s);
	free(img);
	snapw_free(w);
}

static void test_canonical_order(void **state)
{
	(void)state;
	/* RFC 4034 6.1 example, fed in scrambled order and mixed case. */
	static const char *order[] = {
		"example.", "a.example.", "yljkjljk.a.example.", "Z.a.example.",
		"zABC.a.EXAMPLE.", "z.example.", "\\001.z.example.", "*.z.example.",
		"\\200.z.example.",
	};
	struct snapw *w = zone_new("example.");
	static const int feed[] = { 8, 3, 6, 1, 7, 4, 2, 5 };
	for (size_t i = 0; i < sizeof(feed) / sizeof(feed[0]); i++)
		add_a(w, order[feed[i]], 300, (uint8_t)i);
	void *img;
	size_t len;
	struct snap *s = build_open(w, &img, &len);
	assert_int_equal(s->hdr->ncanon, 9);
	for (uint32_t i = 0; i < 9; i++) {
		uint8_t n[DNAME_MAXLEN];
		size_t l = wire(order[i], n);
		dname_lower(n, n, l);
		assert_int_equal(s->nodes[i].namelen, l);
		assert_memory_equal(snap_node_name(s, &s->nodes[i]), n, l);
	}
	assert_int_equal(s->nodes[0].flags & SNAP_N_APEX, SNAP_N_APEX);
	snap_close(s);
	free(img);
	snapw_free(w);
}

static void test_flags(void **state)
{
	(void)state;
	struct snapw *w = zone_new("example.");
	uint8_t ds[8] = { 1, 2, 8, 2, 9, 9, 9, 9 };
	add_name(w, "sub.example.", T_NS, "ns.sub.example.");
	add(w, "sub.example.", T_DS, 3600, ds, sizeof(ds));
	add_name(w, "nods.example.", T_NS, "ns.other.net.");
	add_name(w, "d.example.", T_DNAME, "example.net.");
	add_name(w, "www.example.", T_CNAME, "web.example.");
	add_a(w, "*.example.", 300, 1);
	add_nsec(w, "web.example.", "example.");
	add_a(w, "web.example.", 300, 2);
	void *img;
	size_t len;
	struct snap *s = build_open(w, &img, &len);
	assert_int_equal(lookup(s, "example.")->flags, SNAP_N_APEX);
	assert_int_equal(lookup(s, "sub.example.")->flags, SNAP_N_DELEG | SNAP_N_HAS_DS);
	assert_int_equal(lookup(s, "nods.example.")->flags, SNAP_N_DELEG);
	assert_int_equal(lookup(s, "d.example.")->flags, SNAP_N_DNAME);
	assert_int_equal(lookup(s, "www.example.")->flags, SNAP_N_CNAME);
	assert_int_equal(lookup(s, "*.example.")->flags, SNAP_N_WILD);
	assert_int_equal(lookup(s, "web.example.")->flags, SNAP_N_NSEC);
	assert_true(s->hdr->flags & SNAP_F_NSEC);
	assert_false(s->hdr->flags & SNAP_F_SIGNED);
	/* The node's list is sorted by type. */
	const struct snap_node *web = lookup(s, "web.example.");
	const struct snap_rrset *r0 = snap_rrset_at(s, web->rrsets);
	assert_int_equal(r0->type, T_A);
	assert_int_equal(snap_rrset_at(s, snap_rrset_next(web->rrsets, r0))->type, T_NSEC);
	snap_close(s);
	free(img);
	snapw_free(w);
}

static void test_cut_and_wild_links(void **state)
{
	(void)state;
	struct snapw *w = zone_new("example.");
	add_name(w, "sub.example.", T_NS, "ns.sub.example.");
	add_a(w, "ns.sub.example.", 300, 1);
	add_a(w, "deep.ns.sub.example.", 300, 2);
	add_name(w, "d.example.", T_DNAME, "example.net.");
	add_a(w, "x.d.example.", 300, 3);
	add_a(w, "*.example.", 300, 4);
	add_a(w, "*.w.example.", 300, 5);
	add_a(w, "w.example.", 300, 6);
	add_name(w, "sub2.example.", T_NS, "ns.sub.example.");
	add_name(w, "x.sub2.example.", T_NS, "ns.sub.example."); /* below a cut */
	add_a(w, "y.x.sub2.example.", 300, 7);
	void *img;
	size_t len;
	struct snap *s = build_open(w, &img, &len);
	uint32_t sub = idx(s, "sub.example.");
	assert_int_equal(lookup(s, "sub.example.")->cut, 0);
	assert_int_equal(lookup(s, "ns.sub.example.")->cut, sub + 1);
	assert_int_equal(lookup(s, "deep.ns.sub.example.")->cut, sub + 1);
	assert_int_equal(lookup(s, "x.d.example.")->cut, idx(s, "d.example.") + 1);
	/* nearest strict ancestor: x.sub2 is DELEG itself, y is cut by x.sub2 */
	assert_int_equal(lookup(s, "x.sub2.example.")->cut, idx(s, "sub2.example.") + 1);
	assert_int_equal(lookup(s, "y.x.sub2.example.")->cut, idx(s, "x.sub2.example.") + 1);
	assert_int_equal(lookup(s, "w.example.")->cut, 0);
	assert_int_equal(lookup(s, "example.")->wild, idx(s, "*.example.") + 1);
	assert_int_equal(lookup(s, "w.example.")->wild, idx(s, "*.w.example.") + 1);
	assert_int_equal(lookup(s, "sub.example.")->wild, 0);
	snap_close(s);
	free(img);
	snapw_free(w);
}

static void test_hash_lookup(void **state)
{
	(void)state;
	struct snapw *w = zone_new("example.");
	char name[64];
	for (int i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "h%d.example.", i);
		add_a(w, name, 300, (uint8_t)i);
	}
	add_nsec3(w, "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example.");
	void *img;
	size_t len;
	struct snap *s = build_open(w, &img, &len);
	assert_int_equal(s->hdr->ncanon, 201);
	assert_true(s->hdr->table_slots >= 2 * 201);
	assert_true(s->hdr->max_probe >= 1);
	for (int i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "H%d.Example.", i);
		const struct snap_node *n = lookup(s, name);
		assert_non_null(n);
		assert_true(n - s->nodes < s->hdr->ncanon);
	}
	assert_non_null(lookup(s, "example."));
	assert_null(lookup(s, "h200.example."));
	assert_null(lookup(s, "nope.example."));
	assert_null(lookup(s, "example.com."));
	/* NSEC3 owners are not in the index. */
	assert_null(lookup(s, "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example."));
	snap_close(s);
	free(img);
	snapw_free(w);
}

/* ---- rrset wire --------------------------------------------------------- */

static void test_compression(void **state)
{
	(void)state;
	struct snapw *w = snapw_new((const uint8_t *)"\7example\0");
	add_soa(w, "example.", 3600, "ns1.example.", "Hostmaster.EXAMPLE.", 7, 300);
	add_name(w, "example.", T_NS, "ns1.example.");
	add_name(w, "example.", T_NS, "ns.other.net.");
	add_mx(w, "example.", 10, "Mail.Example.");
	add_name(w, "www.example.", T_CNAME, "web.example.");
	add_name(w, "sub.example.", T_NS, "sub.example.");
	add_name(w, "sub.example.", T_NS, "a.b.sub.example.");
	uint8_t txt[] = { 3, 0xc0, 0x0c, 'x' };
	add(w, "t.example.", T_TXT, 60, txt, sizeof(txt));
	void *img;
	size_t len;
	struct snap *s = build_open(w, &img, &len);
	size_t n;
	const uint8_t *rd;

	/* SOA: both names compressed against the owner, case kept. */
	const struct snap_rrset *soa = find(s, "example.", T_SOA);
	assert_int_equal(soa->flags, SNAP_RRSET_RELOC);
	assert_int_equal(s->hdr->soa, (uint32_t)((const uint8_t *)soa - s->blob));
	rd = rdata0(soa, &n);
	static const uint8_t soa_names[] = "\3ns1\xc0\x0c\12Hostmaster\xc0\x0c";
	assert_int_equal(n, sizeof(soa_names) - 1 + 20);
	assert_memory_equal(rd, soa_names, sizeof(soa_names) - 1);
	assert_int_equal(s->hdr->serial, 7);
	assert_int_equal(s->hdr->neg_ttl, 300);

	/* Full wire of the apex NS set: owner pointer, type, class, ttl. */
	const struct snap_rrset *ns = find(s, "example.", T_NS);
	assert_int_equal(s->hdr->apex_ns, (uint32_t)((const uint8_t *)ns - s->blob));
	assert_int_equal(ns->count, 2);
	static const uint8_t ns_wire[] =
		"\xc0\x0c\x00\x02\x00\x01\x00\x00\x0e\x10\x00\x06\3ns1\xc0\x0c"
		"\xc0\x0c\x00\x02\x00\x01\x00\x00\x0e\x10\x00\x0e\2ns\5other\3net\0";
	assert_int_equal(ns->wlen, sizeof(ns_wire) - 1);
	assert_memory_equal(snap_rrset_wire(ns), ns_wire, sizeof(ns_wire) - 1);

	rd = rdata0(find(s, "example.", T_MX), &n);
	assert_int_equal(n, 9);
	assert_memory_equal(rd, "\0\12\4Mail\xc0\x0c", 9);

	/* CNAME www.example -> web.example: suffix "example" at offset 4. */
	const struct snap_rrset *cn = find(s, "www.example.", T_CNAME);
	rd = rdata0(cn, &n);
	assert_int_equal(n, 6);
	assert_memory_equal(rd, "\3web\xc0\x10", 6);
	assert_int_equal(cn->flags, SNAP_RRSET_RELOC);

	/* Name equal to the owner: a bare pointer; a longer one: labels+pointer. */
	const struct snap_rrset *sns = find(s, "sub.example.", T_NS);
	rd = rdata0(sns, &n);
	assert_int_equal(n, 2);
	assert_memory_equal(rd, "\xc0\x0c", 2);
	const uint8_t *w2 = snap_rrset_wire(sns) + 14 + 2;
	assert_memory_equal(w2, "\x00\x02\x00\x01\x00\x00\x0e\x10\x00\x06\1a\1b\xc0\x0c", 16);

	/* Other types: verbatim, no RELOC. */
	const struct snap_rrset *t = find(s, "t.example.", T_TXT);
	assert_int_equal(t->flags, 0);
	rd = rdata0(t, &n);
	assert_int_equal(n, sizeof(txt));
	assert_memory_equal(rd, txt, sizeof(txt));
	snap_close(s);
	free(img);
	snapw_free(w);
}

static void test_no_common_suffix_uncompressed(void **state)
{
	(void)state;
	struct snapw *w = zone_new("example.");
	add_name(w, "sub.example.", T_NS, "ns.other.net.");
	void *img;
	size_t len;
	struct snap *s = build_open(w, &img, &len);
	const struct snap_rrset *rs = find(s, "sub.example.", T_NS);
	size_t n;
	const uint8_t *rd = rdata0(rs, &n);
	assert_int_equal(rs->flags, 0);
	assert_int_equal(n, 14);
	assert_memory_equal(rd, "\2ns\5other\3net\0", 14);
	snap_close(s);
	free(img);
	snapw_free(w);
}

static void test_set_ttl_and_order(void **state)
{
	(void)state;
	struct snapw *w = zone_new("example.");
	add_a(w, "a.example.", 300, 3);
	add_a(w, "a.example.", 900, 1);
	add_a(w, "a.example.", 60, 2);
	void *img;
	size_t len;
	struct snap *s = build_open(w, &img, &len);
	const struct snap_rrset *rs = find(s, "a.example.", T_A);
	assert_int_equal(rs->count, 3);
	assert_int_equal(rs->ttl, 300);
	const uint8_t *p = snap_rrset_wire(rs);
	static const uint8_t last[3] = { 3, 1, 2 };
	for (int i = 0; i < 3; i++, p += 16) {
		assert_memory_equal(p + 6, "\0\0\x01\x2c", 4);
		assert_int_equal(p[15], last[i]);
	}
	snap_close(s);
	free(img);
	snapw_free(w);
}

static void test_rrsig_attachment(void **state)
{
	(void)state;
	struct snapw *w = zone_new("example.");
	add_rrsig(w, "a.example.", T_A, 1);
	add_a(w, "a.example.", 300, 1);
	add_rrsig(w, "a.example.", T_A, 2);
	add_rrsig(w, "a.example.", T_MX, 3);     /* covers nothing: dropped */
	add_a(w, "a.example.", 300, 2);
	add_rrsig(w, "example.", T_SOA, 4);
	void *img;
	size_t len;
	struct snap *s = build_open(w, &img, &len);
	assert_true(s->hdr->flags & SNAP_F_SIGNED);
	const struct snap_node *a = lookup(s, "a.example.");
	assert_int_equal(a->nrrsets, 1);
	assert_null(snap_node_find(s, a, T_RRSIG));
	const struct snap_rrset *rs = snap_node_find(s, a, T_A);
	assert_non_null(rs);
	assert_int_not_equal(rs->sigs, 0);
	const struct snap_rrset *sig = snap_rrset_at(s, rs->sigs);
	assert_int_equal(sig->type, T_RRSIG);
	assert_int_equal(sig->count, 2);
	assert_int_equal(sig->sigs, 0);
	const uint8_t *p = snap_rrset_wire(sig);
	assert_memory_equal(p, "\xc0\x0c\x00\x2e", 4);
	assert_int_equal(p[12 + 16], 1);    /* insertion order kept */
	assert_int_equal(find(s, "example.", T_NS)->sigs, 0);
	assert_int_not_equal(find(s, "example.", T_SOA)->sigs, 0);
	/* 2 SOA/NS + 2 A + 3 RRSIGs kept; the orphan is not in the file. */
	assert_int_equal(s->hdr->nrrs, 7);
	assert_int_equal(s->hdr->nrrsets, 3);
	snap_close(s);
	free(img);
	snapw_free(w);
}

/* ---- chains ------------------------------------------------------------- */

static void test_nsec_links(void **state)
{
	(void)state;
	struct snapw *w = zone_new("example.");
	add_nsec(w, "example.", "a.example.");
	add_nsec(w, "a.example.", "*.a.example.");
	add_nsec(w, "*.a.example.", "c.example.");
	add_nsec(w, "c.example.", "!.c.example.");
	add_nsec(w, "!.c.example.", "x.y.example.");
	add_nsec(w, "x.y.example.", "example.");
	void *img;
	size_t len;
	struct snap *s = build_open(w, &img, &len);
	assert_true(s->hdr->flags & SNAP_F_NSEC);
	/* example, a, *.a, c, !.c, y (ENT), x.y */
	static const char *names[] = { "example.", "a.example.", "*.a.example.", "c.example.",
	                               "!.c.example.", "y.example.", "x.y.example." };
	static const uint32_t nsec[] = { 1, 2, 3, 4, 5, 5, 7 };
	/* *.example: after example, before a -> example; *.a exists -> its own;
	 * *.*.a -> *.a; *.c: after !.c -> !.c; *.!.c -> !.c; *.y -> y (nsec 5);
	 * *.x.y -> x.y. */
	static const uint32_t wnsec[] = { 1, 3, 3, 5, 5, 5, 7 };
	for (uint32_t i = 0; i < 7; i++) {
		assert_int_equal(idx(s, names[i]), i);
		assert_int_equal(s->nodes[i].nsec, nsec[i]);
		assert_int_equal(s->nodes[i].wnsec, wnsec[i]);
	}
	assert_int_equal(lookup(s, "y.example.")->flags, SNAP_N_ENT);
	snap_close(s);
	free(img);
	snapw_free(w);
}

/* NSEC3 chains the engine will not hash per answer: another algorithm, or
 * more than SNAP_NSEC3_ITERS_MAX iterations (RFC 9276). */
static void test_nsec3_params_refused(void **state)
{
	(void)state;
	static const uint8_t bad[2][5] = {
		{ 1, 0, (SNAP_NSEC3_ITERS_MAX + 1) >> 8, (SNAP_NSEC3_ITERS_MAX + 1) & 0xff, 0 },
		{ 2, 0, 0, 0, 0 },
	};
	for (int i = 0; i < 2; i++) {
		struct snapw *w = zone_new("example.");
		add(w, "example.", T_NSEC3PARAM, 0, bad[i], sizeof(bad[i]));
		void *img = NULL;
		size_t len = 0;
		char err[256] = "";
		assert_int_equal(snapw_build(w, &img, &len, NULL, err, sizeof(err)), ED_EZONE);
		assert_non_null(strstr(err, "NSEC3"));
		free(img);
		snapw_free(w);
	}
	/* the limit itself is served */
	struct snapw *w = zone_new("example.");
	uint8_t ok[5] = { 1, 0, SNAP_NSEC3_ITERS_MAX >> 8, SNAP_NSEC3_ITERS_MAX & 0xff, 0 };
	add(w, "example.", T_NSEC3PARAM, 0, ok, sizeof(ok));
	void *img;
	size_t len;
	struct snap *s = build_open(w, &img, &len);
	assert_int_equal(s->hdr->nsec3_iters, SNAP_NSEC3_ITERS_MAX);
	snap_close(s);
	free(img);
	snapw_free(w);
}

static void test_nsec3_table(void **state)
{
	(void)state;
	/* RFC 5155 appendix A parameters and hashes. */
	struct snapw *w = zone_new("example.");
	uint8_t param[] = { 1, 0, 0, 12, 4, 0xaa, 0xbb, 0xcc, 0xdd };
	add(w, "example.", T_NSEC3PARAM, 0, param, sizeof(param));
	add_name(w, "a.example.", T_NS, "ns1.a.example.");
	add_a(w, "ns1.example.", 300, 1);
	add_a(w, "w.example.", 300, 2);
	add_a(w, "n29.example.", 300, 3);
	add_nsec3(w, "K8UDEMVP1J2F7EG6JEBPS17VP3N8I58H.example.");   /* w */
	add_rrsig(w, "k8udemvp1j2f7eg6jebps17vp3n8i58h.example.", T_NSEC3, 9);
	add_nsec3(w, "35mthgpgcu1qg68fab165klnsnk3dpvl.example.");   /* a */
	add_nsec3(w, "2t7b4g4vsa5smi47k61mv5bv1a22bojr.example.");   /* ns1 */
	add_nsec3(w, "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example.");   /* apex */
	add_a(w, "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example.", 300, 4); /* also data */
	void *img;
	size_t len;
	struct snap *s = build_open(w, &img, &len);
	const struct snap_header *h = s->hdr;
	assert_true(h->flags & SNAP_F_NSEC3);
	assert_false(h->flags & SNAP_F_NSEC);
	assert_int_equal(h->nsec3_alg, 1);
	assert_int_equal(h->nsec3_iters, 12);
	assert_int_equal(h->nsec3_saltlen, 4);
	assert_memory_equal(h->nsec3_salt, salt, 4);
	assert_int_equal(h->nnsec3, 4);
	assert_int_equal(h->nnodes, h->ncanon + 4);
	static const char *hex[] = {
		"\x06\x53\x68\xab\xee\xd7\xec\x6e\x9f\xeb\xa9\x6b\x8c\x8b\xc3\xe8\xb7\x91\xf7\x16",
		"\x17\x4e\xb2\x40\x9f\xe2\x8b\xcb\x48\x87\xa1\x83\x6f\x95\x7f\x0a\x84\x25\xe2\x7b",
		"\x19\x6d\xd8\xc3\x30\x67\x83\xa8\x19\x0f\x52\xc2\x62\xd2\xb7\xe5\xe8\x36\xe7\xf5",
		"\xa2\x3c\xd7\x5b\xf9\x0c\xc4\xf3\xba\x06\x9b\x97\x9e\x04\xff\xc8\xee\x89\x15\x11",
	};
	for (uint32_t i = 0; i < 4; i++) {
		assert_memory_equal(s->nsec3[i].hash, hex[i], 20);
		assert_int_equal(s->nsec3[i].node, h->ncanon + i);
		const struct snap_node *n = &s->nodes[h->ncanon + i];
		assert_int_equal(n->flags, SNAP_N_NSEC3);
		assert_int_equal(n->nrrsets, 1);
		assert_int_equal(snap_rrset_at(s, n->rrsets)->type, T_NSEC3);
	}
	/* The RRSIG over NSEC3 went with it. */
	const struct snap_node *k8 = &s->nodes[h->ncanon + 3];
	assert_int_not_equal(snap_rrset_at(s, k8->rrsets)->sigs, 0);
	/* The NSEC3 owner with other data also has a canonical node, without NSEC3. */
	const struct snap_node *d = lookup(s, "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example.");
	assert_non_null(d);
	assert_null(snap_node_find(s, d, T_NSEC3));
	assert_non_null(snap_node_find(s, d, T_A));
	/* Links: nsec = entry equal to H(name); wnsec = entry covering H(*.name). */
	assert_int_equal(lookup(s, "example.")->nsec, 1);
	assert_int_equal(lookup(s, "ns1.example.")->nsec, 2);
	assert_int_equal(lookup(s, "a.example.")->nsec, 3);
	assert_int_equal(lookup(s, "w.example.")->nsec, 4);
	assert_int_equal(lookup(s, "n29.example.")->nsec, 0);
	assert_int_equal(lookup(s, "example.")->wnsec, 3);     /* jhsv.. */
	assert_int_equal(lookup(s, "a.example.")->wnsec, 3);   /* 75lq.. */
	assert_int_equal(lookup(s, "ns1.example.")->wnsec, 3); /* h69i.. */
	assert_int_equal(lookup(s, "w.example.")->wnsec, 4);   /* r53b.. */
	assert_int_equal(lookup(s, "n29.example.")->wnsec, 4); /* 07d5..: wraps */
	snap_close(s);
	free(img);
	snapw_free(w);
}

/* NSEC and NSEC3 records without NSEC3PARAM: the NSEC chain is the zone's
 * (transition); NSEC3 records of another salt than NSEC3PARAM's: dropped. */
static void test_chain_choice(void **state)
{
	(void)state;
	struct snapw *w = zone_new("example.");
	add_nsec(w, "example.", "example.");
	add_nsec3(w, "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example.");
	void *img;
	size_t len;
	struct snap *s = build_open(w, &img, &len);
	assert_int_equal(s->hdr->flags & (SNAP_F_NSEC | SNAP_F_NSEC3), SNAP_F_NSEC);
	assert_int_equal(s->hdr->nnsec3, 0);
	assert_int_equal(s->hdr->nnodes, 1);
	snap_close(s);
	free(img);
	snapw_free(w);

	w = zone_new("example.");
	uint8_t param[] = { 1, 0, 0, 12, 4, 0xaa, 0xbb, 0xcc, 0xde };
	add(w, "example.", T_NSEC3PARAM, 0, param, sizeof(param));
	add_nsec3(w, "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example.");
	s = build_open(w, &img, &len);
	assert_int_equal(s->hdr->flags & (SNAP_F_NSEC | SNAP_F_NSEC3), SNAP_F_NSEC3);
	assert_int_equal(s->hdr->nnsec3, 0);
	assert_memory_equal(s->hdr->nsec3_salt, "\xaa\xbb\xcc\xde", 4);
	assert_int_equal(lookup(s, "example.")->nsec, 0);
	snap_close(s);
	free(img);
	snapw_free(w);
}

static void test_nsec3_bad_owner_label(void **state)
{
	(void)state;
	struct snapw *w = zone_new("example.");
	add_nsec3(w, "notahash.example.");
	void *img;
	size_t len;
	char err[256];
	assert_int_equal(snapw_build(w, &img, &len, NULL, err, sizeof(err)), ED_EZONE);
	assert_non_null(strstr(err, "notahash"));
	snapw_free(w);
}

/* ---- builder errors ----------------------------------------------------- */

static void test_add_rejects(void **state)
{
	(void)state;
	struct snapw *w = zone_new("example.");
	uint8_t rd[4] = { 1, 2, 3, 4 };
	assert_int_equal(add_rc(w, "example.com.", T_A, 1, rd, 4), ED_EINVAL);
	assert_int_equal(add_rc(w, "xexample.", T_A, 1, rd, 4), ED_EINVAL);
	assert_int_equal(add_rc(w, "a.example.", T_NS, 1, rd, 4), ED_EINVAL); /* bad name */
	uint8_t o[DNAME_MAXLEN];
	wire("a.example.", o);
	assert_int_equal(snapw_add_rr(w, o, T_A, 3, 1, rd, 4), ED_EINVAL);   /* class */
	static uint8_t big[65535];
	assert_int_equal(snapw_add_rr(w, o, T_TXT, 1, 1, big, 65530), ED_ELIMIT);
	snapw_free(w);

	uint8_t a[DNAME_MAXLEN];
	wire("example.", a);
	w = snapw_new(a);
	add_a(w, "a.example.", 1, 1);
	void *img;
	size_t len;
	char err[256];
	assert_int_equal(snapw_build(w, &img, &len, NULL, err, sizeof(err)), ED_EZONE);
	snapw_free(w);
}

static void test_rrset_over_64k(void **state)
{
	(void)state;
	struct snapw *w = zone_new("example.");
	static uint8_t txt[4000];
	memset(txt, 'x', sizeof(txt));
	for (int i = 0; i < 17; i++) {
		txt[0] = (uint8_t)i;
		add(w, "t.example.", T_TXT, 60, txt, sizeof(txt));
	}
	void *img;
	size_t len;
	char err[256];
	assert_int_equal(snapw_build(w, &img, &len, NULL, err, sizeof(err)), ED_ELIMIT);
	snapw_free(w);
}

/* ---- files -------------------------------------------------------------- */

static int count_tmp(const char *dir)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		n += strstr(e->d_name, ".tmp.") != NULL;
	closedir(d);
	return n;
}

static void test_write_rename(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_snapshot.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/example.snap", dir);
	struct snapw *w = zone_new("example.");
	add_a(w, "www.example.", 300, 1);
	struct snapw_stats st;
	char err[256];
	assert_int_equal(snapw_write(w, path, &st, err, sizeof(err)), 0);
	assert_int_equal(count_tmp(dir), 0);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal((uint64_t)sb.st_size, st.file_size);
	assert_int_equal(st.nrrs, 3);
	assert_int_equal(st.nrrsets, 3);
	assert_int_equal(st.nnodes, 2);
	struct snap *s;
	assert_int_equal(snap_open(path, 0, &s, err, sizeof(err)), 0);
	assert_non_null(lookup(s, "www.example."));
	assert_string_equal(s->path, path);
	snap_close(s);

	/* A failing build leaves the old file as it was, and no temp. */
	uint8_t a[DNAME_MAXLEN];
	wire("example.", a);
	struct snapw *bad = snapw_new(a);
	add_a(bad, "x.example.", 1, 1);
	assert_int_equal(snapw_write(bad, path, NULL, err, sizeof(err)), ED_EZONE);
	assert_non_null(strstr(err, path));
	snapw_free(bad);
	struct stat sb2;
	assert_int_equal(stat(path, &sb2), 0);
	assert_int_equal(sb2.st_size, sb.st_size);
	assert_int_equal(count_tmp(dir), 0);

	/* Unwritable place: ED_EIO, message names the path. */
	char nodir[160];
	snprintf(nodir, sizeof(nodir), "%s/missing/x.snap", dir);
	assert_int_equal(snapw_write(w, nodir, NULL, err, sizeof(err)), ED_EIO);
	assert_non_null(strstr(err, nodir));

	/* Truncated file on disk. */
	assert_int_equal(truncate(path, sb.st_size - 1), 0);
	assert_int_not_equal(snap_open(path, 0, &s, err, sizeof(err)), 0);
	assert_non_null(strstr(err, path));
	assert_int_equal(snap_open("/nonexistent/x.snap", 0, &s, err, sizeof(err)), ED_ENOENT);
	unlink(path);
	rmdir(dir);
	snapw_free(w);
}

/* ---- corrupted images --------------------------------------------------- */

struct img {
	void *buf;
	size_t len;
	struct snap *s;     /* the valid snapshot over buf */
};

static void img_make(struct img *im)
{
	struct snapw *w = zone_new("example.");
	add_name(w, "sub.example.", T_NS, "ns.sub.example.");
	add_a(w, "ns.sub.example.", 300, 1);
	add_mx(w, "example.", 10, "mail.example.");
	add_a(w, "mail.example.", 300, 2);
	add_rrsig(w, "mail.example.", T_A, 1);
	add_nsec(w, "example.", "mail.example.");
	im->s = build_open(w, &im->buf, &im->len);
	snapw_free(w);
}

static void img_free(struct img *im)
{
	snap_close(im->s);
	free(im->buf);
}

/* A copy of the image with one change, opened with flags. */
static int open_copy(const struct img *im, size_t len, size_t off, const void *val,
                     size_t n, unsigned flags, char *err)
{
	uint8_t *c = malloc(im->len);
	assert_non_null(c);
	memcpy(c, im->buf, im->len);
	if (val != NULL)
		memcpy(c + off, val, n);
	struct snap *s = NULL;
	int rc = snap_open_mem(c, len, flags, &s, err, 256);
	if (rc == 0)
		snap_close(s);
	else
		assert_null(s);
	free(c);
	return rc;
}

static size_t off_of(const struct img *im, const void *p)
{
	return (size_t)((const uint8_t *)p - (const uint8_t *)im->buf);
}

static void test_reject_checksum(void **state)
{
	(void)state;
	struct img im;
	img_make(&im);
	char err[256];
	uint8_t x = (uint8_t)(((uint8_t *)im.buf)[im.len - 1] ^ 0x40);
	assert_int_equal(open_copy(&im, im.len, im.len - 1, &x, 1, 0, err), ED_ECHECKSUM);
	assert_non_null(strstr(err, "(memory)"));
	uint64_t ck = im.s->hdr->checksum ^ 1;
	assert_int_equal(open_copy(&im, im.len, offsetof(struct snap_header, checksum), &ck,
	                           8, 0, err), ED_ECHECKSUM);
	img_free(&im);
}

static void test_reject_bad_name_offset(void **state)
{
	(void)state;
	struct img im;
	img_make(&im);
	char err[256];
	const struct snap_node *n = lookup(im.s, "mail.example.");
	uint32_t bad = (uint32_t)im.s->hdr->blob_size + 100;
	assert_int_equal(open_copy(&im, im.len, off_of(&im, &n->name), &bad, 4,
	                           SNAP_OPEN_NOCHECKSUM, err), ED_ERANGE);
	assert_non_null(strstr(err, "node"));
	bad = n->name + 1;      /* inside the name: wrong length */
	assert_int_equal(open_copy(&im, im.len, off_of(&im, &n->name), &bad, 4,
	                           SNAP_OPEN_NOCHECKSUM, err), ED_EFORMAT);
	img_free(&im);
}

static void test_reject_rrset_past_blob(void **state)
{
	(void)state;
	struct img im;
	img_make(&im);
	char err[256];
	const struct snap_rrset *rs = find(im.s, "mail.example.", T_A);
	uint32_t wlen = 0xfff0;
	assert_int_equal(open_copy(&im, im.len, off_of(&im, &rs->wlen), &wlen, 4,
	                           SNAP_OPEN_NOCHECKSUM, err), ED_ERANGE);
	assert_non_null(strstr(err, "runs past the blob"));
	uint32_t sigs = (uint32_t)im.s->hdr->blob_size - 4;
	assert_int_not_equal(open_copy(&im, im.len, off_of(&im, &rs->sigs), &sigs, 4,
	                               SNAP_OPEN_NOCHECKSUM, err), 0);
	const struct snap_node *n = lookup(im.s, "mail.example.");
	uint16_t many = 40;
	assert_int_not_equal(open_copy(&im, im.len, off_of(&im, &n->nrrsets), &many, 2,
	                               SNAP_OPEN_NOCHECKSUM, err), 0);
	img_free(&im);
}

static void test_reject_bad_pointer(void **state)
{
	(void)state;
	struct img im;
	img_make(&im);
	char err[256];
	/* MX rdata is 00 0a 04 mail c0 0c: point into the middle of a label. */
	const struct snap_rrset *mx = find(im.s, "example.", T_MX);
	size_t p = off_of(&im, snap_rrset_wire(mx)) + 12 + 2 + 5;
	uint8_t ptr[2] = { 0xc0, 0x0d };
	assert_int_equal(open_copy(&im, im.len, p, ptr, 2, SNAP_OPEN_NOCHECKSUM, err),
	                 ED_EFORMAT);
	assert_non_null(strstr(err, "node 0"));
	ptr[1] = 0x0c + 8;      /* the owner's root label: not allowed */
	assert_int_equal(open_copy(&im, im.len, p, ptr, 2, SNAP_OPEN_NOCHECKSUM, err),
	                 ED_EFORMAT);
	ptr[1] = 0x05;          /* before the question name */
	assert_int_equal(open_copy(&im, im.len, p, ptr, 2, SNAP_OPEN_NOCHECKSUM, err),
	                 ED_EFORMAT);
	ptr[0] = 0x80;          /* reserved label type */
	assert_int_equal(open_copy(&im, im.len, p, ptr, 2, SNAP_OPEN_NOCHECKSUM, err),
	                 ED_EFORMAT);
	/* The owner must be C0 0C. */
	uint8_t own = 0x0d;
	assert_int_equal(open_copy(&im, im.len, off_of(&im, snap_rrset_wire(mx)) + 1, &own, 1,
	                           SNAP_OPEN_NOCHECKSUM, err), ED_EFORMAT);
	img_free(&im);
}

static void test_reject_truncated(void **state)
{
	(void)state;
	struct img im;
	img_make(&im);
	char err[256];
	assert_int_equal(open_copy(&im, im.len - 1, 0, NULL, 0, SNAP_OPEN_NOCHECKSUM, err),
	                 ED_EFORMAT);
	assert_int_equal(open_copy(&im, 100, 0, NULL, 0, SNAP_OPEN_NOCHECKSUM, err),
	                 ED_EFORMAT);
	assert_int_equal(open_copy(&im, 0, 0, NULL, 0, 0, err), ED_EFORMAT);
	/* Header and length agree, but the blob would run past the end. */
	uint64_t fs = im.len - 64;
	assert_int_not_equal(open_copy(&im, im.len - 64, offsetof(struct snap_header, file_size),
	                               &fs, 8, SNAP_OPEN_NOCHECKSUM, err), 0);
	img_free(&im);
}

static void test_reject_wrong_version(void **state)
{
	(void)state;
	struct img im;
	img_make(&im);
	char err[256];
	uint32_t v = SNAP_VERSION + 1;
	assert_int_equal(open_copy(&im, im.len, offsetof(struct snap_header, version), &v, 4,
	                           0, err), ED_EVERSION);
	assert_int_equal(open_copy(&im, im.len, 0, "EDNSSNAQ", 8, 0, err), ED_EFORMAT);
	img_free(&im);
}

static void test_reject_bad_links(void **state)
{
	(void)state;
	struct img im;
	img_make(&im);
	char err[256];
	const struct snap_node *n = lookup(im.s, "mail.example.");
	uint32_t v = im.s->hdr->nnodes + 5;
	assert_int_equal(open_copy(&im, im.len, off_of(&im, &n->cut), &v, 4,
	                           SNAP_OPEN_NOCHECKSUM, err), ED_EFORMAT);
	assert_int_equal(open_copy(&im, im.len, off_of(&im, &n->wild), &v, 4,
	                           SNAP_OPEN_NOCHECKSUM, err), ED_EFORMAT);
	assert_int_equal(open_copy(&im, im.len, off_of(&im, &n->nsec), &v, 4,
	                           SNAP_OPEN_NOCHECKSUM, err), ED_EFORMAT);
	uint16_t f = SNAP_N_DELEG;
	assert_int_equal(open_copy(&im, im.len, off_of(&im, &n->flags), &f, 2,
	                           SNAP_OPEN_NOCHECKSUM, err), ED_EFORMAT);
	/* Hash slot pointing past the canonical nodes. */
	for (uint64_t i = 0; i <= im.s->mask; i++) {
		if (im.s->table[i] == 0)
			continue;
		uint64_t slot = (im.s->table[i] & ~0xffffffffull) | (im.s->hdr->nnodes + 1u);
		assert_int_equal(open_copy(&im, im.len, off_of(&im, &im.s->table[i]), &slot, 8,
		                           SNAP_OPEN_NOCHECKSUM, err), ED_EFORMAT);
		slot = 0;   /* a node missing from the index */
		assert_int_equal(open_copy(&im, im.len, off_of(&im, &im.s->table[i]), &slot, 8,
		                           SNAP_OPEN_NOCHECKSUM, err), ED_EFORMAT);
		break;
	}
	img_free(&im);
}

/* Every single-octet corruption is either rejected or still a snapshot whose
 * every node can be looked up: never a crash (run this under ASan). */
static void test_flip_every_octet(void **state)
{
	(void)state;
	struct img im;
	img_make(&im);
	uint8_t *c = malloc(im.len);
	assert_non_null(c);
	char err[256];
	for (size_t i = 0; i < im.len; i++) {
		memcpy(c, im.buf, im.len);
		c[i] ^= (uint8_t)(0x01u << (i % 8)) | 0x80u;
		struct snap *s = NULL;
		if (snap_open_mem(c, im.len, SNAP_OPEN_NOCHECKSUM, &s, err, sizeof(err)) != 0)
			continue;
		for (uint32_t k = 0; k < s->hdr->ncanon; k++) {
			const struct snap_node *n = &s->nodes[k];
			const uint8_t *name = snap_node_name(s, n);
			assert_ptr_equal(snap_lookup(s, name, n->namelen, dname_hash(name)), n);
			(void)snap_node_find(s, n, T_A);
		}
		snap_close(s);
	}
	free(c);
	img_free(&im);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ent_creation),
		cmocka_unit_test(test_canonical_order),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_cut_and_wild_links),
		cmocka_unit_test(test_hash_lookup),
		cmocka_unit_test(test_compression),
		cmocka_unit_test(test_no_common_suffix_uncompressed),
		cmocka_unit_test(test_set_ttl_and_order),
		cmocka_unit_test(test_rrsig_attachment),
		cmocka_unit_test(test_nsec_links),
		cmocka_unit_test(test_nsec3_table),
		cmocka_unit_test(test_chain_choice),
		cmocka_unit_test(test_nsec3_bad_owner_label),
		cmocka_unit_test(test_add_rejects),
		cmocka_unit_test(test_rrset_over_64k),
		cmocka_unit_test(test_write_rename),
		cmocka_unit_test(test_reject_checksum),
		cmocka_unit_test(test_reject_bad_name_offset),
		cmocka_unit_test(test_reject_rrset_past_blob),
		cmocka_unit_test(test_reject_bad_pointer),
		cmocka_unit_test(test_reject_truncated),
		cmocka_unit_test(test_reject_wrong_version),
		cmocka_unit_test(test_reject_bad_links),
		cmocka_unit_test(test_flip_every_octet),
		cmocka_unit_test(test_nsec3_params_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
