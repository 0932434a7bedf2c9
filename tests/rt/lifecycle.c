/* The runtime object: several runtimes, deadlock detection, handle misuse,
 * bad configs and arguments, error texts, allocation failures. */
#include "testrt.h"

#include <pthread.h>

static asup_rt *mk(asup_mode mode)
{
	return test_rt(mode, 0);
}

static int64_t count_to(asup_cx *cx, void *arg)
{
	int64_t n = (int64_t)(intptr_t)arg, s = 0;
	for (int64_t i = 1; i <= n; i++) {
		s += i;
		CHECK_EQ(asup_yield(cx), 0);
	}
	return s;
}

TEST(two_runtimes_in_one_process)
{
	asup_rt *a = mk(ASUP_MODE_REAL), *b = mk(ASUP_MODE_DETERMINISTIC);
	asup_task hb;
	asup_outcome o;

	/* b is driven step by step while a runs to completion in between */
	CHECK_EQ(asup_rt_spawn(b, count_to, (void *)3, NULL, &hb), 0);
	CHECK_EQ(asup_rt_step(b), 1);
	CHECK_EQ(asup_rt_run(a, count_to, (void *)10, &o), 0);
	CHECK_EQ(o.value, 55);
	CHECK_EQ(asup_rt_run_until_idle(b), 3);
	CHECK_EQ(asup_task_try_join(&hb, &o), 0);
	CHECK_EQ(o.value, 6);
	CHECK_EQ(asup_rt_run(a, count_to, (void *)4, &o), 0);
	CHECK_EQ(o.value, 10);
	CHECK_EQ(asup_rt_destroy(a), 0);
	CHECK_EQ(asup_rt_destroy(b), 0);
}

static void *thread_main(void *arg)
{
	asup_rt *rt = mk(ASUP_MODE_REAL);
	asup_outcome o;
	int64_t *out = arg;
	CHECK_EQ(asup_rt_run(rt, count_to, (void *)1000, &o), 0);
	*out = o.value;
	CHECK_EQ(asup_rt_destroy(rt), 0);
	return NULL;
}

TEST(runtimes_on_two_threads_at_once)
{
	pthread_t t1, t2;
	int64_t r1 = 0, r2 = 0;
	CHECK_EQ(pthread_create(&t1, NULL, thread_main, &r1), 0);
	CHECK_EQ(pthread_create(&t2, NULL, thread_main, &r2), 0);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	CHECK_EQ(r1, 500500);
	CHECK_EQ(r2, 500500);
}

static int64_t parks_forever(asup_cx *cx, void *arg)
{
	return asup_park(cx);
}

static asup_rt *other_rt;
static int64_t nested_run(asup_cx *cx, void *arg)
{
	asup_outcome o;
	return asup_rt_run(other_rt, count_to, (void *)1, &o);
}

TEST(deadlock_and_misuse_of_run)
{
	asup_rt *rt = mk(ASUP_MODE_REAL);
	asup_outcome o;
	CHECK_EQ(asup_rt_run(rt, parks_forever, NULL, &o), -EDEADLK);
	CHECK_EQ(asup_rt_destroy(rt), 0); /* the parked task is discarded */

	rt = mk(ASUP_MODE_REAL);
	other_rt = mk(ASUP_MODE_REAL);
	CHECK_EQ(asup_rt_run(rt, nested_run, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_ERR);
	CHECK_EQ(o.value, -ASUP_EINTASK);
	CHECK_EQ(asup_rt_run(NULL, count_to, NULL, &o), -EINVAL);
	CHECK_EQ(asup_rt_run(rt, NULL, NULL, &o), -EINVAL);
	CHECK_EQ(asup_rt_step(rt), -ASUP_ENOTDET);
	CHECK_EQ(asup_rt_destroy(other_rt), 0);
	CHECK_EQ(asup_rt_destroy(rt), 0);
	CHECK_EQ(asup_rt_destroy(NULL), -EINVAL);
}

/* ---- handles ---- */

static asup_task saved;
static int64_t joins_itself(asup_cx *cx, void *arg)
{
	return asup_join(cx, arg, NULL);
}

static int64_t misuse_root(asup_cx *cx, void *arg)
{
	asup_task *foreign = arg;
	asup_task h, copy, empty;
	asup_outcome o;

	memset(&empty, 0, sizeof empty);
	CHECK_EQ(asup_join(cx, &empty, &o), -EINVAL);
	CHECK_EQ(asup_join(cx, NULL, &o), -EINVAL);
	CHECK_EQ(asup_spawn(cx, NULL, NULL, NULL, &h), -EINVAL);
	CHECK_EQ(asup_spawn(cx, count_to, NULL, NULL, NULL), -EINVAL);

	CHECK_EQ(asup_spawn(cx, count_to, (void *)2, NULL, &h), 0);
	copy = h;
	CHECK_EQ(asup_task_try_join(&h, &o), -EAGAIN);
	CHECK_EQ(asup_task_is_finished(&h), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.value, 3);
	CHECK_EQ(asup_join(cx, &h, &o), -ASUP_EJOINED);     /* this handle: joined */
	CHECK_EQ(asup_join(cx, &copy, &o), -ESRCH);         /* a copy: stale */
	CHECK_EQ(asup_task_try_join(&h, &o), -ASUP_EJOINED);
	CHECK_EQ(asup_task_release(&copy), -ESRCH);

	CHECK_EQ(asup_join(cx, foreign, &o), -EXDEV);
	/* every handle call on another runtime's task is refused */
	CHECK_EQ(asup_task_release(foreign), -EXDEV);

	/* a task cannot join itself */
	CHECK_EQ(asup_spawn(cx, joins_itself, &saved, NULL, &saved), 0);
	CHECK_EQ(asup_join(cx, &saved, &o), 0);
	CHECK_EQ(o.value, -EDEADLK);
	return 0;
}

TEST(handle_misuse_has_its_own_codes)
{
	asup_rt *rt = mk(ASUP_MODE_REAL), *other = mk(ASUP_MODE_DETERMINISTIC);
	asup_outcome o;
	asup_task foreign;
	CHECK_EQ(asup_rt_spawn(other, count_to, (void *)1, NULL, &foreign), 0);
	CHECK_EQ(asup_rt_run(rt, misuse_root, &foreign, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(asup__rt_check(rt), 0);
	CHECK_EQ(asup_task_release(&foreign), 0); /* from outside any runtime: accepted */
	CHECK_EQ(asup_rt_destroy(other), 0);
	CHECK_EQ(asup_rt_destroy(rt), 0);
}

static int64_t fails(asup_cx *cx, void *arg)
{
	return -EPIPE;
}

static int64_t panics(asup_cx *cx, void *arg)
{
	asup_panic(cx, "bad %s %d", "state", 42);
}

static int64_t outcomes_root(asup_cx *cx, void *arg)
{
	asup_task a, b, c;
	asup_outcome o;
	asup_rt_stats st;
	asup_rt *rt = arg;

	CHECK_EQ(asup_spawn(cx, fails, NULL, NULL, &a), 0);
	CHECK_EQ(asup_spawn(cx, panics, NULL, NULL, &b), 0);
	CHECK_EQ(asup_join(cx, &a, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_ERR);
	CHECK_EQ(o.value, -EPIPE);
	CHECK_EQ(asup_join(cx, &b, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_PANICKED);
	CHECK_STR_EQ(o.panic_msg, "bad state 42");
	/* a released task's record is freed once it finished */
	CHECK_EQ(asup_spawn(cx, count_to, (void *)1, NULL, &c), 0);
	CHECK_EQ(asup_task_release(&c), 0);
	CHECK_EQ(asup_task_release(&c), -ASUP_EJOINED);
	CHECK_EQ(asup_yield(cx), 0);
	CHECK_EQ(asup_yield(cx), 0);
	CHECK_EQ(asup_yield(cx), 0);
	CHECK_EQ(asup_rt_stats_get(rt, &st), 0);
	CHECK_EQ(st.task_records, 1); /* only the root is left */
	return 0;
}

TEST(outcomes_and_record_release)
{
	asup_rt *rt = mk(ASUP_MODE_REAL);
	asup_outcome o;
	CHECK_EQ(asup_rt_run(rt, outcomes_root, rt, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(asup_rt_destroy(rt), 0);
}

/* ---- bad input ---- */

static void expect_bad(void (*tweak)(asup_rt_config *), const char *field)
{
	asup_rt_config cfg;
	asup_rt *rt = (asup_rt *)0x1;
	const char *bad = NULL;
	asup_rt_config_init(&cfg);
	tweak(&cfg);
	CHECK_EQ(asup_rt_create(&cfg, &rt), -EINVAL);
	CHECK(rt == (asup_rt *)0x1); /* untouched */
	CHECK_EQ(asup_rt_config_check(&cfg, &bad), -EINVAL);
	CHECK_STR_EQ(bad, field);
}

static void stack0(asup_rt_config *c) { c->stack_size = 0; }
static void stack4k(asup_rt_config *c) { c->stack_size = 4096; }
static void stack2g(asup_rt_config *c) { c->stack_size = (size_t)2 << 30; }
static void mode7(asup_rt_config *c) { c->mode = (asup_mode)7; }
static void streak0(asup_rt_config *c) { c->cancel_streak_limit = 0; }
static void *my_alloc(void *ud, size_t n) { return malloc(n); }
static void half_hooks(asup_rt_config *c) { c->alloc.alloc = my_alloc; }
static void chain0(asup_rt_config *c) { c->cancel_chain_depth = 0; }
static void leak9(asup_rt_config *c) { c->leak_response = (asup_leak_response)9; }

TEST(invalid_configs_are_refused_by_field)
{
	asup_rt *rt;
	expect_bad(stack0, "stack_size");
	expect_bad(stack4k, "stack_size");
	expect_bad(stack2g, "stack_size");
	expect_bad(mode7, "mode");
	expect_bad(streak0, "cancel_streak_limit");
	expect_bad(half_hooks, "alloc");
	expect_bad(chain0, "cancel_chain_depth");
	expect_bad(leak9, "leak_response");
	CHECK_EQ(asup_rt_create(NULL, &rt), -EINVAL);
	CHECK_EQ(asup_rt_config_check(NULL, NULL), -EINVAL);
}

static asup_cx *stale_cx;
static int64_t leaks_its_cx(asup_cx *cx, void *arg)
{
	stale_cx = cx; /* forbidden, and detected */
	return 0;
}

static int64_t uses_stale_cx(asup_cx *cx, void *arg)
{
	asup_task h;
	asup_waitq q;
	asup_outcome o;
	CHECK_EQ(asup_spawn(cx, leaks_its_cx, NULL, NULL, &h), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	asup_waitq_init(&q);
	CHECK_EQ(asup_yield(stale_cx), -ASUP_ENOTASK);
	CHECK_EQ(asup_sleep(stale_cx, 1), -ASUP_ENOTASK);
	CHECK_EQ(asup_checkpoint(stale_cx), -ASUP_ENOTASK);
	CHECK_EQ(asup_park(stale_cx), -ASUP_ENOTASK);
	CHECK_EQ(asup_waitq_wait(stale_cx, &q), -ASUP_ENOTASK);
	CHECK_EQ(asup_join(stale_cx, &h, &o), -ASUP_ENOTASK);
	CHECK_EQ(asup_spawn(stale_cx, count_to, NULL, NULL, &h), -ASUP_ENOTASK);
	return 0;
}

TEST(suspending_calls_outside_their_task_are_refused)
{
	asup_rt *rt = mk(ASUP_MODE_REAL);
	asup_outcome o;
	asup_task h;
	CHECK_EQ(asup_yield(NULL), -ASUP_ENOTASK);
	CHECK_EQ(asup_park(NULL), -ASUP_ENOTASK);
	CHECK_EQ(asup_join(NULL, &h, &o), -ASUP_ENOTASK);
	CHECK_EQ(asup_checkpoint(NULL), -ASUP_ENOTASK);
	CHECK_EQ(asup_rt_run(rt, uses_stale_cx, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(asup_rt_destroy(rt), 0);
}

TEST(error_texts)
{
	CHECK_STR_EQ(asup_err_name(-ECANCELED), "ASUP_ECANCELED");
	CHECK_STR_EQ(asup_err_name(ASUP_ENOTASK), "ASUP_ENOTASK");
	CHECK_STR_EQ(asup_strerror(-ETIMEDOUT), "deadline passed");
	CHECK(strlen(asup_strerror(-ASUP_EJOINED)) > 0);
	CHECK_STR_EQ(asup_err_name(-123456), "ASUP_EUNKNOWN");
	CHECK_STR_EQ(asup_strerror(-123456), "unknown error");
	CHECK_STR_EQ(asup_outcome_kind_name(ASUP_OUTCOME_CANCELLED), "cancelled");
	CHECK_EQ(-ASUP_ENOMEM, -ENOMEM);
}

/* ---- allocation failure injection ---- */

static long allocs_left;
static void *failing_alloc(void *ud, size_t n)
{
	if (allocs_left-- <= 0)
		return NULL;
	return malloc(n);
}
static void plain_free(void *ud, void *p, size_t n)
{
	free(p);
}

static int64_t spawns_many(asup_cx *cx, void *arg)
{
	asup_task h[200];
	int ok = 0, rc;
	for (int i = 0; i < 200; i++) {
		rc = asup_spawn(cx, count_to, (void *)1, NULL, &h[i]);
		if (rc == 0)
			ok++;
		else
			CHECK_EQ(rc, -ENOMEM);
		if (rc < 0)
			h[i]._rec = NULL;
	}
	for (int i = 0; i < 200; i++)
		if (h[i]._rec)
			CHECK_EQ(asup_join(cx, &h[i], NULL), 0);
	return ok;
}

TEST(allocation_failures_report_enomem_and_leak_nothing)
{
	for (long budget = 0; budget < 12; budget++) {
		asup_rt_config cfg;
		asup_rt *rt;
		asup_outcome o;
		int rc;
		asup_rt_config_init(&cfg);
		cfg.alloc.alloc = failing_alloc;
		cfg.alloc.free = plain_free;
		allocs_left = budget;
		rc = asup_rt_create(&cfg, &rt);
		if (rc < 0) {
			CHECK_EQ(rc, -ENOMEM);
			continue;
		}
		rc = asup_rt_run(rt, spawns_many, NULL, &o);
		CHECK(rc == 0 || rc == -ENOMEM);
		if (rc == 0)
			CHECK(o.kind == ASUP_OUTCOME_OK || o.kind == ASUP_OUTCOME_ERR);
		CHECK_EQ(asup_rt_destroy(rt), 0);
	}
}
