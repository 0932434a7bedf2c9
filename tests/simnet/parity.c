/*
 * The socket calls answer with the same codes over the simulated network as
 * over real loopback sockets: one function of edge cases runs on a real
 * runtime (each io backend the machine has) and on a deterministic one, and
 * every result code it records must agree between them.
 */
#include "simtest.h"

#include <unistd.h>

#define NRES 64

struct rec {
	int64_t v[NRES];
	const char *what[NRES];
	int n;
	char dir[64]; /* where the Unix paths go */
};

static void put(struct rec *r, const char *what, int64_t v)
{
	CHECK(r->n < NRES);
	if (getenv("PARITY_V"))
		fprintf(stderr, "%s: %" PRId64 "\n", what, v);
	r->what[r->n] = what;
	r->v[r->n++] = v;
}

static struct sockaddr_in lo4(uint16_t port)
{
	return sim_in4(127, 0, 0, 1, port);
}

static uint16_t port_of(asup_cx *cx, asup_socket s)
{
	struct sockaddr_in a;
	socklen_t l = sizeof(a);

	CHECK_EQ(asup_sock_local_addr(cx, s, (struct sockaddr *)&a, &l), 0);
	return ntohs(a.sin_port);
}

static int64_t read_once(asup_cx *cx, void *arg)
{
	char b[8];
	return asup_sock_read(cx, *(asup_socket *)arg, b, sizeof(b));
}

/* A connected pair over TCP loopback, and the listener. */
static void tcp_pair(asup_cx *cx, asup_socket *ls, asup_socket *c, asup_socket *s)
{
	struct sockaddr_in a = lo4(0);

	CHECK_EQ(asup_tcp_listen(cx, (struct sockaddr *)&a, sizeof(a), NULL, ls), 0);
	a = lo4(port_of(cx, *ls));
	CHECK_EQ(asup_tcp_connect(cx, (struct sockaddr *)&a, sizeof(a), c), 0);
	CHECK_EQ(asup_sock_accept(cx, *ls, s, NULL, NULL), 0);
}

/* sendto and recvfrom on a connected stream act as write and read, the
 * address ignored; a stream has no sender address to report. */
static void stream_as_dgram(asup_cx *cx, struct rec *r)
{
	asup_socket ls, c, s;
	struct sockaddr_in other = lo4(9), from;
	socklen_t fl = sizeof(from);
	char b[16];

	tcp_pair(cx, &ls, &c, &s);
	put(r, "sendto NULL on connected tcp", asup_sock_sendto(cx, c, "ab", 2, NULL, 0));
	put(r, "sendto an address on connected tcp",
	    asup_sock_sendto(cx, c, "cd", 2, (struct sockaddr *)&other, sizeof(other)));
	put(r, "recvfrom on connected tcp (bytes of both)",
	    asup_sock_read(cx, s, b, 1) + asup_sock_recvfrom(cx, s, b, 3, NULL, NULL));
	CHECK_EQ(asup_sock_write(cx, s, "xyz", 3), 3);
	put(r, "recvfrom with an address on tcp",
	    asup_sock_recvfrom(cx, c, b, sizeof(b), (struct sockaddr *)&from, &fl));
	put(r, "recvfrom on tcp reports no address", fl);
	put(r, "write on a listener", asup_sock_write(cx, ls, "x", 1));
	put(r, "sendto on a listener", asup_sock_sendto(cx, ls, "x", 1, NULL, 0));
	put(r, "connect_peer on an accepted tcp socket",
	    asup_sock_connect_peer(cx, s, (struct sockaddr *)&other, sizeof(other)));
	/* After our own SHUT_WR and the peer's close, sendto says what write says. */
	CHECK_EQ(asup_sock_shutdown(cx, c, SHUT_WR), 0);
	put(r, "sendto after own SHUT_WR", asup_sock_sendto(cx, c, "x", 1, NULL, 0));
	CHECK_EQ(asup_sock_close(cx, s), 0);
	put(r, "read after peer close", asup_sock_read(cx, c, b, sizeof(b)));
	put(r, "sendto after own SHUT_WR, peer closed", asup_sock_sendto(cx, c, "x", 1, NULL, 0));
	CHECK_EQ(asup_sock_close(cx, c), 0);
	CHECK_EQ(asup_sock_close(cx, ls), 0);
}

/* A connected UDP socket learns that nobody is bound at its peer: the next
 * read, or the next write, fails with -ECONNREFUSED once; an unconnected
 * one never hears of it. */
static void udp_refused(asup_cx *cx, struct rec *r)
{
	asup_socket u, v;
	struct sockaddr_in a = lo4(0), dead = lo4(9);
	char b[8];

	CHECK_EQ(asup_udp_bind(cx, (struct sockaddr *)&a, sizeof(a), &u), 0);
	put(r, "udp connect_peer to a dead port",
	    asup_sock_connect_peer(cx, u, (struct sockaddr *)&dead, sizeof(dead)));
	put(r, "udp write to a dead port", asup_sock_write(cx, u, "x", 1));
	put(r, "udp read after it", asup_timeout(cx, ASUP_MSEC(100), read_once, &u));
	put(r, "udp read once more (error was taken)",
	    asup_timeout(cx, ASUP_MSEC(20), read_once, &u));
	put(r, "udp write again", asup_sock_write(cx, u, "x", 1));
	CHECK_EQ(asup_sleep(cx, ASUP_MSEC(20)), 0);
	put(r, "udp write after the error came back", asup_sock_write(cx, u, "x", 1));
	put(r, "udp write after that", asup_sock_write(cx, u, "x", 1));
	CHECK_EQ(asup_sock_close(cx, u), 0);

	CHECK_EQ(asup_udp_bind(cx, (struct sockaddr *)&a, sizeof(a), &v), 0);
	put(r, "unconnected udp sendto a dead port",
	    asup_sock_sendto(cx, v, "x", 1, (struct sockaddr *)&dead, sizeof(dead)));
	CHECK_EQ(asup_sleep(cx, ASUP_MSEC(20)), 0);
	put(r, "unconnected udp read after it", asup_timeout(cx, ASUP_MSEC(20), read_once, &v));
	put(r, "unconnected udp sendto NULL", asup_sock_sendto(cx, v, "x", 1, NULL, 0));
	put(r, "unconnected udp recvfrom gets nothing",
	    asup_timeout(cx, ASUP_MSEC(20), read_once, &v));
	(void)b;
	CHECK_EQ(asup_sock_close(cx, v), 0);
}

static void unix_paths(asup_cx *cx, struct rec *r)
{
	char p[128], q[128], none[128];
	asup_socket l, c, d, x;
	struct sockaddr_un su;

	snprintf(p, sizeof(p), "%s/l", r->dir);
	snprintf(q, sizeof(q), "%s/d", r->dir);
	snprintf(none, sizeof(none), "%s/none", r->dir);
	put(r, "unix connect to a missing path", asup_unix_connect(cx, none, &x));
	CHECK_EQ(asup_unix_listen(cx, p, NULL, &l), 0);
	CHECK_EQ(asup_unix_dgram_bind(cx, q, &d), 0);
	put(r, "unix stream connect to a datagram path", asup_unix_connect(cx, q, &x));
	CHECK_EQ(asup_unix_dgram_bind(cx, NULL, &c), 0);
	memset(&su, 0, sizeof(su));
	su.sun_family = AF_UNIX;
	strcpy(su.sun_path, none);
	put(r, "unix datagram to a missing path",
	    asup_sock_sendto(cx, c, "x", 1, (struct sockaddr *)&su, sizeof(su)));
	put(r, "unix connect_peer to a missing path",
	    asup_sock_connect_peer(cx, c, (struct sockaddr *)&su, sizeof(su)));
	strcpy(su.sun_path, p);
	put(r, "unix datagram to a listener's path",
	    asup_sock_sendto(cx, c, "x", 1, (struct sockaddr *)&su, sizeof(su)));
	strcpy(su.sun_path, q);
	put(r, "unix datagram to a bound path",
	    asup_sock_sendto(cx, c, "x", 1, (struct sockaddr *)&su, sizeof(su)));
	put(r, "unix datagram sendto NULL, unconnected", asup_sock_sendto(cx, c, "x", 1, NULL, 0));
	CHECK_EQ(asup_sock_close(cx, c), 0);
	CHECK_EQ(asup_sock_close(cx, d), 0);
	CHECK_EQ(asup_sock_close(cx, l), 0);
	unlink(p);
	unlink(q);
}

/* A close with bytes unread resets the connection; what the other end
 * sees then. */
static void resets(asup_cx *cx, struct rec *r)
{
	asup_socket ls, c, s;
	char b[16];

	struct sockaddr_in a;

	tcp_pair(cx, &ls, &c, &s);
	a = lo4(port_of(cx, ls));
	put(r, "connect_peer on a connected tcp socket, first",
	    asup_sock_connect_peer(cx, c, (struct sockaddr *)&a, sizeof(a)));
	put(r, "connect_peer on a connected tcp socket, second",
	    asup_sock_connect_peer(cx, c, (struct sockaddr *)&a, sizeof(a)));
	CHECK_EQ(asup_sock_write(cx, c, "abc", 3), 3);
	CHECK_EQ(asup_sleep(cx, ASUP_MSEC(5)), 0);
	CHECK_EQ(asup_sock_close(cx, s), 0);
	CHECK_EQ(asup_sleep(cx, ASUP_MSEC(5)), 0);
	put(r, "read after the peer reset", asup_sock_read(cx, c, b, sizeof(b)));
	put(r, "read after that", asup_sock_read(cx, c, b, sizeof(b)));
	put(r, "write after the peer reset", asup_sock_write(cx, c, "x", 1));
	put(r, "sendto after the peer reset", asup_sock_sendto(cx, c, "x", 1, NULL, 0));
	put(r, "shutdown after the peer reset", asup_sock_shutdown(cx, c, SHUT_WR));
	CHECK_EQ(asup_sock_close(cx, c), 0);
	CHECK_EQ(asup_sock_close(cx, ls), 0);
}

static int64_t edges(asup_cx *cx, void *arg)
{
	struct rec *r = arg;

	stream_as_dgram(cx, r);
	udp_refused(cx, r);
	unix_paths(cx, r);
	resets(cx, r);
	return 0;
}

static void run_real(asup_io_backend be, struct rec *r)
{
	asup_rt_config cfg;
	asup_rt *rt;

	asup_rt_config_init(&cfg);
	cfg.io_backend = be;
	if (asup_rt_create(&cfg, &rt) < 0) {
		r->n = -1; /* this backend is not on this machine */
		return;
	}
	sim_run(rt, edges, r);
	test_rt_done(rt);
}

static void compare(const struct rec *real, const struct rec *sim, const char *backend)
{
	CHECK_EQ(real->n, sim->n);
	for (int i = 0; i < real->n && i < sim->n; i++) {
		if (real->v[i] != sim->v[i])
			fprintf(stderr, "%s: %s: real %" PRId64 " (%s), simulated %" PRId64 " (%s)\n",
				backend, real->what[i], real->v[i], asup_err_name((int)real->v[i]),
				sim->v[i], asup_err_name((int)sim->v[i]));
		CHECK_EQ(real->v[i], sim->v[i]);
	}
}

static void new_dir(struct rec *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->dir, sizeof(r->dir), "/tmp/asup-parity-XXXXXX");
	CHECK(mkdtemp(r->dir) != NULL);
}

TEST(every_edge_case_answers_with_the_same_code_over_real_and_simulated_sockets)
{
	static struct rec ep, ur, sim;
	asup_rt *rt;

	new_dir(&ep);
	run_real(ASUP_IO_EPOLL, &ep);
	rmdir(ep.dir);
	new_dir(&ur);
	run_real(ASUP_IO_URING, &ur);
	rmdir(ur.dir);
	new_dir(&sim);
	rt = sim_rt(7, NULL);
	sim_run(rt, edges, &sim);
	CHECK_EQ(sim_totals(rt).sockets_open, 0);
	test_rt_done(rt);
	rmdir(sim.dir);

	CHECK(ep.n > 0);
	compare(&ep, &sim, "epoll");
	if (ur.n >= 0)
		compare(&ur, &sim, "io_uring");
}

/* The simulated port unreachable comes back one round trip after the
 * datagram left; until then the socket knows nothing of it. */
static int64_t unreach_timing(asup_cx *cx, void *arg)
{
	struct sockaddr_in a = lo4(0), dead = lo4(9);
	asup_socket u;
	asup_time t0;

	(void)arg;
	CHECK_EQ(asup_udp_bind(cx, (struct sockaddr *)&a, sizeof(a), &u), 0);
	CHECK_EQ(asup_sock_connect_peer(cx, u, (struct sockaddr *)&dead, sizeof(dead)), 0);
	t0 = asup_now(cx);
	CHECK_EQ(asup_sock_write(cx, u, "x", 1), 1);
	CHECK_EQ(asup_sock_write(cx, u, "y", 1), 1); /* the answer is not back yet */
	CHECK_EQ(asup_sock_read(cx, u, (char[4]){0}, 4), -ECONNREFUSED);
	CHECK_EQ(asup_now(cx) - t0, 100000); /* the default 50 us each way */
	/* The second datagram's answer came at the same time; one error is
	 * pending at a time, as on Linux, and it was taken. */
	CHECK_EQ(asup_timeout(cx, ASUP_MSEC(1), read_once, &u), -ETIMEDOUT);
	CHECK_EQ(asup_sock_close(cx, u), 0);
	return 0;
}

TEST(a_connected_udp_socket_hears_of_a_dead_port_one_round_trip_later)
{
	asup_rt *rt = sim_rt(3, NULL);

	sim_run(rt, unreach_timing, NULL);
	test_rt_done(rt);
}

static int64_t unreach_lost(asup_cx *cx, void *arg)
{
	struct sockaddr_in a = lo4(0), dead = lo4(9);
	asup_socket u;

	(void)arg;
	CHECK_EQ(asup_udp_bind(cx, (struct sockaddr *)&a, sizeof(a), &u), 0);
	CHECK_EQ(asup_sock_connect_peer(cx, u, (struct sockaddr *)&dead, sizeof(dead)), 0);
	CHECK_EQ(asup_sock_write(cx, u, "x", 1), 1);
	CHECK_EQ(asup_timeout(cx, ASUP_MSEC(10), read_once, &u), -ETIMEDOUT);
	CHECK_EQ(asup_sock_write(cx, u, "x", 1), 1);
	CHECK_EQ(asup_sock_close(cx, u), 0);
	return 0;
}

TEST(a_datagram_lost_on_the_way_brings_no_port_unreachable)
{
	asup_simnet_config net;
	asup_rt *rt;

	asup_simnet_config_init(&net);
	net.faults.loss = 1.0;
	rt = sim_rt(3, &net);
	sim_run(rt, unreach_lost, NULL);
	CHECK_EQ(sim_totals(rt).dgrams_dropped, 2);
	test_rt_done(rt);
}

/* A real Unix path outlives its closed listener (a file nobody listens
 * on: refused); the simulated network forgets the path (missing). net.h
 * says so; this pins both answers. */
static int64_t stale_path(asup_cx *cx, void *arg)
{
	struct rec *r = arg;
	asup_socket l, x;

	CHECK_EQ(asup_unix_listen(cx, r->dir, NULL, &l), 0);
	CHECK_EQ(asup_sock_close(cx, l), 0);
	r->v[0] = asup_unix_connect(cx, r->dir, &x);
	unlink(r->dir);
	return 0;
}

TEST(a_closed_unix_listener_path_is_refused_for_real_and_missing_in_the_sim)
{
	static struct rec r;
	char dir[64] = "/tmp/asup-parity-XXXXXX";
	asup_rt_config cfg;
	asup_rt *rt;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(r.dir, sizeof(r.dir), "%s/l", dir);
	asup_rt_config_init(&cfg);
	cfg.io_backend = ASUP_IO_EPOLL;
	rt = test_rt_cfg(&cfg);
	sim_run(rt, stale_path, &r);
	test_rt_done(rt);
	CHECK_EQ(r.v[0], -ECONNREFUSED);
	rt = sim_rt(1, NULL);
	sim_run(rt, stale_path, &r);
	test_rt_done(rt);
	CHECK_EQ(r.v[0], -ENOENT);
	rmdir(dir);
}

/* The answer finds the socket by its peer: connected elsewhere meanwhile,
 * it is not told. */
static int64_t unreach_moved(asup_cx *cx, void *arg)
{
	struct sockaddr_in a = lo4(0), dead = lo4(9), live;
	asup_socket u, w;

	(void)arg;
	CHECK_EQ(asup_udp_bind(cx, (struct sockaddr *)&a, sizeof(a), &u), 0);
	CHECK_EQ(asup_udp_bind(cx, (struct sockaddr *)&a, sizeof(a), &w), 0);
	live = lo4(port_of(cx, w));
	CHECK_EQ(asup_sock_connect_peer(cx, u, (struct sockaddr *)&dead, sizeof(dead)), 0);
	CHECK_EQ(asup_sock_write(cx, u, "x", 1), 1);
	CHECK_EQ(asup_sock_connect_peer(cx, u, (struct sockaddr *)&live, sizeof(live)), 0);
	CHECK_EQ(asup_timeout(cx, ASUP_MSEC(10), read_once, &u), -ETIMEDOUT);
	CHECK_EQ(asup_sock_write(cx, u, "y", 1), 1);
	CHECK_EQ(asup_sock_close(cx, u), 0);
	CHECK_EQ(asup_sock_close(cx, w), 0);
	return 0;
}

TEST(a_port_unreachable_is_not_told_to_a_socket_connected_elsewhere_since)
{
	asup_rt *rt = sim_rt(3, NULL);

	sim_run(rt, unreach_moved, NULL);
	test_rt_done(rt);
}
