/*
 * A small test harness: one executable per topic, one process per case.
 *
 *   prog --list     prints the case names
 *   prog NAME       runs one case in this process (exit 0 = pass)
 *   prog            runs every case, each in a child process with a timeout,
 *                   and ends with "N passed, N failed"
 *
 * CTest runs each case on its own (the CMake file finds TEST(name) lines).
 * CHECK failures print file, line, the expression and, for the _EQ forms,
 * both values, then exit non-zero.
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

typedef void (*harness_fn)(void);
struct harness_case {
	const char *name;
	harness_fn fn;
};

static struct harness_case harness_cases[256];
static int harness_ncases;

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
			exit(1);                                              \
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
			exit(1);                                              \
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
			exit(1);                                              \
		}                                                             \
	} while (0)

/* Non-zero when the case runs under valgrind (set by the CMake test). */
static inline int harness_under_valgrind(void)
{
	return getenv("ASUP_UNDER_VALGRIND") != NULL;
}

static int harness_run_child(const struct harness_case *c)
{
	pid_t pid;

	fflush(stdout); /* the child must not print what the parent buffered */
	pid = fork();
	int st = 0;
	if (pid == 0) {
		alarm(120);
		c->fn();
		fflush(NULL);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return 0;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

int main(int argc, char **argv)
{
	int passed = 0, failed = 0;

	if (argc > 1 && strcmp(argv[1], "--list") == 0) {
		for (int i = 0; i < harness_ncases; i++)
			printf("%s\n", harness_cases[i].name);
		return 0;
	}
	if (argc > 1) {
		for (int i = 0; i < harness_ncases; i++) {
			if (strcmp(argv[1], harness_cases[i].name) == 0) {
				harness_cases[i].fn();
				return 0;
			}
		}
		fprintf(stderr, "no test case named %s\n", argv[1]);
		return 2;
	}
	for (int i = 0; i < harness_ncases; i++) {
		int ok = harness_run_child(&harness_cases[i]);
		printf("%-60s %s\n", harness_cases[i].name, ok ? "ok" : "FAILED");
		ok ? passed++ : failed++;
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

#endif
