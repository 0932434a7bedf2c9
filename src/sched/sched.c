/*
 * The scheduler's dispatch: setup, picking the next task, starting and
 * switching fibers, suspension (park, yield, exit), waking, and the debug
 * check (see sched.h for the state machine and the invariants). The lanes
 * themselves are in lanes.h, the workers and stealing in workers.c; the wait
 * queue helpers are still here.
 *
 * Must not touch: the kernel's records (it calls back through the backend),
 * whoever drives it (it emits probe events and never asks who listens).
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
#include "lanes.h"

#include <stdlib.h>
#include <string.h>

/* ---- setup ------------------------------------------------------------- */

int asup__sched_init(asup__sched *s, const asup__alloc *a, size_t stack_size,
		     uint32_t pool_max, uint32_t streak_limit, int deterministic, uint64_t seed)
{
	memset(s, 0, sizeof(*s));
	asup__worker_init(&s->w0, a, 0);
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

void asup__sched_check_timers(asup__sched *s)
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

/* Cancel, due timed or fallback work, with the streak rule. */
asup__task *asup__sched_pick_slow(asup__sched *s, asup__worker *w)
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
		asup__sched_check_timers(s);
	if (__builtin_expect(w->cancel.n || w->timed.len || !w->ready.n || s->probe.emit, 0))
		return asup__sched_pick_slow(s, w);
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

void asup__sched_run_picked(asup__sched *s, asup__task *t)
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
		asup__sched_run_picked(s, t);
	return t;
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
