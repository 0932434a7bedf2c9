/* The blocking pool (see blocking.h). */
#define _GNU_SOURCE
#include "blocking.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int asup__pool_init(asup__pool *p, const asup__alloc *a, uint32_t max, asup__kernel *k)
{
	pthread_condattr_t ca;

	memset(p, 0, sizeof(*p));
	p->alloc = *a;
	p->kernel = k;
	p->max = max;
	if (pthread_mutex_init(&p->mu, NULL) != 0)
		return -ENOMEM;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (pthread_cond_init(&p->work, NULL) != 0 || pthread_cond_init(&p->done, &ca) != 0) {
		pthread_condattr_destroy(&ca);
		pthread_mutex_destroy(&p->mu);
		return -ENOMEM;
	}
	pthread_condattr_destroy(&ca);
	atomic_init(&p->ncompleted, 0);
	atomic_init(&p->wake_fd, -1);
	p->ready = 1;
	return 0;
}

static void wake_reactor(asup__pool *p)
{
	int fd = atomic_load(&p->wake_fd);
	uint64_t one = 1;

	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is saturated, a wake is pending anyway. */
	}
}

static void *worker(void *arg)
{
	asup__pool *p = arg;
	struct asup_blocking *job;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->head && !p->shutdown) {
			p->idle++;
			pthread_cond_wait(&p->work, &p->mu);
			p->idle--;
		}
		if (p->shutdown)
			break;
		job = p->head;
		p->head = job->next;
		if (!p->head)
			p->tail = NULL;
		pthread_mutex_unlock(&p->mu);
		job->result = job->fn(job, job->arg);
		pthread_mutex_lock(&p->mu);
		atomic_store(&job->done, 1);
		job->next = p->completed;
		p->completed = job;
		atomic_fetch_add(&p->ncompleted, 1);
		pthread_cond_signal(&p->done);
		wake_reactor(p);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int asup__pool_submit(void *pool, struct asup_blocking *job)
{
	asup__pool *p = pool;
	int rc = 0;

	pthread_mutex_lock(&p->mu);
	if (p->idle == 0 && p->nthreads < p->max) {
		if (!p->threads) {
			p->threads = asup__alloc_mem(&p->alloc, (size_t)p->max * sizeof(pthread_t));
			if (!p->threads)
				rc = -ENOMEM;
		}
		if (rc == 0 && pthread_create(&p->threads[p->nthreads], NULL, worker, p) == 0)
			p->nthreads++;
		else if (p->nthreads == 0)
			rc = -EAGAIN; /* no thread at all: the caller runs it inline */
	}
	if (rc == 0 || p->nthreads > 0) {
		rc = 0;
		job->next = NULL;
		if (p->tail)
			p->tail->next = job;
		else
			p->head = job;
		p->tail = job;
		p->outstanding++;
		pthread_cond_signal(&p->work);
	}
	pthread_mutex_unlock(&p->mu);
	return rc;
}

int asup__pool_drain(asup__pool *p)
{
	struct asup_blocking *list, *next;
	int n = 0;

	if (!p->ready || atomic_load_explicit(&p->ncompleted, memory_order_acquire) == 0)
		return 0;
	pthread_mutex_lock(&p->mu);
	list = p->completed;
	p->completed = NULL;
	atomic_store(&p->ncompleted, 0);
	pthread_mutex_unlock(&p->mu);
	for (; list; list = next) {
		next = list->next;
		p->outstanding--;
		asup__blocking_returned(p->kernel, list);
		n++;
	}
	return n;
}

void asup__pool_wait(asup__pool *p, asup_time until, const struct timespec *base)
{
	struct timespec ts = *base;
	uint64_t ns;

	pthread_mutex_lock(&p->mu);
	if (!p->completed) {
		if (until == ASUP_TIME_MAX) {
			pthread_cond_wait(&p->done, &p->mu);
		} else {
			ns = (uint64_t)ts.tv_nsec + until % 1000000000u;
			ts.tv_sec += (time_t)(until / 1000000000u + ns / 1000000000u);
			ts.tv_nsec = (long)(ns % 1000000000u);
			pthread_cond_timedwait(&p->done, &p->mu, &ts);
		}
	}
	pthread_mutex_unlock(&p->mu);
}

void asup__pool_destroy(asup__pool *p)
{
	if (!p->ready)
		return;
	pthread_mutex_lock(&p->mu);
	p->shutdown = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (uint32_t i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	/* Abandoned jobs belong to the pool now; the others to their tasks. */
	for (int pass = 0; pass < 2; pass++) {
		struct asup_blocking *j = pass ? p->head : p->completed, *next;
		for (; j; j = next) {
			next = j->next;
			if (j->abandoned)
				asup__free_mem(&p->alloc, j, sizeof(*j));
		}
	}
	asup__free_mem(&p->alloc, p->threads, (size_t)p->max * sizeof(pthread_t));
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done);
	pthread_mutex_destroy(&p->mu);
	p->ready = 0;
}
