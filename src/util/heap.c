/*
 * Indexed 4-ary min-heap (see heap.h for the invariant).
 *
 * Four children per node halve the depth of a binary heap, and the children
 * of one node share a cache line of pointers: with 10^6 timers a push or a
 * removal touches about ten levels.
 */
#include "heap.h"

#include <errno.h>
#include <string.h>

int asup__grow(const asup__alloc *a, void **arr, size_t elem, size_t old_n, size_t new_n)
{
	void *n;

	if (new_n > SIZE_MAX / elem)
		return -ENOMEM;
	n = asup__alloc_mem(a, new_n * elem);
	if (!n)
		return -ENOMEM;
	if (*arr && old_n)
		memcpy(n, *arr, old_n * elem);
	asup__free_mem(a, *arr, old_n * elem);
	*arr = n;
	return 0;
}

static inline int less(const asup__hnode *a, const asup__hnode *b)
{
	return a->key < b->key || (a->key == b->key && a->seq < b->seq);
}

static inline void place(asup__heap *h, uint32_t i, asup__hnode *n)
{
	h->node[i] = n;
	n->idx = i;
}

static void sift_up(asup__heap *h, uint32_t i, asup__hnode *n)
{
	while (i > 0) {
		uint32_t p = (i - 1) / 4;
		if (!less(n, h->node[p]))
			break;
		place(h, i, h->node[p]);
		i = p;
	}
	place(h, i, n);
}

static void sift_down(asup__heap *h, uint32_t i, asup__hnode *n)
{
	for (;;) {
		uint32_t c = 4 * i + 1, best, end;
		if (c >= h->len)
			break;
		best = c;
		end = c + 4 < h->len ? c + 4 : h->len;
		for (uint32_t k = c + 1; k < end; k++)
			if (less(h->node[k], h->node[best]))
				best = k;
		if (!less(h->node[best], n))
			break;
		place(h, i, h->node[best]);
		i = best;
	}
	place(h, i, n);
}

void asup__heap_init(asup__heap *h, const asup__alloc *a)
{
	h->node = NULL;
	h->len = h->cap = 0;
	h->alloc = a;
}

void asup__heap_destroy(asup__heap *h)
{
	for (uint32_t i = 0; i < h->len; i++)
		h->node[i]->idx = ASUP__HEAP_NONE;
	asup__free_mem(h->alloc, h->node, (size_t)h->cap * sizeof(*h->node));
	h->node = NULL;
	h->len = h->cap = 0;
}

int asup__heap_reserve(asup__heap *h, uint32_t extra)
{
	uint32_t want, cap;

	if (h->len + (uint64_t)extra <= h->cap)
		return 0;
	if (h->len + (uint64_t)extra >= UINT32_MAX / 2)
		return -ENOMEM;
	want = h->len + extra;
	cap = h->cap ? h->cap : 64;
	while (cap < want)
		cap *= 2;
	if (asup__grow(h->alloc, (void **)&h->node, sizeof(*h->node), h->cap, cap))
		return -ENOMEM;
	h->cap = cap;
	return 0;
}

void asup__heap_push(asup__heap *h, asup__hnode *n)
{
	/* Callers reserve first; push itself never allocates. */
	sift_up(h, h->len++, n);
}

void asup__heap_remove(asup__heap *h, asup__hnode *n)
{
	uint32_t i = n->idx;
	asup__hnode *last;

	if (i == ASUP__HEAP_NONE)
		return;
	n->idx = ASUP__HEAP_NONE;
	last = h->node[--h->len];
	if (last == n)
		return;
	if (i > 0 && less(last, h->node[(i - 1) / 4]))
		sift_up(h, i, last);
	else
		sift_down(h, i, last);
}

asup__hnode *asup__heap_pop(asup__heap *h)
{
	asup__hnode *top = asup__heap_top(h);
	if (top)
		asup__heap_remove(h, top);
	return top;
}

int asup__heap_check(const asup__heap *h)
{
	for (uint32_t i = 0; i < h->len; i++) {
		if (h->node[i]->idx != i)
			return -EINVAL;
		if (i > 0 && less(h->node[i], h->node[(i - 1) / 4]))
			return -EINVAL;
	}
	return 0;
}
