/*
 * The lab's scenario corpus: small programs with a planted concurrency bug,
 * each beside its corrected twin, plus a few correct demonstrations. The
 * planted-bug tests (tests/lab/planted.c) and the asup-lab CLI both use
 * this registry.
 *
 * A buggy entry documents the oracle that finds it and the number of seeds
 * within which exploration (from seed 1, with the entry's config) finds it;
 * its twin passes every seed.
 */
#ifndef ASUP_LAB_CORPUS_H
#define ASUP_LAB_CORPUS_H

#include <asupersync.h>

typedef struct asup_corpus_entry {
	asup_lab_scenario sc;       /* name, about, root, arg */
	int buggy;                  /* 1: a planted bug; 0: correct */
	const char *twin;           /* the other half of the pair (or NULL) */
	const char *oracle;         /* buggy: what reports it ("root" = the root fails) */
	uint64_t seeds;             /* buggy: found within this many seeds from 1 */
	uint32_t workers;           /* the config it runs under (0 = 1) */
	asup_lab_chaos chaos;
	uint64_t futurelock_steps;  /* K of the futurelock oracle (0 = the lab default) */
	/* The simulated network it runs on (NULL: the default, perfect one):
	 * sets the faults in the lab config's net (net_faults.h). */
	void (*net)(asup_simnet_config *net);
} asup_corpus_entry;

/* Every entry, in a fixed order. */
const asup_corpus_entry *asup_corpus_list(size_t *n);
/* The entry named `name`, or NULL. */
const asup_corpus_entry *asup_corpus_find(const char *name);
/* A lab config for entry e at seed: the defaults plus the entry's own
 * settings (its network's faults included), with the step checks on. */
void asup_corpus_config(const asup_corpus_entry *e, uint64_t seed, asup_lab_config *cfg);

/* For the scenarios' error paths: aborts the task h and waits for it
 * (consuming h). The join's result: 0, or a checkpoint error of the caller. */
int asup_corpus_stop(asup_cx *cx, asup_task *h);

/*
 * The corpus's rule for state a root shares with the tasks it spawns: it
 * lives in the region heap (or in a scope that outlives the region), never
 * in the root's own frame. A cancel or an error can end that frame early,
 * while the children run on until the region closes.
 *
 * asup_corpus_shared: `size` zeroed bytes in the current scope's region heap
 * at *out (a pointer to the caller's pointer), freed once the region
 * closed, after every task in it ended. 0, or the allocation's error.
 */
int asup_corpus_shared(asup_cx *cx, size_t size, void *out);

/* A root's way out on an error or a cancel: cancels the current scope's
 * region, so that every child stops at its next checkpoint instead of
 * waiting for a partner that is gone, and returns rc. */
int asup_corpus_bail(asup_cx *cx, int rc);

/* 1 if o is how a cancelled task ends: Cancelled, or Err(-ECANCELED) passed
 * up by the task itself. */
int asup_corpus_cancelled(const asup_outcome *o);

#endif
