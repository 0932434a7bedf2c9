/* join2/join_all, race/race_all (losers drained), hedge, handle drop rules,
 * spawn_blocking. */
#include "testrt.h"

#include <stdatomic.h>
#include <unistd.h>

#define mk test_rt

static void run(asup_rt *rt, asup_task_fn fn, void *arg)
{
	asup_outcome o;
	CHECK_EQ(asup_rt_run(rt, fn, arg, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	test_rt_done(rt);
}

static int cleaned;

static int64_t after_ms(asup_cx *cx, void *arg)
{
	uint64_t ms = (uint64_t)(uintptr_t)arg;
	int rc = asup_sleep(cx, ASUP_MSEC(ms));
	if (rc < 0) {
		cleaned++;
		return rc;
	}
	return (int64_t)ms;
}

static int64_t panics_after(asup_cx *cx, void *arg)
{
	uint64_t ms = (uint64_t)(uintptr_t)arg;
	(void)!asup_sleep(cx, ASUP_MSEC(ms)); /* cancelled or not, it panics */
	asup_panic(cx, "loser %llu", (unsigned long long)ms);
}

static int64_t join_root(asup_cx *cx, void *arg)
{
	asup_task hs[3];
	asup_outcome os[3];
	asup_task a, b;
	asup_outcome oa, ob;
	for (int i = 0; i < 3; i++)
		CHECK_EQ(asup_spawn(cx, after_ms, (void *)(uintptr_t)(30 - 10 * i), NULL, &hs[i]), 0);
	CHECK_EQ(asup_join_all(cx, hs, 3, os), 0);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(os[i].value, 30 - 10 * i); /* input order, not finish order */
	CHECK_EQ(asup_join(cx, &hs[0], NULL), -ASUP_EJOINED);
	CHECK_EQ(asup_spawn(cx, after_ms, (void *)1, NULL, &a), 0);
	CHECK_EQ(asup_spawn(cx, after_ms, (void *)2, NULL, &b), 0);
	CHECK_EQ(asup_join2(cx, &a, &b, &oa, &ob), 0);
	CHECK_EQ(oa.value + ob.value, 3);
	CHECK_EQ(asup_join_all(cx, NULL, 2, NULL), -EINVAL);
	return 0;
}

TEST(join_all_keeps_input_order)
{
	run(mk(ASUP_MODE_DETERMINISTIC, 1), join_root, NULL);
}

static int64_t race_root(asup_cx *cx, void *arg)
{
	asup_task a, b;
	asup_outcome o;

	cleaned = 0;
	CHECK_EQ(asup_spawn(cx, after_ms, (void *)10, NULL, &a), 0);
	CHECK_EQ(asup_spawn(cx, after_ms, (void *)1000, NULL, &b), 0);
	CHECK_EQ(asup_race(cx, &a, &b, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(o.value, 10);
	CHECK_EQ(cleaned, 1);                 /* the loser ran its cleanup ... */
	CHECK_EQ(asup_now(cx), ASUP_MSEC(10)); /* ... before race returned */
	CHECK_EQ(asup_task_is_finished(&b), -ASUP_EJOINED); /* handles consumed */

	/* a loser's panic wins over the winner's value */
	CHECK_EQ(asup_spawn(cx, after_ms, (void *)1, NULL, &a), 0);
	CHECK_EQ(asup_spawn(cx, panics_after, (void *)1, NULL, &b), 0);
	CHECK_EQ(asup_race(cx, &a, &b, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_PANICKED);
	CHECK_STR_EQ(o.panic_msg, "loser 1");
	return 0;
}

TEST(race_drains_loser_and_surfaces_panics)
{
	run(mk(ASUP_MODE_DETERMINISTIC, 1), race_root, NULL);
}

static int64_t race_all_root(asup_cx *cx, void *arg)
{
	asup_task hs[4];
	asup_outcome o;
	size_t w = 99;
	int *winner = arg;

	cleaned = 0;
	for (int i = 0; i < 4; i++)
		CHECK_EQ(asup_spawn(cx, after_ms, (void *)(uintptr_t)5, NULL, &hs[i]), 0);
	CHECK_EQ(asup_race_all(cx, hs, 4, &o, &w), 0);
	CHECK(w < 4);
	CHECK_EQ(o.value, 5);
	*winner = (int)w;
	CHECK_EQ(asup_race_all(cx, NULL, 3, &o, &w), -EINVAL);
	return 0;
}

TEST(race_all_winner_is_seeded)
{
	int w1 = -1, w2 = -2, differs = 0;
	run(mk(ASUP_MODE_DETERMINISTIC, 42), race_all_root, &w1);
	run(mk(ASUP_MODE_DETERMINISTIC, 42), race_all_root, &w2);
	CHECK_EQ(w1, w2); /* same seed, same winner among simultaneous finishers */
	for (uint64_t seed = 1; seed <= 16 && !differs; seed++) {
		int w = -1;
		run(mk(ASUP_MODE_DETERMINISTIC, seed), race_all_root, &w);
		differs = w != w1;
	}
	CHECK(differs);
}

static int64_t race_all_empty(asup_cx *cx, void *arg)
{
	asup_outcome o;
	return asup_race_all(cx, NULL, 0, &o, NULL);
}

static int64_t empty_root(asup_cx *cx, void *arg)
{
	asup_task h;
	asup_outcome o;
	CHECK_EQ(asup_spawn(cx, race_all_empty, NULL, NULL, &h), 0);
	CHECK_EQ(asup_sleep(cx, ASUP_SEC(5)), 0);
	CHECK_EQ(asup_task_is_finished(&h), 0); /* still pending */
	CHECK_EQ(asup_task_abort(&h), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	return 0;
}

TEST(race_all_of_nothing_waits_until_cancelled)
{
	run(mk(ASUP_MODE_DETERMINISTIC, 1), empty_root, NULL);
}

static int64_t hedge_root(asup_cx *cx, void *arg)
{
	asup_outcome o;
	/* primary fast: no backup */
	CHECK_EQ(asup_hedge(cx, ASUP_MSEC(10), after_ms, (void *)2, after_ms, (void *)1, &o), 0);
	CHECK_EQ(o.value, 2);
	CHECK_EQ(asup_now(cx), ASUP_MSEC(2));
	/* primary slow: the backup starts at 10 ms and wins at 15 ms */
	cleaned = 0;
	CHECK_EQ(asup_hedge(cx, ASUP_MSEC(10), after_ms, (void *)100, after_ms, (void *)5, &o), 0);
	CHECK_EQ(o.value, 5);
	CHECK_EQ(asup_now(cx), ASUP_MSEC(17));
	CHECK_EQ(cleaned, 1); /* the primary lost and was drained */
	return 0;
}

TEST(hedge_starts_backup_after_delay)
{
	run(mk(ASUP_MODE_DETERMINISTIC, 1), hedge_root, NULL);
}

static int64_t hedge_capacity_body(asup_cx *cx, void *arg)
{
	asup_region_limits l = asup_region_limits_unlimited();
	asup_outcome o;
	l.max_tasks = 1;
	CHECK_EQ(asup_scope_set_limits(cx, &l), 0);
	CHECK_EQ(asup_hedge(cx, 0, after_ms, (void *)50, after_ms, (void *)1, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(o.reason.kind, ASUP_CANCEL_RESOURCE_UNAVAILABLE);
	return 0;
}

static int64_t hedge_capacity_root(asup_cx *cx, void *arg)
{
	asup_outcome o;
	cleaned = 0;
	CHECK_EQ(asup_region(cx, hedge_capacity_body, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(cleaned, 1); /* the aborted primary ended inside its region */
	return 0;
}

TEST(hedge_backup_refused_aborts_primary)
{
	run(mk(ASUP_MODE_DETERMINISTIC, 1), hedge_capacity_root, NULL);
}

/* ---- handle drop rules ---- */

static int64_t joins_then_gets_cancelled(asup_cx *cx, void *arg)
{
	asup_task *h = arg;
	return asup_join(cx, h, NULL);
}

static int64_t drop_root(asup_cx *cx, void *arg)
{
	asup_task target, joiner, target2, joiner2;
	asup_outcome o;

	cleaned = 0;
	CHECK_EQ(asup_spawn(cx, after_ms, (void *)1000, NULL, &target), 0);
	CHECK_EQ(asup_task_set_drop_reason(&target, ASUP_CANCEL_TIMEOUT), 0);
	CHECK_EQ(asup_spawn(cx, joins_then_gets_cancelled, &target, NULL, &joiner), 0);
	CHECK_EQ(asup_sleep(cx, ASUP_MSEC(1)), 0);
	CHECK_EQ(asup_task_abort(&joiner), 0);
	CHECK_EQ(asup_join(cx, &joiner, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	/* the cancelled join aborted its target with the drop reason */
	CHECK_EQ(asup_join(cx, &target, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(o.reason.kind, ASUP_CANCEL_TIMEOUT);
	CHECK(asup_now(cx) < ASUP_MSEC(1000));

	/* defused: the target keeps running */
	CHECK_EQ(asup_spawn(cx, after_ms, (void *)20, NULL, &target2), 0);
	CHECK_EQ(asup_task_defuse(&target2), 0);
	CHECK_EQ(asup_spawn(cx, joins_then_gets_cancelled, &target2, NULL, &joiner2), 0);
	CHECK_EQ(asup_sleep(cx, ASUP_MSEC(1)), 0);
	CHECK_EQ(asup_task_abort(&joiner2), 0);
	CHECK_EQ(asup_join(cx, &joiner2, &o), 0);
	CHECK_EQ(asup_join(cx, &target2, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(o.value, 20);
	return 0;
}

TEST(cancelled_join_aborts_with_drop_reason_unless_defused)
{
	run(mk(ASUP_MODE_DETERMINISTIC, 1), drop_root, NULL);
}

/* ---- spawn_blocking ---- */

static int64_t blocking_add(asup_blocking *b, void *arg)
{
	int *x = arg;
	if (!asup_blocking_has_timer(b))
		return -EINVAL;
	usleep(1000);
	return *x + 1;
}

static int64_t blocking_until_cancelled(asup_blocking *b, void *arg)
{
	for (int i = 0; i < 5000 && !asup_blocking_is_cancelled(b); i++)
		usleep(1000);
	return asup_blocking_is_cancelled(b) ? -ECANCELED : -ETIMEDOUT;
}

static int64_t blocking_root(asup_cx *cx, void *arg)
{
	int x = 41, real = arg != NULL;
	asup_task hs[6], h;
	asup_outcome o;
	for (int i = 0; i < 6; i++)
		CHECK_EQ(asup_spawn_blocking(cx, blocking_add, &x, NULL, &hs[i]), 0);
	for (int i = 0; i < 6; i++) {
		CHECK_EQ(asup_join(cx, &hs[i], &o), 0);
		CHECK_EQ(o.value, 42);
	}
	if (real) {
		CHECK_EQ(asup_spawn_blocking(cx, blocking_until_cancelled, NULL, NULL, &h), 0);
		CHECK_EQ(asup_sleep(cx, ASUP_MSEC(2)), 0);
		CHECK_EQ(asup_task_abort(&h), 0);
		CHECK_EQ(asup_join(cx, &h, &o), 0);
		CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	}
	CHECK_EQ(asup_spawn_blocking(cx, NULL, NULL, NULL, &h), -EINVAL);
	return 0;
}

/* ---- abandon on cancel ---- */

static atomic_int release_job, job_finished;

static int64_t ignores_cancel(asup_blocking *b, void *arg)
{
	while (!atomic_load(&release_job))
		usleep(200);
	atomic_store(&job_finished, 1);
	return 1;
}

static int64_t abandon_body(asup_cx *cx, void *arg)
{
	asup_task h;
	asup_outcome o;
	CHECK_EQ(asup_spawn_blocking(cx, ignores_cancel, NULL, NULL, &h), 0);
	CHECK_EQ(asup_sleep(cx, ASUP_MSEC(1)), 0);
	CHECK_EQ(asup_task_abort(&h), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);     /* returns without waiting for fn */
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(atomic_load(&job_finished), 0); /* fn still runs */
	atomic_store(&release_job, 1);
	return 0; /* the region closes only once fn returned */
}

static int64_t abandon_root(asup_cx *cx, void *arg)
{
	asup_outcome o;
	CHECK_EQ(asup_region(cx, abandon_body, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(atomic_load(&job_finished), 1);
	return 0;
}

TEST(cancelled_blocking_task_abandons_and_region_waits)
{
	atomic_store(&release_job, 0);
	atomic_store(&job_finished, 0);
	run(mk(ASUP_MODE_REAL, 0), abandon_root, NULL);
}

TEST(spawn_blocking_runs_off_thread_and_sees_cancel)
{
	run(mk(ASUP_MODE_REAL, 0), blocking_root, (void *)1);
}

TEST(spawn_blocking_runs_inline_in_deterministic_mode)
{
	run(mk(ASUP_MODE_DETERMINISTIC, 3), blocking_root, NULL);
}
