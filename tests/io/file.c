/* Files on the blocking pool: reading and writing, offsets, fsync, owner
 * regions, use after close, bad input, and what a cancel does to a call the
 * pool is running. */
#include "pooltest.h"

#include <asupersync/io.h>
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
	io_skip_uring_threads_under_valgrind();
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
	io_skip_uring_threads_under_valgrind();
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
	io_skip_uring_threads_under_valgrind();
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
	io_skip_uring_threads_under_valgrind();
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
	io_skip_uring_threads_under_valgrind();
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
	io_skip_uring_threads_under_valgrind();
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
	io_skip_uring_threads_under_valgrind();
	asup_rt *rt = io_rt();
	CHECK_EQ(io_run(rt, cancelled_before, NULL), 0);
	test_rt_done(rt);
}
