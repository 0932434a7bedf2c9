/*
 * asupersync/report.h - reports: how the runtime tells about a failure
 * nobody else would see.
 *
 * Five things are reported, each through the one hook of the runtime's
 * config (asup_rt_config.report, with report_ud):
 *
 *   TASK_FAILED      a task ended Err or Panicked and no one will read its
 *                    outcome: its handle was released, or it was never joined
 *                    before its region closed;
 *   OBLIGATION_LEAK  an obligation ended with its holder unresolved (under
 *                    the log and panic leak responses; silent and recover do
 *                    not report);
 *   DEADLOCK         asup_rt_run found every remaining task blocked: one
 *                    report per blocked task, naming what it waits on;
 *   RESOURCE_LEAK    a region closed (or the runtime was destroyed) with a
 *                    socket, file or signal watch of it still open: the
 *                    runtime closed it; `why` names the resource ("socket",
 *                    "file", "signal watch"), `value` its fd (-1 for a
 *                    signal watch, which has none of its own);
 *   STACK_OVERFLOW   a task ran past its stack. This one is written by the
 *                    fault handler with write(2) straight to fd 2 and does not
 *                    go through the hook: the handler can call only
 *                    async-signal-safe code, and the process dies right after.
 *
 * The hook runs on the thread driving the runtime, sometimes on the stack of
 * the task whose action caused the report, so it must not call suspending
 * functions or the runtime's API. The report and every string in it are
 * borrowed: valid only during the call. A NULL hook silences every report
 * (but the stack-overflow line). The default, asup_report_stderr, writes
 * `line` and a newline to stderr.
 */
#ifndef ASUPERSYNC_REPORT_H
#define ASUPERSYNC_REPORT_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum asup_report_kind {
	ASUP_REPORT_TASK_FAILED = 1,
	ASUP_REPORT_OBLIGATION_LEAK = 2,
	ASUP_REPORT_DEADLOCK = 3,
	ASUP_REPORT_STACK_OVERFLOW = 4, /* never delivered to the hook (see above) */
	ASUP_REPORT_RESOURCE_LEAK = 5,
} asup_report_kind;

typedef struct asup_report {
	asup_report_kind kind;
	const char *line;           /* the whole report as one line, no newline */
	uint64_t task_id;           /* the task concerned, or ASUP_ID_NONE */
	const char *task_name;      /* its name ("" when unnamed or none) */
	uint64_t region_id;         /* the task's (or obligation's) region */
	asup_outcome_kind outcome;  /* TASK_FAILED: ERR or PANICKED */
	int64_t value;              /* TASK_FAILED with ERR: the value returned */
	const char *panic_msg;      /* TASK_FAILED with PANICKED: the message */
	const char *why;            /* TASK_FAILED: "released" or "never joined";
	                               OBLIGATION_LEAK: the obligation kind;
	                               DEADLOCK: what the task waits on;
	                               RESOURCE_LEAK: the resource */
	uint32_t index, count;      /* DEADLOCK: this is blocked task index
	                               (from 1) of count */
} asup_report;

typedef void (*asup_report_fn)(void *ud, const asup_report *r);

/* The default hook: writes r->line and a newline to stderr. */
ASUP_API void asup_report_stderr(void *ud, const asup_report *r);

#ifdef __cplusplus
}
#endif
#endif
