/* test_catalog.c: catalog zone content (RFC 9432) and the saved member list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "catalog.h"
#include "error.h"

static const uint8_t APEX[] = "\3cat\4test";   /* + the final NUL: 10 octets */

static ldns_rr_list *zone_of(const char *text)
{
	ldns_rr_list *l = ldns_rr_list_new();
	char buf[4096];
	snprintf(buf, sizeof(buf), "%s", text);
	for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		ldns_rr *rr = NULL;
		assert_int_equal(ldns_rr_new_frm_str(&rr, line, 3600, NULL, NULL), LDNS_STATUS_OK);
		ldns_rr_list_push_rr(l, rr);
	}
	return l;
}

#define HEAD "cat.test. SOA ns hm 1 3600 600 86400 300\ncat.test. NS invalid.\n"

static int parse(const char *text, struct catz_set *set, char *err, size_t max)
{
	ldns_rr_list *l = zone_of(text);
	int rc = catz_parse(l, APEX, sizeof(APEX), max, set, err, 300);
	ldns_rr_list_deep_free(l);
	return rc;
}

static void members(void **st)
{
	(void)st;
	struct catz_set set;
	char err[300] = "";
	assert_int_equal(parse(HEAD "version.cat.test. TXT \"2\"\n"
	                       "b.zones.cat.test. PTR Zone-B.example.\n"
	                       "a.zones.cat.test. PTR zone-a.example.\n"
	                       "group.a.zones.cat.test. TXT \"g\"\n"
	                       "coo.a.zones.cat.test. PTR other.cat.\n"
	                       "x.y.zones.cat.test. PTR deeper.example.\n"
	                       "a.zones.cat.test. PTR zone-a.example.\n",   /* identical: once */
	                       &set, err, 0), 0);
	assert_int_equal(set.n, 2);
	assert_string_equal(set.m[0].name, "zone-a.example.");
	assert_string_equal(set.m[0].id, "a");
	assert_string_equal(set.m[1].name, "zone-b.example.");   /* lowercase */
	assert_non_null(catz_find(&set, (const uint8_t *)"\6zone-b\7example", 16));
	assert_null(catz_find(&set, (const uint8_t *)"\6zone-c\7example", 16));

	char dir[] = "/tmp/test_catalog.XXXXXX";
	assert_non_null(mkdtemp(dir));
	assert_int_equal(catz_save(dir, "cat.test.", 7, &set, err, sizeof(err)), 0);
	struct catz_set back;
	uint32_t serial = 0;
	assert_int_equal(catz_load(dir, "cat.test.", &back, &serial, err, sizeof(err)), 0);
	assert_int_equal(serial, 7);
	assert_int_equal(back.n, 2);
	assert_memory_equal(back.m[1].wire, set.m[1].wire, set.m[1].wire_len);
	assert_string_equal(back.m[1].id, "b");
	catz_set_free(&back);
	assert_int_equal(catz_load(dir, "other.test.", &back, &serial, err, sizeof(err)), ED_ENOENT);
	assert_int_equal(catz_remove(dir, "cat.test.", err, sizeof(err)), 0);
	assert_int_equal(catz_remove(dir, "cat.test.", err, sizeof(err)), ED_ENOENT);
	rmdir(dir);
	catz_set_free(&back);
	catz_set_free(&set);
}

static void refused(void **st)
{
	(void)st;
	struct catz_set set;
	char err[300];
	assert_int_equal(parse(HEAD "a.zones.cat.test. PTR a.example.\n", &set, err, 0), ED_EZONE);
	assert_non_null(strstr(err, "no version"));
	assert_int_equal(set.n, 0);
	assert_int_equal(parse(HEAD "version.cat.test. TXT \"1\"\n", &set, err, 0), ED_EZONE);
	assert_int_equal(parse(HEAD "version.cat.test. TXT \"2\"\nversion.cat.test. TXT \"3\"\n",
	                       &set, err, 0), ED_EZONE);
	assert_int_equal(parse(HEAD "version.cat.test. TXT \"2\"\n"
	                       "a.zones.cat.test. PTR a.example.\n"
	                       "a.zones.cat.test. PTR b.example.\n", &set, err, 0), ED_EZONE);
	assert_non_null(strstr(err, "more than one PTR"));
	assert_int_equal(parse(HEAD "version.cat.test. TXT \"2\"\n"
	                       "a.zones.cat.test. PTR a.example.\n"
	                       "b.zones.cat.test. PTR A.example.\n", &set, err, 0), ED_EZONE);
	assert_non_null(strstr(err, "listed twice"));
	assert_int_equal(parse(HEAD "version.cat.test. TXT \"2\"\n"
	                       "a.zones.cat.test. PTR a.example.\n"
	                       "b.zones.cat.test. PTR b.example.\n", &set, err, 1), ED_ELIMIT);
	assert_int_equal(parse(HEAD "version.cat.test. CH TXT \"2\"\n", &set, err, 0), ED_EZONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(members),
		cmocka_unit_test(refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
