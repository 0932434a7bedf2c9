/* Promises of cancel.h, time.h, ext.h and trace.h that no other test
 * checked, each through the public API alone. */
#include "testrt.h"

#include <asupersync/ext.h>
#include <asupersync/lab.h>
#include <errno.h>

/* ---- cancel.h: budgets ---- */

static int budget_eq(asup_budget a, asup_budget b)
{
	return a.deadline == b.deadline && a.poll_quota == b.poll_quota &&
	       a.cost_quota == b.cost_quota && a.priority == b.priority;
}

static asup_budget budget(asup_time d, uint32_t poll, uint64_t cost, uint8_t prio)
{
	asup_budget b = asup_budget_infinite();

	b.deadline = d;
	b.poll_quota = poll;
	b.cost_quota = cost;
	b.priority = prio;
	return b;
}

TEST(budget_constructors_have_their_documented_values)
{
	CHECK(budget_eq(asup_budget_infinite(), budget(ASUP_TIME_MAX, ASUP_NO_POLL, ASUP_NO_COST, 0)));
	CHECK(budget_eq(asup_budget_default(), budget(ASUP_TIME_MAX, ASUP_NO_POLL, ASUP_NO_COST, 128)));
	CHECK(budget_eq(asup_budget_zero(), budget(0, 0, 0, 255)));
	CHECK_EQ(asup_budget_minimal().poll_quota, 100);
	CHECK_EQ(asup_budget_minimal().priority, 128);
}

TEST(budget_meet_takes_the_tighter_of_each_part_and_is_a_lattice_meet)
{
	asup_budget b[4] = {
		budget(ASUP_SEC(5), 10, 1000, 7),
		budget(ASUP_SEC(3), 20, 500, 200),
		budget(ASUP_TIME_MAX, 5, ASUP_NO_COST, 0),
		asup_budget_default(),
	};
	asup_budget m = asup_budget_meet(b[0], b[1]);

	CHECK(budget_eq(m, budget(ASUP_SEC(3), 10, 500, 200)));
	for (int i = 0; i < 4; i++) {
		CHECK(budget_eq(asup_budget_meet(b[i], b[i]), b[i]));
		CHECK(budget_eq(asup_budget_meet(b[i], asup_budget_infinite()), b[i]));
		CHECK(budget_eq(asup_budget_meet(b[i], asup_budget_zero()), asup_budget_zero()));
		for (int j = 0; j < 4; j++) {
			CHECK(budget_eq(asup_budget_meet(b[i], b[j]), asup_budget_meet(b[j], b[i])));
			for (int k = 0; k < 4; k++)
				CHECK(budget_eq(asup_budget_meet(asup_budget_meet(b[i], b[j]), b[k]),
						asup_budget_meet(b[i], asup_budget_meet(b[j], b[k]))));
		}
	}
}

TEST(budget_with_deadline_replaces_the_deadline_even_with_a_later_one)
{
	asup_budget b = budget(ASUP_SEC(1), 3, 4, 5);
	asup_budget l = asup_budget_with_deadline(b, ASUP_SEC(9));

	CHECK_EQ(l.deadline, ASUP_SEC(9));
	CHECK(budget_eq(asup_budget_with_deadline(l, ASUP_SEC(1)), b));
}

TEST(budget_exhaustion_counts_quotas_and_past_deadline_counts_only_a_set_deadline)
{
	asup_budget b = budget(ASUP_SEC(2), 1, 1, 0);

	CHECK_EQ(asup_budget_is_exhausted(&b), 0);
	b.poll_quota = 0;
	CHECK_EQ(asup_budget_is_exhausted(&b), 1);
	b = budget(0, 1, 0, 0);
	CHECK_EQ(asup_budget_is_exhausted(&b), 1);
	/* The deadline never exhausts. */
	b = budget(0, ASUP_NO_POLL, ASUP_NO_COST, 0);
	CHECK_EQ(asup_budget_is_exhausted(&b), 0);

	b = budget(ASUP_SEC(2), ASUP_NO_POLL, ASUP_NO_COST, 0);
	CHECK_EQ(asup_budget_is_past_deadline(&b, ASUP_SEC(2) - 1), 0);
	CHECK_EQ(asup_budget_is_past_deadline(&b, ASUP_SEC(2)), 1);
	CHECK_EQ(asup_budget_is_past_deadline(&b, ASUP_SEC(3)), 1);
	b = asup_budget_infinite();
	CHECK_EQ(asup_budget_is_past_deadline(&b, ASUP_TIME_MAX), 0);
}

TEST(budget_consume_takes_from_limited_quotas_only_while_enough_is_left)
{
	asup_budget b = budget(ASUP_TIME_MAX, 2, 10, 0);
	asup_budget u = asup_budget_infinite();

	CHECK_EQ(asup_budget_consume_poll(&b), 2);
	CHECK_EQ(asup_budget_consume_poll(&b), 1);
	CHECK_EQ(b.poll_quota, 0);
	CHECK_EQ(asup_budget_consume_poll(&b), -1);
	CHECK_EQ(b.poll_quota, 0);
	CHECK(asup_budget_consume_poll(&u) >= 0);
	CHECK_EQ(u.poll_quota, ASUP_NO_POLL);

	CHECK_EQ(asup_budget_consume_cost(&b, 4), 1);
	CHECK_EQ(b.cost_quota, 6);
	CHECK_EQ(asup_budget_consume_cost(&b, 7), 0);
	CHECK_EQ(b.cost_quota, 6);
	CHECK_EQ(asup_budget_consume_cost(&b, 6), 1);
	CHECK_EQ(b.cost_quota, 0);
	CHECK_EQ(asup_budget_consume_cost(&u, UINT64_MAX - 1), 1);
	CHECK_EQ(u.cost_quota, ASUP_NO_COST);
}

/* ---- cancel.h: kinds ---- */

TEST(cancel_kinds_have_severities_zero_to_five_names_and_cleanup_budgets_by_severity)
{
	static const uint32_t poll[6] = {1000, 500, 300, 200, 200, 50};
	static const uint8_t prio[6] = {200, 210, 215, 220, 220, 255};

	CHECK_EQ(asup_cancel_kind_severity(ASUP_CANCEL_USER), 0);
	CHECK_EQ(asup_cancel_kind_severity(ASUP_CANCEL_SHUTDOWN), 5);
	CHECK_EQ(asup_cancel_kind_severity(ASUP_CANCEL_KIND_COUNT), -1);
	CHECK_EQ(asup_cancel_kind_severity((asup_cancel_kind)-1), -1);
	CHECK_STR_EQ(asup_cancel_kind_name(ASUP_CANCEL_USER), "user");
	CHECK_STR_EQ(asup_cancel_kind_name(ASUP_CANCEL_TIMEOUT), "timeout");
	CHECK_STR_EQ(asup_cancel_kind_name(ASUP_CANCEL_SHUTDOWN), "shutdown");
	CHECK_STR_EQ(asup_cancel_kind_name(ASUP_CANCEL_KIND_COUNT), "invalid");
	CHECK_STR_EQ(asup_cancel_kind_name((asup_cancel_kind)-1), "invalid");
	for (int k = 0; k < ASUP_CANCEL_KIND_COUNT; k++) {
		int s = asup_cancel_kind_severity((asup_cancel_kind)k);
		asup_budget b = asup_cancel_kind_cleanup_budget((asup_cancel_kind)k);

		CHECK(s >= 0 && s <= 5);
		CHECK_EQ(b.poll_quota, poll[s]);
		CHECK_EQ(b.priority, prio[s]);
		CHECK(strcmp(asup_cancel_kind_name((asup_cancel_kind)k), "invalid") != 0);
		for (int j = 0; j < k; j++)
			CHECK(strcmp(asup_cancel_kind_name((asup_cancel_kind)k),
				     asup_cancel_kind_name((asup_cancel_kind)j)) != 0);
	}
}

static asup_cancel_reason reason(asup_cancel_kind k, asup_time t)
{
	asup_cancel_reason r;

	memset(&r, 0, sizeof(r));
	r.kind = k;
	r.root_kind = k;
	r.timestamp = t;
	r.origin_region = ASUP_ID_NONE;
	r.origin_task = ASUP_ID_NONE;
	r.chain_depth = 1;
	return r;
}

TEST(a_reason_is_replaced_only_by_a_more_severe_or_an_equally_severe_earlier_one)
{
	asup_cancel_reason self = reason(ASUP_CANCEL_USER, 50), o;

	o = reason(ASUP_CANCEL_USER, 60); /* same severity, later */
	CHECK_EQ(asup_cancel_reason_strengthen(&self, &o), 0);
	CHECK_EQ(self.timestamp, 50);
	o = reason(ASUP_CANCEL_USER, 40); /* same severity, earlier */
	CHECK_EQ(asup_cancel_reason_strengthen(&self, &o), 1);
	CHECK_EQ(self.timestamp, 40);
	o = reason(ASUP_CANCEL_SHUTDOWN, 100); /* more severe, later */
	CHECK_EQ(asup_cancel_reason_strengthen(&self, &o), 1);
	CHECK_EQ(self.kind, ASUP_CANCEL_SHUTDOWN);
	o = reason(ASUP_CANCEL_USER, 1); /* less severe, earlier */
	CHECK_EQ(asup_cancel_reason_strengthen(&self, &o), 0);
	CHECK_EQ(self.kind, ASUP_CANCEL_SHUTDOWN);
}

/* ---- time.h ---- */

static int64_t sleep_long_then_42(asup_cx *cx, void *arg)
{
	int *rc = arg;

	*rc = asup_sleep(cx, ASUP_SEC(10));
	return 42;
}

static int64_t sleep_past_when_cancelled(asup_cx *cx, void *arg)
{
	(void)arg;
	CHECK_EQ(asup_cx_cancel_self(cx, ASUP_CANCEL_USER, NULL), 0);
	return asup_sleep_until(cx, 0);
}

static int64_t time_body(asup_cx *cx, void *arg)
{
	int rc = 0;
	asup_task h;
	asup_outcome o;

	(void)arg;
	/* The deadline passed (the sleep was woken with -ETIMEDOUT), yet the
	 * value fn returned is what the scope returns. */
	CHECK_EQ(asup_timeout(cx, ASUP_MSEC(5), sleep_long_then_42, &rc), 42);
	CHECK_EQ(rc, -ETIMEDOUT);
	CHECK_EQ(asup_now(cx), ASUP_MSEC(5));
	CHECK_EQ(asup_timeout_at(cx, asup_now(cx) + ASUP_MSEC(1), sleep_long_then_42, &rc), 42);
	CHECK_EQ(asup_timeout_at(cx, 0, NULL, NULL), -EINVAL);
	CHECK_EQ(asup_timeout_at(NULL, 0, sleep_long_then_42, &rc), -ASUP_ENOTASK);
	/* A sleep until the past still checkpoints first. */
	CHECK_EQ(asup_spawn(cx, sleep_past_when_cancelled, NULL, NULL, &h), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(asup_cx_deadline(cx), ASUP_TIME_MAX);
	return 0;
}

TEST(a_value_returned_after_the_deadline_wins_and_a_sleep_into_the_past_checkpoints)
{
	asup_rt *rt = test_rt(ASUP_MODE_DETERMINISTIC, 3);
	asup_outcome o;

	CHECK_EQ(asup_now(NULL), 0);
	CHECK_EQ(asup_rt_run(rt, time_body, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	test_rt_done(rt);
}

/* ---- ext.h: the checkpoint-poll-wait loop ---- */

struct box {
	int ready;   /* value to hand out, or -EAGAIN */
	int polls;
	asup_waitq q;
};

static int box_poll(void *obj, void *arg)
{
	struct box *b = obj;
	int v = b->ready;

	(void)arg;
	b->polls++;
	if (v != -EAGAIN)
		b->ready = -EAGAIN;
	return v;
}

static int64_t box_recv(asup_cx *cx, void *arg)
{
	struct box *b = arg;
	return asup_wait_until(cx, &b->q, box_poll, b, NULL);
}

static int64_t cancelled_recv(asup_cx *cx, void *arg)
{
	CHECK_EQ(asup_cx_cancel_self(cx, ASUP_CANCEL_USER, NULL), 0);
	return box_recv(cx, arg);
}

static int64_t wait_until_body(asup_cx *cx, void *arg)
{
	struct box *b = arg;
	asup_task h;
	asup_outcome o;

	asup_waitq_init(&b->q);
	CHECK_EQ(asup_wait_until(cx, NULL, box_poll, b, NULL), -EINVAL);
	CHECK_EQ(asup_wait_until(cx, &b->q, NULL, b, NULL), -EINVAL);
	/* Ready at once: no wait. */
	b->ready = 5;
	CHECK_EQ(box_recv(cx, b), 5);
	/* A cancel wins over a ready result, which stays for the next caller. */
	b->ready = 6;
	b->polls = 0;
	CHECK_EQ(asup_spawn(cx, cancelled_recv, b, NULL, &h), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(b->polls, 0);
	CHECK_EQ(b->ready, 6);
	CHECK_EQ(box_recv(cx, b), 6);
	/* Nothing ready: the caller waits on q; a wake means "poll again". */
	CHECK_EQ(asup_spawn(cx, box_recv, b, NULL, &h), 0);
	CHECK_EQ(asup_yield(cx), 0);
	CHECK_EQ(asup_waitq_is_empty(&b->q), 0);
	CHECK_EQ(asup_waitq_wake_one(&b->q), 1); /* a wake with nothing ready */
	CHECK_EQ(asup_yield(cx), 0);
	CHECK_EQ(asup_task_is_finished(&h), 0);
	b->ready = 7;
	CHECK_EQ(asup_waitq_wake_all(&b->q), 1);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(o.value, 7);
	CHECK_EQ(asup_waitq_wake_one(&b->q), 0);
	CHECK_EQ(asup_waitq_wake_all(&b->q), 0);
	/* A deadline ends the wait and leaves the queue empty. */
	CHECK_EQ(asup_timeout(cx, ASUP_MSEC(1), box_recv, b), -ETIMEDOUT);
	CHECK_EQ(asup_waitq_is_empty(&b->q), 1);
	return 0;
}

TEST(wait_until_checkpoints_first_polls_again_on_each_wake_and_loses_nothing)
{
	static struct box b;
	asup_rt *rt;

	for (uint64_t seed = 1; seed <= 20; seed++) {
		asup_outcome o;

		memset(&b, 0, sizeof(b));
		rt = test_rt(ASUP_MODE_DETERMINISTIC, seed);
		CHECK_EQ(asup_rt_run(rt, wait_until_body, &b, &o), 0);
		CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
		test_rt_done(rt);
	}
}

TEST(a_zeroed_waker_is_refused_and_a_bad_cx_gives_one)
{
	asup_waker w = asup_waker_current(NULL);

	CHECK(w._task == NULL);
	CHECK_EQ(w._gen, 0);
	CHECK_EQ(asup_unpark(w), -EINVAL);
}

/* ---- trace.h ---- */

TEST(event_type_names_follow_the_table_and_anything_else_is_unknown)
{
	CHECK_EQ(sizeof(asup_event), 64);
	CHECK_STR_EQ(asup_event_type_name(ASUP_EV_SPAWN), "spawn");
	CHECK_STR_EQ(asup_event_type_name(ASUP_EV_USER), "user");
	CHECK_STR_EQ(asup_event_type_name(ASUP_EV_DEADLOCK), "deadlock");
	CHECK_STR_EQ(asup_event_type_name(ASUP_EV_COUNT), "unknown");
	CHECK_STR_EQ(asup_event_type_name(UINT32_MAX), "unknown");
	/* The numbering is part of the file format. */
	CHECK_EQ(ASUP_EV_NONE, 0);
	CHECK_EQ(ASUP_EV_SPAWN, 1);
	CHECK_EQ(ASUP_EV_USER, 32);
	CHECK_EQ(ASUP_EV_DEADLOCK, 33);
}

static int64_t untraced_member(asup_cx *cx, void *arg)
{
	(void)cx;
	(void)arg;
	return 0;
}

static int64_t untraced(asup_cx *cx, void *arg)
{
	asup_task h;

	(void)arg;
	CHECK_EQ(asup_trace_user(cx, 1, 2), 0);
	CHECK_EQ(asup_trace_race_begin(cx, 2), 0);
	CHECK_EQ(asup_spawn(cx, untraced_member, NULL, NULL, &h), 0);
	CHECK_EQ(asup_trace_race_member(cx, 0, &h), 0);
	CHECK_EQ(asup_trace_race_end(cx, 0, NULL), 0);
	CHECK_EQ(asup_join(cx, &h, NULL), 0);
	return 0;
}

TEST(trace_calls_do_nothing_and_return_zero_on_a_runtime_that_does_not_trace)
{
	asup_rt *rt = test_rt(ASUP_MODE_REAL, 0);
	asup_outcome o;

	CHECK_EQ(asup_trace_user(NULL, 1, 2), -ASUP_ENOTASK);
	CHECK_EQ(asup_trace_race_member(NULL, 1, NULL), -ASUP_ENOTASK);
	CHECK_EQ(asup_trace_race_end(NULL, 1, NULL), -ASUP_ENOTASK);
	CHECK_EQ(asup_trace_race_begin(NULL, 2), 0);
	CHECK_EQ(asup_rt_run(rt, untraced, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	test_rt_done(rt);
}

static int64_t traced(asup_cx *cx, void *arg)
{
	uint64_t *race = arg;
	asup_task a, b;

	CHECK_EQ(asup_trace_user(cx, 0xabc, 0xdef), 0);
	race[0] = asup_trace_race_begin(cx, 2);
	CHECK(race[0] > 0);
	CHECK_EQ(asup_spawn(cx, untraced_member, NULL, NULL, &a), 0);
	CHECK_EQ(asup_spawn(cx, untraced_member, NULL, NULL, &b), 0);
	CHECK_EQ(asup_trace_race_member(cx, race[0], &a), 0);
	CHECK_EQ(asup_trace_race_member(cx, race[0], &b), 0);
	CHECK_EQ(asup_trace_race_member(cx, race[0] + 1000, &a), -EINVAL);
	CHECK_EQ(asup_trace_race_member(cx, race[0], NULL), -EINVAL);
	/* Both members drained before the end: the oracle is content. */
	CHECK_EQ(asup_join(cx, &a, NULL), 0);
	CHECK_EQ(asup_join(cx, &b, NULL), 0);
	CHECK_EQ(asup_trace_race_end(cx, race[0], &a), 0);
	CHECK_EQ(asup_trace_race_end(cx, race[0] + 1000, NULL), -EINVAL);
	race[1] = asup_trace_race_begin(cx, 1);
	CHECK(race[1] > 0 && race[1] != race[0]);
	CHECK_EQ(asup_trace_race_end(cx, race[1], NULL), 0);
	return 0;
}

TEST(a_traced_runtime_records_user_events_and_declared_races_with_consecutive_seqs)
{
	asup_lab_config cfg;
	asup_lab *lab;
	asup_outcome o;
	uint64_t race[2] = {0, 0};
	static asup_event ev[4096];
	size_t n;
	int users = 0, begins = 0, members = 0, ends = 0;

	asup_lab_config_init(&cfg);
	cfg.seed = 7;
	CHECK_EQ(asup_lab_create(&cfg, &lab), 0);
	CHECK_EQ(asup_lab_run(lab, traced, race, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(asup_lab_violation_count(lab), 0);
	n = asup_lab_events(lab, ev, 4096);
	CHECK(n > 0 && n < 4096);
	for (size_t i = 0; i < n; i++) {
		CHECK_EQ(ev[i].seq, i);
		CHECK(ev[i].type < ASUP_EV_COUNT);
		if (ev[i].type == ASUP_EV_USER) {
			CHECK_EQ(ev[i].a, 0xabc);
			CHECK_EQ(ev[i].b, 0xdef);
			users++;
		}
		if (ev[i].type == ASUP_EV_RACE_BEGIN && ev[i].a == race[0]) {
			CHECK_EQ(ev[i].b, 2);
			begins++;
		}
		if (ev[i].type == ASUP_EV_RACE_MEMBER && ev[i].a == race[0])
			members++;
		if (ev[i].type == ASUP_EV_RACE_END && ev[i].a == race[0])
			ends++;
	}
	CHECK_EQ(users, 1);
	CHECK_EQ(begins, 1);
	CHECK_EQ(members, 2);
	CHECK_EQ(ends, 1);
	CHECK_EQ(asup_lab_destroy(lab), 0);
}

/* ---- cancel.h: cause chains ---- */

struct nest {
	int depth, want;
	int sleep_rc;
	asup_cancel_reason why;
};

static int64_t cancel_scope_later(asup_cx *cx, void *arg)
{
	(void)arg;
	CHECK_EQ(asup_sleep(cx, ASUP_MSEC(1)), 0);
	CHECK_EQ(asup_scope_cancel(cx, ASUP_CANCEL_USER, "top"), 0);
	return 0;
}

static int64_t nest_body(asup_cx *cx, void *arg)
{
	struct nest *n = arg;
	asup_outcome o;

	if (n->depth++ < n->want)
		return asup_region(cx, nest_body, n, &o);
	n->sleep_rc = asup_sleep(cx, ASUP_SEC(1));
	CHECK_EQ(asup_cx_cancel_reason(cx, &n->why), 0);
	return 0;
}

static int64_t outer_body(asup_cx *cx, void *arg)
{
	asup_task h;

	CHECK_EQ(asup_spawn(cx, cancel_scope_later, NULL, NULL, &h), 0);
	return nest_body(cx, arg);
}

static int64_t chain_root(asup_cx *cx, void *arg)
{
	asup_outcome o;

	CHECK_EQ(asup_region(cx, outer_body, arg, &o), 0);
	return 0;
}

static struct nest chain_run(uint32_t limit, int depth)
{
	asup_rt_config cfg;
	asup_rt *rt;
	asup_outcome o;
	struct nest n;

	memset(&n, 0, sizeof(n));
	n.want = depth;
	asup_rt_config_init(&cfg);
	cfg.mode = ASUP_MODE_DETERMINISTIC;
	if (limit)
		cfg.cancel_chain_depth = limit;
	rt = test_rt_cfg(&cfg);
	CHECK_EQ(asup_rt_run(rt, chain_root, &n, &o), 0);
	test_rt_done(rt);
	CHECK_EQ(n.sleep_rc, -ECANCELED);
	return n;
}

TEST(a_cause_chain_is_cut_at_the_configured_depth_16_by_default_and_flagged)
{
	struct nest n = chain_run(0, 3);

	CHECK_EQ(n.why.kind, ASUP_CANCEL_PARENT_CANCELLED);
	CHECK_EQ(n.why.root_kind, ASUP_CANCEL_USER);
	CHECK_EQ(n.why.chain_depth, 4);
	CHECK_EQ(n.why.truncated, 0);
	n = chain_run(0, 30);
	CHECK_EQ(n.why.chain_depth, 16);
	CHECK_EQ(n.why.truncated, 1);
	n = chain_run(4, 30);
	CHECK_EQ(n.why.chain_depth, 4);
	CHECK_EQ(n.why.truncated, 1);
	/* The kept chain ends in a link of the cut: the original kind is gone. */
	CHECK_EQ(n.why.root_kind, ASUP_CANCEL_PARENT_CANCELLED);
	n = chain_run(64, 30);
	CHECK_EQ(n.why.chain_depth, 31);
	CHECK_EQ(n.why.truncated, 0);
	CHECK_EQ(n.why.root_kind, ASUP_CANCEL_USER);
}
