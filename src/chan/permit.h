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

#include "../kernel/kernel.h"

#define ASUP__PERMIT_EMPTY 0u
#define ASUP__PERMIT_LIVE  1u
#define ASUP__PERMIT_USED  2u

/* 1 while the region holding a channel exists (its memory is valid). */
static inline int asup__chan_alive(const void *k, uint64_t region)
{
	return k && asup__region_lookup((const asup__kernel *)k, region) != NULL;
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

	if (*state == ASUP__PERMIT_USED)
		return -ASUP_EALREADY;
	if (*state != ASUP__PERMIT_LIVE || !chan || !k)
		return -EINVAL;
	if (asup__k_here(k) < 0)
		return -EXDEV; /* another runtime's permit: it stays live */
	*state = ASUP__PERMIT_USED;
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

#endif
