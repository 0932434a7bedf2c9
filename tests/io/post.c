/* Ways in from other threads: an inbox that runs functions posted by
 * foreign threads (and notifies from a signal handler) as tasks, and a
 * cross-thread channel with blocking and non-blocking sends. */
#include "iotest.h"

#include <asupersync/post.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>

#define NPOST 1000

/* Runs fn in a child region: its objects are closed and released there
 * (the root region of asup_rt_run is not closed before the runtime is
 * destroyed). */
static int64_t in_region(asup_cx *cx, asup_task_fn fn, void *arg)
{
	asup_outcome o;

	CHECK_EQ(asup_region(cx, fn, arg, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	return o.value;
}

struct inbox_test {
	asup_inbox *ib;
	int ran;          /* runtime thread only */
	int order_ok;
	int notified;
	atomic_int dropped;
};

static int64_t posted(asup_cx *cx, void *arg)
{
	struct inbox_test *t = arg;

	(void)cx;
	t->ran++;
	return 0;
}

static void *poster(void *arg)
{
	struct inbox_test *t = arg;

	for (int i = 0; i < NPOST; i++)
		CHECK_EQ(asup_inbox_post(t->ib, posted, t), 0);
	CHECK_EQ(asup_inbox_notify(t->ib), 0);
	return NULL;
}

static void on_notify(asup_cx *cx, void *arg)
{
	struct inbox_test *t = arg;

	(void)cx;
	t->notified++;
}

static int64_t server(asup_cx *cx, void *arg)
{
	struct inbox_test *t = arg;
	return asup_inbox_serve(cx, t->ib, on_notify, t);
}

static int64_t inbox_basic_body(asup_cx *cx, void *arg)
{
	struct inbox_test *t = arg;
	asup_task h;
	asup_outcome o;
	pthread_t th;

	CHECK_EQ(asup_inbox_open(cx, NULL, &t->ib), 0);
	CHECK_EQ(asup_spawn(cx, server, t, NULL, &h), 0);
	CHECK_EQ(pthread_create(&th, NULL, poster, t), 0);
	for (int i = 0; i < 10000 && (t->ran < NPOST || !t->notified); i++)
		CHECK_EQ(asup_sleep(cx, 1000000), 0);
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_EQ(t->ran, NPOST);
	CHECK(t->notified >= 1);
	CHECK_EQ(asup_inbox_close(cx, t->ib), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(o.value, 0);
	/* Closed: posts are refused, the memory is still the foreign side's. */
	CHECK_EQ(asup_inbox_post(t->ib, posted, t), -ASUP_ECLOSED);
	CHECK_EQ(asup_inbox_notify(t->ib), -ASUP_ECLOSED);
	CHECK_EQ(asup_inbox_close(cx, t->ib), -ASUP_ECLOSED);
	return 0;
}

static int64_t inbox_basic(asup_cx *cx, void *arg)
{
	return in_region(cx, inbox_basic_body, arg);
}

TEST(inbox_runs_functions_posted_by_another_thread_as_tasks)
{
	io_skip_uring_threads_under_valgrind();
	struct inbox_test t;
	asup_rt *rt = io_rt();

	memset(&t, 0, sizeof(t));
	CHECK_EQ(io_run(rt, inbox_basic, &t), 0);
	test_rt_done(rt);
	/* The region is gone; the foreign reference still works. */
	CHECK_EQ(asup_inbox_post(t.ib, posted, &t), -ASUP_ECLOSED);
	asup_inbox_release(t.ib);
}

static void drop(void *arg)
{
	struct inbox_test *t = arg;
	atomic_fetch_add(&t->dropped, 1);
}

static int64_t inbox_drop_body(asup_cx *cx, void *arg)
{
	struct inbox_test *t = arg;

	CHECK_EQ(asup_inbox_open(cx, drop, &t->ib), 0);
	CHECK_EQ(asup_inbox_post(t->ib, posted, t), 0);
	CHECK_EQ(asup_inbox_post(t->ib, posted, t), 0);
	/* No server: the region closes the inbox and drops both. */
	return 0;
}

static int64_t inbox_drop(asup_cx *cx, void *arg)
{
	struct inbox_test *t = arg;
	asup_outcome o;
	asup_inbox *none = NULL;

	CHECK_EQ(asup_region(cx, inbox_drop_body, t, &o), 0);
	CHECK_EQ(atomic_load(&t->dropped), 2);
	CHECK_EQ(t->ran, 0);
	CHECK_EQ(asup_inbox_post(t->ib, posted, t), -ASUP_ECLOSED);
	asup_inbox_release(t->ib);
	CHECK_EQ(asup_inbox_open(cx, NULL, NULL), -EINVAL);
	CHECK_EQ(asup_inbox_post(NULL, posted, t), -EINVAL);
	CHECK_EQ(asup_inbox_notify(NULL), -EINVAL);
	CHECK_EQ(asup_inbox_serve(cx, NULL, NULL, NULL), -EINVAL);
	CHECK_EQ(asup_inbox_close(cx, none), -EINVAL);
	return 0;
}

TEST(inbox_closed_with_its_region_drops_what_was_never_run)
{
	struct inbox_test t;
	asup_rt *rt = io_rt();

	memset(&t, 0, sizeof(t));
	CHECK_EQ(io_run(rt, inbox_drop, &t), 0);
	test_rt_done(rt);
}

static asup_inbox *sig_ib;

static void notify_from_handler(int sig)
{
	(void)sig;
	asup_inbox_notify(sig_ib);
}

static int64_t inbox_signal_body(asup_cx *cx, void *arg)
{
	struct inbox_test *t = arg;
	struct sigaction sa, old;
	asup_task h;
	asup_outcome o;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = notify_from_handler;
	CHECK_EQ(asup_inbox_open(cx, NULL, &t->ib), 0);
	sig_ib = t->ib;
	CHECK_EQ(sigaction(SIGUSR2, &sa, &old), 0);
	CHECK_EQ(asup_spawn(cx, server, t, NULL, &h), 0);
	CHECK_EQ(asup_yield(cx), 0);
	CHECK_EQ(raise(SIGUSR2), 0);
	for (int i = 0; i < 10000 && !t->notified; i++)
		CHECK_EQ(asup_sleep(cx, 1000000), 0);
	CHECK_EQ(t->notified, 1);
	CHECK_EQ(sigaction(SIGUSR2, &old, NULL), 0);
	CHECK_EQ(asup_task_abort(&h), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	asup_inbox_release(t->ib);
	return 0;
}

static int64_t inbox_signal(asup_cx *cx, void *arg)
{
	return in_region(cx, inbox_signal_body, arg);
}

TEST(inbox_notify_from_a_signal_handler_wakes_the_serving_task)
{
	struct inbox_test t;
	asup_rt *rt = io_rt();

	memset(&t, 0, sizeof(t));
	CHECK_EQ(io_run(rt, inbox_signal, &t), 0);
	test_rt_done(rt);
}

/* ---- cross-thread channel ---- */

#define NVAL 20000

struct xc_test {
	asup_xchan *ch;
	int closed_rc;
	atomic_int first_sent;
};

static void *sender(void *arg)
{
	struct xc_test *t = arg;

	for (uint64_t i = 1; i <= NVAL; i++)
		CHECK_EQ(asup_xchan_send(t->ch, i), 0);
	return NULL;
}

static int64_t xchan_flow_body(asup_cx *cx, void *arg)
{
	struct xc_test *t = arg;
	pthread_t th;
	uint64_t v, want = 1;

	CHECK_EQ(asup_xchan_open(cx, 16, &t->ch), 0);
	CHECK_EQ(pthread_create(&th, NULL, sender, t), 0);
	for (int i = 0; i < NVAL; i++) {
		CHECK_EQ(asup_xchan_recv(cx, t->ch, &v), 0);
		CHECK_EQ(v, want);
		want++;
	}
	CHECK_EQ(pthread_join(th, NULL), 0);
	/* try_send never blocks: full is -EAGAIN. */
	for (uint64_t i = 0; i < 16; i++)
		CHECK_EQ(asup_xchan_try_send(t->ch, i), 0);
	CHECK_EQ(asup_xchan_try_send(t->ch, 99), -EAGAIN);
	CHECK_EQ(asup_xchan_recv(cx, t->ch, &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(asup_xchan_close(cx, t->ch), 0);
	CHECK_EQ(asup_xchan_send(t->ch, 1), -ASUP_ECLOSED);
	CHECK_EQ(asup_xchan_try_send(t->ch, 1), -ASUP_ECLOSED);
	/* Queued values are still received, then the end is reported. */
	for (uint64_t i = 1; i < 16; i++) {
		CHECK_EQ(asup_xchan_recv(cx, t->ch, &v), 0);
		CHECK_EQ(v, i);
	}
	CHECK_EQ(asup_xchan_recv(cx, t->ch, &v), -ASUP_ECLOSED);
	asup_xchan_release(t->ch);
	return 0;
}

static int64_t xchan_flow(asup_cx *cx, void *arg)
{
	return in_region(cx, xchan_flow_body, arg);
}

TEST(xchan_carries_values_from_a_foreign_thread_in_order)
{
	io_skip_uring_threads_under_valgrind();
	struct xc_test t;
	asup_rt *rt = io_rt();

	memset(&t, 0, sizeof(t));
	CHECK_EQ(io_run(rt, xchan_flow, &t), 0);
	test_rt_done(rt);
}

static void *blocked_sender(void *arg)
{
	struct xc_test *t = arg;

	CHECK_EQ(asup_xchan_send(t->ch, 1), 0);
	atomic_store(&t->first_sent, 1);
	/* Full now: this one blocks until the close. */
	t->closed_rc = asup_xchan_send(t->ch, 2);
	return NULL;
}

static int64_t recv_task(asup_cx *cx, void *arg)
{
	uint64_t v;
	return asup_xchan_recv(cx, arg, &v);
}

static int64_t xchan_close_body(asup_cx *cx, void *arg)
{
	struct xc_test *t = arg;
	pthread_t th;
	uint64_t v;

	CHECK_EQ(asup_xchan_open(cx, 1, &t->ch), 0);
	CHECK_EQ(pthread_create(&th, NULL, blocked_sender, t), 0);
	/* Wait until the sender's first value filled the channel. */
	for (int i = 0; i < 10000 && !atomic_load(&t->first_sent); i++)
		CHECK_EQ(asup_sleep(cx, 1000000), 0);
	CHECK_EQ(asup_xchan_try_send(t->ch, 7), -EAGAIN);
	/* Give the sender time to block (either way its send must fail). */
	CHECK_EQ(asup_sleep(cx, 5000000), 0);
	CHECK_EQ(asup_xchan_close(cx, t->ch), 0);
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_EQ(t->closed_rc, -ASUP_ECLOSED);
	/* The value sent before the close is still there. */
	CHECK_EQ(asup_xchan_recv(cx, t->ch, &v), 0);
	CHECK_EQ(v, 1);
	CHECK_EQ(asup_xchan_open(cx, 0, &t->ch), -EINVAL);
	CHECK_EQ(asup_xchan_recv(cx, NULL, &v), -EINVAL);
	CHECK_EQ(asup_xchan_send(NULL, 1), -EINVAL);
	return 0;
}

static int64_t xchan_deadline_body(asup_cx *cx, void *arg)
{
	asup_xchan *ch;
	uint64_t v;

	(void)arg;
	CHECK_EQ(asup_xchan_open(cx, 4, &ch), 0);
	/* A receive that waits is a checkpoint: the deadline ends it. */
	CHECK_EQ(asup_timeout(cx, 2000000, recv_task, ch), -ETIMEDOUT);
	CHECK_EQ(asup_xchan_try_send(ch, 5), 0);
	CHECK_EQ(asup_xchan_recv(cx, ch, &v), 0);
	CHECK_EQ(v, 5);
	asup_xchan_release(ch);
	return 0;
}

static int64_t xchan_close(asup_cx *cx, void *arg)
{
	return in_region(cx, xchan_close_body, arg);
}

static int64_t xchan_deadline(asup_cx *cx, void *arg)
{
	return in_region(cx, xchan_deadline_body, arg);
}

TEST(xchan_receive_past_its_deadline_returns_etimedout)
{
	asup_rt *rt = io_rt();
	CHECK_EQ(io_run(rt, xchan_deadline, NULL), 0);
	test_rt_done(rt);
}

TEST(xchan_close_wakes_a_blocked_foreign_sender)
{
	io_skip_uring_threads_under_valgrind();
	struct xc_test t;

	memset(&t, 0, sizeof(t));
	t.closed_rc = 1;
	asup_rt *rt = io_rt();

	CHECK_EQ(io_run(rt, xchan_close, &t), 0);
	test_rt_done(rt);
	asup_xchan_release(t.ch);
}

static int64_t no_cap(asup_cx *cx, void *arg)
{
	asup_inbox *ib;
	asup_xchan *ch;

	(void)arg;
	CHECK_EQ(asup_inbox_open(cx, NULL, &ib), -EPERM);
	CHECK_EQ(asup_xchan_open(cx, 4, &ch), -EPERM);
	return 0;
}

static int64_t eperm(asup_cx *cx, void *arg)
{
	(void)arg;
	return asup_cx_restricted(cx, asup_cx_caps(cx) & ~(uint32_t)ASUP_CAP_IO, no_cap, NULL);
}

TEST(inbox_and_xchan_need_the_io_capability)
{
	asup_rt *rt = io_rt();
	CHECK_EQ(io_run(rt, eperm, NULL), 0);
	test_rt_done(rt);
}

struct self_send {
	asup_xchan *ch;
	int rc;
};

/* A finalizer runs on the runtime's thread too: it must not wait either. */
static void send_in_finalizer(void *arg)
{
	struct self_send *s = arg;

	s->rc = asup_xchan_send(s->ch, 9);
}

static int64_t self_send_body(asup_cx *cx, void *arg)
{
	struct self_send *s = arg;
	uint64_t v;

	CHECK_EQ(asup_xchan_open(cx, 1, &s->ch), 0);
	/* Room: a task of the owning runtime may send. */
	CHECK_EQ(asup_xchan_send(s->ch, 1), 0);
	/* Full: waiting would stop the only receiver for ever. */
	CHECK_EQ(asup_xchan_send(s->ch, 2), -EDEADLK);
	CHECK_EQ(asup_xchan_try_send(s->ch, 2), -EAGAIN);
	CHECK_EQ(asup_xchan_recv(cx, s->ch, &v), 0);
	CHECK_EQ(v, 1);
	/* Nothing of the refused send was queued. */
	CHECK_EQ(asup_xchan_try_send(s->ch, 3), 0);
	CHECK_EQ(asup_xchan_recv(cx, s->ch, &v), 0);
	CHECK_EQ(v, 3);
	CHECK_EQ(asup_xchan_send(s->ch, 4), 0);
	CHECK_EQ(asup_defer(cx, send_in_finalizer, s), 0);
	return 0;
}

static int64_t self_send(asup_cx *cx, void *arg)
{
	return in_region(cx, self_send_body, arg);
}

TEST(xchan_send_from_the_owning_runtime_refuses_to_wait_on_a_full_channel)
{
	struct self_send s = { NULL, 1 };
	asup_rt *rt = io_rt();

	CHECK_EQ(io_run(rt, self_send, &s), 0);
	/* The finalizer ran before the channel's own (LIFO) with the channel
	 * still full: refused rather than a hang. */
	CHECK_EQ(s.rc, -EDEADLK);
	test_rt_done(rt);
	asup_xchan_release(s.ch);
}
