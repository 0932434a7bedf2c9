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
#include "permit.h"

#include <string.h>

#define WATCH_MAGIC 0x77746368u /* "wtch" */
#define RX_LIVE     0x77727820u /* "wrx " */
#define RX_DEAD     0x77726478u /* "wrdx": unsubscribed */

struct asup_watch {
	uint32_t magic;    /* first: a wrong handle fails this check */
	uint8_t closed;    /* the sender closed */
	uint8_t modifying; /* a send_modify callback runs */
	uint32_t nrx;      /* subscribed receivers */
	uint32_t waiting;  /* tasks parked in changed (for stats) */
	size_t elem;
	uint64_t version; /* sends so far; written only by send/send_modify */
	uint64_t region;  /* the owning region's id */
	asup__kernel *k;
	asup_waitq rxq; /* receivers waiting for a change or the close */
	_Alignas(16) unsigned char val[];
};

static int valid(const asup_watch *w)
{
	return w && w->magic == WATCH_MAGIC;
}

/* A channel of a runtime the calling thread does not drive (inside a task:
 * another runtime's): every call refuses it with -EXDEV. */
static int foreign(const asup_watch *w)
{
	return valid(w) && asup__k_here(w->k) < 0;
}

ASUP_API int asup_watch_open(asup_cx *cx, size_t elem_size, const void *initial, asup_watch **out)
{
	asup_rref ref;
	asup_watch *w;
	int rc;

	if (!asup__cx_self(cx))
		return -ASUP_ENOTASK;
	if (!out || !initial || elem_size == 0 || elem_size > SIZE_MAX / 4)
		return -EINVAL;
	rc = asup_region_alloc(cx, sizeof(*w) + elem_size, &ref);
	if (rc < 0)
		return rc;
	w = ref.ptr;
	w->magic = WATCH_MAGIC;
	w->elem = elem_size;
	w->region = ref.region;
	w->k = cx->k;
	memcpy(w->val, initial, elem_size);
	asup_waitq_init(&w->rxq);
	*out = w;
	return 0;
}

/* Why the sender may not write now, or 0. */
static int writable(const asup_watch *w)
{
	if (foreign(w))
		return -EXDEV;
	if (!valid(w))
		return -EINVAL;
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
	if (foreign(w))
		return -EXDEV;
	if (!valid(w))
		return -EINVAL;
	return copy_out(w, elem, version);
}

ASUP_API int asup_watch_close_send(asup_watch *w)
{
	if (foreign(w))
		return -EXDEV;
	if (!valid(w))
		return -EINVAL;
	if (!w->closed) {
		w->closed = 1;
		asup_waitq_wake_all(&w->rxq);
	}
	return 0;
}

ASUP_API int asup_watch_subscribe(asup_watch *w, asup_watch_rx *rx)
{
	if (foreign(w))
		return -EXDEV;
	if (!valid(w) || !rx || w->nrx == UINT32_MAX)
		return -EINVAL;
	w->nrx++;
	rx->_w = w;
	rx->_k = w->k;
	rx->_region = w->region;
	rx->_seen = w->version;
	rx->_self = rx;
	rx->_magic = RX_LIVE;
	rx->_busy = 0;
	return 0;
}

/* The watch of a subscribed receiver, or why there is none. */
static int rx_get(asup_watch_rx *rx, asup_watch **out)
{
	if (!rx || rx->_self != rx)
		return -EINVAL; /* never subscribed, or a copy */
	if (rx->_magic == RX_DEAD)
		return -EPIPE;
	if (rx->_magic != RX_LIVE)
		return -EINVAL;
	if (asup__k_here(rx->_k) < 0)
		return -EXDEV; /* another runtime's cursor: nothing read */
	if (!asup__chan_alive(rx->_k, rx->_region))
		return -ASUP_ECLOSED; /* the value went with its region */
	if (!valid(rx->_w))
		return -EINVAL;
	*out = rx->_w;
	return 0;
}

ASUP_API int asup_watch_unsubscribe(asup_watch_rx *rx)
{
	asup_watch *w;
	int rc = rx_get(rx, &w);

	if (rc == -EPIPE)
		return -ASUP_EALREADY;
	if (rc == -ASUP_ECLOSED)
		rx->_magic = RX_DEAD;
	if (rc < 0)
		return rc;
	if (rx->_busy)
		return -EBUSY;
	w->nrx--;
	rx->_magic = RX_DEAD;
	return 0;
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

ASUP_API int asup_watch_changed(asup_cx *cx, asup_watch_rx *rx)
{
	asup_watch *w;
	int rc;

	if (!asup__cx_self(cx))
		return -ASUP_ENOTASK;
	rc = rx_get(rx, &w);
	if (rc < 0)
		return rc;
	if (rx->_busy)
		return -EBUSY;
	/* Cancellation wins over an unseen version: `seen` stays. */
	rc = asup_checkpoint(cx);
	while (rc == 0 && (rc = look(w, rx)) == -EAGAIN) {
		rx->_busy = 1;
		w->waiting++;
		rc = asup_waitq_wait(cx, &w->rxq); /* on error: no longer queued */
		w->waiting--;
		rx->_busy = 0;
	}
	return rc;
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
	if (foreign(w))
		return -EXDEV;
	if (!valid(w) || !out)
		return -EINVAL;
	out->version = w->version;
	out->receivers = w->nrx;
	out->waiters = w->waiting;
	out->closed = w->closed;
	return 0;
}
