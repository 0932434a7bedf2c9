/*
 * Each fault kind of the simulated network, with a seed: latency (fixed,
 * uniform, tail), datagram loss, duplication and reordering, stream
 * stalls; and the same seed giving the same digest, different seeds not.
 */
#include "simtest.h"

#define NDG 200

struct dg {
	asup_socket rx;
	int got;
	uint32_t seq[NDG * 2];
	asup_time delay[NDG * 2];
};

static int64_t recv_loop(asup_cx *cx, void *arg)
{
	struct dg *d = arg;
	uint64_t msg[2];

	for (;;) {
		int64_t n = asup_sock_recvfrom(cx, d->rx, msg, sizeof(msg), NULL, NULL);
		if (n < 0)
			return n;
		CHECK_EQ(n, (int64_t)sizeof(msg));
		if (d->got < NDG * 2) {
			d->seq[d->got] = (uint32_t)msg[0];
			d->delay[d->got] = asup_now(cx) - msg[1];
		}
		d->got++;
	}
}

static int64_t receiver(asup_cx *cx, void *arg)
{
	/* Receiving ends with the scope's deadline; anything else is wrong. */
	return asup_timeout(cx, 1000000000, recv_loop, arg) == -ETIMEDOUT ? 0 : 1;
}

/* Sends NDG numbered datagrams, 10 us apart, while a receiver task takes
 * them for 1 s. */
static int64_t dg_main(asup_cx *cx, void *arg)
{
	struct dg *d = arg;
	struct sockaddr_in a = sim_in4(10, 0, 0, 1, 53), b = sim_in4(10, 0, 0, 2, 54);
	asup_socket tx;
	uint64_t msg[2];
	asup_task h;
	asup_outcome o;

	CHECK_EQ(asup_udp_bind(cx, (struct sockaddr *)&a, sizeof(a), &d->rx), 0);
	CHECK_EQ(asup_udp_bind(cx, (struct sockaddr *)&b, sizeof(b), &tx), 0);
	CHECK_EQ(asup_spawn(cx, receiver, d, NULL, &h), 0);
	for (uint32_t i = 0; i < NDG; i++) {
		msg[0] = i;
		msg[1] = asup_now(cx);
		CHECK_EQ(asup_sock_sendto(cx, tx, msg, sizeof(msg), (struct sockaddr *)&a, sizeof(a)),
			 (int64_t)sizeof(msg));
		CHECK_EQ(asup_sleep(cx, 10000), 0);
	}
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(o.value, 0);
	asup_sock_close(cx, tx);
	asup_sock_close(cx, d->rx);
	return 0;
}

static struct dg *run_dg(uint64_t seed, const asup_simnet_faults *f, asup__simnet_totals *t)
{
	asup_simnet_config net;
	struct dg *d = calloc(1, sizeof(*d));
	asup_rt *rt;

	asup_simnet_config_init(&net);
	net.faults = *f;
	net.dgram_queue = 4096;
	rt = sim_rt(seed, &net);
	sim_run(rt, dg_main, d);
	*t = sim_totals(rt);
	CHECK_EQ(t->dgrams_sent, t->dgrams_delivered + t->dgrams_dropped);
	test_rt_done(rt);
	return d;
}

static asup_simnet_faults perfect(uint64_t lo, uint64_t hi)
{
	asup_simnet_faults f;
	memset(&f, 0, sizeof(f));
	f.latency_min_ns = lo;
	f.latency_max_ns = hi;
	return f;
}

TEST(fixed_latency_delays_every_packet_by_exactly_that)
{
	asup_simnet_faults f = perfect(300000, 300000);
	asup__simnet_totals t;
	struct dg *d = run_dg(1, &f, &t);

	CHECK_EQ(d->got, NDG);
	for (int i = 0; i < d->got; i++) {
		CHECK_EQ(d->seq[i], (uint32_t)i);
		CHECK_EQ(d->delay[i], 300000);
	}
	free(d);
}

TEST(uniform_latency_stays_within_bounds_and_varies)
{
	asup_simnet_faults f = perfect(100000, 900000);
	asup__simnet_totals t;
	struct dg *d = run_dg(2, &f, &t);
	asup_time lo = ASUP_TIME_MAX, hi = 0;

	CHECK_EQ(d->got, NDG);
	for (int i = 0; i < d->got; i++) {
		lo = d->delay[i] < lo ? d->delay[i] : lo;
		hi = d->delay[i] > hi ? d->delay[i] : hi;
	}
	CHECK(lo >= 100000);
	CHECK(hi <= 900000);
	CHECK(hi - lo > 400000);
	free(d);
}

TEST(latency_tail_makes_some_packets_late_by_the_tail)
{
	asup_simnet_faults f = perfect(100000, 100000);
	asup__simnet_totals t;
	struct dg *d;
	int late = 0;

	f.tail_p = 0.2;
	f.tail_ns = 5000000;
	d = run_dg(3, &f, &t);
	CHECK_EQ(d->got, NDG);
	for (int i = 0; i < d->got; i++) {
		CHECK(d->delay[i] == 100000 || d->delay[i] == 5100000);
		late += d->delay[i] == 5100000;
	}
	CHECK(late > 10 && late < 80);
	free(d);
}

TEST(datagram_loss_drops_about_the_fraction_and_counts_each_drop)
{
	asup_simnet_faults f = perfect(50000, 50000);
	asup__simnet_totals t;
	struct dg *d;

	f.loss = 0.3;
	d = run_dg(4, &f, &t);
	CHECK(d->got > NDG * 5 / 10 && d->got < NDG * 9 / 10);
	CHECK_EQ(t.dgrams_dropped, (uint64_t)(NDG - d->got));
	free(d);
}

TEST(datagram_duplication_delivers_some_twice)
{
	asup_simnet_faults f = perfect(50000, 50000);
	asup__simnet_totals t;
	struct dg *d;
	int seen[NDG] = {0}, twice = 0;

	f.dup = 0.3;
	d = run_dg(5, &f, &t);
	CHECK(d->got > NDG);
	for (int i = 0; i < d->got && i < NDG * 2; i++)
		if (++seen[d->seq[i]] == 2)
			twice++;
	CHECK_EQ(twice, d->got - NDG);
	CHECK_EQ(t.dgrams_sent, (uint64_t)d->got);
	free(d);
}

TEST(datagram_reordering_lets_later_ones_overtake)
{
	asup_simnet_faults f = perfect(50000, 50000);
	asup__simnet_totals t;
	struct dg *d;
	int inversions = 0;

	f.reorder = 0.2;
	f.reorder_ns = 200000;
	d = run_dg(6, &f, &t);
	CHECK_EQ(d->got, NDG);
	for (int i = 1; i < d->got; i++)
		inversions += d->seq[i] < d->seq[i - 1];
	CHECK(inversions > 5);
	free(d);
}

TEST(different_seeds_draw_different_faults_and_the_same_seed_the_same)
{
	asup_simnet_faults f = asup_simnet_faults_heavy();
	asup__simnet_totals t1, t2, t3;
	struct dg *a = run_dg(7, &f, &t1), *b = run_dg(7, &f, &t2), *c = run_dg(8, &f, &t3);

	CHECK_EQ(a->got, b->got);
	CHECK_EQ(memcmp(a->seq, b->seq, sizeof(a->seq)), 0);
	CHECK_EQ(memcmp(a->delay, b->delay, sizeof(a->delay)), 0);
	CHECK(a->got != c->got || memcmp(a->delay, c->delay, sizeof(a->delay)) != 0);
	free(a);
	free(b);
	free(c);
}

/* ---- streams -------------------------------------------------------------- */

static int64_t stall_main(asup_cx *cx, void *arg)
{
	struct sockaddr_in a = sim_in4(10, 0, 0, 1, 80);
	asup_socket ls, c, s;
	char buf[16];
	asup_time t0;

	(void)arg;
	CHECK_EQ(asup_tcp_listen(cx, (struct sockaddr *)&a, sizeof(a), NULL, &ls), 0);
	CHECK_EQ(asup_tcp_connect(cx, (struct sockaddr *)&a, sizeof(a), &c), 0);
	CHECK_EQ(asup_sock_accept(cx, ls, &s, NULL, NULL), 0);
	t0 = asup_now(cx);
	CHECK_EQ(asup_sock_write(cx, c, "abc", 3), 3);
	CHECK_EQ(asup_sock_read(cx, s, buf, sizeof(buf)), 3);
	asup_sock_close(cx, c);
	asup_sock_close(cx, s);
	asup_sock_close(cx, ls);
	return (int64_t)(asup_now(cx) - t0);
}

TEST(stream_stall_holds_a_segment_back_by_the_stall)
{
	asup_simnet_config net;
	asup_rt *rt;

	asup_simnet_config_init(&net);
	net.faults.stall = 1.0;
	net.faults.stall_ns = 7000000;
	rt = sim_rt(9, &net);
	/* The connect's SYN stalls too; the data: latency + stall. */
	CHECK_EQ(sim_run(rt, stall_main, NULL), 7050000);
	test_rt_done(rt);
	asup_simnet_config_init(&net);
	rt = sim_rt(9, &net);
	CHECK_EQ(sim_run(rt, stall_main, NULL), 50000);
	test_rt_done(rt);
}

TEST(per_link_faults_override_the_default_for_that_pair_only)
{
	asup_simnet_config net;
	asup_rt *rt;

	asup_simnet_config_init(&net);
	net.nlinks = 1;
	net.links[0].a = sim_host4(127, 0, 0, 1);
	net.links[0].b = sim_host4(10, 0, 0, 1);
	net.links[0].faults = perfect(2000000, 2000000);
	rt = sim_rt(10, &net);
	CHECK_EQ(sim_run(rt, stall_main, NULL), 2000000);
	test_rt_done(rt);
}

/* ---- digests ---------------------------------------------------------------- */

static int64_t lab_main(asup_cx *cx, void *arg)
{
	struct dg *d = calloc(1, sizeof(*d));
	int64_t r;

	(void)arg;
	r = dg_main(cx, d);
	r = r == 0 ? d->got : -1;
	free(d);
	if (stall_main(cx, NULL) <= 0)
		return -1;
	return r;
}

TEST(same_seed_same_digest_and_different_seeds_differ_under_light_and_heavy)
{
	asup_simnet_config net;
	char h1[33], h2[33], h3[33];
	int64_t v1, v2, v3;

	for (int heavy = 0; heavy < 2; heavy++) {
		asup_simnet_config_init(&net);
		net.dgram_queue = 4096;
		net.faults = heavy ? asup_simnet_faults_heavy() : asup_simnet_faults_light();
		net.faults.reset = 0;
		CHECK_EQ(sim_lab(11, &net, lab_main, NULL, h1, &v1), 0);
		CHECK_EQ(sim_lab(11, &net, lab_main, NULL, h2, &v2), 0);
		CHECK_EQ(sim_lab(12, &net, lab_main, NULL, h3, &v3), 0);
		CHECK_STR_EQ(h1, h2);
		CHECK_EQ(v1, v2);
		CHECK(strcmp(h1, h3) != 0);
		CHECK(v1 > 0);
	}
}
