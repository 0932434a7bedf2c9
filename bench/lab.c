/*
 * LAB: steps per second of the lab runtime with tracing on (every event goes
 * to the ring, the digest and the oracles): 1,000 tasks that each yield
 * 1,000 times, on one virtual worker.
 *
 * Prints:  LAB asup st steps_per_s X
 * Usage:   bench_lab [--quick]   (--quick: 100 yields per task)
 */
#include <asupersync.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NTASKS 1000
static int yields = 1000;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int64_t spinner(asup_cx *cx, void *arg)
{
	(void)arg;
	for (int i = 0; i < yields; i++)
		if (asup_yield(cx) < 0)
			return -1;
	return 0;
}

static int64_t root(asup_cx *cx, void *arg)
{
	static asup_task hs[NTASKS];
	(void)arg;
	for (int i = 0; i < NTASKS; i++)
		if (asup_spawn(cx, spinner, NULL, NULL, &hs[i]) < 0)
			return -1;
	return asup_join_all(cx, hs, NTASKS, NULL) < 0 ? -2 : 0;
}

int main(int argc, char **argv)
{
	asup_lab_config cfg;
	asup_lab *lab;
	asup_outcome out;
	double t0, t1;
	int rc;

	if (argc > 1 && strcmp(argv[1], "--quick") == 0)
		yields = 100;
	asup_lab_config_init(&cfg);
	cfg.seed = 1;
	cfg.max_steps = (uint64_t)NTASKS * (yields + 4) + 100;
	cfg.check_every_step = 0;
	if ((rc = asup_lab_create(&cfg, &lab)) < 0) {
		fprintf(stderr, "bench_lab: create: %s\n", asup_strerror(rc));
		return 1;
	}
	t0 = now_s();
	rc = asup_lab_run(lab, root, NULL, &out);
	t1 = now_s();
	if (rc < 0 || out.kind != ASUP_OUTCOME_OK) {
		fprintf(stderr, "bench_lab: run: %s\n", asup_strerror(rc));
		asup_lab_violations_print(lab, stderr);
		return 1;
	}
	printf("LAB asup st steps_per_s %.0f\n", (double)asup_lab_steps(lab) / (t1 - t0));
	fprintf(stderr, "bench_lab: %llu steps, %llu events\n",
		(unsigned long long)asup_lab_steps(lab), (unsigned long long)asup_lab_event_count(lab));
	asup_lab_destroy(lab);
	return 0;
}
