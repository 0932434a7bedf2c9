/*
 * asup_yield lets every task that was ready when it yielded run first, in
 * both modes (the deterministic mode's seeded placement orders the others
 * only), and max_steps stops asup_rt_run even when tasks only yield.
 *
 * A failing sweep prints its seed.
 */
#include "testrt.h"

#define NTASKS  4
#define NYIELDS 3
#define LOGMAX  (NTASKS * (NYIELDS + 1))

struct ylog {
	int who[LOGMAX];
	int n;
};

static struct ylog ylog;

static void note(int id)
{
	CHECK(ylog.n < LOGMAX);
	ylog.who[ylog.n++] = id;
}

static int64_t yielder(asup_cx *cx, void *arg)
{
	int id = (int)(uintptr_t)arg;
	for (int i = 0; i < NYIELDS; i++) {
		note(id);
		CHECK_EQ(asup_yield(cx), 0);
	}
	note(id);
	return 0;
}

static int64_t spawn_yielders(asup_cx *cx, void *arg)
{
	asup_task h[NTASKS];
	int n = (int)(uintptr_t)arg;

	for (int i = 0; i < n; i++)
		CHECK_EQ(asup_spawn(cx, yielder, (void *)(uintptr_t)i, NULL, &h[i]), 0);
	return asup_join_all(cx, h, (size_t)n, NULL);
}

/* Between two consecutive entries of a task, every other task that had not
 * finished appears exactly once: each yield went behind all of them. */
static int yields_round_robin(int n)
{
	for (int i = 0; i < ylog.n; i++) {
		int id = ylog.who[i], seen[NTASKS] = {0}, j;
		for (j = i + 1; j < ylog.n && ylog.who[j] != id; j++)
			seen[ylog.who[j]]++;
		if (j == ylog.n)
			continue; /* its last entry */
		for (int o = 0; o < n; o++) {
			int later = 0;
			if (o == id)
				continue;
			for (int m = j; m < ylog.n; m++)
				later |= ylog.who[m] == o;
			/* A task still running after this window ran in it once. */
			if (later && seen[o] != 1)
				return 0;
			if (seen[o] > 1)
				return 0;
		}
	}
	return 1;
}

static void sweep(int n, asup_mode mode, uint64_t nseeds)
{
	for (uint64_t seed = 0; seed < nseeds; seed++) {
		asup_rt *rt = test_rt(mode, seed);
		asup_outcome o;

		memset(&ylog, 0, sizeof ylog);
		CHECK_EQ(asup_rt_run(rt, spawn_yielders, (void *)(uintptr_t)n, &o), 0);
		CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
		CHECK_EQ(ylog.n, n * (NYIELDS + 1));
		if (!yields_round_robin(n)) {
			fprintf(stderr, "seed %" PRIu64 ": order", seed);
			for (int i = 0; i < ylog.n; i++)
				fprintf(stderr, " %d", ylog.who[i]);
			fprintf(stderr, "\n");
			CHECK(0);
		}
		test_rt_done(rt);
	}
}

TEST(yield_goes_behind_the_other_ready_task_for_every_seed)
{
	sweep(2, ASUP_MODE_DETERMINISTIC, 256);
}

TEST(yield_goes_behind_every_ready_task_for_every_seed)
{
	sweep(NTASKS, ASUP_MODE_DETERMINISTIC, 256);
}

TEST(yield_goes_behind_every_ready_task_in_real_mode)
{
	sweep(NTASKS, ASUP_MODE_REAL, 4);
}

/* The seeded choice still orders the tasks: some seeds start them in
 * different orders. */
TEST(seeded_placement_still_orders_the_first_round)
{
	int first[NTASKS] = {0};
	for (uint64_t seed = 0; seed < 64; seed++) {
		asup_rt *rt = test_rt(ASUP_MODE_DETERMINISTIC, seed);
		memset(&ylog, 0, sizeof ylog);
		CHECK_EQ(asup_rt_run(rt, spawn_yielders, (void *)(uintptr_t)NTASKS, NULL), 0);
		first[ylog.who[0]] = 1;
		test_rt_done(rt);
	}
	CHECK(first[0] + first[1] + first[2] + first[3] >= 2);
}

/* ---- max_steps stops a run of yielders ---- */

static long resumed;

static int64_t yields_forever(asup_cx *cx, void *arg)
{
	(void)arg;
	for (;;) {
		int rc = asup_yield(cx);
		if (rc < 0)
			return rc;
		resumed++;
	}
}

static int64_t two_forever(asup_cx *cx, void *arg)
{
	asup_task h;
	CHECK_EQ(asup_spawn(cx, yields_forever, arg, NULL, &h), 0);
	return yields_forever(cx, arg);
}

static void step_limited(asup_task_fn fn, uint64_t limit)
{
	asup_rt_config cfg;
	asup_rt *rt;

	asup_rt_config_init(&cfg);
	cfg.mode = ASUP_MODE_DETERMINISTIC;
	cfg.max_steps = limit;
	rt = test_rt_cfg(&cfg);
	resumed = 0;
	CHECK_EQ(asup_rt_run(rt, fn, NULL, NULL), -ASUP_ESTEPLIMIT);
	/* Every step is one dispatch: the yielders resumed at most that
	 * often, and the limit was not overshot. */
	CHECK(resumed > 0);
	CHECK((uint64_t)resumed < limit);
	CHECK((uint64_t)resumed + 3 >= limit);
	CHECK_EQ(asup_rt_destroy(rt), 0);
}

TEST(max_steps_stops_a_lone_yielder)
{
	step_limited(yields_forever, 1000);
}

TEST(max_steps_stops_two_yielders)
{
	step_limited(two_forever, 1000);
}

/* A limit that is not reached changes nothing. */
TEST(max_steps_not_reached_lets_the_run_finish)
{
	asup_rt_config cfg;
	asup_rt *rt;
	asup_outcome o;

	asup_rt_config_init(&cfg);
	cfg.mode = ASUP_MODE_DETERMINISTIC;
	cfg.max_steps = 1000;
	rt = test_rt_cfg(&cfg);
	memset(&ylog, 0, sizeof ylog);
	CHECK_EQ(asup_rt_run(rt, spawn_yielders, (void *)(uintptr_t)2, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(ylog.n, 2 * (NYIELDS + 1));
	test_rt_done(rt);
}
