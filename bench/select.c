/*
 * Select figures: the W3 ping-pong (two tasks bouncing an integer over a
 * pair of capacity-1 channels), once with plain receives and once with each
 * receive a 2-arm select (the data channel and an idle one), in the same
 * run so that the two can be compared.
 *
 * Prints:  SELECT asup st ns_per_recv X      (plain asup_chan_recv)
 *          SELECT asup st ns_per_select X    (2-arm recv select)
 * Usage:   bench_select [--quick]   (--quick: a tenth of the round trips)
 */
#include <asupersync.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long n_trips = 1000000;

struct pair {
	asup_chan *ping, *pong, *idle;
	int use_select;
};

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "bench_select: %s: %s\n", what, asup_strerror(rc));
	exit(1);
}

/* One receive from ch: plain, or as a select over ch and the idle channel. */
static void recv_one(asup_cx *cx, struct pair *p, asup_chan *ch, int64_t *v)
{
	asup_select_arm arms[2];
	int64_t unused;
	int rc;

	if (!p->use_select) {
		if ((rc = asup_chan_recv(cx, ch, v)) < 0)
			die("recv", rc);
		return;
	}
	asup_select_recv(&arms[0], ch, v);
	asup_select_recv(&arms[1], p->idle, &unused);
	if ((rc = asup_select(cx, arms, 2)) != 0)
		die("select", rc < 0 ? rc : -EINVAL);
}

static int64_t echo(asup_cx *cx, void *arg)
{
	struct pair *p = arg;
	int64_t v;
	int rc;
	for (long i = 0; i < n_trips; i++) {
		recv_one(cx, p, p->ping, &v);
		if ((rc = asup_chan_send(cx, p->pong, &v)) < 0)
			die("echo", rc);
	}
	return 0;
}

/* ns per receive (two per round trip). */
static double pingpong(asup_cx *cx, struct pair *p)
{
	asup_task h;
	int64_t v = 0;
	double t0;
	int rc;

	if ((rc = asup_spawn(cx, echo, p, NULL, &h)) < 0)
		die("spawn", rc);
	t0 = now_ns();
	for (long i = 0; i < n_trips; i++) {
		if ((rc = asup_chan_send(cx, p->ping, &i)) < 0)
			die("ping", rc);
		recv_one(cx, p, p->pong, &v);
		if (v != i)
			die("value", -EINVAL);
	}
	t0 = (now_ns() - t0) / (2.0 * (double)n_trips);
	if ((rc = asup_join(cx, &h, NULL)) < 0)
		die("join", rc);
	return t0;
}

static int64_t root(asup_cx *cx, void *arg)
{
	double *ns = arg;
	struct pair p;
	int rc;

	memset(&p, 0, sizeof p);
	if ((rc = asup_chan_open(cx, sizeof(int64_t), 1, &p.ping)) < 0 ||
	    (rc = asup_chan_open(cx, sizeof(int64_t), 1, &p.pong)) < 0 ||
	    (rc = asup_chan_open(cx, sizeof(int64_t), 1, &p.idle)) < 0)
		die("open", rc);
	ns[0] = pingpong(cx, &p);
	p.use_select = 1;
	ns[1] = pingpong(cx, &p);
	return 0;
}

int main(int argc, char **argv)
{
	asup_rt_config cfg;
	asup_rt *rt;
	asup_outcome o;
	double ns[2] = {0, 0};
	int rc;

	if (argc > 1 && strcmp(argv[1], "--quick") == 0)
		n_trips /= 10;
	asup_rt_config_init(&cfg);
	if ((rc = asup_rt_create(&cfg, &rt)) < 0)
		die("rt_create", rc);
	if ((rc = asup_rt_run(rt, root, ns, &o)) < 0 || o.kind != ASUP_OUTCOME_OK)
		die("rt_run", rc < 0 ? rc : -EINVAL);
	printf("SELECT asup st ns_per_recv %.1f\n", ns[0]);
	printf("SELECT asup st ns_per_select %.1f\n", ns[1]);
	asup_rt_destroy(rt);
	return 0;
}
