/*
 * Scheduler layer: the task record's scheduling half, three lanes, the run
 * loop, park/unpark and wait queues.
 *
 * Owns: lane membership, the running task, wake de-duplication. Must not
 * touch: regions, outcomes, cancel reasons (kernel), the timer queue or the
 * clock (time layer; reached only through the backend hooks that the runtime
 * wires in).
 *
 * Task scheduling states (t->state):
 *
 *   NEW --dispatch--> RUNNING --park--> PARKED --unpark/timer/interrupt--> READY
 *                        |  ^                                                |
 *                        |  +-------------------dispatch--------------------+
 *                        +--yield--> READY          RUNNING --exit--> DONE
 *
 * Invariants (asup__sched_check):
 * - a task is in at most one lane, and t->lane says which (wake de-dup);
 * - READY/NEW tasks that are scheduled are in exactly one lane;
 * - PARKED and RUNNING and DONE tasks are in no lane;
 * - at most one task is RUNNING per scheduler, and it is s->current;
 * - the ready and cancel lanes' bitmaps have bit p set iff bucket p is
 *   non-empty, and n_ready/n_cancel count their entries.
 */
#ifndef ASUP_SCHED_H
#define ASUP_SCHED_H

#include <stdint.h>

#include "asupersync/core.h"
#include "asupersync/trace.h"
#include "../fiber/fiber.h"
#include "../util/heap.h"
#include "../util/list.h"
#include "../util/rng.h"

typedef struct asup__task asup__task;
typedef struct asup__sched asup__sched;

enum asup__tstate {
	ASUP__T_NEW = 0,     /* spawned, never run; has no stack yet */
	ASUP__T_READY = 1,   /* in a lane */
	ASUP__T_RUNNING = 2, /* on the CPU */
	ASUP__T_PARKED = 3,  /* suspended until unpark, timer or interrupt */
	ASUP__T_DONE = 4,    /* its function returned or it panicked */
};

enum asup__lane {
	ASUP__LANE_NONE = 0,
	ASUP__LANE_CANCEL = 1,
	ASUP__LANE_TIMED = 2,
	ASUP__LANE_READY = 3,
};

#define ASUP__NAME_MAX 32

/*
 * The task record. Fields are grouped by the layer that writes them; other
 * layers only read what they are told they may.
 */
struct asup__task {
	/* -- sched: written by the scheduler on its thread only. The first 64
	 * bytes are what dispatch touches; keep them together. -- */
	asup__list lane_link;    /* bucket link in the ready or cancel lane */
	uint8_t state;           /* enum asup__tstate */
	uint8_t lane;            /* enum asup__lane; NONE unless READY/NEW-scheduled */
	uint8_t priority;        /* ready-lane priority, higher runs first */
	uint8_t cancel_priority; /* cancel-lane priority */
	uint8_t notified;        /* an unpark arrived while not parked */
	uint8_t parked_timer;    /* the park armed a timer */
	uint8_t qprio;           /* the bucket it sits in while in a priority lane */
	uint8_t local;           /* pinned to its worker: never stolen (kernel sets) */
	uint16_t masked;         /* interrupts deferred while > 0 (kernel writes) */
	uint16_t worker;         /* the worker whose lanes it is queued in */
	int interrupt;           /* sticky interrupt code (-ECANCELED) or 0 (kernel writes) */
	int wake_code;           /* why the last park ended: 0, deadline code, interrupt */
	int deadline_code;       /* the code a park's timer delivers */
	uint64_t seq;            /* FIFO tie-break in the timed lane */
	asup__stack *stack;      /* bound at first dispatch, returned at exit */
	asup__sched *sched;      /* the scheduler it belongs to; fixed */
	asup__fiber fiber;       /* context; valid while it has a stack */
	uint64_t id;             /* the kernel's task id, for trace events */
	size_t stack_size;       /* requested usable stack size, 0 = default */
	asup__hnode timed_node;  /* timed lane node: key = deadline */
	asup__hnode timer_node;  /* time layer: the park's timer, key = when */
	char name[ASUP__NAME_MAX]; /* set by the kernel; shown in reports */
	/* Last, next to the kernel's record fields a join reads. */
	uint32_t gen;            /* bumped when the record is reused (wakers) */
	uint32_t index;          /* arena index, for reports; set by the kernel */
};

/* Hooks the runtime wires in: the clock and the timer queue (time layer),
 * and the task body and its end (kernel). */
typedef struct asup__sched_backend {
	/* Runs the body of task t on its own stack (returns when it finished). */
	void (*task_main)(void *kctx, asup__task *t);
	asup_time (*now)(void *ctx);
	int (*timer_arm)(void *ctx, asup__task *t, asup_time when);
	void (*timer_disarm)(void *ctx, asup__task *t);
	/* Fires every timer due at `now` (calling asup__sched_timer_expired). */
	void (*timer_fire)(void *ctx, asup_time now);
	/* Called on the loop's stack after a task exited and its stack is back. */
	void (*task_exited)(void *kctx, asup__task *t);
	/* A NEW task could not get a stack; the kernel completes it with rc. */
	void (*task_start_failed)(void *kctx, asup__task *t, int rc);
	void *ctx;   /* for the clock and timer hooks */
	void *kctx;  /* for the task hooks */
} asup__sched_backend;

typedef struct asup__sched_stats {
	uint64_t dispatches;   /* tasks resumed */
	uint64_t switches;     /* fiber switches */
	uint64_t parks;        /* parks that suspended */
	uint64_t wakes;        /* unparks that scheduled a task */
	uint64_t wakes_deduped;/* unparks that found the task already scheduled */
	uint64_t cancel_dispatches;
	uint64_t timed_dispatches;
	uint64_t fallback_cancel_dispatches;
	uint32_t max_cancel_streak;
} asup__sched_stats;

/* A bucketed priority queue: FIFO within a priority, highest priority first. */
typedef struct asup__prio_lane {
	int top;            /* highest non-empty priority, -1 when empty */
	uint64_t bitmap[4];
	asup__list bucket[256];
	uint32_t count[256];
	uint32_t n;
} asup__prio_lane;

/*
 * A worker's three lanes and its cancel streak. The real runtime has one
 * worker; a driven runtime (rt/drive.h) runs several virtual workers on one
 * thread, its driver choosing one per step. A task is queued only in the lanes of t->worker; stealing moves
 * ready, non-local tasks to the thief.
 */
typedef struct asup__worker {
	asup__prio_lane cancel;    /* cancel lane */
	asup__heap timed;          /* timed lane: EDF by deadline, FIFO ties */
	asup__prio_lane ready;     /* ready lane */
	uint32_t cancel_streak;    /* consecutive cancel-lane dispatches */
	uint32_t index;
} asup__worker;

/* Where trace events go (the runtime wires it; NULL emit = not tracing).
 * The sink completes the record (seq, step, time, worker) from the
 * scheduler it was wired to. The fields travel as arguments, not as a
 * record on the caller's stack, so that the sink writes each one once
 * where it keeps it. */
typedef struct asup__probe {
	void (*emit)(void *ctx, uint32_t type, uint64_t task, uint64_t region, uint64_t a,
		     uint64_t b);
	void *ctx;
} asup__probe;

#define ASUP__WORKERS_MAX 64

struct asup__sched {
	asup__fiber loop;          /* the thread stack the run loop lives on */
	asup__task *current;       /* RUNNING task, or NULL on the loop */
	asup__worker *w;           /* the worker dispatching now */
	asup__worker *workers;     /* nworkers of them; &w0 when there is one */
	uint32_t nworkers;
	uint32_t rr;               /* round-robin worker for the next admitted task */
	asup__alloc workers_alloc; /* what allocated `workers` (when not &w0) */
	asup__probe probe;
	const asup_time *vclock;   /* the virtual clock, when there is one (events
	                              read it directly) */
	asup__stack_pool stacks;
	asup__sched_backend be;
	asup__rng rng;             /* deterministic mode: steal victims */
	uint64_t place_key;        /* deterministic mode: seeds the places of */
	uint64_t places;           /* entries in a bucket (see lane_push) */
	uint32_t rec_bytes;        /* bytes of a task record worth prefetching
	                              (the kernel sets its full record size) */
	asup_time now_cached;      /* clock reading at the last timer check */
	asup_time timer_min;       /* earliest armed timer; written by the time layer */
	uint64_t seq;              /* next FIFO sequence number */
	uint32_t streak_limit;     /* cancel-streak limit L */
	uint32_t clock_tick;       /* rate-limits clock reads in real mode */
	uint8_t deterministic;     /* seeded choice among equals, virtual clock */
	uint8_t direct;            /* may switch task-to-task without the loop */
	uint8_t in_loop;           /* a run loop is active on some thread */
	asup__task *exited;        /* exited task whose stack the loop must release */
	uint32_t ntasks;           /* admitted and not yet exited */
	uint32_t cap_tasks;        /* tasks every worker's timed lane has room for */
	uint8_t last_lane;         /* lane of the last dispatch (ASUP_LANE_*) */
	asup__sched_stats stats;
	asup__worker w0;           /* the first worker, inline */
};

int asup__sched_init(asup__sched *s, const asup__alloc *a, size_t stack_size,
		     uint32_t pool_max, uint32_t streak_limit, int deterministic, uint64_t seed);
/* Gives the scheduler n virtual workers (1 .. ASUP__WORKERS_MAX) before any
 * task is admitted. 0, -EINVAL, -ENOMEM. */
int asup__sched_set_workers(asup__sched *s, const asup__alloc *a, uint32_t n);
void asup__sched_destroy(asup__sched *s);
void asup__sched_set_backend(asup__sched *s, const asup__sched_backend *be);

/* Makes a NEW task known to the scheduler and puts it in the ready lane.
 * 0 or -ENOMEM (nothing changed); never fails after asup__sched_reserve
 * succeeded. */
int asup__sched_admit(asup__sched *s, asup__task *t);
/* Room for one more task in the lanes. 0 or -ENOMEM. */
int asup__sched_reserve_slow(asup__sched *s);
static inline int asup__sched_reserve(asup__sched *s)
{
	return s->ntasks < s->cap_tasks ? 0 : asup__sched_reserve_slow(s);
}

/*
 * Dispatch one task and run it until it suspends or exits (on the loop's
 * stack). Returns the task that ran, or NULL if none was runnable.
 */
asup__task *asup__sched_run_one(asup__sched *s);
/*
 * A driver's step: worker `w` dispatches by its own rule, else steals ready
 * work from another worker; if it finds nothing, the next workers in order
 * try their own lanes. Returns the task that ran or NULL.
 */
asup__task *asup__sched_run_one_on(asup__sched *s, uint32_t w);
/* Replay: runs task t (which must be queued) on worker w. -ESRCH if t is
 * not queued, -EPERM if it is local to another worker; 0 after it ran. */
int asup__sched_run_task(asup__sched *s, asup__task *t, uint32_t w);

/*
 * Suspends the running task `self` until unparked, its timer (if deadline !=
 * ASUP_TIME_MAX) fires, or an unmasked interrupt arrives. Returns the wake
 * code: 0 for an unpark, deadline_code for the timer, the interrupt code.
 * Returns at once with 0 if an unpark arrived while it was running, and with
 * the interrupt code if one is pending and unmasked. -ENOMEM if the timer
 * could not be armed.
 */
int asup__sched_park(asup__sched *s, asup__task *self, asup_time deadline, int deadline_code);
/* Puts the running task at the back of the ready lane and runs another. */
void asup__sched_yield(asup__sched *s, asup__task *self);
/* Ends the running task; never returns. */
ASUP_NORETURN void asup__sched_exit(asup__sched *s, asup__task *self);

/* Wake a PARKED task with code 0. Returns 1 if it was scheduled, 0 if it was
 * already scheduled, running (remembered) or done. */
int asup__sched_unpark(asup__sched *s, asup__task *t);
/* Sets a sticky interrupt; wakes the task into the cancel lane if it is
 * parked and not masked, promotes it to the cancel lane if it is queued. */
void asup__sched_interrupt(asup__sched *s, asup__task *t, int code);
/* Sends a task queued in the ready or cancel lane to the back of its
 * bucket (a driver's injected delay); other tasks are left alone. */
void asup__sched_requeue(asup__sched *s, asup__task *t);
/* Called by the time layer when the park timer of `t` fired. */
void asup__sched_timer_expired(asup__sched *s, asup__task *t);

/* Removes a task that will never run again (runtime teardown) from its lane
 * and releases its stack. C cleanup past its suspension point does not run. */
void asup__sched_discard(asup__sched *s, asup__task *t);
/* Time: a reading through the clock hook (also refreshes now_cached). */
asup_time asup__sched_now(asup__sched *s);
/* The clock when exactness is cheap (deterministic: virtual time), else the
 * reading of the last timer check (real mode, no system call). */
static inline asup_time asup__sched_now_cheap(asup__sched *s)
{
	return s->deterministic ? s->be.now(s->be.ctx) : s->now_cached;
}
/* 1 if any task is in a lane. */
int asup__sched_has_ready(const asup__sched *s);
/* 1 if t sits in a lane (runnable now or at its timed-lane deadline). */
static inline int asup__sched_is_queued(const asup__task *t)
{
	return t->lane != 0;
}

/* Trace events. The branch is all a runtime without tracing pays. */
static inline void asup__trace_emit(asup__sched *s, uint32_t type, uint64_t task,
				    uint64_t region, uint64_t a, uint64_t b)
{
	s->probe.emit(s->probe.ctx, type, task, region, a, b);
}
static inline void asup__trace(asup__sched *s, uint32_t type, uint64_t task, uint64_t region,
			       uint64_t a, uint64_t b)
{
	if (__builtin_expect(s->probe.emit != NULL, 0))
		asup__trace_emit(s, type, task, region, a, b);
}
/* 0 if every invariant holds, -EINVAL otherwise. */
int asup__sched_check(const asup__sched *s);

#include "wait.h"

#endif
