/*
 * asupersync/trace.h - the event record of a runtime's trace, and the calls
 * that add events of your own.
 *
 * A runtime with tracing on (every lab runtime: asupersync/lab.h) records one
 * fixed-size event for each thing that happens: spawns, schedule decisions,
 * suspensions, wake-ups, completions, the cancellation protocol, region
 * transitions, finalizers, obligations, timers, time, random draws,
 * checkpoints and user events. Events carry ids (arena index and generation),
 * virtual time and the step number, never addresses, so the same seed and
 * program give the same events on every compiler and optimisation level.
 *
 * Combinators you write yourself can declare their races (begin, members,
 * end) so that the lab's loser-drain oracle checks them like asup_race.
 *
 * Ownership: events are plain values. The calls here borrow cx and do
 * nothing (returning 0) when the runtime does not trace.
 */
#ifndef ASUPERSYNC_TRACE_H
#define ASUPERSYNC_TRACE_H

#include "core.h"
#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

/* X(NAME, "json name"): the event types, in a fixed numbering (the numbers
 * are part of the trace file format; new types are only appended). */
#define ASUP_EVENT_TABLE(X)                                                       \
	X(ASUP_EV_NONE, "none")                                                   \
	X(ASUP_EV_SPAWN, "spawn")                   /* a: parent task, b: flags */ \
	X(ASUP_EV_TASK_NAME, "task_name")           /* a, b: 16 name bytes */       \
	X(ASUP_EV_SCHEDULE, "schedule")             /* a: lane */                  \
	X(ASUP_EV_RESUME, "resume")                 /* a: lane, b: worker */       \
	X(ASUP_EV_YIELD, "yield")                   /* back of the ready lane */   \
	X(ASUP_EV_PARK, "park")                     /* a: wake-up deadline */      \
	X(ASUP_EV_WAKE, "wake")                     /* a: lane, b: cause */        \
	X(ASUP_EV_COMPLETE, "complete")             /* a: record kind, b: handle kind */ \
	X(ASUP_EV_CANCEL_REQUEST, "cancel_request") /* a: kind (| OVERWRITE), b: epoch (0: cx only) */ \
	X(ASUP_EV_CANCEL_ACK, "cancel_ack")         /* a: kind, b: mask depth */   \
	X(ASUP_EV_REGION_CREATE, "region_create")   /* a: parent, b: deadline */   \
	X(ASUP_EV_REGION_CLOSE_BEGIN, "region_close_begin") /* a: reason kind+1 or 0 */ \
	X(ASUP_EV_REGION_CLOSE_COMPLETE, "region_close_complete")                   \
	X(ASUP_EV_REGION_CANCEL, "region_cancel")   /* a: kind, b: chain depth */  \
	X(ASUP_EV_FINALIZER_REGISTER, "finalizer_register") /* a: 1 async */       \
	X(ASUP_EV_FINALIZER_RUN, "finalizer_run")   /* a: 1 async */               \
	X(ASUP_EV_OBLIGATION_RESERVE, "obligation_reserve") /* a: id, b: kind */   \
	X(ASUP_EV_OBLIGATION_COMMIT, "obligation_commit")   /* a: id */            \
	X(ASUP_EV_OBLIGATION_ABORT, "obligation_abort")     /* a: id, b: reason */ \
	X(ASUP_EV_OBLIGATION_LEAK, "obligation_leak")       /* a: id, b: kind */   \
	X(ASUP_EV_TIMER_SCHEDULED, "timer_scheduled")       /* a: when */          \
	X(ASUP_EV_TIMER_FIRED, "timer_fired")               /* a: when */          \
	X(ASUP_EV_TIME_ADVANCE, "time_advance")             /* a: from, b: to */   \
	X(ASUP_EV_RANDOM, "random")                 /* a: value */                 \
	X(ASUP_EV_CHECKPOINT, "checkpoint")         /* a: count, b: result (neg) */ \
	X(ASUP_EV_EFFECT, "effect")                 /* a: capability, b: held caps */ \
	X(ASUP_EV_RACE_BEGIN, "race_begin")         /* a: race id, b: members */   \
	X(ASUP_EV_RACE_MEMBER, "race_member")       /* a: race id, b: member task */ \
	X(ASUP_EV_RACE_END, "race_end")             /* a: race id, b: winner task */ \
	X(ASUP_EV_CHAOS, "chaos")                   /* a: chaos kind, b: detail */ \
	X(ASUP_EV_FUTURELOCK, "futurelock")         /* a: idle steps */            \
	X(ASUP_EV_USER, "user")                     /* a: tag, b: value */         \
	X(ASUP_EV_DEADLOCK, "deadlock")             /* a: tasks blocked */      \
	X(ASUP_EV_NET, "net")                       /* a: kind | connection << 8, b: count or -errno (simulated network) */

typedef enum asup_event_type {
#define ASUP_EV_ENUM(name, text) name,
	ASUP_EVENT_TABLE(ASUP_EV_ENUM)
#undef ASUP_EV_ENUM
	ASUP_EV_COUNT
} asup_event_type;

/* In a CANCEL_REQUEST's a: the reason replaced the old one instead of
 * strengthening it (asup_cx_cancel_self). */
#define ASUP_CANCEL_EV_OVERWRITE 0x100u

/* Lanes as events name them (SCHEDULE, RESUME, WAKE). */
enum {
	ASUP_LANE_NONE = 0,
	ASUP_LANE_CANCEL = 1,
	ASUP_LANE_TIMED = 2,
	ASUP_LANE_READY = 3,
	ASUP_LANE_STOLEN = 4, /* RESUME only: taken from another worker */
};

/*
 * One event: 64 bytes, no padding, every field always written.
 * task/region are ids (ASUP_ID_NONE when absent).
 */
typedef struct asup_event {
	uint64_t seq;      /* position in the trace, from 0 */
	uint64_t step;     /* dispatches before it (the lab's step count) */
	asup_time time;    /* the runtime's clock (virtual in the lab) */
	uint32_t type;     /* asup_event_type */
	uint32_t worker;   /* virtual worker that was running */
	uint64_t task;
	uint64_t region;
	uint64_t a, b;     /* type-specific, see the table */
} asup_event;

/* "spawn", "resume", ...; "unknown" for a bad type. */
ASUP_API const char *asup_event_type_name(uint32_t type);

/* A user event (tag and value are yours). 0, or -ASUP_ENOTASK. */
ASUP_API int asup_trace_user(asup_cx *cx, uint64_t tag, uint64_t value);

/*
 * Race declarations for combinators written outside the library. Begin
 * returns a race id (> 0; 0 when not tracing); declare each member, then end
 * with the winner (NULL: none won) after the losers were meant to be drained.
 * The loser-drain oracle reports every member, other than the winner, that
 * had not finished when the race ended. Member and end return 0 (also for
 * race 0, when not tracing), -EINVAL (NULL member, a race id never begun),
 * -ASUP_ENOTASK.
 */
ASUP_API uint64_t asup_trace_race_begin(asup_cx *cx, size_t members);
ASUP_API int asup_trace_race_member(asup_cx *cx, uint64_t race, const asup_task *member);
ASUP_API int asup_trace_race_end(asup_cx *cx, uint64_t race, const asup_task *winner);

#ifdef __cplusplus
}
#endif
#endif
