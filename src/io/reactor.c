/*
 * The reactor (see reactor.h): the registration table, the wait protocol
 * and the two backends.
 *
 * epoll: a socket's fd is added once, edge-triggered, for both directions,
 * with the socket's tag; an event wakes the waiter of each direction it
 * names. A user's fd (oneshot) is added level-triggered for the one
 * direction waited on and removed when the wait ends. Nothing is in flight
 * in the kernel for a wait, so a cancel only withdraws the waiter.
 *
 * io_uring: every wait is a POLL_ADD whose user_data is the wait's own tag;
 * its CQE completes the op. A cancel submits an ASYNC_CANCEL for that tag
 * and parks masked until the POLL_ADD's CQE arrived, so the kernel holds
 * nothing of the wait when the call returns.
 */
#define _GNU_SOURCE
#include "reactor.h"

#ifdef ASUP_HAVE_LIBURING
#include <liburing.h>
#endif
/* Valgrind does not see the kernel write through io_uring: a receive's
 * bytes are marked defined when its completion arrives. */
#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define ASUP_HAVE_MEMCHECK 1
#endif
#endif
#ifndef ASUP_HAVE_MEMCHECK
#define VALGRIND_MAKE_MEM_DEFINED(p, n) ((void)0)
#endif

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define WAKE_TAG UINT64_MAX
#define CANCEL_TAG 0u
#define SLOT_HANDLE 1
#define SLOT_OP 2
#define URING_ENTRIES 256

/* ---- the table ------------------------------------------------------- */

static int slot_alloc(asup__reactor *r, void *obj, int kind, uint64_t *tag)
{
	uint32_t i;

	if (r->free_head) {
		i = r->free_head;
		r->free_head = r->slots[i].next_free;
	} else {
		if (r->nslots == r->capslots) {
			uint32_t cap = r->capslots ? r->capslots * 2 : 64;
			asup__io_slot *n = asup__alloc_mem(&r->alloc, (size_t)cap * sizeof(*n));
			if (!n)
				return -ENOMEM;
			memset(n, 0, (size_t)cap * sizeof(*n));
			if (r->slots)
				memcpy(n, r->slots, (size_t)r->nslots * sizeof(*n));
			asup__free_mem(&r->alloc, r->slots, (size_t)r->capslots * sizeof(*n));
			r->slots = n;
			r->capslots = cap;
			if (r->nslots == 0)
				r->nslots = 1; /* slot 0 is never used: tag 0 means none */
		}
		i = r->nslots++;
	}
	r->slots[i].obj = obj;
	r->slots[i].kind = (uint8_t)kind;
	*tag = (uint64_t)r->slots[i].gen << 32 | i;
	return 0;
}

static void slot_free(asup__reactor *r, uint64_t tag)
{
	uint32_t i = (uint32_t)tag;

	r->slots[i].obj = NULL;
	r->slots[i].kind = 0;
	r->slots[i].gen++;
	r->slots[i].next_free = r->free_head;
	r->free_head = i;
}

/* The live object of tag, or NULL (and counted) if the tag is stale. */
static void *slot_get(asup__reactor *r, uint64_t tag, int kind)
{
	uint32_t i = (uint32_t)tag;

	if (i == 0 || i >= r->nslots || r->slots[i].gen != (uint32_t)(tag >> 32) ||
	    r->slots[i].kind != kind) {
		r->stale++;
		return NULL;
	}
	return r->slots[i].obj;
}

/* The kernel is finished with op (its result is set). */
static int op_done(const asup__io_op *op)
{
	return op->w.result != ASUP__WAIT_PENDING;
}

static void complete(asup__reactor *r, asup__io_op *op, int32_t result)
{
	r->waiting--;
	asup__waiter_wake(&op->w, result);
}

static void op_init(asup__io_op *op, asup_cx *cx, uint32_t events)
{
	memset(op, 0, sizeof(*op));
	asup__waiter_init(&op->w, &cx->kt->t);
	op->events = events;
}

/* ---- setup ------------------------------------------------------------ */

#ifdef ASUP_HAVE_LIBURING
int asup__reactor_uring_available(void)
{
	struct io_uring ring;

	if (io_uring_queue_init(4, &ring, 0) < 0)
		return 0;
	io_uring_queue_exit(&ring);
	return 1;
}
#else
int asup__reactor_uring_available(void)
{
	return 0;
}
#endif

#ifdef ASUP_HAVE_LIBURING
/* The ring, with the cheapest completion delivery the kernel has:
 * DEFER_TASKRUN runs the kernel's completion work only when the loop waits
 * in io_uring_enter (not by interrupting whatever system call the thread
 * makes next), which needs SINGLE_ISSUER; COOP_TASKRUN at least avoids the
 * interrupt. */
static int uring_setup(asup__reactor *r)
{
	static const unsigned tries[] = {
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
		IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
		0,
	};

	for (unsigned i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		struct io_uring_params p;
		memset(&p, 0, sizeof(p));
		p.flags = tries[i];
		if (io_uring_queue_init_params(URING_ENTRIES, r->ring, &p) == 0) {
			r->uring_flags = tries[i];
			r->issuer = pthread_self();
			return 0;
		}
	}
	return -ENOSYS;
}

/* A SINGLE_ISSUER ring serves only the thread that created it. A runtime
 * run later on another thread gets a new ring if nothing is in flight; with
 * operations in flight (tasks left parked in I/O by an earlier run) it
 * cannot reap them: it says so once and waits for timers only. 0 if the
 * ring is usable on this thread. */
static int uring_own(asup__reactor *r)
{
	if (r->ring_gone)
		return -ENOSYS;
	if (!(r->uring_flags & IORING_SETUP_SINGLE_ISSUER) ||
	    pthread_equal(r->issuer, pthread_self()))
		return 0;
	if (r->waiting == 0) {
		io_uring_queue_exit(r->ring);
		r->wake_armed = 0;
		r->unsubmitted = 0;
		if (uring_setup(r) == 0)
			return 0;
		/* No ring at all now: every later operation fails. */
		r->ring_gone = 1;
		return -ENOSYS;
	}
	if (!r->said_foreign) {
		r->said_foreign = 1;
		fprintf(stderr, "asupersync: a runtime with io_uring operations in flight was "
				"resumed on another thread; they complete only on the first one\n");
	}
	return -EEXIST;
}
#endif

int asup__reactor_init(asup__reactor *r, const asup__alloc *a, asup__sched *s, int kind)
{
	struct epoll_event ev;
	int rc;

	memset(r, 0, sizeof(*r));
	r->alloc = *a;
	r->sched = s;
	r->epfd = -1;
	r->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->wake_fd < 0)
		return -errno;
	if (kind == ASUP__IO_URING) {
#ifdef ASUP_HAVE_LIBURING
		r->ring = asup__alloc_mem(&r->alloc, sizeof(*r->ring));
		if (r->ring && uring_setup(r) == 0) {
			r->kind = ASUP__IO_URING;
			return 0;
		}
		asup__free_mem(&r->alloc, r->ring, sizeof(*r->ring));
		r->ring = NULL;
#endif
		close(r->wake_fd);
		return -ENOSYS;
	}
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epfd < 0) {
		rc = -errno;
		close(r->wake_fd);
		return rc;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = WAKE_TAG;
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->wake_fd, &ev) < 0) {
		rc = -errno;
		close(r->epfd);
		close(r->wake_fd);
		return rc;
	}
	r->kind = ASUP__IO_EPOLL;
	return 0;
}

void asup__reactor_destroy(asup__reactor *r)
{
	if (r->kind == ASUP__IO_NONE)
		return;
	for (uint32_t i = 1; i < r->nslots; i++) {
		asup__io_handle *h = r->slots[i].obj;
		if (r->slots[i].kind == SLOT_HANDLE && h->on_teardown)
			h->on_teardown(h->owner);
	}
#ifdef ASUP_HAVE_LIBURING
	if (r->kind == ASUP__IO_URING) {
		if (!r->ring_gone)
			io_uring_queue_exit(r->ring);
		asup__free_mem(&r->alloc, r->ring, sizeof(*r->ring));
	}
#endif
	if (r->epfd >= 0)
		close(r->epfd);
	close(r->wake_fd);
	asup__free_mem(&r->alloc, r->slots, (size_t)r->capslots * sizeof(*r->slots));
	r->kind = ASUP__IO_NONE;
}

int asup__reactor_attach(asup__reactor *r, asup__io_handle *h, int fd)
{
	h->fd = fd;
	h->registered = 0;
	h->rd = h->wr = NULL;
	return slot_alloc(r, h, SLOT_HANDLE, &h->tag);
}

/* ---- io_uring ----------------------------------------------------------- */

#ifdef ASUP_HAVE_LIBURING
static struct io_uring_sqe *sqe_get(asup__reactor *r)
{
	struct io_uring_sqe *sqe;

	if (uring_own(r) < 0)
		return NULL;
	sqe = io_uring_get_sqe(r->ring);

	if (!sqe) {
		io_uring_submit(r->ring);
		r->unsubmitted = 0;
		sqe = io_uring_get_sqe(r->ring);
	}
	if (sqe)
		r->unsubmitted++;
	return sqe;
}

static void uring_cancel(asup__reactor *r, uint64_t tag)
{
	struct io_uring_sqe *sqe = sqe_get(r);

	/* The ring is drained often; a full one is submitted by sqe_get, so
	 * this NULL is only possible with the kernel refusing the submit. */
	if (!sqe)
		return;
	io_uring_prep_cancel64(sqe, tag, 0);
	io_uring_sqe_set_data64(sqe, CANCEL_TAG);
}

static int uring_arm(asup__reactor *r, asup__io_op *op, int fd)
{
	struct io_uring_sqe *sqe;
	unsigned mask = (op->events & ASUP__IO_IN ? POLLIN | POLLRDHUP : 0) |
			(op->events & ASUP__IO_OUT ? POLLOUT : 0);
	int rc = slot_alloc(r, op, SLOT_OP, &op->tag);

	if (rc < 0)
		return rc;
	sqe = sqe_get(r);
	if (!sqe) {
		slot_free(r, op->tag);
		return -EAGAIN;
	}
	io_uring_prep_poll_add(sqe, fd, mask);
	io_uring_sqe_set_data64(sqe, op->tag);
	return 0;
}

static void uring_arm_wake(asup__reactor *r)
{
	struct io_uring_sqe *sqe;

	if (r->wake_armed || !(sqe = sqe_get(r)))
		return;
	io_uring_prep_poll_add(sqe, r->wake_fd, POLLIN);
	io_uring_sqe_set_data64(sqe, WAKE_TAG);
	r->wake_armed = 1;
}

static int uring_dispatch(asup__reactor *r)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;
	int woken = 0;

	io_uring_for_each_cqe(r->ring, head, cqe) {
		uint64_t tag = io_uring_cqe_get_data64(cqe);
		asup__io_op *op;
		n++;
		if (tag == CANCEL_TAG)
			continue;
		if (tag == WAKE_TAG) {
			uint64_t v;
			r->wake_armed = 0;
			if (read(r->wake_fd, &v, sizeof(v)) < 0) {
				/* EAGAIN: someone else drained it; nothing to do. */
			}
			continue;
		}
		op = slot_get(r, tag, SLOT_OP);
		if (!op)
			continue;
		slot_free(r, tag);
		complete(r, op, cqe->res);
		woken++;
	}
	io_uring_cq_advance(r->ring, n);
	return woken;
}

static int uring_poll(asup__reactor *r, int64_t timeout_ns)
{
	struct __kernel_timespec ts;
	struct io_uring_cqe *cqe = NULL;

	if (uring_own(r) < 0) {
		/* Timers still run; at most 10 ms per call, never a spin. */
		struct timespec t = {0, timeout_ns >= 0 && timeout_ns < 10000000 ? timeout_ns
									   : 10000000};
		nanosleep(&t, NULL);
		return 0;
	}

	uring_arm_wake(r);
	if (timeout_ns == 0) {
		if (r->uring_flags & IORING_SETUP_DEFER_TASKRUN)
			io_uring_submit_and_get_events(r->ring);
		else if (r->unsubmitted)
			io_uring_submit(r->ring);
	} else if (timeout_ns < 0) {
		io_uring_submit_and_wait(r->ring, 1);
	} else {
		ts.tv_sec = timeout_ns / 1000000000;
		ts.tv_nsec = timeout_ns % 1000000000;
		io_uring_submit_and_wait_timeout(r->ring, &cqe, 1, &ts, NULL);
	}
	r->unsubmitted = 0;
	return uring_dispatch(r);
}
#endif

/* ---- epoll ------------------------------------------------------------- */

static int epoll_arm(asup__reactor *r, asup__io_handle *h, uint32_t ev)
{
	struct epoll_event e;

	memset(&e, 0, sizeof(e));
	e.data.u64 = h->tag;
	if (h->oneshot) {
		/* A user's fd: level-triggered, only the direction waited on. */
		e.events = (ev & ASUP__IO_IN ? EPOLLIN | EPOLLRDHUP : 0) |
			   (ev & ASUP__IO_OUT ? EPOLLOUT : 0);
		if (epoll_ctl(r->epfd, h->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, h->fd,
			      &e) < 0)
			return -errno;
		h->registered = 1;
		return 0;
	}
	if (h->registered)
		return 0;
	e.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, h->fd, &e) < 0)
		return -errno;
	h->registered = 1;
	return 0;
}

static int epoll_poll(asup__reactor *r, int64_t timeout_ns)
{
	struct epoll_event evs[128];
	int n, woken = 0, ms;

	/* Rounded up: waking before the timer is due would spin. */
	ms = timeout_ns < 0 ? -1 :
	     timeout_ns > (int64_t)INT32_MAX * 1000000 ? INT32_MAX :
							(int)((timeout_ns + 999999) / 1000000);
	n = epoll_wait(r->epfd, evs, 128, ms);
	for (int i = 0; i < n; i++) {
		uint64_t tag = evs[i].data.u64;
		uint32_t e = evs[i].events;
		asup__io_handle *h;
		if (tag == WAKE_TAG) {
			uint64_t v;
			if (read(r->wake_fd, &v, sizeof(v)) < 0) {
				/* EAGAIN: already drained. */
			}
			continue;
		}
		h = slot_get(r, tag, SLOT_HANDLE);
		if (!h)
			continue;
		if (h->oneshot) {
			/* One waiter, for whatever it asked: wake it on any event. */
			asup__io_op *op = h->rd ? h->rd : h->wr;
			if (op) {
				complete(r, op, (int32_t)e);
				h->rd = h->wr = NULL;
				woken++;
			}
			continue;
		}
		if (h->rd && (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
			complete(r, h->rd, (int32_t)e);
			h->rd = NULL;
			woken++;
		}
		if (h->wr && (e & (EPOLLOUT | EPOLLHUP | EPOLLERR))) {
			complete(r, h->wr, (int32_t)e);
			h->wr = NULL;
			woken++;
		}
	}
	return woken;
}

/* ---- the common part ------------------------------------------------------ */

int asup__reactor_poll(asup__reactor *r, int64_t timeout_ns)
{
	r->polls++;
#ifdef ASUP_HAVE_LIBURING
	if (r->kind == ASUP__IO_URING)
		return uring_poll(r, timeout_ns);
#endif
	return r->kind == ASUP__IO_EPOLL ? epoll_poll(r, timeout_ns) : 0;
}

void asup__reactor_wake(asup__reactor *r)
{
	uint64_t one = 1;

	if (write(r->wake_fd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is saturated, so a wake is pending anyway. */
	}
}

void asup__reactor_detach(asup__reactor *r, asup__io_handle *h)
{
	asup__io_op *ops[2] = {h->rd, h->wr};

	if (!h->tag)
		return;
	for (int i = 0; i < 2; i++) {
		asup__io_op *op = ops[i];
		if (!op)
			continue;
		op->closed = 1;
#ifdef ASUP_HAVE_LIBURING
		if (r->kind == ASUP__IO_URING) {
			/* Its waiter still waits for the POLL_ADD's own CQE. */
			uring_cancel(r, op->tag);
			continue;
		}
#endif
		complete(r, op, -EBADF);
	}
#ifdef ASUP_HAVE_LIBURING
	/* The kernel looks an SQE's fd up when it is submitted: submit what
	 * is queued now, so that an operation of h queued before this detach
	 * holds h's file, not whatever reuses the number after the caller's
	 * close. */
	if (r->kind == ASUP__IO_URING && (ops[0] || ops[1]) && r->unsubmitted &&
	    uring_own(r) == 0) {
		io_uring_submit(r->ring);
		r->unsubmitted = 0;
	}
#endif
	if (r->kind == ASUP__IO_EPOLL && h->registered)
		epoll_ctl(r->epfd, EPOLL_CTL_DEL, h->fd, NULL);
	h->registered = 0;
	h->rd = h->wr = NULL;
	slot_free(r, h->tag);
	h->tag = 0;
}

/* Parks until op is done, ignoring cancels: the kernel still holds the op. */
static void wait_done_masked(asup__sched *s, asup__task *t, asup__io_op *op)
{
	t->masked++;
	while (!op_done(op))
		asup__sched_park(s, t, ASUP_TIME_MAX, 0);
	t->masked--;
}

static int arm(asup__reactor *r, asup__io_handle *h, asup__io_op *op)
{
#ifdef ASUP_HAVE_LIBURING
	if (r->kind == ASUP__IO_URING)
		return uring_arm(r, op, h->fd);
#endif
	return epoll_arm(r, h, op->events);
}

/* The wait was interrupted: take it back from the backend. */
static void withdraw(asup__reactor *r, asup__io_op **slot, asup__io_op *op, asup__task *t)
{
	if (op_done(op))
		return;
	if (slot && *slot == op)
		*slot = NULL;
#ifdef ASUP_HAVE_LIBURING
	if (r->kind == ASUP__IO_URING) {
		if (!op->closed)
			uring_cancel(r, op->tag);
		wait_done_masked(r->sched, t, op);
		return;
	}
#endif
	/* epoll holds nothing of a wait: it ends here, taken back. */
	r->waiting--;
	op->w.result = -ECANCELED;
}

/* Poll bits (epoll's and poll's agree on Linux) to ASUP__IO_* bits; an
 * error or hang-up counts as ready both ways, so the caller's system call
 * reports it. */
static int ready_mask(uint32_t e, uint32_t ev)
{
	int m = 0;

	if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		m |= ASUP__IO_IN;
	if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR))
		m |= ASUP__IO_OUT;
	m &= (int)ev;
	return m ? m : (int)ev;
}

/* Parks until op (armed, and registered in *slot if slot) is done; on a
 * cancel or deadline withdraws it (waiting for the kernel where it holds
 * the op). Returns 0 or the park's error code. */
static int park_op(asup_cx *cx, asup__reactor *r, asup__io_op **slot, asup__io_op *op)
{
	int rc = 0;

	if (slot)
		*slot = op;
	r->waiting++;
	while (!op_done(op)) {
		rc = asup__cx_park(cx, ASUP_TIME_MAX, 0);
		if (rc < 0 && !op_done(op)) {
			withdraw(r, slot, op, op->w.task);
			break;
		}
		rc = 0;
	}
	if (slot && *slot == op)
		*slot = NULL;
	return rc;
}

int asup__reactor_wait(asup_cx *cx, asup__reactor *r, asup__io_handle *h, uint32_t ev)
{
	asup__io_op op;
	asup__io_op **slot = ev & ASUP__IO_IN ? &h->rd : &h->wr;
	int rc;

	if (*slot)
		return -EBUSY;
	op_init(&op, cx, ev);
	rc = arm(r, h, &op);
	if (rc < 0)
		return rc;
	rc = park_op(cx, r, slot, &op);
	if (h->oneshot && h->registered && r->kind == ASUP__IO_EPOLL) {
		epoll_ctl(r->epfd, EPOLL_CTL_DEL, h->fd, NULL);
		h->registered = 0;
	}
	if (op.closed)
		return -EBADF;
	if (rc < 0)
		return rc;
	if (op.w.result < 0)
		return op.w.result;
	return ready_mask((uint32_t)op.w.result, ev);
}

#ifdef ASUP_HAVE_LIBURING
/* Fills sqe for k. */
static void kop_prep(struct io_uring_sqe *sqe, const asup__kop *k)
{
	switch (k->code) {
	case ASUP__KOP_RECV:
		io_uring_prep_recv(sqe, k->fd, k->buf, k->len, 0);
		break;
	case ASUP__KOP_SEND:
		io_uring_prep_send(sqe, k->fd, k->buf, k->len, MSG_NOSIGNAL);
		break;
	case ASUP__KOP_OPENAT:
		io_uring_prep_openat(sqe, AT_FDCWD, k->path, k->flags, (mode_t)k->mode);
		break;
	case ASUP__KOP_READ:
		io_uring_prep_read(sqe, k->fd, k->buf, (unsigned)k->len, k->off);
		break;
	case ASUP__KOP_WRITE:
		io_uring_prep_write(sqe, k->fd, k->buf, (unsigned)k->len, k->off);
		break;
	case ASUP__KOP_FSYNC:
		io_uring_prep_fsync(sqe, k->fd, 0);
		break;
	default:
		io_uring_prep_close(sqe, k->fd);
		break;
	}
}
#endif

int64_t asup__reactor_submit(asup_cx *cx, asup__reactor *r, asup__io_op **slot,
			     const asup__kop *k)
{
#ifdef ASUP_HAVE_LIBURING
	asup__io_op op;
	struct io_uring_sqe *sqe;
	int rc;

	if (r->kind != ASUP__IO_URING)
		return -ENOSYS;
	if (slot && *slot)
		return -EBUSY;
	op_init(&op, cx,
		k->code == ASUP__KOP_SEND || k->code == ASUP__KOP_WRITE ? ASUP__IO_OUT
									 : ASUP__IO_IN);
	rc = slot_alloc(r, &op, SLOT_OP, &op.tag);
	if (rc < 0)
		return rc;
	sqe = sqe_get(r);
	if (!sqe) {
		slot_free(r, op.tag);
		return -EAGAIN;
	}
	kop_prep(sqe, k);
	io_uring_sqe_set_data64(sqe, op.tag);
	r->kops++;
	op.w.task->masked += k->masked;
	rc = park_op(cx, r, slot, &op);
	op.w.task->masked -= k->masked;
	/* The kernel is done with the buffer now. What it did before the
	 * cancel took effect is reported, so nothing transferred is lost. */
	if (op.w.result > 0 && (k->code == ASUP__KOP_RECV || k->code == ASUP__KOP_READ))
		VALGRIND_MAKE_MEM_DEFINED(k->buf, (size_t)op.w.result);
	if (op.w.result >= 0)
		return op.w.result;
	if (rc < 0)
		return rc;
	return op.closed ? -EBADF : op.w.result;
#else
	(void)cx;
	(void)r;
	(void)slot;
	(void)k;
	return -ENOSYS;
#endif
}

int64_t asup__reactor_transfer(asup_cx *cx, asup__reactor *r, asup__io_handle *h, int is_send,
			       void *buf, size_t len)
{
	asup__kop k = {.code = is_send ? ASUP__KOP_SEND : ASUP__KOP_RECV, .fd = h->fd,
		       .buf = buf, .len = len};

	return asup__reactor_submit(cx, r, is_send ? &h->wr : &h->rd, &k);
}
