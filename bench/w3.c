/*
 * W3: channel ping-pong. Two tasks bounce an integer over a pair of
 * capacity-1 channels, 1,000,000 round trips.
 *
 * Prints:  W3 asup st ns_per_roundtrip X
 * Usage:   bench_w3 [--quick]   (--quick: 100,000 round trips)
 */
#include <asupersync.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long n_trips = 1000000;

struct pair {
	asup_chan *ping, *pong;
};

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "bench_w3: %s: %s\n", what, asup_strerror(rc));
	exit(1);
}

static int64_t echo(asup_cx *cx, void *arg)
{
	struct pair *p = arg;
	int64_t v;
	int rc;
	for (long i = 0; i < n_trips; i++) {
		if ((rc = asup_chan_recv(cx, p->ping, &v)) < 0 || (rc = asup_chan_send(cx, p->pong, &v)) < 0)
			die("echo", rc);
	}
	return 0;
}

static int64_t root(asup_cx *cx, void *arg)
{
	double *ns = arg, t0;
	struct pair p;
	asup_task h;
	int64_t v = 0;
	int rc;

	if ((rc = asup_chan_open(cx, sizeof(int64_t), 1, &p.ping)) < 0 ||
	    (rc = asup_chan_open(cx, sizeof(int64_t), 1, &p.pong)) < 0)
		die("open", rc);
	if ((rc = asup_spawn(cx, echo, &p, NULL, &h)) < 0)
		die("spawn", rc);
	t0 = now_ns();
	for (long i = 0; i < n_trips; i++) {
		if ((rc = asup_chan_send(cx, p.ping, &i)) < 0 || (rc = asup_chan_recv(cx, p.pong, &v)) < 0)
			die("ping", rc);
		if (v != i)
			die("value", -EINVAL);
	}
	*ns = (now_ns() - t0) / (double)n_trips;
	return asup_join(cx, &h, NULL);
}

int main(int argc, char **argv)
{
	asup_rt_config cfg;
	asup_rt *rt;
	asup_outcome o;
	double ns = 0;
	int rc;

	if (argc > 1 && strcmp(argv[1], "--quick") == 0)
		n_trips = 100000;
	asup_rt_config_init(&cfg);
	if ((rc = asup_rt_create(&cfg, &rt)) < 0)
		die("rt_create", rc);
	if ((rc = asup_rt_run(rt, root, &ns, &o)) < 0)
		die("rt_run", rc);
	printf("W3 asup st ns_per_roundtrip %.1f\n", ns);
	asup_rt_destroy(rt);
	return 0;
}
