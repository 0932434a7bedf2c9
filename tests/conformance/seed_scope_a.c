/*
 * The seed's Scope tests 1 to 20 (SEMANTICS.md section 11), one case per seed
 * test function, under the same name.
 *
 * The seed drives a RuntimeState by hand: it spawns from a bare test Cx,
 * polls the stored future once and polls the join future. Here the spawner
 * outside any task calls asup__task_spawn on a region of the runtime's
 * kernel, "poll the stored task once" is one asup_rt_step of a deterministic
 * runtime, and "join is Pending / Ready" is asup_task_try_join returning
 * -EAGAIN / 0. What needs a cx (spawn_blocking, spawn_local, region bodies,
 * hedge) runs inside a driver task. Every case checks the invariants of every
 * layer after stepping and before destroying its runtime.
 */
#include "harness.h"
#include <asupersync.h>

#include "kernel/kernel.h"

struct asup__kernel *asup__rt_kernel(asup_rt *rt);
int asup__rt_check(asup_rt *rt);

/* ---- helpers ------------------------------------------------------------ */

static asup_rt *det_rt(void)
{
	asup_rt_config cfg;
	asup_rt *rt = NULL;

	asup_rt_config_init(&cfg);
	cfg.mode = ASUP_MODE_DETERMINISTIC;
	cfg.seed = 0xa11ce;
	CHECK_EQ(asup_rt_create(&cfg, &rt), 0);
	CHECK(rt != NULL);
	return rt;
}

static void checked(asup_rt *rt)
{
	CHECK_EQ(asup__rt_check(rt), 0);
}

static void finish(asup_rt *rt)
{
	checked(rt);
	CHECK_EQ(asup_rt_destroy(rt), 0);
}

static asup__kernel *kern(asup_rt *rt)
{
	return asup__rt_kernel(rt);
}

/* scope.spawn from the seed's bare test Cx: no parent task, the region's
 * own budget. */
static int spawn_raw(asup_rt *rt, asup__region *r, asup_task_fn fn, void *arg, asup_task *out)
{
	asup__spawn_req req;

	memset(&req, 0, sizeof(req));
	req.fn = fn;
	req.arg = arg;
	req.region = r;
	req.budget = r->budget;
	req.parent = NULL;
	return asup__task_spawn(kern(rt), &req, out);
}

static asup_task spawn_into(asup_rt *rt, asup__region *r, asup_task_fn fn, void *arg)
{
	asup_task h;

	memset(&h, 0, sizeof(h));
	CHECK_EQ(spawn_raw(rt, r, fn, arg, &h), 0);
	return h;
}

/* region.task_ids().contains(id) */
static int region_lists_task(const asup__region *r, uint64_t id)
{
	for (const asup__list *l = r->tasks.next; l != &r->tasks; l = l->next)
		if (asup__container_of(l, asup__ktask, region_link)->id == id)
			return 1;
	return 0;
}

/* region.child_ids().contains(id) */
static int region_lists_child(const asup__region *r, uint64_t id)
{
	for (const asup__list *l = r->children.next; l != &r->children; l = l->next)
		if (asup__container_of(l, asup__region, sibling)->id == id)
			return 1;
	return 0;
}

static uint32_t count_list(const asup__list *head)
{
	uint32_t n = 0;
	for (const asup__list *l = head->next; l != head; l = l->next)
		n++;
	return n;
}

/* async { value } */
static int64_t returns_arg(asup_cx *cx, void *arg)
{
	(void)cx;
	return (int64_t)(intptr_t)arg;
}

/* Expects the handle to be finished with Ok(value), and consumes it. */
static void expect_join_ok(asup_task *h, int64_t value)
{
	asup_outcome o;

	memset(&o, 0xff, sizeof(o));
	CHECK_EQ(asup_task_try_join(h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(o.value, value);
}

static void expect_join_pending(asup_task *h)
{
	asup_outcome o;

	CHECK_EQ(asup_task_try_join(h, &o), -EAGAIN);
	CHECK_EQ(asup_task_is_finished(h), 0);
}

/* ---- 1 ------------------------------------------------------------------ */

TEST(spawn_creates_task_record)
{
	asup_rt *rt = det_rt();
	asup__region *root = kern(rt)->root;
	asup_task h = spawn_into(rt, root, returns_arg, (void *)(intptr_t)42);
	asup__ktask *kt = asup__task_lookup(kern(rt), h._id);

	CHECK(kt != NULL);
	CHECK_EQ(kt->id, h._id);
	CHECK(kt->owner == root);
	CHECK_EQ(kt->owner->id, asup_rt_root_region(rt));
	CHECK_EQ(kt->pstate, ASUP__P_CREATED);
	checked(rt);

	/* Not part of the seed's sequence: let the task end so the runtime is
	 * torn down quiescent. */
	CHECK(asup_rt_run_until_idle(rt) >= 1);
	expect_join_ok(&h, 42);
	finish(rt);
}

/* ---- 2 ------------------------------------------------------------------ */

struct inherit_probe {
	void *registry_seen;
	const char *node_seen;
	char origin[32];
};

/* The child looks at its handles and reports whether the registry is the
 * parent's instance; the node id string goes to the probe. */
static int64_t reads_registry_and_remote(asup_cx *cx, void *arg)
{
	struct inherit_probe *p = arg;
	asup_cx_handles hs;

	memset(&hs, 0, sizeof(hs));
	CHECK_EQ(asup_cx_handles_get(cx, &hs), 0);
	CHECK(hs.registry != NULL); /* "child must inherit registry" */
	CHECK(hs.remote_node != NULL); /* "child must inherit remote cap" */
	p->registry_seen = hs.registry;
	p->node_seen = hs.remote_node;
	snprintf(p->origin, sizeof(p->origin), "%s", hs.remote_node);
	return 1;
}

TEST(spawn_inherits_registry_and_remote_capabilities)
{
	asup_rt *rt = det_rt();
	static int registry_instance; /* stands for the parent's NameRegistry */
	static char node[] = "origin-test";
	struct inherit_probe probe;
	asup_cx_handles parent;
	asup_task h;

	memset(&probe, 0, sizeof(probe));
	memset(&parent, 0, sizeof(parent));
	parent.registry = &registry_instance;
	parent.remote_node = node;
	CHECK_EQ(asup_rt_set_handles(rt, &parent), 0);

	h = spawn_into(rt, kern(rt)->root, reads_registry_and_remote, &probe);
	/* Registered and stored: one poll finishes it. */
	CHECK_EQ(asup_rt_step(rt), 1);
	checked(rt);
	CHECK_EQ(asup_task_is_finished(&h), 1);
	expect_join_ok(&h, 1);
	CHECK(probe.registry_seen == (void *)&registry_instance);
	CHECK(probe.node_seen == node);
	CHECK_STR_EQ(probe.origin, "origin-test");
	finish(rt);
}

/* ---- 3 ------------------------------------------------------------------ */

static int64_t reports_has_timer(asup_cx *cx, void *arg)
{
	(void)arg;
	return asup_cx_has_timer(cx);
}

TEST(spawn_inherits_runtime_timer_driver)
{
	asup_rt *rt = det_rt(); /* its timer runs on the virtual clock */
	asup_task h = spawn_into(rt, kern(rt)->root, reports_has_timer, NULL);

	CHECK_EQ(asup_rt_step(rt), 1);
	checked(rt);
	CHECK_EQ(asup_task_is_finished(&h), 1);
	expect_join_ok(&h, 1);
	finish(rt);
}

/* ---- 4 ------------------------------------------------------------------ */

TEST(create_task_record_uses_runtime_timer_driver_time)
{
	asup_rt *rt = det_rt();
	asup__ktask *kt;
	asup_task h;

	/* A virtual clock that starts at 11 ms. */
	CHECK_EQ(asup_rt_advance(rt, ASUP_MSEC(11)), 0);
	CHECK_EQ(asup_rt_now(rt), ASUP_MSEC(11));

	CHECK_EQ(asup_rt_advance(rt, ASUP_MSEC(7)), 0);
	h = spawn_into(rt, kern(rt)->root, returns_arg, NULL);
	kt = asup__task_lookup(kern(rt), h._id);
	CHECK(kt != NULL);
	CHECK_EQ(kt->created_at, ASUP_MSEC(18));
	checked(rt);

	CHECK(asup_rt_run_until_idle(rt) >= 1);
	expect_join_ok(&h, 0);
	finish(rt);
}

/* ---- 5 ------------------------------------------------------------------ */

static int64_t blocking_reports_has_timer(asup_blocking *b, void *arg)
{
	(void)arg;
	return asup_blocking_has_timer(b);
}

/* The spawner (the seed's test Cx) must be a task to hold a cx here; it only
 * spawns and hands the handle back. */
static int64_t spawns_blocking_has_timer(asup_cx *cx, void *arg)
{
	CHECK_EQ(asup_spawn_blocking(cx, blocking_reports_has_timer, NULL, NULL, arg), 0);
	return 0;
}

TEST(spawn_blocking_inherits_runtime_timer_driver)
{
	asup_rt *rt = det_rt();
	asup_task driver, h;

	memset(&h, 0, sizeof(h));
	driver = spawn_into(rt, kern(rt)->root, spawns_blocking_has_timer, &h);
	CHECK_EQ(asup_rt_step(rt), 1); /* the spawner runs and ends */
	checked(rt);
	expect_join_ok(&driver, 0);
	CHECK(asup__task_lookup(kern(rt), h._id) != NULL);
	expect_join_pending(&h);

	CHECK_EQ(asup_rt_step(rt), 1); /* one poll of the stored blocking task */
	checked(rt);
	CHECK_EQ(asup_task_is_finished(&h), 1);
	expect_join_ok(&h, 1);
	finish(rt);
}

/* ---- 6 ------------------------------------------------------------------ */

TEST(spawn_registered_stores_task)
{
	asup_rt *rt = det_rt();
	asup__region *root = kern(rt)->root;
	asup_task h = spawn_into(rt, root, returns_arg, (void *)(intptr_t)42);
	asup__ktask *kt = asup__task_lookup(kern(rt), h._id);

	CHECK(kt != NULL);
	CHECK(kt->owner == root);
	/* Stored: the scheduler holds it, runnable, in the ready lane. */
	CHECK_EQ(kt->t.state, ASUP__T_NEW);
	CHECK_EQ(kt->t.lane, ASUP__LANE_READY);
	CHECK(asup__sched_has_ready(kern(rt)->sched));
	checked(rt);

	/* It can be retrieved for polling: the next step runs exactly it. */
	CHECK_EQ(asup_rt_step(rt), 1);
	CHECK_EQ(asup_task_is_finished(&h), 1);
	expect_join_ok(&h, 42);
	CHECK_EQ(asup_rt_step(rt), 0);
	finish(rt);
}

/* ---- 7 ------------------------------------------------------------------ */

TEST(spawn_registered_task_can_be_polled)
{
	asup_rt *rt = det_rt();
	asup_task h = spawn_into(rt, kern(rt)->root, returns_arg, (void *)(intptr_t)42);

	/* "Simple async should complete in one poll". */
	CHECK_EQ(asup_rt_step(rt), 1);
	checked(rt);
	CHECK_EQ(asup_task_is_finished(&h), 1);
	CHECK(asup__task_lookup(kern(rt), h._id) == NULL); /* completed: left the table */
	expect_join_ok(&h, 42);
	finish(rt);
}

/* ---- 8 ------------------------------------------------------------------ */

static int64_t blocking_returns_42(asup_blocking *b, void *arg)
{
	(void)b;
	(void)arg;
	return 42;
}

static int64_t spawns_blocking_42(asup_cx *cx, void *arg)
{
	CHECK_EQ(asup_spawn_blocking(cx, blocking_returns_42, NULL, NULL, arg), 0);
	return 0;
}

TEST(spawn_blocking_creates_task_record)
{
	asup_rt *rt = det_rt();
	asup__region *root = kern(rt)->root;
	asup__ktask *kt;
	asup_task driver, h;

	memset(&h, 0, sizeof(h));
	driver = spawn_into(rt, root, spawns_blocking_42, &h);
	CHECK_EQ(asup_rt_step(rt), 1);
	checked(rt);
	expect_join_ok(&driver, 0);

	kt = asup__task_lookup(kern(rt), h._id);
	CHECK(kt != NULL);
	CHECK(kt->owner == root);
	CHECK(region_lists_task(root, h._id));

	CHECK(asup_rt_run_until_idle(rt) >= 1);
	expect_join_ok(&h, 42);
	finish(rt);
}

/* ---- 9 ------------------------------------------------------------------ */

/* Inside a task the calling worker has its local queue (the seed installs a
 * ScopedLocalReady and worker id 1 for that). */
static int64_t spawns_local(asup_cx *cx, void *arg)
{
	CHECK_EQ(asup_spawn_local(cx, returns_arg, (void *)(intptr_t)42, NULL, arg), 0);
	return 0;
}

TEST(spawn_local_creates_task_record)
{
	asup_rt *rt = det_rt();
	asup__region *root = kern(rt)->root;
	asup__ktask *kt;
	asup_task driver, h;

	memset(&h, 0, sizeof(h));
	driver = spawn_into(rt, root, spawns_local, &h);
	CHECK_EQ(asup_rt_step(rt), 1);
	checked(rt);
	expect_join_ok(&driver, 0);

	kt = asup__task_lookup(kern(rt), h._id);
	CHECK(kt != NULL);
	CHECK(kt->owner == root);
	CHECK_EQ(kt->local, 1);

	CHECK(asup_rt_run_until_idle(rt) >= 1);
	expect_join_ok(&h, 42);
	finish(rt);
}

/* ---- 10 ----------------------------------------------------------------- */

TEST(spawn_local_without_scheduler_fails_and_rolls_back)
{
	asup_rt *rt = det_rt();
	asup__kernel *k = kern(rt);
	asup__region *root = k->root;
	asup_rt_stats st;
	asup_task h;

	memset(&h, 0, sizeof(h));
	/* Outside any task there is no worker, hence no local queue. */
	CHECK_EQ(asup_rt_spawn_local(rt, returns_arg, (void *)(intptr_t)5, NULL, &h),
		 -ASUP_ENOLOCAL);

	/* Rolled back: no task record anywhere, the region lists nothing. */
	CHECK_EQ(k->tasks.live, 0);
	CHECK_EQ(k->live, 0);
	CHECK_EQ(root->ntasks, 0);
	CHECK(asup__list_empty(&root->tasks));
	CHECK(asup__region_lookup(k, root->id) == root);
	CHECK_EQ(asup_rt_stats_get(rt, &st), 0);
	CHECK_EQ(st.tasks_spawned, 0);
	CHECK_EQ(st.task_records, 0);
	CHECK_EQ(asup_rt_step(rt), 0); /* nothing was scheduled either */
	finish(rt);
}

/* ---- 11 ----------------------------------------------------------------- */

struct local_progress {
	asup__kernel *k;
	asup_task h;
};

static int64_t spawns_local_7(asup_cx *cx, void *arg)
{
	struct local_progress *p = arg;
	asup__ktask *kt;

	CHECK_EQ(asup_spawn_local(cx, returns_arg, (void *)(intptr_t)7, NULL, &p->h), 0);
	/* Queued locally: pinned to this worker and waiting in its queue. */
	kt = asup__task_lookup(p->k, p->h._id);
	CHECK(kt != NULL);
	CHECK_EQ(kt->local, 1);
	CHECK_EQ(kt->t.state, ASUP__T_NEW);
	CHECK_EQ(kt->t.lane, ASUP__LANE_READY);
	/* The join future, polled before the local task ran. */
	expect_join_pending(&p->h);
	return 0;
}

TEST(spawn_local_makes_progress_via_local_ready)
{
	asup_rt *rt = det_rt();
	struct local_progress p;
	asup_task driver;

	memset(&p, 0, sizeof(p));
	p.k = kern(rt);
	driver = spawn_into(rt, kern(rt)->root, spawns_local_7, &p);
	CHECK_EQ(asup_rt_step(rt), 1);
	checked(rt);
	expect_join_ok(&driver, 0);
	expect_join_pending(&p.h);

	/* Poll the local task once: it is the only runnable one. */
	CHECK_EQ(asup_rt_step(rt), 1);
	checked(rt);
	CHECK_EQ(asup_task_is_finished(&p.h), 1);
	expect_join_ok(&p.h, 7);
	finish(rt);
}

/* ---- 12 ----------------------------------------------------------------- */

TEST(task_added_to_region)
{
	asup_rt *rt = det_rt();
	asup__region *root = kern(rt)->root;
	asup_task h = spawn_into(rt, root, returns_arg, (void *)(intptr_t)42);
	asup__region *rec = asup__region_lookup(kern(rt), root->id);

	CHECK(rec != NULL);
	CHECK(region_lists_task(rec, h._id));
	CHECK_EQ(rec->ntasks, 1);
	checked(rt);

	CHECK(asup_rt_run_until_idle(rt) >= 1);
	expect_join_ok(&h, 42);
	finish(rt);
}

/* ---- 13 ----------------------------------------------------------------- */

TEST(multiple_spawns_create_distinct_tasks)
{
	asup_rt *rt = det_rt();
	asup__region *root = kern(rt)->root;
	asup_task h1 = spawn_into(rt, root, returns_arg, (void *)(intptr_t)1);
	asup_task h2 = spawn_into(rt, root, returns_arg, (void *)(intptr_t)2);
	asup_task h3 = spawn_into(rt, root, returns_arg, (void *)(intptr_t)3);

	CHECK(h1._id != h2._id);
	CHECK(h2._id != h3._id);
	CHECK(h1._id != h3._id);
	CHECK(region_lists_task(root, h1._id));
	CHECK(region_lists_task(root, h2._id));
	CHECK(region_lists_task(root, h3._id));
	CHECK_EQ(root->ntasks, 3);
	CHECK_EQ(count_list(&root->tasks), 3);
	checked(rt);

	CHECK_EQ(asup_rt_run_until_idle(rt), 3);
	expect_join_ok(&h1, 1);
	expect_join_ok(&h2, 2);
	expect_join_ok(&h3, 3);
	finish(rt);
}

/* ---- 14 ----------------------------------------------------------------- */

TEST(spawn_into_closing_region_should_fail)
{
	asup_rt *rt = det_rt();
	asup__kernel *k = kern(rt);
	asup__region *root = k->root;
	asup_rt_stats st;
	asup_task h;

	CHECK_EQ(asup__region_begin_close(k, root, NULL), 1);
	CHECK_EQ(root->state, ASUP__R_CLOSING);

	memset(&h, 0, sizeof(h));
	CHECK_EQ(spawn_raw(rt, root, returns_arg, (void *)(intptr_t)42, &h), -ASUP_ECLOSED);
	/* The public entry point into the same region agrees. */
	CHECK_EQ(asup_rt_spawn(rt, returns_arg, (void *)(intptr_t)42, NULL, &h), -ASUP_ECLOSED);
	CHECK_EQ(root->ntasks, 0);
	CHECK_EQ(k->tasks.live, 0);
	CHECK_EQ(asup_rt_stats_get(rt, &st), 0);
	CHECK_EQ(st.tasks_spawned, 0);
	finish(rt);
}

/* ---- 15 ----------------------------------------------------------------- */

TEST(test_join_manual_poll)
{
	asup_rt *rt = det_rt();
	asup_task h = spawn_into(rt, kern(rt)->root, returns_arg, (void *)(intptr_t)42);

	expect_join_pending(&h);
	CHECK_EQ(asup_rt_step(rt), 1);
	checked(rt);
	expect_join_ok(&h, 42);
	finish(rt);
}

/* ---- 16 ----------------------------------------------------------------- */

enum { SAID_CANCELLED = 1, SAID_FINISHED = 2 };

struct abort_probe {
	int checkpoint_rc;
	const char *said;
};

/* Returns "cancelled" iff its checkpoint reports the cancel. */
static int64_t checks_for_cancel(asup_cx *cx, void *arg)
{
	struct abort_probe *p = arg;

	p->checkpoint_rc = asup_checkpoint(cx);
	if (p->checkpoint_rc < 0) {
		p->said = "cancelled";
		return SAID_CANCELLED;
	}
	p->said = "finished";
	return SAID_FINISHED;
}

TEST(spawn_abort_cancels_task)
{
	asup_rt *rt = det_rt();
	struct abort_probe p = {1, NULL};
	asup_task h = spawn_into(rt, kern(rt)->root, checks_for_cancel, &p);
	asup__ktask *kt = h._rec;

	CHECK_EQ(asup_task_abort(&h), 0);
	CHECK_EQ(kt->cancel_requested, 1);

	CHECK_EQ(asup_rt_step(rt), 1);
	checked(rt);
	CHECK_EQ(asup_task_is_finished(&h), 1);
	CHECK_EQ(p.checkpoint_rc, -ECANCELED);
	/* The stored task itself completed Ok: it returned a value. */
	CHECK_EQ(kt->rec_kind, ASUP_OUTCOME_OK);

	expect_join_ok(&h, SAID_CANCELLED);
	CHECK_STR_EQ(p.said, "cancelled");
	finish(rt);
}

/* ---- 17 ----------------------------------------------------------------- */

struct hedge_probe {
	asup__kernel *k;
	int hedge_rc;
	asup_outcome out;
	uint32_t region_tasks;
	int primary_tracked;
	int primary_cancel_requested;
	int primary_reason_kind;
};

static int64_t hedge_primary(asup_cx *cx, void *arg)
{
	(void)cx;
	(void)arg;
	return 1;
}

static int64_t hedge_backup(asup_cx *cx, void *arg)
{
	(void)cx;
	(void)arg;
	return 2;
}

/* Runs in a fresh region limited to one task: the primary takes the only
 * slot, so the backup cannot be spawned. */
static int64_t hedge_body(asup_cx *cx, void *arg)
{
	struct hedge_probe *p = arg;
	asup_region_limits lim = asup_region_limits_unlimited();
	asup__region *r;
	asup__ktask *kt;

	lim.max_tasks = 1;
	CHECK_EQ(asup_scope_set_limits(cx, &lim), 0);
	memset(&p->out, 0, sizeof(p->out));
	p->hedge_rc = asup_hedge(cx, 0, hedge_primary, NULL, hedge_backup, NULL, &p->out);

	r = asup__region_lookup(p->k, asup_scope_region_id(cx));
	CHECK(r != NULL);
	p->region_tasks = r->ntasks;
	if (!asup__list_empty(&r->tasks)) {
		kt = asup__container_of(r->tasks.next, asup__ktask, region_link);
		p->primary_tracked = asup__task_lookup(p->k, kt->id) == kt &&
				     kt->fn == hedge_primary;
		p->primary_cancel_requested = kt->cancel_requested;
		p->primary_reason_kind = kt->cx_reason ? (int)kt->cx_reason->kind : -1;
	}
	return 0;
}

static int64_t hedge_driver(asup_cx *cx, void *arg)
{
	asup_outcome o;

	CHECK_EQ(asup_region(cx, hedge_body, arg, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	return 0;
}

TEST(hedge_backup_spawn_failure_aborts_primary)
{
	asup_rt *rt = det_rt();
	struct hedge_probe p;
	asup_outcome o;

	memset(&p, 0, sizeof(p));
	p.k = kern(rt);
	p.primary_reason_kind = -1;
	CHECK_EQ(asup_rt_run(rt, hedge_driver, &p, &o), 0);
	checked(rt);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);

	CHECK_EQ(p.hedge_rc, 0);
	CHECK_EQ(p.out.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(p.out.reason.kind, ASUP_CANCEL_RESOURCE_UNAVAILABLE);
	/* "primary task should remain tracked" */
	CHECK_EQ(p.region_tasks, 1);
	CHECK_EQ(p.primary_tracked, 1);
	/* "primary task must be cancellation-requested when backup spawn fails" */
	CHECK_EQ(p.primary_cancel_requested, 1);
	CHECK_EQ(p.primary_reason_kind, ASUP_CANCEL_RESOURCE_UNAVAILABLE);
	finish(rt);
}

/* ---- 18 ----------------------------------------------------------------- */

struct child_probe {
	asup__kernel *k;
	uint64_t child_id;
	uint64_t child_parent_id;
	asup_time child_deadline;
	int parent_has_task;
	int child_has_task;
	int task_owned_by_child;
	asup_outcome task_out;
};

/* Outcome::Ok(child.region_id()) */
static int64_t body_reports_child_id(asup_cx *cx, void *arg)
{
	struct child_probe *p = arg;
	asup__region *r;

	p->child_id = asup_scope_region_id(cx);
	r = asup__region_lookup(p->k, p->child_id);
	CHECK(r != NULL);
	p->child_parent_id = r->parent ? r->parent->id : ASUP_ID_NONE;
	return 0;
}

static int64_t region_closes_empty_child_driver(asup_cx *cx, void *arg)
{
	struct child_probe *p = arg;
	asup_outcome o;

	CHECK_EQ(asup_region(cx, body_reports_child_id, p, &o), 0); /* "child region created" */
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(o.value, 0);
	/* Checked right after asup_region returns, before the driver ends. */
	CHECK(asup__region_lookup(p->k, p->child_id) == NULL);
	CHECK(!region_lists_child(p->k->root, p->child_id));
	return 0;
}

TEST(region_closes_empty_child)
{
	asup_rt *rt = det_rt();
	struct child_probe p;
	asup_outcome o;

	memset(&p, 0, sizeof(p));
	p.k = kern(rt);
	CHECK_EQ(asup_rt_run(rt, region_closes_empty_child_driver, &p, &o), 0);
	checked(rt);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK(p.child_id != ASUP_ID_NONE && p.child_id != 0);
	CHECK(p.child_id != asup_rt_root_region(rt));
	CHECK_EQ(p.child_parent_id, asup_rt_root_region(rt));
	/* "closed child region should be reclaimed from arena" */
	CHECK(asup__region_lookup(kern(rt), p.child_id) == NULL);
	/* "closed child should be removed from parent" */
	CHECK(!region_lists_child(kern(rt)->root, p.child_id));
	CHECK_EQ(kern(rt)->root->nchildren, 0);
	finish(rt);
}

/* ---- 19 ----------------------------------------------------------------- */

/* Outcome::Ok((child.region_id(), child.budget())) */
static int64_t body_reports_budget(asup_cx *cx, void *arg)
{
	struct child_probe *p = arg;

	p->child_id = asup_scope_region_id(cx);
	p->child_deadline = asup_scope_budget(cx).deadline;
	return 0;
}

/* The parent scope: a region with a 10 s deadline. */
static int64_t parent_with_10s(asup_cx *cx, void *arg)
{
	struct child_probe *p = arg;
	asup_budget b30 = asup_budget_with_deadline(asup_budget_infinite(), ASUP_SEC(30));
	asup_outcome o;

	CHECK_EQ(asup_scope_budget(cx).deadline, ASUP_SEC(10));
	p->child_parent_id = asup_scope_region_id(cx);
	CHECK_EQ(asup_region_with_budget(cx, b30, body_reports_budget, p, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK(asup__region_lookup(p->k, p->child_id) == NULL);
	return 0;
}

static int64_t region_budget_driver(asup_cx *cx, void *arg)
{
	asup_budget b10 = asup_budget_with_deadline(asup_budget_infinite(), ASUP_SEC(10));
	asup_outcome o;

	CHECK_EQ(asup_region_with_budget(cx, b10, parent_with_10s, arg, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	return 0;
}

TEST(region_budget_is_met_with_parent)
{
	asup_rt *rt = det_rt();
	struct child_probe p;
	asup_outcome o;

	memset(&p, 0, sizeof(p));
	p.k = kern(rt);
	p.child_deadline = 0;
	CHECK_EQ(asup_rt_run(rt, region_budget_driver, &p, &o), 0);
	checked(rt);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK(p.child_id != p.child_parent_id);
	CHECK_EQ(p.child_deadline, ASUP_SEC(10));
	CHECK(asup__region_lookup(kern(rt), p.child_id) == NULL);
	CHECK(asup__region_lookup(kern(rt), p.child_parent_id) == NULL);
	finish(rt);
}

/* ---- 20 ----------------------------------------------------------------- */

static int64_t body_spawns_in_child(asup_cx *cx, void *arg)
{
	struct child_probe *p = arg;
	asup__region *child, *parent = p->k->root;
	asup__ktask *kt;
	asup_task h;

	p->child_id = asup_scope_region_id(cx);
	child = asup__region_lookup(p->k, p->child_id);
	CHECK(child != NULL);
	CHECK_EQ(asup_spawn(cx, returns_arg, (void *)(intptr_t)7, NULL, &h), 0); /* "spawn in child" */

	p->parent_has_task = region_lists_task(parent, h._id);
	p->child_has_task = region_lists_task(child, h._id);
	kt = asup__task_lookup(p->k, h._id);
	p->task_owned_by_child = kt && kt->owner == child;

	/* Poll it to completion; the record then leaves the child. */
	CHECK_EQ(asup_join(cx, &h, &p->task_out), 0);
	CHECK(asup__task_lookup(p->k, h._id) == NULL);
	CHECK(!region_lists_task(child, h._id));
	return 0;
}

static int64_t region_spawns_driver(asup_cx *cx, void *arg)
{
	asup_outcome o;

	CHECK_EQ(asup_region(cx, body_spawns_in_child, arg, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	return 0;
}

TEST(region_spawns_tasks_in_child)
{
	asup_rt *rt = det_rt();
	struct child_probe p;
	asup_outcome o;

	memset(&p, 0, sizeof(p));
	p.k = kern(rt);
	CHECK_EQ(asup_rt_run(rt, region_spawns_driver, &p, &o), 0);
	checked(rt);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	/* "task should not be owned by parent region" */
	CHECK_EQ(p.parent_has_task, 0);
	/* "task should be owned by child region" */
	CHECK_EQ(p.child_has_task, 1);
	CHECK_EQ(p.task_owned_by_child, 1);
	CHECK_EQ(p.task_out.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(p.task_out.value, 7);
	/* "closed child should be removed from parent" */
	CHECK(!region_lists_child(kern(rt)->root, p.child_id));
	CHECK(asup__region_lookup(kern(rt), p.child_id) == NULL);
	finish(rt);
}
