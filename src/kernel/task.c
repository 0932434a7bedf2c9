/*
 * Tasks: spawn, completion and the cancellation protocol of a record (see
 * kernel.h for the record lifecycle). The kernel object is in kernel.c,
 * records' memory in records.c, handles and join in handle.c, waits on
 * several tasks in wait.c.
 *
 * Records are recycled through a free list, so after warm-up spawn and join
 * never allocate. A handle names a record by pointer and generation: the
 * record stays valid (pooled) until the runtime is destroyed, and a recycled
 * record has a new generation, so a stale handle is always detected.
 *
 * Two views of an outcome are kept, as the specification requires: the
 * record's (a task that finishes after a cancel request completes Cancelled)
 * and the handle's (the value the task returned wins).
 */
#include "kernel.h"

#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* ---- spawn ------------------------------------------------------------- */

ASUP_API void asup_spawn_opts_init(asup_spawn_opts *opts)
{
	if (!opts)
		return;
	memset(opts, 0, sizeof(*opts));
	opts->priority = ASUP_PRIORITY_DEFAULT;
}

static int budget_limited(const asup_budget *b)
{
	return b->deadline != ASUP_TIME_MAX || b->poll_quota != ASUP_NO_POLL ||
	       b->cost_quota != ASUP_NO_COST;
}

static void init_cx_state(asup__kernel *k, asup__ktask *kt, const asup__spawn_req *req)
{
	kt->cx.magic = ASUP__CX_MAGIC;
	kt->cx.deadline = ASUP_TIME_MAX;
	kt->cx.scope_deadline = ASUP_TIME_MAX;
	kt->scope_cancelled = 0;
	kt->cx.scope = req->region;
	kt->cx.frame = NULL;
	kt->budget = req->budget;
	kt->budget_limited = (uint8_t)budget_limited(&req->budget);
	kt->cancel_requested = 0;
	kt->checkpoints = 0;
	kt->last_checkpoint = 0;
	kt->caps = req->parent ? req->parent->caps : ASUP_CAP_ALL;
	asup__rng_seed(&kt->entropy, asup__mix64(k->seed + 0x9e3779b97f4a7c15ull + kt->id +
						 k->fork_counter++));
}

/* Inlined into asup_spawn, where most of req is constant (no cleanup, no
 * mask, a parent) and its copy to the stack folds away. */
static inline int spawn_core(asup__kernel *k, const asup__spawn_req *req, asup_task *out)
{
	const asup_spawn_opts *o = req->opts;
	asup__region *r = req->region;
	size_t stack = 0;
	asup__ktask *kt;
	uint64_t id;
	int rc;

	if (!req->fn || !out)
		return -EINVAL;
	if (o && o->stack_size && !(stack = asup__stack_round(o->stack_size)))
		return -EINVAL;
	if (!r || !r->in_use)
		return -ESRCH;
	rc = asup__region_admits_task(r, req->cleanup);
	if (rc < 0)
		return rc;
	kt = asup__rec_alloc(k);
	if (!kt)
		return -ENOMEM;
	if (asup__arena_insert(&k->tasks, kt, &id) < 0) {
		asup__rec_free(k, kt);
		return -ENOMEM;
	}
	kt->in_arena = 1;
	kt->id = id;
	kt->fn = req->fn;
	kt->arg = req->arg;
	kt->owner = r;
	kt->pstate = ASUP__P_CREATED;
	kt->is_cleanup = req->cleanup;
	kt->local = req->local;
	kt->released = kt->consumed = 0;
	kt->cancel_epoch = 0;
	kt->rec_kind = kt->kind = ASUP_OUTCOME_OK;
	kt->value = 0;
	kt->drop_kind = ASUP_CANCEL_USER;
	kt->defused = 0;
	kt->bjob = NULL;
	kt->created_at = asup__sched_now_cheap(k->sched);
	init_cx_state(k, kt, req);
	asup__list_init(&kt->joiners);
	asup__list_init(&kt->held);
	kt->t.priority = req->budget.priority;
	if (o && o->priority > kt->t.priority)
		kt->t.priority = o->priority;
	kt->t.cancel_priority = ASUP__CLEANUP_PRIORITY_MIN;
	kt->t.interrupt = 0;
	kt->t.masked = req->masked;
	kt->t.stack_size = stack;
	kt->t.index = ASUP__ID_INDEX(id);
	kt->t.id = id;
	kt->t.local = req->local;
	kt->traced = (uint8_t)asup__k_traced(k);
	kt->t.name[0] = '\0';
	if (o && o->name) {
		strncpy(kt->t.name, o->name, ASUP__NAME_MAX - 1);
		kt->t.name[ASUP__NAME_MAX - 1] = '\0';
	}
	asup__list_push_back(&r->tasks, &kt->region_link);
	r->ntasks++;
	rc = asup__sched_reserve(k->sched);
	if (rc == 0) {
		if (asup__k_traced(k))
			asup__k_spawn_events(k, kt, req->parent);
		rc = asup__sched_admit(k->sched, &kt->t);
	}
	if (rc < 0) {
		asup__list_remove(&kt->region_link);
		r->ntasks--;
		asup__rec_free(k, kt);
		return rc;
	}
	k->live++;
	k->spawned++;
	out->_rec = kt;
	out->_id = id;
	out->_gen = kt->t.gen;
	out->_flags = 0;
	return 0;
}

int asup__task_spawn(asup__kernel *k, const asup__spawn_req *req, asup_task *out)
{
	return spawn_core(k, req, out);
}

/* ---- spawning ---------------------------------------------------------- */

static int spawn_here(asup_cx *cx, asup_task_fn fn, void *arg, const asup_spawn_opts *opts,
		      asup_task *out, int local)
{
	asup__ktask *self = asup__cx_self(cx);

	if (!self)
		return -ASUP_ENOTASK;
	if (!(self->caps & ASUP_CAP_SPAWN))
		return -EPERM;
	asup__k_effect(cx->k, self, ASUP_CAP_SPAWN);
	asup__spawn_req req = {
		.fn = fn,
		.arg = arg,
		.opts = opts,
		.region = cx->scope,
		.budget = cx->scope->budget,
		.parent = self,
		.local = (uint8_t)local,
	};
	return spawn_core(cx->k, &req, out);
}

ASUP_API int asup_spawn(asup_cx *cx, asup_task_fn fn, void *arg, const asup_spawn_opts *opts,
			asup_task *out)
{
	return spawn_here(cx, fn, arg, opts, out, 0);
}

ASUP_API int asup_spawn_local(asup_cx *cx, asup_task_fn fn, void *arg,
			      const asup_spawn_opts *opts, asup_task *out)
{
	/* A task always runs on a worker with a local queue. */
	return spawn_here(cx, fn, arg, opts, out, 1);
}

/* ---- completion -------------------------------------------------------- */

void asup__task_finish(asup__kernel *k, asup__ktask *kt)
{
	kt->pstate = ASUP__P_COMPLETED;
	k->live--;
	k->completed++;
	asup__k_event(k, ASUP_EV_COMPLETE, kt, NULL, kt->rec_kind, kt->kind);
	if (!asup__list_empty(&kt->joiners)) /* most tasks end before their join */
		asup__waitq_wake_all_with(&kt->joiners, ASUP__JOIN_DONE);
}

/* The completion mapping: the record completes Cancelled in any cancel state;
 * the handle gets the value, or Cancelled for a -ECANCELED return after a
 * cancel request. */
static void complete(asup__kernel *k, asup__ktask *kt, int64_t v)
{
	asup__reason *why = kt->cx_reason ? kt->cx_reason : kt->rec_reason;

	kt->value = v;
	if (v == -ECANCELED && kt->cancel_requested) {
		kt->kind = ASUP_OUTCOME_CANCELLED;
		asup__reason_set(&k->alloc, &kt->out_reason, why);
	} else {
		kt->kind = v >= 0 ? ASUP_OUTCOME_OK : ASUP_OUTCOME_ERR;
	}
	switch (kt->pstate) {
	case ASUP__P_CANCEL_REQUESTED:
	case ASUP__P_CANCELLING:
	case ASUP__P_FINALIZING:
		kt->rec_kind = ASUP_OUTCOME_CANCELLED;
		if (kt->cancel_epoch == 0)
			kt->cancel_epoch = 1;
		break;
	default:
		kt->rec_kind = kt->kind;
		break;
	}
	asup__task_finish(k, kt);
}

void asup__kernel_task_main(asup__kernel *k, asup__task *t)
{
	asup__ktask *kt = asup__ktask_of(t);
	int64_t v;

	if (kt->pstate == ASUP__P_CREATED)
		kt->pstate = ASUP__P_RUNNING;
	v = kt->fn(&kt->cx, kt->arg);
	complete(k, kt, v);
}

/* ---- failures nobody reads ------------------------------------------- */

void asup__task_report_failed(asup__kernel *k, const asup__ktask *kt, uint64_t region,
			      const char *why)
{
	char line[160 + ASUP__NAME_MAX + ASUP_PANIC_MSG_MAX];
	int panicked = kt->kind == ASUP_OUTCOME_PANICKED;
	asup_report rep;

	if (!k->report)
		return;
	memset(&rep, 0, sizeof(rep));
	rep.kind = ASUP_REPORT_TASK_FAILED;
	rep.task_id = kt->id;
	rep.task_name = kt->t.name;
	rep.region_id = region;
	rep.outcome = kt->kind;
	rep.value = kt->value;
	rep.panic_msg = panicked && kt->panic_msg ? kt->panic_msg : "";
	rep.why = why;
	if (panicked)
		snprintf(line, sizeof(line), "asupersync: task '%s' (T%u) in region R%u panicked: %s (%s)",
			 kt->t.name, (unsigned)ASUP__ID_INDEX(kt->id), (unsigned)ASUP__ID_INDEX(region),
			 rep.panic_msg, why);
	else
		snprintf(line, sizeof(line),
			 "asupersync: task '%s' (T%u) in region R%u ended Err (%lld) (%s)", kt->t.name,
			 (unsigned)ASUP__ID_INDEX(kt->id), (unsigned)ASUP__ID_INDEX(region),
			 (long long)kt->value, why);
	rep.line = line;
	k->report(k->report_ud, &rep);
}

/* A task that ended Err or Panicked: reported now if its handle is gone,
 * else remembered by its region, which reports it at close unless a join or
 * try_join reads it first (rec_free takes it off the list). */
static void note_failure(asup__kernel *k, asup__ktask *kt, asup__region *r)
{
	if ((kt->kind != ASUP_OUTCOME_ERR && kt->kind != ASUP_OUTCOME_PANICKED) || kt->consumed)
		return;
	if (kt->released) {
		asup__task_report_failed(k, kt, r->id, "released");
		return;
	}
	kt->fail_listed = 1;
	kt->fail_region = r;
	asup__list_push_back(&r->failed, &kt->fail_link);
}

/* The spec's task_completed: leave the tables, settle obligations, let the
 * region move on. Runs after the task's stack was released. */
void asup__kernel_task_exited(asup__kernel *k, asup__task *t)
{
	asup__ktask *kt = asup__ktask_of(t);
	asup__region *r = kt->owner;

	if (kt->in_arena) {
		asup__arena_remove(&k->tasks, kt->id);
		kt->in_arena = 0;
	}
	asup__list_remove(&kt->region_link);
	r->ntasks--;
	if (kt->nobl)
		asup__task_obligations_completed(k, kt);
	while (!asup__list_empty(&kt->held)) {
		asup__exit_hook *h = asup__container_of(asup__list_pop_front(&kt->held),
							asup__exit_hook, link);
		h->on_exit(h, kt->rec_kind == ASUP_OUTCOME_PANICKED);
	}
	if (kt->is_cleanup)
		r->fin_running = 0;
	note_failure(k, kt, r);
	kt->owner = NULL;
	if (kt->released || kt->consumed)
		asup__rec_free(k, kt);
	if (r->state != ASUP__R_OPEN) /* an open region has nothing to advance */
		asup__region_advance(k, r);
}

void asup__kernel_task_start_failed(asup__kernel *k, asup__task *t, int rc)
{
	asup__ktask *kt = asup__ktask_of(t);
	complete(k, kt, rc);
	asup__kernel_task_exited(k, t);
}

/* ---- cancel requests ----------------------------------------------------- */

static void interrupt(asup__kernel *k, asup__ktask *kt, const asup__reason *r)
{
	/* Cleanup priority by severity (see asup_cancel_kind_cleanup_budget). */
	static const uint8_t prio_by_severity[6] = {200, 210, 215, 220, 220, 255};
	int sev = asup_cancel_kind_severity(r ? r->kind : ASUP_CANCEL_USER);
	uint8_t prio = prio_by_severity[sev < 0 ? 0 : sev];
	if (prio > kt->t.cancel_priority)
		kt->t.cancel_priority = prio;
	asup__sched_interrupt(k->sched, &kt->t, -ECANCELED);
}

static void request_cancel(asup__kernel *k, asup__ktask *kt, asup__reason *reason,
			   uint64_t overwrite)
{
	if (kt->pstate == ASUP__P_COMPLETED)
		return;
	kt->cancel_requested = 1;
	if (kt->bjob)
		atomic_store(&kt->bjob->cancelled, 1);
	asup__reason_strengthen(&k->alloc, &kt->cx_reason, reason);
	asup__k_event(k, ASUP_EV_CANCEL_REQUEST, kt, NULL,
		      (kt->cx_reason ? (uint64_t)kt->cx_reason->kind : (uint64_t)reason->kind) |
			      overwrite,
		      kt->cancel_epoch);
	interrupt(k, kt, kt->cx_reason);
}

void asup__cx_request_cancel(asup__kernel *k, asup__ktask *kt, asup__reason *reason)
{
	request_cancel(k, kt, reason, 0);
}

void asup__cx_cancel_overwrite(asup__kernel *k, asup__ktask *kt, asup__reason *reason)
{
	asup__reason_set(&k->alloc, &kt->cx_reason, reason);
	request_cancel(k, kt, reason, ASUP_CANCEL_EV_OVERWRITE);
}

int asup__task_request_cancel(asup__kernel *k, asup__ktask *kt, asup__reason *reason,
			      asup_budget cleanup)
{
	int newly = 0;

	if (kt->pstate == ASUP__P_COMPLETED)
		return 0;
	if (kt->pstate == ASUP__P_CREATED || kt->pstate == ASUP__P_RUNNING) {
		kt->pstate = ASUP__P_CANCEL_REQUESTED;
		kt->cancel_epoch++;
		asup__reason_set(&k->alloc, &kt->rec_reason, reason);
		newly = 1;
	} else {
		asup__reason_strengthen(&k->alloc, &kt->rec_reason, reason);
		if (kt->pstate != ASUP__P_CANCEL_REQUESTED) {
			kt->budget = asup_budget_meet(kt->budget, cleanup);
			kt->budget_limited = (uint8_t)budget_limited(&kt->budget);
		}
	}
	asup__cx_request_cancel(k, kt, kt->rec_reason);
	return newly;
}

void asup__task_abort(asup__kernel *k, asup__ktask *kt, asup__reason *reason)
{
	asup__cx_request_cancel(k, kt, reason);
}
