/*
 * asupersync/lab.h - the lab runtime: deterministic runs, traces, replay,
 * oracles and schedule exploration.
 *
 * A lab is the same kernel as a real runtime with deterministic backends: a
 * virtual clock that moves only when every task is blocked, a seeded choice
 * of which of N virtual workers runs next and among equally ready tasks,
 * and a trace of every event. The same seed and program give the same
 * trace and digest on every compiler and optimisation level, so a failure
 * found once is a seed that fails every time.
 *
 *   asup_lab_config cfg;  asup_lab_config_init(&cfg);  cfg.seed = 42;
 *   asup_lab_create(&cfg, &lab);
 *   rc = asup_lab_run(lab, root, arg, &out);  // 0: quiescent, no violation
 *   asup_lab_violation_get(lab, 0, &v);       // what an oracle saw
 *   asup_lab_save(lab, "run.lab", "name");    // replay it: asup_lab_replay_*
 *
 * Tasks in a lab use the ordinary API (asup_spawn, channels, ...). A lab runs
 * one root: asup_lab_run closes the root region at the end (running its
 * finalizers); create a new lab for the next run.
 *
 * Oracles (asup_lab_violation.oracle): task_leak, quiescence,
 * cancel_protocol, loser_drain, obligation_leak, ambient_authority,
 * finalizer, region_tree, deadline_monotone, futurelock, deadlock. They are
 * computed from the trace alone, at the end of the run (and after every
 * step with check_every_step, which also runs the kernel's own invariant
 * checks). The finalizer oracle counts every finalizer of a region,
 * including the ones the runtime registers itself: each socket or file
 * opened in a region has one that closes it if it is still open.
 *
 * A run stopped at its first violation (stop_on_violation, the default, or
 * a leak under ASUP_LEAK_PANIC) is cut short: its root region is not
 * closed (its finalizers do not run) and tasks are left where they were.
 * The end-of-run oracles then report nothing that only the cut explains
 * (tasks never completed, regions never closed, finalizers never finished,
 * obligations still pending, races never ended): the violation list holds
 * what the run saw until it stopped, the first violation first, and
 * asup_lab_stopped (asup_lab_result.stopped) says it was stopped. The same
 * holds for a run that stopped because it diverged from a followed
 * recording. A run that ends on its own (quiescent, deadlocked, or at
 * max_steps) gets every end-of-run verdict.
 *
 * Network oracles, for programs using the socket calls (which run over the
 * lab's simulated network, asupersync/simnet.h):
 *   socket_leak    a region closed with a socket of it still open (the
 *                  runtime closes it; in a lab that is a violation, not a
 *                  line on stderr): the message names the socket (its id,
 *                  kind, local and peer address) and the region, and
 *                  asup_lab_violation.region holds the region's id;
 *   net_data_lost  a socket whose bytes (or datagrams) sent are not all
 *                  delivered, reported dropped (every drop is a network
 *                  event in the trace) or still in flight; checked after
 *                  each step with check_every_step and at the end.
 * Every other runtime report of a lab (a failed task nobody joins, ...)
 * still goes to stderr, except during asup_lab_destroy, which reports
 * nothing.
 *
 * Ownership: asup_lab_create returns an owned lab (asup_lab_destroy);
 * configs and paths are borrowed; a replay is owned by its caller
 * (asup_lab_replay_free) and borrowed by the lab that follows it.
 */
#ifndef ASUPERSYNC_LAB_H
#define ASUPERSYNC_LAB_H

#include <stdio.h>

#include "cancel.h"
#include "core.h"
#include "rt.h"
#include "simnet.h"
#include "task.h"
#include "trace.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Seeded faults, each a probability per step in parts per million. */
typedef struct asup_lab_chaos {
	uint32_t cancel_ppm;  /* abort a random live task (USER "chaos") */
	uint32_t delay_ppm;   /* send a random queued task to the back of its lane */
	uint32_t storm_ppm;   /* a wake-up storm: unpark random parked tasks */
	uint32_t storm_max;   /* most tasks one storm wakes (>= 1 when storms are on) */
	uint32_t budget_ppm;  /* exhaust a random live task's poll quota */
} asup_lab_chaos;

/* Presets: light 1% / 5% / 2% / 0.5% (cancel / delay / storm / budget), heavy 5x. */
ASUP_API asup_lab_chaos asup_lab_chaos_light(void);
ASUP_API asup_lab_chaos asup_lab_chaos_heavy(void);

typedef struct asup_lab_config {
	uint64_t seed;
	uint32_t workers;           /* virtual workers, 1 .. 64 */
	uint64_t max_steps;         /* a run gives up after this many (default 100,000) */
	int auto_advance;           /* jump virtual time to the next timer when every
	                               task is blocked (default on) */
	uint32_t trace_capacity;    /* events kept for export (default 4096; the digest
	                               covers every event whatever this is) */
	uint64_t futurelock_steps;  /* K of the futurelock oracle (default 10,000; 0 off) */
	int check_every_step;       /* run the kernel checks and step oracles after
	                               every step (default on in debug builds) */
	int stop_on_violation;      /* end the run after the step that saw the first
	                               violation (default on; see above for
	                               what a stopped run reports) */
	asup_lab_chaos chaos;       /* default all 0 */
	uint32_t inject_at;         /* cancel injection at the Nth checkpoint of the run
	                               (1-based; 0 = off) */
	asup_cancel_kind inject_kind; /* kind of the injected cancel (default USER) */
	int inject_root;            /* inject into the root region instead of the task */
	size_t stack_size;          /* per task (0 = the runtime default) */
	asup_leak_response leak_response; /* beside the oracle (default SILENT);
	                               PANIC never aborts a lab's process: the
	                               first leak ends the run (-ASUP_EORACLE,
	                               an obligation_leak violation) */
	asup_alloc_hooks alloc;     /* the lab's runtime and oracle tables allocate
	                               through these (both NULL: malloc/free). A run
	                               in which one fails gets an "out_of_memory"
	                               violation saying how many failed; if the
	                               oracle's own tables could not grow, its
	                               shadow-based verdicts (leaks, protocol) are
	                               not reported from then on, since they would
	                               be false. */
	asup_simnet_config net;     /* the simulated network (asupersync/simnet.h;
	                               default: perfect, 50 us latency) */
} asup_lab_config;

typedef struct asup_lab asup_lab;

ASUP_API void asup_lab_config_init(asup_lab_config *cfg);
/* 0, or -EINVAL with *field naming the first bad field. */
ASUP_API int asup_lab_config_check(const asup_lab_config *cfg, const char **field);
ASUP_API ASUP_NODISCARD int asup_lab_create(const asup_lab_config *cfg, asup_lab **out);
/*
 * Destroys the lab, its runtime and everything in it. Tasks a run left
 * unfinished (a stopped, diverged, deadlocked or step-limited run, or a
 * step-by-step session left midway) are discarded as asup_rt_destroy
 * discards them: their stacks and records, the regions, their region
 * memory, channels, obligations and simulated sockets are freed; C cleanup
 * past a task's suspension point and the finalizers of regions that never
 * closed do not run, and nothing is reported (the run's verdicts were
 * made by asup_lab_run). Memory a task or a finalizer of the program would
 * have freed (its own malloc'd state) is the program's: it is not freed.
 * 0; -EINVAL for NULL; -ASUP_ERUNNING if called while the lab runs
 * (nothing is freed).
 */
ASUP_API int asup_lab_destroy(asup_lab *lab);

/*
 * Runs fn(cx, arg) as the root task until quiescence (no live task, no
 * pending obligation; then the root region is closed and its finalizers
 * run), and checks every oracle. *out gets the root's outcome (if the root
 * did not finish, as in a stopped run, Cancelled with a zeroed reason).
 * Returns 0 when the run was quiescent and no oracle reported anything;
 * -ASUP_EORACLE (violations: see asup_lab_violation_get; after a stop at
 * the first violation, asup_lab_stopped says so); -EDEADLK (every
 * task blocked, nothing can wake one: a "deadlock" violation names them);
 * -ASUP_ESTEPLIMIT; -ASUP_EDIVERGED (following a replay that no longer
 * matches); -EALREADY if this lab already ran its root; -EINVAL.
 */
ASUP_API ASUP_NODISCARD int asup_lab_run(asup_lab *lab, asup_task_fn fn, void *arg, asup_outcome *out);

/* Step-by-step driving: spawn into the root region, then step. */
ASUP_API ASUP_NODISCARD int asup_lab_spawn(asup_lab *lab, asup_task_fn fn, void *arg,
					   const asup_spawn_opts *opts, asup_task *out);
/* One step (one task runs until it suspends): 1, or 0 if nothing could run
 * (after an auto-advance of time when one was possible), or < 0:
 * -ASUP_ESTEPLIMIT once max_steps were taken, -ASUP_EORACLE after a
 * violation stopped the lab, -ASUP_EDIVERGED when a followed recording no
 * longer matches. */
ASUP_API ASUP_NODISCARD int asup_lab_step(asup_lab *lab);
/* Steps until nothing can run, the lab stops or max_steps (in all) were
 * taken; returns the number of steps taken now (or < 0). */
ASUP_API ASUP_NODISCARD int64_t asup_lab_run_until_idle(asup_lab *lab);
/* Runs the end-of-run oracles now (for step-by-step sessions; after
 * asup_lab_run it only returns the count); returns the number of violations. */
ASUP_API int asup_lab_check(asup_lab *lab);

/* The runtime inside (for asup_rt_advance, asup_rt_now, asup_rt_stats_get,
 * asup_rt_set_handles). Owned by the lab; only the lab drives it
 * (asup_rt_run and asup_rt_step on it return -EPERM). */
ASUP_API asup_rt *asup_lab_rt(asup_lab *lab);
ASUP_API uint64_t asup_lab_steps(const asup_lab *lab);
ASUP_API uint64_t asup_lab_seed(const asup_lab *lab);
/* 1 if the lab stopped its run at a violation (stop_on_violation, or a
 * leak under ASUP_LEAK_PANIC): the run was cut short and the end-of-run
 * oracles reported only what holds however a run ends. 0 otherwise (and
 * for NULL). */
ASUP_API int asup_lab_stopped(const asup_lab *lab);
/* Checkpoints passed by all tasks so far (for cancellation injection). */
ASUP_API uint64_t asup_lab_checkpoints(const asup_lab *lab);

/* ---- violations ---- */
typedef struct asup_lab_violation {
	char oracle[24];
	char message[160];
	uint64_t seed;
	uint64_t step;
	uint64_t task, region;      /* ids, or ASUP_ID_NONE */
} asup_lab_violation;

/* Violations seen (all of them; the first 64 are kept). */
ASUP_API uint64_t asup_lab_violation_count(const asup_lab *lab);
/* 0 and *out for i < min(count, 64), else -ESRCH. */
ASUP_API int asup_lab_violation_get(const asup_lab *lab, size_t i, asup_lab_violation *out);
/* Writes "oracle: message (seed S, step N)" lines, one per kept violation. */
ASUP_API int asup_lab_violations_print(const asup_lab *lab, FILE *f);

/* ---- trace ---- */
/* The digest of every event so far, as 16 bytes and as 32 hex digits. */
ASUP_API int asup_lab_digest(const asup_lab *lab, uint8_t out[16]);
ASUP_API int asup_lab_digest_hex(const asup_lab *lab, char out[33]);
/* Events recorded so far (all of them) and kept (the last trace_capacity). */
ASUP_API uint64_t asup_lab_event_count(const asup_lab *lab);
/* Copies up to n kept events, oldest first; returns how many. */
ASUP_API size_t asup_lab_events(const asup_lab *lab, asup_event *out, size_t n);
/* Exports the kept events. -EIO on write errors. */
ASUP_API int asup_lab_export_jsonl(const asup_lab *lab, FILE *f);
/* Chrome trace-event JSON for Perfetto; virtual_time: timestamps from the
 * virtual clock instead of event order. Each task is a thread of its own
 * (tid: its index + 1, named "T<index>.<generation> <name>"), so Perfetto
 * shows one track per task. 0, -EIO, -ENOMEM, -EINVAL. */
ASUP_API ASUP_NODISCARD int asup_lab_export_chrome(const asup_lab *lab, FILE *f, int virtual_time);

/* ---- recording and replay ---- */
/* Saves the run's choices (schedule decisions, chaos, per-step digests) and
 * its config under a scenario name (up to 31 bytes). -EIO, -ENOMEM. */
ASUP_API ASUP_NODISCARD int asup_lab_save(const asup_lab *lab, const char *path, const char *name);

typedef struct asup_lab_replay asup_lab_replay;
/* Loads a recording. -ASUP_ECORRUPT for anything malformed (*why, if not
 * NULL, says what), -EIO, -ENOMEM, -EINVAL. */
ASUP_API ASUP_NODISCARD int asup_lab_replay_load(const char *path, asup_lab_replay **out, const char **why);
/* The same from memory. */
ASUP_API ASUP_NODISCARD int asup_lab_replay_decode(const void *buf, size_t len, asup_lab_replay **out,
				    const char **why);
ASUP_API void asup_lab_replay_free(asup_lab_replay *r);
/* The recorded config (fills the fields a recording holds, the rest default). */
ASUP_API int asup_lab_replay_config(const asup_lab_replay *r, asup_lab_config *cfg);
ASUP_API const char *asup_lab_replay_name(const asup_lab_replay *r);
ASUP_API uint64_t asup_lab_replay_steps(const asup_lab_replay *r);
/*
 * Makes the lab follow r (before it runs): each step dispatches the task
 * the recording dispatched, on its worker, and compares the digest after
 * the step. The first step where the recorded task cannot run or the digest
 * differs is the divergence; the run then stops with -ASUP_EDIVERGED.
 */
ASUP_API ASUP_NODISCARD int asup_lab_follow(asup_lab *lab, const asup_lab_replay *r);
/* After a followed run: 0 if it matched step for step to the end (same
 * number of steps, same final digest); 1 and *step (0-based) if not. */
ASUP_API int asup_lab_divergence(const asup_lab *lab, uint64_t *step);

/* ---- exploration ---- */
typedef struct asup_lab_scenario {
	const char *name;
	const char *about;
	asup_task_fn root;          /* fails the run by returning < 0 or panicking */
	void *arg;
} asup_lab_scenario;

typedef struct asup_lab_result {
	int rc;                     /* asup_lab_run's return */
	asup_outcome outcome;       /* the root's outcome */
	uint64_t steps;
	uint8_t digest[16];
	uint64_t violations;
	asup_lab_violation first;   /* the first violation, if any */
	int failed;                 /* rc != 0, or the root panicked, returned an
	                               error, or ended cancelled; after an injected
	                               or chaos cancel, ending Cancelled or Err
	                               -ECANCELED is a clean end */
	int stopped;                /* the lab stopped the run at its first
	                               violation (asup_lab_stopped): `first`
	                               is what stopped it */
} asup_lab_result;

/* The result of lab's finished run, judged as asup_lab_run_scenario judges
 * it (a root ended Cancelled or Err by an injected or chaos cancel does not
 * fail); rc and out are what asup_lab_run returned and gave. 0, -EINVAL
 * (NULL, or the lab has not run). */
ASUP_API int asup_lab_result_get(const asup_lab *lab, int rc, const asup_outcome *out,
				 asup_lab_result *res);
/* One run of sc under cfg. 0 (ran; see res->failed) or < 0 (could not run). */
ASUP_API ASUP_NODISCARD int asup_lab_run_scenario(const asup_lab_scenario *sc, const asup_lab_config *cfg,
				   asup_lab_result *res);

typedef struct asup_lab_sweep {
	uint64_t runs;              /* seeds tried */
	uint64_t failures;
	uint64_t first_failing_seed;/* valid when failures > 0 */
	asup_lab_result first_failure;
	uint64_t distinct;          /* distinct digests among the runs */
} asup_lab_sweep;

/* Runs sc for seeds first .. first + n - 1 (the rest of cfg as given).
 * stop_at_first: stop at the first failing seed. 0 or < 0. */
ASUP_API ASUP_NODISCARD int asup_lab_explore(const asup_lab_scenario *sc, const asup_lab_config *cfg,
			      uint64_t first, uint64_t n, int stop_at_first, asup_lab_sweep *out);
/*
 * Systematic cancellation: runs sc once (cfg's seed) to count its
 * checkpoints C, then runs it C more times, injecting a cancel at checkpoint
 * 1, 2, ..., C. A run fails on any violation or run error (a root that
 * ends Cancelled or Err because of the cancel does not fail it; a panic
 * does). out->runs counts the injected runs; first_failing_seed holds the
 * failing checkpoint number.
 */
ASUP_API ASUP_NODISCARD int asup_lab_inject_sweep(const asup_lab_scenario *sc, const asup_lab_config *cfg,
				   asup_lab_sweep *out);

#ifdef __cplusplus
}
#endif
#endif
