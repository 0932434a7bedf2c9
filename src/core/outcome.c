/*
 * The outcome algebra (asupersync/cancel.h, asupersync/task.h): pure
 * functions over values, with no runtime behind them.
 *
 * Owns: strengthening a cancel reason (the more severe kind wins, then the
 * earlier time, then the message), joining two outcomes (the worse kind
 * wins: Ok < Err < Cancelled < Panicked), aggregating a list of outcomes,
 * and what a policy does with a child's outcome. Must not touch: any
 * runtime state; NULL arguments change nothing.
 * Invariants: on kinds, join is the maximum (so associative and
 * commutative); an aggregate reports a panic first, then a cancel, then the
 * first error.
 */
#include "asupersync/cancel.h"
#include "asupersync/region.h"
#include "asupersync/task.h"

#include <string.h>

ASUP_API int asup_cancel_reason_strengthen(asup_cancel_reason *self,
					   const asup_cancel_reason *other)
{
	int so, ss;

	if (!self || !other)
		return 0;
	so = asup_cancel_kind_severity(other->kind);
	ss = asup_cancel_kind_severity(self->kind);
	if (so < ss)
		return 0;
	if (so == ss) {
		if (other->timestamp > self->timestamp)
			return 0;
		if (other->timestamp == self->timestamp &&
		    !(!self->has_message && other->has_message) &&
		    !(other->has_message && self->has_message &&
		      strcmp(other->message, self->message) < 0))
			return 0;
	}
	if (self->kind == other->kind && self->timestamp == other->timestamp &&
	    self->has_message == other->has_message &&
	    strcmp(self->message, other->message) == 0 &&
	    self->origin_region == other->origin_region && self->origin_task == other->origin_task)
		return 0; /* the same reason */
	*self = *other;
	return 1;
}

ASUP_API void asup_outcome_join(const asup_outcome *a, const asup_outcome *b, asup_outcome *out)
{
	asup_outcome r;

	if (!a || !b || !out)
		return;
	if (b->kind > a->kind) {
		r = *b;
	} else {
		r = *a;
		if (a->kind == ASUP_OUTCOME_CANCELLED && b->kind == ASUP_OUTCOME_CANCELLED &&
		    asup_cancel_kind_severity(b->reason.kind) >
			    asup_cancel_kind_severity(a->reason.kind))
			r.reason = b->reason;
	}
	*out = r;
}

ASUP_API void asup_outcome_aggregate(const asup_outcome *list, size_t n, asup_aggregate *out)
{
	size_t first_err = n;
	int have_cancel = 0;

	if (!out)
		return;
	memset(out, 0, sizeof(*out));
	out->kind = ASUP_AGG_ALL_OK;
	if (!list)
		return;
	for (size_t i = 0; i < n; i++) {
		if (list[i].kind == ASUP_OUTCOME_PANICKED) {
			out->kind = ASUP_AGG_PANICKED;
			out->index = i;
			return;
		}
		if (list[i].kind == ASUP_OUTCOME_CANCELLED) {
			if (!have_cancel)
				out->reason = list[i].reason;
			else
				asup_cancel_reason_strengthen(&out->reason, &list[i].reason);
			have_cancel = 1;
		}
		if (list[i].kind == ASUP_OUTCOME_ERR && first_err == n)
			first_err = i;
	}
	if (have_cancel) {
		out->kind = ASUP_AGG_CANCELLED;
	} else if (first_err < n) {
		out->kind = ASUP_AGG_FIRST_ERROR;
		out->index = first_err;
		out->error = list[first_err].value;
	}
}

ASUP_API asup_policy_action asup_policy_on_child(asup_policy p, const asup_outcome *child)
{
	if (p != ASUP_POLICY_FAIL_FAST || !child)
		return ASUP_POLICY_CONTINUE;
	return (child->kind == ASUP_OUTCOME_ERR || child->kind == ASUP_OUTCOME_PANICKED)
		       ? ASUP_POLICY_CANCEL_SIBLINGS
		       : ASUP_POLICY_CONTINUE;
}
