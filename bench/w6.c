/*
 * W6: TCP echo server on loopback, driven by the peers' common load
 * generator (../shared/peers/client/echo_client.c, 100 connections, 64-byte
 * messages, one in flight per connection). One task per connection, all in
 * the server's region; the server ends by cancelling that region.
 *
 * The metrics (req_per_s, p50_us, p99_us) are printed by the client, and
 * server_cpu_us_per_req by bench/compare.sh from this process's CPU time,
 * exactly as ../shared/peers/run_all.sh does for every peer.
 *
 * Usage:   bench_w6 <auto|uring|epoll> <port> <secs>
 *          (listens on 127.0.0.1:port, exits after secs seconds)
 */
#include <asupersync.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct server {
	uint16_t port;
	uint64_t secs;
	asup_socket ls;
};

static void die(const char *what, int rc)
{
	fprintf(stderr, "bench_w6: %s: %s\n", what, asup_strerror(rc));
	exit(1);
}

/* Echoes one connection until the peer closes it or the server stops. */
static int64_t conn_task(asup_cx *cx, void *arg)
{
	asup_socket s = *(asup_socket *)arg;
	char buf[4096];
	int64_t n;

	free(arg);
	while ((n = asup_sock_read(cx, s, buf, sizeof(buf))) > 0)
		if (asup_sock_write_all(cx, s, buf, (size_t)n, NULL) < 0)
			break;
	asup_sock_close(cx, s);
	return 0;
}

static int64_t acceptor(asup_cx *cx, void *arg)
{
	struct server *sv = arg;
	int one = 1;

	for (;;) {
		asup_socket *c = malloc(sizeof(*c));
		asup_task h;
		int rc;

		if (!c)
			return -ENOMEM;
		rc = asup_sock_accept(cx, sv->ls, c, NULL, NULL);
		if (rc < 0) {
			free(c);
			return rc == -ECANCELED ? 0 : rc;
		}
		setsockopt(asup_sock_fd(cx, *c), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (asup_spawn(cx, conn_task, c, NULL, &h) < 0) {
			asup_sock_close(cx, *c);
			free(c);
		}
	}
}

/* The server's region: the acceptor and every connection live here, and
 * cancelling it after secs ends them all. */
static int64_t server_body(asup_cx *cx, void *arg)
{
	struct server *sv = arg;
	struct sockaddr_in a;
	asup_task h;
	int rc;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(sv->port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	rc = asup_tcp_listen(cx, (struct sockaddr *)&a, sizeof(a), NULL, &sv->ls);
	if (rc < 0)
		die("listen", rc);
	rc = asup_spawn(cx, acceptor, sv, NULL, &h);
	if (rc < 0)
		die("spawn", rc);
	(void)!asup_sleep(cx, sv->secs * 1000000000ull);
	(void)!asup_scope_cancel(cx, ASUP_CANCEL_SHUTDOWN, "benchmark over");
	asup_sock_close(cx, sv->ls);
	return 0;
}

static int64_t root(asup_cx *cx, void *arg)
{
	asup_outcome o;
	int rc = asup_region(cx, server_body, arg, &o);

	return rc < 0 ? rc : 0;
}

int main(int argc, char **argv)
{
	asup_rt_config cfg;
	struct server sv;
	asup_outcome o;
	asup_rt *rt;
	int rc;

	if (argc < 4) {
		fprintf(stderr, "usage: %s <auto|uring|epoll> <port> <secs>\n", argv[0]);
		return 2;
	}
	asup_rt_config_init(&cfg);
	cfg.io_backend = strcmp(argv[1], "epoll") == 0   ? ASUP_IO_EPOLL
			 : strcmp(argv[1], "uring") == 0 ? ASUP_IO_URING
							 : ASUP_IO_AUTO;
	sv.port = (uint16_t)atoi(argv[2]);
	sv.secs = (uint64_t)atoi(argv[3]);
	rc = asup_rt_create(&cfg, &rt);
	if (rc < 0)
		die("rt_create", rc);
	rc = asup_rt_run(rt, root, &sv, &o);
	if (rc < 0)
		die("rt_run", rc);
	asup_rt_destroy(rt);
	return 0;
}
