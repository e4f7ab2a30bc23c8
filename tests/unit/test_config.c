/* test_config.c: the edgedns-control configuration (control/config.c).
 *
 * Each test writes its YAML into a mkdtemp() directory, with secret files
 * beside it; "@D@" in a text stands for that directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "config_int.h"
#include <ldns/ldns.h>
#include "dname.h"
#include "error.h"

static char dir[64];
static char cfg_path[128];

/* Bytes 0..31 and 0..7 in base64. */
#define SECRET32 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define SECRET8 "AAECAwQFBgc="

/* text with every "@D@" replaced by dir, into a static buffer. */
static const char *subst(const char *text)
{
	static char out[16384];
	size_t o = 0;
	for (const char *s = text; *s != '\0';) {
		if (strncmp(s, "@D@", 3) == 0) {
			size_t n = strlen(dir);
			assert_true(o + n < sizeof(out));
			memcpy(out + o, dir, n);
			o += n;
			s += 3;
		} else {
			assert_true(o + 1 < sizeof(out));
			out[o++] = *s++;
		}
	}
	out[o] = '\0';
	return out;
}

static void write_file(const char *name, const char *text, mode_t mode)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(p, mode), 0);
}

static const char *const files[] = { "good.secret", "short.secret", "bad64.secret",
                                     "open.secret", "long.secret", "two.secret",
                                     "root.secret", "c.yaml" };

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/edgedns-test-config-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(cfg_path, sizeof(cfg_path), "%s/c.yaml", dir);
	write_file("good.secret", SECRET32 "\n", 0600);
	write_file("short.secret", SECRET8 "\n", 0600);
	write_file("bad64.secret", "not*base64!\n", 0600);
	write_file("open.secret", SECRET32 "\n", 0644);
	write_file("two.secret", SECRET32 "\n" SECRET32 "\n", 0600);
	char big[400];
	memset(big, 'A', 384);   /* 288 octets: over CFG_SECRET_MAX */
	strcpy(big + 384, "\n");
	write_file("long.secret", big, 0400);
	char sub[80];
	snprintf(sub, sizeof(sub), "%s/sub.d", dir);
	return mkdir(sub, 0700);
}

static int teardown(void **state)
{
	(void)state;
	char p[256];
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		unlink(p);
	}
	snprintf(p, sizeof(p), "%s/sub.d", dir);
	rmdir(p);
	return rmdir(dir);
}

/* Load text (after subst()); the cfg or NULL, the code in *rc. */
static struct cfg *load(const char *text, int *rc, char *err, size_t errlen)
{
	struct cfg *c = NULL;
	write_file("c.yaml", subst(text), 0600);
	*rc = cfg_load(cfg_path, &c, err, errlen);
	if (*rc == 0)
		assert_non_null(c);
	else
		assert_null(c);
	return c;
}

static struct cfg *load_ok(const char *text)
{
	char err[1024];
	int rc;
	struct cfg *c = load(text, &rc, err, sizeof(err));
	if (rc != 0)
		fail_msg("unexpected error: %s", err);
	return c;
}

/* ---- a complete file ---------------------------------------------------- */

static const char full[] =
	"control:\n"
	"  socket: /run/e/control.sock\n"
	"  dataplane-socket: /run/e/dp.sock\n"
	"  snapshot-dir: /var/lib/e/snap\n"
	"  state-dir: /var/lib/e/state\n"
	"  notify-listen: [192.0.2.2, \"2001:db8::2@5353\"]\n"
	"  log: stderr\n"
	"key:\n"
	"  - id: xfr-key\n"                            /* line 9 */
	"    algorithm: hmac-sha256\n"
	"    secret-file: @D@/good.secret\n"
	"  - id: Other.Key.\n"
	"    algorithm: HMAC-SHA512\n"
	"    secret-file: @D@/good.secret\n"
	"policy:\n"
	"  - id: default\n"                            /* line 16 */
	"    require-zonemd: true\n"
	"    rrsig-margin: 1w\n"
	"    max-remove: 25%\n"
	"    allow-ns-change: yes\n"
	"    max-transfer-size: 2G\n"
	"    max-rrs: 123456\n"
	"    max-rr-size: 4096\n"
	"    transfer-timeout: 90s\n"
	"    refresh-jitter: 5\n"
	"    notify-rate: 100\n"
	"  - id: strict\n"
	"    max-remove: 0%\n"
	"acl:\n"
	"  - id: primaries\n"
	"    address: [192.0.2.10, 198.51.100.0/24, 2001:db8::/32, 0.0.0.0/0]\n"
	"    key: XFR-key\n"
	"  - id: lab\n"
	"    address: 203.0.113.7\n"
	"zone:\n"
	"  - domain: Example.COM\n"                    /* line 36 */
	"    primary:\n"
	"      - address: 192.0.2.10@5300\n"
	"        key: xfr-key\n"
	"      - address: 2001:db8::10\n"
	"    notify-acl: [primaries, lab]\n"
	"    policy: strict\n"
	"  - domain: .\n"                              /* line 43 */
	"    primary: [192.0.2.11]\n"
	"catalog:\n"
	"  - domain: catalog.example.\n"               /* line 46 */
	"    primary:\n"
	"      - address: 192.0.2.12\n"
	"        key: other.key\n"
	"    notify-acl: lab\n"
	"    policy: strict\n"
	"    template:\n"
	"      primary:\n"
	"        - address: 2001:db8::53@53\n"
	"      policy: default\n"
	"  - domain: cat2.example\n"
	"    primary: [192.0.2.13]\n";

static void check_sin(const struct cfg_addr *a, const char *ip4, unsigned port, const char *str)
{
	const struct sockaddr_in *in = (const struct sockaddr_in *)&a->ss;
	struct in_addr want;
	assert_int_equal(inet_pton(AF_INET, ip4, &want), 1);
	assert_int_equal(in->sin_family, AF_INET);
	assert_int_equal(a->sslen, sizeof(*in));
	assert_int_equal(ntohs(in->sin_port), port);
	assert_memory_equal(&in->sin_addr, &want, 4);
	assert_string_equal(a->str, str);
}

static void check_sin6(const struct cfg_addr *a, const char *ip6, unsigned port, const char *str)
{
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&a->ss;
	struct in6_addr want;
	assert_int_equal(inet_pton(AF_INET6, ip6, &want), 1);
	assert_int_equal(in6->sin6_family, AF_INET6);
	assert_int_equal(a->sslen, sizeof(*in6));
	assert_int_equal(ntohs(in6->sin6_port), port);
	assert_memory_equal(&in6->sin6_addr, &want, 16);
	assert_string_equal(a->str, str);
}

static void check_prefix(const struct cfg_prefix *p, int af, const char *ip, unsigned len)
{
	uint8_t want[16] = { 0 };
	assert_int_equal(p->family, af);
	assert_int_equal(inet_pton(af, ip, want), 1);
	assert_memory_equal(p->addr, want, 16);
	assert_int_equal(p->prefix_len, len);
}

/* An implicit notify ACL: the primary's address alone, its key. */
static void check_implicit(const struct cfg_zone *z)
{
	assert_int_equal(z->n_notify_acl, z->n_primaries);
	for (unsigned i = 0; i < z->n_primaries; i++) {
		const struct cfg_acl *a = z->notify_acl[i];
		const struct cfg_primary *p = &z->primaries[i];
		char id[80];
		snprintf(id, sizeof(id), "primary %s", p->addr.str);
		assert_string_equal(a->id, id);
		assert_int_equal(a->n_entries, 1);
		assert_ptr_equal(a->key, p->key);
		assert_int_equal(a->entries[0].family, p->addr.ss.ss_family);
		if (p->addr.ss.ss_family == AF_INET) {
			assert_int_equal(a->entries[0].prefix_len, 32);
			assert_memory_equal(a->entries[0].addr,
			                    &((const struct sockaddr_in *)&p->addr.ss)->sin_addr, 4);
		} else {
			assert_int_equal(a->entries[0].prefix_len, 128);
			assert_memory_equal(a->entries[0].addr,
			                    &((const struct sockaddr_in6 *)&p->addr.ss)->sin6_addr, 16);
		}
	}
}

static void t_full(void **state)
{
	(void)state;
	struct cfg *c = load_ok(full);
	uint8_t secret[32];
	for (int i = 0; i < 32; i++)
		secret[i] = (uint8_t)i;

	assert_string_equal(c->path, cfg_path);
	assert_string_equal(c->socket, "/run/e/control.sock");
	assert_string_equal(c->dataplane_socket, "/run/e/dp.sock");
	assert_string_equal(c->snapshot_dir, "/var/lib/e/snap");
	assert_string_equal(c->state_dir, "/var/lib/e/state");
	assert_int_equal(c->n_notify_listen, 2);
	check_sin(&c->notify_listen[0], "192.0.2.2", 53, "192.0.2.2@53");
	check_sin6(&c->notify_listen[1], "2001:db8::2", 5353, "2001:db8::2@5353");
	assert_int_equal(c->log, CFG_LOG_STDERR);

	assert_int_equal(c->n_keys, 2);
	const struct cfg_key *k0 = &c->keys[0], *k1 = &c->keys[1];
	assert_string_equal(k0->id, "xfr-key");
	assert_string_equal(k0->tsig_name, "xfr-key.");
	assert_int_equal(k0->alg, CFG_HMAC_SHA256);
	assert_string_equal(k0->alg_name, "hmac-sha256.");
	assert_int_equal(k0->secret_len, 32);
	assert_memory_equal(k0->secret, secret, 32);
	assert_string_equal(k0->secret_file, subst("@D@/good.secret"));
	assert_int_equal(k0->line, 9);
	assert_string_equal(k1->id, "Other.Key.");
	assert_string_equal(k1->tsig_name, "other.key.");
	assert_int_equal(k1->alg, CFG_HMAC_SHA512);
	assert_string_equal(k1->alg_name, "hmac-sha512.");

	assert_int_equal(c->n_policies, 2);
	const struct cfg_policy *d = &c->policies[0], *s = &c->policies[1];
	assert_ptr_equal(c->default_policy, d);
	assert_string_equal(d->id, "default");
	assert_int_equal(d->line, 16);
	assert_int_equal(d->require_zonemd, 1);
	assert_int_equal(d->rrsig_margin, 7 * 86400);
	assert_int_equal(d->max_remove, 25);
	assert_int_equal(d->allow_ns_change, 1);
	assert_int_equal(d->max_transfer_size, 2ull << 30);
	assert_int_equal(d->max_rrs, 123456);
	assert_int_equal(d->max_rr_size, 4096);
	assert_int_equal(d->transfer_timeout, 90);
	assert_int_equal(d->refresh_jitter, 5);
	assert_int_equal(d->notify_rate, 100);
	/* What a policy leaves out is the built-in default, not "default"'s. */
	struct cfg_policy b;
	cfg_policy_defaults(&b);
	assert_string_equal(s->id, "strict");
	assert_int_equal(s->max_remove, 0);
	assert_int_equal(s->require_zonemd, b.require_zonemd);
	assert_int_equal(s->rrsig_margin, b.rrsig_margin);
	assert_int_equal(s->max_transfer_size, b.max_transfer_size);
	assert_int_equal(s->notify_rate, b.notify_rate);

	assert_int_equal(c->n_acls, 2);
	const struct cfg_acl *a0 = &c->acls[0], *a1 = &c->acls[1];
	assert_string_equal(a0->id, "primaries");
	assert_ptr_equal(a0->key, k0);   /* key ids compare as names */
	assert_int_equal(a0->n_entries, 4);
	check_prefix(&a0->entries[0], AF_INET, "192.0.2.10", 32);
	check_prefix(&a0->entries[1], AF_INET, "198.51.100.0", 24);
	check_prefix(&a0->entries[2], AF_INET6, "2001:db8::", 32);
	check_prefix(&a0->entries[3], AF_INET, "0.0.0.0", 0);
	assert_string_equal(a1->id, "lab");
	assert_null(a1->key);
	assert_int_equal(a1->n_entries, 1);
	check_prefix(&a1->entries[0], AF_INET, "203.0.113.7", 32);

	assert_int_equal(c->n_zones, 2);
	const struct cfg_zone *z = &c->zones[0];
	assert_string_equal(z->name, "example.com.");
	assert_int_equal(z->apex_len, 13);
	assert_memory_equal(z->apex, "\7example\3com", 13);
	assert_int_equal(z->line, 36);
	assert_null(z->catalog);
	assert_int_equal(z->n_primaries, 2);
	check_sin(&z->primaries[0].addr, "192.0.2.10", 5300, "192.0.2.10@5300");
	assert_ptr_equal(z->primaries[0].key, k0);
	check_sin6(&z->primaries[1].addr, "2001:db8::10", 53, "2001:db8::10@53");
	assert_null(z->primaries[1].key);
	assert_int_equal(z->n_notify_acl, 2);
	assert_ptr_equal(z->notify_acl[0], a0);
	assert_ptr_equal(z->notify_acl[1], a1);
	assert_ptr_equal(z->policy, s);
	assert_ptr_equal(cfg_zone_policy(c, z), s);

	const struct cfg_zone *root = &c->zones[1];
	assert_string_equal(root->name, ".");
	assert_int_equal(root->apex_len, 1);
	assert_int_equal(root->line, 43);
	assert_int_equal(root->n_primaries, 1);
	check_sin(&root->primaries[0].addr, "192.0.2.11", 53, "192.0.2.11@53");
	check_implicit(root);
	assert_ptr_equal(root->policy, d);

	assert_int_equal(c->n_catalogs, 2);
	const struct cfg_catalog *cat = &c->catalogs[0];
	assert_string_equal(cat->zone.name, "catalog.example.");
	assert_ptr_equal(cat->zone.catalog, cat);
	assert_int_equal(cat->zone.line, 46);
	assert_int_equal(cat->zone.n_primaries, 1);
	check_sin(&cat->zone.primaries[0].addr, "192.0.2.12", 53, "192.0.2.12@53");
	assert_ptr_equal(cat->zone.primaries[0].key, k1);
	assert_int_equal(cat->zone.n_notify_acl, 1);
	assert_ptr_equal(cat->zone.notify_acl[0], a1);
	assert_ptr_equal(cat->zone.policy, s);
	assert_null(cat->member.name);
	assert_int_equal(cat->member.apex_len, 0);
	assert_int_equal(cat->member.n_primaries, 1);
	check_sin6(&cat->member.primaries[0].addr, "2001:db8::53", 53, "2001:db8::53@53");
	check_implicit(&cat->member);
	assert_ptr_equal(cat->member.policy, d);
	/* A template left out: the catalog's primaries, implicit ACLs. */
	const struct cfg_catalog *cat2 = &c->catalogs[1];
	assert_string_equal(cat2->zone.name, "cat2.example.");
	check_implicit(&cat2->zone);
	assert_int_equal(cat2->member.n_primaries, 1);
	assert_string_equal(cat2->member.primaries[0].addr.str, "192.0.2.13@53");
	check_implicit(&cat2->member);
	assert_ptr_equal(cat2->member.policy, d);

	assert_ptr_equal(cfg_zone_find(c, "EXAMPLE.com"), z);
	assert_ptr_equal(cfg_zone_find(c, "example.com."), z);
	assert_ptr_equal(cfg_zone_find(c, "."), root);
	assert_ptr_equal(cfg_zone_find(c, "Catalog.Example"), &cat->zone);
	assert_ptr_equal(cfg_zone_find(c, "cat2.example."), &cat2->zone);
	assert_null(cfg_zone_find(c, "www.example.com"));
	assert_null(cfg_zone_find(c, "com"));
	assert_null(cfg_zone_find(c, "a..b"));
	assert_null(cfg_zone_find(c, ""));
	cfg_free(c);
}

/* ---- defaults ----------------------------------------------------------- */

static void t_defaults(void **state)
{
	(void)state;
	struct cfg *c = load_ok("zone:\n  - domain: a.example\n    primary: [192.0.2.1]\n");
	assert_string_equal(c->socket, "/run/edgedns/control.sock");
	assert_string_equal(c->dataplane_socket, "/run/edgedns/dataplane.sock");
	assert_string_equal(c->snapshot_dir, "/var/lib/edgedns/snapshots");
	assert_string_equal(c->state_dir, "/var/lib/edgedns/snapshots");
	assert_int_equal(c->n_notify_listen, 0);
	assert_int_equal(c->log, CFG_LOG_SYSLOG);
	assert_int_equal(c->n_keys + c->n_policies + c->n_acls + c->n_catalogs, 0);
	const struct cfg_policy *p = c->default_policy;
	assert_non_null(p);
	assert_string_equal(p->id, "default");
	assert_int_equal(p->line, 0);
	assert_int_equal(p->require_zonemd, 0);
	assert_int_equal(p->rrsig_margin, 2 * 86400);
	assert_int_equal(p->max_remove, 50);
	assert_int_equal(p->allow_ns_change, 0);
	assert_int_equal(p->max_transfer_size, 512ull << 20);
	assert_int_equal(p->max_rrs, 10000000);
	assert_int_equal(p->max_rr_size, 65535);
	assert_int_equal(p->transfer_timeout, 300);
	assert_int_equal(p->refresh_jitter, 10);
	assert_int_equal(p->notify_rate, 20);
	const struct cfg_zone *z = cfg_zone_find(c, "A.EXAMPLE.");
	assert_ptr_equal(z, &c->zones[0]);
	assert_ptr_equal(z->policy, p);
	assert_ptr_equal(cfg_zone_policy(c, z), p);
	check_implicit(z);
	cfg_free(c);

	/* state-dir follows snapshot-dir; empty sections are empty lists; a
	 * zone naming "default" without a policy section gets the built-in. */
	c = load_ok("control:\n  snapshot-dir: /s\nkey:\npolicy: []\nacl: ~\ncatalog:\n"
	            "zone:\n  - domain: b.example\n    primary: [192.0.2.1]\n    policy: default\n");
	assert_string_equal(c->state_dir, "/s");
	assert_ptr_equal(c->zones[0].policy, c->default_policy);
	assert_int_equal(c->default_policy->line, 0);
	cfg_free(c);

	/* Nothing configured at all is a valid (idle) configuration. */
	c = load_ok("control: {}\n");
	assert_int_equal(c->n_zones, 0);
	assert_null(cfg_zone_find(c, "example.com"));
	cfg_free(c);
}

/* ---- errors ------------------------------------------------------------- */

/* The key section of most error texts: lines 1-4. */
#define KEY "key:\n  - id: xfr-key\n    algorithm: hmac-sha256\n    secret-file: @D@/good.secret\n"
#define KEYF(file) "key:\n  - id: k\n    algorithm: hmac-sha256\n    secret-file: @D@/" file "\n"
/* A zone at line N+1 (N: lines before it), its primary at N+3. */
#define ZONE "zone:\n  - domain: example.com\n    primary:\n      - address: 192.0.2.1\n"

static const struct bad {
	const char *text;
	const char *want;   /* "LINE: start of the message" */
} bad[] = {
	/* the document */
	{ "", "1: empty file: expected a mapping of control, key, policy, acl, zone, catalog, service and bgp" },
	{ "# only a comment\n", "1: empty file" },
	{ "- a\n- b\n", "1: expected a mapping of control, key, policy, acl, zone, catalog, service and bgp, "
	                "got a list" },
	{ "just words\n", "1: expected a mapping of control, key, policy, acl, zone, catalog, service and bgp, "
	                  "got 'just words'" },
	{ "zone: [a\n", "2: YAML syntax error: did not find expected ',' or ']'" },
	{ "control:\n  log: syslog\n   bad: indent\n", "3: YAML syntax error: " },
	{ "control: {}\n---\nzone: []\n", "3: expected one YAML document, found a second" },
	{ "zones: []\n", "1: unknown key 'zones' (expected control, key, policy, acl, zone, "
	                 "catalog, service or bgp)" },
	/* service and bgp */
	{ "service:\n  - id: Dns\n    address: 203.0.113.53\n",
	  "2: service[0].id: expected an id of 1 to 24 characters a-z, 0-9 and _, got 'Dns'" },
	{ "service:\n  - id: dns\n", "2: service[0]: address is required" },
	{ "service:\n  - id: dns\n    address: 203.0.113.0/24\n",
	  "3: service[0].address: expected a host address (/32), got '203.0.113.0/24'" },
	{ "service:\n  - id: dns\n    address: [203.0.113.53, 2001:db8::/64]\n",
	  "3: service[0].address[1]: expected a host address (/128), got '2001:db8::/64'" },
	{ "service:\n  - id: dns\n    address: 203.0.113.53\n  - id: dns\n    address: 203.0.113.54\n",
	  "4: service[1].id: duplicate id 'dns' (first at line 2)" },
	{ "service:\n  - id: dns\n    address: 203.0.113.53\n    interval: 5x\n",
	  "4: service[0].interval: expected a duration (Nms, Ns, Nm or Nh) from 10ms to 60000ms, "
	  "got '5x'" },
	{ "service:\n  - id: dns\n    address: 203.0.113.53\n    probe:\n      - type: SOA\n",
	  "5: service[0].probe[0]: name is required" },
	{ "service:\n  - id: dns\n    address: 203.0.113.53\n    probe:\n      - name: a.example\n"
	  "        type: BOGUS\n", "6: service[0].probe[0].type: expected an RR type" },
	{ "service:\n  - id: dns\n    address: 203.0.113.53\n    probe:\n      - name: a.example\n"
	  "        rcode: WHATEVER\n", "6: service[0].probe[0].rcode: expected an RCODE" },
	{ "service:\n  - id: dns\n    address: 203.0.113.53\n    hold-down: 1m\n"
	  "    hold-down-max: 30s\n", "5: service[0].hold-down-max: expected at least hold-down (60 s)" },
	{ "service:\n  - id: dns\n    address: 203.0.113.53\n    stop-drain-time: 2h\n",
	  "4: service[0].stop-drain-time: expected" },
	{ "service:\n  - id: dns\n    address: 203.0.113.53\n    stop-drain-time: soon\n",
	  "4: service[0].stop-drain-time: expected" },
	{ "control:\n  dataplane-lease: 500ms\n", "2: control.dataplane-lease: expected 0 (off) or a "
	  "duration (Nms, Ns, Nm or Nh) from 1s to 1h, got '500ms'" },
	{ "control:\n  dataplane-lease: 2h\n", "2: control.dataplane-lease: expected 0 (off)" },
	{ "control:\n  dataplane-lease: [5s]\n", "2: control.dataplane-lease: expected 0 (off) or "
	  "a duration (Nms, Ns, Nm or Nh) from 1s to 1h, got a list" },
	{ "service:\n  - id: dns\n    address: 203.0.113.53\n    colour: red\n",
	  "4: service[0]: unknown key 'colour'" },
	{ "bgp:\n  local-as: 64512\n", "2: bgp: router-id and local-as are required" },
	{ "bgp:\n  router-id: 2001:db8::1\n  local-as: 64512\n",
	  "2: bgp.router-id: expected an IPv4 address, got '2001:db8::1'" },
	{ "bgp:\n  router-id: 192.0.2.2\n  local-as: 0\n",
	  "3: bgp.local-as: expected a number from 1 to 4294967295, got '0'" },
	{ "bgp:\n  router-id: 192.0.2.2\n  local-as: 64512\n  neighbor:\n    - address: 192.0.2.1\n",
	  "5: bgp.neighbor[0]: address and as are required" },
	{ "bgp:\n  router-id: 192.0.2.2\n  local-as: 64512\n  neighbor:\n    - address: 192.0.2.1\n"
	  "      as: 64500\n      password-file: @D@/open.secret\n",
	  "7: bgp.neighbor[0].password-file: '@D@/open.secret': readable by group or others" },
	{ "zone: []\nzone: []\n", "2: duplicate key 'zone' (first at line 1)" },
	/* control */
	{ "control: [a]\n", "1: control: expected a mapping (key: value), got a list" },
	{ "control:\n  log: syslog\n  log: stderr\n", "3: control: duplicate key 'log' (first at "
	                                              "line 2)" },
	{ "control:\n  log: file\n", "2: control.log: expected syslog or stderr, got 'file'" },
	{ "control:\n  snapshot-dir: snaps\n", "2: control.snapshot-dir: expected an absolute "
	                                       "path, got 'snaps'" },
	{ "control:\n  state-dir:\n", "2: control.state-dir: expected an absolute path, got "
	                              "nothing" },
	{ "control:\n  socket: /run/" "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.sock\n",
	  "2: control.socket: expected a socket path of at most 107 characters, got 119" },
	{ "control:\n  notify-listen: [192.0.2.1, 192.0.2.300]\n",
	  "2: control.notify-listen[1]: expected ADDR[@PORT] (an IPv4 or IPv6 address), got "
	  "'192.0.2.300'" },
	{ "control:\n  notify-listen: {a: b}\n", "2: control.notify-listen: expected a list of "
	                                         "ADDR[@PORT], got a mapping" },
	/* key */
	{ "key:\n  id: k\n", "2: key: expected a list of keys (- id: ...), got a mapping" },
	{ "key:\n  - algorithm: hmac-sha256\n    secret-file: /x\n", "2: key[0]: id is required" },
	{ "key:\n  - id: k\n    algorithm: hmac-md5\n    secret-file: /x\n",
	  "3: key[0].algorithm: expected hmac-sha256, hmac-sha384 or hmac-sha512, got 'hmac-md5'" },
	{ "key:\n  - id: a..b\n    algorithm: hmac-sha256\n    secret-file: /x\n",
	  "2: key[0].id: expected a key name (a domain name such as xfr-key), got 'a..b'" },
	{ KEY "  - id: XFR-KEY.\n    algorithm: hmac-sha384\n    secret-file: @D@/good.secret\n",
	  "5: key[1].id: duplicate id 'XFR-KEY.' (first at line 2)" },
	{ KEY "    secret: abc\n", "5: key[0]: unknown key 'secret' (expected id, algorithm or "
	                            "secret-file)" },
	{ KEYF("missing.secret"), "4: key[0].secret-file: cannot open '@D@/missing.secret': No "
	                          "such file or directory" },
	{ KEYF("open.secret"), "4: key[0].secret-file: '@D@/open.secret' has mode 0644, expected "
	                       "no group or other permissions (chmod 600)" },
	{ KEYF("bad64.secret"), "4: key[0].secret-file: '@D@/bad64.secret': expected one line of "
	                        "base64" },
	{ KEYF("two.secret"), "4: key[0].secret-file: '@D@/two.secret': expected one line of "
	                      "base64" },
	{ KEYF("short.secret"), "4: key[0].secret-file: '@D@/short.secret': the secret has 8 "
	                        "octets, expected at least 16" },
	{ KEYF("long.secret"), "4: key[0].secret-file: '@D@/long.secret': the secret is over 256 "
	                       "octets" },
	{ KEYF("sub.d"), "4: key[0].secret-file: '@D@/sub.d' is not a regular file" },
	{ "key:\n  - id: k\n    algorithm: hmac-sha256\n    secret-file: rel.secret\n",
	  "4: key[0].secret-file: expected an absolute path, got 'rel.secret'" },
	/* policy */
	{ "policy:\n  - id: p\n    require-zonemd: maybe\n",
	  "3: policy[0].require-zonemd: expected true or false, got 'maybe'" },
	{ "policy:\n  - id: p\n    rrsig-margin: 2x\n",
	  "3: policy[0].rrsig-margin: expected a duration (N, Ns, Nm, Nh, Nd or Nw) from 0s to "
	  "90d, got '2x'" },
	{ "policy:\n  - id: p\n    rrsig-margin: 91d\n", "3: policy[0].rrsig-margin: expected a "
	                                                 "duration (N, Ns, Nm, Nh, Nd or Nw) from "
	                                                 "0s to 90d, got '91d'" },
	{ "policy:\n  - id: p\n    transfer-timeout: 0\n", "3: policy[0].transfer-timeout: "
	                                                   "expected a duration (N, Ns, Nm, Nh, Nd "
	                                                   "or Nw) from 1s to 1d, got '0'" },
	{ "policy:\n  - id: p\n    transfer-timeout: 99999999999999999999999s\n",
	  "3: policy[0].transfer-timeout: expected a duration" },
	{ "policy:\n  - id: p\n    max-transfer-size: 12T\n",
	  "3: policy[0].max-transfer-size: expected a size (N, NK, NM or NG; 1024-based) from 1K "
	  "to 1024G, got '12T'" },
	{ "policy:\n  - id: p\n    max-transfer-size: 2000G\n",
	  "3: policy[0].max-transfer-size: expected a size" },
	{ "policy:\n  - id: p\n    max-remove: 150%\n",
	  "3: policy[0].max-remove: expected a percentage from 0% to 100%, got '150%'" },
	{ "policy:\n  - id: p\n    max-remove: -1%\n", "3: policy[0].max-remove: expected a "
	                                               "percentage from 0% to 100%, got '-1%'" },
	{ "policy:\n  - id: p\n    refresh-jitter: 60%\n",
	  "3: policy[0].refresh-jitter: expected a percentage from 0% to 50%, got '60%'" },
	{ "policy:\n  - id: p\n    max-rr-size: 65536\n",
	  "3: policy[0].max-rr-size: expected a number from 1 to 65535, got '65536'" },
	{ "policy:\n  - id: p\n    max-rrs: [1]\n",
	  "3: policy[0].max-rrs: expected a number from 1 to 4294967295, got a list" },
	{ "policy:\n  - id: p\n  - id: q\n  - id: p\n",
	  "4: policy[2].id: duplicate id 'p' (first at line 2)" },
	{ "policy:\n  - max-rrs: 5\n", "2: policy[0]: id is required" },
	/* acl */
	{ "acl:\n  - id: a\n    address: [192.0.2.0/24, 198.51.100.0/33]\n",
	  "3: acl[0].address[1]: expected a prefix length from 0 to 32 after '/', got "
	  "'198.51.100.0/33'" },
	{ "acl:\n  - id: a\n    address: \"2001:db8::/129\"\n",
	  "3: acl[0].address: expected a prefix length from 0 to 128 after '/', got "
	  "'2001:db8::/129'" },
	{ "acl:\n  - id: a\n    address: [198.51.100.1/24]\n",
	  "3: acl[0].address[0]: '198.51.100.1/24' has bits set past /24 (expected "
	  "198.51.100.0/24)" },
	{ "acl:\n  - id: a\n    address: [300.1.1.1]\n",
	  "3: acl[0].address[0]: expected ADDR or ADDR/LEN (an IPv4 or IPv6 address or prefix), "
	  "got '300.1.1.1'" },
	{ "acl:\n  - id: a\n    address: [192.0.2.1/]\n", "3: acl[0].address[0]: expected a "
	                                                  "prefix length from 0 to 32" },
	{ "acl:\n  - id: a\n    address: []\n", "3: acl[0].address: expected at least one address "
	                                        "or prefix" },
	{ "acl:\n  - id: a\n", "2: acl[0]: address is required" },
	{ "acl:\n  - id: a\n    address: 192.0.2.1\n  - id: a\n    address: 192.0.2.2\n",
	  "4: acl[1].id: duplicate id 'a' (first at line 2)" },
	{ "acl:\n  - id: a\n    address: 192.0.2.1\n    key: nokey\n",
	  "4: acl[0].key: no key with id 'nokey'" },
	{ "acl:\n  - id: a\n    address: 192.0.2.1\n    action: notify\n",
	  "4: acl[0]: unknown key 'action' (expected id, address or key)" },
	/* zone */
	{ "zone:\n  - domain: a..b\n    primary: [192.0.2.1]\n",
	  "2: zone[0].domain: expected a domain name (such as example.com), got 'a..b'" },
	{ "zone:\n  - domain: " "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com\n"
	  "    primary: [192.0.2.1]\n",
	  "2: zone[0].domain: expected a domain name (such as example.com), got 'aaaa" },
	{ "zone:\n  - domain: \"exa mple.com\"\n    primary: [192.0.2.1]\n",
	  "2: zone[0].domain: expected a domain name (such as example.com), got 'exa mple.com'" },
	{ "zone:\n  - domain: \"\"\n    primary: [192.0.2.1]\n",
	  "2: zone[0].domain: expected a domain name (such as example.com), got ''" },
	{ "zone:\n  - domain: example.com\n", "2: zone[0]: primary is required (at least one)" },
	{ "zone:\n  - primary: [192.0.2.1]\n", "2: zone[0]: domain is required" },
	{ "zone:\n  - domain: example.com\n    primary: []\n",
	  "3: zone[0].primary: expected at least one primary" },
	{ "zone:\n  - domain: example.com\n    primary: foo\n",
	  "3: zone[0].primary[0].address: expected ADDR[@PORT] (an IPv4 or IPv6 address), got "
	  "'foo'" },
	{ ZONE "      - address: foo\n",
	  "5: zone[0].primary[1].address: expected ADDR[@PORT] (an IPv4 or IPv6 address), got "
	  "'foo'" },
	{ ZONE "      - address: 192.0.2.2@0\n",
	  "5: zone[0].primary[1].address: expected a port from 1 to 65535 after '@', got "
	  "'192.0.2.2@0'" },
	{ ZONE "      - address: 192.0.2.1@53\n",
	  "5: zone[0].primary[1].address: 192.0.2.1@53 is listed twice (also "
	  "zone[0].primary[0])" },
	{ ZONE "      - key: k\n", "5: zone[0].primary[1]: address is required" },
	{ ZONE "        port: 53\n", "5: zone[0].primary[0]: unknown key 'port' (expected "
	                             "address or key)" },
	{ ZONE "        key: nokey\n", "5: zone[0].primary[0].key: no key with id 'nokey'" },
	{ ZONE "    notify-acl: [nope]\n", "5: zone[0].notify-acl[0]: no acl with id 'nope'" },
	{ ZONE "    notify-acl: []\n", "5: zone[0].notify-acl: expected at least one acl id" },
	{ ZONE "    policy: strict\n", "5: zone[0].policy: no policy with id 'strict'" },
	{ ZONE "    policy: [a]\n", "5: zone[0].policy: expected a policy id, got a list" },
	{ ZONE "    template: {}\n", "5: zone[0]: unknown key 'template' (expected domain, "
	                             "primary, notify-acl or policy)" },
	{ ZONE "  - domain: EXAMPLE.com.\n    primary: [192.0.2.1]\n",
	  "5: zone[1].domain: example.com. is already configured at line 2" },
	{ ZONE "  - domain: example.org\n    primary: [192.0.2.1]\n"
	       "  - domain: example.org.\n    primary: [192.0.2.1]\n"
	       "  - domain: Example.Com\n    primary: [192.0.2.1]\n",
	  "7: zone[2].domain: example.org. is already configured at line 5" },
	/* catalog */
	{ ZONE "catalog:\n  - domain: example.com\n    primary: [192.0.2.1]\n",
	  "6: catalog[0].domain: example.com. is already configured at line 2" },
	{ "catalog:\n  - domain: c.example\n    primary: [192.0.2.1]\n    template:\n"
	  "      domain: x\n", "5: catalog[0].template: unknown key 'domain' (expected primary, "
	                     "notify-acl or policy)" },
	{ "catalog:\n  - domain: c.example\n    primary: [192.0.2.1]\n    template:\n"
	  "      primary: [bad]\n", "5: catalog[0].template.primary[0].address: expected "
	                            "ADDR[@PORT]" },
	{ "catalog:\n  - domain: c.example\n    primary: [192.0.2.1]\n    template: [a]\n",
	  "4: catalog[0].template: expected a mapping (key: value), got a list" },
};

static void t_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[1024], want[1024];
		int rc;
		struct cfg *c = load(bad[i].text, &rc, err, sizeof(err));
		cfg_free(c);
		if (getenv("TEST_VERBOSE") != NULL)
			print_message("%s\n", err);
		snprintf(want, sizeof(want), "%s:%s", cfg_path, subst(bad[i].want));
		if (rc == 0)
			fail_msg("case %zu: loaded, want '%s'", i, want);
		if (strncmp(err, want, strlen(want)) != 0)
			fail_msg("case %zu: got '%s', want a message starting '%s'", i, err, want);
		assert_int_equal(rc, strstr(want, "YAML") != NULL ? ED_ESYNTAX : ED_EINVAL);
	}
	print_message("%zu bad inputs\n", sizeof(bad) / sizeof(bad[0]));

	char err[512];
	struct cfg *c = (struct cfg *)1;
	assert_int_equal(cfg_load("/nonexistent/control.yaml", &c, err, sizeof(err)), ED_EIO);
	assert_null(c);
	assert_string_equal(err, "/nonexistent/control.yaml: No such file or directory");
}

/* A secret file owned by someone else: only root can make one. */
static void t_secret_owner(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	char p[256], err[1024], want[512];
	int rc;
	write_file("root.secret", SECRET32 "\n", 0600);
	snprintf(p, sizeof(p), "%s/root.secret", dir);
	assert_int_equal(chown(p, 1, 1), 0);
	struct cfg *c = load(KEYF("root.secret"), &rc, err, sizeof(err));
	assert_null(c);
	snprintf(want, sizeof(want), "%s:4: key[0].secret-file: '%s' is owned by uid 1, expected "
	         "root (uid 0)", cfg_path, p);
	assert_string_equal(err, want);
	assert_int_equal(chown(p, 0, 0), 0);
	c = load(KEYF("root.secret"), &rc, err, sizeof(err));
	assert_int_equal(rc, 0);
	cfg_free(c);
}

/* ---- file names ---------------------------------------------------------- */

static void expect_fn(const char *name, const char *want)
{
	char buf[CFG_ZONE_FILENAME_MAX + 1];
	size_t n = cfg_zone_filename(name, buf, sizeof(buf));
	if (want == NULL) {
		if (n != 0)
			fail_msg("'%s' gave '%s', want refusal", name, buf);
		return;
	}
	if (n == 0 || strcmp(buf, want) != 0)
		fail_msg("'%s' gave '%s' (%zu), want '%s'", name, n ? buf : "", n, want);
	assert_int_equal(n, strlen(buf));
}

/* Every result is one safe path component. */
static void check_safe(const char *s)
{
	size_t n = strlen(s);
	assert_true(n >= 1 && n <= CFG_ZONE_FILENAME_MAX);
	assert_true(strcmp(s, ".") != 0 && strcmp(s, "..") != 0);
	assert_true(s[0] != '.' && s[0] != '-');
	for (const char *c = s; *c != '\0'; c++)
		assert_non_null(strchr("abcdefghijklmnopqrstuvwxyz0123456789_-.%@~", *c));
}

static void t_filename(void **state)
{
	(void)state;
	expect_fn("example.com.", "example.com");
	expect_fn("Example.COM", "example.com");
	expect_fn(".", "@");
	expect_fn("_dmarc.x-y.example", "_dmarc.x-y.example");
	expect_fn("-rf.example", "%2drf.example");
	expect_fn("a-.example", "a-.example");
	/* Hostile names: as presentation text they are no names... */
	expect_fn("../etc", NULL);
	expect_fn("..", NULL);
	expect_fn("a//b", "a%2f%2fb");   /* one label */
	expect_fn("", NULL);
	expect_fn("a b.example", NULL);
	expect_fn("a\\", NULL);
	expect_fn("a\\256.example", NULL);
	/* ...and escaped they are labels, whose dots and slashes are escaped. */
	expect_fn("\\.\\./etc", "%2e%2e%2fetc");
	expect_fn("\\.\\.", "%2e%2e");
	expect_fn("\\.", "%2e");
	expect_fn("a/b.example", "a%2fb.example");
	expect_fn("\\.\\./\\.\\./etc/passwd.", "%2e%2e%2f%2e%2e%2fetc%2fpasswd");
	expect_fn("\\000\\010\\255%.example", "%00%0a%ff%25.example");
	expect_fn("\\065BC.example", "abc.example");   /* \065 is 'A': lowercased too */
	expect_fn("@.example", "%40.example");
	expect_fn("~x.example", "%7ex.example");
	expect_fn("a\\.b.example", "a%2eb.example");    /* one label "a.b" */
	expect_fn("a.b.example", "a.b.example");        /* two labels */

	/* 255-octet names: plain ones fit (253 characters is over the limit,
	 * so they are cut and hashed), hostile ones too, and two that differ
	 * only in their last label differ. */
	char l63[64], name[300], buf[CFG_ZONE_FILENAME_MAX + 1], buf2[CFG_ZONE_FILENAME_MAX + 1];
	memset(l63, 'a', 63);
	l63[63] = '\0';
	snprintf(name, sizeof(name), "%s.%s.%s.%.61s.", l63, l63, l63, l63);
	uint8_t w[256];
	assert_int_equal(cfgv_dname(name, w), 255);
	size_t n = cfg_zone_filename(name, buf, sizeof(buf));
	assert_int_equal(n, CFG_ZONE_FILENAME_MAX);
	check_safe(buf);
	assert_non_null(strchr(buf, '~'));
	assert_int_equal(strncmp(buf, l63, 63), 0);
	name[3 * 64 + 60] = 'b';   /* the last octet of the last label */
	assert_int_equal(cfg_zone_filename(name, buf2, sizeof(buf2)), n);
	check_safe(buf2);
	assert_string_not_equal(buf, buf2);
	assert_int_equal(strncmp(buf, buf2, n - 32), 0);   /* only the hash differs */
	/* One octet more is no name. */
	snprintf(name, sizeof(name), "%s.%s.%s.%.62s.", l63, l63, l63, l63);
	assert_int_equal(cfg_zone_filename(name, buf, sizeof(buf)), 0);
	/* All octets escaped: 4 labels of "\/" x 63 and "\." x 61. */
	char hostile[1100];
	size_t o = 0;
	for (int l = 0; l < 4; l++) {
		for (int i = 0; i < (l < 3 ? 63 : 61); i++)
			o += (size_t)snprintf(hostile + o, sizeof(hostile) - o, "%s",
			                      l % 2 ? "\\." : "/");
		hostile[o++] = '.';
	}
	hostile[o] = '\0';
	assert_int_equal(cfgv_dname(hostile, w), 255);
	n = cfg_zone_filename(hostile, buf, sizeof(buf));
	assert_true(n > 0 && n <= CFG_ZONE_FILENAME_MAX);
	check_safe(buf);
	assert_int_equal(strncmp(buf, "%2f%2f%2f", 9), 0);
	/* A buffer too small: refused, nothing cut silently. */
	assert_int_equal(cfg_zone_filename("example.com", buf, 11), 0);
	assert_int_equal(cfg_zone_filename("example.com", buf, 12), 11);
	/* Names that are found in a configuration map to the same file name
	 * whatever their spelling. */
	char a[64], b[64];
	assert_int_not_equal(cfg_zone_filename("EXAMPLE.com.", a, sizeof(a)), 0);
	assert_int_not_equal(cfg_zone_filename("\\101xample.com", b, sizeof(b)), 0);
	assert_string_equal(a, b);
	/* Every single-octet label: distinct, safe names. */
	char seen[256][8];
	for (int c = 0; c < 256; c++) {
		char nm[16];
		snprintf(nm, sizeof(nm), "\\%03d.x", c);
		n = cfg_zone_filename(nm, seen[c], sizeof(seen[c]));
		assert_true(n > 0);
		check_safe(seen[c]);
		for (int d = 0; d < c; d++)
			if (strcmp(seen[c], seen[d]) == 0 && !(c >= 'A' && c <= 'Z' && d == c + 32) &&
			    !(d >= 'A' && d <= 'Z' && c == d + 32))
				fail_msg("\\%03d and \\%03d both give %s", c, d, seen[c]);
	}
}

/* ---- the value syntax ---------------------------------------------------- */

static void t_values(void **state)
{
	(void)state;
	uint64_t v;
	int b;
	assert_int_equal(cfgv_duration("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(cfgv_duration("45", &v), 0);
	assert_int_equal(v, 45);
	assert_int_equal(cfgv_duration("3m", &v), 0);
	assert_int_equal(v, 180);
	assert_int_equal(cfgv_duration("2h", &v), 0);
	assert_int_equal(v, 7200);
	assert_int_equal(cfgv_duration("2d", &v), 0);
	assert_int_equal(v, 172800);
	assert_int_equal(cfgv_duration("1w", &v), 0);
	assert_int_equal(v, 604800);
	assert_int_equal(cfgv_duration("1ms", &v), -1);
	assert_int_equal(cfgv_duration("m", &v), -1);
	assert_int_equal(cfgv_duration(" 5", &v), -1);
	assert_int_equal(cfgv_duration("+5", &v), -1);
	assert_int_equal(cfgv_duration("5M", &v), -1);
	assert_int_equal(cfgv_duration("30500568904944w", &v), -1);   /* over 2^64 */
	assert_int_equal(cfgv_duration("30500568904943w", &v), 0);
	assert_int_equal(cfgv_duration("18446744073709551615", &v), 0);
	assert_int_equal(cfgv_duration("18446744073709551616", &v), -1);
	assert_int_equal(cfgv_size("512M", &v), 0);
	assert_int_equal(v, 512ull << 20);
	assert_int_equal(cfgv_size("4k", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(cfgv_size("1g", &v), 0);
	assert_int_equal(v, 1ull << 30);
	assert_int_equal(cfgv_size("1KB", &v), -1);
	assert_int_equal(cfgv_size("1T", &v), -1);
	assert_int_equal(cfgv_size("17179869184G", &v), -1);           /* 2^64 */
	assert_int_equal(cfgv_percent("50%", &v), 0);
	assert_int_equal(v, 50);
	assert_int_equal(cfgv_percent("50", &v), 0);
	assert_int_equal(cfgv_percent("50%%", &v), -1);
	assert_int_equal(cfgv_percent("%", &v), -1);
	assert_int_equal(cfgv_bool("TRUE", &b), 0);
	assert_int_equal(b, 1);
	assert_int_equal(cfgv_bool("off", &b), 0);
	assert_int_equal(b, 0);
	assert_int_equal(cfgv_bool("1", &b), -1);

	char s[32];
	cfgv_fmt_duration(90 * 86400, s, sizeof(s));
	assert_string_equal(s, "90d");
	cfgv_fmt_duration(0, s, sizeof(s));
	assert_string_equal(s, "0s");
	cfgv_fmt_duration(14 * 86400, s, sizeof(s));
	assert_string_equal(s, "2w");
	cfgv_fmt_duration(61, s, sizeof(s));
	assert_string_equal(s, "61s");
	cfgv_fmt_size(1ull << 40, s, sizeof(s));
	assert_string_equal(s, "1024G");
	cfgv_fmt_size(1536, s, sizeof(s));
	assert_string_equal(s, "1536");

	struct cfg_addr a;
	assert_int_equal(cfgv_addr("2001:DB8:0::1@853", 53, &a), 0);
	assert_string_equal(a.str, "2001:db8::1@853");
	assert_int_equal(cfgv_addr("::ffff:192.0.2.1", 53, &a), 0);
	assert_string_equal(a.str, "::ffff:192.0.2.1@53");
	assert_int_equal(cfgv_addr("192.0.2.1@65535", 53, &a), 0);
	assert_int_equal(cfgv_addr("192.0.2.1@65536", 53, &a), CFGV_BADPORT);
	assert_int_equal(cfgv_addr("192.0.2.1@", 53, &a), CFGV_BADPORT);
	assert_int_equal(cfgv_addr("192.0.2.1@53@53", 53, &a), CFGV_BADPORT);
	assert_int_equal(cfgv_addr("[2001:db8::1]:53", 53, &a), CFGV_BADADDR);
	assert_int_equal(cfgv_addr("fe80::1%eth0", 53, &a), CFGV_BADADDR);
	assert_int_equal(cfgv_addr("@53", 53, &a), CFGV_BADADDR);
	assert_int_equal(cfgv_addr("192.0.2", 53, &a), CFGV_BADADDR);
	assert_int_equal(cfgv_addr("localhost", 53, &a), CFGV_BADADDR);

	struct cfg_prefix p;
	assert_int_equal(cfgv_prefix("2001:db8:ffff::/33", &p), CFGV_HOSTBITS);
	cfgv_prefix_str(&p, s, sizeof(s));
	assert_string_equal(s, "2001:db8:8000::/33");
	assert_int_equal(cfgv_prefix("11.0.0.0/7", &p), CFGV_HOSTBITS);
	cfgv_prefix_str(&p, s, sizeof(s));
	assert_string_equal(s, "10.0.0.0/7");
	assert_int_equal(cfgv_prefix("::/0", &p), 0);
	assert_int_equal(cfgv_prefix("192.0.2.1/32", &p), 0);
	assert_int_equal(cfgv_prefix("192.0.2.1/-1", &p), CFGV_BADLEN);
	assert_int_equal(cfgv_prefix("192.0.2.1/024", &p), CFGV_HOSTBITS);
	assert_int_equal(cfgv_prefix("192.0.2.0@53", &p), CFGV_BADADDR);

	uint8_t out[CFG_SECRET_MAX];
	assert_int_equal(cfgv_base64(SECRET32, strlen(SECRET32), out, sizeof(out)), 32);
	assert_int_equal(out[31], 31);
	assert_int_equal(cfgv_base64("QUJD", 4, out, sizeof(out)), 3);
	assert_memory_equal(out, "ABC", 3);
	assert_int_equal(cfgv_base64("QUI=", 4, out, sizeof(out)), 2);
	assert_int_equal(cfgv_base64("QQ==", 4, out, sizeof(out)), 1);
	assert_int_equal(cfgv_base64("Q===", 4, out, sizeof(out)), -1);
	assert_int_equal(cfgv_base64("QQ=A", 4, out, sizeof(out)), -1);
	assert_int_equal(cfgv_base64("QUJ", 3, out, sizeof(out)), -1);
	assert_int_equal(cfgv_base64("QU D", 4, out, sizeof(out)), -1);
	assert_int_equal(cfgv_base64("QUJD", 4, out, 2), -2);
	assert_int_equal(cfgv_base64("", 0, out, sizeof(out)), -1);
}

/* A zone's only primary, keyless, may be written as a plain value. */
static void t_primary_scalar(void **state)
{
	(void)state;
	struct cfg *c = load_ok("zone:\n  - domain: example.com\n    primary: 192.0.2.1@5300\n");
	const struct cfg_zone *z = cfg_zone_find(c, "example.com");
	assert_non_null(z);
	assert_int_equal(z->n_primaries, 1);
	assert_string_equal(z->primaries[0].addr.str, "192.0.2.1@5300");
	assert_null(z->primaries[0].key);
	cfg_free(c);
}

/* The service and bgp sections: every key, and the defaults. */
static void t_anycast(void **state)
{
	(void)state;
	struct cfg *c = load_ok(
	    "service:\n"
	    "  - id: dns_1\n"
	    "    address: [203.0.113.53, 2001:db8:53::53/128]\n"
	    "    probe:\n"
	    "      - name: Example.COM\n"
	    "      - name: canary.example.com\n"
	    "        type: TXT\n"
	    "        rcode: NXDOMAIN\n"
	    "        expect: edge-ok\n"
	    "    critical-zone: example.com\n"
	    "    check:\n"
	    "      - command: /bin/true\n"
	    "        timeout: 250ms\n"
	    "        interval: 2s\n"
	    "    interval: 50ms\n"
	    "    probe-timeout: 80ms\n"
	    "    fall: 1\n"
	    "    rise: 5\n"
	    "    hold-down: 5s\n"
	    "    hold-down-max: 1m\n"
	    "    drain-time: 3s\n"
	    "    stop-drain-time: 5s\n"
	    "    signature-margin: 2d\n"
	    "    tcp-check: false\n"
	    "  - id: other\n"
	    "    address: 198.51.100.53\n"
	    "bgp:\n"
	    "  router-id: 192.0.2.2\n"
	    "  local-as: 4200000000\n"
	    "  socket: /run/x/bird.ctl\n"
	    "  config-file: /run/x/bird.conf\n"
	    "  bfd-interval: 50ms\n"
	    "  bfd-multiplier: 4\n"
	    "  neighbor:\n"
	    "    - address: 192.0.2.1\n"
	    "      as: 64500\n"
	    "      password-file: @D@/good.secret\n"
	    "    - address: 2001:db8::1@1179\n"
	    "      as: 64501\n"
	    "      bfd: false\n");
	assert_int_equal(c->n_services, 2);
	const struct cfg_service *s = &c->services[0];
	assert_string_equal(s->id, "dns_1");
	assert_int_equal(s->n_addrs, 2);
	assert_int_equal(s->addrs[0].family, AF_INET);
	assert_int_equal(s->addrs[1].family, AF_INET6);
	assert_int_equal(s->addrs[1].prefix_len, 128);
	assert_int_equal(s->n_probes, 2);
	assert_string_equal(s->probes[0].name, "example.com.");
	assert_int_equal(s->probes[0].type, LDNS_RR_TYPE_SOA);
	assert_int_equal(s->probes[0].rcode, 0);
	assert_null(s->probes[0].expect);
	assert_int_equal(s->probes[1].type, LDNS_RR_TYPE_TXT);
	assert_int_equal(s->probes[1].rcode, 3);
	assert_string_equal(s->probes[1].expect, "edge-ok");
	assert_int_equal(s->n_critical, 1);
	assert_string_equal(s->critical[0], "example.com.");
	assert_int_equal(s->n_checks, 1);
	assert_string_equal(s->checks[0].command, "/bin/true");
	assert_int_equal(s->checks[0].timeout_ms, 250);
	assert_int_equal(s->checks[0].interval_ms, 2000);
	assert_int_equal(s->interval_ms, 50);
	assert_int_equal(s->probe_timeout_ms, 80);
	assert_int_equal(s->fall, 1);
	assert_int_equal(s->rise, 5);
	assert_int_equal(s->hold_down, 5);
	assert_int_equal(s->hold_down_max, 60);
	assert_int_equal(s->drain_time, 3);
	assert_int_equal(s->stop_drain_time, 5);
	assert_int_equal(s->sig_margin, 2 * 86400);
	assert_int_equal(s->tcp_check, 0);
	s = &c->services[1];
	assert_int_equal(s->n_addrs, 1);
	assert_int_equal(s->interval_ms, 200);
	assert_int_equal(s->probe_timeout_ms, 100);
	assert_int_equal(s->fall, 2);
	assert_int_equal(s->rise, 3);
	assert_int_equal(s->hold_down, 30);
	assert_int_equal(s->hold_down_max, 600);
	assert_int_equal(s->drain_time, 10);
	assert_int_equal(s->stop_drain_time, 2);
	assert_int_equal(s->sig_margin, 86400);
	assert_int_equal(s->tcp_check, 1);
	const struct cfg_bgp *b = &c->bgp;
	assert_true(b->present);
	assert_int_equal(b->local_as, 4200000000u);
	assert_string_equal(b->socket, "/run/x/bird.ctl");
	assert_string_equal(b->config_file, "/run/x/bird.conf");
	assert_int_equal(b->bfd_interval_ms, 50);
	assert_int_equal(b->bfd_multiplier, 4);
	assert_int_equal(b->n_neighbors, 2);
	assert_string_equal(b->neighbors[0].addr.str, "192.0.2.1@179");
	assert_string_equal(b->neighbors[0].password, SECRET32);
	assert_true(b->neighbors[0].bfd);
	assert_string_equal(b->neighbors[1].addr.str, "2001:db8::1@1179");
	assert_null(b->neighbors[1].password);
	assert_false(b->neighbors[1].bfd);
	cfg_free(c);

	c = load_ok("bgp:\n  router-id: 192.0.2.2\n  local-as: 64512\n");
	assert_string_equal(c->bgp.socket, "/run/bird/bird.ctl");
	assert_null(c->bgp.config_file);
	assert_int_equal(c->bgp.bfd_interval_ms, 100);
	assert_int_equal(c->bgp.bfd_multiplier, 3);
	assert_int_equal(c->n_services, 0);
	cfg_free(c);
	c = load_ok("control: {}\n");
	assert_false(c->bgp.present);
	assert_int_equal(c->dataplane_lease_ms, CFG_LEASE_AUTO);
	cfg_free(c);
	/* the dead-man lease of the control section; 0 is off */
	static const struct { const char *v; uint32_t ms; } leases[] = {
		{ "8s", 8000 }, { "1500ms", 1500 }, { "0", 0 }, { "1h", 3600000 },
	};
	for (size_t i = 0; i < sizeof(leases) / sizeof(leases[0]); i++) {
		char text[80];
		snprintf(text, sizeof(text), "control:\n  dataplane-lease: %s\n", leases[i].v);
		c = load_ok(text);
		assert_int_equal(c->dataplane_lease_ms, leases[i].ms);
		cfg_free(c);
	}
	/* stop-drain-time 0: withdrawn at once */
	c = load_ok("service:\n  - id: dns\n    address: 203.0.113.53\n    stop-drain-time: 0\n");
	assert_int_equal(c->services[0].stop_drain_time, 0);
	cfg_free(c);

	uint64_t v;
	assert_int_equal(cfgv_duration_ms("250ms", &v), 0);
	assert_int_equal(v, 250);
	assert_int_equal(cfgv_duration_ms("3", &v), 0);
	assert_int_equal(v, 3000);
	assert_int_equal(cfgv_duration_ms("2m", &v), 0);
	assert_int_equal(v, 120000);
	assert_int_equal(cfgv_duration_ms("1h", &v), 0);
	assert_int_equal(v, 3600000);
	assert_int_equal(cfgv_duration_ms("ms", &v), -1);
	assert_int_equal(cfgv_duration_ms("5 ms", &v), -1);
	assert_int_equal(cfgv_duration_ms("5d", &v), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_anycast),
		cmocka_unit_test(t_full),
		cmocka_unit_test(t_defaults),
		cmocka_unit_test(t_errors),
		cmocka_unit_test(t_secret_owner),
		cmocka_unit_test(t_filename),
		cmocka_unit_test(t_values),
		cmocka_unit_test(t_primary_scalar),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
