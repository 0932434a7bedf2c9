/*
 * The same program, unchanged, on a real runtime over loopback sockets and
 * on a deterministic runtime over the simulated network, with the same
 * result: a server task per connection that answers each line in upper
 * case, and clients that send lines of several sizes (longer than a
 * segment, so the simulated reads come back short) and check the answers.
 */
#include "simtest.h"

#include <ctype.h>

#define CLIENTS 8
#define ROUNDS 5

struct prog {
	asup_socket ls;
	uint16_t port;
	uint64_t sum[CLIENTS];
};

static int64_t read_exact(asup_cx *cx, asup_socket s, char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		int64_t n = asup_sock_read(cx, s, buf + got, len - got);
		if (n <= 0)
			return n < 0 ? n : -EPIPE;
		got += (size_t)n;
	}
	return 0;
}

/* One connection: a 4-byte length, then the bytes; the answer the same. */
static int64_t serve_conn(asup_cx *cx, void *arg)
{
	asup_socket s = *(asup_socket *)arg;
	char *buf = malloc(1 << 16); /* one per connection task */
	uint32_t len;

	while (read_exact(cx, s, (char *)&len, 4) == 0) {
		if (len > (1 << 16) || read_exact(cx, s, buf, len) < 0)
			break;
		for (uint32_t i = 0; i < len; i++)
			buf[i] = (char)toupper((unsigned char)buf[i]);
		if (asup_sock_write_all(cx, s, &len, 4, NULL) < 0 ||
		    asup_sock_write_all(cx, s, buf, len, NULL) < 0)
			break;
	}
	asup_sock_close(cx, s);
	free(buf);
	return 0;
}

static int64_t server(asup_cx *cx, void *arg)
{
	struct prog *p = arg;
	asup_socket conns[CLIENTS];
	asup_task hs[CLIENTS];
	asup_outcome o;

	for (int i = 0; i < CLIENTS; i++) {
		CHECK_EQ(asup_sock_accept(cx, p->ls, &conns[i], NULL, NULL), 0);
		CHECK_EQ(asup_spawn(cx, serve_conn, &conns[i], NULL, &hs[i]), 0);
	}
	for (int i = 0; i < CLIENTS; i++)
		CHECK_EQ(asup_join(cx, &hs[i], &o), 0);
	return 0;
}

struct cl {
	struct prog *p;
	int idx;
};

static int64_t client(asup_cx *cx, void *arg)
{
	struct cl *c = arg;
	struct sockaddr_in a;
	char msg[5000], back[5000];
	asup_socket s;
	uint64_t sum = 0;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(c->p->port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK_EQ(asup_tcp_connect(cx, (struct sockaddr *)&a, sizeof(a), &s), 0);
	for (int r = 0; r < ROUNDS; r++) {
		uint32_t len = (uint32_t)(1 + (c->idx * 977 + r * 1301) % 4999), back_len = 0;
		for (uint32_t i = 0; i < len; i++)
			msg[i] = (char)('a' + (i + (uint32_t)c->idx) % 26);
		CHECK_EQ(asup_sock_write_all(cx, s, &len, 4, NULL), 0);
		CHECK_EQ(asup_sock_write_all(cx, s, msg, len, NULL), 0);
		CHECK_EQ(read_exact(cx, s, (char *)&back_len, 4), 0);
		CHECK_EQ(back_len, len);
		CHECK_EQ(read_exact(cx, s, back, len), 0);
		for (uint32_t i = 0; i < len; i++) {
			CHECK_EQ(back[i], (char)toupper((unsigned char)msg[i]));
			sum = sum * 31 + (unsigned char)back[i];
		}
	}
	CHECK_EQ(asup_sock_close(cx, s), 0);
	c->p->sum[c->idx] = sum;
	return 0;
}

static int64_t program(asup_cx *cx, void *arg)
{
	struct prog *p = arg;
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	struct cl cs[CLIENTS];
	asup_task srv, hs[CLIENTS];
	asup_outcome o;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK_EQ(asup_tcp_listen(cx, (struct sockaddr *)&a, sizeof(a), NULL, &p->ls), 0);
	CHECK_EQ(asup_sock_local_addr(cx, p->ls, (struct sockaddr *)&a, &alen), 0);
	p->port = ntohs(a.sin_port);
	CHECK_EQ(asup_spawn(cx, server, p, NULL, &srv), 0);
	for (int i = 0; i < CLIENTS; i++) {
		cs[i].p = p;
		cs[i].idx = i;
		CHECK_EQ(asup_spawn(cx, client, &cs[i], NULL, &hs[i]), 0);
	}
	for (int i = 0; i < CLIENTS; i++) {
		CHECK_EQ(asup_join(cx, &hs[i], &o), 0);
		CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	}
	CHECK_EQ(asup_join(cx, &srv, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	return asup_sock_close(cx, p->ls);
}

TEST(the_same_program_gives_the_same_result_over_real_and_simulated_sockets)
{
	struct prog real, sim;
	asup_rt_config cfg;
	asup_rt *rt;

	memset(&real, 0, sizeof(real));
	memset(&sim, 0, sizeof(sim));
	asup_rt_config_init(&cfg);
	cfg.io_backend = ASUP_IO_EPOLL;
	rt = test_rt_cfg(&cfg);
	sim_run(rt, program, &real);
	test_rt_done(rt);

	rt = sim_rt(42, NULL);
	sim_run(rt, program, &sim);
	CHECK(sim_totals(rt).bytes_delivered > 0);
	CHECK_EQ(sim_totals(rt).sockets_open, 0);
	test_rt_done(rt);

	CHECK(real.sum[0] != 0);
	CHECK_EQ(memcmp(real.sum, sim.sum, sizeof(real.sum)), 0);
}

TEST(the_program_over_the_simulated_network_repeats_exactly_by_seed)
{
	char h1[33], h2[33], h3[33];
	struct prog p;
	asup_simnet_config net;

	asup_simnet_config_init(&net);
	net.faults = asup_simnet_faults_light();
	net.faults.reset = 0;
	memset(&p, 0, sizeof(p));
	CHECK_EQ(sim_lab(5, &net, program, &p, h1, NULL), 0);
	memset(&p, 0, sizeof(p));
	CHECK_EQ(sim_lab(5, &net, program, &p, h2, NULL), 0);
	memset(&p, 0, sizeof(p));
	CHECK_EQ(sim_lab(6, &net, program, &p, h3, NULL), 0);
	CHECK_STR_EQ(h1, h2);
	CHECK(strcmp(h1, h3) != 0);
}
