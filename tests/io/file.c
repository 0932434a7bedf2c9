/* Files: reading and writing, offsets, fsync, owner regions, use after
 * close, bad input; kernel operations on io_uring and the blocking pool on
 * epoll; what a cancel does to a call in flight on either. */
#include "pooltest.h"

#include <asupersync/io.h>
#include <pthread.h>
#include <sys/stat.h>

static void tmp_path(char *buf, size_t n, const char *tag)
{
	snprintf(buf, n, "/tmp/asup-file-%s-%d", tag, (int)getpid());
	unlink(buf);
}

static int64_t rw(asup_cx *cx, void *arg)
{
	const char *path = arg;
	asup_file f;
	char b[32];

	CHECK_EQ(asup_file_open(cx, path, O_RDWR | O_CREAT | O_EXCL, 0600, &f), 0);
	CHECK_EQ(asup_file_write(cx, f, "hello world", 11), 11);
	CHECK_EQ(asup_file_pwrite(cx, f, "W", 1, 6), 1);
	CHECK_EQ(asup_file_fsync(cx, f), 0);
	memset(b, 0, sizeof(b));
	CHECK_EQ(asup_file_pread(cx, f, b, sizeof(b), 0), 11);
	CHECK_STR_EQ(b, "hello World");
	/* pread and pwrite left the offset at the end of the first write. */
	CHECK_EQ(asup_file_read(cx, f, b, sizeof(b)), 0);
	CHECK_EQ(asup_file_pread(cx, f, b, 5, 100), 0);
	CHECK_EQ(asup_file_close(cx, f), 0);

	CHECK_EQ(asup_file_open(cx, path, O_RDONLY, 0, &f), 0);
	memset(b, 0, sizeof(b));
	CHECK_EQ(asup_file_read(cx, f, b, 5), 5);
	CHECK_EQ(asup_file_read(cx, f, b + 5, sizeof(b) - 5), 6);
	CHECK_STR_EQ(b, "hello World");
	/* Opened read-only: writing is the kernel's -EBADF. */
	CHECK_EQ(asup_file_write(cx, f, "x", 1), -EBADF);
	CHECK_EQ(asup_file_close(cx, f), 0);
	return 0;
}

TEST(file_write_pwrite_fsync_pread_read_round_trip)
{
	char path[64];
	asup_rt *rt = io_rt();

	tmp_path(path, sizeof(path), "rw");
	CHECK_EQ(io_run(rt, rw, path), 0);
	test_rt_done(rt);
	unlink(path);
}

static int64_t bad(asup_cx *cx, void *arg)
{
	const char *path = arg;
	asup_file f, none = {0, NULL};
	char b[4];

	CHECK_EQ(asup_file_open(cx, NULL, O_RDONLY, 0, &f), -EINVAL);
	CHECK_EQ(asup_file_open(cx, path, O_RDONLY, 0, NULL), -EINVAL);
	CHECK_EQ(asup_file_open(cx, "/nonexistent/dir/file", O_RDONLY, 0, &f), -ENOENT);
	CHECK_EQ(asup_file_open(cx, path, O_RDWR | O_CREAT, 0600, &f), 0);
	CHECK_EQ(asup_file_read(cx, f, NULL, 4), -EINVAL);
	CHECK_EQ(asup_file_write(cx, f, NULL, 4), -EINVAL);
	CHECK_EQ(asup_file_read(cx, f, b, 0), 0);
	CHECK_EQ(asup_file_pread(cx, f, b, 4, -1), -EINVAL);
	CHECK_EQ(asup_file_pwrite(cx, f, b, 4, -1), -EINVAL);
	CHECK_EQ(asup_file_read(cx, none, b, 4), -EBADF);
	CHECK_EQ(asup_file_close(cx, f), 0);
	CHECK_EQ(asup_file_close(cx, f), -EBADF);
	CHECK_EQ(asup_file_read(cx, f, b, 4), -EBADF);
	CHECK_EQ(asup_file_write(cx, f, b, 4), -EBADF);
	CHECK_EQ(asup_file_fsync(cx, f), -EBADF);
	CHECK_EQ(asup_file_fd(cx, f), -EBADF);
	/* A directory opens read-only, but reading it is -EISDIR. */
	CHECK_EQ(asup_file_open(cx, "/tmp", O_RDONLY, 0, &f), 0);
	CHECK_EQ(asup_file_read(cx, f, b, 4), -EISDIR);
	return asup_file_close(cx, f);
}

TEST(file_bad_input_and_use_after_close_get_clear_codes)
{
	char path[64];
	asup_rt *rt = io_rt();

	tmp_path(path, sizeof(path), "bad");
	CHECK_EQ(io_run(rt, bad, path), 0);
	test_rt_done(rt);
	unlink(path);
	CHECK_EQ(asup_file_open(NULL, path, O_RDONLY, 0, NULL), -ASUP_ENOTASK);
}

struct owned {
	const char *path;
	asup_file f;
	int fd;
};

static int64_t open_and_leave(asup_cx *cx, void *arg)
{
	struct owned *o = arg;

	CHECK_EQ(asup_file_open(cx, o->path, O_RDWR | O_CREAT, 0600, &o->f), 0);
	o->fd = asup_file_fd(cx, o->f);
	CHECK(o->fd >= 0);
	return 0;
}

static int64_t owner(asup_cx *cx, void *arg)
{
	struct owned *o = arg;
	asup_outcome out;
	char b;

	CHECK_EQ(asup_region(cx, open_and_leave, o, &out), 0);
	CHECK_EQ(out.kind, ASUP_OUTCOME_OK);
	/* The region closed its file. */
	CHECK(fcntl(o->fd, F_GETFD) < 0);
	CHECK_EQ(asup_file_read(cx, o->f, &b, 1), -ASUP_ECLOSED);
	CHECK_EQ(asup_file_close(cx, o->f), -ASUP_ECLOSED);
	return 0;
}

TEST(region_closing_with_a_file_open_closes_it_and_reports_it)
{
	char path[64], rep[] = "/tmp/asup-file-report-XXXXXX", text[512];
	int fd = mkstemp(rep), saved = dup(2);
	struct owned o;
	asup_rt *rt = io_rt();
	ssize_t n;

	tmp_path(path, sizeof(path), "own");
	o.path = path;
	CHECK(fd >= 0 && saved >= 0);
	CHECK_EQ(dup2(fd, 2), 2);
	CHECK_EQ(io_run(rt, owner, &o), 0);
	test_rt_done(rt);
	CHECK_EQ(dup2(saved, 2), 2);
	close(saved);
	n = pread(fd, text, sizeof(text) - 1, 0);
	CHECK(n > 0);
	text[n] = 0;
	CHECK(strstr(text, "closed with file fd") != NULL);
	close(fd);
	unlink(rep);
	unlink(path);
}

static int64_t no_cap(asup_cx *cx, void *arg)
{
	asup_file *f = arg;
	char b;

	CHECK_EQ(asup_file_open(cx, "/tmp", O_RDONLY, 0, f), -EPERM);
	CHECK_EQ(asup_file_read(cx, *f, &b, 1), -EPERM);
	CHECK_EQ(asup_file_fsync(cx, *f), -EPERM);
	CHECK_EQ(asup_file_close(cx, *f), -EPERM);
	return 0;
}

static int64_t eperm(asup_cx *cx, void *arg)
{
	asup_file f;

	(void)arg;
	CHECK_EQ(asup_file_open(cx, "/dev/null", O_RDONLY, 0, &f), 0);
	CHECK_EQ(asup_cx_restricted(cx, asup_cx_caps(cx) & ~(uint32_t)ASUP_CAP_IO, no_cap, &f), 0);
	/* Untouched: still usable with the capability. */
	return asup_file_close(cx, f);
}

TEST(file_calls_without_the_capability_are_refused_with_eperm)
{
	asup_rt *rt = io_rt();
	CHECK_EQ(io_run(rt, eperm, NULL), 0);
	test_rt_done(rt);
}

static int64_t det(asup_cx *cx, void *arg)
{
	asup_file f;

	(void)arg;
	CHECK_EQ(asup_file_open(cx, "/dev/null", O_RDONLY, 0, &f), -ASUP_ESIMONLY);
	return 0;
}

TEST(deterministic_runtime_refuses_files_with_esimonly)
{
	asup_rt *rt = test_rt(ASUP_MODE_DETERMINISTIC, 3);
	CHECK_EQ(io_run(rt, det, NULL), 0);
	test_rt_done(rt);
}

struct cread {
	asup_file f;
	char buf[16];
	int64_t n;
	int after;
};

static int64_t cancelled_reader(asup_cx *cx, void *arg)
{
	struct cread *c = arg;

	c->n = asup_file_pread(cx, c->f, c->buf, sizeof(c->buf), 0);
	c->after = asup_checkpoint(cx);
	return 0;
}

static int64_t cancel_mid_read(asup_cx *cx, void *arg)
{
	const char *path = arg;
	struct cread c;
	asup_outcome o;
	asup_task h;

	memset(&c, 0, sizeof(c));
	CHECK_EQ(asup_file_open(cx, path, O_RDWR | O_CREAT | O_TRUNC, 0600, &c.f), 0);
	CHECK_EQ(asup_file_write(cx, c.f, "0123456789", 10), 10);
	hold_arm(ASUP__POOL_FILE);
	CHECK_EQ(asup_spawn(cx, cancelled_reader, &c, NULL, &h), 0);
	hold_wait_started(cx);
	CHECK_EQ(asup_task_abort(&h), 0);
	/* Let the cancelled task run: it stays parked, the read still held. */
	CHECK_EQ(asup_yield(cx), 0);
	CHECK_EQ(c.n, 0);
	hold_disarm();
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	/* The read the pool had started finished and was reported whole; the
	 * cancel took effect at the next checkpoint. */
	CHECK_EQ(c.n, 10);
	CHECK(memcmp(c.buf, "0123456789", 10) == 0);
	CHECK_EQ(c.after, -ECANCELED);
	return asup_file_close(cx, c.f);
}

TEST(cancel_during_a_pool_read_lets_it_finish_and_reports_the_data)
{
	if (io_wants_uring())
		SKIP("files are kernel operations on io_uring, not pool jobs");
	char path[64];
	asup_rt *rt = io_rt();

	tmp_path(path, sizeof(path), "cancel");
	CHECK_EQ(io_run(rt, cancel_mid_read, path), 0);
	test_rt_done(rt);
	unlink(path);
}

static int64_t pre_cancelled(asup_cx *cx, void *arg)
{
	asup_file *f = arg;
	char b[4];

	CHECK_EQ(asup_cx_cancel_self(cx, ASUP_CANCEL_USER, "test"), 0);
	CHECK_EQ(asup_file_read(cx, *f, b, sizeof(b)), -ECANCELED);
	return 0;
}

static int64_t cancelled_before(asup_cx *cx, void *arg)
{
	asup_file f;
	asup_task h;
	asup_outcome o;
	off_t pos;

	(void)arg;
	CHECK_EQ(asup_file_open(cx, "/etc/passwd", O_RDONLY, 0, &f), 0);
	CHECK_EQ(asup_spawn(cx, pre_cancelled, &f, NULL, &h), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK(o.kind == ASUP_OUTCOME_OK || o.kind == ASUP_OUTCOME_CANCELLED);
	/* Nothing was read: the offset did not move. */
	pos = lseek(asup_file_fd(cx, f), 0, SEEK_CUR);
	CHECK_EQ(pos, 0);
	return asup_file_close(cx, f);
}

TEST(file_call_of_a_cancelled_task_returns_ecanceled_and_does_nothing)
{
	asup_rt *rt = io_rt();
	CHECK_EQ(io_run(rt, cancelled_before, NULL), 0);
	test_rt_done(rt);
}

/* ---- io_uring operations and cancels at random points ---------------------- */

static atomic_int pool_file_jobs;

static void count_hook(int kind)
{
	if (kind == ASUP__POOL_FILE)
		atomic_fetch_add(&pool_file_jobs, 1);
}

static int64_t every_call(asup_cx *cx, void *arg)
{
	const char *path = arg;
	asup_file f;
	char b[8];

	CHECK_EQ(asup_file_open(cx, path, O_RDWR | O_CREAT | O_TRUNC, 0600, &f), 0);
	CHECK_EQ(asup_file_write(cx, f, "abcdef", 6), 6);
	CHECK_EQ(asup_file_pwrite(cx, f, "XY", 2, 1), 2);
	CHECK_EQ(asup_file_fsync(cx, f), 0);
	CHECK_EQ(asup_file_pread(cx, f, b, 6, 0), 6);
	CHECK(memcmp(b, "aXYdef", 6) == 0);
	CHECK_EQ(asup_file_read(cx, f, b, sizeof(b)), 0);
	return asup_file_close(cx, f);
}

TEST(file_calls_are_kernel_operations_on_io_uring_and_pool_jobs_on_epoll)
{
	char path[64];
	asup_rt *rt = io_rt();

	tmp_path(path, sizeof(path), "kop");
	atomic_store(&pool_file_jobs, 0);
	atomic_store(&asup__io_pool_hook, count_hook);
	CHECK_EQ(io_run(rt, every_call, path), 0);
	atomic_store(&asup__io_pool_hook, (asup__pool_hook_fn)NULL);
	test_rt_done(rt);
	unlink(path);
	/* open, write, pwrite, fsync, pread, read (close is direct on epoll). */
	if (io_wants_uring())
		CHECK_EQ(atomic_load(&pool_file_jobs), 0);
	else
		CHECK_EQ(atomic_load(&pool_file_jobs), 6);
}

static int64_t fifo_reader(asup_cx *cx, void *arg)
{
	struct cread *c = arg;

	c->n = asup_file_read(cx, c->f, c->buf, sizeof(c->buf));
	return 0;
}

static int64_t fifo_cancel(asup_cx *cx, void *arg)
{
	const char *path = arg;
	struct cread c;
	asup_outcome o;
	asup_task h;
	char b[8];

	memset(&c, 0, sizeof(c));
	/* O_RDWR: a FIFO that never has "no writer", so a read waits for data. */
	CHECK_EQ(asup_file_open(cx, path, O_RDWR, 0, &c.f), 0);
	CHECK_EQ(asup_spawn(cx, fifo_reader, &c, NULL, &h), 0);
	/* Let the read reach the kernel, where it waits for data. */
	for (int i = 0; i < 5; i++)
		CHECK_EQ(asup_sleep(cx, 1000000), 0);
	CHECK_EQ(asup_task_abort(&h), 0);
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	/* The kernel took the read back before the call returned. */
	CHECK_EQ(c.n, -ECANCELED);
	/* And it consumed nothing: what is written next is read whole. */
	CHECK_EQ(asup_file_write(cx, c.f, "ping", 4), 4);
	CHECK_EQ(asup_file_read(cx, c.f, b, sizeof(b)), 4);
	CHECK(memcmp(b, "ping", 4) == 0);
	return asup_file_close(cx, c.f);
}

TEST(cancel_of_a_read_waiting_in_the_kernel_returns_ecanceled_and_takes_nothing)
{
	char path[64];

	/* On epoll a pool read of an empty FIFO is never interrupted (above). */
	if (!io_wants_uring())
		SKIP("only io_uring can take back a file read in flight");
	asup_rt *rt = io_rt();
	tmp_path(path, sizeof(path), "fifo");
	CHECK_EQ(mkfifo(path, 0600), 0);
	CHECK_EQ(io_run(rt, fifo_cancel, path), 0);
	test_rt_done(rt);
	unlink(path);
}

/* Cancels at random points while data flows: a file of a known pattern is
 * read, and another written, by tasks aborted after a random number of
 * scheduling turns. Every count a call reported is exactly what moved: the
 * reads, concatenated, are the file; the writes' counts sum to the size of
 * the written file, whose bytes are the pattern. Each call's buffer is
 * freed (and poisoned) as soon as the call returned, so a late kernel
 * access would show under ASan or as corrupt data. */
#define CHURN_SIZE (192 * 1024)
#define CHURN_ROUNDS 300

static unsigned char pattern(uint64_t i)
{
	return (unsigned char)(i * 131 + (i >> 9) * 7 + 1);
}

struct churn {
	asup_file in, out;
	unsigned char *got;   /* what the reads returned, in order */
	uint64_t nread, nwritten;
	uint32_t seed;
	int stop;
	int late_data;        /* calls that moved data with a cancel pending */
	int cancelled;        /* calls that returned -ECANCELED */
};

static uint32_t rnd(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static int64_t churn_reader(asup_cx *cx, void *arg)
{
	struct churn *c = arg;

	while (!c->stop && c->nread < CHURN_SIZE) {
		size_t want = 1 + rnd(&c->seed) % 8192;
		unsigned char *b = malloc(want);
		int64_t n;

		CHECK(b != NULL);
		n = asup_file_read(cx, c->in, b, want);
		if (n > 0 && asup_checkpoint(cx) < 0)
			c->late_data++;
		if (n > 0) {
			CHECK(c->nread + (uint64_t)n <= CHURN_SIZE);
			memcpy(c->got + c->nread, b, (size_t)n);
			c->nread += (uint64_t)n;
		}
		memset(b, 0xEE, want);
		free(b);
		if (n < 0) {
			CHECK(n == -ECANCELED);
			c->cancelled++;
			return n;
		}
	}
	return 0;
}

static int64_t churn_writer(asup_cx *cx, void *arg)
{
	struct churn *c = arg;

	while (!c->stop && c->nwritten < CHURN_SIZE) {
		size_t want = 1 + rnd(&c->seed) % 8192;
		unsigned char *b;
		int64_t n;

		if (want > CHURN_SIZE - c->nwritten)
			want = (size_t)(CHURN_SIZE - c->nwritten);
		b = malloc(want);
		CHECK(b != NULL);
		for (size_t i = 0; i < want; i++)
			b[i] = pattern(c->nwritten + i);
		n = asup_file_write(cx, c->out, b, want);
		if (n > 0 && asup_checkpoint(cx) < 0)
			c->late_data++;
		if (n > 0)
			c->nwritten += (uint64_t)n;
		memset(b, 0xEE, want);
		free(b);
		if (n < 0) {
			CHECK(n == -ECANCELED);
			c->cancelled++;
			return n;
		}
	}
	return 0;
}

static int64_t churn(asup_cx *cx, void *arg)
{
	const char *path = arg;
	char outpath[80];
	struct churn c;
	unsigned char *src = malloc(CHURN_SIZE);
	asup_outcome o;
	asup_task hr, hw;
	struct stat st;

	memset(&c, 0, sizeof(c));
	c.seed = 12345;
	c.got = malloc(CHURN_SIZE);
	CHECK(src != NULL && c.got != NULL);
	for (uint64_t i = 0; i < CHURN_SIZE; i++)
		src[i] = pattern(i);
	CHECK_EQ(asup_file_open(cx, path, O_RDWR | O_CREAT | O_TRUNC, 0600, &c.in), 0);
	CHECK_EQ(asup_file_write(cx, c.in, src, CHURN_SIZE), CHURN_SIZE);
	CHECK_EQ(asup_file_close(cx, c.in), 0);
	CHECK_EQ(asup_file_open(cx, path, O_RDONLY, 0, &c.in), 0);
	snprintf(outpath, sizeof(outpath), "%s-out", path);
	unlink(outpath);
	CHECK_EQ(asup_file_open(cx, outpath, O_WRONLY | O_CREAT | O_TRUNC, 0600, &c.out), 0);
	for (int round = 0; round < CHURN_ROUNDS; round++) {
		uint32_t turns = rnd(&c.seed) % 6;
		CHECK_EQ(asup_spawn(cx, churn_reader, &c, NULL, &hr), 0);
		CHECK_EQ(asup_spawn(cx, churn_writer, &c, NULL, &hw), 0);
		for (uint32_t t = 0; t < turns; t++)
			CHECK_EQ(asup_yield(cx), 0);
		CHECK_EQ(asup_task_abort(&hr), 0);
		CHECK_EQ(asup_task_abort(&hw), 0);
		CHECK_EQ(asup_join(cx, &hr, &o), 0);
		CHECK_EQ(asup_join(cx, &hw, &o), 0);
	}
	/* The aborts took effect (some calls were refused or taken back). */
	CHECK(c.cancelled > 0);
	/* The rest, without cancels. */
	CHECK_EQ(churn_reader(cx, &c), 0);
	CHECK_EQ(churn_writer(cx, &c), 0);
	CHECK_EQ(c.nread, CHURN_SIZE);
	CHECK(memcmp(c.got, src, CHURN_SIZE) == 0);
	CHECK_EQ(c.nwritten, CHURN_SIZE);
	CHECK_EQ(asup_file_fsync(cx, c.out), 0);
	CHECK_EQ(stat(outpath, &st), 0);
	CHECK_EQ(st.st_size, CHURN_SIZE);
	CHECK_EQ(asup_file_close(cx, c.out), 0);
	CHECK_EQ(asup_file_close(cx, c.in), 0);
	CHECK_EQ(asup_file_open(cx, outpath, O_RDONLY, 0, &c.in), 0);
	CHECK_EQ(asup_file_pread(cx, c.in, c.got, CHURN_SIZE, 0), CHURN_SIZE);
	CHECK(memcmp(c.got, src, CHURN_SIZE) == 0);
	CHECK_EQ(asup_file_close(cx, c.in), 0);
	unlink(outpath);
	free(c.got);
	free(src);
	return 0;
}

TEST(cancels_at_random_points_lose_no_byte_read_or_written)
{
	char path[64];
	asup_rt *rt = io_rt();

	tmp_path(path, sizeof(path), "churn");
	CHECK_EQ(io_run(rt, churn, path), 0);
	test_rt_done(rt);
	unlink(path);
}

static int64_t pread_pipe(asup_cx *cx, void *arg)
{
	const char *path = arg;
	asup_file f;
	char b[4];

	CHECK_EQ(asup_file_open(cx, path, O_RDWR, 0, &f), 0);
	CHECK_EQ(asup_file_pwrite(cx, f, "ab", 2, 0), -ESPIPE);
	CHECK_EQ(asup_file_pread(cx, f, b, sizeof(b), 0), -ESPIPE);
	return asup_file_close(cx, f);
}

TEST(pread_and_pwrite_of_a_fifo_are_espipe_on_both_backends)
{
	char path[64];
	asup_rt *rt = io_rt();

	tmp_path(path, sizeof(path), "espipe");
	CHECK_EQ(mkfifo(path, 0600), 0);
	CHECK_EQ(io_run(rt, pread_pipe, path), 0);
	test_rt_done(rt);
	unlink(path);
}

struct other_thread {
	asup_rt *rt;
	const char *path;
	int64_t v;
};

static void *run_on_thread(void *arg)
{
	struct other_thread *o = arg;

	o->v = io_run(o->rt, every_call, (void *)o->path);
	return NULL;
}

/* The io_uring ring serves the thread that created it (SINGLE_ISSUER): a
 * runtime run again from another thread, with nothing in flight, gets a
 * ring of its own there and its I/O works as before. */
TEST(a_runtime_run_again_from_another_thread_keeps_doing_io)
{
	char path[64];
	struct other_thread o;
	pthread_t th;

	tmp_path(path, sizeof(path), "thread");
	o.rt = io_rt();
	o.path = path;
	o.v = -1;
	CHECK_EQ(io_run(o.rt, every_call, path), 0);
	CHECK_EQ(pthread_create(&th, NULL, run_on_thread, &o), 0);
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_EQ(o.v, 0);
	CHECK_EQ(io_run(o.rt, every_call, path), 0);
	test_rt_done(o.rt);
	unlink(path);
}
