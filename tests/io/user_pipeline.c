/*
 * A program a user would write from the headers and the README alone: a
 * foreign thread feeds numbers into a cross-thread channel, a feeder task
 * moves them onto a work channel, worker tasks square them onto a result
 * channel, a sender task writes each result as a text line to a TCP
 * connection, and a client task (standing in for the remote reader) sums
 * the lines. Everything runs under asup_rt_run_main with a deadline for the
 * whole job; a SIGTERM in the middle shuts it down gracefully: every task
 * sees the cancel, the application joins what it started, the region closes
 * the cross-thread channel and the blocked foreign sender is told so.
 */
#include "iotest.h"

#include <asupersync/post.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

#define WORKERS 4
#define END UINT64_MAX /* the foreign side cannot close an xchan: a sentinel */

struct app {
	uint64_t n;             /* values the producer offers */
	uint64_t raise_after;   /* SIGTERM after this many sends; 0: never */
	asup_xchan *in;
	pthread_t producer;
	atomic_int producer_rc;
	atomic_uint_fast64_t sent;
	asup_chan *work, *results;
	asup_socket ls;
	struct sockaddr_in addr;
	/* written by tasks on the runtime thread */
	uint64_t lines, bad_lines, max_seen;
	unsigned __int128 sum;
	int64_t client_rc, sender_rc;
	int shut_down;
	asup_cancel_reason why;
};

static void *produce(void *arg)
{
	struct app *a = arg;
	int rc = 0;

	for (uint64_t i = 1; i <= a->n && rc == 0; i++) {
		rc = asup_xchan_send(a->in, i);
		if (rc == 0)
			atomic_fetch_add(&a->sent, 1);
		if (rc == 0 && i == a->raise_after)
			CHECK_EQ(kill(getpid(), SIGTERM), 0);
	}
	if (rc == 0)
		rc = asup_xchan_send(a->in, END);
	atomic_store(&a->producer_rc, rc);
	asup_xchan_release(a->in);
	return NULL;
}

static int64_t feeder(asup_cx *cx, void *arg)
{
	struct app *a = arg;
	uint64_t v;
	int rc;

	while ((rc = asup_xchan_recv(cx, a->in, &v)) == 0 && v != END)
		if ((rc = asup_chan_send(cx, a->work, &v)) < 0)
			break;
	/* No more work either way: the workers drain what is queued. */
	asup_chan_close(a->work);
	return rc < 0 ? rc : 0;
}

static int64_t worker(asup_cx *cx, void *arg)
{
	struct app *a = arg;
	uint64_t v, sq;
	int rc;

	while ((rc = asup_chan_recv(cx, a->work, &v)) == 0) {
		sq = v * v;
		if ((rc = asup_chan_send(cx, a->results, &sq)) < 0)
			return rc;
	}
	return rc == -EPIPE ? 0 : rc;
}

static int64_t sender(asup_cx *cx, void *arg)
{
	struct app *a = arg;
	asup_socket c;
	char line[32];
	uint64_t sq;
	int rc, len;

	rc = asup_sock_accept(cx, a->ls, &c, NULL, NULL);
	if (rc < 0)
		return a->sender_rc = rc;
	while ((rc = asup_chan_recv(cx, a->results, &sq)) == 0) {
		len = snprintf(line, sizeof(line), "%" PRIu64 "\n", sq);
		if ((rc = asup_sock_write_all(cx, c, line, (size_t)len, NULL)) < 0)
			break;
	}
	if (rc == -EPIPE) /* every worker is done: end of the stream */
		rc = asup_sock_shutdown(cx, c, SHUT_WR);
	asup_sock_close(cx, c);
	return a->sender_rc = rc;
}

struct conn {
	struct app *a;
	asup_socket s;
};

static int64_t connect_conn(asup_cx *cx, void *arg)
{
	struct conn *c = arg;
	return asup_tcp_connect(cx, (struct sockaddr *)&c->a->addr, sizeof(c->a->addr), &c->s);
}

/* Parses complete lines of buf[0..*len), keeps the partial tail. */
static void take_lines(struct app *a, char *buf, size_t *len)
{
	size_t start = 0;

	for (size_t i = 0; i < *len; i++) {
		if (buf[i] != '\n')
			continue;
		buf[i] = '\0';
		uint64_t sq = strtoull(buf + start, NULL, 10);
		uint64_t r = 0;
		while ((r + 1) * (r + 1) <= sq)
			r++;
		if (r * r != sq || r == 0)
			a->bad_lines++;
		if (r > a->max_seen)
			a->max_seen = r;
		a->sum += sq;
		a->lines++;
		start = i + 1;
	}
	memmove(buf, buf + start, *len - start);
	*len -= start;
}

static int64_t client(asup_cx *cx, void *arg)
{
	struct conn c = {arg, {0, NULL}};
	struct app *a = arg;
	char buf[4096];
	size_t len = 0;
	int64_t n;
	int64_t rc = asup_timeout(cx, ASUP_SEC(5), connect_conn, &c);

	if (rc < 0)
		return a->client_rc = rc;
	while ((n = asup_sock_read(cx, c.s, buf + len, sizeof(buf) - len)) > 0) {
		len += (size_t)n;
		take_lines(a, buf, &len);
	}
	asup_sock_close(cx, c.s);
	return a->client_rc = (n == 0 && len == 0) ? 0 : n;
}

/* After a shutdown the application still joins what it started: masked,
 * so the joins wait while the cancelled tasks run their cleanup. */
struct joins {
	asup_task *h;
	int n;
	int joined; /* h[0 .. joined) are joined */
};

static int64_t join_rest(asup_cx *cx, void *arg)
{
	struct joins *j = arg;

	for (; j->joined < j->n; j->joined++)
		CHECK_EQ(asup_join(cx, &j->h[j->joined], NULL), 0);
	return 0;
}

static int64_t pipeline(asup_cx *cx, void *arg)
{
	struct app *a = arg;
	asup_task h[WORKERS + 3];
	struct joins j = {h, 0, 0};
	int64_t rc = 0;

	for (int i = 0; i < WORKERS; i++)
		CHECK_EQ(asup_spawn(cx, worker, a, NULL, &h[j.n++]), 0);
	CHECK_EQ(asup_spawn(cx, sender, a, NULL, &h[j.n++]), 0);
	CHECK_EQ(asup_spawn(cx, client, a, NULL, &h[j.n++]), 0);
	CHECK_EQ(asup_spawn(cx, feeder, a, NULL, &h[j.n++]), 0);
	CHECK_EQ(pthread_create(&a->producer, NULL, produce, a), 0);
	/* The workers first: when they are done, so are the results. */
	for (; j.joined < WORKERS && rc == 0; j.joined += rc == 0)
		rc = asup_join(cx, &h[j.joined], NULL);
	if (rc == 0)
		asup_chan_close(a->results);
	for (; j.joined < j.n && rc == 0; j.joined += rc == 0)
		rc = asup_join(cx, &h[j.joined], NULL);
	if (rc < 0)
		CHECK_EQ(asup_cx_masked(cx, join_rest, &j), 0);
	return rc;
}

static int64_t app_main(asup_cx *cx, void *arg)
{
	struct app *a = arg;
	socklen_t len = sizeof(a->addr);
	int64_t rc;

	a->addr = io_lo4(0);
	CHECK_EQ(asup_tcp_listen(cx, (struct sockaddr *)&a->addr, sizeof(a->addr), NULL, &a->ls), 0);
	CHECK_EQ(asup_sock_local_addr(cx, a->ls, (struct sockaddr *)&a->addr, &len), 0);
	CHECK_EQ(asup_xchan_open(cx, 64, &a->in), 0);
	CHECK_EQ(asup_chan_open(cx, sizeof(uint64_t), 16, &a->work), 0);
	CHECK_EQ(asup_chan_open(cx, sizeof(uint64_t), 16, &a->results), 0);
	rc = asup_timeout(cx, ASUP_SEC(60), pipeline, a);
	CHECK_EQ(asup_sock_close(cx, a->ls), 0);
	if (rc == -ECANCELED && asup_cx_cancel_reason(cx, &a->why) == 0 &&
	    a->why.kind == ASUP_CANCEL_SHUTDOWN) {
		a->shut_down = 1;
		rc = 0;
	}
	return rc;
}

static void run_app(struct app *a, asup_outcome *o)
{
	asup_rt *rt = io_rt();

	CHECK_EQ(asup_rt_run_main(rt, app_main, a, ASUP_SEC(5), o), 0);
	CHECK_EQ(pthread_join(a->producer, NULL), 0);
	test_rt_done(rt);
}

TEST(user_pipeline_carries_every_value_from_a_foreign_thread_to_a_socket_reader)
{
	io_skip_uring_threads_under_valgrind();
	static struct app a;
	asup_outcome o;
	unsigned __int128 n = 3000, want = n * (n + 1) * (2 * n + 1) / 6;

	a.n = 3000;
	run_app(&a, &o);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(o.value, 0);
	CHECK_EQ(a.shut_down, 0);
	CHECK_EQ(atomic_load(&a.producer_rc), 0);
	CHECK_EQ(a.client_rc, 0);
	CHECK_EQ(a.sender_rc, 0);
	CHECK_EQ(a.lines, 3000);
	CHECK_EQ(a.bad_lines, 0);
	CHECK(a.sum == want);
}

TEST(user_pipeline_shuts_down_on_sigterm_and_the_blocked_foreign_sender_is_told)
{
	io_skip_uring_threads_under_valgrind();
	static struct app a;
	asup_outcome o;
	struct sigaction sa;

	a.n = 100000000;
	a.raise_after = 100;
	run_app(&a, &o);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(o.value, 0);
	CHECK_EQ(a.shut_down, 1);
	CHECK(strstr(a.why.message, "SIGTERM") != NULL);
	/* The region closed the channel under the producer: it stopped. */
	CHECK_EQ(atomic_load(&a.producer_rc), -ASUP_ECLOSED);
	CHECK(atomic_load(&a.sent) >= 100);
	CHECK(atomic_load(&a.sent) < a.n);
	/* What reached the reader is correct, and no more than was sent. */
	CHECK_EQ(a.bad_lines, 0);
	CHECK(a.lines <= atomic_load(&a.sent));
	CHECK(a.max_seen <= atomic_load(&a.sent));
	CHECK_EQ(sigaction(SIGTERM, NULL, &sa), 0);
	CHECK(sa.sa_handler == SIG_DFL);
}
