/*
 * asup_select (asupersync/select.h): one task waiting on several queues.
 *
 * Owns nothing beyond the call: each arm keeps its wait state in its own
 * _state storage (struct arm_state), so a select never allocates. An arm that
 * can be woken (recv, reserve, join) has one waiter, linked into the
 * channel's or the joined task's queue with the calling task as its task, as
 * a join set (kernel.h) does for joins; a wake dequeues that waiter and
 * unparks the task. Sleep arms are the park's deadline (the earliest of them), so no
 * timer outlives the park. Channel internals are reached only through
 * chan_internal.h; kernel internals only for handles, joiners and parking.
 *
 * One call:
 *
 *   validate --> checkpoint --> poll --(none ready)--> enqueue --> park
 *                                 ^                                 |
 *                                 +---- checkpoint <---- collect <--+
 *   poll finds ready arms --> draw the winner --> unlink every waiter -->
 *   complete the winner --> pass on what the losers were handed
 *   (a checkpoint error also unlinks and passes everything on)
 *
 * Invariants:
 * - a waiter stays linked from its first enqueue until the call returns or a
 *   wake dequeues it: a reserve arm keeps its FIFO place across spurious
 *   wakes; only a recv arm, whose wake hands nothing over, is queued again;
 * - a reserve arm holds a slot (`holds`) only from the collect that saw it
 *   handed until the end of the call; the poll right after sees it ready, so
 *   the task never parks holding room;
 * - on return no waiter of the call is on a queue and no slot is held.
 */
#include "asupersync/select.h"
#include "chan_internal.h"

#include <stddef.h>
#include <string.h>

struct arm_state {
	asup__waiter w;  /* linked while queued and its result PENDING */
	asup_time until; /* sleep arms: this call's absolute deadline */
	uint8_t queued;  /* w was linked (a wake may have dequeued it since) */
	uint8_t holds;   /* reserve: a slot handed to this arm is ours */
};

_Static_assert(sizeof(struct arm_state) <= sizeof(((asup_select_arm *)0)->_state),
	       "asup_select_arm state is too small");
_Static_assert(offsetof(asup_select_arm, _state) % _Alignof(struct arm_state) == 0,
	       "asup_select_arm state alignment");

static struct arm_state *ST(asup_select_arm *a)
{
	return (struct arm_state *)(void *)a->_state;
}

static const struct arm_state *CST(const asup_select_arm *a)
{
	return (const struct arm_state *)(const void *)a->_state;
}

/* ---- initialisers ---- */

static int arm_init(asup_select_arm *a, int kind)
{
	if (!a)
		return 0;
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	a->result = -EAGAIN;
	return 1;
}

ASUP_API void asup_select_recv(asup_select_arm *arm, asup_chan *ch, void *buf)
{
	if (arm_init(arm, ASUP_SELECT_RECV)) {
		arm->_in.recv.ch = ch;
		arm->_in.recv.buf = buf;
	}
}

ASUP_API void asup_select_reserve(asup_select_arm *arm, asup_chan *ch, asup_permit *permit)
{
	if (arm_init(arm, ASUP_SELECT_RESERVE)) {
		arm->_in.reserve.ch = ch;
		arm->_in.reserve.permit = permit;
	}
}

ASUP_API void asup_select_join(asup_select_arm *arm, asup_task *task, asup_outcome *out)
{
	if (arm_init(arm, ASUP_SELECT_JOIN)) {
		arm->_in.join.task = task;
		arm->_in.join.out = out;
	}
}

ASUP_API void asup_select_sleep_until(asup_select_arm *arm, asup_time t)
{
	if (arm_init(arm, ASUP_SELECT_SLEEP_UNTIL))
		arm->_in.until = t;
}

ASUP_API void asup_select_sleep(asup_select_arm *arm, uint64_t ns)
{
	if (arm_init(arm, ASUP_SELECT_SLEEP))
		arm->_in.ns = ns;
}

/* ---- validation ---- */

static int check_arm(asup_cx *cx, asup__ktask *self, const asup_select_arm *a)
{
	asup__ktask *kt;
	int rc;

	switch (a->kind) {
	case ASUP_SELECT_RECV:
		return a->_in.recv.buf ? asup__chan_check(a->_in.recv.ch, cx->k) : -EINVAL;
	case ASUP_SELECT_RESERVE:
		return a->_in.reserve.permit ? asup__chan_check(a->_in.reserve.ch, cx->k) : -EINVAL;
	case ASUP_SELECT_JOIN:
		rc = asup__handle_resolve(a->_in.join.task, &kt);
		if (rc < 0)
			return rc;
		if (kt->cx.k != cx->k)
			return -EXDEV;
		return kt == self ? -EDEADLK : 0;
	case ASUP_SELECT_SLEEP_UNTIL:
	case ASUP_SELECT_SLEEP:
		return (self->caps & ASUP_CAP_TIME) ? 0 : -EPERM;
	default:
		return -EINVAL;
	}
}

/* What two arms of one kind must not share (one waiter per queue, one
 * consumer per outcome); NULL for sleep arms. */
static const void *arm_key(const asup_select_arm *a)
{
	switch (a->kind) {
	case ASUP_SELECT_RECV:
		return a->_in.recv.ch;
	case ASUP_SELECT_RESERVE:
		return a->_in.reserve.ch;
	case ASUP_SELECT_JOIN:
		return a->_in.join.task->_rec;
	default:
		return NULL;
	}
}

/* Checks every arm (quadratic in the duplicate check, which only compares
 * pointers) and prepares its state; *until gets the earliest sleep time. */
static int validate(asup_cx *cx, asup__ktask *self, asup_select_arm *arms, size_t n,
		    asup_time *until)
{
	asup_time now = ASUP_TIME_MAX;

	*until = ASUP_TIME_MAX;
	for (size_t i = 0; i < n; i++)
		arms[i].result = -EAGAIN;
	for (size_t i = 0; i < n; i++) {
		asup_select_arm *a = &arms[i];
		struct arm_state *st = ST(a);
		int rc = check_arm(cx, self, a);
		const void *key = rc == 0 ? arm_key(a) : NULL;

		for (size_t j = 0; j < i && key; j++)
			if (arms[j].kind == a->kind && arm_key(&arms[j]) == key)
				rc = -EINVAL;
		if (rc < 0) {
			a->result = rc;
			return rc;
		}
		asup__waiter_init(&st->w, &self->t);
		st->queued = st->holds = 0;
		st->until = ASUP_TIME_MAX;
		if (a->kind == ASUP_SELECT_SLEEP_UNTIL) {
			st->until = a->_in.until;
		} else if (a->kind == ASUP_SELECT_SLEEP) {
			if (now == ASUP_TIME_MAX)
				now = asup__sched_now(cx->k->sched);
			st->until = asup_time_add(now, a->_in.ns);
		}
		if (st->until < *until)
			*until = st->until;
	}
	return 0;
}

/* ---- readiness and the winner ---- */

/* 1 if arm a could complete now. No side effects. */
static int arm_ready(const asup_select_arm *a, asup_time now)
{
	const struct arm_state *st = CST(a);
	asup__ktask *kt;

	switch (a->kind) {
	case ASUP_SELECT_RECV:
		return asup__chan_recv_poll(a->_in.recv.ch) != 0;
	case ASUP_SELECT_RESERVE:
		/* Queued and not woken, it polls 0: its own waiter is in line. */
		return st->holds || asup__chan_reserve_poll(a->_in.reserve.ch) != 0;
	case ASUP_SELECT_JOIN:
		/* A handle a copy consumed meanwhile completes with its error. */
		return asup__handle_resolve(a->_in.join.task, &kt) < 0 ||
		       kt->pstate == ASUP__P_COMPLETED;
	default:
		return now >= st->until;
	}
}

/* The index of the winner, drawn uniformly among the ready arms from the
 * task's random stream (no draw when at most one is ready); n if none. */
static size_t pick(asup_cx *cx, asup_select_arm *arms, size_t n, asup_time until)
{
	asup_time now = until != ASUP_TIME_MAX ? asup__sched_now(cx->k->sched) : 0;
	size_t nready = 0;
	uint64_t k;

	for (size_t i = 0; i < n; i++)
		nready += (size_t)arm_ready(&arms[i], now);
	if (nready == 0)
		return n;
	k = nready > 1 ? asup__rng_below(&cx->kt->entropy, nready) : 0;
	for (size_t i = 0; i < n; i++)
		if (arm_ready(&arms[i], now) && k-- == 0)
			return i;
	return n; /* not reached: the two passes see the same state */
}

/* ---- waiting ---- */

/* Queues every arm that is not (or no longer) in line. */
static void enqueue(asup_select_arm *arms, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		asup_select_arm *a = &arms[i];
		struct arm_state *st = ST(a);
		asup__ktask *kt;

		if (st->queued && st->w.result == ASUP__WAIT_PENDING)
			continue;
		switch (a->kind) {
		case ASUP_SELECT_RECV:
			asup__chan_recv_enqueue(a->_in.recv.ch, &st->w);
			break;
		case ASUP_SELECT_RESERVE:
			asup__chan_reserve_enqueue(a->_in.reserve.ch, &st->w);
			break;
		case ASUP_SELECT_JOIN:
			/* Resolves: it was not ready, so the handle is good. */
			if (asup__handle_resolve(a->_in.join.task, &kt) < 0)
				continue;
			st->w.result = ASUP__WAIT_PENDING;
			asup__list_push_back(&kt->joiners, &st->w.link);
			break;
		default:
			continue; /* sleep: the park's deadline */
		}
		st->queued = 1;
	}
}

/* After a park: a reserve arm a wake dequeued takes the slot handed to it
 * (or learns of the close), exactly once per wake. */
static void collect(asup_select_arm *arms, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct arm_state *st = ST(&arms[i]);
		if (arms[i].kind == ASUP_SELECT_RESERVE && st->queued &&
		    st->w.result != ASUP__WAIT_PENDING) {
			st->queued = 0;
			st->holds = asup__chan_reserve_woken(arms[i]._in.reserve.ch, st->w.result) > 0;
		}
	}
}

/* ---- the end of a call ---- */

static int complete(asup_cx *cx, asup_select_arm *a)
{
	struct arm_state *st = ST(a);
	asup__ktask *kt;
	int rc;

	switch (a->kind) {
	case ASUP_SELECT_RECV:
		a->result = asup__chan_recv_take(a->_in.recv.ch, a->_in.recv.buf);
		return 0;
	case ASUP_SELECT_RESERVE:
		if (!st->holds && (rc = asup__chan_room_take(a->_in.reserve.ch)) < 0) {
			a->result = rc; /* closed */
			return 0;
		}
		st->holds = 0;
		/* On failure the slot is given back: the select had no effect. */
		rc = asup__chan_permit_issue(cx->kt, a->_in.reserve.ch, a->_in.reserve.permit);
		if (rc < 0)
			return rc;
		a->result = 0;
		return 0;
	case ASUP_SELECT_JOIN:
		rc = asup__handle_resolve(a->_in.join.task, &kt);
		if (rc == 0)
			asup__handle_consume(cx->k, kt, a->_in.join.task, a->_in.join.out);
		a->result = rc;
		return 0;
	default:
		a->result = 0;
		return 0;
	}
}

/* Unlinks every waiter, completes arm w (none if w == n), then passes on
 * what the other arms were handed. The waiters go first so that what the
 * winner frees, and what the losers pass on, reach other tasks, not this
 * one. Returns w or the winner's failure. */
static int finish(asup_cx *cx, asup_select_arm *arms, size_t n, size_t w)
{
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		asup__list_remove(&ST(&arms[i])->w.link); /* no-op once dequeued */
		ST(&arms[i])->queued = 0;
	}
	if (w < n)
		rc = complete(cx, &arms[w]);
	for (size_t i = 0; i < n; i++) {
		asup_select_arm *a = &arms[i];
		struct arm_state *st = ST(a);
		if (i == w)
			continue;
		if (a->kind == ASUP_SELECT_RESERVE && st->holds) {
			st->holds = 0;
			asup__chan_room_give_back(a->_in.reserve.ch);
		} else if (a->kind == ASUP_SELECT_RECV &&
			   st->w.result != ASUP__WAIT_PENDING) {
			asup__chan_recv_pass_on(a->_in.recv.ch);
		}
	}
	return rc < 0 ? rc : (int)w;
}

ASUP_API int asup_select(asup_cx *cx, asup_select_arm *arms, size_t n)
{
	asup__ktask *self = asup__cx_self(cx);
	asup_time until;
	size_t w;
	int rc;

	if (!self)
		return -ASUP_ENOTASK;
	if (n && !arms)
		return -EINVAL;
	if (n > (size_t)INT32_MAX)
		return -EINVAL; /* the index must fit the return value */
	rc = validate(cx, self, arms, n, &until);
	if (rc < 0)
		return rc;
	/* Cancellation wins over ready arms: checkpoint first, and after every
	 * wake (anything handed over meanwhile is then passed on). */
	rc = asup__cx_checkpoint(cx);
	while (rc == 0) {
		w = pick(cx, arms, n, until);
		if (w < n)
			return finish(cx, arms, n, w);
		enqueue(arms, n);
		rc = asup__cx_park(cx, until, 0);
		collect(arms, n);
		if (rc == 0)
			rc = asup__cx_checkpoint(cx);
	}
	finish(cx, arms, n, n);
	return rc;
}
