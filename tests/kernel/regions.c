/* Regions: quiescence, finalizer order, admission, limits, panics in bodies. */
#include "testrt.h"

#include "kernel/kernel.h"

static asup_rt *mk(asup_mode mode)
{
	return test_rt(mode, 0);
}

static int64_t run_in(asup_rt *rt, asup_task_fn fn, void *arg)
{
	asup_outcome o;
	CHECK_EQ(asup_rt_run(rt, fn, arg, &o), 0);
	CHECK_EQ(asup__rt_check(rt), 0);
	return o.kind == ASUP_OUTCOME_OK ? o.value : -1000 - (int64_t)o.kind;
}

/* ---- finalizers run LIFO, innermost region first ---- */

static char fin_log[32];
static int fin_n;
static void fin(void *arg)
{
	fin_log[fin_n++] = *(const char *)arg;
}

static int64_t grandchild(asup_cx *cx, void *arg)
{
	CHECK_EQ(asup_defer(cx, fin, "g"), 0);
	CHECK_EQ(asup_defer(cx, fin, "h"), 0);
	return 0;
}

static int64_t child(asup_cx *cx, void *arg)
{
	asup_outcome o;
	CHECK_EQ(asup_defer(cx, fin, "c"), 0);
	CHECK_EQ(asup_region(cx, grandchild, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	/* the grandchild is closed by now: its finalizers already ran */
	CHECK_EQ(fin_n, 2);
	return 5;
}

static int64_t finalizer_root(asup_cx *cx, void *arg)
{
	asup_outcome o;
	CHECK_EQ(asup_region(cx, child, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(o.value, 5);
	return 0;
}

TEST(finalizers_run_lifo_innermost_first)
{
	asup_rt *rt = mk(ASUP_MODE_REAL);
	fin_n = 0;
	CHECK_EQ(run_in(rt, finalizer_root, NULL), 0);
	fin_log[fin_n] = 0;
	CHECK_STR_EQ(fin_log, "hgc");
	CHECK_EQ(asup_rt_destroy(rt), 0);
}

/* ---- an Ok body's region waits for its tasks; a closed region is gone ---- */

static int done_count;
static int64_t sleeper(asup_cx *cx, void *arg)
{
	int rc = asup_sleep(cx, ASUP_MSEC((uintptr_t)arg));
	if (rc == 0)
		done_count++;
	return rc;
}

static int64_t spawns_sleepers(asup_cx *cx, void *arg)
{
	asup_task h;
	uint64_t *id = arg;
	*id = asup_scope_region_id(cx);
	for (int i = 1; i <= 3; i++) {
		CHECK_EQ(asup_spawn(cx, sleeper, (void *)(uintptr_t)(i * 10), NULL, &h), 0);
		CHECK_EQ(asup_task_release(&h), 0);
	}
	return 0;
}

static int64_t quiescence_root(asup_cx *cx, void *arg)
{
	asup_rt *rt = arg;
	uint64_t id = 0;
	asup_outcome o;
	asup_time t0 = asup_now(cx);

	done_count = 0;
	CHECK_EQ(asup_region(cx, spawns_sleepers, &id, &o), 0);
	CHECK_EQ(done_count, 3); /* closing waited for every task */
	CHECK_EQ(asup_now(cx) - t0, ASUP_MSEC(30));
	CHECK(asup__region_lookup(asup__rt_kernel(rt), id) == NULL);
	return 0;
}

TEST(region_close_waits_for_tasks_and_removes_region)
{
	asup_rt *rt = mk(ASUP_MODE_DETERMINISTIC);
	CHECK_EQ(run_in(rt, quiescence_root, rt), 0);
	CHECK_EQ(asup_rt_destroy(rt), 0);
}

/* ---- Err body cancels the region's tasks with FAIL_FAST ---- */

static asup_cancel_kind seen_kind;
static int64_t waits_for_cancel(asup_cx *cx, void *arg)
{
	asup_cancel_reason r;
	int rc = asup_sleep(cx, ASUP_SEC(100));
	CHECK_EQ(rc, -ECANCELED);
	CHECK_EQ(asup_cx_cancel_reason(cx, &r), 0);
	seen_kind = r.kind;
	return rc;
}

static int64_t failing_body(asup_cx *cx, void *arg)
{
	asup_task h;
	CHECK_EQ(asup_spawn(cx, waits_for_cancel, NULL, NULL, &h), 0);
	CHECK_EQ(asup_task_release(&h), 0);
	CHECK_EQ(asup_yield(cx), 0);
	return -EIO;
}

static int64_t failfast_root(asup_cx *cx, void *arg)
{
	asup_outcome o;
	seen_kind = ASUP_CANCEL_USER;
	CHECK_EQ(asup_region(cx, failing_body, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_ERR);
	CHECK_EQ(o.value, -EIO);
	CHECK_EQ(seen_kind, ASUP_CANCEL_FAIL_FAST);
	CHECK(asup_now(cx) < ASUP_SEC(1)); /* nobody waited for the long sleep */
	return 0;
}

TEST(err_body_cancels_tasks_fail_fast)
{
	asup_rt *rt = mk(ASUP_MODE_DETERMINISTIC);
	CHECK_EQ(run_in(rt, failfast_root, NULL), 0);
	CHECK_EQ(asup_rt_destroy(rt), 0);
}

/* ---- a panic in a body is caught as the region's outcome ---- */

static int64_t panicking_body(asup_cx *cx, void *arg)
{
	asup_task h;
	CHECK_EQ(asup_spawn(cx, waits_for_cancel, NULL, NULL, &h), 0);
	CHECK_EQ(asup_task_release(&h), 0);
	CHECK_EQ(asup_yield(cx), 0);
	asup_panic(cx, "body %s", "exploded");
}

static int64_t masked_then_panic(asup_cx *cx, void *arg)
{
	asup_panic(cx, "inside a mask");
}

static int64_t panic_in_mask_body(asup_cx *cx, void *arg)
{
	return asup_cx_masked(cx, masked_then_panic, NULL);
}

static int64_t panic_root(asup_cx *cx, void *arg)
{
	asup_outcome o;
	CHECK_EQ(asup_region(cx, panicking_body, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_PANICKED);
	CHECK_STR_EQ(o.panic_msg, "body exploded");
	CHECK_EQ(seen_kind, ASUP_CANCEL_FAIL_FAST);
	/* the mask taken inside the body is undone by the catch */
	CHECK_EQ(asup_region(cx, panic_in_mask_body, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_PANICKED);
	CHECK_EQ(asup_cx_mask_depth(cx), 0);
	return 7; /* the task itself carries on */
}

TEST(panic_in_body_is_contained)
{
	asup_rt *rt = mk(ASUP_MODE_DETERMINISTIC);
	CHECK_EQ(run_in(rt, panic_root, NULL), 7);
	CHECK_EQ(asup_rt_destroy(rt), 0);
}

/* ---- admission: closed scopes, limits, finalizer registration ---- */

static int64_t noop(asup_cx *cx, void *arg)
{
	return 0;
}

static int64_t limited_body(asup_cx *cx, void *arg)
{
	asup_region_limits l = asup_region_limits_unlimited();
	asup_task a, b;
	asup_outcome o;
	l.max_tasks = 1;
	l.max_children = 0;
	CHECK_EQ(asup_scope_set_limits(cx, &l), 0);
	CHECK_EQ(asup_spawn(cx, noop, NULL, NULL, &a), 0);
	CHECK_EQ(asup_spawn(cx, noop, NULL, NULL, &b), -ASUP_ECAPACITY);
	CHECK_EQ(asup_region(cx, noop, NULL, &o), -ASUP_ECAPACITY);
	CHECK_EQ(asup_join(cx, &a, &o), 0);
	/* the slot is free again once the first task completed */
	CHECK_EQ(asup_spawn(cx, noop, NULL, NULL, &b), 0);
	CHECK_EQ(asup_join(cx, &b, &o), 0);
	return 0;
}

static int64_t cancels_own_scope(asup_cx *cx, void *arg)
{
	asup_task h;
	CHECK_EQ(asup_scope_cancel(cx, ASUP_CANCEL_USER, "stop"), 0);
	CHECK_EQ(asup_spawn(cx, noop, NULL, NULL, &h), -ASUP_ECLOSED);
	CHECK_EQ(asup_defer(cx, fin, "x"), -ASUP_ECLOSED);
	return 0;
}

static int64_t admission_root(asup_cx *cx, void *arg)
{
	asup_outcome o;
	CHECK_EQ(asup_region(cx, limited_body, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(asup_region(cx, cancels_own_scope, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(asup_defer(cx, NULL, NULL), -EINVAL);
	CHECK_EQ(asup_region(cx, NULL, NULL, &o), -EINVAL);
	return 0;
}

TEST(admission_limits_and_closed_scopes)
{
	asup_rt *rt = mk(ASUP_MODE_DETERMINISTIC);
	CHECK_EQ(run_in(rt, admission_root, NULL), 0);
	CHECK_EQ(asup_region(NULL, noop, NULL, NULL), -ASUP_ENOTASK);
	CHECK_EQ(asup_rt_destroy(rt), 0);
}

/* ---- budgets meet; a budget deadline cancels with kind DEADLINE ---- */

static int64_t deadline_body(asup_cx *cx, void *arg)
{
	asup_budget b = asup_scope_budget(cx);
	asup_task h;
	CHECK_EQ(b.deadline, ASUP_MSEC(50)); /* the tighter of 50 ms and 80 ms */
	CHECK_EQ(asup_spawn(cx, waits_for_cancel, NULL, NULL, &h), 0);
	CHECK_EQ(asup_task_release(&h), 0);
	return 0;
}

static int64_t outer_deadline_body(asup_cx *cx, void *arg)
{
	asup_budget b = asup_budget_default();
	asup_outcome o;
	b.deadline = ASUP_MSEC(80);
	CHECK_EQ(asup_region_with_budget(cx, b, deadline_body, NULL, &o), 0);
	return 0;
}

static int64_t deadline_root(asup_cx *cx, void *arg)
{
	asup_budget b = asup_budget_default();
	asup_outcome o;
	b.deadline = ASUP_MSEC(50);
	seen_kind = ASUP_CANCEL_USER;
	CHECK_EQ(asup_region_with_budget(cx, b, outer_deadline_body, NULL, &o), 0);
	CHECK_EQ(seen_kind, ASUP_CANCEL_DEADLINE);
	CHECK_EQ(asup_now(cx), ASUP_MSEC(50));
	return 0;
}

TEST(budget_deadlines_meet_and_cancel)
{
	asup_rt *rt = mk(ASUP_MODE_DETERMINISTIC);
	CHECK_EQ(run_in(rt, deadline_root, NULL), 0);
	CHECK_EQ(asup_rt_destroy(rt), 0);
}

/* ---- cancellation reaches every descendant with a cause chain ---- */

static int chain_depth_seen;
static asup_cancel_kind chain_root_kind;
static int64_t deep_task(asup_cx *cx, void *arg)
{
	asup_cancel_reason r;
	int rc = asup_sleep(cx, ASUP_SEC(100));
	CHECK_EQ(rc, -ECANCELED);
	CHECK_EQ(asup_cx_cancel_reason(cx, &r), 0);
	CHECK_EQ(r.kind, ASUP_CANCEL_PARENT_CANCELLED);
	chain_depth_seen = r.chain_depth;
	chain_root_kind = r.root_kind;
	return rc;
}

static int64_t level3(asup_cx *cx, void *arg)
{
	asup_task h;
	CHECK_EQ(asup_spawn(cx, deep_task, NULL, NULL, &h), 0);
	return asup_task_release(&h);
}

static int64_t level2(asup_cx *cx, void *arg)
{
	asup_outcome o;
	return asup_region(cx, level3, NULL, &o);
}

static int64_t canceller(asup_cx *cx, void *arg)
{
	CHECK_EQ(asup_sleep(cx, ASUP_MSEC(5)), 0);
	return asup_scope_cancel(cx, ASUP_CANCEL_SHUTDOWN, "bye");
}

static int64_t level1(asup_cx *cx, void *arg)
{
	asup_outcome o;
	asup_task h;
	CHECK_EQ(asup_spawn(cx, canceller, NULL, NULL, &h), 0);
	CHECK_EQ(asup_task_release(&h), 0);
	return asup_region(cx, level2, NULL, &o);
}

static int64_t chain_root(asup_cx *cx, void *arg)
{
	asup_outcome o;
	CHECK_EQ(asup_region(cx, level1, NULL, &o), 0);
	CHECK_EQ(chain_depth_seen, 3);
	CHECK_EQ(chain_root_kind, ASUP_CANCEL_SHUTDOWN);
	CHECK_EQ(asup_now(cx), ASUP_MSEC(5));
	return 0;
}

TEST(cancel_propagates_with_cause_chain)
{
	asup_rt *rt = mk(ASUP_MODE_DETERMINISTIC);
	CHECK_EQ(run_in(rt, chain_root, NULL), 0);
	CHECK_EQ(asup_rt_destroy(rt), 0);
}
