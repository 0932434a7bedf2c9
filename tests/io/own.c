/* Ownership: sockets belong to the region they were opened in; a region
 * that closes with sockets open closes them and reports it; handles used
 * after a close or after their region closed get a clear code. */
#include "iotest.h"

struct own {
	asup_socket ls, c;
	int fd;
};

static int64_t open_and_leave(asup_cx *cx, void *arg)
{
	struct own *w = arg;
	struct sockaddr_in a = io_lo4(io_listen4(cx, &w->ls));

	CHECK_EQ(asup_tcp_connect(cx, (struct sockaddr *)&a, sizeof(a), &w->c), 0);
	w->fd = asup_sock_fd(cx, w->c);
	return 0; /* both left open */
}

static int64_t region_close(asup_cx *cx, void *arg)
{
	struct own *w = arg;
	asup_outcome o;
	char b;

	CHECK_EQ(asup_region(cx, open_and_leave, w, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	/* The region closed its sockets: the fd is gone, the handles refused. */
	CHECK(fcntl(w->fd, F_GETFD) < 0);
	CHECK_EQ(asup_sock_read(cx, w->c, &b, 1), -ASUP_ECLOSED);
	CHECK_EQ(asup_sock_write(cx, w->c, "x", 1), -ASUP_ECLOSED);
	CHECK_EQ(asup_sock_close(cx, w->ls), -ASUP_ECLOSED);
	CHECK_EQ(asup_sock_accept(cx, w->ls, &w->c, NULL, NULL), -ASUP_ECLOSED);
	return 0;
}

TEST(region_closing_with_sockets_open_closes_them_and_reports_it)
{
	char path[] = "/tmp/asup-io-report-XXXXXX", text[1024];
	int fd = mkstemp(path), saved = dup(2);
	struct own w;
	asup_rt *rt = io_rt();
	ssize_t n;

	CHECK(fd >= 0 && saved >= 0);
	CHECK_EQ(dup2(fd, 2), 2);
	CHECK_EQ(io_run(rt, region_close, &w), 0);
	test_rt_done(rt);
	CHECK_EQ(dup2(saved, 2), 2);
	n = pread(fd, text, sizeof(text) - 1, 0);
	CHECK(n > 0);
	text[n] = 0;
	CHECK(strstr(text, "closed with socket fd") != NULL);
	/* Two sockets were left open: two reports. */
	CHECK(strstr(strstr(text, "closed with socket fd") + 1, "closed with socket fd") != NULL);
	close(fd);
	unlink(path);
}

static struct {
	int n;
	uint64_t region[4];
	int64_t fd[4];
} leaks;

static void leak_hook(void *ud, const asup_report *r)
{
	(void)ud;
	CHECK_EQ(r->kind, ASUP_REPORT_RESOURCE_LEAK);
	CHECK_STR_EQ(r->why, "socket");
	CHECK(strstr(r->line, "still open; closed it") != NULL);
	if (leaks.n < 4) {
		leaks.region[leaks.n] = r->region_id;
		leaks.fd[leaks.n] = r->value;
	}
	leaks.n++;
}

static int64_t region_close_counted(asup_cx *cx, void *arg)
{
	struct own *w = arg;
	asup_outcome o;

	CHECK_EQ(asup_region(cx, open_and_leave, w, &o), 0);
	CHECK_EQ(leaks.n, 2);
	CHECK(leaks.region[0] != 0 && leaks.region[0] == leaks.region[1]);
	CHECK(leaks.fd[0] == w->fd || leaks.fd[1] == w->fd);
	return 0;
}

TEST(sockets_left_open_are_reported_through_the_report_hook)
{
	asup_rt_config cfg;
	asup_rt *rt;
	asup_outcome o;
	struct own w;
	int rc;

	asup_rt_config_init(&cfg);
	cfg.io_backend = io_wants_uring() ? ASUP_IO_URING : ASUP_IO_EPOLL;
	cfg.report = leak_hook;
	rc = asup_rt_create(&cfg, &rt);
	if (rc == -ENOSYS && io_wants_uring())
		SKIP("io_uring refused by this kernel");
	CHECK_EQ(rc, 0);
	CHECK_EQ(asup_rt_run(rt, region_close_counted, &w, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(asup_rt_destroy(rt), 0);
	CHECK_EQ(leaks.n, 2); /* nothing more at destroy */
}

static int64_t after_close(asup_cx *cx, void *arg)
{
	asup_socket ls, c;
	struct sockaddr_in a = io_lo4(io_listen4(cx, &ls));
	char b;

	CHECK_EQ(asup_tcp_connect(cx, (struct sockaddr *)&a, sizeof(a), &c), 0);
	CHECK_EQ(asup_sock_close(cx, c), 0);
	CHECK_EQ(asup_sock_close(cx, c), -EBADF);
	CHECK_EQ(asup_sock_read(cx, c, &b, 1), -EBADF);
	CHECK_EQ(asup_sock_write(cx, c, "x", 1), -EBADF);
	CHECK_EQ(asup_sock_shutdown(cx, c, SHUT_WR), -EBADF);
	CHECK_EQ(asup_sock_fd(cx, c), -EBADF);
	CHECK_EQ(asup_sock_close(cx, ls), 0);
	return 0;
}

TEST(socket_used_after_close_returns_ebadf)
{
	asup_rt *rt = io_rt();
	CHECK_EQ(io_run(rt, after_close, NULL), 0);
	test_rt_done(rt);
}

struct closer {
	asup_socket s;
};

static int64_t parked_reader(asup_cx *cx, void *arg)
{
	char b[8];
	return asup_sock_read(cx, ((struct closer *)arg)->s, b, sizeof(b));
}

static int64_t close_under_reader(asup_cx *cx, void *arg)
{
	struct closer c;
	asup_socket ls;
	struct sockaddr_in a = io_lo4(io_listen4(cx, &ls));
	asup_task h;
	asup_outcome o;

	CHECK_EQ(asup_tcp_connect(cx, (struct sockaddr *)&a, sizeof(a), &c.s), 0);
	CHECK_EQ(asup_spawn(cx, parked_reader, &c, NULL, &h), 0);
	CHECK_EQ(asup_sleep(cx, 5 * 1000000ull), 0);
	CHECK_EQ(asup_sock_close(cx, c.s), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_ERR);
	CHECK_EQ(o.value, -EBADF);
	return asup_sock_close(cx, ls);
}

TEST(closing_a_socket_wakes_its_parked_reader_with_ebadf)
{
	asup_rt *rt = io_rt();
	CHECK_EQ(io_run(rt, close_under_reader, NULL), 0);
	CHECK_EQ(asup__io_waiting(rt), 0);
	test_rt_done(rt);
}
