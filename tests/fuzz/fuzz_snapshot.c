/* fuzz_snapshot.c: corrupted snapshot images against the loader.
 *
 * The input is a list of edits (4-octet offset, 1-octet value) applied to a
 * valid image; the loader runs without the checksum so the structural
 * checks are what stands between the bytes and the engine. Whatever the
 * loader accepts must then answer queries without a fault.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dname.h"
#include "engine.h"
#include "fuzz_common.h"
#include "snapshot.h"
#include "zoneset.h"

static void *good;
static size_t good_len;

static const char *const QUERIES[] = {
	"f.test.", "mail.f.test.", "x.f.test.", "a.b.f.test.", "q.d.f.test.",
	"www.sub.f.test.", "srv.f.test.", "txt.f.test.", "b.f.test.", "zz.f.test.",
};
static const uint16_t TYPES[] = { 1, 2, 6, 15, 16, 28, 33, 43, 47, 255, 46 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (good == NULL)
		fuzz_build_zone(&good, &good_len);
	uint8_t *img = malloc(good_len);
	memcpy(img, good, good_len);
	size_t len = good_len;
	for (size_t i = 0; i + 5 <= size; i += 5) {
		uint32_t off;
		memcpy(&off, data + i, 4);
		if (off == 0xffffffffu) {       /* truncate */
			len = data[i + 4] * (good_len / 256);
			continue;
		}
		img[off % good_len] = data[i + 4];
	}
	struct snap *s = NULL;
	if (snap_open_mem(img, len, SNAP_OPEN_NOCHECKSUM, &s, NULL, 0) == 0) {
		const struct snap *one = s;
		struct zoneset *zs = zs_new(&one, 1, NULL);
		if (zs != NULL) {
			static uint8_t resp[65536];
			struct eng_xport x = { ENG_TCP, NULL, 0 };
			static const struct eng_conf conf;
			for (size_t qi = 0; qi < sizeof(QUERIES) / sizeof(QUERIES[0]); qi++) {
				for (size_t ti = 0; ti < sizeof(TYPES) / sizeof(TYPES[0]); ti++) {
					uint8_t q[300] = { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1 };
					size_t n = dname_from_str(QUERIES[qi], q + 12) + 12;
					q[n++] = 0; q[n++] = (uint8_t)TYPES[ti]; q[n++] = 0; q[n++] = 1;
					static const uint8_t opt[11] = { 0, 0, 41, 4, 0xd0, 0, 0, 0x80, 0, 0, 0 };
					memcpy(q + n, opt, 11);
					n += 11;
					eng_answer(&conf, zs, q, n, resp, sizeof(resp), &x);
				}
			}
			zs_free(zs);
		}
		snap_close(s);
	}
	free(img);
	return 0;
}
