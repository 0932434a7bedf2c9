/*
 * The runtime object: config validation, wiring of the backends (clock and
 * timer queue into the scheduler, kernel hooks into the scheduler), the run
 * loop that idles on timers, and single-stepping for the deterministic mode.
 *
 * States: created -> running (asup_rt_run, or one asup_rt_step at a time) ->
 * created ... -> destroyed. `running` is the only field another thread may
 * look at (to refuse a second driver); everything else belongs to the thread
 * driving the runtime.
 */
#define _GNU_SOURCE
#include "asupersync/rt.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rt_internal.h"
#include "../io/io_rt.h"
#include "../trace/dump.h"


static void *default_alloc(void *ud, size_t n)
{
	(void)ud;
	return malloc(n);
}

static void default_free(void *ud, void *p, size_t n)
{
	(void)ud;
	(void)n;
	free(p);
}

static void task_main_hook(void *kctx, asup__task *t)
{
	asup__kernel_task_main(kctx, t);
}

static void task_exited_hook(void *kctx, asup__task *t)
{
	asup__kernel_task_exited(kctx, t);
}

static void task_start_failed_hook(void *kctx, asup__task *t, int rc)
{
	asup__kernel_task_start_failed(kctx, t, rc);
}

ASUP_API void asup_rt_config_init(asup_rt_config *cfg)
{
	if (!cfg)
		return;
	memset(cfg, 0, sizeof(*cfg));
	cfg->mode = ASUP_MODE_REAL;
	cfg->stack_size = ASUP__STACK_DEFAULT;
	cfg->stack_pool_max = 1024;
	cfg->cancel_streak_limit = 16;
	cfg->auto_advance = 1;
	cfg->overflow_report = 1;
	cfg->cancel_chain_depth = 16;
	cfg->blocking_threads = 4;
	cfg->leak_response = ASUP_LEAK_LOG;
	cfg->leak_escalate_to = ASUP_LEAK_PANIC;
	cfg->report = asup_report_stderr;
	asup_simnet_config_init(&cfg->net);
}

ASUP_API void asup_report_stderr(void *ud, const asup_report *r)
{
	(void)ud;
	if (r && r->line)
		fprintf(stderr, "%s\n", r->line);
}

ASUP_API int asup_rt_config_check(const asup_rt_config *cfg, const char **field)
{
	const char *bad = NULL;

	if (!cfg)
		bad = "cfg";
	else if (cfg->mode != ASUP_MODE_REAL && cfg->mode != ASUP_MODE_DETERMINISTIC)
		bad = "mode";
	else if (!asup__stack_round(cfg->stack_size))
		bad = "stack_size";
	else if (cfg->stack_pool_max > (1u << 20))
		bad = "stack_pool_max";
	else if (cfg->cancel_streak_limit < 1 || cfg->cancel_streak_limit > 65536)
		bad = "cancel_streak_limit";
	else if (!cfg->alloc.alloc != !cfg->alloc.free)
		bad = "alloc";
	else if (cfg->blocking_threads > 1024)
		bad = "blocking_threads";
	else if (cfg->cancel_chain_depth < 1 || cfg->cancel_chain_depth > 1024)
		bad = "cancel_chain_depth";
	else if ((unsigned)cfg->leak_response > ASUP_LEAK_PANIC ||
		 (unsigned)cfg->leak_escalate_to > ASUP_LEAK_PANIC)
		bad = "leak_response";
	else if ((unsigned)cfg->io_backend > ASUP_IO_EPOLL)
		bad = "io_backend";
	else if (asup_simnet_config_check(&cfg->net, NULL) < 0)
		asup_simnet_config_check(&cfg->net, &bad);
	if (field)
		*field = bad;
	return bad ? -EINVAL : 0;
}

ASUP_API int asup_rt_create(const asup_rt_config *cfg, asup_rt **out)
{
	asup__alloc a = {default_alloc, default_free, NULL};
	asup__sched_backend be;
	asup_rt *rt;
	int det;

	if (!out || asup_rt_config_check(cfg, NULL) < 0)
		return -EINVAL;
	if (asup__io_rt_check(cfg) < 0)
		return -ENOSYS;
	if (cfg->alloc.alloc) {
		a.alloc = cfg->alloc.alloc;
		a.free = cfg->alloc.free;
		a.ud = cfg->alloc.ud;
	}
	rt = a.alloc(a.ud, sizeof(*rt));
	if (!rt)
		return -ENOMEM;
	memset(rt, 0, sizeof(*rt));
	rt->cfg = *cfg;
	rt->cfg.stack_size = asup__stack_round(cfg->stack_size);
	rt->alloc = a;
	det = cfg->mode == ASUP_MODE_DETERMINISTIC;
	asup__sched_init(&rt->sched, &rt->alloc, rt->cfg.stack_size, cfg->stack_pool_max,
			 cfg->cancel_streak_limit, det, cfg->seed);
	if (asup__kernel_init(&rt->kernel, &rt->alloc, &rt->sched, cfg->seed) < 0) {
		asup__sched_destroy(&rt->sched);
		a.free(a.ud, rt, sizeof(*rt));
		return -ENOMEM;
	}
	rt->kernel.chain_depth = cfg->cancel_chain_depth;
	rt->kernel.leak_response = cfg->leak_response;
	rt->kernel.leak_escalate_after = cfg->leak_escalate_after;
	rt->kernel.leak_escalate_to = cfg->leak_escalate_to;
	rt->kernel.report = cfg->report;
	rt->kernel.report_ud = cfg->report_ud;
	if (!det && cfg->blocking_threads > 0 &&
	    asup__pool_init(&rt->pool, &rt->alloc, cfg->blocking_threads, &rt->kernel) == 0) {
		rt->kernel.blocking_submit = asup__pool_submit;
		rt->kernel.blocking_ctx = &rt->pool;
	}
	asup__timebase_init(&rt->tb, &rt->alloc, &rt->sched, det);
	if (det)
		rt->sched.vclock = &rt->tb.vnow;
	be.now = asup__tb_now_hook;
	be.timer_arm = asup__tb_arm_hook;
	be.timer_disarm = asup__tb_disarm_hook;
	be.timer_fire = asup__tb_fire_hook;
	be.ctx = &rt->tb;
	be.task_main = task_main_hook;
	be.task_exited = task_exited_hook;
	be.task_start_failed = task_start_failed_hook;
	be.kctx = &rt->kernel;
	asup__sched_set_backend(&rt->sched, &be);
	if (cfg->overflow_report)
		asup__overflow_guard_install();
	atomic_init(&rt->running, 0);
	*out = rt;
	return 0;
}

ASUP_API int asup_rt_destroy(asup_rt *rt)
{
	asup__alloc a;

	if (!rt)
		return -EINVAL;
	if (atomic_load(&rt->running))
		return -ASUP_ERUNNING;
	asup__pool_destroy(&rt->pool);
	asup__io_rt_destroy(rt); /* after the pool's threads, before the regions */
	asup__kernel_destroy(&rt->kernel);
	asup__timebase_destroy(&rt->tb);
	asup__sched_destroy(&rt->sched);
	a = rt->alloc;
	a.free(a.ud, rt, sizeof(*rt));
	return 0;
}

/* Spawns into the runtime's root region from outside any task. */
static int root_spawn(asup_rt *rt, asup_task_fn fn, void *arg, const asup_spawn_opts *opts,
		      asup_task *out, int local)
{
	asup__spawn_req req;

	memset(&req, 0, sizeof(req));
	req.fn = fn;
	req.arg = arg;
	req.opts = opts;
	req.region = rt->kernel.root;
	req.budget = rt->kernel.root ? rt->kernel.root->budget : asup_budget_default();
	req.local = (uint8_t)local;
	return asup__task_spawn(&rt->kernel, &req, out);
}

/* ---- driving ----------------------------------------------------------- */

static int in_task(void)
{
	asup__fiber *f = asup__fiber_current();
	return f && f->is_task;
}

/* Takes the runtime for the calling thread. */
int asup__rt_enter(asup_rt *rt)
{
	int expected = 0;

	if (in_task())
		return -ASUP_EINTASK;
	if (!atomic_compare_exchange_strong(&rt->running, &expected, 1))
		return -ASUP_ERUNNING;
	asup__fiber_init_thread(&rt->sched.loop, "loop");
	asup__fiber_set_current(&rt->sched.loop);
	asup__kernel_enter(&rt->kernel);
	return 0;
}

void asup__rt_leave(asup_rt *rt)
{
	asup__kernel_leave(&rt->kernel);
	asup__fiber_set_current(NULL);
	atomic_store(&rt->running, 0);
}

static void sleep_until(asup_rt *rt, asup_time t)
{
	struct timespec ts = rt->tb.base;
	uint64_t ns = (uint64_t)ts.tv_nsec + t % 1000000000u;

	ts.tv_sec += (time_t)(t / 1000000000u + ns / 1000000000u);
	ts.tv_nsec = (long)(ns % 1000000000u);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/* Runs until every task finished, idling on timers in between. */
static int drive(asup_rt *rt)
{
	asup_time next;
	int rc;

	for (;;) {
		asup__pool_drain(&rt->pool);
		while (asup__sched_run_one(&rt->sched)) {
			rt->steps++;
			if (rt->cfg.max_steps && rt->steps >= rt->cfg.max_steps)
				return -ASUP_ESTEPLIMIT;
			if ((rt->steps & 63) == 0)
				asup__io_tick(rt);
			asup__pool_drain(&rt->pool);
		}
		if (rt->kernel.live == 0) {
			asup__stack_pool_trim(&rt->sched.stacks);
			asup__rec_trim_idle(&rt->kernel);
			return 0;
		}
		/* Idle: a good moment to give surplus stacks and task records
		 * back. */
		asup__stack_pool_trim(&rt->sched.stacks);
		asup__rec_trim_idle(&rt->kernel);
		/* Finalizers that could not start for lack of memory are
		 * retried now; if none can, the run reports -ENOMEM (a later
		 * run retries again) rather than a deadlock. */
		rc = asup__region_retry_finalizers(&rt->kernel);
		if (rc > 0)
			continue;
		next = asup__timebase_next(&rt->tb);
		if (rc < 0 && next == ASUP_TIME_MAX && !rt->pool.outstanding &&
		    !rt->io.waiting)
			return rc;
		rc = asup__io_idle(rt, next);
		if (rc < 0)
			return rc;
		if (rc > 0)
			continue;
		if (rt->pool.outstanding) {
			/* Blocking work is out: wait for it or the next timer. */
			asup__pool_wait(&rt->pool, next, &rt->tb.base);
			continue;
		}
		if (next == ASUP_TIME_MAX)
			return -EDEADLK;
		if (rt->tb.is_virtual)
			asup__timebase_advance_to(&rt->tb, next);
		else
			sleep_until(rt, next);
	}
}

ASUP_API int asup_rt_run(asup_rt *rt, asup_task_fn fn, void *arg, asup_outcome *out)
{
	asup_spawn_opts o;
	asup_task root;
	void *alt;
	size_t alt_len;
	uint8_t direct;
	int rc, installed = 0;

	if (!rt || !fn)
		return -EINVAL;
	if (rt->driven)
		return -EPERM;
	rc = asup__rt_enter(rt);
	if (rc < 0)
		return rc;
	asup_spawn_opts_init(&o);
	o.name = "root";
	rc = root_spawn(rt, fn, arg, &o, &root, 0);
	if (rc < 0) {
		asup__rt_leave(rt);
		return rc;
	}
	if (rt->cfg.overflow_report)
		installed = asup__altstack_ensure(&alt, &alt_len) == 1;
	/* The loop counts the steps: under a limit every dispatch returns to
	 * it, also between tasks that only yield to each other. */
	direct = rt->sched.direct;
	if (rt->cfg.max_steps)
		rt->sched.direct = 0;
	rc = drive(rt);
	rt->sched.direct = direct;
	if (installed)
		asup__altstack_remove(alt, alt_len);
	if (rc == -EDEADLK)
		asup__dump_deadlock(&rt->kernel);
	asup__rt_leave(rt);
	if (rc == 0)
		rc = asup_task_try_join(&root, out);
	else
		asup_task_release(&root);
	return rc;
}

ASUP_API int asup_rt_spawn(asup_rt *rt, asup_task_fn fn, void *arg, const asup_spawn_opts *opts,
			   asup_task *out)
{
	int rc;

	if (!rt)
		return -EINVAL;
	rc = asup__rt_enter(rt);
	if (rc < 0)
		return rc;
	rc = root_spawn(rt, fn, arg, opts, out, 0);
	asup__rt_leave(rt);
	return rc;
}

ASUP_API int asup_rt_spawn_local(asup_rt *rt, asup_task_fn fn, void *arg,
				 const asup_spawn_opts *opts, asup_task *out)
{
	if (!rt || !fn || !out)
		return -EINVAL;
	/* Outside any task there is no worker whose local queue could hold it;
	 * nothing is created. */
	return -ASUP_ENOLOCAL;
}

ASUP_API int asup_rt_set_handles(asup_rt *rt, const asup_cx_handles *h)
{
	if (!rt || !h)
		return -EINVAL;
	rt->kernel.handles = *h;
	return 0;
}

ASUP_API int asup_rt_set_root_limits(asup_rt *rt, const asup_region_limits *l)
{
	if (!rt || !l || !rt->kernel.root)
		return -EINVAL;
	rt->kernel.root->limits = *l;
	return 0;
}

ASUP_API uint64_t asup_rt_root_region(asup_rt *rt)
{
	return rt && rt->kernel.root ? rt->kernel.root->id : ASUP_ID_NONE;
}

ASUP_API int asup_rt_step(asup_rt *rt)
{
	asup__task *t;
	asup_time next;
	uint8_t direct;
	int rc;

	if (!rt)
		return -EINVAL;
	if (rt->cfg.mode != ASUP_MODE_DETERMINISTIC)
		return -ASUP_ENOTDET;
	if (rt->driven)
		return -EPERM;
	rc = asup__rt_enter(rt);
	if (rc < 0)
		return rc;
	/* The overflow report runs on an alternate signal stack: without one, a
	 * fault on the guard has no stack for its handler. */
	if (rt->cfg.overflow_report)
		(void)asup__altstack_keep();
	direct = rt->sched.direct;
	rt->sched.direct = 0;
	t = asup__sched_run_one(&rt->sched);
	if (!t && asup__region_retry_finalizers(&rt->kernel) > 0)
		t = asup__sched_run_one(&rt->sched);
	/* A loop: what fires may wake nobody (a packet of the simulated
	 * network that only moves on), and then the next one is due. */
	while (!t && rt->cfg.auto_advance &&
	       (next = asup__timebase_next(&rt->tb)) != ASUP_TIME_MAX) {
		asup__timebase_advance_to(&rt->tb, next);
		t = asup__sched_run_one(&rt->sched);
	}
	rt->sched.direct = direct;
	if (t)
		rt->steps++;
	asup__rt_leave(rt);
	return t ? 1 : 0;
}

ASUP_API int64_t asup_rt_run_until_idle(asup_rt *rt)
{
	int64_t n = 0;
	int rc;

	while ((rc = asup_rt_step(rt)) == 1)
		n++;
	return rc < 0 ? rc : n;
}

ASUP_API int asup_rt_advance(asup_rt *rt, uint64_t ns)
{
	if (!rt)
		return -EINVAL;
	if (rt->cfg.mode != ASUP_MODE_DETERMINISTIC)
		return -ASUP_ENOTDET;
	asup__timebase_advance_to(&rt->tb, asup_time_add(rt->tb.vnow, ns));
	return 0;
}

ASUP_API asup_time asup_rt_now(asup_rt *rt)
{
	return rt ? asup__timebase_now(&rt->tb) : 0;
}

ASUP_API int asup_rt_stats_get(asup_rt *rt, asup_rt_stats *out)
{
	const asup__sched_stats *s;

	if (!rt || !out)
		return -EINVAL;
	s = &rt->sched.stats;
	memset(out, 0, sizeof(*out));
	out->tasks_spawned = rt->kernel.spawned;
	out->tasks_completed = rt->kernel.completed;
	out->tasks_live = rt->kernel.live;
	out->task_records = rt->kernel.nrecs - rt->kernel.nfree;
	out->dispatches = s->dispatches;
	out->switches = s->switches;
	out->parks = s->parks;
	out->wakes = s->wakes;
	out->wakes_deduped = s->wakes_deduped;
	out->cancel_dispatches = s->cancel_dispatches;
	out->timed_dispatches = s->timed_dispatches;
	out->ready_dispatches = s->dispatches - s->cancel_dispatches - s->timed_dispatches;
	out->max_cancel_streak = s->max_cancel_streak;
	out->stacks_mapped = rt->sched.stacks.mapped;
	out->stacks_reused = rt->sched.stacks.reused;
	out->stacks_pooled = rt->sched.stacks.count;
	out->timers_armed = rt->tb.timers.len;
	out->obligations_pending = rt->kernel.obligations.live;
	out->obligations_committed = rt->kernel.obl_committed;
	out->obligations_aborted = rt->kernel.obl_aborted;
	out->obligations_leaked = rt->kernel.obl_leaked;
	out->leaks_detected = rt->kernel.leaks;
	return 0;
}

ASUP_API int asup_rt_cancel(asup_rt *rt, asup_cancel_kind kind, const char *msg)
{
	asup__reason *r;
	void *alt;
	size_t alt_len;
	int rc, installed = 0;

	if (!rt || asup_cancel_kind_severity(kind) < 0)
		return -EINVAL;
	if (rt->driven)
		return -EPERM;
	rc = asup__rt_enter(rt);
	if (rc < 0)
		return rc;
	/* Never NULL: without memory, a static reason of the kind. */
	r = asup__reason_make(&rt->kernel, kind, rt->kernel.root, NULL, msg);
	asup__region_cancel_below(&rt->kernel, rt->kernel.root, r);
	asup__reason_unref(&rt->alloc, r);
	if (rt->cfg.overflow_report)
		installed = asup__altstack_ensure(&alt, &alt_len) == 1;
	rc = drive(rt);
	if (installed)
		asup__altstack_remove(alt, alt_len);
	if (rc == -EDEADLK)
		asup__dump_deadlock(&rt->kernel);
	asup__rt_leave(rt);
	return rc;
}

ASUP_API int asup_rt_dump(asup_rt *rt, FILE *f)
{
	int rc;

	if (!rt || !f)
		return -EINVAL;
	/* Taking the runtime keeps a driver on another thread out meanwhile. */
	rc = asup__rt_enter(rt);
	if (rc == -ASUP_EINTASK)
		return -ASUP_ERUNNING;
	if (rc < 0)
		return rc;
	rc = asup__dump_tree(&rt->kernel, f);
	asup__rt_leave(rt);
	return rc;
}

/* Internal: the kernel of a runtime (tests reach the region tree with it). */
asup__kernel *asup__rt_kernel(asup_rt *rt)
{
	return &rt->kernel;
}

/* Internal: invariant check of every layer (tests, and a driver after every step). */
int asup__rt_check(asup_rt *rt)
{
	if (asup__sched_check(&rt->sched) || asup__kernel_check(&rt->kernel) ||
	    asup__timebase_check(&rt->tb) || asup__io_sim_check(rt))
		return -EINVAL;
	return 0;
}
