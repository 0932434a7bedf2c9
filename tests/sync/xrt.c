/*
 * Synchronization objects of another runtime: a sync object is bound to the
 * runtime of the first task that uses it, and every call from a task of
 * another runtime returns -EXDEV and changes nothing. Runtime B binds one
 * object of each kind (holding the mutex, a read lock and a semaphore permit,
 * with a task waiting on the notify and one on the barrier) and sleeps; a
 * task of runtime A tries every call; B then checks that everything is as it
 * left it and still works.
 */
#include "testrt.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define HOUR (3600ull * 1000000000ull)

struct objs {
	asup_mutex m;
	asup_rwlock rw;
	asup_semaphore sem;
	asup_semaphore_permit permit;
	asup_notify n;
	asup_barrier bar;
	asup_once once;
	asup_rwlock_stats rws;
	asup_barrier_stats bs;
	int refused, calls;
	int notified;
};

static int init_42(asup_cx *cx, void *arg, void *value)
{
	(void)cx;
	(void)arg;
	*(int *)value = 42;
	return 0;
}

static int64_t b_notify_waiter(asup_cx *cx, void *arg)
{
	struct objs *o = arg;
	int rc = asup_notify_wait(cx, &o->n);
	o->notified = rc == 0;
	return rc;
}

static int64_t b_barrier_waiter(asup_cx *cx, void *arg)
{
	struct objs *o = arg;
	return asup_barrier_wait(cx, &o->bar);
}

static int64_t b_owner(asup_cx *cx, void *arg)
{
	struct objs *o = arg;
	asup_task nw, bw;
	asup_outcome out;
	int v = 0;

	CHECK_EQ(asup_mutex_lock(cx, &o->m), 0);
	CHECK_EQ(asup_rwlock_read(cx, &o->rw), 0);
	CHECK_EQ(asup_semaphore_acquire(cx, &o->sem, 1, &o->permit), 0);
	CHECK_EQ(asup_once_get_or_init(cx, &o->once, init_42, NULL, &v), 1);
	CHECK_EQ(asup_spawn(cx, b_notify_waiter, o, NULL, &nw), 0);
	CHECK_EQ(asup_spawn(cx, b_barrier_waiter, o, NULL, &bw), 0);
	CHECK_EQ(asup_yield(cx), 0); /* both start waiting */
	CHECK_EQ(asup_rwlock_stats_get(&o->rw, &o->rws), 0);
	CHECK_EQ(asup_barrier_stats_get(&o->bar, &o->bs), 0);
	CHECK_EQ(o->bs.arrived, 1);

	CHECK_EQ(asup_sleep(cx, HOUR), 0); /* runtime A runs meanwhile */

	asup_rwlock_stats rws;
	asup_barrier_stats bs;
	memset(&rws, 0, sizeof rws);
	memset(&bs, 0, sizeof bs);
	CHECK_EQ(asup_rwlock_stats_get(&o->rw, &rws), 0);
	CHECK(memcmp(&rws, &o->rws, sizeof rws) == 0);
	CHECK_EQ(asup_barrier_stats_get(&o->bar, &bs), 0);
	CHECK(memcmp(&bs, &o->bs, sizeof bs) == 0);
	CHECK_EQ(asup_mutex_is_locked(&o->m), 1);
	CHECK_EQ(asup_semaphore_available(&o->sem), 1);
	CHECK_EQ(asup_semaphore_permit_count(&o->permit), 1);
	CHECK_EQ(o->notified, 0);
	/* and everything still works for B */
	CHECK_EQ(asup_mutex_unlock(cx, &o->m), 0);
	CHECK_EQ(asup_rwlock_read_unlock(cx, &o->rw), 0);
	CHECK_EQ(asup_semaphore_permit_release(&o->permit), 0);
	CHECK_EQ(asup_semaphore_available(&o->sem), 2);
	CHECK_EQ(asup_notify_one(&o->n), 1);
	CHECK_EQ(asup_barrier_wait(cx, &o->bar), ASUP_BARRIER_LEADER);
	CHECK_EQ(asup_join(cx, &nw, &out), 0);
	CHECK_EQ(out.value, 0);
	CHECK_EQ(asup_join(cx, &bw, &out), 0);
	CHECK_EQ(out.value, 0);
	CHECK_EQ(asup_once_get(&o->once, &v), 0);
	CHECK_EQ(v, 42);
	return 0;
}

#define REFUSED(call)                                                                    \
	do {                                                                             \
		o->calls++;                                                              \
		int rc_ = (call);                                                        \
		if (rc_ == -EXDEV)                                                       \
			o->refused++;                                                    \
		else                                                                     \
			fprintf(stderr, "%s:%d: %s gave %d, not -EXDEV\n", __FILE__,     \
				__LINE__, #call, rc_);                                   \
	} while (0)

static int64_t a_calls(asup_cx *cx, void *arg)
{
	struct objs *o = arg;
	asup_semaphore_permit p;
	asup_rwlock_stats rws;
	asup_barrier_stats bs;
	int v = 7;

	REFUSED(asup_mutex_lock(cx, &o->m));
	REFUSED(asup_mutex_try_lock(cx, &o->m));
	REFUSED(asup_mutex_unlock(cx, &o->m));
	REFUSED(asup_mutex_clear_poison(&o->m));
	REFUSED(asup_mutex_is_locked(&o->m));
	REFUSED(asup_rwlock_read(cx, &o->rw));
	REFUSED(asup_rwlock_write(cx, &o->rw));
	REFUSED(asup_rwlock_try_read(cx, &o->rw));
	REFUSED(asup_rwlock_try_write(cx, &o->rw));
	REFUSED(asup_rwlock_read_unlock(cx, &o->rw));
	REFUSED(asup_rwlock_write_unlock(cx, &o->rw));
	REFUSED(asup_rwlock_clear_poison(&o->rw));
	REFUSED(asup_rwlock_stats_get(&o->rw, &rws));
	REFUSED(asup_semaphore_acquire(cx, &o->sem, 1, &p));
	REFUSED(asup_semaphore_try_acquire(cx, &o->sem, 1, &p));
	REFUSED(asup_semaphore_permit_release(&o->permit));
	REFUSED(asup_semaphore_add_permits(&o->sem, 1));
	REFUSED(asup_semaphore_close(&o->sem));
	REFUSED(asup_notify_wait(cx, &o->n));
	REFUSED(asup_notify_one(&o->n));
	REFUSED(asup_notify_waiters(&o->n));
	REFUSED(asup_barrier_wait(cx, &o->bar));
	REFUSED(asup_barrier_stats_get(&o->bar, &bs));
	REFUSED(asup_once_get_or_init(cx, &o->once, init_42, NULL, &v));
	REFUSED(asup_once_set(&o->once, &v));
	REFUSED(asup_once_get(&o->once, &v));
	/* The two size_t readers cannot say -EXDEV: they read 0. */
	CHECK_EQ(asup_semaphore_available(&o->sem), 0);
	CHECK_EQ(asup_semaphore_permit_count(&o->permit), 0);
	return 0;
}

static asup_rt *det_rt(void)
{
	asup_rt_config cfg;
	asup_rt_config_init(&cfg);
	cfg.mode = ASUP_MODE_DETERMINISTIC;
	cfg.auto_advance = 0;
	return test_rt_cfg(&cfg);
}

TEST(every_sync_call_refuses_another_runtimes_object_and_changes_nothing)
{
	asup_rt *a = det_rt(), *b = det_rt();
	static struct objs o;
	asup_task owner;
	asup_outcome out;

	memset(&o, 0, sizeof o);
	asup_mutex_init(&o.m);
	asup_rwlock_init(&o.rw);
	asup_semaphore_init(&o.sem, 2);
	asup_notify_init(&o.n);
	CHECK_EQ(asup_barrier_init(&o.bar, 2), 0);
	CHECK_EQ(asup_once_init(&o.once, sizeof(int)), 0);
	CHECK_EQ(asup_rt_spawn(b, b_owner, &o, NULL, &owner), 0);
	CHECK(asup_rt_run_until_idle(b) >= 1);
	CHECK_EQ(asup_task_is_finished(&owner), 0);
	CHECK_EQ(asup_rt_run(a, a_calls, &o, &out), 0);
	CHECK_EQ(out.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(o.calls, 26);
	CHECK_EQ(o.refused, 26);
	CHECK_EQ(asup_rt_advance(b, HOUR), 0);
	CHECK(asup_rt_run_until_idle(b) >= 1);
	CHECK_EQ(asup_task_try_join(&owner, &out), 0);
	CHECK_EQ(out.kind, ASUP_OUTCOME_OK);
	test_rt_done(a);
	test_rt_done(b);
}

/* A mutex two runtimes share: the first task's runtime keeps it. */
static int64_t locks_and_unlocks(asup_cx *cx, void *arg)
{
	asup_mutex *m = arg;
	int rc = asup_mutex_lock(cx, m);
	if (rc < 0)
		return rc;
	return asup_mutex_unlock(cx, m);
}

TEST(a_mutex_stays_with_the_runtime_of_its_first_task)
{
	asup_rt *a = det_rt(), *b = det_rt();
	asup_mutex m;
	asup_outcome out;

	asup_mutex_init(&m);
	CHECK_EQ(asup_rt_run(a, locks_and_unlocks, &m, &out), 0);
	CHECK_EQ(out.value, 0);
	CHECK_EQ(asup_rt_run(b, locks_and_unlocks, &m, &out), 0);
	CHECK_EQ(out.kind, ASUP_OUTCOME_ERR);
	CHECK_EQ(out.value, -EXDEV);
	CHECK_EQ(asup_rt_run(a, locks_and_unlocks, &m, &out), 0);
	CHECK_EQ(out.value, 0);
	asup_mutex_init(&m); /* initialized again, it is free to bind anew */
	CHECK_EQ(asup_rt_run(b, locks_and_unlocks, &m, &out), 0);
	CHECK_EQ(out.value, 0);
	test_rt_done(a);
	test_rt_done(b);
}
