/*
 * A pool hook for the file and name-resolution tests: holds the next pool
 * job of a given kind until the test releases it, so that a cancel can be
 * delivered while the job is in flight, deterministically.
 */
#ifndef ASUP_IO_POOLTEST_H
#define ASUP_IO_POOLTEST_H

#include <stdatomic.h>
#include <time.h>

#include "iotest.h"
#include "io/pool_op.h"


static atomic_int hold_kind, held, released;

static void hold_hook(int kind)
{
	struct timespec ts = {0, 200000};

	if (kind != atomic_load(&hold_kind) || atomic_exchange(&held, 1))
		return;
	while (!atomic_load(&released))
		nanosleep(&ts, NULL);
}

static inline void hold_arm(int kind)
{
	atomic_store(&hold_kind, kind);
	atomic_store(&held, 0);
	atomic_store(&released, 0);
	atomic_store(&asup__io_pool_hook, hold_hook);
}

static inline void hold_disarm(void)
{
	atomic_store(&released, 1);
	atomic_store(&asup__io_pool_hook, (asup__pool_hook_fn)NULL);
}

/* Sleeps (virtual or real) until the held job started; bounded. */
static inline void hold_wait_started(asup_cx *cx)
{
	for (int i = 0; i < 10000 && !atomic_load(&held); i++)
		CHECK_EQ(asup_sleep(cx, 1000000), 0);
	CHECK_EQ(atomic_load(&held), 1);
}

#endif
