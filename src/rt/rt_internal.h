/*
 * The runtime object's layout, shared by the files of the rt layer (rt.c,
 * drive.c). Outside src/rt, only drive.h includes it, for its inline calls.
 */
#ifndef ASUP_RT_INTERNAL_H
#define ASUP_RT_INTERNAL_H

#include <stdatomic.h>

#include "asupersync/rt.h"
#include "../kernel/kernel.h"
#include "../time/time.h"
#include "blocking.h"
#include "../io/reactor.h"

struct asup_rt {
	asup_rt_config cfg;
	asup__alloc alloc;
	asup__sched sched;
	asup__kernel kernel;
	asup__timebase tb;
	asup__pool pool;
	asup__reactor io;           /* created at the first I/O call */
	struct asup__simnet *sim;   /* deterministic: the simulated network,
	                               created at the first socket call */
	atomic_int running;
	uint64_t steps;
	int driven;                 /* stepped through drive.h: asup_rt_run/step refuse */
};

/* Takes the runtime for the calling thread (-ASUP_EINTASK, -ASUP_ERUNNING)
 * and gives it back. */
int asup__rt_enter(asup_rt *rt);
void asup__rt_leave(asup_rt *rt);
asup__kernel *asup__rt_kernel(asup_rt *rt);
int asup__rt_check(asup_rt *rt);

#endif
