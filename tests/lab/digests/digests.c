/*
 * Prints the lab digest of tests/lab/rich.h under several seeds, worker
 * counts and chaos settings. tools/lab-digest-check.sh builds this together
 * with the library's sources under different compilers and optimisation
 * levels and checks that every build prints the same lines.
 */
#include <stdio.h>

#include "rich.h"

int main(void)
{
	for (uint64_t seed = 1; seed <= 6; seed++) {
		asup_lab_config cfg;
		asup_lab *lab;
		asup_outcome o;
		char hex[33];
		int rc;

		asup_lab_config_init(&cfg);
		cfg.seed = seed;
		cfg.workers = (uint32_t)(1 + seed % 3);
		if (seed > 3)
			cfg.chaos = asup_lab_chaos_heavy();
		if (asup_lab_create(&cfg, &lab) < 0)
			return 1;
		rc = asup_lab_run(lab, rich_root, NULL, &o);
		asup_lab_digest_hex(lab, hex);
		printf("seed %llu workers %u rc %d outcome %s value %lld steps %llu digest %s\n",
		       (unsigned long long)seed, cfg.workers, rc, asup_outcome_kind_name(o.kind),
		       (long long)o.value, (unsigned long long)asup_lab_steps(lab), hex);
		asup_lab_destroy(lab);
	}
	return 0;
}
