/*
 * Kernel layer: task records, the cx, spawn, join, outcomes.
 *
 * Owns: the task arena (generational ids), task records and their recycling,
 * each task's cx. Must not touch: lanes or fibers directly (only through the
 * sched API), the clock (only asup__sched_now), the timer queue.
 *
 * Record lifecycle:
 *   allocated -> in arena, live (NEW..PARKED) -> finished (DONE, outcome set,
 *   joiners woken, stack returned) -> freed when joined or released (or at
 *   runtime destruction) -> recycled with gen + 1.
 *
 * Invariants (asup__kernel_check): every arena entry is a record whose id is
 * its arena id; live == records not DONE; a freed record is on the free list
 * and in no lane.
 */
#ifndef ASUP_KERNEL_H
#define ASUP_KERNEL_H

#include "asupersync/task.h"
#include "../sched/sched.h"
#include "../util/arena.h"

#define ASUP__CX_MAGIC 0x61737570u /* "asup" */
#define ASUP__CANCEL_PRIORITY_USER 200

typedef struct asup__kernel asup__kernel;
typedef struct asup__ktask asup__ktask;

struct asup_cx {
	uint32_t magic;      /* ASUP__CX_MAGIC while the record is in use */
	asup__kernel *k;
	asup__ktask *kt;
	asup_time deadline;  /* effective deadline of the open asup_timeout scopes */
};

struct asup__ktask {
	asup__task t;          /* first: the scheduler's half */
	struct asup_cx cx;
	asup_task_fn fn;
	void *arg;
	asup_outcome_kind kind; /* the outcome, valid once t.state == DONE */
	int64_t value;
	char *panic_msg;       /* owned; allocated by asup_panic, freed with the record */
	asup__list joiners;    /* tasks parked in asup_join */
	asup__list free_link;  /* on the kernel free list while recycled */
	uint64_t id;           /* arena id */
	uint8_t released;      /* handle given up: free at exit */
	uint8_t in_use;        /* allocated to a task (not on the free list) */
};

struct asup__kernel {
	asup__alloc alloc;
	asup__sched *sched;
	asup__arena tasks;
	asup__list free_recs;
	uint32_t nfree;
	uint32_t live;
	uint64_t spawned, completed;
};

int asup__kernel_init(asup__kernel *k, const asup__alloc *a, asup__sched *s);
void asup__kernel_destroy(asup__kernel *k);
/* The hooks the scheduler calls (wired by the runtime). */
void asup__kernel_task_main(asup__kernel *k, asup__task *t);
void asup__kernel_task_exited(asup__kernel *k, asup__task *t);
void asup__kernel_task_start_failed(asup__kernel *k, asup__task *t, int rc);

int asup__kernel_spawn(asup__kernel *k, asup_task_fn fn, void *arg,
		       const asup_spawn_opts *opts, asup_task *out);
/* The running task of cx, or NULL if cx is not the running task's. */
static inline asup__ktask *asup__cx_self(asup_cx *cx)
{
	if (!cx || cx->magic != ASUP__CX_MAGIC || cx->k->sched->current != &cx->kt->t)
		return NULL;
	return cx->kt;
}

/* The checkpoint rule: -ASUP_ENOTASK, then -ECANCELED, -ETIMEDOUT or 0.
 * Inline: every suspending call starts with it. */
static inline int asup__cx_checkpoint(asup_cx *cx)
{
	asup__ktask *kt = asup__cx_self(cx);

	if (!kt)
		return -ASUP_ENOTASK;
	if (kt->t.interrupt && !kt->t.masked)
		return kt->t.interrupt;
	if (cx->deadline != ASUP_TIME_MAX && asup__sched_now(cx->k->sched) >= cx->deadline)
		return -ETIMEDOUT;
	return 0;
}
int asup__kernel_check(const asup__kernel *k);

static inline asup__ktask *asup__ktask_of(asup__task *t)
{
	return (asup__ktask *)t;
}

#endif
