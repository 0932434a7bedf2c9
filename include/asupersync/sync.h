/*
 * asupersync/sync.h - synchronization primitives for tasks: mutex,
 * reader-writer lock, semaphore, notify, barrier and once cell.
 *
 * All live in the caller's storage (fixed-size opaque structs initialized
 * with their _init function; no destroy is needed), are built on the
 * park/unpark layer of asupersync/ext.h and on kernel obligations, and must
 * be used by tasks of one runtime, on its thread. Storage must outlive every
 * waiter, holder and permit.
 *
 * Runtimes: an object is bound to the runtime of the first task that locks,
 * acquires or waits on it (for the once cell: calls get_or_init). From then
 * on every call on it from a task of another runtime, or from a thread other
 * than the one driving that runtime, returns -EXDEV and changes nothing
 * (asup_semaphore_available and asup_semaphore_permit_count, which return a
 * count, return 0). _init unbinds it. Nothing here allocates except where a function
 * says -ENOMEM.
 *
 * Cancel-safety, everywhere: waiting is a checkpoint (a cancel requested
 * before the call wins over a free resource). A wait that fails (-ECANCELED,
 * -ETIMEDOUT) acquired nothing and left the order of the other waiters as it
 * was. Resources are handed to the woken head waiter before it runs, so
 * nobody overtakes it; a lock or permit handed to a waiter that was cancelled
 * in the meantime is passed on to the next one and the call fails with
 * -ECANCELED. The barrier and the once cell's readers are the exception, as
 * they say: there, the wake that dequeued you wins.
 *
 * Tasks that end holding something: the runtime gives it back. A mutex or a
 * write lock is then poisoned (the protected data may be half-updated); a
 * read lock is released without poisoning (a reader cannot have changed the
 * data); a semaphore permit is an obligation: aborted quietly if a cancel
 * had been requested of the task, otherwise leaked (the runtime's leak
 * response applies: by default one line on stderr; ASUP_LEAK_PANIC ends the
 * process), and its permits return either way; a once cell whose initializer
 * ended lets the next waiter retry.
 */
#ifndef ASUPERSYNC_SYNC_H
#define ASUPERSYNC_SYNC_H

#include "core.h"
#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- mutex ---------------------------------------------------------------
 * FIFO with hand-off. A task that ends while holding the lock (returning or
 * panicking) poisons it: every waiter and later lock gets -ASUP_EPOISONED
 * until asup_mutex_clear_poison. */
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

/* ---- reader-writer lock ----------------------------------------------------
 * Many readers or one writer. Writer preference: while a writer waits, new
 * readers queue behind it (so readers may wait as long as writers keep
 * coming). All waiters form one FIFO queue; a release hands the lock to its
 * head: one writer, or every reader at the head up to the first writer. A
 * task holds at most one read lock on a given rwlock (a second read, like a
 * read while writing or an upgrade, is -EDEADLK: with writer preference it
 * could never be granted).
 *
 * A task that ends holding the write lock poisons it (as the mutex); one that
 * ends holding a read lock releases it and poisons nothing (counted in
 * abandoned_reads). The first ASUP_RWLOCK_INLINE_READERS read holds use
 * storage inside the lock; more concurrent readers take a small allocation
 * each (-ENOMEM possible, with nothing acquired). */
#define ASUP_RWLOCK_INLINE_READERS 4

typedef struct asup_rwlock {
	void *_opaque[36];
} asup_rwlock;

ASUP_API void asup_rwlock_init(asup_rwlock *rw);
/* 0 (read-locked), -ECANCELED / -ETIMEDOUT (nothing acquired),
 * -ASUP_EPOISONED, -EDEADLK (the caller holds it in any mode), -ENOMEM,
 * -EINVAL (bad lock), -ASUP_ENOTASK, -EXDEV (lock used by another runtime). */
ASUP_API ASUP_NODISCARD int asup_rwlock_read(asup_cx *cx, asup_rwlock *rw);
/* 0 (write-locked); the errors as asup_rwlock_read. */
ASUP_API ASUP_NODISCARD int asup_rwlock_write(asup_cx *cx, asup_rwlock *rw);
/* Never suspend: 0, -EBUSY (held in a conflicting mode, or anyone waits),
 * -ASUP_EPOISONED, -EDEADLK, -ENOMEM, -EINVAL. */
ASUP_API ASUP_NODISCARD int asup_rwlock_try_read(asup_cx *cx, asup_rwlock *rw);
ASUP_API int asup_rwlock_try_write(asup_cx *cx, asup_rwlock *rw);
/* Never suspend. -EPERM unless the caller holds the lock in that mode. */
ASUP_API int asup_rwlock_read_unlock(asup_cx *cx, asup_rwlock *rw);
ASUP_API int asup_rwlock_write_unlock(asup_cx *cx, asup_rwlock *rw);
ASUP_API int asup_rwlock_clear_poison(asup_rwlock *rw);

typedef struct asup_rwlock_stats {
	uint32_t readers;         /* read holds, granted ones included */
	uint32_t writer;          /* 1 if write-held (or handed to a writer) */
	uint32_t waiting_readers, waiting_writers;
	uint32_t poisoned;
	uint64_t abandoned_reads; /* read holds released because a task ended */
} asup_rwlock_stats;

ASUP_API int asup_rwlock_stats_get(const asup_rwlock *rw, asup_rwlock_stats *out);

/* ---- semaphore -------------------------------------------------------------
 * acquire(n) waits in strict FIFO order (only the head may take permits, so a
 * large request is never starved by small ones); permits are granted to the
 * head before it runs, and a waiter cancelled after its grant gives them to
 * the next one.
 *
 * Permits are obligations: a successful acquire fills a permit object in the
 * caller's storage, which is a SEMAPHORE_PERMIT obligation of the acquiring
 * task in the task's region. asup_semaphore_permit_release commits it and
 * gives the permits back. While one is pending its region cannot close; a
 * task that ends without releasing it leaked it (the runtime's leak response
 * applies, unless the task was cancelled), and its permits come back either
 * way. Acquiring therefore needs a region that accepts work (-ASUP_ECLOSED
 * otherwise), and allocates a little (-ENOMEM). */
typedef struct asup_semaphore {
	void *_opaque[6];
} asup_semaphore;

typedef struct asup_semaphore_permit {
	void *_hold;
	void *_k;
	uint64_t _obligation;
	size_t _n;
	uint32_t _state;
} asup_semaphore_permit;

ASUP_API void asup_semaphore_init(asup_semaphore *s, size_t permits);
/* Waits for n permits and fills *p (caller storage; emptied on any error).
 * 0; -ECANCELED / -ETIMEDOUT (nothing taken), -EPIPE once closed, -EINVAL
 * (NULL, n == 0 or n > the permits in existence: the initial count plus
 * every add), -EXDEV, -ASUP_ECLOSED,
 * -ASUP_ECAPACITY, -ENOMEM (nothing taken). */
ASUP_API ASUP_NODISCARD int asup_semaphore_acquire(asup_cx *cx, asup_semaphore *s, size_t n,
						   asup_semaphore_permit *p);
/* Never suspends: 0, -EAGAIN (not enough, or someone waits), -EPIPE, and the
 * errors of acquire. Takes cx for the obligation's holder. */
ASUP_API ASUP_NODISCARD int asup_semaphore_try_acquire(asup_cx *cx, asup_semaphore *s, size_t n,
						       asup_semaphore_permit *p);
/* Commits the permit's obligation and gives its permits back (granting
 * waiters in order). Any task of the semaphore's runtime may release it.
 * Released once: -ASUP_EALREADY for a permit released already (through this
 * object or a copy of it: a copy is the same permit) or settled by the
 * runtime (its holder ended, or the region holding the obligation closed:
 * the permits came back then); -EINVAL for an empty permit; -EXDEV for
 * another runtime's. Nothing changes on an error. */
ASUP_API int asup_semaphore_permit_release(asup_semaphore_permit *p);
/* Permits the permit holds, or 0 for an empty or released one. */
ASUP_API size_t asup_semaphore_permit_count(const asup_semaphore_permit *p);
/* Adds n new permits (granting waiters in order). -EINVAL (nothing added)
 * when the permits in existence (available, granted and held) would pass
 * SIZE_MAX. */
ASUP_API int asup_semaphore_add_permits(asup_semaphore *s, size_t n);
/* Wakes every waiter with -EPIPE; later acquires fail the same way. Permits
 * held stay valid and can still be released. */
ASUP_API int asup_semaphore_close(asup_semaphore *s);
/* Permits available now. */
ASUP_API size_t asup_semaphore_available(const asup_semaphore *s);

/* ---- notify ----------------------------------------------------------------
 * asup_notify_one wakes one waiter, or stores one permit that the next
 * asup_notify_wait takes at once; asup_notify_waiters wakes the tasks
 * waiting now and stores nothing. */
typedef struct asup_notify {
	void *_opaque[4];
} asup_notify;

ASUP_API void asup_notify_init(asup_notify *n);
/* 0 when notified; -ECANCELED / -ETIMEDOUT as any checkpoint. */
ASUP_API ASUP_NODISCARD int asup_notify_wait(asup_cx *cx, asup_notify *n);
/* Returns 1 if it woke a waiter, 0 if it stored the permit. */
ASUP_API int asup_notify_one(asup_notify *n);
/* Returns how many waiters it woke. */
ASUP_API int asup_notify_waiters(asup_notify *n);

/* ---- barrier ---------------------------------------------------------------
 * Trips when `parties` tasks wait at once; the one whose arrival trips it is
 * the generation's leader (exactly one per generation). A waiter whose wait
 * fails (cancelled, deadline) is removed from the count, so the barrier then
 * waits for a replacement. Once the barrier tripped, every waiter of that
 * generation returns success, even one cancelled at the same time (the wake
 * that dequeued it wins; its cancel is seen at its next checkpoint). */
#define ASUP_BARRIER_LEADER 1

typedef struct asup_barrier {
	void *_opaque[6];
} asup_barrier;

/* -EINVAL for NULL or parties == 0 (the barrier is then unusable). */
ASUP_API int asup_barrier_init(asup_barrier *b, uint32_t parties);
/* ASUP_BARRIER_LEADER (1) for the leader, 0 for the others; -ECANCELED /
 * -ETIMEDOUT (not counted), -EINVAL, -ASUP_ENOTASK. */
ASUP_API ASUP_NODISCARD int asup_barrier_wait(asup_cx *cx, asup_barrier *b);

typedef struct asup_barrier_stats {
	uint32_t parties;
	uint32_t arrived;    /* waiting in the current generation */
	uint64_t generation; /* how many times it tripped */
} asup_barrier_stats;

ASUP_API int asup_barrier_stats_get(const asup_barrier *b, asup_barrier_stats *out);

/* ---- once cell -------------------------------------------------------------
 * Holds one value of a fixed size (at most ASUP_ONCE_MAX_SIZE bytes, copied
 * by value; store a pointer for more), set at most once. get_or_init runs one
 * initializer at a time; the other callers wait. If the initializer fails
 * (returns < 0, for example -ECANCELED because its task was cancelled) or
 * its task ends inside it (a panic), the cell stays empty and the next waiter
 * in line (or a later caller) runs its own initializer. A waiter cancelled
 * while it waits has no effect.
 *
 * A panic inside init that a region body of the same task catches leaves the
 * cell initializing until that task ends (as a mutex stays locked). */
#define ASUP_ONCE_MAX_SIZE 64

typedef struct asup_once {
	void *_opaque[17];
} asup_once;

/* Writes the value (size bytes) to *value; >= 0 success, < 0 failure. It runs
 * on the calling task and may suspend; arg is borrowed. */
typedef int (*asup_once_init_fn)(asup_cx *cx, void *arg, void *value);

/* -EINVAL for NULL, size 0 or size > ASUP_ONCE_MAX_SIZE. */
ASUP_API int asup_once_init(asup_once *c, size_t size);
/* Copies the value to *out (size bytes), initializing it first with
 * init(cx, arg, out) if empty. 1 if this call initialized it, 0 if it was
 * there (or another caller set it meanwhile); init's own error (the cell
 * stays empty); -ECANCELED / -ETIMEDOUT while waiting (no effect);
 * -EDEADLK when called from inside its own initializer; -EINVAL. */
ASUP_API ASUP_NODISCARD int asup_once_get_or_init(asup_cx *cx, asup_once *c,
						  asup_once_init_fn init, void *arg, void *out);
/* Never suspends: 0 (set to *value), -EALREADY (has a value), -EBUSY (an
 * initializer runs), -EINVAL. */
ASUP_API int asup_once_set(asup_once *c, const void *value);
/* Never suspends: 0 (copied), -EAGAIN (empty or initializing), -EINVAL. */
ASUP_API int asup_once_get(const asup_once *c, void *out);

#ifdef __cplusplus
}
#endif
#endif
