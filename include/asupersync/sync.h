/*
 * asupersync/sync.h - a mutex and a notification, for tasks.
 *
 * Both live in the caller's storage (fixed-size opaque structs), are built on
 * the wait queues of asupersync/ext.h, and must be used by tasks of one
 * runtime. Waiting is a checkpoint and is cancel-safe: a cancelled lock
 * acquires nothing and leaves the queue order of the others as it was.
 *
 * Mutex: FIFO. The lock is handed to the head waiter when it is released, so
 * nobody overtakes it; a waiter cancelled after being picked passes the lock
 * on. A task that ends while holding a lock (returning or panicking) poisons
 * it: every waiter and later lock gets -ASUP_EPOISONED until
 * asup_mutex_clear_poison.
 *
 * Notify: asup_notify_one wakes one waiter, or stores one permit that the
 * next asup_notify_wait takes at once; asup_notify_waiters wakes the tasks
 * waiting now and stores nothing.
 */
#ifndef ASUPERSYNC_SYNC_H
#define ASUPERSYNC_SYNC_H

#include "core.h"
#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct asup_mutex {
	void *_opaque[10];
} asup_mutex;

ASUP_API void asup_mutex_init(asup_mutex *m);
/* 0 (locked by the caller), -ECANCELED (nothing acquired), -ASUP_EPOISONED,
 * -EDEADLK (the caller holds it), -EINVAL. */
ASUP_API ASUP_NODISCARD int asup_mutex_lock(asup_cx *cx, asup_mutex *m);
/* Never suspends: 0, -EBUSY, -ASUP_EPOISONED. Takes cx to know the owner. */
ASUP_API int asup_mutex_try_lock(asup_cx *cx, asup_mutex *m);
/* -EPERM unless the caller holds it. Never suspends. */
ASUP_API int asup_mutex_unlock(asup_cx *cx, asup_mutex *m);
ASUP_API int asup_mutex_clear_poison(asup_mutex *m);
/* 1 if locked, 0 if not, < 0 for a bad mutex. */
ASUP_API int asup_mutex_is_locked(const asup_mutex *m);

/*
 * Semaphore: acquire(n) waits in strict FIFO order (only the head may take
 * permits, so a large request is never starved by small ones); permits are
 * granted to the head on release before it runs, and a waiter cancelled after
 * its grant gives them back to the next one. Callers release what they
 * acquired; the semaphore does not track holders.
 */
typedef struct asup_semaphore {
	void *_opaque[6];
} asup_semaphore;

ASUP_API void asup_semaphore_init(asup_semaphore *s, size_t permits);
/* 0 with n permits taken; -ECANCELED (nothing taken), -EPIPE once closed,
 * -EINVAL for n == 0 or n > the semaphore's total ever seen. */
ASUP_API ASUP_NODISCARD int asup_semaphore_acquire(asup_cx *cx, asup_semaphore *s, size_t n);
/* Never suspends: 0, -EAGAIN (not enough, or someone waits), -EPIPE. */
ASUP_API int asup_semaphore_try_acquire(asup_semaphore *s, size_t n);
/* Gives n permits back (granting waiters in order). */
ASUP_API int asup_semaphore_release(asup_semaphore *s, size_t n);
/* Wakes every waiter with -EPIPE; later acquires fail the same way. */
ASUP_API int asup_semaphore_close(asup_semaphore *s);
/* Permits available now. */
ASUP_API size_t asup_semaphore_available(const asup_semaphore *s);

typedef struct asup_notify {
	void *_opaque[4];
} asup_notify;

ASUP_API void asup_notify_init(asup_notify *n);
/* 0 when notified; -ECANCELED / -ETIMEDOUT as any checkpoint. */
ASUP_API int asup_notify_wait(asup_cx *cx, asup_notify *n);
/* Returns 1 if it woke a waiter, 0 if it stored the permit. */
ASUP_API int asup_notify_one(asup_notify *n);
/* Returns how many waiters it woke. */
ASUP_API int asup_notify_waiters(asup_notify *n);

#ifdef __cplusplus
}
#endif
#endif
