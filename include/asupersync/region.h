/*
 * asupersync/region.h - regions, scopes, finalizers and the combinators.
 *
 * A region owns tasks and child regions. asup_region runs a body inside a new
 * child region of the caller's current scope and returns only when that
 * region is closed: every task spawned in it finished, every child region
 * closed, every finalizer ran (last registered first). Nothing outlives its
 * region.
 *
 * How the body's outcome closes the region:
 *   Ok         the region closes and waits for its tasks (they are not
 *              cancelled);
 *   Err, Panicked  the region is cancelled with FAIL_FAST, then closes;
 *   Cancelled  the region is cancelled with that reason, then closes.
 * The body's outcome is returned unchanged.
 *
 * The body runs inside its region's cancel scope. It runs on the caller's
 * own fiber, yet while it runs its checkpoints (every suspending call and
 * asup_checkpoint) also see:
 *   - a cancel of its region, or of any region between it and the task's own
 *     region whose body the task is running (nested bodies nest): a
 *     suspended call is woken and every unmasked checkpoint returns
 *     -ECANCELED until the body returns;
 *   - the region's budget deadline: once it passed, the outermost region
 *     whose deadline passed is cancelled with kind DEADLINE (inner ones get
 *     PARENT_CANCELLED with it as cause), and the above applies; a suspended
 *     body is woken at the deadline.
 * A body that returns -ECANCELED then ends Cancelled with the task's own
 * reason if it has one, else its region's (DEADLINE for a deadline).
 * Masks (asup_cx_masked) defer all of it. The cancel stops at the region's
 * edge: once asup_region* returned, the caller's checkpoints see only its
 * own cancel state and the regions whose bodies it still runs. A body's own
 * asup_scope_cancel cancels its region, so its own next checkpoint returns
 * -ECANCELED too.
 *
 * Ownership: body, finalizer functions and their arguments are borrowed until
 * the region closes. A panic inside a body (asup_panic) is caught at the
 * region: C cleanup between the panic and the region does not run; register
 * what must be released with asup_defer.
 */
#ifndef ASUPERSYNC_REGION_H
#define ASUPERSYNC_REGION_H

#include "cancel.h"
#include "core.h"
#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ASUP_UNLIMITED UINT32_MAX

typedef struct asup_region_limits {
	uint32_t max_children;    /* live child regions */
	uint32_t max_tasks;       /* live tasks */
	uint32_t max_obligations; /* pending obligations */
	uint64_t max_heap_bytes;  /* region heap (asup_region_alloc); UINT64_MAX = unlimited */
} asup_region_limits;

/* Every limit ASUP_UNLIMITED. */
ASUP_API asup_region_limits asup_region_limits_unlimited(void);

/*
 * Runs body(cx, arg) in a new child region of the current scope, waits for the
 * region to close and stores the body's outcome in *out (may be NULL).
 * The child's budget is the parent region's budget met with `budget`
 * (asup_region passes the scope's own budget). Returns 0, or -EINVAL (NULL
 * body), -ASUP_ECLOSED (scope not open), -ASUP_ECAPACITY (max_children),
 * -ENOMEM, -ASUP_ENOTASK; on error the body did not run.
 */
ASUP_API ASUP_NODISCARD int asup_region(asup_cx *cx, asup_task_fn body, void *arg,
					asup_outcome *out);
ASUP_API ASUP_NODISCARD int asup_region_with_budget(asup_cx *cx, asup_budget budget,
						    asup_task_fn body, void *arg,
						    asup_outcome *out);

/* The id of the current scope's region, and its budget. */
ASUP_API uint64_t asup_scope_region_id(asup_cx *cx);
ASUP_API asup_budget asup_scope_budget(asup_cx *cx);
/* Sets the limits of the current scope's region. 0, -EINVAL (NULL limits),
 * -ASUP_ENOTASK. */
ASUP_API int asup_scope_set_limits(asup_cx *cx, const asup_region_limits *limits);
/* Requests cancellation of the current scope's region and everything in it:
 * its tasks (the calling task too, if it was spawned there), its child
 * regions, and the body running in it (whose checkpoints then return
 * -ECANCELED; see above). The region then admits no new tasks, child
 * regions or finalizers (-ASUP_ECLOSED); its heap stays usable
 * (asup_region_alloc, channels opened in it) by the code still running
 * there, which may need memory for its cleanup, until the region closes. 0, or -EINVAL (unknown kind), -ENOMEM (no memory for the
 * reason: nothing was cancelled), -ASUP_ENOTASK. */
ASUP_API ASUP_NODISCARD int asup_scope_cancel(asup_cx *cx, asup_cancel_kind kind, const char *msg);

/*
 * Finalizers of the current scope's region, run after its last task finished,
 * last registered first, each as its own masked cleanup task. A sync one is
 * fn(arg); an async one is a task function that may suspend (budget: 100
 * polls, 5 s). -ASUP_ECLOSED unless the region is open; -EINVAL for NULL
 * fn; -ENOMEM; -ASUP_ENOTASK.
 */
ASUP_API ASUP_NODISCARD int asup_defer(asup_cx *cx, void (*fn)(void *arg), void *arg);
ASUP_API ASUP_NODISCARD int asup_defer_async(asup_cx *cx, asup_task_fn fn, void *arg);

/* ---- the region heap ---- */

/*
 * Memory owned by a region: allocated in the current scope's region and freed
 * when that region closes (after its finalizers ran), so tasks and finalizers
 * of the region can share it without ownership bookkeeping. Allowed until the
 * region is closed. A reference names the memory and its region.
 */
typedef struct asup_rref {
	uint64_t region;
	void *ptr;
} asup_rref;

/* 0 and *out (zeroed memory), or -ASUP_ECLOSED (the region is closed; a
 * cancelled or closing region still allocates), -ASUP_ECAPACITY
 * (max_heap_bytes), -ENOMEM, -EINVAL (size 0 or NULL out). */
ASUP_API ASUP_NODISCARD int asup_region_alloc(asup_cx *cx, size_t size, asup_rref *out);
/* The memory of ref while its region exists (through Finalizing); NULL once
 * the region closed (the memory is gone). Use a ref only in the runtime
 * that made it. */
ASUP_API void *asup_rref_get(asup_cx *cx, asup_rref ref);

/* ---- combinators over task handles ---- */

/* Joins both (never cancels either); results in order. 0 or the first error. */
ASUP_API ASUP_NODISCARD int asup_join2(asup_cx *cx, asup_task *a, asup_task *b, asup_outcome *oa,
			asup_outcome *ob);
/* Joins each in order. On a cancelled join the task being joined is aborted
 * (its drop reason) unless defused, and the error is returned. */
ASUP_API ASUP_NODISCARD int asup_join_all(asup_cx *cx, asup_task *hs, size_t n, asup_outcome *outs);

/*
 * Waits for the first of the tasks to finish; aborts the others with
 * RACE_LOST and waits for them too (losers are drained). *out is the winner's
 * outcome, except that a panic wins over everything: the winner's first, then
 * the first panicking loser's. Returns 0, or -ECANCELED if the caller was
 * cancelled before any finished (all were aborted and drained).
 */
ASUP_API ASUP_NODISCARD int asup_race(asup_cx *cx, asup_task *a, asup_task *b, asup_outcome *out);
/* Like asup_race over n handles; *winner gets the winner's index. Among tasks
 * found finished in the same round the winner is drawn from the task's
 * random stream. n == 0 waits until cancelled (-ECANCELED). */
ASUP_API ASUP_NODISCARD int asup_race_all(asup_cx *cx, asup_task *hs, size_t n, asup_outcome *out,
			   size_t *winner);
/*
 * Runs primary; if it has not finished after delay ns, also runs backup and
 * races them. If primary cannot be spawned, or backup cannot be spawned and
 * primary has not finished, the outcome is Cancelled(RESOURCE_UNAVAILABLE)
 * (primary is then aborted with that reason and left to its region).
 */
ASUP_API ASUP_NODISCARD int asup_hedge(asup_cx *cx, uint64_t delay, asup_task_fn primary, void *parg,
			asup_task_fn backup, void *barg, asup_outcome *out);

#ifdef __cplusplus
}
#endif
#endif
