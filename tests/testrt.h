/*
 * Runtime helpers shared by the tests: create a runtime from a mode and a
 * seed (or a full config), and check every invariant before destroying it.
 */
#ifndef ASUP_TEST_RT_H
#define ASUP_TEST_RT_H

#include "harness.h"
#include <asupersync.h>

/* Internal entry points the tests may use. */
struct asup__kernel *asup__rt_kernel(asup_rt *rt);
int asup__rt_check(asup_rt *rt);

static inline asup_rt *test_rt_cfg(const asup_rt_config *cfg)
{
	asup_rt *rt;
	CHECK_EQ(asup_rt_create(cfg, &rt), 0);
	return rt;
}

static inline asup_rt *test_rt(asup_mode mode, uint64_t seed)
{
	asup_rt_config cfg;
	asup_rt_config_init(&cfg);
	cfg.mode = mode;
	cfg.seed = seed;
	return test_rt_cfg(&cfg);
}

/* The runtime's counters: tests read obligation counts here, through the
 * public API, rather than in the kernel's fields. */
static inline asup_rt_stats test_stats(asup_rt *rt)
{
	asup_rt_stats st;
	CHECK_EQ(asup_rt_stats_get(rt, &st), 0);
	return st;
}

/* Checks the invariants of every layer, then destroys the runtime. */
static inline void test_rt_done(asup_rt *rt)
{
	CHECK_EQ(asup__rt_check(rt), 0);
	CHECK_EQ(asup_rt_destroy(rt), 0);
}

#endif
