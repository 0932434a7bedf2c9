/*
 * The blocking pool: threads that run spawn_blocking jobs off the runtime
 * thread. Owns its threads, a job queue and a completion list, under one
 * mutex. Threads are started on demand up to `max` and stay until the
 * runtime is destroyed.
 *
 * Hand-off: submit (runtime thread) -> queue -> a pool thread runs fn, sets
 * job->done, moves it to the completion list and signals -> the runtime
 * thread drains completions and unparks each job's task.
 */
#ifndef ASUP_RT_BLOCKING_H
#define ASUP_RT_BLOCKING_H

#include <pthread.h>
#include <stdatomic.h>

#include "../kernel/kernel.h"

typedef struct asup__pool {
	pthread_mutex_t mu;
	pthread_cond_t work;        /* a job was queued, or shutdown */
	pthread_cond_t done;        /* a job completed (the runtime waits on it) */
	struct asup_blocking *head, *tail;      /* queued jobs */
	struct asup_blocking *completed;        /* finished, not yet drained */
	pthread_t *threads;
	uint32_t nthreads, max, idle;
	uint32_t outstanding;       /* submitted and not drained (runtime thread) */
	atomic_uint ncompleted;     /* length of `completed`, read without the lock */
	atomic_int wake_fd;         /* the reactor's eventfd once it exists (-1
	                               before): completions write it, since the
	                               idle runtime then waits in the reactor */
	int shutdown;
	int ready;                  /* mutex and conds initialised */
	asup__alloc alloc;
	asup__kernel *kernel;       /* gets every job back on the runtime thread */
} asup__pool;

int asup__pool_init(asup__pool *p, const asup__alloc *a, uint32_t max, asup__kernel *k);
/* Stops the threads after the jobs they are running (queued ones are left to
 * their discarded tasks). */
void asup__pool_destroy(asup__pool *p);
int asup__pool_submit(void *pool, struct asup_blocking *job);
/* Runtime thread: hands every completed job back to the kernel (which
 * unparks its task, or frees an abandoned one); returns how many. */
int asup__pool_drain(asup__pool *p);
/* Runtime thread, idle: waits until a job completes or the monotonic clock
 * reaches `until` (ASUP_TIME_MAX: no limit); base is the clock's origin. */
void asup__pool_wait(asup__pool *p, asup_time until, const struct timespec *base);

#endif
