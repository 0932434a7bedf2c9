/*
 * The planted-bug corpus (tests/lab/scenarios): for each buggy scenario,
 * exploration from seed 1 finds it within its documented number of seeds
 * and by its documented oracle ("root": the root does not end Ok, and no
 * oracle fired); the failing seed fails identically on every run (digest,
 * first violation, outcome); the run saved to a file replays step for step
 * with the same violation; and its fixed twin passes every seed tried.
 *
 * Each case prints what it measured (the first failing seed, how many of
 * seeds 1-200 fail, the twin's distinct runs), so a change in the scheduler
 * that shifts the numbers shows up in the log before it breaks a bound. The
 * numbers are the same in every build (the lab is deterministic), valgrind
 * included, which only tries fewer seeds.
 */
#include "harness.h"
#include "corpus.h"

/* Seeds each twin must pass. Under valgrind fewer, but never below 50. */
static uint64_t twin_seeds(void)
{
	return harness_under_valgrind() ? 300 : 1000;
}

/* Seeds over which a bug's failure rate is measured. */
static uint64_t rate_seeds(void)
{
	return harness_under_valgrind() ? 100 : 200;
}

static const asup_corpus_entry *entry(const char *name)
{
	const asup_corpus_entry *e = asup_corpus_find(name);

	if (!e)
		fprintf(stderr, "no scenario named %s\n", name);
	CHECK(e != NULL);
	return e;
}

/* The failure is the one the entry documents. */
static void check_documented(const asup_corpus_entry *e, const asup_lab_result *r)
{
	CHECK(r->failed);
	if (strcmp(e->oracle, "root") == 0) {
		CHECK(r->outcome.kind != ASUP_OUTCOME_OK);
		CHECK_EQ(r->violations, 0);
	} else {
		CHECK(r->violations > 0);
		CHECK_STR_EQ(r->first.oracle, e->oracle);
	}
}

static void check_same_result(const asup_lab_result *a, const asup_lab_result *b)
{
	CHECK_EQ(a->rc, b->rc);
	CHECK_EQ(a->steps, b->steps);
	CHECK(memcmp(a->digest, b->digest, sizeof a->digest) == 0);
	CHECK_EQ(a->outcome.kind, b->outcome.kind);
	CHECK_STR_EQ(a->outcome.panic_msg, b->outcome.panic_msg);
	CHECK_EQ(a->violations, b->violations);
	if (a->violations) {
		CHECK_STR_EQ(a->first.oracle, b->first.oracle);
		CHECK_STR_EQ(a->first.message, b->first.message);
		CHECK_EQ(a->first.step, b->first.step);
		CHECK_EQ(a->first.task, b->first.task);
		CHECK_EQ(a->first.region, b->first.region);
	}
}

/* One run of e under cfg in a fresh lab; saves it to path unless NULL.
 * With r, the lab follows that recording first. Returns the lab's
 * divergence answer for a followed run, else 0. */
static int run_one(const asup_corpus_entry *e, const asup_lab_config *cfg, const char *path,
		   const asup_lab_replay *r, asup_lab_result *res)
{
	asup_lab *lab;
	asup_outcome out;
	uint64_t at = 0;
	int rc, div = 0;

	CHECK_EQ(asup_lab_create(cfg, &lab), 0);
	if (r)
		CHECK_EQ(asup_lab_follow(lab, r), 0);
	memset(&out, 0, sizeof out);
	rc = asup_lab_run(lab, e->sc.root, e->sc.arg, &out);
	/* judged exactly as asup_lab_explore judges a run */
	CHECK_EQ(asup_lab_result_get(lab, rc, &out, res), 0);
	if (path)
		CHECK_EQ(asup_lab_save(lab, path, e->sc.name), 0);
	if (r) {
		div = asup_lab_divergence(lab, &at);
		if (div)
			printf("%s: leaves the recording at step %" PRIu64 "\n", e->sc.name,
			       at);
	}
	CHECK_EQ(asup_lab_destroy(lab), 0);
	return div;
}

/* The recording holds the config it ran under. */
static void check_recorded_config(const asup_lab_config *want, const asup_lab_config *got)
{
	CHECK_EQ(got->seed, want->seed);
	CHECK_EQ(got->workers, want->workers);
	CHECK_EQ(got->max_steps, want->max_steps);
	CHECK_EQ(got->futurelock_steps, want->futurelock_steps);
	CHECK_EQ(got->auto_advance, want->auto_advance);
	CHECK_EQ(got->chaos.cancel_ppm, want->chaos.cancel_ppm);
	CHECK_EQ(got->chaos.delay_ppm, want->chaos.delay_ppm);
	CHECK_EQ(got->chaos.storm_ppm, want->chaos.storm_ppm);
	CHECK_EQ(got->chaos.budget_ppm, want->chaos.budget_ppm);
	CHECK_EQ(got->inject_at, want->inject_at);
}

/* Saves the failing run, loads it and follows it: no divergence, the same
 * run to the last step. The fixed program cannot follow it: that shows the
 * comparison would see a replay that went another way. */
static void check_replay(const asup_corpus_entry *e, const asup_corpus_entry *twin,
			 const asup_lab_config *cfg, const asup_lab_result *want)
{
	char path[] = "/tmp/asup-planted-XXXXXX";
	asup_lab_result saved, followed;
	asup_lab_replay *r;
	asup_lab_config rcfg;
	const char *why = NULL;
	int rc, fd = mkstemp(path);

	CHECK(fd >= 0);
	close(fd);
	run_one(e, cfg, path, NULL, &saved);
	check_same_result(want, &saved);
	rc = asup_lab_replay_load(path, &r, &why);
	unlink(path);
	if (rc < 0)
		fprintf(stderr, "%s: cannot load the recording: %s\n", e->sc.name, why ? why : "?");
	CHECK_EQ(rc, 0);
	CHECK_STR_EQ(asup_lab_replay_name(r), e->sc.name);
	CHECK_EQ(asup_lab_replay_steps(r), want->steps);
	CHECK_EQ(asup_lab_replay_config(r, &rcfg), 0);
	check_recorded_config(cfg, &rcfg);
	/* Not part of a recording: the step checks only report, so they do
	 * not change the run, but they are on in the corpus's config. */
	rcfg.check_every_step = cfg->check_every_step;
	CHECK_EQ(run_one(e, &rcfg, NULL, r, &followed), 0);
	check_same_result(want, &followed);
	CHECK_EQ(run_one(twin, &rcfg, NULL, r, &followed), 1);
	asup_lab_replay_free(r);
}

/* The buggy half: found within its bound, identical on re-runs, replayed. */
static void check_buggy(const asup_corpus_entry *e, const asup_corpus_entry *twin)
{
	asup_lab_config cfg;
	asup_lab_sweep sw, all;
	asup_lab_result again;
	uint64_t seed;

	CHECK(e->buggy && e->oracle && e->seeds > 0);
	asup_corpus_config(e, 1, &cfg);
	CHECK_EQ(asup_lab_explore(&e->sc, &cfg, 1, e->seeds, 1, &sw), 0);
	if (sw.failures == 0)
		fprintf(stderr, "%s: no failure within its %" PRIu64 " documented seeds\n",
			e->sc.name, e->seeds);
	CHECK_EQ(sw.failures, 1);
	seed = sw.first_failing_seed;
	CHECK(seed >= 1 && seed <= e->seeds);
	check_documented(e, &sw.first_failure);
	/* The bug depends on the schedule: some seeds pass, some fail. */
	CHECK_EQ(asup_lab_explore(&e->sc, &cfg, 1, rate_seeds(), 0, &all), 0);
	CHECK(all.failures > 0 && all.failures < all.runs);
	printf("%s: first failing seed %" PRIu64 " (bound %" PRIu64 "), %" PRIu64 " of seeds 1-%" PRIu64
	       " fail; %" PRIu64 " steps, %s: %s\n",
	       e->sc.name, seed, e->seeds, all.failures, all.runs, sw.first_failure.steps,
	       e->oracle,
	       sw.first_failure.violations ? sw.first_failure.first.message
					   : sw.first_failure.outcome.panic_msg);

	/* The failing seed fails the same way every time. */
	cfg.seed = seed;
	for (int i = 0; i < 2; i++) {
		run_one(e, &cfg, NULL, NULL, &again);
		check_same_result(&sw.first_failure, &again);
	}
	check_replay(e, twin, &cfg, &sw.first_failure);
}

/* The fixed half: no failure on any seed tried, over several schedules. */
static void check_twin(const asup_corpus_entry *e)
{
	asup_lab_config cfg;
	asup_lab_sweep sw;
	uint64_t n = twin_seeds();

	CHECK(!e->buggy);
	asup_corpus_config(e, 1, &cfg);
	CHECK_EQ(asup_lab_explore(&e->sc, &cfg, 1, n, 0, &sw), 0);
	CHECK_EQ(sw.runs, n);
	if (sw.failures)
		fprintf(stderr, "%s: seed %" PRIu64 " fails (%s: %s)\n", e->sc.name,
			sw.first_failing_seed, sw.first_failure.first.oracle,
			sw.first_failure.first.message);
	CHECK_EQ(sw.failures, 0);
	/* Passing means something only if the seeds gave different runs. */
	CHECK(sw.distinct >= 2);
	printf("%s: %" PRIu64 " seeds pass, %" PRIu64 " distinct runs\n", e->sc.name, sw.runs,
	       sw.distinct);
}

static void check_pair(const char *name)
{
	const asup_corpus_entry *e = entry(name), *t;

	CHECK(e->twin != NULL);
	t = entry(e->twin);
	CHECK_STR_EQ(t->twin, e->sc.name);
	CHECK_EQ(t->workers, e->workers);
	CHECK_EQ(t->futurelock_steps, e->futurelock_steps);
	check_buggy(e, t);
	check_twin(t);
}

/* The planted bugs this file has a case for: the registry must list exactly
 * these (a new scenario needs its case here), besides the network ones
 * (named net_*), which tests/lab/planted_net.c checks. */
static const char *const planted[] = {
	"lock_order",  "lost_wakeup", "race_undrained",    "permit_leak",
	"late_defer",  "lost_update", "permit_futurelock", "cancel_drop",
};
#define NPLANTED (sizeof planted / sizeof planted[0])

TEST(registry_pairs_every_bug_with_its_twin)
{
	size_t n, buggy = 0;
	const asup_corpus_entry *e = asup_corpus_list(&n);

	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < i; j++)
			CHECK(strcmp(e[i].sc.name, e[j].sc.name) != 0);
		CHECK(e[i].sc.root != NULL && e[i].sc.about != NULL);
		if (strncmp(e[i].sc.name, "net_", 4) == 0)
			continue; /* the network bugs: tests/lab/planted_net.c */
		if (!e[i].buggy) {
			CHECK(e[i].oracle == NULL);
			continue;
		}
		buggy++;
		CHECK(e[i].twin != NULL && e[i].oracle != NULL && e[i].seeds > 0);
		CHECK(!entry(e[i].twin)->buggy);
		int listed = 0;
		for (size_t k = 0; k < NPLANTED; k++)
			listed |= strcmp(planted[k], e[i].sc.name) == 0;
		if (!listed)
			fprintf(stderr, "planted bug %s has no case in planted.c\n", e[i].sc.name);
		CHECK(listed);
	}
	CHECK_EQ(buggy, NPLANTED);
	CHECK(buggy >= 7);
}

TEST(lock_order)
{
	check_pair("lock_order");
}

TEST(lost_wakeup)
{
	check_pair("lost_wakeup");
}

TEST(race_undrained)
{
	check_pair("race_undrained");
}

TEST(permit_leak)
{
	check_pair("permit_leak");
}

TEST(late_defer)
{
	check_pair("late_defer");
}

TEST(lost_update)
{
	check_pair("lost_update");
}

TEST(permit_futurelock)
{
	check_pair("permit_futurelock");
}

TEST(cancel_drop)
{
	check_pair("cancel_drop");
}
