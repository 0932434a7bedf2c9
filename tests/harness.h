/*
 * A small test harness: one executable per topic, one process per case.
 *
 *   prog --list     prints the case names
 *   prog NAME       runs one case in this process (exit 0 = pass)
 *   prog            runs every case, each in a child process with a timeout,
 *                   and ends with "N passed, N failed, N skipped"
 *
 * CTest runs each case on its own (the CMake file finds TEST(name) lines).
 * CHECK failures print file, line, the expression and, for the _EQ forms,
 * both values, then exit non-zero; CHECK_RC prints error codes by name.
 *
 * SKIP("why") ends a case that cannot run here (a missing tool, an
 * unsupported configuration) with exit status HARNESS_SKIP (77): CTest
 * reports it as skipped (the CMake file sets SKIP_RETURN_CODE on every case)
 * and the in-process runner counts it apart, so a skip never counts as a
 * pass.
 *
 * SWEEP(n, fn) runs fn(seed) for seeds 1..n, or only for the seed in
 * ASUP_SEED when that is set. A failing check inside the sweep prints the
 * seed and the command line that replays it alone.
 */
#ifndef ASUP_TEST_HARNESS_H
#define ASUP_TEST_HARNESS_H

#define _GNU_SOURCE
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <asupersync.h>

typedef void (*harness_fn)(void);
struct harness_case {
	const char *name;
	harness_fn fn;
};

static struct harness_case harness_cases[256];
static int harness_ncases;

#define HARNESS_SKIP 77

/* The case running in this process and, inside SWEEP, its seed. */
static const char *harness_prog = "prog";
static const char *harness_case_name = "";
static uint64_t harness_sweep_seed;
static int harness_sweeping;

/* Every failing check ends here: name the seed of a sweep, then exit 1. */
static void __attribute__((noreturn, unused)) harness_fail(void)
{
	if (harness_sweeping)
		fprintf(stderr, "failing seed: %" PRIu64 " (replay: ASUP_SEED=%" PRIu64 " %s %s)\n",
			harness_sweep_seed, harness_sweep_seed, harness_prog, harness_case_name);
	exit(1);
}

static void harness_register(const char *name, harness_fn fn)
{
	if (harness_ncases < 256) {
		harness_cases[harness_ncases].name = name;
		harness_cases[harness_ncases].fn = fn;
		harness_ncases++;
	}
}

#define TEST(name)                                                            \
	static void test_##name(void);                                        \
	__attribute__((constructor)) static void register_##name(void)        \
	{                                                                     \
		harness_register(#name, test_##name);                         \
	}                                                                     \
	static void test_##name(void)

#define CHECK(cond)                                                           \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, \
				__LINE__, #cond);                             \
			harness_fail();                                              \
		}                                                             \
	} while (0)

#define CHECK_EQ(a, b)                                                        \
	do {                                                                  \
		int64_t va_ = (int64_t)(a), vb_ = (int64_t)(b);               \
		if (va_ != vb_) {                                             \
			fprintf(stderr,                                       \
				"%s:%d: CHECK_EQ failed: %s == %s (%" PRId64  \
				" vs %" PRId64 ")\n",                         \
				__FILE__, __LINE__, #a, #b, va_, vb_);        \
			harness_fail();                                              \
		}                                                             \
	} while (0)

#define CHECK_STR_EQ(a, b)                                                    \
	do {                                                                  \
		const char *sa_ = (a), *sb_ = (b);                            \
		if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0) {                  \
			fprintf(stderr,                                       \
				"%s:%d: CHECK_STR_EQ failed: \"%s\" vs \"%s\"\n", \
				__FILE__, __LINE__, sa_ ? sa_ : "(null)",     \
				sb_ ? sb_ : "(null)");                        \
			harness_fail();                                              \
		}                                                             \
	} while (0)

/* The name of a return code: 0 is OK, a count prints as itself. */
static __attribute__((unused)) const char *harness_rc_name(int rc)
{
	return rc == 0 ? "OK" : rc > 0 ? "a count" : asup_err_name(rc);
}

/* Checks a return code; a mismatch prints both codes by name. */
#define CHECK_RC(expr, expected)                                              \
	do {                                                                  \
		int ra_ = (int)(expr), rb_ = (int)(expected);                 \
		if (ra_ != rb_) {                                             \
			fprintf(stderr,                                       \
				"%s:%d: CHECK_RC failed: %s returned %s (%d), " \
				"expected %s (%d)\n",                         \
				__FILE__, __LINE__, #expr, harness_rc_name(ra_), \
				ra_, harness_rc_name(rb_), rb_);                \
			harness_fail();                                       \
		}                                                             \
	} while (0)

/* Ends the case as skipped (not passed): why it cannot run here. */
#define SKIP(why)                                                             \
	do {                                                                  \
		printf("SKIP: %s\n", (why));                                  \
		fflush(NULL);                                                 \
		_exit(HARNESS_SKIP);                                          \
	} while (0)

/*
 * Runs fn(seed) for seeds 1..n, or only for ASUP_SEED when it is set (the
 * replay line a failure prints). fn checks with CHECK and friends; the first
 * failure ends the case and names its seed. Returns the number of seeds run,
 * so that a check over the whole sweep (every branch was reached) can be
 * made only when the whole sweep ran.
 */
static uint64_t __attribute__((unused)) harness_sweep(uint64_t n, void (*fn)(uint64_t seed))
{
	const char *env = getenv("ASUP_SEED");
	uint64_t first = 1, last = n;

	if (env && *env)
		first = last = strtoull(env, NULL, 0);
	for (uint64_t s = first; s <= last; s++) {
		harness_sweep_seed = s;
		harness_sweeping = 1;
		fn(s);
		harness_sweeping = 0;
	}
	return last - first + 1;
}

#define SWEEP(seeds, fn) harness_sweep((uint64_t)(seeds), (fn))

/* Non-zero when the case runs under valgrind (set by the CMake test). */
static inline int harness_under_valgrind(void)
{
	return getenv("ASUP_UNDER_VALGRIND") != NULL;
}

/* Runs one case in a child: 0 passed, HARNESS_SKIP skipped, else failed. */
static int harness_run_child(const struct harness_case *c)
{
	pid_t pid;

	fflush(stdout); /* the child must not print what the parent buffered */
	pid = fork();
	int st = 0;
	if (pid == 0) {
		alarm(120);
		harness_case_name = c->name;
		c->fn();
		fflush(NULL);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return 1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

int main(int argc, char **argv)
{
	int passed = 0, failed = 0, skipped = 0;

	harness_prog = argv[0];

	if (argc > 1 && strcmp(argv[1], "--list") == 0) {
		for (int i = 0; i < harness_ncases; i++)
			printf("%s\n", harness_cases[i].name);
		return 0;
	}
	if (argc > 1) {
		for (int i = 0; i < harness_ncases; i++) {
			if (strcmp(argv[1], harness_cases[i].name) == 0) {
				harness_case_name = harness_cases[i].name;
				harness_cases[i].fn();
				return 0;
			}
		}
		fprintf(stderr, "no test case named %s\n", argv[1]);
		return 2;
	}
	for (int i = 0; i < harness_ncases; i++) {
		int rc = harness_run_child(&harness_cases[i]);
		printf("%-60s %s\n", harness_cases[i].name,
		       rc == 0 ? "ok" : rc == HARNESS_SKIP ? "skipped" : "FAILED");
		rc == 0 ? passed++ : rc == HARNESS_SKIP ? skipped++ : failed++;
	}
	printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
	return failed ? 1 : 0;
}

#endif
