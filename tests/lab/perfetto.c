/*
 * The Chrome trace-event export (asup_lab_export_chrome) has the structure
 * Perfetto needs: the text is valid JSON; every task is a thread of its
 * own (distinct small tids, each named once per task, "T<index>.<gen>"),
 * including tasks that reuse an arena index; the first task at an index
 * gets tid index + 1; B/E slices are balanced per tid and never end before
 * they begin. Checked on a workload that reuses task slots and on every
 * scenario of the corpus, with and without heavy chaos. The simulated
 * network's tracks (process 2: one per connection, one for partitions and
 * stops) are apart from the tasks' and named once each.
 */
#include "harness.h"

#include <ctype.h>

#include "corpus.h"

/* ---- a small JSON reader: validates everything, keeps what we check ----- */

#define MAX_EVENTS 200000
#define NAME_MAX_ 48

struct ev {
	char ph[4];
	char name[NAME_MAX_];      /* "name" */
	char arg_name[NAME_MAX_];  /* "args": {"name": ...} */
	double tid, ts, pid;
	int has_tid, has_ts, has_pid;
};

struct reader {
	const char *s;
	size_t i;
	struct ev *evs;
	size_t n;
};

static void ws(struct reader *r)
{
	while (r->s[r->i] == ' ' || r->s[r->i] == '\n' || r->s[r->i] == '\t' || r->s[r->i] == '\r')
		r->i++;
}

/* A JSON string; its text (escapes kept as written) into out[cap]. */
static int str(struct reader *r, char *out, size_t cap)
{
	size_t k = 0;

	if (r->s[r->i] != '"')
		return -1;
	r->i++;
	for (;;) {
		unsigned char c = (unsigned char)r->s[r->i];
		if (c == '\0' || c < 0x20)
			return -1;
		r->i++;
		if (c == '"')
			break;
		if (c == '\\') {
			char e = r->s[r->i++];
			if (e == 'u') {
				for (int d = 0; d < 4; d++)
					if (!isxdigit((unsigned char)r->s[r->i++]))
						return -1;
			} else if (!strchr("\"\\/bfnrt", e) || e == '\0') {
				return -1;
			}
		}
		if (out && k + 1 < cap)
			out[k++] = (char)c;
	}
	if (out)
		out[k] = '\0';
	return 0;
}

static int num(struct reader *r, double *out)
{
	char *end;
	const char *p = r->s + r->i;

	if (!(*p == '-' || isdigit((unsigned char)*p)))
		return -1;
	if (p[0] == '0' && isdigit((unsigned char)p[1]))
		return -1; /* no leading zeros */
	*out = strtod(p, &end);
	if (end == p)
		return -1;
	r->i += (size_t)(end - p);
	return 0;
}

static int value(struct reader *r, struct ev *into, const char *key, int depth);

/* An object; when `into` is set, the fields of a trace event go there. */
static int object(struct reader *r, struct ev *into, int depth)
{
	char key[32];

	r->i++;
	ws(r);
	if (r->s[r->i] == '}') {
		r->i++;
		return 0;
	}
	for (;;) {
		ws(r);
		if (str(r, key, sizeof key) < 0)
			return -1;
		ws(r);
		if (r->s[r->i++] != ':')
			return -1;
		ws(r);
		if (value(r, into, key, depth + 1) < 0)
			return -1;
		ws(r);
		if (r->s[r->i] == ',') {
			r->i++;
			continue;
		}
		if (r->s[r->i] == '}') {
			r->i++;
			return 0;
		}
		return -1;
	}
}

static int array(struct reader *r, int events, int depth)
{
	r->i++;
	ws(r);
	if (r->s[r->i] == ']') {
		r->i++;
		return 0;
	}
	for (;;) {
		struct ev *e = NULL;

		ws(r);
		if (events) {
			CHECK(r->n < MAX_EVENTS);
			e = &r->evs[r->n++];
			memset(e, 0, sizeof(*e));
			if (r->s[r->i] != '{')
				return -1;
		}
		if (e ? object(r, e, depth) < 0 : value(r, NULL, NULL, depth + 1) < 0)
			return -1;
		ws(r);
		if (r->s[r->i] == ',') {
			r->i++;
			continue;
		}
		if (r->s[r->i] == ']') {
			r->i++;
			return 0;
		}
		return -1;
	}
}

/* depth 1: the top object's fields; depth 2: an event's fields; depth 3:
 * an event's args. */
static int value(struct reader *r, struct ev *into, const char *key, int depth)
{
	char c = r->s[r->i];
	double d;

	if (depth > 64)
		return -1;
	if (c == '{') {
		int args = into && key && depth == 2 && strcmp(key, "args") == 0;
		return object(r, args ? into : NULL, args ? 2 : depth);
	}
	if (c == '[')
		return array(r, depth == 1 && key && strcmp(key, "traceEvents") == 0, depth);
	if (c == '"') {
		char buf[NAME_MAX_];
		if (str(r, buf, sizeof buf) < 0)
			return -1;
		if (into && depth == 2 && strcmp(key, "ph") == 0)
			snprintf(into->ph, sizeof into->ph, "%.3s", buf);
		else if (into && depth == 2 && strcmp(key, "name") == 0)
			snprintf(into->name, sizeof into->name, "%s", buf);
		else if (into && depth == 3 && strcmp(key, "name") == 0)
			snprintf(into->arg_name, sizeof into->arg_name, "%s", buf);
		return 0;
	}
	if (strncmp(r->s + r->i, "true", 4) == 0 || strncmp(r->s + r->i, "null", 4) == 0) {
		r->i += 4;
		return 0;
	}
	if (strncmp(r->s + r->i, "false", 5) == 0) {
		r->i += 5;
		return 0;
	}
	if (num(r, &d) < 0)
		return -1;
	if (into && depth == 2 && strcmp(key, "tid") == 0)
		into->tid = d, into->has_tid = 1;
	else if (into && depth == 2 && strcmp(key, "ts") == 0)
		into->ts = d, into->has_ts = 1;
	else if (into && depth == 2 && strcmp(key, "pid") == 0)
		into->pid = d, into->has_pid = 1;
	return 0;
}

/* Parses the whole export; the events into r->evs. -1 if not valid JSON. */
static int parse(struct reader *r, const char *text)
{
	r->s = text;
	r->i = 0;
	r->n = 0;
	ws(r);
	if (r->s[r->i] != '{' || object(r, NULL, 0) < 0)
		return -1;
	ws(r);
	return r->s[r->i] == '\0' ? 0 : -1;
}

/* ---- exporting ----------------------------------------------------------- */

static char *export_text(asup_lab *lab, int vt)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	CHECK(f != NULL);
	CHECK_EQ(asup_lab_export_chrome(lab, f, vt), 0);
	CHECK_EQ(fclose(f), 0);
	return buf;
}

/* The task part of a thread name ("T3.2 worker" -> "T3.2"); 0 if none. */
static int task_of(const char *name, char *out, size_t cap)
{
	size_t k = strcspn(name, " ");

	if (name[0] != 'T' || k == 0 || k >= cap)
		return 0;
	memcpy(out, name, k);
	out[k] = '\0';
	return 1;
}

struct check_res {
	size_t tasks, slices;
};

/* Every structural rule; returns how many tasks and slices it saw. */
static struct check_res check_structure(const char *text)
{
	struct reader r = {0};
	struct check_res res = {0, 0};
	static char names[4096][16];
	static double tids[4096];
	static double open_ts[4096][8];
	static int depth[4096];
	size_t nt = 0;

	r.evs = calloc(MAX_EVENTS, sizeof(struct ev));
	CHECK(r.evs != NULL);
	if (parse(&r, text) < 0) {
		fprintf(stderr, "not valid JSON near byte %zu: %.40s\n", r.i, text + r.i);
		CHECK(!"valid JSON");
	}
	CHECK(r.n > 3);
	/* Tracks: a task's name maps to one tid, a tid to one task. */
	for (size_t i = 0; i < r.n; i++) {
		const struct ev *e = &r.evs[i];
		char t[16];
		size_t k;

		if (strcmp(e->ph, "M") || strcmp(e->name, "thread_name") || !e->has_tid)
			continue;
		CHECK(e->tid >= 0 && e->tid < 4294967296.0); /* small: below 2^32 */
		if (e->has_pid && e->pid == 2) { /* the network's process */
			CHECK(strncmp(e->arg_name, "connection ", 11) == 0 ||
			      strcmp(e->arg_name, "partitions and stops") == 0);
			for (size_t j = 0; j < i; j++) /* named once */
				CHECK(!(r.evs[j].has_pid && r.evs[j].pid == 2 &&
					r.evs[j].has_tid && r.evs[j].tid == e->tid &&
					strcmp(r.evs[j].ph, "M") == 0 &&
					strcmp(r.evs[j].name, "thread_name") == 0));
			continue;
		}
		if (!task_of(e->arg_name, t, sizeof t)) {
			CHECK(e->tid == 0); /* the regions' track */
			continue;
		}
		CHECK(e->tid > 0);
		for (k = 0; k < nt && strcmp(names[k], t); k++)
			;
		if (k == nt) {
			CHECK(nt < 4096);
			snprintf(names[nt], sizeof names[nt], "%s", t);
			tids[nt++] = e->tid;
		}
		CHECK(tids[k] == e->tid);
		for (size_t j = 0; j < nt; j++)
			CHECK(j == k || tids[j] != e->tid); /* no other task on this track */
	}
	/* Slices: B/E balanced per tid, on the task's own track. */
	memset(depth, 0, sizeof depth);
	for (size_t i = 0; i < r.n; i++) {
		const struct ev *e = &r.evs[i];
		size_t k;

		if (strcmp(e->ph, "B") && strcmp(e->ph, "E"))
			continue;
		CHECK(e->has_tid && e->has_ts);
		for (k = 0; k < nt && tids[k] != e->tid; k++)
			;
		CHECK(k < nt); /* every slice is on a named task's track */
		if (e->ph[0] == 'B') {
			CHECK_EQ(strcmp(e->name, names[k]), 0);
			CHECK(depth[k] < 8);
			open_ts[k][depth[k]++] = e->ts;
			res.slices++;
		} else {
			CHECK(depth[k] > 0); /* an E closes an open B */
			CHECK(e->ts >= open_ts[k][--depth[k]]);
		}
	}
	for (size_t k = 0; k < nt; k++)
		CHECK_EQ(depth[k], 0);
	res.tasks = nt;
	free(r.evs);
	return res;
}

/* ---- workloads ----------------------------------------------------------- */

static int64_t short_task(asup_cx *cx, void *arg)
{
	(void)arg;
	return asup_yield(cx);
}

/* Tasks one after another, each joined before the next: the runtime reuses
 * their slots, so indices repeat with new generations. */
static int64_t reuse_root(asup_cx *cx, void *arg)
{
	int rc;

	(void)arg;
	for (int i = 0; i < 6; i++) {
		asup_task h;
		asup_spawn_opts o;
		asup_spawn_opts_init(&o);
		o.name = "short";
		if ((rc = asup_spawn(cx, short_task, NULL, &o, &h)) < 0 ||
		    (rc = asup_join(cx, &h, NULL)) < 0)
			return rc;
	}
	return 0;
}

static size_t count_spawns(asup_lab *lab)
{
	size_t n = (size_t)asup_lab_event_count(lab), spawns = 0;
	asup_event *ev = calloc(n ? n : 1, sizeof(*ev));

	CHECK(ev != NULL);
	n = asup_lab_events(lab, ev, n);
	for (size_t i = 0; i < n; i++)
		spawns += ev[i].type == ASUP_EV_SPAWN;
	free(ev);
	return spawns;
}

TEST(every_task_has_its_own_small_track_even_when_slots_are_reused)
{
	asup_lab_config cfg;
	asup_lab *lab;
	asup_outcome o;
	struct check_res res;
	char *text;

	asup_lab_config_init(&cfg);
	cfg.trace_capacity = 1u << 16;
	CHECK_EQ(asup_lab_create(&cfg, &lab), 0);
	CHECK_EQ(asup_lab_run(lab, reuse_root, NULL, &o), 0);
	text = export_text(lab, 0);
	res = check_structure(text);
	CHECK_EQ(res.tasks, count_spawns(lab));
	CHECK_EQ(res.tasks, 7); /* the root and six short tasks */
	/* The slots were reused: some name repeats an index with a newer
	 * generation, and the first task at an index has tid index + 1. */
	CHECK(strstr(text, "\"T0.1 root\"") != NULL);
	CHECK(strstr(text, "\"tid\":1,\"args\":{\"name\":\"T0.1") != NULL);
	CHECK(strstr(text, "\"T1.1") != NULL);
	CHECK(strstr(text, "\"T1.2") != NULL);
	free(text);
	CHECK_EQ(asup_lab_destroy(lab), 0);
}

TEST(every_corpus_scenario_exports_a_balanced_trace_with_a_track_per_task)
{
	size_t n;
	const asup_corpus_entry *e = asup_corpus_list(&n);

	for (size_t i = 0; i < n; i++) {
		for (int chaos = 0; chaos < 2; chaos++) {
			asup_lab_config cfg;
			asup_lab *lab;
			asup_outcome o;
			struct check_res res;
			char *text;

			asup_corpus_config(&e[i], 2, &cfg);
			if (chaos)
				cfg.chaos = asup_lab_chaos_heavy();
			cfg.trace_capacity = 1u << 16;
			CHECK_EQ(asup_lab_create(&cfg, &lab), 0);
			(void)!asup_lab_run(lab, e[i].sc.root, e[i].sc.arg, &o); /* any end: the trace is the point */
			CHECK(asup_lab_event_count(lab) < cfg.trace_capacity); /* all kept */
			for (int vt = 0; vt < 2; vt++) {
				text = export_text(lab, vt);
				res = check_structure(text);
				CHECK_EQ(res.tasks, count_spawns(lab));
				CHECK(res.slices >= res.tasks);
				free(text);
			}
			CHECK_EQ(asup_lab_destroy(lab), 0);
		}
	}
}

TEST(the_structure_checker_rejects_what_perfetto_would_misread)
{
	/* The checker itself: each of these breaks one rule and must fail
	 * (run in a child, since a failed CHECK exits). */
	static const char *const bad[] = {
	    "{\"traceEvents\":[{\"ph\":\"M\",\"name\":\"thread_name\",\"tid\":1,"
	    "\"args\":{\"name\":\"T0.1\"}},{\"ph\":\"E\",\"tid\":1,\"ts\":1}]}",
	    "{\"traceEvents\":[{\"ph\":\"M\",\"name\":\"thread_name\",\"tid\":1,"
	    "\"args\":{\"name\":\"T0.1\"}},{\"ph\":\"M\",\"name\":\"thread_name\",\"tid\":1,"
	    "\"args\":{\"name\":\"T1.1\"}},{\"ph\":\"B\",\"name\":\"T0.1\",\"tid\":1,\"ts\":1}]}",
	    "{\"traceEvents\":[{\"ph\":\"M\",\"name\":\"thread_name\",\"tid\":4294967297,"
	    "\"args\":{\"name\":\"T0.1\"}},{},{},{}]}",
	    "{\"traceEvents\":[{\"ph\":\"B\",\"tid\":1,\"ts\":1},{},{},{}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		pid_t pid = fork();
		int st;

		CHECK(pid >= 0);
		if (pid == 0) {
			if (!freopen("/dev/null", "w", stderr))
				_exit(0); /* cannot silence it: the parent sees a pass and fails */
			check_structure(bad[i]);
			_exit(0);
		}
		CHECK_EQ(waitpid(pid, &st, 0), pid);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) != 0);
	}
}
