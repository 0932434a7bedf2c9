/*
 * The clock and the timer queue (see time.h).
 *
 * The queue is an indexed 4-ary heap rather than a hashed wheel: it keeps
 * exact nanosecond order (virtual time needs it, and sleepers must never wake
 * early), cancels in O(log n) without tombstones, and 10^6 timers cost one
 * 8 MB pointer array.
 */
#include "time.h"

#include <string.h>

void asup__timebase_init(asup__timebase *tb, const asup__alloc *a, asup__sched *s,
			 int is_virtual)
{
	memset(tb, 0, sizeof(*tb));
	asup__heap_init(&tb->timers, a);
	tb->sched = s;
	tb->is_virtual = is_virtual;
	tb->source_next = ASUP_TIME_MAX;
	clock_gettime(CLOCK_MONOTONIC, &tb->base);
}

void asup__timebase_destroy(asup__timebase *tb)
{
	asup__heap_destroy(&tb->timers);
}

asup_time asup__timebase_now(asup__timebase *tb)
{
	struct timespec ts;
	int64_t ns;

	if (tb->is_virtual)
		return tb->vnow;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ns = (int64_t)(ts.tv_sec - tb->base.tv_sec) * 1000000000 + (ts.tv_nsec - tb->base.tv_nsec);
	return ns > 0 ? (asup_time)ns : 0;
}

void asup__timebase_advance_to(asup__timebase *tb, asup_time t)
{
	if (tb->is_virtual && t > tb->vnow) {
		asup_time from = tb->vnow;
		tb->vnow = t;
		asup__trace(tb->sched, ASUP_EV_TIME_ADVANCE, ASUP_ID_NONE, ASUP_ID_NONE, from, t);
	}
}

asup_time asup__timebase_next(const asup__timebase *tb)
{
	const asup__hnode *top = asup__heap_top(&tb->timers);
	asup_time t = top ? top->key : ASUP_TIME_MAX;

	return tb->source_next < t ? tb->source_next : t;
}

static void update_min(asup__timebase *tb)
{
	tb->sched->timer_min = asup__timebase_next(tb);
}

void asup__timebase_source(asup__timebase *tb, void (*fire)(void *ud, asup_time now), void *ud)
{
	tb->source_fire = fire;
	tb->source_ud = ud;
	tb->source_next = ASUP_TIME_MAX;
	update_min(tb);
}

void asup__timebase_source_set(asup__timebase *tb, asup_time next)
{
	tb->source_next = next;
	update_min(tb);
}

asup_time asup__tb_now_hook(void *ctx)
{
	return asup__timebase_now(ctx);
}

int asup__tb_arm_hook(void *ctx, asup__task *t, asup_time when)
{
	asup__timebase *tb = ctx;

	if (asup__hnode_linked(&t->timer_node))
		asup__heap_remove(&tb->timers, &t->timer_node);
	else if (asup__heap_reserve(&tb->timers, 1) < 0)
		return -ENOMEM;
	t->timer_node.key = when;
	t->timer_node.seq = tb->seq++;
	asup__heap_push(&tb->timers, &t->timer_node);
	asup__trace(tb->sched, ASUP_EV_TIMER_SCHEDULED, t->id, ASUP_ID_NONE, when, 0);
	update_min(tb);
	return 0;
}

void asup__tb_disarm_hook(void *ctx, asup__task *t)
{
	asup__timebase *tb = ctx;
	int was_top;

	if (!asup__hnode_linked(&t->timer_node))
		return;
	was_top = t->timer_node.idx == 0;
	asup__heap_remove(&tb->timers, &t->timer_node);
	if (was_top)
		update_min(tb);
}

void asup__tb_fire_hook(void *ctx, asup_time now)
{
	asup__timebase *tb = ctx;
	asup__hnode *top;

	/* The source first: a packet and a timer due at the same time wake
	 * their tasks in that order, the same every run. */
	if (tb->source_fire && tb->source_next <= now)
		tb->source_fire(tb->source_ud, now);
	while ((top = asup__heap_top(&tb->timers)) != NULL && top->key <= now) {
		asup__task *t = asup__container_of(top, asup__task, timer_node);
		asup__heap_remove(&tb->timers, top);
		tb->fired++;
		asup__trace(tb->sched, ASUP_EV_TIMER_FIRED, t->id, ASUP_ID_NONE, t->timer_node.key, 0);
		asup__sched_timer_expired(tb->sched, t);
	}
	update_min(tb);
}

int asup__timebase_check(const asup__timebase *tb)
{
	if (asup__heap_check(&tb->timers))
		return -EINVAL;
	return tb->sched->timer_min == asup__timebase_next(tb) ? 0 : -EINVAL;
}
