/*
 * Lab oracles: a shadow of the region tree, the tasks, obligations and races,
 * rebuilt only from trace events, against which the runtime's behaviour is
 * checked. Because the shadow never reads kernel state, a kernel bug that
 * corrupts its own bookkeeping still shows up as a violation.
 *
 * Owns: the shadow tables and the violation list. Must not touch: anything
 * of the runtime (it sees events only).
 *
 * Oracles (names as reported):
 *   task_leak          a closed region, or the end of the run, with a task not completed
 *   quiescence         a region closed with a live child region
 *   cancel_protocol    ack without request, ack while masked, a weakened reason,
 *                      a record-level cancel completing Ok/Err, a Cancelled completion
 *                      without any request, a cancel not reaching a child region
 *   loser_drain        a race ended with a loser not completed; a race never ended
 *   obligation_leak    a leaked obligation; a region closed or the run ended with one pending
 *   ambient_authority  an effect by a task lacking its capability
 *   finalizer          a region closed (or the run ended) before every finalizer ran;
 *                      the counts include the runtime's own finalizers (one per
 *                      socket or file opened in the region)
 *   region_tree        a child of an unknown or non-open parent, work in a closed region
 *   deadline_monotone  a child region whose deadline is later than its parent's
 *   futurelock         a task holding obligations not resumed for K steps
 *   deadlock           (reported by the runtime) every task blocked, nothing to wake one
 */
#ifndef ASUP_LAB_ORACLE_H
#define ASUP_LAB_ORACLE_H

#include <stdint.h>

#include "asupersync/trace.h"
#include "../util/alloc.h"

#define ASUP__VIOLATIONS_KEPT 64

typedef struct asup__violation {
	char oracle[24];
	char message[160];
	uint64_t step;
	uint64_t task, region; /* ids or ASUP_ID_NONE */
} asup__violation;

typedef struct asup__otask {
	uint64_t id;           /* 0: empty slot */
	uint64_t region;
	uint64_t last_resume;  /* step of its last RESUME (or spawn) */
	uint32_t held;         /* pending obligations it holds */
	uint8_t state;         /* 1 live, 2 completed */
	uint8_t finalizer;     /* a cleanup task running one of its region's
	                          finalizers (named by a FINALIZER_RUN event) */
	uint8_t requested;     /* some cancel request seen */
	uint8_t record_req;    /* a record-level request (epoch > 0) */
	int8_t max_sev;        /* severity of the strongest reason seen, -1 none */
} asup__otask;

typedef struct asup__oregion {
	uint64_t id;           /* 0: empty slot */
	uint64_t parent;
	uint64_t deadline;
	uint32_t live_tasks, open_children, pending;
	/* Finalizers registered, started (a FINALIZER_RUN: the cleanup task
	 * was spawned, or a sync one ran inline) and finished (its cleanup
	 * task completed, or it ran inline): fin_done <= fin_run <= fin_reg. */
	uint32_t fin_reg, fin_run, fin_done;
	uint8_t state;         /* 1 open, 2 closing, 3 closed */
	uint8_t cancelled;
} asup__oregion;

typedef struct asup__oobl {
	uint64_t id, holder, region;
	uint8_t pending;
} asup__oobl;

typedef struct asup__orace {
	uint64_t members[8];   /* the first 8 members (the rest by count) */
	uint64_t *more;        /* members past 8 */
	uint32_t n, cap_more;
	uint64_t racer;
	uint8_t began, ended;
} asup__orace;

typedef struct asup__oracle {
	const asup__alloc *alloc;
	asup__otask *tasks;
	uint32_t ntasks;
	asup__oregion *regions;
	uint32_t nregions;
	asup__oobl *obls;
	uint32_t nobls;
	asup__orace *races;
	uint32_t nraces;
	uint64_t root;
	uint64_t holders;      /* tasks holding obligations now */
	uint64_t *cancelled;   /* regions cancelled during the current step */
	uint32_t ncancelled, capcancelled;
	uint64_t step;         /* step of the last event */
	int oom;               /* a shadow table could not grow */
	uint64_t suppressed;   /* verdicts not reported since (they may be false) */
	uint64_t nviolations;
	asup__violation kept[ASUP__VIOLATIONS_KEPT];
} asup__oracle;

int asup__oracle_init(asup__oracle *o, const asup__alloc *a, uint64_t root_region);
void asup__oracle_destroy(asup__oracle *o);
/* Feeds one event. */
void asup__oracle_event(asup__oracle *o, const asup_event *ev);
/* Checks that need a whole step (cancel propagation). */
void asup__oracle_step_end(asup__oracle *o);
/* Futurelock: reports every holder not resumed for more than `limit` steps
 * (each task once). Returns how many were reported. */
int asup__oracle_futurelock(asup__oracle *o, uint64_t step, uint64_t limit);
/* The end-of-run checks. root_closed says whether the root region closed.
 * cut_short: the lab ended the run at its first violation, so tasks not
 * completed, regions not closed, finalizers not run, obligations pending
 * and races not ended say nothing about the program: only the verdicts
 * that hold however the run ended (the oracle's own out-of-memory note)
 * are made. */
void asup__oracle_final(asup__oracle *o, uint64_t step, int root_closed, int cut_short);
void asup__oracle_report(asup__oracle *o, const char *oracle, uint64_t step, uint64_t task,
			 uint64_t region, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

#endif
