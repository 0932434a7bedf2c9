/*
 * A tour of asupersync for C: what the runtime does today, in one short run.
 *
 *   1. tasks: spawn, join, the four outcomes (ok, err, panicked)
 *   2. yielding between tasks
 *   3. time: sleeps wake in deadline order; a deadline scope
 *   4. a primitive of your own on the wait-queue layer
 *   5. aborting a parked task (the cancel lane)
 *   7. regions: nested scopes, finalizers last-in first-out
 *   8. race: the loser is cancelled and drained before the race returns
 *   9. hedge: a backup starts when the primary is slow
 *  10. deadlines and cancellation with cause chains
 *  11. a panic contained as an outcome; fail-fast cancels the siblings
 *  12. a pipeline over bounded channels, cancelled mid-stream, loses nothing
 *  13. the deterministic mode: the same seed gives the same schedule
 *  14. the lab: a seed sweep finds a deadlock, a recording replays it
 *  15. the lab over a simulated network: a client without a deadline hangs
 *      when a seeded partition cuts it off; the failing seed replays
 *
 * A whole small program in the same style, from the public headers only:
 * examples/worker_pool.c (workers over a channel, a deadline for the whole
 * job, a cancel on the first error; run it as build/worker_pool --help).
 */
#include <asupersync.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define SAY(...) printf(__VA_ARGS__)

static void check(int rc, const char *what)
{
	if (rc < 0) {
		fprintf(stderr, "tour: %s failed: %s (%s)\n", what, asup_err_name(rc),
			asup_strerror(rc));
		_Exit(1);
	}
}

/* ---- 1. outcomes ------------------------------------------------------- */

static int64_t square(asup_cx *cx, void *arg)
{
	int64_t n = *(int64_t *)arg;
	return n * n;
}

static int64_t fails(asup_cx *cx, void *arg)
{
	return -EINVAL; /* a negative return is Err(code) */
}

static int64_t panics(asup_cx *cx, void *arg)
{
	asup_panic(cx, "invariant broken: %d != %d", 1, 2);
}

static void show(const char *label, const asup_outcome *o)
{
	switch (o->kind) {
	case ASUP_OUTCOME_OK:
		SAY("  %-10s -> ok(%lld)\n", label, (long long)o->value);
		break;
	case ASUP_OUTCOME_ERR:
		SAY("  %-10s -> err(%s)\n", label, asup_err_name((int)o->value));
		break;
	default:
		SAY("  %-10s -> %s \"%s\"\n", label, asup_outcome_kind_name(o->kind), o->panic_msg);
	}
}

static void part_outcomes(asup_cx *cx)
{
	int64_t seven = 7;
	asup_task a, b, c;
	asup_outcome o;
	asup_spawn_opts opts;

	SAY("1. tasks and outcomes\n");
	asup_spawn_opts_init(&opts);
	opts.name = "square";
	check(asup_spawn(cx, square, &seven, &opts, &a), "spawn");
	check(asup_spawn(cx, fails, NULL, NULL, &b), "spawn");
	check(asup_spawn(cx, panics, NULL, NULL, &c), "spawn");
	check(asup_join(cx, &a, &o), "join");
	show("square(7)", &o);
	check(asup_join(cx, &b, &o), "join");
	show("fails", &o);
	check(asup_join(cx, &c, &o), "join");
	show("panics", &o);
	SAY("  joining a handle twice: %s\n", asup_err_name(asup_join(cx, &a, &o)));
}

/* ---- 2. yield ---------------------------------------------------------- */

static int64_t pinger(asup_cx *cx, void *arg)
{
	const char *name = arg;
	for (int i = 0; i < 3; i++) {
		SAY("  %s %d\n", name, i);
		check(asup_yield(cx), "yield");
	}
	return 0;
}

static void part_yield(asup_cx *cx)
{
	asup_task a, b;
	SAY("2. two tasks taking turns with asup_yield\n");
	check(asup_spawn(cx, pinger, "ping", NULL, &a), "spawn");
	check(asup_spawn(cx, pinger, "pong", NULL, &b), "spawn");
	check(asup_join(cx, &a, NULL), "join");
	check(asup_join(cx, &b, NULL), "join");
}

/* ---- 3. time ----------------------------------------------------------- */

static int64_t sleeper(asup_cx *cx, void *arg)
{
	uint64_t ms = (uint64_t)(uintptr_t)arg;
	asup_time start = asup_now(cx);
	check(asup_sleep(cx, ASUP_MSEC(ms)), "sleep");
	SAY("  slept %3llu ms, woke after %.1f ms\n", (unsigned long long)ms,
	    (double)(asup_now(cx) - start) / 1e6);
	return 0;
}

static int64_t slow_work(asup_cx *cx, void *arg)
{
	int rc = asup_sleep(cx, ASUP_MSEC(200));
	return rc < 0 ? rc : 42;
}

static void part_time(asup_cx *cx)
{
	uint64_t ms[] = {30, 10, 20};
	asup_task h[3];
	int64_t v;

	SAY("3. sleepers wake in deadline order (real clock)\n");
	for (int i = 0; i < 3; i++)
		check(asup_spawn(cx, sleeper, (void *)(uintptr_t)ms[i], NULL, &h[i]), "spawn");
	for (int i = 0; i < 3; i++)
		check(asup_join(cx, &h[i], NULL), "join");
	v = asup_timeout(cx, ASUP_MSEC(20), slow_work, NULL);
	SAY("  a 200 ms job inside a 20 ms deadline scope returned %s\n",
	    v < 0 ? asup_err_name((int)v) : "a value");
}

/* ---- 4. a primitive on the wait-queue layer ---------------------------- */

/* A one-shot event: set once, waiters released in FIFO order. */
struct event {
	int set;
	asup_waitq q;
};

static int event_wait(asup_cx *cx, struct event *e)
{
	while (!e->set) {
		int rc = asup_waitq_wait(cx, &e->q);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static void event_set(struct event *e)
{
	e->set = 1;
	asup_waitq_wake_all(&e->q);
}

static int64_t waiter(asup_cx *cx, void *arg)
{
	check(event_wait(cx, arg), "event_wait");
	SAY("  %s saw the event\n", asup_cx_task_name(cx));
	return 0;
}

static void part_waitq(asup_cx *cx)
{
	struct event e = {0};
	asup_spawn_opts o;
	asup_task h[3];
	const char *names[] = {"waiter-a", "waiter-b", "waiter-c"};

	SAY("4. an event built on asup_waitq (FIFO wake-up)\n");
	asup_waitq_init(&e.q);
	asup_spawn_opts_init(&o);
	for (int i = 0; i < 3; i++) {
		o.name = names[i];
		check(asup_spawn(cx, waiter, &e, &o, &h[i]), "spawn");
	}
	check(asup_yield(cx), "yield"); /* let them park */
	event_set(&e);
	for (int i = 0; i < 3; i++)
		check(asup_join(cx, &h[i], NULL), "join");
}

/* ---- 5. abort ---------------------------------------------------------- */

static int64_t stuck(asup_cx *cx, void *arg)
{
	int rc = asup_park(cx); /* nobody will unpark it */
	SAY("  parked task woke with %s and cleans up\n", asup_err_name(rc));
	return rc;
}

static void part_abort(asup_cx *cx)
{
	asup_task h;
	asup_outcome o;

	SAY("5. aborting a parked task\n");
	check(asup_spawn(cx, stuck, NULL, NULL, &h), "spawn");
	check(asup_yield(cx), "yield");
	check(asup_task_abort(&h), "abort");
	check(asup_join(cx, &h, &o), "join");
	show("stuck", &o);
}

/* ---- 7. regions and finalizers ---------------------------------------- */

static void say_fin(void *arg)
{
	SAY("  finalizer: %s\n", (const char *)arg);
}

static int64_t inner_region(asup_cx *cx, void *arg)
{
	check(asup_defer(cx, say_fin, "inner, registered first"), "defer");
	check(asup_defer(cx, say_fin, "inner, registered second"), "defer");
	SAY("  inner body runs in region R%llu\n",
	    (unsigned long long)(asup_scope_region_id(cx) & 0xffffffffu));
	return 0;
}

static int64_t outer_region(asup_cx *cx, void *arg)
{
	asup_outcome o;
	check(asup_defer(cx, say_fin, "outer"), "defer");
	SAY("  outer body runs in region R%llu\n",
	    (unsigned long long)(asup_scope_region_id(cx) & 0xffffffffu));
	check(asup_region(cx, inner_region, NULL, &o), "region");
	SAY("  inner region closed\n");
	return 0;
}

static void part_regions(asup_cx *cx)
{
	asup_outcome o;
	SAY("7. nested regions: a region closes only after its finalizers ran (LIFO)\n");
	check(asup_region(cx, outer_region, NULL, &o), "region");
	SAY("  outer region closed: %s\n", asup_outcome_kind_name(o.kind));
}

/* ---- 8. race ----------------------------------------------------------- */

static int64_t fast(asup_cx *cx, void *arg)
{
	check(asup_sleep(cx, ASUP_MSEC(5)), "sleep");
	return 1;
}

static int64_t slow(asup_cx *cx, void *arg)
{
	int rc = asup_sleep(cx, ASUP_SEC(10));
	asup_cancel_reason r;
	if (rc == -ECANCELED && asup_cx_cancel_reason(cx, &r) == 0)
		SAY("  loser sees cancel (%s) and cleans up before the race returns\n",
		    asup_cancel_kind_name(r.kind));
	return rc < 0 ? rc : 2;
}

static void part_race(asup_cx *cx)
{
	asup_task a, b;
	asup_outcome o;
	asup_time t0 = asup_now(cx);
	SAY("8. race: the winner's result; the loser is cancelled and drained\n");
	check(asup_spawn(cx, fast, NULL, NULL, &a), "spawn");
	check(asup_spawn(cx, slow, NULL, NULL, &b), "spawn");
	check(asup_race(cx, &a, &b, &o), "race");
	SAY("  race -> %s(%lld) after %.1f ms\n", asup_outcome_kind_name(o.kind),
	    (long long)o.value, (double)(asup_now(cx) - t0) / 1e6);
}

/* ---- 9. hedge ---------------------------------------------------------- */

static int64_t replica(asup_cx *cx, void *arg)
{
	uint64_t ms = (uint64_t)(uintptr_t)arg;
	int rc = asup_sleep(cx, ASUP_MSEC(ms));
	return rc < 0 ? rc : (int64_t)ms;
}

static void part_hedge(asup_cx *cx)
{
	asup_outcome o;
	SAY("9. hedge: primary takes 200 ms, backup after 10 ms takes 5 ms\n");
	check(asup_hedge(cx, ASUP_MSEC(10), replica, (void *)(uintptr_t)200, replica,
			 (void *)(uintptr_t)5, &o),
	      "hedge");
	SAY("  hedge -> %s(%lld ms replica won)\n", asup_outcome_kind_name(o.kind),
	    (long long)o.value);
}

/* ---- 10. deadlines and cause chains ------------------------------------- */

static int64_t chain_printer(asup_cx *cx, void *arg)
{
	asup_cancel_reason chain[8];
	int rc = asup_sleep(cx, ASUP_SEC(10)), n;
	n = asup_cx_cancel_chain(cx, chain, 8);
	SAY("  task in the innermost region woke with %s; cause chain:", asup_err_name(rc));
	for (int i = 0; i < n; i++)
		SAY(" %s%s", i ? "<- " : "", asup_cancel_kind_name(chain[i].kind));
	SAY("\n");
	return rc;
}

static int64_t level2(asup_cx *cx, void *arg)
{
	asup_task h;
	check(asup_spawn(cx, chain_printer, NULL, NULL, &h), "spawn");
	check(asup_task_release(&h), "release");
	return 0;
}

static int64_t level1(asup_cx *cx, void *arg)
{
	asup_outcome o;
	return asup_region(cx, level2, NULL, &o);
}

static int64_t watchdog(asup_cx *cx, void *arg)
{
	check(asup_sleep(cx, ASUP_MSEC(15)), "sleep");
	SAY("  watchdog: cancelling the scope with kind timeout\n");
	return asup_scope_cancel(cx, ASUP_CANCEL_TIMEOUT, "watchdog");
}

static int64_t supervised(asup_cx *cx, void *arg)
{
	asup_outcome o;
	asup_task w;
	check(asup_spawn(cx, watchdog, NULL, NULL, &w), "spawn");
	check(asup_task_release(&w), "release");
	return asup_region(cx, level1, NULL, &o);
}

static int64_t under_deadline(asup_cx *cx, void *arg)
{
	int rc = asup_sleep(cx, ASUP_SEC(10));
	asup_cancel_reason r;
	if (asup_cx_cancel_reason(cx, &r) == 0)
		SAY("  budget deadline reached: task cancelled with kind %s\n",
		    asup_cancel_kind_name(r.kind));
	return rc;
}

static int64_t deadline_body(asup_cx *cx, void *arg)
{
	asup_task h;
	check(asup_spawn(cx, under_deadline, NULL, NULL, &h), "spawn");
	check(asup_task_release(&h), "release");
	return 0;
}

static void part_deadlines(asup_cx *cx)
{
	asup_outcome o;
	asup_budget b = asup_budget_default();
	SAY("10. deadlines compose; cancellation flows down the region tree\n");
	b.deadline = asup_now(cx) + ASUP_MSEC(20);
	check(asup_region_with_budget(cx, b, deadline_body, NULL, &o), "region");
	check(asup_region(cx, supervised, NULL, &o), "region");
}

/* ---- 11. panics -------------------------------------------------------- */

static int64_t bystander(asup_cx *cx, void *arg)
{
	int rc = asup_sleep(cx, ASUP_SEC(10));
	asup_cancel_reason r;
	if (asup_cx_cancel_reason(cx, &r) == 0)
		SAY("  sibling cancelled with kind %s\n", asup_cancel_kind_name(r.kind));
	return rc;
}

static int64_t panicking_body(asup_cx *cx, void *arg)
{
	asup_task h;
	check(asup_spawn(cx, bystander, NULL, NULL, &h), "spawn");
	check(asup_task_release(&h), "release");
	check(asup_yield(cx), "yield");
	asup_panic(cx, "region body gave up");
}

static void part_panic(asup_cx *cx)
{
	asup_outcome o;
	SAY("11. a panic in a region body is contained as its outcome\n");
	check(asup_region(cx, panicking_body, NULL, &o), "region");
	SAY("  region -> %s \"%s\"\n", asup_outcome_kind_name(o.kind), o.panic_msg);
}

/* ---- 12. a pipeline cancelled mid-stream ------------------------------- */

struct pipeline {
	asup_chan *raw, *doubled;
	long produced, consumed;
};

static int64_t produce(asup_cx *cx, void *arg)
{
	struct pipeline *p = arg;
	for (long i = 1;; i++) {
		int rc = asup_chan_send(cx, p->raw, &i);
		if (rc < 0)
			return rc; /* cancelled: i was not enqueued */
		p->produced++;
	}
}

static int64_t double_it(asup_cx *cx, void *arg)
{
	struct pipeline *p = arg;
	for (;;) {
		asup_permit out;
		long v;
		/* Room downstream first, then take: a cancel in either step loses
		 * nothing (the permit is given back, the item stays queued). */
		int rc = asup_chan_reserve(cx, p->doubled, &out);
		if (rc < 0)
			return rc;
		if ((rc = asup_chan_recv(cx, p->raw, &v)) < 0) {
			asup_permit_abort(&out);
			return rc;
		}
		v *= 2;
		asup_permit_send(&out, &v);
	}
}

static int64_t consume(asup_cx *cx, void *arg)
{
	struct pipeline *p = arg;
	for (;;) {
		long v;
		int rc = asup_chan_recv(cx, p->doubled, &v);
		if (rc < 0)
			return rc;
		p->consumed++;
		if ((rc = asup_sleep(cx, ASUP_USEC(50))) < 0) /* a slow consumer */
			return rc;
	}
}

static int64_t pipeline_body(asup_cx *cx, void *arg)
{
	asup_task h;
	check(asup_spawn(cx, produce, arg, NULL, &h), "spawn");
	check(asup_task_release(&h), "release");
	check(asup_spawn(cx, double_it, arg, NULL, &h), "spawn");
	check(asup_task_release(&h), "release");
	check(asup_spawn(cx, consume, arg, NULL, &h), "spawn");
	check(asup_task_release(&h), "release");
	check(asup_sleep(cx, ASUP_MSEC(5)), "sleep");
	return asup_scope_cancel(cx, ASUP_CANCEL_USER, "stop the pipeline");
}

static void part_pipeline(asup_cx *cx)
{
	struct pipeline p = {0};
	asup_chan_stats a, b;
	asup_outcome o;
	SAY("12. a pipeline over bounded channels, cancelled mid-stream\n");
	check(asup_chan_open(cx, sizeof(long), 4, &p.raw), "chan_open");
	check(asup_chan_open(cx, sizeof(long), 4, &p.doubled), "chan_open");
	check(asup_region(cx, pipeline_body, &p, &o), "region");
	check(asup_chan_stats_get(p.raw, &a), "stats");
	check(asup_chan_stats_get(p.doubled, &b), "stats");
	SAY("  produced %ld = consumed %ld + queued %zu + %zu (permits left: %zu): %s\n",
	    p.produced, p.consumed, a.queued, b.queued, a.reserved + b.reserved,
	    p.produced == p.consumed + (long)(a.queued + b.queued) ? "nothing lost" : "LOST");
}

/* ---- 12b. a local TCP exchange ------------------------------------------- */

static int64_t tcp_answer(asup_cx *cx, void *arg)
{
	asup_socket ls = *(asup_socket *)arg, c;
	char buf[32];
	int64_t n;

	check(asup_sock_accept(cx, ls, &c, NULL, NULL), "accept");
	n = asup_sock_read(cx, c, buf, sizeof(buf));
	check((int)(n < 0 ? n : 0), "read");
	check(asup_sock_write_all(cx, c, "pong", 4, NULL), "write");
	return asup_sock_close(cx, c);
}

static void part_tcp(asup_cx *cx)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	asup_socket ls, c;
	asup_task h;
	asup_outcome o;
	char buf[8] = {0};

	SAY("12b. a TCP exchange on loopback, the server a task of the same region\n");
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	check(asup_tcp_listen(cx, (struct sockaddr *)&a, sizeof(a), NULL, &ls), "listen");
	check(asup_sock_local_addr(cx, ls, (struct sockaddr *)&a, &len), "local_addr");
	check(asup_spawn(cx, tcp_answer, &ls, NULL, &h), "spawn");
	check(asup_tcp_connect(cx, (struct sockaddr *)&a, sizeof(a), &c), "connect");
	check(asup_sock_write_all(cx, c, "ping", 4, NULL), "write");
	check((int)(asup_sock_read(cx, c, buf, 4) == 4 ? 0 : -EIO), "read");
	check(asup_join(cx, &h, &o), "join");
	SAY("  sent \"ping\", got \"%s\"\n", buf);
	check(asup_sock_close(cx, c), "close");
	check(asup_sock_close(cx, ls), "close");
}

static int64_t tour_root(asup_cx *cx, void *arg)
{
	part_outcomes(cx);
	part_yield(cx);
	part_time(cx);
	part_waitq(cx);
	part_abort(cx);
	part_regions(cx);
	part_race(cx);
	part_hedge(cx);
	part_deadlines(cx);
	part_panic(cx);
	part_pipeline(cx);
	part_tcp(cx);
	return 0;
}

/* ---- 13. determinism ---------------------------------------------------- */

struct trace {
	char order[64];
	int n;
};

struct worker_arg {
	struct trace *tr;
	char tag;
};

static int64_t tagger(asup_cx *cx, void *arg)
{
	struct worker_arg *w = arg;
	for (int i = 0; i < 4; i++) {
		w->tr->order[w->tr->n++] = w->tag;
		check(asup_yield(cx), "yield");
	}
	return 0;
}

static int64_t det_root(asup_cx *cx, void *arg)
{
	struct worker_arg w[3] = {{arg, 'A'}, {arg, 'B'}, {arg, 'C'}};
	asup_task h[3];
	for (int i = 0; i < 3; i++)
		check(asup_spawn(cx, tagger, &w[i], NULL, &h[i]), "spawn");
	for (int i = 0; i < 3; i++)
		check(asup_join(cx, &h[i], NULL), "join");
	return 0;
}

static void schedule_for_seed(uint64_t seed, struct trace *tr)
{
	asup_rt_config cfg;
	asup_rt *rt;

	memset(tr, 0, sizeof(*tr));
	asup_rt_config_init(&cfg);
	cfg.mode = ASUP_MODE_DETERMINISTIC;
	cfg.seed = seed;
	check(asup_rt_create(&cfg, &rt), "rt_create");
	check(asup_rt_run(rt, det_root, tr, NULL), "rt_run");
	check(asup_rt_destroy(rt), "rt_destroy");
}

static void part_determinism(void)
{
	struct trace a, b, c;
	SAY("13. deterministic mode: schedules by seed\n");
	schedule_for_seed(7, &a);
	schedule_for_seed(7, &b);
	schedule_for_seed(8, &c);
	SAY("  seed 7: %s\n  seed 7: %s (%s)\n  seed 8: %s\n", a.order, b.order,
	    strcmp(a.order, b.order) == 0 ? "identical" : "DIFFERENT", c.order);
}

/* ---- 14. the lab ------------------------------------------------------- */

/* Two tasks take two locks, one of them in the opposite order: a deadlock,
 * but only when each gets its first lock before the other its second. */
struct locks {
	asup_mutex a, b;
	int same_order;
};

static int64_t lock_pair(asup_cx *cx, asup_mutex *first, asup_mutex *second)
{
	int rc = asup_mutex_lock(cx, first);
	if (rc < 0)
		return rc;
	if ((rc = asup_yield(cx)) == 0 && (rc = asup_mutex_lock(cx, second)) == 0)
		asup_mutex_unlock(cx, second);
	asup_mutex_unlock(cx, first);
	return rc;
}

static int64_t forward(asup_cx *cx, void *arg)
{
	struct locks *l = arg;
	return lock_pair(cx, &l->a, &l->b);
}

static int64_t backward(asup_cx *cx, void *arg)
{
	struct locks *l = arg;
	return l->same_order ? lock_pair(cx, &l->a, &l->b) : lock_pair(cx, &l->b, &l->a);
}

static int64_t locks_root(asup_cx *cx, void *arg)
{
	struct locks l;
	asup_spawn_opts o;
	asup_task h1, h2;

	asup_mutex_init(&l.a);
	asup_mutex_init(&l.b);
	l.same_order = arg != NULL;
	asup_spawn_opts_init(&o);
	o.name = "forward";
	check(asup_spawn(cx, forward, &l, &o, &h1), "spawn");
	o.name = "backward";
	check(asup_spawn(cx, backward, &l, &o, &h2), "spawn");
	return asup_join2(cx, &h1, &h2, NULL, NULL);
}

static void part_lab(void)
{
	static int fixed = 1;
	asup_lab_scenario buggy = {"locks", "opposite lock order", locks_root, NULL};
	asup_lab_scenario twin = {"locks_fixed", "one lock order", locks_root, &fixed};
	asup_lab_config cfg;
	asup_lab_sweep sw;
	asup_lab_violation v;
	asup_lab_replay *r;
	asup_lab *lab;
	asup_outcome o;
	char path[64], hex[33];
	uint64_t at;

	SAY("14. the lab: explore seeds, find the failing one, replay it exactly\n");
	asup_lab_config_init(&cfg);
	cfg.check_every_step = 1;
	check(asup_lab_explore(&buggy, &cfg, 1, 50, 0, &sw), "explore");
	SAY("  seeds 1..50: %llu of %llu runs fail, %llu distinct schedules\n",
	    (unsigned long long)sw.failures, (unsigned long long)sw.runs,
	    (unsigned long long)sw.distinct);
	if (!sw.failures)
		return;
	SAY("  first failing seed %llu: %s: %s\n", (unsigned long long)sw.first_failing_seed,
	    sw.first_failure.first.oracle, sw.first_failure.first.message);

	/* Run that seed again, record it, and follow the recording. */
	cfg.seed = sw.first_failing_seed;
	snprintf(path, sizeof path, "/tmp/asup-tour-%d.lab", (int)getpid());
	check(asup_lab_create(&cfg, &lab), "lab_create");
	SAY("  seed %llu again: %s\n", (unsigned long long)cfg.seed,
	    asup_err_name(asup_lab_run(lab, locks_root, NULL, &o)));
	check(asup_lab_save(lab, path, "locks"), "lab_save");
	check(asup_lab_digest_hex(lab, hex), "digest");
	check(asup_lab_destroy(lab), "lab_destroy");
	check(asup_lab_replay_load(path, &r, NULL), "replay_load");
	check(asup_lab_create(&cfg, &lab), "lab_create");
	check(asup_lab_follow(lab, r), "follow");
	(void)!asup_lab_run(lab, locks_root, NULL, &o); /* fails again, as recorded */
	check(asup_lab_violation_get(lab, 0, &v), "violation");
	SAY("  replayed %llu recorded steps: %s, digest %.12s..., %s at step %llu\n",
	    (unsigned long long)asup_lab_replay_steps(r),
	    asup_lab_divergence(lab, &at) == 0 ? "identical" : "DIVERGED", hex, v.oracle,
	    (unsigned long long)v.step);
	check(asup_lab_destroy(lab), "lab_destroy");
	asup_lab_replay_free(r);
	unlink(path);

	cfg.seed = 0;
	check(asup_lab_explore(&twin, &cfg, 1, 50, 0, &sw), "explore");
	SAY("  the twin with one lock order: %llu of %llu seeds fail\n",
	    (unsigned long long)sw.failures, (unsigned long long)sw.runs);
}

/* ---- 15. the lab over a simulated network ------------------------------ */

/* The same socket calls as part 6, in the lab: they run over a simulated
 * network whose faults come from the seed. This client reads each reply
 * without a deadline; a partition that never heals, starting at a seeded
 * time, leaves it waiting forever when it falls inside the exchange. */
static struct sockaddr_in net_server;

static int64_t net_echo(asup_cx *cx, void *arg)
{
	asup_socket ls, s;
	char buf[16];
	int64_t n;

	(void)arg;
	if ((n = asup_tcp_listen(cx, (struct sockaddr *)&net_server, sizeof net_server, NULL,
				 &ls)) < 0)
		return n;
	if ((n = asup_sock_accept(cx, ls, &s, NULL, NULL)) == 0) {
		while ((n = asup_sock_read(cx, s, buf, sizeof buf)) > 0 &&
		       (n = asup_sock_write_all(cx, s, buf, (size_t)n, NULL)) == 0)
			;
		(void)asup_sock_close(cx, s);
	}
	(void)asup_sock_close(cx, ls);
	return n < 0 && n != -ECANCELED ? n : 0;
}

static int64_t net_root(asup_cx *cx, void *arg)
{
	asup_task srv;
	asup_socket s;
	char buf[16] = "ping";
	int64_t rc;

	(void)arg;
	check(asup_spawn(cx, net_echo, NULL, NULL, &srv), "spawn");
	check(asup_yield(cx), "yield"); /* the server listens */
	if ((rc = asup_tcp_connect(cx, (struct sockaddr *)&net_server, sizeof net_server, &s)) < 0)
		return rc;
	for (int i = 0; i < 3 && rc >= 0; i++) {
		if ((rc = asup_sock_write_all(cx, s, buf, 4, NULL)) == 0)
			rc = asup_sock_read(cx, s, buf, sizeof buf); /* no deadline */
		if (rc >= 0)
			rc = asup_sleep(cx, 10000000); /* 10 ms between requests */
	}
	(void)asup_sock_close(cx, s);
	(void)!asup_task_abort(&srv);
	(void)!asup_join(cx, &srv, NULL);
	return rc < 0 ? rc : 0;
}

static void part_labnet(void)
{
	asup_lab_scenario sc = {"net_hang", "no deadline under a partition", net_root, NULL};
	asup_simnet_partition *p;
	asup_lab_config cfg;
	asup_lab_sweep sw;
	asup_lab_replay *r;
	asup_lab *lab;
	asup_outcome o;
	char path[64], hex[33];
	uint64_t at;

	SAY("15. the lab over a simulated network: a seeded partition hangs a client\n");
	memset(&net_server, 0, sizeof net_server);
	net_server.sin_family = AF_INET;
	net_server.sin_port = htons(7);
	net_server.sin_addr.s_addr = htonl(0x0a000001); /* 10.0.0.1 */
	asup_lab_config_init(&cfg);
	p = &cfg.net.partitions[cfg.net.npartitions++];
	p->start_max_ns = 60000000; /* the server's host is cut off at 0..60 ms, */
	p->nhosts = 1;              /* for good (end 0) */
	check(asup_simnet_host_of((struct sockaddr *)&net_server, sizeof net_server, &p->hosts[0]),
	      "host_of");
	check(asup_lab_explore(&sc, &cfg, 1, 20, 0, &sw), "explore");
	SAY("  seeds 1..20: %llu of %llu runs fail\n", (unsigned long long)sw.failures,
	    (unsigned long long)sw.runs);
	if (!sw.failures)
		return;
	SAY("  first failing seed %llu: %s: %.60s\n", (unsigned long long)sw.first_failing_seed,
	    sw.first_failure.first.oracle, sw.first_failure.first.message);
	cfg.seed = sw.first_failing_seed;
	snprintf(path, sizeof path, "/tmp/asup-tour-net-%d.lab", (int)getpid());
	check(asup_lab_create(&cfg, &lab), "lab_create");
	(void)!asup_lab_run(lab, net_root, NULL, &o);
	check(asup_lab_save(lab, path, "net_hang"), "lab_save");
	check(asup_lab_digest_hex(lab, hex), "digest");
	check(asup_lab_destroy(lab), "lab_destroy");
	check(asup_lab_replay_load(path, &r, NULL), "replay_load");
	check(asup_lab_create(&cfg, &lab), "lab_create");
	check(asup_lab_follow(lab, r), "follow");
	(void)!asup_lab_run(lab, net_root, NULL, &o); /* hangs again, as recorded */
	SAY("  replayed %llu steps with their network traffic: %s, digest %.12s...\n",
	    (unsigned long long)asup_lab_replay_steps(r),
	    asup_lab_divergence(lab, &at) == 0 ? "identical" : "DIVERGED", hex);
	check(asup_lab_destroy(lab), "lab_destroy");
	asup_lab_replay_free(r);
	unlink(path);
}

int main(void)
{
	asup_rt_config cfg;
	asup_rt *rt;
	asup_rt_stats st;
	asup_outcome o;

	asup_rt_config_init(&cfg);
	check(asup_rt_create(&cfg, &rt), "rt_create");
	check(asup_rt_run(rt, tour_root, NULL, &o), "rt_run");
	check(asup_rt_stats_get(rt, &st), "stats");
	SAY("  (runtime: %llu tasks, %llu switches, %llu stacks mapped, %llu reused)\n",
	    (unsigned long long)st.tasks_spawned, (unsigned long long)st.switches,
	    (unsigned long long)st.stacks_mapped, (unsigned long long)st.stacks_reused);
	check(asup_rt_destroy(rt), "rt_destroy");
	part_determinism();
	part_lab();
	part_labnet();
	SAY("tour done; next: examples/worker_pool.c (build/worker_pool), a worker pool\n"
	    "with a deadline for the whole job and a cancel on the first error\n");
	return 0;
}
