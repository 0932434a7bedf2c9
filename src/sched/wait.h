/*
 * The wait primitive every blocking call is built on: a waiter in the
 * waiting task's frame, queued on one or more FIFO queues, and woken by a
 * wake that sets its result.
 *
 * Waiter states (w->result, w->link):
 *
 *   PENDING, unlinked --push--> PENDING, queued --wake(r)--> r, unlinked
 *                                      |
 *                                      +--park error--> PENDING, unlinked
 *
 * The waker decides why the waiter woke (0 or a positive grant, or a
 * negative code such as a close) and the waiter reads it from the result:
 * no side counter says it. A result, once set, is final; a wake on a waiter
 * whose result is set does nothing (a task queued on several queues is woken
 * by the first of them).
 *
 * Invariants: a linked waiter's result is PENDING; a waiter is unlinked when
 * its wait returns (its storage is the caller's frame).
 */
#ifndef ASUP_SCHED_WAIT_H
#define ASUP_SCHED_WAIT_H

#include "sched.h"

/* The result of a waiter nothing has woken yet (never a wake's result). */
#define ASUP__WAIT_PENDING (-2147483647 - 1)

/* Layout shared with the public asup_waiter (asupersync/ext.h). */
typedef struct asup__waiter {
	asup__list link;   /* on a queue while PENDING and queued, else a self-loop */
	asup__task *task;  /* the waiting task; set at init, read by the waker */
	int result;        /* written once by the waker; read by the waiter */
} asup__waiter;

/* A primitive that needs more per waiter (a count, a record) embeds the
 * waiter in its own struct and finds it back with container_of. */
static inline void asup__waiter_init(asup__waiter *w, asup__task *t)
{
	asup__list_init(&w->link);
	w->task = t;
	w->result = ASUP__WAIT_PENDING;
}

static inline int asup__waiter_queued(const asup__waiter *w)
{
	return w->link.next != &w->link;
}

/* Sets w's result, dequeues it and unparks its task. 1 if it did, 0 if w
 * was woken already (nothing changes). Inline: it is every hand-off's. */
static inline int asup__waiter_wake(asup__waiter *w, int result)
{
	if (w->result != ASUP__WAIT_PENDING)
		return 0;
	asup__list_remove(&w->link);
	w->result = result;
	asup__sched_unpark(w->task->sched, w->task);
	return 1;
}
/* Wakes the head of q with `result`; 1 if there was one, else 0. Inline:
 * every channel send and receive makes one. */
static inline int asup__waitq_wake_one_with(asup__list *q, int result)
{
	if (asup__list_empty(q))
		return 0;
	return asup__waiter_wake(asup__container_of(q->next, asup__waiter, link), result);
}
/* Wakes every waiter of q with `result`; returns how many. */
int asup__waitq_wake_all_with(asup__list *q, int result);
static inline int asup__waitq_wake_one(asup__list *q)
{
	return asup__waitq_wake_one_with(q, 0);
}
static inline int asup__waitq_wake_all(asup__list *q)
{
	return asup__waitq_wake_all_with(q, 0);
}

/*
 * Parks the running task until w is woken (0: read w->result) or the park
 * ends otherwise (its deadline, an interrupt: that code, and w is dequeued
 * with its result still PENDING). A wake wins over a park error that raced
 * with it. w may be queued on several queues only through its own link;
 * multi-queue waiters use one waiter per queue and poll each.
 */
static inline int asup__waiter_park(asup__sched *s, asup__waiter *w, asup_time deadline,
				    int deadline_code)
{
	int rc;

	for (;;) {
		rc = asup__sched_park(s, w->task, deadline, deadline_code);
		if (w->result != ASUP__WAIT_PENDING)
			return 0; /* a wake wins over everything that raced with it */
		if (rc != 0) {
			asup__list_remove(&w->link);
			return rc;
		}
		/* A stale unpark token: not our wake-up, park again. */
	}
}
/* Pushes a waiter for self at the tail of q and parks: 0 when woken, else
 * the park's error (dequeued). */
int asup__waitq_wait(asup__sched *s, asup__task *self, asup__list *q, asup_time deadline,
		     int deadline_code);

#endif
