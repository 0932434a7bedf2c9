/*
 * The reactor: where a parked I/O wait learns that its fd is ready.
 *
 * Owns: the backend's kernel objects (an epoll instance, or an io_uring
 * ring), the wake eventfd, and a generational table of registrations
 * (sockets and in-flight io_uring operations). Must not touch: regions,
 * outcomes, cancel reasons (kernel); it only unparks tasks through the
 * scheduler. One reactor per worker; nothing in it is global.
 *
 * Internal API (for the socket layer and for later users such as files,
 * signals and the foreign-thread post):
 *
 *   asup__io_handle h;          one per fd the runtime waits on; a socket
 *                               embeds one. asup__reactor_attach gives it a
 *                               table slot, asup__reactor_detach ends every
 *                               wait on it (the waiters return -EBADF) and
 *                               frees the slot (its generation moves on).
 *   asup__io_op op;             one per wait, in the waiting task's frame:
 *                               it embeds the wait layer's asup__waiter,
 *                               and the completion is that waiter's wake
 *                               (its result: events, count or -errno).
 *   asup__reactor_wait(cx, r, h, ev)
 *                               parks the running task until h's fd is
 *                               ready for ev (ASUP__IO_IN/OUT). On a cancel
 *                               or deadline it withdraws the wait and, if
 *                               the kernel holds an operation for it
 *                               (io_uring), submits a cancel and waits,
 *                               masked, for that operation's completion
 *                               before it returns -ECANCELED/-ETIMEDOUT.
 *   asup__reactor_poll(r, ns)   dispatches completions, waiting at most ns
 *                               (-1: no limit, 0: do not wait).
 *   asup__reactor_wake(r)       thread-safe: ends a poll in progress.
 *
 * A tag (epoll data, io_uring user_data) is (generation << 32 | slot). A
 * completion whose tag's generation is no longer the slot's is stale (its fd
 * was closed, its number perhaps reused): it is counted and dropped, so it
 * never wakes whoever owns the fd number now.
 */
#ifndef ASUP_IO_REACTOR_H
#define ASUP_IO_REACTOR_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "../kernel/kernel.h"
#include "../sched/wait.h"

struct io_uring;

enum asup__io_backend_kind {
	ASUP__IO_NONE = 0, /* not created yet */
	ASUP__IO_EPOLL = 1,
	ASUP__IO_URING = 2,
};

enum {
	ASUP__IO_IN = 1u << 0,
	ASUP__IO_OUT = 1u << 1,
};

/* A wait or transfer in progress; lives in the waiting task's frame. Its
 * waiter is the wait layer's (sched/wait.h): the completion is the wake,
 * whose result is the poll events, the count or -errno; a result set means
 * the kernel is finished with the op. */
typedef struct asup__io_op {
	asup__waiter w;    /* w.task parks; w.result set by the completion */
	uint8_t closed;    /* its handle was detached while it waited */
	uint32_t events;   /* ASUP__IO_IN or ASUP__IO_OUT */
	uint64_t tag;      /* io_uring: its own table slot (user_data) */
} asup__io_op;

/* An fd the reactor knows. */
typedef struct asup__io_handle {
	int fd;
	uint8_t registered; /* epoll: added to the epoll set */
	uint8_t oneshot;    /* a user's fd: registered only while waited on */
	uint64_t tag;       /* its table slot (0: not attached) */
	asup__io_op *rd, *wr; /* the waiter of each direction, if any */
	void *owner;        /* what the slot stands for (a socket), for teardown */
	void (*on_teardown)(void *owner); /* runtime destroyed with it attached */
} asup__io_handle;

typedef struct asup__io_slot {
	void *obj;          /* asup__io_handle * or asup__io_op * */
	uint32_t gen;
	uint8_t kind;       /* 0 free, 1 handle, 2 op */
	uint32_t next_free;
} asup__io_slot;

typedef struct asup__reactor {
	int kind;               /* enum asup__io_backend_kind */
	int epfd;
	int wake_fd;            /* eventfd: asup__reactor_wake writes it */
	uint8_t wake_armed;     /* io_uring: a poll on wake_fd is in flight */
	uint32_t waiting;       /* tasks parked in a reactor wait */
	uint32_t unsubmitted;   /* io_uring: SQEs prepared, not yet submitted */
	uint64_t stale;         /* completions dropped as stale */
	uint64_t polls;         /* calls of asup__reactor_poll */
	uint64_t kops;          /* kernel operations submitted (io_uring) */
	unsigned uring_flags;   /* io_uring: the IORING_SETUP_* flags it has */
	pthread_t issuer;       /* io_uring: the thread the ring serves */
	uint8_t ring_gone;      /* io_uring: no ring could be made again */
	uint8_t said_foreign;   /* io_uring: reported a foreign-thread run */
	asup__io_slot *slots;
	uint32_t nslots, capslots, free_head;
	asup__alloc alloc;
	asup__sched *sched;
	struct io_uring *ring;  /* io_uring: the ring (allocated, so that the
	                           layout does not depend on liburing) */
} asup__reactor;

/* 1 if io_uring can be used here (built with liburing and the kernel allows
 * a ring). */
int asup__reactor_uring_available(void);
/* Creates the backend: kind ASUP__IO_EPOLL or ASUP__IO_URING. 0, -ENOSYS
 * (io_uring refused or not built in), -ENOMEM, -errno. */
int asup__reactor_init(asup__reactor *r, const asup__alloc *a, asup__sched *s, int kind);
/* Calls every attached handle's on_teardown, then frees everything. */
void asup__reactor_destroy(asup__reactor *r);

int asup__reactor_attach(asup__reactor *r, asup__io_handle *h, int fd);
void asup__reactor_detach(asup__reactor *r, asup__io_handle *h);

/* See the preamble. The ready directions (> 0, ASUP__IO_* bits) when ready; -ECANCELED/-ETIMEDOUT (after the kernel is
 * done), -EBADF (detached while waiting), -EBUSY (another task already waits
 * in that direction), -ENOMEM, -errno from the backend. */
int asup__reactor_wait(asup_cx *cx, asup__reactor *r, asup__io_handle *h, uint32_t ev);

/* A kernel operation for asup__reactor_submit. */
enum asup__kop_code {
	ASUP__KOP_RECV,   /* fd, buf, len */
	ASUP__KOP_SEND,   /* fd, buf, len (MSG_NOSIGNAL) */
	ASUP__KOP_OPENAT, /* path, flags, mode (relative to the cwd) */
	ASUP__KOP_READ,   /* fd, buf, len, off (ASUP__KOP_CUR: the file's offset) */
	ASUP__KOP_WRITE,  /* fd, buf, len, off */
	ASUP__KOP_FSYNC,  /* fd */
	ASUP__KOP_CLOSE,  /* fd */
};
#define ASUP__KOP_CUR UINT64_MAX

typedef struct asup__kop {
	int code;          /* enum asup__kop_code */
	int fd;
	void *buf;
	size_t len;
	uint64_t off;
	const char *path;
	int flags;
	uint32_t mode;
	uint8_t masked;    /* no cancel or deadline interrupts it (a close,
	                      which the kernel cannot take back) */
} asup__kop;

/* io_uring only (-ENOSYS otherwise): submits k as one kernel operation and
 * parks until its completion. slot (may be NULL) is where the operation is
 * registered for asup__reactor_detach (a socket handle's rd or wr; -EBUSY
 * if taken). On a cancel or deadline the wait submits an async cancel and
 * parks, masked, until the operation's own completion: the kernel never
 * touches k's buffer or path after the call returned. Returns the
 * operation's result when it completed (>= 0, also when a cancel arrived
 * after the kernel had done it, so nothing transferred is lost), else
 * -ECANCELED/-ETIMEDOUT (cancelled before the kernel did it), -EBADF
 * (slot's handle detached while waiting), -ENOMEM, -EAGAIN (no submission
 * entry), or the operation's -errno. */
int64_t asup__reactor_submit(asup_cx *cx, asup__reactor *r, asup__io_op **slot,
			     const asup__kop *k);

/* io_uring only (-ENOSYS otherwise): one recv (is_send 0) or send on h's
 * fd as a kernel operation into/from buf, which the kernel holds until the
 * operation's completion: the call returns only after it. Returns the count
 * (>= 0; also when a cancel arrived after the kernel had transferred data),
 * -ECANCELED/-ETIMEDOUT (cancelled with nothing transferred), -EBADF
 * (detached while waiting), -EBUSY, -errno of the transfer. */
int64_t asup__reactor_transfer(asup_cx *cx, asup__reactor *r, asup__io_handle *h, int is_send,
			       void *buf, size_t len);

/* Returns the number of waiters woken. */
int asup__reactor_poll(asup__reactor *r, int64_t timeout_ns);
void asup__reactor_wake(asup__reactor *r);

#endif
