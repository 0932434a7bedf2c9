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
