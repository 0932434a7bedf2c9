/*
 * The lab runtime (asupersync/lab.h): a deterministic runtime wired to the
 * trace (ring, digest), the oracles and the recording, driven one step at a
 * time by a loop that owns every choice: which virtual worker runs, what
 * chaos happens, when virtual time jumps, and (when following a recording)
 * which task runs.
 *
 * A step: draw the step's random word; apply chaos (chaos.c); dispatch one
 * task (the chosen worker's own rule, else stealing, else another worker;
 * or the recorded task when following); if nothing could run and a timer is armed,
 * jump virtual time to it and try once more; record the step; run the step
 * checks.
 *
 * Lab states: created -> running (asup_lab_run, or stepping) -> ran (the root
 * region is closed; only reading remains). Every choice comes from the seed,
 * so nothing here may read a wall clock, call rand or order by address.
 *
 * Must not touch: the runtime's scheduler and kernel except through
 * rt/drive.h (the lab is a layer above rt).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "lab_internal.h"

static void *dflt_alloc(void *ud, size_t n)
{
	(void)ud;
	return malloc(n);
}

static void dflt_free(void *ud, void *p, size_t n)
{
	(void)ud;
	(void)n;
	free(p);
}

const asup__alloc asup__lab_heap = {dflt_alloc, dflt_free, NULL};
#define heap asup__lab_heap

/* The configured hooks (or malloc), counting failures for the verdict. */
static void *lab_alloc(void *ud, size_t n)
{
	asup_lab *lab = ud;
	void *p = lab->cfg.alloc.alloc ? lab->cfg.alloc.alloc(lab->cfg.alloc.ud, n) : malloc(n);

	if (!p)
		lab->alloc_failed++;
	return p;
}

static void lab_free(void *ud, void *p, size_t n)
{
	asup_lab *lab = ud;

	if (lab->cfg.alloc.free)
		lab->cfg.alloc.free(lab->cfg.alloc.ud, p, n);
	else
		free(p);
}

/* ---- config ------------------------------------------------------------ */

ASUP_API asup_lab_chaos asup_lab_chaos_light(void)
{
	asup_lab_chaos c = {10000, 50000, 20000, 4, 5000};
	return c;
}

ASUP_API asup_lab_chaos asup_lab_chaos_heavy(void)
{
	asup_lab_chaos c = {50000, 250000, 100000, 16, 25000};
	return c;
}

ASUP_API void asup_lab_config_init(asup_lab_config *cfg)
{
	if (!cfg)
		return;
	memset(cfg, 0, sizeof(*cfg));
	cfg->workers = 1;
	cfg->max_steps = 100000;
	cfg->auto_advance = 1;
	cfg->trace_capacity = 4096;
	cfg->futurelock_steps = 10000;
#ifdef NDEBUG
	cfg->check_every_step = 0;
#else
	cfg->check_every_step = 1;
#endif
	cfg->stop_on_violation = 1;
	cfg->inject_kind = ASUP_CANCEL_USER;
	cfg->leak_response = ASUP_LEAK_SILENT;
	asup_simnet_config_init(&cfg->net);
}

ASUP_API int asup_lab_config_check(const asup_lab_config *cfg, const char **field)
{
	const char *bad = NULL;
	const asup_lab_chaos *c = cfg ? &cfg->chaos : NULL;

	if (!cfg)
		bad = "cfg";
	else if (cfg->workers < 1 || cfg->workers > ASUP__WORKERS_MAX)
		bad = "workers";
	else if (cfg->max_steps == 0)
		bad = "max_steps";
	else if (cfg->trace_capacity < 1 || cfg->trace_capacity > (1u << 26))
		bad = "trace_capacity";
	else if (c->cancel_ppm > 1000000 || c->delay_ppm > 1000000 || c->storm_ppm > 1000000 ||
		 c->budget_ppm > 1000000)
		bad = "chaos";
	else if (c->storm_ppm && (c->storm_max < 1 || c->storm_max > 1000000))
		bad = "chaos.storm_max";
	else if (asup_cancel_kind_severity(cfg->inject_kind) < 0)
		bad = "inject_kind";
	else if (cfg->stack_size && !asup__stack_round(cfg->stack_size))
		bad = "stack_size";
	else if ((unsigned)cfg->leak_response > ASUP_LEAK_PANIC)
		bad = "leak_response";
	else if (!cfg->alloc.alloc != !cfg->alloc.free)
		bad = "alloc";
	else if (asup_simnet_config_check(&cfg->net, NULL) < 0)
		asup_simnet_config_check(&cfg->net, &bad);
	if (field)
		*field = bad;
	return bad ? -EINVAL : 0;
}

/* ---- hooks: events and checkpoints ------------------------------------- */

/* The event types the oracles look at (the others are skipped cheaply). */
#define EVBIT(t) (1ull << (t))
#define ORACLE_EVENTS                                                                              \
	(EVBIT(ASUP_EV_RESUME) | EVBIT(ASUP_EV_SPAWN) | EVBIT(ASUP_EV_COMPLETE) |                  \
	 EVBIT(ASUP_EV_CANCEL_REQUEST) | EVBIT(ASUP_EV_CANCEL_ACK) |                              \
	 EVBIT(ASUP_EV_REGION_CREATE) | EVBIT(ASUP_EV_REGION_CLOSE_BEGIN) |                       \
	 EVBIT(ASUP_EV_REGION_CLOSE_COMPLETE) | EVBIT(ASUP_EV_REGION_CANCEL) |                    \
	 EVBIT(ASUP_EV_FINALIZER_REGISTER) | EVBIT(ASUP_EV_FINALIZER_RUN) |                       \
	 EVBIT(ASUP_EV_OBLIGATION_RESERVE) | EVBIT(ASUP_EV_OBLIGATION_COMMIT) |                   \
	 EVBIT(ASUP_EV_OBLIGATION_ABORT) | EVBIT(ASUP_EV_OBLIGATION_LEAK) | EVBIT(ASUP_EV_EFFECT) | \
	 EVBIT(ASUP_EV_RACE_BEGIN) | EVBIT(ASUP_EV_RACE_MEMBER) | EVBIT(ASUP_EV_RACE_END))

static void lab_emit(void *ctx, uint32_t type, uint64_t task, uint64_t region, uint64_t a,
		     uint64_t b)
{
	asup_lab *lab = ctx;
	asup_event *e = asup__ring_next(&lab->ring);
	uint64_t step;
	uint32_t worker;

	asup__drive_where(lab->rt, &step, &worker, &e->time);
	e->seq = lab->nevents++;
	e->step = step;
	e->type = type;
	e->worker = worker;
	e->task = task;
	e->region = region;
	e->a = a;
	e->b = b;
	if (type == ASUP_EV_RESUME) {
		lab->cur_task = task;
		lab->cur_lane = (uint8_t)a;
		lab->cur_worker = (uint8_t)b;
	}
	asup__digest_words(&lab->dg, type, worker, task, region, a, b, step);
	if ((ORACLE_EVENTS >> type) & 1) {
		/* A permitted effect (every socket call has two) changes nothing
		 * in the oracle but its step: said here, without the call. */
		if (type == ASUP_EV_EFFECT && (a & b) == a)
			lab->oracle.step = step;
		else
			asup__oracle_event(&lab->oracle, e);
	}
	if (type == ASUP_EV_OBLIGATION_LEAK && lab->cfg.leak_response == ASUP_LEAK_PANIC)
		lab->stop = 1; /* the lab's panic response: the run ends at the leak */
}

static int lab_checkpoint(void *ctx, asup__ktask *kt)
{
	asup_lab *lab = ctx;
	asup__drive_task v;

	lab->checkpoints++;
	if (!lab->cfg.inject_at || lab->checkpoints != lab->cfg.inject_at)
		return 0;
	lab->injected++;
	asup__drive_task_of(kt, &v);
	asup__drive_trace(lab->rt, ASUP_EV_CHAOS, v.id, v.region, CHAOS_INJECT, lab->checkpoints);
	if (!lab->cfg.inject_root || asup__drive_root_id(lab->rt) == ASUP_ID_NONE)
		return (int)lab->cfg.inject_kind + 1;
	asup__drive_cancel_root(lab->rt, lab->cfg.inject_kind, kt, "injected");
	return 0;
}

/* ---- create / destroy -------------------------------------------------- */

ASUP_API int asup_lab_create(const asup_lab_config *cfg, asup_lab **out)
{
	asup_rt_config rc;
	asup_lab *lab;
	int err;

	if (!out || asup_lab_config_check(cfg, NULL) < 0)
		return -EINVAL;
	lab = calloc(1, sizeof(*lab));
	if (!lab)
		return -ENOMEM;
	lab->cfg = *cfg;
	asup_rt_config_init(&rc);
	rc.mode = ASUP_MODE_DETERMINISTIC;
	rc.seed = cfg->seed;
	if (cfg->stack_size)
		rc.stack_size = cfg->stack_size;
	rc.auto_advance = cfg->auto_advance;
	rc.net = cfg->net;
	/* PANIC would abort the process from inside the kernel; a lab reports
	 * instead: the kernel marks the leak (SILENT), the obligation_leak
	 * oracle names it, and lab_emit ends the run there (see lab.h). */
	rc.leak_response =
	    cfg->leak_response == ASUP_LEAK_PANIC ? ASUP_LEAK_SILENT : cfg->leak_response;
	rc.leak_escalate_after = 0;
	rc.report = asup__lab_report; /* socket leaks become violations */
	rc.report_ud = lab;
	lab->alloc.alloc = lab_alloc;
	lab->alloc.free = lab_free;
	lab->alloc.ud = lab;
	rc.alloc.alloc = lab_alloc;
	rc.alloc.free = lab_free;
	rc.alloc.ud = lab;
	err = asup_rt_create(&rc, &lab->rt);
	if (err < 0)
		goto fail;
	err = asup__drive_set_workers(lab->rt, cfg->workers);
	if (err == 0)
		err = asup__ring_init(&lab->ring, &heap, cfg->trace_capacity);
	if (err == 0)
		err = asup__oracle_init(&lab->oracle, &lab->alloc, asup__drive_root_id(lab->rt));
	if (err < 0)
		goto fail;
	asup__digest_init(&lab->dg);
	asup__rec_init(&lab->rec, &heap);
	asup__rng_seed(&lab->rng, asup__mix64(cfg->seed ^ 0x6c6162206c616221ull));
	/* The root region's creation becomes the trace's first event, and every
	 * suspension returns to the lab's loop: one dispatch per step. */
	asup__drive_attach(lab->rt, &(asup__drive_hooks){lab_emit, lab_checkpoint, lab});
	*out = lab;
	return 0;
fail:
	asup__ring_destroy(&lab->ring, &heap);
	if (lab->rt)
		asup_rt_destroy(lab->rt);
	free(lab);
	return err;
}

ASUP_API int asup_lab_destroy(asup_lab *lab)
{
	int rc;

	if (!lab)
		return -EINVAL;
	/* Tasks discarded at teardown emit nothing: stop tracing first. The
	 * reports of teardown (sockets of regions that never closed, failed
	 * tasks nobody joined) are what discarding an unfinished run does, not
	 * verdicts, and the network they would be asked of is going away. */
	asup__drive_set_probe(lab->rt, NULL);
	lab->destroying = 1;
	rc = asup_rt_destroy(lab->rt);
	if (rc < 0) {
		lab->destroying = 0;
		asup__drive_set_probe(lab->rt, &(asup__drive_hooks){lab_emit, lab_checkpoint, lab});
		return rc;
	}
	asup__ring_destroy(&lab->ring, &heap);
	asup__oracle_destroy(&lab->oracle);
	asup__rec_destroy(&lab->rec);
	free(lab);
	return 0;
}

/* ---- steps ------------------------------------------------------------- */

static void report(asup_lab *lab, const char *oracle, uint64_t task, uint64_t region,
		   const char *msg)
{
	asup__oracle_report(&lab->oracle, oracle, lab->steps, task, region, "%s", msg);
}

/* A per-step check value: 32 bits of the chain's raw state (the full
 * digest's finalisation is not needed to compare two runs step by step,
 * and the final digest is compared in full). */
static uint32_t step_check(const asup_lab *lab)
{
	return (uint32_t)((lab->dg.h1 ^ (lab->dg.h2 * 0x9e3779b97f4a7c15ull)) >> 32);
}

static void diverge(asup_lab *lab, uint64_t step)
{
	if (!lab->diverged) {
		lab->diverged = 1;
		lab->div_step = step;
	}
}

/* What follows a dispatch: the record, the comparison with a recording, the
 * per-step checks. */
static void after_step(asup_lab *lab)
{
	asup__step_rec s;
	uint64_t before = lab->viol_before;

	s.task = lab->cur_task;
	s.lane = lab->cur_lane;
	s.worker = lab->cur_worker;
	s.chaos = lab->chaos_n;
	s.check = step_check(lab);
	if (lab->follow) {
		const asup__step_rec *want = &lab->follow->steps[lab->steps];
		if (want->check != s.check || want->chaos != s.chaos)
			diverge(lab, lab->steps);
	}
	asup__rec_push(&lab->rec, &s);
	lab->steps++;
	if (!lab->net_seen)
		asup__lab_net_attach(lab);
	if (lab->cfg.check_every_step) {
		if (asup__rt_check(lab->rt) < 0)
			report(lab, "kernel", ASUP_ID_NONE, ASUP_ID_NONE,
			       "an internal invariant of the runtime does not hold");
		asup__oracle_step_end(&lab->oracle);
		asup__lab_net_check(lab);
	} else if (lab->oracle.ncancelled) {
		asup__oracle_step_end(&lab->oracle);
	}
	if (lab->oracle.holders && lab->cfg.futurelock_steps &&
	    asup__oracle_futurelock(&lab->oracle, lab->steps, lab->cfg.futurelock_steps))
		asup__drive_trace(lab->rt, ASUP_EV_FUTURELOCK, ASUP_ID_NONE, ASUP_ID_NONE,
			    lab->cfg.futurelock_steps, 0);
	if (lab->cfg.stop_on_violation && lab->oracle.nviolations > before)
		lab->stop = 1;
}

/* Jumps virtual time to the next timer if nothing can run. 1 if it moved. */
static int advance_if_idle(asup_lab *lab)
{
	return lab->cfg.auto_advance && asup__drive_advance_if_idle(lab->rt);
}

static int follow_step(asup_lab *lab, uint32_t w)
{
	const asup__step_rec *want;
	asup_time before;
	int rc, still = 0;

	if (lab->steps >= lab->follow->n) {
		/* The recording ended: so must the run. */
		if (asup__drive_pending(lab->rt, lab->cfg.auto_advance))
			diverge(lab, lab->steps);
		return 0;
	}
	want = &lab->follow->steps[lab->steps];
	/* Each advance may fire only packets of the simulated network that wake
	 * nobody; the recorded task runs once its wake-up is due. */
	for (;;) {
		rc = asup__drive_run_task(lab->rt, want->task, want->worker);
		if (rc == 0) {
			if (lab->cur_task != want->task || lab->cur_lane != want->lane)
				diverge(lab, lab->steps);
			after_step(lab);
			return 1;
		}
		asup__drive_idle(lab->rt, w); /* as an idle dispatch leaves it */
		before = asup_rt_now(lab->rt);
		if (!advance_if_idle(lab))
			break;
		/* Time that does not move brings nothing new: one more try. */
		if (asup_rt_now(lab->rt) == before && still++)
			break;
	}
	diverge(lab, lab->steps);
	return 0;
}

/* One step with the runtime entered: 1 ran, 0 nothing could run. */
static int step_inner(asup_lab *lab)
{
	uint64_t x = asup__rng_next(&lab->rng);
	uint32_t nw = asup__drive_workers(lab->rt);
	uint32_t w = nw > 1 ? (uint32_t)((x >> 32) % nw) : 0;

	lab->chaos_n = 0;
	lab->viol_before = lab->oracle.nviolations;
	if (asup__lab_chaos_on(&lab->cfg.chaos))
		asup__lab_chaos(lab);
	if (lab->follow)
		return follow_step(lab, w);
	/* An advance may fire only events that wake nobody (packets of the
	 * simulated network moving on): then the next one is due. */
	while (!asup__drive_step(lab->rt, w)) {
		asup_time before = asup_rt_now(lab->rt);
		if (!advance_if_idle(lab))
			return 0;
		if (asup_rt_now(lab->rt) == before) { /* nothing new: one more try */
			if (!asup__drive_step(lab->rt, w))
				return 0;
			break;
		}
	}
	after_step(lab);
	return 1;
}

ASUP_API int asup_lab_step(asup_lab *lab)
{
	int rc;

	if (!lab)
		return -EINVAL;
	if (lab->diverged)
		return -ASUP_EDIVERGED;
	if (lab->stop)
		return -ASUP_EORACLE;
	if (lab->steps >= lab->cfg.max_steps)
		return -ASUP_ESTEPLIMIT;
	rc = asup__rt_enter(lab->rt);
	if (rc < 0)
		return rc;
	(void)asup__altstack_keep(); /* for the overflow report, as in asup_rt_step */
	rc = step_inner(lab);
	asup__rt_leave(lab->rt);
	return rc;
}

ASUP_API int64_t asup_lab_run_until_idle(asup_lab *lab)
{
	int64_t n = 0;
	int rc;

	if (!lab)
		return -EINVAL;
	rc = asup__rt_enter(lab->rt);
	if (rc < 0)
		return rc;
	(void)asup__altstack_keep();
	while (!lab->stop && !lab->diverged && lab->steps < lab->cfg.max_steps &&
	       (rc = step_inner(lab)) == 1)
		n++;
	asup__rt_leave(lab->rt);
	return rc < 0 ? rc : n;
}

ASUP_API int asup_lab_spawn(asup_lab *lab, asup_task_fn fn, void *arg,
			    const asup_spawn_opts *opts, asup_task *out)
{
	return lab ? asup_rt_spawn(lab->rt, fn, arg, opts, out) : -EINVAL;
}

/* ---- whole runs -------------------------------------------------------- */

struct blocked {
	char msg[160];
	size_t len;
	int shown;
};

static int name_blocked(void *ctx, const asup__drive_task *t)
{
	struct blocked *b = ctx;

	if (t->completed)
		return 0;
	if (b->len < sizeof b->msg)
		b->len += (size_t)snprintf(b->msg + b->len, sizeof b->msg - b->len,
					   " T%" PRIu32 "%s%s%s", t->index, t->name[0] ? " '" : "",
					   t->name, t->name[0] ? "'" : "");
	return ++b->shown >= 4;
}

/* Names the blocked tasks of a deadlock in one violation. */
static void report_deadlock(asup_lab *lab)
{
	struct blocked b = {.shown = 0};
	uint32_t live = asup__drive_live(lab->rt);

	b.len = (size_t)snprintf(b.msg, sizeof b.msg, "%" PRIu32 " task(s) blocked forever:", live);
	asup__drive_each_task(lab->rt, name_blocked, &b);
	asup__drive_trace(lab->rt, ASUP_EV_DEADLOCK, ASUP_ID_NONE, ASUP_ID_NONE, live, 0);
	report(lab, "deadlock", ASUP_ID_NONE, ASUP_ID_NONE, b.msg);
}

/* Steps until `done` holds or nothing can run. 0, -EDEADLK (something is
 * still live), -ASUP_ESTEPLIMIT, -ASUP_EORACLE (stopped on a violation),
 * -ASUP_EDIVERGED. */
static int drive(asup_lab *lab, int (*done)(asup_lab *))
{
	for (;;) {
		if (lab->diverged)
			return -ASUP_EDIVERGED;
		if (lab->stop)
			return -ASUP_EORACLE;
		if (done(lab))
			return 0;
		if (lab->steps >= lab->cfg.max_steps)
			return -ASUP_ESTEPLIMIT;
		/* Nothing ran: finalizers that could not start for lack of
		 * memory get another chance before the run is judged stuck. */
		if (step_inner(lab) == 0 &&
		    asup__drive_retry_finalizers(lab->rt) <= 0)
			return done(lab) ? 0 : lab->diverged ? -ASUP_EDIVERGED : -EDEADLK;
	}
}

static int quiescent(asup_lab *lab)
{
	return asup__drive_quiescent(lab->rt);
}

static int root_gone(asup_lab *lab)
{
	return asup__drive_root_id(lab->rt) == ASUP_ID_NONE;
}

/* Closes the root region (its finalizers run as tasks) and steps until it
 * is gone. */
static int close_root(asup_lab *lab)
{
	if (asup__drive_root_id(lab->rt) == ASUP_ID_NONE)
		return 0;
	asup__drive_close_root(lab->rt);
	return drive(lab, root_gone);
}

ASUP_API int asup_lab_run(asup_lab *lab, asup_task_fn fn, void *arg, asup_outcome *out)
{
	asup_task root;
	void *alt;
	size_t alt_len;
	int rc, installed;

	if (!lab || !fn)
		return -EINVAL;
	if (lab->ran)
		return -EALREADY;
	rc = asup__rt_enter(lab->rt);
	if (rc < 0)
		return rc;
	lab->ran = 1;
	rc = asup__drive_spawn_root(lab->rt, fn, arg, "root", &root);
	if (rc < 0) {
		asup__rt_leave(lab->rt);
		return rc;
	}
	installed = asup__altstack_ensure(&alt, &alt_len) == 1;
	rc = drive(lab, quiescent);
	if (rc == 0)
		rc = close_root(lab);
	if (rc == -EDEADLK)
		report_deadlock(lab);
	lab->root_closed = asup__drive_root_id(lab->rt) == ASUP_ID_NONE;
	if (lab->follow && rc == 0 && lab->steps != lab->follow->n)
		diverge(lab, lab->steps);
	/* A run the lab cut short (at its first violation, or where a followed
	 * recording stopped matching) left tasks and regions unfinished because
	 * it was cut: only what it saw until then is a verdict. */
	asup__oracle_final(&lab->oracle, lab->steps, lab->root_closed,
			   lab->stop || lab->diverged);
	asup__lab_net_check(lab);
	if (lab->alloc_failed)
		asup__oracle_report(&lab->oracle, "out_of_memory", lab->steps, ASUP_ID_NONE,
				    ASUP_ID_NONE, "%" PRIu64 " allocation(s) failed during the run",
				    lab->alloc_failed);
	if (installed)
		asup__altstack_remove(alt, alt_len);
	asup__rt_leave(lab->rt);
	if (asup_task_try_join(&root, out) < 0) {
		asup_task_release(&root);
		if (out)
			memset(out, 0, sizeof(*out)), out->kind = ASUP_OUTCOME_CANCELLED;
	}
	asup__digest_final(&lab->dg, lab->rec.digest);
	if (rc == 0 && lab->diverged)
		rc = -ASUP_EDIVERGED;
	if (rc == 0 && lab->oracle.nviolations)
		rc = -ASUP_EORACLE;
	return rc;
}

ASUP_API int asup_lab_check(asup_lab *lab)
{
	if (!lab)
		return -EINVAL;
	if (lab->ran) /* asup_lab_run checked already */
		return (int)(lab->oracle.nviolations > INT32_MAX ? INT32_MAX
								 : lab->oracle.nviolations);
	asup__oracle_step_end(&lab->oracle);
	asup__oracle_final(&lab->oracle, lab->steps,
			   asup__drive_root_id(lab->rt) == ASUP_ID_NONE,
			   lab->stop || lab->diverged);
	asup__lab_net_check(lab);
	return (int)(lab->oracle.nviolations > INT32_MAX ? INT32_MAX : lab->oracle.nviolations);
}

/* ---- reading ----------------------------------------------------------- */

ASUP_API asup_rt *asup_lab_rt(asup_lab *lab)
{
	return lab ? lab->rt : NULL;
}

ASUP_API uint64_t asup_lab_steps(const asup_lab *lab)
{
	return lab ? lab->steps : 0;
}

ASUP_API uint64_t asup_lab_seed(const asup_lab *lab)
{
	return lab ? lab->cfg.seed : 0;
}

ASUP_API int asup_lab_stopped(const asup_lab *lab)
{
	return lab && lab->stop;
}

ASUP_API uint64_t asup_lab_checkpoints(const asup_lab *lab)
{
	return lab ? lab->checkpoints : 0;
}

ASUP_API uint64_t asup_lab_violation_count(const asup_lab *lab)
{
	return lab ? lab->oracle.nviolations : 0;
}

ASUP_API int asup_lab_violation_get(const asup_lab *lab, size_t i, asup_lab_violation *out)
{
	const asup__violation *v;

	if (!lab || !out)
		return -EINVAL;
	if (i >= lab->oracle.nviolations || i >= ASUP__VIOLATIONS_KEPT)
		return -ESRCH;
	v = &lab->oracle.kept[i];
	memset(out, 0, sizeof(*out));
	memcpy(out->oracle, v->oracle, sizeof out->oracle);
	memcpy(out->message, v->message, sizeof out->message);
	out->seed = lab->cfg.seed;
	out->step = v->step;
	out->task = v->task;
	out->region = v->region;
	return 0;
}

ASUP_API int asup_lab_violations_print(const asup_lab *lab, FILE *f)
{
	asup_lab_violation v;

	if (!lab || !f)
		return -EINVAL;
	for (size_t i = 0; asup_lab_violation_get(lab, i, &v) == 0; i++)
		fprintf(f, "%s: %s (seed %" PRIu64 ", step %" PRIu64 ")\n", v.oracle, v.message,
			v.seed, v.step);
	if (lab->oracle.nviolations > ASUP__VIOLATIONS_KEPT)
		fprintf(f, "... and %" PRIu64 " more\n",
			lab->oracle.nviolations - ASUP__VIOLATIONS_KEPT);
	return ferror(f) ? -EIO : 0;
}

ASUP_API int asup_lab_digest(const asup_lab *lab, uint8_t out[16])
{
	if (!lab || !out)
		return -EINVAL;
	asup__digest_final(&lab->dg, out);
	return 0;
}

ASUP_API int asup_lab_digest_hex(const asup_lab *lab, char out[33])
{
	uint8_t d[16];

	if (!lab || !out)
		return -EINVAL;
	asup__digest_final(&lab->dg, d);
	asup__digest_hex(d, out);
	return 0;
}

ASUP_API uint64_t asup_lab_event_count(const asup_lab *lab)
{
	return lab ? lab->nevents : 0;
}

ASUP_API size_t asup_lab_events(const asup_lab *lab, asup_event *out, size_t n)
{
	return lab && out ? asup__ring_copy(&lab->ring, 0, out, n) : 0;
}

static int export(const asup_lab *lab, FILE *f, int chrome, int virtual_time)
{
	size_t n;
	asup_event *ev;
	int rc;

	if (!lab || !f)
		return -EINVAL;
	n = (size_t)asup__ring_kept(&lab->ring);
	ev = malloc((n ? n : 1) * sizeof(*ev));
	if (!ev)
		return -ENOMEM;
	n = asup__ring_copy(&lab->ring, 0, ev, n);
	rc = chrome ? asup__export_chrome(ev, n, f, virtual_time) : asup__export_jsonl(ev, n, f);
	free(ev);
	return rc;
}

ASUP_API int asup_lab_export_jsonl(const asup_lab *lab, FILE *f)
{
	return export(lab, f, 0, 0);
}

ASUP_API int asup_lab_export_chrome(const asup_lab *lab, FILE *f, int virtual_time)
{
	return export(lab, f, 1, virtual_time);
}
