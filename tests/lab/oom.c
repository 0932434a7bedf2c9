/*
 * The lab under allocation failure: its runtime and oracle tables allocate
 * through asup_lab_config.alloc. Failing the Nth allocation of a run, for
 * every N of a workload with spawns, a race whose loser blocks on a channel,
 * a fail-fast region, an async finalizer, obligations and a nested scope
 * cancel, the lab says "out_of_memory" and never reports a leak, a protocol
 * violation or a deadlock that the failure did not cause; a run with no
 * failure is clean and exact.
 */
#include "labtest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static struct {
	uint64_t count, fail_at, failed;
	int64_t live;
} A;

static void *oom_alloc(void *ud, size_t n)
{
	void *p;
	(void)ud;
	if (++A.count == A.fail_at) {
		A.failed++;
		return NULL;
	}
	p = malloc(n);
	if (p)
		A.live++;
	return p;
}

static void oom_free(void *ud, void *p, size_t n)
{
	(void)ud;
	(void)n;
	A.live--;
	free(p);
}

/* Shared state outside every region body's frame. */
static struct {
	asup_chan *never;
	asup_notify nt;
	int fin_armed, fin_ran;
} S;

#define TRY(e)                          \
	do {                            \
		int64_t rc_ = (e);      \
		if (rc_ < 0)            \
			return rc_;     \
	} while (0)

static int64_t value_of(int rc, const asup_outcome *o)
{
	if (rc < 0)
		return rc;
	if (o->kind == ASUP_OUTCOME_OK || o->kind == ASUP_OUTCOME_ERR)
		return o->value;
	return o->kind == ASUP_OUTCOME_CANCELLED ? -ECANCELED : -EFAULT;
}

static int64_t blocked(asup_cx *cx, void *arg)
{
	int v;
	(void)arg;
	return asup_chan_recv(cx, S.never, &v) == -ECANCELED ? 0 : -EPROTO;
}

static int64_t quick(asup_cx *cx, void *arg)
{
	TRY(asup_yield(cx));
	return (int64_t)(intptr_t)arg;
}

static int64_t fin_async(asup_cx *cx, void *arg)
{
	(void)arg;
	TRY(asup_yield(cx));
	S.fin_ran++;
	return 0;
}

static int64_t failing_body(asup_cx *cx, void *arg)
{
	asup_task h;
	TRY(asup_defer_async(cx, fin_async, NULL));
	S.fin_armed = 1;
	TRY(asup_spawn(cx, blocked, arg, NULL, &h));
	TRY(asup_yield(cx));
	return -EBADMSG;
}

static int64_t inner(asup_cx *cx, void *arg)
{
	asup_task h;
	asup_outcome o;
	TRY(asup_spawn(cx, blocked, arg, NULL, &h));
	asup_notify_one(&S.nt);
	return value_of(asup_join(cx, &h, &o), &o);
}

static int64_t holder(asup_cx *cx, void *arg)
{
	asup_outcome o;
	int64_t v = value_of(asup_region(cx, inner, arg, &o), &o);
	asup_notify_one(&S.nt);
	return v;
}

static int64_t cancel_body(asup_cx *cx, void *arg)
{
	asup_task h;
	asup_outcome o;
	int64_t v;
	uint64_t ob;
	TRY(asup_obligation_reserve(cx, ASUP_OBLIGATION_ACK, "oom ack", &ob));
	TRY(asup_obligation_commit(cx, ob));
	TRY(asup_spawn(cx, holder, arg, NULL, &h));
	TRY(asup_notify_wait(cx, &S.nt));
	TRY(asup_scope_cancel(cx, ASUP_CANCEL_USER, "oom"));
	v = value_of(asup_join(cx, &h, &o), &o);
	return v == 0 || v == -ECANCELED ? 1 : v;
}

static int64_t root(asup_cx *cx, void *arg)
{
	asup_task a, b;
	asup_outcome o;
	int64_t v, sum = 0;
	(void)arg;
	memset(&S, 0, sizeof(S));
	asup_notify_init(&S.nt);
	TRY(asup_chan_open(cx, sizeof(int), 1, &S.never));
	/* A race whose loser waits on a channel: only its cancel ends it. */
	TRY(asup_spawn(cx, blocked, NULL, NULL, &a));
	TRY(asup_spawn(cx, quick, (void *)(intptr_t)5, NULL, &b));
	TRY(asup_race(cx, &a, &b, &o));
	TRY(v = value_of(0, &o));
	sum += v;
	v = value_of(asup_region(cx, failing_body, NULL, &o), &o);
	if (v != -EBADMSG)
		return v < 0 ? v : -EPROTO;
	if (S.fin_ran != S.fin_armed)
		return -EPROTO;
	TRY(v = value_of(asup_region(cx, cancel_body, NULL, &o), &o));
	return sum + v; /* 6 */
}

static int bad_verdict(const char *oracle)
{
	return strcmp(oracle, "out_of_memory") != 0 && strcmp(oracle, "lab") != 0;
}

/* One lab run with allocation n (counted from the run's start) failing.
 * Returns 1 if an allocation failed. */
static int lab_point(uint64_t n)
{
	asup_lab_config cfg = lab_test_config(3, 1);
	asup_lab *lab;
	asup_outcome o;
	uint64_t failed = A.failed, nv;
	int rc, oom = 0;

	cfg.alloc.alloc = oom_alloc;
	cfg.alloc.free = oom_free;
	CHECK_EQ(asup_lab_create(&cfg, &lab), 0);
	A.fail_at = n ? A.count + n : 0;
	rc = asup_lab_run(lab, root, NULL, &o);
	A.fail_at = 0;
	nv = asup_lab_violation_count(lab);
	for (uint64_t i = 0; i < nv && i < 64; i++) {
		asup_lab_violation v;
		CHECK_EQ(asup_lab_violation_get(lab, i, &v), 0);
		if (bad_verdict(v.oracle))
			fprintf(stderr, "point %" PRIu64 ": %s: %s\n", n, v.oracle, v.message);
		CHECK(!bad_verdict(v.oracle));
		oom |= strcmp(v.oracle, "out_of_memory") == 0;
	}
	if (A.failed != failed && rc == -ENOMEM) {
		/* The root itself could not be spawned: nothing ran. */
		CHECK_EQ(nv, 0);
	} else if (A.failed != failed) {
		/* The lab says so, and the root saw -ENOMEM or finished exactly. */
		if (!oom)
			fprintf(stderr, "point %" PRIu64 ": rc %s, %" PRIu64 " violations, root %s %" PRId64 "\n", n, asup_err_name(rc), nv, asup_outcome_kind_name(o.kind), o.value);
		CHECK(oom);
		CHECK_EQ(rc, -ASUP_EORACLE);
		CHECK((o.kind == ASUP_OUTCOME_OK && o.value == 6) ||
		      (o.kind == ASUP_OUTCOME_ERR && o.value == -ENOMEM));
	} else {
		CHECK_EQ(rc, 0);
		CHECK_EQ(nv, 0);
		CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
		CHECK_EQ(o.value, 6);
	}
	CHECK_EQ(asup_lab_destroy(lab), 0);
	CHECK_EQ(A.live, 0);
	return A.failed != failed;
}

TEST(lab_without_failures_is_clean_and_exact)
{
	CHECK_EQ(lab_point(0), 0);
}

TEST(lab_out_of_memory_says_so_and_reports_no_false_leak_or_protocol_violation)
{
	uint64_t n, tried = 0;
	for (n = 1; lab_point(n); n++)
		tried++;
	printf("lab allocation sweep: %" PRIu64 " points tried, all clean\n", tried);
	CHECK(tried > 0);
}

TEST(lab_config_refuses_half_set_alloc_hooks)
{
	asup_lab_config cfg = lab_test_config(1, 1);
	const char *field = NULL;
	asup_lab *lab;
	cfg.alloc.alloc = oom_alloc;
	CHECK_EQ(asup_lab_config_check(&cfg, &field), -EINVAL);
	CHECK(field && strcmp(field, "alloc") == 0);
	CHECK_EQ(asup_lab_create(&cfg, &lab), -EINVAL);
}
