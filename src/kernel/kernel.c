/*
 * The kernel object: its creation and destruction, the thread that drives
 * it, id lookups, cancel reasons stamped with the kernel's clock, and the
 * debug check of its invariants (see kernel.h).
 *
 * Owns: the kernel's arenas, record chunks and root region for their whole
 * life. Must not touch: a running task's state (destroy discards tasks that
 * never finished, it does not run them).
 * Invariants (asup__kernel_check): every arena entry's id is its arena
 * index, `live` counts the tasks not completed, each region's task and
 * child counts match its lists, and only the root has no parent.
 */
#include "kernel.h"

#include <stdatomic.h>
#include <string.h>

int asup__kernel_init(asup__kernel *k, const asup__alloc *a, asup__sched *s, uint64_t seed)
{
	memset(k, 0, sizeof(*k));
	k->alloc = *a;
	k->sched = s;
	s->rec_bytes = sizeof(asup__ktask);
	k->seed = seed;
	k->chain_depth = ASUP__CHAIN_DEPTH_DEFAULT;
	k->leak_response = ASUP_LEAK_LOG;
	k->rec_trim_at = ASUP__REC_TRIM_MIN;
	asup__arena_init(&k->tasks, &k->alloc);
	asup__arena_init(&k->regions, &k->alloc);
	asup__arena_init(&k->obligations, &k->alloc);
	return asup__region_create(k, NULL, asup_budget_default(), &k->root);
}

void asup__kernel_destroy(asup__kernel *k)
{
	struct asup__rec_chunk *c, *next;

	/* Tasks that never finished are discarded: their stacks are released
	 * and C cleanup past their suspension point does not run. */
	for (c = k->chunks; c; c = c->next)
		for (int i = 0; i < ASUP__REC_CHUNK; i++) {
			asup__ktask *kt = &c->recs[i];
			if (!kt->in_use)
				continue;
			asup__region_finalizer_discard(k, kt);
			asup__sched_discard(k->sched, &kt->t);
			/* The pool is stopped by now: nothing else touches it. */
			asup__free_mem(&k->alloc, kt->bjob, sizeof(*kt->bjob));
			kt->bjob = NULL;
		}
	for (uint32_t i = 0; i < k->obligations.len; i++)
		asup__free_mem(&k->alloc, k->obligations.slot[i].ptr, sizeof(asup__obligation));
	for (uint32_t i = 0; i < k->regions.len; i++) {
		asup__region *r = k->regions.slot[i].ptr;
		if (r) {
			asup__region_report_unjoined(k, r);
			asup__region_heap_release(k, r);
			asup__reason_unref(&k->alloc, r->reason);
			asup__free_mem(&k->alloc, r->fin, (size_t)r->capfin * sizeof(*r->fin));
			asup__free_mem(&k->alloc, r, sizeof(*r));
		}
	}
	for (c = k->chunks; c; c = next) {
		next = c->next;
		for (int i = 0; i < ASUP__REC_CHUNK; i++)
			asup__rec_release_refs(k, &c->recs[i]);
		asup__rec_chunk_release(k, c);
	}
	k->chunks = NULL;
	k->free_recs = NULL;
	asup__rec_chunks_free(k);
	asup__arena_destroy(&k->tasks);
	asup__arena_destroy(&k->regions);
	asup__arena_destroy(&k->obligations);
}

/* ---- the driving thread ------------------------------------------------ */

_Thread_local asup__kernel *asup__tls_kernel __attribute__((tls_model("initial-exec")));

void asup__kernel_enter(asup__kernel *k)
{
	asup__tls_kernel = k;
	atomic_store_explicit(&k->driver, (uintptr_t)&asup__tls_kernel, memory_order_release);
}

void asup__kernel_leave(asup__kernel *k)
{
	atomic_store_explicit(&k->driver, 0, memory_order_release);
	asup__tls_kernel = NULL;
}

asup__ktask *asup__task_lookup(const asup__kernel *k, uint64_t id)
{
	return asup__arena_get(&k->tasks, id);
}

asup__reason *asup__reason_make(asup__kernel *k, asup_cancel_kind kind, const asup__region *r,
				const asup__ktask *t, const char *msg)
{
	asup__reason *n = asup__reason_new(&k->alloc, kind, r ? r->id : ASUP_ID_NONE,
					   t ? t->id : ASUP_ID_NONE, asup__sched_now(k->sched), msg,
					   NULL, k->chain_depth);
	return asup__reason_or_fallback(n, kind);
}

/* ---- invariants -------------------------------------------------------- */

int asup__kernel_check(const asup__kernel *k)
{
	uint32_t live = 0;

	if (asup__arena_check(&k->tasks) || asup__arena_check(&k->regions))
		return -EINVAL;
	for (uint32_t i = 0; i < k->tasks.len; i++) {
		const asup__ktask *kt = k->tasks.slot[i].ptr;
		if (!kt)
			continue;
		if (!kt->in_use || !kt->in_arena || ASUP__ID_INDEX(kt->id) != i)
			return -EINVAL;
		if (kt->pstate != ASUP__P_COMPLETED)
			live++;
	}
	if (live != k->live)
		return -EINVAL;
	for (uint32_t i = 0; i < k->regions.len; i++) {
		const asup__region *r = k->regions.slot[i].ptr;
		uint32_t nt = 0, nc = 0;
		if (!r)
			continue;
		if (r->state == ASUP__R_CLOSED || ASUP__ID_INDEX(r->id) != i)
			return -EINVAL;
		for (const asup__list *l = r->tasks.next; l != &r->tasks; l = l->next)
			nt++;
		for (const asup__list *l = r->children.next; l != &r->children; l = l->next) {
			const asup__region *c = asup__container_of(l, asup__region, sibling);
			if (c->parent != r)
				return -EINVAL;
			nc++;
		}
		if (nt != r->ntasks || nc != r->nchildren)
			return -EINVAL;
		if (!r->parent && r != k->root)
			return -EINVAL;
	}
	return 0;
}
