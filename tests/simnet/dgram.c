/*
 * Datagrams on the simulated network: one message per send, truncation on
 * receive, sender addresses, connected peers, the receive queue bound.
 */
#include "simtest.h"

static int64_t basic(asup_cx *cx, void *arg)
{
	struct sockaddr_in a = sim_in4(10, 0, 0, 1, 53), b = sim_in4(10, 0, 0, 2, 0), from;
	socklen_t flen = sizeof(from), blen = sizeof(b);
	asup_socket sa, sb, sc;
	char buf[64];

	(void)arg;
	CHECK_EQ(asup_udp_bind(cx, (struct sockaddr *)&a, sizeof(a), &sa), 0);
	CHECK_EQ(asup_udp_bind(cx, (struct sockaddr *)&b, sizeof(b), &sb), 0);
	CHECK_EQ(asup_sock_local_addr(cx, sb, (struct sockaddr *)&b, &blen), 0);
	CHECK_EQ(ntohs(b.sin_port), 49152);
	CHECK_EQ(asup_sock_sendto(cx, sb, "first", 5, (struct sockaddr *)&a, sizeof(a)), 5);
	CHECK_EQ(asup_sock_sendto(cx, sb, "second!", 7, (struct sockaddr *)&a, sizeof(a)), 7);
	CHECK_EQ(asup_sock_sendto(cx, sb, "", 0, (struct sockaddr *)&a, sizeof(a)), 0);
	/* One datagram per receive, truncated to the buffer. */
	CHECK_EQ(asup_sock_recvfrom(cx, sa, buf, 3, (struct sockaddr *)&from, &flen), 3);
	CHECK_EQ(memcmp(buf, "fir", 3), 0);
	CHECK_EQ(flen, sizeof(from));
	CHECK_EQ(from.sin_port, b.sin_port);
	CHECK_EQ(from.sin_addr.s_addr, b.sin_addr.s_addr);
	CHECK_EQ(asup_sock_recvfrom(cx, sa, buf, sizeof(buf), NULL, NULL), 7);
	CHECK_EQ(memcmp(buf, "second!", 7), 0);
	CHECK_EQ(asup_sock_recvfrom(cx, sa, buf, sizeof(buf), NULL, NULL), 0);
	/* A connected peer: read and write work. */
	CHECK_EQ(asup_sock_write(cx, sb, "x", 1), -EDESTADDRREQ);
	CHECK_EQ(asup_sock_connect_peer(cx, sb, (struct sockaddr *)&a, sizeof(a)), 0);
	CHECK_EQ(asup_sock_write(cx, sb, "hi", 2), 2);
	CHECK_EQ(asup_sock_read(cx, sa, buf, sizeof(buf)), 2);
	/* Taken address. */
	CHECK_EQ(asup_udp_bind(cx, (struct sockaddr *)&a, sizeof(a), &sc), -EADDRINUSE);
	asup_sock_close(cx, sa);
	asup_sock_close(cx, sb);
	return 0;
}

TEST(datagrams_keep_boundaries_truncate_and_name_their_sender)
{
	asup_rt *rt = sim_rt(1, NULL);

	sim_run(rt, basic, NULL);
	CHECK_EQ(sim_totals(rt).dgrams_sent, 4);
	CHECK_EQ(sim_totals(rt).dgrams_delivered, 4);
	test_rt_done(rt);
}

static int64_t overflow(asup_cx *cx, void *arg)
{
	struct sockaddr_in a = sim_in4(10, 0, 0, 1, 53), b = sim_in4(10, 0, 0, 2, 54);
	asup_socket sa, sb;
	char buf[8];
	int got = 0;

	(void)arg;
	CHECK_EQ(asup_udp_bind(cx, (struct sockaddr *)&a, sizeof(a), &sa), 0);
	CHECK_EQ(asup_udp_bind(cx, (struct sockaddr *)&b, sizeof(b), &sb), 0);
	for (int i = 0; i < 10; i++)
		CHECK_EQ(asup_sock_sendto(cx, sb, "d", 1, (struct sockaddr *)&a, sizeof(a)), 1);
	/* Nobody at this port: dropped on arrival. */
	b.sin_port = htons(9);
	CHECK_EQ(asup_sock_sendto(cx, sb, "d", 1, (struct sockaddr *)&b, sizeof(b)), 1);
	CHECK_EQ(asup_sleep(cx, 1000000), 0);
	while (got < 10) {
		struct iovec v = {buf, sizeof(buf)};
		if (asup_sock_readv(cx, sa, &v, 1) != 1)
			break;
		got++;
		if (got == 4)
			break;
	}
	asup_sock_close(cx, sa);
	asup_sock_close(cx, sb);
	return got;
}

TEST(a_full_receive_queue_and_an_unbound_port_drop_and_count)
{
	asup_simnet_config net;
	asup_rt *rt;

	asup_simnet_config_init(&net);
	net.dgram_queue = 4;
	rt = sim_rt(2, &net);
	CHECK_EQ(sim_run(rt, overflow, NULL), 4);
	CHECK_EQ(sim_totals(rt).dgrams_sent, 11);
	CHECK_EQ(sim_totals(rt).dgrams_delivered, 4);
	CHECK_EQ(sim_totals(rt).dgrams_dropped, 7);
	test_rt_done(rt);
}

static int64_t unix_dgram(asup_cx *cx, void *arg)
{
	asup_socket a, b;
	struct sockaddr_un from;
	socklen_t flen = sizeof(from);
	char buf[8];

	(void)arg;
	CHECK_EQ(asup_unix_dgram_bind(cx, "/sim/d", &a), 0);
	CHECK_EQ(asup_unix_dgram_bind(cx, NULL, &b), 0);
	CHECK_EQ(asup_sock_sendto(cx, b, "u", 1, NULL, 0), -ENOTCONN);
	{
		struct sockaddr_un to;
		memset(&to, 0, sizeof(to));
		to.sun_family = AF_UNIX;
		strcpy(to.sun_path, "/sim/d");
		CHECK_EQ(asup_sock_sendto(cx, b, "u", 1, (struct sockaddr *)&to, sizeof(to)), 1);
	}
	CHECK_EQ(asup_sock_recvfrom(cx, a, buf, sizeof(buf), (struct sockaddr *)&from, &flen), 1);
	CHECK_EQ(from.sun_family, AF_UNIX); /* an unnamed sender */
	asup_sock_close(cx, a);
	asup_sock_close(cx, b);
	return 0;
}

TEST(unix_datagrams_from_an_unbound_socket_arrive_unnamed)
{
	asup_rt *rt = sim_rt(3, NULL);
	sim_run(rt, unix_dgram, NULL);
	test_rt_done(rt);
}

static int64_t own_host_body(asup_cx *cx, void *arg)
{
	asup_socket *tx = arg;
	struct sockaddr_in any = sim_in4(0, 0, 0, 0, 0), a = sim_in4(10, 0, 0, 1, 53);
	asup_simnet_host h = sim_host4(10, 0, 0, 7);

	CHECK_EQ(asup_simnet_set_host(cx, &h), 0);
	CHECK_EQ(asup_udp_bind(cx, (struct sockaddr *)&any, sizeof(any), tx), 0);
	CHECK_EQ(asup_sock_sendto(cx, *tx, "x", 1, (struct sockaddr *)&a, sizeof(a)), 1);
	return asup_sock_close(cx, *tx);
}

static int64_t own_host(asup_cx *cx, void *arg)
{
	struct sockaddr_in a = sim_in4(10, 0, 0, 1, 53), from;
	socklen_t flen = sizeof(from);
	asup_socket rx, tx;
	asup_outcome o;
	char b[4];

	(void)arg;
	CHECK_EQ(asup_udp_bind(cx, (struct sockaddr *)&a, sizeof(a), &rx), 0);
	CHECK_EQ(asup_region(cx, own_host_body, &tx, &o), 0);
	CHECK_EQ(asup_sock_recvfrom(cx, rx, b, sizeof(b), (struct sockaddr *)&from, &flen), 1);
	asup_sock_close(cx, rx);
	return ntohl(from.sin_addr.s_addr) == 0x0a000007u;
}

TEST(datagrams_from_a_wildcard_socket_come_from_the_region_host)
{
	asup_rt *rt = sim_rt(4, NULL);

	CHECK_EQ(sim_run(rt, own_host, NULL), 1);
	test_rt_done(rt);
}
