/*
 * The allocation hooks every layer allocates through, so that tests can
 * inject failures and embedders can supply their own allocator. The hooks are
 * copied from the runtime config; the default is malloc/free.
 */
#ifndef ASUP_UTIL_ALLOC_H
#define ASUP_UTIL_ALLOC_H

#include <stddef.h>

typedef struct asup__alloc {
	void *(*alloc)(void *ud, size_t size);
	void (*free)(void *ud, void *ptr, size_t size);
	void *ud;
} asup__alloc;

static inline void *asup__alloc_mem(const asup__alloc *a, size_t size)
{
	return a->alloc(a->ud, size);
}

static inline void asup__free_mem(const asup__alloc *a, void *p, size_t size)
{
	if (p)
		a->free(a->ud, p, size);
}

/* Grows *arr from old_n to new_n elements of elem bytes. 0 or -ENOMEM (old kept). */
int asup__grow(const asup__alloc *a, void **arr, size_t elem, size_t old_n, size_t new_n);

#endif
