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
 * Every function that takes a cx must be called by the task owning it
 * (-ASUP_ENOTASK otherwise). Functions that can suspend are checkpoints: they
 * return -ECANCELED when the task is interrupted, and -ETIMEDOUT once the
 * deadline of an enclosing asup_timeout has passed.
 */
#ifndef ASUPERSYNC_TASK_H
#define ASUPERSYNC_TASK_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct asup_cx asup_cx;
typedef int64_t (*asup_task_fn)(asup_cx *cx, void *arg);

/* A task handle. Fields are private. A zeroed handle is invalid (-EINVAL). */
typedef struct asup_task {
	void *_k;
	uint64_t _id;
	uint32_t _flags;
} asup_task;

#define ASUP_PRIORITY_DEFAULT 128

typedef struct asup_spawn_opts {
	const char *name;   /* copied (first 31 bytes); shown in reports */
	size_t stack_size;  /* 0 = the runtime's default */
	uint8_t priority;   /* ready-lane priority, higher first */
} asup_spawn_opts;

ASUP_API void asup_spawn_opts_init(asup_spawn_opts *opts);

/*
 * Spawns fn(cx', arg) as a new task of the caller's runtime; it runs when the
 * caller next suspends. Does not suspend. opts may be NULL. -EINVAL (NULL fn
 * or out, bad stack size), -ENOMEM, -ASUP_ENOTASK.
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
 * -EAGAIN if not yet; the other errors as asup_join. */
ASUP_API ASUP_NODISCARD int asup_task_try_join(asup_task *h, asup_outcome *out);
/* 1 if finished, 0 if not, < 0 on a bad handle. */
ASUP_API int asup_task_is_finished(const asup_task *h);
/* Gives up the handle without waiting: the task runs on; its record is
 * freed when it finishes. -ESRCH, -ASUP_EJOINED, -EINVAL. */
ASUP_API int asup_task_release(asup_task *h);

/*
 * Requests that the task stop: its next checkpoint (or the one it is parked
 * in) returns -ECANCELED, and it is dispatched from the cancel lane. Does not
 * wait; join to see how it ended. 0, or -ESRCH/-EXDEV/-EINVAL; a finished
 * task is left as it is (0).
 */
ASUP_API int asup_task_abort(asup_task *h);

/* Lets every other ready task run first. A checkpoint. */
ASUP_API int asup_yield(asup_cx *cx);
/* A checkpoint that does not suspend: 0, -ECANCELED or -ETIMEDOUT. */
ASUP_API int asup_checkpoint(asup_cx *cx);

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
