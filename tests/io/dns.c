/* Name resolution on the blocking pool: numeric and local names, error
 * codes, and a cancel or deadline that returns at once while the lookup
 * finishes in the background and frees its result. */
#include "pooltest.h"

#include <asupersync/io.h>

extern _Atomic long asup__dns_live;

static int64_t numeric(asup_cx *cx, void *arg)
{
	struct addrinfo hints, *res = NULL;
	struct sockaddr_in *a;

	(void)arg;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	CHECK_EQ(asup_resolve(cx, "127.0.0.1", "8080", &hints, &res), 0);
	CHECK(res != NULL);
	CHECK_EQ(res->ai_family, AF_INET);
	a = (struct sockaddr_in *)res->ai_addr;
	CHECK_EQ(ntohs(a->sin_port), 8080);
	CHECK_EQ(ntohl(a->sin_addr.s_addr), INADDR_LOOPBACK);
	asup_resolve_free(res);

	/* "localhost" comes from /etc/hosts: no network needed. */
	res = NULL;
	hints.ai_family = AF_UNSPEC;
	hints.ai_flags = AI_NUMERICSERV;
	CHECK_EQ(asup_resolve(cx, "localhost", "80", &hints, &res), 0);
	CHECK(res != NULL);
	CHECK(res->ai_family == AF_INET || res->ai_family == AF_INET6);
	asup_resolve_free(res);
	asup_resolve_free(NULL);
	return 0;
}

TEST(resolve_numeric_addresses_and_localhost)
{
	io_skip_uring_threads_under_valgrind();
	asup_rt *rt = io_rt();
	CHECK_EQ(io_run(rt, numeric, NULL), 0);
	test_rt_done(rt);
	CHECK_EQ(atomic_load(&asup__dns_live), 0);
}

/* The default backend (AUTO) resolves in every configuration, valgrind
 * included: there it takes epoll, since a thread waiting in io_uring under
 * valgrind would keep the pool's thread from ever running. No skip here. */
TEST(resolve_on_the_default_backend_finishes_everywhere)
{
	asup_rt_config cfg;
	asup_rt *rt;

	asup_rt_config_init(&cfg);
	CHECK_EQ(cfg.io_backend, ASUP_IO_AUTO);
	CHECK_EQ(asup_rt_create(&cfg, &rt), 0);
	CHECK_EQ(io_run(rt, numeric, NULL), 0);
	test_rt_done(rt);
	CHECK_EQ(atomic_load(&asup__dns_live), 0);
}

static int64_t codes(asup_cx *cx, void *arg)
{
	struct addrinfo hints, *res = NULL;

	(void)arg;
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST;
	CHECK_EQ(asup_resolve(cx, "not-an-address", NULL, &hints, &res), -ENOENT);
	CHECK(res == NULL);
	CHECK_EQ(asup_resolve(cx, NULL, NULL, &hints, &res), -EINVAL);
	CHECK_EQ(asup_resolve(cx, "127.0.0.1", NULL, &hints, NULL), -EINVAL);
	hints.ai_family = 12345;
	CHECK_EQ(asup_resolve(cx, "127.0.0.1", NULL, &hints, &res), -EINVAL);
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	CHECK_EQ(asup_resolve(cx, "127.0.0.1", "no-such-service-here", &hints, &res), -ESRCH);
	CHECK(res == NULL);
	return 0;
}

TEST(resolve_failures_map_to_clear_codes)
{
	io_skip_uring_threads_under_valgrind();
	asup_rt *rt = io_rt();
	CHECK_EQ(io_run(rt, codes, NULL), 0);
	test_rt_done(rt);
	CHECK_EQ(atomic_load(&asup__dns_live), 0);
}

static int64_t no_cap(asup_cx *cx, void *arg)
{
	struct addrinfo *res = NULL;

	(void)arg;
	return asup_resolve(cx, "127.0.0.1", NULL, NULL, &res);
}

static int64_t eperm(asup_cx *cx, void *arg)
{
	(void)arg;
	CHECK_EQ(asup_cx_restricted(cx, asup_cx_caps(cx) & ~(uint32_t)ASUP_CAP_IO, no_cap, NULL),
		 -EPERM);
	return 0;
}

TEST(resolve_without_the_capability_is_refused_with_eperm)
{
	io_skip_uring_threads_under_valgrind();
	asup_rt *rt = io_rt();
	CHECK_EQ(io_run(rt, eperm, NULL), 0);
	test_rt_done(rt);
	CHECK_EQ(asup_resolve(NULL, "x", NULL, NULL, NULL), -ASUP_ENOTASK);
}

struct res_task {
	int rc;
	int returned;
};

static int64_t resolver(asup_cx *cx, void *arg)
{
	struct res_task *t = arg;
	struct addrinfo *res = NULL;

	t->rc = asup_resolve(cx, "127.0.0.1", "80", NULL, &res);
	t->returned = 1;
	asup_resolve_free(res);
	return 0;
}

static int64_t cancel_body(asup_cx *cx, void *arg)
{
	struct res_task t = {0, 0};
	asup_outcome o;
	asup_task h;

	(void)arg;
	hold_arm(ASUP__POOL_DNS);
	CHECK_EQ(asup_spawn(cx, resolver, &t, NULL, &h), 0);
	hold_wait_started(cx);
	CHECK_EQ(atomic_load(&asup__dns_live), 1);
	CHECK_EQ(asup_task_abort(&h), 0);
	/* The resolve returns while the lookup is still held on the pool. */
	for (int i = 0; i < 1000 && !t.returned; i++)
		CHECK_EQ(asup_sleep(cx, 1000000), 0);
	CHECK_EQ(t.returned, 1);
	CHECK_EQ(t.rc, -ECANCELED);
	CHECK_EQ(atomic_load(&released), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	hold_disarm();
	return 0;
}

static int64_t cancel_resolve(asup_cx *cx, void *arg)
{
	asup_outcome o;

	CHECK_EQ(asup_region(cx, cancel_body, arg, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	/* The region closed only after the abandoned lookup returned, and the
	 * pool thread freed its state. */
	CHECK_EQ(atomic_load(&asup__dns_live), 0);
	return 0;
}

TEST(cancelled_resolve_returns_at_once_and_the_late_result_is_freed)
{
	io_skip_uring_threads_under_valgrind();
	asup_rt *rt = io_rt();
	CHECK_EQ(io_run(rt, cancel_resolve, NULL), 0);
	test_rt_done(rt);
	CHECK_EQ(atomic_load(&asup__dns_live), 0);
}

static int64_t held_resolve(asup_cx *cx, void *arg)
{
	struct addrinfo *res = NULL;

	(void)arg;
	return asup_resolve(cx, "127.0.0.1", "80", NULL, &res);
}

static int64_t deadline(asup_cx *cx, void *arg)
{
	(void)arg;
	hold_arm(ASUP__POOL_DNS);
	/* The lookup cannot finish before the deadline: it is held (or not
	 * yet started) until the release below. */
	CHECK_EQ(asup_timeout(cx, 5000000, held_resolve, NULL), -ETIMEDOUT);
	CHECK_EQ(atomic_load(&released), 0);
	hold_disarm();
	return 0;
}

TEST(resolve_past_its_deadline_returns_etimedout)
{
	io_skip_uring_threads_under_valgrind();
	asup_rt *rt = io_rt();
	CHECK_EQ(io_run(rt, deadline, NULL), 0);
	test_rt_done(rt);
	CHECK_EQ(atomic_load(&asup__dns_live), 0);
}
