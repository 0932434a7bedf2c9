/*
 * asupersync/ext.h - the blocking layer, for people who write primitives.
 *
 * Every blocking primitive of the library (join, sleep, the channels and
 * locks) is built on these things, and so can yours:
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
 *   waiters      the one wait primitive (below): a waker sets the waiter's
 *                result, asup_wait_grant carries the cancel-safe hand-off
 *                every lock of the library uses, and asup_wait_until the
 *                checkpoint-poll-wait loop of every receive.
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

/*
 * The checkpoint-poll-wait loop of every receive: a checkpoint first (a
 * cancel wins over a ready result, which stays for the next caller), then
 * poll(obj, arg) until it returns anything but -EAGAIN, waiting on q between
 * polls. A wake of q means "poll again": it hands nothing over, so a
 * cancelled wait loses nothing. Returns what poll returned, or the wait's
 * checkpoint error; -EINVAL for a NULL q or poll. poll runs on the runtime
 * thread and must not suspend.
 */
typedef int asup_wait_poll_fn(void *obj, void *arg);
ASUP_API ASUP_NODISCARD int asup_wait_until(asup_cx *cx, asup_waitq *q, asup_wait_poll_fn *poll,
					    void *obj, void *arg);

/*
 * Waiters: the wait primitive every blocking call of the library is built
 * on. A waiter lives in the waiting task's frame; a waker sets its result
 * (the waker's word on why it woke: 0 or a positive grant, or a negative
 * code such as -EPIPE for a close) and dequeues it in the same step. The
 * waiter reads its result; nothing else says why it woke.
 *
 *   asup_waiter w;
 *   asup_waiter_init(cx, &w);                 (result ASUP_WAIT_PENDING)
 *   asup_waitq_push(&q, &w);                  (queued, FIFO)
 *   rc = asup_waiter_wait(cx, &w);            (the result, or -ECANCELED...)
 *
 * Cancel-safety contract. A wait that fails (-ECANCELED, -ETIMEDOUT) was
 * not woken: the waiter is off its queue and its result is still
 * ASUP_WAIT_PENDING, so the waker gave it nothing. A wait that returns a
 * result was woken, and a wake wins over a cancel that raced with it: what
 * the waker handed over is the caller's. A primitive that hands something
 * over (a lock, a permit, an item) must then either use it or pass it on;
 * asup_wait_grant does that in one call.
 *
 * All of these run on the runtime's thread; a waiter must be off every
 * queue before its storage goes away (every wait returns so).
 */

/* The result of a waiter nothing has woken yet; never a valid result. */
#define ASUP_WAIT_PENDING (-2147483647 - 1)

typedef struct asup_waiter {
	void *_link[2];
	void *_task;
	int _result;
} asup_waiter;

/* Makes w a waiter of the calling task, unqueued, result
 * ASUP_WAIT_PENDING. A primitive that needs more per waiter (how much it
 * asks for, where to put what it is handed) embeds the asup_waiter in its
 * own struct. 0; -EINVAL for a NULL w; -ASUP_ENOTASK outside a task (w is
 * then unusable: every call on it returns -EINVAL). Never suspends. */
ASUP_API int asup_waiter_init(asup_cx *cx, asup_waiter *w);
/* Queues w at the tail of q. 0; -EINVAL for NULL; -EBUSY if w is already
 * queued or woken (a waiter is queued once per wait). */
ASUP_API int asup_waitq_push(asup_waitq *q, asup_waiter *w);
/* The head waiter of q (the next a wake reaches), or NULL. */
ASUP_API asup_waiter *asup_waitq_head(const asup_waitq *q);
/* Sets w's result, dequeues w and wakes its task. 1 if it did; 0 if w was
 * woken already (its result stays); -EINVAL for NULL or a result of
 * ASUP_WAIT_PENDING. Never suspends. */
ASUP_API int asup_waiter_wake(asup_waiter *w, int result);
/* Wakes every waiter of q with `result`; returns how many, -EINVAL as
 * asup_waiter_wake. */
ASUP_API int asup_waitq_wake_all_with(asup_waitq *q, int result);
/* w's result: ASUP_WAIT_PENDING until woken; -EINVAL for NULL. */
ASUP_API int asup_waiter_result(const asup_waiter *w);
/*
 * Parks until w is woken and returns its result, or returns a checkpoint
 * error (-ECANCELED, -ETIMEDOUT, or asup_park's others) with w dequeued and
 * unwoken. A w already woken returns its result at once. -EINVAL for a NULL
 * w, one neither queued nor woken, or another task's; -ASUP_ENOTASK outside
 * a task.
 */
ASUP_API ASUP_NODISCARD int asup_waiter_wait(asup_cx *cx, asup_waiter *w);

/*
 * A primitive's way to take back what a waiter leaves unused, called by
 * asup_wait_grant on the runtime thread, never suspending:
 *   asup_waiter_result(w) >= 0   w was granted that, and cancelled before
 *                                it ran: give the grant to the next waiter
 *                                (or back to the object);
 *   ASUP_WAIT_PENDING            w left the queue unwoken: if the head
 *                                changed, the next waiter may be grantable.
 */
typedef void asup_wait_return_fn(void *obj, asup_waiter *w);
/*
 * The cancel-safe hand-off: queues w (initialized, unqueued) at the tail of
 * q and waits for a grant. Returns
 *   >= 0         the grant (the waker's result), now the caller's;
 *   < 0 result   the waker's refusal (a close, a poisoning): nothing held;
 *   -ECANCELED   cancelled before a wake (back_fn saw w leave), or granted
 *                and cancelled before it ran (back_fn got the grant):
 *                nothing held either way;
 *   -ETIMEDOUT   a deadline passed first (or another error of the wait,
 *                as asup_park's): back_fn saw w leave, nothing held;
 *   -EINVAL      NULL q, w or back_fn, w queued or woken already, or w
 *                another task's;
 *   -ASUP_ENOTASK  outside a task.
 * A cancelled grant request has no effect on anybody: the grant moves on.
 */
ASUP_API ASUP_NODISCARD int asup_wait_grant(asup_cx *cx, asup_waitq *q, asup_waiter *w,
					    asup_wait_return_fn *back_fn, void *obj);

#ifdef __cplusplus
}
#endif
#endif
