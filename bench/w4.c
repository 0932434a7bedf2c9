/*
 * W4: many sleepers, as the peers define it (../shared/peers/README.md):
 * 100,000 tasks, task i sleeps 1 + (splitmix64(seed 42)_i mod 1000) ms and
 * exits; the spawner (the root task) spawns them all, then joins them in
 * order. The durations come from the same splitmix64 sequence as the Go,
 * Tokio and libuv peers, computed before anything is measured.
 *
 * Prints:  W4 <name> st wall_minus_1s_ms X   wall time from the first spawn
 *                                            to the last join, less the
 *                                            longest sleep (CLOCK_MONOTONIC)
 *          W4 <name> st bytes_per_task X     (VmHWM - VmRSS before spawning)
 *                                            / number of tasks
 *          W4 <name> st peak_rss_kb X        VmHWM at the end
 *          W4 <name> st baseline_rss_kb X    VmRSS inside the root task,
 *                                            just before the first spawn
 *          W4 <name> st pte_kb X             VmPTE (page tables) read after
 *                                            the last join: not in the RSS,
 *                                            but memory the stacks' address
 *                                            space costs
 *          W4 <name> st max_parked X         most tasks asleep at once (the
 *                                            first sleepers finish while the
 *                                            last start, so fewer than N)
 * <name> is "asup" with the default stack size, "asup-<K>k" with --stack K.
 * The array of join handles is allocated after the baseline is read, so it
 * counts in bytes_per_task, as the Tokio peer's vector of handles does.
 *
 * Usage:   bench_w4 [--quick] [--stack KIB]
 *          --quick: 10,000 tasks; --stack: usable stack per task in KiB
 *          (asup_rt_config.stack_size; 16 .. 1048576)
 */
#include <asupersync.h>

#include "bench.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N_FULL 100000L

static long asleep, max_asleep; /* one thread: plain counters */

struct w4 {
	long n;
	uint64_t *ms;        /* sleep of task i, milliseconds */
	uint64_t max_ms;
	asup_task *h;
	double wall_ms;
	long baseline_kb;
	long pte_kb;
};

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "bench_w4: %s: %s\n", what, asup_strerror(rc));
	exit(1);
}

static int64_t sleeper(asup_cx *cx, void *arg)
{
	uint64_t ms = (uint64_t)(uintptr_t)arg;
	int rc;

	if (++asleep > max_asleep)
		max_asleep = asleep;
	rc = asup_sleep(cx, ASUP_MSEC(ms));
	asleep--;
	return rc;
}

static int64_t root(asup_cx *cx, void *arg)
{
	struct w4 *w = arg;
	asup_outcome o;
	double t0;
	int rc;

	w->baseline_kb = status_kb("VmRSS:");
	w->h = malloc((size_t)w->n * sizeof *w->h);
	if (!w->h)
		die("handles", -ENOMEM);
	t0 = now_ms();
	for (long i = 0; i < w->n; i++)
		if ((rc = asup_spawn(cx, sleeper, (void *)(uintptr_t)w->ms[i], NULL, &w->h[i])) < 0)
			die("spawn", rc);
	for (long i = 0; i < w->n; i++) {
		if ((rc = asup_join(cx, &w->h[i], &o)) < 0)
			die("join", rc);
		if (o.kind != ASUP_OUTCOME_OK || o.value != 0)
			die("sleeper outcome", o.kind != ASUP_OUTCOME_OK ? -EINVAL : (int)o.value);
	}
	w->wall_ms = now_ms() - t0;
	w->pte_kb = status_kb("VmPTE:");
	return 0;
}

static void usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [--quick] [--stack KIB]\n", argv0);
	exit(2);
}

int main(int argc, char **argv)
{
	struct w4 w = {N_FULL, NULL, 0, NULL, 0, -1, -1};
	long stack_kib = 0;
	char name[32] = "asup";
	asup_rt_config cfg;
	asup_rt *rt;
	asup_outcome o;
	uint64_t seed = 42;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			w.n = N_FULL / 10;
		} else if (strcmp(argv[i], "--stack") == 0 && i + 1 < argc) {
			char *end;
			stack_kib = strtol(argv[++i], &end, 10);
			if (*end || stack_kib < 16 || stack_kib > 1048576)
				usage(argv[0]);
			snprintf(name, sizeof name, "asup-%ldk", stack_kib);
		} else {
			usage(argv[0]);
		}
	}
	w.ms = malloc((size_t)w.n * sizeof *w.ms);
	if (!w.ms)
		die("durations", -ENOMEM);
	for (long i = 0; i < w.n; i++) {
		w.ms[i] = 1 + splitmix64(&seed) % 1000;
		if (w.ms[i] > w.max_ms)
			w.max_ms = w.ms[i];
	}
	asup_rt_config_init(&cfg);
	if (stack_kib)
		cfg.stack_size = (size_t)stack_kib * 1024;
	if ((rc = asup_rt_create(&cfg, &rt)) < 0)
		die("rt_create", rc);
	if ((rc = asup_rt_run(rt, root, &w, &o)) < 0)
		die("rt_run", rc);
	if (o.kind != ASUP_OUTCOME_OK)
		die("root outcome", -EINVAL);
	long hwm = status_kb("VmHWM:");
	printf("W4 %s st wall_minus_1s_ms %.1f\n", name, w.wall_ms - (double)w.max_ms);
	printf("W4 %s st bytes_per_task %.1f\n", name,
	       (double)(hwm - w.baseline_kb) * 1024.0 / (double)w.n);
	printf("W4 %s st peak_rss_kb %ld\n", name, hwm);
	printf("W4 %s st baseline_rss_kb %ld\n", name, w.baseline_kb);
	printf("W4 %s st pte_kb %ld\n", name, w.pte_kb);
	printf("W4 %s st max_parked %ld\n", name, max_asleep);
	asup_rt_destroy(rt);
	free(w.h);
	free(w.ms);
	return 0;
}
