/*
 * Mutex and notify (asupersync/sync.h) on the wait queues of ext.h. The
 * semaphore, rwlock, barrier and once cell have their own files.
 *
 * Mutex states: free (owner NULL, handed 0) -> held (owner set, the lock's
 * exit hook on the owner's `held` list) -> handed (owner NULL, handed 1, the
 * head waiter woken) -> held by it ... A task that ends while holding it
 * poisons it: its exit hook runs on the runtime thread, clears the owner and
 * wakes every waiter (they see no hand-off and report the poison).
 */
#include "asupersync/ext.h"
#include "asupersync/sync.h"
#include "../kernel/kernel.h"
#include "bind.h"

#include <string.h>

#define MUTEX_MAGIC 0x6d757478u /* "mutx" */

struct mutex {
	asup_waitq waiters;
	asup__exit_hook hook;   /* on the owner's held list while held */
	asup__ktask *owner;
	asup__kernel *k;        /* bound at first use (bind.h) */
	uint32_t magic;
	uint8_t handed;         /* released to the woken head waiter */
	uint8_t poisoned;
};

_Static_assert(sizeof(struct mutex) <= sizeof(asup_mutex), "asup_mutex is too small");

struct notify {
	asup_waitq waiters;
	asup__kernel *k;        /* bound at first wait (bind.h) */
	int permit;
};

_Static_assert(sizeof(struct notify) <= sizeof(asup_notify), "asup_notify is too small");

static struct mutex *M(asup_mutex *m)
{
	return (struct mutex *)(void *)m;
}

static void acquire(struct mutex *x, asup__ktask *self)
{
	x->owner = self;
	asup__task_hold(self, &x->hook);
}

/* Hands the lock to the head waiter, or leaves it free. */
static void hand_on(struct mutex *x)
{
	x->owner = NULL;
	if (!asup_waitq_is_empty(&x->waiters)) {
		x->handed = 1;
		asup_waitq_wake_one(&x->waiters);
	}
}

static void owner_ended(asup__exit_hook *h, int panicked)
{
	struct mutex *x = asup__container_of(h, struct mutex, hook);
	(void)panicked; /* ending while holding it is a bug either way */
	x->owner = NULL;
	x->handed = 0;
	x->poisoned = 1;
	asup_waitq_wake_all(&x->waiters);
}

ASUP_API void asup_mutex_init(asup_mutex *m)
{
	struct mutex *x;
	if (!m)
		return;
	x = M(m);
	memset(m, 0, sizeof(*m));
	asup_waitq_init(&x->waiters);
	asup__list_init(&x->hook.link);
	x->hook.on_exit = owner_ended;
	x->magic = MUTEX_MAGIC;
}

static int check(asup_cx *cx, asup_mutex *m, asup__ktask **self)
{
	*self = asup__cx_self(cx);
	if (!*self)
		return -ASUP_ENOTASK;
	if (!m || M(m)->magic != MUTEX_MAGIC)
		return -EINVAL;
	return asup__sync_bind(&M(m)->k, cx->k);
}

ASUP_API int asup_mutex_lock(asup_cx *cx, asup_mutex *m)
{
	asup__ktask *self;
	struct mutex *x;
	int rc = check(cx, m, &self);

	if (rc < 0)
		return rc;
	x = M(m);
	if (x->owner == self)
		return -EDEADLK;
	rc = asup_checkpoint(cx);
	if (rc < 0)
		return rc;
	if (x->poisoned)
		return -ASUP_EPOISONED;
	if (!x->owner && !x->handed && asup_waitq_is_empty(&x->waiters)) {
		acquire(x, self);
		return 0;
	}
	rc = asup__waitq_wait_as(cx, &x->waiters, ASUP__WAIT_MUTEX, 0);
	if (rc < 0)
		return rc; /* not dequeued: nothing acquired, order of the rest kept */
	if (!x->handed)
		return -ASUP_EPOISONED; /* woken by the poisoning */
	x->handed = 0;
	if (asup_cx_is_cancel_requested(cx) && asup_checkpoint(cx) < 0) {
		hand_on(x); /* picked, but cancelled meanwhile: pass it on */
		return -ECANCELED;
	}
	acquire(x, self);
	return 0;
}

ASUP_API int asup_mutex_try_lock(asup_cx *cx, asup_mutex *m)
{
	asup__ktask *self;
	struct mutex *x;
	int rc = check(cx, m, &self);

	if (rc < 0)
		return rc;
	x = M(m);
	if (x->poisoned)
		return -ASUP_EPOISONED;
	if (x->owner || x->handed || !asup_waitq_is_empty(&x->waiters))
		return -EBUSY;
	acquire(x, self);
	return 0;
}

ASUP_API int asup_mutex_unlock(asup_cx *cx, asup_mutex *m)
{
	asup__ktask *self;
	struct mutex *x;
	int rc = check(cx, m, &self);

	if (rc < 0)
		return rc;
	x = M(m);
	if (x->owner != self)
		return -EPERM;
	asup__task_unhold(&x->hook);
	hand_on(x);
	return 0;
}

ASUP_API int asup_mutex_clear_poison(asup_mutex *m)
{
	if (!m || M(m)->magic != MUTEX_MAGIC)
		return -EINVAL;
	if (asup__sync_here(&M(m)->k) < 0)
		return -EXDEV;
	M(m)->poisoned = 0;
	return 0;
}

ASUP_API int asup_mutex_is_locked(const asup_mutex *m)
{
	const struct mutex *x = (const struct mutex *)(const void *)m;
	if (!m || x->magic != MUTEX_MAGIC)
		return -EINVAL;
	if (asup__sync_here(&x->k) < 0)
		return -EXDEV;
	return x->owner != NULL || x->handed;
}

/* ---- notify ------------------------------------------------------------ */

static struct notify *N(asup_notify *n)
{
	return (struct notify *)(void *)n;
}

ASUP_API void asup_notify_init(asup_notify *n)
{
	if (!n)
		return;
	memset(n, 0, sizeof(*n));
	asup_waitq_init(&N(n)->waiters);
}

ASUP_API int asup_notify_wait(asup_cx *cx, asup_notify *n)
{
	int rc;

	if (!asup__cx_self(cx))
		return -ASUP_ENOTASK;
	if (!n)
		return -EINVAL;
	rc = asup__sync_bind(&N(n)->k, cx->k);
	if (rc < 0)
		return rc;
	rc = asup_checkpoint(cx);
	if (rc < 0)
		return rc;
	if (N(n)->permit) {
		N(n)->permit = 0;
		return 0;
	}
	return asup_waitq_wait(cx, &N(n)->waiters);
}

ASUP_API int asup_notify_one(asup_notify *n)
{
	if (!n)
		return -EINVAL;
	if (asup__sync_here(&N(n)->k) < 0)
		return -EXDEV;
	if (asup_waitq_wake_one(&N(n)->waiters))
		return 1;
	N(n)->permit = 1;
	return 0;
}

ASUP_API int asup_notify_waiters(asup_notify *n)
{
	if (!n)
		return -EINVAL;
	if (asup__sync_here(&N(n)->k) < 0)
		return -EXDEV;
	return asup_waitq_wake_all(&N(n)->waiters);
}
