/*
 * Fibers: raw context switches between fibers, what survives a switch
 * (callee-saved registers, floating point values and control state), the
 * warm stack pool, deep recursion within a stack, and stack size rounding.
 */
#include "testrt.h"

#include "fiber/fiber.h"

/* ---- ping-pong between two fibers ---- */

static asup__fiber thread_f, fa, fb;
static volatile long ball; /* passed back and forth */
static char trace[4096];
static int ntrace;

static void note(char c)
{
	if (ntrace < (int)sizeof trace - 1)
		trace[ntrace++] = c;
}

/* A: adds 1 and serves to B, `rounds` times, then returns to the thread. */
static void fiber_a(void *arg)
{
	long rounds = *(long *)arg;
	asup__fiber_enter();
	for (long i = 0; i < rounds; i++) {
		long before = ball;
		note('a');
		ball = before + 1;
		asup__fiber_switch(&fa, &fb);
		CHECK_EQ(ball, (before + 1) * 2); /* B ran exactly once */
	}
	note('A');
	for (;;)
		asup__fiber_switch(&fa, &thread_f);
}

/* B: doubles the ball and serves back to A. */
static void fiber_b(void *arg)
{
	asup__fiber_enter();
	for (;;) {
		note('b');
		ball *= 2;
		asup__fiber_switch(&fb, &fa);
	}
}

TEST(two_fibers_ping_pong)
{
	asup__stack_pool pool;
	asup__stack *sa, *sb;
	long rounds = 50;
	long expect = 0;

	asup__stack_pool_init(&pool, 64 * 1024, 4);
	CHECK_EQ(asup__stack_get(&pool, 0, &sa), 0);
	CHECK_EQ(asup__stack_get(&pool, 0, &sb), 0);
	CHECK(sa != sb);
	asup__fiber_init_thread(&thread_f, "thread");
	asup__fiber_set_current(&thread_f);
	CHECK(asup__fiber_current() == &thread_f);
	asup__fiber_init(&fa, sa, fiber_a, &rounds);
	asup__fiber_init(&fb, sb, fiber_b, NULL);
	ball = 0;
	ntrace = 0;
	asup__fiber_switch(&thread_f, &fa);
	CHECK(asup__fiber_current() == &thread_f);
	trace[ntrace] = 0;
	/* a b a b ... A: strictly alternating, then A's exit */
	CHECK_EQ(ntrace, 2 * rounds + 1);
	for (int i = 0; i < 2 * rounds; i++)
		CHECK_EQ(trace[i], i % 2 ? 'b' : 'a');
	CHECK_EQ(trace[2 * rounds], 'A');
	for (long i = 0; i < rounds; i++)
		expect = (expect + 1) * 2;
	CHECK_EQ(ball, expect);
	asup__fiber_set_current(NULL);
	asup__fiber_fini(&fa);
	asup__fiber_fini(&fb);
	asup__stack_put(&pool, sa);
	asup__stack_put(&pool, sb);
	asup__stack_pool_destroy(&pool);
}

/* ---- callee-saved registers and floating point values survive ---- */

static asup__fiber f1, f2;
static uint64_t result1, result2;

/*
 * Keeps twelve integers and eight doubles live across every switch (more
 * than the callee-saved registers, so some live in them and some are
 * spilled). With peer == NULL it computes the same thing without switching.
 */
static __attribute__((noinline)) uint64_t grind(uint64_t seed, asup__fiber *self, asup__fiber *peer,
                                                int iters)
{
	uint64_t r0 = seed, r1 = seed * 3, r2 = seed ^ 0x55, r3 = seed + 7, r4 = seed * seed,
	         r5 = ~seed, r6 = seed << 3, r7 = seed >> 1, r8 = seed * 11, r9 = seed + 99,
	         r10 = seed ^ 0xdeadbeef, r11 = seed * 13;
	double d0 = (double)seed, d1 = 0.5, d2 = 1.25, d3 = -3.0, d4 = 1e-3, d5 = 7.0, d6 = 0.1,
	       d7 = (double)(seed & 0xff);

	for (int i = 0; i < iters; i++) {
		r0 += r11 ^ (uint64_t)i;
		r1 ^= r0 * 3;
		r2 += r1 >> 2;
		r3 = r3 * 5 + r2;
		r4 ^= r3 + r9;
		r5 += r4 * 7;
		r6 ^= r5 >> 3;
		r7 += r6 + r10;
		r8 ^= r7 * 9;
		r9 += r8 >> 5;
		r10 ^= r9 + r0;
		r11 += r10 * 17;
		d0 = d0 * 0.999 + (double)(r3 & 15);
		d1 = d1 * 1.001 + d0 * 1e-6;
		d2 += d1 * 0.5;
		d3 -= d2 * 1e-3;
		d4 = d4 * 1.5 + 1e-4;
		d5 = d5 / 1.0001 + d4;
		d6 += d5 * d6 * 1e-6;
		d7 = d7 * 0.75 + d6;
		if (peer)
			asup__fiber_switch(self, peer);
	}
	return r0 ^ r1 ^ r2 ^ r3 ^ r4 ^ r5 ^ r6 ^ r7 ^ r8 ^ r9 ^ r10 ^ r11 ^ (uint64_t)(d0 * 1e3) ^
	       (uint64_t)(d1 * 1e3) ^ (uint64_t)(d2 * 1e3) ^ (uint64_t)(-d3 * 1e3) ^
	       (uint64_t)(d4 * 1e3) ^ (uint64_t)(d5 * 1e3) ^ (uint64_t)(d6 * 1e3) ^
	       (uint64_t)(d7 * 1e3);
}

static void grind1(void *arg)
{
	asup__fiber_enter();
	result1 = grind(12345, &f1, &f2, 200);
	for (;;)
		asup__fiber_switch(&f1, &thread_f);
}

static void grind2(void *arg)
{
	asup__fiber_enter();
	result2 = grind(987654321, &f2, &f1, 200);
	for (;;)
		asup__fiber_switch(&f2, &thread_f);
}

TEST(registers_and_doubles_survive_switches)
{
	asup__stack_pool pool;
	asup__stack *s1, *s2;
	uint64_t want1 = grind(12345, NULL, NULL, 200);
	uint64_t want2 = grind(987654321, NULL, NULL, 200);
	/* the thread's own live values must survive too */
	volatile double mine = 2.5;
	uint64_t k0 = want1 * 3, k1 = want2 + 5;

	CHECK(want1 != want2);
	asup__stack_pool_init(&pool, 64 * 1024, 4);
	CHECK_EQ(asup__stack_get(&pool, 0, &s1), 0);
	CHECK_EQ(asup__stack_get(&pool, 0, &s2), 0);
	asup__fiber_init_thread(&thread_f, "thread");
	asup__fiber_set_current(&thread_f);
	asup__fiber_init(&f1, s1, grind1, NULL);
	asup__fiber_init(&f2, s2, grind2, NULL);
	result1 = result2 = 0;
	asup__fiber_switch(&thread_f, &f1); /* f1 finishes first ... */
	CHECK_EQ(result1, want1);
	CHECK_EQ(result2, 0);
	asup__fiber_switch(&thread_f, &f2); /* ... f2 is one switch behind */
	CHECK_EQ(result2, want2);
	CHECK(mine == 2.5);
	CHECK_EQ(k0, want1 * 3);
	CHECK_EQ(k1, want2 + 5);
	asup__fiber_set_current(NULL);
	asup__fiber_fini(&f1);
	asup__fiber_fini(&f2);
	asup__stack_put(&pool, s1);
	asup__stack_put(&pool, s2);
	asup__stack_pool_destroy(&pool);
}

#if defined(__x86_64__)
/* The floating point control state (rounding mode) belongs to the fiber. */
#define MXCSR_DEFAULT 0x1F80u
#define MXCSR_RC_MASK 0x6000u
#define MXCSR_RC_UP   0x4000u
#define MXCSR_RC_ZERO 0x6000u
#define FCW_RC_MASK   0x0C00u
#define FCW_RC_UP     0x0800u
#define FCW_RC_DOWN   0x0400u

static unsigned get_mxcsr(void)
{
	unsigned v;
	__asm__ volatile("stmxcsr %0" : "=m"(v));
	return v;
}

static void set_mxcsr(unsigned v)
{
	__asm__ volatile("ldmxcsr %0" : : "m"(v));
}

static unsigned get_fcw(void)
{
	unsigned short v;
	__asm__ volatile("fnstcw %0" : "=m"(v));
	return v;
}

static void set_fcw(unsigned v)
{
	unsigned short w = (unsigned short)v;
	__asm__ volatile("fldcw %0" : : "m"(w));
}

static uint64_t third_bits(void)
{
	volatile double a = 1.0, b = 3.0;
	double q = a / b;
	uint64_t u;
	memcpy(&u, &q, sizeof u);
	return u;
}

static asup__fiber fm;
static unsigned fm_mxcsr_at_start, fm_mxcsr_after, fm_fcw_after;
static uint64_t fm_third;

static void rounding_fiber(void *arg)
{
	asup__fiber_enter();
	fm_mxcsr_at_start = get_mxcsr();
	set_mxcsr((get_mxcsr() & ~MXCSR_RC_MASK) | MXCSR_RC_UP);
	set_fcw((get_fcw() & ~FCW_RC_MASK) | FCW_RC_UP);
	asup__fiber_switch(&fm, &thread_f);
	/* the thread changed its own modes meanwhile: ours are intact */
	fm_mxcsr_after = get_mxcsr();
	fm_fcw_after = get_fcw();
	fm_third = third_bits();
	for (;;)
		asup__fiber_switch(&fm, &thread_f);
}

static void rounding_modes_case(void)
{
	asup__stack_pool pool;
	asup__stack *s;
	unsigned thread_mxcsr = get_mxcsr(), thread_fcw = get_fcw();
	uint64_t nearest = third_bits();

	CHECK_EQ(thread_mxcsr & MXCSR_RC_MASK, 0); /* round to nearest */
	asup__stack_pool_init(&pool, 64 * 1024, 4);
	CHECK_EQ(asup__stack_get(&pool, 0, &s), 0);
	asup__fiber_init_thread(&thread_f, "thread");
	asup__fiber_set_current(&thread_f);
	/* the fiber is created while the thread rounds toward zero */
	set_mxcsr((thread_mxcsr & ~MXCSR_RC_MASK) | MXCSR_RC_ZERO);
	asup__fiber_init(&fm, s, rounding_fiber, NULL);
	asup__fiber_switch(&thread_f, &fm);
	/* back on the thread: its own mode, not the fiber's */
	CHECK_EQ(get_mxcsr() & MXCSR_RC_MASK, MXCSR_RC_ZERO);
	CHECK_EQ(get_fcw(), thread_fcw);
	set_mxcsr(thread_mxcsr);
	set_fcw((thread_fcw & ~FCW_RC_MASK) | FCW_RC_DOWN);
	asup__fiber_switch(&thread_f, &fm);
	CHECK_EQ(get_mxcsr(), thread_mxcsr);
	CHECK_EQ(get_fcw() & FCW_RC_MASK, FCW_RC_DOWN);
	set_fcw(thread_fcw);
#ifndef ASUP_FIBER_PORTABLE
	/* a new fiber starts with the ABI's initial state, not its creator's */
	CHECK_EQ(fm_mxcsr_at_start, MXCSR_DEFAULT);
#endif
	CHECK_EQ(fm_mxcsr_after & MXCSR_RC_MASK, MXCSR_RC_UP);
	CHECK_EQ(fm_fcw_after & FCW_RC_MASK, FCW_RC_UP);
	/* and the mode is in effect: 1/3 rounds up in the fiber. (Valgrind
	 * keeps the register but computes SSE arithmetic rounding to nearest.) */
	if (!harness_under_valgrind())
		CHECK_EQ(fm_third, nearest + 1);
	CHECK_EQ(third_bits(), nearest);
	asup__fiber_set_current(NULL);
	asup__fiber_fini(&fm);
	asup__stack_put(&pool, s);
	asup__stack_pool_destroy(&pool);
}
#endif

TEST(rounding_modes_belong_to_each_fiber)
{
#if defined(__x86_64__)
	rounding_modes_case();
#else
	SKIP("the control registers this case reads are x86-64's");
#endif
}

/* ---- the warm stack pool ---- */

TEST(stack_pool_maps_then_reuses)
{
	asup__stack_pool pool;
	asup__stack *a, *b, *c, *big, *d;
	size_t ps = (size_t)sysconf(_SC_PAGESIZE);

	asup__stack_pool_init(&pool, 32 * 1024, 1);
	CHECK_EQ(asup__stack_get(&pool, 0, &a), 0);
	CHECK_EQ(asup__stack_get(&pool, 32 * 1024, &b), 0); /* the pool's size: same as 0 */
	CHECK(a != b);
	CHECK_EQ(pool.mapped, 2);
	CHECK_EQ(pool.reused, 0);
	CHECK_EQ(pool.live, 2);
	/* the usable part lies above the guard (ASUP__STACK_GUARD, at least a
	 * page), page aligned, and holds nearly the whole request (the header
	 * takes the top bytes) */
	CHECK_EQ((uintptr_t)a->lo % ps, 0);
	CHECK((char *)a->lo ==
	      (char *)a->map + (ASUP__STACK_GUARD > ps ? (ASUP__STACK_GUARD + ps - 1) / ps * ps : ps));
	CHECK(a->size >= 32 * 1024 - 128 && a->size < 32 * 1024);
	memset(a->lo, 0xab, a->size); /* every usable byte is writable */

	asup__stack_put(&pool, a);
	CHECK_EQ(pool.count, 1);
	CHECK_EQ(pool.live, 1);
	CHECK_EQ(asup__stack_get(&pool, 0, &c), 0);
	CHECK(c == a); /* served warm, not mapped */
	CHECK_EQ(pool.mapped, 2);
	CHECK_EQ(pool.reused, 1);
	CHECK_EQ(pool.count, 0);

	/* another size is mapped for the caller and unmapped on return */
	CHECK_EQ(asup__stack_get(&pool, 128 * 1024, &big), 0);
	CHECK_EQ(pool.mapped, 3);
	CHECK(big->size >= 128 * 1024 - 128);
	asup__stack_put(&pool, big);
	CHECK_EQ(pool.count, 0);

	/* returns are pooled whatever the limit; trim keeps the warmest `max` */
	asup__stack_put(&pool, c);
	asup__stack_put(&pool, b);
	CHECK_EQ(pool.count, 2);
	CHECK_EQ(pool.live, 0);
	asup__stack_pool_trim(&pool);
	CHECK_EQ(pool.count, 1);
	CHECK_EQ(asup__stack_get(&pool, 0, &d), 0);
	CHECK(d == b); /* the last one returned is the warmest */
	CHECK_EQ(pool.reused, 2);
	asup__stack_put(&pool, d);
	asup__stack_pool_destroy(&pool);
	CHECK_EQ(pool.count, 0);
}

static int64_t yield_once(asup_cx *cx, void *arg)
{
	CHECK_EQ(asup_yield(cx), 0);
	return 0;
}

static int64_t nothing(asup_cx *cx, void *arg)
{
	return 0;
}

static int64_t wait_on(asup_cx *cx, void *arg)
{
	return asup_waitq_wait(cx, arg);
}

TEST(runtime_tasks_reuse_pooled_stacks)
{
	asup_rt *rt = test_rt(ASUP_MODE_DETERMINISTIC, 1);
	asup_spawn_opts big;
	asup_rt_stats st;
	asup_task h[4], hb;

	CHECK_EQ(asup_rt_stats_get(rt, &st), 0);
	CHECK_EQ(st.stacks_mapped, 0); /* stacks come with the first dispatch */
	CHECK_EQ(asup_rt_spawn(rt, nothing, NULL, NULL, &h[0]), 0);
	CHECK_EQ(asup_rt_stats_get(rt, &st), 0);
	CHECK_EQ(st.stacks_mapped, 0);
	CHECK_EQ(asup_rt_run_until_idle(rt), 1);
	CHECK_EQ(asup_task_try_join(&h[0], NULL), 0);
	CHECK_EQ(asup_rt_stats_get(rt, &st), 0);
	CHECK_EQ(st.stacks_mapped, 1);
	CHECK_EQ(st.stacks_pooled, 1);
	/* one after the other: the same stack serves again */
	for (int i = 0; i < 5; i++) {
		CHECK_EQ(asup_rt_spawn(rt, nothing, NULL, NULL, &h[0]), 0);
		CHECK_EQ(asup_rt_run_until_idle(rt), 1);
		CHECK_EQ(asup_task_try_join(&h[0], NULL), 0);
	}
	CHECK_EQ(asup_rt_stats_get(rt, &st), 0);
	CHECK_EQ(st.stacks_mapped, 1);
	CHECK_EQ(st.stacks_reused, 5);
	/* four alive at once need four stacks: one warm, three new */
	asup_waitq q;
	asup_waitq_init(&q);
	for (int i = 0; i < 4; i++)
		CHECK_EQ(asup_rt_spawn(rt, wait_on, &q, NULL, &h[i]), 0);
	CHECK_EQ(asup_rt_run_until_idle(rt), 4);
	CHECK_EQ(asup_waitq_wake_all(&q), 4);
	CHECK_EQ(asup_rt_run_until_idle(rt), 4);
	CHECK_EQ(asup_rt_stats_get(rt, &st), 0);
	CHECK_EQ(st.stacks_mapped, 4);
	CHECK_EQ(st.stacks_reused, 6);
	CHECK_EQ(st.stacks_pooled, 4);
	for (int i = 0; i < 4; i++)
		CHECK_EQ(asup_task_try_join(&h[i], NULL), 0);
	/* a task with its own stack size gets its own mapping, not pooled */
	asup_spawn_opts_init(&big);
	big.stack_size = 256 * 1024;
	CHECK_EQ(asup_rt_spawn(rt, nothing, NULL, &big, &hb), 0);
	CHECK_EQ(asup_rt_run_until_idle(rt), 1);
	CHECK_EQ(asup_task_try_join(&hb, NULL), 0);
	CHECK_EQ(asup_rt_stats_get(rt, &st), 0);
	CHECK_EQ(st.stacks_mapped, 5);
	CHECK_EQ(st.stacks_reused, 6);
	CHECK_EQ(st.stacks_pooled, 4);
	test_rt_done(rt);
}

static int64_t spawn_six_yielders(asup_cx *cx, void *arg)
{
	asup_task h[6];
	for (int i = 0; i < 6; i++)
		CHECK_EQ(asup_spawn(cx, yield_once, NULL, NULL, &h[i]), 0);
	for (int i = 0; i < 6; i++)
		CHECK_EQ(asup_join(cx, &h[i], NULL), 0);
	return 0;
}

TEST(idle_runtime_trims_the_pool_to_its_max)
{
	asup_rt_config cfg;
	asup_rt *rt;
	asup_rt_stats st;
	asup_outcome o;

	asup_rt_config_init(&cfg);
	cfg.stack_pool_max = 2;
	rt = test_rt_cfg(&cfg);
	CHECK_EQ(asup_rt_run(rt, spawn_six_yielders, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(asup_rt_stats_get(rt, &st), 0);
	CHECK_EQ(st.stacks_mapped, 7); /* root and six children were alive at once */
	CHECK_EQ(st.stacks_pooled, 2);
	/* the next run starts warm */
	CHECK_EQ(asup_rt_run(rt, nothing, NULL, &o), 0);
	CHECK_EQ(asup_rt_stats_get(rt, &st), 0);
	CHECK_EQ(st.stacks_mapped, 7);
	CHECK_EQ(st.stacks_reused, 1);
	test_rt_done(rt);
}

/* ---- deep recursion within the stack size ---- */

#define FRAME 1000

/* Recurses until `used` bytes below `top` are in use; returns a checksum of
 * every frame's buffer, which each frame verifies after the deeper calls. */
static __attribute__((noinline)) uint64_t dig(uintptr_t top, size_t want, int depth,
                                              size_t *reached)
{
	volatile unsigned char buf[FRAME];
	uintptr_t here = (uintptr_t)__builtin_frame_address(0);
	uint64_t below = 0;

	for (int i = 0; i < FRAME; i++)
		buf[i] = (unsigned char)(depth * 7 + i);
	if (top - here < want)
		below = dig(top, want, depth + 1, reached);
	else
		*reached = top - here;
	for (int i = 0; i < FRAME; i += 97)
		if (buf[i] != (unsigned char)(depth * 7 + i))
			return UINT64_MAX; /* a deeper frame overwrote ours */
	return below == UINT64_MAX ? below : below + (uint64_t)depth;
}

static asup__fiber fdeep;
static uint64_t deep_sum;
static size_t deep_reached;
static int deep_depth_frames;

static void deep_fiber(void *arg)
{
	asup__stack *s = arg;
	asup__fiber_enter();
	deep_sum = dig((uintptr_t)s->lo + s->size, 48 * 1024, 0, &deep_reached);
	for (;;)
		asup__fiber_switch(&fdeep, &thread_f);
}

TEST(deep_recursion_in_a_raw_fiber)
{
	asup__stack_pool pool;
	asup__stack *s;

	asup__stack_pool_init(&pool, 64 * 1024, 1);
	CHECK_EQ(asup__stack_get(&pool, 0, &s), 0);
	asup__fiber_init_thread(&thread_f, "thread");
	asup__fiber_set_current(&thread_f);
	asup__fiber_init(&fdeep, s, deep_fiber, s);
	deep_sum = 0;
	deep_reached = 0;
	asup__fiber_switch(&thread_f, &fdeep);
	CHECK(deep_reached >= 48 * 1024);
	CHECK(deep_reached < s->size);
	CHECK(deep_sum != UINT64_MAX);
	/* the depth is at least 48 KiB / (frame + overhead) */
	deep_depth_frames = 0;
	while ((uint64_t)deep_depth_frames * (deep_depth_frames + 1) / 2 < deep_sum)
		deep_depth_frames++;
	CHECK((uint64_t)deep_depth_frames * (deep_depth_frames + 1) / 2 == deep_sum);
	CHECK(deep_depth_frames >= 20);
	asup__fiber_set_current(NULL);
	asup__fiber_fini(&fdeep);
	asup__stack_put(&pool, s);
	asup__stack_pool_destroy(&pool);
}

static int64_t deep_task(asup_cx *cx, void *arg)
{
	size_t reached = 0;
	uintptr_t top = (uintptr_t)__builtin_frame_address(0);
	uint64_t sum = dig(top, 48 * 1024, 0, &reached);
	CHECK(reached >= 48 * 1024);
	CHECK(sum != UINT64_MAX);
	/* the stack is still good for switching after the deep excursion */
	CHECK_EQ(asup_yield(cx), 0);
	return (int64_t)reached;
}

TEST(deep_recursion_in_a_task_with_the_default_stack)
{
	asup_rt *rt = test_rt(ASUP_MODE_REAL, 0);
	asup_outcome o;
	CHECK_EQ(asup_rt_run(rt, deep_task, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK(o.value >= 48 * 1024 && o.value < 64 * 1024);
	test_rt_done(rt);
}

/* ---- size validation ---- */

TEST(stack_round_validates_and_page_rounds)
{
	size_t ps = (size_t)sysconf(_SC_PAGESIZE);

	CHECK_EQ(asup__stack_round(0), 0);
	CHECK_EQ(asup__stack_round(1), 0);
	CHECK_EQ(asup__stack_round(4096), 0);
	CHECK_EQ(asup__stack_round(16 * 1024 - 1), 0);
	CHECK_EQ(asup__stack_round(16 * 1024), 16 * 1024);
	CHECK_EQ(asup__stack_round(16 * 1024 + 1), 16 * 1024 + ps);
	CHECK_EQ(asup__stack_round(20000), (20000 + ps - 1) / ps * ps);
	CHECK_EQ(asup__stack_round(64 * 1024), 64 * 1024);
	CHECK_EQ(asup__stack_round((size_t)1 << 30), (size_t)1 << 30);
	CHECK_EQ(asup__stack_round(((size_t)1 << 30) + 1), 0);
	CHECK_EQ(asup__stack_round((size_t)2 << 30), 0);
	CHECK_EQ(asup__stack_round(SIZE_MAX), 0);
	CHECK_EQ(ASUP__STACK_MIN, 16 * 1024);
	CHECK_EQ(ASUP__STACK_MAX, (size_t)1 << 30);
}

/* The same limits reach spawn options: a bad size is refused at spawn. */
static int64_t spawns_bad_sizes(asup_cx *cx, void *arg)
{
	asup_spawn_opts o;
	asup_task h;
	asup_spawn_opts_init(&o);
	o.stack_size = 4096;
	CHECK_EQ(asup_spawn(cx, nothing, NULL, &o, &h), -EINVAL);
	o.stack_size = ((size_t)1 << 30) + 1;
	CHECK_EQ(asup_spawn(cx, nothing, NULL, &o, &h), -EINVAL);
	o.stack_size = 16 * 1024;
	CHECK_EQ(asup_spawn(cx, nothing, NULL, &o, &h), 0);
	CHECK_EQ(asup_join(cx, &h, NULL), 0);
	return 0;
}

TEST(spawn_refuses_bad_stack_sizes)
{
	asup_rt *rt = test_rt(ASUP_MODE_REAL, 0);
	asup_outcome o;
	asup_rt_stats st;
	CHECK_EQ(asup_rt_run(rt, spawns_bad_sizes, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(asup_rt_stats_get(rt, &st), 0);
	CHECK_EQ(st.tasks_spawned, 2); /* the root and the good one */
	test_rt_done(rt);
}
