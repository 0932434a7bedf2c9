/*
 * libFuzzer harness for the lab recording decoder (asup_lab_replay_decode).
 * Not part of the default build: configure with clang and ASUP_BUILD_FUZZ=ON
 * (see the README's lab section for the commands).
 *
 * Each input is decoded twice: as given (where the check value rejects
 * nearly everything, so this exercises the early length and header checks)
 * and with its last 8 bytes rewritten to the right check value, so that the
 * fuzzer reaches the field and step validation. An accepted input must be
 * consistent (length, name, worker count), and is then followed like
 * `asup-lab replay` does: the scenario named in it (else lock_order_fixed)
 * runs while the lab dispatches the recorded task at each step. Anything
 * other than "rejected as corrupt, with a reason" or "accepted and
 * consistent" aborts, and so does every ASan/UBSan finding. The suite runs
 * this target's logic too (tests/lab/fuzz_replay.c includes this file and
 * feeds it recordings of the corpus and mutations of them).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "corpus.h"
#include "lab/recfile.h"

/* A followed run is capped so that a crafted step limit cannot stall the
 * fuzzer. */
#define FOLLOW_MAX_STEPS 2000

static void follow(const asup_lab_replay *r)
{
	const asup_corpus_entry *e = asup_corpus_find(asup_lab_replay_name(r));
	asup_lab_config cfg;
	asup_lab *lab;
	asup_outcome out;
	uint64_t at;
	int rc;

	if (!e)
		e = asup_corpus_find("lock_order_fixed");
	if (!e || asup_lab_replay_config(r, &cfg) != 0)
		abort();
	cfg.check_every_step = 1;
	if (cfg.max_steps > FOLLOW_MAX_STEPS)
		cfg.max_steps = FOLLOW_MAX_STEPS;
	if (asup_lab_config_check(&cfg, NULL) != 0)
		abort(); /* the decoder accepted a config the lab refuses */
	if (asup_lab_create(&cfg, &lab) != 0)
		abort();
	if (asup_lab_follow(lab, r) != 0)
		abort();
	rc = asup_lab_run(lab, e->sc.root, e->sc.arg, &out);
	if (rc > 0)
		abort();
	rc = asup_lab_divergence(lab, &at);
	if (rc != 0 && rc != 1)
		abort();
	if (asup_lab_destroy(lab) != 0)
		abort();
}

static void decode_one(const uint8_t *p, size_t n, int deep)
{
	asup_lab_replay *r = NULL;
	const char *why = NULL;
	asup_lab_config cfg;
	int rc = asup_lab_replay_decode(p, n, &r, &why);

	if (rc < 0) {
		if (rc != -ASUP_ECORRUPT || !why || !why[0] || r)
			abort();
		return;
	}
	if (!r || why)
		abort();
	/* The header's size field says where the steps start (a recording with
	 * a network config has a longer header). */
	if (n != recf_get(p, RECF_HDR_BYTES, 4) + (RECF_STEPS - RECF_NSTEPS) +
		     (size_t)asup_lab_replay_steps(r) * RECF_STEP_BYTES + RECF_TRAILER)
		abort();
	if (strlen(asup_lab_replay_name(r)) >= 32)
		abort();
	if (asup_lab_replay_config(r, &cfg) != 0 || cfg.workers < 1 || cfg.workers > 64)
		abort();
	if (deep)
		follow(r);
	asup_lab_replay_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	decode_one(size ? data : NULL, size, 0);
	if (size < 8)
		return 0;
	/* An exact-size copy, so ASan catches a read past the end. */
	copy = malloc(size);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	recf_fix_check(copy, size);
	decode_one(copy, size, 1);
	free(copy);
	return 0;
}
