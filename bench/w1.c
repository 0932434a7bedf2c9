/*
 * W1: spawn and join 1,000,000 trivial tasks in batches of 10,000; each task
 * returns its index and the joiner sums them (checked). One warm-up batch.
 *
 * Prints:  W1 asup st ns_per_task X
 *          W1 asup st peak_rss_kb X
 *          W1 asup st baseline_rss_kb X
 * Usage:   bench_w1 [--quick]   (--quick: 100,000 tasks)
 */
#include <asupersync.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH 10000

static long n_tasks = 1000000;
static asup_task handles[BATCH];

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static long status_kb(const char *key)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, key, strlen(key)) == 0)
			v = strtol(line + strlen(key), NULL, 10);
	fclose(f);
	return v;
}

static int64_t trivial(asup_cx *cx, void *arg)
{
	return (int64_t)(intptr_t)arg;
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "bench_w1: %s: %s\n", what, asup_strerror(rc));
	exit(1);
}

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
		sum += o.value;
	}
	return sum;
}

static int64_t root(asup_cx *cx, void *arg)
{
	double *ns = arg, t0;
	const int64_t expect = (int64_t)BATCH * (BATCH - 1) / 2;

	if (batch(cx) != expect) /* warm-up */
		die("sum", -EINVAL);
	t0 = now_ns();
	for (long b = 0; b < n_tasks / BATCH; b++)
		if (batch(cx) != expect)
			die("sum", -EINVAL);
	*ns = (now_ns() - t0) / (double)n_tasks;
	return 0;
}

int main(int argc, char **argv)
{
	asup_rt_config cfg;
	asup_rt *rt;
	asup_outcome o;
	double ns = 0;
	long base;
	int rc;

	if (argc > 1 && strcmp(argv[1], "--quick") == 0)
		n_tasks = 100000;
	base = status_kb("VmRSS:");
	asup_rt_config_init(&cfg);
	if ((rc = asup_rt_create(&cfg, &rt)) < 0)
		die("rt_create", rc);
	if ((rc = asup_rt_run(rt, root, &ns, &o)) < 0)
		die("rt_run", rc);
	printf("W1 asup st ns_per_task %.1f\n", ns);
	printf("W1 asup st peak_rss_kb %ld\n", status_kb("VmHWM:"));
	printf("W1 asup st baseline_rss_kb %ld\n", base);
	asup_rt_destroy(rt);
	return 0;
}
