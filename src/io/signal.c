/*
 * Signals (asupersync/io.h): signal watches a task can wait on, and
 * asup_rt_run_main's graceful shutdown.
 *
 * A signal's disposition is process-wide, so this is the one place of the
 * I/O layer with process-global state: per signal a delivery count and a
 * reference count of the watches that caught it (with the disposition to
 * restore when the last one closes), and a table of the watches' eventfds.
 * The handler only does async-signal-safe things: it bumps the count and
 * writes every registered eventfd; a watch waits for its eventfd with the
 * reactor (asup_fd_wait) and compares counts. The handler, not signalfd, so
 * that a signal reaching any thread of the process (a blocking-pool thread,
 * a thread of the application) is seen: signalfd only sees signals blocked
 * in every thread, which a library cannot arrange.
 */
#define _GNU_SOURCE
#include "asupersync/io.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "asupersync/net.h"
#include "asupersync/region.h"
#include "asupersync/time.h"
#include "../kernel/kernel.h"
#include "../kernel/reason.h"
#include "io_rt.h"
#include "pool_op.h"

#define SIG_LIMIT 65
#define WATCH_SLOTS 64
#define WATCH_MAGIC 0x7369676eu /* "sign" */

static _Atomic unsigned long sig_count[SIG_LIMIT];
static _Atomic int watch_fd[WATCH_SLOTS];   /* eventfd + 1; 0: free */
static _Atomic int in_handler;             /* handlers running now */
static _Atomic int main_armed;             /* run_main is shutting down:
                                              the next SIGINT/SIGTERM ends
                                              the process */
static pthread_mutex_t install_mu = PTHREAD_MUTEX_INITIALIZER;
static int sig_refs[SIG_LIMIT];
static struct sigaction sig_old[SIG_LIMIT];

struct watch {
	uint32_t magic;
	int slot;         /* in watch_fd, -1 once closed */
	int evfd;
	struct wfd *wfd;  /* the eventfd's lifetime, shared with its waiters */
	int n;
	int sigs[ASUP_SIGNAL_WATCH_MAX];
	unsigned long seen[ASUP_SIGNAL_WATCH_MAX];
	uint64_t region;
	asup__kernel *k;  /* where its reports go */
};

/* A watch's eventfd outlives the watch while tasks wait on it in the
 * reactor: closing it under a waiter would drop it from epoll unwoken (and
 * free the number under the wait), and the watch itself is region memory,
 * gone when its region closes while a task of an enclosing region still
 * waits. So the fd has its own small, reference-counted record: one
 * reference for the watch, one per waiter; the last one closes the fd.
 * Runtime thread only. */
struct wfd {
	int fd;
	int refs;
};

static void wfd_put(struct wfd *f)
{
	if (--f->refs == 0) {
		close(f->fd);
		free(f);
	}
}

static void on_signal(int signo)
{
	int saved = errno;
	uint64_t one = 1;

	atomic_fetch_add(&in_handler, 1);
	if (signo > 0 && signo < SIG_LIMIT)
		atomic_fetch_add(&sig_count[signo], 1);
	if ((signo == SIGINT || signo == SIGTERM) && atomic_load(&main_armed))
		_exit(128 + signo);
	for (int i = 0; i < WATCH_SLOTS; i++) {
		int fd = atomic_load(&watch_fd[i]) - 1;
		if (fd >= 0 && write(fd, &one, sizeof(one)) < 0) {
			/* A full counter still wakes its reader. */
		}
	}
	atomic_fetch_sub(&in_handler, 1);
	errno = saved;
}

static int valid_signal(int s)
{
	return s > 0 && s < SIG_LIMIT && s != SIGKILL && s != SIGSTOP && s != SIGSEGV &&
	       s != SIGBUS && s != SIGILL && s != SIGFPE;
}

/* Catches sig (first watch) or adds a reference. Under install_mu. */
static int catch_signal(int sig)
{
	struct sigaction sa;

	if (sig_refs[sig]++ > 0)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, &sig_old[sig]) < 0) {
		sig_refs[sig]--;
		return -errno;
	}
	return 0;
}

/* Drops a reference; the last one restores the old disposition. */
static void release_signal(int sig)
{
	if (--sig_refs[sig] == 0)
		sigaction(sig, &sig_old[sig], NULL);
}

static void watch_shut(struct watch *w)
{
	if (w->slot < 0)
		return;
	atomic_store(&watch_fd[w->slot], 0);
	/* A handler on another thread may have read the fd just before: let
	 * it finish before the number can be reused. */
	while (atomic_load(&in_handler))
		sched_yield();
	if (w->wfd->refs > 1) {
		/* Tasks wait on it: make it readable so that they wake, see the
		 * watch shut (or its region gone) and drop their references. */
		uint64_t one = 1;
		if (write(w->evfd, &one, sizeof(one)) < 0) {
			/* A full counter is readable already. */
		}
	}
	wfd_put(w->wfd);
	w->wfd = NULL;
	pthread_mutex_lock(&install_mu);
	for (int i = 0; i < w->n; i++)
		release_signal(w->sigs[i]);
	pthread_mutex_unlock(&install_mu);
	w->slot = -1;
}

static void watch_finalize(void *arg)
{
	struct watch *w = arg;

	if (w->slot >= 0) {
		asup__io_report_leak(w->k, w->region, "signal watch", -1, "region closed");
		watch_shut(w);
	}
}

static int watch_install(struct watch *w, const int *sigs, int n)
{
	int rc = 0, i;

	pthread_mutex_lock(&install_mu);
	for (i = 0; i < n && rc == 0; i++)
		rc = catch_signal(sigs[i]);
	if (rc < 0)
		while (--i > 0)
			release_signal(sigs[i - 1]);
	pthread_mutex_unlock(&install_mu);
	if (rc < 0)
		return rc;
	for (i = 0; i < n; i++) {
		w->sigs[i] = sigs[i];
		w->seen[i] = atomic_load(&sig_count[sigs[i]]);
	}
	w->n = n;
	return 0;
}

ASUP_API int asup_signal_open(asup_cx *cx, const int *sigs, int n, asup_sigwatch *out)
{
	asup__reactor *r;
	struct watch *w;
	asup_rref ref;
	int rc = asup__io_reactor(cx, &r), slot = -1, fd;

	if (rc < 0)
		return rc;
	if (!sigs || !out || n <= 0 || n > ASUP_SIGNAL_WATCH_MAX)
		return -EINVAL;
	for (int i = 0; i < n; i++)
		if (!valid_signal(sigs[i]))
			return -EINVAL;
	rc = asup_region_alloc(cx, sizeof(*w), &ref);
	if (rc < 0)
		return rc;
	w = ref.ptr;
	w->slot = -1;
	w->region = ref.region;
	w->k = cx->k;
	rc = asup_defer(cx, watch_finalize, w);
	if (rc < 0)
		return rc;
	fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	w->wfd = malloc(sizeof(*w->wfd));
	if (!w->wfd) {
		close(fd);
		return -ENOMEM;
	}
	w->wfd->fd = fd;
	w->wfd->refs = 1;
	for (int i = 0; i < WATCH_SLOTS && slot < 0; i++) {
		int expect = 0;
		if (atomic_compare_exchange_strong(&watch_fd[i], &expect, fd + 1))
			slot = i;
	}
	if (slot < 0) {
		wfd_put(w->wfd);
		w->wfd = NULL;
		return -EMFILE;
	}
	w->evfd = fd;
	w->slot = slot;
	rc = watch_install(w, sigs, n);
	if (rc < 0) {
		atomic_store(&watch_fd[slot], 0);
		wfd_put(w->wfd);
		w->wfd = NULL;
		w->slot = -1;
		return rc;
	}
	w->magic = WATCH_MAGIC;
	out->_region = w->region;
	out->_p = w;
	return 0;
}

static int watch_get(asup_cx *cx, asup_sigwatch h, struct watch **out)
{
	asup__reactor *r;
	struct watch *w;
	int rc = asup__io_reactor(cx, &r);

	if (rc < 0)
		return rc;
	if (!h._p)
		return -EBADF;
	if (!asup__region_lookup(cx->k, h._region))
		return -ASUP_ECLOSED;
	w = h._p;
	if (w->magic != WATCH_MAGIC || w->region != h._region || w->slot < 0)
		return -EBADF;
	*out = w;
	return 0;
}

ASUP_API int asup_signal_wait(asup_cx *cx, asup_sigwatch h)
{
	struct watch *w;
	struct wfd *f;
	uint64_t v;
	int rc = watch_get(cx, h, &w);

	if (rc < 0)
		return rc;
	for (;;) {
		for (int i = 0; i < w->n; i++) {
			if (atomic_load(&sig_count[w->sigs[i]]) != w->seen[i]) {
				w->seen[i]++;
				return w->sigs[i];
			}
		}
		f = w->wfd;
		f->refs++;
		rc = asup_fd_wait(cx, f->fd, ASUP_IO_READABLE);
		/* The watch may have been closed while we waited, or its region
		 * (and w with it) may be gone: look before touching w. */
		if (!asup__region_lookup(cx->k, h._region))
			rc = -ASUP_ECLOSED;
		else if (w->slot < 0)
			rc = -EBADF;
		else if (rc >= 0 && read(f->fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			rc = -errno;
		wfd_put(f);
		if (rc < 0)
			return rc;
	}
}

ASUP_API int asup_signal_close(asup_cx *cx, asup_sigwatch h)
{
	struct watch *w;
	int rc = watch_get(cx, h, &w);

	if (rc < 0)
		return rc;
	watch_shut(w);
	return 0;
}

/* ---- asup_rt_run_main ------------------------------------------------------- */

struct main_run {
	asup_task_fn fn;
	void *arg;
	uint64_t grace_ns;
	uint64_t app_region;
	asup_sigwatch w;
	asup_outcome app;
	int app_ran;
};

/* Cancels the application's region with a SHUTDOWN reason, as if its own
 * body had called asup_scope_cancel. */
static void shutdown_app(asup_cx *cx, struct main_run *m, int signo)
{
	asup__region *r = asup__region_lookup(cx->k, m->app_region);
	asup__reason *why;

	if (!r)
		return;
	why = asup__reason_make(cx->k, ASUP_CANCEL_SHUTDOWN, r, cx->kt,
				signo == SIGINT ? "SIGINT received" : "SIGTERM received");
	if (!why)
		return;
	asup__region_cancel(cx->k, r, why);
	asup__reason_unref(&cx->k->alloc, why);
}

static int64_t main_watcher(asup_cx *cx, void *arg)
{
	struct main_run *m = arg;
	int signo = asup_signal_wait(cx, m->w);

	if (signo < 0)
		return 0; /* the application ended first */
	atomic_store(&main_armed, 1);
	shutdown_app(cx, m, signo);
	/* Cleanup gets the grace period; past it the process ends. */
	if (asup_sleep(cx, m->grace_ns) == 0) {
		/* The process ends right here: straight to stderr, like the
		 * stack-overflow line. */
		fprintf(stderr, "asupersync: shutdown grace period of %llu ns passed; exiting\n",
			(unsigned long long)m->grace_ns);
		_exit(128 + signo);
	}
	return 0;
}

static int64_t main_app(asup_cx *cx, void *arg)
{
	struct main_run *m = arg;

	m->app_region = asup_scope_region_id(cx);
	return m->fn(cx, m->arg);
}

static int64_t main_root(asup_cx *cx, void *arg)
{
	static const int sigs[] = {SIGINT, SIGTERM};
	struct main_run *m = arg;
	asup_outcome o;
	asup_task wt;
	int rc = asup_signal_open(cx, sigs, 2, &m->w);

	if (rc < 0)
		return rc;
	rc = asup_spawn(cx, main_watcher, m, NULL, &wt);
	if (rc < 0)
		return rc;
	rc = asup_region(cx, main_app, m, &m->app);
	m->app_ran = rc == 0;
	(void)!asup_task_abort(&wt); /* our own task: cannot fail */
	if (asup_join(cx, &wt, &o) < 0)
		return -ECANCELED;
	atomic_store(&main_armed, 0);
	asup_signal_close(cx, m->w);
	return rc;
}

ASUP_API int asup_rt_run_main(asup_rt *rt, asup_task_fn fn, void *arg, uint64_t grace_ns,
			      asup_outcome *out)
{
	struct main_run m;
	asup_outcome root;
	int rc;

	if (!rt || !fn)
		return -EINVAL;
	memset(&m, 0, sizeof(m));
	m.fn = fn;
	m.arg = arg;
	m.grace_ns = grace_ns;
	rc = asup_rt_run(rt, main_root, &m, &root);
	atomic_store(&main_armed, 0);
	if (rc < 0)
		return rc;
	if (out)
		*out = m.app_ran ? m.app : root;
	return 0;
}
