/*
 * Which runtime a synchronization object belongs to.
 *
 * The objects live in the caller's storage and are initialized without a
 * runtime, so each one is bound to the runtime of the first task that waits
 * on it or takes it; from then on a task of another runtime, or a thread that
 * does not drive the bound runtime, gets -EXDEV and changes nothing. Calls
 * without a cx on an object not yet bound are accepted (nothing of any
 * runtime is touched by them).
 */
#ifndef ASUP_SYNC_BIND_H
#define ASUP_SYNC_BIND_H

#include "../kernel/kernel.h"

/* For a call with a cx whose task is the running one: binds *slot to cx's
 * runtime if it is unbound; 0, or -EXDEV for another runtime's object. */
static inline int asup__sync_bind(asup__kernel **slot, asup__kernel *k)
{
	if (!*slot)
		*slot = k;
	return *slot == k ? 0 : -EXDEV;
}

/* What a suspending call begins with once its arguments are checked: the
 * binding, then a checkpoint (its error means the call had no effect). */
static inline int asup__sync_enter(asup_cx *cx, asup__kernel **slot)
{
	int rc = asup__sync_bind(slot, cx->k);

	return rc < 0 ? rc : asup__cx_checkpoint(cx);
}

/* For a call without a cx: 0, or -EXDEV when the calling thread may not
 * touch the bound runtime (asup__k_here). */
static inline int asup__sync_here(asup__kernel *const *slot)
{
	return *slot ? asup__k_here(*slot) : 0;
}

#endif
