/*
 * Ways in from other threads: an inbox that runs functions posted by any
 * thread as tasks of a runtime, and a cross-thread channel whose sending end
 * any thread may use.
 *
 * Both are created by a task (they need ASUP_CAP_IO and a runtime in real
 * mode, since their wake-up is an eventfd the reactor waits on) and are
 * owned by the region of the current scope. Their memory is reference
 * counted so that a foreign thread never touches freed memory: the creator
 * gets one reference for the foreign side; each thread that keeps a pointer
 * may take more with *_retain; everyone calls *_release once per reference.
 * When the owning region closes (or *_close is called) the object is closed:
 * posts and sends from then on return -ASUP_ECLOSED, a blocked sender wakes
 * with -ASUP_ECLOSED, and what was queued but never taken is dropped (an
 * inbox's functions are not run; its drop function, if any, is called on
 * each arg). The memory goes when the region has closed and every
 * reference was released. Open them in a region of your own (asup_region):
 * the root region of asup_rt_run is not closed before the runtime is
 * destroyed, so an object opened there keeps the region's reference.
 *
 * Thread-safety: *_post, *_notify, *_send, *_try_send, *_retain and
 * *_release may be called from any thread, concurrently. asup_inbox_notify
 * is also async-signal-safe (no lock, no allocation: an atomic and a write
 * to an eventfd). Everything else is for tasks of the owning runtime.
 */
#ifndef ASUPERSYNC_POST_H
#define ASUPERSYNC_POST_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "cx.h"
#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- inbox: post work to a runtime ---- */

typedef struct asup_inbox asup_inbox;

/* Creates an inbox in the current scope's region. drop (may be NULL) is
 * called with the arg of each posted function that will never run (the
 * inbox closed first), on the runtime's thread. -EINVAL (NULL out), -ENOMEM,
 * -errno of eventfd, the common I/O codes (net.h). The caller holds one
 * reference (for the foreign side) in *out. */
ASUP_API int asup_inbox_open(asup_cx *cx, void (*drop)(void *arg), asup_inbox **out);
/* Any thread: queues fn(cx, arg) to run as a task spawned by the serving
 * task, and wakes the runtime. 0, -EINVAL (NULL ib or fn), -ASUP_ECLOSED,
 * -ENOMEM (nothing queued). */
ASUP_API int asup_inbox_post(asup_inbox *ib, asup_task_fn fn, void *arg);
/* Any thread, async-signal-safe: wakes the serving task, which then calls
 * the on_notify function given to asup_inbox_serve once for any number of
 * notifies since its last call (they coalesce). 0, -EINVAL, -ASUP_ECLOSED. */
ASUP_API int asup_inbox_notify(asup_inbox *ib);
/* The serving task: runs until cancelled (returns -ECANCELED/-ETIMEDOUT),
 * or until the inbox is closed (returns 0; what was still queued was
 * dropped by the close).
 * Each posted function becomes a task of the current scope's region,
 * spawned in the order the posts were made; on_notify (may be NULL) runs on
 * the serving task. -EINVAL (NULL ib), -EBUSY (another task serves it),
 * -ASUP_ECLOSED (already closed), the spawn's codes. */
ASUP_API int asup_inbox_serve(asup_cx *cx, asup_inbox *ib,
			      void (*on_notify)(asup_cx *cx, void *arg), void *notify_arg);
/* Closes the inbox (see above); a serving task returns 0. 0, -EINVAL,
 * -ASUP_ECLOSED (already closed). */
ASUP_API int asup_inbox_close(asup_cx *cx, asup_inbox *ib);
ASUP_API void asup_inbox_retain(asup_inbox *ib);
ASUP_API void asup_inbox_release(asup_inbox *ib);

/* ---- cross-thread channel: foreign threads send, a task receives ---- */

typedef struct asup_xchan asup_xchan;

/* A channel of capacity (1 .. 1<<20) values of 8 bytes in the current
 * scope's region. -EINVAL, -ENOMEM, -errno, the common I/O codes. The
 * caller holds one reference in *out. */
ASUP_API int asup_xchan_open(asup_cx *cx, uint32_t capacity, asup_xchan **out);
/* Any thread: waits while the channel is full. 0, -EINVAL, -ASUP_ECLOSED.
 * On the thread that drives the owning runtime (one of its tasks or
 * finalizers) it never waits, since the receiver could then never run:
 * a full channel gives -EDEADLK and queues nothing. From a task of another
 * runtime it blocks that runtime's thread while it waits: tasks should
 * use asup_xchan_try_send. */
ASUP_API int asup_xchan_send(asup_xchan *ch, uint64_t v);
/* Any thread: 0, -EAGAIN (full), -EINVAL, -ASUP_ECLOSED. */
ASUP_API int asup_xchan_try_send(asup_xchan *ch, uint64_t v);
/* A task of the owning runtime: waits for a value. 0 and *out, -ASUP_ECLOSED
 * (closed and empty), -EINVAL, -EBUSY (another task receives), a checkpoint
 * (-ECANCELED/-ETIMEDOUT: nothing taken), the common I/O codes. */
ASUP_API int asup_xchan_recv(asup_cx *cx, asup_xchan *ch, uint64_t *out);
/* Closes the channel: senders get -ASUP_ECLOSED; values queued can still be
 * received until the region closes. 0, -EINVAL, -ASUP_ECLOSED. */
ASUP_API int asup_xchan_close(asup_cx *cx, asup_xchan *ch);
ASUP_API void asup_xchan_retain(asup_xchan *ch);
ASUP_API void asup_xchan_release(asup_xchan *ch);

#ifdef __cplusplus
}
#endif

#endif
