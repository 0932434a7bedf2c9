/*
 * Streams on the simulated network: a round trip in virtual time, ordered
 * delivery in segments (short reads), backpressure, half-close, close,
 * reset, Unix and IPv6 streams.
 */
#include "simtest.h"

struct srv {
	asup_socket ls;
	int conns;
};

/* Echoes one connection until its peer shuts down writing. */
static int64_t echo_conn(asup_cx *cx, void *arg)
{
	asup_socket s = *(asup_socket *)arg;
	char buf[3000];
	int64_t n;

	while ((n = asup_sock_read(cx, s, buf, sizeof(buf))) > 0)
		if (asup_sock_write_all(cx, s, buf, (size_t)n, NULL) < 0)
			return -1;
	CHECK_EQ(asup_sock_close(cx, s), 0);
	return n;
}

static int64_t echo_server(asup_cx *cx, void *arg)
{
	struct srv *e = arg;
	asup_socket c[8];
	asup_task h[8];
	asup_outcome o;
	int64_t bad = 0;

	for (int i = 0; i < e->conns; i++) {
		CHECK_EQ(asup_sock_accept(cx, e->ls, &c[i], NULL, NULL), 0);
		CHECK_EQ(asup_spawn(cx, echo_conn, &c[i], NULL, &h[i]), 0);
	}
	for (int i = 0; i < e->conns; i++) {
		CHECK_EQ(asup_join(cx, &h[i], &o), 0);
		bad += o.kind != ASUP_OUTCOME_OK || o.value != 0;
	}
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

/* Sends len bytes through the echo server and reads them back; returns the
 * number of reads it took. */
static int64_t round_trip(asup_cx *cx, asup_socket c, size_t len)
{
	char *msg = malloc(len), *back = malloc(len + 1);
	struct wr w = {c, msg, len};
	size_t got = 0;
	int64_t n, reads = 0;
	asup_task h;
	asup_outcome o;

	for (size_t i = 0; i < len; i++)
		msg[i] = (char)(i * 7 + i / 251);
	CHECK_EQ(asup_spawn(cx, writer, &w, NULL, &h), 0);
	while ((n = asup_sock_read(cx, c, back + got, len + 1 - got)) > 0) {
		got += (size_t)n;
		reads++;
	}
	CHECK_EQ(n, 0);
	CHECK_EQ(got, len);
	CHECK(memcmp(back, msg, len) == 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	free(msg);
	free(back);
	return reads;
}

struct rt_arg {
	size_t len;
	int64_t reads;
	asup_time elapsed;
};

static int64_t tcp_echo(asup_cx *cx, void *arg)
{
	struct rt_arg *ra = arg;
	struct sockaddr_in a = sim_in4(127, 0, 0, 1, 0);
	socklen_t alen = sizeof(a);
	struct srv e = {.conns = 1};
	asup_socket c;
	asup_task h;
	asup_outcome o;
	asup_time t0;

	CHECK_EQ(asup_tcp_listen(cx, (struct sockaddr *)&a, sizeof(a), NULL, &e.ls), 0);
	CHECK_EQ(asup_sock_local_addr(cx, e.ls, (struct sockaddr *)&a, &alen), 0);
	CHECK_EQ(ntohs(a.sin_port), 49152); /* the first picked port */
	CHECK_EQ(asup_spawn(cx, echo_server, &e, NULL, &h), 0);
	t0 = asup_now(cx);
	CHECK_EQ(asup_tcp_connect(cx, (struct sockaddr *)&a, sizeof(a), &c), 0);
	/* One round trip of 50 us each way. */
	CHECK_EQ(asup_now(cx) - t0, 100000);
	ra->reads = round_trip(cx, c, ra->len);
	ra->elapsed = asup_now(cx) - t0;
	CHECK_EQ(asup_sock_close(cx, c), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.value, 0);
	CHECK_EQ(asup_sock_close(cx, e.ls), 0);
	return 0;
}

TEST(tcp_round_trip_runs_in_virtual_time)
{
	asup_rt *rt = sim_rt(1, NULL);
	struct rt_arg ra = {.len = 100};

	sim_run(rt, tcp_echo, &ra);
	CHECK_EQ(ra.reads, 1);
	/* connect (100 us), then the data there and back (100 us) */
	CHECK(ra.elapsed >= 200000);
	CHECK_EQ(sim_totals(rt).bytes_sent, 200);
	CHECK_EQ(sim_totals(rt).bytes_delivered, 200);
	CHECK_EQ(sim_totals(rt).sockets_open, 0);
	test_rt_done(rt);
}

TEST(large_transfer_arrives_ordered_in_segments_with_short_reads)
{
	asup_rt *rt = sim_rt(2, NULL);
	struct rt_arg ra = {.len = 200000}; /* three times the stream buffer */

	sim_run(rt, tcp_echo, &ra);
	CHECK(ra.reads > 1);
	CHECK_EQ(sim_totals(rt).bytes_delivered, 400000);
	CHECK_EQ(sim_totals(rt).bytes_dropped, 0);
	test_rt_done(rt);
}

/* ---- backpressure ------------------------------------------------------- */

struct bp {
	asup_socket ls;
	int64_t first_write;
	asup_time writer_done, reader_start;
};

static int64_t slow_reader(asup_cx *cx, void *arg)
{
	struct bp *b = arg;
	asup_socket s;
	char buf[4096];
	int64_t n, total = 0;

	CHECK_EQ(asup_sock_accept(cx, b->ls, &s, NULL, NULL), 0);
	CHECK_EQ(asup_sleep(cx, 10000000), 0); /* 10 ms: the writer fills up meanwhile */
	b->reader_start = asup_now(cx);
	while ((n = asup_sock_read(cx, s, buf, sizeof(buf))) > 0)
		total += n;
	CHECK_EQ(n, 0);
	asup_sock_close(cx, s);
	return total;
}

static int64_t bp_main(asup_cx *cx, void *arg)
{
	struct bp *b = arg;
	struct sockaddr_in a = sim_in4(10, 0, 0, 1, 80);
	static char big[300000];
	asup_socket c;
	asup_task h;
	asup_outcome o;

	CHECK_EQ(asup_tcp_listen(cx, (struct sockaddr *)&a, sizeof(a), NULL, &b->ls), 0);
	CHECK_EQ(asup_spawn(cx, slow_reader, b, NULL, &h), 0);
	CHECK_EQ(asup_tcp_connect(cx, (struct sockaddr *)&a, sizeof(a), &c), 0);
	/* A write takes what fits in the buffer, no more. */
	b->first_write = asup_sock_write(cx, c, big, sizeof(big));
	CHECK_EQ(asup_sock_write_all(cx, c, big, sizeof(big), NULL), 0);
	b->writer_done = asup_now(cx);
	CHECK_EQ(asup_sock_shutdown(cx, c, SHUT_WR), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.value, (int64_t)(sizeof(big) + b->first_write));
	asup_sock_close(cx, c);
	asup_sock_close(cx, b->ls);
	return 0;
}

TEST(writer_waits_while_peer_buffer_and_flight_are_full)
{
	asup_rt *rt = sim_rt(3, NULL);
	struct bp b;

	memset(&b, 0, sizeof(b));
	sim_run(rt, bp_main, &b);
	CHECK_EQ(b.first_write, 65536);
	/* The second write could only finish after the reader woke up. */
	CHECK(b.writer_done > b.reader_start);
	test_rt_done(rt);
}

/* ---- half-close, close, reset -------------------------------------------- */

struct hc {
	asup_socket ls;
};

static int64_t hc_server(asup_cx *cx, void *arg)
{
	struct hc *x = arg;
	asup_socket s;
	char buf[16];

	CHECK_EQ(asup_sock_accept(cx, x->ls, &s, NULL, NULL), 0);
	CHECK_EQ(asup_sock_read(cx, s, buf, sizeof(buf)), 5);
	CHECK_EQ(asup_sock_read(cx, s, buf, sizeof(buf)), 0); /* the client's FIN */
	/* Its writing side is still open after the peer's half-close. */
	CHECK_EQ(asup_sock_write(cx, s, "reply", 5), 5);
	CHECK_EQ(asup_sock_close(cx, s), 0);
	return 0;
}

static int64_t hc_main(asup_cx *cx, void *arg)
{
	struct hc x;
	struct sockaddr_in a = sim_in4(10, 0, 0, 2, 7);
	asup_socket c;
	asup_task h;
	asup_outcome o;
	char buf[16];

	(void)arg;
	CHECK_EQ(asup_tcp_listen(cx, (struct sockaddr *)&a, sizeof(a), NULL, &x.ls), 0);
	CHECK_EQ(asup_spawn(cx, hc_server, &x, NULL, &h), 0);
	CHECK_EQ(asup_tcp_connect(cx, (struct sockaddr *)&a, sizeof(a), &c), 0);
	CHECK_EQ(asup_sock_write(cx, c, "hello", 5), 5);
	CHECK_EQ(asup_sock_shutdown(cx, c, SHUT_WR), 0);
	CHECK_EQ(asup_sock_write(cx, c, "x", 1), -EPIPE); /* after our own SHUT_WR */
	CHECK_EQ(asup_sock_read(cx, c, buf, sizeof(buf)), 5);
	CHECK_EQ(memcmp(buf, "reply", 5), 0);
	CHECK_EQ(asup_sock_read(cx, c, buf, sizeof(buf)), 0); /* the server closed */
	CHECK_EQ(asup_sock_write(cx, c, "x", 1), -EPIPE);      /* the peer is gone */
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(asup_sock_close(cx, c), 0);
	CHECK_EQ(asup_sock_close(cx, c), -EBADF);
	CHECK_EQ(asup_sock_close(cx, x.ls), 0);
	return 0;
}

TEST(half_close_delivers_data_then_eof_and_close_gives_epipe)
{
	asup_rt *rt = sim_rt(4, NULL);
	sim_run(rt, hc_main, NULL);
	test_rt_done(rt);
}

/* Every segment resets its connection: the first data resets it. */
static int64_t reset_main(asup_cx *cx, void *arg)
{
	struct sockaddr_in a = sim_in4(10, 0, 0, 3, 9);
	asup_socket ls, c, s;
	char buf[8];

	(void)arg;
	CHECK_EQ(asup_tcp_listen(cx, (struct sockaddr *)&a, sizeof(a), NULL, &ls), 0);
	CHECK_EQ(asup_tcp_connect(cx, (struct sockaddr *)&a, sizeof(a), &c), 0);
	CHECK_EQ(asup_sock_accept(cx, ls, &s, NULL, NULL), 0);
	CHECK_EQ(asup_sock_write(cx, c, "abc", 3), 3);
	CHECK_EQ(asup_sock_read(cx, s, buf, sizeof(buf)), -ECONNRESET);
	CHECK_EQ(asup_sock_write(cx, c, "abc", 3), -ECONNRESET);
	/* Each end is told once; then reads end and writes break. */
	CHECK_EQ(asup_sock_read(cx, c, buf, sizeof(buf)), 0);
	CHECK_EQ(asup_sock_write(cx, c, "abc", 3), -EPIPE);
	CHECK_EQ(asup_sock_write(cx, s, "abc", 3), -EPIPE);
	asup_sock_close(cx, c);
	asup_sock_close(cx, s);
	asup_sock_close(cx, ls);
	return 0;
}

TEST(reset_fault_gives_econnreset_on_both_sides_and_counts_the_drop)
{
	asup_simnet_config net;
	asup_rt *rt;

	asup_simnet_config_init(&net);
	net.faults.reset = 1.0;
	rt = sim_rt(5, &net);
	sim_run(rt, reset_main, NULL);
	CHECK_EQ(sim_totals(rt).bytes_sent, 3);
	CHECK_EQ(sim_totals(rt).bytes_dropped, 3);
	test_rt_done(rt);
}

/* ---- other families --------------------------------------------------------- */

static int64_t family_main(asup_cx *cx, void *arg)
{
	int unix_family = *(int *)arg;
	struct sockaddr_in6 a6;
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);
	asup_socket ls, c, s;
	char buf[8];

	if (unix_family) {
		CHECK_EQ(asup_unix_listen(cx, "/sim/sock", NULL, &ls), 0);
		CHECK_EQ(asup_unix_listen(cx, "/sim/sock", NULL, &s), -EADDRINUSE);
		CHECK_EQ(asup_unix_connect(cx, "/sim/sock", &c), 0);
		CHECK_EQ(asup_unix_connect(cx, "/sim/other", &s), -ENOENT);
	} else {
		memset(&a6, 0, sizeof(a6));
		a6.sin6_family = AF_INET6;
		a6.sin6_addr = in6addr_loopback;
		a6.sin6_port = htons(443);
		CHECK_EQ(asup_tcp_listen(cx, (struct sockaddr *)&a6, sizeof(a6), NULL, &ls), 0);
		CHECK_EQ(asup_tcp_connect(cx, (struct sockaddr *)&a6, sizeof(a6), &c), 0);
	}
	CHECK_EQ(asup_sock_accept(cx, ls, &s, (struct sockaddr *)&peer, &plen), 0);
	CHECK_EQ(peer.ss_family, unix_family ? AF_UNIX : AF_INET6);
	CHECK_EQ(asup_sock_write(cx, c, "ping", 4), 4);
	CHECK_EQ(asup_sock_read(cx, s, buf, sizeof(buf)), 4);
	CHECK_EQ(memcmp(buf, "ping", 4), 0);
	asup_sock_close(cx, c);
	asup_sock_close(cx, s);
	asup_sock_close(cx, ls);
	return 0;
}

TEST(unix_and_ipv6_streams_work_in_the_sim)
{
	int fam = 1;
	asup_rt *rt = sim_rt(6, NULL);

	sim_run(rt, family_main, &fam);
	test_rt_done(rt);
	fam = 0;
	rt = sim_rt(6, NULL);
	sim_run(rt, family_main, &fam);
	test_rt_done(rt);
}

static int64_t backlog_main(asup_cx *cx, void *arg)
{
	struct sockaddr_in a = sim_in4(10, 0, 0, 4, 80);
	asup_listen_opts o;
	asup_socket ls, c[3], s;

	(void)arg;
	asup_listen_opts_init(&o);
	o.backlog = 2;
	CHECK_EQ(asup_tcp_listen(cx, (struct sockaddr *)&a, sizeof(a), &o, &ls), 0);
	CHECK_EQ(asup_tcp_connect(cx, (struct sockaddr *)&a, sizeof(a), &c[0]), 0);
	CHECK_EQ(asup_tcp_connect(cx, (struct sockaddr *)&a, sizeof(a), &c[1]), 0);
	/* Two wait unaccepted: the backlog is full, the third is refused. */
	CHECK_EQ(asup_tcp_connect(cx, (struct sockaddr *)&a, sizeof(a), &c[2]), -ECONNREFUSED);
	CHECK_EQ(asup_sock_accept(cx, ls, &s, NULL, NULL), 0);
	CHECK_EQ(asup_tcp_connect(cx, (struct sockaddr *)&a, sizeof(a), &c[2]), 0);
	for (int i = 0; i < 3; i++)
		asup_sock_close(cx, c[i]);
	asup_sock_close(cx, s);
	asup_sock_close(cx, ls);
	return 0;
}

TEST(a_full_backlog_refuses_further_connects_until_one_is_accepted)
{
	asup_rt *rt = sim_rt(7, NULL);
	sim_run(rt, backlog_main, NULL);
	CHECK_EQ(sim_totals(rt).sockets_open, 0);
	test_rt_done(rt);
}
