/*
 * The task dump and the deadlock report: who is alive, where, in which state,
 * and what each parked task waits on.
 *
 * Owns nothing: it reads the region tree, the task records and the wait
 * annotation (ktask.wait_kind / wait_id, written by the parking calls) and
 * writes text. Must not change any state, allocate, or suspend, so that it
 * can run from a task, from the loop after a deadlock, or on a runtime that
 * nothing drives. The tree is walked through parent and sibling links only:
 * no recursion and no stack of its own, whatever the depth.
 */
#include "dump.h"

#include <string.h>

static const char *rstate_name(uint8_t s)
{
	static const char *n[] = {"open", "closing", "draining", "finalizing", "closed"};
	return s < 5 ? n[s] : "?";
}

static const char *tstate_name(uint8_t s)
{
	static const char *n[] = {"new", "ready", "running", "parked", "done"};
	return s < 5 ? n[s] : "?";
}

static const char *pstate_name(uint8_t s)
{
	static const char *n[] = {"created",    "running",    "cancel-requested",
				  "cancelling", "finalizing", "completed"};
	return s < 6 ? n[s] : "?";
}

static const char *task_cancel(const asup__ktask *kt)
{
	if (!kt->cancel_requested)
		return "none";
	return asup_cancel_kind_name(kt->cx_reason ? kt->cx_reason->kind : ASUP_CANCEL_USER);
}

/* What a task waits on, in words (no addresses: dumps compare across runs). */
static void wait_text(const asup__ktask *kt, char *b, size_t cap)
{
	static const char *fixed[ASUP__WAIT_KIND_COUNT] = {
		[ASUP__WAIT_NONE] = "something unnamed",
		[ASUP__WAIT_PARK] = "park (its waker)",
		[ASUP__WAIT_WAITQ] = "wait queue",
		[ASUP__WAIT_TIMER] = "timer",
		[ASUP__WAIT_MUTEX] = "mutex",
		[ASUP__WAIT_CHAN_RECV] = "channel receive",
		[ASUP__WAIT_CHAN_SEND] = "channel send",
		[ASUP__WAIT_BLOCKING] = "blocking call",
	};
	uint8_t w = kt->wait_kind;

	if (kt->t.state != ASUP__T_PARKED) {
		snprintf(b, cap, "nothing");
		return;
	}
	if (w == ASUP__WAIT_JOIN && kt->wait_id == ASUP_ID_NONE)
		snprintf(b, cap, "join of any of several tasks");
	else if (w == ASUP__WAIT_JOIN)
		snprintf(b, cap, "join of task T%u", (unsigned)ASUP__ID_INDEX(kt->wait_id));
	else if (w == ASUP__WAIT_REGION)
		snprintf(b, cap, "close of region R%u", (unsigned)ASUP__ID_INDEX(kt->wait_id));
	else
		snprintf(b, cap, "%s", w < ASUP__WAIT_KIND_COUNT ? fixed[w] : "?");
}

/* "R0/R3/R7": the path from the root, its middle elided past 8 levels. */
static void region_path(const asup__region *r, char *b, size_t cap)
{
	const asup__region *near[7];
	const asup__region *top = r;
	size_t at = 0;
	int n = 0, more = 0;

	while (top->parent) {
		if (n < 7)
			near[n++] = top;
		else
			more = 1;
		top = top->parent;
	}
	at += (size_t)snprintf(b + at, cap - at, "R%u", (unsigned)ASUP__ID_INDEX(top->id));
	if (more && at < cap)
		at += (size_t)snprintf(b + at, cap - at, "/...");
	while (n > 0 && at < cap)
		at += (size_t)snprintf(b + at, cap - at, "/R%u",
				       (unsigned)ASUP__ID_INDEX(near[--n]->id));
}

static void task_text(const asup__ktask *kt, char *b, size_t cap)
{
	char wait[64];

	wait_text(kt, wait, sizeof(wait));
	snprintf(b, cap, "T%u '%s' %s/%s cancel=%s waits on %s", (unsigned)ASUP__ID_INDEX(kt->id),
		 kt->t.name, tstate_name(kt->t.state), pstate_name(kt->pstate), task_cancel(kt),
		 wait);
}

/* The region after r in pre-order, with the depth change in *depth. */
static const asup__region *next_region(const asup__region *r, uint32_t *depth)
{
	if (!asup__list_empty(&r->children)) {
		++*depth;
		return asup__container_of(r->children.next, asup__region, sibling);
	}
	while (r->parent) {
		if (r->sibling.next != &r->parent->children)
			return asup__container_of(r->sibling.next, asup__region, sibling);
		r = r->parent;
		--*depth;
	}
	return NULL;
}

#define INDENT_MAX 32

static void print_region(FILE *f, const asup__region *r, uint32_t depth)
{
	int ind = (int)(depth < INDENT_MAX ? depth : INDENT_MAX) * 2;
	char line[256];

	fprintf(f, "%*sR%u %s tasks=%u children=%u cancel=%s", ind, "",
		(unsigned)ASUP__ID_INDEX(r->id), rstate_name(r->state), r->ntasks, r->nchildren,
		r->reason ? asup_cancel_kind_name(r->reason->kind) : "none");
	if (depth > INDENT_MAX)
		fprintf(f, " depth=%u", depth);
	fputc('\n', f);
	for (const asup__list *l = r->tasks.next; l != &r->tasks; l = l->next) {
		const asup__ktask *kt = asup__container_of(l, asup__ktask, region_link);
		task_text(kt, line, sizeof(line));
		fprintf(f, "%*s%s\n", ind + 2, "", line);
	}
}

int asup__dump_tree(const asup__kernel *k, FILE *f)
{
	const asup__region *r = k->root;
	uint32_t depth = 0, nregions = 0;

	fprintf(f, "asupersync dump: %u live tasks\n", k->live);
	while (r) {
		print_region(f, r, depth);
		nregions++;
		r = next_region(r, &depth);
	}
	fprintf(f, "asupersync dump end: %u regions\n", nregions);
	fflush(f);
	return ferror(f) ? -EIO : 0;
}

ASUP_API int asup_cx_dump(asup_cx *cx, FILE *f)
{
	if (!asup__cx_self(cx))
		return -ASUP_ENOTASK;
	if (!f)
		return -EINVAL;
	return asup__dump_tree(cx->k, f);
}

static void report_blocked(const asup__kernel *k, const asup__ktask *kt, uint32_t i, uint32_t n)
{
	char path[96], task[192], wait[64], line[384];
	asup_report rep;

	region_path(kt->owner, path, sizeof(path));
	task_text(kt, task, sizeof(task));
	wait_text(kt, wait, sizeof(wait));
	snprintf(line, sizeof(line), "asupersync: deadlock: blocked task %u of %u: %s in %s", i, n,
		 task, path);
	memset(&rep, 0, sizeof(rep));
	rep.kind = ASUP_REPORT_DEADLOCK;
	rep.line = line;
	rep.task_id = kt->id;
	rep.task_name = kt->t.name;
	rep.region_id = kt->owner->id;
	rep.panic_msg = "";
	rep.why = wait;
	rep.index = i;
	rep.count = n;
	k->report(k->report_ud, &rep);
}

uint32_t asup__dump_deadlock(const asup__kernel *k)
{
	uint32_t n = 0, i = 0;

	if (!k->report)
		return 0;
	for (uint32_t s = 0; s < k->tasks.len; s++) {
		const asup__ktask *kt = k->tasks.slot[s].ptr;
		n += kt && kt->pstate != ASUP__P_COMPLETED && kt->owner;
	}
	for (uint32_t s = 0; s < k->tasks.len; s++) {
		const asup__ktask *kt = k->tasks.slot[s].ptr;
		if (kt && kt->pstate != ASUP__P_COMPLETED && kt->owner)
			report_blocked(k, kt, ++i, n);
	}
	return n;
}
