/* Reader-writer lock: sharing and exclusion, writer preference, FIFO
 * hand-off (one writer or the reader batch at the head), cancel-safety at
 * every queue position, tasks ending with a lock, misuse, seed sweeps. */
#include "sweep.h"

int asup__rwlock_check(const asup_rwlock *rw);

static asup_rwlock rw;
static int order_log[16], norder;

static asup_rwlock_stats stats(void)
{
	asup_rwlock_stats st;
	CHECK_EQ(asup_rwlock_stats_get(&rw, &st), 0);
	CHECK_EQ(asup__rwlock_check(&rw), 0);
	return st;
}

/* arg = id << 1 | write: locks, logs id, holds across a suspension,
 * unlocks. */
#define LOCKER(id, write) ((void *)(uintptr_t)(((id) << 1) | (write)))

static int64_t locker(asup_cx *cx, void *arg)
{
	int write = (int)((uintptr_t)arg & 1), id = (int)((uintptr_t)arg >> 1);
	int rc = write ? asup_rwlock_write(cx, &rw) : asup_rwlock_read(cx, &rw);
	if (rc < 0)
		return rc;
	order_log[norder++] = id;
	CHECK_EQ(asup__rwlock_check(&rw), 0);
	CHECK_EQ(asup_yield(cx), 0);
	return write ? asup_rwlock_write_unlock(cx, &rw) : asup_rwlock_read_unlock(cx, &rw);
}

/* Spawns a locker and lets it reach the queue (real mode: FIFO). */
static void queue_locker(asup_cx *cx, asup_task *h, int id, int write)
{
	CHECK_EQ(asup_spawn(cx, locker, LOCKER(id, write), NULL, h), 0);
	CHECK_EQ(asup_yield(cx), 0);
}

static void join_ok(asup_cx *cx, asup_task *h)
{
	asup_outcome o;
	CHECK_EQ(asup_join(cx, h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
}

static void check_idle(void)
{
	asup_rwlock_stats st = stats();
	CHECK_EQ(st.readers, 0);
	CHECK_EQ(st.writer, 0);
	CHECK_EQ(st.waiting_readers + st.waiting_writers, 0);
}

static int64_t reads_twice_in_parallel(asup_cx *cx, void *arg)
{
	CHECK_EQ(asup_rwlock_read(cx, &rw), 0);
	CHECK_EQ(asup_yield(cx), 0);
	CHECK_EQ(asup_yield(cx), 0);
	return asup_rwlock_read_unlock(cx, &rw);
}

static int64_t share_root(asup_cx *cx, void *arg)
{
	asup_task r;
	asup_rwlock_init(&rw);
	CHECK_EQ(asup_spawn(cx, reads_twice_in_parallel, NULL, NULL, &r), 0);
	CHECK_EQ(asup_yield(cx), 0);
	CHECK_EQ(asup_rwlock_read(cx, &rw), 0); /* shares with r */
	CHECK_EQ(stats().readers, 2);
	CHECK_EQ(asup_rwlock_read_unlock(cx, &rw), 0);
	CHECK_EQ(asup_rwlock_try_write(cx, &rw), -EBUSY); /* r still reads */
	join_ok(cx, &r);
	CHECK_EQ(asup_rwlock_try_write(cx, &rw), 0);
	CHECK_EQ(stats().writer, 1);
	CHECK_EQ(asup_spawn(cx, reads_twice_in_parallel, NULL, NULL, &r), 0);
	CHECK_EQ(asup_yield(cx), 0);
	CHECK_EQ(stats().waiting_readers, 1); /* excluded by the writer */
	CHECK_EQ(asup_rwlock_write_unlock(cx, &rw), 0);
	CHECK_EQ(stats().readers, 1); /* handed to r before it ran */
	join_ok(cx, &r);
	check_idle();
	return 0;
}

TEST(rwlock_readers_share_and_a_writer_excludes_everyone)
{
	run_real(share_root);
}

static int64_t preference_root(asup_cx *cx, void *arg)
{
	asup_task w, r2;
	norder = 0;
	asup_rwlock_init(&rw);
	CHECK_EQ(asup_rwlock_read(cx, &rw), 0);
	queue_locker(cx, &w, 1, 1);  /* waits for our read lock */
	queue_locker(cx, &r2, 2, 0); /* read-held, yet it queues behind w */
	CHECK_EQ(stats().waiting_readers, 1);
	CHECK_EQ(asup_rwlock_try_read(cx, &rw), -EDEADLK); /* we hold one */
	CHECK_EQ(asup_rwlock_read_unlock(cx, &rw), 0);
	CHECK_EQ(asup_rwlock_try_read(cx, &rw), -EBUSY); /* w waits or holds */
	join_ok(cx, &w);
	join_ok(cx, &r2);
	CHECK_EQ(norder, 2);
	CHECK_EQ(order_log[0], 1);
	CHECK_EQ(order_log[1], 2);
	check_idle();
	return 0;
}

TEST(rwlock_a_waiting_writer_blocks_new_readers)
{
	run_real(preference_root);
}

static int64_t writers_fifo_root(asup_cx *cx, void *arg)
{
	asup_task h[5];
	norder = 0;
	asup_rwlock_init(&rw);
	CHECK_EQ(asup_rwlock_write(cx, &rw), 0);
	for (int i = 0; i < 5; i++)
		queue_locker(cx, &h[i], i, 1);
	CHECK_EQ(stats().waiting_writers, 5);
	CHECK_EQ(asup_rwlock_write_unlock(cx, &rw), 0);
	for (int i = 0; i < 5; i++)
		join_ok(cx, &h[i]);
	for (int i = 0; i < 5; i++)
		CHECK_EQ(order_log[i], i);
	check_idle();
	return 0;
}

TEST(rwlock_writers_are_fifo)
{
	run_real(writers_fifo_root);
}

static int64_t batch_root(asup_cx *cx, void *arg)
{
	asup_task h[5];
	int writes[5] = {0, 0, 1, 0, 1}; /* R0 R1 W2 R3 W4 */
	norder = 0;
	asup_rwlock_init(&rw);
	CHECK_EQ(asup_rwlock_write(cx, &rw), 0);
	for (int i = 0; i < 5; i++)
		queue_locker(cx, &h[i], i, writes[i]);
	CHECK_EQ(asup_rwlock_write_unlock(cx, &rw), 0);
	/* The readers at the head, and only they, got it at once. */
	CHECK_EQ(stats().readers, 2);
	CHECK_EQ(stats().waiting_readers, 1);
	CHECK_EQ(stats().waiting_writers, 2);
	for (int i = 0; i < 5; i++)
		join_ok(cx, &h[i]);
	for (int i = 0; i < 5; i++)
		CHECK_EQ(order_log[i], i);
	check_idle();
	return 0;
}

TEST(rwlock_release_hands_to_one_writer_or_the_reader_batch_at_the_head)
{
	run_real(batch_root);
}

static int64_t stream_root(asup_cx *cx, void *arg)
{
	asup_task w[3], r, late;
	norder = 0;
	asup_rwlock_init(&rw);
	CHECK_EQ(asup_rwlock_write(cx, &rw), 0);
	for (int i = 0; i < 3; i++)
		queue_locker(cx, &w[i], i, 1);
	queue_locker(cx, &r, 3, 0);
	queue_locker(cx, &late, 4, 1); /* a writer that came after the reader */
	CHECK_EQ(asup_rwlock_write_unlock(cx, &rw), 0);
	join_ok(cx, &r);
	/* The reader waited out every writer queued before it ... */
	CHECK(norder >= 4);
	for (int i = 0; i < 4; i++)
		CHECK_EQ(order_log[i], i);
	/* ... and the later writer did not overtake it. */
	join_ok(cx, &late);
	CHECK_EQ(order_log[4], 4);
	for (int i = 0; i < 3; i++)
		join_ok(cx, &w[i]);
	check_idle();
	return 0;
}

TEST(rwlock_a_reader_waits_for_every_writer_queued_before_it)
{
	run_real(stream_root);
}

/* Queue shapes for the cancel sweep, behind a holder of mode hold_write. */
struct shape {
	int hold_write;
	int n;
	int writes[6];
};

static void cancel_positions(asup_cx *cx, const struct shape *s)
{
	for (int victim = 0; victim < s->n; victim++) {
		asup_task h[6];
		asup_outcome o;
		norder = 0;
		asup_rwlock_init(&rw);
		CHECK_EQ(s->hold_write ? asup_rwlock_write(cx, &rw) : asup_rwlock_read(cx, &rw), 0);
		for (int i = 0; i < s->n; i++) {
			/* Behind a read holder the head must be a writer, or the
			 * reader would simply share. */
			queue_locker(cx, &h[i], i, s->writes[i]);
		}
		CHECK_EQ(asup_task_abort(&h[victim]), 0);
		CHECK_EQ(asup_join(cx, &h[victim], &o), 0); /* leaves the queue */
		CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
		if (s->hold_write)
			CHECK_EQ(stats().readers, 0); /* nothing handed past us */
		CHECK_EQ(s->hold_write ? asup_rwlock_write_unlock(cx, &rw)
				       : asup_rwlock_read_unlock(cx, &rw), 0);
		for (int i = 0; i < s->n; i++)
			if (i != victim)
				join_ok(cx, &h[i]); /* no stall */
		CHECK_EQ(norder, s->n - 1);
		for (int k = 0, i = 0; i < s->n; i++) {
			if (i == victim)
				continue;
			CHECK_EQ(order_log[k], i); /* queue order, the victim skipped */
			k++;
		}
		check_idle();
	}
}

static int64_t positions_root(asup_cx *cx, void *arg)
{
	static const struct shape shapes[] = {
		{1, 6, {0, 1, 0, 0, 1, 0}}, /* write-held: R W R R W R */
		{1, 4, {1, 1, 1, 1}},       /* write-held: writers only */
		{0, 5, {1, 0, 0, 1, 0}},    /* read-held: W R R W R */
	};
	for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
		cancel_positions(cx, &shapes[i]);
	return 0;
}

TEST(rwlock_cancel_at_every_queue_position_acquires_nothing_and_keeps_order)
{
	run_real(positions_root);
}

/* A cancelled writer at the head of a read-held lock must let the readers
 * queued behind it in at once, or they would wait for nothing. */
static int64_t unblock_root(asup_cx *cx, void *arg)
{
	asup_task w, r[2];
	asup_outcome o;
	norder = 0;
	asup_rwlock_init(&rw);
	CHECK_EQ(asup_rwlock_read(cx, &rw), 0);
	queue_locker(cx, &w, 0, 1);
	queue_locker(cx, &r[0], 1, 0);
	queue_locker(cx, &r[1], 2, 0);
	CHECK_EQ(asup_task_abort(&w), 0);
	CHECK_EQ(asup_join(cx, &w, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
	CHECK_EQ(stats().readers, 3); /* ours and both of theirs */
	join_ok(cx, &r[0]);
	join_ok(cx, &r[1]);
	CHECK_EQ(asup_rwlock_read_unlock(cx, &rw), 0);
	check_idle();
	return 0;
}

TEST(rwlock_a_cancelled_writer_lets_the_readers_behind_it_in)
{
	run_real(unblock_root);
}

/* Handed the lock, then cancelled before running: passes it on. */
static int64_t handed_cancel_root(asup_cx *cx, void *arg)
{
	for (int writer_victim = 0; writer_victim < 2; writer_victim++) {
		asup_task a, b, c;
		asup_outcome o;
		norder = 0;
		asup_rwlock_init(&rw);
		CHECK_EQ(asup_rwlock_write(cx, &rw), 0);
		queue_locker(cx, &a, 0, writer_victim); /* victim */
		queue_locker(cx, &b, 1, 0);
		queue_locker(cx, &c, 2, 1);
		CHECK_EQ(asup_rwlock_write_unlock(cx, &rw), 0); /* handed to a (and b) */
		CHECK_EQ(asup_task_abort(&a), 0);
		CHECK_EQ(asup_join(cx, &a, &o), 0);
		CHECK_EQ(o.kind, ASUP_OUTCOME_CANCELLED);
		join_ok(cx, &b);
		join_ok(cx, &c);
		CHECK_EQ(norder, 2);
		CHECK_EQ(order_log[0], 1);
		CHECK_EQ(order_log[1], 2);
		check_idle();
	}
	return 0;
}

TEST(rwlock_a_waiter_cancelled_after_the_hand_off_passes_it_on)
{
	run_real(handed_cancel_root);
}

static asup_notify go;

/* arg: 0 write+return, 1 write+panic, 2 read+return, 3 read+panic; holds
 * the lock until told to end. */
static int64_t ends_holding(asup_cx *cx, void *arg)
{
	int how = (int)(intptr_t)arg;
	CHECK_EQ(how < 2 ? asup_rwlock_write(cx, &rw) : asup_rwlock_read(cx, &rw), 0);
	CHECK_EQ(asup_notify_wait(cx, &go), 0);
	if (how & 1)
		asup_panic(cx, "while holding");
	return 0;
}

static int64_t waits_write(asup_cx *cx, void *arg)
{
	int rc = asup_rwlock_write(cx, &rw);
	return rc < 0 ? rc : asup_rwlock_write_unlock(cx, &rw);
}

static int64_t waits_read(asup_cx *cx, void *arg)
{
	int rc = asup_rwlock_read(cx, &rw);
	return rc < 0 ? rc : asup_rwlock_read_unlock(cx, &rw);
}

static int64_t ending_root(asup_cx *cx, void *arg)
{
	for (int how = 0; how < 4; how++) {
		asup_task holder, ww, wr;
		asup_outcome o;
		int poisons = how < 2;
		asup_rwlock_init(&rw);
		asup_notify_init(&go);
		CHECK_EQ(asup_spawn(cx, ends_holding, (void *)(intptr_t)how, NULL, &holder), 0);
		CHECK_EQ(asup_yield(cx), 0); /* it holds */
		CHECK_EQ(asup_spawn(cx, waits_write, NULL, NULL, &ww), 0);
		CHECK_EQ(asup_spawn(cx, waits_read, NULL, NULL, &wr), 0);
		CHECK_EQ(asup_yield(cx), 0);
		CHECK_EQ(stats().waiting_writers, 1);
		CHECK_EQ(stats().waiting_readers, 1); /* behind the writer */
		CHECK_EQ(asup_notify_one(&go), 1);
		CHECK_EQ(asup_join(cx, &holder, &o), 0);
		CHECK_EQ(o.kind, how & 1 ? ASUP_OUTCOME_PANICKED : ASUP_OUTCOME_OK);
		CHECK_EQ(asup_join(cx, &ww, &o), 0);
		CHECK_EQ(o.value, poisons ? -ASUP_EPOISONED : 0);
		CHECK_EQ(asup_join(cx, &wr, &o), 0);
		CHECK_EQ(o.value, poisons ? -ASUP_EPOISONED : 0);
		CHECK_EQ(stats().poisoned, poisons);
		CHECK_EQ(stats().abandoned_reads, poisons ? 0 : 1);
		CHECK_EQ(asup_rwlock_read(cx, &rw), poisons ? -ASUP_EPOISONED : 0);
		CHECK_EQ(asup_rwlock_try_write(cx, &rw), poisons ? -ASUP_EPOISONED : -EDEADLK);
		if (poisons) {
			CHECK_EQ(asup_rwlock_clear_poison(&rw), 0);
			CHECK_EQ(asup_rwlock_read(cx, &rw), 0);
		}
		CHECK_EQ(asup_rwlock_read_unlock(cx, &rw), 0);
		check_idle();
	}
	return 0;
}

TEST(rwlock_ending_with_the_write_lock_poisons_ending_with_a_read_lock_releases_it)
{
	run_real(ending_root);
}

static int64_t many_readers(asup_cx *cx, void *arg)
{
	int rc = asup_rwlock_read(cx, &rw);
	if (rc < 0)
		return rc;
	CHECK_EQ(asup_yield(cx), 0);
	if (arg)
		return 0; /* ends holding a record from the heap */
	return asup_rwlock_read_unlock(cx, &rw);
}

static int fail_allocs;

static void *maybe_alloc(void *ud, size_t size)
{
	return fail_allocs ? NULL : malloc(size);
}

static void plain_free(void *ud, void *p, size_t size)
{
	free(p);
}

static int64_t overflow_root(asup_cx *cx, void *arg)
{
	asup_task h[10];
	asup_rwlock_init(&rw);
	for (int i = 0; i < 10; i++)
		CHECK_EQ(asup_spawn(cx, many_readers, (void *)(intptr_t)(i == 9), NULL, &h[i]), 0);
	CHECK_EQ(asup_yield(cx), 0);
	CHECK_EQ(stats().readers, 10); /* 4 inline records, 6 from the heap */
	fail_allocs = 1;
	CHECK_EQ(asup_rwlock_try_read(cx, &rw), -ENOMEM);
	CHECK_EQ(asup_rwlock_read(cx, &rw), -ENOMEM);
	fail_allocs = 0;
	CHECK_EQ(stats().readers, 10); /* the failures took nothing */
	for (int i = 0; i < 10; i++)
		join_ok(cx, &h[i]);
	CHECK_EQ(stats().abandoned_reads, 1);
	check_idle();
	CHECK_EQ(asup_rwlock_try_write(cx, &rw), 0);
	return asup_rwlock_write_unlock(cx, &rw);
}

TEST(rwlock_more_readers_than_inline_records_and_out_of_memory)
{
	asup_rt_config cfg;
	asup_rt_config_init(&cfg);
	cfg.alloc.alloc = maybe_alloc;
	cfg.alloc.free = plain_free;
	cfg.leak_response = ASUP_LEAK_SILENT;
	run_on(test_rt_cfg(&cfg), overflow_root);
}

static int64_t unlocks_foreign(asup_cx *cx, void *arg)
{
	return arg ? asup_rwlock_write_unlock(cx, &rw) : asup_rwlock_read_unlock(cx, &rw);
}

static int64_t misuse_root(asup_cx *cx, void *arg)
{
	asup_rwlock bad;
	asup_rwlock_stats st;
	asup_task h;
	asup_outcome o;
	memset(&bad, 0, sizeof bad);
	asup_rwlock_init(NULL); /* harmless */
	asup_rwlock_init(&rw);
	CHECK_EQ(asup_rwlock_read(cx, NULL), -EINVAL);
	CHECK_EQ(asup_rwlock_write(cx, &bad), -EINVAL);
	CHECK_EQ(asup_rwlock_try_read(cx, &bad), -EINVAL);
	CHECK_EQ(asup_rwlock_read(NULL, &rw), -ASUP_ENOTASK);
	CHECK_EQ(asup_rwlock_read_unlock(cx, &rw), -EPERM);  /* not held */
	CHECK_EQ(asup_rwlock_write_unlock(cx, &rw), -EPERM);
	CHECK_EQ(asup_rwlock_stats_get(&rw, NULL), -EINVAL);
	CHECK_EQ(asup_rwlock_stats_get(&bad, &st), -EINVAL);
	CHECK_EQ(asup_rwlock_clear_poison(&bad), -EINVAL);
	/* re-entry in any mode */
	CHECK_EQ(asup_rwlock_read(cx, &rw), 0);
	CHECK_EQ(asup_rwlock_read(cx, &rw), -EDEADLK);
	CHECK_EQ(asup_rwlock_write(cx, &rw), -EDEADLK); /* no upgrade */
	CHECK_EQ(asup_rwlock_write_unlock(cx, &rw), -EPERM); /* wrong mode */
	CHECK_EQ(asup_spawn(cx, unlocks_foreign, NULL, NULL, &h), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.value, -EPERM); /* another task's read lock */
	CHECK_EQ(asup_rwlock_read_unlock(cx, &rw), 0);
	CHECK_EQ(asup_rwlock_read_unlock(cx, &rw), -EPERM); /* twice */
	CHECK_EQ(asup_rwlock_write(cx, &rw), 0);
	CHECK_EQ(asup_rwlock_read(cx, &rw), -EDEADLK);
	CHECK_EQ(asup_rwlock_try_write(cx, &rw), -EDEADLK);
	CHECK_EQ(asup_rwlock_read_unlock(cx, &rw), -EPERM);
	CHECK_EQ(asup_spawn(cx, unlocks_foreign, (void *)1, NULL, &h), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.value, -EPERM); /* another task's write lock */
	CHECK_EQ(asup_rwlock_write_unlock(cx, &rw), 0);
	CHECK_EQ(asup_rwlock_write_unlock(cx, &rw), -EPERM);
	check_idle();
	return 0;
}

TEST(rwlock_misuse_has_clear_codes)
{
	run_real(misuse_root);
}

/* ---- seed sweep: readers and writers, random holds and cancels ---- */

#define SW_READERS 6
#define SW_WRITERS 3
#define SW_TASKS (SW_READERS + SW_WRITERS)

static int inside_r, inside_w;
static uint64_t ticket;
static uint64_t waiting_since[SW_TASKS]; /* 0 = not waiting */
static int is_writer[SW_TASKS];

/* At an acquisition by `me` (requested at `mine`): no writer that asked
 * before it still waits (writer preference, writers FIFO); a writer also
 * finds no earlier reader waiting (one FIFO queue). */
static void check_order(int me, uint64_t mine)
{
	for (int i = 0; i < SW_TASKS; i++) {
		if (i == me || !waiting_since[i] || waiting_since[i] > mine)
			continue;
		CHECK(!is_writer[i] && !is_writer[me]);
	}
}

static int64_t sw_task(asup_cx *cx, void *arg)
{
	int me = (int)(intptr_t)arg, w = is_writer[me], rc = 0;

	for (int round = 0; round < 6 && rc == 0; round++) {
		uint64_t mine = waiting_since[me] = ++ticket;
		rc = w ? asup_rwlock_write(cx, &rw) : asup_rwlock_read(cx, &rw);
		waiting_since[me] = 0;
		if (rc < 0)
			break;
		check_order(me, mine);
		if (w) {
			CHECK(inside_r == 0 && inside_w == 0);
			inside_w++;
		} else {
			CHECK(inside_w == 0);
			inside_r++;
		}
		CHECK_EQ(asup__rwlock_check(&rw), 0);
		for (uint64_t y = draw(cx, 3); y > 0 && rc == 0; y--)
			rc = asup_yield(cx);
		/* A cancelled holder cleans up before it returns. */
		w ? inside_w-- : inside_r--;
		CHECK_EQ(w ? asup_rwlock_write_unlock(cx, &rw) : asup_rwlock_read_unlock(cx, &rw), 0);
		CHECK_EQ(asup__rwlock_check(&rw), 0);
		if (rc == 0)
			rc = asup_yield(cx);
	}
	return rc == -ECANCELED ? rc : 0;
}

static int64_t sw_root(asup_cx *cx, void *arg)
{
	asup_task h[SW_TASKS];
	int writers = 0;

	inside_r = inside_w = 0;
	ticket = 0;
	asup_rwlock_init(&rw);
	for (int i = 0; i < SW_TASKS; i++) {
		/* A seeded mix: SW_WRITERS writers at random places. */
		is_writer[i] = writers < SW_WRITERS &&
			       (int)draw(cx, (uint64_t)(SW_TASKS - i)) < SW_WRITERS - writers;
		writers += is_writer[i];
		waiting_since[i] = 0;
	}
	for (int i = 0; i < SW_TASKS; i++)
		CHECK_EQ(asup_spawn(cx, sw_task, (void *)(intptr_t)i, NULL, &h[i]), 0);
	for (int c = 0; c < 3; c++) {
		for (uint64_t y = draw(cx, 12); y > 0; y--) {
			CHECK_EQ(asup_yield(cx), 0);
			CHECK_EQ(asup__rwlock_check(&rw), 0);
		}
		CHECK_EQ(asup_task_abort(&h[draw(cx, SW_TASKS)]), 0);
	}
	for (int i = 0; i < SW_TASKS; i++)
		CHECK_EQ(asup_join(cx, &h[i], NULL), 0);
	CHECK_EQ(inside_r + inside_w, 0);
	CHECK_EQ(stats().poisoned, 0);
	CHECK_EQ(stats().abandoned_reads, 0);
	check_idle();
	return 0;
}

TEST(rwlock_seed_sweep_mutual_exclusion_writer_preference_and_cancels)
{
	sweep(sw_root);
}

static int64_t uses_lock(asup_cx *cx, void *arg)
{
	CHECK_EQ(asup_rwlock_read(cx, &rw), 0);
	return asup_rwlock_read_unlock(cx, &rw);
}

static int64_t foreign_root(asup_cx *cx, void *arg)
{
	CHECK_EQ(asup_rwlock_read(cx, &rw), -EXDEV);
	CHECK_EQ(asup_rwlock_try_write(cx, &rw), -EXDEV);
	CHECK_EQ(asup_rwlock_write_unlock(cx, &rw), -EXDEV);
	return 0;
}

TEST(rwlock_used_from_another_runtime_gets_exdev)
{
	/* Both alive at once (a destroyed runtime's memory could be reused). */
	asup_rt *a = rt_with(ASUP_MODE_REAL, 0, ASUP_LEAK_SILENT);
	asup_rt *b = rt_with(ASUP_MODE_REAL, 0, ASUP_LEAK_SILENT);
	asup_outcome o;
	asup_rwlock_init(&rw);
	CHECK_EQ(asup_rt_run(a, uses_lock, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(asup_rt_run(b, foreign_root, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	test_rt_done(a);
	test_rt_done(b);
}
