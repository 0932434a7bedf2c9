/* What the benchmark programs share: reading the process's memory figures. */
#ifndef ASUP_BENCH_H
#define ASUP_BENCH_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A "Key:   N kB" line of /proc/self/status (VmRSS:, VmHWM:, VmPTE:), in
 * KiB; -1 if it cannot be read. */
static inline long status_kb(const char *key)
{
	char line[256];
	long v = -1;
	size_t n = strlen(key);
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, key, n) == 0)
			v = strtol(line + n, NULL, 10);
	fclose(f);
	return v;
}

#endif
