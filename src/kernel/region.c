/*
 * Regions: the tree, the state machine, admission, finalizers, close, and
 * cancel propagation (see kernel.h for the states and invariants).
 *
 * advance() is the one place a region moves forward; it is called whenever
 * something it waits for changed (a task completed, a child closed, an
 * obligation resolved, a finalizer finished, a close began). It is iterative:
 * closing a region advances its parent in the same loop.
 *
 * User code never runs inside advance(): each finalizer runs as a cleanup task
 * of its region, one at a time, last registered first.
 */
#include "kernel.h"

#include <stdlib.h>
#include <string.h>

ASUP_API asup_region_limits asup_region_limits_unlimited(void)
{
	asup_region_limits l = {ASUP_UNLIMITED, ASUP_UNLIMITED, ASUP_UNLIMITED, UINT64_MAX};
	return l;
}

asup__region *asup__region_lookup(const asup__kernel *k, uint64_t id)
{
	return asup__arena_get(&k->regions, id);
}

struct asup__hblock {
	struct asup__hblock *next;
	size_t size;
	_Alignas(16) unsigned char data[];
};

static void heap_free(asup__kernel *k, asup__region *r)
{
	struct asup__hblock *b, *next;
	for (b = r->heap; b; b = next) {
		next = b->next;
		asup__free_mem(&k->alloc, b, sizeof(*b) + b->size);
	}
	k->heap_bytes -= r->heap_bytes;
	r->heap = NULL;
	r->heap_bytes = 0;
}

void asup__region_heap_release(asup__kernel *k, asup__region *r)
{
	heap_free(k, r);
}

ASUP_API int asup_region_alloc(asup_cx *cx, size_t size, asup_rref *out)
{
	asup__region *r;
	struct asup__hblock *b;

	if (!asup__cx_self(cx))
		return -ASUP_ENOTASK;
	if (!out || size == 0 || size > SIZE_MAX / 2)
		return -EINVAL;
	r = cx->scope;
	if (r->state == ASUP__R_CLOSED)
		return -ASUP_ECLOSED;
	if (r->heap_bytes + size > r->limits.max_heap_bytes)
		return -ASUP_ECAPACITY;
	b = asup__alloc_mem(&cx->k->alloc, sizeof(*b) + size);
	if (!b)
		return -ENOMEM;
	memset(b->data, 0, size);
	b->size = size;
	b->next = r->heap;
	r->heap = b;
	r->heap_bytes += size;
	cx->k->heap_bytes += size;
	out->region = r->id;
	out->ptr = b->data;
	return 0;
}

ASUP_API void *asup_rref_get(asup_cx *cx, asup_rref ref)
{
	if (!asup__cx_self(cx) || !asup__region_lookup(cx->k, ref.region))
		return NULL;
	return ref.ptr;
}

static void region_free(asup__kernel *k, asup__region *r)
{
	heap_free(k, r);
	asup__reason_unref(&k->alloc, r->reason);
	asup__free_mem(&k->alloc, r->fin, (size_t)r->capfin * sizeof(*r->fin));
	asup__free_mem(&k->alloc, r, sizeof(*r));
}

int asup__region_create(asup__kernel *k, asup__region *parent, asup_budget budget,
			asup__region **out)
{
	asup__region *r;
	uint64_t id;

	if (parent) {
		if (parent->state != ASUP__R_OPEN)
			return -ASUP_ECLOSED;
		if (parent->nchildren >= parent->limits.max_children)
			return -ASUP_ECAPACITY;
	}
	r = asup__alloc_mem(&k->alloc, sizeof(*r));
	if (!r)
		return -ENOMEM;
	memset(r, 0, sizeof(*r));
	if (asup__arena_insert(&k->regions, r, &id) < 0) {
		asup__free_mem(&k->alloc, r, sizeof(*r));
		return -ENOMEM;
	}
	r->id = id;
	r->parent = parent;
	r->state = ASUP__R_OPEN;
	r->in_use = 1;
	r->limits = asup_region_limits_unlimited();
	r->budget = parent ? asup_budget_meet(parent->budget, budget) : budget;
	asup__list_init(&r->children);
	asup__list_init(&r->sibling);
	asup__list_init(&r->tasks);
	asup__list_init(&r->close_waiters);
	asup__list_init(&r->failed);
	if (parent) {
		asup__list_push_back(&parent->children, &r->sibling);
		parent->nchildren++;
	}
	asup__k_event(k, ASUP_EV_REGION_CREATE, NULL, r, parent ? parent->id : ASUP_ID_NONE,
		      r->budget.deadline);
	*out = r;
	return 0;
}

int asup__region_admits_task(const asup__region *r, int cleanup)
{
	if (r->state == ASUP__R_OPEN)
		return r->ntasks < r->limits.max_tasks ? 0 : -ASUP_ECAPACITY;
	if (r->state == ASUP__R_FINALIZING && cleanup)
		return 0; /* cleanup work bypasses the task limit */
	return -ASUP_ECLOSED;
}

int asup__region_begin_close(asup__kernel *k, asup__region *r, asup__reason *reason)
{
	if (r->state == ASUP__R_CLOSED)
		return 0; /* the terminal reason stays as it was */
	if (reason)
		asup__reason_strengthen(&k->alloc, &r->reason, reason);
	if (r->state != ASUP__R_OPEN)
		return 0;
	r->state = ASUP__R_CLOSING;
	asup__k_event(k, ASUP_EV_REGION_CLOSE_BEGIN, NULL, r,
		      r->reason ? (uint64_t)r->reason->kind + 1 : 0, 0);
	return 1;
}

int asup__region_add_finalizer(asup__kernel *k, asup__region *r, const asup__finalizer *f)
{
	if (r->state != ASUP__R_OPEN)
		return -ASUP_ECLOSED;
	if (r->nfin == r->capfin) {
		uint32_t cap = r->capfin ? r->capfin * 2 : 4;
		if (asup__grow(&k->alloc, (void **)&r->fin, sizeof(*r->fin), r->capfin, cap) < 0)
			return -ENOMEM;
		r->capfin = cap;
	}
	r->fin[r->nfin++] = *f;
	asup__k_event(k, ASUP_EV_FINALIZER_REGISTER, NULL, r, f->async_fn != NULL, 0);
	return 0;
}

/* ---- finalizers -------------------------------------------------------- */

static int64_t run_sync_finalizer(asup_cx *cx, void *arg)
{
	asup__finalizer *f = arg;
	f->sync_fn(f->arg);
	return 0;
}

/* The finalizer a cleanup task runs; owned by that task's argument slot. */
typedef struct fin_job {
	asup__finalizer f;
} fin_job;

static int64_t run_finalizer(asup_cx *cx, void *arg)
{
	fin_job job = *(fin_job *)arg;
	asup__kernel *k = cx->k;

	asup__free_mem(&k->alloc, arg, sizeof(fin_job));
	if (job.f.sync_fn)
		return run_sync_finalizer(cx, &job.f);
	return job.f.async_fn(cx, job.f.arg);
}

void asup__region_finalizer_discard(asup__kernel *k, asup__ktask *kt)
{
	/* A finalizer task that never ran (runtime torn down early) still owns
	 * its job. */
	if (kt->is_cleanup && kt->fn == run_finalizer && kt->t.state == ASUP__T_NEW) {
		asup__free_mem(&k->alloc, kt->arg, sizeof(fin_job));
		kt->arg = NULL;
	}
}

/* Starts the top finalizer as a masked cleanup task. 1 if one started. */
static int start_finalizer(asup__kernel *k, asup__region *r)
{
	asup__spawn_req req;
	asup_spawn_opts o;
	asup_task h;
	fin_job *job;
	asup_budget b = asup_budget_default();

	job = asup__alloc_mem(&k->alloc, sizeof(*job));
	if (!job)
		return 0;
	job->f = r->fin[r->nfin - 1];
	asup_spawn_opts_init(&o);
	o.name = "finalizer";
	b.poll_quota = 100;
	b.deadline = asup_time_add(asup__sched_now(k->sched), ASUP_SEC(5));
	memset(&req, 0, sizeof(req));
	req.fn = run_finalizer;
	req.arg = job;
	req.opts = &o;
	req.region = r;
	req.budget = b;
	req.cleanup = 1;
	req.masked = 1;
	if (asup__task_spawn(k, &req, &h) < 0) {
		asup__free_mem(&k->alloc, job, sizeof(*job));
		return 0;
	}
	r->nfin--;
	r->fin_running = 1;
	if (r->fin_stalled) {
		r->fin_stalled = 0;
		k->fin_stalled--;
	}
	r->fin_task = h._id;
	asup__k_event(k, ASUP_EV_FINALIZER_RUN, h._rec, r, job->f.async_fn != NULL, 0);
	asup_task_release(&h);
	return 1;
}

/* ---- advancing --------------------------------------------------------- */

void asup__region_report_unjoined(asup__kernel *k, asup__region *r)
{
	while (!asup__list_empty(&r->failed)) {
		asup__ktask *kt = asup__container_of(asup__list_pop_front(&r->failed), asup__ktask,
						     fail_link);
		kt->fail_listed = 0;
		asup__task_report_failed(k, kt, r->id, "never joined");
	}
}

static void complete_close(asup__kernel *k, asup__region *r)
{
	asup__region_report_unjoined(k, r);
	asup__k_event(k, ASUP_EV_REGION_CLOSE_COMPLETE, NULL, r,
		      r->parent ? r->parent->id : ASUP_ID_NONE, 0);
	r->state = ASUP__R_CLOSED;
	asup__waitq_wake_all(&r->close_waiters);
	if (r->parent) {
		asup__list_remove(&r->sibling);
		r->parent->nchildren--;
	}
	asup__arena_remove(&k->regions, r->id);
	if (k->root == r)
		k->root = NULL;
	r->in_use = 0;
	region_free(k, r);
}

void asup__region_advance(asup__kernel *k, asup__region *r)
{
	while (r) {
		asup__region *parent = r->parent;

		if (r->state == ASUP__R_CLOSING || r->state == ASUP__R_DRAINING) {
			if (r->nchildren > 0) {
				r->state = ASUP__R_DRAINING;
				return;
			}
			if (r->ntasks > 0 || r->body_running)
				return;
			r->state = ASUP__R_FINALIZING;
		}
		if (r->state != ASUP__R_FINALIZING)
			return;
		if (r->fin_running)
			return;
		if (r->ntasks == 0 && r->nfin == 0 && r->pending_obligations > 0)
			asup__region_obligations_leak(k, r);
		if (r->nfin > 0) {
			if (start_finalizer(k, r))
				return;
			/* Without memory for a cleanup task a sync finalizer runs
			 * here; an async one waits, marked, for the runtime to
			 * retry it when idle (nothing else would advance r). */
			if (!r->fin[r->nfin - 1].sync_fn) {
				if (!r->fin_stalled) {
					r->fin_stalled = 1;
					k->fin_stalled++;
				}
				return;
			}
			r->nfin--;
			asup__k_event(k, ASUP_EV_FINALIZER_RUN, NULL, r, 0, 0);
			r->fin[r->nfin].sync_fn(r->fin[r->nfin].arg);
			continue;
		}
		if (r->ntasks || r->pending_obligations || r->nchildren || r->nblocking)
			return;
		complete_close(k, r);
		r = parent;
	}
}

int asup__region_retry_finalizers(asup__kernel *k)
{
	uint32_t before = k->fin_stalled;

	if (before == 0)
		return 0;
	/* Advancing never inserts regions, so the slot array stays put; a
	 * slot is read again after each advance, which may close regions. */
	for (uint32_t i = 0; i < k->regions.len && k->fin_stalled; i++) {
		asup__region *r = k->regions.slot[i].ptr;
		if (!r || !r->fin_stalled)
			continue;
		r->fin_stalled = 0;
		k->fin_stalled--;
		asup__region_advance(k, r);
	}
	return k->fin_stalled < before ? 1 : -ENOMEM;
}

void asup__region_wait_closed(asup__kernel *k, asup__ktask *self, uint64_t id)
{
	asup__region *r;

	/* Closing is not a checkpoint: a region call returns only when its
	 * region is gone, whatever happens to the caller meanwhile. A closed
	 * region's record is freed, so it is found again by id each time. */
	self->t.masked++;
	self->wait_kind = ASUP__WAIT_REGION;
	self->wait_id = id;
	while ((r = asup__region_lookup(k, id)) != NULL)
		asup__waitq_wait(k->sched, &self->t, &r->close_waiters, ASUP_TIME_MAX, 0);
	self->wait_kind = ASUP__WAIT_NONE;
	self->t.masked--;
}

/* ---- cancel propagation ------------------------------------------------ */

/* Cancels one region with reason (referenced by the caller): sets or
 * strengthens its reason and cancel-requests its live tasks. */
static int cancel_one(asup__kernel *k, asup__region *r, asup__reason *reason)
{
	asup__reason *why;
	asup_budget cleanup;
	int n = 0;

	asup__region_begin_close(k, r, reason); /* sets or strengthens the reason */
	r->cancel_walk = k->cancel_walk;
	why = r->reason ? r->reason : reason;
	cleanup = asup_cancel_kind_cleanup_budget(why->kind);
	asup__k_event(k, ASUP_EV_REGION_CANCEL, NULL, r, why->kind, why->depth);
	if (r->body_task)
		asup__scope_body_cancel(k, r);
	for (asup__list *l = r->tasks.next; l != &r->tasks; l = l->next) {
		asup__ktask *kt = asup__container_of(l, asup__ktask, region_link);
		if (kt->pstate != ASUP__P_COMPLETED) {
			asup__task_request_cancel(k, kt, why, cleanup);
			n++;
		}
	}
	return n;
}

/* The region after r in a pre-order walk of top's subtree (NULL at the end),
 * past r's own subtree when skip is set. Uses only the parent and sibling
 * links, so a walk needs no stack whatever the depth. */
static asup__region *walk_next(asup__region *top, asup__region *r, int skip)
{
	if (!skip && !asup__list_empty(&r->children))
		return asup__container_of(r->children.next, asup__region, sibling);
	while (r != top) {
		if (r->sibling.next != &r->parent->children)
			return asup__container_of(r->sibling.next, asup__region, sibling);
		r = r->parent;
	}
	return NULL;
}

/* Cancels the regions of top's subtree, parents first: top gets reason (NULL:
 * top is skipped, its children get ParentCancelled causes from top's own
 * reason or, without one, from base), each descendant ParentCancelled with its
 * parent's reason as cause. Iterative: a cancel of a 100,000-deep tree uses no
 * more stack than one of a single region. With prune, subtrees the cancel
 * cannot change are skipped (see below) and the count leaves their tasks out. */
static int cancel_tree(asup__kernel *k, asup__region *top, asup__reason *reason,
		       asup__reason *base, int prune)
{
	asup__region *r = reason ? top : walk_next(top, top, 0);
	int n = 0, skip;

	k->cancel_walk++;
	top->cancel_walk = k->cancel_walk;
	while (r) {
		skip = 0;
		if (r == top) {
			n += cancel_one(k, r, reason);
		} else {
			asup__region *p = r->parent;
			asup__reason *cause = p->reason ? p->reason : base;
			asup__reason *cr = asup__reason_new(&k->alloc, ASUP_CANCEL_PARENT_CANCELLED,
							    p->id, ASUP_ID_NONE, base->timestamp,
							    NULL, cause, k->chain_depth);
			/* Without memory the child gets the static ParentCancelled
			 * node: the same kind, no cause, flagged truncated. */
			asup__reason *why = asup__reason_or_fallback(cr, ASUP_CANCEL_PARENT_CANCELLED);

			/* A region cancelled before by a reason this one does not
			 * beat keeps it, and so does everything below it (that
			 * walk reached them all; a closing region admits nothing
			 * new but cleanup work): skip the subtree. A body
			 * cancelled with a stronger reason than its region's
			 * re-cancels its child region, so without this a deep
			 * chain would be walked once per level. */
			if (prune && r->reason && r->state != ASUP__R_OPEN &&
			    !asup__reason_beats(why, r->reason))
				skip = 1;
			else
				n += cancel_one(k, r, why);
			asup__reason_unref(&k->alloc, cr);
		}
		r = walk_next(top, r, skip);
	}
	return n;
}

/* Advances every region the last cancel walk reached in top's subtree that
 * has nothing left to wait for, so that finalizers can start (a subtree the
 * walk skipped did not change). Only regions without children need it: a
 * region whose last child closes is advanced by that close. The next region
 * is found before the current one is advanced: the advance may close it and
 * ancestors up to (not beyond) the one whose sibling is next, as that
 * sibling keeps their common parent open. */
static void advance_idle(asup__kernel *k, asup__region *top)
{
	asup__region *r = top, *next;

	while (r) {
		int skip = r->cancel_walk != k->cancel_walk;
		int leaf = asup__list_empty(&r->children);

		next = walk_next(top, r, skip);
		if (!skip && leaf && r->ntasks == 0)
			asup__region_advance(k, r);
		r = next;
	}
}

int asup__region_cancel(asup__kernel *k, asup__region *r, asup__reason *reason)
{
	int n;

	if (r->state == ASUP__R_CLOSED)
		return 0;
	n = cancel_tree(k, r, reason, reason, 0);
	advance_idle(k, r);
	return n;
}

void asup__region_cancel_quick(asup__kernel *k, asup__region *r, asup__reason *reason)
{
	if (r->state == ASUP__R_CLOSED)
		return;
	cancel_tree(k, r, reason, reason, 1);
	advance_idle(k, r);
}

int asup__region_cancel_below(asup__kernel *k, asup__region *r, asup__reason *reason)
{
	int n = 0;

	if (r->state == ASUP__R_CLOSED)
		return 0;
	for (asup__list *l = r->tasks.next; l != &r->tasks; l = l->next) {
		asup__ktask *kt = asup__container_of(l, asup__ktask, region_link);
		if (kt->pstate != ASUP__P_COMPLETED) {
			asup__task_request_cancel(
				k, kt, reason, asup_cancel_kind_cleanup_budget(reason->kind));
			n++;
		}
	}
	n += cancel_tree(k, r, NULL, reason, 1);
	if (!asup__list_empty(&r->children))
		advance_idle(k, r);
	return n;
}
