/*
 * Bounded channels with two-phase send (asupersync/chan.h), built on the wait
 * queues of asupersync/ext.h and on obligations.
 *
 * Room accounting: len (queued) + reserved (permits, and slots being handed to
 * a woken reserver) <= cap. When room frees while reservers wait, the room is
 * handed to the head waiter at once (reserved grows on its behalf, `handed`
 * counts such slots), so a newcomer can never overtake it: strict FIFO. A
 * waiter dequeued by that wake that was cancelled in the meantime passes the
 * slot on to the next one; a waiter whose wait failed was not dequeued and
 * holds nothing.
 *
 * Must not touch: scheduler internals. Everything here suspends through
 * asup_waitq_wait.
 */
#include "asupersync/chan.h"
#include "asupersync/ext.h"
#include "asupersync/region.h"
#include "../kernel/kernel.h"

#include <string.h>

#define CHAN_MAGIC 0x6368616eu /* "chan" */
#define P_EMPTY 0
#define P_LIVE 1
#define P_USED 2

struct asup_chan {
	uint32_t magic;
	uint8_t closed;       /* no more sends */
	uint8_t rx_closed;    /* receiver gone, queue discarded */
	size_t elem, cap;
	size_t head, len;     /* ring of queued elements */
	size_t reserved;      /* permits + slots handed to woken reservers */
	size_t handed;        /* slots handed, not yet picked up */
	asup_waitq senders;   /* reservers waiting for room, FIFO */
	asup_waitq receivers; /* receivers waiting for an element */
	asup__kernel *k;
	_Alignas(16) unsigned char buf[];
};

static int valid(const asup_chan *ch)
{
	return ch && ch->magic == CHAN_MAGIC;
}

ASUP_API int asup_chan_open(asup_cx *cx, size_t elem_size, size_t capacity, asup_chan **out)
{
	asup_rref ref;
	asup_chan *ch;
	int rc;

	if (!asup__cx_self(cx))
		return -ASUP_ENOTASK;
	if (!out || elem_size == 0 || capacity == 0 || elem_size > (SIZE_MAX / 4) / capacity)
		return -EINVAL;
	rc = asup_region_alloc(cx, sizeof(*ch) + elem_size * capacity, &ref);
	if (rc < 0)
		return rc;
	ch = ref.ptr;
	ch->magic = CHAN_MAGIC;
	ch->elem = elem_size;
	ch->cap = capacity;
	ch->k = cx->k;
	asup_waitq_init(&ch->senders);
	asup_waitq_init(&ch->receivers);
	*out = ch;
	return 0;
}

/* Room came free: hand it to the head reserver, if any. */
static void room_freed(asup_chan *ch)
{
	if (!ch->rx_closed && !ch->closed && !asup_waitq_is_empty(&ch->senders)) {
		ch->reserved++;
		ch->handed++;
		asup_waitq_wake_one(&ch->senders);
	}
}

/* A permit's room, back to the channel (obligation hook, or explicit). */
static void release_slot(void *ctx)
{
	asup_chan *ch = ctx;
	ch->reserved--;
	room_freed(ch);
}

/* Takes one unit of room for the caller, waiting in FIFO order. */
static int take_room(asup_cx *cx, asup_chan *ch, int wait)
{
	int rc;

	if (ch->closed || ch->rx_closed)
		return -EPIPE;
	if (asup_waitq_is_empty(&ch->senders) && ch->len + ch->reserved < ch->cap) {
		ch->reserved++;
		return 0;
	}
	if (!wait)
		return -EAGAIN;
	rc = asup_waitq_wait(cx, &ch->senders);
	if (rc < 0)
		return rc; /* not dequeued: holds nothing */
	if (!ch->handed)
		return -EPIPE; /* woken by a close, not by room */
	ch->handed--;     /* the slot handed to us is ours ... */
	if (asup_cx_is_cancel_requested(cx) && asup_checkpoint(cx) < 0) {
		/* ... unless we were cancelled meanwhile: pass it on */
		release_slot(ch);
		return -ECANCELED;
	}
	return 0;
}

static void push(asup_chan *ch, const void *elem)
{
	size_t at = (ch->head + ch->len) % ch->cap;
	memcpy(ch->buf + at * ch->elem, elem, ch->elem);
	ch->len++;
	ch->reserved--;
	asup_waitq_wake_one(&ch->receivers);
}

static int reserve(asup_cx *cx, asup_chan *ch, asup_permit *p, int wait)
{
	asup__ktask *self = asup__cx_self(cx);
	int rc;

	if (!self)
		return -ASUP_ENOTASK;
	if (!valid(ch) || !p)
		return -EINVAL;
	rc = asup_checkpoint(cx);
	if (rc < 0)
		return rc;
	rc = take_room(cx, ch, wait);
	if (rc < 0)
		return rc;
	rc = asup__obligation_create_hooked(ch->k, self, self->owner, ASUP_OBLIGATION_SEND_PERMIT,
					    "send permit", release_slot, ch, &p->_obligation);
	if (rc < 0) {
		release_slot(ch);
		return rc;
	}
	p->_ch = ch;
	p->_state = P_LIVE;
	return 0;
}

ASUP_API int asup_chan_reserve(asup_cx *cx, asup_chan *ch, asup_permit *p)
{
	return reserve(cx, ch, p, 1);
}

ASUP_API int asup_chan_try_reserve(asup_cx *cx, asup_chan *ch, asup_permit *p)
{
	return reserve(cx, ch, p, 0);
}

ASUP_API int asup_permit_send(asup_permit *p, const void *elem)
{
	asup_chan *ch;

	if (!p || p->_state != P_LIVE || !valid(p->_ch) || !elem)
		return -EINVAL;
	ch = p->_ch;
	p->_state = P_USED;
	if (ch->rx_closed) {
		/* Nobody will read it: the element stays the caller's. */
		asup__obligation_resolve(ch->k, p->_obligation, ASUP_OBLIGATION_ABORTED);
		return -EPIPE;
	}
	asup__obligation_resolve(ch->k, p->_obligation, ASUP_OBLIGATION_COMMITTED);
	push(ch, elem);
	return 0;
}

ASUP_API int asup_permit_abort(asup_permit *p)
{
	if (!p || p->_state != P_LIVE || !valid(p->_ch))
		return -EINVAL;
	p->_state = P_USED;
	/* The obligation's hook gives the room back. */
	return asup__obligation_resolve(p->_ch->k, p->_obligation, ASUP_OBLIGATION_ABORTED);
}

ASUP_API int asup_chan_send(asup_cx *cx, asup_chan *ch, const void *elem)
{
	int rc;

	if (!asup__cx_self(cx))
		return -ASUP_ENOTASK;
	if (!valid(ch) || !elem)
		return -EINVAL;
	rc = asup_checkpoint(cx);
	if (rc < 0)
		return rc;
	/* Room and commit in one step: no user code runs in between, so no
	 * obligation is needed to cover the gap. */
	rc = take_room(cx, ch, 1);
	if (rc < 0)
		return rc;
	if (ch->rx_closed) {
		release_slot(ch);
		return -EPIPE;
	}
	push(ch, elem);
	return 0;
}

ASUP_API int asup_chan_try_send(asup_chan *ch, const void *elem)
{
	int rc;

	if (!valid(ch) || !elem)
		return -EINVAL;
	rc = take_room(NULL, ch, 0);
	if (rc < 0)
		return rc;
	push(ch, elem);
	return 0;
}

static int pop(asup_chan *ch, void *elem)
{
	if (ch->len == 0)
		return ch->closed || ch->rx_closed ? -EPIPE : -EAGAIN;
	memcpy(elem, ch->buf + ch->head * ch->elem, ch->elem);
	ch->head = (ch->head + 1) % ch->cap;
	ch->len--;
	room_freed(ch);
	return 0;
}

ASUP_API int asup_chan_recv(asup_cx *cx, asup_chan *ch, void *elem)
{
	int rc;

	if (!asup__cx_self(cx))
		return -ASUP_ENOTASK;
	if (!valid(ch) || !elem)
		return -EINVAL;
	/* Cancellation wins over ready data: the queue stays as it is. */
	rc = asup_checkpoint(cx);
	while (rc == 0 && (rc = pop(ch, elem)) == -EAGAIN)
		rc = asup_waitq_wait(cx, &ch->receivers);
	return rc;
}

ASUP_API int asup_chan_try_recv(asup_chan *ch, void *elem)
{
	if (!valid(ch) || !elem)
		return -EINVAL;
	return pop(ch, elem);
}

ASUP_API int asup_chan_close(asup_chan *ch)
{
	if (!valid(ch))
		return -EINVAL;
	ch->closed = 1;
	ch->reserved -= ch->handed; /* slots handed to nobody now */
	ch->handed = 0;
	asup_waitq_wake_all(&ch->senders);
	asup_waitq_wake_all(&ch->receivers);
	return 0;
}

ASUP_API int asup_chan_close_recv(asup_chan *ch)
{
	if (!valid(ch))
		return -EINVAL;
	ch->rx_closed = 1;
	ch->len = 0;
	ch->reserved -= ch->handed;
	ch->handed = 0;
	asup_waitq_wake_all(&ch->senders);
	asup_waitq_wake_all(&ch->receivers);
	return 0;
}

ASUP_API int asup_chan_stats_get(const asup_chan *ch, asup_chan_stats *out)
{
	if (!valid(ch) || !out)
		return -EINVAL;
	out->queued = ch->len;
	out->reserved = ch->reserved;
	out->capacity = ch->cap;
	out->closed = ch->closed;
	out->recv_closed = ch->rx_closed;
	return 0;
}
