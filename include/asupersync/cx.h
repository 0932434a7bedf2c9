/*
 * asupersync/cx.h - the capability context of a task.
 *
 * Every effect goes through a cx: spawning, time, randomness, I/O and remote
 * calls each need their capability bit, and a cx can only ever be narrowed.
 * The cx also carries the task's budget and its cancellation state: whether a
 * cancel was requested, why (with the cause chain), and the mask depth that
 * defers it.
 *
 * Children inherit the parent's capabilities and the same instances of its
 * handles (registry, remote, I/O, pressure, macaroon, timer, trace, evidence
 * sinks); they get their own random stream, forked deterministically from the
 * runtime seed and the task id.
 *
 * Ownership: a cx is borrowed by its task; every call here must be made by
 * that task (-ASUP_ENOTASK otherwise). Handles are opaque pointers the
 * embedder owns; the runtime only passes them along.
 */
#ifndef ASUPERSYNC_CX_H
#define ASUPERSYNC_CX_H

#include "cancel.h"
#include "core.h"
#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
	ASUP_CAP_SPAWN = 1u << 0,
	ASUP_CAP_TIME = 1u << 1,
	ASUP_CAP_RANDOM = 1u << 2,
	ASUP_CAP_IO = 1u << 3,
	ASUP_CAP_REMOTE = 1u << 4,
	ASUP_CAP_ALL = 0x1fu,
	ASUP_CAP_NONE = 0,
};

/* Handles passed down the task tree unchanged (same instances). */
typedef struct asup_cx_handles {
	void *registry;
	const char *remote_node;  /* RemoteCap's local node id */
	void *io;
	void *pressure;
	void *macaroon;
	void *timer;
	void *trace;
	void *evidence;
} asup_cx_handles;

/* The task's capability bits (0 for a bad cx). */
ASUP_API uint32_t asup_cx_caps(asup_cx *cx);
/*
 * Runs fn(cx, arg) with the capabilities narrowed to caps, then restores them,
 * and returns what fn returned. -EPERM if caps asks for a bit the task lacks
 * (widening is never allowed).
 */
ASUP_API ASUP_NODISCARD int64_t asup_cx_restricted(asup_cx *cx, uint32_t caps, asup_task_fn fn, void *arg);
/* Copies the task's handles into *out. -ASUP_ENOTASK, -EINVAL. */
ASUP_API int asup_cx_handles_get(asup_cx *cx, asup_cx_handles *out);

/* 1 if the task can use the runtime's timer (it has ASUP_CAP_TIME; every
 * task of a runtime shares that runtime's timer). */
ASUP_API int asup_cx_has_timer(asup_cx *cx);

/* The task's budget (what its checkpoints enforce); its deadline is the
 * effective one (see asup_cx_deadline: inside a region body it includes the
 * region's budget deadline). */
ASUP_API asup_budget asup_cx_budget(asup_cx *cx);
/* Charges cost to the budget; 0, or -ECANCELED when it is exhausted (the
 * task is then cancel-requested with kind COST_BUDGET). */
ASUP_API int asup_cx_consume_cost(asup_cx *cx, uint64_t cost);

/* 1 if a cancel was requested (reads the flag; not a checkpoint): of the
 * task, or, inside a region body, of that region or of a region around it
 * whose body the task also runs (see asup_region). */
ASUP_API int asup_cx_is_cancel_requested(asup_cx *cx);
/* The current reason: 0 and *out, or -EAGAIN if none was requested. The
 * task's own reason if it has one, else the cancelled body region's. */
ASUP_API int asup_cx_cancel_reason(asup_cx *cx, asup_cancel_reason *out);
/* Up to n links of the cause chain, outermost first; returns the count. */
ASUP_API int asup_cx_cancel_chain(asup_cx *cx, asup_cancel_reason *out, int n);
/* Requests cancellation of the calling task itself (overwrites the reason).
 * 0, or -EINVAL (unknown kind), -ENOMEM (nothing requested), -ASUP_ENOTASK. */
ASUP_API ASUP_NODISCARD int asup_cx_cancel_self(asup_cx *cx, asup_cancel_kind kind, const char *msg);

/*
 * Runs fn(cx, arg) with cancellation masked: checkpoints inside return 0 even
 * if a cancel was requested (the reason is still recorded and seen after).
 * Masks nest up to 64 deep; -ASUP_EMASK beyond. Returns what fn returned.
 */
ASUP_API ASUP_NODISCARD int64_t asup_cx_masked(asup_cx *cx, asup_task_fn fn, void *arg);
/* The current mask depth. */
ASUP_API int asup_cx_mask_depth(asup_cx *cx);
/* Number of checkpoints the task has passed. */
ASUP_API uint64_t asup_cx_checkpoints(asup_cx *cx);

/* The task's random stream (needs ASUP_CAP_RANDOM): 0 and *out, or -EPERM,
 * -EINVAL (NULL out), -ASUP_ENOTASK. */
ASUP_API int asup_random_u64(asup_cx *cx, uint64_t *out);
/* Uniform in [0, bound) by rejection sampling; -EINVAL for bound 0. */
ASUP_API int asup_random_below(asup_cx *cx, uint64_t bound, uint64_t *out);

#ifdef __cplusplus
}
#endif
#endif
