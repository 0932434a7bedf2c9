/*
 * The cx: checkpoints, budgets, masks, capabilities, the cancel state a task
 * sees, randomness, panics, and the public yield entry point (spawning is in
 * task.c).
 *
 * The checkpoint rule, in order: count the checkpoint; charge one poll and
 * fold budget exhaustion (deadline, poll quota, cost quota) into the cancel
 * state; if a cancel is requested and not masked, acknowledge it (the record
 * moves to Cancelling and the cleanup budget replaces the task's budget) and
 * return -ECANCELED; if an asup_timeout deadline passed, -ETIMEDOUT.
 *
 * Inside a region body (which runs on the caller's own fiber) the checkpoint
 * also sees the body's cancel scope: once the deadline of a region whose body
 * runs passed, that region is cancelled with DEADLINE; while any region
 * between the current scope and the task's own region is cancelled, an
 * unmasked checkpoint returns -ECANCELED. That cancel belongs to the regions,
 * not to the task: it is not acknowledged, moves no protocol state, and ends
 * at the region's edge (scope.c).
 */
#include "kernel.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A park woken by the task's budget deadline (never returned to callers). */
#define WAKE_BUDGET_DEADLINE (-(ASUP_ERRBASE + 900))

static void fold_reason(asup_cx *cx, asup__ktask *kt, asup_cancel_kind kind, const char *msg)
{
	asup__reason *r = asup__reason_make(cx->k, kind, cx->scope, kt, msg);

	asup__cx_request_cancel(cx->k, kt, r);
	asup__reason_unref(&cx->k->alloc, r);
}

static void fold_exhaustion(asup_cx *cx, asup__ktask *kt, asup_cancel_kind kind)
{
	fold_reason(cx, kt, kind, NULL);
}

static void acknowledge(asup__ktask *kt)
{
	if (kt->pstate != ASUP__P_CANCEL_REQUESTED)
		return;
	kt->pstate = ASUP__P_CANCELLING;
	/* The cleanup budgets of the kinds are ordered by severity, so the
	 * meet of every requested one is the strongest reason's. */
	kt->budget = asup_cancel_kind_cleanup_budget(kt->rec_reason ? kt->rec_reason->kind
							 : ASUP_CANCEL_USER);
	kt->budget_limited = kt->budget.deadline != ASUP_TIME_MAX ||
			     kt->budget.poll_quota != ASUP_NO_POLL ||
			     kt->budget.cost_quota != ASUP_NO_COST;
}

static int checkpoint_rule(asup_cx *cx, asup__ktask *kt)
{
	asup_time now = 0;
	int need_now = (cx->deadline & cx->scope_deadline & kt->budget.deadline) != ASUP_TIME_MAX;

	if (need_now)
		now = asup__sched_now(cx->k->sched);
	kt->checkpoints++;
	kt->last_checkpoint = now;
	if (kt->traced && cx->k->hook_checkpoint) {
		/* The lab may inject a cancel here (systematic injection, chaos). */
		int kind = cx->k->hook_checkpoint(cx->k->hook_ctx, kt);
		if (kind > 0)
			fold_reason(cx, kt, (asup_cancel_kind)(kind - 1), "injected");
	}
	if (kt->budget_limited) {
		if (kt->budget.deadline != ASUP_TIME_MAX && kt->budget.deadline <= now)
			fold_exhaustion(cx, kt, ASUP_CANCEL_DEADLINE);
		if (asup_budget_consume_poll(&kt->budget) < 0)
			fold_exhaustion(cx, kt, ASUP_CANCEL_POLL_QUOTA);
		if (kt->budget.cost_quota == 0)
			fold_exhaustion(cx, kt, ASUP_CANCEL_COST_BUDGET);
	}
	if (cx->scope_deadline <= now)
		asup__scope_expire(cx, kt, now);
	if (kt->cancel_requested && !kt->t.masked) {
		acknowledge(kt);
		asup__k_event(cx->k, ASUP_EV_CANCEL_ACK, kt, NULL,
			      kt->cx_reason ? (uint64_t)kt->cx_reason->kind : ASUP_CANCEL_USER,
			      kt->t.masked);
		return -ECANCELED;
	}
	if (kt->scope_cancelled && !kt->t.masked)
		return -ECANCELED;
	if (cx->deadline != ASUP_TIME_MAX && now >= cx->deadline)
		return -ETIMEDOUT;
	return 0;
}

int asup__cx_checkpoint_slow(asup_cx *cx, asup__ktask *kt)
{
	int rc = checkpoint_rule(cx, kt);

	if (kt->traced)
		asup__k_event(cx->k, ASUP_EV_CHECKPOINT, kt, cx->scope, kt->checkpoints,
			      (uint64_t)(int64_t)rc);
	return rc;
}

/* Where a park must wake at the latest, and with which code. */
static asup_time park_deadline(asup_cx *cx, asup__ktask *kt, asup_time until, int *code)
{
	asup_time when = until;

	if (cx->deadline < when) {
		when = cx->deadline;
		*code = -ETIMEDOUT;
	}
	if (!kt->t.masked && !kt->cancel_requested && kt->budget.deadline < when) {
		when = kt->budget.deadline;
		*code = WAKE_BUDGET_DEADLINE;
	}
	/* A region body's deadline wakes it the same way; the checkpoint that
	 * follows cancels the region. */
	if (!kt->t.masked && !kt->scope_cancelled && cx->scope_deadline < when) {
		when = cx->scope_deadline;
		*code = WAKE_BUDGET_DEADLINE;
	}
	return when;
}

static int after_park(asup_cx *cx, asup__ktask *kt, int rc)
{
	if (rc == WAKE_BUDGET_DEADLINE || rc == -ECANCELED)
		return asup__cx_checkpoint_slow(cx, kt);
	return rc;
}

int asup__cx_park_as(asup_cx *cx, asup_time until, int until_code, uint8_t kind, uint64_t id)
{
	asup__ktask *kt = cx->kt;
	int code = until_code, rc;
	asup_time when = park_deadline(cx, kt, until, &code);

	kt->wait_kind = kind;
	kt->wait_id = id;
	rc = asup__sched_park(cx->k->sched, &kt->t, when, code);
	kt->wait_kind = ASUP__WAIT_NONE;
	return after_park(cx, kt, rc);
}

int asup__cx_park(asup_cx *cx, asup_time until, int until_code)
{
	return asup__cx_park_as(cx, until, until_code,
				until == ASUP_TIME_MAX ? ASUP__WAIT_PARK : ASUP__WAIT_TIMER, 0);
}

/* The waiter lives in this frame and is off the queue when the wait
 * returns; GCC cannot see that and warns about the queue keeping its
 * address. */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif
int asup__cx_waitq_wait_as(asup_cx *cx, asup__list *q, uint8_t kind, uint64_t id)
{
	asup__waiter w;

	asup__waiter_init(&w, &cx->kt->t);
	asup__list_push_back(q, &w.link);
	return asup__cx_wait_as(cx, &w, kind, id);
}
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic pop
#endif

int asup__cx_waitq_wait(asup_cx *cx, asup__list *q)
{
	return asup__cx_waitq_wait_as(cx, q, ASUP__WAIT_WAITQ, 0);
}

int asup__cx_wait_as(asup_cx *cx, asup__waiter *w, uint8_t kind, uint64_t id)
{
	asup__ktask *kt = cx->kt;
	int code = 0, rc;
	asup_time when = park_deadline(cx, kt, ASUP_TIME_MAX, &code);

	kt->wait_kind = kind;
	kt->wait_id = id;
	rc = asup__waiter_park(cx->k->sched, w, when, code);
	kt->wait_kind = ASUP__WAIT_NONE;
	return after_park(cx, kt, rc);
}

ASUP_API int asup_checkpoint(asup_cx *cx)
{
	return asup__cx_checkpoint(cx);
}

ASUP_API int asup_yield(asup_cx *cx)
{
	int rc = asup__cx_checkpoint(cx);

	if (rc < 0)
		return rc;
	cx->kt->t.wake_code = 0;
	asup__sched_yield(cx->k->sched, &cx->kt->t);
	if (cx->kt->t.wake_code == -ECANCELED)
		return asup__cx_checkpoint_slow(cx, cx->kt);
	return 0;
}

ASUP_API uint64_t asup_cx_task_id(asup_cx *cx)
{
	asup__ktask *kt = asup__cx_self(cx);
	return kt ? kt->id : 0;
}

ASUP_API const char *asup_cx_task_name(asup_cx *cx)
{
	asup__ktask *kt = asup__cx_self(cx);
	return kt ? kt->t.name : NULL;
}

/* ---- capabilities and handles ------------------------------------------ */

ASUP_API uint32_t asup_cx_caps(asup_cx *cx)
{
	asup__ktask *kt = asup__cx_self(cx);
	return kt ? kt->caps : 0;
}

ASUP_API int64_t asup_cx_restricted(asup_cx *cx, uint32_t caps, asup_task_fn fn, void *arg)
{
	asup__ktask *kt = asup__cx_self(cx);
	uint32_t saved;
	int64_t v;

	if (!kt)
		return -ASUP_ENOTASK;
	if (!fn)
		return -EINVAL;
	if (caps & ~kt->caps)
		return -EPERM;
	saved = kt->caps;
	kt->caps = caps;
	v = fn(cx, arg);
	kt->caps = saved;
	return v;
}

ASUP_API int asup_cx_handles_get(asup_cx *cx, asup_cx_handles *out)
{
	asup__ktask *kt = asup__cx_self(cx);

	if (!kt)
		return -ASUP_ENOTASK;
	if (!out)
		return -EINVAL;
	*out = cx->k->handles; /* one set of instances for the whole tree */
	return 0;
}

/* ---- budget and cancel state ------------------------------------------- */

asup_time asup__cx_effective_deadline(asup_cx *cx)
{
	asup_time d = cx->kt->budget.deadline;

	if (cx->deadline < d)
		d = cx->deadline;
	if (cx->scope_deadline < d)
		d = cx->scope_deadline;
	return d;
}

ASUP_API asup_budget asup_cx_budget(asup_cx *cx)
{
	asup__ktask *kt = asup__cx_self(cx);
	asup_budget b;

	if (!kt)
		return asup_budget_zero();
	b = kt->budget;
	b.deadline = asup__cx_effective_deadline(cx);
	return b;
}

ASUP_API int asup_cx_consume_cost(asup_cx *cx, uint64_t cost)
{
	asup__ktask *kt = asup__cx_self(cx);

	if (!kt)
		return -ASUP_ENOTASK;
	if (asup_budget_consume_cost(&kt->budget, cost) && kt->budget.cost_quota != 0)
		return 0;
	kt->budget.cost_quota = 0;
	kt->budget_limited = 1;
	fold_exhaustion(cx, kt, ASUP_CANCEL_COST_BUDGET);
	return -ECANCELED;
}

ASUP_API int asup_cx_is_cancel_requested(asup_cx *cx)
{
	asup__ktask *kt = asup__cx_self(cx);
	return kt ? (kt->cancel_requested | kt->scope_cancelled) : 0;
}

/* The reason a checkpoint of cx would report: the task's own, else that of
 * the innermost cancelled region whose body runs (a cancel reaches inner
 * regions as ParentCancelled, so the current scope carries it). */
static const asup__reason *cx_reason(asup_cx *cx, asup__ktask *kt)
{
	if (kt->cancel_requested)
		return kt->cx_reason;
	return kt->scope_cancelled ? cx->scope->reason : NULL;
}

ASUP_API int asup_cx_cancel_reason(asup_cx *cx, asup_cancel_reason *out)
{
	asup__ktask *kt = asup__cx_self(cx);

	if (!kt)
		return -ASUP_ENOTASK;
	if (!out)
		return -EINVAL;
	if (!cx_reason(cx, kt))
		return -EAGAIN;
	asup__reason_export(cx_reason(cx, kt), out);
	return 0;
}

ASUP_API int asup_cx_cancel_chain(asup_cx *cx, asup_cancel_reason *out, int n)
{
	asup__ktask *kt = asup__cx_self(cx);
	const asup__reason *r;
	int i = 0;

	if (!kt)
		return -ASUP_ENOTASK;
	if (!out || n < 0)
		return -EINVAL;
	for (r = cx_reason(cx, kt); r && i < n; r = r->cause)
		asup__reason_export(r, &out[i++]);
	return i;
}

ASUP_API int asup_cx_cancel_self(asup_cx *cx, asup_cancel_kind kind, const char *msg)
{
	asup__ktask *kt = asup__cx_self(cx);
	asup__reason *r;

	if (!kt)
		return -ASUP_ENOTASK;
	if (asup_cancel_kind_severity(kind) < 0)
		return -EINVAL;
	r = asup__reason_make(cx->k, kind, cx->scope, kt, msg);
	/* Overwrites the reason, unlike every other path. */
	asup__cx_cancel_overwrite(cx->k, kt, r);
	asup__reason_unref(&cx->k->alloc, r);
	return 0;
}

/* ---- masks ------------------------------------------------------------- */

ASUP_API int64_t asup_cx_masked(asup_cx *cx, asup_task_fn fn, void *arg)
{
	asup__ktask *kt = asup__cx_self(cx);
	int64_t v;

	if (!kt)
		return -ASUP_ENOTASK;
	if (!fn)
		return -EINVAL;
	if (kt->t.masked >= ASUP__MASK_MAX)
		return -ASUP_EMASK;
	kt->t.masked++;
	v = fn(cx, arg);
	kt->t.masked--;
	return v;
}

ASUP_API int asup_cx_mask_depth(asup_cx *cx)
{
	asup__ktask *kt = asup__cx_self(cx);
	return kt ? kt->t.masked : -ASUP_ENOTASK;
}

ASUP_API uint64_t asup_cx_checkpoints(asup_cx *cx)
{
	asup__ktask *kt = asup__cx_self(cx);
	return kt ? kt->checkpoints : 0;
}

/* ---- randomness -------------------------------------------------------- */

ASUP_API int asup_random_u64(asup_cx *cx, uint64_t *out)
{
	asup__ktask *kt = asup__cx_self(cx);

	if (!kt)
		return -ASUP_ENOTASK;
	if (!out)
		return -EINVAL;
	if (!(kt->caps & ASUP_CAP_RANDOM))
		return -EPERM;
	*out = asup__rng_next(&kt->entropy);
	asup__k_effect(cx->k, kt, ASUP_CAP_RANDOM);
	asup__k_event(cx->k, ASUP_EV_RANDOM, kt, NULL, *out, 0);
	return 0;
}

ASUP_API int asup_random_below(asup_cx *cx, uint64_t bound, uint64_t *out)
{
	asup__ktask *kt = asup__cx_self(cx);

	if (!kt)
		return -ASUP_ENOTASK;
	if (!out || bound == 0)
		return -EINVAL;
	if (!(kt->caps & ASUP_CAP_RANDOM))
		return -EPERM;
	*out = asup__rng_below(&kt->entropy, bound);
	asup__k_effect(cx->k, kt, ASUP_CAP_RANDOM);
	asup__k_event(cx->k, ASUP_EV_RANDOM, kt, NULL, *out, bound);
	return 0;
}

/* ---- panics ------------------------------------------------------------ */

ASUP_API void asup_panic(asup_cx *cx, const char *fmt, ...)
{
	asup__ktask *kt = asup__cx_self(cx);
	char msg[ASUP_PANIC_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt ? fmt : "(null)", ap);
	va_end(ap);
	if (!kt) {
		fprintf(stderr, "asupersync: asup_panic outside its task: %s\n", msg);
		abort();
	}
	if (!kt->panic_msg)
		kt->panic_msg = asup__alloc_mem(&cx->k->alloc, ASUP_PANIC_MSG_MAX);
	/* Without memory for the message the outcome is still Panicked. */
	if (kt->panic_msg)
		memcpy(kt->panic_msg, msg, sizeof msg);
	if (cx->frame)
		longjmp(cx->frame->jb, 1); /* a region body catches it */
	kt->value = 0;
	kt->kind = kt->rec_kind = ASUP_OUTCOME_PANICKED;
	asup__task_finish(cx->k, kt);
	asup__sched_exit(cx->k->sched, &kt->t);
}

ASUP_API int asup_cx_has_timer(asup_cx *cx)
{
	asup__ktask *kt = asup__cx_self(cx);
	return kt ? !!(kt->caps & ASUP_CAP_TIME) : 0;
}
