/*
 * asupersync/obligation.h - two-phase effects.
 *
 * An obligation is a reserved effect that must be resolved exactly once:
 * committed or aborted. While one is pending its region cannot close. If its
 * holder ends without resolving it, it leaked: the runtime's leak response
 * decides what happens (log, silent, recover by aborting, or panic), and the
 * obligation is then aborted so the region can still close.
 */
#ifndef ASUPERSYNC_OBLIGATION_H
#define ASUPERSYNC_OBLIGATION_H

#include "core.h"
#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum asup_obligation_kind {
	ASUP_OBLIGATION_SEND_PERMIT = 0,
	ASUP_OBLIGATION_ACK,
	ASUP_OBLIGATION_LEASE,
	ASUP_OBLIGATION_IO_OP,
	ASUP_OBLIGATION_SEMAPHORE_PERMIT,
} asup_obligation_kind;

typedef enum asup_obligation_state {
	ASUP_OBLIGATION_RESERVED = 0,
	ASUP_OBLIGATION_COMMITTED,
	ASUP_OBLIGATION_ABORTED,
	ASUP_OBLIGATION_LEAKED,
} asup_obligation_state;

typedef enum asup_obligation_abort {
	ASUP_ABORT_NONE = 0,
	ASUP_ABORT_CANCEL,
	ASUP_ABORT_ERROR,
	ASUP_ABORT_EXPLICIT,
} asup_obligation_abort_reason;

typedef enum asup_leak_response {
	ASUP_LEAK_LOG = 0,   /* mark leaked, print a line to stderr */
	ASUP_LEAK_SILENT,    /* mark leaked */
	ASUP_LEAK_RECOVER,   /* abort it with reason ERROR */
	ASUP_LEAK_PANIC,     /* mark leaked, print, abort the process */
} asup_leak_response;

/* Reserves an obligation held by the calling task in the current scope's
 * region (inside a region body, that body's region: it cannot close while
 * the obligation is pending, and a body that returns without resolving it
 * leaks it there).
 * -ASUP_ECLOSED (region not accepting work), -ASUP_ECAPACITY
 * (max_obligations), -ENOMEM. desc is borrowed (a string literal, say). */
ASUP_API ASUP_NODISCARD int asup_obligation_reserve(asup_cx *cx, asup_obligation_kind kind, const char *desc,
				     uint64_t *id);
/* Resolve exactly once: -ESRCH for an unknown or already resolved id. */
ASUP_API int asup_obligation_commit(asup_cx *cx, uint64_t id);
ASUP_API int asup_obligation_abort(asup_cx *cx, uint64_t id);

#ifdef __cplusplus
}
#endif
#endif
