/*
 * LABNET: steps per second of the lab runtime running a networked program
 * over the simulated network with tracing on (every event, the network's
 * included, goes to the ring, the digest and the oracles): one server
 * task accepting 100 clients over TCP, a task per connection, each client
 * making 3,000 request/response exchanges of 64 bytes, on one virtual
 * worker, with the default network (50 us latency, no faults).
 *
 * Prints:  LABNET asup st steps_per_s X
 * Usage:   bench_labnet [--quick]   (--quick: 10 exchanges per client)
 */
#include <asupersync.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CLIENTS 100
static int rounds = 3000;

static struct sockaddr_in server_addr;
static int listening;
/* The steady state's events, copied once by a client halfway through. */
static asup_lab *the_lab;
static asup_event mix[4096];
static size_t nmix;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int read_full(asup_cx *cx, asup_socket s, char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		int64_t n = asup_sock_read(cx, s, buf + got, len - got);
		if (n <= 0)
			return n < 0 ? (int)n : -EPIPE;
		got += (size_t)n;
	}
	return 0;
}

/* The server's side of one connection: echoes 64-byte messages until the
 * client closes. */
static int64_t conn(asup_cx *cx, void *arg)
{
	asup_socket s = *(asup_socket *)arg;
	char buf[64];

	free(arg);
	while (read_full(cx, s, buf, sizeof buf) == 0)
		if (asup_sock_write_all(cx, s, buf, sizeof buf, NULL) < 0)
			break;
	(void)asup_sock_close(cx, s);
	return 0;
}

static int64_t server(asup_cx *cx, void *arg)
{
	asup_task hs[CLIENTS];
	asup_socket ls;
	int rc, n = 0;

	(void)arg;
	rc = asup_tcp_listen(cx, (struct sockaddr *)&server_addr, sizeof server_addr, NULL, &ls);
	if (rc < 0)
		return rc;
	listening = 1;
	while (n < CLIENTS) {
		asup_socket *s = malloc(sizeof(*s));
		if (!s || (rc = asup_sock_accept(cx, ls, s, NULL, NULL)) < 0 ||
		    (rc = asup_spawn(cx, conn, s, NULL, &hs[n])) < 0) {
			free(s);
			break;
		}
		n++;
	}
	(void)asup_sock_close(cx, ls);
	if (asup_join_all(cx, hs, (size_t)n, NULL) < 0)
		return -1;
	return rc < 0 ? rc : 0;
}

static int64_t client(asup_cx *cx, void *arg)
{
	char buf[64];
	asup_socket s;
	int rc;

	(void)arg;
	memset(buf, 'x', sizeof buf);
	rc = asup_tcp_connect(cx, (struct sockaddr *)&server_addr, sizeof server_addr, &s);
	if (rc < 0)
		return rc;
	for (int i = 0; i < rounds && rc == 0; i++) {
		if (i == rounds / 2 && !nmix)
			nmix = asup_lab_events(the_lab, mix, 4096);
		rc = asup_sock_write_all(cx, s, buf, sizeof buf, NULL);
		if (rc == 0)
			rc = read_full(cx, s, buf, sizeof buf);
	}
	(void)asup_sock_close(cx, s);
	return rc;
}

static int64_t root(asup_cx *cx, void *arg)
{
	static asup_task hs[CLIENTS];
	asup_outcome outs[CLIENTS];
	asup_task srv;
	asup_outcome so;
	(void)arg;

	if (asup_spawn(cx, server, NULL, NULL, &srv) < 0)
		return -1;
	while (!listening)
		if (asup_yield(cx) < 0)
			return -1;
	for (int i = 0; i < CLIENTS; i++)
		if (asup_spawn(cx, client, NULL, NULL, &hs[i]) < 0)
			return -1;
	if (asup_join_all(cx, hs, CLIENTS, outs) < 0 || asup_join(cx, &srv, &so) < 0)
		return -2;
	for (int i = 0; i < CLIENTS; i++)
		if (outs[i].kind != ASUP_OUTCOME_OK || outs[i].value != 0)
			return -3;
	return so.kind == ASUP_OUTCOME_OK ? 0 : -4;
}

/* Which events a step costs: the types among the events kept halfway
 * through the run (the steady state of the exchanges), on stderr. */
static void print_mix(void)
{
	size_t count[64] = {0};
	uint64_t first = nmix ? mix[0].step : 0, last = nmix ? mix[nmix - 1].step : 0;

	for (size_t i = 0; i < nmix; i++)
		count[mix[i].type < 64 ? mix[i].type : 0]++;
	fprintf(stderr, "bench_labnet: %zu events over %llu steps halfway:", nmix,
		(unsigned long long)(last - first));
	for (uint32_t t = 0; t < 64; t++)
		if (count[t])
			fprintf(stderr, " %s %zu", asup_event_type_name(t), count[t]);
	fprintf(stderr, "\n");
}

int main(int argc, char **argv)
{
	asup_lab_config cfg;
	asup_lab *lab;
	asup_outcome out;
	double t0, t1;
	int rc;

	if (argc > 1 && strcmp(argv[1], "--quick") == 0)
		rounds = 10;
	memset(&server_addr, 0, sizeof server_addr);
	server_addr.sin_family = AF_INET;
	server_addr.sin_port = htons(8080);
	server_addr.sin_addr.s_addr = htonl(0x0a000001); /* 10.0.0.1 */
	asup_lab_config_init(&cfg);
	cfg.seed = 1;
	cfg.max_steps = (uint64_t)CLIENTS * (rounds + 8) * 8 + 10000;
	cfg.check_every_step = 0;
	if ((rc = asup_lab_create(&cfg, &lab)) < 0) {
		fprintf(stderr, "bench_labnet: create: %s\n", asup_strerror(rc));
		return 1;
	}
	the_lab = lab;
	t0 = now_s();
	rc = asup_lab_run(lab, root, NULL, &out);
	t1 = now_s();
	if (rc < 0 || out.kind != ASUP_OUTCOME_OK) {
		fprintf(stderr, "bench_labnet: run: %s (root %s %lld)\n", asup_strerror(rc),
			asup_outcome_kind_name(out.kind), (long long)out.value);
		asup_lab_violations_print(lab, stderr);
		return 1;
	}
	printf("LABNET asup st steps_per_s %.0f\n", (double)asup_lab_steps(lab) / (t1 - t0));
	fprintf(stderr, "bench_labnet: %llu steps, %llu events, %.3f s\n",
		(unsigned long long)asup_lab_steps(lab),
		(unsigned long long)asup_lab_event_count(lab), t1 - t0);
	{
		/* The digest shows that a faster build still runs the same events. */
		char hex[33];
		if (asup_lab_digest_hex(lab, hex) == 0)
			fprintf(stderr, "bench_labnet: digest %s\n", hex);
	}
	print_mix();
	asup_lab_destroy(lab);
	return 0;
}
