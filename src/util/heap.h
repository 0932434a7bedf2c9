/*
 * Indexed 4-ary min-heap of intrusive nodes ordered by (key, seq).
 *
 * Used for the timer queue and the timed lane. Each node knows its own
 * position (idx), so removal of an arbitrary node is O(log n); a node that is
 * not in a heap has idx == ASUP__HEAP_NONE. seq breaks ties so that equal keys
 * come out in insertion order: the heap never compares addresses, which keeps
 * the deterministic mode deterministic.
 *
 * Invariant (checked by asup__heap_check): for every i > 0,
 * node[parent(i)] <= node[i] and node[i]->idx == i.
 */
#ifndef ASUP_UTIL_HEAP_H
#define ASUP_UTIL_HEAP_H

#include <stdint.h>
#include "alloc.h"

#define ASUP__HEAP_NONE UINT32_MAX

typedef struct asup__hnode {
	uint64_t key;
	uint64_t seq;
	uint32_t idx;
} asup__hnode;

typedef struct asup__heap {
	asup__hnode **node;
	uint32_t len, cap;
	const asup__alloc *alloc;
} asup__heap;

void asup__heap_init(asup__heap *h, const asup__alloc *a);
void asup__heap_destroy(asup__heap *h);
/* Makes room for one more node; 0 or -ENOMEM. Push then cannot fail. */
int asup__heap_reserve(asup__heap *h, uint32_t extra);
void asup__heap_push(asup__heap *h, asup__hnode *n);
void asup__heap_remove(asup__heap *h, asup__hnode *n);
asup__hnode *asup__heap_pop(asup__heap *h);
int asup__heap_check(const asup__heap *h);

static inline asup__hnode *asup__heap_top(const asup__heap *h)
{
	return h->len ? h->node[0] : (asup__hnode *)0;
}

static inline void asup__hnode_init(asup__hnode *n)
{
	n->idx = ASUP__HEAP_NONE;
}

static inline int asup__hnode_linked(const asup__hnode *n)
{
	return n->idx != ASUP__HEAP_NONE;
}

#endif
