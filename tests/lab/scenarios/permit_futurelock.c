/*
 * Planted bug: a futurelock through a held send permit.
 *
 * A request handler answers through an outbound channel (capacity 1) read
 * by a writer. To be sure it can always answer, it reserves its slot first
 * and then waits for the backend's reply. The backend, before replying,
 * publishes a status message on the same outbound channel. When the handler
 * reserves first, it holds the only slot: the backend waits for room that
 * only the handler's answer would make, and the handler waits for a reply
 * the backend sends only after that room. The rest of the program (a
 * heartbeat ticking on a timer) carries on, so this is not a deadlock of the
 * whole runtime; it is a task holding an obligation and never running
 * again, which the futurelock oracle reports after K steps (K = 100 here).
 * When the backend publishes first, the writer drains its status and the
 * exchange completes.
 *
 * Found by: futurelock (K = 100 steps). Measured (exploration from seed 1,
 * one worker): seed 1 is the first failing seed; 98 of seeds
 * 1-200 fail. Documented bound: 12 seeds.
 *
 * Twin: the handler waits for the reply first and reserves only when it has
 * something to send.
 */
#include "corpus.h"

struct service {
	asup_chan *out;   /* handler and backend -> writer, capacity 1 */
	asup_chan *reply; /* backend -> handler, capacity 1 */
	int done;         /* tells the heartbeat to stop */
	int fixed;
};

/* A task that stops early (a cancel, or a partner gone) closes both channels
 * on both sides, so that no other task waits for what it will not send or
 * take: they get -EPIPE and stop too. */
static int64_t ended(struct service *s, int64_t rc)
{
	if (rc < 0) {
		asup_chan_close(s->out);
		asup_chan_close_recv(s->out);
		asup_chan_close(s->reply);
		asup_chan_close_recv(s->reply);
	}
	return rc;
}

static int64_t handle(asup_cx *cx, struct service *s)
{
	asup_permit p;
	int64_t v;
	int rc;

	if (!s->fixed && (rc = asup_chan_reserve(cx, s->out, &p)) < 0)
		return rc; /* the bug: a slot held across the wait below */
	if ((rc = asup_chan_recv(cx, s->reply, &v)) < 0) {
		if (!s->fixed)
			asup_permit_abort(&p);
		return rc;
	}
	if (s->fixed && (rc = asup_chan_reserve(cx, s->out, &p)) < 0)
		return rc;
	v += 1000; /* the answer: the reply, marked as the handler's */
	return asup_permit_send(&p, &v);
}

static int64_t handler(asup_cx *cx, void *arg)
{
	return ended(arg, handle(cx, arg));
}

static int64_t serve(asup_cx *cx, struct service *s)
{
	int64_t status = 1, v = 2;
	int rc;

	if ((rc = asup_chan_send(cx, s->out, &status)) < 0)
		return rc;
	return asup_chan_send(cx, s->reply, &v);
}

static int64_t backend(asup_cx *cx, void *arg)
{
	return ended(arg, serve(cx, arg));
}

static int64_t write_out(asup_cx *cx, struct service *s)
{
	int64_t v, sum = 0;
	int rc;

	for (int i = 0; i < 2; i++) {
		if ((rc = asup_chan_recv(cx, s->out, &v)) < 0)
			return rc;
		sum += v;
	}
	return sum;
}

static int64_t writer(asup_cx *cx, void *arg)
{
	return ended(arg, write_out(cx, arg));
}

static int64_t heartbeat(asup_cx *cx, void *arg)
{
	struct service *s = arg;
	int64_t beats = 0;
	int rc;

	while (!s->done) {
		if ((rc = asup_sleep(cx, 1000000)) < 0)
			return rc;
		beats++;
	}
	return beats;
}

static int64_t run(asup_cx *cx, int fixed)
{
	struct service *s; /* in the region heap: the tasks outlive an early return */
	asup_task_fn fns[4] = {handler, backend, writer, heartbeat};
	asup_task h[4];
	asup_outcome o[3];
	int rc;

	if ((rc = asup_corpus_shared(cx, sizeof(*s), &s)) < 0)
		return rc;
	s->fixed = fixed;
	if ((rc = asup_chan_open(cx, sizeof(int64_t), 1, &s->out)) < 0 ||
	    (rc = asup_chan_open(cx, sizeof(int64_t), 1, &s->reply)) < 0)
		return rc;
	for (int i = 0; i < 4; i++)
		if ((rc = asup_spawn(cx, fns[i], s, NULL, &h[i])) < 0)
			return asup_corpus_bail(cx, rc);
	rc = asup_join_all(cx, h, 3, o);
	s->done = 1;
	if (rc < 0 || (rc = asup_join(cx, &h[3], NULL)) < 0)
		return asup_corpus_bail(cx, rc);
	for (int i = 0; i < 3; i++)
		if (asup_corpus_cancelled(&o[i]))
			return -ECANCELED; /* an injected cancel stopped the exchange */
	for (int i = 0; i < 3; i++)
		if (o[i].kind != ASUP_OUTCOME_OK)
			return -1;
	return o[2].value == 1 + 1002 ? 0 : -1; /* the status and the answer */
}

static int64_t buggy(asup_cx *cx, void *arg)
{
	(void)arg;
	return run(cx, 0);
}

static int64_t fixed(asup_cx *cx, void *arg)
{
	(void)arg;
	return run(cx, 1);
}

const asup_corpus_entry asup_corpus_permit_futurelock[2] = {
	{.sc = {"permit_futurelock",
		"a handler holds the channel's only slot while waiting for the backend", buggy,
		NULL},
	 .buggy = 1,
	 .twin = "permit_futurelock_fixed",
	 .oracle = "futurelock",
	 .seeds = 12,
	 .futurelock_steps = 100},
	{.sc = {"permit_futurelock_fixed", "the handler reserves only once it has the reply",
		fixed, NULL},
	 .twin = "permit_futurelock",
	 .futurelock_steps = 100},
};
