/*
 * Partitions that start and heal at chosen or seeded times, and hosts that
 * stop answering: stream packets wait for the heal, datagrams are dropped,
 * a stopped host never answers (only a deadline ends the wait), and the
 * trace shows each partition and stop.
 */
#include "simtest.h"

#define MS 1000000ull
/* A root that returns a negative value ends Err: codes the test expects
 * travel as 1000 + errno. */
#define ERR_AS_VALUE(r) ((r) < 0 ? 1000 - (r) : (r))

static asup_simnet_config part_cfg(uint64_t s_lo, uint64_t s_hi, uint64_t e_lo, uint64_t e_hi)
{
	asup_simnet_config net;

	asup_simnet_config_init(&net);
	net.npartitions = 1;
	net.partitions[0].nhosts = 1;
	net.partitions[0].hosts[0] = sim_host4(10, 0, 0, 1);
	net.partitions[0].start_min_ns = s_lo;
	net.partitions[0].start_max_ns = s_hi;
	net.partitions[0].end_min_ns = e_lo;
	net.partitions[0].end_max_ns = e_hi;
	return net;
}

struct pr {
	asup_time arrived;    /* when the server read the request */
	int64_t dgram_got;
};

static int64_t srv(asup_cx *cx, void *arg)
{
	asup_socket *ls = arg, s;
	char buf[8];
	int64_t n;

	CHECK_EQ(asup_sock_accept(cx, *ls, &s, NULL, NULL), 0);
	n = asup_sock_read(cx, s, buf, sizeof(buf));
	CHECK_EQ(n, 4);
	asup_sock_close(cx, s);
	return (int64_t)asup_now(cx);
}

/* Connects at 0, sends a request at 2 ms, across a partition of the
 * server's host. */
static int64_t heal_main(asup_cx *cx, void *arg)
{
	struct pr *p = arg;
	struct sockaddr_in a = sim_in4(10, 0, 0, 1, 80);
	asup_socket ls, c;
	asup_task h;
	asup_outcome o;

	CHECK_EQ(asup_tcp_listen(cx, (struct sockaddr *)&a, sizeof(a), NULL, &ls), 0);
	CHECK_EQ(asup_spawn(cx, srv, &ls, NULL, &h), 0);
	CHECK_EQ(asup_tcp_connect(cx, (struct sockaddr *)&a, sizeof(a), &c), 0);
	CHECK_EQ(asup_sleep_until(cx, 2 * MS), 0);
	CHECK_EQ(asup_sock_write(cx, c, "ping", 4), 4);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	p->arrived = (asup_time)o.value;
	asup_sock_close(cx, c);
	asup_sock_close(cx, ls);
	return 0;
}

TEST(stream_packets_across_a_partition_wait_for_the_heal)
{
	asup_simnet_config net = part_cfg(1 * MS, 1 * MS, 5 * MS, 5 * MS);
	struct pr p = {0};
	asup_rt *rt = sim_rt(1, &net);

	sim_run(rt, heal_main, &p);
	CHECK_EQ(p.arrived, 5 * MS + 50000);
	test_rt_done(rt);
	/* Without the partition it arrives one latency after the send. */
	rt = sim_rt(1, NULL);
	sim_run(rt, heal_main, &p);
	CHECK_EQ(p.arrived, 2 * MS + 50000);
	test_rt_done(rt);
}

TEST(seeded_partition_times_differ_by_seed_and_repeat_by_seed)
{
	asup_simnet_config net = part_cfg(1 * MS, 1 * MS, 3 * MS, 30 * MS);
	struct pr p = {0};
	asup_time first[4];
	int distinct = 0;

	for (int i = 0; i < 4; i++) {
		asup_rt *rt = sim_rt((uint64_t)i % 2 + 100, &net);
		sim_run(rt, heal_main, &p);
		first[i] = p.arrived;
		CHECK(p.arrived >= 3 * MS + 50000 && p.arrived <= 30 * MS + 50000);
		test_rt_done(rt);
	}
	CHECK_EQ(first[0], first[2]); /* seed 100 twice */
	CHECK_EQ(first[1], first[3]); /* seed 101 twice */
	for (uint64_t seed = 1; seed <= 8; seed++) {
		asup_rt *rt = sim_rt(seed, &net);
		sim_run(rt, heal_main, &p);
		distinct += p.arrived != first[0];
		test_rt_done(rt);
	}
	CHECK(distinct > 0);
}

/* ---- a partition that never heals, and a stopped host ---------------------- */

static int64_t request(asup_cx *cx, void *arg)
{
	asup_socket c = *(asup_socket *)arg;
	char buf[8];

	CHECK_EQ(asup_sock_write(cx, c, "ping", 4), 4);
	return asup_sock_read(cx, c, buf, sizeof(buf));
}

static int64_t echo_once(asup_cx *cx, void *arg)
{
	asup_socket *ls = arg, s;
	char buf[8];
	int64_t n;

	if (asup_sock_accept(cx, *ls, &s, NULL, NULL) < 0)
		return -1;
	n = asup_sock_read(cx, s, buf, sizeof(buf));
	if (n > 0)
		asup_sock_write(cx, s, buf, (size_t)n);
	asup_sock_close(cx, s);
	return 0;
}

/* A request at 2 ms under a 10 ms deadline; the server side is cancelled
 * afterwards (it waits for a request that never comes). */
static int64_t deadline_main(asup_cx *cx, void *arg)
{
	struct sockaddr_in a = sim_in4(10, 0, 0, 1, 80);
	asup_socket ls, c;
	asup_task h;
	asup_outcome o;
	int64_t r;

	(void)arg;
	CHECK_EQ(asup_tcp_listen(cx, (struct sockaddr *)&a, sizeof(a), NULL, &ls), 0);
	CHECK_EQ(asup_spawn(cx, echo_once, &ls, NULL, &h), 0);
	CHECK_EQ(asup_tcp_connect(cx, (struct sockaddr *)&a, sizeof(a), &c), 0);
	CHECK_EQ(asup_sleep_until(cx, 2 * MS), 0);
	r = asup_timeout(cx, 10 * MS, request, &c);
	if (r == -ETIMEDOUT)
		CHECK_EQ(asup_now(cx), 12 * MS); /* the deadline, not earlier */
	CHECK_EQ(asup_task_abort_with(&h, ASUP_CANCEL_USER, NULL), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	asup_sock_close(cx, c);
	asup_sock_close(cx, ls);
	return ERR_AS_VALUE(r);
}

TEST(a_partition_that_never_heals_is_ended_only_by_the_deadline)
{
	asup_simnet_config net = part_cfg(1 * MS, 1 * MS, 0, 0);
	asup_rt *rt = sim_rt(2, &net);
	asup__simnet_totals t;

	CHECK_EQ(sim_run(rt, deadline_main, NULL), ERR_AS_VALUE(-ETIMEDOUT));
	/* The request held for good is reported lost once its connection is
	 * gone: every byte is delivered or dropped. */
	t = sim_totals(rt);
	CHECK_EQ(t.bytes_sent, 4);
	CHECK_EQ(t.bytes_dropped, 4);
	CHECK_EQ(t.bytes_sent, t.bytes_delivered + t.bytes_dropped);
	test_rt_done(rt);
}

TEST(a_stopped_host_never_answers_and_the_deadline_ends_the_wait)
{
	asup_simnet_config net;
	asup_rt *rt;

	asup_simnet_config_init(&net);
	net.nstops = 1;
	net.stops[0].host = sim_host4(10, 0, 0, 1);
	net.stops[0].at_min_ns = net.stops[0].at_max_ns = 1 * MS;
	rt = sim_rt(3, &net);
	CHECK_EQ(sim_run(rt, deadline_main, NULL), ERR_AS_VALUE(-ETIMEDOUT));
	test_rt_done(rt);
	/* The same program without the stop gets its echo. */
	rt = sim_rt(3, NULL);
	CHECK_EQ(sim_run(rt, deadline_main, NULL), 4);
	test_rt_done(rt);
}

static int64_t do_connect(asup_cx *cx, void *arg)
{
	asup_socket c;
	int rc = asup_tcp_connect(cx, (struct sockaddr *)arg, sizeof(struct sockaddr_in), &c);

	if (rc == 0)
		asup_sock_close(cx, c);
	return rc;
}

static int64_t connect_stopped_main(asup_cx *cx, void *arg)
{
	struct sockaddr_in a = sim_in4(10, 0, 0, 1, 80);
	asup_socket ls;
	int64_t r;

	(void)arg;
	CHECK_EQ(asup_tcp_listen(cx, (struct sockaddr *)&a, sizeof(a), NULL, &ls), 0);
	CHECK_EQ(asup_sleep_until(cx, 2 * MS), 0);
	r = asup_timeout(cx, 5 * MS, do_connect, &a);
	CHECK_EQ(asup_now(cx), 7 * MS);
	asup_sock_close(cx, ls);
	return ERR_AS_VALUE(r);
}

TEST(connect_to_a_stopped_host_gets_no_answer_until_the_deadline)
{
	asup_simnet_config net;
	asup_rt *rt;

	asup_simnet_config_init(&net);
	net.nstops = 1;
	net.stops[0].host = sim_host4(10, 0, 0, 1);
	net.stops[0].at_min_ns = net.stops[0].at_max_ns = 1 * MS;
	rt = sim_rt(4, &net);
	CHECK_EQ(sim_run(rt, connect_stopped_main, NULL), ERR_AS_VALUE(-ETIMEDOUT));
	CHECK_EQ(sim_totals(rt).sockets_open, 0); /* nothing half-made left open */
	test_rt_done(rt);
}

/* ---- datagrams and the trace ---------------------------------------------- */

static int64_t dgram_main(asup_cx *cx, void *arg)
{
	struct sockaddr_in a = sim_in4(10, 0, 0, 1, 53), b = sim_in4(10, 0, 0, 2, 53);
	asup_socket sa, sb;
	char buf[4];
	int64_t got = 0;

	(void)arg;
	CHECK_EQ(asup_udp_bind(cx, (struct sockaddr *)&a, sizeof(a), &sa), 0);
	CHECK_EQ(asup_udp_bind(cx, (struct sockaddr *)&b, sizeof(b), &sb), 0);
	CHECK_EQ(asup_sleep_until(cx, 2 * MS), 0); /* inside the partition */
	CHECK_EQ(asup_sock_sendto(cx, sb, "lost", 4, (struct sockaddr *)&a, sizeof(a)), 4);
	CHECK_EQ(asup_sleep_until(cx, 6 * MS), 0); /* healed */
	CHECK_EQ(asup_sock_sendto(cx, sb, "okay", 4, (struct sockaddr *)&a, sizeof(a)), 4);
	CHECK_EQ(asup_sock_recvfrom(cx, sa, buf, sizeof(buf), NULL, NULL), 4);
	got = memcmp(buf, "okay", 4) == 0;
	asup_sock_close(cx, sa);
	asup_sock_close(cx, sb);
	return got;
}

TEST(datagrams_across_a_partition_are_dropped_and_the_trace_shows_it)
{
	asup_simnet_config net = part_cfg(1 * MS, 1 * MS, 5 * MS, 5 * MS);
	asup_lab_config cfg;
	asup_lab *lab;
	asup_outcome o;
	asup_event ev[256];
	size_t n;
	int starts = 0, heals = 0, drops = 0;

	asup_lab_config_init(&cfg);
	cfg.net = net;
	CHECK_EQ(asup_lab_create(&cfg, &lab), 0);
	CHECK_EQ(asup_lab_run(lab, dgram_main, NULL, &o), 0);
	CHECK_EQ(o.value, 1);
	n = asup_lab_events(lab, ev, 256);
	for (size_t i = 0; i < n; i++) {
		if (ev[i].type != ASUP_EV_NET)
			continue;
		if ((ev[i].a & 0xff) == ASUP__NET_PARTITION) {
			starts += ev[i].b == 1;
			heals += ev[i].b == 0;
		}
		drops += (ev[i].a & 0xff) == ASUP__NET_DROP;
	}
	CHECK_EQ(starts, 1);
	CHECK_EQ(heals, 1);
	CHECK_EQ(drops, 1);
	asup_lab_destroy(lab);
}

/* ---- hosts of their own ----------------------------------------------------- */

struct node {
	asup_simnet_host host;
	int64_t result;
	struct sockaddr_in peer;
};

static int64_t node_b(asup_cx *cx, void *arg)
{
	struct node *n = arg;
	struct sockaddr_in a = sim_in4(10, 0, 0, 1, 80);

	CHECK_EQ(asup_simnet_set_host(cx, &n->host), 0);
	return asup_timeout(cx, 5 * MS, do_connect, &a);
}

static int64_t nodes_main(asup_cx *cx, void *arg)
{
	struct node *n = arg;
	struct sockaddr_in a = sim_in4(10, 0, 0, 1, 80);
	socklen_t plen = sizeof(n->peer);
	asup_socket ls, s;
	asup_outcome o;
	asup_simnet_host bad = sim_host4(0, 0, 0, 0);

	CHECK_EQ(asup_simnet_set_host(cx, NULL), -EINVAL);
	CHECK_EQ(asup_simnet_set_host(cx, &bad), -EINVAL);
	CHECK_EQ(asup_tcp_listen(cx, (struct sockaddr *)&a, sizeof(a), NULL, &ls), 0);
	CHECK_EQ(asup_region(cx, node_b, n, &o), 0);
	n->result = o.kind == ASUP_OUTCOME_OK ? o.value : o.value;
	if (n->result == 0) {
		CHECK_EQ(asup_sock_accept(cx, ls, &s, (struct sockaddr *)&n->peer, &plen), 0);
		asup_sock_close(cx, s);
	}
	asup_sock_close(cx, ls);
	return 0;
}

TEST(a_region_with_a_host_of_its_own_speaks_from_it_and_is_partitioned_with_it)
{
	asup_simnet_config net = part_cfg(0, 0, 0, 0);
	struct node n;
	asup_rt *rt;

	/* No partition: node B's connection comes from its own host. */
	memset(&n, 0, sizeof(n));
	n.host = sim_host4(10, 0, 0, 2);
	rt = sim_rt(5, NULL);
	sim_run(rt, nodes_main, &n);
	CHECK_EQ(n.result, 0);
	CHECK_EQ(ntohl(n.peer.sin_addr.s_addr), 0x0a000002u);
	test_rt_done(rt);
	/* Node B's host cut off from the rest: its connect gets no answer. */
	net.partitions[0].hosts[0] = sim_host4(10, 0, 0, 2);
	rt = sim_rt(5, &net);
	sim_run(rt, nodes_main, &n);
	CHECK_EQ(n.result, -ETIMEDOUT);
	test_rt_done(rt);
}

static int64_t real_mode(asup_cx *cx, void *arg)
{
	asup_simnet_host h = sim_host4(10, 0, 0, 2);

	(void)arg;
	return asup_simnet_set_host(cx, &h) == -ASUP_ENOTDET ? 0 : 1;
}

TEST(set_host_is_enotdet_on_a_real_runtime)
{
	asup_rt *rt = test_rt(ASUP_MODE_REAL, 0);

	CHECK_EQ(sim_run(rt, real_mode, NULL), 0);
	test_rt_done(rt);
}
