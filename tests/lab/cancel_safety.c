/*
 * The lab's own corpus is cancel-safe: every fixed twin passes a cancel
 * injected at each of its checkpoints in turn (asup_lab_inject_sweep, and
 * `asup-lab inject` as a user runs it), at several seeds and worker counts,
 * and every scenario, buggy or fixed, runs under heavy chaos without
 * touching memory its root's frame gave up (the sanitizer builds check
 * that part: a read of a dead frame stops the case).
 *
 * The rule the corpus follows (README, lab section): state shared with the
 * tasks a root spawns lives in the region heap or in a scope that outlives
 * the region, never in a frame that a cancel can end early.
 */
#include "harness.h"

#include "corpus.h"

/* Seeds of the in-process sweep; under Valgrind fewer. */
static uint64_t sweep_seeds(void)
{
	return getenv("ASUP_UNDER_VALGRIND") ? 2 : 6;
}

/* One twin under one seed and worker count: every injection point passes. */
static void inject_one(const asup_corpus_entry *e, uint64_t seed, uint32_t workers)
{
	asup_lab_config cfg;
	asup_lab_sweep sw;

	asup_corpus_config(e, seed, &cfg);
	cfg.workers = workers;
	CHECK_EQ(asup_lab_inject_sweep(&e->sc, &cfg, &sw), 0);
	if (sw.failures) {
		fprintf(stderr,
			"%s seed %" PRIu64 " workers %u: a cancel at checkpoint %" PRIu64
			" fails: %s %s\n",
			e->sc.name, seed, workers, sw.first_failing_seed, sw.first_failure.first.oracle,
			sw.first_failure.first.message);
	}
	CHECK_EQ(sw.failures, 0);
	CHECK(sw.runs > 0); /* the twin has checkpoints to inject into */
	CHECK(sw.distinct > 1); /* and the injections changed the runs */
}

TEST(every_fixed_twin_passes_a_cancel_at_every_checkpoint)
{
	size_t n, twins = 0;
	const asup_corpus_entry *e = asup_corpus_list(&n);

	for (size_t i = 0; i < n; i++) {
		if (e[i].buggy)
			continue;
		twins++;
		for (uint64_t seed = 1; seed <= sweep_seeds(); seed++)
			for (uint32_t w = 1; w <= 3; w++)
				inject_one(&e[i], seed, w);
	}
	CHECK(twins >= 8);
}

/* Runs "asup-lab inject NAME" through the shell; its exit status. */
static int cli_inject(const char *name)
{
	char cmd[1024];
	int st;

	snprintf(cmd, sizeof cmd, "'%s' inject %s >/dev/null 2>&1", ASUP_LAB_CLI, name);
	st = system(cmd);
	CHECK(st != -1);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

TEST(asup_lab_inject_passes_on_every_fixed_twin)
{
	size_t n;
	const asup_corpus_entry *e = asup_corpus_list(&n);

	for (size_t i = 0; i < n; i++) {
		int status;

		if (e[i].buggy)
			continue;
		status = cli_inject(e[i].sc.name);
		if (status != 0)
			fprintf(stderr, "asup-lab inject %s: exit %d\n", e[i].sc.name, status);
		CHECK_EQ(status, 0);
	}
}

TEST(asup_lab_inject_finds_the_cancel_unsafe_scenario)
{
	/* The sweep can fail: cancel_drop loses an item whenever the cancel
	 * lands in the stage's send, so its injection sweep reports it. */
	CHECK_EQ(cli_inject("cancel_drop"), 1);
}

/* Every scenario under heavy chaos (cancels, delays, wake-up storms at
 * random): the twins pass, the buggy ones may fail, none crashes. */
TEST(every_scenario_runs_under_heavy_chaos_without_dead_frames)
{
	size_t n;
	const asup_corpus_entry *e = asup_corpus_list(&n);
	uint64_t seeds = getenv("ASUP_UNDER_VALGRIND") ? 10 : 60;

	for (size_t i = 0; i < n; i++) {
		asup_lab_config cfg;
		asup_lab_sweep sw;

		asup_corpus_config(&e[i], 1, &cfg);
		cfg.chaos = asup_lab_chaos_heavy();
		CHECK_EQ(asup_lab_explore(&e[i].sc, &cfg, 1, seeds, 0, &sw), 0);
		CHECK_EQ(sw.runs, seeds);
		if (!e[i].buggy && sw.failures)
			fprintf(stderr, "%s: seed %" PRIu64 " fails under heavy chaos: %s\n",
				e[i].sc.name, sw.first_failing_seed, sw.first_failure.first.message);
		if (!e[i].buggy)
			CHECK_EQ(sw.failures, 0);
	}
}

TEST(shared_state_lives_in_the_region_heap)
{
	/* The corpus's helper hands out zeroed region memory: a root that
	 * returns at once leaves it to its children, and the run is clean. */
	const asup_corpus_entry *e = asup_corpus_find("cancel_drop_fixed");
	asup_lab_config cfg;
	asup_lab_result r;

	CHECK(e != NULL);
	asup_corpus_config(e, 1, &cfg);
	cfg.inject_at = 1; /* the root's first checkpoint: it returns early */
	CHECK_EQ(asup_lab_run_scenario(&e->sc, &cfg, &r), 0);
	CHECK_EQ(r.failed, 0);
	CHECK_EQ(r.violations, 0);
	CHECK(r.outcome.kind == ASUP_OUTCOME_CANCELLED ||
	      (r.outcome.kind == ASUP_OUTCOME_ERR && r.outcome.value == -ECANCELED));
}
