/*
 * Obligations: reserve, then commit or abort exactly once.
 *
 * A pending obligation counts against its region (which cannot close while
 * any is pending) and its holder. When the holder completes without having
 * been cancelled, what it still holds has leaked: the runtime's leak response
 * applies (escalating after a threshold if configured), then everything the
 * holder still holds is aborted, so a region is never blocked by a task that
 * is gone. A region that reaches Finalizing with pending obligations and no
 * task left leaks them the same way.
 *
 * States: RESERVED -> COMMITTED | ABORTED | LEAKED; a resolved obligation
 * leaves the table (its id is stale from then on).
 */
#include "asupersync/obligation.h"
#include "kernel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *kind_name(asup_obligation_kind k)
{
	static const char *names[] = {"send_permit", "ack", "lease", "io_op", "semaphore_permit"};
	return (unsigned)k < 5 ? names[k] : "?";
}

/* Resolves ob. `leaked` marks a leak that the leak response settled (as
 * LEAKED, or as ABORTED when it recovers): the trace reports it as a leak. */
static void resolve_as(asup__kernel *k, asup__obligation *ob, asup_obligation_state st,
		       asup_obligation_abort_reason why, int advance, int leaked)
{
	asup__region *r = ob->region;
	void (*hook)(void *) = st == ASUP_OBLIGATION_COMMITTED ? NULL : ob->on_release;
	void *ctx = ob->ctx;

	if (hook && ob->guard && !asup__region_lookup(k, ob->guard))
		hook = NULL; /* its object went with the guard region */

	ob->state = (uint8_t)st;
	ob->abort_reason = (uint8_t)why;
	if (asup__k_traced(k))
		asup__trace_emit(k->sched,
				 leaked ? ASUP_EV_OBLIGATION_LEAK
				 : st == ASUP_OBLIGATION_COMMITTED ? ASUP_EV_OBLIGATION_COMMIT
								    : ASUP_EV_OBLIGATION_ABORT,
				 ob->holder_id, r->id, ob->id, leaked ? (uint64_t)ob->kind : (uint64_t)why);
	asup__arena_remove(&k->obligations, ob->id);
	if (r->pending_obligations)
		r->pending_obligations--;
	if (ob->holder && ob->holder->in_use && ob->holder->id == ob->holder_id && ob->holder->nobl)
		ob->holder->nobl--;
	if (st == ASUP_OBLIGATION_COMMITTED)
		k->obl_committed++;
	else if (st == ASUP_OBLIGATION_ABORTED)
		k->obl_aborted++;
	else
		k->obl_leaked++;
	asup__free_mem(&k->alloc, ob, sizeof(*ob));
	if (hook)
		hook(ctx);
	if (advance)
		asup__region_advance(k, r);
}

static void resolve(asup__kernel *k, asup__obligation *ob, asup_obligation_state st,
		    asup_obligation_abort_reason why, int advance)
{
	resolve_as(k, ob, st, why, advance, st == ASUP_OBLIGATION_LEAKED);
}

/* One OBLIGATION_LEAK report naming the obligation, its holder and region. */
static void report_leak(asup__kernel *k, const asup__obligation *ob, const char *tail)
{
	const asup__ktask *h = ob->holder;
	char line[224 + ASUP__NAME_MAX];
	asup_report rep;

	if (!k->report)
		return;
	if (h && (!h->in_use || h->id != ob->holder_id))
		h = NULL; /* the holder's record was recycled: only its id is known */
	memset(&rep, 0, sizeof(rep));
	rep.kind = ASUP_REPORT_OBLIGATION_LEAK;
	rep.task_id = ob->holder_id;
	rep.task_name = h ? h->t.name : "";
	rep.region_id = ob->region->id;
	rep.why = kind_name(ob->kind);
	snprintf(line, sizeof(line),
		 "asupersync: obligation leaked: %s \"%.64s\" held by task '%s' (T%u) in region R%u%s",
		 rep.why, ob->desc ? ob->desc : "", rep.task_name,
		 (unsigned)ASUP__ID_INDEX(ob->holder_id), (unsigned)ASUP__ID_INDEX(rep.region_id), tail);
	rep.line = line;
	k->report(k->report_ud, &rep);
}

static void leak(asup__kernel *k, asup__obligation *ob)
{
	asup_leak_response resp = k->leak_response;

	k->leaks++;
	if (k->leak_escalate_after && k->leaks >= k->leak_escalate_after)
		resp = k->leak_escalate_to;
	switch (resp) {
	case ASUP_LEAK_RECOVER:
		resolve_as(k, ob, ASUP_OBLIGATION_ABORTED, ASUP_ABORT_ERROR, 0, 1);
		return;
	case ASUP_LEAK_SILENT:
		break;
	case ASUP_LEAK_PANIC:
		report_leak(k, ob, " with leak response panic");
		abort();
	default:
		report_leak(k, ob, "");
		break;
	}
	resolve(k, ob, ASUP_OBLIGATION_LEAKED, ASUP_ABORT_NONE, 0);
}

/* Calls fn on every pending obligation matching (holder or region). */
static void each_pending(asup__kernel *k, const asup__ktask *holder, const asup__region *r,
			 void (*fn)(asup__kernel *, asup__obligation *))
{
	for (uint32_t i = 0; i < k->obligations.len; i++) {
		asup__obligation *ob = k->obligations.slot[i].ptr;
		if (!ob)
			continue;
		if ((holder && ob->holder == holder && ob->holder_id == holder->id) ||
		    (r && ob->region == r))
			fn(k, ob);
	}
}

static void abort_cancel(asup__kernel *k, asup__obligation *ob)
{
	resolve(k, ob, ASUP_OBLIGATION_ABORTED, ASUP_ABORT_CANCEL, 0);
}

void asup__task_obligations_completed(asup__kernel *k, asup__ktask *kt)
{
	if (!kt->nobl)
		return;
	if (kt->rec_kind != ASUP_OUTCOME_CANCELLED)
		each_pending(k, kt, NULL, leak);
	each_pending(k, kt, NULL, abort_cancel);
	kt->nobl = 0;
}

void asup__region_obligations_leak(asup__kernel *k, asup__region *r)
{
	each_pending(k, NULL, r, leak);
}

int asup__obligation_create(asup__kernel *k, asup__ktask *holder, asup__region *r,
			    asup_obligation_kind kind, const char *desc, uint64_t *id)
{
	return asup__obligation_create_hooked(k, holder, r, kind, desc, NULL, NULL, id);
}

/* A task holds obligations in the region that owns it, or in a region whose
 * body it is running now (its scope, up to its owner). */
static int may_hold_in(const asup__ktask *holder, const asup__region *r)
{
	for (const asup__region *s = holder->cx.scope; s; s = s->parent) {
		if (s == r)
			return 1;
		if (s == holder->owner)
			break;
	}
	return holder->owner == r;
}

int asup__obligation_create_hooked(asup__kernel *k, asup__ktask *holder, asup__region *r,
				   asup_obligation_kind kind, const char *desc,
				   void (*on_release)(void *ctx), void *ctx, uint64_t *id)
{
	asup__obligation *ob;

	if (!r || !r->in_use)
		return -ASUP_ECLOSED;
	if (!holder || !may_hold_in(holder, r))
		return -EPERM; /* the holder must belong to that region */
	if (!(r->state == ASUP__R_OPEN || (r->state == ASUP__R_FINALIZING && holder->is_cleanup)))
		return -ASUP_ECLOSED;
	if (r->pending_obligations >= r->limits.max_obligations)
		return -ASUP_ECAPACITY;
	if ((unsigned)kind > ASUP_OBLIGATION_SEMAPHORE_PERMIT)
		return -EINVAL;
	ob = asup__alloc_mem(&k->alloc, sizeof(*ob));
	if (!ob)
		return -ENOMEM;
	memset(ob, 0, sizeof(*ob));
	if (asup__arena_insert(&k->obligations, ob, &ob->id) < 0) {
		asup__free_mem(&k->alloc, ob, sizeof(*ob));
		return -ENOMEM;
	}
	ob->kind = kind;
	ob->state = ASUP_OBLIGATION_RESERVED;
	ob->holder = holder;
	ob->holder_id = holder->id;
	ob->region = r;
	ob->desc = desc;
	ob->on_release = on_release;
	ob->ctx = ctx;
	r->pending_obligations++;
	holder->nobl++;
	*id = ob->id;
	asup__k_event(k, ASUP_EV_OBLIGATION_RESERVE, holder, r, ob->id, kind);
	return 0;
}

int asup__obligation_resolve(asup__kernel *k, uint64_t id, asup_obligation_state st)
{
	asup__obligation *ob = asup__arena_get(&k->obligations, id);

	if (!ob)
		return -ESRCH; /* unknown, or resolved already */
	resolve(k, ob, st, st == ASUP_OBLIGATION_ABORTED ? ASUP_ABORT_EXPLICIT : ASUP_ABORT_NONE, 1);
	return 0;
}

void asup__obligation_guard(asup__kernel *k, uint64_t id, uint64_t guard)
{
	asup__obligation *ob = asup__arena_get(&k->obligations, id);

	if (ob)
		ob->guard = guard;
}

/* Resolves without running the release hook: for a permit whose channel
 * went with its region, where the hook would touch freed memory. */
int asup__obligation_resolve_quiet(asup__kernel *k, uint64_t id, asup_obligation_state st)
{
	asup__obligation *ob = asup__arena_get(&k->obligations, id);

	if (!ob)
		return -ESRCH;
	ob->on_release = NULL;
	resolve(k, ob, st, st == ASUP_OBLIGATION_ABORTED ? ASUP_ABORT_EXPLICIT : ASUP_ABORT_NONE, 1);
	return 0;
}

ASUP_API int asup_obligation_reserve(asup_cx *cx, asup_obligation_kind kind, const char *desc,
				     uint64_t *id)
{
	asup__ktask *self = asup__cx_self(cx);

	if (!self)
		return -ASUP_ENOTASK;
	if (!id)
		return -EINVAL;
	return asup__obligation_create(cx->k, self, cx->scope, kind, desc, id);
}

ASUP_API int asup_obligation_commit(asup_cx *cx, uint64_t id)
{
	if (!asup__cx_self(cx))
		return -ASUP_ENOTASK;
	return asup__obligation_resolve(cx->k, id, ASUP_OBLIGATION_COMMITTED);
}

ASUP_API int asup_obligation_abort(asup_cx *cx, uint64_t id)
{
	if (!asup__cx_self(cx))
		return -ASUP_ENOTASK;
	return asup__obligation_resolve(cx->k, id, ASUP_OBLIGATION_ABORTED);
}
