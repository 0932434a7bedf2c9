/*
 * Seed sweeps for tests: run a root function in the lab under seeds
 * first .. first + n - 1 and report the first failing seed with its
 * violation, so that setting that seed replays the failure exactly.
 */
#ifndef ASUP_TEST_LABTEST_H
#define ASUP_TEST_LABTEST_H

#include "harness.h"
#include <asupersync.h>

/* The lab config tests start from: step checks on. */
static inline asup_lab_config lab_test_config(uint64_t seed, uint32_t workers)
{
	asup_lab_config cfg;
	asup_lab_config_init(&cfg);
	cfg.seed = seed;
	cfg.workers = workers;
	cfg.check_every_step = 1;
	return cfg;
}

/* Sweeps n seeds of root(arg) under cfg (its seed is replaced); prints the
 * first failure and returns the number of failing seeds. */
static inline uint64_t lab_sweep(const char *name, asup_task_fn root, void *arg,
				 const asup_lab_config *cfg, uint64_t first, uint64_t n)
{
	asup_lab_scenario sc = {name, "", root, arg};
	asup_lab_sweep sw;

	CHECK_EQ(asup_lab_explore(&sc, cfg, first, n, 0, &sw), 0);
	CHECK_EQ(sw.runs, n);
	if (sw.failures) {
		const asup_lab_result *r = &sw.first_failure;
		printf("%s: %" PRIu64 " of %" PRIu64 " seeds fail; first failing seed %" PRIu64
		       " (workers %u): rc %s, root %s %" PRId64 "%s%s%s\n",
		       name, sw.failures, sw.runs, sw.first_failing_seed, cfg->workers,
		       asup_err_name(r->rc), asup_outcome_kind_name(r->outcome.kind), r->outcome.value,
		       r->violations ? "; " : "", r->violations ? r->first.oracle : "",
		       r->violations ? ": " : "");
		if (r->violations)
			printf("  %s\n", r->first.message);
	}
	return sw.failures;
}

#endif
