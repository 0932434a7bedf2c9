/*
 * Handles and cx across runtimes and threads: every handle call on a task of
 * another runtime returns -EXDEV and changes nothing there, and a task's cx
 * used from another thread while the task runs is refused.
 *
 * Two deterministic runtimes live in one process. Runtime B holds a target
 * task T (it sleeps an hour of virtual time, then returns 7) and, for the
 * drop cases, a joiner J that joins T through the same handle. A task of
 * runtime A then tries one handle call on them; afterwards B is driven from
 * outside and shows that the call had no effect.
 */
#include "testrt.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define HOUR (3600ull * 1000000000ull)

static int64_t sleeps_then_7(asup_cx *cx, void *arg)
{
	int rc = asup_sleep(cx, HOUR);
	(void)arg;
	return rc < 0 ? rc : 7;
}

static int64_t joins_target(asup_cx *cx, void *arg)
{
	asup_outcome o;
	int rc = asup_join(cx, arg, &o);
	return rc < 0 ? rc : o.value;
}

enum op { OP_ABORT, OP_ABORT_WITH, OP_TRY_JOIN, OP_RELEASE, OP_IS_FINISHED, OP_DROP_REASON,
	  OP_DEFUSE, OP_JOIN };

struct fixture {
	asup_rt *a, *b;
	asup_task t, j;
	enum op op;
	int rc; /* what the call in runtime A returned */
};

static int64_t foreign_call(asup_cx *cx, void *arg)
{
	struct fixture *f = arg;
	asup_outcome o;

	switch (f->op) {
	case OP_ABORT: f->rc = asup_task_abort(&f->t); break;
	case OP_ABORT_WITH: f->rc = asup_task_abort_with(&f->t, ASUP_CANCEL_SHUTDOWN, "x"); break;
	case OP_TRY_JOIN: f->rc = asup_task_try_join(&f->t, &o); break;
	case OP_RELEASE: f->rc = asup_task_release(&f->t); break;
	case OP_IS_FINISHED: f->rc = asup_task_is_finished(&f->t); break;
	case OP_DROP_REASON: f->rc = asup_task_set_drop_reason(&f->t, ASUP_CANCEL_SHUTDOWN); break;
	case OP_DEFUSE: f->rc = asup_task_defuse(&f->t); break;
	case OP_JOIN: f->rc = asup_join(cx, &f->t, &o); break;
	}
	return 0;
}

static asup_rt *det_rt(void)
{
	asup_rt_config cfg;
	asup_rt_config_init(&cfg);
	cfg.mode = ASUP_MODE_DETERMINISTIC;
	cfg.auto_advance = 0; /* T stays asleep until the test moves time */
	return test_rt_cfg(&cfg);
}

/* B gets T (and J), both parked; then A's task makes the one call. */
static void setup(struct fixture *f, enum op op, int with_joiner)
{
	asup_outcome o;

	memset(f, 0, sizeof(*f));
	f->op = op;
	f->a = det_rt();
	f->b = det_rt();
	CHECK_EQ(asup_rt_spawn(f->b, sleeps_then_7, NULL, NULL, &f->t), 0);
	if (with_joiner)
		CHECK_EQ(asup_rt_spawn(f->b, joins_target, &f->t, NULL, &f->j), 0);
	CHECK(asup_rt_run_until_idle(f->b) >= 1);
	CHECK_EQ(asup_rt_run(f->a, foreign_call, f, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(f->rc, -EXDEV);
	/* From outside any runtime, B's handles work as before. */
	CHECK_EQ(asup_task_is_finished(&f->t), 0);
}

/* T was not touched: moving B's time lets it finish Ok with its value. */
static void expect_t_untouched(struct fixture *f)
{
	asup_outcome o;

	CHECK_EQ(asup_rt_advance(f->b, HOUR), 0);
	CHECK(asup_rt_run_until_idle(f->b) >= 1);
	CHECK_EQ(asup_task_try_join(&f->t, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(o.value, 7);
}

/* J's join is cancelled from outside: the drop abort reaches T with the
 * drop reason T's handle had before A's call (USER, not defused). */
static void expect_drop_abort_unchanged(struct fixture *f)
{
	asup_outcome o;

	CHECK_EQ(asup_task_abort(&f->j), 0);
	CHECK(asup_rt_run_until_idle(f->b) >= 1);
	CHECK_EQ(asup_task_try_join(&f->j, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(asup_task_is_finished(&f->t), 1); /* aborted: it was not defused */
	CHECK_EQ(asup_task_try_join(&f->t, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(o.reason.kind, ASUP_CANCEL_USER);
}

static void teardown(struct fixture *f)
{
	test_rt_done(f->a);
	test_rt_done(f->b);
}

TEST(abort_of_another_runtimes_task_is_refused_and_changes_nothing)
{
	struct fixture f;
	setup(&f, OP_ABORT, 0);
	expect_t_untouched(&f);
	teardown(&f);
}

TEST(abort_with_of_another_runtimes_task_is_refused_and_changes_nothing)
{
	struct fixture f;
	setup(&f, OP_ABORT_WITH, 0);
	expect_t_untouched(&f);
	teardown(&f);
}

TEST(try_join_of_another_runtimes_task_is_refused_and_keeps_the_handle)
{
	struct fixture f;
	setup(&f, OP_TRY_JOIN, 0);
	expect_t_untouched(&f); /* the handle still joins: it was not consumed */
	teardown(&f);
}

TEST(join_of_another_runtimes_task_is_refused_and_keeps_the_handle)
{
	struct fixture f;
	setup(&f, OP_JOIN, 0);
	expect_t_untouched(&f);
	teardown(&f);
}

TEST(release_of_another_runtimes_task_is_refused_and_keeps_the_handle)
{
	struct fixture f;
	setup(&f, OP_RELEASE, 0);
	expect_t_untouched(&f);
	teardown(&f);
}

TEST(is_finished_of_another_runtimes_task_is_refused)
{
	struct fixture f;
	setup(&f, OP_IS_FINISHED, 0);
	expect_t_untouched(&f);
	teardown(&f);
}

TEST(set_drop_reason_of_another_runtimes_task_is_refused_and_changes_nothing)
{
	struct fixture f;
	setup(&f, OP_DROP_REASON, 1);
	expect_drop_abort_unchanged(&f);
	teardown(&f);
}

TEST(defuse_of_another_runtimes_task_is_refused_and_changes_nothing)
{
	struct fixture f;
	setup(&f, OP_DEFUSE, 1);
	expect_drop_abort_unchanged(&f);
	teardown(&f);
}

/* ---- a cx and a handle used from another thread ---- */

#define FOREIGN_CALLS 400

struct xthread {
	asup_cx *cx;
	asup_task h;         /* a task of the runtime the main thread drives */
	asup_chan *ch;       /* a channel of it, one element queued */
	asup_mutex m;        /* bound to it */
	atomic_int done;
	int refused;         /* calls answered -ASUP_ENOTASK */
	int handle_refused;  /* handle calls answered -EXDEV */
};

static void *foreign_thread(void *arg)
{
	struct xthread *x = arg;
	asup_task out;
	int v;

	for (int i = 0; i < FOREIGN_CALLS; i++) {
		x->refused += asup_checkpoint(x->cx) == -ASUP_ENOTASK;
		x->refused += asup_yield(x->cx) == -ASUP_ENOTASK;
		x->refused += asup_spawn(x->cx, sleeps_then_7, NULL, NULL, &out) == -ASUP_ENOTASK;
		x->refused += asup_sleep(x->cx, 1) == -ASUP_ENOTASK;
		x->handle_refused += asup_task_abort(&x->h) == -EXDEV;
		x->handle_refused += asup_task_is_finished(&x->h) == -EXDEV;
		x->handle_refused += asup_chan_try_recv(x->ch, &v) == -EXDEV;
		x->handle_refused += asup_mutex_is_locked(&x->m) == -EXDEV;
	}
	atomic_store(&x->done, 1);
	return NULL;
}

static int64_t keeps_running(asup_cx *cx, void *arg)
{
	struct xthread *x = arg;
	pthread_t th;
	asup_outcome o;
	int v = 3;

	CHECK_EQ(asup_spawn(cx, sleeps_then_7, NULL, NULL, &x->h), 0);
	CHECK_EQ(asup_chan_open(cx, sizeof(int), 1, &x->ch), 0);
	CHECK_EQ(asup_chan_send(cx, x->ch, &v), 0);
	asup_mutex_init(&x->m);
	CHECK_EQ(asup_mutex_lock(cx, &x->m), 0);
	x->cx = cx;
	CHECK_EQ(pthread_create(&th, NULL, foreign_thread, x), 0);
	/* The task stays the running one (it only yields) while the other
	 * thread uses its cx. */
	while (!atomic_load(&x->done))
		CHECK_EQ(asup_yield(cx), 0);
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_EQ(asup_task_is_finished(&x->h), 0); /* the abort did not reach it */
	CHECK_EQ(asup_chan_try_recv(x->ch, &v), 0);  /* the element is still there */
	CHECK_EQ(v, 3);
	CHECK_EQ(asup_mutex_unlock(cx, &x->m), 0);
	CHECK_EQ(asup_task_abort(&x->h), 0);       /* from its own runtime it does */
	CHECK_EQ(asup_join(cx, &x->h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	return 0;
}

/* The other thread drives no runtime: its handle, channel and mutex calls
 * are refused because the main thread is driving their runtime. */
TEST(cx_used_from_another_thread_while_its_task_runs_is_refused)
{
	asup_rt *rt = test_rt(ASUP_MODE_REAL, 1);
	struct xthread x;
	asup_outcome o;

	memset(&x, 0, sizeof x);
	CHECK_EQ(asup_rt_run(rt, keeps_running, &x, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(o.value, 0);
	CHECK_EQ(x.refused, 4 * FOREIGN_CALLS);
	CHECK_EQ(x.handle_refused, 4 * FOREIGN_CALLS);
	test_rt_done(rt);
}
