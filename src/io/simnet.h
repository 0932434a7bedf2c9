/*
 * The simulated network of a deterministic runtime (internal; the public
 * side is asupersync/simnet.h, the socket calls asupersync/net.h).
 *
 * Owns: one asup__simnet per deterministic runtime, created at its first
 * socket call (asup__simnet_get) and freed with the runtime: the address
 * table, the connections and their per-direction buffers, the queue of
 * packets in flight (an indexed heap keyed by due time), the network's
 * random stream and its fault schedule. Socket records live in the region
 * that opened them, as real sockets do. Must not touch: the reactor, real
 * fds, the scheduler's random stream.
 *
 * Time: the simnet is an event source of the timebase (time.h): the
 * earliest due packet counts as a timer, so every driver (asup_rt_run,
 * asup_rt_step, the lab) jumps virtual time to it when nothing is ready and
 * delivers it at the same timer check that fires task timers due then.
 *
 * Query surface for oracles and tools (all O(1) per item, none allocates):
 *
 *   asup__simnet_of(rt)       the runtime's network, or NULL if no socket
 *                             call made one (a lab: asup_lab_rt(lab)).
 *   asup__simnet_walk(sn, fn, ud)
 *                             calls fn once per open simulated socket, in
 *                             opening order, with an asup__simnet_sock_info:
 *                             its id, owning region, kind, state, local and
 *                             peer address, its connection's id (streams)
 *                             and the counters of what it sent: bytes (or
 *                             datagrams) sent, delivered to the peer's
 *                             buffer, and dropped (a drop is always traced
 *                             and counted: loss, reset, a stopped host, a
 *                             full datagram queue, a peer gone). For every
 *                             socket, sent = delivered + dropped + in
 *                             flight; in_flight says how much is still due.
 *                             fn returns nonzero to stop the walk.
 *   asup__simnet_set_hook(sn, fn, ud)
 *                             fn(ud, ev) after every network event (the
 *                             same events the trace gets, ASUP_EV_NET, with
 *                             the socket ids and counts spelled out); NULL
 *                             removes it. The hook must not call into the
 *                             network.
 *   asup__simnet_totals(sn, out)
 *                             the network's totals (sockets opened and open,
 *                             bytes and datagrams sent/delivered/dropped,
 *                             events handled).
 *
 * Trace events: ASUP_EV_NET with a = kind | conn id << 8 (enum
 * asup__net_ev; conn id is the socket id of the connecting side for streams,
 * the sending socket for datagrams) and b = a count or a -errno.
 */
#ifndef ASUP_IO_SIMNET_H
#define ASUP_IO_SIMNET_H

#include <stdint.h>
#include <sys/socket.h>

#include "asupersync/net.h"
#include "asupersync/rt.h"
#include "asupersync/simnet.h"
#include "../util/rng.h"

/* One year in ns: no single delay of the config may exceed it. */
#define ASUP_SIMNET_DELAY_MAX 31536000000000000ull

typedef struct asup__simnet asup__simnet;

/* Network events (ASUP_EV_NET's kind byte, and the hook's kind). */
enum asup__net_ev {
	ASUP__NET_LISTEN = 1,   /* b: backlog */
	ASUP__NET_BIND,         /* datagram socket bound */
	ASUP__NET_CONNECT,      /* SYN sent */
	ASUP__NET_ACCEPT,       /* the listener took the connection */
	ASUP__NET_ESTABLISHED,  /* the connecting side learnt it */
	ASUP__NET_REFUSED,      /* b: -ECONNREFUSED */
	ASUP__NET_SEND,         /* b: bytes handed to the network */
	ASUP__NET_DELIVER,      /* b: bytes arrived in the peer's buffer */
	ASUP__NET_DROP,         /* b: bytes dropped */
	ASUP__NET_DUP,          /* a datagram duplicated */
	ASUP__NET_FIN,          /* end of stream arrived */
	ASUP__NET_RESET,        /* b: -ECONNRESET */
	ASUP__NET_CLOSE,        /* a socket closed; b: 1 if its region closed it
	                           (it was left open), else 0 */
	ASUP__NET_PARTITION,    /* b: 1 start, 0 heal; conn id = partition index */
	ASUP__NET_STOP,         /* a host stopped; conn id = stop index */
};

enum asup__simnet_kind {
	ASUP__SIM_LISTENER = 1,
	ASUP__SIM_STREAM = 2,
	ASUP__SIM_DGRAM = 3,
};

typedef struct asup__simnet_sock_info {
	uint64_t id;          /* the socket's id (1, 2, ... in opening order) */
	uint64_t region;      /* its owning region */
	int kind;             /* enum asup__simnet_kind */
	int state;            /* 0 open, 1 connecting, 2 peer finished, 3 reset */
	uint64_t conn;        /* streams: the connection's id, else 0 */
	struct sockaddr_storage local, peer; /* peer zeroed when none */
	uint64_t sent, delivered, dropped, in_flight; /* bytes (streams) or
	                                                 datagrams */
} asup__simnet_sock_info;

typedef struct asup__simnet_event {
	uint32_t kind;        /* enum asup__net_ev */
	uint64_t sock;        /* the socket it concerns (0: none) */
	uint64_t conn;        /* its connection / partition / stop index */
	int64_t value;        /* bytes, a count or a -errno */
	asup_time time;
} asup__simnet_event;

typedef struct asup__simnet_totals {
	uint64_t sockets_opened, sockets_open;
	uint64_t bytes_sent, bytes_delivered, bytes_dropped;
	uint64_t dgrams_sent, dgrams_delivered, dgrams_dropped;
	uint64_t events;
} asup__simnet_totals;

typedef void asup__simnet_hook(void *ud, const asup__simnet_event *ev);

asup__simnet *asup__simnet_of(asup_rt *rt);
/* The network's invariants (asup__rt_check runs it): the event queue (FIFO
 * and heap) well formed and its earliest time the timebase's, every
 * direction's segments adding up to its bytes in flight within its buffer,
 * every open socket named by its handle. 0, or -EINVAL. */
int asup__simnet_check(const asup__simnet *sn);
int asup__simnet_walk(asup__simnet *sn, int (*fn)(void *ud, const asup__simnet_sock_info *info),
		      void *ud);
void asup__simnet_set_hook(asup__simnet *sn, asup__simnet_hook *fn, void *ud);
void asup__simnet_totals_get(const asup__simnet *sn, asup__simnet_totals *out);

/* ---- the seam with the runtime (io_rt.c) ---- */

/* 1 if cx's runtime is deterministic (its socket calls go to the network),
 * 0 if not or if cx is not a task's (the caller's own checks then answer). */
int asup__io_is_sim(asup_cx *cx);
/* Frees the network; sockets still open are reported as closed by the
 * runtime's destruction. */
void asup__simnet_destroy(asup__simnet *sn);

/* ---- the socket calls in deterministic mode (net.c dispatches) ---- */

int asup__sim_listen(asup_cx *cx, const struct sockaddr *addr, socklen_t len,
		     const asup_listen_opts *opts, asup_socket *out);
int asup__sim_accept(asup_cx *cx, asup_socket ls, asup_socket *out, struct sockaddr *peer,
		     socklen_t *peer_len);
int asup__sim_connect(asup_cx *cx, const struct sockaddr *addr, socklen_t len,
		      asup_socket *out);
int64_t asup__sim_read(asup_cx *cx, asup_socket s, const struct iovec *iov, int n);
int64_t asup__sim_write(asup_cx *cx, asup_socket s, const struct iovec *iov, int n);
int asup__sim_shutdown(asup_cx *cx, asup_socket s, int how);
int asup__sim_close(asup_cx *cx, asup_socket s);
int asup__sim_local_addr(asup_cx *cx, asup_socket s, struct sockaddr *addr, socklen_t *len);
int asup__sim_dgram_bind(asup_cx *cx, const struct sockaddr *addr, socklen_t len, int family,
			 asup_socket *out);
int asup__sim_connect_peer(asup_cx *cx, asup_socket s, const struct sockaddr *addr,
			   socklen_t len);
int64_t asup__sim_sendto(asup_cx *cx, asup_socket s, const void *buf, size_t len,
			 const struct sockaddr *addr, socklen_t addr_len);
int64_t asup__sim_recvfrom(asup_cx *cx, asup_socket s, void *buf, size_t len,
			   struct sockaddr *addr, socklen_t *addr_len);

/* asup_resolve in deterministic mode (simnet_name.c): numeric hosts and
 * services and "localhost" only. */
struct addrinfo;
int asup__sim_resolve(asup_cx *cx, const char *host, const char *service,
		      const struct addrinfo *hints, struct addrinfo **out);

/* ---- faults (simnet_fault.c) ---- */

typedef struct asup__simnet_window {
	asup_time start, end; /* end ASUP_TIME_MAX: never heals */
} asup__simnet_window;

int asup__simnet_chance(asup__rng *r, double p);
uint64_t asup__simnet_latency(asup__rng *r, const asup_simnet_faults *f);
int asup__simnet_host_eq(const asup_simnet_host *a, const asup_simnet_host *b);
/* Draws the run's partition windows and stop times, once. */
void asup__simnet_schedule_faults(const asup_simnet_config *c, asup__rng *r,
				  asup__simnet_window *parts, asup_time *stops);
/* The heal time of the latest partition separating a and b at now (0: none). */
asup_time asup__simnet_blocked_until(const asup_simnet_config *c, const asup__simnet_window *parts,
				     const asup_simnet_host *a, const asup_simnet_host *b,
				     asup_time now);
int asup__simnet_stopped(const asup_simnet_config *c, const asup_time *stops,
			 const asup_simnet_host *h, asup_time now);
const asup_simnet_faults *asup__simnet_link_faults(const asup_simnet_config *c,
						   const asup_simnet_host *a,
						   const asup_simnet_host *b);

#endif
