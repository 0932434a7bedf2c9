/*
 * asupersync/select.h - wait for the first of several things.
 *
 * asup_select suspends until one of its arms is ready, completes exactly that
 * arm and returns its index. An arm is filled by one of the initialisers:
 *
 *   asup_select_recv(&arm, ch, buf)        receive one element into buf
 *   asup_select_reserve(&arm, ch, &p)      reserve a send permit (an
 *                                          obligation, as asup_chan_reserve)
 *   asup_select_join(&arm, &h, &out)       join a task (consumes h)
 *   asup_select_sleep_until(&arm, t)       the clock reaches t
 *   asup_select_sleep(&arm, ns)            ns after the call to asup_select
 *
 * No residue: only the winning arm has an effect. The others receive
 * nothing, reserve nothing, consume no handle, and after return the task is
 * on no wait queue and has no timer armed. A reserve arm keeps its place in
 * the channel's FIFO of reservers while the select waits (like a plain
 * reserver); if room was handed to it but another arm won, the room goes to
 * the next reserver.
 *
 * Readiness. recv: an element is queued, or the channel is closed and empty
 * (the arm completes with -EPIPE). reserve: a newcomer could reserve now, the
 * room was handed to this arm, or the channel is closed for sending / its
 * receiver is gone (-EPIPE). join: the task finished. sleep: the clock
 * reached the time.
 *
 * Fairness: when several arms are ready at once, the winner is drawn
 * uniformly among them from the task's random stream (as asup_race_all does),
 * so the deterministic runtime replays it from the seed and no arm can starve
 * another by its position. An arm that alone is ready always wins.
 *
 * Cancellation: asup_select checkpoints first and again after every wake, so
 * a cancel wins over ready arms: -ECANCELED means no arm had any effect
 * (anything handed to an arm while it waited was passed on). Unlike
 * asup_join, a cancelled select does not abort the tasks of its join arms:
 * the caller still holds their handles. -ETIMEDOUT (an enclosing
 * asup_timeout's deadline passed) has no effect either.
 *
 * Ownership: the arms are borrowed for the call (asup_select keeps its wait
 * state in them: do not share an arm array between concurrent selects); each
 * arm's channel, buffer, permit, handle and outcome storage is borrowed too.
 * Arms may be reused for another call; a relative sleep is measured anew.
 */
#ifndef ASUPERSYNC_SELECT_H
#define ASUPERSYNC_SELECT_H

#include "chan.h"
#include "core.h"
#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum asup_select_kind {
	ASUP_SELECT_NONE = 0,    /* a zeroed arm: rejected with -EINVAL */
	ASUP_SELECT_RECV,
	ASUP_SELECT_RESERVE,
	ASUP_SELECT_JOIN,
	ASUP_SELECT_SLEEP_UNTIL,
	ASUP_SELECT_SLEEP,
} asup_select_kind;

/*
 * One arm. Fill it with an initialiser; read `result` after asup_select.
 * The other fields are private.
 */
typedef struct asup_select_arm {
	int kind;   /* asup_select_kind */
	/* Written by asup_select. For the arm whose index it returned: 0, or
	 * -EPIPE (recv: closed and empty, nothing copied; reserve: closed, no
	 * permit), or for join the code asup_join would give for a handle that
	 * became unusable while waiting (-ESRCH: a copy consumed it). -EAGAIN
	 * for every arm that did not complete. After a validation error, the
	 * first bad arm holds the error code. */
	int result;
	union {
		struct {
			asup_chan *ch;
			void *buf;
		} recv;
		struct {
			asup_chan *ch;
			asup_permit *permit;
		} reserve;
		struct {
			asup_task *task;
			asup_outcome *out;
		} join;
		asup_time until;
		uint64_t ns;
	} _in;
	uint64_t _state[6]; /* asup_select's wait state */
} asup_select_arm;

/* Initialisers: each overwrites the whole arm. A NULL arm is ignored. */
/* Receive one element of ch into buf (elem_size bytes). */
ASUP_API void asup_select_recv(asup_select_arm *arm, asup_chan *ch, void *buf);
/* Reserve room on ch: on a win, *permit is live and an obligation of the
 * calling task (resolve it with asup_permit_send or asup_permit_abort). */
ASUP_API void asup_select_reserve(asup_select_arm *arm, asup_chan *ch, asup_permit *permit);
/* Join *task: on a win its outcome goes to *out (may be NULL) and the handle
 * is consumed; otherwise the handle stays joinable. */
ASUP_API void asup_select_join(asup_select_arm *arm, asup_task *task, asup_outcome *out);
/* Ready once the clock reaches t (at once if t has passed). */
ASUP_API void asup_select_sleep_until(asup_select_arm *arm, asup_time t);
/* Ready ns after asup_select was called. */
ASUP_API void asup_select_sleep(asup_select_arm *arm, uint64_t ns);

/*
 * Waits until one of the n arms is ready, completes it and returns its index
 * (>= 0; see asup_select_arm.result for what the arm got). Errors, after
 * which no arm had any effect:
 *   -ECANCELED    the task was cancelled (checkpoint first: also when arms
 *                 were ready).
 *   -ETIMEDOUT    an enclosing asup_timeout's deadline passed.
 *   -EINVAL       arms NULL with n > 0; an arm of unknown kind; a NULL or
 *                 invalid channel, buffer, permit or handle; two recv arms
 *                 or two reserve arms on one channel; two join arms on one
 *                 task.
 *   -EXDEV        a channel or task of another runtime.
 *   -ESRCH, -ASUP_EJOINED, -EDEADLK  a join arm's handle is stale, was
 *                 joined, or names the calling task.
 *   -EPERM        a sleep arm without ASUP_CAP_TIME.
 *   -ENOMEM, -ASUP_ECLOSED, -ASUP_ECAPACITY  a reserve arm won but its
 *                 permit could not be made an obligation (its room was
 *                 passed on).
 *   -ASUP_ENOTASK cx is not the running task's.
 * n == 0 waits until cancelled or timed out, like asup_race_all of nothing.
 */
ASUP_API ASUP_NODISCARD int asup_select(asup_cx *cx, asup_select_arm *arms, size_t n);

#ifdef __cplusplus
}
#endif
#endif
