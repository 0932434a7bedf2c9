/*
 * asupersync/cancel.h - budgets and cancellation reasons (pure values).
 *
 * A budget bounds what a region or task may still use: an absolute deadline,
 * a poll quota (resumptions), a cost quota and a priority. Budgets combine by
 * meet: the tighter deadline and quotas, the higher priority. Nested scopes
 * can therefore never loosen what encloses them.
 *
 * A cancellation reason says why something is being cancelled. Reasons only
 * ever strengthen: a stored reason is replaced only by a more severe one (or,
 * at equal severity, an earlier one). A reason inherited from a parent region
 * has kind PARENT_CANCELLED and the parent's reason as its cause; the chain
 * is limited in depth (asup_rt_config.cancel_chain_depth, 16 by default)
 * and flagged when truncated.
 *
 * Ownership: every type here is a plain value in caller storage.
 */
#ifndef ASUPERSYNC_CANCEL_H
#define ASUPERSYNC_CANCEL_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ASUP_NO_COST UINT64_MAX   /* cost_quota: unlimited */
#define ASUP_NO_POLL UINT32_MAX   /* poll_quota: unlimited */

typedef struct asup_budget {
	asup_time deadline;   /* absolute; ASUP_TIME_MAX = none */
	uint32_t poll_quota;  /* ASUP_NO_POLL = unlimited */
	uint64_t cost_quota;  /* ASUP_NO_COST = unlimited */
	uint8_t priority;     /* higher = more urgent */
} asup_budget;

/* The identity of meet: no deadline, unlimited quotas, priority 0. */
ASUP_API asup_budget asup_budget_infinite(void);
/* The default budget: unlimited, priority 128. */
ASUP_API asup_budget asup_budget_default(void);
/* Absorbing: deadline 0, quotas 0, priority 255. */
ASUP_API asup_budget asup_budget_zero(void);
/* poll quota 100, priority 128. */
ASUP_API asup_budget asup_budget_minimal(void);
/* Earlier deadline, smaller quotas, higher priority. Commutative, associative,
 * idempotent. */
ASUP_API asup_budget asup_budget_meet(asup_budget a, asup_budget b);
/* b with its deadline at t (replaces, does not meet). */
ASUP_API asup_budget asup_budget_with_deadline(asup_budget b, asup_time t);
/* 1 if the poll or cost quota is 0 (the deadline does not count). */
ASUP_API int asup_budget_is_exhausted(const asup_budget *b);
/* 1 if the deadline is set and <= now. */
ASUP_API int asup_budget_is_past_deadline(const asup_budget *b, asup_time now);
/* If the poll quota is > 0: decrements it and returns the old value;
 * otherwise returns -1 and changes nothing. An unlimited quota stays so. */
ASUP_API int64_t asup_budget_consume_poll(asup_budget *b);
/* 1 and subtracts c if enough cost is left (always, if unlimited); 0 and
 * unchanged otherwise. */
ASUP_API int asup_budget_consume_cost(asup_budget *b, uint64_t c);

typedef enum asup_cancel_kind {
	ASUP_CANCEL_USER = 0,
	ASUP_CANCEL_TIMEOUT,
	ASUP_CANCEL_DEADLINE,
	ASUP_CANCEL_POLL_QUOTA,
	ASUP_CANCEL_COST_BUDGET,
	ASUP_CANCEL_FAIL_FAST,
	ASUP_CANCEL_RACE_LOST,
	ASUP_CANCEL_LINKED_EXIT,
	ASUP_CANCEL_PARENT_CANCELLED,
	ASUP_CANCEL_RESOURCE_UNAVAILABLE,
	ASUP_CANCEL_SHUTDOWN,
	ASUP_CANCEL_KIND_COUNT
} asup_cancel_kind;

/* 0 (User) .. 5 (Shutdown); -1 for an invalid kind. */
ASUP_API int asup_cancel_kind_severity(asup_cancel_kind kind);
/* "user", "timeout", ... "shutdown"; "invalid" otherwise. */
ASUP_API const char *asup_cancel_kind_name(asup_cancel_kind kind);
/* The budget cleanup runs under after a cancel of this kind: poll quota
 * 1000/500/300/200/200/50 and priority 200/210/215/220/220/255 by severity. */
ASUP_API asup_budget asup_cancel_kind_cleanup_budget(asup_cancel_kind kind);

#define ASUP_ID_NONE UINT64_MAX
#define ASUP_CANCEL_MSG_MAX 64
#define ASUP_CANCEL_CHAIN_MAX 16  /* the default cancel_chain_depth */

/* A copy of a cancellation reason, as the library reports it. */
typedef struct asup_cancel_reason {
	asup_cancel_kind kind;
	uint64_t origin_region;       /* region id, or ASUP_ID_NONE */
	uint64_t origin_task;         /* task id, or ASUP_ID_NONE */
	asup_time timestamp;
	char message[ASUP_CANCEL_MSG_MAX]; /* "" when there is none */
	uint8_t has_message;
	uint8_t truncated;            /* the cause chain was cut at the depth limit */
	uint16_t chain_depth;         /* 1 = no cause */
	asup_cancel_kind root_kind;   /* kind of the last cause kept in the chain
	                                 (when truncated, that of the link at the
	                                 cut, PARENT_CANCELLED: the original kind
	                                 was cut off with it) */
} asup_cancel_reason;

#ifdef __cplusplus
}
#endif
#endif
