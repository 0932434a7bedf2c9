/*
 * asupersync/rt.h - the runtime object.
 *
 * An asup_rt owns every task, stack and timer created in it. There is no
 * hidden global runtime: several runtimes (real and deterministic) can live in
 * one process, each driven by one thread at a time.
 *
 * Ownership: asup_rt_create returns an owned runtime, released by
 * asup_rt_destroy. The config is borrowed (copied during the call).
 *
 * Modes:
 *   ASUP_MODE_REAL           monotonic clock; FIFO among equally ready tasks.
 *   ASUP_MODE_DETERMINISTIC  virtual clock starting at 0; a seeded choice among
 *                            equally ready tasks. The same seed and program give
 *                            the same schedule. Adds single-stepping.
 */
#ifndef ASUPERSYNC_RT_H
#define ASUPERSYNC_RT_H

#include <stdio.h>

#include "core.h"
#include "cx.h"
#include "obligation.h"
#include "region.h"
#include "report.h"
#include "simnet.h"
#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum asup_mode {
	ASUP_MODE_REAL = 0,
	ASUP_MODE_DETERMINISTIC = 1,
} asup_mode;

/* Allocation hooks. Both set, or both NULL for malloc/free. alloc returns
 * NULL on failure; the runtime then reports -ENOMEM and changes nothing. */
typedef struct asup_alloc_hooks {
	void *(*alloc)(void *ud, size_t size);
	void (*free)(void *ud, void *ptr, size_t size);
	void *ud;
} asup_alloc_hooks;

/* The I/O reactor's backend (see asupersync/net.h). */
typedef enum asup_io_backend {
	ASUP_IO_AUTO = 0,  /* io_uring where the kernel allows it, else epoll;
	                      epoll under valgrind, where a thread waiting
	                      in io_uring stops every other thread (the
	                      blocking pool, posters) */
	ASUP_IO_URING = 1, /* io_uring; asup_rt_create fails with -ENOSYS
	                      where it cannot be had. Under valgrind, a call
	                      finished by another thread (asup_resolve, a
	                      post) may wait for ever. Its ring serves one
	                      thread: run the runtime again from another
	                      thread only with no I/O call left waiting
	                      (else those calls never complete) */
	ASUP_IO_EPOLL = 2,
} asup_io_backend;

typedef struct asup_rt_config {
	asup_mode mode;
	uint64_t seed;                /* deterministic mode: schedule seed */
	size_t stack_size;            /* default usable stack per task, bytes
	                                 (16 KiB .. 1 GiB; rounded up to pages) */
	uint32_t stack_pool_max;      /* warm stacks kept for reuse when the
	                                 runtime goes idle (0 .. 1<<20); while it
	                                 is busy every finished task's stack is
	                                 kept, so exits never unmap; while tasks
	                                 are live, an idle moment keeps as many
	                                 as tasks live and gives only the memory
	                                 of the rest back (their address space
	                                 stays until no task is live) */
	uint32_t cancel_streak_limit; /* L of the fairness rule (1 .. 65536) */
	int auto_advance;             /* deterministic: asup_rt_step jumps virtual
	                                 time to the next timer when all are blocked */
	int overflow_report;          /* report stack overflows by task name */
	uint64_t max_steps;           /* deterministic: asup_rt_run gives up after
	                                 this many dispatches (0 = no limit), also
	                                 when tasks only yield to each other; under
	                                 a limit every dispatch returns to the run
	                                 loop (no direct task-to-task switch) */
	uint32_t cancel_chain_depth;  /* cause-chain depth limit (1 .. 1024) */
	uint32_t blocking_threads;    /* real mode: most threads of the blocking
	                                 pool (0 .. 1024; 0 = run blocking work
	                                 inline on the task's stack) */
	asup_leak_response leak_response;   /* what a leaked obligation does */
	uint64_t leak_escalate_after; /* from the leak that brings the count of
	                                 leaks found to this many on (0 = never),
	                                 that leak included, ... */
	asup_leak_response leak_escalate_to; /* ... respond like this instead */
	asup_alloc_hooks alloc;
	asup_report_fn report;        /* where reports go (asupersync/report.h):
	                                 default asup_report_stderr; NULL
	                                 silences them */
	void *report_ud;              /* passed to report */
	asup_io_backend io_backend;   /* the reactor is created at the first
	                                 I/O call, so runtimes without I/O
	                                 never pay for it */
	asup_simnet_config net;       /* deterministic mode: the simulated
	                                 network the socket calls use
	                                 (asupersync/simnet.h) */
} asup_rt_config;

typedef struct asup_rt asup_rt;

/* Fills cfg with the defaults: real mode, 64 KiB stacks, pool of 1024 stacks,
 * streak limit 16, auto-advance on, overflow reports on, cause chains of 16,
 * leaks logged (escalation off), up to 4 blocking threads, reports to
 * stderr. */
ASUP_API void asup_rt_config_init(asup_rt_config *cfg);

/* Creates a runtime. -EINVAL for a bad config (names no field; see
 * asup_rt_config_check), -ENOMEM, -ENOSYS (io_backend ASUP_IO_URING where
 * io_uring is not available). *out is set only on success. */
ASUP_API ASUP_NODISCARD int asup_rt_create(const asup_rt_config *cfg, asup_rt **out);
/* 0 if cfg is valid, else -EINVAL and *field names the first bad field. */
ASUP_API int asup_rt_config_check(const asup_rt_config *cfg, const char **field);

/*
 * Destroys a runtime and everything in it. Tasks that never finished (after
 * a deadlock or a step-by-step session left midway) are discarded: their
 * stacks are freed and C cleanup past their suspension point does not run.
 * -EINVAL for NULL; -ASUP_ERUNNING if it is running (nothing is freed).
 */
ASUP_API int asup_rt_destroy(asup_rt *rt);

/*
 * Runs fn(cx, arg) as the root task and drives the runtime until every task
 * has finished. *out (may be NULL) receives the root task's outcome.
 * Returns 0; -EDEADLK if every remaining task is blocked with nothing that
 * can wake one (the outcome is then unavailable; each blocked task is
 * reported, kind ASUP_REPORT_DEADLOCK, and the tasks stay as they are until
 * asup_rt_cancel or asup_rt_destroy); -ASUP_ESTEPLIMIT
 * (deterministic, max_steps hit); -ASUP_ERUNNING if the runtime is already
 * running; -ASUP_EINTASK if called from inside a task; -EINVAL for NULL.
 */
ASUP_API ASUP_NODISCARD int asup_rt_run(asup_rt *rt, asup_task_fn fn, void *arg,
					asup_outcome *out);

/* Spawns a task into the root region from outside any task (for
 * step-by-step driving). */
ASUP_API ASUP_NODISCARD int asup_rt_spawn(asup_rt *rt, asup_task_fn fn, void *arg,
					  const asup_spawn_opts *opts, asup_task *out);
/* There is no worker outside a task: always -ASUP_ENOLOCAL, creating nothing
 * (-EINVAL for NULL arguments). */
ASUP_API int asup_rt_spawn_local(asup_rt *rt, asup_task_fn fn, void *arg,
				 const asup_spawn_opts *opts, asup_task *out);
/* The handles that tasks spawned from outside inherit (copied). */
ASUP_API int asup_rt_set_handles(asup_rt *rt, const asup_cx_handles *h);
/* Limits of the root region. */
ASUP_API int asup_rt_set_root_limits(asup_rt *rt, const asup_region_limits *l);
/* The id of the root region. */
ASUP_API uint64_t asup_rt_root_region(asup_rt *rt);

/*
 * Deterministic mode: dispatches one task and runs it until it suspends or
 * finishes. Returns 1 if a task ran, 0 if none was runnable. With
 * auto_advance on, a step that finds nothing runnable but a timer armed
 * first moves virtual time to that timer and runs the task it woke (1);
 * without it, time moves only by asup_rt_advance.
 * -ASUP_ENOTDET in real mode, -ASUP_ERUNNING while asup_rt_run is active.
 */
ASUP_API int asup_rt_step(asup_rt *rt);
/* Steps until nothing is runnable; returns the number of steps (or < 0). */
ASUP_API int64_t asup_rt_run_until_idle(asup_rt *rt);
/* Deterministic mode: moves virtual time forward by ns (timers fire at the
 * next step). -ASUP_ENOTDET in real mode. */
ASUP_API int asup_rt_advance(asup_rt *rt, uint64_t ns);
/* The runtime's clock (virtual in deterministic mode). */
ASUP_API asup_time asup_rt_now(asup_rt *rt);

typedef struct asup_rt_stats {
	uint64_t tasks_spawned;
	uint64_t tasks_completed;
	uint32_t tasks_live;          /* spawned and not finished */
	uint32_t task_records;        /* records held (live + finished, unjoined) */
	uint64_t dispatches;
	uint64_t switches;
	uint64_t parks;
	uint64_t wakes;
	uint64_t wakes_deduped;
	uint64_t cancel_dispatches;
	uint64_t timed_dispatches;
	uint64_t ready_dispatches;
	uint32_t max_cancel_streak;
	uint64_t stacks_mapped;
	uint64_t stacks_reused;
	uint32_t stacks_pooled;
	uint32_t timers_armed;
	/* Obligations: pending now, and resolved so far by how they ended. A
	 * leak answered with ASUP_LEAK_RECOVER counts as aborted (the
	 * obligation ends Aborted) and in leaks_detected, not in
	 * obligations_leaked; leaks_detected counts every leak found, whatever
	 * the leak response made of it. */
	uint32_t obligations_pending;
	uint64_t obligations_committed;
	uint64_t obligations_aborted;
	uint64_t obligations_leaked;
	uint64_t leaks_detected;
} asup_rt_stats;

ASUP_API int asup_rt_stats_get(asup_rt *rt, asup_rt_stats *out);

/*
 * Cancels, from outside, everything the runtime still holds (typically after
 * asup_rt_run returned -EDEADLK): every task of the root region and every
 * region below it is cancel-requested with `kind` and `msg` (msg may be NULL;
 * borrowed), then the runtime is driven until those tasks have finished and
 * those regions closed, their finalizers included. The root region stays
 * open, so the runtime can be run again afterwards or destroyed with nothing
 * discarded. Returns 0 once nothing is left; -EDEADLK if some task still
 * cannot finish (it waits masked, or its cleanup blocks); -ASUP_ESTEPLIMIT
 * (deterministic, max_steps hit); -ASUP_ERUNNING while the runtime is running
 * (from a task, use asup_scope_cancel); -ASUP_EINTASK from inside any task;
 * -EINVAL for NULL or a bad kind; -EPERM for a lab runtime. Without memory
 * for the reason the cancel still happens, with a reason of the kind and no
 * message.
 */
ASUP_API ASUP_NODISCARD int asup_rt_cancel(asup_rt *rt, asup_cancel_kind kind, const char *msg);

/*
 * Prints the region tree to f: each region with its state, cancel reason and
 * counts, and under it each live task with its name, id, scheduling and
 * cancel-protocol states, cancel reason and what it waits on (mutex, channel
 * receive or send, join of task T, close of region R, wait queue, park,
 * timer, blocking call). Walks the tree without recursion, whatever its
 * depth; deep regions are indented at most 32 levels and carry their depth.
 * Returns 0, -EINVAL for NULL, -ASUP_ERUNNING while the runtime is running
 * (from one of its tasks use asup_cx_dump), -EIO if writing failed.
 */
ASUP_API int asup_rt_dump(asup_rt *rt, FILE *f);
/* The same listing from inside a task of the runtime (the caller shows as
 * running). Never suspends. -ASUP_ENOTASK when cx is not the running task's;
 * -EINVAL for a NULL f; -EIO if writing failed. */
ASUP_API int asup_cx_dump(asup_cx *cx, FILE *f);

#ifdef __cplusplus
}
#endif
#endif
