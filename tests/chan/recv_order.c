/*
 * Waiting receivers of a bounded channel: the order in which they are served,
 * and what asup_chan_close_recv and asup_chan_close give them (chan.h).
 */
#include "testrt.h"

#include <errno.h>
#include <string.h>

#define NRX 4

struct order {
	asup_chan *ch;
	int got[NRX];
	int rc[NRX];
	int started;
};

struct rx_arg {
	struct order *o;
	int i;
};

static int64_t receiver(asup_cx *cx, void *arg)
{
	struct rx_arg *a = arg;
	a->o->started++;
	a->o->rc[a->i] = asup_chan_recv(cx, a->o->ch, &a->o->got[a->i]);
	return 0;
}

/* Spawns NRX receivers in order and lets each of them start waiting. */
static void start_receivers(asup_cx *cx, struct order *o, struct rx_arg *args, asup_task *hs)
{
	for (int i = 0; i < NRX; i++) {
		args[i].o = o;
		args[i].i = i;
		o->rc[i] = 1;
		CHECK_EQ(asup_spawn(cx, receiver, &args[i], NULL, &hs[i]), 0);
	}
	while (o->started < NRX)
		CHECK_EQ(asup_yield(cx), 0);
	CHECK_EQ(asup_yield(cx), 0); /* the last one parks */
	for (int i = 0; i < NRX; i++)
		CHECK_EQ(o->rc[i], 1); /* all still waiting */
}

static void join_all(asup_cx *cx, asup_task *hs)
{
	asup_outcome out;
	for (int i = 0; i < NRX; i++) {
		CHECK_EQ(asup_join(cx, &hs[i], &out), 0);
		CHECK_EQ(out.kind, ASUP_OUTCOME_OK);
	}
}

static int64_t fifo_root(asup_cx *cx, void *arg)
{
	struct order *o = arg;
	struct rx_arg args[NRX];
	asup_task hs[NRX];

	CHECK_EQ(asup_chan_open(cx, sizeof(int), NRX, &o->ch), 0);
	start_receivers(cx, o, args, hs);
	for (int v = 0; v < NRX; v++)
		CHECK_EQ(asup_chan_try_send(o->ch, &v), 0);
	join_all(cx, hs);
	for (int i = 0; i < NRX; i++) {
		CHECK_EQ(o->rc[i], 0);
		CHECK_EQ(o->got[i], i); /* the longest waiting got the oldest */
	}
	return 0;
}

TEST(waiting_receivers_are_served_in_the_order_they_began_to_wait)
{
	asup_rt *rt = test_rt(ASUP_MODE_REAL, 0);
	static struct order o;
	asup_outcome out;

	memset(&o, 0, sizeof o);
	CHECK_EQ(asup_rt_run(rt, fifo_root, &o, &out), 0);
	CHECK_EQ(out.kind, ASUP_OUTCOME_OK);
	test_rt_done(rt);
}

static int64_t close_recv_root(asup_cx *cx, void *arg)
{
	struct order *o = arg;
	struct rx_arg args[NRX];
	asup_task hs[NRX];
	asup_chan_stats st;
	int v = 1;

	CHECK_EQ(asup_chan_open(cx, sizeof(int), NRX, &o->ch), 0);
	start_receivers(cx, o, args, hs);
	CHECK_EQ(asup_chan_close_recv(o->ch), 0);
	join_all(cx, hs);
	for (int i = 0; i < NRX; i++)
		CHECK_EQ(o->rc[i], -EPIPE); /* every waiting receive, nothing copied */
	/* later receives and sends: -EPIPE, nothing queued */
	CHECK_EQ(asup_chan_try_recv(o->ch, &v), -EPIPE);
	CHECK_EQ(asup_chan_recv(cx, o->ch, &v), -EPIPE);
	CHECK_EQ(asup_chan_try_send(o->ch, &v), -EPIPE);
	CHECK_EQ(asup_chan_stats_get(o->ch, &st), 0);
	CHECK_EQ(st.queued, 0);
	return 0;
}

TEST(close_recv_wakes_every_waiting_receive_with_epipe)
{
	asup_rt *rt = test_rt(ASUP_MODE_DETERMINISTIC, 3);
	static struct order o;
	asup_outcome out;

	memset(&o, 0, sizeof o);
	CHECK_EQ(asup_rt_run(rt, close_recv_root, &o, &out), 0);
	CHECK_EQ(out.kind, ASUP_OUTCOME_OK);
	test_rt_done(rt);
}

static int64_t close_root(asup_cx *cx, void *arg)
{
	struct order *o = arg;
	struct rx_arg args[NRX];
	asup_task hs[NRX];
	int v = 5;

	CHECK_EQ(asup_chan_open(cx, sizeof(int), NRX, &o->ch), 0);
	start_receivers(cx, o, args, hs);
	CHECK_EQ(asup_chan_try_send(o->ch, &v), 0);
	CHECK_EQ(asup_chan_close(o->ch), 0);
	join_all(cx, hs);
	int got = 0, epipe = 0;
	for (int i = 0; i < NRX; i++) {
		got += o->rc[i] == 0 && o->got[i] == 5;
		epipe += o->rc[i] == -EPIPE;
	}
	CHECK_EQ(got, 1);         /* the queued element is received once */
	CHECK_EQ(epipe, NRX - 1); /* the rest see closed and empty */
	return 0;
}

TEST(close_lets_waiting_receivers_drain_then_gives_epipe)
{
	asup_rt *rt = test_rt(ASUP_MODE_DETERMINISTIC, 5);
	static struct order o;
	asup_outcome out;

	memset(&o, 0, sizeof o);
	CHECK_EQ(asup_rt_run(rt, close_root, &o, &out), 0);
	CHECK_EQ(out.kind, ASUP_OUTCOME_OK);
	test_rt_done(rt);
}
