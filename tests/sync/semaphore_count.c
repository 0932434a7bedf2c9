/*
 * The semaphore's count of permits in existence never wraps:
 * asup_semaphore_add_permits refuses to take it past SIZE_MAX and changes
 * nothing then; up to the limit it works.
 */
#include "testrt.h"

#include <errno.h>
#include <stdint.h>

static int64_t add_past_max(asup_cx *cx, void *arg)
{
	asup_semaphore sem;
	asup_semaphore_permit p;
	(void)arg;

	asup_semaphore_init(&sem, 3);
	CHECK_EQ(asup_semaphore_acquire(cx, &sem, 2, &p), 0);
	/* 3 exist (1 available, 2 held): SIZE_MAX - 3 more fit exactly */
	CHECK_EQ(asup_semaphore_add_permits(&sem, SIZE_MAX), -EINVAL);
	CHECK_EQ(asup_semaphore_add_permits(&sem, SIZE_MAX - 2), -EINVAL);
	CHECK_EQ(asup_semaphore_available(&sem), 1); /* nothing added */
	CHECK_EQ(asup_semaphore_add_permits(&sem, SIZE_MAX - 3), 0);
	CHECK_EQ(asup_semaphore_available(&sem), SIZE_MAX - 2);
	CHECK_EQ(asup_semaphore_add_permits(&sem, 1), -EINVAL);
	/* the held permits come back without wrapping */
	CHECK_EQ(asup_semaphore_permit_release(&p), 0);
	CHECK_EQ(asup_semaphore_available(&sem), SIZE_MAX);
	CHECK_EQ(asup_semaphore_add_permits(&sem, 1), -EINVAL);
	CHECK_EQ(asup_semaphore_available(&sem), SIZE_MAX);
	/* the whole count can be taken at once */
	CHECK_EQ(asup_semaphore_try_acquire(cx, &sem, SIZE_MAX, &p), 0);
	CHECK_EQ(asup_semaphore_available(&sem), 0);
	CHECK_EQ(asup_semaphore_permit_release(&p), 0);
	CHECK_EQ(asup_semaphore_add_permits(&sem, 0), 0);
	return 0;
}

TEST(add_permits_past_size_max_is_refused_and_changes_nothing)
{
	asup_rt *rt = test_rt(ASUP_MODE_DETERMINISTIC, 1);
	asup_outcome out;

	CHECK_EQ(asup_rt_run(rt, add_past_max, NULL, &out), 0);
	CHECK_EQ(out.kind, ASUP_OUTCOME_OK);
	test_rt_done(rt);
}

static int64_t grows_then_takes(asup_cx *cx, void *arg)
{
	asup_semaphore sem;
	asup_semaphore_permit a, b;
	(void)arg;

	/* added permits count toward the largest single acquire at once */
	asup_semaphore_init(&sem, 2);
	CHECK_EQ(asup_semaphore_acquire(cx, &sem, 2, &a), 0);
	CHECK_EQ(asup_semaphore_add_permits(&sem, 1), 0);
	CHECK_EQ(asup_semaphore_try_acquire(cx, &sem, 3, &b), -EAGAIN); /* not -EINVAL */
	CHECK_EQ(asup_semaphore_try_acquire(cx, &sem, 4, &b), -EINVAL);
	CHECK_EQ(asup_semaphore_permit_release(&a), 0);
	CHECK_EQ(asup_semaphore_try_acquire(cx, &sem, 3, &b), 0);
	CHECK_EQ(asup_semaphore_permit_release(&b), 0);
	return 0;
}

TEST(added_permits_raise_the_largest_acquire_at_once)
{
	asup_rt *rt = test_rt(ASUP_MODE_DETERMINISTIC, 1);
	asup_outcome out;

	CHECK_EQ(asup_rt_run(rt, grows_then_takes, NULL, &out), 0);
	CHECK_EQ(out.kind, ASUP_OUTCOME_OK);
	test_rt_done(rt);
}
