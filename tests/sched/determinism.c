/*
 * The deterministic runtime replays: the same seed gives the same schedule
 * (dispatch order, virtual times, random draws), different seeds give
 * different schedules, and nothing outside the runtime object influences it.
 *
 * Every sweep runs under the harness's SWEEP: it prints the seed that failed,
 * and ASUP_SEED=<n> runs only that seed.
 */
#include "testrt.h"

#include <pthread.h>

/* One event of a run: which worker ran, what it did, when, what it drew. */
struct event {
	uint8_t worker;
	uint8_t action;
	uint64_t now;
	uint64_t draw;
};

#define WORKERS    8
#define ROUNDS     25
#define MAX_EVENTS (WORKERS * ROUNDS + 16)

struct trace {
	struct event ev[MAX_EVENTS];
	int n;
	asup_waitq q;
};

/* Per thread, so that runtimes on two threads keep separate traces. */
static _Thread_local struct trace *cur;

static void record(int worker, int action, uint64_t now, uint64_t draw)
{
	struct event *e;
	CHECK(cur->n < MAX_EVENTS);
	e = &cur->ev[cur->n++];
	memset(e, 0, sizeof *e);
	e->worker = (uint8_t)worker;
	e->action = (uint8_t)action;
	e->now = now;
	e->draw = draw;
}

static int64_t wait_q(asup_cx *cx, void *arg)
{
	return asup_waitq_wait(cx, &cur->q);
}

/* A worker mixes every way of suspending, chosen by its own random stream. */
static int64_t worker(asup_cx *cx, void *arg)
{
	int id = (int)(uintptr_t)arg;
	for (int r = 0; r < ROUNDS; r++) {
		uint64_t action, draw;
		int rc;
		CHECK_EQ(asup_random_below(cx, 4, &action), 0);
		CHECK_EQ(asup_random_u64(cx, &draw), 0);
		record(id, (int)action, asup_now(cx), draw);
		switch (action) {
		case 0:
			CHECK_EQ(asup_yield(cx), 0);
			break;
		case 1:
			CHECK_EQ(asup_sleep(cx, ASUP_USEC(draw % 500)), 0);
			break;
		case 2:
			if (asup_waitq_wake_one(&cur->q) == 0)
				CHECK_EQ(asup_yield(cx), 0);
			break;
		default:
			rc = (int)asup_timeout(cx, ASUP_USEC(300), wait_q, NULL);
			CHECK(rc == 0 || rc == -ETIMEDOUT);
			break;
		}
	}
	return id;
}

static int64_t det_root(asup_cx *cx, void *arg)
{
	asup_task h[WORKERS];
	for (int i = 0; i < WORKERS; i++)
		CHECK_EQ(asup_spawn(cx, worker, (void *)(uintptr_t)i, NULL, &h[i]), 0);
	for (int i = 0; i < WORKERS; i++) {
		asup_outcome o;
		CHECK_EQ(asup_join(cx, &h[i], &o), 0);
		CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
		CHECK_EQ(o.value, i);
	}
	record(255, 0, asup_now(cx), 0);
	return 0;
}

static asup_rt *det_rt(uint64_t seed)
{
	return test_rt(ASUP_MODE_DETERMINISTIC, seed);
}

/* One whole run under asup_rt_run. */
static void run_seed(uint64_t seed, struct trace *t)
{
	asup_rt *rt = det_rt(seed);
	asup_outcome o;
	memset(t, 0, sizeof *t);
	asup_waitq_init(&t->q);
	cur = t;
	CHECK_EQ(asup_rt_run(rt, det_root, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(asup_waitq_is_empty(&t->q), 1);
	test_rt_done(rt);
	cur = NULL;
}

/* The same run, single-stepped from outside. */
static void step_seed(uint64_t seed, struct trace *t)
{
	asup_rt *rt = det_rt(seed);
	asup_task root;
	asup_spawn_opts so;
	asup_outcome o;
	int rc;
	memset(t, 0, sizeof *t);
	asup_waitq_init(&t->q);
	cur = t;
	asup_spawn_opts_init(&so);
	so.name = "root";
	CHECK_EQ(asup_rt_spawn(rt, det_root, NULL, &so, &root), 0);
	while ((rc = asup_rt_step(rt)) == 1)
		CHECK_EQ(asup__rt_check(rt), 0);
	CHECK_EQ(rc, 0);
	CHECK_EQ(asup_task_try_join(&root, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	test_rt_done(rt);
	cur = NULL;
}

static int same(const struct trace *a, const struct trace *b)
{
	return a->n == b->n && memcmp(a->ev, b->ev, sizeof(a->ev[0]) * (size_t)a->n) == 0;
}

static void dump_difference(const struct trace *a, const struct trace *b)
{
	int n = a->n < b->n ? a->n : b->n;
	for (int i = 0; i < n; i++) {
		if (memcmp(&a->ev[i], &b->ev[i], sizeof a->ev[i]) != 0) {
			fprintf(stderr,
			        "first difference at event %d: worker %d/%d action %d/%d now "
			        "%llu/%llu\n",
			        i, a->ev[i].worker, b->ev[i].worker, a->ev[i].action,
			        b->ev[i].action, (unsigned long long)a->ev[i].now,
			        (unsigned long long)b->ev[i].now);
			return;
		}
	}
	fprintf(stderr, "lengths differ: %d vs %d\n", a->n, b->n);
}

static struct trace ta, tb, tc;

static void replays(uint64_t seed)
{
	run_seed(seed, &ta);
	run_seed(seed, &tb);
	if (!same(&ta, &tb)) {
		fprintf(stderr, "seed %llu did not replay\n", (unsigned long long)seed);
		dump_difference(&ta, &tb);
		CHECK(0);
	}
	/* the run is not trivial: every worker ran every round, and time
	 * moved */
	CHECK_EQ(ta.n, WORKERS * ROUNDS + 1);
	CHECK(ta.ev[ta.n - 1].now > 0);
}

TEST(same_seed_gives_the_same_schedule)
{
	SWEEP(20, replays);
}

static void steps_as_it_runs(uint64_t seed)
{
	run_seed(seed, &ta);
	step_seed(seed, &tb);
	if (!same(&ta, &tb)) {
		fprintf(stderr, "seed %llu: asup_rt_step and asup_rt_run disagree\n",
		        (unsigned long long)seed);
		dump_difference(&ta, &tb);
		CHECK(0);
	}
}

TEST(single_stepping_replays_the_same_schedule)
{
	SWEEP(20, steps_as_it_runs);
}

TEST(different_seeds_give_different_schedules)
{
	static struct trace all[20];
	int distinct = 0, order_differs = 0;

	for (int i = 0; i < 20; i++) {
		int dup = 0;
		run_seed((uint64_t)i + 1, &all[i]);
		for (int j = 0; j < i && !dup; j++)
			dup = same(&all[i], &all[j]);
		distinct += !dup;
	}
	/* not only the random draws differ: the dispatch order does too */
	for (int i = 1; i < 20; i++) {
		for (int k = 0; k < all[0].n && k < all[i].n; k++) {
			if (all[0].ev[k].worker != all[i].ev[k].worker) {
				order_differs++;
				break;
			}
		}
	}
	if (distinct < 20 || order_differs < 19)
		fprintf(stderr,
		        "distinct schedules: %d of 20; orders differing from seed 1: %d of 19\n",
		        distinct, order_differs);
	CHECK_EQ(distinct, 20);
	CHECK(order_differs >= 15);
}

/* No hidden global state: what ran before (in this process, on this
 * thread) does not change a seed's schedule. */
TEST(earlier_runs_do_not_perturb_a_replay)
{
	asup_rt *real;
	asup_outcome o;

	run_seed(5, &ta);
	run_seed(6, &tb);
	real = test_rt(ASUP_MODE_REAL, 0);
	memset(&tc, 0, sizeof tc);
	asup_waitq_init(&tc.q);
	cur = &tc;
	CHECK_EQ(asup_rt_run(real, det_root, NULL, &o), 0);
	test_rt_done(real);
	run_seed(5, &tc);
	if (!same(&ta, &tc)) {
		fprintf(stderr, "seed 5 replayed differently after other runs\n");
		dump_difference(&ta, &tc);
		CHECK(0);
	}
	CHECK(!same(&ta, &tb));
}

static struct trace thread_traces[2];

static void *seed_on_thread(void *arg)
{
	run_seed(9, arg);
	return NULL;
}

TEST(the_same_seed_on_two_threads_at_once_gives_the_same_schedule)
{
	pthread_t t[2];
	run_seed(9, &ta);
	for (int i = 0; i < 2; i++)
		CHECK_EQ(pthread_create(&t[i], NULL, seed_on_thread, &thread_traces[i]), 0);
	for (int i = 0; i < 2; i++)
		CHECK_EQ(pthread_join(t[i], NULL), 0);
	CHECK(same(&ta, &thread_traces[0]));
	CHECK(same(&ta, &thread_traces[1]));
}
