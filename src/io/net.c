/*
 * Sockets (asupersync/net.h) over the reactor.
 *
 * Owns: socket records, allocated in the region of the current scope (the
 * socket's owner), each with a region finalizer that closes it if it is
 * still open when the region closes. Must not touch: the scheduler or the
 * backend directly (only asup__reactor_*).
 *
 * On io_uring a read or write of a socket is a kernel operation from the
 * start (asup__reactor_transfer: IORING_OP_RECV/SEND on the caller's
 * buffer, submitted with the run loop's next wait). Every other transfer,
 * and every transfer on epoll, first tries the system call (non-blocking
 * fd) and only on EAGAIN waits for readiness and tries again. Either way a
 * cancel never loses data: a cancelled wait took nothing, and a kernel
 * transfer's count is returned even when the cancel arrived first.
 *
 * Record states: reserved (magic set, fd -1: accept and connect reserve the
 * record before they wait, so that a connection is never accepted without a
 * place to put it) -> open (fd >= 0, attached to the reactor) -> closed
 * (fd -1, detached). The record's memory lasts until its region closes;
 * handles name the region, so a handle used later is refused, not followed.
 */
#define _GNU_SOURCE
#include "asupersync/net.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "asupersync/region.h"
#include "asupersync/time.h"
#include "io_rt.h"
#include "pool_op.h"
#include "simnet.h"

#define SOCK_MAGIC 0x736f636bu /* "sock" */

struct sock {
	uint32_t magic;
	uint8_t listening;
	asup__reactor *r;
	asup__io_handle h;  /* h.fd is -1 unless open */
	uint64_t region;
	asup__kernel *k;    /* where its reports go */
	uint64_t accept_backoff; /* a listener: the wait before the next accept
	                            after a failure for lack of fds or memory
	                            (0: none) */
	asup_time accept_retry;  /* not before this instant */
};

/* The first and the longest back-off of accept after -EMFILE and kin. */
#define ACCEPT_BACKOFF_MIN_NS 1000000ull
#define ACCEPT_BACKOFF_MAX_NS 100000000ull

/* Where the I/O layer says what it did on its own: a region closing with a
 * socket open, a runtime destroyed with one. Goes to the runtime's report
 * hook like every other report. */
void asup__io_report_leak(asup__kernel *k, uint64_t region, const char *what, int64_t fd,
			  const char *when)
{
	char line[160];
	asup_report rep;

	if (!k->report)
		return;
	memset(&rep, 0, sizeof(rep));
	rep.kind = ASUP_REPORT_RESOURCE_LEAK;
	rep.task_id = ASUP_ID_NONE;
	rep.task_name = "";
	rep.region_id = region;
	rep.why = what;
	rep.value = fd;
	if (fd >= 0)
		snprintf(line, sizeof(line), "asupersync: %s with %s fd %lld still open; closed it",
			 when, what, (long long)fd);
	else
		snprintf(line, sizeof(line), "asupersync: %s with a %s still open; closed it",
			 when, what);
	rep.line = line;
	asup__k_report(k, &rep);
}

static void sock_report(const struct sock *s, const char *when)
{
	asup__io_report_leak(s->k, s->region, "socket", s->h.fd, when);
}

static void sock_shut(struct sock *s)
{
	if (s->h.fd < 0)
		return;
	asup__reactor_detach(s->r, &s->h);
	close(s->h.fd);
	s->h.fd = -1;
}

/* Region finalizer: the region closes; its sockets must not outlive it. */
static void sock_finalize(void *arg)
{
	struct sock *s = arg;

	if (s->h.fd >= 0) {
		sock_report(s, "region closed");
		sock_shut(s);
	}
}

/* The runtime is destroyed with the socket still open (its region never
 * closed): the reactor's table is going away, so only the fd is closed. */
static void sock_teardown(void *arg)
{
	struct sock *s = arg;

	sock_report(s, "runtime destroyed");
	close(s->h.fd);
	s->h.fd = -1;
	s->h.tag = 0;
}

/* A record in the current scope's region, with its finalizer. */
static int sock_reserve(asup_cx *cx, asup__reactor *r, struct sock **out)
{
	asup_rref ref;
	struct sock *s;
	int rc = asup_region_alloc(cx, sizeof(*s), &ref);

	if (rc < 0)
		return rc;
	s = ref.ptr;
	s->h.fd = -1;
	s->r = r;
	s->k = cx->k;
	s->region = ref.region;
	rc = asup_defer(cx, sock_finalize, s);
	if (rc < 0)
		return rc;
	s->magic = SOCK_MAGIC;
	*out = s;
	return 0;
}

/* Makes a reserved record open with fd (taken: closed on failure). */
static int sock_bind_fd(struct sock *s, int fd, asup_socket *out)
{
	int rc;

	s->h.owner = s;
	s->h.on_teardown = sock_teardown;
	s->h.oneshot = 0;
	rc = asup__reactor_attach(s->r, &s->h, fd);
	if (rc < 0) {
		close(fd);
		s->h.fd = -1;
		return rc;
	}
	out->_region = s->region;
	out->_p = s;
	return 0;
}

static int sock_new(asup_cx *cx, int domain, int type, struct sock **sp, asup_socket *out)
{
	asup__reactor *r;
	int fd, rc;

	if (!out)
		return -EINVAL;
	rc = asup__io_reactor(cx, &r);
	if (rc < 0)
		return rc;
	rc = sock_reserve(cx, r, sp);
	if (rc < 0)
		return rc;
	fd = socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	return sock_bind_fd(*sp, fd, out);
}

static int sock_get(asup_cx *cx, asup_socket h, struct sock **out)
{
	asup__reactor *r;
	struct sock *s;
	int rc = asup__io_reactor(cx, &r);

	if (rc < 0)
		return rc;
	if (!h._p)
		return -EBADF;
	if (!asup__region_lookup(cx->k, h._region))
		return -ASUP_ECLOSED;
	s = h._p;
	if (s->magic != SOCK_MAGIC || s->region != h._region || s->h.fd < 0)
		return -EBADF;
	*out = s;
	return 0;
}

/* ---- the transfer loop --------------------------------------------------- */

struct xfer {
	int kind;               /* 0 recv, 1 send, 2 readv, 3 writev, 4 recvfrom, 5 sendto */
	void *buf;
	size_t len;
	const struct iovec *iov;
	int iovcnt;
	struct sockaddr *addr;
	socklen_t *addr_len;
	const struct sockaddr *to;
	socklen_t to_len;
};

static int64_t xfer_once(int fd, struct xfer *x)
{
	struct msghdr m;
	ssize_t n;

	switch (x->kind) {
	case 0: n = recv(fd, x->buf, x->len, 0); break;
	case 1: n = send(fd, x->buf, x->len, MSG_NOSIGNAL); break;
	case 2:
	case 3:
		memset(&m, 0, sizeof(m));
		m.msg_iov = (struct iovec *)x->iov;
		m.msg_iovlen = (size_t)x->iovcnt;
		n = x->kind == 2 ? recvmsg(fd, &m, 0) : sendmsg(fd, &m, MSG_NOSIGNAL);
		break;
	case 4: n = recvfrom(fd, x->buf, x->len, 0, x->addr, x->addr_len); break;
	default: n = sendto(fd, x->buf, x->len, MSG_NOSIGNAL, x->to, x->to_len); break;
	}
	return n >= 0 ? (int64_t)n : -(int64_t)errno;
}

static int64_t xfer(asup_cx *cx, asup_socket h, struct xfer *x)
{
	uint32_t ev = (x->kind & 1) ? ASUP__IO_OUT : ASUP__IO_IN;
	struct sock *s;
	int64_t n;
	int rc = sock_get(cx, h, &s);

	if (rc < 0)
		return rc;
	rc = asup__cx_checkpoint(cx);
	if (rc < 0)
		return rc;
	if (s->r->kind == ASUP__IO_URING && x->kind <= 1 && !(x->kind ? s->h.wr : s->h.rd))
		/* A kernel operation at once: the ring submits it with the
		 * loop's next wait, together with everything else queued, so a
		 * transfer costs no system call of its own. (Another task's
		 * operation in that direction holds the slot: then the system
		 * call is tried, as on epoll.) */
		return asup__reactor_transfer(cx, s->r, &s->h, x->kind, x->buf, x->len);
	for (;;) {
		n = xfer_once(s->h.fd, x);
		if (n >= 0 || (n != -EAGAIN && n != -EINTR))
			return n;
		if (n == -EINTR)
			continue;
		rc = asup__reactor_wait(cx, s->r, &s->h, ev);
		if (rc < 0)
			return rc;
		if (s->h.fd < 0)
			return -EBADF;
	}
}

ASUP_API int64_t asup_sock_read(asup_cx *cx, asup_socket s, void *buf, size_t len)
{
	struct xfer x = {.kind = 0, .buf = buf, .len = len};

	if (asup__cx_self(cx) && (!buf || len == 0))
		return -EINVAL;
	if (asup__io_is_sim(cx))
		return asup__sim_read(cx, s, &(struct iovec){buf, len}, 1);
	return xfer(cx, s, &x);
}

ASUP_API int64_t asup_sock_write(asup_cx *cx, asup_socket s, const void *buf, size_t len)
{
	struct xfer x = {.kind = 1, .buf = (void *)buf, .len = len};

	if (asup__cx_self(cx) && (!buf || len == 0))
		return -EINVAL;
	if (asup__io_is_sim(cx))
		return asup__sim_write(cx, s, &(struct iovec){(void *)buf, len}, 1);
	return xfer(cx, s, &x);
}

ASUP_API int asup_sock_write_all(asup_cx *cx, asup_socket s, const void *buf, size_t len,
				 size_t *written)
{
	size_t done = 0;
	int64_t n = 0;

	if (written)
		*written = 0;
	if (asup__cx_self(cx) && (!buf || len == 0))
		return -EINVAL;
	while (done < len) {
		n = asup_sock_write(cx, s, (const char *)buf + done, len - done);
		if (n < 0)
			break;
		done += (size_t)n;
		if (written)
			*written = done;
	}
	return n < 0 ? (int)n : 0;
}

static int iov_ok(const struct iovec *iov, int n)
{
	if (!iov || n < 1 || n > IOV_MAX)
		return 0;
	for (int i = 0; i < n; i++)
		if (!iov[i].iov_base && iov[i].iov_len)
			return 0;
	return 1;
}

ASUP_API int64_t asup_sock_readv(asup_cx *cx, asup_socket s, const struct iovec *iov, int n)
{
	struct xfer x = {.kind = 2, .iov = iov, .iovcnt = n};

	if (asup__cx_self(cx) && !iov_ok(iov, n))
		return -EINVAL;
	if (asup__io_is_sim(cx))
		return asup__sim_read(cx, s, iov, n);
	return xfer(cx, s, &x);
}

ASUP_API int64_t asup_sock_writev(asup_cx *cx, asup_socket s, const struct iovec *iov, int n)
{
	struct xfer x = {.kind = 3, .iov = iov, .iovcnt = n};

	if (asup__cx_self(cx) && !iov_ok(iov, n))
		return -EINVAL;
	if (asup__io_is_sim(cx))
		return asup__sim_write(cx, s, iov, n);
	return xfer(cx, s, &x);
}

ASUP_API int64_t asup_sock_recvfrom(asup_cx *cx, asup_socket s, void *buf, size_t len,
				    struct sockaddr *addr, socklen_t *addr_len)
{
	struct xfer x = {.kind = 4, .buf = buf, .len = len, .addr = addr, .addr_len = addr_len};

	if (asup__cx_self(cx) && (!buf || len == 0 || (addr && !addr_len)))
		return -EINVAL;
	if (asup__io_is_sim(cx))
		return asup__sim_recvfrom(cx, s, buf, len, addr, addr_len);
	return xfer(cx, s, &x);
}

ASUP_API int64_t asup_sock_sendto(asup_cx *cx, asup_socket s, const void *buf, size_t len,
				  const struct sockaddr *addr, socklen_t addr_len)
{
	struct xfer x = {.kind = 5, .buf = (void *)buf, .len = len, .to = addr,
			 .to_len = addr ? addr_len : 0};

	if (asup__cx_self(cx) && (!buf && len))
		return -EINVAL;
	if (asup__io_is_sim(cx))
		return asup__sim_sendto(cx, s, buf, len, addr, addr ? addr_len : 0);
	return xfer(cx, s, &x);
}

/* ---- opening ------------------------------------------------------------ */

ASUP_API void asup_listen_opts_init(asup_listen_opts *o)
{
	if (!o)
		return;
	o->backlog = 128;
	o->reuseaddr = 1;
	o->reuseport = 0;
}

static int inet_ok(const struct sockaddr *addr, socklen_t len)
{
	if (!addr)
		return 0;
	if (addr->sa_family == AF_INET)
		return len >= (socklen_t)sizeof(struct sockaddr_in);
	if (addr->sa_family == AF_INET6)
		return len >= (socklen_t)sizeof(struct sockaddr_in6);
	return 0;
}

static int unix_addr(const char *path, struct sockaddr_un *sa, socklen_t *len)
{
	size_t n;

	if (!path || !path[0] || (n = strlen(path)) >= sizeof(sa->sun_path))
		return -EINVAL;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, path, n);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	return 0;
}

static int listen_on(asup_cx *cx, const struct sockaddr *addr, socklen_t len,
		     const asup_listen_opts *opts, asup_socket *out)
{
	asup_listen_opts d;
	struct sock *s;
	int one = 1, rc;

	if (!opts) {
		asup_listen_opts_init(&d);
		opts = &d;
	}
	rc = sock_new(cx, addr->sa_family, SOCK_STREAM, &s, out);
	if (rc < 0)
		return rc;
	if ((opts->reuseaddr &&
	     setsockopt(s->h.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) ||
	    (opts->reuseport &&
	     setsockopt(s->h.fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) ||
	    bind(s->h.fd, addr, len) < 0 ||
	    listen(s->h.fd, opts->backlog > 0 ? opts->backlog : 128) < 0) {
		rc = -errno;
		sock_shut(s);
		return rc;
	}
	s->listening = 1;
	return 0;
}

ASUP_API int asup_tcp_listen(asup_cx *cx, const struct sockaddr *addr, socklen_t len,
			     const asup_listen_opts *opts, asup_socket *out)
{
	if (asup__cx_self(cx) && !inet_ok(addr, len))
		return -EINVAL;
	if (!asup__cx_self(cx))
		return -ASUP_ENOTASK;
	if (asup__io_is_sim(cx))
		return asup__sim_listen(cx, addr, len, opts, out);
	return listen_on(cx, addr, len, opts, out);
}

ASUP_API int asup_unix_listen(asup_cx *cx, const char *path, const asup_listen_opts *opts,
			      asup_socket *out)
{
	struct sockaddr_un sa;
	socklen_t len;

	if (!asup__cx_self(cx))
		return -ASUP_ENOTASK;
	if (unix_addr(path, &sa, &len) < 0)
		return -EINVAL;
	if (asup__io_is_sim(cx))
		return asup__sim_listen(cx, (struct sockaddr *)&sa, len, opts, out);
	return listen_on(cx, (struct sockaddr *)&sa, len, opts, out);
}

/* accept(2) failed for lack of a resource the server may get back (its fd
 * limit, the system's, memory): the next accept on l waits first, doubling
 * the wait while the failures go on, so that a retrying loop does not spin. */
static void accept_backoff_arm(asup_cx *cx, struct sock *l)
{
	uint64_t b = l->accept_backoff ? l->accept_backoff * 2 : ACCEPT_BACKOFF_MIN_NS;

	l->accept_backoff = b < ACCEPT_BACKOFF_MAX_NS ? b : ACCEPT_BACKOFF_MAX_NS;
	l->accept_retry = asup_time_add(asup_now(cx), l->accept_backoff);
}

/* The wait an earlier failure asked for: a sleep, so a checkpoint
 * (-ECANCELED/-ETIMEDOUT); -EBADF if l was closed meanwhile. */
static int accept_backoff_wait(asup_cx *cx, struct sock *l)
{
	int rc;

	if (!l->accept_backoff || asup_now(cx) >= l->accept_retry)
		return 0;
	rc = asup_sleep_until(cx, l->accept_retry);
	if (rc < 0)
		return rc;
	return l->h.fd < 0 ? -EBADF : 0;
}

ASUP_API int asup_sock_accept(asup_cx *cx, asup_socket ls, asup_socket *out,
			      struct sockaddr *peer, socklen_t *peer_len)
{
	struct sock *l, *s;
	int fd, rc;

	if (asup__io_is_sim(cx))
		return asup__sim_accept(cx, ls, out, peer, peer_len);
	rc = sock_get(cx, ls, &l);
	if (rc < 0)
		return rc;
	if (!out || (peer && !peer_len) || !l->listening)
		return -EINVAL;
	rc = asup__cx_checkpoint(cx);
	if (rc < 0)
		return rc;
	rc = accept_backoff_wait(cx, l);
	if (rc < 0)
		return rc;
	rc = sock_reserve(cx, l->r, &s);
	if (rc < 0)
		return rc;
	for (;;) {
		fd = accept4(l->h.fd, peer, peer ? peer_len : NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			l->accept_backoff = 0;
			return sock_bind_fd(s, fd, out);
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EMFILE || errno == ENFILE || errno == ENOMEM) {
			rc = -errno;
			accept_backoff_arm(cx, l);
			return rc;
		}
		if (errno != EAGAIN)
			return -errno;
		rc = asup__reactor_wait(cx, l->r, &l->h, ASUP__IO_IN);
		if (rc < 0)
			return rc;
		if (l->h.fd < 0)
			return -EBADF;
	}
}

/* Connects s (open, non-blocking) to addr, waiting for the handshake. */
static int connect_wait(asup_cx *cx, struct sock *s, const struct sockaddr *addr,
			socklen_t len)
{
	socklen_t el = sizeof(int);
	int err = 0, rc;

	rc = asup__cx_checkpoint(cx);
	if (rc < 0)
		return rc;
	if (connect(s->h.fd, addr, len) == 0)
		return 0;
	if (errno != EINPROGRESS && errno != EAGAIN)
		return -errno;
	rc = asup__reactor_wait(cx, s->r, &s->h, ASUP__IO_OUT);
	if (rc < 0)
		return rc;
	if (getsockopt(s->h.fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
		return -errno;
	return -err;
}

static int connect_to(asup_cx *cx, int type, const struct sockaddr *addr, socklen_t len,
		      asup_socket *out)
{
	struct sock *s;
	int rc = sock_new(cx, addr->sa_family, type, &s, out);

	if (rc < 0)
		return rc;
	rc = connect_wait(cx, s, addr, len);
	if (rc < 0) {
		/* Nothing half-made is left open: not the fd, nor a handle. */
		sock_shut(s);
		out->_p = NULL;
	}
	return rc;
}

ASUP_API int asup_tcp_connect(asup_cx *cx, const struct sockaddr *addr, socklen_t len,
			      asup_socket *out)
{
	if (!asup__cx_self(cx))
		return -ASUP_ENOTASK;
	if (!inet_ok(addr, len) || !out)
		return -EINVAL;
	if (asup__io_is_sim(cx))
		return asup__sim_connect(cx, addr, len, out);
	return connect_to(cx, SOCK_STREAM, addr, len, out);
}

ASUP_API int asup_unix_connect(asup_cx *cx, const char *path, asup_socket *out)
{
	struct sockaddr_un sa;
	socklen_t len;

	if (!asup__cx_self(cx))
		return -ASUP_ENOTASK;
	if (unix_addr(path, &sa, &len) < 0 || !out)
		return -EINVAL;
	if (asup__io_is_sim(cx))
		return asup__sim_connect(cx, (struct sockaddr *)&sa, len, out);
	return connect_to(cx, SOCK_STREAM, (struct sockaddr *)&sa, len, out);
}

static int dgram_bind(asup_cx *cx, int family, const struct sockaddr *addr, socklen_t len,
		      asup_socket *out)
{
	struct sock *s;
	int rc = sock_new(cx, family, SOCK_DGRAM, &s, out);

	if (rc < 0)
		return rc;
	if (addr && bind(s->h.fd, addr, len) < 0) {
		rc = -errno;
		sock_shut(s);
		out->_p = NULL;
		return rc;
	}
	return 0;
}

ASUP_API int asup_udp_bind(asup_cx *cx, const struct sockaddr *addr, socklen_t len,
			   asup_socket *out)
{
	if (!asup__cx_self(cx))
		return -ASUP_ENOTASK;
	if (!inet_ok(addr, len) || !out)
		return -EINVAL;
	if (asup__io_is_sim(cx))
		return asup__sim_dgram_bind(cx, addr, len, addr->sa_family, out);
	return dgram_bind(cx, addr->sa_family, addr, len, out);
}

ASUP_API int asup_unix_dgram_bind(asup_cx *cx, const char *path, asup_socket *out)
{
	struct sockaddr_un sa;
	socklen_t len = 0;

	if (!asup__cx_self(cx))
		return -ASUP_ENOTASK;
	if ((path && unix_addr(path, &sa, &len) < 0) || !out)
		return -EINVAL;
	if (asup__io_is_sim(cx))
		return asup__sim_dgram_bind(cx, path ? (struct sockaddr *)&sa : NULL, len, AF_UNIX,
					    out);
	return dgram_bind(cx, AF_UNIX, path ? (struct sockaddr *)&sa : NULL, len, out);
}

/* ---- the rest ------------------------------------------------------------- */

ASUP_API int asup_sock_connect_peer(asup_cx *cx, asup_socket h, const struct sockaddr *addr,
				    socklen_t len)
{
	struct sock *s;
	int rc;

	if (asup__io_is_sim(cx))
		return asup__sim_connect_peer(cx, h, addr, len);
	rc = sock_get(cx, h, &s);
	if (rc < 0)
		return rc;
	if (!addr || len == 0)
		return -EINVAL;
	return connect(s->h.fd, addr, len) < 0 ? -errno : 0;
}

ASUP_API int asup_sock_shutdown(asup_cx *cx, asup_socket h, int how)
{
	struct sock *s;
	int rc;

	if (asup__io_is_sim(cx))
		return asup__sim_shutdown(cx, h, how);
	rc = sock_get(cx, h, &s);
	if (rc < 0)
		return rc;
	if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
		return -EINVAL;
	return shutdown(s->h.fd, how) < 0 ? -errno : 0;
}

ASUP_API int asup_sock_close(asup_cx *cx, asup_socket h)
{
	struct sock *s;
	int rc;

	if (asup__io_is_sim(cx))
		return asup__sim_close(cx, h);
	rc = sock_get(cx, h, &s);
	if (rc < 0)
		return rc;
	sock_shut(s);
	return 0;
}

ASUP_API int asup_sock_local_addr(asup_cx *cx, asup_socket h, struct sockaddr *addr,
				  socklen_t *len)
{
	struct sock *s;
	int rc;

	if (asup__io_is_sim(cx))
		return asup__sim_local_addr(cx, h, addr, len);
	rc = sock_get(cx, h, &s);
	if (rc < 0)
		return rc;
	if (!addr || !len)
		return -EINVAL;
	return getsockname(s->h.fd, addr, len) < 0 ? -errno : 0;
}

ASUP_API int asup_sock_fd(asup_cx *cx, asup_socket h)
{
	struct sock *s;
	int rc = sock_get(cx, h, &s);

	return rc < 0 ? rc : s->h.fd;
}

/* ---- fd readiness -------------------------------------------------------- */

ASUP_API int asup_fd_wait(asup_cx *cx, int fd, uint32_t events)
{
	asup__io_handle h;
	asup__reactor *r;
	struct stat st;
	int rc = asup__io_reactor(cx, &r);

	if (rc < 0)
		return rc;
	if (events == 0 || (events & ~(uint32_t)(ASUP_IO_READABLE | ASUP_IO_WRITABLE)))
		return -EINVAL;
	if (fd < 0 || fstat(fd, &st) < 0)
		return -EBADF;
	rc = asup__cx_checkpoint(cx);
	if (rc < 0)
		return rc;
	/* A regular file or directory is always ready (as poll(2) says). */
	if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))
		return (int)events;
	memset(&h, 0, sizeof(h));
	h.oneshot = 1;
	rc = asup__reactor_attach(r, &h, fd);
	if (rc < 0)
		return rc;
	rc = asup__reactor_wait(cx, r, &h,
				(events & ASUP_IO_READABLE ? ASUP__IO_IN : 0) |
					(events & ASUP_IO_WRITABLE ? ASUP__IO_OUT : 0));
	asup__reactor_detach(r, &h);
	if (rc == -EEXIST)
		return -EBUSY;
	/* epoll refuses fds that cannot be polled (a character device such
	 * as /dev/null); poll(2) calls them always ready, and so do we. */
	if (rc == -EPERM)
		return (int)events;
	return rc;
}
