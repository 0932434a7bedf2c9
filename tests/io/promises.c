/* Promises of post.h, report.h and io.h (signals, run_main, resolve) that
 * no other test checked, each through the public API alone. */
#include "iotest.h"

#include <asupersync/post.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

/* Runs fn in a child region that must end Ok; returns its value. */
static int64_t in_region(asup_cx *cx, asup_task_fn fn, void *arg)
{
	asup_outcome o;

	CHECK_EQ(asup_region(cx, fn, arg, &o), 0);
	if (o.kind != ASUP_OUTCOME_OK)
		fprintf(stderr, "region outcome %d value %" PRId64 "\n", (int)o.kind, o.value);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	return o.value;
}

/* Sleeps 1 ms at a time until *flag reaches want (at most 10 s). */
static void wait_for(asup_cx *cx, const int *flag, int want)
{
	for (int i = 0; i < 10000 && *flag < want; i++)
		CHECK_EQ(asup_sleep(cx, 1000000), 0);
	CHECK(*flag >= want);
}

/* ---- inbox ---- */

#define NORDER 64

struct ib {
	asup_inbox *ib;
	int order[NORDER];
	int ran;
	int notified;
	int serve_rc;
	int served;
	atomic_int dropped;
	atomic_int dropped_off_thread;
	pthread_t rt_thread;
	uint64_t server_region;
	int other_region;   /* posted tasks that ran in another region */
};

struct post_arg {
	struct ib *t;
	int i;
};

static int64_t record_order(asup_cx *cx, void *arg)
{
	struct post_arg *p = arg;

	if (asup_scope_region_id(cx) != p->t->server_region)
		p->t->other_region++;
	p->t->order[p->t->ran++] = p->i;
	return 0;
}

static void count_notify(asup_cx *cx, void *arg)
{
	struct ib *t = arg;

	(void)cx;
	t->notified++;
}

static int64_t serve_task(asup_cx *cx, void *arg)
{
	struct ib *t = arg;

	t->server_region = asup_scope_region_id(cx);
	t->serve_rc = asup_inbox_serve(cx, t->ib, count_notify, t);
	t->served = 1;
	return 0;
}

static int64_t order_body(asup_cx *cx, void *arg)
{
	struct ib *t = arg;
	struct post_arg pa[NORDER];
	asup_task h;

	CHECK_EQ(asup_inbox_open(cx, NULL, &t->ib), 0);
	for (int i = 0; i < NORDER; i++) {
		pa[i].t = t;
		pa[i].i = i;
		CHECK_EQ(asup_inbox_post(t->ib, record_order, &pa[i]), 0);
	}
	CHECK_EQ(asup_spawn(cx, serve_task, t, NULL, &h), 0);
	wait_for(cx, &t->ran, NORDER);
	for (int i = 0; i < NORDER; i++)
		CHECK_EQ(t->order[i], i);
	/* Each ran as a task of the serving task's scope region. */
	CHECK(t->server_region != 0 && t->server_region != ASUP_ID_NONE);
	CHECK_EQ(t->other_region, 0);
	CHECK_EQ(asup_inbox_close(cx, t->ib), 0);
	CHECK_EQ(asup_join(cx, &h, NULL), 0);
	CHECK_EQ(t->serve_rc, 0);
	asup_inbox_release(t->ib);
	return 0;
}

static int64_t order_root(asup_cx *cx, void *arg)
{
	return in_region(cx, order_body, arg);
}

TEST(inbox_spawns_posted_functions_in_post_order_into_the_servers_region)
{
	static struct ib t;
	asup_rt *rt = io_rt();

	CHECK_EQ(io_run(rt, order_root, &t), 0);
	test_rt_done(rt);
}

static int64_t serve_direct(asup_cx *cx, void *arg)
{
	struct ib *t = arg;
	return asup_inbox_serve(cx, t->ib, NULL, NULL);
}

static int64_t serve_rules_body(asup_cx *cx, void *arg)
{
	struct ib *t = arg;
	asup_task h;

	CHECK_EQ(asup_inbox_open(cx, NULL, &t->ib), 0);
	/* A serve past its deadline ends with -ETIMEDOUT and frees the slot. */
	CHECK_EQ(asup_timeout(cx, 2000000, serve_direct, t), -ETIMEDOUT);
	CHECK_EQ(asup_spawn(cx, serve_task, t, NULL, &h), 0);
	CHECK_EQ(asup_yield(cx), 0);
	CHECK_EQ(asup_sleep(cx, 1000000), 0);
	CHECK_EQ(t->served, 0);
	/* One server at a time. */
	CHECK_EQ(asup_inbox_serve(cx, t->ib, NULL, NULL), -EBUSY);
	/* A cancelled server returns -ECANCELED. */
	CHECK_EQ(asup_task_abort(&h), 0);
	CHECK_EQ(asup_join(cx, &h, NULL), 0);
	CHECK_EQ(t->served, 1);
	CHECK_EQ(t->serve_rc, -ECANCELED);
	/* The slot is free again: a new server runs until the close. */
	t->served = 0;
	CHECK_EQ(asup_spawn(cx, serve_task, t, NULL, &h), 0);
	CHECK_EQ(asup_yield(cx), 0);
	CHECK_EQ(asup_inbox_notify(t->ib), 0);
	wait_for(cx, &t->notified, 1);
	CHECK_EQ(asup_inbox_close(cx, t->ib), 0);
	CHECK_EQ(asup_join(cx, &h, NULL), 0);
	CHECK_EQ(t->served, 1);
	CHECK_EQ(t->serve_rc, 0);
	/* A closed inbox is not served again. */
	CHECK_EQ(asup_inbox_serve(cx, t->ib, NULL, NULL), -ASUP_ECLOSED);
	CHECK_EQ(asup_inbox_post(t->ib, NULL, NULL), -EINVAL);
	asup_inbox_release(t->ib);
	return 0;
}

static int64_t serve_rules_root(asup_cx *cx, void *arg)
{
	return in_region(cx, serve_rules_body, arg);
}

TEST(inbox_serve_is_one_task_at_a_time_ends_on_cancel_deadline_or_close)
{
	static struct ib t;
	asup_rt *rt = io_rt();

	CHECK_EQ(io_run(rt, serve_rules_root, &t), 0);
	test_rt_done(rt);
}

static int64_t coalesce_body(asup_cx *cx, void *arg)
{
	struct ib *t = arg;
	asup_task h;

	CHECK_EQ(asup_inbox_open(cx, NULL, &t->ib), 0);
	for (int i = 0; i < 5; i++)
		CHECK_EQ(asup_inbox_notify(t->ib), 0);
	CHECK_EQ(asup_spawn(cx, serve_task, t, NULL, &h), 0);
	wait_for(cx, &t->notified, 1);
	/* However long we wait, five notifies made before it ran are one call. */
	CHECK_EQ(asup_sleep(cx, 10000000), 0);
	CHECK_EQ(t->notified, 1);
	/* A later notify is a new call. */
	CHECK_EQ(asup_inbox_notify(t->ib), 0);
	wait_for(cx, &t->notified, 2);
	CHECK_EQ(asup_sleep(cx, 5000000), 0);
	CHECK_EQ(t->notified, 2);
	CHECK_EQ(asup_inbox_close(cx, t->ib), 0);
	CHECK_EQ(asup_join(cx, &h, NULL), 0);
	asup_inbox_release(t->ib);
	return 0;
}

static int64_t coalesce_root(asup_cx *cx, void *arg)
{
	return in_region(cx, coalesce_body, arg);
}

TEST(inbox_notifies_made_before_the_server_looks_coalesce_into_one_call)
{
	static struct ib t;
	asup_rt *rt = io_rt();

	CHECK_EQ(io_run(rt, coalesce_root, &t), 0);
	test_rt_done(rt);
}

static struct ib *drop_t;

static void drop_on_rt_thread(void *arg)
{
	CHECK(arg == (void *)drop_t);
	if (!pthread_equal(pthread_self(), drop_t->rt_thread))
		atomic_fetch_add(&drop_t->dropped_off_thread, 1);
	atomic_fetch_add(&drop_t->dropped, 1);
}

static int64_t never_run(asup_cx *cx, void *arg)
{
	struct ib *t = arg;

	(void)cx;
	t->ran++;
	return 0;
}

static void *foreign_poster(void *arg)
{
	struct ib *t = arg;

	for (int i = 0; i < 5; i++)
		CHECK_EQ(asup_inbox_post(t->ib, never_run, t), 0);
	return NULL;
}

static int64_t drop_body(asup_cx *cx, void *arg)
{
	struct ib *t = arg;
	pthread_t th;

	t->rt_thread = pthread_self();
	CHECK_EQ(asup_inbox_open(cx, drop_on_rt_thread, &t->ib), 0);
	CHECK_EQ(pthread_create(&th, NULL, foreign_poster, t), 0);
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_EQ(asup_inbox_close(cx, t->ib), 0);
	CHECK_EQ(atomic_load(&t->dropped), 5);
	CHECK_EQ(asup_inbox_close(cx, t->ib), -ASUP_ECLOSED);
	CHECK_EQ(asup_inbox_post(t->ib, never_run, t), -ASUP_ECLOSED);
	CHECK_EQ(atomic_load(&t->dropped), 5);
	asup_inbox_release(t->ib);
	return 0;
}

static int64_t drop_root(asup_cx *cx, void *arg)
{
	return in_region(cx, drop_body, arg);
}

TEST(inbox_close_drops_foreign_posts_on_the_runtime_thread_and_never_runs_them)
{
	static struct ib t;
	asup_rt *rt = io_rt();

	drop_t = &t;
	CHECK_EQ(io_run(rt, drop_root, &t), 0);
	CHECK_EQ(t.ran, 0);
	CHECK_EQ(atomic_load(&t.dropped), 5);
	CHECK_EQ(atomic_load(&t.dropped_off_thread), 0);
	test_rt_done(rt);
}

/* ---- references ---- */

struct refs {
	asup_inbox *ib;
	asup_xchan *ch;
};

static void *retain_both(void *arg)
{
	struct refs *r = arg;

	asup_inbox_retain(r->ib);
	asup_inbox_retain(r->ib);
	asup_xchan_retain(r->ch);
	return NULL;
}

static int64_t refs_body(asup_cx *cx, void *arg)
{
	struct refs *r = arg;
	pthread_t th;

	CHECK_EQ(asup_inbox_open(cx, NULL, &r->ib), 0);
	CHECK_EQ(asup_xchan_open(cx, 4, &r->ch), 0);
	CHECK_EQ(pthread_create(&th, NULL, retain_both, r), 0);
	CHECK_EQ(pthread_join(th, NULL), 0);
	/* Release one of the inbox's three references before the close. */
	asup_inbox_release(r->ib);
	CHECK_EQ(asup_xchan_try_send(r->ch, 1), 0);
	return 0;
}

static int64_t refs_root(asup_cx *cx, void *arg)
{
	return in_region(cx, refs_body, arg);
}

static void *use_and_release(void *arg)
{
	struct refs *r = arg;

	CHECK_EQ(asup_inbox_post(r->ib, never_run, NULL), -ASUP_ECLOSED);
	CHECK_EQ(asup_inbox_notify(r->ib), -ASUP_ECLOSED);
	CHECK_EQ(asup_xchan_try_send(r->ch, 2), -ASUP_ECLOSED);
	CHECK_EQ(asup_xchan_send(r->ch, 2), -ASUP_ECLOSED);
	asup_inbox_release(r->ib);
	asup_xchan_release(r->ch);
	return NULL;
}

TEST(inbox_and_xchan_stay_usable_by_every_reference_holder_after_their_region_closed)
{
	struct refs r;
	pthread_t th;
	asup_rt *rt = io_rt();

	memset(&r, 0, sizeof(r));
	CHECK_EQ(io_run(rt, refs_root, &r), 0);
	test_rt_done(rt);
	/* The runtime is gone; two inbox and two xchan references remain. The
	 * sanitizers and valgrind see any use of freed memory or any leak. */
	CHECK_EQ(pthread_create(&th, NULL, use_and_release, &r), 0);
	CHECK_EQ(pthread_join(th, NULL), 0);
	asup_inbox_release(r.ib);
	asup_xchan_release(r.ch);
}

/* ---- cross-thread channel ---- */

static int64_t xchan_bounds_body(asup_cx *cx, void *arg)
{
	asup_xchan *ch;
	int rc = 0;

	(void)arg;
	CHECK_EQ(asup_xchan_open(cx, 0, &ch), -EINVAL);
	CHECK_EQ(asup_xchan_open(cx, (1u << 20) + 1, &ch), -EINVAL);
	CHECK_EQ(asup_xchan_open(cx, 4, NULL), -EINVAL);
	CHECK_EQ(asup_xchan_open(cx, 1u << 20, &ch), 0);
	for (uint32_t i = 0; i < (1u << 20) && rc == 0; i++)
		rc = asup_xchan_try_send(ch, i);
	CHECK_EQ(rc, 0);
	CHECK_EQ(asup_xchan_try_send(ch, 0), -EAGAIN);
	asup_xchan_release(ch);
	CHECK_EQ(asup_xchan_open(cx, 1, &ch), 0);
	CHECK_EQ(asup_xchan_try_send(NULL, 1), -EINVAL);
	CHECK_EQ(asup_xchan_close(cx, NULL), -EINVAL);
	CHECK_EQ(asup_xchan_close(cx, ch), 0);
	CHECK_EQ(asup_xchan_close(cx, ch), -ASUP_ECLOSED);
	asup_xchan_release(ch);
	return 0;
}

static int64_t xchan_bounds_root(asup_cx *cx, void *arg)
{
	return in_region(cx, xchan_bounds_body, arg);
}

TEST(xchan_capacity_is_one_to_one_mebi_values_and_misuse_has_clear_codes)
{
	asup_rt *rt = io_rt();
	CHECK_EQ(io_run(rt, xchan_bounds_root, NULL), 0);
	test_rt_done(rt);
}

struct xr {
	asup_xchan *ch;
	uint64_t v;
	int rc;
	int done;
};

static int64_t xrecv_task(asup_cx *cx, void *arg)
{
	struct xr *x = arg;

	x->rc = asup_xchan_recv(cx, x->ch, &x->v);
	x->done = 1;
	return 0;
}

static int64_t xrecv_direct(asup_cx *cx, void *arg)
{
	struct xr *x = arg;
	return asup_xchan_recv(cx, x->ch, &x->v);
}

static int64_t xchan_recv_rules_body(asup_cx *cx, void *arg)
{
	struct xr *x = arg;
	asup_task h;
	uint64_t v = 0;

	CHECK_EQ(asup_xchan_open(cx, 4, &x->ch), 0);
	CHECK_EQ(asup_spawn(cx, xrecv_task, x, NULL, &h), 0);
	CHECK_EQ(asup_yield(cx), 0);
	CHECK_EQ(asup_sleep(cx, 1000000), 0);
	CHECK_EQ(x->done, 0);
	/* One receiver at a time. */
	CHECK_EQ(asup_xchan_recv(cx, x->ch, &v), -EBUSY);
	CHECK_EQ(asup_xchan_try_send(x->ch, 7), 0);
	CHECK_EQ(asup_join(cx, &h, NULL), 0);
	CHECK_EQ(x->rc, 0);
	CHECK_EQ(x->v, 7);
	/* A receive whose deadline already passed takes nothing, even with a
	 * value ready: it stays for the next receive. */
	CHECK_EQ(asup_xchan_try_send(x->ch, 8), 0);
	x->v = 0;
	CHECK_EQ(asup_timeout(cx, 0, xrecv_direct, x), -ETIMEDOUT);
	CHECK_EQ(x->v, 0);
	CHECK_EQ(asup_xchan_recv(cx, x->ch, &v), 0);
	CHECK_EQ(v, 8);
	/* A cancelled receiver leaves the next value to the next receiver. */
	x->done = 0;
	CHECK_EQ(asup_spawn(cx, xrecv_task, x, NULL, &h), 0);
	CHECK_EQ(asup_yield(cx), 0);
	CHECK_EQ(asup_task_abort(&h), 0);
	CHECK_EQ(asup_join(cx, &h, NULL), 0);
	CHECK_EQ(x->rc, -ECANCELED);
	CHECK_EQ(asup_xchan_try_send(x->ch, 9), 0);
	CHECK_EQ(asup_xchan_recv(cx, x->ch, &v), 0);
	CHECK_EQ(v, 9);
	CHECK_EQ(asup_xchan_recv(cx, x->ch, NULL), -EINVAL);
	asup_xchan_release(x->ch);
	return 0;
}

static int64_t xchan_recv_rules_root(asup_cx *cx, void *arg)
{
	return in_region(cx, xchan_recv_rules_body, arg);
}

TEST(xchan_has_one_receiver_and_a_cancelled_or_late_receive_takes_nothing)
{
	struct xr x;
	asup_rt *rt = io_rt();

	memset(&x, 0, sizeof(x));
	CHECK_EQ(io_run(rt, xchan_recv_rules_root, &x), 0);
	test_rt_done(rt);
}

static int64_t xchan_fill(asup_cx *cx, void *arg)
{
	asup_xchan **ch = arg;

	CHECK_EQ(asup_xchan_open(cx, 8, ch), 0);
	for (uint64_t i = 0; i < 3; i++)
		CHECK_EQ(asup_xchan_try_send(*ch, i), 0);
	return 0;
}

static int64_t xchan_region_close_root(asup_cx *cx, void *arg)
{
	asup_xchan *ch;
	uint64_t v;

	(void)arg;
	CHECK_EQ(in_region(cx, xchan_fill, &ch), 0);
	/* The region closed it: what was queued is gone, sends are refused. */
	CHECK_EQ(asup_xchan_try_send(ch, 1), -ASUP_ECLOSED);
	CHECK_EQ(asup_xchan_send(ch, 1), -ASUP_ECLOSED);
	CHECK_EQ(asup_xchan_close(cx, ch), -ASUP_ECLOSED);
	CHECK(asup_xchan_recv(cx, ch, &v) == -ASUP_ECLOSED);
	asup_xchan_release(ch);
	return 0;
}

TEST(xchan_closed_by_its_region_drops_queued_values_and_refuses_sends)
{
	asup_rt *rt = io_rt();
	CHECK_EQ(io_run(rt, xchan_region_close_root, NULL), 0);
	test_rt_done(rt);
}

/* ---- real mode only ---- */

static int64_t det_body(asup_cx *cx, void *arg)
{
	asup_inbox *ib;
	asup_xchan *ch;
	asup_sigwatch w;
	struct addrinfo *res = NULL;
	int sigs[] = {SIGUSR1};

	(void)arg;
	CHECK_EQ(asup_inbox_open(cx, NULL, &ib), -ASUP_ESIMONLY);
	CHECK_EQ(asup_xchan_open(cx, 4, &ch), -ASUP_ESIMONLY);
	CHECK_EQ(asup_signal_open(cx, sigs, 1, &w), -ASUP_ESIMONLY);
	/* asup_resolve answers from the simulated network in deterministic
	 * mode: numeric hosts and localhost, other names -ENOENT. */
	CHECK_EQ(asup_resolve(cx, "127.0.0.1", NULL, NULL, &res), 0);
	CHECK(res != NULL && res->ai_family == AF_INET);
	asup_resolve_free(res);
	res = NULL;
	CHECK_EQ(asup_resolve(cx, "example.invalid", NULL, NULL, &res), -ENOENT);
	CHECK(res == NULL);
	return 0;
}

static int64_t never_called(asup_cx *cx, void *arg)
{
	(void)cx;
	*(int *)arg = 1;
	return 0;
}

TEST(posts_signals_and_run_main_refuse_deterministic_mode_with_esimonly_and_resolve_is_simulated)
{
	asup_rt *rt = test_rt(ASUP_MODE_DETERMINISTIC, 1);
	asup_outcome o;
	int ran = 0;

	CHECK_EQ(asup_rt_run(rt, det_body, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(asup_rt_run_main(rt, never_called, &ran, 1000000, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_ERR);
	CHECK_EQ(o.value, -ASUP_ESIMONLY);
	CHECK_EQ(ran, 0);
	test_rt_done(rt);
}

/* ---- signals ---- */

static int disposition_is_default(int sig)
{
	struct sigaction sa;

	CHECK_EQ(sigaction(sig, NULL, &sa), 0);
	return sa.sa_handler == SIG_DFL;
}

struct sw {
	asup_sigwatch w;
	int rc;
	int done;
};

static int64_t sig_waiter(asup_cx *cx, void *arg)
{
	struct sw *s = arg;

	s->rc = asup_signal_wait(cx, s->w);
	s->done = 1;
	return 0;
}

static int64_t sig_close_body(asup_cx *cx, void *arg)
{
	struct sw s;
	asup_task h;
	int sigs[] = {SIGUSR1};

	(void)arg;
	memset(&s, 0, sizeof(s));
	CHECK_EQ(asup_signal_open(cx, sigs, 1, &s.w), 0);
	CHECK_EQ(asup_spawn(cx, sig_waiter, &s, NULL, &h), 0);
	CHECK_EQ(asup_yield(cx), 0);
	CHECK_EQ(asup_sleep(cx, 1000000), 0);
	CHECK_EQ(s.done, 0);
	CHECK_EQ(asup_signal_close(cx, s.w), 0);
	CHECK_EQ(asup_join(cx, &h, NULL), 0);
	CHECK_EQ(s.done, 1);
	CHECK_EQ(s.rc, -EBADF);
	CHECK(disposition_is_default(SIGUSR1));
	return 0;
}

TEST(signal_watch_closed_while_a_task_waits_on_it_wakes_the_task_with_ebadf)
{
	asup_rt *rt = io_rt();
	CHECK_EQ(io_run(rt, sig_close_body, NULL), 0);
	test_rt_done(rt);
}

static int64_t sig_two_body(asup_cx *cx, void *arg)
{
	asup_sigwatch a, b;
	int sigs[] = {SIGUSR1};

	(void)arg;
	CHECK_EQ(asup_signal_open(cx, sigs, 1, &a), 0);
	CHECK_EQ(asup_signal_open(cx, sigs, 1, &b), 0);
	CHECK_EQ(asup_signal_close(cx, a), 0);
	/* b still names SIGUSR1: the signal stays caught. */
	CHECK(!disposition_is_default(SIGUSR1));
	CHECK_EQ(kill(getpid(), SIGUSR1), 0);
	CHECK_EQ(asup_signal_wait(cx, b), SIGUSR1);
	CHECK_EQ(asup_signal_close(cx, b), 0);
	CHECK(disposition_is_default(SIGUSR1));
	return 0;
}

TEST(signal_disposition_comes_back_only_when_the_last_watch_naming_it_closes)
{
	asup_rt *rt = io_rt();
	CHECK_EQ(io_run(rt, sig_two_body, NULL), 0);
	test_rt_done(rt);
}

static int64_t sig_distinct_body(asup_cx *cx, void *arg)
{
	asup_sigwatch w;
	int sigs[] = {SIGUSR1, SIGUSR2};
	int a, b;

	(void)arg;
	CHECK_EQ(asup_signal_open(cx, sigs, 2, &w), 0);
	CHECK_EQ(kill(getpid(), SIGUSR2), 0);
	CHECK_EQ(kill(getpid(), SIGUSR1), 0);
	/* Two different signals are two deliveries: both are returned. */
	a = asup_signal_wait(cx, w);
	b = asup_signal_wait(cx, w);
	CHECK((a == SIGUSR1 && b == SIGUSR2) || (a == SIGUSR2 && b == SIGUSR1));
	CHECK_EQ(asup_signal_close(cx, w), 0);
	return 0;
}

TEST(signal_watch_returns_each_of_two_signals_delivered_before_the_first_wait)
{
	asup_rt *rt = io_rt();
	CHECK_EQ(io_run(rt, sig_distinct_body, NULL), 0);
	test_rt_done(rt);
}

static int64_t sig_max_body(asup_cx *cx, void *arg)
{
	asup_sigwatch w[65];
	int sigs[] = {SIGUSR1};

	(void)arg;
	for (int i = 0; i < 64; i++)
		CHECK_EQ(asup_signal_open(cx, sigs, 1, &w[i]), 0);
	CHECK_EQ(asup_signal_open(cx, sigs, 1, &w[64]), -EMFILE);
	CHECK_EQ(asup_signal_close(cx, w[10]), 0);
	CHECK_EQ(asup_signal_open(cx, sigs, 1, &w[10]), 0);
	for (int i = 0; i < 64; i++)
		CHECK_EQ(asup_signal_close(cx, w[i]), 0);
	CHECK(disposition_is_default(SIGUSR1));
	return 0;
}

TEST(signal_open_refuses_a_65th_watch_with_emfile_and_a_closed_slot_is_reused)
{
	asup_rt *rt = io_rt();
	CHECK_EQ(io_run(rt, sig_max_body, NULL), 0);
	test_rt_done(rt);
}

/* ---- resource reports ---- */

struct leaks {
	int n;
	char why[4][32];
	int64_t value[4];
};

static void leak_hook(void *ud, const asup_report *r)
{
	struct leaks *l = ud;

	if (r->kind != ASUP_REPORT_RESOURCE_LEAK || l->n >= 4)
		return;
	snprintf(l->why[l->n], sizeof(l->why[0]), "%s", r->why);
	l->value[l->n] = r->value;
	l->n++;
}

struct leak_fds {
	int sock_fd;
	int file_fd;
};

static int64_t leave_open(asup_cx *cx, void *arg)
{
	struct leak_fds *f = arg;
	asup_socket s;
	asup_file file;
	asup_sigwatch w;
	int sigs[] = {SIGUSR1};
	struct sockaddr_in a = io_lo4(0);

	CHECK_EQ(asup_udp_bind(cx, (struct sockaddr *)&a, sizeof(a), &s), 0);
	f->sock_fd = asup_sock_fd(cx, s);
	CHECK_EQ(asup_file_open(cx, "/dev/null", O_RDONLY, 0, &file), 0);
	f->file_fd = asup_file_fd(cx, file);
	CHECK_EQ(asup_signal_open(cx, sigs, 1, &w), 0);
	return 0;
}

static int64_t leak_root(asup_cx *cx, void *arg)
{
	return in_region(cx, leave_open, arg);
}

TEST(a_region_closing_with_a_socket_file_or_signal_watch_open_reports_each)
{
	io_skip_uring_threads_under_valgrind();
	struct leaks l;
	struct leak_fds f;
	asup_rt_config cfg;
	asup_rt *rt;
	int seen_sock = 0, seen_file = 0, seen_watch = 0;

	memset(&l, 0, sizeof(l));
	asup_rt_config_init(&cfg);
	cfg.io_backend = io_wants_uring() ? ASUP_IO_URING : ASUP_IO_EPOLL;
	cfg.report = leak_hook;
	cfg.report_ud = &l;
	if (asup_rt_create(&cfg, &rt) == -ENOSYS && io_wants_uring())
		SKIP("io_uring refused");
	CHECK_EQ(io_run(rt, leak_root, &f), 0);
	test_rt_done(rt);
	CHECK_EQ(l.n, 3);
	for (int i = 0; i < l.n; i++) {
		if (strcmp(l.why[i], "socket") == 0 && l.value[i] == f.sock_fd)
			seen_sock = 1;
		if (strcmp(l.why[i], "file") == 0 && l.value[i] == f.file_fd)
			seen_file = 1;
		if (strcmp(l.why[i], "signal watch") == 0 && l.value[i] == -1)
			seen_watch = 1;
	}
	CHECK(seen_sock && seen_file && seen_watch);
	CHECK(disposition_is_default(SIGUSR1));
}

/* ---- resolve ---- */

static int64_t resolve_codes(asup_cx *cx, void *arg)
{
	struct addrinfo hints, *res = NULL;

	(void)arg;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = 12345;
	CHECK_EQ(asup_resolve(cx, "127.0.0.1", NULL, &hints, &res), -EINVAL);
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = 0x40000000;
	CHECK_EQ(asup_resolve(cx, "127.0.0.1", NULL, &hints, &res), -EINVAL);
	/* A numeric IPv4 name asked as IPv6 has no address of that family. */
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST;
	hints.ai_family = AF_INET6;
	CHECK_EQ(asup_resolve(cx, "127.0.0.1", NULL, &hints, &res), -ENOENT);
	CHECK(res == NULL);
	/* Either part alone is enough; hints may be NULL. */
	CHECK_EQ(asup_resolve(cx, NULL, "80", NULL, &res), 0);
	CHECK(res != NULL);
	asup_resolve_free(res);
	asup_resolve_free(NULL);
	return 0;
}

TEST(resolve_refuses_bad_hints_and_reports_a_missing_family_as_enoent)
{
	io_skip_uring_threads_under_valgrind();
	asup_rt *rt = io_rt();
	CHECK_EQ(io_run(rt, resolve_codes, NULL), 0);
	test_rt_done(rt);
}

/* ---- run_main ---- */

static int64_t run_main_inside(asup_cx *cx, void *arg)
{
	asup_rt *other = arg;
	asup_outcome o;
	int ran = 0;

	(void)cx;
	CHECK_EQ(asup_rt_run_main(other, never_called, &ran, 1000000, &o), -ASUP_EINTASK);
	CHECK_EQ(ran, 0);
	return 0;
}

TEST(run_main_from_inside_a_task_is_refused_like_run)
{
	asup_rt *rt = io_rt();
	asup_rt *other = io_rt();

	CHECK_EQ(io_run(rt, run_main_inside, other), 0);
	CHECK(disposition_is_default(SIGINT));
	CHECK(disposition_is_default(SIGTERM));
	test_rt_done(other);
	test_rt_done(rt);
}

struct outer_wait {
	asup_sigwatch w;
	int rc;
	int done;
};

static int64_t outer_waiter(asup_cx *cx, void *arg)
{
	struct outer_wait *o = arg;

	o->rc = asup_signal_wait(cx, o->w);
	o->done = 1;
	return 0;
}

/* Waits until the region body handed the watch over, then waits on it. */
static int64_t outer_waiter_when_ready(asup_cx *cx, void *arg)
{
	struct outer_wait *o = arg;

	while (o->done != -1)
		CHECK_EQ(asup_sleep(cx, 100000), 0);
	return outer_waiter(cx, o);
}

static int64_t open_and_hand(asup_cx *cx, void *arg)
{
	struct outer_wait *o = arg;
	int sigs[] = {SIGUSR1};

	CHECK_EQ(asup_signal_open(cx, sigs, 1, &o->w), 0);
	o->done = -1; /* handle ready */
	CHECK_EQ(asup_sleep(cx, 2000000), 0); /* the outer task starts waiting */
	return 0;
}

static int64_t sig_region_gone_root(asup_cx *cx, void *arg)
{
	static struct outer_wait o;
	asup_task h;
	asup_outcome out;

	(void)arg;
	memset(&o, 0, sizeof(o));
	o.w._p = NULL;
	CHECK_EQ(asup_spawn(cx, outer_waiter_when_ready, &o, NULL, &h), 0);
	CHECK_EQ(asup_region(cx, open_and_hand, &o, &out), 0);
	CHECK_EQ(out.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(asup_join(cx, &h, NULL), 0);
	CHECK_EQ(o.done, 1);
	CHECK_EQ(o.rc, -ASUP_ECLOSED);
	CHECK(disposition_is_default(SIGUSR1));
	return 0;
}

TEST(a_task_waiting_on_a_watch_whose_region_closes_wakes_with_eclosed)
{
	asup_rt *rt = io_rt();
	CHECK_EQ(io_run(rt, sig_region_gone_root, NULL), 0);
	test_rt_done(rt);
}

/* ---- objects waited on from an enclosing region ---- */

struct outer_objs {
	asup_inbox *ib;
	asup_xchan *ch;
	int ready;
	int serve_rc, recv_rc;
	uint64_t v;
};

static int64_t outer_server(asup_cx *cx, void *arg)
{
	struct outer_objs *o = arg;

	while (!o->ready)
		CHECK_EQ(asup_sleep(cx, 100000), 0);
	o->serve_rc = asup_inbox_serve(cx, o->ib, NULL, NULL);
	return 0;
}

static int64_t outer_receiver(asup_cx *cx, void *arg)
{
	struct outer_objs *o = arg;

	while (!o->ready)
		CHECK_EQ(asup_sleep(cx, 100000), 0);
	o->recv_rc = asup_xchan_recv(cx, o->ch, &o->v);
	return 0;
}

static int64_t open_release_and_leave(asup_cx *cx, void *arg)
{
	struct outer_objs *o = arg;

	CHECK_EQ(asup_inbox_open(cx, NULL, &o->ib), 0);
	CHECK_EQ(asup_xchan_open(cx, 4, &o->ch), 0);
	/* No foreign side: give its references back at once. */
	asup_inbox_release(o->ib);
	asup_xchan_release(o->ch);
	o->ready = 1;
	CHECK_EQ(asup_sleep(cx, 2000000), 0); /* both outer tasks wait now */
	return 0;
}

static int64_t outer_objs_root(asup_cx *cx, void *arg)
{
	static struct outer_objs o;
	asup_task a, b;
	asup_outcome out;

	(void)arg;
	memset(&o, 0, sizeof(o));
	o.serve_rc = o.recv_rc = 1;
	CHECK_EQ(asup_spawn(cx, outer_server, &o, NULL, &a), 0);
	CHECK_EQ(asup_spawn(cx, outer_receiver, &o, NULL, &b), 0);
	CHECK_EQ(asup_region(cx, open_release_and_leave, &o, &out), 0);
	CHECK_EQ(out.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(asup_join(cx, &a, NULL), 0);
	CHECK_EQ(asup_join(cx, &b, NULL), 0);
	CHECK_EQ(o.serve_rc, 0);
	CHECK_EQ(o.recv_rc, -ASUP_ECLOSED);
	return 0;
}

TEST(a_server_and_a_receiver_of_an_enclosing_region_see_the_close_of_the_inner_one)
{
	asup_rt *rt = io_rt();
	CHECK_EQ(io_run(rt, outer_objs_root, NULL), 0);
	test_rt_done(rt);
}

/* ---- net.h: argument rules ---- */

static int64_t net_rules_body(asup_cx *cx, void *arg)
{
	asup_socket ls, c, s, u, v;
	struct sockaddr_in a = io_lo4(0), peer;
	struct sockaddr_un un;
	socklen_t len = sizeof(a);
	struct iovec iov[1];
	char buf[8], path[200];
	int fd;

	(void)arg;
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	CHECK_EQ(asup_tcp_listen(cx, (struct sockaddr *)&un, sizeof(un), NULL, &ls), -EINVAL);
	CHECK_EQ(asup_tcp_listen(cx, (struct sockaddr *)&a, 3, NULL, &ls), -EINVAL);
	CHECK_EQ(asup_tcp_listen(cx, NULL, sizeof(a), NULL, &ls), -EINVAL);
	CHECK_EQ(asup_unix_listen(cx, "", NULL, &ls), -EINVAL);
	memset(path, 'x', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	CHECK_EQ(asup_unix_listen(cx, path, NULL, &ls), -EINVAL);
	CHECK_EQ(asup_unix_listen(cx, NULL, NULL, &ls), -EINVAL);

	CHECK_EQ(asup_tcp_listen(cx, (struct sockaddr *)&a, sizeof(a), NULL, &ls), 0);
	CHECK_EQ(asup_sock_local_addr(cx, ls, (struct sockaddr *)&a, &len), 0);
	CHECK_EQ(asup_tcp_connect(cx, (struct sockaddr *)&a, sizeof(a), &c), 0);
	len = sizeof(peer);
	CHECK_EQ(asup_sock_accept(cx, ls, &s, (struct sockaddr *)&peer, &len), 0);
	CHECK_EQ(peer.sin_family, AF_INET);
	/* accept on a socket that does not listen */
	CHECK_EQ(asup_sock_accept(cx, c, &u, NULL, NULL), -EINVAL);
	/* zero-length and NULL buffers */
	CHECK_EQ(asup_sock_read(cx, c, buf, 0), -EINVAL);
	CHECK_EQ(asup_sock_read(cx, c, NULL, 4), -EINVAL);
	CHECK_EQ(asup_sock_write(cx, c, buf, 0), -EINVAL);
	CHECK_EQ(asup_sock_write(cx, c, NULL, 4), -EINVAL);
	iov[0].iov_base = buf;
	iov[0].iov_len = 1;
	CHECK_EQ(asup_sock_readv(cx, c, iov, 0), -EINVAL);
	CHECK_EQ(asup_sock_writev(cx, c, iov, 0), -EINVAL);
	CHECK_EQ(asup_sock_writev(cx, c, iov, IOV_MAX + 1), -EINVAL);
	CHECK_EQ(asup_sock_shutdown(cx, c, 99), -EINVAL);
	/* shutdown of a socket never connected */
	CHECK_EQ(asup_udp_bind(cx, (struct sockaddr *)&(struct sockaddr_in){.sin_family = AF_INET},
			       sizeof(struct sockaddr_in), &u), 0);
	CHECK_EQ(asup_sock_shutdown(cx, u, SHUT_RDWR), -ENOTCONN);
	/* an empty datagram is a datagram */
	CHECK_EQ(asup_udp_bind(cx, (struct sockaddr *)&(struct sockaddr_in){.sin_family = AF_INET,
			       .sin_addr.s_addr = htonl(INADDR_LOOPBACK)},
			       sizeof(struct sockaddr_in), &v), 0);
	len = sizeof(a);
	CHECK_EQ(asup_sock_local_addr(cx, v, (struct sockaddr *)&a, &len), 0);
	CHECK_EQ(asup_sock_sendto(cx, v, "", 0, (struct sockaddr *)&a, sizeof(a)), 0);
	CHECK_EQ(asup_sock_recvfrom(cx, v, buf, sizeof(buf), NULL, NULL), 0);
	/* fd_wait: unknown bits, a regular file is ready at once */
	CHECK_EQ(asup_fd_wait(cx, asup_sock_fd(cx, c), 0x80), -EINVAL);
	fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	CHECK_EQ(asup_fd_wait(cx, fd, ASUP_IO_READABLE | ASUP_IO_WRITABLE),
		 ASUP_IO_READABLE | ASUP_IO_WRITABLE);
	close(fd);
	fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(fd >= 0);
	CHECK_EQ(asup_fd_wait(cx, fd, ASUP_IO_READABLE), ASUP_IO_READABLE);
	close(fd);
	/* a peer that is gone: -EPIPE (or a reset), and no SIGPIPE kills us */
	CHECK_EQ(asup_sock_close(cx, s), 0);
	{
		int64_t n = 0;
		for (int i = 0; i < 100 && n >= 0; i++) {
			n = asup_sock_write(cx, c, "xxxxxxxx", 8);
			if (n >= 0)
				CHECK_EQ(asup_sleep(cx, 1000000), 0);
		}
		CHECK(n == -EPIPE || n == -ECONNRESET);
	}
	CHECK_EQ(asup_sock_close(cx, c), 0);
	CHECK_EQ(asup_sock_close(cx, u), 0);
	CHECK_EQ(asup_sock_close(cx, v), 0);
	CHECK_EQ(asup_sock_close(cx, ls), 0);
	return 0;
}

static int64_t net_rules_root(asup_cx *cx, void *arg)
{
	return in_region(cx, net_rules_body, arg);
}

TEST(net_calls_refuse_bad_arguments_as_net_h_says)
{
	asup_rt *rt = io_rt();
	CHECK_EQ(io_run(rt, net_rules_root, NULL), 0);
	test_rt_done(rt);
}
