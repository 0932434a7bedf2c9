/*
 * Time layer: the clock (monotonic or virtual) and the timer queue.
 *
 * Owns: the clock reading, the indexed heap of armed park timers. Must not
 * touch: lanes (it reports expiries through asup__sched_timer_expired).
 *
 * The timer queue holds at most one timer per task (a task parks on one thing
 * at a time); a timer is an intrusive node in the task record, so arming never
 * allocates once the heap has grown to the number of tasks. Ties between equal
 * deadlines fire in arming order.
 *
 * Invariant (asup__timebase_check): the heap is well formed and
 * sched->timer_min equals the earliest armed deadline (ASUP_TIME_MAX if none).
 */
#ifndef ASUP_TIME_H
#define ASUP_TIME_H

#include <time.h>

#include "../sched/sched.h"

typedef struct asup__timebase {
	asup__heap timers;
	asup__sched *sched;
	uint64_t seq;
	int is_virtual;
	asup_time vnow;             /* virtual clock */
	struct timespec base;       /* monotonic clock origin */
	uint64_t fired;
	/* One more event source beside the task timers (the simulated
	 * network): its earliest due time counts as a timer, and fire calls
	 * source_fire(source_ud, now) first when that time has come. The
	 * source keeps source_next current through asup__timebase_source_set. */
	asup_time source_next;
	void (*source_fire)(void *ud, asup_time now);
	void *source_ud;
} asup__timebase;

void asup__timebase_init(asup__timebase *tb, const asup__alloc *a, asup__sched *s,
			 int is_virtual);
void asup__timebase_destroy(asup__timebase *tb);
asup_time asup__timebase_now(asup__timebase *tb);
/* Virtual clock only: moves to t if t is later. */
void asup__timebase_advance_to(asup__timebase *tb, asup_time t);
asup_time asup__timebase_next(const asup__timebase *tb);
/* Installs the event source (fire NULL removes it) or updates its next due
 * time (ASUP_TIME_MAX: nothing due). */
void asup__timebase_source(asup__timebase *tb, void (*fire)(void *ud, asup_time now), void *ud);
void asup__timebase_source_set(asup__timebase *tb, asup_time next);
int asup__timebase_check(const asup__timebase *tb);

/* The sched backend hooks (ctx = the timebase). */
asup_time asup__tb_now_hook(void *ctx);
int asup__tb_arm_hook(void *ctx, asup__task *t, asup_time when);
void asup__tb_disarm_hook(void *ctx, asup__task *t);
void asup__tb_fire_hook(void *ctx, asup_time now);

#endif
