/*
 * Planted bug: a lost wake-up.
 *
 * A consumer waits for a producer to publish a value. It looks at the
 * `ready` flag, backs off once (a yield, hoping the producer publishes in
 * the meantime, so it does not have to park) and then parks on the notify
 * without looking at the flag again. The producer sets the flag and calls
 * asup_notify_waiters, which wakes only the tasks waiting at that moment and
 * stores nothing. When the producer publishes during the consumer's back-off,
 * the wake-up goes to nobody and the consumer parks forever: the root waits
 * in its join, nothing can wake anyone, and the lab reports a deadlock. When
 * the producer publishes before the check or after the consumer parked,
 * everything works, so only some schedules fail.
 *
 * Found by: deadlock. Measured (exploration from seed 1, one worker): seeds
 * 1-3 pass, seed 4 is the first failing seed; 52 of seeds 1-200 fail.
 * Documented bound: 24 seeds.
 *
 * Twin: the producer uses asup_notify_one, which stores a permit when nobody
 * waits, so the consumer's late wait returns at once.
 */
#include "corpus.h"

#include <inttypes.h>

struct board {
	asup_notify published;
	int ready;
	int value;
	int fixed;
};

static int64_t consumer(asup_cx *cx, void *arg)
{
	struct board *b = arg;
	int rc;

	if (!b->ready) {
		/* The bug's window: the flag is not looked at again after the
		 * back-off, so a publication during it is missed. */
		if ((rc = asup_yield(cx)) < 0)
			return rc;
		if ((rc = asup_notify_wait(cx, &b->published)) < 0)
			return rc;
	}
	return b->value;
}

static int64_t producer(asup_cx *cx, void *arg)
{
	struct board *b = arg;
	int rc;

	if ((rc = asup_yield(cx)) < 0) /* computing the value */
		return rc;
	b->value = 42;
	b->ready = 1;
	if (b->fixed)
		asup_notify_one(&b->published); /* kept for a late waiter */
	else
		asup_notify_waiters(&b->published); /* only those waiting now */
	return 0;
}

static int64_t run(asup_cx *cx, int fixed)
{
	struct board *b; /* in the region heap: the tasks outlive an early return */
	asup_task hc, hp;
	asup_outcome oc, op;
	int rc;

	if ((rc = asup_corpus_shared(cx, sizeof(*b), &b)) < 0)
		return rc;
	b->fixed = fixed;
	asup_notify_init(&b->published);
	if ((rc = asup_spawn(cx, consumer, b, NULL, &hc)) < 0 ||
	    (rc = asup_spawn(cx, producer, b, NULL, &hp)) < 0)
		return asup_corpus_bail(cx, rc);
	/* The producer first: a producer stopped by a cancel publishes nothing,
	 * and the consumer must then be stopped rather than waited for. */
	if ((rc = asup_join(cx, &hp, &op)) < 0)
		return asup_corpus_bail(cx, rc);
	if (asup_corpus_cancelled(&op))
		return asup_corpus_bail(cx, -ECANCELED);
	if ((rc = asup_join(cx, &hc, &oc)) < 0)
		return asup_corpus_bail(cx, rc);
	if (asup_corpus_cancelled(&oc))
		return -ECANCELED;
	if (oc.kind != ASUP_OUTCOME_OK || op.kind != ASUP_OUTCOME_OK)
		return -1;
	if (oc.value != 42)
		asup_panic(cx, "consumer read %" PRId64 " instead of the published 42", oc.value);
	return 0;
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

const asup_corpus_entry asup_corpus_lost_wakeup[2] = {
	{.sc = {"lost_wakeup", "notify_waiters during the waiter's back-off wakes nobody",
		buggy, NULL},
	 .buggy = 1,
	 .twin = "lost_wakeup_fixed",
	 .oracle = "deadlock",
	 .seeds = 24},
	{.sc = {"lost_wakeup_fixed", "notify_one keeps the wake-up for a late waiter", fixed,
		NULL},
	 .twin = "lost_wakeup"},
};
