/*
 * The simulated network's stream calls: listen, accept, connect, read,
 * write, shutdown and the local address, for TCP and Unix stream sockets
 * in deterministic mode (see asupersync/simnet.h for the model).
 *
 * Owns: what a task sees of a stream socket: readiness, waiting on the
 * socket's queues, copying between the caller's iovecs and the rings.
 * Must not touch: the event queue except through simnet_stream.c's
 * helpers (segments are queued and delivered there), handles except
 * through simnet.c's.
 *
 * Invariants: every call that waits rechecks its socket through its handle
 * after waking (the socket may have been closed meanwhile), and a write
 * queues only bytes it has room for, so a ring never overflows.
 */
#define _GNU_SOURCE
#include "simnet_int.h"

#include <errno.h>
#include <string.h>

/* ---- listen, accept, connect ------------------------------------------------ */

int asup__sim_listen(asup_cx *cx, const struct sockaddr *addr, socklen_t len,
		     const asup_listen_opts *opts, asup_socket *out)
{
	asup__simnet *sn;
	struct simaddr a;
	struct simsock *s;
	struct simh *h;
	int backlog, rc = asup__sim_get(cx, &sn);

	if (rc < 0)
		return rc;
	if (!out || asup__sim_addr(addr, len, &a) < 0)
		return -EINVAL;
	if ((rc = asup__sim_handle_reserve(cx, &h)) < 0)
		return rc;
	if (!(s = asup__sim_sock_alloc(sn, ASUP__SIM_LISTENER)))
		return -ENOMEM;
	if ((rc = asup__sim_bind(sn, s, &a)) < 0) {
		asup__sim_sock_free(sn, s);
		return rc;
	}
	backlog = opts && opts->backlog > 0 ? opts->backlog : 128;
	s->backlog = (uint32_t)backlog < sn->cfg.backlog_max ? (uint32_t)backlog
							       : sn->cfg.backlog_max;
	asup__sim_handle_bind(sn, h, s, out);
	asup__sim_emit(sn, asup__sim_task_id(cx), ASUP__NET_LISTEN, s->id, s->id, s->backlog);
	return 0;
}

int asup__sim_accept(asup_cx *cx, asup_socket ls, asup_socket *out, struct sockaddr *peer,
		     socklen_t *peer_len)
{
	asup__simnet *sn;
	struct simsock *l, *s;
	struct simconn *c;
	struct simh *h;
	int rc = asup__sim_sock_get(cx, ls, &sn, &l);

	if (rc < 0)
		return rc;
	if (!out || (peer && !peer_len) || l->kind != ASUP__SIM_LISTENER)
		return -EINVAL;
	if ((rc = asup__cx_checkpoint(cx)) < 0 || (rc = asup__sim_handle_reserve(cx, &h)) < 0)
		return rc;
	for (;;) {
		if ((rc = asup__sim_sock_again(cx, ls, &l)) < 0)
			return rc;
		if (!asup__list_empty(&l->accq))
			break;
		if ((rc = asup__sim_wait(cx, &l->rq)) < 0)
			return rc;
	}
	c = asup__container_of(asup__list_pop_front(&l->accq), struct simconn, qlink);
	l->nacc--;
	s = c->end[1]; /* the queue's reference becomes the handle's */
	asup__sim_handle_bind(sn, h, s, out);
	asup__sim_addr_out(&s->peer, peer, peer_len);
	asup__sim_emit(sn, asup__sim_task_id(cx), ASUP__NET_ACCEPT, s->id, c->id, 0);
	return 0;
}

static struct simconn *conn_new(asup__simnet *sn, struct simsock *s, const struct simaddr *dst)
{
	struct simconn *c;

	if (asup__sim_ev_room(sn, 6) < 0 || !(c = sn->alloc.alloc(sn->alloc.ud, sizeof(*c)))) {
		asup__sim_ev_room(sn, -6);
		return NULL;
	}
	memset(c, 0, sizeof(*c));
	c->id = s->id;
	c->end[0] = s;
	c->src = s->local;
	c->dst = *dst;
	asup__sim_ev_init(&c->dir[0].ev, EV_SEG, 0);
	asup__sim_ev_init(&c->dir[1].ev, EV_SEG, 1);
	asup__sim_ev_init(&c->syn, EV_SYN, 0);
	asup__sim_ev_init(&c->synack, EV_SYNACK, 0);
	asup__sim_ev_init(&c->rst[0], EV_RST, 0);
	asup__sim_ev_init(&c->rst[1], EV_RST, 1);
	asup__list_init(&c->qlink);
	asup__list_push_back(&sn->conns, &c->all);
	s->conn = c;
	s->refs++;
	return c;
}

/* The address a connecting socket speaks from: its family's loopback with
 * a picked port, or an unnamed Unix socket. */
static int client_addr(asup__simnet *sn, asup_cx *cx, int family, struct simaddr *a)
{
	const asup_simnet_host *own = asup__sim_src_host(sn, cx, family);

	memset(a, 0, sizeof(*a));
	a->host.family = (uint16_t)family;
	if (own && family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)(void *)&a->ss;
		in->sin_family = AF_INET;
		memcpy(&in->sin_addr, own->addr, 4);
		a->host = *own;
		a->len = sizeof(*in);
	} else if (own) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)&a->ss;
		in6->sin6_family = AF_INET6;
		memcpy(&in6->sin6_addr, own->addr, 16);
		a->host = *own;
		a->len = sizeof(*in6);
	} else if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)(void *)&a->ss;
		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		memcpy(a->host.addr, &in->sin_addr, 4);
		a->len = sizeof(*in);
	} else if (family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)&a->ss;
		in6->sin6_family = AF_INET6;
		in6->sin6_addr = in6addr_loopback;
		memcpy(a->host.addr, &in6->sin6_addr, 16);
		a->len = sizeof(*in6);
	} else {
		return 0;
	}
	return asup__sim_pick_port(sn, a);
}

static int connect_wait(asup_cx *cx, asup_socket hd)
{
	struct simsock *s;
	int rc;

	for (;;) {
		if ((rc = asup__sim_sock_again(cx, hd, &s)) < 0)
			return rc;
		if (s->established)
			return 0;
		if (s->refused)
			return -ECONNREFUSED;
		if (!s->conn || s->conn->reset)
			return -ECONNRESET;
		if ((rc = asup__sim_wait(cx, &s->wq)) < 0)
			return rc;
	}
}

int asup__sim_connect(asup_cx *cx, const struct sockaddr *addr, socklen_t len,
		      asup_socket *out)
{
	asup__simnet *sn;
	struct simaddr dst, src;
	struct simsock *s;
	struct simconn *c;
	asup_time at;
	int rst, rc = asup__sim_get(cx, &sn);

	if (rc < 0)
		return rc;
	if (!out || asup__sim_addr(addr, len, &dst) < 0)
		return -EINVAL;
	if ((rc = asup__cx_checkpoint(cx)) < 0)
		return rc;
	if ((rc = client_addr(sn, cx, addr->sa_family, &src)) < 0)
		return rc;
	if ((rc = asup__sim_sock_new(cx, sn, ASUP__SIM_STREAM, &src, out, &s)) < 0)
		return rc;
	s->peer = dst;
	s->connecting = 1;
	if (!(c = conn_new(sn, s, &dst))) {
		asup__sim_sock_close(sn, s, asup__sim_task_id(cx), 0);
		out->_p = NULL;
		return -ENOMEM;
	}
	asup__sim_emit(sn, asup__sim_task_id(cx), ASUP__NET_CONNECT, s->id, c->id, 0);
	at = asup__sim_stream_due(sn, c, 0, &rst);
	if (at != ASUP_TIME_MAX)
		asup__sim_push(sn, &c->syn, at);
	rc = connect_wait(cx, *out);
	if (rc < 0) {
		/* Nothing half-made is left open. */
		if (asup__sim_sock_again(cx, *out, &s) == 0)
			asup__sim_sock_close(sn, s, asup__sim_task_id(cx), 0);
		out->_p = NULL;
	}
	return rc;
}

/* ---- reading and writing ---------------------------------------------------- */

static size_t iov_total(const struct iovec *iov, int n)
{
	size_t t = 0;

	for (int i = 0; i < n; i++)
		t += iov[i].iov_len;
	return t;
}

/* Copies n bytes between the ring (at pos, wrapping) and the iovecs, from
 * byte `skip` of the iovecs on. to_ring: iovecs into the ring. */
static void ring_copy(struct simdir *d, uint32_t pos, const struct iovec *iov, int niov,
		      size_t n, int to_ring)
{
	size_t done = 0;

	if (n == 0)
		return; /* a zero-length write may pass a NULL buffer */
	/* The common case, one buffer and no wrap: a single copy. */
	if (niov == 1 && n <= iov[0].iov_len && pos + n <= d->cap) {
		if (to_ring)
			memcpy(d->buf + pos, iov[0].iov_base, n);
		else
			memcpy(iov[0].iov_base, d->buf + pos, n);
		return;
	}
	for (int i = 0; i < niov && done < n; i++) {
		size_t off = 0, len = iov[i].iov_len;
		while (off < len && done < n) {
			uint32_t at = asup__sim_wrap(pos + done, d->cap);
			size_t k = d->cap - at;
			if (k > len - off)
				k = len - off;
			if (k > n - done)
				k = n - done;
			if (to_ring)
				memcpy(d->buf + at, (const char *)iov[i].iov_base + off, k);
			else
				memcpy((char *)iov[i].iov_base + off, d->buf + at, k);
			off += k;
			done += k;
		}
	}
}

/* Sends n bytes (room checked) as segments of at most segment_size. */
static void stream_send(asup__simnet *sn, struct simconn *c, int side, const struct iovec *iov,
			int niov, uint32_t n)
{
	struct simdir *d = &c->dir[side];
	uint32_t pos = asup__sim_wrap((uint64_t)d->rpos + d->readable + d->flight, d->cap);
	uint32_t left = n, k;
	asup_time at;
	int rst;

	ring_copy(d, pos, iov, niov, n, 1);
	d->sent += n;
	sn->totals.bytes_sent += n;
	while (left) {
		k = left < sn->cfg.segment_size ? left : sn->cfg.segment_size;
		at = asup__sim_stream_due(sn, c, side, &rst);
		d->flight += k;
		asup__sim_dir_queue(sn, c, side, k, 0, at, rst);
		left -= k;
	}
}

/* What a stream socket can do now: < 0 an error, 0 wait, 1 go. */
static int stream_ready(struct simsock *s, int writing)
{
	struct simconn *c = s->conn;

	if (s->kind != ASUP__SIM_STREAM || !c)
		return -ENOTCONN;
	if (c->reset)
		return -ECONNRESET;
	if (writing && (c->dir[s->side].fin_queued || c->dir[1 - s->side].closed_by_peer))
		return -EPIPE;
	return 1;
}

int64_t asup__sim_write(asup_cx *cx, asup_socket hd, const struct iovec *iov, int niov)
{
	asup__simnet *sn;
	struct simsock *s;
	struct simdir *d;
	size_t want = iov_total(iov, niov);
	uint32_t room;
	int rc;

	if ((rc = asup__sim_sock_get(cx, hd, &sn, &s)) < 0)
		return rc;
	if (s->kind == ASUP__SIM_DGRAM)
		return asup__sim_dgram_send(cx, hd, iov, niov, NULL, 0);
	if ((rc = asup__cx_checkpoint(cx)) < 0)
		return rc;
	for (;;) {
		if ((rc = stream_ready(s, 1)) < 0)
			return rc;
		d = &s->conn->dir[s->side];
		room = d->cap - d->readable - d->flight;
		if (room)
			break;
		/* After a wait the socket may be gone: find it again. */
		if ((rc = asup__sim_wait(cx, &s->wq)) < 0 ||
		    (rc = asup__sim_sock_again(cx, hd, &s)) < 0)
			return rc;
	}
	if (want > room)
		want = room;
	stream_send(sn, s->conn, s->side, iov, niov, (uint32_t)want);
	asup__sim_emit(sn, asup__sim_task_id(cx), ASUP__NET_SEND, s->id, s->conn->id,
		       (int64_t)want);
	return (int64_t)want;
}

int64_t asup__sim_read(asup_cx *cx, asup_socket hd, const struct iovec *iov, int niov)
{
	asup__simnet *sn;
	struct simsock *s;
	struct simdir *d;
	size_t n;
	int rc;

	if ((rc = asup__sim_sock_get(cx, hd, &sn, &s)) < 0)
		return rc;
	if (s->kind == ASUP__SIM_DGRAM)
		return asup__sim_dgram_recv(cx, hd, iov, niov, NULL, NULL);
	if ((rc = asup__cx_checkpoint(cx)) < 0)
		return rc;
	for (;;) {
		if ((rc = stream_ready(s, 0)) < 0)
			return rc;
		d = &s->conn->dir[1 - s->side];
		if (s->shut_rd)
			return 0;
		if (d->readable)
			break;
		if (d->eof)
			return 0;
		if ((rc = asup__sim_wait(cx, &s->rq)) < 0 ||
		    (rc = asup__sim_sock_again(cx, hd, &s)) < 0)
			return rc;
	}
	n = iov_total(iov, niov);
	if (n > d->readable)
		n = d->readable;
	ring_copy(d, d->rpos, iov, niov, n, 0);
	d->rpos = asup__sim_wrap(d->rpos + n, d->cap);
	d->readable -= (uint32_t)n;
	/* An empty ring starts over at its first byte: a request/reply
	 * exchange then reuses the same few cache lines of the ring instead of
	 * walking all of it (200 rings of 64 KiB in a 100-connection run).
	 * Where an empty ring's bytes sit is seen by nothing. */
	if (!d->readable && !d->flight)
		d->rpos = 0;
	/* Room came back: the writer on the other side may go on. */
	if (s->conn->end[1 - s->side])
		asup__sim_wake_all(&s->conn->end[1 - s->side]->wq);
	return (int64_t)n;
}

int asup__sim_shutdown(asup_cx *cx, asup_socket hd, int how)
{
	asup__simnet *sn;
	struct simsock *s;
	struct simconn *c;
	asup_time at;
	int rst, rc = asup__sim_sock_get(cx, hd, &sn, &s);

	if (rc < 0)
		return rc;
	if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
		return -EINVAL;
	c = s->conn;
	if (s->kind != ASUP__SIM_STREAM || !c || !s->established || c->reset)
		return -ENOTCONN;
	if (how != SHUT_WR) {
		s->shut_rd = 1;
		asup__sim_wake_all(&s->rq);
	}
	if (how != SHUT_RD && !c->dir[s->side].fin_queued) {
		c->dir[s->side].fin_queued = 1;
		at = asup__sim_stream_due(sn, c, s->side, &rst);
		asup__sim_dir_queue(sn, c, s->side, 0, 1, at, 0);
		asup__sim_wake_all(&s->wq);
	}
	return 0;
}

int asup__sim_local_addr(asup_cx *cx, asup_socket hd, struct sockaddr *addr, socklen_t *len)
{
	asup__simnet *sn;
	struct simsock *s;
	int rc = asup__sim_sock_get(cx, hd, &sn, &s);

	if (rc < 0)
		return rc;
	if (!addr || !len)
		return -EINVAL;
	asup__sim_addr_out(&s->local, addr, len);
	return 0;
}

