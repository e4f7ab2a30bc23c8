/* test_service.c: the zone service's timer arithmetic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "service.h"

static void retry_backoff(void **st)
{
	(void)st;
	assert_int_equal(svc_retry_delay(60, 3600, 1), 60);
	assert_int_equal(svc_retry_delay(60, 3600, 2), 120);
	assert_int_equal(svc_retry_delay(60, 3600, 4), 480);
	assert_int_equal(svc_retry_delay(60, 3600, 7), 3600);    /* capped at REFRESH */
	assert_int_equal(svc_retry_delay(60, 3600, 1000), 3600); /* no overflow */
	assert_int_equal(svc_retry_delay(7200, 3600, 1), 3600);  /* RETRY > REFRESH */
	assert_int_equal(svc_retry_delay(0, 0, 3), 1);
}

static void jitter(void **st)
{
	(void)st;
	assert_int_equal(svc_jitter(1000, 0, 0.99), 1000);
	assert_int_equal(svc_jitter(1000, 10, 0.0), 900);
	assert_int_equal(svc_jitter(1000, 10, 0.5), 1000);
	assert_true(svc_jitter(1000, 10, 0.999999) <= 1100);
	assert_int_equal(svc_jitter(1, 50, 0.0), 1);
	assert_int_equal(svc_jitter(0, 0, 0.0), 1);
}

static void state_names(void **st)
{
	(void)st;
	assert_string_equal(svc_state_name(SVC_PUBLISHED), "published");
	assert_string_equal(svc_state_name(SVC_EXPIRED), "expired");
	assert_string_equal(svc_state_name((enum svc_state)99), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(retry_backoff),
		cmocka_unit_test(jitter),
		cmocka_unit_test(state_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
