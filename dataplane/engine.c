/* engine.c: placeholder while the engine is written; answers REFUSED. */
#include "engine.h"

#include <string.h>

size_t eng_answer(const struct eng_conf *conf, const struct zoneset *zs,
                  const uint8_t *q, size_t qlen, uint8_t *resp, size_t cap,
                  const struct eng_xport *x)
{
	if (qlen < 12 || cap < 12 || (q[2] & 0x80))
		return 0;
	memcpy(resp, q, 12);
	resp[2] = (uint8_t)((q[2] & 0x79) | 0x80);
	resp[3] = 5;
	memset(resp + 4, 0, 8);
	return 12;
}
