/* Watch channels: the row of the channel table (send, send_modify, borrow,
 * subscribe; changed marks seen, reports closed only with nothing unseen, a
 * cancel leaves the seen version alone; borrow_and_update, mark_seen,
 * has_changed), scenario 88, waiters, bad input, and a seed sweep of a
 * producer and cancellable watchers. */
#include "testrt.h"

static void run_seed(asup_task_fn fn, uint64_t seed)
{
	asup_rt *rt = test_rt(ASUP_MODE_DETERMINISTIC, seed);
	asup_outcome o;
	CHECK_EQ(asup_rt_run(rt, fn, rt, &o), 0);
	if (o.kind != ASUP_OUTCOME_OK)
		fprintf(stderr, "seed %llu: outcome %s %lld\n", (unsigned long long)seed,
		        asup_outcome_kind_name(o.kind), (long long)o.value);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	test_rt_done(rt);
}

static void run(asup_task_fn fn)
{
	run_seed(fn, 1);
}

static asup_watch_stats stats(asup_watch *w)
{
	asup_watch_stats st;
	CHECK_EQ(asup_watch_stats_get(w, &st), 0);
	return st;
}

static void await_waiters(asup_cx *cx, asup_watch *w, size_t n)
{
	for (int i = 0; i < 1000 && stats(w).waiters != n; i++)
		CHECK_EQ(asup_yield(cx), 0);
	CHECK_EQ(stats(w).waiters, n);
}

static asup_watch_rx rxs[3];

/* Waits for a change of rxs[i]; returns the value then seen, or the error. */
static int64_t watcher(asup_cx *cx, void *arg)
{
	int i = (int)(intptr_t)arg, v = -1;
	int rc = asup_watch_changed(cx, &rxs[i]);
	if (rc < 0)
		return rc;
	CHECK_EQ(asup_watch_borrow_and_update(&rxs[i], &v, NULL), 0);
	return v;
}

/* SEMANTICS scenario 88. */
static int64_t sem88_root(asup_cx *cx, void *arg)
{
	asup_watch *w;
	asup_watch_rx rx;
	CHECK_EQ(asup_watch_open(cx, sizeof(int), &(int){0}, &w), 0);
	CHECK_EQ(asup_watch_subscribe(w, &rx), 0);
	CHECK_EQ(asup_watch_send(w, &(int){1}), 0);
	CHECK_EQ(asup_watch_changed(cx, &rx), 0); /* Ok once ... */
	CHECK_EQ(asup_watch_has_changed(&rx), 0); /* ... then nothing unseen */
	CHECK_EQ(asup_watch_close_send(w), 0);
	CHECK_EQ(asup_watch_changed(cx, &rx), -EPIPE); /* closed */
	CHECK_EQ(asup_watch_changed(cx, &rx), -EPIPE);
	return 0;
}

TEST(sem_88_watch_changed_once_then_closed)
{
	run(sem88_root);
}

static int64_t changed_root(asup_cx *cx, void *arg)
{
	asup_watch *w;
	asup_task h;
	asup_outcome o;
	uint64_t ver = 9;
	int v = 0;
	CHECK_EQ(asup_watch_open(cx, sizeof(int), &(int){10}, &w), 0);
	CHECK_EQ(asup_watch_subscribe(w, &rxs[0]), 0);
	CHECK_EQ(asup_watch_has_changed(&rxs[0]), 0); /* subscribed at the current version */
	CHECK_EQ(asup_spawn(cx, watcher, (void *)0, NULL, &h), 0);
	await_waiters(cx, w, 1);
	CHECK_EQ(asup_watch_send(w, &(int){11}), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.value, 11);
	CHECK_EQ(asup_watch_has_changed(&rxs[0]), 0);
	/* Several sends between two looks are one change, with the latest. */
	for (int i = 12; i <= 14; i++)
		CHECK_EQ(asup_watch_send(w, &i), 0);
	CHECK_EQ(asup_watch_has_changed(&rxs[0]), 1);
	CHECK_EQ(asup_watch_changed(cx, &rxs[0]), 0);
	CHECK_EQ(asup_watch_has_changed(&rxs[0]), 0);
	CHECK_EQ(asup_watch_borrow(w, &v, &ver), 0);
	CHECK_EQ(v, 14);
	CHECK_EQ(ver, 4);
	CHECK_EQ(stats(w).version, 4);
	return asup_watch_unsubscribe(&rxs[0]);
}

TEST(watch_changed_after_send_marks_seen_and_several_sends_are_one_change)
{
	run(changed_root);
}

static int64_t unseen_root(asup_cx *cx, void *arg)
{
	asup_watch *w;
	asup_watch_rx rx;
	int v = 0;
	CHECK_EQ(asup_watch_open(cx, sizeof(int), &(int){0}, &w), 0);
	CHECK_EQ(asup_watch_subscribe(w, &rx), 0);
	CHECK_EQ(asup_watch_send(w, &(int){5}), 0);
	CHECK_EQ(asup_watch_close_send(w), 0);
	CHECK_EQ(asup_watch_close_send(w), 0); /* idempotent */
	CHECK_EQ(asup_watch_has_changed(&rx), 1);
	CHECK_EQ(asup_watch_changed(cx, &rx), 0); /* the unseen version first */
	CHECK_EQ(asup_watch_has_changed(&rx), -EPIPE);
	CHECK_EQ(asup_watch_changed(cx, &rx), -EPIPE);
	CHECK_EQ(asup_watch_borrow_and_update(&rx, &v, NULL), 0); /* still readable */
	CHECK_EQ(v, 5);
	CHECK_EQ(asup_watch_send(w, &(int){6}), -EPIPE); /* use after close */
	CHECK_EQ(asup_watch_send_modify(w, NULL, NULL), -EPIPE);
	return 0;
}

TEST(watch_unseen_version_before_close_is_reported_before_closed)
{
	run(unseen_root);
}

static int64_t cancelled_watcher(asup_cx *cx, void *arg)
{
	CHECK_EQ(asup_cx_cancel_self(cx, ASUP_CANCEL_USER, NULL), 0);
	return asup_watch_changed(cx, &rxs[0]);
}

static int64_t cancel_root(asup_cx *cx, void *arg)
{
	asup_watch *w;
	asup_task h;
	asup_outcome o;
	CHECK_EQ(asup_watch_open(cx, sizeof(int), &(int){0}, &w), 0);
	CHECK_EQ(asup_watch_subscribe(w, &rxs[0]), 0);
	/* An unseen version and a cancelled changed(): cancellation wins, the
	 * version stays unseen. */
	CHECK_EQ(asup_watch_send(w, &(int){1}), 0);
	CHECK_EQ(asup_spawn(cx, cancelled_watcher, NULL, NULL, &h), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(asup_watch_has_changed(&rxs[0]), 1);
	CHECK_EQ(asup_watch_changed(cx, &rxs[0]), 0);
	/* Cancelled while waiting: no waiter left, the receiver usable, the next
	 * change not lost. */
	CHECK_EQ(asup_spawn(cx, watcher, (void *)0, NULL, &h), 0);
	await_waiters(cx, w, 1);
	CHECK_EQ(asup_watch_changed(cx, &rxs[0]), -EBUSY); /* in use by the waiter */
	CHECK_EQ(asup_watch_unsubscribe(&rxs[0]), -EBUSY);
	CHECK_EQ(asup_task_abort(&h), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(stats(w).waiters, 0);
	CHECK_EQ(asup_watch_has_changed(&rxs[0]), 0);
	CHECK_EQ(asup_watch_send(w, &(int){2}), 0);
	CHECK_EQ(asup_watch_has_changed(&rxs[0]), 1);
	CHECK_EQ(asup_watch_changed(cx, &rxs[0]), 0);
	return asup_watch_unsubscribe(&rxs[0]);
}

TEST(watch_cancelled_changed_keeps_the_seen_version_and_leaves_no_waiter)
{
	run(cancel_root);
}

static int64_t wake_root(asup_cx *cx, void *arg)
{
	asup_watch *w;
	asup_task h[3];
	asup_outcome o;
	CHECK_EQ(asup_watch_open(cx, sizeof(int), &(int){0}, &w), 0);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(asup_watch_subscribe(w, &rxs[i]), 0);
		CHECK_EQ(asup_spawn(cx, watcher, (void *)(intptr_t)i, NULL, &h[i]), 0);
	}
	CHECK_EQ(stats(w).receivers, 3);
	await_waiters(cx, w, 3);
	CHECK_EQ(asup_watch_send(w, &(int){7}), 0); /* wakes every watcher */
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(asup_join(cx, &h[i], &o), 0);
		CHECK_EQ(o.value, 7);
		CHECK_EQ(asup_spawn(cx, watcher, (void *)(intptr_t)i, NULL, &h[i]), 0);
	}
	await_waiters(cx, w, 3);
	CHECK_EQ(asup_watch_close_send(w), 0); /* wakes every watcher with closed */
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(asup_join(cx, &h[i], &o), 0);
		CHECK_EQ(o.kind, ASUP_OUTCOME_ERR);
		CHECK_EQ(o.value, -EPIPE);
		CHECK_EQ(asup_watch_unsubscribe(&rxs[i]), 0);
	}
	CHECK_EQ(stats(w).receivers, 0);
	return 0;
}

TEST(watch_send_and_close_wake_every_waiting_receiver)
{
	run(wake_root);
}

struct point {
	int x, y;
};

static asup_watch *modw;
static int inner_rc[2];

static void shift(void *value, void *arg)
{
	struct point *p = value;
	struct point out = {0, 0};
	p->x += *(int *)arg;
	p->y = p->x * 2;
	/* The value is half edited here: the watch refuses to be used. */
	inner_rc[0] = asup_watch_send(modw, &out);
	inner_rc[1] = asup_watch_borrow(modw, &out, NULL);
}

static int64_t modify_root(asup_cx *cx, void *arg)
{
	asup_watch_rx rx;
	struct point p0 = {1, 2}, p;
	uint64_t ver = 0;
	int by = 10;
	CHECK_EQ(asup_watch_open(cx, sizeof(struct point), &p0, &modw), 0);
	CHECK_EQ(asup_watch_subscribe(modw, &rx), 0);
	CHECK_EQ(asup_watch_send_modify(modw, shift, &by), 0);
	CHECK_EQ(inner_rc[0], -EBUSY);
	CHECK_EQ(inner_rc[1], -EBUSY);
	CHECK_EQ(asup_watch_has_changed(&rx), 1);
	/* borrow marks nothing seen; borrow_and_update does */
	CHECK_EQ(asup_watch_borrow(modw, &p, &ver), 0);
	CHECK_EQ(p.x, 11);
	CHECK_EQ(p.y, 22);
	CHECK_EQ(ver, 1);
	CHECK_EQ(asup_watch_has_changed(&rx), 1);
	memset(&p, 0, sizeof p);
	CHECK_EQ(asup_watch_borrow_and_update(&rx, &p, &ver), 0);
	CHECK_EQ(p.x, 11);
	CHECK_EQ(ver, 1);
	CHECK_EQ(asup_watch_has_changed(&rx), 0);
	/* mark_seen without copying */
	CHECK_EQ(asup_watch_send(modw, &p0), 0);
	CHECK_EQ(asup_watch_has_changed(&rx), 1);
	CHECK_EQ(asup_watch_mark_seen(&rx), 0);
	CHECK_EQ(asup_watch_has_changed(&rx), 0);
	CHECK_EQ(stats(modw).version, 2);
	return asup_watch_unsubscribe(&rx);
}

TEST(watch_send_modify_edits_in_place_and_borrow_variants_mark_seen_as_named)
{
	run(modify_root);
}

static int64_t late_root(asup_cx *cx, void *arg)
{
	asup_watch *w;
	asup_watch_rx rx, late;
	int v = 0;
	uint64_t ver = 0;
	CHECK_EQ(asup_watch_open(cx, sizeof(int), &(int){3}, &w), 0);
	CHECK_EQ(asup_watch_send(w, &(int){4}), 0); /* no receiver: fine for a watch */
	CHECK_EQ(asup_watch_subscribe(w, &rx), 0);
	CHECK_EQ(asup_watch_has_changed(&rx), 0); /* what was sent before is seen */
	CHECK_EQ(asup_watch_close_send(w), 0);
	CHECK_EQ(asup_watch_subscribe(w, &late), 0); /* after close: reads the last value */
	CHECK_EQ(asup_watch_borrow_and_update(&late, &v, &ver), 0);
	CHECK_EQ(v, 4);
	CHECK_EQ(ver, 1);
	CHECK_EQ(asup_watch_changed(cx, &late), -EPIPE);
	CHECK_EQ(asup_watch_unsubscribe(&late), 0);
	CHECK_EQ(asup_watch_unsubscribe(&rx), 0);
	return 0;
}

TEST(watch_subscribe_starts_at_the_current_version_even_after_close)
{
	run(late_root);
}

static asup_watch_rx inner_rx;
static int64_t inner_body(asup_cx *cx, void *arg)
{
	asup_watch *w;
	CHECK_EQ(asup_watch_open(cx, sizeof(int), &(int){0}, &w), 0);
	return asup_watch_subscribe(w, &inner_rx);
}

static int64_t bad_root(asup_cx *cx, void *arg)
{
	asup_watch *w, *fake;
	asup_oneshot *os;
	asup_watch_rx rx, copy, zero_rx;
	asup_watch_stats st;
	asup_outcome o;
	uint64_t zeros[16] = {0};
	int v = 0;
	memset(&zero_rx, 0, sizeof zero_rx);
	fake = (asup_watch *)(void *)zeros;
	CHECK_EQ(asup_watch_open(cx, 0, &v, &w), -EINVAL);
	CHECK_EQ(asup_watch_open(cx, sizeof(int), NULL, &w), -EINVAL);
	CHECK_EQ(asup_watch_open(cx, sizeof(int), &v, NULL), -EINVAL);
	CHECK_EQ(asup_watch_open(NULL, sizeof(int), &v, &w), -ASUP_ENOTASK);
	CHECK_EQ(asup_watch_open(cx, sizeof(int), &v, &w), 0);
	CHECK_EQ(asup_oneshot_open(cx, sizeof(int), &os), 0);
	/* wrong handles */
	CHECK_EQ(asup_watch_send(fake, &v), -EINVAL);
	CHECK_EQ(asup_watch_send((asup_watch *)(void *)os, &v), -EINVAL);
	CHECK_EQ(asup_watch_borrow(fake, &v, NULL), -EINVAL);
	CHECK_EQ(asup_watch_subscribe(fake, &rx), -EINVAL);
	CHECK_EQ(asup_watch_close_send(NULL), -EINVAL);
	CHECK_EQ(asup_watch_stats_get(fake, &st), -EINVAL);
	/* NULL arguments */
	CHECK_EQ(asup_watch_send(w, NULL), -EINVAL);
	CHECK_EQ(asup_watch_send_modify(w, NULL, NULL), -EINVAL);
	CHECK_EQ(asup_watch_borrow(w, NULL, NULL), -EINVAL);
	CHECK_EQ(asup_watch_subscribe(w, NULL), -EINVAL);
	CHECK_EQ(asup_watch_subscribe(w, &rx), 0);
	CHECK_EQ(asup_watch_borrow_and_update(&rx, NULL, NULL), -EINVAL);
	CHECK_EQ(asup_watch_changed(NULL, &rx), -ASUP_ENOTASK);
	/* receivers: never subscribed, a copy, after unsubscribe */
	CHECK_EQ(asup_watch_changed(cx, &zero_rx), -EINVAL);
	CHECK_EQ(asup_watch_has_changed(NULL), -EINVAL);
	CHECK_EQ(asup_watch_mark_seen(&zero_rx), -EINVAL);
	copy = rx;
	CHECK_EQ(asup_watch_has_changed(&copy), -EINVAL);
	CHECK_EQ(asup_watch_unsubscribe(&copy), -EINVAL);
	CHECK_EQ(stats(w).receivers, 1);
	CHECK_EQ(asup_watch_unsubscribe(&rx), 0);
	CHECK_EQ(asup_watch_unsubscribe(&rx), -ASUP_EALREADY);
	CHECK_EQ(asup_watch_changed(cx, &rx), -EPIPE);
	CHECK_EQ(asup_watch_has_changed(&rx), -EPIPE);
	/* a receiver kept past its watch's region: detected */
	CHECK_EQ(asup_region(cx, inner_body, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(asup_watch_has_changed(&inner_rx), -ASUP_ECLOSED);
	CHECK_EQ(asup_watch_changed(cx, &inner_rx), -ASUP_ECLOSED);
	CHECK_EQ(asup_watch_unsubscribe(&inner_rx), -ASUP_ECLOSED);
	CHECK_EQ(asup_watch_unsubscribe(&inner_rx), -ASUP_EALREADY);
	return 0;
}

TEST(watch_bad_input_gets_clear_codes)
{
	run(bad_root);
}

/* ---- seed sweep ---- */

#define SEEDS    50
#define SENDS    40
#define WATCHERS 3

static asup_watch *sweep_w;
static struct watch_log {
	asup_watch_rx rx;
	int last; /* the last value observed */
	int observations, cancelled;
} wlogs[WATCHERS];
static int sweep_cancels, sweep_skips;

static uint64_t rnd(asup_cx *cx, uint64_t n)
{
	uint64_t r = 0;
	CHECK_EQ(asup_random_below(cx, n, &r), 0);
	return r;
}

static void jitter(asup_cx *cx)
{
	for (uint64_t i = rnd(cx, 3); i > 0; i--)
		CHECK_EQ(asup_yield(cx), 0);
}

static int64_t sweep_producer(asup_cx *cx, void *arg)
{
	for (int i = 1; i <= SENDS; i++) {
		jitter(cx);
		CHECK(asup_watch_send(sweep_w, &i) == 0); /* value i is version i */
	}
	return asup_watch_close_send(sweep_w);
}

/* One look in a child task that the watcher may cancel at any point: the
 * change it waits for and the copy happen with no suspension in between. */
struct look {
	struct watch_log *log;
	int v;
	uint64_t ver;
};

static int64_t sweep_attempt(asup_cx *cx, void *arg)
{
	struct look *l = arg;
	int rc = asup_watch_changed(cx, &l->log->rx);
	if (rc < 0)
		return rc;
	return asup_watch_borrow_and_update(&l->log->rx, &l->v, &l->ver);
}

static int64_t sweep_watcher(asup_cx *cx, void *arg)
{
	struct watch_log *lg = arg;
	for (;;) {
		struct look l = {lg, -1, 0};
		asup_task h;
		asup_outcome o;
		CHECK_EQ(asup_spawn(cx, sweep_attempt, &l, NULL, &h), 0);
		jitter(cx);
		if (rnd(cx, 4) == 0)
			CHECK_EQ(asup_task_abort(&h), 0);
		CHECK_EQ(asup_join(cx, &h, &o), 0);
		if (o.kind == ASUP_OUTCOME_CANCELLED) {
			lg->cancelled++;
			continue;
		}
		if (o.kind == ASUP_OUTCOME_ERR) {
			CHECK(o.value == -EPIPE);
			return 0;
		}
		CHECK((uint64_t)l.v == l.ver); /* the value and its version agree */
		CHECK(l.v > lg->last);         /* a change is never reported twice */
		if (l.v > lg->last + 1)
			sweep_skips++;
		lg->last = l.v;
		lg->observations++;
	}
}

static int64_t sweep_root(asup_cx *cx, void *arg)
{
	asup_task p, r[WATCHERS];
	CHECK_EQ(asup_watch_open(cx, sizeof(int), &(int){0}, &sweep_w), 0);
	for (int i = 0; i < WATCHERS; i++) {
		memset(&wlogs[i], 0, sizeof wlogs[i]);
		CHECK_EQ(asup_watch_subscribe(sweep_w, &wlogs[i].rx), 0);
		CHECK_EQ(asup_spawn(cx, sweep_watcher, &wlogs[i], NULL, &r[i]), 0);
	}
	CHECK_EQ(asup_spawn(cx, sweep_producer, NULL, NULL, &p), 0);
	CHECK_EQ(asup_join(cx, &p, NULL), 0);
	for (int i = 0; i < WATCHERS; i++) {
		asup_outcome o;
		CHECK_EQ(asup_join(cx, &r[i], &o), 0);
		CHECK(o.kind == ASUP_OUTCOME_OK);
		CHECK(wlogs[i].last == SENDS); /* the final value is never lost */
		CHECK(wlogs[i].observations >= 1);
		sweep_cancels += wlogs[i].cancelled;
		CHECK_EQ(asup_watch_unsubscribe(&wlogs[i].rx), 0);
	}
	CHECK(stats(sweep_w).waiters == 0);
	return 0;
}

static void sweep_one(uint64_t seed)
{
	run_seed(sweep_root, seed);
}

TEST(watch_seed_sweep_sees_increasing_values_and_the_last_one)
{
	if (SWEEP(SEEDS, sweep_one) < SEEDS)
		return; /* one replayed seed: the per-seed checks ran */
	CHECK(sweep_cancels > 0); /* the sweep cancelled waits ... */
	CHECK(sweep_skips > 0);   /* ... and coalesced changes */
}
