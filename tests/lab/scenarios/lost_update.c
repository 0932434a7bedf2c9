/*
 * Planted bug: a lost update.
 *
 * Two tellers each deposit into one shared account a few times. A deposit
 * reads the balance, writes an audit record (a suspension) and stores the
 * balance plus the amount. Tasks never run at the same time, so the author
 * assumed no lock was needed, but the audit write is a suspension point:
 * when the other teller deposits in between, one of the two deposits is
 * overwritten. Whether that happens depends on the schedule. The root
 * checks the final balance against the sum of the deposits and panics on a
 * mismatch.
 *
 * Found by: root (the balance check panics). Measured (exploration from
 * seed 1, two virtual workers): seed 1 passes, seed 2 is the first failing
 * seed; 145 of seeds 1-200 fail. Documented bound: 8 seeds.
 *
 * Twin: each deposit (read, audit, write) holds the account's mutex.
 */
#include "corpus.h"

#include <inttypes.h>

#define DEPOSITS 2

struct account {
	asup_mutex lock;
	int64_t balance;
	int fixed;
};

static int deposit(asup_cx *cx, struct account *a, int64_t amount)
{
	int64_t seen;
	int rc;

	if (a->fixed && (rc = asup_mutex_lock(cx, &a->lock)) < 0)
		return rc;
	seen = a->balance;
	rc = asup_yield(cx); /* the audit record is written here */
	if (rc == 0)
		a->balance = seen + amount;
	if (a->fixed)
		asup_mutex_unlock(cx, &a->lock);
	return rc;
}

static int64_t teller(asup_cx *cx, void *arg)
{
	struct account *a = arg;
	int rc;

	for (int i = 0; i < DEPOSITS; i++)
		if ((rc = deposit(cx, a, 10)) < 0)
			return rc;
	return 0;
}

static int64_t run(asup_cx *cx, int fixed)
{
	struct account *a; /* in the region heap: the tellers outlive an early return */
	asup_task h1, h2;
	asup_outcome o1, o2;
	int rc;

	if ((rc = asup_corpus_shared(cx, sizeof(*a), &a)) < 0)
		return rc;
	a->fixed = fixed;
	asup_mutex_init(&a->lock);
	if ((rc = asup_spawn(cx, teller, a, NULL, &h1)) < 0 ||
	    (rc = asup_spawn(cx, teller, a, NULL, &h2)) < 0)
		return asup_corpus_bail(cx, rc);
	if ((rc = asup_join2(cx, &h1, &h2, &o1, &o2)) < 0)
		return asup_corpus_bail(cx, rc);
	if (asup_corpus_cancelled(&o1) || asup_corpus_cancelled(&o2))
		return -ECANCELED; /* a deposit stopped by an injected cancel is not made */
	if (o1.kind != ASUP_OUTCOME_OK || o2.kind != ASUP_OUTCOME_OK)
		return -1;
	if (a->balance != 2 * DEPOSITS * 10)
		asup_panic(cx, "balance %" PRId64 " after deposits worth %d", a->balance,
			   2 * DEPOSITS * 10);
	return 0;
}

static int64_t buggy(asup_cx *cx, void *arg)
{
	(void)arg;
	return run(cx, 0);
}

static int64_t fixed(asup_cx *cx, void *arg)
{
	(void)arg;
	return run(cx, 1);
}

const asup_corpus_entry asup_corpus_lost_update[2] = {
	{.sc = {"lost_update", "a read-modify-write across a suspension loses a deposit", buggy,
		NULL},
	 .buggy = 1,
	 .twin = "lost_update_fixed",
	 .oracle = "root",
	 .seeds = 8,
	 .workers = 2},
	{.sc = {"lost_update_fixed", "the same deposits under the account's mutex", fixed, NULL},
	 .twin = "lost_update",
	 .workers = 2},
};
