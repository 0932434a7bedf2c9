/* fd readiness for fds the caller owns (pipes here), and the reactor as the
 * run loop's idle wait (timers and the blocking pool wake it). */
#include "iotest.h"

#include <fcntl.h>

struct pipe_arg {
	int p[2];
};

static int64_t wait_readable(asup_cx *cx, void *arg)
{
	return asup_fd_wait(cx, ((struct pipe_arg *)arg)->p[0], ASUP_IO_READABLE);
}

static int64_t pipe_ready(asup_cx *cx, void *arg)
{
	struct pipe_arg *pa = arg;
	asup_task h, h2;
	asup_outcome o;
	char c;

	/* The write end of an empty pipe is writable at once. */
	CHECK_EQ(asup_fd_wait(cx, pa->p[1], ASUP_IO_WRITABLE), ASUP_IO_WRITABLE);
	CHECK_EQ(asup_spawn(cx, wait_readable, pa, NULL, &h), 0);
	CHECK_EQ(asup_sleep(cx, 5 * 1000000ull), 0);
	CHECK_EQ(asup_task_is_finished(&h), 0); /* nothing to read yet */
	/* A second waiter on the same fd and direction. */
	CHECK_EQ(asup_spawn(cx, wait_readable, pa, NULL, &h2), 0);
	CHECK_EQ(asup_sleep(cx, 2 * 1000000ull), 0);
	CHECK_EQ(write(pa->p[1], "r", 1), 1);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.value, ASUP_IO_READABLE);
	CHECK_EQ(asup_join(cx, &h2, &o), 0);
	CHECK(o.value == ASUP_IO_READABLE || o.value == -EBUSY);
	CHECK_EQ(read(pa->p[0], &c, 1), 1);
	/* The fd stays the caller's: still open, still usable. */
	CHECK(fcntl(pa->p[0], F_GETFD) >= 0);
	/* Both directions asked, one ready. */
	CHECK_EQ(asup_fd_wait(cx, pa->p[1], ASUP_IO_READABLE | ASUP_IO_WRITABLE) & ASUP_IO_WRITABLE,
		 ASUP_IO_WRITABLE);
	return 0;
}

TEST(fd_wait_on_a_pipe_parks_until_readable)
{
	struct pipe_arg pa;
	asup_rt *rt = io_rt();

	CHECK_EQ(pipe(pa.p), 0);
	CHECK_EQ(io_run(rt, pipe_ready, &pa), 0);
	CHECK_EQ(asup__io_waiting(rt), 0);
	test_rt_done(rt);
	close(pa.p[0]);
	close(pa.p[1]);
}

static int64_t pipe_cancel(asup_cx *cx, void *arg)
{
	struct pipe_arg *pa = arg;
	int64_t rc = asup_timeout(cx, 3 * 1000000ull, wait_readable, pa);

	CHECK_EQ(rc, -ETIMEDOUT);
	/* The withdrawn wait left nothing behind: a new one works. */
	CHECK_EQ(write(pa->p[1], "r", 1), 1);
	return asup_fd_wait(cx, pa->p[0], ASUP_IO_READABLE);
}

TEST(fd_wait_cancelled_by_a_deadline_returns_etimedout_and_can_wait_again)
{
	struct pipe_arg pa;
	asup_rt *rt = io_rt();

	CHECK_EQ(pipe(pa.p), 0);
	CHECK_EQ(io_run(rt, pipe_cancel, &pa), ASUP_IO_READABLE);
	CHECK_EQ(asup__io_waiting(rt), 0);
	test_rt_done(rt);
	close(pa.p[0]);
	close(pa.p[1]);
}

static int64_t regular(asup_cx *cx, void *arg)
{
	char path[] = "/tmp/asup-io-file-XXXXXX";
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	CHECK_EQ(asup_fd_wait(cx, fd, ASUP_IO_READABLE), ASUP_IO_READABLE);
	close(fd);
	unlink(path);
	return 0;
}

TEST(fd_wait_on_a_regular_file_is_ready_at_once)
{
	asup_rt *rt = io_rt();
	CHECK_EQ(io_run(rt, regular, NULL), 0);
	test_rt_done(rt);
}

static int64_t devnull(asup_cx *cx, void *arg)
{
	int fd = open("/dev/null", O_RDWR);

	(void)arg;
	CHECK(fd >= 0);
	CHECK_EQ(asup_fd_wait(cx, fd, ASUP_IO_READABLE), ASUP_IO_READABLE);
	CHECK_EQ(asup_fd_wait(cx, fd, ASUP_IO_READABLE | ASUP_IO_WRITABLE) &
			 ASUP_IO_WRITABLE,
		 ASUP_IO_WRITABLE);
	close(fd);
	return 0;
}

/* epoll cannot poll /dev/null; poll(2) calls it always ready, and so does
 * asup_fd_wait on either backend. */
TEST(fd_wait_on_dev_null_is_ready_on_both_backends)
{
	asup_rt *rt = io_rt();
	CHECK_EQ(io_run(rt, devnull, NULL), 0);
	test_rt_done(rt);
}

/* ---- the reactor as the idle wait ---- */

static int64_t slow_job(asup_blocking *b, void *arg)
{
	usleep(20000);
	return 42;
}

static int64_t pool_and_io(asup_cx *cx, void *arg)
{
	struct pipe_arg *pa = arg;
	asup_task h, w;
	asup_outcome o;

	/* A wait in the reactor, so that the idle loop sleeps there; the
	 * blocking job's completion must end that sleep. */
	CHECK_EQ(asup_spawn(cx, wait_readable, pa, NULL, &w), 0);
	CHECK_EQ(asup_spawn_blocking(cx, slow_job, NULL, NULL, &h), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.value, 42);
	CHECK_EQ(asup_task_is_finished(&w), 0);
	CHECK_EQ(write(pa->p[1], "r", 1), 1);
	CHECK_EQ(asup_join(cx, &w, &o), 0);
	CHECK_EQ(o.value, ASUP_IO_READABLE);
	return 0;
}

TEST(blocking_pool_completion_wakes_the_reactor)
{
	struct pipe_arg pa;
	asup_rt *rt;

	/* Valgrind runs one thread at a time and keeps its lock across
	 * io_uring_enter, so the pool thread could never run to wake it. */
	if (getenv("ASUP_UNDER_VALGRIND") && io_wants_uring()) {
		fprintf(stderr, "io_uring wait with another thread under valgrind: skipped\n");
		exit(77);
	}
	rt = io_rt();

	CHECK_EQ(pipe(pa.p), 0);
	CHECK_EQ(io_run(rt, pool_and_io, &pa), 0);
	test_rt_done(rt);
	close(pa.p[0]);
	close(pa.p[1]);
}

static int64_t sleeper(asup_cx *cx, void *arg)
{
	struct pipe_arg *pa = arg;
	asup_task w;
	asup_outcome o;
	asup_time t0 = asup_now(cx);

	CHECK_EQ(asup_spawn(cx, wait_readable, pa, NULL, &w), 0);
	/* The runtime idles in the reactor with the timer as its timeout. */
	CHECK_EQ(asup_sleep(cx, 10 * 1000000ull), 0);
	CHECK(asup_now(cx) - t0 >= 10 * 1000000ull);
	CHECK_EQ(write(pa->p[1], "r", 1), 1);
	CHECK_EQ(asup_join(cx, &w, &o), 0);
	return 0;
}

TEST(idle_runtime_waits_in_the_reactor_with_the_next_timer_as_timeout)
{
	struct pipe_arg pa;
	asup_rt *rt = io_rt();

	CHECK_EQ(pipe(pa.p), 0);
	CHECK_EQ(io_run(rt, sleeper, &pa), 0);
	/* It slept rather than spun: a handful of reactor polls for 10 ms of
	 * idling (a spinning loop would poll thousands of times). */
	CHECK(asup__io_polls(rt) < 20);
	test_rt_done(rt);
	close(pa.p[0]);
	close(pa.p[1]);
}
