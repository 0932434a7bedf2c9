/* Fibers: switching, stack pooling, deep recursion, the overflow report. */
#include "harness.h"
#include <asupersync.h>

#include <signal.h>
#include <sys/wait.h>

#include "fiber/fiber.h"

/* ---- raw switches keep callee-saved state ---- */

static asup__fiber thread_f, fib;
static volatile long counter;
static double fval;

static void body(void *arg)
{
	double local = 1.5;
	long mine = 0;
	asup__fiber_enter();
	for (;;) {
		mine++;
		local *= 2.0;
		counter = mine;
		fval = local;
		asup__fiber_switch(&fib, &thread_f);
	}
}

TEST(switch_round_trips_keep_state)
{
	asup__stack_pool pool;
	asup__stack *s;
	long acc = 0;
	double d = 0.25;

	asup__stack_pool_init(&pool, 64 * 1024, 4);
	CHECK_EQ(asup__stack_get(&pool, 0, &s), 0);
	asup__fiber_init_thread(&thread_f, "test");
	asup__fiber_set_current(&thread_f);
	asup__fiber_init(&fib, s, body, NULL);
	for (long i = 1; i <= 1000; i++) {
		acc += i;
		d += 1.0;
		asup__fiber_switch(&thread_f, &fib);
		CHECK_EQ(counter, i); /* the fiber's own locals survived */
		if (i <= 10)
			CHECK(fval == 1.5 * (double)(1L << i));
	}
	CHECK_EQ(acc, 500500); /* and ours did too */
	CHECK(d == 1000.25);
	asup__fiber_set_current(NULL);
	asup__fiber_fini(&fib);
	asup__stack_put(&pool, s);
	asup__stack_pool_destroy(&pool);
}

TEST(stack_pool_reuses_warm_stacks)
{
	asup__stack_pool pool;
	asup__stack *a, *b, *c;

	asup__stack_pool_init(&pool, 32 * 1024, 1);
	CHECK_EQ(asup__stack_get(&pool, 0, &a), 0);
	CHECK_EQ(asup__stack_get(&pool, 0, &b), 0);
	CHECK_EQ(pool.mapped, 2);
	asup__stack_put(&pool, a);
	CHECK_EQ(asup__stack_get(&pool, 0, &c), 0);
	CHECK(c == a); /* LIFO: the warmest one */
	CHECK_EQ(pool.reused, 1);
	asup__stack_put(&pool, c);
	asup__stack_put(&pool, b);
	CHECK_EQ(pool.count, 2);
	CHECK(a->size >= 32 * 1024 - 128);
	asup__stack_pool_trim(&pool); /* down to max = 1: the coldest (a) goes */
	CHECK_EQ(pool.count, 1);
	asup__stack_pool_destroy(&pool);
	CHECK_EQ(pool.count, 0);
}

TEST(stack_sizes_are_validated)
{
	CHECK_EQ(asup__stack_round(0), 0);
	CHECK_EQ(asup__stack_round(4096), 0);
	CHECK_EQ(asup__stack_round((size_t)2 << 30), 0);
	CHECK_EQ(asup__stack_round(16 * 1024), 16 * 1024);
	CHECK_EQ(asup__stack_round(20000) % 4096, 0);
}

/* ---- deep recursion within the stack size ---- */

static int64_t recurse(int depth)
{
	volatile char frame[512];
	frame[0] = (char)depth;
	if (depth == 0)
		return frame[0];
	return recurse(depth - 1) + frame[0] - depth + 1;
}

static int64_t deep_task(asup_cx *cx, void *arg)
{
	/* ~100 frames of > 512 bytes: about 60 KiB of a 128 KiB stack */
	return recurse(100);
}

TEST(deep_recursion_within_stack_size)
{
	asup_rt_config cfg;
	asup_rt *rt;
	asup_outcome o;
	asup_rt_config_init(&cfg);
	cfg.stack_size = 128 * 1024;
	CHECK_EQ(asup_rt_create(&cfg, &rt), 0);
	CHECK_EQ(asup_rt_run(rt, deep_task, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(o.value, 100);
	CHECK_EQ(asup_rt_destroy(rt), 0);
}

/* ---- the overflow report, in a child process ---- */

static volatile int keep_going = 1;

static int64_t unbounded(int depth)
{
	volatile char frame[256];
	frame[0] = (char)depth;
	if (!keep_going)
		return frame[0];
	return unbounded(depth + 1) + frame[0];
}

static int64_t overflowing_task(asup_cx *cx, void *arg)
{
	return unbounded(0);
}

static int64_t overflow_root(asup_cx *cx, void *arg)
{
	asup_spawn_opts o;
	asup_task h;
	asup_spawn_opts_init(&o);
	o.name = "deep_recursion_task";
	o.stack_size = 32 * 1024;
	CHECK_EQ(asup_spawn(cx, overflowing_task, NULL, &o, &h), 0);
	return asup_join(cx, &h, NULL);
}

TEST(stack_overflow_is_reported_by_task_name)
{
	int pipefd[2], status = 0;
	char buf[1024];
	ssize_t n, total = 0;
	pid_t pid;

	if (harness_under_valgrind())
		SKIP("valgrind reports the overflow itself");
#if defined(__SANITIZE_ADDRESS__)
	SKIP("ASan takes over stack overflows");
#endif
	CHECK_EQ(pipe(pipefd), 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		asup_rt_config cfg;
		asup_rt *rt;
		asup_outcome out;
		dup2(pipefd[1], 2);
		close(pipefd[0]);
		asup_rt_config_init(&cfg);
		if (asup_rt_create(&cfg, &rt) == 0 && asup_rt_run(rt, overflow_root, NULL, &out) == 0)
			_exit(3);
		_exit(0); /* not reached: the overflow kills the process */
	}
	close(pipefd[1]);
	while ((n = read(pipefd[0], buf + total, sizeof buf - 1 - (size_t)total)) > 0)
		total += n;
	buf[total] = 0;
	close(pipefd[0]);
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFSIGNALED(status));
	CHECK_EQ(WTERMSIG(status), SIGSEGV);
	CHECK(strstr(buf, "stack overflow in task 'deep_recursion_task'") != NULL);
}
