/* engine_wire.c: writing rrsets into the response: owner placement, name
 * compression, pointer relocation, squeezing sets that do not fit. */
#include "engine_int.h"

/* Position of the suffix that starts k octets into the (uncompressed form
 * of the) name written at pos in the response. Follows pointers we wrote. */
uint16_t eng_suffix_pos(const uint8_t *r, uint16_t pos, unsigned k)
{
	for (unsigned guard = 0; guard < 256; guard++) {
		uint8_t l = r[pos];
		if (l >= 0xc0) {
			pos = (uint16_t)(((l & 0x3f) << 8) | r[pos + 1]);
			continue;
		}
		if (k == 0)
			return pos;
		k -= 1u + l;
		pos = (uint16_t)(pos + 1u + l);
	}
	return pos;
}

/* Write a 2-octet pointer to pos, or the lowercase name lc when pos cannot
 * be pointed to. */
bool eng_put_ref(struct ctx *c, uint16_t pos, const uint8_t *lc)
{
	if (pos <= PTR_MAX) {
		if (!room(c, 2))
			return false;
		wr16(c->r + c->pos, (uint16_t)(0xc000u | pos));
		c->pos += 2;
		return true;
	}
	size_t n = dname_len(lc);
	if (!room(c, n))
		return false;
	memcpy(c->r + c->pos, lc, n);
	c->pos += n;
	return true;
}

/* Write the lowercase name lc, compressed against the question name: its
 * labels not shared with the qname's suffix, then a pointer. Returns the
 * position written at, or 0 when out of room. */
uint16_t eng_put_name(struct ctx *c, const uint8_t *lc)
{
	uint8_t off[DNAME_MAXLABELS];
	unsigned n = dname_label_offsets(lc, off);
	size_t len = (size_t)off[n] + 1;
	/* Longest common label suffix with the question name. */
	unsigned i = n, j = c->q->nlab;
	while (i > 0 && j > 0) {
		unsigned li = lc[off[i - 1]], lj = c->q->lc[c->q->off[j - 1]];
		if (li != lj || memcmp(lc + off[i - 1], c->q->lc + c->q->off[j - 1], li + 1u) != 0)
			break;
		i--;
		j--;
	}
	uint16_t at = (uint16_t)c->pos;
	if (i == n && j == c->q->nlab) {
		/* Only the root in common: write it whole. */
		if (!room(c, len))
			return 0;
		memcpy(c->r + c->pos, lc, len);
		c->pos += len;
		return at;
	}
	size_t lit = off[i];
	if (!room(c, lit + 2))
		return 0;
	memcpy(c->r + c->pos, lc, lit);
	c->pos += lit;
	wr16(c->r + c->pos, (uint16_t)(0xc000u | (12u + c->q->off[j])));
	c->pos += 2;
	return at;
}


/* Squeeze mode: write the rdata name at src (its leading labels, then the
 * root or an owner-relative pointer) compressed against the rdata names
 * written before it in this rrset, when one of them shares a suffix that
 * starts within the leading labels. *used gets the stored octets consumed.
 * Returns false when nothing was found to point to (nothing written). */
static bool squeeze_name(struct ctx *c, const uint8_t *src, const struct owner *o,
                         size_t *used, bool *fit)
{
	uint8_t lc[DNAME_MAXLEN + 1], off[DNAME_MAXLABELS];
	size_t lit = 0;
	while (src[lit] != 0 && src[lit] < 0xc0)
		lit += 1u + src[lit];
	size_t len;
	if (src[lit] == 0) {
		len = lit + 1;
		*used = len;
	} else {
		if (o->wild)
			return false;
		unsigned k = (unsigned)(((src[lit] & 0x3f) << 8) | src[lit + 1]) - 12u;
		size_t tail = dname_len(o->lc + k);
		if (lit + tail > DNAME_MAXLEN)
			return false;
		memcpy(lc + lit, o->lc + k, tail);
		len = lit + tail;
		*used = lit + 2;
	}
	memcpy(lc, src, lit);
	dname_lower(lc, lc, len);
	unsigned n = dname_label_offsets(lc, off);
	for (unsigned j = 0; j < n && off[j] < lit; j++) {
		size_t slen = len - off[j];
		for (unsigned i = 0; i < c->nsq; i++) {
			uint8_t b[DNAME_MAXLEN + 1 + 8], boff[DNAME_MAXLABELS];
			size_t bl = eng_read_name(c->r, c->sq_pos[i], c->pos, b);
			if (bl < slen || memcmp(b + bl - slen, lc + off[j], slen) != 0)
				continue;
			unsigned bn = dname_label_offsets(b, boff);
			bool boundary = false;
			for (unsigned k = 0; k <= bn; k++)
				boundary |= boff[k] == bl - slen;
			if (!boundary)
				continue;
			uint16_t at = eng_suffix_pos(c->r, c->sq_pos[i], (unsigned)(bl - slen));
			if (at > PTR_MAX)
				continue;
			*fit = room(c, (size_t)off[j] + 2);
			if (*fit) {
				memcpy(c->r + c->pos, src, off[j]);
				c->pos += off[j];
				wr16(c->r + c->pos, (uint16_t)(0xc000u | at));
				c->pos += 2;
			}
			return true;
		}
	}
	return false;
}

/* Copy one rdata name from the snapshot wire at *src, translating the
 * owner-relative pointers to where the owner really is. */
static bool copy_rdname(struct ctx *c, const uint8_t **src, const struct owner *o)
{
	const uint8_t *s = *src;
	if (c->squeeze) {
		size_t at = c->pos, used = 0;
		bool fit = true, done = squeeze_name(c, s, o, &used, &fit);
		if (fit && c->nsq < sizeof(c->sq_pos) / sizeof(c->sq_pos[0]) && at <= PTR_MAX)
			c->sq_pos[c->nsq++] = (uint16_t)at;
		if (done) {
			*src = s + used;
			return fit;
		}
	}
	for (;;) {
		uint8_t l = *s;
		if (l == 0) {
			if (!room(c, 1))
				return false;
			c->r[c->pos++] = 0;
			s++;
			break;
		}
		if (l >= 0xc0) {
			unsigned k = (unsigned)(((l & 0x3f) << 8) | s[1]) - 12u;
			s += 2;
			if (o->wild) {
				if (k == 0) {
					/* the wildcard owner itself: its "*" label */
					if (!room(c, 2))
						return false;
					c->r[c->pos++] = 1;
					c->r[c->pos++] = '*';
					k = 2;
				}
				k = (unsigned)((int)k + o->shift);
			}
			uint16_t at = o->pos <= PTR_MAX ? eng_suffix_pos(c->r, o->pos, k) : 0xffff;
			if (!eng_put_ref(c, at, o->lc + k))
				return false;
			break;
		}
		if (!room(c, 1u + l))
			return false;
		memcpy(c->r + c->pos, s, 1u + l);
		c->pos += 1u + l;
		s += 1u + l;
	}
	*src = s;
	return true;
}

/* Move the owner-relative pointers in one RR's rdata (validated layout of
 * NS, CNAME, PTR, MX, SOA) by delta. */
static void shift_name(uint8_t *p, uint16_t delta)
{
	while (*p != 0 && *p < 0xc0)
		p += 1u + *p;
	if (*p >= 0xc0)
		wr16(p, (uint16_t)(rd16(p) + delta));
}

static void shift_rdata(uint8_t *rd, uint16_t type, uint16_t delta)
{
	switch (type) {
	case T_MX:
		shift_name(rd + 2, delta);
		break;
	case T_SOA: {
		uint8_t *p = rd;
		while (*p != 0 && *p < 0xc0)
			p += 1u + *p;
		shift_name(rd, delta);
		shift_name(p + (*p == 0 ? 1 : 2), delta);
		break;
	}
	case T_NS: case T_CNAME: case T_PTR:
		shift_name(rd, delta);
		break;
	}
}

void eng_place_rrset(uint8_t *r, const struct snap_rrset *rs, uint16_t owner,
                     uint32_t ttl)
{
	bool reloc = owner != 12 && (rs->flags & SNAP_RRSET_RELOC);
	for (unsigned i = 0; i < rs->count; i++) {
		uint16_t rdlen = rd16(r + 10);
		wr16(r, (uint16_t)(0xc000u | owner));
		if (ttl != TTL_KEEP)
			wr32(r + 6, ttl);
		if (reloc)
			shift_rdata(r + 12, rs->type, (uint16_t)(owner - 12u));
		r += 12u + rdlen;
	}
}

/* Write an rrset from the snapshot. ttl: TTL_KEEP keeps the stored TTL. On no room
 * nothing is left written and false is returned. *rdata0 (may be NULL) gets
 * the response position of the first RR's rdata. */
bool eng_put_rrset(struct ctx *c, const struct snap_rrset *rs, struct owner *o,
                      uint32_t ttl, uint16_t *rdata0)
{
	const uint8_t *w = snap_rrset_wire(rs);
	size_t start = c->pos;
	uint16_t opos = o->pos;
	uint16_t first_rdata = 0;

	bool compressible = rs->type == T_NS || rs->type == T_MX || rs->type == T_CNAME ||
	                    rs->type == T_PTR || rs->type == T_SOA;
	if (!o->wild && !c->squeeze && o->pos >= 12 && o->pos < 12u + c->q->len) {
		/* The owner is the question name or one of its suffixes, which
		 * sit uncompressed in the question: the stored bytes are final
		 * but for the owner pointers and the owner-relative pointers in
		 * rdata, which move by where that suffix starts. */
		if (room(c, rs->wlen)) {
			uint8_t *r = c->r + c->pos;
			memcpy(r, w, rs->wlen);
			c->pos += rs->wlen;
			first_rdata = (uint16_t)(start + 12);
			if (o->pos != 12 || ttl != TTL_KEEP)
				eng_place_rrset(r, rs, o->pos, ttl);
			goto done;
		}
		if (!compressible)
			return false;
		/* too big as stored: try the slow path, which can squeeze */
	}
	bool reloc = (rs->flags & SNAP_RRSET_RELOC) != 0 || (c->squeeze && compressible);
	for (unsigned i = 0; i < rs->count; i++) {
		uint16_t rdlen = rd16(w + 10);
		/* owner */
		if (o->pos == 0) {
			o->pos = eng_put_name(c, o->lc);
			if (o->pos == 0)
				goto full;
		} else if (!eng_put_ref(c, o->pos, o->lc)) {
			goto full;
		}
		if (!room(c, 10))
			goto full;
		uint8_t *f = c->r + c->pos;
		memcpy(f, w + 2, 10);
		if (ttl != TTL_KEEP)
			wr32(f + 4, ttl);
		c->pos += 10;
		if (i == 0)
			first_rdata = (uint16_t)c->pos;
		const uint8_t *rd = w + 12;
		if (!reloc) {
			if (!room(c, rdlen))
				goto full;
			memcpy(c->r + c->pos, rd, rdlen);
			c->pos += rdlen;
		} else {
			size_t rstart = c->pos;
			const uint8_t *rend = rd + rdlen;
			switch (rs->type) {
			case T_MX:
				if (!room(c, 2))
					goto full;
				memcpy(c->r + c->pos, rd, 2);
				c->pos += 2;
				rd += 2;
				if (!copy_rdname(c, &rd, o))
					goto full;
				break;
			case T_SOA:
				if (!copy_rdname(c, &rd, o) || !copy_rdname(c, &rd, o))
					goto full;
				break;
			default: /* NS, CNAME, PTR */
				if (!copy_rdname(c, &rd, o))
					goto full;
				break;
			}
			size_t rest = (size_t)(rend - rd);
			if (!room(c, rest))
				goto full;
			memcpy(c->r + c->pos, rd, rest);
			c->pos += rest;
			wr16(c->r + rstart - 2, (uint16_t)(c->pos - rstart));
		}
		w += 12u + rdlen;
	}
done:
	c->cnt[c->sect] = (uint16_t)(c->cnt[c->sect] + rs->count);
	if (rdata0 != NULL)
		*rdata0 = first_rdata;
	return true;
full:
	c->pos = start;
	o->pos = opos;
	if (!c->squeeze && compressible && rs->count > 1) {
		c->squeeze = true;
		c->nsq = 0;
		bool ok = eng_put_rrset(c, rs, o, ttl, rdata0);
		c->squeeze = false;
		return ok;
	}
	return false;
}

/* Note the target names of NS/MX/SRV RRs just written at [start, pos), for
 * the additional section. */
static void note_targets(struct ctx *c, size_t start, uint16_t type, unsigned count,
                         const struct snap *s)
{
	unsigned skip = type == T_MX ? 2 : type == T_SRV ? 6 : type == T_NS ? 0 : 99;
	if (skip == 99)
		return;
	size_t p = start;
	c->addl_zone = s;
	for (unsigned i = 0; i < count && p < c->pos; i++) {
		/* owner: pointer or name */
		while (c->r[p] != 0 && c->r[p] < 0xc0)
			p += 1u + c->r[p];
		p += c->r[p] == 0 ? 1 : 2;
		uint16_t rdlen = rd16(c->r + p + 8);
		size_t rd = p + 10;
		if (rdlen > skip && c->naddl < MAX_ADDL && rd + skip <= PTR_MAX)
			c->addl[c->naddl++] = (uint16_t)(rd + skip);
		p = rd + rdlen;
	}
}

/* Write an rrset and, with DNSSEC, its signatures; note additional targets.
 * On no room: TC (answer, authority) and false. */
bool eng_put_set(struct ctx *c, const struct snap *s, const struct snap_rrset *rs,
                    struct owner *o, uint32_t ttl, uint16_t *rdata0)
{
	size_t start = c->pos;
	uint16_t cnt = c->cnt[c->sect];
	if (!eng_put_rrset(c, rs, o, ttl, rdata0))
		goto full;
	if (c->dnssec && rs->sigs != 0) {
		struct owner so = *o;
		if (!eng_put_rrset(c, snap_rrset_at(s, rs->sigs), &so, ttl, NULL)) {
			c->pos = start;
			c->cnt[c->sect] = cnt;
			goto full;
		}
	}
	if (c->sect != S_AR)
		note_targets(c, start, rs->type, rs->count, s);
	return true;
full:
	if (c->sect != S_AR)
		c->tc = true;
	return false;
}

/* Read the (possibly compressed) name at pos of the response, lowercase,
 * into out, which must have 8 octets of slack past DNAME_MAXLEN + 1. The
 * name may come from rdata copied verbatim (SRV), so it is checked: only
 * octets before end are read; 0 when it is not a well-formed name. */
size_t eng_read_name(const uint8_t *r, size_t pos, size_t end, uint8_t *out)
{
	size_t o = 0;
	for (unsigned guard = 0; guard < 128; guard++) {
		if (pos >= end)
			return 0;
		uint8_t l = r[pos];
		if (l >= 0xc0) {
			if (pos + 1 >= end)
				return 0;
			pos = (size_t)(((l & 0x3f) << 8) | r[pos + 1]);
			continue;
		}
		if (l > DNAME_LABEL_MAX || o + 1u + l > DNAME_MAXLEN || pos + 1u + l > end)
			return 0;
		if (pos + 72 <= end) {
			/* whole words: out has slack, and r is readable to end */
			for (unsigned i = 0; i < 1u + l; i += 8)
				memcpy(out + o + i, r + pos + i, 8);
		} else {
			memcpy(out + o, r + pos, 1u + l);
		}
		o += 1u + l;
		if (l == 0) {
			for (size_t i = 0; i < o; i += 8) {
				uint64_t w;
				memcpy(&w, out + i, 8);
				w = dname_lower_word(w);
				memcpy(out + i, &w, 8);
			}
			return o;
		}
		pos += 1u + l;
	}
	return 0;
}
