/*
 * The I/O layer's seam with the runtime object: where the reactor of a
 * task's runtime is found (created on first use), and the run loop's two
 * calls into it. Nothing here is public.
 */
#ifndef ASUP_IO_IO_RT_H
#define ASUP_IO_IO_RT_H

#include "asupersync/rt.h"
#include "reactor.h"

/* The reactor of cx's runtime, created on first use with the configured
 * backend. Checks, in order: -ASUP_ENOTASK, -EPERM (no ASUP_CAP_IO),
 * -ASUP_ESIMONLY (deterministic mode), then creation errors (-ENOSYS,
 * -ENOMEM, -errno). */
int asup__io_reactor(asup_cx *cx, asup__reactor **out);

/* asup_rt_create: -ENOSYS if the config asks for io_uring and it cannot be
 * had here (nothing is created before the first I/O call). */
int asup__io_rt_check(const asup_rt_config *cfg);
/* asup_rt_destroy, before the kernel: closes what is still attached. */
void asup__io_rt_destroy(asup_rt *rt);
/* The run loop is idle (no ready task), next is the next timer: waits in
 * the reactor until a completion, a blocking-pool completion or the timer.
 * 1 if it waited, 0 if no reactor exists (the caller idles as before),
 * -EDEADLK if nothing at all can wake the runtime. */
int asup__io_idle(asup_rt *rt, asup_time next);
/* The simulated network's invariants (0 when there is none). */
int asup__io_sim_check(asup_rt *rt);
/* The run loop is busy: dispatches completions without waiting, so that
 * I/O is not starved by tasks that keep yielding. */
void asup__io_tick(asup_rt *rt);

#endif
