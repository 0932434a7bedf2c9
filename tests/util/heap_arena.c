/*
 * util: the indexed 4-ary heap and the generational arena, checked against
 * simple reference models under seeded random operations.
 */
#include "harness.h"

#include <errno.h>
#include <stdlib.h>

#include "util/arena.h"
#include "util/heap.h"
#include "util/rng.h"

/* ---- allocators: plain, and one that fails on demand ---- */

static long fail_after = -1; /* allocations left before they fail; -1 = never */
static long live_allocs;
static long bad_free_sizes; /* frees told another size than allocated */

/* Each block remembers its size in front of it (16 bytes keep alignment). */
static void *test_alloc(void *ud, size_t n)
{
	size_t *h;
	(void)ud;
	if (fail_after == 0)
		return NULL;
	if (fail_after > 0)
		fail_after--;
	h = malloc(16 + n);
	if (!h)
		return NULL;
	h[0] = n;
	live_allocs++;
	return (char *)h + 16;
}

static void test_free(void *ud, void *p, size_t n)
{
	size_t *h = (size_t *)(void *)((char *)p - 16);
	(void)ud;
	if (h[0] != n) {
		fprintf(stderr, "a %zu-byte block was freed as %zu bytes\n", h[0], n);
		bad_free_sizes++;
	}
	live_allocs--;
	free(h);
}

static const asup__alloc A = {test_alloc, test_free, NULL};

/* ---- heap ---- */

static int node_less(const asup__hnode *a, const asup__hnode *b)
{
	return a->key < b->key || (a->key == b->key && a->seq < b->seq);
}

static void push(asup__heap *h, asup__hnode *n, uint64_t key, uint64_t seq)
{
	n->key = key;
	n->seq = seq;
	CHECK_EQ(asup__heap_reserve(h, 1), 0);
	asup__heap_push(h, n);
}

TEST(heap_pops_in_key_order)
{
	enum { N = 1000 };
	static asup__hnode n[N];
	uint64_t keys[N];
	asup__heap h;
	asup__rng r;

	asup__heap_init(&h, &A);
	asup__rng_seed(&r, 7);
	CHECK(asup__heap_top(&h) == NULL);
	CHECK(asup__heap_pop(&h) == NULL);
	/* distinct keys in a shuffled order */
	for (int i = 0; i < N; i++)
		keys[i] = (uint64_t)i * 3 + 1;
	for (int i = N - 1; i > 0; i--) {
		int j = (int)asup__rng_below(&r, (uint64_t)i + 1);
		uint64_t t = keys[i];
		keys[i] = keys[j];
		keys[j] = t;
	}
	for (int i = 0; i < N; i++) {
		asup__hnode_init(&n[i]);
		CHECK(!asup__hnode_linked(&n[i]));
		push(&h, &n[i], keys[i], (uint64_t)i);
		CHECK(asup__hnode_linked(&n[i]));
		CHECK_EQ(asup__heap_check(&h), 0);
	}
	CHECK_EQ(h.len, N);
	for (int i = 0; i < N; i++) {
		asup__hnode *t = asup__heap_top(&h);
		CHECK(t != NULL);
		CHECK_EQ(t->key, (uint64_t)i * 3 + 1);
		CHECK(asup__heap_pop(&h) == t);
		CHECK(!asup__hnode_linked(t));
		if ((i & 63) == 0)
			CHECK_EQ(asup__heap_check(&h), 0);
	}
	CHECK_EQ(h.len, 0);
	CHECK(asup__heap_pop(&h) == NULL);
	asup__heap_destroy(&h);
	CHECK_EQ(live_allocs, 0);
}

TEST(heap_equal_keys_pop_fifo_by_seq)
{
	enum { N = 200 };
	static asup__hnode n[N];
	asup__heap h;

	asup__heap_init(&h, &A);
	/* all on one key: insertion order (seq) decides */
	for (int i = 0; i < N; i++) {
		asup__hnode_init(&n[i]);
		push(&h, &n[i], 42, (uint64_t)i);
	}
	for (int i = 0; i < N; i++) {
		asup__hnode *t = asup__heap_pop(&h);
		CHECK(t == &n[i]);
	}
	/* two interleaved keys: by key, then by seq within each key */
	for (int i = 0; i < N; i++)
		push(&h, &n[i], (uint64_t)(i % 2 ? 5 : 9), (uint64_t)i);
	for (int i = 0; i < N; i++) {
		asup__hnode *t = asup__heap_pop(&h);
		int want = i < N / 2 ? 2 * i + 1 : 2 * (i - N / 2);
		CHECK(t == &n[want]);
	}
	/* seq decides even when it does not follow the push order */
	for (int i = 0; i < 10; i++)
		push(&h, &n[i], 1, (uint64_t)(100 - i));
	for (int i = 9; i >= 0; i--)
		CHECK(asup__heap_pop(&h) == &n[i]);
	asup__heap_destroy(&h);
}

TEST(heap_removes_arbitrary_nodes)
{
	enum { N = 100 };
	static asup__hnode n[N];
	asup__heap h;
	int removed[N] = {0};
	uint64_t last_key = 0;

	asup__heap_init(&h, &A);
	for (int i = 0; i < N; i++) {
		asup__hnode_init(&n[i]);
		push(&h, &n[i], (uint64_t)((i * 37) % N), (uint64_t)i);
	}
	/* the root, the last slot, and nodes from the middle */
	asup__hnode *root = asup__heap_top(&h);
	asup__heap_remove(&h, root);
	removed[root - n] = 1;
	CHECK(!asup__hnode_linked(root));
	CHECK_EQ(asup__heap_check(&h), 0);
	asup__hnode *last = h.node[h.len - 1];
	asup__heap_remove(&h, last);
	removed[last - n] = 1;
	CHECK_EQ(asup__heap_check(&h), 0);
	for (int i = 0; i < N; i += 7) {
		if (removed[i])
			continue;
		asup__heap_remove(&h, &n[i]);
		removed[i] = 1;
		CHECK(!asup__hnode_linked(&n[i]));
		CHECK_EQ(asup__heap_check(&h), 0);
		asup__heap_remove(&h, &n[i]); /* an unlinked node: no effect */
		CHECK_EQ(asup__heap_check(&h), 0);
	}
	int left = 0;
	for (int i = 0; i < N; i++)
		left += !removed[i];
	CHECK_EQ(h.len, (uint32_t)left);
	for (int i = 0; i < left; i++) {
		asup__hnode *t = asup__heap_pop(&h);
		CHECK(t != NULL);
		CHECK(!removed[t - n]);
		CHECK(t->key >= last_key);
		last_key = t->key;
	}
	CHECK(asup__heap_pop(&h) == NULL);
	asup__heap_destroy(&h);
}

/* Random pushes, pops and removals against a reference set. */
TEST(heap_random_operations_keep_the_invariant)
{
	enum { N = 512 };
	static asup__hnode n[N];
	int ops = harness_under_valgrind() ? 4000 : 40000;
	asup__heap h;
	asup__rng r;
	uint64_t seq = 0;
	uint32_t in = 0;

	asup__heap_init(&h, &A);
	asup__rng_seed(&r, 0xC0FFEE);
	for (int i = 0; i < N; i++)
		asup__hnode_init(&n[i]);
	for (int op = 0; op < ops; op++) {
		int i = (int)asup__rng_below(&r, N);
		uint64_t what = asup__rng_below(&r, 3);
		if (what == 0 && !asup__hnode_linked(&n[i])) {
			/* few distinct keys: plenty of ties */
			push(&h, &n[i], asup__rng_below(&r, 16), seq++);
			in++;
		} else if (what == 1 && asup__hnode_linked(&n[i])) {
			asup__heap_remove(&h, &n[i]);
			in--;
		} else if (what == 2 && h.len) {
			/* the reference minimum over the linked nodes */
			asup__hnode *min = NULL;
			for (int k = 0; k < N; k++)
				if (asup__hnode_linked(&n[k]) && (!min || node_less(&n[k], min)))
					min = &n[k];
			CHECK(asup__heap_pop(&h) == min);
			in--;
		}
		CHECK_EQ(h.len, in);
		if (asup__heap_check(&h) != 0) {
			fprintf(stderr, "heap invariant broken after op %d (seed 0xC0FFEE)\n", op);
			CHECK(0);
		}
	}
	for (int k = 0; k < N; k++)
		if (asup__hnode_linked(&n[k]))
			CHECK(h.node[n[k].idx] == &n[k]);
	asup__heap_destroy(&h);
	for (int k = 0; k < N; k++) /* destroy unlinks what was left */
		CHECK(!asup__hnode_linked(&n[k]));
	CHECK_EQ(live_allocs, 0);
}

TEST(heap_reserve_failure_changes_nothing)
{
	static asup__hnode n[65];
	asup__heap h;

	asup__heap_init(&h, &A);
	for (int i = 0; i < 64; i++) {
		asup__hnode_init(&n[i]);
		push(&h, &n[i], (uint64_t)(64 - i), (uint64_t)i);
	}
	CHECK_EQ(h.cap, 64);
	fail_after = 0; /* the growth to 128 fails */
	CHECK_EQ(asup__heap_reserve(&h, 1), -ENOMEM);
	CHECK_EQ(h.len, 64);
	CHECK_EQ(h.cap, 64);
	CHECK_EQ(asup__heap_check(&h), 0);
	CHECK(asup__heap_top(&h) == &n[63]);
	CHECK_EQ(asup__heap_reserve(&h, 0), 0); /* room enough: no allocation */
	fail_after = -1;
	asup__hnode_init(&n[64]);
	push(&h, &n[64], 0, 64);
	CHECK(asup__heap_top(&h) == &n[64]);
	CHECK_EQ(asup__heap_check(&h), 0);
	asup__heap_destroy(&h);
	CHECK_EQ(live_allocs, 0);
}

/* Growing a heap that is not full frees the old array with its real size
 * (the allocator hooks receive the size; sized allocators depend on it). */
TEST(heap_growth_frees_the_old_array_with_its_size)
{
	static asup__hnode n[10];
	asup__heap h;

	asup__heap_init(&h, &A);
	for (int i = 0; i < 10; i++) {
		asup__hnode_init(&n[i]);
		push(&h, &n[i], (uint64_t)i, (uint64_t)i);
	}
	CHECK_EQ(h.cap, 64);
	CHECK_EQ(asup__heap_reserve(&h, 100), 0); /* 10 used of 64 -> 128 */
	CHECK_EQ(h.cap, 128);
	CHECK_EQ(asup__heap_check(&h), 0);
	for (int i = 0; i < 10; i++)
		CHECK(asup__heap_pop(&h) == &n[i]); /* contents kept */
	CHECK_EQ(asup__heap_reserve(&h, 200), 0);   /* empty, 128 -> 256 */
	asup__heap_destroy(&h);
	CHECK_EQ(live_allocs, 0);
	CHECK_EQ(bad_free_sizes, 0);
}

/* ---- arena ---- */

TEST(arena_insert_get_remove)
{
	asup__arena a;
	int v[10];
	uint64_t id[10];

	asup__arena_init(&a, &A);
	CHECK(asup__arena_get(&a, 0) == NULL); /* empty */
	for (int i = 0; i < 10; i++) {
		CHECK_EQ(asup__arena_insert(&a, &v[i], &id[i]), 0);
		CHECK_EQ(ASUP__ID_INDEX(id[i]), (uint32_t)i); /* fresh slots in order */
		CHECK_EQ(ASUP__ID_GEN(id[i]), 1);
	}
	CHECK_EQ(a.live, 10);
	for (int i = 0; i < 10; i++)
		CHECK(asup__arena_get(&a, id[i]) == &v[i]);
	CHECK(asup__arena_remove(&a, id[4]) == &v[4]);
	CHECK(asup__arena_get(&a, id[4]) == NULL);
	CHECK(asup__arena_get(&a, id[5]) == &v[5]); /* neighbours unaffected */
	CHECK_EQ(a.live, 9);
	/* indices beyond the table and wrong generations name nothing */
	CHECK(asup__arena_get(&a, ((uint64_t)1 << 32) | 10) == NULL);
	CHECK(asup__arena_get(&a, 3) == NULL); /* generation 0 names nothing */
	CHECK(asup__arena_get(&a, 0xFFFFFFFFu) == NULL);
	CHECK(asup__arena_get(&a, ((uint64_t)2 << 32) | 3) == NULL);
	CHECK(asup__arena_remove(&a, ((uint64_t)2 << 32) | 3) == NULL);
	CHECK(asup__arena_get(&a, id[3]) == &v[3]);
	CHECK_EQ(asup__arena_check(&a), 0);
	asup__arena_destroy(&a);
	CHECK_EQ(live_allocs, 0);
}

TEST(arena_stale_ids_stay_stale_and_slots_are_reused_lifo)
{
	asup__arena a;
	int v[8];
	uint64_t id[8], nid[3];

	asup__arena_init(&a, &A);
	for (int i = 0; i < 8; i++)
		CHECK_EQ(asup__arena_insert(&a, &v[i], &id[i]), 0);
	/* free 2, 5, 6 in that order: reuse comes back 6, 5, 2 */
	CHECK(asup__arena_remove(&a, id[2]) == &v[2]);
	CHECK(asup__arena_remove(&a, id[5]) == &v[5]);
	CHECK(asup__arena_remove(&a, id[6]) == &v[6]);
	CHECK(asup__arena_remove(&a, id[6]) == NULL); /* twice: stale */
	CHECK_EQ(asup__arena_check(&a), 0);
	CHECK_EQ(asup__arena_insert(&a, &v[0], &nid[0]), 0);
	CHECK_EQ(asup__arena_insert(&a, &v[1], &nid[1]), 0);
	CHECK_EQ(asup__arena_insert(&a, &v[3], &nid[2]), 0);
	CHECK_EQ(ASUP__ID_INDEX(nid[0]), 6);
	CHECK_EQ(ASUP__ID_INDEX(nid[1]), 5);
	CHECK_EQ(ASUP__ID_INDEX(nid[2]), 2);
	for (int k = 0; k < 3; k++)
		CHECK_EQ(ASUP__ID_GEN(nid[k]), 2); /* first generation 1, one removal: one more */
	/* the old ids name the reused slots but never the new occupants */
	CHECK(asup__arena_get(&a, id[6]) == NULL);
	CHECK(asup__arena_get(&a, id[5]) == NULL);
	CHECK(asup__arena_get(&a, id[2]) == NULL);
	CHECK(asup__arena_remove(&a, id[2]) == NULL);
	CHECK(asup__arena_get(&a, nid[2]) == &v[3]);
	/* the table is full again: the next insert appends */
	uint64_t x;
	CHECK_EQ(asup__arena_insert(&a, &v[7], &x), 0);
	CHECK_EQ(ASUP__ID_INDEX(x), 8);
	CHECK_EQ(ASUP__ID_GEN(x), 1);
	/* many cycles through one slot: the generation counts them */
	for (int k = 0; k < 100; k++) {
		CHECK(asup__arena_remove(&a, x) == &v[7]);
		CHECK_EQ(asup__arena_insert(&a, &v[7], &x), 0);
		CHECK_EQ(ASUP__ID_INDEX(x), 8);
	}
	CHECK_EQ(ASUP__ID_GEN(x), 101);
	CHECK_EQ(a.live, 9);
	CHECK_EQ(asup__arena_check(&a), 0);
	asup__arena_destroy(&a);
}

TEST(arena_retires_a_slot_before_its_generation_wraps)
{
	asup__arena a;
	int v, w;
	uint64_t id, id2;

	asup__arena_init(&a, &A);
	CHECK_EQ(asup__arena_insert(&a, &v, &id), 0);
	/* jump the slot to its last usable generation */
	a.slot[0].gen = UINT32_MAX - 1;
	id = ((uint64_t)(UINT32_MAX - 1) << 32) | 0;
	CHECK(asup__arena_get(&a, id) == &v);
	CHECK(asup__arena_remove(&a, id) == &v);
	CHECK_EQ(asup__arena_check(&a), 0);
	/* retired: not on the free list, and no id names it */
	CHECK_EQ(asup__arena_insert(&a, &w, &id2), 0);
	CHECK_EQ(ASUP__ID_INDEX(id2), 1);
	CHECK(asup__arena_get(&a, ((uint64_t)UINT32_MAX << 32) | 0) == NULL);
	CHECK(asup__arena_get(&a, id) == NULL);
	CHECK_EQ(a.live, 1);
	CHECK_EQ(asup__arena_check(&a), 0);
	asup__arena_destroy(&a);
}

TEST(arena_growth_failure_changes_nothing)
{
	asup__arena a;
	int v;
	uint64_t id, first;

	asup__arena_init(&a, &A);
	fail_after = 0;
	CHECK_EQ(asup__arena_insert(&a, &v, &id), -ENOMEM);
	CHECK_EQ(a.live, 0);
	CHECK_EQ(asup__arena_check(&a), 0);
	fail_after = -1;
	CHECK_EQ(asup__arena_insert(&a, &v, &first), 0);
	for (uint32_t i = 1; i < a.cap; i++)
		CHECK_EQ(asup__arena_insert(&a, &v, &id), 0);
	uint32_t cap = a.cap;
	fail_after = 0; /* the table is full: growing it fails */
	CHECK_EQ(asup__arena_insert(&a, &v, &id), -ENOMEM);
	CHECK_EQ(a.cap, cap);
	CHECK_EQ(a.live, cap);
	CHECK(asup__arena_get(&a, first) == &v);
	CHECK_EQ(asup__arena_check(&a), 0);
	/* a free slot needs no allocation */
	CHECK(asup__arena_remove(&a, first) == &v);
	CHECK_EQ(asup__arena_insert(&a, &v, &id), 0);
	fail_after = -1;
	CHECK_EQ(asup__arena_check(&a), 0);
	asup__arena_destroy(&a);
	CHECK_EQ(live_allocs, 0);
}

/* Random inserts and removals against a reference table of ids. */
TEST(arena_random_operations_match_a_model)
{
	enum { N = 2000 };
	static uint64_t ids[N];
	static int present[N], ever[N];
	static int vals[N];
	int ops = harness_under_valgrind() ? 20000 : 200000;
	asup__arena a;
	asup__rng r;
	uint32_t live = 0;

	asup__arena_init(&a, &A);
	asup__rng_seed(&r, 1234);
	for (int op = 0; op < ops; op++) {
		int i = (int)asup__rng_below(&r, N);
		if (!present[i]) {
			uint64_t old = ids[i];
			CHECK_EQ(asup__arena_insert(&a, &vals[i], &ids[i]), 0);
			present[i] = 1;
			live++;
			if (ever[i]) /* the previous id of this value went stale */
				CHECK(old != ids[i] && asup__arena_get(&a, old) == NULL);
			ever[i] = 1;
		} else {
			CHECK(asup__arena_get(&a, ids[i]) == &vals[i]);
			CHECK(asup__arena_remove(&a, ids[i]) == &vals[i]);
			CHECK(asup__arena_get(&a, ids[i]) == NULL);
			present[i] = 0;
			live--;
		}
		CHECK_EQ(a.live, live);
		if ((op & 1023) == 0 && asup__arena_check(&a) != 0) {
			fprintf(stderr, "arena invariant broken after op %d (seed 1234)\n", op);
			CHECK(0);
		}
	}
	/* every id is resolved by exactly the model */
	for (int i = 0; i < N; i++) {
		if (present[i])
			CHECK(asup__arena_get(&a, ids[i]) == &vals[i]);
		else if (ever[i])
			CHECK(asup__arena_get(&a, ids[i]) == NULL);
	}
	CHECK_EQ(asup__arena_check(&a), 0);
	/* the table never grew past the most ever live at once (slots are reused) */
	CHECK(a.len <= N);
	asup__arena_destroy(&a);
	CHECK_EQ(live_allocs, 0);
}
