/*
 * Task records: spawn, completion, the cancellation protocol of a record,
 * handles and join (see kernel.h for the record lifecycle).
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

#define H_CONSUMED 1u /* this handle was joined or released */

int asup__kernel_init(asup__kernel *k, const asup__alloc *a, asup__sched *s, uint64_t seed)
{
	memset(k, 0, sizeof(*k));
	k->alloc = *a;
	k->sched = s;
	s->rec_bytes = sizeof(asup__ktask);
	k->seed = seed;
	k->chain_depth = ASUP__CHAIN_DEPTH_DEFAULT;
	k->leak_response = ASUP_LEAK_LOG;
	k->rec_trim_at = ASUP__REC_TRIM_MIN;
	asup__arena_init(&k->tasks, &k->alloc);
	asup__arena_init(&k->regions, &k->alloc);
	asup__arena_init(&k->obligations, &k->alloc);
	return asup__region_create(k, NULL, asup_budget_default(), &k->root);
}

static void rec_release_refs(asup__kernel *k, asup__ktask *kt)
{
	if (!((uintptr_t)kt->rec_reason | (uintptr_t)kt->cx_reason | (uintptr_t)kt->out_reason |
	      (uintptr_t)kt->panic_msg))
		return; /* the common case: a task nobody cancelled */
	asup__reason_unref(&k->alloc, kt->rec_reason);
	asup__reason_unref(&k->alloc, kt->cx_reason);
	asup__reason_unref(&k->alloc, kt->out_reason);
	kt->rec_reason = kt->cx_reason = kt->out_reason = NULL;
	if (kt->panic_msg) {
		asup__free_mem(&k->alloc, kt->panic_msg, ASUP_PANIC_MSG_MAX);
		kt->panic_msg = NULL;
	}
}

void asup__kernel_destroy(asup__kernel *k)
{
	struct asup__rec_chunk *c, *next;

	/* Tasks that never finished are discarded: their stacks are released
	 * and C cleanup past their suspension point does not run. */
	for (c = k->chunks; c; c = c->next)
		for (int i = 0; i < ASUP__REC_CHUNK; i++) {
			asup__ktask *kt = &c->recs[i];
			if (!kt->in_use)
				continue;
			asup__region_finalizer_discard(k, kt);
			asup__sched_discard(k->sched, &kt->t);
			/* The pool is stopped by now: nothing else touches it. */
			asup__free_mem(&k->alloc, kt->bjob, sizeof(*kt->bjob));
			kt->bjob = NULL;
		}
	for (uint32_t i = 0; i < k->obligations.len; i++)
		asup__free_mem(&k->alloc, k->obligations.slot[i].ptr, sizeof(asup__obligation));
	for (uint32_t i = 0; i < k->regions.len; i++) {
		asup__region *r = k->regions.slot[i].ptr;
		if (r) {
			asup__region_report_unjoined(k, r);
			asup__region_heap_release(k, r);
			asup__reason_unref(&k->alloc, r->reason);
			asup__free_mem(&k->alloc, r->fin, (size_t)r->capfin * sizeof(*r->fin));
			asup__free_mem(&k->alloc, r, sizeof(*r));
		}
	}
	for (c = k->chunks; c; c = next) {
		next = c->next;
		for (int i = 0; i < ASUP__REC_CHUNK; i++)
			rec_release_refs(k, &c->recs[i]);
		asup__free_mem(&k->alloc, c, sizeof(*c));
	}
	k->chunks = NULL;
	k->free_recs = NULL;
	asup__rec_chunks_free(k);
	asup__arena_destroy(&k->tasks);
	asup__arena_destroy(&k->regions);
	asup__arena_destroy(&k->obligations);
}

/* ---- the driving thread ------------------------------------------------ */

_Thread_local asup__kernel *asup__tls_kernel __attribute__((tls_model("initial-exec")));

void asup__kernel_enter(asup__kernel *k)
{
	asup__tls_kernel = k;
	atomic_store_explicit(&k->driver, (uintptr_t)&asup__tls_kernel, memory_order_release);
}

void asup__kernel_leave(asup__kernel *k)
{
	atomic_store_explicit(&k->driver, 0, memory_order_release);
	asup__tls_kernel = NULL;
}

/* ---- records ----------------------------------------------------------- */

/* A singly linked free stack: popping and pushing touch only the record
 * itself, which matters when thousands of cold records cycle. */
static asup__ktask *rec_alloc(asup__kernel *k)
{
	asup__ktask *kt = k->free_recs;

	if (!kt) {
		if (asup__rec_grow(k) < 0)
			return NULL;
		kt = k->free_recs;
	}
	k->free_recs = kt->next_free;
	k->nfree--;
	kt->in_use = 1;
	return kt;
}

static void rec_free(asup__kernel *k, asup__ktask *kt)
{
	if (kt->fail_listed) {
		/* A failed task's outcome given up unread is reported as well. */
		if (kt->released && !kt->consumed)
			asup__task_report_failed(k, kt, kt->fail_region->id, "released");
		asup__list_remove(&kt->fail_link);
		kt->fail_listed = 0;
	}
	if (kt->in_arena) {
		asup__arena_remove(&k->tasks, kt->id);
		kt->in_arena = 0;
	}
	kt->in_use = 0;
	kt->cx.magic = 0;
	kt->t.gen++; /* outstanding handles and wakers go stale */
	rec_release_refs(k, kt);
	kt->next_free = k->free_recs;
	k->free_recs = kt;
	k->nfree++;
	/* Many free records while busy (the tail of a large burst): give the
	 * memory of wholly free chunks back (see records.c). */
	if (__builtin_expect(k->nfree > k->rec_trim_at, 0) && k->nfree > 2 * (k->nrecs - k->nfree))
		asup__rec_trim(k, ASUP__REC_KEEP);
}

asup__ktask *asup__task_lookup(const asup__kernel *k, uint64_t id)
{
	return asup__arena_get(&k->tasks, id);
}

asup__reason *asup__reason_make(asup__kernel *k, asup_cancel_kind kind, const asup__region *r,
				const asup__ktask *t, const char *msg)
{
	asup__reason *n = asup__reason_new(&k->alloc, kind, r ? r->id : ASUP_ID_NONE,
					   t ? t->id : ASUP_ID_NONE, asup__sched_now(k->sched), msg,
					   NULL, k->chain_depth);
	return asup__reason_or_fallback(n, kind);
}

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

int asup__task_spawn(asup__kernel *k, const asup__spawn_req *req, asup_task *out)
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
	kt = rec_alloc(k);
	if (!kt)
		return -ENOMEM;
	if (asup__arena_insert(&k->tasks, kt, &id) < 0) {
		rec_free(k, kt);
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
		rec_free(k, kt);
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

/* ---- completion -------------------------------------------------------- */

void asup__task_finish(asup__kernel *k, asup__ktask *kt)
{
	kt->pstate = ASUP__P_COMPLETED;
	k->live--;
	k->completed++;
	asup__k_event(k, ASUP_EV_COMPLETE, kt, NULL, kt->rec_kind, kt->kind);
	asup__waitq_wake_all(&kt->joiners);
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
		rec_free(k, kt);
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

/* ---- handles ----------------------------------------------------------- */

/* The runtime test comes before anything of the record is read but its
 * kernel (written once): a handle of a runtime another thread drives is
 * refused without racing with that thread, and one of another runtime
 * changes nothing there. */
int asup__handle_resolve(const asup_task *h, asup__ktask **out)
{
	asup__ktask *kt;
	int rc;

	if (!h || !h->_rec)
		return -EINVAL;
	if (h->_flags & H_CONSUMED)
		return -ASUP_EJOINED;
	kt = h->_rec;
	rc = asup__k_here(kt->cx.k);
	if (rc < 0)
		return rc;
	if (kt->t.gen != h->_gen || !kt->in_use || kt->released || kt->consumed)
		return -ESRCH;
	*out = kt;
	return 0;
}

void asup__handle_consume(asup__kernel *k, asup__ktask *kt, asup_task *h, asup_outcome *out)
{
	if (out) {
		/* Only what the kind says is meaningful is filled in full; the
		 * rest is left empty (this is on the spawn/join hot path). */
		out->kind = kt->kind;
		out->value = kt->value;
		out->panic_msg[0] = '\0';
		if (kt->kind == ASUP_OUTCOME_CANCELLED)
			asup__reason_export(kt->out_reason, &out->reason);
		else
			out->reason.kind = ASUP_CANCEL_USER, out->reason.has_message = 0;
		if (kt->kind == ASUP_OUTCOME_PANICKED && kt->panic_msg)
			memcpy(out->panic_msg, kt->panic_msg, ASUP_PANIC_MSG_MAX);
	}
	h->_flags |= H_CONSUMED;
	kt->consumed = 1;
	if (!kt->owner && !kt->t.stack) /* already left its region */
		rec_free(k, kt);
}

static void drop_abort(asup__kernel *k, asup__ktask *kt)
{
	asup__reason *r;

	if (kt->defused || kt->pstate == ASUP__P_COMPLETED)
		return;
	r = asup__reason_make(k, kt->drop_kind, kt->owner, kt, "abort");
	asup__task_abort(k, kt, r);
	asup__reason_unref(&k->alloc, r);
}

ASUP_API int asup_join(asup_cx *cx, asup_task *h, asup_outcome *out)
{
	asup__ktask *self = asup__cx_self(cx), *kt;
	int rc;

	if (!self)
		return -ASUP_ENOTASK;
	rc = asup__handle_resolve(h, &kt);
	if (rc < 0)
		return rc;
	if (kt->cx.k != cx->k)
		return -EXDEV;
	if (kt == self)
		return -EDEADLK;
	rc = asup__cx_checkpoint(cx);
	while (rc == 0 && kt->pstate != ASUP__P_COMPLETED) {
		rc = asup__cx_waitq_wait_as(cx, &kt->joiners, ASUP__WAIT_JOIN, kt->id);
		if (rc == 0)
			rc = asup__handle_resolve(h, &kt); /* consumed by a copy? */
	}
	if (rc == -ECANCELED)
		drop_abort(cx->k, kt);
	if (rc < 0)
		return rc;
	asup__handle_consume(cx->k, kt, h, out);
	return 0;
}

ASUP_API int asup_task_try_join(asup_task *h, asup_outcome *out)
{
	asup__ktask *kt;
	int rc = asup__handle_resolve(h, &kt);

	if (rc < 0)
		return rc;
	if (kt->pstate != ASUP__P_COMPLETED)
		return -EAGAIN;
	asup__handle_consume(kt->cx.k, kt, h, out);
	return 0;
}

ASUP_API int asup_task_is_finished(const asup_task *h)
{
	asup__ktask *kt;
	int rc = asup__handle_resolve(h, &kt);
	return rc < 0 ? rc : kt->pstate == ASUP__P_COMPLETED;
}

ASUP_API int asup_task_release(asup_task *h)
{
	asup__ktask *kt;
	int rc = asup__handle_resolve(h, &kt);

	if (rc < 0)
		return rc;
	h->_flags |= H_CONSUMED;
	kt->released = 1;
	if (!kt->owner && !kt->t.stack)
		rec_free(kt->cx.k, kt);
	return 0;
}

ASUP_API int asup_task_abort_with(asup_task *h, asup_cancel_kind kind, const char *msg)
{
	asup__ktask *kt;
	asup__reason *r;
	int rc = asup__handle_resolve(h, &kt);

	if (rc < 0)
		return rc;
	if (asup_cancel_kind_severity(kind) < 0)
		return -EINVAL;
	if (kt->pstate == ASUP__P_COMPLETED)
		return 0;
	r = asup__reason_make(kt->cx.k, kind, kt->owner, kt, msg);
	asup__task_abort(kt->cx.k, kt, r);
	asup__reason_unref(&kt->cx.k->alloc, r);
	return 0;
}

ASUP_API int asup_task_abort(asup_task *h)
{
	return asup_task_abort_with(h, ASUP_CANCEL_USER, "abort");
}

ASUP_API int asup_task_set_drop_reason(asup_task *h, asup_cancel_kind kind)
{
	asup__ktask *kt;
	int rc = asup__handle_resolve(h, &kt);

	if (rc < 0)
		return rc;
	if (asup_cancel_kind_severity(kind) < 0)
		return -EINVAL;
	kt->drop_kind = kind;
	return 0;
}

ASUP_API int asup_task_defuse(asup_task *h)
{
	asup__ktask *kt;
	int rc = asup__handle_resolve(h, &kt);

	if (rc < 0)
		return rc;
	kt->defused = 1;
	return 0;
}

/* ---- waiting on several tasks ------------------------------------------ */

int asup__wait_any(asup__kernel *k, asup__ktask *self, asup__ktask **recs, size_t n,
		   int interruptible)
{
	asup__waiter local[8], *w = local;
	int rc = 0;

	if (n > 8) {
		w = asup__alloc_mem(&k->alloc, n * sizeof(*w));
		if (!w)
			return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		asup__waiter_init(&w[i], &self->t);
		asup__list_push_back(&recs[i]->joiners, &w[i].link);
	}
	if (!interruptible)
		self->t.masked++;
	self->wait_kind = ASUP__WAIT_JOIN; /* of the first; the dump says "any of" */
	self->wait_id = n == 1 ? recs[0]->id : ASUP_ID_NONE;
	for (;;) {
		size_t i;
		for (i = 0; i < n; i++)
			if (recs[i]->pstate == ASUP__P_COMPLETED)
				break;
		if (i < n)
			break;
		if (!interruptible) {
			/* No deadline either: a passed one would wake us at once,
			 * over and over. */
			asup__sched_park(k->sched, &self->t, ASUP_TIME_MAX, 0);
			continue;
		}
		rc = asup__cx_park_as(&self->cx, ASUP_TIME_MAX, 0, ASUP__WAIT_JOIN, self->wait_id);
		if (rc < 0)
			break;
	}
	self->wait_kind = ASUP__WAIT_NONE;
	if (!interruptible)
		self->t.masked--;
	for (size_t i = 0; i < n; i++)
		asup__list_remove(&w[i].link);
	if (w != local)
		asup__free_mem(&k->alloc, w, n * sizeof(*w));
	return rc;
}

/* ---- invariants -------------------------------------------------------- */

int asup__kernel_check(const asup__kernel *k)
{
	uint32_t live = 0;

	if (asup__arena_check(&k->tasks) || asup__arena_check(&k->regions))
		return -EINVAL;
	for (uint32_t i = 0; i < k->tasks.len; i++) {
		const asup__ktask *kt = k->tasks.slot[i].ptr;
		if (!kt)
			continue;
		if (!kt->in_use || !kt->in_arena || ASUP__ID_INDEX(kt->id) != i)
			return -EINVAL;
		if (kt->pstate != ASUP__P_COMPLETED)
			live++;
	}
	if (live != k->live)
		return -EINVAL;
	for (uint32_t i = 0; i < k->regions.len; i++) {
		const asup__region *r = k->regions.slot[i].ptr;
		uint32_t nt = 0, nc = 0;
		if (!r)
			continue;
		if (r->state == ASUP__R_CLOSED || ASUP__ID_INDEX(r->id) != i)
			return -EINVAL;
		for (const asup__list *l = r->tasks.next; l != &r->tasks; l = l->next)
			nt++;
		for (const asup__list *l = r->children.next; l != &r->children; l = l->next) {
			const asup__region *c = asup__container_of(l, asup__region, sibling);
			if (c->parent != r)
				return -EINVAL;
			nc++;
		}
		if (nt != r->ntasks || nc != r->nchildren)
			return -EINVAL;
		if (!r->parent && r != k->root)
			return -EINVAL;
	}
	return 0;
}
