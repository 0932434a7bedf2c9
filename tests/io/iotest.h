/*
 * Helpers of the I/O tests: a runtime on the backend named by
 * ASUP_IO_BACKEND (epoll or uring; CMake registers every case once per
 * backend), loopback addresses, and running a task to an Ok outcome.
 */
#ifndef ASUP_IO_TEST_H
#define ASUP_IO_TEST_H

#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/un.h>

#include "testrt.h"

int asup__io_backend_of(asup_rt *rt, uint64_t *stale);
uint32_t asup__io_waiting(asup_rt *rt);
uint64_t asup__io_polls(asup_rt *rt);

static inline int io_wants_uring(void)
{
	const char *b = getenv("ASUP_IO_BACKEND");
	return b && strcmp(b, "uring") == 0;
}

/* Valgrind runs one thread at a time and keeps its lock while a thread sits
 * in io_uring_enter, so another thread (the blocking pool's, a poster)
 * never runs to wake the reactor: cases whose waits depend on another
 * thread skip the io_uring variant under valgrind (the epoll variant and
 * the other builds cover them). */
static inline void io_skip_uring_threads_under_valgrind(void)
{
	if (getenv("ASUP_UNDER_VALGRIND") && io_wants_uring())
		SKIP("io_uring wait on another thread under valgrind");
}

/* A real-mode runtime on the backend under test; exits 77 (skipped) when
 * the kernel refuses io_uring. */
static inline asup_rt *io_rt(void)
{
	asup_rt_config cfg;
	asup_rt *rt;
	int rc;

	asup_rt_config_init(&cfg);
	cfg.io_backend = io_wants_uring() ? ASUP_IO_URING : ASUP_IO_EPOLL;
	rc = asup_rt_create(&cfg, &rt);
	if (rc == -ENOSYS && io_wants_uring()) {
		fprintf(stderr, "io_uring refused by this kernel: skipped\n");
		exit(77);
	}
	CHECK_EQ(rc, 0);
	return rt;
}

/* Runs fn as the root task; its outcome must be Ok; returns its value. */
static inline int64_t io_run(asup_rt *rt, asup_task_fn fn, void *arg)
{
	asup_outcome o;

	CHECK_EQ(asup_rt_run(rt, fn, arg, &o), 0);
	if (o.kind != ASUP_OUTCOME_OK)
		fprintf(stderr, "outcome %d value %" PRId64 " (%s)\n", (int)o.kind, o.value,
			asup_err_name((int)o.value));
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	return o.value;
}

static inline struct sockaddr_in io_lo4(uint16_t port)
{
	struct sockaddr_in a;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static inline struct sockaddr_in6 io_lo6(uint16_t port)
{
	struct sockaddr_in6 a;
	memset(&a, 0, sizeof(a));
	a.sin6_family = AF_INET6;
	a.sin6_port = htons(port);
	a.sin6_addr = in6addr_loopback;
	return a;
}

/* A TCP listener on 127.0.0.1 (port picked by the kernel): its port. */
static inline uint16_t io_listen4(asup_cx *cx, asup_socket *ls)
{
	struct sockaddr_in a = io_lo4(0);
	socklen_t len = sizeof(a);

	CHECK_EQ(asup_tcp_listen(cx, (struct sockaddr *)&a, sizeof(a), NULL, ls), 0);
	CHECK_EQ(asup_sock_local_addr(cx, *ls, (struct sockaddr *)&a, &len), 0);
	return ntohs(a.sin_port);
}

/* Number of open fds of this process. */
static inline int io_count_fds(void)
{
	int n = 0;
	for (int fd = 0; fd < 65536; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

#endif
