/*
 * Helpers for tests and fuzzers that craft lab recordings byte by byte (the
 * layout is in src/lab/replay.h): field offsets, and the check value in the
 * last 8 bytes, recomputed here so that a crafted file gets past the check
 * and reaches the decoder's field validation. The test reader.c verifies
 * that this copy of the check agrees with the library's on a real file.
 */
#ifndef ASUP_TEST_RECFILE_H
#define ASUP_TEST_RECFILE_H

#include <stddef.h>
#include <stdint.h>

enum {
	RECF_VERSION = 8,      /* u32 */
	RECF_HDR_BYTES = 12,   /* u32 */
	RECF_SEED = 16,        /* u64 */
	RECF_WORKERS = 24,     /* u32 */
	RECF_FLAGS = 28,       /* u32 */
	RECF_MAX_STEPS = 32,   /* u64 */
	RECF_FUTURELOCK = 40,  /* u64 */
	RECF_CHAOS = 48,       /* 5 x u32 */
	RECF_INJECT_AT = 68,   /* u32 */
	RECF_INJECT_KIND = 72, /* u32 */
	RECF_NAME = 76,        /* char[32] */
	RECF_NSTEPS = 108,     /* u64 */
	RECF_STEPS = 116,      /* nsteps x 24 bytes */
	RECF_STEP_BYTES = 24,
	RECF_TRAILER = 24, /* digest[16], check u64 */
	RECF_MIN = RECF_STEPS + RECF_TRAILER,
};

static inline uint64_t recf_check_of(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	return h ^ (h >> 29);
}

static inline uint64_t recf_get(const uint8_t *p, size_t off, int bytes)
{
	uint64_t v = 0;

	for (int i = 0; i < bytes; i++)
		v |= (uint64_t)p[off + (size_t)i] << (8 * i);
	return v;
}

static inline void recf_put(uint8_t *p, size_t off, int bytes, uint64_t v)
{
	for (int i = 0; i < bytes; i++)
		p[off + (size_t)i] = (uint8_t)(v >> (8 * i));
}

/* Rewrites the last 8 bytes as the check of the bytes before them. */
static inline void recf_fix_check(uint8_t *p, size_t len)
{
	if (len >= 8)
		recf_put(p, len - 8, 8, recf_check_of(p, len - 8));
}

#endif
