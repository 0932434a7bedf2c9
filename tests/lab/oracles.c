/*
 * The lab oracles. Each is first fed a hand-written event stream that
 * breaks exactly its rule (the runtime never produces those, so this is how
 * an oracle is shown to be able to fail), and the same stream without the
 * fault passes; then real programs that break a rule are run in the lab.
 */
#include "harness.h"
#include <asupersync.h>

#include "lab/oracle.h"

#define ROOT ((uint64_t)1 << 32 | 0)         /* R0 generation 1 */
#define RID(i) ((uint64_t)1 << 32 | (i))
#define TID(i) ((uint64_t)1 << 32 | (i))
#define NONE ASUP_ID_NONE

static void *h_alloc(void *ud, size_t n)
{
	(void)ud;
	return malloc(n);
}

static void h_free(void *ud, void *p, size_t n)
{
	(void)ud;
	(void)n;
	free(p);
}

static asup__alloc a = {h_alloc, h_free, NULL};

static uint64_t step;

static void ev(asup__oracle *o, uint32_t type, uint64_t task, uint64_t region, uint64_t x,
	       uint64_t y)
{
	asup_event e;
	memset(&e, 0, sizeof e);
	e.type = type;
	e.step = step;
	e.task = task;
	e.region = region;
	e.a = x;
	e.b = y;
	asup__oracle_event(o, &e);
}

/* Did oracle `name` report something? */
static int reported(const asup__oracle *o, const char *name)
{
	for (uint64_t i = 0; i < o->nviolations && i < ASUP__VIOLATIONS_KEPT; i++)
		if (strcmp(o->kept[i].oracle, name) == 0)
			return 1;
	return 0;
}

static void start(asup__oracle *o)
{
	step = 1;
	CHECK_EQ(asup__oracle_init(o, &a, ROOT), 0);
}

/* R1 under the root with task T1 in it. */
static void region_with_task(asup__oracle *o)
{
	ev(o, ASUP_EV_REGION_CREATE, NONE, RID(1), ROOT, ASUP_TIME_MAX);
	ev(o, ASUP_EV_SPAWN, TID(1), RID(1), NONE, 0);
}

TEST(sem_92_a_closed_region_with_a_live_task_or_child_is_reported)
{
	asup__oracle o;

	/* A live task. */
	start(&o);
	region_with_task(&o);
	ev(&o, ASUP_EV_REGION_CLOSE_BEGIN, NONE, RID(1), 0, 0);
	ev(&o, ASUP_EV_REGION_CLOSE_COMPLETE, NONE, RID(1), ROOT, 0);
	CHECK(reported(&o, "task_leak"));
	asup__oracle_destroy(&o);

	/* An open child. */
	start(&o);
	ev(&o, ASUP_EV_REGION_CREATE, NONE, RID(1), ROOT, ASUP_TIME_MAX);
	ev(&o, ASUP_EV_REGION_CREATE, NONE, RID(2), RID(1), ASUP_TIME_MAX);
	ev(&o, ASUP_EV_REGION_CLOSE_COMPLETE, NONE, RID(1), ROOT, 0);
	CHECK(reported(&o, "quiescence"));
	asup__oracle_destroy(&o);

	/* The same regions closed in order are fine. */
	start(&o);
	region_with_task(&o);
	ev(&o, ASUP_EV_REGION_CREATE, NONE, RID(2), RID(1), ASUP_TIME_MAX);
	ev(&o, ASUP_EV_COMPLETE, TID(1), RID(1), ASUP_OUTCOME_OK, ASUP_OUTCOME_OK);
	ev(&o, ASUP_EV_REGION_CLOSE_COMPLETE, NONE, RID(2), RID(1), 0);
	ev(&o, ASUP_EV_REGION_CLOSE_COMPLETE, NONE, RID(1), ROOT, 0);
	asup__oracle_final(&o, step, 0, 0);
	CHECK_EQ(o.nviolations, 0);
	asup__oracle_destroy(&o);
}

TEST(sem_93_protocol_oracle_flags_skipped_phases_and_unpropagated_cancels)
{
	asup__oracle o;

	/* Acknowledged without a request. */
	start(&o);
	region_with_task(&o);
	ev(&o, ASUP_EV_CANCEL_ACK, TID(1), RID(1), ASUP_CANCEL_USER, 0);
	CHECK(reported(&o, "cancel_protocol"));
	asup__oracle_destroy(&o);

	/* A record-level cancel request, then completing Ok (skipping the
	 * cancelled completion). */
	start(&o);
	region_with_task(&o);
	ev(&o, ASUP_EV_CANCEL_REQUEST, TID(1), RID(1), ASUP_CANCEL_SHUTDOWN, 1);
	ev(&o, ASUP_EV_COMPLETE, TID(1), RID(1), ASUP_OUTCOME_OK, ASUP_OUTCOME_OK);
	CHECK(reported(&o, "cancel_protocol"));
	asup__oracle_destroy(&o);

	/* Cancelled without any request; acknowledged under a mask; a weaker
	 * reason replacing a stronger one. */
	start(&o);
	region_with_task(&o);
	ev(&o, ASUP_EV_COMPLETE, TID(1), RID(1), ASUP_OUTCOME_CANCELLED, ASUP_OUTCOME_CANCELLED);
	CHECK(reported(&o, "cancel_protocol"));
	asup__oracle_destroy(&o);
	start(&o);
	region_with_task(&o);
	ev(&o, ASUP_EV_CANCEL_REQUEST, TID(1), RID(1), ASUP_CANCEL_SHUTDOWN, 1);
	ev(&o, ASUP_EV_CANCEL_ACK, TID(1), RID(1), ASUP_CANCEL_SHUTDOWN, 2);
	CHECK(reported(&o, "cancel_protocol"));
	asup__oracle_destroy(&o);
	start(&o);
	region_with_task(&o);
	ev(&o, ASUP_EV_CANCEL_REQUEST, TID(1), RID(1), ASUP_CANCEL_SHUTDOWN, 1);
	ev(&o, ASUP_EV_CANCEL_REQUEST, TID(1), RID(1), ASUP_CANCEL_USER, 1);
	CHECK(reported(&o, "cancel_protocol"));
	asup__oracle_destroy(&o);

	/* A cancel of R1 that reaches R2 but not R3; the sibling R4 of R1 is
	 * not concerned. */
	start(&o);
	ev(&o, ASUP_EV_REGION_CREATE, NONE, RID(1), ROOT, ASUP_TIME_MAX);
	ev(&o, ASUP_EV_REGION_CREATE, NONE, RID(2), RID(1), ASUP_TIME_MAX);
	ev(&o, ASUP_EV_REGION_CREATE, NONE, RID(3), RID(1), ASUP_TIME_MAX);
	ev(&o, ASUP_EV_REGION_CREATE, NONE, RID(4), ROOT, ASUP_TIME_MAX);
	ev(&o, ASUP_EV_REGION_CANCEL, NONE, RID(1), ASUP_CANCEL_USER, 1);
	ev(&o, ASUP_EV_REGION_CANCEL, NONE, RID(2), ASUP_CANCEL_PARENT_CANCELLED, 2);
	asup__oracle_step_end(&o);
	CHECK_EQ(o.nviolations, 1);
	CHECK_EQ(strcmp(o.kept[0].oracle, "cancel_protocol"), 0);
	CHECK_EQ(o.kept[0].region, RID(3));
	asup__oracle_destroy(&o);

	/* The complete protocol passes. */
	start(&o);
	region_with_task(&o);
	ev(&o, ASUP_EV_REGION_CANCEL, NONE, RID(1), ASUP_CANCEL_USER, 1);
	ev(&o, ASUP_EV_CANCEL_REQUEST, TID(1), RID(1), ASUP_CANCEL_USER, 1);
	ev(&o, ASUP_EV_CANCEL_REQUEST, TID(1), RID(1), ASUP_CANCEL_SHUTDOWN, 2);
	ev(&o, ASUP_EV_CANCEL_ACK, TID(1), RID(1), ASUP_CANCEL_SHUTDOWN, 0);
	ev(&o, ASUP_EV_COMPLETE, TID(1), RID(1), ASUP_OUTCOME_CANCELLED, ASUP_OUTCOME_OK);
	asup__oracle_step_end(&o);
	CHECK_EQ(o.nviolations, 0);
	asup__oracle_destroy(&o);
}

TEST(loser_drain_obligation_authority_finalizer_tree_and_deadline_oracles)
{
	asup__oracle o;

	/* A race that ends with a loser still running. */
	start(&o);
	region_with_task(&o);
	ev(&o, ASUP_EV_SPAWN, TID(2), RID(1), NONE, 0);
	ev(&o, ASUP_EV_SPAWN, TID(3), RID(1), NONE, 0);
	ev(&o, ASUP_EV_RACE_BEGIN, TID(1), RID(1), 1, 2);
	ev(&o, ASUP_EV_RACE_MEMBER, TID(1), RID(1), 1, TID(2));
	ev(&o, ASUP_EV_RACE_MEMBER, TID(1), RID(1), 1, TID(3));
	ev(&o, ASUP_EV_COMPLETE, TID(2), RID(1), ASUP_OUTCOME_OK, ASUP_OUTCOME_OK);
	ev(&o, ASUP_EV_RACE_END, TID(1), RID(1), 1, TID(2));
	CHECK(reported(&o, "loser_drain"));
	CHECK_EQ(o.kept[0].task, TID(3));
	asup__oracle_destroy(&o);

	/* A race never ended. */
	start(&o);
	ev(&o, ASUP_EV_RACE_BEGIN, TID(1), ROOT, 1, 0);
	asup__oracle_final(&o, step, 0, 0);
	CHECK(reported(&o, "loser_drain"));
	asup__oracle_destroy(&o);

	/* A leaked obligation; a region closing with one pending. */
	start(&o);
	region_with_task(&o);
	ev(&o, ASUP_EV_OBLIGATION_RESERVE, TID(1), RID(1), 7, ASUP_OBLIGATION_SEND_PERMIT);
	ev(&o, ASUP_EV_OBLIGATION_LEAK, TID(1), RID(1), 7, ASUP_OBLIGATION_SEND_PERMIT);
	CHECK(reported(&o, "obligation_leak"));
	asup__oracle_destroy(&o);
	start(&o);
	region_with_task(&o);
	ev(&o, ASUP_EV_OBLIGATION_RESERVE, TID(1), RID(1), 7, ASUP_OBLIGATION_LEASE);
	ev(&o, ASUP_EV_COMPLETE, TID(1), RID(1), ASUP_OUTCOME_OK, ASUP_OUTCOME_OK);
	ev(&o, ASUP_EV_REGION_CLOSE_COMPLETE, NONE, RID(1), ROOT, 0);
	CHECK(reported(&o, "obligation_leak"));
	asup__oracle_destroy(&o);

	/* An effect without its capability. */
	start(&o);
	region_with_task(&o);
	ev(&o, ASUP_EV_EFFECT, TID(1), RID(1), ASUP_CAP_SPAWN, ASUP_CAP_TIME);
	CHECK(reported(&o, "ambient_authority"));
	asup__oracle_destroy(&o);

	/* A region closed before its finalizers ran. */
	start(&o);
	ev(&o, ASUP_EV_REGION_CREATE, NONE, RID(1), ROOT, ASUP_TIME_MAX);
	ev(&o, ASUP_EV_FINALIZER_REGISTER, NONE, RID(1), 0, 0);
	ev(&o, ASUP_EV_FINALIZER_REGISTER, NONE, RID(1), 1, 0);
	ev(&o, ASUP_EV_FINALIZER_RUN, NONE, RID(1), 1, 0);
	ev(&o, ASUP_EV_REGION_CLOSE_COMPLETE, NONE, RID(1), ROOT, 0);
	CHECK(reported(&o, "finalizer"));
	asup__oracle_destroy(&o);

	/* Children of unknown or closed parents; spawning into a closed one. */
	start(&o);
	ev(&o, ASUP_EV_REGION_CREATE, NONE, RID(2), RID(9), ASUP_TIME_MAX);
	CHECK(reported(&o, "region_tree"));
	asup__oracle_destroy(&o);
	start(&o);
	ev(&o, ASUP_EV_REGION_CREATE, NONE, RID(1), ROOT, ASUP_TIME_MAX);
	ev(&o, ASUP_EV_REGION_CLOSE_COMPLETE, NONE, RID(1), ROOT, 0);
	ev(&o, ASUP_EV_SPAWN, TID(1), RID(1), NONE, 0);
	CHECK(reported(&o, "region_tree"));
	asup__oracle_destroy(&o);

	/* A child deadline after its parent's. */
	start(&o);
	ev(&o, ASUP_EV_REGION_CREATE, NONE, RID(1), ROOT, ASUP_SEC(10));
	ev(&o, ASUP_EV_REGION_CREATE, NONE, RID(2), RID(1), ASUP_SEC(30));
	CHECK(reported(&o, "deadline_monotone"));
	asup__oracle_destroy(&o);

	/* A task that never completed, a region never closed. */
	start(&o);
	region_with_task(&o);
	asup__oracle_final(&o, step, 0, 0);
	CHECK(reported(&o, "task_leak"));
	CHECK(reported(&o, "quiescence"));
	asup__oracle_destroy(&o);
}

TEST(futurelock_reports_a_holder_not_scheduled_for_k_steps_once_per_k)
{
	asup__oracle o;

	start(&o);
	region_with_task(&o);
	ev(&o, ASUP_EV_OBLIGATION_RESERVE, TID(1), RID(1), 3, ASUP_OBLIGATION_SEND_PERMIT);
	CHECK_EQ(asup__oracle_futurelock(&o, 50, 100), 0);
	CHECK_EQ(asup__oracle_futurelock(&o, 102, 100), 1);
	CHECK(reported(&o, "futurelock"));
	CHECK_EQ(asup__oracle_futurelock(&o, 150, 100), 0);
	step = 160;
	ev(&o, ASUP_EV_OBLIGATION_COMMIT, TID(1), RID(1), 3, 0);
	CHECK_EQ(asup__oracle_futurelock(&o, 1000, 100), 0); /* holds nothing now */
	asup__oracle_destroy(&o);
}

/* ---- real programs ------------------------------------------------------ */

static asup_lab *lab_new(uint64_t futurelock)
{
	asup_lab_config cfg;
	asup_lab *lab;

	asup_lab_config_init(&cfg);
	cfg.seed = 1;
	cfg.check_every_step = 1;
	cfg.futurelock_steps = futurelock;
	CHECK_EQ(asup_lab_create(&cfg, &lab), 0);
	return lab;
}

static int first_is(asup_lab *lab, const char *oracle)
{
	asup_lab_violation v;
	if (asup_lab_violation_get(lab, 0, &v) < 0)
		return 0;
	if (strcmp(v.oracle, oracle) != 0)
		printf("first violation: %s: %s\n", v.oracle, v.message);
	CHECK_EQ(v.seed, 1);
	return strcmp(v.oracle, oracle) == 0;
}

static asup_notify never;

static int64_t hold_and_wait(asup_cx *cx, void *arg)
{
	asup_permit p;
	if (asup_chan_reserve(cx, arg, &p) < 0)
		return -1;
	return asup_notify_wait(cx, &never); /* nothing ever notifies it */
}

static int64_t busy(asup_cx *cx, void *arg)
{
	(void)arg;
	for (int i = 0; i < 500; i++)
		if (asup_yield(cx) < 0)
			return -1;
	return 0;
}

static int64_t futurelock_root(asup_cx *cx, void *arg)
{
	asup_chan *ch;
	asup_task a, b;
	(void)arg;
	asup_notify_init(&never);
	if (asup_chan_open(cx, 4, 1, &ch) < 0 || asup_spawn(cx, hold_and_wait, ch, NULL, &a) < 0 ||
	    asup_spawn(cx, busy, NULL, NULL, &b) < 0)
		return -1;
	return asup_join2(cx, &a, &b, NULL, NULL);
}

TEST(sem_95_a_task_holding_an_obligation_unscheduled_for_k_steps_is_a_futurelock)
{
	asup_lab *lab = lab_new(100);
	asup_outcome o;
	asup_lab_violation v;

	CHECK_EQ(asup_lab_run(lab, futurelock_root, NULL, &o), -ASUP_EORACLE);
	CHECK(first_is(lab, "futurelock"));
	CHECK_EQ(asup_lab_violation_get(lab, 0, &v), 0);
	CHECK(v.step > 100 && v.step < 120);
	CHECK(v.task != ASUP_ID_NONE);
	asup_lab_destroy(lab);
}

static int64_t leak_permit(asup_cx *cx, void *arg)
{
	asup_permit p;
	return asup_chan_reserve(cx, arg, &p) < 0 ? -1 : 0; /* returns holding it */
}

static int64_t leak_root(asup_cx *cx, void *arg)
{
	asup_chan *ch;
	asup_task h;
	(void)arg;
	if (asup_chan_open(cx, 4, 1, &ch) < 0 || asup_spawn(cx, leak_permit, ch, NULL, &h) < 0)
		return -1;
	return asup_join(cx, &h, NULL);
}

TEST(a_leaked_permit_is_reported_with_its_holder_and_region)
{
	asup_lab *lab = lab_new(0);
	asup_outcome o;
	asup_lab_violation v;

	CHECK_EQ(asup_lab_run(lab, leak_root, NULL, &o), -ASUP_EORACLE);
	CHECK(first_is(lab, "obligation_leak"));
	CHECK_EQ(asup_lab_violation_get(lab, 0, &v), 0);
	CHECK(v.task != ASUP_ID_NONE && v.region != ASUP_ID_NONE);
	CHECK(strstr(v.message, "leaked") != NULL);
	asup_lab_destroy(lab);
}

static int64_t forever(asup_cx *cx, void *arg)
{
	(void)arg;
	return asup_notify_wait(cx, &never);
}

static int64_t deadlock_root(asup_cx *cx, void *arg)
{
	asup_task h;
	asup_spawn_opts o;
	(void)arg;
	asup_notify_init(&never);
	asup_spawn_opts_init(&o);
	o.name = "stuck";
	if (asup_spawn(cx, forever, NULL, &o, &h) < 0)
		return -1;
	return asup_join(cx, &h, NULL);
}

TEST(a_deadlock_names_the_blocked_tasks)
{
	asup_lab *lab = lab_new(0);
	asup_outcome o;
	asup_lab_violation v;

	CHECK_EQ(asup_lab_run(lab, deadlock_root, NULL, &o), -EDEADLK);
	CHECK(first_is(lab, "deadlock"));
	CHECK_EQ(asup_lab_violation_get(lab, 0, &v), 0);
	CHECK(strstr(v.message, "'stuck'") != NULL);
	CHECK(strstr(v.message, "'root'") != NULL);
	asup_lab_destroy(lab);
}

static int64_t defer_root(asup_cx *cx, void *arg)
{
	(void)arg;
	return asup_defer(cx, (void (*)(void *))free, malloc(16));
}

TEST(root_region_finalizers_run_when_the_lab_closes_the_root)
{
	asup_lab *lab = lab_new(0);
	asup_outcome o;

	CHECK_EQ(asup_lab_run(lab, defer_root, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(asup_lab_violation_count(lab), 0);
	CHECK_EQ(asup_rt_root_region(asup_lab_rt(lab)), ASUP_ID_NONE); /* closed */
	asup_lab_destroy(lab);
}

TEST(violations_outside_the_kept_range_and_bad_arguments)
{
	asup_lab *lab = lab_new(0);
	asup_lab_violation v;

	CHECK_EQ(asup_lab_violation_count(lab), 0);
	CHECK_EQ(asup_lab_violation_get(lab, 0, &v), -ESRCH);
	CHECK_EQ(asup_lab_violation_get(lab, 0, NULL), -EINVAL);
	CHECK_EQ(asup_lab_violation_get(NULL, 0, &v), -EINVAL);
	CHECK_EQ(asup_lab_violations_print(lab, NULL), -EINVAL);
	asup_lab_destroy(lab);
}

static int64_t recover_root(asup_cx *cx, void *arg)
{
	asup_chan *ch;
	asup_task h;
	(void)arg;
	if (asup_chan_open(cx, 4, 1, &ch) < 0 || asup_spawn(cx, leak_permit, ch, NULL, &h) < 0)
		return -1;
	return asup_join(cx, &h, NULL);
}

TEST(a_leak_the_runtime_recovers_from_is_still_reported)
{
	asup_lab_config cfg;
	asup_lab *lab;
	asup_outcome o;

	asup_lab_config_init(&cfg);
	cfg.seed = 1;
	cfg.leak_response = ASUP_LEAK_RECOVER;
	CHECK_EQ(asup_lab_create(&cfg, &lab), 0);
	CHECK_EQ(asup_lab_run(lab, recover_root, NULL, &o), -ASUP_EORACLE);
	CHECK(first_is(lab, "obligation_leak"));
	asup_lab_destroy(lab);
}

static int64_t weakens_itself(asup_cx *cx, void *arg)
{
	(void)arg;
	/* The region's SHUTDOWN reaches it, then it replaces its own reason
	 * (documented to overwrite): not a weakening by the runtime. */
	while (!asup_cx_is_cancel_requested(cx))
		if (asup_yield(cx) < 0)
			break;
	(void)!asup_cx_cancel_self(cx, ASUP_CANCEL_USER, "mine"); /* the oracle judges */
	return asup_checkpoint(cx);
}

static int64_t self_cancel_body(asup_cx *cx, void *arg)
{
	asup_task h;
	(void)arg;
	if (asup_spawn(cx, weakens_itself, NULL, NULL, &h) < 0)
		return -1;
	(void)!asup_yield(cx); /* only lets the child start */
	(void)!asup_scope_cancel(cx, ASUP_CANCEL_SHUTDOWN, "stop"); /* the oracle judges */
	return asup_join(cx, &h, NULL);
}

static int64_t self_cancel_root(asup_cx *cx, void *arg)
{
	return asup_region(cx, self_cancel_body, arg, NULL);
}

TEST(cancel_self_replacing_a_stronger_reason_is_not_a_weakening)
{
	asup_lab *lab = lab_new(0);
	asup_outcome o;

	CHECK_EQ(asup_lab_run(lab, self_cancel_root, NULL, &o), 0);
	CHECK_EQ(asup_lab_violation_count(lab), 0);
	asup_lab_destroy(lab);
}

TEST(the_root_region_is_the_first_event)
{
	asup_lab *lab = lab_new(0);
	asup_event ev;

	CHECK_EQ(asup_lab_events(lab, &ev, 1), 1);
	CHECK_EQ(ev.type, ASUP_EV_REGION_CREATE);
	CHECK_EQ(ev.region, asup_rt_root_region(asup_lab_rt(lab)));
	CHECK_EQ(ev.a, ASUP_ID_NONE);
	asup_lab_destroy(lab);
}

static void noop_fin(void *arg)
{
	(void)arg;
}

static asup_notify go;

static int64_t reserve_wait_leave(asup_cx *cx, void *arg)
{
	asup_permit p;
	if (asup_chan_reserve(cx, arg, &p) < 0 || asup_notify_wait(cx, &go) < 0)
		return -1;
	return 0; /* returns holding p */
}

static int64_t leaving_body(asup_cx *cx, void *arg)
{
	asup_chan *ch;
	asup_task h;
	(void)arg;
	/* The leaker reserves while the region is open; the body then returns,
	 * and the leaker's end leaks its permit and, in the same step, lets
	 * the closing region start its finalizer task, which the stop on that
	 * violation leaves unrun. */
	asup_notify_init(&go);
	if (asup_defer(cx, noop_fin, NULL) < 0 || asup_chan_open(cx, 4, 1, &ch) < 0 ||
	    asup_spawn(cx, reserve_wait_leave, ch, NULL, &h) < 0 || asup_yield(cx) < 0)
		return -1;
	asup_notify_one(&go);
	return asup_task_release(&h);
}

static int64_t leaving_root(asup_cx *cx, void *arg)
{
	return asup_region(cx, leaving_body, arg, NULL);
}

TEST(a_lab_stopped_early_frees_everything_when_destroyed)
{
	/* Run under valgrind and ASan by the suite: a stop with a finalizer
	 * task queued and tasks parked must leak nothing. */
	asup_lab *lab = lab_new(0);
	asup_outcome o;

	CHECK_EQ(asup_lab_run(lab, leaving_root, NULL, &o), -ASUP_EORACLE);
	CHECK(first_is(lab, "obligation_leak"));
	CHECK_EQ(asup_lab_step(lab), -ASUP_EORACLE);
	CHECK_EQ(asup_lab_destroy(lab), 0);
}
