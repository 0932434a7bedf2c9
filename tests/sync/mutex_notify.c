/* Mutex (FIFO hand-off, cancel-safety, poisoning) and notify. */
#include "testrt.h"

static void run_real(asup_task_fn fn)
{
	/* Real mode: FIFO among equally ready tasks, so waiters queue in spawn
	 * order. */
	asup_rt *rt = test_rt(ASUP_MODE_REAL, 0);
	asup_outcome o;
	CHECK_EQ(asup_rt_run(rt, fn, rt, &o), 0);
	if (o.kind != ASUP_OUTCOME_OK)
		fprintf(stderr, "outcome %s %lld\n", asup_outcome_kind_name(o.kind), (long long)o.value);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	test_rt_done(rt);
}

static asup_mutex mu;
static int order_log[8], norder;

static int64_t locker(asup_cx *cx, void *arg)
{
	int rc = asup_mutex_lock(cx, &mu);
	if (rc < 0)
		return rc;
	order_log[norder++] = (int)(intptr_t)arg;
	CHECK_EQ(asup_yield(cx), 0); /* hold it across a suspension */
	return asup_mutex_unlock(cx, &mu);
}

static int64_t fifo_root(asup_cx *cx, void *arg)
{
	for (int victim = -1; victim < 4; victim++) {
		asup_task h[4];
		asup_outcome o;
		norder = 0;
		asup_mutex_init(&mu);
		CHECK_EQ(asup_mutex_lock(cx, &mu), 0);
		for (int i = 0; i < 4; i++) {
			CHECK_EQ(asup_spawn(cx, locker, (void *)(intptr_t)i, NULL, &h[i]), 0);
			CHECK_EQ(asup_yield(cx), 0); /* i queues */
		}
		if (victim >= 0)
			CHECK_EQ(asup_task_abort(&h[victim]), 0);
		CHECK_EQ(asup_mutex_unlock(cx, &mu), 0);
		for (int i = 0; i < 4; i++) {
			CHECK_EQ(asup_join(cx, &h[i], &o), 0);
			CHECK_EQ(o.kind, i == victim ? ASUP_OUTCOME_CANCELLED : ASUP_OUTCOME_OK);
		}
		CHECK_EQ(norder, victim >= 0 ? 3 : 4);
		for (int i = 1; i < norder; i++)
			CHECK(order_log[i] > order_log[i - 1]); /* FIFO, the rest in order */
		CHECK_EQ(asup_mutex_is_locked(&mu), 0);
	}
	return 0;
}

TEST(mutex_is_fifo_and_a_cancel_at_any_position_acquires_nothing)
{
	run_real(fifo_root);
}

static int64_t ends_holding(asup_cx *cx, void *arg)
{
	CHECK_EQ(asup_mutex_lock(cx, &mu), 0);
	CHECK_EQ(asup_yield(cx), 0);
	if (arg)
		asup_panic(cx, "while holding");
	return 0; /* returns holding it: a bug, and the lock is poisoned */
}

static int64_t waits_for_lock(asup_cx *cx, void *arg)
{
	return asup_mutex_lock(cx, &mu);
}

static int64_t poison_root(asup_cx *cx, void *arg)
{
	for (int panics = 0; panics < 2; panics++) {
		asup_task holder, waiter;
		asup_outcome o;
		asup_mutex_init(&mu);
		CHECK_EQ(asup_spawn(cx, ends_holding, (void *)(intptr_t)panics, NULL, &holder), 0);
		CHECK_EQ(asup_yield(cx), 0); /* the holder locks */
		CHECK_EQ(asup_spawn(cx, waits_for_lock, NULL, NULL, &waiter), 0);
		CHECK_EQ(asup_join(cx, &holder, &o), 0);
		CHECK_EQ(o.kind, panics ? ASUP_OUTCOME_PANICKED : ASUP_OUTCOME_OK);
		CHECK_EQ(asup_join(cx, &waiter, &o), 0);
		CHECK_EQ(o.kind, ASUP_OUTCOME_ERR);
		CHECK_EQ(o.value, -ASUP_EPOISONED);
		CHECK_EQ(asup_mutex_lock(cx, &mu), -ASUP_EPOISONED);
		CHECK_EQ(asup_mutex_clear_poison(&mu), 0);
		CHECK_EQ(asup_mutex_lock(cx, &mu), 0);
		CHECK_EQ(asup_mutex_unlock(cx, &mu), 0);
	}
	return 0;
}

TEST(a_task_ending_with_the_lock_poisons_it)
{
	run_real(poison_root);
}

static int64_t tries_foreign_unlock(asup_cx *cx, void *arg)
{
	return asup_mutex_unlock(cx, &mu);
}

static int64_t misuse_root(asup_cx *cx, void *arg)
{
	asup_task h;
	asup_outcome o;
	asup_mutex bad;
	memset(&bad, 0, sizeof bad);
	asup_mutex_init(&mu);
	CHECK_EQ(asup_mutex_try_lock(cx, &mu), 0);
	CHECK_EQ(asup_mutex_lock(cx, &mu), -EDEADLK);
	CHECK_EQ(asup_spawn(cx, tries_foreign_unlock, NULL, NULL, &h), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.value, -EPERM);
	CHECK_EQ(asup_mutex_unlock(cx, &mu), 0);
	CHECK_EQ(asup_mutex_unlock(cx, &mu), -EPERM);
	CHECK_EQ(asup_mutex_lock(cx, &bad), -EINVAL);
	CHECK_EQ(asup_mutex_lock(NULL, &mu), -ASUP_ENOTASK);
	CHECK_EQ(asup_mutex_is_locked(&bad), -EINVAL);
	return 0;
}

TEST(mutex_misuse_has_clear_codes)
{
	run_real(misuse_root);
}

/* ---- notify ---- */

static asup_notify nt;
static int woke;

static int64_t notified(asup_cx *cx, void *arg)
{
	int rc = asup_notify_wait(cx, &nt);
	if (rc == 0)
		woke++;
	return rc;
}

static int64_t notify_root(asup_cx *cx, void *arg)
{
	asup_task h[3];
	asup_outcome o;
	asup_notify_init(&nt);
	woke = 0;
	CHECK_EQ(asup_notify_one(&nt), 0);      /* nobody waits: a permit */
	CHECK_EQ(asup_notify_wait(cx, &nt), 0); /* taken at once */
	CHECK_EQ(asup_notify_waiters(&nt), 0);  /* stores nothing */
	for (int i = 0; i < 3; i++)
		CHECK_EQ(asup_spawn(cx, notified, NULL, NULL, &h[i]), 0);
	CHECK_EQ(asup_yield(cx), 0);
	CHECK_EQ(asup_task_abort(&h[0]), 0); /* a cancelled wait leaves the queue */
	CHECK_EQ(asup_join(cx, &h[0], &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(asup_notify_one(&nt), 1);
	CHECK_EQ(asup_join(cx, &h[1], &o), 0);
	CHECK_EQ(woke, 1);
	CHECK_EQ(asup_notify_waiters(&nt), 1);
	CHECK_EQ(asup_join(cx, &h[2], &o), 0);
	CHECK_EQ(woke, 2);
	CHECK_EQ(asup_notify_waiters(&nt), 0);
	CHECK_EQ(asup_notify_one(NULL), -EINVAL);
	return 0;
}

TEST(notify_one_stores_a_permit_notify_waiters_does_not)
{
	run_real(notify_root);
}

/* ---- semaphore ---- */

static asup_semaphore sem;

static int64_t takes(asup_cx *cx, void *arg)
{
	size_t n = (size_t)(uintptr_t)arg;
	int rc = asup_semaphore_acquire(cx, &sem, n);
	if (rc < 0)
		return rc;
	order_log[norder++] = (int)n;
	return 0; /* keeps them: the root releases */
}

static int64_t semaphore_root(asup_cx *cx, void *arg)
{
	size_t asks[4] = {3, 1, 2, 1};
	for (int victim = -1; victim < 4; victim++) {
		asup_task h[4];
		asup_outcome o;
		int done = 0;
		norder = 0;
		asup_semaphore_init(&sem, 3);
		CHECK_EQ(asup_semaphore_acquire(cx, &sem, 3), 0); /* all taken */
		for (int i = 0; i < 4; i++) {
			CHECK_EQ(asup_spawn(cx, takes, (void *)(uintptr_t)asks[i], NULL, &h[i]), 0);
			CHECK_EQ(asup_yield(cx), 0); /* i queues */
		}
		CHECK_EQ(asup_semaphore_try_acquire(&sem, 1), -EAGAIN); /* waiters first */
		if (victim >= 0)
			CHECK_EQ(asup_task_abort(&h[victim]), 0);
		/* give permits back one at a time: strict FIFO by request */
		for (int round = 0; round < 12 && done < 4; round++) {
			CHECK_EQ(asup_semaphore_release(&sem, 1), 0);
			CHECK_EQ(asup_yield(cx), 0);
			while (norder > done) {
				CHECK_EQ(asup_semaphore_release(&sem, (size_t)order_log[done]), 0);
				done++;
			}
			if (victim >= 0 && done == 3)
				break;
		}
		for (int i = 0; i < 4; i++) {
			CHECK_EQ(asup_join(cx, &h[i], &o), 0);
			CHECK_EQ(o.kind, i == victim ? ASUP_OUTCOME_CANCELLED : ASUP_OUTCOME_OK);
		}
		/* the grant order is the queue order, the victim skipped */
		for (int k = 0, i = 0; i < 4; i++) {
			if (i == victim)
				continue;
			CHECK_EQ(order_log[k], (int)asks[i]);
			k++;
		}
	}
	return 0;
}

TEST(semaphore_is_strictly_fifo_and_cancel_safe)
{
	run_real(semaphore_root);
}

static int64_t semaphore_misuse(asup_cx *cx, void *arg)
{
	asup_semaphore bad;
	asup_task h;
	asup_outcome o;
	memset(&bad, 0, sizeof bad);
	asup_semaphore_init(&sem, 2);
	CHECK_EQ(asup_semaphore_acquire(cx, &sem, 0), -EINVAL);
	CHECK_EQ(asup_semaphore_acquire(cx, &sem, 3), -EINVAL); /* never satisfiable */
	CHECK_EQ(asup_semaphore_acquire(cx, &bad, 1), -EINVAL);
	CHECK_EQ(asup_semaphore_acquire(cx, &sem, 2), 0);
	CHECK_EQ(asup_spawn(cx, takes, (void *)1, NULL, &h), 0);
	CHECK_EQ(asup_yield(cx), 0);
	CHECK_EQ(asup_semaphore_close(&sem), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.value, -EPIPE);
	CHECK_EQ(asup_semaphore_try_acquire(&sem, 1), -EPIPE);
	CHECK_EQ(asup_semaphore_available(&sem), 0);
	return 0;
}

TEST(semaphore_misuse_and_close)
{
	run_real(semaphore_misuse);
}
