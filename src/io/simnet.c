/*
 * The simulated network: the network object, addresses, the event queue,
 * and stream sockets (TCP and Unix stream) in deterministic mode. See
 * asupersync/simnet.h for the model and simnet.h for the internal surface;
 * simnet_int.h holds the structures and their lifetimes.
 *
 * Stream socket states:
 *
 *   connecting --SYN-ACK--> established --FIN in--> (reads 0 after data)
 *        |  \--RST-------> refused (-ECONNREFUSED)
 *        |                 established --reset--> reset (-ECONNRESET)
 *        +--close/cancel--> gone (a SYN that already arrived is reset)
 *
 * A stream direction never reorders: a segment's due time is at least the
 * previous segment's, so only the head segment has an event queued. Every
 * byte sent is, at any moment, readable, in flight, or counted as dropped.
 *
 * Over 1,000 lines on purpose: the stream calls, the events that move
 * their bytes and the connection's lifetime share static helpers
 * (segments, routes, detaching and freeing); splitting the file would make
 * those an internal API with nothing else to use it. Datagrams, faults and
 * names, which stand apart, have files of their own.
 */
#define _GNU_SOURCE
#include "simnet_int.h"

#include <errno.h>
#include <string.h>

#include "asupersync/region.h"
#include "pool_op.h"

#define SIMH_MAGIC 0x73696d68u /* "simh" */

static void fire(void *ud, asup_time now);

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

static void resched(asup__simnet *sn)
{
	const asup__hnode *top = asup__heap_top(&sn->events);

	asup__timebase_source_set(sn->tb, top ? top->key : ASUP_TIME_MAX);
}

void asup__sim_push(asup__simnet *sn, struct simev *ev, asup_time at)
{
	if (asup__hnode_linked(&ev->node))
		asup__heap_remove(&sn->events, &ev->node);
	ev->node.key = at;
	ev->node.seq = sn->seq++;
	/* The heap was reserved for every event object when it was made
	 * (asup__sim_reserve), so this push cannot fail. */
	asup__heap_push(&sn->events, &ev->node);
	resched(sn);
}

static void ev_cancel(asup__simnet *sn, struct simev *ev)
{
	if (asup__hnode_linked(&ev->node)) {
		asup__heap_remove(&sn->events, &ev->node);
		resched(sn);
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

static void ev_init(struct simev *ev, uint8_t kind, uint8_t idx)
{
	asup__hnode_init(&ev->node);
	ev->kind = kind;
	ev->idx = idx;
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
	asup__list_init(&sn->open);
	asup__list_init(&sn->socks);
	asup__list_init(&sn->conns);
	asup__list_init(&sn->msgs);
	for (int i = 0; i < 3; i++)
		sn->next_port[i] = 49152;
	asup__simnet_schedule_faults(&sn->cfg, &sn->rng, sn->parts, sn->stops);
	asup__timebase_source(tb, fire, sn);
	*out = sn;
	return 0;
}

/* ---- handles and sockets ------------------------------------------------ */

static void sock_free(asup__simnet *sn, struct simsock *s)
{
	asup__list_remove(&s->all);
	sn->alloc.free(sn->alloc.ud, s, sizeof(*s));
}

void asup__sim_unref(asup__simnet *sn, struct simsock *s)
{
	if (--s->refs == 0)
		sock_free(sn, s);
}

static void sock_close(asup__simnet *sn, struct simsock *s, uint64_t task);

/* Region finalizer: the region closes with the socket open. */
static void simh_finalize(void *arg)
{
	struct simh *h = arg;
	struct simsock *s = h->s;

	if (!s)
		return;
	asup__io_report_leak(h->k, h->region, "simulated socket", -1, "region closed");
	sock_close(h->sn, s, ASUP_ID_NONE);
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

static struct simsock *sock_alloc(asup__simnet *sn, int kind)
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
static int handle_reserve(asup_cx *cx, struct simh **out)
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
static void handle_bind(asup__simnet *sn, struct simh *h, struct simsock *s, asup_socket *out)
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
	int rc = handle_reserve(cx, &h);

	if (rc < 0)
		return rc;
	s = sock_alloc(sn, kind);
	if (!s)
		return -ENOMEM;
	if (local)
		s->local = *local;
	handle_bind(sn, h, s, out);
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

static int is_wildcard(const asup_simnet_host *h)
{
	static const uint8_t zero[16];
	return h->family != AF_UNIX && memcmp(h->addr, zero, 16) == 0;
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
		    is_wildcard(&s->local.host) && addr_port(&s->local) == addr_port(a))
			wild = s;
	}
	return wild;
}

static int port_taken(asup__simnet *sn, const struct simaddr *a)
{
	struct simsock *s;

	for (s = sn->buckets[addr_hash(a)]; s; s = s->bnext)
		if (s->local.host.family == a->host.family && addr_port(&s->local) == addr_port(a) &&
		    (asup__simnet_host_eq(&s->local.host, &a->host) || is_wildcard(&s->local.host) ||
		     is_wildcard(&a->host)))
			return 1;
	return 0;
}

static int fam_index(int family)
{
	return family == AF_INET ? 0 : family == AF_INET6 ? 1 : 2;
}

/* A deterministic free port for a (the next one from 49152 up). */
static int pick_port(asup__simnet *sn, struct simaddr *a)
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
		if ((rc = pick_port(sn, &b)) < 0)
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

static void unbind(asup__simnet *sn, struct simsock *s)
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
static void observe_faults(asup__simnet *sn, asup_time now)
{
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
 * latency, which the caller tells by asking asup__sim_blocked. */
asup_time asup__sim_route(asup__simnet *sn, const asup_simnet_host *from,
			  const asup_simnet_host *to, const asup_simnet_faults **f)
{
	asup_time now = asup__sim_now(sn), base = now, heal;

	observe_faults(sn, now);
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

/* ---- streams: buffers and segments ------------------------------------------ */

static uint8_t *ring_get(asup__simnet *sn)
{
	if (sn->nfree_bufs)
		return sn->free_bufs[--sn->nfree_bufs];
	return sn->alloc.alloc(sn->alloc.ud, sn->cfg.stream_buffer);
}

static void ring_put(asup__simnet *sn, uint8_t *buf)
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
	ring_put(sn, c->dir[0].buf);
	ring_put(sn, c->dir[1].buf);
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
static void dir_queue(asup__simnet *sn, struct simconn *c, int side, uint32_t len, int fin,
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
static asup_time stream_due(asup__simnet *sn, struct simconn *c, int side, int *rst)
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

	ev_cancel(sn, &d->ev);
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

/* Wakes every waiter of q; most queues are empty, so look first. */
static inline void wake_all(asup__list *q)
{
	if (!asup__list_empty(q))
		asup__waitq_wake_all(q);
}

static void sock_wake(struct simsock *s)
{
	if (!s)
		return;
	wake_all(&s->rq);
	wake_all(&s->wq);
}

/* The connection is reset: both ends see -ECONNRESET, nothing more moves. */
static void conn_reset(asup__simnet *sn, struct simconn *c)
{
	if (c->reset)
		return;
	c->reset = 1;
	dir_drop(sn, c, 0);
	dir_drop(sn, c, 1);
	ev_cancel(sn, &c->syn);
	ev_cancel(sn, &c->synack);
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
		d->rpos = (d->rpos + sg.len) % d->cap;
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
		wake_all(&to->rq);
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
	    (s = sock_alloc(sn, ASUP__SIM_STREAM)) != NULL && conn_buffers(sn, c) == 0) {
		s->local = l->local;
		if (is_wildcard(&s->local.host)) {
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
		wake_all(&l->rq);
		if (at != ASUP_TIME_MAX)
			asup__sim_push(sn, &c->synack, at);
		return;
	}
	if (s)
		sock_free(sn, s);
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
			wake_all(&c->end[0]->wq);
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
			wake_all(&c->end[0]->wq);
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
static void fire(void *ud, asup_time now)
{
	asup__simnet *sn = ud;
	asup__hnode *top;

	observe_faults(sn, now);
	while ((top = asup__heap_top(&sn->events)) != NULL && top->key <= now) {
		asup__heap_remove(&sn->events, top);
		on_event(sn, asup__container_of(top, struct simev, node));
	}
	resched(sn);
}

/* ---- closing -------------------------------------------------------------- */

/* The connecting side goes away before or while the handshake runs. */
static void abort_connect(asup__simnet *sn, struct simconn *c)
{
	const asup_simnet_faults *f;
	asup_time at;

	ev_cancel(sn, &c->syn);
	ev_cancel(sn, &c->synack);
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
		at = stream_due(sn, c, s->side, &rst);
		dir_queue(sn, c, s->side, 0, 2, at, 0);
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

static void sock_close(asup__simnet *sn, struct simsock *s, uint64_t task)
{
	if (!s->open)
		return;
	s->open = 0;
	asup__list_remove(&s->olink);
	sn->totals.sockets_open--;
	if (s->h)
		s->h->s = NULL;
	s->h = NULL;
	unbind(sn, s);
	asup__sim_emit(sn, task, ASUP__NET_CLOSE, s->id, s->conn ? s->conn->id : s->id, 0);
	if (s->kind == ASUP__SIM_LISTENER)
		listener_close(sn, s);
	else if (s->kind == ASUP__SIM_STREAM)
		stream_close(sn, s);
	else
		asup__sim_dgram_close(sn, s);
	sock_wake(s);
	asup__sim_unref(sn, s);
}

static uint64_t task_id(asup_cx *cx)
{
	return cx->kt->id;
}

int asup__sim_close(asup_cx *cx, asup_socket hd)
{
	asup__simnet *sn;
	struct simsock *s;
	int rc = asup__sim_sock_get(cx, hd, &sn, &s);

	if (rc < 0)
		return rc;
	sock_close(sn, s, task_id(cx));
	return 0;
}

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
	if ((rc = handle_reserve(cx, &h)) < 0)
		return rc;
	if (!(s = sock_alloc(sn, ASUP__SIM_LISTENER)))
		return -ENOMEM;
	if ((rc = asup__sim_bind(sn, s, &a)) < 0) {
		sock_free(sn, s);
		return rc;
	}
	backlog = opts && opts->backlog > 0 ? opts->backlog : 128;
	s->backlog = (uint32_t)backlog < sn->cfg.backlog_max ? (uint32_t)backlog
							       : sn->cfg.backlog_max;
	handle_bind(sn, h, s, out);
	asup__sim_emit(sn, task_id(cx), ASUP__NET_LISTEN, s->id, s->id, s->backlog);
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
	if ((rc = asup__cx_checkpoint(cx)) < 0 || (rc = handle_reserve(cx, &h)) < 0)
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
	handle_bind(sn, h, s, out);
	asup__sim_addr_out(&s->peer, peer, peer_len);
	asup__sim_emit(sn, task_id(cx), ASUP__NET_ACCEPT, s->id, c->id, 0);
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
	ev_init(&c->dir[0].ev, EV_SEG, 0);
	ev_init(&c->dir[1].ev, EV_SEG, 1);
	ev_init(&c->syn, EV_SYN, 0);
	ev_init(&c->synack, EV_SYNACK, 0);
	ev_init(&c->rst[0], EV_RST, 0);
	ev_init(&c->rst[1], EV_RST, 1);
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
	return pick_port(sn, a);
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
		sock_close(sn, s, task_id(cx));
		out->_p = NULL;
		return -ENOMEM;
	}
	asup__sim_emit(sn, task_id(cx), ASUP__NET_CONNECT, s->id, c->id, 0);
	at = stream_due(sn, c, 0, &rst);
	if (at != ASUP_TIME_MAX)
		asup__sim_push(sn, &c->syn, at);
	rc = connect_wait(cx, *out);
	if (rc < 0) {
		/* Nothing half-made is left open. */
		if (asup__sim_sock_again(cx, *out, &s) == 0)
			sock_close(sn, s, task_id(cx));
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

	for (int i = 0; i < niov && done < n; i++) {
		size_t off = 0, len = iov[i].iov_len;
		while (off < len && done < n) {
			uint32_t at = (uint32_t)((pos + done) % d->cap);
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
	uint32_t pos = (d->rpos + d->readable + d->flight) % d->cap, left = n, k;
	asup_time at;
	int rst;

	ring_copy(d, pos, iov, niov, n, 1);
	d->sent += n;
	sn->totals.bytes_sent += n;
	while (left) {
		k = left < sn->cfg.segment_size ? left : sn->cfg.segment_size;
		at = stream_due(sn, c, side, &rst);
		d->flight += k;
		dir_queue(sn, c, side, k, 0, at, rst);
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
	asup__sim_emit(sn, task_id(cx), ASUP__NET_SEND, s->id, s->conn->id, (int64_t)want);
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
	d->rpos = (uint32_t)((d->rpos + n) % d->cap);
	d->readable -= (uint32_t)n;
	/* Room came back: the writer on the other side may go on. */
	if (s->conn->end[1 - s->side])
		wake_all(&s->conn->end[1 - s->side]->wq);
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
		wake_all(&s->rq);
	}
	if (how != SHUT_RD && !c->dir[s->side].fin_queued) {
		c->dir[s->side].fin_queued = 1;
		at = stream_due(sn, c, s->side, &rst);
		dir_queue(sn, c, s->side, 0, 1, at, 0);
		wake_all(&s->wq);
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
	while ((n = asup__list_pop_front(&sn->open)) != NULL) {
		struct simsock *s = asup__container_of(n, struct simsock, olink);
		asup__io_report_leak(sn->k, s->region, "simulated socket", -1, "runtime destroyed");
		if (s->h)
			s->h->s = NULL;
	}
	while ((n = asup__list_pop_front(&sn->conns)) != NULL) {
		struct simconn *c = asup__container_of(n, struct simconn, all);
		ring_put(sn, c->dir[0].buf);
		ring_put(sn, c->dir[1].buf);
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

int asup__simnet_check(const asup__simnet *sn)
{
	const asup__hnode *top;
	const asup__list *n;

	if (!sn)
		return 0;
	if (asup__heap_check(&sn->events) || sn->events.len > sn->ev_slots)
		return -EINVAL;
	top = asup__heap_top(&sn->events);
	if (sn->tb->source_next != (top ? top->key : ASUP_TIME_MAX))
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
	    is_wildcard(host))
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
