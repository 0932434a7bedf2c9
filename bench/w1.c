/*
 * W1: spawn and join 1,000,000 trivial tasks in batches of 10,000, as the
 * peers define it (../shared/peers/README.md): inside the root task, spawn a
 * batch, then join each handle in order; each task returns its index in the
 * batch and the joiner sums the values (the sum is checked). One warm-up
 * batch runs before the clock starts.
 *
 * Prints:  W1 asup st ns_per_task X       wall time / N (CLOCK_MONOTONIC)
 *          W1 asup st peak_rss_kb X       VmHWM at the end
 *          W1 asup st baseline_rss_kb X   VmRSS inside the root task, before
 *                                         the warm-up and the loop
 * Usage:   bench_w1 [--quick | DIV]   --quick: N/10; DIV: N/DIV (rounded
 *                                     down to whole batches, at least one)
 */
#include <asupersync.h>

#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N_FULL 1000000L
#define BATCH 10000L

static long n_tasks = N_FULL;
static asup_task handles[BATCH];

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "bench_w1: %s: %s\n", what, asup_strerror(rc));
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

static int64_t trivial(asup_cx *cx, void *arg)
{
	(void)cx;
	return (int64_t)(intptr_t)arg;
}

/* Spawns one batch, joins it in order; returns the sum of the results. */
static int64_t batch(asup_cx *cx)
{
	int64_t sum = 0;
	asup_outcome o;
	int rc;
	for (long i = 0; i < BATCH; i++)
		if ((rc = asup_spawn(cx, trivial, (void *)(intptr_t)i, NULL, &handles[i])) < 0)
			die("spawn", rc);
	for (long i = 0; i < BATCH; i++) {
		if ((rc = asup_join(cx, &handles[i], &o)) < 0)
			die("join", rc);
		if (o.kind != ASUP_OUTCOME_OK)
			die("outcome", -EINVAL);
		sum += o.value;
	}
	return sum;
}

struct result {
	double ns_per_task;
	long baseline_kb;
};

static int64_t root(asup_cx *cx, void *arg)
{
	struct result *res = arg;
	const int64_t per_batch = (int64_t)BATCH * (BATCH - 1) / 2;
	const long batches = n_tasks / BATCH;
	int64_t sum = 0;
	double t0;

	res->baseline_kb = status_kb("VmRSS:");
	if (batch(cx) != per_batch) /* warm-up */
		die("warm-up sum", -EINVAL);
	t0 = now_ns();
	for (long b = 0; b < batches; b++)
		sum += batch(cx);
	res->ns_per_task = (now_ns() - t0) / (double)n_tasks;
	if (sum != per_batch * batches) {
		fprintf(stderr, "bench_w1: sum %lld, expected %lld\n", (long long)sum,
			(long long)(per_batch * batches));
		exit(1);
	}
	return 0;
}

int main(int argc, char **argv)
{
	asup_rt_config cfg;
	asup_rt *rt;
	asup_outcome o;
	struct result res = {0, -1};
	int rc;

	n_tasks = N_FULL / parse_div(argc, argv) / BATCH * BATCH;
	if (n_tasks < BATCH)
		n_tasks = BATCH;
	asup_rt_config_init(&cfg);
	if ((rc = asup_rt_create(&cfg, &rt)) < 0)
		die("rt_create", rc);
	if ((rc = asup_rt_run(rt, root, &res, &o)) < 0)
		die("rt_run", rc);
	if (o.kind != ASUP_OUTCOME_OK)
		die("root outcome", -EINVAL);
	printf("W1 asup st ns_per_task %.1f\n", res.ns_per_task);
	printf("W1 asup st peak_rss_kb %ld\n", status_kb("VmHWM:"));
	printf("W1 asup st baseline_rss_kb %ld\n", res.baseline_kb);
	asup_rt_destroy(rt);
	return 0;
}
