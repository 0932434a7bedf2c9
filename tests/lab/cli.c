/*
 * The asup-lab CLI as a user runs it: each case starts the built binary
 * (ASUP_LAB_CLI) through the shell, captures stdout, stderr and the exit
 * status, and checks them: help, list, run (passing and failing seeds),
 * explore and inject, record then replay (identical, diverged, failing as
 * recorded), bad recordings (corrupt, truncated, empty, missing, too large,
 * unknown scenario), bad arguments, digest stability, and the two trace
 * exports (checked by a small JSON well-formedness checker).
 *
 * The seeds used come from the library (asup_lab_explore over the corpus
 * entry), not from constants, so the cases hold when the scheduler changes.
 */
#include "harness.h" /* first: it asks for _GNU_SOURCE (nftw) */

#include <ctype.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>

#include "lab/recfile.h"

#include "corpus.h"

/* ---- running the binary ------------------------------------------------- */

struct res {
	int status; /* exit status; -1 when the child did not exit normally */
	char *out;  /* stdout, NUL-terminated */
	char *err;  /* stderr */
};

static char dir[64];

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* The case's scratch directory goes when the case ends, pass or fail. */
static void cleanup(void)
{
	if (dir[0])
		nftw(dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
}

static void setup(void)
{
	if (dir[0])
		return;
	snprintf(dir, sizeof dir, "/tmp/asup-cli-XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	atexit(cleanup);
}

static char *path_in(const char *name)
{
	static char buf[8][128];
	static int next;
	char *p = buf[next++ % 8];

	setup();
	snprintf(p, 128, "%s/%s", dir, name);
	return p;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0, got;

	CHECK(f != NULL);
	do {
		if (cap - n < 4096) {
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap + 1);
			CHECK(buf != NULL);
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
	} while (got > 0);
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

/* Runs "asup-lab ARGS" (ARGS as shell words) and captures everything. */
static struct res cli(const char *args)
{
	char cmd[2048];
	struct res r;
	int st;

	snprintf(cmd, sizeof cmd, "'%s' %s >'%s' 2>'%s'", ASUP_LAB_CLI, args, path_in("stdout"),
	         path_in("stderr"));
	st = system(cmd);
	CHECK(st != -1);
	r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	r.out = slurp(path_in("stdout"), NULL);
	r.err = slurp(path_in("stderr"), NULL);
	return r;
}

static void res_free(struct res *r)
{
	free(r->out);
	free(r->err);
}

static void show(const char *args, const struct res *r)
{
	fprintf(stderr, "$ asup-lab %s\n[exit %d]\n--- stdout\n%s--- stderr\n%s---\n", args,
	        r->status, r->out, r->err);
}

/* Runs args and checks the exit status (printing everything if it differs). */
static struct res expect(const char *args, int status)
{
	struct res r = cli(args);

	if (r.status != status) {
		fprintf(stderr, "expected exit %d\n", status);
		show(args, &r);
	}
	CHECK_EQ(r.status, status);
	return r;
}

static void expect_in(const struct res *r, const char *text, const char *needle)
{
	if (!strstr(text, needle)) {
		fprintf(stderr, "missing \"%s\" in:\n%s\n", needle, text);
		CHECK(strstr(text, needle) != NULL);
	}
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* A usage error or a bad file: exit 2, one line on stderr, nothing on stdout. */
static void expect_rejected(const char *args, const char *needle)
{
	struct res r = expect(args, 2);

	if (count_lines(r.err) != 1 || r.out[0] != '\0')
		show(args, &r);
	CHECK_EQ(count_lines(r.err), 1);
	CHECK(r.out[0] == '\0');
	if (needle)
		expect_in(&r, r.err, needle);
	res_free(&r);
}

/* The first failing seed of a corpus entry, from the library itself. */
static uint64_t failing_seed(const char *name)
{
	const asup_corpus_entry *e = asup_corpus_find(name);
	asup_lab_config cfg;
	asup_lab_sweep sw;

	CHECK(e != NULL && e->buggy);
	asup_corpus_config(e, 1, &cfg);
	CHECK_EQ(asup_lab_explore(&e->sc, &cfg, 1, e->seeds, 1, &sw), 0);
	CHECK(sw.failures > 0);
	return sw.first_failing_seed;
}

static void write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	CHECK(f != NULL);
	CHECK(fwrite(p, 1, n, f) == n);
	CHECK(fclose(f) == 0);
}

/* ---- a JSON well-formedness checker -------------------------------------- */

struct json {
	const char *p;
	int depth;
};

static void ws(struct json *j)
{
	while (*j->p == ' ' || *j->p == '\n' || *j->p == '\t' || *j->p == '\r')
		j->p++;
}

static int value(struct json *j);

static int string(struct json *j)
{
	if (*j->p++ != '"')
		return 0;
	for (;;) {
		unsigned char c = (unsigned char)*j->p++;
		if (c == '"')
			return 1;
		if (c < 0x20)
			return 0; /* includes the terminating NUL */
		if (c == '\\') {
			c = (unsigned char)*j->p++;
			if (c == 'u') {
				for (int i = 0; i < 4; i++)
					if (!isxdigit((unsigned char)*j->p++))
						return 0;
			} else if (!strchr("\"\\/bfnrt", c) || c == 0) {
				return 0;
			}
		}
	}
}

static int number_(struct json *j)
{
	const char *s = j->p;

	if (*j->p == '-')
		j->p++;
	if (*j->p == '0')
		j->p++;
	else if (isdigit((unsigned char)*j->p))
		while (isdigit((unsigned char)*j->p))
			j->p++;
	else
		return 0;
	if (*j->p == '.') {
		j->p++;
		if (!isdigit((unsigned char)*j->p))
			return 0;
		while (isdigit((unsigned char)*j->p))
			j->p++;
	}
	if (*j->p == 'e' || *j->p == 'E') {
		j->p++;
		if (*j->p == '+' || *j->p == '-')
			j->p++;
		if (!isdigit((unsigned char)*j->p))
			return 0;
		while (isdigit((unsigned char)*j->p))
			j->p++;
	}
	return j->p > s;
}

/* An object or array: open, members (key ':' value for objects), close. */
static int compound(struct json *j, char open, char close)
{
	if (*j->p++ != open || ++j->depth > 64)
		return 0;
	ws(j);
	if (*j->p == close) {
		j->p++;
		j->depth--;
		return 1;
	}
	for (;;) {
		ws(j);
		if (open == '{') {
			if (!string(j))
				return 0;
			ws(j);
			if (*j->p++ != ':')
				return 0;
		}
		if (!value(j))
			return 0;
		ws(j);
		if (*j->p == ',') {
			j->p++;
			continue;
		}
		if (*j->p++ != close)
			return 0;
		j->depth--;
		return 1;
	}
}

static int value(struct json *j)
{
	ws(j);
	switch (*j->p) {
	case '{':
		return compound(j, '{', '}');
	case '[':
		return compound(j, '[', ']');
	case '"':
		return string(j);
	case 't':
		return strncmp(j->p, "true", 4) == 0 ? (j->p += 4, 1) : 0;
	case 'f':
		return strncmp(j->p, "false", 5) == 0 ? (j->p += 5, 1) : 0;
	case 'n':
		return strncmp(j->p, "null", 4) == 0 ? (j->p += 4, 1) : 0;
	default:
		return number_(j);
	}
}

/* 1 if s is exactly one JSON value (surrounding white space allowed). */
static int json_ok(const char *s)
{
	struct json j = {s, 0};

	if (!value(&j))
		return 0;
	ws(&j);
	return *j.p == '\0';
}

TEST(cli_json_checker)
{
	/* The checker itself, so that the export cases can fail. */
	CHECK(json_ok("{\"a\":[1,2.5,-3e2,true,false,null,\"x\\n\\u00e9\"],\"b\":{}}"));
	CHECK(json_ok(" [ ] \n"));
	CHECK(!json_ok("{\"a\":1,}"));
	CHECK(!json_ok("{\"a\" 1}"));
	CHECK(!json_ok("[1 2]"));
	CHECK(!json_ok("{\"a\":01}"));
	CHECK(!json_ok("\"unterminated"));
	CHECK(!json_ok("{} {}"));
	CHECK(!json_ok("[1,"));
	CHECK(!json_ok(""));
	CHECK(!json_ok("{\"a\":\"\\x\"}"));
}

/* ---- help and list -------------------------------------------------------- */

TEST(cli_help)
{
	static const char *const cmds[] = {"list",   "run",    "explore", "inject",
	                                   "replay", "digest", "export",  "help"};
	struct res r = expect("--help", 0);

	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		char word[32];
		snprintf(word, sizeof word, "  %s", cmds[i]);
		expect_in(&r, r.out, word);
	}
	expect_in(&r, r.out, "--seed");
	expect_in(&r, r.out, "exit status");
	res_free(&r);
	r = expect("help", 0);
	expect_in(&r, r.out, "replay FILE");
	res_free(&r);
	r = expect("help replay", 0);
	expect_in(&r, r.out, "usage: asup-lab replay FILE");
	res_free(&r);
	r = expect("run --help", 0);
	expect_in(&r, r.out, "--record FILE");
	res_free(&r);
	r = expect("export lock_order --seed 3 -h", 0);
	expect_in(&r, r.out, "--perfetto");
	res_free(&r);
	/* No command at all: the usage, on stderr, and a usage error. */
	r = expect("", 2);
	expect_in(&r, r.err, "usage: asup-lab COMMAND");
	res_free(&r);
	expect_rejected("help nosuch", "no command named 'nosuch'");
}

TEST(cli_list)
{
	size_t n;
	const asup_corpus_entry *e = asup_corpus_list(&n);
	struct res r = expect("list", 0);

	CHECK(n >= 2);
	CHECK_EQ(count_lines(r.out), n);
	for (size_t i = 0; i < n; i++)
		expect_in(&r, r.out, e[i].sc.name);
	expect_in(&r, r.out, "lock_order_fixed");
	res_free(&r);
}

/* ---- run, explore, inject ------------------------------------------------- */

TEST(cli_run_passing)
{
	struct res r = expect("run lock_order_fixed --seed 4", 0);
	const char *d;

	expect_in(&r, r.out, "lock_order_fixed seed 4: passed");
	expect_in(&r, r.out, "outcome: ok");
	expect_in(&r, r.out, "violations: 0");
	d = strstr(r.out, "digest: ");
	CHECK(d != NULL);
	for (int i = 0; i < 32; i++)
		CHECK(isxdigit((unsigned char)d[8 + i]));
	res_free(&r);
	/* --opt=value works as well, and the largest seed is a seed. */
	r = expect("run lock_order_fixed --seed=18446744073709551615 --workers=3", 0);
	expect_in(&r, r.out, "seed 18446744073709551615: passed");
	res_free(&r);
}

TEST(cli_run_failing)
{
	const asup_corpus_entry *e = asup_corpus_find("lock_order");
	char args[128];
	struct res r;

	snprintf(args, sizeof args, "run lock_order --seed %" PRIu64, failing_seed("lock_order"));
	r = expect(args, 1);
	expect_in(&r, r.out, "FAILED");
	expect_in(&r, r.out, e->oracle); /* the oracle's name, "deadlock" */
	expect_in(&r, r.out, "blocked forever");
	res_free(&r);
}

TEST(cli_explore)
{
	uint64_t seed = failing_seed("lock_order");
	char want[96], *rerun, *nl;
	struct res r = expect("explore lock_order --seeds 20", 1);
	struct res again;

	snprintf(want, sizeof want, "first failing seed: %" PRIu64 "\n", seed);
	expect_in(&r, r.out, want);
	expect_in(&r, r.out, "deadlock");
	expect_in(&r, r.out, "distinct digests: ");
	/* The printed command line reruns exactly that failure. */
	rerun = strstr(r.out, "rerun: ");
	CHECK(rerun != NULL);
	rerun += strlen("rerun: ");
	nl = strchr(rerun, '\n');
	CHECK(nl != NULL);
	*nl = '\0';
	snprintf(want, sizeof want, " run lock_order --seed %" PRIu64, seed);
	expect_in(&r, rerun, want);
	CHECK(strncmp(rerun, ASUP_LAB_CLI, strlen(ASUP_LAB_CLI)) == 0);
	again = expect(rerun + strlen(ASUP_LAB_CLI), 1);
	expect_in(&again, again.out, "deadlock");
	res_free(&again);
	res_free(&r);

	/* --all goes on past the first failure; the fixed twin never fails. */
	r = expect("explore lock_order --seeds 20 --all", 1);
	expect_in(&r, r.out, "runs: 20\n");
	res_free(&r);
	r = expect("explore lock_order_fixed --seeds 20 --from 5 --workers 2", 0);
	expect_in(&r, r.out, "seeds 5..24");
	expect_in(&r, r.out, "failures: 0\n");
	res_free(&r);
}

TEST(cli_inject)
{
	struct res r = expect("inject lock_order_fixed --seed 2", 0);

	expect_in(&r, r.out, "failures: 0\n");
	CHECK(strstr(r.out, "runs: 0\n") == NULL);
	res_free(&r);
	/* A seed that fails without any cancel says so and exits 1. */
	{
		char args[96];
		snprintf(args, sizeof args, "inject lock_order --seed %" PRIu64,
		         failing_seed("lock_order"));
		r = expect(args, 1);
		expect_in(&r, r.out, "fails without any injection");
		res_free(&r);
	}
}

/* ---- record and replay ---------------------------------------------------- */

/* Records a run into dir/name and returns its bytes (malloc'd). */
static uint8_t *record(const char *name, const char *run_args, int status, size_t *len)
{
	char args[256];
	struct res r;

	snprintf(args, sizeof args, "run %s --record '%s'", run_args, path_in(name));
	r = expect(args, status);
	res_free(&r);
	return (uint8_t *)slurp(path_in(name), len);
}

TEST(cli_record_replay)
{
	char args[192];
	size_t len;
	struct res r;
	uint8_t *buf = record("pass.lab", "lock_order_fixed --seed 3 --workers 2", 0, &len);

	CHECK(len > RECF_MIN);
	snprintf(args, sizeof args, "replay '%s'", path_in("pass.lab"));
	r = expect(args, 0);
	expect_in(&r, r.out, "identical");
	expect_in(&r, r.out, "lock_order_fixed seed 3, 2 worker(s)");
	res_free(&r);
	free(buf);

	/* A failing run replays identically, failing the same way: exit 1. */
	snprintf(args, sizeof args, "lock_order --seed %" PRIu64, failing_seed("lock_order"));
	buf = record("fail.lab", args, 1, &len);
	snprintf(args, sizeof args, "replay '%s'", path_in("fail.lab"));
	r = expect(args, 1);
	expect_in(&r, r.out, "identical");
	expect_in(&r, r.out, "deadlock");
	res_free(&r);
	free(buf);
}

TEST(cli_replay_divergence)
{
	char args[192];
	size_t len;
	struct res r;
	uint8_t *buf;

	/* The fixed twin at a seed where the buggy one deadlocks, its recording
	 * then said to be of the buggy one: the program changed under the
	 * recording, and the replay finds the first step that differs. (At a
	 * seed where the locks never contend the two traces are the same.) */
	snprintf(args, sizeof args, "lock_order_fixed --seed %" PRIu64, failing_seed("lock_order"));
	buf = record("fixed.lab", args, 0, &len);
	memset(buf + RECF_NAME, 0, 32);
	memcpy(buf + RECF_NAME, "lock_order", 10);
	recf_fix_check(buf, len);
	write_file(path_in("renamed.lab"), buf, len);
	snprintf(args, sizeof args, "replay '%s'", path_in("renamed.lab"));
	r = expect(args, 1);
	expect_in(&r, r.out, "diverged at step ");
	res_free(&r);
	free(buf);
}

TEST(cli_replay_bad_files)
{
	char args[192];
	size_t len;
	uint8_t *buf = record("good.lab", "lock_order_fixed --seed 2", 0, &len);
	const size_t cuts[] = {0, 1, 8, 100, len / 2, len - 24, len - 1};

	/* One byte changed in the middle: the check value catches it. */
	buf[len / 2] ^= 0x10;
	write_file(path_in("corrupt.lab"), buf, len);
	buf[len / 2] ^= 0x10;
	snprintf(args, sizeof args, "replay '%s'", path_in("corrupt.lab"));
	expect_rejected(args, "check value");
	/* Truncated anywhere. */
	for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
		write_file(path_in("cut.lab"), buf, cuts[i]);
		snprintf(args, sizeof args, "replay '%s'", path_in("cut.lab"));
		expect_rejected(args, "truncated");
	}
	/* Missing, a directory, random bytes. */
	snprintf(args, sizeof args, "replay '%s'", path_in("missing.lab"));
	expect_rejected(args, "No such file");
	snprintf(args, sizeof args, "replay '%s'", dir);
	expect_rejected(args, "not a regular file");
	{
		uint8_t junk[512];
		for (size_t i = 0; i < sizeof junk; i++)
			junk[i] = (uint8_t)(i * 131 + 7);
		write_file(path_in("junk.lab"), junk, sizeof junk);
		snprintf(args, sizeof args, "replay '%s'", path_in("junk.lab"));
		expect_rejected(args, "bad magic");
	}
	/* Too large to be a recording: refused before it is read (a sparse
	 * file, so this costs no disk). */
	{
		int fd = open(path_in("huge.lab"), O_CREAT | O_TRUNC | O_WRONLY, 0600);
		CHECK(fd >= 0);
		CHECK(ftruncate(fd, (off_t)300 << 20) == 0);
		close(fd);
		snprintf(args, sizeof args, "replay '%s'", path_in("huge.lab"));
		expect_rejected(args, "too large");
		unlink(path_in("huge.lab"));
	}
	/* Well-formed, but of a scenario this build does not have. */
	memset(buf + RECF_NAME, 0, 32);
	memcpy(buf + RECF_NAME, "no_such\x01scenario", 16);
	recf_fix_check(buf, len);
	write_file(path_in("other.lab"), buf, len);
	snprintf(args, sizeof args, "replay '%s'", path_in("other.lab"));
	expect_rejected(args, "'no_such?scenario', which is not registered");
	/* A config the lab would refuse (storms of at most 0 tasks) is corrupt. */
	memcpy(buf + RECF_NAME, "lock_order_fixed", 17);
	recf_put(buf, RECF_CHAOS + 8, 4, 1000);
	recf_put(buf, RECF_CHAOS + 12, 4, 0);
	recf_fix_check(buf, len);
	write_file(path_in("badcfg.lab"), buf, len);
	snprintf(args, sizeof args, "replay '%s'", path_in("badcfg.lab"));
	expect_rejected(args, "storm size");
	free(buf);
	expect_rejected("replay", "missing FILE");
}

/* ---- bad arguments --------------------------------------------------------- */

TEST(cli_bad_arguments)
{
	expect_rejected("frobnicate", "unknown command 'frobnicate'");
	expect_rejected("run no_such_scenario", "unknown scenario 'no_such_scenario'");
	expect_rejected("digest no_such_scenario --seed 2", "unknown scenario");
	expect_rejected("run lock_order --sed 3", "unknown option '--sed'");
	expect_rejected("run lock_order --sed=3", "unknown option '--sed'");
	expect_rejected("run", "missing SCENARIO");
	expect_rejected("run lock_order lock_order_fixed", "unexpected argument");
	expect_rejected("list extra", "unexpected argument");
	/* Numbers: digits only, in range, present. */
	expect_rejected("run lock_order --seed 12x", "'12x' is not a non-negative decimal");
	expect_rejected("run lock_order --seed -1", "'-1' is not");
	expect_rejected("run lock_order --seed +1", "'+1' is not");
	expect_rejected("run lock_order --seed ' 1'", "is not");
	expect_rejected("run lock_order --seed ''", "is not");
	expect_rejected("run lock_order --seed 0x10", "is not");
	expect_rejected("run lock_order --seed 18446744073709551616", "out of range");
	expect_rejected("run lock_order --seed 99999999999999999999999", "out of range");
	expect_rejected("run lock_order --seed", "--seed needs a value");
	expect_rejected("run lock_order --workers 0", "out of range (1 .. 64)");
	expect_rejected("run lock_order --workers 65", "out of range");
	expect_rejected("run lock_order --inject-at 4294967296", "out of range");
	expect_rejected("explore lock_order --seeds 0", "out of range");
	expect_rejected("explore lock_order --from 18446744073709551615 --seeds 2",
	                "past the largest seed");
	expect_rejected("run lock_order --chaos medium", "off, light or heavy");
	expect_rejected("run lock_order --seed 1 --seed 2", "given twice");
	expect_rejected("explore lock_order --all=yes", "takes no value");
	/* Options belong to their commands. */
	expect_rejected("explore lock_order --seed 3", "unknown option '--seed'");
	expect_rejected("inject lock_order --inject-at 3", "unknown option");
	expect_rejected("run lock_order --virtual-time", "unknown option");
	/* export needs exactly one format. */
	expect_rejected("export lock_order", "--perfetto or --jsonl");
	expect_rejected("export lock_order --perfetto --jsonl", "--perfetto or --jsonl");
	expect_rejected("export lock_order --jsonl --virtual-time", "--virtual-time");
	expect_rejected("export lock_order --jsonl -o", "-o needs a value");
}

/* ---- digest ---------------------------------------------------------------- */

static void digest_of(uint64_t seed, char hex[33])
{
	char args[96];
	struct res r;

	snprintf(args, sizeof args, "digest lock_order --seed %" PRIu64, seed);
	r = expect(args, 0);
	CHECK_EQ(strlen(r.out), 33);
	CHECK(r.out[32] == '\n');
	for (int i = 0; i < 32; i++)
		CHECK(isxdigit((unsigned char)r.out[i]));
	memcpy(hex, r.out, 32);
	hex[32] = '\0';
	res_free(&r);
}

TEST(cli_digest)
{
	const asup_corpus_entry *e = asup_corpus_find("lock_order");
	char a[33], b[33], lib[33];
	int distinct = 0;
	asup_lab_config cfg;
	asup_lab_result res;
	struct res r;

	/* Stable across invocations, and the library's own digest of the run. */
	digest_of(2, a);
	digest_of(2, b);
	CHECK_STR_EQ(a, b);
	asup_corpus_config(e, 2, &cfg);
	CHECK_EQ(asup_lab_run_scenario(&e->sc, &cfg, &res), 0);
	for (int i = 0; i < 16; i++)
		snprintf(lib + 2 * i, 3, "%02x", res.digest[i]);
	CHECK_STR_EQ(a, lib);
	/* The same digest as run prints. */
	r = expect("run lock_order --seed 2", res.failed ? 1 : 0);
	expect_in(&r, r.out, a);
	res_free(&r);
	/* Seeds that schedule differently give different digests. */
	for (uint64_t s = 3; s <= 8; s++) {
		digest_of(s, b);
		distinct += strcmp(a, b) != 0;
	}
	CHECK(distinct > 0);
	/* A failing run still has a digest (exit 0: the digest was printed). */
	digest_of(failing_seed("lock_order"), b);
}

/* ---- export ---------------------------------------------------------------- */

TEST(cli_export_perfetto)
{
	char args[192];
	struct res r;
	char *json;

	snprintf(args, sizeof args, "export lock_order_fixed --seed 2 --perfetto -o '%s'",
	         path_in("trace.json"));
	r = expect(args, 0);
	expect_in(&r, r.out, "events written to");
	res_free(&r);
	json = slurp(path_in("trace.json"), NULL);
	CHECK(json_ok(json));
	CHECK(strstr(json, "\"traceEvents\"") != NULL);
	CHECK(strstr(json, "\"ph\":\"B\"") != NULL); /* task slices */
	free(json);
	/* To stdout, with virtual timestamps. */
	r = expect("export lock_order --seed 2 --perfetto --virtual-time", 0);
	CHECK(json_ok(r.out));
	CHECK(strstr(r.out, "\"traceEvents\"") != NULL);
	res_free(&r);
	/* An output that cannot be opened: exit 1 and why. */
	r = expect("export lock_order --perfetto -o /nonexistent/dir/trace.json", 1);
	expect_in(&r, r.err, "cannot write /nonexistent/dir/trace.json");
	res_free(&r);
}

/* Every line of s is one JSON object; returns the number of lines. */
static int jsonl_lines(char *s)
{
	int n = 0;

	for (char *line = s, *nl; *line; line = nl + 1, n++) {
		nl = strchr(line, '\n');
		CHECK(nl != NULL); /* the last line ends too */
		*nl = '\0';
		if (line[0] != '{' || !json_ok(line))
			fprintf(stderr, "line %d is not a JSON object: %s\n", n + 1, line);
		CHECK(line[0] == '{' && json_ok(line));
		CHECK(strstr(line, "\"type\":") != NULL);
	}
	return n;
}

TEST(cli_export_jsonl)
{
	char args[192];
	struct res r;
	char *text;
	uint64_t events;
	int n;

	snprintf(args, sizeof args, "export lock_order --seed 3 --jsonl -o '%s'",
	         path_in("trace.jsonl"));
	r = expect(args, 0);
	CHECK(sscanf(strstr(r.out, ": ") + 2, "%" SCNu64 " events", &events) == 1);
	res_free(&r);
	text = slurp(path_in("trace.jsonl"), NULL);
	n = jsonl_lines(text);
	CHECK(n > 10);
	CHECK_EQ(n, events);
	free(text);
	/* run writes both traces beside its report. */
	snprintf(args, sizeof args, "run lock_order_fixed --jsonl '%s' --perfetto '%s'",
	         path_in("run.jsonl"), path_in("run.json"));
	r = expect(args, 0);
	expect_in(&r, r.out, "passed");
	res_free(&r);
	text = slurp(path_in("run.jsonl"), NULL);
	CHECK(jsonl_lines(text) > 10);
	free(text);
	text = slurp(path_in("run.json"), NULL);
	CHECK(json_ok(text));
	free(text);
}
