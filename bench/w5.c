/*
 * W5: cancelling a tree of 100,000 parked tasks.
 *
 * A parent region holds 100 child regions of 1,000 tasks each. Every task is
 * parked: in a receive (a wait queue nobody signals) or in a one-hour sleep.
 * After all are parked and 20 ms have passed, one cancel request on the parent
 * region; the time is taken until the parent region is closed, that is until
 * every task observed the cancel, ran its cleanup and completed, and every
 * region ran its finalizers and closed. Same shape as the peers' W5 (Go
 * context tree, Tokio abort / cancellation-token tree).
 *
 * Prints:  W5 asup st tree_recv_total_us X
 *          W5 asup st tree_sleep_total_us X
 * Usage:   bench_w5 [--quick]   (--quick: 10 x 1,000 tasks)
 */
#include <asupersync.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int n_regions = 100;
static const int per_region = 1000;

struct w5 {
	int sleep_mode;
	int parked;           /* tasks that reached their park */
	int cleaned;          /* tasks that ran their cleanup after the cancel */
	asup_waitq never;     /* nobody ever signals it */
	double t0, t1;
};

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "bench_w5: %s: %s\n", what, asup_strerror(rc));
	exit(1);
}

static int64_t parked_task(asup_cx *cx, void *arg)
{
	struct w5 *w = arg;
	int rc;

	w->parked++;
	if (w->sleep_mode)
		rc = asup_sleep(cx, ASUP_SEC(3600));
	else
		rc = asup_waitq_wait(cx, &w->never);
	if (rc != -ECANCELED)
		die("parked task woke without a cancel", rc);
	w->cleaned++; /* the cleanup this task owes */
	return rc;
}

static int64_t child_body(asup_cx *cx, void *arg)
{
	asup_task h;
	for (int i = 0; i < per_region; i++) {
		int rc = asup_spawn(cx, parked_task, arg, NULL, &h);
		if (rc < 0)
			die("spawn", rc);
		asup_task_release(&h);
	}
	return 0; /* the region now waits for its tasks */
}

static int64_t child_holder(asup_cx *cx, void *arg)
{
	asup_outcome o;
	int rc = asup_region(cx, child_body, arg, &o);
	return rc < 0 ? rc : 0;
}

static int64_t parent_body(asup_cx *cx, void *arg)
{
	struct w5 *w = arg;
	asup_task h;
	int rc;

	for (int i = 0; i < n_regions; i++) {
		rc = asup_spawn(cx, child_holder, w, NULL, &h);
		if (rc < 0)
			die("spawn", rc);
		asup_task_release(&h);
	}
	asup_time give_up = asup_now(cx) + ASUP_SEC(30);
	while (w->parked < n_regions * per_region) {
		if ((rc = asup_yield(cx)) < 0)
			die("yield", rc);
		if (asup_now(cx) > give_up) {
			fprintf(stderr, "bench_w5: only %d tasks started (stacks exhausted?)\n",
				w->parked);
			exit(1);
		}
	}
	if ((rc = asup_sleep(cx, ASUP_MSEC(20))) < 0)
		die("sleep", rc);
	w->t0 = now_us();
	rc = asup_scope_cancel(cx, ASUP_CANCEL_USER, "w5");
	if (rc < 0)
		die("cancel", rc);
	return 0;
}

static int64_t root(asup_cx *cx, void *arg)
{
	struct w5 *w = arg;
	asup_outcome o;
	int rc = asup_region(cx, parent_body, w, &o);

	w->t1 = now_us();
	if (rc < 0)
		die("region", rc);
	return 0;
}

static double run(int sleep_mode)
{
	asup_rt_config cfg;
	asup_rt *rt;
	asup_outcome o;
	struct w5 w;
	int rc;

	memset(&w, 0, sizeof w);
	w.sleep_mode = sleep_mode;
	asup_waitq_init(&w.never);
	asup_rt_config_init(&cfg);
	cfg.stack_size = 16 * 1024; /* a parked task needs little */
	if ((rc = asup_rt_create(&cfg, &rt)) < 0)
		die("rt_create", rc);
	if ((rc = asup_rt_run(rt, root, &w, &o)) < 0)
		die("rt_run", rc);
	if (w.cleaned != n_regions * per_region) {
		fprintf(stderr, "bench_w5: only %d of %d tasks cleaned up\n", w.cleaned,
			n_regions * per_region);
		exit(1);
	}
	asup_rt_destroy(rt);
	return w.t1 - w.t0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--quick") == 0)
		n_regions = 10;
	printf("W5 asup st tree_recv_total_us %.1f\n", run(0));
	printf("W5 asup st tree_sleep_total_us %.1f\n", run(1));
	return 0;
}
