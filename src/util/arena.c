/* Generational arena (see arena.h). */
#include "arena.h"

#include <errno.h>
#include <stddef.h>

#define NONE UINT32_MAX

void asup__arena_init(asup__arena *a, const asup__alloc *al)
{
	a->slot = NULL;
	a->len = a->cap = 0;
	a->free_head = NONE;
	a->live = 0;
	a->alloc = al;
}

void asup__arena_destroy(asup__arena *a)
{
	asup__free_mem(a->alloc, a->slot, (size_t)a->cap * sizeof(*a->slot));
	asup__arena_init(a, a->alloc);
}

int asup__arena_insert(asup__arena *a, void *ptr, uint64_t *id)
{
	uint32_t i;

	if (a->free_head != NONE) {
		i = a->free_head;
		a->free_head = a->slot[i].next_free;
	} else {
		if (a->len == a->cap) {
			uint32_t ncap = a->cap ? a->cap * 2 : 256;
			if (a->cap >= UINT32_MAX / 4 ||
			    asup__grow(a->alloc, (void **)&a->slot, sizeof(*a->slot), a->cap, ncap))
				return -ENOMEM;
			a->cap = ncap;
		}
		i = a->len++;
		a->slot[i].gen = 1; /* id 0 never names anything */
	}
	a->slot[i].ptr = ptr;
	a->slot[i].next_free = NONE;
	a->live++;
	*id = ((uint64_t)a->slot[i].gen << 32) | i;
	return 0;
}

void *asup__arena_get(const asup__arena *a, uint64_t id)
{
	uint32_t i = ASUP__ID_INDEX(id);
	if (i >= a->len || a->slot[i].gen != ASUP__ID_GEN(id))
		return NULL;
	return a->slot[i].ptr;
}

void *asup__arena_remove(asup__arena *a, uint64_t id)
{
	uint32_t i = ASUP__ID_INDEX(id);
	void *p = asup__arena_get(a, id);

	if (!p)
		return NULL;
	a->slot[i].ptr = NULL;
	a->live--;
	if (a->slot[i].gen == UINT32_MAX - 1) {
		a->slot[i].gen = UINT32_MAX; /* retired: no id can name it again */
		return p;
	}
	a->slot[i].gen++;
	a->slot[i].next_free = a->free_head;
	a->free_head = i;
	return p;
}

int asup__arena_check(const asup__arena *a)
{
	uint32_t live = 0, nfree = 0, vacant = 0;
	for (uint32_t i = 0; i < a->len; i++) {
		if (a->slot[i].ptr)
			live++;
		else if (a->slot[i].gen != UINT32_MAX)
			vacant++;
	}
	for (uint32_t i = a->free_head; i != NONE; i = a->slot[i].next_free) {
		if (i >= a->len || a->slot[i].ptr || ++nfree > a->len)
			return -EINVAL;
	}
	return (live == a->live && nfree == vacant) ? 0 : -EINVAL;
}
