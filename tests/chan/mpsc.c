/* Bounded channels: order, two-phase send, FIFO reservers, cancel-safety,
 * closing, permits as obligations, send_evict_oldest, bad input. */
#include "testrt.h"

#include "kernel/kernel.h"

static asup_rt *mk(void)
{
	asup_rt_config cfg;
	asup_rt_config_init(&cfg);
	cfg.mode = ASUP_MODE_DETERMINISTIC;
	cfg.leak_response = ASUP_LEAK_SILENT;
	return test_rt_cfg(&cfg);
}

static void run(asup_task_fn fn)
{
	asup_rt *rt = mk();
	asup_outcome o;
	CHECK_EQ(asup_rt_run(rt, fn, rt, &o), 0);
	if (o.kind != ASUP_OUTCOME_OK)
		fprintf(stderr, "outcome %s %lld\n", asup_outcome_kind_name(o.kind), (long long)o.value);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	test_rt_done(rt);
}

static int64_t producer(asup_cx *cx, void *arg)
{
	asup_chan *ch = arg;
	for (int i = 0; i < 100; i++)
		CHECK_EQ(asup_chan_send(cx, ch, &i), 0);
	return asup_chan_close(ch);
}

static int64_t order_root(asup_cx *cx, void *arg)
{
	asup_chan *ch;
	asup_task h;
	int v, n = 0;
	CHECK_EQ(asup_chan_open(cx, sizeof(int), 4, &ch), 0);
	CHECK_EQ(asup_spawn(cx, producer, ch, NULL, &h), 0);
	while (asup_chan_recv(cx, ch, &v) == 0)
		CHECK_EQ(v, n++);
	CHECK_EQ(n, 100);
	CHECK_EQ(asup_chan_recv(cx, ch, &v), -EPIPE); /* closed and drained */
	return asup_join(cx, &h, NULL);
}

TEST(elements_arrive_in_order_then_the_channel_drains)
{
	run(order_root);
}

static int64_t try_root(asup_cx *cx, void *arg)
{
	asup_chan *ch;
	int v = 7, w;
	asup_chan_stats st;
	CHECK_EQ(asup_chan_open(cx, sizeof(int), 2, &ch), 0);
	CHECK_EQ(asup_chan_try_recv(ch, &w), -EAGAIN);
	CHECK_EQ(asup_chan_try_send(ch, &v), 0);
	CHECK_EQ(asup_chan_try_send(ch, &v), 0);
	CHECK_EQ(asup_chan_try_send(ch, &v), -EAGAIN); /* full */
	CHECK_EQ(asup_chan_stats_get(ch, &st), 0);
	CHECK_EQ(st.queued, 2);
	CHECK_EQ(asup_chan_try_recv(ch, &w), 0);
	CHECK_EQ(w, 7);
	CHECK_EQ(asup_chan_close(ch), 0);
	CHECK_EQ(asup_chan_try_send(ch, &v), -EPIPE);
	CHECK_EQ(asup_chan_try_recv(ch, &w), 0); /* still receivable */
	CHECK_EQ(asup_chan_try_recv(ch, &w), -EPIPE);
	return 0;
}

TEST(try_operations_never_suspend)
{
	run(try_root);
}

/* sem_84: capacity 1; A reserves, B waits; A's permit dropped -> B gets the
 * slot; a cancelled reserve leaves no reservation. */
static asup_chan *shared;
static int got_slot;

static int64_t reserver(asup_cx *cx, void *arg)
{
	asup_permit p;
	int rc = asup_chan_reserve(cx, shared, &p);
	if (rc < 0)
		return rc;
	got_slot = (int)(intptr_t)arg;
	return asup_permit_abort(&p);
}

static int64_t fifo_root(asup_cx *cx, void *arg)
{
	asup_permit a;
	asup_task b, c;
	asup_outcome o;
	asup_chan_stats st;
	CHECK_EQ(asup_chan_open(cx, sizeof(int), 1, &shared), 0);
	CHECK_EQ(asup_chan_reserve(cx, shared, &a), 0);
	CHECK_EQ(asup_spawn(cx, reserver, (void *)2, NULL, &b), 0);
	CHECK_EQ(asup_spawn(cx, reserver, (void *)3, NULL, &c), 0);
	CHECK_EQ(asup_yield(cx), 0);
	CHECK_EQ(asup_yield(cx), 0); /* both wait */
	CHECK_EQ(asup_task_abort(&c), 0); /* the second waiter gives up */
	CHECK_EQ(asup_join(cx, &c, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(asup_chan_stats_get(shared, &st), 0);
	CHECK_EQ(st.reserved, 1); /* only A's: the cancelled one holds nothing */
	CHECK_EQ(asup_permit_abort(&a), 0); /* room back: handed to B */
	CHECK_EQ(asup_permit_abort(&a), -ASUP_EALREADY);
	CHECK_EQ(asup_join(cx, &b, &o), 0);
	CHECK_EQ(got_slot, 2);
	CHECK_EQ(asup_chan_stats_get(shared, &st), 0);
	CHECK_EQ(st.reserved, 0);
	return 0;
}

TEST(sem_84_reservers_are_fifo_and_a_cancelled_reserve_holds_nothing)
{
	run(fifo_root);
}

/* sem_85: a queued element survives a cancelled receive. */
static int64_t cancelled_receiver(asup_cx *cx, void *arg)
{
	int v;
	CHECK_EQ(asup_cx_cancel_self(cx, ASUP_CANCEL_USER, NULL), 0);
	return asup_chan_recv(cx, arg, &v);
}

static int64_t keep_root(asup_cx *cx, void *arg)
{
	asup_chan *ch;
	asup_task h;
	asup_outcome o;
	int v = 85, w = 0;
	CHECK_EQ(asup_chan_open(cx, sizeof(int), 1, &ch), 0);
	CHECK_EQ(asup_chan_send(cx, ch, &v), 0);
	CHECK_EQ(asup_spawn(cx, cancelled_receiver, ch, NULL, &h), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(asup_chan_try_recv(ch, &w), 0); /* still there */
	CHECK_EQ(w, 85);
	return 0;
}

TEST(sem_85_cancelled_recv_keeps_the_queued_element)
{
	run(keep_root);
}

/* sem_86: the receiver goes away: waiting senders wake with -EPIPE and a
 * permit send gives the element back. */
static int64_t blocked_sender(asup_cx *cx, void *arg)
{
	int v = 1;
	return asup_chan_send(cx, arg, &v);
}

static int64_t drop_root(asup_cx *cx, void *arg)
{
	asup_chan *ch;
	asup_permit p;
	asup_task h;
	asup_outcome o;
	int v = 9;
	CHECK_EQ(asup_chan_open(cx, sizeof(int), 1, &ch), 0);
	CHECK_EQ(asup_chan_reserve(cx, ch, &p), 0);
	CHECK_EQ(asup_spawn(cx, blocked_sender, ch, NULL, &h), 0);
	CHECK_EQ(asup_yield(cx), 0);
	CHECK_EQ(asup_chan_close_recv(ch), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_ERR);
	CHECK_EQ(o.value, -EPIPE);
	CHECK_EQ(asup_permit_send(&p, &v), -EPIPE); /* v was not taken */
	CHECK_EQ(asup_chan_send(cx, ch, &v), -EPIPE);
	return 0;
}

TEST(sem_86_receiver_drop_wakes_senders_with_epipe)
{
	run(drop_root);
}

/* A permit its task never resolves: a leak, and its room comes back. */
static int64_t leaks_permit(asup_cx *cx, void *arg)
{
	asup_permit p;
	return asup_chan_reserve(cx, arg, &p);
}

static int64_t leak_root(asup_cx *cx, void *arg)
{
	asup_chan *ch;
	asup_task h;
	asup_chan_stats st;
	int v = 3;
	CHECK_EQ(asup_chan_open(cx, sizeof(int), 1, &ch), 0);
	CHECK_EQ(asup_spawn(cx, leaks_permit, ch, NULL, &h), 0);
	CHECK_EQ(asup_join(cx, &h, NULL), 0);
	CHECK_EQ(test_stats(arg).obligations_leaked, 1);
	CHECK_EQ(asup_chan_stats_get(ch, &st), 0);
	CHECK_EQ(st.reserved, 0);
	CHECK_EQ(asup_chan_try_send(ch, &v), 0); /* the room is usable again */
	return 0;
}

TEST(an_unresolved_permit_is_a_leak_and_gives_its_room_back)
{
	run(leak_root);
}

/* Cancel at every queue position: FIFO kept, no permit lost, no stall. */
static int order_log[8], norder;
static int64_t queued_sender(asup_cx *cx, void *arg)
{
	asup_permit p;
	int id = (int)(intptr_t)arg;
	int rc = asup_chan_reserve(cx, shared, &p);
	if (rc < 0)
		return rc;
	order_log[norder++] = id;
	return asup_permit_send(&p, &id);
}

static int64_t positions_root(asup_cx *cx, void *arg)
{
	for (int victim = 0; victim < 4; victim++) {
		asup_task h[4];
		asup_permit first;
		int v;
		norder = 0;
		CHECK_EQ(asup_chan_open(cx, sizeof(int), 1, &shared), 0);
		CHECK_EQ(asup_chan_reserve(cx, shared, &first), 0);
		for (int i = 0; i < 4; i++) {
			CHECK_EQ(asup_spawn(cx, queued_sender, (void *)(intptr_t)i, NULL, &h[i]), 0);
			CHECK_EQ(asup_yield(cx), 0); /* i reaches the queue in order */
		}
		CHECK_EQ(asup_task_abort(&h[victim]), 0);
		CHECK_EQ(asup_permit_abort(&first), 0);
		for (int got = 0; got < 3; got++) {
			CHECK_EQ(asup_chan_recv(cx, shared, &v), 0);
			CHECK(v != victim);
		}
		for (int i = 0; i < 4; i++)
			CHECK_EQ(asup_join(cx, &h[i], NULL), 0);
		CHECK_EQ(norder, 3);
		for (int i = 1; i < 3; i++)
			CHECK(order_log[i] > order_log[i - 1]); /* FIFO among the rest */
	}
	return 0;
}

TEST(cancel_at_every_reserver_position_keeps_fifo)
{
	/* Real mode: FIFO among equally ready tasks, so the senders reach the
	 * queue in spawn order. */
	asup_rt *rt = test_rt(ASUP_MODE_REAL, 0);
	asup_outcome o;
	CHECK_EQ(asup_rt_run(rt, positions_root, rt, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	test_rt_done(rt);
}

static int64_t bad_root(asup_cx *cx, void *arg)
{
	asup_chan *ch;
	asup_permit p, empty;
	int v = 1;
	memset(&empty, 0, sizeof empty);
	CHECK_EQ(asup_chan_open(cx, 0, 4, &ch), -EINVAL);
	CHECK_EQ(asup_chan_open(cx, 4, 0, &ch), -EINVAL);
	CHECK_EQ(asup_chan_open(cx, 4, 4, NULL), -EINVAL);
	CHECK_EQ(asup_chan_open(cx, sizeof(int), 2, &ch), 0);
	CHECK_EQ(asup_permit_send(&empty, &v), -EINVAL);
	CHECK_EQ(asup_permit_abort(&empty), -EINVAL);
	CHECK_EQ(asup_chan_reserve(cx, ch, &p), 0);
	CHECK_EQ(asup_permit_send(&p, &v), 0);
	CHECK_EQ(asup_permit_send(&p, &v), -ASUP_EALREADY); /* used */
	CHECK_EQ(asup_chan_send(cx, NULL, &v), -EINVAL);
	CHECK_EQ(asup_chan_recv(cx, ch, NULL), -EINVAL);
	CHECK_EQ(asup_chan_send(NULL, ch, &v), -ASUP_ENOTASK);
	CHECK_EQ(asup_chan_try_recv(NULL, &v), -EINVAL);
	return 0;
}

TEST(bad_input_gets_clear_codes)
{
	run(bad_root);
}

/* ---- send_evict_oldest ---- */

static int64_t evict_basic_root(asup_cx *cx, void *arg)
{
	asup_chan *ch;
	asup_chan_stats st;
	int v, old = -1;
	CHECK_EQ(asup_chan_open(cx, sizeof(int), 3, &ch), 0);
	for (v = 1; v <= 3; v++)
		CHECK_EQ(asup_chan_send_evict_oldest(ch, &v, &old), 0); /* room: no eviction */
	CHECK_EQ(old, -1);
	v = 4;
	CHECK_EQ(asup_chan_send_evict_oldest(ch, &v, &old), 1);
	CHECK_EQ(old, 1); /* the oldest went out */
	v = 5;
	CHECK_EQ(asup_chan_send_evict_oldest(ch, &v, NULL), 1); /* 2 dropped */
	CHECK_EQ(asup_chan_stats_get(ch, &st), 0);
	CHECK_EQ(st.queued, 3);
	CHECK_EQ(st.reserved, 0);
	for (int want = 3; want <= 5; want++) {
		CHECK_EQ(asup_chan_try_recv(ch, &v), 0);
		CHECK_EQ(v, want); /* the rest in order, the new one last */
	}
	CHECK_EQ(asup_chan_try_recv(ch, &v), -EAGAIN);
	return 0;
}

TEST(evict_oldest_sends_into_room_and_else_replaces_the_oldest)
{
	run(evict_basic_root);
}

static int64_t evict_permit_root(asup_cx *cx, void *arg)
{
	asup_chan *ch;
	asup_chan_stats st;
	asup_permit p, q;
	int v = 1, old = 0;
	CHECK_EQ(asup_chan_open(cx, sizeof(int), 2, &ch), 0);
	CHECK_EQ(asup_chan_send(cx, ch, &v), 0);
	CHECK_EQ(asup_chan_reserve(cx, ch, &p), 0); /* full: 1 queued + 1 permit */
	v = 5;
	CHECK_EQ(asup_chan_send_evict_oldest(ch, &v, &old), 1);
	CHECK_EQ(old, 1); /* the queued element, never the permit's slot */
	CHECK_EQ(asup_chan_stats_get(ch, &st), 0);
	CHECK_EQ(st.queued, 1);
	CHECK_EQ(st.reserved, 1);
	v = 6;
	CHECK_EQ(asup_permit_send(&p, &v), 0); /* the permit still has its room */
	CHECK_EQ(asup_chan_try_recv(ch, &v), 0);
	CHECK_EQ(v, 5);
	CHECK_EQ(asup_chan_try_recv(ch, &v), 0);
	CHECK_EQ(v, 6);
	/* Every slot held by a permit: nothing to evict, nothing changes. */
	CHECK_EQ(asup_chan_reserve(cx, ch, &p), 0);
	CHECK_EQ(asup_chan_reserve(cx, ch, &q), 0);
	v = 7;
	old = 42;
	CHECK_EQ(asup_chan_send_evict_oldest(ch, &v, &old), -EAGAIN);
	CHECK_EQ(old, 42);
	CHECK_EQ(asup_chan_stats_get(ch, &st), 0);
	CHECK_EQ(st.queued, 0);
	CHECK_EQ(st.reserved, 2);
	CHECK_EQ(asup_permit_send(&p, &v), 0);
	v = 8; /* one queued, one permit: the queued one goes */
	CHECK_EQ(asup_chan_send_evict_oldest(ch, &v, &old), 1);
	CHECK_EQ(old, 7);
	CHECK_EQ(asup_permit_abort(&q), 0);
	CHECK_EQ(asup_chan_try_recv(ch, &v), 0);
	CHECK_EQ(v, 8);
	CHECK_EQ(asup_chan_stats_get(ch, &st), 0);
	CHECK_EQ(st.reserved, 0);
	CHECK_EQ(st.queued, 0);
	return 0;
}

TEST(evict_oldest_never_takes_a_permits_slot)
{
	run(evict_permit_root);
}

/* A reserver waiting on a full channel keeps waiting through evictions and
 * gets the next room that frees. */
static int64_t evict_waiter_root(asup_cx *cx, void *arg)
{
	asup_chan_stats st;
	asup_task h;
	asup_outcome o;
	int v = 1, old = 0;
	got_slot = 0;
	CHECK_EQ(asup_chan_open(cx, sizeof(int), 1, &shared), 0);
	CHECK_EQ(asup_chan_send(cx, shared, &v), 0);
	CHECK_EQ(asup_spawn(cx, reserver, (void *)9, NULL, &h), 0);
	CHECK_EQ(asup_yield(cx), 0); /* it waits */
	v = 2;
	CHECK_EQ(asup_chan_send_evict_oldest(shared, &v, &old), 1);
	CHECK_EQ(old, 1);
	CHECK_EQ(asup_yield(cx), 0);
	CHECK_EQ(got_slot, 0); /* still waiting: no room was made */
	CHECK_EQ(asup_chan_try_recv(shared, &v), 0);
	CHECK_EQ(v, 2);
	CHECK_EQ(asup_join(cx, &h, &o), 0); /* the freed room went to it */
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(got_slot, 9);
	CHECK_EQ(asup_chan_stats_get(shared, &st), 0);
	CHECK_EQ(st.reserved, 0);
	return 0;
}

TEST(evict_oldest_leaves_waiting_reservers_in_line)
{
	/* Real mode: FIFO among equally ready tasks, so one yield lets the
	 * reserver reach the queue. */
	asup_rt *rt = test_rt(ASUP_MODE_REAL, 0);
	asup_outcome o;
	CHECK_EQ(asup_rt_run(rt, evict_waiter_root, rt, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	test_rt_done(rt);
}

static int64_t evict_bad_root(asup_cx *cx, void *arg)
{
	asup_chan *ch;
	int v[2] = {1, 2};
	CHECK_EQ(asup_chan_open(cx, sizeof(int), 1, &ch), 0);
	CHECK_EQ(asup_chan_send_evict_oldest(NULL, &v[0], NULL), -EINVAL);
	CHECK_EQ(asup_chan_send_evict_oldest(ch, NULL, NULL), -EINVAL);
	CHECK_EQ(asup_chan_send_evict_oldest(ch, &v[0], &v[0]), -EINVAL); /* aliases */
	CHECK_EQ(asup_chan_send_evict_oldest(ch, (char *)v + 2, &v[1]), -EINVAL); /* overlaps */
	CHECK_EQ(asup_chan_send_evict_oldest(ch, &v[0], &v[1]), 0); /* adjacent is fine */
	CHECK_EQ(asup_chan_close(ch), 0);
	CHECK_EQ(asup_chan_send_evict_oldest(ch, &v[0], NULL), -EPIPE);
	CHECK_EQ(asup_chan_try_recv(ch, &v[1]), 0); /* queued before the close */
	CHECK_EQ(v[1], 1);
	CHECK_EQ(asup_chan_open(cx, sizeof(int), 1, &ch), 0);
	CHECK_EQ(asup_chan_close_recv(ch), 0);
	CHECK_EQ(asup_chan_send_evict_oldest(ch, &v[0], NULL), -EPIPE);
	return 0;
}

TEST(evict_oldest_bad_input_and_closed_channels)
{
	run(evict_bad_root);
}

/* A region body that opens a channel in its own region and returns holding
 * a permit of it: the permit leaks in that region while the channel still
 * exists (its memory goes only when the region closes), not later, when
 * the task ends and the channel is gone. */
static int64_t body_keeps_a_permit(asup_cx *cx, void *arg)
{
	asup_chan *ch;
	asup_permit *p = arg;
	CHECK_EQ(asup_chan_open(cx, sizeof(int), 1, &ch), 0);
	CHECK_EQ(asup_chan_reserve(cx, ch, p), 0);
	return 0;
}

static int64_t nested_permit_root(asup_cx *cx, void *arg)
{
	asup_rt *rt = arg;
	asup_permit p;
	asup_outcome o;
	uint64_t leaked_before = test_stats(rt).obligations_leaked;

	CHECK_EQ(asup_region(cx, body_keeps_a_permit, &p, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(test_stats(rt).obligations_leaked, leaked_before + 1);
	CHECK_EQ(cx->kt->nobl, 0); /* nothing left for the task's own end */
	return 0;
}

TEST(a_permit_left_in_a_region_body_leaks_in_that_region_before_its_channel_goes)
{
	run(nested_permit_root);
}
