/*
 * SEMANTICS §11 scenarios 41-65: the runtime state and the region, task and
 * obligation records, driven through the kernel's internal API.
 *
 * Regions are made with asup__region_create under the runtime's root, tasks
 * with asup__task_spawn from outside any task, and the deterministic runtime
 * is stepped by hand. A closed region's record is freed at once, so a closed
 * region is only ever looked up by id; the guards that act on a record in
 * its terminal state (58, 60, 61, 64) are exercised on a record built in
 * the test.
 */
#include "testrt.h"

#include <signal.h>
#include <sys/wait.h>

#include "kernel/kernel.h"

#define TS1 ASUP_SEC(1) /* the spec's default reason timestamp */

/* ---- runtime and record helpers ---------------------------------------- */

static asup_rt *det_cfg(uint32_t chain, asup_leak_response leak, uint64_t after,
			asup_leak_response to)
{
	asup_rt_config cfg;
	asup_rt_config_init(&cfg);
	cfg.mode = ASUP_MODE_DETERMINISTIC;
	cfg.seed = 41;
	cfg.cancel_chain_depth = chain;
	cfg.leak_response = leak;
	cfg.leak_escalate_after = after;
	cfg.leak_escalate_to = to;
	cfg.auto_advance = 0; /* nothing here waits for time */
	return test_rt_cfg(&cfg);
}

static asup_rt *det(void)
{
	return det_cfg(16, ASUP_LEAK_SILENT, 0, ASUP_LEAK_SILENT);
}

static asup__kernel *K(asup_rt *rt)
{
	return asup__rt_kernel(rt);
}

/* A new region under parent (NULL: the runtime's root). */
static asup__region *region_under(asup_rt *rt, asup__region *parent)
{
	asup__region *r = NULL;
	CHECK_EQ(asup__region_create(K(rt), parent ? parent : K(rt)->root, asup_budget_infinite(),
				     &r),
		 0);
	CHECK(r != NULL);
	return r;
}

static int try_spawn(asup_rt *rt, asup__region *r, asup_task_fn fn, void *arg, int cleanup,
		     asup_task *h)
{
	asup__spawn_req req;
	memset(&req, 0, sizeof req);
	req.fn = fn;
	req.arg = arg;
	req.region = r;
	req.budget = r->budget;
	req.cleanup = (uint8_t)cleanup;
	return asup__task_spawn(K(rt), &req, h);
}

static asup_task spawn_into(asup_rt *rt, asup__region *r, asup_task_fn fn, void *arg)
{
	asup_task h;
	CHECK_EQ(try_spawn(rt, r, fn, arg, 0, &h), 0);
	return h;
}

static asup__ktask *rec_of(const asup_task *h)
{
	return (asup__ktask *)h->_rec;
}

static asup__reason *mkreason(asup_rt *rt, asup_cancel_kind kind, uint64_t origin)
{
	asup__reason *r = asup__reason_new(&K(rt)->alloc, kind, origin, ASUP_ID_NONE, TS1, NULL,
					   NULL, K(rt)->chain_depth);
	CHECK(r != NULL);
	return r;
}

/* cancel_request(region, kind): returns the number of tasks it reached. */
static int cancel_region(asup_rt *rt, asup__region *r, asup_cancel_kind kind)
{
	asup__reason *why = mkreason(rt, kind, r->id);
	int n = asup__region_cancel(K(rt), r, why);
	asup__reason_unref(&K(rt)->alloc, why);
	return n;
}

/* The body finished: begin_close without a reason, then advance. */
static void close_region(asup_rt *rt, asup__region *r)
{
	asup__region_begin_close(K(rt), r, NULL);
	asup__region_advance(K(rt), r);
}

static int times_listed(const asup__region *r, const asup__ktask *kt)
{
	int n = 0;
	for (const asup__list *l = r->tasks.next; l != &r->tasks; l = l->next)
		n += asup__container_of(l, asup__ktask, region_link) == kt;
	return n;
}

static int child_listed(const asup__region *parent, const asup__region *c)
{
	int n = 0;
	for (const asup__list *l = parent->children.next; l != &parent->children; l = l->next)
		n += asup__container_of(l, asup__region, sibling) == c;
	return n;
}

static const asup__reason *root_cause(const asup__reason *r)
{
	while (r && r->cause)
		r = r->cause;
	return r;
}

static void idle(asup_rt *rt)
{
	CHECK(asup_rt_run_until_idle(rt) >= 0);
	CHECK_EQ(asup__rt_check(rt), 0);
}

static asup_outcome joined(asup_task *h)
{
	asup_outcome o;
	memset(&o, 0, sizeof o);
	CHECK_EQ(asup_task_try_join(h, &o), 0);
	return o;
}

/* ---- task bodies -------------------------------------------------------- */

static int64_t ret_arg(asup_cx *cx, void *arg)
{
	return (int64_t)(intptr_t)arg;
}

/* Yields until its checkpoint reports the cancellation (bounded). */
static int64_t yields_until_cancelled(asup_cx *cx, void *arg)
{
	for (int i = 0; i < 64; i++) {
		int rc = asup_yield(cx);
		if (rc < 0)
			return rc;
	}
	return 64;
}

/* A log of finalizer runs, one character each. */
static char fin_log[16];
static int fin_len;

static void log_ch(char c)
{
	if (fin_len < (int)sizeof fin_log - 1) {
		fin_log[fin_len++] = c;
		fin_log[fin_len] = '\0';
	}
}

static void reset_log(void)
{
	fin_len = 0;
	fin_log[0] = '\0';
}

static void sync_fin(void *arg)
{
	log_ch(*(const char *)arg);
}

/* Async finalizer: logs 'A', yields once, logs 'a'. */
static int64_t async_fin_yields(asup_cx *cx, void *arg)
{
	log_ch('A');
	CHECK_EQ(asup_yield(cx), 0); /* masked: no cancellation reaches it */
	log_ch('a');
	return 0;
}

/* A gate an async finalizer parks on until the test opens it. */
struct gate {
	volatile int open;
	asup_waker w;
};

static void open_gate(struct gate *g)
{
	g->open = 1;
	asup_unpark(g->w);
}

/* Async finalizer: logs 'W', parks until its gate opens, logs 'w'. */
static int64_t async_fin_waits(asup_cx *cx, void *arg)
{
	struct gate *g = arg;
	log_ch('W');
	g->w = asup_waker_current(cx);
	while (!g->open)
		CHECK_EQ(asup_park(cx), 0); /* masked: never a cancellation */
	log_ch('w');
	return 0;
}

/* ---- 41-44: cancel_request ---------------------------------------------- */

TEST(sem_41_cancel_request_builds_cause_chains)
{
	asup_rt *rt = det();
	asup__region *root = region_under(rt, NULL), *child = region_under(rt, root),
		     *grand = region_under(rt, child);
	uint64_t ids[3] = {root->id, child->id, grand->id};
	asup_task t[3] = {spawn_into(rt, root, yields_until_cancelled, NULL),
			  spawn_into(rt, child, yields_until_cancelled, NULL),
			  spawn_into(rt, grand, yields_until_cancelled, NULL)};
	asup_outcome o;

	CHECK_EQ(cancel_region(rt, root, ASUP_CANCEL_DEADLINE), 3);

	CHECK(root->reason != NULL);
	CHECK_EQ(root->reason->kind, ASUP_CANCEL_DEADLINE);
	CHECK_EQ(root->reason->depth, 1);
	CHECK(root->reason->cause == NULL);

	CHECK(child->reason != NULL);
	CHECK_EQ(child->reason->kind, ASUP_CANCEL_PARENT_CANCELLED);
	CHECK_EQ(child->reason->depth, 2);
	CHECK_EQ(child->reason->origin_region, root->id);
	CHECK_EQ(child->reason->timestamp, TS1);
	CHECK_EQ(root_cause(child->reason)->kind, ASUP_CANCEL_DEADLINE);

	CHECK(grand->reason != NULL);
	CHECK_EQ(grand->reason->kind, ASUP_CANCEL_PARENT_CANCELLED);
	CHECK_EQ(grand->reason->depth, 3);
	CHECK_EQ(grand->reason->origin_region, child->id);
	CHECK_EQ(grand->reason->timestamp, TS1);
	CHECK_EQ(grand->reason->cause->kind, ASUP_CANCEL_PARENT_CANCELLED);
	CHECK_EQ(root_cause(grand->reason)->kind, ASUP_CANCEL_DEADLINE);
	CHECK(!asup__reason_any_truncated(grand->reason));

	/* each task got its own region's reason */
	for (int i = 0; i < 3; i++) {
		asup__region *r = i == 0 ? root : i == 1 ? child : grand;
		CHECK_EQ(rec_of(&t[i])->pstate, ASUP__P_CANCEL_REQUESTED);
		CHECK(rec_of(&t[i])->rec_reason != NULL);
		CHECK_EQ(rec_of(&t[i])->rec_reason->kind, r->reason->kind);
		CHECK_EQ(rec_of(&t[i])->rec_reason->depth, r->reason->depth);
		CHECK(rec_of(&t[i])->cancel_requested);
		/* queued at the cleanup priority of its region's reason */
		CHECK_EQ(rec_of(&t[i])->t.cancel_priority,
			 asup_cancel_kind_cleanup_budget(r->reason->kind).priority);
	}

	idle(rt);
	o = joined(&t[2]);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(o.reason.kind, ASUP_CANCEL_PARENT_CANCELLED);
	CHECK_EQ(o.reason.chain_depth, 3);
	CHECK_EQ(o.reason.root_kind, ASUP_CANCEL_DEADLINE);
	o = joined(&t[0]);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(o.reason.kind, ASUP_CANCEL_DEADLINE);
	CHECK_EQ(o.reason.chain_depth, 1);
	for (int i = 0; i < 3; i++)
		CHECK(asup__region_lookup(K(rt), ids[i]) == NULL);
	test_rt_done(rt);
}

TEST(sem_42_cancel_request_strengthens_existing_reason)
{
	asup_rt *rt = det();
	asup__region *r = region_under(rt, NULL);
	asup_task t = spawn_into(rt, r, yields_until_cancelled, NULL);
	asup__ktask *kt = rec_of(&t);
	asup_outcome o;

	CHECK_EQ(cancel_region(rt, r, ASUP_CANCEL_USER), 1);
	CHECK_EQ(r->reason->kind, ASUP_CANCEL_USER);
	CHECK_EQ(kt->pstate, ASUP__P_CANCEL_REQUESTED);
	CHECK_EQ(kt->rec_reason->kind, ASUP_CANCEL_USER);
	CHECK_EQ(kt->cancel_epoch, 1);

	/* an already cancelling task is still reached, and strengthened */
	CHECK_EQ(cancel_region(rt, r, ASUP_CANCEL_SHUTDOWN), 1);
	CHECK_EQ(r->state, ASUP__R_CLOSING);
	CHECK_EQ(r->reason->kind, ASUP_CANCEL_SHUTDOWN);
	CHECK_EQ(kt->pstate, ASUP__P_CANCEL_REQUESTED);
	CHECK_EQ(kt->rec_reason->kind, ASUP_CANCEL_SHUTDOWN);
	CHECK_EQ(kt->cx_reason->kind, ASUP_CANCEL_SHUTDOWN);
	CHECK_EQ(kt->cancel_epoch, 1);
	CHECK_EQ(kt->t.cancel_priority, asup_cancel_kind_cleanup_budget(ASUP_CANCEL_SHUTDOWN).priority);

	/* a weaker one afterwards changes nothing */
	CHECK_EQ(cancel_region(rt, r, ASUP_CANCEL_TIMEOUT), 1);
	CHECK_EQ(r->reason->kind, ASUP_CANCEL_SHUTDOWN);
	CHECK_EQ(kt->rec_reason->kind, ASUP_CANCEL_SHUTDOWN);

	idle(rt);
	o = joined(&t);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(o.reason.kind, ASUP_CANCEL_SHUTDOWN);
	test_rt_done(rt);
}

TEST(sem_43_cancel_request_respects_chain_depth_limit)
{
	asup_rt *rt = det_cfg(2, ASUP_LEAK_SILENT, 0, ASUP_LEAK_SILENT);
	asup__region *reg[5];
	asup_task leaf;
	asup__ktask *kt;
	asup_outcome o;

	CHECK_EQ(K(rt)->chain_depth, 2);
	reg[0] = region_under(rt, NULL);
	for (int i = 1; i < 5; i++)
		reg[i] = region_under(rt, reg[i - 1]);
	leaf = spawn_into(rt, reg[4], yields_until_cancelled, NULL);
	kt = rec_of(&leaf);

	CHECK_EQ(cancel_region(rt, reg[0], ASUP_CANCEL_TIMEOUT), 1);

	/* the first level fits the limit exactly: not truncated */
	CHECK_EQ(reg[1]->reason->depth, 2);
	CHECK(!asup__reason_any_truncated(reg[1]->reason));
	CHECK_EQ(root_cause(reg[1]->reason)->kind, ASUP_CANCEL_TIMEOUT);
	/* deeper levels are cut and flagged */
	for (int i = 2; i < 5; i++) {
		CHECK(reg[i]->reason->depth <= 2);
		CHECK(asup__reason_any_truncated(reg[i]->reason));
	}
	CHECK(kt->rec_reason->depth <= 2);
	CHECK(asup__reason_any_truncated(kt->rec_reason));
	CHECK(kt->cx_reason->depth <= 2);
	CHECK(asup__reason_any_truncated(kt->cx_reason));

	idle(rt);
	o = joined(&leaf);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK(o.reason.chain_depth <= 2);
	CHECK_EQ(o.reason.truncated, 1);
	test_rt_done(rt);
}

TEST(sem_44_cancel_request_should_prevent_new_spawns)
{
	asup_rt *rt = det();
	asup__region *r = region_under(rt, NULL), *empty = region_under(rt, NULL);
	uint64_t rid = r->id, eid = empty->id;
	asup_task t = spawn_into(rt, r, yields_until_cancelled, NULL), late;
	uint32_t live_before;

	CHECK_EQ(cancel_region(rt, r, ASUP_CANCEL_USER), 1);
	CHECK(r->state != ASUP__R_OPEN);
	live_before = K(rt)->tasks.live;
	CHECK_EQ(try_spawn(rt, r, ret_arg, NULL, 0, &late), -ASUP_ECLOSED);
	CHECK_EQ(r->ntasks, 1);
	CHECK_EQ(times_listed(r, rec_of(&t)), 1);
	CHECK_EQ(K(rt)->tasks.live, live_before);

	/* a cancelled region with nothing in it closes at once */
	CHECK_EQ(cancel_region(rt, empty, ASUP_CANCEL_USER), 0);
	CHECK(asup__region_lookup(K(rt), eid) == NULL);

	idle(rt);
	CHECK_EQ(joined(&t).kind, ASUP_OUTCOME_CANCELLED);
	CHECK(asup__region_lookup(K(rt), rid) == NULL);
	test_rt_done(rt);
}

/* ---- 45-46: policies ----------------------------------------------------- */

/* apply_policy_on_child_outcome: on CancelSiblings, every other live task of
 * the region is cancel-requested with FailFast and its cleanup budget.
 * Returns the number of tasks reached. */
static int apply_policy(asup_rt *rt, asup__region *r, asup__ktask *child, asup_policy p,
			const asup_outcome *o, asup_policy_action *act)
{
	asup__reason *why;
	int n = 0;

	*act = asup_policy_on_child(p, o);
	if (*act != ASUP_POLICY_CANCEL_SIBLINGS)
		return 0;
	why = asup__reason_new(&K(rt)->alloc, ASUP_CANCEL_FAIL_FAST, r->id, child->id, TS1, NULL,
			       NULL, K(rt)->chain_depth);
	CHECK(why != NULL);
	for (asup__list *l = r->tasks.next; l != &r->tasks; l = l->next) {
		asup__ktask *kt = asup__container_of(l, asup__ktask, region_link);
		if (kt == child || kt->pstate == ASUP__P_COMPLETED)
			continue;
		asup__task_request_cancel(K(rt), kt, why,
					  asup_cancel_kind_cleanup_budget(ASUP_CANCEL_FAIL_FAST));
		n++;
	}
	asup__reason_unref(&K(rt)->alloc, why);
	return n;
}

static asup_outcome outcome_of(asup_outcome_kind kind, int64_t v, asup_cancel_kind ck)
{
	asup_outcome o;
	memset(&o, 0, sizeof o);
	o.kind = kind;
	o.value = v;
	o.reason.kind = ck;
	return o;
}

TEST(sem_45_policy_can_cancel_siblings)
{
	asup_rt *rt = det();
	asup__region *r = region_under(rt, NULL);
	asup_task child = spawn_into(rt, r, ret_arg, (void *)(intptr_t)7);
	asup_task sib[2] = {spawn_into(rt, r, yields_until_cancelled, NULL),
			    spawn_into(rt, r, yields_until_cancelled, NULL)};
	asup_outcome err = outcome_of(ASUP_OUTCOME_ERR, -EIO, ASUP_CANCEL_USER);
	asup_outcome pan = outcome_of(ASUP_OUTCOME_PANICKED, 0, ASUP_CANCEL_USER);
	asup_policy_action act;

	CHECK_EQ(asup_policy_on_child(ASUP_POLICY_FAIL_FAST, &pan), ASUP_POLICY_CANCEL_SIBLINGS);
	CHECK_EQ(apply_policy(rt, r, rec_of(&child), ASUP_POLICY_FAIL_FAST, &err, &act), 2);
	CHECK_EQ(act, ASUP_POLICY_CANCEL_SIBLINGS);
	for (int i = 0; i < 2; i++) {
		asup__ktask *kt = rec_of(&sib[i]);
		CHECK_EQ(kt->pstate, ASUP__P_CANCEL_REQUESTED);
		CHECK_EQ(kt->rec_reason->kind, ASUP_CANCEL_FAIL_FAST);
		CHECK(kt->cancel_requested);
		/* queued at FailFast's cleanup priority */
		CHECK_EQ(kt->t.cancel_priority,
			 asup_cancel_kind_cleanup_budget(ASUP_CANCEL_FAIL_FAST).priority);
	}
	CHECK_EQ(rec_of(&child)->pstate, ASUP__P_CREATED);
	CHECK(!rec_of(&child)->cancel_requested);
	CHECK(rec_of(&child)->rec_reason == NULL);
	CHECK_EQ(r->state, ASUP__R_OPEN); /* only tasks are cancelled */

	idle(rt);
	CHECK_EQ(joined(&child).value, 7);
	for (int i = 0; i < 2; i++) {
		asup_outcome o = joined(&sib[i]);
		CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
		CHECK_EQ(o.reason.kind, ASUP_CANCEL_FAIL_FAST);
	}
	close_region(rt, r);
	test_rt_done(rt);
}

TEST(sem_46_policy_does_not_cancel_siblings_on_cancelled_child)
{
	asup_rt *rt = det();
	asup__region *r = region_under(rt, NULL);
	asup_task child = spawn_into(rt, r, ret_arg, NULL);
	asup_task sib[2] = {spawn_into(rt, r, ret_arg, (void *)(intptr_t)1),
			    spawn_into(rt, r, ret_arg, (void *)(intptr_t)2)};
	asup_outcome cancelled = outcome_of(ASUP_OUTCOME_CANCELLED, 0, ASUP_CANCEL_TIMEOUT);
	asup_outcome ok = outcome_of(ASUP_OUTCOME_OK, 3, ASUP_CANCEL_USER);
	asup_outcome err = outcome_of(ASUP_OUTCOME_ERR, -EIO, ASUP_CANCEL_USER);
	asup_policy_action act;

	CHECK_EQ(apply_policy(rt, r, rec_of(&child), ASUP_POLICY_FAIL_FAST, &cancelled, &act), 0);
	CHECK_EQ(act, ASUP_POLICY_CONTINUE);
	CHECK_EQ(apply_policy(rt, r, rec_of(&child), ASUP_POLICY_FAIL_FAST, &ok, &act), 0);
	CHECK_EQ(act, ASUP_POLICY_CONTINUE);
	CHECK_EQ(apply_policy(rt, r, rec_of(&child), ASUP_POLICY_COLLECT_ALL, &err, &act), 0);
	CHECK_EQ(act, ASUP_POLICY_CONTINUE);
	for (int i = 0; i < 2; i++) {
		CHECK_EQ(rec_of(&sib[i])->pstate, ASUP__P_CREATED);
		CHECK(!rec_of(&sib[i])->cancel_requested);
	}

	idle(rt);
	CHECK_EQ(joined(&sib[0]).value, 1);
	CHECK_EQ(joined(&sib[1]).value, 2);
	close_region(rt, r);
	test_rt_done(rt);
}

/* ---- 47-50: finalizers ----------------------------------------------------- */

struct defer_probe {
	int sync_rc, async_rc;
};

static int64_t tries_to_defer(asup_cx *cx, void *arg)
{
	struct defer_probe *p = arg;
	p->sync_rc = asup_defer(cx, sync_fin, "x");
	p->async_rc = asup_defer_async(cx, async_fin_yields, NULL);
	return 0;
}

TEST(sem_47_register_finalizer_fails_when_region_not_open)
{
	asup_rt *rt = det();
	asup__region *r = region_under(rt, NULL);
	uint64_t rid = r->id;
	asup__finalizer fs = {sync_fin, NULL, "s"}, fa = {NULL, async_fin_yields, NULL};
	struct defer_probe probe = {1, 1};
	asup_task t = spawn_into(rt, r, tries_to_defer, &probe);

	reset_log();
	CHECK_EQ(asup__region_begin_close(K(rt), r, NULL), 1);
	CHECK_EQ(asup__region_add_finalizer(K(rt), r, &fs), -ASUP_ECLOSED);
	CHECK_EQ(asup__region_add_finalizer(K(rt), r, &fa), -ASUP_ECLOSED);
	CHECK_EQ(r->nfin, 0);

	/* the same through the public API, from a task of the closing region */
	idle(rt);
	CHECK_EQ(probe.sync_rc, -ASUP_ECLOSED);
	CHECK_EQ(probe.async_rc, -ASUP_ECLOSED);
	CHECK_EQ(joined(&t).kind, ASUP_OUTCOME_OK);
	CHECK_STR_EQ(fin_log, ""); /* nothing was registered, nothing ran */
	CHECK(asup__region_lookup(K(rt), rid) == NULL);
	test_rt_done(rt);
}

TEST(sem_48_pop_region_finalizer_lifo)
{
	asup_rt *rt = det();
	asup__region *r = region_under(rt, NULL);
	uint64_t rid = r->id;
	asup__finalizer f1 = {sync_fin, NULL, "1"}, f2 = {sync_fin, NULL, "2"},
			f3 = {sync_fin, NULL, "3"};

	reset_log();
	CHECK_EQ(asup__region_add_finalizer(K(rt), r, &f1), 0);
	CHECK_EQ(asup__region_add_finalizer(K(rt), r, &f2), 0);
	CHECK_EQ(asup__region_add_finalizer(K(rt), r, &f3), 0);
	CHECK_EQ(r->nfin, 3);
	close_region(rt, r);
	CHECK_STR_EQ(fin_log, ""); /* no user code runs inside advance */
	/* one finalizer at a time, last registered first */
	CHECK_EQ(asup_rt_step(rt), 1);
	CHECK_STR_EQ(fin_log, "3");
	CHECK_EQ(asup_rt_step(rt), 1);
	CHECK_STR_EQ(fin_log, "32");
	CHECK_EQ(asup_rt_step(rt), 1);
	CHECK_STR_EQ(fin_log, "321");
	CHECK_EQ(asup_rt_step(rt), 0);
	CHECK(asup__region_lookup(K(rt), rid) == NULL);
	test_rt_done(rt);
}

TEST(sem_49_drain_ready_async_finalizers_blocks_lower_finalizers)
{
	asup_rt *rt = det();
	asup__region *r = region_under(rt, NULL);
	uint64_t rid = r->id;
	asup__finalizer fs = {sync_fin, NULL, "S"}, fa = {NULL, async_fin_yields, NULL};

	reset_log();
	CHECK_EQ(asup__region_add_finalizer(K(rt), r, &fs), 0); /* below */
	CHECK_EQ(asup__region_add_finalizer(K(rt), r, &fa), 0); /* on top */
	close_region(rt, r);
	/* first drain: only the async one is scheduled, as a cleanup task */
	CHECK_EQ(r->state, ASUP__R_FINALIZING);
	CHECK_EQ(r->ntasks, 1);
	CHECK_EQ(r->nfin, 1);
	CHECK(r->fin_running);
	/* second drain: nothing new */
	asup__region_advance(K(rt), r);
	CHECK_EQ(r->ntasks, 1);
	CHECK_EQ(r->nfin, 1);

	CHECK_EQ(asup_rt_step(rt), 1); /* the async finalizer suspends */
	CHECK_STR_EQ(fin_log, "A");
	asup__region_advance(K(rt), r);
	CHECK_EQ(r->nfin, 1); /* the barrier holds the sync one back */
	CHECK_EQ(r->ntasks, 1);

	CHECK_EQ(asup_rt_step(rt), 1); /* the async finalizer completes */
	CHECK_STR_EQ(fin_log, "Aa");
	CHECK_EQ(asup_rt_step(rt), 1); /* now the sync one */
	CHECK_STR_EQ(fin_log, "AaS");
	CHECK(asup__region_lookup(K(rt), rid) == NULL);
	CHECK_EQ(asup_rt_step(rt), 0);
	test_rt_done(rt);
}

TEST(sem_50_drain_ready_async_finalizers_runs_async_cleanup_with_no_task_room)
{
	asup_rt *rt = det();
	asup__region *r = region_under(rt, NULL);
	uint64_t rid = r->id;
	asup__finalizer fa = {NULL, async_fin_yields, NULL};
	asup_task h;

	reset_log();
	r->limits.max_tasks = 0;
	CHECK_EQ(try_spawn(rt, r, ret_arg, NULL, 0, &h), -ASUP_ECAPACITY);
	CHECK_EQ(asup__region_add_finalizer(K(rt), r, &fa), 0);
	close_region(rt, r);
	CHECK_EQ(r->state, ASUP__R_FINALIZING);
	CHECK_EQ(r->ntasks, 1); /* the cleanup task, beyond max_tasks */
	CHECK(r->fin_running);
	CHECK_EQ(r->nfin, 0);
	idle(rt);
	CHECK_STR_EQ(fin_log, "Aa");
	CHECK(asup__region_lookup(K(rt), rid) == NULL);
	test_rt_done(rt);
}

/* ---- 51-57: obligations ------------------------------------------------- */

TEST(sem_51_obligations_auto_aborted_on_cancelled_task_completion)
{
	asup_rt *rt = det();
	asup__kernel *k = K(rt);
	asup__region *r = region_under(rt, NULL);
	uint64_t rid = r->id, ids[3];
	asup_task t = spawn_into(rt, r, yields_until_cancelled, NULL);
	asup__ktask *kt = rec_of(&t);

	CHECK_EQ(asup__obligation_create(k, kt, r, ASUP_OBLIGATION_SEND_PERMIT, "send", &ids[0]), 0);
	CHECK_EQ(asup__obligation_create(k, kt, r, ASUP_OBLIGATION_ACK, "ack", &ids[1]), 0);
	CHECK_EQ(asup__obligation_create(k, kt, r, ASUP_OBLIGATION_IO_OP, "io", &ids[2]), 0);
	CHECK_EQ(r->pending_obligations, 3);
	CHECK_EQ(kt->nobl, 3);
	CHECK_EQ(asup_rt_step(rt), 1); /* it runs and suspends, holding them */
	CHECK_EQ(r->pending_obligations, 3);

	CHECK_EQ(cancel_region(rt, r, ASUP_CANCEL_USER), 1);
	idle(rt);
	CHECK_EQ(joined(&t).kind, ASUP_OUTCOME_CANCELLED);
	/* all three aborted (not leaked); the region was not blocked */
	CHECK_EQ(k->obl_aborted, 3);
	CHECK_EQ(k->obl_leaked, 0);
	CHECK_EQ(k->obl_committed, 0);
	CHECK_EQ(k->leaks, 0);
	CHECK_EQ(k->obligations.live, 0);
	for (int i = 0; i < 3; i++) /* resolved exactly once */
		CHECK_EQ(asup__obligation_resolve(k, ids[i], ASUP_OBLIGATION_COMMITTED), -ESRCH);
	CHECK(asup__region_lookup(k, rid) == NULL);
	test_rt_done(rt);
}

TEST(sem_52_region_close_blocked_by_pending_obligations)
{
	asup_rt *rt = det();
	asup__kernel *k = K(rt);
	asup__region *r = region_under(rt, NULL);
	uint64_t rid = r->id, lease;
	struct gate g = {0};
	asup__finalizer fa = {NULL, async_fin_waits, &g};
	asup__ktask *holder;

	reset_log();
	CHECK_EQ(asup__region_add_finalizer(k, r, &fa), 0);
	close_region(rt, r);
	CHECK_EQ(r->state, ASUP__R_FINALIZING);
	/* the finalizer's cleanup task holds a Lease in the Finalizing region */
	holder = asup__task_lookup(k, r->fin_task);
	CHECK(holder != NULL);
	CHECK_EQ(asup__obligation_create(k, holder, r, ASUP_OBLIGATION_LEASE, "lease", &lease), 0);
	CHECK_EQ(r->pending_obligations, 1);

	CHECK_EQ(asup_rt_step(rt), 1); /* the finalizer runs and suspends */
	CHECK_STR_EQ(fin_log, "W");
	asup__region_advance(k, r);
	CHECK(asup__region_lookup(k, rid) == r); /* cannot complete its close */
	CHECK_EQ(r->state, ASUP__R_FINALIZING);

	CHECK_EQ(asup__obligation_resolve(k, lease, ASUP_OBLIGATION_COMMITTED), 0);
	CHECK_EQ(r->pending_obligations, 0);
	CHECK_EQ(k->obl_committed, 1);
	CHECK(asup__region_lookup(k, rid) == r); /* its task is still linked */

	open_gate(&g);
	idle(rt); /* the task ends and unlinks: now it closes */
	CHECK_STR_EQ(fin_log, "Ww");
	CHECK(asup__region_lookup(k, rid) == NULL);
	CHECK_EQ(k->leaks, 0);
	test_rt_done(rt);
}

TEST(sem_53_spawn_rejected_when_task_limit_reached)
{
	asup_rt *rt = det();
	asup__region *r = region_under(rt, NULL);
	asup_task first, second;
	asup_rt_stats st;

	r->limits.max_tasks = 1;
	CHECK_EQ(try_spawn(rt, r, ret_arg, (void *)(intptr_t)1, 0, &first), 0);
	CHECK_EQ(try_spawn(rt, r, ret_arg, (void *)(intptr_t)2, 0, &second), -ASUP_ECAPACITY);
	CHECK_EQ(r->ntasks, 1);
	CHECK_EQ(times_listed(r, rec_of(&first)), 1);
	CHECK_EQ(K(rt)->tasks.live, 1);
	CHECK_EQ(asup_rt_stats_get(rt, &st), 0);
	CHECK_EQ(st.tasks_live, 1);
	CHECK_EQ(st.tasks_spawned, 1);

	idle(rt);
	CHECK_EQ(joined(&first).value, 1);
	/* the slot is free again once the first task is gone */
	CHECK_EQ(try_spawn(rt, r, ret_arg, (void *)(intptr_t)3, 0, &second), 0);
	idle(rt);
	CHECK_EQ(joined(&second).value, 3);
	close_region(rt, r);
	test_rt_done(rt);
}

TEST(sem_54_obligation_rejected_when_limit_reached)
{
	asup_rt *rt = det();
	asup__kernel *k = K(rt);
	asup__region *r = region_under(rt, NULL);
	asup_task t = spawn_into(rt, r, ret_arg, NULL);
	uint64_t id = 0, id2 = 0;

	r->limits.max_obligations = 0;
	CHECK_EQ(asup__obligation_create(k, rec_of(&t), r, ASUP_OBLIGATION_SEND_PERMIT, "p", &id),
		 -ASUP_ECAPACITY);
	CHECK_EQ(r->pending_obligations, 0);
	CHECK_EQ(rec_of(&t)->nobl, 0);
	CHECK_EQ(k->obligations.live, 0);

	r->limits.max_obligations = 1;
	CHECK_EQ(asup__obligation_create(k, rec_of(&t), r, ASUP_OBLIGATION_SEND_PERMIT, "p", &id), 0);
	CHECK_EQ(asup__obligation_create(k, rec_of(&t), r, ASUP_OBLIGATION_ACK, "q", &id2),
		 -ASUP_ECAPACITY);
	CHECK_EQ(r->pending_obligations, 1);
	CHECK_EQ(asup__obligation_resolve(k, id, ASUP_OBLIGATION_COMMITTED), 0);
	CHECK_EQ(r->pending_obligations, 0);

	idle(rt);
	CHECK_EQ(k->leaks, 0);
	close_region(rt, r);
	test_rt_done(rt);
}

TEST(sem_55_create_obligation_rejects_holder_owned_by_different_region)
{
	asup_rt *rt = det();
	asup__kernel *k = K(rt);
	asup__region *a = region_under(rt, NULL), *b = region_under(rt, NULL);
	asup_task ta = spawn_into(rt, a, ret_arg, NULL);
	uint64_t id = 0;

	CHECK_EQ(asup__obligation_create(k, rec_of(&ta), b, ASUP_OBLIGATION_LEASE, "x", &id), -EPERM);
	CHECK_EQ(b->pending_obligations, 0);
	CHECK_EQ(a->pending_obligations, 0);
	CHECK_EQ(rec_of(&ta)->nobl, 0);
	CHECK_EQ(k->obligations.live, 0);
	/* the same holder in its own region is accepted */
	CHECK_EQ(asup__obligation_create(k, rec_of(&ta), a, ASUP_OBLIGATION_LEASE, "x", &id), 0);
	CHECK_EQ(asup__obligation_resolve(k, id, ASUP_OBLIGATION_ABORTED), 0);

	idle(rt);
	close_region(rt, a);
	close_region(rt, b);
	test_rt_done(rt);
}

/* One task completes Ok while holding one obligation of region r. */
static void leak_one(asup_rt *rt, asup__region *r)
{
	uint64_t id;
	asup_task t = spawn_into(rt, r, ret_arg, (void *)(intptr_t)9);
	CHECK_EQ(asup__obligation_create(K(rt), rec_of(&t), r, ASUP_OBLIGATION_ACK, "leaky", &id),
		 0);
	idle(rt);
	CHECK_EQ(joined(&t).value, 9);
}

struct leak_counts {
	uint64_t leaks, leaked, aborted;
};

static struct leak_counts leak_with(asup_leak_response resp)
{
	asup_rt *rt = det_cfg(16, resp, 0, resp);
	asup__region *r = region_under(rt, NULL);
	struct leak_counts c;
	leak_one(rt, r);
	c.leaks = K(rt)->leaks;
	c.leaked = K(rt)->obl_leaked;
	c.aborted = K(rt)->obl_aborted;
	CHECK_EQ(r->pending_obligations, 0); /* the region is not held */
	CHECK_EQ(K(rt)->obligations.live, 0);
	close_region(rt, r);
	test_rt_done(rt);
	return c;
}

TEST(sem_56_leak_response_and_escalation)
{
	struct leak_counts c;
	int fds[2], st = 0;
	char buf[4] = {0};
	pid_t pid;

	c = leak_with(ASUP_LEAK_SILENT);
	CHECK_EQ(c.leaks, 1);
	CHECK_EQ(c.leaked, 1);
	CHECK_EQ(c.aborted, 0);
	c = leak_with(ASUP_LEAK_LOG);
	CHECK_EQ(c.leaks, 1);
	CHECK_EQ(c.leaked, 1);
	CHECK_EQ(c.aborted, 0);
	c = leak_with(ASUP_LEAK_RECOVER); /* aborted (reason Error), not leaked */
	CHECK_EQ(c.leaks, 1);
	CHECK_EQ(c.leaked, 0);
	CHECK_EQ(c.aborted, 1);

	/* Panic: the process aborts at the leak. */
	fflush(NULL);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		asup_rt *rt = det_cfg(16, ASUP_LEAK_PANIC, 0, ASUP_LEAK_PANIC);
		leak_one(rt, region_under(rt, NULL));
		_exit(10); /* not reached when the leak panics */
	}
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFSIGNALED(st));
	CHECK_EQ(WTERMSIG(st), SIGABRT);

	/* Escalation Log -> Panic once the cumulative count reaches 2. */
	CHECK_EQ(pipe(fds), 0);
	fflush(NULL);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		asup_rt *rt = det_cfg(16, ASUP_LEAK_LOG, 2, ASUP_LEAK_PANIC);
		asup__region *r = region_under(rt, NULL);
		close(fds[0]);
		leak_one(rt, r); /* the first is only logged */
		if (K(rt)->obl_leaked != 1 || K(rt)->leaks != 1)
			_exit(11);
		if (write(fds[1], "L", 1) != 1)
			_exit(12);
		leak_one(rt, r); /* the second panics */
		_exit(13);
	}
	close(fds[1]);
	CHECK_EQ(read(fds[0], buf, sizeof buf), 1);
	CHECK_EQ(buf[0], 'L');
	close(fds[0]);
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFSIGNALED(st));
	CHECK_EQ(WTERMSIG(st), SIGABRT);
}

TEST(sem_57_task_completed_ok_with_leaked_obligations_closes_region)
{
	asup_rt *rt = det_cfg(16, ASUP_LEAK_LOG, 0, ASUP_LEAK_LOG);
	asup__kernel *k = K(rt);
	asup__region *r = region_under(rt, NULL);
	uint64_t rid = r->id, id;
	asup_task t = spawn_into(rt, r, ret_arg, (void *)(intptr_t)5);
	asup_outcome o;

	CHECK_EQ(asup__obligation_create(k, rec_of(&t), r, ASUP_OBLIGATION_SEND_PERMIT, "unsent",
					 &id),
		 0);
	close_region(rt, r); /* the body is done; the task still holds it open */
	CHECK(asup__region_lookup(k, rid) == r);
	idle(rt);
	o = joined(&t);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(o.value, 5);
	CHECK_EQ(k->leaks, 1);
	CHECK_EQ(k->obl_leaked, 1);
	CHECK_EQ(k->obligations.live, 0);
	CHECK(asup__region_lookup(k, rid) == NULL);
	test_rt_done(rt);
}

/* ---- 58-64: region records --------------------------------------------- */

/* A region record in its terminal state, as the runtime never keeps one. */
static void closed_record(asup__region *r, asup__reason *terminal)
{
	memset(r, 0, sizeof *r);
	r->state = ASUP__R_CLOSED;
	r->in_use = 1;
	r->reason = terminal;
	r->limits = asup_region_limits_unlimited();
	asup__list_init(&r->children);
	asup__list_init(&r->sibling);
	asup__list_init(&r->tasks);
	asup__list_init(&r->close_waiters);
}

TEST(sem_58_mr_cancel_request_after_close_preserves_terminal_reason)
{
	asup_rt *rt = det();
	asup__kernel *k = K(rt);
	asup__region *p = region_under(rt, NULL), *r = region_under(rt, p), fake;
	uint64_t pid = p->id, rid = r->id;
	asup_task t = spawn_into(rt, r, yields_until_cancelled, NULL);
	asup__reason *terminal, *later;
	asup_outcome o;

	CHECK_EQ(cancel_region(rt, r, ASUP_CANCEL_DEADLINE), 1);
	idle(rt);
	CHECK(asup__region_lookup(k, rid) == NULL);
	CHECK_EQ(p->nchildren, 0);
	/* a later, stronger request on the parent does not revive it */
	CHECK_EQ(cancel_region(rt, p, ASUP_CANCEL_SHUTDOWN), 0);
	CHECK(asup__region_lookup(k, pid) == NULL);
	CHECK(asup__region_lookup(k, rid) == NULL);
	o = joined(&t); /* read only now: its terminal reason is kept */
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(o.reason.kind, ASUP_CANCEL_DEADLINE);

	/* the guard itself, on a record in the Closed state */
	terminal = mkreason(rt, ASUP_CANCEL_DEADLINE, 1);
	later = mkreason(rt, ASUP_CANCEL_SHUTDOWN, 2);
	closed_record(&fake, terminal);
	CHECK_EQ(asup__region_cancel(k, &fake, later), 0);
	CHECK(fake.reason == terminal);
	CHECK_EQ(fake.reason->kind, ASUP_CANCEL_DEADLINE);
	CHECK_EQ(fake.state, ASUP__R_CLOSED);
	CHECK_EQ(terminal->refs, 1); /* not taken, not dropped */
	asup__reason_unref(&k->alloc, terminal);
	asup__reason_unref(&k->alloc, later);
	test_rt_done(rt);
}

TEST(sem_59_empty_state_is_quiescent)
{
	asup_rt *rt = det();
	asup__kernel *k = K(rt);
	asup_rt_stats st;
	asup_task t;

	CHECK_EQ(k->live, 0);
	CHECK_EQ(k->tasks.live, 0);
	CHECK_EQ(k->obligations.live, 0);
	CHECK_EQ(k->regions.live, 1); /* the root alone */
	CHECK_EQ(k->root->ntasks, 0);
	CHECK_EQ(k->root->nchildren, 0);
	CHECK_EQ(asup_rt_stats_get(rt, &st), 0);
	CHECK_EQ(st.tasks_live, 0);
	CHECK_EQ(st.timers_armed, 0);
	CHECK_EQ(asup_rt_step(rt), 0);

	/* work makes it non-quiescent until the work is done */
	CHECK_EQ(asup_rt_spawn(rt, ret_arg, NULL, NULL, &t), 0);
	CHECK_EQ(k->live, 1);
	idle(rt);
	CHECK_EQ(k->live, 0);
	CHECK_EQ(k->tasks.live, 0);
	CHECK_EQ(k->root->ntasks, 0);
	CHECK_EQ(joined(&t).kind, ASUP_OUTCOME_OK);
	test_rt_done(rt);
}

TEST(sem_60_region_state_transitions)
{
	asup_rt *rt = det();
	asup__kernel *k = K(rt);
	asup__region *r = region_under(rt, NULL), *c = region_under(rt, r), fake;
	uint64_t rid = r->id, cid = c->id;
	struct gate g = {0};
	asup__finalizer fa = {NULL, async_fin_waits, &g};
	asup__reason *why;

	reset_log();
	CHECK_EQ(asup__region_add_finalizer(k, r, &fa), 0);
	/* Open -> Finalizing is not a transition: advance leaves it Open */
	asup__region_advance(k, r);
	CHECK_EQ(r->state, ASUP__R_OPEN);
	/* Open -> Closing */
	CHECK_EQ(asup__region_begin_close(k, r, NULL), 1);
	CHECK_EQ(r->state, ASUP__R_CLOSING);
	CHECK_EQ(asup__region_begin_close(k, r, NULL), 0); /* only from Open */
	/* Closing -> Draining: a child region is left */
	asup__region_advance(k, r);
	CHECK_EQ(r->state, ASUP__R_DRAINING);
	CHECK_EQ(asup__region_begin_close(k, r, NULL), 0);
	CHECK_EQ(r->state, ASUP__R_DRAINING);
	/* Draining -> Finalizing when the child closes */
	close_region(rt, c);
	CHECK(asup__region_lookup(k, cid) == NULL);
	CHECK_EQ(r->state, ASUP__R_FINALIZING);
	CHECK_EQ(asup__region_begin_close(k, r, NULL), 0); /* no way back */
	CHECK_EQ(r->state, ASUP__R_FINALIZING);
	CHECK_EQ(asup_rt_step(rt), 1); /* the finalizer holds it there */
	asup__region_advance(k, r);
	CHECK_EQ(r->state, ASUP__R_FINALIZING);
	/* Finalizing -> Closed once the finalizer is done */
	open_gate(&g);
	idle(rt);
	CHECK_STR_EQ(fin_log, "Ww");
	CHECK(asup__region_lookup(k, rid) == NULL);

	/* Closed -> anything is refused */
	why = mkreason(rt, ASUP_CANCEL_SHUTDOWN, 1);
	closed_record(&fake, NULL);
	CHECK_EQ(asup__region_begin_close(k, &fake, why), 0);
	asup__region_advance(k, &fake);
	CHECK_EQ(asup__region_cancel(k, &fake, why), 0);
	CHECK_EQ(fake.state, ASUP__R_CLOSED);
	CHECK(fake.reason == NULL);
	asup__reason_unref(&k->alloc, why);
	test_rt_done(rt);
}

TEST(sem_61_admission_by_region_state)
{
	asup_rt *rt = det();
	asup__kernel *k = K(rt);
	asup__region *r = region_under(rt, NULL), *c = region_under(rt, r), *x, fake;
	uint64_t rid = r->id, ob = 0;
	struct gate g = {0};
	asup__finalizer fa = {NULL, async_fin_waits, &g};
	asup_task t = spawn_into(rt, r, ret_arg, NULL), h, h2;
	asup__ktask *cleanup;

	reset_log();
	CHECK_EQ(asup__region_add_finalizer(k, r, &fa), 0);
	CHECK_EQ(asup__region_admits_task(r, 0), 0); /* Open */

	/* Closing */
	CHECK_EQ(asup__region_begin_close(k, r, NULL), 1);
	CHECK_EQ(try_spawn(rt, r, ret_arg, NULL, 0, &h), -ASUP_ECLOSED);
	CHECK_EQ(asup__region_admits_task(r, 0), -ASUP_ECLOSED);
	CHECK_EQ(asup__obligation_create(k, rec_of(&t), r, ASUP_OBLIGATION_ACK, "c", &ob),
		 -ASUP_ECLOSED);
	CHECK_EQ(asup__region_create(k, r, asup_budget_infinite(), &x), -ASUP_ECLOSED);

	/* Draining */
	asup__region_advance(k, r);
	CHECK_EQ(r->state, ASUP__R_DRAINING);
	CHECK_EQ(try_spawn(rt, r, ret_arg, NULL, 0, &h), -ASUP_ECLOSED);
	CHECK_EQ(asup__obligation_create(k, rec_of(&t), r, ASUP_OBLIGATION_ACK, "d", &ob),
		 -ASUP_ECLOSED);
	CHECK_EQ(asup__region_create(k, r, asup_budget_infinite(), &x), -ASUP_ECLOSED);
	CHECK_EQ(r->ntasks, 1);
	CHECK_EQ(r->pending_obligations, 0);

	/* Finalizing: cleanup work only */
	close_region(rt, c);
	idle(rt); /* t finishes; the finalizer starts and suspends */
	CHECK_EQ(joined(&t).kind, ASUP_OUTCOME_OK);
	CHECK_EQ(r->state, ASUP__R_FINALIZING);
	CHECK_STR_EQ(fin_log, "W");
	cleanup = asup__task_lookup(k, r->fin_task);
	CHECK(cleanup != NULL);
	CHECK_EQ(asup__region_admits_task(r, 1), 0);
	CHECK_EQ(try_spawn(rt, r, ret_arg, NULL, 1, &h), 0);
	CHECK_EQ(asup__obligation_create(k, cleanup, r, ASUP_OBLIGATION_ACK, "f", &ob), 0);
	CHECK_EQ(r->pending_obligations, 1);
	CHECK_EQ(try_spawn(rt, r, ret_arg, NULL, 0, &h2), -ASUP_ECLOSED);
	CHECK_EQ(asup__region_create(k, r, asup_budget_infinite(), &x), -ASUP_ECLOSED);
	CHECK_EQ(asup__obligation_resolve(k, ob, ASUP_OBLIGATION_COMMITTED), 0);
	open_gate(&g);
	idle(rt);
	CHECK_EQ(joined(&h).kind, ASUP_OUTCOME_OK);
	CHECK(asup__region_lookup(k, rid) == NULL);

	/* Closed: nothing at all */
	closed_record(&fake, NULL);
	CHECK_EQ(asup__region_admits_task(&fake, 0), -ASUP_ECLOSED);
	CHECK_EQ(asup__region_admits_task(&fake, 1), -ASUP_ECLOSED);
	CHECK_EQ(try_spawn(rt, &fake, ret_arg, NULL, 0, &h), -ASUP_ECLOSED);
	CHECK_EQ(try_spawn(rt, &fake, ret_arg, NULL, 1, &h), -ASUP_ECLOSED);
	CHECK_EQ(asup__region_create(k, &fake, asup_budget_infinite(), &x), -ASUP_ECLOSED);
	CHECK(asup__list_empty(&fake.tasks));
	CHECK(asup__list_empty(&fake.children));
	test_rt_done(rt);
}

TEST(sem_62_cleanup_task_bypasses_task_limit_when_finalizing)
{
	asup_rt *rt = det();
	asup__kernel *k = K(rt);
	asup__region *r = region_under(rt, NULL);
	uint64_t rid = r->id;
	struct gate g = {0};
	asup__finalizer fa = {NULL, async_fin_waits, &g};
	asup_task extra, refused;

	reset_log();
	r->limits.max_tasks = 1;
	CHECK_EQ(asup__region_add_finalizer(k, r, &fa), 0);
	close_region(rt, r);
	CHECK_EQ(r->state, ASUP__R_FINALIZING);
	CHECK_EQ(r->ntasks, 1); /* the limit is reached */
	CHECK_EQ(try_spawn(rt, r, ret_arg, (void *)(intptr_t)62, 1, &extra), 0);
	CHECK_EQ(r->ntasks, 2);
	CHECK_EQ(try_spawn(rt, r, ret_arg, NULL, 0, &refused), -ASUP_ECLOSED);
	open_gate(&g);
	idle(rt);
	CHECK_EQ(joined(&extra).value, 62);
	CHECK(asup__region_lookup(k, rid) == NULL);
	test_rt_done(rt);
}

TEST(sem_63_add_task_and_add_child_idempotent)
{
	asup_rt *rt = det();
	asup__kernel *k = K(rt);
	asup__region *r = region_under(rt, NULL), *c = region_under(rt, r);
	uint64_t rid = r->id, cid = c->id;
	asup_task t = spawn_into(rt, r, yields_until_cancelled, NULL);
	asup_task tc = spawn_into(rt, c, yields_until_cancelled, NULL);

	CHECK_EQ(times_listed(r, rec_of(&t)), 1);
	CHECK_EQ(r->ntasks, 1);
	CHECK_EQ(child_listed(r, c), 1);
	CHECK_EQ(r->nchildren, 1);
	CHECK_EQ(child_listed(k->root, r), 1);

	/* repeated requests and advances never link anything twice */
	asup__region_advance(k, r);
	CHECK_EQ(cancel_region(rt, r, ASUP_CANCEL_USER), 2);
	CHECK_EQ(cancel_region(rt, r, ASUP_CANCEL_USER), 2);
	asup__region_advance(k, r);
	asup__region_advance(k, r);
	CHECK_EQ(times_listed(r, rec_of(&t)), 1);
	CHECK_EQ(r->ntasks, 1);
	CHECK_EQ(times_listed(c, rec_of(&tc)), 1);
	CHECK_EQ(c->ntasks, 1);
	CHECK_EQ(child_listed(r, c), 1);
	CHECK_EQ(r->nchildren, 1);
	CHECK_EQ(asup__rt_check(rt), 0);

	idle(rt);
	CHECK(asup__region_lookup(k, cid) == NULL);
	CHECK(asup__region_lookup(k, rid) == NULL);
	CHECK_EQ(child_listed(k->root, r), 0);
	test_rt_done(rt);
}

TEST(sem_64_begin_close_on_closed_region_preserves_terminal_cancel_reason)
{
	asup_rt *rt = det();
	asup__kernel *k = K(rt);
	asup__region *r = region_under(rt, NULL), fake;
	asup_task t = spawn_into(rt, r, yields_until_cancelled, NULL);
	asup__reason *terminal = mkreason(rt, ASUP_CANCEL_TIMEOUT, 1),
		     *shutdown = mkreason(rt, ASUP_CANCEL_SHUTDOWN, 2);

	/* not yet Closed: begin_close refuses the transition but strengthens */
	CHECK_EQ(cancel_region(rt, r, ASUP_CANCEL_TIMEOUT), 1);
	CHECK_EQ(asup__region_begin_close(k, r, shutdown), 0);
	CHECK_EQ(r->reason->kind, ASUP_CANCEL_SHUTDOWN);

	/* Closed: refused, and the terminal reason is left as it was */
	closed_record(&fake, terminal);
	CHECK_EQ(asup__region_begin_close(k, &fake, shutdown), 0);
	CHECK(fake.reason == terminal);
	CHECK_EQ(fake.reason->kind, ASUP_CANCEL_TIMEOUT);
	CHECK_EQ(fake.state, ASUP__R_CLOSED);

	idle(rt);
	/* begin_close sets the region's reason only; its task keeps its own */
	CHECK_EQ(joined(&t).reason.kind, ASUP_CANCEL_TIMEOUT);
	asup__reason_unref(&k->alloc, terminal);
	asup__reason_unref(&k->alloc, shutdown);
	test_rt_done(rt);
}

/* ---- 65: the region heap ------------------------------------------------- */

struct heap_probe {
	asup_rref ref;
	int alloc_rc, fin_alloc_rc, fin_seen, after_close_null;
};

static int64_t heap_reads_in_finalizer(asup_cx *cx, void *arg)
{
	struct heap_probe *p = arg;
	asup_rref more;
	int *v = asup_rref_get(cx, p->ref); /* the region is Finalizing */
	p->fin_seen = v ? *v : -1;
	p->fin_alloc_rc = asup_region_alloc(cx, 16, &more);
	return 0;
}

static int64_t heap_allocates(asup_cx *cx, void *arg)
{
	struct heap_probe *p = arg;
	int *v;
	p->alloc_rc = asup_region_alloc(cx, 8 * sizeof(int), &p->ref);
	if (p->alloc_rc < 0)
		return p->alloc_rc;
	v = asup_rref_get(cx, p->ref);
	CHECK(v != NULL);
	CHECK_EQ(v[7], 0); /* zeroed */
	v[0] = 65;
	CHECK_EQ(asup_defer_async(cx, heap_reads_in_finalizer, p), 0);
	return 0;
}

static int64_t heap_after_close(asup_cx *cx, void *arg)
{
	struct heap_probe *p = arg;
	p->after_close_null = asup_rref_get(cx, p->ref) == NULL;
	return 0;
}

TEST(sem_65_region_heap_reclaimed_on_close)
{
	asup_rt *rt = det();
	asup__kernel *k = K(rt);
	asup__region *r = region_under(rt, NULL);
	uint64_t rid = r->id;
	struct heap_probe p = {{0, NULL}, 1, 1, 0, 0};
	asup_task a = spawn_into(rt, r, heap_allocates, &p), b;

	idle(rt);
	CHECK_EQ(joined(&a).kind, ASUP_OUTCOME_OK);
	CHECK_EQ(p.alloc_rc, 0);
	CHECK_EQ(p.ref.region, rid);
	CHECK_EQ(r->heap_bytes, 8 * sizeof(int)); /* outlives the task */
	CHECK_EQ(k->heap_bytes, 8 * sizeof(int));

	close_region(rt, r);
	CHECK_EQ(r->state, ASUP__R_FINALIZING);
	idle(rt);
	CHECK_EQ(p.fin_seen, 65);    /* accessible through Finalizing */
	CHECK_EQ(p.fin_alloc_rc, 0); /* and allocatable there */
	CHECK(asup__region_lookup(k, rid) == NULL);
	CHECK_EQ(k->heap_bytes, 0); /* all reclaimed at close */

	b = spawn_into(rt, k->root, heap_after_close, &p);
	idle(rt);
	CHECK_EQ(joined(&b).kind, ASUP_OUTCOME_OK);
	CHECK_EQ(p.after_close_null, 1); /* the reference fails once Closed */
	test_rt_done(rt);
}
