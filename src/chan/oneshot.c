/*
 * Oneshot channels (asupersync/oneshot.h): one value, once, on the wait
 * queues of asupersync/ext.h and on kernel obligations.
 *
 * Sender states (tx), the only transitions allowed:
 *
 *   OPEN --reserve--> RESERVED --permit send--> SENT
 *                     RESERVED --permit abort / leak / auto-abort /
 *                                send to a gone receiver--> CLOSED
 *   OPEN --send--> SENT          OPEN --close_send--> CLOSED
 *
 * Receiver: `taken` is set once a receive got the value, `rx_closed` once
 * close_recv was called; neither is ever cleared.
 *
 * Invariants: `full` implies tx == SENT, !taken and !rx_closed; tx SENT with
 * neither taken nor rx_closed implies `full`. Every change a receiver can
 * observe (a value, the sender gone, the receiver closed) wakes every waiter;
 * waiters re-check, so no hand-off is needed: the one value is taken by
 * whichever receive runs first and the others see -ASUP_EALREADY.
 *
 * A permit is a SEND_PERMIT obligation whose release hook closes the sender
 * side. The hook may run after the holder's stack is gone (at task end), so
 * it touches only the oneshot, and only while the oneshot's region exists
 * (see struct anchor).
 *
 * Must not touch: scheduler internals; everything suspends through
 * asup_waitq_wait.
 */
#include "asupersync/ext.h"
#include "asupersync/oneshot.h"
#include "asupersync/region.h"
#include "permit.h"

#include <string.h>

#define ONESHOT_MAGIC 0x6f6e6573u /* "ones" */

enum {
	TX_OPEN = ASUP_ONESHOT_SENDER_OPEN,
	TX_RESERVED = ASUP_ONESHOT_SENDER_RESERVED,
	TX_SENT = ASUP_ONESHOT_SENDER_SENT,
	TX_CLOSED = ASUP_ONESHOT_SENDER_CLOSED,
};

struct asup_oneshot {
	asup__chan_head h; /* first: magic, owning region, runtime */
	uint8_t tx;        /* sender state; written by the sender calls and the
	                      permit's release hook */
	uint8_t taken;     /* a receive got the value (recv, try_recv) */
	uint8_t rx_closed; /* the receiver was closed (close_recv) */
	uint8_t full;      /* the value is in `val`, not yet received */
	uint32_t waiting;  /* tasks parked in recv (for stats) */
	size_t elem;
	asup_waitq rxq; /* receivers waiting for a change */
	_Alignas(16) unsigned char val[];
};

/*
 * When a task reserves from inside a region body nested below its own region,
 * the oneshot lives in a region that can close before the task ends, while
 * the permit's obligation (in the task's region) is still pending. Its hook
 * then gets this anchor, allocated in the task's region (which outlives the
 * obligation), and looks the oneshot's region up before touching it.
 */
struct anchor {
	asup__kernel *k;
	uint64_t region;
	asup_oneshot *os;
};

/* asup__chan_usable for this kind (permit.h): -EINVAL, -EXDEV for another
 * runtime's channel, -EINVAL unless args_ok. */
static int check(const asup_oneshot *os, int args_ok)
{
	return asup__chan_usable(os, ONESHOT_MAGIC, args_ok);
}

ASUP_API int asup_oneshot_open(asup_cx *cx, size_t elem_size, asup_oneshot **out)
{
	asup_oneshot *os;
	int rc = asup__chan_open(cx, out != NULL, sizeof(*os), elem_size, 1, ONESHOT_MAGIC,
				 (void **)&os);

	if (rc < 0)
		return rc;
	os->elem = elem_size;
	asup_waitq_init(&os->rxq);
	*out = os;
	return 0;
}

/* The sender went away without a value (permit aborted, leaked or
 * auto-aborted when its task ended). */
static void sender_gone(asup_oneshot *os)
{
	if (os->tx == TX_RESERVED) {
		os->tx = TX_CLOSED;
		asup_waitq_wake_all(&os->rxq);
	}
}

static void release_direct(void *ctx)
{
	sender_gone(ctx);
}

static void release_anchored(void *ctx)
{
	struct anchor *a = ctx;
	if (asup__chan_alive(a->k, a->region))
		sender_gone(a->os);
}

/* 1 if the region `id` is the holder's own region or one of its ancestors:
 * then it cannot close before the holder ends. */
static int outlives_holder(const asup__ktask *holder, uint64_t id)
{
	for (const asup__region *r = holder->owner; r; r = r->parent)
		if (r->id == id)
			return 1;
	return 0;
}

/* The permit's obligation, with the hook that fits where the oneshot lives. */
static int make_obligation(asup_cx *cx, asup__ktask *self, asup_oneshot *os, uint64_t *id)
{
	asup__region *scope = cx->scope;
	struct anchor *a;
	asup_rref ref;
	int rc;

	if (outlives_holder(self, os->h.region))
		return asup__obligation_create_hooked(cx->k, self, self->owner,
		                                      ASUP_OBLIGATION_SEND_PERMIT, "oneshot permit",
		                                      release_direct, os, id);
	/* The anchor must live as long as the obligation: in the holder's
	 * region, not in the current scope's. If the obligation is then
	 * refused, the anchor stays unused until that region closes. */
	cx->scope = self->owner;
	rc = asup_region_alloc(cx, sizeof(*a), &ref);
	cx->scope = scope;
	if (rc < 0)
		return rc;
	a = ref.ptr;
	a->k = cx->k;
	a->region = os->h.region;
	a->os = os;
	return asup__obligation_create_hooked(cx->k, self, self->owner, ASUP_OBLIGATION_SEND_PERMIT,
	                                      "oneshot permit", release_anchored, a, id);
}

ASUP_API int asup_oneshot_reserve(asup_cx *cx, asup_oneshot *os, asup_oneshot_permit *p)
{
	asup__ktask *self = asup__cx_self(cx);
	uint64_t id;
	int rc;

	if (!self)
		return -ASUP_ENOTASK;
	if ((rc = check(os, p != NULL)) < 0)
		return rc;
	memset(p, 0, sizeof(*p)); /* a failed reserve leaves an empty permit */
	if (os->tx != TX_OPEN)
		return -ASUP_EALREADY;
	if (os->rx_closed)
		return -EPIPE;
	rc = make_obligation(cx, self, os, &id);
	if (rc < 0)
		return rc;
	os->tx = TX_RESERVED;
	p->_os = os;
	p->_k = os->h.k;
	p->_region = os->h.region;
	p->_obligation = id;
	p->_state = ASUP__PERMIT_LIVE;
	return 0;
}

static int rx_gone(const void *os)
{
	return ((const asup_oneshot *)os)->rx_closed;
}

/* Stores the value for the receiver. The caller checked it is not closed. */
static void deliver(asup_oneshot *os, const void *elem)
{
	memcpy(os->val, elem, os->elem);
	os->full = 1;
	os->tx = TX_SENT;
	asup_waitq_wake_all(&os->rxq);
}

ASUP_API int asup_oneshot_permit_send(asup_oneshot_permit *p, const void *elem)
{
	int rc;

	if (!p || (!elem && p->_state == ASUP__PERMIT_LIVE))
		return -EINVAL; /* a NULL elem leaves the permit live */
	/* Nobody to receive it: the abort's hook closes the sender side. */
	rc = asup__permit_send(&p->_state, p->_os, p->_k, p->_region, p->_obligation, rx_gone);
	if (rc == 0)
		deliver(p->_os, elem);
	return rc;
}

ASUP_API int asup_oneshot_permit_abort(asup_oneshot_permit *p)
{
	if (!p)
		return -EINVAL;
	/* The obligation's hook closes the sender side and wakes the receiver. */
	return asup__permit_abort(&p->_state, p->_os, p->_k, p->_region, p->_obligation);
}

ASUP_API int asup_oneshot_send(asup_oneshot *os, const void *elem)
{
	int rc;

	if ((rc = check(os, elem != NULL)) < 0)
		return rc;
	if (os->tx != TX_OPEN)
		return -ASUP_EALREADY;
	if (os->rx_closed)
		return -EPIPE;
	deliver(os, elem);
	return 0;
}

ASUP_API int asup_oneshot_close_send(asup_oneshot *os)
{
	int rc;

	if ((rc = check(os, 1)) < 0)
		return rc;
	if (os->tx == TX_OPEN) {
		os->tx = TX_CLOSED;
		asup_waitq_wake_all(&os->rxq);
	}
	return 0;
}

/* One attempt: 0 with the value, an end state, or -EAGAIN (nothing yet). */
static int take(asup_oneshot *os, void *elem)
{
	if (os->rx_closed)
		return -EPIPE;
	if (os->taken)
		return -ASUP_EALREADY;
	if (os->full) {
		memcpy(elem, os->val, os->elem);
		os->full = 0;
		os->taken = 1;
		return 0;
	}
	return os->tx == TX_CLOSED ? -EPIPE : -EAGAIN;
}

static int take_poll(void *os, void *elem)
{
	return take(os, elem);
}

ASUP_API int asup_oneshot_recv(asup_cx *cx, asup_oneshot *os, void *elem)
{
	int rc;

	if (!asup__cx_self(cx))
		return -ASUP_ENOTASK;
	if ((rc = check(os, elem != NULL)) < 0)
		return rc;
	/* Cancellation wins over a ready value: the value stays. */
	return asup__wait_poll(cx, &os->rxq, take_poll, os, elem, &os->waiting, ASUP__WAIT_WAITQ);
}

ASUP_API int asup_oneshot_try_recv(asup_oneshot *os, void *elem)
{
	int rc;

	if ((rc = check(os, elem != NULL)) < 0)
		return rc;
	return take(os, elem);
}

ASUP_API int asup_oneshot_close_recv(asup_oneshot *os)
{
	int rc;

	if ((rc = check(os, 1)) < 0)
		return rc;
	if (!os->rx_closed) {
		os->rx_closed = 1;
		os->full = 0; /* a value not received is discarded */
		asup_waitq_wake_all(&os->rxq);
	}
	return 0;
}

ASUP_API int asup_oneshot_stats_get(const asup_oneshot *os, asup_oneshot_stats *out)
{
	int rc;

	if ((rc = check(os, out != NULL)) < 0)
		return rc;
	out->sender = (asup_oneshot_sender)os->tx; /* same order */
	out->has_value = os->full;
	out->received = os->taken;
	out->recv_closed = os->rx_closed;
	out->waiters = os->waiting;
	return 0;
}
