/*
 * The Scope API: region bodies, finalizer registration, join2/join_all,
 * race/race_all/hedge, and the outcome algebra.
 *
 * A region body runs on the calling task's own stack with the cx's scope
 * switched to the new child region; a setjmp frame catches asup_panic inside
 * it. After the body, the region is closed according to the body's outcome
 * and the caller waits (uninterruptibly) until it is closed.
 *
 * The body runs inside its region's cancel scope: the region records the
 * task (body_task), so that a cancel reaching the region sets the task's
 * scope_cancelled flag and interrupts its park; the cx carries the region's
 * budget deadline (scope_deadline) for checkpoints and parks. Both are
 * restored when the region call returns, so the cancel stops at the edge:
 * the caller then sees only its own cancel state and the cancels of the
 * bodies it is still inside.
 *
 * Races drain their losers: every loser is aborted with RACE_LOST and joined
 * before the race returns, also when the racing task itself is cancelled.
 */
#include "kernel.h"

#include <stdatomic.h>
#include <string.h>

static void outcome_cancelled(asup__kernel *k, asup_outcome *out, asup__reason *r)
{
	if (!out)
		return;
	memset(out, 0, sizeof(*out));
	out->kind = ASUP_OUTCOME_CANCELLED;
	asup__reason_export(r, &out->reason);
	(void)k;
}

/* ---- regions ----------------------------------------------------------- */

struct body_state {
	asup_outcome_kind kind;
	int64_t value;
};

/* 1 if a region from r up to (not including) the task's own region is
 * cancelled: the cancel scopes of the bodies that kt runs. */
static int bodies_cancelled(const asup__ktask *kt, const asup__region *r)
{
	for (; r && r != kt->owner; r = r->parent)
		if (r->reason)
			return 1;
	return 0;
}

void asup__scope_body_cancel(asup__kernel *k, asup__region *r)
{
	asup__ktask *kt = r->body_task;

	kt->scope_cancelled = 1;
	if (kt->bjob)
		atomic_store(&kt->bjob->cancelled, 1);
	asup__sched_interrupt(k->sched, &kt->t, -ECANCELED);
}

void asup__scope_expire(asup_cx *cx, asup__ktask *kt, asup_time now)
{
	asup__region *hit = NULL;
	asup__reason *why;

	/* Budgets nest as the minimum, so every region inside an expired one
	 * expired too: cancelling the outermost reaches the others as
	 * ParentCancelled, with the deadline as their cause. */
	for (asup__region *r = cx->scope; r && r != kt->owner; r = r->parent)
		if (r->budget.deadline <= now)
			hit = r;
	if (!hit || hit->reason)
		return;
	why = asup__reason_make(cx->k, ASUP_CANCEL_DEADLINE, hit, kt, NULL);
	if (!why) {
		/* Without memory for a reason the body is still stopped; its
		 * region is cancelled when the body returns. */
		kt->scope_cancelled = 1;
		return;
	}
	asup__region_cancel(cx->k, hit, why);
	asup__reason_unref(&cx->k->alloc, why);
}

/* Closes the child region as the body's outcome says, waits until it is
 * closed, and reports the outcome. A Cancelled body reports the task's own
 * reason if it has one, else its region's. */
static void close_child(asup__kernel *k, asup__ktask *self, asup__region *child,
			asup_outcome_kind kind, int64_t value, asup_outcome *out)
{
	asup__reason *why = NULL;
	asup_cancel_reason body_reason;
	uint64_t id = child->id; /* the record is freed when the region closes */

	child->body_running = 0;
	child->body_task = NULL;
	switch (kind) {
	case ASUP_OUTCOME_OK:
		asup__region_begin_close(k, child, NULL);
		break;
	case ASUP_OUTCOME_CANCELLED:
		why = asup__reason_ref(self->cancel_requested ? self->cx_reason : child->reason);
		break;
	default:
		why = asup__reason_make(k, ASUP_CANCEL_FAIL_FAST, child, self, NULL);
		break;
	}
	if (kind != ASUP_OUTCOME_OK) {
		/* Cancelling begins the close (a reason is never missing for
		 * lack of memory: see asup__reason_make). */
		if (why)
			asup__region_cancel_quick(k, child, why);
		else
			asup__region_begin_close(k, child, NULL);
	}
	/* Either call may have closed and freed the region already. */
	if ((child = asup__region_lookup(k, id)) != NULL)
		asup__region_advance(k, child);
	/* No reference is held across the wait: a run abandoned while this
	 * task waits (a lab run that stops early, a runtime destroyed with the
	 * task suspended) discards this frame, and the reference with it. */
	asup__reason_export(why, &body_reason);
	asup__reason_unref(&k->alloc, why);
	asup__region_wait_closed(k, self, id);
	if (out) {
		memset(out, 0, sizeof(*out));
		out->kind = kind;
		out->value = value;
		if (kind == ASUP_OUTCOME_CANCELLED)
			out->reason = body_reason;
		if (kind == ASUP_OUTCOME_PANICKED && self->panic_msg)
			memcpy(out->panic_msg, self->panic_msg, ASUP_PANIC_MSG_MAX);
	}
}

/* The cancel stops at the region's edge: the caller keeps the cancels of
 * the bodies it is still inside and its own, nothing else (a sticky
 * interrupt left by the inner scope would end its next park at once). */
static void leave_scope(asup_cx *cx, asup__ktask *self)
{
	self->scope_cancelled = (uint8_t)bodies_cancelled(self, cx->scope);
	if (!self->scope_cancelled && !self->cancel_requested)
		self->t.interrupt = 0;
}

static int run_region(asup_cx *cx, asup_budget budget, asup_task_fn body, void *arg,
		      asup_outcome *out)
{
	asup__ktask *self = asup__cx_self(cx);
	asup__kernel *k;
	asup__region *child;
	asup__frame f;
	volatile struct body_state st = {ASUP_OUTCOME_OK, 0};
	uint32_t caps;
	int rc;

	if (!self)
		return -ASUP_ENOTASK;
	if (!body)
		return -EINVAL;
	k = cx->k;
	rc = asup__region_create(k, cx->scope, budget, &child);
	if (rc < 0)
		return rc;
	/* A cancel may close the region's tasks before the body returns: the
	 * body holds it open. */
	child->body_running = 1;
	child->body_task = self;
	f.prev = cx->frame;
	f.masked = self->t.masked;
	f.scope = cx->scope;
	f.deadline = cx->deadline;
	f.scope_deadline = cx->scope_deadline;
	caps = self->caps;
	cx->scope = child;
	cx->frame = &f;
	/* The child's budget is already met with its parent's: its deadline
	 * is the minimum over every body the task is inside. */
	cx->scope_deadline = child->budget.deadline;
	if (setjmp(f.jb) == 0) {
		int64_t v = body(cx, arg);
		st.value = v;
		if (v == -ECANCELED && (self->cancel_requested || self->scope_cancelled))
			st.kind = ASUP_OUTCOME_CANCELLED;
		else
			st.kind = v >= 0 ? ASUP_OUTCOME_OK : ASUP_OUTCOME_ERR;
	} else {
		st.kind = ASUP_OUTCOME_PANICKED;
		st.value = 0;
	}
	cx->frame = f.prev;
	cx->scope = f.scope;
	cx->deadline = f.deadline;
	cx->scope_deadline = f.scope_deadline;
	self->t.masked = f.masked;
	self->caps = caps;

	close_child(k, self, child, st.kind, st.value, out);
	leave_scope(cx, self);
	return 0;
}

ASUP_API int asup_region(asup_cx *cx, asup_task_fn body, void *arg, asup_outcome *out)
{
	if (!asup__cx_self(cx))
		return -ASUP_ENOTASK;
	return run_region(cx, cx->scope->budget, body, arg, out);
}

ASUP_API int asup_region_with_budget(asup_cx *cx, asup_budget budget, asup_task_fn body,
				     void *arg, asup_outcome *out)
{
	return run_region(cx, budget, body, arg, out);
}

ASUP_API uint64_t asup_scope_region_id(asup_cx *cx)
{
	return asup__cx_self(cx) ? cx->scope->id : ASUP_ID_NONE;
}

ASUP_API asup_budget asup_scope_budget(asup_cx *cx)
{
	return asup__cx_self(cx) ? cx->scope->budget : asup_budget_zero();
}

ASUP_API int asup_scope_set_limits(asup_cx *cx, const asup_region_limits *limits)
{
	if (!asup__cx_self(cx))
		return -ASUP_ENOTASK;
	if (!limits)
		return -EINVAL;
	cx->scope->limits = *limits;
	return 0;
}

ASUP_API int asup_scope_cancel(asup_cx *cx, asup_cancel_kind kind, const char *msg)
{
	asup__ktask *self = asup__cx_self(cx);
	asup__reason *r;

	if (!self)
		return -ASUP_ENOTASK;
	if (asup_cancel_kind_severity(kind) < 0)
		return -EINVAL;
	r = asup__reason_make(cx->k, kind, cx->scope, self, msg);
	asup__region_cancel(cx->k, cx->scope, r);
	asup__reason_unref(&cx->k->alloc, r);
	return 0;
}

static int defer(asup_cx *cx, const asup__finalizer *f)
{
	if (!asup__cx_self(cx))
		return -ASUP_ENOTASK;
	return asup__region_add_finalizer(cx->k, cx->scope, f);
}

ASUP_API int asup_defer(asup_cx *cx, void (*fn)(void *arg), void *arg)
{
	asup__finalizer f = {fn, NULL, arg};
	return fn ? defer(cx, &f) : -EINVAL;
}

ASUP_API int asup_defer_async(asup_cx *cx, asup_task_fn fn, void *arg)
{
	asup__finalizer f = {NULL, fn, arg};
	return fn ? defer(cx, &f) : -EINVAL;
}

/* ---- joins ------------------------------------------------------------- */

ASUP_API int asup_join2(asup_cx *cx, asup_task *a, asup_task *b, asup_outcome *oa,
			asup_outcome *ob)
{
	int rc = asup_join(cx, a, oa);
	return rc < 0 ? rc : asup_join(cx, b, ob);
}

ASUP_API int asup_join_all(asup_cx *cx, asup_task *hs, size_t n, asup_outcome *outs)
{
	if (n && !hs)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		int rc = asup_join(cx, &hs[i], outs ? &outs[i] : NULL);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- races ------------------------------------------------------------- */

static int resolve_all(asup_cx *cx, asup_task *hs, size_t n, asup__ktask **recs)
{
	for (size_t i = 0; i < n; i++) {
		int rc = asup__handle_resolve(&hs[i], &recs[i]);
		if (rc < 0)
			return rc;
		if (recs[i]->cx.k != cx->k)
			return -EXDEV;
		if (recs[i] == cx->kt)
			return -EDEADLK;
		for (size_t j = 0; j < i; j++)
			if (recs[j] == recs[i])
				return -EINVAL;
	}
	return 0;
}

static void abort_lost(asup__kernel *k, asup__ktask *kt)
{
	asup__reason *r;

	if (kt->pstate == ASUP__P_COMPLETED)
		return;
	r = asup__reason_make(k, ASUP_CANCEL_RACE_LOST, kt->owner, kt, NULL);
	asup__task_abort(k, kt, r);
	asup__reason_unref(&k->alloc, r);
}

/*
 * The race core over n resolved records: waits for a first finisher, picks
 * the winner among those found finished together (rotating the starting
 * index each round; race_all draws it at random instead), aborts and drains
 * the rest, consumes every handle. Returns 0 or the caller's checkpoint
 * error (then every task was aborted and drained).
 */
static int race_core(asup_cx *cx, asup_task *hs, asup__ktask **recs, size_t n,
		     int random_pick, asup_outcome *out, size_t *winner)
{
	asup__kernel *k = cx->k;
	asup__ktask *self = cx->kt;
	asup_outcome tmp, first_panic;
	size_t w = n, ready[64], nready;
	int rc = 0, have_panic = 0;
	uint64_t race = 0;
	asup__join_set js;

	if (asup__k_traced(k)) {
		race = ++k->races;
		asup__k_event(k, ASUP_EV_RACE_BEGIN, self, cx->scope, race, n);
		for (size_t i = 0; i < n; i++)
			asup__k_event(k, ASUP_EV_RACE_MEMBER, self, cx->scope, race, recs[i]->id);
	}

	asup__join_set_init(&js, recs, n);
	for (unsigned round = 0; w == n; round++) {
		nready = 0;
		for (size_t j = 0; j < n && nready < 64; j++) {
			size_t i = random_pick ? j : (j + round) % n;
			if (asup__join_set_done(&js, i))
				ready[nready++] = i;
		}
		if (nready) {
			w = ready[0];
			if (random_pick && nready > 1) {
				w = ready[asup__rng_below(&self->entropy, nready)];
				asup__k_event(k, ASUP_EV_RANDOM, self, NULL, w, nready);
			}
			break;
		}
		rc = asup__join_set_wait(k, &js, self, ASUP_TIME_MAX, 1);
		if (rc < 0)
			break;
	}
	asup__join_set_fini(k, &js);
	for (size_t i = 0; i < n; i++)
		if (i != w)
			abort_lost(k, recs[i]);
	for (size_t i = 0; i < n; i++) {
		if (i == w)
			continue;
		asup__join_drain(k, self, recs[i]);
		asup__handle_consume(k, recs[i], &hs[i], &tmp);
		if (tmp.kind == ASUP_OUTCOME_PANICKED && !have_panic) {
			first_panic = tmp;
			have_panic = 1;
		}
	}
	if (race)
		asup__k_event(k, ASUP_EV_RACE_END, self, cx->scope, race,
			      w == n ? ASUP_ID_NONE : recs[w]->id);
	if (w == n)
		return rc;
	asup__handle_consume(k, recs[w], &hs[w], &tmp);
	if (winner)
		*winner = w;
	if (out)
		*out = (tmp.kind != ASUP_OUTCOME_PANICKED && have_panic) ? first_panic : tmp;
	return 0;
}

ASUP_API int asup_race(asup_cx *cx, asup_task *a, asup_task *b, asup_outcome *out)
{
	asup_task hs[2];
	asup__ktask *recs[2];
	int rc;

	if (!asup__cx_self(cx))
		return -ASUP_ENOTASK;
	if (!a || !b)
		return -EINVAL;
	hs[0] = *a;
	hs[1] = *b;
	rc = resolve_all(cx, hs, 2, recs);
	if (rc < 0)
		return rc;
	rc = race_core(cx, hs, recs, 2, 0, out, NULL);
	a->_flags = hs[0]._flags;
	b->_flags = hs[1]._flags;
	return rc;
}

ASUP_API int asup_race_all(asup_cx *cx, asup_task *hs, size_t n, asup_outcome *out,
			   size_t *winner)
{
	asup__ktask *local[16], **recs = local;
	int rc;

	if (!asup__cx_self(cx))
		return -ASUP_ENOTASK;
	if (n == 0) {
		/* Nothing can win: wait until the caller is cancelled. */
		do
			rc = asup__cx_park(cx, ASUP_TIME_MAX, 0);
		while (rc == 0);
		return rc;
	}
	if (!hs)
		return -EINVAL;
	if (n > 16) {
		recs = asup__alloc_mem(&cx->k->alloc, n * sizeof(*recs));
		if (!recs)
			return -ENOMEM;
	}
	rc = resolve_all(cx, hs, n, recs);
	if (rc == 0)
		rc = race_core(cx, hs, recs, n, 1, out, winner);
	if (recs != local)
		asup__free_mem(&cx->k->alloc, recs, n * sizeof(*recs));
	return rc;
}

/* Waits for the primary or the delay, whichever comes first: 1 if the
 * primary completed, 0 if the delay passed first, or the checkpoint's
 * error. */
static int wait_primary(asup__kernel *k, asup__ktask *self, asup__ktask *kp, asup_time until)
{
	asup__join_set js;
	int rc = 0, done;

	asup__join_set_init(&js, &kp, 1);
	while (!asup__join_set_done(&js, 0) && asup__sched_now(k->sched) < until) {
		rc = asup__join_set_wait(k, &js, self, until, 1);
		if (rc < 0)
			break;
	}
	done = asup__join_set_done(&js, 0);
	asup__join_set_fini(k, &js);
	return rc < 0 ? rc : done;
}

ASUP_API int asup_hedge(asup_cx *cx, uint64_t delay, asup_task_fn primary, void *parg,
			asup_task_fn backup, void *barg, asup_outcome *out)
{
	asup__ktask *self = asup__cx_self(cx);
	asup__kernel *k;
	asup__ktask *kp;
	asup__reason *r;
	asup_task hp, hb;
	int rc;

	if (!self)
		return -ASUP_ENOTASK;
	if (!primary || !backup)
		return -EINVAL;
	k = cx->k;
	if (asup_spawn(cx, primary, parg, NULL, &hp) < 0) {
		r = asup__reason_make(k, ASUP_CANCEL_RESOURCE_UNAVAILABLE, cx->scope, self, NULL);
		outcome_cancelled(k, out, r);
		asup__reason_unref(&k->alloc, r);
		return 0;
	}
	kp = hp._rec;
	rc = wait_primary(k, self, kp, asup_time_add(asup__sched_now(k->sched), delay));
	if (rc < 0) {
		abort_lost(k, kp);
		asup__join_drain(k, self, kp);
		asup_task_release(&hp);
		return rc;
	}
	if (rc == 1)
		return asup_task_try_join(&hp, out);
	kp->defused = 1; /* the primary keeps running */
	if (asup_spawn(cx, backup, barg, NULL, &hb) < 0) {
		asup_outcome po;
		r = asup__reason_make(k, ASUP_CANCEL_RESOURCE_UNAVAILABLE, cx->scope, self, NULL);
		asup__task_abort(k, kp, r);
		if (asup_task_try_join(&hp, &po) == 0 &&
		    (po.kind == ASUP_OUTCOME_OK || po.kind == ASUP_OUTCOME_PANICKED)) {
			if (out)
				*out = po;
		} else {
			/* Left to its region, which waits for it. */
			asup_task_release(&hp);
			outcome_cancelled(k, out, r);
		}
		asup__reason_unref(&k->alloc, r);
		return 0;
	}
	return asup_race(cx, &hp, &hb, out);
}
