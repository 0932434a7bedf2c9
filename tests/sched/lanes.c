/*
 * The scheduler's lanes and its blocking layer: lane order (cancel, then due
 * timed work, then ready), the cancel-streak bound, ready-lane priorities,
 * wake de-duplication, park/unpark and wait queues.
 *
 * Most cases drive a deterministic runtime one dispatch at a time
 * (asup_rt_step) and check every layer's invariants after each step.
 */
#include "testrt.h"

/* What ran, in dispatch order: one character per dispatch or event. */
static char order[8192];
static int norder;

static void note(char c)
{
	CHECK(norder < (int)sizeof order - 1);
	order[norder++] = c;
	order[norder] = 0;
}

static void reset_order(void)
{
	norder = 0;
	order[0] = 0;
}

static asup_rt *mk(uint64_t seed)
{
	return test_rt(ASUP_MODE_DETERMINISTIC, seed);
}

/* One dispatch, then the invariants of every layer. */
static int step(asup_rt *rt)
{
	int rc = asup_rt_step(rt);
	CHECK(rc >= 0);
	CHECK_EQ(asup__rt_check(rt), 0);
	return rc;
}

static int64_t run_idle(asup_rt *rt)
{
	int64_t n = 0;
	while (step(rt) == 1)
		n++;
	return n;
}

static asup_rt_stats stats(asup_rt *rt)
{
	asup_rt_stats st;
	CHECK_EQ(asup_rt_stats_get(rt, &st), 0);
	return st;
}

/* ---- task bodies ---- */

static int64_t mark(asup_cx *cx, void *arg)
{
	note((char)(uintptr_t)arg);
	return 0;
}

/* Parks until cancelled, then notes its tag. */
static int64_t park_then_mark(asup_cx *cx, void *arg)
{
	int rc = asup_park(cx);
	CHECK_EQ(rc, -ECANCELED);
	note((char)(uintptr_t)arg);
	return rc;
}

/* Sleeps `arg` ms, then notes the digit of its duration. */
static int64_t sleep_then_mark(asup_cx *cx, void *arg)
{
	uint64_t ms = (uint64_t)(uintptr_t)arg;
	asup_time t0 = asup_now(cx);
	CHECK_EQ(asup_sleep(cx, ASUP_MSEC(ms)), 0);
	CHECK(asup_now(cx) >= t0 + ASUP_MSEC(ms)); /* never early */
	note((char)('0' + ms));
	return 0;
}

/* ---- lane order ---- */

TEST(cancel_lane_then_due_timers_then_ready)
{
	asup_rt *rt = mk(11);
	asup_task c[3], t[3], r[3];
	uint64_t ms[3] = {3, 1, 2}; /* spawned out of deadline order */
	asup_rt_stats st;

	reset_order();
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(asup_rt_spawn(rt, park_then_mark, (void *)'C', NULL, &c[i]), 0);
		CHECK_EQ(asup_rt_spawn(rt, sleep_then_mark, (void *)(uintptr_t)ms[i], NULL, &t[i]),
		         0);
	}
	for (int i = 0; i < 6; i++) /* everyone parks; no time passes */
		CHECK_EQ(step(rt), 1);
	CHECK_EQ(asup_rt_now(rt), 0);
	CHECK_EQ(norder, 0);
	st = stats(rt);
	CHECK_EQ(st.timers_armed, 3);

	/* now all three lanes get work at once */
	CHECK_EQ(asup_rt_advance(rt, ASUP_MSEC(3)), 0);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(asup_rt_spawn(rt, mark, (void *)'R', NULL, &r[i]), 0);
		CHECK_EQ(asup_task_abort(&c[i]), 0);
	}
	CHECK_EQ(run_idle(rt), 9);
	/* cancel work first, then the timers by deadline, then ready work */
	CHECK_STR_EQ(order, "CCC123RRR");
	st = stats(rt);
	CHECK_EQ(st.cancel_dispatches, 3);
	CHECK_EQ(st.timed_dispatches, 3);
	CHECK_EQ(st.ready_dispatches, 6 + 3);
	CHECK_EQ(st.timers_armed, 0);
	for (int i = 0; i < 3; i++) {
		asup_outcome o;
		CHECK_EQ(asup_task_try_join(&c[i], &o), 0);
		CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
		CHECK_EQ(asup_task_try_join(&t[i], &o), 0);
		CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
		CHECK_EQ(asup_task_try_join(&r[i], NULL), 0);
	}
	test_rt_done(rt);
}

static int64_t yield_forever_marking(asup_cx *cx, void *arg)
{
	for (int i = 0; i < 20; i++) {
		note((char)(uintptr_t)arg);
		if (asup_yield(cx) < 0)
			return -1;
	}
	return 0;
}

TEST(a_due_timer_is_not_starved_by_yielding_tasks)
{
	asup_rt *rt = mk(12);
	asup_task y[2], t;

	reset_order();
	CHECK_EQ(asup_rt_spawn(rt, sleep_then_mark, (void *)1, NULL, &t), 0);
	CHECK_EQ(step(rt), 1); /* the sleeper arms its timer */
	CHECK_EQ(asup_rt_spawn(rt, yield_forever_marking, (void *)'y', NULL, &y[0]), 0);
	CHECK_EQ(asup_rt_spawn(rt, yield_forever_marking, (void *)'y', NULL, &y[1]), 0);
	for (int i = 0; i < 5; i++)
		CHECK_EQ(step(rt), 1);
	CHECK_EQ(asup_rt_advance(rt, ASUP_MSEC(1)), 0);
	CHECK_EQ(step(rt), 1); /* the very next dispatch is the due sleeper */
	CHECK_EQ(order[norder - 1], '1');
	CHECK_EQ(norder, 6);
	CHECK_EQ(asup_task_try_join(&t, NULL), 0);
	CHECK(run_idle(rt) > 0);
	CHECK_EQ(asup_task_try_join(&y[0], NULL), 0);
	CHECK_EQ(asup_task_try_join(&y[1], NULL), 0);
	test_rt_done(rt);
}

/* ---- the cancel-streak bound ---- */

/*
 * n_cancel parked tasks are aborted at once while one ready task keeps
 * yielding `k` times. The expected dispatch string follows the rule: cancel
 * work while the streak is below L, else the ready task (which resets the
 * streak), else cancel work again (fallback, streak 1).
 */
static int64_t ready_marker(asup_cx *cx, void *arg)
{
	int k = (int)(uintptr_t)arg;
	for (int i = 0; i < k; i++) {
		note('R');
		if (i + 1 < k)
			CHECK_EQ(asup_yield(cx), 0);
	}
	return 0;
}

static void expected_streak_order(int n_cancel, int k, int limit, char *out)
{
	int streak = 0, n = 0;
	while (n_cancel || k) {
		if (n_cancel && streak < limit) {
			out[n++] = 'C';
			streak++;
			n_cancel--;
		} else if (k) {
			out[n++] = 'R';
			streak = 0;
			k--;
		} else {
			out[n++] = 'C';
			streak = 1;
			n_cancel--;
		}
	}
	out[n] = 0;
}

static void check_streak_bound(uint32_t limit, uint64_t seed)
{
	enum { NC = 100, K = 5 };
	static char want[NC + K + 1];
	asup_rt_config cfg;
	asup_rt *rt;
	asup_task c[NC], r;
	asup_rt_stats st;
	int since_ready = 0;

	asup_rt_config_init(&cfg);
	cfg.mode = ASUP_MODE_DETERMINISTIC;
	cfg.seed = seed;
	if (limit)
		cfg.cancel_streak_limit = limit;
	else
		limit = 16; /* the default */
	rt = test_rt_cfg(&cfg);
	reset_order();
	for (int i = 0; i < NC; i++)
		CHECK_EQ(asup_rt_spawn(rt, park_then_mark, (void *)'C', NULL, &c[i]), 0);
	CHECK_EQ(run_idle(rt), NC); /* all parked */
	CHECK_EQ(asup_rt_spawn(rt, ready_marker, (void *)(uintptr_t)K, NULL, &r), 0);
	for (int i = 0; i < NC; i++)
		CHECK_EQ(asup_task_abort(&c[i]), 0);
	while (step(rt) == 1) {
		/* never more than L cancel dispatches while the ready task waits */
		if (order[norder - 1] == 'R' || asup_task_is_finished(&r) == 1)
			since_ready = 0;
		else
			CHECK((uint32_t)++since_ready <= limit);
	}
	expected_streak_order(NC, K, (int)limit, want);
	if (strcmp(order, want) != 0) {
		fprintf(stderr, "L=%u seed=%llu\n got %s\nwant %s\n", limit,
		        (unsigned long long)seed, order, want);
		CHECK(0);
	}
	/* the first ready dispatch is within L + 1 dispatches */
	CHECK_EQ(strchr(order, 'R') - order, (long)limit);
	st = stats(rt);
	CHECK_EQ(st.max_cancel_streak, limit);
	CHECK_EQ(st.cancel_dispatches, NC);
	for (int i = 0; i < NC; i++)
		CHECK_EQ(asup_task_try_join(&c[i], NULL), 0);
	CHECK_EQ(asup_task_try_join(&r, NULL), 0);
	test_rt_done(rt);
}

static void default_streak_bound(uint64_t seed)
{
	check_streak_bound(0, seed);
}

TEST(ready_task_runs_within_the_default_cancel_streak_limit)
{
	SWEEP(5, default_streak_bound);
}

TEST(cancel_streak_limit_is_configurable)
{
	check_streak_bound(3, 7);
	check_streak_bound(1, 8);
	check_streak_bound(99, 9);
}

TEST(cancel_lane_alone_never_exceeds_the_streak_limit)
{
	asup_rt *rt = mk(13);
	asup_task c[60];
	asup_rt_stats st;

	reset_order();
	for (int i = 0; i < 60; i++)
		CHECK_EQ(asup_rt_spawn(rt, park_then_mark, (void *)'C', NULL, &c[i]), 0);
	CHECK_EQ(run_idle(rt), 60);
	for (int i = 0; i < 60; i++)
		CHECK_EQ(asup_task_abort(&c[i]), 0);
	CHECK_EQ(run_idle(rt), 60);
	CHECK_EQ(norder, 60);
	st = stats(rt);
	CHECK(st.max_cancel_streak <= 16);
	CHECK_EQ(st.cancel_dispatches, 60);
	for (int i = 0; i < 60; i++)
		CHECK_EQ(asup_task_try_join(&c[i], NULL), 0);
	test_rt_done(rt);
}

/* ---- priorities in the ready lane ---- */

TEST(ready_lane_runs_higher_priority_first)
{
	asup_rt *rt = mk(14);
	asup_spawn_opts o;
	asup_task h;
	const char *tags = "abcdefg";
	uint8_t prio[] = {130, 250, 140, 200, 135, 255, 129};

	reset_order();
	asup_spawn_opts_init(&o);
	CHECK_EQ(o.priority, ASUP_PRIORITY_DEFAULT);
	for (int i = 0; i < 7; i++) {
		o.priority = prio[i];
		CHECK_EQ(asup_rt_spawn(rt, mark, (void *)(uintptr_t)tags[i], &o, &h), 0);
		CHECK_EQ(asup_task_release(&h), 0);
	}
	CHECK_EQ(run_idle(rt), 7);
	CHECK_STR_EQ(order, "fbdceag");
	test_rt_done(rt);
}

static int64_t yields_marking(asup_cx *cx, void *arg)
{
	for (int i = 0; i < 4; i++) {
		note((char)(uintptr_t)arg);
		if (i < 3)
			CHECK_EQ(asup_yield(cx), 0);
	}
	return 0;
}

TEST(a_yielding_high_priority_task_stays_ahead)
{
	asup_rt *rt = mk(15);
	asup_spawn_opts o;
	asup_task h;

	reset_order();
	asup_spawn_opts_init(&o);
	o.priority = 150;
	CHECK_EQ(asup_rt_spawn(rt, yields_marking, (void *)'l', &o, &h), 0);
	CHECK_EQ(asup_task_release(&h), 0);
	o.priority = 200;
	CHECK_EQ(asup_rt_spawn(rt, yields_marking, (void *)'H', &o, &h), 0);
	CHECK_EQ(asup_task_release(&h), 0);
	CHECK_EQ(run_idle(rt), 8);
	CHECK_STR_EQ(order, "HHHHllll");
	test_rt_done(rt);
}

/* Real mode: FIFO among equal priorities. */
static int64_t spawn_by_priority(asup_cx *cx, void *arg)
{
	asup_spawn_opts o;
	asup_task h[5];
	uint8_t prio[] = {150, 200, 150, 200, 150};
	asup_spawn_opts_init(&o);
	for (int i = 0; i < 5; i++) {
		o.priority = prio[i];
		CHECK_EQ(asup_spawn(cx, mark, (void *)(uintptr_t)('a' + i), &o, &h[i]), 0);
	}
	for (int i = 0; i < 5; i++)
		CHECK_EQ(asup_join(cx, &h[i], NULL), 0);
	return 0;
}

TEST(real_mode_is_fifo_among_equal_priorities)
{
	asup_rt *rt = test_rt(ASUP_MODE_REAL, 0);
	asup_outcome o;
	reset_order();
	CHECK_EQ(asup_rt_run(rt, spawn_by_priority, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_STR_EQ(order, "bdace");
	test_rt_done(rt);
}

/* ---- wake de-duplication ---- */

static asup_waker saved_waker;
static int runs;

static int64_t park_once_counting(asup_cx *cx, void *arg)
{
	saved_waker = asup_waker_current(cx);
	CHECK_EQ(asup_park(cx), 0);
	runs++;
	return 0;
}

TEST(unparking_twice_schedules_once)
{
	asup_rt *rt = mk(16);
	asup_rt_stats before, after;
	asup_task h;

	runs = 0;
	CHECK_EQ(asup_rt_spawn(rt, park_once_counting, NULL, NULL, &h), 0);
	CHECK_EQ(step(rt), 1);
	CHECK_EQ(step(rt), 0); /* parked: nothing runnable */
	before = stats(rt);
	CHECK_EQ(before.parks, 1);
	CHECK_EQ(asup_unpark(saved_waker), 1);
	CHECK_EQ(asup_unpark(saved_waker), 0);
	CHECK_EQ(asup_unpark(saved_waker), 0);
	CHECK_EQ(asup__rt_check(rt), 0); /* in one lane, once */
	after = stats(rt);
	CHECK_EQ(after.wakes - before.wakes, 1);
	CHECK_EQ(after.wakes_deduped - before.wakes_deduped, 2);
	CHECK_EQ(step(rt), 1);
	CHECK_EQ(step(rt), 0);
	CHECK_EQ(runs, 1);
	after = stats(rt);
	CHECK_EQ(after.dispatches, 2);
	CHECK_EQ(asup_task_try_join(&h, NULL), 0);
	test_rt_done(rt);
}

static int64_t yield_then_park(asup_cx *cx, void *arg)
{
	saved_waker = asup_waker_current(cx);
	CHECK_EQ(asup_yield(cx), 0);
	CHECK_EQ(asup_park(cx), 0);
	runs++;
	return 0;
}

TEST(unparking_a_queued_task_is_not_remembered)
{
	asup_rt *rt = mk(17);
	asup_rt_stats st;
	asup_task h;

	runs = 0;
	CHECK_EQ(asup_rt_spawn(rt, yield_then_park, NULL, NULL, &h), 0);
	CHECK_EQ(step(rt), 1); /* yielded: queued in the ready lane */
	CHECK_EQ(asup_unpark(saved_waker), 0);
	st = stats(rt);
	CHECK_EQ(st.wakes_deduped, 1);
	CHECK_EQ(st.wakes, 0);
	CHECK_EQ(step(rt), 1); /* resumes and parks for real */
	CHECK_EQ(step(rt), 0);
	CHECK_EQ(asup_task_is_finished(&h), 0);
	CHECK_EQ(asup_unpark(saved_waker), 1);
	CHECK_EQ(step(rt), 1);
	CHECK_EQ(runs, 1);
	CHECK_EQ(asup_task_try_join(&h, NULL), 0);
	test_rt_done(rt);
}

/* ---- park / unpark ---- */

static int64_t unpark_self_then_park(asup_cx *cx, void *arg)
{
	asup_waker w = asup_waker_current(cx);
	asup_rt *rt = arg;
	asup_rt_stats st;

	saved_waker = w;
	CHECK_EQ(asup_unpark(w), 0); /* running: remembered, not scheduled */
	CHECK_EQ(asup_rt_stats_get(rt, &st), 0);
	CHECK_EQ(st.wakes, 0);
	CHECK_EQ(asup_park(cx), 0); /* returns at once ... */
	CHECK_EQ(asup_rt_stats_get(rt, &st), 0);
	CHECK_EQ(st.parks, 0); /* ... without suspending */
	CHECK_EQ(st.dispatches, 1);
	/* the token is used up: this park suspends */
	CHECK_EQ(asup_park(cx), 0);
	CHECK_EQ(asup_rt_stats_get(rt, &st), 0);
	CHECK_EQ(st.parks, 1);
	return 7;
}

TEST(an_unpark_while_running_makes_the_next_park_return_at_once)
{
	asup_rt *rt = mk(18);
	asup_task h;
	asup_outcome o;

	CHECK_EQ(asup_rt_spawn(rt, unpark_self_then_park, rt, NULL, &h), 0);
	CHECK_EQ(step(rt), 1);
	CHECK_EQ(step(rt), 0);
	CHECK_EQ(asup_task_is_finished(&h), 0);
	CHECK_EQ(asup_unpark(saved_waker), 1);
	CHECK_EQ(step(rt), 1);
	CHECK_EQ(asup_task_try_join(&h, &o), 0);
	CHECK_EQ(o.value, 7);
	test_rt_done(rt);
}

TEST(a_waker_of_a_finished_task_does_nothing)
{
	asup_rt *rt = mk(19);
	asup_task h, h2;
	asup_waker old;
	asup_rt_stats before, after;

	runs = 0;
	CHECK_EQ(asup_rt_spawn(rt, park_once_counting, NULL, NULL, &h), 0);
	CHECK_EQ(step(rt), 1);
	CHECK_EQ(asup_unpark(saved_waker), 1);
	CHECK_EQ(step(rt), 1);
	old = saved_waker;
	/* finished, record not yet consumed */
	CHECK_EQ(asup_task_is_finished(&h), 1);
	before = stats(rt);
	CHECK_EQ(asup_unpark(old), 0);
	after = stats(rt);
	CHECK_EQ(after.wakes, before.wakes);
	CHECK_EQ(step(rt), 0);
	/* consumed: the record may be recycled for the next task */
	CHECK_EQ(asup_task_try_join(&h, NULL), 0);
	CHECK_EQ(asup_unpark(old), 0);
	CHECK_EQ(asup_rt_spawn(rt, park_once_counting, NULL, NULL, &h2), 0);
	CHECK_EQ(step(rt), 1); /* the new task parks */
	/* the old waker must not wake the new occupant of the record */
	CHECK_EQ(asup_unpark(old), 0);
	CHECK_EQ(step(rt), 0);
	CHECK_EQ(asup_task_is_finished(&h2), 0);
	CHECK_EQ(runs, 1);
	CHECK_EQ(asup_unpark(saved_waker), 1);
	CHECK_EQ(step(rt), 1);
	CHECK_EQ(runs, 2);
	CHECK_EQ(asup_task_try_join(&h2, NULL), 0);
	/* a zeroed waker is refused; a bad cx gives a zeroed waker */
	asup_waker zero = asup_waker_current(NULL);
	CHECK(zero._task == NULL);
	CHECK_EQ(asup_unpark(zero), -EINVAL);
	test_rt_done(rt);
}

static int64_t park_until_5ms(asup_cx *cx, void *arg)
{
	CHECK_EQ(asup_park_until(cx, ASUP_MSEC(5)), 0);
	CHECK_EQ(asup_now(cx), ASUP_MSEC(5));
	return 0;
}

static int64_t park_returns_cancelled(asup_cx *cx, void *arg)
{
	int rc = asup_park(cx);
	CHECK_EQ(asup_now(cx), ASUP_MSEC(2)); /* woken by the abort, not later */
	return rc;
}

TEST(park_ends_by_timer_or_by_cancel)
{
	asup_rt *rt = mk(20);
	asup_task a, b;
	asup_outcome o;

	CHECK_EQ(asup_rt_spawn(rt, park_until_5ms, NULL, NULL, &a), 0);
	CHECK_EQ(asup_rt_spawn(rt, park_returns_cancelled, NULL, NULL, &b), 0);
	CHECK_EQ(step(rt), 1);
	CHECK_EQ(step(rt), 1);
	CHECK_EQ(asup_rt_advance(rt, ASUP_MSEC(2)), 0);
	CHECK_EQ(asup_task_abort(&b), 0);
	CHECK_EQ(step(rt), 1); /* the abort wakes b at 2 ms */
	CHECK_EQ(asup_task_try_join(&b, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(o.value, -ECANCELED);
	CHECK_EQ(step(rt), 1); /* auto-advance to 5 ms */
	CHECK_EQ(asup_rt_now(rt), ASUP_MSEC(5));
	CHECK_EQ(asup_task_try_join(&a, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	test_rt_done(rt);
}

/* ---- wait queues ---- */

static asup_waitq q;
static int wait_rc[64];

/* Notes its tag when it enqueues, records what the wait returned, and notes
 * its tag in upper case when it is woken with 0. */
static int64_t waiter(asup_cx *cx, void *arg)
{
	int i = (int)(uintptr_t)arg;
	int rc;
	note((char)('a' + i));
	rc = asup_waitq_wait(cx, &q);
	wait_rc[i] = rc;
	if (rc == 0)
		note((char)('A' + i));
	return rc;
}

static void spawn_waiters(asup_rt *rt, asup_task *h, int n)
{
	for (int i = 0; i < n; i++) {
		wait_rc[i] = 1;
		CHECK_EQ(asup_rt_spawn(rt, waiter, (void *)(uintptr_t)i, NULL, &h[i]), 0);
	}
	CHECK_EQ(run_idle(rt), n);
	CHECK_EQ(norder, n);
	CHECK_EQ(asup_waitq_is_empty(&q), 0);
}

TEST(wait_queue_wakes_in_fifo_order)
{
	enum { N = 8 };
	asup_rt *rt = mk(21);
	asup_task h[N];
	char enq[N + 1];

	reset_order();
	asup_waitq_init(&q);
	CHECK_EQ(asup_waitq_is_empty(&q), 1);
	spawn_waiters(rt, h, N);
	memcpy(enq, order, N); /* the (seeded) order they queued in */
	enq[N] = 0;
	for (int i = 0; i < N; i++) {
		CHECK_EQ(asup_waitq_wake_one(&q), 1);
		CHECK_EQ(step(rt), 1);
		CHECK_EQ(step(rt), 0);
		/* the one woken is the one that queued i-th */
		CHECK_EQ(order[norder - 1], enq[i] - 'a' + 'A');
	}
	CHECK_EQ(asup_waitq_is_empty(&q), 1);
	CHECK_EQ(asup_waitq_wake_one(&q), 0);
	for (int i = 0; i < N; i++) {
		CHECK_EQ(wait_rc[i], 0);
		CHECK_EQ(asup_task_try_join(&h[i], NULL), 0);
	}
	test_rt_done(rt);
}

static int64_t spawn_wait_wake_all(asup_cx *cx, void *arg)
{
	asup_task h[6];
	for (int i = 0; i < 6; i++)
		CHECK_EQ(asup_spawn(cx, waiter, (void *)(uintptr_t)i, NULL, &h[i]), 0);
	while (norder < 6) /* let all six queue */
		CHECK_EQ(asup_yield(cx), 0);
	CHECK_EQ(asup_waitq_wake_all(&q), 6);
	CHECK_EQ(asup_waitq_is_empty(&q), 1);
	CHECK_EQ(asup_waitq_wake_all(&q), 0);
	for (int i = 0; i < 6; i++)
		CHECK_EQ(asup_join(cx, &h[i], NULL), 0);
	return 0;
}

TEST(wake_all_counts_and_keeps_fifo_order)
{
	asup_rt *rt = test_rt(ASUP_MODE_REAL, 0);
	asup_outcome o;
	reset_order();
	asup_waitq_init(&q);
	CHECK_EQ(asup_rt_run(rt, spawn_wait_wake_all, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	/* real mode: queued in spawn order, woken in queue order */
	CHECK_STR_EQ(order, "abcdefABCDEF");
	test_rt_done(rt);
}

TEST(an_aborted_waiter_leaves_the_queue_with_ecanceled)
{
	enum { N = 5 };
	asup_rt *rt = mk(22);
	asup_task h[N];
	asup_outcome o;
	char enq[N + 1];
	int victim;

	reset_order();
	asup_waitq_init(&q);
	spawn_waiters(rt, h, N);
	memcpy(enq, order, N);
	enq[N] = 0;
	victim = enq[2] - 'a'; /* the third in the queue */
	CHECK_EQ(asup_task_abort(&h[victim]), 0);
	CHECK_EQ(step(rt), 1);
	CHECK_EQ(step(rt), 0);
	CHECK_EQ(wait_rc[victim], -ECANCELED);
	CHECK_EQ(asup_task_try_join(&h[victim], &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	/* the others are still queued, in their order, without it */
	for (int i = 0; i < N; i++) {
		if (i == 2)
			continue;
		CHECK_EQ(asup_waitq_wake_one(&q), 1);
		CHECK_EQ(step(rt), 1);
		CHECK_EQ(order[norder - 1], enq[i] - 'a' + 'A');
	}
	CHECK_EQ(asup_waitq_wake_one(&q), 0);
	CHECK_EQ(asup_waitq_is_empty(&q), 1);
	for (int i = 0; i < N; i++)
		if (i != victim)
			CHECK_EQ(asup_task_try_join(&h[i], NULL), 0);
	test_rt_done(rt);
}

static int checkpoint_after_wake;

static int64_t waiter_then_checkpoint(asup_cx *cx, void *arg)
{
	int rc = asup_waitq_wait(cx, &q);
	wait_rc[0] = rc;
	checkpoint_after_wake = asup_checkpoint(cx);
	return checkpoint_after_wake;
}

TEST(a_dequeued_waiter_aborted_before_it_runs_still_gets_zero)
{
	asup_rt *rt = mk(23);
	asup_task h;
	asup_outcome o;

	asup_waitq_init(&q);
	CHECK_EQ(asup_rt_spawn(rt, waiter_then_checkpoint, NULL, NULL, &h), 0);
	CHECK_EQ(step(rt), 1);
	CHECK_EQ(asup_waitq_wake_one(&q), 1); /* dequeued by the wake ... */
	CHECK_EQ(asup_waitq_is_empty(&q), 1);
	CHECK_EQ(asup_task_abort(&h), 0); /* ... then aborted before it runs */
	CHECK_EQ(step(rt), 1);
	CHECK_EQ(wait_rc[0], 0);                     /* the wake wins */
	CHECK_EQ(checkpoint_after_wake, -ECANCELED); /* and the cancel is not lost */
	CHECK_EQ(asup_task_try_join(&h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	test_rt_done(rt);
}

TEST(a_wake_after_an_abort_still_reaches_the_head_waiter)
{
	asup_rt *rt = mk(24);
	asup_task h[2];
	char enq[3];
	int first, second;

	reset_order();
	asup_waitq_init(&q);
	spawn_waiters(rt, h, 2);
	memcpy(enq, order, 2);
	first = enq[0] - 'a';
	second = enq[1] - 'a';
	/* the head is aborted, but a wake dequeues it before it runs: no wake
	 * is lost, the head gets it, the second stays queued */
	CHECK_EQ(asup_task_abort(&h[first]), 0);
	CHECK_EQ(asup_waitq_wake_one(&q), 1);
	CHECK_EQ(run_idle(rt), 1);
	CHECK_EQ(wait_rc[first], 0);
	CHECK_EQ(wait_rc[second], 1); /* still waiting */
	CHECK_EQ(asup_waitq_is_empty(&q), 0);
	CHECK_EQ(asup_waitq_wake_one(&q), 1);
	CHECK_EQ(run_idle(rt), 1);
	CHECK_EQ(wait_rc[second], 0);
	CHECK_EQ(asup_task_try_join(&h[0], NULL), 0);
	CHECK_EQ(asup_task_try_join(&h[1], NULL), 0);
	test_rt_done(rt);
}

static int64_t stray_unpark_then_wait(asup_cx *cx, void *arg)
{
	saved_waker = asup_waker_current(cx);
	CHECK_EQ(asup_unpark(saved_waker), 0); /* a stray token */
	wait_rc[0] = asup_waitq_wait(cx, &q);
	return wait_rc[0];
}

TEST(stray_unparks_do_not_end_a_queue_wait)
{
	asup_rt *rt = mk(25);
	asup_task h;

	asup_waitq_init(&q);
	wait_rc[0] = 1;
	CHECK_EQ(asup_rt_spawn(rt, stray_unpark_then_wait, NULL, NULL, &h), 0);
	CHECK_EQ(step(rt), 1);
	CHECK_EQ(wait_rc[0], 1); /* the stray token did not end it */
	CHECK_EQ(asup_waitq_is_empty(&q), 0);
	CHECK_EQ(asup_unpark(saved_waker), 1); /* another stray unpark */
	CHECK_EQ(step(rt), 1);
	CHECK_EQ(wait_rc[0], 1); /* parked again, still queued */
	CHECK_EQ(asup_waitq_is_empty(&q), 0);
	CHECK_EQ(asup_waitq_wake_one(&q), 1);
	CHECK_EQ(step(rt), 1);
	CHECK_EQ(wait_rc[0], 0);
	CHECK_EQ(asup_task_try_join(&h, NULL), 0);
	test_rt_done(rt);
}

static int64_t wait_in_scope(asup_cx *cx, void *arg)
{
	return asup_waitq_wait(cx, &q);
}

static int64_t wait_with_timeout(asup_cx *cx, void *arg)
{
	int64_t rc = asup_timeout(cx, ASUP_MSEC(5), wait_in_scope, NULL);
	CHECK_EQ(asup_now(cx), ASUP_MSEC(5));
	CHECK_EQ(asup_waitq_is_empty(&q), 1); /* it left the queue */
	return rc;
}

TEST(a_wait_that_times_out_leaves_the_queue)
{
	asup_rt *rt = mk(26);
	asup_task h;
	asup_outcome o;

	asup_waitq_init(&q);
	CHECK_EQ(asup_rt_spawn(rt, wait_with_timeout, NULL, NULL, &h), 0);
	CHECK_EQ(run_idle(rt), 2);
	CHECK_EQ(asup_task_try_join(&h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_ERR);
	CHECK_EQ(o.value, -ETIMEDOUT);
	CHECK_EQ(asup_waitq_wake_one(&q), 0);
	CHECK_EQ(asup_waitq_wait(NULL, &q), -ASUP_ENOTASK);
	CHECK_EQ(asup_waitq_wake_one(NULL), -EINVAL);
	CHECK_EQ(asup_waitq_wake_all(NULL), -EINVAL);
	CHECK_EQ(asup_waitq_is_empty(NULL), -EINVAL);
	test_rt_done(rt);
}
