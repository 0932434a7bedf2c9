/*
 * The network scenarios' common parts (net_*.c): addresses on the simulated
 * network, whole-message reads and writes, a server skeleton with a task
 * per connection, and the fixed-size message every scenario speaks.
 *
 * Everything here uses the public socket API (asupersync/net.h) only, so the
 * same code runs over real sockets in real mode and over the simulated
 * network in the lab. A server runs its accept loop inside a region of its
 * own: stopping the server task cancels that region, whose close waits for
 * every connection task and closes what they left open (and the lab's
 * socket_leak oracle names each socket left that way).
 */
#ifndef ASUP_LAB_NET_KIT_H
#define ASUP_LAB_NET_KIT_H

#include "corpus.h"

#include <netinet/in.h>

/* One message: a request or its reply. */
typedef struct asup_netkit_msg {
	uint32_t magic; /* ASUP_NETKIT_MAGIC: a torn message shows here */
	uint32_t id;    /* the request's id (echoed in the reply) */
	int64_t value;  /* the request's argument, the reply's result */
	uint8_t pad[48];/* body bytes, each (id + i) & 0xff: a whole message checks */
} asup_netkit_msg;

#define ASUP_NETKIT_MAGIC 0x6e65746bu

/* 10.0.0.host:port. */
void asup_netkit_addr(struct sockaddr_in *sa, unsigned host, unsigned port);
/* A message with id and value and its body filled in. */
void asup_netkit_msg_make(asup_netkit_msg *m, uint32_t id, int64_t value);
/* 1 if m is a whole, well-formed message. */
int asup_netkit_msg_whole(const asup_netkit_msg *m);

/* Reads exactly len bytes: len, a smaller count at end of stream, or the
 * read's error. */
int64_t asup_netkit_read_full(asup_cx *cx, asup_socket s, void *buf, size_t len);

/*
 * A connection task's function: serves one accepted connection `s` (which
 * it owns: closing it is its job) with the server's state `st`.
 */
typedef int64_t (*asup_netkit_conn_fn)(asup_cx *cx, asup_socket s, void *st);

typedef struct asup_netkit_server {
	struct sockaddr_in addr;   /* where it listens */
	asup_netkit_conn_fn conn;  /* one task per accepted connection */
	void *st;                  /* handed to each connection task */
	int listening;             /* 1 once the listener is open, -1 if it failed */
	uint32_t accepted;         /* connections accepted so far */
	int cancelled;             /* a task of the server ended under a cancel */
} asup_netkit_server;

/* The server task: listens on srv->addr and accepts until it is cancelled;
 * returns the listen error if it cannot listen. srv lives in the region
 * heap. */
int64_t asup_netkit_serve(asup_cx *cx, void *srv);

/*
 * A whole session, for a scenario's root: starts the server, waits until it
 * listens, runs nclients (1 .. 8) tasks client(cx, arg), waits for them,
 * then stops the server (whose region's close waits for its connection
 * tasks). 0 when every client ended Ok and nothing was cancelled: the
 * scenario's own checks may judge the run. -ECANCELED when a cancel (an
 * injected or chaos one, or the root's own) stopped a client or a server
 * task before the end: the run proves nothing and ends cancelled, which is
 * a clean end. -1 when a client ended otherwise (its error). Another
 * error: the session could not start.
 */
int64_t asup_netkit_session(asup_cx *cx, asup_netkit_server *srv, asup_task_fn client, void *arg,
			    int nclients);

#endif
