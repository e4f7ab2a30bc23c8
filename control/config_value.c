/* config_value.c: the configuration's value syntax (config_int.h) and
 * cfg_zone_filename(). */
#include "config_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nettle/sha2.h>
#include <openssl/evp.h>

#include "dname.h"

/* ---- numbers ------------------------------------------------------------ */

/* Leading decimal digits of s into *out; *end after them. -1: none or
 * overflow. */
static int digits(const char *s, const char **end, uint64_t *out)
{
	uint64_t v = 0;
	const char *p = s;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (p == s)
		return -1;
	*end = p;
	*out = v;
	return 0;
}

/* Digits and at most one unit letter from units (mul[i] for units[i]). */
static int with_unit(const char *s, const char *units, const uint64_t *mul, uint64_t *out)
{
	const char *e;
	uint64_t v;
	if (digits(s, &e, &v) != 0)
		return -1;
	uint64_t m = 1;
	if (*e != '\0') {
		const char *u = strchr(units, *e);
		if (u == NULL || e[1] != '\0')
			return -1;
		m = mul[u - units];
	}
	if (v > UINT64_MAX / m)
		return -1;
	*out = v * m;
	return 0;
}

int cfgv_u64(const char *s, uint64_t *out)
{
	return with_unit(s, "", NULL, out);
}

static const uint64_t dur_mul[] = { 1, 60, 3600, 86400, 604800 };

int cfgv_duration(const char *s, uint64_t *out)
{
	return with_unit(s, "smhdw", dur_mul, out);
}

int cfgv_size(const char *s, uint64_t *out)
{
	static const uint64_t mul[] = { 1u << 10, 1u << 20, 1u << 30,
	                                1u << 10, 1u << 20, 1u << 30 };
	return with_unit(s, "KMGkmg", mul, out);
}

int cfgv_percent(const char *s, uint64_t *out)
{
	static const uint64_t mul[] = { 1 };
	return with_unit(s, "%", mul, out);
}

int cfgv_bool(const char *s, int *out)
{
	if (strcasecmp(s, "true") == 0 || strcasecmp(s, "yes") == 0 || strcasecmp(s, "on") == 0)
		*out = 1;
	else if (strcasecmp(s, "false") == 0 || strcasecmp(s, "no") == 0 ||
	         strcasecmp(s, "off") == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

void cfgv_fmt_duration(uint64_t v, char *buf, size_t size)
{
	static const char units[] = "wdhm";
	static const uint64_t mul[] = { 604800, 86400, 3600, 60 };
	for (int i = 0; i < 4; i++)
		if (v != 0 && v % mul[i] == 0) {
			snprintf(buf, size, "%llu%c", (unsigned long long)(v / mul[i]), units[i]);
			return;
		}
	snprintf(buf, size, "%llus", (unsigned long long)v);
}

void cfgv_fmt_size(uint64_t v, char *buf, size_t size)
{
	static const char units[] = "GMK";
	for (int i = 0; i < 3; i++) {
		uint64_t m = 1ull << (30 - 10 * i);
		if (v != 0 && v % m == 0) {
			snprintf(buf, size, "%llu%c", (unsigned long long)(v / m), units[i]);
			return;
		}
	}
	snprintf(buf, size, "%llu", (unsigned long long)v);
}

/* ---- addresses ---------------------------------------------------------- */

/* The address part of s (up to sep or the end) into bytes: AF_INET,
 * AF_INET6 or 0. *rest points at sep or the end. */
static int parse_ip(const char *s, char sep, uint8_t *bytes, const char **rest)
{
	const char *e = strchr(s, sep);
	if (e == NULL)
		e = s + strlen(s);
	char host[INET6_ADDRSTRLEN];
	size_t n = (size_t)(e - s);
	if (n == 0 || n >= sizeof(host))
		return 0;
	memcpy(host, s, n);
	host[n] = '\0';
	*rest = e;
	int af = memchr(host, ':', n) != NULL ? AF_INET6 : AF_INET;
	return inet_pton(af, host, bytes) == 1 ? af : 0;
}

int cfgv_addr(const char *s, uint16_t dport, struct cfg_addr *a)
{
	uint8_t b[16];
	const char *rest;
	int af = parse_ip(s, '@', b, &rest);
	if (af == 0)
		return CFGV_BADADDR;
	uint64_t port = dport;
	if (*rest == '@' && (cfgv_u64(rest + 1, &port) != 0 || port == 0 || port > 65535))
		return CFGV_BADPORT;
	memset(a, 0, sizeof(*a));
	char host[INET6_ADDRSTRLEN];
	if (af == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&a->ss;
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		memcpy(&in->sin_addr, b, 4);
		a->sslen = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a->ss;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		memcpy(&in6->sin6_addr, b, 16);
		a->sslen = sizeof(*in6);
	}
	inet_ntop(af, b, host, sizeof(host));
	snprintf(a->str, sizeof(a->str), "%s@%u", host, (unsigned)port);
	return 0;
}

int cfgv_prefix(const char *s, struct cfg_prefix *p)
{
	const char *rest;
	memset(p, 0, sizeof(*p));
	int af = parse_ip(s, '/', p->addr, &rest);
	if (af == 0)
		return CFGV_BADADDR;
	unsigned max = af == AF_INET ? 32 : 128;
	uint64_t len = max;
	if (*rest == '/' && (cfgv_u64(rest + 1, &len) != 0 || len > max))
		return CFGV_BADLEN;
	p->family = af;
	p->prefix_len = (unsigned)len;
	int hostbits = 0;
	for (unsigned i = 0; i < max / 8; i++) {
		unsigned keep = len >= 8 * (i + 1) ? 8 : len > 8 * i ? (unsigned)len - 8 * i : 0;
		uint8_t mask = (uint8_t)(0xff00u >> keep);
		if (p->addr[i] & ~mask)
			hostbits = 1;
		p->addr[i] &= mask;
	}
	return hostbits ? CFGV_HOSTBITS : 0;
}

void cfgv_prefix_str(const struct cfg_prefix *p, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN];
	inet_ntop(p->family, p->addr, host, sizeof(host));
	snprintf(buf, size, "%s/%u", host, p->prefix_len);
}

/* ---- names -------------------------------------------------------------- */

size_t cfgv_dname(const char *s, uint8_t *wire)
{
	if (*s == '\0')
		return 0;
	for (const unsigned char *c = (const unsigned char *)s; *c != '\0'; c++)
		if (*c <= 0x20 || *c >= 0x7f)
			return 0;
	size_t n = dname_from_str(s, wire);
	if (n != 0)
		dname_lower(wire, wire, n);
	return n;
}

size_t cfg_zone_filename(const char *name, char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t w[DNAME_MAXLEN + 1];
	size_t wlen = cfgv_dname(name, w);
	if (wlen == 0)
		return 0;
	char tmp[3 * DNAME_MAXLEN + 1];
	size_t o = 0;
	if (wlen == 1) {
		tmp[o++] = '@';
	}
	for (const uint8_t *l = w; *l != 0; l += 1 + *l) {
		if (l != w)
			tmp[o++] = '.';
		for (unsigned i = 1; i <= *l; i++) {
			uint8_t c = l[i];
			int plain = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
			            (c == '-' && o > 0);
			if (plain) {
				tmp[o++] = (char)c;
			} else {
				tmp[o++] = '%';
				tmp[o++] = hex[c >> 4];
				tmp[o++] = hex[c & 15];
			}
		}
	}
	if (o > CFG_ZONE_FILENAME_MAX) {
		/* Too long for a file name with room for suffixes: keep a prefix
		 * (whole %XX only) and tell names apart by their hash. '~' is
		 * never in an unhashed result. */
		o = CFG_ZONE_FILENAME_MAX - 33;
		if (tmp[o - 1] == '%')
			o -= 1;
		else if (tmp[o - 2] == '%')
			o -= 2;
		struct sha256_ctx ctx;
		uint8_t d[SHA256_DIGEST_SIZE];
		sha256_init(&ctx);
		sha256_update(&ctx, wlen, w);
		sha256_digest(&ctx, sizeof(d), d);
		tmp[o++] = '~';
		for (unsigned i = 0; i < 16; i++) {
			tmp[o++] = hex[d[i] >> 4];
			tmp[o++] = hex[d[i] & 15];
		}
	}
	if (o + 1 > size)
		return 0;
	memcpy(buf, tmp, o);
	buf[o] = '\0';
	return o;
}

/* ---- secrets ------------------------------------------------------------ */

long cfgv_base64(const char *s, size_t n, uint8_t *out, size_t cap)
{
	uint8_t tmp[(4096 / 4) * 3];
	if (n == 0 || n % 4 != 0 || n > 4096)
		return -1;
	size_t pad = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '=') {
			if (i + 2 < n)
				return -1;
			pad++;
		} else if (pad != 0 || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		                         (c >= '0' && c <= '9') || c == '+' || c == '/')) {
			return -1;
		}
	}
	size_t len = n / 4 * 3 - pad;
	if (len > cap)
		return -2;
	/* Checked above, so EVP_DecodeBlock() sees only whole quanta of the
	 * alphabet; it counts the padding as zero octets, which we drop. */
	if (EVP_DecodeBlock(tmp, (const unsigned char *)s, (int)n) < 0)
		return -1;
	memcpy(out, tmp, len);
	explicit_bzero(tmp, sizeof(tmp));
	return (long)len;
}

int cfgv_read_secret(const char *path, uint8_t *out, size_t *len, char *why, size_t whylen)
{
	char text[4097];
	/* O_NONBLOCK: a FIFO in its place must not hang the load; fstat()
	 * then refuses it. Checks on the open file, not the path. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		snprintf(why, whylen, "cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	int rc = -1;
	size_t n = 0;
	if (fstat(fd, &st) != 0) {
		snprintf(why, whylen, "cannot stat '%s': %s", path, strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "'%s' is not a regular file", path);
	} else if (st.st_uid != 0 && st.st_uid != geteuid()) {
		snprintf(why, whylen, "'%s' is owned by uid %u, expected root (uid 0)", path,
		         (unsigned)st.st_uid);
	} else if ((st.st_mode & 077) != 0) {
		snprintf(why, whylen,
		         "'%s' has mode %04o, expected no group or other permissions (chmod 600)",
		         path, (unsigned)(st.st_mode & 07777));
	} else {
		rc = 0;
		for (;;) {
			ssize_t r = read(fd, text + n, sizeof(text) - 1 - n);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				snprintf(why, whylen, "cannot read '%s': %s", path, strerror(errno));
				rc = -1;
				break;
			}
			if (r == 0)
				break;
			n += (size_t)r;
			if (n == sizeof(text) - 1) {
				snprintf(why, whylen, "'%s' is over 4096 octets, expected one line of base64",
				         path);
				rc = -1;
				break;
			}
		}
	}
	close(fd);
	if (rc == 0) {
		size_t m = n;
		if (m > 0 && text[m - 1] == '\n')
			m--;
		if (m > 0 && text[m - 1] == '\r')
			m--;
		long got = cfgv_base64(text, m, out, CFG_SECRET_MAX);
		if (got == -1) {
			snprintf(why, whylen, "'%s': expected one line of base64", path);
			rc = -1;
		} else if (got == -2) {
			snprintf(why, whylen, "'%s': the secret is over %d octets", path, CFG_SECRET_MAX);
			rc = -1;
		} else if (got < CFG_SECRET_MIN) {
			snprintf(why, whylen, "'%s': the secret has %ld octets, expected at least %d",
			         path, got, CFG_SECRET_MIN);
			rc = -1;
		} else {
			*len = (size_t)got;
		}
	}
	explicit_bzero(text, sizeof(text));
	if (rc != 0)
		explicit_bzero(out, CFG_SECRET_MAX);
	return rc;
}
