/*
 * Planted bug: a race whose loser is not drained.
 *
 * A hand-written "first of two replicas" combinator: it spawns two lookups,
 * declares them as a race (asup_trace_race_*), polls until one has
 * finished, joins that one and simply releases the other's handle because
 * its answer is no longer needed. A released task runs on: when the loser
 * had not finished yet, the race ends with it still running, which is the
 * loser-drain violation (a combinator must not return while work it started
 * is still going, and in a real program the loser keeps its connection,
 * memory and side effects beyond the call). When both lookups happen to
 * finish before the poll sees the first one, nothing is reported, so only
 * some schedules fail.
 *
 * Found by: loser_drain. Measured (exploration from seed 1, two virtual
 * workers: with one, every yield goes behind every ready task and the
 * schedule never varies): seed 1 passes, seed 2 is the first failing seed;
 * 149 of seeds 1-200 fail. Documented bound: 5 seeds.
 *
 * Twin: aborts the loser and joins it before ending the race (what
 * asup_race does).
 */
#include "corpus.h"

struct lookup {
	int steps;   /* work before answering, in yields */
	int64_t answer;
};

/* Static, not on the root's stack: the buggy combinator's loser may still
 * read its lookup after the root returned (with stop_on_violation off). */
static const struct lookup replicas[2] = {{2, 7}, {2, 7}};

static int64_t replica(asup_cx *cx, void *arg)
{
	const struct lookup *l = arg;
	int rc;

	for (int i = 0; i < l->steps; i++)
		if ((rc = asup_yield(cx)) < 0)
			return rc;
	return l->answer;
}

/* Polls until one of h[0], h[1] finished; its index, or < 0. */
static int first_finished(asup_cx *cx, asup_task h[2])
{
	int rc;

	for (;;) {
		if (asup_task_is_finished(&h[0]) == 1)
			return 0;
		if (asup_task_is_finished(&h[1]) == 1)
			return 1;
		if ((rc = asup_yield(cx)) < 0)
			return rc;
	}
}

/* Returns the first answer into *answer. */
static int first_of_two(asup_cx *cx, const struct lookup l[2], int fixed, int64_t *answer)
{
	asup_task h[2], winner;
	asup_outcome o;
	uint64_t race;
	int w, rc, drained = 0;

	if ((rc = asup_spawn(cx, replica, (void *)&l[0], NULL, &h[0])) < 0)
		return rc;
	if ((rc = asup_spawn(cx, replica, (void *)&l[1], NULL, &h[1])) < 0) {
		asup_corpus_stop(cx, &h[0]);
		return rc;
	}
	race = asup_trace_race_begin(cx, 2);
	asup_trace_race_member(cx, race, &h[0]);
	asup_trace_race_member(cx, race, &h[1]);
	w = first_finished(cx, h);
	if (w < 0) {
		asup_corpus_stop(cx, &h[0]);
		asup_corpus_stop(cx, &h[1]);
		asup_trace_race_end(cx, race, NULL);
		return w;
	}
	winner = h[w]; /* the race's end names it after the join consumed h[w] */
	rc = asup_join(cx, &h[w], &o);
	if (fixed) {
		/* Masked waits (asup_corpus_stop): a caller that is being
		 * cancelled still waits for both before the race ends. */
		if (rc < 0)
			(void)asup_corpus_stop(cx, &h[w]);
		drained = asup_corpus_stop(cx, &h[1 - w]);
	} else {
		asup_task_release(&h[1 - w]); /* the bug: the loser runs on */
	}
	asup_trace_race_end(cx, race, &winner);
	if (rc < 0 || (rc = drained) < 0)
		return rc;
	if (asup_corpus_cancelled(&o))
		return -ECANCELED; /* the first to finish was stopped by a cancel */
	*answer = o.kind == ASUP_OUTCOME_OK ? o.value : -1;
	return 0;
}

static int64_t run(asup_cx *cx, int fixed)
{
	int64_t answer = 0;
	int rc;

	if ((rc = first_of_two(cx, replicas, fixed, &answer)) < 0)
		return rc;
	return answer == 7 ? 0 : -1;
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

const asup_corpus_entry asup_corpus_race_undrained[2] = {
	{.sc = {"race_undrained", "a hand-written first-of-two releases the loser still running",
		buggy, NULL},
	 .buggy = 1,
	 .twin = "race_undrained_fixed",
	 .oracle = "loser_drain",
	 .seeds = 5,
	 .workers = 2},
	{.sc = {"race_undrained_fixed", "the same combinator aborting and joining the loser",
		fixed, NULL},
	 .twin = "race_undrained",
	 .workers = 2},
};
