/*
 * The guard page below every task stack and the overflow report: each case
 * crashes a forked child on purpose and checks how it died and what it
 * printed on stderr.
 *
 * Valgrind runs the program on its own stacks and reports the fault itself,
 * so these cases are skipped under it.
 */
#include "testrt.h"

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "fiber/fiber.h"

struct crash {
	int status;
	char err[2048];
};

/* Runs fn in a child whose stderr goes to a pipe; collects both. */
static void run_child(void (*fn)(void), struct crash *c)
{
	int pipefd[2];
	ssize_t n, total = 0;
	pid_t pid;

	fflush(NULL);
	CHECK_EQ(pipe(pipefd), 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(pipefd[0]);
		dup2(pipefd[1], 2);
		close(pipefd[1]);
		alarm(30);
		fn();
		_exit(3); /* the child was expected to crash */
	}
	close(pipefd[1]);
	while ((n = read(pipefd[0], c->err + total, sizeof c->err - 1 - (size_t)total)) > 0)
		total += n;
	c->err[total] = 0;
	close(pipefd[0]);
	CHECK_EQ(waitpid(pid, &c->status, 0), pid);
}

/* Ends the case as skipped where a tool owns stack faults. */
static void skip_where_faults_are_taken_over(void)
{
	if (harness_under_valgrind())
		SKIP("valgrind replaces the stacks and reports faults itself");
#if defined(__SANITIZE_THREAD__)
	SKIP("TSan takes over SIGSEGV");
#endif
}

static void expect_segv(const struct crash *c)
{
	if (!WIFSIGNALED(c->status) || WTERMSIG(c->status) != SIGSEGV) {
		fprintf(stderr, "child status 0x%x, stderr:\n%s\n", c->status, c->err);
		CHECK(0);
	}
}

/* A fault our handler passes on: under ASan, ASan's own handler reports it
 * and exits; otherwise the default action kills the child. */
static void expect_fault_passed_on(const struct crash *c)
{
#if defined(__SANITIZE_ADDRESS__)
	int ok = WIFSIGNALED(c->status) || (WIFEXITED(c->status) && WEXITSTATUS(c->status) != 0 &&
	                                    WEXITSTATUS(c->status) < 3);
	if (!ok)
		fprintf(stderr, "child status 0x%x, stderr:\n%s\n", c->status, c->err);
	CHECK(ok);
#else
	expect_segv(c);
#endif
}

/* ---- overflowing tasks ---- */

static volatile int keep_going = 1;

static __attribute__((noinline)) int64_t forever(int depth)
{
	volatile char frame[256];
	frame[0] = (char)depth;
	if (!keep_going)
		return frame[0];
	return forever(depth + 1) + frame[0]; /* not a tail call */
}

static int64_t overflowing(asup_cx *cx, void *arg)
{
	return forever(0);
}

static size_t child_stack; /* 0 = the runtime's default */
static const char *child_name;

static int64_t spawn_overflowing(asup_cx *cx, void *arg)
{
	asup_spawn_opts o;
	asup_task h;
	asup_spawn_opts_init(&o);
	o.name = child_name;
	o.stack_size = child_stack;
	CHECK_EQ(asup_spawn(cx, overflowing, NULL, &o, &h), 0);
	return asup_join(cx, &h, NULL);
}

static int report_on = 1;

static void runtime_with_overflowing_task(void)
{
	asup_rt_config cfg;
	asup_rt *rt;
	asup_outcome o;
	asup_rt_config_init(&cfg);
	cfg.overflow_report = report_on;
	if (asup_rt_create(&cfg, &rt) != 0)
		_exit(4);
	if (asup_rt_run(rt, spawn_overflowing, NULL, &o) != 0)
		_exit(6);
}

TEST(task_overflow_is_reported_by_name)
{
	struct crash c;
	skip_where_faults_are_taken_over();
	child_name = "deep_recursion_task";
	child_stack = 0;
	run_child(runtime_with_overflowing_task, &c);
	expect_segv(&c);
	CHECK(strstr(c.err, "stack overflow in task 'deep_recursion_task'") != NULL);
}

TEST(overflow_of_a_small_custom_stack_is_reported)
{
	struct crash c;
	skip_where_faults_are_taken_over();
	/* the name is cut to 31 bytes in the record and so in the report */
	child_name = "a_task_with_a_rather_long_name_0123456789";
	child_stack = 20 * 1024;
	run_child(runtime_with_overflowing_task, &c);
	expect_segv(&c);
	CHECK(strstr(c.err, "stack overflow in task 'a_task_with_a_rather_long_name_'") != NULL);
}

static void *thread_body(void *arg)
{
	runtime_with_overflowing_task();
	return NULL;
}

static void overflow_on_second_thread(void)
{
	pthread_t t;
	if (pthread_create(&t, NULL, thread_body, NULL) != 0)
		_exit(5);
	pthread_join(t, NULL);
}

TEST(overflow_on_another_thread_is_reported)
{
	struct crash c;
	skip_where_faults_are_taken_over();
	child_name = "worker_thread_task";
	child_stack = 0;
	run_child(overflow_on_second_thread, &c);
	expect_segv(&c);
	CHECK(strstr(c.err, "stack overflow in task 'worker_thread_task'") != NULL);
}

TEST(no_report_when_reports_are_off)
{
	struct crash c;
	skip_where_faults_are_taken_over();
	child_name = "quiet_task";
	child_stack = 0;
	report_on = 0;
	run_child(runtime_with_overflowing_task, &c);
	report_on = 1;
	expect_fault_passed_on(&c); /* the guard page still stops it */
	CHECK(strstr(c.err, "stack overflow in task") == NULL);
}

/* ---- large frames and the step-wise drivers ---- */

/* Frames of `big_frame` bytes that write only their lowest byte: the second
 * frame starts tens of KiB below the first, so a one-page guard would be
 * stepped over. This file is built without stack-clash probes (see
 * CMakeLists.txt), so nothing else touches the pages in between. */
static size_t big_frame;

static __attribute__((noinline)) int64_t big_frames(int depth)
{
	volatile char *frame = __builtin_alloca(big_frame);
	frame[0] = (char)depth;
	if (!keep_going)
		return frame[0];
	return big_frames(depth + 1) + frame[0];
}

static int64_t overflowing_big(asup_cx *cx, void *arg)
{
	return big_frames(0);
}

static void spawn_big(asup_rt *rt, const char *name)
{
	asup_spawn_opts o;
	asup_task h;
	asup_spawn_opts_init(&o);
	o.name = name;
	o.stack_size = 64 * 1024;
	if (asup_rt_spawn(rt, overflowing_big, NULL, &o, &h) != 0)
		_exit(4);
}

static int64_t spawn_big_and_join(asup_cx *cx, void *arg)
{
	asup_spawn_opts o;
	asup_task h;
	asup_spawn_opts_init(&o);
	o.name = "big_frames";
	o.stack_size = 64 * 1024;
	CHECK_EQ(asup_spawn(cx, overflowing_big, NULL, &o, &h), 0);
	return asup_join(cx, &h, NULL);
}

static void run_big_frames(void)
{
	asup_rt_config cfg;
	asup_rt *rt;
	asup_outcome o;
	asup_rt_config_init(&cfg);
	if (asup_rt_create(&cfg, &rt) != 0)
		_exit(4);
	if (asup_rt_run(rt, spawn_big_and_join, NULL, &o) != 0)
		_exit(6);
}

static const size_t big_sizes[] = {16 * 1024, 32 * 1024, 48 * 1024};

TEST(large_frame_overflow_is_reported_by_name)
{
	skip_where_faults_are_taken_over();
	for (size_t i = 0; i < sizeof big_sizes / sizeof big_sizes[0]; i++) {
		struct crash c;
		big_frame = big_sizes[i];
		run_child(run_big_frames, &c);
		expect_segv(&c);
		if (!strstr(c.err, "stack overflow in task 'big_frames'"))
			fprintf(stderr, "frame of %zu bytes: %s\n", big_frame, c.err);
		CHECK(strstr(c.err, "stack overflow in task 'big_frames'") != NULL);
	}
}

static asup_rt *det_rt(void)
{
	asup_rt_config cfg;
	asup_rt *rt;
	asup_rt_config_init(&cfg);
	cfg.mode = ASUP_MODE_DETERMINISTIC;
	if (asup_rt_create(&cfg, &rt) != 0)
		_exit(4);
	return rt;
}

static void overflow_under_step(void)
{
	asup_rt *rt = det_rt();
	spawn_big(rt, "stepped_task");
	while (asup_rt_step(rt) == 1)
		;
}

static void overflow_under_run_until_idle(void)
{
	asup_rt *rt = det_rt();
	spawn_big(rt, "idle_run_task");
	(void)asup_rt_run_until_idle(rt);
}

static void overflow_under_lab_step(void)
{
	asup_lab_config cfg;
	asup_lab *lab;
	asup_spawn_opts o;
	asup_task h;
	asup_lab_config_init(&cfg);
	if (asup_lab_create(&cfg, &lab) != 0)
		_exit(4);
	asup_spawn_opts_init(&o);
	o.name = "lab_stepped_task";
	if (asup_lab_spawn(lab, overflowing, NULL, &o, &h) != 0)
		_exit(4);
	while (asup_lab_step(lab) == 1)
		;
}

TEST(overflow_under_rt_step_is_reported_by_name)
{
	struct crash c;
	skip_where_faults_are_taken_over();
	big_frame = 32 * 1024;
	run_child(overflow_under_step, &c);
	expect_segv(&c);
	CHECK(strstr(c.err, "stack overflow in task 'stepped_task'") != NULL);
}

TEST(overflow_under_run_until_idle_is_reported_by_name)
{
	struct crash c;
	skip_where_faults_are_taken_over();
	big_frame = 32 * 1024;
	run_child(overflow_under_run_until_idle, &c);
	expect_segv(&c);
	CHECK(strstr(c.err, "stack overflow in task 'idle_run_task'") != NULL);
}

TEST(overflow_under_lab_step_is_reported_by_name)
{
	struct crash c;
	skip_where_faults_are_taken_over();
	run_child(overflow_under_lab_step, &c);
	expect_segv(&c);
	CHECK(strstr(c.err, "stack overflow in task 'lab_stepped_task'") != NULL);
}

/* ---- faults that are not overflows ---- */

static int64_t writes_null(asup_cx *cx, void *arg)
{
	*(volatile int *)arg = 1;
	return 0;
}

static void runtime_with_null_write(void)
{
	asup_rt_config cfg;
	asup_rt *rt;
	asup_outcome o;
	asup_rt_config_init(&cfg);
	if (asup_rt_create(&cfg, &rt) != 0)
		_exit(4);
	if (asup_rt_run(rt, writes_null, NULL, &o) != 0)
		_exit(6);
}

TEST(other_faults_in_tasks_are_not_called_overflows)
{
	struct crash c;
	skip_where_faults_are_taken_over();
	run_child(runtime_with_null_write, &c);
	expect_fault_passed_on(&c);
	CHECK(strstr(c.err, "stack overflow") == NULL);
}

/* ---- the guard page of a raw stack ---- */

static void touch_below_a_stack(void)
{
	asup__stack_pool pool;
	asup__stack *s;
	asup__stack_pool_init(&pool, 16 * 1024, 1);
	if (asup__stack_get(&pool, 0, &s) != 0)
		_exit(4);
	((volatile char *)s->lo)[0] = 1;  /* the lowest usable byte: fine */
	((volatile char *)s->lo)[-1] = 1; /* the guard page: fault */
}

TEST(guard_page_lies_just_below_the_usable_stack)
{
	struct crash c;
	skip_where_faults_are_taken_over();
	run_child(touch_below_a_stack, &c);
	expect_fault_passed_on(&c);
}

/* A writable neighbour mapped right below a stack's mapping: a write 60 KiB
 * below the stack would land in it with a one-page guard. */
static void touch_60k_below_a_stack(void)
{
	asup__stack_pool pool;
	asup__stack *s;
	char *below;
	asup__stack_pool_init(&pool, 64 * 1024, 1);
	if (asup__stack_get(&pool, 0, &s) != 0)
		_exit(4);
	below = mmap((char *)s->map - 256 * 1024, 256 * 1024, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (below == MAP_FAILED)
		_exit(77); /* the space below is taken (ASan's allocator lives there) */
	if (below != (char *)s->map - 256 * 1024)
		_exit(5);
	((volatile char *)s->lo)[-60 * 1024] = 1; /* inside the guard: fault */
}

TEST(guard_covers_64_kib_below_the_stack)
{
	struct crash c;
	skip_where_faults_are_taken_over();
	run_child(touch_60k_below_a_stack, &c);
	if (WIFEXITED(c.status) && WEXITSTATUS(c.status) == 77)
		SKIP("no room for a neighbour mapping below the stack");
	expect_fault_passed_on(&c);
}
