/*
 * Task record memory goes back when the records are free: after a burst of
 * joined tasks the wholly free record chunks are discarded (while the
 * runtime is still busy, once enough are free, and whenever it goes idle),
 * the process's resident memory drops accordingly, and stale handle copies
 * and wakers of discarded records are still refused, also after the chunks
 * were revived for new tasks.
 */
#include "testrt.h"

#include "kernel/kernel.h"

#include <errno.h>
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#define BURST 100000

typedef struct burst {
	asup_rt *rt;
	asup_task *h;
	asup_task stale;        /* a copy of h[0], joined through h[0] */
	asup_waker waker;       /* the first task's waker */
	uint32_t resident_peak; /* records resident before the joins */
	uint32_t resident_after;
	long rss_peak_kb, rss_after_kb;
} burst;

static burst B;

static long rss_kb(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
		resident = -1;
	fclose(f);
	return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static int64_t first_task(asup_cx *cx, void *arg)
{
	(void)arg;
	B.waker = asup_waker_current(cx);
	return 1;
}

static int64_t trivial(asup_cx *cx, void *arg)
{
	(void)cx;
	return (int64_t)(intptr_t)arg & 1;
}

static int64_t burst_root(asup_cx *cx, void *arg)
{
	struct asup__kernel *k = asup__rt_kernel(B.rt);
	int64_t sum = 0;
	asup_outcome o;
	(void)arg;
	for (long i = 0; i < BURST; i++)
		CHECK_EQ(asup_spawn(cx, i ? trivial : first_task, (void *)(intptr_t)i, NULL, &B.h[i]),
			 0);
	B.stale = B.h[0];
	B.resident_peak = k->nrecs;
	B.rss_peak_kb = rss_kb();
	for (long i = 0; i < BURST; i++) {
		CHECK_EQ(asup_join(cx, &B.h[i], &o), 0);
		sum += o.value;
	}
	/* Still busy (this task runs): the busy trim did the work. */
	B.resident_after = k->nrecs;
	B.rss_after_kb = rss_kb();
	return sum;
}

TEST(records_of_a_joined_burst_are_given_back_while_busy)
{
	struct asup__kernel *k;
	asup_outcome o;

	B.rt = test_rt(ASUP_MODE_DETERMINISTIC, 1);
	B.h = calloc(BURST, sizeof(*B.h));
	CHECK(B.h != NULL);
	CHECK_EQ(asup_rt_run(B.rt, burst_root, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(o.value, BURST / 2 + 1); /* odd indices, and the first task's 1 */
	CHECK(B.resident_peak >= BURST);
	/* At most the kept reserve plus the chunks of the root's own record
	 * and of the records the busy trim had not reached yet. */
	printf("records resident: %u at the peak, %u after the joins\n", B.resident_peak,
	       B.resident_after);
	CHECK(B.resident_after <= B.resident_peak / 2);
	/* Idle at the end of the run: only the reserve stays. */
	k = asup__rt_kernel(B.rt);
	CHECK(k->nrecs <= ASUP__REC_KEEP + 2 * ASUP__REC_CHUNK);
	if (!RUNNING_ON_VALGRIND && B.rss_peak_kb > 0) {
		/* The pages really went back (all but each chunk's partial
		 * first and last page). */
		long record_kb = (long)(BURST * sizeof(struct asup__ktask) / 1024);
		long idle_kb = rss_kb();
		printf("rss: %ld kB at the peak, %ld kB after the joins, %ld kB idle "
		       "(records: %ld kB)\n",
		       B.rss_peak_kb, B.rss_after_kb, idle_kb, record_kb);
		CHECK(B.rss_peak_kb - B.rss_after_kb >= record_kb / 3);
		CHECK(B.rss_peak_kb - idle_kb >= record_kb * 3 / 4);
	}
	test_rt_done(B.rt);
	free(B.h);
}

static int64_t spawn_some(asup_cx *cx, void *arg)
{
	asup_task h[256];
	asup_outcome o;
	int64_t sum = 0;
	(void)arg;
	for (int i = 0; i < 256; i++)
		CHECK_EQ(asup_spawn(cx, trivial, (void *)(intptr_t)1, NULL, &h[i]), 0);
	for (int i = 0; i < 256; i++) {
		CHECK_EQ(asup_join(cx, &h[i], &o), 0);
		sum += o.value;
	}
	return sum;
}

static int64_t burst_small(asup_cx *cx, void *arg)
{
	(void)arg;
	for (long i = 0; i < 4096; i++)
		CHECK_EQ(asup_spawn(cx, i ? trivial : first_task, (void *)(intptr_t)i, NULL, &B.h[i]),
			 0);
	B.stale = B.h[0];
	for (long i = 0; i < 4096; i++)
		CHECK_EQ(asup_join(cx, &B.h[i], NULL), 0);
	return 0;
}

TEST(stale_handles_and_wakers_of_discarded_records_are_refused)
{
	struct asup__kernel *k;
	asup_outcome o;
	uint32_t spare;

	B.rt = test_rt(ASUP_MODE_DETERMINISTIC, 2);
	B.h = calloc(4096, sizeof(*B.h));
	CHECK(B.h != NULL);
	CHECK_EQ(asup_rt_run(B.rt, burst_small, NULL, &o), 0);
	k = asup__rt_kernel(B.rt);
	spare = k->nspare;
	CHECK(spare > 0); /* the idle trim discarded chunks */
	CHECK_EQ(asup_task_try_join(&B.stale, &o), -ESRCH);
	CHECK_EQ(asup_task_release(&B.stale), -ESRCH);
	CHECK_EQ(asup_unpark(B.waker), 0);
	/* New tasks revive spare chunks first, with fresh generations. */
	for (int round = 0; round < 8; round++) {
		CHECK_EQ(asup_rt_run(B.rt, spawn_some, NULL, &o), 0);
		CHECK_EQ(o.value, 256);
	}
	CHECK_EQ(asup_task_try_join(&B.stale, &o), -ESRCH);
	CHECK_EQ(asup_unpark(B.waker), 0);
	test_rt_done(B.rt);
	free(B.h);
}

/* Spawn and join in a steady state allocates nothing: the reserve kept by
 * every trim covers a modest working set. */
static uint64_t allocs;
static void *count_alloc(void *ud, size_t n)
{
	(void)ud;
	allocs++;
	return malloc(n);
}
static void count_free(void *ud, void *p, size_t n)
{
	(void)ud;
	(void)n;
	free(p);
}

TEST(steady_spawn_and_join_allocate_no_records_after_warm_up)
{
	asup_rt_config cfg;
	asup_outcome o;
	asup_rt *rt;
	uint64_t before;

	asup_rt_config_init(&cfg);
	cfg.mode = ASUP_MODE_DETERMINISTIC;
	cfg.alloc.alloc = count_alloc;
	cfg.alloc.free = count_free;
	rt = test_rt_cfg(&cfg);
	CHECK_EQ(asup_rt_run(rt, spawn_some, NULL, &o), 0);
	before = allocs;
	for (int round = 0; round < 16; round++)
		CHECK_EQ(asup_rt_run(rt, spawn_some, NULL, &o), 0);
	CHECK_EQ(allocs, before);
	test_rt_done(rt);
}
