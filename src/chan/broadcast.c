/*
 * Broadcast channels (asupersync/broadcast.h): a bounded ring read by every
 * receiver, on the wait queues of asupersync/ext.h.
 *
 * Messages are numbered from 0 in send order. The ring retains the messages
 * numbered [head, tail); tail - head <= cap, and message n lives in slot
 * n % cap. A receiver is only a cursor (`next`, the number of the next
 * message it reads), so a send costs the same for any number of receivers
 * and never waits: when the ring is full the oldest message is dropped
 * (head++). A cursor below head has lagged: it is told head - next and
 * jumps to head.
 *
 * States: OPEN (nsenders > 0) --last close_send--> CLOSED (absorbing). A
 * receive returns -EPIPE only when CLOSED and next == tail.
 *
 * Invariants: head <= tail, tail - head <= cap; every subscribed cursor has
 * next <= tail; nrx counts subscribed cursors. Every send and the close wake
 * every waiter (each waits for its own cursor); a waiter re-checks, so no
 * hand-off is needed: nothing is consumed by a receive.
 *
 * Must not touch: scheduler internals; everything suspends through
 * asup_waitq_wait.
 */
#include "asupersync/broadcast.h"
#include "asupersync/ext.h"
#include "asupersync/region.h"
#include "cursor.h"
#include "permit.h"

#include <stddef.h>

#include <limits.h>
#include <string.h>

#define BCAST_MAGIC 0x62636173u /* "bcas" */
#define RX_LIVE     0x62727820u /* "brx " */
#define RX_DEAD     0x62726478u /* "brdx": unsubscribed */

struct asup_broadcast {
	asup__chan_head h; /* first: magic, owning region, runtime */
	uint8_t closed;    /* every sender closed */
	uint32_t nsenders; /* open senders (open, add_sender, close_send) */
	uint32_t nrx;      /* subscribed cursors (subscribe, unsubscribe) */
	uint32_t waiting;  /* tasks parked in recv (for stats) */
	size_t elem, cap;
	uint64_t head, tail; /* retained messages are [head, tail) */
	asup_waitq rxq; /* receivers waiting for a message or the close */
	_Alignas(16) unsigned char buf[];
};

static const struct asup__cursor_kind RX = {RX_LIVE, RX_DEAD, BCAST_MAGIC,
					    offsetof(struct asup_broadcast, nrx)};

/* asup__chan_usable for this kind (permit.h): -EINVAL, -EXDEV for another
 * runtime's channel, -EINVAL unless args_ok. */
static int check(const asup_broadcast *b, int args_ok)
{
	return asup__chan_usable(b, BCAST_MAGIC, args_ok);
}

static unsigned char *slot(asup_broadcast *b, uint64_t n)
{
	return b->buf + (size_t)(n % b->cap) * b->elem;
}

ASUP_API int asup_broadcast_open(asup_cx *cx, size_t elem_size, size_t capacity,
                                 asup_broadcast **out)
{
	asup_broadcast *b;
	int rc = asup__chan_open(cx, out != NULL, sizeof(*b), elem_size, capacity, BCAST_MAGIC,
				 (void **)&b);

	if (rc < 0)
		return rc;
	b->nsenders = 1;
	b->elem = elem_size;
	b->cap = capacity;
	asup_waitq_init(&b->rxq);
	*out = b;
	return 0;
}

/* Nobody reads what is sent now: every sender closed or no receiver. */
static int nobody_reads(const void *bp)
{
	const asup_broadcast *b = bp;
	return b->closed || b->nrx == 0;
}

/* Appends a message, dropping the oldest when full, and wakes the receivers. */
static int push(asup_broadcast *b, const void *elem)
{
	if (b->tail - b->head == b->cap)
		b->head++;
	memcpy(slot(b, b->tail), elem, b->elem);
	b->tail++;
	asup_waitq_wake_all(&b->rxq);
	return b->nrx > INT_MAX ? INT_MAX : (int)b->nrx;
}

ASUP_API int asup_broadcast_send(asup_broadcast *b, const void *elem)
{
	int rc;

	if ((rc = check(b, elem != NULL)) < 0)
		return rc;
	if (nobody_reads(b))
		return -EPIPE; /* not taken */
	return push(b, elem);
}

ASUP_API int asup_broadcast_reserve(asup_cx *cx, asup_broadcast *b, asup_broadcast_permit *p)
{
	asup__ktask *self = asup__cx_self(cx);
	uint64_t id;
	int rc;

	if (!self)
		return -ASUP_ENOTASK;
	if ((rc = check(b, p != NULL)) < 0)
		return rc;
	memset(p, 0, sizeof(*p)); /* a failed reserve leaves an empty permit */
	if (nobody_reads(b))
		return -EPIPE;
	/* The ring always has room, so nothing is lent: no release hook. */
	rc = asup__obligation_create(cx->k, self, cx->scope, ASUP_OBLIGATION_SEND_PERMIT,
	                             "broadcast permit", &id);
	if (rc < 0)
		return rc;
	p->_b = b;
	p->_k = b->h.k;
	p->_region = b->h.region;
	p->_obligation = id;
	p->_state = ASUP__PERMIT_LIVE;
	return 0;
}

ASUP_API int asup_broadcast_permit_send(asup_broadcast_permit *p, const void *elem)
{
	int rc;

	if (!p || (!elem && p->_state == ASUP__PERMIT_LIVE))
		return -EINVAL; /* a NULL elem leaves the permit live */
	rc = asup__permit_send(&p->_state, p->_b, p->_k, p->_region, p->_obligation, nobody_reads);
	return rc < 0 ? rc : push(p->_b, elem);
}

ASUP_API int asup_broadcast_permit_abort(asup_broadcast_permit *p)
{
	if (!p)
		return -EINVAL;
	return asup__permit_abort(&p->_state, p->_b, p->_k, p->_region, p->_obligation);
}

ASUP_API int asup_broadcast_add_sender(asup_broadcast *b)
{
	int rc;

	if ((rc = check(b, 1)) < 0)
		return rc;
	if (b->closed)
		return -EPIPE;
	if (b->nsenders == UINT32_MAX)
		return -EINVAL;
	b->nsenders++;
	return 0;
}

ASUP_API int asup_broadcast_close_send(asup_broadcast *b)
{
	int rc;

	if ((rc = check(b, 1)) < 0)
		return rc;
	if (b->closed)
		return -ASUP_EALREADY;
	if (--b->nsenders == 0) {
		b->closed = 1;
		asup_waitq_wake_all(&b->rxq);
	}
	return 0;
}

ASUP_API int asup_broadcast_subscribe(asup_broadcast *b, asup_broadcast_rx *rx)
{
	int rc;

	if ((rc = check(b, rx != NULL)) < 0)
		return rc;
	if (b->closed)
		return -EPIPE; /* it would never see a message */
	return asup__cursor_open(ASUP__CURSOR(rx), &RX, b, b->h.k, b->h.region, b->tail);
}

/* The broadcast of a subscribed cursor, or why there is none (cursor.h). */
static int rx_get(asup_broadcast_rx *rx, asup_broadcast **out)
{
	return asup__cursor_get(ASUP__CURSOR(rx), &RX, (void **)out);
}

ASUP_API int asup_broadcast_unsubscribe(asup_broadcast_rx *rx)
{
	return asup__cursor_close(ASUP__CURSOR(rx), &RX);
}

/* One attempt for rx: a message, a lag report, the end, or -EAGAIN. */
static int take(asup_broadcast *b, asup_broadcast_rx *rx, void *elem, uint64_t *missed)
{
	if (rx->_next < b->head) {
		if (missed)
			*missed = b->head - rx->_next;
		rx->_next = b->head;
		return -ASUP_ELAGGED;
	}
	if (rx->_next < b->tail) {
		memcpy(elem, slot(b, rx->_next), b->elem);
		rx->_next++;
		return 0;
	}
	return b->closed ? -EPIPE : -EAGAIN;
}

struct recv_args {
	void *elem;
	uint64_t *missed;
};

static int take_poll(void *c, void *arg)
{
	struct recv_args *a = arg;
	asup_broadcast_rx *rx = c;
	return take(rx->_b, rx, a->elem, a->missed);
}

ASUP_API int asup_broadcast_recv(asup_cx *cx, asup_broadcast_rx *rx, void *elem, uint64_t *missed)
{
	struct recv_args a = {elem, missed};
	asup_broadcast *b;
	int rc;

	if (!asup__cx_self(cx))
		return -ASUP_ENOTASK;
	rc = rx_get(rx, &b);
	if (rc < 0)
		return rc;
	if (!elem)
		return -EINVAL;
	/* Cancellation wins over a ready message: the cursor stays. */
	return asup__cursor_wait(cx, ASUP__CURSOR(rx), &b->rxq, take_poll, &a, &b->waiting);
}

ASUP_API int asup_broadcast_try_recv(asup_broadcast_rx *rx, void *elem, uint64_t *missed)
{
	asup_broadcast *b;
	int rc = rx_get(rx, &b);

	if (rc < 0)
		return rc;
	if (!elem)
		return -EINVAL;
	if (rx->_busy)
		return -EBUSY;
	return take(b, rx, elem, missed);
}

ASUP_API int asup_broadcast_stats_get(const asup_broadcast *b, asup_broadcast_stats *out)
{
	int rc;

	if ((rc = check(b, out != NULL)) < 0)
		return rc;
	out->capacity = b->cap;
	out->retained = (size_t)(b->tail - b->head);
	out->sent = b->tail;
	out->receivers = b->nrx;
	out->senders = b->nsenders;
	out->waiters = b->waiting;
	out->closed = b->closed;
	return 0;
}
