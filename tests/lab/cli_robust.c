/*
 * asup-lab never crashes on input: a valid recording that selects the panic
 * leak response is replayed and reported (the lab ends the run at the leak,
 * the process goes on), a diverged replay reports and exits 1, and the
 * scenarios that once read dead stack frames run clean under heavy chaos.
 * Every case also looks at stderr for a sanitizer report, so in the ASan
 * build a leak or a bad read fails the case even where the exit status
 * would pass.
 */
#include "harness.h"

#include "lab/recfile.h"

#include "corpus.h"

static char dir[64];

static void cleanup(void)
{
	char cmd[128];

	if (dir[0]) {
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
}

static const char *path_in(const char *name)
{
	static char buf[4][128];
	static int next;
	char *p = buf[next++ % 4];

	if (!dir[0]) {
		snprintf(dir, sizeof dir, "/tmp/asup-robust-XXXXXX");
		CHECK(mkdtemp(dir) != NULL);
		atexit(cleanup);
	}
	snprintf(p, 128, "%s/%s", dir, name);
	return p;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	CHECK(f != NULL);
	CHECK_EQ(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	CHECK(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	CHECK(buf != NULL);
	CHECK_EQ(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return buf;
}

static void spill(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	CHECK(f != NULL);
	CHECK_EQ(fwrite(p, 1, n, f), n);
	CHECK_EQ(fclose(f), 0);
}

/* Runs "asup-lab ARGS"; its exit status (128 + signal when killed), with
 * stdout in *out (freed by the caller) and no sanitizer report allowed on
 * stderr. */
static int cli(const char *args, char **out)
{
	char cmd[1024], *err;
	int st, status;

	snprintf(cmd, sizeof cmd, "'%s' %s >'%s' 2>'%s'", ASUP_LAB_CLI, args, path_in("out"),
		 path_in("err"));
	st = system(cmd);
	CHECK(st != -1);
	status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	err = slurp(path_in("err"), NULL);
	if (strstr(err, "Sanitizer") || strstr(err, "runtime error")) {
		fprintf(stderr, "$ asup-lab %s\n%s", args, err);
		CHECK(!"a sanitizer report");
	}
	free(err);
	*out = slurp(path_in("out"), NULL);
	return status;
}

/* The first seed at which entry `name` fails, from the library. */
static uint64_t failing_seed(const char *name)
{
	const asup_corpus_entry *e = asup_corpus_find(name);
	asup_lab_config cfg;
	asup_lab_sweep sw;

	CHECK(e != NULL);
	asup_corpus_config(e, 1, &cfg);
	CHECK_EQ(asup_lab_explore(&e->sc, &cfg, 1, e->seeds, 1, &sw), 0);
	CHECK(sw.failures > 0);
	return sw.first_failing_seed;
}

TEST(a_leaking_run_under_the_panic_response_ends_at_the_leak_with_a_report)
{
	const asup_corpus_entry *e = asup_corpus_find("permit_leak");
	asup_lab_config cfg;
	asup_lab_violation v;
	asup_lab *lab;
	asup_outcome o;

	CHECK(e != NULL);
	asup_corpus_config(e, failing_seed("permit_leak"), &cfg);
	cfg.leak_response = ASUP_LEAK_PANIC;
	cfg.stop_on_violation = 0; /* the panic response stops the run anyway */
	CHECK_EQ(asup_lab_create(&cfg, &lab), 0);
	CHECK_EQ(asup_lab_run(lab, e->sc.root, e->sc.arg, &o), -ASUP_EORACLE);
	asup_lab_violations_print(lab, stdout);
	CHECK(asup_lab_violation_count(lab) >= 1);
	CHECK_EQ(asup_lab_violation_get(lab, 0, &v), 0);
	CHECK_EQ(strcmp(v.oracle, "obligation_leak"), 0);
	CHECK_EQ(asup_lab_steps(lab), v.step); /* no step ran after the leak */
	CHECK_EQ(asup_lab_destroy(lab), 0);
}

TEST(replay_of_a_panic_leak_response_recording_reports_instead_of_aborting)
{
	const asup_corpus_entry *e = asup_corpus_find("permit_leak");
	asup_lab_config cfg;
	asup_lab *lab;
	asup_outcome o;
	char args[256], *out;

	CHECK(e != NULL);
	asup_corpus_config(e, failing_seed("permit_leak"), &cfg);
	cfg.leak_response = ASUP_LEAK_PANIC;
	CHECK_EQ(asup_lab_create(&cfg, &lab), 0);
	CHECK_EQ(asup_lab_run(lab, e->sc.root, e->sc.arg, &o), -ASUP_EORACLE);
	CHECK_EQ(asup_lab_save(lab, path_in("panic.lab"), e->sc.name), 0);
	CHECK_EQ(asup_lab_destroy(lab), 0);

	snprintf(args, sizeof args, "replay '%s'", path_in("panic.lab"));
	CHECK_EQ(cli(args, &out), 1); /* identical to a failed run: exit 1 */
	CHECK(strstr(out, "identical") != NULL);
	CHECK(strstr(out, "obligation_leak") != NULL);
	free(out);
}

/* A clean recording with its leak-response bits rewritten to PANIC (and
 * the check fixed): still a valid recording, replayed identically. */
TEST(a_panic_response_on_a_clean_recording_replays_identically)
{
	char args[256], *out, *rec;
	size_t n;

	snprintf(args, sizeof args, "run permit_leak_fixed --seed 3 --record '%s'",
		 path_in("clean.lab"));
	CHECK_EQ(cli(args, &out), 0);
	free(out);
	rec = slurp(path_in("clean.lab"), &n);
	recf_put((uint8_t *)rec, RECF_FLAGS, 4,
		 (recf_get((uint8_t *)rec, RECF_FLAGS, 4) & ~(3u << 3)) |
		     ((uint32_t)(ASUP_LEAK_PANIC ^ ASUP_LEAK_SILENT) << 3));
	recf_fix_check((uint8_t *)rec, n);
	spill(path_in("clean.lab"), rec, n);
	free(rec);
	snprintf(args, sizeof args, "replay '%s'", path_in("clean.lab"));
	CHECK_EQ(cli(args, &out), 0);
	CHECK(strstr(out, "identical") != NULL);
	free(out);
}

/* Replays `rec` with step k's check value changed: it must diverge. */
static void replay_diverged(const char *rec, size_t n, uint64_t k)
{
	char args[256], *out, *m = malloc(n);

	CHECK(m != NULL);
	memcpy(m, rec, n);
	m[RECF_STEPS + k * RECF_STEP_BYTES + 16] ^= 1;
	recf_fix_check((uint8_t *)m, n);
	spill(path_in("div.lab"), m, n);
	free(m);
	snprintf(args, sizeof args, "replay '%s'", path_in("div.lab"));
	CHECK_EQ(cli(args, &out), 1);
	CHECK(strstr(out, "diverged at step") != NULL);
	free(out);
}

/* Heavy chaos cancels tasks and region bodies early; a replay that then
 * diverges stops with tasks suspended mid-cancel, and the lab must still
 * give back everything (the ASan build checks the leak). */
TEST(a_diverged_replay_reports_the_step_and_exits_1)
{
	for (int seed = 1; seed <= 4; seed++) {
		char args[256], *out, *rec;
		size_t n;
		uint64_t steps;

		snprintf(args, sizeof args,
			 "run late_defer_fixed --seed %d --chaos heavy --record '%s'", seed,
			 path_in("div-src.lab"));
		CHECK_EQ(cli(args, &out), 0);
		free(out);
		rec = slurp(path_in("div-src.lab"), &n);
		steps = recf_get((uint8_t *)rec, RECF_NSTEPS, 8);
		CHECK(steps > 4);
		for (uint64_t k = 0; k < 4; k++)
			replay_diverged(rec, n, k);
		free(rec);
	}
}

TEST(cancel_drop_and_permit_leak_run_under_heavy_chaos_without_crashing)
{
	static const char *const names[] = {"cancel_drop", "cancel_drop_fixed", "permit_leak",
					    "permit_leak_fixed"};
	int seeds = getenv("ASUP_UNDER_VALGRIND") ? 2 : 12;

	for (int i = 0; i < 4; i++)
		for (int seed = 1; seed <= seeds; seed++) {
			char args[128], *out;
			int st;

			snprintf(args, sizeof args, "run %s --chaos heavy --seed %d", names[i],
				 seed);
			st = cli(args, &out);
			free(out);
			if (i % 2)
				CHECK_EQ(st, 0); /* a twin passes */
			else
				CHECK(st == 0 || st == 1); /* a bug may show; nothing crashes */
		}
}
