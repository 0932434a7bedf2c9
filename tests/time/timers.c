/*
 * Time: the virtual clock, sleeping, the timer queue at scale, and deadline
 * scopes (asup_timeout). Deterministic mode is asserted on exact virtual
 * times; real mode only on lower bounds.
 */
#include "testrt.h"

#include <time.h>

#include "util/rng.h"

static asup_rt *det(int auto_advance)
{
	asup_rt_config cfg;
	asup_rt_config_init(&cfg);
	cfg.mode = ASUP_MODE_DETERMINISTIC;
	cfg.auto_advance = auto_advance;
	return test_rt_cfg(&cfg);
}

static int step(asup_rt *rt)
{
	int rc = asup_rt_step(rt);
	CHECK(rc >= 0);
	CHECK_EQ(asup__rt_check(rt), 0);
	return rc;
}

/* ---- the virtual clock ---- */

static int64_t reads_clock(asup_cx *cx, void *arg)
{
	return (int64_t)asup_now(cx);
}

TEST(virtual_clock_starts_at_zero_and_moves_only_when_told)
{
	asup_rt *rt = det(1);
	asup_outcome o;

	CHECK_EQ(asup_rt_now(rt), 0);
	CHECK_EQ(asup_rt_run(rt, reads_clock, NULL, &o), 0);
	CHECK_EQ(o.value, 0); /* running tasks does not move it */
	CHECK_EQ(asup_rt_now(rt), 0);
	CHECK_EQ(asup_rt_advance(rt, 0), 0);
	CHECK_EQ(asup_rt_now(rt), 0);
	CHECK_EQ(asup_rt_advance(rt, 1), 0);
	CHECK_EQ(asup_rt_advance(rt, ASUP_SEC(2)), 0);
	CHECK_EQ(asup_rt_now(rt), ASUP_SEC(2) + 1);
	CHECK_EQ(asup_rt_run(rt, reads_clock, NULL, &o), 0);
	CHECK_EQ(o.value, ASUP_SEC(2) + 1);
	CHECK_EQ(asup_rt_advance(rt, UINT64_MAX), 0); /* saturates */
	CHECK_EQ(asup_rt_now(rt), ASUP_TIME_MAX);
	CHECK_EQ(asup_rt_advance(rt, 5), 0);
	CHECK_EQ(asup_rt_now(rt), ASUP_TIME_MAX);
	CHECK_EQ(asup_rt_advance(NULL, 1), -EINVAL);
	CHECK_EQ(asup_rt_now(NULL), 0);
	test_rt_done(rt);
}

TEST(real_clock_is_monotonic_and_cannot_be_advanced)
{
	asup_rt *rt = test_rt(ASUP_MODE_REAL, 0);
	asup_time a = asup_rt_now(rt), b;
	CHECK(a < ASUP_SEC(1)); /* starts near 0 */
	CHECK_EQ(asup_rt_advance(rt, ASUP_SEC(1)), -ASUP_ENOTDET);
	b = asup_rt_now(rt);
	CHECK(b >= a);
	CHECK(b < ASUP_SEC(1)); /* not moved by the refused advance */
	test_rt_done(rt);
}

static int64_t sleep_5s(asup_cx *cx, void *arg)
{
	CHECK_EQ(asup_sleep(cx, ASUP_SEC(5)), 0);
	return (int64_t)asup_now(cx);
}

TEST(auto_advance_jumps_to_the_next_timer)
{
	asup_rt *rt = det(1);
	asup_task h;
	asup_outcome o;

	CHECK_EQ(asup_rt_spawn(rt, sleep_5s, NULL, NULL, &h), 0);
	CHECK_EQ(step(rt), 1); /* arms the timer */
	CHECK_EQ(asup_rt_now(rt), 0);
	CHECK_EQ(step(rt), 1); /* nothing runnable: jump to 5 s and run it */
	CHECK_EQ(asup_rt_now(rt), ASUP_SEC(5));
	CHECK_EQ(asup_task_try_join(&h, &o), 0);
	CHECK_EQ(o.value, ASUP_SEC(5));
	CHECK_EQ(step(rt), 0); /* no timer left: time stays */
	CHECK_EQ(asup_rt_now(rt), ASUP_SEC(5));
	test_rt_done(rt);
}

TEST(without_auto_advance_time_moves_only_by_asup_rt_advance)
{
	asup_rt *rt = det(0);
	asup_task h;
	asup_outcome o;

	CHECK_EQ(asup_rt_spawn(rt, sleep_5s, NULL, NULL, &h), 0);
	CHECK_EQ(step(rt), 1);
	CHECK_EQ(step(rt), 0);
	CHECK_EQ(asup_rt_run_until_idle(rt), 0);
	CHECK_EQ(asup_rt_now(rt), 0);
	CHECK_EQ(asup_rt_advance(rt, ASUP_SEC(5) - 1), 0);
	CHECK_EQ(step(rt), 0); /* one nanosecond early: still asleep */
	CHECK_EQ(asup_task_is_finished(&h), 0);
	CHECK_EQ(asup_rt_advance(rt, 1), 0);
	CHECK_EQ(step(rt), 1);
	CHECK_EQ(asup_task_try_join(&h, &o), 0);
	CHECK_EQ(o.value, ASUP_SEC(5));
	test_rt_done(rt);
}

/* ---- sleep order ---- */

struct sleeper {
	uint64_t ns; /* how long */
	asup_time armed_at;
	asup_time woke_at;
	int wake_seq;
	int arm_seq;
};

static int next_wake, next_arm;

static int64_t sleeper(asup_cx *cx, void *arg)
{
	struct sleeper *s = arg;
	s->armed_at = asup_now(cx);
	s->arm_seq = next_arm++;
	CHECK_EQ(asup_sleep(cx, s->ns), 0);
	s->woke_at = asup_now(cx);
	s->wake_seq = next_wake++;
	return 0;
}

TEST(sleepers_wake_in_deadline_order_exactly_at_their_deadlines)
{
	asup_rt *rt = det(1);
	uint64_t ms[] = {70, 10, 50, 30, 20, 60, 40, 1};
	struct sleeper s[8];
	asup_task h;

	next_wake = next_arm = 0;
	for (int i = 0; i < 8; i++) {
		memset(&s[i], 0, sizeof s[i]);
		s[i].ns = ASUP_MSEC(ms[i]);
		CHECK_EQ(asup_rt_spawn(rt, sleeper, &s[i], NULL, &h), 0);
		CHECK_EQ(asup_task_release(&h), 0);
	}
	CHECK_EQ(asup_rt_run_until_idle(rt), 16);
	for (int i = 0; i < 8; i++) {
		int earlier = 0;
		CHECK_EQ(s[i].armed_at, 0);
		CHECK_EQ(s[i].woke_at, s[i].ns); /* exactly the deadline */
		for (int j = 0; j < 8; j++)
			earlier += ms[j] < ms[i];
		CHECK_EQ(s[i].wake_seq, earlier);
	}
	CHECK_EQ(asup_rt_now(rt), ASUP_MSEC(70));
	test_rt_done(rt);
}

TEST(equal_deadlines_wake_in_arming_order)
{
	asup_rt *rt = det(1);
	struct sleeper s[10];
	asup_task h;

	next_wake = next_arm = 0;
	for (int i = 0; i < 10; i++) {
		memset(&s[i], 0, sizeof s[i]);
		s[i].ns = ASUP_MSEC(3);
		CHECK_EQ(asup_rt_spawn(rt, sleeper, &s[i], NULL, &h), 0);
		CHECK_EQ(asup_task_release(&h), 0);
	}
	CHECK_EQ(asup_rt_run_until_idle(rt), 20);
	for (int i = 0; i < 10; i++) {
		CHECK_EQ(s[i].woke_at, ASUP_MSEC(3));
		CHECK_EQ(s[i].wake_seq, s[i].arm_seq); /* the (seeded) arming order */
	}
	test_rt_done(rt);
}

static int64_t sleeps_until_past(asup_cx *cx, void *arg)
{
	asup_rt *rt = arg;
	asup_rt_stats a, b;
	CHECK_EQ(asup_sleep(cx, ASUP_MSEC(4)), 0);
	CHECK_EQ(asup_rt_stats_get(rt, &a), 0);
	CHECK_EQ(asup_sleep_until(cx, ASUP_MSEC(1)), 0); /* in the past */
	CHECK_EQ(asup_sleep_until(cx, ASUP_MSEC(4)), 0); /* now */
	CHECK_EQ(asup_sleep(cx, 0), 0);
	CHECK_EQ(asup_rt_stats_get(rt, &b), 0);
	CHECK_EQ(b.parks, a.parks); /* none of them suspended */
	CHECK_EQ(asup_now(cx), ASUP_MSEC(4));
	return 0;
}

TEST(sleeping_until_the_past_returns_at_once)
{
	asup_rt *rt = det(1);
	asup_outcome o;
	CHECK_EQ(asup_rt_run(rt, sleeps_until_past, rt, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	test_rt_done(rt);
}

static int64_t sleep_1s_checked(asup_cx *cx, void *arg)
{
	return asup_sleep(cx, ASUP_SEC(1));
}

TEST(aborting_a_sleeper_disarms_its_timer)
{
	asup_rt *rt = det(1);
	asup_task h;
	asup_outcome o;
	asup_rt_stats st;

	CHECK_EQ(asup_rt_spawn(rt, sleep_1s_checked, NULL, NULL, &h), 0);
	CHECK_EQ(step(rt), 1);
	CHECK_EQ(asup_rt_stats_get(rt, &st), 0);
	CHECK_EQ(st.timers_armed, 1);
	CHECK_EQ(asup_rt_advance(rt, ASUP_MSEC(3)), 0);
	CHECK_EQ(asup_task_abort(&h), 0);
	CHECK_EQ(step(rt), 1);
	CHECK_EQ(asup_rt_now(rt), ASUP_MSEC(3)); /* not at the deadline */
	CHECK_EQ(asup_rt_stats_get(rt, &st), 0);
	CHECK_EQ(st.timers_armed, 0);
	CHECK_EQ(asup_task_try_join(&h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(step(rt), 0); /* no stale timer fires later */
	CHECK_EQ(asup_rt_now(rt), ASUP_MSEC(3));
	test_rt_done(rt);
}

/* ---- many timers ---- */

static struct {
	asup_time last;
	int out_of_order, early_or_late, woke;
} many;

static int64_t random_sleeper(asup_cx *cx, void *arg)
{
	asup_time deadline = (asup_time)(uintptr_t)arg;
	int rc = asup_sleep_until(cx, deadline);
	asup_time now = asup_now(cx);
	if (rc < 0)
		return rc;
	if (now != deadline)
		many.early_or_late++;
	if (deadline < many.last)
		many.out_of_order++;
	many.last = deadline;
	many.woke++;
	return 0;
}

TEST(one_hundred_thousand_sleepers_wake_in_deadline_order)
{
#if defined(__SANITIZE_THREAD__)
	int n = 5000; /* TSan tracks each fiber like a thread: ~8,000 at most */
#else
	int n = harness_under_valgrind() ? 10000 : 100000;
#endif
	asup_rt_config cfg;
	asup_rt *rt;
	asup__rng r;
	asup_task h;
	asup_rt_stats st;
	int64_t steps;

	asup_rt_config_init(&cfg);
	cfg.mode = ASUP_MODE_DETERMINISTIC;
	cfg.seed = 77;
	cfg.stack_size = 16384;
	cfg.stack_pool_max = 64;
	rt = test_rt_cfg(&cfg);
	memset(&many, 0, sizeof many);
	asup__rng_seed(&r, 2024);
	for (int i = 0; i < n; i++) {
		/* up to 10 s, with plenty of exact ties at whole milliseconds */
		asup_time d = ASUP_MSEC(1 + asup__rng_below(&r, 10000));
		if (i & 1)
			d += asup__rng_below(&r, 1000000);
		CHECK_EQ(asup_rt_spawn(rt, random_sleeper, (void *)(uintptr_t)d, NULL, &h), 0);
		CHECK_EQ(asup_task_release(&h), 0);
	}
	/* every task parks on its timer before any time passes */
	for (int i = 0; i < n; i++)
		CHECK_EQ(asup_rt_step(rt), 1);
	CHECK_EQ(asup_rt_now(rt), 0);
	CHECK_EQ(asup_rt_stats_get(rt, &st), 0);
	CHECK_EQ(st.timers_armed, (uint32_t)n);
	CHECK_EQ(st.tasks_live, (uint32_t)n);
	CHECK_EQ(asup__rt_check(rt), 0);
	steps = asup_rt_run_until_idle(rt);
	CHECK_EQ(steps, n);
	CHECK_EQ(many.woke, n);
	CHECK_EQ(many.out_of_order, 0);
	CHECK_EQ(many.early_or_late, 0);
	CHECK_EQ(asup_rt_stats_get(rt, &st), 0);
	CHECK_EQ(st.timers_armed, 0);
	CHECK_EQ(st.tasks_live, 0);
	CHECK_EQ(st.timed_dispatches, (uint64_t)n);
	test_rt_done(rt);
}

/* ---- deadline scopes ---- */

static int64_t sleep_ms(asup_cx *cx, void *arg)
{
	return asup_sleep(cx, ASUP_MSEC((uint64_t)(uintptr_t)arg));
}

static int64_t sleep_then_value(asup_cx *cx, void *arg)
{
	CHECK_EQ(asup_sleep(cx, ASUP_MSEC(5)), 0);
	return 77;
}

/* Ignores the timeout and returns a value anyway. */
static int64_t ignores_timeout(asup_cx *cx, void *arg)
{
	CHECK_EQ(asup_sleep(cx, ASUP_MSEC(50)), -ETIMEDOUT);
	CHECK_EQ(asup_yield(cx), -ETIMEDOUT); /* every later checkpoint too */
	CHECK_EQ(asup_checkpoint(cx), -ETIMEDOUT);
	return 5;
}

static int64_t timeout_basics(asup_cx *cx, void *arg)
{
	asup_time t0;

	CHECK_EQ(asup_cx_deadline(cx), ASUP_TIME_MAX);
	/* a sleep longer than the scope ends at exactly the scope's deadline */
	CHECK_EQ(asup_timeout(cx, ASUP_MSEC(20), sleep_ms, (void *)100), -ETIMEDOUT);
	CHECK_EQ(asup_now(cx), ASUP_MSEC(20));
	CHECK_EQ(asup_cx_deadline(cx), ASUP_TIME_MAX); /* restored */
	/* a value returned before the deadline wins */
	t0 = asup_now(cx);
	CHECK_EQ(asup_timeout(cx, ASUP_MSEC(20), sleep_then_value, NULL), 77);
	CHECK_EQ(asup_now(cx), t0 + ASUP_MSEC(5));
	/* and so does a value returned after it passed */
	t0 = asup_now(cx);
	CHECK_EQ(asup_timeout(cx, ASUP_MSEC(10), ignores_timeout, NULL), 5);
	CHECK_EQ(asup_now(cx), t0 + ASUP_MSEC(10));
	/* after the scope, sleeping works normally again */
	t0 = asup_now(cx);
	CHECK_EQ(asup_sleep(cx, ASUP_MSEC(30)), 0);
	CHECK_EQ(asup_now(cx), t0 + ASUP_MSEC(30));
	/* an absolute deadline; one already passed times out at once */
	t0 = asup_now(cx);
	CHECK_EQ(asup_timeout_at(cx, t0 + ASUP_MSEC(3), sleep_ms, (void *)9), -ETIMEDOUT);
	CHECK_EQ(asup_now(cx), t0 + ASUP_MSEC(3));
	t0 = asup_now(cx);
	CHECK_EQ(asup_timeout_at(cx, t0 - 1, sleep_ms, (void *)9), -ETIMEDOUT);
	CHECK_EQ(asup_timeout(cx, 0, sleep_ms, (void *)9), -ETIMEDOUT);
	CHECK_EQ(asup_now(cx), t0);
	CHECK_EQ(asup_timeout(cx, ASUP_MSEC(1), NULL, NULL), -EINVAL);
	return 0;
}

TEST(timeout_scopes_end_sleeps_at_exactly_their_deadline)
{
	asup_rt *rt = det(1);
	asup_outcome o;
	CHECK_EQ(asup_rt_run(rt, timeout_basics, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	test_rt_done(rt);
}

struct nest {
	uint64_t inner_ms;
	asup_time outer_deadline, inner_seen, after_inner;
};

static int64_t inner_fn(asup_cx *cx, void *arg)
{
	struct nest *n = arg;
	n->inner_seen = asup_cx_deadline(cx);
	return asup_sleep(cx, ASUP_MSEC(1000));
}

static int64_t outer_fn(asup_cx *cx, void *arg)
{
	struct nest *n = arg;
	int64_t rc;
	n->outer_deadline = asup_cx_deadline(cx);
	rc = asup_timeout(cx, ASUP_MSEC(n->inner_ms), inner_fn, n);
	n->after_inner = asup_cx_deadline(cx);
	if (rc == -ETIMEDOUT && asup_now(cx) < n->outer_deadline) {
		/* the inner scope expired: the outer one still has time left */
		CHECK_EQ(asup_sleep(cx, ASUP_MSEC(1)), 0);
	}
	return rc;
}

static int64_t nesting_root(asup_cx *cx, void *arg)
{
	struct nest n;
	asup_time t0 = asup_now(cx);

	/* tighter inner scope: the inner deadline applies */
	memset(&n, 0, sizeof n);
	n.inner_ms = 10;
	CHECK_EQ(asup_timeout(cx, ASUP_MSEC(30), outer_fn, &n), -ETIMEDOUT);
	CHECK_EQ(n.outer_deadline, t0 + ASUP_MSEC(30));
	CHECK_EQ(n.inner_seen, t0 + ASUP_MSEC(10));
	CHECK_EQ(n.after_inner, t0 + ASUP_MSEC(30)); /* the outer one is back */
	CHECK_EQ(asup_now(cx), t0 + ASUP_MSEC(11));
	CHECK_EQ(asup_cx_deadline(cx), ASUP_TIME_MAX);

	/* looser inner scope: the outer deadline still applies inside it */
	t0 = asup_now(cx);
	memset(&n, 0, sizeof n);
	n.inner_ms = 200;
	CHECK_EQ(asup_timeout(cx, ASUP_MSEC(30), outer_fn, &n), -ETIMEDOUT);
	CHECK_EQ(n.inner_seen, t0 + ASUP_MSEC(30));
	CHECK_EQ(n.after_inner, t0 + ASUP_MSEC(30));
	CHECK_EQ(asup_now(cx), t0 + ASUP_MSEC(30));
	CHECK_EQ(asup_cx_deadline(cx), ASUP_TIME_MAX);
	return 0;
}

TEST(nested_timeouts_use_the_tighter_deadline)
{
	asup_rt *rt = det(1);
	asup_outcome o;
	CHECK_EQ(asup_rt_run(rt, nesting_root, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	test_rt_done(rt);
}

static asup_time long_task_finished_at;

static int64_t long_task(asup_cx *cx, void *arg)
{
	int rc = asup_sleep(cx, ASUP_MSEC(100));
	long_task_finished_at = asup_now(cx);
	return rc < 0 ? rc : 9;
}

static int64_t join_in_scope(asup_cx *cx, void *arg)
{
	return asup_join(cx, arg, NULL);
}

static int64_t join_timeout_root(asup_cx *cx, void *arg)
{
	asup_task h;
	asup_outcome o;

	long_task_finished_at = 0;
	CHECK_EQ(asup_spawn(cx, long_task, NULL, NULL, &h), 0);
	CHECK_EQ(asup_timeout(cx, ASUP_MSEC(10), join_in_scope, &h), -ETIMEDOUT);
	CHECK_EQ(asup_now(cx), ASUP_MSEC(10));
	/* the joined task keeps running, uncancelled */
	CHECK_EQ(asup_task_is_finished(&h), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(o.value, 9);
	CHECK_EQ(long_task_finished_at, ASUP_MSEC(100));
	CHECK_EQ(asup_now(cx), ASUP_MSEC(100));
	return 0;
}

TEST(a_join_that_times_out_leaves_the_task_running)
{
	asup_rt *rt = det(1);
	asup_outcome o;
	CHECK_EQ(asup_rt_run(rt, join_timeout_root, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	test_rt_done(rt);
}

TEST(timeouts_need_a_task)
{
	CHECK_EQ(asup_timeout(NULL, 1, sleep_ms, NULL), -ASUP_ENOTASK);
	CHECK_EQ(asup_timeout_at(NULL, 1, sleep_ms, NULL), -ASUP_ENOTASK);
	CHECK_EQ(asup_cx_deadline(NULL), ASUP_TIME_MAX);
	CHECK_EQ(asup_sleep(NULL, 1), -ASUP_ENOTASK);
	CHECK_EQ(asup_sleep_until(NULL, 1), -ASUP_ENOTASK);
	CHECK_EQ(asup_now(NULL), 0);
}

/* ---- real mode: never early ---- */

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int64_t real_sleeps(asup_cx *cx, void *arg)
{
	for (int i = 0; i < 3; i++) {
		asup_time t0 = asup_now(cx);
		uint64_t w0 = mono_ns();
		CHECK_EQ(asup_sleep(cx, ASUP_MSEC(2)), 0);
		CHECK(asup_now(cx) - t0 >= ASUP_MSEC(2));
		CHECK(mono_ns() - w0 >= ASUP_MSEC(2));
	}
	/* a deadline scope in real time: ends no earlier than its deadline */
	asup_time t0 = asup_now(cx);
	uint64_t w0 = mono_ns();
	CHECK_EQ(asup_timeout(cx, ASUP_MSEC(3), sleep_ms, (void *)1000), -ETIMEDOUT);
	CHECK(asup_now(cx) - t0 >= ASUP_MSEC(3));
	CHECK(mono_ns() - w0 >= ASUP_MSEC(3));
	return 0;
}

TEST(real_sleeps_and_timeouts_are_never_early)
{
	asup_rt *rt = test_rt(ASUP_MODE_REAL, 0);
	asup_outcome o;
	CHECK_EQ(asup_rt_run(rt, real_sleeps, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	test_rt_done(rt);
}
