/*
 * The lab oracles (see oracle.h for what each one checks).
 *
 * Shadow tables are arrays indexed by the arena index of an id (the low 32
 * bits), so nothing here hashes or orders by address: the lab stays
 * deterministic. A slot holds the latest id with that index; the arena only
 * reuses an index after its previous occupant left (a task completed, a
 * region closed), so an id that no longer matches its slot names something
 * that is gone.
 */
#include "oracle.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "asupersync/cancel.h"
#include "asupersync/cx.h"
#include "asupersync/core.h"

#define IDX(id) ((uint32_t)(id))
#define NONE ASUP_ID_NONE

/* Grows *arr (n elements of size sz) so that index i exists, zero-filled. */
static int grow_to(asup__oracle *o, void **arr, uint32_t *n, size_t sz, uint32_t i)
{
	uint32_t want;

	if (i < *n)
		return 0;
	want = *n ? *n : 16;
	while (want <= i)
		want *= 2;
	if (asup__grow(o->alloc, arr, sz, *n, want) < 0) {
		o->oom = 1;
		return -ENOMEM;
	}
	memset((char *)*arr + (size_t)*n * sz, 0, (size_t)(want - *n) * sz);
	*n = want;
	return 0;
}

static asup__otask *task_slot(asup__oracle *o, uint64_t id)
{
	if (id == NONE || grow_to(o, (void **)&o->tasks, &o->ntasks, sizeof(*o->tasks), IDX(id)))
		return NULL;
	return &o->tasks[IDX(id)];
}

/* The shadow of task id, or NULL if it is unknown or gone. */
static asup__otask *task_get(asup__oracle *o, uint64_t id)
{
	if (id == NONE || IDX(id) >= o->ntasks || o->tasks[IDX(id)].id != id)
		return NULL;
	return &o->tasks[IDX(id)];
}

static asup__oregion *region_slot(asup__oracle *o, uint64_t id)
{
	if (id == NONE ||
	    grow_to(o, (void **)&o->regions, &o->nregions, sizeof(*o->regions), IDX(id)))
		return NULL;
	return &o->regions[IDX(id)];
}

static asup__oregion *region_get(asup__oracle *o, uint64_t id)
{
	if (id == NONE || IDX(id) >= o->nregions || o->regions[IDX(id)].id != id)
		return NULL;
	return &o->regions[IDX(id)];
}

static asup__orace *race_get(asup__oracle *o, uint64_t race)
{
	if (race == 0 || race > UINT32_MAX - 1 ||
	    grow_to(o, (void **)&o->races, &o->nraces, sizeof(*o->races), (uint32_t)race))
		return NULL;
	return &o->races[race];
}

int asup__oracle_init(asup__oracle *o, const asup__alloc *a, uint64_t root_region)
{
	asup__oregion *r;

	memset(o, 0, sizeof(*o));
	o->alloc = a;
	o->root = root_region;
	r = region_slot(o, root_region);
	if (!r)
		return -ENOMEM;
	r->id = root_region;
	r->parent = NONE;
	r->deadline = ASUP_TIME_MAX;
	r->state = 1;
	return 0;
}

void asup__oracle_destroy(asup__oracle *o)
{
	for (uint32_t i = 0; i < o->nraces; i++)
		asup__free_mem(o->alloc, o->races[i].more, o->races[i].cap_more * sizeof(uint64_t));
	asup__free_mem(o->alloc, o->tasks, o->ntasks * sizeof(*o->tasks));
	asup__free_mem(o->alloc, o->regions, o->nregions * sizeof(*o->regions));
	asup__free_mem(o->alloc, o->obls, o->nobls * sizeof(*o->obls));
	asup__free_mem(o->alloc, o->races, o->nraces * sizeof(*o->races));
	asup__free_mem(o->alloc, o->cancelled, o->capcancelled * sizeof(uint64_t));
	memset(o, 0, sizeof(*o));
}

void asup__oracle_report(asup__oracle *o, const char *oracle, uint64_t step, uint64_t task,
			 uint64_t region, const char *fmt, ...)
{
	va_list ap;

	/* Once a shadow table could not grow, the shadow misses something:
	 * its verdicts would be false, so only the runtime's own (deadlock,
	 * out_of_memory) and the final "lab" note are kept. */
	if (o->oom && strcmp(oracle, "deadlock") && strcmp(oracle, "out_of_memory") &&
	    strcmp(oracle, "lab")) {
		o->suppressed++;
		return;
	}
	if (o->nviolations < ASUP__VIOLATIONS_KEPT) {
		asup__violation *v = &o->kept[o->nviolations];
		snprintf(v->oracle, sizeof v->oracle, "%s", oracle);
		va_start(ap, fmt);
		vsnprintf(v->message, sizeof v->message, fmt, ap);
		va_end(ap);
		v->step = step;
		v->task = task;
		v->region = region;
	}
	o->nviolations++;
}

static void name(char prefix, uint64_t id, char *buf, size_t n)
{
	if (id == NONE)
		snprintf(buf, n, "-");
	else
		snprintf(buf, n, "%c%" PRIu32, prefix, IDX(id));
}

#define T(id) (name('T', (id), tb, sizeof tb), tb)
#define R(id) (name('R', (id), rb, sizeof rb), rb)

static int race_add(asup__oracle *o, asup__orace *rc, uint64_t member)
{
	if (rc->n < 8) {
		rc->members[rc->n++] = member;
		return 0;
	}
	if (rc->n - 8 == rc->cap_more) {
		uint32_t cap = rc->cap_more ? rc->cap_more * 2 : 8;
		if (asup__grow(o->alloc, (void **)&rc->more, sizeof(uint64_t), rc->cap_more, cap)) {
			o->oom = 1;
			return -ENOMEM;
		}
		rc->cap_more = cap;
	}
	rc->more[rc->n++ - 8] = member;
	return 0;
}

static uint64_t race_member(const asup__orace *rc, uint32_t i)
{
	return i < 8 ? rc->members[i] : rc->more[i - 8];
}

/* ---- per event --------------------------------------------------------- */

static void on_spawn(asup__oracle *o, const asup_event *e)
{
	char tb[24], rb[24];
	asup__oregion *r = region_get(o, e->region);
	asup__otask *t;

	if (!r || r->state == 3) {
		asup__oracle_report(o, "region_tree", e->step, e->task, e->region,
				    "task %s spawned into region %s, which is %s", T(e->task),
				    R(e->region), r ? "closed" : "unknown");
	} else if (r->state != 1 && !(e->b & 2)) {
		/* Only cleanup (finalizer) tasks may join a region that is not open. */
		asup__oracle_report(o, "region_tree", e->step, e->task, e->region,
				    "task %s spawned into region %s after its close began",
				    T(e->task), R(e->region));
	}
	t = task_slot(o, e->task);
	if (!t)
		return;
	if (t->id && t->state == 1)
		asup__oracle_report(o, "task_leak", e->step, t->id, t->region,
				    "task %s reused while still live", T(t->id));
	memset(t, 0, sizeof(*t));
	t->id = e->task;
	t->region = e->region;
	t->state = 1;
	t->max_sev = -1;
	t->last_resume = e->step;
	if (r)
		r->live_tasks++;
}

static void on_complete(asup__oracle *o, const asup_event *e)
{
	char tb[24], rb[24];
	asup__otask *t = task_get(o, e->task);
	asup__oregion *r;

	if (!t || t->state != 1) {
		asup__oracle_report(o, "task_leak", e->step, e->task, e->region,
				    "task %s completed but was not live", T(e->task));
		return;
	}
	t->state = 2;
	if ((r = region_get(o, t->region)) != NULL && r->live_tasks)
		r->live_tasks--;
	if (r && t->finalizer)
		r->fin_done++;
	if (t->record_req && (e->a == ASUP_OUTCOME_OK || e->a == ASUP_OUTCOME_ERR))
		asup__oracle_report(o, "cancel_protocol", e->step, e->task, t->region,
				    "task %s completed %s after a cancel request of its record",
				    T(e->task), e->a == ASUP_OUTCOME_OK ? "Ok" : "Err");
	if (!t->requested && e->a == ASUP_OUTCOME_CANCELLED)
		asup__oracle_report(o, "cancel_protocol", e->step, e->task, t->region,
				    "task %s completed Cancelled without a cancel request in %s",
				    T(e->task), R(t->region));
}

static void on_cancel_request(asup__oracle *o, const asup_event *e)
{
	char tb[24], rb[24];
	asup__otask *t = task_get(o, e->task);
	int sev = asup_cancel_kind_severity((asup_cancel_kind)(e->a & 0xff));

	(void)rb;
	if (!t)
		return;
	if (e->a & ASUP_CANCEL_EV_OVERWRITE)
		t->max_sev = (int8_t)sev; /* replaced on purpose: the new baseline */
	else if (sev < t->max_sev)
		asup__oracle_report(o, "cancel_protocol", e->step, e->task, t->region,
				    "task %s: cancel reason weakened from severity %d to %d",
				    T(e->task), t->max_sev, sev);
	else
		t->max_sev = (int8_t)sev;
	t->requested = 1;
	if (e->b)
		t->record_req = 1;
}

static void on_cancel_ack(asup__oracle *o, const asup_event *e)
{
	char tb[24];
	asup__otask *t = task_get(o, e->task);

	if (!t || !t->requested)
		asup__oracle_report(o, "cancel_protocol", e->step, e->task, e->region,
				    "task %s acknowledged a cancel never requested", T(e->task));
	if (e->b != 0)
		asup__oracle_report(o, "cancel_protocol", e->step, e->task, e->region,
				    "task %s acknowledged a cancel under a mask of depth %" PRIu64,
				    T(e->task), e->b);
}

static void on_region_create(asup__oracle *o, const asup_event *e)
{
	char tb[24], rb[24], pb[24];
	asup__oregion *p = region_get(o, e->a), *r;

	(void)tb;
	if (e->region == o->root)
		return; /* known from the start */
	name('R', e->a, pb, sizeof pb);
	if (!p || p->state != 1)
		asup__oracle_report(o, "region_tree", e->step, NONE, e->region,
				    "region %s created under %s parent %s", R(e->region),
				    p ? "a non-open" : "an unknown", pb);
	else if (e->b > p->deadline)
		asup__oracle_report(o, "deadline_monotone", e->step, NONE, e->region,
				    "region %s has deadline %" PRIu64 " after its parent %s's %" PRIu64,
				    R(e->region), e->b, pb, p->deadline);
	r = region_slot(o, e->region);
	p = region_get(o, e->a); /* the table may have moved */
	if (!r)
		return;
	memset(r, 0, sizeof(*r));
	r->id = e->region;
	r->parent = e->a;
	r->deadline = e->b;
	r->state = 1;
	if (p)
		p->open_children++;
}

static void on_region_close(asup__oracle *o, const asup_event *e)
{
	char tb[24], rb[24];
	asup__oregion *r = region_get(o, e->region), *p;

	(void)tb;
	if (!r || r->state == 3) {
		asup__oracle_report(o, "region_tree", e->step, NONE, e->region,
				    "region %s closed twice or never created", R(e->region));
		return;
	}
	if (r->live_tasks)
		asup__oracle_report(o, "task_leak", e->step, NONE, e->region,
				    "region %s closed with %" PRIu32 " live task(s)", R(e->region),
				    r->live_tasks);
	if (r->open_children)
		asup__oracle_report(o, "quiescence", e->step, NONE, e->region,
				    "region %s closed with %" PRIu32 " open child region(s)",
				    R(e->region), r->open_children);
	if (r->fin_done != r->fin_reg)
		asup__oracle_report(o, "finalizer", e->step, NONE, e->region,
				    "region %s closed after %" PRIu32 " of %" PRIu32 " finalizers ran",
				    R(e->region), r->fin_done, r->fin_reg);
	if (r->pending)
		asup__oracle_report(o, "obligation_leak", e->step, NONE, e->region,
				    "region %s closed with %" PRIu32 " pending obligation(s)",
				    R(e->region), r->pending);
	r->state = 3;
	if ((p = region_get(o, r->parent)) != NULL && p->open_children)
		p->open_children--;
}

static void on_region_cancel(asup__oracle *o, const asup_event *e)
{
	asup__oregion *r = region_get(o, e->region);

	if (!r)
		return;
	r->cancelled = 1;
	if (o->ncancelled == o->capcancelled) {
		uint32_t cap = o->capcancelled ? o->capcancelled * 2 : 16;
		if (asup__grow(o->alloc, (void **)&o->cancelled, sizeof(uint64_t), o->capcancelled,
			       cap)) {
			o->oom = 1;
			return;
		}
		o->capcancelled = cap;
	}
	o->cancelled[o->ncancelled++] = e->region;
}

static void on_obligation(asup__oracle *o, const asup_event *e)
{
	char tb[24], rb[24];
	asup__oobl *b;
	asup__otask *t;
	asup__oregion *r;

	if (e->type == ASUP_EV_OBLIGATION_RESERVE) {
		r = region_get(o, e->region);
		if (!r || r->state == 3)
			asup__oracle_report(o, "region_tree", e->step, e->task, e->region,
					    "obligation reserved in closed region %s", R(e->region));
		if (grow_to(o, (void **)&o->obls, &o->nobls, sizeof(*o->obls), IDX(e->a)))
			return;
		b = &o->obls[IDX(e->a)];
		b->id = e->a;
		b->holder = e->task;
		b->region = e->region;
		b->pending = 1;
		if ((r = region_get(o, e->region)) != NULL)
			r->pending++;
		if ((t = task_get(o, e->task)) != NULL && t->held++ == 0)
			o->holders++;
		return;
	}
	if (IDX(e->a) >= o->nobls || o->obls[IDX(e->a)].id != e->a || !o->obls[IDX(e->a)].pending) {
		asup__oracle_report(o, "obligation_leak", e->step, e->task, e->region,
				    "obligation O%" PRIu32 " resolved but not pending", IDX(e->a));
		return;
	}
	b = &o->obls[IDX(e->a)];
	b->pending = 0;
	if ((r = region_get(o, b->region)) != NULL && r->pending)
		r->pending--;
	if ((t = task_get(o, b->holder)) != NULL && t->held && --t->held == 0)
		o->holders--;
	if (e->type == ASUP_EV_OBLIGATION_LEAK)
		asup__oracle_report(o, "obligation_leak", e->step, b->holder, b->region,
				    "obligation O%" PRIu32 " (kind %" PRIu64 ") of task %s in region %s"
				    " leaked",
				    IDX(e->a), e->b, T(b->holder), R(b->region));
}

static void on_race(asup__oracle *o, const asup_event *e)
{
	char tb[24], wb[24];
	asup__orace *rc = race_get(o, e->a);

	if (!rc)
		return;
	switch (e->type) {
	case ASUP_EV_RACE_BEGIN:
		rc->began = 1;
		rc->racer = e->task;
		break;
	case ASUP_EV_RACE_MEMBER:
		race_add(o, rc, e->b);
		break;
	default:
		rc->ended = 1;
		name('T', e->b, wb, sizeof wb);
		for (uint32_t i = 0; i < rc->n; i++) {
			uint64_t m = race_member(rc, i);
			asup__otask *t = task_get(o, m);
			if (m != e->b && t && t->state == 1)
				asup__oracle_report(o, "loser_drain", e->step, m, e->region,
						    "race %" PRIu64 " (winner %s) ended with loser %s "
						    "still running",
						    e->a, wb, T(m));
		}
		break;
	}
}

/* A finalizer started: in a cleanup task (the event names it, spawned just
 * before) that finishes when the task completes, or inline (no task), done
 * at once. */
static void on_finalizer_run(asup__oracle *o, const asup_event *e)
{
	asup__oregion *r = region_get(o, e->region);
	asup__otask *t = task_get(o, e->task);

	if (!r)
		return;
	r->fin_run++;
	if (t && t->state == 1)
		t->finalizer = 1;
	else
		r->fin_done++;
}

void asup__oracle_event(asup__oracle *o, const asup_event *e)
{
	char tb[24];
	asup__otask *t;
	asup__oregion *r;

	o->step = e->step;
	switch (e->type) {
	case ASUP_EV_RESUME:
		if ((t = task_get(o, e->task)) != NULL)
			t->last_resume = e->step;
		break;
	case ASUP_EV_SPAWN:
		on_spawn(o, e);
		break;
	case ASUP_EV_COMPLETE:
		on_complete(o, e);
		break;
	case ASUP_EV_CANCEL_REQUEST:
		on_cancel_request(o, e);
		break;
	case ASUP_EV_CANCEL_ACK:
		on_cancel_ack(o, e);
		break;
	case ASUP_EV_REGION_CREATE:
		on_region_create(o, e);
		break;
	case ASUP_EV_REGION_CLOSE_BEGIN:
		if ((r = region_get(o, e->region)) != NULL && r->state == 1)
			r->state = 2;
		break;
	case ASUP_EV_REGION_CLOSE_COMPLETE:
		on_region_close(o, e);
		break;
	case ASUP_EV_REGION_CANCEL:
		on_region_cancel(o, e);
		break;
	case ASUP_EV_FINALIZER_REGISTER:
		if ((r = region_get(o, e->region)) != NULL)
			r->fin_reg++;
		break;
	case ASUP_EV_FINALIZER_RUN:
		on_finalizer_run(o, e);
		break;
	case ASUP_EV_OBLIGATION_RESERVE:
	case ASUP_EV_OBLIGATION_COMMIT:
	case ASUP_EV_OBLIGATION_ABORT:
	case ASUP_EV_OBLIGATION_LEAK:
		on_obligation(o, e);
		break;
	case ASUP_EV_EFFECT:
		/* lab_emit keeps the permitted ones from coming here: this test
		 * must stay the one it makes. */
		if ((e->a & e->b) != e->a)
			asup__oracle_report(o, "ambient_authority", e->step, e->task, e->region,
					    "task %s used capability 0x%" PRIx64 " holding only 0x%" PRIx64,
					    T(e->task), e->a, e->b);
		break;
	case ASUP_EV_RACE_BEGIN:
	case ASUP_EV_RACE_MEMBER:
	case ASUP_EV_RACE_END:
		on_race(o, e);
		break;
	default:
		break;
	}
}

/* ---- whole-step and end-of-run checks ---------------------------------- */

void asup__oracle_step_end(asup__oracle *o)
{
	char rb[24], cb[24];

	for (uint32_t k = 0; k < o->ncancelled; k++) {
		uint64_t pid = o->cancelled[k];
		for (uint32_t i = 0; i < o->nregions; i++) {
			asup__oregion *c = &o->regions[i];
			if (c->id && c->parent == pid && c->state != 3 && !c->cancelled) {
				name('R', c->id, cb, sizeof cb);
				asup__oracle_report(o, "cancel_protocol", o->step, NONE, c->id,
						    "cancel of region %s did not reach its child %s",
						    R(pid), cb);
				c->cancelled = 1; /* report once */
			}
		}
	}
	o->ncancelled = 0;
}

int asup__oracle_futurelock(asup__oracle *o, uint64_t step, uint64_t limit)
{
	char tb[24];
	int n = 0;

	if (!o->holders || !limit)
		return 0;
	for (uint32_t i = 0; i < o->ntasks; i++) {
		asup__otask *t = &o->tasks[i];
		if (t->id && t->state == 1 && t->held && step - t->last_resume > limit) {
			asup__oracle_report(o, "futurelock", step, t->id, t->region,
					    "task %s holds %" PRIu32 " obligation(s) and was not "
					    "scheduled for %" PRIu64 " steps",
					    T(t->id), t->held, step - t->last_resume);
			t->last_resume = step; /* report again only after another K */
			n++;
		}
	}
	return n;
}

/* What the end of the run left unfinished: tasks, regions, finalizers,
 * obligations, races. */
static void final_unfinished(asup__oracle *o, uint64_t step, int root_closed)
{
	char tb[24], rb[24];

	for (uint32_t i = 0; i < o->ntasks; i++)
		if (o->tasks[i].id && o->tasks[i].state == 1)
			asup__oracle_report(o, "task_leak", step, o->tasks[i].id, o->tasks[i].region,
					    "task %s never completed", T(o->tasks[i].id));
	for (uint32_t i = 0; i < o->nregions; i++) {
		asup__oregion *r = &o->regions[i];
		if (!r->id || r->state == 3 || (r->id == o->root && !root_closed))
			continue;
		asup__oracle_report(o, "quiescence", step, NONE, r->id,
				    "region %s never closed", R(r->id));
		if (r->fin_done != r->fin_reg)
			asup__oracle_report(o, "finalizer", step, NONE, r->id,
					    "region %s: %" PRIu32 " of %" PRIu32 " finalizers never "
					    "finished (%" PRIu32 " never started)",
					    R(r->id), r->fin_reg - r->fin_done, r->fin_reg,
					    r->fin_reg - r->fin_run);
	}
	for (uint32_t i = 0; i < o->nobls; i++)
		if (o->obls[i].id && o->obls[i].pending)
			asup__oracle_report(o, "obligation_leak", step, o->obls[i].holder,
					    o->obls[i].region,
					    "obligation O%" PRIu32 " still pending at the end", i);
	for (uint32_t i = 1; i < o->nraces; i++)
		if (o->races[i].began && !o->races[i].ended)
			asup__oracle_report(o, "loser_drain", step, o->races[i].racer, NONE,
					    "race %" PRIu32 " never ended", i);
}

void asup__oracle_final(asup__oracle *o, uint64_t step, int root_closed, int cut_short)
{
	if (!cut_short)
		final_unfinished(o, step, root_closed);
	if (o->oom)
		asup__oracle_report(o, "lab", step, NONE, NONE,
				    "the oracle ran out of memory; %" PRIu64 " verdict(s) after that "
				    "were not reported",
				    o->suppressed);
}
