/*
 * The seed's 40 Scope tests, ported: each test has the seed's function name
 * and reproduces its observable sequence. Where the seed polls a stored task
 * by hand, the deterministic runtime is stepped (asup_rt_step runs one task
 * until it suspends); "join is Pending" is asup_task_try_join == -EAGAIN.
 * Ready-lane priorities pin the dispatch order where the seed's sequence
 * depends on it.
 */
#include "testrt.h"

#include "kernel/kernel.h"

static asup_rt *det(void)
{
	return test_rt(ASUP_MODE_DETERMINISTIC, 0x5eed);
}

/* Where the seed's outcome must not depend on the schedule (which of equal
 * tasks runs first, which finished task a race draws), the case runs under
 * SWEEP on this runtime. */
static asup_rt *det_seeded(uint64_t seed)
{
	return test_rt(ASUP_MODE_DETERMINISTIC, seed);
}

#define done test_rt_done

static asup__region *root_of(asup_rt *rt)
{
	return asup__rt_kernel(rt)->root;
}

/* Spawns from outside any task into region r, with a ready-lane priority. */
static asup_task spawn_in(asup_rt *rt, asup__region *r, asup_task_fn fn, void *arg, uint8_t prio)
{
	asup__spawn_req req;
	asup_spawn_opts o;
	asup_task h;
	asup_spawn_opts_init(&o);
	o.priority = prio;
	memset(&req, 0, sizeof req);
	req.fn = fn;
	req.arg = arg;
	req.opts = &o;
	req.region = r;
	req.budget = r->budget;
	CHECK_EQ(asup__task_spawn(asup__rt_kernel(rt), &req, &h), 0);
	return h;
}

static asup__ktask *rec(const asup_task *h)
{
	return (asup__ktask *)h->_rec;
}

static int region_lists(const asup__region *r, uint64_t task_id)
{
	for (const asup__list *l = r->tasks.next; l != &r->tasks; l = l->next)
		if (asup__container_of(l, asup__ktask, region_link)->id == task_id)
			return 1;
	return 0;
}

static int64_t ret_arg(asup_cx *cx, void *arg)
{
	return (int64_t)(intptr_t)arg;
}

static int64_t panics_oops(asup_cx *cx, void *arg)
{
	asup_panic(cx, "%s", (const char *)arg);
}

/* Runs fn as a driver task and steps the runtime until it is idle. */
static asup_outcome drive(asup_rt *rt, asup_task_fn fn, void *arg)
{
	asup_task h;
	asup_outcome o;
	CHECK_EQ(asup_rt_spawn(rt, fn, arg, NULL, &h), 0);
	CHECK(asup_rt_run_until_idle(rt) >= 1);
	CHECK_EQ(asup_task_try_join(&h, &o), 0);
	return o;
}

/* 1 */
TEST(spawn_creates_task_record)
{
	asup_rt *rt = det();
	asup_task h = spawn_in(rt, root_of(rt), ret_arg, (void *)42, 128);
	asup__ktask *kt = asup__task_lookup(asup__rt_kernel(rt), h._id);
	CHECK(kt != NULL);
	CHECK(kt->owner == root_of(rt));
	done(rt);
}

/* 2 */
struct inherit {
	int same_registry;
	char origin[32];
};

static int64_t reads_handles(asup_cx *cx, void *arg)
{
	struct inherit *in = arg;
	asup_cx_handles h;
	CHECK_EQ(asup_cx_handles_get(cx, &h), 0);
	in->same_registry = h.registry == (void *)&in->same_registry;
	snprintf(in->origin, sizeof in->origin, "%s", h.remote_node ? h.remote_node : "");
	return 0;
}

TEST(spawn_inherits_registry_and_remote_capabilities)
{
	asup_rt *rt = det();
	struct inherit in = {0, ""};
	asup_cx_handles hs = {0};
	asup_task h;
	asup_outcome o;
	hs.registry = &in.same_registry;
	hs.remote_node = "origin-test";
	CHECK_EQ(asup_rt_set_handles(rt, &hs), 0);
	h = spawn_in(rt, root_of(rt), reads_handles, &in, 128);
	CHECK_EQ(asup_rt_step(rt), 1);
	CHECK_EQ(asup_task_try_join(&h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(in.same_registry, 1);
	CHECK_STR_EQ(in.origin, "origin-test");
	done(rt);
}

/* 3 */
static int64_t has_timer(asup_cx *cx, void *arg)
{
	return asup_cx_has_timer(cx);
}

TEST(spawn_inherits_runtime_timer_driver)
{
	asup_rt *rt = det();
	asup_task h = spawn_in(rt, root_of(rt), has_timer, NULL, 128);
	asup_outcome o;
	CHECK_EQ(asup_rt_step(rt), 1);
	CHECK_EQ(asup_task_try_join(&h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(o.value, 1);
	done(rt);
}

/* 4 */
TEST(create_task_record_uses_runtime_timer_driver_time)
{
	asup_rt *rt = det();
	asup_task h;
	CHECK_EQ(asup_rt_advance(rt, ASUP_MSEC(11)), 0);
	CHECK_EQ(asup_rt_advance(rt, ASUP_MSEC(7)), 0);
	h = spawn_in(rt, root_of(rt), ret_arg, NULL, 128);
	CHECK_EQ(rec(&h)->created_at, ASUP_MSEC(18));
	done(rt);
}

/* 5 */
static int64_t blocking_has_timer(asup_blocking *b, void *arg)
{
	return asup_blocking_has_timer(b);
}

static int64_t spawns_blocking_timer(asup_cx *cx, void *arg)
{
	asup_task h;
	asup_outcome o;
	CHECK_EQ(asup_spawn_blocking(cx, blocking_has_timer, NULL, NULL, &h), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	return o.value;
}

TEST(spawn_blocking_inherits_runtime_timer_driver)
{
	asup_rt *rt = det();
	asup_outcome o = drive(rt, spawns_blocking_timer, NULL);
	CHECK_EQ(o.value, 1);
	done(rt);
}

/* 6 */
TEST(spawn_registered_stores_task)
{
	asup_rt *rt = det();
	asup_task h = spawn_in(rt, root_of(rt), ret_arg, (void *)42, 128);
	CHECK(rec(&h)->owner == root_of(rt));
	/* stored and scheduled: never run, waiting in the ready lane */
	CHECK_EQ(rec(&h)->t.state, ASUP__T_NEW);
	CHECK_EQ(rec(&h)->t.lane, ASUP__LANE_READY);
	done(rt);
}

/* 7 */
TEST(spawn_registered_task_can_be_polled)
{
	asup_rt *rt = det();
	asup_task h = spawn_in(rt, root_of(rt), ret_arg, (void *)42, 128);
	asup_outcome o;
	CHECK_EQ(asup_rt_step(rt), 1); /* polled once: ready */
	CHECK_EQ(asup_task_try_join(&h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(o.value, 42);
	done(rt);
}

/* 8 */
static int64_t blocking_42(asup_blocking *b, void *arg)
{
	return 42;
}

static int64_t spawns_blocking_record(asup_cx *cx, void *arg)
{
	asup_task h;
	CHECK_EQ(asup_spawn_blocking(cx, blocking_42, NULL, NULL, &h), 0);
	CHECK(asup__task_lookup(cx->k, h._id) != NULL);
	CHECK(rec(&h)->owner == cx->scope);
	return asup_join(cx, &h, NULL);
}

TEST(spawn_blocking_creates_task_record)
{
	asup_rt *rt = det();
	asup_outcome o = drive(rt, spawns_blocking_record, NULL);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	done(rt);
}

/* 9 */
static int64_t spawns_local_record(asup_cx *cx, void *arg)
{
	asup_task h;
	CHECK_EQ(asup_spawn_local(cx, ret_arg, (void *)1, NULL, &h), 0);
	CHECK(rec(&h)->owner == cx->scope);
	CHECK_EQ(rec(&h)->local, 1);
	return asup_join(cx, &h, NULL);
}

TEST(spawn_local_creates_task_record)
{
	asup_rt *rt = det();
	asup_outcome o = drive(rt, spawns_local_record, NULL);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	done(rt);
}

/* 10 */
TEST(spawn_local_without_scheduler_fails_and_rolls_back)
{
	asup_rt *rt = det();
	asup_task h;
	CHECK_RC(asup_rt_spawn_local(rt, ret_arg, NULL, NULL, &h), -ASUP_ENOLOCAL);
	CHECK_EQ(asup__rt_kernel(rt)->tasks.live, 0);
	CHECK_EQ(root_of(rt)->ntasks, 0);
	CHECK(asup__list_empty(&root_of(rt)->tasks));
	done(rt);
}

/* 11 */
static int64_t spawns_local_7(asup_cx *cx, void *arg)
{
	return asup_spawn_local(cx, ret_arg, (void *)7, NULL, arg);
}

TEST(spawn_local_makes_progress_via_local_ready)
{
	asup_rt *rt = det();
	asup_task driver, local;
	asup_outcome o;
	CHECK_EQ(asup_rt_spawn(rt, spawns_local_7, &local, NULL, &driver), 0);
	CHECK_EQ(asup_rt_step(rt), 1); /* the driver spawns the local task */
	CHECK_EQ(rec(&local)->t.lane, ASUP__LANE_READY);
	CHECK_RC(asup_task_try_join(&local, &o), -EAGAIN);
	CHECK_EQ(asup_rt_step(rt), 1); /* the local task runs */
	CHECK_EQ(asup_task_try_join(&local, &o), 0);
	CHECK_EQ(o.value, 7);
	CHECK_EQ(asup_task_try_join(&driver, &o), 0);
	done(rt);
}

/* 12 */
TEST(task_added_to_region)
{
	asup_rt *rt = det();
	asup_task h = spawn_in(rt, root_of(rt), ret_arg, NULL, 128);
	CHECK(region_lists(root_of(rt), h._id));
	done(rt);
}

/* 13 */
TEST(multiple_spawns_create_distinct_tasks)
{
	asup_rt *rt = det();
	asup_task a = spawn_in(rt, root_of(rt), ret_arg, NULL, 128);
	asup_task b = spawn_in(rt, root_of(rt), ret_arg, NULL, 128);
	asup_task c = spawn_in(rt, root_of(rt), ret_arg, NULL, 128);
	CHECK(a._id != b._id && b._id != c._id && a._id != c._id);
	CHECK(region_lists(root_of(rt), a._id));
	CHECK(region_lists(root_of(rt), b._id));
	CHECK(region_lists(root_of(rt), c._id));
	CHECK_EQ(root_of(rt)->ntasks, 3);
	done(rt);
}

/* 14 */
TEST(spawn_into_closing_region_should_fail)
{
	asup_rt *rt = det();
	asup__kernel *k = asup__rt_kernel(rt);
	asup__region *r;
	asup__spawn_req req;
	asup_task h;
	CHECK_EQ(asup__region_create(k, k->root, asup_budget_infinite(), &r), 0);
	CHECK_EQ(asup__region_begin_close(k, r, NULL), 1);
	memset(&req, 0, sizeof req);
	req.fn = ret_arg;
	req.region = r;
	req.budget = r->budget;
	CHECK_RC(asup__task_spawn(k, &req, &h), -ASUP_ECLOSED);
	CHECK_EQ(r->ntasks, 0);
	asup__region_advance(k, r); /* nothing in it: it closes */
	done(rt);
}

/* 15 */
TEST(test_join_manual_poll)
{
	asup_rt *rt = det();
	asup_task h = spawn_in(rt, root_of(rt), ret_arg, (void *)42, 128);
	asup_outcome o;
	CHECK_RC(asup_task_try_join(&h, &o), -EAGAIN);
	CHECK_EQ(asup_rt_step(rt), 1);
	CHECK_EQ(asup_task_try_join(&h, &o), 0);
	CHECK_EQ(o.value, 42);
	done(rt);
}

/* 16 */
static int64_t checks_for_cancel(asup_cx *cx, void *arg)
{
	return asup_checkpoint(cx) < 0 ? 1 /* "cancelled" */ : 2 /* "finished" */;
}

TEST(spawn_abort_cancels_task)
{
	asup_rt *rt = det();
	asup_task h = spawn_in(rt, root_of(rt), checks_for_cancel, NULL, 128);
	asup__ktask *kt = rec(&h);
	asup_outcome o;
	CHECK_EQ(asup_task_abort(&h), 0);
	CHECK_EQ(asup_rt_step(rt), 1);
	/* the record completed Ok: abort only touched the cx */
	CHECK_EQ(kt->pstate, ASUP__P_COMPLETED);
	CHECK_EQ(kt->rec_kind, ASUP_OUTCOME_OK);
	CHECK_EQ(asup_task_try_join(&h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(o.value, 1);
	done(rt);
}

/* 17 */
static int64_t hedge_body(asup_cx *cx, void *arg)
{
	asup_region_limits l = asup_region_limits_unlimited();
	asup_outcome o;
	asup__ktask *primary;
	l.max_tasks = 1;
	CHECK_EQ(asup_scope_set_limits(cx, &l), 0);
	CHECK_EQ(asup_hedge(cx, 0, ret_arg, (void *)1, ret_arg, (void *)2, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(o.reason.kind, ASUP_CANCEL_RESOURCE_UNAVAILABLE);
	/* the primary is still tracked by the region, cancel-requested */
	CHECK_EQ(cx->scope->ntasks, 1);
	primary = asup__container_of(cx->scope->tasks.next, asup__ktask, region_link);
	CHECK_EQ(primary->cancel_requested, 1);
	CHECK(primary->cx_reason != NULL);
	CHECK_EQ(primary->cx_reason->kind, ASUP_CANCEL_RESOURCE_UNAVAILABLE);
	return 0;
}

static int64_t hedge_driver(asup_cx *cx, void *arg)
{
	asup_outcome o;
	CHECK_EQ(asup_region(cx, hedge_body, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	return 0;
}

TEST(hedge_backup_spawn_failure_aborts_primary)
{
	asup_rt *rt = det();
	asup_outcome o = drive(rt, hedge_driver, NULL);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	done(rt);
}

/* 18 */
static int64_t returns_region_id(asup_cx *cx, void *arg)
{
	*(uint64_t *)arg = asup_scope_region_id(cx);
	return 0;
}

static int64_t empty_child_driver(asup_cx *cx, void *arg)
{
	uint64_t id = 0;
	asup_outcome o;
	CHECK_EQ(asup_region(cx, returns_region_id, &id, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK(id != 0 && id != cx->scope->id);
	CHECK(asup__region_lookup(cx->k, id) == NULL);
	CHECK_EQ(cx->scope->nchildren, 0);
	return 0;
}

TEST(region_closes_empty_child)
{
	asup_rt *rt = det();
	CHECK_EQ(drive(rt, empty_child_driver, NULL).kind, ASUP_OUTCOME_OK);
	done(rt);
}

/* 19 */
static int64_t reads_budget(asup_cx *cx, void *arg)
{
	uint64_t *ids = arg;
	ids[0] = asup_scope_budget(cx).deadline;
	ids[1] = asup_scope_region_id(cx);
	return 0;
}

static int64_t budget_driver(asup_cx *cx, void *arg)
{
	asup_budget b = asup_budget_infinite();
	uint64_t got[2];
	asup_outcome o;
	b.deadline = ASUP_SEC(30);
	CHECK_EQ(asup_region_with_budget(cx, b, reads_budget, got, &o), 0);
	CHECK_EQ(got[0], ASUP_SEC(10));
	CHECK(asup__region_lookup(cx->k, got[1]) == NULL);
	return 0;
}

TEST(region_budget_is_met_with_parent)
{
	asup_rt *rt = det();
	root_of(rt)->budget = asup_budget_with_deadline(asup_budget_infinite(), ASUP_SEC(10));
	CHECK_EQ(drive(rt, budget_driver, NULL).kind, ASUP_OUTCOME_OK);
	done(rt);
}

/* 20 */
static int64_t spawns_in_child(asup_cx *cx, void *arg)
{
	asup_task h;
	asup_outcome o;
	uint64_t *child = arg;
	*child = cx->scope->id;
	CHECK_EQ(asup_spawn(cx, ret_arg, (void *)3, NULL, &h), 0);
	CHECK(rec(&h)->owner == cx->scope);
	CHECK(region_lists(cx->scope, h._id));
	CHECK(!region_lists(cx->scope->parent, h._id));
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	return o.value;
}

static int64_t child_spawn_driver(asup_cx *cx, void *arg)
{
	uint64_t child = 0;
	asup_outcome o;
	CHECK_EQ(asup_region(cx, spawns_in_child, &child, &o), 0);
	CHECK_EQ(o.value, 3);
	CHECK(asup__region_lookup(cx->k, child) == NULL);
	CHECK_EQ(cx->scope->nchildren, 0);
	return 0;
}

TEST(region_spawns_tasks_in_child)
{
	asup_rt *rt = det();
	CHECK_EQ(drive(rt, child_spawn_driver, NULL).kind, ASUP_OUTCOME_OK);
	done(rt);
}

/* 21 */
TEST(spawn_panic_propagates_as_panicked_error)
{
	asup_rt *rt = det();
	asup_task h = spawn_in(rt, root_of(rt), panics_oops, "oops", 128);
	asup_outcome o;
	CHECK_EQ(asup_rt_step(rt), 1);
	CHECK_EQ(rec(&h)->rec_kind, ASUP_OUTCOME_PANICKED);
	CHECK_EQ(asup_task_try_join(&h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_PANICKED);
	CHECK_STR_EQ(o.panic_msg, "oops");
	done(rt);
}

/* 22 */
struct pair_h {
	asup_task h[3];
	asup_outcome o[3];
	size_t winner;
	int rc;
};

static int64_t joins_all(asup_cx *cx, void *arg)
{
	struct pair_h *p = arg;
	return asup_join_all(cx, p->h, 2, p->o);
}

TEST(join_all_success)
{
	asup_rt *rt = det();
	struct pair_h p;
	p.h[0] = spawn_in(rt, root_of(rt), ret_arg, (void *)1, 200);
	p.h[1] = spawn_in(rt, root_of(rt), ret_arg, (void *)2, 200);
	CHECK_EQ(asup_rt_step(rt), 1);
	CHECK_EQ(asup_rt_step(rt), 1); /* both completed */
	CHECK_EQ(drive(rt, joins_all, &p).kind, ASUP_OUTCOME_OK);
	CHECK_EQ(p.o[0].value, 1);
	CHECK_EQ(p.o[1].value, 2);
	done(rt);
}

/* 23 and 36: a loser that yields once, then checkpoints */
static int64_t yields_then_checks(asup_cx *cx, void *arg)
{
	(void)!asup_yield(cx); /* the checkpoint below reads the cancel */
	return asup_checkpoint(cx) < 0 ? 0 : 2;
}

static int64_t races_all(asup_cx *cx, void *arg)
{
	struct pair_h *p = arg;
	p->rc = asup_race_all(cx, p->h, 2, &p->o[0], &p->winner);
	return p->rc;
}

static void race_all_drains(void)
{
	asup_rt *rt = det();
	struct pair_h p;
	asup_task driver;
	asup_outcome o;
	/* priorities fix the order: winner, then the racer, then the loser */
	p.h[0] = spawn_in(rt, root_of(rt), ret_arg, (void *)1, 250);
	p.h[1] = spawn_in(rt, root_of(rt), yields_then_checks, NULL, 100);
	driver = spawn_in(rt, root_of(rt), races_all, &p, 200);
	CHECK_EQ(asup_rt_step(rt), 1); /* the winner completes */
	CHECK_EQ(asup_rt_step(rt), 1); /* race_all: aborts the loser, drains it */
	CHECK_RC(asup_task_try_join(&driver, &o), -EAGAIN); /* Pending */
	CHECK_EQ(asup_task_is_finished(&p.h[1]), 0);
	CHECK_EQ(asup_rt_step(rt), 1); /* the loser sees the abort */
	CHECK_RC(asup_task_try_join(&driver, &o), -EAGAIN); /* still Pending */
	CHECK(asup_rt_run_until_idle(rt) >= 1);
	CHECK_EQ(asup_task_try_join(&driver, &o), 0);
	CHECK_EQ(p.rc, 0);
	CHECK_EQ(p.o[0].kind, ASUP_OUTCOME_OK);
	CHECK_EQ(p.o[0].value, 1);
	CHECK_EQ(p.winner, 0);
	CHECK_EQ(rec(&p.h[1])->pstate, ASUP__P_COMPLETED); /* drained */
	done(rt);
}

TEST(race_all_aborted_task_is_drained)
{
	race_all_drains();
}

/* 24 */
static int64_t races(asup_cx *cx, void *arg)
{
	struct pair_h *p = arg;
	p->rc = asup_race(cx, &p->h[0], &p->h[1], &p->o[0]);
	return p->rc;
}

TEST(race_surfaces_loser_panic_even_if_winner_succeeds)
{
	asup_rt *rt = det();
	struct pair_h p;
	p.h[0] = spawn_in(rt, root_of(rt), ret_arg, (void *)1, 250);
	p.h[1] = spawn_in(rt, root_of(rt), panics_oops, "loser panic", 250);
	CHECK_EQ(asup_rt_run_until_idle(rt), 2); /* both complete */
	CHECK_EQ(drive(rt, races, &p).kind, ASUP_OUTCOME_OK);
	CHECK_EQ(p.o[0].kind, ASUP_OUTCOME_PANICKED);
	CHECK_STR_EQ(p.o[0].panic_msg, "loser panic");
	done(rt);
}

/* 25, 27 */
static int64_t yields_then_panics(asup_cx *cx, void *arg)
{
	(void)!asup_cx_masked(cx, (asup_task_fn)(void *)asup_yield, NULL); /* it panics anyway */
	asup_panic(cx, "loser panic");
}

static void winner_panic_case(asup_task_fn racer)
{
	asup_rt *rt = det();
	struct pair_h p;
	asup_task driver;
	asup_outcome o;
	p.h[0] = spawn_in(rt, root_of(rt), panics_oops, "winner panic", 250);
	p.h[1] = spawn_in(rt, root_of(rt), yields_then_panics, NULL, 100);
	driver = spawn_in(rt, root_of(rt), racer, &p, 200);
	CHECK_EQ(asup_rt_step(rt), 1); /* the winner panics */
	CHECK_EQ(asup_rt_step(rt), 1); /* the race sees it, drains the loser */
	CHECK_RC(asup_task_try_join(&driver, &o), -EAGAIN);
	CHECK(asup_rt_run_until_idle(rt) >= 2); /* the loser panics too */
	CHECK_EQ(asup_task_try_join(&driver, &o), 0);
	CHECK_EQ(p.o[0].kind, ASUP_OUTCOME_PANICKED);
	CHECK_STR_EQ(p.o[0].panic_msg, "winner panic");
	done(rt);
}

TEST(race_preserves_winner_panic_over_loser_panic)
{
	winner_panic_case(races);
}

/* 26 */
static int64_t races_all_three(asup_cx *cx, void *arg)
{
	struct pair_h *p = arg;
	p->rc = asup_race_all(cx, p->h, 3, &p->o[0], &p->winner);
	return p->rc;
}

static unsigned simultaneous_winners;

static void simultaneous_loser_panic(uint64_t seed)
{
	asup_rt *rt = det_seeded(seed);
	struct pair_h p;
	p.h[0] = spawn_in(rt, root_of(rt), ret_arg, (void *)1, 250);
	p.h[1] = spawn_in(rt, root_of(rt), panics_oops, "middle", 250);
	p.h[2] = spawn_in(rt, root_of(rt), ret_arg, (void *)3, 250);
	CHECK_EQ(asup_rt_run_until_idle(rt), 3);
	CHECK_EQ(drive(rt, races_all_three, &p).kind, ASUP_OUTCOME_OK);
	CHECK_EQ(p.rc, 0);
	CHECK(p.winner < 3);
	simultaneous_winners |= 1u << p.winner;
	CHECK_EQ(p.o[0].kind, ASUP_OUTCOME_PANICKED); /* whichever won */
	CHECK_STR_EQ(p.o[0].panic_msg, "middle");
	done(rt);
}

TEST(race_all_surfaces_simultaneous_loser_panic)
{
	/* The winner is drawn among the three finished tasks: over a full
	 * sweep the draw picks more than one of them. */
	if (SWEEP(16, simultaneous_loser_panic) == 16)
		CHECK(simultaneous_winners != 1u && simultaneous_winners != 2u &&
		      simultaneous_winners != 4u);
}

TEST(race_all_preserves_winner_panic_over_loser_panic)
{
	winner_panic_case(races_all);
}

/* 28 */
static int64_t races_nothing(asup_cx *cx, void *arg)
{
	asup_outcome o;
	return asup_race_all(cx, NULL, 0, &o, NULL);
}

TEST(race_all_empty_is_pending)
{
	asup_rt *rt = det();
	asup_task h;
	asup_outcome o;
	CHECK_EQ(asup_rt_spawn(rt, races_nothing, NULL, NULL, &h), 0);
	CHECK_EQ(asup_rt_run_until_idle(rt), 1);
	CHECK_RC(asup_task_try_join(&h, &o), -EAGAIN); /* pending for ever */
	CHECK_EQ(asup_task_abort(&h), 0);
	CHECK_EQ(asup_rt_run_until_idle(rt), 1);
	CHECK_EQ(asup_task_try_join(&h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	done(rt);
}

/* 29 */
TEST(conformance_spawn_creates_trackable_task)
{
	asup_rt *rt = det();
	asup_task h = spawn_in(rt, root_of(rt), ret_arg, NULL, 128);
	asup__ktask *kt = asup__task_lookup(asup__rt_kernel(rt), h._id);
	CHECK(kt != NULL);
	CHECK(kt->owner == root_of(rt));
	CHECK(region_lists(root_of(rt), h._id));
	done(rt);
}

/* 30: the seed's Send bounds are compile-time; the C counterpart is that a
 * task owns nothing but what it is given: an owned string is moved in. */
static int64_t owns_string(asup_cx *cx, void *arg)
{
	char *s = arg;
	int64_t n = (int64_t)strlen(s);
	free(s);
	return n;
}

TEST(conformance_spawn_enforces_send_bounds)
{
	asup_rt *rt = det();
	char *owned = strdup("moved into the task");
	asup_task h = spawn_in(rt, root_of(rt), owns_string, owned, 128);
	asup_outcome o;
	CHECK(rec(&h)->owner == root_of(rt));
	CHECK_EQ(asup_rt_step(rt), 1);
	CHECK_EQ(asup_task_try_join(&h, &o), 0);
	CHECK_EQ(o.value, 19);
	done(rt);
}

/* 31 */
TEST(conformance_join_awaits_task_completion)
{
	asup_rt *rt = det();
	asup_task h = spawn_in(rt, root_of(rt), ret_arg, (void *)123, 128);
	asup_outcome o;
	CHECK_RC(asup_task_try_join(&h, &o), -EAGAIN);
	CHECK_EQ(asup_rt_step(rt), 1);
	CHECK_EQ(asup_task_try_join(&h, &o), 0);
	CHECK_EQ(o.value, 123);
	done(rt);
}

/* 32 */
TEST(conformance_child_region_task_isolation)
{
	asup_rt *rt = det();
	asup__kernel *k = asup__rt_kernel(rt);
	asup__region *child;
	asup_task h;
	CHECK_EQ(asup__region_create(k, k->root, asup_budget_infinite(), &child), 0);
	h = spawn_in(rt, child, ret_arg, NULL, 128);
	CHECK(rec(&h)->owner == child);
	CHECK(region_lists(child, h._id));
	CHECK(!region_lists(k->root, h._id));
	CHECK_EQ(asup_rt_run_until_idle(rt), 1);
	CHECK_EQ(asup_task_try_join(&h, NULL), 0);
	asup__region_begin_close(k, child, NULL);
	asup__region_advance(k, child);
	done(rt);
}

/* 33 */
struct caps_seen {
	asup_cx_handles h;
	int has_timer;
};

static int64_t captures_handles(asup_cx *cx, void *arg)
{
	struct caps_seen *c = arg;
	CHECK_EQ(asup_cx_handles_get(cx, &c->h), 0);
	c->has_timer = asup_cx_has_timer(cx);
	return 0;
}

static int64_t parent_with_handles(asup_cx *cx, void *arg)
{
	asup_task h;
	CHECK_EQ(asup_spawn(cx, captures_handles, arg, NULL, &h), 0);
	return asup_join(cx, &h, NULL);
}

TEST(conformance_capability_inheritance)
{
	asup_rt *rt = det();
	static int registry, io, macaroon;
	static double pressure = 0.25;
	asup_cx_handles hs = {0};
	struct caps_seen c;
	memset(&c, 0, sizeof c);
	hs.registry = &registry;
	hs.remote_node = "test-node";
	hs.io = &io;
	hs.pressure = &pressure;
	hs.macaroon = &macaroon;
	CHECK_EQ(asup_rt_set_handles(rt, &hs), 0);
	CHECK_EQ(drive(rt, parent_with_handles, &c).kind, ASUP_OUTCOME_OK);
	CHECK(c.h.registry == &registry);
	CHECK_STR_EQ(c.h.remote_node, "test-node");
	CHECK(c.h.io == &io);
	CHECK(c.h.pressure == &pressure && *(double *)c.h.pressure == 0.25);
	CHECK(c.h.macaroon == &macaroon);
	CHECK_EQ(c.has_timer, 1);
	done(rt);
}

/* 34 */
TEST(conformance_task_cancellation_propagation)
{
	asup_rt *rt = det();
	asup_task h = spawn_in(rt, root_of(rt), checks_for_cancel, NULL, 128);
	asup_outcome o;
	CHECK_EQ(asup_task_abort(&h), 0);
	CHECK_EQ(asup_rt_run_until_idle(rt), 1);
	CHECK_EQ(asup_task_try_join(&h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(o.value, 1); /* "cancelled" */
	done(rt);
}

/* 35 */
static char fin_log[8];
static int fin_n;
static void log_fin(void *arg)
{
	fin_log[fin_n++] = *(const char *)arg;
}

static int64_t loops_until_cancelled(asup_cx *cx, void *arg)
{
	for (;;) {
		(void)!asup_yield(cx); /* the checkpoint reads the cancel */
		if (asup_checkpoint(cx) < 0)
			return 1; /* "..._cancelled" */
	}
}

static void nested_cancellation(uint64_t seed)
{
	asup_rt *rt = det_seeded(seed);
	asup__kernel *k = asup__rt_kernel(rt);
	asup__region *root, *child, *grand;
	asup__finalizer fc = {log_fin, NULL, "c"}, fg = {log_fin, NULL, "g"};
	asup__spawn_req req;
	asup__reason *why;
	asup_task tc, tg, extra;
	uint64_t child_id, grand_id;
	uint32_t live_before;
	asup_outcome o;

	fin_n = 0;
	CHECK_EQ(asup__region_create(k, k->root, asup_budget_infinite(), &root), 0);
	CHECK_EQ(asup__region_create(k, root, asup_budget_infinite(), &child), 0);
	CHECK_EQ(asup__region_create(k, child, asup_budget_infinite(), &grand), 0);
	child_id = child->id;
	grand_id = grand->id;
	CHECK_EQ(asup__region_add_finalizer(k, child, &fc), 0);
	CHECK_EQ(asup__region_add_finalizer(k, grand, &fg), 0);
	tc = spawn_in(rt, child, loops_until_cancelled, NULL, 128);
	tg = spawn_in(rt, grand, loops_until_cancelled, NULL, 128);
	CHECK_EQ(asup_rt_step(rt), 1);
	CHECK_EQ(asup_rt_step(rt), 1);

	why = asup__reason_new(&k->alloc, ASUP_CANCEL_SHUTDOWN, root->id, ASUP_ID_NONE, 0, NULL,
			       NULL, 16);
	CHECK_EQ(asup__region_cancel(k, root, why), 2); /* both tasks listed */
	asup__reason_unref(&k->alloc, why);

	live_before = k->live;
	memset(&req, 0, sizeof req);
	req.fn = ret_arg;
	req.region = grand;
	req.budget = grand->budget;
	CHECK_RC(asup__task_spawn(k, &req, &extra), -ASUP_ECLOSED);
	CHECK_EQ(k->live, live_before);
	CHECK_EQ(grand->ntasks, 1);

	CHECK(asup_rt_run_until_idle(rt) >= 2);
	CHECK_EQ(asup_task_try_join(&tc, &o), 0);
	CHECK_EQ(o.value, 1);
	CHECK_EQ(asup_task_try_join(&tg, &o), 0);
	CHECK_EQ(o.value, 1);
	fin_log[fin_n] = 0;
	CHECK_STR_EQ(fin_log, "gc");
	CHECK(asup__region_lookup(k, grand_id) == NULL);
	CHECK(asup__region_lookup(k, child_id) == NULL);
	done(rt);
}

TEST(metamorphic_nested_scope_cancellation_closes_descendants_without_spawn_leaks)
{
	SWEEP(8, nested_cancellation);
}

/* 36 */
TEST(conformance_race_loser_drain_invariant)
{
	race_all_drains();
}

/* 37 */
static int64_t empty_body(asup_cx *cx, void *arg)
{
	return 37; /* "empty_region_completed" */
}

static int64_t quiescent_driver(asup_cx *cx, void *arg)
{
	asup_outcome o;
	CHECK_EQ(asup_region(cx, empty_body, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(o.value, 37);
	CHECK_EQ(cx->scope->nchildren, 0);
	return 0;
}

TEST(conformance_region_quiescence_on_empty)
{
	asup_rt *rt = det();
	CHECK_EQ(drive(rt, quiescent_driver, NULL).kind, ASUP_OUTCOME_OK);
	done(rt);
}

/* 38 */
TEST(conformance_spawn_into_closed_region_fails)
{
	asup_rt *rt = det();
	asup__kernel *k = asup__rt_kernel(rt);
	asup__region *r;
	asup__spawn_req req;
	asup_task h;
	uint32_t live = k->live;
	CHECK_EQ(asup__region_create(k, k->root, asup_budget_infinite(), &r), 0);
	asup__region_begin_close(k, r, NULL);
	memset(&req, 0, sizeof req);
	req.fn = ret_arg;
	req.region = r;
	req.budget = r->budget;
	CHECK_RC(asup__task_spawn(k, &req, &h), -ASUP_ECLOSED);
	CHECK_EQ(k->live, live); /* no orphan */
	CHECK_EQ(r->ntasks, 0);
	asup__region_advance(k, r);
	done(rt);
}

/* 39 */
static int64_t joins_three(asup_cx *cx, void *arg)
{
	asup_task hs[3];
	asup_outcome os[3];
	for (int i = 0; i < 3; i++)
		CHECK_EQ(asup_spawn(cx, ret_arg, (void *)(intptr_t)(100 * (i + 1)), NULL, &hs[i]), 0);
	CHECK_EQ(asup_join_all(cx, hs, 3, os), 0);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(os[i].value, 100 * (i + 1));
	return 0;
}

TEST(conformance_join_multiple_tasks_preserves_results)
{
	asup_rt *rt = det();
	CHECK_EQ(drive(rt, joins_three, NULL).kind, ASUP_OUTCOME_OK);
	done(rt);
}

/* 40 */
TEST(conformance_panic_propagation_through_join)
{
	asup_rt *rt = det();
	asup_task h = spawn_in(rt, root_of(rt), panics_oops, "test_panic_message", 128);
	asup_outcome o;
	CHECK_EQ(asup_rt_run_until_idle(rt), 1);
	CHECK_EQ(asup_task_try_join(&h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_PANICKED);
	CHECK_STR_EQ(o.panic_msg, "test_panic_message");
	done(rt);
}
