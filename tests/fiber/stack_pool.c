/* Fibers: how the stack pool maps, keeps and gives back stacks, and what a
 * parked task's stack costs in touched pages. */
#include "harness.h"
#include <asupersync.h>

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fiber/fiber.h"

#define KIB 1024u

static size_t pagesz(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

/* Resident pages of [lo, lo + len), or -1 if part of it is not mapped. */
static long resident_pages(void *lo, size_t len)
{
	size_t n = len / pagesz();
	unsigned char vec[1024];
	long cnt = 0;

	if (n > sizeof vec || mincore(lo, len, vec) != 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		cnt += vec[i] & 1;
	return cnt;
}

/* Writing below the stack's lowest usable byte must fault (in a child): the
 * child exits 0 only if the write went through. (Under ASan its own handler
 * reports the fault and exits with an error instead of the signal.) */
static int guard_faults(asup__stack *s)
{
	int status = 0;
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
		((volatile char *)s->lo)[-1] = 1;
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 0;
	return !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(fresh_pool_size_stacks_are_carved_from_one_batch_mapping)
{
	asup__stack_pool pool;
	asup__stack *a, *b, *odd;

	asup__stack_pool_init(&pool, 32 * KIB, 4);
	CHECK_EQ(asup__stack_get(&pool, 0, &a), 0);
	CHECK_EQ(asup__stack_get(&pool, 0, &b), 0);
	/* One mapping served both: b sits right above a, guard included. */
	CHECK((char *)b->map == (char *)a->map + a->map_len);
	CHECK_EQ(pool.resv_left, ASUP__STACK_BATCH - 2);
	CHECK_EQ(pool.mapped, 2);
	/* Another size is mapped on its own and leaves the reserve alone. */
	CHECK_EQ(asup__stack_get(&pool, 48 * KIB, &odd), 0);
	CHECK_EQ(pool.resv_left, ASUP__STACK_BATCH - 2);
	CHECK(odd->size >= 48 * KIB - 128);
	/* Each carved stack has its own guard; untouched reserve is no memory. */
	if (!harness_under_valgrind()) {
		CHECK(guard_faults(a));
		CHECK(guard_faults(b));
	}
	CHECK_EQ(resident_pages(pool.resv, pool.size + ASUP__STACK_GUARD), 0);
	asup__stack_put(&pool, odd); /* not the pool's size: unmapped at once */
	CHECK_EQ(pool.count, 0);
	asup__stack_put(&pool, a);
	asup__stack_put(&pool, b);
	asup__stack_pool_destroy(&pool);
	CHECK_EQ(pool.resv_left, 0);
}

TEST(the_reserve_refills_when_used_up)
{
	asup__stack_pool pool;
	asup__stack *s[ASUP__STACK_BATCH + 1];

	asup__stack_pool_init(&pool, 16 * KIB, 0);
	for (unsigned i = 0; i <= ASUP__STACK_BATCH; i++)
		CHECK_EQ(asup__stack_get(&pool, 0, &s[i]), 0);
	CHECK_EQ(pool.mapped, ASUP__STACK_BATCH + 1);
	CHECK_EQ(pool.resv_left, ASUP__STACK_BATCH - 1);
	for (unsigned i = 0; i <= ASUP__STACK_BATCH; i++) {
		((char *)s[i]->lo)[0] = (char)i; /* every stack is usable memory */
		asup__stack_put(&pool, s[i]);
	}
	asup__stack_pool_trim(&pool); /* nothing live, max 0: all go */
	CHECK_EQ(pool.count, 0);
	asup__stack_pool_destroy(&pool);
}

TEST(trim_keeps_as_many_warm_stacks_as_tasks_live)
{
	asup__stack_pool pool;
	asup__stack *s[6];

	asup__stack_pool_init(&pool, 16 * KIB, 1);
	for (int i = 0; i < 6; i++)
		CHECK_EQ(asup__stack_get(&pool, 0, &s[i]), 0);
	asup__stack_put(&pool, s[0]);
	asup__stack_put(&pool, s[1]);
	asup__stack_pool_trim(&pool); /* 4 live, 2 pooled: both stay warm */
	CHECK_EQ(pool.count, 2);
	CHECK_EQ(pool.cold_count, 0);
	asup__stack_put(&pool, s[2]);
	asup__stack_put(&pool, s[3]);
	asup__stack_put(&pool, s[4]);
	asup__stack_pool_trim(&pool); /* 1 live, 5 pooled: 1 warm, 4 cold */
	CHECK_EQ(pool.count, 1);
	CHECK_EQ(pool.cold_count, 4);
	asup__stack_put(&pool, s[5]);
	asup__stack_pool_trim(&pool); /* none live: max warm, nothing cold */
	CHECK_EQ(pool.count, 1);
	CHECK_EQ(pool.cold_count, 0);
	asup__stack_pool_destroy(&pool);
}

TEST(a_cold_stack_gives_its_memory_back_and_keeps_its_place_and_guard)
{
	asup__stack_pool pool;
	asup__stack *held, *s, *x, *warm, *again;
	void *lo, *map;
	size_t len;

	asup__stack_pool_init(&pool, 64 * KIB, 0);
	CHECK_EQ(asup__stack_get(&pool, 0, &held), 0); /* a task stays live */
	CHECK_EQ(asup__stack_get(&pool, 0, &s), 0);
	CHECK_EQ(asup__stack_get(&pool, 0, &x), 0);
	lo = s->lo;
	map = s->map;
	len = s->map_len;
	memset(s->lo, 0x5a, s->size); /* every page of it resident */
	CHECK(resident_pages(s->lo, 64 * KIB) >= 15);
	asup__stack_put(&pool, s); /* the colder of the two */
	asup__stack_put(&pool, x);
	asup__stack_pool_trim(&pool); /* 1 live: x stays warm, s goes cold */
	CHECK_EQ(pool.cold_count, 1);
	CHECK_EQ(pool.count, 1);
	if (!harness_under_valgrind()) /* valgrind keeps its own view of pages */
		CHECK_EQ(resident_pages(lo, 64 * KIB), 0);
	/* Warm first, then the cold one, before anything new is carved: same
	 * place, zeroed memory, guard still there. */
	CHECK_EQ(asup__stack_get(&pool, 0, &warm), 0);
	CHECK(warm == x);
	CHECK_EQ(asup__stack_get(&pool, 0, &again), 0);
	CHECK(again->lo == lo && again->map == map && again->map_len == len);
	CHECK_EQ(pool.reused, 2);
	CHECK_EQ(pool.mapped, 3);
	CHECK_EQ(pool.resv_left, ASUP__STACK_BATCH - 3);
	CHECK_EQ(((char *)again->lo)[0], 0);
	CHECK_EQ(((char *)again->lo)[again->size - 1], 0);
	if (!harness_under_valgrind())
		CHECK(guard_faults(again));
	asup__stack_put(&pool, again);
	asup__stack_put(&pool, warm);
	asup__stack_pool_trim(&pool);
	CHECK_EQ(pool.cold_count, 1);
	asup__stack_put(&pool, held);
	asup__stack_pool_trim(&pool); /* none live: warm beyond max and cold unmapped */
	CHECK_EQ(pool.cold_count, 0);
	CHECK_EQ(pool.count, 0);
	CHECK_EQ(resident_pages(map, len), -1);
	asup__stack_pool_destroy(&pool);
}

TEST(a_trim_with_no_task_live_unmaps_neighbours_together_and_nothing_else)
{
	asup__stack_pool pool;
	asup__stack *s[5];
	char *map[5];
	size_t len;

	asup__stack_pool_init(&pool, 16 * KIB, 1);
	for (int i = 0; i < 5; i++) {
		CHECK_EQ(asup__stack_get(&pool, 0, &s[i]), 0);
		map[i] = s[i]->map;
	}
	len = s[0]->map_len;
	CHECK(map[4] == map[0] + 4 * len); /* side by side, from one batch */
	/* s[1] goes cold first (s[0] stays live), then everything is put. */
	asup__stack_put(&pool, s[1]);
	asup__stack_put(&pool, s[2]);
	asup__stack_pool_trim(&pool); /* 3 live, 2 pooled: warm */
	CHECK_EQ(pool.cold_count, 0);
	asup__stack_put(&pool, s[3]);
	asup__stack_put(&pool, s[4]);
	asup__stack_pool_trim(&pool); /* 1 live, 4 pooled: 1 warm, 3 cold */
	CHECK_EQ(pool.cold_count, 3);
	asup__stack_put(&pool, s[0]);
	asup__stack_pool_trim(&pool); /* none live: all but max (1) unmapped */
	CHECK_EQ(pool.count, 1);
	CHECK_EQ(pool.cold_count, 0);
	int mapped = 0;
	for (int i = 0; i < 5; i++)
		mapped += resident_pages(map[i], len) >= 0;
	CHECK_EQ(mapped, 1); /* the one warm stack */
	/* The reserve right above the last stack is still there. */
	CHECK(pool.resv == map[4] + len);
	CHECK(resident_pages(pool.resv, len) >= 0);
	asup__stack_pool_destroy(&pool);
	CHECK_EQ(resident_pages(map[0], 5 * len), -1);
}

/* ---- a parked task touches one page of its stack ---- */

static volatile char *parked_local;

static int64_t parked_sleeper(asup_cx *cx, void *arg)
{
	volatile char mark = 1;
	(void)arg;
	parked_local = &mark;
	return asup_sleep(cx, ASUP_MSEC(1));
}

static int64_t watch_parked(asup_cx *cx, void *arg)
{
	long *pages = arg;
	asup_task h;
	int rc;

	if ((rc = asup_spawn(cx, parked_sleeper, NULL, NULL, &h)) < 0)
		return rc;
	if ((rc = asup_yield(cx)) < 0) /* the sleeper runs and parks */
		return rc;
	if (!parked_local)
		return -EINVAL;
	/* The sleeper's stack: the page of its frame and everything below it
	 * down to the guard (64 KiB stacks, the header in the top page). */
	char *top_page = (char *)((uintptr_t)parked_local & ~(uintptr_t)(pagesz() - 1));
	char *lo = top_page + pagesz() - 64 * KIB;
	*pages = resident_pages(lo, 64 * KIB);
	return asup_join(cx, &h, NULL);
}

TEST(a_task_parked_in_sleep_touches_one_stack_page)
{
	asup_rt_config cfg;
	asup_rt *rt;
	asup_outcome o;
	long pages = -2;

#if defined(__SANITIZE_ADDRESS__) || defined(ASUP_ASAN) || defined(ASUP_TSAN)
	SKIP("sanitizers make frames larger");
#endif
	if (harness_under_valgrind())
		SKIP("valgrind keeps its own view of pages");
	asup_rt_config_init(&cfg);
	cfg.stack_size = 64 * KIB;
	CHECK_EQ(asup_rt_create(&cfg, &rt), 0);
	CHECK_EQ(asup_rt_run(rt, watch_parked, &pages, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	/* The header and the whole sleep path share the top page. */
	CHECK_EQ(pages, 1);
	CHECK_EQ(asup_rt_destroy(rt), 0);
}

/* ---- parked tasks cost a page and a record, whatever the stack size ---- */

#define PARKED_N 2000

static long rss_kb(void)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, "VmRSS:", 6) == 0)
			v = strtol(line + 6, NULL, 10);
	fclose(f);
	return v;
}

static int n_parked;

static int64_t counted_sleeper(asup_cx *cx, void *arg)
{
	(void)arg;
	n_parked++;
	return asup_sleep(cx, ASUP_SEC(3600)); /* until aborted */
}

static int64_t park_many(asup_cx *cx, void *arg)
{
	long *bytes_per_task = arg;
	static asup_task h[PARKED_N];
	long before = rss_kb();
	int rc;

	n_parked = 0;
	for (int i = 0; i < PARKED_N; i++)
		if ((rc = asup_spawn(cx, counted_sleeper, NULL, NULL, &h[i])) < 0)
			return rc;
	if ((rc = asup_yield(cx)) < 0) /* every sleeper runs and parks */
		return rc;
	if (n_parked != PARKED_N)
		return -EINVAL;
	*bytes_per_task = (rss_kb() - before) * 1024 / PARKED_N;
	for (int i = 0; i < PARKED_N; i++)
		if ((rc = asup_task_abort(&h[i])) < 0)
			return rc;
	for (int i = 0; i < PARKED_N; i++)
		if ((rc = asup_join(cx, &h[i], NULL)) < 0)
			return rc;
	return 0;
}

static long parked_cost(size_t stack_size)
{
	asup_rt_config cfg;
	asup_rt *rt;
	asup_outcome o;
	long bytes = -1;

	asup_rt_config_init(&cfg);
	cfg.stack_size = stack_size;
	if (asup_rt_create(&cfg, &rt) != 0)
		return -1;
	if (asup_rt_run(rt, park_many, &bytes, &o) != 0 || o.kind != ASUP_OUTCOME_OK)
		bytes = -1;
	asup_rt_destroy(rt);
	return bytes;
}

TEST(parked_tasks_cost_one_stack_page_and_a_record_whatever_the_stack_size)
{
	long small, big;

#if defined(__SANITIZE_ADDRESS__) || defined(ASUP_ASAN) || defined(ASUP_TSAN)
	SKIP("sanitizers make frames larger and shadow memory counts in the RSS");
#endif
	if (harness_under_valgrind())
		SKIP("valgrind keeps its own view of pages");
	small = parked_cost(16 * KIB);
	big = parked_cost(256 * KIB);
	fprintf(stderr, "bytes per parked task: %ld (16 KiB stacks), %ld (256 KiB)\n", small, big);
	/* One page of stack at least, and well under two pages in all. */
	CHECK(small >= 4096 && small < 6144);
	CHECK(big >= 4096 && big < 6144);
}
