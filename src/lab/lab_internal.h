/*
 * The lab's state, shared by the files of the lab's entry points (lab.c:
 * config, stepping, runs, reading; lab_replay.c: recordings, replay and
 * the verdict of a run). Nothing outside src/lab includes this.
 */
#ifndef ASUP_LAB_LAB_INTERNAL_H
#define ASUP_LAB_LAB_INTERNAL_H

#include "asupersync/lab.h"

#include "oracle.h"
#include "replay.h"
#include "../trace/trace.h"
#include "../rt/drive.h"
#include "../io/simnet.h"

struct asup_lab {
	asup_lab_config cfg;
	asup_rt *rt;
	asup__ring ring;
	asup__digest dg;
	asup__oracle oracle;
	asup__recording rec;
	asup__rng rng;              /* the lab's own choices (workers, chaos) */
	uint64_t nevents;
	uint64_t steps;
	uint64_t checkpoints;
	uint64_t injected;          /* cancels injected (chaos or systematic) */
	uint64_t cur_task;          /* the last RESUME's task, lane, worker */
	uint8_t cur_lane;
	uint8_t cur_worker;
	uint16_t chaos_n;           /* chaos actions in the current step */
	uint64_t viol_before;       /* violations when the current step began */
	const asup__recording *follow;
	uint64_t div_step;
	int diverged;
	int ran;                    /* the root ran: the lab is spent */
	int root_closed;
	int stop;                   /* the run was stopped at a violation
	                               (stop_on_violation, or a leak under
	                               ASUP_LEAK_PANIC): set once, never cleared;
	                               the end-of-run oracles then skip what the
	                               cut left unfinished */
	int destroying;             /* asup_lab_destroy runs: reports are dropped */
	asup__alloc alloc;          /* cfg.alloc (or malloc), counting failures */
	uint64_t alloc_failed;      /* allocations that failed during the run */
	/* The network oracles (oracle_net.c): net_seen once the simulated
	 * network exists; net_checked is its event count at the last
	 * accounting check. */
	int net_seen;
	uint64_t net_checked;
};

struct asup_lab_replay {
	asup__alloc alloc;
	asup__recording rec;
};

/* malloc/free: the lab's own tables (outside the runtime's hooks). */
extern const asup__alloc asup__lab_heap;

/* The chaos trace events' kinds (ASUP_EV_CHAOS's `a`). */
#define CHAOS_CANCEL 1
#define CHAOS_DELAY 2
#define CHAOS_STORM 3
#define CHAOS_BUDGET 4
#define CHAOS_INJECT 5

/* Nonzero if any chaos is configured. */
int asup__lab_chaos_on(const asup_lab_chaos *c);
/* Applies this step's chaos (chaos.c). */
void asup__lab_chaos(asup_lab *lab);

/* The lab's report hook: socket leaks become socket_leak violations, every
 * other report goes to stderr as in a runtime of its own (oracle_net.c). */
void asup__lab_report(void *ud, const asup_report *r);
/* Notes that the network exists, once it does (after each step). */
void asup__lab_net_attach(asup_lab *lab);
/* The network's accounting check (net_data_lost): after each step with
 * check_every_step (when the network did something), and at the end. */
void asup__lab_net_check(asup_lab *lab);

void asup__lab_result(const asup_lab *lab, int rc, const asup_outcome *o, asup_lab_result *res);

#endif
