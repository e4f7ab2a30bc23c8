/* test_rrsort.c: the canonical order of ldns RRs (control/rrsort.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "rrsort.h"

static const char *const zone[] = {
	"example. 300 IN SOA ns.example. h.example. 1 1 1 1 1",
	"example. NS ns.example.", "example. NS NS2.example.", "EXAMPLE. NS a.example.",
	"a.example. A 192.0.2.1", "A.example. A 192.0.2.0", "a.example. 60 A 192.0.2.1",
	"z.example. TXT \"x\"", "*.example. A 192.0.2.9", "\\000.example. A 192.0.2.8",
	"\\001.example. A 192.0.2.7", "\\001\\001.example. A 192.0.2.6", "ab.example. A 192.0.2.4",
	"a.a.example. A 192.0.2.5", "b.a.example. MX 10 Mail.example.",
	"b.a.example. MX 10 mail.example.", "b.a.example. MX 5 z.example.",
	"yljkjljk.a.example. NSEC3 1 1 12 aabbccdd 2t7b4g4vsa5smi47k61mv5bv1a22bojr MX",
	"a.example. TXT \"a\"", "a.example. TXT \"\"", "a.example. TYPE65280 \\# 0",
	NULL,
};

static ldns_rr_list *parse(void)
{
	ldns_rr_list *l = ldns_rr_list_new();
	for (const char *const *t = zone; *t; t++) {
		ldns_rr *rr = NULL;
		assert_int_equal(ldns_rr_new_frm_str(&rr, *t, 3600, NULL, NULL), LDNS_STATUS_OK);
		ldns_rr_list_push_rr(l, rr);
	}
	return l;
}

/* For one class, the order is ldns_rr_compare()'s (that the text of a
 * published version and IXFR application used before rrsort). */
static void test_same_as_ldns(void **state)
{
	(void)state;
	ldns_rr_list *l = parse();
	size_t n = ldns_rr_list_rr_count(l);
	ldns_rr **v = malloc(n * sizeof(*v));
	/* every rotation of the input sorts the same way */
	for (size_t r = 0; r < n; r++) {
		for (size_t i = 0; i < n; i++)
			v[i] = ldns_rr_list_rr(l, (i + r) % n);
		assert_int_equal(rrsort_sort(v, n), 0);
		assert_true(rrsort_is_sorted(v, n));
		for (size_t i = 1; i < n; i++) {
			int c = ldns_rr_compare(v[i - 1], v[i]);
			assert_true(c <= 0);
			assert_int_equal(rrsort_cmp(v[i - 1], v[i]) == 0, c == 0);
		}
	}
	/* stable: equal RRs (a.example. A 192.0.2.1 with two TTLs, the MX
	 * with Mail and mail) keep the order they had */
	for (size_t i = 0; i < n; i++)
		v[i] = ldns_rr_list_rr(l, i);
	assert_int_equal(rrsort_sort(v, n), 0);
	int equal = 0;
	for (size_t i = 1; i < n; i++) {
		if (rrsort_cmp(v[i - 1], v[i]) != 0)
			continue;
		size_t a = 0, b = 0;
		while (ldns_rr_list_rr(l, a) != v[i - 1])
			a++;
		while (ldns_rr_list_rr(l, b) != v[i])
			b++;
		assert_true(a < b);
		equal++;
	}
	assert_int_equal(equal, 2);
	free(v);
	ldns_rr_list_deep_free(l);
}

/* rrsort_list(): the SOA first, the rest sorted; a sorted list as it is. */
static void test_list(void **state)
{
	(void)state;
	ldns_rr_list *l = parse();
	ldns_rr *soa = ldns_rr_list_pop_rr(l);
	ldns_rr_list *m = ldns_rr_list_new();
	ldns_rr_list_push_rr(m, ldns_rr_list_rr(l, 3));
	ldns_rr_list_push_rr(m, soa);
	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++)
		if (i != 3)
			ldns_rr_list_push_rr(m, ldns_rr_list_rr(l, i));
	assert_int_equal(rrsort_list(m), 0);
	assert_int_equal(ldns_rr_get_type(ldns_rr_list_rr(m, 0)), LDNS_RR_TYPE_SOA);
	assert_true(rrsort_list_is_sorted(m, 1));
	assert_false(rrsort_list_is_sorted(l, 0));
	ldns_rr_list_free(l);
	ldns_rr_list_deep_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_as_ldns),
		cmocka_unit_test(test_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
