/*
 * The front door a driver steps a runtime through (src/rt/drive.h): once
 * attached, the runtime refuses its own run and step, every step runs one
 * task, the probe sees every event, the task walk reports each task's state,
 * calls naming a task that does not exist change nothing, an exhausted
 * budget cancels the task's next checkpoint, and the root region closes.
 */
#include "testrt.h"

#include "rt/drive.h"

typedef struct seen {
	uint64_t events, resumes, checkpoints;
} seen;

static void count_event(void *ctx, uint32_t type, uint64_t task, uint64_t region, uint64_t a,
			uint64_t b)
{
	seen *s = ctx;

	(void)task, (void)region, (void)a, (void)b;
	s->events++;
	s->resumes += type == ASUP_EV_RESUME;
}

static int count_checkpoint(void *ctx, asup__ktask *kt)
{
	(void)kt;
	((seen *)ctx)->checkpoints++;
	return 0;
}

static asup_rt *driven(seen *s, uint32_t workers)
{
	asup_rt *rt = test_rt(ASUP_MODE_DETERMINISTIC, 7);

	CHECK_EQ(asup__drive_set_workers(rt, workers), 0);
	asup__drive_attach(rt, &(asup__drive_hooks){count_event, count_checkpoint, s});
	CHECK_EQ(asup__drive_workers(rt), workers);
	return rt;
}

static int yields_left;
static int last_yield_rc;

static int64_t yielder(asup_cx *cx, void *arg)
{
	(void)arg;
	while (yields_left > 0) {
		yields_left--;
		last_yield_rc = asup_yield(cx);
		if (last_yield_rc < 0)
			return last_yield_rc;
	}
	return 42;
}

/* Steps until nothing runs; the number of steps. */
static int step_all(asup_rt *rt)
{
	int n = 0;

	while (asup__drive_step(rt, 0) == 1)
		n++;
	return n;
}

struct census {
	int total, live, completed;
	uint64_t first_id;
};

static int count_task(void *ctx, const asup__drive_task *t)
{
	struct census *c = ctx;

	if (!c->total++)
		c->first_id = t->id;
	c->live += t->live;
	c->completed += t->completed;
	return 0;
}

TEST(a_driven_runtime_refuses_its_own_run_and_step)
{
	seen s = {0};
	asup_rt *rt = driven(&s, 2);
	asup_outcome o;

	CHECK_EQ(asup_rt_run(rt, yielder, NULL, &o), -EPERM);
	CHECK_EQ(asup_rt_step(rt), -EPERM);
	/* Attaching emitted the root region's creation. */
	CHECK_EQ(s.events, 1);
	test_rt_done(rt);
}

TEST(each_step_runs_one_task_and_the_walk_sees_it_finish)
{
	seen s = {0};
	asup_rt *rt = driven(&s, 1);
	asup_task root;
	asup_outcome o;
	struct census c = {0};

	yields_left = 3;
	CHECK_EQ(asup__rt_enter(rt), 0);
	CHECK_EQ(asup__drive_spawn_root(rt, yielder, NULL, "root", &root), 0);
	asup__drive_each_task(rt, count_task, &c);
	CHECK_EQ(c.total, 1);
	CHECK_EQ(c.live, 1);
	CHECK(asup__drive_pending(rt, 0));
	/* Three yields: four dispatches, one per step. */
	CHECK_EQ(step_all(rt), 4);
	CHECK_EQ(s.resumes, 4);
	CHECK(s.checkpoints >= 3);
	CHECK(!asup__drive_pending(rt, 0));
	CHECK(asup__drive_quiescent(rt));
	CHECK_EQ(asup__drive_live(rt), 0);
	asup__rt_leave(rt);
	CHECK_EQ(asup_task_try_join(&root, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(o.value, 42);
	test_rt_done(rt);
}

TEST(calls_naming_a_task_that_does_not_exist_change_nothing)
{
	seen s = {0};
	asup_rt *rt = driven(&s, 2);
	uint64_t before;

	CHECK_EQ(asup__rt_enter(rt), 0);
	before = s.events;
	CHECK_EQ(asup__drive_abort_task(rt, 12345, ASUP_CANCEL_USER, "x", NULL, NULL), 0);
	CHECK_EQ(asup__drive_unpark(rt, 12345), 0);
	asup__drive_requeue(rt, 12345);
	asup__drive_exhaust_budget(rt, 12345);
	CHECK_EQ(asup__drive_run_task(rt, 12345, 0), -ESRCH);
	CHECK_EQ(asup__drive_step(rt, 1), 0);
	CHECK_EQ(asup__drive_advance_if_idle(rt), 0);
	CHECK_EQ(s.events, before);
	asup__rt_leave(rt);
	test_rt_done(rt);
}

TEST(an_exhausted_budget_cancels_the_next_checkpoint)
{
	seen s = {0};
	asup_rt *rt = driven(&s, 1);
	asup_task root;
	asup_outcome o;
	struct census c = {0};

	yields_left = 1000;
	last_yield_rc = 1;
	CHECK_EQ(asup__rt_enter(rt), 0);
	CHECK_EQ(asup__drive_spawn_root(rt, yielder, NULL, "root", &root), 0);
	CHECK_EQ(asup__drive_step(rt, 0), 1);
	CHECK_EQ(last_yield_rc, 1); /* suspended in its first yield */
	asup__drive_each_task(rt, count_task, &c);
	asup__drive_exhaust_budget(rt, c.first_id);
	step_all(rt);
	CHECK_EQ(last_yield_rc, -ECANCELED);
	CHECK(yields_left > 990);
	CHECK(asup__drive_quiescent(rt));
	asup__rt_leave(rt);
	CHECK_EQ(asup_task_try_join(&root, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	test_rt_done(rt);
}

TEST(closing_the_root_region_ends_it)
{
	seen s = {0};
	asup_rt *rt = driven(&s, 1);
	asup_task root;
	asup_outcome o;

	yields_left = 0;
	CHECK_EQ(asup__rt_enter(rt), 0);
	CHECK(asup__drive_root_id(rt) != ASUP_ID_NONE);
	CHECK_EQ(asup__drive_spawn_root(rt, yielder, NULL, "root", &root), 0);
	step_all(rt);
	CHECK_EQ(asup_task_try_join(&root, &o), 0);
	CHECK_EQ(o.value, 42);
	asup__drive_close_root(rt);
	step_all(rt);
	CHECK_EQ(asup__drive_root_id(rt), ASUP_ID_NONE);
	/* With the root gone, there is nothing to spawn in. */
	CHECK_EQ(asup__drive_spawn_root(rt, yielder, NULL, "late", &root), -EINVAL);
	asup__rt_leave(rt);
	test_rt_done(rt);
}
