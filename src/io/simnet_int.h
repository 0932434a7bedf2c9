/*
 * The simulated network's own structures, shared by simnet.c (the network
 * object, handles, addresses, routes), simnet_stream.c (stream buffers,
 * segments, events, closing), simnet_tcp.c (the stream calls) and
 * simnet_dgram.c (datagrams). Not for other layers: they use simnet.h.
 *
 * Lifetimes: a socket (struct simsock) is owned by the network and
 * reference-counted: one reference while it is open (its handle record in
 * the region names it), one per datagram in flight from it, one while a
 * connection or a listener's accept queue holds it. A handle record
 * (struct simh) lives in the owning region's heap and outlives the socket;
 * its `s` is NULL once the socket is closed. A connection (struct simconn)
 * is freed when both ends have let go and none of its events is queued.
 */
#ifndef ASUP_IO_SIMNET_INT_H
#define ASUP_IO_SIMNET_INT_H

#define _GNU_SOURCE
#include <netinet/in.h>
#include <string.h>
#include <sys/un.h>

#include "../kernel/kernel.h"
#include "../time/time.h"
#include "../util/heap.h"
#include "../util/list.h"
#include "simnet.h"

#define SIM_SEGS 64          /* segment descriptors per stream direction */
#define SIM_BUCKETS 1024     /* address table buckets (chained) */
#define SIM_DGRAM_MAX 65507u /* largest datagram */
#define SIM_RHOSTS 64        /* regions with a host of their own */

enum sim_ev_kind { EV_SEG = 1, EV_SYN, EV_SYNACK, EV_RST, EV_DGRAM };

/* A queued network event, key = due time: in the network's FIFO (node.idx
 * == SIM_IN_FIFO, linked by `fl`) or a node of its heap (see
 * asup__sim_push). Either way asup__hnode_linked(&node) says it is queued. */
struct simev {
	asup__hnode node;
	uint8_t kind;  /* enum sim_ev_kind */
	uint8_t idx;   /* EV_SEG: the direction; EV_RST: the side it reaches */
	asup__list fl; /* in the FIFO */
};

#define SIM_IN_FIFO (ASUP__HEAP_NONE - 1)

/* A socket address as the network keys it. */
struct simaddr {
	struct sockaddr_storage ss;
	socklen_t len;            /* 0: unnamed */
	asup_simnet_host host;
};

struct simseg {
	uint32_t len;
	uint8_t fin, rst;         /* end of stream; a reset instead of data */
	asup_time at;             /* due time; ASUP_TIME_MAX: held for good */
};

/* One direction of a stream: bytes from end[i] to end[1 - i]. The ring
 * holds [rpos, rpos + readable) delivered and unread, then `flight` bytes
 * sent and not yet delivered. What every read, write and delivery looks at
 * comes first and the segment ring last, so that those fields share two
 * cache lines instead of sitting on both sides of 1.5 KiB of segments. */
struct simdir {
	struct simev ev;          /* delivery of the head segment, if due */
	uint8_t *buf;
	uint32_t cap, rpos, readable, flight;
	uint32_t shead, scount;
	asup_time last_at;        /* due time of the newest segment */
	uint8_t fin_queued, eof, closed_by_peer;
	uint64_t sent, delivered, dropped; /* bytes */
	struct simseg seg[SIM_SEGS];
};

struct simsock;

struct simconn {
	uint64_t id;              /* the connecting socket's id */
	struct simsock *end[2];   /* 0 connecting side, 1 accepting side */
	const asup_simnet_faults *faults;
	uint8_t reset;            /* read by every call: beside end[] */
	struct simdir dir[2];
	struct simev syn, synack, rst[2];
	struct simaddr src, dst;  /* the connecting socket's address, and
	                             where the connect went */
	asup__list qlink;         /* in a listener's accept queue */
	asup__list all;           /* the network's list of connections */
};

struct simmsg {
	struct simev ev;
	struct simmsg *next;      /* socket queue or free list */
	asup__list all;           /* the network's list of live messages */
	struct simsock *from_sock;
	struct simaddr from, to;
	uint32_t len, cap;
	uint8_t data[];
};

struct simh;

struct simsock {
	uint64_t id;
	uint64_t region;          /* owning region (0 until accepted) */
	uint32_t refs;
	uint8_t kind;             /* enum asup__simnet_kind */
	uint8_t open;             /* not closed yet */
	uint8_t connecting, refused, established, shut_rd, bound, has_peer;
	struct simh *h;           /* its handle record while open */
	/* streams (before the addresses: every read and write looks here) */
	struct simconn *conn;
	uint8_t side;
	asup__list rq, wq;        /* tasks waiting to read/accept, to write/connect */
	struct simaddr local, peer;
	asup_simnet_host src;     /* datagrams from a wildcard-bound socket:
	                             the host they come from */
	struct simsock *bnext;    /* address table chain */
	asup__list olink;         /* the network's list of open sockets */
	asup__list all;           /* the network's list of every socket */
	/* listeners */
	asup__list accq;          /* connections not yet accepted */
	uint32_t nacc, backlog;
	/* datagram sockets */
	struct simmsg *qhead, *qtail;
	uint32_t qlen;
	uint64_t dg_sent, dg_delivered, dg_dropped;
};

/* The region's record of a socket. */
struct simh {
	uint32_t magic;
	uint64_t region;
	struct simsock *s;        /* NULL once closed */
	asup__kernel *k;
	struct asup__simnet *sn;
};

struct asup__simnet {
	asup_simnet_config cfg;
	asup__alloc alloc;
	asup__sched *sched;
	asup__timebase *tb;
	asup__kernel *k;
	asup__rng rng;
	/* The event queue, ordered by (due time, seq): events pushed in due
	 * order (all of them under a fixed latency) go to the FIFO, the others
	 * to the heap; the next event is the smaller of the two heads. */
	asup__heap events;
	asup__list fifo;
	uint32_t nfifo;
	uint64_t seq, next_id;
	uint16_t next_port[3];    /* per family: AF_INET, AF_INET6, AF_UNIX */
	struct simsock *buckets[SIM_BUCKETS];
	asup__list open;          /* open sockets, in opening order */
	asup__list socks, conns, msgs; /* everything allocated, for destroy */
	uint32_t ev_slots;        /* event objects that may be queued at once */
	asup__simnet_window parts[ASUP_SIMNET_MAX_PARTITIONS];
	asup_time stops[ASUP_SIMNET_MAX_STOPS];
	uint8_t part_seen[ASUP_SIMNET_MAX_PARTITIONS]; /* 0 before, 1 on, 2 healed */
	uint8_t stop_seen[ASUP_SIMNET_MAX_STOPS];
	uint8_t **free_bufs;      /* rings of cfg.stream_buffer bytes, for reuse */
	uint32_t nfree_bufs, capfree_bufs;
	struct simmsg *free_msgs; /* small datagram buffers for reuse */
	struct {
		uint64_t region;
		asup_simnet_host host;
	} rhost[SIM_RHOSTS];      /* asup_simnet_set_host: regions' own hosts */
	uint32_t nrhost;
	asup__simnet_hook *hook;
	void *hook_ud;
	asup__simnet_totals totals;
};

/* A ring position x (x < 2 * cap) brought back into [0, cap): the sums
 * that move a stream's positions never reach twice the ring's size, and a
 * compare costs less than the division of x % cap on every read and write. */
static inline uint32_t asup__sim_wrap(uint64_t x, uint32_t cap)
{
	return (uint32_t)(x >= cap ? x - cap : x);
}

/* simnet.c, for io_rt.c */
int asup__simnet_create(asup__simnet **out, const asup_simnet_config *cfg, const asup__alloc *a,
			asup__sched *s, asup__timebase *tb, asup__kernel *k, uint64_t seed);
/* io_rt.c: checks (-ASUP_ENOTASK, -EPERM) and gets cx's network, made at
 * the first call. */
int asup__sim_get(asup_cx *cx, asup__simnet **out);

/* simnet.c, for simnet_dgram.c, simnet_stream.c and simnet_tcp.c */
int asup__sim_ev_room(asup__simnet *sn, int32_t more);
asup_time asup__sim_now(asup__simnet *sn);
void asup__sim_emit(asup__simnet *sn, uint64_t task, uint32_t kind, uint64_t sock, uint64_t conn,
		    int64_t value);
void asup__sim_push(asup__simnet *sn, struct simev *ev, asup_time at);
int asup__sim_sock_get(asup_cx *cx, asup_socket h, asup__simnet **sn, struct simsock **out);
int asup__sim_sock_again(asup_cx *cx, asup_socket h, struct simsock **out);
int asup__sim_sock_new(asup_cx *cx, asup__simnet *sn, int kind, const struct simaddr *local,
		       asup_socket *out, struct simsock **sp);
struct simsock *asup__sim_lookup(asup__simnet *sn, const struct simaddr *a);
int asup__sim_bind(asup__simnet *sn, struct simsock *s, const struct simaddr *a);
int asup__sim_addr(const struct sockaddr *sa, socklen_t len, struct simaddr *out);
void asup__sim_addr_out(const struct simaddr *a, struct sockaddr *sa, socklen_t *len);
void asup__sim_unref(asup__simnet *sn, struct simsock *s);
int asup__sim_wait(asup_cx *cx, asup__list *q);
/* The host sockets opened by cx speak from (asup_simnet_set_host), or
 * NULL: the loopback address of the family. */
const asup_simnet_host *asup__sim_src_host(asup__simnet *sn, asup_cx *cx, int family);
asup_time asup__sim_route(asup__simnet *sn, const asup_simnet_host *from,
			  const asup_simnet_host *to, const asup_simnet_faults **f);
/* simnet.c, for simnet_stream.c and simnet_tcp.c: the event queue,
 * sockets, handles, ports and the fault trace. */
void asup__sim_resched(asup__simnet *sn);
/* The next event due (the smaller of the FIFO's and the heap's heads), or
 * NULL; asup__sim_ev_take unqueues it. */
struct simev *asup__sim_ev_next(const asup__simnet *sn);
void asup__sim_ev_take(asup__simnet *sn, struct simev *ev);
void asup__sim_ev_cancel(asup__simnet *sn, struct simev *ev);
struct simsock *asup__sim_sock_alloc(asup__simnet *sn, int kind);
void asup__sim_sock_free(asup__simnet *sn, struct simsock *s);
/* A handle record in the current scope's region, not yet naming a socket
 * (asup__sim_handle_bind does that). */
int asup__sim_handle_reserve(asup_cx *cx, struct simh **out);
/* Makes s open under handle h. */
void asup__sim_handle_bind(asup__simnet *sn, struct simh *h, struct simsock *s, asup_socket *out);
/* A deterministic free port for a (the next one from 49152 up). */
int asup__sim_pick_port(asup__simnet *sn, struct simaddr *a);
void asup__sim_unbind(asup__simnet *sn, struct simsock *s);
void asup__sim_observe_faults(asup__simnet *sn, asup_time now);

/* simnet_stream.c, for simnet.c and simnet_tcp.c: rings, segments, the
 * timebase's event source and closing. */
void asup__sim_ring_put(asup__simnet *sn, uint8_t *buf);
/* Queues a segment of len bytes (already in the ring) or a FIN. */
void asup__sim_dir_queue(asup__simnet *sn, struct simconn *c, int side, uint32_t len, int fin,
			 asup_time at, int rst);
/* The due time of a stream packet from end `side` of c, with its stall. */
asup_time asup__sim_stream_due(asup__simnet *sn, struct simconn *c, int side, int *rst);
/* The timebase's event source: delivers every packet due by now. */
void asup__sim_fire(void *ud, asup_time now);
/* leaked: its region closed with it open (the CLOSE event says so). */
void asup__sim_sock_close(asup__simnet *sn, struct simsock *s, uint64_t task, int leaked);

/* Small helpers every simnet file may use. */
static inline void asup__sim_ev_init(struct simev *ev, uint8_t kind, uint8_t idx)
{
	asup__hnode_init(&ev->node);
	ev->kind = kind;
	ev->idx = idx;
}

/* The all-zero address of an IP family (a socket bound to every host). */
static inline int asup__sim_is_wildcard(const asup_simnet_host *h)
{
	static const uint8_t zero[16];
	return h->family != AF_UNIX && memcmp(h->addr, zero, 16) == 0;
}

/* Wakes every waiter of q; most queues are empty, so look first. */
static inline void asup__sim_wake_all(asup__list *q)
{
	if (!asup__list_empty(q))
		asup__waitq_wake_all(q);
}

static inline uint64_t asup__sim_task_id(asup_cx *cx)
{
	return cx->kt->id;
}

/* simnet_dgram.c */
int64_t asup__sim_dgram_send(asup_cx *cx, asup_socket hd, const struct iovec *iov, int niov,
			     const struct sockaddr *to, socklen_t tolen);
int64_t asup__sim_dgram_recv(asup_cx *cx, asup_socket hd, const struct iovec *iov, int niov,
			     struct sockaddr *from, socklen_t *fromlen);
void asup__sim_dgram_arrive(asup__simnet *sn, struct simmsg *m);
void asup__sim_dgram_close(asup__simnet *sn, struct simsock *s);
void asup__sim_msgs_free(asup__simnet *sn);

#endif
