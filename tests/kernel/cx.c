/* The cx: capabilities, masks, budgets at checkpoints, randomness, obligations. */
#include "testrt.h"

#include "kernel/kernel.h"

static asup_rt *mk(uint64_t seed)
{
	asup_rt_config cfg;
	asup_rt_config_init(&cfg);
	cfg.mode = ASUP_MODE_DETERMINISTIC;
	cfg.seed = seed;
	cfg.leak_response = ASUP_LEAK_SILENT;
	return test_rt_cfg(&cfg);
}

static void run(asup_rt *rt, asup_task_fn fn, void *arg)
{
	asup_outcome o;
	CHECK_EQ(asup_rt_run(rt, fn, arg, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(asup__rt_check(rt), 0);
}

static int64_t noop(asup_cx *cx, void *arg)
{
	return 0;
}

static int64_t narrowed(asup_cx *cx, void *arg)
{
	asup_task h;
	uint64_t r;
	CHECK_EQ(asup_cx_caps(cx), ASUP_CAP_TIME);
	CHECK_EQ(asup_spawn(cx, noop, NULL, NULL, &h), -EPERM);
	CHECK_EQ(asup_random_u64(cx, &r), -EPERM);
	CHECK_EQ(asup_sleep(cx, ASUP_MSEC(1)), 0);
	/* widening inside a narrowed scope is refused */
	CHECK_EQ(asup_cx_restricted(cx, ASUP_CAP_ALL, noop, NULL), -EPERM);
	return 3;
}

static int64_t caps_root(asup_cx *cx, void *arg)
{
	CHECK_EQ(asup_cx_caps(cx), ASUP_CAP_ALL);
	CHECK_EQ(asup_cx_restricted(cx, ASUP_CAP_TIME, narrowed, NULL), 3);
	CHECK_EQ(asup_cx_caps(cx), ASUP_CAP_ALL); /* restored */
	CHECK_EQ(asup_cx_has_timer(cx), 1);
	return 0;
}

TEST(capabilities_narrow_only)
{
	asup_rt *rt = mk(1);
	run(rt, caps_root, NULL);
	CHECK_EQ(asup_rt_destroy(rt), 0);
}

static int64_t observe_masked(asup_cx *cx, void *arg)
{
	/* masked: the cancel is recorded but not delivered */
	CHECK_EQ(asup_checkpoint(cx), 0);
	CHECK_EQ(asup_cx_is_cancel_requested(cx), 1);
	CHECK_EQ(asup_cx_mask_depth(cx), 1);
	return 0;
}

static int64_t nest(asup_cx *cx, void *arg)
{
	int *depth = arg;
	if (++*depth == 64) {
		CHECK_EQ(asup_cx_masked(cx, noop, NULL), -ASUP_EMASK);
		return 0;
	}
	return asup_cx_masked(cx, nest, arg);
}

static int64_t mask_root(asup_cx *cx, void *arg)
{
	asup_cancel_reason r;
	int depth = 0;
	CHECK_EQ(asup_cx_cancel_reason(cx, &r), -EAGAIN);
	CHECK_EQ(asup_cx_cancel_self(cx, ASUP_CANCEL_USER, "me"), 0);
	CHECK_EQ(asup_cx_masked(cx, observe_masked, NULL), 0);
	CHECK_EQ(asup_checkpoint(cx), -ECANCELED);
	CHECK_EQ(asup_cx_cancel_reason(cx, &r), 0);
	CHECK_EQ(r.kind, ASUP_CANCEL_USER);
	CHECK_STR_EQ(r.message, "me");
	CHECK_EQ(asup_cx_masked(cx, nest, &depth), 0);
	CHECK_EQ(depth, 64);
	CHECK_EQ(asup_cx_mask_depth(cx), 0);
	return 0;
}

TEST(masks_defer_and_are_bounded)
{
	asup_rt *rt = mk(1);
	run(rt, mask_root, NULL);
	CHECK_EQ(asup_rt_destroy(rt), 0);
}

static int64_t poll_limited(asup_cx *cx, void *arg)
{
	int n = 0;
	asup_cancel_reason r;
	while (asup_checkpoint(cx) == 0)
		n++;
	CHECK_EQ(n, 3); /* quota 3: three checkpoints pass */
	CHECK_EQ(asup_cx_cancel_reason(cx, &r), 0);
	CHECK_EQ(r.kind, ASUP_CANCEL_POLL_QUOTA);
	return n;
}

static int64_t cost_limited(asup_cx *cx, void *arg)
{
	asup_cancel_reason r;
	CHECK_EQ(asup_cx_consume_cost(cx, 6), 0);
	CHECK_EQ(asup_cx_consume_cost(cx, 6), -ECANCELED);
	CHECK_EQ(asup_checkpoint(cx), -ECANCELED);
	CHECK_EQ(asup_cx_cancel_reason(cx, &r), 0);
	CHECK_EQ(r.kind, ASUP_CANCEL_COST_BUDGET);
	return 0;
}

static int64_t spawn_both(asup_cx *cx, void *arg)
{
	asup_task a, b;
	asup_outcome o;
	CHECK_EQ(asup_spawn(cx, poll_limited, NULL, NULL, &a), 0);
	CHECK_EQ(asup_join(cx, &a, &o), 0);
	CHECK_EQ(o.value, 3);
	CHECK_EQ(asup_spawn(cx, cost_limited, NULL, NULL, &b), 0);
	CHECK_EQ(asup_join(cx, &b, &o), 0);
	return 0;
}

static int64_t budget_root(asup_cx *cx, void *arg)
{
	asup_budget b = asup_budget_default();
	asup_outcome o;
	b.poll_quota = 3;
	b.cost_quota = 10;
	CHECK_EQ(asup_region_with_budget(cx, b, spawn_both, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	return 0;
}

TEST(budget_exhaustion_cancels_at_checkpoints)
{
	asup_rt *rt = mk(1);
	run(rt, budget_root, NULL);
	CHECK_EQ(asup_rt_destroy(rt), 0);
}

static int64_t draws(asup_cx *cx, void *arg)
{
	uint64_t *out = arg, v;
	for (int i = 0; i < 4; i++) {
		CHECK_EQ(asup_random_below(cx, 1000, &v), 0);
		out[i] = v;
	}
	CHECK_EQ(asup_random_below(cx, 0, &v), -EINVAL);
	return 0;
}

TEST(random_streams_fork_from_the_seed)
{
	uint64_t a[4], b[4], c[4];
	asup_rt *rt = mk(7);
	run(rt, draws, a);
	CHECK_EQ(asup_rt_destroy(rt), 0);
	rt = mk(7);
	run(rt, draws, b);
	CHECK_EQ(asup_rt_destroy(rt), 0);
	rt = mk(8);
	run(rt, draws, c);
	CHECK_EQ(asup_rt_destroy(rt), 0);
	CHECK(memcmp(a, b, sizeof a) == 0);
	CHECK(memcmp(a, c, sizeof a) != 0);
}

/* ---- obligations ---- */

static int64_t holds_and_resolves(asup_cx *cx, void *arg)
{
	uint64_t a, b;
	CHECK_EQ(asup_obligation_reserve(cx, ASUP_OBLIGATION_SEND_PERMIT, "a", &a), 0);
	CHECK_EQ(asup_obligation_reserve(cx, ASUP_OBLIGATION_LEASE, "b", &b), 0);
	CHECK_EQ(asup_obligation_commit(cx, a), 0);
	CHECK_EQ(asup_obligation_commit(cx, a), -ESRCH); /* exactly once */
	CHECK_EQ(asup_obligation_abort(cx, b), 0);
	CHECK_EQ(asup_obligation_abort(cx, b), -ESRCH);
	return 0;
}

static int64_t leaks_one(asup_cx *cx, void *arg)
{
	uint64_t a;
	CHECK_EQ(asup_obligation_reserve(cx, ASUP_OBLIGATION_ACK, "leaked", &a), 0);
	return 0; /* completes Ok still holding it */
}

static int64_t holds_until_cancelled(asup_cx *cx, void *arg)
{
	uint64_t a;
	CHECK_EQ(asup_obligation_reserve(cx, ASUP_OBLIGATION_IO_OP, "io", &a), 0);
	return asup_sleep(cx, ASUP_SEC(100));
}

static int64_t obligations_body(asup_cx *cx, void *arg)
{
	asup_task h1, h2, h3;
	CHECK_EQ(asup_spawn(cx, holds_and_resolves, NULL, NULL, &h1), 0);
	CHECK_EQ(asup_spawn(cx, leaks_one, NULL, NULL, &h2), 0);
	CHECK_EQ(asup_spawn(cx, holds_until_cancelled, NULL, NULL, &h3), 0);
	CHECK_EQ(asup_join(cx, &h1, NULL), 0);
	CHECK_EQ(asup_join(cx, &h2, NULL), 0);
	CHECK_EQ(asup_task_release(&h3), 0);
	return asup_scope_cancel(cx, ASUP_CANCEL_USER, "done");
}

static int64_t obligations_root(asup_cx *cx, void *arg)
{
	asup_rt *rt = arg;
	asup_outcome o;
	uint64_t id;
	asup_region_limits l = asup_region_limits_unlimited();

	CHECK_EQ(asup_region(cx, obligations_body, NULL, &o), 0);
	CHECK_EQ(test_stats(rt).obligations_committed, 1);
	CHECK_EQ(test_stats(rt).obligations_aborted, 2); /* one explicit, one auto-aborted on cancel */
	CHECK_EQ(test_stats(rt).obligations_leaked, 1);
	CHECK_EQ(test_stats(rt).obligations_pending, 0); /* all resolved with the region */
	/* the region's obligation limit */
	l.max_obligations = 0;
	CHECK_EQ(asup_scope_set_limits(cx, &l), 0);
	CHECK_EQ(asup_obligation_reserve(cx, ASUP_OBLIGATION_ACK, "x", &id), -ASUP_ECAPACITY);
	CHECK_EQ(asup_obligation_reserve(cx, 99, "x", &id), -ASUP_ECAPACITY);
	l.max_obligations = ASUP_UNLIMITED;
	CHECK_EQ(asup_scope_set_limits(cx, &l), 0);
	CHECK_EQ(asup_obligation_reserve(cx, 99, "x", &id), -EINVAL);
	CHECK_EQ(asup_obligation_reserve(cx, ASUP_OBLIGATION_ACK, "x", NULL), -EINVAL);
	return 0;
}

TEST(obligations_resolve_once_and_leaks_are_handled)
{
	asup_rt *rt = mk(1);
	run(rt, obligations_root, rt);
	CHECK_EQ(asup_rt_destroy(rt), 0);
}
