/* hex.h: hex strings from the command line (NSID, cookie secrets). */
#ifndef EDGEDNS_HEX_H
#define EDGEDNS_HEX_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline int hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode hex digits s (an even number of them) into out (at most cap
 * octets). Returns the octet count, or -1 for an odd length, a non-hex
 * digit or more than cap octets; out may be partly written then. */
static inline long hex_decode(const char *s, uint8_t *out, size_t cap)
{
	size_t n = strlen(s);
	if (n % 2 != 0 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (long)(n / 2);
}

#endif
