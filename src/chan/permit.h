/*
 * What the oneshot and broadcast permits and the receiver cursors share.
 *
 * Permits and cursors live in the caller's storage and may outlive the
 * channel they name (its memory belongs to a region, which can close first).
 * So each one records the kernel and the channel's region id, and checks
 * that the region still exists before touching the channel; region ids are
 * generational, so a closed region's id never names another one.
 *
 * Permit states: EMPTY (zeroed, or a failed reserve) -> LIVE (reserve) ->
 * USED (sent, aborted, or found settled). Only LIVE may be resolved.
 */
#ifndef ASUP_CHAN_PERMIT_H
#define ASUP_CHAN_PERMIT_H

#include "asupersync/region.h"
#include "../kernel/kernel.h"

#define ASUP__PERMIT_EMPTY 0u
#define ASUP__PERMIT_LIVE  1u
#define ASUP__PERMIT_USED  2u

/*
 * The first member of every region-owned channel, written once by
 * asup__chan_open. A handle may name another kind of object, or a channel of
 * another runtime, so calls read the header before anything else of it.
 */
typedef struct asup__chan_head {
	uint32_t magic;   /* first: a wrong handle fails this check */
	uint64_t region;  /* the owning region's id (generational) */
	asup__kernel *k;  /* the runtime whose region holds it */
} asup__chan_head;

/*
 * The one open of the region-owned channels: -ASUP_ENOTASK outside a task;
 * -EINVAL unless args_ok, elem and n are non-zero and elem * n is at most
 * SIZE_MAX / 4; else size + elem * n bytes of cx's current region (the
 * errors of asup_region_alloc) in *mem, whose first member, an
 * asup__chan_head, names magic, that region and cx's runtime.
 */
static inline int asup__chan_open(asup_cx *cx, int args_ok, size_t size, size_t elem, size_t n,
                                  uint32_t magic, void **mem)
{
	asup__chan_head *h;
	asup_rref ref;
	int rc;

	if (!asup__cx_self(cx))
		return -ASUP_ENOTASK;
	if (!args_ok || elem == 0 || n == 0 || elem > (SIZE_MAX / 4) / n)
		return -EINVAL;
	rc = asup_region_alloc(cx, size + elem * n, &ref);
	if (rc < 0)
		return rc;
	h = ref.ptr;
	h->magic = magic;
	h->region = ref.region;
	h->k = cx->k;
	*mem = ref.ptr;
	return 0;
}

/*
 * The checks every call on a channel makes first: -EINVAL unless chan is a
 * channel of this magic; -EXDEV for one of a runtime the calling thread does
 * not drive (inside a task: another runtime's); -EINVAL unless args_ok.
 */
static inline int asup__chan_usable(const void *chan, uint32_t magic, int args_ok)
{
	const asup__chan_head *h = chan;

	if (!h || h->magic != magic)
		return -EINVAL;
	if (asup__k_here(h->k) < 0)
		return -EXDEV;
	return args_ok ? 0 : -EINVAL;
}

/* 1 while the region holding a channel exists (its memory is valid). */
static inline int asup__chan_alive(const void *k, uint64_t region)
{
	return k && asup__region_lookup((const asup__kernel *)k, region) != NULL;
}

/*
 * The permit state machine of every two-phase primitive (the mpsc, oneshot
 * and broadcast send permits, the semaphore's permits): takes a LIVE permit
 * of object obj for its one resolution. 0 and the permit is USED (the caller
 * resolves its obligation); -ASUP_EALREADY if it was USED; -EINVAL if it was
 * never reserved (zeroed); -EXDEV for a permit of a runtime the calling
 * thread does not drive (it stays LIVE).
 */
static inline int asup__permit_take(uint32_t *state, const void *obj, void *k)
{
	if (*state == ASUP__PERMIT_USED)
		return -ASUP_EALREADY;
	if (*state != ASUP__PERMIT_LIVE || !obj || !k)
		return -EINVAL;
	if (asup__k_here((asup__kernel *)k) < 0)
		return -EXDEV; /* another runtime's permit: it stays live */
	*state = ASUP__PERMIT_USED;
	return 0;
}

/*
 * Claims a permit for resolution: 0 and the permit is USED, its obligation
 * still pending (the caller commits or aborts it). -EXDEV for a permit of a
 * runtime the calling thread does not drive (nothing changes). Otherwise the
 * error, and a LIVE permit is USED all the same:
 *   -ASUP_EALREADY  already resolved: through this object, through a copy
 *                   of it, or by the runtime when its holder ended (the
 *                   obligation id is stale then: ids are generational)
 *   -EINVAL         never reserved (zeroed)
 *   -ASUP_ECLOSED   the channel's region closed: the obligation is aborted
 *                   here and the channel is not touched
 */
static inline int asup__permit_claim(uint32_t *state, const void *chan, void *kp, uint64_t region,
                                     uint64_t obligation)
{
	asup__kernel *k = kp;
	int rc = asup__permit_take(state, chan, k);

	if (rc < 0)
		return rc;
	if (!asup__chan_alive(k, region)) {
		/* Without its hook: the hook would give room back to the
		 * channel, whose memory went with its region. */
		(void)asup__obligation_resolve_quiet(k, obligation, ASUP_OBLIGATION_ABORTED);
		return -ASUP_ECLOSED;
	}
	if (!asup__arena_get(&k->obligations, obligation))
		return -ASUP_EALREADY;
	return 0;
}

/*
 * A send permit's send: claimed (the errors of asup__permit_claim), then,
 * if nobody_reads(chan) says that nobody will read what it sends, its
 * obligation aborted (the abort's hook gives back what the reserve took) and
 * -EPIPE: the element stays the caller's. Otherwise the obligation is
 * committed and the caller delivers the element (0).
 */
static inline int asup__permit_send(uint32_t *state, const void *chan, void *k, uint64_t region,
                                    uint64_t obligation, int (*nobody_reads)(const void *chan))
{
	int rc = asup__permit_claim(state, chan, k, region, obligation);

	if (rc < 0)
		return rc;
	if (nobody_reads(chan)) {
		asup__obligation_resolve(k, obligation, ASUP_OBLIGATION_ABORTED);
		return -EPIPE;
	}
	asup__obligation_resolve(k, obligation, ASUP_OBLIGATION_COMMITTED);
	return 0;
}

/* A send permit's abort: claimed, then its obligation aborted, whose hook
 * gives back what the reserve took. The errors of asup__permit_claim. */
static inline int asup__permit_abort(uint32_t *state, const void *chan, void *k, uint64_t region,
                                     uint64_t obligation)
{
	int rc = asup__permit_claim(state, chan, k, region, obligation);

	if (rc < 0)
		return rc;
	return asup__obligation_resolve(k, obligation, ASUP_OBLIGATION_ABORTED);
}

#endif
