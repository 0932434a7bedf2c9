/*
 * The registry of the scenario corpus (see corpus.h). Each scenario lives in
 * its own file and exports its entries; this table lists them in order.
 */
#include "corpus.h"

#include <string.h>

extern const asup_corpus_entry asup_corpus_lock_order[2];
extern const asup_corpus_entry asup_corpus_lost_wakeup[2];
extern const asup_corpus_entry asup_corpus_race_undrained[2];
extern const asup_corpus_entry asup_corpus_permit_leak[2];
extern const asup_corpus_entry asup_corpus_late_defer[2];
extern const asup_corpus_entry asup_corpus_lost_update[2];
extern const asup_corpus_entry asup_corpus_permit_futurelock[2];
extern const asup_corpus_entry asup_corpus_cancel_drop[2];
extern const asup_corpus_entry asup_corpus_net_no_deadline[2];
extern const asup_corpus_entry asup_corpus_net_dup_retry[2];
extern const asup_corpus_entry asup_corpus_net_reset_leak[2];
extern const asup_corpus_entry asup_corpus_net_short_read[2];

static const asup_corpus_entry *const groups[] = {
	asup_corpus_lock_order,
	asup_corpus_lost_wakeup,
	asup_corpus_race_undrained,
	asup_corpus_permit_leak,
	asup_corpus_late_defer,
	asup_corpus_lost_update,
	asup_corpus_permit_futurelock,
	asup_corpus_cancel_drop,
	asup_corpus_net_no_deadline,
	asup_corpus_net_dup_retry,
	asup_corpus_net_reset_leak,
	asup_corpus_net_short_read,
};
static const size_t group_len[] = {2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2};

static asup_corpus_entry table[64];
static size_t ntable;

static void build(void)
{
	if (ntable)
		return;
	for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++)
		for (size_t i = 0; i < group_len[g] && ntable < 64; i++)
			table[ntable++] = groups[g][i];
}

const asup_corpus_entry *asup_corpus_list(size_t *n)
{
	build();
	if (n)
		*n = ntable;
	return table;
}

const asup_corpus_entry *asup_corpus_find(const char *name)
{
	build();
	for (size_t i = 0; name && i < ntable; i++)
		if (strcmp(table[i].sc.name, name) == 0)
			return &table[i];
	return NULL;
}

void asup_corpus_config(const asup_corpus_entry *e, uint64_t seed, asup_lab_config *cfg)
{
	asup_lab_config_init(cfg);
	cfg->seed = seed;
	cfg->check_every_step = 1;
	if (e) {
		cfg->workers = e->workers ? e->workers : 1;
		cfg->chaos = e->chaos;
		if (e->futurelock_steps)
			cfg->futurelock_steps = e->futurelock_steps;
		if (e->net)
			e->net(&cfg->net);
	}
}

static int64_t join_masked(asup_cx *cx, void *arg)
{
	return asup_join(cx, arg, NULL);
}

/* The join runs masked: a caller that is itself being cancelled must still
 * wait for the task it stops (an unmasked join would return -ECANCELED at
 * once and leave the task running). */
int asup_corpus_stop(asup_cx *cx, asup_task *h)
{
	(void)!asup_task_abort(h); /* best effort */
	return (int)asup_cx_masked(cx, join_masked, h);
}

int asup_corpus_shared(asup_cx *cx, size_t size, void *out)
{
	asup_rref ref;
	int rc = asup_region_alloc(cx, size, &ref);

	if (rc < 0)
		return rc;
	memcpy(out, &ref.ptr, sizeof(void *));
	return 0;
}

int asup_corpus_bail(asup_cx *cx, int rc)
{
	(void)!asup_scope_cancel(cx, ASUP_CANCEL_USER, "the root stopped early"); /* best effort */
	return rc;
}

int asup_corpus_cancelled(const asup_outcome *o)
{
	return o->kind == ASUP_OUTCOME_CANCELLED ||
	       (o->kind == ASUP_OUTCOME_ERR && o->value == -ECANCELED);
}
