/*
 * asup-lab: run the lab's registered scenarios from the command line.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corpus.h"

static int list(void)
{
	size_t n;
	const asup_corpus_entry *e = asup_corpus_list(&n);
	for (size_t i = 0; i < n; i++)
		printf("%-24s %s\n", e[i].sc.name, e[i].sc.about);
	return 0;
}

int main(int argc, char **argv)
{
	const asup_corpus_entry *e;
	asup_lab_config cfg;
	asup_lab_result res;
	uint64_t seed = 1;

	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		printf("usage: asup-lab list | run SCENARIO [--seed N]\n");
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "list") == 0)
		return list();
	if (strcmp(argv[1], "run") != 0 || argc < 3) {
		fprintf(stderr, "asup-lab: unknown command '%s' (try --help)\n", argv[1]);
		return 2;
	}
	if (!(e = asup_corpus_find(argv[2]))) {
		fprintf(stderr, "asup-lab: unknown scenario '%s' (asup-lab list)\n", argv[2]);
		return 2;
	}
	if (argc >= 5 && strcmp(argv[3], "--seed") == 0)
		seed = strtoull(argv[4], NULL, 0);
	asup_corpus_config(e, seed, &cfg);
	if (asup_lab_run_scenario(&e->sc, &cfg, &res) < 0)
		return 1;
	printf("%s seed %" PRIu64 ": %s (%" PRIu64 " steps)\n", e->sc.name, seed,
	       res.failed ? "FAILED" : "ok", res.steps);
	if (res.violations)
		printf("%s: %s\n", res.first.oracle, res.first.message);
	return res.failed ? 1 : 0;
}
