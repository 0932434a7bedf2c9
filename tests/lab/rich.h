/*
 * A scenario that touches most of the runtime (channels with permits,
 * sleeps of random length, a region with a deadline, a race, a scope
 * cancel, finalizers, user events), for the lab's determinism tests and the
 * cross-compiler digest program. rich_root returns a checksum of what it
 * observed (>= 0) or a negative step number that went wrong.
 */
#ifndef ASUP_TEST_LAB_RICH_H
#define ASUP_TEST_LAB_RICH_H

#include <asupersync.h>

static int rich_finalized;

static void rich_fin(void *arg)
{
	(void)arg;
	rich_finalized++;
}

static int64_t rich_fin_async(asup_cx *cx, void *arg)
{
	(void)arg;
	if (asup_yield(cx) < 0)
		return -1;
	rich_finalized += 10;
	return 0;
}

/* A producer that fails closes the channel, so that the consumer is not
 * left waiting for elements that will never come. */
static int64_t rich_produce(asup_cx *cx, asup_chan *ch)
{
	uint64_t d;
	int rc;

	for (int64_t i = 0; i < 5; i++) {
		asup_permit p;
		int64_t v = (int64_t)asup_cx_task_id(cx) % 97 * 100 + i;
		if ((rc = asup_random_below(cx, 3, &d)) < 0 ||
		    (rc = asup_sleep(cx, ASUP_USEC(d * 10))) < 0)
			return rc;
		if (i % 2) {
			if ((rc = asup_chan_reserve(cx, ch, &p)) < 0)
				return rc;
			if ((rc = asup_permit_send(&p, &v)) < 0)
				return rc;
		} else if ((rc = asup_chan_send(cx, ch, &v)) < 0) {
			return rc;
		}
		asup_trace_user(cx, 1, (uint64_t)v);
	}
	return 0;
}

static int64_t rich_producer(asup_cx *cx, void *arg)
{
	int64_t rc = rich_produce(cx, arg);

	if (rc < 0)
		asup_chan_close(arg);
	return rc;
}

static int64_t rich_sleeper(asup_cx *cx, void *arg)
{
	int rc = asup_sleep(cx, *(uint64_t *)arg);
	return rc < 0 ? rc : (int64_t)*(uint64_t *)arg;
}

static int64_t rich_late(asup_cx *cx, void *arg)
{
	(void)arg;
	return asup_sleep(cx, ASUP_SEC(10)); /* cut short by its region's deadline */
}

static int64_t rich_deadline_body(asup_cx *cx, void *arg)
{
	asup_task h;
	asup_outcome o;
	int rc;

	(void)arg;
	if ((rc = asup_defer(cx, rich_fin, NULL)) < 0 || (rc = asup_spawn(cx, rich_late, NULL, NULL, &h)) < 0)
		return rc;
	if ((rc = asup_join(cx, &h, &o)) < 0)
		return rc;
	return o.kind;
}

static int64_t rich_cancelled_body(asup_cx *cx, void *arg)
{
	asup_task h;
	int rc;

	(void)arg;
	if ((rc = asup_defer_async(cx, rich_fin_async, NULL)) < 0 ||
	    (rc = asup_spawn(cx, rich_late, NULL, NULL, &h)) < 0)
		return rc;
	if ((rc = asup_yield(cx)) < 0)
		return rc;
	(void)!asup_scope_cancel(cx, ASUP_CANCEL_SHUTDOWN, "enough"); /* best effort */
	return asup_join(cx, &h, NULL);
}

/* The work runs in a region of its own: if it fails or is cancelled part
 * way, the region cancels the producers instead of leaving them blocked on
 * a channel nobody reads any more. */
/* What an outcome means for the body: its value, or the cancellation. */
static int64_t rich_of(const asup_outcome *o)
{
	return o->kind == ASUP_OUTCOME_OK || o->kind == ASUP_OUTCOME_ERR ? o->value : -ECANCELED;
}

static int64_t rich_body(asup_cx *cx, void *arg)
{
	asup_chan *ch;
	asup_task prod[3], a, b;
	asup_outcome o, ro;
	uint64_t da = ASUP_USEC(30), db = ASUP_USEC(20);
	uint64_t sum = 0;
	int64_t v;
	int rc;

	(void)arg;
	rich_finalized = 0;
	if ((rc = asup_chan_open(cx, sizeof(int64_t), 2, &ch)) < 0)
		return rc;
	for (int i = 0; i < 3; i++)
		if ((rc = asup_spawn(cx, rich_producer, ch, NULL, &prod[i])) < 0)
			return rc;
	for (int i = 0; i < 15; i++) {
		/* A producer closes the channel only when it was cancelled. */
		if ((rc = asup_chan_recv(cx, ch, &v)) < 0)
			return rc == -EPIPE ? -ECANCELED : rc;
		sum = sum * 31 + (uint64_t)v;
	}
	if ((rc = asup_join_all(cx, prod, 3, NULL)) < 0)
		return rc;
	if ((rc = asup_region_with_budget(cx, asup_budget_with_deadline(asup_budget_default(),
									asup_now(cx) + ASUP_MSEC(1)),
					  rich_deadline_body, NULL, &ro)) < 0)
		return rc;
	if ((rc = asup_spawn(cx, rich_sleeper, &da, NULL, &a)) < 0 ||
	    (rc = asup_spawn(cx, rich_sleeper, &db, NULL, &b)) < 0)
		return rc;
	if ((rc = asup_race(cx, &a, &b, &o)) < 0)
		return rc;
	if (rich_of(&o) < 0)
		return rich_of(&o);
	sum = sum * 31 + (uint64_t)o.value;
	if ((rc = asup_region(cx, rich_cancelled_body, NULL, &ro)) < 0)
		return rc;
	if (rich_finalized != 11)
		return -EPROTO; /* a finalizer did not run */
	sum = sum * 31 + asup_now(cx) / 1000;
	return (int64_t)(sum >> 1); /* a non-negative checksum */
}

static int64_t rich_root(asup_cx *cx, void *arg)
{
	asup_outcome o;
	int rc = asup_region(cx, rich_body, arg, &o);

	if (rc < 0)
		return rc;
	if (o.kind == ASUP_OUTCOME_PANICKED)
		return -EPROTO;
	/* Cancelled while the body spawned or opened a region: its region was
	 * closing, which is the cancel, not a failure of its own. */
	if (o.kind == ASUP_OUTCOME_ERR && o.value == -ASUP_ECLOSED && asup_cx_is_cancel_requested(cx))
		return -ECANCELED;
	return rich_of(&o);
}

#endif
