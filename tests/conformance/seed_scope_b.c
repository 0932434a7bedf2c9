/*
 * The seed's Scope tests 21 to 40 (SEMANTICS section 11), each under the
 * seed's function name, replaying its observable sequence on a deterministic
 * runtime.
 *
 * How the seed's steps map here:
 * - "poll the stored task once" is one asup_rt_step; ready-lane priorities
 *   above the root budget's 128 pin which task that step runs;
 * - a combinator future (join_all, race, race_all) is a driver task, and it
 *   is "Pending" while that task has not finished; block_on is stepping
 *   until idle;
 * - "join is Pending" is asup_task_try_join == -EAGAIN;
 * - the seed's YieldOnce future, which never looks at cancellation, is an
 *   asup_yield under a cancel mask;
 * - string results are indexes into words[].
 * Where the schedule is seeded (random race winners, cancel-lane order), the
 * case sweeps seeds and a failure prints its seed.
 */
#include "testrt.h"

#include "kernel/kernel.h"

static const char *const words[] = {
	"winner", "loser_cancelled", "loser_completed", "empty_region_completed",
	"cancelled", "completed",
};
enum { W_WINNER, W_LOSER_CANCELLED, W_LOSER_COMPLETED, W_EMPTY, W_CANCELLED, W_COMPLETED };

/* ---- runtime helpers ---------------------------------------------------- */

static uint64_t sweep_seed;
static int sweeping;

static void report_seed(void)
{
	if (sweeping)
		fprintf(stderr, "failing seed: %" PRIu64 "\n", sweep_seed);
}

static void sweep_begin(void)
{
	atexit(report_seed);
	sweeping = 1;
}

static asup_rt *det_rt(uint64_t seed)
{
	sweep_seed = seed;
	return test_rt(ASUP_MODE_DETERMINISTIC, seed);
}

static asup__kernel *kern(asup_rt *rt)
{
	return asup__rt_kernel(rt);
}

static asup__region *root_of(asup_rt *rt)
{
	return kern(rt)->root;
}

/* Spawns fn into region r from outside any task, at ready-lane priority
 * prio, with the region's budget. */
static asup_task spawn_at(asup_rt *rt, asup__region *r, asup_task_fn fn, void *arg, uint8_t prio)
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
	CHECK_EQ(asup__task_spawn(kern(rt), &req, &h), 0);
	return h;
}

/* Runs exactly one task until it suspends or finishes. */
static void step1(asup_rt *rt)
{
	CHECK_EQ(asup_rt_step(rt), 1);
	CHECK_EQ(asup__rt_check(rt), 0);
}

/* Steps until nothing is runnable, checking the invariants after each. */
static void idle(asup_rt *rt)
{
	int rc;
	while ((rc = asup_rt_step(rt)) == 1)
		CHECK_EQ(asup__rt_check(rt), 0);
	CHECK_EQ(rc, 0);
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

static uint32_t live_tasks(asup_rt *rt)
{
	asup_rt_stats st;
	CHECK_EQ(asup_rt_stats_get(rt, &st), 0);
	return st.tasks_live;
}

/* ---- task bodies -------------------------------------------------------- */

static int64_t returns(asup_cx *cx, void *arg)
{
	(void)cx;
	return (int64_t)(intptr_t)arg;
}

static int64_t panics(asup_cx *cx, void *arg)
{
	asup_panic(cx, "%s", (const char *)arg);
}

static int64_t plain_yield(asup_cx *cx, void *arg)
{
	(void)arg;
	return asup_yield(cx);
}

/* The seed's YieldOnce: suspends once, is rescheduled at once, and does not
 * observe cancellation. */
static void yield_once(asup_cx *cx)
{
	CHECK_EQ(asup_cx_masked(cx, plain_yield, NULL), 0);
}

/* Pending on its first poll, panics on its second. */
static int64_t yields_then_panics(asup_cx *cx, void *arg)
{
	yield_once(cx);
	asup_panic(cx, "%s", (const char *)arg);
}

/* Yields once, then returns if_cancelled when its checkpoint fails and
 * if_completed otherwise. */
struct loser {
	int64_t if_cancelled, if_completed;
	int resumed;    /* came back from its yield */
	int saw_cancel; /* its checkpoint failed */
};

static int64_t loser_fn(asup_cx *cx, void *arg)
{
	struct loser *l = arg;

	yield_once(cx);
	l->resumed = 1;
	if (asup_checkpoint(cx) < 0) {
		l->saw_cancel = 1;
		return l->if_cancelled;
	}
	return l->if_completed;
}

/* A race or race_all over hs[0..n), run as a task. */
struct racer {
	asup_task hs[3];
	size_t n;
	int use_race; /* asup_race over hs[0], hs[1] */
	int rc;
	asup_outcome out;
	size_t winner;
};

static int64_t racer_fn(asup_cx *cx, void *arg)
{
	struct racer *r = arg;

	r->winner = SIZE_MAX;
	if (r->use_race)
		r->rc = asup_race(cx, &r->hs[0], &r->hs[1], &r->out);
	else
		r->rc = asup_race_all(cx, r->n ? r->hs : NULL, r->n, &r->out, &r->winner);
	return r->rc;
}

/* join_all over hs[0..n), run as a task. */
struct joiner {
	asup_task hs[3];
	size_t n;
	int rc;
	asup_outcome outs[3];
};

static int64_t join_all_fn(asup_cx *cx, void *arg)
{
	struct joiner *j = arg;
	j->rc = asup_join_all(cx, j->hs, j->n, j->outs);
	return j->rc;
}

/* One join, run as a task. */
struct join_one {
	asup_task h;
	int rc;
	asup_outcome out;
};

static int64_t join_one_fn(asup_cx *cx, void *arg)
{
	struct join_one *j = arg;
	j->rc = asup_join(cx, &j->h, &j->out);
	return j->rc;
}

/* ---- 21-22 -------------------------------------------------------------- */

TEST(spawn_panic_propagates_as_panicked_error)
{
	asup_rt *rt = det_rt(21);
	asup_task h = spawn_at(rt, root_of(rt), panics, (void *)"oops", 200);
	asup__ktask *kt = rec(&h);
	asup_outcome o;

	CHECK_EQ(asup_task_try_join(&h, &o), -EAGAIN);
	step1(rt);
	/* The poll of the stored task is Ready(Panicked): the panic was caught
	 * and the record completed Panicked. */
	CHECK_EQ(asup_task_is_finished(&h), 1);
	CHECK_EQ(kt->pstate, ASUP__P_COMPLETED);
	CHECK_EQ(kt->rec_kind, ASUP_OUTCOME_PANICKED);
	CHECK(asup__task_lookup(kern(rt), h._id) == NULL);
	/* The join is Err(Panicked("oops")). */
	CHECK_EQ(asup_task_try_join(&h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_PANICKED);
	CHECK_STR_EQ(o.panic_msg, "oops");
	CHECK_EQ(asup_task_try_join(&h, &o), -ASUP_EJOINED);
	test_rt_done(rt);
}

TEST(join_all_success)
{
	asup_rt *rt = det_rt(22);
	struct joiner j = {.n = 2};
	asup_task d;
	asup_outcome o;

	j.hs[0] = spawn_at(rt, root_of(rt), returns, (void *)1, 200);
	j.hs[1] = spawn_at(rt, root_of(rt), returns, (void *)2, 190);
	step1(rt);
	step1(rt);
	CHECK_EQ(asup_task_is_finished(&j.hs[0]), 1);
	CHECK_EQ(asup_task_is_finished(&j.hs[1]), 1);

	/* One poll of join_all is Ready with both results, in order. */
	d = spawn_at(rt, root_of(rt), join_all_fn, &j, 128);
	step1(rt);
	CHECK_EQ(asup_task_is_finished(&d), 1);
	CHECK_EQ(j.rc, 0);
	CHECK_EQ(j.outs[0].kind, ASUP_OUTCOME_OK);
	CHECK_EQ(j.outs[0].value, 1);
	CHECK_EQ(j.outs[1].kind, ASUP_OUTCOME_OK);
	CHECK_EQ(j.outs[1].value, 2);
	CHECK_EQ(asup_task_try_join(&d, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(asup_rt_step(rt), 0);
	test_rt_done(rt);
}

/* ---- 23 and 36: the loser is drained ------------------------------------ */

/*
 * winner_fn has finished; loser_fn has not run. A race_all is Pending until
 * the loser, aborted with RACE_LOST, was polled twice (a yield, then the
 * failed checkpoint); then it is Ready with the winner's value at index 0.
 */
static void race_all_drains(uint64_t seed, void *winner_value, struct loser *l,
			    asup_outcome *out)
{
	asup_rt *rt = det_rt(seed);
	struct racer r = {.n = 2};
	asup_task rh;
	asup_outcome ro;

	r.hs[0] = spawn_at(rt, root_of(rt), returns, winner_value, 200);
	r.hs[1] = spawn_at(rt, root_of(rt), loser_fn, l, 140);
	step1(rt); /* the winner completes */
	CHECK_EQ(asup_task_is_finished(&r.hs[0]), 1);
	CHECK_EQ(asup_task_is_finished(&r.hs[1]), 0);
	CHECK_EQ(rec(&r.hs[1])->t.state, ASUP__T_NEW);

	rh = spawn_at(rt, root_of(rt), racer_fn, &r, 160);
	step1(rt); /* race_all: winner found, loser aborted, drain pending */
	CHECK_EQ(asup_task_is_finished(&rh), 0);
	CHECK_EQ(rec(&r.hs[1])->cancel_requested, 1);
	CHECK(rec(&r.hs[1])->cx_reason != NULL);
	CHECK_EQ(rec(&r.hs[1])->cx_reason->kind, ASUP_CANCEL_RACE_LOST);
	CHECK_EQ(l->resumed, 0);

	step1(rt); /* the loser's first poll: its yield, Pending */
	CHECK_EQ(asup_task_is_finished(&r.hs[1]), 0);
	CHECK_EQ(l->resumed, 0);
	CHECK_EQ(asup_task_is_finished(&rh), 0); /* race_all still Pending */

	step1(rt); /* the loser's second poll: it sees the abort and returns */
	CHECK_EQ(l->resumed, 1);
	CHECK_EQ(l->saw_cancel, 1);
	CHECK_EQ(asup_task_is_finished(&r.hs[1]), 1);
	CHECK_EQ(asup_task_is_finished(&rh), 0);

	step1(rt); /* race_all: drained, Ready */
	CHECK_EQ(asup_task_is_finished(&rh), 1);
	CHECK_EQ(r.rc, 0);
	CHECK_EQ(r.winner, 0);
	*out = r.out;
	CHECK_EQ(asup_task_try_join(&rh, &ro), 0);
	CHECK_EQ(ro.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(asup_rt_step(rt), 0);
	CHECK_EQ(live_tasks(rt), 0);
	test_rt_done(rt);
}

TEST(race_all_aborted_task_is_drained)
{
	struct loser l = {.if_cancelled = 0, .if_completed = 2};
	asup_outcome out;

	race_all_drains(23, (void *)1, &l, &out);
	CHECK_EQ(out.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(out.value, 1);
}

/* ---- 24-28: panics in races, the empty race ----------------------------- */

TEST(race_surfaces_loser_panic_even_if_winner_succeeds)
{
	asup_rt *rt = det_rt(24);
	struct racer r = {.use_race = 1};
	asup_task rh;

	r.hs[0] = spawn_at(rt, root_of(rt), returns, (void *)1, 200);
	r.hs[1] = spawn_at(rt, root_of(rt), panics, (void *)"loser panic", 190);
	step1(rt);
	step1(rt);
	CHECK_EQ(asup_task_is_finished(&r.hs[0]), 1);
	CHECK_EQ(asup_task_is_finished(&r.hs[1]), 1);

	rh = spawn_at(rt, root_of(rt), racer_fn, &r, 128);
	idle(rt);
	CHECK_EQ(asup_task_is_finished(&rh), 1);
	CHECK_EQ(r.rc, 0);
	CHECK_EQ(r.out.kind, ASUP_OUTCOME_PANICKED);
	CHECK_STR_EQ(r.out.panic_msg, "loser panic");
	CHECK_EQ(asup_task_release(&rh), 0);
	CHECK_EQ(live_tasks(rt), 0);
	test_rt_done(rt);
}

/*
 * The winner panicked "winner panic"; the loser is Pending (one yield) when
 * the race starts, and panics "loser panic" when polled again during the
 * drain. The race returns the winner's panic.
 */
static void winner_panic_dominates(uint64_t seed, int use_race)
{
	asup_rt *rt = det_rt(seed);
	struct racer r = {.n = 2, .use_race = use_race};
	asup_task rh;

	r.hs[0] = spawn_at(rt, root_of(rt), panics, (void *)"winner panic", 200);
	r.hs[1] = spawn_at(rt, root_of(rt), yields_then_panics, (void *)"loser panic", 190);
	step1(rt);
	CHECK_EQ(asup_task_is_finished(&r.hs[0]), 1);
	step1(rt);
	CHECK_EQ(asup_task_is_finished(&r.hs[1]), 0);

	/* Above the loser's priority: the race is polled before the loser. */
	rh = spawn_at(rt, root_of(rt), racer_fn, &r, 250);
	step1(rt);
	CHECK_EQ(asup_task_is_finished(&rh), 0); /* draining the loser */
	CHECK_EQ(asup_task_is_finished(&r.hs[1]), 0);
	idle(rt);
	CHECK_EQ(asup_task_is_finished(&rh), 1);
	CHECK_EQ(r.rc, 0);
	CHECK_EQ(r.out.kind, ASUP_OUTCOME_PANICKED);
	CHECK_STR_EQ(r.out.panic_msg, "winner panic");
	if (!use_race)
		CHECK_EQ(r.winner, 0);
	CHECK_EQ(asup_task_release(&rh), 0);
	CHECK_EQ(live_tasks(rt), 0);
	test_rt_done(rt);
}

TEST(race_preserves_winner_panic_over_loser_panic)
{
	winner_panic_dominates(25, 1);
}

TEST(race_all_surfaces_simultaneous_loser_panic)
{
	unsigned winners = 0;

	/* The winner is drawn at random among the three finished tasks;
	 * whichever it is, the panic surfaces. */
	sweep_begin();
	for (uint64_t seed = 1; seed <= 16; seed++) {
		asup_rt *rt = det_rt(seed);
		struct racer r = {.n = 3};
		asup_task rh;

		r.hs[0] = spawn_at(rt, root_of(rt), returns, (void *)1, 200);
		r.hs[1] = spawn_at(rt, root_of(rt), panics, (void *)"simultaneous loser panic",
				   190);
		r.hs[2] = spawn_at(rt, root_of(rt), returns, (void *)3, 180);
		step1(rt);
		step1(rt);
		step1(rt);
		for (int i = 0; i < 3; i++)
			CHECK_EQ(asup_task_is_finished(&r.hs[i]), 1);

		rh = spawn_at(rt, root_of(rt), racer_fn, &r, 128);
		idle(rt);
		CHECK_EQ(asup_task_is_finished(&rh), 1);
		CHECK_EQ(r.rc, 0);
		CHECK(r.winner < 3);
		winners |= 1u << r.winner;
		CHECK_EQ(r.out.kind, ASUP_OUTCOME_PANICKED);
		CHECK_STR_EQ(r.out.panic_msg, "simultaneous loser panic");
		CHECK_EQ(asup_task_release(&rh), 0);
		CHECK_EQ(live_tasks(rt), 0);
		test_rt_done(rt);
	}
	sweeping = 0;
	/* Over 16 seeds a uniform choice picks more than one index. */
	CHECK(winners != 1u && winners != 2u && winners != 4u);
}

TEST(race_all_preserves_winner_panic_over_loser_panic)
{
	winner_panic_dominates(27, 0);
}

TEST(race_all_empty_is_pending)
{
	asup_rt *rt = det_rt(28);
	struct racer r = {.n = 0};
	asup_task rh = spawn_at(rt, root_of(rt), racer_fn, &r, 128);
	asup_outcome o;

	idle(rt);
	CHECK_EQ(asup_task_is_finished(&rh), 0);
	/* Not a timer: an hour of virtual time later it is still Pending. */
	CHECK_EQ(asup_rt_advance(rt, ASUP_SEC(3600)), 0);
	idle(rt);
	CHECK_EQ(asup_task_is_finished(&rh), 0);

	CHECK_EQ(asup_task_abort(&rh), 0);
	idle(rt);
	CHECK_EQ(asup_task_is_finished(&rh), 1);
	CHECK_EQ(r.rc, -ECANCELED);
	CHECK_EQ(r.winner, SIZE_MAX);
	CHECK_EQ(asup_task_try_join(&rh, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(o.reason.kind, ASUP_CANCEL_USER);
	test_rt_done(rt);
}

/* ---- 29-31: records and join -------------------------------------------- */

TEST(conformance_spawn_creates_trackable_task)
{
	asup_rt *rt = det_rt(29);
	asup__region *root = root_of(rt);
	asup_task h = spawn_at(rt, root, returns, (void *)42, 128);
	asup__ktask *kt = asup__task_lookup(kern(rt), h._id);
	asup_outcome o;

	CHECK(kt != NULL);
	CHECK(kt->owner == root);
	CHECK(asup__region_lookup(kern(rt), root->id) == root);
	CHECK(region_lists(root, h._id));
	CHECK_EQ(root->ntasks, 1);
	CHECK_EQ(asup__rt_check(rt), 0);
	step1(rt);
	CHECK_EQ(asup_task_try_join(&h, &o), 0);
	CHECK_EQ(o.value, 42);
	test_rt_done(rt);
}

static int64_t string_len(asup_cx *cx, void *arg)
{
	(void)cx;
	return (int64_t)strlen((const char *)arg);
}

TEST(conformance_spawn_enforces_send_bounds)
{
	asup_rt *rt = det_rt(30);
	char *owned = strdup("test"); /* owned by the spawner until the join */
	asup_task h;
	asup__ktask *kt;
	asup_outcome o;

	CHECK(owned != NULL);
	h = spawn_at(rt, root_of(rt), string_len, owned, 128);
	kt = asup__task_lookup(kern(rt), h._id);
	CHECK(kt != NULL);
	CHECK(kt->owner == root_of(rt));
	step1(rt);
	CHECK_EQ(asup_task_try_join(&h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(o.value, 4);
	free(owned);
	test_rt_done(rt);
}

TEST(conformance_join_awaits_task_completion)
{
	asup_rt *rt = det_rt(31);
	struct join_one j = {.rc = -1};
	asup_task jh;

	j.h = spawn_at(rt, root_of(rt), returns, (void *)123, 150);
	CHECK_EQ(asup_task_try_join(&j.h, NULL), -EAGAIN);

	jh = spawn_at(rt, root_of(rt), join_one_fn, &j, 200);
	step1(rt); /* the join is polled first: Pending */
	CHECK_EQ(asup_task_is_finished(&jh), 0);
	CHECK_EQ(asup_task_is_finished(&j.h), 0);
	step1(rt); /* the task completes */
	CHECK_EQ(asup_task_is_finished(&jh), 0);
	step1(rt); /* the join is Ready(Ok(123)) */
	CHECK_EQ(asup_task_is_finished(&jh), 1);
	CHECK_EQ(j.rc, 0);
	CHECK_EQ(j.out.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(j.out.value, 123);
	CHECK_EQ(asup_task_release(&jh), 0);
	CHECK_EQ(asup_rt_step(rt), 0);
	test_rt_done(rt);
}

/* ---- 32: a child region's tasks ----------------------------------------- */

struct isolation {
	asup__kernel *k;
	uint64_t parent_id, child_id;
	int child_owns, parent_owns, child_tracks, parent_tracks;
	int region_rc;
	asup_outcome region_out, task_out;
};

static int64_t isolation_body(asup_cx *cx, void *arg)
{
	struct isolation *s = arg;
	asup__region *parent, *child;
	asup__ktask *kt;
	asup_task h;

	s->child_id = asup_scope_region_id(cx);
	CHECK_EQ(asup_spawn(cx, returns, (void *)456, NULL, &h), 0);
	kt = asup__task_lookup(s->k, h._id);
	CHECK(kt != NULL);
	s->child_owns = kt->owner->id == s->child_id;
	s->parent_owns = kt->owner->id == s->parent_id;
	parent = asup__region_lookup(s->k, s->parent_id);
	child = asup__region_lookup(s->k, s->child_id);
	s->parent_tracks = parent && region_lists(parent, h._id);
	s->child_tracks = child && region_lists(child, h._id);
	/* Completes the task before the body returns. */
	CHECK_EQ(asup_join(cx, &h, &s->task_out), 0);
	return 0;
}

static int64_t isolation_driver(asup_cx *cx, void *arg)
{
	struct isolation *s = arg;

	s->parent_id = asup_scope_region_id(cx);
	s->region_rc = asup_region(cx, isolation_body, s, &s->region_out);
	return 0;
}

TEST(conformance_child_region_task_isolation)
{
	asup_rt *rt = det_rt(32);
	struct isolation s = {.k = kern(rt), .region_rc = -1};
	asup_task d = spawn_at(rt, root_of(rt), isolation_driver, &s, 128);

	idle(rt);
	CHECK_EQ(asup_task_is_finished(&d), 1);
	CHECK_EQ(s.region_rc, 0);
	CHECK_EQ(s.region_out.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(s.parent_id, root_of(rt)->id);
	CHECK(s.child_id != s.parent_id);
	CHECK_EQ(s.child_owns, 1);
	CHECK_EQ(s.parent_owns, 0);
	CHECK_EQ(s.child_tracks, 1);
	CHECK_EQ(s.parent_tracks, 0);
	CHECK_EQ(s.task_out.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(s.task_out.value, 456);
	CHECK(asup__region_lookup(kern(rt), s.child_id) == NULL);
	CHECK_EQ(root_of(rt)->nchildren, 0);
	CHECK_EQ(asup_task_release(&d), 0);
	test_rt_done(rt);
}

/* ---- 33: capabilities --------------------------------------------------- */

struct probe {
	asup_cx_handles h;
	int has_timer;
	uint32_t caps;
};

struct inheritance {
	struct probe parent, child;              /* full capabilities */
	struct probe narrowed, narrowed_child;   /* under asup_cx_restricted */
	asup_outcome child_out, narrowed_out;
};

static int64_t probe_fn(asup_cx *cx, void *arg)
{
	struct probe *p = arg;

	CHECK_EQ(asup_cx_handles_get(cx, &p->h), 0);
	p->has_timer = asup_cx_has_timer(cx);
	p->caps = asup_cx_caps(cx);
	return 0;
}

static int64_t narrowed_part(asup_cx *cx, void *arg)
{
	struct inheritance *in = arg;
	asup_task h;

	probe_fn(cx, &in->narrowed);
	CHECK_EQ(asup_spawn(cx, probe_fn, &in->narrowed_child, NULL, &h), 0);
	CHECK_EQ(asup_join(cx, &h, &in->narrowed_out), 0);
	return 0;
}

static int64_t inheritance_parent(asup_cx *cx, void *arg)
{
	struct inheritance *in = arg;
	asup_task h;

	probe_fn(cx, &in->parent);
	CHECK_EQ(asup_spawn(cx, probe_fn, &in->child, NULL, &h), 0);
	CHECK_EQ(asup_join(cx, &h, &in->child_out), 0);
	CHECK_EQ(asup_cx_restricted(cx, ASUP_CAP_SPAWN | ASUP_CAP_IO, narrowed_part, in), 0);
	return 0;
}

static void check_same_handles(const asup_cx_handles *a, const asup_cx_handles *b)
{
	CHECK(a->registry == b->registry);
	CHECK(a->io == b->io);
	CHECK(a->pressure == b->pressure);
	CHECK(a->macaroon == b->macaroon);
	CHECK(a->timer == b->timer);
	CHECK(a->trace == b->trace);
	CHECK(a->evidence == b->evidence);
	CHECK_STR_EQ(a->remote_node, b->remote_node);
}

TEST(conformance_capability_inheritance)
{
	asup_rt *rt = det_rt(33);
	int registry, io, pressure, macaroon;
	asup_cx_handles hs = {0};
	struct inheritance in;
	asup_task p;

	memset(&in, 0, sizeof in);
	hs.registry = &registry;
	hs.remote_node = "test-node";
	hs.io = &io;
	hs.pressure = &pressure;
	hs.macaroon = &macaroon;
	CHECK_EQ(asup_rt_set_handles(rt, &hs), 0);
	p = spawn_at(rt, root_of(rt), inheritance_parent, &in, 128);
	idle(rt);
	CHECK_EQ(asup_task_is_finished(&p), 1);
	CHECK_EQ(in.child_out.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(in.narrowed_out.kind, ASUP_OUTCOME_OK);

	/* The parent holds what it was given; the child the same instances. */
	CHECK(in.parent.h.registry == &registry);
	CHECK(in.parent.h.io == &io);
	CHECK(in.parent.h.pressure == &pressure);
	CHECK(in.parent.h.macaroon == &macaroon);
	CHECK_STR_EQ(in.parent.h.remote_node, "test-node");
	check_same_handles(&in.child.h, &in.parent.h);
	CHECK_EQ(in.child.has_timer, in.parent.has_timer);
	CHECK_EQ(in.parent.has_timer, 1);
	CHECK_EQ(in.child.caps, in.parent.caps);

	/* Spawned from a narrowed cx, the child has the narrowed capabilities
	 * and, like its parent, no timer. */
	check_same_handles(&in.narrowed_child.h, &in.parent.h);
	CHECK_EQ(in.narrowed.caps, ASUP_CAP_SPAWN | ASUP_CAP_IO);
	CHECK_EQ(in.narrowed_child.caps, in.narrowed.caps);
	CHECK_EQ(in.narrowed.has_timer, 0);
	CHECK_EQ(in.narrowed_child.has_timer, in.narrowed.has_timer);
	CHECK_EQ(asup_task_release(&p), 0);
	test_rt_done(rt);
}

/* ---- 34: abort before the first poll ------------------------------------ */

static int64_t checks_cancel(asup_cx *cx, void *arg)
{
	(void)arg;
	return asup_checkpoint(cx) < 0 ? W_CANCELLED : W_COMPLETED;
}

TEST(conformance_task_cancellation_propagation)
{
	asup_rt *rt = det_rt(34);
	asup_task h = spawn_at(rt, root_of(rt), checks_cancel, NULL, 128);
	asup_outcome o;

	CHECK_EQ(asup_task_abort(&h), 0);
	CHECK_EQ(rec(&h)->cancel_requested, 1);
	step1(rt);
	CHECK_EQ(asup_task_is_finished(&h), 1); /* a cancelled task still completes */
	CHECK_EQ(asup_task_try_join(&h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK(o.value >= 0 && o.value < (int64_t)(sizeof words / sizeof words[0]));
	CHECK_STR_EQ(words[o.value], "cancelled");
	test_rt_done(rt);
}

/* ---- 35: nested cancellation -------------------------------------------- */

struct fin_log {
	const char *entries[4];
	int n;
};

struct fin_entry {
	struct fin_log *log;
	const char *name;
};

static void log_finalizer(void *arg)
{
	struct fin_entry *e = arg;

	CHECK(e->log->n < 4);
	e->log->entries[e->log->n++] = e->name;
}

struct nested_task {
	const char *name;
	int resumed;
	char result[40];
};

static int64_t nested_fn(asup_cx *cx, void *arg)
{
	struct nested_task *t = arg;

	yield_once(cx);
	t->resumed = 1;
	if (asup_checkpoint(cx) < 0) {
		snprintf(t->result, sizeof t->result, "%s_cancelled", t->name);
		return 1;
	}
	snprintf(t->result, sizeof t->result, "%s_completed", t->name);
	return 0;
}

static void nested_cancellation(uint64_t seed)
{
	asup_rt *rt = det_rt(seed);
	asup__kernel *k = kern(rt);
	asup__region *root, *child, *grand;
	uint64_t root_id, child_id, grand_id;
	struct fin_log log = {{0}, 0};
	struct fin_entry fe_child = {&log, "child"}, fe_grand = {&log, "grandchild"};
	asup__finalizer f_child = {log_finalizer, NULL, &fe_child};
	asup__finalizer f_grand = {log_finalizer, NULL, &fe_grand};
	struct nested_task tc = {"child", 0, ""}, tg = {"grandchild", 0, ""};
	asup_task hc, hg, bad;
	asup__spawn_req req;
	asup__reason *why;
	asup_rt_stats before, after;
	uint32_t grand_tasks;
	asup_outcome o;
	int rc;

	CHECK_EQ(asup__region_create(k, k->root, asup_budget_infinite(), &root), 0);
	CHECK_EQ(asup__region_create(k, root, asup_budget_infinite(), &child), 0);
	CHECK_EQ(asup__region_create(k, child, asup_budget_infinite(), &grand), 0);
	root_id = root->id;
	child_id = child->id;
	grand_id = grand->id;
	CHECK_EQ(asup__region_add_finalizer(k, child, &f_child), 0);
	CHECK_EQ(asup__region_add_finalizer(k, grand, &f_grand), 0);
	hc = spawn_at(rt, child, nested_fn, &tc, 128);
	hg = spawn_at(rt, grand, nested_fn, &tg, 128);

	why = asup__reason_new(&k->alloc, ASUP_CANCEL_SHUTDOWN, root_id, ASUP_ID_NONE,
			       asup_rt_now(rt), NULL, NULL, k->chain_depth);
	CHECK(why != NULL);
	CHECK_EQ(asup__region_cancel(k, root, why), 2); /* reaches both tasks */
	asup__reason_unref(&k->alloc, why);
	CHECK_EQ(rec(&hc)->pstate, ASUP__P_CANCEL_REQUESTED);
	CHECK_EQ(rec(&hg)->pstate, ASUP__P_CANCEL_REQUESTED);
	CHECK_EQ(rec(&hc)->cancel_requested, 1);
	CHECK_EQ(rec(&hg)->cancel_requested, 1);
	CHECK_EQ(asup__rt_check(rt), 0);

	/* A spawn into the closing grandchild fails and leaves no trace. */
	grand_tasks = grand->ntasks;
	CHECK_EQ(asup_rt_stats_get(rt, &before), 0);
	memset(&req, 0, sizeof req);
	req.fn = returns;
	req.arg = (void *)99;
	req.region = grand;
	req.budget = grand->budget;
	CHECK_EQ(asup__task_spawn(k, &req, &bad), -ASUP_ECLOSED);
	CHECK_EQ(grand->ntasks, grand_tasks);
	CHECK_EQ(asup_rt_stats_get(rt, &after), 0);
	CHECK_EQ(after.tasks_live, before.tasks_live);
	CHECK_EQ(after.tasks_spawned, before.tasks_spawned);
	CHECK_EQ(after.task_records, before.task_records);
	CHECK_EQ(log.n, 0);

	/* Each task yields once, then observes the cancel; a region finalizes
	 * only after its tasks and its children are done. */
	while ((rc = asup_rt_step(rt)) == 1) {
		CHECK_EQ(asup__rt_check(rt), 0);
		if (log.n >= 1)
			CHECK_EQ(asup_task_is_finished(&hg), 1);
		if (log.n >= 2)
			CHECK_EQ(asup_task_is_finished(&hc), 1);
	}
	CHECK_EQ(rc, 0);
	CHECK_EQ(tg.resumed, 1);
	CHECK_EQ(tc.resumed, 1);
	CHECK_STR_EQ(tg.result, "grandchild_cancelled");
	CHECK_STR_EQ(tc.result, "child_cancelled");
	CHECK_EQ(asup_task_try_join(&hg, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(o.value, 1);
	CHECK_EQ(asup_task_try_join(&hc, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(o.value, 1);
	CHECK_EQ(log.n, 2);
	CHECK_STR_EQ(log.entries[0], "grandchild");
	CHECK_STR_EQ(log.entries[1], "child");
	CHECK(asup__region_lookup(k, grand_id) == NULL);
	CHECK(asup__region_lookup(k, child_id) == NULL);
	CHECK(asup__region_lookup(k, root_id) == NULL);
	CHECK_EQ(root_of(rt)->nchildren, 0);
	test_rt_done(rt);
}

TEST(metamorphic_nested_scope_cancellation_closes_descendants_without_spawn_leaks)
{
	sweep_begin();
	for (uint64_t seed = 1; seed <= 8; seed++)
		nested_cancellation(seed);
	sweeping = 0;
}

/* ---- 36-40 -------------------------------------------------------------- */

TEST(conformance_race_loser_drain_invariant)
{
	struct loser l = {.if_cancelled = W_LOSER_CANCELLED, .if_completed = W_LOSER_COMPLETED};
	asup_outcome out;

	race_all_drains(36, (void *)(intptr_t)W_WINNER, &l, &out);
	CHECK_EQ(out.kind, ASUP_OUTCOME_OK);
	CHECK_STR_EQ(words[out.value], "winner");
}

struct empty_region {
	asup__kernel *k;
	uint64_t child_id;
	int rc;
	int gone; /* the child was no longer found when asup_region returned */
	asup_outcome out;
};

static int64_t empty_body(asup_cx *cx, void *arg)
{
	struct empty_region *e = arg;

	e->child_id = asup_scope_region_id(cx);
	return W_EMPTY;
}

static int64_t empty_driver(asup_cx *cx, void *arg)
{
	struct empty_region *e = arg;

	e->rc = asup_region(cx, empty_body, e, &e->out);
	e->gone = asup__region_lookup(e->k, e->child_id) == NULL;
	return 0;
}

TEST(conformance_region_quiescence_on_empty)
{
	asup_rt *rt = det_rt(37);
	struct empty_region e = {kern(rt), ASUP_ID_NONE, -1, 0, {0}};
	asup_task d = spawn_at(rt, root_of(rt), empty_driver, &e, 128);

	idle(rt);
	CHECK_EQ(asup_task_is_finished(&d), 1);
	CHECK_EQ(e.rc, 0);
	CHECK_EQ(e.out.kind, ASUP_OUTCOME_OK);
	CHECK_STR_EQ(words[e.out.value], "empty_region_completed");
	CHECK(e.child_id != root_of(rt)->id);
	CHECK_EQ(e.gone, 1);
	CHECK_EQ(root_of(rt)->nchildren, 0);
	CHECK(asup__list_empty(&root_of(rt)->children));
	CHECK_EQ(asup_task_release(&d), 0);
	test_rt_done(rt);
}

TEST(conformance_spawn_into_closed_region_fails)
{
	asup_rt *rt = det_rt(38);
	asup__kernel *k = kern(rt);
	asup__region *root = root_of(rt);
	asup__spawn_req req;
	asup_task h;
	asup_rt_stats st;

	CHECK_EQ(asup__region_begin_close(k, root, NULL), 1);
	memset(&req, 0, sizeof req);
	req.fn = returns;
	req.arg = (void *)42;
	req.region = root;
	req.budget = root->budget;
	CHECK_EQ(asup__task_spawn(k, &req, &h), -ASUP_ECLOSED);
	CHECK_EQ(asup_rt_spawn(rt, returns, (void *)42, NULL, &h), -ASUP_ECLOSED);
	/* No orphan: the region lists no task and the runtime holds none. */
	CHECK_EQ(root->ntasks, 0);
	CHECK(asup__list_empty(&root->tasks));
	CHECK_EQ(asup_rt_stats_get(rt, &st), 0);
	CHECK_EQ(st.tasks_spawned, 0);
	CHECK_EQ(st.tasks_live, 0);
	CHECK_EQ(st.task_records, 0);
	CHECK_EQ(asup_rt_step(rt), 0);
	test_rt_done(rt);
}

TEST(conformance_join_multiple_tasks_preserves_results)
{
	asup_rt *rt = det_rt(39);
	struct joiner j = {.n = 3};
	asup_task d;

	j.hs[0] = spawn_at(rt, root_of(rt), returns, (void *)100, 200);
	j.hs[1] = spawn_at(rt, root_of(rt), returns, (void *)200, 190);
	j.hs[2] = spawn_at(rt, root_of(rt), returns, (void *)300, 180);
	step1(rt);
	step1(rt);
	step1(rt);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(asup_task_is_finished(&j.hs[i]), 1);

	d = spawn_at(rt, root_of(rt), join_all_fn, &j, 128);
	step1(rt); /* join_all is Ready on its first poll */
	CHECK_EQ(asup_task_is_finished(&d), 1);
	CHECK_EQ(j.rc, 0);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(j.outs[i].kind, ASUP_OUTCOME_OK);
		CHECK_EQ(j.outs[i].value, 100 * (i + 1));
	}
	CHECK_EQ(asup_task_release(&d), 0);
	test_rt_done(rt);
}

TEST(conformance_panic_propagation_through_join)
{
	asup_rt *rt = det_rt(40);
	struct join_one j = {.rc = -1};
	asup__ktask *kt;
	asup_task jh;

	j.h = spawn_at(rt, root_of(rt), panics, (void *)"test_panic_message", 200);
	kt = rec(&j.h);
	step1(rt); /* the task's poll is Ready(Panicked) */
	CHECK_EQ(asup_task_is_finished(&j.h), 1);
	CHECK_EQ(kt->rec_kind, ASUP_OUTCOME_PANICKED);

	jh = spawn_at(rt, root_of(rt), join_one_fn, &j, 128);
	step1(rt); /* the join is Ready(Err(Panicked)) on its first poll */
	CHECK_EQ(asup_task_is_finished(&jh), 1);
	CHECK_EQ(j.rc, 0);
	CHECK_EQ(j.out.kind, ASUP_OUTCOME_PANICKED);
	CHECK_STR_EQ(j.out.panic_msg, "test_panic_message");
	CHECK_EQ(asup_task_release(&jh), 0);
	test_rt_done(rt);
}
