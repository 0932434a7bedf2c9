/*
 * Barrier (asupersync/sync.h) on one wait queue of ext.h.
 *
 * Owns: the queue of the current generation's waiters and its arrival count.
 * Must not touch: anything of the waiting tasks beyond the queue.
 *
 * Per generation:
 *   filling (arrived < parties) --an arrival makes it parties--> tripped:
 *   the arrival that trips is the leader and does not wait; every queued
 *   waiter is woken (dequeued) at once, arrived goes back to 0 and the
 *   generation number grows.
 * A waiter whose wait fails was not dequeued (asup_waitq_wait's rule), so it
 * still belonged to the filling generation: it leaves the count and the
 * barrier waits for a replacement. A waiter the trip dequeued succeeds even
 * if it was cancelled meanwhile (the wake that dequeued it wins); it sees the
 * cancel at its next checkpoint.
 *
 * Invariants: 0 <= arrived < parties between calls; arrived equals the
 * number of queued waiters (each arrival either trips or queues, each failed
 * wait un-counts itself, a trip empties the queue).
 */
#include "asupersync/ext.h"
#include "asupersync/sync.h"
#include "../kernel/kernel.h"
#include "bind.h"

#include <string.h>

#define BARRIER_MAGIC 0x62617272u /* "barr" */

struct barrier {
	asup_waitq waiters;    /* the filling generation, FIFO */
	uint64_t generation;   /* trips so far */
	uint32_t parties;
	uint32_t arrived;      /* queued in the filling generation */
	uint32_t magic;
	asup__kernel *k;       /* bound at first wait (bind.h) */
};

_Static_assert(sizeof(struct barrier) <= sizeof(asup_barrier), "asup_barrier is too small");

static struct barrier *B(asup_barrier *b)
{
	return (struct barrier *)(void *)b;
}

static int valid(const asup_barrier *b)
{
	return b && ((const struct barrier *)(const void *)b)->magic == BARRIER_MAGIC;
}

ASUP_API int asup_barrier_init(asup_barrier *b, uint32_t parties)
{
	if (!b)
		return -EINVAL;
	memset(b, 0, sizeof(*b));
	if (parties == 0)
		return -EINVAL; /* magic stays 0: every later call says -EINVAL */
	asup_waitq_init(&B(b)->waiters);
	B(b)->parties = parties;
	B(b)->magic = BARRIER_MAGIC;
	return 0;
}

ASUP_API int asup_barrier_wait(asup_cx *cx, asup_barrier *b)
{
	struct barrier *x;
	int rc;

	if (!asup__cx_self(cx))
		return -ASUP_ENOTASK;
	if (!valid(b))
		return -EINVAL;
	x = B(b);
	rc = asup__sync_enter(cx, &x->k);
	if (rc < 0)
		return rc; /* never arrived */
	if (++x->arrived == x->parties) {
		x->arrived = 0;
		x->generation++;
		asup_waitq_wake_all(&x->waiters);
		return ASUP_BARRIER_LEADER;
	}
	rc = asup_waitq_wait(cx, &x->waiters);
	if (rc < 0) {
		x->arrived--; /* not dequeued: still this generation's, leaving it */
		return rc;
	}
	return 0;
}

ASUP_API int asup_barrier_stats_get(const asup_barrier *b, asup_barrier_stats *out)
{
	const struct barrier *x = (const struct barrier *)(const void *)b;

	if (!valid(b) || !out)
		return -EINVAL;
	if (asup__sync_here(&x->k) < 0)
		return -EXDEV;
	out->parties = x->parties;
	out->arrived = x->arrived;
	out->generation = x->generation;
	return 0;
}
