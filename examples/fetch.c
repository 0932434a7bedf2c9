/*
 * Client fan-out: N concurrent connections to a local echo server, each
 * sending a few messages and checking the echo, all under one deadline; the
 * first failure cancels the connections still running.
 *
 * The server runs in the same process (a task per connection), so the
 * example needs nothing else. With "fail" as the third argument one
 * connection sends a bad message, and the others are cancelled.
 *
 * Usage: fetch [n=50] [deadline_ms=5000] [fail]
 */
#include <asupersync.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct run {
	int n, fail;
	uint64_t deadline_ns;
	struct sockaddr_in addr;
	asup_socket ls;
	int ok, failed, cancelled;
};

static int64_t echo_conn(asup_cx *cx, void *arg)
{
	asup_socket s = *(asup_socket *)arg;
	char buf[512];
	int64_t n;

	free(arg);
	while ((n = asup_sock_read(cx, s, buf, sizeof(buf))) > 0)
		if (asup_sock_write_all(cx, s, buf, (size_t)n, NULL) < 0)
			break;
	asup_sock_close(cx, s);
	return 0;
}

static int64_t server(asup_cx *cx, void *arg)
{
	struct run *r = arg;

	for (;;) {
		asup_socket *s = malloc(sizeof(*s));
		asup_task h;
		if (!s || asup_sock_accept(cx, r->ls, s, NULL, NULL) < 0) {
			free(s);
			return 0;
		}
		if (asup_spawn(cx, echo_conn, s, NULL, &h) < 0) {
			asup_sock_close(cx, *s);
			free(s);
		} else {
			asup_task_release(&h);
		}
	}
}

struct client {
	struct run *r;
	int id;
	int rc;   /* -ECANCELED until the client finished on its own */
};

/* One connection: three round trips; a wrong echo is an error, which
 * cancels the other clients (their region's first error ends it). */
static int64_t client(asup_cx *cx, void *arg)
{
	struct client *c = arg;
	char msg[64], back[64];
	asup_socket s;
	int rc;

	rc = asup_tcp_connect(cx, (struct sockaddr *)&c->r->addr, sizeof(c->r->addr), &s);
	if (rc < 0) {
		c->rc = rc;
		return rc;
	}
	for (int i = 0; i < 3 && rc == 0; i++) {
		int len = snprintf(msg, sizeof(msg), "client %d message %d\n", c->id, i);
		size_t got = 0;
		rc = asup_sock_write_all(cx, s, msg, (size_t)len, NULL);
		while (rc == 0 && got < (size_t)len) {
			int64_t n = asup_sock_read(cx, s, back + got, (size_t)len - got);
			if (n <= 0)
				rc = n == 0 ? -ECONNRESET : (int)n;
			else
				got += (size_t)n;
		}
		if (rc == 0 && (memcmp(msg, back, (size_t)len) != 0 || (c->r->fail && c->id == 0)))
			rc = -EPROTO;
	}
	asup_sock_close(cx, s);
	c->rc = rc;
	if (rc < 0 && rc != -ECANCELED && rc != -ETIMEDOUT && rc != -ASUP_ECLOSED)
		(void)!asup_scope_cancel(cx, ASUP_CANCEL_USER, "a connection failed");
	return rc;
}

/* The fan-out's region: one task per connection. The body stays open while
 * they run (a closing region takes no new sockets); once it is cancelled
 * its joins return at once and the region's close waits for the rest. */
static int64_t fan_out(asup_cx *cx, void *arg)
{
	struct client *cs = arg;
	struct run *r = cs[0].r;
	asup_task *hs = calloc((size_t)r->n, sizeof(*hs));
	asup_outcome o;

	if (!hs)
		return -ENOMEM;
	for (int i = 0; i < r->n; i++)
		if ((cs[i].rc = asup_spawn(cx, client, &cs[i], NULL, &hs[i])) < 0)
			hs[i] = (asup_task){0}; /* a zeroed handle: join says -EINVAL */
		else
			cs[i].rc = -ECANCELED;
	for (int i = 0; i < r->n; i++)
		if (asup_join(cx, &hs[i], &o) < 0)
			asup_task_release(&hs[i]);
	free(hs);
	return 0;
}

static int64_t deadline_body(asup_cx *cx, void *arg)
{
	struct run *r = arg;
	struct client *cs = calloc((size_t)r->n, sizeof(*cs));
	asup_outcome o;
	int rc;

	if (!cs)
		return -ENOMEM;
	for (int i = 0; i < r->n; i++)
		cs[i] = (struct client){r, i, -ECANCELED};
	rc = asup_region(cx, fan_out, cs, &o);
	for (int i = 0; i < r->n; i++) {
		if (cs[i].rc == 0)
			r->ok++;
		else if (cs[i].rc == -ECANCELED || cs[i].rc == -ETIMEDOUT ||
			 cs[i].rc == -ASUP_ECLOSED) /* stopped by the deadline or a failure */
			r->cancelled++;
		else
			r->failed++;
	}
	free(cs);
	return rc < 0 ? rc : 0;
}

static int64_t root(asup_cx *cx, void *arg)
{
	struct run *r = arg;
	socklen_t len = sizeof(r->addr);
	asup_task srv;
	asup_outcome o;
	int rc;

	memset(&r->addr, 0, sizeof(r->addr));
	r->addr.sin_family = AF_INET;
	r->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((rc = asup_tcp_listen(cx, (struct sockaddr *)&r->addr, sizeof(r->addr), NULL, &r->ls)) < 0 ||
	    (rc = asup_sock_local_addr(cx, r->ls, (struct sockaddr *)&r->addr, &len)) < 0 ||
	    (rc = asup_spawn(cx, server, r, NULL, &srv)) < 0)
		return rc;
	/* The deadline covers the whole fan-out. */
	rc = (int)asup_timeout(cx, r->deadline_ns, deadline_body, r);
	asup_sock_close(cx, r->ls); /* ends the server's accept */
	(void)!asup_task_abort(&srv);
	if (asup_join(cx, &srv, &o) < 0)
		return -ECANCELED;
	return rc;
}

int main(int argc, char **argv)
{
	struct run r;
	asup_rt_config cfg;
	asup_outcome o;
	asup_rt *rt;
	int rc;

	memset(&r, 0, sizeof(r));
	r.n = argc > 1 ? atoi(argv[1]) : 50;
	r.deadline_ns = (argc > 2 ? (uint64_t)atoi(argv[2]) : 5000) * 1000000ull;
	r.fail = argc > 3 && strcmp(argv[3], "fail") == 0;
	if (r.n <= 0 || r.n > 10000)
		r.n = 50;
	asup_rt_config_init(&cfg);
	if ((rc = asup_rt_create(&cfg, &rt)) < 0 || (rc = asup_rt_run(rt, root, &r, &o)) < 0) {
		fprintf(stderr, "fetch: %s\n", asup_strerror(rc));
		return 1;
	}
	asup_rt_destroy(rt);
	printf("fetch: %d connections: %d ok, %d failed, %d cancelled\n", r.n, r.ok, r.failed,
	       r.cancelled);
	return r.failed || r.ok != r.n ? 1 : 0;
}
