/* dname.c: wire-name helpers shared by the compiler, the loader and the engine. */
#include "dname.h"

#include <stdio.h>

size_t dname_len(const uint8_t *name)
{
	const uint8_t *p = name;
	while (*p != 0)
		p += 1u + *p;
	return (size_t)(p - name) + 1u;
}

unsigned dname_labels(const uint8_t *name)
{
	unsigned n = 0;
	while (*name != 0) {
		name += 1u + *name;
		n++;
	}
	return n;
}

size_t dname_check(const uint8_t *name, size_t maxlen)
{
	size_t i = 0;
	for (;;) {
		if (i >= maxlen || i >= DNAME_MAXLEN)
			return 0;
		uint8_t l = name[i];
		if (l == 0)
			return i + 1;
		if (l > DNAME_LABEL_MAX)
			return 0;   /* compression pointer or reserved label type */
		i += 1u + l;
	}
}

void dname_lower(uint8_t *dst, const uint8_t *src, size_t len)
{
	for (size_t i = 0; i < len; i++)
		dst[i] = dname_lower_octet(src[i]);
	/* Length octets are <= 63 and so never in 'A'..'Z': lowering the whole
	 * buffer leaves them intact. */
}

unsigned dname_label_offsets(const uint8_t *name, uint8_t *off)
{
	unsigned n = 0;
	unsigned pos = 0;
	while (name[pos] != 0) {
		off[n++] = (uint8_t)pos;
		pos += 1u + name[pos];
	}
	off[n] = (uint8_t)pos;
	return n;
}

void dname_hash_suffixes(const uint8_t *lname, const uint8_t *off, unsigned n,
                         uint64_t *hs)
{
	uint64_t h = DNAME_HASH_SEED;
	hs[n] = h;
	for (unsigned i = n; i-- > 0;) {
		h = dname_hash_step(h, lname + off[i]);
		hs[i] = h;
	}
}

uint64_t dname_hash(const uint8_t *lname)
{
	uint8_t off[DNAME_MAXLABELS];
	uint64_t hs[DNAME_MAXLABELS + 1];
	unsigned n = dname_label_offsets(lname, off);
	dname_hash_suffixes(lname, off, n, hs);
	return hs[0];
}

int dname_canon_cmp(const uint8_t *a, const uint8_t *b)
{
	uint8_t oa[DNAME_MAXLABELS], ob[DNAME_MAXLABELS];
	unsigned na = dname_label_offsets(a, oa);
	unsigned nb = dname_label_offsets(b, ob);
	/* Compare from the root leftward; the name with fewer labels sorts
	 * first when all its labels match. */
	while (na > 0 && nb > 0) {
		const uint8_t *la = a + oa[--na];
		const uint8_t *lb = b + ob[--nb];
		unsigned m = la[0] < lb[0] ? la[0] : lb[0];
		int c = memcmp(la + 1, lb + 1, m);
		if (c != 0)
			return c;
		if (la[0] != lb[0])
			return la[0] < lb[0] ? -1 : 1;
	}
	return (na > 0) - (nb > 0);
}

int dname_is_sub(const uint8_t *sub, const uint8_t *parent)
{
	size_t ls = dname_len(sub), lp = dname_len(parent);
	if (lp > ls)
		return 0;
	/* The parent must start on a label boundary of sub. */
	const uint8_t *p = sub;
	while ((size_t)(p - sub) < ls - lp)
		p += 1u + *p;
	return (size_t)(p - sub) == ls - lp && memcmp(p, parent, lp) == 0;
}

char *dname_to_str(const uint8_t *name, char *buf, size_t size)
{
	size_t o = 0;
	if (size == 0)
		return buf;
#define PUT(c) do { if (o + 1 < size) buf[o++] = (char)(c); } while (0)
	if (*name == 0)
		PUT('.');
	while (*name != 0) {
		uint8_t l = *name++;
		for (uint8_t i = 0; i < l; i++, name++) {
			uint8_t c = *name;
			if (c == '.' || c == '\\' || c == '"' || c == ';' || c == '(' ||
			    c == ')' || c == '@' || c == '$') {
				PUT('\\');
				PUT(c);
			} else if (c <= 0x20 || c >= 0x7f) {
				char d[5];
				snprintf(d, sizeof(d), "\\%03u", c);
				for (int k = 0; k < 4; k++)
					PUT(d[k]);
			} else {
				PUT(c);
			}
		}
		PUT('.');
	}
#undef PUT
	buf[o] = 0;
	return buf;
}

size_t dname_from_str(const char *s, uint8_t *out)
{
	size_t o = 0;
	if (s[0] == '.' && s[1] == 0) {
		out[0] = 0;
		return 1;
	}
	while (*s != 0) {
		size_t lpos = o++;
		unsigned l = 0;
		while (*s != 0 && *s != '.') {
			unsigned c = (unsigned char)*s++;
			if (c == '\\') {
				if (s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9' &&
				    s[2] >= '0' && s[2] <= '9') {
					c = (unsigned)((s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0'));
					if (c > 255)
						return 0;
					s += 3;
				} else if (*s != 0) {
					c = (unsigned char)*s++;
				} else {
					return 0;
				}
			}
			if (l >= DNAME_LABEL_MAX || o + 1 >= DNAME_MAXLEN)
				return 0;
			out[o++] = (uint8_t)c;
			l++;
		}
		if (l == 0)
			return 0;   /* empty label */
		out[lpos] = (uint8_t)l;
		if (*s == '.')
			s++;
	}
	if (o + 1 > DNAME_MAXLEN)
		return 0;
	out[o++] = 0;
	return o;
}
