/*
 * The public blocking layer (asupersync/ext.h): park/unpark, wakers and wait
 * queues, as thin checked wrappers over the scheduler's. Every park is a
 * checkpoint and honours the task's deadline scope.
 */
#include "asupersync/ext.h"
#include "kernel.h"

_Static_assert(sizeof(asup_waitq) == sizeof(asup__list), "asup_waitq layout");
_Static_assert(_Alignof(asup_waitq) >= _Alignof(asup__list), "asup_waitq alignment");

ASUP_API asup_waker asup_waker_current(asup_cx *cx)
{
	asup__ktask *kt = asup__cx_self(cx);
	asup_waker w = {0, 0};

	if (kt) {
		w._task = &kt->t;
		w._gen = kt->t.gen;
	}
	return w;
}

ASUP_API int asup_park(asup_cx *cx)
{
	int rc = asup__cx_checkpoint(cx);
	return rc < 0 ? rc : asup__cx_park(cx, ASUP_TIME_MAX, 0);
}

ASUP_API int asup_park_until(asup_cx *cx, asup_time t)
{
	int rc = asup__cx_checkpoint(cx);
	return rc < 0 ? rc : asup__cx_park(cx, t, 0);
}

ASUP_API int asup_unpark(asup_waker w)
{
	asup__task *t = w._task;

	if (!t)
		return -EINVAL;
	if (t->gen != w._gen)
		return 0; /* the task finished and its record was reused */
	return asup__sched_unpark(t->sched, t);
}

ASUP_API void asup_waitq_init(asup_waitq *q)
{
	if (q)
		asup__list_init((asup__list *)(void *)q);
}

ASUP_API int asup_waitq_wait(asup_cx *cx, asup_waitq *q)
{
	return asup__waitq_wait_as(cx, q, ASUP__WAIT_WAITQ, 0);
}

int asup__waitq_wait_as(asup_cx *cx, asup_waitq *q, uint8_t kind, uint64_t id)
{
	int rc;

	if (!q)
		return -EINVAL;
	rc = asup__cx_checkpoint(cx);
	return rc < 0 ? rc : asup__cx_waitq_wait_as(cx, (asup__list *)(void *)q, kind, id);
}

ASUP_API int asup_wait_until(asup_cx *cx, asup_waitq *q, asup_wait_poll_fn *poll, void *obj,
			     void *arg)
{
	if (!q || !poll)
		return asup__cx_self(cx) ? -EINVAL : -ASUP_ENOTASK;
	return asup__wait_poll(cx, q, poll, obj, arg, NULL, ASUP__WAIT_WAITQ);
}

ASUP_API int asup_waitq_wake_one(asup_waitq *q)
{
	return q ? asup__waitq_wake_one((asup__list *)(void *)q) : -EINVAL;
}

ASUP_API int asup_waitq_wake_all(asup_waitq *q)
{
	return q ? asup__waitq_wake_all((asup__list *)(void *)q) : -EINVAL;
}

ASUP_API int asup_waitq_is_empty(const asup_waitq *q)
{
	return q ? asup__list_empty((const asup__list *)(const void *)q) : -EINVAL;
}

/* ---- waiters ----------------------------------------------------------- */

_Static_assert(sizeof(asup_waiter) == sizeof(asup__waiter), "asup_waiter layout");
_Static_assert(_Alignof(asup_waiter) >= _Alignof(asup__waiter), "asup_waiter alignment");
_Static_assert(ASUP_WAIT_PENDING == ASUP__WAIT_PENDING, "one pending value");

static asup__waiter *W(asup_waiter *w)
{
	return (asup__waiter *)(void *)w;
}

static asup__list *Q(asup_waitq *q)
{
	return (asup__list *)(void *)q;
}

ASUP_API int asup_waiter_init(asup_cx *cx, asup_waiter *w)
{
	asup__ktask *kt = asup__cx_self(cx);

	if (!w)
		return -EINVAL;
	asup__waiter_init(W(w), kt ? &kt->t : NULL);
	return kt ? 0 : -ASUP_ENOTASK;
}

ASUP_API int asup_waitq_push(asup_waitq *q, asup_waiter *w)
{
	if (!q || !w || !W(w)->task)
		return -EINVAL;
	if (asup__waiter_queued(W(w)) || W(w)->result != ASUP__WAIT_PENDING)
		return -EBUSY;
	asup__list_push_back(Q(q), &W(w)->link);
	return 0;
}

ASUP_API asup_waiter *asup_waitq_head(const asup_waitq *q)
{
	const asup__list *l = (const asup__list *)(const void *)q;

	if (!q || asup__list_empty(l))
		return NULL;
	return (asup_waiter *)(void *)asup__container_of(l->next, asup__waiter, link);
}

ASUP_API int asup_waiter_wake(asup_waiter *w, int result)
{
	if (!w || !W(w)->task || result == ASUP_WAIT_PENDING)
		return -EINVAL;
	return asup__waiter_wake(W(w), result);
}

ASUP_API int asup_waitq_wake_all_with(asup_waitq *q, int result)
{
	if (!q || result == ASUP_WAIT_PENDING)
		return -EINVAL;
	return asup__waitq_wake_all_with(Q(q), result);
}

ASUP_API int asup_waiter_result(const asup_waiter *w)
{
	return w ? ((const asup__waiter *)(const void *)w)->result : -EINVAL;
}

/* The wait of a queued, unwoken waiter of the calling task. */
static int wait_queued(asup_cx *cx, asup__waiter *w, uint8_t kind)
{
	int rc = asup__cx_checkpoint(cx);

	if (rc == 0)
		rc = asup__cx_wait_as(cx, w, kind, 0);
	if (w->result != ASUP__WAIT_PENDING)
		return w->result;
	if (asup__waiter_queued(w))
		asup__list_remove(&w->link); /* the checkpoint refused the wait */
	return rc;
}

ASUP_API int asup_waiter_wait(asup_cx *cx, asup_waiter *w)
{
	asup__ktask *kt = asup__cx_self(cx);

	if (!kt)
		return -ASUP_ENOTASK;
	if (!w)
		return -EINVAL;
	if (W(w)->task != &kt->t)
		return -EINVAL; /* another task's, or its init failed */
	if (W(w)->result != ASUP__WAIT_PENDING)
		return W(w)->result;
	if (!asup__waiter_queued(W(w)))
		return -EINVAL;
	return wait_queued(cx, W(w), ASUP__WAIT_WAITQ);
}

ASUP_API int asup_wait_grant(asup_cx *cx, asup_waitq *q, asup_waiter *w,
			     asup_wait_return_fn *back_fn, void *obj)
{
	asup__ktask *kt = asup__cx_self(cx);

	if (!kt)
		return -ASUP_ENOTASK;
	if (!q || !w || !back_fn || W(w)->task != &kt->t || asup__waiter_queued(W(w)) ||
	    W(w)->result != ASUP__WAIT_PENDING)
		return -EINVAL;
	return asup__wait_grant(cx, q, w, back_fn, obj, ASUP__WAIT_WAITQ);
}

int asup__wait_grant(asup_cx *cx, asup_waitq *q, asup_waiter *w, asup_wait_return_fn *back_fn,
		     void *obj, uint8_t kind)
{
	int rc;

	asup__list_push_back(Q(q), &W(w)->link);
	rc = wait_queued(cx, W(w), kind);
	if (W(w)->result == ASUP__WAIT_PENDING) {
		back_fn(obj, w); /* left unwoken: the head may have changed */
		return rc;
	}
	if (rc < 0)
		return rc; /* refused by the waker: nothing was handed */
	/* Granted before we ran; a cancel since then passes it on. */
	if (asup_cx_is_cancel_requested(cx) && asup_checkpoint(cx) < 0) {
		back_fn(obj, w);
		return -ECANCELED;
	}
	return rc;
}
