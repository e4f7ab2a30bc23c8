/* test_health_policy.c: the announce/drain/withdraw state machine
 * (control/health_policy.h) in simulated time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "health_policy.h"

static const struct hp_conf C = {
	.fall = 2, .rise = 3, .hold_ms = 30000, .hold_max_ms = 600000, .drain_ms = 10000,
};

/* n rounds of verdict ok, 100 ms apart from *now; the number of route
 * changes. */
static int rounds(struct hp *m, int ok, unsigned n, uint64_t *now)
{
	int changes = 0;
	for (unsigned i = 0; i < n; i++) {
		*now += 100;
		changes += hp_round(m, &C, ok, ok ? NULL : "probe: lcore 1 timeout", *now);
	}
	return changes;
}

static void t_fail_closed_and_rise(void **state)
{
	(void)state;
	struct hp m;
	uint64_t now = 1000;
	hp_init(&m);
	assert_int_equal(m.route, HP_WITHDRAWN);
	assert_int_equal(rounds(&m, 1, 2, &now), 0);
	assert_int_equal(m.route, HP_WITHDRAWN);
	/* a failure in between restarts the count */
	assert_int_equal(rounds(&m, 0, 1, &now), 0);
	assert_int_equal(rounds(&m, 1, 2, &now), 0);
	assert_int_equal(rounds(&m, 1, 1, &now), 1);
	assert_int_equal(m.route, HP_ANNOUNCED);
	assert_string_equal(m.reason, "healthy");
	assert_int_equal(m.transitions, 1);
}

static void t_fall_withdraws_with_hold(void **state)
{
	(void)state;
	struct hp m;
	uint64_t now = 0;
	hp_init(&m);
	rounds(&m, 1, 3, &now);
	assert_int_equal(m.route, HP_ANNOUNCED);
	/* one failure is not enough */
	assert_int_equal(rounds(&m, 0, 1, &now), 0);
	assert_int_equal(m.route, HP_ANNOUNCED);
	assert_int_equal(rounds(&m, 1, 1, &now), 0);
	assert_int_equal(rounds(&m, 0, 1, &now), 0);
	assert_int_equal(rounds(&m, 0, 1, &now), 1);
	assert_int_equal(m.route, HP_WITHDRAWN);
	assert_string_equal(m.reason, "unhealthy: probe: lcore 1 timeout");
	assert_int_equal(m.flaps, 1);
	uint64_t down = now;
	assert_int_equal(m.hold_until, down + 30000);
	/* healthy again at once: held down */
	rounds(&m, 1, 10, &now);
	assert_int_equal(m.route, HP_WITHDRAWN);
	now = down + 29900;
	assert_int_equal(hp_round(&m, &C, 1, NULL, now), 0);
	now = down + 30000;
	assert_int_equal(hp_round(&m, &C, 1, NULL, now), 1);
	assert_int_equal(m.route, HP_ANNOUNCED);
	assert_string_equal(m.reason, "healthy after hold-down");
}

static void t_flaps_grow_hold_then_decay(void **state)
{
	(void)state;
	struct hp m;
	uint64_t now = 0;
	hp_init(&m);
	rounds(&m, 1, 3, &now);
	uint64_t want[] = { 30000, 60000, 120000, 240000, 480000, 600000, 600000 };
	for (unsigned i = 0; i < 7; i++) {
		rounds(&m, 0, 2, &now);
		assert_int_equal(m.route, HP_WITHDRAWN);
		assert_int_equal(m.flaps, i + 1);
		assert_int_equal(m.hold_until - now, want[i]);
		assert_int_equal(hp_hold_ms(&C, i + 1), want[i]);
		now = m.hold_until;
		rounds(&m, 1, 3, &now);
		assert_int_equal(m.route, HP_ANNOUNCED);
	}
	/* announced for hold-down-max: the flaps are forgotten */
	now += C.hold_max_ms;
	rounds(&m, 1, 1, &now);
	assert_int_equal(m.flaps, 0);
	rounds(&m, 0, 2, &now);
	assert_int_equal(m.hold_until - now, 30000);
}

static void t_maintenance_drains_then_withdraws(void **state)
{
	(void)state;
	struct hp m;
	uint64_t now = 0;
	hp_init(&m);
	rounds(&m, 1, 3, &now);
	assert_int_equal(hp_maintenance(&m, &C, 1, now), 1);
	assert_int_equal(m.route, HP_DRAINING);
	uint64_t start = now;
	rounds(&m, 1, 5, &now);
	assert_int_equal(m.route, HP_DRAINING);
	assert_int_equal(hp_tick(&m, &C, start + 9999), 0);
	assert_int_equal(hp_tick(&m, &C, start + 10000), 1);
	assert_int_equal(m.route, HP_WITHDRAWN);
	assert_string_equal(m.reason, "maintenance: drained, withdrawn");
	/* no flap, no hold for a drain; stays down while in maintenance */
	assert_int_equal(m.flaps, 0);
	now = start + 20000;
	rounds(&m, 1, 10, &now);
	assert_int_equal(m.route, HP_WITHDRAWN);
	assert_int_equal(hp_maintenance(&m, &C, 0, now), 1);
	assert_int_equal(m.route, HP_ANNOUNCED);
}

static void t_maintenance_while_withdrawn_and_drain_interrupted(void **state)
{
	(void)state;
	struct hp m;
	uint64_t now = 0;
	hp_init(&m);
	/* maintenance from the start: never announced */
	assert_int_equal(hp_maintenance(&m, &C, 1, now), 0);
	rounds(&m, 1, 5, &now);
	assert_int_equal(m.route, HP_WITHDRAWN);
	assert_int_equal(hp_maintenance(&m, &C, 0, now), 1);
	assert_int_equal(m.route, HP_ANNOUNCED);
	/* a drain ended by the operator: announced again */
	hp_maintenance(&m, &C, 1, now);
	assert_int_equal(m.route, HP_DRAINING);
	assert_int_equal(hp_maintenance(&m, &C, 0, now + 10), 1);
	assert_int_equal(m.route, HP_ANNOUNCED);
	/* a drain cut short by failures: withdrawn at once, with a hold */
	hp_maintenance(&m, &C, 1, now);
	rounds(&m, 0, 2, &now);
	assert_int_equal(m.route, HP_WITHDRAWN);
	assert_string_equal(m.reason, "unhealthy while draining: probe: lcore 1 timeout");
}

static void t_adopt(void **state)
{
	(void)state;
	struct hp m;
	uint64_t now = 5000;
	hp_init(&m);
	hp_adopt(&m, &C, HP_ANNOUNCED, now);
	assert_int_equal(m.route, HP_ANNOUNCED);
	/* healthy rounds change nothing; one failure neither */
	assert_int_equal(rounds(&m, 1, 3, &now), 0);
	assert_int_equal(rounds(&m, 0, 1, &now), 0);
	assert_int_equal(rounds(&m, 0, 1, &now), 1);
	assert_int_equal(m.route, HP_WITHDRAWN);
	hp_init(&m);
	hp_adopt(&m, &C, HP_WITHDRAWN, now);
	assert_int_equal(rounds(&m, 1, 2, &now), 0);
	assert_int_equal(rounds(&m, 1, 1, &now), 1);
	/* a drain found in place (maintenance saved): drain-time again */
	hp_init(&m);
	m.maintenance = 1;
	hp_adopt(&m, &C, HP_DRAINING, now);
	assert_int_equal(hp_tick(&m, &C, now + 1), 0);
	assert_int_equal(m.route, HP_DRAINING);
	assert_int_equal(hp_tick(&m, &C, now + C.drain_ms), 1);
	assert_int_equal(m.route, HP_WITHDRAWN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_fail_closed_and_rise),
		cmocka_unit_test(t_fall_withdraws_with_hold),
		cmocka_unit_test(t_flaps_grow_hold_then_decay),
		cmocka_unit_test(t_maintenance_drains_then_withdraws),
		cmocka_unit_test(t_maintenance_while_withdrawn_and_drain_interrupted),
		cmocka_unit_test(t_adopt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
