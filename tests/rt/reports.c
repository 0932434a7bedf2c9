/* Reports: a failure nobody would see (a released or never-joined task that
 * ended Err or Panicked, a leaked obligation, a deadlock) reaches the one
 * report hook of the runtime config; NULL silences it; the default writes
 * the line to stderr. */
#include "testrt.h"

#include <fcntl.h>

#define CAP 16

typedef struct captured {
	int n;
	asup_report_kind kind[CAP];
	uint64_t task_id[CAP], region_id[CAP];
	asup_outcome_kind outcome[CAP];
	int64_t value[CAP];
	uint32_t index[CAP], count[CAP];
	char line[CAP][512], name[CAP][40], panic_msg[CAP][128], why[CAP][64];
} captured;

/* The hook copies every field: the report is only borrowed. */
static void capture(void *ud, const asup_report *r)
{
	captured *c = ud;
	int i = c->n++;

	CHECK(i < CAP);
	CHECK(r->line && r->task_name && r->why);
	c->kind[i] = r->kind;
	c->task_id[i] = r->task_id;
	c->region_id[i] = r->region_id;
	c->outcome[i] = r->outcome;
	c->value[i] = r->value;
	c->index[i] = r->index;
	c->count[i] = r->count;
	snprintf(c->line[i], sizeof c->line[i], "%s", r->line);
	snprintf(c->name[i], sizeof c->name[i], "%s", r->task_name);
	snprintf(c->panic_msg[i], sizeof c->panic_msg[i], "%s", r->panic_msg ? r->panic_msg : "");
	snprintf(c->why[i], sizeof c->why[i], "%s", r->why);
}

static asup_rt *rt_capturing(captured *c, asup_mode mode)
{
	asup_rt_config cfg;

	memset(c, 0, sizeof(*c));
	asup_rt_config_init(&cfg);
	cfg.mode = mode;
	cfg.report = capture;
	cfg.report_ud = c;
	return test_rt_cfg(&cfg);
}

static int64_t fail_with(asup_cx *cx, void *arg)
{
	CHECK_EQ(asup_yield(cx), 0);
	return (int64_t)(intptr_t)arg;
}

static int64_t panics(asup_cx *cx, void *arg)
{
	CHECK_EQ(asup_yield(cx), 0);
	asup_panic(cx, "boom %d", (int)(intptr_t)arg);
}

static void named(asup_spawn_opts *o, const char *name)
{
	asup_spawn_opts_init(o);
	o->name = name;
}

static int64_t release_failing(asup_cx *cx, void *arg)
{
	asup_spawn_opts o;
	asup_task h;

	named(&o, "loser");
	CHECK_EQ(asup_spawn(cx, fail_with, (void *)(intptr_t)-5, &o, &h), 0);
	*(uint64_t *)arg = h._id;
	CHECK_EQ(asup_task_release(&h), 0);
	CHECK_EQ(asup_sleep(cx, ASUP_MSEC(1)), 0);
	return 0;
}

TEST(released_task_that_ends_err_is_reported_with_its_name_and_value)
{
	captured c;
	asup_rt *rt = rt_capturing(&c, ASUP_MODE_DETERMINISTIC);
	uint64_t id = 0;
	asup_outcome o;

	CHECK_EQ(asup_rt_run(rt, release_failing, &id, &o), 0);
	CHECK_EQ(c.n, 1);
	CHECK_EQ(c.kind[0], ASUP_REPORT_TASK_FAILED);
	CHECK_EQ(c.task_id[0], id);
	CHECK_STR_EQ(c.name[0], "loser");
	CHECK_EQ(c.outcome[0], ASUP_OUTCOME_ERR);
	CHECK_EQ(c.value[0], -5);
	CHECK_EQ(c.region_id[0], asup_rt_root_region(rt));
	CHECK_STR_EQ(c.why[0], "released");
	CHECK(strstr(c.line[0], "task 'loser'") != NULL);
	CHECK(strstr(c.line[0], "Err (-5)") != NULL);
	test_rt_done(rt);
}

static int64_t release_panicking(asup_cx *cx, void *arg)
{
	asup_spawn_opts o;
	asup_task h;

	(void)arg;
	named(&o, "crasher");
	CHECK_EQ(asup_spawn(cx, panics, (void *)42, &o, &h), 0);
	CHECK_EQ(asup_task_release(&h), 0);
	CHECK_EQ(asup_sleep(cx, ASUP_MSEC(1)), 0);
	return 0;
}

TEST(released_task_that_panics_is_reported_with_its_message)
{
	captured c;
	asup_rt *rt = rt_capturing(&c, ASUP_MODE_DETERMINISTIC);
	asup_outcome o;

	CHECK_EQ(asup_rt_run(rt, release_panicking, NULL, &o), 0);
	CHECK_EQ(c.n, 1);
	CHECK_EQ(c.kind[0], ASUP_REPORT_TASK_FAILED);
	CHECK_EQ(c.outcome[0], ASUP_OUTCOME_PANICKED);
	CHECK_STR_EQ(c.name[0], "crasher");
	CHECK_STR_EQ(c.panic_msg[0], "boom 42");
	CHECK(strstr(c.line[0], "panicked: boom 42") != NULL);
	test_rt_done(rt);
}

static int64_t release_after_failure(asup_cx *cx, void *arg)
{
	asup_spawn_opts o;
	asup_task h;

	(void)arg;
	named(&o, "late");
	CHECK_EQ(asup_spawn(cx, fail_with, (void *)(intptr_t)-7, &o, &h), 0);
	CHECK_EQ(asup_sleep(cx, ASUP_MSEC(1)), 0);
	CHECK_EQ(asup_task_is_finished(&h), 1);
	CHECK_EQ(asup_task_release(&h), 0); /* the Err is given up unread */
	return 0;
}

TEST(handle_released_after_the_task_failed_is_reported_too)
{
	captured c;
	asup_rt *rt = rt_capturing(&c, ASUP_MODE_DETERMINISTIC);
	asup_outcome o;

	CHECK_EQ(asup_rt_run(rt, release_after_failure, NULL, &o), 0);
	CHECK_EQ(c.n, 1);
	CHECK_STR_EQ(c.name[0], "late");
	CHECK_EQ(c.value[0], -7);
	CHECK_STR_EQ(c.why[0], "released");
	test_rt_done(rt);
}

typedef struct unjoined {
	asup_task failed, ok, joined;
	uint64_t region;
} unjoined;

static int64_t spawn_and_forget(asup_cx *cx, void *arg)
{
	unjoined *u = arg;
	asup_spawn_opts o;
	asup_task h;
	asup_outcome out;

	u->region = asup_scope_region_id(cx);
	named(&o, "forgotten");
	CHECK_EQ(asup_spawn(cx, fail_with, (void *)(intptr_t)-3, &o, &u->failed), 0);
	named(&o, "fine");
	CHECK_EQ(asup_spawn(cx, fail_with, (void *)(intptr_t)1, &o, &u->ok), 0);
	named(&o, "joined");
	CHECK_EQ(asup_spawn(cx, fail_with, (void *)(intptr_t)-4, &o, &h), 0);
	CHECK_EQ(asup_join(cx, &h, &out), 0); /* read: no report for this one */
	CHECK_EQ(out.value, -4);
	return 0;
}

static int64_t region_with_unjoined(asup_cx *cx, void *arg)
{
	unjoined *u = arg;
	asup_outcome out;

	CHECK_EQ(asup_region(cx, spawn_and_forget, u, &out), 0);
	/* The record outlives the region: a late try_join still reads it. */
	CHECK_EQ(asup_task_try_join(&u->failed, &out), 0);
	CHECK_EQ(out.kind, ASUP_OUTCOME_ERR);
	CHECK_EQ(asup_task_release(&u->ok), 0);
	return 0;
}

TEST(failed_task_never_joined_is_reported_when_its_region_closes)
{
	captured c;
	asup_rt *rt = rt_capturing(&c, ASUP_MODE_DETERMINISTIC);
	unjoined u;
	asup_outcome o;

	CHECK_EQ(asup_rt_run(rt, region_with_unjoined, &u, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(c.n, 1); /* not the Ok one, not the joined one */
	CHECK_EQ(c.kind[0], ASUP_REPORT_TASK_FAILED);
	CHECK_STR_EQ(c.name[0], "forgotten");
	CHECK_EQ(c.value[0], -3);
	CHECK_EQ(c.region_id[0], u.region);
	CHECK_STR_EQ(c.why[0], "never joined");
	test_rt_done(rt);
}

static int64_t keeps_failed_handle(asup_cx *cx, void *arg)
{
	asup_spawn_opts o;

	named(&o, "kept");
	CHECK_EQ(asup_spawn(cx, fail_with, (void *)(intptr_t)-9, &o, (asup_task *)arg), 0);
	CHECK_EQ(asup_sleep(cx, ASUP_MSEC(1)), 0);
	return 0;
}

TEST(failed_task_of_the_root_region_never_joined_is_reported_at_destroy)
{
	captured c;
	asup_rt *rt = rt_capturing(&c, ASUP_MODE_DETERMINISTIC);
	asup_task h;
	asup_outcome o;

	CHECK_EQ(asup_rt_run(rt, keeps_failed_handle, &h, &o), 0);
	CHECK_EQ(c.n, 0); /* the root region is still open: it may be joined yet */
	CHECK_EQ(asup__rt_check(rt), 0);
	CHECK_EQ(asup_rt_destroy(rt), 0);
	CHECK_EQ(c.n, 1);
	CHECK_STR_EQ(c.name[0], "kept");
	CHECK_STR_EQ(c.why[0], "never joined");
}

static int64_t leaks_ack(asup_cx *cx, void *arg)
{
	uint64_t id;

	(void)arg;
	CHECK_EQ(asup_obligation_reserve(cx, ASUP_OBLIGATION_ACK, "unacked", &id), 0);
	return 0; /* ends holding it */
}

static int64_t spawn_leaker(asup_cx *cx, void *arg)
{
	asup_spawn_opts o;
	asup_task h;
	asup_outcome out;

	(void)arg;
	named(&o, "leaker");
	CHECK_EQ(asup_spawn(cx, leaks_ack, NULL, &o, &h), 0);
	CHECK_EQ(asup_join(cx, &h, &out), 0);
	return 0;
}

TEST(obligation_leak_is_reported_through_the_hook)
{
	captured c;
	asup_rt *rt = rt_capturing(&c, ASUP_MODE_DETERMINISTIC);
	asup_outcome o;

	CHECK_EQ(asup_rt_run(rt, spawn_leaker, NULL, &o), 0);
	CHECK_EQ(c.n, 1);
	CHECK_EQ(c.kind[0], ASUP_REPORT_OBLIGATION_LEAK);
	CHECK_STR_EQ(c.name[0], "leaker");
	CHECK_STR_EQ(c.why[0], "ack");
	CHECK(strstr(c.line[0], "\"unacked\"") != NULL);
	CHECK(strstr(c.line[0], "task 'leaker'") != NULL);
	test_rt_done(rt);
}

static int64_t parks_forever(asup_cx *cx, void *arg)
{
	(void)arg;
	return asup_park(cx);
}

static int64_t deadlocks(asup_cx *cx, void *arg)
{
	asup_spawn_opts o;
	asup_task h;
	asup_outcome out;

	(void)arg;
	named(&o, "stuck");
	CHECK_EQ(asup_spawn(cx, parks_forever, NULL, &o, &h), 0);
	return asup_join(cx, &h, &out);
}

TEST(deadlock_reports_every_blocked_task_and_what_it_waits_on)
{
	captured c;
	asup_rt *rt = rt_capturing(&c, ASUP_MODE_REAL);
	asup_outcome o;
	char want[64];
	int root = -1, stuck = -1;

	CHECK_EQ(asup_rt_run(rt, deadlocks, NULL, &o), -EDEADLK);
	CHECK_EQ(c.n, 2);
	for (int i = 0; i < 2; i++) {
		CHECK_EQ(c.kind[i], ASUP_REPORT_DEADLOCK);
		CHECK_EQ(c.index[i], (uint32_t)i + 1);
		CHECK_EQ(c.count[i], 2);
		if (strcmp(c.name[i], "root") == 0)
			root = i;
		if (strcmp(c.name[i], "stuck") == 0)
			stuck = i;
	}
	CHECK(root >= 0 && stuck >= 0);
	snprintf(want, sizeof want, "join of task T%u", (unsigned)(uint32_t)c.task_id[stuck]);
	CHECK_STR_EQ(c.why[root], want);
	CHECK(strstr(c.line[root], want) != NULL);
	CHECK_STR_EQ(c.why[stuck], "park (its waker)");
	CHECK(strstr(c.line[stuck], "'stuck' parked") != NULL);
	CHECK(strstr(c.line[stuck], " in R") != NULL);
	CHECK_EQ(asup_rt_destroy(rt), 0);
}

/* Runs every kind of report the hook can get in one runtime. */
static void all_reports(asup_rt_config *cfg)
{
	asup_rt *rt;
	asup_outcome o;
	uint64_t id;

	rt = test_rt_cfg(cfg);
	CHECK_EQ(asup_rt_run(rt, release_failing, &id, &o), 0);
	CHECK_EQ(asup_rt_run(rt, release_panicking, NULL, &o), 0);
	CHECK_EQ(asup_rt_run(rt, spawn_leaker, NULL, &o), 0);
	CHECK_EQ(asup_rt_run(rt, deadlocks, NULL, &o), -EDEADLK);
	CHECK_EQ(asup_rt_destroy(rt), 0);
}

/* Points fd 2 at a fresh temporary file; returns the saved fd 2. */
static int stderr_to_file(FILE **tmp)
{
	int saved;

	fflush(stderr);
	*tmp = tmpfile();
	CHECK(*tmp != NULL);
	saved = dup(2);
	CHECK(saved >= 0);
	CHECK(dup2(fileno(*tmp), 2) == 2);
	return saved;
}

static size_t stderr_back(int saved, FILE *tmp, char *buf, size_t cap)
{
	size_t n;

	fflush(stderr);
	CHECK(dup2(saved, 2) == 2);
	close(saved);
	rewind(tmp);
	n = fread(buf, 1, cap - 1, tmp);
	buf[n] = '\0';
	fclose(tmp);
	return n;
}

TEST(null_hook_silences_every_report)
{
	asup_rt_config cfg;
	static char buf[8192];
	FILE *tmp;
	int saved;

	asup_rt_config_init(&cfg);
	cfg.report = NULL;
	saved = stderr_to_file(&tmp);
	all_reports(&cfg);
	CHECK_EQ(stderr_back(saved, tmp, buf, sizeof buf), 0);
}

TEST(default_hook_writes_each_report_as_a_line_on_stderr)
{
	asup_rt_config cfg;
	static char buf[8192];
	FILE *tmp;
	int saved;

	asup_rt_config_init(&cfg);
	CHECK(cfg.report == asup_report_stderr);
	saved = stderr_to_file(&tmp);
	all_reports(&cfg);
	stderr_back(saved, tmp, buf, sizeof buf);
	CHECK(strstr(buf, "task 'loser'") != NULL);
	CHECK(strstr(buf, "Err (-5) (released)\n") != NULL);
	CHECK(strstr(buf, "task 'crasher'") != NULL);
	CHECK(strstr(buf, "panicked: boom 42 (released)\n") != NULL);
	CHECK(strstr(buf, "obligation leaked: ack \"unacked\" held by task 'leaker'") != NULL);
	CHECK(strstr(buf, "deadlock: blocked task 1 of 2") != NULL);
	CHECK(strstr(buf, "deadlock: blocked task 2 of 2") != NULL);
}
