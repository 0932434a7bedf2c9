/* What a cancelled region still admits, what a missing capability refuses,
 * and which code a resolved permit gives once its region closed: promises
 * of region.h, task.h, time.h and chan.h, through the public API alone. */
#include "testrt.h"

#include <asupersync/chan.h>
#include <errno.h>

static int64_t noop(asup_cx *cx, void *arg)
{
	(void)cx;
	(void)arg;
	return 0;
}

static void no_fin(void *arg)
{
	(void)arg;
}

static int64_t cancelled_body(asup_cx *cx, void *arg)
{
	asup_task h;
	asup_rref ref;
	asup_chan *ch;
	asup_permit p;
	asup_outcome child;
	int v = 5, got = 0;

	(void)arg;
	CHECK_EQ(asup_scope_cancel(cx, ASUP_CANCEL_USER, "enough"), 0);
	/* No new work. */
	CHECK_EQ(asup_spawn(cx, noop, NULL, NULL, &h), -ASUP_ECLOSED);
	CHECK_EQ(asup_defer(cx, no_fin, NULL), -ASUP_ECLOSED);
	CHECK_EQ(asup_region(cx, noop, NULL, &child), -ASUP_ECLOSED);
	/* Memory for the cleanup still comes. */
	CHECK_EQ(asup_region_alloc(cx, 64, &ref), 0);
	CHECK(asup_rref_get(cx, ref) != NULL);
	CHECK_EQ(asup_chan_open(cx, sizeof(int), 2, &ch), 0);
	CHECK_EQ(asup_chan_try_recv(ch, &got), -EAGAIN);
	/* A reserve is a checkpoint: the body sees its own cancel there. */
	CHECK_EQ(asup_chan_try_reserve(cx, ch, &p), -ECANCELED);
	CHECK_EQ(got, 0);
	(void)v;
	return asup_checkpoint(cx);
}

static int64_t cancelled_root(asup_cx *cx, void *arg)
{
	asup_outcome o;

	(void)arg;
	CHECK_EQ(asup_region(cx, cancelled_body, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(o.reason.kind, ASUP_CANCEL_USER);
	return 0;
}

TEST(a_cancelled_region_refuses_tasks_and_finalizers_but_still_allocates)
{
	asup_rt *rt = test_rt(ASUP_MODE_DETERMINISTIC, 3);
	asup_outcome o;

	CHECK_EQ(asup_rt_run(rt, cancelled_root, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	test_rt_done(rt);
}

static int64_t capless(asup_cx *cx, void *arg)
{
	asup_task h;

	(void)arg;
	CHECK_EQ(asup_spawn(cx, noop, NULL, NULL, &h), -EPERM);
	CHECK_EQ(asup_sleep(cx, 1000), -EPERM);
	CHECK_EQ(asup_now(cx), 0);
	return 7;
}

static int64_t without_spawn_and_time(asup_cx *cx, void *arg)
{
	uint32_t caps = asup_cx_caps(cx) & ~(uint32_t)(ASUP_CAP_SPAWN | ASUP_CAP_TIME);

	(void)arg;
	CHECK_EQ(asup_sleep(cx, 1000), 0);
	CHECK(asup_now(cx) >= 1000);
	return asup_cx_restricted(cx, caps, capless, NULL);
}

TEST(spawn_needs_the_spawn_capability_and_time_calls_the_time_capability)
{
	asup_rt *rt = test_rt(ASUP_MODE_DETERMINISTIC, 5);
	asup_outcome o;

	CHECK_EQ(asup_rt_run(rt, without_spawn_and_time, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(o.value, 7);
	/* The refused spawn made no task: only the root ran. */
	CHECK_EQ(test_stats(rt).tasks_spawned, 1);
	test_rt_done(rt);
}

/* Three views of one permit: the object the send went through, a copy
 * whose own send was refused, and a copy never used. */
struct permits {
	asup_permit sent, refused, unused;
};

static int64_t reserve_body(asup_cx *cx, void *arg)
{
	struct permits *ps = arg;
	asup_chan *ch;
	int v = 1;

	CHECK_EQ(asup_chan_open(cx, sizeof(int), 2, &ch), 0);
	CHECK_EQ(asup_chan_try_reserve(cx, ch, &ps->sent), 0);
	ps->refused = ps->sent;
	ps->unused = ps->sent;
	CHECK_EQ(asup_permit_send(&ps->sent, &v), 0);
	CHECK_EQ(asup_permit_send(&ps->refused, &v), -ASUP_EALREADY);
	return 0;
}

static int64_t permit_root(asup_cx *cx, void *arg)
{
	struct permits *ps = arg;
	asup_outcome o;
	int v = 2;

	CHECK_EQ(asup_region(cx, reserve_body, ps, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	/* The region closed. The objects a resolution went through answer
	 * from themselves. */
	CHECK_EQ(asup_permit_send(&ps->sent, &v), -ASUP_EALREADY);
	CHECK_EQ(asup_permit_abort(&ps->sent), -ASUP_EALREADY);
	CHECK_EQ(asup_permit_send(&ps->refused, &v), -ASUP_EALREADY);
	/* The unused copy learns only that the region closed, and the
	 * channel's freed memory is not read (ASan would say so); used up
	 * by that answer, it then says so too. */
	CHECK_EQ(asup_permit_send(&ps->unused, &v), -ASUP_ECLOSED);
	CHECK_EQ(asup_permit_abort(&ps->unused), -ASUP_EALREADY);
	return 0;
}

TEST(a_resolved_permit_keeps_ealready_after_its_region_closed_and_an_unused_copy_gets_eclosed)
{
	asup_rt *rt = test_rt(ASUP_MODE_DETERMINISTIC, 9);
	struct permits ps;
	asup_outcome o;

	CHECK_EQ(asup_rt_run(rt, permit_root, &ps, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	test_rt_done(rt);
}
