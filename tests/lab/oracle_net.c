/*
 * The lab's network oracles (asupersync/lab.h): socket_leak names a socket
 * a region closed with and the region; sockets closed by their owner are
 * not reported; net_data_lost stays quiet on runs whose losses the network
 * reported (resets discarding unread data, datagrams lost to a partition),
 * while the network's own counters show that data was indeed dropped.
 *
 * What cannot be tested from here: a network that lets data go without a
 * drop event. The simulated network has no such path on purpose, and
 * making one would mean breaking it; the oracle's check is the per-socket
 * balance sent = delivered + dropped + in flight, read through the query
 * surface after every step.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "io/simnet.h"

static struct sockaddr_in addr_of(unsigned host, unsigned port)
{
	struct sockaddr_in sa;

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(0x0a000000u | host);
	return sa;
}

struct prog {
	int close_them;     /* close every socket before the region ends */
	int connect_too;    /* also open a connection to the listener */
	uint64_t region;    /* the child region's id, as the body saw it */
};

/* A child region that listens (and maybe connects and accepts), then
 * returns, closing what it opened only if told to. */
static int64_t body(asup_cx *cx, void *arg)
{
	struct prog *p = arg;
	struct sockaddr_in sa = addr_of(5, 80);
	asup_socket ls, c, a;
	int rc;

	p->region = asup_scope_region_id(cx);
	if ((rc = asup_tcp_listen(cx, (struct sockaddr *)&sa, sizeof sa, NULL, &ls)) < 0)
		return rc;
	if (p->connect_too) {
		if ((rc = asup_tcp_connect(cx, (struct sockaddr *)&sa, sizeof sa, &c)) < 0 ||
		    (rc = asup_sock_accept(cx, ls, &a, NULL, NULL)) < 0)
			return rc;
		if (p->close_them) {
			CHECK_EQ(asup_sock_close(cx, a), 0);
			CHECK_EQ(asup_sock_close(cx, c), 0);
		}
	}
	if (p->close_them)
		CHECK_EQ(asup_sock_close(cx, ls), 0);
	return 0;
}

static int64_t root(asup_cx *cx, void *arg)
{
	asup_outcome o;
	int rc = asup_region(cx, body, arg, &o);

	if (rc < 0)
		return rc;
	return o.kind == ASUP_OUTCOME_OK ? 0 : -1;
}

static asup_lab *run(struct prog *p, int *rc)
{
	asup_lab_config cfg;
	asup_lab *lab;
	asup_outcome o;

	asup_lab_config_init(&cfg);
	cfg.seed = 3;
	cfg.check_every_step = 1;
	cfg.stop_on_violation = 0;
	CHECK_EQ(asup_lab_create(&cfg, &lab), 0);
	*rc = asup_lab_run(lab, root, p, &o);
	return lab;
}

TEST(a_listener_left_open_is_a_socket_leak_naming_it_and_its_region)
{
	struct prog p = {0};
	asup_lab_violation v;
	int rc;
	asup_lab *lab = run(&p, &rc);

	CHECK_EQ(rc, -ASUP_EORACLE);
	CHECK_EQ(asup_lab_violation_count(lab), 1);
	CHECK_EQ(asup_lab_violation_get(lab, 0, &v), 0);
	CHECK_STR_EQ(v.oracle, "socket_leak");
	CHECK_EQ(v.region, p.region);
	CHECK(strstr(v.message, "listener S1 (10.0.0.5:80") != NULL);
	printf("%s: %s\n", v.oracle, v.message);
	CHECK_EQ(asup_lab_destroy(lab), 0);
}

TEST(every_socket_left_open_is_reported_once)
{
	struct prog p = {.connect_too = 1};
	asup_lab_violation v;
	int rc, listener = 0, conns = 0;
	asup_lab *lab = run(&p, &rc);

	CHECK_EQ(rc, -ASUP_EORACLE);
	CHECK_EQ(asup_lab_violation_count(lab), 3);
	for (size_t i = 0; i < 3; i++) {
		CHECK_EQ(asup_lab_violation_get(lab, i, &v), 0);
		CHECK_STR_EQ(v.oracle, "socket_leak");
		CHECK_EQ(v.region, p.region);
		listener += strstr(v.message, "listener S") != NULL;
		conns += strstr(v.message, "connection S") != NULL;
	}
	CHECK_EQ(listener, 1);
	CHECK_EQ(conns, 2);
	CHECK_EQ(asup_lab_destroy(lab), 0);
}

TEST(sockets_closed_by_their_owner_are_not_reported)
{
	struct prog p = {.connect_too = 1, .close_them = 1};
	int rc;
	asup_lab *lab = run(&p, &rc);

	CHECK_EQ(rc, 0);
	CHECK_EQ(asup_lab_violation_count(lab), 0);
	CHECK_EQ(asup_lab_destroy(lab), 0);
}

/* ---- net_data_lost: no false reports when data is dropped ------------- */

/* A client writes a burst and closes at once while resets are frequent: a
 * reset discards what the peer had not read (dropped, and so reported). */
static int64_t burst_server(asup_cx *cx, void *arg)
{
	asup_socket *ls = arg, s;
	char buf[256];

	while (asup_sock_accept(cx, *ls, &s, NULL, NULL) == 0) {
		while (asup_sock_read(cx, s, buf, sizeof buf) > 0)
			if (asup_sleep(cx, 1000000) < 0) /* a slow reader */
				break;
		(void)asup_sock_close(cx, s);
	}
	return 0;
}

static int64_t burst_root(asup_cx *cx, void *arg)
{
	struct sockaddr_in sa = addr_of(9, 90);
	char buf[4096];
	asup_socket ls, c;
	asup_task h;

	(void)arg;
	memset(buf, 'd', sizeof buf);
	CHECK_EQ(asup_tcp_listen(cx, (struct sockaddr *)&sa, sizeof sa, NULL, &ls), 0);
	CHECK_EQ(asup_spawn(cx, burst_server, &ls, NULL, &h), 0);
	for (int i = 0; i < 8; i++) {
		if (asup_tcp_connect(cx, (struct sockaddr *)&sa, sizeof sa, &c) < 0)
			continue;
		(void)asup_sock_write_all(cx, c, buf, sizeof buf, NULL);
		CHECK_EQ(asup_sock_close(cx, c), 0);
	}
	CHECK_EQ(asup_sleep(cx, 100000000), 0);
	(void)!asup_task_abort(&h);
	(void)!asup_join(cx, &h, NULL);
	CHECK_EQ(asup_sock_close(cx, ls), 0);
	return 0;
}

TEST(net_data_lost_stays_quiet_when_the_network_reports_its_drops)
{
	uint64_t dropped = 0;

	for (uint64_t seed = 1; seed <= 20; seed++) {
		asup_lab_config cfg;
		asup_lab *lab;
		asup_outcome o;
		asup__simnet_totals t;
		int rc;

		asup_lab_config_init(&cfg);
		cfg.seed = seed;
		cfg.check_every_step = 1;
		cfg.net.segment_size = 128;
		cfg.net.faults.reset = 0.05;
		CHECK_EQ(asup_lab_create(&cfg, &lab), 0);
		rc = asup_lab_run(lab, burst_root, NULL, &o);
		if (rc != 0)
			asup_lab_violations_print(lab, stderr);
		CHECK_EQ(rc, 0);
		CHECK(asup__simnet_of(asup_lab_rt(lab)) != NULL);
		asup__simnet_totals_get(asup__simnet_of(asup_lab_rt(lab)), &t);
		dropped += t.bytes_dropped;
		CHECK_EQ(asup_lab_destroy(lab), 0);
	}
	/* The sweep did drop data: the oracle had something to account for. */
	printf("bytes dropped over 20 seeds: %" PRIu64 "\n", dropped);
	CHECK(dropped > 0);
}
