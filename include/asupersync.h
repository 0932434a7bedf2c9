/*
 * asupersync.h - structured concurrency for C.
 *
 * The umbrella header. Topic headers:
 *   asupersync/core.h  error codes, time values, outcome kinds
 *   asupersync/cancel.h budgets, cancel kinds and reasons
 *   asupersync/cx.h    capabilities, masks, cancel state, randomness
 *   asupersync/region.h regions, finalizers, join/race/hedge
 *   asupersync/obligation.h two-phase effects
 *   asupersync/select.h waiting for the first of several things
 *   asupersync/oneshot.h one value, once
 *   asupersync/broadcast.h a bounded ring every receiver reads
 *   asupersync/watch.h a versioned value receivers watch for changes
 *   asupersync/sync.h  mutex, rwlock, semaphore (permits as obligations),
 *                      notify, barrier, once cell
 *   asupersync/rt.h    the runtime object, modes, stepping
 *   asupersync/task.h  spawn, join, yield, checkpoint, panic
 *   asupersync/time.h  now, sleep, deadline scopes
 *   asupersync/ext.h   park/unpark and wait queues for writing primitives
 *   asupersync/trace.h trace events, user events, race declarations
 *   asupersync/lab.h   the lab: deterministic runs, replay, oracles, exploration
 */
#ifndef ASUPERSYNC_H
#define ASUPERSYNC_H

#include "asupersync/core.h"
#include "asupersync/cancel.h"
#include "asupersync/task.h"
#include "asupersync/cx.h"
#include "asupersync/region.h"
#include "asupersync/obligation.h"
#include "asupersync/chan.h"
#include "asupersync/select.h"
#include "asupersync/oneshot.h"
#include "asupersync/broadcast.h"
#include "asupersync/watch.h"
#include "asupersync/sync.h"
#include "asupersync/time.h"
#include "asupersync/rt.h"
#include "asupersync/ext.h"
#include "asupersync/trace.h"
#include "asupersync/lab.h"
#include "asupersync/net.h"
#include "asupersync/io.h"
#include "asupersync/post.h"
#include "asupersync/simnet.h"

#endif
