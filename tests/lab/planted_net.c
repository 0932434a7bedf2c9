/*
 * The planted network bugs of the corpus (tests/lab/scenarios/net_*.c), run
 * over the simulated network with the faults each entry configures: for
 * each bug, exploration from seed 1 finds it within its documented number
 * of seeds and by its documented oracle (a deadlock, a socket_leak, or
 * "root": the root's own check panics); the failing seed fails the same way
 * on every run; the run saved to a file and loaded again replays step for
 * step to the same digest (and the twin cannot follow it); the fixed twin
 * passes 1,000 seeds (300 under valgrind) over several distinct network
 * histories. The asup-lab CLI lists them, finds each by `explore` and
 * replays its recording identically.
 *
 * Each case prints what it measured (first failing seed, failure rate over
 * seeds 1-200, the twin's distinct runs, and the twin sweep's wall time),
 * so that a change in the scheduler or the network that moves the numbers
 * shows in the log before it breaks a bound.
 */
#include "harness.h"
#include "corpus.h"

#include <time.h>

static const char *const bugs[] = {"net_no_deadline", "net_dup_retry", "net_reset_leak",
				   "net_short_read"};
#define NBUGS (sizeof bugs / sizeof bugs[0])

static uint64_t twin_seeds(void)
{
	return harness_under_valgrind() ? 300 : 1000;
}

static uint64_t rate_seeds(void)
{
	return harness_under_valgrind() ? 50 : 200;
}

static double wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static const asup_corpus_entry *entry(const char *name)
{
	const asup_corpus_entry *e = asup_corpus_find(name);

	if (!e)
		fprintf(stderr, "no scenario named %s\n", name);
	CHECK(e != NULL);
	return e;
}

static void check_documented(const asup_corpus_entry *e, const asup_lab_result *r)
{
	CHECK(r->failed);
	if (strcmp(e->oracle, "root") == 0) {
		CHECK_EQ(r->outcome.kind, ASUP_OUTCOME_PANICKED);
		CHECK_EQ(r->violations, 0);
	} else {
		CHECK(r->violations > 0);
		CHECK_STR_EQ(r->first.oracle, e->oracle);
	}
}

static void check_same(const asup_lab_result *a, const asup_lab_result *b)
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
	}
}

/* One run of e under cfg, saved to path unless NULL, following r unless
 * NULL. Returns the divergence answer of a followed run, else 0. */
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
	CHECK_EQ(asup_lab_result_get(lab, rc, &out, res), 0);
	if (path)
		CHECK_EQ(asup_lab_save(lab, path, e->sc.name), 0);
	if (r && (div = asup_lab_divergence(lab, &at)) != 0)
		printf("%s: leaves the recording at step %" PRIu64 "\n", e->sc.name, at);
	CHECK_EQ(asup_lab_destroy(lab), 0);
	return div;
}

/* Saves the failing run, loads it, follows it to the same end; the twin
 * leaves it. The recording carries the network's config: the replay runs
 * from the recorded config alone. */
static void check_replay(const asup_corpus_entry *e, const asup_corpus_entry *twin,
			 const asup_lab_config *cfg, const asup_lab_result *want)
{
	char path[] = "/tmp/asup-planted-net-XXXXXX";
	asup_lab_result saved, followed;
	asup_lab_replay *r;
	asup_lab_config rcfg;
	const char *why = NULL;
	int rc, fd = mkstemp(path);

	CHECK(fd >= 0);
	close(fd);
	run_one(e, cfg, path, NULL, &saved);
	check_same(want, &saved);
	rc = asup_lab_replay_load(path, &r, &why);
	unlink(path);
	if (rc < 0)
		fprintf(stderr, "%s: cannot load the recording: %s\n", e->sc.name, why ? why : "?");
	CHECK_EQ(rc, 0);
	CHECK_STR_EQ(asup_lab_replay_name(r), e->sc.name);
	CHECK_EQ(asup_lab_replay_steps(r), want->steps);
	CHECK_EQ(asup_lab_replay_config(r, &rcfg), 0);
	CHECK_EQ(rcfg.seed, cfg->seed);
	CHECK(memcmp(&rcfg.net, &cfg->net, sizeof rcfg.net) == 0);
	rcfg.check_every_step = cfg->check_every_step;
	CHECK_EQ(run_one(e, &rcfg, NULL, r, &followed), 0);
	check_same(want, &followed);
	CHECK_EQ(run_one(twin, &rcfg, NULL, r, &followed), 1);
	asup_lab_replay_free(r);
}

static void check_buggy(const asup_corpus_entry *e, const asup_corpus_entry *twin)
{
	asup_lab_config cfg;
	asup_lab_sweep sw, all;
	asup_lab_result again;
	uint64_t seed;

	CHECK(e->buggy && e->oracle && e->seeds > 0 && e->net != NULL);
	asup_corpus_config(e, 1, &cfg);
	CHECK_EQ(asup_lab_explore(&e->sc, &cfg, 1, e->seeds, 1, &sw), 0);
	if (sw.failures == 0)
		fprintf(stderr, "%s: no failure within its %" PRIu64 " documented seeds\n",
			e->sc.name, e->seeds);
	CHECK_EQ(sw.failures, 1);
	seed = sw.first_failing_seed;
	CHECK(seed >= 1 && seed <= e->seeds);
	check_documented(e, &sw.first_failure);
	/* The bug depends on the seed's network history: some seeds pass. */
	CHECK_EQ(asup_lab_explore(&e->sc, &cfg, 1, rate_seeds(), 0, &all), 0);
	CHECK(all.failures > 0 && all.failures < all.runs);
	printf("%s: first failing seed %" PRIu64 " (bound %" PRIu64 "), %" PRIu64
	       " of seeds 1-%" PRIu64 " fail; %" PRIu64 " steps, %s: %s\n",
	       e->sc.name, seed, e->seeds, all.failures, all.runs, sw.first_failure.steps,
	       e->oracle,
	       sw.first_failure.violations ? sw.first_failure.first.message
					   : sw.first_failure.outcome.panic_msg);
	cfg.seed = seed;
	for (int i = 0; i < 2; i++) {
		run_one(e, &cfg, NULL, NULL, &again);
		check_same(&sw.first_failure, &again);
	}
	check_replay(e, twin, &cfg, &sw.first_failure);
}

static void check_twin(const asup_corpus_entry *e)
{
	asup_lab_config cfg;
	asup_lab_sweep sw;
	uint64_t n = twin_seeds();
	double t0 = wall();

	CHECK(!e->buggy);
	asup_corpus_config(e, 1, &cfg);
	CHECK_EQ(asup_lab_explore(&e->sc, &cfg, 1, n, 0, &sw), 0);
	CHECK_EQ(sw.runs, n);
	if (sw.failures)
		fprintf(stderr, "%s: seed %" PRIu64 " fails (%s: %s; %s)\n", e->sc.name,
			sw.first_failing_seed, sw.first_failure.first.oracle,
			sw.first_failure.first.message, sw.first_failure.outcome.panic_msg);
	CHECK_EQ(sw.failures, 0);
	CHECK(sw.distinct >= 2);
	printf("%s: %" PRIu64 " seeds pass, %" PRIu64 " distinct runs, %.2f s\n", e->sc.name,
	       sw.runs, sw.distinct, wall() - t0);
}

static void check_pair(const char *name)
{
	const asup_corpus_entry *e = entry(name), *t;

	CHECK(e->twin != NULL);
	t = entry(e->twin);
	CHECK_STR_EQ(t->twin, e->sc.name);
	CHECK(t->net == e->net); /* the same network for both halves */
	CHECK_EQ(t->workers, e->workers);
	check_buggy(e, t);
	check_twin(t);
}

TEST(registry_pairs_every_network_bug_with_its_twin)
{
	size_t n, found = 0;
	const asup_corpus_entry *e = asup_corpus_list(&n);

	for (size_t i = 0; i < n; i++) {
		if (strncmp(e[i].sc.name, "net_", 4) != 0)
			continue;
		CHECK(e[i].net != NULL);
		if (!e[i].buggy)
			continue;
		int listed = 0;
		for (size_t k = 0; k < NBUGS; k++)
			listed |= strcmp(bugs[k], e[i].sc.name) == 0;
		if (!listed)
			fprintf(stderr, "network bug %s has no case in planted_net.c\n",
				e[i].sc.name);
		CHECK(listed);
		found++;
	}
	CHECK_EQ(found, NBUGS);
}

TEST(net_no_deadline_hangs_under_a_partition_and_its_twin_gives_up_cleanly)
{
	check_pair("net_no_deadline");
}

TEST(net_dup_retry_applies_a_retried_request_twice_and_its_twin_dedups)
{
	check_pair("net_dup_retry");
}

TEST(net_reset_leak_leaves_a_socket_open_and_its_twin_closes_it)
{
	check_pair("net_reset_leak");
}

TEST(net_short_read_parses_a_torn_message_and_its_twin_frames)
{
	check_pair("net_short_read");
}

/* ---- through the CLI ---------------------------------------------------- */

static int sh(const char *cmd, char *out, size_t n)
{
	FILE *p = popen(cmd, "r");
	size_t len = 0;
	int st;

	CHECK(p != NULL);
	while (len + 1 < n && fgets(out + len, (int)(n - len), p))
		len = strlen(out);
	out[len] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST(asup_lab_lists_explores_and_replays_the_network_bugs)
{
	static char out[1 << 16];
	char cmd[1024], want[96], path[] = "/tmp/asup-net-cli-XXXXXX";
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	close(fd);
	snprintf(cmd, sizeof cmd, "'%s' list", ASUP_LAB_CLI);
	CHECK_EQ(sh(cmd, out, sizeof out), 0);
	for (size_t i = 0; i < NBUGS; i++) {
		snprintf(want, sizeof want, "%s ", bugs[i]);
		CHECK(strstr(out, want) != NULL);
		snprintf(want, sizeof want, "%s_fixed ", bugs[i]);
		CHECK(strstr(out, want) != NULL);
	}
	for (size_t i = 0; i < NBUGS; i++) {
		const asup_corpus_entry *e = entry(bugs[i]);
		asup_lab_config cfg;
		asup_lab_sweep sw;
		char *p;

		asup_corpus_config(e, 1, &cfg);
		CHECK_EQ(asup_lab_explore(&e->sc, &cfg, 1, e->seeds, 1, &sw), 0);
		CHECK_EQ(sw.failures, 1);
		snprintf(cmd, sizeof cmd, "'%s' explore %s --seeds %" PRIu64 " 2>&1", ASUP_LAB_CLI,
			 bugs[i], e->seeds);
		CHECK_EQ(sh(cmd, out, sizeof out), 1);
		snprintf(want, sizeof want, "first failing seed: %" PRIu64 "\n",
			 sw.first_failing_seed);
		if (!strstr(out, want))
			fprintf(stderr, "%s", out);
		CHECK(strstr(out, want) != NULL);
		if (strcmp(e->oracle, "root") != 0)
			CHECK(strstr(out, e->oracle) != NULL);
		snprintf(cmd, sizeof cmd, "'%s' run %s --seed %" PRIu64 " --record '%s' >/dev/null 2>&1",
			 ASUP_LAB_CLI, bugs[i], sw.first_failing_seed, path);
		CHECK_EQ(sh(cmd, out, sizeof out), 1);
		snprintf(cmd, sizeof cmd, "'%s' replay '%s' 2>&1", ASUP_LAB_CLI, path);
		CHECK_EQ(sh(cmd, out, sizeof out), 1);
		p = strstr(out, "identical: ");
		if (!p)
			fprintf(stderr, "%s", out);
		CHECK(p != NULL);
	}
	unlink(path);
}
