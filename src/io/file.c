/*
 * Files (asupersync/io.h): kernel operations on io_uring, the blocking pool
 * on epoll.
 *
 * Owns: file records, allocated in the region of the current scope (the
 * file's owner), each with a region finalizer that closes it if it is still
 * open when the region closes.
 *
 * On the io_uring backend every call is one kernel operation (OPENAT, READ,
 * WRITE, FSYNC, CLOSE) through asup__reactor_submit, the routine the socket
 * transfers use too: a cancel submits an async cancel and waits, masked,
 * for the operation's completion, so the kernel never touches a buffer
 * after the call returned, and what it did before the cancel took effect is
 * reported. On the epoll backend the system calls run through
 * asup__pool_call, which parks the caller masked until the pool thread is
 * done (a started call always finishes and is reported).
 *
 * Either way the fd number stays open while an operation uses it (busy,
 * pending_fd): on io_uring an operation's fd is looked up when the ring is
 * submitted, at the run loop's next poll, not when the call is made.
 */
#define _GNU_SOURCE
#include "asupersync/io.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "asupersync/region.h"
#include "asupersync/task.h"
#include "io_rt.h"
#include "pool_op.h"

#define FILE_MAGIC 0x66696c65u /* "file" */

struct afile {
	uint32_t magic;
	int fd;           /* -1 once closed */
	int pending_fd;   /* closed while a pool job used it: the last job
	                     closes it, so that the number is not reused under
	                     that job */
	uint32_t busy;    /* operations using fd */
	uint8_t stream;   /* a pipe, socket or FIFO: no offsets (-ESPIPE) */
	uint64_t region;
	asup__kernel *k;  /* where its reports go */
};

static void file_finalize(void *arg)
{
	struct afile *f = arg;

	if (f->fd >= 0) {
		asup__io_report_leak(f->k, f->region, "file", f->fd, "region closed");
		close(f->fd);
		f->fd = -1;
	}
	if (f->pending_fd >= 0) {
		close(f->pending_fd);
		f->pending_fd = -1;
	}
}

/* The checks every call makes, in the order net.h documents. */
static int file_enter(asup_cx *cx, asup__reactor **r)
{
	return asup__io_reactor(cx, r);
}

static int file_get(asup_cx *cx, asup_file h, struct afile **out, asup__reactor **r)
{
	struct afile *f;
	int rc = file_enter(cx, r);

	if (rc < 0)
		return rc;
	if (!h._p)
		return -EBADF;
	if (!asup__region_lookup(cx->k, h._region))
		return -ASUP_ECLOSED;
	f = h._p;
	if (f->magic != FILE_MAGIC || f->region != h._region || f->fd < 0)
		return -EBADF;
	*out = f;
	return 0;
}

/* ---- the pool jobs -------------------------------------------------------- */

enum { OP_OPEN, OP_READ, OP_WRITE, OP_PREAD, OP_PWRITE, OP_FSYNC, OP_CLOSE };

struct fjob {
	int op;
	int fd;
	void *buf;
	size_t len;
	int64_t off;
	const char *path;
	int flags;
	mode_t mode;
};

static int64_t fjob_run(void *arg)
{
	struct fjob *j = arg;
	ssize_t n;

	asup__pool_hook_call(ASUP__POOL_FILE);
	do {
		switch (j->op) {
		case OP_OPEN: n = open(j->path, j->flags | O_CLOEXEC, j->mode); break;
		case OP_READ: n = read(j->fd, j->buf, j->len); break;
		case OP_WRITE: n = write(j->fd, j->buf, j->len); break;
		case OP_PREAD: n = pread(j->fd, j->buf, j->len, (off_t)j->off); break;
		case OP_PWRITE: n = pwrite(j->fd, j->buf, j->len, (off_t)j->off); break;
		case OP_FSYNC: n = fsync(j->fd); break;
		default: return close(j->fd) < 0 ? -errno : 0; /* never retried */
		}
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : (int64_t)n;
}

/* The most one read or write asks of the kernel (read(2)'s own limit):
 * io_uring takes a 32-bit length. */
#define KOP_MAX_LEN 0x7ffff000u

/* j as one io_uring operation. */
static int64_t fjob_kop(asup_cx *cx, asup__reactor *r, struct fjob *j)
{
	asup__kop k = {.fd = j->fd, .buf = j->buf, .len = j->len, .off = ASUP__KOP_CUR};

	if (k.len > KOP_MAX_LEN)
		k.len = KOP_MAX_LEN;
	switch (j->op) {
	case OP_OPEN:
		k.code = ASUP__KOP_OPENAT;
		k.path = j->path;
		k.flags = j->flags | O_CLOEXEC;
		k.mode = (uint32_t)j->mode;
		break;
	case OP_READ: k.code = ASUP__KOP_READ; break;
	case OP_WRITE: k.code = ASUP__KOP_WRITE; break;
	case OP_PREAD: k.code = ASUP__KOP_READ; k.off = (uint64_t)j->off; break;
	case OP_PWRITE: k.code = ASUP__KOP_WRITE; k.off = (uint64_t)j->off; break;
	case OP_FSYNC: k.code = ASUP__KOP_FSYNC; break;
	default: k.code = ASUP__KOP_CLOSE; k.masked = 1; break;
	}
	return asup__reactor_submit(cx, r, NULL, &k);
}

/* A checkpoint, then the job: a kernel operation on io_uring, else on the
 * pool (never interrupted once started). */
static int64_t fjob_call(asup_cx *cx, asup__reactor *r, struct fjob *j)
{
	int rc = asup_checkpoint(cx);

	if (rc < 0)
		return rc;
	if (r->kind == ASUP__IO_URING)
		return fjob_kop(cx, r, j);
	return asup__pool_call(cx, fjob_run, j);
}

/* ---- the calls ------------------------------------------------------------- */

ASUP_API int asup_file_open(asup_cx *cx, const char *path, int flags, mode_t mode,
			    asup_file *out)
{
	struct fjob j = {.op = OP_OPEN, .path = path, .flags = flags, .mode = mode};
	struct afile *f;
	asup__reactor *r;
	asup_rref ref;
	int64_t fd;
	int rc = file_enter(cx, &r);

	if (rc < 0)
		return rc;
	if (!path || !out)
		return -EINVAL;
	/* The record first, so that an opened fd always has an owner. */
	rc = asup_region_alloc(cx, sizeof(*f), &ref);
	if (rc < 0)
		return rc;
	f = ref.ptr;
	f->fd = -1;
	f->pending_fd = -1;
	f->region = ref.region;
	f->k = cx->k;
	rc = asup_defer(cx, file_finalize, f);
	if (rc < 0)
		return rc;
	f->magic = FILE_MAGIC;
	fd = fjob_call(cx, r, &j);
	if (fd < 0)
		return (int)fd;
	f->fd = (int)fd;
	/* io_uring ignores the offset of a stream; pread and pwrite refuse
	 * one themselves, as the system calls do. */
	f->stream = lseek(f->fd, 0, SEEK_CUR) < 0 && errno == ESPIPE;
	out->_region = f->region;
	out->_p = f;
	return 0;
}

/* Runs j on f's fd, keeping the fd open while the pool uses it. */
static int64_t file_run(asup_cx *cx, asup__reactor *r, struct afile *f, struct fjob *j)
{
	uint64_t region = f->region;
	int64_t v;

	j->fd = f->fd;
	f->busy++;
	v = fjob_call(cx, r, j);
	/* The record lives as long as its region; a task outside that region
	 * may have outlived it. */
	if (!asup__region_lookup(cx->k, region))
		return v;
	if (--f->busy == 0 && f->pending_fd >= 0) {
		close(f->pending_fd);
		f->pending_fd = -1;
	}
	return v;
}

static int64_t file_xfer(asup_cx *cx, asup_file h, int op, void *buf, size_t len, int64_t off)
{
	struct fjob j = {.op = op, .buf = buf, .len = len, .off = off};
	struct afile *f;
	asup__reactor *r;
	int rc = file_get(cx, h, &f, &r);

	if (rc < 0)
		return rc;
	if (!buf && len > 0)
		return -EINVAL;
	if (off < 0)
		return -EINVAL;
	if (len == 0)
		return 0;
	if (f->stream && (op == OP_PREAD || op == OP_PWRITE))
		return -ESPIPE;
	return file_run(cx, r, f, &j);
}

ASUP_API int64_t asup_file_read(asup_cx *cx, asup_file f, void *buf, size_t len)
{
	return file_xfer(cx, f, OP_READ, buf, len, 0);
}

ASUP_API int64_t asup_file_write(asup_cx *cx, asup_file f, const void *buf, size_t len)
{
	return file_xfer(cx, f, OP_WRITE, (void *)buf, len, 0);
}

ASUP_API int64_t asup_file_pread(asup_cx *cx, asup_file f, void *buf, size_t len, int64_t off)
{
	return file_xfer(cx, f, OP_PREAD, buf, len, off);
}

ASUP_API int64_t asup_file_pwrite(asup_cx *cx, asup_file f, const void *buf, size_t len,
				  int64_t off)
{
	return file_xfer(cx, f, OP_PWRITE, (void *)buf, len, off);
}

ASUP_API int asup_file_fsync(asup_cx *cx, asup_file h)
{
	struct fjob j = {.op = OP_FSYNC};
	struct afile *f;
	asup__reactor *r;
	int rc = file_get(cx, h, &f, &r);

	if (rc < 0)
		return rc;
	return (int)file_run(cx, r, f, &j);
}

ASUP_API int asup_file_close(asup_cx *cx, asup_file h)
{
	struct fjob j = {.op = OP_CLOSE};
	struct afile *f;
	asup__reactor *r;
	int rc = file_get(cx, h, &f, &r);

	if (rc < 0)
		return rc;
	j.fd = f->fd;
	f->fd = -1;
	if (f->busy) {
		/* The last operation using it closes it. */
		f->pending_fd = j.fd;
		return 0;
	}
	if (r->kind != ASUP__IO_URING) {
		close(j.fd);
		return 0;
	}
	/* Not a checkpoint, and masked: the fd is closed whatever the task's
	 * state (a cancelled close would leave it open with no owner). */
	rc = (int)fjob_kop(cx, r, &j);
	return rc == -EINTR ? 0 : rc;
}

ASUP_API int asup_file_fd(asup_cx *cx, asup_file h)
{
	struct afile *f;
	asup__reactor *r;
	int rc = file_get(cx, h, &f, &r);

	return rc < 0 ? rc : f->fd;
}
