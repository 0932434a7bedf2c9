/*
 * Kernel layer: regions, task records, the cancellation protocol, the cx,
 * outcomes, finalizers, obligations and the Scope API.
 *
 * Owns: the region tree and the region and task arenas (generational ids),
 * task records and their recycling, every task's cx state. Must not touch:
 * lanes or fibers directly (only the sched API), the clock (only
 * asup__sched_now), the timer queue.
 *
 * Region states (r->state), with the only transitions allowed:
 *
 *   OPEN --begin_close--> CLOSING --(children)--> DRAINING
 *   CLOSING/DRAINING --(no child, no task, body returned)--> FINALIZING
 *   FINALIZING --(no finalizer left or running, no task, no obligation,
 *                 no child, no abandoned blocking job)--> CLOSED (removed
 *                 from the arena and its parent)
 *
 * Task protocol states (kt->pstate): CREATED -> RUNNING -> COMPLETED, or via
 * CANCEL_REQUESTED -> CANCELLING -> FINALIZING -> COMPLETED(cancelled); a
 * cancel request may arrive in any live state and only strengthens.
 *
 * Record lifecycle: a task record leaves the task arena and its region when
 * the task completes (the spec's "completed tasks are removed"); the memory
 * stays until its outcome is consumed through the handle (join, try_join,
 * release) or the runtime is destroyed, then is recycled with gen + 1. The
 * pages of wholly free record chunks go back to the OS (records.c); their
 * addresses stay valid until the runtime is destroyed.
 *
 * Invariants (asup__kernel_check): every arena entry's id is its arena id;
 * a region's ntasks/nchildren count its lists; live tasks are exactly the
 * task-arena entries; a closed region is in no table; the region tree has one
 * root and parents list their children.
 */
#ifndef ASUP_KERNEL_H
#define ASUP_KERNEL_H

#include <errno.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdint.h>

#include "asupersync/cancel.h"
#include "asupersync/cx.h"
#include "asupersync/ext.h"
#include "asupersync/obligation.h"
#include "asupersync/region.h"
#include "asupersync/report.h"
#include "asupersync/task.h"
#include "../sched/sched.h"
#include "../util/arena.h"
#include "reason.h"

#define ASUP__CX_MAGIC 0x61737570u /* "asup" */
#define ASUP__MASK_MAX 64
#define ASUP__CHAIN_DEPTH_DEFAULT 16
#define ASUP__CLEANUP_PRIORITY_MIN 200 /* the lowest cleanup priority (User) */

typedef struct asup__kernel asup__kernel;
typedef struct asup__ktask asup__ktask;
typedef struct asup__region asup__region;
typedef struct asup__frame asup__frame;

enum asup__rstate {
	ASUP__R_OPEN = 0,
	ASUP__R_CLOSING = 1,
	ASUP__R_DRAINING = 2,
	ASUP__R_FINALIZING = 3,
	ASUP__R_CLOSED = 4,
};

enum asup__pstate {
	ASUP__P_CREATED = 0,
	ASUP__P_RUNNING = 1,
	ASUP__P_CANCEL_REQUESTED = 2,
	ASUP__P_CANCELLING = 3,
	ASUP__P_FINALIZING = 4,
	ASUP__P_COMPLETED = 5,
};

typedef struct asup__finalizer {
	void (*sync_fn)(void *arg); /* exactly one of the two is set */
	asup_task_fn async_fn;
	void *arg;
} asup__finalizer;

struct asup__region {
	uint64_t id;
	asup__region *parent;       /* NULL for the root */
	uint8_t state;              /* enum asup__rstate */
	uint8_t fin_running;        /* a finalizer task is in flight (barrier) */
	uint8_t in_use;
	uint8_t body_running;       /* its region body still runs: not closable */
	uint8_t fin_stalled;        /* an async finalizer could not start for
	                               lack of memory: retried when idle */
	asup__list children;        /* child regions, by sibling */
	asup__list sibling;
	asup__list tasks;           /* live tasks, by ktask.region_link */
	uint32_t nchildren, ntasks;
	uint32_t pending_obligations;
	uint32_t nblocking;         /* abandoned blocking jobs still running */
	asup_region_limits limits;
	asup_budget budget;
	asup__reason *reason;       /* cancel reason, once cancelled */
	asup__finalizer *fin;       /* LIFO stack */
	uint32_t nfin, capfin;
	asup__list close_waiters;   /* tasks waiting for CLOSED */
	struct asup__hblock *heap;  /* region heap blocks, freed at CLOSED */
	uint64_t heap_bytes;
	uint64_t fin_task;          /* id of the finalizer task in flight */
	asup__ktask *body_task;     /* the task whose body runs in it, while
	                               body_running (scope.c writes); a cancel
	                               of the region reaches it through
	                               asup__scope_body_cancel */
	uint32_t cancel_walk;       /* the last cancel walk that reached it
	                               (kernel.cancel_walk): the advance after
	                               a walk visits only what it reached */
	asup__list failed;          /* its tasks that ended Err or Panicked and
	                               are not joined yet (ktask.fail_link):
	                               reported when it closes */
};

/* A region body or a task top level that catches asup_panic. */
struct asup__frame {
	jmp_buf jb;
	asup__frame *prev;
	uint16_t masked;            /* mask depth to restore when caught */
	asup__region *scope;        /* scope to restore when caught */
	asup_time deadline;
	asup_time scope_deadline;
};

struct asup_cx {
	uint32_t magic;             /* ASUP__CX_MAGIC while the record is in use */
	asup__kernel *k;
	asup__ktask *kt;
	asup_time deadline;         /* effective deadline of the open asup_timeout scopes */
	asup__region *scope;        /* where asup_spawn and asup_defer go; its
	                               budget is what spawned tasks get */
	asup__frame *frame;         /* innermost panic catcher */
	asup_time scope_deadline;   /* budget deadline of the innermost region
	                               whose body runs on this task (region
	                               budgets nest as the minimum);
	                               ASUP_TIME_MAX outside every body */
};

struct asup__ktask {
	/* First: the scheduler's half. A record is 64-byte aligned and sized
	 * (records.c aligns its chunks), so that it spans whole cache lines:
	 * one fewer line per record than at an arbitrary offset. */
	_Alignas(64) asup__task t;
	struct asup_cx cx;
	/* What a join and the recycling of the record read, kept in the two
	 * lines after the cx (with t.gen just before it): a join of a task
	 * that ran long ago touches three lines of a cold record, not nine. */
	asup__region *owner;        /* record (region's view); NULL once it left */
	uint8_t pstate;             /* enum asup__pstate */
	uint8_t is_cleanup;         /* runs a finalizer of its owner */
	uint8_t in_arena;           /* listed in the task arena (live) */
	uint8_t released;           /* handle given up: free at exit */
	uint8_t in_use;             /* allocated to a task (not on the free list) */
	uint8_t consumed;           /* outcome taken through a handle */
	uint8_t fail_listed;        /* on fail_region's failed list */
	uint8_t defused;            /* a cancelled join does not abort it */
	asup_outcome_kind rec_kind; /* the record's outcome */
	/* handle view of the outcome (what join returns) */
	asup_outcome_kind kind;
	int64_t value;
	asup__reason *rec_reason;   /* the record's cancel reason */
	char *panic_msg;            /* owned; freed with the record */
	asup__reason *out_reason;   /* for a Cancelled handle outcome */
	asup__reason *cx_reason;    /* the cx's cancel reason */
	asup__ktask *next_free;     /* on the kernel free stack while recycled */
	/* The rest of the record. */
	asup_task_fn fn;
	void *arg;
	asup__list region_link;
	uint32_t cancel_epoch;
	asup_cancel_kind drop_kind; /* abort reason when a join of it is cancelled */
	/* cx state */
	uint8_t cancel_requested;
	uint8_t scope_cancelled;    /* a region whose body runs on this task,
	                               between cx.scope and its owner, is
	                               cancelled: checkpoints return -ECANCELED
	                               (unless masked) until the body returns */
	uint8_t budget_limited;     /* budget has a deadline or quotas */
	uint8_t local;              /* spawn_local: pinned to its worker */
	uint32_t nobl;              /* pending obligations it holds */
	uint8_t traced;             /* the runtime records events: every
	                               checkpoint takes the slow path */
	/* What it waits on while parked (enum asup__wait_kind and an id:
	 * a task id for JOIN, a region id for REGION, else 0). Written by the
	 * parking call just before it parks and cleared when it wakes; read
	 * only by the dump and the deadlock report. */
	uint8_t wait_kind;
	uint32_t caps;
	asup__list held;            /* asup__exit_hook nodes: things it must give
	                               back (locks) if it ends holding them */
	struct asup_blocking *bjob; /* the blocking job it waits for, if any */
	asup_budget budget;
	uint64_t checkpoints;
	asup_time last_checkpoint;
	asup__rng entropy;
	asup__list joiners;         /* tasks parked in a join of this one */
	uint64_t id;                /* arena id */
	asup_time created_at;
	uint64_t wait_id;
	asup__list fail_link;       /* in fail_region->failed while fail_listed */
	asup__region *fail_region;
};

/* Wait targets a parked task shows in dumps and deadlock reports. */
enum asup__wait_kind {
	ASUP__WAIT_NONE = 0,
	ASUP__WAIT_PARK,        /* asup_park: woken by whoever holds its waker */
	ASUP__WAIT_WAITQ,       /* a wait queue of an extension primitive */
	ASUP__WAIT_TIMER,       /* a park with only a clock deadline (sleep) */
	ASUP__WAIT_JOIN,        /* join of task wait_id */
	ASUP__WAIT_REGION,      /* close of region wait_id */
	ASUP__WAIT_MUTEX,
	ASUP__WAIT_CHAN_RECV,
	ASUP__WAIT_CHAN_SEND,
	ASUP__WAIT_BLOCKING,    /* a blocking call on the pool */
	ASUP__WAIT_KIND_COUNT
};

/* A blocking job: fn runs on a pool thread while its task stays parked. The
 * pool (runtime layer) writes result and done; everything else is written
 * on the runtime thread before submission. */
struct asup_blocking {
	asup_blocking_fn fn;
	void *arg;
	int64_t result;
	_Atomic int cancelled;      /* set when the owning task is cancel-requested */
	_Atomic int done;           /* set by the pool thread when fn returned */
	int drained;                /* the runtime thread took it back (then the
	                               task may free it) */
	int abandoned;              /* its task was cancelled and left: the drain
	                               frees it and releases the region */
	asup__region *region;       /* set when abandoned: held open until done */
	int has_timer;
	asup__ktask *task;          /* the parked owner (runtime thread only) */
	struct asup_blocking *next; /* pool queues */
};

typedef struct asup__obligation {
	uint64_t id;
	asup_obligation_kind kind;
	uint8_t state;              /* asup_obligation_state */
	uint8_t abort_reason;       /* asup_obligation_abort_reason */
	asup__ktask *holder;
	uint64_t holder_id;
	asup__region *region;
	const char *desc;
	/* Called (runtime thread) when it ends without a commit: aborted,
	 * auto-aborted or leaked. Lets a primitive take back what it lent. */
	void (*on_release)(void *ctx);
	void *ctx;
	/* A region whose memory ctx lives in (0: none): once it closed, the
	 * hook is skipped, since what it would give back is gone. */
	uint64_t guard;
} asup__obligation;

/* Records are allocated 64 at a time (records.c). A chunk whose records are
 * all free may be discarded: its pages go back to the OS but its address
 * stays allocated (on the spare list) until the runtime is destroyed, so a
 * stale handle copy still reads a record that says it is not in use. */
#define ASUP__REC_CHUNK 64
#define ASUP__REC_KEEP 1024       /* free records a trim keeps resident */
#define ASUP__REC_TRIM_MIN 32768  /* free records that trigger a trim while busy */
struct asup__rec_chunk {
	struct asup__rec_chunk *next;
	void *mem;                  /* the allocation the chunk is aligned in */
	uint32_t gen_base;          /* on the spare list: the generation every
	                               record starts at when revived (above any
	                               generation a handle or waker can hold) */
	asup__ktask recs[ASUP__REC_CHUNK];
};

struct asup__kernel {
	asup__alloc alloc;
	asup__sched *sched;
	/* The thread driving this runtime now (asup__kernel_enter), 0 when
	 * none: written by that thread, read by any thread that is handed one
	 * of its objects. */
	_Atomic uintptr_t driver;
	asup__arena tasks;          /* live tasks */
	asup__arena regions;        /* regions not closed */
	asup__arena obligations;    /* obligations not resolved */
	asup__ktask *free_recs;     /* free stack of recycled records */
	struct asup__rec_chunk *chunks; /* resident chunks: every record lives in one */
	struct asup__rec_chunk *spare;  /* discarded chunks, revived before allocating */
	uint32_t nspare;
	uint32_t rec_trim_at;       /* nfree above which a busy trim is considered */
	asup__region *root;
	uint32_t nfree;
	uint32_t nrecs;             /* records in resident chunks */
	uint32_t live;
	uint32_t chain_depth;       /* cause-chain depth limit */
	uint64_t seed;              /* runtime seed, for per-task entropy */
	uint64_t fork_counter;
	uint64_t spawned, completed;
	uint64_t leaks;             /* obligations leaked so far */
	uint64_t obl_committed, obl_aborted, obl_leaked;
	uint64_t heap_bytes;        /* region heaps, all regions */
	asup_leak_response leak_response;
	uint64_t leak_escalate_after; /* 0 = never */
	asup_leak_response leak_escalate_to;
	asup_cx_handles handles;    /* shared by every task of the runtime */
	int local_available;        /* a local (worker) queue exists */
	uint64_t races;             /* race ids handed out (trace events) */
	uint32_t fin_stalled;       /* regions with fin_stalled set */
	/* Lab hooks (wired by the runtime; NULL when absent). checkpoint is
	 * called at every checkpoint of a traced task; a non-zero return is a
	 * cancel kind + 1 to inject into that task before the checkpoint
	 * decides. */
	int (*hook_checkpoint)(void *ctx, asup__ktask *kt);
	void *hook_ctx;
	/* The blocking pool (runtime layer); NULL submit = run jobs inline. */
	int (*blocking_submit)(void *ctx, struct asup_blocking *job);
	void *blocking_ctx;
	uint32_t cancel_walk;       /* numbers the cancel walks (region.c) */
	/* Where reports go (asupersync/report.h); NULL = nowhere. */
	asup_report_fn report;
	void *report_ud;
};

/* Delivers a report to the runtime's hook, if there is one. */
static inline void asup__k_report(const asup__kernel *k, const asup_report *r)
{
	if (k->report)
		k->report(k->report_ud, r);
}
/* Reports kt (ended Err or Panicked) as failed with nobody to read it; why is
 * "released" or "never joined". */
void asup__task_report_failed(asup__kernel *k, const asup__ktask *kt, uint64_t region,
			      const char *why);

/* ---- setup and scheduler hooks ---- */
int asup__kernel_init(asup__kernel *k, const asup__alloc *a, asup__sched *s, uint64_t seed);
void asup__kernel_destroy(asup__kernel *k);
void asup__kernel_task_main(asup__kernel *k, asup__task *t);
void asup__kernel_task_exited(asup__kernel *k, asup__task *t);
void asup__kernel_task_start_failed(asup__kernel *k, asup__task *t, int rc);
int asup__kernel_check(const asup__kernel *k);

/* ---- record chunks (records.c) ---- */
/* Makes 64 more free records (a spare chunk revived, or a new one). 0 or
 * -ENOMEM (nothing changed). */
int asup__rec_grow(asup__kernel *k);
/* Discards every chunk whose records are all free while more than `keep`
 * free records would stay resident; rebuilds the free stack. */
void asup__rec_trim(asup__kernel *k, uint32_t keep);
/* The trim of a runtime gone idle: keeps ASUP__REC_KEEP free records. */
void asup__rec_trim_idle(asup__kernel *k);
/* Frees every chunk, resident and spare (runtime teardown). */
void asup__rec_chunks_free(asup__kernel *k);
/* Gives one chunk's memory back to the allocator. */
void asup__rec_chunk_release(asup__kernel *k, struct asup__rec_chunk *c);
/* Pops a free record (in_use set), growing when none is free; NULL when
 * memory is out. */
asup__ktask *asup__rec_alloc(asup__kernel *k);
/* Returns a record to the free stack: its generation moves on (handles and
 * wakers go stale), its reasons and panic message are released. */
void asup__rec_free(asup__kernel *k, asup__ktask *kt);
/* Drops the reasons and the panic message a record holds. */
void asup__rec_release_refs(asup__kernel *k, asup__ktask *kt);

/* ---- regions (region.c) ---- */
/* A new child of parent (NULL: the root) with budget parent.meet(budget).
 * -ESRCH/-ASUP_ECLOSED/-ASUP_ECAPACITY/-ENOMEM; nothing changes on error. */
int asup__region_create(asup__kernel *k, asup__region *parent, asup_budget budget,
			asup__region **out);
asup__region *asup__region_lookup(const asup__kernel *k, uint64_t id);
/* Open -> Closing with reason (set or strengthened first); 0 if not Open. */
int asup__region_begin_close(asup__kernel *k, asup__region *r, asup__reason *reason);
void asup__region_advance(asup__kernel *k, asup__region *r);
/* Frees a region's heap (at close, and for regions left at teardown). */
void asup__region_heap_release(asup__kernel *k, asup__region *r);
/* Reports the failed tasks of r nobody joined (at its close or teardown). */
void asup__region_report_unjoined(asup__kernel *k, asup__region *r);
/* The cancel_request of the spec: the region gets reason, descendants
 * ParentCancelled with chained causes; every live task is cancel-requested.
 * Returns the number of tasks affected. */
int asup__region_cancel(asup__kernel *k, asup__region *r, asup__reason *reason);
/* The same without the count, skipping every subtree already cancelled by a
 * reason this one does not beat (the cancel would change nothing there). A
 * region body that ends cancelled re-cancels its region with it: with the
 * skip a deep chain of such bodies unwinds in linear time. */
void asup__region_cancel_quick(asup__kernel *k, asup__region *r, asup__reason *reason);
/* The same for everything below r, leaving r itself open (the runtime's
 * cancel from outside, which keeps the root region usable). */
int asup__region_cancel_below(asup__kernel *k, asup__region *r, asup__reason *reason);
int asup__region_add_finalizer(asup__kernel *k, asup__region *r, const asup__finalizer *f);
/* Retries the async finalizers that could not start for lack of memory (the
 * runtime calls it when idle). 0 if none waited, 1 if one started or its
 * region moved on, -ENOMEM if every retry failed again (still retryable). */
int asup__region_retry_finalizers(asup__kernel *k);
/* Frees the job of a finalizer task that never ran (runtime teardown). */
void asup__region_finalizer_discard(asup__kernel *k, asup__ktask *kt);
int asup__region_admits_task(const asup__region *r, int cleanup);
/* Waits (uninterruptibly) until r is closed. */
void asup__region_wait_closed(asup__kernel *k, asup__ktask *self, uint64_t id);

/* ---- region bodies (scope.c) ---- */
/* Region r, whose body runs on r->body_task, was cancelled: the body's
 * checkpoints must see it and a park of the body must end. Called by the
 * cancel propagation for every region it reaches. */
void asup__scope_body_cancel(asup__kernel *k, asup__region *r);
/* The checkpoint found the body deadline cx->scope_deadline passed: cancels
 * the outermost region (of those whose bodies run on kt) whose deadline
 * passed, with DEADLINE. */
void asup__scope_expire(asup_cx *cx, asup__ktask *kt, asup_time now);

/* ---- tasks (task.c) ---- */
typedef struct asup__spawn_req {
	asup_task_fn fn;
	void *arg;
	const asup_spawn_opts *opts;
	asup__region *region;
	asup_budget budget;
	const asup__ktask *parent;  /* NULL from outside any task */
	uint8_t cleanup;            /* finalizer task: admitted in Finalizing */
	uint8_t local;
	uint16_t masked;
} asup__spawn_req;

int asup__task_spawn(asup__kernel *k, const asup__spawn_req *req, asup_task *out);
asup__ktask *asup__task_lookup(const asup__kernel *k, uint64_t id);
/* Record-level cancel request (region propagation): state and cx flags. */
int asup__task_request_cancel(asup__kernel *k, asup__ktask *kt, asup__reason *reason,
			      asup_budget cleanup);
/* Handle-level abort: cx flags only, strengthen-only. */
void asup__task_abort(asup__kernel *k, asup__ktask *kt, asup__reason *reason);
/* Sets the cx cancel state from outside the protocol (abort, exhaustion). */
void asup__cx_request_cancel(asup__kernel *k, asup__ktask *kt, asup__reason *reason);
/* The same, replacing the reason instead of strengthening it (cancel_self). */
void asup__cx_cancel_overwrite(asup__kernel *k, asup__ktask *kt, asup__reason *reason);
/* A new reason (refs 1). Never NULL: without memory it is the static
 * fallback node of kind, so that no cancel depends on an allocation. */
asup__reason *asup__reason_make(asup__kernel *k, asup_cancel_kind kind, const asup__region *r,
				const asup__ktask *t, const char *msg);
/* A handle's record, or an error. */
int asup__handle_resolve(const asup_task *h, asup__ktask **out);
/* Copies the handle view of a finished task into out and consumes it. */
void asup__handle_consume(asup__kernel *k, asup__ktask *kt, asup_task *h, asup_outcome *out);

/* ---- waiting on tasks (wait.c) ---- */

/* The result a completing task wakes its joiners with. */
#define ASUP__JOIN_DONE 0

/* A wait for any of n tasks to complete: a waiter per task on its joiners
 * queue once armed (the first wait arms it). Lives in the waiting task's
 * frame; recs is borrowed until fini. */
typedef struct asup__join_set {
	asup__ktask **recs;      /* the tasks waited on; never NULL entries */
	asup__waiter *w;         /* NULL until armed; then w[i] waits on recs[i] */
	size_t n;
	asup__waiter local[8];   /* w for up to eight tasks (no allocation) */
} asup__join_set;

void asup__join_set_init(asup__join_set *js, asup__ktask **recs, size_t n);
/* Whether recs[i] completed: its waiter's result once armed. */
int asup__join_set_done(const asup__join_set *js, size_t i);
/* Arms the set if needed and parks self until a task of it completed: 0
 * (read done). Interruptible, it is a checkpoint's error instead, or 0 once
 * `until` passed (ASUP_TIME_MAX: none); otherwise it is masked, ignores
 * until and never fails but for -ENOMEM arming more than eight tasks. */
int asup__join_set_wait(asup__kernel *k, asup__join_set *js, asup__ktask *self, asup_time until,
			int interruptible);
/* Unlinks every waiter and frees what arming took; done() then reads the
 * records again. */
void asup__join_set_fini(asup__kernel *k, asup__join_set *js);
/* Waits for kt to complete without a checkpoint: a drain must finish even
 * when the caller is cancelled. */
void asup__join_drain(asup__kernel *k, asup__ktask *self, asup__ktask *kt);

/* Something a task holds and must give back if it ends holding it (a lock):
 * the hook runs on the runtime thread after the task ended. */
typedef struct asup__exit_hook {
	asup__list link;
	void (*on_exit)(struct asup__exit_hook *h, int panicked);
} asup__exit_hook;

static inline void asup__task_hold(asup__ktask *kt, asup__exit_hook *h)
{
	asup__list_push_back(&kt->held, &h->link);
}

static inline void asup__task_unhold(asup__exit_hook *h)
{
	asup__list_remove(&h->link);
}

/* Marks a task finished (outcome already set) and wakes its joiners. */
void asup__task_finish(asup__kernel *k, asup__ktask *kt);

/* The runtime thread got job back from the pool (rt layer calls this). */
void asup__blocking_returned(asup__kernel *k, struct asup_blocking *job);

/* ---- obligations (obligation.c) ---- */
int asup__obligation_create(asup__kernel *k, asup__ktask *holder, asup__region *r,
			    asup_obligation_kind kind, const char *desc, uint64_t *id);
int asup__obligation_resolve(asup__kernel *k, uint64_t id, asup_obligation_state st);
/* Skips id's release hook once region `guard` has closed. */
void asup__obligation_guard(asup__kernel *k, uint64_t id, uint64_t guard);
/* The same without the obligation's release hook. */
int asup__obligation_resolve_quiet(asup__kernel *k, uint64_t id, asup_obligation_state st);
/* Like asup__obligation_create, with a hook run when it is not committed. */
int asup__obligation_create_hooked(asup__kernel *k, asup__ktask *holder, asup__region *r,
				   asup_obligation_kind kind, const char *desc,
				   void (*on_release)(void *ctx), void *ctx, uint64_t *id);
void asup__task_obligations_completed(asup__kernel *k, asup__ktask *kt);
void asup__region_obligations_leak(asup__kernel *k, asup__region *r);

/* ---- the driving thread ---- */

/* The runtime the calling thread drives now (NULL: none). Thread-local, so
 * reading it never races; its address names the thread. */
extern _Thread_local asup__kernel *asup__tls_kernel __attribute__((tls_model("initial-exec")));

/* The calling thread takes or gives up driving k (the rt layer calls these
 * around every run, step and lab step). */
void asup__kernel_enter(asup__kernel *k);
void asup__kernel_leave(asup__kernel *k);

/* 0 if the calling thread may touch an object of runtime k: it drives k, or
 * it drives no runtime while no other thread drives k. -EXDEV otherwise. */
static inline int asup__k_here(const asup__kernel *k)
{
	const asup__kernel *cur = asup__tls_kernel;

	if (cur)
		return cur == k ? 0 : -EXDEV;
	return atomic_load_explicit(&((asup__kernel *)k)->driver, memory_order_acquire) ? -EXDEV
											: 0;
}

/* ---- the cx ---- */

/* The running task of cx, or NULL if cx is not the running task's. The
 * thread test comes first and reads only this thread's state and cx->k
 * (written once, when the record's chunk was made), so a cx used from a
 * foreign thread is refused without reading what the driving thread writes. */
static inline asup__ktask *asup__cx_self(asup_cx *cx)
{
	if (!cx || cx->k != asup__tls_kernel || !cx->k || cx->magic != ASUP__CX_MAGIC ||
	    cx->k->sched->current != &cx->kt->t)
		return NULL;
	return cx->kt;
}

/* The full checkpoint: budget exhaustion, acknowledgement, deadline scopes. */
int asup__cx_checkpoint_slow(asup_cx *cx, asup__ktask *kt);

/* The checkpoint of kt, which the caller already found to be cx's running
 * task (asup__cx_self): -ECANCELED, -ETIMEDOUT or 0. The fast path is one
 * test of the flags and one of the deadlines (both are ASUP_TIME_MAX, all
 * ones, only when neither a timeout scope nor a region body's deadline is
 * open). */
static inline int asup__cx_checkpoint_self(asup_cx *cx, asup__ktask *kt)
{
	if (__builtin_expect(kt->cancel_requested | kt->scope_cancelled | kt->budget_limited |
				     kt->traced,
			     0) ||
	    (cx->deadline & cx->scope_deadline) != ASUP_TIME_MAX)
		return asup__cx_checkpoint_slow(cx, kt);
	kt->checkpoints++;
	return 0;
}

/* The checkpoint rule: -ASUP_ENOTASK, then -ECANCELED, -ETIMEDOUT or 0.
 * Inline: every suspending call starts with it. */
static inline int asup__cx_checkpoint(asup_cx *cx)
{
	asup__ktask *kt = asup__cx_self(cx);

	if (!kt)
		return -ASUP_ENOTASK;
	return asup__cx_checkpoint_self(cx, kt);
}

/* The minimum of the task's budget deadline, the asup_timeout scopes and
 * the deadlines of the region bodies it is inside. */
asup_time asup__cx_effective_deadline(asup_cx *cx);

/* Parks the running task under its deadlines; maps a budget-deadline wake to
 * a Deadline cancellation. */
int asup__cx_park(asup_cx *cx, asup_time until, int until_code);
int asup__cx_waitq_wait(asup_cx *cx, asup__list *q);
/* The same, naming what the task waits on (enum asup__wait_kind, id) for the
 * dump and the deadlock report: two stores on the park path. */
int asup__cx_park_as(asup_cx *cx, asup_time until, int until_code, uint8_t kind, uint64_t id);
int asup__cx_waitq_wait_as(asup_cx *cx, asup__list *q, uint8_t kind, uint64_t id);
/* asup_waitq_wait (a checkpoint, then the wait) naming its target. */
struct asup_waitq;
int asup__waitq_wait_as(asup_cx *cx, struct asup_waitq *q, uint8_t kind, uint64_t id);
/* Parks until w (the caller's, queued) is woken: 0, w->result set; or the
 * park's checkpoint error, w dequeued with its result PENDING. The task
 * waits on `kind` (enum asup__wait_kind) `id` meanwhile. */
int asup__cx_wait_as(asup_cx *cx, asup__waiter *w, uint8_t kind, uint64_t id);
/* asup_wait_until's loop, waiting as `kind`; *waiting (if not NULL) counts
 * the callers parked in it, for a primitive's stats. Inline, so that a
 * receive's poll is inlined into it: this is the hot path of every channel.
 * The _self form is for a caller that already found self running (cx_self). */
static inline int asup__wait_poll_self(asup_cx *cx, asup__ktask *self, asup_waitq *q,
				       asup_wait_poll_fn *poll, void *obj, void *arg,
				       uint32_t *waiting, uint8_t kind)
{
	int rc = asup__cx_checkpoint_self(cx, self);

	/* A poll cannot suspend (it has no cx), so self is still the running
	 * task at every turn: each wait's checkpoint skips the task test. */
	while (rc == 0 && (rc = poll(obj, arg)) == -EAGAIN) {
		if (waiting)
			(*waiting)++;
		rc = asup__cx_checkpoint_self(cx, self);
		if (rc == 0) /* on error: no longer queued */
			rc = asup__cx_waitq_wait_as(cx, (asup__list *)(void *)q, kind, 0);
		if (waiting)
			(*waiting)--;
	}
	return rc;
}
static inline int asup__wait_poll(asup_cx *cx, asup_waitq *q, asup_wait_poll_fn *poll, void *obj,
				  void *arg, uint32_t *waiting, uint8_t kind)
{
	asup__ktask *self = asup__cx_self(cx);

	if (!self)
		return -ASUP_ENOTASK;
	return asup__wait_poll_self(cx, self, q, poll, obj, arg, waiting, kind);
}
/* asup_waitq_head and asup_waiter_wake without the argument checks, for
 * the library's own primitives (their queues and results are valid). */
static inline asup_waiter *asup__waitq_head(asup_waitq *q)
{
	asup__list *l = (asup__list *)(void *)q;
	return asup__list_empty(l) ? NULL : (asup_waiter *)(void *)l->next;
}
static inline void asup__grant(asup_waiter *w, int result)
{
	(void)asup__waiter_wake((asup__waiter *)(void *)w, result);
}
/* For the library's own primitives: asup_waiter_init for the running task
 * kt, and asup_wait_grant without the argument checks, waiting as `kind`. */
static inline void asup__waiter_init_task(asup_waiter *w, asup__ktask *kt)
{
	asup__waiter_init((asup__waiter *)(void *)w, &kt->t);
}
int asup__wait_grant(asup_cx *cx, asup_waitq *q, asup_waiter *w, asup_wait_return_fn *back_fn,
		     void *obj, uint8_t kind);
/* The task a public waiter (asupersync/ext.h) belongs to. */
static inline asup__ktask *asup__waiter_ktask(const void *w)
{
	return asup__container_of(((const asup__waiter *)w)->task, asup__ktask, t);
}

static inline asup__ktask *asup__ktask_of(asup__task *t)
{
	return (asup__ktask *)t;
}

/* ---- trace events (events.c) ---- */
static inline int asup__k_traced(const asup__kernel *k)
{
	return k->sched->probe.emit != NULL;
}
/* An event about task kt (NULL: none) in region r (NULL: kt's owner). The
 * work is out of line so that the untraced path is one branch. */
void asup__k_event_slow(asup__kernel *k, uint32_t type, const asup__ktask *kt,
			const asup__region *r, uint64_t a, uint64_t b);
static inline void asup__k_event(asup__kernel *k, uint32_t type, const asup__ktask *kt,
				 const asup__region *r, uint64_t a, uint64_t b)
{
	if (__builtin_expect(k->sched->probe.emit != NULL, 0))
		asup__k_event_slow(k, type, kt, r, a, b);
}
/* An effect needing capability `cap` performed by kt. */
static inline void asup__k_effect(asup__kernel *k, const asup__ktask *kt, uint32_t cap)
{
	asup__k_event(k, ASUP_EV_EFFECT, kt, NULL, cap, kt->caps);
}
/* SPAWN and, for a named task, TASK_NAME. */
void asup__k_spawn_events(asup__kernel *k, const asup__ktask *kt, const asup__ktask *parent);

#endif
