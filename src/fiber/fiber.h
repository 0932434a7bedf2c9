/*
 * Fiber layer: execution contexts, their stacks, and the annotations that let
 * ASan, TSan, Valgrind and gdb follow a switch.
 *
 * Owns: stack mappings (mmap + 64 KiB guard), the warm stack pool, the SIGSEGV
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
#elif defined(__x86_64__)
/* x86-64: the switch is inline assembly (asup__ctx_switch below); a context
 * is where to resume plus the registers the assembly cannot declare
 * clobbered. The offsets are used by the assembly and by tools/asup-gdb.py. */
typedef struct asup__ctx {
	void *sp;       /* 0: stack pointer */
	void *pc;       /* 8: resume address */
	void *bp;       /* 16: frame pointer */
	uint32_t mxcsr; /* 24: SSE control/status */
	uint16_t fcw;   /* 28: x87 control word */
} asup__ctx;
#else
/* AArch64: the switch is src/fiber/switch_aarch64.S; the context is the stack
 * pointer, with the callee-saved registers saved on the stack. */
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

/* Stacks. The header lives in the top bytes of the mapping itself, so the
 * usable size is the requested size less 64 bytes or so. */
struct asup__stack {
	asup__list link;   /* in the pool's free list while pooled */
	void *map;         /* whole mapping, guard included */
	size_t map_len;
	void *lo;          /* lowest usable byte (just above the guard) */
	size_t size;       /* usable bytes (below this header) */
	unsigned vg_id;    /* Valgrind stack id */
};

typedef struct asup__stack_pool {
	asup__list free;     /* warm stacks of size `size`, most recent first */
	uint32_t count;      /* stacks on `free` */
	uint32_t max;        /* keep this many warm after a trim */
	size_t size;         /* the pooled (default) usable size */
	uint64_t mapped;     /* stats: fresh stacks handed out */
	uint64_t reused;     /* stats: gets served from the pool (warm or cold) */
	uint32_t live;       /* stacks handed out and not yet returned */
	/* The reserve: address space for resv_left more stacks of `size`
	 * (guard included), mapped in one call and never touched; the next
	 * fresh stack is carved from its low end. Unmapped by destroy. */
	char *resv;
	uint32_t resv_left;
	/* Cold stacks: pool-size stacks whose memory went back to the OS
	 * (MADV_DONTNEED, header included) while tasks were live; only their
	 * address space is kept. cold[] holds their mappings' start; it is a
	 * mapping of its own of cold_cap entries. Revived before the reserve
	 * is used; unmapped when a trim finds no task live, and by destroy. */
	char **cold;
	uint32_t cold_count;
	uint32_t cold_cap;
} asup__stack_pool;

/* Stacks of the pool's size are mapped this many at a time into the reserve:
 * one mmap instead of one per stack (address space only until used). */
#define ASUP__STACK_BATCH 16u

/* Page-rounded usable size for a request, or 0 if the request is invalid. */
size_t asup__stack_round(size_t want);
#define ASUP__STACK_MIN (16u * 1024u)
#define ASUP__STACK_MAX ((size_t)1 << 30)
/* Bytes of guard below every stack (rounded up to a page): no memory, only
 * address space. A frame larger than this can still jump over it. */
#define ASUP__STACK_GUARD (64u * 1024u)
#define ASUP__STACK_DEFAULT (64u * 1024u)

void asup__stack_pool_init(asup__stack_pool *p, size_t size, uint32_t max);
void asup__stack_pool_destroy(asup__stack_pool *p);
/* 0 or -ENOMEM/-EINVAL. size 0 means the pool's size. */
int asup__stack_get(asup__stack_pool *p, size_t size, asup__stack **out);
void asup__stack_put(asup__stack_pool *p, asup__stack *s);
/* Gives back the coldest pooled stacks beyond `max`, or, while stacks are
 * still handed out (tasks live), beyond the larger of `max` and the live
 * count. While tasks are live their memory goes back and their address space
 * stays (cold stacks, reused first); with none live they are unmapped, and
 * so are all cold stacks. */
void asup__stack_pool_trim(asup__stack_pool *p);

/* Contexts. */
void asup__fiber_init_thread(asup__fiber *f, const char *label);
void asup__fiber_init(asup__fiber *f, asup__stack *s, void (*entry)(void *), void *arg);
/* Releases sanitizer state of a finished (or never run) fiber. */
void asup__fiber_fini(asup__fiber *f);
/* The running fiber of this thread; written at every switch. */
extern _Thread_local asup__fiber *asup__fiber_tls_cur __attribute__((tls_model("initial-exec")));

#if defined(__x86_64__) && !defined(ASUP_FIBER_PORTABLE)
/*
 * The x86-64 switch, inlined where the scheduler switches. Every register the
 * ABI lets a call clobber, and every callee-saved one but rbp and rsp, is
 * declared clobbered, so the compiler saves only what is live; rsp, rbp, the
 * resume address and the FP control words go to the context. Resuming is an
 * indirect jump, not a return: a `ret` after a stack change costs a
 * mispredicted return on every switch, while the jump is predicted and leaves
 * the return stack of both fibers intact. MXCSR and the x87 control word are
 * loaded only when they differ (loading them is slow; they rarely differ).
 * The inlining functions must not keep x87 (long double) values live.
 */
static inline __attribute__((always_inline)) void asup__ctx_switch(asup__ctx *from, asup__ctx *to)
{
	void *d0, *d1;
	__asm__ volatile("leaq 1f(%%rip), %%rax\n\t"
			 "movq %%rax, 8(%0)\n\t"
			 "movq %%rbp, 16(%0)\n\t"
			 "stmxcsr 24(%0)\n\t"
			 "fnstcw 28(%0)\n\t"
			 "movq %%rsp, 0(%0)\n\t"
			 "movl 24(%0), %%eax\n\t"
			 "cmpl 24(%1), %%eax\n\t"
			 "jne 2f\n\t"
			 "movzwl 28(%0), %%eax\n\t"
			 "cmpw 28(%1), %%ax\n\t"
			 "je 3f\n"
			 "2:\n\t"
			 "ldmxcsr 24(%1)\n\t"
			 "fldcw 28(%1)\n"
			 "3:\n\t"
			 "movq 0(%1), %%rsp\n\t"
			 "movq 16(%1), %%rbp\n\t"
			 "jmpq *8(%1)\n"
			 "1:\n\t"
			 : "=D"(d0), "=S"(d1)
			 : "0"(from), "1"(to)
			 : "rax", "rbx", "rcx", "rdx", "r8", "r9", "r10", "r11", "r12", "r13",
			   "r14", "r15", "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4",
			   "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12",
			   "xmm13", "xmm14", "xmm15");
}
#else
void asup__ctx_switch(asup__ctx *from, asup__ctx *to);
#endif

#if !defined(ASUP_ASAN) && !defined(ASUP_TSAN) && !defined(ASUP_FIBER_PORTABLE)
/* Without sanitizers a switch is a store and the context switch: inline it
 * into the scheduler's hot paths. */
static inline __attribute__((always_inline)) void asup__fiber_switch(asup__fiber *from,
								      asup__fiber *to)
{
	asup__fiber_tls_cur = to;
	asup__ctx_switch(&from->ctx, &to->ctx);
}
#else
void asup__fiber_switch(asup__fiber *from, asup__fiber *to);
#endif
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
/* Alternate signal stack for the calling thread that stays until the thread
 * exits: for the step-wise drivers (asup_rt_step, asup_lab_step), where a
 * sigaltstack pair per step would cost two system calls. After the first call
 * on a thread it is a thread-local check. Returns 0 or -ENOMEM. */
int asup__altstack_keep(void);

#endif
