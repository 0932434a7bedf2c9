/* Broadcast channels: the rows of the channel table (every receiver gets
 * every message, send never blocks and ignores cancellation, no receivers,
 * overwrite and exact lag reports, cancelled recv keeps the cursor, closed
 * after every sender and the drain), reserve/permits, unsubscribe, bad input,
 * and a seed sweep that accounts for every message. */
#include "testrt.h"

#include "kernel/kernel.h"

static void run_seed(asup_task_fn fn, uint64_t seed)
{
	asup_rt_config cfg;
	asup_rt *rt;
	asup_outcome o;
	asup_rt_config_init(&cfg);
	cfg.mode = ASUP_MODE_DETERMINISTIC;
	cfg.seed = seed;
	cfg.leak_response = ASUP_LEAK_SILENT;
	rt = test_rt_cfg(&cfg);
	CHECK_EQ(asup_rt_run(rt, fn, rt, &o), 0);
	if (o.kind != ASUP_OUTCOME_OK)
		fprintf(stderr, "seed %llu: outcome %s %lld\n", (unsigned long long)seed,
		        asup_outcome_kind_name(o.kind), (long long)o.value);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	test_rt_done(rt);
}

static void run(asup_task_fn fn)
{
	run_seed(fn, 1);
}

static asup_broadcast_stats stats(asup_broadcast *b)
{
	asup_broadcast_stats st;
	CHECK_EQ(asup_broadcast_stats_get(b, &st), 0);
	return st;
}

static void await_waiters(asup_cx *cx, asup_broadcast *b, size_t n)
{
	for (int i = 0; i < 1000 && stats(b).waiters != n; i++)
		CHECK_EQ(asup_yield(cx), 0);
	CHECK_EQ(stats(b).waiters, n);
}

#define MSGS 20

static asup_broadcast_rx rxs[3];
static int got[3][MSGS], ngot[3];

static int64_t reader(asup_cx *cx, void *arg)
{
	int i = (int)(intptr_t)arg, v;
	int rc;
	while ((rc = asup_broadcast_recv(cx, &rxs[i], &v, NULL)) == 0)
		got[i][ngot[i]++] = v;
	return rc == -EPIPE ? 0 : rc;
}

static int64_t fanout_root(asup_cx *cx, void *arg)
{
	asup_broadcast *b;
	asup_task h[3];
	CHECK_EQ(asup_broadcast_open(cx, sizeof(int), MSGS, &b), 0); /* room for all: no lag */
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(asup_broadcast_subscribe(b, &rxs[i]), 0);
		CHECK_EQ(asup_spawn(cx, reader, (void *)(intptr_t)i, NULL, &h[i]), 0);
	}
	for (int v = 0; v < MSGS; v++) {
		CHECK_EQ(asup_broadcast_send(b, &v), 3); /* the receiver count */
		if (v % 3 == 0)
			CHECK_EQ(asup_yield(cx), 0);
	}
	CHECK_EQ(asup_broadcast_close_send(b), 0);
	for (int i = 0; i < 3; i++) {
		asup_outcome o;
		CHECK_EQ(asup_join(cx, &h[i], &o), 0);
		CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
		CHECK_EQ(ngot[i], MSGS);
		for (int v = 0; v < MSGS; v++)
			CHECK_EQ(got[i][v], v);
		CHECK_EQ(asup_broadcast_unsubscribe(&rxs[i]), 0);
	}
	return 0;
}

TEST(broadcast_every_receiver_gets_every_message_in_order)
{
	run(fanout_root);
}

static int64_t norx_root(asup_cx *cx, void *arg)
{
	asup_broadcast *b;
	asup_broadcast_rx rx;
	asup_broadcast_permit p;
	int v = 1, w = 0;
	CHECK_EQ(asup_broadcast_open(cx, sizeof(int), 2, &b), 0);
	CHECK_EQ(asup_broadcast_send(b, &v), -EPIPE);
	CHECK_EQ(asup_broadcast_reserve(cx, b, &p), -EPIPE);
	CHECK_EQ(stats(b).sent, 0); /* not taken */
	CHECK_EQ(stats(b).retained, 0);
	/* A receiver sees what is sent after it subscribed, not before. */
	CHECK_EQ(asup_broadcast_subscribe(b, &rx), 0);
	CHECK_EQ(asup_broadcast_try_recv(&rx, &w, NULL), -EAGAIN);
	v = 2;
	CHECK_EQ(asup_broadcast_send(b, &v), 1);
	CHECK_EQ(asup_broadcast_try_recv(&rx, &w, NULL), 0);
	CHECK_EQ(w, 2);
	CHECK_EQ(asup_broadcast_unsubscribe(&rx), 0);
	CHECK_EQ(asup_broadcast_send(b, &v), -EPIPE); /* the last receiver left */
	return 0;
}

TEST(broadcast_send_with_no_receivers_is_epipe_and_takes_nothing)
{
	run(norx_root);
}

static int64_t cancelled_sender(asup_cx *cx, void *arg)
{
	asup_broadcast *b = arg;
	asup_broadcast_permit p;
	CHECK_EQ(asup_cx_cancel_self(cx, ASUP_CANCEL_USER, NULL), 0);
	for (int v = 0; v < 10; v++)
		CHECK_EQ(asup_broadcast_send(b, &v), 1); /* never waits, never fails */
	CHECK_EQ(asup_broadcast_reserve(cx, b, &p), 0);
	CHECK_EQ(asup_broadcast_permit_send(&p, &(int){10}), 1);
	return asup_checkpoint(cx);
}

static int64_t nonblock_root(asup_cx *cx, void *arg)
{
	asup_broadcast *b;
	asup_broadcast_rx rx;
	asup_task h;
	asup_outcome o;
	uint64_t missed = 0;
	int w;
	CHECK_EQ(asup_broadcast_open(cx, sizeof(int), 2, &b), 0);
	CHECK_EQ(asup_broadcast_subscribe(b, &rx), 0);
	CHECK_EQ(asup_spawn(cx, cancelled_sender, b, NULL, &h), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(stats(b).sent, 11);
	CHECK_EQ(stats(b).retained, 2); /* a full ring overwrites */
	CHECK_EQ(asup_broadcast_try_recv(&rx, &w, &missed), -ASUP_ELAGGED);
	CHECK_EQ(missed, 9);
	CHECK_EQ(asup_broadcast_try_recv(&rx, &w, NULL), 0);
	CHECK_EQ(w, 9);
	return 0;
}

TEST(broadcast_send_never_blocks_and_ignores_cancellation)
{
	run(nonblock_root);
}

/* SEMANTICS scenario 87. */
static int64_t sem87_root(asup_cx *cx, void *arg)
{
	asup_broadcast *b;
	asup_broadcast_rx rx;
	uint64_t missed = 0;
	int w = 0;
	CHECK_EQ(asup_broadcast_open(cx, sizeof(int), 2, &b), 0);
	CHECK_EQ(asup_broadcast_subscribe(b, &rx), 0);
	for (int v = 1; v <= 4; v++)
		CHECK_EQ(asup_broadcast_send(b, &v), 1);
	CHECK_EQ(asup_broadcast_recv(cx, &rx, &w, &missed), -ASUP_ELAGGED);
	CHECK_EQ(missed, 2);
	CHECK_EQ(w, 0); /* a lag report copies nothing */
	CHECK_EQ(asup_broadcast_recv(cx, &rx, &w, &missed), 0);
	CHECK_EQ(w, 3); /* the 3rd message */
	CHECK_EQ(asup_broadcast_recv(cx, &rx, &w, &missed), 0);
	CHECK_EQ(w, 4);
	CHECK_EQ(asup_broadcast_try_recv(&rx, &w, &missed), -EAGAIN);
	return 0;
}

TEST(sem_87_broadcast_lag_reports_missed_then_next)
{
	run(sem87_root);
}

static int64_t lag_root(asup_cx *cx, void *arg)
{
	asup_broadcast *b;
	asup_broadcast_rx early, late;
	uint64_t missed = 0;
	int w;
	CHECK_EQ(asup_broadcast_open(cx, sizeof(int), 3, &b), 0);
	CHECK_EQ(asup_broadcast_subscribe(b, &early), 0);
	for (int v = 0; v < 5; v++)
		CHECK_EQ(asup_broadcast_send(b, &v), 1);
	CHECK_EQ(asup_broadcast_subscribe(b, &late), 0); /* starts at message 5 */
	for (int v = 5; v < 10; v++)
		CHECK_EQ(asup_broadcast_send(b, &v), 2);
	/* early read nothing of 10 with 3 retained: 7 missed, then 7, 8, 9 */
	CHECK_EQ(asup_broadcast_try_recv(&early, &w, &missed), -ASUP_ELAGGED);
	CHECK_EQ(missed, 7);
	for (int v = 7; v < 10; v++) {
		CHECK_EQ(asup_broadcast_try_recv(&early, &w, &missed), 0);
		CHECK_EQ(w, v);
	}
	CHECK_EQ(asup_broadcast_try_recv(&early, &w, &missed), -EAGAIN);
	/* late saw 5 sent since it subscribed: 2 missed */
	CHECK_EQ(asup_broadcast_try_recv(&late, &w, &missed), -ASUP_ELAGGED);
	CHECK_EQ(missed, 2);
	CHECK_EQ(asup_broadcast_try_recv(&late, &w, NULL), 0); /* NULL: count not wanted */
	CHECK_EQ(w, 7);
	/* A receiver that is behind but not past the oldest is not lagged. */
	CHECK_EQ(asup_broadcast_send(b, &(int){10}), 2);
	CHECK_EQ(asup_broadcast_try_recv(&late, &w, &missed), 0);
	CHECK_EQ(w, 8);
	return 0;
}

TEST(broadcast_lag_count_is_exact_and_the_cursor_jumps_to_the_oldest)
{
	run(lag_root);
}

static asup_broadcast_rx shared_rx;

static int64_t cancelled_reader(asup_cx *cx, void *arg)
{
	int v;
	CHECK_EQ(asup_cx_cancel_self(cx, ASUP_CANCEL_USER, NULL), 0);
	return asup_broadcast_recv(cx, &shared_rx, &v, NULL);
}

static int64_t waiting_reader(asup_cx *cx, void *arg)
{
	int v = -1;
	int rc = asup_broadcast_recv(cx, &shared_rx, &v, NULL);
	return rc < 0 ? rc : v;
}

static int64_t cursor_root(asup_cx *cx, void *arg)
{
	asup_broadcast *b;
	asup_task h;
	asup_outcome o;
	int w = 0;
	CHECK_EQ(asup_broadcast_open(cx, sizeof(int), 4, &b), 0);
	CHECK_EQ(asup_broadcast_subscribe(b, &shared_rx), 0);
	/* A message is ready, the receive is cancelled: the cursor stays. */
	CHECK_EQ(asup_broadcast_send(b, &(int){31}), 1);
	CHECK_EQ(asup_spawn(cx, cancelled_reader, NULL, NULL, &h), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(asup_broadcast_recv(cx, &shared_rx, &w, NULL), 0);
	CHECK_EQ(w, 31);
	/* Cancelled while waiting: no waiter left, the cursor free again, and
	 * the next message is not lost. */
	CHECK_EQ(asup_spawn(cx, waiting_reader, NULL, NULL, &h), 0);
	await_waiters(cx, b, 1);
	CHECK_EQ(asup_broadcast_try_recv(&shared_rx, &w, NULL), -EBUSY); /* in use */
	CHECK_EQ(asup_broadcast_unsubscribe(&shared_rx), -EBUSY);
	CHECK_EQ(asup_task_abort(&h), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(stats(b).waiters, 0);
	CHECK_EQ(asup_broadcast_send(b, &(int){32}), 1);
	CHECK_EQ(asup_broadcast_recv(cx, &shared_rx, &w, NULL), 0);
	CHECK_EQ(w, 32);
	/* A waiter woken by a send gets it. */
	CHECK_EQ(asup_spawn(cx, waiting_reader, NULL, NULL, &h), 0);
	await_waiters(cx, b, 1);
	CHECK_EQ(asup_broadcast_send(b, &(int){33}), 1);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.value, 33);
	return asup_broadcast_unsubscribe(&shared_rx);
}

TEST(broadcast_cancelled_recv_does_not_advance_the_cursor_and_leaves_no_waiter)
{
	run(cursor_root);
}

static int64_t close_root(asup_cx *cx, void *arg)
{
	asup_broadcast *b;
	asup_task h;
	asup_outcome o;
	uint64_t missed = 0;
	int w;
	/* Two senders: closed only after both, then only after the drain. */
	CHECK_EQ(asup_broadcast_open(cx, sizeof(int), 2, &b), 0);
	CHECK_EQ(asup_broadcast_add_sender(b), 0);
	CHECK_EQ(stats(b).senders, 2);
	CHECK_EQ(asup_broadcast_subscribe(b, &shared_rx), 0);
	for (int v = 0; v < 3; v++)
		CHECK_EQ(asup_broadcast_send(b, &v), 1);
	CHECK_EQ(asup_broadcast_close_send(b), 0);
	CHECK_EQ(stats(b).closed, 0);
	CHECK_EQ(asup_broadcast_send(b, &(int){3}), 1); /* the other sender still sends */
	CHECK_EQ(asup_broadcast_close_send(b), 0);
	CHECK_EQ(stats(b).closed, 1);
	CHECK_EQ(asup_broadcast_send(b, &(int){4}), -EPIPE);
	CHECK_EQ(asup_broadcast_close_send(b), -ASUP_EALREADY);
	CHECK_EQ(asup_broadcast_add_sender(b), -EPIPE);
	/* what the receiver can still see: a lag report, then 2 and 3 */
	CHECK_EQ(asup_broadcast_recv(cx, &shared_rx, &w, &missed), -ASUP_ELAGGED);
	CHECK_EQ(missed, 2);
	CHECK_EQ(asup_broadcast_recv(cx, &shared_rx, &w, NULL), 0);
	CHECK_EQ(w, 2);
	CHECK_EQ(asup_broadcast_try_recv(&shared_rx, &w, NULL), 0);
	CHECK_EQ(w, 3);
	CHECK_EQ(asup_broadcast_recv(cx, &shared_rx, &w, NULL), -EPIPE);
	CHECK_EQ(asup_broadcast_try_recv(&shared_rx, &w, NULL), -EPIPE);
	CHECK_EQ(asup_broadcast_subscribe(b, &shared_rx), -EPIPE);
	/* A receiver waiting when the last sender closes wakes with -EPIPE. */
	CHECK_EQ(asup_broadcast_open(cx, sizeof(int), 2, &b), 0);
	CHECK_EQ(asup_broadcast_subscribe(b, &shared_rx), 0);
	CHECK_EQ(asup_spawn(cx, waiting_reader, NULL, NULL, &h), 0);
	await_waiters(cx, b, 1);
	CHECK_EQ(asup_broadcast_close_send(b), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_ERR);
	CHECK_EQ(o.value, -EPIPE);
	return 0;
}

TEST(broadcast_closes_only_after_every_sender_and_the_drain)
{
	run(close_root);
}

static int64_t unsub_root(asup_cx *cx, void *arg)
{
	asup_broadcast *b;
	asup_broadcast_rx a, c;
	int w;
	CHECK_EQ(asup_broadcast_open(cx, sizeof(int), 2, &b), 0);
	CHECK_EQ(asup_broadcast_subscribe(b, &a), 0);
	CHECK_EQ(asup_broadcast_subscribe(b, &c), 0);
	CHECK_EQ(asup_broadcast_send(b, &(int){1}), 2);
	CHECK_EQ(asup_broadcast_unsubscribe(&a), 0);
	CHECK_EQ(stats(b).receivers, 1);
	CHECK_EQ(asup_broadcast_send(b, &(int){2}), 1);
	CHECK_EQ(asup_broadcast_unsubscribe(&a), -ASUP_EALREADY);
	CHECK_EQ(asup_broadcast_try_recv(&a, &w, NULL), -EPIPE); /* use after unsubscribe */
	CHECK_EQ(asup_broadcast_recv(cx, &a, &w, NULL), -EPIPE);
	CHECK_EQ(asup_broadcast_try_recv(&c, &w, NULL), 0); /* the other is unaffected */
	CHECK_EQ(w, 1);
	CHECK_EQ(asup_broadcast_unsubscribe(&c), 0);
	CHECK_EQ(asup_broadcast_send(b, &(int){3}), -EPIPE);
	/* a cursor can subscribe again (fresh, at the tail) */
	CHECK_EQ(asup_broadcast_subscribe(b, &a), 0);
	CHECK_EQ(asup_broadcast_try_recv(&a, &w, NULL), -EAGAIN);
	return asup_broadcast_unsubscribe(&a);
}

TEST(broadcast_unsubscribe_stops_counting_the_receiver)
{
	run(unsub_root);
}

static asup_broadcast_permit kept;
static int64_t keeps_permit(asup_cx *cx, void *arg)
{
	return asup_broadcast_reserve(cx, arg, &kept);
}

static int64_t permit_root(asup_cx *cx, void *arg)
{
	uint64_t leaked = test_stats(arg).obligations_leaked;
	asup_broadcast *b;
	asup_broadcast_rx rx;
	asup_broadcast_permit p, q;
	asup_task h;
	int w;
	CHECK_EQ(asup_broadcast_open(cx, sizeof(int), 2, &b), 0);
	CHECK_EQ(asup_broadcast_subscribe(b, &rx), 0);
	CHECK_EQ(asup_broadcast_reserve(cx, b, &p), 0);
	CHECK_EQ(test_stats(arg).obligations_pending, 1); /* a permit is an obligation */
	CHECK_EQ(asup_broadcast_permit_send(&p, &(int){5}), 1);
	CHECK_EQ(test_stats(arg).obligations_pending, 0);
	CHECK_EQ(asup_broadcast_permit_send(&p, &(int){5}), -ASUP_EALREADY);
	CHECK_EQ(asup_broadcast_try_recv(&rx, &w, NULL), 0);
	CHECK_EQ(w, 5);
	CHECK_EQ(asup_broadcast_reserve(cx, b, &p), 0);
	CHECK_EQ(asup_broadcast_permit_abort(&p), 0);
	CHECK_EQ(asup_broadcast_permit_abort(&p), -ASUP_EALREADY);
	CHECK_EQ(stats(b).sent, 1);
	/* every receiver left between reserve and send: not taken */
	CHECK_EQ(asup_broadcast_reserve(cx, b, &q), 0);
	CHECK_EQ(asup_broadcast_unsubscribe(&rx), 0);
	CHECK_EQ(asup_broadcast_permit_send(&q, &(int){6}), -EPIPE);
	CHECK_EQ(stats(b).sent, 1);
	CHECK_EQ(test_stats(arg).obligations_pending, 0);
	/* a task ending with an unresolved permit: a leak */
	CHECK_EQ(asup_broadcast_subscribe(b, &rx), 0);
	CHECK_EQ(asup_spawn(cx, keeps_permit, b, NULL, &h), 0);
	CHECK_EQ(asup_join(cx, &h, NULL), 0);
	CHECK_EQ(test_stats(arg).obligations_leaked, leaked + 1);
	CHECK_EQ(test_stats(arg).obligations_pending, 0);
	CHECK_EQ(asup_broadcast_permit_send(&kept, &(int){7}), -ASUP_EALREADY);
	CHECK_EQ(asup_broadcast_try_recv(&rx, &w, NULL), -EAGAIN); /* nothing sent */
	return asup_broadcast_unsubscribe(&rx);
}

TEST(broadcast_reserve_gives_a_permit_that_is_an_obligation)
{
	run(permit_root);
}

static asup_broadcast *inner;
static asup_broadcast_rx inner_rx;
static int64_t inner_body(asup_cx *cx, void *arg)
{
	CHECK_EQ(asup_broadcast_open(cx, sizeof(int), 2, &inner), 0);
	return asup_broadcast_subscribe(inner, &inner_rx);
}

static int64_t bad_root(asup_cx *cx, void *arg)
{
	asup_broadcast *b, *fake;
	asup_oneshot *os;
	asup_broadcast_rx rx, copy, zero_rx;
	asup_broadcast_permit p, empty;
	asup_broadcast_stats st;
	asup_outcome o;
	uint64_t zeros[16] = {0};
	int w;
	memset(&empty, 0, sizeof empty);
	memset(&zero_rx, 0, sizeof zero_rx);
	fake = (asup_broadcast *)(void *)zeros;
	CHECK_EQ(asup_broadcast_open(cx, 0, 2, &b), -EINVAL);
	CHECK_EQ(asup_broadcast_open(cx, sizeof(int), 0, &b), -EINVAL);
	CHECK_EQ(asup_broadcast_open(cx, sizeof(int), 2, NULL), -EINVAL);
	CHECK_EQ(asup_broadcast_open(cx, SIZE_MAX / 2, 4, &b), -EINVAL);
	CHECK_EQ(asup_broadcast_open(NULL, sizeof(int), 2, &b), -ASUP_ENOTASK);
	CHECK_EQ(asup_broadcast_open(cx, sizeof(int), 2, &b), 0);
	CHECK_EQ(asup_oneshot_open(cx, sizeof(int), &os), 0);
	/* wrong handles */
	CHECK_EQ(asup_broadcast_send(fake, &w), -EINVAL);
	CHECK_EQ(asup_broadcast_send((asup_broadcast *)(void *)os, &w), -EINVAL);
	CHECK_EQ(asup_broadcast_subscribe(fake, &rx), -EINVAL);
	CHECK_EQ(asup_broadcast_reserve(cx, fake, &p), -EINVAL);
	CHECK_EQ(asup_broadcast_close_send(NULL), -EINVAL);
	CHECK_EQ(asup_broadcast_add_sender(fake), -EINVAL);
	CHECK_EQ(asup_broadcast_stats_get(fake, &st), -EINVAL);
	/* NULL arguments */
	CHECK_EQ(asup_broadcast_subscribe(b, NULL), -EINVAL);
	CHECK_EQ(asup_broadcast_subscribe(b, &rx), 0);
	CHECK_EQ(asup_broadcast_send(b, NULL), -EINVAL);
	CHECK_EQ(asup_broadcast_recv(cx, &rx, NULL, NULL), -EINVAL);
	CHECK_EQ(asup_broadcast_try_recv(&rx, NULL, NULL), -EINVAL);
	CHECK_EQ(asup_broadcast_recv(NULL, &rx, &w, NULL), -ASUP_ENOTASK);
	CHECK_EQ(asup_broadcast_reserve(NULL, b, &p), -ASUP_ENOTASK);
	CHECK_EQ(asup_broadcast_reserve(cx, b, NULL), -EINVAL);
	/* cursors: never subscribed, a copy */
	CHECK_EQ(asup_broadcast_try_recv(&zero_rx, &w, NULL), -EINVAL);
	CHECK_EQ(asup_broadcast_recv(cx, NULL, &w, NULL), -EINVAL);
	CHECK_EQ(asup_broadcast_unsubscribe(&zero_rx), -EINVAL);
	copy = rx;
	CHECK_EQ(asup_broadcast_try_recv(&copy, &w, NULL), -EINVAL);
	CHECK_EQ(asup_broadcast_unsubscribe(&copy), -EINVAL);
	CHECK_EQ(stats(b).receivers, 1);
	/* permits: empty, NULL elem (stays live), double resolution */
	CHECK_EQ(asup_broadcast_permit_send(&empty, &w), -EINVAL);
	CHECK_EQ(asup_broadcast_permit_abort(&empty), -EINVAL);
	CHECK_EQ(asup_broadcast_permit_send(NULL, &w), -EINVAL);
	CHECK_EQ(asup_broadcast_reserve(cx, b, &p), 0);
	CHECK_EQ(asup_broadcast_permit_send(&p, NULL), -EINVAL);
	CHECK_EQ(asup_broadcast_permit_send(&p, &(int){1}), 1);
	CHECK_EQ(asup_broadcast_permit_send(&p, &(int){1}), -ASUP_EALREADY);
	CHECK_EQ(asup_broadcast_permit_abort(&p), -ASUP_EALREADY);
	CHECK_EQ(asup_broadcast_unsubscribe(&rx), 0);
	/* a cursor kept past its broadcast's region: detected */
	CHECK_EQ(asup_region(cx, inner_body, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(asup_broadcast_try_recv(&inner_rx, &w, NULL), -ASUP_ECLOSED);
	CHECK_EQ(asup_broadcast_recv(cx, &inner_rx, &w, NULL), -ASUP_ECLOSED);
	CHECK_EQ(asup_broadcast_unsubscribe(&inner_rx), -ASUP_ECLOSED);
	CHECK_EQ(asup_broadcast_unsubscribe(&inner_rx), -ASUP_EALREADY);
	CHECK_STR_EQ(asup_err_name(-ASUP_ELAGGED), "ASUP_ELAGGED");
	return 0;
}

TEST(broadcast_bad_input_gets_clear_codes)
{
	run(bad_root);
}

/* ---- seed sweep ---- */

#define SEEDS        50
#define PRODUCERS    2
#define PER_PRODUCER 30
#define READERS      3
#define TOTAL        (PRODUCERS * PER_PRODUCER)

/* A message names its global send order and its producer's own count. */
struct msg {
	int seq, producer, index;
};

static asup_broadcast *sweep_b;
static int next_seq;
static struct reader_log {
	asup_broadcast_rx rx;
	int last_seq; /* -1 before the first */
	int last_index[PRODUCERS];
	uint64_t received, missed;
	int lag_reports, cancelled;
} logs[READERS];

static uint64_t rnd(asup_cx *cx, uint64_t n)
{
	uint64_t r = 0;
	CHECK_EQ(asup_random_below(cx, n, &r), 0);
	return r;
}

static void jitter(asup_cx *cx)
{
	for (uint64_t i = rnd(cx, 3); i > 0; i--)
		CHECK_EQ(asup_yield(cx), 0);
}

static int64_t sweep_producer(asup_cx *cx, void *arg)
{
	int id = (int)(intptr_t)arg;
	for (int i = 0; i < PER_PRODUCER; i++) {
		struct msg m;
		jitter(cx);
		m.seq = next_seq; /* numbered at the send, after the yields */
		m.producer = id;
		m.index = i;
		CHECK(asup_broadcast_send(sweep_b, &m) == READERS);
		next_seq++; /* one runtime thread: the send order is the seq order */
	}
	return asup_broadcast_close_send(sweep_b);
}

/* One receive in a child task that the reader may cancel at any point. */
struct try_arg {
	struct reader_log *log;
	struct msg m;
	uint64_t missed;
};

static int64_t sweep_attempt(asup_cx *cx, void *arg)
{
	struct try_arg *t = arg;
	return asup_broadcast_recv(cx, &t->log->rx, &t->m, &t->missed);
}

static void account(struct reader_log *lg, int rc, const struct try_arg *t)
{
	if (rc == -ASUP_ELAGGED) {
		lg->lag_reports++;
		lg->missed += t->missed;
		lg->last_seq += (int)t->missed; /* the cursor jumped past exactly these */
		return;
	}
	CHECK(rc == 0);
	CHECK(t->m.seq == lg->last_seq + 1); /* nothing skipped unreported, no duplicate */
	CHECK(t->m.index > lg->last_index[t->m.producer]);
	lg->last_seq = t->m.seq;
	lg->last_index[t->m.producer] = t->m.index;
	lg->received++;
}

static int64_t sweep_reader(asup_cx *cx, void *arg)
{
	struct reader_log *lg = arg;
	for (;;) {
		struct try_arg t = {lg, {-1, 0, 0}, 0};
		asup_task h;
		asup_outcome o;
		CHECK_EQ(asup_spawn(cx, sweep_attempt, &t, NULL, &h), 0);
		jitter(cx);
		if (rnd(cx, 4) == 0)
			CHECK_EQ(asup_task_abort(&h), 0);
		CHECK_EQ(asup_join(cx, &h, &o), 0);
		if (o.kind == ASUP_OUTCOME_CANCELLED) {
			lg->cancelled++; /* nothing was consumed: try again */
			continue;
		}
		if (o.kind == ASUP_OUTCOME_ERR && o.value == -EPIPE)
			return 0;
		account(lg, o.kind == ASUP_OUTCOME_OK ? 0 : (int)o.value, &t);
	}
}

static int sweep_lags, sweep_cancels;

static int64_t sweep_root(asup_cx *cx, void *arg)
{
	asup_task p[PRODUCERS], r[READERS];
	next_seq = 0;
	CHECK_EQ(asup_broadcast_open(cx, sizeof(struct msg), 3, &sweep_b), 0);
	CHECK_EQ(asup_broadcast_add_sender(sweep_b), 0); /* one per producer */
	for (int i = 0; i < READERS; i++) {
		memset(&logs[i], 0, sizeof logs[i]);
		logs[i].last_seq = -1;
		for (int j = 0; j < PRODUCERS; j++)
			logs[i].last_index[j] = -1;
		CHECK_EQ(asup_broadcast_subscribe(sweep_b, &logs[i].rx), 0);
		CHECK_EQ(asup_spawn(cx, sweep_reader, &logs[i], NULL, &r[i]), 0);
	}
	for (int j = 0; j < PRODUCERS; j++)
		CHECK_EQ(asup_spawn(cx, sweep_producer, (void *)(intptr_t)j, NULL, &p[j]), 0);
	for (int j = 0; j < PRODUCERS; j++)
		CHECK_EQ(asup_join(cx, &p[j], NULL), 0);
	for (int i = 0; i < READERS; i++) {
		asup_outcome o;
		CHECK_EQ(asup_join(cx, &r[i], &o), 0);
		CHECK(o.kind == ASUP_OUTCOME_OK);
		/* every message was received once or reported missed, exactly */
		CHECK(logs[i].received + logs[i].missed == TOTAL);
		CHECK(logs[i].last_seq == TOTAL - 1);
		sweep_lags += logs[i].lag_reports;
		sweep_cancels += logs[i].cancelled;
		CHECK_EQ(asup_broadcast_unsubscribe(&logs[i].rx), 0);
	}
	CHECK(stats(sweep_b).waiters == 0);
	return 0;
}

static void sweep_one(uint64_t seed)
{
	run_seed(sweep_root, seed);
}

TEST(broadcast_seed_sweep_accounts_for_every_message)
{
	if (SWEEP(SEEDS, sweep_one) < SEEDS)
		return; /* one replayed seed: the per-seed checks ran */
	CHECK(sweep_lags > 0);    /* the sweep reached the lag path ... */
	CHECK(sweep_cancels > 0); /* ... and cancelled receives */
}
