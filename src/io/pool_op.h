/*
 * Running a system call on the runtime's blocking pool from inside the
 * calling task, for the file and name-resolution calls (io.h).
 *
 * asup__pool_call parks the calling task, masked, until a pool thread ran
 * fn(arg): the call is never abandoned, so fn may use the caller's buffers.
 * Without a pool thread (none could be started) fn runs inline.
 *
 * asup__io_pool_hook, when set (tests only), is called on the pool thread
 * before each job's system call, with the job's kind; it lets a test hold a
 * job in flight deterministically.
 */
#ifndef ASUP_IO_POOL_OP_H
#define ASUP_IO_POOL_OP_H

#include <stdatomic.h>
#include <stdint.h>

#include "asupersync/cx.h"
#include "../kernel/kernel.h"

enum { ASUP__POOL_FILE = 1, ASUP__POOL_DNS = 2 };

typedef void (*asup__pool_hook_fn)(int kind);
extern _Atomic(asup__pool_hook_fn) asup__io_pool_hook;

/* Calls the hook if one is set (pool thread). */
static inline void asup__pool_hook_call(int kind)
{
	asup__pool_hook_fn h = atomic_load(&asup__io_pool_hook);

	if (h)
		h(kind);
}

/* Returns fn's result, or -ENOMEM (nothing ran). */
int64_t asup__pool_call(asup_cx *cx, int64_t (*fn)(void *arg), void *arg);

/* Reports a resource (`what`: "socket", "file", "signal watch") of region
 * `region` that the runtime closed on its owner's behalf, through the
 * runtime's report hook (RESOURCE_LEAK; net.c). */
void asup__io_report_leak(asup__kernel *k, uint64_t region, const char *what, int64_t fd,
			  const char *when);

#endif
