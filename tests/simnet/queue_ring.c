/*
 * The simulated network's internals that its speed rests on, seen from the
 * API: packets come out of the event queue in due time then send order
 * whether they were pushed in due order or not, and a stream's bytes come
 * back intact when the ring wraps, through several buffers at once, and
 * after an emptied ring starts over at its first byte.
 */
#include "simtest.h"

/* ---- the event queue ----------------------------------------------------- */

enum { NDG = 200 };

struct arrivals {
	asup_rt *rt;
	asup_time at[NDG];
	uint32_t idx[NDG];
	int n, checks_failed;
};

/* Sends NDG datagrams in one step (each carries its index), then receives
 * them all, noting when each arrived. With a latency drawn from four
 * close values, later sends are often due before earlier ones (they go
 * through the heap) and many share a due time (send order decides). */
static int64_t queue_body(asup_cx *cx, void *arg)
{
	struct arrivals *r = arg;
	struct sockaddr_in a = sim_in4(10, 0, 0, 1, 53), b = sim_in4(10, 0, 0, 2, 54);
	asup__simnet *sn;
	asup_socket sa, sb;
	uint32_t v;

	CHECK_EQ(asup_udp_bind(cx, (struct sockaddr *)&a, sizeof(a), &sa), 0);
	CHECK_EQ(asup_udp_bind(cx, (struct sockaddr *)&b, sizeof(b), &sb), 0);
	sn = asup__simnet_of(r->rt);
	for (uint32_t i = 0; i < NDG; i++) {
		CHECK_EQ(asup_sock_sendto(cx, sb, &i, sizeof i, (struct sockaddr *)&a, sizeof(a)),
			 (int64_t)sizeof i);
		if (asup__simnet_check(sn) != 0)
			r->checks_failed++;
	}
	for (r->n = 0; r->n < NDG; r->n++) {
		CHECK_EQ(asup_sock_recvfrom(cx, sa, &v, sizeof v, NULL, NULL), (int64_t)sizeof v);
		r->at[r->n] = asup_now(cx);
		r->idx[r->n] = v;
		if (asup__simnet_check(sn) != 0)
			r->checks_failed++;
	}
	asup_sock_close(cx, sa);
	asup_sock_close(cx, sb);
	return 0;
}

TEST(packets_leave_the_queue_in_due_time_then_send_order)
{
	asup_simnet_config net;
	static struct arrivals r;
	int ties = 0, inversions = 0;
	asup_time t0;
	asup_rt *rt;

	asup_simnet_config_init(&net);
	net.faults.latency_min_ns = 10000;
	net.faults.latency_max_ns = 10003;
	net.dgram_queue = NDG;
	rt = sim_rt(5, &net);
	memset(&r, 0, sizeof r);
	r.rt = rt;
	sim_run(rt, queue_body, &r);
	CHECK_EQ(r.n, NDG);
	CHECK_EQ(r.checks_failed, 0);
	/* Sent at one instant: each arrives at its due time, 10 us on. */
	t0 = r.at[0] - 10000;
	for (int i = 0; i < NDG; i++) {
		CHECK(r.at[i] >= t0 + 10000 && r.at[i] <= t0 + 10003);
		if (i == 0)
			continue;
		CHECK(r.at[i] > r.at[i - 1] || (r.at[i] == r.at[i - 1] && r.idx[i] > r.idx[i - 1]));
		ties += r.at[i] == r.at[i - 1];
		inversions += r.idx[i] < r.idx[i - 1];
	}
	/* Both ways of entering the queue were taken. */
	CHECK(ties > 0);
	CHECK(inversions > 0);
	test_rt_done(rt);
}

/* ---- the stream ring ------------------------------------------------------- */

struct ring_case {
	asup_socket ls;
	int failed;
};

static void fill(char *p, size_t n, int salt)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (char)(i * 13 + (size_t)salt);
}

static int64_t read_exact(asup_cx *cx, asup_socket s, char *p, size_t n)
{
	size_t got = 0;
	int64_t k;

	while (got < n) {
		if ((k = asup_sock_read(cx, s, p + got, n - got)) <= 0)
			return k < 0 ? k : -EPIPE;
		got += (size_t)k;
	}
	return 0;
}

/* The server reads 500 of the first 700 bytes (the ring keeps 200 at
 * offset 500), then all 900 bytes after the second write, which wrapped
 * in the 1 KiB ring; two buffers take them. Then the emptied ring gets
 * 1000 bytes from offset 0. */
static int64_t ring_server(asup_cx *cx, void *arg)
{
	struct ring_case *rc = arg;
	char want[2000], got[1000];
	struct iovec iov[2] = {{got, 333}, {got + 333, 567}};
	asup_socket s;
	int64_t n;
	size_t have = 0;

	CHECK_EQ(asup_sock_accept(cx, rc->ls, &s, NULL, NULL), 0);
	fill(want, 700, 1);
	fill(want + 700, 700, 2);
	CHECK_EQ(read_exact(cx, s, got, 500), 0);
	rc->failed += memcmp(got, want, 500) != 0;
	CHECK_EQ(asup_sleep(cx, 1000000), 0); /* the second write arrives */
	while (have < 900) {
		n = asup_sock_readv(cx, s, iov, 2);
		CHECK(n > 0);
		if (n <= 0)
			break;
		have += (size_t)n;
		/* The rest goes on after what came. */
		if (have < 333) {
			iov[0] = (struct iovec){got + have, 333 - have};
		} else {
			iov[0] = (struct iovec){got + have, 900 - have};
			iov[1] = (struct iovec){NULL, 0};
		}
	}
	rc->failed += memcmp(got, want + 500, 900) != 0;
	fill(want, 1000, 3);
	CHECK_EQ(read_exact(cx, s, got, 1000), 0);
	rc->failed += memcmp(got, want, 1000) != 0;
	CHECK_EQ(asup_sock_write(cx, s, "k", 1), 1);
	CHECK_EQ(asup_sock_close(cx, s), 0);
	return 0;
}

static int64_t ring_body(asup_cx *cx, void *arg)
{
	struct ring_case *rc = arg;
	struct sockaddr_in a = sim_in4(10, 0, 0, 1, 80);
	char first[700], second[700], third[1000], ack;
	struct iovec iov[3] = {{second, 100}, {second + 100, 450}, {second + 550, 150}};
	asup_socket c;
	asup_task h;
	asup_outcome o;

	fill(first, 700, 1);
	fill(second, 700, 2);
	fill(third, 1000, 3);
	CHECK_EQ(asup_tcp_listen(cx, (struct sockaddr *)&a, sizeof(a), NULL, &rc->ls), 0);
	CHECK_EQ(asup_spawn(cx, ring_server, rc, NULL, &h), 0);
	CHECK_EQ(asup_tcp_connect(cx, (struct sockaddr *)&a, sizeof(a), &c), 0);
	CHECK_EQ(asup_sock_write(cx, c, first, sizeof first), 700);
	CHECK_EQ(asup_sleep(cx, 500000), 0); /* the server has read 500 */
	/* 824 bytes of room, at offset 700 of 1024: the copy wraps. */
	CHECK_EQ(asup_sock_writev(cx, c, iov, 3), 700);
	CHECK_EQ(asup_sleep(cx, 2000000), 0); /* all read: the ring is empty */
	CHECK_EQ(asup_sock_write(cx, c, third, sizeof third), 1000);
	CHECK_EQ(asup_sock_read(cx, c, &ack, 1), 1);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(asup_sock_close(cx, c), 0);
	CHECK_EQ(asup_sock_close(cx, rc->ls), 0);
	return 0;
}

TEST(stream_bytes_survive_a_wrapping_ring_several_buffers_and_a_restart)
{
	asup_simnet_config net;
	struct ring_case rc = {0};
	asup_rt *rt;

	asup_simnet_config_init(&net);
	net.stream_buffer = 1024;
	net.segment_size = 1024;
	rt = sim_rt(2, &net);
	sim_run(rt, ring_body, &rc);
	CHECK_EQ(rc.failed, 0);
	CHECK_EQ(sim_totals(rt).bytes_delivered, 2401);
	CHECK_EQ(sim_totals(rt).bytes_dropped, 0);
	test_rt_done(rt);
}
