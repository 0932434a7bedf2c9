/*
 * asupersync/watch.h - a versioned single value that receivers watch.
 *
 * The watch holds one value (a fixed element size, copied by value) and a
 * version that every send increments. Each receiver remembers the version it
 * has seen; asup_watch_changed waits until the version differs, marks it
 * seen and returns. Receivers are not queued messages: several sends between
 * two looks are seen as one change (the latest value).
 *
 *   asup_watch_send(w, &v)               replace the value
 *   asup_watch_send_modify(w, fn, arg)   edit it in place: fn(value, arg)
 *   asup_watch_borrow(w, &v, &ver)       copy out the value and its version
 *   asup_watch_changed(cx, &rx)          wait for an unseen version
 *   asup_watch_borrow_and_update(&rx, &v, &ver)   copy out and mark seen
 *
 * Closing: there is one sender; asup_watch_close_send ends it. A receiver
 * with an unseen version still gets that change (0) first; after that
 * asup_watch_changed returns -EPIPE. The last value stays readable.
 *
 * Cancel-safety: asup_watch_changed checkpoints first (a cancel wins over an
 * unseen version) and a cancelled wait leaves the seen version as it was, so
 * the change is still reported to the next call. Nothing else suspends.
 *
 * Runtimes: every call on a watch or its receivers from a task of another
 * runtime, or from a thread other than the one driving its runtime, returns
 * -EXDEV and changes nothing.
 *
 * Ownership: a watch is owned by the region it was opened in (region heap,
 * freed when the region closes). Receivers (asup_watch_rx) live in the
 * caller's storage: asup_watch_subscribe initialises one (overwriting it),
 * asup_watch_unsubscribe ends it; a copy of a receiver is not a receiver
 * (-EINVAL); a receiver is used by one task at a time. The send_modify
 * callback is borrowed for the call, must not suspend and must not call
 * functions of the same watch (they return -EBUSY meanwhile). Element
 * pointers are borrowed for the call.
 */
#ifndef ASUPERSYNC_WATCH_H
#define ASUPERSYNC_WATCH_H

#include "core.h"
#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct asup_watch asup_watch;

/* A receiver, in the caller's storage. Fields are private. */
typedef struct asup_watch_rx {
	asup_watch *_w;
	void *_k;
	uint64_t _region;
	uint64_t _seen;
	void *_self;
	uint32_t _magic;
	uint32_t _busy;
} asup_watch_rx;

/* Edits the value in place (elem_size bytes at value). */
typedef void (*asup_watch_modify_fn)(void *value, void *arg);

/* Opens a watch holding a copy of *initial (version 0) in the current
 * scope's region. -EINVAL (zero element size, NULL initial or out), -ENOMEM,
 * -ASUP_ECLOSED, -ASUP_ECAPACITY, -ASUP_ENOTASK. */
ASUP_API ASUP_NODISCARD int asup_watch_open(asup_cx *cx, size_t elem_size, const void *initial, asup_watch **out);

/* Replaces the value with a copy of *elem, increments the version and wakes
 * every waiting receiver. Never suspends; succeeds with or without receivers.
 * -EPIPE after asup_watch_close_send, -EBUSY inside a send_modify callback,
 * -EINVAL. */
ASUP_API int asup_watch_send(asup_watch *w, const void *elem);
/* Runs fn(value, arg) on the value in place, then as asup_watch_send. */
ASUP_API int asup_watch_send_modify(asup_watch *w, asup_watch_modify_fn fn, void *arg);
/* Copies the current value to *elem and its version to *version (may be
 * NULL); marks nothing seen. Works after close. -EBUSY, -EINVAL. */
ASUP_API int asup_watch_borrow(asup_watch *w, void *elem, uint64_t *version);
/* Ends the sender: waiting receivers wake (and see -EPIPE once they have
 * seen the last version). Idempotent. -EINVAL for a bad handle. */
ASUP_API int asup_watch_close_send(asup_watch *w);

/* Initialises *rx as a receiver that has seen the current version (also
 * after close: it can still borrow the last value). -EINVAL. */
ASUP_API int asup_watch_subscribe(asup_watch *w, asup_watch_rx *rx);
/* Ends the receiver. -ASUP_EALREADY (already ended), -EBUSY (a changed()
 * waits on it), -ASUP_ECLOSED (the watch's region closed; rx is ended),
 * -EINVAL (never subscribed, or a copy). */
ASUP_API int asup_watch_unsubscribe(asup_watch_rx *rx);

/*
 * Waits for a version rx has not seen and marks it seen: 0. -ECANCELED (the
 * seen version unchanged); -EPIPE (the sender closed and rx has seen the last
 * version, or rx was unsubscribed); -EBUSY (another changed() waits on rx);
 * -ASUP_ECLOSED (the watch's region closed); -EINVAL; -ASUP_ENOTASK.
 */
ASUP_API ASUP_NODISCARD int asup_watch_changed(asup_cx *cx, asup_watch_rx *rx);
/* Copies the current value and version out (version may be NULL) and marks
 * that version seen. Errors as asup_watch_borrow, plus the receiver errors
 * of asup_watch_changed. */
ASUP_API int asup_watch_borrow_and_update(asup_watch_rx *rx, void *elem, uint64_t *version);
/* Marks the current version seen without copying. Receiver errors only. */
ASUP_API int asup_watch_mark_seen(asup_watch_rx *rx);
/* Never suspends: 1 if rx has not seen the current version, 0 if it has and
 * the sender is open, -EPIPE if it has and the sender closed (what
 * asup_watch_changed would return at once), or a receiver error. */
ASUP_API int asup_watch_has_changed(asup_watch_rx *rx);

typedef struct asup_watch_stats {
	uint64_t version;   /* sends so far */
	uint32_t receivers; /* subscribed receivers */
	size_t waiters;     /* tasks waiting in asup_watch_changed */
	int closed;         /* the sender closed */
} asup_watch_stats;

ASUP_API int asup_watch_stats_get(const asup_watch *w, asup_watch_stats *out);

#ifdef __cplusplus
}
#endif
#endif
