/*
 * The front door of a driven runtime (see drive.h): the few calls through
 * which a driver steps the scheduler, walks and disturbs tasks and manages
 * the root region, so that no driver reads or writes a field of the
 * scheduler or the kernel.
 *
 * Owns: nothing. Must not touch: anything a call does not name; every call
 * here is one internal call of the scheduler or kernel with its arguments
 * resolved (an id to its record).
 * Invariants: a task named by id is looked up each time (a stale id finds
 * nothing and the call does nothing).
 */
#include "drive.h"

#include <string.h>

/* ---- attaching --------------------------------------------------------- */

int asup__drive_set_workers(asup_rt *rt, uint32_t n)
{
	return asup__sched_set_workers(&rt->sched, &rt->alloc, n);
}

void asup__drive_set_probe(asup_rt *rt, const asup__drive_hooks *h)
{
	rt->sched.probe.emit = h ? h->emit : NULL;
	rt->sched.probe.ctx = h ? h->ctx : NULL;
}

void asup__drive_attach(asup_rt *rt, const asup__drive_hooks *h)
{
	asup__region *root = rt->kernel.root;

	asup__drive_set_probe(rt, h);
	rt->kernel.hook_checkpoint = h->checkpoint;
	rt->kernel.hook_ctx = h->ctx;
	asup__trace(&rt->sched, ASUP_EV_REGION_CREATE, ASUP_ID_NONE, root->id, ASUP_ID_NONE,
		    root->budget.deadline);
	rt->sched.direct = 0;
	rt->driven = 1;
}

/* ---- stepping ---------------------------------------------------------- */

int asup__drive_step(asup_rt *rt, uint32_t w)
{
	return asup__sched_run_one_on(&rt->sched, w) != NULL;
}

int asup__drive_run_task(asup_rt *rt, uint64_t id, uint32_t w)
{
	asup__ktask *kt = asup__task_lookup(&rt->kernel, id);

	return kt ? asup__sched_run_task(&rt->sched, &kt->t, w) : -ESRCH;
}

void asup__drive_idle(asup_rt *rt, uint32_t w)
{
	rt->sched.w = &rt->sched.workers[w % rt->sched.nworkers];
}

int asup__drive_pending(asup_rt *rt, int auto_advance)
{
	return asup__sched_has_ready(&rt->sched) ||
	       (auto_advance && asup__timebase_next(&rt->tb) != ASUP_TIME_MAX);
}

int asup__drive_advance_if_idle(asup_rt *rt)
{
	asup_time next;

	if (asup__sched_has_ready(&rt->sched))
		return 0;
	next = asup__timebase_next(&rt->tb);
	if (next == ASUP_TIME_MAX)
		return 0;
	asup__timebase_advance_to(&rt->tb, next);
	return 1;
}

/* ---- tasks ------------------------------------------------------------- */

void asup__drive_task_of(const asup__ktask *kt, asup__drive_task *out)
{
	out->id = kt->id;
	out->region = kt->owner ? kt->owner->id : ASUP_ID_NONE;
	out->index = kt->t.index;
	out->name = kt->t.name;
	out->completed = kt->pstate == ASUP__P_COMPLETED;
	out->live = !out->completed && !kt->is_cleanup;
	out->queued = kt->t.lane == ASUP__LANE_READY || kt->t.lane == ASUP__LANE_CANCEL;
	out->parked = kt->t.state == ASUP__T_PARKED;
}

int asup__drive_each_task(asup_rt *rt, int (*fn)(void *ctx, const asup__drive_task *t),
			  void *ctx)
{
	asup__arena *a = &rt->kernel.tasks;
	asup__drive_task v;
	int rc;

	for (uint32_t i = 0; i < a->len; i++) {
		if (!a->slot[i].ptr)
			continue;
		asup__drive_task_of(a->slot[i].ptr, &v);
		if ((rc = fn(ctx, &v)) != 0)
			return rc;
	}
	return 0;
}

int asup__drive_abort_task(asup_rt *rt, uint64_t id, asup_cancel_kind kind, const char *msg,
			   void (*announce)(void *ctx), void *ctx)
{
	asup__kernel *k = &rt->kernel;
	asup__ktask *kt = asup__task_lookup(k, id);
	asup__reason *r;

	if (!kt)
		return 0;
	r = asup__reason_make(k, kind, kt->owner, kt, msg);
	if (!r)
		return 0;
	if (announce)
		announce(ctx);
	asup__task_abort(k, kt, r);
	asup__reason_unref(&k->alloc, r);
	return 1;
}

void asup__drive_requeue(asup_rt *rt, uint64_t id)
{
	asup__ktask *kt = asup__task_lookup(&rt->kernel, id);

	if (kt)
		asup__sched_requeue(&rt->sched, &kt->t);
}

int asup__drive_unpark(asup_rt *rt, uint64_t id)
{
	asup__ktask *kt = asup__task_lookup(&rt->kernel, id);

	return kt && asup__sched_unpark(&rt->sched, &kt->t) > 0;
}

void asup__drive_exhaust_budget(asup_rt *rt, uint64_t id)
{
	asup__ktask *kt = asup__task_lookup(&rt->kernel, id);

	if (!kt)
		return;
	kt->budget.poll_quota = 0;
	kt->budget_limited = 1;
}

/* ---- the root region --------------------------------------------------- */

uint64_t asup__drive_root_id(asup_rt *rt)
{
	return rt->kernel.root ? rt->kernel.root->id : ASUP_ID_NONE;
}

int asup__drive_spawn_root(asup_rt *rt, asup_task_fn fn, void *arg, const char *name,
			   asup_task *out)
{
	asup__spawn_req req;
	asup_spawn_opts o;

	if (!rt->kernel.root)
		return -EINVAL;
	asup_spawn_opts_init(&o);
	o.name = name;
	memset(&req, 0, sizeof(req));
	req.fn = fn;
	req.arg = arg;
	req.opts = &o;
	req.region = rt->kernel.root;
	req.budget = rt->kernel.root->budget;
	return asup__task_spawn(&rt->kernel, &req, out);
}

void asup__drive_cancel_root(asup_rt *rt, asup_cancel_kind kind, const asup__ktask *kt,
			     const char *msg)
{
	asup__kernel *k = &rt->kernel;
	asup__reason *r;

	if (!k->root)
		return;
	r = asup__reason_make(k, kind, k->root, kt, msg);
	if (r) {
		asup__region_cancel(k, k->root, r);
		asup__reason_unref(&k->alloc, r);
	}
}

void asup__drive_close_root(asup_rt *rt)
{
	asup__kernel *k = &rt->kernel;

	if (!k->root)
		return;
	asup__region_begin_close(k, k->root, NULL);
	asup__region_advance(k, k->root);
}

int asup__drive_retry_finalizers(asup_rt *rt)
{
	return asup__region_retry_finalizers(&rt->kernel);
}

uint32_t asup__drive_live(asup_rt *rt)
{
	return rt->kernel.live;
}

int asup__drive_quiescent(asup_rt *rt)
{
	return rt->kernel.live == 0 && rt->kernel.obligations.live == 0;
}
