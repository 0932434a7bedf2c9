/*
 * Channels of another runtime: every call, from a task of another runtime,
 * returns -EXDEV and changes nothing. Runtime B opens one channel of each
 * kind, fills each with one element, subscribes a cursor and reserves a
 * permit, then its task sleeps (virtual time that nobody moves). A task of
 * runtime A then tries every call on them; the stats B's own task reads
 * afterwards are those it read before.
 */
#include "testrt.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define HOUR (3600ull * 1000000000ull)

struct objs {
	asup_chan *ch;
	asup_permit permit;
	asup_oneshot *os, *os2;
	asup_oneshot_permit os_permit;
	asup_broadcast *b;
	asup_broadcast_rx brx;
	asup_broadcast_permit b_permit;
	asup_watch *w;
	asup_watch_rx wrx;
	asup_chan_stats cs;
	asup_oneshot_stats os_s, os2_s;
	asup_broadcast_stats bs;
	asup_watch_stats ws;
	int refused, calls; /* counted in runtime A */
	int phase;          /* 0: B fills; 1: B checks */
};

static void snapshot(struct objs *o, asup_chan_stats *cs, asup_oneshot_stats *os,
		     asup_oneshot_stats *os2, asup_broadcast_stats *bs, asup_watch_stats *ws)
{
	CHECK_EQ(asup_chan_stats_get(o->ch, cs), 0);
	CHECK_EQ(asup_oneshot_stats_get(o->os, os), 0);
	CHECK_EQ(asup_oneshot_stats_get(o->os2, os2), 0);
	CHECK_EQ(asup_broadcast_stats_get(o->b, bs), 0);
	CHECK_EQ(asup_watch_stats_get(o->w, ws), 0);
}

static int64_t b_owner(asup_cx *cx, void *arg)
{
	struct objs *o = arg;
	int v = 5;

	CHECK_EQ(asup_chan_open(cx, sizeof(int), 4, &o->ch), 0);
	CHECK_EQ(asup_chan_send(cx, o->ch, &v), 0);
	CHECK_EQ(asup_chan_reserve(cx, o->ch, &o->permit), 0);
	CHECK_EQ(asup_oneshot_open(cx, sizeof(int), &o->os), 0);
	CHECK_EQ(asup_oneshot_reserve(cx, o->os, &o->os_permit), 0);
	CHECK_EQ(asup_oneshot_open(cx, sizeof(int), &o->os2), 0);
	CHECK_EQ(asup_oneshot_send(o->os2, &v), 0);
	CHECK_EQ(asup_broadcast_open(cx, sizeof(int), 4, &o->b), 0);
	CHECK_EQ(asup_broadcast_subscribe(o->b, &o->brx), 0);
	CHECK_EQ(asup_broadcast_send(o->b, &v), 1);
	CHECK_EQ(asup_broadcast_reserve(cx, o->b, &o->b_permit), 0);
	CHECK_EQ(asup_watch_open(cx, sizeof(int), &v, &o->w), 0);
	CHECK_EQ(asup_watch_subscribe(o->w, &o->wrx), 0);
	CHECK_EQ(asup_watch_send(o->w, &v), 0);
	snapshot(o, &o->cs, &o->os_s, &o->os2_s, &o->bs, &o->ws);

	CHECK_EQ(asup_sleep(cx, HOUR), 0); /* runtime A runs meanwhile */

	/* Nothing changed, and everything still works from B. */
	asup_chan_stats cs;
	asup_oneshot_stats os, os2;
	asup_broadcast_stats bs;
	asup_watch_stats ws;
	memset(&cs, 0, sizeof cs); /* padding compares equal too */
	memset(&os, 0, sizeof os);
	memset(&os2, 0, sizeof os2);
	memset(&bs, 0, sizeof bs);
	memset(&ws, 0, sizeof ws);
	snapshot(o, &cs, &os, &os2, &bs, &ws);
	CHECK(memcmp(&cs, &o->cs, sizeof cs) == 0);
	CHECK(memcmp(&os, &o->os_s, sizeof os) == 0);
	CHECK(memcmp(&os2, &o->os2_s, sizeof os2) == 0);
	CHECK(memcmp(&bs, &o->bs, sizeof bs) == 0);
	CHECK(memcmp(&ws, &o->ws, sizeof ws) == 0);
	CHECK_EQ(asup_watch_has_changed(&o->wrx), 1);
	int got = 0;
	uint64_t missed = 0;
	CHECK_EQ(asup_chan_try_recv(o->ch, &got), 0);
	CHECK_EQ(got, 5);
	CHECK_EQ(asup_permit_send(&o->permit, &v), 0);
	CHECK_EQ(asup_oneshot_permit_send(&o->os_permit, &v), 0);
	CHECK_EQ(asup_oneshot_try_recv(o->os2, &got), 0);
	CHECK_EQ(asup_broadcast_try_recv(&o->brx, &got, &missed), 0);
	CHECK_EQ(asup_broadcast_permit_abort(&o->b_permit), 0);
	CHECK_EQ(asup_broadcast_unsubscribe(&o->brx), 0);
	CHECK_EQ(asup_watch_unsubscribe(&o->wrx), 0);
	return 0;
}

static void modify(void *value, void *arg)
{
	(void)arg;
	*(int *)value += 1;
}

#define REFUSED(call)                                                                    \
	do {                                                                             \
		o->calls++;                                                              \
		int rc_ = (call);                                                        \
		if (rc_ == -EXDEV)                                                       \
			o->refused++;                                                    \
		else                                                                     \
			fprintf(stderr, "%s:%d: %s gave %d, not -EXDEV\n", __FILE__,     \
				__LINE__, #call, rc_);                                   \
	} while (0)

static int64_t a_mpsc_and_oneshot(asup_cx *cx, void *arg)
{
	struct objs *o = arg;
	asup_permit p;
	asup_oneshot_permit op;
	asup_chan_stats cs;
	asup_oneshot_stats oss;
	int v = 9, ev;

	memset(&p, 0, sizeof p);
	memset(&op, 0, sizeof op);
	REFUSED(asup_chan_reserve(cx, o->ch, &p));
	REFUSED(asup_chan_try_reserve(cx, o->ch, &p));
	REFUSED(asup_permit_send(&o->permit, &v));
	REFUSED(asup_permit_abort(&o->permit));
	REFUSED(asup_chan_send(cx, o->ch, &v));
	REFUSED(asup_chan_try_send(o->ch, &v));
	REFUSED(asup_chan_send_evict_oldest(o->ch, &v, &ev));
	REFUSED(asup_chan_recv(cx, o->ch, &v));
	REFUSED(asup_chan_try_recv(o->ch, &v));
	REFUSED(asup_chan_close(o->ch));
	REFUSED(asup_chan_close_recv(o->ch));
	REFUSED(asup_chan_stats_get(o->ch, &cs));
	REFUSED(asup_oneshot_reserve(cx, o->os2, &op));
	REFUSED(asup_oneshot_permit_send(&o->os_permit, &v));
	REFUSED(asup_oneshot_permit_abort(&o->os_permit));
	REFUSED(asup_oneshot_send(o->os, &v));
	REFUSED(asup_oneshot_close_send(o->os));
	REFUSED(asup_oneshot_recv(cx, o->os2, &v));
	REFUSED(asup_oneshot_try_recv(o->os2, &v));
	REFUSED(asup_oneshot_close_recv(o->os2));
	REFUSED(asup_oneshot_stats_get(o->os, &oss));
	return 0;
}

static int64_t a_broadcast_and_watch(asup_cx *cx, void *arg)
{
	struct objs *o = arg;
	asup_broadcast_rx rx;
	asup_broadcast_permit bp;
	asup_broadcast_stats bs;
	asup_watch_rx wrx;
	asup_watch_stats ws;
	uint64_t ver, missed;
	int v = 9;

	memset(&bp, 0, sizeof bp);
	REFUSED(asup_broadcast_send(o->b, &v));
	REFUSED(asup_broadcast_reserve(cx, o->b, &bp));
	REFUSED(asup_broadcast_permit_send(&o->b_permit, &v));
	REFUSED(asup_broadcast_permit_abort(&o->b_permit));
	REFUSED(asup_broadcast_add_sender(o->b));
	REFUSED(asup_broadcast_close_send(o->b));
	REFUSED(asup_broadcast_subscribe(o->b, &rx));
	REFUSED(asup_broadcast_recv(cx, &o->brx, &v, &missed));
	REFUSED(asup_broadcast_try_recv(&o->brx, &v, &missed));
	REFUSED(asup_broadcast_unsubscribe(&o->brx));
	REFUSED(asup_broadcast_stats_get(o->b, &bs));
	REFUSED(asup_watch_send(o->w, &v));
	REFUSED(asup_watch_send_modify(o->w, modify, NULL));
	REFUSED(asup_watch_borrow(o->w, &v, &ver));
	REFUSED(asup_watch_close_send(o->w));
	REFUSED(asup_watch_subscribe(o->w, &wrx));
	REFUSED(asup_watch_changed(cx, &o->wrx));
	REFUSED(asup_watch_borrow_and_update(&o->wrx, &v, &ver));
	REFUSED(asup_watch_mark_seen(&o->wrx));
	REFUSED(asup_watch_has_changed(&o->wrx));
	REFUSED(asup_watch_stats_get(o->w, &ws));
	return 0;
}

static int64_t a_select(asup_cx *cx, void *arg)
{
	struct objs *o = arg;
	asup_select_arm arms[1];
	asup_permit p;
	int v;

	asup_select_recv(&arms[0], o->ch, &v);
	REFUSED(asup_select(cx, arms, 1));
	CHECK_EQ(arms[0].result, -EXDEV);
	asup_select_reserve(&arms[0], o->ch, &p);
	REFUSED(asup_select(cx, arms, 1));
	CHECK_EQ(arms[0].result, -EXDEV);
	return 0;
}

static asup_rt *det_rt(void)
{
	asup_rt_config cfg;
	asup_rt_config_init(&cfg);
	cfg.mode = ASUP_MODE_DETERMINISTIC;
	cfg.auto_advance = 0;
	return test_rt_cfg(&cfg);
}

/* B fills its channels and sleeps; A runs fn; B wakes and checks. */
static void run_case(asup_task_fn fn, int expected_calls)
{
	asup_rt *a = det_rt(), *b = det_rt();
	struct objs o;
	asup_task owner;
	asup_outcome out;

	memset(&o, 0, sizeof o);
	CHECK_EQ(asup_rt_spawn(b, b_owner, &o, NULL, &owner), 0);
	CHECK(asup_rt_run_until_idle(b) >= 1);
	CHECK_EQ(asup_task_is_finished(&owner), 0);
	CHECK_EQ(asup_rt_run(a, fn, &o, &out), 0);
	CHECK_EQ(out.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(o.calls, expected_calls);
	CHECK_EQ(o.refused, expected_calls);
	CHECK_EQ(asup_rt_advance(b, HOUR), 0);
	CHECK(asup_rt_run_until_idle(b) >= 1);
	CHECK_EQ(asup_task_try_join(&owner, &out), 0);
	CHECK_EQ(out.kind, ASUP_OUTCOME_OK);
	test_rt_done(a);
	test_rt_done(b);
}

TEST(every_mpsc_and_oneshot_call_refuses_another_runtimes_channel)
{
	run_case(a_mpsc_and_oneshot, 21);
}

TEST(every_broadcast_and_watch_call_refuses_another_runtimes_channel)
{
	run_case(a_broadcast_and_watch, 21);
}

TEST(select_arms_refuse_another_runtimes_channel)
{
	run_case(a_select, 2);
}
