/*
 * Documented contracts of spawn that no other file shows: the refusal after a
 * region's body returned and the floor the scope budget puts under spawn
 * priorities.
 */
#include "testrt.h"

/* ---- admission after the body returned ---- */

static int late_spawn_rc = 1;
static int late_ran;

static int64_t noop(asup_cx *cx, void *arg)
{
	late_ran++;
	return 0;
}

static int64_t spawns_after_the_body_returned(asup_cx *cx, void *arg)
{
	asup_task h;
	/* The body spawned this task and returned at once: after this yield the
	 * region is closing. */
	CHECK_EQ(asup_yield(cx), 0);
	h._rec = NULL;
	late_spawn_rc = asup_spawn(cx, noop, NULL, NULL, &h);
	return 0;
}

static int64_t body_returns_at_once(asup_cx *cx, void *arg)
{
	asup_task h;
	CHECK_EQ(asup_spawn(cx, spawns_after_the_body_returned, NULL, NULL, &h), 0);
	CHECK_EQ(asup_task_release(&h), 0);
	return 0;
}

static int64_t late_root(asup_cx *cx, void *arg)
{
	asup_outcome o;
	asup_task h;
	CHECK_EQ(asup_region(cx, body_returns_at_once, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(late_spawn_rc, -ASUP_ECLOSED);
	CHECK_EQ(late_ran, 0);
	/* The caller's own scope still admits tasks. */
	CHECK_EQ(asup_spawn(cx, noop, NULL, NULL, &h), 0);
	CHECK_EQ(asup_join(cx, &h, NULL), 0);
	CHECK_EQ(late_ran, 1);
	return 0;
}

TEST(spawn_after_the_region_body_returned_is_refused_closed)
{
	asup_rt *rt = test_rt(ASUP_MODE_REAL, 0);
	asup_outcome o;
	CHECK_EQ(asup_rt_run(rt, late_root, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	test_rt_done(rt);
}

/* ---- spawn priorities and the scope budget ---- */

static char order[16];
static int norder;

static int64_t mark(asup_cx *cx, void *arg)
{
	order[norder++] = (char)(uintptr_t)arg;
	return 0;
}

/* Spawns a, b, c, d with priorities 10, 255, 150, 200 and joins them. */
static int64_t spawn_four(asup_cx *cx, void *arg)
{
	static const uint8_t prio[] = {10, 255, 150, 200};
	asup_spawn_opts o;
	asup_task h[4];
	asup_spawn_opts_init(&o);
	for (int i = 0; i < 4; i++) {
		o.priority = prio[i];
		CHECK_EQ(asup_spawn(cx, mark, (void *)(uintptr_t)('a' + i), &o, &h[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		CHECK_EQ(asup_join(cx, &h[i], NULL), 0);
	return 0;
}

static int64_t priority_root(asup_cx *cx, void *arg)
{
	asup_budget b = asup_budget_default();
	asup_outcome o;

	/* Default budget (128): 10 acts as 128, the others count. */
	norder = 0;
	CHECK_EQ(asup_scope_budget(cx).priority, 128);
	CHECK_EQ(asup_region(cx, spawn_four, NULL, &o), 0);
	order[norder] = 0;
	CHECK(strcmp(order, "bdca") == 0);

	/* Budget priority 200: 10 and 150 both act as 200, FIFO with d. */
	norder = 0;
	b.priority = 200;
	CHECK_EQ(asup_region_with_budget(cx, b, spawn_four, NULL, &o), 0);
	order[norder] = 0;
	CHECK(strcmp(order, "bacd") == 0);
	return 0;
}

TEST(spawn_priority_below_the_scope_budget_priority_has_no_effect)
{
	asup_rt *rt = test_rt(ASUP_MODE_REAL, 0);
	asup_outcome o;
	CHECK_EQ(asup_rt_run(rt, priority_root, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	test_rt_done(rt);
}

/* ---- every documented error of task.h, region.h, cx.h, time.h,
 * obligation.h, ext.h and trace.h, through the public API ---- */

static int64_t ret7(asup_cx *cx, void *arg)
{
	return 7;
}

static asup_task self_handle;

static int64_t joins_itself(asup_cx *cx, void *arg)
{
	/* The spawner stored this task's own handle before it first ran. */
	return asup_join(cx, &self_handle, NULL);
}

TEST(task_calls_return_their_documented_errors)
{
	asup_rt *rt = test_rt(ASUP_MODE_DETERMINISTIC, 1);
	asup_spawn_opts o;
	asup_task h, copy, zero;
	asup_outcome out;

	memset(&zero, 0, sizeof zero);
	asup_spawn_opts_init(&o);
	/* spawn: NULL fn or out, a stack size out of range */
	CHECK_EQ(asup_rt_spawn(rt, NULL, NULL, NULL, &h), -EINVAL);
	CHECK_EQ(asup_rt_spawn(rt, ret7, NULL, NULL, NULL), -EINVAL);
	o.stack_size = 100;
	CHECK_EQ(asup_rt_spawn(rt, ret7, NULL, &o, &h), -EINVAL);
	o.stack_size = 0;
	/* try_join before it ran: -EAGAIN; after: the outcome; then -ESRCH or
	 * -ASUP_EJOINED for the consumed handle and its copies */
	CHECK_EQ(asup_rt_spawn(rt, ret7, NULL, &o, &h), 0);
	copy = h;
	CHECK_EQ(asup_task_try_join(&h, &out), -EAGAIN);
	CHECK_EQ(asup_task_is_finished(&h), 0);
	CHECK(asup_rt_run_until_idle(rt) >= 1);
	CHECK_EQ(asup_task_is_finished(&h), 1);
	CHECK_EQ(asup_task_abort(&h), 0); /* finished: left as it is */
	CHECK_EQ(asup_task_try_join(&h, &out), 0);
	CHECK_EQ(out.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(out.value, 7);
	{
		int rc = asup_task_try_join(&h, &out);
		CHECK(rc == -ASUP_EJOINED || rc == -ESRCH);
		CHECK_EQ(asup_task_try_join(&copy, &out), -ESRCH);
		CHECK_EQ(asup_task_release(&copy), -ESRCH);
		CHECK_EQ(asup_task_abort(&copy), -ESRCH);
	}
	/* zeroed handles */
	CHECK_EQ(asup_task_try_join(&zero, &out), -EINVAL);
	CHECK_EQ(asup_task_release(&zero), -EINVAL);
	CHECK_EQ(asup_task_abort(&zero), -EINVAL);
	CHECK_EQ(asup_task_abort(NULL), -EINVAL);
	CHECK(asup_task_is_finished(&zero) < 0);
	/* a task joining itself */
	CHECK_EQ(asup_rt_spawn(rt, joins_itself, NULL, NULL, &self_handle), 0);
	copy = self_handle;
	CHECK(asup_rt_run_until_idle(rt) >= 1);
	CHECK_EQ(asup_task_try_join(&copy, &out), 0);
	CHECK_EQ(out.kind, ASUP_OUTCOME_ERR);
	CHECK_EQ(out.value, -EDEADLK);
	test_rt_done(rt);
}

static int64_t random_needs_cap(asup_cx *cx, void *arg)
{
	uint64_t v;
	return asup_random_u64(cx, &v);
}

static int64_t widens(asup_cx *cx, void *arg)
{
	return asup_cx_restricted(cx, ASUP_CAP_ALL, ret7, NULL);
}

static int64_t nest_masks(asup_cx *cx, void *arg)
{
	return asup_cx_masked(cx, nest_masks, arg);
}

static int64_t sleeps_past_deadline(asup_cx *cx, void *arg)
{
	int rc = asup_sleep(cx, ASUP_MSEC(50));
	CHECK_EQ(rc, -ETIMEDOUT);
	CHECK_EQ(asup_checkpoint(cx), -ETIMEDOUT);
	return rc;
}

static int64_t full_region_body(asup_cx *cx, void *arg)
{
	asup_region_limits l = asup_region_limits_unlimited();
	asup_rref ref;
	uint64_t id, id2;

	l.max_obligations = 1;
	l.max_heap_bytes = 64;
	CHECK_EQ(asup_scope_set_limits(cx, &l), 0);
	CHECK_EQ(asup_scope_set_limits(cx, NULL), -EINVAL);
	CHECK_EQ(asup_region_alloc(cx, 0, &ref), -EINVAL);
	CHECK_EQ(asup_region_alloc(cx, 8, NULL), -EINVAL);
	CHECK_EQ(asup_region_alloc(cx, 65, &ref), -ASUP_ECAPACITY);
	CHECK_EQ(asup_region_alloc(cx, 64, &ref), 0);
	CHECK_EQ(asup_region_alloc(cx, 1, &ref), -ASUP_ECAPACITY);
	CHECK_EQ(asup_obligation_reserve(cx, ASUP_OBLIGATION_ACK, "first", &id), 0);
	CHECK_EQ(asup_obligation_reserve(cx, ASUP_OBLIGATION_ACK, "second", &id2),
		 -ASUP_ECAPACITY);
	CHECK_EQ(asup_obligation_commit(cx, id), 0);
	CHECK_EQ(asup_obligation_commit(cx, id), -ESRCH);
	CHECK_EQ(asup_obligation_abort(cx, id), -ESRCH);
	CHECK_EQ(asup_obligation_abort(cx, 999999), -ESRCH);
	CHECK_EQ(asup_scope_cancel(cx, (asup_cancel_kind)99, "bad"), -EINVAL);
	/* closed to new work once cancelled */
	CHECK_EQ(asup_scope_cancel(cx, ASUP_CANCEL_USER, "stop"), 0);
	CHECK_EQ(asup_obligation_reserve(cx, ASUP_OBLIGATION_ACK, "late", &id2), -ASUP_ECLOSED);
	CHECK_EQ(asup_defer_async(cx, ret7, NULL), -ASUP_ECLOSED);
	return 0;
}

static int64_t scope_root(asup_cx *cx, void *arg)
{
	asup_cancel_reason r;
	asup_cx_handles hs;
	asup_outcome o;
	uint64_t v;
	asup_waker zero_waker;

	/* region.h */
	CHECK_EQ(asup_region(cx, NULL, NULL, &o), -EINVAL);
	CHECK_EQ(asup_region(cx, full_region_body, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	/* cx.h */
	CHECK_EQ(asup_cx_handles_get(cx, NULL), -EINVAL);
	CHECK_EQ(asup_cx_handles_get(cx, &hs), 0);
	CHECK_EQ(asup_cx_cancel_reason(cx, &r), -EAGAIN);
	CHECK_EQ(asup_cx_restricted(cx, ASUP_CAP_ALL & ~ASUP_CAP_RANDOM, random_needs_cap, NULL),
		 -EPERM);
	CHECK_EQ(asup_cx_restricted(cx, ASUP_CAP_NONE, random_needs_cap, NULL), -EPERM);
	CHECK_EQ(asup_cx_restricted(cx, ASUP_CAP_TIME, widens, NULL), -EPERM);
	CHECK_EQ(asup_cx_restricted(cx, ASUP_CAP_ALL, ret7, NULL), 7);
	CHECK_EQ(asup_random_below(cx, 0, &v), -EINVAL);
	CHECK_EQ(asup_cx_masked(cx, nest_masks, NULL), -ASUP_EMASK);
	CHECK_EQ(asup_cx_mask_depth(cx), 0);
	/* time.h */
	CHECK_EQ(asup_timeout(cx, ASUP_MSEC(1), NULL, NULL), -EINVAL);
	CHECK_EQ(asup_timeout(cx, ASUP_MSEC(10), sleeps_past_deadline, NULL), -ETIMEDOUT);
	/* ext.h */
	memset(&zero_waker, 0, sizeof zero_waker);
	CHECK_EQ(asup_unpark(zero_waker), -EINVAL);
	return 0;
}

TEST(scope_calls_return_their_documented_errors)
{
	asup_rt *rt = test_rt(ASUP_MODE_DETERMINISTIC, 3);
	asup_outcome o;
	CHECK_EQ(asup_rt_run(rt, scope_root, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	test_rt_done(rt);
}

/* A cx used outside its task: every cx call refuses with -ASUP_ENOTASK. */
static asup_cx *escaped_cx;
static int escaped_done;

/* Stays alive (yielding) while the other task misuses its cx. */
static int64_t lets_its_cx_escape(asup_cx *cx, void *arg)
{
	escaped_cx = cx;
	while (!escaped_done)
		CHECK_EQ(asup_yield(cx), 0);
	return 0;
}

static int64_t uses_anothers_cx(asup_cx *cx, void *arg)
{
	asup_cx *x = escaped_cx;
	asup_outcome o;
	asup_task h;
	asup_rref ref;
	uint64_t id;

	CHECK_EQ(asup_spawn(x, ret7, NULL, NULL, &h), -ASUP_ENOTASK);
	CHECK_EQ(asup_region(x, ret7, NULL, &o), -ASUP_ENOTASK);
	CHECK_EQ(asup_region_alloc(x, 8, &ref), -ASUP_ENOTASK);
	CHECK_EQ(asup_scope_cancel(x, ASUP_CANCEL_USER, "x"), -ASUP_ENOTASK);
	CHECK_EQ(asup_defer(x, NULL, NULL) < 0, 1);
	CHECK_EQ(asup_obligation_reserve(x, ASUP_OBLIGATION_ACK, "x", &id), -ASUP_ENOTASK);
	CHECK_EQ(asup_timeout(x, 1, ret7, NULL), -ASUP_ENOTASK);
	CHECK_EQ(asup_sleep(x, 1), -ASUP_ENOTASK);
	CHECK_EQ(asup_yield(x), -ASUP_ENOTASK);
	CHECK_EQ(asup_checkpoint(x), -ASUP_ENOTASK);
	CHECK_EQ(asup_park(x), -ASUP_ENOTASK);
	CHECK_EQ(asup_trace_user(x, 1, 2), -ASUP_ENOTASK);
	CHECK_EQ(asup_cx_handles_get(x, NULL) < 0, 1);
	escaped_done = 1;
	return 0;
}

static int64_t cx_root(asup_cx *cx, void *arg)
{
	asup_task a, b;
	CHECK_EQ(asup_spawn(cx, lets_its_cx_escape, NULL, NULL, &a), 0);
	CHECK_EQ(asup_spawn(cx, uses_anothers_cx, NULL, NULL, &b), 0);
	CHECK_EQ(asup_join(cx, &b, NULL), 0);
	CHECK_EQ(asup_join(cx, &a, NULL), 0);
	return 0;
}

TEST(a_cx_used_by_another_task_is_refused_notask)
{
	asup_rt *rt = test_rt(ASUP_MODE_REAL, 0);
	asup_outcome o;
	CHECK_EQ(asup_rt_run(rt, cx_root, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	test_rt_done(rt);
}

static int64_t cancel_and_trace_errors(asup_cx *cx, void *arg)
{
	asup_task h;
	uint64_t v;
	CHECK_EQ(asup_cx_cancel_self(cx, (asup_cancel_kind)99, "bad"), -EINVAL);
	CHECK_EQ(asup_random_u64(cx, NULL), -EINVAL);
	CHECK_EQ(asup_random_below(cx, 10, &v), 0);
	CHECK(v < 10);
	CHECK_EQ(asup_spawn(cx, ret7, NULL, NULL, &h), 0);
	CHECK_EQ(asup_task_abort_with(&h, (asup_cancel_kind)99, "bad"), -EINVAL);
	CHECK_EQ(asup_trace_race_member(cx, 0, &h), 0);
	CHECK_EQ(asup_trace_race_member(cx, 1, NULL), -EINVAL);
	CHECK_EQ(asup_trace_race_end(cx, 12345, NULL), -EINVAL);
	CHECK_EQ(asup_trace_user(cx, 1, 2), 0);
	CHECK_EQ(asup_join(cx, &h, NULL), 0);
	CHECK_EQ(asup_cx_cancel_self(cx, ASUP_CANCEL_USER, "me"), 0);
	CHECK_EQ(asup_checkpoint(cx), -ECANCELED);
	return 0;
}

TEST(cancel_and_trace_calls_return_their_documented_errors)
{
	asup_rt *rt = test_rt(ASUP_MODE_DETERMINISTIC, 4);
	asup_outcome o;
	CHECK_EQ(asup_rt_run(rt, cancel_and_trace_errors, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	test_rt_done(rt);
}

/* ---- lab.h: the -EIO paths ---- */

static int64_t lab_root(asup_cx *cx, void *arg)
{
	return asup_yield(cx);
}

TEST(lab_exports_and_files_report_eio)
{
	asup_lab_config cfg;
	asup_lab *lab;
	asup_lab_replay *r = NULL;
	asup_outcome o;
	const char *why = NULL;
	FILE *full = fopen("/dev/full", "w");

	if (!full) {
		printf("skipped: no /dev/full\n");
		return;
	}
	setvbuf(full, NULL, _IONBF, 0); /* every write reaches the device and fails */
	asup_lab_config_init(&cfg);
	cfg.seed = 5;
	CHECK_EQ(asup_lab_create(&cfg, &lab), 0);
	CHECK_EQ(asup_lab_run(lab, lab_root, NULL, &o), 0);
	CHECK(asup_lab_event_count(lab) > 0);
	CHECK_EQ(asup_lab_export_jsonl(lab, full), -EIO);
	clearerr(full);
	CHECK_EQ(asup_lab_export_chrome(lab, full, 1), -EIO);
	CHECK_EQ(asup_lab_save(lab, "/nonexistent-dir/run.lab", "x"), -EIO);
	CHECK_EQ(asup_lab_replay_load("/nonexistent-dir/run.lab", &r, &why), -EIO);
	CHECK(r == NULL);
	CHECK_EQ(asup_lab_destroy(lab), 0);
	fclose(full);
}

static int64_t blocking_ret(asup_blocking *b, void *arg)
{
	return 9;
}

static int64_t blocking_admission_body(asup_cx *cx, void *arg)
{
	asup_region_limits l = asup_region_limits_unlimited();
	asup_task a, b;
	asup_outcome o;
	l.max_tasks = 1;
	CHECK_EQ(asup_scope_set_limits(cx, &l), 0);
	CHECK_EQ(asup_spawn_blocking(cx, NULL, NULL, NULL, &a), -EINVAL);
	CHECK_EQ(asup_spawn_blocking(cx, blocking_ret, NULL, NULL, NULL), -EINVAL);
	CHECK_EQ(asup_spawn_blocking(cx, blocking_ret, NULL, NULL, &a), 0);
	CHECK_EQ(asup_spawn_blocking(cx, blocking_ret, NULL, NULL, &b), -ASUP_ECAPACITY);
	CHECK_EQ(asup_join(cx, &a, &o), 0);
	CHECK_EQ(o.value, 9);
	CHECK_EQ(asup_scope_cancel(cx, ASUP_CANCEL_USER, "closed"), 0);
	CHECK_EQ(asup_spawn_blocking(cx, blocking_ret, NULL, NULL, &b), -ASUP_ECLOSED);
	return 0;
}

static int64_t blocking_admission_root(asup_cx *cx, void *arg)
{
	asup_outcome o;
	CHECK_EQ(asup_region(cx, blocking_admission_body, NULL, &o), 0);
	return 0;
}

TEST(spawn_blocking_refuses_like_spawn)
{
	asup_rt *rt = test_rt(ASUP_MODE_DETERMINISTIC, 6);
	asup_outcome o;
	CHECK_EQ(asup_rt_run(rt, blocking_admission_root, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	test_rt_done(rt);
}

static int64_t yields_forever(asup_cx *cx, void *arg)
{
	while (asup_yield(cx) == 0)
		;
	return 0;
}

TEST(lab_step_stops_at_the_step_limit_and_the_inner_runtime_refuses_other_drivers)
{
	asup_lab_config cfg;
	asup_lab *lab;
	asup_task h;
	asup_outcome o;

	asup_lab_config_init(&cfg);
	cfg.max_steps = 3;
	CHECK_EQ(asup_lab_create(&cfg, &lab), 0);
	CHECK_EQ(asup_lab_spawn(lab, yields_forever, NULL, NULL, &h), 0);
	CHECK_EQ(asup_rt_step(asup_lab_rt(lab)), -EPERM);
	CHECK_EQ(asup_rt_run(asup_lab_rt(lab), ret7, NULL, &o), -EPERM);
	CHECK_EQ(asup_lab_step(lab), 1);
	CHECK_EQ(asup_lab_step(lab), 1);
	CHECK_EQ(asup_lab_step(lab), 1);
	CHECK_EQ(asup_lab_step(lab), -ASUP_ESTEPLIMIT);
	CHECK_EQ(asup_lab_run_until_idle(lab), 0);
	CHECK_EQ(asup_lab_steps(lab), 3);
	CHECK_EQ(asup_task_release(&h), 0);
	CHECK_EQ(asup_lab_destroy(lab), 0);
}
