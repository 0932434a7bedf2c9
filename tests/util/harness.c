/*
 * The test harness itself: a skipped case exits with the skip status (not
 * the pass status), CHECK_RC names both codes on a mismatch, SWEEP runs
 * every seed in order, replays only ASUP_SEED when it is set, and a failure
 * inside a sweep prints the seed and the line that replays it.
 *
 * Each probe runs in a forked child whose stderr and stdout are captured,
 * since the behaviour under test ends the process.
 */
#include "harness.h"

#include <errno.h>

static char out[4096];

/* Runs fn in a child; returns its exit status and leaves its output in out. */
static int in_child(void (*fn)(void))
{
	int fd[2], st = 0;
	ssize_t n, len = 0;
	pid_t pid;

	CHECK_EQ(pipe(fd), 0);
	fflush(NULL);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		dup2(fd[1], 1);
		dup2(fd[1], 2);
		close(fd[0]);
		fn();
		fflush(NULL);
		_exit(0);
	}
	close(fd[1]);
	while ((n = read(fd[0], out + len, sizeof(out) - 1 - (size_t)len)) > 0)
		len += n;
	out[len] = 0;
	close(fd[0]);
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void skips(void)
{
	SKIP("no such device here");
}

TEST(skip_exits_with_the_skip_status_and_says_why)
{
	CHECK_EQ(in_child(skips), HARNESS_SKIP);
	CHECK(strstr(out, "SKIP: no such device here") != NULL);
}

static void rc_mismatch(void)
{
	CHECK_RC(-EINVAL, -EAGAIN);
}

static void rc_match(void)
{
	CHECK_RC(-EINVAL, -EINVAL);
	CHECK_RC(0, 0);
}

TEST(check_rc_names_both_codes_on_a_mismatch)
{
	CHECK_EQ(in_child(rc_mismatch), 1);
	CHECK(strstr(out, "CHECK_RC failed: -EINVAL") != NULL);
	CHECK(strstr(out, asup_err_name(-EINVAL)) != NULL);
	CHECK(strstr(out, asup_err_name(-EAGAIN)) != NULL);
	CHECK_EQ(in_child(rc_match), 0);
	CHECK_STR_EQ(out, "");
}

static uint64_t seen[64];
static int nseen;

static void record(uint64_t seed)
{
	if (nseen < 64)
		seen[nseen++] = seed;
}

TEST(sweep_runs_every_seed_in_order)
{
	unsetenv("ASUP_SEED");
	SWEEP(7, record);
	CHECK_EQ(nseen, 7);
	for (int i = 0; i < 7; i++)
		CHECK_EQ(seen[i], i + 1);
}

TEST(sweep_runs_only_the_seed_in_asup_seed)
{
	CHECK_EQ(setenv("ASUP_SEED", "5", 1), 0);
	SWEEP(7, record);
	CHECK_EQ(nseen, 1);
	CHECK_EQ(seen[0], 5);
	/* a seed beyond the sweep's range is still replayed */
	CHECK_EQ(setenv("ASUP_SEED", "1000", 1), 0);
	SWEEP(7, record);
	CHECK_EQ(nseen, 2);
	CHECK_EQ(seen[1], 1000);
}

static void fails_at_four(uint64_t seed)
{
	record(seed);
	CHECK(seed != 4);
}

static void sweeps_to_failure(void)
{
	harness_case_name = "some_case";
	SWEEP(9, fails_at_four);
}

TEST(sweep_failure_prints_the_seed_and_the_replay_line)
{
	unsetenv("ASUP_SEED");
	CHECK_EQ(in_child(sweeps_to_failure), 1);
	CHECK(strstr(out, "CHECK failed: seed != 4") != NULL);
	CHECK(strstr(out, "failing seed: 4 (replay: ASUP_SEED=4 ") != NULL);
	CHECK(strstr(out, " some_case)") != NULL);
	/* a check failing outside a sweep names no seed */
	CHECK_EQ(in_child(rc_mismatch), 1);
	CHECK(strstr(out, "failing seed") == NULL);
}
