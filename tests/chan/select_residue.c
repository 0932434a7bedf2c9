/* asup_select leaves no residue: losing arms, a cancel or a timeout leave
 * nothing on any arm; room or a receive wake handed to a losing arm is
 * passed on (FIFO kept, no stall); and a seeded sweep of producers and
 * consumers that all use select, with cancels midway, loses and duplicates
 * nothing.
 *
 * "No residue" is checked directly: the channels' wait queues
 * (asup__chan_waiting), the joined tasks' joiner lists, the runtime's armed
 * timers and the channels' reservation counts. */
#include "select_util.h"

/* ---- losing arms, cancel, timeout ---- */

struct all_kinds {
	asup_chan *a, *b, *x, *gate;
	asup_task t;
	asup_permit held; /* root's permit: keeps b full */
	int va, vx;
	asup_permit pb;
	asup_outcome ot;
	int rc;
};

static void arms_all(struct all_kinds *c, asup_select_arm *arms)
{
	asup_select_recv(&arms[0], c->a, &c->va);
	asup_select_reserve(&arms[1], c->b, &c->pb);
	asup_select_join(&arms[2], &c->t, &c->ot);
	asup_select_sleep(&arms[3], 1000000000);
	asup_select_recv(&arms[4], c->x, &c->vx);
}

static void setup_all(asup_cx *cx, struct all_kinds *c)
{
	memset(c, 0, sizeof *c);
	c->a = open_int(cx, 1);
	c->b = open_int(cx, 1);
	c->x = open_int(cx, 1);
	c->gate = open_int(cx, 1);
	CHECK_EQ(asup_spawn(cx, gated, c->gate, NULL, &c->t), 0);
	CHECK_EQ(asup_chan_reserve(cx, c->b, &c->held), 0);
}

/* Nothing of a finished select is left on any arm. */
static void check_clean(asup_cx *cx, struct all_kinds *c)
{
	int v = 5;
	no_waiters(c->a);
	no_waiters(c->b);
	no_waiters(c->x);
	no_joiners(&c->t);
	CHECK_EQ(timers_armed(), 0);
	CHECK_EQ(reserved(c->b), 1); /* only the root's permit */
	CHECK_EQ(cx->kt->nobl, 1);
	CHECK_EQ(asup_task_is_finished(&c->t), 0);
	CHECK_EQ(((asup__ktask *)c->t._rec)->cancel_requested, 0);
	/* Everything still works for others. */
	CHECK_EQ(asup_permit_abort(&c->held), 0);
	CHECK_EQ(asup_chan_try_reserve(cx, c->b, &c->held), 0); /* no stale waiter first */
	CHECK_EQ(asup_permit_abort(&c->held), 0);
	CHECK_EQ(asup_chan_try_send(c->gate, &v), 0);
	CHECK_EQ(asup_join(cx, &c->t, &c->ot), 0);
	CHECK_EQ(c->ot.value, 5);
	CHECK_EQ(asup_chan_try_send(c->a, &v), 0);
	CHECK_EQ(asup_chan_try_recv(c->a, &v), 0);
}

/* Runs while the root's select waits: proves that it is registered on every
 * arm, then makes arm 4 ready. */
static int64_t registered_then_send(asup_cx *cx, void *arg)
{
	struct all_kinds *c = arg;
	size_t res, rcv;
	int v = 44;
	asup__chan_waiting(c->a, &res, &rcv);
	CHECK_EQ(rcv, 1);
	asup__chan_waiting(c->b, &res, &rcv);
	CHECK_EQ(res, 1);
	CHECK(!asup__list_empty(&((asup__ktask *)c->t._rec)->joiners));
	CHECK_EQ(timers_armed(), 1);
	return asup_chan_try_send(c->x, &v);
}

static int64_t losers_root(asup_cx *cx, void *arg)
{
	struct all_kinds c;
	asup_select_arm arms[5];
	asup_task h;
	setup_all(cx, &c);
	CHECK_EQ(asup_yield(cx), 0);
	CHECK_EQ(asup_spawn(cx, registered_then_send, &c, NULL, &h), 0);
	arms_all(&c, arms);
	CHECK_EQ(asup_select(cx, arms, 5), 4);
	CHECK_EQ(c.vx, 44);
	for (int i = 0; i < 4; i++)
		CHECK_EQ(arms[i].result, -EAGAIN);
	CHECK_EQ(asup_join(cx, &h, NULL), 0);
	check_clean(cx, &c);
	return 0;
}

TEST(losing_arms_leave_no_residue)
{
	run(losers_root);
}

static int64_t select_all(asup_cx *cx, void *arg)
{
	struct all_kinds *c = arg;
	asup_select_arm arms[5];
	arms_all(c, arms);
	c->rc = asup_select(cx, arms, 5);
	return c->rc;
}

static int64_t cancel_root(asup_cx *cx, void *arg)
{
	struct all_kinds c;
	asup_task s;
	asup_outcome o;
	setup_all(cx, &c);
	CHECK_EQ(asup_spawn(cx, select_all, &c, NULL, &s), 0);
	wait_queued(cx, c.b, 1, 0);
	wait_queued(cx, c.a, 0, 1);
	CHECK_EQ(timers_armed(), 1); /* its sleep arm */
	CHECK_EQ(asup_task_abort(&s), 0);
	CHECK_EQ(asup_join(cx, &s, &o), 0);
	CHECK_EQ(c.rc, -ECANCELED);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	check_clean(cx, &c);
	return 0;
}

TEST(cancel_while_waiting_on_every_arm_kind_leaves_no_residue)
{
	run(cancel_root);
}

/* Checkpoint first: with every arm ready, a cancelled select does nothing. */
static int64_t cancelled_first(asup_cx *cx, void *arg)
{
	struct all_kinds *c = arg;
	asup_select_arm arms[5];
	CHECK_EQ(asup_cx_cancel_self(cx, ASUP_CANCEL_USER, NULL), 0);
	arms_all(c, arms);
	asup_select_sleep_until(&arms[3], 0);
	c->rc = asup_select(cx, arms, 5);
	CHECK_EQ(cx->kt->nobl, 0);
	for (int i = 0; i < 5; i++)
		CHECK_EQ(arms[i].result, -EAGAIN);
	return c->rc;
}

static int64_t ready_cancel_root(asup_cx *cx, void *arg)
{
	struct all_kinds c;
	asup_task s;
	int v = 3;
	setup_all(cx, &c);
	CHECK_EQ(asup_permit_abort(&c.held), 0); /* b has room */
	CHECK_EQ(asup_chan_try_send(c.a, &v), 0);
	CHECK_EQ(asup_chan_try_send(c.x, &v), 0);
	CHECK_EQ(asup_chan_try_send(c.gate, &v), 0);
	while (asup_task_is_finished(&c.t) == 0)
		CHECK_EQ(asup_yield(cx), 0);
	CHECK_EQ(asup_spawn(cx, cancelled_first, &c, NULL, &s), 0);
	CHECK_EQ(asup_join(cx, &s, NULL), 0);
	CHECK_EQ(c.rc, -ECANCELED);
	CHECK_EQ(queued(c.a), 1);
	CHECK_EQ(queued(c.x), 1);
	CHECK_EQ(reserved(c.b), 0);
	CHECK_EQ(asup_task_try_join(&c.t, &c.ot), 0); /* not consumed */
	CHECK_EQ(c.ot.value, 3);
	return 0;
}

TEST(a_cancelled_select_has_no_effect_even_with_every_arm_ready)
{
	run(ready_cancel_root);
}

/* An enclosing deadline: -ETIMEDOUT with no effect; an earlier sleep arm
 * wins over it. */
static int64_t timeout_root(asup_cx *cx, void *arg)
{
	struct all_kinds c;
	asup_select_arm arms[5];
	asup_time t0;
	setup_all(cx, &c);
	CHECK_EQ(asup_yield(cx), 0);
	t0 = asup_now(cx);
	CHECK_EQ(asup_timeout(cx, 2000000, select_all, &c), -ETIMEDOUT);
	CHECK_EQ(asup_now(cx), t0 + 2000000);
	CHECK_EQ(cx->kt->nobl, 1);
	check_clean(cx, &c);
	setup_all(cx, &c);
	arms_all(&c, arms);
	asup_select_sleep(&arms[3], 1000000);
	t0 = asup_now(cx);
	CHECK_EQ(asup_select(cx, arms, 5), 3);
	CHECK_EQ(asup_now(cx), t0 + 1000000);
	check_clean(cx, &c);
	return 0;
}

TEST(an_enclosing_timeout_gives_etimedout_and_leaves_no_residue)
{
	run(timeout_root);
}

/* ---- hand-offs passed on ---- */

struct handoff {
	asup_chan *ch, *x;
	int s_won; /* 0 reserve, 1 recv */
	int b_done;
};

static int64_t handoff_selector(asup_cx *cx, void *arg)
{
	struct handoff *h = arg;
	asup_select_arm arms[2];
	asup_permit p;
	int v = 0, w;
	asup_select_reserve(&arms[0], h->ch, &p);
	asup_select_recv(&arms[1], h->x, &v);
	w = asup_select(cx, arms, 2);
	CHECK(w == 0 || w == 1);
	CHECK_EQ(arms[w].result, 0);
	h->s_won = w;
	if (w == 0) {
		v = 100;
		return asup_permit_send(&p, &v);
	}
	CHECK_EQ(v, 55);
	return 0;
}

static int64_t plain_reserver(asup_cx *cx, void *arg)
{
	struct handoff *h = arg;
	asup_permit p;
	int v = 200;
	CHECK_EQ(asup_chan_reserve(cx, h->ch, &p), 0);
	h->b_done = 1;
	return asup_permit_send(&p, &v);
}

static int64_t handoff_root(asup_cx *cx, void *arg)
{
	struct handoff h = {open_int(cx, 1), open_int(cx, 1), -1, 0};
	asup_permit mine;
	asup_task s, b;
	int v = 55;
	CHECK_EQ(asup_chan_reserve(cx, h.ch, &mine), 0);
	CHECK_EQ(asup_spawn(cx, handoff_selector, &h, NULL, &s), 0);
	wait_queued(cx, h.ch, 1, 0);
	CHECK_EQ(asup_spawn(cx, plain_reserver, &h, NULL, &b), 0);
	wait_queued(cx, h.ch, 2, 0);
	/* In one turn: the room goes to the head (the select) and x gets an
	 * element: both arms are ready when it runs. */
	CHECK_EQ(asup_permit_abort(&mine), 0);
	CHECK_EQ(asup_chan_try_send(h.x, &v), 0);
	CHECK_EQ(asup_join(cx, &s, NULL), 0);
	if (h.s_won == 1) {
		/* The room it was handed went on to b: b finishes without any
		 * more room being made (a stall would deadlock here). */
		CHECK_EQ(asup_join(cx, &b, NULL), 0);
		CHECK_EQ(h.b_done, 1);
		CHECK_EQ(asup_chan_try_recv(h.ch, &v), 0);
		CHECK_EQ(v, 200);
	} else {
		/* It kept its place ahead of b; its recv wake had no one to
		 * pass to, and the element stays queued. */
		CHECK_EQ(h.b_done, 0);
		CHECK_EQ(asup_chan_recv(cx, h.ch, &v), 0);
		CHECK_EQ(v, 100);
		CHECK_EQ(asup_join(cx, &b, NULL), 0);
		CHECK_EQ(asup_chan_try_recv(h.ch, &v), 0);
		CHECK_EQ(v, 200);
		CHECK_EQ(asup_chan_try_recv(h.x, &v), 0);
		CHECK_EQ(v, 55);
	}
	CHECK_EQ(reserved(h.ch), 0);
	no_waiters(h.ch);
	no_waiters(h.x);
	return h.s_won;
}

/* Runs root on the deterministic runtime under seed; counts which way the
 * run went (its value, 0 or 1) in ways_seen. */
static asup_task_fn way_root;
static int ways_seen[2];

static void run_way(uint64_t seed)
{
	asup_rt *rt = mk(ASUP_MODE_DETERMINISTIC, seed);
	asup_outcome o;
	cur_rt = rt;
	CHECK_EQ(asup_rt_run(rt, way_root, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK(o.value == 0 || o.value == 1);
	ways_seen[o.value]++;
	test_rt_done(rt);
}

TEST(room_handed_to_a_losing_reserve_arm_goes_to_the_next_reserver)
{
	way_root = handoff_root;
	if (SWEEP(50, run_way) == 50)
		CHECK(ways_seen[0] > 0 && ways_seen[1] > 0); /* both ways were exercised */
}

/* A receiver woken for an element it does not take passes the wake on. */
struct recv_pass {
	asup_chan *x, *c;
	int s_won; /* 0 recv, 1 reserve */
	int r_got;
};

static int64_t pass_selector(asup_cx *cx, void *arg)
{
	struct recv_pass *r = arg;
	asup_select_arm arms[2];
	asup_permit p;
	int v = 0, w;
	asup_select_recv(&arms[0], r->x, &v);
	asup_select_reserve(&arms[1], r->c, &p);
	w = asup_select(cx, arms, 2);
	CHECK(w == 0 || w == 1);
	r->s_won = w;
	if (w == 1)
		return asup_permit_abort(&p);
	CHECK_EQ(v, 5);
	return 0;
}

static int64_t plain_receiver(asup_cx *cx, void *arg)
{
	struct recv_pass *r = arg;
	int v;
	CHECK_EQ(asup_chan_recv(cx, r->x, &v), 0);
	r->r_got = v;
	return 0;
}

static int64_t pass_root(asup_cx *cx, void *arg)
{
	struct recv_pass r = {open_int(cx, 2), open_int(cx, 1), -1, 0};
	asup_permit mine;
	asup_task s, rr;
	int v = 5;
	CHECK_EQ(asup_chan_reserve(cx, r.c, &mine), 0);
	CHECK_EQ(asup_spawn(cx, pass_selector, &r, NULL, &s), 0);
	wait_queued(cx, r.x, 0, 1);
	CHECK_EQ(asup_spawn(cx, plain_receiver, &r, NULL, &rr), 0);
	wait_queued(cx, r.x, 0, 2);
	/* The element wakes the select (the head receiver) only. */
	CHECK_EQ(asup_chan_try_send(r.x, &v), 0);
	CHECK_EQ(asup_permit_abort(&mine), 0);
	CHECK_EQ(asup_join(cx, &s, NULL), 0);
	if (r.s_won == 1) {
		CHECK_EQ(asup_join(cx, &rr, NULL), 0); /* passed on: no stall */
		CHECK_EQ(r.r_got, 5);
	} else {
		v = 6;
		CHECK_EQ(asup_chan_try_send(r.x, &v), 0);
		CHECK_EQ(asup_join(cx, &rr, NULL), 0);
		CHECK_EQ(r.r_got, 6);
	}
	CHECK_EQ(reserved(r.c), 0);
	CHECK_EQ(queued(r.x), 0);
	no_waiters(r.x);
	no_waiters(r.c);
	return r.s_won;
}

TEST(a_recv_wake_a_losing_arm_got_is_passed_to_the_next_receiver)
{
	way_root = pass_root;
	if (SWEEP(50, run_way) == 50)
		CHECK(ways_seen[0] > 0 && ways_seen[1] > 0);
}

/* A cancel that arrives while hand-offs to the select are in flight (room
 * handed to its reserve arm, a wake to its recv arm, before it ran): both
 * are passed on, to the reserver and the receiver queued behind it. */
struct inflight {
	asup_chan *ch, *x;
	int rc, b_done, r_got;
};

static int64_t inflight_selector(asup_cx *cx, void *arg)
{
	struct inflight *c = arg;
	asup_select_arm arms[2];
	asup_permit p;
	int v;
	asup_select_reserve(&arms[0], c->ch, &p);
	asup_select_recv(&arms[1], c->x, &v);
	c->rc = asup_select(cx, arms, 2);
	return c->rc;
}

static int64_t inflight_reserver(asup_cx *cx, void *arg)
{
	struct inflight *c = arg;
	asup_permit p;
	int v = 300;
	CHECK_EQ(asup_chan_reserve(cx, c->ch, &p), 0);
	c->b_done = 1;
	return asup_permit_send(&p, &v);
}

static int64_t inflight_receiver(asup_cx *cx, void *arg)
{
	struct inflight *c = arg;
	return asup_chan_recv(cx, c->x, &c->r_got);
}

static int64_t inflight_root(asup_cx *cx, void *arg)
{
	struct inflight c = {open_int(cx, 1), open_int(cx, 2), 0, 0, 0};
	asup_permit mine;
	asup_task s, b, r;
	asup_outcome o;
	int v = 5;
	CHECK_EQ(asup_chan_reserve(cx, c.ch, &mine), 0);
	CHECK_EQ(asup_spawn(cx, inflight_selector, &c, NULL, &s), 0);
	wait_queued(cx, c.ch, 1, 0);
	wait_queued(cx, c.x, 0, 1);
	CHECK_EQ(asup_spawn(cx, inflight_reserver, &c, NULL, &b), 0);
	CHECK_EQ(asup_spawn(cx, inflight_receiver, &c, NULL, &r), 0);
	wait_queued(cx, c.ch, 2, 0);
	wait_queued(cx, c.x, 0, 2);
	CHECK_EQ(asup_permit_abort(&mine), 0);    /* room to the select */
	CHECK_EQ(asup_chan_try_send(c.x, &v), 0); /* a wake to the select */
	CHECK_EQ(asup_task_abort(&s), 0);         /* before it runs */
	CHECK_EQ(asup_join(cx, &s, &o), 0);
	CHECK_EQ(c.rc, -ECANCELED);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(asup_join(cx, &b, NULL), 0); /* got the room: no stall */
	CHECK_EQ(c.b_done, 1);
	CHECK_EQ(asup_join(cx, &r, NULL), 0); /* got the element: no stall */
	CHECK_EQ(c.r_got, 5);
	CHECK_EQ(asup_chan_try_recv(c.ch, &v), 0);
	CHECK_EQ(v, 300);
	CHECK_EQ(reserved(c.ch), 0);
	no_waiters(c.ch);
	no_waiters(c.x);
	return 0;
}

TEST(a_cancel_with_hand_offs_in_flight_passes_them_on)
{
	run(inflight_root);
}

/* A wake of the select's recv arm that finds nothing (the element was taken
 * first) does not cost its reserve arm its place in the FIFO. */
static int64_t place_root(asup_cx *cx, void *arg)
{
	struct handoff h = {open_int(cx, 1), open_int(cx, 1), -1, 0};
	asup_permit mine;
	asup_task s, b;
	int v = 55;
	CHECK_EQ(asup_chan_reserve(cx, h.ch, &mine), 0);
	CHECK_EQ(asup_spawn(cx, handoff_selector, &h, NULL, &s), 0);
	wait_queued(cx, h.ch, 1, 0);
	CHECK_EQ(asup_spawn(cx, plain_reserver, &h, NULL, &b), 0);
	wait_queued(cx, h.ch, 2, 0);
	CHECK_EQ(asup_chan_try_send(h.x, &v), 0); /* wakes the select ... */
	CHECK_EQ(asup_chan_try_recv(h.x, &v), 0); /* ... and it is gone again */
	wait_queued(cx, h.x, 0, 1);               /* it re-polled and waits */
	CHECK_EQ(asup_permit_abort(&mine), 0);    /* the head gets the room */
	CHECK_EQ(asup_join(cx, &s, NULL), 0);
	CHECK_EQ(h.s_won, 0);
	CHECK_EQ(h.b_done, 0);
	CHECK_EQ(asup_chan_recv(cx, h.ch, &v), 0);
	CHECK_EQ(v, 100);
	CHECK_EQ(asup_join(cx, &b, NULL), 0);
	CHECK_EQ(h.b_done, 1);
	no_waiters(h.x);
	return 0;
}

TEST(a_reserve_arm_keeps_its_fifo_place_across_other_wakes)
{
	run(place_root);
}

/* ---- seeded sweep: producers and consumers that all use select ---- */

#define NPROD 4 /* the last one is cancelled midway */
#define NCONS 3 /* the first one is cancelled midway */
#define PER 40

struct sweep {
	asup_chan *ch[2];
	int seen[NPROD * PER];
	uint8_t sent[NPROD * PER]; /* permit_send succeeded */
	int next;
	int ncancelled;
};

/* Sends PER values, each through whichever channel has room first. Returns
 * -ECANCELED when cancelled: the value it was placing was not sent. */
static int64_t sweep_producer(asup_cx *cx, void *arg)
{
	struct sweep *s = arg;
	for (int k = 0; k < PER; k++) {
		int v = s->next++;
		for (;;) {
			asup_select_arm arms[3];
			asup_permit p[2];
			int w;
			asup_select_reserve(&arms[0], s->ch[0], &p[0]);
			asup_select_reserve(&arms[1], s->ch[1], &p[1]);
			asup_select_sleep(&arms[2], 500000);
			w = asup_select(cx, arms, 3);
			if (w == -ECANCELED) {
				s->ncancelled++;
				return w;
			}
			CHECK(w >= 0);
			if (w == 2)
				continue; /* a timer tick: try again */
			CHECK_EQ(arms[w].result, 0);
			CHECK_EQ(asup_permit_send(&p[w], &v), 0);
			s->sent[v] = 1;
			break;
		}
	}
	return 0;
}

/* Receives until both channels are closed and drained. Returns -ECANCELED
 * when cancelled: whatever it had not received stays queued. */
static int64_t sweep_consumer(asup_cx *cx, void *arg)
{
	struct sweep *s = arg;
	int open[2] = {1, 1};
	while (open[0] || open[1]) {
		asup_select_arm arms[3];
		int idx[3], v[2], n = 0, w;
		for (int c = 0; c < 2; c++) {
			if (open[c]) {
				asup_select_recv(&arms[n], s->ch[c], &v[c]);
				idx[n++] = c;
			}
		}
		asup_select_sleep(&arms[n], 700000);
		idx[n++] = -1;
		w = asup_select(cx, arms, (size_t)n);
		if (w == -ECANCELED) {
			s->ncancelled++;
			return w;
		}
		CHECK(w >= 0);
		if (idx[w] < 0)
			continue;
		if (arms[w].result == -EPIPE) {
			open[idx[w]] = 0;
			continue;
		}
		CHECK_EQ(arms[w].result, 0);
		CHECK(v[idx[w]] >= 0 && v[idx[w]] < NPROD * PER);
		s->seen[v[idx[w]]]++;
		/* Work takes virtual time, so the cancels land midway. */
		if (asup_sleep(cx, 100000) == -ECANCELED) {
			s->ncancelled++;
			return -ECANCELED;
		}
	}
	return 0;
}

static int64_t sweep_root(asup_cx *cx, void *arg)
{
	struct sweep *s = arg;
	asup_task prod[NPROD], cons[NCONS];
	asup_select_arm arms[NPROD];
	size_t left = NPROD;
	int v;
	s->ch[0] = open_int(cx, 2);
	s->ch[1] = open_int(cx, 3);
	for (int i = 0; i < NCONS; i++)
		CHECK_EQ(asup_spawn(cx, sweep_consumer, s, NULL, &cons[i]), 0);
	for (int i = 0; i < NPROD; i++)
		CHECK_EQ(asup_spawn(cx, sweep_producer, s, NULL, &prod[i]), 0);
	CHECK_EQ(asup_sleep(cx, 2000000), 0);
	CHECK_EQ(asup_task_abort(&prod[NPROD - 1]), 0);
	CHECK_EQ(asup_sleep(cx, 1000000), 0);
	CHECK_EQ(asup_task_abort(&cons[0]), 0);
	/* Join the producers in whatever order they finish. */
	for (size_t i = 0; i < NPROD; i++)
		asup_select_join(&arms[i], &prod[i], NULL);
	while (left) {
		int w = asup_select(cx, arms, left);
		CHECK(w >= 0 && (size_t)w < left);
		CHECK_EQ(arms[w].result, 0);
		arms[w] = arms[--left]; /* the handle it points at stays put */
	}
	CHECK_EQ(asup_chan_close(s->ch[0]), 0);
	CHECK_EQ(asup_chan_close(s->ch[1]), 0);
	for (int i = 0; i < NCONS; i++)
		CHECK_EQ(asup_join(cx, &cons[i], NULL), 0);
	for (int c = 0; c < 2; c++) {
		while (asup_chan_try_recv(s->ch[c], &v) == 0)
			s->seen[v]++; /* what a cancelled consumer left */
		CHECK_EQ(reserved(s->ch[c]), 0);
		no_waiters(s->ch[c]);
	}
	CHECK_EQ(timers_armed(), 0);
	CHECK_EQ(cx->kt->nobl, 0);
	return 0;
}

static int sweeps_partial;

static void producers_and_consumers(uint64_t seed)
{
	struct sweep s;
	int nsent = 0;
	memset(&s, 0, sizeof s);
	run_on(mk(ASUP_MODE_DETERMINISTIC, seed), sweep_root, &s);
	for (int i = 0; i < NPROD * PER; i++) {
		CHECK_EQ(s.seen[i], s.sent[i]); /* once if sent, never if not */
		nsent += s.sent[i];
	}
	CHECK(nsent >= (NPROD - 1) * PER);
	sweeps_partial += nsent < NPROD * PER;
	CHECK_EQ(s.ncancelled, 2); /* both cancels hit mid-stream */
}

TEST(seed_sweep_select_producers_and_consumers_lose_and_duplicate_nothing)
{
	if (SWEEP(50, producers_and_consumers) == 50)
		CHECK(sweeps_partial > 0); /* the cancelled producer was cut short */
}
