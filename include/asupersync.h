/*
 * asupersync.h - structured concurrency for C.
 *
 * The umbrella header. Topic headers:
 *   asupersync/core.h  error codes, time values, outcomes
 *   asupersync/rt.h    the runtime object, modes, stepping
 *   asupersync/task.h  spawn, join, yield, checkpoint, panic
 *   asupersync/time.h  now, sleep, deadline scopes
 *   asupersync/ext.h   park/unpark and wait queues for writing primitives
 */
#ifndef ASUPERSYNC_H
#define ASUPERSYNC_H

#include "asupersync/core.h"
#include "asupersync/task.h"
#include "asupersync/time.h"
#include "asupersync/rt.h"
#include "asupersync/ext.h"

#endif
