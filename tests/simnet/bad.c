/*
 * Bad input on the simulated network: refused connects, taken addresses,
 * sends on reset or closed connections, use after close and after the
 * region closed, wrong socket kinds, oversized datagrams, missing
 * capability, and what stays refused in deterministic mode.
 */
#include "simtest.h"

#include <netdb.h>

static int64_t refused(asup_cx *cx, void *arg)
{
	struct sockaddr_in a = sim_in4(10, 0, 0, 9, 80);
	asup_socket c;
	asup_time t0 = asup_now(cx);

	(void)arg;
	c._p = (void *)1;
	CHECK_EQ(asup_tcp_connect(cx, (struct sockaddr *)&a, sizeof(a), &c), -ECONNREFUSED);
	CHECK_EQ(asup_now(cx) - t0, 100000); /* one round trip */
	CHECK(c._p == NULL);
	/* A Unix path nobody bound is missing at once, as on a real system. */
	CHECK_EQ(asup_unix_connect(cx, "/nobody/here", &c), -ENOENT);
	return 0;
}

TEST(connect_where_nobody_listens_is_refused_after_one_round_trip)
{
	asup_rt *rt = sim_rt(1, NULL);

	sim_run(rt, refused, NULL);
	CHECK_EQ(sim_totals(rt).sockets_open, 0);
	test_rt_done(rt);
}

static int64_t taken(asup_cx *cx, void *arg)
{
	struct sockaddr_in a = sim_in4(10, 0, 0, 1, 80), any = sim_in4(0, 0, 0, 0, 80);
	struct sockaddr_in other = sim_in4(10, 0, 0, 2, 80);
	asup_socket l1, l2, l3, u;

	(void)arg;
	CHECK_EQ(asup_tcp_listen(cx, (struct sockaddr *)&a, sizeof(a), NULL, &l1), 0);
	CHECK_EQ(asup_tcp_listen(cx, (struct sockaddr *)&a, sizeof(a), NULL, &u), -EADDRINUSE);
	CHECK_EQ(asup_tcp_listen(cx, (struct sockaddr *)&any, sizeof(any), NULL, &u), -EADDRINUSE);
	CHECK_EQ(asup_tcp_listen(cx, (struct sockaddr *)&other, sizeof(other), NULL, &l2), 0);
	/* Closing frees the address. */
	CHECK_EQ(asup_sock_close(cx, l1), 0);
	CHECK_EQ(asup_tcp_listen(cx, (struct sockaddr *)&a, sizeof(a), NULL, &l3), 0);
	CHECK_EQ(asup_sock_close(cx, l2), 0);
	CHECK_EQ(asup_sock_close(cx, l3), 0);
	return 0;
}

TEST(binding_a_taken_address_is_eaddrinuse_until_it_is_closed)
{
	asup_rt *rt = sim_rt(2, NULL);

	sim_run(rt, taken, NULL);
	test_rt_done(rt);
}

static int64_t wildcard(asup_cx *cx, void *arg)
{
	struct sockaddr_in any = sim_in4(0, 0, 0, 0, 8080), lo = sim_in4(127, 0, 0, 1, 8080);
	struct sockaddr_in peer;
	socklen_t plen = sizeof(peer);
	asup_socket ls, c, s;

	(void)arg;
	CHECK_EQ(asup_tcp_listen(cx, (struct sockaddr *)&any, sizeof(any), NULL, &ls), 0);
	CHECK_EQ(asup_tcp_connect(cx, (struct sockaddr *)&lo, sizeof(lo), &c), 0);
	CHECK_EQ(asup_sock_accept(cx, ls, &s, (struct sockaddr *)&peer, &plen), 0);
	CHECK_EQ(ntohl(peer.sin_addr.s_addr), 0x7f000001u);
	asup_sock_close(cx, c);
	asup_sock_close(cx, s);
	asup_sock_close(cx, ls);
	return 0;
}

TEST(a_wildcard_listener_answers_connects_to_any_address_of_its_port)
{
	asup_rt *rt = sim_rt(3, NULL);

	sim_run(rt, wildcard, NULL);
	test_rt_done(rt);
}

static int64_t misuse(asup_cx *cx, void *arg)
{
	struct sockaddr_in a = sim_in4(10, 0, 0, 1, 80);
	static char big[70000];
	asup_socket ls, c, s, u, nul = {0, NULL};
	char b[4];

	(void)arg;
	CHECK_EQ(asup_tcp_listen(cx, (struct sockaddr *)&a, sizeof(a), NULL, &ls), 0);
	CHECK_EQ(asup_tcp_connect(cx, (struct sockaddr *)&a, sizeof(a), &c), 0);
	CHECK_EQ(asup_sock_accept(cx, ls, &s, NULL, NULL), 0);
	/* Wrong kinds and bad arguments. */
	CHECK_EQ(asup_sock_accept(cx, c, &u, NULL, NULL), -EINVAL);
	CHECK_EQ(asup_sock_accept(cx, ls, NULL, NULL, NULL), -EINVAL);
	CHECK_EQ(asup_sock_read(cx, ls, b, sizeof(b)), -ENOTCONN);
	CHECK_EQ(asup_sock_write(cx, ls, "x", 1), -EPIPE);
	CHECK_EQ(asup_sock_shutdown(cx, ls, SHUT_WR), -ENOTCONN);
	CHECK_EQ(asup_sock_shutdown(cx, c, 42), -EINVAL);
	CHECK_EQ(asup_sock_read(cx, c, NULL, 4), -EINVAL);
	CHECK_EQ(asup_sock_write(cx, c, b, 0), -EINVAL);
	/* A connected stream sends as write does, the address ignored. */
	CHECK_EQ(asup_sock_sendto(cx, c, "x", 1, (struct sockaddr *)&a, sizeof(a)), 1);
	CHECK_EQ(asup_sock_read(cx, s, b, sizeof(b)), 1);
	CHECK_EQ(asup_sock_read(cx, nul, b, sizeof(b)), -EBADF);
	/* What names a real fd stays refused. */
	CHECK_EQ(asup_sock_fd(cx, c), -ASUP_ESIMONLY);
	CHECK_EQ(asup_fd_wait(cx, 0, ASUP_IO_READABLE), -ASUP_ESIMONLY);
	/* Use after close. */
	CHECK_EQ(asup_sock_close(cx, c), 0);
	CHECK_EQ(asup_sock_read(cx, c, b, sizeof(b)), -EBADF);
	CHECK_EQ(asup_sock_write(cx, c, "x", 1), -EBADF);
	CHECK_EQ(asup_sock_close(cx, c), -EBADF);
	CHECK_EQ(asup_sock_shutdown(cx, c, SHUT_WR), -EBADF);
	/* The peer closed: its side reads the end, then writes fail. */
	CHECK_EQ(asup_sock_read(cx, s, b, sizeof(b)), 0);
	CHECK_EQ(asup_sock_write(cx, s, "x", 1), -EPIPE);
	asup_sock_close(cx, s);
	asup_sock_close(cx, ls);
	/* Datagrams: too large, wrong family. */
	CHECK_EQ(asup_udp_bind(cx, (struct sockaddr *)&a, sizeof(a), &u), 0);
	CHECK_EQ(asup_sock_sendto(cx, u, big, sizeof(big), (struct sockaddr *)&a, sizeof(a)),
		 -EMSGSIZE);
	{
		struct sockaddr_in6 a6;
		memset(&a6, 0, sizeof(a6));
		a6.sin6_family = AF_INET6;
		a6.sin6_addr = in6addr_loopback;
		a6.sin6_port = htons(1);
		CHECK_EQ(asup_sock_sendto(cx, u, "x", 1, (struct sockaddr *)&a6, sizeof(a6)),
			 -EAFNOSUPPORT);
	}
	CHECK_EQ(asup_sock_accept(cx, u, &s, NULL, NULL), -EINVAL);
	asup_sock_close(cx, u);
	return 0;
}

TEST(misuse_gets_clear_codes_and_changes_nothing)
{
	asup_rt *rt = sim_rt(4, NULL);

	sim_run(rt, misuse, NULL);
	CHECK_EQ(sim_totals(rt).sockets_open, 0);
	test_rt_done(rt);
}

static int64_t reset_send(asup_cx *cx, void *arg)
{
	struct sockaddr_in a = sim_in4(10, 0, 0, 1, 80);
	asup_socket ls, c, s;

	(void)arg;
	CHECK_EQ(asup_tcp_listen(cx, (struct sockaddr *)&a, sizeof(a), NULL, &ls), 0);
	CHECK_EQ(asup_tcp_connect(cx, (struct sockaddr *)&a, sizeof(a), &c), 0);
	/* Closing the listener resets what nobody accepted. */
	CHECK_EQ(asup_sock_close(cx, ls), 0);
	CHECK_EQ(asup_sock_write(cx, c, "x", 1), -ECONNRESET);
	/* The reset was told; the send side is broken from now on. */
	CHECK_EQ(asup_sock_write_all(cx, c, "xyz", 3, NULL), -EPIPE);
	CHECK_EQ(asup_sock_close(cx, c), 0);
	(void)s;
	return 0;
}

TEST(sending_on_a_reset_connection_is_econnreset_once_then_epipe)
{
	asup_rt *rt = sim_rt(5, NULL);

	sim_run(rt, reset_send, NULL);
	test_rt_done(rt);
}

static int64_t without_io(asup_cx *cx, void *arg)
{
	asup_socket s = *(asup_socket *)arg, u;
	struct sockaddr_in a = sim_in4(10, 0, 0, 2, 80);
	char b;

	CHECK_EQ(asup_tcp_listen(cx, (struct sockaddr *)&a, sizeof(a), NULL, &u), -EPERM);
	CHECK_EQ(asup_tcp_connect(cx, (struct sockaddr *)&a, sizeof(a), &u), -EPERM);
	CHECK_EQ(asup_udp_bind(cx, (struct sockaddr *)&a, sizeof(a), &u), -EPERM);
	CHECK_EQ(asup_sock_read(cx, s, &b, 1), -EPERM);
	CHECK_EQ(asup_sock_close(cx, s), -EPERM);
	return 0;
}

static int64_t eperm(asup_cx *cx, void *arg)
{
	struct sockaddr_in a = sim_in4(10, 0, 0, 1, 80);
	asup_socket ls;

	(void)arg;
	CHECK_EQ(asup_tcp_listen(cx, (struct sockaddr *)&a, sizeof(a), NULL, &ls), 0);
	CHECK_EQ(asup_cx_restricted(cx, asup_cx_caps(cx) & ~(uint32_t)ASUP_CAP_IO, without_io,
				    &ls),
		 0);
	return asup_sock_close(cx, ls);
}

TEST(sim_sockets_without_the_io_capability_are_refused_with_eperm)
{
	asup_rt *rt = sim_rt(6, NULL);

	sim_run(rt, eperm, NULL);
	test_rt_done(rt);
}

TEST(outside_a_task_sim_calls_return_enotask)
{
	struct sockaddr_in a = sim_in4(10, 0, 0, 1, 80);
	asup_socket u = {0, NULL};

	CHECK_EQ(asup_tcp_listen(NULL, (struct sockaddr *)&a, sizeof(a), NULL, &u), -ASUP_ENOTASK);
	CHECK_EQ(asup_sock_close(NULL, u), -ASUP_ENOTASK);
}

static int64_t names(asup_cx *cx, void *arg)
{
	struct addrinfo hints, *res = NULL;
	struct sockaddr_in *in;

	(void)arg;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	CHECK_EQ(asup_resolve(cx, "10.1.2.3", "80", &hints, &res), 0);
	in = (struct sockaddr_in *)(void *)res->ai_addr;
	CHECK_EQ(ntohl(in->sin_addr.s_addr), 0x0a010203u);
	CHECK_EQ(ntohs(in->sin_port), 80);
	asup_resolve_free(res);
	CHECK_EQ(asup_resolve(cx, "localhost", "8080", &hints, &res), 0);
	in = (struct sockaddr_in *)(void *)res->ai_addr;
	CHECK_EQ(res->ai_family, AF_INET);
	CHECK_EQ(ntohl(in->sin_addr.s_addr), 0x7f000001u);
	asup_resolve_free(res);
	hints.ai_family = AF_INET6;
	CHECK_EQ(asup_resolve(cx, "localhost", NULL, &hints, &res), 0);
	CHECK_EQ(res->ai_family, AF_INET6);
	asup_resolve_free(res);
	CHECK_EQ(asup_resolve(cx, "example.com", "80", NULL, &res), -ENOENT);
	CHECK_EQ(asup_resolve(cx, "10.0.0.1", "http", NULL, &res), -ESRCH);
	CHECK_EQ(asup_resolve(cx, NULL, NULL, NULL, &res), -EINVAL);
	return 0;
}

TEST(resolve_in_the_sim_answers_numeric_and_localhost_only)
{
	asup_rt *rt = sim_rt(7, NULL);

	sim_run(rt, names, NULL);
	test_rt_done(rt);
}
