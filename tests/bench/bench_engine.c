/* bench_engine.c: the answer engine alone, in one process, on one core.
 *
 * edgedns-bench [-r ROUNDS] [-b BURST] QUERYFILE SNAPSHOT...
 * Loads the snapshots, builds every query of QUERYFILE ("name type do" per
 * line) in memory, then answers them all ROUNDS times in run_queries(),
 * the function callgrind counts (--toggle-collect=run_queries).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dname.h"
#include "engine.h"
#include "error.h"
#include "snapshot.h"
#include "zoneset.h"

struct query {
	uint16_t len;
	uint8_t wire[300];
};

static uint16_t type_code(const char *t)
{
	if (strcmp(t, "A") == 0) return 1;
	if (strcmp(t, "NS") == 0) return 2;
	if (strcmp(t, "CNAME") == 0) return 5;
	if (strcmp(t, "SOA") == 0) return 6;
	if (strcmp(t, "MX") == 0) return 15;
	if (strcmp(t, "TXT") == 0) return 16;
	if (strcmp(t, "AAAA") == 0) return 28;
	return (uint16_t)atoi(t);
}

static size_t build_query(uint8_t *w, const char *name, uint16_t type, int dobit, uint16_t id)
{
	memset(w, 0, 12);
	w[0] = (uint8_t)(id >> 8);
	w[1] = (uint8_t)id;
	w[5] = 1;
	size_t n = dname_from_str(name, w + 12);
	if (n == 0)
		return 0;
	size_t p = 12 + n;
	w[p++] = (uint8_t)(type >> 8);
	w[p++] = (uint8_t)type;
	w[p++] = 0;
	w[p++] = 1;
	if (dobit) {
		static const uint8_t opt[11] = { 0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0 };
		memcpy(w + p, opt, sizeof(opt));
		p += sizeof(opt);
		w[11] = 1;
	}
	return p;
}

static int burst = ENG_BURST_MAX;

/* Answer every query once, in bursts as a dataplane lcore does (or one by
 * one with -b 1); returns a checksum of the response sizes so the work
 * cannot be optimised away. Counted by callgrind. */
__attribute__((noinline)) uint64_t run_queries(const struct zoneset *zs,
                                               const struct query *qs, size_t n,
                                               uint64_t *rcodes)
{
	static const struct eng_conf conf = { 0 };
	static const struct eng_xport xp = { ENG_UDP, NULL, 0 };
	static uint8_t resp[ENG_BURST_MAX][1500];
	struct eng_msg m[ENG_BURST_MAX];
	uint64_t sum = 0;
	if (burst <= 1) {
		for (size_t i = 0; i < n; i++) {
			size_t len = eng_answer(&conf, zs, qs[i].wire, qs[i].len, resp[0],
			                        sizeof(resp[0]), &xp);
			sum += len;
			rcodes[resp[0][3] & 0xf]++;
		}
		return sum;
	}
	for (size_t i = 0; i < n; i += (size_t)burst) {
		unsigned k = (unsigned)(n - i < (size_t)burst ? n - i : (size_t)burst);
		for (unsigned j = 0; j < k; j++) {
			m[j].q = qs[i + j].wire;
			m[j].qlen = qs[i + j].len;
			m[j].resp = resp[j];
			m[j].cap = sizeof(resp[j]);
			m[j].client = NULL;
			m[j].now = 0;
		}
		eng_answer_burst(&conf, zs, m, k, ENG_UDP);
		for (unsigned j = 0; j < k; j++) {
			sum += m[j].rlen;
			rcodes[resp[j][3] & 0xf]++;
		}
	}
	return sum;
}

int main(int argc, char **argv)
{
	int rounds = 5, opt;
	while ((opt = getopt(argc, argv, "r:b:")) != -1) {
		if (opt == 'r')
			rounds = atoi(optarg);
		else if (opt == 'b')
			burst = atoi(optarg);
		else
			return 2;
	}
	if (burst > ENG_BURST_MAX)
		burst = ENG_BURST_MAX;
	if (argc - optind < 2) {
		fprintf(stderr, "usage: edgedns-bench [-r ROUNDS] [-b BURST] QUERYFILE SNAPSHOT...\n");
		return 2;
	}
	const char *qfile = argv[optind++];
	int nsnap = argc - optind;
	const struct snap **snaps = calloc((size_t)nsnap, sizeof(*snaps));
	for (int i = 0; i < nsnap; i++) {
		char err[512];
		struct snap *s;
		int rc = snap_open(argv[optind + i], 0, &s, err, sizeof(err));
		if (rc != 0) {
			fprintf(stderr, "edgedns-bench: %s\n", err);
			return 1;
		}
		snaps[i] = s;
	}
	int zerr;
	struct zoneset *zs = zs_new(snaps, (uint32_t)nsnap, &zerr);
	if (zs == NULL) {
		fprintf(stderr, "edgedns-bench: zoneset: %s\n", ed_strerror(zerr));
		return 1;
	}
	FILE *f = fopen(qfile, "r");
	if (f == NULL) {
		perror(qfile);
		return 1;
	}
	size_t cap = 1u << 20, n = 0;
	struct query *qs = malloc(cap * sizeof(*qs));
	char name[300], type[16];
	int dobit;
	while (fscanf(f, "%299s %15s %d", name, type, &dobit) == 3) {
		if (n == cap) {
			cap *= 2;
			qs = realloc(qs, cap * sizeof(*qs));
		}
		size_t len = build_query(qs[n].wire, name, type_code(type), dobit, (uint16_t)n);
		if (len == 0)
			continue;
		qs[n++].len = (uint16_t)len;
	}
	fclose(f);

	uint64_t rcodes[16] = { 0 };
	uint64_t sum = run_queries(zs, qs, n, rcodes);   /* warm-up */
	memset(rcodes, 0, sizeof(rcodes));
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int r = 0; r < rounds; r++)
		sum += run_queries(zs, qs, n, rcodes);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double sec = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	double total = (double)n * rounds;
	printf("queries: %zu x %d rounds\n", n, rounds);
	printf("rcodes: NOERROR %llu NXDOMAIN %llu other %llu\n",
	       (unsigned long long)rcodes[0], (unsigned long long)rcodes[3],
	       (unsigned long long)(total - rcodes[0] - rcodes[3]));
	printf("engine: %.2f M queries/s on one core (%.1f ns/query), bursts of %d, mean response %.1f B\n",
	       total / sec / 1e6, sec * 1e9 / total, burst, (double)sum / (total + (double)n));
	return 0;
}
