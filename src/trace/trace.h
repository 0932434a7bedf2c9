/*
 * Trace layer: the event ring, the running digest, and the exporters (JSON
 * lines, Chrome trace-event JSON for Perfetto).
 *
 * Owns: nothing but its own buffers. Must not touch: any runtime state; it
 * only receives asup_event records (asupersync/trace.h).
 *
 * Invariants: the ring keeps the last min(total, cap) events, cap a power of
 * two; the digest has absorbed exactly `n` events, in order.
 */
#ifndef ASUP_TRACE_H
#define ASUP_TRACE_H

#include <stdint.h>
#include <stdio.h>

#include "asupersync/trace.h"
#include "../util/alloc.h"

typedef struct asup__ring {
	asup_event *ev;
	uint32_t cap, mask;  /* cap is a power of two */
	uint64_t total;      /* events ever pushed */
} asup__ring;

/* cap is rounded up to a power of two (1 .. 1 << 26). 0 or -ENOMEM/-EINVAL. */
int asup__ring_init(asup__ring *r, const asup__alloc *a, uint32_t cap);
void asup__ring_destroy(asup__ring *r, const asup__alloc *a);

/* The slot of the next event (the caller fills every field). */
static inline asup_event *asup__ring_next(asup__ring *r)
{
	return &r->ev[r->total++ & r->mask];
}

/* Events kept (at most cap). */
static inline uint64_t asup__ring_kept(const asup__ring *r)
{
	return r->total < r->cap ? r->total : r->cap;
}

/* Copies up to n of the kept events, oldest first, starting `skip` events
 * after the oldest kept one. Returns how many were copied. */
size_t asup__ring_copy(const asup__ring *r, uint64_t skip, asup_event *out, size_t n);

/*
 * The digest: a 128-bit hash chain over the records. Each event's words
 * (type and worker, task, region, a, b, step) go alternately into two
 * 64-bit xor-multiply lanes, and the lanes then feed each other, so the state after event i depends on those fields of every event
 * up to i and on their order (seq is the order itself; time moves only by
 * TIME_ADVANCE events). It is built to tell runs apart
 * (accidental collisions ~2^-128), not to resist an adversary.
 */
typedef struct asup__digest {
	uint64_t h1, h2;
	uint64_t n;
} asup__digest;

void asup__digest_init(asup__digest *d);
void asup__digest_absorb(asup__digest *d, const asup_event *ev);

/* One word into one lane: xor, multiply by an odd constant (a bijection),
 * fold the high half down. */
static inline uint64_t asup__digest_mix(uint64_t h, uint64_t w, uint64_t k)
{
	h = (h ^ w) * k;
	return h ^ (h >> 29);
}

/* The absorb step on an event's words: type and worker, task, region, a,
 * b, step (seq is the position in the chain itself, and time changes only
 * through TIME_ADVANCE events, so neither needs hashing). The words
 * alternate between the lanes, which then feed each other, so a difference
 * in one event reaches both halves of every later state. */
static inline void asup__digest_words(asup__digest *d, uint32_t type, uint32_t worker,
				      uint64_t task, uint64_t region, uint64_t a, uint64_t b,
				      uint64_t step)
{
	const uint64_t c1 = 0x87c37b91114253d5ull, c2 = 0x4cf5ad432745937full;
	uint64_t h1 = d->h1, h2 = d->h2;

	h1 = asup__digest_mix(h1, (uint64_t)type | (uint64_t)worker << 32, c1);
	h2 = asup__digest_mix(h2, task, c2);
	h1 = asup__digest_mix(h1, region, c2);
	h2 = asup__digest_mix(h2, a, c1);
	h1 = asup__digest_mix(h1, b, c1);
	h2 = asup__digest_mix(h2, step, c2);
	d->h1 = h1 + ((h2 << 23) | (h2 >> 41));
	d->h2 = h2 ^ ((h1 << 41) | (h1 >> 23));
	d->n++;
}
/* The digest of what was absorbed so far (the state is not changed). */
void asup__digest_final(const asup__digest *d, uint8_t out[16]);
/* Lowercase hex of 16 bytes into buf[33]. */
void asup__digest_hex(const uint8_t in[16], char buf[33]);

/* A name for a task id ("T3") or region id ("R1"); "-" for ASUP_ID_NONE. */
void asup__id_name(char prefix, uint64_t id, char *buf, size_t n);

/* One JSON object per line per event. 0, or -EIO on a write error. */
int asup__export_jsonl(const asup_event *ev, size_t n, FILE *f);

/*
 * Chrome trace-event JSON (opens in Perfetto and chrome://tracing): each
 * task is a thread (named from TASK_NAME events) whose slices are its runs
 * (RESUME to the next suspension), regions are async spans from creation
 * to close, instant events mark cancels, wakes, obligations and user
 * events. Timestamps are step numbers (1 step = 1 us) unless virtual_time
 * is set (then virtual nanoseconds / 1000). A task's track id is its
 * arena index + 1 (a newer task at a reused index gets an id past the
 * largest index), so every task has a track of its own and every id stays
 * far below 2^32; the thread's name carries the full id ("T3.1").
 * 0, -EIO, or -ENOMEM (the table of tracks).
 */
int asup__export_chrome(const asup_event *ev, size_t n, FILE *f, int virtual_time);

#endif
