/*
 * Budgets and cancel kinds (asupersync/cancel.h): pure functions.
 *
 * meet is the lattice meet of (deadline, poll, cost) under <= and the join of
 * priority under <=: nested scopes can only tighten what encloses them.
 */
#include "asupersync/cancel.h"

static asup_budget mk(asup_time d, uint32_t p, uint64_t c, uint8_t prio)
{
	asup_budget b;
	b.deadline = d;
	b.poll_quota = p;
	b.cost_quota = c;
	b.priority = prio;
	return b;
}

ASUP_API asup_budget asup_budget_infinite(void)
{
	return mk(ASUP_TIME_MAX, ASUP_NO_POLL, ASUP_NO_COST, 0);
}

ASUP_API asup_budget asup_budget_default(void)
{
	return mk(ASUP_TIME_MAX, ASUP_NO_POLL, ASUP_NO_COST, 128);
}

ASUP_API asup_budget asup_budget_zero(void)
{
	return mk(0, 0, 0, 255);
}

ASUP_API asup_budget asup_budget_minimal(void)
{
	return mk(ASUP_TIME_MAX, 100, ASUP_NO_COST, 128);
}

ASUP_API asup_budget asup_budget_meet(asup_budget a, asup_budget b)
{
	return mk(a.deadline < b.deadline ? a.deadline : b.deadline,
		  a.poll_quota < b.poll_quota ? a.poll_quota : b.poll_quota,
		  a.cost_quota < b.cost_quota ? a.cost_quota : b.cost_quota,
		  a.priority > b.priority ? a.priority : b.priority);
}

ASUP_API asup_budget asup_budget_with_deadline(asup_budget b, asup_time t)
{
	b.deadline = t;
	return b;
}

ASUP_API int asup_budget_is_exhausted(const asup_budget *b)
{
	return b && (b->poll_quota == 0 || b->cost_quota == 0);
}

ASUP_API int asup_budget_is_past_deadline(const asup_budget *b, asup_time now)
{
	return b && b->deadline != ASUP_TIME_MAX && b->deadline <= now;
}

ASUP_API int64_t asup_budget_consume_poll(asup_budget *b)
{
	uint32_t old;
	if (!b || b->poll_quota == 0)
		return -1;
	old = b->poll_quota;
	if (old != ASUP_NO_POLL)
		b->poll_quota = old - 1;
	return old;
}

ASUP_API int asup_budget_consume_cost(asup_budget *b, uint64_t c)
{
	if (!b)
		return 0;
	if (b->cost_quota == ASUP_NO_COST)
		return 1;
	if (b->cost_quota < c)
		return 0;
	b->cost_quota -= c;
	return 1;
}

static const struct {
	const char *name;
	int severity;
} kinds[ASUP_CANCEL_KIND_COUNT] = {
	[ASUP_CANCEL_USER] = {"user", 0},
	[ASUP_CANCEL_TIMEOUT] = {"timeout", 1},
	[ASUP_CANCEL_DEADLINE] = {"deadline", 1},
	[ASUP_CANCEL_POLL_QUOTA] = {"poll_quota", 2},
	[ASUP_CANCEL_COST_BUDGET] = {"cost_budget", 2},
	[ASUP_CANCEL_FAIL_FAST] = {"fail_fast", 3},
	[ASUP_CANCEL_RACE_LOST] = {"race_lost", 3},
	[ASUP_CANCEL_LINKED_EXIT] = {"linked_exit", 3},
	[ASUP_CANCEL_PARENT_CANCELLED] = {"parent_cancelled", 4},
	[ASUP_CANCEL_RESOURCE_UNAVAILABLE] = {"resource_unavailable", 4},
	[ASUP_CANCEL_SHUTDOWN] = {"shutdown", 5},
};

ASUP_API int asup_cancel_kind_severity(asup_cancel_kind kind)
{
	return ((unsigned)kind < ASUP_CANCEL_KIND_COUNT) ? kinds[kind].severity : -1;
}

ASUP_API const char *asup_cancel_kind_name(asup_cancel_kind kind)
{
	return ((unsigned)kind < ASUP_CANCEL_KIND_COUNT) ? kinds[kind].name : "invalid";
}

ASUP_API asup_budget asup_cancel_kind_cleanup_budget(asup_cancel_kind kind)
{
	static const uint32_t poll[6] = {1000, 500, 300, 200, 200, 50};
	static const uint8_t prio[6] = {200, 210, 215, 220, 220, 255};
	int s = asup_cancel_kind_severity(kind);
	asup_budget b = asup_budget_default();
	if (s < 0)
		s = 0;
	b.poll_quota = poll[s];
	b.priority = prio[s];
	return b;
}
