/*
 * Reader-writer lock (asupersync/sync.h) on park/unpark and exit hooks.
 *
 * Owns: one FIFO queue of waiters (readers and writers; nodes on the waiting
 * tasks' stacks), the read-hold records (ASUP_RWLOCK_INLINE_READERS inside
 * the lock, more from the runtime allocator), and the writer's exit hook.
 * Each holder has its record's hook on its kernel `held` list, so a task that
 * ends holding the lock gives it back: a writer poisons it, a reader does not.
 * Records never live on a task stack: exit hooks run after the stack is gone.
 *
 * States:
 *   free        --read-->  read-held (nreaders > 0)  --last read unlock--> free
 *   free        --write--> write-held (writer set)   --write unlock-->     free
 *   write-held  --the writer ends-->                 poisoned (queue emptied)
 * Hand-off (grant): ownership is given to the queue's head before it runs
 * (its waiter's result 0): one writer when nothing is held, or, while no
 * writer holds, every reader at the head up to the first writer. A granted
 * waiter that was cancelled before it ran releases what it was given, which
 * re-runs grant (asup_wait_grant's return); a poisoning wakes every waiter
 * with -ASUP_EPOISONED.
 *
 * Invariants (asup__rwlock_check): writer => nreaders == 0; the queue holds
 * nwait_r readers and nwait_w writers; a reader at the head => a writer
 * holds; a writer at the head => the lock is held; poisoned => the queue is
 * empty; nreaders counts the records in use by a holder.
 */
#include "asupersync/ext.h"
#include "asupersync/sync.h"
#include "../kernel/kernel.h"
#include "bind.h"

#include <string.h>

#define RW_MAGIC 0x72776c6bu /* "rwlk" */

/* One read hold. Free inline slot: rw == NULL. Reserved by a queued reader:
 * rw set, owner NULL. Held: owner set, hook on the owner's held list. */
struct rd_hold {
	asup__exit_hook hook;
	struct rwlock *rw;
	asup__ktask *owner;
	uint8_t heap;           /* from the runtime allocator; freed on release */
};

struct rwlock {
	asup_waitq waiters;     /* FIFO of struct rw_waiter */
	asup__exit_hook whook;  /* on the writer's held list while it holds */
	asup__ktask *writer;    /* the holder, or the writer it was handed to */
	asup__kernel *k;        /* set at first use: the runtime it belongs to */
	uint32_t nreaders;      /* read holds (granted ones included) */
	uint32_t nwait_r, nwait_w;
	uint32_t magic;
	uint64_t abandoned;     /* read holds released by a task's end */
	uint8_t poisoned;
	struct rd_hold slot[ASUP_RWLOCK_INLINE_READERS];
};

_Static_assert(sizeof(struct rwlock) <= sizeof(asup_rwlock), "asup_rwlock is too small");

/* A waiter lives on the waiting task's stack while it is queued. */
struct rw_waiter {
	asup_waiter w;          /* result 0 once granted, or the poisoning */
	asup__ktask *task;
	struct rd_hold *rec;    /* a reader's reserved record; NULL for a writer */
};

static struct rw_waiter *RWW(asup_waiter *w)
{
	return asup__container_of(w, struct rw_waiter, w);
}

int asup__rwlock_check(const asup_rwlock *rw);

static struct rwlock *RW(asup_rwlock *rw)
{
	return (struct rwlock *)(void *)rw;
}

static void reader_ended(asup__exit_hook *h, int panicked);

/* ---- read-hold records ---- */

static struct rd_hold *rec_get(struct rwlock *x)
{
	struct rd_hold *r = NULL;

	for (int i = 0; i < ASUP_RWLOCK_INLINE_READERS; i++) {
		if (!x->slot[i].rw) {
			r = &x->slot[i];
			r->heap = 0;
			break;
		}
	}
	if (!r) {
		r = asup__alloc_mem(&x->k->alloc, sizeof(*r));
		if (!r)
			return NULL;
		r->heap = 1;
	}
	asup__list_init(&r->hook.link);
	r->hook.on_exit = reader_ended;
	r->rw = x;
	r->owner = NULL;
	return r;
}

static void rec_put(struct rwlock *x, struct rd_hold *r)
{
	if (r->heap) {
		asup__free_mem(&x->k->alloc, r, sizeof(*r));
		return;
	}
	r->rw = NULL;
	r->owner = NULL;
}

/* The caller's read hold on x, found on its own held list (short: the
 * locks this one task holds). */
static struct rd_hold *find_read(struct rwlock *x, asup__ktask *self)
{
	for (asup__list *n = self->held.next; n != &self->held; n = n->next) {
		asup__exit_hook *h = asup__container_of(n, asup__exit_hook, link);
		if (h->on_exit == reader_ended) {
			struct rd_hold *r = asup__container_of(h, struct rd_hold, hook);
			if (r->rw == x)
				return r;
		}
	}
	return NULL;
}

/* ---- ownership and hand-off ---- */

static void take_read(struct rwlock *x, asup__ktask *t, struct rd_hold *r)
{
	r->owner = t;
	asup__task_hold(t, &r->hook);
	x->nreaders++;
}

static void take_write(struct rwlock *x, asup__ktask *t)
{
	x->writer = t;
	asup__task_hold(t, &x->whook);
}

/* A waiter leaves the queue (a wake dequeues it, or its wait failed). */
static void uncount(struct rwlock *x, struct rw_waiter *w)
{
	if (w->rec)
		x->nwait_r--;
	else
		x->nwait_w--;
}

/* Gives the lock to the head of the queue while it can have it. */
static void grant(struct rwlock *x)
{
	asup_waiter *h;

	while ((h = asup__waitq_head(&x->waiters)) && !x->writer) {
		struct rw_waiter *w = RWW(h);
		if (!w->rec && x->nreaders)
			break; /* a writer waits for the readers: new readers queue */
		uncount(x, w);
		if (w->rec)
			take_read(x, w->task, w->rec);
		else
			take_write(x, w->task);
		asup__grant(h, 0);
	}
}

static void release_read(struct rwlock *x, struct rd_hold *r)
{
	asup__task_unhold(&r->hook);
	rec_put(x, r);
	if (--x->nreaders == 0)
		grant(x);
}

static void release_write(struct rwlock *x)
{
	asup__task_unhold(&x->whook);
	x->writer = NULL;
	grant(x);
}

/* A reader ended holding its read lock: it cannot have left the data half
 * updated, so the hold is simply released. */
static void reader_ended(asup__exit_hook *h, int panicked)
{
	struct rd_hold *r = asup__container_of(h, struct rd_hold, hook);
	struct rwlock *x = r->rw;
	(void)panicked;
	x->abandoned++;
	release_read(x, r);
}

/* The writer ended holding the lock: the data may be half updated. Poison
 * the lock and turn every waiter away. */
static void writer_ended(asup__exit_hook *h, int panicked)
{
	struct rwlock *x = asup__container_of(h, struct rwlock, whook);
	(void)panicked; /* returning while holding it is a bug as well */
	x->writer = NULL;
	x->poisoned = 1;
	x->nwait_r = x->nwait_w = 0;
	asup_waitq_wake_all_with(&x->waiters, -ASUP_EPOISONED);
}

/* ---- entry points ---- */

ASUP_API void asup_rwlock_init(asup_rwlock *rw)
{
	struct rwlock *x;
	if (!rw)
		return;
	x = RW(rw);
	memset(rw, 0, sizeof(*rw));
	asup_waitq_init(&x->waiters);
	asup__list_init(&x->whook.link);
	x->whook.on_exit = writer_ended;
	x->magic = RW_MAGIC;
}

/* Validates and, for a lock the caller may take, refuses re-entry. */
static int enter(asup_cx *cx, asup_rwlock *rw, asup__ktask **self, int taking)
{
	struct rwlock *x;

	*self = asup__cx_self(cx);
	if (!*self)
		return -ASUP_ENOTASK;
	if (!rw || RW(rw)->magic != RW_MAGIC)
		return -EINVAL;
	x = RW(rw);
	if (!x->k)
		x->k = cx->k;
	if (x->k != cx->k)
		return -EXDEV;
	if (taking && (x->writer == *self || find_read(x, *self)))
		return -EDEADLK;
	return 0;
}

/* asup_wait_grant's return: what was granted to a waiter cancelled before
 * it ran goes back (and on); a waiter that left unwoken may have been a
 * writer at the head holding the readers behind it. */
static void turn_back(void *obj, asup_waiter *h)
{
	struct rw_waiter *w = RWW(h);
	struct rwlock *x = obj;

	if (asup_waiter_result(h) >= 0) {
		if (w->rec)
			release_read(x, w->rec);
		else
			release_write(x);
		return;
	}
	uncount(x, w);
	grant(x);
}

/* Queues w at the tail and waits for a grant; on error nothing is held and
 * a reader's reserved record is returned. */
static int wait_turn(asup_cx *cx, struct rwlock *x, struct rw_waiter *w)
{
	int rc;

	asup__waiter_init_task(&w->w, cx->kt);
	w->task = cx->kt;
	if (w->rec)
		x->nwait_r++;
	else
		x->nwait_w++;
	rc = asup__wait_grant(cx, &x->waiters, &w->w, turn_back, x, ASUP__WAIT_PARK);
	if (rc >= 0)
		return 0;
	/* Not granted (a grant cancelled since was released with its record). */
	if (w->rec && asup_waiter_result(&w->w) < 0)
		rec_put(x, w->rec);
	return rc;
}

static int lock(asup_cx *cx, asup_rwlock *rw, int write, int wait)
{
	struct rw_waiter w;
	asup__ktask *self;
	struct rwlock *x;
	int rc = enter(cx, rw, &self, 1);

	if (rc < 0)
		return rc;
	x = RW(rw);
	if (wait && (rc = asup_checkpoint(cx)) < 0)
		return rc;
	if (x->poisoned)
		return -ASUP_EPOISONED;
	w.rec = NULL;
	if (write && !x->writer && !x->nreaders && asup_waitq_is_empty(&x->waiters)) {
		take_write(x, self);
		return 0;
	}
	if (!write && !x->writer && asup_waitq_is_empty(&x->waiters)) {
		/* Free or read-held with nobody waiting: no writer to prefer. */
		if (!(w.rec = rec_get(x)))
			return -ENOMEM;
		take_read(x, self, w.rec);
		return 0;
	}
	if (!wait)
		return -EBUSY;
	if (!write && !(w.rec = rec_get(x)))
		return -ENOMEM;
	return wait_turn(cx, x, &w);
}

ASUP_API int asup_rwlock_read(asup_cx *cx, asup_rwlock *rw)
{
	return lock(cx, rw, 0, 1);
}

ASUP_API int asup_rwlock_write(asup_cx *cx, asup_rwlock *rw)
{
	return lock(cx, rw, 1, 1);
}

ASUP_API int asup_rwlock_try_read(asup_cx *cx, asup_rwlock *rw)
{
	return lock(cx, rw, 0, 0);
}

ASUP_API int asup_rwlock_try_write(asup_cx *cx, asup_rwlock *rw)
{
	return lock(cx, rw, 1, 0);
}

ASUP_API int asup_rwlock_read_unlock(asup_cx *cx, asup_rwlock *rw)
{
	asup__ktask *self;
	struct rd_hold *r;
	int rc = enter(cx, rw, &self, 0);

	if (rc < 0)
		return rc;
	r = find_read(RW(rw), self);
	if (!r)
		return -EPERM;
	release_read(RW(rw), r);
	return 0;
}

ASUP_API int asup_rwlock_write_unlock(asup_cx *cx, asup_rwlock *rw)
{
	asup__ktask *self;
	int rc = enter(cx, rw, &self, 0);

	if (rc < 0)
		return rc;
	if (RW(rw)->writer != self)
		return -EPERM;
	release_write(RW(rw));
	return 0;
}

ASUP_API int asup_rwlock_clear_poison(asup_rwlock *rw)
{
	if (!rw || RW(rw)->magic != RW_MAGIC)
		return -EINVAL;
	if (asup__sync_here(&RW(rw)->k) < 0)
		return -EXDEV;
	RW(rw)->poisoned = 0;
	return 0;
}

ASUP_API int asup_rwlock_stats_get(const asup_rwlock *rw, asup_rwlock_stats *out)
{
	const struct rwlock *x = (const struct rwlock *)(const void *)rw;

	if (!rw || x->magic != RW_MAGIC || !out)
		return -EINVAL;
	if (asup__sync_here(&x->k) < 0)
		return -EXDEV;
	out->readers = x->nreaders;
	out->writer = x->writer != NULL;
	out->waiting_readers = x->nwait_r;
	out->waiting_writers = x->nwait_w;
	out->poisoned = x->poisoned;
	out->abandoned_reads = x->abandoned;
	return 0;
}

/* The invariants of the preamble; 0 or -EINVAL. Records from the heap
 * cannot be enumerated, so the inline ones bound the counts from below. */
int asup__rwlock_check(const asup_rwlock *rw)
{
	const struct rwlock *x = (const struct rwlock *)(const void *)rw;
	uint32_t nr = 0, nw = 0, held = 0, reserved = 0;
	const asup__list *q = (const asup__list *)(const void *)&x->waiters;
	const asup__list *n;

	if (!rw || x->magic != RW_MAGIC)
		return -EINVAL;

	for (n = q->next; n != q; n = n->next) {
		if (((const struct rw_waiter *)(const void *)n)->rec)
			nr++;
		else
			nw++;
	}
	for (int i = 0; i < ASUP_RWLOCK_INLINE_READERS; i++) {
		held += x->slot[i].rw && x->slot[i].owner;
		reserved += x->slot[i].rw && !x->slot[i].owner;
	}
	if ((x->writer && x->nreaders) || nr != x->nwait_r || nw != x->nwait_w)
		return -EINVAL;
	if (held > x->nreaders || reserved > x->nwait_r)
		return -EINVAL;
	if (x->poisoned && !asup_waitq_is_empty(&x->waiters))
		return -EINVAL;
	if (!asup_waitq_is_empty(&x->waiters)) {
		const struct rw_waiter *h = (const struct rw_waiter *)(const void *)q->next;
		if (h->rec ? !x->writer : !(x->writer || x->nreaders))
			return -EINVAL;
	}
	return 0;
}
