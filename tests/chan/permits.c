/*
 * Permits are resolved once. For every permit kind (mpsc, oneshot, broadcast,
 * semaphore): a second resolution, a resolution after the holder ended and
 * one after the channel's region closed each get a clear code and change
 * nothing; a copy of a permit is the same permit. The region cases run under
 * ASan and valgrind in CI: the permit must not read the freed channel.
 *
 * Codes: a permit resolved already (through this object or a copy, or by the
 * runtime when its holder ended): -ASUP_EALREADY; the channel's region
 * closed: -ASUP_ECLOSED (a semaphore is the caller's memory: its permit's
 * obligation was settled with the region, -ASUP_EALREADY).
 */
#include "testrt.h"
#include "kernel/kernel.h"

#include <errno.h>
#include <string.h>

enum kind { MPSC, ONESHOT, BCAST, SEM };

/* One permit of any kind, and the object it belongs to. */
struct obj {
	enum kind kind;
	asup_chan *ch;
	asup_oneshot *os;
	asup_broadcast *b;
	asup_broadcast_rx rx;
	asup_semaphore sem;
	union {
		asup_permit m;
		asup_oneshot_permit o;
		asup_broadcast_permit b;
		asup_semaphore_permit s;
	} p, copy;
	asup_notify go, reserved;
	asup_rt *rt;
};

static int obj_open(asup_cx *cx, struct obj *o)
{
	switch (o->kind) {
	case MPSC: return asup_chan_open(cx, sizeof(int), 2, &o->ch);
	case ONESHOT: return asup_oneshot_open(cx, sizeof(int), &o->os);
	case BCAST:
		CHECK_EQ(asup_broadcast_open(cx, sizeof(int), 4, &o->b), 0);
		return asup_broadcast_subscribe(o->b, &o->rx);
	case SEM: asup_semaphore_init(&o->sem, 2); return 0;
	}
	return -EINVAL;
}

static int obj_reserve(asup_cx *cx, struct obj *o)
{
	switch (o->kind) {
	case MPSC: return asup_chan_reserve(cx, o->ch, &o->p.m);
	case ONESHOT: return asup_oneshot_reserve(cx, o->os, &o->p.o);
	case BCAST: return asup_broadcast_reserve(cx, o->b, &o->p.b);
	case SEM: return asup_semaphore_acquire(cx, &o->sem, 1, &o->p.s);
	}
	return -EINVAL;
}

/* Sends 7 through the permit (the semaphore's: releases it). */
static int send_via(struct obj *o, void *p)
{
	int v = 7;
	switch (o->kind) {
	case MPSC: return asup_permit_send(p, &v);
	case ONESHOT: return asup_oneshot_permit_send(p, &v);
	case BCAST: {
		int rc = asup_broadcast_permit_send(p, &v);
		return rc > 0 ? 0 : rc; /* success counts the receivers */
	}
	case SEM: return asup_semaphore_permit_release(p);
	}
	return -EINVAL;
}

static int abort_via(struct obj *o, void *p)
{
	switch (o->kind) {
	case MPSC: return asup_permit_abort(p);
	case ONESHOT: return asup_oneshot_permit_abort(p);
	case BCAST: return asup_broadcast_permit_abort(p);
	case SEM: return asup_semaphore_permit_release(p); /* the only resolution */
	}
	return -EINVAL;
}

/* What a resolution could change, as one number. */
static uint64_t obj_state(struct obj *o)
{
	asup_chan_stats cs;
	asup_oneshot_stats os;
	asup_broadcast_stats bs;

	switch (o->kind) {
	case MPSC:
		CHECK_EQ(asup_chan_stats_get(o->ch, &cs), 0);
		return cs.queued * 1000 + cs.reserved;
	case ONESHOT:
		CHECK_EQ(asup_oneshot_stats_get(o->os, &os), 0);
		return (uint64_t)os.sender * 1000 + (uint64_t)os.has_value * 10 + (uint64_t)os.received;
	case BCAST:
		CHECK_EQ(asup_broadcast_stats_get(o->b, &bs), 0);
		return bs.sent * 1000 + bs.retained;
	case SEM:
		return asup_semaphore_available(&o->sem);
	}
	return 0;
}

static int64_t double_resolutions(asup_cx *cx, void *arg)
{
	struct obj *o = arg;
	uint64_t st;

	CHECK_EQ(obj_open(cx, o), 0);
	/* send, then send again and abort: both refused, nothing changes */
	CHECK_EQ(obj_reserve(cx, o), 0);
	o->copy = o->p;
	CHECK_EQ(send_via(o, &o->p), 0);
	st = obj_state(o);
	CHECK_EQ(send_via(o, &o->p), -ASUP_EALREADY);
	CHECK_EQ(abort_via(o, &o->p), -ASUP_EALREADY);
	/* a copy is the same permit: its obligation is gone */
	CHECK_EQ(send_via(o, &o->copy), -ASUP_EALREADY);
	CHECK_EQ(obj_state(o), st);
	if (o->kind == ONESHOT)
		return 0; /* a oneshot reserves once */
	/* abort, then send and abort again */
	CHECK_EQ(obj_reserve(cx, o), 0);
	CHECK_EQ(abort_via(o, &o->p), 0);
	st = obj_state(o);
	CHECK_EQ(send_via(o, &o->p), -ASUP_EALREADY);
	CHECK_EQ(abort_via(o, &o->p), -ASUP_EALREADY);
	CHECK_EQ(obj_state(o), st);
	return 0;
}

static int64_t reserves_and_ends(asup_cx *cx, void *arg)
{
	return obj_reserve(cx, arg);
}

static int64_t use_after_holder_ended(asup_cx *cx, void *arg)
{
	struct obj *o = arg;
	asup__kernel *k = asup__rt_kernel(o->rt);
	uint64_t leaked = k->obl_leaked;
	asup_task h;
	asup_outcome out;
	uint64_t st;

	CHECK_EQ(obj_open(cx, o), 0);
	st = obj_state(o);
	CHECK_EQ(asup_spawn(cx, reserves_and_ends, o, NULL, &h), 0);
	CHECK_EQ(asup_join(cx, &h, &out), 0);
	CHECK_EQ(out.value, 0); /* it reserved, then ended holding the permit */
	CHECK_EQ(k->obl_leaked, leaked + 1); /* not cancelled: a leak */
	st = obj_state(o);      /* after the runtime settled the permit */
	CHECK_EQ(send_via(o, &o->p), -ASUP_EALREADY);
	CHECK_EQ(obj_state(o), st);
	CHECK_EQ(abort_via(o, &o->p), -ASUP_EALREADY);
	CHECK_EQ(obj_state(o), st);
	return 0;
}

static int64_t reserves_and_waits(asup_cx *cx, void *arg)
{
	int rc = obj_reserve(cx, arg);
	if (rc < 0)
		return rc;
	return asup_sleep(cx, 3600ull * 1000000000ull); /* until aborted */
}

/* A holder that was cancelled: its permit is aborted quietly (no leak), the
 * room or the permits come back, and the permit object then says so. */
static int64_t permit_of_an_aborted_holder(asup_cx *cx, void *arg)
{
	struct obj *o = arg;
	asup__kernel *k = asup__rt_kernel(o->rt);
	uint64_t leaked = k->obl_leaked, aborted = k->obl_aborted;
	asup_task h;
	asup_outcome out;
	uint64_t st;

	CHECK_EQ(obj_open(cx, o), 0);
	st = obj_state(o);
	CHECK_EQ(asup_spawn(cx, reserves_and_waits, o, NULL, &h), 0);
	CHECK_EQ(asup_yield(cx), 0);
	while (asup_task_is_finished(&h) == 0 && k->obligations.live == 0)
		CHECK_EQ(asup_yield(cx), 0); /* until it holds the permit */
	CHECK_EQ(k->obligations.live, 1);
	CHECK_EQ(asup_task_abort(&h), 0);
	CHECK_EQ(asup_join(cx, &h, &out), 0);
	CHECK_EQ(out.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(k->obl_leaked, leaked); /* not a leak */
	CHECK_EQ(k->obl_aborted, aborted + 1);
	if (o->kind != ONESHOT) {
		CHECK_EQ(obj_state(o), st); /* room / permits back */
	} else {
		asup_oneshot_stats os;
		CHECK_EQ(asup_oneshot_stats_get(o->os, &os), 0);
		CHECK_EQ(os.sender, ASUP_ONESHOT_SENDER_CLOSED); /* the receiver sees closed */
	}
	st = obj_state(o);
	CHECK_EQ(send_via(o, &o->p), -ASUP_EALREADY);
	CHECK_EQ(obj_state(o), st);
	return 0;
}

static int64_t body_opens_and_reserves(asup_cx *cx, void *arg)
{
	struct obj *o = arg;
	CHECK_EQ(obj_open(cx, o), 0);
	CHECK_EQ(obj_reserve(cx, o), 0);
	return 0; /* returns holding the permit; the region then closes */
}

static int64_t use_after_region_closed(asup_cx *cx, void *arg)
{
	struct obj *o = arg;
	asup_outcome out;
	uint64_t st = 0;

	CHECK_EQ(asup_region(cx, body_opens_and_reserves, o, &out), 0);
	if (o->kind == SEM)
		st = obj_state(o); /* the semaphore is the caller's: still there */
	o->copy = o->p;
	CHECK_EQ(send_via(o, &o->p), o->kind == SEM ? -ASUP_EALREADY : -ASUP_ECLOSED);
	CHECK_EQ(abort_via(o, &o->p), -ASUP_EALREADY);
	CHECK_EQ(abort_via(o, &o->copy), o->kind == SEM ? -ASUP_EALREADY : -ASUP_ECLOSED);
	if (o->kind == SEM)
		CHECK_EQ(obj_state(o), st);
	return 0;
}

static void run(enum kind kind, asup_task_fn fn)
{
	asup_rt_config cfg;
	asup_rt *rt;
	static struct obj o;
	asup_outcome out;

	asup_rt_config_init(&cfg);
	cfg.mode = ASUP_MODE_DETERMINISTIC;
	cfg.leak_response = ASUP_LEAK_SILENT; /* the leaks here are on purpose */
	rt = test_rt_cfg(&cfg);
	memset(&o, 0, sizeof o);
	o.kind = kind;
	o.rt = rt;
	CHECK_EQ(asup_rt_run(rt, fn, &o, &out), 0);
	CHECK_EQ(out.kind, ASUP_OUTCOME_OK);
	test_rt_done(rt);
}

TEST(mpsc_permit_resolves_once)             { run(MPSC, double_resolutions); }
TEST(oneshot_permit_resolves_once)          { run(ONESHOT, double_resolutions); }
TEST(broadcast_permit_resolves_once)        { run(BCAST, double_resolutions); }
TEST(semaphore_permit_releases_once)        { run(SEM, double_resolutions); }
TEST(mpsc_permit_after_its_holder_ended_is_refused)      { run(MPSC, use_after_holder_ended); }
TEST(oneshot_permit_after_its_holder_ended_is_refused)   { run(ONESHOT, use_after_holder_ended); }
TEST(broadcast_permit_after_its_holder_ended_is_refused) { run(BCAST, use_after_holder_ended); }
TEST(semaphore_permit_after_its_holder_ended_is_refused) { run(SEM, use_after_holder_ended); }
TEST(mpsc_permit_after_its_region_closed_is_refused)      { run(MPSC, use_after_region_closed); }
TEST(oneshot_permit_after_its_region_closed_is_refused)   { run(ONESHOT, use_after_region_closed); }
TEST(broadcast_permit_after_its_region_closed_is_refused) { run(BCAST, use_after_region_closed); }
TEST(semaphore_permit_after_its_region_closed_is_refused) { run(SEM, use_after_region_closed); }

TEST(mpsc_permit_of_an_aborted_holder_is_aborted_quietly)      { run(MPSC, permit_of_an_aborted_holder); }
TEST(oneshot_permit_of_an_aborted_holder_is_aborted_quietly)   { run(ONESHOT, permit_of_an_aborted_holder); }
TEST(broadcast_permit_of_an_aborted_holder_is_aborted_quietly) { run(BCAST, permit_of_an_aborted_holder); }
TEST(semaphore_permit_of_an_aborted_holder_is_aborted_quietly) { run(SEM, permit_of_an_aborted_holder); }

/* ---- an mpsc permit held in a region that outlives the channel's ---- */

static int64_t outer_reserver(asup_cx *cx, void *arg)
{
	struct obj *o = arg;
	int keep = o->kind; /* MPSC: send after the close; ONESHOT (reused as a
	                       flag): end holding it */
	CHECK_EQ(asup_notify_wait(cx, &o->go), 0);
	CHECK_EQ(asup_chan_reserve(cx, o->ch, &o->p.m), 0);
	(void)asup_notify_one(&o->reserved); /* wakes the body, or waits for it */
	CHECK_EQ(asup_sleep(cx, 1000000), 0); /* the channel's region closes */
	if (keep == MPSC)
		CHECK_EQ(asup_permit_send(&o->p.m, &keep), -ASUP_ECLOSED);
	return 0; /* otherwise ends holding it: settled without its hook */
}

static int64_t body_shares_channel(asup_cx *cx, void *arg)
{
	struct obj *o = arg;
	CHECK_EQ(asup_chan_open(cx, sizeof(int), 2, &o->ch), 0);
	(void)asup_notify_one(&o->go);
	CHECK_EQ(asup_notify_wait(cx, &o->reserved), 0);
	return 0; /* its region closes with the channel, the permit outside */
}

static int64_t outer_permit_case(asup_cx *cx, void *arg)
{
	struct obj *o = arg;
	asup_task h;
	asup_outcome out;

	asup_notify_init(&o->go);
	asup_notify_init(&o->reserved);
	CHECK_EQ(asup_spawn(cx, outer_reserver, o, NULL, &h), 0);
	CHECK_EQ(asup_yield(cx), 0); /* it waits for the channel */
	CHECK_EQ(asup_region(cx, body_shares_channel, o, &out), 0);
	CHECK_EQ(out.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(asup_join(cx, &h, &out), 0);
	CHECK_EQ(out.kind, ASUP_OUTCOME_OK);
	return 0;
}

TEST(mpsc_permit_of_an_outer_task_is_refused_once_the_channel_region_closed)
{
	run(MPSC, outer_permit_case);
}

TEST(mpsc_permit_of_an_outer_task_ending_after_the_channel_region_reads_no_freed_memory)
{
	run(ONESHOT, outer_permit_case);
}
