/*
 * SEMANTICS §11 scenarios 41-83 (runtime, records, handles, values, cx),
 * named sem_NN_<scenario>, the scenario being the seed test it ports.
 *
 * Regions are made with asup__region_create under the runtime's root, tasks
 * with asup__task_spawn from outside any task, and the deterministic runtime
 * is stepped by hand. A closed region's record is freed at once, so the
 * guards that act on a record in its terminal state (58, 61, 64) run on a
 * record built in the test. Four scenarios (56, 58, 61, 63) have a second
 * case under the seed test's own name that checks the rule more closely.
 * The file is long because it is one source: every scenario of section 11
 * that is not a channel, scheduler or lab scenario is found here.
 */
#include "testrt.h"

#include <sys/wait.h>

#include "kernel/kernel.h"

static asup_rt *det_with(uint32_t chain, asup_leak_response leak)
{
	asup_rt_config cfg;
	asup_rt_config_init(&cfg);
	cfg.mode = ASUP_MODE_DETERMINISTIC;
	cfg.cancel_chain_depth = chain;
	cfg.leak_response = leak;
	return test_rt_cfg(&cfg);
}

static asup_rt *det(void)
{
	return det_with(16, ASUP_LEAK_SILENT);
}

#define done test_rt_done

static asup__region *mkregion(asup_rt *rt, asup__region *parent)
{
	asup__region *r;
	CHECK_EQ(asup__region_create(asup__rt_kernel(rt), parent ? parent : asup__rt_kernel(rt)->root,
				     asup_budget_infinite(), &r), 0);
	return r;
}

static int spawn_rc(asup_rt *rt, asup__region *r, asup_task_fn fn, void *arg, asup_task *h,
		    int cleanup)
{
	asup__spawn_req req;
	memset(&req, 0, sizeof req);
	req.fn = fn;
	req.arg = arg;
	req.region = r;
	req.budget = r->budget;
	req.cleanup = (uint8_t)cleanup;
	return asup__task_spawn(asup__rt_kernel(rt), &req, h);
}

static asup_task spawn(asup_rt *rt, asup__region *r, asup_task_fn fn, void *arg)
{
	asup_task h;
	CHECK_EQ(spawn_rc(rt, r, fn, arg, &h, 0), 0);
	return h;
}

static asup__ktask *rec(const asup_task *h)
{
	return (asup__ktask *)h->_rec;
}

static asup__reason *reason(asup_rt *rt, asup_cancel_kind kind, asup_time ts, const char *msg)
{
	asup__reason *r = asup__reason_new(&asup__rt_kernel(rt)->alloc, kind, ASUP_ID_NONE,
					   ASUP_ID_NONE, ts, msg, NULL, 16);
	CHECK(r != NULL);
	return r;
}

/* cancel_request(region, kind): returns the number of tasks it reached. */
static int cancel(asup_rt *rt, asup__region *r, asup_cancel_kind kind)
{
	asup__reason *why = reason(rt, kind, 1, NULL);
	int n = asup__region_cancel(asup__rt_kernel(rt), r, why);
	asup__reason_unref(&asup__rt_kernel(rt)->alloc, why);
	return n;
}

/* The body finished: begin_close without a reason, then advance. */
static void close_region(asup_rt *rt, asup__region *r)
{
	asup__region_begin_close(asup__rt_kernel(rt), r, NULL);
	asup__region_advance(asup__rt_kernel(rt), r);
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

static int64_t ret_arg(asup_cx *cx, void *arg)
{
	return (int64_t)(intptr_t)arg;
}

static int64_t parks(asup_cx *cx, void *arg)
{
	return asup_park(cx);
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

/* ---- runtime state / records ---- */

TEST(sem_41_cancel_request_builds_cause_chains)
{
	asup_rt *rt = det();
	asup__region *root = mkregion(rt, NULL), *child = mkregion(rt, root), *grand = mkregion(rt, child);
	asup_task t0 = spawn(rt, root, parks, NULL), t1 = spawn(rt, child, parks, NULL),
		  t2 = spawn(rt, grand, parks, NULL);
	cancel(rt, root, ASUP_CANCEL_DEADLINE);
	CHECK_EQ(root->reason->kind, ASUP_CANCEL_DEADLINE);
	CHECK_EQ(root->reason->depth, 1);
	CHECK_EQ(child->reason->kind, ASUP_CANCEL_PARENT_CANCELLED);
	CHECK_EQ(child->reason->depth, 2);
	CHECK_EQ(child->reason->origin_region, root->id);
	CHECK_EQ(child->reason->cause->kind, ASUP_CANCEL_DEADLINE);
	CHECK(root->reason->cause == NULL);
	CHECK_EQ(grand->reason->kind, ASUP_CANCEL_PARENT_CANCELLED);
	CHECK_EQ(grand->reason->depth, 3);
	CHECK_EQ(grand->reason->origin_region, child->id);
	CHECK_EQ(grand->reason->cause->kind, ASUP_CANCEL_PARENT_CANCELLED);
	CHECK_EQ(grand->reason->cause->cause->kind, ASUP_CANCEL_DEADLINE);
	CHECK(!asup__reason_any_truncated(grand->reason));
	CHECK_EQ(rec(&t0)->rec_reason->kind, ASUP_CANCEL_DEADLINE);
	CHECK_EQ(rec(&t1)->rec_reason->depth, 2);
	CHECK_EQ(rec(&t2)->rec_reason->depth, 3);
	/* each task is queued at the cleanup priority of its region's reason */
	CHECK_EQ(rec(&t0)->t.cancel_priority,
		 asup_cancel_kind_cleanup_budget(ASUP_CANCEL_DEADLINE).priority);
	CHECK_EQ(rec(&t2)->t.cancel_priority,
		 asup_cancel_kind_cleanup_budget(ASUP_CANCEL_PARENT_CANCELLED).priority);
	CHECK(asup_rt_run_until_idle(rt) >= 3);
	done(rt);
}

TEST(sem_42_cancel_request_strengthens_existing_reason)
{
	asup_rt *rt = det();
	asup__region *r = mkregion(rt, NULL);
	asup_task t = spawn(rt, r, parks, NULL);
	asup_outcome o;
	CHECK_EQ(cancel(rt, r, ASUP_CANCEL_USER), 1);
	CHECK_EQ(rec(&t)->pstate, ASUP__P_CANCEL_REQUESTED);
	CHECK_EQ(rec(&t)->cancel_epoch, 1);
	/* an already cancelling task is still reached, and strengthened */
	CHECK_EQ(cancel(rt, r, ASUP_CANCEL_SHUTDOWN), 1);
	CHECK_EQ(r->reason->kind, ASUP_CANCEL_SHUTDOWN);
	CHECK_EQ(rec(&t)->rec_reason->kind, ASUP_CANCEL_SHUTDOWN);
	CHECK_EQ(rec(&t)->cx_reason->kind, ASUP_CANCEL_SHUTDOWN);
	CHECK_EQ(rec(&t)->pstate, ASUP__P_CANCEL_REQUESTED);
	CHECK_EQ(rec(&t)->cancel_epoch, 1);
	/* a weaker one afterwards changes nothing */
	CHECK_EQ(cancel(rt, r, ASUP_CANCEL_TIMEOUT), 1);
	CHECK_EQ(r->reason->kind, ASUP_CANCEL_SHUTDOWN);
	CHECK_EQ(rec(&t)->rec_reason->kind, ASUP_CANCEL_SHUTDOWN);
	idle(rt);
	o = joined(&t);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(o.reason.kind, ASUP_CANCEL_SHUTDOWN);
	done(rt);
}

TEST(sem_43_cancel_request_respects_chain_depth_limit)
{
	asup_rt *rt = det_with(2, ASUP_LEAK_SILENT);
	asup__region *r[5];
	asup_task leaf;
	r[0] = mkregion(rt, NULL);
	for (int i = 1; i < 5; i++)
		r[i] = mkregion(rt, r[i - 1]);
	leaf = spawn(rt, r[4], parks, NULL);
	cancel(rt, r[0], ASUP_CANCEL_TIMEOUT);
	CHECK(r[4]->reason->depth <= 2);
	CHECK(asup__reason_any_truncated(r[4]->reason));
	CHECK(rec(&leaf)->rec_reason->depth <= 2);
	CHECK(asup__reason_any_truncated(rec(&leaf)->rec_reason));
	CHECK(asup_rt_run_until_idle(rt) >= 1);
	done(rt);
}

TEST(sem_44_cancel_request_should_prevent_new_spawns)
{
	asup_rt *rt = det();
	asup__region *r = mkregion(rt, NULL);
	uint64_t id = r->id;
	asup_task h;
	cancel(rt, r, ASUP_CANCEL_USER);
	/* empty: it closed at once and left the table */
	CHECK(asup__region_lookup(asup__rt_kernel(rt), id) == NULL);
	done(rt);
	rt = det();
	r = mkregion(rt, NULL);
	spawn(rt, r, parks, NULL); /* keeps it from closing at once */
	cancel(rt, r, ASUP_CANCEL_USER);
	CHECK(r->state != ASUP__R_OPEN);
	CHECK_RC(spawn_rc(rt, r, ret_arg, NULL, &h, 0), -ASUP_ECLOSED);
	CHECK(asup_rt_run_until_idle(rt) >= 1);
	done(rt);
}

static void policy_case(asup_outcome_kind child_kind, int expect_cancel)
{
	asup_rt *rt = det();
	asup__kernel *k = asup__rt_kernel(rt);
	asup__region *r = mkregion(rt, NULL);
	asup_task child = spawn(rt, r, parks, NULL), s1 = spawn(rt, r, parks, NULL),
		  s2 = spawn(rt, r, parks, NULL);
	asup_outcome o;
	int n = 0;
	memset(&o, 0, sizeof o);
	o.kind = child_kind;
	if (asup_policy_on_child(ASUP_POLICY_FAIL_FAST, &o) == ASUP_POLICY_CANCEL_SIBLINGS) {
		asup__reason *why = reason(rt, ASUP_CANCEL_FAIL_FAST, 1, NULL);
		n += asup__task_request_cancel(k, rec(&s1), why, asup_cancel_kind_cleanup_budget(why->kind));
		n += asup__task_request_cancel(k, rec(&s2), why, asup_cancel_kind_cleanup_budget(why->kind));
		asup__reason_unref(&k->alloc, why);
	}
	CHECK_EQ(n, expect_cancel ? 2 : 0);
	CHECK_EQ(rec(&child)->pstate, ASUP__P_CREATED);
	if (expect_cancel) {
		CHECK_EQ(rec(&s1)->pstate, ASUP__P_CANCEL_REQUESTED);
		CHECK_EQ(rec(&s1)->rec_reason->kind, ASUP_CANCEL_FAIL_FAST);
		CHECK_EQ(rec(&s2)->rec_reason->kind, ASUP_CANCEL_FAIL_FAST);
	} else {
		CHECK_EQ(rec(&s1)->pstate, ASUP__P_CREATED);
	}
	CHECK_EQ(asup_policy_on_child(ASUP_POLICY_COLLECT_ALL, &o), ASUP_POLICY_CONTINUE);
	cancel(rt, r, ASUP_CANCEL_SHUTDOWN);
	CHECK(asup_rt_run_until_idle(rt) >= 3);
	done(rt);
}

TEST(sem_45_policy_can_cancel_siblings)
{
	policy_case(ASUP_OUTCOME_ERR, 1);
}

TEST(sem_46_policy_does_not_cancel_siblings_on_cancelled_child)
{
	policy_case(ASUP_OUTCOME_CANCELLED, 0);
}

static void nop_fin(void *arg)
{
	(void)arg;
}

TEST(sem_47_register_finalizer_fails_when_region_not_open)
{
	asup_rt *rt = det();
	asup__kernel *k = asup__rt_kernel(rt);
	asup__region *r = mkregion(rt, NULL);
	asup__finalizer fs = {nop_fin, NULL, NULL}, fa = {NULL, ret_arg, NULL};
	spawn(rt, r, parks, NULL);
	asup__region_begin_close(k, r, NULL);
	CHECK_RC(asup__region_add_finalizer(k, r, &fs), -ASUP_ECLOSED);
	CHECK_RC(asup__region_add_finalizer(k, r, &fa), -ASUP_ECLOSED);
	CHECK_EQ(r->nfin, 0);
	cancel(rt, r, ASUP_CANCEL_USER);
	CHECK(asup_rt_run_until_idle(rt) >= 1);
	done(rt);
}

static char fin_log[16];
static int fin_n;
static void log_fin(void *arg)
{
	fin_log[fin_n++] = *(const char *)arg;
}
static int64_t log_fin_async(asup_cx *cx, void *arg)
{
	CHECK(asup_cx_mask_depth(cx) >= 1); /* async finalizers run masked */
	log_fin(arg);
	return 0;
}

TEST(sem_48_pop_region_finalizer_lifo)
{
	asup_rt *rt = det();
	asup__kernel *k = asup__rt_kernel(rt);
	asup__region *r = mkregion(rt, NULL);
	uint64_t id = r->id;
	asup__finalizer f1 = {log_fin, NULL, "1"}, f2 = {log_fin, NULL, "2"}, f3 = {log_fin, NULL, "3"};
	fin_n = 0;
	CHECK_EQ(asup__region_add_finalizer(k, r, &f1), 0);
	CHECK_EQ(asup__region_add_finalizer(k, r, &f2), 0);
	CHECK_EQ(asup__region_add_finalizer(k, r, &f3), 0);
	asup__region_begin_close(k, r, NULL);
	asup__region_advance(k, r);
	CHECK(asup_rt_run_until_idle(rt) >= 3);
	fin_log[fin_n] = 0;
	CHECK_STR_EQ(fin_log, "321");
	CHECK(asup__region_lookup(k, id) == NULL);
	done(rt);
}

TEST(sem_49_drain_ready_async_finalizers_blocks_lower_finalizers)
{
	asup_rt *rt = det();
	asup__kernel *k = asup__rt_kernel(rt);
	asup__region *r = mkregion(rt, NULL);
	uint64_t id = r->id;
	asup__finalizer fs = {log_fin, NULL, "s"}, fa = {NULL, log_fin_async, "a"};
	fin_n = 0;
	CHECK_EQ(asup__region_add_finalizer(k, r, &fs), 0); /* lower */
	CHECK_EQ(asup__region_add_finalizer(k, r, &fa), 0); /* upper, async */
	asup__region_begin_close(k, r, NULL);
	asup__region_advance(k, r);
	CHECK_EQ(r->state, ASUP__R_FINALIZING);
	CHECK_EQ(r->fin_running, 1); /* only the async one is scheduled */
	CHECK_EQ(r->nfin, 1);
	asup__region_advance(k, r); /* a second drain schedules nothing */
	CHECK_EQ(r->nfin, 1);
	CHECK_EQ(asup_rt_step(rt), 1); /* the async finalizer's task runs */
	CHECK_EQ(fin_n, 1);
	CHECK(asup_rt_run_until_idle(rt) >= 1);
	fin_log[fin_n] = 0;
	CHECK_STR_EQ(fin_log, "as");
	CHECK(asup__region_lookup(k, id) == NULL);
	done(rt);
}

TEST(sem_50_drain_ready_async_finalizers_runs_async_cleanup_with_no_task_room)
{
	asup_rt *rt = det();
	asup__kernel *k = asup__rt_kernel(rt);
	asup__region *r = mkregion(rt, NULL);
	asup__finalizer fa = {NULL, log_fin_async, "a"};
	fin_n = 0;
	r->limits.max_tasks = 0;
	CHECK_EQ(asup__region_add_finalizer(k, r, &fa), 0);
	asup__region_begin_close(k, r, NULL);
	asup__region_advance(k, r);
	CHECK_EQ(r->fin_running, 1);
	CHECK_EQ(r->ntasks, 1); /* the cleanup task bypassed max_tasks = 0 */
	CHECK(asup_rt_run_until_idle(rt) >= 1);
	CHECK_EQ(fin_n, 1);
	done(rt);
}

static int64_t holds_three(asup_cx *cx, void *arg)
{
	uint64_t id;
	CHECK_EQ(asup_obligation_reserve(cx, ASUP_OBLIGATION_SEND_PERMIT, "p", &id), 0);
	CHECK_EQ(asup_obligation_reserve(cx, ASUP_OBLIGATION_ACK, "a", &id), 0);
	CHECK_EQ(asup_obligation_reserve(cx, ASUP_OBLIGATION_IO_OP, "io", &id), 0);
	return asup_park(cx);
}

TEST(sem_51_obligations_auto_aborted_on_cancelled_task_completion)
{
	asup_rt *rt = det();
	asup__region *r = mkregion(rt, NULL);
	asup_task t = spawn(rt, r, holds_three, NULL);
	CHECK_EQ(asup_rt_step(rt), 1);
	CHECK_EQ(r->pending_obligations, 3);
	cancel(rt, r, ASUP_CANCEL_USER);
	CHECK(asup_rt_run_until_idle(rt) >= 1);
	CHECK_EQ(rec(&t)->rec_kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(test_stats(rt).obligations_aborted, 3);
	CHECK_EQ(test_stats(rt).obligations_leaked, 0);
	CHECK_EQ(test_stats(rt).obligations_pending, 0);
	done(rt);
}

static uint64_t lease_id;
static int64_t holds_lease(asup_cx *cx, void *arg)
{
	CHECK_EQ(asup_obligation_reserve(cx, ASUP_OBLIGATION_LEASE, "lease", &lease_id), 0);
	return asup_park(cx);
}

TEST(sem_52_region_close_blocked_by_pending_obligations)
{
	asup_rt *rt = det();
	asup__kernel *k = asup__rt_kernel(rt);
	asup__region *r = mkregion(rt, NULL);
	uint64_t id = r->id;
	asup_task t = spawn(rt, r, holds_lease, NULL);
	CHECK_EQ(asup_rt_step(rt), 1);
	asup__region_begin_close(k, r, NULL);
	asup__region_advance(k, r);
	CHECK(asup__region_lookup(k, id) != NULL); /* cannot close */
	CHECK_EQ(asup__obligation_resolve(k, lease_id, ASUP_OBLIGATION_COMMITTED), 0);
	CHECK_EQ(r->pending_obligations, 0);
	asup_unpark((asup_waker){&rec(&t)->t, rec(&t)->t.gen});
	CHECK(asup_rt_run_until_idle(rt) >= 1); /* the task leaves: now it can */
	CHECK(asup__region_lookup(k, id) == NULL);
	CHECK_EQ(test_stats(rt).obligations_committed, 1);
	CHECK_EQ(test_stats(rt).obligations_leaked, 0);
	done(rt);
}

TEST(sem_53_spawn_rejected_when_task_limit_reached)
{
	asup_rt *rt = det();
	asup__kernel *k = asup__rt_kernel(rt);
	asup__region *r = mkregion(rt, NULL);
	asup_task a, b;
	r->limits.max_tasks = 1;
	CHECK_EQ(spawn_rc(rt, r, parks, NULL, &a, 0), 0);
	CHECK_RC(spawn_rc(rt, r, parks, NULL, &b, 0), -ASUP_ECAPACITY);
	CHECK_EQ(r->ntasks, 1);
	CHECK_EQ(k->tasks.live, 1);
	cancel(rt, r, ASUP_CANCEL_USER);
	CHECK(asup_rt_run_until_idle(rt) >= 1);
	done(rt);
}

static int64_t reserve_at_limit(asup_cx *cx, void *arg)
{
	uint64_t id;
	asup__region *r = cx->kt->owner;
	r->limits.max_obligations = 0;
	CHECK_RC(asup_obligation_reserve(cx, ASUP_OBLIGATION_ACK, "x", &id), -ASUP_ECAPACITY);
	CHECK_EQ(r->pending_obligations, 0);
	return 0;
}

TEST(sem_54_obligation_rejected_when_limit_reached)
{
	asup_rt *rt = det();
	asup__region *r = mkregion(rt, NULL);
	asup_task t = spawn(rt, r, reserve_at_limit, NULL);
	CHECK_EQ(asup_rt_run_until_idle(rt), 1);
	CHECK_EQ(asup_task_try_join(&t, NULL), 0);
	done(rt);
}

TEST(sem_55_create_obligation_rejects_holder_owned_by_different_region)
{
	asup_rt *rt = det();
	asup__kernel *k = asup__rt_kernel(rt);
	asup__region *a = mkregion(rt, NULL), *b = mkregion(rt, NULL);
	asup_task t = spawn(rt, a, parks, NULL);
	uint64_t id;
	CHECK_RC(asup__obligation_create(k, rec(&t), b, ASUP_OBLIGATION_ACK, "x", &id), -EPERM);
	CHECK_EQ(b->pending_obligations, 0);
	cancel(rt, a, ASUP_CANCEL_USER);
	CHECK(asup_rt_run_until_idle(rt) >= 1);
	done(rt);
}

static int64_t leaks_ack(asup_cx *cx, void *arg)
{
	uint64_t id;
	CHECK_EQ(asup_obligation_reserve(cx, ASUP_OBLIGATION_ACK, "leaky", &id), 0);
	return 0;
}

static void leak_once(asup_leak_response resp, uint64_t *leaked, uint64_t *aborted)
{
	asup_rt *rt = det_with(16, resp);
	asup__kernel *k = asup__rt_kernel(rt);
	spawn(rt, k->root, leaks_ack, NULL);
	CHECK_EQ(asup_rt_run_until_idle(rt), 1);
	*leaked = test_stats(rt).obligations_leaked;
	*aborted = test_stats(rt).obligations_aborted;
	CHECK_EQ(test_stats(rt).leaks_detected, 1);
	done(rt);
}

TEST(sem_56_leak_responses_and_escalation)
{
	uint64_t leaked, aborted;
	pid_t pid;
	int st;
	leak_once(ASUP_LEAK_SILENT, &leaked, &aborted);
	CHECK_EQ(leaked, 1);
	leak_once(ASUP_LEAK_LOG, &leaked, &aborted);
	CHECK_EQ(leaked, 1);
	leak_once(ASUP_LEAK_RECOVER, &leaked, &aborted);
	CHECK_EQ(leaked, 0);
	CHECK_EQ(aborted, 1);
	/* PANIC aborts the process; escalation LOG -> PANIC after 2 leaks */
	for (int variant = 0; variant < 2; variant++) {
		pid = fork();
		CHECK(pid >= 0);
		if (pid == 0) {
			asup_rt_config cfg;
			asup_rt *rt;
			asup_rt_config_init(&cfg);
			cfg.mode = ASUP_MODE_DETERMINISTIC;
			if (variant == 0) {
				cfg.leak_response = ASUP_LEAK_PANIC;
			} else {
				cfg.leak_response = ASUP_LEAK_SILENT;
				cfg.leak_escalate_after = 2;
				cfg.leak_escalate_to = ASUP_LEAK_PANIC;
			}
			if (asup_rt_create(&cfg, &rt) < 0)
				_exit(3);
			for (int i = 0; i < 2; i++)
				spawn(rt, asup__rt_kernel(rt)->root, leaks_ack, NULL);
			asup_rt_run_until_idle(rt);
			_exit(0); /* not reached */
		}
		CHECK_EQ(waitpid(pid, &st, 0), pid);
		CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
	}
}

/* One task completes Ok while holding one obligation of region r. */
static void leak_one(asup_rt *rt, asup__region *r)
{
	uint64_t id;
	asup_task t = spawn(rt, r, ret_arg, (void *)(intptr_t)9);
	CHECK_EQ(asup__obligation_create(asup__rt_kernel(rt), rec(&t), r, ASUP_OBLIGATION_ACK,
					 "leaky", &id),
		 0);
	idle(rt);
	CHECK_EQ(joined(&t).value, 9);
}

static asup_rt_stats leak_with(asup_leak_response resp)
{
	asup_rt *rt = det_with(16, resp);
	asup__region *r = mkregion(rt, NULL);
	asup_rt_stats st;
	leak_one(rt, r);
	st = test_stats(rt);
	CHECK_EQ(r->pending_obligations, 0); /* the region is not held */
	CHECK_EQ(st.obligations_pending, 0);
	close_region(rt, r);
	done(rt);
	return st;
}

/* The seed's leak_response_* and leak_escalation_* tests, on an obligation
 * the kernel records for a task that then completes Ok. */
TEST(sem_56_leak_response_and_escalation)
{
	asup_rt_stats c;
	int fds[2], st = 0;
	char buf[4] = {0};
	pid_t pid;

	c = leak_with(ASUP_LEAK_SILENT);
	CHECK_EQ(c.leaks_detected, 1);
	CHECK_EQ(c.obligations_leaked, 1);
	CHECK_EQ(c.obligations_aborted, 0);
	c = leak_with(ASUP_LEAK_LOG);
	CHECK_EQ(c.leaks_detected, 1);
	CHECK_EQ(c.obligations_leaked, 1);
	CHECK_EQ(c.obligations_aborted, 0);
	c = leak_with(ASUP_LEAK_RECOVER); /* aborted (reason Error), not leaked */
	CHECK_EQ(c.leaks_detected, 1);
	CHECK_EQ(c.obligations_leaked, 0);
	CHECK_EQ(c.obligations_aborted, 1);

	/* Panic: the process aborts at the leak. */
	fflush(NULL);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		asup_rt *rt = det_with(16, ASUP_LEAK_PANIC);
		leak_one(rt, mkregion(rt, NULL));
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
		asup_rt_config cfg;
		asup_rt *rt;
		asup__region *r;
		asup_rt_config_init(&cfg);
		cfg.mode = ASUP_MODE_DETERMINISTIC;
		cfg.leak_response = ASUP_LEAK_LOG;
		cfg.leak_escalate_after = 2;
		cfg.leak_escalate_to = ASUP_LEAK_PANIC;
		rt = test_rt_cfg(&cfg);
		r = mkregion(rt, NULL);
		close(fds[0]);
		leak_one(rt, r); /* the first is only logged */
		if (test_stats(rt).obligations_leaked != 1 || test_stats(rt).leaks_detected != 1)
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
	asup_rt *rt = det_with(16, ASUP_LEAK_LOG);
	asup__kernel *k = asup__rt_kernel(rt);
	asup__region *r = mkregion(rt, NULL);
	uint64_t id = r->id;
	spawn(rt, r, leaks_ack, NULL);
	CHECK_EQ(asup_rt_run_until_idle(rt), 1);
	CHECK_EQ(test_stats(rt).obligations_leaked, 1);
	asup__region_begin_close(k, r, NULL);
	asup__region_advance(k, r);
	CHECK(asup__region_lookup(k, id) == NULL);
	done(rt);
}

TEST(sem_58_cancel_request_after_close_preserves_terminal_reason)
{
	asup_rt *rt = det();
	asup__kernel *k = asup__rt_kernel(rt);
	asup__region closed;
	asup__reason *timeout = reason(rt, ASUP_CANCEL_TIMEOUT, 1, NULL),
		     *shutdown = reason(rt, ASUP_CANCEL_SHUTDOWN, 1, NULL);
	/* a record in its terminal state (closed records are normally freed) */
	memset(&closed, 0, sizeof closed);
	closed.state = ASUP__R_CLOSED;
	closed.reason = timeout;
	asup__list_init(&closed.tasks);
	asup__list_init(&closed.children);
	CHECK_EQ(asup__region_cancel(k, &closed, shutdown), 0);
	CHECK(closed.reason == timeout);
	CHECK_EQ(closed.state, ASUP__R_CLOSED);
	asup__reason_unref(&k->alloc, timeout);
	asup__reason_unref(&k->alloc, shutdown);
	done(rt);
}

/* Under the seed's own name: a region that really closed (its record freed)
 * ignores a later request, and its task keeps the terminal reason; then the
 * guard itself on a record in the Closed state. */
TEST(sem_58_mr_cancel_request_after_close_preserves_terminal_reason)
{
	asup_rt *rt = det();
	asup__kernel *k = asup__rt_kernel(rt);
	asup__region *p = mkregion(rt, NULL), *r = mkregion(rt, p), fake;
	uint64_t pid = p->id, rid = r->id;
	asup_task t = spawn(rt, r, yields_until_cancelled, NULL);
	asup__reason *terminal, *later;
	asup_outcome o;

	CHECK_EQ(cancel(rt, r, ASUP_CANCEL_DEADLINE), 1);
	idle(rt);
	CHECK(asup__region_lookup(k, rid) == NULL);
	CHECK_EQ(p->nchildren, 0);
	/* a later, stronger request on the parent does not revive it */
	CHECK_EQ(cancel(rt, p, ASUP_CANCEL_SHUTDOWN), 0);
	CHECK(asup__region_lookup(k, pid) == NULL);
	CHECK(asup__region_lookup(k, rid) == NULL);
	o = joined(&t); /* read only now: its terminal reason is kept */
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(o.reason.kind, ASUP_CANCEL_DEADLINE);

	terminal = reason(rt, ASUP_CANCEL_DEADLINE, 1, NULL);
	later = reason(rt, ASUP_CANCEL_SHUTDOWN, 1, NULL);
	closed_record(&fake, terminal);
	CHECK_EQ(asup__region_cancel(k, &fake, later), 0);
	CHECK(fake.reason == terminal);
	CHECK_EQ(fake.reason->kind, ASUP_CANCEL_DEADLINE);
	CHECK_EQ(fake.state, ASUP__R_CLOSED);
	CHECK_EQ(terminal->refs, 1); /* not taken, not dropped */
	asup__reason_unref(&k->alloc, terminal);
	asup__reason_unref(&k->alloc, later);
	done(rt);
}

TEST(sem_59_empty_state_is_quiescent)
{
	asup_rt *rt = det();
	asup__kernel *k = asup__rt_kernel(rt);
	CHECK_EQ(k->live, 0);
	CHECK_EQ(k->tasks.live, 0);
	CHECK_EQ(test_stats(rt).obligations_pending, 0);
	CHECK_EQ(k->root->ntasks, 0);
	CHECK_EQ(k->root->nchildren, 0);
	CHECK_EQ(asup_rt_run_until_idle(rt), 0);
	done(rt);
}

TEST(sem_60_region_state_transitions)
{
	asup_rt *rt = det();
	asup__kernel *k = asup__rt_kernel(rt);
	asup__region *r = mkregion(rt, NULL), *c = mkregion(rt, r);
	uint64_t rid = r->id, cid = c->id;
	asup_task t = spawn(rt, c, parks, NULL);
	CHECK_EQ(asup_rt_step(rt), 1); /* the task parks */
	CHECK_EQ(r->state, ASUP__R_OPEN);
	CHECK_EQ(asup__region_begin_close(k, r, NULL), 1);
	CHECK_EQ(r->state, ASUP__R_CLOSING);
	CHECK_EQ(asup__region_begin_close(k, r, NULL), 0); /* not Open: refused */
	asup__region_advance(k, r);
	CHECK_EQ(r->state, ASUP__R_DRAINING); /* a child region is left */
	asup__region_begin_close(k, c, NULL);
	asup__region_advance(k, c);
	CHECK_EQ(c->state, ASUP__R_CLOSING); /* a task is left */
	asup_unpark((asup_waker){&rec(&t)->t, rec(&t)->t.gen});
	CHECK(asup_rt_run_until_idle(rt) >= 1);
	/* the child closed, then the parent went Finalizing and Closed */
	CHECK(asup__region_lookup(k, cid) == NULL);
	CHECK(asup__region_lookup(k, rid) == NULL);
	done(rt);
}

static void unpark_all(asup__region *r)
{
	for (asup__list *l = r->tasks.next; l != &r->tasks; l = l->next) {
		asup__ktask *kt = asup__container_of(l, asup__ktask, region_link);
		asup_unpark((asup_waker){&kt->t, kt->t.gen});
	}
}

TEST(sem_61_admission_by_state)
{
	asup_rt *rt = det();
	asup__kernel *k = asup__rt_kernel(rt);
	asup__region *r = mkregion(rt, NULL), *c = mkregion(rt, r), *x;
	asup__finalizer fa = {NULL, parks, NULL};
	asup_task t = spawn(rt, r, parks, NULL), cleanup;
	CHECK_EQ(asup_rt_step(rt), 1); /* t parks */
	CHECK_EQ(asup__region_add_finalizer(k, r, &fa), 0);
	asup__region_begin_close(k, r, NULL);
	CHECK_RC(asup__region_admits_task(r, 0), -ASUP_ECLOSED); /* Closing */
	asup__region_advance(k, r);
	CHECK_EQ(r->state, ASUP__R_DRAINING);
	CHECK_RC(asup__region_admits_task(r, 0), -ASUP_ECLOSED); /* Draining */
	CHECK_RC(asup__region_create(k, r, asup_budget_infinite(), &x), -ASUP_ECLOSED);
	asup__region_begin_close(k, c, NULL);
	asup__region_advance(k, c); /* the child closes; t still holds r */
	CHECK_EQ(r->nchildren, 0);
	asup_unpark((asup_waker){&rec(&t)->t, rec(&t)->t.gen});
	CHECK_EQ(asup_rt_step(rt), 1); /* t ends: r goes Finalizing */
	CHECK_EQ(r->state, ASUP__R_FINALIZING);
	CHECK_EQ(r->fin_running, 1);
	CHECK_EQ(asup__region_admits_task(r, 1), 0);              /* cleanup: yes */
	CHECK_RC(asup__region_admits_task(r, 0), -ASUP_ECLOSED); /* normal: no */
	CHECK_RC(asup__region_create(k, r, asup_budget_infinite(), &x), -ASUP_ECLOSED);
	CHECK_EQ(spawn_rc(rt, r, ret_arg, NULL, &cleanup, 1), 0);
	CHECK(asup_rt_run_until_idle(rt) >= 1);
	unpark_all(r); /* the finalizer task parked */
	CHECK(asup_rt_run_until_idle(rt) >= 1);
	done(rt);
}

/* An async finalizer that parks until the test opens its gate. */
struct gate {
	volatile int open;
	asup_waker w;
};

static int64_t async_fin_waits(asup_cx *cx, void *arg)
{
	struct gate *g = arg;
	g->w = asup_waker_current(cx);
	while (!g->open)
		CHECK_EQ(asup_park(cx), 0); /* masked: never a cancellation */
	return 0;
}

/* Admission in every state, for tasks, cleanup tasks, obligations and
 * children: Closing and Draining refuse all; Finalizing admits cleanup
 * tasks and their obligations only; Closed refuses all. */
TEST(sem_61_admission_by_region_state)
{
	asup_rt *rt = det();
	asup__kernel *k = asup__rt_kernel(rt);
	asup__region *r = mkregion(rt, NULL), *c = mkregion(rt, r), *x, fake;
	uint64_t rid = r->id, ob = 0;
	struct gate g = {0};
	asup__finalizer fa = {NULL, async_fin_waits, &g};
	asup_task t = spawn(rt, r, ret_arg, NULL), h, h2;
	asup__ktask *cleanup;

	CHECK_EQ(asup__region_add_finalizer(k, r, &fa), 0);
	CHECK_EQ(asup__region_admits_task(r, 0), 0); /* Open */

	/* Closing */
	CHECK_EQ(asup__region_begin_close(k, r, NULL), 1);
	CHECK_RC(spawn_rc(rt, r, ret_arg, NULL, &h, 0), -ASUP_ECLOSED);
	CHECK_RC(asup__region_admits_task(r, 0), -ASUP_ECLOSED);
	CHECK_RC(asup__obligation_create(k, rec(&t), r, ASUP_OBLIGATION_ACK, "c", &ob), -ASUP_ECLOSED);
	CHECK_RC(asup__region_create(k, r, asup_budget_infinite(), &x), -ASUP_ECLOSED);

	/* Draining */
	asup__region_advance(k, r);
	CHECK_EQ(r->state, ASUP__R_DRAINING);
	CHECK_RC(spawn_rc(rt, r, ret_arg, NULL, &h, 0), -ASUP_ECLOSED);
	CHECK_RC(asup__obligation_create(k, rec(&t), r, ASUP_OBLIGATION_ACK, "d", &ob), -ASUP_ECLOSED);
	CHECK_RC(asup__region_create(k, r, asup_budget_infinite(), &x), -ASUP_ECLOSED);
	CHECK_EQ(r->ntasks, 1);
	CHECK_EQ(r->pending_obligations, 0);

	/* Finalizing: cleanup work only */
	close_region(rt, c);
	idle(rt); /* t finishes; the finalizer starts and suspends */
	CHECK_EQ(joined(&t).kind, ASUP_OUTCOME_OK);
	CHECK_EQ(r->state, ASUP__R_FINALIZING);
	cleanup = asup__task_lookup(k, r->fin_task);
	CHECK(cleanup != NULL);
	CHECK_EQ(asup__region_admits_task(r, 1), 0);
	CHECK_EQ(spawn_rc(rt, r, ret_arg, NULL, &h, 1), 0);
	CHECK_EQ(asup__obligation_create(k, cleanup, r, ASUP_OBLIGATION_ACK, "f", &ob), 0);
	CHECK_EQ(r->pending_obligations, 1);
	CHECK_RC(spawn_rc(rt, r, ret_arg, NULL, &h2, 0), -ASUP_ECLOSED);
	CHECK_RC(asup__region_create(k, r, asup_budget_infinite(), &x), -ASUP_ECLOSED);
	CHECK_EQ(asup__obligation_resolve(k, ob, ASUP_OBLIGATION_COMMITTED), 0);
	g.open = 1;
	asup_unpark(g.w);
	idle(rt);
	CHECK_EQ(joined(&h).kind, ASUP_OUTCOME_OK);
	CHECK(asup__region_lookup(k, rid) == NULL);

	/* Closed: nothing at all */
	closed_record(&fake, NULL);
	CHECK_RC(asup__region_admits_task(&fake, 0), -ASUP_ECLOSED);
	CHECK_RC(asup__region_admits_task(&fake, 1), -ASUP_ECLOSED);
	CHECK_RC(spawn_rc(rt, &fake, ret_arg, NULL, &h, 0), -ASUP_ECLOSED);
	CHECK_RC(spawn_rc(rt, &fake, ret_arg, NULL, &h, 1), -ASUP_ECLOSED);
	CHECK_RC(asup__region_create(k, &fake, asup_budget_infinite(), &x), -ASUP_ECLOSED);
	CHECK(asup__list_empty(&fake.tasks));
	CHECK(asup__list_empty(&fake.children));
	done(rt);
}

TEST(sem_62_cleanup_task_bypasses_task_limit_when_finalizing)
{
	asup_rt *rt = det();
	asup__kernel *k = asup__rt_kernel(rt);
	asup__region *r = mkregion(rt, NULL);
	asup__finalizer fa = {NULL, parks, NULL};
	asup_task h;
	r->limits.max_tasks = 1;
	CHECK_EQ(asup__region_add_finalizer(k, r, &fa), 0);
	asup__region_begin_close(k, r, NULL);
	asup__region_advance(k, r); /* the finalizer task takes the one slot */
	CHECK_EQ(r->state, ASUP__R_FINALIZING);
	CHECK_EQ(r->ntasks, 1);
	CHECK_EQ(spawn_rc(rt, r, ret_arg, NULL, &h, 1), 0); /* beyond max_tasks */
	CHECK_EQ(r->ntasks, 2);
	CHECK(asup_rt_run_until_idle(rt) >= 1);
	unpark_all(r);
	CHECK(asup_rt_run_until_idle(rt) >= 1);
	done(rt);
}

TEST(sem_63_tasks_and_children_are_listed_once)
{
	asup_rt *rt = det();
	asup__region *r = mkregion(rt, NULL), *c = mkregion(rt, r);
	asup_task t = spawn(rt, r, ret_arg, NULL);
	int n = 0;
	for (asup__list *l = r->tasks.next; l != &r->tasks; l = l->next)
		n += asup__container_of(l, asup__ktask, region_link) == rec(&t);
	CHECK_EQ(n, 1);
	CHECK_EQ(r->ntasks, 1);
	n = 0;
	for (asup__list *l = r->children.next; l != &r->children; l = l->next)
		n += asup__container_of(l, asup__region, sibling) == c;
	CHECK_EQ(n, 1);
	CHECK_EQ(r->nchildren, 1);
	CHECK(asup_rt_run_until_idle(rt) >= 1);
	done(rt);
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

/* Under the seed's names (add_task_idempotent, add_child_idempotent):
 * repeated cancel requests and advances never link a task or a child
 * twice, and closing unlinks each exactly once. */
TEST(sem_63_add_task_and_add_child_idempotent)
{
	asup_rt *rt = det();
	asup__kernel *k = asup__rt_kernel(rt);
	asup__region *r = mkregion(rt, NULL), *c = mkregion(rt, r);
	uint64_t rid = r->id, cid = c->id;
	asup_task t = spawn(rt, r, yields_until_cancelled, NULL);
	asup_task tc = spawn(rt, c, yields_until_cancelled, NULL);

	CHECK_EQ(times_listed(r, rec(&t)), 1);
	CHECK_EQ(r->ntasks, 1);
	CHECK_EQ(child_listed(r, c), 1);
	CHECK_EQ(r->nchildren, 1);
	CHECK_EQ(child_listed(k->root, r), 1);

	asup__region_advance(k, r);
	CHECK_EQ(cancel(rt, r, ASUP_CANCEL_USER), 2);
	CHECK_EQ(cancel(rt, r, ASUP_CANCEL_USER), 2);
	asup__region_advance(k, r);
	asup__region_advance(k, r);
	CHECK_EQ(times_listed(r, rec(&t)), 1);
	CHECK_EQ(r->ntasks, 1);
	CHECK_EQ(times_listed(c, rec(&tc)), 1);
	CHECK_EQ(c->ntasks, 1);
	CHECK_EQ(child_listed(r, c), 1);
	CHECK_EQ(r->nchildren, 1);
	CHECK_EQ(asup__rt_check(rt), 0);

	idle(rt);
	CHECK(asup__region_lookup(k, cid) == NULL);
	CHECK(asup__region_lookup(k, rid) == NULL);
	CHECK_EQ(child_listed(k->root, r), 0);
	done(rt);
}

TEST(sem_64_begin_close_on_closed_region_preserves_terminal_cancel_reason)
{
	asup_rt *rt = det();
	asup__kernel *k = asup__rt_kernel(rt);
	asup__region closed;
	asup__reason *user = reason(rt, ASUP_CANCEL_USER, 1, NULL),
		     *shutdown = reason(rt, ASUP_CANCEL_SHUTDOWN, 1, NULL);
	memset(&closed, 0, sizeof closed);
	closed.state = ASUP__R_CLOSED;
	closed.reason = user;
	CHECK_EQ(asup__region_begin_close(k, &closed, shutdown), 0);
	CHECK(closed.reason == user);
	asup__reason_unref(&k->alloc, user);
	asup__reason_unref(&k->alloc, shutdown);
	done(rt);
}

static asup_rref heap_ref;
static int seen_in_finalizer;

static int64_t reads_heap_in_finalizer(asup_cx *cx, void *arg)
{
	int *p = asup_rref_get(cx, heap_ref); /* the region is Finalizing */
	seen_in_finalizer = p ? *p : -1;
	return 0;
}

static int64_t uses_region_heap(asup_cx *cx, void *arg)
{
	int *p;
	CHECK_EQ(asup_region_alloc(cx, sizeof(int) * 4, &heap_ref), 0);
	p = asup_rref_get(cx, heap_ref);
	CHECK(p != NULL);
	CHECK_EQ(p[3], 0); /* zeroed */
	p[0] = 65;
	CHECK_EQ(asup_defer_async(cx, reads_heap_in_finalizer, NULL), 0);
	return 0;
}

static int64_t heap_driver(asup_cx *cx, void *arg)
{
	asup_outcome o;
	asup_rref r;
	asup_region_limits l = asup_region_limits_unlimited();
	CHECK_EQ(asup_region(cx, uses_region_heap, NULL, &o), 0);
	CHECK_EQ(seen_in_finalizer, 65);          /* accessible through Finalizing */
	CHECK(asup_rref_get(cx, heap_ref) == NULL); /* gone once Closed */
	CHECK_EQ(cx->k->heap_bytes, 0);            /* reclaimed */
	l.max_heap_bytes = 8;
	CHECK_EQ(asup_scope_set_limits(cx, &l), 0);
	CHECK_RC(asup_region_alloc(cx, 16, &r), -ASUP_ECAPACITY);
	CHECK_RC(asup_region_alloc(cx, 0, &r), -EINVAL);
	return 0;
}

TEST(sem_65_region_heap_reclaimed_on_close)
{
	asup_rt *rt = det();
	asup_task h;
	asup_outcome o;
	seen_in_finalizer = 0;
	CHECK_EQ(asup_rt_spawn(rt, heap_driver, NULL, NULL, &h), 0);
	CHECK(asup_rt_run_until_idle(rt) >= 1);
	CHECK_EQ(asup_task_try_join(&h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	done(rt);
}

/* ---- the task record's protocol ---- */

TEST(sem_66_cancel_before_first_poll_enters_cancel_requested)
{
	asup_rt *rt = det();
	asup__kernel *k = asup__rt_kernel(rt);
	asup_task t = spawn(rt, k->root, ret_arg, NULL);
	asup__reason *why = reason(rt, ASUP_CANCEL_USER, 1, NULL);
	CHECK_EQ(asup__task_request_cancel(k, rec(&t), why, asup_cancel_kind_cleanup_budget(why->kind)), 1);
	CHECK_EQ(rec(&t)->pstate, ASUP__P_CANCEL_REQUESTED);
	CHECK_EQ(rec(&t)->cancel_epoch, 1);
	asup__reason_unref(&k->alloc, why);
	CHECK_EQ(asup_rt_run_until_idle(rt), 1);
	done(rt);
}

static void complete_after_request(int64_t value)
{
	asup_rt *rt = det();
	asup__kernel *k = asup__rt_kernel(rt);
	asup_task t = spawn(rt, k->root, ret_arg, (void *)(intptr_t)value);
	asup__reason *why = reason(rt, ASUP_CANCEL_USER, 1, NULL);
	asup_outcome o;
	asup__task_request_cancel(k, rec(&t), why, asup_cancel_kind_cleanup_budget(why->kind));
	asup__reason_unref(&k->alloc, why);
	CHECK_EQ(asup_rt_run_until_idle(rt), 1);
	CHECK_EQ(rec(&t)->rec_kind, ASUP_OUTCOME_CANCELLED); /* the record's view */
	CHECK_EQ(asup_task_try_join(&t, &o), 0);
	CHECK_EQ(o.value, value); /* the handle's view: the value wins */
	CHECK_EQ(o.kind, value >= 0 ? ASUP_OUTCOME_OK : ASUP_OUTCOME_ERR);
	done(rt);
}

TEST(sem_67_complete_ok_or_err_after_cancel_request_becomes_cancelled)
{
	complete_after_request(5);
	complete_after_request(-EIO);
}

static int64_t acks_then_returns_cancelled(asup_cx *cx, void *arg)
{
	CHECK_RC(asup_checkpoint(cx), -ECANCELED); /* acknowledges Shutdown */
	CHECK_EQ(cx->kt->pstate, ASUP__P_CANCELLING);
	CHECK_EQ(asup_cx_cancel_self(cx, ASUP_CANCEL_USER, "weaker"), 0);
	return -ECANCELED;
}

TEST(sem_68_complete_cancelled_during_protocol_does_not_weaken_reason)
{
	asup_rt *rt = det();
	asup__kernel *k = asup__rt_kernel(rt);
	asup__region *r = mkregion(rt, NULL);
	asup_task t = spawn(rt, r, acks_then_returns_cancelled, NULL);
	cancel(rt, r, ASUP_CANCEL_SHUTDOWN);
	CHECK_EQ(asup_rt_run_until_idle(rt), 1);
	CHECK_EQ(rec(&t)->rec_kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(rec(&t)->rec_reason->kind, ASUP_CANCEL_SHUTDOWN);
	(void)k;
	done(rt);
}

TEST(sem_69_completed_is_absorbing)
{
	asup_rt *rt = det();
	asup__kernel *k = asup__rt_kernel(rt);
	asup_task t = spawn(rt, k->root, ret_arg, (void *)1);
	asup__reason *why = reason(rt, ASUP_CANCEL_SHUTDOWN, 1, NULL);
	CHECK_EQ(asup_rt_run_until_idle(rt), 1);
	CHECK_EQ(rec(&t)->pstate, ASUP__P_COMPLETED);
	CHECK_EQ(asup__task_request_cancel(k, rec(&t), why, asup_cancel_kind_cleanup_budget(why->kind)), 0);
	CHECK_EQ(rec(&t)->pstate, ASUP__P_COMPLETED);
	CHECK_EQ(rec(&t)->rec_kind, ASUP_OUTCOME_OK);
	CHECK_EQ(asup_task_abort(&t), 0); /* no-op */
	CHECK_EQ(rec(&t)->cancel_requested, 0);
	asup__reason_unref(&k->alloc, why);
	done(rt);
}

static int64_t cleanup_in_steps(asup_cx *cx, void *arg)
{
	CHECK_RC(asup_checkpoint(cx), -ECANCELED);
	(void)!asup_cx_masked(cx, (asup_task_fn)(void *)asup_yield, NULL); /* a cleanup step */
	return -ECANCELED;
}

TEST(sem_70_full_cancellation_protocol_flow)
{
	asup_rt *rt = det();
	asup__kernel *k = asup__rt_kernel(rt);
	asup__region *r = mkregion(rt, NULL);
	asup_task t = spawn(rt, r, cleanup_in_steps, NULL);
	cancel(rt, r, ASUP_CANCEL_USER);
	CHECK_EQ(rec(&t)->pstate, ASUP__P_CANCEL_REQUESTED);
	CHECK_EQ(asup_rt_step(rt), 1);
	CHECK_EQ(rec(&t)->pstate, ASUP__P_CANCELLING); /* acknowledged */
	/* the cleanup budget (1000 polls) replaced the task's; the masked yield
	 * since was one more checkpoint */
	CHECK_EQ(rec(&t)->budget.poll_quota, 999);
	CHECK_EQ(asup_rt_step(rt), 1);
	CHECK_EQ(rec(&t)->pstate, ASUP__P_COMPLETED);
	CHECK_EQ(rec(&t)->rec_kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(rec(&t)->cancel_epoch, 1);
	(void)k;
	done(rt);
}

/* ---- task handles ---- */

static int64_t joins_arg(asup_cx *cx, void *arg)
{
	return asup_join(cx, arg, NULL);
}

TEST(sem_71_drop_join_does_not_abort_if_result_already_ready)
{
	asup_rt *rt = det();
	asup__kernel *k = asup__rt_kernel(rt);
	asup_task target = spawn(rt, k->root, ret_arg, (void *)1);
	asup_task joiner;
	CHECK_EQ(asup_rt_step(rt), 1); /* the target finished */
	joiner = spawn(rt, k->root, joins_arg, &target);
	CHECK_EQ(asup_task_abort(&joiner), 0); /* its join is cancelled */
	CHECK_EQ(asup_rt_run_until_idle(rt), 1);
	CHECK_EQ(rec(&target)->cancel_requested, 0);
	CHECK_EQ(asup_task_try_join(&target, NULL), 0);
	done(rt);
}

TEST(sem_72_drop_task_handle_detaches_without_requesting_cancel)
{
	asup_rt *rt = det();
	asup__kernel *k = asup__rt_kernel(rt);
	asup_task t = spawn(rt, k->root, parks, NULL);
	asup__ktask *kt = rec(&t);
	CHECK_EQ(asup_rt_step(rt), 1);
	CHECK_EQ(asup_task_release(&t), 0);
	CHECK_EQ(kt->cancel_requested, 0);
	CHECK_EQ(kt->t.state, ASUP__T_PARKED);
	asup_unpark((asup_waker){&kt->t, kt->t.gen});
	CHECK_EQ(asup_rt_run_until_idle(rt), 1);
	done(rt);
}

static int64_t parks_then_cancelled(asup_cx *cx, void *arg)
{
	return asup_park(cx);
}

TEST(sem_73_abort_then_join_preserves_abort_reason)
{
	asup_rt *rt = det();
	asup__kernel *k = asup__rt_kernel(rt);
	asup_task t = spawn(rt, k->root, parks_then_cancelled, NULL);
	asup_outcome o;
	CHECK_EQ(asup_rt_step(rt), 1);
	CHECK_EQ(asup_task_abort_with(&t, ASUP_CANCEL_TIMEOUT, "late"), 0);
	CHECK_EQ(asup_rt_run_until_idle(rt), 1);
	CHECK_EQ(asup_task_try_join(&t, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(o.reason.kind, ASUP_CANCEL_TIMEOUT);
	CHECK_STR_EQ(o.reason.message, "late");
	done(rt);
}

static int64_t joins_twice(asup_cx *cx, void *arg)
{
	asup_task h;
	asup_outcome o;
	CHECK_EQ(asup_spawn(cx, ret_arg, (void *)1, NULL, &h), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_RC(asup_join(cx, &h, &o), -ASUP_EJOINED);
	CHECK_RC(asup_task_try_join(&h, &o), -ASUP_EJOINED);
	return 0;
}

TEST(sem_74_repoll_after_completion_fails_closed)
{
	asup_rt *rt = det();
	asup_task h;
	asup_outcome o;
	CHECK_EQ(asup_rt_spawn(rt, joins_twice, NULL, NULL, &h), 0);
	CHECK(asup_rt_run_until_idle(rt) >= 2);
	CHECK_EQ(asup_task_try_join(&h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	done(rt);
}

static void drop_reason_case(asup_cancel_kind existing, asup_cancel_kind drop,
			     asup_cancel_kind expect)
{
	asup_rt *rt = det();
	asup__kernel *k = asup__rt_kernel(rt);
	asup_task target = spawn(rt, k->root, parks, NULL), joiner;
	CHECK_EQ(asup_rt_step(rt), 1);
	CHECK_EQ(asup_task_abort_with(&target, existing, NULL), 0);
	CHECK_EQ(asup_task_set_drop_reason(&target, drop), 0);
	joiner = spawn(rt, k->root, joins_arg, &target);
	CHECK_EQ(asup_task_abort(&joiner), 0);
	CHECK(asup_rt_run_until_idle(rt) >= 1);
	CHECK_EQ(rec(&target)->cancel_requested, 1);
	CHECK_EQ(rec(&target)->cx_reason->kind, expect);
	done(rt);
}

TEST(sem_75_drop_join_with_stronger_or_weaker_reason)
{
	drop_reason_case(ASUP_CANCEL_USER, ASUP_CANCEL_TIMEOUT, ASUP_CANCEL_TIMEOUT);
	drop_reason_case(ASUP_CANCEL_SHUTDOWN, ASUP_CANCEL_TIMEOUT, ASUP_CANCEL_SHUTDOWN);
}

TEST(sem_76_defuse_drop_abort_skips_pending_join_abort)
{
	asup_rt *rt = det();
	asup__kernel *k = asup__rt_kernel(rt);
	asup_task target = spawn(rt, k->root, parks, NULL), joiner;
	CHECK_EQ(asup_rt_step(rt), 1);
	CHECK_EQ(asup_task_defuse(&target), 0);
	joiner = spawn(rt, k->root, joins_arg, &target);
	CHECK_EQ(asup_rt_step(rt), 1); /* the joiner waits */
	CHECK_EQ(asup_task_abort(&joiner), 0);
	CHECK_EQ(asup_rt_run_until_idle(rt), 1);
	CHECK_EQ(rec(&target)->cancel_requested, 0);
	asup_unpark((asup_waker){&rec(&target)->t, rec(&target)->t.gen});
	CHECK_EQ(asup_rt_run_until_idle(rt), 1);
	done(rt);
}

/* ---- values ---- */

TEST(sem_77_budget_meet)
{
	asup_budget a = asup_budget_with_deadline(asup_budget_default(), ASUP_SEC(10));
	asup_budget b = asup_budget_with_deadline(asup_budget_default(), ASUP_SEC(30));
	asup_budget m = asup_budget_meet(a, b), z, i;
	CHECK_EQ(m.deadline, ASUP_SEC(10));
	z = asup_budget_meet(a, asup_budget_zero());
	CHECK_EQ(z.poll_quota, 0);
	CHECK_EQ(z.cost_quota, 0);
	CHECK_EQ(z.priority, 255);
	i = asup_budget_meet(a, asup_budget_infinite());
	CHECK_EQ(i.deadline, a.deadline);
	CHECK_EQ(i.poll_quota, a.poll_quota);
	CHECK_EQ(i.cost_quota, a.cost_quota);
	CHECK_EQ(i.priority, a.priority);
	b.priority = 200;
	CHECK_EQ(asup_budget_meet(a, b).priority, 200);
	CHECK_EQ(asup_budget_meet(b, a).priority, 200);
}

TEST(sem_78_budget_consume)
{
	asup_budget b = asup_budget_default();
	b.poll_quota = 0;
	CHECK_EQ(asup_budget_consume_poll(&b), -1);
	b.poll_quota = 2;
	CHECK_EQ(asup_budget_consume_poll(&b), 2);
	CHECK_EQ(b.poll_quota, 1);
	b.cost_quota = 3;
	CHECK_EQ(asup_budget_consume_cost(&b, 5), 0);
	CHECK_EQ(b.cost_quota, 3);
	CHECK_EQ(asup_budget_consume_cost(&b, 3), 1);
	CHECK_EQ(b.cost_quota, 0);
	CHECK_EQ(asup_budget_is_exhausted(&b), 1);
}

static asup_cancel_reason mkreason(asup_cancel_kind k, const char *msg)
{
	asup_cancel_reason r;
	memset(&r, 0, sizeof r);
	r.kind = k;
	r.timestamp = ASUP_SEC(1);
	if (msg) {
		snprintf(r.message, sizeof r.message, "%s", msg);
		r.has_message = 1;
	}
	return r;
}

TEST(sem_79_strengthen)
{
	asup_cancel_reason b = mkreason(ASUP_CANCEL_USER, "b"), a = mkreason(ASUP_CANCEL_USER, "a");
	asup_cancel_reason t = mkreason(ASUP_CANCEL_TIMEOUT, "t"),
			   s = mkreason(ASUP_CANCEL_SHUTDOWN, "bye");
	CHECK_EQ(asup_cancel_reason_strengthen(&b, &a), 1);
	CHECK_STR_EQ(b.message, "a");
	CHECK_EQ(asup_cancel_reason_strengthen(&t, &s), 1);
	CHECK_EQ(t.kind, ASUP_CANCEL_SHUTDOWN);
	CHECK_STR_EQ(t.message, "bye");
	CHECK_EQ(asup_cancel_reason_strengthen(&t, &a), 0); /* never weakens */
	CHECK_EQ(t.kind, ASUP_CANCEL_SHUTDOWN);
}

static asup_outcome oc(asup_outcome_kind k, int64_t v)
{
	asup_outcome o;
	memset(&o, 0, sizeof o);
	o.kind = k;
	o.value = v;
	return o;
}

TEST(sem_80_outcome_join)
{
	asup_outcome r, ok1 = oc(ASUP_OUTCOME_OK, 1), ok2 = oc(ASUP_OUTCOME_OK, 2),
			err = oc(ASUP_OUTCOME_ERR, -1), can = oc(ASUP_OUTCOME_CANCELLED, 0),
			pan = oc(ASUP_OUTCOME_PANICKED, 0);
	asup_outcome_join(&ok1, &err, &r);
	CHECK_EQ(r.kind, ASUP_OUTCOME_ERR);
	asup_outcome_join(&err, &can, &r);
	CHECK_EQ(r.kind, ASUP_OUTCOME_CANCELLED);
	asup_outcome_join(&can, &pan, &r);
	CHECK_EQ(r.kind, ASUP_OUTCOME_PANICKED);
	asup_outcome_join(&ok1, &ok2, &r);
	CHECK_EQ(r.value, 1); /* ties keep the left */
}

TEST(sem_81_policy_aggregate)
{
	asup_outcome l1[2] = {oc(ASUP_OUTCOME_ERR, -1), oc(ASUP_OUTCOME_CANCELLED, 0)};
	asup_outcome l2[2] = {oc(ASUP_OUTCOME_CANCELLED, 0), oc(ASUP_OUTCOME_PANICKED, 0)};
	asup_aggregate a;
	l1[1].reason.kind = ASUP_CANCEL_TIMEOUT;
	asup_outcome_aggregate(l1, 2, &a);
	CHECK_EQ(a.kind, ASUP_AGG_CANCELLED);
	CHECK_EQ(a.reason.kind, ASUP_CANCEL_TIMEOUT);
	asup_outcome_aggregate(l2, 2, &a);
	CHECK_EQ(a.kind, ASUP_AGG_PANICKED);
	CHECK_EQ(a.index, 1);
}

/* ---- the cx ---- */

static int64_t masked_checkpoint_is_ok(asup_cx *cx, void *arg)
{
	return asup_checkpoint(cx);
}

static int64_t panics_masked(asup_cx *cx, void *arg)
{
	asup_panic(cx, "inside");
}

static int64_t body_panics_masked(asup_cx *cx, void *arg)
{
	return asup_cx_masked(cx, panics_masked, NULL);
}

static int64_t mask_depth_to(asup_cx *cx, void *arg)
{
	int *n = arg;
	if (++*n == 64)
		return asup_cx_masked(cx, masked_checkpoint_is_ok, NULL);
	return asup_cx_masked(cx, mask_depth_to, arg);
}

static int64_t masks_root(asup_cx *cx, void *arg)
{
	asup_outcome o;
	int n = 0;
	CHECK_EQ(asup_cx_cancel_self(cx, ASUP_CANCEL_USER, NULL), 0);
	CHECK_EQ(asup_cx_masked(cx, masked_checkpoint_is_ok, NULL), 0);
	CHECK_RC(asup_checkpoint(cx), -ECANCELED);
	CHECK_EQ(asup_cx_mask_depth(cx), 0);
	CHECK_EQ(asup_region(cx, body_panics_masked, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_PANICKED);
	CHECK_EQ(asup_cx_mask_depth(cx), 0); /* restored after the panic */
	CHECK_RC(asup_cx_masked(cx, mask_depth_to, &n), -ASUP_EMASK);
	return 0;
}

TEST(sem_82_masked_checkpoint_and_mask_bounds)
{
	asup_rt *rt = det();
	asup_task h;
	asup_outcome o;
	CHECK_EQ(asup_rt_spawn(rt, masks_root, NULL, NULL, &h), 0);
	CHECK(asup_rt_run_until_idle(rt) >= 1);
	CHECK_EQ(asup_task_try_join(&h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	done(rt);
}

struct exhaust {
	asup_cancel_kind kind;
	int masked_first;
};

static int64_t checks_exhaustion(asup_cx *cx, void *arg)
{
	struct exhaust *e = arg;
	asup_cancel_reason r;
	if (e->masked_first) {
		CHECK_EQ(asup_cx_masked(cx, masked_checkpoint_is_ok, NULL), 0);
		CHECK_EQ(asup_cx_cancel_reason(cx, &r), 0); /* recorded, deferred */
	}
	CHECK_RC(asup_checkpoint(cx), -ECANCELED);
	CHECK_EQ(asup_cx_cancel_reason(cx, &r), 0);
	e->kind = r.kind;
	return 0;
}

static asup_cancel_kind exhaust_with(asup_budget b, int masked_first)
{
	asup_rt *rt = det();
	asup__kernel *k = asup__rt_kernel(rt);
	struct exhaust e = {ASUP_CANCEL_USER, masked_first};
	asup__spawn_req req;
	asup_task h;
	memset(&req, 0, sizeof req);
	req.fn = checks_exhaustion;
	req.arg = &e;
	req.region = k->root;
	req.budget = b;
	CHECK_EQ(asup__task_spawn(k, &req, &h), 0);
	CHECK(asup_rt_run_until_idle(rt) >= 1);
	CHECK_EQ(asup_task_try_join(&h, NULL), 0);
	done(rt);
	return e.kind;
}

TEST(sem_83_checkpoint_budget_exhaustion)
{
	asup_budget d = asup_budget_default(), p = asup_budget_default(), c = asup_budget_default();
	d.deadline = 0;
	p.poll_quota = 0;
	c.cost_quota = 0;
	CHECK_EQ(exhaust_with(d, 0), ASUP_CANCEL_DEADLINE);
	CHECK_EQ(exhaust_with(p, 0), ASUP_CANCEL_POLL_QUOTA);
	CHECK_EQ(exhaust_with(c, 0), ASUP_CANCEL_COST_BUDGET);
	CHECK_EQ(exhaust_with(d, 1), ASUP_CANCEL_DEADLINE);
}
