/*
 * Planted bug: two tasks take two mutexes in opposite orders, with a
 * suspension between the two locks. Only the interleavings where each takes
 * its first lock before the other's second one deadlock; the lab's deadlock
 * report names the blocked tasks.
 *
 * Found by: deadlock. Measured (exploration from seed 1, two virtual
 * workers: a yield goes behind every ready task, so one worker would always
 * interleave the two the same way): seed 1 passes, seed 2 is the first
 * failing seed; 93 of seeds 1-200 fail. Documented bound: 20 seeds.
 *
 * Twin: takes the locks in one global order.
 */
#include "corpus.h"

struct locks {
	asup_mutex a, b;
	int fixed;
};

static int64_t take_two(asup_cx *cx, asup_mutex *first, asup_mutex *second)
{
	int rc;

	if ((rc = asup_mutex_lock(cx, first)) < 0)
		return rc;
	if ((rc = asup_yield(cx)) < 0 || (rc = asup_mutex_lock(cx, second)) < 0) {
		asup_mutex_unlock(cx, first);
		return rc;
	}
	asup_mutex_unlock(cx, second);
	asup_mutex_unlock(cx, first);
	return 0;
}

static int64_t forward(asup_cx *cx, void *arg)
{
	struct locks *l = arg;
	return take_two(cx, &l->a, &l->b);
}

static int64_t backward(asup_cx *cx, void *arg)
{
	struct locks *l = arg;
	/* The bug: the opposite order. The fix: the same order as forward. */
	return l->fixed ? take_two(cx, &l->a, &l->b) : take_two(cx, &l->b, &l->a);
}

static int64_t run(asup_cx *cx, int fixed)
{
	struct locks *l; /* in the region heap: the tasks outlive an early return */
	asup_task h1, h2;
	asup_outcome o1, o2;
	int rc;

	if ((rc = asup_corpus_shared(cx, sizeof(*l), &l)) < 0)
		return rc;
	asup_mutex_init(&l->a);
	asup_mutex_init(&l->b);
	l->fixed = fixed;
	if ((rc = asup_spawn(cx, forward, l, NULL, &h1)) < 0 ||
	    (rc = asup_spawn(cx, backward, l, NULL, &h2)) < 0)
		return asup_corpus_bail(cx, rc);
	if ((rc = asup_join2(cx, &h1, &h2, &o1, &o2)) < 0)
		return asup_corpus_bail(cx, rc);
	if (o1.kind == ASUP_OUTCOME_OK && o2.kind == ASUP_OUTCOME_OK)
		return 0;
	/* A task that stopped on a cancel (one injected by the lab) ended
	 * Cancelled or passed -ECANCELED up: that is the cancel, not the bug. */
	if (asup_corpus_cancelled(&o1) || asup_corpus_cancelled(&o2))
		return -ECANCELED;
	return -1;
}

static int64_t buggy(asup_cx *cx, void *arg)
{
	(void)arg;
	return run(cx, 0);
}

static int64_t fixed(asup_cx *cx, void *arg)
{
	(void)arg;
	return run(cx, 1);
}

const asup_corpus_entry asup_corpus_lock_order[2] = {
	{.sc = {"lock_order", "two mutexes taken in opposite orders deadlock under one interleaving",
		buggy, NULL},
	 .buggy = 1,
	 .twin = "lock_order_fixed",
	 .oracle = "deadlock",
	 .seeds = 20,
	 .workers = 2},
	{.sc = {"lock_order_fixed", "the same two tasks taking the mutexes in one order", fixed,
		NULL},
	 .twin = "lock_order",
	 .workers = 2},
};
