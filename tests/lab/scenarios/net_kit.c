/*
 * The network scenarios' common parts (see net_kit.h).
 */
#include "net_kit.h"

#include <arpa/inet.h>
#include <string.h>

void asup_netkit_addr(struct sockaddr_in *sa, unsigned host, unsigned port)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	sa->sin_addr.s_addr = htonl(0x0a000000u | (host & 0xffffffu));
}

void asup_netkit_msg_make(asup_netkit_msg *m, uint32_t id, int64_t value)
{
	m->magic = ASUP_NETKIT_MAGIC;
	m->id = id;
	m->value = value;
	for (size_t i = 0; i < sizeof m->pad; i++)
		m->pad[i] = (uint8_t)(id + i);
}

int asup_netkit_msg_whole(const asup_netkit_msg *m)
{
	if (m->magic != ASUP_NETKIT_MAGIC)
		return 0;
	for (size_t i = 0; i < sizeof m->pad; i++)
		if (m->pad[i] != (uint8_t)(m->id + i))
			return 0;
	return 1;
}

int64_t asup_netkit_read_full(asup_cx *cx, asup_socket s, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		int64_t n = asup_sock_read(cx, s, (char *)buf + got, len - got);
		if (n < 0)
			return n;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (int64_t)got;
}

/* What one connection task gets: its socket and the server. */
struct conn_arg {
	asup_socket s;
	asup_netkit_server *srv;
};

static int64_t conn_task(asup_cx *cx, void *arg)
{
	struct conn_arg *c = arg;
	int64_t rc = c->srv->conn(cx, c->s, c->srv->st);

	if (asup_cx_is_cancel_requested(cx))
		c->srv->cancelled = 1;
	return rc;
}

/* Accepts until cancelled. Each connection gets a task in this region, so
 * that the region's close waits for all of them. */
static int64_t accept_loop(asup_cx *cx, void *arg)
{
	asup_netkit_server *srv = arg;
	asup_socket ls, s;
	struct conn_arg *c;
	asup_task h;
	int64_t rc;

	rc = asup_tcp_listen(cx, (const struct sockaddr *)&srv->addr, sizeof srv->addr, NULL,
			     &ls);
	if (rc < 0)
		return rc;
	srv->listening = 1;
	for (;;) {
		if ((rc = asup_sock_accept(cx, ls, &s, NULL, NULL)) < 0)
			break;
		srv->accepted++;
		if ((rc = asup_corpus_shared(cx, sizeof(*c), &c)) < 0) {
			(void)asup_sock_close(cx, s);
			break;
		}
		c->s = s;
		c->srv = srv;
		if ((rc = asup_spawn(cx, conn_task, c, NULL, &h)) < 0) {
			(void)asup_sock_close(cx, s);
			break;
		}
		asup_task_release(&h); /* the region's close waits for it */
	}
	(void)asup_sock_close(cx, ls);
	return rc;
}

int64_t asup_netkit_serve(asup_cx *cx, void *arg)
{
	asup_netkit_server *srv = arg;
	asup_outcome out;
	int rc = asup_region(cx, accept_loop, srv, &out);

	if (srv->listening == 0)
		srv->listening = -1; /* it never will: clients must not wait */
	if (asup_cx_is_cancel_requested(cx))
		srv->cancelled = 1;
	if (rc < 0)
		return rc;
	if (out.kind == ASUP_OUTCOME_OK)
		return out.value;
	if (asup_corpus_cancelled(&out))
		return -ECANCELED;
	return out.kind == ASUP_OUTCOME_ERR ? out.value : -1;
}

/* Waits until the server listens (or ended without listening). */
static int wait_listening(asup_cx *cx, const asup_netkit_server *srv, const asup_task *h)
{
	int rc;

	while (srv->listening == 0 && !asup_task_is_finished(h))
		if ((rc = asup_yield(cx)) < 0)
			return rc;
	return srv->listening > 0 ? 0 : -ECONNREFUSED;
}

#define MAX_CLIENTS 8

/* A session that could not go on: stops what runs and says why. */
static int64_t give_up(asup_cx *cx, asup_netkit_server *srv, asup_task *hs, int64_t rc)
{
	int early = srv->cancelled || asup_task_is_finished(hs) || asup_cx_is_cancel_requested(cx);

	(void)asup_corpus_stop(cx, hs);
	return asup_corpus_bail(cx, early ? -ECANCELED : (int)rc);
}

int64_t asup_netkit_session(asup_cx *cx, asup_netkit_server *srv, asup_task_fn client, void *arg,
			    int nclients)
{
	asup_task hs, hc[MAX_CLIENTS];
	asup_outcome oc[MAX_CLIENTS];
	int rc, n = 0, early, bad = 0;

	if (nclients < 1 || nclients > MAX_CLIENTS)
		return -EINVAL;
	if ((rc = asup_spawn(cx, asup_netkit_serve, srv, NULL, &hs)) < 0)
		return rc;
	if ((rc = wait_listening(cx, srv, &hs)) < 0)
		return give_up(cx, srv, &hs, rc);
	for (; n < nclients; n++)
		if ((rc = asup_spawn(cx, client, arg, NULL, &hc[n])) < 0)
			return give_up(cx, srv, &hs, rc);
	if ((rc = asup_join_all(cx, hc, (size_t)n, oc)) < 0)
		return give_up(cx, srv, &hs, rc);
	/* Read before the stop, which cancels the server on purpose. */
	early = srv->cancelled || asup_task_is_finished(&hs);
	if ((rc = asup_corpus_stop(cx, &hs)) < 0)
		return rc;
	for (int i = 0; i < n; i++) {
		early |= asup_corpus_cancelled(&oc[i]);
		bad |= oc[i].kind != ASUP_OUTCOME_OK;
	}
	if (early)
		return -ECANCELED;
	return bad ? -1 : 0;
}
