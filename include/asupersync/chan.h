/*
 * asupersync/chan.h - bounded multi-producer channels with two-phase send.
 *
 * Elements are copied by value (a fixed element size). Capacity counts queued
 * elements plus outstanding send permits, so a permit always has room:
 *
 *   asup_chan_reserve(cx, ch, &p)   wait for room (strict FIFO among waiters);
 *                                   the permit is an obligation of the task
 *   asup_permit_send(&p, &elem)     cannot fail for lack of room
 *   asup_permit_abort(&p)           give the room back
 *
 * Cancellation never loses or duplicates an element: a cancelled reserve
 * holds nothing; a cancelled receive leaves the queue as it was (blocking
 * operations checkpoint first, so a cancel wins over ready data).
 *
 * A permit its task never resolved is settled when the task ends, and its
 * room comes back either way: if a cancel had been requested of the task
 * (asup_task_abort, a region or scope cancel, a deadline) it is aborted
 * quietly; otherwise it leaked, and the runtime's leak response applies first
 * (by default one line on stderr; ASUP_LEAK_PANIC ends the process). A permit
 * reserved inside a region body that returns without resolving it leaks in
 * that region the same way, before the region's memory is freed.
 *
 * A permit is resolved once (send or abort). Later uses change nothing and
 * return -ASUP_EALREADY when it was resolved already (through this object or
 * a copy of it, or by the runtime when its holder ended) and -ASUP_ECLOSED
 * when the channel's region has closed (then the channel's memory is not
 * read). A copy of a live permit is the same permit, not a second one: the
 * first resolution through either wins, the other gets -ASUP_EALREADY.
 * The permit object a resolution went through keeps answering
 * -ASUP_EALREADY after the region closed too (it reads nothing but
 * itself); a copy that never resolved answers -ASUP_ECLOSED then.
 * Any task of the channel's runtime may resolve a permit.
 *
 * Receivers: waiting receives are woken in the order they began to wait, one
 * per element sent, and each takes the oldest element when it runs (so in
 * real mode, at equal priority, the longest waiting gets the oldest element;
 * in deterministic mode the seeded schedule may run receivers woken together
 * in another order). A receive that finds an element queued takes it at once
 * even while woken receivers have not run yet; a woken receiver that then
 * finds the queue empty waits again, at the back. asup_chan_close_recv
 * discards the queue and wakes every waiting receive with -EPIPE (nothing
 * copied); asup_chan_close wakes them too: they take what is queued, in the
 * same way, and get -EPIPE once it is empty.
 *
 * Runtimes: a channel belongs to the runtime it was opened in. Every call on
 * it (and on its permits) from a task of another runtime, or from a thread
 * other than the one driving its runtime, returns -EXDEV and changes nothing.
 *
 * Ownership: a channel is owned by the region it was opened in (its memory is
 * the region's, freed when the region closes); use it only from tasks of that
 * region or its descendants. Permits live in the caller's storage.
 */
#ifndef ASUPERSYNC_CHAN_H
#define ASUPERSYNC_CHAN_H

#include "core.h"
#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct asup_chan asup_chan;

typedef struct asup_permit {
	asup_chan *_ch;
	void *_k;
	uint64_t _region;
	uint64_t _obligation;
	uint32_t _state;
} asup_permit;

/* Opens a channel in the current scope's region (allocates there, so it
 * works in a cancelled or closing region as asup_region_alloc does).
 * -EINVAL for a zero element size or capacity, -ENOMEM, -ASUP_ECLOSED (the
 * region is closed), -ASUP_ECAPACITY (the region's heap limit). */
ASUP_API ASUP_NODISCARD int asup_chan_open(asup_cx *cx, size_t elem_size, size_t capacity, asup_chan **out);

/* Waits for room and returns a permit for one element. -ECANCELED (holding
 * nothing), -EPIPE once the channel is closed for sending or its receiver is
 * gone, -ENOMEM. */
ASUP_API ASUP_NODISCARD int asup_chan_reserve(asup_cx *cx, asup_chan *ch, asup_permit *p);
/* Like asup_chan_reserve without waiting: -EAGAIN if full or anyone waits. */
ASUP_API ASUP_NODISCARD int asup_chan_try_reserve(asup_cx *cx, asup_chan *ch, asup_permit *p);
/* Sends through the permit (consumed). -EPIPE if the receiver is gone: the
 * element was not taken (the caller still has it) and the room is released.
 * -ASUP_EALREADY (resolved already), -ASUP_ECLOSED (the channel's region
 * closed), -EXDEV, -EINVAL (empty permit, NULL elem): nothing changes. */
ASUP_API int asup_permit_send(asup_permit *p, const void *elem);
/* Gives the permit's room back. The errors of asup_permit_send but -EPIPE. */
ASUP_API int asup_permit_abort(asup_permit *p);

/* Reserve and send in one call (nothing is reserved if it fails). */
ASUP_API ASUP_NODISCARD int asup_chan_send(asup_cx *cx, asup_chan *ch, const void *elem);
/* -EAGAIN if full or anyone waits, -EPIPE if closed; never suspends. */
ASUP_API int asup_chan_try_send(asup_chan *ch, const void *elem);

/*
 * Sends without ever waiting: when the channel is full, the oldest queued
 * element is dropped to make room for elem. Never suspends (not a
 * checkpoint). Borrows elem and evicted for the call.
 *   0        elem queued; nothing was evicted (there was room).
 *   1        elem queued; the oldest queued element was removed and copied
 *            to *evicted (dropped if evicted is NULL). The others keep
 *            their order; elem is now the newest.
 *   -EAGAIN  nothing is queued and every slot is reserved (outstanding
 *            permits, or room being handed to a waiting reserver): a slot
 *            held by a permit is never taken. Nothing changed; elem was not
 *            taken.
 *   -EPIPE   closed for sending, or the receiver is gone; elem not taken.
 *   -EINVAL  NULL ch or elem, or evicted overlaps elem.
 * Permits and waiting reservers are unaffected: eviction replaces a queued
 * element, it never changes how much room is reserved, so a reserver still
 * gets the next room that frees, in FIFO order.
 */
ASUP_API int asup_chan_send_evict_oldest(asup_chan *ch, const void *elem, void *evicted);

/* Receives the oldest element into *elem. -ECANCELED (the queue unchanged),
 * -EPIPE when closed for sending and empty. */
ASUP_API ASUP_NODISCARD int asup_chan_recv(asup_cx *cx, asup_chan *ch, void *elem);
/* -EAGAIN if empty (and not closed), -EPIPE if closed and empty. */
ASUP_API int asup_chan_try_recv(asup_chan *ch, void *elem);

/* No more sends: waiting and later reservers get -EPIPE; queued elements can
 * still be received. Idempotent. */
ASUP_API int asup_chan_close(asup_chan *ch);
/* The receiver is gone: the queue is discarded, waiting senders and later
 * permit sends get -EPIPE. Idempotent. */
ASUP_API int asup_chan_close_recv(asup_chan *ch);

typedef struct asup_chan_stats {
	size_t queued;      /* elements waiting to be received */
	size_t reserved;    /* outstanding permits */
	size_t capacity;
	int closed, recv_closed;
} asup_chan_stats;

ASUP_API int asup_chan_stats_get(const asup_chan *ch, asup_chan_stats *out);

#ifdef __cplusplus
}
#endif
#endif
