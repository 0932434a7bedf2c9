/*
 * A TCP echo server: one task per connection, all in one region; each
 * connection is closed after IDLE seconds without input; SIGINT or SIGTERM
 * stops accepting and gives open connections GRACE seconds to finish what
 * they were echoing (a second signal ends the process at once).
 *
 * Usage: echo_server [port=7878] [idle_s=10] [grace_s=5]
 *        then e.g.: printf 'hello\n' | nc -q1 127.0.0.1 7878
 */
#include <asupersync.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t idle_ns;

struct conn {
	asup_socket s;
	size_t len;
	char buf[4096];
};

static int64_t read_some(asup_cx *cx, void *arg)
{
	struct conn *c = arg;
	return asup_sock_read(cx, c->s, c->buf, sizeof(c->buf));
}

/* Masked: bytes the server took are echoed even if the shutdown arrived
 * meanwhile (the grace period bounds how long that may take). */
static int64_t write_back(asup_cx *cx, void *arg)
{
	struct conn *c = arg;
	return asup_sock_write_all(cx, c->s, c->buf, c->len, NULL);
}

static int64_t serve_conn(asup_cx *cx, void *arg)
{
	struct conn *c = arg;
	int64_t n;

	/* Each read has its own idle deadline. */
	while ((n = asup_timeout(cx, idle_ns, read_some, c)) > 0) {
		c->len = (size_t)n;
		if (asup_cx_masked(cx, write_back, c) < 0)
			break;
	}
	if (n == -ETIMEDOUT)
		asup_sock_write_all(cx, c->s, "idle, bye\n", 10, NULL);
	asup_sock_close(cx, c->s);
	free(c);
	return 0;
}

static int64_t app(asup_cx *cx, void *arg)
{
	uint16_t port = *(uint16_t *)arg;
	struct sockaddr_in a;
	asup_socket ls;
	int rc;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	rc = asup_tcp_listen(cx, (struct sockaddr *)&a, sizeof(a), NULL, &ls);
	if (rc < 0) {
		fprintf(stderr, "echo_server: listen: %s\n", asup_strerror(rc));
		return rc;
	}
	printf("echo_server: listening on 127.0.0.1:%u\n", port);
	fflush(stdout);
	for (;;) {
		struct conn *c = malloc(sizeof(*c));
		asup_task h;

		if (!c)
			return -ENOMEM;
		rc = asup_sock_accept(cx, ls, &c->s, NULL, NULL);
		if (rc < 0) {
			free(c);
			break; /* -ECANCELED: the shutdown began */
		}
		if (asup_spawn(cx, serve_conn, c, NULL, &h) < 0) {
			asup_sock_close(cx, c->s);
			free(c);
			continue;
		}
		asup_task_release(&h);
	}
	asup_sock_close(cx, ls);
	printf("echo_server: shutting down, open connections get the grace period\n");
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	uint16_t port = argc > 1 ? (uint16_t)atoi(argv[1]) : 7878;
	uint64_t grace = (argc > 3 ? (uint64_t)atoi(argv[3]) : 5) * 1000000000ull;
	asup_rt_config cfg;
	asup_outcome o;
	asup_rt *rt;
	int rc;

	idle_ns = (argc > 2 ? (uint64_t)atoi(argv[2]) : 10) * 1000000000ull;
	asup_rt_config_init(&cfg);
	if ((rc = asup_rt_create(&cfg, &rt)) < 0 ||
	    (rc = asup_rt_run_main(rt, app, &port, grace, &o)) < 0) {
		fprintf(stderr, "echo_server: %s\n", asup_strerror(rc));
		return 1;
	}
	asup_rt_destroy(rt);
	printf("echo_server: stopped\n");
	return o.kind == ASUP_OUTCOME_OK ? 0 : 1;
}
