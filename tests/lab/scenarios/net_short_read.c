/*
 * Planted network bug: a read loop treats a short read as a whole message.
 *
 * A server streams a few fixed-size messages to a client over TCP. The
 * client takes each message with one read of the message's size, assuming
 * that what one write sent arrives in one piece. A stream has no message
 * boundaries: the network delivers a write in segments at times drawn from
 * the seed (latency per segment, small receive windows), and a read returns
 * what has arrived. When a read returns part of a message, the client
 * parses a torn message; the root checks every message the client took and
 * panics on a torn one.
 *
 * Found by: root (the check panics). Measured (exploration from seed 1, one
 * virtual worker; the network's draws come from the seed too): seed 1 is
 * the first failing seed; 84 of seeds 1-200 fail. Documented bound: 10 seeds
 * (net_faults.h).
 *
 * Twin: the client reads until the message's length is complete (framing).
 */
#include "net_kit.h"
#include "net_faults.h"

#include <inttypes.h>
#include <string.h>

#define MESSAGES 6

struct feed {
	asup_netkit_server srv;
	int fixed;
	int taken;   /* messages the client took */
	int torn;    /* of which were not whole */
	int64_t short_len; /* the first torn one's length */
};

/* The server's side: MESSAGES messages, then close. */
static int64_t stream(asup_cx *cx, asup_socket s, void *st)
{
	asup_netkit_msg m;
	int64_t rc = 0;

	(void)st;
	for (uint32_t id = 1; id <= MESSAGES && rc >= 0; id++) {
		asup_netkit_msg_make(&m, id, id);
		rc = asup_sock_write_all(cx, s, &m, sizeof m, NULL);
	}
	(void)asup_sock_close(cx, s);
	return rc < 0 && rc != -ECONNRESET && rc != -EPIPE ? rc : 0;
}

/* One message: the bug takes one read's worth as the message. */
static int64_t take(asup_cx *cx, struct feed *f, asup_socket s, asup_netkit_msg *m)
{
	if (f->fixed)
		return asup_netkit_read_full(cx, s, m, sizeof *m);
	return asup_sock_read(cx, s, m, sizeof *m);
}

static int64_t client(asup_cx *cx, void *arg)
{
	struct feed *f = arg;
	asup_netkit_msg m;
	asup_socket s;
	int64_t n;

	n = asup_tcp_connect(cx, (const struct sockaddr *)&f->srv.addr, sizeof f->srv.addr, &s);
	if (n < 0)
		return n;
	for (;;) {
		memset(&m, 0, sizeof m);
		if ((n = take(cx, f, s, &m)) <= 0)
			break; /* the end of the stream, or an error */
		f->taken++;
		if (n != (int64_t)sizeof m || !asup_netkit_msg_whole(&m)) {
			if (!f->torn++)
				f->short_len = n;
		}
	}
	(void)asup_sock_close(cx, s);
	return n < 0 ? n : 0;
}

static int64_t run(asup_cx *cx, int fixed)
{
	struct feed *f;
	int64_t rc;

	if ((rc = asup_corpus_shared(cx, sizeof(*f), &f)) < 0)
		return rc;
	f->fixed = fixed;
	asup_netkit_addr(&f->srv.addr, ASUP_NETFAULTS_SERVER_HOST, 7003);
	f->srv.conn = stream;
	f->srv.st = f;
	if ((rc = asup_netkit_session(cx, &f->srv, client, f, 1)) < 0)
		return rc;
	if (f->torn)
		asup_panic(cx, "%d of %d messages torn; the first was %" PRId64 " of %zu bytes",
			   f->torn, f->taken, f->short_len, sizeof(asup_netkit_msg));
	if (f->taken != MESSAGES)
		asup_panic(cx, "%d of %d messages arrived", f->taken, MESSAGES);
	return 0;
}

static int64_t buggy(asup_cx *cx, void *arg)
{
	(void)arg;
	return run(cx, 0);
}

static int64_t fixed(asup_cx *cx, void *arg)
{
	(void)arg;
	return run(cx, 1);
}

const asup_corpus_entry asup_corpus_net_short_read[2] = {
	{.sc = {"net_short_read", "a client takes one read as one message and parses torn ones",
		buggy, NULL},
	 .buggy = 1,
	 .twin = "net_short_read_fixed",
	 .oracle = "root",
	 .seeds = NET_SHORT_READ_SEEDS,
	 .net = asup_netfaults_segments},
	{.sc = {"net_short_read_fixed", "the same client reading until each message is whole", fixed,
		NULL},
	 .twin = "net_short_read",
	 .net = asup_netfaults_segments},
};
