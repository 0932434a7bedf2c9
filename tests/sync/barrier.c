/* Barrier: trips at `parties`, one leader per generation, a failed wait
 * leaves the count, a tripped generation completes despite cancels, bad
 * input, seed sweeps of generations with cancels. */
#include "sweep.h"

static asup_barrier bar;
static int leaders, followers;

static asup_barrier_stats bstats(void)
{
	asup_barrier_stats st;
	CHECK_EQ(asup_barrier_stats_get(&bar, &st), 0);
	return st;
}

static int64_t waiter(asup_cx *cx, void *arg)
{
	int rc = asup_barrier_wait(cx, &bar);
	if (rc < 0)
		return rc;
	rc == ASUP_BARRIER_LEADER ? leaders++ : followers++;
	return rc;
}

static int64_t trip_root(asup_cx *cx, void *arg)
{
	asup_task h[3];
	leaders = followers = 0;
	CHECK_EQ(asup_barrier_init(&bar, 3), 0);
	for (int i = 0; i < 2; i++)
		CHECK_EQ(asup_spawn(cx, waiter, NULL, NULL, &h[i]), 0);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(asup_yield(cx), 0);
	CHECK_EQ(bstats().arrived, 2);
	CHECK_EQ(bstats().generation, 0);
	CHECK_EQ(asup_task_is_finished(&h[0]) + asup_task_is_finished(&h[1]), 0);
	CHECK_EQ(asup_spawn(cx, waiter, NULL, NULL, &h[2]), 0);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(asup_join(cx, &h[i], NULL), 0);
	CHECK_EQ(leaders, 1);
	CHECK_EQ(followers, 2);
	CHECK_EQ(bstats().generation, 1);
	CHECK_EQ(bstats().arrived, 0);
	return 0;
}

TEST(barrier_trips_when_parties_arrive_with_exactly_one_leader)
{
	run_real(trip_root);
}

/* The last arrival leads; the others waited for it. */
static int64_t leader_root(asup_cx *cx, void *arg)
{
	asup_task h[2];
	asup_outcome o;
	CHECK_EQ(asup_barrier_init(&bar, 3), 0);
	for (int i = 0; i < 2; i++)
		CHECK_EQ(asup_spawn(cx, waiter, NULL, NULL, &h[i]), 0);
	CHECK_EQ(asup_yield(cx), 0);
	CHECK_EQ(asup_barrier_wait(cx, &bar), ASUP_BARRIER_LEADER); /* does not wait */
	for (int i = 0; i < 2; i++) {
		CHECK_EQ(asup_join(cx, &h[i], &o), 0);
		CHECK_EQ(o.value, 0);
	}
	/* parties == 1: every wait trips at once and leads */
	CHECK_EQ(asup_barrier_init(&bar, 1), 0);
	for (int g = 1; g <= 3; g++) {
		CHECK_EQ(asup_barrier_wait(cx, &bar), ASUP_BARRIER_LEADER);
		CHECK_EQ(bstats().generation, g);
	}
	return 0;
}

TEST(barrier_the_tripping_arrival_leads_and_does_not_wait)
{
	run_real(leader_root);
}

#define GEN_TASKS 4
#define GENS 5
static int leader_count[GENS + 2];

static int64_t loops(asup_cx *cx, void *arg)
{
	for (int g = 0; g < GENS; g++) {
		int rc = asup_barrier_wait(cx, &bar);
		if (rc < 0)
			return rc;
		if (rc == ASUP_BARRIER_LEADER)
			leader_count[bstats().generation]++; /* the leader did not suspend */
	}
	return 0;
}

static int64_t reuse_root(asup_cx *cx, void *arg)
{
	asup_task h[GEN_TASKS];
	memset(leader_count, 0, sizeof leader_count);
	CHECK_EQ(asup_barrier_init(&bar, GEN_TASKS), 0);
	for (int i = 0; i < GEN_TASKS; i++)
		CHECK_EQ(asup_spawn(cx, loops, NULL, NULL, &h[i]), 0);
	for (int i = 0; i < GEN_TASKS; i++)
		CHECK_EQ(asup_join(cx, &h[i], NULL), 0);
	CHECK_EQ(bstats().generation, GENS);
	for (int g = 1; g <= GENS; g++)
		CHECK_EQ(leader_count[g], 1);
	return 0;
}

TEST(barrier_is_reused_across_generations_one_leader_each)
{
	sweep(reuse_root);
}

static int64_t cancel_root(asup_cx *cx, void *arg)
{
	asup_task a, b, c, d;
	asup_outcome o;
	leaders = followers = 0;
	CHECK_EQ(asup_barrier_init(&bar, 3), 0);
	CHECK_EQ(asup_spawn(cx, waiter, NULL, NULL, &a), 0);
	CHECK_EQ(asup_spawn(cx, waiter, NULL, NULL, &b), 0);
	CHECK_EQ(asup_yield(cx), 0);
	CHECK_EQ(bstats().arrived, 2);
	CHECK_EQ(asup_task_abort(&a), 0);
	CHECK_EQ(asup_join(cx, &a, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(bstats().arrived, 1); /* a left the count */
	CHECK_EQ(asup_spawn(cx, waiter, NULL, NULL, &c), 0);
	CHECK_EQ(asup_yield(cx), 0);
	CHECK_EQ(bstats().generation, 0); /* two of three: still waiting */
	CHECK_EQ(asup_task_is_finished(&b), 0);
	CHECK_EQ(asup_spawn(cx, waiter, NULL, NULL, &d), 0); /* the replacement */
	CHECK_EQ(asup_join(cx, &b, &o), 0);
	CHECK_EQ(asup_join(cx, &c, &o), 0);
	CHECK_EQ(asup_join(cx, &d, &o), 0);
	CHECK_EQ(o.value, ASUP_BARRIER_LEADER);
	CHECK_EQ(leaders, 1);
	CHECK_EQ(followers, 2);
	CHECK_EQ(bstats().generation, 1);
	return 0;
}

TEST(barrier_a_cancelled_waiter_leaves_the_count_and_a_replacement_trips_it)
{
	run_real(cancel_root);
}

static int wait_rc[2];

/* Records what the wait said, then checkpoints (sees a pending cancel). */
static int64_t waits_then_checkpoints(asup_cx *cx, void *arg)
{
	int i = (int)(intptr_t)arg;
	wait_rc[i] = asup_barrier_wait(cx, &bar);
	return asup_checkpoint(cx);
}

static int64_t concurrent_root(asup_cx *cx, void *arg)
{
	asup_task h[2];
	asup_outcome o;
	wait_rc[0] = wait_rc[1] = 99;
	CHECK_EQ(asup_barrier_init(&bar, 3), 0);
	for (int i = 0; i < 2; i++)
		CHECK_EQ(asup_spawn(cx, waits_then_checkpoints, (void *)(intptr_t)i, NULL, &h[i]), 0);
	CHECK_EQ(asup_yield(cx), 0);
	/* Cancel both waiters, then trip before either runs again. */
	CHECK_EQ(asup_task_abort(&h[0]), 0);
	CHECK_EQ(asup_task_abort(&h[1]), 0);
	CHECK_EQ(asup_barrier_wait(cx, &bar), ASUP_BARRIER_LEADER);
	for (int i = 0; i < 2; i++) {
		CHECK_EQ(asup_join(cx, &h[i], &o), 0);
		CHECK_EQ(wait_rc[i], 0); /* the trip that dequeued it won */
		CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED); /* seen at the next checkpoint */
	}
	CHECK_EQ(bstats().generation, 1);
	CHECK_EQ(bstats().arrived, 0);
	return 0;
}

TEST(barrier_a_tripped_generation_completes_even_if_cancelled_concurrently)
{
	run_real(concurrent_root);
}

static int64_t waits_in_timeout(asup_cx *cx, void *arg)
{
	return asup_barrier_wait(cx, &bar);
}

static int64_t timeout_root(asup_cx *cx, void *arg)
{
	asup_task h;
	asup_outcome o;
	CHECK_EQ(asup_barrier_init(&bar, 2), 0);
	CHECK_EQ(asup_timeout(cx, 1000, waits_in_timeout, NULL), -ETIMEDOUT);
	CHECK_EQ(asup_now(cx), 1000); /* virtual time */
	CHECK_EQ(bstats().arrived, 0); /* the expired wait left the count */
	CHECK_EQ(asup_spawn(cx, waiter, NULL, NULL, &h), 0);
	while (bstats().arrived == 0) /* seeded order: wait until it arrived */
		CHECK_EQ(asup_yield(cx), 0);
	CHECK_EQ(asup_barrier_wait(cx, &bar), ASUP_BARRIER_LEADER);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.value, 0);
	return 0;
}

TEST(barrier_a_wait_past_its_deadline_leaves_the_count)
{
	run_on(rt_with(ASUP_MODE_DETERMINISTIC, 1, ASUP_LEAK_SILENT), timeout_root);
}

static int64_t bad_root(asup_cx *cx, void *arg)
{
	asup_barrier b, zero;
	asup_barrier_stats st;
	memset(&b, 0, sizeof b);
	CHECK_EQ(asup_barrier_init(&zero, 0), -EINVAL);
	CHECK_EQ(asup_barrier_wait(cx, &zero), -EINVAL); /* unusable after */
	CHECK_EQ(asup_barrier_stats_get(&zero, &st), -EINVAL);
	CHECK_EQ(asup_barrier_init(NULL, 2), -EINVAL);
	CHECK_EQ(asup_barrier_wait(cx, NULL), -EINVAL);
	CHECK_EQ(asup_barrier_wait(cx, &b), -EINVAL); /* never initialized */
	CHECK_EQ(asup_barrier_init(&b, 2), 0);
	CHECK_EQ(asup_barrier_wait(NULL, &b), -ASUP_ENOTASK);
	CHECK_EQ(asup_barrier_stats_get(&b, NULL), -EINVAL);
	CHECK_EQ(asup_barrier_stats_get(&b, &st), 0);
	CHECK_EQ(st.parties, 2);
	CHECK_EQ(st.arrived, 0); /* the bad calls counted nothing */
	return 0;
}

TEST(barrier_parties_zero_and_bad_input_get_einval)
{
	run_real(bad_root);
}

/* ---- seed sweep: generations with random cancels ---- */

#define SW_PARTIES 3
#define SW_TASKS 7
#define SW_MAXGEN 64
static int members[SW_MAXGEN], leads[SW_MAXGEN];

static int64_t sw_task(asup_cx *cx, void *arg)
{
	for (int round = 0; round < 6; round++) {
		/* The generation it joins: it is counted without suspending. */
		uint64_t g = bstats().generation + 1;
		int rc = asup_barrier_wait(cx, &bar);
		if (rc < 0)
			return rc;
		CHECK(g < SW_MAXGEN);
		members[g]++;
		if (rc == ASUP_BARRIER_LEADER) {
			CHECK_EQ(bstats().generation, g);
			leads[g]++;
		}
		for (uint64_t y = draw(cx, 3); y > 0; y--)
			if ((rc = asup_yield(cx)) < 0)
				return rc;
	}
	return 0;
}

static int unfinished(asup_task *h, int n)
{
	int u = 0;
	for (int i = 0; i < n; i++)
		u += !asup_task_is_finished(&h[i]);
	return u;
}

static int64_t sw_root(asup_cx *cx, void *arg)
{
	asup_task h[SW_TASKS];
	uint64_t gens;

	memset(members, 0, sizeof members);
	memset(leads, 0, sizeof leads);
	CHECK_EQ(asup_barrier_init(&bar, SW_PARTIES), 0);
	for (int i = 0; i < SW_TASKS; i++)
		CHECK_EQ(asup_spawn(cx, sw_task, NULL, NULL, &h[i]), 0);
	for (int c = 0; c < 3; c++) {
		for (uint64_t y = draw(cx, 10); y > 0; y--)
			CHECK_EQ(asup_yield(cx), 0);
		CHECK_EQ(asup_task_abort(&h[draw(cx, SW_TASKS)]), 0);
	}
	/* Whoever is left either finishes or waits for parties that will
	 * never come: once every unfinished task waits, release them. */
	while ((int)bstats().arrived != unfinished(h, SW_TASKS))
		CHECK_EQ(asup_yield(cx), 0);
	for (int i = 0; i < SW_TASKS; i++)
		CHECK_EQ(asup_task_abort(&h[i]), 0);
	for (int i = 0; i < SW_TASKS; i++)
		CHECK_EQ(asup_join(cx, &h[i], NULL), 0);
	CHECK_EQ(bstats().arrived, 0);
	gens = bstats().generation;
	CHECK(gens > 0);
	for (uint64_t g = 1; g <= gens; g++) {
		CHECK_EQ(leads[g], 1);               /* exactly one leader */
		CHECK_EQ(members[g], SW_PARTIES);    /* cancelled waiters not counted */
	}
	CHECK_EQ(members[gens + 1], 0);
	return 0;
}

TEST(barrier_seed_sweep_generations_with_cancels_one_leader_full_count)
{
	sweep(sw_root);
}
