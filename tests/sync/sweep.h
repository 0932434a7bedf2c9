/*
 * Helpers for the sync tests: a runtime with a chosen mode, seed and leak
 * response, a root task that must end Ok, and seed sweeps on the
 * deterministic runtime that print the failing seed (a CHECK failure exits
 * the process, and an exit handler names the seed it was running).
 * ASUP_TEST_SEED=<n> runs only seed n.
 */
#ifndef ASUP_TEST_SYNC_SWEEP_H
#define ASUP_TEST_SYNC_SWEEP_H

#include "testrt.h"

#include "kernel/kernel.h"

#define SWEEP_SEEDS 50

static uint64_t sweep_seed;
static int sweep_active;

static void sweep_report(void)
{
	if (sweep_active)
		fprintf(stderr, "failing seed: %llu (replay with ASUP_TEST_SEED=%llu)\n",
			(unsigned long long)sweep_seed, (unsigned long long)sweep_seed);
}

static inline asup_rt *rt_with(asup_mode mode, uint64_t seed, asup_leak_response leak)
{
	asup_rt_config cfg;
	asup_rt_config_init(&cfg);
	cfg.mode = mode;
	cfg.seed = seed;
	cfg.leak_response = leak;
	return test_rt_cfg(&cfg);
}

/* Runs fn(cx, rt) as the root task of rt, expects Ok, destroys rt. */
static inline void run_on(asup_rt *rt, asup_task_fn fn)
{
	asup_outcome o;
	CHECK_EQ(asup_rt_run(rt, fn, rt, &o), 0);
	if (o.kind != ASUP_OUTCOME_OK)
		fprintf(stderr, "outcome %s %lld\n", asup_outcome_kind_name(o.kind),
			(long long)o.value);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	test_rt_done(rt);
}

/* Real mode: FIFO among equally ready tasks, so waiters queue in spawn
 * order (the queue-position tests rely on it). */
static inline void run_real(asup_task_fn fn)
{
	run_on(rt_with(ASUP_MODE_REAL, 0, ASUP_LEAK_SILENT), fn);
}

/* Runs fn on the deterministic runtime for seeds 1..SWEEP_SEEDS. */
static inline void sweep(asup_task_fn fn)
{
	const char *env = getenv("ASUP_TEST_SEED");
	uint64_t first = 1, last = SWEEP_SEEDS;

	if (env)
		first = last = strtoull(env, NULL, 0);
	atexit(sweep_report);
	for (uint64_t s = first; s <= last; s++) {
		sweep_seed = s;
		sweep_active = 1;
		run_on(rt_with(ASUP_MODE_DETERMINISTIC, s, ASUP_LEAK_SILENT), fn);
		sweep_active = 0;
	}
}

/* A uniform draw in [0, bound) from the task's seeded stream. */
static inline uint64_t draw(asup_cx *cx, uint64_t bound)
{
	uint64_t v = 0;
	CHECK_EQ(asup_random_below(cx, bound, &v), 0);
	return v;
}

#endif
