/*
 * Counting semaphore (asupersync/sync.h) on park/unpark, with permits that
 * are kernel obligations.
 *
 * Owns: its FIFO of waiters (nodes on the waiting tasks' stacks) and one
 * small `struct hold` per outstanding permit (runtime allocator), which is
 * the context of the permit's obligation hook: the hook runs after the
 * holder's stack is gone, so nothing it needs may live there.
 *
 * Permit life: (waiting) -> granted (avail already lowered on its behalf,
 * waiter dequeued) -> live (obligation RESERVED, hold allocated) ->
 *   released:  commit, the permits go back by hand (a commit runs no hook);
 *   leaked / auto-aborted at the holder's end: the hook gives them back.
 * Strict FIFO: only the head waiter may take permits (grant); a granted
 * waiter cancelled before it ran gives them back and a head that leaves
 * re-runs grant (asup_wait_grant's return). A close wakes every waiter with
 * -EPIPE.
 *
 * Invariants: avail <= total; no waiter's n fits in avail while it is the
 * head (grant ran after every change); a waiter is granted at most once.
 */
#include "asupersync/ext.h"
#include "asupersync/sync.h"
#include "../kernel/kernel.h"
#include "../chan/permit.h"
#include "bind.h"

#include <string.h>

#define SEM_MAGIC 0x73656d61u /* "sema" */

/* A waiter lives on the waiting task's stack while it is queued. */
struct sem_waiter {
	asup_waiter w;         /* result 0 once granted its n permits */
	size_t n;
};

struct sem {
	asup_waitq waiters;    /* FIFO of struct sem_waiter */
	size_t avail;
	size_t total;          /* permits in existence (available + granted +
	                          held): bigger asks fail; never past SIZE_MAX */
	asup__kernel *k;       /* bound at first acquire (bind.h) */
	uint32_t magic;
	uint8_t closed;
};

_Static_assert(sizeof(struct sem) <= sizeof(asup_semaphore), "asup_semaphore is too small");

/* What an outstanding permit must give back, wherever its holder is. */
struct hold {
	struct sem *s;
	size_t n;
	asup__kernel *k;       /* whose allocator it came from */
};

static struct sem *S(asup_semaphore *s)
{
	return (struct sem *)(void *)s;
}

static int sem_ok(const asup_semaphore *s)
{
	return s && ((const struct sem *)(const void *)s)->magic == SEM_MAGIC;
}

static void permit_clear(asup_semaphore_permit *p)
{
	memset(p, 0, sizeof(*p));
	p->_state = ASUP__PERMIT_EMPTY;
}

/* Grants permits to waiters from the head while they fit (strict FIFO). */
static void grant(struct sem *x)
{
	asup_waiter *h;

	while ((h = asup__waitq_head(&x->waiters))) {
		struct sem_waiter *w = asup__container_of(h, struct sem_waiter, w);
		if (w->n > x->avail)
			break;
		x->avail -= w->n;
		asup__grant(h, 0);
	}
}

static void give(struct sem *x, size_t n)
{
	x->avail += n;
	if (x->avail > x->total)
		x->total = x->avail;
	grant(x);
}

/* The obligation hook (abort or leak), and the tail of a release. */
static void hold_return(void *ctx)
{
	struct hold *h = ctx;
	asup__kernel *k = h->k;
	give(h->s, h->n);
	asup__free_mem(&k->alloc, h, sizeof(*h));
}

ASUP_API void asup_semaphore_init(asup_semaphore *s, size_t permits)
{
	if (!s)
		return;
	memset(s, 0, sizeof(*s));
	asup_waitq_init(&S(s)->waiters);
	S(s)->avail = S(s)->total = permits;
	S(s)->magic = SEM_MAGIC;
}

/* asup_wait_grant's return: permits granted to a waiter cancelled before
 * it ran go on; a waiter that left unwoken may have been a big head that
 * kept smaller ones out. */
static void permits_back(void *obj, asup_waiter *h)
{
	struct sem_waiter *w = asup__container_of(h, struct sem_waiter, w);

	if (asup_waiter_result(h) >= 0)
		give(obj, w->n);
	else
		grant(obj);
}

/* Waits at the tail until granted n permits; 0, or an error holding none. */
static int wait_grant(asup_cx *cx, struct sem *x, size_t n)
{
	struct sem_waiter w;
	int rc;

	asup__waiter_init_task(&w.w, cx->kt);
	w.n = n;
	rc = asup__wait_grant(cx, &x->waiters, &w.w, permits_back, x, ASUP__WAIT_PARK);
	return rc < 0 ? rc : 0;
}

/* Takes n permits (waiting if allowed), then makes them an obligation. */
static int acquire(asup_cx *cx, asup_semaphore *s, size_t n, asup_semaphore_permit *p, int wait)
{
	asup__ktask *self = asup__cx_self(cx);
	struct hold *h;
	struct sem *x;
	int rc;

	if (p)
		permit_clear(p);
	if (!self)
		return -ASUP_ENOTASK;
	if (!sem_ok(s) || !p || n == 0 || n > S(s)->total)
		return -EINVAL;
	x = S(s);
	rc = asup__sync_enter(cx, &x->k);
	if (rc < 0)
		return rc;
	if (x->closed)
		return -EPIPE;
	if (!(asup_waitq_is_empty(&x->waiters) && x->avail >= n) && !wait)
		return -EAGAIN;
	/* Allocate before queueing: an allocation failure then costs nobody
	 * a turn. */
	h = asup__alloc_mem(&cx->k->alloc, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->s = x;
	h->n = n;
	h->k = cx->k;
	if (asup_waitq_is_empty(&x->waiters) && x->avail >= n) {
		x->avail -= n;
	} else if ((rc = wait_grant(cx, x, n)) < 0) {
		asup__free_mem(&cx->k->alloc, h, sizeof(*h));
		return rc;
	}
	rc = asup__obligation_create_hooked(cx->k, self, cx->scope,
					    ASUP_OBLIGATION_SEMAPHORE_PERMIT, "semaphore permit",
					    hold_return, h, &p->_obligation);
	if (rc < 0) {
		hold_return(h); /* the permits go to the next waiter */
		return rc;
	}
	p->_hold = h;
	p->_k = cx->k;
	p->_n = n;
	p->_state = ASUP__PERMIT_LIVE;
	return 0;
}

ASUP_API int asup_semaphore_acquire(asup_cx *cx, asup_semaphore *s, size_t n,
				    asup_semaphore_permit *p)
{
	return acquire(cx, s, n, p, 1);
}

ASUP_API int asup_semaphore_try_acquire(asup_cx *cx, asup_semaphore *s, size_t n,
					asup_semaphore_permit *p)
{
	return acquire(cx, s, n, p, 0);
}

ASUP_API int asup_semaphore_permit_release(asup_semaphore_permit *p)
{
	asup__kernel *k;
	int rc;

	if (!p)
		return -EINVAL;
	rc = asup__permit_take(&p->_state, p->_hold, p->_k);
	if (rc < 0)
		return rc;
	k = p->_k;
	/* Resolve first: if the holder ended, the hook already gave the permits
	 * back and freed the hold, and the stale id says so. */
	rc = asup__obligation_resolve(k, p->_obligation, ASUP_OBLIGATION_COMMITTED);
	if (rc < 0)
		return -ASUP_EALREADY; /* by the runtime, or through a copy */
	hold_return(p->_hold);
	return 0;
}

ASUP_API size_t asup_semaphore_permit_count(const asup_semaphore_permit *p)
{
	return p && p->_state == ASUP__PERMIT_LIVE && asup__k_here(p->_k) == 0 ? p->_n : 0;
}

ASUP_API int asup_semaphore_add_permits(asup_semaphore *s, size_t n)
{
	int rc;

	if (!sem_ok(s))
		return -EINVAL;
	rc = asup__sync_here(&S(s)->k);
	if (rc < 0)
		return rc;
	/* total counts every permit there is (available, granted or held),
	 * so bounding it bounds every later give. */
	if (n > SIZE_MAX - S(s)->total)
		return -EINVAL;
	S(s)->total += n;
	give(S(s), n);
	return 0;
}

ASUP_API int asup_semaphore_close(asup_semaphore *s)
{
	struct sem *x;
	int rc;

	if (!sem_ok(s))
		return -EINVAL;
	x = S(s);
	rc = asup__sync_here(&x->k);
	if (rc < 0)
		return rc;
	x->closed = 1;
	asup_waitq_wake_all_with(&x->waiters, -EPIPE);
	return 0;
}

ASUP_API size_t asup_semaphore_available(const asup_semaphore *s)
{
	const struct sem *x = (const struct sem *)(const void *)s;

	/* 0 for another runtime's semaphore: its count is not this thread's
	 * to read. */
	return sem_ok(s) && asup__sync_here(&((struct sem *)(void *)s)->k) == 0 ? x->avail : 0;
}
