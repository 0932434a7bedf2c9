/*
 * Helpers for the sync tests: a runtime with a chosen mode, seed and leak
 * response, a root task that must end Ok, and seed sweeps on the
 * deterministic runtime (the harness's SWEEP: a failure prints its seed,
 * ASUP_SEED=<n> runs only seed n).
 */
#ifndef ASUP_TEST_SYNC_SWEEP_H
#define ASUP_TEST_SYNC_SWEEP_H

#include "testrt.h"

#include "kernel/kernel.h"

#define SWEEP_SEEDS 50

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

static asup_task_fn sweep_root;

static void sweep_one(uint64_t seed)
{
	run_on(rt_with(ASUP_MODE_DETERMINISTIC, seed, ASUP_LEAK_SILENT), sweep_root);
}

/* Runs fn as the root task on the deterministic runtime for seeds
 * 1..SWEEP_SEEDS. */
static inline void sweep(asup_task_fn fn)
{
	sweep_root = fn;
	SWEEP(SWEEP_SEEDS, sweep_one);
}

/* A uniform draw in [0, bound) from the task's seeded stream. */
static inline uint64_t draw(asup_cx *cx, uint64_t bound)
{
	uint64_t v = 0;
	CHECK_EQ(asup_random_below(cx, bound, &v), 0);
	return v;
}

#endif
