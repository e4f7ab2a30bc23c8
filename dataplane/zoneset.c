/* zoneset.c: the immutable zone table the engine reads. */
#include "zoneset.h"

#include <stdlib.h>
#include <string.h>

#include "dname.h"
#include "error.h"

struct zoneset *zs_new(const struct snap *const *snaps, uint32_t n, int *err)
{
	return zs_new_flags(snaps, NULL, n, err);
}

struct zoneset *zs_new_flags(const struct snap *const *snaps, const uint32_t *flags,
                             uint32_t n, int *err)
{
	uint32_t slots = 4;
	while (slots < 2u * n + 2u)
		slots <<= 1;
	struct zoneset *zs = calloc(1, sizeof(*zs) + slots * sizeof(struct zs_slot));
	if (zs == NULL)
		goto nomem;
	zs->zones = calloc(n ? n : 1, sizeof(*zs->zones));
	if (zs->zones == NULL)
		goto nomem;
	zs->mask = slots - 1;
	zs->min_labels = 255;
	for (uint32_t i = 0; i < n; i++) {
		const struct snap *s = snaps[i];
		const uint8_t *apex = s->hdr->apex;
		uint64_t h = dname_hash(apex);
		uint32_t j = (uint32_t)h & zs->mask;
		while (zs->slots[j].snap != NULL) {
			const struct snap *o = zs->slots[j].snap;
			if (zs->slots[j].hash_hi == (uint32_t)(h >> 32) && o->hdr->apex_len == s->hdr->apex_len &&
			    memcmp(o->hdr->apex, apex, s->hdr->apex_len) == 0) {
				zs_free(zs);
				if (err)
					*err = ED_EEXIST;
				return NULL;
			}
			j = (j + 1) & zs->mask;
		}
		zs->slots[j].hash_hi = (uint32_t)(h >> 32);
		zs->slots[j].flags = flags != NULL ? flags[i] : 0;
		zs->slots[j].snap = s;
		zs->zones[zs->nzones++] = s;
		unsigned labels = dname_labels(apex);
		if (labels < zs->min_labels)
			zs->min_labels = (uint8_t)labels;
		if (labels > zs->max_labels)
			zs->max_labels = (uint8_t)labels;
	}
	if (err)
		*err = ED_OK;
	return zs;
nomem:
	zs_free(zs);
	if (err)
		*err = ED_ENOMEM;
	return NULL;
}

void zs_free(struct zoneset *zs)
{
	if (zs == NULL)
		return;
	free(zs->zones);
	free(zs);
}

