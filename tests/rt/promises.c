/* Promises of rt.h that no other test checked, through the public API. */
#include "testrt.h"

#include <asupersync/ext.h>
#include <asupersync/lab.h>
#include <errno.h>

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
