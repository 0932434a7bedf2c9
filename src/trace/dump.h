/*
 * The task dump and the deadlock report (trace layer): read-only views of the
 * kernel's region tree and task records. The runtime layer calls them.
 */
#ifndef ASUP_TRACE_DUMP_H
#define ASUP_TRACE_DUMP_H

#include <stdio.h>

#include "../kernel/kernel.h"

/* Prints the region tree with its tasks to f (see asup_rt_dump). 0 or -EIO. */
int asup__dump_tree(const asup__kernel *k, FILE *f);
/* One DEADLOCK report per live task through the kernel's report hook.
 * Returns the number of tasks reported. */
uint32_t asup__dump_deadlock(const asup__kernel *k);

#endif
