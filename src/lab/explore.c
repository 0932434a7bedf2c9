/*
 * Exploration over the lab (asupersync/lab.h): single scenario runs, seed
 * sweeps, and systematic cancellation injection.
 *
 * A sweep counts distinct runs by their digests, kept in a sorted array (the
 * order is by digest bytes, so nothing depends on addresses).
 */
#include "asupersync/lab.h"

#include <stdlib.h>
#include <string.h>

#include "lab_internal.h"

ASUP_API int asup_lab_run_scenario(const asup_lab_scenario *sc, const asup_lab_config *cfg,
				   asup_lab_result *res)
{
	asup_lab *lab;
	asup_outcome out;
	int rc;

	if (!sc || !sc->root || !cfg || !res)
		return -EINVAL;
	rc = asup_lab_create(cfg, &lab);
	if (rc < 0)
		return rc;
	memset(&out, 0, sizeof(out));
	rc = asup_lab_run(lab, sc->root, sc->arg, &out);
	asup__lab_result(lab, rc, &out, res);
	asup_lab_destroy(lab);
	return 0;
}

typedef struct digest_set {
	uint8_t (*d)[16];
	size_t n, cap;
} digest_set;

/* Adds d if new (binary search in the sorted array). -ENOMEM. */
static int set_add(digest_set *s, const uint8_t d[16])
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = memcmp(s->d[mid], d, 16);
		if (c == 0)
			return 0;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		void *p = realloc(s->d, cap * 16);
		if (!p)
			return -ENOMEM;
		s->d = p;
		s->cap = cap;
	}
	memmove(s->d[lo + 1], s->d[lo], (s->n - lo) * 16);
	memcpy(s->d[lo], d, 16);
	s->n++;
	return 0;
}

static void note(asup_lab_sweep *out, uint64_t key, const asup_lab_result *r)
{
	if (!r->failed)
		return;
	if (out->failures++ == 0) {
		out->first_failing_seed = key;
		out->first_failure = *r;
	}
}

ASUP_API int asup_lab_explore(const asup_lab_scenario *sc, const asup_lab_config *cfg,
			      uint64_t first, uint64_t n, int stop_at_first, asup_lab_sweep *out)
{
	asup_lab_config c;
	asup_lab_result r;
	digest_set set = {NULL, 0, 0};
	int rc = 0;

	if (!sc || !cfg || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	c = *cfg;
	for (uint64_t i = 0; i < n; i++) {
		c.seed = first + i;
		rc = asup_lab_run_scenario(sc, &c, &r);
		if (rc < 0)
			break;
		out->runs++;
		if (set_add(&set, r.digest) < 0) {
			rc = -ENOMEM;
			break;
		}
		note(out, c.seed, &r);
		if (r.failed && stop_at_first)
			break;
	}
	out->distinct = set.n;
	free(set.d);
	return rc;
}

ASUP_API int asup_lab_inject_sweep(const asup_lab_scenario *sc, const asup_lab_config *cfg,
				   asup_lab_sweep *out)
{
	asup_lab_config c;
	asup_lab_result r;
	asup_lab *lab;
	asup_outcome o;
	digest_set set = {NULL, 0, 0};
	uint64_t total;
	int rc;

	if (!sc || !sc->root || !cfg || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	c = *cfg;
	c.inject_at = 0;
	rc = asup_lab_create(&c, &lab);
	if (rc < 0)
		return rc;
	rc = asup_lab_run(lab, sc->root, sc->arg, &o);
	total = asup_lab_checkpoints(lab);
	asup__lab_result(lab, rc, &o, &r);
	asup_lab_destroy(lab);
	if (r.failed) { /* the scenario fails even without a cancel */
		note(out, 0, &r);
		return 0;
	}
	for (uint64_t k = 1; k <= total && k <= UINT32_MAX; k++) {
		c.inject_at = (uint32_t)k;
		rc = asup_lab_run_scenario(sc, &c, &r);
		if (rc < 0)
			break;
		out->runs++;
		if (set_add(&set, r.digest) < 0) {
			rc = -ENOMEM;
			break;
		}
		note(out, k, &r);
	}
	out->distinct = set.n;
	free(set.d);
	return rc < 0 ? rc : 0;
}
