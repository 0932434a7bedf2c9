/* TCP and Unix stream sockets: round trips, many connections, resets,
 * half-close, refused and timed-out connects, cancelled accepts. */
#include "iotest.h"

#include <signal.h>

struct echo {
	asup_socket ls;
	int conns;      /* connections to serve */
};

/* Echoes one connection until its peer shuts down writing. */
static int64_t echo_conn(asup_cx *cx, void *arg)
{
	asup_socket *s = arg;
	char buf[4096];
	int64_t n;

	while ((n = asup_sock_read(cx, *s, buf, sizeof(buf))) > 0)
		if (asup_sock_write_all(cx, *s, buf, (size_t)n, NULL) < 0)
			return -1;
	asup_sock_close(cx, *s);
	return n;
}

static int64_t echo_server(asup_cx *cx, void *arg)
{
	struct echo *e = arg;
	asup_socket *conns = calloc((size_t)e->conns, sizeof(*conns));
	asup_task *hs = calloc((size_t)e->conns, sizeof(*hs));
	int64_t bad = 0;

	for (int i = 0; i < e->conns; i++) {
		CHECK_EQ(asup_sock_accept(cx, e->ls, &conns[i], NULL, NULL), 0);
		CHECK_EQ(asup_spawn(cx, echo_conn, &conns[i], NULL, &hs[i]), 0);
	}
	for (int i = 0; i < e->conns; i++) {
		asup_outcome o;
		CHECK_EQ(asup_join(cx, &hs[i], &o), 0);
		bad += o.kind != ASUP_OUTCOME_OK || o.value != 0;
	}
	free(conns);
	free(hs);
	return bad;
}

struct wr {
	asup_socket s;
	const char *msg;
	size_t len;
};

static int64_t writer(asup_cx *cx, void *arg)
{
	struct wr *w = arg;
	size_t written = 0;

	CHECK_EQ(asup_sock_write_all(cx, w->s, w->msg, w->len, &written), 0);
	CHECK_EQ(written, w->len);
	return asup_sock_shutdown(cx, w->s, SHUT_WR);
}

/* Sends msg (from a writer task, so that neither side's buffers can fill
 * up with nobody reading), shuts down writing, reads everything back. */
static int round_trip(asup_cx *cx, asup_socket c, const char *msg, size_t len)
{
	struct wr w = {c, msg, len};
	char *back = malloc(len + 1);
	size_t got = 0;
	asup_task h;
	asup_outcome o;
	int64_t n;

	CHECK_EQ(asup_spawn(cx, writer, &w, NULL, &h), 0);
	while ((n = asup_sock_read(cx, c, back + got, len + 1 - got)) > 0)
		got += (size_t)n;
	CHECK_EQ(n, 0);
	CHECK_EQ(got, len);
	CHECK(memcmp(back, msg, len) == 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(o.value, 0);
	free(back);
	return 0;
}

static int64_t echo_v4(asup_cx *cx, void *arg)
{
	struct echo e = {.conns = 1};
	struct sockaddr_in a = io_lo4(io_listen4(cx, &e.ls));
	asup_socket c;
	asup_task srv;
	asup_outcome o;
	const char msg[] = "hello over loopback";

	CHECK_EQ(asup_spawn(cx, echo_server, &e, NULL, &srv), 0);
	CHECK_EQ(asup_tcp_connect(cx, (struct sockaddr *)&a, sizeof(a), &c), 0);
	round_trip(cx, c, msg, sizeof(msg));
	CHECK_EQ(asup_join(cx, &srv, &o), 0);
	CHECK_EQ(o.value, 0);
	return asup_sock_close(cx, c);
}

TEST(tcp_echo_round_trip_ipv4)
{
	asup_rt *rt = io_rt();
	CHECK_EQ(io_run(rt, echo_v4, NULL), 0);
	CHECK_EQ(asup__io_backend_of(rt, NULL), io_wants_uring() ? 2 : 1);
	test_rt_done(rt);
}

static int64_t echo_v6(asup_cx *cx, void *arg)
{
	struct echo e = {.conns = 1};
	struct sockaddr_in6 a = io_lo6(0);
	socklen_t len = sizeof(a);
	asup_socket c;
	asup_task srv;
	asup_outcome o;
	size_t big = 1 << 20; /* more than the socket buffers: both sides wait */
	char *msg = malloc(big);

	for (size_t i = 0; i < big; i++)
		msg[i] = (char)(i * 7 + 3);
	if (asup_tcp_listen(cx, (struct sockaddr *)&a, sizeof(a), NULL, &e.ls) == -EADDRNOTAVAIL) {
		free(msg);
		return 77; /* no IPv6 loopback here */
	}
	CHECK_EQ(asup_sock_local_addr(cx, e.ls, (struct sockaddr *)&a, &len), 0);
	CHECK_EQ(asup_spawn(cx, echo_server, &e, NULL, &srv), 0);
	CHECK_EQ(asup_tcp_connect(cx, (struct sockaddr *)&a, sizeof(a), &c), 0);
	/* A writer task and this reader: the echo needs both at once. */
	round_trip(cx, c, msg, big);
	CHECK_EQ(asup_join(cx, &srv, &o), 0);
	CHECK_EQ(o.value, 0);
	free(msg);
	return 0;
}

TEST(tcp_echo_round_trip_ipv6_larger_than_socket_buffers)
{
	asup_rt *rt = io_rt();
	int64_t v = io_run(rt, echo_v6, NULL);
	test_rt_done(rt);
	if (v == 77)
		exit(77);
	CHECK_EQ(v, 0);
}

/* ---- many connections ---- */

#define MANY 1000

struct client {
	uint16_t port;
	int i;
};

static int64_t one_client(asup_cx *cx, void *arg)
{
	struct client *c = arg;
	struct sockaddr_in a = io_lo4(c->port);
	asup_socket s;
	char msg[32];
	int len = snprintf(msg, sizeof(msg), "client %d", c->i);

	CHECK_EQ(asup_tcp_connect(cx, (struct sockaddr *)&a, sizeof(a), &s), 0);
	/* Everyone connects before anyone talks: MANY connections open at once. */
	CHECK_EQ(asup_yield(cx), 0);
	round_trip(cx, s, msg, (size_t)len);
	return asup_sock_close(cx, s);
}

static int64_t many(asup_cx *cx, void *arg)
{
	struct echo e = {.conns = MANY};
	asup_listen_opts lo;
	struct sockaddr_in a = io_lo4(0);
	socklen_t len = sizeof(a);
	struct client *cs = calloc(MANY, sizeof(*cs));
	asup_task *hs = calloc(MANY, sizeof(*hs));
	asup_task srv;
	asup_outcome o;
	int64_t bad = 0;

	asup_listen_opts_init(&lo);
	lo.backlog = MANY;
	CHECK_EQ(asup_tcp_listen(cx, (struct sockaddr *)&a, sizeof(a), &lo, &e.ls), 0);
	CHECK_EQ(asup_sock_local_addr(cx, e.ls, (struct sockaddr *)&a, &len), 0);
	CHECK_EQ(asup_spawn(cx, echo_server, &e, NULL, &srv), 0);
	for (int i = 0; i < MANY; i++) {
		cs[i].port = ntohs(a.sin_port);
		cs[i].i = i;
		CHECK_EQ(asup_spawn(cx, one_client, &cs[i], NULL, &hs[i]), 0);
	}
	for (int i = 0; i < MANY; i++) {
		CHECK_EQ(asup_join(cx, &hs[i], &o), 0);
		bad += o.kind != ASUP_OUTCOME_OK || o.value != 0;
	}
	CHECK_EQ(asup_join(cx, &srv, &o), 0);
	CHECK_EQ(o.value, 0);
	free(cs);
	free(hs);
	return bad;
}

TEST(tcp_thousand_concurrent_connections_echo)
{
	struct rlimit rl;
	asup_rt *rt;
	int before = io_count_fds();

	CHECK_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur < 4 * MANY && rl.rlim_max >= 4 * MANY) {
		rl.rlim_cur = 4 * MANY;
		CHECK_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
	}
	if (rl.rlim_cur < 2 * MANY + 64)
		exit(77);
	rt = io_rt();
	CHECK_EQ(io_run(rt, many, NULL), 0);
	test_rt_done(rt);
	CHECK_EQ(io_count_fds(), before);
}

/* ---- resets, half-close, refused, deadlines ---- */

static int64_t reset_peer(asup_cx *cx, void *arg)
{
	asup_socket ls, srv, c;
	uint16_t port = io_listen4(cx, &ls);
	struct sockaddr_in a = io_lo4(port);
	struct linger lg = {1, 0};
	char buf[16];
	int64_t n;

	CHECK_EQ(asup_tcp_connect(cx, (struct sockaddr *)&a, sizeof(a), &c), 0);
	CHECK_EQ(asup_sock_accept(cx, ls, &srv, NULL, NULL), 0);
	/* Linger 0: the close sends a reset instead of a FIN. */
	CHECK_EQ(setsockopt(asup_sock_fd(cx, srv), SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	CHECK_EQ(asup_sock_close(cx, srv), 0);
	n = asup_sock_read(cx, c, buf, sizeof(buf));
	CHECK_EQ(n, -ECONNRESET);
	/* Writing to a reset connection is an error, not a SIGPIPE. */
	n = asup_sock_write(cx, c, "x", 1);
	CHECK(n == -EPIPE || n == -ECONNRESET);
	return 0;
}

TEST(tcp_peer_reset_reads_econnreset_and_writes_fail_without_sigpipe)
{
	asup_rt *rt = io_rt();
	signal(SIGPIPE, SIG_DFL);
	CHECK_EQ(io_run(rt, reset_peer, NULL), 0);
	test_rt_done(rt);
}

static int64_t half_close(asup_cx *cx, void *arg)
{
	asup_socket ls, srv, c;
	struct sockaddr_in a = io_lo4(io_listen4(cx, &ls));
	char buf[16];

	CHECK_EQ(asup_tcp_connect(cx, (struct sockaddr *)&a, sizeof(a), &c), 0);
	CHECK_EQ(asup_sock_accept(cx, ls, &srv, NULL, NULL), 0);
	CHECK_EQ(asup_sock_shutdown(cx, c, SHUT_WR), 0);
	/* The server sees the end of the stream, and can still answer. */
	CHECK_EQ(asup_sock_read(cx, srv, buf, sizeof(buf)), 0);
	CHECK_EQ(asup_sock_write(cx, srv, "late", 4), 4);
	CHECK_EQ(asup_sock_close(cx, srv), 0);
	CHECK_EQ(asup_sock_read(cx, c, buf, sizeof(buf)), 4);
	CHECK(memcmp(buf, "late", 4) == 0);
	CHECK_EQ(asup_sock_read(cx, c, buf, sizeof(buf)), 0);
	CHECK_EQ(asup_sock_shutdown(cx, c, 99), -EINVAL);
	return 0;
}

TEST(tcp_half_close_gives_eof_and_the_other_direction_still_works)
{
	asup_rt *rt = io_rt();
	CHECK_EQ(io_run(rt, half_close, NULL), 0);
	test_rt_done(rt);
}

static int64_t refused(asup_cx *cx, void *arg)
{
	asup_socket ls, c = {0, 0};
	uint16_t port = io_listen4(cx, &ls);
	struct sockaddr_in a = io_lo4(port);

	/* Nobody listens on the port any more. */
	CHECK_EQ(asup_sock_close(cx, ls), 0);
	CHECK_EQ(asup_tcp_connect(cx, (struct sockaddr *)&a, sizeof(a), &c), -ECONNREFUSED);
	CHECK(c._p == NULL);
	return 0;
}

TEST(tcp_connect_refused_returns_econnrefused_and_leaves_nothing_open)
{
	asup_rt *rt = io_rt();
	int before = io_count_fds();
	CHECK_EQ(io_run(rt, refused, NULL), 0);
	CHECK_EQ(io_count_fds(), before + 2); /* only the reactor's own two fds */
	test_rt_done(rt);
}

struct conn_arg {
	struct sockaddr_in a;
	asup_socket s;
};

static int64_t do_connect(asup_cx *cx, void *arg)
{
	struct conn_arg *c = arg;
	return asup_tcp_connect(cx, (struct sockaddr *)&c->a, sizeof(c->a), &c->s);
}

static int64_t deadline(asup_cx *cx, void *arg)
{
	asup_listen_opts lo;
	struct conn_arg ca;
	struct sockaddr_in a = io_lo4(0);
	socklen_t len = sizeof(a);
	asup_socket ls, fill[8];
	int nfill = 0;
	asup_time t0;
	int64_t rc;

	/* A listener that never accepts, with the smallest queue: once the
	 * queue is full the kernel drops further handshakes, so a connect
	 * waits until its deadline. */
	asup_listen_opts_init(&lo);
	lo.backlog = 1;
	CHECK_EQ(asup_tcp_listen(cx, (struct sockaddr *)&a, sizeof(a), &lo, &ls), 0);
	CHECK_EQ(asup_sock_local_addr(cx, ls, (struct sockaddr *)&a, &len), 0);
	ca.a = a;
	for (;;) {
		t0 = asup_now(cx);
		rc = asup_timeout(cx, 200 * 1000000ull, do_connect, &ca);
		if (rc < 0)
			break;
		CHECK(nfill < 8);
		fill[nfill++] = ca.s;
	}
	CHECK_EQ(rc, -ETIMEDOUT);
	CHECK(asup_now(cx) - t0 >= 200 * 1000000ull);
	CHECK(nfill >= 1);
	while (nfill > 0)
		CHECK_EQ(asup_sock_close(cx, fill[--nfill]), 0);
	return 0;
}

TEST(tcp_connect_honours_the_deadline_of_a_timeout_scope)
{
	asup_rt *rt = io_rt();
	CHECK_EQ(io_run(rt, deadline, NULL), 0);
	test_rt_done(rt);
}

static int64_t do_accept(asup_cx *cx, void *arg)
{
	asup_socket s;
	return asup_sock_accept(cx, *(asup_socket *)arg, &s, NULL, NULL);
}

static int64_t accept_cancel(asup_cx *cx, void *arg)
{
	asup_socket ls, c, s;
	struct sockaddr_in a = io_lo4(io_listen4(cx, &ls));
	asup_task h;
	asup_outcome o;

	CHECK_EQ(asup_spawn(cx, do_accept, &ls, NULL, &h), 0);
	CHECK_EQ(asup_sleep(cx, 20 * 1000000ull), 0); /* it parks in accept */
	CHECK_EQ(asup_task_abort(&h), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	/* The listener still works, and nothing was taken from its queue. */
	CHECK_EQ(asup_tcp_connect(cx, (struct sockaddr *)&a, sizeof(a), &c), 0);
	CHECK_EQ(asup_sock_accept(cx, ls, &s, NULL, NULL), 0);
	CHECK_EQ(asup_sock_write(cx, c, "k", 1), 1);
	char b;
	CHECK_EQ(asup_sock_read(cx, s, &b, 1), 1);
	return 0;
}

TEST(tcp_accept_cancelled_returns_cancelled_and_the_listener_keeps_working)
{
	asup_rt *rt = io_rt();
	CHECK_EQ(io_run(rt, accept_cancel, NULL), 0);
	test_rt_done(rt);
}

static int64_t vectored(asup_cx *cx, void *arg)
{
	asup_socket ls, srv, c;
	struct sockaddr_in a = io_lo4(io_listen4(cx, &ls));
	struct iovec out[3] = {{"ab", 2}, {"", 0}, {"cde", 3}};
	char x[1], y[8];
	struct iovec in[2] = {{x, 1}, {y, 8}};

	CHECK_EQ(asup_tcp_connect(cx, (struct sockaddr *)&a, sizeof(a), &c), 0);
	CHECK_EQ(asup_sock_accept(cx, ls, &srv, NULL, NULL), 0);
	CHECK_EQ(asup_sock_writev(cx, c, out, 3), 5);
	CHECK_EQ(asup_sock_readv(cx, srv, in, 2), 5);
	CHECK(x[0] == 'a' && memcmp(y, "bcde", 4) == 0);
	CHECK_EQ(asup_sock_writev(cx, c, out, 0), -EINVAL);
	CHECK_EQ(asup_sock_readv(cx, srv, NULL, 1), -EINVAL);
	return 0;
}

TEST(tcp_readv_writev_scatter_and_gather)
{
	asup_rt *rt = io_rt();
	CHECK_EQ(io_run(rt, vectored, NULL), 0);
	test_rt_done(rt);
}

static int64_t unix_stream(asup_cx *cx, void *arg)
{
	char dir[] = "/tmp/asup-io-XXXXXX", path[64];
	struct echo e = {.conns = 1};
	asup_socket c;
	asup_task srv;
	asup_outcome o;
	const char msg[] = "over a unix socket";

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/s", dir);
	CHECK_EQ(asup_unix_listen(cx, path, NULL, &e.ls), 0);
	CHECK_EQ(asup_unix_listen(cx, path, NULL, &c), -EADDRINUSE);
	CHECK_EQ(asup_spawn(cx, echo_server, &e, NULL, &srv), 0);
	CHECK_EQ(asup_unix_connect(cx, path, &c), 0);
	round_trip(cx, c, msg, sizeof(msg));
	CHECK_EQ(asup_join(cx, &srv, &o), 0);
	CHECK_EQ(o.value, 0);
	unlink(path);
	rmdir(dir);
	return 0;
}

TEST(unix_stream_echo_round_trip)
{
	asup_rt *rt = io_rt();
	CHECK_EQ(io_run(rt, unix_stream, NULL), 0);
	test_rt_done(rt);
}

static int64_t reuseport(asup_cx *cx, void *arg)
{
	asup_listen_opts lo;
	struct sockaddr_in a = io_lo4(0);
	socklen_t len = sizeof(a);
	asup_socket l1, l2, l3;

	asup_listen_opts_init(&lo);
	CHECK_EQ(lo.backlog, 128);
	CHECK_EQ(lo.reuseaddr, 1);
	CHECK_EQ(lo.reuseport, 0);
	lo.reuseport = 1;
	CHECK_EQ(asup_tcp_listen(cx, (struct sockaddr *)&a, sizeof(a), &lo, &l1), 0);
	CHECK_EQ(asup_sock_local_addr(cx, l1, (struct sockaddr *)&a, &len), 0);
	/* SO_REUSEPORT on both: a second listener shares the port ... */
	CHECK_EQ(asup_tcp_listen(cx, (struct sockaddr *)&a, sizeof(a), &lo, &l2), 0);
	/* ... a listener without it does not. */
	lo.reuseport = 0;
	CHECK_EQ(asup_tcp_listen(cx, (struct sockaddr *)&a, sizeof(a), &lo, &l3), -EADDRINUSE);
	CHECK_EQ(asup_sock_close(cx, l1), 0);
	return asup_sock_close(cx, l2);
}

TEST(tcp_listen_with_so_reuseport_lets_two_listeners_share_a_port)
{
	asup_rt *rt = io_rt();
	CHECK_EQ(io_run(rt, reuseport, NULL), 0);
	test_rt_done(rt);
}

static int64_t connect_then_abort(asup_cx *cx, void *arg)
{
	asup_listen_opts lo;
	struct conn_arg ca;
	struct sockaddr_in a = io_lo4(0);
	socklen_t len = sizeof(a);
	asup_socket ls, fill[8];
	asup_task h;
	asup_outcome o;
	int nfill = 0, before;

	asup_listen_opts_init(&lo);
	lo.backlog = 1;
	CHECK_EQ(asup_tcp_listen(cx, (struct sockaddr *)&a, sizeof(a), &lo, &ls), 0);
	CHECK_EQ(asup_sock_local_addr(cx, ls, (struct sockaddr *)&a, &len), 0);
	ca.a = a;
	/* Fill the accept queue (connects that complete at once). The first
	 * one must complete: it gets a generous deadline, since a loaded
	 * machine or valgrind can take longer than the later probes' 50 ms. */
	CHECK_EQ(asup_timeout(cx, 5000 * 1000000ull, do_connect, &ca), 0);
	fill[nfill++] = ca.s;
	while (nfill < 8 &&
	       asup_timeout(cx, (getenv("ASUP_UNDER_VALGRIND") ? 250 : 50) * 1000000ull,
			    do_connect, &ca) == 0)
		fill[nfill++] = ca.s;
	CHECK(nfill >= 1 && nfill < 8);
	before = io_count_fds();
	CHECK_EQ(asup_spawn(cx, do_connect, &ca, NULL, &h), 0);
	CHECK_EQ(asup_sleep(cx, 10 * 1000000ull), 0);
	CHECK_EQ(asup_task_is_finished(&h), 0); /* its handshake hangs */
	CHECK_EQ(asup_task_abort(&h), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	/* The half-made socket was closed. */
	CHECK_EQ(io_count_fds(), before);
	while (nfill > 0)
		CHECK_EQ(asup_sock_close(cx, fill[--nfill]), 0);
	return asup_sock_close(cx, ls);
}

TEST(tcp_connect_cancelled_returns_cancelled_and_closes_the_socket)
{
	asup_rt *rt = io_rt();
	CHECK_EQ(io_run(rt, connect_then_abort, NULL), 0);
	test_rt_done(rt);
}
