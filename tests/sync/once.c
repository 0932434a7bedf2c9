/* Once cell: one initializer at a time, others wait and see the value; a
 * failed, cancelled or panicking initializer leaves it empty and the next
 * waiter retries; set/get; bad input; seed sweeps. */
#include "sweep.h"

struct val {
	int64_t a, b;
};

static asup_once cell;
static int inits, inside, max_inside;
static int fail_first; /* how many initializer runs fail before one works */
static int initializer_log[8], ninit;

/* arg = id. Suspends inside (so callers pile up), fails while fail_first
 * says so. */
static int init_val(asup_cx *cx, void *arg, void *out)
{
	struct val *v = out;
	int rc = 0, id = (int)(intptr_t)arg;

	inits++;
	initializer_log[ninit++] = id;
	if (++inside > max_inside)
		max_inside = inside;
	for (int i = 0; i < 3 && rc == 0; i++)
		rc = asup_yield(cx);
	inside--;
	if (rc < 0)
		return rc;
	if (fail_first > 0) {
		fail_first--;
		return -EIO;
	}
	v->a = 100 + id;
	v->b = -id;
	return 0;
}

static int64_t caller(asup_cx *cx, void *arg)
{
	struct val v;
	int rc = asup_once_get_or_init(cx, &cell, init_val, arg, &v);
	if (rc < 0)
		return rc;
	CHECK_EQ(v.b, 100 - v.a); /* a whole value, never a torn one */
	return rc; /* 1: initialized it */
}

static void reset(int failing)
{
	CHECK_EQ(asup_once_init(&cell, sizeof(struct val)), 0);
	inits = inside = max_inside = ninit = 0;
	fail_first = failing;
}

static int64_t once_root(asup_cx *cx, void *arg)
{
	asup_task h[4];
	asup_outcome o;
	struct val v;
	int initialized = 0;
	reset(0);
	for (int i = 0; i < 4; i++)
		CHECK_EQ(asup_spawn(cx, caller, (void *)(intptr_t)i, NULL, &h[i]), 0);
	/* Seeded order: look while somebody is inside its initializer. */
	while (!inside && ninit == 0)
		CHECK_EQ(asup_yield(cx), 0);
	while (inside) {
		CHECK_EQ(asup_once_get(&cell, &v), -EAGAIN); /* initializing */
		CHECK_EQ(asup_once_set(&cell, &v), -EBUSY);
		CHECK_EQ(asup_yield(cx), 0);
	}
	for (int i = 0; i < 4; i++) {
		CHECK_EQ(asup_join(cx, &h[i], &o), 0);
		CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
		initialized += o.value == 1;
	}
	CHECK_EQ(inits, 1);
	CHECK_EQ(initialized, 1);
	CHECK_EQ(max_inside, 1);
	CHECK_EQ(asup_once_get(&cell, &v), 0);
	CHECK_EQ(v.a, 100 + initializer_log[0]);
	return 0;
}

TEST(once_runs_one_initializer_while_the_others_wait_and_see_its_value)
{
	sweep(once_root);
}

static int64_t retry_root(asup_cx *cx, void *arg)
{
	asup_task h[3];
	asup_outcome o;
	struct val v;
	reset(1);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(asup_spawn(cx, caller, (void *)(intptr_t)i, NULL, &h[i]), 0);
	CHECK_EQ(asup_join(cx, &h[0], &o), 0);
	CHECK_EQ(o.value, -EIO); /* its own init failed */
	CHECK_EQ(asup_join(cx, &h[1], &o), 0);
	CHECK_EQ(o.value, 1); /* the next waiter in line retried */
	CHECK_EQ(asup_join(cx, &h[2], &o), 0);
	CHECK_EQ(o.value, 0);
	CHECK_EQ(inits, 2);
	CHECK_EQ(initializer_log[0], 0);
	CHECK_EQ(initializer_log[1], 1);
	CHECK_EQ(asup_once_get(&cell, &v), 0);
	CHECK_EQ(v.a, 101);
	/* Nobody waiting: a failure leaves it empty for a later caller. */
	reset(1);
	CHECK_EQ(asup_once_get_or_init(cx, &cell, init_val, (void *)5, &v), -EIO);
	CHECK_EQ(asup_once_get(&cell, &v), -EAGAIN);
	CHECK_EQ(asup_once_get_or_init(cx, &cell, init_val, (void *)6, &v), 1);
	CHECK_EQ(v.a, 106);
	return 0;
}

TEST(once_a_failing_initializer_leaves_it_empty_and_the_next_waiter_retries)
{
	run_real(retry_root);
}

static int64_t cancelled_init_root(asup_cx *cx, void *arg)
{
	asup_task h[3];
	asup_outcome o;
	struct val v;
	reset(0);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(asup_spawn(cx, caller, (void *)(intptr_t)i, NULL, &h[i]), 0);
	CHECK_EQ(asup_yield(cx), 0); /* 0 initializes, 1 and 2 wait */
	CHECK_EQ(asup_task_abort(&h[0]), 0);
	CHECK_EQ(asup_join(cx, &h[0], &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(asup_once_get(&cell, &v), -EAGAIN); /* still empty */
	CHECK_EQ(asup_join(cx, &h[1], &o), 0);
	CHECK_EQ(o.value, 1);
	CHECK_EQ(asup_join(cx, &h[2], &o), 0);
	CHECK_EQ(o.value, 0);
	CHECK_EQ(asup_once_get(&cell, &v), 0);
	CHECK_EQ(v.a, 101);
	return 0;
}

TEST(once_a_cancelled_initializer_leaves_it_empty_and_the_next_waiter_retries)
{
	run_real(cancelled_init_root);
}

static int init_panics(asup_cx *cx, void *arg, void *out)
{
	CHECK_EQ(asup_yield(cx), 0);
	asup_panic(cx, "inside the initializer");
	return 0;
}

static int64_t panicking_caller(asup_cx *cx, void *arg)
{
	struct val v;
	return asup_once_get_or_init(cx, &cell, init_panics, NULL, &v);
}

static int64_t panic_root(asup_cx *cx, void *arg)
{
	asup_task p, h[2];
	asup_outcome o;
	reset(0);
	CHECK_EQ(asup_spawn(cx, panicking_caller, NULL, NULL, &p), 0);
	CHECK_EQ(asup_spawn(cx, caller, (void *)1, NULL, &h[0]), 0);
	CHECK_EQ(asup_spawn(cx, caller, (void *)2, NULL, &h[1]), 0);
	CHECK_EQ(asup_join(cx, &p, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_PANICKED);
	CHECK_EQ(asup_join(cx, &h[0], &o), 0);
	CHECK_EQ(o.value, 1); /* the exit hook handed it the turn */
	CHECK_EQ(asup_join(cx, &h[1], &o), 0);
	CHECK_EQ(o.value, 0);
	CHECK_EQ(inits, 1);
	return 0;
}

TEST(once_an_initializer_whose_task_panics_hands_on_to_the_next_waiter)
{
	run_real(panic_root);
}

/* The caller's own initializer: lets two callers queue, then fails. */
static int init_fails_late(asup_cx *cx, void *arg, void *out)
{
	for (int i = 0; i < 3; i++)
		CHECK_EQ(asup_yield(cx), 0);
	return -EIO;
}

static int64_t waiter_cancel_root(asup_cx *cx, void *arg)
{
	asup_task h[3];
	asup_outcome o;
	struct val v;

	/* A waiter cancelled while it waits: no effect on anybody. */
	reset(0);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(asup_spawn(cx, caller, (void *)(intptr_t)i, NULL, &h[i]), 0);
	CHECK_EQ(asup_yield(cx), 0); /* 0 initializes, 1 and 2 wait */
	CHECK_EQ(asup_task_abort(&h[1]), 0);
	CHECK_EQ(asup_join(cx, &h[1], &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(asup_join(cx, &h[0], &o), 0);
	CHECK_EQ(o.value, 1);
	CHECK_EQ(asup_join(cx, &h[2], &o), 0);
	CHECK_EQ(o.value, 0);
	CHECK_EQ(inits, 1);

	/* Our init fails and hands the turn to 1; 1 is cancelled before it
	 * runs and must pass the turn to 2. */
	reset(0);
	for (int i = 1; i < 3; i++)
		CHECK_EQ(asup_spawn(cx, caller, (void *)(intptr_t)i, NULL, &h[i]), 0);
	CHECK_EQ(asup_once_get_or_init(cx, &cell, init_fails_late, NULL, &v), -EIO);
	CHECK_EQ(asup_task_abort(&h[1]), 0);
	CHECK_EQ(asup_join(cx, &h[1], &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(asup_join(cx, &h[2], &o), 0);
	CHECK_EQ(o.value, 1);
	CHECK_EQ(inits, 1); /* 1 never initialized */
	CHECK_EQ(initializer_log[0], 2);
	return 0;
}

TEST(once_a_cancelled_waiter_has_no_effect_and_passes_on_a_handed_turn)
{
	run_real(waiter_cancel_root);
}

static int64_t set_root(asup_cx *cx, void *arg)
{
	struct val v = {7, 8}, w;
	reset(0);
	CHECK_EQ(asup_once_set(&cell, &v), 0);
	CHECK_EQ(asup_once_set(&cell, &v), -EALREADY);
	CHECK_EQ(asup_once_get_or_init(cx, &cell, init_val, NULL, &w), 0);
	CHECK_EQ(inits, 0); /* no initializer ran */
	CHECK_EQ(w.a, 7);
	CHECK_EQ(w.b, 8);
	v.a = 9; /* copied by value: the cell does not see it */
	CHECK_EQ(asup_once_get(&cell, &w), 0);
	CHECK_EQ(w.a, 7);
	return 0;
}

TEST(once_set_fails_if_initialized_and_values_are_copied)
{
	run_real(set_root);
}

static int reenters(asup_cx *cx, void *arg, void *out)
{
	return asup_once_get_or_init(cx, &cell, reenters, NULL, out);
}

static int64_t bad_root(asup_cx *cx, void *arg)
{
	asup_once bad;
	struct val v;
	memset(&bad, 0, sizeof bad);
	CHECK_EQ(asup_once_init(&bad, 0), -EINVAL);
	CHECK_EQ(asup_once_init(&bad, ASUP_ONCE_MAX_SIZE + 1), -EINVAL);
	CHECK_EQ(asup_once_init(NULL, 8), -EINVAL);
	CHECK_EQ(asup_once_get(&bad, &v), -EINVAL); /* unusable after a bad init */
	CHECK_EQ(asup_once_set(&bad, &v), -EINVAL);
	CHECK_EQ(asup_once_get_or_init(cx, &bad, init_val, NULL, &v), -EINVAL);
	reset(0);
	CHECK_EQ(asup_once_get_or_init(cx, &cell, NULL, NULL, &v), -EINVAL);
	CHECK_EQ(asup_once_get_or_init(cx, &cell, init_val, NULL, NULL), -EINVAL);
	CHECK_EQ(asup_once_get_or_init(NULL, &cell, init_val, NULL, &v), -ASUP_ENOTASK);
	CHECK_EQ(asup_once_get(&cell, NULL), -EINVAL);
	CHECK_EQ(asup_once_set(&cell, NULL), -EINVAL);
	CHECK_EQ(asup_once_get_or_init(cx, &cell, reenters, NULL, &v), -EDEADLK);
	CHECK_EQ(asup_once_get(&cell, &v), -EAGAIN); /* the failure left it empty */
	CHECK_EQ(asup_once_init(&cell, ASUP_ONCE_MAX_SIZE), 0);
	return 0;
}

TEST(once_bad_input_gets_clear_codes)
{
	run_real(bad_root);
}

/* ---- seed sweep: failing and cancelled initializers ---- */

#define SW_TASKS 6
static int sw_initialized;

static int sw_init(asup_cx *cx, void *arg, void *out)
{
	struct val *v = out;
	int rc = 0;
	if (++inside > max_inside)
		max_inside = inside;
	for (uint64_t y = draw(cx, 3); y > 0 && rc == 0; y--)
		rc = asup_yield(cx);
	inside--;
	if (rc < 0)
		return rc;
	if (draw(cx, 2))
		return -EIO;
	v->a = 100 + (intptr_t)arg;
	v->b = -(intptr_t)arg;
	return 0;
}

static int64_t sw_task(asup_cx *cx, void *arg)
{
	struct val v;
	for (;;) {
		int rc = asup_once_get_or_init(cx, &cell, sw_init, arg, &v);
		if (rc == -EIO)
			continue; /* my init failed: try again */
		if (rc < 0)
			return rc;
		CHECK_EQ(v.b, 100 - v.a);
		sw_initialized += rc == 1;
		return v.a;
	}
}

static int64_t sw_root(asup_cx *cx, void *arg)
{
	asup_task h[SW_TASKS];
	asup_outcome o;
	struct val v;
	int64_t seen = -1;
	int ok = 0;

	reset(0);
	sw_initialized = 0;
	for (int i = 0; i < SW_TASKS; i++)
		CHECK_EQ(asup_spawn(cx, sw_task, (void *)(intptr_t)i, NULL, &h[i]), 0);
	for (int c = 0; c < 2; c++) {
		for (uint64_t y = draw(cx, 6); y > 0; y--)
			CHECK_EQ(asup_yield(cx), 0);
		CHECK_EQ(asup_task_abort(&h[draw(cx, SW_TASKS)]), 0);
	}
	for (int i = 0; i < SW_TASKS; i++) {
		CHECK_EQ(asup_join(cx, &h[i], &o), 0);
		if (o.kind != ASUP_OUTCOME_OK)
			continue;
		ok++;
		CHECK(seen < 0 || seen == o.value); /* everyone sees one value */
		seen = o.value;
	}
	CHECK_EQ(max_inside, 1); /* one initializer at a time */
	if (asup_once_get(&cell, &v) == 0) {
		CHECK_EQ(sw_initialized, 1);
		CHECK(ok == 0 || seen == v.a);
	} else {
		CHECK_EQ(ok, 0);
		CHECK_EQ(sw_initialized, 0);
	}
	return 0;
}

TEST(once_seed_sweep_failing_and_cancelled_initializers_one_value)
{
	sweep(sw_root);
}
