/*
 * Once cell (asupersync/sync.h) on one wait queue of ext.h and an exit hook.
 *
 * Owns: the value (inline, copied by value), the queue of callers waiting
 * for an initializer, and the exit hook the running initializer holds.
 *
 * States:
 *   EMPTY   --get_or_init--> RUNNING (initializer set, hook on its held list)
 *   EMPTY   --set-->         READY
 *   RUNNING --init ok-->     READY (every waiter woken; they copy the value)
 *   RUNNING --init fails, or its task ends inside it-->
 *           HANDED (the head waiter woken with result TURN: its turn to
 *           initialize), or EMPTY when nobody waits
 *   HANDED  --the woken waiter runs--> RUNNING (its own init), or, cancelled
 *           meanwhile, it hands on in turn (asup_wait_grant's return)
 * Waiters woken by a success have result 0: copy the value.
 * Handing the turn to one waiter (rather than waking all of them) keeps the
 * retries in arrival order and lets nobody overtake.
 *
 * Invariants: waiters only in RUNNING or HANDED; initializer set exactly in
 * RUNNING; READY is final.
 */
#include "asupersync/ext.h"
#include "asupersync/sync.h"
#include "../kernel/kernel.h"
#include "bind.h"

#include <string.h>

#define ONCE_MAGIC 0x6f6e6365u /* "once" */

enum { EMPTY = 0, RUNNING, HANDED, READY };

/* A waiter's result: the value is there, or its turn to initialize. */
#define WOKE_READY 0
#define WOKE_TURN 1

struct once {
	asup_waitq waiters;       /* callers waiting for the running initializer */
	asup__exit_hook hook;     /* on the initializer's held list while init runs */
	asup__ktask *initializer; /* set in RUNNING */
	asup__kernel *k;          /* bound at first get_or_init (bind.h) */
	uint32_t magic;
	uint32_t size;            /* value size, fixed at init */
	uint8_t state;
	unsigned char value[ASUP_ONCE_MAX_SIZE];
};

_Static_assert(sizeof(struct once) <= sizeof(asup_once), "asup_once is too small");

static struct once *O(asup_once *c)
{
	return (struct once *)(void *)c;
}

static int valid(const asup_once *c)
{
	return c && ((const struct once *)(const void *)c)->magic == ONCE_MAGIC;
}

/* The initializer gave up (failed, or ended): the next waiter gets the turn. */
static void hand_on(struct once *x)
{
	asup_waiter *w = asup__waitq_head(&x->waiters);

	x->initializer = NULL;
	x->state = w ? HANDED : EMPTY;
	if (w)
		asup__grant(w, WOKE_TURN);
}

/* asup_wait_grant's return: a waiter given the turn, cancelled before it
 * ran, passes the turn on. */
static void turn_back(void *obj, asup_waiter *w)
{
	if (asup_waiter_result(w) == WOKE_TURN)
		hand_on(obj);
}

static void initializer_ended(asup__exit_hook *h, int panicked)
{
	struct once *x = asup__container_of(h, struct once, hook);
	(void)panicked; /* a return cannot happen inside init: this is a panic */
	hand_on(x);
}

ASUP_API int asup_once_init(asup_once *c, size_t size)
{
	struct once *x;
	if (!c)
		return -EINVAL;
	memset(c, 0, sizeof(*c));
	if (size == 0 || size > ASUP_ONCE_MAX_SIZE)
		return -EINVAL; /* magic stays 0: the cell is unusable */
	x = O(c);
	asup_waitq_init(&x->waiters);
	asup__list_init(&x->hook.link);
	x->hook.on_exit = initializer_ended;
	x->size = (uint32_t)size;
	x->magic = ONCE_MAGIC;
	return 0;
}

/* Runs the caller's initializer; the caller was given the turn. */
static int run_init(asup_cx *cx, struct once *x, asup__ktask *self, asup_once_init_fn init,
		    void *arg, void *out)
{
	int rc;

	x->state = RUNNING;
	x->initializer = self;
	asup__task_hold(self, &x->hook);
	rc = init(cx, arg, out);
	asup__task_unhold(&x->hook);
	if (rc < 0) {
		hand_on(x);
		return rc;
	}
	/* A value init returned wins even if a cancel arrived meanwhile. */
	memcpy(x->value, out, x->size);
	x->initializer = NULL;
	x->state = READY;
	asup_waitq_wake_all_with(&x->waiters, WOKE_READY);
	return 1;
}

ASUP_API int asup_once_get_or_init(asup_cx *cx, asup_once *c, asup_once_init_fn init, void *arg,
				   void *out)
{
	asup__ktask *self = asup__cx_self(cx);
	asup_waiter w;
	struct once *x;
	int rc;

	if (!self)
		return -ASUP_ENOTASK;
	if (!valid(c) || !init || !out)
		return -EINVAL;
	x = O(c);
	rc = asup__sync_bind(&x->k, cx->k);
	if (rc < 0)
		return rc;
	if (x->initializer == self)
		return -EDEADLK; /* from inside its own init */
	rc = asup_checkpoint(cx);
	if (rc < 0)
		return rc;
	for (;;) {
		if (x->state == READY) {
			memcpy(out, x->value, x->size);
			return 0;
		}
		if (x->state == EMPTY)
			return run_init(cx, x, self, init, arg, out);
		asup__waiter_init_task(&w, cx->kt);
		rc = asup__wait_grant(cx, &x->waiters, &w, turn_back, x, ASUP__WAIT_WAITQ);
		if (rc < 0)
			return rc; /* no effect on anybody: a turn was passed on */
		if (rc == WOKE_TURN)
			return run_init(cx, x, self, init, arg, out);
		/* WOKE_READY: loop to copy the value. */
	}
}

ASUP_API int asup_once_set(asup_once *c, const void *value)
{
	struct once *x;

	if (!valid(c) || !value)
		return -EINVAL;
	x = O(c);
	if (asup__sync_here(&x->k) < 0)
		return -EXDEV;
	if (x->state == READY)
		return -EALREADY;
	if (x->state != EMPTY)
		return -EBUSY;
	memcpy(x->value, value, x->size);
	x->state = READY;
	return 0;
}

ASUP_API int asup_once_get(const asup_once *c, void *out)
{
	const struct once *x = (const struct once *)(const void *)c;

	if (!valid(c) || !out)
		return -EINVAL;
	if (asup__sync_here(&x->k) < 0)
		return -EXDEV;
	if (x->state != READY)
		return -EAGAIN;
	memcpy(out, x->value, x->size);
	return 0;
}
