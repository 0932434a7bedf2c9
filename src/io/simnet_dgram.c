/*
 * Datagram sockets (UDP, Unix datagram) on the simulated network.
 *
 * Owns: datagram messages (struct simmsg: one per datagram in flight or
 * queued unread, its bytes inline; buffers of up to SMALL bytes are kept on
 * a free list for reuse) and each datagram socket's receive queue. Must not
 * touch: streams (simnet_stream.c, simnet_tcp.c).
 *
 * A datagram is dropped, counted and traced when the route is cut (a
 * partition, a stopped host), when the loss draw says so, when nobody is
 * bound at its destination when it arrives, or when the receiver's queue
 * holds dgram_queue datagrams already. A duplicate is a second message with
 * its own latency; a reordered one is held back by reorder_ns.
 */
#define _GNU_SOURCE
#include "simnet_int.h"

#include <errno.h>
#include <string.h>

#define SMALL 2048u

static struct simmsg *msg_get(asup__simnet *sn, uint32_t len)
{
	struct simmsg *m;
	uint32_t cap = len <= SMALL ? SMALL : len;

	if (cap == SMALL && sn->free_msgs) {
		m = sn->free_msgs;
		sn->free_msgs = m->next;
	} else {
		if (asup__sim_ev_room(sn, 1) < 0)
			return NULL;
		m = sn->alloc.alloc(sn->alloc.ud, sizeof(*m) + cap);
		if (!m) {
			asup__sim_ev_room(sn, -1);
			return NULL;
		}
		m->cap = cap;
	}
	asup__hnode_init(&m->ev.node);
	m->ev.kind = EV_DGRAM;
	m->ev.idx = 0;
	m->next = NULL;
	m->len = len;
	asup__list_push_back(&sn->msgs, &m->all);
	return m;
}

static void msg_put(asup__simnet *sn, struct simmsg *m)
{
	asup__list_remove(&m->all);
	if (m->from_sock) {
		asup__sim_unref(sn, m->from_sock);
		m->from_sock = NULL;
	}
	if (m->cap == SMALL) {
		m->next = sn->free_msgs;
		sn->free_msgs = m;
		return;
	}
	asup__sim_ev_room(sn, -1);
	sn->alloc.free(sn->alloc.ud, m, sizeof(*m) + m->cap);
}

void asup__sim_msgs_free(asup__simnet *sn)
{
	asup__list *n;
	struct simmsg *m;

	while ((n = asup__list_pop_front(&sn->msgs)) != NULL) {
		m = asup__container_of(n, struct simmsg, all);
		sn->alloc.free(sn->alloc.ud, m, sizeof(*m) + m->cap);
	}
	while ((m = sn->free_msgs) != NULL) {
		sn->free_msgs = m->next;
		sn->alloc.free(sn->alloc.ud, m, sizeof(*m) + m->cap);
	}
}

static void dgram_drop(asup__simnet *sn, struct simsock *from, uint64_t task, uint32_t len)
{
	if (from)
		from->dg_dropped++;
	sn->totals.dgrams_dropped++;
	asup__sim_emit(sn, task, ASUP__NET_DROP, from ? from->id : 0, from ? from->id : 0, len);
}

/* s is open and connected to where m went (a port-unreachable finds a
 * connected socket by its peer, so one connected elsewhere since is not
 * told). */
static int unreach_for(const struct simsock *s, const struct simmsg *m)
{
	return s && s->open && s->has_peer && m->to.host.family != AF_UNIX &&
	       m->to.len == s->peer.len && memcmp(&m->to.ss, &s->peer.ss, s->peer.len) == 0;
}

/* The sender of m is a UDP socket connected to where m went: it hears
 * that nobody is bound there, as a port-unreachable coming back over the
 * route (dropped if the route is cut). m itself carries the answer. */
static int unreach_send(asup__simnet *sn, struct simmsg *m)
{
	const asup_simnet_faults *f;
	asup_time at;

	if (!unreach_for(m->from_sock, m))
		return 0;
	at = asup__sim_route(sn, &m->to.host, &m->from.host, &f);
	if (at == ASUP_TIME_MAX)
		return 0;
	m->ev.kind = EV_UNREACH;
	asup__sim_push(sn, &m->ev, at);
	return 1;
}

/* A port-unreachable reached the socket that sent m: a read or a write of
 * it, still connected, fails once with -ECONNREFUSED. */
static void unreach_arrive(asup__simnet *sn, struct simmsg *m)
{
	struct simsock *s = m->from_sock;

	if (unreach_for(s, m)) {
		s->refused_pending = 1;
		asup__sim_emit(sn, ASUP_ID_NONE, ASUP__NET_REFUSED, s->id, s->id, -ECONNREFUSED);
		asup__waitq_wake_all(&s->rq);
	}
	msg_put(sn, m);
}

void asup__sim_dgram_arrive(asup__simnet *sn, struct simmsg *m)
{
	struct simsock *to;

	if (m->ev.kind == EV_UNREACH) {
		unreach_arrive(sn, m);
		return;
	}
	to = asup__sim_lookup(sn, &m->to);
	if (!to || to->kind != ASUP__SIM_DGRAM || to->qlen >= sn->cfg.dgram_queue) {
		dgram_drop(sn, m->from_sock, ASUP_ID_NONE, m->len);
		if ((!to || to->kind != ASUP__SIM_DGRAM) && unreach_send(sn, m))
			return;
		msg_put(sn, m);
		return;
	}
	if (m->from_sock)
		m->from_sock->dg_delivered++;
	sn->totals.dgrams_delivered++;
	asup__sim_emit(sn, ASUP_ID_NONE, ASUP__NET_DELIVER, to->id,
		       m->from_sock ? m->from_sock->id : 0, m->len);
	m->next = NULL;
	if (to->qtail)
		to->qtail->next = m;
	else
		to->qhead = m;
	to->qtail = m;
	to->qlen++;
	asup__waitq_wake_all(&to->rq);
}

/* Unread datagrams of a closing socket are dropped (counted against their
 * senders, which were told they were delivered: they were). */
void asup__sim_dgram_close(asup__simnet *sn, struct simsock *s)
{
	struct simmsg *m;

	while ((m = s->qhead) != NULL) {
		s->qhead = m->next;
		msg_put(sn, m);
	}
	s->qtail = NULL;
	s->qlen = 0;
}

int asup__sim_dgram_bind(asup_cx *cx, const struct sockaddr *addr, socklen_t len, int family,
			 asup_socket *out)
{
	asup__simnet *sn;
	struct simaddr a;
	struct simsock *s;
	int rc = asup__sim_get(cx, &sn);

	if (rc < 0)
		return rc;
	if (!out)
		return -EINVAL;
	memset(&a, 0, sizeof(a));
	a.host.family = (uint16_t)family;
	if (addr && asup__sim_addr(addr, len, &a) < 0)
		return -EINVAL;
	if ((rc = asup__sim_sock_new(cx, sn, ASUP__SIM_DGRAM, NULL, out, &s)) < 0)
		return rc;
	s->local = a;
	{
		const asup_simnet_host *own = asup__sim_src_host(sn, cx, family);
		if (own)
			s->src = *own;
	}
	if (addr && (rc = asup__sim_bind(sn, s, &a)) < 0) {
		asup__sim_close(cx, *out);
		out->_p = NULL;
		return rc;
	}
	asup__sim_emit(sn, cx->kt->id, ASUP__NET_BIND, s->id, s->id, 0);
	return 0;
}

int asup__sim_connect_peer(asup_cx *cx, asup_socket hd, const struct sockaddr *addr,
			   socklen_t len)
{
	asup__simnet *sn;
	struct simsock *s;
	struct simaddr a;
	int rc = asup__sim_sock_get(cx, hd, &sn, &s);

	if (rc < 0)
		return rc;
	if (!addr || len == 0 || asup__sim_addr(addr, len, &a) < 0)
		return -EINVAL;
	/* The first connect on a TCP socket that asup_tcp_connect made
	 * confirms its (non-blocking) connect and succeeds, as on Linux; any
	 * other connect of a stream finds it connected. */
	if (s->kind == ASUP__SIM_STREAM && s->side == 0 && s->established &&
	    s->local.host.family != AF_UNIX && !s->connect_told) {
		s->connect_told = 1;
		return 0;
	}
	if (s->kind != ASUP__SIM_DGRAM)
		return -EISCONN;
	if (a.host.family == AF_UNIX && (rc = asup__sim_unix_check(sn, &a, 1)) < 0)
		return rc;
	s->peer = a;
	s->has_peer = 1;
	return 0;
}

/* Queues one copy of m's datagram (already filled) with the faults of its
 * link, or drops it. */
static void dgram_route(asup__simnet *sn, struct simmsg *m, uint64_t task, int may_dup)
{
	const asup_simnet_faults *f;
	asup_time now = asup__sim_now(sn), at;
	struct simmsg *d;

	at = asup__sim_route(sn, &m->from.host, &m->to.host, &f);
	/* A datagram does not wait for a partition to heal. */
	if (at == ASUP_TIME_MAX || at - now > f->latency_max_ns + f->tail_ns ||
	    (f->loss > 0 && asup__simnet_chance(&sn->rng, f->loss))) {
		dgram_drop(sn, m->from_sock, task, m->len);
		msg_put(sn, m);
		return;
	}
	if (f->reorder > 0 && asup__simnet_chance(&sn->rng, f->reorder))
		at += f->reorder_ns;
	if (may_dup && f->dup > 0 && asup__simnet_chance(&sn->rng, f->dup) &&
	    (d = msg_get(sn, m->len)) != NULL) {
		memcpy(d->data, m->data, m->len);
		d->from = m->from;
		d->to = m->to;
		d->from_sock = m->from_sock;
		if (d->from_sock) {
			d->from_sock->refs++;
			d->from_sock->dg_sent++; /* the copy is accounted like a send */
		}
		sn->totals.dgrams_sent++;
		asup__sim_emit(sn, task, ASUP__NET_DUP, m->from_sock ? m->from_sock->id : 0,
			       m->from_sock ? m->from_sock->id : 0, m->len);
		dgram_route(sn, d, task, 0);
	}
	asup__sim_push(sn, &m->ev, at);
}

/* The address a datagram comes from: the socket's own, with a wildcard
 * address replaced by the loopback of its family. */
static void from_addr(const struct simsock *s, struct simaddr *a)
{
	static const uint8_t zero[16];

	*a = s->local;
	if (a->host.family != AF_UNIX && s->src.family == a->host.family &&
	    memcmp(a->host.addr, zero, 16) == 0) {
		/* The host of its region (asup_simnet_set_host). */
		if (a->host.family == AF_INET)
			memcpy(&((struct sockaddr_in *)(void *)&a->ss)->sin_addr, s->src.addr, 4);
		else
			memcpy(&((struct sockaddr_in6 *)(void *)&a->ss)->sin6_addr, s->src.addr, 16);
		a->host = s->src;
	} else if (a->host.family == AF_INET && memcmp(a->host.addr, zero, 4) == 0) {
		struct sockaddr_in *in = (struct sockaddr_in *)(void *)&a->ss;
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		memcpy(a->host.addr, &in->sin_addr, 4);
	} else if (a->host.family == AF_INET6 && memcmp(a->host.addr, zero, 16) == 0) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)&a->ss;
		in6->sin6_addr = in6addr_loopback;
		memcpy(a->host.addr, &in6->sin6_addr, 16);
	}
}

int64_t asup__sim_dgram_send(asup_cx *cx, asup_socket hd, const struct iovec *iov, int niov,
			     const struct sockaddr *to, socklen_t tolen)
{
	asup__simnet *sn;
	struct simsock *s;
	struct simmsg *m;
	struct simaddr dst;
	size_t n = 0, off = 0;
	int rc = asup__sim_sock_get(cx, hd, &sn, &s);

	if (rc < 0)
		return rc;
	/* A stream sends as write does, any address ignored. */
	if (s->kind != ASUP__SIM_DGRAM)
		return asup__sim_write(cx, hd, iov, niov);
	if (s->refused_pending) {
		s->refused_pending = 0;
		return -ECONNREFUSED;
	}
	if (to && asup__sim_addr(to, tolen, &dst) < 0)
		return -EINVAL;
	if (!to && !s->has_peer)
		return s->local.host.family == AF_UNIX ? -ENOTCONN : -EDESTADDRREQ;
	if (!to)
		dst = s->peer;
	if (dst.host.family != s->local.host.family)
		return -EAFNOSUPPORT;
	if (dst.host.family == AF_UNIX && (rc = asup__sim_unix_check(sn, &dst, 1)) < 0)
		return rc;
	for (int i = 0; i < niov; i++)
		n += iov[i].iov_len;
	if (n > SIM_DGRAM_MAX)
		return -EMSGSIZE;
	if ((rc = asup__cx_checkpoint(cx)) < 0)
		return rc;
	if (!(m = msg_get(sn, (uint32_t)n)))
		return -ENOMEM;
	for (int i = 0; i < niov; i++) {
		if (iov[i].iov_len)
			memcpy(m->data + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	from_addr(s, &m->from);
	m->to = dst;
	m->from_sock = s;
	s->refs++;
	s->dg_sent++;
	sn->totals.dgrams_sent++;
	asup__sim_emit(sn, cx->kt->id, ASUP__NET_SEND, s->id, s->id, (int64_t)n);
	dgram_route(sn, m, cx->kt->id, 1);
	return (int64_t)n;
}

int64_t asup__sim_dgram_recv(asup_cx *cx, asup_socket hd, const struct iovec *iov, int niov,
			     struct sockaddr *from, socklen_t *fromlen)
{
	asup__simnet *sn;
	struct simsock *s;
	struct simmsg *m;
	size_t done = 0;
	int rc;

	if ((rc = asup__sim_sock_get(cx, hd, &sn, &s)) < 0)
		return rc;
	/* A stream reads as read does; it has no sender address to give. */
	if (s->kind != ASUP__SIM_DGRAM) {
		int64_t n = asup__sim_read(cx, hd, iov, niov);
		if (n >= 0 && from && fromlen)
			*fromlen = 0;
		return n;
	}
	if ((rc = asup__cx_checkpoint(cx)) < 0)
		return rc;
	for (;;) {
		if ((rc = asup__sim_sock_again(cx, hd, &s)) < 0)
			return rc;
		if (s->kind != ASUP__SIM_DGRAM)
			return -ENOTCONN;
		if (s->refused_pending) {
			s->refused_pending = 0;
			return -ECONNREFUSED;
		}
		if (s->qhead)
			break;
		if ((rc = asup__sim_wait(cx, &s->rq)) < 0)
			return rc;
	}
	m = s->qhead;
	s->qhead = m->next;
	if (!s->qhead)
		s->qtail = NULL;
	s->qlen--;
	/* The rest of a datagram longer than the buffer is lost (truncated). */
	for (int i = 0; i < niov && done < m->len; i++) {
		size_t k = iov[i].iov_len < m->len - done ? iov[i].iov_len : m->len - done;
		if (k)
			memcpy(iov[i].iov_base, m->data + done, k);
		done += k;
	}
	asup__sim_addr_out(&m->from, from, fromlen);
	msg_put(sn, m);
	return (int64_t)done;
}

int asup__sim_unix_check(asup__simnet *sn, const struct simaddr *a, int dgram)
{
	struct simsock *s = asup__sim_lookup(sn, a);

	if (!s)
		return -ENOENT;
	if ((s->kind == ASUP__SIM_DGRAM) != (dgram != 0))
		return -EPROTOTYPE;
	return 0;
}

int64_t asup__sim_sendto(asup_cx *cx, asup_socket s, const void *buf, size_t len,
			 const struct sockaddr *addr, socklen_t addr_len)
{
	struct iovec v = {(void *)buf, len};
	return asup__sim_dgram_send(cx, s, &v, 1, addr, addr_len);
}

int64_t asup__sim_recvfrom(asup_cx *cx, asup_socket s, void *buf, size_t len,
			   struct sockaddr *addr, socklen_t *addr_len)
{
	struct iovec v = {buf, len};
	return asup__sim_dgram_recv(cx, s, &v, 1, addr, addr_len);
}
