/* Mutex (FIFO hand-off, cancel-safety, poisoning), notify, and the
 * semaphore (strict FIFO, cancel pass-on, permits as obligations). */
#include "sweep.h"

#include <sys/wait.h>

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

/* arg = id << 8 | n: takes n permits, logs id, holds them across a
 * suspension, releases them. */
static int64_t takes(asup_cx *cx, void *arg)
{
	size_t n = (size_t)((uintptr_t)arg & 0xff);
	asup_semaphore_permit p;
	int rc = asup_semaphore_acquire(cx, &sem, n, &p);
	if (rc < 0)
		return rc;
	order_log[norder++] = (int)((uintptr_t)arg >> 8);
	CHECK_EQ(asup_semaphore_permit_count(&p), n);
	CHECK_EQ(asup_yield(cx), 0);
	return asup_semaphore_permit_release(&p);
}

#define TAKES(id, n) ((void *)(uintptr_t)(((id) << 8) | (n)))

static int64_t semaphore_root(asup_cx *cx, void *arg)
{
	size_t asks[4] = {3, 1, 2, 1};
	uint64_t leaked = test_stats(arg).obligations_leaked;

	for (int victim = -1; victim < 4; victim++) {
		asup_semaphore_permit mine[3], extra;
		asup_task h[4];
		asup_outcome o;
		norder = 0;
		asup_semaphore_init(&sem, 3);
		for (int j = 0; j < 3; j++)
			CHECK_EQ(asup_semaphore_try_acquire(cx, &sem, 1, &mine[j]), 0);
		for (int i = 0; i < 4; i++) {
			CHECK_EQ(asup_spawn(cx, takes, TAKES(i, asks[i]), NULL, &h[i]), 0);
			CHECK_EQ(asup_yield(cx), 0); /* i queues */
		}
		CHECK_EQ(asup_semaphore_permit_release(&mine[0]), 0);
		CHECK_EQ(asup_semaphore_available(&sem), 1); /* the head wants 3 */
		CHECK_EQ(asup_semaphore_try_acquire(cx, &sem, 1, &extra), -EAGAIN); /* waiters first */
		if (victim >= 0)
			CHECK_EQ(asup_task_abort(&h[victim]), 0);
		for (int j = 1; j < 3; j++) {
			CHECK_EQ(asup_semaphore_permit_release(&mine[j]), 0);
			CHECK_EQ(asup_yield(cx), 0);
		}
		for (int i = 0; i < 4; i++) {
			CHECK_EQ(asup_join(cx, &h[i], &o), 0);
			CHECK_EQ(o.kind, i == victim ? ASUP_OUTCOME_CANCELLED : ASUP_OUTCOME_OK);
		}
		/* the grant order is the queue order, the victim skipped */
		CHECK_EQ(norder, victim >= 0 ? 3 : 4);
		for (int n = 0, i = 0; i < 4; i++) {
			if (i == victim)
				continue;
			CHECK_EQ(order_log[n], i);
			n++;
		}
		CHECK_EQ(asup_semaphore_available(&sem), 3); /* nothing lost */
	}
	CHECK_EQ(test_stats(arg).obligations_leaked, leaked);
	return 0;
}

TEST(semaphore_is_strictly_fifo_and_a_cancel_at_any_position_holds_nothing)
{
	run_real(semaphore_root);
}

static int64_t grant_then_cancel_root(asup_cx *cx, void *arg)
{
	asup_semaphore_permit mine;
	asup_task a, b;
	asup_outcome o;
	norder = 0;
	asup_semaphore_init(&sem, 1);
	CHECK_EQ(asup_semaphore_acquire(cx, &sem, 1, &mine), 0);
	CHECK_EQ(asup_spawn(cx, takes, TAKES(1, 1), NULL, &a), 0);
	CHECK_EQ(asup_spawn(cx, takes, TAKES(2, 1), NULL, &b), 0);
	CHECK_EQ(asup_yield(cx), 0); /* both queue, a first */
	CHECK_EQ(asup_semaphore_permit_release(&mine), 0); /* granted to a ... */
	CHECK_EQ(asup_semaphore_available(&sem), 0);
	CHECK_EQ(asup_task_abort(&a), 0); /* ... cancelled before it ran */
	CHECK_EQ(asup_join(cx, &a, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(asup_join(cx, &b, &o), 0); /* a passed it on */
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(norder, 1);
	CHECK_EQ(order_log[0], 2);
	CHECK_EQ(asup_semaphore_available(&sem), 1);
	return 0;
}

TEST(semaphore_grant_to_a_cancelled_waiter_passes_on)
{
	run_real(grant_then_cancel_root);
}

/* Acquires arg permits, suspends once, and returns holding them. */
static int64_t keeps_permit(asup_cx *cx, void *arg)
{
	asup_semaphore_permit p;
	int rc = asup_semaphore_acquire(cx, &sem, (size_t)(uintptr_t)arg, &p);
	if (rc < 0)
		return rc;
	rc = asup_yield(cx);
	return rc < 0 ? rc : 7; /* without releasing: a leak */
}

static asup_notify go;

/* Acquires one permit and waits on `go` holding it. */
static int64_t holds_until_told(asup_cx *cx, void *arg)
{
	asup_semaphore_permit p;
	int rc = asup_semaphore_acquire(cx, &sem, 1, &p);
	if (rc < 0)
		return rc;
	rc = asup_notify_wait(cx, &go);
	if (rc < 0)
		return rc; /* cancelled holding it: aborted, not a leak */
	return asup_semaphore_permit_release(&p);
}

static int64_t leak_root(asup_cx *cx, void *arg)
{
	uint64_t leaked = test_stats(arg).obligations_leaked, aborted = test_stats(arg).obligations_aborted;
	asup_task h, w;
	asup_outcome o;

	norder = 0;
	asup_semaphore_init(&sem, 2);
	asup_notify_init(&go);
	/* Ends holding 2 while a waiter for 2 queues: the hook hands them on. */
	CHECK_EQ(asup_spawn(cx, keeps_permit, (void *)2, NULL, &h), 0);
	CHECK_EQ(asup_yield(cx), 0);
	CHECK_EQ(asup_semaphore_available(&sem), 0);
	CHECK_EQ(asup_spawn(cx, takes, TAKES(5, 2), NULL, &w), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(test_stats(arg).obligations_leaked, leaked + 1); /* reported as a leak */
	CHECK_EQ(asup_join(cx, &w, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(norder, 1);
	CHECK_EQ(asup_semaphore_available(&sem), 2); /* all came back */
	/* A cancelled holder: aborted, not a leak, permits back. */
	CHECK_EQ(asup_spawn(cx, holds_until_told, NULL, NULL, &h), 0);
	CHECK_EQ(asup_yield(cx), 0);
	CHECK_EQ(asup_semaphore_available(&sem), 1);
	CHECK_EQ(asup_task_abort(&h), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(test_stats(arg).obligations_leaked, leaked + 1);
	CHECK_EQ(test_stats(arg).obligations_aborted, aborted + 1);
	CHECK_EQ(asup_semaphore_available(&sem), 2);
	return 0;
}

TEST(semaphore_permit_kept_by_an_ending_task_leaks_and_its_permits_come_back)
{
	run_real(leak_root);
}

static int64_t recover_root(asup_cx *cx, void *arg)
{
	uint64_t leaks = test_stats(arg).leaks_detected, leaked = test_stats(arg).obligations_leaked, aborted = test_stats(arg).obligations_aborted;
	asup_task h;
	asup_semaphore_init(&sem, 3);
	CHECK_EQ(asup_spawn(cx, keeps_permit, (void *)3, NULL, &h), 0);
	CHECK_EQ(asup_join(cx, &h, NULL), 0);
	CHECK_EQ(test_stats(arg).leaks_detected, leaks + 1);          /* seen as a leak ... */
	CHECK_EQ(test_stats(arg).obligations_leaked, leaked);        /* ... and recovered: */
	CHECK_EQ(test_stats(arg).obligations_aborted, aborted + 1);  /* aborted with reason Error */
	CHECK_EQ(asup_semaphore_available(&sem), 3);
	return 0;
}

TEST(semaphore_leak_response_recover_aborts_the_permit)
{
	run_on(rt_with(ASUP_MODE_REAL, 0, ASUP_LEAK_RECOVER), recover_root);
}

TEST(semaphore_leak_response_panic_aborts_the_process)
{
	pid_t pid = fork();
	int st = 0;
	CHECK(pid >= 0);
	if (pid == 0) {
		/* The child must die in the leak handling, never get here. */
		asup_rt *rt = rt_with(ASUP_MODE_REAL, 0, ASUP_LEAK_PANIC);
		asup_outcome o;
		asup_semaphore_init(&sem, 1);
		if (asup_rt_run(rt, keeps_permit, (void *)1, &o) == 0)
			_exit(3);
		_exit(4);
	}
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFSIGNALED(st));
	CHECK_EQ(WTERMSIG(st), SIGABRT);
}

/* A permit keeps its region open; a task of a closing region gets
 * -ASUP_ECLOSED and nothing is taken. */
static uint64_t region_id;
static int late_rc;

static int64_t late_acquirer(asup_cx *cx, void *arg)
{
	asup_semaphore_permit p;
	for (int i = 0; i < 3; i++)
		CHECK_EQ(asup_yield(cx), 0); /* the body has returned by now */
	late_rc = asup_semaphore_acquire(cx, &sem, 1, &p);
	CHECK_EQ(asup_semaphore_permit_count(&p), 0);
	return 0;
}

static int64_t region_body(asup_cx *cx, void *arg)
{
	asup_task w, late;
	region_id = asup_scope_region_id(cx);
	CHECK_EQ(asup_spawn(cx, holds_until_told, NULL, NULL, &w), 0);
	CHECK_EQ(asup_spawn(cx, late_acquirer, NULL, NULL, &late), 0);
	CHECK_EQ(asup_yield(cx), 0); /* w holds its permit */
	CHECK_EQ(asup_task_release(&w), 0);
	CHECK_EQ(asup_task_release(&late), 0);
	return 0; /* the region closes without joining them */
}

static int64_t runs_region(asup_cx *cx, void *arg)
{
	asup_outcome o;
	CHECK_EQ(asup_region(cx, region_body, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	return 0;
}

static int64_t region_root(asup_cx *cx, void *arg)
{
	asup__kernel *k = asup__rt_kernel(arg);
	asup__region *r;
	asup_task t;
	asup_outcome o;
	late_rc = 1;
	asup_semaphore_init(&sem, 2);
	asup_notify_init(&go);
	CHECK_EQ(asup_spawn(cx, runs_region, NULL, NULL, &t), 0);
	for (int i = 0; i < 10; i++)
		CHECK_EQ(asup_yield(cx), 0);
	CHECK_EQ(late_rc, -ASUP_ECLOSED);
	CHECK_EQ(asup_semaphore_available(&sem), 1); /* only w's permit is out */
	r = asup__region_lookup(k, region_id);
	CHECK(r != NULL);
	CHECK(r->state != ASUP__R_OPEN && r->state != ASUP__R_CLOSED);
	CHECK_EQ(r->pending_obligations, 1);
	CHECK_EQ(asup_task_is_finished(&t), 0); /* the region waits */
	CHECK_EQ(asup_notify_one(&go), 1);      /* w releases and ends */
	CHECK_EQ(asup_join(cx, &t, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK(asup__region_lookup(k, region_id) == NULL); /* closed */
	CHECK_EQ(asup_semaphore_available(&sem), 2);
	return 0;
}

TEST(semaphore_permit_keeps_its_region_open_until_released)
{
	run_real(region_root);
}

static int64_t semaphore_misuse(asup_cx *cx, void *arg)
{
	asup_semaphore bad;
	asup_semaphore_permit p, copy, empty;
	asup_task h;
	asup_outcome o;
	memset(&bad, 0, sizeof bad);
	memset(&empty, 0, sizeof empty);
	asup_semaphore_init(&sem, 2);
	CHECK_EQ(asup_semaphore_acquire(cx, &sem, 0, &p), -EINVAL);
	CHECK_EQ(asup_semaphore_acquire(cx, &sem, 3, &p), -EINVAL); /* never satisfiable */
	CHECK_EQ(asup_semaphore_acquire(cx, &bad, 1, &p), -EINVAL);
	CHECK_EQ(asup_semaphore_acquire(cx, NULL, 1, &p), -EINVAL);
	CHECK_EQ(asup_semaphore_acquire(cx, &sem, 1, NULL), -EINVAL);
	CHECK_EQ(asup_semaphore_acquire(NULL, &sem, 1, &p), -ASUP_ENOTASK);
	CHECK_EQ(asup_semaphore_try_acquire(cx, &bad, 1, &p), -EINVAL);
	CHECK_EQ(asup_semaphore_permit_release(&p), -EINVAL); /* emptied by the failure */
	CHECK_EQ(asup_semaphore_permit_release(&empty), -EINVAL);
	CHECK_EQ(asup_semaphore_permit_release(NULL), -EINVAL);
	CHECK_EQ(asup_semaphore_permit_count(NULL), 0);
	CHECK_EQ(asup_semaphore_add_permits(&bad, 1), -EINVAL);
	/* double release, and a release through a stale copy */
	CHECK_EQ(asup_semaphore_acquire(cx, &sem, 1, &p), 0);
	copy = p;
	CHECK_EQ(asup_semaphore_permit_release(&p), 0);
	CHECK_EQ(asup_semaphore_permit_release(&p), -ASUP_EALREADY);
	CHECK_EQ(asup_semaphore_permit_release(&copy), -ASUP_EALREADY);
	CHECK_EQ(asup_semaphore_available(&sem), 2); /* given back once */
	/* add_permits raises the total; close wakes waiters with -EPIPE */
	CHECK_EQ(asup_semaphore_add_permits(&sem, 1), 0);
	CHECK_EQ(asup_semaphore_acquire(cx, &sem, 3, &p), 0);
	CHECK_EQ(asup_spawn(cx, takes, TAKES(0, 1), NULL, &h), 0);
	CHECK_EQ(asup_yield(cx), 0);
	CHECK_EQ(asup_semaphore_close(&sem), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.value, -EPIPE);
	CHECK_EQ(asup_semaphore_try_acquire(cx, &sem, 1, &copy), -EPIPE);
	CHECK_EQ(asup_semaphore_permit_release(&p), 0); /* still valid after close */
	CHECK_EQ(asup_semaphore_available(&sem), 3);
	CHECK_EQ(asup_semaphore_available(&bad), 0);
	return 0;
}

TEST(semaphore_misuse_double_release_and_close_have_clear_codes)
{
	run_real(semaphore_misuse);
}

/* Random sizes, holds across suspensions, random aborts: never more than
 * the capacity out, nothing lost, no stall. */
#define SEM_CAP 4
#define SEM_TASKS 8
static int in_use;

static int64_t sem_user(asup_cx *cx, void *arg)
{
	for (int round = 0; round < 5; round++) {
		asup_semaphore_permit p;
		size_t n = 1 + (size_t)draw(cx, 3);
		int rc = asup_semaphore_acquire(cx, &sem, n, &p);
		if (rc < 0)
			return rc;
		in_use += (int)n;
		CHECK(in_use <= SEM_CAP);
		for (uint64_t y = draw(cx, 3); y > 0; y--) {
			if ((rc = asup_yield(cx)) < 0) {
				in_use -= (int)n;
				return rc; /* cancelled holding it: the kernel aborts it */
			}
		}
		in_use -= (int)n;
		CHECK_EQ(asup_semaphore_permit_release(&p), 0);
	}
	return 0;
}

static int64_t sem_sweep_root(asup_cx *cx, void *arg)
{
	asup_task h[SEM_TASKS];
	in_use = 0;
	asup_semaphore_init(&sem, SEM_CAP);
	for (int i = 0; i < SEM_TASKS; i++)
		CHECK_EQ(asup_spawn(cx, sem_user, NULL, NULL, &h[i]), 0);
	for (int c = 0; c < 2; c++) {
		for (uint64_t y = draw(cx, 8); y > 0; y--)
			CHECK_EQ(asup_yield(cx), 0);
		CHECK_EQ(asup_task_abort(&h[draw(cx, SEM_TASKS)]), 0);
	}
	for (int i = 0; i < SEM_TASKS; i++)
		CHECK_EQ(asup_join(cx, &h[i], NULL), 0);
	CHECK_EQ(in_use, 0);
	CHECK_EQ(asup_semaphore_available(&sem), SEM_CAP);
	CHECK_EQ(test_stats(arg).obligations_leaked, 0);
	return 0;
}

TEST(semaphore_seed_sweep_never_over_grants_and_loses_nothing)
{
	sweep(sem_sweep_root);
}

/* Allocation failure injection: < 0 never fails; n >= 0 lets n more
 * allocations succeed, then fails every one. */
static int fail_allocs = -1;

static void *maybe_alloc(void *ud, size_t size)
{
	if (fail_allocs == 0)
		return NULL;
	if (fail_allocs > 0)
		fail_allocs--;
	return malloc(size);
}

static void plain_free(void *ud, void *p, size_t size)
{
	free(p);
}

static int64_t oom_root(asup_cx *cx, void *arg)
{
	asup_semaphore_permit p;
	asup_task h;
	asup_outcome o;
	asup_semaphore_init(&sem, 2);
	for (int after = 0; after < 2; after++) {
		/* 0: the permit's record fails; 1: its obligation fails */
		fail_allocs = after;
		CHECK_EQ(asup_semaphore_acquire(cx, &sem, 2, &p), -ENOMEM);
		CHECK_EQ(asup_semaphore_try_acquire(cx, &sem, 1, &p), -ENOMEM);
		fail_allocs = -1;
		CHECK_EQ(asup_semaphore_available(&sem), 2); /* nothing taken */
		CHECK_EQ(asup_semaphore_permit_release(&p), -EINVAL);
	}
	/* A waiter granted its permits whose obligation then fails passes them
	 * on: the next waiter is not stalled. */
	CHECK_EQ(asup_semaphore_acquire(cx, &sem, 2, &p), 0);
	CHECK_EQ(asup_spawn(cx, takes, TAKES(0, 2), NULL, &h), 0);
	CHECK_EQ(asup_yield(cx), 0); /* queued with its record */
	fail_allocs = 0;
	CHECK_EQ(asup_semaphore_permit_release(&p), 0); /* granted to it */
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	fail_allocs = -1;
	CHECK_EQ(o.value, -ENOMEM);
	CHECK_EQ(asup_semaphore_available(&sem), 2);
	CHECK_EQ(test_stats(arg).obligations_leaked, 0);
	return 0;
}

TEST(semaphore_out_of_memory_takes_nothing_and_passes_permits_on)
{
	asup_rt_config cfg;
	asup_rt_config_init(&cfg);
	cfg.alloc.alloc = maybe_alloc;
	cfg.alloc.free = plain_free;
	cfg.leak_response = ASUP_LEAK_SILENT;
	run_on(test_rt_cfg(&cfg), oom_root);
}
