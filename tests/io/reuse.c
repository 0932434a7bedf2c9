/* Operations queued for the kernel (io_uring submits its queue with the run
 * loop's next wait and looks each fd up then): an fd number reused right
 * after a close must not be acted on by the closed socket's queued
 * operation, and a transfer queued by one task must not make another task's
 * transfer in the same direction fail as busy. */
#include "iotest.h"

struct reader {
	asup_socket s;
	char buf[16];
	int64_t n;
};

static int64_t parked_reader(asup_cx *cx, void *arg)
{
	struct reader *r = arg;

	r->n = asup_sock_read(cx, r->s, r->buf, sizeof(r->buf));
	return 0;
}

static int64_t reuse_root(asup_cx *cx, void *arg)
{
	struct reader r;
	asup_socket ls, srv;
	struct sockaddr_in a = io_lo4(io_listen4(cx, &ls));
	asup_task h;
	asup_outcome o;
	int fd, sv[2];
	char b[16];

	(void)arg;
	memset(&r, 0, sizeof(r));
	CHECK_EQ(asup_tcp_connect(cx, (struct sockaddr *)&a, sizeof(a), &r.s), 0);
	CHECK_EQ(asup_sock_accept(cx, ls, &srv, NULL, NULL), 0);
	fd = asup_sock_fd(cx, r.s);
	CHECK_EQ(asup_spawn(cx, parked_reader, &r, NULL, &h), 0);
	/* The reader runs and parks in its read; no wait of the loop comes in
	 * between, so on io_uring its RECV is still queued, not submitted. */
	CHECK_EQ(asup_yield(cx), 0);
	CHECK_EQ(asup_sock_close(cx, r.s), 0);
	/* The number is taken again at once, by a socket with data waiting. */
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	CHECK_EQ(sv[0], fd);
	CHECK_EQ(write(sv[1], "mine", 4), 4);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	/* The reader learnt its socket was closed and took nothing. */
	CHECK_EQ(r.n, -EBADF);
	CHECK_EQ(recv(sv[0], b, sizeof(b), 0), 4);
	CHECK(memcmp(b, "mine", 4) == 0);
	close(sv[0]);
	close(sv[1]);
	CHECK_EQ(asup_sock_close(cx, srv), 0);
	return asup_sock_close(cx, ls);
}

TEST(a_queued_read_of_a_closed_socket_never_reads_the_fd_numbers_next_owner)
{
	asup_rt *rt = io_rt();

	CHECK_EQ(io_run(rt, reuse_root, NULL), 0);
	CHECK_EQ(asup__io_waiting(rt), 0);
	test_rt_done(rt);
}

static int64_t queued_writer(asup_cx *cx, void *arg)
{
	struct reader *w = arg;

	w->n = asup_sock_write(cx, w->s, "oops", 4);
	return 0;
}

static int64_t reuse_write_root(asup_cx *cx, void *arg)
{
	struct reader w;
	asup_socket ls, srv;
	struct sockaddr_in a = io_lo4(io_listen4(cx, &ls));
	asup_task h;
	asup_outcome o;
	int fd, sv[2];
	char b[16];

	(void)arg;
	memset(&w, 0, sizeof(w));
	CHECK_EQ(asup_tcp_connect(cx, (struct sockaddr *)&a, sizeof(a), &w.s), 0);
	CHECK_EQ(asup_sock_accept(cx, ls, &srv, NULL, NULL), 0);
	fd = asup_sock_fd(cx, w.s);
	CHECK_EQ(asup_spawn(cx, queued_writer, &w, NULL, &h), 0);
	CHECK_EQ(asup_yield(cx), 0);
	CHECK_EQ(asup_sock_close(cx, w.s), 0);
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	CHECK_EQ(sv[0], fd);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	/* Sent on the closed connection before its close, or not at all:
	 * never to the number's next owner. */
	CHECK(w.n == 4 || w.n == -EBADF);
	CHECK_EQ(recv(sv[1], b, sizeof(b), 0), -1);
	CHECK_EQ(errno, EAGAIN);
	if (w.n == 4) {
		CHECK_EQ(asup_sock_read(cx, srv, b, sizeof(b)), 4);
		CHECK(memcmp(b, "oops", 4) == 0);
	}
	close(sv[0]);
	close(sv[1]);
	CHECK_EQ(asup_sock_close(cx, srv), 0);
	return asup_sock_close(cx, ls);
}

TEST(a_queued_write_to_a_closed_socket_never_reaches_the_fd_numbers_next_owner)
{
	asup_rt *rt = io_rt();

	CHECK_EQ(io_run(rt, reuse_write_root, NULL), 0);
	CHECK_EQ(asup__io_waiting(rt), 0);
	test_rt_done(rt);
}

/* Two tasks writing to one socket at once: the second does not find the
 * direction "busy" because the first one's write is queued for the kernel;
 * it writes by a system call, and both writes arrive whole. */
struct two {
	asup_socket s;
	int64_t n[2];
};

static int64_t writer_a(asup_cx *cx, void *arg)
{
	struct two *t = arg;

	t->n[0] = asup_sock_write(cx, t->s, "aaaa", 4);
	return 0;
}

static int64_t writer_b(asup_cx *cx, void *arg)
{
	struct two *t = arg;

	t->n[1] = asup_sock_write(cx, t->s, "bbbb", 4);
	return 0;
}

static int64_t two_writers_root(asup_cx *cx, void *arg)
{
	struct two t;
	asup_socket ls, srv;
	struct sockaddr_in a = io_lo4(io_listen4(cx, &ls));
	asup_task ha, hb;
	asup_outcome o;
	char b[16];
	size_t got = 0;

	(void)arg;
	memset(&t, 0, sizeof(t));
	CHECK_EQ(asup_tcp_connect(cx, (struct sockaddr *)&a, sizeof(a), &t.s), 0);
	CHECK_EQ(asup_sock_accept(cx, ls, &srv, NULL, NULL), 0);
	CHECK_EQ(asup_spawn(cx, writer_a, &t, NULL, &ha), 0);
	CHECK_EQ(asup_spawn(cx, writer_b, &t, NULL, &hb), 0);
	CHECK_EQ(asup_join(cx, &ha, &o), 0);
	CHECK_EQ(asup_join(cx, &hb, &o), 0);
	CHECK_EQ(t.n[0], 4);
	CHECK_EQ(t.n[1], 4);
	while (got < 8) {
		int64_t n = asup_sock_read(cx, srv, b + got, sizeof(b) - got);
		CHECK(n > 0);
		got += (size_t)n;
	}
	CHECK_EQ(got, 8);
	b[8] = 0;
	CHECK(strcmp(b, "aaaabbbb") == 0 || strcmp(b, "bbbbaaaa") == 0);
	CHECK_EQ(asup_sock_close(cx, t.s), 0);
	CHECK_EQ(asup_sock_close(cx, srv), 0);
	return asup_sock_close(cx, ls);
}

TEST(two_tasks_writing_to_one_socket_at_once_both_succeed)
{
	asup_rt *rt = io_rt();

	CHECK_EQ(io_run(rt, two_writers_root, NULL), 0);
	test_rt_done(rt);
}
