/*
 * spawn_blocking: a task whose body hands fn to the runtime's blocking pool
 * and stays parked until a pool thread ran it. The task is a normal member of
 * its region (counted, joinable, cancellable). Cancelling it sets the job's
 * flag for fn to poll; fn itself cannot be interrupted, so the task abandons
 * it: the task completes Cancelled at once, while the job keeps its pool
 * thread and holds the region open (r->nblocking) until fn returns. A region
 * therefore never closes while blocking work of it is still running.
 *
 * Without a pool (the deterministic mode) fn runs inline on the task's stack,
 * which keeps runs replayable.
 */
#include "kernel.h"

#include <stdatomic.h>
#include <string.h>

static int64_t blocking_body(asup_cx *cx, void *arg)
{
	struct asup_blocking *job = arg;
	asup__kernel *k = cx->k;
	asup__ktask *self = cx->kt;
	int64_t v;

	job->task = self;
	job->has_timer = !!(self->caps & ASUP_CAP_TIME);
	atomic_store(&job->cancelled, self->cancel_requested | self->scope_cancelled);
	self->bjob = job;
	if (k->blocking_submit && k->blocking_submit(k->blocking_ctx, job) == 0) {
		while (!job->drained) {
			/* A cancel wakes us (any other wake is spurious here). */
			if (asup__cx_park_as(cx, ASUP_TIME_MAX, 0, ASUP__WAIT_BLOCKING, 0) ==
				    -ECANCELED &&
			    !job->drained) {
				/* Abandon: the job owns itself from here on. */
				job->abandoned = 1;
				job->region = self->owner;
				self->owner->nblocking++;
				self->bjob = NULL;
				return -ECANCELED;
			}
		}
	} else {
		job->result = job->fn(job, job->arg);
	}
	self->bjob = NULL;
	v = job->result;
	asup__free_mem(&k->alloc, job, sizeof(*job));
	return v;
}

void asup__blocking_returned(asup__kernel *k, struct asup_blocking *job)
{
	asup__region *r;

	if (!job->abandoned) {
		job->drained = 1; /* from here on the task owns and frees it */
		asup__sched_unpark(k->sched, &job->task->t);
		return;
	}
	r = job->region;
	asup__free_mem(&k->alloc, job, sizeof(*job));
	r->nblocking--;
	asup__region_advance(k, r);
}

ASUP_API int asup_spawn_blocking(asup_cx *cx, asup_blocking_fn fn, void *arg,
				 const asup_spawn_opts *opts, asup_task *out)
{
	asup__ktask *self = asup__cx_self(cx);
	struct asup_blocking *job;
	int rc;

	if (!self)
		return -ASUP_ENOTASK;
	if (!fn || !out)
		return -EINVAL;
	job = asup__alloc_mem(&cx->k->alloc, sizeof(*job));
	if (!job)
		return -ENOMEM;
	memset(job, 0, sizeof(*job));
	job->fn = fn;
	job->arg = arg;
	rc = asup_spawn(cx, blocking_body, job, opts, out);
	if (rc < 0)
		asup__free_mem(&cx->k->alloc, job, sizeof(*job));
	return rc;
}

ASUP_API int asup_blocking_is_cancelled(asup_blocking *b)
{
	return b ? atomic_load(&b->cancelled) : 0;
}

ASUP_API int asup_blocking_has_timer(asup_blocking *b)
{
	return b ? b->has_timer : 0;
}
