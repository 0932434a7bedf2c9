/*
 * Task record chunks: where records come from and how their memory goes back.
 *
 * Owns the resident chunk list, the spare list, the free stack (popping a
 * record, pushing one back) and its rebuilding. Must not touch a record that is in use.
 *
 * Records come 64 to a chunk. A handle names a record by address and
 * generation, and copies of a handle may outlive the record's task for as
 * long as the runtime lives, so a chunk is never given back to the
 * allocator before the runtime is destroyed: freeing it would turn a stale
 * copy into a read of freed memory. Instead, a chunk whose 64 records are
 * all free is discarded: the whole pages inside it are returned to the OS
 * (madvise MADV_DONTNEED; they read back as zeros) and the chunk moves to the
 * spare list. A stale handle or waker then reads either zeros or the
 * record's last contents: not in use, and a generation no handle holds
 * (generations start at 1, so a zeroed one matches nothing).
 *
 * A spare chunk is revived (zeroed, every generation set above the highest
 * it had) before a new chunk is allocated.
 *
 * Invariants: nrecs == 64 * resident chunks; nfree == the free records of
 * resident chunks == the length of the free stack; spare chunks hold no
 * record in use.
 */
#define _GNU_SOURCE
#include "kernel.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Returns the whole pages inside [p, p + len) to the OS. The memory stays
 * allocated; its contents afterwards are zeros (the hooks' memory is
 * ordinary private memory) or, where the OS keeps them, unchanged. */
static void mem_discard(void *p, size_t len)
{
#ifdef MADV_DONTNEED
	long ps = sysconf(_SC_PAGESIZE);
	uintptr_t mask, a, b;

	if (ps <= 0)
		return;
	mask = (uintptr_t)ps - 1;
	a = ((uintptr_t)p + mask) & ~mask;
	b = ((uintptr_t)p + len) & ~mask;
	if (b > a)
		(void)madvise((void *)a, b - a, MADV_DONTNEED);
#else
	(void)p;
	(void)len;
#endif
}

/* Pushes c's free records, recs[0] ending on top. */
static void push_free(asup__kernel *k, struct asup__rec_chunk *c)
{
	for (int i = ASUP__REC_CHUNK - 1; i >= 0; i--) {
		if (c->recs[i].in_use)
			continue;
		c->recs[i].next_free = k->free_recs;
		k->free_recs = &c->recs[i];
	}
}

/* A chunk is aligned to 64 bytes inside an allocation 63 bytes larger: the
 * allocator hooks promise no more than malloc's alignment, and a record
 * must start a cache line (kernel.h). */
#define CHUNK_ALLOC (sizeof(struct asup__rec_chunk) + 63)

static struct asup__rec_chunk *chunk_new(asup__kernel *k)
{
	void *mem = asup__alloc_mem(&k->alloc, CHUNK_ALLOC);
	struct asup__rec_chunk *c;

	if (!mem)
		return NULL;
	c = (struct asup__rec_chunk *)(((uintptr_t)mem + 63) & ~(uintptr_t)63);
	c->mem = mem;
	return c;
}

void asup__rec_chunk_release(asup__kernel *k, struct asup__rec_chunk *c)
{
	asup__free_mem(&k->alloc, c->mem, CHUNK_ALLOC);
}

int asup__rec_grow(asup__kernel *k)
{
	struct asup__rec_chunk *c = k->spare;
	uint32_t gen = 1;
	void *mem;

	if (c) {
		k->spare = c->next;
		k->nspare--;
		gen = c->gen_base;
	} else if (!(c = chunk_new(k))) {
		return -ENOMEM;
	}
	mem = c->mem;
	memset(c, 0, sizeof(*c));
	c->mem = mem;
	for (int i = 0; i < ASUP__REC_CHUNK; i++) {
		c->recs[i].t.gen = gen;
		/* Written once per (re)vival: the thread check of asup__cx_self
		 * reads them from any thread. */
		c->recs[i].cx.k = k;
		c->recs[i].cx.kt = &c->recs[i];
	}
	c->next = k->chunks;
	k->chunks = c;
	push_free(k, c);
	k->nfree += ASUP__REC_CHUNK;
	k->nrecs += ASUP__REC_CHUNK;
	return 0;
}

static int chunk_idle(const struct asup__rec_chunk *c)
{
	for (int i = 0; i < ASUP__REC_CHUNK; i++)
		if (c->recs[i].in_use)
			return 0;
	return 1;
}

static void discard(asup__kernel *k, struct asup__rec_chunk *c)
{
	uint32_t g = 0;

	for (int i = 0; i < ASUP__REC_CHUNK; i++)
		if (c->recs[i].t.gen > g)
			g = c->recs[i].t.gen;
	c->gen_base = g + 1 ? g + 1 : 1;
	mem_discard(c->recs, sizeof(c->recs));
	c->next = k->spare;
	k->spare = c;
	k->nspare++;
	k->nfree -= ASUP__REC_CHUNK;
	k->nrecs -= ASUP__REC_CHUNK;
}

void asup__rec_trim(asup__kernel *k, uint32_t keep)
{
	struct asup__rec_chunk **pc = &k->chunks, *c;
	uint32_t busy_floor;
	int moved = 0;

	while ((c = *pc) != NULL) {
		if (k->nfree >= keep + ASUP__REC_CHUNK && chunk_idle(c)) {
			*pc = c->next;
			discard(k, c);
			moved = 1;
			continue;
		}
		pc = &c->next;
	}
	if (moved) {
		/* The free stack ran through discarded records: rebuild it. */
		k->free_recs = NULL;
		for (c = k->chunks; c; c = c->next)
			push_free(k, c);
	}
	/* The next busy trim waits for another half of the records (or the
	 * minimum) to come free, so trims cost O(1) per record freed. */
	busy_floor = k->nrecs / 2 > ASUP__REC_TRIM_MIN ? k->nrecs / 2 : ASUP__REC_TRIM_MIN;
	k->rec_trim_at = k->nfree + busy_floor;
}

void asup__rec_trim_idle(asup__kernel *k)
{
	if (k->nfree > ASUP__REC_KEEP + ASUP__REC_CHUNK)
		asup__rec_trim(k, ASUP__REC_KEEP);
}

void asup__rec_chunks_free(asup__kernel *k)
{
	struct asup__rec_chunk *c, *next;

	for (c = k->spare; c; c = next) {
		next = c->next;
		asup__rec_chunk_release(k, c);
	}
	k->spare = NULL;
	k->nspare = 0;
}

void asup__rec_release_refs(asup__kernel *k, asup__ktask *kt)
{
	if (!((uintptr_t)kt->rec_reason | (uintptr_t)kt->cx_reason | (uintptr_t)kt->out_reason |
	      (uintptr_t)kt->panic_msg))
		return; /* the common case: a task nobody cancelled */
	asup__reason_unref(&k->alloc, kt->rec_reason);
	asup__reason_unref(&k->alloc, kt->cx_reason);
	asup__reason_unref(&k->alloc, kt->out_reason);
	kt->rec_reason = kt->cx_reason = kt->out_reason = NULL;
	if (kt->panic_msg) {
		asup__free_mem(&k->alloc, kt->panic_msg, ASUP_PANIC_MSG_MAX);
		kt->panic_msg = NULL;
	}
}

/* ---- records ----------------------------------------------------------- */

/* A singly linked free stack: popping and pushing touch only the record
 * itself, which matters when thousands of cold records cycle. */
asup__ktask *asup__rec_alloc(asup__kernel *k)
{
	asup__ktask *kt = k->free_recs;

	if (!kt) {
		if (asup__rec_grow(k) < 0)
			return NULL;
		kt = k->free_recs;
	}
	k->free_recs = kt->next_free;
	k->nfree--;
	kt->in_use = 1;
	return kt;
}

void asup__rec_free(asup__kernel *k, asup__ktask *kt)
{
	if (kt->fail_listed) {
		/* A failed task's outcome given up unread is reported as well. */
		if (kt->released && !kt->consumed)
			asup__task_report_failed(k, kt, kt->fail_region->id, "released");
		asup__list_remove(&kt->fail_link);
		kt->fail_listed = 0;
	}
	if (kt->in_arena) {
		asup__arena_remove(&k->tasks, kt->id);
		kt->in_arena = 0;
	}
	kt->in_use = 0;
	kt->cx.magic = 0;
	kt->t.gen++; /* outstanding handles and wakers go stale */
	asup__rec_release_refs(k, kt);
	kt->next_free = k->free_recs;
	k->free_recs = kt;
	k->nfree++;
	/* Many free records while busy (the tail of a large burst): give the
	 * memory of wholly free chunks back (see records.c). */
	if (__builtin_expect(k->nfree > k->rec_trim_at, 0) && k->nfree > 2 * (k->nrecs - k->nfree))
		asup__rec_trim(k, ASUP__REC_KEEP);
}
