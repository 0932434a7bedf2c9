/*
 * Planted bug: a send permit leaked on an early-return path.
 *
 * A producer streams numbers to a consumer over a bounded channel. It
 * reserves room first (so a computed item is never dropped for lack of
 * room), computes the item (a suspension), and then checks the consumer's
 * `stop` flag, returning early when the consumer has had enough. That early
 * return forgets the permit it holds. The consumer takes three items, sets
 * `stop` and closes its side. Whether the producer is holding a permit at
 * that moment depends on the schedule: parked in its reserve (the channel is
 * full) it gets -EPIPE and holds nothing; between reserve and send it takes
 * the leaking return. The runtime aborts the forgotten permit when the
 * producer ends (its room comes back), but a task that ends normally with a
 * pending obligation is a leak, and the lab's oracle reports it.
 *
 * Found by: obligation_leak. Measured (exploration from seed 1, two
 * virtual workers: with one, every yield goes behind every ready task and
 * the schedule never varies): seed 1 is the first failing seed; 110 of
 * seeds 1-200 fail. Documented bound: 12 seeds.
 *
 * Twin: aborts the permit before the early return.
 */
#include "corpus.h"

struct feed {
	asup_chan *ch;
	int stop;
	int fixed;
};

static int64_t produce(asup_cx *cx, struct feed *f)
{
	asup_permit p;
	int rc;

	for (int64_t seq = 0;; seq++) {
		if ((rc = asup_chan_reserve(cx, f->ch, &p)) < 0)
			return rc == -EPIPE ? 0 : rc; /* the consumer is gone */
		if ((rc = asup_yield(cx)) < 0) { /* computing item `seq` */
			asup_permit_abort(&p);
			return rc;
		}
		if (f->stop) {
			if (f->fixed)
				asup_permit_abort(&p);
			return 0; /* the bug (unfixed): the permit is still held */
		}
		if ((rc = asup_permit_send(&p, &seq)) < 0)
			return rc == -EPIPE ? 0 : rc;
	}
}

/* However the producer ends (a cancel included), it closes its side, so
 * that the consumer is never left waiting for items that will not come. */
static int64_t producer(asup_cx *cx, void *arg)
{
	struct feed *f = arg;
	int64_t rc = produce(cx, f);

	asup_chan_close(f->ch);
	return rc;
}

static int64_t consume(asup_cx *cx, struct feed *f)
{
	int64_t v, sum = 0;
	int rc;

	for (int i = 0; i < 3; i++) {
		if ((rc = asup_chan_recv(cx, f->ch, &v)) < 0)
			return rc;
		if (v != i)
			return -1; /* out of order or duplicated */
		sum += v;
	}
	return sum;
}

/* Likewise the consumer: once it stops taking items (enough of them, or a
 * cancel), it says so and closes its side. */
static int64_t consumer(asup_cx *cx, void *arg)
{
	struct feed *f = arg;
	int64_t rc = consume(cx, f);

	f->stop = 1;
	asup_chan_close_recv(f->ch);
	return rc;
}

static int64_t run(asup_cx *cx, int fixed)
{
	struct feed *f; /* in the region heap: the children outlive an early return */
	asup_task hp, hc;
	asup_outcome op, oc;
	int rc;

	if ((rc = asup_corpus_shared(cx, sizeof(*f), &f)) < 0)
		return rc;
	f->fixed = fixed;
	if ((rc = asup_chan_open(cx, sizeof(int64_t), 2, &f->ch)) < 0)
		return rc;
	if ((rc = asup_spawn(cx, producer, f, NULL, &hp)) < 0 ||
	    (rc = asup_spawn(cx, consumer, f, NULL, &hc)) < 0)
		return asup_corpus_bail(cx, rc);
	if ((rc = asup_join2(cx, &hp, &hc, &op, &oc)) < 0)
		return asup_corpus_bail(cx, rc);
	if (asup_corpus_cancelled(&op) || asup_corpus_cancelled(&oc))
		return -ECANCELED; /* an injected cancel stopped one of them */
	if (op.kind != ASUP_OUTCOME_OK || oc.kind != ASUP_OUTCOME_OK || oc.value != 0 + 1 + 2)
		return -1;
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

const asup_corpus_entry asup_corpus_permit_leak[2] = {
	{.sc = {"permit_leak", "an early return on a stop flag forgets a reserved send permit",
		buggy, NULL},
	 .buggy = 1,
	 .twin = "permit_leak_fixed",
	 .oracle = "obligation_leak",
	 .seeds = 12,
	 .workers = 2},
	{.sc = {"permit_leak_fixed", "the same producer aborting its permit before returning",
		fixed, NULL},
	 .twin = "permit_leak",
	 .workers = 2},
};
