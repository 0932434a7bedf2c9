/*
 * Sockets and fd readiness.
 *
 * Every call takes the calling task's cx and needs ASUP_CAP_IO (-EPERM
 * without it). In deterministic mode (so in the lab) the socket calls run
 * over the runtime's simulated network (asupersync/simnet.h), with the same
 * codes and promises; asup_fd_wait and asup_sock_fd, which name real fds,
 * return -ASUP_ESIMONLY there. Every call that can wait is a checkpoint: it
 * returns -ECANCELED when the task is cancelled (-ETIMEDOUT when an
 * asup_timeout scope's deadline passed), and it returns only after the
 * kernel holds nothing of the operation (nor of its buffer). Nothing is
 * lost: a read that the kernel completed before the cancel took effect
 * returns its count (the pending cancel stops the next checkpoint), what no
 * read returned is still in the socket, and asup_sock_write_all reports
 * through *written what it wrote before it stopped.
 *
 * Ownership: a socket is owned by the region of the current scope when it
 * was opened (like channels). Closing that region closes the sockets still
 * open in it and reports each through the report hook (report.h; stderr by default). An asup_socket is a small value
 * naming the socket and its region: using it after asup_sock_close returns
 * -EBADF, after its region closed -ASUP_ECLOSED; never freed memory.
 * Buffers are borrowed for the call only.
 *
 * Common codes: -ASUP_ENOTASK (cx is not the running task's), -EPERM,
 * -ASUP_ESIMONLY, -EINVAL (NULL or bad argument), -EBADF (a socket never
 * opened or already closed), -ASUP_ECLOSED (its region closed), -ENOSYS
 * (the reactor could not be created), -ENOMEM, and the socket calls'
 * own -errno (-ECONNREFUSED, -ECONNRESET, -EPIPE, -EADDRINUSE, ...).
 */
#ifndef ASUPERSYNC_NET_H
#define ASUPERSYNC_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "core.h"
#include "cx.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct asup_socket {
	uint64_t _region;
	void *_p;
} asup_socket;

enum {
	ASUP_IO_READABLE = 1u << 0,
	ASUP_IO_WRITABLE = 1u << 1,
};

/* ---- fd readiness (for libraries that own their fds) ---- */

/* Waits until fd (borrowed; stays the caller's) is ready for one of events
 * (ASUP_IO_READABLE and/or ASUP_IO_WRITABLE). Returns the events that are
 * ready (> 0; a regular file or directory is ready at once, as poll(2) has
 * it), or -EBADF (not an open fd), -EINVAL (events 0 or unknown bits),
 * -EBUSY (epoll backend: another task already waits for this fd), or a
 * common code; -ASUP_ESIMONLY in deterministic mode (the simulated network
 * has no fds). */
ASUP_API int asup_fd_wait(asup_cx *cx, int fd, uint32_t events);

/* ---- TCP and Unix stream sockets ---- */

typedef struct asup_listen_opts {
	int backlog;     /* listen(2) backlog; <= 0 means 128 */
	int reuseaddr;   /* SO_REUSEADDR */
	int reuseport;   /* SO_REUSEPORT */
} asup_listen_opts;

/* Defaults: backlog 128, SO_REUSEADDR on, SO_REUSEPORT off. */
ASUP_API void asup_listen_opts_init(asup_listen_opts *o);

/* A listening TCP socket on addr (IPv4 or IPv6; port 0 picks one, see
 * asup_sock_local_addr). opts may be NULL (defaults). -EINVAL for a NULL or
 * non-inet addr or a wrong len, -EADDRINUSE, a common code. */
ASUP_API int asup_tcp_listen(asup_cx *cx, const struct sockaddr *addr, socklen_t len,
			     const asup_listen_opts *opts, asup_socket *out);
/* A listening Unix stream socket at path (created; an existing file there
 * is an error: -EADDRINUSE). -EINVAL for NULL, empty or too long paths. */
ASUP_API int asup_unix_listen(asup_cx *cx, const char *path, const asup_listen_opts *opts,
			      asup_socket *out);
/* Waits for a connection on a listening socket: a new socket (owned by the
 * current scope's region) in *out and, if peer is not NULL, the peer's
 * address (*peer_len in/out as for accept(2)). -EINVAL if ls does not
 * listen; a cancel leaves any pending connection queued.
 * Out of fds or memory (-EMFILE, -ENFILE, -ENOMEM) the call
 * returns the code at once and the connection stays queued; the listener
 * then backs off: its next accept first sleeps 1 ms, doubled after each
 * further such failure up to 100 ms, and reset by a success. So a server
 * loop that simply retries does not spin while the fds are used up, and
 * recovers within that back-off once they are free. The sleep is a
 * checkpoint (-ECANCELED/-ETIMEDOUT; -EBADF if ls is closed meanwhile). */
ASUP_API int asup_sock_accept(asup_cx *cx, asup_socket ls, asup_socket *out,
			      struct sockaddr *peer, socklen_t *peer_len);
/* Connects a new TCP socket to addr, waiting at most until the task's
 * deadline (-ETIMEDOUT under an asup_timeout scope, else -ECANCELED, both
 * with nothing left open). -ECONNREFUSED, -ENETUNREACH, ... */
ASUP_API int asup_tcp_connect(asup_cx *cx, const struct sockaddr *addr, socklen_t len,
			      asup_socket *out);
/* The same for a Unix stream socket at path: -ENOENT at once if nothing is
 * bound there, -EPROTOTYPE if a datagram socket is, -ECONNREFUSED if the
 * path exists with no listener (a real path left behind by a closed
 * listener; the simulated network forgets a path when its socket closes,
 * so there the answer is -ENOENT). */
ASUP_API int asup_unix_connect(asup_cx *cx, const char *path, asup_socket *out);

/* ---- reading and writing (any connected socket) ---- */

/* Reads up to len bytes; waits until some are there. Returns the count,
 * 0 at end of stream (the peer shut down its writing side), -EINVAL for a
 * NULL buf or len 0, -ECONNRESET, a common code. A reset (the peer closed
 * with bytes unread, or a fault) is told once, to the first read or write:
 * reads then return 0 and writes -EPIPE. -ENOTCONN on a listener. A
 * connected UDP socket returns -ECONNREFUSED once after a datagram it sent
 * found no socket at its peer (an ICMP port unreachable; the simulated
 * network sends it back after the route's latency, never for a datagram
 * lost on the way nor for an unconnected socket). */
ASUP_API int64_t asup_sock_read(asup_cx *cx, asup_socket s, void *buf, size_t len);
/* Writes up to len bytes; waits until some fit. Returns the count written
 * (> 0), -EINVAL for NULL buf or len 0, -EPIPE (the peer is gone, our side
 * shut down, a listener; no SIGPIPE is raised), -ECONNRESET (once, as for
 * read), -ECONNREFUSED (once, a connected UDP socket, as for read), a
 * common code. */
ASUP_API int64_t asup_sock_write(asup_cx *cx, asup_socket s, const void *buf, size_t len);
/* Writes all len bytes, waiting as often as needed. 0 when all were
 * written; otherwise the error, with *written (may be NULL) telling how
 * many bytes went out before it. */
ASUP_API int asup_sock_write_all(asup_cx *cx, asup_socket s, const void *buf, size_t len,
				 size_t *written);
/* Scatter/gather forms of read and write (1 .. IOV_MAX buffers). */
ASUP_API int64_t asup_sock_readv(asup_cx *cx, asup_socket s, const struct iovec *iov, int n);
ASUP_API int64_t asup_sock_writev(asup_cx *cx, asup_socket s, const struct iovec *iov, int n);
/* shutdown(2): how is SHUT_RD, SHUT_WR or SHUT_RDWR. -ENOTCONN. */
ASUP_API int asup_sock_shutdown(asup_cx *cx, asup_socket s, int how);
/* Closes the socket: tasks waiting on it return -EBADF, the handle becomes
 * invalid (-EBADF afterwards). Never waits. */
ASUP_API int asup_sock_close(asup_cx *cx, asup_socket s);
/* The local address (e.g. the port picked for port 0). *len in/out. */
ASUP_API int asup_sock_local_addr(asup_cx *cx, asup_socket s, struct sockaddr *addr,
				  socklen_t *len);
/* The underlying fd, for setsockopt and the like (borrowed: never close it
 * yourself). -EBADF, -ASUP_ECLOSED; -ASUP_ESIMONLY in deterministic mode
 * (a simulated socket has no fd). */
ASUP_API int asup_sock_fd(asup_cx *cx, asup_socket s);

/* ---- UDP and Unix datagram sockets ---- */

/* A UDP socket bound to addr (IPv4 or IPv6; port 0 picks one). */
ASUP_API int asup_udp_bind(asup_cx *cx, const struct sockaddr *addr, socklen_t len,
			   asup_socket *out);
/* A Unix datagram socket bound to path (NULL: unbound, for sending). */
ASUP_API int asup_unix_dgram_bind(asup_cx *cx, const char *path, asup_socket *out);
/* Sets the default peer of a datagram socket (then read/write work); a
 * Unix path must be bound already (-ENOENT, -EPROTOTYPE as for
 * asup_unix_connect). On a stream socket it is connect(2) again: -EISCONN,
 * except that the first call on a TCP socket asup_tcp_connect made returns
 * 0 (Linux confirms the non-blocking connect both io backends made; the
 * simulated network answers the same). */
ASUP_API int asup_sock_connect_peer(asup_cx *cx, asup_socket s, const struct sockaddr *addr,
				    socklen_t len);
/* Sends one datagram to addr (NULL: the connected peer). Returns the count.
 * len 0 sends an empty datagram. No peer and no addr: -EDESTADDRREQ (UDP),
 * -ENOTCONN (Unix). A Unix addr nobody bound: -ENOENT at once (-EPROTOTYPE
 * for a stream socket's path). On a connected stream socket it is write,
 * addr ignored. */
ASUP_API int64_t asup_sock_sendto(asup_cx *cx, asup_socket s, const void *buf, size_t len,
				  const struct sockaddr *addr, socklen_t addr_len);
/* Receives one datagram (truncated to len), waiting until one is there; the
 * sender's address into addr if not NULL (*addr_len in/out). On a stream
 * socket it is read, with *addr_len set to 0 (no sender address). */
ASUP_API int64_t asup_sock_recvfrom(asup_cx *cx, asup_socket s, void *buf, size_t len,
				    struct sockaddr *addr, socklen_t *addr_len);

#ifdef __cplusplus
}
#endif

#endif
