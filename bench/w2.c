/*
 * W2: context switching.
 *
 *   ns_per_yield   two tasks each call asup_yield 5,000,000 times (10 M
 *                  yields in all; each one hands the CPU to the other task).
 *   ns_per_switch  the raw fiber-to-fiber switch of the fiber layer: two
 *                  fibers ping-pong 10 M one-way switches through the same
 *                  switch site, as the scheduler's suspend path does.
 *
 * Prints:  W2 asup st ns_per_yield X
 *          W2 asup st ns_per_switch X
 * Usage:   bench_w2 [--quick]   (--quick: a tenth of the work)
 */
#include <asupersync.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fiber/fiber.h"

static long n_yields = 5000000;    /* per task */
static long n_switches = 10000000; /* one-way, in all */

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "bench_w2: %s: %s\n", what, asup_strerror(rc));
	exit(1);
}

static int64_t yielder(asup_cx *cx, void *arg)
{
	int rc;
	for (long i = 0; i < n_yields; i++)
		if ((rc = asup_yield(cx)) < 0)
			die("yield", rc);
	return 0;
}

static int64_t yield_root(asup_cx *cx, void *arg)
{
	double *ns = arg, t0 = now_ns();
	asup_task a, b;
	int rc;
	if ((rc = asup_spawn(cx, yielder, NULL, NULL, &a)) < 0 ||
	    (rc = asup_spawn(cx, yielder, NULL, NULL, &b)) < 0)
		die("spawn", rc);
	if ((rc = asup_join(cx, &a, NULL)) < 0 || (rc = asup_join(cx, &b, NULL)) < 0)
		die("join", rc);
	*ns = (now_ns() - t0) / (2.0 * (double)n_yields);
	return 0;
}

/* ---- raw switch ---- */

static asup__fiber thread_f, fa, fb;
static double t_start, t_end;

static void pingpong(asup__fiber *self, asup__fiber *other)
{
	for (long i = 0; i < n_switches / 2; i++)
		asup__fiber_switch(self, other);
}

static void body_a(void *arg)
{
	asup__fiber_enter();
	t_start = now_ns();
	pingpong(&fa, &fb);
	t_end = now_ns();
	asup__fiber_switch(&fa, &thread_f);
}

static void body_b(void *arg)
{
	asup__fiber_enter();
	pingpong(&fb, &fa);
	for (;;) /* a's last switch returns to the thread, never here */
		asup__fiber_switch(&fb, &fa);
}

static double raw_switch(void)
{
	asup__stack_pool pool;
	asup__stack *sa, *sb;
	asup__stack_pool_init(&pool, 64 * 1024, 4);
	if (asup__stack_get(&pool, 0, &sa) < 0 || asup__stack_get(&pool, 0, &sb) < 0)
		die("stack", -ENOMEM);
	asup__fiber_init_thread(&thread_f, "bench");
	asup__fiber_set_current(&thread_f);
	asup__fiber_init(&fa, sa, body_a, NULL);
	asup__fiber_init(&fb, sb, body_b, NULL);
	asup__fiber_switch(&thread_f, &fa);
	asup__fiber_set_current(NULL);
	asup__fiber_fini(&fa);
	asup__fiber_fini(&fb);
	asup__stack_put(&pool, sa);
	asup__stack_put(&pool, sb);
	asup__stack_pool_destroy(&pool);
	return (t_end - t_start) / (double)n_switches;
}

int main(int argc, char **argv)
{
	asup_rt_config cfg;
	asup_rt *rt;
	asup_outcome o;
	double ns = 0;
	int rc;

	if (argc > 1 && strcmp(argv[1], "--quick") == 0) {
		n_yields /= 10;
		n_switches /= 10;
	}
	asup_rt_config_init(&cfg);
	if ((rc = asup_rt_create(&cfg, &rt)) < 0)
		die("rt_create", rc);
	if ((rc = asup_rt_run(rt, yield_root, &ns, &o)) < 0)
		die("rt_run", rc);
	asup_rt_destroy(rt);
	printf("W2 asup st ns_per_yield %.2f\n", ns);
	printf("W2 asup st ns_per_switch %.2f\n", raw_switch());
	return 0;
}
