/* config.h: the configuration of edgedns-control, one YAML file.
 *
 *   control:
 *     socket: /run/edgedns/control.sock          # our JSON control socket
 *     dataplane-socket: /run/edgedns/dataplane.sock
 *     snapshot-dir: /var/lib/edgedns/snapshots
 *     state-dir: /var/lib/edgedns/state          # default: snapshot-dir; both
 *                                                # made at start when missing
 *     notify-listen: [192.0.2.2@53]              # ADDR[@PORT]; default none
 *     log: syslog                                # syslog | stderr
 *     dataplane-lease: 5s                        # dead-man lease renewed in
 *                                                # the dataplane every health
 *                                                # round (health.h); default
 *                                                # max(5s, 10 x the shortest
 *                                                # service interval); 0: off
 *   key:
 *     - id: xfr-key                              # a domain name: the TSIG name
 *       algorithm: hmac-sha256                   # | hmac-sha384 | hmac-sha512
 *       secret-file: /etc/edgedns/xfr-key.secret
 *   policy:
 *     - id: default                              # used by zones naming none
 *       require-zonemd: false
 *       rrsig-margin: 2d                         # N, Ns, Nm, Nh, Nd, Nw
 *       max-remove: 50%
 *       allow-ns-change: false
 *       max-transfer-size: 512M                  # N, NK, NM, NG (1024-based)
 *       max-rrs: 10000000
 *       max-rr-size: 65535
 *       transfer-timeout: 5m
 *       refresh-jitter: 10%
 *       notify-rate: 20
 *       max-primary-lag: 1h                      # a primary behind ours longer
 *                                                # than this is reported
 *   acl:
 *     - id: primaries
 *       address: [192.0.2.10, 198.51.100.0/24]   # addresses or prefixes
 *       key: xfr-key                             # optional
 *   zone:
 *     - domain: example.com
 *       primary:                                 # tried in this order
 *         - address: 192.0.2.10@53               # ADDR[@PORT], port 53
 *           key: xfr-key                         # optional
 *       notify-acl: [primaries]                  # optional
 *       policy: default                          # optional
 *   catalog:                                     # RFC 9432 consumer
 *     - domain: catalog.example
 *       primary: [...]                           # as a zone's
 *       notify-acl: [...]                        # optional, as a zone's
 *       policy: default                          # optional, as a zone's
 *       template:                                # what member zones get
 *         primary: [...]                         # default: the catalog's
 *         notify-acl: [...]                      # default: its primaries
 *         policy: default                        # default: "default"
 *   service:                                     # anycast services (health.h)
 *     - id: dns                                  # [a-z0-9_], at most 24
 *       address: [203.0.113.53, 2001:db8:53::53] # host addresses announced
 *       probe:                                   # in-band, every worker
 *         - name: example.com                    # SOA: the serial served
 *           type: SOA                            # optional
 *           rcode: NOERROR                       # optional
 *           expect: "edge-ok"                    # optional: first answer's
 *                                                # RDATA (TXT without quotes)
 *       critical-zone: [example.com]             # served, not expired
 *       check:                                   # operator commands
 *         - command: /usr/local/bin/check-x      # /bin/sh -c; exit 0: ok
 *           timeout: 1s                          # Nms, Ns, Nm
 *           interval: 1s
 *       interval: 200ms
 *       probe-timeout: 100ms
 *       fall: 2
 *       rise: 3
 *       hold-down: 30s                           # doubled per flap ...
 *       hold-down-max: 10m                       # ... up to this
 *       drain-time: 10s                          # RFC 8326 before withdraw
 *       stop-drain-time: 2s                      # the same at a stop of
 *                                                # control (SIGTERM); 0:
 *                                                # withdraw at once
 *       signature-margin: 1d
 *       tcp-check: true
 *       port: 53                                 # DNS port (TCP check)
 *       traffic-window: 3s                       # rx/tx must move; 0: off
 *   bgp:                                         # BIRD 2 (bgp/)
 *     router-id: 192.0.2.2
 *     local-as: 64512
 *     socket: /run/bird/bird.ctl
 *     config-file: /run/edgedns/bird.conf        # optional: written by us
 *     bfd-interval: 100ms
 *     bfd-multiplier: 3
 *     neighbor:
 *       - address: 192.0.2.1                     # ADDR[@PORT], port 179
 *         as: 64500
 *         password-file: /etc/edgedns/bgp.pw     # optional, mode 600
 *         bfd: true
 *
 * Every section and every key inside is optional except where said below;
 * keys are kebab-case, unknown keys are errors, a key twice in one mapping
 * is an error. Lists of addresses and of ACL ids may also be written as a
 * single scalar, and a primary without a key as its address alone
 * ("primary: [192.0.2.10, 2001:db8::10]", or "primary: 192.0.2.10" for
 * a single one). A section left empty ("acl:")
 * is an empty list. A policy entry's absent keys take the built-in
 * defaults (not those of the policy "default").
 *
 * Required: key.id, key.algorithm, key.secret-file; policy.id; acl.id,
 * acl.address (at least one); zone.domain and zone.primary (at least one);
 * the same for a catalog. ids are unique per kind; a zone name is unique
 * across zones and catalogs.
 *
 * Secret files: one line of base64 (a final newline allowed) decoding to
 * CFG_SECRET_MIN..CFG_SECRET_MAX octets; the file must be a regular file
 * owned by root or by the effective uid of the process (the daemon runs as
 * root, tests as themselves) and have no group or other permission bits.
 *
 * A zone's notify-acl, when absent, is one implicit ACL per primary: its
 * address (as a full-length prefix, any source port) and its key.
 *
 * Control-plane only: allocates, does I/O. A loaded struct cfg is immutable
 * and may be read by any number of threads; reload = load a new one, swap,
 * free the old.
 */
#ifndef EDGEDNS_CONFIG_H
#define EDGEDNS_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define CFG_DEFAULT_PATH "/etc/edgedns/control.yaml"
#define CFG_SECRET_MIN 16        /* octets; shorter TSIG secrets are refused */
#define CFG_SECRET_MAX 256
#define CFG_ADDR_STRLEN 56       /* "ffff:...:255.255.255.255@65535" + NUL */
#define CFG_LEASE_AUTO UINT32_MAX  /* dataplane-lease absent: see health.h */
#define CFG_ZONE_FILENAME_MAX 200 /* longest cfg_zone_filename() result:
                                    leaves 55 octets of NAME_MAX (255) for
                                    the caller's suffixes */

enum cfg_log { CFG_LOG_SYSLOG = 0, CFG_LOG_STDERR = 1 };

enum cfg_alg { CFG_HMAC_SHA256 = 0, CFG_HMAC_SHA384 = 1, CFG_HMAC_SHA512 = 2 };

/* A transport address: an IPv4 or IPv6 address and a port. */
struct cfg_addr {
	struct sockaddr_storage ss;  /* AF_INET or AF_INET6, port set */
	socklen_t sslen;             /* sizeof sockaddr_in or sockaddr_in6 */
	char str[CFG_ADDR_STRLEN];   /* "192.0.2.10@53", "2001:db8::10@53":
	                                normalized, for logs */
};

struct cfg_key {
	char *id;                    /* as written, e.g. "xfr-key" */
	char *tsig_name;             /* the TSIG key name: the id in canonical
	                                form, "xfr-key." */
	enum cfg_alg alg;
	const char *alg_name;        /* as ldns spells it: "hmac-sha256." */
	uint8_t *secret;             /* decoded; zeroed by cfg_free() */
	size_t secret_len;           /* CFG_SECRET_MIN..CFG_SECRET_MAX */
	char *secret_file;
	unsigned line;               /* of the entry, in the file */
};

/* What a zone version must pass before it is published. The built-in
 * defaults (cfg_policy_defaults()) are the values in the example above. */
struct cfg_policy {
	char *id;
	int require_zonemd;          /* 0/1: refuse a version without a valid
	                                ZONEMD (RFC 8976) */
	uint32_t rrsig_margin;       /* seconds, 0..90d: refuse a version whose
	                                RRSIGs expire sooner than this */
	unsigned max_remove;         /* percent 0..100: refuse a version
	                                removing more than this share of RRs */
	int allow_ns_change;         /* 0/1: 0 refuses a version changing the
	                                apex NS set */
	uint64_t max_transfer_size;  /* bytes, 1K..1024G */
	uint64_t max_rrs;            /* 1..4294967295 */
	uint32_t max_rr_size;        /* bytes of rdata, 1..65535 */
	uint32_t transfer_timeout;   /* seconds, 1s..1d */
	unsigned refresh_jitter;     /* percent 0..50 of the SOA timers */
	unsigned notify_rate;        /* NOTIFY accepted per second per zone,
	                                1..10000 */
	uint32_t max_primary_lag;    /* seconds, 0..90d: a primary whose serial
	                                stays behind the served one longer
	                                than this is reported as lagging */
	unsigned line;               /* 0: the built-in default */
};

/* One address or prefix of an ACL. Bits past prefix_len are zero. */
struct cfg_prefix {
	int family;                  /* AF_INET or AF_INET6 */
	uint8_t addr[16];            /* network order; 4 used for AF_INET */
	unsigned prefix_len;         /* 0..32 or 0..128 */
};

/* A source is allowed when its address is in one of entries and, when key
 * is set, its message is signed with that key. */
struct cfg_acl {
	char *id;                    /* implicit ACLs: "primary ADDR@PORT" */
	struct cfg_prefix *entries;
	unsigned n_entries;
	const struct cfg_key *key;   /* NULL: the address alone is enough */
	unsigned line;
};

struct cfg_primary {
	struct cfg_addr addr;
	const struct cfg_key *key;   /* NULL: no TSIG */
};

struct cfg_catalog;

/* A zone transferred from primaries. Also the shape of a catalog zone and
 * of a catalog's template (whose name is NULL). */
struct cfg_zone {
	char *name;                  /* canonical: lowercase, final dot,
	                                RFC 1035 escapes ("example.com.") */
	uint8_t apex[256];           /* the same in lowercase wire form */
	size_t apex_len;
	struct cfg_primary *primaries;  /* >= 1, in the order to try */
	unsigned n_primaries;
	const struct cfg_acl **notify_acl;  /* who may send NOTIFY: any one */
	unsigned n_notify_acl;
	const struct cfg_policy *policy;    /* never NULL once loaded */
	const struct cfg_catalog *catalog;  /* set when this is a catalog zone */
	unsigned line;               /* of its domain key in the file (a
	                                template: of the template key) */
	/* private: implicit ACLs (notify-acl absent) */
	struct cfg_acl *own_acl;
	unsigned n_own_acl;
};

struct cfg_catalog {
	struct cfg_zone zone;        /* the catalog zone itself */
	struct cfg_zone member;      /* template of member zones: name NULL,
	                                apex_len 0, primaries, notify_acl and
	                                policy resolved */
};

/* The in-band probe of a service: a query sent through every worker's
 * packet path to each of the service's addresses (health.h). */
struct cfg_probe {
	char *name;                  /* canonical, as a zone's name */
	uint16_t type;               /* default SOA */
	uint8_t rcode;               /* expected; default NOERROR */
	char *expect;                /* NULL: an SOA's serial must be the one
	                                control serves; else the first answer's
	                                RDATA in presentation form */
	unsigned line;
};

/* An operator-defined check: a command run with /bin/sh -c; exit 0 is
 * healthy. */
struct cfg_check {
	char *command;
	uint32_t timeout_ms;         /* default 1000 */
	uint32_t interval_ms;        /* default 1000 */
	unsigned line;
};

/* An anycast service: addresses announced together while healthy. */
struct cfg_service {
	char *id;                    /* [a-z0-9_], at most 24: BIRD protocol
	                                names anycast_ID_4 ... (bgp/) */
	struct cfg_prefix *addrs;    /* host prefixes, /32 and /128 */
	unsigned n_addrs;
	struct cfg_probe *probes;
	unsigned n_probes;
	char **critical;             /* zones that must be served (canonical) */
	unsigned n_critical;
	struct cfg_check *checks;
	unsigned n_checks;
	uint32_t interval_ms;        /* between rounds of checks; 200ms */
	uint32_t probe_timeout_ms;   /* 100ms */
	unsigned fall, rise;         /* 2, 3 */
	uint32_t hold_down;          /* s; 30 */
	uint32_t hold_down_max;      /* s; 600 */
	uint32_t drain_time;         /* s; 10 */
	uint32_t stop_drain_time;    /* s; 2: drained this long before the
	                                withdraw when control stops (SIGTERM,
	                                "stop"); 0: withdrawn at once */
	uint32_t sig_margin;         /* s; RRSIGs of critical zones must not
	                                expire sooner; 1d */
	int tcp_check;               /* query over TCP; default true */
	uint32_t port;               /* the DNS port of the addresses; 53 */
	uint32_t traffic_window_ms;  /* the ports' rx and tx counters must move
	                                within this; 0 (default): not checked */
	unsigned line;
};

struct cfg_neighbor {
	struct cfg_addr addr;        /* port 179 by default */
	uint32_t as;
	char *password;              /* from password-file; NULL: none */
	int bfd;                     /* default true */
	unsigned line;
};

/* The BIRD side (bgp/): present when the file has a bgp section. */
struct cfg_bgp {
	int present;
	struct cfg_addr router_id;   /* IPv4 */
	uint32_t local_as;
	char *socket;                /* BIRD's control socket;
	                                default /run/bird/bird.ctl */
	char *config_file;           /* NULL: control writes no BIRD config */
	uint32_t bfd_interval_ms;    /* 100ms */
	unsigned bfd_multiplier;     /* 3 */
	struct cfg_neighbor *neighbors;
	unsigned n_neighbors;
	unsigned line;
};

struct cfg {
	char *path;                  /* the file loaded */
	/* control: */
	char *socket;                /* default /run/edgedns/control.sock */
	char *dataplane_socket;      /* default /run/edgedns/dataplane.sock */
	char *snapshot_dir;          /* default /var/lib/edgedns/snapshots */
	char *state_dir;             /* default: snapshot_dir */
	struct cfg_addr *notify_listen;  /* default none */
	unsigned n_notify_listen;
	enum cfg_log log;            /* default CFG_LOG_SYSLOG */
	uint32_t dataplane_lease_ms; /* 0: off; 1000..3600000; default
	                                CFG_LEASE_AUTO */
	/* sections, in file order: */
	struct cfg_key *keys;
	unsigned n_keys;
	struct cfg_policy *policies;
	unsigned n_policies;
	const struct cfg_policy *default_policy;  /* the policy "default", or
	                                             the built-in one */
	struct cfg_acl *acls;
	unsigned n_acls;
	struct cfg_zone *zones;
	unsigned n_zones;
	struct cfg_catalog *catalogs;
	unsigned n_catalogs;
	struct cfg_service *services;
	unsigned n_services;
	struct cfg_bgp bgp;
	/* private */
	struct cfg_policy builtin_policy;
	const struct cfg_zone **by_name;  /* zones and catalog zones, sorted */
	unsigned n_by_name;
};

/* Read and check the file at path. On success *out is a new cfg (free with
 * cfg_free()) and 0 is returned. Otherwise *out is NULL, err holds one
 * line "path:line: context: what was expected, got what" (for example
 * "control.yaml:12: zone[0].primary[1].address: expected ADDR[@PORT] (an
 * IPv4 or IPv6 address), got 'foo'") and the return is ED_EIO (path
 * unreadable), ED_ESYNTAX (not YAML), ED_EINVAL (anything else in the file
 * or a secret file it names is wrong) or ED_ENOMEM. Reads the secret files. */
int cfg_load(const char *path, struct cfg **out, char *err, size_t errlen);

/* Free a cfg and everything in it; secrets are zeroed first. NULL: no-op. */
void cfg_free(struct cfg *cfg);

/* The zone or catalog zone named name (presentation form, any case, final
 * dot optional, RFC 1035 escapes); NULL when none or name is invalid. */
const struct cfg_zone *cfg_zone_find(const struct cfg *cfg, const char *name);

/* The policy of a zone: its own, else the cfg's default. Never NULL. */
const struct cfg_policy *cfg_zone_policy(const struct cfg *cfg,
                                         const struct cfg_zone *zone);

/* Fill p with the built-in default policy (id NULL, line 0). */
void cfg_policy_defaults(struct cfg_policy *p);

/* A file name component for the zone name (presentation form, any case,
 * final dot optional): safe to join to a directory with "/". All
 * lowercase; each label's octets outside [a-z0-9_-] (and a leading '-')
 * become %xx (lowercase hex);
 * labels joined by '.', no final dot; the root zone is "@". So the result
 * is never "", "." or "..", never holds '/' or a byte outside [a-z0-9_-.%@~],
 * and distinct zones get distinct names. When that would exceed
 * CFG_ZONE_FILENAME_MAX octets it is cut and ends in "~" and 32 hex digits
 * of the SHA-256 of the lowercase wire name. Writes the result and a NUL
 * into buf; returns its length, or 0 when name is not a valid domain name
 * or size is too small (size CFG_ZONE_FILENAME_MAX + 1 always suffices). */
size_t cfg_zone_filename(const char *name, char *buf, size_t size);

#endif
