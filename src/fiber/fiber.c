/*
 * Fiber contexts, stacks and the overflow reporter.
 *
 * Owns the process-wide SIGSEGV/SIGBUS hook (installed once, chaining to
 * whatever was there before) and a thread-local "current fiber" pointer that
 * the hook and the sanitizer annotations read. That pointer is per-thread
 * execution state, not runtime state: two runtimes on one thread take turns.
 *
 * Stack lifecycle: carved from a batch mapping of the pool's size (or mapped
 * alone for another size; 64 KiB guard, registered with Valgrind) -> handed
 * out -> returned to the warm pool (LIFO, still registered) or unmapped when
 * it has another size -> on a trim while tasks are live, surplus warm stacks
 * go cold (memory given back, address and guard kept, deregistered) and are
 * handed out again before anything new is carved -> on a trim with no task
 * live, surplus warm and all cold stacks are unmapped.
 */
#define _GNU_SOURCE
#include "fiber.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifdef ASUP_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef ASUP_TSAN
#include <sanitizer/tsan_interface.h>
#endif
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define ASUP_HAVE_VALGRIND 1
#endif
#endif
#ifndef ASUP_HAVE_VALGRIND
#define VALGRIND_STACK_REGISTER(lo, hi) 0u
#define VALGRIND_STACK_DEREGISTER(id) ((void)(id))
#endif

/* initial-exec: a switch must not call __tls_get_addr from the shared library. */
#define TLS_IE __attribute__((tls_model("initial-exec")))
_Thread_local asup__fiber *asup__fiber_tls_cur TLS_IE;
#define tls_cur asup__fiber_tls_cur
static _Thread_local asup__fiber *tls_from TLS_IE;

#ifdef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL_ MADV_GUARD_INSTALL
#else
#define MADV_GUARD_INSTALL_ 102 /* Linux 6.13; older kernels say EINVAL */
#endif

asup__fiber *asup__fiber_current(void)
{
	return tls_cur;
}

void asup__fiber_set_current(asup__fiber *f)
{
	tls_cur = f;
	tls_from = NULL;
}

/* ---- stacks ------------------------------------------------------------ */

static size_t page_size(void)
{
	/* Runtimes on several threads may race to fill it: same value. */
	static _Atomic size_t ps;
	size_t v = atomic_load_explicit(&ps, memory_order_relaxed);
	if (!v) {
		long r = sysconf(_SC_PAGESIZE);
		v = r > 0 ? (size_t)r : 4096;
		atomic_store_explicit(&ps, v, memory_order_relaxed);
	}
	return v;
}

/* The guard below every stack: 64 KiB (at least one page). A frame larger
 * than the guard can step over it into the next mapping; 64 KiB catches the
 * common large frames (a buffer of a few tens of KiB on the stack). Neither a
 * guard region nor a PROT_NONE mapping of MAP_NORESERVE memory costs memory,
 * only address space. */
static size_t guard_size(void)
{
	size_t ps = page_size();
	return ASUP__STACK_GUARD > ps ? (ASUP__STACK_GUARD + ps - 1) / ps * ps : ps;
}

size_t asup__stack_round(size_t want)
{
	size_t ps = page_size();
	if (want < ASUP__STACK_MIN || want > ASUP__STACK_MAX)
		return 0;
	return (want + ps - 1) & ~(ps - 1);
}

/* Guards the lowest `guard` bytes of a stack's mapping. A guard region
 * (Linux 6.13+) keeps the guard inside the stack's mapping, so neighbouring
 * stacks merge into one VMA; mprotect would split it, and Linux allows only
 * vm.max_map_count (65530) VMAs per process: about 32,000 guarded stacks. */
static int guard_install(char *map, size_t guard)
{
	if (madvise(map, guard, MADV_GUARD_INSTALL_) != 0 &&
	    mprotect(map, guard, PROT_NONE) != 0)
		return -ENOMEM;
	return 0;
}

/* Makes the stack whose mapping (guard included) is [map, map + len). */
static asup__stack *stack_make(char *map, size_t len, size_t guard)
{
	/* The header takes the top bytes of the mapping, in the page the fiber's
	 * first frames use anyway: a parked task costs one touched page. */
	asup__stack *s = (asup__stack *)(void *)(map + len - sizeof(asup__stack));
	s = (asup__stack *)((uintptr_t)s & ~(uintptr_t)63);
	s->map = map;
	s->map_len = len;
	s->lo = map + guard;
	s->size = (size_t)((char *)s - (char *)s->lo); /* usable up to the header */
	s->vg_id = VALGRIND_STACK_REGISTER(s->lo, (char *)s->lo + s->size);
	asup__list_init(&s->link);
	return s;
}

static int stack_map(size_t size, asup__stack **out)
{
	size_t guard = guard_size();
	size_t len = size + guard;
	char *map = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);

	if (map == MAP_FAILED)
		return -ENOMEM;
	if (guard_install(map, guard) != 0) {
		munmap(map, len);
		return -ENOMEM;
	}
	*out = stack_make(map, len, guard);
	return 0;
}

/* A fresh stack of the pool's size from the reserve, refilling the reserve
 * with one mapping of ASUP__STACK_BATCH stacks when it is empty. Each stack
 * unmaps its own part of the batch later (munmap takes any page range). If
 * the batch cannot be mapped, falls back to a mapping of one stack. */
static int stack_carve(asup__stack_pool *p, asup__stack **out)
{
	size_t guard = guard_size();
	size_t len = p->size + guard;
	char *map;

	if (p->resv_left == 0) {
		map = mmap(NULL, len * ASUP__STACK_BATCH, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
		if (map == MAP_FAILED)
			return stack_map(p->size, out);
		p->resv = map;
		p->resv_left = ASUP__STACK_BATCH;
	}
	map = p->resv;
	if (guard_install(map, guard) != 0)
		return -ENOMEM; /* the reserve stays as it was */
	p->resv += len;
	p->resv_left--;
	*out = stack_make(map, len, guard);
	return 0;
}

static void stack_unmap(asup__stack *s)
{
	VALGRIND_STACK_DEREGISTER(s->vg_id);
	munmap(s->map, s->map_len);
}

/* ---- cold stacks ------------------------------------------------------- */

/* Grows the cold table (a private mapping: the fiber layer maps its memory
 * itself, and the table is needed only after stacks were mapped). */
static int cold_grow(asup__stack_pool *p)
{
	uint32_t cap = p->cold_cap ? p->cold_cap * 2 : 512;
	char **t = mmap(NULL, cap * sizeof(char *), PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (t == MAP_FAILED)
		return -ENOMEM;
	if (p->cold) {
		memcpy(t, p->cold, p->cold_count * sizeof(char *));
		munmap(p->cold, p->cold_cap * sizeof(char *));
	}
	p->cold = t;
	p->cold_cap = cap;
	return 0;
}

/* Gives a warm pool-size stack's memory back but keeps its address space:
 * MADV_DONTNEED on everything above the guard costs a third of an munmap,
 * which must also split the merged stack mapping. The header goes too (it
 * lives in the stack); cold[] remembers where the stack was. Falls back to
 * unmapping when the table cannot grow or the advice fails. */
static void stack_chill(asup__stack_pool *p, asup__stack *s)
{
	char *map = s->map;
	size_t guard = guard_size();

	if (p->cold_count < p->cold_cap || cold_grow(p) == 0) {
		VALGRIND_STACK_DEREGISTER(s->vg_id);
		if (madvise(map + guard, s->map_len - guard, MADV_DONTNEED) == 0) {
			p->cold[p->cold_count++] = map;
			return;
		}
		munmap(map, s->map_len);
		return;
	}
	stack_unmap(s);
}

static int addr_cmp(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t) * (char *const *)a, y = (uintptr_t) * (char *const *)b;
	return (x > y) - (x < y);
}

/* Unmaps every cold stack. Sorted by address, neighbours (stacks carved from
 * one batch lie side by side) go in one munmap per run: after a large
 * population drained, tens of thousands of single munmaps, each splitting
 * the merged stack mapping, would hold up the return to an idle runtime. */
static void cold_unmap_all(asup__stack_pool *p)
{
	size_t len = p->size + guard_size();
	uint32_t i = 0, j;

	if (p->cold_count > 1)
		qsort(p->cold, p->cold_count, sizeof(char *), addr_cmp);
	while (i < p->cold_count) {
		for (j = i + 1; j < p->cold_count && p->cold[j] == p->cold[j - 1] + len; j++)
			;
		munmap(p->cold[i], len * (j - i));
		i = j;
	}
	p->cold_count = 0;
	if (p->cold)
		munmap(p->cold, p->cold_cap * sizeof(char *));
	p->cold = NULL;
	p->cold_cap = 0;
}

/* Hands a warm pool-size stack to cold_unmap_all without giving its memory
 * back first (it is about to be unmapped), or unmaps it at once if the cold
 * table cannot grow. */
static void stack_retire(asup__stack_pool *p, asup__stack *s)
{
	if (p->cold_count < p->cold_cap || cold_grow(p) == 0) {
		VALGRIND_STACK_DEREGISTER(s->vg_id);
		p->cold[p->cold_count++] = s->map;
		return;
	}
	stack_unmap(s);
}

void asup__stack_pool_init(asup__stack_pool *p, size_t size, uint32_t max)
{
	memset(p, 0, sizeof(*p));
	asup__list_init(&p->free);
	p->size = size;
	p->max = max;
}

void asup__stack_pool_destroy(asup__stack_pool *p)
{
	asup__list *n;
	while ((n = asup__list_pop_front(&p->free)) != NULL) {
		asup__stack *s = asup__container_of(n, asup__stack, link);
		if (s->map_len == p->size + guard_size())
			stack_retire(p, s);
		else
			stack_unmap(s);
	}
	p->count = 0;
	cold_unmap_all(p);
	if (p->resv_left)
		munmap(p->resv, (p->size + guard_size()) * p->resv_left);
	p->resv = NULL;
	p->resv_left = 0;
}

int asup__stack_get(asup__stack_pool *p, size_t size, asup__stack **out)
{
	asup__list *n;
	int rc;

	if (size == 0 || size == p->size) {
		n = asup__list_pop_front(&p->free);
		if (n) {
			p->count--;
			p->reused++;
			p->live++;
			*out = asup__container_of(n, asup__stack, link);
			return 0;
		}
		if (p->cold_count) {
			/* Its guard is still there: the advice left it alone. */
			*out = stack_make(p->cold[--p->cold_count], p->size + guard_size(),
					  guard_size());
			p->reused++;
			p->live++;
			return 0;
		}
		rc = stack_carve(p, out);
	} else {
		rc = stack_map(size, out);
	}
	if (rc == 0) {
		p->mapped++;
		p->live++;
	}
	return rc;
}

void asup__stack_put(asup__stack_pool *p, asup__stack *s)
{
	p->live--;
#ifdef ASUP_ASAN
	/* A fiber abandoned mid-call (panic, teardown) leaves poisoned frames. */
	__asan_unpoison_memory_region(s->lo, s->size);
#endif
	/* Pooled whatever the count: unmapping here would put a system call on
	 * the exit path of every task. asup__stack_pool_trim gives the excess
	 * back when the runtime is idle. */
	if (s->map_len == p->size + guard_size()) {
		asup__list_push_front(&p->free, &s->link);
		p->count++;
		return;
	}
	stack_unmap(s);
}

/* While tasks are live the pool keeps as many warm stacks as there are live
 * tasks (a population that shrank is likely to grow back) and gives only the
 * memory of the rest back, keeping their address space: a runtime idles
 * between timers while a large population drains (many sleepers finishing
 * one by one), and unmapping there costs several microseconds per stack
 * (munmap splits the merged stack mapping) for stacks it may need again.
 * When no task is live the pool is cut down to `max` and every cold stack is
 * unmapped, neighbours together. */
void asup__stack_pool_trim(asup__stack_pool *p)
{
	uint32_t keep = p->max > p->live ? p->max : p->live;

	while (p->count > keep) {
		asup__list *n = p->free.prev; /* the coldest */
		asup__stack *s = asup__container_of(n, asup__stack, link);
		asup__list_remove(n);
		p->count--;
		if (p->live)
			stack_chill(p, s);
		else
			stack_retire(p, s);
	}
	if (!p->live)
		cold_unmap_all(p);
}

/* ---- contexts ---------------------------------------------------------- */

#ifdef ASUP_FIBER_PORTABLE
static void portable_entry(unsigned eh, unsigned el, unsigned ah, unsigned al)
{
	void (*entry)(void *) =
		(void (*)(void *))(((uintptr_t)eh << 16 << 16) | (uintptr_t)el);
	void *arg = (void *)(((uintptr_t)ah << 16 << 16) | (uintptr_t)al);
	entry(arg);
	abort();
}

static void ctx_init(asup__ctx *c, void *lo, size_t size, void (*entry)(void *), void *arg)
{
	uintptr_t e = (uintptr_t)entry, a = (uintptr_t)arg;
	getcontext(&c->uc);
	c->uc.uc_stack.ss_sp = lo;
	c->uc.uc_stack.ss_size = size;
	c->uc.uc_link = NULL;
	makecontext(&c->uc, (void (*)(void))portable_entry, 4,
		    (unsigned)(e >> 16 >> 16), (unsigned)e, (unsigned)(a >> 16 >> 16), (unsigned)a);
}

static inline void ctx_switch(asup__ctx *from, asup__ctx *to)
{
	swapcontext(&from->uc, &to->uc);
}
#else
void asup__ctx_trampoline(void);

static void ctx_init(asup__ctx *c, void *lo, size_t size, void (*entry)(void *), void *arg)
{
	uintptr_t top = ((uintptr_t)lo + size) & ~(uintptr_t)15;
#if defined(__x86_64__)
	/* The trampoline pops the argument and the entry, leaving rsp 16-byte
	 * aligned for its call. */
	uint64_t *sp = (uint64_t *)(top - 16);
	sp[0] = (uint64_t)(uintptr_t)arg;
	sp[1] = (uint64_t)(uintptr_t)entry;
	c->sp = sp;
	c->pc = (void *)(uintptr_t)asup__ctx_trampoline;
	c->bp = NULL;
	c->mxcsr = 0x1F80u; /* the ABI's initial MXCSR and x87 control word */
	c->fcw = 0x037Fu;
	return;
#elif defined(__aarch64__)
	uint64_t *sp = (uint64_t *)(top - 176);
	memset(sp, 0, 176);
	sp[0] = (uint64_t)(uintptr_t)arg;             /* x19 */
	sp[1] = (uint64_t)(uintptr_t)entry;           /* x20 */
	sp[11] = (uint64_t)(uintptr_t)asup__ctx_trampoline; /* x30 */
	c->sp = sp;
#endif
}

static inline void ctx_switch(asup__ctx *from, asup__ctx *to)
{
	asup__ctx_switch(from, to);
}
#endif

void asup__fiber_init_thread(asup__fiber *f, const char *label)
{
	memset(f, 0, sizeof(*f));
	f->label = label;
#ifdef ASUP_TSAN
	f->tsan = __tsan_get_current_fiber();
	f->tsan_owned = 0;
#endif
}

void asup__fiber_init(asup__fiber *f, asup__stack *s, void (*entry)(void *), void *arg)
{
	f->stack_lo = s->lo;
	f->stack_size = s->size;
	ctx_init(&f->ctx, s->lo, s->size, entry, arg);
#ifdef ASUP_ASAN
	f->asan_fake = NULL;
#endif
#ifdef ASUP_TSAN
	f->tsan = __tsan_create_fiber(0);
	f->tsan_owned = 1;
#endif
}

void asup__fiber_fini(asup__fiber *f)
{
#ifdef ASUP_TSAN
	if (f->tsan_owned && f->tsan)
		__tsan_destroy_fiber(f->tsan);
	f->tsan = NULL;
	f->tsan_owned = 0;
#endif
	f->stack_lo = NULL;
	f->stack_size = 0;
}

static inline void arrived(asup__fiber *self)
{
#ifdef ASUP_ASAN
	const void *bottom = NULL;
	size_t size = 0;
	__sanitizer_finish_switch_fiber(self ? self->asan_fake : NULL, &bottom, &size);
	if (tls_from && !tls_from->stack_lo) {
		tls_from->stack_lo = (void *)bottom;
		tls_from->stack_size = size;
	}
#else
	(void)self;
#endif
}

void asup__fiber_enter(void)
{
	arrived(NULL);
}

#if defined(ASUP_ASAN) || defined(ASUP_TSAN) || defined(ASUP_FIBER_PORTABLE)
void asup__fiber_switch(asup__fiber *from, asup__fiber *to)
{
#ifdef ASUP_ASAN
	__sanitizer_start_switch_fiber(&from->asan_fake, to->stack_lo, to->stack_size);
#endif
#ifdef ASUP_TSAN
	__tsan_switch_to_fiber(to->tsan, 0);
#endif
	tls_from = from;
	tls_cur = to;
	ctx_switch(&from->ctx, &to->ctx);
	arrived(from);
}
#endif

void asup__fiber_switch_final(asup__fiber *from, asup__fiber *to)
{
#ifdef ASUP_ASAN
	__sanitizer_start_switch_fiber(NULL, to->stack_lo, to->stack_size);
#endif
#ifdef ASUP_TSAN
	__tsan_switch_to_fiber(to->tsan, 0);
#endif
	tls_from = from;
	tls_cur = to;
	ctx_switch(&from->ctx, &to->ctx);
	abort(); /* a finished fiber is never resumed */
}

/* ---- overflow reporting ------------------------------------------------ */

/* Faults this far below a fiber's stack count as its overflow: the guard
 * itself and a little beyond it. */
#define GUARD_REACH (256u * 1024u)

static struct sigaction old_segv, old_bus;
static pthread_once_t guard_once = PTHREAD_ONCE_INIT;
static int guard_rc;

static size_t put_str(char *b, size_t at, size_t cap, const char *s)
{
	while (*s && at + 1 < cap)
		b[at++] = *s++;
	return at;
}

static size_t put_num(char *b, size_t at, size_t cap, uint64_t v, unsigned base)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v && n < 24);
	while (n > 0 && at + 1 < cap)
		b[at++] = tmp[--n];
	return at;
}

static void chain(int sig, siginfo_t *si, void *uc, const struct sigaction *old)
{
	if (old->sa_flags & SA_SIGINFO) {
		old->sa_sigaction(sig, si, uc);
		return;
	}
	if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) {
		old->sa_handler(sig);
		return;
	}
	/* Default action: return and let the fault happen again, unhandled. */
	signal(sig, SIG_DFL);
}

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	asup__fiber *f = tls_cur;
	uintptr_t a = (uintptr_t)si->si_addr, lo;
	char b[320];
	size_t n = 0;
	ssize_t w;

	if (f && f->is_task && f->stack_lo) {
		lo = (uintptr_t)f->stack_lo;
		if (a < lo && a + GUARD_REACH >= lo) {
			n = put_str(b, n, sizeof b, "asupersync: stack overflow in task '");
			n = put_str(b, n, sizeof b, f->label ? f->label : "?");
			n = put_str(b, n, sizeof b, "' (T");
			n = put_num(b, n, sizeof b, f->id, 10);
			n = put_str(b, n, sizeof b, "): fault at 0x");
			n = put_num(b, n, sizeof b, a, 16);
			n = put_str(b, n, sizeof b, ", stack of ");
			n = put_num(b, n, sizeof b, f->stack_size, 10);
			n = put_str(b, n, sizeof b,
				    " bytes; give it a larger stack_size (spawn options or runtime config)\n");
			w = write(2, b, n);
			(void)w;
			signal(sig, SIG_DFL);
			return;
		}
	}
	chain(sig, si, uc, sig == SIGBUS ? &old_bus : &old_segv);
}

static void install_once(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, &old_segv) != 0 || sigaction(SIGBUS, &sa, &old_bus) != 0)
		guard_rc = -EINVAL; /* sigaction fails only on a bad signal or action */
}

int asup__overflow_guard_install(void)
{
	pthread_once(&guard_once, install_once);
	return guard_rc;
}

#define ALTSTACK_SIZE (64u * 1024u)

int asup__altstack_ensure(void **mem, size_t *len)
{
	stack_t cur, ss;
	size_t sz = ALTSTACK_SIZE;

	*mem = NULL;
	*len = 0;
	if (sigaltstack(NULL, &cur) == 0 && !(cur.ss_flags & SS_DISABLE))
		return 0; /* the thread already has one */
	ss.ss_sp = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ss.ss_sp == MAP_FAILED)
		return -ENOMEM;
	ss.ss_size = sz;
	ss.ss_flags = 0;
	if (sigaltstack(&ss, NULL) != 0) {
		munmap(ss.ss_sp, sz);
		return -ENOMEM; /* sigaltstack: EPERM (on it now) cannot happen here */
	}
	*mem = ss.ss_sp;
	*len = sz;
	return 1;
}

void asup__altstack_remove(void *mem, size_t len)
{
	stack_t ss;
	if (!mem)
		return;
	memset(&ss, 0, sizeof ss);
	ss.ss_flags = SS_DISABLE;
	sigaltstack(&ss, NULL);
	munmap(mem, len);
}

/* Set once asup__altstack_keep installed this thread's alternate stack. */
static _Thread_local int tls_alt_kept;
static pthread_key_t alt_key;
static pthread_once_t alt_key_once = PTHREAD_ONCE_INIT;
static int alt_key_rc;

static void alt_key_drop(void *mem)
{
	asup__altstack_remove(mem, ALTSTACK_SIZE);
}

static void alt_key_init(void)
{
	alt_key_rc = pthread_key_create(&alt_key, alt_key_drop) == 0 ? 0 : -ENOMEM;
}

int asup__altstack_keep(void)
{
	void *mem;
	size_t len;
	int rc;

	if (tls_alt_kept)
		return 0;
	pthread_once(&alt_key_once, alt_key_init);
	if (alt_key_rc < 0)
		return alt_key_rc;
	rc = asup__altstack_ensure(&mem, &len);
	if (rc < 0)
		return rc;
	/* A stack someone else installed may go away again: check it next time
	 * too. Ours stays; the key's destructor takes it down when the thread
	 * exits, and the main thread's stays until the process ends. */
	if (rc == 0)
		return 0;
	if (pthread_setspecific(alt_key, mem) != 0) {
		asup__altstack_remove(mem, len);
		return -ENOMEM;
	}
	tls_alt_kept = 1;
	return 0;
}
