/* Promises of rt.h that no other test checked, through the public API. */
#include "testrt.h"

#include <asupersync/ext.h>
#include <asupersync/lab.h>
#include <errno.h>
#include <pthread.h>

static int64_t noop(asup_cx *cx, void *arg)
{
	(void)cx;
	(void)arg;
	return 0;
}

TEST(rt_spawn_local_is_always_enolocal_and_creates_nothing)
{
	asup_rt *rt = test_rt(ASUP_MODE_DETERMINISTIC, 1);
	asup_task h;
	asup_rt_stats before = test_stats(rt), after;

	CHECK_EQ(asup_rt_spawn_local(rt, noop, NULL, NULL, &h), -ASUP_ENOLOCAL);
	CHECK_EQ(asup_rt_spawn_local(rt, NULL, NULL, NULL, &h), -EINVAL);
	CHECK_EQ(asup_rt_spawn_local(rt, noop, NULL, NULL, NULL), -EINVAL);
	after = test_stats(rt);
	CHECK_EQ(after.tasks_spawned, before.tasks_spawned);
	CHECK_EQ(after.tasks_live, 0);
	CHECK_EQ(asup_rt_run_until_idle(rt), 0);
	test_rt_done(rt);
}

static int64_t park_forever(asup_cx *cx, void *arg)
{
	(void)arg;
	return asup_park(cx);
}

TEST(rt_cancel_refuses_a_lab_runtime_with_eperm)
{
	asup_lab_config cfg;
	asup_lab *lab;
	asup_task h;

	asup_lab_config_init(&cfg);
	CHECK_EQ(asup_lab_create(&cfg, &lab), 0);
	CHECK_EQ(asup_lab_spawn(lab, park_forever, NULL, NULL, &h), 0);
	CHECK_EQ(asup_lab_step(lab), 1);
	CHECK_EQ(asup_rt_cancel(asup_lab_rt(lab), ASUP_CANCEL_USER, NULL), -EPERM);
	CHECK_EQ(asup_task_is_finished(&h), 0);
	CHECK_EQ(asup_lab_destroy(lab), 0);
}

static int64_t cx_dump_unwritable(asup_cx *cx, void *arg)
{
	FILE *ro = arg;

	CHECK_EQ(asup_cx_dump(cx, ro), -EIO);
	CHECK_EQ(asup_cx_dump(cx, NULL), -EINVAL);
	return 0;
}

TEST(dump_to_a_stream_that_cannot_be_written_returns_eio)
{
	asup_rt *rt = test_rt(ASUP_MODE_DETERMINISTIC, 1);
	FILE *ro = fopen("/dev/null", "r");
	asup_outcome o;

	CHECK(ro != NULL);
	CHECK_EQ(asup_rt_dump(rt, ro), -EIO);
	CHECK_EQ(asup_rt_run(rt, cx_dump_unwritable, ro, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	fclose(ro);
	test_rt_done(rt);
}

static int64_t sleep_1s(asup_cx *cx, void *arg)
{
	int *woke = arg;

	CHECK_EQ(asup_sleep(cx, ASUP_SEC(1)), 0);
	*woke = 1;
	return 0;
}

TEST(step_auto_advances_virtual_time_to_the_next_timer_only_when_nothing_is_runnable)
{
	asup_rt *rt = test_rt(ASUP_MODE_DETERMINISTIC, 1);
	asup_task h;
	int woke = 0;

	CHECK_EQ(asup_rt_spawn(rt, sleep_1s, &woke, NULL, &h), 0);
	CHECK_EQ(asup_rt_step(rt), 1); /* runs until it sleeps */
	CHECK_EQ(asup_rt_now(rt), 0);
	/* Nothing runnable, a timer armed: the step moves time to it and runs
	 * the task it woke. */
	CHECK_EQ(asup_rt_step(rt), 1);
	CHECK_EQ(asup_rt_now(rt), ASUP_SEC(1));
	CHECK_EQ(woke, 1);
	CHECK_EQ(asup_rt_step(rt), 0);
	CHECK_EQ(asup_rt_now(rt), ASUP_SEC(1));
	CHECK_EQ(asup_task_release(&h), 0);
	test_rt_done(rt);
}

TEST(without_auto_advance_step_returns_zero_and_time_stands_until_advanced)
{
	asup_rt_config cfg;
	asup_rt *rt;
	asup_task h;
	int woke = 0;

	asup_rt_config_init(&cfg);
	cfg.mode = ASUP_MODE_DETERMINISTIC;
	cfg.auto_advance = 0;
	rt = test_rt_cfg(&cfg);
	CHECK_EQ(asup_rt_spawn(rt, sleep_1s, &woke, NULL, &h), 0);
	CHECK_EQ(asup_rt_step(rt), 1);
	CHECK_EQ(asup_rt_step(rt), 0);
	CHECK_EQ(asup_rt_now(rt), 0);
	CHECK_EQ(asup_rt_advance(rt, ASUP_SEC(1) - 1), 0);
	CHECK_EQ(asup_rt_step(rt), 0);
	CHECK_EQ(asup_rt_advance(rt, 1), 0);
	CHECK_EQ(asup_rt_step(rt), 1);
	CHECK_EQ(woke, 1);
	CHECK_EQ(asup_task_release(&h), 0);
	test_rt_done(rt);
}

TEST(an_unknown_io_backend_is_a_bad_config_named_io_backend)
{
	asup_rt_config cfg;
	asup_rt *rt = NULL;
	const char *field = NULL;

	asup_rt_config_init(&cfg);
	CHECK_EQ(cfg.io_backend, ASUP_IO_AUTO);
	CHECK(cfg.report == asup_report_stderr);
	cfg.io_backend = (asup_io_backend)7;
	CHECK_EQ(asup_rt_config_check(&cfg, &field), -EINVAL);
	CHECK(field != NULL);
	CHECK_STR_EQ(field, "io_backend");
	CHECK_EQ(asup_rt_create(&cfg, &rt), -EINVAL);
	CHECK(rt == NULL);
}

/* ---- leak escalation ---- */

static int leak_reports;

static void count_leaks(void *ud, const asup_report *r)
{
	(void)ud;
	if (r->kind == ASUP_REPORT_OBLIGATION_LEAK)
		leak_reports++;
}

static int64_t leak_one(asup_cx *cx, void *arg)
{
	uint64_t id;

	(void)arg;
	CHECK_EQ(asup_obligation_reserve(cx, ASUP_OBLIGATION_ACK, "leaked", &id), 0);
	return 0; /* ends holding it */
}

static int64_t leak_three(asup_cx *cx, void *arg)
{
	for (int i = 0; i < 3; i++) {
		asup_task h;

		CHECK_EQ(asup_spawn(cx, leak_one, arg, NULL, &h), 0);
		CHECK_EQ(asup_join(cx, &h, NULL), 0);
	}
	return 0;
}

TEST(the_leak_that_reaches_leak_escalate_after_and_later_ones_get_the_escalated_response)
{
	asup_rt_config cfg;
	asup_rt *rt;
	asup_outcome o;
	asup_rt_stats st;

	asup_rt_config_init(&cfg);
	cfg.mode = ASUP_MODE_DETERMINISTIC;
	cfg.report = count_leaks;
	cfg.leak_response = ASUP_LEAK_LOG;
	cfg.leak_escalate_after = 2;
	cfg.leak_escalate_to = ASUP_LEAK_SILENT;
	rt = test_rt_cfg(&cfg);
	CHECK_EQ(asup_rt_run(rt, leak_three, NULL, &o), 0);
	st = test_stats(rt);
	CHECK_EQ(st.leaks_detected, 3);
	CHECK_EQ(st.obligations_leaked, 3);
	/* The first is logged; the second reaches the threshold and, like the
	 * third, is silent. */
	CHECK_EQ(leak_reports, 1);
	test_rt_done(rt);
}

/* ---- the blocking pool's size ---- */

static pthread_t driver;

static int64_t where_am_i(asup_blocking *b, void *arg)
{
	(void)b;
	*(int *)arg = pthread_equal(pthread_self(), driver) ? 1 : 2;
	return 0;
}

static int64_t run_blocking(asup_cx *cx, void *arg)
{
	asup_task h;
	asup_outcome o;

	CHECK_EQ(asup_spawn_blocking(cx, where_am_i, arg, NULL, &h), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	return 0;
}

TEST(blocking_threads_zero_runs_blocking_work_inline_and_more_runs_it_on_a_pool_thread)
{
	asup_rt_config cfg;
	asup_rt *rt;
	asup_outcome o;
	int where = 0;

	driver = pthread_self();
	asup_rt_config_init(&cfg);
	CHECK_EQ(cfg.blocking_threads, 4);
	cfg.blocking_threads = 0;
	rt = test_rt_cfg(&cfg);
	CHECK_EQ(asup_rt_run(rt, run_blocking, &where, &o), 0);
	CHECK_EQ(where, 1);
	test_rt_done(rt);

	asup_rt_config_init(&cfg);
	rt = test_rt_cfg(&cfg);
	where = 0;
	CHECK_EQ(asup_rt_run(rt, run_blocking, &where, &o), 0);
	CHECK_EQ(where, 2);
	test_rt_done(rt);
}
