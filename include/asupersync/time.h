/*
 * asupersync/time.h - clocks, sleeping and deadlines.
 *
 * Time is read only through a cx so that the deterministic runtime can make
 * it virtual. Deadlines are absolute (asup_time); there are no per-call
 * timeout parameters: asup_timeout opens a deadline scope around a function,
 * and scopes nest as the minimum.
 */
#ifndef ASUPERSYNC_TIME_H
#define ASUPERSYNC_TIME_H

#include "core.h"
#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The runtime's clock; 0 for a bad cx or a task without ASUP_CAP_TIME.
 * Does not suspend. */
ASUP_API asup_time asup_now(asup_cx *cx);

/* Suspends until the clock reaches t. 0, or a checkpoint error, or -EPERM
 * (the caller lacks ASUP_CAP_TIME; after the checkpoint, without
 * suspending). A time in the past returns 0 after the checkpoint, without
 * suspending. -ASUP_ENOTASK for a bad cx. */
ASUP_API ASUP_NODISCARD int asup_sleep_until(asup_cx *cx, asup_time t);
/* asup_sleep_until(cx, now + ns). */
ASUP_API ASUP_NODISCARD int asup_sleep(asup_cx *cx, uint64_t ns);

/*
 * Runs fn(cx, arg) inside a deadline scope ending at now + ns (or at the
 * enclosing scope's deadline if that is earlier) and returns what fn returned.
 * Once the deadline has passed, every suspending call inside returns
 * -ETIMEDOUT (a suspended one is woken with it). A value fn returns wins even
 * if the deadline passed. -ASUP_ENOTASK for a bad cx, -EINVAL for NULL fn.
 */
ASUP_API ASUP_NODISCARD int64_t asup_timeout(asup_cx *cx, uint64_t ns, asup_task_fn fn, void *arg);
ASUP_API ASUP_NODISCARD int64_t asup_timeout_at(asup_cx *cx, asup_time deadline, asup_task_fn fn, void *arg);

/* The effective deadline of the running task (ASUP_TIME_MAX if none): the
 * minimum of its own budget's deadline, the open asup_timeout scopes and the
 * budget deadlines of the regions whose bodies it is running. Once a region
 * call returned, that region's deadline no longer counts. */
ASUP_API asup_time asup_cx_deadline(asup_cx *cx);

#ifdef __cplusplus
}
#endif
#endif
