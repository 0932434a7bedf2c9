/*
 * Mutex and notify (asupersync/sync.h) on the wait queues of ext.h. The
 * semaphore, rwlock, barrier and once cell have their own files.
 *
 * Mutex states: free (owner NULL) -> held (owner set, the lock's exit hook
 * on the owner's `held` list) -> held by the head waiter, granted it before
 * it runs (asup_wait_grant: a grantee cancelled before it ran unlocks, which
 * grants the next one) ... A task that ends while holding it poisons it: its
 * exit hook runs on the runtime thread, clears the owner and wakes every
 * waiter with -ASUP_EPOISONED.
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

/* Grants the lock to the head waiter before it runs, or leaves it free. */
static void hand_on(struct mutex *x)
{
	asup_waiter *w = asup__waitq_head(&x->waiters);

	x->owner = NULL;
	if (w) {
		acquire(x, asup__waiter_ktask(w));
		asup__grant(w, 0);
	}
}

static void unlock(struct mutex *x)
{
	asup__task_unhold(&x->hook);
	hand_on(x);
}

/* asup_wait_grant's return: a grantee cancelled before it ran. */
static void lock_back(void *obj, asup_waiter *w)
{
	if (asup_waiter_result(w) >= 0)
		unlock(obj);
}

static void owner_ended(asup__exit_hook *h, int panicked)
{
	struct mutex *x = asup__container_of(h, struct mutex, hook);
	(void)panicked; /* ending while holding it is a bug either way */
	x->owner = NULL;
	x->poisoned = 1;
	asup_waitq_wake_all_with(&x->waiters, -ASUP_EPOISONED);
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
	asup_waiter w;
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
	if (!x->owner && asup_waitq_is_empty(&x->waiters)) {
		acquire(x, self);
		return 0;
	}
	asup__waiter_init_task(&w, cx->kt);
	rc = asup__wait_grant(cx, &x->waiters, &w, lock_back, x, ASUP__WAIT_MUTEX);
	return rc < 0 ? rc : 0; /* granted: acquired on our behalf */
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
	if (x->owner || !asup_waitq_is_empty(&x->waiters))
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
	unlock(x);
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
	return x->owner != NULL;
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
	rc = asup__sync_enter(cx, &N(n)->k);
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
