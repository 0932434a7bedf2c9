/*
 * Mutex figures: uncontended lock+unlock, and the contended hand-off (two
 * tasks taking turns: each unlock hands the lock to the other, parked).
 *
 * Prints:  MUTEX asup st ns_per_lock_unlock X
 *          MUTEX asup st ns_per_handoff X
 * Usage:   bench_mutex [--quick]
 */
#include <asupersync.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long n = 10000000;
static asup_mutex mu;

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void check(int rc, const char *what)
{
	if (rc < 0) {
		fprintf(stderr, "bench_mutex: %s: %s\n", what, asup_strerror(rc));
		exit(1);
	}
}

static int64_t contender(asup_cx *cx, void *arg)
{
	for (long i = 0; i < n / 10; i++) {
		check(asup_mutex_lock(cx, &mu), "lock");
		check(asup_yield(cx), "yield"); /* the other one queues behind us */
		check(asup_mutex_unlock(cx, &mu), "unlock");
	}
	return 0;
}

static int64_t root(asup_cx *cx, void *arg)
{
	double *out = arg, t0;
	asup_task a, b;

	asup_mutex_init(&mu);
	t0 = now_ns();
	for (long i = 0; i < n; i++) {
		check(asup_mutex_lock(cx, &mu), "lock");
		check(asup_mutex_unlock(cx, &mu), "unlock");
	}
	out[0] = (now_ns() - t0) / (double)n;
	check(asup_spawn(cx, contender, NULL, NULL, &a), "spawn");
	check(asup_spawn(cx, contender, NULL, NULL, &b), "spawn");
	t0 = now_ns();
	check(asup_join(cx, &a, NULL), "join");
	check(asup_join(cx, &b, NULL), "join");
	/* each of 2 * n/10 unlocks hands the lock to the parked other task */
	out[1] = (now_ns() - t0) / (2.0 * (double)(n / 10));
	return 0;
}

int main(int argc, char **argv)
{
	asup_rt_config cfg;
	asup_rt *rt;
	asup_outcome o;
	double r[2];

	if (argc > 1 && strcmp(argv[1], "--quick") == 0)
		n /= 10;
	asup_rt_config_init(&cfg);
	check(asup_rt_create(&cfg, &rt), "rt_create");
	check(asup_rt_run(rt, root, r, &o), "rt_run");
	printf("MUTEX asup st ns_per_lock_unlock %.1f\n", r[0]);
	printf("MUTEX asup st ns_per_handoff %.1f\n", r[1]);
	asup_rt_destroy(rt);
	return 0;
}
