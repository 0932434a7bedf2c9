/*
 * The simulated network's object and its bookkeeping: creation and
 * destruction, the event queue (a FIFO and a heap, by due time), handles and
 * socket records, addresses and the address table, routes through the
 * fault schedule, the query surface and the invariant check. See
 * asupersync/simnet.h for the model, simnet.h for the internal surface and
 * simnet_int.h for the structures and their lifetimes.
 *
 * Owns: struct asup__simnet, socket records (struct simsock) and handle
 * records (struct simh). Must not touch: connections' bytes and events
 * (simnet_stream.c), the stream calls (simnet_tcp.c), datagrams
 * (simnet_dgram.c), fault draws (simnet_fault.c).
 *
 * Invariants: the heap has room for every event object that exists, so a
 * push never fails; the FIFO is in (due time, seq) order; the timebase's
 * source time is always the earlier of the FIFO's and the heap's heads (or
 * never); a socket is in the address table exactly while it is bound;
 * asup__simnet_check verifies both, and every connection's byte accounting.
 */
#define _GNU_SOURCE
#include "simnet_int.h"

#include <errno.h>
#include <string.h>

#include "asupersync/region.h"
#include "pool_op.h"

#define SIMH_MAGIC 0x73696d68u /* "simh" */

/* ---- the network object ------------------------------------------------- */

asup_time asup__sim_now(asup__simnet *sn)
{
	return asup__timebase_now(sn->tb);
}

void asup__sim_emit(asup__simnet *sn, uint64_t task, uint32_t kind, uint64_t sock, uint64_t conn,
		    int64_t value)
{
	asup__simnet_event ev;

	sn->totals.events++;
	asup__trace(sn->sched, ASUP_EV_NET, task, ASUP_ID_NONE, (uint64_t)kind | conn << 8,
		    (uint64_t)value);
	if (!sn->hook)
		return;
	ev.kind = kind;
	ev.sock = sock;
	ev.conn = conn;
	ev.value = value;
	ev.time = asup__sim_now(sn);
	sn->hook(sn->hook_ud, &ev);
}

static int ev_before(const asup__hnode *a, const asup__hnode *b)
{
	return a->key < b->key || (a->key == b->key && a->seq < b->seq);
}

struct simev *asup__sim_ev_next(const asup__simnet *sn)
{
	asup__hnode *h = asup__heap_top(&sn->events);
	struct simev *f = NULL;

	if (sn->nfifo)
		f = asup__container_of(sn->fifo.next, struct simev, fl);
	if (!h)
		return f;
	if (f && ev_before(&f->node, h))
		return f;
	return asup__container_of(h, struct simev, node);
}

void asup__sim_ev_take(asup__simnet *sn, struct simev *ev)
{
	if (ev->node.idx == SIM_IN_FIFO) {
		asup__list_remove(&ev->fl);
		ev->node.idx = ASUP__HEAP_NONE;
		sn->nfifo--;
	} else {
		asup__heap_remove(&sn->events, &ev->node);
	}
}

void asup__sim_resched(asup__simnet *sn)
{
	const struct simev *top = asup__sim_ev_next(sn);

	asup__timebase_source_set(sn->tb, top ? top->node.key : ASUP_TIME_MAX);
}

/* An event due no earlier than the FIFO's newest joins the FIFO, which
 * then stays in (due time, seq) order (seq grows with every push): a push
 * and a pop cost a few pointer moves instead of a sift through the heap.
 * The others go to the heap. Either way the order the events come out in
 * is the one a single heap would give. */
void asup__sim_push(asup__simnet *sn, struct simev *ev, asup_time at)
{
	if (asup__hnode_linked(&ev->node))
		asup__sim_ev_take(sn, ev);
	ev->node.key = at;
	ev->node.seq = sn->seq++;
	if (!sn->nfifo ||
	    at >= asup__container_of(sn->fifo.prev, struct simev, fl)->node.key) {
		ev->node.idx = SIM_IN_FIFO;
		asup__list_push_back(&sn->fifo, &ev->fl);
		sn->nfifo++;
	} else {
		/* The heap was reserved for every event object when it was
		 * made (asup__sim_reserve), so this push cannot fail. */
		asup__heap_push(&sn->events, &ev->node);
	}
	asup__sim_resched(sn);
}

void asup__sim_ev_cancel(asup__simnet *sn, struct simev *ev)
{
	if (asup__hnode_linked(&ev->node)) {
		asup__sim_ev_take(sn, ev);
		asup__sim_resched(sn);
	}
}

/* Keeps the heap large enough for every event object that exists (more
 * may be negative when objects go), so that pushing never fails. */
int asup__sim_ev_room(asup__simnet *sn, int32_t more)
{
	sn->ev_slots = (uint32_t)((int32_t)sn->ev_slots + more);
	if (more <= 0 || sn->ev_slots <= sn->events.len)
		return 0;
	return asup__heap_reserve(&sn->events, sn->ev_slots - sn->events.len);
}

int asup__simnet_create(asup__simnet **out, const asup_simnet_config *cfg, const asup__alloc *a,
			 asup__sched *s, asup__timebase *tb, asup__kernel *k, uint64_t seed)
{
	asup__simnet *sn = a->alloc(a->ud, sizeof(*sn));

	if (!sn)
		return -ENOMEM;
	memset(sn, 0, sizeof(*sn));
	sn->cfg = *cfg;
	sn->alloc = *a;
	sn->sched = s;
	sn->tb = tb;
	sn->k = k;
	/* Its own stream: the scheduler's draws stay what they were. */
	asup__rng_seed(&sn->rng, asup__mix64(seed ^ 0x6e6574776f726b21ull));
	asup__heap_init(&sn->events, &sn->alloc);
	asup__list_init(&sn->fifo);
	asup__list_init(&sn->open);
	asup__list_init(&sn->socks);
	asup__list_init(&sn->conns);
	asup__list_init(&sn->msgs);
	for (int i = 0; i < 3; i++)
		sn->next_port[i] = 49152;
	asup__simnet_schedule_faults(&sn->cfg, &sn->rng, sn->parts, sn->stops);
	asup__timebase_source(tb, asup__sim_fire, sn);
	*out = sn;
	return 0;
}

/* ---- handles and sockets ------------------------------------------------ */

void asup__sim_sock_free(asup__simnet *sn, struct simsock *s)
{
	asup__list_remove(&s->all);
	sn->alloc.free(sn->alloc.ud, s, sizeof(*s));
}

void asup__sim_unref(asup__simnet *sn, struct simsock *s)
{
	if (--s->refs == 0)
		asup__sim_sock_free(sn, s);
}

/* Region finalizer: the region closes with the socket open. */
static void simh_finalize(void *arg)
{
	struct simh *h = arg;
	struct simsock *s = h->s;

	if (!s)
		return;
	asup__io_report_leak(h->k, h->region, "simulated socket", -1, "region closed");
	asup__sim_sock_close(h->sn, s, ASUP_ID_NONE, 1);
}

/* The socket a handle names, without the capability check and its trace
 * event: for the loops of a call that did asup__sim_sock_get first. */
int asup__sim_sock_again(asup_cx *cx, asup_socket hd, struct simsock **out)
{
	struct simh *h;

	if (!hd._p)
		return -EBADF;
	if (!asup__region_lookup(cx->k, hd._region))
		return -ASUP_ECLOSED;
	h = hd._p;
	if (h->magic != SIMH_MAGIC || h->region != hd._region || !h->s)
		return -EBADF;
	*out = h->s;
	return 0;
}

int asup__sim_sock_get(asup_cx *cx, asup_socket hd, asup__simnet **sn, struct simsock **out)
{
	int rc = asup__sim_get(cx, sn);

	return rc < 0 ? rc : asup__sim_sock_again(cx, hd, out);
}

struct simsock *asup__sim_sock_alloc(asup__simnet *sn, int kind)
{
	struct simsock *s = sn->alloc.alloc(sn->alloc.ud, sizeof(*s));

	if (!s)
		return NULL;
	memset(s, 0, sizeof(*s));
	s->id = ++sn->next_id;
	s->kind = (uint8_t)kind;
	s->refs = 1;
	asup__list_init(&s->olink);
	asup__list_init(&s->rq);
	asup__list_init(&s->wq);
	asup__list_init(&s->accq);
	asup__list_push_back(&sn->socks, &s->all);
	return s;
}

/* A handle record in the current scope's region, not yet naming a socket
 * (accept reserves it before it waits). */
int asup__sim_handle_reserve(asup_cx *cx, struct simh **out)
{
	asup_rref ref;
	struct simh *h;
	int rc = asup_region_alloc(cx, sizeof(*h), &ref);

	if (rc < 0)
		return rc;
	h = ref.ptr;
	h->region = ref.region;
	h->k = cx->k;
	h->s = NULL;
	h->sn = NULL;
	rc = asup_defer(cx, simh_finalize, h);
	if (rc < 0)
		return rc;
	h->magic = SIMH_MAGIC;
	*out = h;
	return 0;
}

/* Makes s open under handle h. */
void asup__sim_handle_bind(asup__simnet *sn, struct simh *h, struct simsock *s, asup_socket *out)
{
	h->s = s;
	h->sn = sn;
	s->h = h;
	s->region = h->region;
	s->open = 1;
	asup__list_push_back(&sn->open, &s->olink);
	sn->totals.sockets_opened++;
	sn->totals.sockets_open++;
	out->_region = h->region;
	out->_p = h;
}

int asup__sim_sock_new(asup_cx *cx, asup__simnet *sn, int kind, const struct simaddr *local,
		       asup_socket *out, struct simsock **sp)
{
	struct simh *h;
	struct simsock *s;
	int rc = asup__sim_handle_reserve(cx, &h);

	if (rc < 0)
		return rc;
	s = asup__sim_sock_alloc(sn, kind);
	if (!s)
		return -ENOMEM;
	if (local)
		s->local = *local;
	asup__sim_handle_bind(sn, h, s, out);
	*sp = s;
	return 0;
}

/* ---- addresses ------------------------------------------------------------ */

int asup__sim_addr(const struct sockaddr *sa, socklen_t len, struct simaddr *out)
{
	memset(out, 0, sizeof(*out));
	if (asup_simnet_host_of(sa, len, &out->host) < 0)
		return -EINVAL;
	if (len > (socklen_t)sizeof(out->ss))
		len = sizeof(out->ss);
	memcpy(&out->ss, sa, len);
	out->len = len;
	if (sa->sa_family == AF_INET)
		out->len = sizeof(struct sockaddr_in);
	else if (sa->sa_family == AF_INET6)
		out->len = sizeof(struct sockaddr_in6);
	return 0;
}

void asup__sim_addr_out(const struct simaddr *a, struct sockaddr *sa, socklen_t *len)
{
	socklen_t n = a->len;
	struct sockaddr_un un;

	if (!sa || !len)
		return;
	if (n == 0) { /* unnamed: the family alone */
		memset(&un, 0, sizeof(un));
		un.sun_family = a->host.family ? a->host.family : AF_UNIX;
		n = sizeof(sa_family_t);
		memcpy(sa, &un, *len < n ? *len : n);
		*len = n;
		return;
	}
	memcpy(sa, &a->ss, *len < n ? *len : n);
	*len = n;
}

static uint16_t addr_port(const struct simaddr *a)
{
	if (a->host.family == AF_INET)
		return ntohs(((const struct sockaddr_in *)(const void *)&a->ss)->sin_port);
	if (a->host.family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)(const void *)&a->ss)->sin6_port);
	return 0;
}

static void addr_set_port(struct simaddr *a, uint16_t port)
{
	if (a->host.family == AF_INET)
		((struct sockaddr_in *)(void *)&a->ss)->sin_port = htons(port);
	else if (a->host.family == AF_INET6)
		((struct sockaddr_in6 *)(void *)&a->ss)->sin6_port = htons(port);
}

static const char *addr_path(const struct simaddr *a)
{
	return ((const struct sockaddr_un *)(const void *)&a->ss)->sun_path;
}

static int addr_eq(const struct simaddr *a, const struct simaddr *b)
{
	if (a->host.family != b->host.family)
		return 0;
	if (a->host.family == AF_UNIX)
		return a->len && b->len && strncmp(addr_path(a), addr_path(b), 108) == 0;
	return asup__simnet_host_eq(&a->host, &b->host) && addr_port(a) == addr_port(b);
}

static uint32_t addr_hash(const struct simaddr *a)
{
	uint64_t h = a->host.family;

	if (a->host.family == AF_UNIX) {
		for (const char *p = addr_path(a); *p && p < addr_path(a) + 108; p++)
			h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
	} else {
		/* The port alone picks the bucket, so that a wildcard bind and
		 * the exact address it answers for share one chain. */
		h = (h ^ addr_port(a)) * 0x100000001b3ull;
	}
	return (uint32_t)(asup__mix64(h) % SIM_BUCKETS);
}

/* The socket bound at a (exactly, or on the wildcard address with a's
 * port), or NULL. */
struct simsock *asup__sim_lookup(asup__simnet *sn, const struct simaddr *a)
{
	struct simsock *s, *wild = NULL;

	for (s = sn->buckets[addr_hash(a)]; s; s = s->bnext) {
		if (addr_eq(&s->local, a))
			return s;
		if (a->host.family != AF_UNIX && s->local.host.family == a->host.family &&
		    asup__sim_is_wildcard(&s->local.host) && addr_port(&s->local) == addr_port(a))
			wild = s;
	}
	return wild;
}

static int port_taken(asup__simnet *sn, const struct simaddr *a)
{
	struct simsock *s;

	for (s = sn->buckets[addr_hash(a)]; s; s = s->bnext)
		if (s->local.host.family == a->host.family && addr_port(&s->local) == addr_port(a) &&
		    (asup__simnet_host_eq(&s->local.host, &a->host) ||
		     asup__sim_is_wildcard(&s->local.host) || asup__sim_is_wildcard(&a->host)))
			return 1;
	return 0;
}

static int fam_index(int family)
{
	return family == AF_INET ? 0 : family == AF_INET6 ? 1 : 2;
}

/* A deterministic free port for a (the next one from 49152 up). */
int asup__sim_pick_port(asup__simnet *sn, struct simaddr *a)
{
	uint16_t *next = &sn->next_port[fam_index(a->host.family)];

	for (uint32_t tries = 0; tries < 16384; tries++) {
		addr_set_port(a, *next);
		*next = *next == 65535 ? 49152 : (uint16_t)(*next + 1);
		if (!port_taken(sn, a))
			return 0;
	}
	return -EADDRINUSE;
}

/* Binds s at a (port 0: one is picked). -EADDRINUSE if it is taken. */
int asup__sim_bind(asup__simnet *sn, struct simsock *s, const struct simaddr *a)
{
	struct simaddr b = *a;
	uint32_t i;
	int rc;

	if (b.host.family == AF_UNIX) {
		if (asup__sim_lookup(sn, &b))
			return -EADDRINUSE;
	} else if (addr_port(&b) == 0) {
		if ((rc = asup__sim_pick_port(sn, &b)) < 0)
			return rc;
	} else if (port_taken(sn, &b)) {
		return -EADDRINUSE;
	}
	s->local = b;
	i = addr_hash(&b);
	s->bnext = sn->buckets[i];
	sn->buckets[i] = s;
	s->bound = 1;
	return 0;
}

void asup__sim_unbind(asup__simnet *sn, struct simsock *s)
{
	struct simsock **pp;

	if (!s->bound)
		return;
	for (pp = &sn->buckets[addr_hash(&s->local)]; *pp; pp = &(*pp)->bnext)
		if (*pp == s) {
			*pp = s->bnext;
			break;
		}
	s->bound = 0;
}

/* ---- routes and faults ------------------------------------------------------ */

/* Traces partitions starting or healing and hosts stopping, when the
 * network first looks at a time past them. */
void asup__sim_observe_faults(asup__simnet *sn, asup_time now)
{
	if (!(sn->cfg.npartitions | sn->cfg.nstops))
		return;
	for (uint32_t i = 0; i < sn->cfg.npartitions; i++) {
		if (sn->part_seen[i] == 0 && now >= sn->parts[i].start) {
			sn->part_seen[i] = 1;
			asup__sim_emit(sn, ASUP_ID_NONE, ASUP__NET_PARTITION, 0, i, 1);
		}
		if (sn->part_seen[i] == 1 && now >= sn->parts[i].end) {
			sn->part_seen[i] = 2;
			asup__sim_emit(sn, ASUP_ID_NONE, ASUP__NET_PARTITION, 0, i, 0);
		}
	}
	for (uint32_t i = 0; i < sn->cfg.nstops; i++)
		if (!sn->stop_seen[i] && now >= sn->stops[i]) {
			sn->stop_seen[i] = 1;
			asup__sim_emit(sn, ASUP_ID_NONE, ASUP__NET_STOP, 0, i, 1);
		}
}

/* When a packet sent now from `from` to `to` arrives: now + latency, or
 * after the heal of a partition between them + latency, or ASUP_TIME_MAX
 * (never: a stopped host, a partition that never heals). *f gets the
 * link's faults. A datagram is dropped whenever the result is not now +
 * latency, which the caller tells by comparing it with the link's largest
 * latency. */
asup_time asup__sim_route(asup__simnet *sn, const asup_simnet_host *from,
			  const asup_simnet_host *to, const asup_simnet_faults **f)
{
	asup_time now = asup__sim_now(sn), base = now, heal;

	/* The common case, a network with neither partitions, stops nor
	 * per-link faults, skips the lookups: they would find nothing, and
	 * they ran for every packet. The draw is the same either way. */
	if (!(sn->cfg.npartitions | sn->cfg.nstops | sn->cfg.nlinks)) {
		*f = &sn->cfg.faults;
		return now + asup__simnet_latency(&sn->rng, *f);
	}
	asup__sim_observe_faults(sn, now);
	*f = asup__simnet_link_faults(&sn->cfg, from, to);
	if (asup__simnet_stopped(&sn->cfg, sn->stops, from, now) ||
	    asup__simnet_stopped(&sn->cfg, sn->stops, to, now))
		return ASUP_TIME_MAX;
	heal = asup__simnet_blocked_until(&sn->cfg, sn->parts, from, to, now);
	if (heal == ASUP_TIME_MAX)
		return ASUP_TIME_MAX;
	if (heal > base)
		base = heal;
	return base + asup__simnet_latency(&sn->rng, *f);
}

/* ---- getting the network ------------------------------------------------- */

int asup__sim_wait(asup_cx *cx, asup__list *q)
{
	return asup__cx_waitq_wait_as(cx, q, ASUP__WAIT_WAITQ, 0);
}

/* ---- the query surface and the end ------------------------------------------ */

static void sock_info(const struct simsock *s, asup__simnet_sock_info *o)
{
	const struct simconn *c = s->conn;
	socklen_t n;

	memset(o, 0, sizeof(*o));
	o->id = s->id;
	o->region = s->region;
	o->kind = s->kind;
	o->state = s->connecting ? 1 : 0;
	n = sizeof(o->local);
	asup__sim_addr_out(&s->local, (struct sockaddr *)&o->local, &n);
	if (s->kind == ASUP__SIM_STREAM && s->peer.len) {
		n = sizeof(o->peer);
		asup__sim_addr_out(&s->peer, (struct sockaddr *)&o->peer, &n);
	}
	if (c) {
		const struct simdir *d = &c->dir[s->side];
		o->conn = c->id;
		if (c->dir[1 - s->side].eof)
			o->state = 2;
		if (c->reset)
			o->state = 3;
		o->sent = d->sent;
		o->delivered = d->delivered;
		o->dropped = d->dropped;
		o->in_flight = d->flight;
	} else if (s->kind == ASUP__SIM_DGRAM) {
		o->sent = s->dg_sent;
		o->delivered = s->dg_delivered;
		o->dropped = s->dg_dropped;
		o->in_flight = s->dg_sent - s->dg_delivered - s->dg_dropped;
	}
}

int asup__simnet_walk(asup__simnet *sn, int (*fn)(void *ud, const asup__simnet_sock_info *info),
		      void *ud)
{
	asup__simnet_sock_info info;
	asup__list *n;
	int rc;

	if (!sn || !fn)
		return -EINVAL;
	for (n = sn->open.next; n != &sn->open; n = n->next) {
		sock_info(asup__container_of(n, struct simsock, olink), &info);
		if ((rc = fn(ud, &info)) != 0)
			return rc;
	}
	return 0;
}

void asup__simnet_set_hook(asup__simnet *sn, asup__simnet_hook *fn, void *ud)
{
	if (!sn)
		return;
	sn->hook = fn;
	sn->hook_ud = ud;
}

void asup__simnet_totals_get(const asup__simnet *sn, asup__simnet_totals *out)
{
	if (!out)
		return;
	if (sn)
		*out = sn->totals;
	else
		memset(out, 0, sizeof(*out));
}

void asup__simnet_destroy(asup__simnet *sn)
{
	asup__list *n;

	if (!sn)
		return;
	asup__timebase_source(sn->tb, NULL, NULL);
	/* First: the heap marks the nodes it still holds as unlinked, and
	 * those live in the objects freed below. */
	asup__heap_destroy(&sn->events);
	while ((n = asup__list_pop_front(&sn->fifo)) != NULL)
		asup__container_of(n, struct simev, fl)->node.idx = ASUP__HEAP_NONE;
	sn->nfifo = 0;
	while ((n = asup__list_pop_front(&sn->open)) != NULL) {
		struct simsock *s = asup__container_of(n, struct simsock, olink);
		asup__io_report_leak(sn->k, s->region, "simulated socket", -1, "runtime destroyed");
		if (s->h)
			s->h->s = NULL;
	}
	while ((n = asup__list_pop_front(&sn->conns)) != NULL) {
		struct simconn *c = asup__container_of(n, struct simconn, all);
		asup__sim_ring_put(sn, c->dir[0].buf);
		asup__sim_ring_put(sn, c->dir[1].buf);
		sn->alloc.free(sn->alloc.ud, c, sizeof(*c));
	}
	while ((n = asup__list_pop_front(&sn->socks)) != NULL)
		sn->alloc.free(sn->alloc.ud, asup__container_of(n, struct simsock, all),
			       sizeof(struct simsock));
	asup__sim_msgs_free(sn);
	for (uint32_t i = 0; i < sn->nfree_bufs; i++)
		sn->alloc.free(sn->alloc.ud, sn->free_bufs[i], sn->cfg.stream_buffer);
	if (sn->free_bufs)
		sn->alloc.free(sn->alloc.ud, sn->free_bufs, sn->capfree_bufs * sizeof(uint8_t *));
	sn->alloc.free(sn->alloc.ud, sn, sizeof(*sn));
}

/* ---- invariants --------------------------------------------------------- */

static int dir_check(const struct simdir *d)
{
	uint64_t inflight = 0;

	if (d->scount > SIM_SEGS || (asup__hnode_linked(&d->ev.node) && !d->scount))
		return -EINVAL;
	if (d->buf && (uint64_t)d->readable + d->flight > d->cap)
		return -EINVAL;
	for (uint32_t i = 0; i < d->scount; i++)
		inflight += d->seg[(d->shead + i) % SIM_SEGS].len;
	/* A reset dropped the bytes but keeps nothing queued. */
	return inflight == d->flight ? 0 : -EINVAL;
}

/* The FIFO holds nfifo events, each marked as in it, in (due time, seq)
 * order. */
static int fifo_check(const asup__simnet *sn)
{
	const struct simev *prev = NULL;
	uint32_t count = 0;

	for (const asup__list *n = sn->fifo.next; n != &sn->fifo; n = n->next, count++) {
		const struct simev *ev = asup__container_of(n, struct simev, fl);
		if (ev->node.idx != SIM_IN_FIFO || (prev && !ev_before(&prev->node, &ev->node)))
			return -EINVAL;
		prev = ev;
	}
	return count == sn->nfifo ? 0 : -EINVAL;
}

int asup__simnet_check(const asup__simnet *sn)
{
	const struct simev *top;
	const asup__list *n;

	if (!sn)
		return 0;
	if (asup__heap_check(&sn->events) || fifo_check(sn) ||
	    (uint64_t)sn->events.len + sn->nfifo > sn->ev_slots)
		return -EINVAL;
	top = asup__sim_ev_next(sn);
	if (sn->tb->source_next != (top ? top->node.key : ASUP_TIME_MAX))
		return -EINVAL;
	for (n = sn->conns.next; n != &sn->conns; n = n->next) {
		const struct simconn *c = asup__container_of(n, struct simconn, all);
		if (dir_check(&c->dir[0]) || dir_check(&c->dir[1]))
			return -EINVAL;
	}
	for (n = sn->open.next; n != &sn->open; n = n->next) {
		const struct simsock *s = asup__container_of(n, struct simsock, olink);
		if (!s->open || !s->refs || !s->h || s->h->s != s)
			return -EINVAL;
	}
	return 0;
}

/* ---- hosts of regions ------------------------------------------------------- */

const asup_simnet_host *asup__sim_src_host(asup__simnet *sn, asup_cx *cx, int family)
{
	if (!sn->nrhost)
		return NULL;
	for (const asup__region *r = cx->scope; r; r = r->parent)
		for (uint32_t i = 0; i < sn->nrhost; i++)
			if (sn->rhost[i].region == r->id && sn->rhost[i].host.family == family)
				return &sn->rhost[i].host;
	return NULL;
}

ASUP_API int asup_simnet_set_host(asup_cx *cx, const asup_simnet_host *host)
{
	asup__simnet *sn;
	uint64_t region;
	uint32_t i, free_slot = SIM_RHOSTS;
	int rc;

	if (!asup__cx_self(cx))
		return -ASUP_ENOTASK;
	if (!asup__io_is_sim(cx))
		return -ASUP_ENOTDET;
	if ((rc = asup__sim_get(cx, &sn)) < 0)
		return rc;
	if (!host || (host->family != AF_INET && host->family != AF_INET6) ||
	    asup__sim_is_wildcard(host))
		return -EINVAL;
	if (host->family == AF_INET && memcmp(host->addr + 4, (const uint8_t[12]){0}, 12) != 0)
		return -EINVAL;
	region = cx->scope->id;
	for (i = 0; i < sn->nrhost; i++) {
		if (sn->rhost[i].region == region && sn->rhost[i].host.family == host->family)
			break;
		/* A slot of a region that closed can be taken again. */
		if (free_slot == SIM_RHOSTS && !asup__region_lookup(cx->k, sn->rhost[i].region))
			free_slot = i;
	}
	if (i == sn->nrhost) {
		if (free_slot != SIM_RHOSTS)
			i = free_slot;
		else if (sn->nrhost == SIM_RHOSTS)
			return -ASUP_ECAPACITY;
		else
			sn->nrhost++;
	}
	sn->rhost[i].region = region;
	sn->rhost[i].host = *host;
	return 0;
}
