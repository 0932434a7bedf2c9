/* UDP and Unix datagram sockets. */
#include "iotest.h"

static int64_t udp(asup_cx *cx, void *arg)
{
	struct sockaddr_in a = io_lo4(0), from;
	socklen_t len = sizeof(a), flen = sizeof(from);
	asup_socket s, c;
	char buf[32];

	CHECK_EQ(asup_udp_bind(cx, (struct sockaddr *)&a, sizeof(a), &s), 0);
	CHECK_EQ(asup_sock_local_addr(cx, s, (struct sockaddr *)&a, &len), 0);
	{
		struct sockaddr_in any = io_lo4(0);
		CHECK_EQ(asup_udp_bind(cx, (struct sockaddr *)&any, sizeof(any), &c), 0);
	}
	CHECK_EQ(asup_sock_sendto(cx, c, "ping", 4, (struct sockaddr *)&a, sizeof(a)), 4);
	CHECK_EQ(asup_sock_recvfrom(cx, s, buf, sizeof(buf), (struct sockaddr *)&from, &flen), 4);
	CHECK(memcmp(buf, "ping", 4) == 0);
	/* Answer the sender, then use a connected socket's read and write. */
	CHECK_EQ(asup_sock_sendto(cx, s, "pong", 4, (struct sockaddr *)&from, flen), 4);
	CHECK_EQ(asup_sock_connect_peer(cx, c, (struct sockaddr *)&a, sizeof(a)), 0);
	CHECK_EQ(asup_sock_read(cx, c, buf, sizeof(buf)), 4);
	CHECK(memcmp(buf, "pong", 4) == 0);
	CHECK_EQ(asup_sock_write(cx, c, "again", 5), 5);
	CHECK_EQ(asup_sock_recvfrom(cx, s, buf, sizeof(buf), NULL, NULL), 5);
	/* A datagram larger than the buffer is truncated to it. */
	CHECK_EQ(asup_sock_write(cx, c, "0123456789", 10), 10);
	CHECK_EQ(asup_sock_read(cx, s, buf, 4), 4);
	CHECK_EQ(asup_sock_connect_peer(cx, c, NULL, 0), -EINVAL);
	return 0;
}

TEST(udp_sendto_recvfrom_and_connected_send_recv)
{
	asup_rt *rt = io_rt();
	CHECK_EQ(io_run(rt, udp, NULL), 0);
	test_rt_done(rt);
}

static int64_t udp6(asup_cx *cx, void *arg)
{
	struct sockaddr_in6 a = io_lo6(0);
	socklen_t len = sizeof(a);
	asup_socket s;
	char buf[8];
	int rc = asup_udp_bind(cx, (struct sockaddr *)&a, sizeof(a), &s);

	if (rc == -EADDRNOTAVAIL)
		return 77;
	CHECK_EQ(rc, 0);
	CHECK_EQ(asup_sock_local_addr(cx, s, (struct sockaddr *)&a, &len), 0);
	CHECK_EQ(asup_sock_sendto(cx, s, "self", 4, (struct sockaddr *)&a, sizeof(a)), 4);
	CHECK_EQ(asup_sock_recvfrom(cx, s, buf, sizeof(buf), NULL, NULL), 4);
	return 0;
}

TEST(udp_ipv6_round_trip)
{
	asup_rt *rt = io_rt();
	int64_t v = io_run(rt, udp6, NULL);
	test_rt_done(rt);
	if (v == 77)
		exit(77);
	CHECK_EQ(v, 0);
}

static int64_t recv_one(asup_cx *cx, void *arg)
{
	char buf[16];
	return asup_sock_recvfrom(cx, *(asup_socket *)arg, buf, sizeof(buf), NULL, NULL);
}

static int64_t unix_dgram(asup_cx *cx, void *arg)
{
	char dir[] = "/tmp/asup-io-XXXXXX", path[64];
	struct sockaddr_un to;
	asup_socket s, c;
	asup_task h;
	asup_outcome o;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/d", dir);
	CHECK_EQ(asup_unix_dgram_bind(cx, path, &s), 0);
	CHECK_EQ(asup_unix_dgram_bind(cx, NULL, &c), 0);
	/* The receiver parks first: the datagram wakes it. */
	CHECK_EQ(asup_spawn(cx, recv_one, &s, NULL, &h), 0);
	CHECK_EQ(asup_sleep(cx, 2 * 1000000ull), 0);
	memset(&to, 0, sizeof(to));
	to.sun_family = AF_UNIX;
	strcpy(to.sun_path, path);
	CHECK_EQ(asup_sock_sendto(cx, c, "dgram", 5, (struct sockaddr *)&to, sizeof(to)), 5);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.value, 5);
	CHECK_EQ(asup_sock_close(cx, s), 0);
	CHECK_EQ(asup_sock_close(cx, c), 0);
	unlink(path);
	rmdir(dir);
	return 0;
}

TEST(unix_datagram_wakes_a_parked_receiver)
{
	asup_rt *rt = io_rt();
	CHECK_EQ(io_run(rt, unix_dgram, NULL), 0);
	test_rt_done(rt);
}
