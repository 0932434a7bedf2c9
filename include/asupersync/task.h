/*
 * asupersync/task.h - tasks: spawn, join, yield, panic.
 *
 * A task is a fiber with its own stack running fn(cx, arg). It returns
 * int64_t: a value >= 0 completes it as Ok(value), a negative value as
 * Err(value). asup_panic ends it as Panicked.
 *
 * Ownership:
 * - arg is borrowed by the task for its whole run; the spawner keeps it alive
 *   until the task is joined (the runtime never frees it).
 * - An asup_task is a handle (a value). The task's record, which holds the
 *   outcome, lives until the handle is joined or released, or until the
 *   runtime is destroyed. Copies of a handle refer to the same task; after one
 *   copy joined, the others report -ESRCH.
 * - A cx belongs to its task: never stored, never handed to another task.
 *
 * Every function that takes a cx must be called by the task owning it, on the
 * thread driving its runtime (-ASUP_ENOTASK otherwise: a cx used by another
 * task, or from another thread while its task runs, is refused and nothing
 * happens). Functions that can suspend are checkpoints: they
 * return -ECANCELED when the task is interrupted, and -ETIMEDOUT once the
 * deadline of an enclosing asup_timeout has passed.
 */
#ifndef ASUPERSYNC_TASK_H
#define ASUPERSYNC_TASK_H

#include "cancel.h"
#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ASUP_PANIC_MSG_MAX 128

/*
 * How a task ended, as its handle sees it. A task function returns int64_t:
 * >= 0 is Ok(value), < 0 is Err(value), except that -ECANCELED returned while
 * a cancel was requested is Cancelled(reason). asup_panic makes it Panicked.
 */
typedef struct asup_outcome {
	asup_outcome_kind kind;
	int64_t value;                      /* OK: the value; ERR: the code (< 0) */
	asup_cancel_reason reason;          /* CANCELLED: why */
	char panic_msg[ASUP_PANIC_MSG_MAX]; /* PANICKED: the message, truncated */
} asup_outcome;

typedef struct asup_cx asup_cx;
typedef int64_t (*asup_task_fn)(asup_cx *cx, void *arg);

/*
 * A task handle. Fields are private. A zeroed handle is invalid (-EINVAL).
 * A handle belongs to the runtime its task was spawned in. Every handle call
 * below (join, try_join, is_finished, release, abort, abort_with,
 * set_drop_reason, defuse) made from a task of another runtime, or from a
 * thread other than the one driving the handle's runtime while it runs,
 * returns -EXDEV and changes nothing. From a thread that drives no runtime
 * while nobody drives the handle's (between runs), the calls work.
 */
typedef struct asup_task {
	void *_rec;
	uint64_t _id;
	uint32_t _gen;
	uint32_t _flags;
} asup_task;

#define ASUP_PRIORITY_DEFAULT 128

typedef struct asup_spawn_opts {
	const char *name;   /* copied (first 31 bytes); shown in reports */
	size_t stack_size;  /* 0 = the runtime's default */
	uint8_t priority;   /* ready-lane priority, higher first; never below
	                       the scope budget's (see asup_spawn) */
} asup_spawn_opts;

ASUP_API void asup_spawn_opts_init(asup_spawn_opts *opts);

/*
 * Spawns fn(cx', arg) as a new task of the caller's runtime, in the caller's
 * current scope (the region of the innermost asup_region body the caller is
 * in, else the region the caller was spawned in); it runs when the caller
 * next suspends. Does not suspend. opts may be NULL.
 *
 * Admission: a region takes new tasks only while it is open. Once its body
 * has returned (or it was cancelled) it is closing, and every spawn into it,
 * including one by a task still running there, is refused with -ASUP_ECLOSED
 * and creates nothing; spawn such work from an outer scope instead. A region
 * holding limits.max_tasks tasks refuses with -ASUP_ECAPACITY until one ends.
 *
 * Priority: the task's ready-lane priority is the higher of opts->priority
 * and the scope budget's priority (asup_scope_budget(cx).priority, 128 by
 * default). A spawn priority below the budget's has no effect. Budgets
 * combine by taking the higher priority and the root region's is 128, so with
 * the default budgets priorities 0..127 all act as 128: order tasks with
 * priorities from 128 up.
 *
 * Returns 0, or -EINVAL (NULL fn or out, bad stack size), -ASUP_ECLOSED,
 * -ASUP_ECAPACITY, -ENOMEM, -ASUP_ENOTASK, -EPERM (the caller lacks
 * ASUP_CAP_SPAWN); on error no task exists.
 */
ASUP_API ASUP_NODISCARD int asup_spawn(asup_cx *cx, asup_task_fn fn, void *arg,
				       const asup_spawn_opts *opts, asup_task *out);

/*
 * Waits for the task to finish and copies its outcome to *out (may be NULL).
 * Consumes the handle. -ESRCH (stale), -EXDEV (other runtime), -ASUP_EJOINED
 * (this handle was joined), -EDEADLK (joining itself), -ECANCELED and
 * -ETIMEDOUT (checkpoint; the task keeps running and can be joined later).
 */
ASUP_API ASUP_NODISCARD int asup_join(asup_cx *cx, asup_task *h, asup_outcome *out);

/* Never suspends: 0 and the outcome (consuming the handle) if finished,
 * -EAGAIN if not yet; the other errors as asup_join (-EXDEV: another
 * runtime's task, the handle is kept). */
ASUP_API ASUP_NODISCARD int asup_task_try_join(asup_task *h, asup_outcome *out);
/* 1 if finished, 0 if not, < 0 on a bad handle (-EINVAL, -ESRCH,
 * -ASUP_EJOINED, -EXDEV). */
ASUP_API int asup_task_is_finished(const asup_task *h);
/* Gives up the handle without waiting: the task runs on; its record is
 * freed when it finishes. -ESRCH, -ASUP_EJOINED, -EINVAL, -EXDEV (the
 * handle is kept). */
ASUP_API int asup_task_release(asup_task *h);

/*
 * Requests that the task stop: its next checkpoint (or the one it is parked
 * in) returns -ECANCELED, and it is dispatched from the cancel lane. Does not
 * wait; join to see how it ended. 0, or -ESRCH/-EXDEV/-EINVAL; never
 * -ENOMEM (without memory for the reason a static reason of the same kind is
 * delivered, flagged truncated); a finished task is left as it is (0).
 */
ASUP_API ASUP_NODISCARD int asup_task_abort(asup_task *h);

/* Like asup_task_abort with a reason of the given kind and message. Reasons
 * only strengthen: a weaker one leaves the current one in place. -EINVAL
 * (bad kind), -ESRCH, -EXDEV (nothing requested); never -ENOMEM. */
ASUP_API ASUP_NODISCARD int asup_task_abort_with(asup_task *h, asup_cancel_kind kind, const char *msg);
/* The reason a cancelled join of this task aborts it with (default USER).
 * -EINVAL, -ESRCH, -EXDEV (unchanged). */
ASUP_API int asup_task_set_drop_reason(asup_task *h, asup_cancel_kind kind);
/* A cancelled join of this task will not abort it. -EINVAL, -ESRCH, -EXDEV
 * (not defused). */
ASUP_API int asup_task_defuse(asup_task *h);

/*
 * Spawns a task pinned to the calling worker (never stolen by another one).
 * Needs a worker with a local queue: from inside a task of a runtime this is
 * always the case; asup_rt_spawn_local from outside fails with
 * -ASUP_ENOLOCAL and leaves no trace.
 */
ASUP_API ASUP_NODISCARD int asup_spawn_local(asup_cx *cx, asup_task_fn fn, void *arg,
					     const asup_spawn_opts *opts, asup_task *out);

/*
 * Blocking work. fn(b, arg) runs on a thread of the runtime's blocking pool
 * (in deterministic mode: inline, on the task's own stack, so runs replay
 * exactly), while the task that owns it stays parked in its region. The task
 * is joined, aborted and counted like any other. A cancel request cannot stop
 * fn: it sets a flag fn can poll with asup_blocking_is_cancelled, and the task
 * abandons fn, completing Cancelled at once; fn keeps its pool thread, and
 * the region does not close before fn returned.
 * Inline (deterministic mode, or when no pool thread can be started) fn runs
 * on the runtime's thread: it must not wait for other tasks there.
 * Spawning it returns what asup_spawn returns: 0, or -EINVAL (NULL fn or
 * out), -ASUP_ECLOSED, -ASUP_ECAPACITY, -ENOMEM, -ASUP_ENOTASK.
 */
typedef struct asup_blocking asup_blocking;
typedef int64_t (*asup_blocking_fn)(asup_blocking *b, void *arg);

ASUP_API ASUP_NODISCARD int asup_spawn_blocking(asup_cx *cx, asup_blocking_fn fn, void *arg,
						const asup_spawn_opts *opts, asup_task *out);
/* 1 once the owning task was asked to cancel. Callable from fn's thread. */
ASUP_API int asup_blocking_is_cancelled(asup_blocking *b);
/* 1 if the owning task can use the runtime's timer (it holds ASUP_CAP_TIME). */
ASUP_API int asup_blocking_has_timer(asup_blocking *b);

/* ---- outcome algebra ---- */

/* The more severe of a and b (ties keep a; two Cancelled strengthen). */
ASUP_API void asup_outcome_join(const asup_outcome *a, const asup_outcome *b, asup_outcome *out);

typedef enum asup_aggregate_kind {
	ASUP_AGG_ALL_OK = 0,
	ASUP_AGG_FIRST_ERROR,
	ASUP_AGG_CANCELLED,
	ASUP_AGG_PANICKED,
} asup_aggregate_kind;

typedef struct asup_aggregate {
	asup_aggregate_kind kind;
	size_t index;               /* FIRST_ERROR / PANICKED: which outcome */
	int64_t error;              /* FIRST_ERROR: the code */
	asup_cancel_reason reason;  /* CANCELLED: the strongest reason */
} asup_aggregate;

/* First Panicked > strongest Cancelled > first Err > all Ok. */
ASUP_API void asup_outcome_aggregate(const asup_outcome *list, size_t n, asup_aggregate *out);

typedef enum asup_policy {
	ASUP_POLICY_FAIL_FAST = 0,  /* Err or Panicked cancels the siblings */
	ASUP_POLICY_COLLECT_ALL,    /* never cancels */
} asup_policy;

typedef enum asup_policy_action {
	ASUP_POLICY_CONTINUE = 0,
	ASUP_POLICY_CANCEL_SIBLINGS,
} asup_policy_action;

ASUP_API asup_policy_action asup_policy_on_child(asup_policy p, const asup_outcome *child);

/* Strengthens *self with *other: 1 if self changed. */
ASUP_API int asup_cancel_reason_strengthen(asup_cancel_reason *self,
					   const asup_cancel_reason *other);

/* Lets every other ready task run first. A checkpoint. The task goes behind
 * every task of its priority that was ready when it yielded, in both modes
 * (the deterministic mode's seeded placement orders only the tasks that
 * become ready later); higher priorities, cancelled tasks and due timers
 * still come first. */
ASUP_API ASUP_NODISCARD int asup_yield(asup_cx *cx);
/* A checkpoint that does not suspend: 0, -ECANCELED or -ETIMEDOUT. */
ASUP_API ASUP_NODISCARD int asup_checkpoint(asup_cx *cx);

/*
 * Ends the calling task as Panicked with the formatted message (truncated to
 * ASUP_PANIC_MSG_MAX - 1 bytes). The task's stack is discarded: C cleanup
 * after this point does not run. Called with a cx that is not the running
 * task's, it prints the message and aborts the process.
 */
ASUP_API ASUP_NORETURN void asup_panic(asup_cx *cx, const char *fmt, ...) ASUP_PRINTF(2, 3);

/* The running task's id (arena index and generation), or 0 for a bad cx. */
ASUP_API uint64_t asup_cx_task_id(asup_cx *cx);
/* The name the task was spawned with ("" if none), or NULL for a bad cx. */
ASUP_API const char *asup_cx_task_name(asup_cx *cx);

#ifdef __cplusplus
}
#endif
#endif
