/*
 * Wait queues and waiters (wait.h): the one place where a task parks on a
 * queue and where a wake sets why it woke. Everything that blocks (join,
 * region close, channels, locks, select, the public ext.h layer) goes
 * through here; none of it touches a waiter's fields directly.
 *
 * Must not touch: cancellation, budgets, deadlines (the kernel computes the
 * park's deadline and turns its code into a checkpoint), the clock.
 */
#include "wait.h"

/* The waiter lives on the parked task's stack and is unlinked before return;
 * GCC cannot see that and warns about the queue keeping its address. */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif

int asup__waitq_wake_all_with(asup__list *q, int result)
{
	int n = 0;

	while (asup__waitq_wake_one_with(q, result))
		n++;
	return n;
}

int asup__waitq_wait(asup__sched *s, asup__task *self, asup__list *q, asup_time deadline,
		     int deadline_code)
{
	asup__waiter w;

	asup__waiter_init(&w, self);
	asup__list_push_back(q, &w.link);
	return asup__waiter_park(s, &w, deadline, deadline_code);
}
