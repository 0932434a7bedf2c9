/*
 * Network events in the trace and the Perfetto export: connect, accept,
 * send, deliver, close appear as ASUP_EV_NET events naming their
 * connection; the Chrome/Perfetto export puts them on a "network" process
 * with one track per connection; the hook sees the same events.
 */
#include "simtest.h"

static int64_t two_conns(asup_cx *cx, void *arg)
{
	struct sockaddr_in a = sim_in4(10, 0, 0, 1, 80);
	asup_socket ls, c[2], s[2];
	char b[8];
	int *hooked = arg;

	CHECK_EQ(asup_tcp_listen(cx, (struct sockaddr *)&a, sizeof(a), NULL, &ls), 0);
	(void)hooked;
	for (int i = 0; i < 2; i++) {
		CHECK_EQ(asup_tcp_connect(cx, (struct sockaddr *)&a, sizeof(a), &c[i]), 0);
		CHECK_EQ(asup_sock_accept(cx, ls, &s[i], NULL, NULL), 0);
		CHECK_EQ(asup_sock_write(cx, c[i], "hey", 3), 3);
		CHECK_EQ(asup_sock_read(cx, s[i], b, sizeof(b)), 3);
		asup_sock_close(cx, c[i]);
		asup_sock_close(cx, s[i]);
	}
	asup_sock_close(cx, ls);
	return 0;
}

TEST(network_events_are_traced_with_their_connection)
{
	asup_lab_config cfg;
	asup_lab *lab;
	asup_outcome o;
	asup_event ev[512];
	size_t n;
	int kinds[16] = {0};
	uint64_t conns[8];
	int nconns = 0;

	asup_lab_config_init(&cfg);
	CHECK_EQ(asup_lab_create(&cfg, &lab), 0);
	CHECK_EQ(asup_lab_run(lab, two_conns, NULL, &o), 0);
	n = asup_lab_events(lab, ev, 512);
	for (size_t i = 0; i < n; i++) {
		uint32_t k;
		if (ev[i].type != ASUP_EV_NET)
			continue;
		k = (uint32_t)(ev[i].a & 0xff);
		CHECK(k >= ASUP__NET_LISTEN && k <= ASUP__NET_STOP);
		kinds[k]++;
		if (k == ASUP__NET_CONNECT && nconns < 8)
			conns[nconns++] = ev[i].a >> 8;
		if (k == ASUP__NET_SEND || k == ASUP__NET_DELIVER)
			CHECK_EQ(ev[i].b, 3);
	}
	CHECK_EQ(kinds[ASUP__NET_LISTEN], 1);
	CHECK_EQ(kinds[ASUP__NET_CONNECT], 2);
	CHECK_EQ(kinds[ASUP__NET_ACCEPT], 2);
	CHECK_EQ(kinds[ASUP__NET_ESTABLISHED], 2);
	CHECK_EQ(kinds[ASUP__NET_SEND], 2);
	CHECK_EQ(kinds[ASUP__NET_DELIVER], 2);
	CHECK_EQ(kinds[ASUP__NET_CLOSE], 5);
	for (size_t i = 0; i < n; i++) /* all closed by the program */
		if (ev[i].type == ASUP_EV_NET && (ev[i].a & 0xff) == ASUP__NET_CLOSE)
			CHECK_EQ(ev[i].b, 0);
	CHECK_EQ(nconns, 2);
	CHECK(conns[0] != conns[1]);
	CHECK_STR_EQ(asup_event_type_name(ASUP_EV_NET), "net");
	asup_lab_destroy(lab);
}

TEST(perfetto_export_has_a_network_track_per_connection)
{
	asup_lab_config cfg;
	asup_lab *lab;
	asup_outcome o;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	asup_lab_config_init(&cfg);
	CHECK_EQ(asup_lab_create(&cfg, &lab), 0);
	CHECK_EQ(asup_lab_run(lab, two_conns, NULL, &o), 0);
	f = open_memstream(&text, &len);
	CHECK_EQ(asup_lab_export_chrome(lab, f, 1), 0);
	fclose(f);
	CHECK(strstr(text, "\"name\":\"network\"") != NULL);
	CHECK(strstr(text, "\"connection 2\"") != NULL); /* the first connecting socket */
	CHECK(strstr(text, "\"connection 4\"") != NULL); /* the second */
	CHECK(strstr(text, "\"name\":\"deliver\",\"cat\":\"net\"") != NULL);
	free(text);
	asup_lab_destroy(lab);
}

static struct {
	int n, delivers;
} hooked;

static void hook(void *ud, const asup__simnet_event *ev)
{
	(void)ud;
	hooked.n++;
	hooked.delivers += ev->kind == ASUP__NET_DELIVER;
}

static int walk_count(void *ud, const asup__simnet_sock_info *info)
{
	int *n = ud;
	CHECK(info->id > 0);
	CHECK_EQ(info->sent, info->delivered + info->dropped + info->in_flight);
	(*n)++;
	return 0;
}

static int64_t hooked_main(asup_cx *cx, void *arg)
{
	asup_rt *rt = arg;
	struct sockaddr_in a = sim_in4(10, 0, 0, 1, 80);
	asup_socket ls, c, s;
	int open = 0;

	CHECK_EQ(asup_tcp_listen(cx, (struct sockaddr *)&a, sizeof(a), NULL, &ls), 0);
	asup__simnet_set_hook(asup__simnet_of(rt), hook, NULL);
	CHECK_EQ(asup_tcp_connect(cx, (struct sockaddr *)&a, sizeof(a), &c), 0);
	CHECK_EQ(asup_sock_accept(cx, ls, &s, NULL, NULL), 0);
	CHECK_EQ(asup_sock_write(cx, c, "hey", 3), 3);
	CHECK_EQ(asup__simnet_walk(asup__simnet_of(rt), walk_count, &open), 0);
	CHECK_EQ(open, 3);
	{
		char b[4];
		CHECK_EQ(asup_sock_read(cx, s, b, sizeof(b)), 3);
	}
	asup_sock_close(cx, c);
	asup_sock_close(cx, s);
	asup_sock_close(cx, ls);
	return 0;
}

TEST(the_oracle_hook_and_walk_see_every_event_and_open_socket)
{
	asup_rt *rt = sim_rt(1, NULL);

	sim_run(rt, hooked_main, rt);
	CHECK(hooked.n >= 6);
	CHECK_EQ(hooked.delivers, 1);
	CHECK_EQ(sim_totals(rt).events >= (uint64_t)hooked.n, 1);
	test_rt_done(rt);
}

static int64_t leave_open(asup_cx *cx, void *arg)
{
	struct sockaddr_in a = sim_in4(10, 0, 0, 1, 80);
	asup_socket ls;

	(void)arg;
	return asup_tcp_listen(cx, (struct sockaddr *)&a, sizeof(a), NULL, &ls);
}

static int64_t leak_main(asup_cx *cx, void *arg)
{
	asup_outcome o;

	(void)arg;
	CHECK_EQ(asup_region(cx, leave_open, NULL, &o), 0);
	return 0;
}

TEST(a_socket_its_region_closed_is_marked_in_the_close_event)
{
	asup_lab_config cfg;
	asup_lab *lab;
	asup_outcome o;
	asup_event ev[256];
	size_t n;
	int leaked = 0;

	asup_lab_config_init(&cfg);
	CHECK_EQ(asup_lab_create(&cfg, &lab), 0);
	/* The lab's socket_leak oracle also sees the socket its region closed. */
	CHECK_EQ(asup_lab_run(lab, leak_main, NULL, &o), -ASUP_EORACLE);
	{
		asup_lab_violation v;
		/* The first violation is the leak (the lab stops the run there). */
		CHECK(asup_lab_violation_count(lab) >= 1);
		CHECK_EQ(asup_lab_violation_get(lab, 0, &v), 0);
		CHECK_STR_EQ(v.oracle, "socket_leak");
	}
	n = asup_lab_events(lab, ev, 256);
	for (size_t i = 0; i < n; i++)
		if (ev[i].type == ASUP_EV_NET && (ev[i].a & 0xff) == ASUP__NET_CLOSE)
			leaked += ev[i].b == 1;
	CHECK_EQ(leaked, 1);
	asup_lab_destroy(lab);
}
