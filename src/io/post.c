/*
 * Ways in from other threads (asupersync/post.h): the inbox and the
 * cross-thread channel.
 *
 * Owns: the objects, on the heap (not in region memory) with a reference
 * count, so that a foreign thread that still holds one never reaches freed
 * memory; the region holds one reference and drops it in its finalizer,
 * after closing the object. Each object has a mutex for its queue and an
 * eventfd that foreign threads write after queueing; the receiving task
 * waits for that eventfd with asup_fd_wait, so the reactor's own wait is
 * what wakes an idle runtime. The eventfd is closed only when the last
 * reference goes, so a late write never reaches a reused fd number.
 */
#define _GNU_SOURCE
#include "asupersync/post.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "asupersync/net.h"
#include "asupersync/region.h"
#include "io_rt.h"
#include "pool_op.h"

static void wake_fd(int fd)
{
	uint64_t one = 1;

	/* Fails only when the counter is about to overflow: still readable. */
	if (write(fd, &one, sizeof(one)) < 0) {
	}
}

static void drain_fd(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0) {
		/* EAGAIN: another wake was already consumed. */
	}
}

/* The checks of every task-side call (ASUP_CAP_IO, real mode). */
static int enter(asup_cx *cx)
{
	asup__reactor *r;

	return asup__io_reactor(cx, &r);
}

/* ---- inbox ------------------------------------------------------------------ */

struct post_node {
	asup_task_fn fn;
	void *arg;
	struct post_node *next;
};

struct asup_inbox {
	_Atomic int refs;
	_Atomic int closed;
	_Atomic int notified;
	int evfd;
	int serving;
	pthread_mutex_t mu;
	struct post_node *head, *tail;
	void (*drop)(void *arg);
	uint64_t region;
};

ASUP_API void asup_inbox_retain(asup_inbox *ib)
{
	if (ib)
		atomic_fetch_add(&ib->refs, 1);
}

ASUP_API void asup_inbox_release(asup_inbox *ib)
{
	if (!ib || atomic_fetch_sub(&ib->refs, 1) != 1)
		return;
	close(ib->evfd);
	pthread_mutex_destroy(&ib->mu);
	free(ib);
}

static struct post_node *inbox_take(asup_inbox *ib)
{
	struct post_node *list;

	pthread_mutex_lock(&ib->mu);
	list = ib->head;
	ib->head = ib->tail = NULL;
	pthread_mutex_unlock(&ib->mu);
	return list;
}

static void inbox_drop_list(asup_inbox *ib, struct post_node *n)
{
	while (n) {
		struct post_node *next = n->next;
		if (ib->drop)
			ib->drop(n->arg);
		free(n);
		n = next;
	}
}

static int inbox_shut(asup_inbox *ib)
{
	pthread_mutex_lock(&ib->mu);
	if (atomic_load(&ib->closed)) {
		pthread_mutex_unlock(&ib->mu);
		return -ASUP_ECLOSED;
	}
	atomic_store(&ib->closed, 1);
	pthread_mutex_unlock(&ib->mu);
	inbox_drop_list(ib, inbox_take(ib));
	wake_fd(ib->evfd);
	return 0;
}

static void inbox_finalize(void *arg)
{
	asup_inbox *ib = arg;

	inbox_shut(ib);
	asup_inbox_release(ib);
}

ASUP_API int asup_inbox_open(asup_cx *cx, void (*drop)(void *arg), asup_inbox **out)
{
	asup_inbox *ib;
	int rc = enter(cx);

	if (rc < 0)
		return rc;
	if (!out)
		return -EINVAL;
	ib = calloc(1, sizeof(*ib));
	if (!ib)
		return -ENOMEM;
	ib->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ib->evfd < 0) {
		rc = -errno;
		free(ib);
		return rc;
	}
	pthread_mutex_init(&ib->mu, NULL);
	ib->drop = drop;
	ib->region = asup_scope_region_id(cx);
	atomic_store(&ib->refs, 2); /* the region's and the caller's */
	rc = asup_defer(cx, inbox_finalize, ib);
	if (rc < 0) {
		atomic_store(&ib->refs, 1);
		asup_inbox_release(ib);
		return rc;
	}
	*out = ib;
	return 0;
}

ASUP_API int asup_inbox_post(asup_inbox *ib, asup_task_fn fn, void *arg)
{
	struct post_node *n;

	if (!ib || !fn)
		return -EINVAL;
	n = malloc(sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->fn = fn;
	n->arg = arg;
	n->next = NULL;
	pthread_mutex_lock(&ib->mu);
	if (atomic_load(&ib->closed)) {
		pthread_mutex_unlock(&ib->mu);
		free(n);
		return -ASUP_ECLOSED;
	}
	if (ib->tail)
		ib->tail->next = n;
	else
		ib->head = n;
	ib->tail = n;
	pthread_mutex_unlock(&ib->mu);
	wake_fd(ib->evfd);
	return 0;
}

ASUP_API int asup_inbox_notify(asup_inbox *ib)
{
	if (!ib)
		return -EINVAL;
	if (atomic_load(&ib->closed))
		return -ASUP_ECLOSED;
	atomic_store(&ib->notified, 1);
	wake_fd(ib->evfd);
	return 0;
}

/* Spawns every posted function, in order; one that cannot be spawned is
 * dropped like the posts of a closed inbox. */
static void inbox_run_list(asup_cx *cx, asup_inbox *ib, struct post_node *n)
{
	while (n) {
		struct post_node *next = n->next;
		asup_task h;
		if (asup_spawn(cx, n->fn, n->arg, NULL, &h) == 0)
			asup_task_release(&h);
		else if (ib->drop)
			ib->drop(n->arg);
		free(n);
		n = next;
	}
}

ASUP_API int asup_inbox_serve(asup_cx *cx, asup_inbox *ib,
			      void (*on_notify)(asup_cx *cx, void *arg), void *notify_arg)
{
	int rc = enter(cx);

	if (rc < 0)
		return rc;
	if (!ib)
		return -EINVAL;
	if (atomic_load(&ib->closed))
		return -ASUP_ECLOSED;
	if (ib->serving)
		return -EBUSY;
	/* The server may belong to an enclosing region and outlive the
	 * inbox's: its own reference keeps the memory and the eventfd until it
	 * has seen the close. */
	asup_inbox_retain(ib);
	ib->serving = 1;
	for (;;) {
		inbox_run_list(cx, ib, inbox_take(ib));
		if (atomic_exchange(&ib->notified, 0) && on_notify)
			on_notify(cx, notify_arg);
		if (atomic_load(&ib->closed)) {
			rc = 0;
			break;
		}
		rc = asup_fd_wait(cx, ib->evfd, ASUP_IO_READABLE);
		if (rc < 0)
			break;
		drain_fd(ib->evfd);
	}
	ib->serving = 0;
	asup_inbox_release(ib);
	return rc;
}

ASUP_API int asup_inbox_close(asup_cx *cx, asup_inbox *ib)
{
	int rc = enter(cx);

	if (rc < 0)
		return rc;
	if (!ib)
		return -EINVAL;
	return inbox_shut(ib);
}

/* ---- cross-thread channel -------------------------------------------------- */

struct asup_xchan {
	_Atomic int refs;
	const asup__kernel *k; /* the owning runtime: its thread must never wait here */
	int closed;
	int evfd;
	int receiving;
	pthread_mutex_t mu;
	pthread_cond_t not_full;
	uint64_t *buf;
	uint32_t cap, head, count;
};

ASUP_API void asup_xchan_retain(asup_xchan *ch)
{
	if (ch)
		atomic_fetch_add(&ch->refs, 1);
}

ASUP_API void asup_xchan_release(asup_xchan *ch)
{
	if (!ch || atomic_fetch_sub(&ch->refs, 1) != 1)
		return;
	close(ch->evfd);
	pthread_cond_destroy(&ch->not_full);
	pthread_mutex_destroy(&ch->mu);
	free(ch->buf);
	free(ch);
}

static int xchan_shut(asup_xchan *ch)
{
	pthread_mutex_lock(&ch->mu);
	if (ch->closed) {
		pthread_mutex_unlock(&ch->mu);
		return -ASUP_ECLOSED;
	}
	ch->closed = 1;
	pthread_cond_broadcast(&ch->not_full);
	pthread_mutex_unlock(&ch->mu);
	wake_fd(ch->evfd);
	return 0;
}

/* The region closed: the channel is shut and, as post.h promises, what was
 * queued but never received is dropped, so a receive from now on reports
 * the end at once instead of handing out values of a closed region. */
static void xchan_finalize(void *arg)
{
	asup_xchan *ch = arg;

	(void)xchan_shut(ch);
	pthread_mutex_lock(&ch->mu);
	ch->count = 0;
	pthread_mutex_unlock(&ch->mu);
	asup_xchan_release(ch);
}

ASUP_API int asup_xchan_open(asup_cx *cx, uint32_t capacity, asup_xchan **out)
{
	asup_xchan *ch;
	int rc = enter(cx);

	if (rc < 0)
		return rc;
	if (!out || capacity == 0 || capacity > (1u << 20))
		return -EINVAL;
	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return -ENOMEM;
	ch->buf = malloc((size_t)capacity * sizeof(uint64_t));
	ch->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!ch->buf || ch->evfd < 0) {
		rc = ch->buf ? -errno : -ENOMEM;
		if (ch->evfd >= 0)
			close(ch->evfd);
		free(ch->buf);
		free(ch);
		return rc;
	}
	ch->cap = capacity;
	ch->k = cx->k;
	pthread_mutex_init(&ch->mu, NULL);
	pthread_cond_init(&ch->not_full, NULL);
	atomic_store(&ch->refs, 2);
	rc = asup_defer(cx, xchan_finalize, ch);
	if (rc < 0) {
		atomic_store(&ch->refs, 1);
		asup_xchan_release(ch);
		return rc;
	}
	*out = ch;
	return 0;
}

/* Under the lock: queues v if there is room. The thread that drives the
 * owning runtime never waits for room: only that runtime's receiver makes
 * room, and it cannot run while its own thread sleeps here, so the wait
 * would last for ever; it gets -EDEADLK instead. */
static int xchan_push(asup_xchan *ch, uint64_t v, int wait)
{
	if (wait && !ch->closed && ch->count == ch->cap && asup__tls_kernel == ch->k)
		return -EDEADLK;
	while (!ch->closed && ch->count == ch->cap && wait)
		pthread_cond_wait(&ch->not_full, &ch->mu);
	if (ch->closed)
		return -ASUP_ECLOSED;
	if (ch->count == ch->cap)
		return -EAGAIN;
	ch->buf[(ch->head + ch->count) % ch->cap] = v;
	ch->count++;
	return 0;
}

static int xchan_send(asup_xchan *ch, uint64_t v, int wait)
{
	int rc;

	if (!ch)
		return -EINVAL;
	pthread_mutex_lock(&ch->mu);
	rc = xchan_push(ch, v, wait);
	pthread_mutex_unlock(&ch->mu);
	if (rc == 0)
		wake_fd(ch->evfd);
	return rc;
}

ASUP_API int asup_xchan_send(asup_xchan *ch, uint64_t v)
{
	return xchan_send(ch, v, 1);
}

ASUP_API int asup_xchan_try_send(asup_xchan *ch, uint64_t v)
{
	return xchan_send(ch, v, 0);
}

/* Takes a value if one is queued: 0, -EAGAIN (empty), -ASUP_ECLOSED. */
static int xchan_take(asup_xchan *ch, uint64_t *out)
{
	int rc = -EAGAIN;

	pthread_mutex_lock(&ch->mu);
	if (ch->count) {
		*out = ch->buf[ch->head];
		ch->head = (ch->head + 1) % ch->cap;
		ch->count--;
		pthread_cond_signal(&ch->not_full);
		rc = 0;
	} else if (ch->closed) {
		rc = -ASUP_ECLOSED;
	}
	pthread_mutex_unlock(&ch->mu);
	return rc;
}

ASUP_API int asup_xchan_recv(asup_cx *cx, asup_xchan *ch, uint64_t *out)
{
	int rc = enter(cx);

	if (rc < 0)
		return rc;
	if (!ch || !out)
		return -EINVAL;
	if (ch->receiving)
		return -EBUSY;
	rc = asup_checkpoint(cx);
	if (rc < 0)
		return rc;
	/* As for a server: a receiver of an enclosing region keeps the channel
	 * alive until it has seen the close its region's end makes. */
	asup_xchan_retain(ch);
	ch->receiving = 1;
	while ((rc = xchan_take(ch, out)) == -EAGAIN) {
		rc = asup_fd_wait(cx, ch->evfd, ASUP_IO_READABLE);
		if (rc < 0)
			break;
		drain_fd(ch->evfd);
	}
	ch->receiving = 0;
	asup_xchan_release(ch);
	return rc;
}

ASUP_API int asup_xchan_close(asup_cx *cx, asup_xchan *ch)
{
	int rc = enter(cx);

	if (rc < 0)
		return rc;
	if (!ch)
		return -EINVAL;
	return xchan_shut(ch);
}
