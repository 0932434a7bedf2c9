/*
 * The bounded channel's side of asup_select (select.c): readiness without
 * side effects, the effect of a winning arm, and queueing a waiter that
 * belongs to a task waiting on several queues at once.
 *
 * The protocol a multi-queue waiter follows on one channel:
 *   recv arm     enqueue; a wake stands for "an element may be there" and
 *                hands nothing over: re-poll, and if the arm does not take
 *                an element, pass the wake on (asup__chan_recv_pass_on).
 *   reserve arm  enqueue (a place in the FIFO of reservers, kept until the
 *                select returns); a wake's result hands a slot over (1) or
 *                reports a close (-EPIPE): asup__chan_reserve_woken reads
 *                it, exactly once per wake. A slot the select does not use goes back with
 *                asup__chan_room_give_back, which hands it to the next
 *                reserver.
 * Every function runs on the runtime's thread and never suspends.
 */
#ifndef ASUP_CHAN_INTERNAL_H
#define ASUP_CHAN_INTERNAL_H

#include "asupersync/chan.h"
#include "../kernel/kernel.h"

/* 0 for a channel of kernel k; -EINVAL for a bad channel, -EXDEV for one of
 * another runtime. */
int asup__chan_check(const asup_chan *ch, const asup__kernel *k);

/* 1 if an element is queued, -EPIPE if closed and empty, 0 otherwise. */
int asup__chan_recv_poll(const asup_chan *ch);
/* Takes the oldest element (what asup_chan_try_recv does). */
int asup__chan_recv_take(asup_chan *ch, void *elem);
/* Queues w (its task set by the caller) among the receivers. */
void asup__chan_recv_enqueue(asup_chan *ch, asup__waiter *w);
/* A woken receiver that takes nothing: wakes the next one if an element is
 * queued, so the element is not left behind with receivers parked. */
void asup__chan_recv_pass_on(asup_chan *ch);

/* 1 if a newcomer could reserve now (room and nobody waiting), -EPIPE if
 * closed for sending or the receiver is gone, 0 otherwise. */
int asup__chan_reserve_poll(const asup_chan *ch);
/* Takes one slot for the caller now; 0 or -EAGAIN / -EPIPE. */
int asup__chan_room_take(asup_chan *ch);
/* Queues w (its task set by the caller) at the tail of the reservers. */
void asup__chan_reserve_enqueue(asup_chan *ch, asup__waiter *w);
/* For a reserve waiter a wake dequeued, from its result: 1 if a slot was
 * handed to it (now the caller's), -EPIPE if it was woken by a close or the
 * channel closed since the hand-off (the slot went back). Call once per
 * wake. */
int asup__chan_reserve_woken(asup_chan *ch, int result);
/* Gives a slot the caller holds back (to the next reserver, if any). */
void asup__chan_room_give_back(asup_chan *ch);
/* Turns a slot the caller holds into a live permit, an obligation of self.
 * On failure (-ENOMEM, admission) the slot is given back. */
int asup__chan_permit_issue(asup__ktask *self, asup_chan *ch, asup_permit *p);

/* How many tasks wait to reserve and to receive (tests and debug checks:
 * after a select returns, none of its waiters may be left). */
void asup__chan_waiting(const asup_chan *ch, size_t *reservers, size_t *receivers);

#endif
