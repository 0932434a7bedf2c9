/* Bad input: every misuse gets a clear code, never a crash; I/O without the
 * capability is refused, and a deterministic runtime refuses real I/O. */
#include "iotest.h"

static int64_t table(asup_cx *cx, void *arg)
{
	asup_socket ls, c, bogus = {0, NULL}, u;
	struct sockaddr_in a = io_lo4(io_listen4(cx, &ls));
	struct sockaddr_in bad = a;
	struct sockaddr_un un;
	char buf[4], longpath[200];

	CHECK_EQ(asup_tcp_connect(cx, (struct sockaddr *)&a, sizeof(a), &c), 0);
	/* NULL buffers and zero lengths. */
	CHECK_EQ(asup_sock_read(cx, c, NULL, 4), -EINVAL);
	CHECK_EQ(asup_sock_read(cx, c, buf, 0), -EINVAL);
	CHECK_EQ(asup_sock_write(cx, c, NULL, 4), -EINVAL);
	CHECK_EQ(asup_sock_write(cx, c, buf, 0), -EINVAL);
	CHECK_EQ(asup_sock_write_all(cx, c, NULL, 4, NULL), -EINVAL);
	CHECK_EQ(asup_sock_recvfrom(cx, c, buf, 4, (struct sockaddr *)&bad, NULL), -EINVAL);
	/* Handles never opened. */
	CHECK_EQ(asup_sock_read(cx, bogus, buf, 4), -EBADF);
	CHECK_EQ(asup_sock_close(cx, bogus), -EBADF);
	CHECK_EQ(asup_sock_accept(cx, bogus, &u, NULL, NULL), -EBADF);
	/* Accept on a socket that does not listen; NULL outputs. */
	CHECK_EQ(asup_sock_accept(cx, c, &u, NULL, NULL), -EINVAL);
	CHECK_EQ(asup_sock_accept(cx, ls, NULL, NULL, NULL), -EINVAL);
	CHECK_EQ(asup_tcp_connect(cx, (struct sockaddr *)&a, sizeof(a), NULL), -EINVAL);
	/* Invalid addresses: NULL, short, wrong family, bad paths. */
	CHECK_EQ(asup_tcp_connect(cx, NULL, sizeof(a), &u), -EINVAL);
	CHECK_EQ(asup_tcp_connect(cx, (struct sockaddr *)&a, 3, &u), -EINVAL);
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	CHECK_EQ(asup_tcp_listen(cx, (struct sockaddr *)&un, sizeof(un), NULL, &u), -EINVAL);
	CHECK_EQ(asup_udp_bind(cx, (struct sockaddr *)&un, sizeof(un), &u), -EINVAL);
	memset(longpath, 'p', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = 0;
	CHECK_EQ(asup_unix_listen(cx, longpath, NULL, &u), -EINVAL);
	CHECK_EQ(asup_unix_listen(cx, "", NULL, &u), -EINVAL);
	CHECK_EQ(asup_unix_connect(cx, NULL, &u), -EINVAL);
	CHECK_EQ(asup_unix_connect(cx, "/nonexistent/asup/socket", &u), -ENOENT);
	/* A port in use without SO_REUSEPORT. */
	CHECK_EQ(asup_tcp_listen(cx, (struct sockaddr *)&a, sizeof(a), NULL, &u), -EADDRINUSE);
	/* fd readiness: bad fds and bad event masks. */
	CHECK_EQ(asup_fd_wait(cx, -1, ASUP_IO_READABLE), -EBADF);
	CHECK_EQ(asup_fd_wait(cx, 9999, ASUP_IO_READABLE), -EBADF);
	CHECK_EQ(asup_fd_wait(cx, 0, 0), -EINVAL);
	CHECK_EQ(asup_fd_wait(cx, 0, 8), -EINVAL);
	/* Nothing was lost on the way: the connection still works. */
	CHECK_EQ(asup_sock_write(cx, c, "ok", 2), 2);
	CHECK_EQ(asup_sock_accept(cx, ls, &u, NULL, NULL), 0);
	CHECK_EQ(asup_sock_read(cx, u, buf, 4), 2);
	return 0;
}

TEST(bad_input_table_gets_clear_codes_and_loses_nothing)
{
	asup_rt *rt = io_rt();
	CHECK_EQ(io_run(rt, table, NULL), 0);
	test_rt_done(rt);
}

static int64_t without_io(asup_cx *cx, void *arg)
{
	asup_socket s = *(asup_socket *)arg, u;
	struct sockaddr_in a = io_lo4(0);
	char b;

	CHECK_EQ(asup_tcp_listen(cx, (struct sockaddr *)&a, sizeof(a), NULL, &u), -EPERM);
	CHECK_EQ(asup_tcp_connect(cx, (struct sockaddr *)&a, sizeof(a), &u), -EPERM);
	CHECK_EQ(asup_udp_bind(cx, (struct sockaddr *)&a, sizeof(a), &u), -EPERM);
	CHECK_EQ(asup_sock_read(cx, s, &b, 1), -EPERM);
	CHECK_EQ(asup_sock_write(cx, s, "x", 1), -EPERM);
	CHECK_EQ(asup_sock_close(cx, s), -EPERM);
	CHECK_EQ(asup_fd_wait(cx, 0, ASUP_IO_READABLE), -EPERM);
	return 0;
}

static int64_t eperm(asup_cx *cx, void *arg)
{
	asup_socket ls;
	char b;

	io_listen4(cx, &ls);
	CHECK_EQ(asup_cx_restricted(cx, asup_cx_caps(cx) & ~(uint32_t)ASUP_CAP_IO, without_io,
				    &ls),
		 0);
	/* The socket is untouched: a task with the capability still uses it. */
	CHECK_EQ(asup_sock_fd(cx, ls) >= 0, 1);
	CHECK_EQ(asup_sock_read(cx, ls, &b, 1) < 0, 1);
	return asup_sock_close(cx, ls);
}

TEST(io_without_the_capability_is_refused_with_eperm)
{
	asup_rt *rt = io_rt();
	CHECK_EQ(io_run(rt, eperm, NULL), 0);
	test_rt_done(rt);
}

static int64_t det(asup_cx *cx, void *arg)
{
	struct sockaddr_in a = io_lo4(0);
	asup_socket u;

	/* Sockets go to the simulated network (tests/simnet); what names a
	 * real fd stays refused. */
	CHECK_EQ(asup_tcp_listen(cx, (struct sockaddr *)&a, sizeof(a), NULL, &u), 0);
	CHECK_EQ(asup_sock_fd(cx, u), -ASUP_ESIMONLY);
	CHECK_EQ(asup_fd_wait(cx, 0, ASUP_IO_READABLE), -ASUP_ESIMONLY);
	CHECK_EQ(asup_sock_close(cx, u), 0);
	return 0;
}

TEST(deterministic_runtime_refuses_real_fds_with_esimonly)
{
	asup_rt *rt = test_rt(ASUP_MODE_DETERMINISTIC, 7);
	CHECK_EQ(io_run(rt, det, NULL), 0);
	CHECK_EQ(asup__io_backend_of(rt, NULL), 0); /* no reactor was made */
	CHECK_STR_EQ(asup_err_name(-ASUP_ESIMONLY), "ASUP_ESIMONLY");
	test_rt_done(rt);
}

TEST(outside_a_task_io_calls_return_enotask)
{
	asup_socket u = {0, NULL};
	struct sockaddr_in a = io_lo4(0);
	char b;

	CHECK_EQ(asup_tcp_listen(NULL, (struct sockaddr *)&a, sizeof(a), NULL, &u), -ASUP_ENOTASK);
	CHECK_EQ(asup_sock_read(NULL, u, &b, 1), -ASUP_ENOTASK);
	CHECK_EQ(asup_fd_wait(NULL, 0, ASUP_IO_READABLE), -ASUP_ENOTASK);
}

TEST(config_io_backend_out_of_range_is_einval)
{
	asup_rt_config cfg;
	const char *field = NULL;
	asup_rt *rt;

	asup_rt_config_init(&cfg);
	CHECK_EQ(cfg.io_backend, ASUP_IO_AUTO);
	cfg.io_backend = (asup_io_backend)7;
	CHECK_EQ(asup_rt_config_check(&cfg, &field), -EINVAL);
	CHECK_STR_EQ(field, "io_backend");
	CHECK_EQ(asup_rt_create(&cfg, &rt), -EINVAL);
}

static int64_t auto_io(asup_cx *cx, void *arg)
{
	asup_socket ls;
	io_listen4(cx, &ls);
	return asup_sock_close(cx, ls);
}

TEST(auto_backend_picks_io_uring_where_the_kernel_allows_it_and_epoll_under_valgrind)
{
	asup_rt_config cfg;
	asup_rt *rt;

	asup_rt_config_init(&cfg);
	rt = test_rt_cfg(&cfg);
	CHECK_EQ(asup__io_backend_of(rt, NULL), 0); /* lazily: nothing yet */
	CHECK_EQ(io_run(rt, auto_io, NULL), 0);
	cfg.io_backend = ASUP_IO_URING;
	{
		asup_rt *probe;
		int rc = asup_rt_create(&cfg, &probe);
		/* 2: io_uring, 1: epoll; valgrind gets epoll (rt.h). */
		CHECK_EQ(asup__io_backend_of(rt, NULL),
			 rc == 0 && !harness_under_valgrind() ? 2 : 1);
		if (rc == 0)
			CHECK_EQ(asup_rt_destroy(probe), 0);
		else
			CHECK_EQ(rc, -ENOSYS);
	}
	test_rt_done(rt);
}
