/* Waits on several tasks (races and hedges): more tasks than the inline
 * waiters, no memory for the waiters, a winner found before any wait, and a
 * hedge cancelled while it waits for its primary. */
#include "testrt.h"

#include <stdlib.h>

#define N_MANY 20 /* more than the eight inline waiters (and sixteen records) */
#define N_MID  12 /* more than eight waiters, records still on the stack */

static int cleaned, started;
static int fail_allocs, failed_allocs;

static void *hook_alloc(void *ud, size_t size)
{
	(void)ud;
	if (fail_allocs) {
		failed_allocs++;
		return NULL;
	}
	return malloc(size);
}

static void hook_free(void *ud, void *p, size_t size)
{
	(void)ud;
	(void)size;
	free(p);
}

static asup_rt *mk_rt(void)
{
	asup_rt_config cfg;
	asup_rt_config_init(&cfg);
	cfg.mode = ASUP_MODE_DETERMINISTIC;
	cfg.seed = 1;
	cfg.alloc.alloc = hook_alloc;
	cfg.alloc.free = hook_free;
	return test_rt_cfg(&cfg);
}

static void run(asup_task_fn fn)
{
	asup_rt *rt = mk_rt();
	asup_outcome o;
	cleaned = started = 0;
	fail_allocs = failed_allocs = 0;
	CHECK_EQ(asup_rt_run(rt, fn, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	test_rt_done(rt);
}

static int64_t after_ms(asup_cx *cx, void *arg)
{
	uint64_t ms = (uint64_t)(uintptr_t)arg;
	int rc;

	started++;
	rc = asup_sleep(cx, ASUP_MSEC(ms));
	if (rc < 0) {
		cleaned++;
		return rc;
	}
	return (int64_t)ms;
}

static void spawn_sleepers(asup_cx *cx, asup_task *hs, size_t n, size_t fast, uint64_t fast_ms)
{
	for (size_t i = 0; i < n; i++) {
		uintptr_t ms = i == fast ? fast_ms : 100 + i;
		CHECK_EQ(asup_spawn(cx, after_ms, (void *)ms, NULL, &hs[i]), 0);
	}
}

static int64_t many_root(asup_cx *cx, void *arg)
{
	asup_task hs[N_MANY];
	asup_outcome o;
	size_t w = N_MANY;
	(void)arg;

	spawn_sleepers(cx, hs, N_MANY, 13, 5);
	CHECK_EQ(asup_race_all(cx, hs, N_MANY, &o, &w), 0);
	CHECK_EQ(w, 13);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(o.value, 5);
	CHECK_EQ(asup_now(cx), ASUP_MSEC(5));
	CHECK_EQ(cleaned, N_MANY - 1); /* every loser aborted and drained */
	for (size_t i = 0; i < N_MANY; i++)
		CHECK_EQ(asup_task_is_finished(&hs[i]), -ASUP_EJOINED);
	return 0;
}

TEST(race_all_over_twenty_tasks_picks_the_first_to_finish_and_drains_the_rest)
{
	run(many_root);
}

static int64_t nomem_root(asup_cx *cx, void *arg)
{
	asup_task hs[N_MID];
	asup_outcome o;
	size_t w = N_MID;
	int rc;
	(void)arg;

	spawn_sleepers(cx, hs, N_MID, N_MID, 0);
	fail_allocs = 1;
	rc = asup_race_all(cx, hs, N_MID, &o, &w);
	fail_allocs = 0;
	CHECK_EQ(rc, -ENOMEM);
	CHECK(failed_allocs >= 1);
	CHECK_EQ(w, N_MID); /* no winner reported */
	CHECK_EQ(cleaned, N_MID);
	CHECK_EQ(asup_now(cx), 0); /* drained by their aborts, not by their sleeps */
	for (size_t i = 0; i < N_MID; i++)
		CHECK_EQ(asup_task_is_finished(&hs[i]), -ASUP_EJOINED);
	return 0;
}

TEST(race_all_without_memory_for_its_waiters_fails_enomem_and_drains_every_task)
{
	run(nomem_root);
}

static int64_t ready_root(asup_cx *cx, void *arg)
{
	asup_task hs[N_MID];
	asup_outcome o;
	size_t w = N_MID;
	int rc;
	(void)arg;

	spawn_sleepers(cx, hs, N_MID, 5, 0);
	while (asup_task_is_finished(&hs[5]) != 1)
		CHECK_EQ(asup_yield(cx), 0);
	fail_allocs = 1;
	rc = asup_race_all(cx, hs, N_MID, &o, &w);
	fail_allocs = 0;
	/* A winner found at once arms no waiters: arming twelve would have
	 * failed -ENOMEM. (The losers' abort reasons fall back to static nodes
	 * without memory, which is why allocations did fail.) */
	CHECK_EQ(rc, 0);
	CHECK_EQ(w, 5);
	CHECK_EQ(o.value, 0);
	CHECK_EQ(cleaned, N_MID - 1);
	return 0;
}

TEST(race_all_that_finds_a_finished_task_needs_no_waiter_memory)
{
	run(ready_root);
}

static int hedge_rc;

static int64_t hedging(asup_cx *cx, void *arg)
{
	asup_outcome o;
	(void)arg;
	hedge_rc = asup_hedge(cx, ASUP_MSEC(50), after_ms, (void *)100, after_ms, (void *)1, &o);
	return hedge_rc;
}

static int64_t hedge_cancel_root(asup_cx *cx, void *arg)
{
	asup_task h;
	asup_outcome o;
	(void)arg;

	hedge_rc = 1;
	CHECK_EQ(asup_spawn(cx, hedging, NULL, NULL, &h), 0);
	CHECK_EQ(asup_sleep(cx, ASUP_MSEC(10)), 0);
	CHECK_EQ(asup_task_abort(&h), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(hedge_rc, -ECANCELED);
	CHECK_EQ(started, 1); /* the backup never started */
	CHECK_EQ(cleaned, 1); /* the primary was aborted and drained */
	CHECK_EQ(asup_now(cx), ASUP_MSEC(10));
	return 0;
}

TEST(hedge_cancelled_before_its_delay_aborts_and_drains_the_primary)
{
	run(hedge_cancel_root);
}

static int64_t hedge_joined_root(asup_cx *cx, void *arg)
{
	asup_outcome o;
	(void)arg;

	/* The delay passes while the primary runs: the backup starts, wins, and
	 * the primary is drained; the primary's queue held the hedge's waiter. */
	CHECK_EQ(asup_hedge(cx, ASUP_MSEC(3), after_ms, (void *)40, after_ms, (void *)2, &o), 0);
	CHECK_EQ(o.value, 2);
	CHECK_EQ(asup_now(cx), ASUP_MSEC(5));
	CHECK_EQ(started, 2);
	CHECK_EQ(cleaned, 1);
	/* A primary that finishes at the very end of the delay wins, whether
	 * or not the backup was started first. */
	CHECK_EQ(asup_hedge(cx, ASUP_MSEC(4), after_ms, (void *)4, after_ms, (void *)1, &o), 0);
	CHECK_EQ(o.value, 4);
	CHECK_EQ(asup_now(cx), ASUP_MSEC(9));
	return 0;
}

TEST(hedge_delay_passing_starts_the_backup_and_a_primary_done_at_the_delay_wins)
{
	run(hedge_joined_root);
}
