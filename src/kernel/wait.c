/*
 * Waits on tasks' completion (join sets, kernel.h). A task that completes
 * wakes every waiter on its joiners queue with ASUP__JOIN_DONE (task.c), so
 * a wait on several tasks queues one waiter per task and learns which of
 * them completed from the waiters' results, not from the records. asup_join's
 * wait on one task is in handle.c; races, hedges and drains (scope.c) wait
 * through a join set.
 *
 * A join set:
 *
 *   init --first wait--> armed (a waiter per task) --fini--> unlinked, freed
 *    done(i): the record       done(i): waiter i's result
 *
 * Before its first wait a set owns nothing, so a race that finds a winner at
 * once never queues or allocates; arming takes memory only beyond eight
 * tasks. A task already completed when the set is armed never wakes its
 * queue again: its waiter is done at once instead of queued.
 *
 * Must not touch: outcomes and handles (handle.c), the cancel protocol (the
 * caller aborts and drains), the scheduler beyond parking.
 * Invariant: an armed set's waiter i is queued on recs[i]->joiners exactly
 * while its result is PENDING; no waiter of a set is queued after fini.
 */
#include "kernel.h"

void asup__join_set_init(asup__join_set *js, asup__ktask **recs, size_t n)
{
	js->recs = recs;
	js->n = n;
	js->w = NULL;
}

int asup__join_set_done(const asup__join_set *js, size_t i)
{
	if (!js->w)
		return js->recs[i]->pstate == ASUP__P_COMPLETED;
	return js->w[i].result == ASUP__JOIN_DONE;
}

static int arm(asup__kernel *k, asup__join_set *js, asup__ktask *self)
{
	size_t n = js->n;

	js->w = js->local;
	if (n > sizeof(js->local) / sizeof(js->local[0])) {
		js->w = asup__alloc_mem(&k->alloc, n * sizeof(*js->w));
		if (!js->w)
			return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		asup__waiter_init(&js->w[i], &self->t);
		if (js->recs[i]->pstate == ASUP__P_COMPLETED)
			js->w[i].result = ASUP__JOIN_DONE;
		else
			asup__list_push_back(&js->recs[i]->joiners, &js->w[i].link);
	}
	return 0;
}

static int any_done(const asup__join_set *js)
{
	for (size_t i = 0; i < js->n; i++)
		if (js->w[i].result == ASUP__JOIN_DONE)
			return 1;
	return 0;
}

/* Masked and without a deadline: a passed deadline would wake the park at
 * once, over and over, and a cancel must not end a drain. */
static void wait_masked(asup__kernel *k, asup__join_set *js, asup__ktask *self, uint64_t id)
{
	self->t.masked++;
	self->wait_kind = ASUP__WAIT_JOIN;
	self->wait_id = id;
	while (!any_done(js))
		asup__sched_park(k->sched, &self->t, ASUP_TIME_MAX, 0);
	self->wait_kind = ASUP__WAIT_NONE;
	self->t.masked--;
}

int asup__join_set_wait(asup__kernel *k, asup__join_set *js, asup__ktask *self, asup_time until,
                        int interruptible)
{
	/* The dump names the task of a one-task set, "any of" otherwise. */
	uint64_t id = js->n == 1 ? js->recs[0]->id : ASUP_ID_NONE;
	int rc = 0;

	if (!js->w && (rc = arm(k, js, self)) < 0)
		return rc;
	if (!interruptible) {
		wait_masked(k, js, self, id);
		return 0;
	}
	while (!any_done(js)) {
		rc = asup__cx_park_as(&self->cx, until, 0, ASUP__WAIT_JOIN, id);
		if (rc < 0 || until != ASUP_TIME_MAX)
			break; /* the caller reads the clock after a timed park */
	}
	return rc;
}

void asup__join_set_fini(asup__kernel *k, asup__join_set *js)
{
	if (!js->w)
		return;
	for (size_t i = 0; i < js->n; i++)
		asup__list_remove(&js->w[i].link); /* a no-op once woken */
	if (js->w != js->local)
		asup__free_mem(&k->alloc, js->w, js->n * sizeof(*js->w));
	js->w = NULL;
}

void asup__join_drain(asup__kernel *k, asup__ktask *self, asup__ktask *kt)
{
	asup__join_set js;

	asup__join_set_init(&js, &kt, 1);
	if (!asup__join_set_done(&js, 0))
		(void)asup__join_set_wait(k, &js, self, ASUP_TIME_MAX, 0);
	asup__join_set_fini(k, &js);
}
