/*
 * The lab's determinism: the same seed and program give the same trace and
 * digest; seeds change the schedule; virtual time moves only when every
 * task is blocked; virtual workers steal ready work but never local tasks;
 * chaos is seeded too; stepping by hand and bad configs.
 */
#include "harness.h"
#include <asupersync.h>

#include "rich.h"

static asup_lab *lab_new(uint64_t seed, uint32_t workers)
{
	asup_lab_config cfg;
	asup_lab *lab;

	asup_lab_config_init(&cfg);
	cfg.seed = seed;
	cfg.workers = workers;
	cfg.check_every_step = 1;
	cfg.trace_capacity = 1 << 16;
	CHECK_EQ(asup_lab_create(&cfg, &lab), 0);
	return lab;
}

/* Runs rich_root on a fresh lab; returns the lab (caller destroys). */
static asup_lab *rich_run(uint64_t seed, uint32_t workers)
{
	asup_lab *lab = lab_new(seed, workers);
	asup_outcome o;
	int rc = asup_lab_run(lab, rich_root, NULL, &o);

	if (rc != 0) {
		printf("seed %" PRIu64 " workers %u: rc %d\n", seed, workers, rc);
		asup_lab_violations_print(lab, stdout);
	}
	CHECK_EQ(rc, 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK(o.value >= 0);
	return lab;
}

static size_t all_events(asup_lab *lab, asup_event **out)
{
	size_t n = (size_t)asup_lab_event_count(lab);
	*out = malloc(n * sizeof(**out));
	CHECK(*out != NULL);
	CHECK_EQ(asup_lab_events(lab, *out, n), n); /* capacity holds them all */
	return n;
}

TEST(sem_91_same_seed_gives_identical_trace_and_digest)
{
	for (uint32_t w = 1; w <= 3; w += 2) {
		asup_lab *a = rich_run(7, w), *b = rich_run(7, w);
		asup_event *ea, *eb;
		uint8_t da[16], db[16];
		size_t na = all_events(a, &ea), nb = all_events(b, &eb);

		CHECK(na > 100);
		CHECK_EQ(na, nb);
		CHECK(memcmp(ea, eb, na * sizeof(*ea)) == 0);
		CHECK_EQ(asup_lab_digest(a, da), 0);
		CHECK_EQ(asup_lab_digest(b, db), 0);
		CHECK(memcmp(da, db, 16) == 0);
		CHECK_EQ(asup_lab_steps(a), asup_lab_steps(b));
		free(ea);
		free(eb);
		asup_lab_destroy(a);
		asup_lab_destroy(b);
	}
}

TEST(different_seeds_give_different_schedules)
{
	char first[33], hex[33];
	int distinct = 0;

	for (uint64_t seed = 1; seed <= 10; seed++) {
		asup_lab *lab = rich_run(seed, 2);
		CHECK_EQ(asup_lab_digest_hex(lab, hex), 0);
		if (seed == 1)
			memcpy(first, hex, sizeof hex);
		else if (strcmp(first, hex) != 0)
			distinct++;
		asup_lab_destroy(lab);
	}
	CHECK(distinct >= 5);
}

TEST(every_event_is_numbered_in_order_and_fully_defined)
{
	asup_lab *lab = rich_run(3, 2);
	asup_event *ev;
	size_t n = all_events(lab, &ev);
	uint64_t last_step = 0, last_time = 0, resumes = 0;

	for (size_t i = 0; i < n; i++) {
		CHECK_EQ(ev[i].seq, i);
		CHECK(ev[i].type > ASUP_EV_NONE && ev[i].type < ASUP_EV_COUNT);
		CHECK(strcmp(asup_event_type_name(ev[i].type), "unknown") != 0);
		CHECK(ev[i].step >= last_step);
		CHECK(ev[i].time >= last_time);
		CHECK(ev[i].worker < 2);
		last_step = ev[i].step;
		last_time = ev[i].time;
		resumes += ev[i].type == ASUP_EV_RESUME;
	}
	CHECK_EQ(resumes, asup_lab_steps(lab));
	CHECK_EQ(strcmp(asup_event_type_name(ASUP_EV_COUNT), "unknown"), 0);
	free(ev);
	asup_lab_destroy(lab);
}

/* ---- virtual time ------------------------------------------------------ */

static int spun, woke_after_spin;
static asup_time woke_at;

static int64_t spin(asup_cx *cx, void *arg)
{
	(void)arg;
	for (int i = 0; i < 200; i++)
		if (asup_yield(cx) < 0)
			return -1;
	spun = 1;
	return 0;
}

static int64_t nap(asup_cx *cx, void *arg)
{
	(void)arg;
	if (asup_sleep(cx, ASUP_MSEC(1)) < 0)
		return -1;
	woke_after_spin = spun;
	woke_at = asup_now(cx);
	return 0;
}

static int64_t time_root(asup_cx *cx, void *arg)
{
	asup_task a, b;
	(void)arg;
	if (asup_spawn(cx, nap, NULL, NULL, &a) < 0 || asup_spawn(cx, spin, NULL, NULL, &b) < 0)
		return -1;
	return asup_join2(cx, &a, &b, NULL, NULL);
}

static void time_moves_when_blocked(uint64_t seed)
{
	asup_lab *lab = lab_new(seed, 1 + seed % 3);
	asup_outcome o;
	spun = woke_after_spin = 0;
	CHECK_EQ(asup_lab_run(lab, time_root, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK(woke_after_spin); /* the sleeper never woke while a task could run */
	CHECK_EQ(woke_at, ASUP_MSEC(1)); /* exactly at its deadline, not later */
	asup_lab_destroy(lab);
}

TEST(virtual_time_moves_only_when_every_task_is_blocked)
{
	SWEEP(20, time_moves_when_blocked);
}

/* ---- workers ----------------------------------------------------------- */

static int64_t yielder(asup_cx *cx, void *arg)
{
	(void)arg;
	for (int i = 0; i < 20; i++)
		if (asup_yield(cx) < 0)
			return -1;
	return 0;
}

static asup_task local_h[4];

static int64_t worker_root(asup_cx *cx, void *arg)
{
	asup_task hs[16];
	(void)arg;
	for (int i = 0; i < 16; i++)
		if (asup_spawn(cx, yielder, NULL, NULL, &hs[i]) < 0)
			return -1;
	for (int i = 0; i < 4; i++)
		if (asup_spawn_local(cx, yielder, NULL, NULL, &local_h[i]) < 0)
			return -2;
	if (asup_join_all(cx, hs, 16, NULL) < 0 || asup_join_all(cx, local_h, 4, NULL) < 0)
		return -3;
	return 0;
}

static uint64_t steals, workers_used[4];

static void workers_steal(uint64_t seed)
{
	asup_lab *lab = lab_new(seed, 4);
	asup_outcome o;
	asup_event *ev;
	size_t n;
	uint64_t local_id[4], root_worker = 99;

	CHECK_EQ(asup_lab_run(lab, worker_root, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	for (int i = 0; i < 4; i++)
		local_id[i] = local_h[i]._id;
	n = all_events(lab, &ev);
	for (size_t i = 0; i < n; i++) {
		if (ev[i].type != ASUP_EV_RESUME)
			continue;
		CHECK(ev[i].b < 4);
		workers_used[ev[i].b]++;
		steals += ev[i].a == ASUP_LANE_STOLEN;
		if (root_worker == 99)
			root_worker = ev[i].b; /* the first step runs the root */
		for (int k = 0; k < 4; k++)
			if (ev[i].task == local_id[k]) {
				/* Spawned by the root: pinned where the root ran then;
				 * the root itself may have been stolen meanwhile, so
				 * only "never stolen" is checked. */
				CHECK(ev[i].a != ASUP_LANE_STOLEN);
			}
	}
	free(ev);
	asup_lab_destroy(lab);
}

TEST(virtual_workers_steal_ready_work_and_never_move_local_tasks)
{
	if (SWEEP(10, workers_steal) < 10)
		return; /* one replayed seed: the per-seed checks ran */
	CHECK(steals > 0);
	for (int w = 0; w < 4; w++)
		CHECK(workers_used[w] > 0);
}

/* ---- chaos ------------------------------------------------------------- */

TEST(chaos_is_seeded_and_primitives_survive_storms_and_delays)
{
	char h1[33], h2[33];

	for (int rep = 0; rep < 2; rep++) {
		asup_lab_config cfg;
		asup_lab *lab;
		asup_outcome o;
		asup_lab_config_init(&cfg);
		cfg.seed = 99;
		cfg.workers = 2;
		cfg.check_every_step = 1;
		cfg.chaos = asup_lab_chaos_heavy();
		cfg.chaos.cancel_ppm = 0; /* spurious wakes and delays must not change results */
		cfg.chaos.budget_ppm = 0;
		CHECK_EQ(asup_lab_create(&cfg, &lab), 0);
		CHECK_EQ(asup_lab_run(lab, rich_root, NULL, &o), 0);
		CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
		CHECK_EQ(asup_lab_digest_hex(lab, rep ? h2 : h1), 0);
		asup_lab_destroy(lab);
	}
	CHECK_EQ(strcmp(h1, h2), 0);
}

static void chaos_keeps_oracles(uint64_t seed)
{
	asup_lab_config cfg;
	asup_lab *lab;
	asup_outcome o;
	int rc;
	asup_lab_config_init(&cfg);
	cfg.seed = seed;
	cfg.check_every_step = 1;
	cfg.chaos = asup_lab_chaos_heavy();
	CHECK_EQ(asup_lab_create(&cfg, &lab), 0);
	rc = asup_lab_run(lab, rich_root, NULL, &o);
	if (rc != 0) {
		printf("seed %" PRIu64 ": rc %d\n", seed, rc);
		asup_lab_violations_print(lab, stdout);
	}
	CHECK_EQ(rc, 0);
	CHECK(o.kind != ASUP_OUTCOME_PANICKED);
	asup_lab_destroy(lab);
}

TEST(chaos_cancels_leave_every_oracle_satisfied)
{
	SWEEP(30, chaos_keeps_oracles);
}

TEST(cancel_injected_at_every_checkpoint_keeps_every_oracle)
{
	asup_lab_scenario sc = {"rich", "", rich_root, NULL};
	asup_lab_config cfg;
	asup_lab_sweep sw;

	asup_lab_config_init(&cfg);
	cfg.seed = 5;
	cfg.check_every_step = 1;
	CHECK_EQ(asup_lab_inject_sweep(&sc, &cfg, &sw), 0);
	if (sw.failures)
		printf("checkpoint %" PRIu64 ": %s: %s\n", sw.first_failing_seed,
		       sw.first_failure.first.oracle, sw.first_failure.first.message);
	CHECK(sw.runs > 50);
	CHECK_EQ(sw.failures, 0);
	CHECK(sw.distinct > 10);
	/* Both targets: the task at the checkpoint, and the whole tree. */
	cfg.inject_root = 1;
	CHECK_EQ(asup_lab_inject_sweep(&sc, &cfg, &sw), 0);
	if (sw.failures)
		printf("root, checkpoint %" PRIu64 ": rc %d root %s %" PRId64 " %s: %s\n",
		       sw.first_failing_seed, sw.first_failure.rc,
		       asup_outcome_kind_name(sw.first_failure.outcome.kind),
		       sw.first_failure.outcome.value, sw.first_failure.first.oracle,
		       sw.first_failure.first.message);
	CHECK_EQ(sw.failures, 0);
}

/* ---- driving by hand, misuse -------------------------------------------- */

TEST(stepping_by_hand_reaches_the_same_end)
{
	asup_lab *lab = lab_new(11, 1);
	asup_task h;
	asup_outcome o;
	int64_t n;

	CHECK_EQ(asup_lab_spawn(lab, time_root, NULL, NULL, &h), 0);
	CHECK_EQ(asup_lab_step(lab), 1);
	n = asup_lab_run_until_idle(lab);
	CHECK(n > 200);
	CHECK_EQ(asup_lab_step(lab), 0);
	CHECK_EQ(asup_task_try_join(&h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(asup_rt_now(asup_lab_rt(lab)), ASUP_MSEC(1));
	CHECK_EQ(asup_lab_check(lab), 0);
	CHECK_EQ(asup_lab_destroy(lab), 0);
}

TEST(a_lab_runs_one_root_and_bad_configs_are_named)
{
	asup_lab_config cfg;
	const char *field = NULL;
	asup_lab *lab = lab_new(1, 1);
	asup_outcome o;

	CHECK_EQ(asup_lab_run(lab, time_root, NULL, &o), 0);
	CHECK_EQ(asup_lab_run(lab, time_root, NULL, &o), -EALREADY);
	CHECK_EQ(asup_lab_run(NULL, time_root, NULL, &o), -EINVAL);
	CHECK_EQ(asup_lab_run(lab, NULL, NULL, &o), -EINVAL);
	asup_lab_destroy(lab);

	asup_lab_config_init(&cfg);
	cfg.workers = 0;
	CHECK_EQ(asup_lab_config_check(&cfg, &field), -EINVAL);
	CHECK_EQ(strcmp(field, "workers"), 0);
	cfg.workers = 65;
	CHECK_EQ(asup_lab_create(&cfg, &lab), -EINVAL);
	asup_lab_config_init(&cfg);
	cfg.chaos.cancel_ppm = 1000001;
	CHECK_EQ(asup_lab_config_check(&cfg, &field), -EINVAL);
	CHECK_EQ(strcmp(field, "chaos"), 0);
	asup_lab_config_init(&cfg);
	cfg.chaos.storm_ppm = 5;
	CHECK_EQ(asup_lab_config_check(&cfg, &field), -EINVAL);
	CHECK_EQ(strcmp(field, "chaos.storm_max"), 0);
	asup_lab_config_init(&cfg);
	cfg.inject_kind = ASUP_CANCEL_KIND_COUNT;
	CHECK_EQ(asup_lab_config_check(&cfg, &field), -EINVAL);
	asup_lab_config_init(&cfg);
	cfg.max_steps = 0;
	CHECK_EQ(asup_lab_config_check(&cfg, &field), -EINVAL);
	asup_lab_config_init(&cfg);
	cfg.trace_capacity = 0;
	CHECK_EQ(asup_lab_config_check(&cfg, &field), -EINVAL);
	CHECK_EQ(asup_lab_config_check(NULL, &field), -EINVAL);
	CHECK_EQ(asup_lab_destroy(NULL), -EINVAL);
}

TEST(the_step_limit_stops_a_run)
{
	asup_lab_config cfg;
	asup_lab *lab;
	asup_outcome o;

	asup_lab_config_init(&cfg);
	cfg.max_steps = 50;
	CHECK_EQ(asup_lab_create(&cfg, &lab), 0);
	CHECK_EQ(asup_lab_run(lab, time_root, NULL, &o), -ASUP_ESTEPLIMIT);
	CHECK_EQ(asup_lab_steps(lab), 50);
	asup_lab_destroy(lab);
}


/* ---- stealing tasks that never ran ------------------------------------- */

static int64_t burst_root(asup_cx *cx, void *arg)
{
	asup_task hs[16];
	int rc;
	(void)arg;
	/* All sixteen are new (no stack yet) when other workers steal them in
	 * batches: each must still start properly. */
	for (int i = 0; i < 16; i++)
		if ((rc = asup_spawn(cx, yielder, NULL, NULL, &hs[i])) < 0)
			return rc;
	return asup_join_all(cx, hs, 16, NULL);
}

static uint64_t unstarted_stolen;

static void stolen_start_normally(uint64_t seed)
{
	asup_lab *lab = lab_new(seed, 2 + seed % 3);
	asup_outcome o;
	asup_event *ev;
	size_t n;
	int rc = asup_lab_run(lab, burst_root, NULL, &o);
	if (rc != 0) {
		printf("seed %" PRIu64 ": rc %d\n", seed, rc);
		asup_lab_violations_print(lab, stdout);
	}
	CHECK_EQ(rc, 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	n = all_events(lab, &ev);
	for (size_t i = 0; i < n; i++)
		unstarted_stolen += ev[i].type == ASUP_EV_RESUME && ev[i].a == ASUP_LANE_STOLEN;
	free(ev);
	asup_lab_destroy(lab);
}

TEST(tasks_stolen_before_their_first_run_start_normally)
{
	if (SWEEP(40, stolen_start_normally) == 40)
		CHECK(unstarted_stolen > 40);
}

/* ---- verdicts and stopping ---------------------------------------------- */

static int64_t always_fails(asup_cx *cx, void *arg)
{
	(void)arg;
	for (int i = 0; i < 20; i++)
		(void)!asup_yield(cx); /* it fails whatever happens */
	return -77;
}

TEST(a_root_error_fails_the_run_even_after_chaos)
{
	asup_lab_scenario sc = {"fails", "", always_fails, NULL};
	asup_lab_config cfg;
	asup_lab_sweep sw;

	asup_lab_config_init(&cfg);
	cfg.chaos = asup_lab_chaos_heavy();
	CHECK_EQ(asup_lab_explore(&sc, &cfg, 1, 40, 0, &sw), 0);
	CHECK_EQ(sw.failures, 40);
}

static int64_t leak_early_then_spin(asup_cx *cx, void *arg)
{
	asup_chan *ch;
	asup_permit p;
	(void)arg;
	if (asup_chan_open(cx, 4, 1, &ch) < 0 || asup_chan_reserve(cx, ch, &p) < 0)
		return -1;
	return 0; /* returns holding p */
}

static int64_t stop_root(asup_cx *cx, void *arg)
{
	asup_task a, b;
	(void)arg;
	if (asup_spawn(cx, leak_early_then_spin, NULL, NULL, &a) < 0 ||
	    asup_spawn(cx, spin, NULL, NULL, &b) < 0)
		return -1;
	return asup_join2(cx, &a, &b, NULL, NULL);
}

TEST(stop_on_violation_ends_the_run_at_the_step_that_saw_it)
{
	asup_lab *lab = lab_new(1, 1);
	asup_outcome o;
	asup_lab_violation v;

	CHECK_EQ(asup_lab_run(lab, stop_root, NULL, &o), -ASUP_EORACLE);
	CHECK_EQ(asup_lab_violation_get(lab, 0, &v), 0);
	CHECK_EQ(strcmp(v.oracle, "obligation_leak"), 0);
	CHECK(asup_lab_steps(lab) < 10); /* the spinner's 200 yields never ran */
	asup_lab_destroy(lab);
}
