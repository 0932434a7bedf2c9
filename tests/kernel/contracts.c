/*
 * Documented contracts of spawn that no other file shows: the refusal after a
 * region's body returned and the floor the scope budget puts under spawn
 * priorities.
 */
#include "testrt.h"

/* ---- admission after the body returned ---- */

static int late_spawn_rc = 1;
static int late_ran;

static int64_t noop(asup_cx *cx, void *arg)
{
	late_ran++;
	return 0;
}

static int64_t spawns_after_the_body_returned(asup_cx *cx, void *arg)
{
	asup_task h;
	/* The body spawned this task and returned at once: after this yield the
	 * region is closing. */
	CHECK_EQ(asup_yield(cx), 0);
	h._rec = NULL;
	late_spawn_rc = asup_spawn(cx, noop, NULL, NULL, &h);
	return 0;
}

static int64_t body_returns_at_once(asup_cx *cx, void *arg)
{
	asup_task h;
	CHECK_EQ(asup_spawn(cx, spawns_after_the_body_returned, NULL, NULL, &h), 0);
	CHECK_EQ(asup_task_release(&h), 0);
	return 0;
}

static int64_t late_root(asup_cx *cx, void *arg)
{
	asup_outcome o;
	asup_task h;
	CHECK_EQ(asup_region(cx, body_returns_at_once, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(late_spawn_rc, -ASUP_ECLOSED);
	CHECK_EQ(late_ran, 0);
	/* The caller's own scope still admits tasks. */
	CHECK_EQ(asup_spawn(cx, noop, NULL, NULL, &h), 0);
	CHECK_EQ(asup_join(cx, &h, NULL), 0);
	CHECK_EQ(late_ran, 1);
	return 0;
}

TEST(spawn_after_the_region_body_returned_is_refused_closed)
{
	asup_rt *rt = test_rt(ASUP_MODE_REAL, 0);
	asup_outcome o;
	CHECK_EQ(asup_rt_run(rt, late_root, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	test_rt_done(rt);
}

/* ---- spawn priorities and the scope budget ---- */

static char order[16];
static int norder;

static int64_t mark(asup_cx *cx, void *arg)
{
	order[norder++] = (char)(uintptr_t)arg;
	return 0;
}

/* Spawns a, b, c, d with priorities 10, 255, 150, 200 and joins them. */
static int64_t spawn_four(asup_cx *cx, void *arg)
{
	static const uint8_t prio[] = {10, 255, 150, 200};
	asup_spawn_opts o;
	asup_task h[4];
	asup_spawn_opts_init(&o);
	for (int i = 0; i < 4; i++) {
		o.priority = prio[i];
		CHECK_EQ(asup_spawn(cx, mark, (void *)(uintptr_t)('a' + i), &o, &h[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		CHECK_EQ(asup_join(cx, &h[i], NULL), 0);
	return 0;
}

static int64_t priority_root(asup_cx *cx, void *arg)
{
	asup_budget b = asup_budget_default();
	asup_outcome o;

	/* Default budget (128): 10 acts as 128, the others count. */
	norder = 0;
	CHECK_EQ(asup_scope_budget(cx).priority, 128);
	CHECK_EQ(asup_region(cx, spawn_four, NULL, &o), 0);
	order[norder] = 0;
	CHECK(strcmp(order, "bdca") == 0);

	/* Budget priority 200: 10 and 150 both act as 200, FIFO with d. */
	norder = 0;
	b.priority = 200;
	CHECK_EQ(asup_region_with_budget(cx, b, spawn_four, NULL, &o), 0);
	order[norder] = 0;
	CHECK(strcmp(order, "bacd") == 0);
	return 0;
}

TEST(spawn_priority_below_the_scope_budget_priority_has_no_effect)
{
	asup_rt *rt = test_rt(ASUP_MODE_REAL, 0);
	asup_outcome o;
	CHECK_EQ(asup_rt_run(rt, priority_root, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	test_rt_done(rt);
}
