/*
 * The receiver cursor that broadcast and watch share: a position in the
 * caller's storage naming a region-owned channel, which may close first.
 *
 * Cursor states (magic): LIVE (subscribed) --unsubscribe--> DEAD; a copy
 * (self != the cursor's address) and an unsubscribed one are refused before
 * the channel is read; a cursor whose channel's region closed reads
 * -ASUP_ECLOSED (region ids are generational: a closed region's id never
 * names another). `busy` is set while its owner waits in a receive, so
 * nothing else reads or unsubscribes it meanwhile.
 */
#ifndef ASUP_CHAN_CURSOR_H
#define ASUP_CHAN_CURSOR_H

#include "../kernel/kernel.h"

/* The layout of asup_broadcast_rx and asup_watch_rx (asserted in cursor.c). */
struct asup__cursor {
	void *obj;       /* the channel; its first field is its magic */
	void *k;         /* the channel's kernel */
	uint64_t region; /* the region whose memory holds the channel */
	uint64_t pos;    /* the channel's: next message, or version seen */
	void *self;      /* the cursor's own address: a copy is refused */
	uint32_t magic;  /* the kind's live or dead value */
	uint32_t busy;   /* its owner waits in a receive */
};

/* What differs between the kinds of cursor. */
struct asup__cursor_kind {
	uint32_t live, dead; /* the cursor's magic values */
	uint32_t obj_magic;  /* the channel's */
	size_t nrx_off;      /* offsetof(channel, its uint32_t receiver count) */
};

#define ASUP__CURSOR(rx) ((struct asup__cursor *)(void *)(rx))

/* Subscribes c at pos: the channel's receiver count grows. -EINVAL when the
 * count is full. */
int asup__cursor_open(struct asup__cursor *c, const struct asup__cursor_kind *kind, void *obj,
		      void *k, uint64_t region, uint64_t pos);
/* The channel of a subscribed cursor, or why there is none: -EINVAL (never
 * subscribed, a copy, a bad channel), -EPIPE (unsubscribed), -EXDEV (another
 * runtime's), -ASUP_ECLOSED (its region closed). */
int asup__cursor_get(struct asup__cursor *c, const struct asup__cursor_kind *kind, void **obj);
/* Unsubscribes: 0, -ASUP_EALREADY, -EBUSY (its owner waits in it), or the
 * errors of asup__cursor_get (a cursor of a closed region becomes DEAD). */
int asup__cursor_close(struct asup__cursor *c, const struct asup__cursor_kind *kind);
/* asup__wait_poll with the cursor busy: -EBUSY if it already is. */
int asup__cursor_wait(asup_cx *cx, struct asup__cursor *c, asup_waitq *q, asup_wait_poll_fn *poll,
		      void *arg, uint32_t *waiting);

#endif
