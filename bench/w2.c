/*
 * W2: context switching, as the peers define it (../shared/peers/README.md).
 *
 *   ns_per_yield   two tasks each call asup_yield 5,000,000 times under
 *                  asup_rt_run (10 M yields in all; each hands the CPU to the
 *                  other task). Wall time from the spawns to the last join /
 *                  10 M, like tokio's and Go's W2.
 *   ns_per_switch  the raw switch of the fiber layer, with no scheduler:
 *                  ping-pong between the thread's own fiber and one fiber on
 *                  a pooled stack, 10 M one-way switches (5 M round trips)
 *                  after one warm-up round trip; ns per one-way switch. The
 *                  same definition as boostctx's fcontext_ns_per_switch.
 *
 * Prints:  W2 asup st ns_per_yield X
 *          W2 asup st ns_per_switch X
 * Usage:   bench_w2 [--quick | DIV]   --quick: a tenth of the work; DIV: 1/DIV
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
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "bench_w2: %s: %s\n", what, asup_strerror(rc));
	exit(1);
}

static long parse_div(int argc, char **argv)
{
	if (argc < 2)
		return 1;
	if (strcmp(argv[1], "--quick") == 0)
		return 10;
	char *end;
	long d = strtol(argv[1], &end, 10);
	if (*end || d < 1) {
		fprintf(stderr, "usage: %s [--quick | DIV]\n", argv[0]);
		exit(2);
	}
	return d;
}

/* ---- scheduler-level yield ---- */

static int64_t yielder(asup_cx *cx, void *arg)
{
	int rc;
	(void)arg;
	for (long i = 0; i < n_yields; i++)
		if ((rc = asup_yield(cx)) < 0)
			die("yield", rc);
	return n_yields;
}

static int64_t yield_root(asup_cx *cx, void *arg)
{
	double *ns = arg, t0;
	asup_task a, b;
	asup_outcome oa, ob;
	int rc;

	t0 = now_ns();
	if ((rc = asup_spawn(cx, yielder, NULL, NULL, &a)) < 0 ||
	    (rc = asup_spawn(cx, yielder, NULL, NULL, &b)) < 0)
		die("spawn", rc);
	if ((rc = asup_join(cx, &a, &oa)) < 0 || (rc = asup_join(cx, &b, &ob)) < 0)
		die("join", rc);
	*ns = (now_ns() - t0) / (2.0 * (double)n_yields);
	if (oa.kind != ASUP_OUTCOME_OK || ob.kind != ASUP_OUTCOME_OK || oa.value != n_yields ||
	    ob.value != n_yields)
		die("yield count", -EINVAL);
	return 0;
}

/* ---- raw fiber switch: thread fiber <-> one fiber ---- */

static asup__fiber thread_f, fib;
static long fib_rounds; /* switches the fiber makes back to the thread */

static void fib_body(void *arg)
{
	(void)arg;
	asup__fiber_enter();
	for (long i = 0; i < fib_rounds; i++)
		asup__fiber_switch(&fib, &thread_f);
	asup__fiber_switch_final(&fib, &thread_f);
}

static double raw_switch(void)
{
	asup__stack_pool pool;
	asup__stack *s;
	const long rounds = n_switches / 2;
	double t0, el;

	asup__stack_pool_init(&pool, ASUP__STACK_DEFAULT, 4);
	if (asup__stack_get(&pool, 0, &s) < 0)
		die("stack", -ENOMEM);
	asup__fiber_init_thread(&thread_f, "bench");
	asup__fiber_set_current(&thread_f);
	fib_rounds = 1 + rounds; /* warm-up + measured */
	asup__fiber_init(&fib, s, fib_body, NULL);

	asup__fiber_switch(&thread_f, &fib); /* warm-up round trip */
	t0 = now_ns();
	for (long i = 0; i < rounds; i++)
		asup__fiber_switch(&thread_f, &fib);
	el = now_ns() - t0;
	asup__fiber_switch(&thread_f, &fib); /* lets the fiber finish */

	asup__fiber_set_current(NULL);
	asup__fiber_fini(&fib);
	asup__stack_put(&pool, s);
	asup__stack_pool_destroy(&pool);
	return el / (double)(2 * rounds);
}

int main(int argc, char **argv)
{
	asup_rt_config cfg;
	asup_rt *rt;
	asup_outcome o;
	double ns = 0;
	long div = parse_div(argc, argv);
	int rc;

	n_yields /= div;
	n_switches /= div;
	if (n_yields < 1)
		n_yields = 1;
	if (n_switches < 2)
		n_switches = 2;
	asup_rt_config_init(&cfg);
	if ((rc = asup_rt_create(&cfg, &rt)) < 0)
		die("rt_create", rc);
	if ((rc = asup_rt_run(rt, yield_root, &ns, &o)) < 0)
		die("rt_run", rc);
	if (o.kind != ASUP_OUTCOME_OK)
		die("root outcome", -EINVAL);
	asup_rt_destroy(rt);
	printf("W2 asup st ns_per_yield %.2f\n", ns);
	printf("W2 asup st ns_per_switch %.2f\n", raw_switch());
	return 0;
}
