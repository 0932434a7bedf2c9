/* A masked pool call from inside the calling task (see pool_op.h). */
#define _GNU_SOURCE
#include "pool_op.h"

#include <errno.h>
#include <string.h>

#include "../kernel/kernel.h"
#include "../sched/sched.h"

_Atomic(asup__pool_hook_fn) asup__io_pool_hook;

struct call {
	int64_t (*fn)(void *arg);
	void *arg;
};

static int64_t call_job(asup_blocking *b, void *arg)
{
	struct call *c = arg;

	(void)b;
	return c->fn(c->arg);
}

int64_t asup__pool_call(asup_cx *cx, int64_t (*fn)(void *arg), void *arg)
{
	asup__kernel *k = cx->k;
	asup__ktask *self = cx->kt;
	struct asup_blocking *job;
	struct call c = {fn, arg};
	int64_t v;

	job = asup__alloc_mem(&k->alloc, sizeof(*job));
	if (!job)
		return -ENOMEM;
	memset(job, 0, sizeof(*job));
	job->fn = call_job;
	job->arg = &c;
	job->task = self;
	if (k->blocking_submit && k->blocking_submit(k->blocking_ctx, job) == 0) {
		/* The pool thread uses the caller's buffers: no cancel and no
		 * deadline may end this wait, so the job is never abandoned. */
		self->t.masked++;
		while (!job->drained)
			asup__sched_park(k->sched, &self->t, ASUP_TIME_MAX, 0);
		self->t.masked--;
	} else {
		job->result = fn(arg);
	}
	v = job->result;
	asup__free_mem(&k->alloc, job, sizeof(*job));
	return v;
}
