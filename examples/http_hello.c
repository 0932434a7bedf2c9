/*
 * A minimal HTTP/1.1 responder with keep-alive: every request (any method,
 * any path) gets "Hello, world!"; connections stay open until the client
 * closes them, sends "Connection: close", or is idle for 30 s. Pipelined
 * requests are answered in order. Enough for curl, ab or wrk to load it.
 *
 * Usage: http_hello [port=8080] [secs=0: until SIGINT/SIGTERM]
 */
#define _GNU_SOURCE
#include <asupersync.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define REQ_MAX 8192

static const char reply[] = "HTTP/1.1 200 OK\r\n"
			    "Content-Type: text/plain\r\n"
			    "Content-Length: 14\r\n"
			    "\r\n"
			    "Hello, world!\n";
static const char too_big[] = "HTTP/1.1 431 Request Header Fields Too Large\r\n"
			      "Content-Length: 0\r\nConnection: close\r\n\r\n";

struct conn {
	asup_socket s;
	char buf[REQ_MAX];
	size_t have;
};

static int64_t read_more(asup_cx *cx, void *arg)
{
	struct conn *c = arg;
	return asup_sock_read(cx, c->s, c->buf + c->have, sizeof(c->buf) - c->have);
}

/* 1 if the header block [h, end) asks to close the connection. */
static int wants_close(const char *h, const char *end)
{
	for (const char *p = h; p < end; p++)
		if ((p == h || p[-1] == '\n') && (size_t)(end - p) > 17 &&
		    strncasecmp(p, "Connection: close", 17) == 0)
			return 1;
	return 0;
}

static int64_t serve(asup_cx *cx, void *arg)
{
	struct conn *c = arg;
	int64_t n;
	int done = 0;

	while (!done) {
		char *end = memmem(c->buf, c->have, "\r\n\r\n", 4);
		if (!end) {
			if (c->have == sizeof(c->buf)) {
				asup_sock_write_all(cx, c->s, too_big, sizeof(too_big) - 1, NULL);
				break;
			}
			n = asup_timeout(cx, 30ull * 1000000000ull, read_more, c);
			if (n <= 0)
				break;
			c->have += (size_t)n;
			continue;
		}
		end += 4;
		done = wants_close(c->buf, end);
		if (asup_sock_write_all(cx, c->s, reply, sizeof(reply) - 1, NULL) < 0)
			break;
		c->have -= (size_t)(end - c->buf);
		memmove(c->buf, end, c->have);
	}
	asup_sock_close(cx, c->s);
	free(c);
	return 0;
}

struct opts {
	uint16_t port;
	uint64_t secs;
	asup_socket ls;
};

static int64_t acceptor(asup_cx *cx, void *arg)
{
	struct opts *o = arg;
	int one = 1;

	for (;;) {
		struct conn *c = malloc(sizeof(*c));
		asup_task h;

		if (!c)
			return -ENOMEM;
		c->have = 0;
		if (asup_sock_accept(cx, o->ls, &c->s, NULL, NULL) < 0) {
			free(c);
			return 0;
		}
		setsockopt(asup_sock_fd(cx, c->s), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (asup_spawn(cx, serve, c, NULL, &h) < 0) {
			asup_sock_close(cx, c->s);
			free(c);
			continue;
		}
		asup_task_release(&h);
	}
}

static int64_t app(asup_cx *cx, void *arg)
{
	struct opts *o = arg;
	struct sockaddr_in a;
	asup_task h;
	int rc;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(o->port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	rc = asup_tcp_listen(cx, (struct sockaddr *)&a, sizeof(a), NULL, &o->ls);
	if (rc < 0) {
		fprintf(stderr, "http_hello: listen: %s\n", asup_strerror(rc));
		return rc;
	}
	printf("http_hello: listening on http://127.0.0.1:%u/\n", o->port);
	fflush(stdout);
	if ((rc = asup_spawn(cx, acceptor, o, NULL, &h)) < 0)
		return rc;
	/* With a time limit the app ends its own region; otherwise it waits
	 * for the shutdown signal like the acceptor. */
	rc = asup_sleep(cx, o->secs ? o->secs * 1000000000ull : UINT64_MAX / 4);
	if (rc == 0)
		(void)!asup_scope_cancel(cx, ASUP_CANCEL_SHUTDOWN, "time limit");
	asup_sock_close(cx, o->ls);
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = {argc > 1 ? (uint16_t)atoi(argv[1]) : 8080,
			 argc > 2 ? (uint64_t)atoi(argv[2]) : 0, {0, NULL}};
	asup_rt_config cfg;
	asup_outcome out;
	asup_rt *rt;
	int rc;

	asup_rt_config_init(&cfg);
	if ((rc = asup_rt_create(&cfg, &rt)) < 0 ||
	    (rc = asup_rt_run_main(rt, app, &o, 2000000000ull, &out)) < 0) {
		fprintf(stderr, "http_hello: %s\n", asup_strerror(rc));
		return 1;
	}
	asup_rt_destroy(rt);
	return out.kind == ASUP_OUTCOME_OK ? 0 : 1;
}
