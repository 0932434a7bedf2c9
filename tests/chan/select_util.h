/* Helpers shared by the select tests: runtimes, and the residue checks
 * (the channels' wait queues, joiner lists, armed timers, reservations). */
#ifndef ASUP_TEST_SELECT_UTIL_H
#define ASUP_TEST_SELECT_UTIL_H

#include "testrt.h"

#include "chan/chan_internal.h"
#include "kernel/kernel.h"

static asup_rt *cur_rt; /* the runtime the running test drives */

static inline asup_rt *mk(asup_mode mode, uint64_t seed)
{
	asup_rt_config cfg;
	asup_rt_config_init(&cfg);
	cfg.mode = mode;
	cfg.seed = seed;
	cfg.leak_response = ASUP_LEAK_SILENT;
	return test_rt_cfg(&cfg);
}

static inline void run_on(asup_rt *rt, asup_task_fn fn, void *arg)
{
	asup_outcome o;
	cur_rt = rt;
	CHECK_EQ(asup_rt_run(rt, fn, arg, &o), 0);
	if (o.kind != ASUP_OUTCOME_OK)
		fprintf(stderr, "outcome %s %lld\n", asup_outcome_kind_name(o.kind), (long long)o.value);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	test_rt_done(rt);
}

static inline void run(asup_task_fn fn)
{
	run_on(mk(ASUP_MODE_DETERMINISTIC, 1), fn, NULL);
}

/* ---- residue checks and waiting helpers ---- */

static inline void no_waiters(asup_chan *ch)
{
	size_t res, rcv;
	asup__chan_waiting(ch, &res, &rcv);
	CHECK_EQ(res, 0);
	CHECK_EQ(rcv, 0);
}

static inline void no_joiners(asup_task *h)
{
	asup__ktask *kt;
	CHECK_EQ(asup__handle_resolve(h, &kt), 0);
	CHECK(asup__list_empty(&kt->joiners));
}

static inline uint32_t timers_armed(void)
{
	asup_rt_stats st;
	CHECK_EQ(asup_rt_stats_get(cur_rt, &st), 0);
	return st.timers_armed;
}

static inline size_t reserved(asup_chan *ch)
{
	asup_chan_stats st;
	CHECK_EQ(asup_chan_stats_get(ch, &st), 0);
	return st.reserved;
}

static inline size_t queued(asup_chan *ch)
{
	asup_chan_stats st;
	CHECK_EQ(asup_chan_stats_get(ch, &st), 0);
	return st.queued;
}

/* Yields until ch has at least nres waiting reservers and nrcv receivers. */
static inline void wait_queued(asup_cx *cx, asup_chan *ch, size_t nres, size_t nrcv)
{
	for (int i = 0; i < 100000; i++) {
		size_t res, rcv;
		asup__chan_waiting(ch, &res, &rcv);
		if (res >= nres && rcv >= nrcv)
			return;
		CHECK_EQ(asup_yield(cx), 0);
	}
	CHECK(!"the waiters never queued");
}

static inline void wait_parked(asup_cx *cx, asup_task *h)
{
	for (int i = 0; i < 100000; i++) {
		if (((asup__ktask *)h->_rec)->t.state == ASUP__T_PARKED)
			return;
		CHECK_EQ(asup_yield(cx), 0);
	}
	CHECK(!"the task never parked");
}

static inline asup_chan *open_int(asup_cx *cx, size_t cap)
{
	asup_chan *ch;
	CHECK_EQ(asup_chan_open(cx, sizeof(int), cap, &ch), 0);
	return ch;
}

/* A task that returns the value it receives from the channel arg. */
static inline int64_t gated(asup_cx *cx, void *arg)
{
	int v, rc = asup_chan_recv(cx, arg, &v);
	return rc < 0 ? rc : v;
}

static inline int64_t send_seven(asup_cx *cx, void *arg)
{
	int v = 7;
	return asup_chan_send(cx, arg, &v);
}

#endif
