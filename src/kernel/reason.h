/*
 * Cancellation reasons as shared, immutable, reference-counted chain nodes.
 *
 * A stored reason (of a region, a task record or a cx) is a pointer to a
 * node; strengthening replaces the pointer, never the node, so a cause chain
 * can be shared by every descendant that inherits it. Nodes are allocated
 * through the runtime's hooks. A cancel must never depend on an allocation:
 * when a node cannot be allocated, asup__reason_or_fallback() gives a static,
 * immutable node of the same kind instead (no message, no origin, no cause,
 * flagged truncated). Static nodes are never written: ref and unref skip
 * them, so runtimes on different threads can share them.
 *
 * Invariants: refs > 0 while reachable; depth == 1 + cause->depth (or 1);
 * depth <= the chain limit it was built with.
 */
#ifndef ASUP_KERNEL_REASON_H
#define ASUP_KERNEL_REASON_H

#include "asupersync/cancel.h"
#include "../util/alloc.h"

typedef struct asup__reason asup__reason;
struct asup__reason {
	uint32_t refs;
	uint16_t depth;          /* 1 = no cause */
	uint8_t truncated;       /* this node's chain was cut */
	uint8_t has_msg;
	uint16_t truncated_at;   /* the depth limit that cut it, or 0 */
	uint8_t immortal;        /* a static fallback node: never counted or freed */
	asup_cancel_kind kind;
	uint64_t origin_region;
	uint64_t origin_task;
	asup_time timestamp;
	char msg[ASUP_CANCEL_MSG_MAX];
	asup__reason *cause;     /* owned reference, or NULL */
};

/* A new reason with refs 1 and cause (referenced, chain limited to max_depth
 * levels including the new one). NULL without memory. */
asup__reason *asup__reason_new(const asup__alloc *a, asup_cancel_kind kind, uint64_t region,
			       uint64_t task, asup_time ts, const char *msg, asup__reason *cause,
			       unsigned max_depth);
/* The static node of kind (an invalid kind gives the User node): what a
 * cancel stores when a new node cannot be allocated. */
asup__reason *asup__reason_fallback(asup_cancel_kind kind);
/* r, or the fallback of kind when r is NULL (a failed asup__reason_new). */
static inline asup__reason *asup__reason_or_fallback(asup__reason *r, asup_cancel_kind kind)
{
	return r ? r : asup__reason_fallback(kind);
}
static inline asup__reason *asup__reason_ref(asup__reason *r)
{
	if (r && !r->immortal)
		r->refs++;
	return r;
}
void asup__reason_unref(const asup__alloc *a, asup__reason *r);
/* 1 if `other` must replace `self` under the strengthen rule. */
int asup__reason_beats(const asup__reason *other, const asup__reason *self);
/* Strengthens *slot with other (referencing it if it wins). Returns 1 if the
 * stored reason changed. */
int asup__reason_strengthen(const asup__alloc *a, asup__reason **slot, asup__reason *other);
/* Replaces *slot unconditionally. */
void asup__reason_set(const asup__alloc *a, asup__reason **slot, asup__reason *r);
int asup__reason_any_truncated(const asup__reason *r);
int asup__reason_any_cause_is(const asup__reason *r, asup_cancel_kind kind);
void asup__reason_export(const asup__reason *r, asup_cancel_reason *out);

#endif
