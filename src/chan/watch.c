/*
 * Watch channels (asupersync/watch.h): one versioned value, on the wait
 * queues of asupersync/ext.h.
 *
 * The watch owns the value and its version (the number of sends so far); a
 * receiver owns only `seen`, the version it has looked at. A change is
 * version != seen, so nothing is queued per receiver and a receiver that
 * looks rarely sees the latest value once.
 *
 * States: OPEN --close_send--> CLOSED (absorbing; the value stays readable).
 * `modifying` is set only while a send_modify callback runs; calls that read
 * or write the value refuse to run inside it (-EBUSY) rather than see it
 * half edited.
 *
 * Invariants: every subscribed receiver has seen <= version; nrx counts
 * subscribed receivers. Every send and the close wake every waiter; waiters
 * re-check their own `seen`, so no hand-off is needed.
 *
 * Must not touch: scheduler internals; everything suspends through
 * asup_waitq_wait.
 */
#include "asupersync/ext.h"
#include "asupersync/region.h"
#include "asupersync/watch.h"
#include "cursor.h"
#include "permit.h"

#include <stddef.h>

#include <string.h>

#define WATCH_MAGIC 0x77746368u /* "wtch" */
#define RX_LIVE     0x77727820u /* "wrx " */
#define RX_DEAD     0x77726478u /* "wrdx": unsubscribed */

struct asup_watch {
	asup__chan_head h; /* first: magic, owning region, runtime */
	uint8_t closed;    /* the sender closed */
	uint8_t modifying; /* a send_modify callback runs */
	uint32_t nrx;      /* subscribed receivers */
	uint32_t waiting;  /* tasks parked in changed (for stats) */
	size_t elem;
	uint64_t version; /* sends so far; written only by send/send_modify */
	asup_waitq rxq; /* receivers waiting for a change or the close */
	_Alignas(16) unsigned char val[];
};

static const struct asup__cursor_kind RX = {RX_LIVE, RX_DEAD, WATCH_MAGIC,
					    offsetof(struct asup_watch, nrx)};

/* asup__chan_usable for this kind (permit.h): -EINVAL, -EXDEV for another
 * runtime's channel, -EINVAL unless args_ok. */
static int check(const asup_watch *w, int args_ok)
{
	return asup__chan_usable(w, WATCH_MAGIC, args_ok);
}

ASUP_API int asup_watch_open(asup_cx *cx, size_t elem_size, const void *initial, asup_watch **out)
{
	asup_watch *w;
	int rc = asup__chan_open(cx, out && initial, sizeof(*w), elem_size, 1, WATCH_MAGIC,
				 (void **)&w);

	if (rc < 0)
		return rc;
	w->elem = elem_size;
	memcpy(w->val, initial, elem_size);
	asup_waitq_init(&w->rxq);
	*out = w;
	return 0;
}

/* Why the sender may not write now, or 0. */
static int writable(const asup_watch *w)
{
	int rc;

	if ((rc = check(w, 1)) < 0)
		return rc;
	if (w->modifying)
		return -EBUSY;
	return w->closed ? -EPIPE : 0;
}

static void published(asup_watch *w)
{
	w->version++;
	asup_waitq_wake_all(&w->rxq);
}

ASUP_API int asup_watch_send(asup_watch *w, const void *elem)
{
	int rc = writable(w);

	if (rc < 0)
		return rc;
	if (!elem)
		return -EINVAL;
	memcpy(w->val, elem, w->elem);
	published(w);
	return 0;
}

ASUP_API int asup_watch_send_modify(asup_watch *w, asup_watch_modify_fn fn, void *arg)
{
	int rc = writable(w);

	if (rc < 0)
		return rc;
	if (!fn)
		return -EINVAL;
	w->modifying = 1;
	fn(w->val, arg);
	w->modifying = 0;
	published(w);
	return 0;
}

static int copy_out(const asup_watch *w, void *elem, uint64_t *version)
{
	if (!elem)
		return -EINVAL;
	if (w->modifying)
		return -EBUSY;
	memcpy(elem, w->val, w->elem);
	if (version)
		*version = w->version;
	return 0;
}

ASUP_API int asup_watch_borrow(asup_watch *w, void *elem, uint64_t *version)
{
	int rc;

	if ((rc = check(w, 1)) < 0)
		return rc;
	return copy_out(w, elem, version);
}

ASUP_API int asup_watch_close_send(asup_watch *w)
{
	int rc;

	if ((rc = check(w, 1)) < 0)
		return rc;
	if (!w->closed) {
		w->closed = 1;
		asup_waitq_wake_all(&w->rxq);
	}
	return 0;
}

ASUP_API int asup_watch_subscribe(asup_watch *w, asup_watch_rx *rx)
{
	int rc;

	if ((rc = check(w, rx != NULL)) < 0)
		return rc;
	return asup__cursor_open(ASUP__CURSOR(rx), &RX, w, w->h.k, w->h.region, w->version);
}

/* The watch of a subscribed receiver, or why there is none (cursor.h). */
static int rx_get(asup_watch_rx *rx, asup_watch **out)
{
	return asup__cursor_get(ASUP__CURSOR(rx), &RX, (void **)out);
}

ASUP_API int asup_watch_unsubscribe(asup_watch_rx *rx)
{
	return asup__cursor_close(ASUP__CURSOR(rx), &RX);
}

/* One look: 0 (an unseen version, now seen), -EPIPE, or -EAGAIN. */
static int look(asup_watch *w, asup_watch_rx *rx)
{
	if (rx->_seen != w->version) {
		rx->_seen = w->version;
		return 0;
	}
	return w->closed ? -EPIPE : -EAGAIN;
}

static int look_poll(void *c, void *arg)
{
	asup_watch_rx *rx = c;
	(void)arg;
	return look(rx->_w, rx);
}

ASUP_API int asup_watch_changed(asup_cx *cx, asup_watch_rx *rx)
{
	asup_watch *w;
	int rc;

	if (!asup__cx_self(cx))
		return -ASUP_ENOTASK;
	rc = rx_get(rx, &w);
	if (rc < 0)
		return rc;
	/* Cancellation wins over an unseen version: `seen` stays. */
	return asup__cursor_wait(cx, ASUP__CURSOR(rx), &w->rxq, look_poll, NULL, &w->waiting);
}

ASUP_API int asup_watch_borrow_and_update(asup_watch_rx *rx, void *elem, uint64_t *version)
{
	asup_watch *w;
	int rc = rx_get(rx, &w);

	if (rc < 0)
		return rc;
	rc = copy_out(w, elem, version);
	if (rc == 0)
		rx->_seen = w->version;
	return rc;
}

ASUP_API int asup_watch_mark_seen(asup_watch_rx *rx)
{
	asup_watch *w;
	int rc = rx_get(rx, &w);

	if (rc < 0)
		return rc;
	rx->_seen = w->version;
	return 0;
}

ASUP_API int asup_watch_has_changed(asup_watch_rx *rx)
{
	asup_watch *w;
	int rc = rx_get(rx, &w);

	if (rc < 0)
		return rc;
	if (rx->_seen != w->version)
		return 1;
	return w->closed ? -EPIPE : 0;
}

ASUP_API int asup_watch_stats_get(const asup_watch *w, asup_watch_stats *out)
{
	int rc;

	if ((rc = check(w, out != NULL)) < 0)
		return rc;
	out->version = w->version;
	out->receivers = w->nrx;
	out->waiters = w->waiting;
	out->closed = w->closed;
	return 0;
}
