/* The task dump (asup_rt_dump, asup_cx_dump) and the runtime's cancel from
 * outside (asup_rt_cancel) that makes a deadlocked runtime usable again. */
#include "testrt.h"

#include <stdatomic.h>
#include <time.h>

/* Text written to a memory stream; freed by the caller. */
typedef struct membuf {
	char *text;
	size_t len;
	FILE *f;
} membuf;

static void mb_open(membuf *m)
{
	m->text = NULL;
	m->len = 0;
	m->f = open_memstream(&m->text, &m->len);
	CHECK(m->f != NULL);
}

static void mb_close(membuf *m)
{
	CHECK_EQ(fclose(m->f), 0);
}

/* Fails with the whole dump when a line is missing. */
static void must_contain(const char *text, const char *want)
{
	if (!strstr(text, want)) {
		fprintf(stderr, "missing \"%s\" in:\n%s", want, text);
		CHECK(0);
	}
}

static void named(asup_spawn_opts *o, const char *name)
{
	asup_spawn_opts_init(o);
	o->name = name;
}

/* State shared with the children lives in the root task's frame, which
 * outlives every region below it. */
typedef struct scene {
	asup_mutex m;
	asup_chan *ch;
	uint64_t outer, inner;
	char *text;
} scene;

static int64_t holder(asup_cx *cx, void *arg)
{
	scene *s = arg;
	CHECK_EQ(asup_mutex_lock(cx, &s->m), 0);
	CHECK_EQ(asup_sleep(cx, ASUP_SEC(10)), 0);
	CHECK_EQ(asup_mutex_unlock(cx, &s->m), 0);
	return 0;
}

static int64_t waiter(asup_cx *cx, void *arg)
{
	scene *s = arg;
	CHECK_EQ(asup_mutex_lock(cx, &s->m), 0);
	CHECK_EQ(asup_mutex_unlock(cx, &s->m), 0);
	return 0;
}

static int64_t receiver(asup_cx *cx, void *arg)
{
	scene *s = arg;
	int v, rc = asup_chan_recv(cx, s->ch, &v);
	return rc == -EPIPE ? 0 : rc; /* ends when the channel closes */
}

static int64_t sleeper(asup_cx *cx, void *arg)
{
	(void)arg;
	return asup_sleep(cx, ASUP_SEC(3600)); /* ends cancelled */
}

static int64_t inner_body(asup_cx *cx, void *arg)
{
	scene *s = arg;
	asup_spawn_opts o;
	asup_task h;
	membuf mb;

	s->inner = asup_scope_region_id(cx);
	named(&o, "sleeper");
	CHECK_EQ(asup_spawn(cx, sleeper, s, &o, &h), 0);
	CHECK_EQ(asup_task_release(&h), 0);
	CHECK_EQ(asup_sleep(cx, ASUP_MSEC(1)), 0); /* everyone else parks */
	mb_open(&mb);
	CHECK_EQ(asup_cx_dump(cx, mb.f), 0);
	mb_close(&mb);
	s->text = mb.text;
	CHECK_EQ(asup_rt_dump(NULL, stderr), -EINVAL);
	CHECK_EQ(asup_cx_dump(cx, NULL), -EINVAL);
	CHECK_EQ(asup_chan_close(s->ch), 0);
	CHECK_EQ(asup_scope_cancel(cx, ASUP_CANCEL_USER, "done"), 0);
	return 0;
}

static int64_t outer_body(asup_cx *cx, void *arg)
{
	scene *s = arg;
	asup_spawn_opts o;
	asup_task h[3];
	asup_task_fn fns[3] = {holder, waiter, receiver};
	const char *names[3] = {"holder", "waiter", "receiver"};
	asup_outcome out;

	s->outer = asup_scope_region_id(cx);
	for (int i = 0; i < 3; i++) {
		named(&o, names[i]);
		CHECK_EQ(asup_spawn(cx, fns[i], s, &o, &h[i]), 0);
		CHECK_EQ(asup_task_release(&h[i]), 0);
		CHECK_EQ(asup_yield(cx), 0); /* the holder locks first */
	}
	CHECK_EQ(asup_region(cx, inner_body, s, &out), 0);
	return 0;
}

static int64_t scene_root(asup_cx *cx, void *arg)
{
	scene *s = arg;
	asup_outcome out;

	asup_mutex_init(&s->m);
	CHECK_EQ(asup_chan_open(cx, sizeof(int), 4, &s->ch), 0);
	CHECK_EQ(asup_region(cx, outer_body, s, &out), 0);
	return 0;
}

TEST(dump_lists_nested_regions_and_each_task_with_its_wait_target)
{
	asup_rt *rt = test_rt(ASUP_MODE_DETERMINISTIC, 7);
	scene s;
	asup_outcome o;
	char want[128];

	memset(&s, 0, sizeof s);
	CHECK_EQ(asup_rt_run(rt, scene_root, &s, &o), 0);
	CHECK(s.text != NULL);
	must_contain(s.text, "asupersync dump: ");
	snprintf(want, sizeof want, "R%u open tasks=1 children=1 cancel=none\n",
		 (unsigned)(uint32_t)asup_rt_root_region(rt));
	CHECK(strncmp(s.text + strcspn(s.text, "\n") + 1, want, strlen(want)) == 0);
	snprintf(want, sizeof want, "\n  R%u open tasks=3 children=1 cancel=none\n",
		 (unsigned)(uint32_t)s.outer);
	must_contain(s.text, want);
	must_contain(s.text, "'holder' parked/running cancel=none waits on timer\n");
	must_contain(s.text, "'waiter' parked/running cancel=none waits on mutex\n");
	must_contain(s.text, "'receiver' parked/running cancel=none waits on channel receive\n");
	snprintf(want, sizeof want, "\n    R%u open tasks=1 children=0 cancel=none\n",
		 (unsigned)(uint32_t)s.inner);
	must_contain(s.text, want);
	must_contain(s.text, "      T");
	must_contain(s.text, "'sleeper' parked/running cancel=none waits on timer\n");
	/* region bodies run on the root task's fiber: it is the one dumping */
	must_contain(s.text, "'root' running/running cancel=none waits on nothing\n");
	must_contain(s.text, "asupersync dump end: 3 regions\n");
	free(s.text);
	test_rt_done(rt);
}

typedef struct waits {
	_Atomic int release;
	asup_chan *full;
	char *text;
} waits;

static int64_t blocks(asup_blocking *b, void *arg)
{
	waits *w = arg;
	struct timespec ts = {0, 1000000};

	(void)b;
	while (!atomic_load(&w->release))
		nanosleep(&ts, NULL);
	return 0;
}

static int64_t sender(asup_cx *cx, void *arg)
{
	waits *w = arg;
	int v = 1, rc;

	CHECK_EQ(asup_chan_send(cx, w->full, &v), 0); /* fills it */
	rc = asup_chan_send(cx, w->full, &v);         /* waits for room */
	return rc == -EPIPE ? 0 : rc;
}

static int64_t blocking_scene(asup_cx *cx, void *arg)
{
	waits *w = arg;
	asup_spawn_opts o;
	asup_task hb, hs;
	asup_outcome out;
	membuf mb;

	CHECK_EQ(asup_chan_open(cx, sizeof(int), 1, &w->full), 0);
	named(&o, "offloaded");
	CHECK_EQ(asup_spawn_blocking(cx, blocks, w, &o, &hb), 0);
	named(&o, "sender");
	CHECK_EQ(asup_spawn(cx, sender, w, &o, &hs), 0);
	/* both run until they park: the job is handed to the pool, the channel
	 * is full */
	CHECK_EQ(asup_yield(cx), 0);
	CHECK_EQ(asup_yield(cx), 0);
	mb_open(&mb);
	CHECK_EQ(asup_cx_dump(cx, mb.f), 0);
	mb_close(&mb);
	w->text = mb.text;
	atomic_store(&w->release, 1);
	CHECK_EQ(asup_chan_close(w->full), 0);
	CHECK_EQ(asup_join(cx, &hb, &out), 0);
	CHECK_EQ(asup_join(cx, &hs, &out), 0);
	CHECK_EQ(out.value, 0);
	return 0;
}

TEST(dump_names_a_blocking_call_and_a_channel_sender)
{
	asup_rt *rt = test_rt(ASUP_MODE_REAL, 0);
	waits w;
	asup_outcome o;

	memset(&w, 0, sizeof w);
	CHECK_EQ(asup_rt_run(rt, blocking_scene, &w, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	must_contain(w.text, "'offloaded' parked/running cancel=none waits on blocking call\n");
	must_contain(w.text, "'sender' parked/running cancel=none waits on channel send\n");
	free(w.text);
	test_rt_done(rt);
}

static int64_t parks_forever(asup_cx *cx, void *arg)
{
	int *seen = arg;
	int rc = asup_park(cx), n;
	asup_cancel_reason chain[4];

	/* It sits below the cancelled root: ParentCancelled, caused by the
	 * runtime's Shutdown with its message. */
	n = asup_cx_cancel_chain(cx, chain, 4);
	if (rc == -ECANCELED && n == 2 && chain[0].kind == ASUP_CANCEL_PARENT_CANCELLED &&
	    chain[1].kind == ASUP_CANCEL_SHUTDOWN && strcmp(chain[1].message, "operator") == 0)
		*seen = 1;
	return rc;
}

static int finalized;

static void count_final(void *arg)
{
	(void)arg;
	finalized++;
}

static int64_t stuck_body(asup_cx *cx, void *arg)
{
	asup_spawn_opts o;
	asup_task h;

	CHECK_EQ(asup_defer(cx, count_final, NULL), 0);
	named(&o, "stuck");
	CHECK_EQ(asup_spawn(cx, parks_forever, arg, &o, &h), 0);
	CHECK_EQ(asup_task_release(&h), 0);
	return 0;
}

static int64_t deadlocks(asup_cx *cx, void *arg)
{
	asup_outcome out;
	CHECK_EQ(asup_region(cx, stuck_body, arg, &out), 0);
	return 0;
}

static int64_t seven(asup_cx *cx, void *arg)
{
	(void)arg;
	CHECK_EQ(asup_yield(cx), 0);
	return 7;
}

static asup_rt *quiet_rt(void)
{
	asup_rt_config cfg;
	asup_rt_config_init(&cfg);
	cfg.report = NULL; /* the deadlock is expected */
	return test_rt_cfg(&cfg);
}

TEST(rt_dump_after_a_deadlock_shows_the_blocked_tasks)
{
	asup_rt *rt = quiet_rt();
	asup_outcome o;
	membuf mb;
	int seen = 0;

	CHECK_EQ(asup_rt_run(rt, deadlocks, &seen, &o), -EDEADLK);
	mb_open(&mb);
	CHECK_EQ(asup_rt_dump(rt, mb.f), 0);
	mb_close(&mb);
	must_contain(mb.text, "'root' parked/running cancel=none waits on close of region R");
	must_contain(mb.text, "'stuck' parked/running cancel=none waits on park (its waker)\n");
	free(mb.text);
	CHECK_EQ(asup_rt_cancel(rt, ASUP_CANCEL_SHUTDOWN, "operator"), 0);
	test_rt_done(rt);
}

TEST(rt_cancel_after_a_deadlock_ends_the_blocked_tasks_and_the_runtime_runs_again)
{
	asup_rt *rt = quiet_rt();
	asup_rt_stats st;
	asup_outcome o;
	int seen = 0;

	finalized = 0;
	CHECK_EQ(asup_rt_run(rt, deadlocks, &seen, &o), -EDEADLK);
	CHECK_EQ(finalized, 0);
	CHECK_EQ(asup_rt_cancel(rt, ASUP_CANCEL_SHUTDOWN, "operator"), 0);
	CHECK_EQ(seen, 1);      /* the parked task saw the cancel and its reason */
	CHECK_EQ(finalized, 1); /* its region closed, finalizer included */
	CHECK_EQ(asup_rt_stats_get(rt, &st), 0);
	CHECK_EQ(st.tasks_live, 0);
	CHECK_EQ(asup__rt_check(rt), 0);
	/* the root region stayed open: the runtime runs again */
	CHECK_EQ(asup_rt_run(rt, seven, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(o.value, 7);
	CHECK_EQ(asup_rt_run(rt, deadlocks, &seen, &o), -EDEADLK); /* and again */
	CHECK_EQ(asup_rt_cancel(rt, ASUP_CANCEL_USER, NULL), 0);
	test_rt_done(rt);
}

TEST(rt_cancel_then_destroy_shuts_down_with_nothing_discarded)
{
	asup_rt *rt = quiet_rt();
	asup_rt_stats st;
	asup_outcome o;
	int seen = 0;

	finalized = 0;
	CHECK_EQ(asup_rt_run(rt, deadlocks, &seen, &o), -EDEADLK);
	CHECK_EQ(asup_rt_cancel(rt, ASUP_CANCEL_SHUTDOWN, "operator"), 0);
	CHECK_EQ(asup_rt_stats_get(rt, &st), 0);
	CHECK_EQ(st.tasks_live, 0);
	CHECK_EQ(st.task_records, 0); /* no record left for destroy to discard */
	CHECK_EQ(finalized, 1);
	test_rt_done(rt);
}

static int64_t masked_park(asup_cx *cx, void *arg)
{
	(void)arg;
	return asup_park(cx); /* masked: a cancel cannot reach it */
}

static int64_t masked_forever(asup_cx *cx, void *arg)
{
	return asup_cx_masked(cx, masked_park, arg);
}

static asup_rt *outer_rt;

static int64_t cancel_inside(asup_cx *cx, void *arg)
{
	(void)arg;
	CHECK_EQ(asup_rt_cancel(outer_rt, ASUP_CANCEL_USER, NULL), -ASUP_EINTASK);
	return 0;
}

TEST(rt_cancel_refuses_bad_calls_and_says_when_a_task_still_cannot_finish)
{
	asup_rt *rt = quiet_rt();
	asup_outcome o;

	CHECK_EQ(asup_rt_cancel(NULL, ASUP_CANCEL_USER, NULL), -EINVAL);
	CHECK_EQ(asup_rt_cancel(rt, ASUP_CANCEL_KIND_COUNT, NULL), -EINVAL);
	CHECK_EQ(asup_rt_cancel(rt, ASUP_CANCEL_USER, NULL), 0); /* nothing to do */
	outer_rt = rt;
	CHECK_EQ(asup_rt_run(rt, cancel_inside, NULL, &o), 0);
	CHECK_EQ(asup_rt_run(rt, masked_forever, NULL, &o), -EDEADLK);
	CHECK_EQ(asup_rt_cancel(rt, ASUP_CANCEL_USER, NULL), -EDEADLK);
	CHECK_EQ(asup_rt_destroy(rt), 0); /* the masked task is discarded */
}

static asup_rt *dump_rt;

static int64_t dumps_the_wrong_way(asup_cx *cx, void *arg)
{
	(void)arg;
	CHECK_EQ(asup_rt_dump(dump_rt, stderr), -ASUP_ERUNNING); /* use asup_cx_dump */
	CHECK_EQ(asup_cx_dump(NULL, stderr), -ASUP_ENOTASK);
	CHECK_EQ(asup_rt_cancel(dump_rt, ASUP_CANCEL_USER, NULL), -ASUP_EINTASK);
	return asup_cx_dump(cx, NULL);
}

TEST(dump_refuses_a_running_runtime_a_foreign_cx_and_a_null_file)
{
	asup_rt *rt = test_rt(ASUP_MODE_DETERMINISTIC, 1);
	asup_outcome o;

	dump_rt = rt;
	CHECK_EQ(asup_rt_dump(NULL, stderr), -EINVAL);
	CHECK_EQ(asup_rt_dump(rt, NULL), -EINVAL);
	CHECK_EQ(asup_rt_run(rt, dumps_the_wrong_way, NULL, &o), 0);
	CHECK_EQ(o.value, -EINVAL);
	test_rt_done(rt);
}
