/*
 * The lanes of a worker and the bookkeeping of a dispatch, shared by the
 * dispatch loop (sched.c) and the workers (workers.c). Nothing outside
 * src/sched includes this.
 *
 * Owns: the three lanes of a worker (cancel and ready: 256 FIFO priority
 * buckets with a bitmap and a top; timed: a deadline heap) and moving a task
 * in and out of them. Must not touch: a task's state other than its lane
 * fields (lane, qprio, seq, worker), the fiber or the stacks.
 * Invariants (checked by asup__sched_check): a task is in at most one lane;
 * t->lane names it; each lane's count, bitmap and top agree with its
 * buckets.
 */
#ifndef ASUP_SCHED_LANES_H
#define ASUP_SCHED_LANES_H

#include "sched.h"

#include <string.h>

/* ---- priority lanes ---------------------------------------------------- */

#define DET_WINDOW 8

static inline void lane_init(asup__prio_lane *l)
{
	memset(l, 0, sizeof(*l));
	l->top = -1;
	for (int i = 0; i < 256; i++)
		asup__list_init(&l->bucket[i]);
}

/* Inserts t before `at` in bucket p (the bucket's head: its very end). */
static inline void lane_insert(asup__prio_lane *l, asup__task *t, uint8_t p, asup__list *at)
{
	t->qprio = p;
	asup__list_insert_before(at, &t->lane_link);
	l->count[p]++;
	l->n++;
	l->bitmap[p >> 6] |= 1ull << (p & 63);
	if ((int)p > l->top)
		l->top = p;
}

/*
 * FIFO within a priority. In deterministic mode a task entering a non-empty
 * bucket takes a seeded place among its last DET_WINDOW positions instead
 * of the very end: that is the seeded choice among equally ready tasks.
 * Choosing on entry rather than on exit walks only the recently queued (so
 * cache-hot) end of the bucket, keeps the head prefetchable, and bounds how
 * far a task can be overtaken: once DET_WINDOW tasks queued behind it,
 * nobody passes it any more.
 */
static inline void lane_push(asup__sched *s, asup__prio_lane *l, asup__task *t, uint8_t p)
{
	asup__list *at = &l->bucket[p];

	if (s->deterministic && l->count[p]) {
		/* The place is a hash of the seed and the number of entries so
		 * far, not a draw from a shared generator: a replay that forces
		 * the schedule (and so skips the scheduler's own choices) still
		 * builds the same queues. The product's high half is within 2^-27
		 * of uniform for these small counts. */
		uint32_t c = l->count[p] < DET_WINDOW - 1 ? l->count[p] : DET_WINDOW - 1;
		uint64_t r = asup__mix64(s->place_key + ++s->places) >> 32;
		uint64_t k = (r * (c + 1)) >> 32;
		while (k--)
			at = at->prev;
	}
	lane_insert(l, t, p, at);
}

static inline int lane_scan_top(const asup__prio_lane *l)
{
	for (int i = 3; i >= 0; i--)
		if (l->bitmap[i])
			return i * 64 + 63 - __builtin_clzll(l->bitmap[i]);
	return -1;
}

static inline void lane_remove(asup__prio_lane *l, asup__task *t)
{
	uint8_t p = t->qprio;
	asup__list_remove(&t->lane_link);
	l->n--;
	if (--l->count[p] == 0) {
		l->bitmap[p >> 6] &= ~(1ull << (p & 63));
		if ((int)p == l->top) /* an emptied lane needs no scan */
			l->top = l->n ? lane_scan_top(l) : -1;
	}
}

/*
 * Records and stacks of queued tasks are cold after a burst of spawns or a
 * mass cancel: start loading the next task's record (its first lines) and,
 * if it has run before, the top of its stack where its saved frames are.
 * (Measured on W5: 31 -> 27 ms for 100,000 cancelled tasks.)
 */
static inline void prefetch_record(const asup__sched *s, const asup__task *t)
{
	/* Two lines a turn over a pointer: the loop costs about 3 instructions
	 * a line where an offset loop cost 5 (a record is ten lines). */
	const char *p = (const char *)t, *end = p + s->rec_bytes;

	do {
		__builtin_prefetch(p);
		__builtin_prefetch(p + 64);
		p += 128;
	} while (p < end);
}

/*
 * Two deep, so that nothing here waits for memory: the record of the task
 * after next (its lines only, no loads from it), and the stack top of the
 * next one, whose record the previous pop already brought in.
 */
static inline void prefetch_next(const asup__sched *s, asup__list *n, asup__list *head)
{
	asup__task *t;
	if (n == head)
		return;
	t = asup__container_of(n, asup__task, lane_link);
#ifndef ASUP_FIBER_PORTABLE
	if (t->stack) {
		const char *sp = (const char *)t->fiber.ctx.sp;
		__builtin_prefetch(sp);
		__builtin_prefetch(sp + 64);
	}
#endif
	if (n->next != head)
		prefetch_record(s, asup__container_of(n->next, asup__task, lane_link));
}

/* Highest priority first, the head of its bucket (see lane_push for the
 * seeded order). The lane must not be empty. */
static inline asup__task *lane_pop(asup__sched *s, asup__prio_lane *l)
{
	int p = l->top;
	asup__list *n = l->bucket[p].next;
	asup__task *t;

	(void)s;
	t = asup__container_of(n, asup__task, lane_link);
	lane_remove(l, t);
	if (l->count[p] > 4) /* only long queues go cold */
		prefetch_next(s, l->bucket[p].next, &l->bucket[p]);
	return t;
}

/* ---- lane membership --------------------------------------------------- */

static inline asup__worker *worker_of(asup__sched *s, const asup__task *t)
{
	return &s->workers[t->worker];
}

/* Puts t in a lane of its worker without a trace event (a YIELD event
 * already says the task went to the back of the ready lane). */
static inline void enqueue_quiet(asup__sched *s, asup__task *t, int lane)
{
	asup__worker *w = worker_of(s, t);

	t->lane = (uint8_t)lane;
	switch (lane) {
	case ASUP__LANE_CANCEL:
		lane_push(s, &w->cancel, t, t->cancel_priority);
		break;
	case ASUP__LANE_TIMED:
		/* FIFO among equal deadlines; the priority lanes get FIFO from
		 * their bucket lists. */
		t->seq = s->seq++;
		t->timed_node.seq = t->seq;
		asup__heap_push(&w->timed, &t->timed_node); /* room reserved at admit */
		break;
	default:
		lane_push(s, &w->ready, t, t->priority);
		break;
	}
}

static inline void enqueue(asup__sched *s, asup__task *t, int lane)
{
	enqueue_quiet(s, t, lane);
	asup__trace(s, ASUP_EV_SCHEDULE, t->id, ASUP_ID_NONE, (uint64_t)lane, 0);
}

static inline void dequeue(asup__sched *s, asup__task *t)
{
	asup__worker *w = worker_of(s, t);

	switch (t->lane) {
	case ASUP__LANE_CANCEL:
		lane_remove(&w->cancel, t);
		break;
	case ASUP__LANE_TIMED:
		asup__heap_remove(&w->timed, &t->timed_node);
		break;
	case ASUP__LANE_READY:
		lane_remove(&w->ready, t);
		break;
	default:
		break;
	}
	t->lane = ASUP__LANE_NONE;
}

static inline void make_ready(asup__sched *s, asup__task *t, int lane)
{
	t->state = ASUP__T_READY;
	enqueue(s, t, lane);
}

/* Bookkeeping of a dispatch from `lane` of worker w (streak, stats, the
 * RESUME event: the schedule decision a deterministic run's certificate hashes). */
static inline void dispatched(asup__sched *s, asup__worker *w, asup__task *t, int lane)
{
	if (lane == ASUP__LANE_CANCEL) {
		if (w->cancel_streak < s->streak_limit) {
			w->cancel_streak++;
		} else {
			w->cancel_streak = 1; /* the fallback after a full streak */
			s->stats.fallback_cancel_dispatches++;
		}
		if (w->cancel_streak > s->stats.max_cancel_streak)
			s->stats.max_cancel_streak = w->cancel_streak;
		s->stats.cancel_dispatches++;
	} else {
		w->cancel_streak = 0;
		if (lane == ASUP__LANE_TIMED)
			s->stats.timed_dispatches++;
	}
	t->lane = ASUP__LANE_NONE;
	s->last_lane = (uint8_t)lane;
	s->stats.dispatches++;
	asup__trace(s, ASUP_EV_RESUME, t->id, ASUP_ID_NONE, (uint64_t)lane, w->index);
}

/* ---- the dispatch steps the workers file shares ----------------------- */

/* Fires the timers that are due (real mode reads the clock one dispatch in 16
 * while there is other work). */
void asup__sched_check_timers(asup__sched *s);
/* Worker w's own rule: cancel (streak-limited), due timed, ready, cancel. */
asup__task *asup__sched_pick_slow(asup__sched *s, asup__worker *w);
/* Starts (if NEW) and runs the dispatched task t until it suspends or exits. */
void asup__sched_run_picked(asup__sched *s, asup__task *t);
/* Empty lanes for worker `index`. */
void asup__worker_init(asup__worker *w, const asup__alloc *a, uint32_t index);

#endif
