/* util: the indexed heap and the generational arena. */
#include "harness.h"

#include <stdlib.h>

#include "util/arena.h"
#include "util/heap.h"
#include "util/rng.h"

static void *sys_alloc(void *ud, size_t n)
{
	return malloc(n);
}
static void sys_free(void *ud, void *p, size_t n)
{
	free(p);
}
static const asup__alloc A = {sys_alloc, sys_free, NULL};

TEST(heap_pops_in_key_then_insertion_order)
{
	asup__heap h;
	asup__hnode n[300];
	asup__rng r;
	uint64_t last_key = 0, last_seq = 0;

	asup__heap_init(&h, &A);
	asup__rng_seed(&r, 9);
	for (int i = 0; i < 300; i++) {
		asup__hnode_init(&n[i]);
		n[i].key = asup__rng_below(&r, 20); /* many equal keys */
		n[i].seq = (uint64_t)i;
		CHECK_EQ(asup__heap_reserve(&h, 1), 0);
		asup__heap_push(&h, &n[i]);
		CHECK_EQ(asup__heap_check(&h), 0);
	}
	/* remove every third node from the middle of the heap */
	for (int i = 0; i < 300; i += 3) {
		asup__heap_remove(&h, &n[i]);
		CHECK(!asup__hnode_linked(&n[i]));
		asup__heap_remove(&h, &n[i]); /* twice is harmless */
	}
	CHECK_EQ(asup__heap_check(&h), 0);
	CHECK_EQ(h.len, 200);
	for (int i = 0; i < 200; i++) {
		asup__hnode *t = asup__heap_pop(&h);
		CHECK(t != NULL);
		CHECK(t->key > last_key || (t->key == last_key && (i == 0 || t->seq > last_seq)));
		CHECK((t - n) % 3 != 0);
		last_key = t->key;
		last_seq = t->seq;
	}
	CHECK(asup__heap_pop(&h) == NULL);
	asup__heap_destroy(&h);
}

TEST(arena_ids_go_stale_and_slots_are_reused)
{
	asup__arena a;
	int x, y, z;
	uint64_t ix, iy, iz;

	asup__arena_init(&a, &A);
	CHECK_EQ(asup__arena_insert(&a, &x, &ix), 0);
	CHECK_EQ(asup__arena_insert(&a, &y, &iy), 0);
	CHECK(asup__arena_get(&a, ix) == &x);
	CHECK(asup__arena_remove(&a, ix) == &x);
	CHECK(asup__arena_get(&a, ix) == NULL);    /* stale */
	CHECK(asup__arena_remove(&a, ix) == NULL); /* and stays so */
	CHECK_EQ(asup__arena_insert(&a, &z, &iz), 0);
	CHECK_EQ(ASUP__ID_INDEX(iz), ASUP__ID_INDEX(ix)); /* LIFO reuse ... */
	CHECK_EQ(ASUP__ID_GEN(iz), ASUP__ID_GEN(ix) + 1); /* ... a new generation */
	CHECK(asup__arena_get(&a, ix) == NULL);
	CHECK(asup__arena_get(&a, iz) == &z);
	CHECK(asup__arena_get(&a, (uint64_t)1 << 40) == NULL);
	CHECK_EQ(a.live, 2);
	CHECK_EQ(asup__arena_check(&a), 0);
	for (int i = 0; i < 5000; i++) { /* growth */
		uint64_t id;
		CHECK_EQ(asup__arena_insert(&a, &x, &id), 0);
	}
	CHECK_EQ(a.live, 5002);
	CHECK_EQ(asup__arena_check(&a), 0);
	asup__arena_destroy(&a);
}

TEST(rng_is_seeded_and_bounded)
{
	asup__rng a, b;
	int seen[7] = {0};
	asup__rng_seed(&a, 1);
	asup__rng_seed(&b, 1);
	for (int i = 0; i < 1000; i++) {
		uint64_t v = asup__rng_below(&a, 7);
		CHECK(v < 7);
		CHECK_EQ(v, asup__rng_below(&b, 7));
		seen[v]++;
	}
	for (int i = 0; i < 7; i++)
		CHECK(seen[i] > 80); /* roughly uniform */
}
