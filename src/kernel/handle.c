/*
 * Task handles: resolving a handle to its record, consuming it (join,
 * try_join, release), and the calls that act through one (abort, drop
 * reason, defuse).
 *
 * Owns: the handle's flags (H_CONSUMED). Must not touch: a record whose
 * generation differs from the handle's (a stale handle is refused before
 * anything of the record but its kernel is read).
 * Invariants: a handle is consumed at most once; the record is freed when
 * both its task finished and its handle was consumed or released.
 */
#include "kernel.h"

#include <stdatomic.h>
#include <string.h>

#define H_CONSUMED 1u /* this handle was joined or released */

/* ---- handles ----------------------------------------------------------- */

/* The runtime test comes before anything of the record is read but its
 * kernel (written once): a handle of a runtime another thread drives is
 * refused without racing with that thread, and one of another runtime
 * changes nothing there. */
int asup__handle_resolve(const asup_task *h, asup__ktask **out)
{
	asup__ktask *kt;
	int rc;

	if (!h || !h->_rec)
		return -EINVAL;
	if (h->_flags & H_CONSUMED)
		return -ASUP_EJOINED;
	kt = h->_rec;
	rc = asup__k_here(kt->cx.k);
	if (rc < 0)
		return rc;
	if (kt->t.gen != h->_gen || !kt->in_use || kt->released || kt->consumed)
		return -ESRCH;
	*out = kt;
	return 0;
}

void asup__handle_consume(asup__kernel *k, asup__ktask *kt, asup_task *h, asup_outcome *out)
{
	if (out) {
		/* Only what the kind says is meaningful is filled in full; the
		 * rest is left empty (this is on the spawn/join hot path). */
		out->kind = kt->kind;
		out->value = kt->value;
		out->panic_msg[0] = '\0';
		if (kt->kind == ASUP_OUTCOME_CANCELLED)
			asup__reason_export(kt->out_reason, &out->reason);
		else
			out->reason.kind = ASUP_CANCEL_USER, out->reason.has_message = 0;
		if (kt->kind == ASUP_OUTCOME_PANICKED && kt->panic_msg)
			memcpy(out->panic_msg, kt->panic_msg, ASUP_PANIC_MSG_MAX);
	}
	h->_flags |= H_CONSUMED;
	kt->consumed = 1;
	/* Already left its region: the exit clears owner only after the stack
	 * went back (or for a task that never had one), so this read alone,
	 * in the lines a join touches, says the record is done with. */
	if (!kt->owner)
		asup__rec_free(k, kt);
}

static void drop_abort(asup__kernel *k, asup__ktask *kt)
{
	asup__reason *r;

	if (kt->defused || kt->pstate == ASUP__P_COMPLETED)
		return;
	r = asup__reason_make(k, kt->drop_kind, kt->owner, kt, "abort");
	asup__task_abort(k, kt, r);
	asup__reason_unref(&k->alloc, r);
}

ASUP_API int asup_join(asup_cx *cx, asup_task *h, asup_outcome *out)
{
	asup__ktask *self = asup__cx_self(cx), *kt;
	int rc;

	if (!self)
		return -ASUP_ENOTASK;
	rc = asup__handle_resolve(h, &kt);
	if (rc < 0)
		return rc;
	if (kt->cx.k != cx->k)
		return -EXDEV;
	if (kt == self)
		return -EDEADLK;
	rc = asup__cx_checkpoint_self(cx, self);
	while (rc == 0 && kt->pstate != ASUP__P_COMPLETED) {
		rc = asup__cx_waitq_wait_as(cx, &kt->joiners, ASUP__WAIT_JOIN, kt->id);
		if (rc == 0)
			rc = asup__handle_resolve(h, &kt); /* consumed by a copy? */
	}
	if (rc == -ECANCELED)
		drop_abort(cx->k, kt);
	if (rc < 0)
		return rc;
	asup__handle_consume(cx->k, kt, h, out);
	return 0;
}

ASUP_API int asup_task_try_join(asup_task *h, asup_outcome *out)
{
	asup__ktask *kt;
	int rc = asup__handle_resolve(h, &kt);

	if (rc < 0)
		return rc;
	if (kt->pstate != ASUP__P_COMPLETED)
		return -EAGAIN;
	asup__handle_consume(kt->cx.k, kt, h, out);
	return 0;
}

ASUP_API int asup_task_is_finished(const asup_task *h)
{
	asup__ktask *kt;
	int rc = asup__handle_resolve(h, &kt);
	return rc < 0 ? rc : kt->pstate == ASUP__P_COMPLETED;
}

ASUP_API int asup_task_release(asup_task *h)
{
	asup__ktask *kt;
	int rc = asup__handle_resolve(h, &kt);

	if (rc < 0)
		return rc;
	h->_flags |= H_CONSUMED;
	kt->released = 1;
	if (!kt->owner) /* see asup__handle_consume */
		asup__rec_free(kt->cx.k, kt);
	return 0;
}

ASUP_API int asup_task_abort_with(asup_task *h, asup_cancel_kind kind, const char *msg)
{
	asup__ktask *kt;
	asup__reason *r;
	int rc = asup__handle_resolve(h, &kt);

	if (rc < 0)
		return rc;
	if (asup_cancel_kind_severity(kind) < 0)
		return -EINVAL;
	if (kt->pstate == ASUP__P_COMPLETED)
		return 0;
	r = asup__reason_make(kt->cx.k, kind, kt->owner, kt, msg);
	asup__task_abort(kt->cx.k, kt, r);
	asup__reason_unref(&kt->cx.k->alloc, r);
	return 0;
}

ASUP_API int asup_task_abort(asup_task *h)
{
	return asup_task_abort_with(h, ASUP_CANCEL_USER, "abort");
}

ASUP_API int asup_task_set_drop_reason(asup_task *h, asup_cancel_kind kind)
{
	asup__ktask *kt;
	int rc = asup__handle_resolve(h, &kt);

	if (rc < 0)
		return rc;
	if (asup_cancel_kind_severity(kind) < 0)
		return -EINVAL;
	kt->drop_kind = kind;
	return 0;
}

ASUP_API int asup_task_defuse(asup_task *h)
{
	asup__ktask *kt;
	int rc = asup__handle_resolve(h, &kt);

	if (rc < 0)
		return rc;
	kt->defused = 1;
	return 0;
}
