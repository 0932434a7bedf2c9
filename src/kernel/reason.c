/* Shared cancellation-reason nodes (see reason.h). */
#include "reason.h"

#include <string.h>

static asup__reason *node(const asup__alloc *a, asup_cancel_kind kind, uint64_t region,
			  uint64_t task, asup_time ts, const char *msg)
{
	asup__reason *r = asup__alloc_mem(a, sizeof(*r));
	if (!r)
		return NULL;
	memset(r, 0, sizeof(*r));
	r->refs = 1;
	r->depth = 1;
	r->kind = kind;
	r->origin_region = region;
	r->origin_task = task;
	r->timestamp = ts;
	if (msg) {
		size_t n = strnlen(msg, ASUP_CANCEL_MSG_MAX - 1);
		memcpy(r->msg, msg, n);
		r->msg[n] = '\0';
		r->has_msg = 1;
	}
	return r;
}

/* A copy of the top `levels` nodes of chain, the last one without a cause. */
static asup__reason *copy_top(const asup__alloc *a, const asup__reason *c, unsigned levels)
{
	asup__reason *top, *n;

	if (!c || levels == 0)
		return NULL;
	top = node(a, c->kind, c->origin_region, c->origin_task, c->timestamp,
		   c->has_msg ? c->msg : NULL);
	if (!top)
		return NULL;
	n = copy_top(a, c->cause, levels - 1);
	top->cause = n;
	top->depth = (uint16_t)(1 + (n ? n->depth : 0));
	top->truncated = c->cause && !n;
	return top;
}

asup__reason *asup__reason_new(const asup__alloc *a, asup_cancel_kind kind, uint64_t region,
			       uint64_t task, asup_time ts, const char *msg, asup__reason *cause,
			       unsigned max_depth)
{
	asup__reason *r = node(a, kind, region, task, ts, msg);

	if (!r || !cause)
		return r;
	if (max_depth < 1)
		max_depth = 1;
	if (cause->depth + 1u <= max_depth) {
		r->cause = asup__reason_ref(cause);
		r->depth = (uint16_t)(cause->depth + 1);
		return r;
	}
	/* Over the limit: keep the top of the cause chain, drop its bottom. */
	r->cause = copy_top(a, cause, max_depth - 1);
	r->depth = (uint16_t)(1 + (r->cause ? r->cause->depth : 0));
	r->truncated = 1;
	r->truncated_at = (uint16_t)max_depth;
	return r;
}

/* One per kind. Their timestamp is the latest possible, so that at equal
 * severity any real reason (with its message and origin) replaces them and
 * they never replace one. */
#define FALLBACK(k)                                                                    \
	[k] = {.refs = 1, .depth = 1, .truncated = 1, .immortal = 1, .kind = (k),      \
	       .origin_region = ASUP_ID_NONE, .origin_task = ASUP_ID_NONE,             \
	       .timestamp = ASUP_TIME_MAX}
static asup__reason fallback[ASUP_CANCEL_KIND_COUNT] = {
	FALLBACK(ASUP_CANCEL_USER),
	FALLBACK(ASUP_CANCEL_TIMEOUT),
	FALLBACK(ASUP_CANCEL_DEADLINE),
	FALLBACK(ASUP_CANCEL_POLL_QUOTA),
	FALLBACK(ASUP_CANCEL_COST_BUDGET),
	FALLBACK(ASUP_CANCEL_FAIL_FAST),
	FALLBACK(ASUP_CANCEL_RACE_LOST),
	FALLBACK(ASUP_CANCEL_LINKED_EXIT),
	FALLBACK(ASUP_CANCEL_PARENT_CANCELLED),
	FALLBACK(ASUP_CANCEL_RESOURCE_UNAVAILABLE),
	FALLBACK(ASUP_CANCEL_SHUTDOWN),
};

asup__reason *asup__reason_fallback(asup_cancel_kind kind)
{
	if ((unsigned)kind >= ASUP_CANCEL_KIND_COUNT)
		kind = ASUP_CANCEL_USER;
	return &fallback[kind];
}

void asup__reason_unref(const asup__alloc *a, asup__reason *r)
{
	while (r && !r->immortal && --r->refs == 0) {
		asup__reason *c = r->cause;
		asup__free_mem(a, r, sizeof(*r));
		r = c;
	}
}

int asup__reason_beats(const asup__reason *other, const asup__reason *self)
{
	int so, ss;

	if (!other)
		return 0;
	if (!self)
		return 1;
	so = asup_cancel_kind_severity(other->kind);
	ss = asup_cancel_kind_severity(self->kind);
	if (so != ss)
		return so > ss;
	if (other->timestamp != self->timestamp)
		return other->timestamp < self->timestamp;
	if (!self->has_msg)
		return other->has_msg;
	return other->has_msg && strcmp(other->msg, self->msg) < 0;
}

int asup__reason_strengthen(const asup__alloc *a, asup__reason **slot, asup__reason *other)
{
	if (other == *slot || !asup__reason_beats(other, *slot))
		return 0;
	asup__reason_set(a, slot, other);
	return 1;
}

void asup__reason_set(const asup__alloc *a, asup__reason **slot, asup__reason *r)
{
	asup__reason *old = *slot;
	*slot = asup__reason_ref(r);
	asup__reason_unref(a, old);
}

int asup__reason_any_truncated(const asup__reason *r)
{
	for (; r; r = r->cause)
		if (r->truncated)
			return 1;
	return 0;
}

int asup__reason_any_cause_is(const asup__reason *r, asup_cancel_kind kind)
{
	for (; r; r = r->cause)
		if (r->kind == kind)
			return 1;
	return 0;
}

void asup__reason_export(const asup__reason *r, asup_cancel_reason *out)
{
	const asup__reason *last = r;

	memset(out, 0, sizeof(*out));
	if (!r) {
		out->origin_region = out->origin_task = ASUP_ID_NONE;
		return;
	}
	out->kind = r->kind;
	out->origin_region = r->origin_region;
	out->origin_task = r->origin_task;
	out->timestamp = r->timestamp;
	out->has_message = r->has_msg;
	memcpy(out->message, r->msg, sizeof(out->message));
	out->chain_depth = r->depth;
	out->truncated = (uint8_t)asup__reason_any_truncated(r);
	while (last->cause)
		last = last->cause;
	out->root_kind = last->kind;
}
