/*
 * Bounded channels with two-phase send (asupersync/chan.h), built on the wait
 * queues of asupersync/ext.h and on obligations.
 *
 * Room accounting: len (queued) + reserved (permits, and slots being handed to
 * a woken reserver) <= cap. When room frees while reservers wait, the room is
 * granted to the head waiter at once (reserved grows on its behalf, its
 * waiter's result is 1), so a newcomer can never overtake it: strict FIFO.
 * The hand-off is asup_wait_grant's (ext.h): a granted reserver cancelled
 * before it ran passes the slot on; one whose wait failed holds nothing.
 *
 * A close wakes every reserver with -EPIPE. A reserver granted a slot before
 * a close gives it back when it runs and reports the close as well, so
 * nothing is granted on a closed channel. asup_select queues its own waiters
 * here through chan_internal.h, under the same rules.
 *
 * send_evict_oldest replaces the oldest queued element instead of waiting:
 * it changes what is queued, never how much room is reserved, so permits and
 * waiting reservers are untouched by it.
 *
 * Must not touch: scheduler internals. Everything here suspends through
 * asup_waitq_wait.
 */
#include "asupersync/chan.h"
#include "asupersync/ext.h"
#include "asupersync/region.h"
#include "chan_internal.h"
#include "permit.h"

#include <string.h>

#define CHAN_MAGIC 0x6368616eu /* "chan" */

struct asup_chan {
	asup__chan_head h;    /* first: magic, owning region, runtime */
	uint8_t closed;       /* no more sends */
	uint8_t rx_closed;    /* receiver gone, queue discarded */
	size_t elem, cap;
	size_t head, len;     /* ring of queued elements */
	size_t reserved;      /* permits + slots granted to woken reservers */
	asup_waitq senders;   /* reservers waiting for room, FIFO */
	asup_waitq receivers; /* receivers waiting for an element */
	_Alignas(16) unsigned char buf[];
};

/* The public queue calls without their argument checks: a channel's queues
 * are always valid, and these run on every send and receive. */
static inline int queue_empty(const asup_waitq *q)
{
	return asup__list_empty((const asup__list *)(const void *)q);
}

static inline void queue_wake_one(asup_waitq *q)
{
	(void)asup__waitq_wake_one((asup__list *)(void *)q);
}

/* 0 for a channel the caller may use; -EINVAL for a bad one, -EXDEV for one
 * of a runtime the calling thread does not drive (inside a task: another
 * runtime's; the cx check before it made sure the thread drives cx's). */
static int usable(const asup_chan *ch)
{
	return asup__chan_usable(ch, CHAN_MAGIC, 1);
}

ASUP_API int asup_chan_open(asup_cx *cx, size_t elem_size, size_t capacity, asup_chan **out)
{
	asup_chan *ch;
	int rc = asup__chan_open(cx, out != NULL, sizeof(*ch), elem_size, capacity, CHAN_MAGIC,
				 (void **)&ch);

	if (rc < 0)
		return rc;
	ch->elem = elem_size;
	ch->cap = capacity;
	asup_waitq_init(&ch->senders);
	asup_waitq_init(&ch->receivers);
	*out = ch;
	return 0;
}

/* Room came free: hand it to the head reserver, if any. */
static void room_freed(asup_chan *ch)
{
	if (!ch->rx_closed && !ch->closed && !queue_empty(&ch->senders)) {
		ch->reserved++;
		asup__grant(asup__waitq_head(&ch->senders), 1);
	}
}

/* A permit's room, back to the channel (obligation hook, or explicit). */
static void release_slot(void *ctx)
{
	asup_chan *ch = ctx;
	ch->reserved--;
	room_freed(ch);
}

/* A reserver's wake result: 1, a slot that is now the caller's, unless the
 * channel closed since the hand-off (the slot goes back); or the close. */
static int picked_up(asup_chan *ch, int result)
{
	if (result > 0 && (ch->closed || ch->rx_closed)) {
		release_slot(ch);
		return -EPIPE;
	}
	return result;
}

/* asup_wait_grant's return: a granted slot the reserver cannot use. */
static void slot_back(void *ctx, asup_waiter *w)
{
	if (asup_waiter_result(w) > 0)
		release_slot(ctx);
}

/* 1 if a newcomer may take room now, -EPIPE, or 0 (it must queue). */
static int room_poll(const asup_chan *ch)
{
	if (ch->closed || ch->rx_closed)
		return -EPIPE;
	return queue_empty(&ch->senders) && ch->len + ch->reserved < ch->cap;
}

/* Takes one unit of room for the caller, waiting in FIFO order. */
static int take_room(asup_cx *cx, asup_chan *ch, int wait)
{
	asup_waiter w;
	int rc = room_poll(ch);

	if (rc < 0)
		return rc;
	if (rc) {
		ch->reserved++;
		return 0;
	}
	if (!wait)
		return -EAGAIN;
	asup__waiter_init_task(&w, cx->kt);
	rc = asup__wait_grant(cx, &ch->senders, &w, slot_back, ch, ASUP__WAIT_CHAN_SEND);
	return rc < 0 ? rc : picked_up(ch, rc) < 0 ? -EPIPE : 0;
}

/* Copies one element. Most channels carry a word (a value, a pointer): that
 * size is a constant copy, one load and one store, not a library call. */
static inline void elem_copy(void *dst, const void *src, size_t n)
{
	if (n == sizeof(uint64_t))
		memcpy(dst, src, sizeof(uint64_t));
	else
		memcpy(dst, src, n);
}

/* Queues an element into a reserved slot (the reservation ends). The ring
 * index wraps by a subtraction: head < cap and len < cap here, and a
 * division is the slowest instruction of a send. */
static void push(asup_chan *ch, const void *elem)
{
	size_t at = ch->head + ch->len;

	if (at >= ch->cap)
		at -= ch->cap;
	elem_copy(ch->buf + at * ch->elem, elem, ch->elem);
	ch->len++;
	ch->reserved--;
	queue_wake_one(&ch->receivers);
}

/* The slot the caller holds becomes a permit, an obligation of self. */
static int permit_issue(asup__ktask *self, asup_chan *ch, asup_permit *p)
{
	/* In the current scope: a region body that returns holding the permit
	 * leaks it in its own region, before that region's memory (where the
	 * channel may live) is freed. */
	int rc = asup__obligation_create_hooked(ch->h.k, self, self->cx.scope,
						ASUP_OBLIGATION_SEND_PERMIT, "send permit",
						release_slot, ch, &p->_obligation);
	if (rc < 0) {
		release_slot(ch);
		return rc;
	}
	/* The obligation can be in a region that outlives the channel's (a
	 * task of an outer region reserving on it): its hook must not give
	 * room back to freed memory. */
	asup__obligation_guard(ch->h.k, p->_obligation, ch->h.region);
	p->_ch = ch;
	p->_k = ch->h.k;
	p->_region = ch->h.region;
	p->_state = ASUP__PERMIT_LIVE;
	return 0;
}

/* The checks every suspending call makes first, in this order: a task (the
 * running one, in *self), an argument (the permit or the element), a usable
 * channel. */
static int check(asup_cx *cx, const asup_chan *ch, const void *arg, asup__ktask **self)
{
	if (!(*self = asup__cx_self(cx)))
		return -ASUP_ENOTASK;
	if (!arg)
		return -EINVAL;
	return usable(ch);
}

/* What a reserve and a send begin with: the checks, a checkpoint, then room
 * (waiting for it if `wait`). 0 once the caller holds a slot. */
static int enter(asup_cx *cx, asup_chan *ch, const void *arg, int wait)
{
	asup__ktask *self;
	int rc = check(cx, ch, arg, &self);

	if (rc < 0)
		return rc;
	rc = asup__cx_checkpoint_self(cx, self);
	if (rc < 0)
		return rc;
	return take_room(cx, ch, wait);
}

static int reserve(asup_cx *cx, asup_chan *ch, asup_permit *p, int wait)
{
	int rc = enter(cx, ch, p, wait);

	if (rc < 0)
		return rc;
	return permit_issue(asup__cx_self(cx), ch, p);
}

ASUP_API int asup_chan_reserve(asup_cx *cx, asup_chan *ch, asup_permit *p)
{
	return reserve(cx, ch, p, 1);
}

ASUP_API int asup_chan_try_reserve(asup_cx *cx, asup_chan *ch, asup_permit *p)
{
	return reserve(cx, ch, p, 0);
}

/* A permit's send or abort claims it first (permit.h): a used permit, one
 * of another runtime (left live), one whose holder ended (the runtime
 * settled it) and one whose channel's region closed are refused there,
 * before the channel's memory is read. */
static int rx_gone(const void *ch)
{
	return ((const asup_chan *)ch)->rx_closed;
}

ASUP_API int asup_permit_send(asup_permit *p, const void *elem)
{
	int rc;

	if (!p || !elem)
		return -EINVAL;
	rc = asup__permit_send(&p->_state, p->_ch, p->_k, p->_region, p->_obligation, rx_gone);
	if (rc == 0)
		push(p->_ch, elem);
	return rc;
}

ASUP_API int asup_permit_abort(asup_permit *p)
{
	if (!p)
		return -EINVAL;
	/* The obligation's hook gives the room back. */
	return asup__permit_abort(&p->_state, p->_ch, p->_k, p->_region, p->_obligation);
}

ASUP_API int asup_chan_send(asup_cx *cx, asup_chan *ch, const void *elem)
{
	/* Room and commit in one step: no user code runs in between, so no
	 * obligation is needed to cover the gap. */
	int rc = enter(cx, ch, elem, 1);

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

	if (!elem)
		return -EINVAL;
	rc = usable(ch);
	if (rc < 0)
		return rc;
	rc = take_room(NULL, ch, 0);
	if (rc < 0)
		return rc;
	push(ch, elem);
	return 0;
}

/* Removes the oldest queued element into elem (NULL: drops it). The slot is
 * not freed: the caller says what becomes of it. */
static void unqueue(asup_chan *ch, void *elem)
{
	if (elem)
		elem_copy(elem, ch->buf + ch->head * ch->elem, ch->elem);
	ch->head = ch->head + 1 == ch->cap ? 0 : ch->head + 1;
	ch->len--;
}

static int pop(asup_chan *ch, void *elem)
{
	if (ch->len == 0)
		return ch->closed || ch->rx_closed ? -EPIPE : -EAGAIN;
	unqueue(ch, elem);
	room_freed(ch);
	return 0;
}

static int pop_poll(void *ch, void *elem)
{
	return pop(ch, elem);
}

ASUP_API int asup_chan_recv(asup_cx *cx, asup_chan *ch, void *elem)
{
	asup__ktask *self;
	int rc = check(cx, ch, elem, &self);

	if (rc < 0)
		return rc;
	/* Cancellation wins over ready data: the queue stays as it is. */
	return asup__wait_poll_self(cx, self, &ch->receivers, pop_poll, ch, elem, NULL,
				    ASUP__WAIT_CHAN_RECV);
}

ASUP_API int asup_chan_try_recv(asup_chan *ch, void *elem)
{
	int rc = usable(ch);

	if (rc < 0)
		return rc;
	if (!elem)
		return -EINVAL;
	return pop(ch, elem);
}

/* Do [a, a + n) and [b, b + n) share a byte? Compared as integers: the
 * buffers may belong to unrelated objects. */
static int overlap(const void *a, const void *b, size_t n)
{
	uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;
	return x < y + n && y < x + n;
}

ASUP_API int asup_chan_send_evict_oldest(asup_chan *ch, const void *elem, void *evicted)
{
	int rc;

	rc = usable(ch);
	if (rc < 0)
		return rc;
	if (!elem || (evicted && overlap(elem, evicted, ch->elem)))
		return -EINVAL;
	if (ch->closed || ch->rx_closed)
		return -EPIPE;
	rc = take_room(NULL, ch, 0);
	if (rc == 0) {
		push(ch, elem);
		return 0;
	}
	/* Full (or reservers wait, which only happens when it is full). The
	 * room is all reserved or queued: replace the oldest queued element,
	 * which leaves every reservation as it was. With nothing queued every
	 * slot belongs to a permit (or is being handed to a reserver): there
	 * is nothing this send may take. */
	if (ch->len == 0)
		return -EAGAIN;
	unqueue(ch, evicted);
	ch->reserved++; /* the freed slot is the new element's, at once */
	push(ch, elem);
	return 1;
}

/* Either side's close: reservers are refused (-EPIPE), receivers re-poll. */
static int close_side(asup_chan *ch, int recv_side)
{
	int rc = usable(ch);

	if (rc < 0)
		return rc;
	if (recv_side) {
		ch->rx_closed = 1;
		ch->len = 0; /* the queue is discarded */
	} else {
		ch->closed = 1;
	}
	asup_waitq_wake_all_with(&ch->senders, -EPIPE);
	asup_waitq_wake_all(&ch->receivers);
	return 0;
}

ASUP_API int asup_chan_close(asup_chan *ch)
{
	return close_side(ch, 0);
}

ASUP_API int asup_chan_close_recv(asup_chan *ch)
{
	return close_side(ch, 1);
}

ASUP_API int asup_chan_stats_get(const asup_chan *ch, asup_chan_stats *out)
{
	int rc = usable(ch);

	if (rc < 0)
		return rc;
	if (!out)
		return -EINVAL;
	out->queued = ch->len;
	out->reserved = ch->reserved;
	out->capacity = ch->cap;
	out->closed = ch->closed;
	out->recv_closed = ch->rx_closed;
	return 0;
}

/* ---- the channel's side of asup_select (chan_internal.h) ---- */

int asup__chan_check(const asup_chan *ch, const asup__kernel *k)
{
	if (!ch || ch->h.magic != CHAN_MAGIC)
		return -EINVAL;
	return ch->h.k == k ? 0 : -EXDEV;
}

int asup__chan_recv_poll(const asup_chan *ch)
{
	if (ch->len)
		return 1;
	return ch->closed || ch->rx_closed ? -EPIPE : 0;
}

int asup__chan_recv_take(asup_chan *ch, void *elem)
{
	return pop(ch, elem);
}

void asup__chan_recv_enqueue(asup_chan *ch, asup__waiter *w)
{
	w->result = ASUP__WAIT_PENDING;
	asup__list_push_back((asup__list *)(void *)&ch->receivers, &w->link);
}

void asup__chan_recv_pass_on(asup_chan *ch)
{
	if (ch->len)
		queue_wake_one(&ch->receivers);
}

int asup__chan_reserve_poll(const asup_chan *ch)
{
	return room_poll(ch);
}

int asup__chan_room_take(asup_chan *ch)
{
	return take_room(NULL, ch, 0);
}

void asup__chan_reserve_enqueue(asup_chan *ch, asup__waiter *w)
{
	w->result = ASUP__WAIT_PENDING;
	asup__list_push_back((asup__list *)(void *)&ch->senders, &w->link);
}

int asup__chan_reserve_woken(asup_chan *ch, int result)
{
	return picked_up(ch, result);
}

void asup__chan_room_give_back(asup_chan *ch)
{
	release_slot(ch);
}

int asup__chan_permit_issue(asup__ktask *self, asup_chan *ch, asup_permit *p)
{
	return permit_issue(self, ch, p);
}

static size_t queue_len(const asup_waitq *q)
{
	const asup__list *h = (const asup__list *)(const void *)q;
	size_t n = 0;
	for (const asup__list *l = h->next; l != h; l = l->next)
		n++;
	return n;
}

void asup__chan_waiting(const asup_chan *ch, size_t *reservers, size_t *receivers)
{
	*reservers = queue_len(&ch->senders);
	*receivers = queue_len(&ch->receivers);
}
