/* Cancel-safety: a cancelled I/O call returns after the kernel is done with
 * it, loses nothing received, reports what it wrote, and a closed fd's
 * number reused by a new socket is never woken for the old one. */
#include "iotest.h"

struct pair {
	asup_socket a, b; /* connected: a (client) <-> b (server side) */
};

static void connect_pair(asup_cx *cx, struct pair *p)
{
	asup_socket ls;
	struct sockaddr_in a = io_lo4(io_listen4(cx, &ls));

	CHECK_EQ(asup_tcp_connect(cx, (struct sockaddr *)&a, sizeof(a), &p->a), 0);
	CHECK_EQ(asup_sock_accept(cx, ls, &p->b, NULL, NULL), 0);
	CHECK_EQ(asup_sock_close(cx, ls), 0);
}

static int64_t read_one(asup_cx *cx, void *arg)
{
	char buf[64];
	return asup_sock_read(cx, *(asup_socket *)arg, buf, sizeof(buf));
}

struct rt_arg {
	asup_rt *rt;
};

static int64_t cancel_keeps_data(asup_cx *cx, void *arg)
{
	asup_rt *rt = ((struct rt_arg *)arg)->rt;
	struct pair p;
	asup_task h;
	asup_outcome o;
	char buf[16];

	connect_pair(cx, &p);
	CHECK_EQ(asup_spawn(cx, read_one, &p.b, NULL, &h), 0);
	CHECK_EQ(asup_sleep(cx, 10 * 1000000ull), 0);
	CHECK_EQ(asup__io_waiting(rt), 1); /* it is parked in the reactor */
	CHECK_EQ(asup_task_abort(&h), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	/* The cancelled read returned only once the kernel held nothing of it. */
	CHECK_EQ(asup__io_waiting(rt), 0);
	CHECK_EQ(asup_sock_write(cx, p.a, "after", 5), 5);
	CHECK_EQ(asup_sock_read(cx, p.b, buf, sizeof(buf)), 5);
	CHECK(memcmp(buf, "after", 5) == 0);
	return 0;
}

TEST(read_cancelled_while_parked_leaves_nothing_in_flight_and_loses_nothing)
{
	struct rt_arg a = {io_rt()};
	CHECK_EQ(io_run(a.rt, cancel_keeps_data, &a), 0);
	test_rt_done(a.rt);
}

struct racer {
	asup_socket s;
	char buf[64];
};

static int64_t race_reader(asup_cx *cx, void *arg)
{
	struct racer *r = arg;
	return asup_sock_read(cx, r->s, r->buf, sizeof(r->buf));
}

static int64_t data_then_cancel(asup_cx *cx, void *arg)
{
	struct pair p;
	struct racer r;
	asup_task h;
	asup_outcome o;
	char rest[64];
	int64_t got = 0, first, n;

	connect_pair(cx, &p);
	r.s = p.b;
	CHECK_EQ(asup_spawn(cx, race_reader, &r, NULL, &h), 0);
	CHECK_EQ(asup_sleep(cx, 5 * 1000000ull), 0);
	/* Data arrives and the cancel is requested before the reader runs:
	 * in the same step (the completion not yet collected), or after the
	 * reactor delivered it. */
	CHECK_EQ(asup_sock_write(cx, p.a, "0123456789", 10), 10);
	if (*(int *)arg)
		CHECK_EQ(asup_sleep(cx, 1000000ull), 0);
	CHECK_EQ(asup_task_abort(&h), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	if (o.kind == ASUP_OUTCOME_OK) {
		/* The read had completed: it returned the data it took. */
		got = o.value;
		CHECK(got > 0 && got <= 10);
		CHECK(memcmp(r.buf, "0123456789", (size_t)got) == 0);
	} else {
		CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	}
	/* Whatever the reader did not return is still in the socket. */
	first = got;
	CHECK_EQ(asup_sock_shutdown(cx, p.a, SHUT_WR), 0);
	while ((n = asup_sock_read(cx, p.b, rest + got, sizeof(rest) - (size_t)got)) > 0)
		got += n;
	CHECK_EQ(got, 10);
	CHECK(memcmp(rest + first, "0123456789" + first, (size_t)(10 - first)) == 0);
	return 0;
}

TEST(read_completed_before_the_cancel_was_seen_returns_its_data)
{
	for (int delay = 0; delay < 2; delay++) {
		asup_rt *rt = io_rt();
		CHECK_EQ(io_run(rt, data_then_cancel, &delay), 0);
		CHECK_EQ(asup__io_waiting(rt), 0);
		test_rt_done(rt);
	}
}

static int64_t read_in_timeout(asup_cx *cx, void *arg)
{
	char buf[16];
	return asup_sock_read(cx, *(asup_socket *)arg, buf, sizeof(buf));
}

static int64_t timeout_read(asup_cx *cx, void *arg)
{
	struct pair p;

	connect_pair(cx, &p);
	CHECK_EQ(asup_timeout(cx, 5 * 1000000ull, read_in_timeout, &p.b), -ETIMEDOUT);
	return 0;
}

TEST(read_in_a_timeout_scope_returns_etimedout)
{
	asup_rt *rt = io_rt();
	CHECK_EQ(io_run(rt, timeout_read, NULL), 0);
	CHECK_EQ(asup__io_waiting(rt), 0);
	test_rt_done(rt);
}

/* ---- cancels at random points while data flows ---- */

#define FLOW_BYTES (1u << 20)

struct flow {
	struct pair p;
	uint64_t rng;
	unsigned char *got;     /* what the readers received, in order */
	size_t ngot;
	size_t nsent;           /* what the writers reported written */
	int cancels;
};

static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 131 + (i >> 9));
}

static int64_t flow_reader(asup_cx *cx, void *arg)
{
	struct flow *f = arg;
	int64_t n;

	/* Reads straight into the shared buffer: a read that the kernel
	 * finished after the call returned would corrupt it (ASan sees a
	 * late write into a freed frame only if there were one). */
	while (f->ngot < FLOW_BYTES) {
		n = asup_sock_read(cx, f->p.b, f->got + f->ngot, FLOW_BYTES - f->ngot);
		if (n < 0)
			return n;
		CHECK(n > 0);
		f->ngot += (size_t)n;
	}
	return 0;
}

static int64_t flow_writer(asup_cx *cx, void *arg)
{
	struct flow *f = arg;
	unsigned char chunk[8192];
	size_t w;
	int rc;

	while (f->nsent < FLOW_BYTES) {
		size_t len = FLOW_BYTES - f->nsent < sizeof(chunk) ? FLOW_BYTES - f->nsent :
								      sizeof(chunk);
		for (size_t i = 0; i < len; i++)
			chunk[i] = pattern(f->nsent + i);
		rc = asup_sock_write_all(cx, f->p.a, chunk, len, &w);
		f->nsent += w; /* a cancelled write reports what it wrote */
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int64_t flow(asup_cx *cx, void *arg)
{
	struct flow *f = arg;
	asup_task r, w;
	asup_outcome o;
	int rdone = 0, wdone = 0;

	connect_pair(cx, &f->p);
	/* Rounds: a reader and a writer run for a random while, then each still
	 * running is aborted, and fresh ones continue where they stopped. */
	for (int round = 0; round < 400 && !(rdone && wdone); round++) {
		if (!rdone)
			CHECK_EQ(asup_spawn(cx, flow_reader, f, NULL, &r), 0);
		if (!wdone)
			CHECK_EQ(asup_spawn(cx, flow_writer, f, NULL, &w), 0);
		CHECK_EQ(asup_sleep(cx, next_rand(&f->rng) % 300000), 0);
		for (int i = 0; i < 2; i++) {
			asup_task *h = i ? &w : &r;
			int *done = i ? &wdone : &rdone;
			if (*done)
				continue;
			if (next_rand(&f->rng) % 2 == 0 || round == 399) {
				(void)!asup_task_abort(h); /* 0: the task is ours */
				f->cancels++;
			}
			/* A non-aborted one finishes on its own, or is aborted now. */
			if (asup_task_is_finished(h) != 1)
				(void)!asup_task_abort(h);
			CHECK_EQ(asup_join(cx, h, &o), 0);
			if (o.kind == ASUP_OUTCOME_OK)
				*done = 1;
			else
				CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
		}
	}
	CHECK(rdone && wdone);
	return 0;
}

TEST(cancels_at_random_points_while_data_flows_lose_and_duplicate_nothing)
{
	for (uint64_t seed = 1; seed <= 4; seed++) {
		struct flow f;
		asup_rt *rt = io_rt();

		memset(&f, 0, sizeof(f));
		f.rng = seed * 0x9e3779b97f4a7c15ull;
		f.got = malloc(FLOW_BYTES);
		CHECK_EQ(io_run(rt, flow, &f), 0);
		CHECK_EQ(f.nsent, FLOW_BYTES);
		CHECK_EQ(f.ngot, FLOW_BYTES);
		for (size_t i = 0; i < FLOW_BYTES; i++)
			if (f.got[i] != pattern(i)) {
				fprintf(stderr, "seed %" PRIu64 ": byte %zu differs\n", seed, i);
				CHECK(0);
			}
		CHECK(f.cancels > 0);
		CHECK_EQ(asup__io_waiting(rt), 0);
		free(f.got);
		test_rt_done(rt);
	}
}

/* ---- fd reuse ---- */

struct reuse {
	struct pair old, fresh;
	int old_fd;
	char got_old[64], got_new[64];
};

struct into {
	asup_socket *s;
	char *buf;
};

static int64_t read_into(asup_cx *cx, void *arg)
{
	struct into *i = arg;
	return asup_sock_read(cx, *i->s, i->buf, 64);
}

static int64_t reuse_body(asup_cx *cx, void *arg)
{
	struct reuse *u = arg;
	struct into io_old = {&u->old.b, u->got_old}, io_new = {&u->fresh.a, u->got_new};
	struct sockaddr_in a;
	asup_socket ls;
	uint16_t port;
	asup_task h, h2;
	asup_outcome o;
	char buf[16];

	connect_pair(cx, &u->old);
	u->old_fd = asup_sock_fd(cx, u->old.b);
	CHECK_EQ(asup_spawn(cx, read_into, &io_old, NULL, &h), 0);
	CHECK_EQ(asup_sleep(cx, 5 * 1000000ull), 0);
	/* Data for the parked reader and a close in the same step: the reader
	 * gets -EBADF, or (io_uring, when the kernel had already received into
	 * its buffer) that data; never anything of the socket that follows. */
	port = io_listen4(cx, &ls);
	a = io_lo4(port);
	CHECK_EQ(asup_sock_write(cx, u->old.a, "old", 3), 3);
	CHECK_EQ(asup_sock_close(cx, u->old.b), 0);
	CHECK_EQ(asup_sock_read(cx, u->old.b, buf, 1), -EBADF);
	/* A new socket takes the lowest free number: the old one's. */
	CHECK_EQ(asup_tcp_connect(cx, (struct sockaddr *)&a, sizeof(a), &u->fresh.a), 0);
	CHECK_EQ(asup_sock_fd(cx, u->fresh.a), u->old_fd);
	CHECK_EQ(asup_sock_accept(cx, ls, &u->fresh.b, NULL, NULL), 0);
	CHECK_EQ(asup_spawn(cx, read_into, &io_new, NULL, &h2), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	if (o.kind == ASUP_OUTCOME_OK) {
		CHECK_EQ(o.value, 3);
		CHECK(memcmp(u->got_old, "old", 3) == 0);
	} else {
		CHECK_EQ(o.kind, ASUP_OUTCOME_ERR);
		CHECK_EQ(o.value, -EBADF);
	}
	/* The new reader was not woken by anything of the old socket. */
	CHECK_EQ(asup_sleep(cx, 5 * 1000000ull), 0);
	CHECK_EQ(asup_task_is_finished(&h2), 0);
	CHECK_EQ(asup_sock_write(cx, u->fresh.b, "new", 3), 3);
	CHECK_EQ(asup_join(cx, &h2, &o), 0);
	CHECK_EQ(o.value, 3);
	CHECK(memcmp(u->got_new, "new", 3) == 0);
	return 0;
}

TEST(closed_fds_late_completion_never_wakes_the_socket_reusing_its_number)
{
	struct reuse u;
	asup_rt *rt = io_rt();

	memset(&u, 0, sizeof(u));
	CHECK_EQ(io_run(rt, reuse_body, &u), 0);
	CHECK_EQ(asup__io_waiting(rt), 0);
	test_rt_done(rt);
}
