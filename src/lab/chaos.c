/*
 * The lab's chaos (asup_lab_chaos): before each step, with the configured
 * probabilities, cancel a live task, delay a queued one, wake a storm of
 * parked ones, or exhaust a live task's poll budget.
 *
 * Owns: the draws (from the lab's own seeded generator, so a seed replays
 * the same chaos) and the CHAOS trace events that record them. Must not
 * touch: the runtime except through rt/drive.h; tasks are chosen uniformly
 * in id order, never by address.
 * Invariants: every chaos action is traced before it takes effect, so the
 * digest and a recording see it; a cancel or budget exhaustion counts as an
 * injection (the verdict expects a cancelled root then).
 */
#include "lab_internal.h"

static int roll(asup_lab *lab, uint32_t ppm)
{
	return ppm && asup__rng_below(&lab->rng, 1000000) < ppm;
}

typedef int (*task_pred)(const asup__drive_task *t);

static int is_live(const asup__drive_task *t)
{
	return t->live;
}

static int is_queued(const asup__drive_task *t)
{
	return t->queued;
}

static int is_parked(const asup__drive_task *t)
{
	return t->parked;
}

/* The walk behind draw_task: counts the tasks satisfying pred, or stops at
 * the k-th of them. */
struct draw {
	task_pred pred;
	uint64_t n, k;
	int pick;
	asup__drive_task got;
};

static int draw_one(void *ctx, const asup__drive_task *t)
{
	struct draw *d = ctx;

	if (!d->pred(t))
		return 0;
	if (!d->pick) {
		d->n++;
		return 0;
	}
	if (d->k-- != 0)
		return 0;
	d->got = *t;
	return 1;
}

/* A uniformly drawn task (in id order) satisfying pred: 1 and *out, or 0. */
static int draw_task(asup_lab *lab, task_pred pred, asup__drive_task *out)
{
	struct draw d = {.pred = pred};

	asup__drive_each_task(lab->rt, draw_one, &d);
	if (!d.n)
		return 0;
	d.k = asup__rng_below(&lab->rng, d.n);
	d.pick = 1;
	if (!asup__drive_each_task(lab->rt, draw_one, &d))
		return 0;
	*out = d.got;
	return 1;
}

static void chaos_event(asup_lab *lab, uint64_t kind, const asup__drive_task *t, uint64_t detail)
{
	lab->chaos_n++;
	asup__drive_trace(lab->rt, ASUP_EV_CHAOS, t ? t->id : ASUP_ID_NONE,
			  t ? t->region : ASUP_ID_NONE, kind, detail);
}

struct announce {
	asup_lab *lab;
	const asup__drive_task *t;
};

/* A chaos cancel is traced once its reason exists, before the abort. */
static void announce_cancel(void *ctx)
{
	struct announce *a = ctx;

	a->lab->injected++;
	chaos_event(a->lab, CHAOS_CANCEL, a->t, 0);
}

void asup__lab_chaos(asup_lab *lab)
{
	const asup_lab_chaos *c = &lab->cfg.chaos;
	asup__drive_task t;

	if (roll(lab, c->cancel_ppm) && draw_task(lab, is_live, &t)) {
		struct announce a = {lab, &t};
		asup__drive_abort_task(lab->rt, t.id, ASUP_CANCEL_USER, "chaos", announce_cancel,
				       &a);
	}
	if (roll(lab, c->delay_ppm) && draw_task(lab, is_queued, &t)) {
		chaos_event(lab, CHAOS_DELAY, &t, 0);
		asup__drive_requeue(lab->rt, t.id);
	}
	if (roll(lab, c->storm_ppm)) {
		uint64_t n = 1 + asup__rng_below(&lab->rng, c->storm_max), woke = 0;
		while (n-- && draw_task(lab, is_parked, &t))
			woke += asup__drive_unpark(lab->rt, t.id);
		chaos_event(lab, CHAOS_STORM, NULL, woke);
	}
	if (roll(lab, c->budget_ppm) && draw_task(lab, is_live, &t)) {
		lab->injected++;
		chaos_event(lab, CHAOS_BUDGET, &t, 0);
		asup__drive_exhaust_budget(lab->rt, t.id);
	}
}

int asup__lab_chaos_on(const asup_lab_chaos *c)
{
	return c->cancel_ppm | c->delay_ppm | c->storm_ppm | c->budget_ppm;
}
