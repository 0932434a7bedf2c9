/*
 * Generational arena: maps 64-bit ids (generation << 32 | index) to pointers.
 *
 * Insert pops the LIFO free list (reusing the slot at its current generation)
 * or appends a slot at generation 1 (so id 0 never names anything). Remove bumps the slot's generation, so
 * every id that named the old occupant is stale from then on: lookups return
 * NULL, never another object. A slot whose generation would wrap is retired.
 *
 * Invariant (asup__arena_check): live == number of occupied slots; the free
 * list holds exactly the vacant, unretired slots.
 */
#ifndef ASUP_UTIL_ARENA_H
#define ASUP_UTIL_ARENA_H

#include <stdint.h>
#include "alloc.h"

typedef struct asup__slot {
	void *ptr;         /* NULL when vacant */
	uint32_t gen;
	uint32_t next_free;
} asup__slot;

typedef struct asup__arena {
	asup__slot *slot;
	uint32_t len, cap;
	uint32_t free_head; /* UINT32_MAX = none */
	uint32_t live;
	const asup__alloc *alloc;
} asup__arena;

#define ASUP__ID_INDEX(id) ((uint32_t)(id))
#define ASUP__ID_GEN(id) ((uint32_t)((id) >> 32))

void asup__arena_init(asup__arena *a, const asup__alloc *al);
void asup__arena_destroy(asup__arena *a);
/* 0 and *id, or -ENOMEM (nothing changed). */
int asup__arena_insert(asup__arena *a, void *ptr, uint64_t *id);
void *asup__arena_get(const asup__arena *a, uint64_t id);
/* Returns the removed pointer, or NULL for a stale id. */
void *asup__arena_remove(asup__arena *a, uint64_t id);
int asup__arena_check(const asup__arena *a);

#endif
