/*
 * The front door through which a driver above the rt layer runs
 * a runtime one dispatch at a time. Everything a driver needs from the
 * scheduler and the kernel goes through these calls; the driver never reads
 * or writes their fields, and the scheduler does not know who drives it (it
 * emits probe events and calls a checkpoint hook, nothing more).
 *
 * Owns: nothing; it borrows the runtime. Must not touch: anything while the
 * runtime is not entered by the calling thread (asup__rt_enter), except
 * attach, set_probe and the read-only calls.
 * Invariants: a driven runtime refuses asup_rt_run and asup_rt_step; once
 * attached, every suspension returns to the driver's loop (one dispatch per
 * step), so each step is one decision the driver records.
 */
#ifndef ASUP_RT_DRIVE_H
#define ASUP_RT_DRIVE_H

#include "rt_internal.h"

/* Trace events go to emit (the scheduler's probe); the kernel calls
 * checkpoint at every checkpoint of a task (see kernel.h). */
typedef struct asup__drive_hooks {
	void (*emit)(void *ctx, uint32_t type, uint64_t task, uint64_t region, uint64_t a,
		     uint64_t b);
	int (*checkpoint)(void *ctx, asup__ktask *kt);
	void *ctx;
} asup__drive_hooks;

/* A task as a driver sees it (a copy: valid until the next call). */
typedef struct asup__drive_task {
	uint64_t id;
	uint64_t region;            /* its owner region, or ASUP_ID_NONE */
	uint32_t index;
	const char *name;
	uint8_t completed;          /* the record completed (it may await its join) */
	uint8_t live;               /* not completed and not a cleanup task */
	uint8_t queued;             /* in a ready or cancel lane */
	uint8_t parked;
} asup__drive_task;

/* ---- attaching --------------------------------------------------------- */

/* n virtual workers on the calling thread (before any task exists). 0,
 * -EINVAL, -ENOMEM. */
int asup__drive_set_workers(asup_rt *rt, uint32_t n);
/* Installs the hooks, emits the root region's creation (it was made before
 * the probe existed) and switches to stepping: every suspension returns to
 * the driver's loop. */
void asup__drive_attach(asup_rt *rt, const asup__drive_hooks *h);
/* Replaces the probe only (NULL silences the trace, e.g. during teardown). */
void asup__drive_set_probe(asup_rt *rt, const asup__drive_hooks *h);

/* ---- stepping: the seam where workers on their own threads will grow --- */

/* Runs one task on worker w (its own rule, else stealing, else the next
 * worker). 1 ran, 0 nothing could run. */
int asup__drive_step(asup_rt *rt, uint32_t w);
/* Runs task `id` on worker w, as a recorded step demands. 0, -ESRCH (not
 * runnable now), -EPERM (it cannot move to w), -EINVAL. */
int asup__drive_run_task(asup_rt *rt, uint64_t id, uint32_t w);
/* Makes w the current worker, as a dispatch that found nothing leaves it. */
void asup__drive_idle(asup_rt *rt, uint32_t w);
/* 1 if a task could run now or (with auto_advance) a timer is armed. */
int asup__drive_pending(asup_rt *rt, int auto_advance);
/* Jumps virtual time to the next timer when nothing is ready. 1 if it moved. */
int asup__drive_advance_if_idle(asup_rt *rt);

/* ---- tasks ------------------------------------------------------------- */

/* Calls fn on every task in id order until fn returns nonzero (which is
 * returned), else 0. */
int asup__drive_each_task(asup_rt *rt, int (*fn)(void *ctx, const asup__drive_task *t),
			  void *ctx);
/* The view of the task a checkpoint hook was called for. */
void asup__drive_task_of(const asup__ktask *kt, asup__drive_task *out);
/* Aborts task id with a reason of `kind` (origin: its owner region). When
 * the reason exists, announce runs first (a driver traces its own event
 * there). 1 aborted, 0 no memory for a reason or no such task. */
int asup__drive_abort_task(asup_rt *rt, uint64_t id, asup_cancel_kind kind, const char *msg,
			   void (*announce)(void *ctx), void *ctx);
/* Sends a queued task to the back of its priority bucket. */
void asup__drive_requeue(asup_rt *rt, uint64_t id);
/* Wakes a parked task as a spurious wake-up would. 1 woke it. */
int asup__drive_unpark(asup_rt *rt, uint64_t id);
/* Exhausts a task's poll budget: its next checkpoint is cancelled. */
void asup__drive_exhaust_budget(asup_rt *rt, uint64_t id);

/* ---- the root region --------------------------------------------------- */

/* The root region's id, or ASUP_ID_NONE once it closed. */
uint64_t asup__drive_root_id(asup_rt *rt);
/* Spawns the root task (fn, arg, named `name`) in the root region. */
int asup__drive_spawn_root(asup_rt *rt, asup_task_fn fn, void *arg, const char *name,
			   asup_task *out);
/* Cancels the root region with a reason of `kind` whose origin is the task
 * of kt (a checkpoint hook's argument). Nothing if the root is gone. */
void asup__drive_cancel_root(asup_rt *rt, asup_cancel_kind kind, const asup__ktask *kt,
			     const char *msg);
/* Begins closing the root region (its finalizers run as tasks). */
void asup__drive_close_root(asup_rt *rt);
/* Gives finalizers that could not start for lack of memory another chance.
 * The number started, 0 or negative when none could. */
int asup__drive_retry_finalizers(asup_rt *rt);
/* Live tasks (not completed). */
uint32_t asup__drive_live(asup_rt *rt);
/* No live task and no live obligation. */
int asup__drive_quiescent(asup_rt *rt);

/* ---- reading, for the probe (inline: called for every event) ---------- */

/* Emits a trace event through the runtime's probe. */
static inline void asup__drive_trace(asup_rt *rt, uint32_t type, uint64_t task, uint64_t region,
				     uint64_t a, uint64_t b)
{
	asup__trace(&rt->sched, type, task, region, a, b);
}

/* Where an event happens: the dispatch count (the step), the current
 * worker, virtual time. */
static inline void asup__drive_where(asup_rt *rt, uint64_t *step, uint32_t *worker,
				     asup_time *now)
{
	*step = rt->sched.stats.dispatches;
	*worker = rt->sched.w->index;
	*now = *rt->sched.vclock;
}

/* The number of workers. */
static inline uint32_t asup__drive_workers(asup_rt *rt)
{
	return rt->sched.nworkers;
}

#endif
