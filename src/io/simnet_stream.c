/*
 * The simulated network's stream machinery: ring buffers, segments, the
 * events that carry them (SYN, SYN-ACK, data, FIN, RST), the timebase's
 * event source, and closing stream sockets and listeners. The calls that
 * tasks make (listen, accept, connect, read, write) are in simnet_tcp.c.
 *
 * Owns: connections (struct simconn) once asup__sim_connect has made
 * them, until they are freed, and the delivery of their packets. Must not
 * touch: socket and handle records or the address table except through
 * simnet.c's asup__sim_* calls; datagrams (simnet_dgram.c); fault draws
 * (simnet_fault.c).
 *
 * Stream socket states:
 *
 *   connecting --SYN-ACK--> established --FIN in--> (reads 0 after data)
 *        |  \--RST-------> refused (-ECONNREFUSED)
 *        |                 established --reset--> reset (-ECONNRESET)
 *        +--close/cancel--> gone (a SYN that already arrived is reset)
 *
 * Invariants: a stream direction never reorders: a segment's due time is
 * at least the previous segment's, so only the head segment has an event
 * queued. Every byte sent is, at any moment, readable, in flight, or
 * counted as dropped. A connection is freed only when both ends have let
 * go and none of its six events is queued.
 */
#define _GNU_SOURCE
#include "simnet_int.h"

#include <errno.h>
#include <string.h>

/* ---- streams: buffers and segments ------------------------------------------ */

static uint8_t *ring_get(asup__simnet *sn)
{
	if (sn->nfree_bufs)
		return sn->free_bufs[--sn->nfree_bufs];
	return sn->alloc.alloc(sn->alloc.ud, sn->cfg.stream_buffer);
}

void asup__sim_ring_put(asup__simnet *sn, uint8_t *buf)
{
	uint8_t **nb;
	uint32_t cap;

	if (!buf)
		return;
	if (sn->nfree_bufs == sn->capfree_bufs) {
		cap = sn->capfree_bufs ? sn->capfree_bufs * 2 : 16;
		nb = sn->alloc.alloc(sn->alloc.ud, cap * sizeof(*nb));
		if (!nb) {
			sn->alloc.free(sn->alloc.ud, buf, sn->cfg.stream_buffer);
			return;
		}
		if (sn->free_bufs) {
			memcpy(nb, sn->free_bufs, sn->nfree_bufs * sizeof(*nb));
			sn->alloc.free(sn->alloc.ud, sn->free_bufs, sn->capfree_bufs * sizeof(*nb));
		}
		sn->free_bufs = nb;
		sn->capfree_bufs = cap;
	}
	sn->free_bufs[sn->nfree_bufs++] = buf;
}

static int conn_linked(const struct simconn *c)
{
	return asup__hnode_linked(&c->dir[0].ev.node) || asup__hnode_linked(&c->dir[1].ev.node) ||
	       asup__hnode_linked(&c->syn.node) || asup__hnode_linked(&c->synack.node) ||
	       asup__hnode_linked(&c->rst[0].node) || asup__hnode_linked(&c->rst[1].node);
}

static void conn_maybe_free(asup__simnet *sn, struct simconn *c)
{
	if (c->end[0] || c->end[1] || conn_linked(c))
		return;
	/* Bytes held for good (behind a stopped host or a partition that
	 * never heals) die with the connection: counted as dropped. */
	for (int i = 0; i < 2; i++)
		if (c->dir[i].flight) {
			sn->totals.bytes_dropped += c->dir[i].flight;
			asup__sim_emit(sn, ASUP_ID_NONE, ASUP__NET_DROP, 0, c->id, c->dir[i].flight);
		}
	asup__sim_ring_put(sn, c->dir[0].buf);
	asup__sim_ring_put(sn, c->dir[1].buf);
	asup__list_remove(&c->all);
	asup__sim_ev_room(sn, -6);
	sn->alloc.free(sn->alloc.ud, c, sizeof(*c));
}

/* Lets go of end `side` of c. */
static void conn_detach(asup__simnet *sn, struct simconn *c, int side)
{
	struct simsock *s = c->end[side];

	c->end[side] = NULL;
	if (s) {
		s->conn = NULL;
		asup__sim_unref(sn, s);
	}
	conn_maybe_free(sn, c);
}

static void dir_schedule(asup__simnet *sn, struct simdir *d)
{
	if (d->scount && !asup__hnode_linked(&d->ev.node) && d->seg[d->shead].at != ASUP_TIME_MAX)
		asup__sim_push(sn, &d->ev, d->seg[d->shead].at);
}

/* Queues a segment of len bytes (already in the ring) or a FIN. */
void asup__sim_dir_queue(asup__simnet *sn, struct simconn *c, int side, uint32_t len, int fin,
		      asup_time at, int rst)
{
	struct simdir *d = &c->dir[side];
	struct simseg *sg;

	if (at != ASUP_TIME_MAX && at < d->last_at)
		at = d->last_at; /* ordered: never before the previous one */
	if (d->scount == SIM_SEGS) {
		/* The descriptor ring is full (many tiny writes): the bytes
		 * join the newest segment, which is not yet due. */
		sg = &d->seg[(d->shead + d->scount - 1) % SIM_SEGS];
		sg->len += len;
		sg->fin |= (uint8_t)fin;
		sg->rst |= (uint8_t)rst;
		return;
	}
	sg = &d->seg[(d->shead + d->scount) % SIM_SEGS];
	sg->len = len;
	sg->fin = (uint8_t)fin;
	sg->rst = (uint8_t)rst;
	sg->at = at;
	if (at != ASUP_TIME_MAX)
		d->last_at = at;
	else
		d->last_at = ASUP_TIME_MAX;
	d->scount++;
	dir_schedule(sn, d);
}

/* The due time of a stream packet from end `side` of c, with its stall. */
asup_time asup__sim_stream_due(asup__simnet *sn, struct simconn *c, int side, int *rst)
{
	const asup_simnet_faults *f;
	struct simaddr *from = side == 0 ? &c->src : &c->dst;
	struct simaddr *to = side == 0 ? &c->dst : &c->src;
	asup_time at = asup__sim_route(sn, &from->host, &to->host, &f);

	*rst = 0;
	if (at == ASUP_TIME_MAX)
		return at;
	if (f->stall > 0 && asup__simnet_chance(&sn->rng, f->stall))
		at += f->stall_ns;
	if (f->reset > 0 && asup__simnet_chance(&sn->rng, f->reset))
		*rst = 1;
	return at;
}

/* Drops whatever direction d still holds (unread and in flight). */
static void dir_drop(asup__simnet *sn, struct simconn *c, int side)
{
	struct simdir *d = &c->dir[side];
	uint32_t n = d->readable + d->flight;

	asup__sim_ev_cancel(sn, &d->ev);
	d->rpos = (d->rpos + n) % (d->cap ? d->cap : 1);
	d->readable = d->flight = 0;
	d->scount = 0;
	if (n) {
		d->dropped += n;
		sn->totals.bytes_dropped += n;
		asup__sim_emit(sn, ASUP_ID_NONE, ASUP__NET_DROP, c->end[side] ? c->end[side]->id : 0,
			       c->id, n);
	}
}

static void sock_wake(struct simsock *s)
{
	if (!s)
		return;
	asup__sim_wake_all(&s->rq);
	asup__sim_wake_all(&s->wq);
}

/* The connection is reset: both ends see -ECONNRESET, nothing more moves. */
static void conn_reset(asup__simnet *sn, struct simconn *c)
{
	if (c->reset)
		return;
	c->reset = 1;
	dir_drop(sn, c, 0);
	dir_drop(sn, c, 1);
	asup__sim_ev_cancel(sn, &c->syn);
	asup__sim_ev_cancel(sn, &c->synack);
	asup__sim_emit(sn, ASUP_ID_NONE, ASUP__NET_RESET, 0, c->id, -ECONNRESET);
	sock_wake(c->end[0]);
	sock_wake(c->end[1]);
}

/* The head segment of direction `side` arrived. */
static void on_segment(asup__simnet *sn, struct simconn *c, int side)
{
	struct simdir *d = &c->dir[side];
	struct simseg sg = d->seg[d->shead];
	struct simsock *to = c->end[1 - side];

	d->shead = (d->shead + 1) % SIM_SEGS;
	d->scount--;
	/* As the bytes' ring does once empty (asup__sim_read), the segment
	 * ring starts over at its first slot: one packet at a time then
	 * touches one line of the 1.5 KiB ring instead of walking it. */
	if (!d->scount)
		d->shead = 0;
	if (sg.rst) {
		conn_reset(sn, c);
		return;
	}
	d->flight -= sg.len;
	if (to) {
		d->readable += sg.len;
		d->delivered += sg.len;
		sn->totals.bytes_delivered += sg.len;
		if (sg.len)
			asup__sim_emit(sn, ASUP_ID_NONE, ASUP__NET_DELIVER, to->id, c->id, sg.len);
	} else if (sg.len) {
		/* The receiver closed: the bytes go nowhere, said so. */
		d->rpos = asup__sim_wrap((uint64_t)d->rpos + sg.len, d->cap);
		d->dropped += sg.len;
		sn->totals.bytes_dropped += sg.len;
		asup__sim_emit(sn, ASUP_ID_NONE, ASUP__NET_DROP, 0, c->id, sg.len);
	}
	if (sg.fin) {
		d->eof = 1;
		/* 2: the sender closed (not just shut down): writes to it
		 * fail with -EPIPE from now on. */
		d->closed_by_peer = (sg.fin & 2) != 0;
		asup__sim_emit(sn, ASUP_ID_NONE, ASUP__NET_FIN, to ? to->id : 0, c->id, 0);
	}
	if (to)
		asup__sim_wake_all(&to->rq);
	dir_schedule(sn, d);
	if (!to)
		conn_maybe_free(sn, c);
}

static int conn_buffers(asup__simnet *sn, struct simconn *c)
{
	for (int i = 0; i < 2; i++) {
		c->dir[i].buf = ring_get(sn);
		if (!c->dir[i].buf)
			return -ENOMEM;
		c->dir[i].cap = sn->cfg.stream_buffer;
	}
	return 0;
}

/* A SYN reached c->dst: a listener takes the connection into its accept
 * queue and answers, or the connecting side is refused a round trip later. */
static void on_syn(asup__simnet *sn, struct simconn *c)
{
	struct simsock *l = asup__sim_lookup(sn, &c->dst), *s = NULL;
	const asup_simnet_faults *f;
	asup_time at = asup__sim_route(sn, &c->dst.host, &c->src.host, &f);

	if (!c->end[0])
		return;
	if (l && l->kind == ASUP__SIM_LISTENER && l->nacc < l->backlog &&
	    (s = asup__sim_sock_alloc(sn, ASUP__SIM_STREAM)) != NULL && conn_buffers(sn, c) == 0) {
		s->local = l->local;
		if (asup__sim_is_wildcard(&s->local.host)) {
			s->local = c->dst;
		}
		s->peer = c->src;
		s->conn = c;
		s->side = 1;
		s->established = 1;
		s->refs = 2; /* the connection's and the accept queue's */
		c->end[1] = s;
		asup__list_push_back(&l->accq, &c->qlink);
		l->nacc++;
		asup__sim_wake_all(&l->rq);
		if (at != ASUP_TIME_MAX)
			asup__sim_push(sn, &c->synack, at);
		return;
	}
	if (s)
		asup__sim_sock_free(sn, s);
	if (at != ASUP_TIME_MAX)
		asup__sim_push(sn, &c->rst[0], at);
}

static void on_event(asup__simnet *sn, struct simev *ev)
{
	struct simconn *c;

	switch (ev->kind) {
	case EV_SEG:
		c = asup__container_of(ev, struct simconn, dir[0].ev);
		if (ev->idx)
			c = asup__container_of(ev, struct simconn, dir[1].ev);
		on_segment(sn, c, ev->idx);
		return;
	case EV_SYN:
		c = asup__container_of(ev, struct simconn, syn);
		on_syn(sn, c);
		break;
	case EV_SYNACK:
		c = asup__container_of(ev, struct simconn, synack);
		if (c->end[0]) {
			c->end[0]->connecting = 0;
			c->end[0]->established = 1;
			asup__sim_emit(sn, ASUP_ID_NONE, ASUP__NET_ESTABLISHED, c->end[0]->id, c->id, 0);
			asup__sim_wake_all(&c->end[0]->wq);
		}
		break;
	case EV_RST:
		c = ev->idx ? asup__container_of(ev, struct simconn, rst[1])
			    : asup__container_of(ev, struct simconn, rst[0]);
		if (ev->idx == 0 && c->end[0] && c->end[0]->connecting) {
			c->end[0]->connecting = 0;
			c->end[0]->refused = 1;
			asup__sim_emit(sn, ASUP_ID_NONE, ASUP__NET_REFUSED, c->end[0]->id, c->id,
				       -ECONNREFUSED);
			asup__sim_wake_all(&c->end[0]->wq);
		} else {
			conn_reset(sn, c);
		}
		break;
	default:
		asup__sim_dgram_arrive(sn, asup__container_of(ev, struct simmsg, ev));
		return;
	}
	conn_maybe_free(sn, c);
}

/* The timebase's event source: delivers every packet due by now, in due
 * time then send order. */
void asup__sim_fire(void *ud, asup_time now)
{
	asup__simnet *sn = ud;
	struct simev *top;

	asup__sim_observe_faults(sn, now);
	while ((top = asup__sim_ev_next(sn)) != NULL && top->node.key <= now) {
		asup__sim_ev_take(sn, top);
		on_event(sn, top);
	}
	asup__sim_resched(sn);
}

/* ---- closing -------------------------------------------------------------- */

/* The connecting side goes away before or while the handshake runs. */
static void abort_connect(asup__simnet *sn, struct simconn *c)
{
	const asup_simnet_faults *f;
	asup_time at;

	asup__sim_ev_cancel(sn, &c->syn);
	asup__sim_ev_cancel(sn, &c->synack);
	if (c->end[1] && !c->reset) {
		at = asup__sim_route(sn, &c->src.host, &c->dst.host, &f);
		if (at != ASUP_TIME_MAX)
			asup__sim_push(sn, &c->rst[1], at);
	}
}

static void stream_close(asup__simnet *sn, struct simsock *s)
{
	struct simconn *c = s->conn;
	struct simdir *in;
	int rst;
	asup_time at;

	if (!c)
		return;
	if (s->connecting || (s->side == 0 && !s->established)) {
		abort_connect(sn, c);
	} else if (!c->reset && !c->dir[s->side].fin_queued) {
		c->dir[s->side].fin_queued = 1;
		at = asup__sim_stream_due(sn, c, s->side, &rst);
		asup__sim_dir_queue(sn, c, s->side, 0, 2, at, 0);
	}
	/* What this side never read is gone: counted as dropped. */
	in = &c->dir[1 - s->side];
	if (in->readable) {
		in->dropped += in->readable;
		sn->totals.bytes_dropped += in->readable;
		asup__sim_emit(sn, ASUP_ID_NONE, ASUP__NET_DROP, s->id, c->id, in->readable);
		in->rpos = (in->rpos + in->readable) % in->cap;
		in->readable = 0;
	}
	conn_detach(sn, c, s->side);
}

static void listener_close(asup__simnet *sn, struct simsock *l)
{
	asup__list *n;
	struct simconn *c;

	/* Connections nobody accepted are reset. */
	while ((n = asup__list_pop_front(&l->accq)) != NULL) {
		c = asup__container_of(n, struct simconn, qlink);
		conn_reset(sn, c);
		asup__sim_unref(sn, c->end[1]); /* the queue's reference */
		conn_detach(sn, c, 1);
	}
	l->nacc = 0;
}

/* leaked: its region closed with it open (the CLOSE event says so, for
 * the oracles that read only the trace). */
void asup__sim_sock_close(asup__simnet *sn, struct simsock *s, uint64_t task, int leaked)
{
	if (!s->open)
		return;
	s->open = 0;
	asup__list_remove(&s->olink);
	sn->totals.sockets_open--;
	if (s->h)
		s->h->s = NULL;
	s->h = NULL;
	asup__sim_unbind(sn, s);
	asup__sim_emit(sn, task, ASUP__NET_CLOSE, s->id, s->conn ? s->conn->id : s->id, leaked);
	if (s->kind == ASUP__SIM_LISTENER)
		listener_close(sn, s);
	else if (s->kind == ASUP__SIM_STREAM)
		stream_close(sn, s);
	else
		asup__sim_dgram_close(sn, s);
	sock_wake(s);
	asup__sim_unref(sn, s);
}

int asup__sim_close(asup_cx *cx, asup_socket hd)
{
	asup__simnet *sn;
	struct simsock *s;
	int rc = asup__sim_sock_get(cx, hd, &sn, &s);

	if (rc < 0)
		return rc;
	asup__sim_sock_close(sn, s, asup__sim_task_id(cx), 0);
	return 0;
}

