/*
 * Planted network bug: a request/response client without a deadline hangs
 * under a partition.
 *
 * A client sends a few requests to a server over one TCP connection, one
 * at a time, each answered by the request's value plus one, with a pause
 * between requests. The network partitions the two hosts at a time drawn
 * from the seed, and the partition does not heal within the run. The
 * client waits for each reply with a bare read: when the partition falls
 * between a request and its reply, that read waits for bytes that will not
 * come, and so does everything waiting on the client. Whether the
 * partition falls inside the exchange depends on the seed.
 *
 * Found by: deadlock (every task blocked, nothing can wake one). Measured
 * (exploration from seed 1, one virtual worker; the network's draws come
 * from the seed too): seed 1 is the first failing seed; 78 of seeds 1-200
 * fail, those where the partition falls inside the exchange. Documented
 * bound: 10 seeds (net_faults.h).
 *
 * Twin: each exchange runs under a deadline (asup_timeout); on a timeout
 * the client reconnects and retries a few times, then gives up and says so
 * (the run ends, the client reports the requests it could not make).
 */
#include "net_kit.h"
#include "net_faults.h"

#include <inttypes.h>

#define REQUESTS 4
#define PAUSE_NS 20000000ull     /* between requests: 20 ms */
#define DEADLINE_NS 200000000ull /* the twin's per-exchange deadline: 200 ms */
#define TRIES 3                  /* the twin's attempts per request */

struct rr {
	asup_netkit_server srv;
	int fixed;
	int answered; /* requests answered */
	int gave_up;  /* requests the twin gave up on */
};

/* The server's side of a connection: answers value + 1 until the client
 * closes, then closes too. */
static int64_t answer(asup_cx *cx, asup_socket s, void *st)
{
	asup_netkit_msg m;
	int64_t n;

	(void)st;
	for (;;) {
		n = asup_netkit_read_full(cx, s, &m, sizeof m);
		if (n != (int64_t)sizeof m || !asup_netkit_msg_whole(&m))
			break;
		asup_netkit_msg_make(&m, m.id, m.value + 1);
		if ((n = asup_sock_write_all(cx, s, &m, sizeof m, NULL)) < 0)
			break;
	}
	(void)asup_sock_close(cx, s);
	return n < 0 && n != -ECONNRESET && n != -EPIPE ? n : 0;
}

/* One exchange on s: 1 answered, 0 the connection ended, < 0 an error. */
static int64_t exchange(asup_cx *cx, asup_socket s, uint32_t id)
{
	asup_netkit_msg m;
	int64_t n;

	asup_netkit_msg_make(&m, id, (int64_t)id * 10);
	if ((n = asup_sock_write_all(cx, s, &m, sizeof m, NULL)) < 0)
		return n;
	n = asup_netkit_read_full(cx, s, &m, sizeof m); /* the bug: no deadline */
	if (n < 0)
		return n;
	if (n != (int64_t)sizeof m)
		return 0;
	if (!asup_netkit_msg_whole(&m) || m.id != id || m.value != (int64_t)id * 10 + 1)
		asup_panic(cx, "reply %" PRIu32 " is not the answer to request %" PRIu32, m.id, id);
	return 1;
}

struct attempt {
	struct rr *rr;
	asup_socket s;
	int connected;
	uint32_t id;
};

/* Connects if needed and makes one exchange (the twin runs this under a
 * deadline). */
static int64_t attempt(asup_cx *cx, void *arg)
{
	struct attempt *a = arg;
	int rc;

	if (!a->connected) {
		rc = asup_tcp_connect(cx, (const struct sockaddr *)&a->rr->srv.addr,
				      sizeof a->rr->srv.addr, &a->s);
		if (rc < 0)
			return rc;
		a->connected = 1;
	}
	return exchange(cx, a->s, a->id);
}

static void drop(asup_cx *cx, struct attempt *a)
{
	if (a->connected)
		(void)asup_sock_close(cx, a->s);
	a->connected = 0;
}

/* The twin's request: up to TRIES attempts, each under a deadline, on a
 * fresh connection after a failure. 1 answered, 0 gave up, < 0 a cancel. */
static int64_t request_fixed(asup_cx *cx, struct attempt *a)
{
	int64_t rc = 0;

	for (int t = 0; t < TRIES; t++) {
		rc = asup_timeout(cx, DEADLINE_NS, attempt, a);
		if (rc == 1)
			return 1;
		drop(cx, a);
		if (rc == -ECANCELED)
			return rc;
	}
	return 0;
}

static int64_t client(asup_cx *cx, void *arg)
{
	struct attempt a = {.rr = arg};
	int64_t rc = 0;

	for (uint32_t id = 1; id <= REQUESTS; id++) {
		a.id = id;
		rc = a.rr->fixed ? request_fixed(cx, &a) : attempt(cx, &a);
		if (rc < 0)
			break;
		if (rc == 1)
			a.rr->answered++;
		else
			a.rr->gave_up++;
		if ((rc = asup_sleep(cx, PAUSE_NS)) < 0)
			break;
	}
	drop(cx, &a);
	return rc < 0 ? rc : 0;
}

static int64_t run(asup_cx *cx, int fixed)
{
	struct rr *rr;
	int64_t rc;

	if ((rc = asup_corpus_shared(cx, sizeof(*rr), &rr)) < 0)
		return rc;
	rr->fixed = fixed;
	asup_netkit_addr(&rr->srv.addr, ASUP_NETFAULTS_SERVER_HOST, 7000);
	rr->srv.conn = answer;
	if ((rc = asup_netkit_session(cx, &rr->srv, client, rr, 1)) < 0)
		return rc;
	if (rr->answered + rr->gave_up != REQUESTS)
		asup_panic(cx, "%d answered and %d given up of %d requests", rr->answered,
			   rr->gave_up, REQUESTS);
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

const asup_corpus_entry asup_corpus_net_no_deadline[2] = {
	{.sc = {"net_no_deadline", "a client without a deadline hangs when a partition cuts it off",
		buggy, NULL},
	 .buggy = 1,
	 .twin = "net_no_deadline_fixed",
	 .oracle = "deadlock",
	 .seeds = NET_NO_DEADLINE_SEEDS,
	 .net = asup_netfaults_partition},
	{.sc = {"net_no_deadline_fixed", "the same client with a deadline per exchange and a retry",
		fixed, NULL},
	 .twin = "net_no_deadline",
	 .net = asup_netfaults_partition},
};
