/*
 * The workers of a scheduler: their creation, stealing between them and the
 * step that runs one task on a chosen worker (a driver's step, and the place
 * where workers on their own threads will grow).
 *
 * Owns: making the worker array (s->workers, s->nworkers; asup__sched_destroy
 * frees it) and which worker is current (s->w). Must not touch: the kernel, the fiber switch (it goes
 * through asup__sched_run_picked), timers other than firing due ones.
 * Invariants: 1 <= nworkers <= ASUP__WORKERS_MAX; the array is replaced only
 * while no task exists; a stolen task is ready and not local, and moves with
 * the batch the steal rule picks, so a recorded steal replays exactly.
 */
#include "lanes.h"

#include <errno.h>

/* ---- workers ----------------------------------------------------------- */

void asup__worker_init(asup__worker *w, const asup__alloc *a, uint32_t index)
{
	lane_init(&w->cancel);
	lane_init(&w->ready);
	asup__heap_init(&w->timed, a);
	w->cancel_streak = 0;
	w->index = index;
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
		asup__worker_init(&ws[i], a, i);
	asup__heap_destroy(&s->w0.timed);
	s->workers = s->w = ws;
	s->nworkers = n;
	s->cap_tasks = 0;
	s->workers_alloc = *a;
	return 0;
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
		asup__sched_check_timers(s);
	for (uint32_t i = 0; i < n && !t; i++) {
		s->w = &s->workers[(w + i) % n];
		t = asup__sched_pick_slow(s, s->w);
		if (!t && i == 0 && n > 1)
			t = steal(s, s->w);
	}
	if (t)
		asup__sched_run_picked(s, t);
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
		asup__sched_check_timers(s);
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
		asup__sched_run_picked(s, steal_batch(s, v, s->w));
		return 0;
	}
	dequeue(s, t);
	s->w = &s->workers[w];
	dispatched(s, s->w, t, lane);
	asup__sched_run_picked(s, t);
	return 0;
}
