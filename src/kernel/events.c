/*
 * Trace events of the kernel that need more than one line, and the public
 * calls that add events (asupersync/trace.h): user events and the race
 * declarations of combinators written outside the library.
 *
 * Nothing here allocates or changes kernel state; every call is a no-op
 * when the runtime does not trace.
 */
#include "asupersync/trace.h"
#include "kernel.h"

#include <string.h>

static const char *const event_names[] = {
#define ASUP_EV_NAME(name, text) text,
	ASUP_EVENT_TABLE(ASUP_EV_NAME)
#undef ASUP_EV_NAME
};

ASUP_API const char *asup_event_type_name(uint32_t type)
{
	return type < ASUP_EV_COUNT ? event_names[type] : "unknown";
}

void asup__k_event_slow(asup__kernel *k, uint32_t type, const asup__ktask *kt,
			const asup__region *r, uint64_t a, uint64_t b)
{
	asup__trace_emit(k->sched, type, kt ? kt->id : ASUP_ID_NONE,
			 r ? r->id : (kt && kt->owner ? kt->owner->id : ASUP_ID_NONE), a, b);
}

void asup__k_spawn_events(asup__kernel *k, const asup__ktask *kt, const asup__ktask *parent)
{
	uint64_t w[2] = {0, 0};
	size_t n;

	if (!asup__k_traced(k))
		return;
	asup__trace_emit(k->sched, ASUP_EV_SPAWN, kt->id, kt->owner->id,
			 parent ? parent->id : ASUP_ID_NONE,
			 (uint64_t)kt->local | (uint64_t)kt->is_cleanup << 1);
	n = strlen(kt->t.name);
	if (n == 0)
		return;
	/* The first 16 bytes of the name, little-endian packed, so that the
	 * record stays fixed-size and the bytes are the same on every host. */
	for (size_t i = 0; i < n && i < 16; i++)
		w[i / 8] |= (uint64_t)(unsigned char)kt->t.name[i] << (8 * (i % 8));
	asup__trace_emit(k->sched, ASUP_EV_TASK_NAME, kt->id, kt->owner->id, w[0], w[1]);
}

ASUP_API int asup_trace_user(asup_cx *cx, uint64_t tag, uint64_t value)
{
	asup__ktask *kt = asup__cx_self(cx);

	if (!kt)
		return -ASUP_ENOTASK;
	asup__k_event(cx->k, ASUP_EV_USER, kt, cx->scope, tag, value);
	return 0;
}

ASUP_API uint64_t asup_trace_race_begin(asup_cx *cx, size_t members)
{
	asup__ktask *kt = asup__cx_self(cx);

	if (!kt || !asup__k_traced(cx->k))
		return 0;
	cx->k->races++;
	asup__k_event(cx->k, ASUP_EV_RACE_BEGIN, kt, cx->scope, cx->k->races, members);
	return cx->k->races;
}

ASUP_API int asup_trace_race_member(asup_cx *cx, uint64_t race, const asup_task *member)
{
	asup__ktask *kt = asup__cx_self(cx);

	if (!kt)
		return -ASUP_ENOTASK;
	if (!member)
		return -EINVAL;
	if (race == 0 || race > cx->k->races)
		return race == 0 ? 0 : -EINVAL;
	asup__k_event(cx->k, ASUP_EV_RACE_MEMBER, kt, cx->scope, race, member->_id);
	return 0;
}

ASUP_API int asup_trace_race_end(asup_cx *cx, uint64_t race, const asup_task *winner)
{
	asup__ktask *kt = asup__cx_self(cx);

	if (!kt)
		return -ASUP_ENOTASK;
	if (race == 0 || race > cx->k->races)
		return race == 0 ? 0 : -EINVAL;
	asup__k_event(cx->k, ASUP_EV_RACE_END, kt, cx->scope, race,
		      winner ? winner->_id : ASUP_ID_NONE);
	return 0;
}
