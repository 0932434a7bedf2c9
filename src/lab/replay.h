/*
 * The lab's recording: the configuration that matters for a run, and one
 * record per step (the task dispatched, its lane and worker, the chaos
 * actions taken, and the low half of the digest after the step), saved to
 * and loaded from a versioned binary file.
 *
 * File layout (all integers little-endian, written field by field):
 *   "ASUPLAB\0", u32 version (1), u32 header bytes (108),
 *   u64 seed, u32 workers, u32 flags, u64 max_steps, u64 futurelock_steps,
 *   u32 chaos cancel/delay/storm/storm_max/budget (5 x u32), u32 inject_at,
 *   u32 inject_kind, char name[32] (NUL-terminated), u64 nsteps;
 *   nsteps x { u64 task, u8 lane, u8 worker, u16 chaos, u32 zero, u64 check (< 2^32) };
 *   u8 digest[16], u64 check (hash of every byte before it).
 * Version 2 is the same with the simulated network's config (NET_BYTES,
 * field by field, see replay.c) between the name and nsteps, and header
 * bytes 108 + NET_BYTES; it is written only when the run's network config
 * differs from the defaults, so every other recording stays version 1.
 * The reader rejects anything else: bad magic or version, a size that does
 * not match nsteps, out-of-range fields, a wrong check value.
 *
 * Owns: the step array. Must not touch: the runtime.
 */
#ifndef ASUP_LAB_REPLAY_H
#define ASUP_LAB_REPLAY_H

#include <stdint.h>
#include <stdio.h>

#include "asupersync/simnet.h"
#include "../util/alloc.h"

#define ASUP__REPLAY_NAME_MAX 32

typedef struct asup__step_rec {
	uint64_t task;
	uint8_t lane, worker;
	uint16_t chaos;       /* chaos actions taken before this step */
	uint32_t check;       /* a check value of the digest after the step */
} asup__step_rec;         /* 16 bytes: a long run records millions */

typedef struct asup__replay_hdr {
	uint64_t seed;
	uint32_t workers;
	uint32_t flags;       /* bit 0 auto_advance, bit 1 inject_root, bit 2 runs
	                         on past violations, bits 3-4 the leak response
	                         xor SILENT (so the defaults give 0) */
	uint64_t max_steps;
	uint64_t futurelock_steps;
	uint32_t chaos[5];    /* cancel, delay, storm, storm_max, budget */
	uint32_t inject_at, inject_kind;
	char name[ASUP__REPLAY_NAME_MAX];
	asup_simnet_config net; /* the defaults in a version 1 recording */
} asup__replay_hdr;

typedef struct asup__recording {
	const asup__alloc *alloc;
	asup__replay_hdr hdr;
	asup__step_rec *steps;
	uint64_t n, cap;
	uint8_t digest[16];   /* the digest at the end of the run */
	int mapped;           /* steps is an mmap'ed area (see rec_push) */
	int oom;              /* a step could not be recorded */
} asup__recording;

void asup__rec_init(asup__recording *r, const asup__alloc *a);
void asup__rec_destroy(asup__recording *r);
/* Appends a step (sets oom and drops it when memory runs out). */
void asup__rec_push(asup__recording *r, const asup__step_rec *s);
/* Serialises into a new buffer (*out, *len; free with the same alloc). */
int asup__rec_encode(const asup__recording *r, uint8_t **out, size_t *len);
/* Parses buf. 0, -ASUP_ECORRUPT (with *why set), -ENOMEM. */
int asup__rec_decode(asup__recording *r, const uint8_t *buf, size_t len, const char **why);
/* File forms. -EIO on read/write errors (and *why says which). */
int asup__rec_save(const asup__recording *r, const char *path);
int asup__rec_load(asup__recording *r, const char *path, const char **why);

#endif
