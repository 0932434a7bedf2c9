/*
 * A region body runs inside its region's cancel scope: the region's cancel
 * and budget deadline reach the body's checkpoints and wake its parks,
 * nested regions nest, masks defer it, and it stops at the region's edge.
 * Virtual time (deterministic mode) unless a case says otherwise.
 */
#include "testrt.h"

static asup_rt *det(void)
{
	return test_rt(ASUP_MODE_DETERMINISTIC, 7);
}

/* Runs fn as the root task and returns its value (fails on any other
 * outcome). */
static int64_t run_root(asup_rt *rt, asup_task_fn fn, void *arg)
{
	asup_outcome o;
	CHECK_EQ(asup_rt_run(rt, fn, arg, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	return o.value;
}

static asup_budget deadline_in(asup_cx *cx, uint64_t ns)
{
	return asup_budget_with_deadline(asup_budget_infinite(), asup_now(cx) + ns);
}

/* The caller's own state after a region call returned: clean. */
static void check_clean(asup_cx *cx)
{
	asup_cancel_reason why;
	asup_time t0 = asup_now(cx);

	CHECK_EQ(asup_checkpoint(cx), 0);
	CHECK_EQ(asup_cx_is_cancel_requested(cx), 0);
	CHECK_EQ(asup_cx_cancel_reason(cx, &why), -EAGAIN);
	CHECK_EQ(asup_cx_deadline(cx), ASUP_TIME_MAX);
	CHECK_EQ(asup_sleep(cx, ASUP_MSEC(5)), 0);
	CHECK_EQ(asup_now(cx) - t0, ASUP_MSEC(5));
	CHECK_EQ(asup_yield(cx), 0);
}

/* ---- a region's deadline bounds its body ---- */

static int64_t sleeps_200ms(asup_cx *cx, void *arg)
{
	int rc = asup_sleep(cx, ASUP_MSEC(200));
	*(int *)arg = rc;
	return rc;
}

static int64_t deadline_root(asup_cx *cx, void *arg)
{
	asup_outcome o;
	int rc = 1;

	CHECK_EQ(asup_region_with_budget(cx, deadline_in(cx, ASUP_MSEC(50)), sleeps_200ms, &rc, &o),
		 0);
	CHECK_EQ(rc, -ECANCELED);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(o.reason.kind, ASUP_CANCEL_DEADLINE);
	CHECK_EQ(asup_now(cx), ASUP_MSEC(50));
	check_clean(cx);
	return 1;
}

TEST(region_deadline_cancels_a_sleeping_body_at_the_deadline)
{
	asup_rt *rt = det();
	CHECK_EQ(run_root(rt, deadline_root, NULL), 1);
	test_rt_done(rt);
}

/* The same in real mode: without the rule the body would sleep its 10 s and
 * end Ok. (No assertion on wall time.) */
static int64_t sleeps_10s(asup_cx *cx, void *arg)
{
	(void)arg;
	return asup_sleep(cx, ASUP_SEC(10));
}

static int64_t real_deadline_root(asup_cx *cx, void *arg)
{
	asup_outcome o;
	(void)arg;
	CHECK_EQ(asup_region_with_budget(cx, deadline_in(cx, ASUP_MSEC(20)), sleeps_10s, NULL, &o),
		 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(o.reason.kind, ASUP_CANCEL_DEADLINE);
	CHECK_EQ(asup_checkpoint(cx), 0);
	return 1;
}

TEST(region_deadline_cancels_a_sleeping_body_in_real_mode)
{
	asup_rt *rt = test_rt(ASUP_MODE_REAL, 0);
	CHECK_EQ(run_root(rt, real_deadline_root, NULL), 1);
	test_rt_done(rt);
}

/* A body that never suspends sees the deadline at its next checkpoint. */
static int64_t spins_to_deadline(asup_cx *cx, void *arg)
{
	(void)arg;
	CHECK_EQ(asup_checkpoint(cx), 0);
	CHECK_EQ(asup_sleep(cx, ASUP_MSEC(10)), 0); /* before the deadline */
	CHECK_EQ(asup_checkpoint(cx), 0);
	CHECK_EQ(asup_sleep(cx, ASUP_MSEC(30)), -ECANCELED);
	/* Level-triggered: every later checkpoint says so too. */
	CHECK_EQ(asup_checkpoint(cx), -ECANCELED);
	CHECK_EQ(asup_yield(cx), -ECANCELED);
	CHECK_EQ(asup_cx_is_cancel_requested(cx), 1);
	{
		asup_cancel_reason why;
		CHECK_EQ(asup_cx_cancel_reason(cx, &why), 0);
		CHECK_EQ(why.kind, ASUP_CANCEL_DEADLINE);
		CHECK_EQ(asup_cx_cancel_chain(cx, &why, 1), 1);
	}
	return -ECANCELED;
}

static int64_t level_root(asup_cx *cx, void *arg)
{
	asup_outcome o;
	(void)arg;
	CHECK_EQ(asup_region_with_budget(cx, deadline_in(cx, ASUP_MSEC(20)), spins_to_deadline,
					 NULL, &o),
		 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(asup_now(cx), ASUP_MSEC(20));
	check_clean(cx);
	return 1;
}

TEST(region_cancel_is_seen_at_every_checkpoint_of_the_body_until_it_returns)
{
	asup_rt *rt = det();
	CHECK_EQ(run_root(rt, level_root, NULL), 1);
	test_rt_done(rt);
}

/* A deadline already passed when the region opens stops the first
 * checkpoint. */
static int64_t first_checkpoint(asup_cx *cx, void *arg)
{
	(void)arg;
	return asup_checkpoint(cx);
}

static int64_t passed_root(asup_cx *cx, void *arg)
{
	asup_outcome o;
	(void)arg;
	CHECK_EQ(asup_sleep(cx, ASUP_MSEC(10)), 0);
	CHECK_EQ(asup_region_with_budget(
			 cx, asup_budget_with_deadline(asup_budget_infinite(), ASUP_MSEC(5)),
			 first_checkpoint, NULL, &o),
		 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(o.reason.kind, ASUP_CANCEL_DEADLINE);
	check_clean(cx);
	return 1;
}

TEST(region_deadline_already_passed_stops_the_first_checkpoint)
{
	asup_rt *rt = det();
	CHECK_EQ(run_root(rt, passed_root, NULL), 1);
	test_rt_done(rt);
}

/* ---- a child's asup_scope_cancel wakes the waiting body ---- */

enum wait_on { ON_RECV, ON_MUTEX, ON_SLEEP, ON_JOIN };

struct waitcase {
	enum wait_on on;
	asup_mutex m;
	int body_rc;
	int holder_rc;
	asup_time woke_at;
};

static int64_t canceller(asup_cx *cx, void *arg)
{
	(void)arg;
	CHECK_EQ(asup_sleep(cx, ASUP_MSEC(10)), 0);
	CHECK_EQ(asup_scope_cancel(cx, ASUP_CANCEL_USER, "stop"), 0);
	return 0;
}

static int64_t mutex_holder(asup_cx *cx, void *arg)
{
	struct waitcase *w = arg;
	CHECK_EQ(asup_mutex_lock(cx, &w->m), 0);
	w->holder_rc = asup_sleep(cx, ASUP_SEC(100));
	CHECK_EQ(asup_mutex_unlock(cx, &w->m), 0);
	return w->holder_rc;
}

/* A task that a cancel does not end at once (it masks a 100 ms sleep): a
 * join of it must be woken by the cancel itself, not by its end. */
static int64_t stubborn_sleep(asup_cx *cx, void *arg)
{
	(void)arg;
	return asup_sleep(cx, ASUP_MSEC(100));
}

static int64_t stubborn(asup_cx *cx, void *arg)
{
	return asup_cx_masked(cx, stubborn_sleep, arg);
}

static int64_t waiting_body(asup_cx *cx, void *arg)
{
	struct waitcase *w = arg;
	asup_task h;
	asup_chan *ch;
	int v = 0;

	switch (w->on) {
	case ON_RECV:
		CHECK_EQ(asup_chan_open(cx, sizeof(int), 4, &ch), 0);
		CHECK_EQ(asup_spawn(cx, canceller, NULL, NULL, &h), 0);
		asup_task_release(&h);
		w->body_rc = asup_chan_recv(cx, ch, &v);
		break;
	case ON_MUTEX:
		CHECK_EQ(asup_spawn(cx, mutex_holder, w, NULL, &h), 0);
		asup_task_release(&h);
		CHECK_EQ(asup_sleep(cx, ASUP_MSEC(1)), 0); /* the holder locks */
		CHECK_EQ(asup_mutex_is_locked(&w->m), 1);
		CHECK_EQ(asup_spawn(cx, canceller, NULL, NULL, &h), 0);
		asup_task_release(&h);
		w->body_rc = asup_mutex_lock(cx, &w->m);
		break;
	case ON_SLEEP:
		CHECK_EQ(asup_spawn(cx, canceller, NULL, NULL, &h), 0);
		asup_task_release(&h);
		w->body_rc = asup_sleep(cx, ASUP_SEC(100));
		break;
	case ON_JOIN: {
		asup_task sleeper;
		asup_outcome jo;
		CHECK_EQ(asup_spawn(cx, stubborn, NULL, NULL, &sleeper), 0);
		CHECK_EQ(asup_spawn(cx, canceller, NULL, NULL, &h), 0);
		asup_task_release(&h);
		w->body_rc = asup_join(cx, &sleeper, &jo);
		break;
	}
	}
	w->woke_at = asup_now(cx);
	return w->body_rc;
}

static int64_t waitcase_root(asup_cx *cx, void *arg)
{
	struct waitcase *w = arg;
	asup_outcome o;

	CHECK_EQ(asup_region(cx, waiting_body, w, &o), 0);
	CHECK_EQ(w->body_rc, -ECANCELED);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(o.reason.kind, ASUP_CANCEL_USER);
	CHECK_STR_EQ(o.reason.message, "stop");
	/* Woken when the child cancelled, not when the wait would have ended;
	 * the region's tasks were cancelled too, so it closed promptly (the
	 * stubborn task of the join case ends at 100 ms, and the region waits
	 * for it). */
	CHECK_EQ(w->woke_at, ASUP_MSEC(w->on == ON_MUTEX ? 11 : 10));
	CHECK_EQ(asup_now(cx), w->on == ON_JOIN ? ASUP_MSEC(100) : w->woke_at);
	check_clean(cx);
	return 1;
}

static void run_waitcase_seed(enum wait_on on, uint64_t seed)
{
	static struct waitcase w;
	asup_rt *rt = test_rt(ASUP_MODE_DETERMINISTIC, seed);

	memset(&w, 0, sizeof w);
	w.on = on;
	asup_mutex_init(&w.m);
	CHECK_EQ(run_root(rt, waitcase_root, &w), 1);
	if (on == ON_MUTEX)
		CHECK_EQ(w.holder_rc, -ECANCELED);
	test_rt_done(rt);
}

TEST(child_scope_cancel_wakes_a_body_waiting_in_chan_recv)
{
	run_waitcase_seed(ON_RECV, 3);
}

TEST(child_scope_cancel_wakes_a_waiting_body_for_every_seed)
{
	for (uint64_t seed = 0; seed < 16; seed++)
		for (int on = ON_RECV; on <= ON_JOIN; on++)
			run_waitcase_seed((enum wait_on)on, seed);
}

TEST(child_scope_cancel_wakes_a_body_waiting_for_a_mutex)
{
	run_waitcase_seed(ON_MUTEX, 3);
}

TEST(child_scope_cancel_wakes_a_sleeping_body)
{
	run_waitcase_seed(ON_SLEEP, 3);
}

TEST(child_scope_cancel_wakes_a_body_joining_a_task)
{
	run_waitcase_seed(ON_JOIN, 3);
}

/* The body's own asup_scope_cancel cancels its scope: its next checkpoint
 * says so (the Trio rule), and the caller is untouched. */
static int64_t cancels_itself(asup_cx *cx, void *arg)
{
	(void)arg;
	CHECK_EQ(asup_checkpoint(cx), 0);
	CHECK_EQ(asup_scope_cancel(cx, ASUP_CANCEL_USER, "self"), 0);
	return asup_checkpoint(cx);
}

static int64_t self_cancel_root(asup_cx *cx, void *arg)
{
	asup_outcome o;
	(void)arg;
	CHECK_EQ(asup_region(cx, cancels_itself, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_STR_EQ(o.reason.message, "self");
	check_clean(cx);
	return 1;
}

TEST(body_scope_cancel_reaches_its_own_checkpoints_and_stops_at_the_edge)
{
	asup_rt *rt = det();
	CHECK_EQ(run_root(rt, self_cancel_root, NULL), 1);
	test_rt_done(rt);
}

/* A race in a cancelled body returns -ECANCELED with both racers drained. */
static int64_t race_body(asup_cx *cx, void *arg)
{
	asup_task a, b, h;
	asup_outcome o;
	int rc;

	CHECK_EQ(asup_spawn(cx, sleeps_10s, NULL, NULL, &a), 0);
	CHECK_EQ(asup_spawn(cx, sleeps_10s, NULL, NULL, &b), 0);
	CHECK_EQ(asup_spawn(cx, canceller, NULL, NULL, &h), 0);
	asup_task_release(&h);
	rc = asup_race(cx, &a, &b, &o);
	*(int *)arg = rc;
	CHECK_EQ(asup_now(cx), ASUP_MSEC(10));
	return rc;
}

static int64_t race_root(asup_cx *cx, void *arg)
{
	asup_outcome o;
	int rc = 0;
	(void)arg;
	CHECK_EQ(asup_region(cx, race_body, &rc, &o), 0);
	CHECK_EQ(rc, -ECANCELED);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(asup_now(cx), ASUP_MSEC(10));
	check_clean(cx);
	return 1;
}

TEST(child_scope_cancel_stops_a_race_in_the_body)
{
	for (uint64_t seed = 0; seed < 16; seed++) {
		asup_rt *rt = test_rt(ASUP_MODE_DETERMINISTIC, seed);
		CHECK_EQ(run_root(rt, race_root, NULL), 1);
		test_rt_done(rt);
	}
}

/* ---- nesting ---- */

struct nest {
	asup_outcome inner;
	int inner_rc;
	int after_inner;
	asup_time inner_end;
	uint64_t inner_deadline;
};

static int64_t inner_sleeps(asup_cx *cx, void *arg)
{
	struct nest *n = arg;
	n->inner_rc = asup_sleep(cx, ASUP_SEC(1));
	return n->inner_rc;
}

/* Outer 100 ms, inner without a deadline of its own: the outer deadline
 * ends the inner body, then the outer one. */
static int64_t outer_body(asup_cx *cx, void *arg)
{
	struct nest *n = arg;

	CHECK_EQ(asup_region(cx, inner_sleeps, n, &n->inner), 0);
	n->inner_end = asup_now(cx);
	n->after_inner = asup_checkpoint(cx);
	return n->after_inner;
}

static int64_t nest_root(asup_cx *cx, void *arg)
{
	struct nest *n = arg;
	asup_outcome o;

	CHECK_EQ(asup_region_with_budget(cx, deadline_in(cx, ASUP_MSEC(100)), outer_body, n, &o),
		 0);
	CHECK_EQ(n->inner_rc, -ECANCELED);
	CHECK_EQ(n->inner.kind, ASUP_OUTCOME_CANCELLED);
	/* The inner region was cancelled through its parent. */
	CHECK_EQ(n->inner.reason.kind, ASUP_CANCEL_PARENT_CANCELLED);
	CHECK_EQ(n->inner.reason.root_kind, ASUP_CANCEL_DEADLINE);
	CHECK_EQ(n->inner_end, ASUP_MSEC(100));
	CHECK_EQ(n->after_inner, -ECANCELED);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(o.reason.kind, ASUP_CANCEL_DEADLINE);
	check_clean(cx);
	return 1;
}

TEST(outer_region_deadline_ends_an_inner_body_and_then_the_outer_one)
{
	static struct nest n;
	asup_rt *rt = det();
	memset(&n, 0, sizeof n);
	CHECK_EQ(run_root(rt, nest_root, &n), 1);
	test_rt_done(rt);
}

/* Inner 30 ms inside outer 100 ms: the inner deadline ends only the inner
 * body; the outer one goes on until its own deadline. */
static int64_t tight_inner(asup_cx *cx, void *arg)
{
	struct nest *n = arg;
	n->inner_deadline = asup_cx_deadline(cx);
	n->inner_rc = asup_sleep(cx, ASUP_SEC(1));
	return n->inner_rc;
}

static int64_t outer_with_tight_inner(asup_cx *cx, void *arg)
{
	struct nest *n = arg;

	CHECK_EQ(asup_cx_deadline(cx), ASUP_MSEC(100));
	CHECK_EQ(asup_region_with_budget(cx, deadline_in(cx, ASUP_MSEC(30)), tight_inner, n,
					 &n->inner),
		 0);
	n->inner_end = asup_now(cx);
	/* Back in the outer body: its own scope is not cancelled. */
	n->after_inner = asup_checkpoint(cx);
	CHECK_EQ(asup_cx_deadline(cx), ASUP_MSEC(100));
	return asup_sleep(cx, ASUP_SEC(1));
}

static int64_t tight_root(asup_cx *cx, void *arg)
{
	struct nest *n = arg;
	asup_outcome o;

	CHECK_EQ(asup_region_with_budget(cx, deadline_in(cx, ASUP_MSEC(100)),
					 outer_with_tight_inner, n, &o),
		 0);
	CHECK_EQ(n->inner_deadline, ASUP_MSEC(30));
	CHECK_EQ(n->inner.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(n->inner.reason.kind, ASUP_CANCEL_DEADLINE);
	CHECK_EQ(n->inner_end, ASUP_MSEC(30));
	CHECK_EQ(n->after_inner, 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(o.reason.kind, ASUP_CANCEL_DEADLINE);
	CHECK_EQ(asup_now(cx), ASUP_MSEC(100));
	check_clean(cx);
	return 1;
}

TEST(inner_region_deadline_ends_only_the_inner_body)
{
	static struct nest n;
	asup_rt *rt = det();
	memset(&n, 0, sizeof n);
	CHECK_EQ(run_root(rt, tight_root, &n), 1);
	test_rt_done(rt);
}

/* A task of the outer region cancels it while the body of an inner region
 * waits on a channel: the inner body wakes. */
struct outer_cancel {
	asup_chan *ch;
	int inner_rc;
	asup_outcome inner;
};

static int64_t inner_recv(asup_cx *cx, void *arg)
{
	struct outer_cancel *c = arg;
	int v;
	c->inner_rc = asup_chan_recv(cx, c->ch, &v);
	return c->inner_rc;
}

static int64_t outer_spawns_canceller(asup_cx *cx, void *arg)
{
	struct outer_cancel *c = arg;
	asup_task h;

	CHECK_EQ(asup_chan_open(cx, sizeof(int), 1, &c->ch), 0);
	CHECK_EQ(asup_spawn(cx, canceller, NULL, NULL, &h), 0); /* cancels the outer region */
	asup_task_release(&h);
	CHECK_EQ(asup_region(cx, inner_recv, c, &c->inner), 0);
	return asup_checkpoint(cx);
}

static int64_t outer_cancel_root(asup_cx *cx, void *arg)
{
	struct outer_cancel *c = arg;
	asup_outcome o;

	CHECK_EQ(asup_region(cx, outer_spawns_canceller, c, &o), 0);
	CHECK_EQ(c->inner_rc, -ECANCELED);
	CHECK_EQ(c->inner.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(c->inner.reason.kind, ASUP_CANCEL_PARENT_CANCELLED);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(o.reason.kind, ASUP_CANCEL_USER);
	CHECK_EQ(asup_now(cx), ASUP_MSEC(10));
	check_clean(cx);
	return 1;
}

TEST(cancel_of_an_outer_region_wakes_the_body_of_an_inner_one)
{
	static struct outer_cancel c;
	asup_rt *rt = det();
	memset(&c, 0, sizeof c);
	CHECK_EQ(run_root(rt, outer_cancel_root, &c), 1);
	test_rt_done(rt);
}

/* ---- the effective deadline ---- */

struct seen {
	asup_time in_body, in_timeout, in_task, budget_in_body, after;
};

static int64_t reads_deadline(asup_cx *cx, void *arg)
{
	((struct seen *)arg)->in_task = asup_cx_deadline(cx);
	return 0;
}

static int64_t timeout_fn(asup_cx *cx, void *arg)
{
	((struct seen *)arg)->in_timeout = asup_cx_deadline(cx);
	return 0;
}

static int64_t deadline_body(asup_cx *cx, void *arg)
{
	struct seen *s = arg;
	asup_task h;
	asup_outcome jo;

	s->in_body = asup_cx_deadline(cx);
	s->budget_in_body = asup_cx_budget(cx).deadline;
	CHECK_EQ(asup_timeout(cx, ASUP_MSEC(30), timeout_fn, s), 0);
	CHECK_EQ(asup_spawn(cx, reads_deadline, s, NULL, &h), 0);
	CHECK_EQ(asup_join(cx, &h, &jo), 0);
	CHECK_EQ(jo.kind, ASUP_OUTCOME_OK);
	return 0;
}

static int64_t effective_root(asup_cx *cx, void *arg)
{
	struct seen *s = arg;
	asup_outcome o;

	CHECK_EQ(asup_region_with_budget(cx, deadline_in(cx, ASUP_MSEC(100)), deadline_body, s, &o),
		 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	s->after = asup_cx_deadline(cx);
	CHECK_EQ(asup_cx_budget(cx).deadline, ASUP_TIME_MAX);
	return 1;
}

TEST(cx_deadline_and_budget_report_the_effective_deadline)
{
	static struct seen s;
	asup_rt *rt = det();
	CHECK_EQ(run_root(rt, effective_root, &s), 1);
	CHECK_EQ(s.in_body, ASUP_MSEC(100));
	CHECK_EQ(s.budget_in_body, ASUP_MSEC(100));
	CHECK_EQ(s.in_timeout, ASUP_MSEC(30));   /* the tighter timeout scope */
	CHECK_EQ(s.in_task, ASUP_MSEC(100));     /* a task of the region: its budget */
	CHECK_EQ(s.after, ASUP_TIME_MAX);        /* outside the region again */
	test_rt_done(rt);
}

/* ---- masks defer it ---- */

static int64_t masked_sleep(asup_cx *cx, void *arg)
{
	(void)arg;
	/* Past the deadline, and not woken by it. */
	CHECK_EQ(asup_sleep(cx, ASUP_MSEC(200)), 0);
	CHECK_EQ(asup_checkpoint(cx), 0);
	return 7;
}

static int64_t masked_body(asup_cx *cx, void *arg)
{
	int64_t v = asup_cx_masked(cx, masked_sleep, arg);
	CHECK_EQ(v, 7);
	CHECK_EQ(asup_now(cx), ASUP_MSEC(200));
	/* Unmasked again: the deferred cancel arrives. */
	return asup_checkpoint(cx);
}

static int64_t masked_root(asup_cx *cx, void *arg)
{
	asup_outcome o;
	(void)arg;
	CHECK_EQ(asup_region_with_budget(cx, deadline_in(cx, ASUP_MSEC(50)), masked_body, NULL, &o),
		 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(o.reason.kind, ASUP_CANCEL_DEADLINE);
	check_clean(cx);
	return 1;
}

TEST(mask_defers_the_region_deadline_until_it_ends)
{
	asup_rt *rt = det();
	CHECK_EQ(run_root(rt, masked_root, NULL), 1);
	test_rt_done(rt);
}

static int64_t masked_wait(asup_cx *cx, void *arg)
{
	(void)arg;
	CHECK_EQ(asup_sleep(cx, ASUP_MSEC(40)), 0); /* the cancel at 10 ms waits */
	return 0;
}

static int64_t masked_cancel_body(asup_cx *cx, void *arg)
{
	asup_task h;
	(void)arg;
	CHECK_EQ(asup_spawn(cx, canceller, NULL, NULL, &h), 0);
	asup_task_release(&h);
	CHECK_EQ(asup_cx_masked(cx, masked_wait, NULL), 0);
	CHECK_EQ(asup_now(cx), ASUP_MSEC(40));
	return asup_sleep(cx, ASUP_MSEC(1));
}

static int64_t masked_cancel_root(asup_cx *cx, void *arg)
{
	asup_outcome o;
	(void)arg;
	CHECK_EQ(asup_region(cx, masked_cancel_body, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(o.reason.kind, ASUP_CANCEL_USER);
	CHECK_EQ(asup_now(cx), ASUP_MSEC(40));
	check_clean(cx);
	return 1;
}

TEST(mask_defers_a_scope_cancel_until_it_ends)
{
	asup_rt *rt = det();
	CHECK_EQ(run_root(rt, masked_cancel_root, NULL), 1);
	test_rt_done(rt);
}

/* ---- the task's own cancel still wins and still shows after the edge ---- */

static int64_t aborted_body(asup_cx *cx, void *arg)
{
	(void)arg;
	return asup_sleep(cx, ASUP_SEC(10));
}

static int64_t aborted_task(asup_cx *cx, void *arg)
{
	asup_outcome o;
	(void)arg;
	CHECK_EQ(asup_region_with_budget(cx, deadline_in(cx, ASUP_MSEC(50)), aborted_body, NULL, &o),
		 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(o.reason.kind, ASUP_CANCEL_SHUTDOWN); /* the task's own reason */
	/* Its own cancel outlives the region. */
	CHECK_EQ(asup_checkpoint(cx), -ECANCELED);
	return -ECANCELED;
}

static int64_t own_cancel_root(asup_cx *cx, void *arg)
{
	asup_task h;
	asup_outcome o;
	(void)arg;
	CHECK_EQ(asup_spawn(cx, aborted_task, NULL, NULL, &h), 0);
	CHECK_EQ(asup_sleep(cx, ASUP_MSEC(10)), 0);
	CHECK_EQ(asup_task_abort_with(&h, ASUP_CANCEL_SHUTDOWN, NULL), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(asup_now(cx), ASUP_MSEC(10));
	return 1;
}

TEST(task_own_cancel_reaches_its_body_and_outlives_the_region)
{
	asup_rt *rt = det();
	CHECK_EQ(run_root(rt, own_cancel_root, NULL), 1);
	test_rt_done(rt);
}

/* Across seeds: the deadline case always ends at the deadline. */
TEST(region_deadline_holds_across_seeds)
{
	for (uint64_t seed = 0; seed < 32; seed++) {
		asup_rt *rt = test_rt(ASUP_MODE_DETERMINISTIC, seed);
		CHECK_EQ(run_root(rt, deadline_root, NULL), 1);
		test_rt_done(rt);
	}
}
