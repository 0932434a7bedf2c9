/*
 * Recordings and replay (asupersync/lab.h): saving a lab's recorded steps
 * with the config that shaped them, loading and decoding recordings, the
 * config they restore, following one, and the verdict of a finished run
 * (which exploration and the CLI share).
 */
#include <stdlib.h>
#include <string.h>

#include "lab_internal.h"

#define heap asup__lab_heap

/* ---- recording and replay ---------------------------------------------- */

static void hdr_from_cfg(asup__replay_hdr *h, const asup_lab_config *c, const char *name)
{
	memset(h, 0, sizeof(*h));
	h->seed = c->seed;
	h->workers = c->workers;
	h->flags = (c->auto_advance ? 1u : 0u) | (c->inject_root ? 2u : 0u) |
		   (c->stop_on_violation ? 0u : 4u) |
		   (((uint32_t)c->leak_response ^ ASUP_LEAK_SILENT) & 3u) << 3;
	h->max_steps = c->max_steps;
	h->futurelock_steps = c->futurelock_steps;
	h->chaos[0] = c->chaos.cancel_ppm;
	h->chaos[1] = c->chaos.delay_ppm;
	h->chaos[2] = c->chaos.storm_ppm;
	h->chaos[3] = c->chaos.storm_max;
	h->chaos[4] = c->chaos.budget_ppm;
	h->inject_at = c->inject_at;
	h->inject_kind = (uint32_t)c->inject_kind;
	h->net = c->net;
	if (name)
		snprintf(h->name, sizeof h->name, "%s", name);
}

ASUP_API int asup_lab_save(const asup_lab *lab, const char *path, const char *name)
{
	asup__recording r;

	if (!lab || !path)
		return -EINVAL;
	if (lab->rec.oom)
		return -ENOMEM; /* a step is missing: the file would lie */
	r = lab->rec;
	hdr_from_cfg(&r.hdr, &lab->cfg, name);
	asup__digest_final(&lab->dg, r.digest);
	return asup__rec_save(&r, path);
}

static int replay_new(asup_lab_replay **out)
{
	asup_lab_replay *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->alloc = heap;
	asup__rec_init(&r->rec, &r->alloc);
	*out = r;
	return 0;
}

ASUP_API int asup_lab_replay_load(const char *path, asup_lab_replay **out, const char **why)
{
	asup_lab_replay *r;
	const char *w = NULL;
	int rc;

	if (why)
		*why = NULL;
	if (!path || !out)
		return -EINVAL;
	if ((rc = replay_new(&r)) < 0)
		return rc;
	rc = asup__rec_load(&r->rec, path, &w);
	if (why)
		*why = w;
	if (rc < 0) {
		asup_lab_replay_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

ASUP_API int asup_lab_replay_decode(const void *buf, size_t len, asup_lab_replay **out,
				    const char **why)
{
	asup_lab_replay *r;
	const char *w = NULL;
	int rc;

	if (why)
		*why = NULL;
	if (!out || (!buf && len))
		return -EINVAL;
	if ((rc = replay_new(&r)) < 0)
		return rc;
	rc = asup__rec_decode(&r->rec, buf, len, &w);
	if (why)
		*why = w;
	if (rc < 0) {
		asup_lab_replay_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

ASUP_API void asup_lab_replay_free(asup_lab_replay *r)
{
	if (!r)
		return;
	asup__rec_destroy(&r->rec);
	free(r);
}

ASUP_API int asup_lab_replay_config(const asup_lab_replay *r, asup_lab_config *cfg)
{
	const asup__replay_hdr *h;

	if (!r || !cfg)
		return -EINVAL;
	h = &r->rec.hdr;
	asup_lab_config_init(cfg);
	cfg->seed = h->seed;
	cfg->workers = h->workers;
	cfg->auto_advance = (int)(h->flags & 1);
	cfg->inject_root = (int)((h->flags >> 1) & 1);
	cfg->stop_on_violation = !((h->flags >> 2) & 1);
	cfg->leak_response = (asup_leak_response)(((h->flags >> 3) & 3u) ^ ASUP_LEAK_SILENT);
	cfg->max_steps = h->max_steps ? h->max_steps : cfg->max_steps;
	cfg->futurelock_steps = h->futurelock_steps;
	cfg->chaos.cancel_ppm = h->chaos[0];
	cfg->chaos.delay_ppm = h->chaos[1];
	cfg->chaos.storm_ppm = h->chaos[2];
	cfg->chaos.storm_max = h->chaos[3];
	cfg->chaos.budget_ppm = h->chaos[4];
	cfg->inject_at = h->inject_at;
	cfg->inject_kind = (asup_cancel_kind)h->inject_kind;
	cfg->net = h->net;
	return 0;
}

ASUP_API const char *asup_lab_replay_name(const asup_lab_replay *r)
{
	return r ? r->rec.hdr.name : NULL;
}

ASUP_API uint64_t asup_lab_replay_steps(const asup_lab_replay *r)
{
	return r ? r->rec.n : 0;
}

ASUP_API int asup_lab_follow(asup_lab *lab, const asup_lab_replay *r)
{
	if (!lab || !r)
		return -EINVAL;
	if (lab->ran || lab->steps)
		return -EALREADY;
	if (r->rec.hdr.workers != lab->cfg.workers)
		return -EINVAL;
	lab->follow = &r->rec;
	return 0;
}

ASUP_API int asup_lab_divergence(const asup_lab *lab, uint64_t *step)
{
	if (!lab)
		return -EINVAL;
	if (!lab->diverged && lab->follow) {
		uint8_t d[16];
		asup__digest_final(&lab->dg, d);
		if (lab->steps == lab->follow->n && memcmp(d, lab->follow->digest, 16) == 0)
			return 0;
		if (step)
			*step = lab->steps;
		return 1;
	}
	if (lab->diverged && step)
		*step = lab->div_step;
	return lab->diverged;
}

/* ---- the verdict of a run ------------------------------------------------ */

void asup__lab_result(const asup_lab *lab, int rc, const asup_outcome *o, asup_lab_result *res)
{
	memset(res, 0, sizeof(*res));
	res->rc = rc;
	if (o)
		res->outcome = *o;
	res->steps = lab->steps;
	asup__digest_final(&lab->dg, res->digest);
	res->violations = lab->oracle.nviolations;
	res->stopped = lab->stop;
	if (res->violations)
		asup_lab_violation_get(lab, 0, &res->first);
	/* A root that returned an error fails the run; so does a cancelled
	 * one, unless the lab injected a cancel (then ending Cancelled, or Err
	 * with -ECANCELED passed up from a cancelled child, is a clean end). */
	switch (res->outcome.kind) {
	case ASUP_OUTCOME_OK:
		res->failed = 0;
		break;
	case ASUP_OUTCOME_ERR:
		res->failed = !(lab->injected && res->outcome.value == -ECANCELED);
		break;
	case ASUP_OUTCOME_CANCELLED:
		res->failed = !lab->injected;
		break;
	default:
		res->failed = 1;
		break;
	}
	if (rc != 0)
		res->failed = 1;
}

ASUP_API int asup_lab_result_get(const asup_lab *lab, int rc, const asup_outcome *out,
				 asup_lab_result *res)
{
	if (!lab || !res || !lab->ran)
		return -EINVAL;
	asup__lab_result(lab, rc, out, res);
	return 0;
}
