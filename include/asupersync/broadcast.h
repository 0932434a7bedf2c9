/*
 * asupersync/broadcast.h - a bounded ring that every receiver reads.
 *
 * Each message (a fixed element size, copied by value) is seen by every
 * receiver subscribed when it was sent. The ring keeps the last `capacity`
 * messages; a send never waits: when the ring is full it overwrites the
 * oldest. A receiver that fell behind the oldest retained message is told how
 * many it missed and continues from the oldest:
 *
 *   rc = asup_broadcast_recv(cx, &rx, &msg, &missed);
 *   if (rc == -ASUP_ELAGGED)  missed messages were overwritten before rx
 *                             read them; rx now points at the oldest one,
 *                             which the next receive returns
 *
 * Closing: the broadcast starts with one sender; asup_broadcast_add_sender
 * counts another, asup_broadcast_close_send ends one. When the last one
 * closes, receivers still get everything they can see (lag reports included),
 * then -EPIPE.
 *
 * Cancel-safety: send, reserve and permit send never suspend and are not
 * affected by cancellation. asup_broadcast_recv checkpoints first (a cancel
 * wins over a ready message); a cancelled receive does not move the cursor,
 * so the message is still there for the next receive (unless overwritten,
 * which the next receive reports as lag).
 *
 * Permits: a permit its task never resolved is settled when the task ends:
 * aborted quietly if a cancel had been requested of the task, otherwise
 * leaked (the runtime's leak response applies: by default one line on
 * stderr; ASUP_LEAK_PANIC ends the process). A permit is resolved once; a
 * copy of a live permit is the same permit: the first resolution through
 * either wins, every later one (and one after the runtime settled it)
 * returns -ASUP_EALREADY and changes nothing; once the broadcast's region
 * closed a live permit returns -ASUP_ECLOSED without reading its memory.
 *
 * Runtimes: every call on a broadcast, its cursors or its permits from a
 * task of another runtime, or from a thread other than the one driving its
 * runtime, returns -EXDEV and changes nothing.
 *
 * Ownership: a broadcast is owned by the region it was opened in (region heap,
 * freed when the region closes). Receiver cursors (asup_broadcast_rx) live in
 * the caller's storage: asup_broadcast_subscribe initialises one (overwriting
 * it) and asup_broadcast_unsubscribe ends it; unsubscribe before the storage
 * goes away, or the broadcast keeps counting a receiver that is gone. A copy
 * of a cursor is not a receiver (-EINVAL). A cursor is used by one task at a
 * time. Element pointers are borrowed for the call.
 */
#ifndef ASUPERSYNC_BROADCAST_H
#define ASUPERSYNC_BROADCAST_H

#include "core.h"
#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct asup_broadcast asup_broadcast;

/* A receiver cursor, in the caller's storage. Fields are private. */
typedef struct asup_broadcast_rx {
	asup_broadcast *_b;
	void *_k;
	uint64_t _region;
	uint64_t _next;
	void *_self;
	uint32_t _magic;
	uint32_t _busy;
} asup_broadcast_rx;

/* A send permit, in the caller's storage. A zeroed permit is invalid. */
typedef struct asup_broadcast_permit {
	asup_broadcast *_b;
	void *_k;
	uint64_t _region;
	uint64_t _obligation;
	uint32_t _state;
} asup_broadcast_permit;

/* Opens a broadcast with one sender in the current scope's region. -EINVAL
 * (zero element size or capacity, NULL out), -ENOMEM, -ASUP_ECLOSED,
 * -ASUP_ECAPACITY, -ASUP_ENOTASK. */
ASUP_API ASUP_NODISCARD int asup_broadcast_open(asup_cx *cx, size_t elem_size, size_t capacity,
                                 asup_broadcast **out);

/* Sends *elem (copied) to every current receiver; never suspends. Returns
 * the number of receivers (> 0), or -EPIPE when there is none or every
 * sender closed (the message was not taken), -EINVAL. */
ASUP_API int asup_broadcast_send(asup_broadcast *b, const void *elem);

/* A permit to send one message later (never waits; takes cx because the
 * permit is a SEND_PERMIT obligation of the calling task, reported as a leak
 * if the task ends without resolving it). -EPIPE (no receiver, or every
 * sender closed: nothing reserved), -ASUP_ECLOSED / -ASUP_ECAPACITY (the
 * task's region takes no more obligations), -ENOMEM, -EINVAL. */
ASUP_API ASUP_NODISCARD int asup_broadcast_reserve(asup_cx *cx, asup_broadcast *b,
                                                   asup_broadcast_permit *p);
/* Sends through the permit, which is resolved by the call (except for
 * -EINVAL on a NULL elem). The receiver count, or -EPIPE (no receiver left,
 * or every sender closed: the message was not taken), -ASUP_EALREADY (already
 * resolved: through this object or a copy, or by the runtime when its
 * holder ended), -ASUP_ECLOSED (the broadcast's region closed), -EXDEV
 * (another runtime's permit, left live), -EINVAL (zeroed permit). */
ASUP_API int asup_broadcast_permit_send(asup_broadcast_permit *p, const void *elem);
/* Resolves the permit without sending. Errors as asup_broadcast_permit_send. */
ASUP_API int asup_broadcast_permit_abort(asup_broadcast_permit *p);

/* One more sender (a clone). -EPIPE once every sender closed (the broadcast
 * cannot be reopened), -EINVAL. */
ASUP_API int asup_broadcast_add_sender(asup_broadcast *b);
/* One sender is gone; after the last, receivers drain then get -EPIPE.
 * -ASUP_EALREADY when every sender already closed, -EINVAL. */
ASUP_API int asup_broadcast_close_send(asup_broadcast *b);

/* Initialises *rx as a receiver of every message sent from now on.
 * -EPIPE once every sender closed, -EINVAL. */
ASUP_API int asup_broadcast_subscribe(asup_broadcast *b, asup_broadcast_rx *rx);
/* Ends the receiver; messages it did not read no longer count it.
 * -ASUP_EALREADY (already unsubscribed), -EBUSY (a receive waits on it),
 * -ASUP_ECLOSED (the broadcast's region closed; the cursor is ended),
 * -EINVAL (never subscribed, or a copy). */
ASUP_API int asup_broadcast_unsubscribe(asup_broadcast_rx *rx);

/*
 * Receives the next message for rx into *elem. 0; -ASUP_ELAGGED with
 * *missed (may be NULL) set to the exact number of messages overwritten
 * before rx read them (rx then points at the oldest retained one; *elem is
 * unchanged); -EPIPE (every sender closed and rx has read everything it can
 * see, or rx was unsubscribed); -ECANCELED (rx unchanged); -EBUSY (another
 * receive waits on rx); -ASUP_ECLOSED (the broadcast's region closed);
 * -EINVAL; -ASUP_ENOTASK.
 */
ASUP_API ASUP_NODISCARD int asup_broadcast_recv(asup_cx *cx, asup_broadcast_rx *rx, void *elem,
                                                uint64_t *missed);
/* Never suspends: as asup_broadcast_recv, with -EAGAIN when rx has read
 * everything and a sender is still open. */
ASUP_API int asup_broadcast_try_recv(asup_broadcast_rx *rx, void *elem, uint64_t *missed);

typedef struct asup_broadcast_stats {
	size_t capacity;
	size_t retained;    /* messages in the ring */
	uint64_t sent;      /* messages sent so far */
	uint32_t receivers; /* subscribed cursors */
	uint32_t senders;   /* open senders */
	size_t waiters;     /* tasks waiting in asup_broadcast_recv */
	int closed;         /* every sender closed */
} asup_broadcast_stats;

ASUP_API int asup_broadcast_stats_get(const asup_broadcast *b, asup_broadcast_stats *out);

#ifdef __cplusplus
}
#endif
#endif
