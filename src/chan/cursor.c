/*
 * Receiver cursors (cursor.h) for broadcast and watch: subscription, the
 * checks before a channel's memory is read, and the receive loop.
 */
#include "cursor.h"
#include "asupersync/broadcast.h"
#include "asupersync/watch.h"
#include "permit.h"

#include <stddef.h>

#define SAME_LAYOUT(T, f, g)                                                              \
	_Static_assert(offsetof(T, f) == offsetof(struct asup__cursor, g), #T " layout")
SAME_LAYOUT(asup_broadcast_rx, _b, obj);
SAME_LAYOUT(asup_broadcast_rx, _next, pos);
SAME_LAYOUT(asup_broadcast_rx, _busy, busy);
SAME_LAYOUT(asup_watch_rx, _w, obj);
SAME_LAYOUT(asup_watch_rx, _seen, pos);
SAME_LAYOUT(asup_watch_rx, _busy, busy);
_Static_assert(sizeof(asup_broadcast_rx) == sizeof(struct asup__cursor), "broadcast rx size");
_Static_assert(sizeof(asup_watch_rx) == sizeof(struct asup__cursor), "watch rx size");

static uint32_t *nrx_of(void *obj, const struct asup__cursor_kind *kind)
{
	return (uint32_t *)(void *)((unsigned char *)obj + kind->nrx_off);
}

int asup__cursor_open(struct asup__cursor *c, const struct asup__cursor_kind *kind, void *obj,
		      void *k, uint64_t region, uint64_t pos)
{
	uint32_t *nrx = nrx_of(obj, kind);

	if (*nrx == UINT32_MAX)
		return -EINVAL;
	(*nrx)++;
	c->obj = obj;
	c->k = k;
	c->region = region;
	c->pos = pos;
	c->self = c;
	c->magic = kind->live;
	c->busy = 0;
	return 0;
}

int asup__cursor_get(struct asup__cursor *c, const struct asup__cursor_kind *kind, void **obj)
{
	if (!c || c->self != c)
		return -EINVAL; /* never subscribed, or a copy */
	if (c->magic == kind->dead)
		return -EPIPE;
	if (c->magic != kind->live)
		return -EINVAL;
	if (asup__k_here(c->k) < 0)
		return -EXDEV; /* another runtime's cursor: nothing read */
	if (!asup__chan_alive(c->k, c->region))
		return -ASUP_ECLOSED; /* the channel went with its region */
	if (!c->obj || *(const uint32_t *)c->obj != kind->obj_magic)
		return -EINVAL;
	*obj = c->obj;
	return 0;
}

int asup__cursor_close(struct asup__cursor *c, const struct asup__cursor_kind *kind)
{
	void *obj;
	int rc = asup__cursor_get(c, kind, &obj);

	if (rc == -EPIPE)
		return -ASUP_EALREADY;
	if (rc == -ASUP_ECLOSED)
		c->magic = kind->dead;
	if (rc < 0)
		return rc;
	if (c->busy)
		return -EBUSY;
	(*nrx_of(obj, kind))--;
	c->magic = kind->dead;
	return 0;
}

int asup__cursor_wait(asup_cx *cx, struct asup__cursor *c, asup_waitq *q, asup_wait_poll_fn *poll,
		      void *arg, uint32_t *waiting)
{
	int rc;

	if (c->busy)
		return -EBUSY;
	c->busy = 1;
	rc = asup__wait_poll(cx, q, poll, c, arg, waiting, ASUP__WAIT_WAITQ);
	c->busy = 0;
	return rc;
}
