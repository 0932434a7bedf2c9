/*
 * The runtime object: several runtimes in one process (in turn, interleaved,
 * on two threads), deadlock detection, driving misuse, task handles and
 * outcomes, bad configs and arguments, calls outside their task, error texts,
 * and allocation through the hooks (failure injection, no leaks, no
 * allocation on the hot path).
 */
#include "testrt.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

static asup_rt *mk(asup_mode mode)
{
	return test_rt(mode, 3);
}

static asup_rt_stats stats(asup_rt *rt)
{
	asup_rt_stats st;
	CHECK_EQ(asup_rt_stats_get(rt, &st), 0);
	return st;
}

/* ---- small task bodies ---- */

/* Sum 1..n, yielding after each addition. */
static int64_t count_to(asup_cx *cx, void *arg)
{
	int64_t n = (int64_t)(intptr_t)arg, s = 0;
	for (int64_t i = 1; i <= n; i++) {
		s += i;
		CHECK_EQ(asup_yield(cx), 0);
	}
	return s;
}

static int64_t returns_arg(asup_cx *cx, void *arg)
{
	return (int64_t)(intptr_t)arg;
}

/* Spawns `n` count_to children, sleeps, joins them: sum of their sums. */
static int64_t family(asup_cx *cx, void *arg)
{
	int n = (int)(intptr_t)arg;
	asup_task h[16];
	int64_t sum = 0;
	CHECK(n <= 16);
	for (int i = 0; i < n; i++)
		CHECK_EQ(asup_spawn(cx, count_to, (void *)(intptr_t)(i + 1), NULL, &h[i]), 0);
	CHECK_EQ(asup_sleep(cx, ASUP_MSEC(1)), 0);
	for (int i = 0; i < n; i++) {
		asup_outcome o;
		CHECK_EQ(asup_join(cx, &h[i], &o), 0);
		CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
		sum += o.value;
	}
	return sum;
}

/* sum over i = 1..n of i(i+1)/2 */
static int64_t family_sum(int n)
{
	int64_t s = 0;
	for (int i = 1; i <= n; i++)
		s += (int64_t)i * (i + 1) / 2;
	return s;
}

/* ---- several runtimes ---- */

TEST(two_real_runtimes_one_after_the_other)
{
	asup_outcome o;
	for (int round = 0; round < 2; round++) {
		asup_rt *a = mk(ASUP_MODE_REAL);
		CHECK_EQ(asup_rt_run(a, family, (void *)8, &o), 0);
		CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
		CHECK_EQ(o.value, family_sum(8));
		test_rt_done(a);
	}
	/* two alive at once, used in turn; and a runtime can run again */
	asup_rt *a = mk(ASUP_MODE_REAL), *b = mk(ASUP_MODE_REAL);
	CHECK_EQ(asup_rt_run(a, family, (void *)3, &o), 0);
	CHECK_EQ(o.value, family_sum(3));
	CHECK_EQ(asup_rt_run(b, family, (void *)5, &o), 0);
	CHECK_EQ(o.value, family_sum(5));
	CHECK_EQ(asup_rt_run(a, family, (void *)7, &o), 0);
	CHECK_EQ(o.value, family_sum(7));
	CHECK_EQ(stats(a).tasks_spawned, 1 + 3 + 1 + 7);
	CHECK_EQ(stats(b).tasks_spawned, 1 + 5);
	test_rt_done(a);
	test_rt_done(b);
}

static int64_t det_stepper(asup_cx *cx, void *arg)
{
	int64_t s = 0;
	for (int i = 0; i < 5; i++) {
		CHECK_EQ(asup_sleep(cx, ASUP_MSEC(10)), 0);
		s += (int64_t)asup_now(cx);
	}
	return s;
}

TEST(deterministic_and_real_runtimes_interleave)
{
	asup_rt *d = mk(ASUP_MODE_DETERMINISTIC), *r = mk(ASUP_MODE_REAL);
	asup_task hd;
	asup_outcome o;
	int steps = 0;

	CHECK_EQ(asup_rt_spawn(d, det_stepper, NULL, NULL, &hd), 0);
	/* one dispatch of d, one whole run of r, and so on */
	while (asup_rt_step(d) == 1) {
		steps++;
		CHECK_EQ(asup_rt_run(r, family, (void *)2, &o), 0);
		CHECK_EQ(o.value, family_sum(2));
		CHECK_EQ(asup__rt_check(d), 0);
	}
	CHECK_EQ(steps, 6);
	CHECK_EQ(asup_task_try_join(&hd, &o), 0);
	CHECK_EQ(o.value, ASUP_MSEC(10 + 20 + 30 + 40 + 50)); /* virtual time only */
	CHECK_EQ(asup_rt_now(d), ASUP_MSEC(50));
	/* a real runtime can also be driven while another is mid-session */
	CHECK_EQ(asup_rt_spawn(d, det_stepper, NULL, NULL, &hd), 0);
	CHECK_EQ(asup_rt_step(d), 1);
	CHECK_EQ(asup_rt_run(r, count_to, (void *)10, &o), 0);
	CHECK_EQ(o.value, 55);
	CHECK_EQ(asup_rt_run_until_idle(d), 5);
	CHECK_EQ(asup_task_try_join(&hd, &o), 0);
	CHECK_EQ(o.value, ASUP_MSEC(60 + 70 + 80 + 90 + 100));
	test_rt_done(d);
	test_rt_done(r);
}

static pthread_barrier_t barrier;

struct thread_job {
	int64_t result;
	asup_mode mode;
};

static int64_t busy_root(asup_cx *cx, void *arg)
{
	int64_t s = 0;
	for (int k = 0; k < 20; k++)
		s += family(cx, (void *)6);
	return s;
}

static void *thread_main(void *arg)
{
	struct thread_job *j = arg;
	asup_rt *rt = test_rt(j->mode, 1);
	asup_outcome o;
	pthread_barrier_wait(&barrier); /* both start together */
	CHECK_EQ(asup_rt_run(rt, busy_root, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	j->result = o.value;
	test_rt_done(rt);
	return NULL;
}

TEST(runtimes_on_three_threads_at_once)
{
	pthread_t t[3];
	struct thread_job j[3] = {
	    {0, ASUP_MODE_REAL}, {0, ASUP_MODE_REAL}, {0, ASUP_MODE_DETERMINISTIC}};
	CHECK_EQ(pthread_barrier_init(&barrier, NULL, 3), 0);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(pthread_create(&t[i], NULL, thread_main, &j[i]), 0);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(pthread_join(t[i], NULL), 0);
	pthread_barrier_destroy(&barrier);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(j[i].result, 20 * family_sum(6));
}

/* ---- one driver at a time ---- */

static atomic_int spin_started, spin_release;

static int64_t spins_until_released(asup_cx *cx, void *arg)
{
	atomic_store(&spin_started, 1);
	while (!atomic_load(&spin_release))
		sched_yield(); /* holds the runtime's thread without suspending */
	return 1;
}

static void *drive_spinner(void *arg)
{
	asup_outcome o;
	CHECK_EQ(asup_rt_run(arg, spins_until_released, NULL, &o), 0);
	CHECK_EQ(o.value, 1);
	return NULL;
}

TEST(a_running_runtime_refuses_a_second_driver)
{
	asup_rt *rt = mk(ASUP_MODE_DETERMINISTIC);
	asup_task h;
	asup_outcome o;
	pthread_t t;

	atomic_store(&spin_started, 0);
	atomic_store(&spin_release, 0);
	CHECK_EQ(pthread_create(&t, NULL, drive_spinner, rt), 0);
	while (!atomic_load(&spin_started))
		sched_yield();
	CHECK_EQ(asup_rt_run(rt, returns_arg, NULL, &o), -ASUP_ERUNNING);
	CHECK_EQ(asup_rt_step(rt), -ASUP_ERUNNING);
	CHECK_EQ(asup_rt_run_until_idle(rt), -ASUP_ERUNNING);
	CHECK_EQ(asup_rt_spawn(rt, returns_arg, NULL, NULL, &h), -ASUP_ERUNNING);
	CHECK_EQ(asup_rt_destroy(rt), -ASUP_ERUNNING); /* nothing freed */
	atomic_store(&spin_release, 1);
	CHECK_EQ(pthread_join(t, NULL), 0);
	CHECK_EQ(stats(rt).tasks_spawned, 1);
	test_rt_done(rt);
}

/* ---- deadlock ---- */

static int64_t parks_forever(asup_cx *cx, void *arg)
{
	return asup_park(cx);
}

static int64_t waits_forever(asup_cx *cx, void *arg)
{
	asup_waitq q;
	asup_waitq_init(&q);
	return asup_waitq_wait(cx, &q);
}

static int64_t joins_a_stuck_child(asup_cx *cx, void *arg)
{
	asup_task h[3];
	for (int i = 0; i < 3; i++)
		CHECK_EQ(asup_spawn(cx, i == 1 ? waits_forever : count_to, (void *)3, NULL, &h[i]),
		         0);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(asup_join(cx, &h[i], NULL), 0);
	return 0;
}

static int64_t sleeps_then_returns(asup_cx *cx, void *arg)
{
	CHECK_EQ(asup_sleep(cx, ASUP_MSEC(2)), 0);
	return 4;
}

TEST(run_reports_edeadlk_when_every_task_is_stuck)
{
	asup_mode modes[2] = {ASUP_MODE_REAL, ASUP_MODE_DETERMINISTIC};
	for (int m = 0; m < 2; m++) {
		asup_rt *rt = mk(modes[m]);
		asup_outcome o;
		CHECK_EQ(asup_rt_run(rt, parks_forever, NULL, &o), -EDEADLK);
		CHECK_EQ(asup_rt_destroy(rt), 0); /* the parked task is discarded */

		rt = mk(modes[m]);
		CHECK_EQ(asup_rt_run(rt, joins_a_stuck_child, NULL, &o), -EDEADLK);
		CHECK_EQ(stats(rt).tasks_live, 2); /* the root and the stuck child */
		CHECK_EQ(asup_rt_destroy(rt), 0);

		/* a sleeping root is not stuck: its timer will wake it */
		rt = mk(modes[m]);
		CHECK_EQ(asup_rt_run(rt, sleeps_then_returns, NULL, &o), 0);
		CHECK_EQ(o.value, 4);
		test_rt_done(rt);
	}
}

/* ---- runtime calls from inside a task ---- */

static asup_rt *self_rt, *other_det_rt;

static int64_t misuses_the_runtime(asup_cx *cx, void *arg)
{
	asup_outcome o;
	asup_task h;
	CHECK_EQ(asup_rt_run(self_rt, returns_arg, NULL, &o), -ASUP_EINTASK);
	CHECK_EQ(asup_rt_run(other_det_rt, returns_arg, NULL, &o), -ASUP_EINTASK);
	CHECK(asup_rt_step(other_det_rt) < 0);
	CHECK(asup_rt_spawn(other_det_rt, returns_arg, NULL, NULL, &h) < 0);
	CHECK(asup_rt_destroy(self_rt) < 0);
	return 0;
}

TEST(run_from_inside_a_task_is_refused)
{
	asup_outcome o;
	self_rt = mk(ASUP_MODE_REAL);
	other_det_rt = mk(ASUP_MODE_DETERMINISTIC);
	CHECK_EQ(asup_rt_run(self_rt, misuses_the_runtime, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(stats(self_rt).tasks_spawned, 1);
	CHECK_EQ(stats(other_det_rt).tasks_spawned, 0);
	CHECK_EQ(asup_rt_step(self_rt), -ASUP_ENOTDET);
	CHECK_EQ(asup_rt_run_until_idle(self_rt), -ASUP_ENOTDET);
	test_rt_done(self_rt);
	test_rt_done(other_det_rt);
}

/* ---- handles ---- */

static asup_task self_handle;

static int64_t joins_itself(asup_cx *cx, void *arg)
{
	return asup_join(cx, &self_handle, NULL);
}

static int64_t handle_root(asup_cx *cx, void *arg)
{
	asup_task *foreign = arg;
	asup_task h, copy, zero, h2;
	asup_outcome o;

	/* not finished yet, then finished */
	CHECK_EQ(asup_spawn(cx, count_to, (void *)3, NULL, &h), 0);
	copy = h;
	CHECK_EQ(asup_task_try_join(&h, &o), -EAGAIN);
	CHECK_EQ(asup_task_is_finished(&h), 0);
	while (asup_task_is_finished(&h) == 0)
		CHECK_EQ(asup_yield(cx), 0);
	CHECK_EQ(asup_task_is_finished(&copy), 1);
	CHECK_EQ(asup_task_try_join(&h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(o.value, 6);
	/* this handle is spent; its copy is stale */
	CHECK_EQ(asup_task_try_join(&h, &o), -ASUP_EJOINED);
	CHECK_EQ(asup_join(cx, &h, &o), -ASUP_EJOINED);
	CHECK_EQ(asup_task_release(&h), -ASUP_EJOINED);
	CHECK_EQ(asup_join(cx, &copy, &o), -ESRCH);
	CHECK_EQ(asup_task_try_join(&copy, &o), -ESRCH);
	CHECK_EQ(asup_task_is_finished(&copy), -ESRCH);
	CHECK_EQ(asup_task_release(&copy), -ESRCH);
	CHECK_EQ(asup_task_abort(&copy), -ESRCH);

	/* the record is recycled for the next task: the stale copy still does
	 * not name it */
	CHECK_EQ(asup_spawn(cx, returns_arg, (void *)42, NULL, &h2), 0);
	CHECK(h2._rec == copy._rec); /* reused, so the check below means something */
	CHECK_EQ(asup_join(cx, &copy, &o), -ESRCH);
	CHECK_EQ(asup_task_abort(&copy), -ESRCH);
	CHECK_EQ(asup_join(cx, &h2, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK); /* not aborted through the copy */
	CHECK_EQ(o.value, 42);

	/* a blocking join, then the same errors */
	CHECK_EQ(asup_spawn(cx, count_to, (void *)4, NULL, &h), 0);
	copy = h;
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.value, 10);
	CHECK_EQ(asup_join(cx, &h, &o), -ASUP_EJOINED);
	CHECK_EQ(asup_join(cx, &copy, &o), -ESRCH);

	/* another runtime's task */
	CHECK_EQ(asup_join(cx, foreign, &o), -EXDEV);
	CHECK_EQ(asup_task_is_finished(foreign), -EXDEV); /* refused, untouched */

	/* itself */
	CHECK_EQ(asup_spawn(cx, joins_itself, NULL, NULL, &self_handle), 0);
	asup_task keep = self_handle;
	CHECK_EQ(asup_join(cx, &keep, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_ERR);
	CHECK_EQ(o.value, -EDEADLK);

	/* a zeroed handle is invalid */
	memset(&zero, 0, sizeof zero);
	CHECK_EQ(asup_join(cx, &zero, &o), -EINVAL);
	CHECK_EQ(asup_task_try_join(&zero, &o), -EINVAL);
	CHECK_EQ(asup_task_is_finished(&zero), -EINVAL);
	CHECK_EQ(asup_task_release(&zero), -EINVAL);
	CHECK_EQ(asup_task_abort(&zero), -EINVAL);
	return 0;
}

/* Two tasks join copies of one handle: one gets the outcome, the other
 * finds the record consumed. */
static asup_waitq gate;
static int joiner_rc[2];

static int64_t waits_at_gate(asup_cx *cx, void *arg)
{
	CHECK_EQ(asup_waitq_wait(cx, &gate), 0);
	return 99;
}

struct joiner {
	asup_task copy;
	int idx;
};

static int64_t joins_copy(asup_cx *cx, void *arg)
{
	struct joiner *j = arg;
	asup_outcome o;
	joiner_rc[j->idx] = asup_join(cx, &j->copy, &o);
	if (joiner_rc[j->idx] == 0)
		CHECK_EQ(o.value, 99);
	return 0;
}

static int64_t two_joiners_root(asup_cx *cx, void *arg)
{
	asup_task target, j[2];
	struct joiner js[2];
	CHECK_EQ(asup_spawn(cx, waits_at_gate, NULL, NULL, &target), 0);
	for (int i = 0; i < 2; i++) {
		js[i].copy = target;
		js[i].idx = i;
		CHECK_EQ(asup_spawn(cx, joins_copy, &js[i], NULL, &j[i]), 0);
	}
	while (asup_waitq_is_empty(&gate) || stats(arg).parks < 3)
		CHECK_EQ(asup_yield(cx), 0); /* the target and both joiners wait */
	CHECK_EQ(asup_waitq_wake_one(&gate), 1);
	for (int i = 0; i < 2; i++)
		CHECK_EQ(asup_join(cx, &j[i], NULL), 0);
	/* exactly one of them got it */
	CHECK((joiner_rc[0] == 0 && joiner_rc[1] == -ESRCH) ||
	      (joiner_rc[1] == 0 && joiner_rc[0] == -ESRCH));
	CHECK_EQ(asup_task_try_join(&target, NULL), -ESRCH);
	return 0;
}

TEST(two_joiners_of_one_task_one_wins)
{
	asup_rt *rt = mk(ASUP_MODE_REAL);
	asup_outcome o;
	asup_waitq_init(&gate);
	CHECK_EQ(asup_rt_run(rt, two_joiners_root, rt, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	test_rt_done(rt);
}

TEST(handles_report_misuse_with_their_own_codes)
{
	asup_rt *rt = mk(ASUP_MODE_REAL), *other = mk(ASUP_MODE_DETERMINISTIC);
	asup_task foreign;
	asup_outcome o;

	CHECK_EQ(asup_rt_spawn(other, returns_arg, (void *)1, NULL, &foreign), 0);
	CHECK_EQ(asup_rt_run(rt, handle_root, &foreign, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(asup_task_is_finished(&foreign), 0);
	CHECK_EQ(asup_rt_run_until_idle(other), 1);
	CHECK_EQ(asup_task_try_join(&foreign, &o), 0);
	CHECK_EQ(o.value, 1);
	test_rt_done(rt);
	test_rt_done(other);
}

/* ---- outcomes ---- */

static int64_t panics_formatted(asup_cx *cx, void *arg)
{
	asup_panic(cx, "bad %s %d/%c", "state", 42, 'x');
}

static int64_t panics_long(asup_cx *cx, void *arg)
{
	char big[300];
	memset(big, 'p', sizeof big - 1);
	big[sizeof big - 1] = 0;
	asup_panic(cx, "%s", big);
}

static void __attribute__((noinline)) panic_deep(asup_cx *cx, int n)
{
	if (n == 0)
		asup_panic(cx, "deep");
	else if (n > 0)
		panic_deep(cx, n - 1);
}

static int after_panic_ran;

static int64_t panics_from_a_nested_call(asup_cx *cx, void *arg)
{
	CHECK_EQ(asup_yield(cx), 0);
	panic_deep(cx, 10);
	after_panic_ran = 1; /* never */
	return 0;
}

static int64_t returns_canceled_uncancelled(asup_cx *cx, void *arg)
{
	return -ECANCELED;
}

static int64_t park_then_return(asup_cx *cx, void *arg)
{
	int rc = asup_park(cx);
	CHECK_EQ(rc, -ECANCELED);
	return arg ? (int64_t)(intptr_t)arg : rc;
}

static int64_t outcome_root(asup_cx *cx, void *arg)
{
	asup_task h;
	asup_outcome o;

	CHECK_EQ(asup_spawn(cx, panics_formatted, NULL, NULL, &h), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_PANICKED);
	CHECK_STR_EQ(o.panic_msg, "bad state 42/x");

	CHECK_EQ(asup_spawn(cx, panics_long, NULL, NULL, &h), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_PANICKED);
	CHECK_EQ(strlen(o.panic_msg), ASUP_PANIC_MSG_MAX - 1);
	CHECK_EQ(o.panic_msg[0], 'p');

	after_panic_ran = 0;
	CHECK_EQ(asup_spawn(cx, panics_from_a_nested_call, NULL, NULL, &h), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_PANICKED);
	CHECK_STR_EQ(o.panic_msg, "deep");
	CHECK_EQ(after_panic_ran, 0);

	CHECK_EQ(asup_spawn(cx, returns_arg, (void *)(intptr_t)-EPIPE, NULL, &h), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_ERR);
	CHECK_EQ(o.value, -EPIPE);

	CHECK_EQ(asup_spawn(cx, returns_arg, (void *)(intptr_t)-1, NULL, &h), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_ERR);
	CHECK_EQ(o.value, -1);

	CHECK_EQ(asup_spawn(cx, returns_arg, (void *)(intptr_t)0, NULL, &h), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(o.value, 0);

	CHECK_EQ(asup_spawn(cx, returns_arg, (void *)(intptr_t)INTPTR_MAX, NULL, &h), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(o.value, INTPTR_MAX);

	/* -ECANCELED without a cancel request is an ordinary error */
	CHECK_EQ(asup_spawn(cx, returns_canceled_uncancelled, NULL, NULL, &h), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_ERR);
	CHECK_EQ(o.value, -ECANCELED);

	/* with one, it is Cancelled, with the reason */
	CHECK_EQ(asup_spawn(cx, park_then_return, NULL, NULL, &h), 0);
	CHECK_EQ(asup_yield(cx), 0);
	CHECK_EQ(asup_task_abort(&h), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(o.reason.kind, ASUP_CANCEL_USER);

	/* a value returned despite the cancel wins in the handle's view */
	CHECK_EQ(asup_spawn(cx, park_then_return, (void *)17, NULL, &h), 0);
	CHECK_EQ(asup_yield(cx), 0);
	CHECK_EQ(asup_task_abort_with(&h, ASUP_CANCEL_SHUTDOWN, "bye"), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(o.value, 17);
	return 3;
}

TEST(outcomes_say_how_each_task_ended)
{
	asup_rt *rt = mk(ASUP_MODE_REAL);
	asup_outcome o;
	CHECK_EQ(asup_rt_run(rt, outcome_root, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(o.value, 3);
	/* the root itself panicking */
	CHECK_EQ(asup_rt_run(rt, panics_formatted, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_PANICKED);
	CHECK_STR_EQ(o.panic_msg, "bad state 42/x");
	/* and failing */
	CHECK_EQ(asup_rt_run(rt, returns_arg, (void *)(intptr_t)-ENOENT, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_ERR);
	CHECK_EQ(o.value, -ENOENT);
	CHECK_EQ(stats(rt).tasks_live, 0);
	test_rt_done(rt);
}

/* ---- task ids ---- */

static uint64_t seen_ids[4];

static int64_t records_id(asup_cx *cx, void *arg)
{
	seen_ids[(intptr_t)arg] = asup_cx_task_id(cx);
	return 0;
}

static int64_t ids_root(asup_cx *cx, void *arg)
{
	asup_task h[3];
	seen_ids[0] = asup_cx_task_id(cx);
	CHECK_STR_EQ(asup_cx_task_name(cx), "root");
	for (intptr_t i = 1; i <= 3; i++)
		CHECK_EQ(asup_spawn(cx, records_id, (void *)i, NULL, &h[i - 1]), 0);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(asup_join(cx, &h[i], NULL), 0);
	return 0;
}

/* asup_cx_task_id returns 0 for a bad cx, so no task may have id 0. */
TEST(task_ids_are_distinct_and_never_the_bad_cx_value)
{
	asup_rt *rt = mk(ASUP_MODE_REAL);
	asup_outcome o;
	CHECK_EQ(asup_cx_task_id(NULL), 0);
	CHECK(asup_cx_task_name(NULL) == NULL);
	CHECK_EQ(asup_rt_run(rt, ids_root, NULL, &o), 0);
	for (int i = 0; i < 4; i++) {
		CHECK(seen_ids[i] != 0);
		for (int j = 0; j < i; j++)
			CHECK(seen_ids[i] != seen_ids[j]);
	}
	test_rt_done(rt);
}

/* ---- records ---- */

static asup_rt *rec_rt;

static int64_t records_root(asup_cx *cx, void *arg)
{
	asup_task a, b;
	CHECK_EQ(stats(rec_rt).task_records, 1); /* the root */
	CHECK_EQ(asup_spawn(cx, returns_arg, (void *)1, NULL, &a), 0);
	CHECK_EQ(asup_spawn(cx, count_to, (void *)5, NULL, &b), 0);
	CHECK_EQ(stats(rec_rt).task_records, 3);
	while (asup_task_is_finished(&a) == 0)
		CHECK_EQ(asup_yield(cx), 0);
	/* finished but not joined: still held (its outcome is kept) */
	CHECK_EQ(stats(rec_rt).task_records, 3);
	CHECK_EQ(asup_task_release(&a), 0);
	CHECK_EQ(stats(rec_rt).task_records, 2); /* freed at once */
	/* released while running: freed when it finishes */
	CHECK_EQ(asup_task_is_finished(&b), 0);
	CHECK_EQ(asup_task_release(&b), 0);
	CHECK_EQ(stats(rec_rt).task_records, 2);
	for (int i = 0; i < 10; i++)
		CHECK_EQ(asup_yield(cx), 0);
	CHECK_EQ(stats(rec_rt).tasks_live, 1);
	CHECK_EQ(stats(rec_rt).task_records, 1);
	return 0;
}

TEST(task_records_count_finished_unjoined_tasks_until_released)
{
	asup_outcome o;
	rec_rt = mk(ASUP_MODE_REAL);
	CHECK_EQ(asup_rt_run(rec_rt, records_root, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	test_rt_done(rec_rt);
}

static int64_t release_recycles(asup_cx *cx, void *arg)
{
	asup_task a, b, c;
	CHECK_EQ(asup_spawn(cx, returns_arg, (void *)1, NULL, &a), 0);
	CHECK_EQ(asup_task_release(&a), 0);
	CHECK_EQ(asup_task_release(&a), -ASUP_EJOINED);
	CHECK_EQ(asup_yield(cx), 0); /* a runs and, released, is freed */
	CHECK_EQ(asup_spawn(cx, returns_arg, (void *)2, NULL, &b), 0);
	CHECK(b._rec == a._rec); /* its record serves the next task */
	CHECK(b._gen != a._gen);
	/* an unreleased, unjoined finished task keeps its record */
	CHECK_EQ(asup_yield(cx), 0);
	CHECK_EQ(asup_task_is_finished(&b), 1);
	CHECK_EQ(asup_spawn(cx, returns_arg, (void *)3, NULL, &c), 0);
	CHECK(c._rec != b._rec);
	CHECK_EQ(asup_join(cx, &b, NULL), 0);
	CHECK_EQ(asup_join(cx, &c, NULL), 0);
	return 0;
}

TEST(released_records_are_recycled)
{
	asup_rt *rt = mk(ASUP_MODE_REAL);
	asup_outcome o;
	CHECK_EQ(asup_rt_run(rt, release_recycles, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	test_rt_done(rt);
}

/* ---- configs ---- */

static void *hook_alloc(void *ud, size_t n)
{
	return malloc(n);
}

static void hook_free(void *ud, void *p, size_t n)
{
	free(p);
}

/* Bad configs: what is changed from the defaults, and the field named. */
static const char *make_bad(int which, asup_rt_config *c)
{
	switch (which) {
	case 0:
		c->stack_size = 0;
		return "stack_size";
	case 1:
		c->stack_size = 4096;
		return "stack_size";
	case 2:
		c->stack_size = 16 * 1024 - 1;
		return "stack_size";
	case 3:
		c->stack_size = (size_t)2 << 30;
		return "stack_size";
	case 4:
		c->stack_size = ((size_t)1 << 30) + 1;
		return "stack_size";
	case 5:
		c->mode = (asup_mode)7;
		return "mode";
	case 6:
		c->cancel_streak_limit = 0;
		return "cancel_streak_limit";
	case 7:
		c->cancel_streak_limit = 65537;
		return "cancel_streak_limit";
	case 8:
		c->alloc.alloc = hook_alloc;
		return "alloc";
	case 9:
		c->alloc.free = hook_free;
		return "alloc";
	case 10:
		c->stack_pool_max = (1u << 20) + 1;
		return "stack_pool_max";
	case 11:
		c->blocking_threads = 1025;
		return "blocking_threads";
	case 12:
		c->cancel_chain_depth = 0;
		return "cancel_chain_depth";
	case 13:
		c->cancel_chain_depth = 1025;
		return "cancel_chain_depth";
	case 14:
		c->leak_response = (asup_leak_response)9;
		return "leak_response";
	case 15:
		c->leak_escalate_to = (asup_leak_response)9;
		return "leak_response";
	case 16: /* two bad fields: the first is named */
		c->stack_size = 0;
		c->cancel_streak_limit = 0;
		return "stack_size";
	default:
		return NULL;
	}
}

/* Good configs at the edges of what is allowed. */
static int make_good(int which, asup_rt_config *c)
{
	switch (which) {
	case 0:
		return 1; /* the defaults */
	case 1:
		c->stack_size = 16 * 1024;
		return 1;
	case 2:
		c->stack_size = 20000;
		return 1; /* rounded up to pages */
	case 3:
		c->stack_size = (size_t)1 << 30;
		return 1;
	case 4:
		c->mode = ASUP_MODE_DETERMINISTIC;
		c->cancel_streak_limit = 65536;
		c->stack_pool_max = 1u << 20;
		c->blocking_threads = 0;
		c->cancel_chain_depth = 1024;
		return 1;
	case 5:
		c->cancel_streak_limit = 1;
		c->cancel_chain_depth = 1;
		c->blocking_threads = 1024;
		c->stack_pool_max = 0;
		return 1;
	case 6:
		c->alloc.alloc = hook_alloc;
		c->alloc.free = hook_free;
		return 1;
	default:
		return 0;
	}
}

TEST(invalid_configs_are_refused_and_named)
{
	asup_rt_config cfg;
	asup_rt *rt;
	const char *field, *want;

	for (int i = 0; (asup_rt_config_init(&cfg), want = make_bad(i, &cfg)) != NULL; i++) {
		rt = (asup_rt *)(uintptr_t)0x1;
		field = "untouched";
		CHECK_EQ(asup_rt_create(&cfg, &rt), -EINVAL);
		CHECK(rt == (asup_rt *)(uintptr_t)0x1); /* *out is set only on success */
		CHECK_EQ(asup_rt_config_check(&cfg, &field), -EINVAL);
		if (!field || strcmp(field, want) != 0) {
			fprintf(stderr, "bad config %d: named %s, want %s\n", i,
			        field ? field : "(null)", want);
			CHECK(0);
		}
		CHECK_EQ(asup_rt_config_check(&cfg, NULL), -EINVAL);
	}
	for (int i = 0; (asup_rt_config_init(&cfg), make_good(i, &cfg)); i++) {
		rt = NULL;
		field = "untouched";
		CHECK_EQ(asup_rt_config_check(&cfg, &field), 0);
		CHECK(field == NULL);
		CHECK_EQ(asup_rt_create(&cfg, &rt), 0);
		CHECK(rt != NULL);
		CHECK_EQ(asup_rt_destroy(rt), 0);
	}
	rt = (asup_rt *)(uintptr_t)0x1;
	CHECK_EQ(asup_rt_create(NULL, &rt), -EINVAL);
	CHECK(rt == (asup_rt *)(uintptr_t)0x1);
	asup_rt_config_init(&cfg);
	CHECK_EQ(asup_rt_create(&cfg, NULL), -EINVAL);
	CHECK_EQ(asup_rt_config_check(NULL, NULL), -EINVAL);
	CHECK_EQ(asup_rt_config_check(NULL, &field), -EINVAL);
	asup_rt_config_init(NULL); /* harmless */
	/* the documented defaults */
	CHECK_EQ(cfg.mode, ASUP_MODE_REAL);
	CHECK_EQ(cfg.stack_size, 64 * 1024);
	CHECK_EQ(cfg.stack_pool_max, 1024);
	CHECK_EQ(cfg.cancel_streak_limit, 16);
	CHECK_EQ(cfg.auto_advance, 1);
	CHECK_EQ(cfg.overflow_report, 1);
	CHECK_EQ(cfg.cancel_chain_depth, 16);
	CHECK_EQ(cfg.blocking_threads, 4);
	CHECK(cfg.alloc.alloc == NULL && cfg.alloc.free == NULL);
}

/* ---- NULL arguments ---- */

static int64_t null_args_in_a_task(asup_cx *cx, void *arg)
{
	asup_task h;
	asup_outcome o;
	CHECK_EQ(asup_spawn(cx, NULL, NULL, NULL, &h), -EINVAL);
	CHECK_EQ(asup_spawn(cx, returns_arg, NULL, NULL, NULL), -EINVAL);
	CHECK_EQ(asup_join(cx, NULL, &o), -EINVAL);
	CHECK_EQ(asup_waitq_wait(cx, NULL), -EINVAL);
	CHECK_EQ(asup_timeout(cx, 1, NULL, NULL), -EINVAL);
	CHECK_EQ(asup_timeout_at(cx, 1, NULL, NULL), -EINVAL);
	/* a NULL outcome pointer is allowed */
	CHECK_EQ(asup_spawn(cx, returns_arg, (void *)5, NULL, &h), 0);
	CHECK_EQ(asup_join(cx, &h, NULL), 0);
	return 0;
}

TEST(null_arguments_are_refused_everywhere)
{
	asup_rt *rt = mk(ASUP_MODE_DETERMINISTIC);
	asup_rt_config cfg;
	asup_task h;
	asup_outcome o;
	asup_rt_stats st;
	asup_cx_handles hd;
	asup_region_limits lim = asup_region_limits_unlimited();

	memset(&hd, 0, sizeof hd);
	asup_rt_config_init(&cfg);
	CHECK_EQ(asup_rt_destroy(NULL), -EINVAL);
	CHECK_EQ(asup_rt_run(NULL, returns_arg, NULL, &o), -EINVAL);
	CHECK_EQ(asup_rt_run(rt, NULL, NULL, &o), -EINVAL);
	CHECK_EQ(asup_rt_spawn(NULL, returns_arg, NULL, NULL, &h), -EINVAL);
	CHECK_EQ(asup_rt_spawn(rt, NULL, NULL, NULL, &h), -EINVAL);
	CHECK_EQ(asup_rt_spawn(rt, returns_arg, NULL, NULL, NULL), -EINVAL);
	CHECK_EQ(asup_rt_spawn_local(NULL, returns_arg, NULL, NULL, &h), -EINVAL);
	CHECK_EQ(asup_rt_step(NULL), -EINVAL);
	CHECK_EQ(asup_rt_run_until_idle(NULL), -EINVAL);
	CHECK_EQ(asup_rt_advance(NULL, 1), -EINVAL);
	CHECK_EQ(asup_rt_stats_get(NULL, &st), -EINVAL);
	CHECK_EQ(asup_rt_stats_get(rt, NULL), -EINVAL);
	CHECK_EQ(asup_rt_set_handles(NULL, &hd), -EINVAL);
	CHECK_EQ(asup_rt_set_handles(rt, NULL), -EINVAL);
	CHECK_EQ(asup_rt_set_root_limits(NULL, &lim), -EINVAL);
	CHECK_EQ(asup_rt_set_root_limits(rt, NULL), -EINVAL);
	CHECK_EQ(asup_rt_root_region(NULL), ASUP_ID_NONE);
	CHECK_EQ(asup_task_try_join(NULL, &o), -EINVAL);
	CHECK_EQ(asup_task_is_finished(NULL), -EINVAL);
	CHECK_EQ(asup_task_release(NULL), -EINVAL);
	CHECK_EQ(asup_task_abort(NULL), -EINVAL);
	CHECK_EQ(asup_task_abort_with(NULL, ASUP_CANCEL_USER, "x"), -EINVAL);
	CHECK_EQ(asup_waitq_wake_one(NULL), -EINVAL);
	CHECK_EQ(asup_waitq_wake_all(NULL), -EINVAL);
	CHECK_EQ(asup_waitq_is_empty(NULL), -EINVAL);
	asup_waitq_init(NULL);
	asup_spawn_opts_init(NULL);
	/* nothing was created by any of these */
	CHECK_EQ(stats(rt).tasks_spawned, 0);
	CHECK_EQ(asup_rt_spawn(rt, null_args_in_a_task, NULL, NULL, &h), 0);
	CHECK_EQ(asup_rt_run_until_idle(rt), 3); /* it, its child, it again */
	CHECK_EQ(asup_task_try_join(&h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(asup_task_try_join(&h, NULL), -ASUP_EJOINED);
	test_rt_done(rt);
}

/* ---- calls outside the task that owns the cx ---- */

static void expect_not_task(asup_cx *cx, asup_task *some_handle)
{
	asup_waitq q;
	asup_task h;
	asup_outcome o;
	asup_waitq_init(&q);
	CHECK_EQ(asup_yield(cx), -ASUP_ENOTASK);
	CHECK_EQ(asup_checkpoint(cx), -ASUP_ENOTASK);
	CHECK_EQ(asup_sleep(cx, 1), -ASUP_ENOTASK);
	CHECK_EQ(asup_sleep_until(cx, 1), -ASUP_ENOTASK);
	CHECK_EQ(asup_park(cx), -ASUP_ENOTASK);
	CHECK_EQ(asup_park_until(cx, 1), -ASUP_ENOTASK);
	CHECK_EQ(asup_waitq_wait(cx, &q), -ASUP_ENOTASK);
	CHECK_EQ(asup_waitq_is_empty(&q), 1); /* not queued by the refused call */
	CHECK_EQ(asup_join(cx, some_handle, &o), -ASUP_ENOTASK);
	CHECK_EQ(asup_spawn(cx, returns_arg, NULL, NULL, &h), -ASUP_ENOTASK);
	CHECK_EQ(asup_timeout(cx, 1, returns_arg, NULL), -ASUP_ENOTASK);
	CHECK_EQ(asup_timeout_at(cx, 1, returns_arg, NULL), -ASUP_ENOTASK);
	CHECK(asup_waker_current(cx)._task == NULL);
}

static asup_cx *leaked_cx;

static int64_t leaks_cx_and_parks(asup_cx *cx, void *arg)
{
	leaked_cx = cx; /* forbidden: detected on use */
	return asup_park(cx);
}

static int64_t leaks_cx_and_returns(asup_cx *cx, void *arg)
{
	leaked_cx = cx;
	return 0;
}

static int64_t uses_other_tasks_cx(asup_cx *cx, void *arg)
{
	asup_task *victim = arg;
	expect_not_task(leaked_cx, victim); /* a live task's cx, not ours */
	CHECK_EQ(asup_yield(cx), 0);        /* ours still works */
	return 0;
}

TEST(suspending_calls_with_a_foreign_cx_are_refused)
{
	asup_rt *rt = mk(ASUP_MODE_DETERMINISTIC);
	asup_task parked, user, done;
	asup_outcome o;

	/* outside any task */
	expect_not_task(NULL, &parked);
	CHECK_EQ(asup_rt_spawn(rt, leaks_cx_and_parks, NULL, NULL, &parked), 0);
	CHECK_EQ(asup_rt_step(rt), 1);
	expect_not_task(leaked_cx, &parked); /* from the driver's thread */
	/* from another task, while the owner is parked */
	CHECK_EQ(asup_rt_spawn(rt, uses_other_tasks_cx, &parked, NULL, &user), 0);
	CHECK_EQ(asup_rt_run_until_idle(rt), 2);
	CHECK_EQ(asup_task_try_join(&user, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(asup_task_is_finished(&parked), 0); /* none of it touched the owner */
	CHECK_EQ(asup_task_abort(&parked), 0);
	CHECK_EQ(asup_rt_run_until_idle(rt), 1);
	CHECK_EQ(asup_task_try_join(&parked, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	/* a finished task's cx, record still held ... */
	CHECK_EQ(asup_rt_spawn(rt, leaks_cx_and_returns, NULL, NULL, &done), 0);
	CHECK_EQ(asup_rt_run_until_idle(rt), 1);
	expect_not_task(leaked_cx, &parked);
	/* ... and freed */
	CHECK_EQ(asup_task_try_join(&done, NULL), 0);
	expect_not_task(leaked_cx, &parked);
	CHECK_EQ(stats(rt).tasks_spawned, 3);
	test_rt_done(rt);
}

/* ---- error texts ---- */

TEST(error_names_and_texts)
{
	CHECK_STR_EQ(asup_err_name(-ECANCELED), "ASUP_ECANCELED");
	CHECK_STR_EQ(asup_err_name(ECANCELED), "ASUP_ECANCELED");
	CHECK_STR_EQ(asup_err_name(0), "ASUP_OK");
	CHECK_STR_EQ(asup_err_name(-ETIMEDOUT), "ASUP_ETIMEDOUT");
	CHECK_STR_EQ(asup_err_name(-ENOMEM), "ASUP_ENOMEM");
	CHECK_STR_EQ(asup_err_name(-ASUP_ENOTASK), "ASUP_ENOTASK");
	CHECK_STR_EQ(asup_err_name(-ASUP_EJOINED), "ASUP_EJOINED");
	CHECK_STR_EQ(asup_err_name(-ASUP_EINTASK), "ASUP_EINTASK");
	CHECK_STR_EQ(asup_err_name(-EDEADLK), "ASUP_EDEADLK");
	CHECK_STR_EQ(asup_strerror(0), "success");
	CHECK_STR_EQ(asup_strerror(-ECANCELED), "operation cancelled");
	CHECK_STR_EQ(asup_strerror(-ETIMEDOUT), "deadline passed");
	CHECK_STR_EQ(asup_strerror(-EXDEV), "handle belongs to another runtime");
	CHECK_STR_EQ(asup_strerror(-ASUP_EJOINED), "task already joined");
	CHECK_STR_EQ(asup_strerror(ASUP_EJOINED), "task already joined");
	CHECK_EQ(-ASUP_ENOMEM, -ENOMEM);
	CHECK_EQ(-ASUP_ECANCELED, -ECANCELED);
	CHECK(ASUP_ENOTASK > ASUP_ERRBASE);
	/* unknown codes: something, never NULL */
	int unknown[] = {-123456, 123456, ASUP_ERRBASE, -(ASUP_ERRBASE + 999), INT32_MAX, -ENOENT};
	for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
		CHECK(asup_strerror(unknown[i]) != NULL);
		CHECK(asup_err_name(unknown[i]) != NULL);
		CHECK(strlen(asup_strerror(unknown[i])) > 0);
	}
	CHECK_STR_EQ(asup_err_name(-123456), "ASUP_EUNKNOWN");
	/* every code in the table has its own name and a text */
#define CHECK_ONE(name, val, text)                                                                 \
	CHECK_STR_EQ(asup_err_name(-(val)), #name);                                                \
	CHECK_STR_EQ(asup_strerror(-(val)), text);
	ASUP_ERRNO_TABLE(CHECK_ONE)
#undef CHECK_ONE
	CHECK_STR_EQ(asup_outcome_kind_name(ASUP_OUTCOME_OK), "ok");
	CHECK_STR_EQ(asup_outcome_kind_name(ASUP_OUTCOME_ERR), "err");
	CHECK_STR_EQ(asup_outcome_kind_name(ASUP_OUTCOME_CANCELLED), "cancelled");
	CHECK_STR_EQ(asup_outcome_kind_name(ASUP_OUTCOME_PANICKED), "panicked");
}

/* Any int is a valid argument, INT_MIN included (negating it would be
 * undefined behaviour; UBSan reports it). */
TEST(error_texts_of_the_most_negative_code)
{
	CHECK_STR_EQ(asup_err_name(INT32_MIN), "ASUP_EUNKNOWN");
	CHECK_STR_EQ(asup_strerror(INT32_MIN), "unknown error");
}

/* ---- allocation through the hooks ---- */

/*
 * A counting allocator that can fail the n-th allocation. Each block carries
 * its size in a header, so that a free with the wrong size is caught.
 */
static struct {
	long count;     /* allocations so far */
	long fail_at;   /* fail exactly this one (1-based); 0 = never */
	long live;      /* blocks not yet freed */
	long bad_frees; /* frees whose size did not match */
	long failed;
	int verbose; /* print the first bad free */
} heap;

struct hdr {
	size_t size;
	size_t magic;
};
#define HDR_MAGIC ((size_t)0xA5A5F00DDEADBEEFull)

static void *counting_alloc(void *ud, size_t n)
{
	struct hdr *h;
	(void)ud;
	heap.count++;
	if (heap.fail_at && heap.count == heap.fail_at) {
		heap.failed++;
		return NULL;
	}
	h = malloc(sizeof *h + n);
	if (!h)
		return NULL;
	h->size = n;
	h->magic = HDR_MAGIC;
	heap.live++;
	return h + 1;
}

static void counting_free(void *ud, void *p, size_t n)
{
	struct hdr *h;
	(void)ud;
	if (!p)
		return;
	h = (struct hdr *)p - 1;
	if (h->magic != HDR_MAGIC || h->size != n) {
		if (!heap.bad_frees && heap.verbose)
			fprintf(stderr, "free of a %zu-byte block was told %zu bytes\n", h->size,
			        n);
		heap.bad_frees++;
	}
	h->magic = 0;
	heap.live--;
	free(h);
}

static void counting_config(asup_rt_config *cfg)
{
	asup_rt_config_init(cfg);
	cfg->mode = ASUP_MODE_DETERMINISTIC;
	cfg->seed = 5;
	cfg->alloc.alloc = counting_alloc;
	cfg->alloc.free = counting_free;
}

static asup_waitq alloc_q;

static int64_t alloc_child(asup_cx *cx, void *arg)
{
	int kind = (int)(intptr_t)arg;
	int rc;
	if (kind == 1)
		asup_panic(cx, "child panic");
	rc = asup_sleep(cx, ASUP_MSEC(1));
	if (rc == -ENOMEM)
		return rc; /* arming the timer may fail: reported, not fatal */
	if (rc < 0)
		return rc;
	rc = asup_waitq_wait(cx, &alloc_q);
	return rc < 0 ? rc : 1;
}

#define ALLOC_CHILDREN 70

/* Spawns children across a record chunk and heap growth, panics one,
 * aborts one, wakes and joins the rest. Returns how many spawns worked. */
static int64_t alloc_root(asup_cx *cx, void *arg)
{
	asup_task h[ALLOC_CHILDREN];
	int ok[ALLOC_CHILDREN];
	int64_t spawned = 0;
	asup_waitq_init(&alloc_q);
	for (int i = 0; i < ALLOC_CHILDREN; i++) {
		int rc = asup_spawn(cx, alloc_child, (void *)(intptr_t)(i == 3), NULL, &h[i]);
		CHECK(rc == 0 || rc == -ENOMEM);
		ok[i] = rc == 0;
		spawned += ok[i];
	}
	if (ok[5]) {
		int rc = asup_task_abort(&h[5]);
		CHECK(rc == 0 || rc == -ENOMEM);
	}
	while (asup_sleep(cx, ASUP_MSEC(2)) == -ENOMEM)
		; /* retry: the failure is one allocation only */
	asup_waitq_wake_all(&alloc_q);
	for (int i = 0; i < ALLOC_CHILDREN; i++) {
		asup_outcome o;
		if (!ok[i])
			continue;
		CHECK_EQ(asup_join(cx, &h[i], &o), 0);
		if (i == 3) {
			CHECK_EQ(o.kind, ASUP_OUTCOME_PANICKED);
			/* without memory for the message it is still Panicked */
			CHECK(strcmp(o.panic_msg, "child panic") == 0 || o.panic_msg[0] == 0);
		} else {
			CHECK(o.kind == ASUP_OUTCOME_OK || o.kind == ASUP_OUTCOME_CANCELLED ||
			      (o.kind == ASUP_OUTCOME_ERR && o.value == -ENOMEM));
		}
	}
	return spawned;
}

/* One whole session under the counting allocator; returns how many
 * allocations asup_rt_create made. */
static long alloc_session(long fail_at, long *create_allocs)
{
	asup_rt_config cfg;
	asup_rt *rt = NULL;
	asup_outcome o;
	int rc;

	int verbose = heap.verbose;
	memset(&heap, 0, sizeof heap);
	heap.verbose = verbose;
	heap.fail_at = fail_at;
	counting_config(&cfg);
	rc = asup_rt_create(&cfg, &rt);
	if (create_allocs)
		*create_allocs = heap.count;
	if (rc < 0) {
		CHECK_EQ(rc, -ENOMEM);
		CHECK(rt == NULL);
		CHECK_EQ(heap.failed, 1);
		CHECK_EQ(heap.live, 0); /* nothing left behind */
		return -1;
	}
	rc = asup_rt_run(rt, alloc_root, NULL, &o);
	CHECK(rc == 0 || rc == -ENOMEM);
	if (rc == 0) {
		CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
		CHECK(o.value >= ALLOC_CHILDREN - 1);
	}
	CHECK_EQ(asup__rt_check(rt), 0);
	/* the runtime still works after the failure */
	rc = asup_rt_run(rt, family, (void *)4, &o);
	CHECK_EQ(rc, 0);
	CHECK_EQ(o.value, family_sum(4));
	CHECK_EQ(asup__rt_check(rt), 0);
	CHECK_EQ(asup_rt_destroy(rt), 0);
	CHECK_EQ(heap.live, 0); /* no leak */
	return heap.count;
}

TEST(every_single_allocation_failure_is_survived)
{
	long create_allocs = 0;
	long total = alloc_session(0, &create_allocs);

	CHECK(total > 0);
	CHECK(create_allocs > 0);
	CHECK_EQ(heap.failed, 0);
	for (long n = 1; n <= total; n++) {
		long got = alloc_session(n, NULL);
		if (n <= create_allocs)
			CHECK_EQ(got, -1); /* creation itself failed with -ENOMEM */
		else
			CHECK(got > 0);
		if (heap.failed != 1) {
			fprintf(stderr, "fail_at=%ld: the failing allocation was not reached\n", n);
			CHECK(0);
		}
	}
}

/* The free hook is told the size of the block (so that sized allocators
 * work): the whole session above, without failures, must never lie. */
TEST(the_free_hook_gets_the_size_that_was_allocated)
{
	long total;
	heap.verbose = 1;
	total = alloc_session(0, NULL);
	CHECK(total > 0);
	CHECK_EQ(heap.bad_frees, 0);
}

static int64_t spawn_fails_then_works(asup_cx *cx, void *arg)
{
	asup_task h[ALLOC_CHILDREN + 1];
	int failed = 0;
	/* every allocation fails from now on */
	heap.fail_at = heap.count + 1;
	for (int i = 0; i < ALLOC_CHILDREN; i++) {
		int rc = asup_spawn(cx, returns_arg, (void *)1, NULL, &h[i]);
		if (rc == -ENOMEM) {
			failed = 1;
			break;
		}
		CHECK_EQ(rc, 0);
		heap.fail_at = heap.count + 1;
	}
	CHECK(failed); /* the second record chunk could not be allocated */
	heap.fail_at = 0;
	int64_t n = 0;
	for (int i = 0; i < ALLOC_CHILDREN; i++) {
		asup_task x;
		if (asup_spawn(cx, returns_arg, (void *)1, NULL, &x) == 0) {
			CHECK_EQ(asup_join(cx, &x, NULL), 0);
			n++;
		}
	}
	return n;
}

TEST(spawn_reports_enomem_and_the_runtime_goes_on)
{
	asup_rt_config cfg;
	asup_rt *rt;
	asup_outcome o;

	memset(&heap, 0, sizeof heap);
	counting_config(&cfg);
	CHECK_EQ(asup_rt_create(&cfg, &rt), 0);
	CHECK_EQ(asup_rt_run(rt, spawn_fails_then_works, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(o.value, ALLOC_CHILDREN);
	test_rt_done(rt);
	CHECK_EQ(heap.live, 0);
}

static asup_waitq hot_q;

static int64_t hot_child(asup_cx *cx, void *arg)
{
	for (int i = 0; i < 50; i++) {
		CHECK_EQ(asup_yield(cx), 0);
		CHECK_EQ(asup_sleep(cx, ASUP_USEC(10)), 0);
		CHECK_EQ(asup_waitq_wait(cx, &hot_q), 0);
	}
	return 0;
}

static int64_t hot_root(asup_cx *cx, void *arg)
{
	asup_task h[8];
	long before = 0;
	asup_waitq_init(&hot_q);
	/* warm up: records, stacks, heaps and arenas grow to size */
	for (int round = 0; round < 3; round++) {
		if (round == 2)
			before = heap.count;
		for (int i = 0; i < 8; i++)
			CHECK_EQ(asup_spawn(cx, hot_child, NULL, NULL, &h[i]), 0);
		for (int left = 8 * 50; left > 0;) {
			/* sleep, not yield: virtual time moves only when all wait */
			CHECK_EQ(asup_sleep(cx, ASUP_USEC(20)), 0);
			left -= asup_waitq_wake_all(&hot_q);
		}
		for (int i = 0; i < 8; i++)
			CHECK_EQ(asup_join(cx, &h[i], NULL), 0);
	}
	/* spawn, yield, sleep, queue waits and join allocated nothing */
	return heap.count - before;
}

TEST(the_warm_hot_path_never_allocates)
{
	asup_rt_config cfg;
	asup_rt *rt;
	asup_outcome o;

	memset(&heap, 0, sizeof heap);
	counting_config(&cfg);
	CHECK_EQ(asup_rt_create(&cfg, &rt), 0);
	CHECK_EQ(asup_rt_run(rt, hot_root, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(o.value, 0);
	test_rt_done(rt);
	CHECK_EQ(heap.live, 0);
}
