/*
 * The three-lane scheduler and its run loop (see sched.h for the state
 * machine and the invariants).
 *
 * Dispatch order (per scheduler): due timers are fired first; then the cancel
 * lane while the cancel streak is below the limit L; then due timed work; then
 * ready work; then, if only cancel work is left, the cancel lane again with
 * the streak reset to 1. So a ready task waits at most L cancel dispatches.
 *
 * Suspension switches directly to the next task when there is one (one
 * context switch per yield); the loop's own stack is entered only when
 * nothing is runnable, when a task exits (its stack must be released from
 * another stack), or in single-step mode.
 */
#include "sched.h"

#include <stdlib.h>
#include <string.h>

/* ---- priority lanes ---------------------------------------------------- */

#define DET_WINDOW 8

static void lane_init(asup__prio_lane *l)
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

static int lane_scan_top(const asup__prio_lane *l)
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
		if ((int)p == l->top)
			l->top = lane_scan_top(l);
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
	for (uint32_t off = 0; off < s->rec_bytes; off += 64)
		__builtin_prefetch((const char *)t + off);
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

static void dequeue(asup__sched *s, asup__task *t)
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

static void make_ready(asup__sched *s, asup__task *t, int lane)
{
	t->state = ASUP__T_READY;
	enqueue(s, t, lane);
}

/* ---- setup ------------------------------------------------------------- */

static void worker_init(asup__worker *w, const asup__alloc *a, uint32_t index)
{
	lane_init(&w->cancel);
	lane_init(&w->ready);
	asup__heap_init(&w->timed, a);
	w->cancel_streak = 0;
	w->index = index;
}

int asup__sched_init(asup__sched *s, const asup__alloc *a, size_t stack_size,
		     uint32_t pool_max, uint32_t streak_limit, int deterministic, uint64_t seed)
{
	memset(s, 0, sizeof(*s));
	worker_init(&s->w0, a, 0);
	s->workers = s->w = &s->w0;
	s->nworkers = 1;
	asup__stack_pool_init(&s->stacks, stack_size, pool_max);
	asup__rng_seed(&s->rng, seed);
	s->place_key = asup__mix64(seed ^ 0x706c616365735eedull);
	s->rec_bytes = sizeof(asup__task);
	s->streak_limit = streak_limit;
	s->deterministic = (uint8_t)(deterministic != 0);
	s->direct = 1;
	s->timer_min = ASUP_TIME_MAX;
	return 0;
}

int asup__sched_set_workers(asup__sched *s, const asup__alloc *a, uint32_t n)
{
	asup__worker *ws;

	if (n < 1 || n > ASUP__WORKERS_MAX || s->ntasks || s->nworkers != 1)
		return -EINVAL;
	if (n == 1)
		return 0;
	ws = asup__alloc_mem(a, n * sizeof(*ws));
	if (!ws)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		worker_init(&ws[i], a, i);
	asup__heap_destroy(&s->w0.timed);
	s->workers = s->w = ws;
	s->nworkers = n;
	s->cap_tasks = 0;
	s->workers_alloc = *a;
	return 0;
}

void asup__sched_destroy(asup__sched *s)
{
	for (uint32_t i = 0; i < s->nworkers; i++)
		asup__heap_destroy(&s->workers[i].timed);
	if (s->workers != &s->w0)
		asup__free_mem(&s->workers_alloc, s->workers, s->nworkers * sizeof(*s->workers));
	asup__stack_pool_destroy(&s->stacks);
}

void asup__sched_set_backend(asup__sched *s, const asup__sched_backend *be)
{
	s->be = *be;
}

int asup__sched_reserve_slow(asup__sched *s)
{
	uint32_t want = s->ntasks + 1, cap = UINT32_MAX;

	/* Any task may end up in any worker's timed lane. */
	for (uint32_t i = 0; i < s->nworkers; i++) {
		asup__heap *h = &s->workers[i].timed;
		if (want > h->cap && asup__heap_reserve(h, want - h->len))
			return -ENOMEM;
		if (h->cap < cap)
			cap = h->cap;
	}
	s->cap_tasks = cap;
	return 0;
}

int asup__sched_admit(asup__sched *s, asup__task *t)
{
	if (asup__sched_reserve(s) < 0)
		return -ENOMEM;
	if (__builtin_expect(s->nworkers == 1, 1))
		t->worker = 0;
	else if (t->local && s->current)
		t->worker = s->current->worker; /* pinned where it was spawned */
	else
		t->worker = (uint16_t)(s->rr++ % s->nworkers);
	s->ntasks++;
	t->sched = s;
	t->state = ASUP__T_NEW;
	t->lane = ASUP__LANE_NONE;
	t->notified = 0;
	t->parked_timer = 0;
	t->wake_code = 0;
	t->stack = NULL;
	asup__list_init(&t->lane_link);
	asup__hnode_init(&t->timed_node);
	asup__hnode_init(&t->timer_node);
	enqueue(s, t, t->interrupt && !t->masked ? ASUP__LANE_CANCEL : ASUP__LANE_READY);
	return 0;
}

/* ---- dispatch ---------------------------------------------------------- */

static void check_timers(asup__sched *s)
{
	asup_time now;

	/* A clock read costs about as much as a switch; while there is other
	 * work, real mode looks at the clock on one dispatch in 16. */
	if (!s->deterministic && s->w->ready.n && (++s->clock_tick & 15))
		return;
	now = s->be.now(s->be.ctx);
	s->now_cached = now;
	if (s->timer_min <= now)
		s->be.timer_fire(s->be.ctx, now);
}

/* Bookkeeping of a dispatch from `lane` of worker w (streak, stats, the
 * RESUME event: the schedule decision the lab's certificate hashes). */
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

/* Cancel, due timed or fallback work, with the streak rule. */
static asup__task *pick_slow(asup__sched *s, asup__worker *w)
{
	asup__task *t;
	asup__hnode *top;
	int lane;

	if (w->cancel.n && w->cancel_streak < s->streak_limit) {
		t = lane_pop(s, &w->cancel);
		lane = ASUP__LANE_CANCEL;
	} else if ((top = asup__heap_top(&w->timed)) != NULL && top->key <= s->now_cached) {
		asup__heap_remove(&w->timed, top);
		t = asup__container_of(top, asup__task, timed_node);
		lane = ASUP__LANE_TIMED;
	} else if (w->ready.n) {
		t = lane_pop(s, &w->ready);
		lane = ASUP__LANE_READY;
	} else if (w->cancel.n) {
		t = lane_pop(s, &w->cancel); /* dispatched() resets the streak to 1 */
		lane = ASUP__LANE_CANCEL;
	} else {
		w->cancel_streak = 0;
		return NULL;
	}
	dispatched(s, w, t, lane);
	return t;
}

static inline asup__task *pick(asup__sched *s)
{
	asup__worker *w = s->w;
	asup__task *t;

	if (s->timer_min != ASUP_TIME_MAX)
		check_timers(s);
	if (__builtin_expect(w->cancel.n || w->timed.len || !w->ready.n || s->probe.emit, 0))
		return pick_slow(s, w);
	/* Only ready work: the common case. ready_dispatches is derived in
	 * asup__sched_stats_ready() to keep this path short. */
	t = lane_pop(s, &w->ready);
	w->cancel_streak = 0;
	t->lane = ASUP__LANE_NONE;
	s->last_lane = ASUP__LANE_READY;
	s->stats.dispatches++;
	return t;
}

static void reap(asup__sched *s);

static void trampoline(void *arg)
{
	asup__task *t = arg;
	asup__sched *s = t->sched;
	asup__fiber_enter();
	if (s->exited)
		reap(s);
	s->be.task_main(s->be.kctx, t);
	asup__sched_exit(s, t);
}

/* Gives a NEW task its stack and context. On failure the kernel completes it. */
static int start(asup__sched *s, asup__task *t)
{
	asup__stack *st;
	int rc = asup__stack_get(&s->stacks, t->stack_size, &st);

	if (rc < 0) {
		t->state = ASUP__T_DONE;
		s->ntasks--;
		s->be.task_start_failed(s->be.kctx, t, rc);
		return rc;
	}
	t->stack = st;
	asup__fiber_init(&t->fiber, st, trampoline, t);
	t->fiber.label = t->name;
	t->fiber.id = t->index;
	t->fiber.is_task = 1;
	return 0;
}

static void switch_to(asup__sched *s, asup__fiber *from, asup__task *t)
{
	s->current = t;
	t->state = ASUP__T_RUNNING;
	s->stats.switches++;
	asup__fiber_switch(from, &t->fiber);
}

static void reap(asup__sched *s)
{
	asup__task *t = s->exited;

	s->exited = NULL;
	asup__fiber_fini(&t->fiber);
	asup__stack_put(&s->stacks, t->stack);
	t->stack = NULL;
	s->be.task_exited(s->be.kctx, t);
}

static void run_picked(asup__sched *s, asup__task *t)
{
	if (t->state == ASUP__T_NEW && start(s, t) < 0)
		return;
	switch_to(s, &s->loop, t);
	s->current = NULL;
	if (s->exited)
		reap(s);
}

asup__task *asup__sched_run_one(asup__sched *s)
{
	asup__task *t = pick(s);

	if (t)
		run_picked(s, t);
	return t;
}

/*
 * Stealing takes ready, non-local work only: up to max(1, min(n/2, 4)) tasks
 * from the top of a victim's ready lane (victims scanned from a seeded
 * start), the first to run, the rest queued on the thief.
 */
/* The task a steal from victim v would take first (the first non-local
 * task from the top of its ready lane), or NULL. */
static asup__task *steal_first(asup__worker *v)
{
	for (int p = v->ready.top; p >= 0; p--) {
		asup__list *h = &v->ready.bucket[p];
		for (asup__list *l = h->next; l != h; l = l->next) {
			asup__task *t = asup__container_of(l, asup__task, lane_link);
			if (!t->local)
				return t;
		}
	}
	return NULL;
}

/* Moves a batch from victim v to thief and dispatches its first task (which
 * the caller knows exists). The others keep their state (a stolen task may
 * never have run) and go to the back of the thief's ready lane. */
static asup__task *steal_batch(asup__sched *s, asup__worker *v, asup__worker *thief)
{
	asup__task *first = NULL;
	uint32_t want = v->ready.n / 2 < 4 ? v->ready.n / 2 : 4, got = 0;

	if (want < 1)
		want = 1;
	for (int p = v->ready.top; p >= 0 && got < want; p--) {
		asup__list *h = &v->ready.bucket[p], *l = h->next;
		while (l != h && got < want) {
			asup__task *t = asup__container_of(l, asup__task, lane_link);
			l = l->next;
			if (t->local)
				continue;
			lane_remove(&v->ready, t);
			t->lane = ASUP__LANE_NONE;
			t->worker = (uint16_t)thief->index;
			if (!first)
				first = t;
			else
				enqueue(s, t, ASUP__LANE_READY);
			got++;
		}
	}
	dispatched(s, thief, first, ASUP_LANE_STOLEN);
	return first;
}

static asup__task *steal(asup__sched *s, asup__worker *thief)
{
	uint32_t n = s->nworkers, start = (uint32_t)asup__rng_below(&s->rng, n);

	for (uint32_t i = 0; i < n; i++) {
		asup__worker *v = &s->workers[(start + i) % n];
		if (v != thief && v->ready.n && steal_first(v))
			return steal_batch(s, v, thief);
	}
	return NULL;
}

asup__task *asup__sched_run_one_on(asup__sched *s, uint32_t w)
{
	uint32_t n = s->nworkers;
	asup__task *t = NULL;

	if (w >= n)
		w %= n;
	if (s->timer_min != ASUP_TIME_MAX)
		check_timers(s);
	for (uint32_t i = 0; i < n && !t; i++) {
		s->w = &s->workers[(w + i) % n];
		t = pick_slow(s, s->w);
		if (!t && i == 0 && n > 1)
			t = steal(s, s->w);
	}
	if (t)
		run_picked(s, t);
	else
		s->w = &s->workers[w]; /* idle: what follows is the chosen worker's */
	return t;
}

int asup__sched_run_task(asup__sched *s, asup__task *t, uint32_t w)
{
	int lane;

	if (w >= s->nworkers)
		return -EINVAL;
	if (s->timer_min != ASUP_TIME_MAX)
		check_timers(s);
	lane = t->lane;
	if (t->lane == ASUP__LANE_NONE)
		return -ESRCH;
	if (t->lane == ASUP__LANE_TIMED && t->timed_node.key > s->now_cached)
		return -ESRCH; /* not due yet */
	if (t->worker != w && t->local)
		return -EPERM;
	if (t->worker != w && lane != ASUP__LANE_READY)
		return -EPERM; /* only ready work moves between workers */
	if (t->worker != w) {
		/* A steal: the same batch moves as when it was recorded. */
		asup__worker *v = worker_of(s, t);
		if (steal_first(v) != t)
			return -EPERM;
		s->w = &s->workers[w];
		run_picked(s, steal_batch(s, v, s->w));
		return 0;
	}
	dequeue(s, t);
	s->w = &s->workers[w];
	dispatched(s, s->w, t, lane);
	run_picked(s, t);
	return 0;
}

/* Leaves the running task `self` (already parked or queued) for the next
 * runnable task, or for the loop. Returns when `self` is resumed. */
static void suspend(asup__sched *s, asup__task *self)
{
	asup__task *next;

	while (s->direct && (next = pick(s)) != NULL) {
		if (next == self) { /* a yield with nobody else runnable */
			self->state = ASUP__T_RUNNING;
			s->current = self;
			return;
		}
		if (next->state == ASUP__T_NEW && start(s, next) < 0)
			continue;
		switch_to(s, &self->fiber, next);
		goto resumed;
	}
	s->current = NULL;
	s->stats.switches++;
	asup__fiber_switch(&self->fiber, &s->loop);
resumed:
	/* The task we came from may have exited and left its stack to us. */
	if (s->exited)
		reap(s);
}

int asup__sched_park(asup__sched *s, asup__task *self, asup_time deadline, int deadline_code)
{
	int rc;

	if (self->notified) {
		self->notified = 0;
		return 0;
	}
	if (self->interrupt && !self->masked)
		return self->interrupt;
	if (deadline != ASUP_TIME_MAX) {
		rc = s->be.timer_arm(s->be.ctx, self, deadline);
		if (rc < 0)
			return rc;
		self->parked_timer = 1;
		self->deadline_code = deadline_code;
	}
	self->state = ASUP__T_PARKED;
	self->wake_code = 0;
	s->stats.parks++;
	asup__trace(s, ASUP_EV_PARK, self->id, ASUP_ID_NONE, deadline, 0);
	suspend(s, self);
	if (self->parked_timer) {
		self->parked_timer = 0;
		s->be.timer_disarm(s->be.ctx, self);
	}
	return self->wake_code;
}

void asup__sched_yield(asup__sched *s, asup__task *self)
{
	asup__worker *w = s->w;
	asup__prio_lane *l = &w->ready;
	asup__task *next;

	/* The common case, done in one place: only ready work, no timers, FIFO
	 * choice, and a successor that has run before. Same order as pick(). */
	asup__trace(s, ASUP_EV_YIELD, self->id, ASUP_ID_NONE, 0, 0);
	if (__builtin_expect(s->direct && !s->deterministic && s->timer_min == ASUP_TIME_MAX &&
				     !w->cancel.n && !w->timed.len && l->top >= (int)self->priority,
			     1)) {
		asup__list *n = l->bucket[l->top].next;
		next = asup__container_of(n, asup__task, lane_link);
		if (next->state != ASUP__T_NEW) {
			self->state = ASUP__T_READY;
			self->lane = ASUP__LANE_READY;
			lane_insert(l, self, self->priority, &l->bucket[self->priority]);
			lane_remove(l, next);
			next->lane = ASUP__LANE_NONE;
			w->cancel_streak = 0;
			s->stats.dispatches++;
			switch_to(s, &self->fiber, next);
			if (s->exited)
				reap(s);
			return;
		}
	}
	/* The very end of its bucket, in both modes: a yield promises that
	 * every task ready now runs first, so the seeded placement (which may
	 * put an entering task ahead of some of the last ones) is not for it.
	 * Tasks that become ready later are placed as usual. */
	l = &worker_of(s, self)->ready;
	self->state = ASUP__T_READY;
	self->lane = ASUP__LANE_READY;
	lane_insert(l, self, self->priority, &l->bucket[self->priority]);
	suspend(s, self);
}

void asup__sched_exit(asup__sched *s, asup__task *self)
{
	asup__task *next;

	self->state = ASUP__T_DONE;
	s->ntasks--;
	s->exited = self; /* the next stack we run on releases ours */
	s->stats.switches++;
	while (s->direct && (next = pick(s)) != NULL) {
		if (next->state == ASUP__T_NEW && start(s, next) < 0)
			continue;
		s->current = next;
		next->state = ASUP__T_RUNNING;
		asup__fiber_switch_final(&self->fiber, &next->fiber);
	}
	s->current = NULL;
	asup__fiber_switch_final(&self->fiber, &s->loop);
	abort(); /* not reached: a finished fiber is never resumed */
}

/* ---- wake-ups ---------------------------------------------------------- */

int asup__sched_unpark(asup__sched *s, asup__task *t)
{
	switch (t->state) {
	case ASUP__T_PARKED:
		t->wake_code = 0;
		asup__trace(s, ASUP_EV_WAKE, t->id, ASUP_ID_NONE, ASUP__LANE_READY, 0);
		make_ready(s, t, ASUP__LANE_READY);
		s->stats.wakes++;
		return 1;
	case ASUP__T_RUNNING:
		t->notified = 1;
		return 0;
	case ASUP__T_READY:
	case ASUP__T_NEW:
		s->stats.wakes_deduped++;
		return 0;
	default:
		return 0;
	}
}

void asup__sched_interrupt(asup__sched *s, asup__task *t, int code)
{
	if (t->state == ASUP__T_DONE)
		return;
	t->interrupt = code;
	if (t->masked)
		return;
	switch (t->state) {
	case ASUP__T_PARKED:
		t->wake_code = code;
		asup__trace(s, ASUP_EV_WAKE, t->id, ASUP_ID_NONE, ASUP__LANE_CANCEL, 1);
		make_ready(s, t, ASUP__LANE_CANCEL);
		break;
	case ASUP__T_READY:
	case ASUP__T_NEW:
		if (t->lane == ASUP__LANE_CANCEL && t->qprio >= t->cancel_priority)
			break;
		dequeue(s, t);
		if (t->state == ASUP__T_READY)
			t->wake_code = code; /* cancellation wins over a pending wake */
		enqueue(s, t, ASUP__LANE_CANCEL);
		break;
	default:
		break; /* RUNNING: seen at its next checkpoint */
	}
}

void asup__sched_requeue(asup__sched *s, asup__task *t)
{
	int lane = t->lane;

	if (lane != ASUP__LANE_READY && lane != ASUP__LANE_CANCEL)
		return;
	dequeue(s, t);
	enqueue(s, t, lane);
}

void asup__sched_timer_expired(asup__sched *s, asup__task *t)
{
	if (t->state != ASUP__T_PARKED)
		return;
	t->parked_timer = 0;
	t->wake_code = t->deadline_code;
	t->timed_node.key = t->timer_node.key;
	asup__trace(s, ASUP_EV_WAKE, t->id, ASUP_ID_NONE, ASUP__LANE_TIMED, 2);
	make_ready(s, t, ASUP__LANE_TIMED);
}

void asup__sched_discard(asup__sched *s, asup__task *t)
{
	dequeue(s, t);
	if (t->parked_timer) {
		t->parked_timer = 0;
		s->be.timer_disarm(s->be.ctx, t);
	}
	if (t->stack) {
		asup__fiber_fini(&t->fiber);
		asup__stack_put(&s->stacks, t->stack);
		t->stack = NULL;
	}
	if (t->state != ASUP__T_DONE) {
		t->state = ASUP__T_DONE;
		s->ntasks--;
	}
}

asup_time asup__sched_now(asup__sched *s)
{
	s->now_cached = s->be.now(s->be.ctx);
	return s->now_cached;
}

int asup__sched_has_ready(const asup__sched *s)
{
	for (uint32_t i = 0; i < s->nworkers; i++) {
		const asup__worker *w = &s->workers[i];
		if (w->ready.n || w->cancel.n || w->timed.len)
			return 1;
	}
	return 0;
}

/* ---- wait queues ------------------------------------------------------- */

/* The waiter lives on the parked task's stack and is unlinked before return;
 * GCC cannot see that and warns about the queue keeping its address. */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif
int asup__waitq_wait(asup__sched *s, asup__task *self, asup__list *q, asup_time deadline,
		     int deadline_code)
{
	asup__waiter w;
	int rc;

	w.task = self;
	w.woken = 0;
	asup__list_push_back(q, &w.link);
	for (;;) {
		rc = asup__sched_park(s, self, deadline, deadline_code);
		if (w.woken)
			return 0; /* a wake that dequeued us wins over everything */
		if (rc != 0) {
			asup__list_remove(&w.link);
			return rc;
		}
		/* A stale unpark token: not our wake-up, park again. */
	}
}

int asup__waitq_wake_one(asup__list *q)
{
	asup__list *n = asup__list_pop_front(q);
	asup__waiter *w;

	if (!n)
		return 0;
	w = asup__container_of(n, asup__waiter, link);
	w->woken = 1;
	asup__sched_unpark(w->task->sched, w->task);
	return 1;
}

int asup__waitq_wake_all(asup__list *q)
{
	int n = 0;
	while (asup__waitq_wake_one(q))
		n++;
	return n;
}

/* ---- invariants -------------------------------------------------------- */

static int check_lane(const asup__prio_lane *l, int lane, uint32_t worker)
{
	uint32_t total = 0;
	for (int p = 0; p < 256; p++) {
		uint32_t c = 0;
		const asup__list *h = &l->bucket[p];
		for (const asup__list *n = h->next; n != h; n = n->next) {
			const asup__task *t = asup__container_of(n, asup__task, lane_link);
			if (t->lane != lane || t->qprio != p || t->worker != worker)
				return -EINVAL;
			if (t->state != ASUP__T_READY && t->state != ASUP__T_NEW)
				return -EINVAL;
			c++;
		}
		if (c != l->count[p] || !!c != !!(l->bitmap[p >> 6] & (1ull << (p & 63))))
			return -EINVAL;
		total += c;
	}
	if (l->top != lane_scan_top(l))
		return -EINVAL;
	return total == l->n ? 0 : -EINVAL;
}

static int check_worker(const asup__sched *s, const asup__worker *w)
{
	if (check_lane(&w->cancel, ASUP__LANE_CANCEL, w->index) ||
	    check_lane(&w->ready, ASUP__LANE_READY, w->index))
		return -EINVAL;
	if (asup__heap_check(&w->timed))
		return -EINVAL;
	for (uint32_t i = 0; i < w->timed.len; i++) {
		const asup__task *t = asup__container_of(w->timed.node[i], asup__task, timed_node);
		if (t->lane != ASUP__LANE_TIMED || t->state != ASUP__T_READY || t->worker != w->index)
			return -EINVAL;
	}
	return w->cancel_streak > s->streak_limit ? -EINVAL : 0;
}

int asup__sched_check(const asup__sched *s)
{
	for (uint32_t i = 0; i < s->nworkers; i++)
		if (s->workers[i].index != i || check_worker(s, &s->workers[i]))
			return -EINVAL;
	if (s->w < s->workers || s->w >= s->workers + s->nworkers)
		return -EINVAL;
	if (s->current && s->current->state != ASUP__T_RUNNING)
		return -EINVAL;
	return 0;
}
