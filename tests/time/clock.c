/* Time: the virtual clock, sleep order, many timers, deadline scopes. */
#include "testrt.h"

#include "util/rng.h"

static asup_rt *mk_cfg(asup_mode mode, size_t stack)
{
	asup_rt_config cfg;
	asup_rt_config_init(&cfg);
	cfg.mode = mode;
	if (stack)
		cfg.stack_size = stack;
	return test_rt_cfg(&cfg);
}

TEST(virtual_clock_starts_at_zero_and_advances)
{
	asup_rt *rt = mk_cfg(ASUP_MODE_DETERMINISTIC, 0);
	CHECK_EQ(asup_rt_now(rt), 0);
	CHECK_EQ(asup_rt_advance(rt, ASUP_MSEC(11)), 0);
	CHECK_EQ(asup_rt_advance(rt, ASUP_MSEC(7)), 0);
	CHECK_EQ(asup_rt_now(rt), ASUP_MSEC(18));
	CHECK_EQ(asup_rt_advance(rt, UINT64_MAX), 0); /* saturates */
	CHECK_EQ(asup_rt_now(rt), ASUP_TIME_MAX);
	CHECK_EQ(asup_rt_destroy(rt), 0);
	rt = mk_cfg(ASUP_MODE_REAL, 0);
	CHECK_EQ(asup_rt_advance(rt, 1), -ASUP_ENOTDET);
	CHECK_EQ(asup_rt_destroy(rt), 0);
}

/* Each sleeper records the virtual time it woke at. */
struct sleeper {
	uint64_t ms;
	asup_time woke;
	int seq;
};
static int wake_seq;

static int64_t sleeper(asup_cx *cx, void *arg)
{
	struct sleeper *s = arg;
	int rc = asup_sleep(cx, ASUP_MSEC(s->ms));
	s->woke = asup_now(cx);
	s->seq = wake_seq++;
	return rc;
}

TEST(sleepers_wake_in_deadline_order_at_their_deadline)
{
	asup_rt *rt = mk_cfg(ASUP_MODE_DETERMINISTIC, 0);
	struct sleeper s[5] = {{30, 0, 0}, {10, 0, 0}, {50, 0, 0}, {20, 0, 0}, {40, 0, 0}};
	asup_task h;

	wake_seq = 0;
	for (int i = 0; i < 5; i++) {
		CHECK_EQ(asup_rt_spawn(rt, sleeper, &s[i], NULL, &h), 0);
		CHECK_EQ(asup_task_release(&h), 0);
	}
	CHECK(asup_rt_run_until_idle(rt) > 0); /* auto-advance through the timers */
	for (int i = 0; i < 5; i++) {
		CHECK_EQ(s[i].woke, ASUP_MSEC(s[i].ms));
		CHECK_EQ(s[i].seq, (int)(s[i].ms / 10) - 1);
	}
	CHECK_EQ(asup__rt_check(rt), 0);
	CHECK_EQ(asup_rt_destroy(rt), 0);
}

struct many {
	asup_time last;
	int out_of_order;
	int woke;
};

static struct many many_state;
static int64_t random_sleeper(asup_cx *cx, void *arg)
{
	uint64_t d = (uint64_t)(uintptr_t)arg;
	int rc = asup_sleep_until(cx, d);
	if (rc < 0)
		return rc;
	if (asup_now(cx) != d || d < many_state.last)
		many_state.out_of_order++;
	many_state.last = d;
	many_state.woke++;
	return 0;
}

TEST(one_hundred_thousand_timers_fire_in_order)
{
	/* TSan tracks every fiber like a thread and allows about 8,000 */
#if defined(__SANITIZE_THREAD__)
	int n = 5000;
#else
	int n = harness_under_valgrind() ? 5000 : 100000;
#endif
	asup_rt *rt = mk_cfg(ASUP_MODE_DETERMINISTIC, 16 * 1024);
	asup__rng r;
	asup_task h;
	asup_rt_stats st;

	memset(&many_state, 0, sizeof many_state);
	asup__rng_seed(&r, 42);
	for (int i = 0; i < n; i++) {
		uint64_t d = ASUP_MSEC(1 + asup__rng_below(&r, 1000)) + asup__rng_below(&r, 1000);
		CHECK_EQ(asup_rt_spawn(rt, random_sleeper, (void *)(uintptr_t)d, NULL, &h), 0);
		CHECK_EQ(asup_task_release(&h), 0);
	}
	/* let every task park, then check the timer queue holds them all */
	for (int i = 0; i < n; i++)
		CHECK_EQ(asup_rt_step(rt), 1);
	CHECK_EQ(asup_rt_stats_get(rt, &st), 0);
	CHECK_EQ(st.timers_armed, (uint32_t)n);
	CHECK(asup_rt_run_until_idle(rt) >= n);
	CHECK_EQ(many_state.woke, n);
	CHECK_EQ(many_state.out_of_order, 0);
	CHECK_EQ(asup__rt_check(rt), 0);
	CHECK_EQ(asup_rt_destroy(rt), 0);
}

/* ---- deadline scopes ---- */

static int64_t sleeps_100ms(asup_cx *cx, void *arg)
{
	return asup_sleep(cx, ASUP_MSEC(100));
}

static int64_t returns_early(asup_cx *cx, void *arg)
{
	CHECK_EQ(asup_sleep(cx, ASUP_MSEC(5)), 0);
	return 77;
}

static int64_t nested(asup_cx *cx, void *arg)
{
	/* the inner scope asks for 200 ms, the outer one allows 30 */
	CHECK_EQ(asup_cx_deadline(cx) - asup_now(cx), ASUP_MSEC(30));
	return asup_timeout(cx, ASUP_MSEC(200), sleeps_100ms, NULL);
}

static int64_t long_task(asup_cx *cx, void *arg)
{
	return asup_sleep(cx, ASUP_MSEC(100)) < 0 ? -1 : 9;
}

static int64_t joins_with_deadline(asup_cx *cx, void *arg)
{
	return asup_join(cx, arg, NULL);
}

static int64_t timeout_root(asup_cx *cx, void *arg)
{
	asup_task h;
	asup_outcome o;

	CHECK_EQ(asup_timeout(cx, ASUP_MSEC(20), sleeps_100ms, NULL), -ETIMEDOUT);
	CHECK_EQ(asup_now(cx), ASUP_MSEC(20)); /* woken exactly at the deadline */
	CHECK_EQ(asup_cx_deadline(cx), ASUP_TIME_MAX); /* restored */
	CHECK_EQ(asup_timeout(cx, ASUP_MSEC(20), returns_early, NULL), 77);
	CHECK_EQ(asup_timeout(cx, ASUP_MSEC(30), nested, NULL), -ETIMEDOUT);
	CHECK_EQ(asup_now(cx), ASUP_MSEC(55));
	/* a join in a deadline scope fails, the joined task keeps running */
	CHECK_EQ(asup_spawn(cx, long_task, NULL, NULL, &h), 0);
	CHECK_EQ(asup_timeout(cx, ASUP_MSEC(10), joins_with_deadline, &h), -ETIMEDOUT);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.value, 9);
	CHECK_EQ(asup_timeout(cx, 10, NULL, NULL), -EINVAL);
	return 0;
}

TEST(timeout_scopes_nest_and_restore)
{
	asup_rt *rt = mk_cfg(ASUP_MODE_DETERMINISTIC, 0);
	asup_outcome o;
	CHECK_EQ(asup_rt_run(rt, timeout_root, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(asup_rt_destroy(rt), 0);
	CHECK_EQ(asup_timeout(NULL, 1, sleeps_100ms, NULL), -ASUP_ENOTASK);
	CHECK_EQ(asup_sleep(NULL, 1), -ASUP_ENOTASK);
	CHECK_EQ(asup_now(NULL), 0);
}

static int64_t real_sleep(asup_cx *cx, void *arg)
{
	asup_time t0 = asup_now(cx);
	CHECK_EQ(asup_sleep(cx, ASUP_MSEC(2)), 0);
	CHECK(asup_now(cx) - t0 >= ASUP_MSEC(2)); /* never early */
	CHECK_EQ(asup_sleep_until(cx, 0), 0);     /* past: returns at once */
	return 0;
}

TEST(real_clock_sleep_is_never_early)
{
	asup_rt *rt = mk_cfg(ASUP_MODE_REAL, 0);
	asup_outcome o;
	CHECK_EQ(asup_rt_run(rt, real_sleep, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(asup_rt_destroy(rt), 0);
}
