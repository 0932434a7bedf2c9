/*
 * Seed sweeps of the two-phase primitives under the lab's oracles
 * (obligation leak, loser drain, cancellation protocol, quiescence, ...)
 * with chaos: cancels, delays, wake-up storms and budget exhaustion land at
 * seeded points, and each program checks its own conservation law (nothing
 * lost, nothing duplicated, mutual exclusion held). A failure prints its
 * seed; that seed replays it.
 */
#include "labtest.h"

#define SEEDS 60

static asup_lab_config chaos_config(uint32_t workers, int cancels)
{
	asup_lab_config cfg = lab_test_config(0, workers);
	cfg.chaos = asup_lab_chaos_light();
	cfg.chaos.storm_ppm = 100000;
	if (!cancels)
		cfg.chaos.cancel_ppm = cfg.chaos.budget_ppm = 0;
	return cfg;
}

/* ---- bounded channel with permits -------------------------------------- */

struct flow;

struct producer_arg {
	struct flow *f;
	int p;
};

/* Everything the tasks point at lives here, in the root's frame, which
 * outlives the region (a body that returns early must not leave its tasks
 * pointing into its own dead frame). */
struct flow {
	asup_chan *ch;
	struct producer_arg pa[4];
	int sent[4][16];      /* sent[p][i]: producer p's element i went in */
	int got[4][16];       /* times it came out */
};

static int64_t flow_producer(asup_cx *cx, void *arg)
{
	struct producer_arg *a = arg;
	int rc = 0;

	for (int i = 0; i < 16 && rc == 0; i++) {
		int64_t v = a->p * 16 + i;
		asup_permit pm;
		if (i % 3 == 0) {
			rc = asup_chan_send(cx, a->f->ch, &v);
		} else if ((rc = asup_chan_reserve(cx, a->f->ch, &pm)) == 0) {
			if (i % 5 == 0 && (rc = asup_yield(cx)) < 0) {
				asup_permit_abort(&pm); /* cancelled holding it: give it back */
				break;
			}
			rc = asup_permit_send(&pm, &v);
		}
		if (rc == 0)
			a->f->sent[a->p][i] = 1;
	}
	return rc == -ECANCELED || rc == -EPIPE ? 0 : rc;
}

/* A consumer that is cancelled closes the channel for sending, so that no
 * producer waits forever for room; what is queued stays receivable. */
static int64_t flow_consumer(asup_cx *cx, void *arg)
{
	struct flow *f = arg;
	int64_t v;
	int rc;

	while ((rc = asup_chan_recv(cx, f->ch, &v)) == 0)
		f->got[v / 16][v % 16]++;
	if (rc == -ECANCELED)
		asup_chan_close(f->ch);
	return rc == -EPIPE || rc == -ECANCELED ? 0 : rc;
}

static int64_t flow_body(asup_cx *cx, void *arg)
{
	struct flow *f = arg;
	struct producer_arg *pa = f->pa;
	asup_task prod[4], cons[2];
	int rc;

	for (int i = 0; i < 2; i++)
		if ((rc = asup_spawn(cx, flow_consumer, f, NULL, &cons[i])) < 0)
			return rc;
	for (int p = 0; p < 4; p++) {
		pa[p].f = f;
		pa[p].p = p;
		if ((rc = asup_spawn(cx, flow_producer, &pa[p], NULL, &prod[p])) < 0)
			return rc;
	}
	for (int p = 0; p < 4; p++)
		if ((rc = asup_join(cx, &prod[p], NULL)) < 0)
			return rc;
	asup_chan_close(f->ch);
	for (int i = 0; i < 2; i++)
		if ((rc = asup_join(cx, &cons[i], NULL)) < 0)
			return rc;
	return 0;
}

static int64_t flow_root(asup_cx *cx, void *arg)
{
	struct flow f;
	asup_outcome o;
	int64_t v;

	(void)arg;
	memset(&f, 0, sizeof f);
	/* The channel belongs to this scope, so it outlives the region whose
	 * tasks use it and can be drained after that region closed. */
	if (asup_chan_open(cx, sizeof(int64_t), 3, &f.ch) < 0)
		return -100;
	if (asup_region(cx, flow_body, &f, &o) < 0)
		return -100;
	/* What is still queued (consumers cancelled early) counts as received. */
	while (f.ch && asup_chan_try_recv(f.ch, &v) == 0)
		f.got[v / 16][v % 16]++;
	for (int p = 0; p < 4; p++)
		for (int i = 0; i < 16; i++)
			if (f.got[p][i] > 1 || (f.got[p][i] == 1) != (f.sent[p][i] == 1))
				return -(1000 + p * 16 + i); /* lost or duplicated */
	return 0;
}

TEST(mpsc_with_permits_loses_and_duplicates_nothing_under_chaos)
{
	for (uint32_t w = 1; w <= 3; w += 2) {
		asup_lab_config cfg = chaos_config(w, 0);
		CHECK_EQ(lab_sweep("mpsc", flow_root, NULL, &cfg, 1, SEEDS), 0);
		cfg = chaos_config(w, 1);
		CHECK_EQ(lab_sweep("mpsc+cancel", flow_root, NULL, &cfg, 1000, SEEDS), 0);
	}
}

/* ---- mutex ------------------------------------------------------------- */

struct counter {
	asup_mutex m;
	int inside, done, value;
};

static int64_t incrementer(asup_cx *cx, void *arg)
{
	struct counter *c = arg;
	int rc;

	for (int i = 0; i < 6; i++) {
		if ((rc = asup_mutex_lock(cx, &c->m)) < 0)
			return rc == -ECANCELED ? 0 : rc;
		if (c->inside++)
			return -77; /* two holders at once */
		int v = c->value;
		(void)!asup_yield(cx); /* a cancel here is seen after the unlock */
		c->value = v + 1;
		c->inside--;
		c->done++;
		asup_mutex_unlock(cx, &c->m);
	}
	return 0;
}

/* The tasks run in a region of the root's: the state they share lives in
 * the root's frame, which outlives that region even when its body stops
 * early (a cancelled join returns at once, its tasks still finishing). */
static int64_t counter_body(asup_cx *cx, void *arg)
{
	struct counter *c = arg;
	asup_task h[4];
	asup_outcome o[4];
	int rc;

	for (int i = 0; i < 4; i++)
		if ((rc = asup_spawn(cx, incrementer, c, NULL, &h[i])) < 0)
			return rc;
	if ((rc = asup_join_all(cx, h, 4, o)) < 0)
		return rc;
	for (int i = 0; i < 4; i++)
		if (o[i].kind == ASUP_OUTCOME_ERR)
			return o[i].value;
	return 0;
}

static int64_t counter_root(asup_cx *cx, void *arg)
{
	struct counter c;
	asup_outcome o;
	int rc;

	(void)arg;
	memset(&c, 0, sizeof c);
	asup_mutex_init(&c.m);
	if ((rc = asup_region(cx, counter_body, &c, &o)) < 0)
		return rc;
	if (o.kind == ASUP_OUTCOME_ERR && o.value != -ECANCELED)
		return o.value;
	return c.value == c.done && !asup_mutex_is_locked(&c.m) ? 0 : -3;
}

TEST(mutex_keeps_mutual_exclusion_and_loses_no_update_under_chaos)
{
	asup_lab_config cfg = chaos_config(2, 0);
	CHECK_EQ(lab_sweep("mutex", counter_root, NULL, &cfg, 1, SEEDS), 0);
	cfg = chaos_config(2, 1);
	CHECK_EQ(lab_sweep("mutex+cancel", counter_root, NULL, &cfg, 1000, SEEDS), 0);
}

/* ---- races ------------------------------------------------------------- */

static int64_t racer(asup_cx *cx, void *arg)
{
	uint64_t d;
	(void)arg;
	if (asup_random_below(cx, 50, &d) < 0)
		return -1;
	for (uint64_t i = 0; i < d % 5; i++)
		if (asup_yield(cx) < 0)
			return -ECANCELED;
	return asup_sleep(cx, ASUP_USEC(d)) < 0 ? -ECANCELED : (int64_t)d;
}

static int64_t race_root(asup_cx *cx, void *arg)
{
	asup_task h[5];
	asup_outcome o;
	size_t winner;
	int rc;

	(void)arg;
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 5; i++)
			if (asup_spawn(cx, racer, NULL, NULL, &h[i]) < 0)
				return -1;
		rc = asup_race_all(cx, h, 5, &o, &winner);
		if (rc < 0 && rc != -ECANCELED)
			return rc;
		/* Every handle was consumed: the losers were drained. */
		for (int i = 0; i < 5; i++)
			if (asup_task_try_join(&h[i], NULL) != -ASUP_EJOINED)
				return -2;
	}
	return 0;
}

TEST(race_all_drains_every_loser_under_chaos)
{
	asup_lab_config cfg = chaos_config(3, 1);
	CHECK_EQ(lab_sweep("race_all", race_root, NULL, &cfg, 1, SEEDS), 0);
}

/* ---- semaphore and rwlock ---------------------------------------------- */

struct pool {
	asup_semaphore sem;
	asup_rwlock rw;
	int in_use, max_in_use;   /* semaphore permits held */
	int readers, writers;     /* rwlock holders */
	int64_t shared;
};

static int64_t pool_user(asup_cx *cx, void *arg)
{
	struct pool *pl = arg;
	asup_semaphore_permit p;
	uint64_t r;
	int rc;

	for (int i = 0; i < 4; i++) {
		if ((rc = asup_random_below(cx, 2, &r)) < 0)
			return rc;
		if ((rc = asup_semaphore_acquire(cx, &pl->sem, 1 + r, &p)) < 0)
			return rc == -ECANCELED ? 0 : rc;
		pl->in_use += 1 + (int)r;
		if (pl->in_use > pl->max_in_use)
			pl->max_in_use = pl->in_use;
		(void)!asup_yield(cx); /* a cancel is seen at the next acquire */
		pl->in_use -= 1 + (int)r;
		if ((rc = asup_semaphore_permit_release(&p)) < 0)
			return rc;

		if ((rc = (i % 2 ? asup_rwlock_write(cx, &pl->rw) : asup_rwlock_read(cx, &pl->rw))) < 0)
			return rc == -ECANCELED ? 0 : rc;
		if (i % 2) {
			if (pl->writers++ || pl->readers)
				return -EPROTO;
			int64_t v = pl->shared;
			(void)!asup_yield(cx); /* a cancel is seen at the next lock */
			pl->shared = v + 1;
			pl->writers--;
			rc = asup_rwlock_write_unlock(cx, &pl->rw);
		} else {
			if (pl->writers)
				return -EPROTO;
			pl->readers++;
			(void)!asup_yield(cx); /* as above */
			pl->readers--;
			rc = asup_rwlock_read_unlock(cx, &pl->rw);
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int64_t pool_body(asup_cx *cx, void *arg)
{
	asup_task h[5];
	asup_outcome o[5];
	int rc;

	for (int i = 0; i < 5; i++)
		if ((rc = asup_spawn(cx, pool_user, arg, NULL, &h[i])) < 0)
			return rc;
	if ((rc = asup_join_all(cx, h, 5, o)) < 0)
		return rc;
	for (int i = 0; i < 5; i++)
		if (o[i].kind == ASUP_OUTCOME_ERR)
			return o[i].value;
	return 0;
}

static int64_t pool_root(asup_cx *cx, void *arg)
{
	struct pool pl;
	asup_outcome o;
	int rc;

	(void)arg;
	memset(&pl, 0, sizeof pl);
	asup_semaphore_init(&pl.sem, 3);
	asup_rwlock_init(&pl.rw);
	if ((rc = asup_region(cx, pool_body, &pl, &o)) < 0)
		return rc;
	if (o.kind == ASUP_OUTCOME_ERR && o.value != -ECANCELED)
		return o.value;
	if (pl.max_in_use > 3 || asup_semaphore_available(&pl.sem) != 3)
		return -EPROTO; /* over-granted, or a permit was lost */
	return 0;
}

TEST(semaphore_permits_and_rwlock_hold_their_laws_under_chaos)
{
	for (uint32_t w = 1; w <= 3; w += 2) {
		asup_lab_config cfg = chaos_config(w, 0);
		CHECK_EQ(lab_sweep("semaphore+rwlock", pool_root, NULL, &cfg, 1, SEEDS), 0);
		cfg = chaos_config(w, 1);
		CHECK_EQ(lab_sweep("semaphore+rwlock+cancel", pool_root, NULL, &cfg, 1000, SEEDS), 0);
	}
}
