/*
 * asupersync/oneshot.h - a channel for exactly one value.
 *
 * One sender side, one receiver side, one value of a fixed element size,
 * copied by value. The sender either sends once, or is "dropped" without a
 * value (asup_oneshot_close_send), which the receiver sees as closed:
 *
 *   asup_oneshot_reserve(cx, os, &p)   never waits; uses up the sender and
 *                                      gives a permit, an obligation of the
 *                                      calling task (SEND_PERMIT)
 *   asup_oneshot_permit_send(&p, &v)   cannot fail for lack of room; fails
 *                                      only if the receiver is gone
 *   asup_oneshot_permit_abort(&p)      no value: the receiver sees closed
 *   asup_oneshot_send(os, &v)          reserve and send in one step
 *   asup_oneshot_recv(cx, os, &v)      waits for the value
 *
 * Errors a receive can report: -EPIPE (closed: the sender or its permit went
 * away without a value, or this receiver was closed), -ECANCELED, and
 * -ASUP_EALREADY (the value was already received). Sends report only -EPIPE
 * (the receiver is gone; the value was not taken: nothing was copied) besides
 * misuse: -ASUP_EALREADY when the sender was already used (sent, reserved or
 * closed), -EINVAL for bad arguments.
 *
 * Cancel-safety: asup_oneshot_recv checkpoints first, so a cancel wins over a
 * ready value, and a cancelled receive leaves the value where it was for a
 * later receive. Reserve and send never suspend and are not affected by
 * cancellation. A permit its task never resolved is settled when the task
 * ends, and the receiver is woken and sees closed either way: if a cancel had
 * been requested of the task it is aborted quietly; otherwise it leaked, and
 * the runtime's leak response applies first (by default one line on stderr;
 * ASUP_LEAK_PANIC ends the process).
 *
 * A permit is resolved once. A copy of a live permit is the same permit: the
 * first resolution through either wins; every later one, through either, and
 * one after the runtime settled it, returns -ASUP_EALREADY and changes
 * nothing. Once the oneshot's region closed, a live permit returns
 * -ASUP_ECLOSED without reading the oneshot's memory.
 *
 * Runtimes: every call on a oneshot (or its permit) of another runtime, or
 * from a thread other than the one driving its runtime, returns -EXDEV and
 * changes nothing.
 *
 * Ownership: a oneshot is owned by the region it was opened in (the region
 * heap; freed when the region closes, no destroy call); use it only from
 * tasks of that region or its descendants. Permits live in the caller's
 * storage. Element pointers are borrowed for the call.
 */
#ifndef ASUPERSYNC_ONESHOT_H
#define ASUPERSYNC_ONESHOT_H

#include "core.h"
#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct asup_oneshot asup_oneshot;

/* A send permit, in the caller's storage. Fields are private; a zeroed permit
 * is invalid (-EINVAL). A copy is the same permit (see above). */
typedef struct asup_oneshot_permit {
	asup_oneshot *_os;
	void *_k;
	uint64_t _region;
	uint64_t _obligation;
	uint32_t _state;
} asup_oneshot_permit;

/* Opens a oneshot in the current scope's region. -EINVAL (zero element size,
 * NULL out), -ENOMEM, -ASUP_ECLOSED, -ASUP_ECAPACITY, -ASUP_ENOTASK. */
ASUP_API ASUP_NODISCARD int asup_oneshot_open(asup_cx *cx, size_t elem_size, asup_oneshot **out);

/*
 * Uses up the sender and returns a permit for the one value (never waits;
 * takes cx because the permit is an obligation of the calling task). On an
 * error nothing changed: -ASUP_EALREADY (the sender was already used),
 * -EPIPE (the receiver is gone), -ASUP_ECLOSED / -ASUP_ECAPACITY (the task's
 * region takes no more obligations), -ENOMEM, -EINVAL, -ASUP_ENOTASK.
 */
ASUP_API ASUP_NODISCARD int asup_oneshot_reserve(asup_cx *cx, asup_oneshot *os,
                                                 asup_oneshot_permit *p);
/*
 * Sends *elem (copied) through the permit, which is resolved by the call
 * (also when it fails, except for -EINVAL on a NULL elem). 0; -EPIPE if the
 * receiver is gone (nothing was copied; the receiver side is closed anyway);
 * -ASUP_EALREADY for a permit already sent or aborted; -ASUP_ECLOSED if the
 * oneshot's region has closed; -EINVAL for a zeroed permit or NULL elem.
 * Another task may resolve the permit; once its holder has ended the runtime
 * has settled it and this returns -ASUP_EALREADY. -EXDEV: another runtime's
 * permit, left live.
 */
ASUP_API int asup_oneshot_permit_send(asup_oneshot_permit *p, const void *elem);
/* Resolves the permit without a value: the receiver is woken and sees
 * closed. -ASUP_EALREADY for a permit already resolved (by the caller, or by
 * the runtime when its holder ended); -ASUP_ECLOSED, -EINVAL as for
 * asup_oneshot_permit_send. */
ASUP_API int asup_oneshot_permit_abort(asup_oneshot_permit *p);

/* Sends *elem (copied) and uses up the sender. Never suspends. -EPIPE (the
 * receiver is gone; nothing changed), -ASUP_EALREADY (the sender was already
 * used), -EINVAL. */
ASUP_API int asup_oneshot_send(asup_oneshot *os, const void *elem);
/* "Drops" the sender: if it was not used, the receiver is woken and sees
 * closed. Idempotent; no effect once the sender was used (after a reserve the
 * permit decides). -EINVAL for a bad handle. */
ASUP_API int asup_oneshot_close_send(asup_oneshot *os);

/*
 * Waits for the value and copies it to *elem. 0; -ECANCELED (the value, if
 * any, stays for a later receive); -EPIPE (closed without a value, or the
 * receiver was closed); -ASUP_EALREADY (the value was received before);
 * -EINVAL; -ASUP_ENOTASK.
 */
ASUP_API ASUP_NODISCARD int asup_oneshot_recv(asup_cx *cx, asup_oneshot *os, void *elem);
/* Never suspends: as asup_oneshot_recv, with -EAGAIN while the sender may
 * still send. */
ASUP_API int asup_oneshot_try_recv(asup_oneshot *os, void *elem);
/* "Drops" the receiver: a value not received is discarded, later sends and
 * permit sends get -EPIPE, a task waiting in recv wakes with -EPIPE.
 * Idempotent. */
ASUP_API int asup_oneshot_close_recv(asup_oneshot *os);

typedef enum asup_oneshot_sender {
	ASUP_ONESHOT_SENDER_OPEN = 0, /* may reserve or send */
	ASUP_ONESHOT_SENDER_RESERVED, /* a permit is outstanding */
	ASUP_ONESHOT_SENDER_SENT,     /* the value was sent */
	ASUP_ONESHOT_SENDER_CLOSED,   /* gone without a value */
} asup_oneshot_sender;

typedef struct asup_oneshot_stats {
	asup_oneshot_sender sender;
	int has_value;   /* sent and not yet received */
	int received;    /* the value was received */
	int recv_closed; /* asup_oneshot_close_recv was called */
	size_t waiters;  /* tasks waiting in asup_oneshot_recv */
} asup_oneshot_stats;

ASUP_API int asup_oneshot_stats_get(const asup_oneshot *os, asup_oneshot_stats *out);

#ifdef __cplusplus
}
#endif
#endif
