/*
 * Fiber layer: execution contexts, their stacks, and the annotations that let
 * ASan, TSan, Valgrind and gdb follow a switch.
 *
 * Owns: stack mappings (mmap + guard page), the warm stack pool, the SIGSEGV
 * overflow reporter. Must not touch: scheduling policy, tasks, time.
 *
 * A fiber is a context plus the stack it runs on. The thread's own stack is a
 * fiber too (stack unknown until first left), so every switch is
 * fiber-to-fiber and annotated the same way.
 *
 * Invariants: exactly one fiber per thread is running; it is
 * asup__fiber_current(). A fiber switched away from is resumed at most once
 * per switch to it. A finished fiber is never resumed.
 */
#ifndef ASUP_FIBER_H
#define ASUP_FIBER_H

#include <stddef.h>
#include <stdint.h>

#include "../util/alloc.h"
#include "../util/list.h"

#if defined(__SANITIZE_ADDRESS__)
#define ASUP_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASUP_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define ASUP_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define ASUP_TSAN 1
#endif
#endif

#if !defined(ASUP_FIBER_PORTABLE) && !defined(__x86_64__) && !defined(__aarch64__)
#define ASUP_FIBER_PORTABLE 1
#endif

#ifdef ASUP_FIBER_PORTABLE
#include <ucontext.h>
typedef struct asup__ctx {
	ucontext_t uc;
} asup__ctx;
#else
typedef struct asup__ctx {
	void *sp;
} asup__ctx;
#endif

typedef struct asup__stack asup__stack;

typedef struct asup__fiber {
	asup__ctx ctx;
	void *stack_lo;       /* lowest usable byte; NULL for a thread's stack until known */
	size_t stack_size;    /* usable bytes */
	const char *label;    /* shown in overflow reports and by the gdb script */
	uint64_t id;          /* shown in overflow reports (the task index) */
	int is_task;          /* 0 for a thread's own stack */
#ifdef ASUP_ASAN
	void *asan_fake;      /* ASan fake-stack handle saved while switched out */
#endif
#ifdef ASUP_TSAN
	void *tsan;           /* TSan fiber handle */
	int tsan_owned;       /* created by us (destroy it) or the thread's own */
#endif
} asup__fiber;

/* Stacks. The header lives in the top bytes of the mapping itself. */
struct asup__stack {
	asup__list link;   /* in the pool's free list while pooled */
	void *map;         /* whole mapping, guard page included */
	size_t map_len;
	void *lo;          /* lowest usable byte (just above the guard page) */
	size_t size;       /* usable bytes (below this header) */
	unsigned vg_id;    /* Valgrind stack id */
};

typedef struct asup__stack_pool {
	asup__list free;     /* warm stacks of size `size`, most recent first */
	uint32_t count;      /* stacks on `free` */
	uint32_t max;        /* keep at most this many warm */
	size_t size;         /* the pooled (default) usable size */
	uint64_t mapped;     /* stats: stacks ever mapped */
	uint64_t reused;     /* stats: gets served from the pool */
	uint32_t live;       /* stacks handed out and not yet returned */
} asup__stack_pool;

/* Page-rounded usable size for a request, or 0 if the request is invalid. */
size_t asup__stack_round(size_t want);
#define ASUP__STACK_MIN (16u * 1024u)
#define ASUP__STACK_MAX ((size_t)1 << 30)
#define ASUP__STACK_DEFAULT (64u * 1024u)

void asup__stack_pool_init(asup__stack_pool *p, size_t size, uint32_t max);
void asup__stack_pool_destroy(asup__stack_pool *p);
/* 0 or -ENOMEM/-EINVAL. size 0 means the pool's size. */
int asup__stack_get(asup__stack_pool *p, size_t size, asup__stack **out);
void asup__stack_put(asup__stack_pool *p, asup__stack *s);

/* Contexts. */
void asup__fiber_init_thread(asup__fiber *f, const char *label);
void asup__fiber_init(asup__fiber *f, asup__stack *s, void (*entry)(void *), void *arg);
/* Releases sanitizer state of a finished (or never run) fiber. */
void asup__fiber_fini(asup__fiber *f);
void asup__fiber_switch(asup__fiber *from, asup__fiber *to);
/* The last switch out of a fiber that will never run again. */
void asup__fiber_switch_final(asup__fiber *from, asup__fiber *to);
/* Call first thing in a fiber's entry function. */
void asup__fiber_enter(void);
asup__fiber *asup__fiber_current(void);
/* Marks the thread's own fiber as current when a run loop takes the thread,
 * and NULL when it gives it back (so nothing points into a dead runtime). */
void asup__fiber_set_current(asup__fiber *f);

/* Overflow reporting: installs the process SIGSEGV handler once (idempotent)
 * and an alternate signal stack on the calling thread. */
int asup__overflow_guard_install(void);
/* Alternate signal stack for the calling thread; returns 1 if it installed one
 * (then call asup__altstack_remove when the thread stops running fibers). */
int asup__altstack_ensure(void **mem, size_t *len);
void asup__altstack_remove(void *mem, size_t len);

#endif
