/*
 * Cancellation and ownership on the simulated network: a parked read,
 * accept or connect ends with -ECANCELED or -ETIMEDOUT and loses nothing
 * (data not returned stays in the socket); a region that closes with
 * sockets open closes them, reports each through the report hook, and its
 * handles then return -ASUP_ECLOSED.
 */
#include "simtest.h"

#define MS 1000000ull

static int64_t read_some(asup_cx *cx, void *arg)
{
	asup_socket s = *(asup_socket *)arg;
	char b[4];

	return asup_sock_read(cx, s, b, sizeof(b));
}

static int64_t accept_one(asup_cx *cx, void *arg)
{
	asup_socket ls = *(asup_socket *)arg, s;

	return asup_sock_accept(cx, ls, &s, NULL, NULL);
}

static int64_t late_writer(asup_cx *cx, void *arg)
{
	asup_socket c = *(asup_socket *)arg;

	CHECK_EQ(asup_sleep_until(cx, 20 * MS), 0);
	CHECK_EQ(asup_sock_write(cx, c, "data", 4), 4);
	return 0;
}

static int64_t cancel_main(asup_cx *cx, void *arg)
{
	struct sockaddr_in a = sim_in4(10, 0, 0, 1, 80);
	asup_socket ls, c, s;
	asup_task h, w;
	asup_outcome o;
	char b[8];

	(void)arg;
	CHECK_EQ(asup_tcp_listen(cx, (struct sockaddr *)&a, sizeof(a), NULL, &ls), 0);
	/* A parked accept under a deadline: -ETIMEDOUT, the listener intact. */
	CHECK_EQ(asup_timeout(cx, 1 * MS, accept_one, &ls), -ETIMEDOUT);
	CHECK_EQ(asup_tcp_connect(cx, (struct sockaddr *)&a, sizeof(a), &c), 0);
	CHECK_EQ(asup_sock_accept(cx, ls, &s, NULL, NULL), 0);
	/* A parked read cancelled before data came: -ECANCELED. */
	CHECK_EQ(asup_spawn(cx, read_some, &s, NULL, &h), 0);
	CHECK_EQ(asup_sleep(cx, 1 * MS), 0);
	CHECK_EQ(asup_task_abort_with(&h, ASUP_CANCEL_USER, NULL), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK(o.kind == ASUP_OUTCOME_CANCELLED || (o.kind == ASUP_OUTCOME_ERR && o.value == -ECANCELED));
	/* A read under a deadline that passes before the data: -ETIMEDOUT;
	 * the data that comes later is all still there. */
	CHECK_EQ(asup_spawn(cx, late_writer, &c, NULL, &w), 0);
	CHECK_EQ(asup_timeout(cx, 5 * MS, read_some, &s), -ETIMEDOUT);
	CHECK_EQ(asup_join(cx, &w, &o), 0);
	CHECK_EQ(asup_sock_read(cx, s, b, sizeof(b)), 4);
	CHECK_EQ(memcmp(b, "data", 4), 0);
	asup_sock_close(cx, c);
	asup_sock_close(cx, s);
	asup_sock_close(cx, ls);
	return 0;
}

TEST(cancelled_or_timed_out_sim_waits_lose_nothing)
{
	asup_rt *rt = sim_rt(1, NULL);

	sim_run(rt, cancel_main, NULL);
	CHECK_EQ(sim_totals(rt).bytes_dropped, 0);
	test_rt_done(rt);
}

static int64_t connect_slow(asup_cx *cx, void *arg)
{
	asup_socket c;
	int rc = asup_tcp_connect(cx, (struct sockaddr *)arg, sizeof(struct sockaddr_in), &c);

	if (rc == 0)
		asup_sock_close(cx, c);
	return rc;
}

static int64_t connect_deadline(asup_cx *cx, void *arg)
{
	struct sockaddr_in a = sim_in4(10, 0, 0, 1, 80);
	asup_socket ls, s;

	(void)arg;
	CHECK_EQ(asup_tcp_listen(cx, (struct sockaddr *)&a, sizeof(a), NULL, &ls), 0);
	/* The deadline passes while the SYN-ACK is on its way back: the
	 * half-made connection is reset for the server, nothing stays open. */
	CHECK_EQ(asup_timeout(cx, 3 * MS, connect_slow, &a), -ETIMEDOUT);
	CHECK_EQ(asup_sock_accept(cx, ls, &s, NULL, NULL), 0);
	CHECK_EQ(asup_sleep(cx, 10 * MS), 0);
	{
		char b[4];
		CHECK_EQ(asup_sock_read(cx, s, b, sizeof(b)), -ECONNRESET);
	}
	asup_sock_close(cx, s);
	asup_sock_close(cx, ls);
	return 0;
}

TEST(a_connect_cut_by_its_deadline_leaves_nothing_open)
{
	asup_simnet_config net;
	asup_rt *rt;

	asup_simnet_config_init(&net);
	net.faults.latency_min_ns = net.faults.latency_max_ns = 2 * MS;
	rt = sim_rt(2, &net);
	sim_run(rt, connect_deadline, NULL);
	CHECK_EQ(sim_totals(rt).sockets_open, 0);
	test_rt_done(rt);
}

/* ---- region close --------------------------------------------------------- */

static struct {
	int n;
	uint64_t region;
} leaks;

static void leak_hook(void *ud, const asup_report *r)
{
	(void)ud;
	CHECK_EQ(r->kind, ASUP_REPORT_RESOURCE_LEAK);
	CHECK_STR_EQ(r->why, "simulated socket");
	CHECK(strstr(r->line, "region closed") != NULL);
	leaks.region = r->region_id;
	leaks.n++;
}

struct held {
	asup_socket ls, c, u;
	uint64_t region;
};

static int64_t open_and_leave(asup_cx *cx, void *arg)
{
	struct held *h = arg;
	struct sockaddr_in a = sim_in4(10, 0, 0, 1, 80), d = sim_in4(10, 0, 0, 1, 53);

	h->region = asup_scope_region_id(cx);
	CHECK_EQ(asup_tcp_listen(cx, (struct sockaddr *)&a, sizeof(a), NULL, &h->ls), 0);
	CHECK_EQ(asup_tcp_connect(cx, (struct sockaddr *)&a, sizeof(a), &h->c), 0);
	CHECK_EQ(asup_udp_bind(cx, (struct sockaddr *)&d, sizeof(d), &h->u), 0);
	return 0;
}

static int64_t region_main(asup_cx *cx, void *arg)
{
	struct held h;
	struct sockaddr_in a = sim_in4(10, 0, 0, 1, 80);
	asup_socket again;
	asup_outcome o;
	char b[4];

	(void)arg;
	CHECK_EQ(asup_region(cx, open_and_leave, &h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(leaks.n, 3);
	CHECK_EQ(leaks.region, h.region);
	CHECK_EQ(asup_sock_read(cx, h.c, b, sizeof(b)), -ASUP_ECLOSED);
	CHECK_EQ(asup_sock_close(cx, h.ls), -ASUP_ECLOSED);
	CHECK_EQ(asup_sock_sendto(cx, h.u, "x", 1, NULL, 0), -ASUP_ECLOSED);
	/* The address is free again. */
	CHECK_EQ(asup_tcp_listen(cx, (struct sockaddr *)&a, sizeof(a), NULL, &again), 0);
	return asup_sock_close(cx, again);
}

TEST(region_closing_with_sim_sockets_open_closes_and_reports_them)
{
	asup_rt_config cfg;
	asup_rt *rt;

	asup_rt_config_init(&cfg);
	cfg.mode = ASUP_MODE_DETERMINISTIC;
	cfg.report = leak_hook;
	rt = test_rt_cfg(&cfg);
	sim_run(rt, region_main, NULL);
	CHECK_EQ(sim_totals(rt).sockets_open, 0);
	test_rt_done(rt);
	CHECK_EQ(leaks.n, 3); /* nothing more at destroy */
}
