/* rdata_canon.c: canonical rdata (RFC 4034 6.2 and 6.3, RFC 6840 5.1). */
#include "rdata_canon.h"

#include <string.h>

#include "dname.h"
#include "dnsconst.h"

/* Lowercase the name at rd[*o], advance *o past it; -1 when malformed. */
static int lower_name_at(uint8_t *rd, size_t len, size_t *o)
{
	if (*o >= len)
		return -1;
	size_t n = dname_check(rd + *o, len - *o);
	if (n == 0)
		return -1;
	dname_lower(rd + *o, rd + *o, n);
	*o += n;
	return 0;
}

void rdata_canon_lower(uint16_t type, uint8_t *rd, size_t len)
{
	size_t o = 0;
	switch (type) {
	case T_NS: case T_MD: case T_MF: case T_CNAME: case T_MB: case T_MG:
	case T_MR: case T_PTR: case T_DNAME: case T_NXT:
		lower_name_at(rd, len, &o);
		break;
	case T_SOA: case T_MINFO: case T_RP:
		if (lower_name_at(rd, len, &o) == 0)
			lower_name_at(rd, len, &o);
		break;
	case T_MX: case T_AFSDB: case T_RT: case T_KX:
		o = 2;
		lower_name_at(rd, len, &o);
		break;
	case T_PX:
		o = 2;
		if (lower_name_at(rd, len, &o) == 0)
			lower_name_at(rd, len, &o);
		break;
	case T_SRV:
		o = 6;
		lower_name_at(rd, len, &o);
		break;
	case T_SIG: case T_RRSIG:
		o = 18;
		lower_name_at(rd, len, &o);
		break;
	case T_NAPTR:
		o = 4;
		for (int i = 0; i < 3 && o < len; i++)
			o += 1u + rd[o];
		lower_name_at(rd, len, &o);
		break;
	case T_A6:
		if (len > 0 && rd[0] <= 128) {
			o = 1u + (128u - rd[0] + 7u) / 8u;
			if (rd[0] > 0)
				lower_name_at(rd, len, &o);
		}
		break;
	default:
		break;
	}
}

int rdata_canon_type(uint16_t type)
{
	switch (type) {
	case T_NS: case T_MD: case T_MF: case T_CNAME: case T_MB: case T_MG:
	case T_MR: case T_PTR: case T_DNAME: case T_NXT: case T_SOA:
	case T_MINFO: case T_RP: case T_MX: case T_AFSDB: case T_RT: case T_KX:
	case T_PX: case T_SRV: case T_SIG: case T_RRSIG: case T_NAPTR: case T_A6:
		return 1;
	}
	return 0;
}

int rdata_canon_cmp(const uint8_t *a, size_t alen, const uint8_t *b,
                    size_t blen)
{
	size_t m = alen < blen ? alen : blen;
	int c = memcmp(a, b, m);
	if (c != 0)
		return c;
	if (alen != blen)
		return alen < blen ? -1 : 1;
	return 0;
}

int rdata_canon_equal(const uint8_t *a, size_t alen, const uint8_t *b,
                      size_t blen)
{
	return alen == blen && memcmp(a, b, alen) == 0;
}
