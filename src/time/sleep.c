/*
 * now, sleep, sleep_until and deadline scopes (asupersync/time.h).
 *
 * A deadline scope is a field of the cx saved and restored around the scoped
 * call on the task's own stack; the effective deadline is the minimum of the
 * open scopes. Every checkpoint compares it with the clock, and every park
 * arms the task's timer at it, so a suspended task is woken when it passes.
 */
#include "asupersync/time.h"
#include "../kernel/kernel.h"

ASUP_API asup_time asup_now(asup_cx *cx)
{
	asup__ktask *kt = asup__cx_self(cx);
	if (!kt || !(kt->caps & ASUP_CAP_TIME))
		return 0;
	asup__k_effect(cx->k, kt, ASUP_CAP_TIME);
	return asup__sched_now(cx->k->sched);
}

ASUP_API asup_time asup_cx_deadline(asup_cx *cx)
{
	return asup__cx_self(cx) ? asup__cx_effective_deadline(cx) : ASUP_TIME_MAX;
}

ASUP_API int asup_sleep_until(asup_cx *cx, asup_time t)
{
	asup__sched *s;
	int rc = asup__cx_checkpoint(cx);

	if (rc < 0)
		return rc;
	if (!(cx->kt->caps & ASUP_CAP_TIME))
		return -EPERM;
	asup__k_effect(cx->k, cx->kt, ASUP_CAP_TIME);
	s = cx->k->sched;
	while (asup__sched_now(s) < t) {
		rc = asup__cx_park(cx, t, 0);
		if (rc < 0)
			return rc;
	}
	return 0;
}

ASUP_API int asup_sleep(asup_cx *cx, uint64_t ns)
{
	if (!asup__cx_self(cx))
		return -ASUP_ENOTASK;
	return asup_sleep_until(cx, asup_time_add(asup__sched_now(cx->k->sched), ns));
}

ASUP_API int64_t asup_timeout_at(asup_cx *cx, asup_time deadline, asup_task_fn fn, void *arg)
{
	asup_time saved;
	int64_t v;

	if (!asup__cx_self(cx))
		return -ASUP_ENOTASK;
	if (!fn)
		return -EINVAL;
	saved = cx->deadline;
	if (deadline < saved)
		cx->deadline = deadline;
	v = fn(cx, arg);
	cx->deadline = saved;
	return v;
}

ASUP_API int64_t asup_timeout(asup_cx *cx, uint64_t ns, asup_task_fn fn, void *arg)
{
	if (!asup__cx_self(cx))
		return -ASUP_ENOTASK;
	return asup_timeout_at(cx, asup_time_add(asup__sched_now(cx->k->sched), ns), fn, arg);
}
