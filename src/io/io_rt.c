/* The I/O layer's seam with the runtime object (see io_rt.h). */
#define _GNU_SOURCE
#include "io_rt.h"

#include <stddef.h>
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#include "../rt/rt_internal.h"
#include "simnet_int.h"

static asup_rt *rt_of(asup__kernel *k)
{
	/* The kernel is embedded in its runtime object. */
	return (asup_rt *)(void *)((char *)k - offsetof(struct asup_rt, kernel));
}

static int backend_kind(const asup_rt_config *cfg)
{
	if (cfg->io_backend == ASUP_IO_EPOLL)
		return ASUP__IO_EPOLL;
	if (cfg->io_backend == ASUP_IO_URING)
		return ASUP__IO_URING;
	/* Valgrind runs one thread at a time and keeps its lock while a
	 * thread waits in io_uring_enter, so whatever another thread must do
	 * for the runtime (a blocking-pool job such as a name lookup, a post)
	 * never happens: AUTO takes epoll there, whose wait valgrind sees. */
	if (RUNNING_ON_VALGRIND)
		return ASUP__IO_EPOLL;
	return asup__reactor_uring_available() ? ASUP__IO_URING : ASUP__IO_EPOLL;
}

int asup__io_reactor(asup_cx *cx, asup__reactor **out)
{
	asup__ktask *kt = asup__cx_self(cx);
	asup_rt *rt;
	int rc;

	if (!kt)
		return -ASUP_ENOTASK;
	if (!(kt->caps & ASUP_CAP_IO))
		return -EPERM;
	asup__k_effect(cx->k, kt, ASUP_CAP_IO);
	rt = rt_of(cx->k);
	if (rt->cfg.mode != ASUP_MODE_REAL)
		return -ASUP_ESIMONLY;
	if (rt->io.kind == ASUP__IO_NONE) {
		rc = asup__reactor_init(&rt->io, &rt->alloc, &rt->sched, backend_kind(&rt->cfg));
		if (rc < 0)
			return rc;
		/* From now on the blocking pool's completions wake the reactor. */
		atomic_store(&rt->pool.wake_fd, rt->io.wake_fd);
	}
	*out = &rt->io;
	return 0;
}

int asup__io_rt_check(const asup_rt_config *cfg)
{
	if (cfg->io_backend == ASUP_IO_URING && !asup__reactor_uring_available())
		return -ENOSYS;
	return 0;
}

int asup__io_is_sim(asup_cx *cx)
{
	return asup__cx_self(cx) && rt_of(cx->k)->cfg.mode != ASUP_MODE_REAL;
}

int asup__sim_get(asup_cx *cx, asup__simnet **out)
{
	asup__ktask *kt = asup__cx_self(cx);
	asup_rt *rt;
	int rc;

	if (!kt)
		return -ASUP_ENOTASK;
	if (!(kt->caps & ASUP_CAP_IO))
		return -EPERM;
	asup__k_effect(cx->k, kt, ASUP_CAP_IO);
	rt = rt_of(cx->k);
	if (rt->cfg.mode == ASUP_MODE_REAL)
		return -EINVAL; /* never: net.c dispatches only deterministic runtimes */
	if (!rt->sim) {
		rc = asup__simnet_create(&rt->sim, &rt->cfg.net, &rt->alloc, &rt->sched, &rt->tb,
					 &rt->kernel, rt->cfg.seed);
		if (rc < 0)
			return rc;
	}
	*out = rt->sim;
	return 0;
}

int asup__io_sim_check(asup_rt *rt)
{
	return asup__simnet_check(rt->sim);
}

asup__simnet *asup__simnet_of(asup_rt *rt)
{
	return rt ? rt->sim : NULL;
}

void asup__io_rt_destroy(asup_rt *rt)
{
	asup__simnet_destroy(rt->sim);
	rt->sim = NULL;
	atomic_store(&rt->pool.wake_fd, -1);
	asup__reactor_destroy(&rt->io);
}

int asup__io_idle(asup_rt *rt, asup_time next)
{
	asup__reactor *r = &rt->io;
	asup_time now;
	int64_t timeout;

	if (r->kind == ASUP__IO_NONE)
		return 0;
	if (!rt->pool.outstanding && !r->waiting && next == ASUP_TIME_MAX)
		return -EDEADLK;
	/* A completion that arrived before the pool saw our eventfd would not
	 * have written it: look before sleeping. */
	if (atomic_load(&rt->pool.ncompleted)) {
		asup__reactor_poll(r, 0);
		return 1;
	}
	if (next == ASUP_TIME_MAX) {
		timeout = -1;
	} else {
		now = asup__timebase_now(&rt->tb);
		timeout = next > now ? (int64_t)(next - now) : 0;
	}
	asup__reactor_poll(r, timeout);
	return 1;
}

void asup__io_tick(asup_rt *rt)
{
	if (rt->io.kind != ASUP__IO_NONE && rt->io.waiting)
		asup__reactor_poll(&rt->io, 0);
}

/* Internal: the backend a runtime's reactor uses (ASUP__IO_NONE before the
 * first I/O call), and how many completions it dropped as stale. Tests. */
int asup__io_backend_of(asup_rt *rt, uint64_t *stale)
{
	if (stale)
		*stale = rt->io.stale;
	return rt->io.kind;
}

/* Internal: waits the reactor still has in flight (tests: a cancelled wait
 * must leave none behind). */
uint32_t asup__io_waiting(asup_rt *rt)
{
	return rt->io.waiting;
}

/* Internal: how often the run loop polled the reactor (tests: an idle
 * runtime sleeps in it instead of spinning). */
uint64_t asup__io_polls(asup_rt *rt)
{
	return rt->io.polls;
}
