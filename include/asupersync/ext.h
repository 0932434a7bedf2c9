/*
 * asupersync/ext.h - the blocking layer, for people who write primitives.
 *
 * Every blocking primitive of the library (join, sleep, and the channels and
 * locks built later) is built on these three things, and so can yours:
 *
 *   park/unpark  a task suspends until something unparks it. An unpark that
 *                arrives while the task is running is remembered: its next
 *                park returns at once. Unparking a scheduled or finished task
 *                does nothing (wake de-duplication).
 *   wakers       a value naming a task, safe to keep after the task finished
 *                (unpark then does nothing).
 *   wait queues  FIFO queues of parked tasks. A task that asup_waitq_wait
 *                returned 0 to was dequeued by a wake: hand it whatever the
 *                wake stood for. A task that got an error was not, and is no
 *                longer queued: hand it nothing.
 *
 * All of these must be used on the thread that runs the runtime. Parks are
 * checkpoints: they return -ECANCELED / -ETIMEDOUT like any suspending call.
 * A park may return 0 without the event the caller waits for: re-check the
 * condition and park again.
 */
#ifndef ASUPERSYNC_EXT_H
#define ASUPERSYNC_EXT_H

#include "core.h"
#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct asup_waker {
	void *_task;
	uint32_t _gen;
} asup_waker;

/* A waker for the calling task; a zeroed waker for a bad cx. */
ASUP_API asup_waker asup_waker_current(asup_cx *cx);
/* Suspends the calling task until unparked (0) or a checkpoint error. */
ASUP_API ASUP_NODISCARD int asup_park(asup_cx *cx);
/* Like asup_park, but also returns 0 once the clock reaches t. */
ASUP_API ASUP_NODISCARD int asup_park_until(asup_cx *cx, asup_time t);
/* 1 if the task was parked and is now scheduled; 0 if it was running (the
 * wake is remembered), already scheduled, or finished; -EINVAL for a zeroed
 * waker. */
ASUP_API int asup_unpark(asup_waker w);

/* A FIFO wait queue in the caller's storage. Two pointers; no allocation. */
typedef struct asup_waitq {
	void *_p[2];
} asup_waitq;

ASUP_API void asup_waitq_init(asup_waitq *q);
/* Parks the caller at the tail of q. 0 when dequeued by a wake; otherwise a
 * checkpoint error, and the caller is no longer in q. */
ASUP_API ASUP_NODISCARD int asup_waitq_wait(asup_cx *cx, asup_waitq *q);
/* Wakes the head waiter; returns 1 if there was one, else 0. */
ASUP_API int asup_waitq_wake_one(asup_waitq *q);
/* Wakes every waiter; returns how many. */
ASUP_API int asup_waitq_wake_all(asup_waitq *q);
/* 1 if q is empty; a queue must be empty when its storage goes away. */
ASUP_API int asup_waitq_is_empty(const asup_waitq *q);

#ifdef __cplusplus
}
#endif
#endif
