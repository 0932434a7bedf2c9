/*
 * asup-lab: the lab runtime from the command line. Runs the registered
 * scenarios (tests/lab/scenarios/corpus.h) at a seed, sweeps seeds, injects
 * cancellation at every checkpoint, replays recordings step for step, and
 * exports traces for Perfetto or as JSON lines.
 *
 * Flow: main picks a command from the table, parse() checks every argument
 * against the options that command allows (one positional: the scenario or
 * the file), and the command's function runs with the parsed arguments.
 *
 * Exit status, for every command: 0 the run passed (or the replay was
 * identical, or the output was written); 1 the run failed or diverged, or
 * an output file could not be written; 2 a usage error or a bad recording.
 * Every message about bad input is one line on stderr; no input can make it
 * crash (recordings are checked by the library's decoder, and the file is
 * checked for size and kind before it is read).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "corpus.h"

#define EXIT_PASS  0
#define EXIT_FAIL  1
#define EXIT_USAGE 2
#define ASKED_HELP (-1) /* parse(): --help among a command's arguments */

/* Events an export keeps: enough for every corpus scenario; a longer run
 * exports its last ones and says so. */
#define EXPORT_CAPACITY (1u << 20)
/* A recording above this size is refused before it is read (over ten
 * million steps: far past any run's step limit in practice). */
#define RECORDING_MAX_BYTES ((off_t)256 << 20)

static const char *prog = "asup-lab";    /* in messages: argv[0]'s last component */
static const char *invoked = "asup-lab"; /* in rerun hints: argv[0] as given */

/* ---- options ----------------------------------------------------------- */

enum opt_id {
	O_SEED = 1u << 0,
	O_WORKERS = 1u << 1,
	O_CHAOS = 1u << 2,
	O_INJECT_AT = 1u << 3,
	O_MAX_STEPS = 1u << 4,
	O_RECORD = 1u << 5,
	O_JSONL_FILE = 1u << 6, /* run: --jsonl FILE */
	O_PERFETTO_FILE = 1u << 7,
	O_SEEDS = 1u << 8,
	O_FROM = 1u << 9,
	O_ALL = 1u << 10,
	O_JSONL = 1u << 11, /* export: --jsonl (a format) */
	O_PERFETTO = 1u << 12,
	O_OUT = 1u << 13,
	O_VIRTUAL_TIME = 1u << 14,
};

#define O_CONFIG (O_SEED | O_WORKERS | O_CHAOS | O_INJECT_AT | O_MAX_STEPS)

struct opt {
	const char *name;
	unsigned id;
	int takes_value;
};

/* Two entries may share a name (--jsonl); a command allows only one of them. */
static const struct opt opts[] = {
    {"--seed", O_SEED, 1},
    {"--workers", O_WORKERS, 1},
    {"--chaos", O_CHAOS, 1},
    {"--inject-at", O_INJECT_AT, 1},
    {"--max-steps", O_MAX_STEPS, 1},
    {"--record", O_RECORD, 1},
    {"--jsonl", O_JSONL_FILE, 1},
    {"--perfetto", O_PERFETTO_FILE, 1},
    {"--seeds", O_SEEDS, 1},
    {"--from", O_FROM, 1},
    {"--all", O_ALL, 0},
    {"--jsonl", O_JSONL, 0},
    {"--perfetto", O_PERFETTO, 0},
    {"-o", O_OUT, 1},
    {"--output", O_OUT, 1},
    {"--virtual-time", O_VIRTUAL_TIME, 0},
};

enum chaos_level { CHAOS_DEFAULT, CHAOS_OFF, CHAOS_LIGHT, CHAOS_HEAVY };

struct args {
	const char *cmd;
	const char *pos; /* the scenario, or the recording's path */
	unsigned given;  /* opt ids seen */
	uint64_t seed, seeds, from, max_steps;
	uint32_t workers, inject_at;
	enum chaos_level chaos;
	const char *chaos_text;
	const char *record, *jsonl, *perfetto, *out;
};

/* Parses s as a decimal in [min, max]: digits only (no sign, no spaces, no
 * suffix, no base prefix) and no overflow. 0, -EINVAL or -ERANGE. */
static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL; /* strtoull would take "-1", " 1" and "+1" */
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end != '\0')
		return -EINVAL;
	if (errno == ERANGE || v > max || v < min)
		return -ERANGE;
	*out = (uint64_t)v;
	return 0;
}

/* One line on stderr: "asup-lab CMD: message (see 'asup-lab help CMD')". */
static int usage_error(const struct args *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int usage_error(const struct args *a, const char *fmt, ...)
{
	const char *sp = a->cmd ? " " : "", *cmd = a->cmd ? a->cmd : "";
	va_list ap;

	fprintf(stderr, "%s%s%s: ", prog, sp, cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see '%s help%s%s')\n", prog, sp, cmd);
	return EXIT_USAGE;
}

/* A number option's value; on failure the message is out and it returns -1. */
static int number(const struct args *a, const char *opt, const char *v, uint64_t min, uint64_t max,
                  uint64_t *out)
{
	int rc = parse_u64(v, min, max, out);

	if (rc == -ERANGE)
		usage_error(a, "%s '%s' is out of range (%" PRIu64 " .. %" PRIu64 ")", opt, v, min,
		            max);
	else if (rc < 0)
		usage_error(a, "%s '%s' is not a non-negative decimal number", opt, v);
	return rc < 0 ? -1 : 0;
}

/* Stores one option's value. 0, or EXIT_USAGE (the message is out). */
static int set_opt(struct args *a, const struct opt *o, const char *v)
{
	uint64_t n;

	switch (o->id) {
	case O_SEED:
		return number(a, o->name, v, 0, UINT64_MAX, &a->seed) ? EXIT_USAGE : 0;
	case O_SEEDS:
		return number(a, o->name, v, 1, UINT64_MAX, &a->seeds) ? EXIT_USAGE : 0;
	case O_FROM:
		return number(a, o->name, v, 0, UINT64_MAX, &a->from) ? EXIT_USAGE : 0;
	case O_MAX_STEPS:
		return number(a, o->name, v, 1, UINT64_MAX, &a->max_steps) ? EXIT_USAGE : 0;
	case O_WORKERS:
		if (number(a, o->name, v, 1, 64, &n))
			return EXIT_USAGE;
		a->workers = (uint32_t)n;
		return 0;
	case O_INJECT_AT:
		if (number(a, o->name, v, 0, UINT32_MAX, &n))
			return EXIT_USAGE;
		a->inject_at = (uint32_t)n;
		return 0;
	case O_CHAOS:
		a->chaos_text = v;
		if (strcmp(v, "off") == 0)
			a->chaos = CHAOS_OFF;
		else if (strcmp(v, "light") == 0)
			a->chaos = CHAOS_LIGHT;
		else if (strcmp(v, "heavy") == 0)
			a->chaos = CHAOS_HEAVY;
		else
			return usage_error(a, "--chaos takes off, light or heavy, not '%s'", v);
		return 0;
	case O_RECORD:
		a->record = v;
		return 0;
	case O_JSONL_FILE:
		a->jsonl = v;
		return 0;
	case O_PERFETTO_FILE:
		a->perfetto = v;
		return 0;
	case O_OUT:
		a->out = v;
		return 0;
	default:
		return 0; /* flags: a->given says it all */
	}
}

static const struct opt *find_opt(const char *name, size_t len, unsigned allowed)
{
	for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
		if ((opts[i].id & allowed) && strlen(opts[i].name) == len &&
		    strncmp(opts[i].name, name, len) == 0)
			return &opts[i];
	return NULL;
}

/* Parses argv[i..argc) for command a->cmd: options in `allowed` ("--opt V"
 * or "--opt=V") and one positional (named `what`; none when NULL; required
 * unless `optional`). 0, ASKED_HELP, or EXIT_USAGE with the message out. */
static int parse(struct args *a, int i, int argc, char **argv, unsigned allowed, const char *what,
                 int optional)
{
	for (; i < argc; i++) {
		const char *arg = argv[i], *eq = strchr(arg, '=');
		const char *v = NULL;
		const struct opt *o;
		size_t len = eq && arg[0] == '-' ? (size_t)(eq - arg) : strlen(arg);

		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
			return ASKED_HELP;
		if (arg[0] != '-' || arg[1] == '\0') {
			if (!what || a->pos)
				return usage_error(a, "unexpected argument '%s'", arg);
			a->pos = arg;
			continue;
		}
		if (!(o = find_opt(arg, len, allowed)))
			return usage_error(a, "unknown option '%.*s'", (int)len, arg);
		if (o->takes_value) {
			if (eq)
				v = eq + 1;
			else if (i + 1 < argc)
				v = argv[++i];
			else
				return usage_error(a, "%s needs a value", o->name);
		} else if (eq) {
			return usage_error(a, "%s takes no value", o->name);
		}
		if (a->given & o->id)
			return usage_error(a, "%s given twice", o->name);
		a->given |= o->id;
		if (set_opt(a, o, v) != 0)
			return EXIT_USAGE;
	}
	if (what && !a->pos && !optional)
		return usage_error(a, "missing %s", what);
	return 0;
}

/* ---- building and running a lab ---------------------------------------- */

static const asup_corpus_entry *scenario(const struct args *a)
{
	const asup_corpus_entry *e = asup_corpus_find(a->pos);

	if (!e)
		fprintf(stderr, "%s %s: unknown scenario '%s' (see '%s list')\n", prog, a->cmd,
		        a->pos, prog);
	return e;
}

/* The entry's config at the chosen seed, with the options applied. 0, or
 * EXIT_USAGE (the message is out). */
static int make_config(const asup_corpus_entry *e, const struct args *a, asup_lab_config *cfg)
{
	const char *field;

	asup_corpus_config(e, a->seed, cfg);
	if (a->given & O_WORKERS)
		cfg->workers = a->workers;
	if (a->chaos == CHAOS_OFF)
		memset(&cfg->chaos, 0, sizeof cfg->chaos);
	else if (a->chaos == CHAOS_LIGHT)
		cfg->chaos = asup_lab_chaos_light();
	else if (a->chaos == CHAOS_HEAVY)
		cfg->chaos = asup_lab_chaos_heavy();
	if (a->given & O_INJECT_AT)
		cfg->inject_at = a->inject_at;
	if (a->given & O_MAX_STEPS)
		cfg->max_steps = a->max_steps;
	if (asup_lab_config_check(cfg, &field) < 0)
		return usage_error(a, "the options give an invalid lab config (%s)", field);
	return 0;
}

/* A finished run: the lab (owned by the caller), what asup_lab_run said,
 * and the verdict. */
struct run {
	asup_lab *lab;
	int rc;
	asup_outcome out;
	asup_lab_result res;
};

/* Creates a lab for cfg (following rep when not NULL) and runs e's root in
 * it. 0, or EXIT_FAIL with the message out (the lab could not be made). */
static int run_lab(const struct args *a, const asup_corpus_entry *e, const asup_lab_config *cfg,
                   const asup_lab_replay *rep, struct run *r)
{
	int rc;

	memset(r, 0, sizeof(*r));
	rc = asup_lab_create(cfg, &r->lab);
	if (rc == 0 && rep && (rc = asup_lab_follow(r->lab, rep)) < 0)
		asup_lab_destroy(r->lab);
	if (rc < 0) {
		fprintf(stderr, "%s %s: cannot set up the lab: %s\n", prog, a->cmd,
		        asup_strerror(rc));
		r->lab = NULL;
		return EXIT_FAIL;
	}
	r->rc = asup_lab_run(r->lab, e->sc.root, e->sc.arg, &r->out);
	asup_lab_result_get(r->lab, r->rc, &r->out, &r->res);
	return 0;
}

static void outcome_text(const asup_outcome *o, char *buf, size_t n)
{
	switch (o->kind) {
	case ASUP_OUTCOME_OK:
		snprintf(buf, n, "ok (%" PRId64 ")", o->value);
		break;
	case ASUP_OUTCOME_ERR:
		snprintf(buf, n, "err (%" PRId64 ": %s)", o->value,
		         o->value >= INT32_MIN ? asup_err_name((int)o->value) : "?");
		break;
	case ASUP_OUTCOME_CANCELLED:
		snprintf(buf, n, "cancelled (%s%s%s)", asup_cancel_kind_name(o->reason.kind),
		         o->reason.message[0] ? ": " : "", o->reason.message);
		break;
	default:
		snprintf(buf, n, "panicked: %s", o->panic_msg);
		break;
	}
}

/* Why a failed result failed, in one line (the first violation, else the
 * run's error, else the root's outcome). */
static void failure_text(const asup_lab_result *r, char *buf, size_t n)
{
	char o[200];

	if (r->violations)
		snprintf(buf, n, "%s: %s (step %" PRIu64 ")", r->first.oracle, r->first.message,
		         r->first.step);
	else if (r->rc)
		snprintf(buf, n, "run: %s (%s)", asup_err_name(r->rc), asup_strerror(r->rc));
	else {
		outcome_text(&r->outcome, o, sizeof o);
		snprintf(buf, n, "root: %s", o);
	}
}

/* The result block of run and replay: verdict, outcome, steps, digest,
 * violations. */
static void print_result(const char *name, const asup_lab_config *cfg, const struct run *r)
{
	char o[200], hex[33];

	outcome_text(&r->out, o, sizeof o);
	asup_lab_digest_hex(r->lab, hex);
	printf("%s seed %" PRIu64 ": %s\n", name, cfg->seed, r->res.failed ? "FAILED" : "passed");
	printf("  outcome: %s\n", o);
	if (r->rc)
		printf("  run: %s (%s)\n", asup_err_name(r->rc), asup_strerror(r->rc));
	printf("  steps: %" PRIu64 "\n", r->res.steps);
	printf("  digest: %s\n", hex);
	printf("  violations: %" PRIu64 "\n", r->res.violations);
	if (r->res.stopped)
		printf("  stopped: at the first violation (step %" PRIu64 "); what the stop left"
		       " unfinished is not reported\n",
		       r->res.first.step);
	fflush(stdout);
	asup_lab_violations_print(r->lab, stdout);
}

/* Writes the lab's trace to path (or stdout for NULL). 0 or EXIT_FAIL. */
static int write_trace(const struct args *a, asup_lab *lab, const char *path, int chrome, int vt)
{
	FILE *f = path ? fopen(path, "w") : stdout;
	int rc;

	if (!f) {
		fprintf(stderr, "%s %s: cannot write %s: %s\n", prog, a->cmd, path,
		        strerror(errno));
		return EXIT_FAIL;
	}
	rc = chrome ? asup_lab_export_chrome(lab, f, vt) : asup_lab_export_jsonl(lab, f);
	if (path && fclose(f) != 0 && rc == 0)
		rc = -EIO;
	if (rc < 0) {
		fprintf(stderr, "%s %s: writing %s failed: %s\n", prog, a->cmd,
		        path ? path : "the trace", asup_strerror(rc));
		return EXIT_FAIL;
	}
	if (asup_lab_event_count(lab) > EXPORT_CAPACITY)
		fprintf(stderr,
		        "%s %s: warning: the run had %" PRIu64 " events; %s holds the last %u\n",
		        prog, a->cmd, asup_lab_event_count(lab), path ? path : "the output",
		        EXPORT_CAPACITY);
	return 0;
}

/* Prints argv[0] so that a shell reads it back as one word. */
static void print_word(const char *w)
{
	if (w[strspn(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-+")]) {
		putchar('\'');
		for (; *w; w++)
			*w == '\'' ? fputs("'\\''", stdout) : putchar(*w);
		putchar('\'');
	} else {
		fputs(w, stdout);
	}
}

/* The command line that reruns one run of a sweep: this program as it was
 * invoked, the seed, the injection point (0: none), and the options that
 * shaped the sweep's runs. */
static void print_rerun(const struct args *a, const char *name, uint64_t seed, uint64_t inject_at)
{
	fputs("rerun: ", stdout);
	print_word(invoked);
	printf(" run %s --seed %" PRIu64, name, seed);
	if (inject_at)
		printf(" --inject-at %" PRIu64, inject_at);
	else if (a->given & O_INJECT_AT)
		printf(" --inject-at %" PRIu32, a->inject_at);
	if (a->given & O_WORKERS)
		printf(" --workers %" PRIu32, a->workers);
	if (a->given & O_CHAOS)
		printf(" --chaos %s", a->chaos_text);
	if (a->given & O_MAX_STEPS)
		printf(" --max-steps %" PRIu64, a->max_steps);
	putchar('\n');
}

/* ---- commands ---------------------------------------------------------- */

static int cmd_list(struct args *a)
{
	size_t n;
	const asup_corpus_entry *e = asup_corpus_list(&n);

	(void)a;
	for (size_t i = 0; i < n; i++)
		printf("%-24s %-5s %s\n", e[i].sc.name, e[i].buggy ? "bug" : "ok", e[i].sc.about);
	return EXIT_PASS;
}

static int cmd_run(struct args *a)
{
	const asup_corpus_entry *e;
	asup_lab_config cfg;
	struct run r;
	int rc, status;

	if (!(e = scenario(a)))
		return EXIT_USAGE;
	if (a->record && strlen(e->sc.name) >= 32)
		return usage_error(a, "scenario name '%s' is too long to record", e->sc.name);
	if ((rc = make_config(e, a, &cfg)) != 0)
		return rc;
	if (a->jsonl || a->perfetto)
		cfg.trace_capacity = EXPORT_CAPACITY;
	if ((rc = run_lab(a, e, &cfg, NULL, &r)) != 0)
		return rc;
	print_result(e->sc.name, &cfg, &r);
	status = r.res.failed ? EXIT_FAIL : EXIT_PASS;
	if (a->record && (rc = asup_lab_save(r.lab, a->record, e->sc.name)) < 0) {
		fprintf(stderr, "%s run: cannot record to %s: %s\n", prog, a->record,
		        asup_strerror(rc));
		status = EXIT_FAIL;
	}
	if (a->jsonl && write_trace(a, r.lab, a->jsonl, 0, 0) != 0)
		status = EXIT_FAIL;
	if (a->perfetto && write_trace(a, r.lab, a->perfetto, 1, 0) != 0)
		status = EXIT_FAIL;
	asup_lab_destroy(r.lab);
	return status;
}

static int cmd_digest(struct args *a)
{
	const asup_corpus_entry *e;
	asup_lab_config cfg;
	struct run r;
	char hex[33];
	int rc;

	if (!(e = scenario(a)))
		return EXIT_USAGE;
	if ((rc = make_config(e, a, &cfg)) != 0 || (rc = run_lab(a, e, &cfg, NULL, &r)) != 0)
		return rc;
	asup_lab_digest_hex(r.lab, hex);
	printf("%s\n", hex);
	asup_lab_destroy(r.lab);
	return EXIT_PASS;
}

static int cmd_export(struct args *a)
{
	const asup_corpus_entry *e;
	asup_lab_config cfg;
	struct run r;
	int rc, chrome = (a->given & O_PERFETTO) != 0;

	if (!(a->given & (O_PERFETTO | O_JSONL)) || (a->given & O_PERFETTO && a->given & O_JSONL))
		return usage_error(a, "give one format: --perfetto or --jsonl");
	if ((a->given & O_VIRTUAL_TIME) && !chrome)
		return usage_error(a, "--virtual-time goes with --perfetto");
	if (!(e = scenario(a)))
		return EXIT_USAGE;
	if ((rc = make_config(e, a, &cfg)) != 0)
		return rc;
	cfg.trace_capacity = EXPORT_CAPACITY;
	if ((rc = run_lab(a, e, &cfg, NULL, &r)) != 0)
		return rc;
	rc = write_trace(a, r.lab, a->out, chrome, (a->given & O_VIRTUAL_TIME) != 0);
	if (rc == 0 && a->out)
		printf("%s seed %" PRIu64 ": %" PRIu64 " events written to %s (%s)\n", e->sc.name,
		       cfg.seed, asup_lab_event_count(r.lab), a->out,
		       chrome ? "Chrome trace-event JSON" : "JSON lines");
	asup_lab_destroy(r.lab);
	return rc;
}

/* The lines after a sweep's counts: the first failure and how to rerun it. */
static void print_failure(const char *what, uint64_t key, const asup_lab_result *r)
{
	char why[256];

	failure_text(r, why, sizeof why);
	printf("first failing %s: %" PRIu64 "\n", what, key);
	printf("  %s\n", why);
}

static int cmd_explore(struct args *a)
{
	const asup_corpus_entry *e;
	asup_lab_config cfg;
	asup_lab_sweep sw;
	uint64_t from = a->given & O_FROM ? a->from : 1, n = a->given & O_SEEDS ? a->seeds : 100;
	int rc;

	if (!(e = scenario(a)))
		return EXIT_USAGE;
	if (from > UINT64_MAX - (n - 1))
		return usage_error(
		    a, "--from %" PRIu64 " with --seeds %" PRIu64 " runs past the largest seed",
		    from, n);
	a->seed = from;
	if ((rc = make_config(e, a, &cfg)) != 0)
		return rc;
	rc = asup_lab_explore(&e->sc, &cfg, from, n, !(a->given & O_ALL), &sw);
	if (rc < 0) {
		fprintf(stderr, "%s explore: the sweep stopped: %s\n", prog, asup_strerror(rc));
		return EXIT_FAIL;
	}
	printf("%s: seeds %" PRIu64 "..%" PRIu64 ", %" PRIu32 " worker(s)\n", e->sc.name, from,
	       from + (n - 1), cfg.workers);
	printf("  runs: %" PRIu64 "\n", sw.runs);
	printf("  failures: %" PRIu64 "%s\n", sw.failures,
	       sw.failures && sw.runs < n ? " (stopped at the first; --all goes on)" : "");
	printf("  distinct digests: %" PRIu64 "\n", sw.distinct);
	if (!sw.failures)
		return EXIT_PASS;
	print_failure("seed", sw.first_failing_seed, &sw.first_failure);
	print_rerun(a, e->sc.name, sw.first_failing_seed, 0);
	return EXIT_FAIL;
}

static int cmd_inject(struct args *a)
{
	const asup_corpus_entry *e;
	asup_lab_config cfg;
	asup_lab_sweep sw;
	int rc;

	if (!(e = scenario(a)))
		return EXIT_USAGE;
	if ((rc = make_config(e, a, &cfg)) != 0)
		return rc;
	rc = asup_lab_inject_sweep(&e->sc, &cfg, &sw);
	if (rc < 0) {
		fprintf(stderr, "%s inject: the sweep stopped: %s\n", prog, asup_strerror(rc));
		return EXIT_FAIL;
	}
	if (sw.failures && sw.runs == 0) {
		char why[256];
		failure_text(&sw.first_failure, why, sizeof why);
		printf("%s seed %" PRIu64 ": fails without any injection\n", e->sc.name, cfg.seed);
		printf("  %s\n", why);
		print_rerun(a, e->sc.name, cfg.seed, 0);
		return EXIT_FAIL;
	}
	printf("%s seed %" PRIu64 ": a cancel at each of %" PRIu64 " checkpoint(s)\n", e->sc.name,
	       cfg.seed, sw.runs);
	printf("  runs: %" PRIu64 "\n", sw.runs);
	printf("  failures: %" PRIu64 "\n", sw.failures);
	printf("  distinct digests: %" PRIu64 "\n", sw.distinct);
	if (!sw.failures)
		return EXIT_PASS;
	print_failure("checkpoint", sw.first_failing_seed, &sw.first_failure);
	print_rerun(a, e->sc.name, cfg.seed, sw.first_failing_seed);
	return EXIT_FAIL;
}

/* A recorded name for a message: printable ASCII, the rest as '?'. */
static void printable(const char *s, char *buf, size_t n)
{
	size_t i = 0;

	for (; s[i] && i + 1 < n; i++)
		buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	buf[i] = '\0';
}

/* Loads path as a recording. 0, or EXIT_USAGE with the message out. */
static int load_recording(const struct args *a, asup_lab_replay **rep)
{
	struct stat st;
	const char *why = NULL;
	int rc;

	if (stat(a->pos, &st) != 0) {
		fprintf(stderr, "%s replay: %s: %s\n", prog, a->pos, strerror(errno));
		return EXIT_USAGE;
	}
	if (!S_ISREG(st.st_mode)) {
		fprintf(stderr, "%s replay: %s: not a regular file\n", prog, a->pos);
		return EXIT_USAGE;
	}
	if (st.st_size > RECORDING_MAX_BYTES) {
		fprintf(stderr,
		        "%s replay: %s: too large for a recording (%lld bytes; at most %lld)\n",
		        prog, a->pos, (long long)st.st_size, (long long)RECORDING_MAX_BYTES);
		return EXIT_USAGE;
	}
	rc = asup_lab_replay_load(a->pos, rep, &why);
	if (rc < 0) {
		fprintf(stderr, "%s replay: %s: %s (%s)\n", prog, a->pos, why ? why : "cannot load",
		        asup_strerror(rc));
		return EXIT_USAGE;
	}
	return 0;
}

static int cmd_replay(struct args *a)
{
	const asup_corpus_entry *e;
	asup_lab_replay *rep;
	asup_lab_config cfg;
	struct run r;
	const char *field;
	char name[40];
	uint64_t at = 0;
	int rc, div;

	if ((rc = load_recording(a, &rep)) != 0)
		return rc;
	printable(asup_lab_replay_name(rep), name, sizeof name);
	asup_lab_replay_config(rep, &cfg);
	cfg.check_every_step = 1; /* as every run of this tool records */
	if (!(e = asup_corpus_find(asup_lab_replay_name(rep)))) {
		fprintf(stderr,
		        "%s replay: %s: records scenario '%s', which is not registered (see '%s "
		        "list')\n",
		        prog, a->pos, name, prog);
		rc = EXIT_USAGE;
	} else if (asup_lab_config_check(&cfg, &field) < 0) {
		fprintf(stderr, "%s replay: %s: the recorded config is invalid (%s)\n", prog,
		        a->pos, field);
		rc = EXIT_USAGE;
	} else {
		rc = run_lab(a, e, &cfg, rep, &r);
	}
	if (rc != 0) {
		asup_lab_replay_free(rep);
		return rc;
	}
	printf("replay %s: %s seed %" PRIu64 ", %" PRIu32 " worker(s), %" PRIu64
	       " steps recorded\n",
	       a->pos, name, cfg.seed, cfg.workers, asup_lab_replay_steps(rep));
	div = asup_lab_divergence(r.lab, &at);
	if (div) {
		printf("diverged at step %" PRIu64 " (from 0; %" PRIu64
		       " recorded); as replayed:\n",
		       at, asup_lab_replay_steps(rep));
		print_result(name, &cfg, &r);
		rc = EXIT_FAIL;
	} else {
		printf("identical: %" PRIu64 " steps, the same digest\n", r.res.steps);
		print_result(name, &cfg, &r);
		rc = r.res.failed ? EXIT_FAIL : EXIT_PASS;
	}
	asup_lab_destroy(r.lab);
	asup_lab_replay_free(rep);
	return rc;
}

/* ---- help and the command table ---------------------------------------- */

static int cmd_help(struct args *a);

struct command {
	const char *name;
	int (*fn)(struct args *a);
	unsigned allowed;
	const char *what; /* the positional argument, or NULL for none */
	int optional;     /* the positional may be left out */
	const char *synopsis;
	const char *about;
};

static const struct command commands[] = {
    {"list", cmd_list, 0, NULL, 0, "list",
     "Lists the registered scenarios: name, 'bug' (a planted bug) or 'ok', and what it does."},
    {"run", cmd_run, O_CONFIG | O_RECORD | O_JSONL_FILE | O_PERFETTO_FILE, "SCENARIO", 0,
     "run SCENARIO [--seed N] [--workers W] [--chaos off|light|heavy] [--inject-at K]\n"
     "        [--max-steps N] [--record FILE] [--jsonl FILE] [--perfetto FILE]",
     "Runs SCENARIO once and prints whether it passed, the root's outcome, the steps,\n"
     "the digest and every violation. --record saves the run for 'replay'; --jsonl and\n"
     "--perfetto write its trace. Exit 0 if the run passed, 1 if it failed."},
    {"explore", cmd_explore, (O_CONFIG & ~O_SEED) | O_SEEDS | O_FROM | O_ALL, "SCENARIO", 0,
     "explore SCENARIO [--seeds N] [--from S] [--workers W] [--chaos LEVEL] [--all]",
     "Runs SCENARIO at seeds S .. S+N-1 (default 1 .. 100), stopping at the first\n"
     "failure unless --all. Prints the runs, the failures, the distinct digests, and\n"
     "the first failing seed with its violation and the command that reruns it.\n"
     "Exit 0 if every seed passed, 1 if one failed."},
    {"inject", cmd_inject, O_CONFIG & ~O_INJECT_AT, "SCENARIO", 0,
     "inject SCENARIO [--seed N] [--workers W] [--chaos LEVEL]",
     "Counts the checkpoints of one run, then reruns it with a cancel injected at\n"
     "checkpoint 1, 2, ... each in turn. A run fails on a violation or a panic (a root\n"
     "that ends cancelled does not fail). Exit 0 if none failed, 1 otherwise."},
    {"replay", cmd_replay, 0, "FILE", 0, "replay FILE",
     "Loads a recording (run --record), runs its scenario with its config, dispatching\n"
     "the recorded task at each step, and reports 'identical' or the first step that\n"
     "diverged. Exit 0 identical and passed, 1 diverged (or identical to a failed run),\n"
     "2 the file is missing, corrupt, truncated or too large."},
    {"digest", cmd_digest, O_CONFIG, "SCENARIO", 0,
     "digest SCENARIO [--seed N] [--workers W] [--chaos LEVEL] [--inject-at K]",
     "Prints only the run's digest (32 hex digits): equal digests, equal traces.\n"
     "Exit 0 once it ran, whether or not the run passed."},
    {"export", cmd_export, O_CONFIG | O_JSONL | O_PERFETTO | O_OUT | O_VIRTUAL_TIME, "SCENARIO", 0,
     "export SCENARIO (--perfetto | --jsonl) [-o FILE] [--virtual-time] [--seed N] ...",
     "Runs SCENARIO keeping up to 2^20 events and writes the trace to FILE (default\n"
     "stdout): --perfetto as Chrome trace-event JSON (open it in ui.perfetto.dev),\n"
     "--jsonl as one JSON object per event. --virtual-time: timestamps from the\n"
     "virtual clock instead of the event order. Exit 0 once written."},
    {"help", cmd_help, 0, "COMMAND", 1, "help [COMMAND]", "Prints this text, or one command's."},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: %s COMMAND [ARGS]\n\n"
	        "Deterministic runs of the lab's registered scenarios: one seed, a sweep of\n"
	        "seeds, a cancel at every checkpoint, a recorded run replayed step by step.\n\n"
	        "commands:\n",
	        prog);
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %s\n", commands[i].synopsis);
	fputs("\noptions that shape a run:\n"
	      "  --seed N          the seed (default 1)\n"
	      "  --workers W       virtual workers, 1 .. 64 (default: the scenario's)\n"
	      "  --chaos LEVEL     off, light or heavy (default: the scenario's)\n"
	      "  --inject-at K     a cancel at the K-th checkpoint (0: none)\n"
	      "  --max-steps N     give up after N steps (default 100000)\n"
	      "Numbers are decimal. Options take their value as '--opt V' or '--opt=V'.\n\n"
	      "exit status: 0 passed (or identical, or written); 1 failed or diverged;\n"
	      "2 bad usage, an unknown scenario, or a bad recording file.\n"
	      "'help COMMAND' or 'COMMAND --help' describes one command.\n",
	      f);
}

static void command_help(const struct command *c)
{
	printf("usage: %s %s\n\n%s\n", prog, c->synopsis, c->about);
}

static int cmd_help(struct args *a)
{
	const struct command *c;

	if (!a->pos) {
		usage(stdout);
		return EXIT_PASS;
	}
	if (!(c = find_command(a->pos)))
		return usage_error(a, "no command named '%s'", a->pos);
	command_help(c);
	return EXIT_PASS;
}

int main(int argc, char **argv)
{
	const struct command *c;
	struct args a;
	int rc;

	if (argc > 0 && argv[0] && argv[0][0]) {
		const char *slash = strrchr(argv[0], '/');
		invoked = argv[0];
		prog = slash && slash[1] ? slash + 1 : argv[0];
	}
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return EXIT_PASS;
	}
	memset(&a, 0, sizeof a);
	a.seed = 1;
	if (!(c = find_command(argv[1]))) {
		fprintf(stderr, "%s: unknown command '%s' (see '%s --help')\n", prog, argv[1],
		        prog);
		return EXIT_USAGE;
	}
	a.cmd = c->name;
	rc = parse(&a, 2, argc, argv, c->allowed, c->what, c->optional);
	if (rc == ASKED_HELP) {
		command_help(c);
		return EXIT_PASS;
	}
	if (rc != 0)
		return rc;
	return c->fn(&a);
}
