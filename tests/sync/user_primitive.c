/*
 * A primitive written by a user, from the public headers only: a bounded
 * stack of ints on the waiters of asupersync/ext.h. push waits for room,
 * pop waits for an item, and both sides hand over before the waiter runs
 * (asup_wait_grant), so a cancel at any queue position, before or after
 * the grant, loses nothing and lets nobody overtake.
 *
 * Room: n (stacked) + reserved (granted to pushers not yet run) + lent
 * (granted to poppers not yet run) <= CAP. A granted pusher owns a slot; a
 * granted popper owns an item, taken off the stack but still counted until
 * it runs, so a popper cancelled before it ran can always put it back.
 */
#include "harness.h"
#include <asupersync.h>
#include <asupersync/ext.h>

#define CAP 2
#define NW 5

struct ustack {
	int items[CAP];
	int n, reserved, lent;
	asup_waitq pushers; /* FIFO of waiters for room: granted a slot */
	asup_waitq poppers; /* FIFO of struct pop_waiter: granted an item */
};

struct pop_waiter {
	asup_waiter w;
	int item; /* written by the granter */
};

static struct ustack st;

static void ustack_init(struct ustack *s)
{
	s->n = s->reserved = s->lent = 0;
	asup_waitq_init(&s->pushers);
	asup_waitq_init(&s->poppers);
}

/* Items to the poppers at the head while there are items. */
static void feed(struct ustack *s)
{
	asup_waiter *h;

	while (s->n > 0 && (h = asup_waitq_head(&s->poppers))) {
		struct pop_waiter *p = (struct pop_waiter *)(void *)h;
		p->item = s->items[--s->n];
		s->lent++;
		CHECK_EQ(asup_waiter_wake(h, 0), 1);
	}
}

/* Room to the pushers at the head while there is room. */
static void room(struct ustack *s)
{
	asup_waiter *h;

	while (s->n + s->reserved + s->lent < CAP && (h = asup_waitq_head(&s->pushers))) {
		s->reserved++;
		CHECK_EQ(asup_waiter_wake(h, 0), 1);
	}
}

static void put(struct ustack *s, int v)
{
	s->items[s->n++] = v;
	feed(s);
}

static void push_back_fn(void *obj, asup_waiter *w)
{
	struct ustack *s = obj;
	if (asup_waiter_result(w) >= 0)
		s->reserved--; /* a granted slot goes to the next pusher */
	room(s);
}

static int left_unwoken; /* pop_back_fn calls for a waiter that left */

static void pop_back_fn(void *obj, asup_waiter *w)
{
	struct ustack *s = obj;
	if (asup_waiter_result(w) == ASUP_WAIT_PENDING)
		left_unwoken++;
	if (asup_waiter_result(w) >= 0) {
		s->lent--; /* the item goes back, to the next popper if any */
		put(s, ((struct pop_waiter *)(void *)w)->item);
	}
}

static int ustack_push(asup_cx *cx, struct ustack *s, int v)
{
	asup_waiter w;
	int rc = asup_checkpoint(cx);

	if (rc < 0)
		return rc;
	if (asup_waitq_is_empty(&s->pushers) && s->n + s->reserved + s->lent < CAP) {
		put(s, v);
		return 0;
	}
	CHECK_EQ(asup_waiter_init(cx, &w), 0);
	rc = asup_wait_grant(cx, &s->pushers, &w, push_back_fn, s);
	if (rc < 0)
		return rc;
	s->reserved--;
	put(s, v);
	return 0;
}

static int ustack_pop(asup_cx *cx, struct ustack *s, int *out)
{
	struct pop_waiter p;
	int rc = asup_checkpoint(cx);

	if (rc < 0)
		return rc;
	if (asup_waitq_is_empty(&s->poppers) && s->n > 0) {
		*out = s->items[--s->n];
		room(s);
		return 0;
	}
	CHECK_EQ(asup_waiter_init(cx, &p.w), 0);
	rc = asup_wait_grant(cx, &s->poppers, &p.w, pop_back_fn, s);
	if (rc < 0)
		return rc;
	s->lent--;
	*out = p.item;
	room(s);
	return 0;
}

/* ---- the tasks ---- */

static int log_ids[16], nlog;
static int got[16];

static int64_t popper(asup_cx *cx, void *arg)
{
	int id = (int)(intptr_t)arg, v = -1;
	int rc = ustack_pop(cx, &st, &v);
	if (rc < 0)
		return rc;
	log_ids[nlog++] = id;
	got[id] = v;
	return 0;
}

static int64_t pusher(asup_cx *cx, void *arg)
{
	int id = (int)(intptr_t)arg;
	int rc = ustack_push(cx, &st, 100 + id);
	if (rc < 0)
		return rc;
	log_ids[nlog++] = id;
	return 0;
}

static void spawn_queued(asup_cx *cx, asup_task_fn fn, int id, asup_task *h)
{
	CHECK_EQ(asup_spawn(cx, fn, (void *)(intptr_t)id, NULL, h), 0);
	CHECK_EQ(asup_yield(cx), 0); /* it reaches the queue (real mode: FIFO) */
}

static void join_kind(asup_cx *cx, asup_task *h, asup_outcome_kind kind)
{
	asup_outcome o;
	CHECK_EQ(asup_join(cx, h, &o), 0);
	CHECK_EQ(o.kind, kind);
}

static void check_idle(void)
{
	CHECK_EQ(st.reserved, 0);
	CHECK_EQ(st.lent, 0);
	CHECK(asup_waitq_is_empty(&st.pushers));
	CHECK(asup_waitq_is_empty(&st.poppers));
}

/*
 * NW poppers wait on an empty stack; the victim is cancelled either before
 * anything is pushed (granted) = 0, or after the push that grants it, before
 * it runs (granted = 1). Every other popper gets exactly one item, in queue
 * order, and no item is lost.
 */
static void pop_positions(asup_cx *cx, int granted)
{
	for (int victim = 0; victim < NW; victim++) {
		asup_task h[NW];
		int seen[NW] = {0};
		nlog = 0;
		ustack_init(&st);
		for (int i = 0; i < NW; i++)
			spawn_queued(cx, popper, i, &h[i]);
		for (int i = 0; i < victim && granted; i++)
			CHECK_EQ(ustack_push(cx, &st, 100 + i), 0); /* grants 0..victim-1 */
		if (granted)
			CHECK_EQ(ustack_push(cx, &st, 100 + victim), 0); /* grants the victim */
		CHECK_EQ(asup_task_abort(&h[victim]), 0);
		join_kind(cx, &h[victim], ASUP_OUTCOME_CANCELLED);
		for (int i = granted ? victim + 1 : 0; i < NW; i++)
			if (i != victim || !granted)
				CHECK_EQ(ustack_push(cx, &st, 100 + i), 0);
		/* granted: the victim's item went to the next popper, so one push
		 * is left over on the stack; otherwise NW pushes fed NW-1 poppers. */
		for (int i = 0; i < NW; i++)
			if (i != victim)
				join_kind(cx, &h[i], ASUP_OUTCOME_OK);
		CHECK_EQ(nlog, NW - 1);
		for (int k = 0, i = 0; i < NW; i++) {
			if (i == victim)
				continue;
			CHECK_EQ(log_ids[k++], i); /* queue order, the victim skipped */
			CHECK(got[i] >= 100 && got[i] < 100 + NW);
			CHECK_EQ(seen[got[i] - 100], 0); /* no item twice */
			seen[got[i] - 100] = 1;
		}
		/* One item is left on the stack, none lost: NW pushed, NW-1 popped. */
		CHECK_EQ(st.n, 1);
		CHECK_EQ(seen[st.items[0] - 100], 0);
		check_idle();
	}
}

/*
 * The stack is full and NW pushers wait; the victim is cancelled before or
 * after the pop that grants it room. Every other pusher gets in, in queue
 * order, and the room the victim was granted is not lost.
 */
static void push_positions(asup_cx *cx, int granted)
{
	for (int victim = 0; victim < NW; victim++) {
		asup_task h[NW];
		int v, pops = 0;
		nlog = 0;
		ustack_init(&st);
		for (int i = 0; i < CAP; i++)
			CHECK_EQ(ustack_push(cx, &st, i), 0);
		for (int i = 0; i < NW; i++)
			spawn_queued(cx, pusher, i, &h[i]);
		if (granted) {
			/* Pops grant room to pushers 0..victim in turn; each one
			 * granted before the victim runs and fills its slot. */
			for (int i = 0; i <= victim; i++) {
				CHECK_EQ(ustack_pop(cx, &st, &v), 0);
				pops++;
				if (i < victim)
					CHECK_EQ(asup_yield(cx), 0);
			}
		}
		CHECK_EQ(asup_task_abort(&h[victim]), 0);
		join_kind(cx, &h[victim], ASUP_OUTCOME_CANCELLED);
		/* Pop until every other pusher is in. */
		while (nlog < NW - 1) {
			CHECK_EQ(ustack_pop(cx, &st, &v), 0);
			pops++;
			CHECK_EQ(asup_yield(cx), 0);
		}
		for (int i = 0; i < NW; i++)
			if (i != victim)
				join_kind(cx, &h[i], ASUP_OUTCOME_OK);
		for (int k = 0, i = 0; i < NW; i++) {
			if (i == victim)
				continue;
			CHECK_EQ(log_ids[k++], i);
		}
		/* Every push but the victim's is on the stack or popped, and
		 * the room it was granted was not lost (check_idle: nothing is
		 * reserved for nobody). */
		CHECK_EQ(st.n + pops, CAP + NW - 1);
		CHECK(st.n <= CAP);
		check_idle();
	}
}

static int64_t pop_root(asup_cx *cx, void *arg)
{
	(void)arg;
	pop_positions(cx, 0);
	pop_positions(cx, 1);
	return 0;
}

static int64_t push_root(asup_cx *cx, void *arg)
{
	(void)arg;
	push_positions(cx, 0);
	push_positions(cx, 1);
	return 0;
}

static void run_as_root(asup_mode mode, uint64_t seed, asup_task_fn fn)
{
	asup_rt_config cfg;
	asup_outcome o;
	asup_rt *rt;

	asup_rt_config_init(&cfg);
	cfg.mode = mode;
	cfg.seed = seed;
	CHECK_EQ(asup_rt_create(&cfg, &rt), 0);
	CHECK_EQ(asup_rt_run(rt, fn, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(asup_rt_destroy(rt), 0);
}

TEST(user_stack_pop_cancelled_at_every_queue_position_before_or_after_its_grant_loses_nothing)
{
	run_as_root(ASUP_MODE_REAL, 0, pop_root);
}

TEST(user_stack_push_cancelled_at_every_queue_position_before_or_after_its_grant_loses_nothing)
{
	run_as_root(ASUP_MODE_REAL, 0, push_root);
}

/* ---- a seeded sweep: producers, consumers and cancels interleaved ---- */

#define NP 3
#define PER 3

static int popped[NP * PER], npopped, npushed;

static int64_t sweep_pusher(asup_cx *cx, void *arg)
{
	int id = (int)(intptr_t)arg;
	for (int k = 0; k < PER; k++) {
		int rc = ustack_push(cx, &st, id * PER + k);
		if (rc < 0)
			return rc;
		npushed++;
	}
	return 0;
}

static int64_t sweep_popper(asup_cx *cx, void *arg)
{
	(void)arg;
	for (int k = 0; k < PER; k++) {
		int v, rc = ustack_pop(cx, &st, &v);
		if (rc < 0)
			return rc;
		popped[npopped++] = v;
	}
	return 0;
}

static int64_t sweep_root(asup_cx *cx, void *arg)
{
	asup_task pu[NP], po[NP];
	uint64_t victim, delay;
	int seen[NP * PER] = {0};
	(void)arg;
	npushed = npopped = 0;
	ustack_init(&st);
	for (int i = 0; i < NP; i++) {
		CHECK_EQ(asup_spawn(cx, sweep_pusher, (void *)(intptr_t)i, NULL, &pu[i]), 0);
		CHECK_EQ(asup_spawn(cx, sweep_popper, NULL, NULL, &po[i]), 0);
	}
	/* One popper is cancelled at a seeded moment: queued, granted, or
	 * already done. */
	CHECK_EQ(asup_random_below(cx, NP, &victim), 0);
	CHECK_EQ(asup_random_below(cx, 8, &delay), 0);
	for (uint64_t d = 0; d < delay; d++)
		CHECK_EQ(asup_yield(cx), 0);
	CHECK_EQ(asup_task_abort(&po[victim]), 0);
	for (int i = 0; i < NP; i++) {
		asup_outcome o;
		CHECK_EQ(asup_join(cx, &po[i], &o), 0);
		CHECK((int)i == (int)victim ? o.kind != ASUP_OUTCOME_ERR : o.kind == ASUP_OUTCOME_OK);
	}
	/* Drain what the cancelled popper left, so the pushers finish. */
	while (npushed < NP * PER || st.n > 0) {
		int v;
		CHECK_EQ(ustack_pop(cx, &st, &v), 0);
		popped[npopped++] = v;
	}
	for (int i = 0; i < NP; i++) {
		asup_outcome o;
		CHECK_EQ(asup_join(cx, &pu[i], &o), 0);
		CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	}
	/* Every item pushed was popped exactly once: none lost, none twice. */
	CHECK_EQ(npopped, NP * PER);
	for (int i = 0; i < npopped; i++) {
		CHECK(popped[i] >= 0 && popped[i] < NP * PER);
		CHECK_EQ(seen[popped[i]], 0);
		seen[popped[i]] = 1;
	}
	check_idle();
	return 0;
}

static void sweep_one(uint64_t seed)
{
	run_as_root(ASUP_MODE_DETERMINISTIC, seed, sweep_root);
}

TEST(user_stack_seed_sweep_with_a_cancelled_popper_loses_and_duplicates_nothing)
{
	SWEEP(100, sweep_one);
}

/* ---- the waiter calls' return codes ---- */

static int64_t misuse_root(asup_cx *cx, void *arg)
{
	asup_waitq q;
	asup_waiter w, fresh;
	(void)arg;
	asup_waitq_init(&q);
	CHECK_RC(asup_waiter_init(cx, NULL), -EINVAL);
	CHECK_RC(asup_waiter_init(cx, &w), 0);
	CHECK_EQ(asup_waiter_result(&w), ASUP_WAIT_PENDING);
	CHECK_RC(asup_waiter_wait(cx, &w), -EINVAL); /* not queued */
	CHECK_RC(asup_waitq_push(&q, &w), 0);
	CHECK_RC(asup_waitq_push(&q, &w), -EBUSY);
	CHECK(asup_waitq_head(&q) == &w);
	CHECK_RC(asup_waiter_wake(&w, ASUP_WAIT_PENDING), -EINVAL);
	CHECK_RC(asup_waiter_wake(&w, 7), 1);
	CHECK(asup_waitq_is_empty(&q)); /* the wake dequeued it */
	CHECK_RC(asup_waiter_wake(&w, 8), 0); /* the first result stays */
	CHECK_EQ(asup_waiter_result(&w), 7);
	CHECK_RC(asup_waiter_wait(cx, &w), 7); /* woken already: at once */
	CHECK_RC(asup_waitq_push(&q, &w), -EBUSY); /* woken: not again */
	CHECK_RC(asup_waiter_init(cx, &fresh), 0);
	CHECK_RC(asup_wait_grant(cx, &q, &fresh, NULL, NULL), -EINVAL);
	CHECK_RC(asup_wait_grant(cx, &q, &w, push_back_fn, &st), -EINVAL);
	CHECK_RC(asup_waitq_wake_all_with(&q, ASUP_WAIT_PENDING), -EINVAL);
	CHECK_RC(asup_waitq_wake_all_with(NULL, 0), -EINVAL);
	CHECK(asup_waitq_head(NULL) == NULL);
	CHECK_RC(asup_waiter_result(NULL), -EINVAL);
	/* A cancelled wait returns -ECANCELED, dequeued and unwoken. */
	CHECK_RC(asup_waitq_push(&q, &fresh), 0);
	CHECK_EQ(asup_cx_cancel_self(cx, ASUP_CANCEL_USER, "test"), 0);
	CHECK_RC(asup_waiter_wait(cx, &fresh), -ECANCELED);
	CHECK(asup_waitq_is_empty(&q));
	CHECK_EQ(asup_waiter_result(&fresh), ASUP_WAIT_PENDING);
	return 0;
}

static int64_t misuse_outer(asup_cx *cx, void *arg)
{
	asup_task h;
	asup_outcome o;
	asup_waiter w;
	(void)arg;
	CHECK_EQ(asup_spawn(cx, misuse_root, NULL, NULL, &h), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK(o.kind != ASUP_OUTCOME_PANICKED); /* its checks ran to the end */
	CHECK_RC(asup_waiter_init(NULL, &w), -ASUP_ENOTASK);
	CHECK_RC(asup_waitq_push(NULL, &w), -EINVAL);
	CHECK_RC(asup_waitq_push(&st.pushers, &w), -EINVAL); /* no task */
	CHECK_RC(asup_waiter_wait(cx, &w), -EINVAL);
	return 0;
}

TEST(waiter_calls_refuse_misuse_with_clear_codes_and_a_result_is_final)
{
	run_as_root(ASUP_MODE_REAL, 0, misuse_outer);
}

/* ---- a deadline instead of a cancel ---- */

static int64_t pop_in_scope(asup_cx *cx, void *arg)
{
	return ustack_pop(cx, &st, arg);
}

static int64_t timeout_root(asup_cx *cx, void *arg)
{
	asup_task h;
	int v = -1;
	(void)arg;
	ustack_init(&st);
	left_unwoken = 0;
	CHECK_EQ(asup_spawn(cx, popper, (void *)(intptr_t)1, NULL, &h), 0);
	CHECK_EQ(asup_yield(cx), 0); /* popper 1 waits first */
	/* We queue behind it; the scope's deadline takes us out unwoken. */
	CHECK_RC(asup_timeout(cx, 1000, pop_in_scope, &v), -ETIMEDOUT);
	CHECK_EQ(left_unwoken, 1);
	CHECK_EQ(v, -1);
	/* The one ahead keeps its place and gets the next item. */
	nlog = 0;
	CHECK_EQ(ustack_push(cx, &st, 42), 0);
	join_kind(cx, &h, ASUP_OUTCOME_OK);
	CHECK_EQ(got[1], 42);
	check_idle();
	return 0;
}

TEST(user_stack_pop_past_its_deadline_times_out_unwoken_and_keeps_the_queue)
{
	run_as_root(ASUP_MODE_DETERMINISTIC, 1, timeout_root);
}
