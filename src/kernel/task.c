/*
 * Task records, the cx, spawn, join, abort, yield, panic (see kernel.h for the
 * record lifecycle and invariants).
 *
 * Records are recycled through a free list, so after warm-up spawn and join
 * never allocate. A record is freed only by the one who consumes its outcome
 * (join, try_join, release) or by runtime teardown; everyone else re-finds it
 * by id after every suspension, since it may have been recycled meanwhile.
 */
#include "kernel.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define H_CONSUMED 1u /* this handle was joined or released */

static void *default_zero(asup__kernel *k, size_t n)
{
	void *p = asup__alloc_mem(&k->alloc, n);
	if (p)
		memset(p, 0, n);
	return p;
}

int asup__kernel_init(asup__kernel *k, const asup__alloc *a, asup__sched *s)
{
	memset(k, 0, sizeof(*k));
	k->alloc = *a;
	k->sched = s;
	asup__arena_init(&k->tasks, &k->alloc);
	asup__list_init(&k->free_recs);
	return 0;
}

void asup__kernel_destroy(asup__kernel *k)
{
	asup__list *n;

	for (uint32_t i = 0; i < k->tasks.len; i++) {
		asup__ktask *kt = k->tasks.slot[i].ptr;
		if (!kt)
			continue;
		asup__sched_discard(k->sched, &kt->t);
		kt->cx.magic = 0;
		if (kt->panic_msg)
			asup__free_mem(&k->alloc, kt->panic_msg, ASUP_PANIC_MSG_MAX);
		asup__free_mem(&k->alloc, kt, sizeof(*kt));
	}
	while ((n = asup__list_pop_front(&k->free_recs)) != NULL)
		asup__free_mem(&k->alloc, asup__container_of(n, asup__ktask, free_link),
			       sizeof(asup__ktask));
	asup__arena_destroy(&k->tasks);
}

/* ---- records ----------------------------------------------------------- */

static asup__ktask *rec_alloc(asup__kernel *k)
{
	asup__list *n = asup__list_pop_front(&k->free_recs);
	asup__ktask *kt;

	if (n) {
		k->nfree--;
		kt = asup__container_of(n, asup__ktask, free_link);
	} else {
		kt = default_zero(k, sizeof(*kt));
		if (!kt)
			return NULL;
		asup__list_init(&kt->free_link);
	}
	kt->in_use = 1;
	return kt;
}

static void rec_free(asup__kernel *k, asup__ktask *kt)
{
	asup__arena_remove(&k->tasks, kt->id);
	kt->in_use = 0;
	kt->cx.magic = 0;
	kt->t.gen++; /* outstanding wakers go stale */
	if (kt->panic_msg) {
		asup__free_mem(&k->alloc, kt->panic_msg, ASUP_PANIC_MSG_MAX);
		kt->panic_msg = NULL;
	}
	asup__list_push_front(&k->free_recs, &kt->free_link);
	k->nfree++;
}

static void finish(asup__kernel *k, asup__ktask *kt, asup_outcome_kind kind, int64_t value)
{
	kt->kind = kind;
	kt->value = value;
	k->live--;
	k->completed++;
	asup__waitq_wake_all(&kt->joiners);
}

void asup__kernel_task_main(asup__kernel *k, asup__task *t)
{
	asup__ktask *kt = asup__ktask_of(t);
	int64_t v = kt->fn(&kt->cx, kt->arg);
	finish(k, kt, v >= 0 ? ASUP_OUTCOME_OK : ASUP_OUTCOME_ERR, v);
}

void asup__kernel_task_exited(asup__kernel *k, asup__task *t)
{
	asup__ktask *kt = asup__ktask_of(t);
	if (kt->released)
		rec_free(k, kt);
}

void asup__kernel_task_start_failed(asup__kernel *k, asup__task *t, int rc)
{
	asup__ktask *kt = asup__ktask_of(t);
	finish(k, kt, ASUP_OUTCOME_ERR, rc);
	if (kt->released)
		rec_free(k, kt);
}

/* ---- spawn ------------------------------------------------------------- */

ASUP_API void asup_spawn_opts_init(asup_spawn_opts *opts)
{
	if (!opts)
		return;
	memset(opts, 0, sizeof(*opts));
	opts->priority = ASUP_PRIORITY_DEFAULT;
}

int asup__kernel_spawn(asup__kernel *k, asup_task_fn fn, void *arg,
		       const asup_spawn_opts *opts, asup_task *out)
{
	size_t stack = 0;
	asup__ktask *kt;
	uint64_t id;
	int rc;

	if (!fn || !out)
		return -EINVAL;
	if (opts && opts->stack_size && !(stack = asup__stack_round(opts->stack_size)))
		return -EINVAL;
	kt = rec_alloc(k);
	if (!kt)
		return -ENOMEM;
	if (asup__arena_insert(&k->tasks, kt, &id) < 0) {
		kt->in_use = 0;
		asup__list_push_front(&k->free_recs, &kt->free_link);
		k->nfree++;
		return -ENOMEM;
	}
	kt->id = id;
	kt->fn = fn;
	kt->arg = arg;
	kt->released = 0;
	kt->cx.magic = ASUP__CX_MAGIC;
	kt->cx.k = k;
	kt->cx.kt = kt;
	kt->cx.deadline = ASUP_TIME_MAX;
	kt->kind = ASUP_OUTCOME_OK;
	kt->value = 0;
	asup__list_init(&kt->joiners);
	kt->t.priority = opts ? opts->priority : ASUP_PRIORITY_DEFAULT;
	kt->t.cancel_priority = ASUP__CANCEL_PRIORITY_USER;
	kt->t.interrupt = 0;
	kt->t.masked = 0;
	kt->t.stack_size = stack;
	kt->t.index = ASUP__ID_INDEX(id);
	kt->t.name[0] = '\0';
	if (opts && opts->name) {
		strncpy(kt->t.name, opts->name, ASUP__NAME_MAX - 1);
		kt->t.name[ASUP__NAME_MAX - 1] = '\0';
	}
	rc = asup__sched_admit(k->sched, &kt->t);
	if (rc < 0) {
		rec_free(k, kt);
		return rc;
	}
	k->live++;
	k->spawned++;
	out->_k = k;
	out->_id = id;
	out->_flags = 0;
	return 0;
}

/* ---- the cx ------------------------------------------------------------ */

ASUP_API int asup_checkpoint(asup_cx *cx)
{
	return asup__cx_checkpoint(cx);
}

ASUP_API int asup_spawn(asup_cx *cx, asup_task_fn fn, void *arg, const asup_spawn_opts *opts,
			asup_task *out)
{
	if (!asup__cx_self(cx))
		return -ASUP_ENOTASK;
	return asup__kernel_spawn(cx->k, fn, arg, opts, out);
}

ASUP_API uint64_t asup_cx_task_id(asup_cx *cx)
{
	asup__ktask *kt = asup__cx_self(cx);
	return kt ? kt->id : 0;
}

ASUP_API const char *asup_cx_task_name(asup_cx *cx)
{
	asup__ktask *kt = asup__cx_self(cx);
	return kt ? kt->t.name : NULL;
}

/* ---- handles ----------------------------------------------------------- */

/* The record a handle names, or an error. */
static int resolve(const asup_task *h, asup__ktask **out)
{
	asup__kernel *k;
	asup__ktask *kt;

	if (!h || !h->_k)
		return -EINVAL;
	if (h->_flags & H_CONSUMED)
		return -ASUP_EJOINED;
	k = h->_k;
	kt = asup__arena_get(&k->tasks, h->_id);
	if (!kt || kt->released)
		return -ESRCH;
	*out = kt;
	return 0;
}

static void consume(asup__kernel *k, asup__ktask *kt, asup_task *h, asup_outcome *out)
{
	if (out) {
		out->kind = kt->kind;
		out->value = kt->value;
		out->panic_msg[0] = '\0';
		if (kt->panic_msg)
			memcpy(out->panic_msg, kt->panic_msg, ASUP_PANIC_MSG_MAX);
	}
	h->_flags |= H_CONSUMED;
	rec_free(k, kt);
}

ASUP_API int asup_join(asup_cx *cx, asup_task *h, asup_outcome *out)
{
	asup__ktask *self = asup__cx_self(cx), *kt;
	int rc;

	if (!self)
		return -ASUP_ENOTASK;
	if (h && h->_k && h->_k != cx->k)
		return -EXDEV;
	rc = resolve(h, &kt);
	if (rc < 0)
		return rc;
	if (kt == self)
		return -EDEADLK;
	rc = asup__cx_checkpoint(cx);
	if (rc < 0)
		return rc;
	while (kt->t.state != ASUP__T_DONE) {
		rc = asup__waitq_wait(cx->k->sched, &self->t, &kt->joiners, cx->deadline,
				      -ETIMEDOUT);
		if (rc < 0)
			return rc;
		/* Another copy of the handle may have consumed it meanwhile. */
		rc = resolve(h, &kt);
		if (rc < 0)
			return rc;
	}
	consume(cx->k, kt, h, out);
	return 0;
}

ASUP_API int asup_task_try_join(asup_task *h, asup_outcome *out)
{
	asup__ktask *kt;
	int rc = resolve(h, &kt);

	if (rc < 0)
		return rc;
	if (kt->t.state != ASUP__T_DONE || kt->t.stack)
		return -EAGAIN;
	consume(h->_k, kt, h, out);
	return 0;
}

ASUP_API int asup_task_is_finished(const asup_task *h)
{
	asup__ktask *kt;
	int rc = resolve(h, &kt);
	return rc < 0 ? rc : kt->t.state == ASUP__T_DONE;
}

ASUP_API int asup_task_release(asup_task *h)
{
	asup__ktask *kt;
	int rc = resolve(h, &kt);

	if (rc < 0)
		return rc;
	h->_flags |= H_CONSUMED;
	if (kt->t.state == ASUP__T_DONE && !kt->t.stack)
		rec_free(h->_k, kt);
	else
		kt->released = 1;
	return 0;
}

ASUP_API int asup_task_abort(asup_task *h)
{
	asup__ktask *kt;
	int rc = resolve(h, &kt);

	if (rc < 0)
		return rc;
	if (kt->t.state != ASUP__T_DONE)
		asup__sched_interrupt(kt->cx.k->sched, &kt->t, -ECANCELED);
	return 0;
}

/* ---- suspension -------------------------------------------------------- */

ASUP_API int asup_yield(asup_cx *cx)
{
	int rc = asup__cx_checkpoint(cx);

	if (rc < 0)
		return rc;
	cx->kt->t.wake_code = 0;
	asup__sched_yield(cx->k->sched, &cx->kt->t);
	return cx->kt->t.wake_code;
}

ASUP_API void asup_panic(asup_cx *cx, const char *fmt, ...)
{
	asup__ktask *kt = asup__cx_self(cx);
	char msg[ASUP_PANIC_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt ? fmt : "(null)", ap);
	va_end(ap);
	if (!kt) {
		fprintf(stderr, "asupersync: asup_panic outside its task: %s\n", msg);
		abort();
	}
	/* Without memory for the message the outcome is still Panicked. */
	kt->panic_msg = asup__alloc_mem(&cx->k->alloc, ASUP_PANIC_MSG_MAX);
	if (kt->panic_msg)
		memcpy(kt->panic_msg, msg, sizeof msg);
	finish(cx->k, kt, ASUP_OUTCOME_PANICKED, 0);
	asup__sched_exit(cx->k->sched, &kt->t);
}

int asup__kernel_check(const asup__kernel *k)
{
	uint32_t live = 0;

	if (asup__arena_check(&k->tasks))
		return -EINVAL;
	for (uint32_t i = 0; i < k->tasks.len; i++) {
		const asup__ktask *kt = k->tasks.slot[i].ptr;
		if (!kt)
			continue;
		if (!kt->in_use || ASUP__ID_INDEX(kt->id) != i)
			return -EINVAL;
		if (kt->t.state != ASUP__T_DONE)
			live++;
	}
	return live == k->live ? 0 : -EINVAL;
}
