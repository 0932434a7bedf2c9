/*
 * Allocation failure is failure-atomic: a workload touching spawn, regions,
 * sync and async finalizers, obligations, every channel kind, select,
 * timers, race, hedge, fail-fast regions, scope cancels and every sync
 * primitive is run once per allocation point N with the Nth allocation of
 * the runtime's hooks failing. Each run must end cleanly (no deadlock, no
 * step-limit hang, the result is the exact expected value or -ENOMEM, no
 * task left live, invariants hold); the same runtime must then run the
 * workload again, hooks no longer failing, with the exact expected result;
 * and after destroy every hooked allocation was freed.
 *
 * The sweep covers every N in the normal build. The points are split over a
 * few cases (by N modulo SWEEP_SPLIT) so that each stays short under
 * Valgrind; together they cover every point. Each case prints its figures.
 */
#include "../testrt.h"

#include <errno.h>
#include <pthread.h>

/* ---- the failing allocator --------------------------------------------- */

static struct {
	uint64_t count;   /* allocations asked for */
	uint64_t fail_at; /* the one that fails (0: none) */
	uint64_t failed;  /* how many were failed */
	int64_t live;     /* allocations not yet freed */
	int fail_all;     /* every allocation fails while set */
} A;

static void *sweep_alloc(void *ud, size_t size)
{
	void *p;
	(void)ud;
	if (++A.count == A.fail_at || A.fail_all) {
		A.failed++;
		return NULL;
	}
	p = malloc(size);
	if (p)
		A.live++;
	return p;
}

static void sweep_free(void *ud, void *p, size_t size)
{
	(void)ud;
	(void)size;
	A.live--;
	free(p);
}

/* ---- the workload ------------------------------------------------------- */

/* Shared state lives here, never in a region body's frame. */
typedef struct wctx {
	asup_chan *ch, *ch2, *never;
	asup_oneshot *os;
	asup_broadcast *bc;
	asup_watch *w;
	asup_mutex m;
	asup_rwlock rw;
	asup_semaphore sem;
	asup_barrier bar;
	asup_once once;
	asup_notify nt;
	int counter;
	int fin_sync, fin_async;
	int fin_sync_armed, fin_async_armed;
} wctx;

#define TRY(e)                          \
	do {                            \
		int64_t rc_ = (e);      \
		if (rc_ < 0)            \
			return rc_;     \
	} while (0)

/* The value of a joined task: its return value, or an error code. */
static int64_t join_val(asup_cx *cx, asup_task *h)
{
	asup_outcome o;
	int rc = asup_join(cx, h, &o);
	if (rc < 0)
		return rc;
	if (o.kind == ASUP_OUTCOME_OK || o.kind == ASUP_OUTCOME_ERR)
		return o.value;
	if (o.kind == ASUP_OUTCOME_CANCELLED)
		return -ECANCELED;
	return -EFAULT; /* a panic: never expected here */
}

/* Runs part in its own region; a part's error cancels that region. */
static int64_t in_region(asup_cx *cx, asup_task_fn part, wctx *c)
{
	asup_outcome o;
	int rc = asup_region(cx, part, c, &o);
	if (rc < 0)
		return rc;
	if (o.kind == ASUP_OUTCOME_OK || o.kind == ASUP_OUTCOME_ERR)
		return o.value;
	return o.kind == ASUP_OUTCOME_CANCELLED ? -ECANCELED : -EFAULT;
}

static int64_t value_of_outcome(const asup_outcome *o)
{
	if (o->kind == ASUP_OUTCOME_OK || o->kind == ASUP_OUTCOME_ERR)
		return o->value;
	return o->kind == ASUP_OUTCOME_CANCELLED ? -ECANCELED : -EFAULT;
}

static int64_t ret_arg(asup_cx *cx, void *arg)
{
	TRY(asup_yield(cx));
	return (int64_t)(intptr_t)arg;
}

/* Blocks on a channel nobody sends to: only a cancel ends it. */
static int64_t blocked(asup_cx *cx, void *arg)
{
	wctx *c = arg;
	int v;
	int rc = asup_chan_recv(cx, c->never, &v);
	return rc == -ECANCELED ? 0 : -EPROTO;
}

static int64_t part_spawn(asup_cx *cx, void *arg)
{
	asup_task h[3];
	asup_outcome o[3];
	int64_t sum = 0;
	(void)arg;
	for (int i = 0; i < 3; i++)
		TRY(asup_spawn(cx, ret_arg, (void *)(intptr_t)(i + 1), NULL, &h[i]));
	TRY(asup_join_all(cx, h, 3, o));
	for (int i = 0; i < 3; i++)
		sum += o[i].kind == ASUP_OUTCOME_OK ? o[i].value : -1000;
	return sum; /* 6 */
}

static void fin_sync(void *arg)
{
	((wctx *)arg)->fin_sync++;
}

static int64_t fin_async(asup_cx *cx, void *arg)
{
	(void)!asup_sleep(cx, ASUP_MSEC(1)); /* suspends: a real async finalizer; may fail under the sweep */
	((wctx *)arg)->fin_async++;
	return 0;
}

static int64_t fin_body(asup_cx *cx, void *arg)
{
	wctx *c = arg;
	TRY(asup_defer(cx, fin_sync, c));
	c->fin_sync_armed = 1;
	TRY(asup_defer_async(cx, fin_async, c));
	c->fin_async_armed = 1;
	return 0;
}

static int64_t part_finalizers(asup_cx *cx, void *arg)
{
	wctx *c = arg;
	TRY(in_region(cx, fin_body, c));
	/* A registered finalizer ran exactly once before the region closed. */
	if (c->fin_sync != c->fin_sync_armed || c->fin_async != c->fin_async_armed)
		return -EPROTO;
	return 20;
}

static int64_t part_obligations(asup_cx *cx, void *arg)
{
	uint64_t a, b;
	(void)arg;
	int rc;
	TRY(asup_obligation_reserve(cx, ASUP_OBLIGATION_ACK, "sweep ack", &a));
	rc = asup_obligation_reserve(cx, ASUP_OBLIGATION_LEASE, "sweep lease", &b);
	if (rc < 0) {
		asup_obligation_abort(cx, a); /* resolved either way: no leak */
		return rc;
	}
	TRY(asup_obligation_commit(cx, a));
	TRY(asup_obligation_abort(cx, b));
	return 30;
}

static int64_t producer(asup_cx *cx, void *arg)
{
	wctx *c = arg;
	asup_permit p;
	int v, rc = 0;
	for (v = 1; v <= 4 && rc == 0; v++)
		rc = asup_chan_send(cx, c->ch, &v);
	if (rc == 0)
		rc = asup_chan_reserve(cx, c->ch, &p);
	if (rc == 0)
		rc = asup_permit_send(&p, &v);
	asup_chan_close(c->ch); /* even on failure: the receiver must not wait */
	return rc;
}

static int64_t part_mpsc(asup_cx *cx, void *arg)
{
	wctx *c = arg;
	asup_task h;
	int64_t sum = 0;
	int v, rc;
	TRY(asup_chan_open(cx, sizeof(int), 2, &c->ch));
	TRY(asup_spawn(cx, producer, c, NULL, &h));
	while ((rc = asup_chan_recv(cx, c->ch, &v)) == 0)
		sum += v;
	if (rc != -EPIPE)
		return rc;
	TRY(join_val(cx, &h));
	return sum; /* 15 */
}

static int64_t os_sender(asup_cx *cx, void *arg)
{
	int v = 42;
	TRY(asup_yield(cx));
	return asup_oneshot_send(((wctx *)arg)->os, &v);
}

static int64_t part_oneshot(asup_cx *cx, void *arg)
{
	wctx *c = arg;
	asup_task h;
	int v = 0;
	TRY(asup_oneshot_open(cx, sizeof(int), &c->os));
	TRY(asup_spawn(cx, os_sender, c, NULL, &h));
	TRY(asup_oneshot_recv(cx, c->os, &v));
	TRY(join_val(cx, &h));
	return v; /* 42 */
}

static int64_t bc_receiver(asup_cx *cx, void *arg)
{
	asup_broadcast_rx *rx = arg;
	int64_t sum = 0;
	uint64_t missed;
	int v, rc;
	while ((rc = asup_broadcast_recv(cx, rx, &v, &missed)) == 0)
		sum += v;
	asup_broadcast_unsubscribe(rx);
	return rc == -EPIPE ? sum : rc;
}

static int64_t part_broadcast(asup_cx *cx, void *arg)
{
	wctx *c = arg;
	asup_broadcast_rx *rx;
	asup_rref ref;
	asup_task h[2];
	int64_t sum = 0;
	/* The subscriptions live in the region heap, not in this frame. */
	TRY(asup_region_alloc(cx, 2 * sizeof(*rx), &ref));
	rx = ref.ptr;
	TRY(asup_broadcast_open(cx, sizeof(int), 4, &c->bc));
	TRY(asup_broadcast_subscribe(c->bc, &rx[0]));
	TRY(asup_broadcast_subscribe(c->bc, &rx[1]));
	for (int i = 0; i < 2; i++)
		TRY(asup_spawn(cx, bc_receiver, &rx[i], NULL, &h[i]));
	for (int v = 1; v <= 3; v++)
		TRY(asup_broadcast_send(c->bc, &v));
	asup_broadcast_close_send(c->bc);
	for (int i = 0; i < 2; i++) {
		int64_t s = join_val(cx, &h[i]);
		TRY(s);
		sum += s;
	}
	return sum; /* 12 */
}

static int64_t watcher(asup_cx *cx, void *arg)
{
	wctx *c = arg;
	asup_watch_rx rx;
	uint64_t ver;
	int v = 0;
	int rc = asup_watch_subscribe(c->w, &rx);
	asup_notify_one(&c->nt);
	if (rc < 0)
		return rc;
	rc = asup_watch_changed(cx, &rx);
	if (rc == 0)
		rc = asup_watch_borrow_and_update(&rx, &v, &ver);
	asup_watch_unsubscribe(&rx);
	return rc < 0 ? rc : v;
}

static int64_t part_watch(asup_cx *cx, void *arg)
{
	wctx *c = arg;
	asup_task h;
	int v = 0;
	asup_notify_init(&c->nt);
	TRY(asup_watch_open(cx, sizeof(int), &v, &c->w));
	TRY(asup_spawn(cx, watcher, c, NULL, &h));
	TRY(asup_notify_wait(cx, &c->nt)); /* subscribed */
	v = 7;
	TRY(asup_watch_send(c->w, &v));
	return join_val(cx, &h); /* 7 */
}

static int64_t late_sender(asup_cx *cx, void *arg)
{
	int v = 5;
	TRY(asup_sleep(cx, ASUP_MSEC(1)));
	return asup_chan_send(cx, ((wctx *)arg)->ch2, &v);
}

static int64_t part_select(asup_cx *cx, void *arg)
{
	wctx *c = arg;
	asup_select_arm arms[3];
	asup_task h;
	int a = 0, b = 0, idx1, idx2;
	TRY(asup_chan_open(cx, sizeof(int), 1, &c->ch));
	TRY(asup_chan_open(cx, sizeof(int), 1, &c->ch2));
	TRY(asup_spawn(cx, late_sender, c, NULL, &h));
	asup_select_recv(&arms[0], c->ch, &a);
	asup_select_recv(&arms[1], c->ch2, &b);
	asup_select_sleep(&arms[2], ASUP_SEC(1));
	TRY(idx1 = asup_select(cx, arms, 3));
	TRY(join_val(cx, &h));
	asup_select_recv(&arms[0], c->ch, &a);
	asup_select_sleep(&arms[1], ASUP_MSEC(1));
	TRY(idx2 = asup_select(cx, arms, 2));
	return idx1 * 100 + idx2 * 10 + b; /* 115 */
}

static int64_t long_sleep(asup_cx *cx, void *arg)
{
	(void)arg;
	return asup_sleep(cx, ASUP_SEC(10));
}

static int64_t part_timers(asup_cx *cx, void *arg)
{
	asup_time t0 = asup_now(cx);
	int64_t rc;
	(void)arg;
	TRY(asup_sleep(cx, ASUP_MSEC(2)));
	rc = asup_timeout(cx, ASUP_MSEC(1), long_sleep, NULL);
	if (rc != -ETIMEDOUT)
		return rc < 0 ? rc : -EPROTO;
	return (int64_t)((asup_now(cx) - t0) / ASUP_MSEC(1)); /* 3 */
}

static int64_t short_win(asup_cx *cx, void *arg)
{
	TRY(asup_sleep(cx, ASUP_MSEC(1)));
	return (int64_t)(intptr_t)arg;
}

static int64_t part_race(asup_cx *cx, void *arg)
{
	wctx *c = arg;
	asup_task a, b;
	asup_outcome o;
	TRY(asup_chan_open(cx, sizeof(int), 1, &c->never));
	TRY(asup_spawn(cx, blocked, c, NULL, &a));
	TRY(asup_spawn(cx, short_win, (void *)(intptr_t)50, NULL, &b));
	/* The loser waits on a channel: only its RACE_LOST cancel ends it. */
	TRY(asup_race(cx, &a, &b, &o));
	if (o.kind != ASUP_OUTCOME_OK && o.kind != ASUP_OUTCOME_ERR)
		return -EPROTO;
	return o.value; /* 50 */
}

static int64_t part_hedge(asup_cx *cx, void *arg)
{
	wctx *c = arg;
	asup_outcome o;
	TRY(asup_chan_open(cx, sizeof(int), 1, &c->never));
	TRY(asup_hedge(cx, ASUP_MSEC(1), blocked, c, short_win, (void *)(intptr_t)60, &o));
	if (o.kind == ASUP_OUTCOME_CANCELLED &&
	    o.reason.kind == ASUP_CANCEL_RESOURCE_UNAVAILABLE)
		return -ENOMEM; /* a spawn failed: the hedge's way of saying so */
	if (o.kind != ASUP_OUTCOME_OK && o.kind != ASUP_OUTCOME_ERR)
		return -EPROTO;
	return o.value; /* 60 */
}

static int64_t failing_child_body(asup_cx *cx, void *arg)
{
	asup_task h;
	TRY(asup_spawn(cx, blocked, arg, NULL, &h));
	TRY(asup_yield(cx));
	return -EBADMSG; /* fails: the region cancels the blocked child */
}

static int64_t cancelled_inner(asup_cx *cx, void *arg)
{
	asup_task h;
	TRY(asup_spawn(cx, blocked, arg, NULL, &h));
	asup_notify_one(&((wctx *)arg)->nt);
	return join_val(cx, &h);
}

static int64_t nested_holder(asup_cx *cx, void *arg)
{
	int64_t v = in_region(cx, cancelled_inner, arg);
	asup_notify_one(&((wctx *)arg)->nt); /* never leave the waiter hanging */
	return v;
}

static int64_t cancel_body(asup_cx *cx, void *arg)
{
	asup_task h;
	int64_t v;
	TRY(asup_spawn(cx, nested_holder, arg, NULL, &h));
	/* Waits until the nested region and its blocked task exist. */
	TRY(asup_notify_wait(cx, &((wctx *)arg)->nt));
	/* Reaches a blocked task two regions down (ParentCancelled). */
	TRY(asup_scope_cancel(cx, ASUP_CANCEL_USER, "sweep"));
	v = join_val(cx, &h);
	return v == 0 || v == -ECANCELED ? 1 : v;
}

static int64_t part_fail_fast(asup_cx *cx, void *arg)
{
	wctx *c = arg;
	int64_t v;
	asup_notify_init(&c->nt);
	TRY(asup_chan_open(cx, sizeof(int), 1, &c->never));
	v = in_region(cx, failing_child_body, c);
	if (v != -EBADMSG)
		return v < 0 ? v : -EPROTO;
	TRY(v = in_region(cx, cancel_body, c));
	return 70 + v; /* 71 */
}

static int64_t locker_steps(asup_cx *cx, void *arg)
{
	wctx *c = arg;
	asup_semaphore_permit p;
	int64_t rc;
	TRY(asup_mutex_lock(cx, &c->m));
	c->counter++;
	rc = asup_yield(cx);
	asup_mutex_unlock(cx, &c->m);
	TRY(rc);
	TRY(asup_rwlock_read(cx, &c->rw));
	rc = asup_yield(cx);
	asup_rwlock_read_unlock(cx, &c->rw);
	TRY(rc);
	TRY(asup_semaphore_acquire(cx, &c->sem, 1, &p));
	rc = asup_yield(cx);
	asup_semaphore_permit_release(&p);
	TRY(rc);
	TRY(asup_barrier_wait(cx, &c->bar));
	return 1;
}

/* A locker that fails cancels its siblings: the others would wait at the
 * barrier for it forever. */
static int64_t locker(asup_cx *cx, void *arg)
{
	int64_t v = locker_steps(cx, arg);
	if (v < 0 && v != -ECANCELED)
		(void)!asup_scope_cancel(cx, ASUP_CANCEL_FAIL_FAST, NULL); /* best effort: v is reported */
	return v;
}

static int once_init(asup_cx *cx, void *arg, void *value)
{
	(void)arg;
	int rc = asup_yield(cx);
	if (rc < 0)
		return rc;
	*(int *)value = 99;
	return 0;
}

static int64_t once_user(asup_cx *cx, void *arg)
{
	int v = 0;
	TRY(asup_once_get_or_init(cx, &((wctx *)arg)->once, once_init, NULL, &v));
	return v;
}

struct sync_joins {
	asup_task *h, *o;
	int64_t sum, err;
};

/* Joins the six lockers and the two once users; the first error other than
 * a sibling's cancel is the part's. */
static int64_t join_sync_tasks(asup_cx *cx, void *arg)
{
	struct sync_joins *j = arg;
	for (int i = 0; i < 8; i++) {
		int64_t v = join_val(cx, i < 6 ? &j->h[i] : &j->o[i - 6]);
		if (v < 0 && (j->err == 0 || j->err == -ECANCELED))
			j->err = v;
		j->sum += v;
	}
	return 0;
}

static int64_t part_sync(asup_cx *cx, void *arg)
{
	wctx *c = arg;
	asup_task h[6], o[2];
	asup_mutex_init(&c->m);
	asup_rwlock_init(&c->rw);
	asup_semaphore_init(&c->sem, 2);
	TRY(asup_barrier_init(&c->bar, 6));
	TRY(asup_once_init(&c->once, sizeof(int)));
	/* Six concurrent readers: more than the lock's inline slots. */
	for (int i = 0; i < 6; i++)
		TRY(asup_spawn(cx, locker, c, NULL, &h[i]));
	for (int i = 0; i < 2; i++)
		TRY(asup_spawn(cx, once_user, c, NULL, &o[i]));
	/* A failing locker cancels this scope, and so this body's own joins:
	 * they are made masked so that the part reports the locker's error. */
	struct sync_joins j = {h, o, 0, 0};
	TRY(asup_cx_masked(cx, join_sync_tasks, &j));
	if (j.err < 0)
		return j.err;
	return j.sum + c->counter; /* 6 + 198 + 6 = 210 */
}

static int64_t blocking_fn(asup_blocking *b, void *arg)
{
	(void)b;
	return (int64_t)(intptr_t)arg;
}

static int64_t masked_fn(asup_cx *cx, void *arg)
{
	TRY(asup_yield(cx));
	return (int64_t)(intptr_t)arg;
}

/* join2, race_all with blocked losers, an abort with a reason, masks,
 * blocking work, and permits of every channel kind and select. */
static int64_t part_combinators(asup_cx *cx, void *arg)
{
	wctx *c = arg;
	asup_task h[3], x, y;
	asup_outcome oa, ob;
	asup_permit p;
	asup_oneshot_permit op;
	asup_broadcast_permit bp;
	asup_select_arm arm;
	asup_broadcast_rx *rx;
	asup_rref ref;
	uint64_t missed;
	size_t win = 9;
	int64_t v = 0;
	int e = 3, got = 0;

	TRY(asup_chan_open(cx, sizeof(int), 2, &c->never));
	TRY(asup_spawn(cx, ret_arg, (void *)(intptr_t)1, NULL, &x));
	TRY(asup_spawn(cx, ret_arg, (void *)(intptr_t)2, NULL, &y));
	TRY(asup_join2(cx, &x, &y, &oa, &ob));
	v += value_of_outcome(&oa) + value_of_outcome(&ob); /* 3 */
	TRY(asup_spawn(cx, blocked, c, NULL, &h[0]));
	TRY(asup_spawn(cx, short_win, (void *)(intptr_t)10, NULL, &h[1]));
	TRY(asup_spawn(cx, blocked, c, NULL, &h[2]));
	TRY(asup_race_all(cx, h, 3, &oa, &win));
	TRY(value_of_outcome(&oa));
	v += value_of_outcome(&oa) + (int64_t)win; /* 11 */
	TRY(asup_spawn(cx, blocked, c, NULL, &x));
	TRY(asup_yield(cx));
	TRY(asup_task_abort_with(&x, ASUP_CANCEL_SHUTDOWN, "sweep"));
	TRY(join_val(cx, &x)); /* blocked returns 0 once cancelled */
	TRY(asup_cx_masked(cx, masked_fn, (void *)(intptr_t)4));
	v += asup_cx_masked(cx, masked_fn, (void *)(intptr_t)4); /* 4 */
	TRY(asup_spawn_blocking(cx, blocking_fn, (void *)(intptr_t)5, NULL, &x));
	v += join_val(cx, &x); /* 5 */
	/* A permit of each kind, one through select. */
	TRY(asup_chan_reserve(cx, c->never, &p));
	TRY(asup_permit_send(&p, &e));
	asup_select_reserve(&arm, c->never, &p);
	TRY(asup_select(cx, &arm, 1));
	TRY(arm.result);
	TRY(asup_permit_send(&p, &e));
	TRY(asup_chan_try_recv(c->never, &got));
	TRY(asup_chan_try_recv(c->never, &got));
	v += got; /* 3 */
	TRY(asup_oneshot_open(cx, sizeof(int), &c->os));
	TRY(asup_oneshot_reserve(cx, c->os, &op));
	TRY(asup_oneshot_permit_send(&op, &e));
	TRY(asup_oneshot_recv(cx, c->os, &got));
	v += got; /* 3 */
	TRY(asup_broadcast_open(cx, sizeof(int), 2, &c->bc));
	TRY(asup_region_alloc(cx, sizeof(*rx), &ref));
	rx = ref.ptr;
	TRY(asup_broadcast_subscribe(c->bc, rx));
	TRY(asup_broadcast_reserve(cx, c->bc, &bp));
	TRY(asup_broadcast_permit_send(&bp, &e));
	TRY(asup_broadcast_try_recv(rx, &got, &missed));
	asup_broadcast_unsubscribe(rx);
	v += got; /* 3 */
	return v; /* 32 */
}

static const struct part {
	const char *name;
	asup_task_fn fn;
	int64_t expect;
} parts[] = {
	{"spawn", part_spawn, 6},       {"finalizers", part_finalizers, 20},
	{"obligations", part_obligations, 30}, {"mpsc", part_mpsc, 15},
	{"oneshot", part_oneshot, 42},  {"broadcast", part_broadcast, 12},
	{"watch", part_watch, 7},       {"select", part_select, 115},
	{"timers", part_timers, 3},     {"race", part_race, 50},
	{"hedge", part_hedge, 60},      {"fail_fast", part_fail_fast, 71},
	{"sync", part_sync, 210},       {"combinators", part_combinators, 32},
};
#define NPARTS (sizeof(parts) / sizeof(parts[0]))

/* Every part in order; the sum of their values, or the first error. */
static int64_t workload(asup_cx *cx, void *arg)
{
	wctx *c = arg;
	int64_t sum = 0;
	for (size_t i = 0; i < NPARTS; i++) {
		int64_t v;
		memset(c, 0, sizeof(*c));
		v = in_region(cx, parts[i].fn, c);
		if (v < 0) {
			if (v != -ENOMEM)
				fprintf(stderr, "part %s: %s\n", parts[i].name, asup_err_name((int)v));
			return v;
		}
		if (v != parts[i].expect) {
			fprintf(stderr, "part %s: %" PRId64 " != %" PRId64 "\n", parts[i].name, v,
				parts[i].expect);
			return -EPROTO;
		}
		sum += v;
	}
	return sum;
}

static int64_t expected_sum(void)
{
	int64_t s = 0;
	for (size_t i = 0; i < NPARTS; i++)
		s += parts[i].expect;
	return s;
}

/* ---- the sweep ---------------------------------------------------------- */

static asup_rt *sweep_rt(void)
{
	asup_rt_config cfg;
	asup_rt_config_init(&cfg);
	cfg.mode = ASUP_MODE_DETERMINISTIC;
	cfg.seed = 7;
	cfg.max_steps = 1000000; /* a hang becomes a failure */
	cfg.alloc.alloc = sweep_alloc;
	cfg.alloc.free = sweep_free;
	return test_rt_cfg(&cfg);
}

/* Runs the workload once; 1 if an allocation was failed during it. */
static int run_once(asup_rt *rt, uint64_t fail_n, uint64_t n)
{
	static wctx c;
	asup_rt_stats st;
	asup_outcome o;
	uint64_t failed = A.failed;
	int rc;

	A.fail_at = fail_n ? A.count + fail_n : 0;
	rc = asup_rt_run(rt, workload, &c, &o);
	A.fail_at = 0;
	if (!(rc == 0 || rc == -ENOMEM))
		fprintf(stderr, "point %" PRIu64 ": run gave %d (%s)\n", n, rc, asup_err_name(rc));
	CHECK(rc == 0 || rc == -ENOMEM);
	if (rc == 0) {
		int ok = (o.kind == ASUP_OUTCOME_OK && o.value == expected_sum()) ||
			 (o.kind == ASUP_OUTCOME_ERR && o.value == -ENOMEM);
		if (!ok)
			fprintf(stderr, "point %" PRIu64 ": outcome %s value %" PRId64 "\n", n,
				asup_outcome_kind_name(o.kind), o.value);
		CHECK(ok);
	}
	CHECK_EQ(asup_rt_stats_get(rt, &st), 0);
	CHECK_EQ(st.tasks_live, 0);
	CHECK_EQ(asup__rt_check(rt), 0);
	return A.failed != failed;
}

/* Fails allocation point n of the workload (counted from the start of the
 * run), checks the run, then reruns it on the same runtime without
 * failures. 1 while n was inside the workload. */
static int sweep_point(uint64_t n, int warm)
{
	asup_rt *rt = sweep_rt();
	int hit;

	if (warm) /* pools, arenas and records already grown */
		CHECK_EQ(run_once(rt, 0, 0), 0);
	hit = run_once(rt, n, n);
	asup_outcome o;

	/* The same runtime runs the workload again, exactly. */
	{
		static wctx c;
		CHECK_EQ(asup_rt_run(rt, workload, &c, &o), 0);
		CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
		CHECK_EQ(o.value, expected_sum());
	}
	test_rt_done(rt);
	CHECK_EQ(A.live, 0); /* nothing the runtime allocated outlived it */
	return hit;
}

#define SWEEP_SPLIT 4

static void sweep(unsigned part, int warm)
{
	uint64_t tried = 0, n;

	for (n = 1 + part;; n += SWEEP_SPLIT) {
		if (!sweep_point(n, warm))
			break; /* past the last allocation of the workload */
		tried++;
	}
	printf("alloc sweep%s %u/%u: %" PRIu64 " points tried (N = %u mod %u, up to %" PRIu64
	       "), all clean\n",
	       warm ? " (warm runtime)" : "", part + 1, SWEEP_SPLIT, tried, 1 + part, SWEEP_SPLIT, n - SWEEP_SPLIT);
	CHECK(tried > 0);
}

TEST(workload_without_failures_gives_the_exact_result_twice)
{
	asup_rt *rt = sweep_rt();
	CHECK_EQ(run_once(rt, 0, 0), 0);
	CHECK_EQ(run_once(rt, 0, 0), 0);
	test_rt_done(rt);
	CHECK_EQ(A.live, 0);
}

TEST(every_allocation_failure_is_clean_and_rerun_exact_part1)
{
	sweep(0, 0);
}

TEST(every_allocation_failure_is_clean_and_rerun_exact_part2)
{
	sweep(1, 0);
}

TEST(every_allocation_failure_is_clean_and_rerun_exact_part3)
{
	sweep(2, 0);
}

TEST(every_allocation_failure_is_clean_and_rerun_exact_part4)
{
	sweep(3, 0);
}

/* The same on a runtime that already ran the workload: the failures hit the
 * allocations a warm runtime still makes (regions, channels, reasons...). */
TEST(every_allocation_failure_on_a_warm_runtime_is_clean_and_rerun_exact)
{
	for (unsigned part = 0; part < SWEEP_SPLIT; part++)
		sweep(part, 1);
}

/* Creating a runtime fails cleanly at each of its allocations. */
TEST(runtime_create_fails_cleanly_at_every_allocation)
{
	uint64_t n, tried = 0;

	for (n = 1;; n++) {
		asup_rt_config cfg;
		asup_rt *rt = NULL;
		uint64_t failed = A.failed;
		int rc;

		asup_rt_config_init(&cfg);
		cfg.mode = ASUP_MODE_DETERMINISTIC;
		cfg.alloc.alloc = sweep_alloc;
		cfg.alloc.free = sweep_free;
		A.fail_at = A.count + n;
		rc = asup_rt_create(&cfg, &rt);
		A.fail_at = 0;
		if (A.failed == failed) {
			CHECK_EQ(rc, 0);
			test_rt_done(rt);
			break;
		}
		tried++;
		CHECK_EQ(rc, -ENOMEM);
		CHECK_EQ(A.live, 0);
	}
	printf("runtime create: %" PRIu64 " points tried, all clean\n", tried);
	CHECK(tried > 0);
}

/* ---- cancels without memory --------------------------------------------- */

/* What each waiter saw: its return value and its cx's cancel reason. */
static struct {
	int rc[2];
	asup_cancel_reason why[2];
	int n;
} W;

static int64_t wait_never(asup_cx *cx, void *arg)
{
	int v, i = W.n++;
	W.rc[i] = asup_chan_recv(cx, ((wctx *)arg)->never, &v);
	CHECK_EQ(asup_cx_cancel_reason(cx, &W.why[i]), 0);
	return W.rc[i];
}

static int64_t grandchild_body(asup_cx *cx, void *arg)
{
	asup_task h;
	asup_outcome o;
	CHECK_EQ(asup_spawn(cx, wait_never, arg, NULL, &h), 0);
	asup_notify_one(&((wctx *)arg)->nt);
	return asup_join(cx, &h, &o); /* -ECANCELED: this task is cancelled too */
}

static int64_t child_holder(asup_cx *cx, void *arg)
{
	asup_outcome o;
	return asup_region(cx, grandchild_body, arg, &o);
}

static int64_t scope_body(asup_cx *cx, void *arg)
{
	wctx *c = arg;
	asup_task h;
	asup_outcome o;
	CHECK_EQ(asup_spawn(cx, child_holder, c, NULL, &h), 0);
	CHECK_EQ(asup_notify_wait(cx, &c->nt), 0);
	A.fail_all = 1;
	CHECK_EQ(asup_scope_cancel(cx, ASUP_CANCEL_USER, "no memory for this"), 0);
	A.fail_all = 0;
	/* The body runs inside the cancelled scope: its own join is cut short,
	 * and the region still waits for the child before it returns. */
	CHECK_RC(asup_join(cx, &h, &o), -ECANCELED);
	return 0;
}

static int64_t cancels_without_memory(asup_cx *cx, void *arg)
{
	wctx *c = arg;
	asup_task h;
	asup_outcome o;
	uint64_t failed;

	asup_notify_init(&c->nt);
	CHECK_EQ(asup_chan_open(cx, sizeof(int), 1, &c->never), 0);
	CHECK_EQ(asup_spawn(cx, wait_never, c, NULL, &h), 0);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(asup_yield(cx), 0);
	/* An abort with every allocation failing is delivered all the same. */
	failed = A.failed;
	A.fail_all = 1;
	CHECK_EQ(asup_task_abort_with(&h, ASUP_CANCEL_SHUTDOWN, "no memory for this"), 0);
	A.fail_all = 0;
	CHECK(A.failed > failed);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(o.reason.kind, ASUP_CANCEL_SHUTDOWN);
	/* A scope cancel reaches a task two regions down the same way. */
	failed = A.failed;
	CHECK_EQ(asup_region(cx, scope_body, c, &o), 0);
	CHECK(A.failed > failed);
	return 0;
}

TEST(a_cancel_whose_reason_cannot_be_allocated_is_delivered_with_its_kind)
{
	static wctx c;
	asup_rt *rt = sweep_rt();
	asup_outcome o;

	memset(&W, 0, sizeof(W));
	CHECK_EQ(asup_rt_run(rt, cancels_without_memory, &c, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(W.n, 2);
	for (int i = 0; i < 2; i++) {
		CHECK_EQ(W.rc[i], -ECANCELED);
		/* The static reason: the right kind, no message, no origin,
		 * flagged truncated. */
		CHECK_EQ(W.why[i].has_message, 0);
		CHECK_EQ(W.why[i].message[0], '\0');
		CHECK_EQ(W.why[i].truncated, 1);
		CHECK_EQ(W.why[i].origin_task, ASUP_ID_NONE);
		CHECK_EQ(W.why[i].chain_depth, 1);
	}
	CHECK_EQ(W.why[0].kind, ASUP_CANCEL_SHUTDOWN);
	CHECK_EQ(W.why[1].kind, ASUP_CANCEL_PARENT_CANCELLED);
	test_rt_done(rt);
	CHECK_EQ(A.live, 0);
}

/* ---- an async finalizer that cannot start -------------------------------- */

static struct {
	int ran;
	int root_done;
} F;

static int64_t counted_fin(asup_cx *cx, void *arg)
{
	(void)arg;
	CHECK_EQ(asup_yield(cx), 0);
	F.ran++;
	return 0;
}

static int64_t fin_then_starve(asup_cx *cx, void *arg)
{
	(void)arg;
	CHECK_EQ(asup_defer_async(cx, counted_fin, NULL), 0);
	A.fail_all = 1; /* the close cannot start the finalizer's task */
	return 0;
}

static int64_t region_with_async_fin(asup_cx *cx, void *arg)
{
	asup_outcome o;
	(void)arg;
	CHECK_EQ(asup_region(cx, fin_then_starve, NULL, &o), 0);
	CHECK_EQ(F.ran, 1); /* returns only once the finalizer ran */
	F.root_done = 1;
	return 7;
}

static int64_t trivial_root(asup_cx *cx, void *arg)
{
	(void)cx;
	(void)arg;
	return 8;
}

TEST(an_async_finalizer_that_cannot_start_is_retried_and_the_runtime_recovers)
{
	asup_rt *rt = sweep_rt();
	asup_outcome o;

	memset(&F, 0, sizeof(F));
	/* Out of memory for good: the run says so instead of -EDEADLK, and
	 * the region waits in Finalizing with its finalizer kept. */
	CHECK_EQ(asup_rt_run(rt, region_with_async_fin, NULL, &o), -ENOMEM);
	A.fail_all = 0;
	CHECK_EQ(F.ran, 0);
	CHECK_EQ(F.root_done, 0);
	/* Memory is back: the next run retries it; the first root finishes. */
	CHECK_EQ(asup_rt_run(rt, trivial_root, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(o.value, 8);
	CHECK_EQ(F.ran, 1);
	CHECK_EQ(F.root_done, 1);
	test_rt_done(rt);
	CHECK_EQ(A.live, 0);
}

/* ---- static reasons shared by runtimes on two threads -------------------- */

static _Thread_local int t_fail_all;

static void *thread_alloc(void *ud, size_t n)
{
	(void)ud;
	return t_fail_all ? NULL : malloc(n);
}

static void thread_free(void *ud, void *p, size_t n)
{
	(void)ud;
	(void)n;
	free(p);
}

static int64_t thread_waiter(asup_cx *cx, void *arg)
{
	int v;
	return asup_chan_recv(cx, arg, &v);
}

static int64_t thread_root(asup_cx *cx, void *arg)
{
	asup_chan *ch;
	asup_task h;
	asup_outcome o;
	(void)arg;
	CHECK_EQ(asup_chan_open(cx, sizeof(int), 1, &ch), 0);
	for (int i = 0; i < 50; i++) {
		CHECK_EQ(asup_spawn(cx, thread_waiter, ch, NULL, &h), 0);
		CHECK_EQ(asup_yield(cx), 0);
		t_fail_all = 1;
		CHECK_EQ(asup_task_abort_with(&h, ASUP_CANCEL_SHUTDOWN, "x"), 0);
		t_fail_all = 0;
		CHECK_EQ(asup_join(cx, &h, &o), 0);
		CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
		CHECK_EQ(o.reason.kind, ASUP_CANCEL_SHUTDOWN);
		CHECK_EQ(o.reason.truncated, 1);
	}
	return 0;
}

static void *thread_main(void *arg)
{
	asup_rt_config cfg;
	asup_outcome o;
	asup_rt *rt;
	(void)arg;
	asup_rt_config_init(&cfg);
	cfg.mode = ASUP_MODE_DETERMINISTIC;
	cfg.alloc.alloc = thread_alloc;
	cfg.alloc.free = thread_free;
	rt = test_rt_cfg(&cfg);
	CHECK_EQ(asup_rt_run(rt, thread_root, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	test_rt_done(rt);
	return NULL;
}

/* The static fallback reasons are never written, so runtimes on different
 * threads share them without a race (checked under ThreadSanitizer). */
TEST(static_fallback_reasons_are_shared_by_runtimes_on_two_threads)
{
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		CHECK_EQ(pthread_create(&t[i], NULL, thread_main, NULL), 0);
	for (int i = 0; i < 2; i++)
		CHECK_EQ(pthread_join(t[i], NULL), 0);
}
